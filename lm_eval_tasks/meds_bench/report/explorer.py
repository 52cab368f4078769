"""Per-sample records for the page's explorer, read from lm-eval ``--log_samples`` files.

Each record: run index, task, document id, prompt (stored once per distinct prompt), the raw
response, the extracted answer (the ``extracted`` key when the scorer logged one), the gold, the
per-sample metric values and one 0-100 ``score`` to filter on (the task's chart metric; per-document
F1 for NER and HoC, whose logged values are counts).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from meds_bench.api_status import sample_api_record
from meds_bench.catalog import get_task
from meds_bench.metrics.table import metrics_of
from meds_bench.report.runs import ReportInputError, Run
from meds_bench.report.tables import task_score_metric
from meds_bench.text_files import NotUtf8Error, read_utf8

DEFAULT_MAX_SAMPLES = 200  # per run and task: keeps a full 53-task run's page to a few MB


def _first_text(value: Any) -> Any:
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value


def sample_prompt(sample: dict[str, Any]) -> str:
    """The prompt sent for an lm-eval samples line (first request's first argument)."""
    args = sample.get("arguments")
    if isinstance(args, dict) and args:  # lm-eval >= 0.4.5: {"gen_args_0": {"arg_0": prompt, "arg_1": kwargs}}
        first = next(iter(args.values()))
        return str(first.get("arg_0", "")) if isinstance(first, dict) else str(first)
    return str(_first_text(args) or "")


def _set_f1(tp: float, fp: float, fn: float) -> float:
    return 100.0 if tp + fp + fn == 0 else 200.0 * tp / (2 * tp + fp + fn)


def sample_score(task: str, sample: dict[str, Any]) -> float | None:
    """One 0-100 score of a logged sample; None when the metric is absent."""
    info = get_task(task)
    kind = info.scorer
    if kind == "ner":  # logged as [tp, fp, fn]
        counts = sample.get("f1")
        return _set_f1(*counts) if isinstance(counts, list) and len(counts) == 3 else None
    if kind == "hoc":  # logged as [predicted 0/1 x 10, gold 0/1 x 10]
        vectors = sample.get("macro_f1")
        if not (isinstance(vectors, list) and len(vectors) == 2):
            return None
        pred, gold = vectors
        tp = sum(p and g for p, g in zip(pred, gold, strict=True))
        return _set_f1(tp, sum(pred) - tp, sum(gold) - tp)
    value = sample.get(task_score_metric(info))
    return float(value) if isinstance(value, (int, float)) else None


def _extracted(sample: dict[str, Any]) -> str | None:
    value = sample.get("extracted")
    if value is None:
        return None
    if isinstance(value, (list, tuple, set)):
        return ", ".join(map(str, value))
    return str(value)


def _metric_values(task: str, sample: dict[str, Any]) -> dict[str, Any]:
    return {m: sample[m] for m, _ in metrics_of(get_task(task)) if m in sample}


def read_samples(path: Path, task: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The first ``limit`` samples of a samples file (by document id) and the file's total count."""
    rows = []
    try:
        text = read_utf8(path)
    except NotUtf8Error as err:
        raise ReportInputError(str(err)) from None
    for k, line in enumerate(io.StringIO(text, newline=None), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ReportInputError(f"{path}:{k}: not valid JSON ({err.msg})") from None
    rows.sort(key=lambda r: r.get("doc_id", 0) if isinstance(r.get("doc_id"), int) else 0)
    return rows[:limit], len(rows)


def explorer_data(runs: Sequence[Run], max_samples: int = DEFAULT_MAX_SAMPLES) -> dict[str, Any]:
    """JSON-ready explorer data: run labels, tasks, prompts by id, records and per (run, task) counts."""
    prompts: dict[str, int] = {}
    records: list[dict[str, Any]] = []
    counts: list[list[Any]] = []
    for r, run in enumerate(runs):
        for name, result in run.tasks.items():
            if result.samples is None:
                continue
            samples, total = read_samples(result.samples, name, max_samples)
            counts.append([r, name, len(samples), total])
            for s in samples:
                doc = s.get("doc") if isinstance(s.get("doc"), dict) else {}
                prompt = sample_prompt(s)
                resp = _first_text(s.get("resps"))
                api = sample_api_record(s)
                records.append(
                    {
                        "run": r,
                        "task": name,
                        "doc": s.get("doc_id"),
                        "prompt": prompts.setdefault(prompt, len(prompts)),
                        "response": "" if resp is None else str(resp),
                        "extracted": _extracted(s),
                        "thinking": str(api.get("thinking") or ""),
                        "status": str(api.get("status") or ""),
                        "gold": str(s.get("target", doc.get("output", ""))),
                        "score": sample_score(name, s),
                        "metrics": _metric_values(name, s),
                    }
                )
    return {
        "runs": [run.label for run in runs],
        "tasks": sorted({rec["task"] for rec in records}, key=lambda t: get_task(t).task_id),
        "prompts": list(prompts),
        "records": records,
        "counts": counts,
    }
