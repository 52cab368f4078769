"""``meds-bench`` command line: where the tasks are, what data is present, and running lm_eval."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from meds_bench import hub, preflight, sample_data_path, tasks_path, vllm_engine
from meds_bench.batches import add_batches_parser
from meds_bench.catalog import CATEGORIES, TASKS
from meds_bench.compare import add_compare_parser
from meds_bench.data import (
    DATA_DIR_ENV,
    DATA_DIR_METADATA_KEY,
    DataError,
    locate,
    parse_task,
    preloaded,
    read_task_file,
    resolve_source,
    task_handover,
)
from meds_bench.download import add_download_parser
from meds_bench.export import add_export_parser
from meds_bench.judge.agreement import add_judge_agreement_parser
from meds_bench.judge.cli import add_judge_parser
from meds_bench.metrics.rescore import add_score_parser
from meds_bench.physionet import add_data_parser
from meds_bench.report import add_report_parser
from meds_bench.submission import add_export_submission_parser


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
        rows.append((info.name, info.meds_id, CATEGORIES[info.category].title, metrics, _presence(info, source)))
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


def _lm_eval_settings(namespace: argparse.Namespace) -> dict[str, Any]:
    """What lm-eval will run with: its ``--config`` YAML overlaid by the command line (lm-eval's precedence)."""
    from lm_eval.config.evaluate_config import EvaluatorConfig
    from lm_eval.utils import simple_parse_args_string

    settings: dict[str, Any] = {}
    if namespace.config:
        try:
            settings = EvaluatorConfig.load_yaml_config(namespace.config)
        except (OSError, TypeError, ValueError) as err:
            raise preflight.PreflightError(f"--config: {err}") from None
    settings.update({k: v for k, v in vars(namespace).items() if v or v == 0})
    for key in ("metadata", "model_args", "gen_kwargs"):
        if isinstance(settings.get(key), str):
            settings[key] = simple_parse_args_string(settings[key])
    return settings


def _task_entries(tasks: str | list[str] | None) -> list[str]:
    """A ``--tasks`` value (``a,b``, ``a b`` or a YAML list) as one list of entries."""
    if tasks is None:
        raise preflight.PreflightError("no tasks: give --tasks (or `tasks:` in the --config file)")
    items = tasks.split(",") if isinstance(tasks, str) else [p for item in tasks for p in str(item).split(",")]
    return [item.strip() for item in items if item.strip()]


def _parse_lm_eval_run(passthrough: Sequence[str]) -> argparse.Namespace:
    """``passthrough`` parsed by lm-eval's own ``run`` parser, given as an explicit argv (``sys.argv`` untouched).

    Nothing to parse prints lm-eval's ``run`` help and exits 0, as ``lm-eval run`` does.
    """
    from lm_eval._cli.run import Run

    argv = list(passthrough)
    if argv and argv[0] == "run":
        argv = argv[1:]
    parser = argparse.ArgumentParser(prog="lm-eval")
    Run.create(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return parser.parse_args(["run", *(argv or ["--help"])])


def eval_namespace(
    passthrough: Sequence[str], data_dir: str | None = None, skip_missing: bool = False
) -> argparse.Namespace:
    """lm-eval's own ``run`` namespace for ``passthrough``, edited for MedS-Bench and checked before any model loads.

    The edits: our task folder as ``include_path``; MedS ids rewritten to task names; ``data_dir`` (and,
    with ``skip_missing``, the skipped tasks) in the task metadata; ``--apply_chat_template`` on for our API
    models (the conversation every chat path builds, not the whole prompt as one user message). ``--model``
    must be registered with lm-eval and its ``--model_args`` free of secrets, ``--num_fewshot`` and
    ``--gen_kwargs`` well-formed; every selected MedS-Bench task's file is located and parsed, and
    ``--num_fewshot`` checked against the smallest task; under ``--model vllm`` a given ``max_model_len``
    must hold every task's longest prompt and its answer (:func:`vllm_engine.check_context`).

    Raises:
        preflight.PreflightError: the lines to print, when the run cannot start.
        SystemExit: lm-eval's parser refused the arguments (it printed why).
    """
    namespace = _parse_lm_eval_run(passthrough)
    settings = _lm_eval_settings(namespace)
    if settings.get("include_path"):
        raise preflight.PreflightError(
            "meds-bench eval adds --include_path itself; use lm_eval directly for other task folders"
        )
    adapters = _register_models()
    preflight.check_model(settings.get("model"))
    if adapters is not None:
        from meds_bench_adapters.guard import check_no_secrets

        try:
            check_no_secrets(settings.get("model_args") or {})
        except adapters.SecretInArgsError as err:
            raise preflight.PreflightError(str(err)) from None
    chat_api = adapters is not None and adapters.sends_chat_messages(settings.get("model"))
    if chat_api and not settings.get("apply_chat_template"):
        namespace.apply_chat_template = True
        print(
            f"meds-bench: --model {settings['model']}: --apply_chat_template is on (system message: the task "
            "definition and cases; user message: the query), the conversation every chat path builds",
            file=sys.stderr,
        )
    if settings.get("model") == "vllm":
        vllm_engine.prepare(settings.get("model_args"))
    preflight.check_num_fewshot(settings.get("num_fewshot"))
    preflight.check_gen_kwargs(settings.get("gen_kwargs"))
    entries = preflight.rewrite_task_entries(_task_entries(settings.get("tasks")))
    metadata = dict(settings.get("metadata") or {})
    if data_dir:
        metadata[DATA_DIR_METADATA_KEY] = str(Path(data_dir).expanduser().resolve())
    selected = preflight.selected_tasks(entries)
    if selected:
        source = resolve_source(metadata.get(DATA_DIR_METADATA_KEY))
        check = preflight.check_data(selected, source)
        if check.malformed or (check.missing and not skip_missing):
            raise preflight.PreflightError("\n".join([*check.problem_lines(), check.closing_line()]))
        if check.missing:
            entries = preflight.prune(entries, {info.name for info, _ in check.missing})
            if not entries:
                raise preflight.PreflightError("--skip-missing left no task to run: " + check.closing_line())
            skipped = [info.name for info, _ in check.missing]
            print(f"meds-bench: skipping {len(skipped)} task(s) without data: {', '.join(skipped)}", file=sys.stderr)
            metadata["meds_bench_skipped"] = skipped
        if isinstance(settings.get("num_fewshot"), int):
            preflight.check_fewshot(settings["num_fewshot"], check.n_instances)
        if settings.get("model") == "vllm":
            present = [preloaded(info, source) for info in selected if info.name in check.n_instances]
            vllm_engine.check_context(settings, present)
    namespace.include_path = str(tasks_path())
    namespace.tasks = entries
    namespace.metadata = metadata or None
    return namespace


def _cmd_eval(args: argparse.Namespace, passthrough: list[str]) -> int:
    with task_handover():  # the pre-flight's parsed task files go to this run's task build, and no further
        return _run_eval(args, passthrough)


def _run_eval(args: argparse.Namespace, passthrough: list[str]) -> int:
    try:
        namespace = eval_namespace(passthrough, args.data_dir, args.skip_missing)
    except preflight.PreflightError as err:
        for line in str(err).splitlines():
            print(f"meds-bench: {line}", file=sys.stderr)
        return 2
    adapters = _register_models()
    from lm_eval._cli import HarnessCLI
    from lm_eval.utils import setup_logging

    from meds_bench.hub_kernels import hub_kernels_off_when_offline

    setup_logging()
    hub_kernels_off_when_offline()
    # The adapters made by this evaluation count their unanswered requests in a tally of its own.
    with adapters.evaluation() if adapters is not None else nullcontext() as tally:
        try:
            HarnessCLI().execute(namespace)
        except SystemExit as err:  # batch=true that cannot run as asked: its message is one line
            if adapters is None or not isinstance(err, adapters.BatchModeError):
                raise
            print(err, file=sys.stderr)
            return 2
        except Exception as err:
            if adapters is None or not isinstance(err, adapters.USER_ERRORS):
                raise
            print(f"meds-bench: {err}", file=sys.stderr)  # a bad model argument, or a failure no rerun can fix
            return 4 if isinstance(err, adapters.RunStopped) else 2
    return _unanswered_exit(tally)


def _unanswered_exit(tally) -> int:
    """Exit 3 with one line when API requests of the run got no answer (how many per task), else 0."""
    counts = tally.snapshot() if tally is not None else {}
    if not any(counts.values()):
        return 0
    parts = []
    if counts["failed"]:
        parts.append(f"{counts['failed']} API request(s) failed (rerun the same command: answers come from the cache)")
    if counts["skipped_budget"]:
        parts.append(f"{counts['skipped_budget']} were not sent (max_cost_usd reached)")
    if counts["output_limit"]:
        parts.append(
            f"{counts['output_limit']} replies had no answer text because thinking used the output allowance "
            "(raise reasoning_tokens or lower reasoning_effort)"
        )
    per_task = ", ".join(f"{task}: {n}" for task, n in tally.per_task().items())
    print(f"meds-bench: {'; '.join(parts)}; they scored 0. Unanswered per task: {per_task}.", file=sys.stderr)
    return 3


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
        description="Every other flag is parsed by lm-eval's own run parser (`lm_eval run --help` lists them).",
    )
    p_eval.add_argument(
        "--data-dir", help=f"data directory for this run (goes to the tasks as metadata {DATA_DIR_METADATA_KEY})"
    )
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
    add_compare_parser(sub)
    add_export_submission_parser(sub)
    add_batches_parser(sub)
    add_judge_parser(sub)
    add_judge_agreement_parser(sub)
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
