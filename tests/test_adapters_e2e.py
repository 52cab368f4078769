"""End-to-end: ``meds-bench eval --model meds-openai|meds-anthropic`` over the bundled sample data of every
non-credentialed task, against the fault-injecting loopback server (acceptance criteria 1-4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from adapters_fake_server import THINKING_TEXT, FakeLLMServer

from meds_bench import sample_data_path
from meds_bench.catalog import TASKS

pytestmark = pytest.mark.slow

KEY = "sk-e2e-KEYSTRING-0123456789abcdef"
OPEN_TASKS = [t.name for t in TASKS if not t.credentialed]
MEDS_BENCH = [sys.executable, "-c", "import sys; from meds_bench.cli import main; sys.exit(main())"]
MODEL_IDS = {"meds-openai": "gpt-4o", "meds-anthropic": "claude-sonnet-4-0"}
TRANSIENT = (("429",), ("500", "429"), ("529",), ("timeout",), ("malformed",), ("drop",), ("503", "drop"))


def _eval(
    model: str, url: str, out: Path, cache: Path, tasks: list[str], extra: str = ""
) -> subprocess.CompletedProcess:
    # timeout: reached only by the injected "timeout" fault, never by a slow answer on a loaded machine
    args = f"model={MODEL_IDS[model]},base_url={url},num_concurrent=8,cache_dir={cache},timeout=3,backoff_base=0.01"
    args += f",max_retries=6{extra}"
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
    with FakeLLMServer(fault_every=4, plans=(("500",) * 7,)) as srv:  # still failing after max_retries=6
        run = _eval("meds-openai", srv.openai_url, tmp_path / "out", tmp_path / "cache", tasks)
        assert run.returncode == 3, run.stderr[-3000:]
        failed = {k for k, n in srv.attempts.items() if k not in srv.answered}
        assert failed and "API request(s) failed" in run.stderr
        results, samples = _results(tmp_path / "out")
        usage = results["config"]["meds_api"]["usage"]
        assert usage["total"]["failed"] == len(failed)
        per_task = {t: u["failed"] for t, u in sorted(usage["per_task"].items()) if u["failed"]}
        assert per_task and f"Unanswered per task: {', '.join(f'{t}: {n}' for t, n in per_task.items())}." in run.stderr
        # each sample says what became of its request, with the provider's message for a failed one
        unanswered = [_meds_api(s) for s in samples if not s["resps"][0][0]]
        assert len(unanswered) == len(failed) and all(
            m["status"] == "failed" and m["error"].startswith("HTTP 500") and "injected 500" in m["error"]
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


def _claude_eval(srv: FakeLLMServer, tmp_path: Path, model: str, extra: str = "", *more: str, env_drop: str = ""):
    args = f"model={model},base_url={srv.anthropic_url},cache_dir={tmp_path / 'cache'},timeout=3,max_retries=2{extra}"
    env = {
        **os.environ,
        "ANTHROPIC_API_KEY": KEY,
        "HF_HUB_OFFLINE": "1",
        "MEDS_BENCH_DATA_DIR": str(sample_data_path()),
    }
    env.pop(env_drop, None)
    cmd = [*MEDS_BENCH, "eval", "--model", "meds-anthropic", "--model_args", args, "--tasks", "task57"]
    cmd += ["--apply_chat_template", "--output_path", str(tmp_path / "out"), "--log_samples", *more]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("model", "more"),
    [
        ("claude-fable-5", ()),  # the other current models: tests/test_adapters_forms.py, in-process
        ("claude-sonnet-4-5-20250929", ("--gen_kwargs", "do_sample=true,temperature=0.7,top_p=0.9")),
    ],
)
def test_current_claude_models_answer_every_mcqa_request(tmp_path, model, more) -> None:
    with FakeLLMServer() as srv:
        run = _claude_eval(srv, tmp_path, model, "", *more)
        assert run.returncode == 0, run.stderr[-3000:]
    results, samples = _results(tmp_path / "out")
    assert len(samples) == 10 and {_meds_api(s)["status"] for s in samples} == {"done"}
    assert results["results"]["meds_bench_mcqa_medqa_en"]["acc,none"] >= 0
    assert results["config"]["meds_api"]["usage"]["total"]["sent"] == 10


def test_effort_high_on_opus_4_7_through_meds_bench_eval(tmp_path) -> None:
    with FakeLLMServer() as srv:
        run = _claude_eval(srv, tmp_path, "claude-opus-4-7", ",reasoning_effort=high")
        assert run.returncode == 0, run.stderr[-3000:]
        assert all(b["output_config"] == {"effort": "high"} and "temperature" not in b for b in srv.bodies)
    results, samples = _results(tmp_path / "out")
    assert len(samples) == 10 and all(_meds_api(s)["thinking"] == THINKING_TEXT for s in samples)
    assert all("Option B" not in s["filtered_resps"][0] for s in samples)  # thinking is never scored
    assert {s["extracted"] for s in samples} == {"A"}
    info = results["config"]["meds_api"]
    assert info["thinking"] == "adaptive effort=high" and info["sampling"][0].startswith("provider default sampling")


@pytest.mark.parametrize(
    ("model", "extra", "env_drop", "code", "message"),
    [
        ("claude-3-5-sonnet-20241022", "", "", 2, "claude-3-5-sonnet-20241022 was retired on 2025-10-22"),
        ("claude-2.1", "", "", 4, "anthropic model claude-2.1 was not found: it is retired or unknown"),
        ("claude-opus-4-7", ",reasoning_effort=minimal", "", 2, "claude-opus-4-7 takes none, low, medium"),
        ("claude-opus-4-7", "", "ANTHROPIC_API_KEY", 2, "ANTHROPIC_API_KEY is not set: export it"),
    ],
)
def test_bad_model_inputs_end_in_one_line(tmp_path, model, extra, env_drop, code, message) -> None:
    with FakeLLMServer() as srv:
        run = _claude_eval(srv, tmp_path, model, extra, env_drop=env_drop)
        assert run.returncode == code, run.stderr[-3000:]
        last = run.stderr.strip().splitlines()[-1]
        assert last.startswith("meds-bench: ") and message in last and "Traceback" not in run.stderr
        assert not list(tmp_path.rglob("results_*.json"))  # no score of 0 is written
        assert sum(srv.answered.values()) == 0


def test_nothing_listening_ends_in_one_line(tmp_path) -> None:
    with FakeLLMServer() as srv:
        url = srv.anthropic_url
    run = _claude_eval(type("Gone", (), {"anthropic_url": url})(), tmp_path, "claude-sonnet-5")
    assert run.returncode == 4 and "Traceback" not in run.stderr
    assert f"nothing answers at {url}" in run.stderr.strip().splitlines()[-1]
