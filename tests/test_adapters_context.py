"""Unit tests of context fitting (left truncation), token counting and the OpenAI request forms."""

from __future__ import annotations

import sys
import types

import pytest

import meds_bench_adapters as adapters
from meds_bench_adapters.context import (
    EstimateCounter,
    TiktokenCounter,
    context_window,
    counter_for,
    fit_messages,
)
from meds_bench_adapters.families import family_for
from meds_bench_adapters.lm_requests import generation_settings
from meds_bench_adapters.openai_chat import rejected_parameter

EST = EstimateCounter()


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-unit-openai-0123456789")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-unit-anthropic-0123456789")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def _chat(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def test_estimate_counts_high_by_script() -> None:
    assert EST.count("abc") == 1 and EST.count("abcd") == 2  # a third of a token per ASCII letter, rounded up
    assert EST.count("a b") == 1 and EST.count("123") == 3 and EST.count("1.5") == 3  # digits, punctuation: 1
    assert EST.count("éжω") == 3  # accented, Cyrillic, Greek letters: 1 each
    assert EST.count("中文") == 4  # CJK: 2 each
    assert EST.count("ab1é中") == 5  # (1 + 1 + 3 + 3 + 6) thirds = 14 thirds, rounded up
    assert EST.count("") == 0


def test_estimate_keeps_the_end_within_budget() -> None:
    assert EST.keep_last("ab1é中", 3) == "é中"  # 9 thirds: 中 (6) + é (3); "1" would need 3 more
    assert EST.keep_last("x" * 30, 4) == "x" * 12
    assert EST.keep_last("xyz", 5) == "xyz" and EST.keep_last("xyz", 0) == ""


def test_fit_leaves_a_prompt_that_fits_alone() -> None:
    messages = _chat("x" * 300, "y" * 30)
    fit = fit_messages(messages, EST, 1000, 20, "left")
    assert fit.messages is messages and fit.dropped_tokens == 0 and fit.error is None
    assert fit.prompt_tokens == 100 + 10 + 8 + 2 * 4  # contents + request and per-message overhead
    assert fit_messages(messages, EST, None, 20, "left") == type(fit)(messages, fit.prompt_tokens)  # counted, not cut


def test_fit_cuts_the_start_of_the_first_message_and_keeps_the_query() -> None:
    # 126 tokens (100 + 10 + 16 overhead) into 100 - 20 output = 80: 46 go, all from the system message.
    fit = fit_messages(_chat("a" * 150 + "x" * 150, "y" * 30), EST, 100, 20, "left")
    assert fit.error is None and (fit.prompt_tokens, fit.dropped_tokens) == (126, 46)
    assert fit.messages == _chat("a" * 12 + "x" * 150, "y" * 30)


def test_fit_drops_whole_messages_then_cuts_the_query_from_the_left() -> None:
    # 30 + 11 + 16 = 57 tokens into 30 - 5 = 25: 32 go, the system message (30) and 2 of the query's 11
    # ("Input: " + 23 letters is 32 thirds; 9 tokens = 27 thirds keep ": " and the letters).
    fit = fit_messages(_chat("x" * 90, "Input: " + "y" * 23), EST, 30, 5, "left")
    assert (fit.prompt_tokens, fit.dropped_tokens, fit.error) == (57, 32, None)
    assert fit.messages == [{"role": "user", "content": ": " + "y" * 23}]


def test_fit_never_opens_with_an_assistant_turn() -> None:
    # few-shot cases as turns: 10 + 5 + 5 + 10 + 24 overhead = 54 tokens into 40 - 4 = 36: 18 go, the first
    # question (10), its answer (5) and 3 of the second question's 5.
    turns = [
        {"role": "user", "content": "q" * 30},
        {"role": "assistant", "content": "a" * 15},
        {"role": "user", "content": "r" * 15},
        {"role": "user", "content": "s" * 30},
    ]
    fit = fit_messages(turns, EST, 40, 4, "left")
    assert fit.dropped_tokens == 18 and fit.messages == [turns[2] | {"content": "r" * 6}, turns[3]]
    # into 46 - 4 = 42: 12 go, the first question and 2 of its answer, whose rest would open: it goes too
    fit = fit_messages(turns, EST, 46, 4, "left")
    assert fit.dropped_tokens == 12 and fit.messages == turns[2:]


def test_fit_refuses_with_the_reason() -> None:
    messages = _chat("x" * 300, "y" * 30)
    fit = fit_messages(messages, EST, 100, 20, "fail")
    assert fit.messages is messages and fit.dropped_tokens == 0
    assert fit.error == (
        "prompt of 126 tokens (estimate) + 20 output tokens > max_context_tokens=100; "
        "not sent (truncate=fail): pass truncate=left to cut it"
    )
    crowded = fit_messages(messages, EST, 100, 95, "left")  # 121 tokens to drop, only 110 of content
    assert crowded.error is not None and "raise max_context_tokens or lower max_gen_toks" in crowded.error


class _ByteEncoding:
    """A stand-in tiktoken encoding: one token per UTF-8 byte."""

    name = "bytes"

    def encode(self, text: str, disallowed_special: tuple = ()) -> list[int]:
        assert disallowed_special == ()  # special-token text in a prompt must not raise
        return list(text.encode("utf-8"))

    def decode(self, tokens: list[int]) -> str:
        return bytes(tokens).decode("utf-8", errors="replace")


def test_tiktoken_counter_cuts_tokens_and_partial_characters() -> None:
    counter = TiktokenCounter(_ByteEncoding())
    assert counter.name == "tiktoken:bytes" and counter.count("aé") == 3
    assert counter.keep_last("aé", 2) == "é" and counter.keep_last("aé", 1) == ""  # half of é is dropped
    assert counter.keep_last("aé", 3) == "aé" and counter.keep_last("aé", 0) == ""


def test_counter_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("tiktoken")

    def encoding_for_model(model: str) -> _ByteEncoding:
        if not model.startswith("gpt-"):
            raise KeyError(model)
        return _ByteEncoding()

    fake.encoding_for_model = encoding_for_model
    monkeypatch.setitem(sys.modules, "tiktoken", fake)
    assert counter_for("openai", "gpt-4o").name == "tiktoken:bytes"
    assert counter_for("openai", "my-local-model").name == "estimate"  # tiktoken does not know it
    assert counter_for("anthropic", "gpt-4o").name == "estimate"  # Claude's tokenizer is not tiktoken
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # not installed
    assert counter_for("openai", "gpt-4o").name == "estimate"


def test_context_windows_by_prefix_and_model_args(tmp_path) -> None:
    assert context_window("openai", "gpt-4-0613") == 8192 and context_window("openai", "gpt-4o-2024-08-06") == 128000
    assert context_window("anthropic", "claude-sonnet-4-5-20250929") == 200000
    assert context_window("anthropic", "claude-opus-4-7") == 1000000 and context_window("openai", "my-model") is None
    assert context_window("anthropic", "us.anthropic.claude-haiku-4-5-20251001-v1:0") == 200000  # Bedrock id
    lm = adapters.OpenAIChatLM(model="gpt-4", cache_dir=tmp_path)
    assert (lm.max_context_tokens, lm.truncate) == (8192, "left")
    lm = adapters.AnthropicMessagesLM(
        model="claude-sonnet-5", cache_dir=tmp_path, max_context_tokens="5000", truncate="FAIL"
    )
    assert (lm.max_context_tokens, lm.truncate, lm.counter.name) == (5000, "fail", "estimate")
    assert adapters.OpenAIChatLM(model="my-model", cache_dir=tmp_path).max_context_tokens is None
    with pytest.raises(ValueError, match="truncate='right': use truncate=left or truncate=fail"):
        adapters.OpenAIChatLM(model="gpt-4o", cache_dir=tmp_path, truncate="right")
    with pytest.raises(ValueError, match="max_context_tokens='8k': give a positive whole number"):
        adapters.OpenAIChatLM(model="gpt-4o", cache_dir=tmp_path, max_context_tokens="8k")
    with pytest.raises(ValueError, match="reasoning_tokens=-1"):
        adapters.OpenAIChatLM(model="gpt-4o", cache_dir=tmp_path, reasoning_tokens=-1)


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        ("o1", True),
        ("o1-mini", True),
        ("o3-mini-2025-01-31", True),
        ("o4-mini", True),
        ("gpt-5", True),
        ("gpt-5-nano", True),
        ("openai/o3", True),
        ("gpt-5-chat-latest", False),
        ("gpt-4o", False),
        ("gpt-4.1-mini", False),
        ("omni-med", False),
    ],
)
def test_reasoning_models_by_name(model: str, reasoning: bool) -> None:
    family = family_for("openai", model)
    assert (family.known and family.thinking == "reasoning") is reasoning


def test_request_forms(tmp_path) -> None:
    messages = _chat("cases", "query")
    gen = generation_settings({"until": ["\n\n"], "max_gen_toks": 16}, 256)
    body = adapters.OpenAIChatLM(model="o3-mini", cache_dir=tmp_path, reasoning_tokens=1000).build_body(messages, gen)
    assert body == {"model": "o3-mini", "messages": messages, "max_completion_tokens": 1016}
    lm = adapters.OpenAIChatLM(model="gpt-4o", cache_dir=tmp_path)
    body = lm.build_body(messages, gen)
    assert body == {"model": "gpt-4o", "messages": messages, "max_tokens": 16, "temperature": 0.0, "stop": ["\n\n"]}
    assert lm.output_limit(gen) == 16 and lm.extra_info()["request_form"] == "max_tokens"


class _HTTPError(Exception):
    def __init__(self, status: int, body: object, message: str = "") -> None:
        super().__init__(message or str(body))
        self.status_code = status
        self.body = body


def test_rejected_parameter_from_openai_errors() -> None:
    assert rejected_parameter(_HTTPError(400, {"message": "x", "param": "max_tokens"})) == "max_tokens"
    unsupported_value = "Unsupported value: 'temperature' does not support 0.0 with this model."
    assert rejected_parameter(_HTTPError(400, {"message": unsupported_value, "param": None})) == "temperature"
    nested = {"error": {"message": "Unrecognized request argument supplied: max_completion_tokens"}}
    assert rejected_parameter(_HTTPError(400, nested)) == "max_completion_tokens"
    assert rejected_parameter(_HTTPError(400, None, "Unsupported parameter: 'stop' is not supported")) == "stop"
    assert rejected_parameter(_HTTPError(400, {"message": "max_tokens too large"})) is None  # not a form problem
    assert rejected_parameter(_HTTPError(429, {"param": "max_tokens"})) is None
