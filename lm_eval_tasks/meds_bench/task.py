"""The lm-eval task class behind every MedS-Bench YAML (``class: !function meds_bench.task.MedSBenchTask``).

It changes only two things of lm-eval's ``ConfigurableTask``:
- ``download`` reads the task file through :mod:`meds_bench.data` (local directory, env var or hub,
  with schema checks) and records the data source and file hash under
  ``configs.<task>.metadata.meds_bench_data`` of the results JSON;
- ``fewshot_context`` renders the paper's template (cases, then definition, then query) with
  :mod:`meds_bench.prompts`, the builder training uses too. lm-eval's own context puts the
  description first, which is not the paper's order. Cases are drawn by lm-eval's sampler from
  the test file, the query itself excluded, seeded by ``--fewshot_seed``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import datasets
from lm_eval.api.task import ConfigurableTask

from meds_bench.catalog import get_task
from meds_bench.data import DATA_DIR_METADATA_KEY, DataError, load_task
from meds_bench.prompts import build_prompt


class MedSBenchTask(ConfigurableTask):
    """A MedS-Bench task: paper prompt template over a validated MedS-Bench task file."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        # `class` would otherwise be serialised (as source code) into the results JSON.
        config = {k: v for k, v in (config or {}).items() if k != "class"}
        super().__init__(config=config, **kwargs)

    def download(self, dataset_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        metadata = dict(self.config.metadata or {})
        try:
            loaded = load_task(get_task(self.config.task), data_dir=metadata.get(DATA_DIR_METADATA_KEY))
        except DataError as err:  # plain lm_eval: one line, not a traceback from deep inside the task build
            print(f"meds-bench: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        for doc in loaded.docs:
            doc["task"] = loaded.info.name
        self.dataset = datasets.DatasetDict({"test": datasets.Dataset.from_list(loaded.docs)})
        self.config.metadata = {**metadata, "meds_bench_data": loaded.provenance}

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
        pool_size = len(self.sampler.fewshot_docs()) - 1  # the query is never its own case
        n = max(0, min(num_fewshot, pool_size))
        cases = self.sampler.sample(n=n, eval_doc=doc) if n else []
        prompt = build_prompt(doc["definition"], doc["input"], [(c["input"], c["output"]) for c in cases])
        if apply_chat_template and chat_template is not None:
            messages = prompt.messages(system_instruction)  # paper format, whatever fewshot_as_multiturn says
            return chat_template(messages, add_generation_prompt=not gen_prefix)
        return prompt.text(system_instruction)
