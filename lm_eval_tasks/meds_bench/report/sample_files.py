"""The explorer's sample files, written beside ``index.html`` and loaded by the page when a task is opened.

``explorer/<task>/texts.js`` holds the task's distinct prompts and golds (shared by every run), and
``explorer/<task>/run-<k>.js`` the records of the report's run ``k`` (:mod:`meds_bench.report.explorer`).
Each file is one call, ``medsBenchSamples("<its path>", {...})``: the page loads it by adding a
``<script>`` element, which browsers allow for a page opened from disk (``file://``), where Chromium
refuses ``fetch()`` of a JSON file; a static web server serves the same files. Hand-written because
this is the page's own tiny loading protocol, not a format a library provides.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from meds_bench.report.explorer import DEFAULT_MAX_SAMPLES, explorer_tasks
from meds_bench.report.runs import Run

FOLDER = "explorer"
CALLBACK = "medsBenchSamples"


def _write_js(out_dir: Path, rel: str, payload: dict[str, Any]) -> str:
    data = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    (out_dir / rel).write_text(f"{CALLBACK}({json.dumps(rel)},{data});\n", encoding="utf-8")
    return rel


def _remove_old(folder: Path) -> None:
    """Drop the sample files of an earlier report in the same folder (only files of our naming)."""
    for old in [*folder.glob("*/texts.js"), *folder.glob("*/run-*.js")]:
        old.unlink()
    for task_dir in folder.glob("*/"):
        if task_dir.is_dir() and not any(task_dir.iterdir()):
            task_dir.rmdir()


def write_sample_files(runs: Sequence[Run], out_dir: Path, max_samples: int = DEFAULT_MAX_SAMPLES) -> dict[str, Any]:
    """Write every task's sample files under ``out_dir/explorer`` and return the page's index of them:
    run labels, the tasks with samples (MedS id order), ``files[task]`` (``texts`` and ``runs[k]``: paths
    relative to the page) and ``counts`` rows ``[run, task, records, samples logged]``."""
    folder = out_dir / FOLDER
    _remove_old(folder)
    index: dict[str, Any] = {"runs": [run.label for run in runs], "tasks": [], "files": {}, "counts": []}
    for task in explorer_tasks(runs, max_samples):
        (folder / task.task).mkdir(parents=True, exist_ok=True)
        files = {"texts": _write_js(out_dir, f"{FOLDER}/{task.task}/texts.js", {"texts": task.texts}), "runs": {}}
        for r, records in task.records.items():
            files["runs"][str(r)] = _write_js(out_dir, f"{FOLDER}/{task.task}/run-{r}.js", {"records": records})
            index["counts"].append([r, task.task, *task.counts[r]])
        index["tasks"].append(task.task)
        index["files"][task.task] = files
    return index
