"""The published MedS-Bench on the Hugging Face hub: its three layouts and finding a task by MedS id.

The release exists in three layouts (SPEC B1), tried in this order for every task:

1. ``Henrychur/MedS-Bench`` at ``main`` (``$MEDS_BENCH_HUB_REVISION`` overrides): nine folders;
   its last commit deleted ``Text_summarization/``;
2. ``Henrychur/MedS-Bench`` at commit ``7e3fc90``, the last one holding ``Text_summarization/``
   (read for that folder only);
3. ``Henrychur/MedS-Bench-SPLIT`` at ``main``: all 53 files as ``.json``.

A task is found by its MedS id (``<Folder>/task<ID>_*.json[l]``), not by one exact file name.
Each source's revision is resolved to a commit once per process; ``snapshot_download`` then lists
the repository once per commit (huggingface_hub caches the listing on disk) and fetches only the
task's file. Offline, both calls fall back to the local cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from meds_bench.catalog import HUB_REPO_ID, SPLIT_REPO_ID, TaskInfo

HUB_REVISION_ENV = "MEDS_BENCH_HUB_REVISION"
SUMMARIZATION_REVISION = "7e3fc90"
REPO_TYPE = "dataset"


@dataclass(frozen=True)
class HubSource:
    """One published layout: a repository at a revision, optionally read for some folders only."""

    repo_id: str
    revision: str
    folders: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.repo_id}@{self.revision}"

    def serves(self, info: TaskInfo) -> bool:
        return not self.folders or info.folder in self.folders


@dataclass(frozen=True)
class HubFile:
    """A task file fetched from one source: the local cached path and where it came from."""

    source: HubSource
    commit: str
    repo_path: str
    path: Path


def hub_sources() -> tuple[HubSource, ...]:
    """The ordered sources (see the module docstring)."""
    return (
        HubSource(HUB_REPO_ID, os.environ.get(HUB_REVISION_ENV, "main")),
        HubSource(HUB_REPO_ID, SUMMARIZATION_REVISION, folders=("Text_summarization",)),
        HubSource(SPLIT_REPO_ID, "main"),
    )


def describe_sources() -> str:
    return ", then ".join(s.describe() + (f" ({', '.join(s.folders)})" if s.folders else "") for s in hub_sources())


@cache
def _resolved(source: HubSource) -> str | Exception:
    """The source's revision pinned to a commit, once per process; a failure is remembered too."""
    from huggingface_hub import HfApi

    try:
        return HfApi().resolve_revision(source.repo_id, repo_type=REPO_TYPE, revision=source.revision)
    except Exception as err:  # noqa: BLE001  reported by fetch(); any failure means "try the next source"
        return err


def unreachable() -> str | None:
    """Why no source can be used at all (hub not reachable and nothing cached), or None."""
    failures = [_resolved(source) for source in hub_sources()]
    if all(isinstance(f, Exception) for f in failures):
        return "; ".join(f"{s.describe()}: {_reason(f)}" for s, f in zip(hub_sources(), failures, strict=True))
    return None


def task_patterns(info: TaskInfo) -> list[str]:
    """Repository paths that can hold ``info``: its MedS id in its folder, as ``.json`` or ``.jsonl``."""
    return [f"{info.folder}/{info.meds_id}_*.json", f"{info.folder}/{info.meds_id}_*.jsonl"]


def pick(info: TaskInfo, root: Path) -> Path | None:
    """The task's file under ``root``: the catalogue's exact name first, then its twin, then by MedS id."""
    folder = root / info.folder
    exact = folder / info.file
    twin = exact.with_suffix(".jsonl" if exact.suffix == ".json" else ".json")
    for path in (exact, twin):
        if path.is_file():
            return path
    if not folder.is_dir():
        return None
    found = sorted(p for p in folder.glob(f"{info.meds_id}_*") if p.suffix in (".json", ".jsonl") and p.is_file())
    return found[0] if found else None


def _reason(err: BaseException) -> str:
    from huggingface_hub.errors import LocalEntryNotFoundError, RevisionResolutionError

    if isinstance(err, (RevisionResolutionError, LocalEntryNotFoundError)):
        return "hub not reachable and not in the local cache"
    text = str(err).strip()
    first = text.splitlines()[0][:160] if text else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def fetch(info: TaskInfo) -> tuple[HubFile | None, list[str]]:
    """Fetch ``info``'s file from the first source that has it.

    Returns the file (or None) and, per source tried without success, one reason.
    """
    from huggingface_hub import snapshot_download

    reasons: list[str] = []
    for source in hub_sources():
        if not source.serves(info):
            continue
        revision = _resolved(source)
        if isinstance(revision, Exception):
            reasons.append(f"{source.describe()}: {_reason(revision)}")
            continue
        try:
            snapshot = snapshot_download(
                source.repo_id, repo_type=REPO_TYPE, revision=revision, allow_patterns=task_patterns(info)
            )
        # One source failing for any reason (offline and not cached, DNS, auth, an incomplete cache)
        # means trying the next one; every reason is reported if none has the file.
        except Exception as err:  # noqa: BLE001
            reasons.append(f"{source.describe()}: {_reason(err)}")
            continue
        path = pick(info, Path(snapshot))
        if path is not None:
            commit = Path(snapshot).name
            return HubFile(source, commit, path.relative_to(snapshot).as_posix(), path), reasons
        reasons.append(f"{source.describe()}: no {info.folder}/{info.meds_id}_* file")
    return None, reasons


def blob_sha256(path: Path) -> str | None:
    """The sha256 the hub published for a cached LFS file (its blob's name), or None if not known."""
    if not path.is_symlink():
        return None
    name = Path(os.readlink(path)).name
    return name if len(name) == 64 and all(c in "0123456789abcdef" for c in name) else None


def availability(info: TaskInfo) -> str:
    """Whether ``info`` can be had without downloading it now: ``cached`` (in the local Hugging Face
    cache), ``hub`` (listed by a reachable source) or ``unavailable`` (offline and not cached, or absent).
    """
    from huggingface_hub import snapshot_download

    for source in hub_sources():
        revision = _resolved(source) if source.serves(info) else None
        if revision is None or isinstance(revision, Exception):
            continue
        kwargs = {"repo_type": REPO_TYPE, "revision": revision, "allow_patterns": task_patterns(info)}
        try:  # the listing (from the hub, or cached on disk by an earlier listing)
            listed = snapshot_download(source.repo_id, dry_run=True, **kwargs)
        except Exception:  # noqa: BLE001  unreachable and never listed: look at the cached files themselves
            listed = []
        if listed:
            return "cached" if all(f.is_cached for f in listed) else "hub"
        try:
            if pick(info, Path(snapshot_download(source.repo_id, local_files_only=True, **kwargs))):
                return "cached"
        except Exception:  # noqa: BLE001  nothing cached for this source
            continue
    return "unavailable"
