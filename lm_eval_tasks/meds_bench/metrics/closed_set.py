"""Accuracy of closed-set tasks (SPEC A4) beside the original substring rules (``*_paper``, SPEC B2).

Each scorer returns ``{"acc": 0|100, "acc_paper": 0|100, "extracted": str}`` for one prediction;
``extracted`` is the answer ``acc`` read (option letters or folded label names, sorted and joined by
", "; "" when none), logged per sample by lm-eval's ``--log_samples``. Predictions that are empty,
missing or not strings score 0 under both rules (the original crashed or skipped them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from meds_bench.catalog import YES_NO_MAYBE
from meds_bench.metrics.extraction import (
    CYRILLIC,
    LATIN,
    extract_choice,
    extract_letters,
    fold_label,
    gold_letters,
    gold_option_texts,
    input_options,
)

TRUE_FALSE = ("true", "false")
TRUE_FALSE_SYNONYMS = {"yes": "true", "no": "false"}


def _pct(ok: bool) -> float:
    return 100.0 if ok else 0.0


def _valid(prediction: object) -> bool:
    return isinstance(prediction, str) and bool(prediction.strip())


def joined(answers: Iterable[str]) -> str:
    """The logged form of an answer set: sorted, joined by ", "; "" for none."""
    return ", ".join(sorted(answers))


# --- MCQA ----------------------------------------------------------------------------------------


def mcqa_answer(prediction: object, gold: str, question: str = "") -> frozenset[str]:
    """Option letters the prediction commits to. Labels are the question's option lines, else A-J
    (the Cyrillic А-К when the gold's letters are Cyrillic); option texts come from both."""
    if not _valid(prediction):
        return frozenset()
    listed = input_options(question)
    cyrillic = any(letter in CYRILLIC for letter in gold_letters(gold))
    labels = set(listed) or set(CYRILLIC if cyrillic else LATIN)
    return extract_letters(prediction, {**listed, **gold_option_texts(gold)}, labels)


def mcqa_acc(prediction: object, gold: str, question: str = "") -> float:
    """Corrected MCQA accuracy: the extracted option-letter set equals the gold letter set."""
    want = gold_letters(gold)
    return _pct(bool(want) and mcqa_answer(prediction, gold, question) == want)


def mcqa_acc_paper(prediction: object, gold: str, yes_no: bool = False) -> float:
    """The original rule: lower-case, drop "the right answer is", strip, compare first characters
    (both in ``abcd``; for PubMedQA both in ``yn``). Localized gold prefixes are not removed."""
    if not isinstance(prediction, str):
        return 0.0
    pred = prediction.lower().replace("the right answer is", "").strip()
    ref = gold.lower().replace("the right answer is", "").strip()
    if not pred or not ref:  # the original raised IndexError here
        return 0.0
    allowed = "yn" if yes_no else "abcd"
    return _pct(pred[0] in allowed and ref[0] in allowed and pred[0] == ref[0])


def _choice(prediction: object, labels: tuple[str, ...], synonyms: Mapping[str, str] | None = None) -> frozenset[str]:
    return extract_choice(prediction, labels, synonyms) if _valid(prediction) else frozenset()


# --- single-label tasks --------------------------------------------------------------------------


def _strip_gold(gold: str, prefix: str) -> str:
    return gold.replace(".", "").replace(prefix, "").strip().lower()


def _scores(got: frozenset[str], want: str, paper: float) -> dict[str, float | str]:
    return {"acc": _pct(got == {want}), "acc_paper": paper, "extracted": joined(got)}


def prefixed_label_scores(prediction: object, gold: str, prefix: str, labels: tuple[str, ...]) -> dict:
    """One of ``labels``, the gold and the answer led by ``prefix`` (DDXPlus task130, SEER task131)."""
    label = gold.strip().removeprefix(prefix).strip().rstrip(".").strip()
    pred = prediction.strip().removeprefix(prefix) if isinstance(prediction, str) else prediction
    paper = _pct(_valid(prediction) and _strip_gold(gold, prefix) in prediction.lower())
    return _scores(_choice(pred, (*labels, label)), fold_label(label), paper)


def outcome_answer(prediction: object) -> frozenset[str]:
    """``true``/``false`` a MIMIC-IV-ED prediction commits to (also yes/no, ``not true``, a bare 1/0)."""
    if not _valid(prediction):
        return frozenset()
    bare = {"1": "true", "0": "false"}.get(prediction.strip().rstrip("."))
    if bare:
        return frozenset({bare})
    flipped = re.sub(r"(?i)\bnot\s+(true|false)\b", lambda m: "false" if m[1].lower() == "true" else "true", prediction)
    return extract_choice(flipped, TRUE_FALSE, TRUE_FALSE_SYNONYMS)


def outcome_scores(prediction: object, gold: str) -> dict[str, float | str]:
    """MIMIC-IV-ED outcomes (117-119): True/False."""
    want = gold.strip().lower()
    paper = 0.0
    if isinstance(prediction, str):
        pred = prediction.strip().lower()
        if want == "true":
            paper = _pct("true" in pred and "false" not in pred)
        elif want == "false":
            paper = _pct("false" in pred and "true" not in pred)
    return _scores(outcome_answer(prediction), want, paper)


def factver_label_scores(prediction: object, gold: str, labels: tuple[str, ...]) -> dict[str, float | str]:
    """PubMedQA claims (task12, yes/no) and PUBHEALTH (task16, 0/1/2)."""
    want = gold.replace(".", "").strip().lower()
    paper = 0.0
    if _valid(prediction):  # original: first line of the output, stripped, lower-cased; substring
        paper = _pct(want in prediction.strip().split("\n")[0].strip().lower())
    return _scores(_choice(prediction, labels), fold_label(want), paper)


def nli_scores(prediction: object, gold: str, labels: tuple[str, ...]) -> dict[str, float | str]:
    """MedNLI discriminative (task41): one of ``labels`` (entailment / contradiction / neutral)."""
    want = gold.replace(".", "").strip().lower()
    paper = _pct(_valid(prediction) and want in prediction.lower().strip())
    return _scores(_choice(prediction, labels), want, paper)


# --- information extraction ----------------------------------------------------------------------


def _ie_paper_norm(text: str) -> str:
    return text.lower().strip().replace('"', "").replace("'", "").replace("\n", "")


def _phrases(text: str) -> frozenset[str]:
    text = re.sub(r"[\"'`]", "", text.lower())
    parts = re.split(r",\s+|;\s*|\n+", text)
    return frozenset(p for p in (" ".join(x.split()).strip(" .:;") for x in parts) if p)


def ie_scores(prediction: object, gold: str) -> dict[str, float]:
    """``contains_paper``: the original normalised containment; ``exact_match``: the same set of
    phrases (comma/semicolon/line separated; case, quotes, spacing and end punctuation ignored)."""
    if not _valid(prediction):
        return {"contains_paper": 0.0, "exact_match": 0.0}
    return {
        "contains_paper": _pct(_ie_paper_norm(gold) in _ie_paper_norm(prediction)),
        "exact_match": _pct(_phrases(prediction) == _phrases(gold)),
    }


def yes_no_maybe_scores(prediction: object, gold: str) -> dict[str, float | str]:
    """PubMedQA as MCQA (task123): one of yes / no / maybe."""
    paper = mcqa_acc_paper(prediction, gold, yes_no=True)
    return _scores(_choice(prediction, YES_NO_MAYBE), fold_label(gold), paper)


def mcqa_scores(prediction: object, gold: str, question: str) -> dict[str, float | str]:
    """Lettered MCQA: ``acc`` (corrected), ``acc_paper`` and ``extracted``."""
    got, want = mcqa_answer(prediction, gold, question), gold_letters(gold)
    acc = _pct(bool(want) and got == want)
    return {"acc": acc, "acc_paper": mcqa_acc_paper(prediction, gold), "extracted": joined(got)}


def gold_string(doc: Mapping) -> str:
    """The gold output of a doc: ``output``, or the first of ``references``."""
    gold = doc.get("output")
    if isinstance(gold, list):
        gold = gold[0] if gold else ""
    if gold is None and doc.get("references"):
        gold = doc["references"][0]
    return "" if gold is None else str(gold)
