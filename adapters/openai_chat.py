"""``meds-openai``: OpenAI Chat Completions through the official ``openai`` SDK.

Works with OpenAI (GPT-4 family), Azure OpenAI's v1 endpoint and OpenAI-compatible servers
(vLLM, TGI, llama.cpp, ...) through ``base_url``. The key is read from ``OPENAI_API_KEY``.

Two request forms: the standard one (``max_tokens``, ``temperature``, ``top_p``, ``stop``) and the
reasoning-model one (o1/o3/o4-mini/gpt-5 families), which takes ``max_completion_tokens`` (the task's
output limit plus ``reasoning_tokens`` for hidden reasoning) and no sampling settings or stop
sequences (stops are applied locally). The form is chosen by the model name; when the server answers
400 naming a parameter of the other form as unsupported, the request is sent once more in the other
form, which is kept for the rest of the run. Cache keys are those of the form chosen by name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

from lm_eval.api.registry import register_model

from .base import Answer, APIChatLM, Generation
from .batch import BatchStatus, ItemError, exception_item_error, http_item_error
from .cost import estimate_tokens
from .retry import MalformedResponse

log = logging.getLogger(__name__)

BATCH_ENDPOINT = "/v1/chat/completions"
BATCH_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
MAX_STOP_SEQUENCES = 4  # the Chat Completions API accepts at most four
DEFAULT_REASONING_TOKENS = 8192
# o1, o3-mini, o4-mini-2025-04-16, gpt-5, gpt-5-mini (also behind a "provider/" prefix); not gpt-5-chat-*.
REASONING_MODEL = re.compile(r"^(?:.*/)?(?:o\d+(?:-.*)?|gpt-5(?!-chat).*)$")
STANDARD_ONLY = frozenset({"max_tokens", "temperature", "top_p", "stop"})
REASONING_ONLY = frozenset({"max_completion_tokens"})
_NAMED_PARAM = re.compile(
    r"(?:[Uu]nsupported (?:parameter|value)|[Uu]nrecognized request argument(?: supplied)?)\W*'?(\w+)"
)


class OutputLimitReached(Exception):
    """The reply has no text because the output limit was spent (permanent: not retried, not cached)."""


def rejected_parameter(err: BaseException) -> str | None:
    """The request parameter a 400 error names as unsupported (OpenAI's ``param`` field or its message)."""
    if getattr(err, "status_code", None) != 400:
        return None
    body = getattr(err, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # servers that nest it once more
        body = body["error"]
    param = body.get("param") if isinstance(body, dict) else None
    if isinstance(param, str) and param:
        return param
    message = body.get("message") if isinstance(body, dict) else None
    match = _NAMED_PARAM.search(str(message or err))
    return match.group(1) if match else None


@register_model("meds-openai")
class OpenAIChatLM(APIChatLM):
    """OpenAI Chat Completions: system and user messages are sent as they are."""

    provider = "openai"
    key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    default_model = "gpt-4o"
    batch_limits = (50_000, 200_000_000)  # requests and bytes per input file

    def __init__(self, *, reasoning_tokens: int = DEFAULT_REASONING_TOKENS, **kwargs: Any) -> None:
        try:
            self.reasoning_tokens = int(reasoning_tokens)
        except (TypeError, ValueError):
            self.reasoning_tokens = -1
        if self.reasoning_tokens < 0:
            raise ValueError(f"model argument reasoning_tokens={reasoning_tokens!r}: give a whole number >= 0")
        self._form_lock = threading.Lock()
        self._uploads: dict[str, str] = {}  # batch input files uploaded, by content hash, until a batch uses one
        self._named_reasoning = bool(REASONING_MODEL.match(str(kwargs.get("model") or self.default_model)))
        self._reasoning = self._named_reasoning  # the form in use; a 400 naming a parameter switches it
        super().__init__(**kwargs)

    def make_client(self) -> Any:
        import openai

        return openai.OpenAI(api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0)

    def output_limit(self, gen: Generation) -> int:
        return gen.max_tokens + (self.reasoning_tokens if self._reasoning else 0)

    def extra_info(self) -> dict[str, Any]:
        return {
            "request_form": "max_completion_tokens" if self._reasoning else "max_tokens",
            "reasoning_tokens": self.reasoning_tokens if self._reasoning else None,
        }

    def build_body(self, messages: list[dict[str, str]], gen: Generation) -> dict[str, Any]:
        return self._body(messages, gen, self._named_reasoning)

    def _body(self, messages: list[dict[str, str]], gen: Generation, reasoning: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        if reasoning:
            body["max_completion_tokens"] = gen.max_tokens + self.reasoning_tokens
            return body
        body["max_tokens"] = gen.max_tokens
        body["temperature"] = gen.temperature
        if gen.top_p is not None:
            body["top_p"] = gen.top_p
        stops = [s for s in gen.stop if s][:MAX_STOP_SEQUENCES]  # the rest are applied locally
        if stops:
            body["stop"] = stops
        return body

    def send(self, body: dict[str, Any], gen: Generation) -> Answer:
        reasoning = self._reasoning
        if reasoning != self._named_reasoning:
            body = self._body(body["messages"], gen, reasoning)
        try:
            return self._post(body)
        except Exception as err:
            param = rejected_parameter(err)
            if param not in (REASONING_ONLY if reasoning else STANDARD_ONLY):
                raise  # not a form problem: the retry layer decides
            self._switch_form(to_reasoning=not reasoning, param=param)
        return self._post(self._body(body["messages"], gen, not reasoning))

    def _switch_form(self, to_reasoning: bool, param: str) -> None:
        with self._form_lock:
            if self._reasoning == to_reasoning:
                return
            self._reasoning = to_reasoning
        form = f"max_completion_tokens (+{self.reasoning_tokens} reasoning tokens)" if to_reasoning else "max_tokens"
        log.warning("%s rejects %r: requests now use %s for the rest of the run", self.model, param, form)

    def _post(self, body: dict[str, Any]) -> Answer:
        # The SDK's generic POST: its auth, base URL, timeouts and error types, without the typed-parameter
        # transform and response models, which cost more CPU than everything else per request.
        return self.parse_response(self._client_once().post("/chat/completions", body=body, cast_to=object), body)

    def parse_response(self, data: dict, body: dict) -> Answer:
        """The answer in a Chat Completions response ``data`` to ``body`` (synchronous or from a batch).

        Raises:
            MalformedResponse: no ``choices[0].message`` (transient).
            OutputLimitReached: no text because the output limit was spent (permanent).
        """
        reasoning = "max_completion_tokens" in body
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError) as err:
            raise MalformedResponse(f"response has no choices[0].message: {str(data)[:200]}") from err
        content = message.get("content")
        if isinstance(content, list):  # some compatible servers return content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        text = content if isinstance(content, str) else ""
        if not text and choice.get("finish_reason") == "length":
            limit = body.get("max_completion_tokens", body.get("max_tokens"))
            hint = "raise reasoning_tokens" if reasoning else "raise the task's max_gen_toks"
            raise OutputLimitReached(f"no answer text: the output limit of {limit} tokens was used up; {hint}")
        usage = data.get("usage") or {}
        if isinstance(usage.get("prompt_tokens"), int):
            return Answer(text, usage["prompt_tokens"], int(usage.get("completion_tokens") or 0))
        return Answer(text, self._input_estimate(body), estimate_tokens(text) if text else 0)

    # --- Batch API (batch=true): one model per JSONL input file, uploaded with purpose "batch" ---------

    def batch_line(self, custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """One line of the batch input file."""
        return {"custom_id": custom_id, "method": "POST", "url": BATCH_ENDPOINT, "body": body}

    def batch_submit(self, lines: list[dict[str, Any]]) -> str:
        """Upload ``lines`` as a JSONL file and start a batch on it; its id. A retry after a failed create
        reuses the file already uploaded for the same lines."""
        client = self._client_once()
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self._uploads:
            upload = client.files.create(file=("meds-bench-batch.jsonl", data, "application/jsonl"), purpose="batch")
            self._uploads[digest] = upload.id
        batch = client.batches.create(
            input_file_id=self._uploads[digest], endpoint=BATCH_ENDPOINT, completion_window="24h"
        )
        del self._uploads[digest]
        return batch.id

    def batch_status(self, batch_id: str) -> BatchStatus:
        """Where the batch stands; its items count as expired once the whole batch has expired."""
        batch = self._client_once().batches.retrieve(batch_id)
        counts = batch.request_counts
        total, done, failed = (counts.total, counts.completed, counts.failed) if counts else (0, 0, 0)
        left = max(0, total - done - failed)
        if batch.status in BATCH_ENDED:
            return BatchStatus(
                True, done, failed + (0 if batch.status == "expired" else left), left * (batch.status == "expired"), 0
            )
        return BatchStatus(False, done, failed, 0, left)

    def batch_results(
        self, batch_id: str, bodies: dict[str, dict[str, Any]]
    ) -> Iterator[tuple[str, Answer | ItemError]]:
        """Each item of an ended batch from its output and error files (``bodies``: the requests by custom_id)."""
        client = self._client_once()
        batch = client.batches.retrieve(batch_id)
        if batch.status == "failed":  # the input file was refused as a whole: sending it again cannot help
            errors = batch.errors.data if batch.errors and batch.errors.data else []
            message = "; ".join(str(e.message) for e in errors) or "the batch failed validation"
            for key in bodies:
                yield key, ItemError("errored", f"batch {batch_id} failed: {message}", False)
            return
        seen = set()
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            for line in client.files.content(file_id).text.splitlines():
                if line.strip():
                    row = json.loads(line)
                    seen.add(row["custom_id"])
                    yield row["custom_id"], self._batch_item(row, bodies.get(row["custom_id"], {}))
        if batch.status == "cancelled":  # someone stopped it (`meds-bench batches cancel`): no follow-up
            for key in bodies.keys() - seen:
                yield key, ItemError("canceled", f"batch {batch_id} was cancelled", False)

    def _batch_item(self, row: dict[str, Any], body: dict[str, Any]) -> Answer | ItemError:
        error = row.get("error")
        if error:  # not run: expired or cancelled with its batch, or refused by the batch runner
            code = str(error.get("code") or "error")
            kind = {"batch_expired": "expired", "batch_cancelled": "canceled"}.get(code, "errored")
            return ItemError(kind, f"{code}: {error.get('message', '')}", kind != "canceled")
        response = row.get("response") or {}
        status = int(response.get("status_code") or 0)
        data = response.get("body") or {}
        if status != 200:
            detail = data.get("error") if isinstance(data, dict) else None
            return http_item_error(status, str(detail.get("message") if isinstance(detail, dict) else data))
        try:
            return self.parse_response(data, body)
        except Exception as err:  # noqa: BLE001 - classified like a synchronous response
            return exception_item_error(err)

    def batch_cancel(self, batch_id: str) -> None:
        """Ask the provider to stop the batch (finished items stay billed and downloadable)."""
        self._client_once().batches.cancel(batch_id)
