"""A loopback server speaking the OpenAI Batch API and Anthropic Message Batches as the official SDKs call them.

It is a :class:`FakeLLMServer` (so the synchronous routes answer too, for ``batch_fallback=sync`` and
for synchronous reference runs) with these routes added:

- OpenAI: ``POST /v1/files`` (multipart upload, purpose ``batch``), ``GET /v1/files/{id}/content``,
  ``POST /v1/batches``, ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``;
- Anthropic: ``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}``,
  ``GET /v1/messages/batches/{id}/results`` (JSONL), ``POST /v1/messages/batches/{id}/cancel``.

A batch stays in progress until ``release`` is set (``hold=True``; otherwise it is set from the
start) and ends at the first status request after that; the first ``free_batches`` batches created
end at their first status request even while held. Each item's answer is the synchronous
fake's for the same body. ``fate(body, n)`` decides what becomes of an item the ``n``-th time
(0-based) its ``custom_id`` arrives in a batch: None (answered), ``"expired"`` (its batch expires
with it unfinished), ``"errored"`` (HTTP 500 / ``api_error``, worth a retry) or ``"invalid"``
(HTTP 400 / ``invalid_request_error``, permanent). ``create_faults`` lists the HTTP statuses the
next batch-create calls get (``429`` comes with Retry-After). With ``no_batch=True`` every batch
route answers 404, as a server without a batch interface does.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from adapters_fake_server import FakeLLMServer, _prompt_tokens

Fate = Callable[[dict[str, Any], int], str | None]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


class FakeBatchServer(FakeLLMServer):
    """Use as ``with FakeBatchServer(hold=True) as srv:``; counters: ``created``, ``polls``, ``batch_answered``."""

    def __init__(
        self,
        *,
        hold: bool = False,
        fate: Fate | None = None,
        create_faults: tuple[int, ...] = (),
        no_batch: bool = False,
        free_batches: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not hold:
            self.release.set()
        self.fate = fate or (lambda body, n: None)
        self.create_faults = list(create_faults)
        self.no_batch = no_batch
        self.free_batches = free_batches
        self.created = 0  # batches created
        self.polls = 0  # batch status requests
        self.create_attempts = 0
        self.batch_answered: Counter[str] = Counter()  # custom_id -> answers returned in batch results
        self.seen: Counter[str] = Counter()  # custom_id -> batches it arrived in
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_lock = threading.Lock()

    def wait_batches(self, predicate: Callable[[FakeBatchServer], bool], timeout: float = 120.0) -> None:
        """Block until ``predicate(self)`` holds (checked as batch requests arrive)."""
        with self.changed:
            if not self.changed.wait_for(lambda: predicate(self), timeout=timeout):
                raise AssertionError(f"fake batch server never got there: created={self.created} polls={self.polls}")

    # --- routing ---------------------------------------------------------------------------------

    def _handler(self) -> type:
        base = super()._handler()
        server = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def _raw(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
                self._raw(status, json.dumps(data).encode(), "application/json", headers)

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                path = self.path.split("?")[0]
                if not (path.startswith("/v1/files") or path.startswith(("/v1/batches", "/v1/messages/batches"))):
                    super().do_POST()
                    return
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server._post(self, path, raw)

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server._get(self, self.path.split("?")[0])

        return Handler

    def _not_found(self, handler: Any, path: str) -> None:
        handler._json(404, {"error": {"message": f"Invalid URL (POST {path})", "type": "invalid_request_error"}})

    def _post(self, handler: Any, path: str, raw: bytes) -> None:
        if self.no_batch:
            self._not_found(handler, path)
            return
        parts = path.strip("/").split("/")
        if path == "/v1/files":
            content_type = handler.headers.get("Content-Type", "")
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
            )
            fields = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
            data = fields["file"].get_payload(decode=True)
            with self.batch_lock:
                file_id = f"file-{len(self.files)}"
                self.files[file_id] = data
            purpose = fields["purpose"].get_payload(decode=True).decode()
            created = int(time.time())
            handler._json(
                200,
                {
                    "id": file_id,
                    "object": "file",
                    "bytes": len(data),
                    "created_at": created,
                    "filename": "input.jsonl",
                    "purpose": purpose,
                    "status": "processed",
                },
            )
            return
        body = json.loads(raw or b"{}")
        if path in ("/v1/batches", "/v1/messages/batches"):
            with self.lock:
                self.create_attempts += 1
                fault = self.create_faults.pop(0) if self.create_faults else None
            if fault is not None:
                headers = {"Retry-After": self.retry_after} if fault == 429 else {}
                handler._json(fault, {"error": {"message": f"injected {fault}", "type": "rate_limit_error"}}, headers)
                return
            if path == "/v1/batches":
                assert body["completion_window"] == "24h" and body["endpoint"] == "/v1/chat/completions"
                lines = [json.loads(line) for line in self.files[body["input_file_id"]].decode().splitlines() if line]
                items = [(line["custom_id"], line["body"]) for line in lines]
                assert len({b["model"] for _, b in items}) == 1  # one model per file
            else:
                items = [(r["custom_id"], r["params"]) for r in body["requests"]]
            handler._json(200, self._create("openai" if path == "/v1/batches" else "anthropic", items, body))
            return
        if parts[-1] == "cancel":
            batch = self.batches[parts[-2]]
            with self.batch_lock:
                if batch["status"] == "in_progress":
                    batch["status"] = "cancelled"
                    batch["results"] = [(cid, "canceled", None) for cid, _ in batch["items"]]
                    if batch["provider"] == "openai":
                        self._openai_files(batch)
            handler._json(200, self._view(batch))
            return
        self._not_found(handler, path)

    def _get(self, handler: Any, path: str) -> None:
        if self.no_batch:
            self._not_found(handler, path)
            return
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "files"] and parts[-1] == "content":
            handler._raw(200, self.files[parts[2]], "application/octet-stream")
            return
        if parts[-1] == "results":
            batch = self.batches[parts[-2]]
            lines = [json.dumps(self._anthropic_result(batch, r)) for r in batch["results"]]
            handler._raw(200, ("\n".join(lines) + "\n").encode(), "application/binary")
            return
        batch = self.batches.get(parts[-1])
        if batch is None:
            self._not_found(handler, path)
            return
        with self.changed:
            self.polls += 1
            self.changed.notify_all()
        if self.release.is_set() or batch["index"] < self.free_batches:
            self._finish(batch)
        handler._json(200, self._view(batch))

    # --- batches -----------------------------------------------------------------------------------

    def _create(self, provider: str, items: list[tuple[str, dict[str, Any]]], request: dict[str, Any]) -> dict:
        with self.changed:
            index = len(self.batches)
            batch_id = ("batch_" if provider == "openai" else "msgbatch_") + f"{index:04d}"
            self.batches[batch_id] = {
                "id": batch_id,
                "index": index,
                "provider": provider,
                "items": items,
                "input_file_id": request.get("input_file_id"),
                "status": "in_progress",
                "created": time.time(),
                "results": None,
                "files": {},
            }
            self.created += 1
            self.changed.notify_all()
        return self._view(self.batches[batch_id])

    def _finish(self, batch: dict[str, Any]) -> None:
        """Answer every item of an in-progress batch (once) by its fate."""
        with self.batch_lock:
            if batch["status"] != "in_progress":
                return
            results = []
            for custom_id, body in batch["items"]:
                fate = self.fate(body, self.seen[custom_id])
                self.seen[custom_id] += 1
                results.append((custom_id, fate or "succeeded", body))
                if fate is None:
                    self.batch_answered[custom_id] += 1
            batch["results"] = results
            expired = any(kind == "expired" for _, kind, _ in results)
            batch["status"] = "expired" if expired and batch["provider"] == "openai" else "completed"
            if batch["provider"] == "openai":
                self._openai_files(batch)

    def _openai_files(self, batch: dict[str, Any]) -> None:
        out, err = [], []
        for custom_id, kind, body in batch["results"]:
            row: dict[str, Any] = {"id": f"batch_req_{custom_id[:8]}", "custom_id": custom_id, "error": None}
            if kind == "succeeded":
                row["response"] = {"status_code": 200, "request_id": "r", "body": _completion(self.answer(body), body)}
                out.append(row)
            elif kind in ("expired", "canceled"):
                code = "batch_expired" if kind == "expired" else "batch_cancelled"
                row["response"] = None
                row["error"] = {"code": code, "message": f"This request could not be executed before the batch {kind}."}
                err.append(row)
            else:
                status = 400 if kind == "invalid" else 500
                kind_name = "invalid_request_error" if kind == "invalid" else "server_error"
                error = {"message": f"injected {kind} request", "type": kind_name, "code": None}
                row["response"] = {"status_code": status, "request_id": "r", "body": {"error": error}}
                err.append(row)
        for name, rows in (("output_file_id", out), ("error_file_id", err)):
            if rows:
                file_id = f"file-{batch['id']}-{name[:3]}"
                self.files[file_id] = ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
                batch["files"][name] = file_id

    def _view(self, batch: dict[str, Any]) -> dict[str, Any]:
        results = batch["results"] or []
        by_kind = Counter(kind for _, kind, _ in results)
        total = len(batch["items"])
        ended = batch["status"] != "in_progress"
        if batch["provider"] == "openai":
            return {
                "id": batch["id"],
                "object": "batch",
                "endpoint": "/v1/chat/completions",
                "input_file_id": batch["input_file_id"],
                "completion_window": "24h",
                "status": batch["status"],
                "created_at": int(batch["created"]),
                "output_file_id": batch["files"].get("output_file_id"),
                "error_file_id": batch["files"].get("error_file_id"),
                "request_counts": {
                    "total": total,
                    "completed": by_kind["succeeded"],
                    "failed": by_kind["errored"] + by_kind["invalid"],
                },
            }
        return {
            "id": batch["id"],
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else total,
                "succeeded": by_kind["succeeded"],
                "errored": by_kind["errored"] + by_kind["invalid"],
                "canceled": by_kind["canceled"],
                "expired": by_kind["expired"],
            },
            "created_at": _iso(batch["created"]),
            "expires_at": _iso(batch["created"] + 86400),
            "ended_at": _iso(time.time()) if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.anthropic_url}/v1/messages/batches/{batch['id']}/results" if ended else None,
        }

    def _anthropic_result(self, batch: dict[str, Any], result: tuple[str, str, Any]) -> dict[str, Any]:
        custom_id, kind, body = result
        if kind == "succeeded":
            return {
                "custom_id": custom_id,
                "result": {"type": "succeeded", "message": _message(self.answer(body), body)},
            }
        if kind in ("errored", "invalid"):
            error_type = "invalid_request_error" if kind == "invalid" else "api_error"
            error = {"type": "error", "error": {"type": error_type, "message": f"injected {kind}"}}
            return {"custom_id": custom_id, "result": {"type": "errored", "error": error}}
        return {"custom_id": custom_id, "result": {"type": kind}}


def _usage(text: str, body: dict[str, Any]) -> tuple[int, int]:
    """Token counts as the synchronous fake reports them."""
    return _prompt_tokens(body), max(1, len(text.split()))


def _completion(text: str, body: dict[str, Any]) -> dict[str, Any]:
    prompt_tokens, completion_tokens = _usage(text, body)
    return {
        "id": "chatcmpl-batch",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _message(text: str, body: dict[str, Any]) -> dict[str, Any]:
    prompt_tokens, completion_tokens = _usage(text, body)
    return {
        "id": "msg_batch",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
    }
