import fnmatch

import pytest

from meds_bench.catalog import CATEGORIES, TASKS, get_task, tasks_in

# SPEC A1, written out independently of catalog.py.
SPEC_A1 = {
    57: "mcqa_medqa_en",
    58: "mcqa_medqa_zh",
    59: "mcqa_igakuqa_ja",
    60: "mcqa_frenchmedmcqa_fr",
    61: "mcqa_rumedbench_ru",
    129: "mcqa_headqa_es",
    122: "mcqa_medmcqa",
    123: "mcqa_pubmedqa",
    51: "rationale_zh",
    52: "rationale_en",
    53: "rationale_fr",
    54: "rationale_ja",
    55: "rationale_ru",
    56: "rationale_es",
    18: "explanation_healthfact",
    46: "explanation_do_entity",
    50: "explanation_biolord",
    1: "ie_pico_participant",
    2: "ie_pico_intervention",
    3: "ie_pico_outcome",
    29: "ie_ade_drug_dose",
    74: "ie_pmc_patient",
    125: "ner_bc4chem",
    126: "ner_bc5chem",
    127: "ner_bc5disease",
    128: "ner_species800",
    130: "diagnosis_ddxplus",
    131: "treatment_seer",
    117: "outcome_hospitalization",
    118: "outcome_ed_revisit_72h",
    119: "outcome_critical_triage",
    106: "classification_hoc",
    12: "factver_pubmedqa",
    16: "factver_healthfact",
    100: "factver_ebms",
    41: "nli_mednli_discriminative",
    42: "nli_mednli_generative",
    78: "summarization_mimic_ultrasound",
    110: "summarization_rct_text",
    112: "summarization_mimic_cxr",
    114: "summarization_meqsum",
    83: "summarization_mimic_ct_chest",
    84: "summarization_mimic_ct_head_and_neck",
    85: "summarization_mimic_ct_brain",
    86: "summarization_mimic_ct_abdomen",
    87: "summarization_mimic_ct_pelvis",
    88: "summarization_mimic_ct_spine",
    89: "summarization_mimic_mri_chest",
    90: "summarization_mimic_mri_head_and_neck",
    91: "summarization_mimic_mri_brain",
    92: "summarization_mimic_mri_abdomen",
    93: "summarization_mimic_mri_pelvis",
    94: "summarization_mimic_mri_spine",
}
CREDENTIALED = {41, 42, 78, *range(83, 95), 112, 117, 118, 119}


def test_names_and_ids_match_spec():
    assert {t.task_id: t.name for t in TASKS} == {i: f"meds_bench_{n}" for i, n in SPEC_A1.items()}


def test_credentialed_flags_match_spec():
    assert {t.task_id for t in TASKS if t.credentialed} == CREDENTIALED


def test_twelve_categories_cover_all_tasks():
    assert len(CATEGORIES) == 12
    assert sum(len(tasks_in(c)) for c in CATEGORIES) == 53


@pytest.mark.parametrize("key", ["task52", "52", 52, "meds_bench_rationale_en", "TASK52"])
def test_get_task_accepts_names_and_ids(key):
    assert get_task(key).name == "meds_bench_rationale_en"


def test_unknown_task_error_says_what_to_use():
    with pytest.raises(KeyError, match="task52"):
        get_task("task999")


def test_group_names_escape_the_task_wildcard():
    groups = {t.group for t in TASKS} | {"meds_bench"}
    assert not fnmatch.filter(groups, "meds_bench_*")
    assert len(fnmatch.filter([t.name for t in TASKS], "meds_bench_*")) == 53


def test_every_row_names_a_scorer_that_exists_with_its_facts():
    from meds_bench.metrics import hooks
    from meds_bench.metrics.scorers import SCORERS

    for scorer, record in SCORERS.items():
        assert record.name == scorer
        assert getattr(hooks, scorer).__name__ == scorer, "one lm-eval hook per scorer"
        shown = {m for _, metrics in record.columns for m in metrics}
        assert set(record.averaged) | shown <= set(record.metric_names), scorer
    for info in TASKS:
        assert info.scorer in SCORERS, info.name
        assert 0 < info.max_gen_toks <= 512, info.name
        assert bool(info.labels) == (info.scorer in {"label", "nli", "prefixed_label"}), info.name
        assert bool(info.answer_prefix) == (info.scorer == "prefixed_label"), info.name


def test_a_task_yaml_repeats_only_what_its_row_changes():
    import yaml

    from meds_bench._generate_configs import render

    files = render()
    ebms = yaml.safe_load(
        files["tasks/factver/meds_bench_factver_ebms.yaml"].split("\n", 1)[1].replace("!function ", "")
    )
    assert ebms["process_results"] == "meds_bench.metrics.hooks.text_ebms"
    assert ebms["generation_kwargs"] == {"until": ["\nInput:"], "max_gen_toks": 256, "do_sample": False}
    seer = yaml.safe_load(files["tasks/treatment/meds_bench_treatment_seer.yaml"].split("\n", 1)[1])
    assert seer == {"include": "_template_yaml", "task": "meds_bench_treatment_seer", "task_alias": "task131"}
