"""The model arguments shared by both adapters (``--model_args``), parsed and checked in one place.

lm-eval hands every model argument over as a string (``dry_run=true``, ``max_cost_usd=2``);
:meth:`ModelArgs.parse` turns them into typed values and refuses a bad one with one line naming the
argument, before anything is sent. Provider-specific arguments (``platform``, ``think_end_token``, ...)
are the provider classes' own and never reach this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .context import TRUNCATE_MODES
from .errors import BatchModeError
from .families import ModelArgError, parse_effort
from .guard import check_no_secrets

DEFAULT_MAX_GEN_TOKS = 256
BATCH_FALLBACKS = ("batch", "sync")
DEFAULT_POLL_S = 5.0
IGNORED = ("batch_size", "max_batch_size", "device")  # passed by lm-eval's CLI; concurrency is ours


def as_bool(value: Any) -> bool:
    """A model argument's truth: ``1``, ``true``, ``yes`` and ``on`` (any case) are true."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def positive_int(name: str, value: Any) -> int:
    """``value`` as a whole number above 0; raises ValueError naming the argument otherwise."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise ValueError(f"model argument {name}={value!r}: give a positive whole number of tokens")
    return number


def _optional(value: Any) -> bool:
    return value not in (None, "")


@dataclass(frozen=True)
class BatchSettings:
    """``batch_fallback`` (``batch`` or ``sync``) and the first polling interval in seconds."""

    fallback: str
    poll_s: float


def batch_settings(extra: dict[str, Any], dry_run: bool) -> BatchSettings | None:
    """Pop ``batch``, ``batch_fallback`` and ``batch_poll`` from the model args; None unless ``batch=true``.

    Raises:
        BatchModeError: ``batch=true`` with ``dry_run=true``.
        ValueError: a ``batch_fallback`` or ``batch_poll`` that is not valid.
    """
    enabled = as_bool(extra.pop("batch", False))
    fallback = str(extra.pop("batch_fallback", "batch")).strip().lower()
    poll = extra.pop("batch_poll", DEFAULT_POLL_S)
    if fallback not in BATCH_FALLBACKS:
        raise ValueError(f"model argument batch_fallback={fallback!r}: use batch_fallback=batch or batch_fallback=sync")
    try:
        poll_s = float(poll)
    except (TypeError, ValueError):
        poll_s = -1.0
    if poll_s <= 0:
        raise ValueError(f"model argument batch_poll={poll!r}: give the first polling interval in seconds (> 0)")
    if not enabled:
        return None
    if dry_run:
        raise BatchModeError(
            "meds-bench: batch=true with dry_run=true: the dry run already shows the batch cost; drop one of them"
        )
    return BatchSettings(fallback, poll_s)


@dataclass(frozen=True)
class ModelArgs:
    """The provider-neutral model arguments of one adapter instance, typed and checked."""

    model: str | None
    base_url: str | None
    num_concurrent: int
    max_retries: int
    timeout: float
    cache_dir: str | None
    max_cost_usd: float | None
    dry_run: bool
    allow_credentialed: bool
    max_gen_toks: int
    backoff_base: float
    backoff_max: float
    prices: str | None
    progress: bool
    max_context_tokens: int | None
    truncate: str
    reasoning_effort: str | None
    reasoning_tokens: int | None
    family: str | None
    batch: BatchSettings | None

    @classmethod
    def parse(
        cls,
        provider: str,
        model: str | None = None,
        base_url: str | None = None,
        num_concurrent: int = 4,
        max_retries: int = 8,
        timeout: float = 120.0,
        cache_dir: str | None = None,
        max_cost_usd: float | None = None,
        dry_run: bool = False,
        allow_credentialed: bool = False,
        max_gen_toks: int = DEFAULT_MAX_GEN_TOKS,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        prices: str | None = None,
        progress: bool = True,
        max_context_tokens: int | None = None,
        truncate: str = "left",
        reasoning_effort: str | None = None,
        reasoning_tokens: int | None = None,
        family: str | None = None,
        **extra: Any,
    ) -> ModelArgs:
        """The arguments of ``--model meds-<provider>``; lm-eval's own ``batch_size``/``device`` are dropped.

        Raises:
            SecretInArgsError: a key or token in an argument (keys come from the environment only).
            TypeError: an argument this adapter does not know.
            ModelArgError, ValueError, BatchModeError: an argument whose value is not valid.
        """
        check_no_secrets({"model": model, "base_url": base_url, **extra})
        for ignored in IGNORED:
            extra.pop(ignored, None)
        batch = batch_settings(extra, as_bool(dry_run))
        if extra:
            raise TypeError(f"unknown model argument(s) for {provider}: {', '.join(sorted(extra))}")
        mode = str(truncate).strip().lower()
        if mode not in TRUNCATE_MODES:
            raise ModelArgError(f"model argument truncate={truncate!r}: use truncate=left or truncate=fail")
        return cls(
            model=str(model) if model else None,
            base_url=base_url,
            num_concurrent=max(1, int(num_concurrent)),
            max_retries=int(max_retries),
            timeout=float(timeout),
            cache_dir=str(cache_dir) if _optional(cache_dir) else None,
            max_cost_usd=float(max_cost_usd) if _optional(max_cost_usd) else None,
            dry_run=as_bool(dry_run),
            allow_credentialed=as_bool(allow_credentialed),
            max_gen_toks=int(max_gen_toks),
            backoff_base=float(backoff_base),
            backoff_max=float(backoff_max),
            prices=prices,
            progress=as_bool(progress),
            max_context_tokens=positive_int("max_context_tokens", max_context_tokens)
            if _optional(max_context_tokens)
            else None,
            truncate=mode,
            reasoning_effort=parse_effort(reasoning_effort),
            reasoning_tokens=positive_int("reasoning_tokens", reasoning_tokens)
            if _optional(reasoning_tokens)
            else None,
            family=family,
            batch=batch,
        )
