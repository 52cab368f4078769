"""Closed-set answer extraction (SPEC A4): option letters in the six MCQA languages, option texts,
yes/no/maybe, True/False, digit labels and label names. Every function returns the *set* of
answers a prediction gives; a scorer counts it correct only when that set equals the gold set, so
an answer that names several labels is wrong."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

LETTERS = "ABCDEFGHIJ"
# Cyrillic capitals that look like Latin option letters (Russian outputs often use them).
_HOMOGLYPHS = str.maketrans({"А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H"})

# "The answer is X" in the six languages, including the gold prefixes of SPEC B1.
_ANSWER_PHRASE = re.compile(
    r"(?:right|correct|final|best)?\s*answers?\s*(?:is|are|would be|:)?|正确答案(?:是|为)?|答案(?:是|为|应为)?"
    r"|正しい答え(?:は)?|答え(?:は)?|正解(?:は)?|bonnes?\s+réponses?\s*(?:est|sont)?|réponses?\s*(?:correctes?)?\s*(?:est|sont)?"
    r"|правильн\w*\s+ответ\w*|ответ\w*|respuestas?\s+correctas?\s*(?:es|son)?|respuestas?\s*(?:es|son)?",
    re.IGNORECASE,
)
_LETTER_AFTER_PHRASE = re.compile(
    r"^[\s:：\-–—]*(?i:option|choice|opción|opci[oó]n|вариант|选项)?\s*[\(\[（]?([A-J])(?![A-Za-z0-9])"
)
_LEADING_LETTER = re.compile(r"^[\s\*]*[\(\[（]?([A-J])(?:[\)\]）.．:：,、]|\s|$)")
_MORE_LETTERS = re.compile(
    r"(?:[,，、;；]|\s(?:and|et|y|и|と|及)\s)\s*[\(\[（]?([A-J])[\)\]）]?\s*(?=[:：.．]|$|[,，、;；])"
)
_ALTERNATIVE = re.compile(r"^[\s:：]*[\(\[（]?[A-J][\)\]）]?\s*(?:or|ou|o|или|或|か|/)\s*[\(\[（]?[A-J](?![A-Za-z0-9])")


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), Cyrillic letter homoglyphs, collapsed spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_HOMOGLYPHS).replace("*", "")
    return " ".join(text.split())


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", unicodedata.normalize("NFKC", text).casefold()).split())


def gold_letters(gold: str) -> frozenset[str]:
    """Option letters of an MCQA gold (``The right answer is B: x``; IgakuQA ``A: x, C: y``)."""
    return frozenset(re.findall(r"(?<![A-Za-z])([A-J])\s*[:：]", normalize(gold)))


def gold_option_texts(gold: str) -> dict[str, str]:
    """Letter -> option text stated by an MCQA gold (``X: text``; text ends at ``, Y:`` or ``です``)."""
    text = normalize(gold)
    parts = re.split(r"(?:^|[,，、]\s*|\s)([A-J])\s*[:：]\s*", text)
    out = {}
    for k in range(1, len(parts) - 1, 2):
        option = re.sub(r"\s*です\s*$", "", parts[k + 1]).strip()
        if option:
            out[parts[k]] = option
    return out


def input_options(text: str) -> dict[str, str]:
    """Letter -> option text from option lines of a question (``A. x``, ``(B) y``, ``C: z``)."""
    out = {}
    for line in text.splitlines():
        found = re.match(r"^\s*[\(\[]?([A-J])[\)\]]?\s*[.．:：)]\s*(\S.*)$", normalize(line))
        if found:
            out[found.group(1)] = found.group(2).strip()
    return out


def _letters_from(rest: str) -> frozenset[str]:
    if _ALTERNATIVE.match(rest):
        return frozenset()  # "A or B" commits to nothing
    first = _LETTER_AFTER_PHRASE.match(rest) or _LEADING_LETTER.match(rest)
    if not first:
        return frozenset()
    letters = {first.group(1)}
    line = rest.split("\n", 1)[0]
    letters.update(_MORE_LETTERS.findall(line[first.end() :]))
    return frozenset(letters)


def extract_letters(prediction: str, options: Mapping[str, str] | None = None) -> frozenset[str]:
    """Option letters a prediction commits to ({} when none or when it hedges between options).

    Tried in order: an answer phrase in any of the six languages followed by a letter; a letter at
    the start (``B``, ``(B)``, ``B.``, ``B: text``); the text of exactly one option.
    """
    text = normalize(prediction)
    if not text:
        return frozenset()
    bare = re.fullmatch(r"[\(\[]?([a-j])[\)\].:]?", text)  # a lone lower-case letter: "b", "(c)"
    if bare:
        return frozenset({bare.group(1).upper()})
    for phrase in _ANSWER_PHRASE.finditer(text):
        letters = _letters_from(text[phrase.end() :])
        if letters:
            return letters
    letters = _letters_from(text)
    if letters:
        return letters
    return _option_text_match(text, options or {})


def _option_text_match(text: str, options: Mapping[str, str]) -> frozenset[str]:
    folded = _fold(text)
    spans = []
    for letter, option in options.items():
        needle = _fold(option)
        if needle:
            spans += [(m.start(), m.end(), letter) for m in re.finditer(rf"(?<!\w){re.escape(needle)}(?!\w)", folded)]
    # A mention inside a longer option's mention ("vitamin b1" in "vitamin b12 x") does not count.
    kept = {c for a, b, c in spans if not any(x <= a and b <= y and (y - x) > (b - a) for x, y, _ in spans)}
    return frozenset(kept) if len(kept) == 1 else frozenset()


@lru_cache(maxsize=256)
def _label_pattern(labels: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = sorted({_fold(lab) for lab in labels if _fold(lab)}, key=len, reverse=True)
    body = "|".join(re.escape(a) for a in alternatives)
    return re.compile(rf"(?<!\w)(?:(not|no|without|non|pas|нет|не)\s+)?({body})(?!\w)")


def find_labels(text: str, labels: Iterable[str]) -> frozenset[str]:
    """Folded label names mentioned in ``text`` (case/punctuation-insensitive, whole words, longest
    match first so ``unstable angina`` is not also ``stable angina``); negated mentions
    (``not``/``no``/``without`` + label) are left out."""
    pattern = _label_pattern(tuple(labels))
    return frozenset(m.group(2) for m in pattern.finditer(_fold(text)) if not m.group(1))


def fold_label(label: str) -> str:
    """The folded form :func:`find_labels` returns for a label."""
    return _fold(label)


def extract_choice(text: str, labels: Iterable[str], synonyms: Mapping[str, str] | None = None) -> frozenset[str]:
    """Labels a short-answer prediction commits to: those of its first sentence when it names exactly
    one there (``Yes. ... no evidence of harm ...`` answers yes), else every label it names."""
    synonyms = {_fold(k): _fold(v) for k, v in (synonyms or {}).items()}
    vocabulary = (*labels, *synonyms)
    text = re.sub(r"^\W*(?:the\s+)?(?:final\s+|correct\s+)?answer\s*(?:is\s*)?:?", "", text.strip(), flags=re.I)
    first_sentence = re.split(r"[.!?\n;]", text, maxsplit=1)[0]
    for part in (first_sentence, text):
        found = frozenset(synonyms.get(f, f) for f in find_labels(part, vocabulary))
        if len(found) == 1 or part is text:
            return found
    return frozenset()
