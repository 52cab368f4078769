"""Figures the paper reports (``paper_reported.json``): shown as "reported", never as measured.

Each figure names the paper table it comes from, the model, the task (``task``) or category
average / pooled column (``group``), the metric (``bleu1/rougeL`` for a free-text pair) and the
value(s).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from meds_bench.catalog import TASKS
from meds_bench.metrics.rescore import load_groups

REFERENCE_FILE = Path(__file__).resolve().parent / "paper_reported.json"


@dataclass(frozen=True)
class Figure:
    """One reported number (or BLEU/ROUGE pair) of one model."""

    table: int
    model: str
    column: str  # a task name or a group name
    metrics: tuple[str, ...]
    values: tuple[float, ...]
    note: str = ""


def load_reference(path: Path = REFERENCE_FILE) -> tuple[str, list[Figure]]:
    """The citation and the figures of a reference file; ValueError naming file, entry and field."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    known = {t.name for t in TASKS} | {g["group"] for g in load_groups()}
    figures = []
    for k, row in enumerate(doc.get("figures", [])):
        where = f"{path}: figures[{k}]"
        column = row.get("task") or row.get("group")
        if column not in known:
            raise ValueError(f"{where}: field 'task'/'group': unknown {column!r}")
        if not isinstance(row.get("table"), int) or not row.get("model"):
            raise ValueError(f"{where}: fields 'table' (int) and 'model' are required")
        metrics = tuple(str(row.get("metric", "")).split("/"))
        values = row.get("value")
        values = tuple(values) if isinstance(values, list) else (values,)
        if len(values) != len(metrics) or not all(isinstance(v, (int, float)) for v in values):
            raise ValueError(
                f"{where}: field 'value': expected {len(metrics)} number(s) for metric {row.get('metric')!r}"
            )
        figures.append(
            Figure(row["table"], row["model"], column, metrics, tuple(float(v) for v in values), row.get("note", ""))
        )
    return str(doc.get("source", "")), figures
