"""What ``meds-bench eval`` checks before any model is loaded.

- ``--tasks``: MedS ids (``task52``) become task names; MedS-Bench names and patterns must match a
  task or group; entries of other suites pass through untouched.
- Data: every selected task's file is located and parsed (the parsed tasks are kept for the run,
  so nothing is read twice); each missing or malformed file is one line, then one closing line
  says what to do. ``--skip-missing`` instead keeps every group whose tasks are all present,
  descends into the others, and drops missing tasks.
- ``--num_fewshot``: refused when a selected task cannot supply that many cases.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from meds_bench.catalog import OPEN_GROUP, OVERALL_GROUP, TASKS, TaskInfo, get_task, group_tree, leaves
from meds_bench.data import DataError, DataSource, locate, preload

_MEDS_ID = re.compile(r"task\d+", re.IGNORECASE)


class PreflightError(ValueError):
    """A selection that cannot run; the message is one or more lines meant for the user."""


def _known_names() -> list[str]:
    return [t.name for t in TASKS] + list(group_tree())


def _is_ours(entry: str) -> bool:
    return entry.startswith(OVERALL_GROUP) or any(fnmatch.fnmatchcase(n, entry) for n in _known_names())


def rewrite_task_entries(entries: Iterable[str]) -> list[str]:
    """``--tasks`` entries with MedS ids replaced by task names; unknown MedS-Bench names refused."""
    out = []
    for entry in entries:
        if _MEDS_ID.fullmatch(entry):
            try:
                entry = get_task(entry).name
            except KeyError:
                raise PreflightError(f"unknown MedS id {entry!r}: see `meds-bench list` for the 53 ids") from None
        elif entry.startswith(OVERALL_GROUP) and not any(fnmatch.fnmatchcase(n, entry) for n in _known_names()):
            raise PreflightError(
                f"unknown task {entry!r}: no MedS-Bench task or group matches it "
                f"(`meds-bench list` shows the tasks; groups are {OVERALL_GROUP}, {OPEN_GROUP} and "
                f"{OVERALL_GROUP}-<category>)"
            )
        out.append(entry)
    return out


def selected_tasks(entries: Iterable[str]) -> list[TaskInfo]:
    """The MedS-Bench tasks an lm-eval ``--tasks`` list selects (groups and patterns expanded)."""
    names: dict[str, None] = {}
    for entry in entries:
        if not _is_ours(entry):
            continue
        for name in [n for n in _known_names() if fnmatch.fnmatchcase(n, entry)]:
            names.update(dict.fromkeys(leaves(name)))
    return [get_task(n) for n in names]


@dataclass
class DataCheck:
    """Outcome of checking the data of selected tasks."""

    n_instances: dict[str, int] = field(default_factory=dict)
    missing: list[tuple[TaskInfo, str]] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)

    def problem_lines(self) -> list[str]:
        return [message for _, message in self.missing] + self.malformed

    def closing_line(self) -> str:
        credentialed = sum(info.credentialed for info, _ in self.missing)
        open_missing = len(self.missing) - credentialed
        todo = []
        if open_missing:
            todo.append(f"get the {open_missing} open task file(s) with `meds-bench download --dir DIR`")
        if credentialed:
            todo.append(
                f"build the {credentialed} PhysioNet-derived task(s) with `meds-bench data build` "
                "(README: 'Credentialed tasks')"
            )
            todo.append(f"run the open tasks only with `--tasks {OPEN_GROUP}`")
        todo.append("or add --skip-missing to run what is present")
        total = len(self.n_instances) + len(self.missing) + len(self.malformed)
        problems = f"{len(self.missing)} of {total} selected task(s) have no data"
        if self.malformed:
            problems += f" and {len(self.malformed)} file(s) are malformed (fix or replace them)"
        return f"{problems}: " + "; ".join(todo)


def check_data(tasks: Iterable[TaskInfo], source: DataSource) -> DataCheck:
    """Locate and parse every task's file in ``source``; parsed tasks are kept for the run."""
    result = DataCheck()
    for info in tasks:
        try:
            locate(info, source)
        except DataError as err:
            result.missing.append((info, str(err)))
            continue
        try:
            result.n_instances[info.name] = preload(info, source)
        except DataError as err:
            result.malformed.append(str(err))
    return result


def prune(entries: Iterable[str], missing: set[str]) -> list[str]:
    """The ``--tasks`` entries with missing tasks removed: a group stays whole only if all its tasks are present."""

    def keep(name: str) -> list[str]:
        if not set(leaves(name)) & missing:
            return [name]
        return [kept for member in group_tree().get(name, []) for kept in keep(member)]

    out: list[str] = []
    for entry in entries:
        if not _is_ours(entry):
            out.append(entry)
            continue
        for name in [n for n in _known_names() if fnmatch.fnmatchcase(n, entry)]:
            out.extend(k for k in keep(name) if k not in out)
    return out


def check_fewshot(num_fewshot: int, n_instances: dict[str, int]) -> None:
    """Refuse a shot count larger than a selected task can supply (the query is never its own case)."""
    if not n_instances:
        return
    name, smallest = min(n_instances.items(), key=lambda item: item[1])
    if num_fewshot > smallest - 1:
        info = get_task(name)
        raise PreflightError(
            f"--num_fewshot {num_fewshot} is more than {name} ({info.meds_id}) can supply: it has {smallest} "
            f"instances, so at most {smallest - 1} cases besides the query; use --num_fewshot {smallest - 1} or less"
        )
