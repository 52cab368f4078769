"""MedS-Ins task files: find them (local directory or hub), select tasks, and mix them with weights and caps.

MedS-Ins uses MedS-Bench's schema (SPEC B1): one JSON object per file with a ``Definition`` list and
``Instances`` of ``{input, output}``; parsing and schema errors are :mod:`meds_bench.data`'s own. A task is
identified by its id, the part of the file name before the first ``_`` (``task12``), or by its file stem.
"""

from __future__ import annotations

import fnmatch
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meds_bench.data import DataError, parse_task, read_task_file

TASK_FILE = re.compile(r"^task\d+_.+\.jsonl?$")
SAMPLE = "sample"  # data_dir sentinel: the bundled synthetic sample data


def sample_data_path() -> Path:
    """The bundled synthetic MedS-Ins sample, laid out like the hub repository."""
    return Path(__file__).resolve().parent / "sample_data"


@dataclass
class InsTask:
    """One MedS-Ins task: its id, file stem, definition and docs ``{id, input, output, references}``."""

    task_id: str
    name: str
    definition: str
    docs: list[dict[str, Any]]


def task_id_of(name: str) -> str:
    """``task12_pubmedqa_classification`` -> ``task12``."""
    return name.split("_", 1)[0]


def _selected(stem: str, patterns: Sequence[str] | None) -> bool:
    if not patterns:
        return True
    return any(p == task_id_of(stem) or p == stem or fnmatch.fnmatchcase(stem, p) for p in patterns)


def _local_files(root: Path) -> list[Path]:
    files = sorted(p for p in root.rglob("task*") if p.is_file() and TASK_FILE.match(p.name))
    if not files:
        raise DataError(f"no MedS-Ins task files (task<N>_*.json or .jsonl) found below {root}")
    return files


def _hub_files(repo: str, revision: str, patterns: Sequence[str] | None) -> list[Path]:
    from huggingface_hub import HfApi, hf_hub_download

    try:
        names = HfApi().list_repo_files(repo, repo_type="dataset", revision=revision)
        wanted = [n for n in names if TASK_FILE.match(Path(n).name) and _selected(Path(n).stem, patterns)]
        return [Path(hf_hub_download(repo, n, repo_type="dataset", revision=revision)) for n in sorted(wanted)]
    except Exception as err:  # offline, auth, missing repo: one line of advice
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(
            f"cannot read MedS-Ins from the hub ({repo}@{revision}: {reason}); "
            f"download it with `hf download {repo} --repo-type dataset --local-dir DIR` and set data_dir"
        ) from err


def load_tasks(
    data_dir: str | Path | None,
    tasks: Sequence[str] | None = None,
    hub_repo: str = "Henrychur/MedS-Ins",
    hub_revision: str = "main",
) -> list[InsTask]:
    """Load the selected tasks from ``data_dir`` (``"sample"`` = bundled sample) or, when None, the hub."""
    if data_dir is None:
        files = _hub_files(hub_repo, hub_revision, tasks)
    else:
        root = sample_data_path() if str(data_dir) == SAMPLE else Path(data_dir).expanduser()
        if not root.is_dir():
            raise DataError(f"MedS-Ins data directory {root} does not exist")
        files = [p for p in _local_files(root) if _selected(_stem(p), tasks)]
    loaded = []
    for path in files:
        definition, docs = parse_task(path, read_task_file(path))
        loaded.append(InsTask(task_id=task_id_of(_stem(path)), name=_stem(path), definition=definition, docs=docs))
    if not loaded:
        raise DataError(f"no MedS-Ins task matches tasks={list(tasks or [])}")
    return loaded


def corpus_texts(data_dir: str | Path) -> Iterator[str]:
    """Every definition, input and output string of every task file below ``data_dir`` (``"sample"`` = bundled
    sample), whatever the task selection: the text a tiny model's tokenizer is trained on."""
    root = sample_data_path() if str(data_dir) == SAMPLE else Path(data_dir).expanduser()
    for path in _local_files(root):
        obj = read_task_file(path)
        definition = obj.get("Definition", [])
        yield from (d for d in ([definition] if isinstance(definition, str) else definition) if isinstance(d, str))
        for inst in obj.get("Instances", []):
            yield str(inst.get("input", ""))
            out = inst.get("output", "")
            yield from (out if isinstance(out, list) else [out])


def _stem(path: Path) -> str:
    return path.name.rsplit(".", 1)[0]


def _lookup(table: Mapping[str, Any], task: InsTask, default: Any) -> Any:
    """Per-task setting keyed by file stem or task id."""
    return table.get(task.name, table.get(task.task_id, default))


def mix(
    tasks: Iterable[InsTask],
    weights: Mapping[str, float] | None = None,
    caps: Mapping[str, int] | None = None,
    default_cap: int | None = None,
    seed: int = 0,
) -> list[tuple[InsTask, int]]:
    """The training mixture as ``(task, doc index)`` pairs, shuffled.

    Per task: shuffle its instances, keep at most its cap, then repeat them ``int(weight)`` times and add a
    random ``weight % 1`` share of them once more (weight 0.5 keeps half, 2.0 doubles, 0 drops the task).
    """
    weights, caps = weights or {}, caps or {}
    mixture: list[tuple[InsTask, int]] = []
    for task in tasks:
        rng = random.Random(f"{seed}:{task.name}")
        order = list(range(len(task.docs)))
        rng.shuffle(order)
        cap = _lookup(caps, task, default_cap)
        kept = order[: int(cap)] if cap is not None else order
        weight = float(_lookup(weights, task, 1.0))
        if weight < 0:
            raise ValueError(f"task weight for {task.name} must be >= 0, got {weight}")
        picked = kept * int(weight) + kept[: round(len(kept) * (weight % 1))]
        mixture.extend((task, i) for i in picked)
    random.Random(seed).shuffle(mixture)
    return mixture
