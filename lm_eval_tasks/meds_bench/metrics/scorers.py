"""The scorers: one record per way of scoring an output (its function, metrics, aggregations,
direction, group and report metrics). Every other module reads these records: the lm-eval hooks
(:mod:`meds_bench.metrics.hooks`), the task and group YAMLs, ``meds-bench score`` and the report.

Adding a scorer is adding one record to ``SCORERS`` and naming it in a catalogue row. This module
stays light on imports (config generation and ``meds-bench list`` read it): the BLEU/ROUGE and HoC
modules, which pull in nltk and scikit-learn, are imported when a first output is scored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from meds_bench.catalog import TaskInfo, get_task
from meds_bench.metrics import closed_set, ner

ScoreFn = Callable[[TaskInfo, Any, str, str], dict[str, Any]]

MEAN = "mean"
HOOKS = "meds_bench.metrics.hooks"
# Closed-set tasks log the answer read from each output as ``extracted``; its aggregate is the
# share of outputs an answer could be read from.
ANSWERED = f"{HOOKS}.answered"


@dataclass(frozen=True)
class Scorer:
    """How one output of a task is scored, aggregated and shown.

    ``score(info, prediction, gold, question)`` returns ``{metric: per-document value}`` for exactly
    the names of ``metrics``, whose aggregation is ``"mean"`` or the dotted path of a corpus-level
    hook. ``averaged``: the metrics a category group averages over its tasks. ``columns``: the
    report's columns of one task, ``(label, metrics)`` each (label ``""``: the task's name); the
    last column's metrics are the task's headline, its last metric the one number summarising it.
    ``one_line``: answers are one line, so generation also stops at a blank line. ``proportions``: the
    metrics whose per-document value is 0 or 100, so that a task's value is the share of right documents.
    ``tokenizes``: it tokenizes both texts (BLEU/ROUGE), so a document costs time in proportion to
    their length (``meds-bench score`` splits its work by that cost).
    """

    name: str
    score: ScoreFn
    metrics: tuple[tuple[str, str], ...]
    averaged: tuple[str, ...]
    columns: tuple[tuple[str, tuple[str, ...]], ...]
    one_line: bool = False
    higher_is_better: bool = True
    proportions: tuple[str, ...] = ()
    tokenizes: bool = False

    @property
    def hook(self) -> str:
        """Dotted path of its lm-eval ``process_results`` hook."""
        return f"{HOOKS}.{self.name}"

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Names of the metrics it reports, in order."""
        return tuple(metric for metric, _ in self.metrics)


def _text_scores(prediction: Any, gold: str, language: str, strip: bool = False) -> dict[str, float]:
    from meds_bench.metrics.text_similarity import text_scores

    return text_scores(prediction, gold, language, strip=strip)


def _text_ebms(info: TaskInfo, prediction: Any, gold: str, question: str) -> dict[str, Any]:
    scores = _text_scores(prediction, gold, info.language)
    # The original stripped and lower-cased both sides and deleted periods from the gold only (SPEC B2).
    low = prediction.lower() if isinstance(prediction, str) else prediction
    paper = _text_scores(low, gold.replace(".", "").lower(), info.language, strip=True)
    return {**scores, "bleu1_paper": paper["bleu1"], "rougeL_paper": paper["rougeL"]}


def _hoc(info: TaskInfo, prediction: Any, gold: str, question: str) -> dict[str, Any]:
    from meds_bench.metrics.hoc import hoc_items

    return hoc_items(prediction, gold)


ACC = ("acc", "acc_paper")
TEXT = ("bleu1", "rougeL", "rouge1")
TEXT_COLUMNS = (("", ("bleu1", "rougeL")),)


def _closed_set(name: str, score: ScoreFn) -> Scorer:
    return Scorer(
        name,
        score,
        ((ACC[0], MEAN), (ACC[1], MEAN), ("extracted", ANSWERED)),
        averaged=ACC,
        columns=(("", ("acc",)),),
        one_line=True,
        proportions=ACC,
    )


def _text(name: str, score: ScoreFn, paper: tuple[str, ...] = ()) -> Scorer:
    metrics = tuple((m, MEAN) for m in (*TEXT, *paper))
    return Scorer(name, score, metrics, averaged=TEXT, columns=TEXT_COLUMNS, tokenizes=True)


NER_METRICS = ("f1", "precision", "recall", "f1_paper")
HOC_METRICS = tuple(f"macro_{stat}{suffix}" for suffix in ("", "_paper") for stat in ("f1", "precision", "recall"))

_RECORDS = (
    _closed_set("mcqa", lambda info, p, gold, question: closed_set.mcqa_scores(p, gold, question)),
    _closed_set("yes_no_maybe", lambda info, p, gold, question: closed_set.yes_no_maybe_scores(p, gold)),
    _closed_set(
        "prefixed_label",
        lambda info, p, gold, question: closed_set.prefixed_label_scores(p, gold, info.answer_prefix, info.labels),
    ),
    _closed_set("label", lambda info, p, gold, question: closed_set.factver_label_scores(p, gold, info.labels)),
    _closed_set("nli", lambda info, p, gold, question: closed_set.nli_scores(p, gold, info.labels)),
    _closed_set("outcome", lambda info, p, gold, question: closed_set.outcome_scores(p, gold)),
    _text("text", lambda info, p, gold, question: _text_scores(p, gold, info.language)),
    # The original stripped both sides for the rationale tasks only (SPEC B2).
    _text("text_stripped", lambda info, p, gold, question: _text_scores(p, gold, info.language, strip=True)),
    _text("text_ebms", _text_ebms, paper=("bleu1_paper", "rougeL_paper")),
    Scorer(
        "ie",
        lambda info, p, gold, question: closed_set.ie_scores(p, gold),
        (("contains_paper", MEAN), ("exact_match", MEAN)),
        averaged=("contains_paper", "exact_match"),
        columns=(("", ("contains_paper",)),),
        proportions=("contains_paper", "exact_match"),
    ),
    Scorer(
        "ner",
        lambda info, p, gold, question: ner.ner_counts(p, gold),
        # Per-document [tp, fp, fn] counts, pooled into corpus-level (micro) figures.
        tuple((m, f"{HOOKS}.micro_{m.removesuffix('_paper')}") for m in NER_METRICS),
        averaged=NER_METRICS,
        columns=(("", ("f1",)),),
        one_line=True,
    ),
    Scorer(
        "hoc",
        _hoc,
        # Per-document label vectors, pooled into macro figures over the ten hallmarks.
        tuple((m, f"{HOOKS}.{m.removesuffix('_paper')}") for m in HOC_METRICS),
        averaged=HOC_METRICS,
        columns=(
            ("macro-P", ("macro_precision",)),
            ("macro-R", ("macro_recall",)),
            ("macro-F1", ("macro_f1",)),
        ),
        one_line=True,
    ),
)
# Scorer name (``TaskInfo.scorer``) -> its record.
SCORERS: dict[str, Scorer] = {record.name: record for record in _RECORDS}


def score_prediction(info: TaskInfo, prediction: Any, gold: str, question: str = "") -> dict[str, Any]:
    """Per-document metric values of one prediction (0-100, or counts for corpus-level metrics)."""
    return SCORERS[info.scorer].score(info, prediction, gold, question)


def score_doc(doc: Mapping[str, Any], prediction: Any, task: str | TaskInfo | None = None) -> dict[str, Any]:
    """Per-document metric values of ``prediction`` for an lm-eval doc (fields ``task``, ``output``
    or ``references``, ``input``)."""
    info = task if isinstance(task, TaskInfo) else get_task(task or doc["task"])
    question = doc.get("input") or ""
    return score_prediction(
        info, prediction, closed_set.gold_string(doc), question if isinstance(question, str) else ""
    )
