"""The requests that got no answer, per task and status (read by ``meds-bench eval`` to name them and
exit non-zero).

Who owns the count: each adapter instance takes the tally current when it is made and adds to that one
only. :func:`evaluation` makes a fresh tally current for one evaluation (``meds-bench eval`` runs lm-eval
inside it), so two evaluations in one process never mix their counts and nobody resets anything.
Outside any :func:`evaluation` (a script or a test making adapters itself) the current tally is
:data:`PROCESS_TALLY`, which sums the whole process; read it with :func:`failed_requests`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from meds_bench.api_status import UNANSWERED  # the statuses of a request without answer text


class FailureTally:
    """Unanswered requests per task and status, summed over the adapter instances that add to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()  # (task, status) -> requests

    def add(self, task: str, **counts: int) -> None:
        with self._lock:
            self._counts.update({(task, status): n for status, n in counts.items()})

    def snapshot(self) -> dict[str, int]:
        """Requests per status (``failed``, ``output_limit``, ``skipped_budget``), all tasks together."""
        with self._lock:
            return {name: sum(n for (_, s), n in self._counts.items() if s == name) for name in UNANSWERED}

    def per_task(self) -> dict[str, int]:
        """Unanswered requests per task (tasks with none left out), in task-name order."""
        with self._lock:
            totals: Counter[str] = Counter()
            for (task, _), n in self._counts.items():
                totals[task] += n
            return {task: n for task, n in sorted(totals.items()) if n}

    def reset(self) -> None:
        """Clear the counts."""
        with self._lock:
            self._counts.clear()


PROCESS_TALLY = FailureTally()  # the tally of adapters made outside any evaluation()
_CURRENT: ContextVar[FailureTally] = ContextVar("meds_bench_adapters_tally", default=PROCESS_TALLY)


def current_tally() -> FailureTally:
    """The tally an adapter made now adds to: that of the enclosing :func:`evaluation`, else ``PROCESS_TALLY``."""
    return _CURRENT.get()


@contextmanager
def evaluation() -> Iterator[FailureTally]:
    """A fresh tally, current for the block: the adapters made inside it count their unanswered requests
    there (and only there). Yields the tally."""
    tally = FailureTally()
    token = _CURRENT.set(tally)
    try:
        yield tally
    finally:
        _CURRENT.reset(token)


def failed_requests() -> dict[str, int]:
    """Counts of requests that got no answer, from the current tally (see the module docstring)."""
    return current_tally().snapshot()
