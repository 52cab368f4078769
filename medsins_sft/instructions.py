"""Training examples through the harness's own prompt builder (:func:`meds_bench.prompts.build_prompt`).

Each instance becomes ``{"prompt", "completion", "task"}``: zero-shot or few-shot (cases from the same task,
never the instance itself), with the task's own definition or one of its paraphrases, and the prompt
truncated on the left so that prompt + completion + EOS fit in ``max_length`` tokens (the paper's
left truncation). The completion is the gold output; TRL appends EOS to plain-text completions and the
chat template ends the assistant turn in chat format.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meds_bench.prompts import build_prompt
from medsins_sft.data import InsTask


def load_paraphrases(path: str | Path) -> dict[str, list[str]]:
    """Read a RewriteDefinitions.json-style file: task id -> ``{original_def, auto_rewrite_def: [...]}``."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected an object mapping task ids to definitions")
    out = {}
    for task_id, entry in raw.items():
        rewrites = entry.get("auto_rewrite_def", []) if isinstance(entry, dict) else None
        if not isinstance(rewrites, list) or not all(isinstance(r, str) for r in rewrites):
            raise ValueError(f"{path}: {task_id}: 'auto_rewrite_def' must be a list of strings")
        out[task_id] = [r for r in rewrites if r.strip()]
    return out


@dataclass
class InstructionBuilder:
    """Turns ``(task, doc index)`` into a prompt-completion example; see the module docstring."""

    tokenizer: Any
    max_length: int
    num_fewshot: int = 3
    fewshot_prob: float = 0.5
    paraphrases: Mapping[str, Sequence[str]] = field(default_factory=dict)
    paraphrase_prob: float = 0.0
    chat_format: bool = False

    def example(self, task: InsTask, index: int, rng: random.Random) -> dict[str, Any]:
        doc = task.docs[index]
        definition = task.definition
        rewrites = self.paraphrases.get(task.task_id) or ()
        if rewrites and rng.random() < self.paraphrase_prob:
            definition = rng.choice(list(rewrites))
        cases: list[tuple[str, str]] = []
        pool = len(task.docs) - 1
        if self.num_fewshot > 0 and pool > 0 and rng.random() < self.fewshot_prob:
            picks = rng.sample([i for i in range(len(task.docs)) if i != index], min(self.num_fewshot, pool))
            cases = [(task.docs[i]["input"], task.docs[i]["output"]) for i in picks]
        prompt = build_prompt(definition, doc["input"], cases)
        completion = doc["output"]
        if self.chat_format:
            messages = prompt.messages()
            messages[0]["content"] = self._fit(messages[0]["content"], completion, chat_query=messages[1]["content"])
            return {
                "prompt": messages,
                "completion": [{"role": "assistant", "content": completion}],
                "task": task.name,
            }
        # Prompt.text() is instruction + "\n" + query: truncating the rendered text on the left keeps the query.
        text = prompt.text()
        return {"prompt": self._fit(text, completion), "completion": completion, "task": task.name}

    # -- left truncation ---------------------------------------------------------------------------
    def _length(self, prompt: str, completion: str, chat_query: str | None) -> int:
        """Tokens of prompt + completion + EOS as the trainer will see them."""
        if chat_query is None:
            ids = self.tokenizer(prompt + completion)["input_ids"]
            return len(ids) + 1
        messages = [
            {"role": "system", "content": prompt},
            {"role": "user", "content": chat_query},
            {"role": "assistant", "content": completion},
        ]
        return len(self.tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])

    def _fit(self, prompt: str, completion: str, chat_query: str | None = None) -> str:
        """Drop tokens from the start of ``prompt`` until everything fits in ``max_length``."""
        # Each token covers at least one byte, so a short example needs no tokenization at all.
        overhead = 8 + (len(chat_query.encode()) + 32 if chat_query is not None else 0)
        if len(prompt.encode()) + len(completion.encode()) + overhead < self.max_length:
            return prompt
        for _ in range(8):
            excess = self._length(prompt, completion, chat_query) - self.max_length
            if excess <= 0:
                return prompt
            offsets = self.tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
            if excess >= len(offsets):
                raise CompletionTooLong(
                    f"the completion alone ({len(completion)} characters) does not fit in max_length={self.max_length}"
                )
            prompt = prompt[offsets[excess][0] :]
        raise CompletionTooLong("left truncation did not converge")


class CompletionTooLong(ValueError):
    """The gold output alone does not fit in ``max_length``."""


def build_examples(
    mixture: Sequence[tuple[InsTask, int]], builder: InstructionBuilder, seed: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """One example per mixture entry (each with its own seeded RNG); also the count of entries skipped
    because their output alone exceeds ``max_length``."""
    examples, skipped = [], 0
    for n, (task, index) in enumerate(mixture):
        try:
            examples.append(builder.example(task, index, random.Random(f"{seed}:{n}")))
        except CompletionTooLong:
            skipped += 1
    return examples, skipped
