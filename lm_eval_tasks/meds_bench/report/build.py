"""``report()``: results files in, leaderboard files out; ``headline()``: the one-screen summary."""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from meds_bench.catalog import CATEGORIES, TASKS, get_task
from meds_bench.judge.judged import JudgedRun, load_judged
from meds_bench.report.explorer import DEFAULT_MAX_SAMPLES
from meds_bench.report.jury import add_jury_columns, jury_table, match_judged
from meds_bench.report.page import write_page
from meds_bench.report.reference import load_reference
from meds_bench.report.render import provenance_table, runs_table, to_markdown, write_csv
from meds_bench.report.runs import ReportInputError, Run, load_runs
from meds_bench.report.sample_files import write_sample_files
from meds_bench.report.tables import (
    METRIC_NAMES,
    MISSING,
    RunScores,
    category_tables,
    columns,
    display_label,
    summary_table,
    task_column,
    task_score_metric,
)


def _included(runs: Sequence[Run], include_sample: bool) -> list[Run]:
    return [r for r in runs if include_sample or not r.is_sample]


def _ranked(runs: Sequence[Run]) -> list[RunScores]:
    """Runs ordered by mean category score (highest first; runs without one last), then label."""
    scores = [RunScores(r) for r in runs]
    return sorted(scores, key=lambda s: (s.mean()[0] is None, -(s.mean()[0] or 0.0), s.run.label))


def _mark_against(scores: Sequence[RunScores], baseline: Path) -> None:
    """Set each run's significance marks against the baseline run (runs without samples get none)."""
    from meds_bench.compare import CompareInputError, compare_docs, docs_of_samples, load_docs, significance_marks

    try:
        base = load_docs(baseline)
        for s in scores:
            files = [t.samples for t in s.run.tasks.values() if t.samples is not None]
            if files:
                s.marks = significance_marks(compare_docs(docs_of_samples(files), base))
    except CompareInputError as err:
        raise ReportInputError(f"--baseline {baseline}: {err}") from None


def _intro(runs: Sequence[Run], included: Sequence[Run], citation: str) -> str:
    left_out = len(runs) - len(included)
    text = (
        f"Generated {datetime.datetime.now().isoformat(timespec='seconds')} from {len(runs)} run(s)"
        + (f"; {left_out} run(s) on the bundled sample data left out (pass --include-sample)" if left_out else "")
        + ". Scores are 0-100; free-text tasks show BLEU-1/ROUGE-L. 'missing' marks a task a run did not "
        "evaluate: it is never counted as 0. Runs marked [sample data] used synthetic sample data, not the "
        f"benchmark. Reported rows are figures from {citation}, never measured here."
    )
    return text


def judged_runs(
    results_paths: Iterable[str | Path], include_sample: bool, directory: str | Path, chosen: Mapping[str, str]
) -> dict[str, JudgedRun]:
    """Report run label -> its judged run in ``directory`` (``meds-bench judge --output DIR``), for the runs
    the report shows; ``chosen``: ``--judged-run RUN=JUDGED`` pairs. Raises
    :class:`meds_bench.judge.judged.JudgedInputError` (unreadable folder, no or ambiguous match)."""
    runs = _included(load_runs(results_paths), include_sample)
    return match_judged(runs, load_judged(Path(directory)), chosen)


def report(
    results_paths: Iterable[str | Path],
    out_dir: str | Path,
    include_sample: bool = False,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    baseline: str | Path | None = None,
    judged: Mapping[str, JudgedRun] | None = None,
) -> Path:
    """Write leaderboard.md, leaderboard.csv, categories.png, tasks_heatmap.png, index.html and the
    explorer's sample files (``explorer/``, at most ``max_samples`` documents per run and task) into
    ``out_dir`` from lm-eval results files or folders (``LABEL=PATH`` names a run); return index.html.

    Runs on the bundled sample data are left out unless ``include_sample``. With ``baseline`` (a run
    that ``meds-bench compare`` reads), cells whose paired difference to it is significant are marked. With
    ``judged`` (:func:`judged_runs`), the free-text category tables get jury columns, a Jury table follows
    them and the CSV gets the jury rows (:mod:`meds_bench.report.jury`). Raises
    :class:`meds_bench.report.runs.ReportInputError` for unreadable inputs, before writing anything.
    """
    runs = load_runs(results_paths)
    citation, figures = load_reference()
    included = _included(runs, include_sample)
    scores = _ranked(included)
    ordered = [s.run for s in scores]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    intro = _intro(runs, included, citation)
    if baseline is not None:
        _mark_against(scores, Path(baseline))
    summary = summary_table(scores)
    if baseline is not None:
        summary.note += (
            f" ▲/▼: significantly above/below the baseline {baseline} (paired over the documents both scored, "
            "Holm-adjusted p < 0.05; meds-bench compare)."
        )
    cats = [category_tables(c, scores, figures) for c in CATEGORIES]
    if judged:
        cats = [
            (add_jury_columns(measured, c, columns(c), scores, judged), reported)
            for c, (measured, reported) in zip(CATEGORIES, cats, strict=True)
        ]
        judges = dict.fromkeys(j for run in judged.values() for t in run.tasks.values() for j in t.judges)
        cats.append((jury_table(scores, judged, list(judges)), None))
    flat = [summary, *(t for pair in cats for t in pair if t is not None)]
    runs_part = [runs_table(runs, included), *(provenance_table(r) for r in runs)]
    (out / "leaderboard.md").write_text(to_markdown(intro, flat, runs_part), encoding="utf-8")
    write_csv(out / "leaderboard.csv", scores, figures, judged or {})
    # matplotlib is imported only when charts are drawn: every `meds-bench` command imports this module
    from meds_bench.report import charts

    chart_files = [
        (charts.category_chart(scores, out / "categories.png"), "Category scores per model"),
        (charts.task_heatmap(scores, out / "tasks_heatmap.png"), "Per-task heat map"),
    ]
    explorer = write_sample_files(ordered, out, max_samples)
    return write_page(out / "index.html", intro, summary, chart_files, cats, runs_part, explorer, max_samples)


def paired_text(run: Run, base: Run) -> str:
    """``"  (paired: 95% CI [lo, hi], p = x, n docs)"`` for the difference of the mean category score
    between two runs with ``--log_samples`` files (``meds-bench compare``'s mean row); "" without them."""
    from meds_bench.compare import CompareInputError, compare_docs, docs_of_samples
    from meds_bench.metrics.paired import format_p

    files = [[t.samples for t in r.tasks.values() if t.samples is not None] for r in (run, base)]
    if not all(files):
        return ""
    try:
        mean = compare_docs(docs_of_samples(files[0]), docs_of_samples(files[1]))["mean"]
    except CompareInputError as err:
        return f"  (no paired CI: {err})"
    if mean is None:
        return ""
    return (
        f"  (paired: 95% CI [{mean['ci_low']:+.2f}, {mean['ci_high']:+.2f}], {format_p(mean['p_value'])},"
        f" {mean['n']} docs)"
    )


def _tasks_run_lines(scores: Sequence[RunScores]) -> list[str]:
    """When a run evaluated tasks outside its complete categories: each task's score with its 95% interval
    per run, then the mean over the tasks each run evaluated (and its difference to the first run's, when
    both ran the same tasks); else no line."""
    if all(s.category_score(get_task(name).category) is not None for s in scores for name in s.run.tasks):
        return []
    run_tasks = {name for s in scores for name in s.run.tasks}
    infos = [info for info in TASKS if info.name in run_tasks]
    rows = [["task (metric)", *(display_label(s.run) for s in scores)]]
    for info in infos:
        metric = task_score_metric(info)
        label = f"{info.meds_id} {info.name.removeprefix('meds_bench_')} ({METRIC_NAMES.get(metric, metric)})"
        rows.append([label, *(s.cell(task_column(info, (metric,))).text for s in scores)])
    task_scores = [s.task_scores() for s in scores]
    means = [statistics.fmean(t.values()) if t else None for t in task_scores]
    mean_row = ["mean of the tasks run (not a paper metric)"]
    for k, (tasks, mean) in enumerate(zip(task_scores, means, strict=True)):
        same = tasks.keys() == task_scores[0].keys()
        text = MISSING if mean is None else f"{mean:.2f}" + ("" if same else f" ({len(tasks)} tasks)")
        if k and same and mean is not None and means[0] is not None:
            text += f" ({mean - means[0]:+.2f} vs {display_label(scores[0].run)})"
        mean_row.append(text)
    rows.append(mean_row)
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = [
        "Some tasks run are outside a complete category: the means above leave them out.",
        "Each task run (0-100; 95% CI, Wilson for accuracies):",
    ]
    lines += ["  " + "  ".join(f"{c:<{w}}" for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return lines


def headline(results_paths: Iterable[str | Path], include_sample: bool = False, paired: bool = False) -> str:
    """A few lines to print after a run: each model's mean category score (and the difference to the
    first run given; with ``paired``, also its paired CI and p-value where both runs logged samples),
    or why nothing is shown; when a run evaluated tasks outside its complete categories, each task's
    score with its interval and the mean over the tasks run (:func:`_tasks_run_lines`)."""
    runs = load_runs(results_paths)
    included = _included(runs, include_sample)
    if not included:
        return f"MedS-Bench: all {len(runs)} run(s) used the bundled sample data; pass --include-sample to show them."
    scores = [RunScores(r) for r in included]
    lines = ["MedS-Bench mean category score (0-100; accuracy/F1, ROUGE-L for free text):"]
    base = scores[0].mean()[0]
    width = max(len(display_label(r)) for r in included)
    for s in scores:
        run = s.run
        mean, k = s.mean()
        if mean is None:
            lines.append(f"  {display_label(run):<{width}}  no complete category")
            continue
        delta = (
            f"  {mean - base:+.2f} vs {display_label(included[0])}" + (paired_text(run, included[0]) if paired else "")
            if run is not included[0] and base is not None
            else ""
        )
        lines.append(f"  {display_label(run):<{width}}  {mean:6.2f}  ({k}/{len(CATEGORIES)} categories){delta}")
    return "\n".join(lines + _tasks_run_lines(scores))
