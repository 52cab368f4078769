"""Closed-set extraction and accuracy (SPEC A4) beside the original rules (SPEC B2), with one test
per defect of B2 showing the ``*_paper`` figure and the corrected one."""

from __future__ import annotations

import pytest

from meds_bench.catalog import DDXPLUS_LABELS, HEALTHFACT_LABELS, NLI_LABELS, SEER_LABELS, YES_NO, get_task
from meds_bench.metrics import closed_set as cs
from meds_bench.metrics.extraction import extract_letters, gold_letters
from meds_bench.metrics.scorers import score_prediction

Q = "Which drug?\nA. Methimazole\nB. Levothyroxine\nC. Radioactive iodine\nD. Propranolol"
G57 = "The right answer is B: Levothyroxine"


@pytest.mark.parametrize(
    "prediction",
    ["B", "b", "(B)", "B.", "**B**", "Option B", "Answer: B", "The answer is B.", G57, "Levothyroxine",
     "levothyroxine.", "The correct answer is (B) Levothyroxine.", "Ｂ"],
)  # fmt: skip
def test_mcqa_english_phrasings_are_read(prediction):
    assert cs.mcqa_acc(prediction, G57, Q) == 100.0


@pytest.mark.parametrize("prediction", ["A or B", "B and C", "A", "Answer: A", "", "   ", "I am not sure."])
def test_mcqa_wrong_or_hedged_answers_score_zero(prediction):
    assert cs.mcqa_acc(prediction, G57, Q) == 0.0


@pytest.mark.parametrize(
    ("gold", "prediction"),
    [
        ("正确答案是 B: 格雷夫斯病", "答案是B"),
        ("正确答案是 B: 格雷夫斯病", "正确答案是 B: 格雷夫斯病"),
        ("正确答案是 B: 格雷夫斯病", "格雷夫斯病"),
        ("正しい答えは A: カルシウム拮抗薬 です", "正しい答えは A: カルシウム拮抗薬 です"),
        ("Les bonnes réponses est B: Inhibition de l'ATPase", "La bonne réponse est B"),
        ("Правильные ответ: B: Инсулин", "Правильный ответ: В"),  # Cyrillic В
        ("La respuesta correcta es: B: Hipopotasemia", "La respuesta correcta es: B"),
    ],
)
def test_mcqa_six_languages(gold, prediction):
    assert cs.mcqa_acc(prediction, gold) == 100.0


def test_b2_mcqa_localized_gold_prefix_always_scored_zero():
    gold = "正确答案是 B: 格雷夫斯病"
    assert cs.mcqa_acc_paper("B", gold) == 0.0  # "正" is not an option letter
    assert cs.mcqa_acc("B", gold) == 100.0


def test_b2_mcqa_option_e_never_scored():
    gold = "The right answer is E: Thiamine"
    assert cs.mcqa_acc_paper("E", gold) == 0.0
    assert cs.mcqa_acc("E", gold) == 100.0


def test_b2_mcqa_multi_answer_gold_judged_on_first_letter():
    gold = "正しい答えは A: 抗菌薬, C: 輸液 です"
    assert gold_letters(gold) == {"A", "C"}
    assert cs.mcqa_acc_paper("A: 抗菌薬", gold.replace("正しい答えは ", "")) == 100.0  # only "a" compared
    assert cs.mcqa_acc("A: 抗菌薬", gold) == 0.0
    assert cs.mcqa_acc("A: 抗菌薬, C: 輸液", gold) == 100.0
    assert cs.mcqa_acc("正しい答えは A, C", gold) == 100.0


def test_b2_mcqa_answer_prefix_read_as_option_a():
    gold = "The right answer is A: Methimazole"
    assert cs.mcqa_acc_paper("Answer: B", gold) == 100.0  # "a" of "answer"
    assert cs.mcqa_acc("Answer: B", gold, Q) == 0.0
    assert cs.mcqa_acc_paper("According to the guidelines, D", gold) == 100.0
    assert cs.mcqa_acc("According to the guidelines, D", gold, Q) == 0.0


def test_b2_mcqa_empty_output_no_index_error():
    assert cs.mcqa_acc_paper("", G57) == 0.0 and cs.mcqa_acc("", G57) == 0.0
    assert cs.mcqa_acc_paper(None, G57) == 0.0 and cs.mcqa_acc(float("nan"), G57) == 0.0


def test_b2_pubmedqa_maybe_never_scored():
    assert cs.yes_no_maybe_scores("maybe", "maybe") == {"acc": 100.0, "acc_paper": 0.0, "extracted": "maybe"}


def test_b2_pubmedqa_nan_read_as_no():
    # The original turned a missing output into the string "nan", whose "n" equals "no".
    assert cs.yes_no_maybe_scores("nan", "no") == {"acc": 0.0, "acc_paper": 100.0, "extracted": ""}
    assert cs.yes_no_maybe_scores(float("nan"), "no") == {"acc": 0.0, "acc_paper": 0.0, "extracted": ""}


@pytest.mark.parametrize(
    ("prediction", "acc"), [("yes", 100.0), ("Yes, the cohort shows it.", 100.0), ("yes or no", 0.0), ("No.", 0.0)]
)
def test_pubmedqa_yes_no_maybe(prediction, acc):
    assert cs.yes_no_maybe_scores(prediction, "yes")["acc"] == acc


def test_extract_letters_option_text_needs_exactly_one_option():
    options = {"A": "Vitamin B1", "B": "Vitamin B12"}
    assert extract_letters("vitamin b12", options) == {"B"}  # B1 lies inside B12's text only as a prefix
    assert extract_letters("vitamin b1 or vitamin b12", options) == frozenset()


# --- one answer or none: a reply presenting two different options as the answer -------------------

QUESTIONS = {  # language: (question, gold); the gold letter is B except in ja (A)
    "en": (Q, G57),
    "zh": ("最可能的诊断是？\nA. 甲状腺功能减退症\nB. 格雷夫斯病\nC. 甲状腺癌\nD. 亚急性甲状腺炎",
           "正确答案是 B: 格雷夫斯病"),
    "ja": ("第一選択となる降圧薬はどれか。\nA. カルシウム拮抗薬\nB. 副腎皮質ステロイド\nC. 抗ヒスタミン薬\nD. 抗菌薬",
           "正しい答えは A: カルシウム拮抗薬 です"),
    "fr": ("Mécanisme des IPP ?\nA. Blocage des récepteurs H2\nB. Inhibition de l'ATPase H+/K+\nC. Neutralisation",
           "Les bonnes réponses est B: Inhibition de l'ATPase H+/K+"),
    "ru": ("Какой гормон?\nA. Глюкагон\nB. Инсулин\nC. Соматостатин\nD. Гастрин", "Правильные ответ: B: Инсулин"),
    "es": ("¿Qué alteración?\nA. Hipercalcemia\nB. Hipopotasemia\nC. Hipernatremia\nD. Hipermagnesemia",
           "La respuesta correcta es: B: Hipopotasemia"),
}  # fmt: skip

# Each names the gold and another option as the answer: 0 whichever comes first.
TWO_ANSWERS = [
    ("en", "A. Methimazole. However, some would argue the correct answer is B: Levothyroxine."),
    ("en", "B. Levothyroxine. However, some would argue the correct answer is A: Methimazole."),
    ("en", "A. Methimazole ... The correct answer is B. Levothyroxine."),
    ("en", "The right answer is A: Methimazole. Actually no, the right answer is B: Levothyroxine."),
    ("en", "The answer is B, or possibly A."),
    ("en", "The answer is A, or possibly B."),
    ("en", "The answer is B, although some would argue A."),
    ("en", "The answer is B, and possibly also C."),
    ("en", "The answer is A. Actually, B is right."),
    ("zh", "A. 甲状腺功能减退症……正确答案是B：格雷夫斯病。"),
    ("zh", "B. 格雷夫斯病。不过有人认为正确答案是A。"),
    ("zh", "答案是A。不对，正确答案是B。"),
    ("zh", "答案是B，也可能是A。"),
    ("zh", "答案是B，或者可能是A。"),
    ("ja", "B. 副腎皮質ステロイド……正解はA: カルシウム拮抗薬です。"),
    ("ja", "正解はA、あるいはBです。"),
    ("ja", "答えはBです。いや、正解はAです。"),
    ("ja", "正解はA。もしくはB。"),
    ("fr", "A. Blocage des récepteurs H2 ... La bonne réponse est B."),
    ("fr", "La bonne réponse est B, ou peut-être A."),
    ("fr", "La réponse est A. En fait non, la bonne réponse est B."),
    ("fr", "La bonne réponse est B, mais certains diraient A."),
    ("ru", "A. Глюкагон ... Правильный ответ: B."),
    ("ru", "Ответ: B, или, возможно, A."),
    ("ru", "Правильный ответ: A. Хотя нет, правильный ответ: B."),
    ("ru", "Ответ: B, хотя некоторые сказали бы A."),
    ("es", "A. Hipercalcemia ... La respuesta correcta es B."),
    ("es", "La respuesta correcta es B, o quizás A."),
    ("es", "La respuesta es A. En realidad no, la respuesta correcta es B."),
    ("es", "La respuesta correcta es B, aunque algunos dirían A."),
]

# Other options are named only to be rejected, or echoed as a list: the one answer is the gold.
ONE_ANSWER = [
    ("en", "Not A; B is right."),
    ("en", "A is wrong; B is right."),
    ("en", "A. Methimazole is wrong here. The answer is B."),
    ("en", "A. Methimazole isn't indicated. The answer is B."),
    ("en", "The answer is B. Option A is incorrect because methimazole treats hyperthyroidism."),
    ("en", "The answer is B (Levothyroxine), not A (Methimazole)."),
    ("en", "A. Methimazole\nB. Levothyroxine\nC. Radioactive iodine\nD. Propranolol\nThe answer is B."),
    ("en", "B. Levothyroxine. The correct answer is B."),
    ("en", "The answer is B.\nA. Methimazole: for hyperthyroidism.\nC. Radioactive iodine: also hyperthyroidism."),
    ("en", "The answer is B because TSH is not suppressed."),
    ("en", "Perhaps B, since this is hypothyroidism."),
    ("zh", "不是A，B是正确的。"),
    ("zh", "A项错误，B项正确。"),
    ("zh", "A. 甲状腺功能减退症不正确。答案是B。"),
    ("zh", "答案是B。A项错误，因为患者甲亢。"),
    ("ja", "Bは誤りで、Aが正解です。"),
    ("ja", "B. 副腎皮質ステロイドは誤りです。正解はAです。"),
    ("ja", "正解はAです。Bは誤りです。"),
    ("fr", "Pas A ; B est la bonne réponse."),
    ("fr", "A. Blocage des récepteurs H2 est incorrecte. La bonne réponse est B."),
    ("fr", "A n'est pas la bonne réponse. La bonne réponse est B."),
    ("ru", "Не A; вариант B верный."),
    ("ru", "A. Глюкагон неверен. Правильный ответ: B."),
    ("ru", "Вариант A неверный, правильный ответ: B."),
    ("es", "No es A; B es la correcta."),
    ("es", "A. Hipercalcemia es incorrecta. La respuesta correcta es B."),
    ("es", "La A no es correcta; la respuesta correcta es B."),
]


def test_the_two_answer_cases_cover_six_languages():
    assert {lang for lang, _ in TWO_ANSWERS} == {lang for lang, _ in ONE_ANSWER} == set(QUESTIONS)


@pytest.mark.parametrize("with_question", [True, False], ids=["question", "gold-only"])
@pytest.mark.parametrize(("lang", "prediction"), TWO_ANSWERS)
def test_a_reply_presenting_two_answers_scores_zero(lang, prediction, with_question):
    question, gold = QUESTIONS[lang]
    scores = cs.mcqa_scores(prediction, gold, question if with_question else "")
    assert (scores["acc"], scores["extracted"]) == (0.0, "")


@pytest.mark.parametrize("with_question", [True, False], ids=["question", "gold-only"])
@pytest.mark.parametrize(("lang", "prediction"), ONE_ANSWER)
def test_a_reply_rejecting_other_options_keeps_its_one_answer(lang, prediction, with_question):
    question, gold = QUESTIONS[lang]
    scores = cs.mcqa_scores(prediction, gold, question if with_question else "")
    assert (scores["acc"], scores["extracted"]) == (100.0, "A" if lang == "ja" else "B")


@pytest.mark.parametrize(
    ("prediction", "gold", "acc_paper"),
    [  # the issue's real SmolLM2-135M replies (task57, no question); acc_paper is the original rule, unchanged
        ("A. Retinal detachment ... The correct answer is C. Central retinal artery occlusion.",
         "The right answer is C: Central retinal artery occlusion", 0.0),
        ("A. Methimazole. However, some would argue the correct answer is B: Levothyroxine.", G57, 0.0),
        ("The right answer is A: Methimazole. Actually no, the right answer is B: Levothyroxine.", G57, 0.0),
        ("B. Levothyroxine. However, some would argue the correct answer is A: Methimazole.", G57, 100.0),
    ],
)  # fmt: skip
def test_issue_replies_naming_two_options(prediction, gold, acc_paper):
    assert cs.mcqa_scores(prediction, gold, "") == {"acc": 0.0, "acc_paper": acc_paper, "extracted": ""}


# --- diagnosis, treatment ----------------------------------------------------------------------------

DX = "The diagnosis result is Stable angina."


def diagnosis(prediction, gold):
    """DDXPlus (task130), scored as its catalogue row says."""
    return score_prediction(get_task("task130"), prediction, gold)


def treatment(prediction, gold):
    """SEER (task131), scored as its catalogue row says."""
    return score_prediction(get_task("task131"), prediction, gold)


def test_diagnosis_correct_forms():
    for p in ("Stable angina", "The diagnosis result is Stable angina.", "stable angina."):
        assert diagnosis(p, DX) == {"acc": 100.0, "acc_paper": 100.0, "extracted": "stable angina"}
    assert diagnosis("Possible NSTEMI / STEMI", "The diagnosis result is Possible NSTEMI / STEMI.")["acc"] == 100


def test_b2_diagnosis_stable_inside_unstable_angina():
    assert diagnosis("Unstable angina", DX) == {
        "acc": 0.0,
        "acc_paper": 100.0,
        "extracted": "unstable angina",
    }


def test_b2_diagnosis_sle_inside_sleep():
    assert diagnosis("Obstructive sleep apnea", "The diagnosis result is SLE.") == {
        "acc": 0.0,
        "acc_paper": 100.0,
        "extracted": "",
    }


def test_b2_diagnosis_echoing_the_candidate_list():
    echo = ", ".join(DDXPLUS_LABELS)
    scores = diagnosis(echo, DX)
    assert (scores["acc"], scores["acc_paper"], scores["extracted"].count(", ")) == (0.0, 100.0, 49)


def test_b2_diagnosis_nan_does_not_crash():
    assert diagnosis(float("nan"), DX) == {"acc": 0.0, "acc_paper": 0.0, "extracted": ""}


def test_b2_treatment_listing_all_labels():
    gold = "The treatment planning is: Radiation after surgery"
    assert treatment("; ".join(SEER_LABELS), gold)["acc_paper"] == 100.0
    assert treatment("; ".join(SEER_LABELS), gold)["acc"] == 0.0
    assert treatment("Radiation after surgery", gold) == {
        "acc": 100.0,
        "acc_paper": 100.0,
        "extracted": "radiation after surgery",
    }
    assert treatment(None, gold) == {"acc": 0.0, "acc_paper": 0.0, "extracted": ""}


def test_treatment_overlapping_label_names():
    gold = "The treatment planning is: Intraoperative radiation"
    long_label = "Intraoperative rad with other rad before/after surgery"
    assert treatment(long_label, gold)["acc"] == 0.0
    assert treatment("Intraoperative radiation", gold)["acc"] == 100.0


# --- clinical outcome -------------------------------------------------------------------------------


def test_b2_outcome_not_true_counted_as_true():
    assert cs.outcome_scores("not true", "True") == {"acc": 0.0, "acc_paper": 100.0, "extracted": "false"}
    assert cs.outcome_scores("not true", "False") == {"acc": 100.0, "acc_paper": 0.0, "extracted": "false"}


@pytest.mark.parametrize("prediction", ["1", "yes", "Yes.", "True"])
def test_b2_outcome_one_and_yes_never_scored(prediction):
    assert cs.outcome_scores(prediction, "True")["acc"] == 100.0
    assert cs.outcome_scores(prediction, "True")["acc_paper"] == (100.0 if prediction == "True" else 0.0)


def test_outcome_both_polarities_is_wrong():
    assert cs.outcome_scores("True or False", "True") == {"acc": 0.0, "acc_paper": 0.0, "extracted": "false, true"}


# --- fact verification, NLI --------------------------------------------------------------------------


def test_b2_factver_no_inside_not_and_know():
    assert cs.factver_label_scores("I do not know", "no", YES_NO) == {
        "acc": 0.0,
        "acc_paper": 100.0,
        "extracted": "",
    }
    assert cs.factver_label_scores("No.", "no", YES_NO) == {"acc": 100.0, "acc_paper": 100.0, "extracted": "no"}


def test_b2_factver_digit_matched_anywhere():
    assert cs.factver_label_scores("12", "1", HEALTHFACT_LABELS) == {"acc": 0.0, "acc_paper": 100.0, "extracted": ""}
    assert cs.factver_label_scores("1", "1", HEALTHFACT_LABELS) == {
        "acc": 100.0,
        "acc_paper": 100.0,
        "extracted": "1",
    }


def test_b2_factver_nan_does_not_crash():
    assert cs.factver_label_scores(None, "yes", YES_NO) == {"acc": 0.0, "acc_paper": 0.0, "extracted": ""}


def test_b2_nli_listing_all_labels_and_negation():
    assert cs.nli_scores("Entailment, Contradiction, Neutral", "Contradiction", NLI_LABELS) == {
        "acc": 0.0,
        "acc_paper": 100.0,
        "extracted": "contradiction, entailment, neutral",
    }
    assert cs.nli_scores("There is no contradiction.", "Contradiction", NLI_LABELS) == {
        "acc": 0.0,
        "acc_paper": 100.0,
        "extracted": "",
    }
    assert cs.nli_scores("Neutral.", "Neutral", NLI_LABELS) == {
        "acc": 100.0,
        "acc_paper": 100.0,
        "extracted": "neutral",
    }


# --- information extraction ----------------------------------------------------------------------


def test_b2_ie_substring_rewards_verbosity():
    assert cs.ie_scores("highest", "high") == {"contains_paper": 100.0, "exact_match": 0.0}
    assert cs.ie_scores("High.", "high") == {"contains_paper": 100.0, "exact_match": 100.0}


def test_b2_ie_multi_phrase_gold_must_be_contiguous_and_in_order():
    gold = "oral Zentrolin 20 mg, matching placebo"
    assert cs.ie_scores("matching placebo, oral Zentrolin 20 mg", gold) == {"contains_paper": 0.0, "exact_match": 100.0}


def test_b2_ie_pmc_patient_needs_the_exact_layout():
    gold = "Gender: F\n\nAge: \"[[18.0, 'year']]\""
    assert cs.ie_scores(gold, gold) == {"contains_paper": 100.0, "exact_match": 100.0}
    reordered = "Age: [[18.0, 'year']]\nGender: F"
    assert cs.ie_scores(reordered, gold) == {"contains_paper": 0.0, "exact_match": 100.0}


def test_ie_empty_prediction():
    assert cs.ie_scores("", "x") == {"contains_paper": 0.0, "exact_match": 0.0}
