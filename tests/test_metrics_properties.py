"""Property tests: no prediction string crashes a scorer, and every score lies in [0, 100]."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meds_bench import sample_data_path
from meds_bench.catalog import TASKS
from meds_bench.data import load_task
from meds_bench.metrics import hooks
from meds_bench.metrics.rescore import _aggregation
from meds_bench.metrics.scorers import score_doc
from meds_bench.metrics.table import metrics_of

DOCS = {info.name: {**load_task(info, data_dir=str(sample_data_path())).docs[0], "task": info.name} for info in TASKS}

# Text with the characters the parsers care about: option letters, labels, separators, CJK, dots.
_pieces = st.sampled_from(
    ["A", "B", "E", "(", ")", ":", ".", ",", ", ", " ", "\n", "yes", "no", "True", "not", "答案是", "正しい答えは",
     "Entailment", "Bronchitis", "There is no related enetity", "Inducing angiogenesis", "1", "。", "é", "ж"]
)  # fmt: skip
predictions = st.one_of(
    st.text(max_size=80), st.lists(_pieces, max_size=25).map("".join), st.none(), st.just(float("nan"))
)


def _check(values: dict, info) -> None:
    assert set(values) == {m for m, _ in metrics_of(info)}
    for metric, agg in metrics_of(info):
        score = _aggregation(agg)([values[metric]])
        assert 0.0 <= score <= 100.0 + 1e-9 and not math.isnan(score), (info.name, metric, score)


@pytest.mark.parametrize("info", TASKS, ids=lambda t: t.name)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prediction=predictions)
def test_any_prediction_scores_within_0_100(info, prediction):
    _check(score_doc(DOCS[info.name], prediction), info)


@settings(max_examples=60, deadline=None)
@given(prediction=st.text(max_size=60), reference=st.text(max_size=60), index=st.integers(0, len(TASKS) - 1))
def test_any_reference_scores_within_0_100(prediction, reference, index):
    info = TASKS[index]
    doc = {"task": info.name, "output": reference, "references": [reference], "input": ""}
    _check(getattr(hooks, info.scorer)(doc, [prediction]), info)


def test_gold_scores_full_marks_on_every_task():
    for info in TASKS:
        if info.category == "classification":  # one document: 8 hallmarks without gold score 0 (zero_division=0)
            continue
        doc = DOCS[info.name]
        gold = doc["references"][0]
        values = score_doc(doc, gold)
        for metric, agg in metrics_of(info):
            if metric != "acc_paper" and not metric.endswith("_paper"):
                assert _aggregation(agg)([values[metric]]) == pytest.approx(100.0, abs=1e-4), (info.name, metric)
