"""``meds-bench export-submission RUN --output OUT_DIR``: the MedS-Bench leaderboard's CSV files from lm-eval
``--log_samples`` output.

One ``<category>.csv`` per category the run evaluated, in the MedS-Ins release's format: UTF-8 with a
byte-order mark, header ``task_id,input,GT,output``; ``task_id`` the MedS id (``task57``), ``input``
the prompt sent, ``GT`` the gold output, ``output`` the model's (filtered) response; rows by task in
catalogue order, then by lm-eval ``doc_id``; a folder holding several runs gives its newest.
``meds-bench score`` reads these files back (it recovers the query from the prompt) and gives the
run's scores. A document an API gave no answer for has an empty ``output`` (scored 0); the command
says per task how many there are.

With ``--judged DIR`` (``meds-bench judge --output DIR`` judged the run), the files of categories with a
judged task get the columns ``jury`` (the document's jury score, 0-100: the mean over judges and criteria of
its valid judgements) and ``jury:<judge>`` per judge (that judge's score of it); a cell is empty for a
document not judged, or whose every judgement was invalid. ``meds-bench score`` ignores these columns.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from meds_bench.api_status import unanswered_in_samples
from meds_bench.catalog import CATEGORIES, TASKS
from meds_bench.judge.judged import JudgedInputError, JudgedRun, load_judged
from meds_bench.metrics.rescore import newest_samples_files
from meds_bench.output_flag import add_output_option, required_output
from meds_bench.text_files import NotJsonLineError, NotUtf8Error, read_json_lines

HEADER = ("task_id", "input", "GT", "output")


class SubmissionInputError(ValueError):
    """A run that cannot be exported; the message names the file and what to do."""


def _samples_files(run: Path) -> dict[str, Path]:
    files = sorted(run.rglob("samples_*.jsonl")) if run.is_dir() else [run] if run.is_file() else []
    if not files:
        raise SubmissionInputError(f"{run}: no samples_*.jsonl here (run lm_eval with --log_samples)")
    out = newest_samples_files(files)
    if not out:
        raise SubmissionInputError(f"{run}: no samples file of a MedS-Bench task")
    return out


def _rows(path: Path, meds_id: str) -> list[tuple[int, tuple[str, str, str, str]]]:
    from meds_bench.metrics.closed_set import gold_string
    from meds_bench.metrics.hooks import prediction_of  # the scorers' imports: only when exporting
    from meds_bench.report.explorer import sample_prompt

    rows = []
    try:
        for k, sample in read_json_lines(path):
            try:
                doc, resps = sample["doc"], sample["filtered_resps"]
                prediction = prediction_of(resps)
                row = (meds_id, sample_prompt(sample), gold_string(doc), "" if prediction is None else str(prediction))
                rows.append((int(sample["doc_id"]), row))
            except (KeyError, TypeError, ValueError) as err:
                raise SubmissionInputError(f"{path}:{k}: not an lm-eval samples line ({err})") from None
    except (NotUtf8Error, NotJsonLineError) as err:
        raise SubmissionInputError(str(err)) from None
    return sorted(rows, key=lambda r: r[0])


def _jury_cells(judged: JudgedRun, task: str, doc_id: int, judges: list[str]) -> list[str]:
    doc = judged.docs.get(task, {}).get(str(doc_id))
    if doc is None:
        return [""] * (1 + len(judges))
    return [repr(doc.score), *(repr(doc.judges[j]) if j in doc.judges else "" for j in judges)]


def export_submission(run: Path, out_dir: Path, judged: JudgedRun | None = None) -> list[Path]:
    """Write one release-format CSV per category of the run into ``out_dir``; return their paths. With
    ``judged`` (the run's judged run), files of categories with a judged task add the jury columns."""
    files = _samples_files(run)
    judges = list(dict.fromkeys(j for t in (judged.tasks.values() if judged else ()) for j in t.judges))
    with_jury = {t.category for t in TASKS if t.name in files and judged is not None and t.name in judged.tasks}
    by_category: dict[str, list[list[str]]] = {}
    for info in TASKS:
        if info.name not in files:
            continue
        rows = by_category.setdefault(info.category, [])
        for doc_id, row in _rows(files[info.name], info.meds_id):
            in_jury = judged is not None and info.category in with_jury
            jury = _jury_cells(judged, info.name, doc_id, judges) if in_jury else []  # type: ignore[arg-type]
            rows.append([*row, *jury])
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for category in CATEGORIES:
        if category not in by_category:
            continue
        path = out_dir / f"{category}.csv"
        jury = ["jury", *(f"jury:{j}" for j in judges)] if category in with_jury else []
        with path.open("w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow([*HEADER, *jury])
            writer.writerows(by_category[category])
        written.append(path)
    return written


def unanswered_counts(run: Path) -> dict[str, int]:
    """MedS id -> documents an API gave no answer for, for each task of the run that has any."""
    files = _samples_files(run)
    counts = {info.meds_id: unanswered_in_samples(files[info.name]) for info in TASKS if info.name in files}
    return {meds_id: n for meds_id, n in counts.items() if n}


def add_export_submission_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``export-submission`` on the ``meds-bench`` command line."""
    p = subparsers.add_parser(
        "export-submission", help="leaderboard CSVs (task_id,input,GT,output; one per category) from --log_samples"
    )
    p.add_argument("run", metavar="RUN", help="lm_eval --output_path folder (or one samples file) with --log_samples")
    add_output_option(p, metavar="OUT_DIR", old_positional=True, required=True, help="folder for <category>.csv")
    p.add_argument(
        "--judged",
        metavar="DIR",
        help="add each document's jury score and each judge's score from `meds-bench judge --output DIR`",
    )
    p.add_argument("--judged-run", metavar="JUDGED", help="the run's label in DIR, when matching by path fails")
    p.set_defaults(func=run_export_submission)


def _judged_run(args: argparse.Namespace) -> JudgedRun | None:
    """The judged run of RUN in ``--judged DIR`` (by path, or ``--judged-run``); None without ``--judged``.

    Raises:
        JudgedInputError: an unreadable folder, or no or several judged runs matching RUN.
    """
    if args.judged is None:
        if args.judged_run:
            raise JudgedInputError("--judged-run needs --judged DIR")
        return None
    return load_judged(Path(args.judged)).require(Path(args.run), args.judged_run, "--judged-run JUDGED")


def run_export_submission(args: argparse.Namespace) -> int:
    """Entry point of ``meds-bench export-submission``."""
    try:
        judged = _judged_run(args)
        written = export_submission(Path(args.run), Path(required_output(args, "export-submission", "OUT_DIR")), judged)
    except (SubmissionInputError, JudgedInputError) as err:
        print(f"meds-bench export-submission: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    for meds_id, count in unanswered_counts(Path(args.run)).items():
        print(
            f"meds-bench export-submission: {meds_id}: {count} unanswered (no answer text from the API; "
            "exported with an empty output, scored 0)",
            file=sys.stderr,
        )
    for line in judged.failed_control_lines() if judged else []:
        print(f"meds-bench export-submission: warning: {line}", file=sys.stderr)
    return 0
