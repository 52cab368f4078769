"""The performance shortcuts of issue 14 give exactly what the code they stand in for gives."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meds_bench.metrics import extraction, text_similarity
from meds_bench.metrics.extraction import _WORDCHAR, _whole_mentions
from meds_bench.task import DocList

# Texts built from pieces that exercise tokenizer quirks: quotes, periods, whitespace runs, CJK.
PIECES = ["the", "The", "pain", "acute", "'s", '"', "''", "``", ".", ". ", "  ", "\n", "(", ")", "--", "n't",
          "胸痛", "患者", "。", "は", "急性", "lol", "a", "A", "é", "боль", "..."]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=12).map(lambda xs: "".join(xs) if len(xs) % 2 else " ".join(xs))
LANGUAGES = ["en", "fr", "zh", "ja"]


def _full_text_scores(prediction, reference, language, strip=False, monkeypatch=None):
    monkeypatch.setattr(text_similarity, "_shares_nothing", lambda *a: False)
    monkeypatch.setattr(text_similarity, "_disjoint_characters", lambda *a: False)
    try:
        return text_similarity.text_scores(prediction, reference, language, strip=strip)
    finally:
        monkeypatch.undo()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hyp=texts, ref=texts, language=st.sampled_from(LANGUAGES), strip=st.booleans())
def test_zero_overlap_shortcut_equals_full_scores(hyp, ref, language, strip, monkeypatch):
    fast = text_similarity.text_scores(hyp, ref, language, strip=strip)
    assert fast == _full_text_scores(hyp, ref, language, strip, monkeypatch)


def test_shortcut_taken_only_without_shared_words(monkeypatch):
    taken = []
    real = text_similarity._shares_nothing
    monkeypatch.setattr(text_similarity, "_shares_nothing", lambda *a: taken.append(real(*a)) or taken[-1])
    # ("l" and "o" occur in the reference, so the characters alone do not settle it)
    assert text_similarity.text_scores("lol", "The old patient has acute pain.", "en")["bleu1"] == 0.0
    # "pain" is shared: the full path runs and scores it (BLEU-1 = exp(1 - 6/1) x 1/1 x 100).
    assert text_similarity.text_scores("pain", "The patient has acute pain.", "en")["bleu1"] == pytest.approx(
        100 * 2.718281828459045 ** (1 - 6)
    )
    # A quote token may stand for a quote of the reference: never a shortcut.
    text_similarity.text_scores('"', 'He said "no".', "en")
    assert taken == [True, False, False]


def test_disjoint_characters_answer_without_tokenizing(monkeypatch):
    from meds_bench.metrics import tokenization

    def no_tokenizing(text, language):
        raise AssertionError(f"tokenized {text!r}")

    monkeypatch.setattr(tokenization, "tokenize", no_tokenizing)
    tokenization._short_prediction_tokens.cache_clear()
    zero = {"bleu1": 0.0, "rougeL": 0.0, "rouge1": 0.0}
    assert text_similarity.text_scores("lol", "患者出现急性胸痛。", "zh") == zero
    assert text_similarity.text_scores("lol ok", "患者は胸痛を呈している", "ja", strip=True) == zero
    # a shared character, a period or a quote: the texts are tokenized
    for prediction, reference in [("lol", "患者l"), ("lol.", "患者"), ('"lol"', "患者"), ("lol'", "患者")]:
        with pytest.raises(AssertionError, match="tokenized"):
            text_similarity.text_scores(prediction, reference, "zh")
    tokenization._short_prediction_tokens.cache_clear()


def test_short_predictions_are_tokenized_once_long_ones_each_time(monkeypatch):
    from meds_bench.metrics import tokenization

    calls = []
    real = tokenization.tokenize
    monkeypatch.setattr(tokenization, "tokenize", lambda text, language: calls.append(text) or real(text, language))
    tokenization._short_prediction_tokens.cache_clear()
    short, long = "Yes, it is.", "word " * 50
    assert tokenization.prediction_tokens(short, "en") == ["Yes", ",", "it", "is", "."]
    assert tokenization.prediction_tokens(short, "en") is tokenization.prediction_tokens(short, "en")
    tokenization.prediction_tokens(long, "en")
    tokenization.prediction_tokens(long, "en")
    assert calls == [short, long, long]
    tokenization._short_prediction_tokens.cache_clear()


def _regex_mentions(text: str, needle: str) -> list[tuple[int, int]]:
    """The pattern option_text_match compiled per option before issue 14."""
    left = rf"(?<![{_WORDCHAR}])" if re.match(rf"[{_WORDCHAR}]", needle) else ""
    right = rf"(?![{_WORDCHAR}])" if re.search(rf"[{_WORDCHAR}]$", needle) else ""
    return [m.span() for m in re.finditer(rf"{left}{re.escape(needle)}{right}", text)]


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(alphabet="ab b1é-.胸 ", max_size=20),
    needle=st.text(alphabet="ab b1é-.胸 ", min_size=1, max_size=4),
)
def test_whole_mentions_equal_the_regex(text, needle):
    assert _whole_mentions(text, needle) == _regex_mentions(text, needle)


def test_whole_mentions_examples():
    assert _whole_mentions("vitamin b1 and vitamin b12", "vitamin b1") == [(0, 10)]
    assert _whole_mentions("----", "--") == [(0, 2), (2, 4)]  # no word ends: no boundary checks
    assert _whole_mentions("aaaa aa", "aa") == [(5, 7)]
    assert extraction.option_text_match("I think it is not aspirin but heparin", {"A": "Aspirin", "B": "Heparin"}) == {
        "B"
    }


def test_doclist_features_are_the_field_names():
    docs = DocList([{"id": 0, "input": "q", "output": "a"}, {"id": 1, "input": "r", "output": "b"}])
    assert list(docs.features.keys()) == ["id", "input", "output"]
    assert docs[1]["input"] == "r" and len(docs) == 2
    assert DocList().features == {}
