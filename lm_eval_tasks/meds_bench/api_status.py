"""Which documents an API run left unanswered, read from what the adapters record.

The adapters (``meds_bench_adapters``) add a ``meds_api`` entry with the request's ``status`` to each
logged sample's generation arguments, and count statuses per task under ``config.meds_api.usage`` in
the results JSON. A document is *unanswered* when its request failed, was not sent because the budget
was spent, or got a reply without answer text (the output limit was used up by thinking). It is scored
0 like any wrong answer (the paper's metric); the tables say how many there were.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

UNANSWERED = ("failed", "output_limit", "skipped_budget")


def sample_api_record(sample: Mapping[str, Any]) -> dict[str, Any]:
    """What an API adapter recorded for the sample's request (status, error, thinking), or {}."""
    args = sample.get("arguments")
    first = next(iter(args.values()), None) if isinstance(args, dict) and args else None
    kwargs = first.get("arg_1") if isinstance(first, dict) else None
    record = kwargs.get("meds_api") if isinstance(kwargs, dict) else None
    return record if isinstance(record, dict) else {}


def is_unanswered(sample: Mapping[str, Any]) -> bool:
    """True when the sample's API request produced no answer text."""
    return sample_api_record(sample).get("status") in UNANSWERED


def usage_unanswered(usage: Mapping[str, Any] | None) -> int:
    """Unanswered requests counted in a ``usage`` entry (a task's or the run's total)."""
    return sum(int((usage or {}).get(status) or 0) for status in UNANSWERED)


def unanswered_in_samples(path: Path) -> int:
    """Documents of an lm-eval samples file whose request produced no answer text (unreadable lines skipped:
    the readers that score the file report them)."""
    count = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                sample = json.loads(line)
            except json.JSONDecodeError:
                continue
            count += isinstance(sample, dict) and is_unanswered(sample)
    return count
