"""Drop MedS-Ins training instances that overlap MedS-Bench test instances (the two share sources).

An instance's text is its input and gold output, lowercased and split into words; its score is the share of
its distinct word n-grams that also occur in some MedS-Bench test instance (a text shorter than n words is one
n-gram of its own). Instances scoring at least the threshold are dropped before mixing, so no copy of them
is trained on, and listed in a JSON report.

N-grams are stored as 64-bit hashes in a sorted numpy array (16 bytes per distinct n-gram with its owner task)
instead of a dict of word tuples: each word is hashed once with Python's ``hash`` and an n-gram's hash is a
polynomial over its words' hashes, computed for all positions at once. ``hash`` is salted per process, so an
index is only valid in the process that built it: :func:`shared_decontamination` builds it on the main
process only and sends the result (which instances to drop) to the other ranks.

Decontamination is loud: when open MedS-Bench test data it needs cannot be loaded it stops with one line,
unless the user opts out with ``decontaminate: false``, which the training metadata then records.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from medsins_sft.data import SAMPLE, InsTask

if TYPE_CHECKING:
    from meds_bench.data import DataSource

logger = logging.getLogger("medsins_sft")
WORD = re.compile(r"\w+")
_MULTIPLIER = np.uint64(1099511628211)  # an odd 64-bit multiplier (the FNV prime) for the rolling hash


class DecontaminationError(RuntimeError):
    """Decontamination cannot run as configured; the message is one line meant for the user."""


def gram_hashes(text: str, n: int) -> np.ndarray:
    """Sorted distinct 64-bit hashes of the word n-grams of ``text`` (one hash of the whole text when it has
    fewer than ``n`` words; none when it has no word)."""
    words = WORD.findall(text.lower())
    if not words:
        return np.empty(0, dtype=np.uint64)
    word_hashes = np.fromiter((hash(w) & 0xFFFFFFFFFFFFFFFF for w in words), dtype=np.uint64, count=len(words))
    size = min(n, len(words))
    grams = np.zeros(len(words) - size + 1, dtype=np.uint64)
    for k in range(size):  # h = sum_k word[i + k] * M^(size - 1 - k), modulo 2^64
        grams = grams * _MULTIPLIER + word_hashes[k : k + len(grams)]
    return np.unique(grams)


def instance_text(doc: dict[str, Any]) -> str:
    return f"{doc['input']}\n{doc['output']}"


@dataclass
class BenchIndex:
    """Hashed n-grams of MedS-Bench test instances, each owned by the first bench task that holds it."""

    n: int
    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    owners: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    _pending: list[tuple[np.ndarray, int]] = field(default_factory=list, repr=False)

    def add(self, task_name: str, texts: Iterable[str]) -> None:
        grams = [gram_hashes(t, self.n) for t in texts]
        merged = np.unique(np.concatenate(grams)) if grams else np.empty(0, dtype=np.uint64)
        self._pending.append((merged, len(self.loaded)))
        self.loaded.append(task_name)

    def freeze(self) -> BenchIndex:
        """Merge what was added into the sorted lookup arrays (the first task keeps a shared n-gram)."""
        if self._pending:
            keys = np.concatenate([self.keys, *(k for k, _ in self._pending)])
            owners = np.concatenate([self.owners, *(np.full(len(k), o, np.int32) for k, o in self._pending)])
            self.keys, first = np.unique(keys, return_index=True)  # first occurrence = earliest added task
            self.owners = owners[first]
            self._pending = []
        return self

    def owners_of(self, grams: np.ndarray) -> list[str]:
        """Owner task names of those of ``grams`` that are in the index."""
        self.freeze()
        if not len(self.keys) or not len(grams):
            return []
        pos = np.minimum(np.searchsorted(self.keys, grams), len(self.keys) - 1)
        hit = self.keys[pos] == grams
        return [self.loaded[i] for i in self.owners[pos[hit]]]


def bench_source(bench_data_dir: str | None) -> DataSource:
    """Where the MedS-Bench test data comes from, by meds_bench's own resolver: ``bench_data_dir`` (``"sample"``
    = the bundled sample data), else ``MEDS_BENCH_DATA_DIR``, else the hub.

    Raises:
        DecontaminationError: the directory named does not exist.
    """
    from meds_bench import sample_data_path
    from meds_bench.data import DataError, resolve_source

    try:
        return resolve_source(sample_data_path() if bench_data_dir == SAMPLE else bench_data_dir)
    except DataError as err:
        raise DecontaminationError(f"decontamination needs MedS-Bench test data, but {err}; {_ADVICE}") from None


def bench_index(source: DataSource, n: int) -> BenchIndex:
    """Index every MedS-Bench task that can be loaded from ``source``; the others are recorded with the reason."""
    from meds_bench.catalog import TASKS
    from meds_bench.data import DataError, load_from

    index = BenchIndex(n)
    for info in TASKS:
        try:
            loaded = load_from(info, source)
        except DataError as err:
            index.skipped[info.name] = str(err)
            continue
        index.add(info.name, (instance_text(d) for d in loaded.docs))
    return index.freeze()


def check_bench_source(source: DataSource) -> None:
    """Fail fast, before any download is attempted, when the bench data cannot come from anywhere: no local
    directory and the hub unreachable (``HF_HUB_OFFLINE`` uses the local hub cache instead)."""
    if source.kind != "hub":
        return
    from huggingface_hub import HfApi, constants

    from meds_bench.catalog import HUB_REPO_ID

    if constants.HF_HUB_OFFLINE:
        return  # files come from the local hub cache; each missing one fails at once, without retries
    try:
        HfApi().dataset_info(HUB_REPO_ID, timeout=10)
    except Exception as err:  # offline, DNS, proxy, auth: all end in the same advice
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DecontaminationError(
            f"decontamination needs MedS-Bench test data, bench_data_dir is null and the hub is unreachable "
            f"({reason}); {_ADVICE}"
        ) from None


_ADVICE = (
    "download it (`hf download Henrychur/MedS-Bench --repo-type dataset --local-dir DIR`) and set "
    "bench_data_dir: DIR, or set decontaminate: false to train without it (recorded in the model's metadata)"
)


def require_open_tasks(index: BenchIndex, source: DataSource) -> None:
    """One-line error when any redistributable MedS-Bench task is missing from the index (credentialed
    PhysioNet tasks may be absent: users without access cannot have them)."""
    from meds_bench.catalog import TASKS

    missing = [t for t in TASKS if not t.credentialed and t.name in index.skipped]
    if missing:
        where = "the hub" if source.kind == "hub" else source.location
        names = ", ".join(t.meds_id for t in missing[:5]) + (", ..." if len(missing) > 5 else "")
        open_count = sum(not t.credentialed for t in TASKS)
        raise DecontaminationError(
            f"decontamination needs MedS-Bench test data, but {len(missing)} of the {open_count} open tasks cannot "
            f"be loaded from {where} ({names}); {_ADVICE}"
        )


def _overlaps(tasks: list[InsTask], index: BenchIndex, threshold: float) -> Iterator[tuple[InsTask, int, float, str]]:
    for task in tasks:
        for i, doc in enumerate(task.docs):
            grams = gram_hashes(instance_text(doc), index.n)
            if not len(grams):
                continue
            owners = Counter(index.owners_of(grams))
            score = sum(owners.values()) / len(grams)
            if owners and score >= threshold:
                yield task, i, score, owners.most_common(1)[0][0]


def find_contamination(tasks: list[InsTask], index: BenchIndex, threshold: float) -> dict[str, Any]:
    """Report of the instances to drop: ``dropped_ids`` maps a task name to its instance indices."""
    dropped: dict[str, list[int]] = {}
    examples = []
    for task, i, score, bench_task in _overlaps(tasks, index, threshold):
        dropped.setdefault(task.name, []).append(i)
        examples.append(
            {
                "task": task.name,
                "instance": i,
                "overlap": round(score, 4),
                "bench_task": bench_task,
                "input": task.docs[i]["input"][:200],
            }
        )
    return {
        "ngram": index.n,
        "threshold": threshold,
        "bench_tasks_indexed": len(index.loaded),
        "bench_tasks_skipped": index.skipped,
        "instances_checked": sum(len(t.docs) for t in tasks),
        "instances_dropped": len(examples),
        "dropped_per_task": {name: len(ids) for name, ids in sorted(dropped.items())},
        "dropped_ids": dropped,
        "dropped": examples,
    }


def apply_report(tasks: list[InsTask], report: dict[str, Any]) -> list[InsTask]:
    """``tasks`` without the instances the report drops (tasks left empty disappear)."""
    kept = []
    for task in tasks:
        gone = set(report["dropped_ids"].get(task.name, ()))
        docs = [d for i, d in enumerate(task.docs) if i not in gone]
        if docs:
            kept.append(InsTask(task.task_id, task.name, task.definition, docs))
    return kept


def decontaminate(tasks: list[InsTask], index: BenchIndex, threshold: float) -> tuple[list[InsTask], dict[str, Any]]:
    """Tasks without their overlapping instances, and a report of what was dropped and why."""
    report = find_contamination(tasks, index, threshold)
    return apply_report(tasks, report), report


def shared_decontamination(
    tasks: list[InsTask], bench_data_dir: str | None, n: int, threshold: float
) -> tuple[list[InsTask], dict[str, Any]]:
    """Decontaminate once, on the main process, and give every rank the same result.

    The main process checks the source, builds the index and finds the instances to drop; the report (or the
    one-line error) is broadcast to all ranks, which then all drop the same instances or all stop with the
    same :class:`DecontaminationError`.
    """
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    state = PartialState()
    outcome: list[Any] = [None]
    if state.is_main_process:
        try:
            source = bench_source(bench_data_dir)
            check_bench_source(source)
            logger.info("building the MedS-Bench %d-gram index (main process)", n)
            index = bench_index(source, n)
            require_open_tasks(index, source)
            outcome = [find_contamination(tasks, index, threshold)]
        except DecontaminationError as err:
            outcome = [str(err)]
    if state.num_processes > 1:
        outcome = broadcast_object_list(outcome, from_process=0)
    if isinstance(outcome[0], str):
        raise DecontaminationError(outcome[0])
    report = outcome[0]
    return apply_report(tasks, report), report
