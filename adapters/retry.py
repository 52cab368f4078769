"""The one retry loop of every request: exponential backoff with full jitter, honouring Retry-After.

The SDKs' built-in retries are switched off (``max_retries=0`` on the client) so that both
providers share this policy, its counters, a configurable backoff base, and the treatment of
malformed response bodies as transient. Retried: HTTP 408, 409, 429, 5xx (Anthropic's 529
included), timeouts, dropped connections and unparseable bodies. Any other 4xx fails at once
with the provider's own message. A request still failing after ``max_retries`` retries raises
:class:`RequestFailed`; the caller records it and the run goes on.

Before any of that, the loop asks a request that can adapt (:class:`Adaptable`) whether the failure
changed its form for the run (a rejected field dropped, the other request form chosen): then it is
sent again at once, neither waited for nor counted as a retry.

Hand-written rather than on tenacity: each of its decisions (adapt without waiting or counting, the
server's wait capped, a wait the run's stop event cuts short, the provider's message on giving up)
would be a custom tenacity callback, so the library would add a layer without removing code.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .values import ItemFailed

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

RETRYABLE_STATUS = frozenset({408, 409, 429})
MAX_ADAPTATIONS = 4  # form changes per request: more means the server contradicts itself


class Adaptable(Protocol[T_co]):
    """A request the loop sends by calling it, and asks after a failure whether its form changed."""

    def __call__(self) -> T_co: ...

    def adapt(self, exc: BaseException) -> bool:
        """Whether ``exc`` changed the request's form for the run (so that it is worth sending again at once)."""
        ...


class RequestFailed(Exception):
    """A request that could not be answered; ``message`` is the provider's (or transport's) error."""

    def __init__(self, message: str, attempts: int, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts
        self.retryable = retryable
        self.status = status  # the HTTP status of the last attempt, None for transport errors


class MalformedResponse(Exception):
    """The provider answered 2xx with a body lacking the expected fields (treated as transient)."""


class Stopped(Exception):
    """The run was interrupted (Ctrl-C or budget) while this request waited to be retried."""


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` retries after the first attempt; waits grow as ``base * 2**n``, capped at ``cap``."""

    max_retries: int = 8
    base: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 300.0

    def backoff(self, retry_number: int) -> float:
        """Full-jitter exponential wait before retry ``retry_number`` (0-based)."""
        return random.uniform(0, min(self.cap, self.base * (2**retry_number)))


def retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth a retry: 408, 409, 429 and every 5xx."""
    return status in RETRYABLE_STATUS or status >= 500


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``Retry-After`` (seconds or HTTP date), or None."""
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
    except (AttributeError, ValueError):
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify(exc: BaseException) -> tuple[bool, float | None, str]:
    """(retryable, server-requested wait or None, message) for an exception raised by an SDK call."""
    status = _status_of(exc)
    message = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    if status is not None:
        response = getattr(exc, "response", None)
        wait = parse_retry_after(getattr(response, "headers", None))
        return retryable_status(status), wait, f"HTTP {status}: {message}"
    name = type(exc).__name__
    # Timeouts, dropped connections (both SDKs' APIConnectionError/APITimeoutError and raw transport
    # errors) and bodies that are not the JSON the SDK expects are all transient.
    transient = (
        "Timeout" in name
        or "Connection" in name
        or "ResponseValidation" in name
        or isinstance(exc, MalformedResponse | json.JSONDecodeError | ConnectionError | TimeoutError)
        or type(exc).__module__.startswith(("httpx", "httpcore", "h11"))
    )
    return transient, None, f"{name}: {message}"


def provider_message(err: BaseException) -> str:
    """The provider's own error message of an SDK exception (``error.message`` of its body), else its text."""
    body = getattr(err, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message) if message else str(getattr(err, "message", None) or err)


def http_item_error(status: int, message: str) -> ItemFailed:
    """A batch item the provider answered with HTTP ``status``: retried like a synchronous request would be."""
    return ItemFailed("errored", f"HTTP {status}: {message}", retryable_status(status))


def exception_item_error(exc: BaseException) -> ItemFailed:
    """A batch item whose response could not be read (``parse_response`` raised ``exc``), classified like a
    synchronous failure."""
    retryable, _, message = classify(exc)
    return ItemFailed("errored", message, retryable)


def call_with_retries(
    fn: Callable[[], T] | Adaptable[T],
    policy: RetryPolicy,
    stop: threading.Event | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> T:
    """Run ``fn`` until it succeeds, fails permanently or exhausts ``policy.max_retries`` retries; an
    :class:`Adaptable` ``fn`` whose form a failure changed is run again at once (at most
    ``MAX_ADAPTATIONS`` times)."""
    adapt = getattr(fn, "adapt", None)
    attempt = adaptations = 0
    while True:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - every SDK error is classified below
            if adapt is not None and adaptations < MAX_ADAPTATIONS and adapt(exc):
                adaptations += 1
                continue
            retryable, wait, message = classify(exc)
            attempt += 1
            if not retryable or attempt > policy.max_retries:
                raise RequestFailed(message, attempt, retryable, _status_of(exc)) from exc
            if wait is None or wait > policy.max_retry_after:
                wait = policy.backoff(attempt - 1) if wait is None else policy.max_retry_after
            else:
                wait += random.uniform(0, policy.base * 0.1)  # spread simultaneous retries a little
            if on_retry is not None:
                on_retry(message)
            if stop is not None:
                if stop.wait(wait):
                    raise Stopped(message) from exc
            else:
                time.sleep(wait)
