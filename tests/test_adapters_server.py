"""The adapters through the real ``openai`` / ``anthropic`` SDKs against a fault-injecting loopback server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from adapters_fake_server import FakeLLMServer, make_instances, prompt_key

import meds_bench_adapters as adapters

OPENAI_KEY = "sk-test-openai-KEYSTRING-0123456789"
ANTHROPIC_KEY = "sk-ant-test-KEYSTRING-0123456789"
PROVIDERS = [
    (adapters.OpenAIChatLM, "gpt-4o", "openai_url"),
    (adapters.AnthropicMessagesLM, "claude-3-5-sonnet-20241022", "anthropic_url"),
]
FAST = {"timeout": 0.5, "backoff_base": 0.01, "backoff_max": 0.05, "max_retries": 5, "progress": False}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.delenv("MEDS_BENCH_PRICES", raising=False)


@pytest.fixture
def server():
    with FakeLLMServer(fault_every=2, hang_seconds=0.8) as srv:
        yield srv


def _lm(cls, model, srv, url_attr, cache_dir, **kw):
    return cls(model=model, base_url=getattr(srv, url_attr), cache_dir=str(cache_dir), **{**FAST, **kw})


def _files_contain(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_every_request_answered_exactly_once_despite_faults(server, tmp_path, cls, model, url_attr) -> None:
    lm = _lm(cls, model, server, url_attr, tmp_path, num_concurrent=8)
    requests = make_instances("meds_bench_mcqa_medqa_en", 40) + make_instances("meds_bench_ner_bc4chem", 20)
    out = lm.generate_until(requests)
    assert len(out) == 60 and all(o.startswith("The right answer is A: ") for o in out)
    assert all("\n" not in o for o in out)  # stop sequences trimmed (Anthropic gets "\n\n" only locally)
    assert len(server.answered) == 60 and set(server.answered.values()) == {1}
    faulted = [k for k, n in server.attempts.items() if n > 1]
    assert len(faulted) >= 20  # the faults really happened
    report = lm.get_model_info()["meds_api"]["usage"]
    total = report["total"]
    assert total["sent"] == 60 and total["failed"] == 0 and total["retries"] == sum(server.attempts.values()) - 60
    assert set(report["per_task"]) == {"meds_bench_mcqa_medqa_en", "meds_bench_ner_bc4chem"}
    assert report["per_task"]["meds_bench_ner_bc4chem"]["sent"] == 20
    # costs add up: per-task sums equal the total and match the price table
    price = lm.price
    assert total["cost_usd"] == pytest.approx(price.cost(total["input_tokens"], total["output_tokens"]), abs=1e-5)
    assert sum(t["cost_usd"] for t in report["per_task"].values()) == pytest.approx(total["cost_usd"], abs=1e-5)
    rows = report["per_request"]
    assert len(rows) == 60 and {r[2] for r in rows} == {"done"}
    assert sum(r[3] for r in rows) == total["input_tokens"] and sum(r[4] for r in rows) == total["output_tokens"]
    assert sum(r[5] for r in rows) == pytest.approx(total["cost_usd"], abs=1e-5)
    assert sorted(r[1] for r in rows if r[0] == "meds_bench_ner_bc4chem") == list(range(20))  # doc ids
    # wire format: greedy, system separate for Anthropic, never a null stop sequence
    for body in server.bodies:
        assert body["temperature"] == 0.0 and body["max_tokens"] == 32
        if cls is adapters.AnthropicMessagesLM:
            assert body["system"].startswith("Cases and definition") and body["stop_sequences"] == ["\nInput:"]
            assert [m["role"] for m in body["messages"]] == ["user"]
        else:
            assert [m["role"] for m in body["messages"]] == ["system", "user"]
    # keys only in the auth header, never in what the run wrote
    assert all(lm._api_key in h.get("authorization", "") + h.get("x-api-key", "") for h in server.headers)
    assert _files_contain(tmp_path, "KEYSTRING") == []
    # a rerun is served from the cache: zero calls
    server.reset_counts()
    again = _lm(cls, model, server, url_attr, tmp_path).generate_until(requests)
    assert again == out and sum(server.attempts.values()) == 0


def test_cache_never_mixes_providers_or_models(server, tmp_path) -> None:
    requests = make_instances("meds_bench_mcqa_medqa_en", 3)
    server.fault_every = 0
    _lm(adapters.OpenAIChatLM, "gpt-4o", server, "openai_url", tmp_path).generate_until(requests)
    assert sum(server.attempts.values()) == 3
    _lm(adapters.OpenAIChatLM, "gpt-4o-mini", server, "openai_url", tmp_path).generate_until(requests)
    assert sum(server.attempts.values()) == 6
    _lm(adapters.AnthropicMessagesLM, "gpt-4o", server, "anthropic_url", tmp_path).generate_until(requests)
    assert sum(server.attempts.values()) == 9


def test_retry_after_is_honoured(tmp_path) -> None:
    with FakeLLMServer(retry_after="1") as srv:
        requests = make_instances("meds_bench_mcqa_medqa_en", 1)
        lm = _lm(adapters.OpenAIChatLM, "gpt-4o", srv, "openai_url", tmp_path, backoff_base=0.001)
        srv.fault_plan[prompt_key(lm.build_body(*_body_args(requests[0])))] = ["429", "429"]
        assert lm.generate_until(requests)[0].startswith("The right answer")
        times = [t for t, _k, _o in srv.events]
        assert len(times) == 3 and times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95


def test_permanent_error_fails_fast_run_goes_on_and_rerun_sends_only_failures(server, tmp_path) -> None:
    server.fault_every = 0
    requests = make_instances("meds_bench_mcqa_medqa_en", 10)
    lm = _lm(adapters.AnthropicMessagesLM, "claude-3-5-sonnet-20241022", server, "anthropic_url", tmp_path)
    bodies = [lm.build_body(*_body_args(r)) for r in requests]
    bad = [prompt_key(b) for b in bodies[:2]]
    hopeless = prompt_key(bodies[2])
    server.fault_plan.update({bad[0]: ["400"], bad[1]: ["400"], hopeless: ["500"] * 20})
    before = adapters.failed_requests()
    out = lm.generate_until(requests)
    assert out[:3] == ["", "", ""] and all(o for o in out[3:])
    assert server.attempts[bad[0]] == 1 and server.attempts[hopeless] == 1 + FAST["max_retries"]
    usage = lm.get_model_info()["meds_api"]["usage"]
    assert usage["total"]["failed"] == 3 and usage["total"]["sent"] == 7
    assert any("max_tokens too large" in f["error"] for f in usage["failures"])  # the provider's message
    assert adapters.failed_requests()["failed"] - before["failed"] == 3
    server.reset_counts()
    server.fault_plan.clear()
    out2 = _lm(adapters.AnthropicMessagesLM, "claude-3-5-sonnet-20241022", server, "anthropic_url", tmp_path)
    assert all(out2.generate_until(requests))
    assert set(server.attempts) == {*bad, hopeless}  # only the failures were resent


def _body_args(request):
    from meds_bench_adapters.base import generation_settings, parse_context

    return parse_context(request.args[0]), generation_settings(request.args[1], 256)


def test_budget_stops_sending_cleanly(server, tmp_path, capsys) -> None:
    server.fault_every = 0
    prices = tmp_path / "prices.json"
    # $1 per 1M input tokens and $1e6 per 1M output tokens: each request's worst case is ~$32.
    prices.write_text('{"models": {"budget-model": {"input": 1, "output": 1000000}}}')
    lm = _lm(
        adapters.OpenAIChatLM,
        "budget-model",
        server,
        "openai_url",
        tmp_path,
        prices=str(prices),
        max_cost_usd=100,
        num_concurrent=1,
    )
    out = lm.generate_until(make_instances("meds_bench_mcqa_medqa_en", 20))
    usage = lm.get_model_info()["meds_api"]["usage"]["total"]
    assert usage["cost_usd"] <= 100
    assert usage["sent"] == sum(server.answered.values()) and 2 <= usage["sent"] < 20
    assert usage["skipped_budget"] == 20 - usage["sent"] and out.count("") == usage["skipped_budget"]
    assert "skipped_budget=" in capsys.readouterr().err


def test_dry_run_makes_no_call_and_estimates(server, tmp_path) -> None:
    lm = _lm(adapters.OpenAIChatLM, "gpt-4", server, "openai_url", tmp_path, dry_run=True)
    out = lm.generate_until(
        make_instances("meds_bench_mcqa_medqa_en", 30) + make_instances("meds_bench_ner_bc4chem", 5)
    )
    assert out == [""] * 35 and sum(server.attempts.values()) == 0
    estimate = lm.get_model_info()["meds_api"]["dry_run_estimate"]
    assert estimate["total"]["requests"] == 35 and estimate["total"]["max_output_tokens"] == 35 * 32
    assert estimate["total"]["max_cost_usd"] > 0 and estimate["per_task"]["meds_bench_ner_bc4chem"]["requests"] == 5


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_guard_refuses_credentialed_before_any_request(server, tmp_path, cls, model, url_attr) -> None:
    requests = make_instances("meds_bench_mcqa_medqa_en", 2) + make_instances("meds_bench_nli_mednli_generative", 2)
    with pytest.raises(adapters.CredentialedDataError, match="meds_bench_nli_mednli_generative"):
        _lm(cls, model, server, url_attr, tmp_path).generate_until(requests)
    assert sum(server.attempts.values()) == 0
    assert all(_lm(cls, model, server, url_attr, tmp_path, allow_credentialed=True).generate_until(requests))


def test_plain_context_is_one_user_message(server, tmp_path) -> None:
    server.fault_every = 0
    _lm(adapters.AnthropicMessagesLM, "claude-3-5-haiku-20241022", server, "anthropic_url", tmp_path).generate_until(
        make_instances("meds_bench_mcqa_medqa_en", 1, chat=False)
    )
    (body,) = server.bodies
    assert "system" not in body and body["messages"][0]["content"].startswith("Definition.")


CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from adapters_fake_server import make_instances
    import meds_bench_adapters as a
    lm = a.OpenAIChatLM(model="gpt-4o", base_url={url!r}, cache_dir={cache!r}, num_concurrent=2, timeout=5,
                        progress=False)
    lm.generate_until(make_instances("meds_bench_mcqa_medqa_en", {n}))
    """
)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_midway_rerun_repeats_no_answered_request(tmp_path, sig) -> None:
    n = 60
    with FakeLLMServer(latency=0.05) as srv:
        script = CHILD.format(tests=str(Path(__file__).parent), url=srv.openai_url, cache=str(tmp_path), n=n)
        child = subprocess.Popen([sys.executable, "-c", script], env={**os.environ}, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while sum(srv.answered.values()) < n // 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        child.send_signal(sig)
        child.wait(timeout=30)
        first = dict(srv.answered)
        assert n // 2 <= len(first) < n
        cache = adapters.cache.ResponseCache(tmp_path)
        lm = _lm(adapters.OpenAIChatLM, "gpt-4o", srv, "openai_url", tmp_path)
        stored = len(cache)
        if sig == signal.SIGINT:  # Ctrl-C: in-flight answers are still received and committed
            assert stored >= len(first) and len(srv.answered) < n
        assert stored >= len(first) - 2  # SIGKILL: at most the in-flight answers were not yet committed
        srv.reset_counts()
        out = lm.generate_until(make_instances("meds_bench_mcqa_medqa_en", n))
        assert all(out)
        assert sum(srv.attempts.values()) == n - stored  # nothing stored was asked again
        assert len(set(srv.answered) & set(first)) <= len(first) - stored
        usage = lm.get_model_info()["meds_api"]["usage"]["total"]
        assert usage["cached"] == stored and usage["sent"] == n - stored
