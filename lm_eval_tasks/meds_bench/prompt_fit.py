"""Whether every prompt a run will send, and its answer, fit a model's context (``max_model_len``).

lm-eval's vLLM backend does not refuse a prompt that does not fit: when prompt + ``max_gen_toks`` tokens
exceed ``max_model_len`` it cuts the prompt's start (the cases and the definition) and logs a warning,
and the task is scored on what is left. So a run is checked before the model loads: each selected task's
prompts are rendered as the task build renders them (:func:`meds_bench.task.doc_prompt` and
:func:`~meds_bench.task.render_prompt`, the functions ``MedSBenchTask.fewshot_context`` calls) for the
documents the run will use (``--limit``, ``--samples``), with the shots, few-shot seed, system
instruction and chat layout of the run, and counted with the model's own tokenizer as the backend
encodes them. A task needs its longest prompt plus its answer budget (``--gen_kwargs max_gen_toks``, else
the task's own); vLLM itself refuses a request whose prompt + ``max_tokens`` exceed ``max_model_len``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meds_bench.catalog import CATEGORIES, TaskInfo
from meds_bench.chat_form import PLAIN, detect_chat_form
from meds_bench.data import LoadedTask
from meds_bench.fewshot import CasePool
from meds_bench.preflight import PreflightError
from meds_bench.task import doc_prompt, render_prompt

DEFAULT_FEWSHOT_SEED = 1234  # lm-eval's default 4th value of --seed


def _fewshot_seed(seed: object) -> int | None:
    if isinstance(seed, (list, tuple)):
        return seed[3] if len(seed) > 3 else DEFAULT_FEWSHOT_SEED
    return seed if isinstance(seed, int) or seed is None else DEFAULT_FEWSHOT_SEED


def _samples(value: object) -> Mapping[str, Sequence[int]] | None:
    """lm-eval's ``--samples``: a JSON object of task -> doc indices, given inline or as a file."""
    if isinstance(value, Mapping) or value is None:
        return value
    try:
        return json.loads(str(value))
    except json.JSONDecodeError:
        path = Path(str(value))
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


@dataclass(frozen=True)
class RunPrompts:
    """What decides a run's prompts and answer budgets, as lm-eval's run settings give it."""

    num_fewshot: int | None = None  # None: each task's default
    fewshot_seed: int | None = DEFAULT_FEWSHOT_SEED
    limit: float | None = None
    samples: Mapping[str, Sequence[int]] | None = None
    apply_chat_template: bool = False
    system_instruction: str | None = None
    max_gen_toks: int | None = None  # None: each task's own

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> RunPrompts:
        """From ``meds-bench eval``'s lm-eval settings (command line over ``--config``)."""
        gen_kwargs = settings.get("gen_kwargs") or {}
        return cls(
            num_fewshot=settings.get("num_fewshot"),
            fewshot_seed=_fewshot_seed(settings.get("seed", DEFAULT_FEWSHOT_SEED)),
            limit=settings.get("limit"),
            samples=_samples(settings.get("samples")),
            apply_chat_template=bool(settings.get("apply_chat_template")),
            system_instruction=settings.get("system_instruction") or None,
            max_gen_toks=int(gen_kwargs["max_gen_toks"]) if "max_gen_toks" in gen_kwargs else None,
        )

    def docs(self, loaded: LoadedTask) -> list[dict[str, Any]]:
        """The documents lm-eval evaluates: ``--samples`` indices, else the first ``--limit`` (a count, or a
        fraction below 1), else all."""
        indices = (self.samples or {}).get(loaded.info.name)
        if indices is not None:
            return [loaded.docs[i] for i in indices if 0 <= i < len(loaded.docs)]
        if self.limit is None:
            return loaded.docs
        n = math.ceil(len(loaded.docs) * self.limit) if self.limit < 1.0 else int(self.limit)
        return loaded.docs[:n]

    def prompts(self, loaded: LoadedTask, chat_template: Callable[..., str] | None) -> list[str]:
        """The text of each prompt the run sends for ``loaded``'s documents."""
        info = loaded.info
        requested = self.num_fewshot if self.num_fewshot is not None else CATEGORIES[info.category].num_fewshot
        pool = CasePool([doc["input"] for doc in loaded.docs])
        shots = max(0, min(requested, pool.available(doc["input"] for doc in loaded.docs)))
        form = detect_chat_form(chat_template) if self.apply_chat_template and chat_template else PLAIN
        return [
            render_prompt(
                doc_prompt(doc, loaded.docs, pool, shots, seed=self.fewshot_seed, task=info.name),
                form,
                self.system_instruction,
                chat_template,
            )
            for doc in self.docs(loaded)
        ]

    def answer_tokens(self, info: TaskInfo) -> int:
        return self.max_gen_toks if self.max_gen_toks is not None else info.max_gen_toks


@dataclass(frozen=True)
class Need:
    """The context one task needs: its longest prompt and its answer budget, in tokens."""

    info: TaskInfo
    prompt_tokens: int
    answer_tokens: int

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.answer_tokens


def needs(
    tasks: Iterable[LoadedTask],
    run: RunPrompts,
    count_tokens: Callable[[list[str]], list[int]],
    chat_template: Callable[..., str] | None = None,
) -> list[Need]:
    """Each task's need; ``count_tokens`` gives the token count of each text as the model encodes it."""
    out = []
    for loaded in tasks:
        prompts = run.prompts(loaded, chat_template)
        longest = max(count_tokens(prompts)) if prompts else 0
        out.append(Need(loaded.info, longest, run.answer_tokens(loaded.info)))
    return out


def check_fits(task_needs: Sequence[Need], max_model_len: int, flag: str = "max_model_len") -> None:
    """Refuse, in one line naming the task that needs most, when a task's prompt + answer exceed the context.

    Raises:
        PreflightError: some task needs more than ``max_model_len`` tokens.
    """
    over = [need for need in task_needs if need.total > max_model_len]
    if not over:
        return
    worst = max(over, key=lambda need: need.total)
    others = f"; {len(over)} of the {len(task_needs)} selected tasks need more" if len(over) > 1 else ""
    raise PreflightError(
        f"--model_args {flag}={max_model_len} is too small for {worst.info.name} ({worst.info.meds_id}): its "
        f"longest prompt is {worst.prompt_tokens} tokens and its answer may take {worst.answer_tokens} "
        f"(max_gen_toks){others}; use {flag}={worst.total} or more (lm-eval would cut the prompts' start)"
    )
