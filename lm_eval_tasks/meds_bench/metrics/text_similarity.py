"""BLEU-1, ROUGE-L F and ROUGE-1 F on 0-100 (SPEC A4; the original method of SPEC B2).

- BLEU-1: NLTK ``sentence_bleu`` with weights (1, 0, 0, 0) and smoothing method1 over
  :func:`meds_bench.metrics.tokenization.tokenize` tokens.
- ROUGE-L F / ROUGE-1 F: the semantics of the PyPI ``rouge`` package (``Rouge().get_scores``):
  raw strings for alphabetic languages, jieba/janome tokens (unfiltered) joined by spaces for zh/ja.

An empty hypothesis or reference scores 0 (``rouge`` raises ValueError there).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from meds_bench.metrics.tokenization import prediction_tokens, reference_tokens

_SMOOTH = SmoothingFunction().method1
SEGMENTED_LANGUAGES = ("zh", "ja")


def bleu1(hyp_tokens: Sequence[str], ref_tokens: Sequence[str]) -> float:
    """NLTK ``sentence_bleu([ref], hyp, weights=(1, 0, 0, 0), smoothing_function=method1)`` x 100.

    Computed in closed form, brevity penalty x clipped unigram precision (0 when nothing matches,
    as NLTK returns), because NLTK also counts the zero-weight 2-4-grams and took a quarter of all
    scoring time. Equality with NLTK is tested.
    """
    c, r = len(hyp_tokens), len(ref_tokens)
    if c == 0 or r == 0:
        return 0.0
    ref_counts = Counter(ref_tokens)
    matches = sum(min(n, ref_counts[w]) for w, n in Counter(hyp_tokens).items())
    if matches == 0:
        return 0.0
    brevity = 1.0 if c > r else math.exp(1 - r / c)
    return 100.0 * brevity * math.exp(math.log(matches / c))


def nltk_bleu1(hyp_tokens: Sequence[str], ref_tokens: Sequence[str]) -> float:
    """The same figure through NLTK itself (reference for tests)."""
    if not hyp_tokens or not ref_tokens:
        return 0.0
    return 100.0 * float(
        sentence_bleu([list(ref_tokens)], list(hyp_tokens), weights=(1, 0, 0, 0), smoothing_function=_SMOOTH)
    )


def _rouge_sentences(text: str) -> list[list[str]]:
    """The ``rouge`` package's view of a text: pieces between '.' with whitespace normalised, split on ' '."""
    return [" ".join(piece.split()).split(" ") for piece in text.split(".") if len(piece) > 0]


def _f(overlap: int, hyp_count: int, ref_count: int) -> float:
    # Same formula (and the same 1e-8) as rouge.rouge_score.f_r_p_rouge_n / rouge_l_summary_level.
    p = overlap / hyp_count if hyp_count else 0.0
    r = overlap / ref_count if ref_count else 0.0
    return 2.0 * ((p * r) / (p + r + 1e-8))


def _positions(hyp: list[str]) -> dict[str, int]:
    """Word -> bit mask of its positions in ``hyp`` (bit j: ``hyp[j]``), for :func:`_lcs_words`."""
    match: dict[str, int] = {}
    for j, word in enumerate(hyp):
        match[word] = match.get(word, 0) | (1 << j)
    return match


def _lcs_words(ref: list[str], hyp: list[str], match: dict[str, int] | None = None) -> list[str]:
    """The LCS of ``ref`` and ``hyp`` exactly as ``rouge.rouge_score._recon_lcs`` reconstructs it.

    Hand-written because the package builds an O(n*m) dict table per sentence pair and recurses once
    per step (RecursionError on long unsegmented Chinese/Japanese text); scoring 80,000 outputs
    needs it faster. Bit-parallel LCS rows (Hyyro 2004): after row i, table[i][j] = j - popcount of
    the low j bits of rows[i]. The walk back uses the package's tie-break (diagonal on equal words,
    else up only if strictly longer).
    """
    m = len(hyp)
    full = (1 << m) - 1
    match: dict[str, int] = {}
    for j, word in enumerate(hyp):
        match[word] = match.get(word, 0) | (1 << j)
    rows = [full]
    v = full
    for word in ref:
        u = v & match.get(word, 0)
        v = ((v + u) | (v - u)) & full
        rows.append(v)
    out: list[str] = []
    i, j = len(ref), m
    while i > 0 and j > 0:
        if ref[i - 1] == hyp[j - 1]:
            out.append(ref[i - 1])
            i -= 1
            j -= 1
            continue
        up = j - (rows[i - 1] & ((1 << j) - 1)).bit_count()
        left = (j - 1) - (rows[i] & ((1 << (j - 1)) - 1)).bit_count()
        if up > left:
            i -= 1
        else:
            j -= 1
    return out


def _rouge_l(hyp_sents: list[list[str]], ref_sents: list[list[str]], hyp_vocab: set[str], ref_vocab: set[str]) -> float:
    union: set[str] = set()
    hyp_sets = [set(s) for s in hyp_sents]
    hyp_positions: list[dict[str, int] | None] = [None] * len(hyp_sents)
    for ref_s in ref_sents:
        ref_set = set(ref_s)
        for k, (hyp_s, hyp_set) in enumerate(zip(hyp_sents, hyp_sets, strict=True)):
            if (ref_set & hyp_set) <= union:  # an LCS holds only common words: nothing new can join
                continue
            if hyp_positions[k] is None:
                hyp_positions[k] = _positions(hyp_s)
            union.update(_lcs_words(ref_s, hyp_s, hyp_positions[k]))
    return 100.0 * _f(len(union), len(hyp_vocab), len(ref_vocab))


def _rouge(hyp: str, ref: str) -> tuple[float, float]:
    """(ROUGE-L F, ROUGE-1 F) of the ``rouge`` package, 0-100; 0 where it raises (empty side)."""
    hyp_sents, ref_sents = _rouge_sentences(hyp), _rouge_sentences(ref)
    if not hyp_sents or not ref_sents:
        return 0.0, 0.0
    hyp_vocab = {w for s in hyp_sents for w in s}
    ref_vocab = {w for s in ref_sents for w in s}
    rouge_1 = 100.0 * _f(len(hyp_vocab & ref_vocab), len(hyp_vocab), len(ref_vocab))
    return _rouge_l(hyp_sents, ref_sents, hyp_vocab, ref_vocab), rouge_1


def rouge_l_f(hyp: str, ref: str) -> float:
    """ROUGE-L F (summary level, ``exclusive=True``) of the ``rouge`` package, 0-100."""
    return _rouge(hyp, ref)[0]


def rouge_1_f(hyp: str, ref: str) -> float:
    """ROUGE-1 F of the ``rouge`` package (unique unigrams), 0-100."""
    return _rouge(hyp, ref)[1]


# NLTK's word tokenizer writes quotes as these tokens, which need not occur in the text itself.
_QUOTE_TOKENS = frozenset(("``", "''"))


def _shares_nothing(hyp_tokens: Sequence[str], hyp_text: str, reference: str) -> bool:
    """True when no BLEU token and no ROUGE word of the hypothesis can be one of the reference's,
    so that all three scores are 0 without tokenizing the reference (its costliest step).

    Every token of the reference (NLTK's quote tokens aside: those count as shared) and every
    ROUGE word (a whitespace-free part of the text or of one token) is a substring of the
    reference text, so a hypothesis token or word that is not can match nothing; the empty ROUGE
    word is in every string and so always counts as shared. Equality with the full computation
    is tested.
    """
    if any(t in _QUOTE_TOKENS or t in reference for t in hyp_tokens):
        return False
    return not any(w in reference for sent in _rouge_sentences(hyp_text) for w in sent)


# Characters from which NLTK's word tokenizer makes quote tokens, and the ROUGE sentence end.
_QUOTE_OR_PERIOD = frozenset("\"'`.")


def _disjoint_characters(prediction: str, reference: str) -> bool:
    """True when no character of the prediction occurs in the reference, and the prediction holds no
    quote or period: then all three scores are 0 without tokenizing either text.

    Every BLEU token and every non-empty ROUGE word of the prediction is then a non-empty substring
    of it (a tokenizer only splits; quote tokens need a quote character; an empty ROUGE word needs a
    period-separated piece that is only whitespace, so a period or an all-whitespace text, which
    :func:`text_scores` has already answered), and no such substring can occur in the reference. This is
    the case of answers in one script scored against golds in another (Latin letters against Chinese
    or Japanese), and spares loading the segmenters. Equality with the full computation is tested.
    """
    chars = set(prediction)
    return not (chars & _QUOTE_OR_PERIOD) and not any(c in reference for c in chars)


def text_scores(prediction: object, reference: object, language: str = "en", strip: bool = False) -> dict[str, float]:
    """``bleu1``, ``rougeL`` and ``rouge1`` of one prediction, 0-100, as the original computed them.

    ``strip``: strip both texts first, as the original did for the rationale tasks (51-56) and for
    task100 (elsewhere it scored them as generated; trailing whitespace after a final period adds an
    empty word for ``rouge`` and leading/trailing whitespace adds jieba/janome tokens).
    """
    if not isinstance(prediction, str) or not prediction.strip() or not isinstance(reference, str):
        return {"bleu1": 0.0, "rougeL": 0.0, "rouge1": 0.0}
    if strip:
        prediction, reference = prediction.strip(), reference.strip()
    if _disjoint_characters(prediction, reference):
        return {"bleu1": 0.0, "rougeL": 0.0, "rouge1": 0.0}
    segmented = language in SEGMENTED_LANGUAGES
    hyp_tokens = prediction_tokens(prediction, language)
    hyp_text = " ".join(hyp_tokens) if segmented else prediction
    if _shares_nothing(hyp_tokens, hyp_text, reference):
        return {"bleu1": 0.0, "rougeL": 0.0, "rouge1": 0.0}
    ref_tokens = reference_tokens(reference, language)
    rouge_l, rouge_1 = _rouge(hyp_text, " ".join(ref_tokens) if segmented else reference)
    return {"bleu1": bleu1(hyp_tokens, ref_tokens), "rougeL": rouge_l, "rouge1": rouge_1}
