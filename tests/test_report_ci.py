"""Confidence intervals in the report: task cells and category scores as ``x ± half-width`` (the CI
of the paper's unweighted task mean), pooled CT/MRI groups, and error bars on the category chart."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from report_fixtures import NER, write_run

from meds_bench.catalog import SUMMARIZATION_POOLED_GROUPS, tasks_in
from meds_bench.metrics.uncertainty import Z95
from meds_bench.report.runs import load_run
from meds_bench.report.tables import RunScores, columns, summary_table


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
