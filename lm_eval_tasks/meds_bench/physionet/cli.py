"""``meds-bench data build SOURCE --input RAW --output DATA_DIR``: build credentialed tasks locally.

Every step runs on this machine: raw files are read from disk and task files written to disk.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from meds_bench.output_flag import add_output_option
from meds_bench.physionet import mednli, mimic_cxr, mimic_iv_ed, mimic_iv_note
from meds_bench.physionet.common import RawDataError, summary_lines, write_builds

SOURCES: dict[str, ModuleType] = {m.SOURCE: m for m in (mednli, mimic_iv_note, mimic_cxr, mimic_iv_ed)}
DEFAULT_SEED = 1234


def build_source(
    source: str, raw: str | Path, out: str | Path, seed: int = DEFAULT_SEED, size: int | None = None
) -> dict[str, Any]:
    """Convert one PhysioNet source into task files under ``out``; return its manifest entry.

    Raises:
        RawDataError: unknown source, bad size, or a raw directory that is wrong or incomplete
            (checked before anything is written).
    """
    if source not in SOURCES:
        raise RawDataError(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}")
    if size is not None and size < 1:
        raise RawDataError(f"--size must be a positive number of instances per task, got {size}")
    module = SOURCES[source]
    raw_path, out_path = Path(raw).expanduser().resolve(), Path(out).expanduser().resolve()
    build = module.build(raw_path)
    out_path.mkdir(parents=True, exist_ok=True)
    return write_builds(build, out_path, seed, size, module.NAME, module.URL)


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        entry = build_source(args.source, args.input, args.output, args.seed, args.size)
    except RawDataError as err:
        print(f"meds-bench data build: {err}", file=sys.stderr)
        return 2
    print("\n".join(summary_lines(args.source, entry, Path(args.output).expanduser().resolve())))
    return 1 if entry["empty_tasks"] else 0


def add_data_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``data build`` to a ``meds-bench`` sub-command parser; the handler is ``args.func``."""
    data = subparsers.add_parser("data", help="build the credentialed (PhysioNet) tasks from your own raw files")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")
    build = data_sub.add_parser(
        "build",
        help="convert one PhysioNet source into task files",
        description="Reads raw PhysioNet files from disk and writes MedS-Bench task files and MANIFEST.json. "
        "Nothing is sent off this machine.",
    )
    build.add_argument("source", choices=list(SOURCES), help="which PhysioNet release the raw files come from")
    build.add_argument("--input", required=True, metavar="RAW_PATH", help="the release's folder (or its main file)")
    add_output_option(
        build,
        metavar="DATA_DIR",
        old_flags=("--out",),
        required=True,
        help="data directory in hub layout to write into",
    )
    build.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"sampling seed (default {DEFAULT_SEED})")
    build.add_argument("--size", type=int, help="instances per task (default: the paper's sizes)")
    build.set_defaults(func=_cmd_build)
    return data
