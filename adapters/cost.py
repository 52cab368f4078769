"""Token usage and dollar accounting: price table, per-task ledger, budget and dry-run estimates.

Prices are USD per million tokens, read from the package's ``prices.json``; a user file (model
arg ``prices=PATH`` or env ``MEDS_BENCH_PRICES``) replaces or adds entries. A row's ``batch_input`` /
``batch_output`` are the providers' batch-interface rates; a row without them gets half the list price.
Model names match the longest listed prefix. The ledger is thread-safe; the budget reserves each request's worst-case
cost (estimated input + its full output-token limit) before it is sent, so concurrent requests
cannot overshoot ``max_cost_usd``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

PRICES_ENV = "MEDS_BENCH_PRICES"


BATCH_DISCOUNT = 0.5  # both providers' batch interfaces bill half the list price


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens, synchronous and through the batch interface."""

    input: float
    output: float
    batch_input: float | None = None  # None: ``BATCH_DISCOUNT`` of ``input``
    batch_output: float | None = None

    def cost(self, input_tokens: int, output_tokens: int, batch: bool = False) -> float:
        """USD of the tokens at the synchronous rates, or at the batch rates when ``batch``."""
        if not batch:
            return (input_tokens * self.input + output_tokens * self.output) / 1e6
        rate_in = self.input * BATCH_DISCOUNT if self.batch_input is None else self.batch_input
        rate_out = self.output * BATCH_DISCOUNT if self.batch_output is None else self.batch_output
        return (input_tokens * rate_in + output_tokens * rate_out) / 1e6

    def side_by_side(self, input_tokens: int, output_tokens: int) -> str:
        """``sync $X / batch $Y``: what the tokens cost through each interface."""
        sync, batch = self.cost(input_tokens, output_tokens), self.cost(input_tokens, output_tokens, batch=True)
        return f"sync ${sync:.4f} / batch ${batch:.4f}"


def _price(row: dict[str, Any]) -> Price:
    optional = {k: float(row[k]) for k in ("batch_input", "batch_output") if row.get(k) is not None}
    return Price(float(row["input"]), float(row["output"]), **optional)


def load_prices(override: str | Path | None = None) -> dict[str, Price]:
    """The bundled price table, updated with ``override`` (or ``$MEDS_BENCH_PRICES``) when given."""
    raw = json.loads(resources.files(__package__).joinpath("prices.json").read_text(encoding="utf-8"))["models"]
    path = override or os.environ.get(PRICES_ENV)
    if path:
        user = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
        raw.update(user.get("models", user))
    return {name: _price(p) for name, p in raw.items() if isinstance(p, dict)}


def longest_prefix(model: str, names: Iterable[str]) -> str | None:
    """The entry of ``names`` equal to ``model``, else the longest one ``model`` starts with; None if none."""
    matches = [name for name in names if model.startswith(name)]
    return max(matches, key=len) if matches else None


def price_for(model: str, prices: dict[str, Price]) -> Price | None:
    """Price of ``model`` by exact name, else by the longest matching prefix; None if unknown."""
    name = longest_prefix(model, prices)
    return prices[name] if name is not None else None


def estimate_tokens(text: str) -> int:
    """Rough token count without a tokenizer: ~4 characters per token for Latin text, 1 per CJK character."""
    cjk = sum(1 for ch in text if ord(ch) >= 0x2E80)
    return max(1, (len(text) - cjk + 3) // 4 + cjk)


@dataclass
class Usage:
    """Counts for one task (or the whole run)."""

    requests: int = 0
    sent: int = 0
    cached: int = 0
    failed: int = 0
    skipped_budget: int = 0
    truncated: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cached_input_tokens: int = 0
    cached_output_tokens: int = 0
    batched: int = 0  # of ``sent``: answers received through a batch, priced at the batch rates

    def add(self, other: Usage) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cost_usd"] = round(self.cost_usd, 6)
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

    def release(self, worst_case_usd: float) -> None:
        with self._lock:
            self._reserved = max(0.0, self._reserved - worst_case_usd)

    def record_answer(
        self, task: str, doc_id: Any, input_tokens: int, output_tokens: int, cached: bool, batch: bool = False
    ) -> None:
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
            cost = self.price.cost(input_tokens, output_tokens, batch) if self.price is not None else 0.0
            usage.cost_usd += cost
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
