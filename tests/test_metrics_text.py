"""BLEU-1 / ROUGE-L / ROUGE-1 (SPEC A4, B2): hand-computed values, equality with the ``rouge``
package and NLTK, and tokenization (real Punkt, unfiltered jieba/janome) without downloads. The
comparison with the original method on realistic outputs is in test_metrics_text_original.py."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.tokenize import NLTKWordTokenizer
from rouge import Rouge

from meds_bench.metrics.text_similarity import bleu1, nltk_bleu1, rouge_1_f, rouge_l_f, text_scores
from meds_bench.metrics.tokenization import _WORD_TOKENIZER, split_sentences, tokenize, word_tokenize


def _rouge_pkg(hyp: str, ref: str) -> tuple[float, float]:
    try:
        s = Rouge().get_scores(hyp, ref)[0]
    except ValueError:  # the package raises on an empty side; we score 0
        return 0.0, 0.0
    return 100 * s["rouge-l"]["f"], 100 * s["rouge-1"]["f"]


def test_bleu1_hand_computed():
    # 3 of 4 hypothesis unigrams match, hyp (4) shorter than ref (5): BP = exp(1 - 5/4).
    assert bleu1(list("abcx"), list("abcde")) == pytest.approx(100 * math.exp(1 - 5 / 4) * 3 / 4)
    # Clipping: "a" counted once; hyp longer than ref, BP = 1.
    assert bleu1(["a", "a", "a"], ["a", "b"]) == pytest.approx(100 / 3)
    assert bleu1(["x"], ["a"]) == 0.0 and bleu1([], ["a"]) == 0.0 and bleu1(["a"], []) == 0.0


def test_rouge_hand_computed():
    # rouge package semantics: unique words; "the cat sat" vs "the cat ran": LCS words {the, cat}.
    f = 2 * (2 / 3 * 2 / 3) / (2 / 3 + 2 / 3 + 1e-8)
    assert rouge_l_f("the cat sat", "the cat ran") == pytest.approx(100 * f)
    assert rouge_1_f("the cat sat", "the cat ran") == pytest.approx(100 * f)
    # Order matters for ROUGE-L only: "b a" vs "a b" -> LCS 1 word, ROUGE-1 2 words.
    assert rouge_l_f("b a", "a b") == pytest.approx(100 * 2 * 0.25 / (1 + 1e-8))
    assert rouge_1_f("b a", "a b") == pytest.approx(100 * 1 / (1 + 1e-8))


def test_rouge_l_is_what_the_tables_call_rouge_not_rouge_1():
    hyp, ref = "pain chest acute", "acute chest pain"
    assert rouge_1_f(hyp, ref) > 99 and rouge_l_f(hyp, ref) < 40


@pytest.mark.parametrize("empty", ["", "   ", "...", None, float("nan"), 3])
def test_empty_or_non_string_prediction_scores_zero_without_raising(empty):
    # The original: `rouge` raised ValueError on empty text, `.strip()` crashed on NaN.
    assert text_scores(empty, "A reference sentence.") == {"bleu1": 0.0, "rougeL": 0.0, "rouge1": 0.0}


def test_long_unsegmented_text_does_not_hit_the_recursion_limit():
    text = " ".join(f"w{i % 700}" for i in range(1500))  # rouge's recursive walk-back overflows here
    assert rouge_l_f(text, text) == pytest.approx(100, abs=1e-4)


_words = st.lists(st.sampled_from(["a", "b", "c", "d", "e", ".", "a.", " ", "", "x y", "\n"]), max_size=30)


@settings(max_examples=300, deadline=None)
@given(_words, _words)
def test_rouge_equals_the_rouge_package(h, r):
    hyp, ref = " ".join(h), " ".join(r)
    got = (rouge_l_f(hyp, ref), rouge_1_f(hyp, ref))
    assert got == pytest.approx(_rouge_pkg(hyp, ref), abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("abcdefg"), max_size=20), st.lists(st.sampled_from("abcdefgh"), max_size=20))
def test_bleu1_equals_nltk_sentence_bleu(h, r):
    assert bleu1(h, r) == pytest.approx(nltk_bleu1(h, r), abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(list("ab XY.,;:!?'\"()[]-–…«»“”’$%&/0123 éж中\n") + ["n't", "can't", "..."]), max_size=40)
)
def test_fast_word_tokenizer_equals_nltk_word_tokenizer(pieces):
    text = "".join(pieces)
    assert _WORD_TOKENIZER.tokenize(text) == NLTKWordTokenizer().tokenize(text)


# Expected tokens worked out by hand from NLTK's Punkt rules and English parameters: a period ends a
# sentence unless the word before it is a known abbreviation ("dr", "jan", "p.m", the initial "e")
# or the next word makes it a collocation; "e.g" is not in the English list, so "e.g." ends a sentence
# even before a lower-case word. The word tokenizer then splits off only each sentence's final period.
WORD_TOKENIZE_CASES = [
    (
        "Seen by Dr. Smith at 3 p.m. on Jan. 5. He improved.",
        ["Seen", "by", "Dr.", "Smith", "at", "3", "p.m.", "on", "Jan.", "5", ".", "He", "improved", "."],
    ),
    (
        "Chest pain, e.g. pressure. it resolved. then it recurred.",
        ["Chest", "pain", ",", "e.g", ".", "pressure", ".", "it", "resolved", ".", "then", "it", "recurred", "."],
    ),
    ("Infection by E. coli was seen.", ["Infection", "by", "E.", "coli", "was", "seen", "."]),
    ('He said "stop." Then left.', ["He", "said", "``", "stop", ".", "''", "Then", "left", "."]),
    (
        "The patient didn't respond. Therefore, a CT scan (with contrast) was ordered.",
        ["The", "patient", "did", "n't", "respond", ".", "Therefore", ",", "a", "CT", "scan", "(", "with",
         "contrast", ")", "was", "ordered", "."],
    ),
    ("Dosis: 5 mg/kg; ¿es seguro? Sí.", ["Dosis", ":", "5", "mg/kg", ";", "¿es", "seguro", "?", "Sí", "."]),
    ("Боль в груди. Одышка!", ["Боль", "в", "груди", ".", "Одышка", "!"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "tokens"), WORD_TOKENIZE_CASES)
def test_word_tokenize_follows_punkt_english(text, tokens):
    assert word_tokenize(text) == tokens


def test_punkt_sentence_split_hand_computed():
    # Abbreviations and initials do not end a sentence; a closing quote stays with its sentence.
    assert split_sentences("Seen by Dr. Smith. Infection by E. coli resolved. Next visit in Jan. 2025.") == [
        "Seen by Dr. Smith.",
        "Infection by E. coli resolved.",
        "Next visit in Jan. 2025.",
    ]
    assert split_sentences('He said "stop." Then left.') == ['He said "stop."', "Then left."]
    assert split_sentences("It resolved. then it recurred.") == ["It resolved.", "then it recurred."]


def test_segmenters_run_offline_and_keep_whitespace_tokens():
    assert tokenize("禁水后尿液不能浓缩", "zh") == ["禁水后", "尿液", "不能", "浓缩"]
    assert tokenize("急性虫垂炎では圧痛を生じる", "ja")[:2] == ["急性", "虫垂炎"]
    # The original kept jieba's and janome's whitespace tokens; they count for BLEU.
    assert tokenize(" 尿液 浓缩", "zh") == [" ", "尿液", " ", "浓缩"]
    ja = "CT 検査で  異常なし。\n次に"
    assert tokenize(ja, "ja") == ["CT", " ", "検査", "で", "  ", "異常", "なし", "。", "\n", "次に"]
