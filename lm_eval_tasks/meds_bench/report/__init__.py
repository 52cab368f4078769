"""Leaderboard report over lm-eval results: paper-style tables, charts and a per-sample explorer."""

from meds_bench.report.build import headline, report
from meds_bench.report.cli import add_report_parser

__all__ = ["add_report_parser", "headline", "report"]
