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
