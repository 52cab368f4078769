"""What ``meds-bench eval`` checks before any model is loaded.

- ``--tasks``: MedS ids (``task52``) become task names; MedS-Bench names and patterns must match a
  task or group; entries of other suites pass through untouched.
- Data: every selected task's file is located and parsed (the parsed tasks are kept for the run,
  so nothing is read twice); each missing or malformed file is one line, then one closing line
  says what to do. ``--skip-missing`` instead keeps every group whose tasks are all present,
  descends into the others, and drops missing tasks.
- ``--num_fewshot``: refused when negative, or when a selected task cannot supply that many cases.
- ``--model``: refused when lm-eval's model registry does not hold the name (the closest names are given).
- ``--gen_kwargs``: the generation settings every model reads must have values of their kind.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
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
            todo.append(f"get the {open_missing} open task file(s) with `meds-bench download --output DIR`")
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
    """Locate and parse every task's file in ``source``; inside ``data.task_handover`` they are kept for the run."""
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


def check_num_fewshot(num_fewshot: object) -> None:
    """Refuse a shot count that is not a whole number of 0 or more (lm-eval would run a negative one 0-shot)."""
    if num_fewshot is None:
        return
    if isinstance(num_fewshot, bool) or not isinstance(num_fewshot, int) or num_fewshot < 0:
        raise PreflightError(
            f"--num_fewshot {num_fewshot}: must be a whole number of 0 or more (0 runs zero-shot; leave it out "
            "for each task's default)"
        )


def check_model(name: object) -> None:
    """Refuse a ``--model`` that lm-eval's model registry does not hold, naming the closest registered names.

    Our API models must be registered first (``meds_bench.cli`` imports them); None is lm-eval's default, hf.
    """
    import lm_eval.models  # noqa: F401 - registers lm-eval's own names (their modules load lazily)
    from lm_eval.api.registry import model_registry

    if name is None or str(name) in model_registry:
        return
    known = sorted(model_registry)
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.6)
    said = [f"closest registered names: {', '.join(close)}"] if close else []
    if "/" in str(name):  # a hub id given as the model type
        said.append(f"a Hugging Face model goes in --model_args: --model hf --model_args pretrained={name}")
    elif not close:
        said.append(f"registered names: {', '.join(known)}")
    raise PreflightError(f"--model {name}: lm-eval has no model of this name; {'; '.join(said)}")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_whole(value: object) -> bool:
    return _is_number(value) and float(value).is_integer()  # lm-eval's parser reads "-1" as -1.0


# lm-eval hands --gen_kwargs to the model unchecked (max_gen_toks=abc ran and scored 0), so the settings every
# model reads are checked here; other keys are model-specific and pass through.
_GEN_KWARGS: dict[str, tuple[Callable[[object], bool], str, str]] = {
    "max_gen_toks": (lambda v: _is_whole(v) and v >= 1, "a whole number of 1 or more", "256"),
    "temperature": (lambda v: _is_number(v) and v >= 0, "a number of 0 or more", "0"),
    "top_p": (lambda v: _is_number(v) and 0 < v <= 1, "a number above 0 and at most 1", "0.95"),
    "top_k": (_is_whole, "a whole number", "50"),
}


def check_gen_kwargs(gen_kwargs: Mapping[str, object] | None) -> None:
    """Refuse ``--gen_kwargs`` whose ``max_gen_toks``, ``temperature``, ``top_p`` or ``top_k`` has a value of
    another kind (a word, a negative count)."""
    if gen_kwargs is not None and not isinstance(gen_kwargs, Mapping):
        raise PreflightError(f"--gen_kwargs {gen_kwargs}: expected key=value settings (e.g. max_gen_toks=256)")
    for key, value in (gen_kwargs or {}).items():
        if key in _GEN_KWARGS and not _GEN_KWARGS[key][0](value):
            _, kind, example = _GEN_KWARGS[key]
            raise PreflightError(f"--gen_kwargs {key}={value}: must be {kind} (e.g. --gen_kwargs {key}={example})")
