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

TEXT = (("bleu1", MEAN), ("rougeL", MEAN), ("rouge1", MEAN))
CLOSED_SET = (("acc", MEAN), ("acc_paper", MEAN), ("extracted", ANSWERED))

# Scorer (the catalogue's ``TaskInfo.scorer``) -> ((metric, aggregation), ...): aggregation
# "mean" or a dotted hook path. The scoring functions are in meds_bench.metrics.scorers.
SCORER_METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "mcqa": CLOSED_SET,
    "yes_no_maybe": CLOSED_SET,
    "prefixed_label": CLOSED_SET,
    "label": CLOSED_SET,
    "nli": CLOSED_SET,
    "outcome": CLOSED_SET,
    "text": TEXT,
    "text_stripped": TEXT,
    "text_ebms": (*TEXT, ("bleu1_paper", MEAN), ("rougeL_paper", MEAN)),
    "ie": (("contains_paper", MEAN), ("exact_match", MEAN)),
    "ner": tuple(NER_AGG.items()),
    "hoc": tuple(HOC_AGG.items()),
}
# Scorers of one-line answers: generation also stops at a blank line.
ONE_LINE_SCORERS = frozenset({"mcqa", "yes_no_maybe", "prefixed_label", "label", "nli", "outcome", "ner", "hoc"})


def hook(scorer: str) -> str:
    """Dotted path of the lm-eval ``process_results`` hook of a scorer."""
    return f"meds_bench.metrics.hooks.{scorer}"


def metrics_of(info: TaskInfo) -> tuple[tuple[str, str], ...]:
    """``(metric, aggregation)`` pairs a task reports."""
    return SCORER_METRICS[info.scorer]
