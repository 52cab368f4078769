"""The paper's template (SPEC A3 / B4): hand-written expectations and golden renders per category."""

import os
from pathlib import Path

import pytest
from lm_eval.tasks import TaskManager

from meds_bench import tasks_path
from meds_bench.catalog import CATEGORIES, tasks_in
from meds_bench.prompts import build_prompt

GOLDEN = Path(__file__).parent / "golden" / "prompts"
ONE_TASK_PER_CATEGORY = [tasks_in(c)[0].name for c in CATEGORIES]


def test_zero_shot_is_definition_then_query():
    prompt = build_prompt("Answer with a letter.", "Q?\nA. x\nB. y")
    assert prompt.text() == "Answer with a letter.\nInput:\nQ?\nA. x\nB. y\nOutput:\n"
    assert prompt.messages() == [
        {"role": "system", "content": "Answer with a letter."},
        {"role": "user", "content": "Input:\nQ?\nA. x\nB. y\nOutput:"},
    ]


def test_few_shot_cases_come_before_definition():
    prompt = build_prompt("Define it.", "q3", [("q1", "a1"), ("q2", "a2")])
    expected_instruction = (
        "Input:\nq1\n\nOutput:\na1\n\n\nInput:\nq2\n\nOutput:\na2\n\n\nDefine it."
        "Please learn from the few-shot cases to see what content you have to output."
    )
    assert prompt.text() == expected_instruction + "\nInput:\nq3\nOutput:\n"
    assert prompt.messages("Be brief.")[0]["content"] == "Be brief.\n\n" + expected_instruction


def test_merged_message_is_the_plain_prompt_in_one_user_turn():
    prompt = build_prompt("Define it.", "q2", [("q1", "a1")])
    assert prompt.merged_messages("Be brief.") == [
        {
            "role": "user",
            "content": "Be brief.\n\nInput:\nq1\n\nOutput:\na1\n\n\nDefine it."
            "Please learn from the few-shot cases to see what content you have to output.\nInput:\nq2\nOutput:\n",
        }
    ]


@pytest.fixture(scope="module")
def sample_dir_module():
    from meds_bench import sample_data_path

    os.environ["MEDS_BENCH_DATA_DIR"] = str(sample_data_path())
    yield
    os.environ.pop("MEDS_BENCH_DATA_DIR", None)


def _render(task, shots: int, chat_template=None) -> str:
    task.set_fewshot_seed(1234)
    doc = task.test_docs()[0]
    return task.fewshot_context(doc, shots, apply_chat_template=chat_template is not None, chat_template=chat_template)


@pytest.mark.parametrize("name", ONE_TASK_PER_CATEGORY)
@pytest.mark.parametrize("shots", [0, 3])
@pytest.mark.parametrize("style", ["plain", "chat"])
def test_rendered_prompt_matches_golden(name, shots, style, tiny_model_dir, sample_dir_module):
    from lm_eval.tasks import get_task_dict
    from transformers import AutoTokenizer

    task = get_task_dict([name], TaskManager(include_path=str(tasks_path()), include_defaults=False))[name]
    template = None
    if style == "chat":
        tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)

        def template(messages, add_generation_prompt=True):
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    rendered = _render(task, shots, template)
    golden = GOLDEN / f"{name}__{shots}shot__{style}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")
    query = task.test_docs()[0]["input"]
    assert rendered.count(query) == 1, "the query is never one of its own cases"
