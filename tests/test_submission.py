"""``meds-bench export-submission``: the leaderboard CSVs from ``--log_samples`` output, and
``meds-bench score`` on them giving back the run's scores exactly."""

from __future__ import annotations

import csv
import json

import pytest
from report_fixtures import api_run_with_one_output_limit
from test_rescore import _scripted_lm

from meds_bench.catalog import TASKS, get_task
from meds_bench.cli import main
from meds_bench.metrics.rescore import score_files


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    """The open tasks run by the scripted model on the sample data, written as lm-eval writes them."""
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from meds_bench import sample_data_path, tasks_path

    out = tmp_path_factory.mktemp("run")
    mp = pytest.MonkeyPatch()
    mp.setenv("MEDS_BENCH_DATA_DIR", str(sample_data_path()))
    try:
        manager = TaskManager(include_path=str(tasks_path()))
        res = lm_eval.simple_evaluate(
            model=_scripted_lm(), tasks=["meds_bench-open"], task_manager=manager, log_samples=True
        )
    finally:
        mp.undo()
    tracker = EvaluationTracker(output_path=str(out))
    tracker.general_config_tracker.model_name_sanitized = "scripted"
    samples = res.pop("samples")
    tracker.save_results_aggregated(results=res, samples=samples)
    for name, task_samples in samples.items():
        tracker.save_results_samples(task_name=name, samples=task_samples)
    return out, res


def test_export_then_score_gives_the_runs_scores_exactly(logged_run, tmp_path, capsys):
    run, res = logged_run
    assert main(["export-submission", str(run), str(tmp_path / "sub")]) == 0
    files = sorted((tmp_path / "sub").glob("*.csv"))
    assert [f.stem for f in files] == sorted(
        {get_task(t).category for t in res["results"] if t.startswith("meds_bench_")}
    )
    rescored = score_files(files)["results"]
    compared = 0
    for name, harness in res["results"].items():
        if name not in {t.name for t in TASKS}:
            continue
        for key, value in harness.items():
            if "," in key and "_stderr" not in key:
                assert rescored[name][key] == pytest.approx(value, abs=1e-9), (name, key)
                compared += 1
        assert rescored[name]["sample_len"] == harness["sample_len"]
    assert compared > 100
    for group in ("meds_bench-mcqa", "meds_bench-ner", "meds_bench-summarization_open"):
        for key, value in res["results"][group].items():
            if "," in key and "_stderr" not in key and isinstance(value, float):
                assert rescored[group][key] == pytest.approx(value, abs=1e-9), (group, key)


def test_files_are_in_the_release_format(logged_run, tmp_path):
    run, _ = logged_run
    assert main(["export-submission", str(run), str(tmp_path / "sub")]) == 0
    raw = (tmp_path / "sub" / "mcqa.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbftask_id,input,GT,output\r\n")
    with (tmp_path / "sub" / "mcqa.csv").open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    samples = next(run.rglob("samples_meds_bench_mcqa_medqa_en_*.jsonl")).read_text().splitlines()
    first = json.loads(samples[0])
    row = next(r for r in rows if r["task_id"] == "task57")
    assert row["input"] == first["arguments"]["gen_args_0"]["arg_0"]  # the prompt sent, few-shot cases and all
    assert row["input"].endswith("Output:\n") and "\n" in row["GT"] + row["input"]
    assert row["GT"] == first["doc"]["output"] and row["output"] == first["filtered_resps"][0]


def test_a_run_without_samples_is_one_line(tmp_path, capsys):
    (tmp_path / "results_x.json").write_text("{}")
    assert main(["export-submission", str(tmp_path), str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"meds-bench export-submission: {tmp_path}: no samples_*.jsonl here (run lm_eval with --log_samples)\n"
    )


def test_a_samples_file_that_is_not_utf8_is_one_line(tmp_path, capsys):
    samples = tmp_path / "samples_meds_bench_mcqa_medqa_en_2026-12-04T00-00-00.jsonl"
    samples.write_bytes('{"doc_id": 0, "doc": {"output": "caf\xe9"}}\n'.encode("latin-1"))
    assert main(["export-submission", str(tmp_path), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"meds-bench export-submission: {samples}:1: not UTF-8 text (byte 0xe9); ")
    assert err.count("\n") == 1


def test_a_run_compared_with_its_own_submission_is_identical(logged_run, tmp_path):
    from meds_bench.compare import compare_docs, load_docs

    run, _ = logged_run
    assert main(["export-submission", str(run), str(tmp_path / "sub")]) == 0
    result = compare_docs(load_docs(run), load_docs(tmp_path / "sub" / "ner.csv"))  # prompts match: not refused
    assert [r["task"] for r in result["tasks"]] == [t.name for t in TASKS if t.category == "ner"]
    assert all(r["diff"] == 0.0 and r["n"] == 10 for r in result["tasks"])


def test_unanswered_documents_are_counted_per_task(tmp_path, capsys):
    run = api_run_with_one_output_limit(tmp_path / "api").parent
    assert main(["export-submission", str(run), str(tmp_path / "sub")]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{tmp_path / 'sub' / 'mcqa.csv'}\n"
    assert captured.err == (
        "meds-bench export-submission: task57: 1 unanswered (no answer text from the API; "
        "exported with an empty output, scored 0)\n"
    )
    with (tmp_path / "sub" / "mcqa.csv").open(newline="", encoding="utf-8-sig") as fh:
        assert [r["output"] for r in csv.DictReader(fh)][1] == ""
