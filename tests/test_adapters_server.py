"""The adapters through the real ``openai`` / ``anthropic`` SDKs against a fault-injecting loopback server."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from adapters_fake_server import FakeLLMServer, make_instances, prompt_key

import meds_bench_adapters as adapters
from meds_bench_adapters import dispatch

OPENAI_KEY = "sk-test-openai-KEYSTRING-0123456789"
ANTHROPIC_KEY = "sk-ant-test-KEYSTRING-0123456789"
PROVIDERS = [
    (adapters.OpenAIChatLM, "gpt-4o", "openai_url"),
    (adapters.AnthropicMessagesLM, "claude-sonnet-4-20250514", "anthropic_url"),
]
# The client timeout is only ever reached by the injected "timeout" fault: far above a loaded machine's
# answer time, so that a slow answer is never taken for a fault.
FAST = {"timeout": 3.0, "backoff_base": 0.01, "backoff_max": 0.05, "max_retries": 5, "progress": False}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.delenv("MEDS_BENCH_PRICES", raising=False)
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # the token counts below are the estimate's, installed or not


@pytest.fixture
def server():
    with FakeLLMServer(fault_every=2) as srv:
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


class _RecordedWaits:
    """Stands in for a run's stop event inside the retry loop: records each wait instead of sleeping it."""

    def __init__(self, stop: threading.Event, waits: list[float]) -> None:
        self._stop, self._waits = stop, waits

    def wait(self, seconds: float) -> bool:
        self._waits.append(seconds)
        return self._stop.is_set()


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_retry_after_is_honoured(tmp_path, monkeypatch, cls, model, url_attr) -> None:
    waits: list[float] = []
    real = dispatch.call_with_retries

    def recording(fn, policy, stop, on_retry):
        return real(fn, policy, _RecordedWaits(stop, waits), on_retry)

    monkeypatch.setattr(dispatch, "call_with_retries", recording)
    with FakeLLMServer(retry_after="7") as srv:
        requests = make_instances("meds_bench_mcqa_medqa_en", 1)
        lm = _lm(cls, model, srv, url_attr, tmp_path, backoff_base=0.001)
        srv.fault_plan[prompt_key(lm.build_body(*_body_args(requests[0])))] = ["429", "429"]
        assert lm.generate_until(requests)[0].startswith("The right answer")
        assert [o for _t, _k, o in srv.events] == ["429", "429", "ok"]
        # the server's 7 s, plus at most a tenth of backoff_base to spread simultaneous retries
        assert len(waits) == 2 and all(7.0 <= w <= 7.0001 for w in waits)


def test_transient_failure_run_goes_on_and_rerun_sends_only_failures(server, tmp_path) -> None:
    server.fault_every = 0
    requests = make_instances("meds_bench_mcqa_medqa_en", 10)
    lm = _lm(adapters.AnthropicMessagesLM, "claude-sonnet-4-20250514", server, "anthropic_url", tmp_path)
    bodies = [lm.build_body(*_body_args(r)) for r in requests]
    hopeless = [prompt_key(b) for b in bodies[:2]]
    server.fault_plan.update({key: ["500"] * 20 for key in hopeless})
    before = adapters.failed_requests()
    out = lm.generate_until(requests)
    assert out[:2] == ["", ""] and all(o for o in out[2:])
    assert server.attempts[hopeless[0]] == 1 + FAST["max_retries"]
    usage = lm.get_model_info()["meds_api"]["usage"]
    assert usage["total"]["failed"] == 2 and usage["total"]["sent"] == 8
    assert any("injected 500" in f["error"] for f in usage["failures"])  # the provider's message
    assert adapters.failed_requests()["failed"] - before["failed"] == 2
    server.reset_counts()
    server.fault_plan.clear()
    out2 = _lm(adapters.AnthropicMessagesLM, "claude-sonnet-4-20250514", server, "anthropic_url", tmp_path)
    assert all(out2.generate_until(requests))
    assert set(server.attempts) == set(hopeless)  # only the failures were resent


def test_permanent_400_stops_the_run_and_keeps_what_was_answered(server, tmp_path) -> None:
    server.fault_every = 0
    requests = make_instances("meds_bench_mcqa_medqa_en", 10)
    lm = _lm(adapters.AnthropicMessagesLM, "claude-sonnet-4-20250514", server, "anthropic_url", tmp_path,
             num_concurrent=1)  # fmt: skip
    bodies = [lm.build_body(*_body_args(r)) for r in requests]
    server.fault_plan[prompt_key(bodies[3])] = ["400"]
    with pytest.raises(adapters.RunStopped, match="claude-sonnet-4-20250514 rejects the request form .*max_tokens too"):
        lm.generate_until(requests)
    assert server.attempts[prompt_key(bodies[3])] == 1  # not retried
    assert sum(server.answered.values()) == 3 and len(lm.cache) == 3  # one at a time: the three before it, kept
    assert sum(server.attempts.values()) == 4  # nothing was sent after it


def _body_args(request):
    from meds_bench_adapters.lm_requests import generation_settings, parse_context

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
    # Each answer costs $11 (11 words, see default_answer) and each reservation $32 (+ a few input tokens):
    # the k-th request (from 0) is sent while 11k + 32 <= 100, so k = 0..6.
    assert usage["sent"] == sum(server.answered.values()) == 7
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
    assert estimate["per_task"]["meds_bench_ner_bc4chem"]["requests"] == 5
    # The context-fitting count (a third of a token per ASCII letter or space, one per other character, rounded
    # up) + 8 per request + 4 per message. MCQA system: 45 letters/spaces + 5 others -> 20; user "question i":
    # 22 + 3 -> 11 for i < 10, 22 + 4 -> 12 for i >= 10. NER system: 43 + 5 -> 20; users i < 5 -> 11.
    mcqa = 30 * (20 + 16) + 10 * 11 + 20 * 12
    assert estimate["total"]["input_tokens"] == mcqa + 5 * (20 + 11 + 16) == 1665
    assert estimate["total"]["max_cost_usd"] == pytest.approx((1665 * 30 + 35 * 32 * 60) / 1e6)  # gpt-4: $30/$60


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_guard_refuses_credentialed_before_any_request(server, tmp_path, cls, model, url_attr) -> None:
    requests = make_instances("meds_bench_mcqa_medqa_en", 2) + make_instances("meds_bench_nli_mednli_generative", 2)
    with pytest.raises(adapters.CredentialedDataError, match="meds_bench_nli_mednli_generative"):
        _lm(cls, model, server, url_attr, tmp_path).generate_until(requests)
    assert sum(server.attempts.values()) == 0
    assert all(_lm(cls, model, server, url_attr, tmp_path, allow_credentialed=True).generate_until(requests))


def test_plain_context_is_one_user_message(server, tmp_path) -> None:
    server.fault_every = 0
    _lm(adapters.AnthropicMessagesLM, "claude-haiku-4-5-20251001", server, "anthropic_url", tmp_path).generate_until(
        make_instances("meds_bench_mcqa_medqa_en", 1, chat=False)
    )
    (body,) = server.bodies
    assert "system" not in body and body["messages"][0]["content"].startswith("Definition.")


CHILD = textwrap.dedent(
    """
    import signal, sys
    # Ctrl-C must raise KeyboardInterrupt even when this test runs in a background job, where the shell
    # starts pytest, and so this child, with SIGINT ignored (Python then installs no handler of its own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, {tests!r})
    from adapters_fake_server import make_instances
    import meds_bench_adapters as a
    lm = a.OpenAIChatLM(model="gpt-4o", base_url={url!r}, cache_dir={cache!r}, num_concurrent={concurrency},
                        timeout=600, progress=False)
    lm.generate_until(make_instances("meds_bench_mcqa_medqa_en", {n}))
    """
)


def _line_starting(stream, prefix: str, timeout: float = 120.0) -> str:
    """The first line of ``stream`` that starts with ``prefix``; the rest is drained so the writer never blocks."""
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            if line.startswith(prefix):
                found.put(line)
        found.put("")

    threading.Thread(target=read, daemon=True).start()
    try:
        return found.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no line starting with {prefix!r} within {timeout} s") from None


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_midway_rerun_repeats_no_answered_request(tmp_path, sig) -> None:
    """The signal comes after exactly 30 answers, while the server holds the child's 2 next requests, so
    what was answered, committed and resent is the same under any load."""
    n, before_signal, concurrency = 60, 30, 2
    with FakeLLMServer(hold_after=before_signal) as srv:
        script = CHILD.format(
            tests=str(Path(__file__).parent), url=srv.openai_url, cache=str(tmp_path), n=n, concurrency=concurrency
        )
        child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
        try:
            srv.wait_for(lambda s: sum(s.answered.values()) == before_signal and s.held == concurrency)
            child.send_signal(sig)
            if sig == signal.SIGINT:
                # Ctrl-C: the run stops sending and prints its summary before the held requests are answered.
                summary = _line_starting(child.stderr, "[openai:gpt-4o] ")
                assert f" done={before_signal} cached=0 failed=0 no_answer_text=0 skipped_budget=0 " in summary
            srv.release.set()  # after Ctrl-C the 2 in-flight answers still arrive and are committed
            assert child.wait(timeout=120) == -sig
        finally:
            if child.poll() is None:
                child.kill()
        answered_to_child = set(srv.answered) if sig == signal.SIGINT else None
        stored = len(adapters.cache.ResponseCache(tmp_path))
        assert stored == before_signal + (concurrency if sig == signal.SIGINT else 0)
        if answered_to_child is not None:
            assert len(answered_to_child) == stored
        srv.reset_counts()
        srv.hold_after = None
        lm = _lm(adapters.OpenAIChatLM, "gpt-4o", srv, "openai_url", tmp_path, timeout=60)
        out = lm.generate_until(make_instances("meds_bench_mcqa_medqa_en", n))
        assert all(out)
        assert sum(srv.attempts.values()) == n - stored  # nothing stored was asked again
        if answered_to_child is not None:
            assert not set(srv.answered) & answered_to_child
        usage = lm.get_model_info()["meds_api"]["usage"]["total"]
        assert usage["cached"] == stored and usage["sent"] == n - stored


LONG_CASES = "a" * 1500 + "x" * 1500  # 1000 tokens by the high estimate, ~750 by the fake server's count
QUERY = "{i}" + "y" * 27  # 10 tokens: a digit is one, a letter a third


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_over_long_prompt_is_cut_on_the_left_to_the_window(tmp_path, capsys, cls, model, url_attr) -> None:
    with FakeLLMServer(context_window=200) as srv:
        requests = make_instances("meds_bench_mcqa_medqa_en", 2, system=LONG_CASES, query=QUERY)
        lm = _lm(cls, model, srv, url_attr, tmp_path, max_context_tokens=200)
        out = lm.generate_until(requests)
        assert all(o.startswith("The right answer is A: ") for o in out)  # the server accepted both
        # 1000 + 10 + 16 overhead = 1026 tokens into 200 - 32 output: 858 go, the system message keeps 142
        kept = "x" * (142 * 3)
        for body, i in zip(sorted(srv.bodies, key=lambda b: b["messages"][-1]["content"]), range(2), strict=True):
            system = body["system"] if "system" in body else body["messages"][0]["content"]
            assert system == kept and body["messages"][-1]["content"] == QUERY.format(i=i)  # the query survives
        meds_api = [r.args[1]["meds_api"] for r in requests]
        assert meds_api == [{"status": "done", "truncated": {"prompt_tokens": 1026, "dropped_tokens": 858}}] * 2
        usage = lm.get_model_info()["meds_api"]["usage"]
        assert usage["total"]["truncated"] == 2 and usage["total"]["failed"] == 0
        assert usage["truncations"][0] == {
            "task": "meds_bench_mcqa_medqa_en",
            "doc_id": 0,
            "prompt_tokens": 1026,
            "dropped_tokens": 858,
        }
        assert " truncated=2 " in capsys.readouterr().err


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_over_long_prompt_fails_with_a_recorded_reason(tmp_path, capsys, cls, model, url_attr) -> None:
    with FakeLLMServer(context_window=200) as srv:
        # truncate=fail: nothing is sent, the reason is recorded
        requests = make_instances("meds_bench_mcqa_medqa_en", 1, system=LONG_CASES, query=QUERY)
        lm = _lm(cls, model, srv, url_attr, tmp_path / "a", max_context_tokens=200, truncate="fail")
        assert lm.generate_until(requests) == [""] and srv.bodies == []
        reason = (
            "prompt of 1026 tokens (estimate) + 32 output tokens > max_context_tokens=200; "
            "not sent (truncate=fail): pass truncate=left to cut it"
        )
        assert requests[0].args[1]["meds_api"] == {"status": "failed", "error": reason}
        assert lm.get_model_info()["meds_api"]["usage"]["failures"][0]["error"] == reason
        assert "failed=1" in capsys.readouterr().err
        # an unknown window: the server's own refusal is the recorded reason
        requests = make_instances("meds_bench_mcqa_medqa_en", 1, system=LONG_CASES, query=QUERY)
        lm = _lm(cls, "my-model", srv, url_attr, tmp_path / "b")
        assert lm.max_context_tokens is None and lm.generate_until(requests) == [""] and len(srv.bodies) == 1
        error = requests[0].args[1]["meds_api"]["error"]
        refusal = "maximum context length is 200" if cls is adapters.OpenAIChatLM else "prompt is too long"
        assert error.startswith("HTTP 400") and refusal in error


def _reasoning_server(**kw) -> FakeLLMServer:
    reasoning = frozenset({"max_tokens", "temperature", "top_p", "stop"})
    return FakeLLMServer(
        unsupported={"o3-mini": reasoning, "azure-o3": reasoning, "o3-proxy": frozenset({"max_completion_tokens"})},
        **kw,
    )


def test_reasoning_model_by_name_gets_max_completion_tokens_and_no_sampling(tmp_path) -> None:
    with _reasoning_server(reasoning_used=100) as srv:
        lm = _lm(adapters.OpenAIChatLM, "o3-mini", srv, "openai_url", tmp_path, reasoning_tokens=500)
        out = lm.generate_until(make_instances("meds_bench_mcqa_medqa_en", 3))
        assert all(o.startswith("The right answer is A: ") and "\n" not in o for o in out)  # stops applied here
        assert len(srv.bodies) == 3 and all(
            set(b) == {"model", "messages", "max_completion_tokens"} for b in srv.bodies
        )
        assert {b["max_completion_tokens"] for b in srv.bodies} == {32 + 500}
        info = lm.get_model_info()["meds_api"]
        assert (info["request_form"], info["reasoning_tokens"]) == ("max_completion_tokens", 500)
        assert info["usage"]["total"]["output_tokens"] == 3 * (100 + 11)  # reasoning tokens are billed output


@pytest.mark.parametrize(
    ("model", "first", "then"),
    [("azure-o3", "max_tokens", "max_completion_tokens"), ("o3-proxy", "max_completion_tokens", "max_tokens")],
)
def test_server_rejecting_a_parameter_switches_the_form_once_for_the_run(tmp_path, model, first, then) -> None:
    with _reasoning_server() as srv:
        requests = make_instances("meds_bench_mcqa_medqa_en", 6)
        settings = {"num_concurrent": 1, "reasoning_tokens": 64}
        lm = _lm(adapters.OpenAIChatLM, model, srv, "openai_url", tmp_path, **settings)
        out = lm.generate_until(requests)
        assert all(out) and [r.args[1]["meds_api"]["status"] for r in requests] == ["done"] * 6
        # one rejected request, resent at once in the other form, which every later request uses
        assert len(srv.bodies) == 7 and first in srv.bodies[0] and all(then in b for b in srv.bodies[1:])
        assert {b.get("max_completion_tokens", b.get("max_tokens")) for b in srv.bodies[1:]} == {
            32 + 64 if then == "max_completion_tokens" else 32
        }
        usage = lm.get_model_info()["meds_api"]
        assert usage["request_form"] == then and usage["usage"]["total"]["retries"] == 0
        srv.reset_counts()  # the cache keys do not depend on what was learned: a rerun sends nothing
        again = _lm(adapters.OpenAIChatLM, model, srv, "openai_url", tmp_path, **settings)
        assert again.generate_until(requests) == out
        assert srv.bodies == []


def test_reasoning_that_uses_the_whole_limit_is_a_recorded_failure(tmp_path) -> None:
    with _reasoning_server(reasoning_used=100) as srv:
        requests = make_instances("meds_bench_mcqa_medqa_en", 1)
        lm = _lm(adapters.OpenAIChatLM, "o3-mini", srv, "openai_url", tmp_path, reasoning_tokens=50)
        assert lm.generate_until(requests) == [""] and len(srv.bodies) == 1  # permanent: not retried
        error = requests[0].args[1]["meds_api"]["error"]
        assert "output limit of 82 tokens was used up by thinking; raise reasoning_tokens" in error
        bigger = _lm(adapters.OpenAIChatLM, "o3-mini", srv, "openai_url", tmp_path, reasoning_tokens=200)
        assert bigger.generate_until(requests)[0].startswith("The right answer")  # not cached: asked again
