"""The report on API runs: unanswered requests mark the run incomplete; a task with no answer has no score;
the documents without an answer are counted beside each task's score."""

from __future__ import annotations

import csv

import pytest
from report_fixtures import MCQA, api_run_with_one_output_limit, set_api_status, write_run

from meds_bench.report import headline, report
from meds_bench.report.render import usage_text
from meds_bench.report.runs import load_run


def test_unanswered_requests_mark_the_run_and_an_unanswered_task_is_missing(tmp_path) -> None:
    usage = {
        "total": {"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.1, "failed": 10, "output_limit": 2},
        "per_task": {
            "meds_bench_mcqa_medqa_en": {"sent": 8, "cached": 0, "failed": 0, "output_limit": 2},
            "meds_bench_mcqa_pubmedqa": {"sent": 0, "cached": 0, "failed": 10},
        },
    }
    scores = {"meds_bench_mcqa_medqa_en": {"acc": 60.0}, "meds_bench_mcqa_pubmedqa": {"acc": 0.0}}
    path = write_run(tmp_path, "gpt-x", scores, api_usage=usage)
    run = load_run(next(path.rglob("results_*.json")) if path.is_dir() else path)
    assert run.unanswered == 12
    assert run.tasks["meds_bench_mcqa_medqa_en"].metrics == {"acc": 60.0}
    assert run.tasks["meds_bench_mcqa_pubmedqa"].metrics == {}  # every request failed: missing, not 0
    text = usage_text(run)
    assert text.startswith("10 in / 5 out tokens") and "INCOMPLETE: 12 requests unanswered, scored 0" in text
    assert "2 without answer text (output limit)" in text


def test_one_unanswered_document_is_shown_beside_the_task_score(tmp_path):
    path = api_run_with_one_output_limit(tmp_path / "r")
    assert load_run(path).tasks[MCQA[0]].unanswered == 1
    out = report([path.parent], tmp_path / "out").parent
    md = (out / "leaderboard.md").read_text()
    assert "\n| gpt-x | 66.67 (1 unanswered) | missing |" in md  # the MCQA table's task57 column
    csv_rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    acc = next(r for r in csv_rows if r["column"] == MCQA[0] and r["metric"] == "acc")
    assert acc["unanswered"] == "1" and float(acc["value"]) == pytest.approx(200 / 3), "the paper metric is unchanged"
    assert "66.67 (1 unanswered)" in headline([path.parent])


def test_unanswered_documents_are_counted_in_the_samples_else_in_the_usage(tmp_path):
    path = api_run_with_one_output_limit(tmp_path / "r")
    set_api_status(path, MCQA[0], 2, "failed")  # identical requests share one usage count; the samples tell
    assert load_run(path).tasks[MCQA[0]].unanswered == 2
    for samples in path.parent.glob("samples_*.jsonl"):
        samples.unlink()
    assert load_run(path).tasks[MCQA[0]].unanswered == 1
