"""Drop MedS-Ins training instances that overlap MedS-Bench test instances (the two share sources).

An instance's text is its input and gold output, lowercased and split into words; its score is the share of
its word n-grams that also occur in some MedS-Bench test instance (a text shorter than n words is one
n-gram of its own). Instances scoring at least the threshold are dropped before mixing, so no copy of them
is trained on, and listed in a JSON report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from medsins_sft.data import InsTask

WORD = re.compile(r"\w+")


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """Word n-grams of ``text``; the whole text when it has fewer than ``n`` words."""
    words = WORD.findall(text.lower())
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def instance_text(doc: dict[str, Any]) -> str:
    return f"{doc['input']}\n{doc['output']}"


@dataclass
class BenchIndex:
    """N-grams of MedS-Bench test instances, each mapped to the first bench task holding it."""

    n: int
    owner: dict[tuple[str, ...], str] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def add(self, task_name: str, texts: Iterable[str]) -> None:
        for text in texts:
            for gram in ngrams(text, self.n):
                self.owner.setdefault(gram, task_name)
        self.loaded.append(task_name)


def bench_index(bench_data_dir: str | None, n: int) -> BenchIndex:
    """Index every MedS-Bench task that can be loaded; the others are recorded with the reason."""
    from meds_bench import sample_data_path
    from meds_bench.catalog import TASKS
    from meds_bench.data import DataError, load_task

    data_dir = str(sample_data_path()) if bench_data_dir == "sample" else bench_data_dir
    index = BenchIndex(n)
    for info in TASKS:
        try:
            loaded = load_task(info, data_dir=data_dir)
        except DataError as err:
            index.skipped[info.name] = str(err)
            continue
        index.add(info.name, (instance_text(d) for d in loaded.docs))
    return index


def _overlaps(tasks: list[InsTask], index: BenchIndex, threshold: float) -> Iterator[tuple[InsTask, int, float, str]]:
    for task in tasks:
        for i, doc in enumerate(task.docs):
            grams = ngrams(instance_text(doc), index.n)
            if not grams:
                continue
            owners = Counter(index.owner[g] for g in grams if g in index.owner)
            score = sum(owners.values()) / len(grams)
            if owners and score >= threshold:
                yield task, i, score, owners.most_common(1)[0][0]


def decontaminate(tasks: list[InsTask], index: BenchIndex, threshold: float) -> tuple[list[InsTask], dict[str, Any]]:
    """Tasks without their overlapping instances, and a report of what was dropped and why."""
    dropped: dict[str, set[int]] = {}
    examples = []
    for task, i, score, bench_task in _overlaps(tasks, index, threshold):
        dropped.setdefault(task.name, set()).add(i)
        examples.append(
            {
                "task": task.name,
                "instance": i,
                "overlap": round(score, 4),
                "bench_task": bench_task,
                "input": task.docs[i]["input"][:200],
            }
        )
    kept_tasks = []
    for task in tasks:
        gone = dropped.get(task.name, set())
        docs = [d for i, d in enumerate(task.docs) if i not in gone]
        if docs:
            kept_tasks.append(InsTask(task.task_id, task.name, task.definition, docs))
    report = {
        "ngram": index.n,
        "threshold": threshold,
        "bench_tasks_indexed": len(index.loaded),
        "bench_tasks_skipped": index.skipped,
        "instances_checked": sum(len(t.docs) for t in tasks),
        "instances_dropped": len(examples),
        "dropped_per_task": {name: len(ids) for name, ids in sorted(dropped.items())},
        "dropped": examples,
    }
    return kept_tasks, report
