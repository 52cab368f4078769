"""Word tokenization per language for BLEU and ROUGE (SPEC A4, B2): jieba (zh), janome (ja),
NLTK's Treebank-style word tokenizer for the others. Nothing is downloaded at run time."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from nltk.tokenize import NLTKWordTokenizer

try:  # nltk >= 3.9.3 wraps its patterns in a ReDoS time-out guard
    from nltk.redos import TimedPattern
except ImportError:  # older nltk: the patterns are plain re patterns already
    TimedPattern = None

# The original used ``nltk.word_tokenize``: Punkt sentence splitting, then NLTKWordTokenizer on each
# sentence. Punkt's model is a separate download (unavailable offline), so sentences are split here
# with a rule that gives Punkt's split on ordinary prose: after ., ! or ? (optionally followed by a
# closing quote/bracket) when whitespace and an upper-case letter, digit or opening quote follow.
# Only the sentence-final period is separated by the word tokenizer, so the split matters.
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[A-Z]\.)([\"'\)\]»]*)\s+(?=[\"'«(\[]?[A-ZÀ-ÖØ-ÞА-ЯЁ0-9¿¡])")


def _plain(pattern):
    """The stdlib-``re`` form of an NLTK ReDoS-guarded pattern (same pattern text and flags)."""
    if TimedPattern is not None and isinstance(pattern, TimedPattern):
        rx = pattern._rx
        return re.compile(rx.pattern, rx.flags & (re.I | re.M | re.S | re.X))
    return pattern


class _WordTokenizer(NLTKWordTokenizer):
    """NLTKWordTokenizer with its patterns compiled by stdlib ``re``: the same rules about twice as fast
    (nltk>=3.9 routes each substitution through the ``regex`` module with a time-out guard, which
    dominated scoring time). Equivalence with NLTKWordTokenizer is tested."""

    STARTING_QUOTES = [(_plain(p), r) for p, r in NLTKWordTokenizer.STARTING_QUOTES]
    PUNCTUATION = [(_plain(p), r) for p, r in NLTKWordTokenizer.PUNCTUATION]
    PARENS_BRACKETS = (_plain(NLTKWordTokenizer.PARENS_BRACKETS[0]), NLTKWordTokenizer.PARENS_BRACKETS[1])
    CONVERT_PARENTHESES = [(_plain(p), r) for p, r in NLTKWordTokenizer.CONVERT_PARENTHESES]
    DOUBLE_DASHES = (_plain(NLTKWordTokenizer.DOUBLE_DASHES[0]), NLTKWordTokenizer.DOUBLE_DASHES[1])
    ENDING_QUOTES = [(_plain(p), r) for p, r in NLTKWordTokenizer.ENDING_QUOTES]
    CONTRACTIONS2 = [_plain(p) for p in NLTKWordTokenizer.CONTRACTIONS2]
    CONTRACTIONS3 = [_plain(p) for p in NLTKWordTokenizer.CONTRACTIONS3]


_WORD_TOKENIZER = _WordTokenizer()


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences (a Punkt stand-in that needs no model file)."""
    parts = _SENTENCE_END.split(text)
    # re.split keeps the captured closing quotes: glue them back onto the preceding sentence.
    sentences = [parts[0]]
    for i in range(1, len(parts), 2):
        sentences[-1] += parts[i]
        sentences.append(parts[i + 1])
    return [s for s in sentences if s.strip()]


def word_tokenize(text: str) -> list[str]:
    """Tokens as ``nltk.word_tokenize`` gives them for ordinary prose, without Punkt."""
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


def tokenize(text: str, language: str) -> list[str]:
    """Tokens of ``text`` for BLEU: jieba for ``zh``, janome for ``ja``, word tokenization otherwise.

    Whitespace-only tokens of the segmenters are dropped (they vanish from the space-joined form
    used for ROUGE anyway).
    """
    if language == "zh":
        return [t for t in _jieba().lcut(text) if t.strip()]
    if language == "ja":
        return [t for t in _janome().tokenize(text, wakati=True) if t.strip()]
    return word_tokenize(text)
