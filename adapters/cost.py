"""Token usage and dollar accounting: price table, per-task ledger, budget and dry-run estimates.

Prices are USD per million tokens, list and batch, read from the family rows of ``models.json``; a
user file (model arg ``prices=PATH`` or env ``MEDS_BENCH_PRICES``, ``{"models": {prefix: {"input": ..,
"output": .., "batch_input": .., "batch_output": ..}}}``) replaces or adds entries; batch rates default
to half the list rates. Model names match the longest listed prefix. The ledger is thread-safe; the
budget reserves each request's worst-case cost (its counted prompt + its full output-token limit)
before it is sent, so concurrent requests cannot overshoot ``max_cost_usd``; spending already committed
(a batch an earlier process submitted) is held against it unconditionally.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .families import longest_prefix, normalize_model_id, table

PRICES_ENV = "MEDS_BENCH_PRICES"


BATCH_DISCOUNT = 0.5  # both providers' batch interfaces bill half the list price


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens, synchronously and through a provider's batch interface."""

    input: float
    output: float
    batch_input: float | None = None
    batch_output: float | None = None

    def cost(self, input_tokens: int, output_tokens: int, batch: bool = False) -> float:
        if batch:
            rate_in = self.input * BATCH_DISCOUNT if self.batch_input is None else self.batch_input
            rate_out = self.output * BATCH_DISCOUNT if self.batch_output is None else self.batch_output
            return (input_tokens * rate_in + output_tokens * rate_out) / 1e6
        return (input_tokens * self.input + output_tokens * self.output) / 1e6

    def side_by_side(self, input_tokens: int, output_tokens: int) -> str:
        """``sync $X / batch $Y``: what the tokens cost through each interface."""
        sync, batch = self.cost(input_tokens, output_tokens), self.cost(input_tokens, output_tokens, batch=True)
        return f"sync ${sync:.4f} / batch ${batch:.4f}"


def _price(row: dict[str, Any]) -> Price:
    batch_in, batch_out = row.get("batch_input"), row.get("batch_output")
    return Price(
        float(row["input"]),
        float(row["output"]),
        float(batch_in) if batch_in is not None else None,
        float(batch_out) if batch_out is not None else None,
    )


def load_prices(override: str | Path | None = None) -> dict[str, Price]:
    """The bundled price table, updated with ``override`` (or ``$MEDS_BENCH_PRICES``) when given."""
    raw = {name: row for name, row in table().items() if "input" in row}
    path = override or os.environ.get(PRICES_ENV)
    if path:
        user = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
        raw.update(user.get("models", user))
    return {name: _price(p) for name, p in raw.items() if isinstance(p, dict)}


def price_for(model: str, prices: dict[str, Price]) -> Price | None:
    """Price of ``model`` by exact name, else by the longest matching prefix; None if unknown."""
    name = longest_prefix(model, prices) or longest_prefix(normalize_model_id(model), prices)
    return prices[name] if name is not None else None


@dataclass
class Usage:
    """Counts for one task (or the whole run)."""

    requests: int = 0
    sent: int = 0
    cached: int = 0
    failed: int = 0
    output_limit: int = 0  # replies with no answer text: thinking used the whole output allowance
    skipped_budget: int = 0
    truncated: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0  # of output_tokens, spent on thinking
    cost_usd: float = 0.0
    cached_input_tokens: int = 0
    cached_output_tokens: int = 0
    batched: int = 0  # of ``sent``: answers received through a batch, priced at the batch rates
    earlier_cost_usd: float = 0.0  # of ``cost_usd``: batch answers an earlier, interrupted process paid for

    def add(self, other: Usage) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cost_usd"] = round(self.cost_usd, 6)
        out["earlier_cost_usd"] = round(self.earlier_cost_usd, 6)
        return out


@dataclass
class Ledger:
    """Thread-safe usage per task, budget reservations and failure messages for one model instance."""

    price: Price | None
    max_cost_usd: float | None = None
    tasks: dict[str, Usage] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    truncations: list[dict[str, Any]] = field(default_factory=list)
    per_request: list[list[Any]] = field(default_factory=list)  # [task, doc_id, status, in, out, usd]
    _reserved: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _task(self, task: str) -> Usage:
        return self.tasks.setdefault(task, Usage())

    def count_request(self, task: str) -> None:
        with self._lock:
            self._task(task).requests += 1

    def reserve(self, worst_case_usd: float) -> bool:
        """Reserve budget for one request; False (and nothing reserved) if it could exceed the budget."""
        with self._lock:
            if self.max_cost_usd is not None and self.spent + self._reserved + worst_case_usd > self.max_cost_usd:
                return False
            self._reserved += worst_case_usd
            return True

    def hold(self, committed_usd: float) -> None:
        """Reserve budget for spending already committed (a resumed batch): taken even past the budget."""
        with self._lock:
            self._reserved += committed_usd

    def release(self, worst_case_usd: float) -> None:
        with self._lock:
            self._reserved = max(0.0, self._reserved - worst_case_usd)

    def record_answer(
        self,
        task: str,
        doc_id: Any,
        input_tokens: int,
        output_tokens: int,
        cached: bool,
        reasoning_tokens: int = 0,
        batch: bool = False,
        earlier: bool = False,
    ) -> None:
        """One answer: ``cached`` costs nothing; ``earlier``: a batch answer an earlier process paid for."""
        with self._lock:
            usage = self._task(task)
            if cached:
                usage.cached += 1
                usage.cached_input_tokens += input_tokens
                usage.cached_output_tokens += output_tokens
                self.per_request.append([task, doc_id, "cached", input_tokens, output_tokens, 0.0])
                return
            usage.sent += 1
            usage.batched += batch
            usage.input_tokens += input_tokens
            usage.output_tokens += output_tokens
            usage.reasoning_tokens += reasoning_tokens
            cost = self.price.cost(input_tokens, output_tokens, batch) if self.price is not None else 0.0
            usage.cost_usd += cost
            usage.earlier_cost_usd += cost if earlier else 0.0
            self.per_request.append([task, doc_id, "done", input_tokens, output_tokens, round(cost, 8)])

    def record_truncation(self, task: str, doc_id: Any, prompt_tokens: int, dropped_tokens: int) -> None:
        """One distinct request whose prompt was cut on the left to fit the context window."""
        with self._lock:
            self._task(task).truncated += 1
            self.truncations.append(
                {"task": task, "doc_id": doc_id, "prompt_tokens": prompt_tokens, "dropped_tokens": dropped_tokens}
            )

    def record_retry(self, task: str) -> None:
        with self._lock:
            self._task(task).retries += 1

    def record_failure(self, task: str, doc_id: Any, message: str, budget: bool = False) -> None:
        with self._lock:
            usage = self._task(task)
            if budget:
                usage.skipped_budget += 1
            else:
                usage.failed += 1
                self.failures.append({"task": task, "doc_id": doc_id, "error": message})
            self.per_request.append([task, doc_id, "skipped_budget" if budget else "failed", 0, 0, 0.0])

    def record_output_limit(
        self,
        task: str,
        doc_id: Any,
        message: str,
        input_tokens: int,
        output_tokens: int,
        reasoning_tokens: int,
        batch: bool = False,
        earlier: bool = False,
    ) -> None:
        """A reply without answer text because thinking used the output allowance: unanswered, but paid for."""
        with self._lock:
            usage = self._task(task)
            usage.output_limit += 1
            usage.input_tokens += input_tokens
            usage.output_tokens += output_tokens
            usage.reasoning_tokens += reasoning_tokens
            cost = self.price.cost(input_tokens, output_tokens, batch) if self.price is not None else 0.0
            usage.cost_usd += cost
            usage.earlier_cost_usd += cost if earlier else 0.0
            self.failures.append({"task": task, "doc_id": doc_id, "error": message, "reason": "output limit"})
            self.per_request.append([task, doc_id, "output_limit", input_tokens, output_tokens, round(cost, 8)])

    @property
    def spent(self) -> float:
        return sum(u.cost_usd for u in self.tasks.values())

    def total(self) -> Usage:
        with self._lock:
            out = Usage()
            for usage in self.tasks.values():
                out.add(usage)
            return out

    def report(self) -> dict[str, Any]:
        """JSON-ready usage: totals, per task, per request, price used, the first failure messages and the
        first truncated prompts."""
        total = self.total()
        with self._lock:
            return {
                "total": total.as_dict(),
                "per_task": {name: u.as_dict() for name, u in sorted(self.tasks.items())},
                "price_usd_per_mtok": asdict(self.price) if self.price else None,
                "max_cost_usd": self.max_cost_usd,
                "failures": self.failures[:50],
                "truncations": self.truncations[:50],
                "per_request_columns": ["task", "doc_id", "status", "input_tokens", "output_tokens", "cost_usd"],
                "per_request": list(self.per_request),
            }
