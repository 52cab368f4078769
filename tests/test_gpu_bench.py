"""bench/gpu_bench.sh, rehearsed on CPU: every step of the GPU run goes through the same code on tiny shapes,
so the script a lent GPU machine runs once cannot rot between leases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from gpu_summary import summary  # noqa: E402


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _table_rows(markdown: str) -> list[list[str]]:
    """The cells of every markdown table row (header and rule rows included)."""
    return [[c.strip() for c in line.strip("|").split("|")] for line in markdown.splitlines() if line.startswith("|")]


@pytest.mark.slow
def test_rehearsal_runs_every_step_and_records_each_figure(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, "WHEELS": str(tmp_path / "no-wheels")}
    done = subprocess.run(
        ["bash", "bench/gpu_bench.sh", "--rehearse"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + (out / "log.txt").read_text()[-3000:]
    steps = [line.split("\t") for line in (out / "steps.tsv").read_text().splitlines()]
    assert [s[0] for s in steps] == [
        "sample-train", "sft-1b", "hf-1b", "sft-3b", "sft-8b", "sft-layouts", "sft-tuning",
    ]  # fmt: skip
    assert all(s[1] == "0" for s in steps)

    sft = _rows(out / "sft.jsonl")
    # 1B and 3B matrices (2 lengths x checkpointing on/off), 8B, two layouts, two tuning runs
    assert len(sft) == 4 + 4 + 1 + 2 + 2
    assert all(r["status"] == "ok" and r["mfu_median"] > 0 and r["tokens_per_second_median"] > 0 for r in sft)
    assert all(r["checkpointing_active"] == r["checkpointing"] for r in sft)
    assert {r["mode"] for r in sft} == {"packed", "padding_free", "padded"}
    assert {r["rows_per_micro_batch"] for r in sft if r["max_length"] == 128} == {4}  # 512 tokens / 128

    (train,) = _rows(out / "train.jsonl")
    assert train["loss_fell"] and train["last5_mean_loss"] < train["first5_mean_loss"]
    assert train["reloaded_parameters"] > 0 and train["generated"]

    hf = _rows(out / "hf.jsonl")
    assert [r["batch_size"] for r in hf] == [4, 1]
    assert all(r["docs"] == 10 and 0 < r["generated_token_slots"] <= 10 * 64 for r in hf)  # 64-token budget

    printed = (out / "summary.md").read_text()
    assert printed in done.stdout
    assert len([row for row in _table_rows(printed) if row[0] == "tiny"]) == len(sft) + len(hf)
    assert f"results in {out}" in done.stdout


def test_summary_formats_mfu_as_percent_and_marks_out_of_memory(tmp_path):
    run = {"shape": "llama-3-8b", "max_length": 2048, "mode": "packed", "checkpointing": True}
    (tmp_path / "sft.jsonl").write_text(
        json.dumps({**run, "status": "ok", "parameters": 8.03e9, "mfu_median": 0.154, "device": "NVIDIA H200"})
        + "\n"
        + json.dumps({**run, "checkpointing": False, "status": "out_of_memory"})
        + "\n"
    )
    text = summary(tmp_path)
    assert text.startswith("# GPU bench: NVIDIA H200")
    rows = [r for r in _table_rows(text) if r[0] == "llama-3-8b"]
    assert rows[0] == ["llama-3-8b", "8.03B", "2048", "packed", "-", "on", "no", "15.4%", "-", "-", "-", "ok"]
    assert rows[1][5:] == ["off", "no", "-", "-", "-", "-", "out_of_memory"]
    assert "torchtitan" in text
