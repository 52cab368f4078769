"""Reading lm-eval results files into runs: one ``results_*.json`` is one run of one model.

A run keeps, per MedS-Bench task it evaluated, the metric values, the number of documents, the
data provenance our task class records (``configs.<task>.metadata.meds_bench_data``), the API
usage our adapters record (``config.meds_api.usage``), how many of its documents got no answer from
an API (:mod:`meds_bench.api_status`) and the ``samples_<task>_<date>.jsonl`` file lm-eval wrote beside
it with ``--log_samples``. Tasks of other benchmarks in the same file are ignored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from meds_bench.api_status import unanswered_in_samples, usage_unanswered
from meds_bench.catalog import TASKS
from meds_bench.metrics.table import metrics_of
from meds_bench.text_files import NotUtf8Error, read_utf8

_TASK_NAMES = {t.name: t for t in TASKS}


class ReportInputError(ValueError):
    """A results argument that cannot be read; the message names the file and the field."""


@dataclass
class TaskResult:
    """One task of one run: metric values (0-100), documents scored and where the data came from."""

    name: str
    metrics: dict[str, float]
    n: int | None
    provenance: dict[str, Any] | None
    usage: dict[str, Any] | None = None
    samples: Path | None = None
    stderr: dict[str, float] = field(default_factory=dict)  # metric -> standard error, where lm-eval gave one
    unanswered: int = 0  # documents an API request gave no answer text for (scored 0)


@dataclass
class Run:
    """One results file: a model evaluated on some MedS-Bench tasks."""

    label: str
    path: Path
    model: str
    date: str
    tasks: dict[str, TaskResult]
    limit: Any = None
    partial: list[str] = field(default_factory=list)
    api: dict[str, Any] | None = None

    @property
    def sources(self) -> list[str]:
        """Data source kinds of the run's tasks (``sample``, ``local``, ``hub``; ``unknown`` if unrecorded)."""
        kinds = {(t.provenance or {}).get("source", "unknown") for t in self.tasks.values()}
        return sorted(kinds)

    @property
    def unanswered(self) -> int:
        """API requests of the run that got no answer (failed, not sent for the budget, no answer text)."""
        return usage_unanswered(((self.api or {}).get("usage") or {}).get("total"))

    @property
    def is_sample(self) -> bool:
        """True when any task ran on the bundled synthetic sample data."""
        return "sample" in self.sources

    @property
    def fingerprint(self) -> str:
        """Short hash over the task-file hashes: equal fingerprints mean the same data files."""
        lines = sorted(f"{n}:{(t.provenance or {}).get('sha256', '?')}" for n, t in self.tasks.items())
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:12]


def split_label(arg: str) -> tuple[str | None, Path]:
    """``LABEL=PATH`` -> (label, path); a plain path (even one containing ``=``) -> (None, path)."""
    if "=" in arg and not Path(arg).exists():
        label, _, path = arg.partition("=")
        if label:
            return label, Path(path)
    return None, Path(arg)


def results_files(path: Path) -> list[Path]:
    """The results file itself, or every ``results_*.json`` below a folder (sorted)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(path.rglob("results_*.json"))
        if not found:
            raise ReportInputError(f"{path}: no results_*.json below this folder (pass lm_eval --output_path folders)")
        return found
    raise ReportInputError(f"{path}: no such file or folder")


def model_label(raw: Mapping[str, Any], path: Path) -> str:
    config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
    api = config.get("meds_api")
    if isinstance(api, dict) and api.get("model"):
        return str(api["model"])
    args = config.get("model_args")
    if isinstance(args, str):
        args = dict(p.split("=", 1) for p in args.split(",") if "=" in p)
    if isinstance(args, dict) and args.get("pretrained"):
        parts = PurePath(str(args["pretrained"])).parts
        return "/".join(parts[-2:])  # "org/name" for hub ids, the last two folders for local paths
    return str(raw.get("model_name") or config.get("model") or path.parent.name)


def _metric_values(entry: Mapping[str, Any], name: str, suffix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for metric, _ in metrics_of(_TASK_NAMES[name]):
        keys = [f"{metric}{suffix},none", *(k for k in entry if k.startswith(f"{metric}{suffix},"))]
        value = next((entry[k] for k in keys if k in entry), None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[metric] = float(value)
    return out


def _date_id(path: Path) -> str:
    stem = path.stem
    return stem[len("results_") :] if stem.startswith("results_") else ""


def _unanswered(usage: Mapping[str, Any] | None, samples: Path | None) -> int:
    """Unanswered documents of a task: counted in its samples file when there are any (the usage counts
    distinct requests, and identical prompts share one), else the usage count."""
    requests = usage_unanswered(usage)
    return unanswered_in_samples(samples) if requests and samples is not None else requests


def load_run(path: Path, label: str | None = None) -> Run:
    """Read one results file. Raises :class:`ReportInputError` naming the file and field."""
    try:
        raw = json.loads(read_utf8(path))
    except NotUtf8Error as err:
        raise ReportInputError(str(err)) from None
    except OSError as err:
        raise ReportInputError(f"{path}: cannot read ({err})") from None
    except json.JSONDecodeError as err:
        raise ReportInputError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("results"), dict):
        raise ReportInputError(f"{path}: field 'results' missing: not an lm-eval results file")
    configs = raw.get("configs") if isinstance(raw.get("configs"), dict) else {}
    n_samples = raw.get("n-samples") if isinstance(raw.get("n-samples"), dict) else {}
    config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
    api = config.get("meds_api") if isinstance(config.get("meds_api"), dict) else None
    per_task_usage = ((api or {}).get("usage") or {}).get("per_task") or {}
    date_id = _date_id(path)
    tasks: dict[str, TaskResult] = {}
    partial: list[str] = []
    for info in TASKS:  # catalogue order
        entry = raw["results"].get(info.name)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise ReportInputError(f"{path}: field 'results.{info.name}': expected an object")
        metadata = (configs.get(info.name) or {}).get("metadata") or {}
        samples = path.with_name(f"samples_{info.name}_{date_id}.jsonl") if date_id else None
        counts = n_samples.get(info.name) or {}
        if isinstance(counts, dict) and counts.get("effective", 0) < counts.get("original", 0):
            partial.append(info.name)
        n = entry.get("sample_len", counts.get("effective") if isinstance(counts, dict) else None)
        usage = per_task_usage.get(info.name)
        answered = usage is None or (usage.get("sent", 0) + usage.get("cached", 0)) > 0 or api.get("dry_run")
        samples = samples if samples is not None and samples.is_file() else None
        tasks[info.name] = TaskResult(
            name=info.name,
            metrics=_metric_values(entry, info.name) if answered else {},  # no answer at all: missing, never 0
            n=n if isinstance(n, int) else None,
            provenance=metadata.get("meds_bench_data"),
            usage=usage,
            samples=samples,
            stderr=_metric_values(entry, info.name, "_stderr"),
            unanswered=_unanswered(usage, samples),
        )
    date = raw.get("date")
    return Run(
        label=label or model_label(raw, path),
        path=path,
        model=str(config.get("model", "")),
        date=str(date_id or date or ""),
        tasks=tasks,
        limit=config.get("limit"),
        partial=partial,
        api=api,
    )


def load_runs(args: Iterable[str | Path]) -> list[Run]:
    """Runs of every ``[LABEL=]PATH`` argument (files or folders), labels made unique."""
    runs: list[Run] = []
    seen_paths: set[Path] = set()
    for arg in args:
        label, path = split_label(str(arg))
        files = [f for f in results_files(path) if f.resolve() not in seen_paths]
        seen_paths.update(f.resolve() for f in files)
        for k, file in enumerate(files):
            runs.append(load_run(file, f"{label} #{k + 1}" if label and len(files) > 1 else label))
    _make_unique(runs)
    return runs


def _make_unique(runs: list[Run]) -> None:
    """Suffix repeated labels with the run's date, then a counter if still repeated."""
    for suffix in (lambda r, k: f"{r.label} @ {r.date or r.path.parent.name}", lambda r, k: f"{r.label} #{k}"):
        counts: dict[str, int] = {}
        for run in runs:
            counts[run.label] = counts.get(run.label, 0) + 1
        index: dict[str, int] = {}
        for run in runs:
            if counts[run.label] > 1:
                index[run.label] = index.get(run.label, 0) + 1
                run.label = suffix(run, index[run.label])
