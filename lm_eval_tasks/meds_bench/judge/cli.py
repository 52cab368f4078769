"""``meds-bench judge RUN [RUN ...] --judge SPEC [--judge SPEC ...] --output DIR``: a jury for the free-text tasks.

Writes ``DIR/judgements.jsonl`` (one line per run, task, document, kind and judge) and ``DIR/judge_results.json``
(per run: the jury per task and category, each judge's mean, their agreement, the controls; the cost); the
layouts are in docs/jury.md. Every input is checked before any judge is made, and a judge is made (its key
checked) before any request leaves. ``--dry-run`` prints the price of judging and of the controls, sync and
batch, beside the runs' own cost, and writes nothing.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from meds_bench.catalog import get_task
from meds_bench.judge.controls import KINDS, control_items, control_results, failed_controls
from meds_bench.judge.judges import (
    CONTROL_MARK,
    Item,
    JudgeInputError,
    Judgement,
    JudgeSpec,
    judge,
    label_of,
    make_judge,
    parse_spec,
)
from meds_bench.judge.jury import EMPTY_SCORE, category_scores, doc_scores, task_entry
from meds_bench.judge.rubrics import rubric, versions
from meds_bench.judge.saved_runs import RunInputError, SavedRun, load_saved_run
from meds_bench.judge.vendors import vendor
from meds_bench.metrics.scorers import score_doc
from meds_bench.output_flag import add_output_option, required_output
from meds_bench.report.runs import split_label

CONTROL_DOCS = 3
STRUCTURED_FIELDS = ("response_format", "output_config", "json_schema", "structured output")


def add_judge_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``judge`` on the ``meds-bench`` command line."""
    p = subparsers.add_parser("judge", help="an LLM jury for the free-text tasks of saved runs (beside BLEU/ROUGE)")
    p.add_argument("runs", nargs="+", metavar="RUN", help="[LABEL=]a --log_samples output folder or prediction file")
    p.add_argument(
        "--judge",
        action="append",
        required=True,
        metavar="SPEC",
        help="MODEL_CLASS:MODEL_ARGS of an API adapter, e.g. meds-openai:model=gpt-5.1 (repeat for a jury)",
    )
    add_output_option(p, metavar="DIR", required=True, help="folder for judgements.jsonl and judge_results.json")
    p.add_argument("--tasks", help="comma-separated task names or patterns (default: every free-text task present)")
    p.add_argument("--limit", type=positive_int, help="judge at most N documents per task")
    p.add_argument(
        "--dry-run", action="store_true", help="print the price of judging and of the controls; send nothing"
    )
    p.add_argument("--max-cost-usd", type=float, help="stop sending once the judges together have spent this much")
    p.add_argument("--batch", action="store_true", help="judge through the providers' batch interfaces (half price)")
    p.add_argument(
        "--allow-self-judging",
        action="store_true",
        help="let a judge grade answers of a model of its own vendor (recorded)",
    )
    p.add_argument("--no-controls", action="store_true", help="skip the controls (reference, swapped reference)")
    p.add_argument(
        "--control-docs",
        type=positive_int,
        default=CONTROL_DOCS,
        help=f"documents per task the controls use (default {CONTROL_DOCS})",
    )
    p.set_defaults(func=run_judge)  # fmt: skip


def positive_int(text: str) -> int:
    """An argparse type: a whole number of 1 or more (argparse's usage error, exit 2, otherwise)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of 1 or more")
    return value


def _selected(run: SavedRun, patterns: list[str] | None, limit: int | None) -> list[Any]:
    by_task: dict[str, list[Any]] = defaultdict(list)
    for answer in run.answers:
        if not patterns or any(fnmatch.fnmatchcase(answer.task, p) for p in patterns):
            by_task[answer.task].append(answer)
    return [a for task in sorted(by_task) for a in sorted(by_task[task], key=lambda a: a.doc_id)[:limit]]


def _check_self_judging(runs: list[SavedRun], judges: list[JudgeSpec], allowed: bool) -> list[str]:
    clashes = []
    for run in runs:
        for spec in judges:
            if vendor(run.model) == vendor(str(spec.args["model"])):
                clashes.append(f"{spec.text} judging {run.label} ({run.model}): both {vendor(run.model)}")
    if clashes and not allowed:
        raise JudgeInputError(
            f"self-judging: {clashes[0]}; judges prefer their own vendor's answers: choose a judge of another vendor, "
            "or pass --allow-self-judging (it is recorded in judge_results.json)"
        )
    return clashes


def _items(runs: list[SavedRun], patterns: list[str] | None, limit: int | None) -> list[Item]:
    items = []
    for run in runs:
        for a in _selected(run, patterns, limit):
            items.append(Item(run.label, a.task, a.doc_id, "answer", rubric(get_task(a.task).category), a.query,
                              a.reference, a.answer))  # fmt: skip
    return items


def _controls(items: list[Item], docs: int) -> list[Item]:
    by_task: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in items:
        by_task[(item.run, item.task)].append(item)
    return [c for key in sorted(by_task) for c in control_items(by_task[key], docs)]


def _paper(item: Item) -> dict[str, float]:
    doc = {"task": item.task, "output": item.reference, "references": [item.reference], "input": item.query}
    values = score_doc(doc, item.answer, item.task)
    return {k: round(float(v), 4) for k, v in values.items() if k in ("bleu1", "rouge1")}


def _score(j: Judgement) -> float | None:
    if j.status == "empty_answer":
        return EMPTY_SCORE
    return j.verdict.score if j.verdict else None


def _row(j: Judgement, judge_label: str) -> dict[str, Any]:
    item, verdict = j.item, j.verdict
    row = {
        "run": item.run, "task": item.task, "doc_id": item.doc_id, "kind": item.kind, "judge": judge_label,
        "rubric": item.rubric.category, "rubric_hash": item.rubric.version, "status": j.status,
        "scores": verdict.scores if verdict else None, "score": _score(j),
        "justification": verdict.justification if verdict else "", "answer_chars": len(item.answer),
    }  # fmt: skip
    if item.kind == "answer":
        row["paper"] = _paper(item)
    return row


def _costs(lm: Any) -> tuple[float, float]:
    """(judging, controls) dollars this judge's ledger recorded."""
    judging = controls = 0.0
    for _task, doc_id, _status, _in, _out, cost in lm.ledger.report()["per_request"]:
        if CONTROL_MARK in str(doc_id):
            controls += cost
        else:
            judging += cost
    return judging, controls


def _structured_refusal(spec: JudgeSpec, err: Exception) -> JudgeInputError | None:
    text = str(err).lower()
    if spec.structured and any(field in text for field in STRUCTURED_FIELDS):
        return JudgeInputError(
            f"--judge {spec.text!r}: the server refuses structured output ({str(err)[:160]}); add structured=text to "
            "this SPEC (the rubric then asks for JSON in the prompt and the reply is read from the text)"
        )
    return None


def _dry_run(specs: list[JudgeSpec], items: list[Item], controls: list[Item], runs: list[SavedRun]) -> None:
    totals = {"judging": [0.0, 0.0], "controls": [0.0, 0.0]}
    for spec in specs:
        lm = make_judge(spec, dry_run=True)
        for name, part in (("judging", items), ("controls", controls)):
            judge(lm, part, spec.structured, quiet=True)
            total = (lm.dry_run_estimate or {}).get("total", {}) if part else {}
            totals[name][0] += float(total.get("max_cost_usd", 0))
            totals[name][1] += float(total.get("max_cost_batch_usd", 0))
            lm.dry_run_estimate = None
    own = [r.own_cost_usd for r in runs if r.own_cost_usd is not None]
    print(
        f"meds-bench judge: dry run, nothing sent: {len(items)} answers x {len(specs)} judges <= "
        f"${totals['judging'][0]:.4f} (<= ${totals['judging'][1]:.4f} with --batch); controls {len(controls)} x "
        f"{len(specs)} <= ${totals['controls'][0]:.4f} (<= ${totals['controls'][1]:.4f} with --batch); "
        + (f"the runs' own API cost: ${sum(own):.4f}" if own else "the runs recorded no API cost"),
        file=sys.stderr,
    )


def _results(runs: list[SavedRun], rows: list[dict[str, Any]], judges: list[str]) -> dict[str, dict[str, Any]]:
    answers = doc_scores(rows)
    per_control = {kind: doc_scores(rows, kind) for kind in KINDS}
    invalid: dict[tuple[str, str], int] = defaultdict(int)
    unanswered: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        if row["kind"] == "answer" and row["status"] == "invalid":
            invalid[(row["run"], row["task"])] += 1
        elif row["kind"] == "answer" and row["status"] not in ("ok", "empty_answer"):
            unanswered[(row["run"], row["task"])] += 1
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        tasks: dict[str, Any] = {}
        controls: dict[str, Any] = {}
        for task in sorted({r["task"] for r in rows if r["run"] == run.label}):
            by_doc = {d: s for (r, t, d), s in answers.items() if r == run.label and t == task}
            entry = task_entry(by_doc, judges, invalid[(run.label, task)])
            entry["unanswered"] = unanswered[(run.label, task)]  # judge requests that failed or were not sent
            answer_rows = {r["doc_id"]: r for r in rows if r["run"] == run.label and r["task"] == task
                           and r["kind"] == "answer"}  # fmt: skip
            for metric in ("bleu1", "rouge1"):
                values = [r["paper"][metric] for r in answer_rows.values() if metric in r.get("paper", {})]
                entry[metric] = round(sum(values) / len(values), 4) if values else None
            tasks[task] = entry
            docs = sorted(by_doc)
            scores = {
                kind: [sum(s.values()) / len(s) for (r, t, _), s in per_control[kind].items()
                       if r == run.label and t == task]
                for kind in KINDS
            }  # fmt: skip
            controls[task] = control_results(
                scores,
                [answer_rows[d]["answer_chars"] for d in docs],
                [sum(by_doc[d].values()) / len(by_doc[d]) for d in docs],
                [answer_rows[d]["paper"].get("rouge1", 0.0) for d in docs],
            )
        out[run.label] = {
            "path": str(run.path.resolve()), "model": run.model, "provider": run.provider, "tasks": tasks,
            "categories": category_scores(tasks), "controls": controls,
        }  # fmt: skip
    return out


def _write_json_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    partial = path.with_suffix(".jsonl.partial")
    with partial.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(partial, path)


def _print_table(results: dict[str, Any]) -> None:
    for label, run in results["runs"].items():
        print(f"{label}: jury (0-100, mean over {len(results['judges'])} judges and the criteria) beside ROUGE-1")
        for task, entry in run["tasks"].items():
            jury = "n/a" if entry["jury"] is None else f"{entry['jury']:.1f}"
            alpha = "" if entry["alpha"] is None else f"  alpha {entry['alpha']:.2f}"
            rouge = entry.get("rouge1")
            print(f"  {task:<48} jury {jury:>6}  ROUGE-1 {rouge if rouge is None else round(rouge, 1)}"
                  f"  n={entry['n']} invalid={entry['invalid']} unanswered={entry['unanswered']}{alpha}")  # fmt: skip
            for failure in failed_controls(run["controls"].get(task, {})):
                print(f"  {task:<48} CONTROL FAILED: {failure}")


def judge_runs(args: argparse.Namespace) -> int:
    """Check the inputs, judge, write the two files; the exit status."""
    output = Path(required_output(args, "judge", "DIR"))
    specs = [parse_spec(text) for text in args.judge]
    runs = []
    for text in args.runs:
        label, path = split_label(text)
        runs.append(load_saved_run(path, label))
    if len({r.label for r in runs}) < len(runs):
        raise JudgeInputError("two runs have the same label: name them LABEL=PATH")
    clashes = _check_self_judging(runs, specs, args.allow_self_judging)
    patterns = [p.strip() for p in args.tasks.split(",") if p.strip()] if args.tasks else None
    items = _items(runs, patterns, args.limit)
    if not items:
        raise JudgeInputError(f"--tasks {args.tasks}: no free-text task of the runs matches")
    controls = [] if args.no_controls else _controls(items, args.control_docs)
    if args.dry_run:
        _dry_run(specs, items, controls, runs)
        return 0
    output.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    judges_info = []
    budget = args.max_cost_usd
    cost = {"judging": 0.0, "controls": 0.0}
    for spec in specs:
        lm = make_judge(spec, batch=True if args.batch else None, max_cost_usd=budget)
        label = label_of(lm)
        try:
            judgements = judge(lm, [*items, *controls], spec.structured)
        except Exception as err:
            refusal = _structured_refusal(spec, err)
            if refusal is not None:
                raise refusal from None
            raise
        rows.extend(_row(j, label) for j in judgements)
        _write_json_lines(output / "judgements.jsonl", rows)  # what is judged so far survives a crash
        judging, control_cost = _costs(lm)
        cost["judging"] += judging
        cost["controls"] += control_cost
        if budget is not None:
            budget = max(budget - judging - control_cost, 0.0)
        info = lm.get_model_info()["meds_api"]
        judges_info.append({"label": label, "spec": spec.text, "provider": lm.provider, "model": lm.model,
                            "structured": spec.structured, "usage": info["usage"]["total"],
                            "removed_parameters": info["removed_parameters"]})  # fmt: skip
    labels = [j["label"] for j in judges_info]
    results = {
        "version": 1,
        "judges": judges_info,
        "rubrics": versions(),
        "allow_self_judging": bool(args.allow_self_judging),
        "self_judging": clashes,
        "runs": _results(runs, rows, labels),
        "cost": {k: round(v, 6) for k, v in cost.items()},
    }
    (output / "judge_results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    _print_table(results)
    print(f"meds-bench judge: {len(rows)} judgements, ${sum(cost.values()):.4f} (controls ${cost['controls']:.4f}); "
          f"results in {output / 'judge_results.json'}, per answer in {output / 'judgements.jsonl'}")  # fmt: skip
    return 0


def run_judge(args: argparse.Namespace) -> int:
    """Entry point of ``meds-bench judge``: one line and exit 2 on bad input."""
    from meds_bench_adapters import USER_ERRORS

    try:
        return judge_runs(args)
    except (JudgeInputError, RunInputError, *USER_ERRORS) as err:
        print(f"meds-bench judge: {err}", file=sys.stderr)
        return 2
