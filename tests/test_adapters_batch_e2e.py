"""End-to-end batch mode: ``meds-bench eval ... batch=true`` over two sample tasks, killed with -9 while its batch
runs and rerun with the same command, against the loopback batch fakes (issue 18, acceptance 1 and 2; issue 24: the
rerun records the whole batch cost, also of the answers the killed process had already collected)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from batch_fake_server import FakeBatchServer

from meds_bench import sample_data_path

pytestmark = pytest.mark.slow

KEY = "sk-e2e-batch-0123456789abcdef"
TASKS = "meds_bench_mcqa_medqa_en,meds_bench_ner_bc4chem"
MEDS_BENCH = [sys.executable, "-c", "import sys; from meds_bench.cli import main; sys.exit(main())"]
PRICES = {
    "gpt-4o": {"input": 2.0, "output": 8.0, "batch_input": 1.0, "batch_output": 4.0},
    "claude-sonnet-4": {"input": 3.0, "output": 15.0, "batch_input": 1.5, "batch_output": 7.5},
}


def _command(model: str, url: str, out: Path, cache: Path, prices: Path, extra: str = "") -> list[str]:
    model_id = {"meds-openai": "gpt-4o", "meds-anthropic": "claude-sonnet-4-0"}[model]
    args = f"model={model_id},base_url={url},cache_dir={cache},prices={prices},timeout=30,backoff_base=0.01"
    args += f",batch_poll=0.05{extra}"
    cmd = [*MEDS_BENCH, "eval", "--model", model, "--model_args", args, "--tasks", TASKS]
    return [*cmd, "--apply_chat_template", "--output_path", str(out)]


ENV = {
    **os.environ,
    "OPENAI_API_KEY": KEY,
    "ANTHROPIC_API_KEY": KEY,
    "HF_HUB_OFFLINE": "1",
    "MEDS_BENCH_DATA_DIR": str(sample_data_path()),
}


def _first_item_expires():
    """A fate: the first item of the first batch expires (so that a follow-up batch carries it)."""
    expired: list[dict] = []

    def fate(body: dict, n: int) -> str | None:
        if n == 0 and not expired:
            expired.append(body)
            return "expired"
        return None

    return fate


# Batches the killed run created: killed while its only batch runs, or while the follow-up of the first item
# runs, after it had collected the first batch (answers cached, their cost in no results file).
SCENARIOS = {"one batch": 1, "follow-up": 2}


def _results(out: Path) -> dict:
    (path,) = sorted(out.rglob("results_*.json"))[-1:]
    return json.loads(path.read_text())


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize(("model", "url_attr"), [("meds-openai", "openai_url"), ("meds-anthropic", "anthropic_url")])
def test_killed_batch_run_resumes_and_scores_as_the_sync_run_at_half_cost(tmp_path, model, url_attr, scenario) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": PRICES}))
    batches = SCENARIOS[scenario]
    server = {"free_batches": 1, "fate": _first_item_expires()} if batches == 2 else {}
    with FakeBatchServer(hold=True, **server) as srv:
        url = getattr(srv, url_attr)
        sync = subprocess.run(
            _command(model, url, tmp_path / "sync", tmp_path / "c_sync", prices),
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert sync.returncode == 0, sync.stderr[-3000:]
        batch_cmd = _command(model, url, tmp_path / "batch", tmp_path / "c_batch", prices, ",batch=true")
        child = subprocess.Popen(batch_cmd, env=ENV, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:
            srv.wait_batches(lambda s: s.created == batches and s.polls >= batches + 1, timeout=240)
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=60) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
        assert not list((tmp_path / "batch").rglob("results_*.json"))
        assert list(srv.batches.values())[-1]["status"] == "in_progress"
        if batches == 1:
            assert not srv.batch_answered
        srv.release.set()
        rerun = subprocess.run(batch_cmd, env=ENV, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resuming batch" in rerun.stderr and "submitted batch" not in rerun.stderr
    assert srv.created == batches and set(srv.batch_answered.values()) == {1}
    sync_results, batch_results = _results(tmp_path / "sync"), _results(tmp_path / "batch")
    assert batch_results["results"] == sync_results["results"]
    assert set(batch_results["results"]) == set(TASKS.split(","))
    sync_usage = sync_results["config"]["meds_api"]["usage"]["total"]
    usage = batch_results["config"]["meds_api"]["usage"]["total"]
    assert usage["batched"] == usage["sent"] == sync_usage["sent"] == len(srv.batch_answered) > 0
    assert usage["cost_usd"] == pytest.approx(sync_usage["cost_usd"] / 2, abs=2e-6) and usage["cost_usd"] > 0
    assert usage["earlier_cost_usd"] == pytest.approx(usage["cost_usd"])  # all of it submitted by the killed run
    assert f", ${usage['cost_usd']:.4f} of it spent by an earlier process; " in rerun.stderr


def test_server_without_batch_interface_stops_the_eval_with_one_line(tmp_path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": PRICES}))
    with FakeBatchServer(no_batch=True) as srv:
        run = subprocess.run(
            _command("meds-openai", srv.openai_url, tmp_path / "o", tmp_path / "c", prices, ",batch=true"),
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert sum(srv.attempts.values()) == 0
    assert run.returncode == 2 and "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("meds-bench: batch=true: ") and "/v1/files answered 404" in last
