"""``meds-bench report RESULTS... [--output DIR] [--include-sample] [--max-samples N] [--baseline RUN]``."""

from __future__ import annotations

import argparse
import sys

from meds_bench.output_flag import add_output_option
from meds_bench.report.build import headline, report
from meds_bench.report.explorer import DEFAULT_MAX_SAMPLES
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
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Entry point of ``meds-bench report``."""
    if args.max_samples < 0:
        print("meds-bench report: --max-samples must be 0 or more", file=sys.stderr)
        return 2
    try:
        page = report(args.results, args.output, args.include_sample, args.max_samples, args.baseline)
        lines = headline(args.results, args.include_sample, paired=args.baseline is not None)
    except ReportInputError as err:
        print(f"meds-bench report: {err}", file=sys.stderr)
        return 2
    print(f"report: {page}")
    print(lines)  # last, so that a run's output ends with the comparison (and its CI, with --baseline)
    return 0
