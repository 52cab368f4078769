"""Scoring one output of a task, by the scorer its catalogue row names. The lm-eval hooks
(:mod:`meds_bench.metrics.hooks`) and ``meds-bench score`` both call :func:`score_prediction`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from meds_bench.catalog import TaskInfo, get_task
from meds_bench.metrics import closed_set, hoc, ner
from meds_bench.metrics.text_similarity import text_scores

Scorer = Callable[[TaskInfo, Any, str, str], dict[str, Any]]


def _text_ebms(info: TaskInfo, prediction: Any, gold: str, question: str) -> dict[str, Any]:
    scores = text_scores(prediction, gold, info.language)
    # The original stripped and lower-cased both sides and deleted periods from the gold only (SPEC B2).
    low = prediction.lower() if isinstance(prediction, str) else prediction
    paper = text_scores(low, gold.replace(".", "").lower(), info.language, strip=True)
    return {**scores, "bleu1_paper": paper["bleu1"], "rougeL_paper": paper["rougeL"]}


# Scorer name (``TaskInfo.scorer``) -> function(info, prediction, gold, question) -> {metric: value}.
# Metric names and aggregations of each are in meds_bench.metrics.table.SCORER_METRICS.
SCORERS: dict[str, Scorer] = {
    "mcqa": lambda info, p, gold, question: closed_set.mcqa_scores(p, gold, question),
    "yes_no_maybe": lambda info, p, gold, question: closed_set.yes_no_maybe_scores(p, gold),
    "prefixed_label": lambda info, p, gold, question: closed_set.prefixed_label_scores(
        p, gold, info.answer_prefix, info.labels
    ),
    "label": lambda info, p, gold, question: closed_set.factver_label_scores(p, gold, info.labels),
    "nli": lambda info, p, gold, question: closed_set.nli_scores(p, gold, info.labels),
    "outcome": lambda info, p, gold, question: closed_set.outcome_scores(p, gold),
    "text": lambda info, p, gold, question: text_scores(p, gold, info.language),
    # The original stripped both sides for the rationale tasks only (SPEC B2).
    "text_stripped": lambda info, p, gold, question: text_scores(p, gold, info.language, strip=True),
    "text_ebms": _text_ebms,
    "ie": lambda info, p, gold, question: closed_set.ie_scores(p, gold),
    "ner": lambda info, p, gold, question: ner.ner_counts(p, gold),
    "hoc": lambda info, p, gold, question: hoc.hoc_items(p, gold),
}


def score_prediction(info: TaskInfo, prediction: Any, gold: str, question: str = "") -> dict[str, Any]:
    """Per-document metric values of one prediction (0-100, or counts for corpus-level metrics)."""
    return SCORERS[info.scorer](info, prediction, gold, question)


def score_doc(doc: Mapping[str, Any], prediction: Any, task: str | TaskInfo | None = None) -> dict[str, Any]:
    """Per-document metric values of ``prediction`` for an lm-eval doc (fields ``task``, ``output``
    or ``references``, ``input``)."""
    info = task if isinstance(task, TaskInfo) else get_task(task or doc["task"])
    question = doc.get("input") or ""
    return score_prediction(
        info, prediction, closed_set.gold_string(doc), question if isinstance(question, str) else ""
    )
