"""``--model vllm`` with a ``max_model_len`` below what a task's prompts and answers need stops in one line
before the model loads (issue 26, bad inputs). No vLLM needed: the check runs before vLLM is imported; the
tokenizer is the tiny model's."""

from __future__ import annotations

import math

import pytest
from lm_eval.tasks import TaskManager, get_task_dict
from transformers import AutoTokenizer

from meds_bench import tasks_path, vllm_engine
from meds_bench.catalog import get_task
from meds_bench.cli import main
from meds_bench.data import DATA_DIR_METADATA_KEY, load_task
from meds_bench.preflight import PreflightError
from meds_bench.prompt_fit import RunPrompts, needs

TASK = get_task("task16")  # factver, 3 shots by default, answer budget 8
MCQA = get_task("task57")  # 0 shots by default, answer budget 64


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(str(tiny_model_dir))


def _lm_eval_contexts(sample_dir, chat_template, limit: int | None = None, num_fewshot: int | None = None) -> list:
    """The prompts lm-eval's own task build makes (what the model is sent)."""
    manager = TaskManager(
        include_path=str(tasks_path()), include_defaults=False, metadata={DATA_DIR_METADATA_KEY: str(sample_dir)}
    )
    task = get_task_dict([TASK.name], manager)[TASK.name]
    task.set_fewshot_seed(1234)
    if num_fewshot is not None:
        task.set_config(key="num_fewshot", value=num_fewshot)
    task.build_all_requests(
        apply_chat_template=chat_template is not None, chat_template=chat_template, tokenizer_name="t", limit=limit
    )
    return [inst.arguments[0] for inst in sorted(task.instances, key=lambda inst: inst.doc_id)]


def _longest(tokenizer, texts: list[str]) -> int:
    return max(len(tokenizer(text)["input_ids"]) for text in texts)


def test_prompts_are_those_lm_eval_builds(tokenizer, sample_dir):
    loaded = load_task(TASK, sample_dir)
    template = vllm_engine._chat_template(tokenizer, {})
    assert RunPrompts(apply_chat_template=True).prompts(loaded, template) == _lm_eval_contexts(sample_dir, template)
    assert RunPrompts(limit=2).prompts(loaded, None) == _lm_eval_contexts(sample_dir, None, limit=2)
    one_shot = RunPrompts(num_fewshot=1, fewshot_seed=1234).prompts(loaded, None)
    assert one_shot == _lm_eval_contexts(sample_dir, None, num_fewshot=1)
    assert one_shot[0].count("Input:\n") == 2  # one case and the query


def test_documents_follow_limit_and_samples(sample_dir):
    loaded = load_task(TASK, sample_dir)
    n = len(loaded.docs)
    assert RunPrompts().docs(loaded) == loaded.docs
    assert RunPrompts(limit=2).docs(loaded) == loaded.docs[:2]
    assert RunPrompts(limit=0.5).docs(loaded) == loaded.docs[: math.ceil(n * 0.5)]  # lm-eval: a fraction below 1
    picked = RunPrompts(samples={TASK.name: [3, 1]}).docs(loaded)
    assert picked == [loaded.docs[3], loaded.docs[1]]
    assert RunPrompts(samples={"other_task": [0]}).docs(loaded) == loaded.docs


def test_need_is_the_longest_prompt_plus_the_answer_budget(tokenizer, sample_dir):
    loaded = load_task(TASK, sample_dir)
    template = vllm_engine._chat_template(tokenizer, {})
    longest = _longest(tokenizer, _lm_eval_contexts(sample_dir, template))

    def count(texts):
        return [len(tokenizer(t)["input_ids"]) for t in texts]

    (need,) = needs([loaded], RunPrompts(apply_chat_template=True), count, template)
    assert (need.prompt_tokens, need.answer_tokens, need.total) == (longest, 8, longest + 8)
    (first_only,) = needs([loaded], RunPrompts(limit=1, max_gen_toks=100), count, None)
    first = _longest(tokenizer, _lm_eval_contexts(sample_dir, None, limit=1))
    assert (first_only.prompt_tokens, first_only.answer_tokens) == (first, 100)


def _settings(model_args: dict, **more) -> dict:
    return {"model": "vllm", "model_args": model_args, "apply_chat_template": True, **more}


def test_check_refuses_one_token_short_and_passes_at_the_need(tiny_model_dir, tokenizer, sample_dir):
    loaded = load_task(TASK, sample_dir)
    template = vllm_engine._chat_template(tokenizer, {})
    need = _longest(tokenizer, _lm_eval_contexts(sample_dir, template)) + TASK.max_gen_toks
    vllm_engine.check_context(_settings({"pretrained": str(tiny_model_dir), "max_model_len": need}), [loaded])
    with pytest.raises(PreflightError, match=f"use max_model_len={need} or more"):
        vllm_engine.check_context(_settings({"pretrained": str(tiny_model_dir), "max_model_len": need - 1}), [loaded])
    # max_length, lm-eval's other name for it, is checked the same way
    with pytest.raises(PreflightError, match=f"--model_args max_length={need - 1} is too small"):
        vllm_engine.check_context(_settings({"pretrained": str(tiny_model_dir), "max_length": need - 1}), [loaded])
    # nothing given: vLLM takes the model's own length, nothing to check
    vllm_engine.check_context(_settings({"pretrained": str(tiny_model_dir)}), [loaded])


def test_gen_kwargs_answer_budget_counts(tiny_model_dir, tokenizer, sample_dir):
    loaded = load_task(TASK, sample_dir)
    template = vllm_engine._chat_template(tokenizer, {})
    need = _longest(tokenizer, _lm_eval_contexts(sample_dir, template)) + TASK.max_gen_toks
    args = {"pretrained": str(tiny_model_dir), "max_model_len": need}
    with pytest.raises(PreflightError, match=f"answer may take 9 .*use max_model_len={need + 1} or more"):
        vllm_engine.check_context(_settings(args, gen_kwargs={"max_gen_toks": 9}), [loaded])


def test_eval_names_the_task_in_one_line_before_the_model_loads(
    tiny_model_dir, tokenizer, sample_dir, capsys, monkeypatch
):
    monkeypatch.setattr(vllm_engine.importlib.util, "find_spec", lambda name: object())  # "vLLM installed"
    template = vllm_engine._chat_template(tokenizer, {})
    longest = _longest(tokenizer, _lm_eval_contexts(sample_dir, template, limit=3))  # task16, 3 shots
    mcqa = _longest(
        tokenizer, RunPrompts(limit=3, apply_chat_template=True).prompts(load_task(MCQA, sample_dir), template)
    )
    assert longest + 8 > mcqa + 64 > 64  # both need more than 64; task16 needs most
    argv = ["eval", "--data-dir", str(sample_dir), "--tasks", "task57,task16", "--limit", "3", "--model", "vllm"]
    argv += ["--model_args", f"pretrained={tiny_model_dir},max_model_len=64", "--apply_chat_template"]
    capsys.readouterr()  # the progress bar of the task build above
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"meds-bench: --model_args max_model_len=64 is too small for {TASK.name} (task16): its longest prompt is "
        f"{longest} tokens and its answer may take 8 (max_gen_toks); 2 of the 2 selected tasks need more; "
        f"use max_model_len={longest + 8} or more (lm-eval would cut the prompts' start)\n"
    )


def test_max_model_len_that_is_not_a_number_is_one_line(tiny_model_dir, sample_dir, capsys, monkeypatch):
    monkeypatch.setattr(vllm_engine.importlib.util, "find_spec", lambda name: object())
    argv = ["eval", "--data-dir", str(sample_dir), "--tasks", "task57", "--model", "vllm"]
    assert main([*argv, "--model_args", f"pretrained={tiny_model_dir},max_model_len=4k"]) == 2
    assert capsys.readouterr().err == (
        "meds-bench: --model_args max_model_len=4k: must be a whole number of tokens, e.g. max_model_len=4096\n"
    )


def test_unreadable_tokenizer_skips_the_check_with_a_note(tmp_path, sample_dir, capsys):
    loaded = load_task(TASK, sample_dir)
    vllm_engine.check_context(_settings({"pretrained": str(tmp_path / "absent"), "max_model_len": 8}), [loaded])
    err = capsys.readouterr().err
    assert err.startswith(f"meds-bench: note: max_model_len not checked, the tokenizer of {tmp_path / 'absent'}")
    assert err.count("\n") == 1
