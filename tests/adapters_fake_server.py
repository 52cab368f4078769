"""A loopback server speaking the OpenAI Chat Completions and Anthropic Messages wire formats.

Used by the adapter tests and by ``bench/bench_adapters.py``. It answers deterministically from
the request, counts attempts and answers per distinct request, records every body it receives,
and injects faults: for a request whose key is in ``fault_plan``, attempt ``n`` (0-based) gets
``fault_plan[key][n]`` while that list lasts; ``fault_every`` adds a default plan to one
request in N (chosen by hash, so every run of the same prompts sees the same faults).

Faults: ``429`` (with Retry-After), ``408``, ``409``, ``500``, ``503``, ``529`` (Anthropic
overloaded), ``400`` (permanent), ``timeout`` (no answer until the client gives up and closes the
connection, at most ``hang_seconds``), ``malformed``
(200 with a body that is not JSON), ``drop`` (close the connection without an answer).

Model behaviour: ``unsupported`` maps a model name to the request parameters it rejects with
OpenAI's 400 ``unsupported_parameter`` error (as reasoning models reject ``max_tokens``);
``context_window`` rejects, as the providers do, a prompt (counted as 4 JSON characters per token)
whose output limit does not fit; ``reasoning_used`` hidden tokens are spent first by a request
with ``max_completion_tokens``, which answers nothing (``finish_reason=length``) when they do not fit.

Provider rules (as the providers document them for late 2026): Claude ids in ``RETIRED`` answer 404
``not_found_error``; the Claude models that take no sampling parameters answer 400 "`temperature` is
deprecated for this model." for any of them; Claude 4.1-4.5 answer 400 for temperature with top_p;
thinking forms a model does not take answer 400 (``enabled`` on adaptive-only models, ``disabled`` on
Fable/Mythos, ``adaptive`` on 4.5 and older, ``budget_tokens`` below 1024 or not below ``max_tokens``),
and so does a temperature other than 1 while thinking. A Claude request that thinks gets a ``thinking``
block before its text blocks (its text names option B, the answer names A); ``thinking_exhausts`` makes
it use the whole output allowance (no text, ``stop_reason: max_tokens``). OpenAI side: ``reasoning_field``
returns the thinking in ``reasoning_content`` or ``reasoning``, ``"inline"`` as a leading ``<think>`` block
to which the request's stop sequences apply, as a server without a reasoning parser does. Bedrock's
``/model/{id}/invoke`` and Vertex's ``...:rawPredict`` routes answer as the Messages API.

Holding: with ``hold_after=N`` the first N requests to arrive are served and every later one waits
until ``release`` is set; :meth:`wait_for` blocks until the counters reach a state, so a test can act
after exactly N answers without sleeping.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_PLANS: tuple[tuple[str, ...], ...] = (
    ("429",),
    ("500", "429"),
    ("529",),
    ("timeout",),
    ("malformed",),
    ("drop",),
    ("503", "drop", "408"),
    ("409",),
)


RETIRED = frozenset(
    {"claude-2.1", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20240620", "claude-3-7-sonnet-20250219"}
)
NO_SAMPLING = (
    "claude-opus-4-7",
    "claude-opus-4-8",
    "claude-sonnet-5",
    "claude-opus-5",
    "claude-fable",
    "claude-mythos",
)
ONE_SAMPLING = ("claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5", "claude-opus-4-6",
                "claude-sonnet-4-6")  # fmt: skip
ADAPTIVE_ONLY = NO_SAMPLING
NEVER_DISABLED = ("claude-fable", "claude-mythos", "claude-opus-5-5")
THINKS_BY_DEFAULT = ("claude-sonnet-5", "claude-opus-5", "claude-fable", "claude-mythos", "claude-haiku-5")
HAS_ADAPTIVE = ("claude-opus-4-6", "claude-sonnet-4-6", *ADAPTIVE_ONLY)
THINKING_TEXT = "Option B looks right at first.\n\nInput: re-reading the question, B is wrong."
_ROUTE = re.compile(r"/model/([^/]+)/invoke$|/models/([^/:]+):rawPredict$")


def claude_thinks(body: dict[str, Any]) -> bool:
    """Whether a Messages request makes the model think (asked for, or the model's default)."""
    kind = (body.get("thinking") or {}).get("type")
    return kind in ("enabled", "adaptive") or (kind is None and str(body.get("model")).startswith(THINKS_BY_DEFAULT))


def claude_refusal(body: dict[str, Any]) -> tuple[int, str, str] | None:
    """(status, error type, message) the Messages API answers a request with, or None if it is accepted."""
    model = str(body.get("model"))
    if model in RETIRED:
        return 404, "not_found_error", f"model: {model}"
    sampling = [p for p in ("temperature", "top_p", "top_k") if p in body]
    if sampling and model.startswith(NO_SAMPLING):
        return 400, "invalid_request_error", f"`{sampling[0]}` is deprecated for this model."
    if {"temperature", "top_p"} <= set(body) and model.startswith(ONE_SAMPLING):
        return (
            400,
            "invalid_request_error",
            ("`temperature` and `top_p` cannot both be specified for this model. Please use only one."),
        )
    thinking = body.get("thinking") or {}
    kind = thinking.get("type")
    if kind == "enabled" and model.startswith(ADAPTIVE_ONLY):
        return (
            400,
            "invalid_request_error",
            (
                '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
                '"output_config.effort" to control thinking behavior.'
            ),
        )
    if kind == "disabled" and model.startswith(NEVER_DISABLED):
        return 400, "invalid_request_error", '"thinking.type.disabled" is not supported for this model.'
    if (kind == "adaptive" or "output_config" in body) and not model.startswith(HAS_ADAPTIVE):
        return 400, "invalid_request_error", '"thinking.type.adaptive" is not supported for this model.'
    if kind == "enabled":
        budget = thinking.get("budget_tokens", 0)
        if budget < 1024:
            return 400, "invalid_request_error", "thinking.budget_tokens: Input should be greater than or equal to 1024"
        if budget >= body.get("max_tokens", 0):
            return 400, "invalid_request_error", "`max_tokens` must be greater than `thinking.budget_tokens`."
    if claude_thinks(body) and body.get("temperature", 1) != 1:
        return 400, "invalid_request_error", "temperature may only be set to 1 when thinking is enabled."
    return None


def prompt_key(body: dict[str, Any]) -> str:
    """Identity of a request for counting: everything but nothing provider-internal."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def default_answer(body: dict[str, Any]) -> str:
    """A deterministic answer: the first letter option, then a tail that stop sequences must trim."""
    return f"The right answer is A: {prompt_key(body)[:6]}\n\nInput: this must be trimmed"


class FakeLLMServer:
    """Run with ``with FakeLLMServer(...) as server:``; ``server.openai_url`` / ``server.anthropic_url``."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        fault_every: int = 0,
        plans: tuple[tuple[str, ...], ...] = DEFAULT_PLANS,
        retry_after: str = "0.05",
        hang_seconds: float = 60.0,
        answer: Callable[[dict[str, Any]], str] = default_answer,
        unsupported: dict[str, frozenset[str]] | None = None,
        context_window: int | None = None,
        reasoning_used: int = 0,
        hold_after: int | None = None,
        retired_openai: frozenset[str] = frozenset(),
        reasoning_field: str | None = None,
        thinking_exhausts: bool = False,
    ) -> None:
        self.latency = latency
        self.fault_every = fault_every
        self.plans = plans
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.answer = answer
        self.unsupported = unsupported or {}
        self.context_window = context_window
        self.reasoning_used = reasoning_used
        self.hold_after = hold_after
        self.retired_openai = retired_openai
        self.reasoning_field = reasoning_field
        self.thinking_exhausts = thinking_exhausts
        self.paths: list[str] = []
        self.release = threading.Event()
        self.arrived = 0
        self.held = 0
        self.fault_plan: dict[str, list[str]] = {}
        self.attempts: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.events: list[tuple[float, str, str]] = []  # (time, key, outcome)
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)  # notified when ``answered`` or ``held`` grow
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def wait_for(self, predicate: Callable[[FakeLLMServer], bool], timeout: float = 120.0) -> None:
        """Block until ``predicate(self)`` holds (checked whenever a request is answered or held); the
        timeout only turns a hang into a failure."""
        with self.changed:
            if not self.changed.wait_for(lambda: predicate(self), timeout=timeout):
                raise AssertionError(f"fake server never reached the state: answered={self.answered} held={self.held}")

    def reset_counts(self) -> None:
        with self.lock:
            self.attempts.clear()
            self.answered.clear()
            self.bodies.clear()
            self.headers.clear()
            self.events.clear()
            self.arrived = self.held = 0

    def _fault_for(self, key: str, attempt: int) -> str | None:
        plan = self.fault_plan.get(key)
        if plan is None and self.fault_every and int(key, 16) % self.fault_every == 0:
            plan = list(self.plans[(int(key, 16) // self.fault_every) % len(self.plans)])
        return plan[attempt] if plan and attempt < len(plan) else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                route = _ROUTE.search(self.path)  # Bedrock / Vertex: the model is in the path
                if route:
                    body = {"model": urllib.parse.unquote(route.group(1) or route.group(2)), **body}
                anthropic = self.path.endswith("/messages") or route is not None
                key = prompt_key(body)
                with server.lock:
                    attempt = server.attempts[key]
                    server.attempts[key] += 1
                    server.bodies.append(body)
                    server.paths.append(self.path)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    fault = server._fault_for(key, attempt)
                    server.events.append((time.monotonic(), key, fault or "ok"))
                    hold = server.hold_after is not None and server.arrived >= server.hold_after
                    server.arrived += 1
                    if hold:
                        server.held += 1
                        server.changed.notify_all()
                if hold:
                    server.release.wait()
                if server.latency:
                    time.sleep(server.latency)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._respond(body, key, fault, anthropic)

            def _respond(self, body: dict[str, Any], key: str, fault: str | None, anthropic: bool) -> None:
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault == "timeout":
                    # Wait for the client's timeout to close the connection (recv then returns b""), so the
                    # fault does not depend on how fast either side runs.
                    self.connection.settimeout(server.hang_seconds)
                    with contextlib.suppress(OSError):
                        self.connection.recv(1)
                    self.close_connection = True
                    return
                if fault == "malformed":
                    self._send(200, b'{"id": "x", "choices": [ {"mess')
                    return
                refusal = server._refusal(body, anthropic)
                if refusal is not None:
                    status = refusal.pop("status", 400)
                    self._send(status, json.dumps(refusal).encode())
                    return
                if fault is not None:
                    status = int(fault)
                    if status == 529 and not anthropic:
                        status = 503
                    headers = {"Retry-After": server.retry_after} if status == 429 else {}
                    message = "invalid request: max_tokens too large" if status == 400 else f"injected {status}"
                    if anthropic:
                        kind = "overloaded_error" if status == 529 else "api_error"
                        error = {"type": "error", "error": {"type": kind, "message": message}}
                    else:
                        error = {"error": {"message": message, "type": "server_error", "code": None}}
                    self._send(status, json.dumps(error).encode(), headers)
                    return
                text = server.answer(body)
                prompt_tokens = _prompt_tokens(body)
                completion_tokens = max(1, len(text.split()))
                finish_reason = "stop"
                if "max_completion_tokens" in body:
                    completion_tokens += server.reasoning_used
                    if body["max_completion_tokens"] <= server.reasoning_used:
                        text, completion_tokens, finish_reason = "", body["max_completion_tokens"], "length"
                if anthropic:
                    half = len(text) // 2
                    content = [{"type": "text", "text": text[:half]}, {"type": "text", "text": text[half:]}]
                    stop_reason = "end_turn"
                    if claude_thinks(body):
                        thought = {"type": "thinking", "thinking": THINKING_TEXT, "signature": "sig-" + key[:8]}
                        content = [thought] if server.thinking_exhausts else [thought, *content]
                        completion_tokens = body["max_tokens"] if server.thinking_exhausts else completion_tokens + 12
                        stop_reason = "max_tokens" if server.thinking_exhausts else stop_reason
                    payload = {
                        "id": "msg_" + key,
                        "type": "message",
                        "role": "assistant",
                        "model": body.get("model"),
                        "content": content,
                        "stop_reason": stop_reason,
                        "stop_sequence": None,
                        "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
                    }
                else:
                    message: dict[str, Any] = {"role": "assistant", "content": text}
                    if server.reasoning_field == "inline":
                        full = f"<think>\n{THINKING_TEXT}\n</think>\n\n{text}"
                        stops = [s for s in body.get("stop", []) if s and s in full]
                        message["content"] = full[: min(full.index(s) for s in stops)] if stops else full
                    elif server.reasoning_field:
                        message[server.reasoning_field] = THINKING_TEXT
                    payload = {
                        "id": "chatcmpl-" + key,
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model"),
                        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion_tokens,
                            "total_tokens": prompt_tokens + completion_tokens,
                            "completion_tokens_details": {"reasoning_tokens": server.reasoning_used},
                        },
                    }
                self._send(200, json.dumps(payload).encode())
                with server.lock:
                    server.answered[key] += 1
                    server.changed.notify_all()

        return Handler

    def _refusal(self, body: dict[str, Any], anthropic: bool) -> dict[str, Any] | None:
        """The 400 error body for an unsupported parameter or a prompt too long for the window, or None."""
        if anthropic:
            refused = claude_refusal(body)
            if refused is not None:
                status, kind, message = refused
                return {"status": status, "type": "error", "error": {"type": kind, "message": message}}
        elif body.get("model") in self.retired_openai:
            message = f"The model `{body['model']}` does not exist or you do not have access to it."
            error = {"message": message, "type": "invalid_request_error", "param": None, "code": "model_not_found"}
            return {"status": 404, "error": error}
        rejected = sorted(self.unsupported.get(str(body.get("model")), frozenset()) & set(body))
        if rejected and not anthropic:
            param = rejected[0]
            message = f"Unsupported parameter: '{param}' is not supported with this model."
            if param == "max_tokens":
                message += " Use 'max_completion_tokens' instead."
            error = {"message": message, "type": "invalid_request_error", "param": param}
            return {"error": {**error, "code": "unsupported_parameter"}}
        limit = body.get("max_completion_tokens", body.get("max_tokens", 0))
        prompt = _prompt_tokens(body)
        if self.context_window is None or prompt + limit <= self.context_window:
            return None
        if anthropic:
            message = f"prompt is too long: {prompt + limit} tokens > {self.context_window} maximum"
            return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
        message = (
            f"This model's maximum context length is {self.context_window} tokens. However, you requested "
            f"{prompt + limit} tokens ({prompt} in the messages, {limit} in the completion)."
        )
        error = {"message": message, "type": "invalid_request_error", "param": "messages"}
        return {"error": {**error, "code": "context_length_exceeded"}}


def _prompt_tokens(body: dict[str, Any]) -> int:
    return max(1, len(json.dumps(body.get("messages", ""))) // 4 + len(body.get("system", "")) // 4)


def make_instances(
    task: str,
    n: int,
    *,
    chat: bool = True,
    start: int = 0,
    max_gen_toks: int = 32,
    system: str | None = None,
    query: str | None = None,
) -> list[Any]:
    """``n`` lm-eval generate_until instances of ``task`` (chat-template JSON contexts when ``chat``);
    ``system`` and ``query`` replace the default message texts ({i} in ``query`` is the instance number)."""
    from lm_eval.api.instance import Instance

    out = []
    for i in range(start, start + n):
        messages = [
            {"role": "system", "content": f"Cases and definition for {task}." if system is None else system},
            {"role": "user", "content": f"Input:\nquestion {i}\nOutput:" if query is None else query.format(i=i)},
        ]
        context = json.dumps(messages) if chat else f"Definition.\nInput:\nquestion {i}\nOutput:\n"
        gen = {"until": ["\nInput:", "\n\n"], "max_gen_toks": max_gen_toks, "do_sample": False}
        out.append(
            Instance(request_type="generate_until", doc={}, arguments=(context, gen), idx=0, metadata=(task, i, 1))
        )
    return out
