"""``meds-bench judge`` killed with -9 while judging, then rerun with the same command (issue 27): no judge request is
answered twice, synchronously or through one batch per judge."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from adapters_fake_server import FakeLLMServer
from batch_fake_server import FakeBatchServer
from judge_stand_in import stand_in
from test_judge import ANSWERS, judge_cmd, results_of, write_run

pytestmark = pytest.mark.slow

MEDS_BENCH = [sys.executable, "-c", "import sys; from meds_bench.cli import main; sys.exit(main())"]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": "sk-judge-kill-0123456789", "HF_HUB_OFFLINE": "1",
            "MEDS_BENCH_API_CACHE": str(cache)}  # fmt: skip


def _kill(child: subprocess.Popen, wait) -> None:
    try:
        wait()
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()


def test_killed_sync_judging_resumes_without_asking_again(tmp_path) -> None:
    run = write_run(tmp_path / "run", ANSWERS)  # 5 answers + 6 controls = 11 requests
    with FakeLLMServer(answer=stand_in(), hold_after=4) as server:
        spec = f"meds-openai:model=judge-top,base_url={server.openai_url},num_concurrent=2"
        cmd = [*MEDS_BENCH, *judge_cmd([str(run)], [spec], tmp_path / "out")]
        child = subprocess.Popen(
            cmd, env=_env(tmp_path / "cache"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _kill(child, lambda: server.wait_for(lambda s: sum(s.answered.values()) == 4 and s.held == 2))
        answered_before = set(server.answered)
        assert not (tmp_path / "out" / "judge_results.json").exists()
        server.reset_counts()
        server.hold_after = None
        server.release.set()
        rerun = subprocess.run(cmd, env=_env(tmp_path / "cache"), capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert sum(server.attempts.values()) == 11 - 4 and not set(server.attempts) & answered_before
    entry = results_of(tmp_path / "out")["runs"]["org/tiny"]["tasks"]["meds_bench_rationale_en"]
    assert entry["jury"] == 100.0 and entry["n"] == 5


def test_killed_batch_judging_resumes_its_batch_one_batch_per_judge(tmp_path) -> None:
    run = write_run(tmp_path / "run", ANSWERS)
    prices = tmp_path / "prices.json"
    price = {"input": 2.0, "output": 8.0, "batch_input": 1.0, "batch_output": 4.0}
    prices.write_text(json.dumps({"models": {"judge-top": price, "judge-bottom": price}}))
    with FakeBatchServer(hold=True, answer=stand_in()) as server:
        specs = [f"meds-openai:model={m},base_url={server.openai_url},prices={prices},batch_poll=0.05"
                 for m in ("judge-top", "judge-bottom")]  # fmt: skip
        cmd = [*MEDS_BENCH, *judge_cmd([str(run)], specs, tmp_path / "out", "--batch")]
        child = subprocess.Popen(
            cmd, env=_env(tmp_path / "cache"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _kill(child, lambda: server.wait_batches(lambda s: s.created == 1 and s.polls >= 2, timeout=240))
        assert not server.batch_answered
        server.release.set()
        rerun = subprocess.run(cmd, env=_env(tmp_path / "cache"), capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert rerun.stderr.count("resuming batch") == 1 and rerun.stderr.count("submitted batch") == 1
    assert server.created == 2 and set(server.batch_answered.values()) == {1} and len(server.batch_answered) == 22
    results = results_of(tmp_path / "out")
    entry = results["runs"]["org/tiny"]["tasks"]["meds_bench_rationale_en"]
    assert entry["jury"] == 50.0 and entry["judges"] == {"openai:judge-top": 100.0, "openai:judge-bottom": 0.0}
    assert results["cost"]["judging"] > 0 and results["cost"]["controls"] > 0  # 10 answers, 12 controls
