"""The uncertainty benchmarks under bench/: the runs ``bench_report.py`` writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from bench_report import write_run  # noqa: E402
from bench_scoring import write_predictions  # noqa: E402

from meds_bench.compare import compare_docs, load_docs  # noqa: E402


def test_bench_report_runs_differ_only_where_the_second_is_made_right(tmp_path):
    write_predictions(tmp_path / "p.csv", 53 * 3)
    plain_a = write_run(tmp_path / "a", tmp_path / "p.csv", improve=False)
    write_run(tmp_path / "b", tmp_path / "p.csv", improve=True)
    (results,) = (tmp_path / "a").glob("results_*.json")
    (plain,) = plain_a.glob("results_*.json")
    with_se = json.loads(results.read_text())["results"]["meds_bench_mcqa_medqa_en"]
    without = json.loads(plain.read_text())["results"]["meds_bench_mcqa_medqa_en"]
    assert isinstance(with_se["acc_stderr,none"], float) and without["acc_stderr,none"] == "N/A"
    assert with_se["acc,none"] == without["acc,none"]
    assert len(list(plain_a.glob("samples_*.jsonl"))) == 53
    result = compare_docs(load_docs(tmp_path / "b"), load_docs(tmp_path / "a"))
    assert all(row["diff"] >= 0 for row in result["tasks"]) and any(row["diff"] > 0 for row in result["tasks"])
