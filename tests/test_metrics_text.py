"""BLEU-1 / ROUGE-L / ROUGE-1 (SPEC A4, B2): hand-computed values, equality with the ``rouge``
package and NLTK, tokenization without downloads, and acceptance 1 (the original method)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.tokenize import NLTKWordTokenizer, TreebankWordTokenizer
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
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


# What nltk.word_tokenize gives for these (Punkt splits before a capitalised word after ". ").
WORD_TOKENIZE_CASES = [
    (
        "The patient didn't respond. Therefore, a CT scan (with contrast) was ordered.",
        ["The", "patient", "did", "n't", "respond", ".", "Therefore", ",", "a", "CT", "scan", "(", "with",
         "contrast", ")", "was", "ordered", "."],
    ),
    (
        "Le patient a 45 ans. Il présente une douleur thoracique aiguë.",
        ["Le", "patient", "a", "45", "ans", ".", "Il", "présente", "une", "douleur", "thoracique", "aiguë", "."],
    ),
    ("Dosis: 5 mg/kg; ¿es seguro? Sí.", ["Dosis", ":", "5", "mg/kg", ";", "¿es", "seguro", "?", "Sí", "."]),
    ("Боль в груди. Одышка!", ["Боль", "в", "груди", ".", "Одышка", "!"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "tokens"), WORD_TOKENIZE_CASES)
def test_word_tokenize_matches_nltk_word_tokenize_without_punkt(text, tokens):
    assert word_tokenize(text) == tokens


def test_sentence_split_keeps_initials_and_lowercase_continuations():
    assert split_sentences("Infection by E. coli was seen. it resolved.") == [
        "Infection by E. coli was seen. it resolved."
    ]
    assert split_sentences('He said "stop." Then left.') == ['He said "stop."', "Then left."]


def test_segmenters_run_offline():
    assert tokenize("禁水后尿液不能浓缩", "zh") == ["禁水后", "尿液", "不能", "浓缩"]
    assert tokenize("急性虫垂炎では圧痛を生じる", "ja")[:2] == ["急性", "虫垂炎"]


# --- acceptance 1: the six rationale tasks against an independent implementation of the original ---

RATIONALES = {
    "zh": (
        "禁水后尿液不能浓缩，注射加压素后尿渗透压明显升高，说明病因是加压素分泌不足。",
        "禁水试验后尿液不能浓缩，注射加压素后尿渗透压升高，因此为中枢性尿崩症。",
    ),
    "en": (
        "Sudden pleuritic pain with absent breath sounds suggests air in the pleural space. "
        "This is typical of a spontaneous pneumothorax.",
        "Absent breath sounds and sudden pain in a tall young man suggest a primary spontaneous pneumothorax. "
        "Air in the pleural space explains it.",
    ),
    "fr": (
        "L'adrénaline intramusculaire corrige la vasodilatation et le bronchospasme. C'est le traitement d'urgence.",
        "Le traitement d'urgence de l'anaphylaxie est l'adrénaline intramusculaire. "
        "Elle corrige rapidement la vasodilatation.",
    ),
    "ja": (
        "マックバーニー点は臍と右上前腸骨棘を結ぶ線上にあり、急性虫垂炎では圧痛を生じる。",
        "急性虫垂炎ではマックバーニー点に圧痛を認めることが多い。",
    ),
    "ru": (
        "Симптом Щёткина указывает на раздражение брюшины. Он часто развивается при остром аппендиците.",
        "При остром аппендиците раздражение брюшины проявляется симптомом Щёткина. Это важный признак.",
    ),
    "es": (
        "La cetoacidosis cursa con deshidratación intensa y déficit de insulina. "
        "El tratamiento combina líquidos e insulina.",
        "El tratamiento inicial de la cetoacidosis combina líquidos intravenosos e insulina. "
        "Hay que vigilar el potasio.",
    ),
}
TASK_OF = {"zh": "task51", "en": "task52", "fr": "task53", "ja": "task54", "ru": "task55", "es": "task56"}


def _original_method(pred: str, ref: str, lang: str) -> tuple[float, float]:
    """SPEC B2: NLTK sentence BLEU-1 (method1) on word_tokenize/jieba/janome tokens; rouge-l f of the
    `rouge` package on raw text (zh/ja: segmented, space-joined). word_tokenize is spelled out as
    Punkt would split these plain sentences (". " before a capital) + the Treebank tokenizer."""
    if lang == "zh":
        import jieba

        hyp, gold = jieba.lcut(pred), jieba.lcut(ref)
        pred, ref = " ".join(hyp), " ".join(gold)
    elif lang == "ja":
        from janome.tokenizer import Tokenizer

        tok = Tokenizer()
        hyp, gold = [t.surface for t in tok.tokenize(pred)], [t.surface for t in tok.tokenize(ref)]
        pred, ref = " ".join(hyp), " ".join(gold)
    else:
        tb = TreebankWordTokenizer()

        def split(text: str) -> list[str]:
            parts = text.split(". ")
            return [t for k, p in enumerate(parts) for t in tb.tokenize(p + ("." if k < len(parts) - 1 else ""))]

        hyp, gold = split(pred), split(ref)
    bleu = sentence_bleu([gold], hyp, weights=(1, 0, 0, 0), smoothing_function=SmoothingFunction().method1)
    rouge_l = Rouge().get_scores(pred, ref)[0]["rouge-l"]["f"]
    return 100 * bleu, 100 * rouge_l


def test_acceptance_1_rationale_scores_reproduce_the_original_method(tmp_path):
    import csv

    from meds_bench.metrics.rescore import score_files

    rows = []
    for lang, (pred, ref) in RATIONALES.items():
        for k in range(3):  # a few variants per language: the prediction, swapped, and self
            p, r = [(pred, ref), (ref, pred), (pred, pred)][k]
            rows.append({"prediction": p, "reference": r, "task": TASK_OF[lang], "lang": lang})
    path = tmp_path / "rationale.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["prediction", "reference", "task", "lang"])
        writer.writeheader()
        writer.writerows(rows)
    report = score_files([path])
    for lang in TASK_OF:
        mine = [r for r in rows if r["lang"] == lang]
        orig = [_original_method(r["prediction"], r["reference"], lang) for r in mine]
        name = f"meds_bench_rationale_{lang}"
        result = report["results"][name]
        assert result["bleu1,none"] == pytest.approx(sum(o[0] for o in orig) / 3, abs=0.5), lang
        assert result["rougeL,none"] == pytest.approx(sum(o[1] for o in orig) / 3, abs=0.5), lang
