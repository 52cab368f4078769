"""The report on API runs: unanswered requests mark the run incomplete; a task with no answer has no score."""

from __future__ import annotations

from report_fixtures import write_run

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
