"""The metric table: which scorer kind each task uses and which metrics (with aggregations) it
reports. Light on imports so that config generation and ``meds-bench list`` stay fast."""

from __future__ import annotations

from meds_bench.catalog import TaskInfo

MEAN = "mean"
# Closed-set tasks log the answer read from each output as ``extracted``; its aggregate is the
# share of outputs an answer could be read from.
ANSWERED = "meds_bench.metrics.hooks.answered"
NER_AGG = {
    "f1": "meds_bench.metrics.hooks.micro_f1",
    "precision": "meds_bench.metrics.hooks.micro_precision",
    "recall": "meds_bench.metrics.hooks.micro_recall",
    "f1_paper": "meds_bench.metrics.hooks.micro_f1",
}
HOC_AGG = {
    f"macro_{stat}{suffix}": f"meds_bench.metrics.hooks.macro_{stat}"
    for suffix in ("", "_paper")
    for stat in ("f1", "precision", "recall")
}

# Scorer kind -> ((metric, aggregation), ...): aggregation "mean" or a dotted hook path.
KIND_METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "mcqa": (("acc", MEAN), ("acc_paper", MEAN), ("extracted", ANSWERED)),
    "label": (("acc", MEAN), ("acc_paper", MEAN), ("extracted", ANSWERED)),
    "text": (("bleu1", MEAN), ("rougeL", MEAN), ("rouge1", MEAN)),
    "text_ebms": (("bleu1", MEAN), ("rougeL", MEAN), ("rouge1", MEAN), ("bleu1_paper", MEAN), ("rougeL_paper", MEAN)),
    "ie": (("contains_paper", MEAN), ("exact_match", MEAN)),
    "ner": tuple(NER_AGG.items()),
    "hoc": tuple(HOC_AGG.items()),
}
CATEGORY_KIND = {
    "mcqa": "mcqa",
    "rationale": "text",
    "explanation": "text",
    "ie": "ie",
    "ner": "ner",
    "diagnosis": "label",
    "treatment": "label",
    "outcome": "label",
    "classification": "hoc",
    "factver": "label",
    "nli": "label",
    "summarization": "text",
}
# Tasks whose scorer differs from their category's: free-text tasks inside closed-set categories.
TASK_KIND = {100: "text_ebms", 42: "text"}


HOOK = "meds_bench.metrics.hooks.process_results"


def kind_of(info: TaskInfo) -> str:
    """Scorer kind of a task."""
    return TASK_KIND.get(info.task_id, CATEGORY_KIND[info.category])


def metrics_of(info: TaskInfo) -> tuple[tuple[str, str], ...]:
    """``(metric, aggregation)`` pairs a task reports."""
    return KIND_METRICS[kind_of(info)]
