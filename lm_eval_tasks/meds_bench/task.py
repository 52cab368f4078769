"""The lm-eval task class behind every MedS-Bench YAML (``class: !function meds_bench.task.MedSBenchTask``).

What it changes in lm-eval's ``ConfigurableTask``:
- ``download`` reads the task file through :mod:`meds_bench.data` (local directory, env var or hub,
  with schema checks), keeps the docs as plain dicts (:class:`DocList`) and records the data source
  and file hash under ``configs.<task>.metadata.meds_bench_data`` of the results JSON;
- ``fewshot_context`` renders the paper's template (cases, then definition, then query) with
  :mod:`meds_bench.prompts`, the builder training uses too. lm-eval's own context puts the
  description first, which is not the paper's order. Cases come from the test file, drawn by
  :mod:`meds_bench.fewshot` as a pure function of (few-shot seed, task, document id), never with
  the query's input. The few-shot seed is the 4th value of lm-eval's ``--seed`` (default 1234).
- Under ``--apply_chat_template`` the layout is chosen by :mod:`meds_bench.chat_form`, so a
  template without a system role still sees the definition and the cases;
- ``dump_config`` reports the shots actually used as ``num_fewshot`` (the results' ``n-shot``) and
  records the requested shots, the seed and the chat layout under ``metadata.meds_bench_prompt``;
- ``build_all_requests`` adds the data file's sha256, the seed and the chat layout to lm-eval's
  ``--cache_requests`` key, so cached prompts are never reused for other data or another seed;
- constructing a task calls :func:`meds_bench.metrics.uncertainty.install_stderr` (idempotent), the
  one place lm-eval itself is changed: its per-task aggregation then reports bootstrap standard
  errors for the NER/HoC corpus-level metrics.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from lm_eval.api.task import ConfigurableTask

from meds_bench.catalog import get_task
from meds_bench.chat_form import MERGED_USER, PLAIN, SYSTEM_USER, detect_chat_form
from meds_bench.data import DATA_DIR_METADATA_KEY, DataError, load_task
from meds_bench.fewshot import CasePool
from meds_bench.metrics.uncertainty import install_stderr
from meds_bench.prompts import Prompt, build_prompt

logger = logging.getLogger(__name__)
PROMPT_METADATA_KEY = "meds_bench_prompt"


def doc_prompt(
    doc: dict[str, Any], cases: Sequence[dict[str, Any]], pool: CasePool, shots: int, *, seed: int | None, task: str
) -> Prompt:
    """The paper's prompt of ``doc`` with ``shots`` of ``cases`` (``pool`` holds their inputs), drawn as
    :mod:`meds_bench.fewshot` does for (``seed``, ``task``, the doc's id)."""
    picks = pool.draw(doc["input"], shots, seed=seed, task=task, doc_id=doc["id"])
    return build_prompt(doc["definition"], doc["input"], [(cases[i]["input"], cases[i]["output"]) for i in picks])


def render_prompt(
    prompt: Prompt,
    form: str,
    system_instruction: str | None = None,
    chat_template: Callable[..., str] | None = None,
    add_generation_prompt: bool = True,
) -> str:
    """The text sent for ``prompt`` in chat layout ``form`` (:mod:`meds_bench.chat_form`): plain text, or the
    conversation rendered by ``chat_template`` (lm-eval's ``lm.apply_chat_template``)."""
    if form == PLAIN or chat_template is None:
        return prompt.text(system_instruction)
    render = prompt.messages if form == SYSTEM_USER else prompt.merged_messages
    return chat_template(render(system_instruction), add_generation_prompt=add_generation_prompt)


class DocList(list):
    """A split's docs as the plain dicts the loader built, in place of a ``datasets.Dataset``.

    lm-eval iterates a split, indexes it, takes its length and reads the field names from
    ``features``; nothing else. A ``Dataset`` would re-format every row into a new dict on each of
    the four passes over a task (few-shot pool, shot count, requests, scoring), which cost about a
    fifth of a dummy-model run, and keep the text twice (Arrow table and the dicts lm-eval holds).
    """

    @property
    def features(self) -> dict[str, None]:
        """The field names of the docs (what lm-eval reads of ``Dataset.features``)."""
        return dict.fromkeys(self[0]) if self else {}


class MedSBenchTask(ConfigurableTask):
    """A MedS-Bench task: paper prompt template over a validated MedS-Bench task file."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._fewshot_seed: int | None = None
        self._chat_form = PLAIN  # the layout of the last build_all_requests, recorded in the results
        self._probed: tuple[Callable[..., Any], str] | None = None  # (template, its layout)
        self._warned_shots: set[int] = set()
        # `class` would otherwise be serialised (as source code) into the results JSON.
        config = {k: v for k, v in (config or {}).items() if k != "class"}
        super().__init__(config=config, **kwargs)
        install_stderr()  # see the module docstring: our corpus-level aggregations get a standard error

    def download(self, dataset_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        metadata = dict(self.config.metadata or {})
        try:
            loaded = load_task(get_task(self.config.task), data_dir=metadata.get(DATA_DIR_METADATA_KEY))
        except DataError as err:  # plain lm_eval: one line, not a traceback from deep inside the task build
            print(f"meds-bench: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        for doc in loaded.docs:
            doc["task"] = loaded.info.name
        self.dataset = {"test": DocList(loaded.docs)}
        self.config.metadata = {**metadata, "meds_bench_data": loaded.provenance}

    def set_fewshot_seed(self, seed: int | None = None) -> None:
        """Called by lm-eval with the 4th value of ``--seed``; ``None`` is a seed value like any other."""
        super().set_fewshot_seed(seed)
        self._fewshot_seed = seed

    @cached_property
    def _cases(self) -> list[dict[str, Any]]:
        return list(self.sampler.fewshot_docs())

    @cached_property
    def _case_pool(self) -> CasePool:
        return CasePool([c["input"] for c in self._cases])

    @cached_property
    def _available_shots(self) -> int:
        return self._case_pool.available(d["input"] for d in self.eval_docs)

    def shots_used(self, requested: int) -> int:
        """Cases in every prompt: ``requested`` capped by what the file allows (warned once)."""
        used = max(0, min(requested, self._available_shots))
        if used < requested and requested not in self._warned_shots:
            self._warned_shots.add(requested)
            logger.warning(
                "%s: %d few-shot cases requested, but only %d instances differ from every query's input; "
                "using %d-shot (recorded as n-shot in the results)",
                self.config.task,
                requested,
                self._available_shots,
                used,
            )
        return used

    def _form_for(self, apply_chat_template: bool, chat_template: Callable[..., Any] | None) -> str:
        """The layout of prompts rendered with these arguments (each template probed once)."""
        if not (apply_chat_template and chat_template is not None):
            return PLAIN
        if self._probed is None or self._probed[0] != chat_template:
            form = detect_chat_form(chat_template)
            self._probed = (chat_template, form)
            if form != SYSTEM_USER:
                logger.warning(
                    "%s: the chat template %s; rendering the prompt as %s",
                    self.config.task,
                    "drops the system role" if form == MERGED_USER else "does not render",
                    "one user message" if form == MERGED_USER else "plain text",
                )
        return self._probed[1]

    def fewshot_context(
        self,
        doc: dict[str, Any],
        num_fewshot: int,
        system_instruction: str | None = None,
        apply_chat_template: bool = False,
        fewshot_as_multiturn: bool = False,
        chat_template: Callable[..., str] | None = None,
        gen_prefix: str | None = None,
    ) -> str:
        shots = self.shots_used(num_fewshot)
        prompt = doc_prompt(doc, self._cases, self._case_pool, shots, seed=self._fewshot_seed, task=self.config.task)
        # Paper format whatever fewshot_as_multiturn says.
        form = self._form_for(apply_chat_template, chat_template)
        return render_prompt(prompt, form, system_instruction, chat_template, add_generation_prompt=not gen_prefix)

    def build_all_requests(
        self,
        *,
        apply_chat_template: bool = False,
        chat_template: Callable[..., str] | None = None,
        tokenizer_name: str = "",
        **kwargs: Any,
    ) -> None:
        # Recorded here, so it is known also when the requests come from the cache.
        self._chat_form = self._form_for(apply_chat_template, chat_template)
        # lm-eval's request-cache key names the task, shots, rank and tokenizer but not the data, the
        # seed or the layout; `tokenizer_name` only feeds that key, so they are appended to it.
        sha = (self.config.metadata or {}).get("meds_bench_data", {}).get("sha256", "")
        key = f"{tokenizer_name}-data{sha}-fewshot_seed{self._fewshot_seed}-{self._chat_form}"
        super().build_all_requests(
            apply_chat_template=apply_chat_template, chat_template=chat_template, tokenizer_name=key, **kwargs
        )

    def dump_config(self) -> dict:
        """The config as the results JSON records it: shots actually used, and how prompts were built."""
        config = dict(super().dump_config())
        requested = config.get("num_fewshot") or 0
        config["num_fewshot"] = self.shots_used(requested)
        config["metadata"] = {
            **(config.get("metadata") or {}),
            PROMPT_METADATA_KEY: {
                "num_fewshot_requested": requested,
                "num_fewshot_used": config["num_fewshot"],
                "fewshot_seed": self._fewshot_seed,
                "chat_form": self._chat_form,
            },
        }
        return config
