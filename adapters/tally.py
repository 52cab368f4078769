"""The requests of this process that got no answer, per task and status (read by ``meds-bench eval``
to name them and exit non-zero)."""

from __future__ import annotations

import threading
from collections import Counter

from meds_bench.api_status import UNANSWERED  # the statuses of a request without answer text


class FailureTally:
    """Unanswered requests per task and status, summed over the adapter instances that add to it;
    :meth:`reset` clears it for a new run."""

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
        with self._lock:
            self._counts.clear()


PROCESS_TALLY = FailureTally()


def failed_requests() -> dict[str, int]:
    """Counts of requests that got no answer in this process, across all adapter instances."""
    return PROCESS_TALLY.snapshot()
