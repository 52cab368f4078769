"""Judges are our API adapters: a SPEC names one (``MODEL_CLASS:MODEL_ARGS``), and judging is one call of its
``generate_until``, so that the cache, retries, fail-fast, budget, dry run and batch interface are the adapters'.

Contract of :func:`judge`: each item is sent once per judge (a rerun reads the cache); the reply is asked for as
structured output (the rubric's JSON schema) unless the SPEC says ``structured=text``; a reply that cannot be read
is asked for once more, then recorded ``invalid`` (never a score); a request the adapter could not answer keeps the
adapter's status (``failed``, ``output_limit``, ``skipped_budget``, ``dry_run``); an empty answer is not sent and
scores 0 (status ``empty_answer``), as the paper metrics score it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.registry import get_model
from lm_eval.utils import simple_parse_args_string

from meds_bench.judge.parse import Verdict, read_verdict
from meds_bench.judge.prompts import as_context, judge_messages, reply_schema, retry_messages
from meds_bench.judge.rubrics import Rubric

JUDGE_MAX_TOKENS = 512  # the reply: a short justification and the scores (thinking is added by the adapter)
STRUCTURED_FORMS = ("schema", "text")
ANSWERED = frozenset({"done", "cached"})
CONTROL_MARK = "/"  # doc ids of control requests are "<doc_id>/<kind>", so that their cost is told apart


class JudgeInputError(ValueError):
    """A judge SPEC that cannot be used; the message names it and what to do."""


@dataclass(frozen=True)
class JudgeSpec:
    """A parsed ``--judge`` value: the lm-eval model class, its arguments and the reply form."""

    text: str
    model_class: str
    args: dict[str, Any]
    structured: bool


@dataclass(frozen=True)
class Item:
    """One answer to judge against one reference (``kind``: ``answer`` or a control)."""

    run: str
    task: str
    doc_id: int
    kind: str
    rubric: Rubric
    query: str
    reference: str
    answer: str

    @property
    def request_doc_id(self) -> str:
        return str(self.doc_id) if self.kind == "answer" else f"{self.doc_id}{CONTROL_MARK}{self.kind}"


@dataclass(frozen=True)
class Judgement:
    """A judge's reading of one item: status ``ok`` with a verdict, or why there is none."""

    item: Item
    status: str
    verdict: Verdict | None = None


def api_model_classes() -> list[str]:
    """The registered lm-eval model names that are our chat-API adapters (the classes a judge can be); lazy
    entries of other backends are not imported."""
    from lm_eval.api.registry import model_registry

    from meds_bench_adapters import APIChatLM

    return sorted(
        name for name, model in model_registry.items() if isinstance(model, type) and issubclass(model, APIChatLM)
    )


def parse_spec(text: str) -> JudgeSpec:
    """``MODEL_CLASS:MODEL_ARGS`` (``structured=schema|text`` is the judge's own key), checked before any model
    is made."""
    model_class, _, arg_string = text.partition(":")
    classes = api_model_classes()
    if model_class not in classes:
        raise JudgeInputError(
            f"--judge {text!r}: unknown judge class {model_class!r}; a judge is one of our API adapters: "
            f"{', '.join(classes)} (e.g. --judge meds-openai:model=gpt-5.1, or meds-openai:model=NAME,base_url=URL "
            "for any OpenAI-compatible server)"
        )
    args = simple_parse_args_string(arg_string) if arg_string else {}
    form = str(args.pop("structured", "schema")).strip().lower()
    if form not in STRUCTURED_FORMS:
        raise JudgeInputError(f"--judge {text!r}: structured={form!r}: use structured=schema or structured=text")
    if not args.get("model"):
        raise JudgeInputError(f"--judge {text!r}: name the judge model, e.g. {model_class}:model=NAME")
    return JudgeSpec(text, model_class, args, form == "schema")


def make_judge(spec: JudgeSpec, **overrides: Any) -> Any:
    """The adapter instance of a judge (raises the adapters' one-line errors: missing key, unknown model, ...)."""
    return get_model(spec.model_class)(**{**spec.args, **{k: v for k, v in overrides.items() if v is not None}})


def _instance(item: Item, messages: list[dict[str, str]], schema: dict[str, Any] | None, index: int) -> Instance:
    gen_kwargs: dict[str, Any] = {"until": [], "max_gen_toks": JUDGE_MAX_TOKENS, "do_sample": False}
    if schema is not None:
        gen_kwargs["json_schema"] = schema
    return Instance(
        "generate_until", {}, (as_context(messages), gen_kwargs), index, (item.task, item.request_doc_id, 1)
    )


def _status(instance: Instance) -> str:
    info = instance.args[1].get("meds_api") if len(instance.args) > 1 else None
    return str((info or {}).get("status", "done"))


def _ask(
    lm: Any, requests: Sequence[tuple[Item, list[dict[str, str]]]], structured: bool, quiet: bool
) -> list[tuple[str, str]]:
    instances = [
        _instance(item, messages, reply_schema(item.rubric) if structured else None, index)
        for index, (item, messages) in enumerate(requests)
    ]
    texts = lm.generate_until(instances, disable_tqdm=quiet) if instances else []
    return [(_status(instance), text) for instance, text in zip(instances, texts, strict=True)]


def judge(lm: Any, items: Sequence[Item], structured: bool, quiet: bool = False) -> list[Judgement]:
    """Every item judged by one judge (see the module docstring for the contract)."""
    results: dict[int, Judgement] = {}
    sent: list[tuple[int, Item, list[dict[str, str]]]] = []
    for index, item in enumerate(items):
        if not item.answer.strip():
            results[index] = Judgement(item, "empty_answer")
        else:
            sent.append((index, item, judge_messages(item.rubric, item.query, item.reference, item.answer)))
    first = _ask(lm, [(item, messages) for _, item, messages in sent], structured, quiet)
    again: list[tuple[int, Item, list[dict[str, str]]]] = []
    for (index, item, messages), (status, text) in zip(sent, first, strict=True):
        verdict = read_verdict(text, item.rubric) if status in ANSWERED else None
        if verdict is not None:
            results[index] = Judgement(item, "ok", verdict)
        elif status in ANSWERED:
            again.append((index, item, retry_messages(messages, text, item.rubric)))
        else:
            results[index] = Judgement(item, status)
    second = _ask(lm, [(item, messages) for _, item, messages in again], structured, quiet)
    for (index, item, _), (status, text) in zip(again, second, strict=True):
        verdict = read_verdict(text, item.rubric) if status in ANSWERED else None
        results[index] = Judgement(item, "ok" if verdict else ("invalid" if status in ANSWERED else status), verdict)
    return [results[index] for index in range(len(items))]


def label_of(lm: Any) -> str:
    """A judge's label: ``provider:model``."""
    return f"{lm.provider}:{lm.model}"
