"""Unit tests of the API adapters' shared layer: cache keys, retry policy, prices, guard, request bodies."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

import meds_bench_adapters as adapters
from meds_bench_adapters import retry
from meds_bench_adapters.cache import CachedAnswer, ResponseCache, request_key
from meds_bench_adapters.cost import Ledger, Price, load_prices, price_for
from meds_bench_adapters.guard import (
    CredentialedDataError,
    SecretInArgsError,
    check_credentialed,
    credentialed_tasks,
)
from meds_bench_adapters.lm_requests import generation_settings, parse_context, trim_at_stops
from meds_bench_adapters.retry import (
    MalformedResponse,
    RequestFailed,
    RetryPolicy,
    call_with_retries,
    parse_retry_after,
)


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-unit-openai-0123456789")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-unit-anthropic-0123456789")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)


def test_registered_alongside_builtin_models() -> None:
    from lm_eval.api.registry import get_model

    assert get_model("meds-openai") is adapters.OpenAIChatLM
    assert get_model("meds-anthropic") is adapters.AnthropicMessagesLM
    assert get_model("local-chat-completions").__name__ == "LocalChatCompletion"


def test_cache_key_separates_provider_model_endpoint_and_fields() -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "q"}], "max_tokens": 8, "temperature": 0.0}
    base = request_key("openai", None, body)
    assert base == request_key("openai", None, dict(reversed(list(body.items()))))  # canonical order
    assert base != request_key("anthropic", None, body)
    assert base != request_key("openai", None, {**body, "model": "gpt-4"})
    assert base != request_key("openai", "http://localhost:8000/v1", body)
    assert base != request_key("openai", None, {**body, "max_tokens": 9})
    assert base != request_key("openai", None, {**body, "stop": ["\n"]})
    assert request_key("openai", "http://h/v1/", body) == request_key("openai", "http://h/v1", body)


def test_cache_is_safe_under_threads_and_persists(tmp_path) -> None:
    cache = ResponseCache(tmp_path)

    def write(start: int) -> None:
        for i in range(start, start + 50):
            cache.put(f"k{i}", "openai", "m", CachedAnswer(f"t{i}", i, 1))

    threads = [threading.Thread(target=write, args=(n * 50,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 400
    other = ResponseCache(tmp_path)  # a second connection (another process would do the same)
    assert other.get("k399") == CachedAnswer("t399", 399, 1)
    assert other.get("missing") is None
    mode = sqlite3.connect(cache.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < parse_retry_after({"retry-after": date}) <= 31
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


class _StatusError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"status {status}")
        self.status_code = status
        self.response = None


@pytest.mark.parametrize(
    ("status", "retried"),
    [
        (429, True),
        (408, True),
        (409, True),
        (500, True),
        (529, True),
        (400, False),
        (401, False),
        (404, False),
        (422, False),
    ],
)
def test_retry_classification(status: int, retried: bool) -> None:
    calls = []

    def fn() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise _StatusError(status)
        return "ok"

    policy = RetryPolicy(max_retries=3, base=0.001)
    if retried:
        assert call_with_retries(fn, policy) == "ok"
        assert len(calls) == 2
    else:
        with pytest.raises(RequestFailed, match=f"HTTP {status}") as err:
            call_with_retries(fn, policy)
        assert len(calls) == 1 and not err.value.retryable


def test_retries_are_bounded_and_transport_errors_retried() -> None:
    calls = []

    def fn() -> str:
        calls.append(1)
        raise MalformedResponse("no choices")

    with pytest.raises(RequestFailed) as err:
        call_with_retries(fn, RetryPolicy(max_retries=4, base=0.001))
    assert len(calls) == 5 and err.value.attempts == 5 and err.value.retryable
    calls.clear()
    with pytest.raises(RequestFailed):
        call_with_retries(
            lambda: (calls.append(1), (_ for _ in ()).throw(ConnectionResetError()))[1],
            RetryPolicy(max_retries=2, base=0.001),
        )
    assert len(calls) == 3


def test_backoff_grows_with_jitter_and_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = RetryPolicy(base=1.0, cap=8.0)
    samples = [policy.backoff(n) for n in range(10) for _ in range(20)]
    assert all(0 <= s <= 8.0 for s in samples)
    assert len({round(s, 6) for s in samples}) > 100  # jittered
    bounds = []
    monkeypatch.setattr(retry.random, "uniform", lambda low, high: bounds.append((low, high)) or high)
    assert [policy.backoff(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]  # doubles up to the cap
    assert {low for low, _high in bounds} == {0}  # full jitter: anywhere from 0


def test_prices_prefix_match_and_user_override(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    prices = load_prices()
    assert price_for("gpt-4o-2024-08-06", prices) == prices["gpt-4o"]
    assert price_for("gpt-4o-mini-2024-07-18", prices) == prices["gpt-4o-mini"]
    assert price_for("claude-sonnet-4-5-20250929", prices) == Price(3.0, 15.0, 1.5, 7.5)
    assert price_for("us.anthropic.claude-opus-4-7-v1:0", prices) == Price(5.0, 25.0, 2.5, 12.5)  # Bedrock id
    assert price_for("claude-fable-5-1", prices).cost(1_000_000, 0, batch=True) == pytest.approx(5.0)
    assert price_for("my-local-model", prices) is None
    override = tmp_path / "p.json"
    override.write_text(
        json.dumps({"models": {"my-local-model": {"input": 1, "output": 2}, "gpt-4o": {"input": 9, "output": 9}}})
    )
    monkeypatch.setenv("MEDS_BENCH_PRICES", str(override))
    prices = load_prices()
    assert price_for("my-local-model", prices) == Price(1, 2)
    assert price_for("gpt-4o", prices) == Price(9, 9)
    assert Price(2.5, 10).cost(1_000_000, 100_000) == pytest.approx(3.5)
    assert Price(2.5, 10).cost(1_000_000, 100_000, batch=True) == pytest.approx(1.75)  # half when not listed


def test_ledger_budget_reservations() -> None:
    ledger = Ledger(price=Price(1e6, 0), max_cost_usd=10.0)  # $1 per input token
    assert ledger.reserve(6.0)
    assert not ledger.reserve(6.0)  # 6 reserved + 6 > 10
    ledger.release(6.0)
    ledger.record_answer("t", 0, 5, 0, cached=False)
    assert ledger.spent == 5.0
    assert ledger.reserve(5.0) and not ledger.reserve(0.5)
    assert ledger.report()["per_request"] == [["t", 0, "done", 5, 0, 5.0]]


def test_guard_names_credentialed_tasks() -> None:
    assert credentialed_tasks(["meds_bench_nli_mednli_discriminative", "meds_bench_mcqa_medqa_en", "arc_easy"]) == [
        "meds_bench_nli_mednli_discriminative"
    ]
    check_credentialed(["meds_bench_mcqa_medqa_en", "arc_easy"], allow=False, model_name="x")
    check_credentialed(["meds_bench_summarization_mimic_cxr"], allow=True, model_name="x")
    with pytest.raises(CredentialedDataError, match="meds_bench_summarization_mimic_cxr.*allow_credentialed=true"):
        check_credentialed(["meds_bench_summarization_mimic_cxr", "meds_bench_mcqa_medqa_en"], False, "openai:gpt-4o")


@pytest.mark.parametrize(
    "args",
    [
        {"api_key": "sk-abc"},
        {"API-KEY": "x"},
        {"password": "x"},
        {"base_url": "https://user:pw@example.com/v1"},
        {"base_url": "https://example.openai.azure.com/openai/v1?api-key=abc"},
    ],
)
def test_secrets_in_model_args_refused(args: dict[str, str], tmp_path) -> None:
    with pytest.raises(SecretInArgsError):
        adapters.OpenAIChatLM(model="gpt-4o", cache_dir=tmp_path, **args)
    assert list(tmp_path.iterdir()) == []  # refused before anything was created


def test_missing_key_and_unknown_args(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(adapters.MissingCredentials, match="ANTHROPIC_API_KEY is not set: export it"):
        adapters.AnthropicMessagesLM(model="claude-sonnet-5", cache_dir=tmp_path)
    adapters.AnthropicMessagesLM(model="claude-sonnet-5", cache_dir=tmp_path, dry_run=True)  # a dry run needs no key
    # Bedrock and Vertex use their platforms' credentials, not ANTHROPIC_API_KEY.
    adapters.AnthropicMessagesLM(model="anthropic.claude-opus-4-7", cache_dir=tmp_path, platform="bedrock")
    with pytest.raises(ValueError, match="batch=true: the anthropic SDK has no Message Batches client for platform"):
        adapters.AnthropicMessagesLM(model="claude-sonnet-5", cache_dir=tmp_path, platform="vertex", batch=True)
    with pytest.raises(ValueError, match="platform='azure': use one of anthropic, bedrock, vertex"):
        adapters.AnthropicMessagesLM(model="claude-sonnet-5", cache_dir=tmp_path, platform="azure")
    with pytest.raises(TypeError, match="max_cost"):
        adapters.OpenAIChatLM(model="gpt-4o", cache_dir=tmp_path, max_cost=3)
    with pytest.raises(ValueError, match="prices"):
        adapters.OpenAIChatLM(model="my-local-model", cache_dir=tmp_path, max_cost_usd=1)
    with pytest.raises(adapters.ModelArgError, match="needs model=<id>, e.g. --model_args model=gpt-5.1"):
        adapters.OpenAIChatLM(cache_dir=tmp_path)
    with pytest.raises(adapters.ModelArgError, match="claude-3-5-sonnet-20241022 was retired on 2025-10-22"):
        adapters.AnthropicMessagesLM(model="claude-3-5-sonnet-20241022", cache_dir=tmp_path)
    lm = adapters.OpenAIChatLM(model="gpt-4o", cache_dir=tmp_path, batch_size=1, device="cpu")  # lm-eval's extras
    with pytest.raises(NotImplementedError, match="generate_until"):
        lm.loglikelihood([])


def test_context_and_generation_settings(tmp_path) -> None:
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    lm = adapters.OpenAIChatLM(model="gpt-4o", cache_dir=tmp_path)
    assert parse_context(lm.apply_chat_template(messages)) == messages
    assert parse_context("Input:\nq\nOutput:\n") == [{"role": "user", "content": "Input:\nq\nOutput:\n"}]
    assert parse_context("[1, 2] is a list") == [{"role": "user", "content": "[1, 2] is a list"}]
    gen = generation_settings({"until": ["\n\n"], "max_gen_toks": 12, "temperature": 0.7}, 256)
    assert gen.temperature == 0.0 and gen.max_tokens == 12 and gen.top_p is None  # greedy unless do_sample
    sampled = generation_settings({"do_sample": True, "temperature": 0.7, "top_p": 0.9}, 256)
    assert (sampled.temperature, sampled.top_p, sampled.max_tokens) == (0.7, 0.9, 256)
    assert trim_at_stops("A\n\nInput: x", ["\nInput:", "\n\n"]) == "A"


def test_request_bodies_split_system_and_drop_invalid_stops(tmp_path) -> None:
    messages = [{"role": "system", "content": "cases+definition"}, {"role": "user", "content": "query"}]
    openai_lm = adapters.OpenAIChatLM(model="gpt-4", cache_dir=tmp_path)
    anthropic_lm = adapters.AnthropicMessagesLM(model="claude-sonnet-4-0", cache_dir=tmp_path)
    gen = generation_settings({"until": ["\nInput:", "\n\n", " ", "a", "b", "c"], "max_gen_toks": 5}, 256)
    body = openai_lm.build_body(messages, gen)
    assert body["messages"] == messages and body["temperature"] == 0.0 and body["max_tokens"] == 5
    assert body["stop"] == ["\nInput:", "\n\n", " ", "a"]  # at most four
    body = anthropic_lm.build_body(messages, gen)
    assert body["system"] == "cases+definition" and body["messages"] == [{"role": "user", "content": "query"}]
    assert body["stop_sequences"] == ["\nInput:", "a", "b", "c"]  # whitespace-only ones are applied locally
    body = anthropic_lm.build_body([{"role": "user", "content": "q"}], generation_settings({"until": []}, 7))
    assert "stop_sequences" not in body and "system" not in body and body["max_tokens"] == 7


def test_failure_tally_counts_per_status_and_per_task():
    from meds_bench_adapters.tally import FailureTally

    tally = FailureTally()
    tally.add("task57", failed=2, output_limit=1, skipped_budget=0)
    tally.add("task12", failed=0, output_limit=0, skipped_budget=3)
    tally.add("task57", failed=1, output_limit=0, skipped_budget=0)
    tally.add("task99", failed=0, output_limit=0, skipped_budget=0)
    assert tally.snapshot() == {"failed": 3, "output_limit": 1, "skipped_budget": 3}
    assert tally.per_task() == {"task12": 3, "task57": 4}
    tally.reset()
    assert tally.per_task() == {} and tally.snapshot() == {"failed": 0, "output_limit": 0, "skipped_budget": 0}


def test_results_record_how_the_prompts_reached_the_model(tmp_path) -> None:
    from adapters_fake_server import make_instances

    from meds_bench_adapters.lm_requests import CHAT_LAYOUT, PLAIN_LAYOUT

    chat = adapters.OpenAIChatLM(model="gpt-4o", dry_run=True, cache_dir=str(tmp_path))
    chat.generate_until(make_instances("meds_bench_mcqa_medqa_en", 2))
    assert chat.get_model_info()["meds_api"]["prompt_layout"] == [CHAT_LAYOUT]
    mixed = adapters.OpenAIChatLM(model="gpt-4o", dry_run=True, cache_dir=str(tmp_path))
    mixed.generate_until(make_instances("meds_bench_mcqa_medqa_en", 2, chat=False))
    mixed.generate_until(make_instances("meds_bench_mcqa_medqa_en", 1))
    assert mixed.get_model_info()["meds_api"]["prompt_layout"] == sorted([CHAT_LAYOUT, PLAIN_LAYOUT])


def test_only_our_chat_api_models_send_chat_messages() -> None:
    assert adapters.sends_chat_messages("meds-openai") and adapters.sends_chat_messages("meds-anthropic")
    assert not any(adapters.sends_chat_messages(name) for name in ("dummy", "hf", "no-such-model", None))
