"""What each task and category reports, read from the scorer records
(:data:`meds_bench.metrics.scorers.SCORERS`) and the catalogue."""

from __future__ import annotations

from meds_bench.catalog import TaskInfo, tasks_in
from meds_bench.metrics.scorers import SCORERS, Scorer


def scorer_of(info: TaskInfo) -> Scorer:
    """The scorer record of a task."""
    return SCORERS[info.scorer]


def metrics_of(info: TaskInfo) -> tuple[tuple[str, str], ...]:
    """``(metric, aggregation)`` pairs a task reports."""
    return SCORERS[info.scorer].metrics


def group_metrics(category: str) -> tuple[str, ...]:
    """Metrics a category's groups average: those its tasks' scorers average, in catalogue order
    (each averaged over the tasks that have it)."""
    return tuple(dict.fromkeys(m for info in tasks_in(category) for m in SCORERS[info.scorer].averaged))
