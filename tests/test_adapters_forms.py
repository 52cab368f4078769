"""Request forms by model family, reasoning effort, thinking kept out of the scores, permanent failures and
platforms, against the loopback fake that answers as the providers document for late 2026."""

from __future__ import annotations

import socket

import pytest
from adapters_fake_server import THINKING_TEXT, FakeLLMServer, make_instances

import meds_bench_adapters as adapters
from meds_bench.metrics.hooks import mcqa
from meds_bench_adapters.families import family_for, thinking_plan
from meds_bench_adapters.thinking import split_inline_thinking

FAST = {"timeout": 3.0, "backoff_base": 0.01, "backoff_max": 0.05, "max_retries": 2, "progress": False}
SAMPLING = ("temperature", "top_p", "top_k")


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-forms")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-forms")


def _claude(model: str, srv: FakeLLMServer, tmp_path, **kw) -> adapters.AnthropicMessagesLM:
    return adapters.AnthropicMessagesLM(model=model, base_url=srv.anthropic_url, cache_dir=str(tmp_path), **FAST, **kw)


def _gpt(model: str, srv: FakeLLMServer, tmp_path, **kw) -> adapters.OpenAIChatLM:
    return adapters.OpenAIChatLM(model=model, base_url=srv.openai_url, cache_dir=str(tmp_path), **FAST, **kw)


def _sampled(n: int) -> list:
    requests = make_instances("meds_bench_mcqa_medqa_en", n)
    for r in requests:
        r.arguments = (r.args[0], {**r.args[1], "do_sample": True, "temperature": 0.7, "top_p": 0.9})
    return requests


def _extracted(answer: str) -> str:
    """The option the MCQA scorer reads from ``answer``."""
    doc = {"task": "meds_bench_mcqa_medqa_en", "input": "Q?\nA. x\nB. y", "output": "The right answer is A: x"}
    return mcqa(doc, [answer])["extracted"]


@pytest.mark.parametrize(
    "model", ["claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-5", "claude-fable-5", "claude-haiku-4-5"]
)
def test_current_claude_models_answer_every_request_greedy(tmp_path, model) -> None:
    with FakeLLMServer() as srv:
        lm = _claude(model, srv, tmp_path)
        out = lm.generate_until(make_instances("meds_bench_mcqa_medqa_en", 4))
        assert len(out) == 4 and all(o.startswith("The right answer is A") for o in out)
        assert len(srv.bodies) == 4 and sum(srv.answered.values()) == 4  # no request was refused
        takes_sampling = family_for("anthropic", model).sampling != "none"
        assert all(("temperature" in b) is takes_sampling for b in srv.bodies)
        sampling = lm.get_model_info()["meds_api"]["sampling"]
        if not takes_sampling:  # greedy is not claimed as temperature 0
            assert any(note.startswith("provider default sampling (the model takes no sampling") for note in sampling)


def test_claude_4_5_with_temperature_and_top_p_sends_one_of_them(tmp_path) -> None:
    with FakeLLMServer() as srv:
        lm = _claude("claude-sonnet-4-5-20250929", srv, tmp_path)
        assert all(lm.generate_until(_sampled(3)))
        assert all(b["temperature"] == 0.7 and "top_p" not in b for b in srv.bodies)
        assert sum(srv.answered.values()) == 3
        notes = lm.get_model_info()["meds_api"]["sampling"]
        assert notes == ["top_p=0.9 not sent: the model takes temperature or top_p, not both"]


def test_claude_models_that_reject_sampling_get_none_even_when_sampled(tmp_path) -> None:
    with FakeLLMServer() as srv:
        lm = _claude("claude-opus-4-7", srv, tmp_path)
        assert all(lm.generate_until(_sampled(2)))
        assert not any(set(SAMPLING) & set(b) for b in srv.bodies)
        (note,) = lm.get_model_info()["meds_api"]["sampling"]
        assert note.endswith("not sent: temperature=0.7, top_p=0.9")


def test_adaptive_effort_high_on_opus_4_7_thinking_saved_not_scored(tmp_path) -> None:
    with FakeLLMServer() as srv:
        lm = _claude("claude-opus-4-7", srv, tmp_path, reasoning_effort="high")
        requests = make_instances("meds_bench_mcqa_medqa_en", 2)
        out = lm.generate_until(requests)
        (body, _) = srv.bodies
        assert body["thinking"] == {"type": "adaptive"} and body["output_config"] == {"effort": "high"}
        assert body["max_tokens"] == 32 + 16384  # the task's answer budget stays whole
        assert all(o.startswith("The right answer is A") and "Option B" not in o for o in out)
        assert all(_extracted(o) == "A" for o in out)  # the thinking says B; the answer says A
        assert all(r.args[1]["meds_api"]["thinking"] == THINKING_TEXT for r in requests)
        info = lm.get_model_info()["meds_api"]
        assert (info["reasoning_effort"], info["thinking"]) == ("high", "adaptive effort=high")


def test_budget_effort_medium_on_sonnet_4_5(tmp_path) -> None:
    with FakeLLMServer() as srv:
        lm = _claude("claude-sonnet-4-5-20250929", srv, tmp_path, reasoning_effort="medium")
        requests = make_instances("meds_bench_mcqa_medqa_en", 1)
        (out,) = lm.generate_until(requests)
        (body,) = srv.bodies
        budget = body["thinking"]["budget_tokens"]
        assert body["thinking"]["type"] == "enabled" and 1024 <= budget < body["max_tokens"] == 32 + budget
        assert not set(SAMPLING) & set(body)  # thinking needs the default temperature
        assert _extracted(out) == "A" and requests[0].args[1]["meds_api"]["thinking"] == THINKING_TEXT


def test_thinking_on_claude_4_drops_the_temperature(tmp_path) -> None:
    with FakeLLMServer() as srv:  # the fake refuses temperature != 1 while thinking
        lm = _claude("claude-sonnet-4-20250514", srv, tmp_path, reasoning_effort="low")
        assert all(lm.generate_until(_sampled(2))) and not any("temperature" in b for b in srv.bodies)
        assert "thinking needs it" in lm.get_model_info()["meds_api"]["sampling"][0]


def test_reasoning_effort_low_on_gpt_5_1(tmp_path) -> None:
    with FakeLLMServer(reasoning_field="reasoning_content", reasoning_used=40) as srv:
        lm = _gpt("gpt-5.1", srv, tmp_path, reasoning_effort="low")
        requests = make_instances("meds_bench_mcqa_medqa_en", 1)
        (out,) = lm.generate_until(requests)
        (body,) = srv.bodies
        assert body["reasoning_effort"] == "low" and body["max_completion_tokens"] == 32 + 2048
        assert not {"temperature", "top_p", "stop", "max_tokens"} & set(body)
        assert _extracted(out) == "A" and requests[0].args[1]["meds_api"]["thinking"] == THINKING_TEXT
        assert lm.get_model_info()["meds_api"]["usage"]["total"]["reasoning_tokens"] == 40


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_fields_of_compatible_servers_are_kept(tmp_path, field) -> None:
    with FakeLLMServer(reasoning_field=field) as srv:
        requests = make_instances("meds_bench_mcqa_medqa_en", 1)
        (out,) = _gpt("my-vllm-model", srv, tmp_path).generate_until(requests)
        assert _extracted(out) == "A" and requests[0].args[1]["meds_api"]["thinking"] == THINKING_TEXT


def test_leading_think_block_is_split_before_stop_sequences(tmp_path) -> None:
    with FakeLLMServer(reasoning_field="inline") as srv:  # stop sequences apply inside the thinking, as vLLM's do
        lm = _gpt("deepseek-r1-distill", srv, tmp_path, num_concurrent=1)
        requests = make_instances("meds_bench_mcqa_medqa_en", 3)
        out = lm.generate_until(requests)
        assert all(o.startswith("The right answer is A") and _extracted(o) == "A" for o in out)
        assert all(r.args[1]["meds_api"]["thinking"] == THINKING_TEXT for r in requests)
        # the first reply was cut inside its thinking and asked again without stops; later ones never sent them
        assert "stop" in srv.bodies[0] and "stop" not in srv.bodies[1] and not any("stop" in b for b in srv.bodies[2:])
        assert len(srv.bodies) == 4 and lm.get_model_info()["meds_api"]["stop_sequences"] == "applied locally"


def test_think_end_token_keeps_stop_sequences_local_from_the_start(tmp_path) -> None:
    with FakeLLMServer(reasoning_field="inline") as srv:
        out = _gpt("qwen3", srv, tmp_path, think_end_token="</think>").generate_until(
            make_instances("meds_bench_mcqa_medqa_en", 2)
        )
        assert all(_extracted(o) == "A" for o in out) and len(srv.bodies) == 2
        assert not any("stop" in b for b in srv.bodies)


def test_split_inline_thinking_rules() -> None:
    assert split_inline_thinking("<think>a</think>\n\nB") == split_inline_thinking("  <think>a</think>B")
    assert split_inline_thinking("<think>a</think>\n\nB").answer == "B"
    assert split_inline_thinking("No think here </think> x").answer == "No think here </think> x"  # not leading
    assert split_inline_thinking("reasoning...</think>B", "</think>").answer == "B"  # template opened it
    cut = split_inline_thinking("<think>still thinking")
    assert (cut.answer, cut.thinking, cut.unclosed) == ("", "still thinking", True)


def test_thinking_that_uses_the_allowance_is_unanswered_not_empty(tmp_path) -> None:
    with FakeLLMServer(thinking_exhausts=True) as srv:
        lm = _claude("claude-opus-4-7", srv, tmp_path, reasoning_effort="low")
        requests = make_instances("meds_bench_mcqa_medqa_en", 2)
        assert lm.generate_until(requests) == ["", ""]
        assert {r.args[1]["meds_api"]["status"] for r in requests} == {"output_limit"}
        assert all(r.args[1]["meds_api"]["thinking"] == THINKING_TEXT for r in requests)
        usage = lm.get_model_info()["meds_api"]["usage"]
        assert usage["per_task"]["meds_bench_mcqa_medqa_en"]["output_limit"] == 2 and usage["total"]["sent"] == 0
        assert {f["reason"] for f in usage["failures"]} == {"output limit"} and len(lm.cache) == 0


def test_unknown_model_loses_a_rejected_parameter_once_for_the_run(tmp_path) -> None:
    with FakeLLMServer() as srv:  # not in our table; the fake's Mythos rules reject sampling parameters
        lm = _claude("claude-mythos-preview", srv, tmp_path, num_concurrent=1)
        requests = make_instances("meds_bench_mcqa_medqa_en", 3)
        assert all(lm.generate_until(requests))
        assert "temperature" in srv.bodies[0] and not any("temperature" in b for b in srv.bodies[1:])
        assert len(srv.bodies) == 4  # one refused request, resent once
        removed = lm.get_model_info()["meds_api"]["removed_parameters"]
        assert removed == {"temperature": "`temperature` is deprecated for this model."}


@pytest.mark.parametrize(
    ("cls", "model", "effort", "message"),
    [
        (adapters.OpenAIChatLM, "gpt-5.1", "extreme", "reasoning_effort='extreme': use one of none, minimal, low"),
        (adapters.AnthropicMessagesLM, "claude-sonnet-4-5", "max", "claude-sonnet-4-5 takes none, minimal, low"),
        (adapters.AnthropicMessagesLM, "claude-fable-5", "none", "claude-fable-5 takes low, medium, high, xhigh, max"),
        (adapters.OpenAIChatLM, "gpt-5", "xhigh", "gpt-5 takes minimal, low, medium, high"),
        (adapters.OpenAIChatLM, "gpt-4o", "high", "gpt-4o takes no reasoning effort"),
    ],
)
def test_efforts_a_model_does_not_take_are_refused_before_any_request(tmp_path, cls, model, effort, message) -> None:
    with pytest.raises(adapters.ModelArgError, match=message.replace("(", r"\(")):
        cls(model=model, cache_dir=str(tmp_path), reasoning_effort=effort)


def test_effort_mapping_by_family() -> None:
    plan = thinking_plan(family_for("anthropic", "claude-haiku-4-5-20251001"), "minimal", 100, None)
    assert plan.fields == {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    plan = thinking_plan(family_for("anthropic", "claude-sonnet-5"), "none", 100, None)
    assert plan.fields == {"thinking": {"type": "disabled"}} and plan.allowance == 0  # on by default: turned off
    plan = thinking_plan(family_for("anthropic", "claude-fable-5-1"), None, 100, None)
    assert (plan.fields, plan.thinks, plan.allowance) == ({}, True, 8192)  # always on: room is kept for it
    plan = thinking_plan(family_for("openai", "gpt-5.2"), "none", 100, None)
    assert plan.fields == {"reasoning_effort": "none"} and plan.allowance == 0
    plan = thinking_plan(family_for("anthropic", "claude-opus-4-1"), "high", 30_000, None)
    assert plan.fields["thinking"]["budget_tokens"] == 32_000 - 30_000  # capped by the largest output
    with pytest.raises(adapters.ModelArgError, match="budget_tokens >= 1024"):
        thinking_plan(family_for("anthropic", "claude-opus-4-1"), "high", 31_500, None)


def test_platforms_bedrock_and_vertex_route_through_the_sdk_clients(tmp_path, monkeypatch) -> None:
    from anthropic.lib.vertex._client import AnthropicVertex

    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-test-token")
    monkeypatch.setattr(AnthropicVertex, "_ensure_access_token", lambda self: "vertex-test-token")
    with FakeLLMServer() as srv:
        bedrock = _claude(
            "us.anthropic.claude-opus-4-7-v1:0", srv, tmp_path / "b", platform="bedrock", region="us-east-1"
        )
        vertex = _claude(
            "claude-sonnet-4-5@20250929", srv, tmp_path / "v", platform="vertex", region="us-east5", project_id="p"
        )
        assert all(bedrock.generate_until(make_instances("meds_bench_mcqa_medqa_en", 1)))
        assert all(vertex.generate_until(make_instances("meds_bench_mcqa_medqa_en", 1)))
        assert srv.paths[0] == "/model/us.anthropic.claude-opus-4-7-v1:0/invoke"
        assert srv.paths[1].endswith(
            "/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
        )
        assert "temperature" not in srv.bodies[0]  # the family row is found through the platform's id
        assert srv.headers[0]["authorization"] == "Bearer bedrock-test-token"
        assert bedrock.get_model_info()["meds_api"]["platform"] == "bedrock"


def test_chat_template_kwargs_reach_the_server(tmp_path) -> None:
    with FakeLLMServer() as srv:
        _gpt("Qwen/Qwen3-8B", srv, tmp_path, enable_thinking="false").generate_until(
            make_instances("meds_bench_mcqa_medqa_en", 1)
        )
        assert srv.bodies[0]["chat_template_kwargs"] == {"enable_thinking": False}
    with pytest.raises(adapters.ModelArgError, match="chat_template_kwargs: give a JSON object"):
        adapters.OpenAIChatLM(model="m", cache_dir=str(tmp_path), chat_template_kwargs="enable_thinking")


def test_retired_model_at_the_provider_stops_the_run(tmp_path) -> None:
    with FakeLLMServer(retired_openai=frozenset({"gpt-4-0314"})) as srv:
        lm = _gpt("gpt-4-0314", srv, tmp_path, num_concurrent=1)
        with pytest.raises(adapters.RunStopped, match="openai model gpt-4-0314 was not found: it is retired"):
            lm.generate_until(make_instances("meds_bench_mcqa_medqa_en", 5))
        assert len(srv.bodies) == 1  # the first 404 stops everything


def test_retired_model_in_the_table_is_refused_before_any_request(tmp_path) -> None:
    with pytest.raises(adapters.ModelArgError, match="claude-3-7-sonnet-20250219 was retired on 2026-02-19"):
        adapters.AnthropicMessagesLM(model="claude-3-7-sonnet-20250219", cache_dir=str(tmp_path))


def test_nothing_listening_is_told_before_any_request(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    lm = adapters.OpenAIChatLM(model="gpt-4o", base_url=f"http://127.0.0.1:{port}/v1", cache_dir=str(tmp_path), **FAST)
    with pytest.raises(adapters.RunStopped, match=f"nothing answers at http://127.0.0.1:{port}/v1"):
        lm.generate_until(make_instances("meds_bench_mcqa_medqa_en", 2))
    assert lm.ledger.total().failed == 0  # nothing was tried


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"model": "claude-opus-4-7", "temperature": 0}, 400, "`temperature` is deprecated for this model."),
        ({"model": "claude-fable-5", "top_p": 0.9}, 400, "`top_p` is deprecated for this model."),
        ({"model": "claude-sonnet-4-5", "temperature": 0.7, "top_p": 0.9}, 400, "cannot both be specified"),
        (
            {"model": "claude-opus-4-7", "thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 4096},
            400,
            '"thinking.type.enabled" is not supported',
        ),  # fmt: skip
        ({"model": "claude-mythos-5", "thinking": {"type": "disabled"}}, 400, '"thinking.type.disabled" is not'),
        ({"model": "claude-sonnet-4-5", "thinking": {"type": "adaptive"}}, 400, '"thinking.type.adaptive" is not'),
        (
            {"model": "claude-haiku-4-5", "thinking": {"type": "enabled", "budget_tokens": 512}, "max_tokens": 4096},
            400,
            "greater than or equal to 1024",
        ),  # fmt: skip
        (
            {"model": "claude-haiku-4-5", "thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 2048},
            400,
            "`max_tokens` must be greater than `thinking.budget_tokens`",
        ),  # fmt: skip
        (
            {
                "model": "claude-sonnet-4-0",
                "thinking": {"type": "enabled", "budget_tokens": 1024},
                "max_tokens": 2048,
                "temperature": 0,
            },
            400,
            "temperature may only be set to 1 when thinking",
        ),  # fmt: skip
        ({"model": "claude-3-5-sonnet-20241022"}, 404, "model: claude-3-5-sonnet-20241022"),
    ],
)
def test_the_fake_refuses_what_the_provider_refuses(body, status, message) -> None:
    """The fake is as strict as the documented API, so the tests above that pass through it mean something."""
    from adapters_fake_server import claude_refusal

    refused = claude_refusal(body)
    assert refused is not None and refused[0] == status and message in refused[2]
    accepted = {"model": "claude-opus-4-7", "max_tokens": 100, "thinking": {"type": "adaptive"}}
    assert claude_refusal({**accepted, "output_config": {"effort": "high"}}) is None
