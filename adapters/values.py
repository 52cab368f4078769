"""The values every adapter floor passes around: a request's generation settings, a prepared request,
the provider's answer, a batch's progress, a batch item's failure, and what became of a request.

The bottom floor: it imports nothing from the package. Frozen dataclasses, so that a value read by
several threads cannot change under them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """What became of one distinct request; written as ``meds_api.status`` into each sample.

    ``failed``, ``output_limit`` and ``skipped_budget`` are the unanswered ones
    (``meds_bench.api_status.UNANSWERED``); ``dry_run``: nothing was sent.
    """

    DONE = "done"
    CACHED = "cached"
    FAILED = "failed"
    OUTPUT_LIMIT = "output_limit"
    SKIPPED_BUDGET = "skipped_budget"
    DRY_RUN = "dry_run"


@dataclass(frozen=True)
class Generation:
    """Provider-neutral generation settings of one request; ``max_tokens`` is the task's answer budget;
    ``schema`` the JSON schema (canonical JSON text) the reply must follow, or None for free text."""

    max_tokens: int
    temperature: float
    top_p: float | None
    stop: tuple[str, ...]
    schema: str | None = None


@dataclass(frozen=True)
class Prepared:
    """One lm-eval request turned into a provider request body and its cache key."""

    task: str
    doc_id: Any
    key: str
    body: dict[str, Any]
    gen: Generation
    prompt_tokens: int = 0
    dropped_tokens: int = 0
    error: str | None = None  # why it is not sent


@dataclass(frozen=True)
class Outcome:
    """What became of one distinct request: raw text, status and error."""

    text: str
    status: Status
    error: str | None = None
    thinking: str = ""


@dataclass(frozen=True)
class Answer:
    """One API response: the answer text (thinking split off), the thinking, and token usage.

    ``output_limit`` marks a reply without answer text because the output allowance was used up.
    """

    text: str
    input_tokens: int
    output_tokens: int
    thinking: str = ""
    reasoning_tokens: int = 0
    output_limit: bool = False
    batch: bool = False  # received through a batch interface (priced at the batch rates)
    earlier: bool = False  # of a batch an earlier process submitted


@dataclass(frozen=True)
class BatchStatus:
    """A batch as the provider reports it: ended or not, and its items by state."""

    ended: bool
    succeeded: int
    errored: int
    expired: int
    processing: int


class ItemFailed(Exception):
    """A batch item that got no answer: ``kind`` errored / expired / canceled, and whether to retry it.

    Raised by nobody: a provider's ``batch_results`` yields it in place of an :class:`Answer`, and the
    dispatcher records it like any other failure.
    """

    def __init__(self, kind: str, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable
