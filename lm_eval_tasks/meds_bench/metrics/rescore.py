"""``meds-bench score``: rescore saved model outputs without rerunning a model.

Inputs: lm-eval ``samples_<task>_*.jsonl`` files (``doc`` + ``filtered_resps``), JSONL/CSV with
columns ``prediction``, ``reference`` and ``task`` (task name or MedS id; not needed with
``--task``), or the MedS-Ins release's result CSV ``task_id,input,GT,output`` (the leaderboard's
submission format). Every document is scored by :func:`meds_bench.metrics.scorers.score_doc` and every
task aggregated with the functions the task YAMLs name, so the numbers equal the harness's.
Group figures are computed from the group YAMLs exactly as lm-eval computes them.
"""

from __future__ import annotations

import argparse
import csv
import functools
import importlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meds_bench.catalog import TASKS, TaskInfo, get_task
from meds_bench.metrics.scoring_work import score_records
from meds_bench.metrics.table import metrics_of
from meds_bench.output_flag import add_output_option
from meds_bench.prompts import query_of
from meds_bench.text_files import NotJsonLineError, NotUtf8Error, json_lines, read_utf8

FILTER = "none"
GROUPS_DIR = Path(__file__).resolve().parent.parent / "groups"
BOOTSTRAP_ITERS = 100000  # lm_eval's default --bootstrap_iters


class ScoreInputError(ValueError):
    """A prediction file that cannot be read; the message names file, line/row and field."""


@dataclass(frozen=True)
class Record:
    """One prediction to score: its task, its lm-eval-style doc, the predicted text and where it was read
    (``file:line``, or ``file: record N`` in a release CSV)."""

    task: str
    doc: dict[str, Any]
    prediction: Any
    where: str = ""


def _resolve(name: Any, where: str, field: str = "task") -> TaskInfo:
    try:
        return get_task(str(name))
    except KeyError as err:
        raise ScoreInputError(f"{where}: field '{field}': {err.args[0]}") from None


def task_from_samples_name(path: Path) -> str | None:
    """Task name of an lm-eval ``samples_<task>_<date>.jsonl`` file name, else None."""
    stem = path.name
    if not stem.startswith("samples_"):
        return None
    body = stem[len("samples_") :].rsplit(".", 1)[0]
    for info in sorted(TASKS, key=lambda t: -len(t.name)):
        if body == info.name or body.startswith(info.name + "_"):
            return info.name
    return None


def newest_samples_files(files: Iterable[Path]) -> dict[str, Path]:
    """Task -> its newest ``samples_<task>_<date>.jsonl`` among ``files`` (the names end in lm-eval's
    ISO date, so the greatest name is the newest run); other files are ignored."""
    newest: dict[str, Path] = {}
    for file in files:
        task = task_from_samples_name(file)
        if task is not None and (task not in newest or file.name > newest[task].name):
            newest[task] = file
    return newest


def sample_record(obj: Any, where: str, path: Path, forced: TaskInfo | None) -> Record:
    """The record of one JSON line: an lm-eval samples line, or a plain prediction row."""
    if not isinstance(obj, dict):
        raise ScoreInputError(f"{where}: expected a JSON object")
    if "doc" in obj and ("filtered_resps" in obj or "resps" in obj):  # lm-eval samples line
        from meds_bench.metrics.hooks import prediction_of

        doc = obj["doc"]
        if not isinstance(doc, dict):
            raise ScoreInputError(f"{where}: field 'doc': expected an object")
        name = forced.name if forced else doc.get("task") or task_from_samples_name(path)
        if not name:
            raise ScoreInputError(f"{where}: field 'doc.task' missing (pass --task)")
        info = forced or _resolve(name, where)
        resps = obj["filtered_resps"] if "filtered_resps" in obj else obj["resps"]
        return Record(info.name, doc, prediction_of(resps), where)
    return _plain_record(obj, where, forced)


def _plain_record(row: dict[str, Any], where: str, forced: TaskInfo | None) -> Record:
    if "reference" not in row:
        raise ScoreInputError(f"{where}: field 'reference' missing")
    if "prediction" not in row:
        raise ScoreInputError(f"{where}: field 'prediction' missing")
    if forced is None and not row.get("task"):
        raise ScoreInputError(f"{where}: field 'task' missing (or pass --task)")
    info = forced or _resolve(row["task"], where)
    reference = row["reference"]
    if isinstance(reference, list):
        reference = reference[0] if reference else ""
    if not isinstance(reference, str) or reference == "":
        raise ScoreInputError(f"{where}: field 'reference' must be a non-empty string")
    prompt = row.get("input") or ""
    # ``input`` may be a whole prompt sent (export-submission): the scorers get its query, as the harness does
    doc = {
        "task": info.name,
        "output": reference,
        "references": [reference],
        "input": query_of(prompt),
        "prompt": prompt,
    }
    return Record(info.name, doc, row["prediction"], where)


def read_predictions(path: Path, task: str | None = None) -> list[Record]:
    """All records of one prediction file (lm-eval samples JSONL, plain JSONL or CSV)."""
    forced = _resolve(task, "--task") if task else None
    if not path.is_file():
        raise ScoreInputError(f"{path}: no such file")
    try:
        text = read_utf8(path)
    except NotUtf8Error as err:
        raise ScoreInputError(str(err)) from None
    if path.suffix.lower() == ".csv":
        records = _read_csv(io.StringIO(text, newline=""), path, forced)
    else:
        records = _read_jsonl(io.StringIO(text, newline=None), path, forced)
    if not records:
        raise ScoreInputError(f"{path}: no predictions in the file (expected one row or JSON line per prediction)")
    return records


# The MedS-Ins release's (and leaderboard's) columns -> ours.
RELEASE_COLUMNS = {"task_id": "task", "GT": "reference", "output": "prediction", "input": "input"}


def _read_csv(fh: Iterable[str], path: Path, forced: TaskInfo | None) -> list[Record]:
    reader = csv.DictReader(fh)
    header = reader.fieldnames or []
    if {"task_id", "GT", "output"} <= set(header) and "prediction" not in header:
        return _read_release_csv(reader, path, forced)
    needed = ["prediction", "reference"] + ([] if forced else ["task"])
    lacking = [name for name in needed if name not in header]
    if header and lacking:
        raise ScoreInputError(
            f"{path}:1: header lacks column(s) {', '.join(lacking)} (found: {', '.join(header) or 'none'})"
            + ("; pass --task when there is no task column" if lacking == ["task"] else "")
        )
    records = []
    for k, row in enumerate(reader, start=2):
        if None in row:
            raise ScoreInputError(f"{path}:{k}: row has more cells than the header")
        records.append(_plain_record(dict(row), f"{path}:{k}", forced))
    return records


def _read_release_csv(reader: csv.DictReader, path: Path, forced: TaskInfo | None) -> list[Record]:
    records = []
    for k, row in enumerate(reader, start=2):
        if None in row:
            raise ScoreInputError(f"{path}: record {k - 1}: row has more cells than the header")
        where = f"{path}: record {k - 1}"  # records, not lines: cells may span lines
        if not row["GT"]:
            raise ScoreInputError(f"{where}: field 'GT' is empty")
        info = forced or _resolve(row["task_id"], where, "task_id")
        ours = {RELEASE_COLUMNS[name]: value for name, value in row.items() if name in RELEASE_COLUMNS}
        records.append(_plain_record(ours, where, info))
    return records


def _read_jsonl(fh: Iterable[str], path: Path, forced: TaskInfo | None) -> list[Record]:
    try:
        return [sample_record(obj, f"{path}:{k}", path, forced) for k, obj in json_lines(fh, path)]
    except NotJsonLineError as err:
        raise ScoreInputError(str(err)) from None


def _aggregation(name: str) -> Callable[[Sequence[Any]], float]:
    if name == "mean":
        from lm_eval.api.metrics import mean

        return mean
    module, _, fn = name.rpartition(".")
    return getattr(importlib.import_module(module), fn)


def aggregate_task(
    info: TaskInfo, per_doc: Sequence[dict[str, Any]], bootstrap_iters: int = BOOTSTRAP_ITERS
) -> dict[str, Any]:
    """lm-eval-style result entry of one task: ``"<metric>,none"`` values, stderr (``"N/A"`` when
    ``bootstrap_iters`` is 0, as in lm-eval) and sample_len."""
    from meds_bench.metrics.uncertainty import stderr_function

    out: dict[str, Any] = {"alias": info.meds_id}
    for metric, agg_name in metrics_of(info):
        values = [d[metric] for d in per_doc]
        agg = _aggregation(agg_name)
        out[f"{metric},{FILTER}"] = agg(values)
        stderr = stderr_function(agg, bootstrap_iters)
        out[f"{metric}_stderr,{FILTER}"] = stderr(values) if stderr and len(values) > 1 else "N/A"
    out["sample_len"] = len(per_doc)
    return out


@functools.cache
def load_groups(directory: Path = GROUPS_DIR) -> list[dict[str, Any]]:
    """The group YAMLs that define aggregate metrics (category means, CT/MRI pools); read once per process
    and folder (a report asks for them per run and column), so callers must not modify what they get."""
    groups = []
    for path in sorted(directory.glob("*.yaml")):
        cfg = yaml.safe_load(path.read_text())
        if cfg.get("aggregate_metric_list"):
            groups.append(cfg)
    return groups


def aggregate_groups(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Group figures over the tasks present, computed as lm-eval's ``Group.aggregate`` does (standard
    errors too: pooled for instance-weighted groups, that of the unweighted mean for categories)."""
    from lm_eval.api.metrics import aggregate_subtask_metrics, pooled_sample_stderr, unweighted_mean_stderr

    out: dict[str, dict[str, Any]] = {}
    for group in load_groups():
        members = [t for t in group["task"] if t in results]
        if not members:
            continue
        entry: dict[str, Any] = {"alias": group.get("group_alias", group["group"])}
        for agg in group["aggregate_metric_list"]:
            key = f"{agg['metric']},{FILTER}"
            have = [t for t in members if key in results[t]]
            if have:
                values = [results[t][key] for t in have]
                sizes = [results[t]["sample_len"] for t in have]
                by_size = agg.get("weight_by_size", True)
                entry[key] = aggregate_subtask_metrics(values, sizes, by_size)
                stderrs = [results[t].get(f"{agg['metric']}_stderr,{FILTER}") for t in have]
                numeric = all(isinstance(x, (int, float)) for x in stderrs)
                entry[f"{agg['metric']}_stderr,{FILTER}"] = (
                    float(pooled_sample_stderr(stderrs, sizes) if by_size else unweighted_mean_stderr(stderrs))
                    if numeric
                    else "N/A"
                )
        entry["sample_len"] = sum(results[t]["sample_len"] for t in members)
        out[group["group"]] = entry
    return out


def score_files(
    paths: Iterable[Path],
    task: str | None = None,
    jobs: int = 1,
    bootstrap_iters: int = BOOTSTRAP_ITERS,
    token_cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Results JSON (``results``, ``groups``, ``n-samples``) of prediction files (``token_cache_dir``:
    the references' tokenization cache, see :mod:`meds_bench.metrics.token_cache`; None: none)."""
    records = [r for p in paths for r in read_predictions(Path(p), task)]
    per_doc = score_records(records, jobs, token_cache_dir)
    by_task: dict[str, list[dict[str, Any]]] = {}
    for record, scores in zip(records, per_doc, strict=True):
        by_task.setdefault(record.task, []).append(scores)
    order = [t.name for t in TASKS if t.name in by_task]
    results = {name: aggregate_task(get_task(name), by_task[name], bootstrap_iters) for name in order}
    groups = aggregate_groups(results)
    return {
        "results": {**results, **groups},
        "groups": groups,
        "n-samples": {name: len(by_task[name]) for name in order},
    }


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else str(value)


def _with_stderr(entry: dict[str, Any], key: str) -> str:
    metric, _, filt = key.partition(",")
    stderr = entry.get(f"{metric}_stderr,{filt}")
    return f"{metric}={_fmt(entry[key])}" + (f"±{stderr:.2f}" if isinstance(stderr, (int, float)) else "")


def format_table(report: dict[str, Any]) -> str:
    """Plain-text table: one row per task and group, one column per metric (``value±stderr``)."""
    rows = [("task", "id", "n", "metrics")]
    for name, entry in report["results"].items():
        metrics = "  ".join(_with_stderr(entry, k) for k in entry if "," in k and "_stderr" not in k)
        rows.append((name, entry.get("alias", ""), str(entry.get("sample_len", "")), metrics))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        "  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].rjust(widths[2]), r[3]]).rstrip() for r in rows
    )


def add_score_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``score`` on the ``meds-bench`` command line."""
    p = subparsers.add_parser("score", help="rescore saved predictions (lm-eval samples files, JSONL or CSV)")
    p.add_argument(
        "files",
        nargs="+",
        metavar="PRED_FILE",
        help="samples_*.jsonl, JSONL/CSV with prediction,reference,task, or release CSV task_id,input,GT,output",
    )
    p.add_argument("--task", help="task name or MedS id for every row (overrides any task column)")
    add_output_option(p, metavar="FILE", help="write the results JSON here")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: all cores)")
    p.add_argument(
        "--bootstrap-iters",
        type=int,
        default=BOOTSTRAP_ITERS,
        help=f"as lm_eval's --bootstrap_iters: 0 computes no standard errors (default: {BOOTSTRAP_ITERS})",
    )
    p.add_argument(
        "--token-cache",
        metavar="DIR",
        help="where the golds' tokenizations are kept between runs "
        "(default: $MEDS_BENCH_TOKEN_CACHE, else ~/.cache/meds_bench/tokens)",
    )
    p.add_argument("--no-token-cache", action="store_true", help="tokenize every gold afresh; read and write no cache")
    p.set_defaults(func=run_score)


def run_score(args: argparse.Namespace) -> int:
    """Entry point of ``meds-bench score``."""
    try:
        from meds_bench.metrics.token_cache import cache_dir

        tokens = None if args.no_token_cache else cache_dir(args.token_cache)
        report = score_files([Path(f) for f in args.files], args.task, args.jobs, args.bootstrap_iters, tokens)
    except ScoreInputError as err:
        print(f"meds-bench score: {err}", file=sys.stderr)
        return 2
    print(format_table(report))
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0
