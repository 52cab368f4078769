"""lm-eval entry points named in the task YAMLs (``!function meds_bench.metrics.hooks.<name>``).

One ``process_results`` hook per scorer record (``hooks.mcqa``, ``hooks.text``, ...: the scorer a
task's catalogue row names; built on first access) scores one generated answer; the
``micro_*``/``macro_*`` functions aggregate the per-document counts of NER and HoC into
corpus-level figures. ``meds-bench score`` calls the same
scorers, so rescored numbers equal the harness's. Importing this module changes nothing in lm-eval:
the bootstrap standard errors of those aggregations are installed by the task class
(:func:`meds_bench.metrics.uncertainty.install_stderr`, called in ``MedSBenchTask.__init__``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from meds_bench.catalog import get_task
from meds_bench.metrics.closed_set import gold_string
from meds_bench.metrics.hoc import macro_scores
from meds_bench.metrics.ner import micro_scores
from meds_bench.metrics.scorers import SCORERS


def prediction_of(results: Any) -> Any:
    """The generated string of an lm-eval ``results``/``filtered_resps`` entry (first element of a list)."""
    while isinstance(results, (list, tuple)):
        if not results:
            return None
        results = results[0]
    return results


@cache
def _hook(scorer: str) -> Callable[[dict[str, Any], Sequence[Any]], dict[str, Any]]:
    score = SCORERS[scorer].score

    def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, Any]:
        """Metric values of one document; closed-set scorers add the answer read as ``extracted``,
        which ``--log_samples`` writes into each sample."""
        question = doc.get("input") if isinstance(doc.get("input"), str) else ""
        return score(get_task(doc["task"]), prediction_of(results), gold_string(doc), question)

    process_results.__name__ = process_results.__qualname__ = scorer
    return process_results


def __getattr__(name: str) -> Callable[[dict[str, Any], Sequence[Any]], dict[str, Any]]:
    """The ``process_results`` hook of the scorer ``name`` (one per record of ``SCORERS``)."""
    if name not in SCORERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _hook(name)


def answered(items: Sequence[str]) -> float:
    """Share (0-100) of documents from whose prediction an answer was read (closed-set tasks log
    that answer per sample as ``extracted``; "" when none)."""
    return 100.0 * sum(1 for item in items if item) / len(items) if items else 0.0


def micro_precision(items: Sequence[Sequence[int]]) -> float:
    """NER micro precision (0-100) from per-document ``[tp, fp, fn]``."""
    return micro_scores(items)[0]


def micro_recall(items: Sequence[Sequence[int]]) -> float:
    """NER micro recall (0-100) from per-document ``[tp, fp, fn]``."""
    return micro_scores(items)[1]


def micro_f1(items: Sequence[Sequence[int]]) -> float:
    """NER micro F1 (0-100) from per-document ``[tp, fp, fn]``."""
    return micro_scores(items)[2]


def macro_precision(items: Sequence[Sequence[Sequence[int]]]) -> float:
    """HoC macro precision (0-100) from per-document label vectors."""
    return macro_scores(items)[0]


def macro_recall(items: Sequence[Sequence[Sequence[int]]]) -> float:
    """HoC macro recall (0-100) from per-document label vectors."""
    return macro_scores(items)[1]


def macro_f1(items: Sequence[Sequence[Sequence[int]]]) -> float:
    """HoC macro F1 (0-100) from per-document label vectors."""
    return macro_scores(items)[2]
