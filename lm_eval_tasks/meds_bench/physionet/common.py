"""Shared pieces of the PhysioNet converters: finding raw files, seeded sampling, writing task files.

A converter reads a source's raw files and returns one :class:`TaskBuild` per MedS-Bench task.
:func:`write_builds` samples each task deterministically, writes it in the hub layout
(``<DATA_DIR>/<folder>/<file>``) in the format of the public task files, and records sha256
digests and kept/dropped counts in ``<DATA_DIR>/MANIFEST.json``. Nothing here touches the network.
"""

from __future__ import annotations

import csv
import fnmatch
import gzip
import io
import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meds_bench import __version__
from meds_bench.catalog import CATEGORIES, TaskInfo, get_task
from meds_bench.data import sha256_of

MANIFEST_NAME = "MANIFEST.json"


class RawDataError(ValueError):
    """A raw PhysioNet directory is wrong or incomplete; the message is one line for the user."""


@dataclass
class TaskBuild:
    """The candidates of one task, in source order, before sampling.

    Candidates are instances (``{"input", "output"}``), or, when ``render`` is set, cheap
    references (e.g. row numbers) that ``render`` turns into instances after sampling, so that
    large sources need not hold every rendered row in memory.
    """

    info: TaskInfo
    definition: str
    default_size: int
    instances: list[Any] = field(default_factory=list)
    render: Callable[[list[Any]], list[dict[str, str]]] | None = None


@dataclass
class SourceBuild:
    """What one converter produced: tasks, the raw files it read and why rows were dropped."""

    source: str
    tasks: list[TaskBuild]
    inputs: dict[str, str]  # file name relative to the raw directory -> sha256
    dropped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def find_raw_file(root: Path, candidates: Sequence[str], what: str, file_pattern: str | None = None) -> Path:
    """First existing ``root/<candidate>`` (also ``.gz``), or ``root`` itself when it is a file.

    A file given directly must match the glob ``file_pattern`` (no pattern: a folder is required).
    ``what`` says where PhysioNet puts the file; it ends the error message.
    """
    if root.is_file():
        if file_pattern is None or not fnmatch.fnmatch(root.name, file_pattern):
            raise RawDataError(f"{root} is not the file this source needs; expected {what}")
        return root
    if not root.is_dir():
        raise RawDataError(f"raw input {root} does not exist; expected {what}")
    for name in candidates:
        for path in (root / name, root / f"{name}.gz"):
            if path.is_file():
                return path
    tried = ", ".join(candidates)
    raise RawDataError(f"{root}: none of {tried} (or .gz) found; expected {what}")


def open_text(path: Path) -> io.TextIOBase:
    """Open a raw text file, transparently decompressing ``.gz`` as PhysioNet ships them."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")  # noqa: SIM115 - the caller closes it


def read_csv_rows(path: Path, required: Sequence[str], what: str) -> Iterator[dict[str, str]]:
    """Rows of a CSV file as dicts, after checking that the header has every ``required`` column."""
    csv.field_size_limit(sys.maxsize)  # radiology notes exceed the default 128 KiB field limit
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [col for col in required if col not in header]
        if missing:
            raise RawDataError(f"{path}: column(s) {', '.join(missing)} missing from the header; expected {what}")
        yield from reader


def seeded_sample(items: list[Any], size: int, seed: int, key: str) -> list[Any]:
    """``size`` items drawn with a generator seeded by (seed, key), kept in source order."""
    if size >= len(items):
        return list(items)
    rng = random.Random(f"{seed}:{key}")  # str seeds hash with SHA-512: stable across runs and platforms
    return [items[i] for i in sorted(rng.sample(range(len(items)), size))]


def task_file_object(info: TaskInfo, definition: str, source_name: str, url: str, instances: list[dict]) -> dict:
    """The task-file object, with the keys of the public MedS-Bench files."""
    return {
        "Contributors": "built locally by meds-bench from credentialed PhysioNet data",
        "Source": [source_name],
        "URL": [url],
        "Categories": [CATEGORIES[info.category].title],
        "Definition": [definition],
        "Reasoning": [],
        "Input_language": ["English"],
        "Output_language": ["English"],
        "Instruction_language": ["English"],
        "Domains": ["Medicine", "Clinical"],
        "Positive Examples": [],
        "Negative Examples": [],
        "Instances": instances,
    }


def dump_json(obj: Any) -> bytes:
    """Canonical bytes: the same object always serialises identically."""
    return (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def write_builds(
    build: SourceBuild, out_dir: Path, seed: int, size: int | None, source_name: str, url: str
) -> dict[str, Any]:
    """Sample and write every task of ``build``; update ``MANIFEST.json``; return this source's entry.

    Tasks without any instance are not written (an empty task file is invalid) and are listed
    under ``empty`` in the entry.
    """
    outputs, empty = [], []
    for task in build.tasks:
        target = task.default_size if size is None else size
        chosen = seeded_sample(task.instances, target, seed, task.info.meds_id)
        if task.render is not None:
            chosen = task.render(chosen)
        if not chosen:
            empty.append(task.info.name)
            continue
        path = out_dir / task.info.folder / task.info.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dump_json(task_file_object(task.info, task.definition, source_name, url, chosen)))
        outputs.append(
            {
                "task": task.info.name,
                "meds_id": task.info.meds_id,
                "file": task.info.hub_path,
                "sha256": sha256_of(path),
                "instances": len(chosen),
                "candidates": len(task.instances),
                "requested": target,
            }
        )
    entry = {
        "meds_bench_version": __version__,
        "seed": seed,
        "size": size,
        "inputs": dict(sorted(build.inputs.items())),
        "outputs": outputs,
        "empty_tasks": empty,
        "dropped": dict(sorted(build.dropped.items())),
        "notes": build.notes,
    }
    _update_manifest(out_dir, build.source, entry)
    return entry


def _update_manifest(out_dir: Path, source: str, entry: dict[str, Any]) -> None:
    """Replace this source's entry in the manifest, keeping the other sources' entries."""
    path = out_dir / MANIFEST_NAME
    manifest: dict[str, Any] = {"sources": {}}
    if path.is_file():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise RawDataError(f"{path}: not valid JSON ({err.msg}); delete it and build again") from None
    manifest.setdefault("sources", {})[source] = entry
    manifest["sources"] = dict(sorted(manifest["sources"].items()))
    path.write_bytes(dump_json(manifest))


def summary_lines(source: str, entry: dict[str, Any], out_dir: Path) -> list[str]:
    """A one-screen summary of a build, for the terminal."""
    lines = [f"{source}: wrote {len(entry['outputs'])} task file(s) to {out_dir} (seed {entry['seed']})"]
    for out in entry["outputs"]:
        short = "" if out["instances"] >= out["requested"] else f"  (only {out['candidates']} available)"
        lines.append(f"  {out['meds_id']:<8} {out['task']:<46} {out['instances']:>6} instances{short}")
    for name in entry["empty_tasks"]:
        lines.append(f"  NOT WRITTEN {get_task(name).meds_id} {name}: no instance in the raw data")
    if entry["dropped"]:
        lines.append("  dropped: " + ", ".join(f"{reason} {n}" for reason, n in entry["dropped"].items()))
    lines.extend(f"  note: {note}" for note in entry["notes"])
    lines.append(f"  manifest: {out_dir / MANIFEST_NAME}")
    return lines
