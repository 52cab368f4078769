"""The answers a jury judges, read from a saved run: an lm-eval output folder written with ``--log_samples``
(its newest ``samples_<task>_*.jsonl`` per task and its ``results_*.json``), one samples file, or a prediction
CSV/JSONL that ``meds-bench score`` reads (the official release CSV included). Only free-text tasks are kept."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from meds_bench.api_status import is_unanswered
from meds_bench.catalog import get_task
from meds_bench.judge.rubrics import is_judged
from meds_bench.metrics.rescore import ScoreInputError, newest_samples_files, read_predictions, sample_record
from meds_bench.prompts import query_of
from meds_bench.report.runs import model_label
from meds_bench.text_files import NotJsonLineError, NotUtf8Error, read_json_lines, read_utf8


class RunInputError(ValueError):
    """A saved run the jury cannot read; the message names the file and what to do."""


@dataclass(frozen=True)
class Answer:
    """One answer to judge: its task and document, what the model was asked, the reference and the answer."""

    task: str
    doc_id: int
    query: str
    reference: str
    answer: str
    unanswered: bool = False


@dataclass(frozen=True)
class SavedRun:
    """A run's free-text answers and who produced them (``provider``: the API adapter's provider, else None;
    ``model``: the model id), with its own API cost when it recorded one."""

    label: str
    path: Path
    model: str
    provider: str | None
    base_url: str | None
    answers: tuple[Answer, ...]
    own_cost_usd: float | None


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _samples_answers(path: Path, task: str) -> list[Answer]:
    info = get_task(task)
    answers = []
    try:
        for number, obj in read_json_lines(path):
            record = sample_record(obj, f"{path}:{number}", path, info)
            doc = record.doc
            doc_id = obj.get("doc_id", doc.get("id", number - 1))
            reference = _text(doc.get("output") if doc.get("output") is not None else doc.get("references"))
            answers.append(
                Answer(task, int(doc_id), _text(doc.get("input", "")), reference, _text(record.prediction),
                       is_unanswered(obj))
            )  # fmt: skip
    except (NotUtf8Error, NotJsonLineError, ScoreInputError) as err:
        raise RunInputError(str(err)) from None
    return answers


def _file_answers(path: Path) -> list[Answer]:
    try:
        records = read_predictions(path)
    except ScoreInputError as err:
        raise RunInputError(str(err)) from None
    positions: dict[str, int] = {}
    answers = []
    for record in records:
        doc_id = positions[record.task] = positions.get(record.task, -1) + 1  # rows carry no id: their position
        doc = record.doc
        query = doc.get("input") or query_of(str(doc.get("prompt") or ""))
        answers.append(Answer(record.task, doc_id, _text(query), _text(doc.get("output")), _text(record.prediction)))
    return answers


def _results(path: Path) -> dict[str, Any]:
    files = sorted(path.rglob("results_*.json")) if path.is_dir() else []
    if not files:
        return {}
    try:
        return json.loads(read_utf8(files[-1]))
    except (NotUtf8Error, json.JSONDecodeError) as err:
        raise RunInputError(f"{files[-1]}: not a readable lm-eval results file ({err})") from None


def load_saved_run(path: Path, label: str | None = None) -> SavedRun:
    """The free-text answers of a saved run.

    Raises:
        RunInputError: no such path, a folder without samples (a run made without ``--log_samples``), a file
            that cannot be read, or a run with no free-text task.
    """
    if path.is_dir():
        samples = newest_samples_files(path.rglob("samples_*.jsonl"))
        if not samples:
            raise RunInputError(
                f"{path}: no samples_<task>_*.jsonl below this folder: a jury judges the answers, so rerun the "
                "evaluation with --log_samples (or pass the run's prediction CSV/JSONL)"
            )
        answers = [a for task, file in sorted(samples.items()) for a in _samples_answers(file, task)]
    elif path.is_file():
        answers = _file_answers(path)
    else:
        raise RunInputError(f"{path}: no such file or folder (pass an lm-eval output folder or a prediction file)")
    kept = tuple(a for a in answers if is_judged(get_task(a.task)))
    if not kept:
        tasks = sorted({a.task for a in answers})
        raise RunInputError(
            f"{path}: no free-text task to judge (it has {', '.join(tasks[:5])}{' ...' if len(tasks) > 5 else ''}); "
            "the jury judges rationale, explanation, EBMS fact verification, generative NLI and summarization"
        )
    raw = _results(path)
    config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
    api = config.get("meds_api") if isinstance(config.get("meds_api"), dict) else {}
    usage = (api.get("usage") or {}).get("total") or {}
    model = model_label(raw, path / "results.json") if raw else PurePath(path).stem
    return SavedRun(
        label=label or model,
        path=path,
        model=model,
        provider=api.get("provider"),
        base_url=api.get("base_url"),
        answers=kept,
        own_cost_usd=float(usage["cost_usd"]) if "cost_usd" in usage else None,
    )
