"""The leaderboard's numbers, laid out like the paper's tables: one table per category, models as
rows, a column per task (``BLEU/ROUGE`` for free text) and the category average.

Averages and pooled columns come from the group definitions (:func:`meds_bench.metrics.rescore.aggregate_groups`,
the same rule lm-eval applies) and are shown only when every member task was evaluated: a
missing task is shown as missing, never counted as 0.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from meds_bench.catalog import CATEGORIES, TaskInfo, category_group, get_task, pooled_groups, tasks_in
from meds_bench.metrics.rescore import aggregate_groups, load_groups
from meds_bench.metrics.table import scorer_of
from meds_bench.metrics.uncertainty import Z95, Interval, normal_interval, proportion_interval
from meds_bench.report.reference import Figure
from meds_bench.report.runs import Run, TaskResult

METRIC_NAMES = {
    "macro_precision": "macro-precision",
    "macro_recall": "macro-recall",
    "acc": "accuracy",
    "contains_paper": "containment accuracy (paper rule)",
    "f1": "micro-F1",
    "macro_f1": "macro-F1",
    "bleu1": "BLEU-1",
    "rougeL": "ROUGE-L",
}
MISSING = "missing"
INTERVAL_NOTE = (
    "x ± h or x [low, high]: 95% confidence interval, where lm-eval computed a standard error, clipped to 0-100. "
    "Accuracy-type task scores (the share of documents right) get the Wilson score interval, which keeps its width "
    "at 0% and 100%; other task scores the normal approximation; a category's is that of its unweighted task mean "
    "and the Mean's that of the mean of independent category scores (an accuracy counting with its Wilson interval's "
    "width). (k unanswered): k documents got no answer text from an API (the request failed, the output limit was "
    "used up, or the budget was spent); they are scored 0, as in the paper's metric."
)


def headline_metrics(info: TaskInfo) -> tuple[str, ...]:
    """Metrics a task shows in the tables: ``(bleu1, rougeL)`` for free text, else its main metric
    (the metrics of its scorer's last report column)."""
    return scorer_of(info).columns[-1][1]


def task_score_metric(info: TaskInfo) -> str:
    """The one metric summarising a task in charts: ROUGE-L for free text, else its main metric."""
    return headline_metrics(info)[-1]


@dataclass(frozen=True)
class Column:
    """One column of a category table: a task, or a group (average / pooled) over member tasks."""

    key: str
    label: str
    metrics: tuple[str, ...]
    members: tuple[str, ...]


def task_column(info: TaskInfo, metrics: tuple[str, ...] | None = None, label: str = "") -> Column:
    """The column of one task (its headline metrics unless ``metrics`` are given)."""
    short = info.name.removeprefix(f"meds_bench_{info.category}_")
    return Column(info.name, f"{label or short} ({info.meds_id})", metrics or headline_metrics(info), (info.name,))


def _group_members() -> dict[str, tuple[str, ...]]:
    return {g["group"]: tuple(g["task"]) for g in load_groups()}


def columns(category: str) -> list[Column]:
    """Columns of one category's table, in the paper's layout: the report columns of each task of
    its group, its pooled groups, and its average when its tasks share their headline metrics."""
    members = _group_members()
    group = category_group(category)
    tasks = [get_task(name) for name in members[group]]
    cols = [task_column(t, metrics, label) for t in tasks for label, metrics in scorer_of(t).columns]
    for kind, pooled in pooled_groups(category).items():
        cols.append(Column(pooled, f"{kind.upper()} (pooled)", headline_metrics(tasks[0]), members[pooled]))
    if len(tasks) > 1 and len({headline_metrics(t) for t in tasks}) == 1:
        cols.append(Column(group, "Avg.", headline_metrics(tasks[0]), members[group]))
    return cols


def _task_uncertainty(task: TaskResult) -> tuple[dict[str, Interval], dict[str, float]]:
    """Per metric lm-eval gave a standard error for: the 95% interval shown (Wilson for proportions, else
    normal and clipped to 0-100) and the standard error group averages combine (for a proportion, that
    of its Wilson interval, so that a 0% or 100% task still widens its category's interval)."""
    proportions = scorer_of(get_task(task.name)).proportions
    intervals: dict[str, Interval] = {}
    errors: dict[str, float] = {}
    for metric, se in task.stderr.items():
        value = task.metrics.get(metric)
        if value is None:
            continue
        wilson = proportion_interval(value, task.n) if metric in proportions and task.n else None
        intervals[metric] = wilson or normal_interval(value, Z95 * se)
        errors[metric] = (wilson[1] - wilson[0]) / (2 * Z95) if wilson else se
    return intervals, errors


def _group_values(run: Run, errors: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    results = {
        name: {
            **{f"{m},none": v for m, v in t.metrics.items()},
            **{f"{m}_stderr,none": v for m, v in errors[name].items()},
            "sample_len": t.n or 1,
        }
        for name, t in run.tasks.items()
    }
    return {
        group: {k.split(",")[0]: v for k, v in entry.items() if k.endswith(",none")}
        for group, entry in aggregate_groups(results).items()
    }


@dataclass
class Cell:
    """A table cell: the values (None when not measured), the text shown, the 95% CI half-widths that
    averages combine (None when a standard error is missing) and the intervals shown."""

    values: tuple[float, ...] | None
    text: str
    half_widths: tuple[float, ...] | None = None
    intervals: tuple[Interval, ...] | None = None


def fmt(values: tuple[float, ...], intervals: tuple[Interval, ...] | None = None) -> str:
    """``12.34`` or ``12.34/56.78``; with 95% intervals ``12.34 ± 1.50`` (``12.34/56.78 ± 1.50/2.00``) when
    each is symmetric about its value, else ``0.00 [0.00, 43.45]`` (``1.00/2.00 [0.00, 3.00]/[0.00, 5.00]``)."""
    text = "/".join(f"{v:.2f}" for v in values)
    if not intervals:
        return text
    if all(abs((hi - v) - (v - lo)) < 0.005 for v, (lo, hi) in zip(values, intervals, strict=True)):
        return text + " ± " + "/".join(f"{(hi - lo) / 2:.2f}" for lo, hi in intervals)
    return text + " " + "/".join(f"[{lo:.2f}, {hi:.2f}]" for lo, hi in intervals)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def interval_of(value: float, half_width: float | None) -> tuple[Interval, ...] | None:
    """The clipped normal interval of one value, for :func:`fmt` (None without a half-width)."""
    return (normal_interval(value, half_width),) if half_width is not None else None


def unanswered_text(count: int) -> str:
    """`` (2 unanswered)`` beside a score some of whose documents got no answer from an API, else ``""``."""
    return f" ({count} unanswered)" if count else ""


@dataclass
class RunScores:
    """Every cell of one run, category scores and the mean over complete categories."""

    run: Run
    # task or group name -> mark of a significant paired difference to the baseline (report --baseline)
    marks: dict[str, str] = field(default_factory=dict)
    groups: dict[str, dict[str, float]] = field(init=False)
    intervals: dict[str, dict[str, Interval]] = field(init=False)  # task -> metric -> 95% interval shown
    errors: dict[str, dict[str, float]] = field(init=False)  # task -> metric -> standard error averages combine

    def __post_init__(self) -> None:
        uncertainty = {name: _task_uncertainty(t) for name, t in self.run.tasks.items()}
        self.intervals = {name: u[0] for name, u in uncertainty.items()}
        self.errors = {name: u[1] for name, u in uncertainty.items()}
        self.groups = _group_values(self.run, self.errors)

    def cell(self, col: Column) -> Cell:
        have = [t for t in col.members if t in self.run.tasks]
        task = self.run.tasks.get(col.key)  # group keys are never task names
        source = task.metrics if task is not None else self.groups.get(col.key, {})
        if len(have) < len(col.members) or any(m not in source for m in col.metrics):
            missing = (
                MISSING if not have or len(col.members) == 1 else f"{MISSING} ({len(have)}/{len(col.members)} tasks)"
            )
            return Cell(None, missing)
        values = tuple(source[m] for m in col.metrics)
        if task is not None:
            errors = [self.errors[col.key].get(m) for m in col.metrics]
            shown = [self.intervals[col.key].get(m) for m in col.metrics]
        else:  # a group: the standard error lm-eval's aggregation gives ("N/A" when a member lacks one)
            errors = [_number(source.get(f"{m}_stderr")) for m in col.metrics]
            shown = [None if e is None else normal_interval(v, Z95 * e) for v, e in zip(values, errors, strict=True)]
        half = tuple(Z95 * e for e in errors) if all(e is not None for e in errors) else None  # type: ignore[operator]
        intervals = tuple(shown) if all(i is not None for i in shown) else None
        unanswered = sum(self.run.tasks[t].unanswered for t in col.members)
        text = fmt(values, intervals) + self.marks.get(col.key, "") + unanswered_text(unanswered)
        return Cell(values, text, half, intervals)  # type: ignore[arg-type]

    def category_score(self, category: str) -> float | None:
        """The category's average (ROUGE-L part for free text), else the mean of its task scores;
        None unless every task needed was evaluated."""
        return self.category_ci(category)[0]

    def category_ci(self, category: str) -> tuple[float | None, float | None]:
        """Category score and the half-width of its 95% CI: the CI of the unweighted task mean,
        1.96 * sqrt(sum of the tasks' squared standard errors) / k (None without every stderr; a proportion's
        standard error is that of its Wilson interval)."""
        cols = columns(category)
        if cols[-1].label == "Avg.":
            cell = self.cell(cols[-1])
            if not cell.values:
                return None, None
            return cell.values[-1], cell.half_widths[-1] if cell.half_widths else None
        cells = [self.cell(task_column(info, (task_score_metric(info),))) for info in tasks_in(category)]
        if any(c.values is None for c in cells):
            return None, None
        score = statistics.fmean(c.values[0] for c in cells)  # type: ignore[index]
        if any(c.half_widths is None for c in cells):
            return score, None
        return score, math.sqrt(sum(c.half_widths[0] ** 2 for c in cells)) / len(cells)  # type: ignore[index]

    def category_interval(self, category: str) -> tuple[Interval, ...] | None:
        """The 95% interval shown for a category score: its task's when it has one task, else the clipped
        normal interval of :meth:`category_ci`; None without one."""
        tasks = tasks_in(category)
        if len(tasks) == 1:
            return self.cell(task_column(tasks[0], (task_score_metric(tasks[0]),))).intervals
        value, half = self.category_ci(category)
        return interval_of(value, half) if value is not None else None

    def task_scores(self) -> dict[str, float]:
        """Task -> its one summarising score (:func:`task_score_metric`), for every task evaluated."""
        out = {}
        for name, task in self.run.tasks.items():
            value = task.metrics.get(task_score_metric(get_task(name)))
            if value is not None:
                out[name] = value
        return out

    def unanswered(self, category: str) -> int:
        """Documents of the category's evaluated tasks that got no answer from an API."""
        return sum(self.run.tasks[t.name].unanswered for t in tasks_in(category) if t.name in self.run.tasks)

    def mean(self) -> tuple[float | None, int]:
        """Unweighted mean of the complete categories' scores, and how many categories it covers."""
        scores = [s for s in (self.category_score(c) for c in CATEGORIES) if s is not None]
        return (statistics.fmean(scores) if scores else None), len(scores)

    def mean_half_width(self) -> float | None:
        """Half-width of the 95% CI of :meth:`mean` (categories independent: sqrt(sum h_c^2) / k);
        None when a complete category lacks its interval."""
        cis = [(v, h) for v, h in (self.category_ci(c) for c in CATEGORIES) if v is not None]
        if not cis or any(h is None for _, h in cis):
            return None
        return math.sqrt(sum(h**2 for _, h in cis)) / len(cis)  # type: ignore[operator]


@dataclass
class Table:
    """A rendered table: title, header, rows of text, an optional note."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


def display_label(run: Run) -> str:
    """Run label, marked when the run used the bundled sample data."""
    return f"{run.label} [sample data]" if run.is_sample else run.label


def summary_table(scores: list[RunScores]) -> Table:
    """One row per run: mean over complete categories, then each category's score."""
    header = ["Model", "Mean (categories)", *(cat.short_name for cat in CATEGORIES.values())]
    rows = []
    for s in scores:
        mean, k = s.mean()
        cats = [s.category_score(c) for c in CATEGORIES]
        rows.append(
            [
                display_label(s.run),
                f"{fmt((mean,), interval_of(mean, s.mean_half_width()))} ({k}/{len(CATEGORIES)})"
                if mean is not None
                else MISSING,
                *(
                    fmt((v,), s.category_interval(c))
                    + s.marks.get(category_group(c), "")
                    + unanswered_text(s.unanswered(c))
                    if v is not None
                    else MISSING
                    for c, v in zip(CATEGORIES, cats, strict=True)
                ),
            ]
        )
    note = (
        "Category score: the category average of the paper's metric (accuracy, F1, macro-F1; ROUGE-L for free "
        "text); categories mixing closed-set and free-text tasks average the task scores. Mean: unweighted mean of "
        "the categories a run evaluated completely (our summary, not a paper metric). " + INTERVAL_NOTE
    )
    return Table("Summary", header, rows, note)


def category_tables(category: str, scores: list[RunScores], figures: list[Figure]) -> tuple[Table, Table | None]:
    """The measured table of a category and, if the paper reports any of its cells, the reported one."""
    cols = columns(category)
    header = ["Model", *(c.label for c in cols)]
    measured = Table(
        CATEGORIES[category].title, header, [[display_label(s.run), *(s.cell(c).text for c in cols)] for s in scores]
    )
    measured.note = "Metrics: " + ", ".join(
        dict.fromkeys("/".join(METRIC_NAMES.get(m, m) for m in c.metrics) for c in cols)
    )
    by_model: dict[str, dict[str, str]] = {}
    tables: set[int] = set()
    for fig in figures:
        for col in cols:
            if fig.column == col.key and fig.metrics == col.metrics:
                by_model.setdefault(fig.model, {})[col.key] = fmt(fig.values) + ("*" if fig.note else "")
                tables.add(fig.table)
    if not by_model:
        return measured, None
    notes = sorted({f.note for f in figures if f.note and any(f.column == c.key for c in cols)})
    reported = Table(
        f"{CATEGORIES[category].title}: reported in the paper (Table {', '.join(map(str, sorted(tables)))})",
        ["Model (reported)", *(c.label for c in cols)],
        [[model, *(cells.get(c.key, "—") for c in cols)] for model, cells in by_model.items()],
        "Figures stated in the paper's text; — = not stated there. Not measured here."
        + "".join(f" * {n}." for n in notes),
    )
    return measured, reported
