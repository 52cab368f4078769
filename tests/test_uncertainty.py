"""Standard errors: lm-eval's sample-std error for means, the seeded vectorised bootstrap for NER and
HoC, the patched lm-eval aggregation, and group errors in ``meds-bench score``."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from meds_bench.metrics.hoc import macro_scores
from meds_bench.metrics.ner import micro_scores
from meds_bench.metrics.rescore import score_files
from meds_bench.metrics.uncertainty import (
    bootstrap_stats,
    hoc_counts_matrix,
    macro_prf,
    micro_prf,
    ner_counts_matrix,
    stderr_function,
)


def _mcqa_csv(path: Path, right: int, total: int, task: str = "task57") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["prediction", "reference", "task"])
        for k in range(total):
            writer.writerow(["B" if k < right else "C", "The right answer is B: x", task])
    return path


def test_20_of_40_right_has_an_accuracy_stderr_of_8_points(tmp_path):
    result = score_files([_mcqa_csv(tmp_path / "p.csv", 20, 40)])["results"]["meds_bench_mcqa_medqa_en"]
    # sample std of twenty 100s and twenty 0s: sqrt(40 * 50**2 / 39) = 50.64; / sqrt(40) = 8.006
    assert result["acc,none"] == 50.0
    assert result["acc_stderr,none"] == pytest.approx(math.sqrt(40 * 50**2 / 39) / math.sqrt(40))
    assert round(result["acc_stderr,none"], 1) == 8.0


def test_category_stderr_is_that_of_the_unweighted_task_mean(tmp_path):
    files = [_mcqa_csv(tmp_path / "a.csv", 20, 40, "task57"), _mcqa_csv(tmp_path / "b.csv", 10, 10, "task58")]
    report = score_files(files)
    se_a = report["results"]["meds_bench_mcqa_medqa_en"]["acc_stderr,none"]
    assert report["results"]["meds_bench_mcqa_medqa_zh"]["acc_stderr,none"] == 0.0  # all right
    # only two of the category's tasks are present: the group is their mean, sqrt(se_a^2 + 0^2) / 2
    assert report["groups"]["meds_bench-mcqa"]["acc_stderr,none"] == pytest.approx(se_a / 2)


def test_vectorised_statistics_equal_the_scorers_aggregations():
    rng = np.random.default_rng(0)
    ner_items = rng.integers(0, 4, size=(30, 3)).tolist()
    assert micro_prf(ner_counts_matrix(ner_items).sum(axis=0)) == pytest.approx(micro_scores(ner_items))
    hoc_items = rng.integers(0, 2, size=(25, 2, 10)).tolist()
    hoc_items[0][0] = [0] * 10  # labels never predicted / never gold: zero_division=0 as sklearn
    for doc in hoc_items:
        doc[1][9] = doc[0][9] = 0
    assert macro_prf(hoc_counts_matrix(hoc_items).sum(axis=0)) == pytest.approx(macro_scores(hoc_items))


def test_bootstrap_is_reproducible_from_the_seed_and_matches_the_exact_formula_for_large_n():
    rng = np.random.default_rng(1)
    hits = (rng.random(4000) < 0.3).astype(np.int64)
    # one gold and one predicted entity per document: micro-F1 = precision = recall = share of hits
    items = np.stack([hits, 1 - hits, 1 - hits], axis=1)
    f1 = stderr_function(_hook("micro_f1"))
    assert f1(items.tolist()) == f1(items.tolist())  # same seed, same draws
    p = hits.mean()
    exact = 100 * math.sqrt(p * (1 - p) / len(hits))
    assert f1(items.tolist()) == pytest.approx(exact, rel=0.06)
    other = bootstrap_stats(items, lambda s: micro_prf(s)[..., 2], seed=7)
    assert np.std(other, ddof=1) != f1(items.tolist())


def _hook(name: str):
    from meds_bench.metrics import hooks

    return getattr(hooks, name)


def test_lm_eval_reports_bootstrap_stderr_for_ner_and_hoc(sample_dir, monkeypatch):
    import lm_eval
    from lm_eval.tasks import TaskManager
    from test_rescore import _scripted_lm

    from meds_bench import tasks_path

    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", str(sample_dir))
    manager = TaskManager(include_path=str(tasks_path()))
    tasks = ["meds_bench-ner", "meds_bench_classification_hoc", "meds_bench_mcqa_medqa_en"]
    res = lm_eval.simple_evaluate(model=_scripted_lm(), tasks=tasks, task_manager=manager, log_samples=True)
    results = res["results"]
    for name, metric in [("meds_bench_ner_bc5chem", "f1"), ("meds_bench_classification_hoc", "macro_f1")]:
        assert isinstance(results[name][f"{metric}_stderr,none"], float), name
    assert isinstance(results["meds_bench_mcqa_medqa_en"]["extracted_stderr,none"], float)
    acc = [s["acc"] for s in res["samples"]["meds_bench_mcqa_medqa_en"]]
    assert results["meds_bench_mcqa_medqa_en"]["acc_stderr,none"] == pytest.approx(np.std(acc, ddof=1) / math.sqrt(10))
    ner = [results[t]["f1_stderr,none"] for t in res["group_subtasks"]["meds_bench-ner"]]
    assert results["meds_bench-ner"]["f1_stderr,none"] == pytest.approx(math.sqrt(sum(s**2 for s in ner)) / 4)


def test_score_prints_value_and_stderr(tmp_path, capsys):
    from meds_bench.cli import main

    assert main(["score", str(_mcqa_csv(tmp_path / "p.csv", 20, 40))]) == 0
    assert "acc=50.00±8.01" in capsys.readouterr().out


def test_bootstrap_iters_0_computes_no_stderr(tmp_path):
    path = _mcqa_csv(tmp_path / "p.csv", 20, 40)
    result = score_files([path], bootstrap_iters=0)["results"]["meds_bench_mcqa_medqa_en"]
    assert result["acc,none"] == 50.0 and result["acc_stderr,none"] == "N/A"
