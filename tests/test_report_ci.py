"""Confidence intervals in the report: task cells and category scores as ``x ± half-width`` (the CI
of the paper's unweighted task mean), pooled CT/MRI groups, error bars on the category chart, and
Wilson intervals for accuracies (every interval inside [0, 100])."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from report_fixtures import MCQA, NER, write_run

from meds_bench.catalog import CATEGORIES, SUMMARIZATION_POOLED_GROUPS, get_task, tasks_in
from meds_bench.metrics.uncertainty import Z95, proportion_interval
from meds_bench.report.runs import load_run
from meds_bench.report.tables import RunScores, columns, summary_table, task_column


def _with_stderr(path: Path, stderr: dict[str, dict[str, float]]) -> Path:
    raw = json.loads(path.read_text())
    for task, errors in stderr.items():
        raw["results"][task].update({f"{m}_stderr,none": v for m, v in errors.items()})
    path.write_text(json.dumps(raw))
    return path


def _ner_run(tmp_path: Path, stderr: float | None = 2.0) -> RunScores:
    scores = {name: {"f1": f1, "precision": 50.0, "recall": 50.0, "f1_paper": 1.0} for name, f1 in
              zip(NER, (50.0, 60.0, 70.0, 80.0), strict=True)}  # fmt: skip
    scores["meds_bench_classification_hoc"] = {"macro_f1": 40.0, "macro_precision": 30.0, "macro_recall": 20.0}
    path = write_run(tmp_path, "m", scores)
    if stderr is not None:
        errors = {name: {"f1": stderr} for name in NER} | {"meds_bench_classification_hoc": {"macro_f1": 3.0}}
        _with_stderr(path, errors)
    return RunScores(load_run(path))


def test_category_ci_is_that_of_the_unweighted_task_mean(tmp_path):
    scores = _ner_run(tmp_path)
    # four tasks with se 2: se of the mean = sqrt(4 * 2**2) / 4 = 1, half-width 1.96
    assert scores.category_ci("ner") == (pytest.approx(65.0), pytest.approx(Z95 * 1.0))
    assert scores.category_ci("classification") == (40.0, pytest.approx(Z95 * 3.0))
    row = summary_table([scores]).rows[0]
    assert "65.00 ± 1.96" in row and "40.00 ± 5.88" in row
    # the mean of the two complete categories: sqrt(1.96^2 + 5.88^2) / 2
    assert row[1] == f"52.50 ± {math.sqrt((Z95 * 1.0) ** 2 + (Z95 * 3.0) ** 2) / 2:.2f} (2/12)"
    task_cell = scores.cell(columns("ner")[0])
    assert task_cell.text == "50.00 ± 3.92" and task_cell.half_widths == pytest.approx((Z95 * 2.0,))


def test_without_stderr_the_cells_are_plain_values(tmp_path):
    scores = _ner_run(tmp_path, stderr=None)
    assert scores.category_ci("ner") == (pytest.approx(65.0), None)
    assert scores.cell(columns("ner")[-1]).text == "65.00"


def test_pooled_ct_group_gets_the_pooled_stderr(tmp_path):
    ct = [t.name for t in tasks_in("summarization") if t.name in _members(SUMMARIZATION_POOLED_GROUPS["ct"])]
    path = write_run(tmp_path, "s", {name: {"bleu1": 10.0, "rougeL": 20.0, "rouge1": 30.0} for name in ct}, n=10)
    _with_stderr(path, {name: {"bleu1": 1.0, "rougeL": 2.0, "rouge1": 3.0} for name in ct})
    scores = RunScores(load_run(path))
    (col,) = [c for c in columns("summarization") if c.key == SUMMARIZATION_POOLED_GROUPS["ct"]]
    cell = scores.cell(col)
    # lm-eval's pooled_sample_stderr: sqrt(sum_i (n_i - 1) * se_i**2 * n_i / (N - k) / N), N = k * n
    k, n = len(ct), 10
    pooled = lambda se: math.sqrt(k * (n - 1) * se**2 * n / (k * n - k) / (k * n))  # noqa: E731
    assert cell.half_widths == pytest.approx((Z95 * pooled(1.0), Z95 * pooled(2.0)))
    assert cell.text.startswith("10.00/20.00 ± ")


def _members(group: str) -> list[str]:
    from meds_bench.metrics.rescore import load_groups

    return next(g["task"] for g in load_groups() if g["group"] == group)


def test_category_chart_draws_error_bars(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    from meds_bench.report import charts

    drawn = []
    original = Axes.errorbar
    monkeypatch.setattr(
        Axes,
        "errorbar",
        lambda self, x, y, yerr=None, **kw: drawn.append(list(yerr)) or original(self, x, y, yerr=yerr, **kw),
    )
    charts.category_chart([_ner_run(tmp_path)], tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    assert drawn == [[pytest.approx(Z95 * 1.0), pytest.approx(Z95 * 3.0)]]  # NER, classification


def test_wilson_interval_by_hand():
    z2 = Z95**2
    # 0 of 5 right: the Wilson upper bound is z^2 / (n + z^2) = 3.8415 / 8.8415
    assert 100 * z2 / (5 + z2) == pytest.approx(43.45, abs=0.005)
    assert proportion_interval(0.0, 5) == (0.0, pytest.approx(100 * z2 / (5 + z2)))
    assert proportion_interval(100.0, 5) == (pytest.approx(100 - 100 * z2 / (5 + z2)), 100.0)
    # 2 of 5: centre (p + z^2/2n) / (1 + z^2/n), half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)
    p, n = 0.4, 5
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    assert proportion_interval(40.0, 5) == (pytest.approx(100 * (centre - half)), pytest.approx(100 * (centre + half)))
    assert proportion_interval(33.0, 5) is None  # not a whole number of documents


def test_accuracies_get_wilson_intervals_and_no_interval_leaves_0_100(tmp_path):
    scores = {name: {"acc": 0.0, "acc_paper": 0.0} for name in MCQA}
    scores |= {name: {"f1": 60.0} for name in NER}
    scores |= {"meds_bench_diagnosis_ddxplus": {"acc": 0.0}, "meds_bench_treatment_seer": {"acc": 100.0}}
    scores |= {"meds_bench_factver_pubmedqa": {"acc": 40.0}}
    # lm-eval's standard error of an all-0 or all-100 column is 0: the normal interval would have no width
    path = write_run(tmp_path, "m", scores, n=5, stderr=0.0)
    _with_stderr(path, {name: {"f1": 40.0} for name in NER})  # normal interval 60 ± 78.4
    run = load_run(path)
    assert run.tasks[MCQA[0]].stderr == {"acc": 0.0, "acc_paper": 0.0}, "lm-eval's stderr is read as it is"
    s = RunScores(run)
    assert s.cell(columns("mcqa")[0]).text == "0.00 [0.00, 43.45]"
    assert s.cell(columns("treatment")[0]).text == "100.00 [56.55, 100.00]"
    assert s.cell(task_column(get_task("task12"))).text == "40.00 [11.76, 76.93]"
    assert s.cell(columns("ner")[0]).text == "60.00 [0.00, 100.00]"
    # the MCQA average of eight 0/5 tasks: se_i = 43.45 / (2 * 1.96) each, sqrt(8 se_i^2) / 8
    upper = Z95 * math.sqrt(8) * (100 * Z95**2 / (5 + Z95**2) / (2 * Z95)) / 8
    assert s.cell(columns("mcqa")[-1]).intervals == ((0.0, pytest.approx(upper)),)
    summary = summary_table([s]).rows[0]
    assert summary[2] == f"0.00 [0.00, {upper:.2f}]" and summary[7] == "0.00 [0.00, 43.45]"
    assert "Wilson" in summary_table([s]).note
    shown = [s.cell(c).intervals for cat in CATEGORIES for c in columns(cat)]
    shown += [s.category_interval(cat) for cat in CATEGORIES]
    bounds = [b for cell in shown if cell for interval in cell for b in interval]
    assert len(bounds) > 20 and all(0.0 <= b <= 100.0 for b in bounds)
