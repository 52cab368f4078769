"""Labelled regression set of answer extraction: realistic model outputs in the six MCQA languages
and the closed-set categories, each with the answer a clinician reads (``extracted``) and whether
it is right (``correct``). Scored through :func:`score_doc`, the function the lm-eval hook calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meds_bench import sample_data_path, tasks_path
from meds_bench.metrics.scorers import score_doc

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "extraction_cases.jsonl").open()]


def test_the_set_covers_six_languages_and_five_categories():
    assert len(CASES) >= 150
    assert {c["language"] for c in CASES if c["category"] == "mcqa"} == {"en", "zh", "ja", "fr", "ru", "es"}
    assert {"diagnosis", "treatment", "outcome", "nli", "factver"} <= {c["category"] for c in CASES}
    assert {c["correct"] for c in CASES} == {True, False}


IDS = [f"{i}-{c['task'].removeprefix('meds_bench_')}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_labelled_output_is_read_as_labelled(case):
    doc = {"task": case["task"], "input": case["input"], "output": case["output"]}
    scores = score_doc(doc, case["prediction"])
    assert (scores["extracted"], scores["acc"]) == (case["extracted"], 100.0 if case["correct"] else 0.0), case["note"]


@pytest.mark.slow
def test_lm_eval_log_samples_shows_the_extracted_answer(tmp_path):
    tasks = ("meds_bench_mcqa_medqa_en", "meds_bench_nli_mednli_discriminative")
    env = {**os.environ, "MEDS_BENCH_DATA_DIR": str(sample_data_path()), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "lm_eval", "--include_path", str(tasks_path()), "--model", "dummy"]
    cmd += ["--tasks", ",".join(tasks), "--log_samples", "--output_path", str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = tmp_path.rglob("results_*.json")
    results = json.loads(results_file.read_text())["results"]
    for name in tasks:
        (samples_file,) = tmp_path.rglob(f"samples_{name}_*.jsonl")
        samples = [json.loads(line) for line in samples_file.read_text().splitlines()]
        # lm-eval's dummy model answers "lol": no answer is read, and the aggregate says so.
        assert [(s["filtered_resps"], s["extracted"], s["acc"]) for s in samples] == [(["lol"], "", 0.0)] * 10
        assert results[name]["extracted,none"] == 0.0
