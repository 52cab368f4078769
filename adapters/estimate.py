"""The dry run (``dry_run=true``): what a run would send and cost, per task, with nothing sent."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from .cache import ResponseCache
from .cost import Price
from .values import Generation, Outcome, Prepared, Status

DRY_RUN_COUNTS = ("requests", "cached", "not_sendable", "truncated", "input_tokens", "max_output_tokens")
COST_COLUMNS = (("max_cost_usd", False), ("max_cost_batch_usd", True))


def estimate(
    unique: dict[str, Prepared],
    cache: ResponseCache,
    price: Price | None,
    output_limit: Callable[[Generation], int],
) -> dict[str, Any]:
    """Per task and in total: requests to send, cached, not sendable and cut, their input tokens, their
    output-token limits and the worst-case cost synchronously and through a batch (0 without a price)."""
    per_task: dict[str, dict[str, float]] = {}
    for item in unique.values():
        row = per_task.setdefault(item.task, dict.fromkeys(DRY_RUN_COUNTS, 0))
        row["truncated"] += bool(item.dropped_tokens)
        if item.error is not None:
            row["not_sendable"] += 1
            continue
        if cache.get(item.key) is not None:
            row["cached"] += 1
            continue
        row["requests"] += 1
        row["input_tokens"] += item.prompt_tokens
        row["max_output_tokens"] += output_limit(item.gen)
    for row in per_task.values():
        for column, batch in COST_COLUMNS:
            tokens = int(row["input_tokens"]), int(row["max_output_tokens"])
            row[column] = round(price.cost(*tokens, batch=batch), 6) if price else 0
    columns = (*DRY_RUN_COUNTS, *(column for column, _ in COST_COLUMNS))
    total = {k: sum(r[k] for r in per_task.values()) for k in columns}
    return {"total": total, "per_task": per_task, "priced": price is not None}


def print_estimate(label: str, result: dict[str, Any]) -> None:
    """The dry run's one line on stderr; ``label`` is ``provider:model``."""
    total = result["total"]
    print(
        f"[{label}] dry run, nothing sent: {total['requests']} requests to send "
        f"({total['cached']} already cached, {total['truncated']} prompts cut to fit the context window, "
        f"{total['not_sendable']} too long to send), ~{total['input_tokens']} input tokens, "
        f"<= {total['max_output_tokens']} output tokens, <= ${total['max_cost_usd']:.4f} "
        f"(<= ${total['max_cost_batch_usd']:.4f} with batch=true)",
        file=sys.stderr,
    )


def dry_run_outcomes(unique: dict[str, Prepared]) -> dict[str, Outcome]:
    """The outcome of each request of a dry run: nothing sent, the reason it could not be kept."""
    return {key: Outcome("", Status.DRY_RUN, item.error) for key, item in unique.items()}
