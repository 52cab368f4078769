"""Which scorer and which metrics each task has, and scoring of one document. The lm-eval hook
(:mod:`meds_bench.metrics.hooks`) and ``meds-bench score`` both call :func:`score_doc`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meds_bench.catalog import TaskInfo, get_task
from meds_bench.metrics import closed_set, hoc, ner
from meds_bench.metrics.table import kind_of
from meds_bench.metrics.text_similarity import text_scores


def score_prediction(info: TaskInfo, prediction: Any, gold: str, question: str = "") -> dict[str, Any]:
    """Per-document metric values of one prediction (0-100, or counts for corpus-level metrics)."""
    kind, tid = kind_of(info), info.task_id
    if kind == "text":
        # The original stripped both sides for the rationale tasks only (SPEC B2).
        return text_scores(prediction, gold, info.language, strip=info.category == "rationale")
    if kind == "text_ebms":
        scores = text_scores(prediction, gold, info.language)
        # The original stripped and lower-cased both sides and deleted periods from the gold only (SPEC B2).
        low = prediction.lower() if isinstance(prediction, str) else prediction
        paper = text_scores(low, gold.replace(".", "").lower(), info.language, strip=True)
        return {**scores, "bleu1_paper": paper["bleu1"], "rougeL_paper": paper["rougeL"]}
    if kind == "mcqa":
        return closed_set.mcqa_scores(prediction, gold, question, tid)
    if kind == "ie":
        return closed_set.ie_scores(prediction, gold)
    if kind == "ner":
        return ner.ner_counts(prediction, gold)
    if kind == "hoc":
        return hoc.hoc_items(prediction, gold)
    if info.category == "diagnosis":
        return closed_set.diagnosis_scores(prediction, gold)
    if info.category == "treatment":
        return closed_set.treatment_scores(prediction, gold)
    if info.category == "outcome":
        return closed_set.outcome_scores(prediction, gold)
    if tid == 12:
        return closed_set.factver_label_scores(prediction, gold, closed_set.YES_NO)
    if tid == 16:
        return closed_set.factver_label_scores(prediction, gold, closed_set.HEALTHFACT_LABELS)
    if tid == 41:
        return closed_set.nli_scores(prediction, gold)
    raise KeyError(f"no scorer for {info.name}")


def score_doc(doc: Mapping[str, Any], prediction: Any, task: str | TaskInfo | None = None) -> dict[str, Any]:
    """Per-document metric values of ``prediction`` for an lm-eval doc (fields ``task``, ``output``
    or ``references``, ``input``)."""
    info = task if isinstance(task, TaskInfo) else get_task(task or doc["task"])
    question = doc.get("input") or ""
    return score_prediction(
        info, prediction, closed_set.gold_string(doc), question if isinstance(question, str) else ""
    )
