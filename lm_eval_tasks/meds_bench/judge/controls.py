"""Controls that can fail, per task, judged on a few documents beside the answers.

- ``reference``: the reference given as the answer must score near the top (mean >= ``REFERENCE_MIN``);
- ``swapped``: another document's reference judged against this one's must score low (mean <= ``SWAPPED_MAX``);
- ``length_spearman``: the rank correlation of the jury score with the answer's length, beside that of ROUGE-1;
  it fails when the jury's is above ``LENGTH_MAX`` (a judge rewarding length).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from meds_bench.judge.judges import Item

REFERENCE_MIN = 75.0
SWAPPED_MAX = 40.0
LENGTH_MAX = 0.5
KINDS = ("reference_control", "swapped_control")


def control_items(answers: Sequence[Item], docs: int) -> list[Item]:
    """The control items of one run's task: its first ``docs`` documents with the reference as the answer, and
    with the next document's reference as the answer (needs two documents)."""
    chosen = sorted(answers, key=lambda item: item.doc_id)[:docs]
    items = [_replace(item, "reference_control", item.reference) for item in chosen]
    if len(answers) > 1:
        ordered = sorted(answers, key=lambda item: item.doc_id)
        for position, item in enumerate(chosen):
            other = ordered[(position + 1) % len(ordered)]
            items.append(_replace(item, "swapped_control", other.reference))
    return items


def _replace(item: Item, kind: str, answer: str) -> Item:
    return Item(item.run, item.task, item.doc_id, kind, item.rubric, item.query, item.reference, answer)


def _spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return round(float(spearmanr(x, y).statistic), 4)


def control_results(
    control_scores: Mapping[str, Sequence[float]],
    answer_lengths: Sequence[int],
    answer_jury: Sequence[float],
    answer_rouge1: Sequence[float],
) -> dict[str, Any]:
    """One task's controls: ``control_scores`` maps a control kind to its documents' jury scores; the answer
    lists are aligned per document."""
    out: dict[str, Any] = {}
    for kind, threshold, passes in (
        ("reference_control", REFERENCE_MIN, lambda v: v >= REFERENCE_MIN),
        ("swapped_control", SWAPPED_MAX, lambda v: v <= SWAPPED_MAX),
    ):
        scores = list(control_scores.get(kind, ()))
        if scores:
            score = round(float(np.mean(scores)), 4)
            out[kind.removesuffix("_control")] = {
                "score": score, "threshold": threshold, "passed": bool(passes(score)), "n": len(scores)
            }  # fmt: skip
    jury_rho = _spearman(answer_lengths, answer_jury)
    out["length_spearman"] = {
        "jury": jury_rho,
        "rouge1": _spearman(answer_lengths, answer_rouge1),
        "threshold": LENGTH_MAX,
        "passed": None if jury_rho is None else jury_rho <= LENGTH_MAX,
        "n": len(answer_lengths),
    }
    return out


def failed_controls(controls: Mapping[str, Any]) -> list[str]:
    """Plain sentences naming each failed control of one task's ``controls`` entry."""
    out = []
    ref, swapped, length = controls.get("reference"), controls.get("swapped"), controls.get("length_spearman") or {}
    if ref and not ref["passed"]:
        out.append(f"the reference given as the answer scored {ref['score']:.1f} (< {ref['threshold']:.0f})")
    if swapped and not swapped["passed"]:
        out.append(f"another document's reference scored {swapped['score']:.1f} (> {swapped['threshold']:.0f})")
    if length.get("passed") is False:
        out.append(f"scores follow answer length (Spearman {length['jury']:.2f} > {length['threshold']})")
    return out
