"""The leaderboard as Markdown and as a tidy CSV (one row per run, task or group, metric).

CSV ``kind`` is ``measured`` or ``reported`` (paper figures); ``status`` is ``ok`` or ``missing``
(the value is then empty, never 0); ``unanswered`` counts the measured documents an API gave no answer
for (scored 0 in ``value``). API runs add ``input_tokens``/``output_tokens``/``cost_usd`` rows per task;
judged runs (``report --judged``) add ``jury`` rows per task and ``jury_<category>`` rows
(:func:`meds_bench.report.jury.jury_csv_rows`).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from meds_bench.catalog import CATEGORIES, TASKS, category_group
from meds_bench.judge.judged import JudgedRun
from meds_bench.metrics.table import metrics_of
from meds_bench.report.jury import jury_csv_rows
from meds_bench.report.reference import Figure
from meds_bench.report.runs import Run
from meds_bench.report.tables import MISSING, RunScores, Table, columns, display_label, headline_metrics

CSV_FIELDS = [
    "kind",
    "model",
    "results_file",
    "category",
    "column",
    "meds_id",
    "metric",
    "value",
    "n",
    "unanswered",
    "status",
    "data_source",
    "sha256",
    "paper_table",
    "note",
]


def data_source(run: Run) -> str:
    """Distinct data sources of a run, e.g. ``sample`` or ``local: DIR`` or ``hub: REPO@REV``."""
    seen = []
    for t in run.tasks.values():
        p = t.provenance or {}
        kind = p.get("source", "unknown")
        text = kind if kind in ("sample", "unknown") else f"{kind}: {p.get('location', '?')}"
        if text not in seen:
            seen.append(text)
    return "; ".join(seen) or "unknown"


def usage_text(run: Run) -> str:
    """Tokens and dollars of an API run (empty for local models)."""
    if not run.api:
        return ""
    usage = (run.api.get("usage") or {}).get("total") or {}
    text = (
        f"{usage.get('input_tokens', 0):,} in / {usage.get('output_tokens', 0):,} out tokens, "
        f"${usage.get('cost_usd', 0.0):.4f}"
    )
    extra = [f"{usage[k]} {k.replace('_', ' ')}" for k in ("cached", "failed", "skipped_budget") if usage.get(k)]
    if usage.get("output_limit"):
        extra.append(f"{usage['output_limit']} without answer text (output limit)")
    if run.api.get("dry_run"):
        extra.append("dry run")
    if run.unanswered:
        extra.insert(0, f"INCOMPLETE: {run.unanswered} requests unanswered, scored 0")
    return text + (f" ({', '.join(extra)})" if extra else "")


def runs_table(runs: Sequence[Run], included: Sequence[Run]) -> Table:
    """One row per run: model, data source and fingerprint, coverage, API usage, results file."""
    rows = []
    for run in runs:
        coverage = f"{len(run.tasks)}/{len(TASKS)}"
        limits = []
        if run.limit:
            limits.append(f"--limit {run.limit}")
        if run.partial:
            limits.append(f"{len(run.partial)} task(s) on a subset")
        shown = "yes" if run in included else "no (sample data; --include-sample)"
        rows.append(
            [
                display_label(run),
                run.model,
                data_source(run),
                run.fingerprint,
                coverage,
                ", ".join(limits) or "full",
                usage_text(run),
                str(run.path),
                shown,
            ]
        )
    header = ["Run", "lm-eval model", "Data", "Data fingerprint", "Tasks", "Documents", "API usage", "Results", "Shown"]
    note = "Data fingerprint: hash of the task files' sha256 (equal fingerprints = same data files)."
    return Table("Runs and data provenance", header, rows, note)


def provenance_table(run: Run) -> Table:
    """Every task file of a run: source, file, sha256 and instance count."""
    rows = []
    for t in run.tasks.values():
        p = t.provenance or {}
        rows.append(
            [t.name, p.get("source", "unknown"), p.get("file", ""), p.get("sha256", ""), str(p.get("n_instances", ""))]
        )
    return Table(f"Data files of {display_label(run)}", ["Task", "Source", "File", "sha256", "Instances"], rows)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Table, level: int = 2) -> str:
    """A table as a Markdown section."""
    lines = [f"{'#' * level} {table.title}", ""]
    lines.append("| " + " | ".join(map(_md_cell, table.header)) + " |")
    lines.append("|" + "|".join("---" for _ in table.header) + "|")
    lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in table.rows]
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines) + "\n"


def to_markdown(intro: str, tables: Sequence[Table], runs_part: Sequence[Table]) -> str:
    """The whole leaderboard document."""
    parts = ["# MedS-Bench leaderboard", "", intro, ""]
    parts += [markdown_table(t) for t in tables]
    parts += [markdown_table(runs_part[0])]
    parts += [markdown_table(t, level=3) for t in runs_part[1:]]
    return "\n".join(parts)


def _task_rows(run: Run, scores: RunScores) -> list[dict[str, str]]:
    rows = []
    for info in TASKS:
        t = run.tasks.get(info.name)
        base = {"kind": "measured", "model": run.label, "results_file": str(run.path), "category": info.category}
        base |= {"column": info.name, "meds_id": info.meds_id}
        if t is None:
            rows += [{**base, "metric": m, "status": MISSING} for m in headline_metrics(info)]
            continue
        p = t.provenance or {}
        base |= {"n": str(t.n or ""), "unanswered": str(t.unanswered), "data_source": p.get("source", "unknown")}
        base |= {"sha256": p.get("sha256", "")}
        for metric, _ in metrics_of(info):
            value = t.metrics.get(metric)
            rows.append({**base, "metric": metric, "value": "" if value is None else repr(value),
                         "status": "ok" if value is not None else MISSING})  # fmt: skip
        for key in ("input_tokens", "output_tokens", "cost_usd"):
            if t.usage and key in t.usage:
                rows.append({**base, "metric": key, "value": repr(t.usage[key]), "status": "ok"})
    for category in CATEGORIES:
        for col in columns(category):
            if len(col.members) == 1:
                continue
            cell = scores.cell(col)
            unanswered = str(sum(run.tasks[t].unanswered for t in col.members)) if cell.values else ""
            for k, metric in enumerate(col.metrics):
                value = "" if cell.values is None else repr(cell.values[k])
                rows.append({"kind": "measured", "model": run.label, "results_file": str(run.path),
                             "category": category, "column": col.key, "metric": metric, "value": value,
                             "unanswered": unanswered, "status": "ok" if cell.values else MISSING,
                             "note": col.label})  # fmt: skip
    return rows


def write_csv(
    path: Path, scores: Sequence[RunScores], figures: Sequence[Figure], judged: Mapping[str, JudgedRun] | None = None
) -> Path:
    """The tidy CSV of measured and reported values (and the jury rows of the runs in ``judged``, by label)."""
    groups = {category_group(c): c for c in CATEGORIES}
    by_task = {t.name: t for t in TASKS}
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, CSV_FIELDS, extrasaction="raise")
        writer.writeheader()
        for s in scores:
            writer.writerows(_task_rows(s.run, s))
            writer.writerows(jury_csv_rows(s.run, (judged or {}).get(s.run.label)))
        for fig in figures:
            info = by_task.get(fig.column)
            category = info.category if info else groups.get(fig.column, "summarization")
            for metric, value in zip(fig.metrics, fig.values, strict=True):
                writer.writerow({"kind": "reported", "model": fig.model, "category": category, "column": fig.column,
                                 "meds_id": info.meds_id if info else "", "metric": metric, "value": repr(value),
                                 "status": "reported", "paper_table": str(fig.table), "note": fig.note})  # fmt: skip
    return path
