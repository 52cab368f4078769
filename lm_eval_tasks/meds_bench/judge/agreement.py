"""``meds-bench judge-agreement LABELS.csv --judged DIR``: how well the jury agrees with your own raters.

LABELS.csv has the columns ``task,doc_id,rater,score`` (a human rater's score on any numeric scale), and ``run``
when DIR judged several runs. The jury score of a document is the mean ``score`` of its scored judgements in
``DIR/judgements.jsonl`` (``kind`` "answer", a status of ``jury.SCORED_STATUSES``: an empty answer scores 0). On
the documents both have, with the raters' scores put on 0-100 (min-max over ``--scale LOW,HIGH``, by default the
lowest and highest score given):

- ICC(2,k) over items x [metric, the raters' mean], with McGraw & Wong's 95% interval;
- Krippendorff's alpha (interval) over [metric, rater 1, rater 2, ...] x items, with a 95% bootstrap interval
  over items (seeded), beside the raters' own alpha (the human baseline, two raters or more);

for the jury and for the paper's BLEU-1 and ROUGE-1 of the same answers (the ``paper`` field of the judgements).
Both are absolute agreement: a metric that ranks the answers as the raters do but on another level scores lower.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from meds_bench.judge.jury import SCORED_STATUSES
from meds_bench.judge.stats import SEED, Estimate, bootstrap_over_items, icc2k, krippendorff_alpha
from meds_bench.output_flag import add_output_option
from meds_bench.text_files import NotJsonLineError, NotUtf8Error, read_json_lines, read_utf8

COMMAND = "judge-agreement"
LABEL_COLUMNS = ("task", "doc_id", "rater", "score")
METRICS = {"jury": "jury", "bleu1": "BLEU-1", "rouge1": "ROUGE-1"}  # key in the JSON -> name in the table
SHOWN_UNKNOWN = 3  # unjudged labelled documents named in the message

Item = tuple[str, str, str]  # run, task, doc_id


class AgreementInputError(ValueError):
    """Labels or judgements that cannot be compared; the message names the file (and line) and what to do."""


@dataclass(frozen=True)
class Labels:
    """The raters' scores by item; ``runs_named`` is True when the file has a ``run`` column."""

    scores: dict[Item, dict[str, float]]
    runs_named: bool


def read_labels(path: Path) -> Labels:
    """The scores of LABELS.csv by (run, task, doc_id) and rater (run "" when the file has no ``run`` column).

    Raises:
        AgreementInputError: unreadable file, a missing column, a score that is not a number, a rater scoring
            the same document twice.
    """
    try:
        text = read_utf8(path)
    except NotUtf8Error as err:
        raise AgreementInputError(str(err)) from None
    except OSError as err:
        raise AgreementInputError(f"{path}: cannot read the labels ({err.strerror}): pass LABELS.csv") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in LABEL_COLUMNS if c not in columns]
    if missing:
        raise AgreementInputError(
            f"{path}: column {', '.join(repr(c) for c in missing)} missing: the labels need the columns "
            f"{','.join(LABEL_COLUMNS)} (and run when the judged folder holds several runs)"
        )
    reader.fieldnames = columns
    runs_named = "run" in columns
    scores: dict[Item, dict[str, float]] = defaultdict(dict)
    for row in reader:
        where = f"{path}:{reader.line_num}"
        task, doc, rater, value = ((row[c] or "").strip() for c in LABEL_COLUMNS)
        if not (task and doc and rater):
            raise AgreementInputError(f"{where}: task, doc_id or rater empty: give all three on every row")
        try:
            score = float(value)
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise AgreementInputError(f"{where}: score {value!r} is not a number: give each rater's score as a number")
        item = ((row.get("run") or "").strip(), task, doc)
        if rater in scores[item]:
            raise AgreementInputError(f"{where}: rater {rater!r} scored {task} doc {doc} twice: keep one row")
        scores[item][rater] = score
    if not scores:
        raise AgreementInputError(f"{path}: no labels: one row per rater and document")
    return Labels(dict(scores), runs_named)


@dataclass(frozen=True)
class Judged:
    """Per judged document: the jury score (None when no judgement was valid) and the paper metrics."""

    jury: dict[Item, float | None]
    paper: dict[Item, dict[str, float]]


def read_judged(folder: Path) -> Judged:
    """The jury score and paper metrics of each document of ``folder/judgements.jsonl`` (``kind`` "answer").

    Raises:
        AgreementInputError: no judgements.jsonl, or a line that is not a judgement.
    """
    path = folder / "judgements.jsonl"
    if not path.is_file():
        raise AgreementInputError(f"{folder}: no judgements.jsonl: pass the --output folder of `meds-bench judge`")
    scores: dict[Item, list[float]] = defaultdict(list)
    paper: dict[Item, dict[str, float]] = {}
    try:
        for number, obj in read_json_lines(path):
            if not isinstance(obj, dict) or any(key not in obj for key in ("run", "task", "doc_id", "kind")):
                raise AgreementInputError(f"{path}:{number}: not a judgement (run, task, doc_id, kind)")
            if obj["kind"] != "answer":
                continue
            item = (str(obj["run"]), str(obj["task"]), str(obj["doc_id"]))
            scores.setdefault(item, [])  # a judged document, even when no judgement of it is valid
            if obj.get("status") in SCORED_STATUSES:
                if not isinstance(obj.get("score"), int | float):
                    raise AgreementInputError(f"{path}:{number}: a valid judgement without a numeric score")
                scores[item].append(float(obj["score"]))
            metrics = obj.get("paper")
            if isinstance(metrics, dict) and item not in paper:
                paper[item] = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
    except (NotUtf8Error, NotJsonLineError) as err:
        raise AgreementInputError(str(err)) from None
    jury = {item: (sum(s) / len(s) if s else None) for item, s in scores.items()}
    return Judged(jury, paper)


def match_runs(labels: Labels, judged: Judged, labels_path: Path, folder: Path) -> dict[Item, dict[str, float]]:
    """``labels.scores`` keyed by judged items: the one run of DIR filled in when LABELS names none.

    Raises:
        AgreementInputError: several runs and no ``run`` column; labelled documents DIR never judged.
    """
    scores = labels.scores
    if not labels.runs_named:
        runs = sorted({run for run, _, _ in judged.jury})
        if len(runs) > 1:
            raise AgreementInputError(
                f"{labels_path}: {folder} judged several runs ({', '.join(runs)}): add a column run naming the run "
                "each label is for"
            )
        scores = {(runs[0] if runs else "", task, doc): r for (_, task, doc), r in scores.items()}
    unknown = [item for item in scores if item not in judged.jury]
    if unknown:
        named = [f"{run + ' ' if labels.runs_named else ''}{task} doc {doc}" for run, task, doc in unknown]
        shown = "; ".join(named[:SHOWN_UNKNOWN]) + ("; ..." if len(named) > SHOWN_UNKNOWN else "")
        raise AgreementInputError(
            f"{labels_path}: {len(unknown)} labelled document(s) that {folder} never judged ({shown}): label the "
            "documents of its judgements.jsonl (run, task, doc_id as there), or judge the runs the labels are for"
        )
    return scores


def parse_scale(text: str | None, scores: list[float]) -> tuple[float, float]:
    """``--scale LOW,HIGH`` (by default the lowest and highest of ``scores``), checked against ``scores``.

    Raises:
        AgreementInputError: not two increasing numbers, a score outside, or no spread to scale by.
    """
    if text is None:
        low, high = min(scores), max(scores)
        if low == high:
            raise AgreementInputError(f"every label is {low:g}: give the raters' scale as --scale LOW,HIGH")
        return low, high
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise AgreementInputError(f"--scale {text}: give the raters' scale as two numbers, e.g. --scale 1,5") from None
    if not low < high:
        raise AgreementInputError(f"--scale {text}: LOW must be below HIGH, e.g. --scale 1,5")
    outside = [s for s in scores if not low <= s <= high]
    if outside:
        raise AgreementInputError(f"--scale {text}: the labels have scores outside it (e.g. {outside[0]:g})")
    return low, high


def agreement(
    scores: dict[Item, dict[str, float]], judged: Judged, scale: tuple[float, float], seed: int = SEED
) -> dict[str, Any]:
    """The agreement report (a JSON-ready dict) of the jury and the paper metrics with the raters' ``scores``.

    Only items with a jury score count (``no_valid_judgement`` says how many had none); each paper metric uses
    those of them that have it.

    Raises:
        AgreementInputError: fewer than 2 items with both labels and a jury score.
    """
    items = sorted(item for item in scores if judged.jury[item] is not None)
    if len(items) < 2:
        raise AgreementInputError(
            f"{len(items)} labelled document(s) with a valid jury score: agreement needs 2 or more"
        )
    raters = sorted({rater for item in items for rater in scores[item]})
    low, high = scale
    human = np.array([[scores[i].get(r, math.nan) for i in items] for r in raters], dtype=float)
    human = (human - low) / (high - low) * 100
    rows = {
        "jury": [judged.jury[i] for i in items],
        **{m: [judged.paper.get(i, {}).get(m) for i in items] for m in METRICS if m != "jury"},
    }
    metrics = {}
    for name, values in rows.items():
        keep = [k for k, v in enumerate(values) if v is not None]
        metrics[name] = _agreement_of(np.array([values[k] for k in keep], dtype=float), human[:, keep], seed)
    humans = _alpha_estimate(human, seed) if len(raters) > 1 else Estimate(None, None)
    return {
        "items": len(items),
        "no_valid_judgement": len(scores) - len(items),
        "runs": sorted({run for run, _, _ in items}),
        "raters": raters,
        "scale": [low, high],
        "seed": seed,
        "metrics": metrics,
        "raters_alpha": humans.value,
        "raters_alpha_ci": humans.ci,
    }


def _agreement_of(metric: np.ndarray, human: np.ndarray, seed: int) -> dict[str, Any]:
    """ICC(2,k) of items x [metric, raters' mean] and alpha of [metric, raters...] x items, with intervals."""
    icc = icc2k(np.column_stack([metric, np.nanmean(human, axis=0)])) if metric.size else Estimate(None, None)
    alpha = _alpha_estimate(np.vstack([metric, human]), seed)
    return {"n": int(metric.size), "icc2k": icc.value, "icc2k_ci": icc.ci, "alpha": alpha.value, "alpha_ci": alpha.ci}


def _alpha_estimate(matrix: np.ndarray, seed: int) -> Estimate:
    value = krippendorff_alpha(matrix, "interval")
    ci = bootstrap_over_items(lambda idx: krippendorff_alpha(matrix[:, idx], "interval"), matrix.shape[1], seed)
    return Estimate(value, ci if value is not None else None)


def format_agreement(report: dict[str, Any]) -> str:
    """The report as a small table: one line per metric, ICC(2,k) and alpha with their intervals."""
    low, high = report["scale"]
    left_out = report["no_valid_judgement"]
    lines = [
        f"{report['items']} documents, {len(report['raters'])} rater(s), scale {low:g}-{high:g} -> 0-100"
        + (f" ({left_out} labelled document(s) without a valid judgement left out)" if left_out else ""),
        f"{'':8} {'n':>4}  {'ICC(2,k) [95% CI]':<24} alpha (interval) [95% CI]",
    ]
    for key, name in METRICS.items():
        row = report["metrics"][key]
        icc, alpha = _shown(row["icc2k"], row["icc2k_ci"]), _shown(row["alpha"], row["alpha_ci"])
        lines.append(f"{name:8} {row['n']:>4}  {icc:<24} {alpha}")
    if len(report["raters"]) > 1:
        lines.append(
            f"{'raters':8} {report['items']:>4}  {'':<24} {_shown(report['raters_alpha'], report['raters_alpha_ci'])}"
        )
    return "\n".join(lines)


def _shown(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "undefined"
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def add_judge_agreement_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``judge-agreement`` on the ``meds-bench`` command line."""
    p = subparsers.add_parser(
        COMMAND, help="agreement (ICC(2,k), Krippendorff's alpha) of the jury and of BLEU/ROUGE with human raters"
    )
    p.add_argument("labels", metavar="LABELS.csv", help="columns task,doc_id,rater,score (and run)")
    p.add_argument("--judged", required=True, metavar="DIR", help="the --output folder of `meds-bench judge`")
    p.add_argument(
        "--scale", metavar="LOW,HIGH", help="the raters' scale, mapped to 0-100 (default: the lowest and highest score)"
    )
    add_output_option(p, metavar="FILE", help="write the agreement (values, intervals, n) as JSON")
    p.set_defaults(func=run_judge_agreement)


def run_judge_agreement(args: argparse.Namespace) -> int:
    """Entry point of ``meds-bench judge-agreement``."""
    labels_path, folder = Path(args.labels), Path(args.judged)
    try:
        labels = read_labels(labels_path)
        judged = read_judged(folder)
        scores = match_runs(labels, judged, labels_path, folder)
        scale = parse_scale(args.scale, [s for r in scores.values() for s in r.values()])
        report = agreement(scores, judged, scale)
    except AgreementInputError as err:
        print(f"meds-bench {COMMAND}: {err}", file=sys.stderr)
        return 2
    print(format_agreement(report))
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
