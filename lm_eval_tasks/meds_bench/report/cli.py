"""``meds-bench report RESULTS... [--output DIR] [--include-sample] [--max-samples N] [--baseline RUN]
[--judged DIR [--judged-run RUN=JUDGED ...]]``."""

from __future__ import annotations

import argparse
import sys

from meds_bench.judge.judged import JudgedInputError
from meds_bench.output_flag import add_output_option
from meds_bench.report.build import headline, judged_runs, report
from meds_bench.report.explorer import DEFAULT_MAX_SAMPLES
from meds_bench.report.jury import failed_control_lines
from meds_bench.report.runs import ReportInputError

DEFAULT_OUT = "outputs/report"


def add_report_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``report`` on the ``meds-bench`` command line."""
    p = subparsers.add_parser(
        "report",
        help="leaderboard (Markdown, CSV, HTML with a per-sample explorer, PNG charts) from lm-eval results",
    )
    p.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS",
        help="results_*.json files or lm_eval --output_path folders; LABEL=PATH names the run",
    )
    add_output_option(
        p, metavar="DIR", old_flags=("--out",), default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})"
    )
    p.add_argument("--include-sample", action="store_true", help="also show runs on the bundled sample data")
    p.add_argument(
        "--max-samples",
        type=int,
        default=DEFAULT_MAX_SAMPLES,
        help=f"logged samples per run and task written for the explorer (default: {DEFAULT_MAX_SAMPLES})",
    )
    p.add_argument(
        "--baseline",
        metavar="RUN",
        help="mark significant paired differences to this run (--log_samples folder or scored file); "
        "the headline then adds the paired CI and p-value of each difference",
    )
    p.add_argument(
        "--judged",
        metavar="DIR",
        help="add the jury scores of `meds-bench judge --output DIR` beside the free-text scores, a Jury table "
        "and jury rows in the CSV",
    )
    p.add_argument(
        "--judged-run",
        metavar="RUN=JUDGED",
        action="append",
        default=[],
        help="the judged run (its label in DIR) of the report's run RUN, when matching by path or label fails; "
        "repeatable",
    )
    p.set_defaults(func=run_report)


def _chosen(pairs: list[str]) -> dict[str, str]:
    """``--judged-run RUN=JUDGED`` values -> {RUN: JUDGED}; raises JudgedInputError on one without ``=``."""
    chosen = {}
    for pair in pairs:
        run, sep, judged = pair.rpartition("=")
        if not sep or not run or not judged:
            raise JudgedInputError(f"--judged-run {pair}: expected RUN=JUDGED (a report run label, a run in DIR)")
        chosen[run] = judged
    return chosen


def run_report(args: argparse.Namespace) -> int:
    """Entry point of ``meds-bench report``."""
    if args.max_samples < 0:
        print("meds-bench report: --max-samples must be 0 or more", file=sys.stderr)
        return 2
    if args.judged_run and not args.judged:
        print("meds-bench report: --judged-run needs --judged DIR", file=sys.stderr)
        return 2
    try:
        judged = (
            judged_runs(args.results, args.include_sample, args.judged, _chosen(args.judged_run))
            if args.judged
            else None
        )
        page = report(args.results, args.output, args.include_sample, args.max_samples, args.baseline, judged)
        lines = headline(args.results, args.include_sample, paired=args.baseline is not None)
    except (ReportInputError, JudgedInputError) as err:
        print(f"meds-bench report: {err}", file=sys.stderr)
        return 2
    for line in failed_control_lines(judged or {}):
        print(f"meds-bench report: warning: {line}", file=sys.stderr)
    print(f"report: {page}")
    print(lines)  # last, so that a run's output ends with the comparison (and its CI, with --baseline)
    return 0
