"""Batch mode (``batch=true``) of both adapters through the real SDKs against the loopback batch fakes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from adapters_fake_server import make_instances
from batch_fake_server import FakeBatchServer

import meds_bench_adapters as adapters
from meds_bench.cli import main as meds_bench
from meds_bench_adapters.batch import BatchState
from meds_bench_adapters.cache import ResponseCache
from meds_bench_adapters.context import fit_messages
from meds_bench_adapters.cost import Ledger, Price, load_prices
from meds_bench_adapters.errors import BatchModeError
from meds_bench_adapters.lm_requests import generation_settings

PROVIDERS = [
    (adapters.OpenAIChatLM, "gpt-4o", "openai_url"),
    (adapters.AnthropicMessagesLM, "claude-sonnet-4-20250514", "anthropic_url"),
]
FAST = {"timeout": 30.0, "backoff_base": 0.01, "backoff_max": 0.05, "max_retries": 3, "progress": False}
# Explicit batch rates, half of the list rates.
PRICES = {
    "gpt-4o": {"input": 2.0, "output": 8.0, "batch_input": 1.0, "batch_output": 4.0},
    "claude-sonnet-4": {"input": 3.0, "output": 15.0, "batch_input": 1.5, "batch_output": 7.5},
}
TASKS = ("meds_bench_mcqa_medqa_en", "meds_bench_ner_bc4chem")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-0123456789")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "MEDS_BENCH_PRICES", "MEDS_BENCH_API_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "tiktoken", None)


@pytest.fixture
def prices(tmp_path: Path) -> str:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": PRICES}))
    return str(path)


def _lm(cls, model, srv, url_attr, cache_dir, prices, **kw):
    args = {**FAST, "batch": True, "batch_poll": 0.01, **kw}
    return cls(model=model, base_url=getattr(srv, url_attr), cache_dir=str(cache_dir), prices=prices, **args)


def _requests(n: int = 4) -> list:
    return make_instances(TASKS[0], n) + make_instances(TASKS[1], n)


def _query(i: int):
    """A fate condition: the request of instance ``i`` (of either task)."""
    return lambda body: body["messages"][-1]["content"] == f"Input:\nquestion {i}\nOutput:"


def test_batch_prices_default_to_half_and_take_explicit_rates(tmp_path) -> None:
    assert Price(2.5, 10).cost(1_000_000, 100_000, batch=True) == pytest.approx(1.75)  # (2.5 + 1.0) / 2
    assert Price(2.5, 10, batch_input=2.0, batch_output=1.0).cost(1_000_000, 1_000_000, batch=True) == 3.0
    assert Price(2.5, 10).side_by_side(1_000_000, 0) == "sync $2.5000 / batch $1.2500"
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"m-explicit": {"input": 1, "output": 2, "batch_input": 0.3, "batch_output": 0.6}}))
    table = load_prices(path)
    assert table["m-explicit"] == Price(1.0, 2.0, 0.3, 0.6)
    assert table["gpt-4o"].cost(0, 1_000_000, batch=True) == pytest.approx(table["gpt-4o"].output / 2)


def test_batch_with_dry_run_is_one_line_before_any_request(tmp_path) -> None:
    with pytest.raises(BatchModeError) as caught:
        adapters.OpenAIChatLM(model="gpt-4o", batch=True, dry_run=True, cache_dir=str(tmp_path))
    assert isinstance(caught.value, SystemExit)  # uncaught: the message is printed and the exit status is 1
    (line,) = str(caught.value).splitlines()
    assert "batch=true with dry_run=true" in line
    with pytest.raises(ValueError, match="batch_fallback='later': use batch_fallback=batch or batch_fallback=sync"):
        adapters.OpenAIChatLM(model="gpt-4o", batch=True, batch_fallback="later", cache_dir=str(tmp_path))


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_batch_run_scores_as_sync_at_half_the_cost(tmp_path, capsys, prices, cls, model, url_attr) -> None:
    with FakeBatchServer() as srv:
        sync_lm = _lm(cls, model, srv, url_attr, tmp_path / "sync", prices, batch=False)
        sync_out = sync_lm.generate_until(_requests())
        requests = _requests()
        batch_lm = _lm(cls, model, srv, url_attr, tmp_path / "batch", prices)
        out = batch_lm.generate_until(requests)
        assert out == sync_out and all(o.startswith("The right answer is A: ") for o in out)
        assert srv.created == 1 and len(srv.batch_answered) == 8 and set(srv.batch_answered.values()) == {1}
        assert len(srv.answered) == 8  # the synchronous run's, none from the batch run
        sync_total = sync_lm.get_model_info()["meds_api"]["usage"]["total"]
        total = batch_lm.get_model_info()["meds_api"]["usage"]["total"]
        assert (total["input_tokens"], total["output_tokens"]) == (
            sync_total["input_tokens"],
            sync_total["output_tokens"],
        )
        assert total["sent"] == total["batched"] == 8 and sync_total["batched"] == 0
        assert total["cost_usd"] == pytest.approx(sync_total["cost_usd"] / 2, rel=1e-6) and total["cost_usd"] > 0
        assert [r.args[1]["meds_api"] for r in requests] == [{"status": "done"}] * 8
        state = BatchState(tmp_path / "batch").records()
        assert len(state) == 1 and state[0]["state"] == "collected" and len(state[0]["keys"]) == 8
        summary = capsys.readouterr().err.splitlines()[-1]
        sync_usd, batch_usd = sync_total["cost_usd"], total["cost_usd"]
        assert summary.endswith(f"(8 via batch; these tokens at sync ${sync_usd:.4f} / batch ${batch_usd:.4f})")
        # a later synchronous run, with the batch run's cache, sends nothing
        srv.reset_counts()
        again = _lm(cls, model, srv, url_attr, tmp_path / "batch", prices, batch=False)
        assert again.generate_until(_requests()) == out and sum(srv.attempts.values()) == 0


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_errored_and_expired_items_go_to_a_follow_up_and_permanent_ones_fail(
    tmp_path, prices, cls, model, url_attr
) -> None:
    def fate(body, n):
        if _query(1)(body) and n == 0:
            return "expired"
        if _query(2)(body) and n == 0:
            return "errored"
        return "invalid" if _query(3)(body) else None

    requests = _requests()
    with FakeBatchServer(fate=fate) as srv:
        failed_before = adapters.failed_requests()["failed"]
        lm = _lm(cls, model, srv, url_attr, tmp_path, prices)
        out = lm.generate_until(requests)
    assert srv.created == 2  # the first batch and one follow-up of the 4 expired / errored items
    assert [len(b["items"]) for b in srv.batches.values()] == [8, 4]
    assert len(srv.batch_answered) == 6 and set(srv.batch_answered.values()) == {1}
    by_query = [out[i] for i in (0, 1, 2, 4, 5, 6)]
    assert all(o.startswith("The right answer is A: ") for o in by_query)
    assert out[3] == out[7] == ""
    meds_api = [requests[i].args[1]["meds_api"] for i in (3, 7)]
    assert all(m["status"] == "failed" and "invalid" in m["error"] for m in meds_api)
    total = lm.get_model_info()["meds_api"]["usage"]["total"]
    assert (total["sent"], total["failed"], total["retries"]) == (6, 2, 4)
    assert adapters.failed_requests()["failed"] - failed_before == 2  # `meds-bench eval` exits non-zero


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_items_still_errored_after_the_follow_ups_are_reported_failures(tmp_path, prices, cls, model, url_attr) -> None:
    with FakeBatchServer(fate=lambda body, n: "errored" if _query(0)(body) else None) as srv:
        lm = _lm(cls, model, srv, url_attr, tmp_path, prices, max_retries=1)
        requests = _requests(2)
        out = lm.generate_until(requests)
    assert srv.created == 2 and out[0] == out[2] == "" and out[1] and out[3]
    assert {requests[0].args[1]["meds_api"]["status"], requests[2].args[1]["meds_api"]["status"]} == {"failed"}
    assert "after 2 batches" in requests[0].args[1]["meds_api"]["error"]
    assert len(adapters.cache.ResponseCache(tmp_path)) == 2  # a failure is never cached


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_sync_fallback_sends_expired_items_one_by_one(tmp_path, prices, cls, model, url_attr) -> None:
    with FakeBatchServer(fate=lambda body, n: "expired" if _query(1)(body) else None) as srv:
        lm = _lm(cls, model, srv, url_attr, tmp_path, prices, batch_fallback="sync")
        out = lm.generate_until(_requests())
        assert srv.created == 1 and len(srv.answered) == 2  # the two expired items, synchronously
    assert all(o.startswith("The right answer is A: ") for o in out)
    total = lm.get_model_info()["meds_api"]["usage"]["total"]
    assert (total["sent"], total["batched"], total["failed"]) == (8, 6, 0)


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_429_on_create_is_retried_and_one_batch_made(tmp_path, prices, cls, model, url_attr) -> None:
    with FakeBatchServer(create_faults=(429, 429)) as srv:
        out = _lm(cls, model, srv, url_attr, tmp_path, prices).generate_until(_requests(2))
    assert srv.create_attempts == 3 and srv.created == 1 and all(out)
    if cls is adapters.OpenAIChatLM:
        assert len(srv.files) == 2  # one input file (uploaded once), one output file


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_server_without_batch_interface_is_one_line(tmp_path, prices, cls, model, url_attr) -> None:
    with FakeBatchServer(no_batch=True) as srv:
        lm = _lm(cls, model, srv, url_attr, tmp_path, prices)
        with pytest.raises(BatchModeError) as caught:
            lm.generate_until(_requests(1))
        assert sum(srv.attempts.values()) == 0  # nothing was sent one by one instead
    (line,) = str(caught.value).splitlines()
    route = "/v1/files" if cls is adapters.OpenAIChatLM else "/v1/messages/batches"
    assert route in line and "404" in line and "run without batch=true" in line


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_batches_are_cut_to_the_provider_limits(tmp_path, prices, monkeypatch, cls, model, url_attr) -> None:
    monkeypatch.setattr(cls, "batch_limits", (3, 10**9))
    with FakeBatchServer() as srv:
        out = _lm(cls, model, srv, url_attr, tmp_path / "n", prices).generate_until(_requests())
        assert all(out) and [len(b["items"]) for b in srv.batches.values()] == [3, 3, 2]
        line_bytes = len(json.dumps(srv.batches[min(srv.batches)]["items"][0][1])) + 200  # ~ one line or request
        monkeypatch.setattr(cls, "batch_limits", (100, 2 * line_bytes))
        out = _lm(cls, model, srv, url_attr, tmp_path / "bytes", prices).generate_until(_requests())
        assert all(out) and [len(b["items"]) for b in list(srv.batches.values())[3:]] == [2, 2, 2, 2]


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_budget_applies_to_the_batch_worst_case(tmp_path, prices, cls, model, url_attr) -> None:
    with FakeBatchServer() as srv:
        probe = _lm(cls, model, srv, url_attr, tmp_path, prices)
        item = _requests(1)[0]
        fit = adapters.context.fit_messages(
            json.loads(item.args[0]), probe.counter, probe.max_context_tokens, 32, probe.truncate
        )  # the prompt's count, as the budget takes it
        worst = probe.price.cost(fit.prompt_tokens, 32, batch=True)
        # 3.5 requests' batch worst case: at synchronous rates fewer than two would fit
        lm = _lm(cls, model, srv, url_attr, tmp_path, prices, max_cost_usd=3.5 * worst)
        requests = _requests(3)
        out = lm.generate_until(requests)
    assert srv.created == 1 and [len(b["items"]) for b in srv.batches.values()] == [3]
    assert sum(bool(o) for o in out) == 3
    assert [r.args[1]["meds_api"]["status"] for r in requests].count("skipped_budget") == 3


CHILD = textwrap.dedent(
    """
    import signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when pytest runs with SIGINT ignored
    sys.path.insert(0, {tests!r})
    from adapters_fake_server import make_instances
    import meds_bench_adapters as a
    lm = getattr(a, {cls!r})(model={model!r}, base_url={url!r}, cache_dir={cache!r}, prices={prices!r},
                             batch=True, batch_poll=0.01, progress=False)
    lm.generate_until(make_instances({t0!r}, 4) + make_instances({t1!r}, 4))
    """
)


def _start_held_child(
    srv, tmp_path, prices, cls, model, url_attr, sig=signal.SIGKILL, until=lambda s: s.created == 1 and s.polls >= 2
) -> str:
    """A batch=true run in its own process, stopped by ``sig`` once ``until(srv)`` holds (by default: while
    its one batch is in progress); its stderr."""
    script = CHILD.format(
        tests=str(Path(__file__).parent),
        cls=cls.__name__,
        model=model,
        url=getattr(srv, url_attr),
        cache=str(tmp_path),
        prices=prices,
        t0=TASKS[0],
        t1=TASKS[1],
    )
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    try:
        srv.wait_batches(until)  # recorded, and now waiting
        child.send_signal(sig)
        assert child.wait(timeout=60) == -sig
    finally:
        if child.poll() is None:
            child.kill()
    return child.stderr.read()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_killed_while_the_batch_runs_the_rerun_resumes_it(tmp_path, prices, cls, model, url_attr, sig) -> None:
    with FakeBatchServer(hold=True) as srv:
        stderr = _start_held_child(srv, tmp_path / "cache", prices, cls, model, url_attr, sig)
        if sig == signal.SIGINT:  # Ctrl-C says how to go on
            assert "interrupted: the submitted batches go on at the provider; rerun the same command" in stderr
        (record,) = BatchState(tmp_path / "cache").records()
        assert record["state"] == "submitted" and len(record["keys"]) == 8
        assert not srv.batch_answered and len(adapters.cache.ResponseCache(tmp_path / "cache")) == 0
        srv.release.set()
        lm = _lm(cls, model, srv, url_attr, tmp_path / "cache", prices)
        out = lm.generate_until(_requests())
        assert srv.created == 1  # resumed, not resubmitted
        assert len(srv.batch_answered) == 8 and set(srv.batch_answered.values()) == {1}  # none answered twice
        assert sum(srv.attempts.values()) == 0  # and none sent one by one
        sync = _lm(cls, model, srv, url_attr, tmp_path / "sync", prices, batch=False).generate_until(_requests())
    assert out == sync and all(out)
    usage = lm.get_model_info()["meds_api"]["usage"]["total"]
    assert usage["batched"] == 8 and BatchState(tmp_path / "cache").records()[0]["state"] == "collected"


def test_batches_list_and_cancel(tmp_path, prices, capsys) -> None:
    cls, model, url_attr = PROVIDERS[1]
    with FakeBatchServer(hold=True) as srv:
        _start_held_child(srv, tmp_path, prices, cls, model, url_attr)
        assert meds_bench(["batches", "list", "--cache", str(tmp_path)]) == 0
        listed = capsys.readouterr().out
        assert "msgbatch_0000  anthropic:claude-sonnet-4-20250514  8 requests  " in listed
        assert "submitted  running: succeeded=0 errored=0 expired=0 processing=8" in listed
        assert meds_bench(["batches", "cancel", "nope", "--cache", str(tmp_path)]) == 2
        assert meds_bench(["batches", "cancel", "--cache", str(tmp_path)]) == 0
        assert "cancelled msgbatch_0000" in capsys.readouterr().out
        assert srv.batches["msgbatch_0000"]["status"] == "cancelled"
        assert BatchState(tmp_path).records()[0]["state"] == "cancelled"
        # a rerun does not wait for the cancelled batch: it submits its requests afresh
        srv.release.set()
        out = _lm(cls, model, srv, url_attr, tmp_path, prices).generate_until(_requests())
        assert all(out) and srv.created == 2


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_a_batch_cancelled_while_the_run_waits_ends_as_failures(tmp_path, prices, capsys, cls, model, url_attr) -> None:
    requests, result = _requests(2), {}
    with FakeBatchServer(hold=True) as srv:
        lm = _lm(cls, model, srv, url_attr, tmp_path, prices)
        waiting = threading.Thread(target=lambda: result.setdefault("out", lm.generate_until(requests)))
        waiting.start()
        srv.wait_batches(lambda s: s.created == 1 and s.polls >= 1)
        assert meds_bench(["batches", "cancel", "--cache", str(tmp_path)]) == 0
        waiting.join(timeout=120)
        assert srv.created == 1  # no follow-up of what someone cancelled
    assert result["out"] == [""] * 4 and not srv.batch_answered
    statuses = [r.args[1]["meds_api"] for r in requests]
    assert all(m["status"] == "failed" and "cancel" in m["error"] for m in statuses)
    assert "4 unanswered" in capsys.readouterr().err


def _batch_worst(lm, request) -> float:
    """The budget's worst case of ``request`` at the batch rates: its counted prompt and full output limit."""
    gen = generation_settings(request.args[1], lm.max_gen_toks)
    fit = fit_messages(json.loads(request.args[0]), lm.counter, lm.max_context_tokens, lm.output_limit(gen), "left")
    return lm.price.cost(fit.prompt_tokens, lm.output_limit(gen), batch=True)


def test_ledger_holds_committed_spending_and_counts_what_an_earlier_process_spent() -> None:
    ledger = Ledger(Price(2.0, 8.0, batch_input=1.0, batch_output=4.0), max_cost_usd=0.01)
    ledger.hold(0.012)  # a resumed batch's worst case: held although it is past the budget
    assert not ledger.reserve(0.0001)
    ledger.release(0.012)
    assert ledger.reserve(0.009) and not ledger.reserve(0.0011)
    ledger.release(0.009)
    ledger.record_answer("t", 0, 1000, 100, cached=False, batch=True, earlier=True)  # 0.0010 + 0.0004
    ledger.record_answer("t", 1, 1000, 100, cached=False, batch=True)  # 0.0014, this process
    ledger.record_answer("t", 2, 1000, 100, cached=False)  # 0.0020 + 0.0008, synchronous
    ledger.record_answer("t", 3, 1000, 100, cached=True)  # free
    total = ledger.report()["total"]
    assert total["cost_usd"] == pytest.approx(0.0056) and total["earlier_cost_usd"] == pytest.approx(0.0014)
    assert (total["sent"], total["batched"], total["cached"]) == (3, 2, 1)
    assert not ledger.reserve(0.0045) and ledger.reserve(0.0044)  # 0.0056 spent counts against the 0.01


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_answers_a_killed_run_collected_are_charged_to_the_rerun(
    tmp_path, prices, capsys, cls, model, url_attr
) -> None:
    cache = tmp_path / "cache"

    def fate(body, n):
        return "expired" if _query(1)(body) and n == 0 else None

    with FakeBatchServer(hold=True, free_batches=1, fate=fate) as srv:
        # the first batch ends and is collected; the child dies while the follow-up of its 2 expired items runs
        _start_held_child(srv, cache, prices, cls, model, url_attr, until=lambda s: s.created == 2 and s.polls >= 3)
        first, follow_up = BatchState(cache).records()
        assert (first["state"], follow_up["state"], len(follow_up["keys"])) == ("collected", "submitted", 2)
        assert len(ResponseCache(cache)) == 6  # collected, but no results ever carried their cost
        srv.release.set()
        lm = _lm(cls, model, srv, url_attr, cache, prices)
        out = lm.generate_until(_requests())
        assert srv.created == 2 and set(srv.batch_answered.values()) == {1}
        sync_lm = _lm(cls, model, srv, url_attr, tmp_path / "sync", prices, batch=False)
        assert out == sync_lm.generate_until(_requests()) and all(out)
    total = lm.get_model_info()["meds_api"]["usage"]["total"]
    sync_total = sync_lm.get_model_info()["meds_api"]["usage"]["total"]
    assert (total["sent"], total["batched"], total["cached"]) == (8, 8, 0)
    assert total["cost_usd"] == pytest.approx(sync_total["cost_usd"] / 2, rel=1e-6) and total["cost_usd"] > 0
    assert total["earlier_cost_usd"] == pytest.approx(total["cost_usd"])
    assert f"(8 via batch, ${total['cost_usd']:.4f} of it spent by an earlier process; " in capsys.readouterr().err
    # the results now carry that cost: a later run reads the answers as free cache hits
    again = _lm(cls, model, srv, url_attr, cache, prices)
    assert again.generate_until(_requests()) == out
    later = again.get_model_info()["meds_api"]["usage"]["total"]
    assert (later["cached"], later["sent"], later["cost_usd"]) == (8, 0, 0.0)


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_a_resumed_batch_counts_against_max_cost_usd(tmp_path, prices, cls, model, url_attr) -> None:
    cache = tmp_path / "cache"
    with FakeBatchServer(hold=True) as srv:
        _start_held_child(srv, cache, prices, cls, model, url_attr)  # questions 0-3 of both tasks, at the provider
        srv.release.set()
        probe = _lm(cls, model, srv, url_attr, tmp_path / "probe", prices)
        requests = make_instances(TASKS[0], 6) + make_instances(TASKS[1], 6)  # questions 4 and 5 are new
        worst = [_batch_worst(probe, r) for r in requests]
        resumed = sum(w for r, w in zip(requests, worst, strict=True) if r.metadata[1] < 4)
        new = [w for r, w in zip(requests, worst, strict=True) if r.metadata[1] >= 4]
        # room for the resumed batch and two new requests, not three
        lm = _lm(cls, model, srv, url_attr, cache, prices, max_cost_usd=resumed + new[0] + new[1] + new[2] / 2)
        out = lm.generate_until(requests)
    assert srv.created == 2 and [len(b["items"]) for b in srv.batches.values()] == [8, 2]
    statuses = [r.args[1]["meds_api"]["status"] for r in requests]
    assert statuses == ["done"] * 10 + ["skipped_budget"] * 2  # the last two new ones: question 4, 5 of task 2
    assert out[-2:] == ["", ""] and all(out[:-2])


@pytest.mark.parametrize(("cls", "model", "url_attr"), PROVIDERS)
def test_answers_of_a_resumed_batch_no_run_asked_for_are_charged_to_the_run_that_does(
    tmp_path, prices, cls, model, url_attr
) -> None:
    cache = tmp_path / "cache"
    with FakeBatchServer(hold=True) as srv:
        _start_held_child(srv, cache, prices, cls, model, url_attr)  # 4 requests of each task in one batch
        srv.release.set()
        first = _lm(cls, model, srv, url_attr, cache, prices)
        assert all(first.generate_until(make_instances(TASKS[0], 4)))  # collects all 8, asked for 4
        first_usage = first.get_model_info()["meds_api"]["usage"]["total"]
        second = _lm(cls, model, srv, url_attr, cache, prices)
        assert all(second.generate_until(_requests()))
        assert srv.created == 1 and len(srv.batch_answered) == 8 and sum(srv.attempts.values()) == 0
        sync_lm = _lm(cls, model, srv, url_attr, tmp_path / "sync", prices, batch=False)
        sync_lm.generate_until(_requests())
    sync_task = sync_lm.get_model_info()["meds_api"]["usage"]["per_task"]
    assert first_usage["cost_usd"] == pytest.approx(sync_task[TASKS[0]]["cost_usd"] / 2, rel=1e-6)
    usage = second.get_model_info()["meds_api"]["usage"]
    assert (usage["total"]["cached"], usage["total"]["sent"]) == (4, 4)  # the 4 the first run's results carried
    assert usage["per_task"][TASKS[0]]["cost_usd"] == 0
    assert usage["total"]["cost_usd"] == pytest.approx(sync_task[TASKS[1]]["cost_usd"] / 2, rel=1e-6)
    assert usage["total"]["cost_usd"] > 0 and usage["total"]["earlier_cost_usd"] == pytest.approx(
        usage["total"]["cost_usd"]
    )
