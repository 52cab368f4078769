"""``meds-bench compare RUN_A RUN_B [--output FILE]``: paired differences between two runs.

A run is an lm-eval output folder written with ``--log_samples`` (its ``samples_<task>_*.jsonl``),
one samples file, or a scored CSV/JSONL that ``meds-bench score`` reads (the release's
``task_id,input,GT,output`` CSV included). A pair is only formed of documents whose identity both
runs prove: the same target (lm-eval's ``target_hash``; the reference of a CSV/JSONL row) and, where
both runs carry it, the same prompt (lm-eval's ``prompt_hash``, the SHA-256 of the prompt sent; of the
``input`` column for CSV). Two lm-eval runs are paired by ``doc_id`` and each pair checked; a scored
file's rows have no id, so they are paired by content, and every document of the smaller side must
find its partner. Anything else (different targets or prompts, a row no document matches, rows the
content cannot tell apart) is refused. The statistics are in :mod:`meds_bench.metrics.paired`.
Documents an API gave no answer for (:mod:`meds_bench.api_status`) count as scored (0); each
task's line says how many each run had, with a warning when they differ.

With ``--judged DIR`` (or ``--judged DIR_A DIR_B``), the jury scores of ``meds-bench judge`` are compared
too (:func:`compare_jury`): per free-text task, over the documents paired as above that both runs were
judged on, with a paired bootstrap CI; per category whose judged tasks all have such documents.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meds_bench.api_status import is_unanswered
from meds_bench.catalog import CATEGORIES, TASKS, TaskInfo, category_group, get_task
from meds_bench.judge.judged import JudgedInputError, JudgedRun, load_judged
from meds_bench.metrics.paired import Paired, combine, holm, paired_corpus, paired_mean
from meds_bench.metrics.rescore import (
    ScoreInputError,
    load_groups,
    newest_samples_files,
    read_predictions,
    sample_record,
    task_from_samples_name,
)
from meds_bench.metrics.table import metrics_of
from meds_bench.metrics.uncertainty import corpus_statistic
from meds_bench.output_flag import add_output_option
from meds_bench.text_files import NotJsonLineError, NotUtf8Error, read_json_lines

ALPHA = 0.05


class CompareInputError(ValueError):
    """Runs that cannot be compared; the message names the file or document and what to do."""


@dataclass(frozen=True)
class Doc:
    """One scored document of a run.

    ``where`` is the ``file:line`` it was read from; ``target_hash`` and ``prompt_hash`` are lm-eval's
    ``hash_string`` of its target and of the prompt sent (None when the file does not carry them);
    ``numbered`` is True when its key in :data:`RunDocs` is lm-eval's ``doc_id``, False when it is only
    the row's position in a scored file; ``unanswered`` is True when an API gave no answer for it (known for
    samples files only).
    """

    where: str
    target_hash: str | None
    prompt_hash: str | None
    values: Mapping[str, Any]
    numbered: bool = True
    unanswered: bool = False


RunDocs = dict[str, dict[str, Doc]]  # task -> doc id -> document


def _hash(text: str) -> str:
    from lm_eval.utils import hash_string

    return hash_string(text)


def _samples_docs(path: Path, task: str) -> dict[str, Doc]:
    return _cached_samples_docs(path.resolve(), path.stat().st_mtime_ns, task)


# report --baseline reads each run for the marks, then for the headline; mtime_ns makes a rewritten file read again
@functools.lru_cache(maxsize=128)
def _cached_samples_docs(path: Path, mtime_ns: int, task: str) -> dict[str, Doc]:
    from meds_bench.metrics.scorers import score_doc
    from meds_bench.report.explorer import sample_prompt

    info = get_task(task)
    names = [m for m, _ in metrics_of(info)]
    docs: dict[str, Doc] = {}
    try:
        for k, obj in read_json_lines(path):
            where = f"{path}:{k}"
            if not isinstance(obj, dict) or "doc_id" not in obj:
                raise CompareInputError(f"{where}: field 'doc_id' missing: not an lm-eval samples line")
            if all(name in obj for name in names):  # the harness's own per-document values
                values = {name: obj[name] for name in names}
            else:
                try:
                    record = sample_record(obj, where, path, info)
                except ScoreInputError as err:
                    raise CompareInputError(str(err)) from None
                values = score_doc(record.doc, record.prediction, info)
            prompt = obj.get("prompt_hash") or (_hash(sample_prompt(obj)) if obj.get("arguments") else None)
            docs[str(obj["doc_id"])] = Doc(where, _target_hash(obj), prompt, values, unanswered=is_unanswered(obj))
    except (NotUtf8Error, NotJsonLineError) as err:
        raise CompareInputError(str(err)) from None
    return docs


def _target_hash(sample: Mapping[str, Any]) -> str | None:
    """lm-eval's ``target_hash`` of a samples line; computed from its ``target`` or its doc's gold when absent."""
    from meds_bench.metrics.closed_set import gold_string

    if sample.get("target_hash"):
        return str(sample["target_hash"])
    if sample.get("target") is not None:
        return _hash(str(sample["target"]))  # as lm-eval: our tasks' doc_to_target is the doc's output
    doc = sample.get("doc")
    return _hash(gold_string(doc)) if isinstance(doc, dict) and gold_string(doc) else None


def _scored_file_docs(path: Path) -> RunDocs:
    from meds_bench.metrics.closed_set import gold_string
    from meds_bench.metrics.rescore import score_records

    records = read_predictions(path)
    out: RunDocs = {}
    for record, values in zip(records, score_records(records), strict=True):
        docs = out.setdefault(record.task, {})
        text = record.doc.get("prompt")
        prompt = _hash(text) if isinstance(text, str) and text else None
        docs[str(len(docs))] = Doc(record.where, _hash(gold_string(record.doc)), prompt, values, numbered=False)
    return out


def load_docs(path: Path) -> RunDocs:
    """Per-task scored documents of a run folder (the newest samples file per task when the folder
    holds several runs), a samples file, or a scored CSV/JSONL."""
    if path.is_dir():
        files = sorted(path.rglob("samples_*.jsonl"))
        if not files:
            raise CompareInputError(f"{path}: no samples_*.jsonl below this folder (run lm_eval with --log_samples)")
    elif path.is_file():
        files = [path]
    else:
        raise CompareInputError(f"{path}: no such file or folder")
    if path.is_file() and task_from_samples_name(path) is None:
        try:
            return _scored_file_docs(path)
        except ScoreInputError as err:
            raise CompareInputError(str(err)) from None
    return {task: _samples_docs(file, task) for task, file in newest_samples_files(files).items()}


def docs_of_samples(files: Iterable[Path]) -> RunDocs:
    """Per-task scored documents of known samples files (the newest per task)."""
    return {task: _samples_docs(file, task) for task, file in newest_samples_files(files).items()}


def _paired_task(task: str, a: list[Doc], b: list[Doc]) -> Paired:
    from meds_bench.report.tables import task_score_metric

    info = get_task(task)
    metric = task_score_metric(info)
    aggregation = dict(metrics_of(info))[metric]
    corpus = corpus_statistic(aggregation)
    if corpus is None:
        return paired_mean([float(d.values[metric]) for d in a], [float(d.values[metric]) for d in b])
    matrix, statistic = corpus
    return paired_corpus(matrix([d.values[metric] for d in a]), matrix([d.values[metric] for d in b]), statistic)


_PASS_INSTEAD = (
    "compare runs of the same documents: lm-eval --log_samples output, or CSV/JSONL files carrying each "
    "document's reference and input (as export-submission writes them)"
)


def paired_documents(info: TaskInfo, a: Mapping[str, Doc], b: Mapping[str, Doc]) -> list[tuple[Doc, Doc]]:
    """The (A, B) pairs of one task's documents, in A's order; refuses documents it cannot identify.

    Two lm-eval runs pair by ``doc_id`` (each pair must have equal targets, and equal prompts);
    otherwise documents pair by content: the same target and, when every document of both runs carries
    one, the same prompt; every document of the run with fewer must then find its partner.

    Raises:
        CompareInputError: one line naming the first document that cannot be paired and what to pass.
    """
    for doc in (*a.values(), *b.values()):
        if doc.target_hash is None:
            raise CompareInputError(
                f"{doc.where}: no target (target_hash, target or doc) identifies this {info.meds_id} document; "
                f"{_PASS_INSTEAD}"
            )
    if all(d.numbered for d in (*a.values(), *b.values())):
        return _paired_by_id(info, a, b)
    return _paired_by_content(info, list(a.values()), list(b.values()))


def _paired_by_id(info: TaskInfo, a: Mapping[str, Doc], b: Mapping[str, Doc]) -> list[tuple[Doc, Doc]]:
    pairs = []
    for k, da in a.items():
        db = b.get(k)
        if db is None:
            continue
        if da.target_hash != db.target_hash:
            raise CompareInputError(
                f"{info.meds_id} document {k}: the two runs have different targets for it (they ran on "
                f"different data: {da.where}, {db.where}); compare runs made on the same task files"
            )
        if da.prompt_hash and db.prompt_hash and da.prompt_hash != db.prompt_hash:
            raise CompareInputError(
                f"{info.meds_id} document {k}: the two runs sent different prompts (other seed, shots, template or "
                "--apply_chat_template); compare runs made with the same prompts"
            )
        pairs.append((da, db))
    return pairs


def _paired_by_content(info: TaskInfo, a: list[Doc], b: list[Doc]) -> list[tuple[Doc, Doc]]:
    with_prompt = all(d.prompt_hash for d in (*a, *b))

    def key(doc: Doc) -> tuple[str | None, str | None]:
        return doc.target_hash, doc.prompt_hash if with_prompt else None

    partners: dict[tuple[str | None, str | None], list[Doc]] = {}
    for doc in b:
        partners.setdefault(key(doc), []).append(doc)
    if not with_prompt:  # equal targets without prompts do not tell documents apart (e.g. PubMedQA's "yes")
        in_a = Counter(map(key, a))
        for doc in a:
            found = partners.get(key(doc), [])
            if found and (in_a[key(doc)] > 1 or len(found) > 1):
                raise CompareInputError(
                    f"{doc.where}: several {info.meds_id} documents have this reference and the two runs carry "
                    f"no common prompt to tell them apart; {_PASS_INSTEAD}"
                )
    pairs, unmatched = [], []
    for doc in a:
        found = partners.get(key(doc))
        if found:
            pairs.append((doc, found.pop(0)))
        else:
            unmatched.append(doc)
    if len(b) < len(a):  # the smaller run must be matched whole
        left = {id(doc) for rest in partners.values() for doc in rest}
        unmatched = [doc for doc in b if id(doc) in left]
    if unmatched:
        what = "reference and prompt" if with_prompt else "reference"
        raise CompareInputError(
            f"{unmatched[0].where}: no {info.meds_id} document of the other run has the same {what}; {_PASS_INSTEAD}"
        )
    return pairs


def holm_rows(tasks: Mapping[str, Paired], categories: Mapping[str, Paired]) -> dict[str, list[dict[str, Any]]]:
    """The ``tasks`` and ``categories`` rows of a comparison, each with its p-value Holm-adjusted across its kind."""
    task_p = holm([t.p_value for t in tasks.values()]) if tasks else []
    category_p = holm([c.p_value for c in categories.values()]) if categories else []
    return {
        "tasks": [
            {"task": name, "meds_id": get_task(name).meds_id, **row.as_row(), "p_holm": p}
            for (name, row), p in zip(tasks.items(), task_p, strict=True)
        ],
        "categories": [
            {"category": name, **row.as_row(), "p_holm": p}
            for (name, row), p in zip(categories.items(), category_p, strict=True)
        ],
    }


def compare_docs(a: RunDocs, b: RunDocs) -> dict[str, Any]:
    """Paired differences (A - B) per task present in both, per complete category, and of the mean
    over complete categories; task p-values also Holm-adjusted across tasks."""
    tasks: dict[str, Paired] = {}
    for info in TASKS:
        if info.name not in a or info.name not in b:
            continue
        pairs = paired_documents(info, a[info.name], b[info.name])
        if pairs:
            tasks[info.name] = _paired_task(info.name, [da for da, _ in pairs], [db for _, db in pairs])
    if not tasks:
        raise CompareInputError("the two runs share no scored document of any MedS-Bench task")
    members = {g["group"]: g["task"] for g in load_groups()}
    categories: dict[str, Paired] = {}
    for category in CATEGORIES:
        names = members[category_group(category)]
        if all(n in tasks for n in names):
            categories[category] = combine([tasks[n] for n in names])
    return {
        **holm_rows(tasks, categories),
        "mean": {"categories": len(categories), **combine(list(categories.values())).as_row()} if categories else None,
    }


def _paired_jury(a: list[float], b: list[float]) -> Paired:
    """Paired difference of mean jury scores: a paired bootstrap CI and permutation p-value
    (:func:`~meds_bench.metrics.paired.paired_corpus` of the per-document ``[score, 1]`` sums)."""
    import numpy as np

    def matrix(scores: list[float]) -> np.ndarray:
        return np.column_stack([np.asarray(scores, dtype=float), np.ones(len(scores))])

    return paired_corpus(matrix(a), matrix(b), lambda sums: sums[..., 0] / sums[..., 1])


def compare_jury(a: RunDocs, b: RunDocs, jury_a: JudgedRun, jury_b: JudgedRun) -> dict[str, Any]:
    """Paired differences (A - B) of the jury scores per task both judged runs have: over the documents
    :func:`paired_documents` pairs that both were judged on (each document's jury score, 0-100); Holm-adjusted
    across tasks; per category whose judged tasks (as both judged runs list them) all have a row.

    Raises:
        CompareInputError: no free-text document was judged in both runs.
    """
    tasks: dict[str, Paired] = {}
    for info in TASKS:
        docs_a, docs_b = jury_a.docs.get(info.name, {}), jury_b.docs.get(info.name, {})
        if not docs_a or not docs_b or info.name not in a or info.name not in b:
            continue
        key_a = {id(d): k for k, d in a[info.name].items()}
        key_b = {id(d): k for k, d in b[info.name].items()}
        keys = [(key_a[id(da)], key_b[id(db)]) for da, db in paired_documents(info, a[info.name], b[info.name])]
        both = [(docs_a[ka].score, docs_b[kb].score) for ka, kb in keys if ka in docs_a and kb in docs_b]
        if both:
            tasks[info.name] = _paired_jury([x for x, _ in both], [y for _, y in both])
    if not tasks:
        raise CompareInputError(
            f"judged runs {jury_a.label} and {jury_b.label} share no judged document of the two runs; judge both "
            "runs on the same free-text tasks (meds-bench judge RUN_A RUN_B ...)"
        )
    categories: dict[str, Paired] = {}
    for category in CATEGORIES:
        members = jury_a.categories.get(category, (None, ()))[1]
        if members and members == jury_b.categories.get(category, (None, ()))[1] and all(t in tasks for t in members):
            categories[category] = combine([tasks[t] for t in members])
    return {"judged_a": jury_a.label, "judged_b": jury_b.label, **holm_rows(tasks, categories)}


def add_unanswered(result: dict[str, Any], a: RunDocs, b: RunDocs) -> list[str]:
    """Add ``unanswered_a`` and ``unanswered_b`` (the task's documents an API gave no answer for, in each
    run) to the task rows of :func:`compare_docs`' result; return the MedS ids of the tasks whose two runs
    left different documents unanswered."""
    differ = []
    for row in result["tasks"]:
        a_ids, b_ids = ({k for k, d in run.get(row["task"], {}).items() if d.unanswered} for run in (a, b))
        row["unanswered_a"], row["unanswered_b"] = len(a_ids), len(b_ids)
        if a_ids != b_ids:
            differ.append(row["meds_id"])
    return differ


UP, DOWN = " ▲", " ▼"


def significance_marks(result: Mapping[str, Any]) -> dict[str, str]:
    """Task and category-group names whose difference is significant (Holm-adjusted p < 0.05) ->
    ``" ▲"`` (A above B) or ``" ▼"``, for the leaderboard's ``--baseline`` marks."""
    marks = {}
    for row in result["tasks"]:
        if row["p_holm"] < ALPHA:
            marks[row["task"]] = UP if row["diff"] > 0 else DOWN
    for row in result["categories"]:
        if row["p_holm"] < ALPHA:
            marks[category_group(row["category"])] = UP if row["diff"] > 0 else DOWN
    return marks


def _line(label: str, row: Mapping[str, Any]) -> str:
    mark = "*" if row.get("p_holm", row["p_value"]) < ALPHA else " "
    holm_text = f"  p_holm={row['p_holm']:.3g}" if "p_holm" in row else ""
    counts = {side: row.get(f"unanswered_{side.lower()}", 0) for side in "AB"}
    unanswered = [f"{n} unanswered in {side}" for side, n in counts.items() if n]
    return (
        f"{label:<28} n={row['n']:<6} {row['diff']:+7.2f}{mark} 95% CI [{row['ci_low']:+.2f}, {row['ci_high']:+.2f}]"
        f"  p={row['p_value']:.3g}{holm_text}  mdd={row['mdd']:.2f}  ({row['test']})"
        + (f"  [{', '.join(unanswered)}]" if unanswered else "")
    )


def format_comparison(result: Mapping[str, Any], label_a: str, label_b: str) -> str:
    """Plain text: one line per task and category, then the mean over complete categories."""
    lines = [
        f"A - B = {label_a} - {label_b} (points; * = Holm-adjusted p < {ALPHA}; mdd = minimum detectable difference)"
    ]
    lines += [_line(f"{r['meds_id']} {r['task']}", r) for r in result["tasks"]]
    lines += [_line(f"category {r['category']}", r) for r in result["categories"]]
    if result["mean"]:
        lines.append(_line(f"mean of {result['mean']['categories']} categories", result["mean"]))
    return "\n".join(lines)


def format_jury(result: Mapping[str, Any]) -> str:
    """Plain text of :func:`compare_jury`: a heading, then one line per task and category."""
    lines = [
        f"Jury scores, A - B = judged run {result['judged_a']} - {result['judged_b']} (0-100; the documents both "
        "were judged on; paired bootstrap CI, permutation p):"
    ]
    lines += [_line(f"{r['meds_id']} {r['task']}", r) for r in result["tasks"]]
    lines += [_line(f"category {r['category']}", r) for r in result["categories"]]
    return "\n".join(lines)


def add_compare_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``compare`` on the ``meds-bench`` command line."""
    p = subparsers.add_parser("compare", help="paired differences between two runs (CI, p-value, Holm, MDD)")
    p.add_argument(
        "run_a", metavar="RUN_A", help="lm-eval --log_samples output folder, samples file, or scored CSV/JSONL"
    )
    p.add_argument("run_b", metavar="RUN_B", help="the same for the run subtracted")
    add_output_option(
        p, metavar="FILE", old_flags=("--json",), help="write the rows (diff, ci_low, ci_high, p_value, n, ...) as JSON"
    )
    p.add_argument(
        "--judged",
        metavar="DIR",
        nargs="+",
        help="also compare the jury scores of `meds-bench judge --output DIR` (DIR judged both runs), or of "
        "DIR_A and DIR_B (one each); give it after RUN_A RUN_B",
    )
    p.add_argument(
        "--judged-run",
        metavar="JUDGED",
        nargs=2,
        help="the labels in DIR of the judged runs of RUN_A and RUN_B, when matching by path fails",
    )
    p.set_defaults(func=run_compare)


def _judged_pair(args: argparse.Namespace) -> tuple[JudgedRun, JudgedRun]:
    """The judged runs of RUN_A and RUN_B (by path, or ``--judged-run``).

    Raises:
        JudgedInputError: a folder that cannot be read, a run no judged run matches, or one matching both.
    """
    if len(args.judged) > 2:
        raise JudgedInputError(f"--judged takes DIR or DIR_A DIR_B, not {len(args.judged)} folders")
    dirs = [load_judged(Path(d)) for d in args.judged]
    chosen = args.judged_run or [None, None]
    found = []
    for run, judged, label in zip((args.run_a, args.run_b), (dirs[0], dirs[-1]), chosen, strict=True):
        found.append(judged.require(Path(run), label, "--judged-run JUDGED_A JUDGED_B"))
    if len(dirs) == 1 and found[0] is found[1]:
        raise JudgedInputError(
            f"{dirs[0].directory}: judged run {found[0].label} matches both runs; pass --judged-run JUDGED_A JUDGED_B"
        )
    return found[0], found[1]


def run_compare(args: argparse.Namespace) -> int:
    """Entry point of ``meds-bench compare``."""
    if args.judged_run and not args.judged:
        print("meds-bench compare: --judged-run needs --judged DIR", file=sys.stderr)
        return 2
    try:
        judged = _judged_pair(args) if args.judged else None
        a, b = load_docs(Path(args.run_a)), load_docs(Path(args.run_b))
        result = compare_docs(a, b)
        if judged is not None:
            result["jury"] = compare_jury(a, b, *judged)
    except (CompareInputError, JudgedInputError) as err:
        print(f"meds-bench compare: {err}", file=sys.stderr)
        return 2
    differ = add_unanswered(result, a, b)
    print(format_comparison(result, args.run_a, args.run_b))
    if judged is not None:
        print(format_jury(result["jury"]))
        for line in [line for run in judged for line in run.failed_control_lines()]:
            print(f"meds-bench compare: warning: {line}", file=sys.stderr)
    if differ:
        print(
            f"meds-bench compare: warning: the runs left different documents unanswered in {', '.join(differ)} "
            "(scored 0): part of these differences is API failures; rerun the failed requests, then compare",
            file=sys.stderr,
        )
    if args.output:
        payload = {"run_a": args.run_a, "run_b": args.run_b, **result}
        Path(args.output).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0
