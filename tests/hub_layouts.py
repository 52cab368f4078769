"""Build the three published MedS-Bench layouts from the sample data, as directories or as a
Hugging Face cache (``HF_HUB_CACHE``) that huggingface_hub's own calls resolve offline."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from meds_bench import sample_data_path
from meds_bench.catalog import TASKS, TaskInfo

OPEN = [t for t in TASKS if not t.credentialed]
MAIN_COMMIT = "a" * 40
SUMMARIZATION_COMMIT = "7e3fc90" + "b" * 33
SPLIT_COMMIT = "c" * 40


def split_name(info: TaskInfo) -> str:
    """The SPLIT repository names every file ``.json``."""
    return info.file.rsplit(".", 1)[0] + ".json"


def layout_files(layout: str) -> dict[str, bytes]:
    """Repository path -> content of the open task files in one layout.

    ``main``: every open folder but Text_summarization (MCQA as .jsonl); ``summarization``: the
    open Text_summarization files of revision 7e3fc90; ``split``: all 34 as .json.
    """
    files = {}
    for info in OPEN:
        content = (sample_data_path() / info.hub_path).read_bytes()
        in_summarization = info.folder == "Text_summarization"
        if layout == "split":
            files[f"{info.folder}/{split_name(info)}"] = content
        elif (layout == "summarization") == in_summarization:
            files[info.hub_path] = content
    return files


def write_dir(root: Path, files: dict[str, bytes]) -> Path:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root


def add_to_cache(
    cache: Path, repo_id: str, revision: str, commit: str, files: dict[str, bytes], blob_name: str | None = None
) -> Path:
    """Lay ``files`` out as huggingface_hub caches a dataset snapshot: refs, blobs named by sha256
    (as the hub names LFS files), snapshot symlinks. ``blob_name`` forces one name (a corrupt blob)."""
    repo = cache / ("datasets--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / revision).write_text(commit)
    (repo / "blobs").mkdir(exist_ok=True)
    for rel, content in files.items():
        name = blob_name or hashlib.sha256(content).hexdigest()
        (repo / "blobs" / name).write_bytes(content)
        link = repo / "snapshots" / commit / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(repo / "blobs" / name, link.parent), link)
    return repo


def published_cache(cache: Path, layouts: tuple[str, ...] = ("main", "summarization", "split")) -> Path:
    """A cache holding the chosen published layouts at the revisions the product reads."""
    if "main" in layouts:
        add_to_cache(cache, "Henrychur/MedS-Bench", "main", MAIN_COMMIT, layout_files("main"))
    if "summarization" in layouts:
        add_to_cache(cache, "Henrychur/MedS-Bench", "7e3fc90", SUMMARIZATION_COMMIT, layout_files("summarization"))
    if "split" in layouts:
        add_to_cache(cache, "Henrychur/MedS-Bench-SPLIT", "main", SPLIT_COMMIT, layout_files("split"))
    return cache
