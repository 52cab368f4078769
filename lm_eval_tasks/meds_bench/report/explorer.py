"""Per-sample records for the page's explorer, read from lm-eval ``--log_samples`` files.

Per task (:class:`TaskSamples`), each run's records: document id, prompt and gold (indices into the
task's texts, where each distinct text is stored once for all runs), the raw response, the extracted
answer (the ``extracted`` key when the scorer logged one), the per-sample metric values and one 0-100
``score`` to filter on (the task's chart metric; per-document F1 for NER and HoC, whose logged values
are counts). :mod:`meds_bench.report.sample_files` writes them beside the page.
"""

from __future__ import annotations

import codecs
import heapq
import mmap
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meds_bench.api_status import sample_api_record
from meds_bench.catalog import get_task
from meds_bench.metrics.table import metrics_of
from meds_bench.report.runs import ReportInputError, Run
from meds_bench.report.tables import task_score_metric
from meds_bench.text_files import NotJsonLineError, NotUtf8Error, decode_utf8, json_line

DEFAULT_MAX_SAMPLES = 200  # per run and task


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


_DOC_ID_PREFIX = re.compile(rb'\{"doc_id": (-?\d+)[,}]')


def _parse(data: bytes, path: Path, line: int) -> dict[str, Any]:
    try:
        sample = json_line(decode_utf8(data, path, line), path, line)
    except (NotUtf8Error, NotJsonLineError) as err:
        raise ReportInputError(str(err)) from None
    return sample if isinstance(sample, dict) else {}


def _lines(data: bytes | mmap.mmap, path: Path) -> Iterator[tuple[int, int, int, int]]:
    """``(doc_id, line number, start, end)`` of each non-blank line. The id is read from the line's start,
    which lm-eval writes as ``{"doc_id": N, ...``, so that the lines the explorer does not show are never
    decoded or parsed; a line that starts otherwise is parsed (a missing or non-integer id counts as 0)."""
    start, number = (len(codecs.BOM_UTF8) if data[:3] == codecs.BOM_UTF8 else 0), 1
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        found = _DOC_ID_PREFIX.match(data, start, end)
        if found:
            yield int(found.group(1)), number, start, end
        elif data[start:end].strip():
            doc_id = _parse(data[start:end], path, number).get("doc_id")
            yield (doc_id if isinstance(doc_id, int) and not isinstance(doc_id, bool) else 0), number, start, end
        start, number = end + 1, number + 1


def read_samples(path: Path, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The ``limit`` samples of a samples file with the lowest document ids (in id order; ties in file
    order) and the file's total count. Only those lines are parsed (:func:`_lines`): a full-size file
    holds 1,500 long samples, of which the explorer shows 200."""
    if path.stat().st_size == 0:
        return [], 0
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        lines = list(_lines(data, path))
        chosen = heapq.nsmallest(limit, lines, key=lambda entry: entry[:2])
        return [_parse(data[start:end], path, number) for _, number, start, end in chosen], len(lines)


@dataclass
class TaskSamples:
    """The explorer's data of one task: its distinct texts (prompts and golds, each stored once for all
    runs) and, per run index, the run's records and how many of its logged samples they are."""

    task: str
    texts: list[str] = field(default_factory=list)
    records: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[int, tuple[int, int]] = field(default_factory=dict)  # run -> (records, samples logged)


def _record(task: str, sample: dict[str, Any], text_id: Callable[[str], int]) -> dict[str, Any]:
    doc = sample.get("doc") if isinstance(sample.get("doc"), dict) else {}
    resp = _first_text(sample.get("resps"))
    api = sample_api_record(sample)
    return {
        "doc": sample.get("doc_id"),
        "prompt": text_id(sample_prompt(sample)),
        "response": "" if resp is None else str(resp),
        "extracted": _extracted(sample),
        "thinking": str(api.get("thinking") or ""),
        "status": str(api.get("status") or ""),
        "gold": text_id(str(sample.get("target", doc.get("output", "")))),
        "score": sample_score(task, sample),
        "metrics": _metric_values(task, sample),
    }


def task_samples(runs: Sequence[Run], task: str, max_samples: int = DEFAULT_MAX_SAMPLES) -> TaskSamples:
    """Records of the first ``max_samples`` documents of ``task`` in each run that logged samples of it:
    document id, prompt and gold (indices into ``texts``), response, extracted answer, API status and
    thinking, 0-100 score and per-sample metric values."""
    out = TaskSamples(task)
    ids: dict[str, int] = {}

    def text_id(text: str) -> int:
        if text not in ids:
            ids[text] = len(out.texts)
            out.texts.append(text)
        return ids[text]

    for r, run in enumerate(runs):
        result = run.tasks.get(task)
        if result is None or result.samples is None:
            continue
        samples, total = read_samples(result.samples, max_samples)
        out.records[r] = [_record(task, s, text_id) for s in samples]
        out.counts[r] = (len(samples), total)
    return out


def explorer_tasks(runs: Sequence[Run], max_samples: int = DEFAULT_MAX_SAMPLES) -> Iterator[TaskSamples]:
    """:func:`task_samples` of every task some run logged samples of, in MedS id order, one task at a time."""
    names = {name for run in runs for name, result in run.tasks.items() if result.samples is not None}
    for name in sorted(names, key=lambda t: get_task(t).task_id):
        yield task_samples(runs, name, max_samples)
