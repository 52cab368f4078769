"""Converters that build the 19 credentialed MedS-Bench tasks from a user's own PhysioNet files."""

from meds_bench.physionet.cli import SOURCES, add_data_parser, build_source
from meds_bench.physionet.common import RawDataError

__all__ = ["SOURCES", "RawDataError", "add_data_parser", "build_source"]
