"""End-to-end: ``meds-bench eval --model meds-openai|meds-anthropic`` over the bundled sample data of every
non-credentialed task, against the fault-injecting loopback server (acceptance criteria 1-4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from adapters_fake_server import FakeLLMServer

from meds_bench import sample_data_path
from meds_bench.catalog import TASKS

pytestmark = pytest.mark.slow

KEY = "sk-e2e-KEYSTRING-0123456789abcdef"
OPEN_TASKS = [t.name for t in TASKS if not t.credentialed]
MEDS_BENCH = [sys.executable, "-c", "import sys; from meds_bench.cli import main; sys.exit(main())"]
TRANSIENT = (("429",), ("500", "429"), ("529",), ("timeout",), ("malformed",), ("drop",), ("503", "drop"))


def _eval(
    model: str, url: str, out: Path, cache: Path, tasks: list[str], extra: str = ""
) -> subprocess.CompletedProcess:
    # timeout: reached only by the injected "timeout" fault, never by a slow answer on a loaded machine
    args = f"base_url={url},num_concurrent=8,cache_dir={cache},timeout=3,backoff_base=0.01,max_retries=6{extra}"
    env = {
        **os.environ,
        "OPENAI_API_KEY": KEY,
        "ANTHROPIC_API_KEY": KEY,
        "HF_HUB_OFFLINE": "1",
        "MEDS_BENCH_DATA_DIR": str(sample_data_path()),
    }
    cmd = [*MEDS_BENCH, "eval", "--model", model, "--model_args", args, "--tasks", ",".join(tasks)]
    cmd += ["--apply_chat_template", "--output_path", str(out), "--log_samples"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _results(out: Path) -> tuple[dict, list[dict]]:
    (results_file,) = sorted(out.rglob("results_*.json"))[-1:]
    samples = [json.loads(line) for f in out.rglob("samples_*.jsonl") for line in f.read_text().splitlines()]
    return json.loads(results_file.read_text()), samples


def _meds_api(sample: dict) -> dict:
    """The adapter's per-request record, logged by lm-eval with the request's gen_kwargs."""
    return sample["arguments"]["gen_args_0"]["arg_1"]["meds_api"]


def _no_key_anywhere(*roots: Path, text: str = "") -> None:
    assert KEY not in text
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                assert b"KEYSTRING" not in path.read_bytes(), path


@pytest.mark.parametrize(("model", "url_attr"), [("meds-openai", "openai_url"), ("meds-anthropic", "anthropic_url")])
def test_full_sample_run_through_faults_loses_nothing(tmp_path, model, url_attr) -> None:
    with FakeLLMServer(fault_every=3, plans=TRANSIENT) as srv:
        run = _eval(model, getattr(srv, url_attr), tmp_path / "out", tmp_path / "cache", OPEN_TASKS)
        assert run.returncode == 0, run.stderr[-3000:]
        results, samples = _results(tmp_path / "out")
        assert sum(n["effective"] for n in results["n-samples"].values()) == len(samples) > 100
        assert set(results["n-samples"]) == set(OPEN_TASKS)
        assert all(s["resps"][0][0].startswith("The right answer is A:") for s in samples)  # every sample answered
        assert {_meds_api(s)["status"] for s in samples} == {"done"}
        assert len(srv.answered) == len(samples) and set(srv.answered.values()) == {1}
        assert any(n > 1 for n in srv.attempts.values())
        usage = results["config"]["meds_api"]["usage"]
        assert set(usage["per_task"]) == set(OPEN_TASKS)
        assert usage["total"]["sent"] == len(samples) and usage["total"]["failed"] == 0
        assert all(
            t["input_tokens"] > 0 and t["output_tokens"] > 0 and t["cost_usd"] > 0 for t in usage["per_task"].values()
        )
        assert "cost=$" in run.stderr and "failed=0" in run.stderr
        _no_key_anywhere(tmp_path, text=run.stdout + run.stderr)
        if model != "meds-openai":
            return  # the cache path is the same for both; test_adapters_server.py reruns both providers
        # rerun: every answer comes from the cache, zero paid calls
        srv.reset_counts()
        again = _eval(model, getattr(srv, url_attr), tmp_path / "out2", tmp_path / "cache", OPEN_TASKS)
        assert again.returncode == 0, again.stderr[-3000:]
        assert sum(srv.attempts.values()) == 0
        assert _results(tmp_path / "out2")[0]["config"]["meds_api"]["usage"]["total"]["cached"] == len(samples)


def test_failed_requests_exit_non_zero_and_rerun_sends_only_them(tmp_path) -> None:
    tasks = ["meds_bench_mcqa_medqa_en", "meds_bench_ner_bc5chem", "meds_bench_factver_pubmedqa"]
    with FakeLLMServer(fault_every=4, plans=(("400",),)) as srv:
        run = _eval("meds-openai", srv.openai_url, tmp_path / "out", tmp_path / "cache", tasks)
        assert run.returncode == 3, run.stderr[-3000:]
        failed = {k for k, n in srv.attempts.items() if k not in srv.answered}
        assert failed and "API request(s) failed" in run.stderr
        results, samples = _results(tmp_path / "out")
        usage = results["config"]["meds_api"]["usage"]
        assert usage["total"]["failed"] == len(failed)
        # each sample says what became of its request, with the provider's message for a failed one
        unanswered = [_meds_api(s) for s in samples if not s["resps"][0][0]]
        assert len(unanswered) == len(failed) and all(
            m["status"] == "failed" and m["error"].startswith("HTTP 400") and "max_tokens too large" in m["error"]
            for m in unanswered
        )
        assert {_meds_api(s)["status"] for s in samples if s["resps"][0][0]} == {"done"}
        srv.reset_counts()
        srv.fault_every = 0
        again = _eval("meds-openai", srv.openai_url, tmp_path / "out2", tmp_path / "cache", tasks)
        assert again.returncode == 0, again.stderr[-3000:]
        assert set(srv.attempts) == failed


def test_credentialed_tasks_refused_without_opt_in(tmp_path) -> None:
    tasks = ["meds_bench_mcqa_medqa_en", "meds_bench_nli_mednli_discriminative", "meds_bench_summarization_mimic_cxr"]
    with FakeLLMServer() as srv:
        run = _eval("meds-anthropic", srv.anthropic_url, tmp_path / "out", tmp_path / "cache", tasks)
        assert run.returncode != 0
        assert "meds_bench_nli_mednli_discriminative, meds_bench_summarization_mimic_cxr" in run.stderr
        assert run.returncode == 2 and "refusing" in run.stderr.splitlines()[-1]
        assert sum(srv.attempts.values()) == 0 and not list((tmp_path).rglob("results_*.json"))
        # (the opt-in path is covered by test_adapters_server.py without a second lm_eval start-up)


def test_key_in_model_args_refused_before_lm_eval_runs(tmp_path) -> None:
    with FakeLLMServer() as srv:
        run = _eval(
            "meds-openai",
            srv.openai_url,
            tmp_path / "out",
            tmp_path / "cache",
            ["meds_bench_mcqa_medqa_en"],
            f",api_key={KEY}",
        )
        assert run.returncode == 2 and "environment" in run.stderr
        assert KEY not in run.stdout + run.stderr and sum(srv.attempts.values()) == 0
