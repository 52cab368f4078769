"""NER (tasks 125-128): micro precision/recall/F1 over entity sets (SPEC A4) and the original
parse (``f1_paper``, SPEC B2). Per document the scorers return ``[tp, fp, fn]``; the corpus-level
figures come from the summed counts (:func:`micro_scores`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# The bench definitions spell the sentinel "enetity"; the species800 converter spells it correctly.
NO_ENTITY = frozenset({"there is no related enetity", "there is no related entity"})


def parse_entities(text: object) -> frozenset[str]:
    """Entity set of an output: case-insensitive, internal dots kept, either sentinel = no entity,
    entities separated by ``, `` (commas inside names such as ``2,4-D`` stay), order ignored."""
    if not isinstance(text, str):
        return frozenset()
    body = " ".join(text.split()).strip()
    body = re.sub(r"\s*\.\s*$", "", body).strip().lower()
    if not body or body in NO_ENTITY:
        return frozenset()
    return frozenset(e for e in (part.strip() for part in re.split(r",\s+|;\s*", body)) if e)


def parse_entities_paper(text: str) -> set[str]:
    """The original parse: delete every '.', strip, lower-case; the sentinel (as spelled in the
    bench, 'enetity') means none; otherwise drop the last character and split on ', '."""
    body = text.replace(".", "").strip().lower()
    if body == "there is no related enetity":
        return set()
    return set(body[:-1].split(", "))


def counts(predicted: Iterable[str], gold: Iterable[str]) -> list[int]:
    """``[tp, fp, fn]`` of two entity sets."""
    p, g = set(predicted), set(gold)
    return [len(p & g), len(p - g), len(g - p)]


def ner_counts(prediction: object, gold: str) -> dict[str, list[int]]:
    """Per-document counts for ``f1``/``precision``/``recall`` (corrected) and ``f1_paper``.

    A missing or non-string prediction is an empty set under the corrected rule (its gold entities
    are false negatives); the original skipped such rows, so ``f1_paper`` gets no counts.
    """
    fixed = counts(parse_entities(prediction), parse_entities(gold))
    paper = (
        counts(parse_entities_paper(prediction), parse_entities_paper(gold))
        if isinstance(prediction, str)
        else [0, 0, 0]
    )
    return {"f1": fixed, "precision": fixed, "recall": fixed, "f1_paper": paper}


def micro_scores(items: Sequence[Sequence[int]]) -> tuple[float, float, float]:
    """Micro precision, recall and F1 (0-100) from per-document ``[tp, fp, fn]``; 0 where undefined."""
    tp = sum(int(x[0]) for x in items)
    fp = sum(int(x[1]) for x in items)
    fn = sum(int(x[2]) for x in items)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return 100.0 * precision, 100.0 * recall, 100.0 * f1
