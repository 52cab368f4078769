"""Hallmarks of Cancer (task106): macro P/R/F1 over the ten hallmarks (SPEC A4, B2).

Per document the scorers return ``[predicted 0/1 x 10, gold 0/1 x 10]``; :func:`macro_scores`
binarises them into sklearn's macro precision/recall/F1 with ``zero_division=0`` like the original.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from meds_bench.metrics.extraction import find_labels, fold_label

HALLMARKS = (
    "sustaining proliferative signaling",
    "evading growth suppressors",
    "resisting cell death",
    "enabling replicative immortality",
    "inducing angiogenesis",
    "activating invasion and metastasis",
    "genomic instability and mutation",
    "tumor promoting inflammation",
    "cellular energetics",
    "avoiding immune destruction",
)


def labels_paper(text: object) -> list[int]:
    """The original detection: a hallmark is present iff its name is a substring of the lower-cased text."""
    low = text.lower() if isinstance(text, str) else ""
    return [int(h in low) for h in HALLMARKS]


def labels(text: object) -> list[int]:
    """Hallmarks named in the text as whole words (case/punctuation-insensitive), negated mentions
    (``not inducing angiogenesis``) ignored."""
    if not isinstance(text, str):
        return [0] * len(HALLMARKS)
    found = find_labels(text, HALLMARKS)
    return [int(fold_label(h) in found) for h in HALLMARKS]


def hoc_items(prediction: object, gold: str) -> dict[str, list[list[int]]]:
    """Per-document label vectors for the corrected (``macro_*``) and original (``macro_*_paper``) metrics."""
    fixed = [labels(prediction), labels(gold)]
    paper = [labels_paper(prediction), labels_paper(gold)]
    out: dict[str, list[list[int]]] = {}
    for name in ("macro_f1", "macro_precision", "macro_recall"):
        out[name] = fixed
        out[f"{name}_paper"] = paper
    return out


def macro_scores(items: Sequence[Sequence[Sequence[int]]]) -> tuple[float, float, float]:
    """Macro precision, recall and F1 (0-100) over the ten hallmarks, ``zero_division=0``."""
    if not items:
        return 0.0, 0.0, 0.0
    pred = np.array([x[0] for x in items], dtype=int)
    gold = np.array([x[1] for x in items], dtype=int)
    p, r, f, _ = precision_recall_fscore_support(gold, pred, average="macro", zero_division=0)
    return 100.0 * float(p), 100.0 * float(r), 100.0 * float(f)
