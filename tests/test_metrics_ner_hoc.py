"""NER micro P/R/F1 and HoC macro P/R/F1 (SPEC A4): hand-computed values and every B2 defect."""

from __future__ import annotations

import pytest

from meds_bench.metrics import hooks
from meds_bench.metrics.hoc import HALLMARKS, hoc_items, labels, labels_paper, macro_scores
from meds_bench.metrics.ner import micro_scores, ner_counts, parse_entities, parse_entities_paper


def test_ner_hand_computed_micro_scores():
    docs = [
        ner_counts("cisplatin, caffeine.", "cisplatin, paclitaxel."),
        ner_counts("There is no related enetity.", "aspirin."),
    ]
    fixed = [d["f1"] for d in docs]
    assert fixed == [[1, 1, 1], [0, 0, 1]]
    p, r, f = micro_scores(fixed)  # tp 1, fp 1, fn 2
    assert (p, r) == pytest.approx((50.0, 100 / 3)) and f == pytest.approx(2 * 50 * (100 / 3) / (50 + 100 / 3))
    assert hooks.micro_f1(fixed) == pytest.approx(f) and hooks.micro_precision(fixed) == pytest.approx(p)


def test_b2_ner_last_character_chopped_makes_order_matter():
    assert parse_entities_paper("a, b.") == {"a", ""}  # period removed, then "b" chopped
    assert ner_counts("beta, alpha.", "alpha, beta.")["f1_paper"] == [0, 2, 2]
    assert ner_counts("beta, alpha.", "alpha, beta.")["f1"] == [2, 0, 0]


def test_b2_ner_internal_dots_deleted():
    assert parse_entities("E. coli.") == {"e. coli"}
    assert ner_counts("E coli.", "E. coli.")["f1_paper"][0] == 1  # "e coli" == "e coli" after dot deletion
    assert ner_counts("E coli.", "E. coli.")["f1"] == [0, 1, 1]


def test_b2_ner_correct_sentinel_spelling_is_a_fake_entity():
    assert parse_entities_paper("There is no related entity.") == {"there is no related entit"}
    assert ner_counts("There is no related entity.", "There is no related enetity.")["f1_paper"] == [0, 1, 0]
    assert ner_counts("There is no related entity.", "There is no related enetity.")["f1"] == [0, 0, 0]


def test_b2_ner_missing_output_counts_as_false_negatives():
    assert ner_counts(None, "cisplatin, caffeine.")["f1"] == [0, 0, 2]
    assert ner_counts(float("nan"), "x.")["f1_paper"] == [0, 0, 0]  # the original skipped the row


def test_ner_commas_without_space_stay_inside_a_name_and_duplicates_count_once():
    assert parse_entities("2,4-dinitrophenol, caffeine.") == {"2,4-dinitrophenol", "caffeine"}
    # Entity *sets* (SPEC A4): a repeated entity is one entity on both sides.
    assert ner_counts("caffeine, caffeine.", "caffeine.")["f1"] == [1, 0, 0]


def test_ner_empty_corpus_is_zero():
    assert micro_scores([]) == (0.0, 0.0, 0.0)


GOLD_HOC = "Sustaining proliferative signaling, Inducing angiogenesis"


def test_hoc_hand_computed_macro_scores():
    items = [
        hoc_items("Inducing angiogenesis", GOLD_HOC)["macro_f1"],
        hoc_items("Resisting cell death", "Resisting cell death")["macro_f1"],
    ]
    p, r, f = macro_scores(items)
    # Labels: angiogenesis P1 R1 F1; proliferative P0 R0 F0 (never predicted); cell death P1 R1 F1; 7 others 0.
    assert (p, r, f) == pytest.approx((20.0, 20.0, 20.0))
    assert hooks.macro_f1(items) == pytest.approx(20.0)


def test_b2_hoc_negated_mentions_count():
    text = "Inducing angiogenesis, but not activating invasion and metastasis"
    assert labels_paper(text)[HALLMARKS.index("activating invasion and metastasis")] == 1
    assert labels(text)[HALLMARKS.index("activating invasion and metastasis")] == 0


def test_b2_hoc_naming_all_ten_gives_full_recall_but_the_precision_shows_it():
    every = ", ".join(HALLMARKS)
    items = [hoc_items(every, GOLD_HOC)["macro_f1"]]
    p, r, _ = macro_scores(items)
    assert r == 20.0 and p == 20.0  # 2 of 10 labels have gold: per-label P is 1 only for those two
    paper = [hoc_items(every, GOLD_HOC)["macro_f1_paper"]]
    assert macro_scores(paper) == macro_scores(items)  # same figure: recall-gaming is inherent to macro recall


def test_hoc_case_and_punctuation_insensitive():
    assert labels("SUSTAINING PROLIFERATIVE SIGNALING.") == labels_paper("sustaining proliferative signaling")


def test_hoc_missing_prediction():
    assert labels(None) == [0] * 10 and macro_scores([]) == (0.0, 0.0, 0.0)
