"""Acceptance (issue 9): a real 2-process torch.distributed (gloo) run renders byte-identical prompts
and gives the same per-document metrics and task scores as one process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fewshot_dist_worker import render_all, score_all

TASKS = ["meds_bench_diagnosis_ddxplus", "meds_bench_factver_pubmedqa"]  # 10 and 16 sample instances
WORKER = Path(__file__).with_name("fewshot_dist_worker.py")


@pytest.mark.slow
def test_two_gloo_processes_render_the_prompts_of_one(sample_dir, tiny_model_dir, tmp_path):
    out = tmp_path / "prompts.json"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER)]
    subprocess.run([*cmd, str(sample_dir), str(tiny_model_dir), str(out), *TASKS], check=True, timeout=300)
    two = json.loads(out.read_text(encoding="utf-8"))
    assert two["world_size"] == 2
    assert all(two["shares"]) and not set(two["shares"][0]) & set(two["shares"][1]), "each rank built its own docs"
    one = render_all(str(sample_dir), str(tiny_model_dir), TASKS, rank=0, world_size=1)
    assert len(one) == 2 * (10 + 16)
    assert two["prompts"] == one
    alone = score_all(str(sample_dir), str(tiny_model_dir), TASKS, rank=0, world_size=1)
    # every document answered and scored the same, so every task score (an aggregate of these) is equal
    assert len(alone) == 10 + 16 and two["metrics"] == alone
    assert all({"acc", "acc_paper", "extracted"} <= set(m) for m in alone.values())
