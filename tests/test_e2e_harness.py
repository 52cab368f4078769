"""The real lm_eval CLI over the plugin: all 53 tasks, groups, and a data directory never seen before."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hub_layouts import layout_files, write_dir

from meds_bench import sample_data_path, tasks_path
from meds_bench.catalog import CATEGORIES, SUMMARIZATION_POOLED_GROUPS, TASKS, category_group, get_task

pytestmark = pytest.mark.slow


def _lm_eval(args: list[str], out: Path, data_dir: Path, cli: str = "lm_eval") -> dict:
    env = {**os.environ, "MEDS_BENCH_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    if cli == "lm_eval":
        cmd = [sys.executable, "-m", "lm_eval", "--include_path", str(tasks_path())]
    else:
        cmd = [sys.executable, "-m", "meds_bench.cli", "eval"]
    proc = subprocess.run([*cmd, *args, "--output_path", str(out)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = out.rglob("results_*.json")
    return json.loads(results_file.read_text())


def _scores(task_result: dict) -> dict:
    return {k: v for k, v in task_result.items() if "," in k and "_stderr" not in k}


def test_all_53_tasks_with_a_local_hf_model(tmp_path, tiny_model_dir):
    results = _lm_eval(
        [
            "--model",
            "hf",
            "--model_args",
            f"pretrained={tiny_model_dir},dtype=float32",
            "--tasks",
            "meds_bench_*",
            "--batch_size",
            "16",
        ],
        tmp_path,
        sample_data_path(),
    )
    assert set(results["results"]) == {t.name for t in TASKS}, "the wildcard selects exactly the 53 tasks"
    for name, task_result in results["results"].items():
        assert _scores(task_result), f"{name} has no metric"
        assert results["n-samples"][name]["effective"] == (16 if name == "meds_bench_factver_pubmedqa" else 10)
        provenance = results["configs"][name]["metadata"]["meds_bench_data"]
        assert provenance["source"] == "sample" and len(provenance["sha256"]) == 64


def test_overall_group_reports_every_category(tmp_path):
    results = _lm_eval(["--model", "dummy", "--tasks", "meds_bench"], tmp_path, sample_data_path())
    expected = {category_group(c) for c in CATEGORIES} | set(SUMMARIZATION_POOLED_GROUPS.values())
    assert expected <= set(results["groups"])
    for group in expected:
        assert _scores(results["groups"][group]), f"{group} reports no score"
    assert len(results["results"]) == 53 + len(expected) + 1


def test_unseen_data_directory_is_what_gets_evaluated(tmp_path):
    rng = random.Random(7)
    data = tmp_path / "unseen"
    written = {}
    for name in ("meds_bench_classification_hoc", "meds_bench_mcqa_medqa_en"):
        info = get_task(name)
        inputs = [f"unseen instance {rng.randrange(10**9)}" for _ in range(rng.randint(4, 9))]
        path = data / info.folder / info.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"Definition": ["Say something."], "Instances": [{"input": i, "output": "x"} for i in inputs]})
        )
        written[name] = inputs
    out = tmp_path / "out"
    results = _lm_eval(
        ["--data-dir", str(data), "--model", "dummy", "--tasks", ",".join(written), "--log_samples"],
        out,
        sample_data_path(),
        cli="meds-bench",
    )
    for name, inputs in written.items():
        assert results["n-samples"][name]["effective"] == len(inputs)
        assert results["configs"][name]["metadata"]["meds_bench_data"]["source"] == "local"
        (samples,) = out.rglob(f"samples_{name}_*.jsonl")
        logged = [json.loads(line)["doc"]["input"] for line in samples.read_text().splitlines()]
        assert sorted(logged) == sorted(inputs)


OPEN_CATEGORY_GROUPS = [
    category_group(c) for c in CATEGORIES if not any(t.credentialed for t in TASKS if t.category == c)
] + ["meds_bench-summarization_open"]


@pytest.mark.parametrize("cli", ["lm_eval", "meds-bench"])
def test_open_group_over_a_split_layout_directory_with_only_the_open_files(tmp_path, cli):
    data = write_dir(tmp_path / "split", layout_files("split"))
    results = _lm_eval(["--model", "dummy", "--tasks", "meds_bench-open"], tmp_path / "out", data, cli=cli)
    assert len(OPEN_CATEGORY_GROUPS) == 10
    for group in OPEN_CATEGORY_GROUPS:
        assert _scores(results["groups"][group]), f"{group} reports no score"
    assert {n for n in results["results"] if n.startswith("meds_bench_")} == {
        t.name for t in TASKS if not t.credentialed
    }
    provenance = results["configs"]["meds_bench_mcqa_medqa_en"]["metadata"]["meds_bench_data"]
    assert provenance["file"] == "MCQA/task57_medqa_question_answering_en.json"


def test_meds_ids_mixed_with_names_run_both_tasks(tmp_path):
    results = _lm_eval(
        ["--model", "dummy", "--tasks", "task52,meds_bench_ner_bc5chem"], tmp_path, sample_data_path(), cli="meds-bench"
    )
    assert set(results["results"]) == {"meds_bench_rationale_en", "meds_bench_ner_bc5chem"}


def test_space_separated_meds_ids_run_both_tasks(tmp_path):
    results = _lm_eval(
        ["--model", "dummy", "--tasks", "task57", "task123", "--limit", "2"],
        tmp_path,
        sample_data_path(),
        cli="meds-bench",
    )
    assert set(results["results"]) == {"meds_bench_mcqa_medqa_en", "meds_bench_mcqa_pubmedqa"}


def test_tasks_of_a_config_file_run_on_its_data_dir(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        f"model: dummy\nlimit: 2\ntasks: [task57]\nmetadata: {{meds_bench_data_dir: {sample_data_path()}}}\n"
    )
    results = _lm_eval(["--config", str(config)], tmp_path / "out", tmp_path / "not-this-one", cli="meds-bench")
    assert set(results["results"]) == {"meds_bench_mcqa_medqa_en"}
    assert results["configs"]["meds_bench_mcqa_medqa_en"]["metadata"]["meds_bench_data"]["source"] == "sample"


def test_skip_missing_runs_what_is_present_and_records_the_rest(tmp_path):
    data = write_dir(tmp_path / "split", layout_files("split"))
    results = _lm_eval(
        ["--model", "dummy", "--tasks", "meds_bench", "--skip-missing"], tmp_path / "out", data, cli="meds-bench"
    )
    assert len([n for n in results["results"] if n.startswith("meds_bench_")]) == 34
    skipped = results["configs"]["meds_bench_rationale_en"]["metadata"]["meds_bench_skipped"]
    assert sorted(skipped) == sorted(t.name for t in TASKS if t.credentialed)


def test_plain_lm_eval_gets_one_line_for_a_missing_file(tmp_path):
    data = write_dir(tmp_path / "split", layout_files("split"))
    env = {**os.environ, "MEDS_BENCH_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "lm_eval", "--include_path", str(tasks_path()), "--model", "dummy"]
    proc = subprocess.run(
        [*cmd, "--tasks", "meds_bench_nli_mednli_discriminative"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("meds-bench: ")]
    assert line.startswith("meds-bench: meds_bench_nli_mednli_discriminative (task41): no NLI/task41_*.json[l]")
