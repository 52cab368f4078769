"""``meds-bench download``: the redistributable task files in one local directory, hashes checked.

Every open task is fetched from the first published layout that holds it (:mod:`meds_bench.hub`)
and copied to ``DIR/<Folder>/<file>``, the layout every data-dir option reads. A file whose blob
name is an LFS sha256 (how the hub publishes large files) must hash to it. ``DIR/SOURCES.json``
records repo, revision, commit, file and sha256 of each task; the PhysioNet-derived tasks are
listed with the command that builds them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm

from meds_bench import hub
from meds_bench.catalog import TASKS, TaskInfo
from meds_bench.data import DATA_DIR_ENV, sha256_of
from meds_bench.output_flag import add_output_option

MANIFEST = "SOURCES.json"


def _copy_atomically(src: Path, dest: Path) -> None:
    """Copy so that ``dest`` is either absent or complete, even if interrupted."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.", delete=False) as tmp,
        src.open("rb") as fh,
    ):
        shutil.copyfileobj(fh, tmp)
    Path(tmp.name).replace(dest)


def download_task(info: TaskInfo, out_dir: Path) -> dict[str, str]:
    """Fetch one open task into ``out_dir``; returns its manifest row. Raises RuntimeError (one line)."""
    found, reasons = hub.fetch(info)
    if found is None:
        raise RuntimeError(f"{info.name} ({info.meds_id}): not found on the hub ({'; '.join(reasons)})")
    digest = sha256_of(found.path)
    published = hub.blob_sha256(found.path)
    if published is not None and published != digest:
        raise RuntimeError(
            f"{info.name} ({info.meds_id}): {found.repo_path} hashes to {digest} but the hub published {published}; "
            "delete it from the Hugging Face cache and download again"
        )
    _copy_atomically(found.path, out_dir / found.repo_path)
    return {
        "task": info.name,
        "meds_id": info.meds_id,
        "repo": found.source.repo_id,
        "revision": found.source.revision,
        "commit": found.commit,
        "file": found.repo_path,
        "sha256": digest,
        "verified_against_hub": "yes" if published else "no (not an LFS file)",
    }


def run_download(args: argparse.Namespace) -> int:
    """Entry point of ``meds-bench download``."""
    out_dir = Path(args.output).expanduser().resolve()
    why = hub.unreachable()
    if why is not None:
        print(
            f"meds-bench download: no published source can be used ({why}); run it where the Hugging Face hub "
            "is reachable (HF_HUB_OFFLINE unset), or copy a downloaded directory here",
            file=sys.stderr,
        )
        return 1
    open_tasks = [t for t in TASKS if not t.credentialed]
    rows, failures = [], []
    for info in tqdm(open_tasks, desc="MedS-Bench open tasks", unit="file", file=sys.stderr):
        try:
            rows.append(download_task(info, out_dir))
        except RuntimeError as err:
            failures.append(str(err))
    if rows:
        (out_dir / MANIFEST).write_text(json.dumps(rows, indent=2) + "\n")
    for row in rows:
        print(f"{row['sha256']}  {row['file']}  ({row['repo']}@{row['commit'][:7]})")
    for line in failures:
        print(f"meds-bench download: {line}", file=sys.stderr)
    credentialed = [t for t in TASKS if t.credentialed]
    print(
        f"{len(credentialed)} PhysioNet-derived tasks are not redistributed; build them from your credentialed "
        f"copy with `meds-bench data build` (README: 'Credentialed tasks'): "
        + ", ".join(t.meds_id for t in credentialed)
    )
    print(
        f"{len(rows)} of {len(open_tasks)} open task files in {out_dir} (hashes in {MANIFEST}); "
        f"use them with --data-dir {out_dir} or {DATA_DIR_ENV}={out_dir}"
    )
    return 1 if failures else 0


def add_download_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``download`` on the ``meds-bench`` command line."""
    p = subparsers.add_parser("download", help="fetch the 34 open task files from the hub into DIR, hashes checked")
    add_output_option(
        p,
        metavar="DIR",
        old_flags=("--dir",),
        default="meds_bench_data",
        help="target directory (default: ./meds_bench_data)",
    )
    p.set_defaults(func=run_download)
