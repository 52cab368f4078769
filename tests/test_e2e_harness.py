"""The real lm_eval CLI over the plugin: all 53 tasks, groups, and a data directory never seen before."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

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
        assert results["n-samples"][name]["effective"] == (16 if name == "meds_bench_factver_pubmedqa" else 6)
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
