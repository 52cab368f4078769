"""Loading MedS-Bench task files: where they come from, schema checks, provenance (SPEC A2).

Sources, in order: an explicit directory (``data_dir`` argument, e.g. from lm-eval's
``--metadata '{"meds_bench_data_dir": ...}'``), the ``MEDS_BENCH_DATA_DIR`` environment variable,
then the published layouts on the Hugging Face hub (:mod:`meds_bench.hub`). A directory is laid
out like the hub repositories (``<Folder>/task<ID>_*.json[l]``: any of the three published
layouts). The bundled sample data is used only when one of these points at it.
Every problem is reported as one :class:`DataError` line naming the file, instance and field.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meds_bench import hub, sample_data_path
from meds_bench.catalog import TaskInfo
from meds_bench.text_files import NotJsonLineError, NotUtf8Error, json_lines, read_utf8

DATA_DIR_ENV = "MEDS_BENCH_DATA_DIR"
DATA_DIR_METADATA_KEY = "meds_bench_data_dir"
CREDENTIALED_HINT = (
    "it is derived from PhysioNet-credentialed MIMIC data and is not redistributed: build it from "
    "your own credentialed PhysioNet copy with `meds-bench data build` into your data directory "
    "(README: 'Credentialed tasks')"
)
DOWNLOAD_HINT = f"get the open tasks with `meds-bench download --output DIR` and set {DATA_DIR_ENV}=DIR"


class DataError(ValueError):
    """A task file is missing or malformed; the message is one line meant for the user."""


@dataclass(frozen=True)
class DataSource:
    """Where task files are read from: ``kind`` is ``local``, ``sample`` or ``hub``."""

    kind: str
    location: str

    def describe(self) -> str:
        return f"{self.kind}:{self.location}"


@dataclass
class LoadedTask:
    """Docs of one task plus the provenance recorded in the results JSON."""

    info: TaskInfo
    definition: str
    docs: list[dict[str, Any]]
    provenance: dict[str, Any] = field(default_factory=dict)


def resolve_source(data_dir: str | os.PathLike[str] | None = None) -> DataSource:
    """Pick the data source: explicit directory, then ``MEDS_BENCH_DATA_DIR``, then the hub."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or None
    if chosen is None:
        return DataSource("hub", hub.describe_sources())
    path = Path(chosen).expanduser().resolve()
    if not path.is_dir():
        raise DataError(f"data directory {path} does not exist (from {DATA_DIR_ENV} or the data-dir option)")
    kind = "sample" if path == sample_data_path().resolve() else "local"
    return DataSource(kind, str(path))


def locate(info: TaskInfo, source: DataSource) -> Path:
    """Path of the task file in ``source`` (found by MedS id), fetching it from the hub if needed."""
    return _locate(info, source)[0]


def _locate(info: TaskInfo, source: DataSource) -> tuple[Path, dict[str, Any]]:
    """The task file and its provenance fields (``location``, ``file``)."""
    if source.kind != "hub":
        path = hub.pick(info, Path(source.location))
        if path is None:
            hint = CREDENTIALED_HINT if info.credentialed else DOWNLOAD_HINT
            raise DataError(
                f"{info.name} ({info.meds_id}): no {info.folder}/{info.meds_id}_*.json[l] in {source.location}: {hint}"
            )
        return path, {"location": source.location, "file": path.relative_to(source.location).as_posix()}
    if info.credentialed:
        raise DataError(f"{info.name} ({info.meds_id}): {info.hub_path} is not on the hub: {CREDENTIALED_HINT}")
    found, reasons = hub.fetch(info)
    if found is None:
        raise DataError(f"{info.name} ({info.meds_id}): not found on the hub ({'; '.join(reasons)}); {DOWNLOAD_HINT}")
    provenance = {
        "location": f"{found.source.repo_id}@{found.commit}",
        "repo": found.source.repo_id,
        "revision": found.source.revision,
        "commit": found.commit,
        "file": found.repo_path,
    }
    return found.path, provenance


def read_task_file(path: Path) -> dict[str, Any]:
    """Parse a task file: one JSON object (``.json`` and the hub's ``.jsonl``) or real JSON lines.

    JSON lines may hold instance objects (``input``/``output``) and objects carrying
    ``Definition`` and/or ``Instances``; they are merged into one task object.
    """
    try:
        text = read_utf8(path)
    except NotUtf8Error as err:
        raise DataError(str(err)) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as whole_err:
        lines = [line for line in io.StringIO(text, newline=None) if line.strip()]
        if len(lines) < 2 or not _is_json_object(lines[0]):  # one (pretty-printed) document: its own error
            raise DataError(
                f"{path}: not valid JSON (line {whole_err.lineno}, column {whole_err.colno}: {whole_err.msg})"
            ) from None
        return _merge_json_lines(path, text)
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a JSON object with 'Definition' and 'Instances', got {type(obj).__name__}")
    return obj


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def _merge_json_lines(path: Path, text: str) -> dict[str, Any]:
    merged: dict[str, Any] = {"Instances": []}
    try:
        for lineno, obj in json_lines(io.StringIO(text, newline=None), path):
            if not isinstance(obj, dict):
                raise DataError(f"{path}: line {lineno} is a {type(obj).__name__}, expected a JSON object")
            if "input" in obj or "output" in obj:
                merged["Instances"].append(obj)
                continue
            merged["Instances"].extend(obj.pop("Instances", []) or [])
            merged.update({k: v for k, v in obj.items() if k != "Instances"})
    except NotJsonLineError as err:
        raise DataError(str(err)) from None
    return merged


def _check_text(path: Path, where: str, name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise DataError(f"{path}: {where}: field '{name}' must be a string, got {type(value).__name__}")


def parse_task(path: Path, obj: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Validate a task object; return its definition and docs ``{id, input, output, references}``."""
    definition = obj.get("Definition")
    if definition is None:
        raise DataError(f"{path}: missing field 'Definition' (a list holding the task definition)")
    if isinstance(definition, str):
        definition = [definition]
    if not isinstance(definition, list) or not definition or not isinstance(definition[0], str):
        raise DataError(f"{path}: field 'Definition' must be a non-empty list of strings")
    instances = obj.get("Instances")
    if instances is None:
        raise DataError(f"{path}: missing field 'Instances' (a list of {{'input', 'output'}} objects)")
    if not isinstance(instances, list) or not instances:
        raise DataError(f"{path}: field 'Instances' must be a non-empty list")
    docs = []
    for index, inst in enumerate(instances):
        where = f"instance {index}"
        if not isinstance(inst, dict):
            raise DataError(f"{path}: {where}: expected an object with 'input' and 'output', got {type(inst).__name__}")
        for name in ("input", "output"):
            if name not in inst:
                raise DataError(f"{path}: {where}: missing field '{name}'")
        _check_text(path, where, "input", inst["input"])
        output = inst["output"]
        references = output if isinstance(output, list) else [output]
        if not references:
            raise DataError(f"{path}: {where}: field 'output' is an empty list (the first element is the gold)")
        for ref in references:
            _check_text(path, where, "output", ref)
        docs.append({"id": index, "input": inst["input"], "output": references[0], "references": references})
    return definition[0], docs


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class PreloadedTasks:
    """Task files parsed ahead of their task build (by the pre-flight), each handed over once.

    Keyed by task name and data location, so a file is only reused for the source it came from.
    One lives for one :func:`task_handover` scope.
    """

    def __init__(self) -> None:
        self._tasks: dict[tuple[str, str], LoadedTask] = {}

    def put(self, loaded: LoadedTask, source: DataSource) -> None:
        """Keep ``loaded`` (read from ``source``) for the next :meth:`take` of its task."""
        self._tasks[(loaded.info.name, source.location)] = loaded

    def take(self, info: TaskInfo, source: DataSource) -> LoadedTask | None:
        """The kept task read from ``source``, removed from the store; None when there is none."""
        return self._tasks.pop((info.name, source.location), None)

    def peek(self, info: TaskInfo, source: DataSource) -> LoadedTask | None:
        """The kept task read from ``source``, left in the store; None when there is none."""
        return self._tasks.get((info.name, source.location))

    def __len__(self) -> int:
        return len(self._tasks)

    def clear(self) -> None:
        """Drop every kept task."""
        self._tasks.clear()


_HANDOVER: ContextVar[PreloadedTasks | None] = ContextVar("meds_bench_task_handover", default=None)


@contextmanager
def task_handover() -> Iterator[PreloadedTasks]:
    """Scope of one evaluation: tasks :func:`preload` parses inside it go to its :func:`load_task` calls.

    The pre-flight parses every task file before lm-eval builds the tasks; inside this scope the task
    build reuses those parses instead of reading the files again. On leaving, whatever was not taken
    (a run that never started) is dropped, so a second evaluation in the same process starts empty.
    Outside any scope :func:`preload` keeps nothing and :func:`load_task` always reads the file.
    """
    kept = PreloadedTasks()
    token = _HANDOVER.set(kept)
    try:
        yield kept
    finally:
        _HANDOVER.reset(token)
        kept.clear()


def load_task(info: TaskInfo, data_dir: str | os.PathLike[str] | None = None) -> LoadedTask:
    """Locate, parse and validate one task's file; record where it came from and its hash.

    Inside :func:`task_handover`, a task the pre-flight already parsed from the same source is taken from it.
    """
    return load_from(info, resolve_source(data_dir))


def load_from(info: TaskInfo, source: DataSource) -> LoadedTask:
    """:func:`load_task` from a source already resolved (by :func:`resolve_source`)."""
    kept = _HANDOVER.get()
    return (kept.take(info, source) if kept is not None else None) or _load(info, source)


def preloaded(info: TaskInfo, source: DataSource) -> LoadedTask:
    """A task for a look before its run: the parse :func:`preload` kept for the run (left for it), else read now."""
    kept = _HANDOVER.get()
    return (kept.peek(info, source) if kept is not None else None) or _load(info, source)


def preload(info: TaskInfo, source: DataSource) -> int:
    """Load a task now and return its size; inside :func:`task_handover` it is kept for that scope's task build."""
    loaded = _load(info, source)
    kept = _HANDOVER.get()
    if kept is not None:
        kept.put(loaded, source)
    return len(loaded.docs)


def _load(info: TaskInfo, source: DataSource) -> LoadedTask:
    path, where = _locate(info, source)
    definition, docs = parse_task(path, read_task_file(path))
    for doc in docs:
        doc["definition"] = definition
    provenance = {"source": source.kind, **where, "sha256": sha256_of(path), "n_instances": len(docs)}
    return LoadedTask(info=info, definition=definition, docs=docs, provenance=provenance)
