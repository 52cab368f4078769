"""The MedS-Bench task catalogue: the single table every other module reads.

Each row holds every fact of one task: its user-facing name (SPEC A1), its MedS id, where its
file lives in the hub repository (``<folder>/<file>``), its category, language, whether it is
derived from PhysioNet-credentialed data (MIMIC), which we may neither redistribute nor send to
third-party APIs that retain data, how one output is scored (``scorer``, with its closed
``labels`` and the gold's ``answer_prefix``) and its generation budget. Rows leave out what their
category's defaults (``CATEGORY_DEFAULTS``) already say. Adding a task is adding a row and
regenerating the YAMLs (``python -m meds_bench._generate_configs``).
"""

from __future__ import annotations

from dataclasses import dataclass

HUB_REPO_ID = "Henrychur/MedS-Bench"
SPLIT_REPO_ID = "Henrychur/MedS-Bench-SPLIT"


@dataclass(frozen=True)
class TaskInfo:
    """One MedS-Bench task file and how it is evaluated."""

    task_id: int
    name: str
    category: str
    folder: str
    file: str
    language: str = "en"
    credentialed: bool = False
    # How one output is scored: a key of meds_bench.metrics.table.SCORER_METRICS.
    scorer: str = ""
    # Generation budget in new tokens (sized from the gold output patterns of SPEC B1).
    max_gen_toks: int = 0
    # The closed label set of label scorers, spelled as the data spells it.
    labels: tuple[str, ...] = ()
    # A fixed lead-in of gold answers that is not part of the label (task130, task131).
    answer_prefix: str = ""

    @property
    def meds_id(self) -> str:
        """The MedS id used in the original release, e.g. ``task52``."""
        return f"task{self.task_id}"

    @property
    def hub_path(self) -> str:
        """Path of the task file inside the hub repository."""
        return f"{self.folder}/{self.file}"

    @property
    def group(self) -> str:
        """Name of the lm-eval category group this task belongs to."""
        return category_group(self.category)


# Category key -> (hub folder, human-readable name). The order is the order of reports.
CATEGORIES: dict[str, tuple[str, str]] = {
    "mcqa": ("MCQA", "Multilingual multiple-choice QA"),
    "rationale": ("Rationale", "Rationale"),
    "explanation": ("Explanation", "Concept explanation"),
    "ie": ("Information_extraction", "Information extraction"),
    "ner": ("NER", "Named entity recognition"),
    "diagnosis": ("Diagnosis", "Diagnosis"),
    "treatment": ("Treatment_planning", "Treatment planning"),
    "outcome": ("Clinical_outcome_prediction", "Clinical outcome prediction"),
    "classification": ("Text_classification", "Text classification"),
    "factver": ("Fact_verication", "Fact verification"),
    "nli": ("NLI", "Natural language inference"),
    "summarization": ("Text_summarization", "Text summarization"),
}

OVERALL_GROUP = "meds_bench"
# The 34 redistributable tasks: every category without PhysioNet-derived files, plus the open
# summarization tasks in a group of their own (the paper's summarization average needs 78 and 112).
OPEN_GROUP = "meds_bench-open"
SUMMARIZATION_OPEN_GROUP = "meds_bench-summarization_open"
# Groups are named `meds_bench-<category>` so that `--tasks 'meds_bench_*'` matches tasks only.
SUMMARIZATION_POOLED_GROUPS = {
    "ct": "meds_bench-summarization_ct",
    "mri": "meds_bench-summarization_mri",
}
SUMMARIZATION_PRIMARY_IDS = (78, 110, 112, 114)
CT_IDS = tuple(range(83, 89))
MRI_IDS = tuple(range(89, 95))
ANATOMIES = ("chest", "head_and_neck", "brain", "abdomen", "pelvis", "spine")


# Category -> (scorer, generation budget) of its tasks unless a row says otherwise. The original
# generated up to 1000 tokens for one-word answers; these budgets follow the gold patterns.
CATEGORY_DEFAULTS: dict[str, tuple[str, int]] = {
    "mcqa": ("mcqa", 64),
    "rationale": ("text_stripped", 512),  # the original stripped both texts for rationale only
    "explanation": ("text", 256),
    "ie": ("ie", 96),
    "ner": ("ner", 128),
    "diagnosis": ("prefixed_label", 32),
    "treatment": ("prefixed_label", 32),
    "outcome": ("outcome", 8),
    "classification": ("hoc", 96),
    "factver": ("label", 8),
    "nli": ("nli", 8),
    "summarization": ("text", 384),
}

# DDXPlus pathologies (49) plus the definition's "cannot decide" (SPEC B1); spelled as DDXPlus does.
DDXPLUS_LABELS = (
    "Acute COPD exacerbation / infection", "Acute dystonic reactions", "Acute laryngitis", "Acute otitis media",
    "Acute pulmonary edema", "Acute rhinosinusitis", "Allergic sinusitis", "Anaphylaxis", "Anemia",
    "Atrial fibrillation", "Boerhaave", "Bronchiectasis", "Bronchiolitis", "Bronchitis",
    "Bronchospasm / acute asthma exacerbation", "Chagas", "Chronic rhinosinusitis", "Cluster headache", "Croup",
    "Ebola", "Epiglottitis", "GERD", "Guillain-Barré syndrome", "HIV (initial infection)", "Influenza",
    "Inguinal hernia", "Larygospasm", "Localized edema", "Myasthenia gravis", "Myocarditis", "PSVT",
    "Pancreatic neoplasm", "Panic attack", "Pericarditis", "Pneumonia", "Possible NSTEMI / STEMI",
    "Pulmonary embolism", "Pulmonary neoplasm", "SLE", "Sarcoidosis", "Scombroid food poisoning",
    "Spontaneous pneumothorax", "Spontaneous rib fracture", "Stable angina", "Tuberculosis", "URTI",
    "Unstable angina", "Viral pharyngitis", "Whooping cough", "cannot decide",
)  # fmt: skip
SEER_LABELS = (
    "Intraoperative rad with other rad before/after surgery",
    "Intraoperative radiation",
    "No radiation and/or cancer-directed surgery",
    "Radiation after surgery",
    "Radiation before and after surgery",
    "Radiation prior to surgery",
    "Surgery both before and after radiation",
)
NLI_LABELS = ("entailment", "contradiction", "neutral")
YES_NO = ("yes", "no")
YES_NO_MAYBE = ("yes", "no", "maybe")
HEALTHFACT_LABELS = ("0", "1", "2")


def category_group(category: str) -> str:
    """lm-eval group name of a category key."""
    return f"{OVERALL_GROUP}-{category}"


def _t(task_id: int, name: str, category: str, file: str, **kw: object) -> TaskInfo:
    scorer, budget = CATEGORY_DEFAULTS[category]
    kw = {"scorer": scorer, "max_gen_toks": budget, **kw}
    return TaskInfo(task_id, f"meds_bench_{name}", category, CATEGORIES[category][0], file, **kw)  # type: ignore[arg-type]


_RATIONALE_LANGS = (
    (51, "zh", "chinese"),
    (52, "en", "english"),
    (53, "fr", "french"),
    (54, "ja", "japanese"),
    (55, "ru", "russian"),
    (56, "es", "spanish"),
)

TASKS: tuple[TaskInfo, ...] = (
    # MCQA
    _t(57, "mcqa_medqa_en", "mcqa", "task57_medqa_question_answering_en.jsonl"),
    _t(58, "mcqa_medqa_zh", "mcqa", "task58_medqa_question_answering_zh.jsonl", language="zh"),
    _t(59, "mcqa_igakuqa_ja", "mcqa", "task59_igakuqa_question_answering.jsonl", language="ja"),
    _t(60, "mcqa_frenchmedmcqa_fr", "mcqa", "task60_frenchmedmcqa_question_answering.jsonl", language="fr"),
    _t(61, "mcqa_rumedbench_ru", "mcqa", "task61_rumedbench_question_answering.jsonl", language="ru"),
    _t(129, "mcqa_headqa_es", "mcqa", "task129_headqa_question_answering.jsonl", language="es"),
    _t(122, "mcqa_medmcqa", "mcqa", "task122_medmcqa_test_set.json"),
    _t(123, "mcqa_pubmedqa", "mcqa", "task123_pubmedqa_test_set.json", scorer="yes_no_maybe", max_gen_toks=8),
    # Rationale
    *(
        _t(i, f"rationale_{lang}", "rationale", f"task{i}_mmedbench_explanation_{word}_test_only.jsonl", language=lang)
        for i, lang, word in _RATIONALE_LANGS
    ),
    # Concept explanation
    _t(18, "explanation_healthfact", "explanation", "task18_test_healthfact_sentence_generation.json"),
    _t(46, "explanation_do_entity", "explanation", "task46_do_entity_explanation.json"),
    _t(50, "explanation_biolord", "explanation", "task50_biolord_explanation.json"),
    # Information extraction
    _t(1, "ie_pico_participant", "ie", "task1_participant_extraction.json"),
    _t(2, "ie_pico_intervention", "ie", "task2_intervention_extraction.json"),
    _t(3, "ie_pico_outcome", "ie", "task3_outcome_extraction.json"),
    _t(29, "ie_ade_drug_dose", "ie", "task29_drug_dose_extraction.json"),
    _t(74, "ie_pmc_patient", "ie", "task74_pmc_patient_case_report_basic_information_extraction.json"),
    # NER
    _t(125, "ner_bc4chem", "ner", "task125_test_bc4chem_named_enetity_recognition.json"),
    _t(126, "ner_bc5chem", "ner", "task126_test_bc5chem_named_enetity_recognition.json"),
    _t(127, "ner_bc5disease", "ner", "task127_test_bc5disease_named_enetity_recognition.json"),
    _t(128, "ner_species800", "ner", "task128_test_species800_named_enetity_recognition.json"),
    # Diagnosis, treatment planning
    _t(
        130,
        "diagnosis_ddxplus",
        "diagnosis",
        "task130_DDXPlus_text_classification_test.json",
        labels=DDXPLUS_LABELS,
        answer_prefix="The diagnosis result is",
    ),
    _t(
        131,
        "treatment_seer",
        "treatment",
        "task131_SEER_text_classification_test.json",
        labels=SEER_LABELS,
        answer_prefix="The treatment planning is:",
    ),
    # Clinical outcome prediction (MIMIC-IV-ED)
    _t(117, "outcome_hospitalization", "outcome", "task117_mimic4ed_benchmark_hospitalization.json", credentialed=True),
    _t(118, "outcome_ed_revisit_72h", "outcome", "task118_mimic4ed_72h_ed_revisit_disposition.json", credentialed=True),
    _t(119, "outcome_critical_triage", "outcome", "task119_mimic4ed_benchmark_critical_triage.json", credentialed=True),
    # Text classification
    _t(106, "classification_hoc", "classification", "task106_hoc_text_classification.json"),
    # Fact verification
    _t(12, "factver_pubmedqa", "factver", "task12_pubmedqa_classification.json", labels=YES_NO),
    _t(16, "factver_healthfact", "factver", "task16_test_healthfact_classification.json", labels=HEALTHFACT_LABELS),
    # Free text inside a closed-set category; its *_paper variant follows the original's EBMS rule.
    _t(100, "factver_ebms", "factver", "task100_ebms_answer_vertification.json", scorer="text_ebms", max_gen_toks=256),
    # NLI (MedNLI, MIMIC-III)
    _t(
        41,
        "nli_mednli_discriminative",
        "nli",
        "task41_test_mednli_textual_entailment_discrimitive.json",
        credentialed=True,
        labels=NLI_LABELS,
    ),
    _t(
        42,
        "nli_mednli_generative",
        "nli",
        "task42_test_mednli_textual_entailment_generative.json",
        credentialed=True,
        scorer="text",
        max_gen_toks=96,
    ),
    # Text summarization
    _t(
        78,
        "summarization_mimic_ultrasound",
        "summarization",
        "task78_mimic_ultrasound_summarization.json",
        credentialed=True,
    ),
    *(
        _t(
            83 + k,
            f"summarization_mimic_ct_{a}",
            "summarization",
            f"task{83 + k}_mimic_ct_{a}_summarization.json",
            credentialed=True,
        )
        for k, a in enumerate(ANATOMIES)
    ),
    *(
        _t(
            89 + k,
            f"summarization_mimic_mri_{a}",
            "summarization",
            f"task{89 + k}_mimic_mri_{a}_summarization.json",
            credentialed=True,
        )
        for k, a in enumerate(ANATOMIES)
    ),
    _t(110, "summarization_rct_text", "summarization", "task110_rct_text_summurization.json"),
    _t(112, "summarization_mimic_cxr", "summarization", "task112_mimic_cxr_text_summurization.json", credentialed=True),
    _t(114, "summarization_meqsum", "summarization", "task114_medqsum_text_summurization.json"),
)

_BY_NAME = {t.name: t for t in TASKS}
_BY_ID = {t.meds_id: t for t in TASKS}


def get_task(name_or_id: str | int) -> TaskInfo:
    """Look a task up by lm-eval name (``meds_bench_rationale_en``), MedS id (``task52``) or number.

    Raises:
        KeyError: with the list of valid names when nothing matches.
    """
    key = str(name_or_id).strip()
    if key.isdigit():
        key = f"task{key}"
    info = _BY_NAME.get(key) or _BY_ID.get(key.lower())
    if info is None:
        raise KeyError(
            f"unknown MedS-Bench task {name_or_id!r}: use a task name such as "
            f"'meds_bench_rationale_en' or a MedS id such as 'task52' (see `meds-bench list`)"
        )
    return info


def tasks_in(category: str) -> list[TaskInfo]:
    """All tasks of one category key, in catalogue order."""
    return [t for t in TASKS if t.category == category]


def _names(ids: tuple[int, ...]) -> list[str]:
    return [t.name for t in TASKS if t.task_id in ids]


def group_tree() -> dict[str, list[str]]:
    """Every lm-eval group: name -> members (task or group names), in report order.

    Category groups hold their tasks (summarization: the paper's four primary tasks), the pooled
    CT/MRI groups their six files each, ``meds_bench`` every category group and ``meds_bench-open``
    the groups whose tasks are all redistributable.
    """
    tree: dict[str, list[str]] = {}
    for category in CATEGORIES:
        ids = SUMMARIZATION_PRIMARY_IDS if category == "summarization" else None
        tree[category_group(category)] = _names(ids) if ids else [t.name for t in tasks_in(category)]
    tree[SUMMARIZATION_POOLED_GROUPS["ct"]] = _names(CT_IDS)
    tree[SUMMARIZATION_POOLED_GROUPS["mri"]] = _names(MRI_IDS)
    tree[SUMMARIZATION_OPEN_GROUP] = [t.name for t in tasks_in("summarization") if not t.credentialed]
    tree[OVERALL_GROUP] = [g for g in tree if g != SUMMARIZATION_OPEN_GROUP]
    open_categories = [c for c in CATEGORIES if not any(t.credentialed for t in tasks_in(c))]
    tree[OPEN_GROUP] = [category_group(c) for c in open_categories] + [SUMMARIZATION_OPEN_GROUP]
    return tree


def leaves(name: str) -> list[str]:
    """Task names under a group (recursively), or ``[name]`` for a task."""
    tree = group_tree()
    if name not in tree:
        return [name]
    return [leaf for member in tree[name] for leaf in leaves(member)]
