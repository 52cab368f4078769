"""Reading what ``meds-bench judge --output DIR`` wrote, for ``report``, ``compare`` and ``export-submission``.

``DIR/judge_results.json`` gives, per judged run, each task's jury score (0-100) with its standard error, 95% CI,
Krippendorff's alpha, each judge's mean, documents and invalid replies; each category's jury score; and the
controls. ``DIR/judgements.jsonl`` gives one line per (run, task, doc_id, kind, judge); from its ``answer`` lines
with a score (``jury.SCORED_STATUSES``: ``ok``, and ``empty_answer`` at 0) this module forms each document's jury
score: the mean of their ``score`` (each the mean of one judge's criteria on 0-100; every judge of a task scores
the same criteria, so this is the mean over judges and criteria), and each judge's own score of the document. A
later line for the same (run, task, doc_id, kind, judge) replaces an earlier one.

Which judged run belongs to a run given to ``report``/``compare``/``export-submission`` (:meth:`JudgedRuns.find`):
the one whose recorded ``path`` (absolute since ``meds-bench judge`` records it so; an older relative one is
resolved against the current folder) is the run's results file or folder, a
folder holding it, or a folder inside the folder given; when several are, the one among them whose label is the
run's; with no such path, the one whose label is the run's. Several left: the command asks for ``--judged-run``.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meds_bench.catalog import get_task
from meds_bench.judge.jury import SCORED_STATUSES
from meds_bench.metrics.uncertainty import Z95, Interval, normal_interval
from meds_bench.text_files import NotJsonLineError, NotUtf8Error, read_json_lines, read_utf8

RESULTS_FILE = "judge_results.json"
JUDGEMENTS_FILE = "judgements.jsonl"
VERSION = 1
KINDS = ("answer", "reference_control", "swapped_control")
_FIX = "pass the --output folder of `meds-bench judge` (rerun it to rewrite the file)"


class JudgedInputError(ValueError):
    """A judged-runs folder that cannot be read, or a run it cannot be matched to; the message is one line
    naming the file (or flag) and what to do."""


@dataclass(frozen=True)
class JuryTask:
    """One task of a judged run: the jury score (mean over documents, 0-100), its standard error and 95% CI,
    Krippendorff's alpha between the judges, each judge's mean, documents judged and invalid replies."""

    task: str
    jury: float | None
    stderr: float | None
    ci: Interval | None
    alpha: float | None
    judges: dict[str, float | None]
    n: int
    invalid: int
    unanswered: int = 0  # judge requests that failed or were not sent (budget)


@dataclass(frozen=True)
class Control:
    """A control of one task: ``reference`` (the reference given as the answer must score at least
    ``threshold``), ``swapped`` (an answer judged against another document's reference must score at most
    ``threshold``) or ``length`` (the Spearman correlation of the jury score with the answer's length must be at
    most ``threshold``); ``score`` is None when no judgement of it was valid."""

    kind: str
    score: float | None
    threshold: float
    passed: bool
    n: int

    def text(self) -> str:
        """``reference 95.00 >= 75`` when passed, ``FAILED: reference scored 41.00 < 75`` when not."""
        sign = ">=" if self.kind == "reference" else "<="
        if self.passed:
            return f"{self.kind} {self.score:.2f} {sign} {self.threshold:g}"
        if self.score is None:
            return f"FAILED: {self.kind}: no valid judgement of its {self.n} document(s)"
        if self.kind == "length":
            return f"FAILED: scores follow answer length (Spearman {self.score:.2f} > {self.threshold:g})"
        failed_sign = "<" if self.kind == "reference" else ">"
        return f"FAILED: {self.kind} scored {self.score:.2f} {failed_sign} {self.threshold:g}"


@dataclass(frozen=True)
class LengthCheck:
    """Spearman correlation of the score with the answer's length, for the jury and for ROUGE-1 (None when
    undefined), over ``n`` documents; whether it passed is a :class:`Control` of kind ``length``."""

    jury: float | None
    rouge1: float | None
    n: int


@dataclass(frozen=True)
class DocJury:
    """One document's jury score (mean over the valid judgements, 0-100) and each judge's score of it."""

    score: float
    judges: dict[str, float]


@dataclass
class JudgedRun:
    """One judged run: per-task and per-category jury scores, controls and per-document scores."""

    label: str
    path: str | None
    model: str
    tasks: dict[str, JuryTask]
    categories: dict[str, tuple[float | None, tuple[str, ...]]]  # category -> (jury, its tasks)
    controls: dict[str, list[Control]]  # task -> its reference and swapped controls
    lengths: dict[str, LengthCheck]  # task -> length correlation check
    docs: dict[str, dict[str, DocJury]] = field(default_factory=dict)  # task -> str(doc_id) -> document

    def failed_controls(self) -> list[tuple[str, Control]]:
        """(task, control) of every failed control, in task order."""
        return [(task, c) for task, controls in self.controls.items() for c in controls if not c.passed]

    def failed_control_lines(self) -> list[str]:
        """``judged run LABEL: task52 meds_bench_rationale_en: FAILED: ...`` per failed control."""
        return [f"judged run {self.label}: {get_task(t).meds_id} {t}: {c.text()}" for t, c in self.failed_controls()]

    def category_interval(self, category: str) -> Interval | None:
        """95% CI of a category's jury score, the unweighted mean of its tasks' scores: normal, half-width
        1.96 * sqrt(sum of the tasks' squared standard errors) / k, clipped to 0-100; None without every one."""
        value, names = self.categories.get(category, (None, ()))
        errors = [self.tasks[t].stderr if t in self.tasks else None for t in names]
        if value is None or not errors or any(e is None for e in errors):
            return None
        return normal_interval(value, Z95 * math.sqrt(sum(e**2 for e in errors)) / len(errors))  # type: ignore[operator]


@dataclass
class JudgedRuns:
    """Everything one ``meds-bench judge --output DIR`` wrote."""

    directory: Path
    judges: tuple[str, ...]
    runs: dict[str, JudgedRun]

    def find(self, results: Path, label: str | None = None, chosen: str | None = None) -> JudgedRun | None:
        """The judged run of the run at ``results`` (labelled ``label``), by the rule in the module docstring,
        or the run labelled ``chosen`` (``--judged-run``); None when none matches.

        Raises:
            JudgedInputError: ``chosen`` is not a run of DIR, or several runs match.
        """
        if chosen is not None:
            if chosen not in self.runs:
                raise JudgedInputError(
                    f"--judged-run {chosen}: no such run in {self.directory / RESULTS_FILE} "
                    f"(its runs: {', '.join(self.runs)})"
                )
            return self.runs[chosen]
        target = results.resolve()
        by_path = [r for r in self.runs.values() if r.path and _related(Path(r.path).resolve(), target)]
        if len(by_path) > 1:
            by_path = [r for r in by_path if r.label == label] or by_path
        found = by_path or [r for r in self.runs.values() if r.label == label]
        if len(found) > 1:
            raise JudgedInputError(
                f"{results}: judged runs {', '.join(r.label for r in found)} of {self.directory} all match it; "
                "name the one meant with --judged-run"
            )
        return found[0] if found else None

    def require(self, results: Path, chosen: str | None, flag: str) -> JudgedRun:
        """:meth:`find` (by path only, or ``chosen``) that raises when nothing matches; ``flag`` is the
        ``--judged-run`` usage the message suggests.

        Raises:
            JudgedInputError: no judged run, or several, match.
        """
        match = self.find(results, None, chosen)
        if match is None:
            runs = ", ".join(f"{r.label} ({r.path})" for r in self.runs.values())
            raise JudgedInputError(
                f"{self.directory}: no judged run was made from {results} (its runs: {runs}); pass {flag}"
            )
        return match


def _related(recorded: Path, given: Path) -> bool:
    return recorded == given or recorded in given.parents or given in recorded.parents


# --- judge_results.json ---------------------------------------------------------------------------


class _Reader:
    """Typed field access into judge_results.json; each failure is one line naming the file and field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def bad(self, where: str, expected: str) -> JudgedInputError:
        return JudgedInputError(f"{self.path}: field '{where}': expected {expected}; {_FIX}")

    def obj(self, parent: Mapping[str, Any], key: str, where: str, optional: bool = False) -> dict[str, Any]:
        value = parent.get(key, {} if optional else None)
        if not isinstance(value, dict):
            raise self.bad(where, "an object")
        return value

    def number(self, parent: Mapping[str, Any], key: str, where: str) -> float | None:
        value = parent.get(key)
        if value is None:
            return None
        if not _is_number(value):
            raise self.bad(where, "a number or null")
        return float(value)

    def count(self, parent: Mapping[str, Any], key: str, where: str) -> int:
        value = parent.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.bad(where, "a count (0 or more)")
        return value

    def task(self, name: str, where: str) -> str:
        try:
            return get_task(name).name
        except KeyError:
            raise self.bad(where, "a MedS-Bench task name") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _jury_task(read: _Reader, name: str, entry: Any, where: str) -> JuryTask:
    if not isinstance(entry, dict):
        raise read.bad(where, "an object")
    ci = entry.get("jury_ci")
    if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(map(_is_number, ci))):
        raise read.bad(f"{where}.jury_ci", "[low, high] or null")
    judges = read.obj(entry, "judges", f"{where}.judges", optional=True)
    return JuryTask(
        task=name,
        jury=read.number(entry, "jury", f"{where}.jury"),
        stderr=read.number(entry, "jury_stderr", f"{where}.jury_stderr"),
        ci=(float(ci[0]), float(ci[1])) if ci is not None else None,
        alpha=read.number(entry, "alpha", f"{where}.alpha"),
        judges={str(j): read.number(judges, j, f"{where}.judges.{j}") for j in judges},
        n=read.count(entry, "n", f"{where}.n"),
        invalid=read.count(entry, "invalid", f"{where}.invalid"),
        unanswered=read.count(entry, "unanswered", f"{where}.unanswered"),
    )


def _controls(read: _Reader, entry: dict[str, Any], where: str) -> tuple[list[Control], LengthCheck | None]:
    controls = []
    for kind in ("reference", "swapped"):
        if kind not in entry:
            continue
        c = read.obj(entry, kind, f"{where}.{kind}")
        threshold = read.number(c, "threshold", f"{where}.{kind}.threshold")
        passed = c.get("passed")
        if threshold is None or not isinstance(passed, bool):
            raise read.bad(f"{where}.{kind}", "score, threshold (a number) and passed (true/false)")
        score = read.number(c, "score", f"{where}.{kind}.score")
        controls.append(Control(kind, score, threshold, passed, read.count(c, "n", f"{where}.{kind}.n")))
    length = None
    if "length_spearman" in entry:
        s = read.obj(entry, "length_spearman", f"{where}.length_spearman")
        length = LengthCheck(
            read.number(s, "jury", f"{where}.length_spearman.jury"),
            read.number(s, "rouge1", f"{where}.length_spearman.rouge1"),
            read.count(s, "n", f"{where}.length_spearman.n"),
        )
        threshold = read.number(s, "threshold", f"{where}.length_spearman.threshold")
        if isinstance(s.get("passed"), bool) and threshold is not None:
            controls.append(Control("length", length.jury, threshold, s["passed"], length.n))
    return controls, length


def _judged_run(read: _Reader, label: str, entry: Any) -> JudgedRun:
    where = f"runs.{label}"
    if not isinstance(entry, dict):
        raise read.bad(where, "an object")
    path = entry.get("path")
    if path is not None and not isinstance(path, str):
        raise read.bad(f"{where}.path", "a string or null")
    tasks = {}
    for name, task in read.obj(entry, "tasks", f"{where}.tasks").items():
        key = read.task(name, f"{where}.tasks.{name}")
        tasks[key] = _jury_task(read, key, task, f"{where}.tasks.{name}")
    categories = {}
    for category, cat in read.obj(entry, "categories", f"{where}.categories", optional=True).items():
        if not isinstance(cat, dict) or not isinstance(cat.get("tasks"), list):
            raise read.bad(f"{where}.categories.{category}", "an object with jury and tasks (a list)")
        members = tuple(read.task(str(t), f"{where}.categories.{category}.tasks") for t in cat["tasks"])
        categories[str(category)] = (read.number(cat, "jury", f"{where}.categories.{category}.jury"), members)
    controls, lengths = {}, {}
    for name, task in read.obj(entry, "controls", f"{where}.controls", optional=True).items():
        key = read.task(name, f"{where}.controls.{name}")
        if not isinstance(task, dict):
            raise read.bad(f"{where}.controls.{name}", "an object")
        controls[key], length = _controls(read, task, f"{where}.controls.{name}")
        if length is not None:
            lengths[key] = length
    return JudgedRun(label, path, str(entry.get("model") or ""), tasks, categories, controls, lengths)


def _read_results(path: Path) -> tuple[tuple[str, ...], dict[str, JudgedRun]]:
    try:
        raw = json.loads(read_utf8(path))
    except FileNotFoundError:
        raise JudgedInputError(f"{path}: no such file; {_FIX}") from None
    except NotUtf8Error as err:
        raise JudgedInputError(str(err)) from None
    except OSError as err:
        raise JudgedInputError(f"{path}: cannot read ({err})") from None
    except json.JSONDecodeError as err:
        raise JudgedInputError(f"{path}: not valid JSON ({err.msg}, line {err.lineno}); {_FIX}") from None
    read = _Reader(path)
    if not isinstance(raw, dict):
        raise read.bad("version", f"a judge results object (version {VERSION})")
    if raw.get("version") != VERSION:
        raise JudgedInputError(
            f"{path}: field 'version': {raw.get('version')!r}, this meds-bench reads version {VERSION}; "
            "judge again with this meds-bench"
        )
    judges = raw.get("judges")
    if not isinstance(judges, list) or not all(isinstance(j, dict) and isinstance(j.get("label"), str) for j in judges):
        raise read.bad("judges", "a list of objects with a label")
    runs = {str(label): _judged_run(read, str(label), entry) for label, entry in read.obj(raw, "runs", "runs").items()}
    return tuple(j["label"] for j in judges), runs


# --- judgements.jsonl -----------------------------------------------------------------------------


def _judgement(obj: Any, where: str, runs: Mapping[str, JudgedRun]) -> tuple[tuple[str, str, str, str], float] | None:
    """The key (run, task, doc_id, judge) and score of a valid ``answer`` line; None for other lines."""
    if not isinstance(obj, dict):
        raise JudgedInputError(f"{where}: expected a JSON object (one judgement); {_FIX}")
    for name in ("run", "task", "kind", "judge", "status"):
        if not isinstance(obj.get(name), str):
            raise JudgedInputError(f"{where}: field '{name}' missing or not a string; {_FIX}")
    doc_id = obj.get("doc_id")
    if isinstance(doc_id, bool) or not isinstance(doc_id, (int, str)):
        raise JudgedInputError(f"{where}: field 'doc_id' missing or not an integer; {_FIX}")
    if obj["kind"] not in KINDS:
        raise JudgedInputError(f"{where}: field 'kind': {obj['kind']!r} is not one of {', '.join(KINDS)}; {_FIX}")
    if obj["run"] not in runs:
        raise JudgedInputError(
            f"{where}: run {obj['run']!r} is not in {RESULTS_FILE} (an interrupted judge run? rerun "
            "`meds-bench judge` with the same --output to finish it)"
        )
    try:
        task = get_task(obj["task"]).name
    except KeyError:
        raise JudgedInputError(f"{where}: field 'task': {obj['task']!r} is not a MedS-Bench task; {_FIX}") from None
    if obj["kind"] != "answer" or obj["status"] not in SCORED_STATUSES:
        return None
    score = obj.get("score")
    if not _is_number(score) or not 0 <= score <= 100:
        raise JudgedInputError(f"{where}: field 'score': expected a number from 0 to 100 on a scored line; {_FIX}")
    return (obj["run"], task, str(doc_id), obj["judge"]), float(score)


def _read_judgements(path: Path, runs: dict[str, JudgedRun]) -> None:
    """Fill each run's ``docs`` from the ``ok`` answer lines of ``path``."""
    scores: dict[tuple[str, str, str, str], float] = {}
    try:
        for number, obj in read_json_lines(path):
            found = _judgement(obj, f"{path}:{number}", runs)
            if found is not None:
                key, score = found
                scores.pop(key, None)  # a later line replaces an earlier one, and takes its place in the order
                scores[key] = score
    except FileNotFoundError:
        raise JudgedInputError(f"{path}: no such file; {_FIX}") from None
    except (NotUtf8Error, NotJsonLineError) as err:
        raise JudgedInputError(f"{err}; {_FIX}") from None
    except OSError as err:
        raise JudgedInputError(f"{path}: cannot read ({err})") from None
    per_doc: dict[tuple[str, str, str], dict[str, float]] = {}
    for (run, task, doc_id, judge), score in scores.items():
        per_doc.setdefault((run, task, doc_id), {})[judge] = score
    for (run, task, doc_id), judges in per_doc.items():
        runs[run].docs.setdefault(task, {})[doc_id] = DocJury(statistics.fmean(judges.values()), judges)


def load_judged(directory: Path) -> JudgedRuns:
    """The judged runs of ``directory`` (``meds-bench judge --output DIR``).

    Raises:
        JudgedInputError: a missing, unreadable or malformed file; one line naming it and what to do.
    """
    if not directory.is_dir():
        raise JudgedInputError(f"{directory}: no such folder; {_FIX}")
    judges, runs = _read_results(directory / RESULTS_FILE)
    _read_judgements(directory / JUDGEMENTS_FILE, runs)
    return JudgedRuns(directory, judges, runs)
