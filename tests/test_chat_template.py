"""Chat templates without a system role still see the definition and the cases (issue 9, SPEC A3)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lm_eval.tasks import TaskManager, get_task_dict

from meds_bench import tasks_path
from meds_bench.chat_form import MERGED_USER, PLAIN, SYSTEM_USER, detect_chat_form
from meds_bench.data import DATA_DIR_METADATA_KEY
from meds_bench.task import PROMPT_METADATA_KEY

TASK = "meds_bench_diagnosis_ddxplus"
# Like many instruction models' templates: any system message is an error.
NO_SYSTEM_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{{ '<|' + m['role'] + '|>\\n' + m['content'] + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def _variant(tiny_model_dir: Path, dest: Path, template: str | None) -> Path:
    """A copy of the tiny model whose chat template is ``template`` (``None``: no template at all)."""
    out = Path(shutil.copytree(tiny_model_dir, dest))
    jinja = out / "chat_template.jinja"  # transformers 5 reads this file before tokenizer_config.json
    if template is None:
        jinja.unlink(missing_ok=True)
    else:
        jinja.write_text(template, encoding="utf-8")
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.pop("chat_template", None)
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def models(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("chat-variants")
    return {
        "no_system": _variant(tiny_model_dir, root / "no-system", NO_SYSTEM_TEMPLATE),
        "no_template": _variant(tiny_model_dir, root / "no-template", None),
    }


def _hflm(path: Path):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(path), device="cpu", batch_size=1)


def _task(sample_dir: Path):
    manager = TaskManager(
        include_path=str(tasks_path()), include_defaults=False, metadata={DATA_DIR_METADATA_KEY: str(sample_dir)}
    )
    task = get_task_dict([TASK], manager)[TASK]
    task.set_fewshot_seed(1234)
    return task


def _contexts(task, lm) -> list[str]:
    task.build_all_requests(
        apply_chat_template=True, chat_template=lm.apply_chat_template, tokenizer_name=lm.tokenizer_name
    )
    return [inst.arguments[0] for inst in task.instances]


def test_detect_chat_form_on_three_template_kinds(tiny_model_dir, models):
    from transformers import AutoTokenizer

    def form(path):
        tok = AutoTokenizer.from_pretrained(path)
        return detect_chat_form(lambda m, add_generation_prompt=True: tok.apply_chat_template(m, tokenize=False))

    assert form(tiny_model_dir) == SYSTEM_USER
    assert form(models["no_system"]) == MERGED_USER
    assert form(models["no_template"]) == PLAIN


def test_detect_chat_form_on_api_backends_and_silent_drops():
    from lm_eval.models.api_models import JsonChatStr

    def silent_drop(messages, add_generation_prompt=True):
        return "".join(m["content"] for m in messages if m["role"] != "system")

    assert detect_chat_form(lambda m, add_generation_prompt=True: JsonChatStr(json.dumps(m))) == SYSTEM_USER
    assert detect_chat_form(lambda m, add_generation_prompt=True: m) == SYSTEM_USER  # a message list
    assert detect_chat_form(silent_drop) == MERGED_USER


def test_layout_recorded_is_the_last_builds(models, sample_dir):
    task, lm = _task(sample_dir), _hflm(models["no_system"])
    _contexts(task, lm)
    task.build_all_requests()  # no chat template this time
    assert task.dump_config()["metadata"][PROMPT_METADATA_KEY]["chat_form"] == PLAIN
    assert _contexts(task, lm)[0].startswith("<s><|user|>\nInput:\n")
    assert task.dump_config()["metadata"][PROMPT_METADATA_KEY]["chat_form"] == MERGED_USER


def test_template_rejecting_system_gets_one_user_message_with_everything(models, sample_dir):
    task, lm = _task(sample_dir), _hflm(models["no_system"])
    contexts = _contexts(task, lm)
    doc = task.test_docs()[0]
    plain = task.fewshot_context(doc, 3)
    # The whole plain prompt (cases, definition, query) in one user turn, nothing dropped.
    assert contexts[0] == f"<s><|user|>\n{plain}\n<|assistant|>\n"
    assert doc["definition"] in contexts[0] and contexts[0].count("Input:\n") == 4
    assert task.dump_config()["metadata"][PROMPT_METADATA_KEY]["chat_form"] == MERGED_USER


def test_template_with_system_keeps_the_paper_layout(tiny_model_dir, sample_dir):
    task, lm = _task(sample_dir), _hflm(tiny_model_dir)
    contexts = _contexts(task, lm)
    assert contexts[0].startswith("<s><|system|>\nInput:\n")
    assert "<|user|>\nInput:\n" in contexts[0]
    assert task.dump_config()["metadata"][PROMPT_METADATA_KEY]["chat_form"] == SYSTEM_USER


def test_model_without_template_gets_the_plain_prompt(models, sample_dir):
    task, lm = _task(sample_dir), _hflm(models["no_template"])
    contexts = _contexts(task, lm)
    assert contexts[0] == task.fewshot_context(task.test_docs()[0], 3)
    assert task.dump_config()["metadata"][PROMPT_METADATA_KEY]["chat_form"] == PLAIN


def test_results_record_layout_and_shots_used(models, sample_dir):
    """Through lm-eval's evaluator: results and logged samples show what the model really saw."""
    from lm_eval import simple_evaluate

    manager = TaskManager(
        include_path=str(tasks_path()), include_defaults=False, metadata={DATA_DIR_METADATA_KEY: str(sample_dir)}
    )
    out = simple_evaluate(
        model=_hflm(models["no_system"]),
        tasks=[TASK],
        task_manager=manager,
        num_fewshot=50,
        limit=1,
        apply_chat_template=True,
        log_samples=True,
        gen_kwargs={"max_gen_toks": 2},
    )
    assert out["n-shot"][TASK] == 9
    recorded = out["configs"][TASK]["metadata"][PROMPT_METADATA_KEY]
    assert recorded == {
        "num_fewshot_requested": 50,
        "num_fewshot_used": 9,
        "fewshot_seed": 1234,
        "chat_form": MERGED_USER,
    }
    (sample,) = out["samples"][TASK]
    context = sample["arguments"][0][0]
    assert context.startswith("<s><|user|>\nInput:\n") and sample["doc"]["definition"] in context
