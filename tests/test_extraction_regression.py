"""Labelled regression set of answer extraction: realistic model outputs in the six MCQA languages
and the closed-set categories, each with the answer a clinician reads (``extracted``) and whether
it is right (``correct``). Scored through :func:`score_doc`, the function the lm-eval hook calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meds_bench.metrics.scorers import score_doc

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "extraction_cases.jsonl").open()]


def test_the_set_covers_six_languages_and_five_categories():
    assert len(CASES) >= 150
    assert {c["language"] for c in CASES if c["category"] == "mcqa"} == {"en", "zh", "ja", "fr", "ru", "es"}
    assert {"diagnosis", "treatment", "outcome", "nli", "factver"} <= {c["category"] for c in CASES}
    assert {c["correct"] for c in CASES} == {True, False}


IDS = [f"{i}-{c['task'].removeprefix('meds_bench_')}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_labelled_output_is_read_as_labelled(case):
    doc = {"task": case["task"], "input": case["input"], "output": case["output"]}
    scores = score_doc(doc, case["prediction"])
    assert (scores["extracted"], scores["acc"]) == (case["extracted"], 100.0 if case["correct"] else 0.0), case["note"]
