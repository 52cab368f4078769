"""The jury's part of the leaderboard (``meds-bench report --judged DIR``): a jury column beside each judged
free-text task in its category table and the category's jury score, a "Jury" table (each judge's mean, alpha,
invalid replies, controls) and the CSV rows ``jury`` (per task) and ``jury_<category>``.

Scores come from ``judge_results.json`` as :mod:`meds_bench.judge.judged` reads it; a run the judge did not
judge shows ``not judged``, never a number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from meds_bench.catalog import CATEGORIES, category_group, get_task
from meds_bench.judge.judged import JudgedInputError, JudgedRun, JudgedRuns
from meds_bench.report.runs import Run
from meds_bench.report.tables import Column, RunScores, Table, display_label, fmt

NOT_JUDGED = "not judged"
JURY_NOTE = (
    "Jury: mean over documents of the mean over judges and rubric criteria (1-5 mapped to 0-100), from "
    "`meds-bench judge`; [low, high]: its 95% bootstrap CI over documents; a category's: the mean of its judged "
    "tasks' scores with a normal CI. A model jury is no substitute for clinicians; see the Jury table for its "
    "judges' agreement and controls."
)


def match_judged(runs: Sequence[Run], judged: JudgedRuns, chosen: Mapping[str, str]) -> dict[str, JudgedRun]:
    """Report run label -> its judged run (:meth:`JudgedRuns.find`; ``chosen``: ``--judged-run RUN=JUDGED``).

    Raises:
        JudgedInputError: a ``--judged-run`` naming no run, an ambiguous match, or no run of the report judged.
    """
    labels = {r.label for r in runs}
    for label in chosen:
        if label not in labels:
            raise JudgedInputError(f"--judged-run {label}=...: no run of this report is labelled {label}")
    found = {}
    for run in runs:
        match = judged.find(run.path, run.label, chosen.get(run.label))
        if match is not None:
            found[run.label] = match
    if not found:
        raise JudgedInputError(
            f"{judged.directory}: judged none of the runs of this report (its runs: "
            f"{', '.join(f'{r.label} ({r.path})' for r in judged.runs.values())}); pass --judged-run RUN=JUDGED"
        )
    return found


def _task_cell(judged: JudgedRun | None, task: str) -> str:
    entry = judged.tasks.get(task) if judged else None
    if entry is None or entry.jury is None:
        return NOT_JUDGED
    failed = any(not c.passed for c in judged.controls.get(task, ()))  # type: ignore[union-attr]
    return fmt((entry.jury,), (entry.ci,) if entry.ci else None) + (" (control FAILED)" if failed else "")


def _category_cell(judged: JudgedRun | None, category: str) -> str:
    value = judged.categories.get(category, (None, ()))[0] if judged else None
    if value is None:
        return NOT_JUDGED
    interval = judged.category_interval(category)  # type: ignore[union-attr]
    return fmt((value,), (interval,) if interval else None)


def add_jury_columns(
    table: Table, category: str, cols: Sequence[Column], scores: Sequence[RunScores], judged: Mapping[str, JudgedRun]
) -> Table:
    """``table`` (a category's measured table, rows in ``scores`` order, columns ``cols``) with a ``jury``
    column after each task some run was judged on, and ``Jury (category)`` last when a run has a category
    jury score; the table itself when the category has no judged task."""
    runs = [judged.get(s.run.label) for s in scores]
    tasks = [c.key for c in cols if len(c.members) == 1 and any(j and c.key in j.tasks for j in runs)]
    with_category = any(j and category in j.categories for j in runs)
    if not tasks and not with_category:
        return table
    after = {max(k for k, c in enumerate(cols) if c.key == task): task for task in tasks}  # a task's last column
    header, rows = [table.header[0]], [[row[0]] for row in table.rows]
    for k in range(len(cols)):
        header.append(table.header[k + 1])
        for row, old in zip(rows, table.rows, strict=True):
            row.append(old[k + 1])
        if k in after:
            header.append(f"{get_task(after[k]).meds_id} jury")
            for row, j in zip(rows, runs, strict=True):
                row.append(_task_cell(j, after[k]))
    if with_category:
        header.append("Jury (category)")
        for row, j in zip(rows, runs, strict=True):
            row.append(_category_cell(j, category))
    note = f"{table.note}. {JURY_NOTE}" if table.note else JURY_NOTE
    return Table(table.title, header, rows, note)


def _controls_text(judged: JudgedRun, task: str) -> str:
    controls = judged.controls.get(task)
    if not controls:
        return "not run"
    failed = [c.text() for c in controls if not c.passed]
    return "; ".join(failed) if failed else "passed (" + "; ".join(c.text() for c in controls) + ")"


def _rho(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def jury_table(scores: Sequence[RunScores], judged: Mapping[str, JudgedRun], judges: Sequence[str]) -> Table:
    """One row per judged run and task: jury score and CI, each judge's mean, alpha, documents, invalid replies,
    the controls (a failed one as ``FAILED: reference scored 41.00 < 75``) and the length correlations."""
    header = ["Model", "Task", "Jury", *judges, "Alpha", "n", "Invalid", "Controls", "Length ρ (jury / ROUGE-1)"]
    rows = []
    for s in scores:
        j = judged.get(s.run.label)
        if j is None:
            continue
        for task, entry in j.tasks.items():
            length = j.lengths.get(task)
            rows.append(
                [
                    display_label(s.run),
                    f"{task.removeprefix('meds_bench_')} ({get_task(task).meds_id})",
                    _task_cell(j, task),
                    *(fmt((v,)) if (v := entry.judges.get(judge)) is not None else "—" for judge in judges),
                    "—" if entry.alpha is None else f"{entry.alpha:.2f}",
                    str(entry.n),
                    str(entry.invalid) + (f" (+{entry.unanswered} unanswered)" if entry.unanswered else ""),
                    _controls_text(j, task),
                    f"{_rho(length.jury)} / {_rho(length.rouge1)} (n={length.n})" if length else "—",
                ]
            )
    note = (
        "Each judge's column: its own mean over the documents (0-100). Alpha: Krippendorff's alpha between the "
        "judges (ordinal; 1 = full agreement, 0 = chance, — when undefined). Invalid: replies no score could be "
        "read from after one retry (left out, never scored 0); unanswered: judge requests that failed or were not "
        "sent (budget), also left out. Controls: the reference given as the answer must "
        "score at least the threshold; an answer judged against another document's reference at most it; a "
        "FAILED control means this jury cannot be trusted on that task. Length ρ: Spearman correlation of the "
        "score with the answer's length (a jury that rewards length shows a much higher ρ than ROUGE-1)."
    )
    return Table("Jury", header, rows, note)


def failed_control_lines(judged: Mapping[str, JudgedRun]) -> list[str]:
    """One warning line per failed control of the report's judged runs (each judged run once)."""
    return [line for j in {j.label: j for j in judged.values()}.values() for line in j.failed_control_lines()]


def jury_csv_rows(run: Run, judged: JudgedRun | None) -> list[dict[str, str]]:
    """CSV rows of a judged run: metric ``jury`` per judged task (``n``, CI, alpha, invalid and controls in
    ``note``) and ``jury_<category>`` per category (column: the category's group); none when not judged."""
    if judged is None:
        return []
    base = {"kind": "measured", "model": run.label, "results_file": str(run.path)}
    rows = []
    for task, entry in judged.tasks.items():
        info = get_task(task)
        ci = f"95% CI [{entry.ci[0]!r}, {entry.ci[1]!r}]; " if entry.ci else ""
        alpha = f"alpha {entry.alpha!r}; " if entry.alpha is not None else ""
        controls = "; ".join(c.text() for c in judged.controls.get(task, ()))
        rows.append({**base, "category": info.category, "column": task, "meds_id": info.meds_id, "metric": "jury",
                     "value": "" if entry.jury is None else repr(entry.jury), "n": str(entry.n),
                     "status": "ok" if entry.jury is not None else NOT_JUDGED,
                     "note": f"{ci}{alpha}{entry.invalid} invalid; judged run {judged.label}"
                     + (f"; controls: {controls}" if controls else "")})  # fmt: skip
    for category in CATEGORIES:
        if category not in judged.categories:
            continue
        value, _ = judged.categories[category]
        rows.append({**base, "category": category, "column": category_group(category), "metric": f"jury_{category}",
                     "value": "" if value is None else repr(value), "status": "ok" if value is not None else NOT_JUDGED,
                     "note": f"judged run {judged.label}"})  # fmt: skip
    return rows
