"""``meds-bench`` command line: where the tasks are, what data is present, and running lm_eval."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from meds_bench import hub, preflight, sample_data_path, tasks_path
from meds_bench.batches import add_batches_parser
from meds_bench.catalog import CATEGORIES, TASKS
from meds_bench.data import (
    DATA_DIR_ENV,
    DATA_DIR_METADATA_KEY,
    DataError,
    locate,
    parse_task,
    read_task_file,
    resolve_source,
)
from meds_bench.download import add_download_parser
from meds_bench.export import add_export_parser
from meds_bench.metrics.rescore import add_score_parser
from meds_bench.physionet import add_data_parser
from meds_bench.report import add_report_parser


def _cmd_tasks_path(_: argparse.Namespace) -> int:
    print(tasks_path())
    return 0


def _cmd_sample_data_path(_: argparse.Namespace) -> int:
    print(sample_data_path())
    return 0


def _presence(info, source) -> str:
    if source.kind == "hub":
        return "credentialed" if info.credentialed else hub.availability(info)
    try:
        locate(info, source)
    except DataError:
        return "missing"
    return "present"


def _cmd_list(args: argparse.Namespace) -> int:
    source = resolve_source(args.data_dir)
    print(f"data source: {source.describe()}")
    rows = [("task", "id", "category", "metrics", "data")]
    from meds_bench.metrics.table import metrics_of

    for info in TASKS:
        metrics = ",".join(name for name, _ in metrics_of(info))
        rows.append((info.name, info.meds_id, CATEGORIES[info.category][1], metrics, _presence(info, source)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def validate_dir(directory: Path) -> tuple[list[str], list[str], list[str]]:
    """Check every task file of ``directory``: lists of present task names, missing ones, problems."""
    source = resolve_source(directory)
    present, missing, problems = [], [], []
    for info in TASKS:
        try:
            path = locate(info, source)
        except DataError:
            missing.append(info.name)
            continue
        try:
            parse_task(path, read_task_file(path))
        except DataError as err:
            problems.append(str(err))
        else:
            present.append(info.name)
    return present, missing, problems


def _cmd_validate_data(args: argparse.Namespace) -> int:
    present, missing, problems = validate_dir(Path(args.directory))
    for name in present:
        print(f"ok       {name}")
    for name in missing:
        print(f"missing  {name}")
    for line in problems:
        print(f"invalid  {line}")
    print(f"{len(present)} valid, {len(missing)} missing, {len(problems)} malformed of {len(TASKS)} task files")
    return 1 if problems else 0


def eval_argv(passthrough: Sequence[str], data_dir: str | None = None) -> list[str]:
    """lm_eval arguments with our include path added (after any the user gave)."""
    argv = list(passthrough)
    if argv and argv[0] == "run":
        argv = argv[1:]
    if "--include_path" in argv:
        raise SystemExit("meds-bench eval adds --include_path itself; use lm_eval directly for other task folders")
    argv = ["run", "--include_path", str(tasks_path()), *argv]
    if data_dir:
        os.environ[DATA_DIR_ENV] = str(Path(data_dir).expanduser().resolve())
    return argv


def _option(argv: list[str], *names: str) -> tuple[int, str] | None:
    """Index and value of the last ``--name VALUE`` / ``--name=VALUE`` in argv."""
    found = None
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                found = (i + 1, argv[i + 1])
            elif arg.startswith(name + "="):
                found = (i, arg)
    return found


def _metadata_data_dir(argv: list[str]) -> str | None:
    """``meds_bench_data_dir`` of a JSON ``--metadata`` argument, which the task build reads first."""
    where = _option(argv, "--metadata")
    if where is None:
        return None
    try:
        metadata = json.loads(where[1].removeprefix("--metadata="))
    except json.JSONDecodeError:
        return None
    return metadata.get(DATA_DIR_METADATA_KEY) if isinstance(metadata, dict) else None


def preflight_argv(argv: list[str], skip_missing: bool) -> list[str]:
    """Check the MedS-Bench part of an lm_eval argv before any model loads; return the argv to run.

    Raises:
        preflight.PreflightError: the lines to print, when the run cannot start.
    """
    where = _option(argv, "--tasks", "-t")
    if where is None:
        return argv
    index, value = where
    prefix, _, tasks = value.rpartition("=") if value.startswith("-") else ("", "", value)
    entries = preflight.rewrite_task_entries(e.strip() for e in tasks.split(",") if e.strip())
    selected = preflight.selected_tasks(entries)
    if selected:
        check = preflight.check_data(selected, resolve_source(_metadata_data_dir(argv)))
        if check.malformed or (check.missing and not skip_missing):
            raise preflight.PreflightError("\n".join([*check.problem_lines(), check.closing_line()]))
        if check.missing:
            missing = {info.name for info, _ in check.missing}
            entries = preflight.prune(entries, missing)
            if not [e for e in entries if e]:
                raise preflight.PreflightError("--skip-missing left no task to run: " + check.closing_line())
            skipped = [info.name for info, _ in check.missing]
            print(f"meds-bench: skipping {len(skipped)} task(s) without data: {', '.join(skipped)}", file=sys.stderr)
            argv = [*argv, "--metadata", json.dumps({"meds_bench_skipped": skipped})]
        shots = _option(argv, "--num_fewshot", "-f")
        if shots is not None:
            raw = shots[1].split("=", 1)[-1]
            if raw.isdigit():
                preflight.check_fewshot(int(raw), check.n_instances)
    argv = list(argv)
    argv[index] = (prefix + "=" if prefix else "") + ",".join(entries)
    return argv


def _cmd_eval(args: argparse.Namespace, passthrough: list[str]) -> int:
    from lm_eval.__main__ import cli_evaluate

    argv = eval_argv(passthrough, args.data_dir)
    try:
        argv = preflight_argv(argv, args.skip_missing)
    except preflight.PreflightError as err:
        for line in str(err).splitlines():
            print(f"meds-bench: {line}", file=sys.stderr)
        return 2
    adapters = _register_models()
    if adapters is not None:
        try:
            adapters.check_model_args_argv(argv)
        except adapters.SecretInArgsError as err:
            print(f"meds-bench: {err}", file=sys.stderr)
            return 2
    sys.argv = ["lm_eval", *argv]
    try:
        cli_evaluate()
    except Exception as err:
        if adapters is None or not isinstance(err, adapters.CredentialedDataError):
            raise
        print(f"meds-bench: {err}", file=sys.stderr)  # refused before any request was sent
        return 2
    if adapters is not None:
        unanswered = adapters.failed_requests()
        if unanswered["failed"] or unanswered["skipped_budget"]:
            print(
                f"meds-bench: {unanswered['failed']} API request(s) failed and {unanswered['skipped_budget']} were not "
                "sent (budget); they scored 0. Rerun the same command: answered requests come from the cache.",
                file=sys.stderr,
            )
            return 3
    return 0


def _register_models():
    """Import our API model classes so that ``--model meds-openai`` / ``meds-anthropic`` resolve.

    lm-eval 0.4.13 loads no plugin entry points, hence the import. Returns the module, or None
    when the ``api`` extra is not installed (lm_eval then reports unknown models itself).
    """
    try:
        import meds_bench_adapters
    except ImportError:
        return None
    return meds_bench_adapters


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meds-bench", description="MedS-Bench for lm-evaluation-harness")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("tasks-path", help="print the directory to pass to lm_eval --include_path").set_defaults(
        func=_cmd_tasks_path
    )
    sub.add_parser("sample-data-path", help="print the bundled synthetic sample-data directory").set_defaults(
        func=_cmd_sample_data_path
    )
    p_list = sub.add_parser("list", help="tasks, MedS ids, categories, metrics and data presence")
    p_list.add_argument("--data-dir", help=f"data directory (default: ${DATA_DIR_ENV}, else the hub)")
    p_list.set_defaults(func=_cmd_list)
    p_val = sub.add_parser("validate-data", help="report present, missing and malformed task files of DIR")
    p_val.add_argument("directory", help="directory laid out like the hub repo (<Folder>/<file>)")
    p_val.set_defaults(func=_cmd_validate_data)
    p_eval = sub.add_parser(
        "eval",
        help="run lm_eval with the MedS-Bench tasks included; other flags go to lm_eval",
        description="Every flag not listed here is passed to lm_eval unchanged.",
    )
    p_eval.add_argument("--data-dir", help=f"data directory for this run (sets ${DATA_DIR_ENV})")
    p_eval.add_argument(
        "--skip-missing",
        action="store_true",
        help="run the selected tasks that have data, record the others as skipped in the results",
    )
    p_eval.set_defaults(func=_cmd_eval, passthrough=True)
    add_download_parser(sub)
    add_data_parser(sub)
    add_score_parser(sub)
    add_report_parser(sub)
    add_export_parser(sub)
    add_batches_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        if getattr(args, "passthrough", False):
            return args.func(args, rest)
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return args.func(args)
    except DataError as err:
        print(f"meds-bench: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
