"""The MedS-Bench task catalogue: the single table every other module reads.

Each row holds every fact of one task: its user-facing name (SPEC A1), its MedS id, where its
file lives in the hub repository (``<folder>/<file>``), its category, language, whether it is
derived from PhysioNet-credentialed data (MIMIC), which we may neither redistribute nor send to
third-party APIs that retain data, how one output is scored (``scorer``, with its closed
``labels`` and the gold's ``answer_prefix``) and its generation budget. Rows leave out what their
category's record (``CATEGORIES``) already says. Adding a task is adding a row and
regenerating the YAMLs (``python -m meds_bench._generate_configs``); adding a category is adding
a ``Category`` row (and its sample data), adding a scorer a record of
:data:`meds_bench.metrics.scorers.SCORERS`.
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
    # How one output is scored: a key of meds_bench.metrics.scorers.SCORERS.
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


@dataclass(frozen=True)
class Category:
    """One task category: every fact about it that is not a single task's.

    ``scorer`` and ``max_gen_toks`` are its tasks' defaults (a row may say otherwise);
    ``num_fewshot`` its shots (the paper: 3, MCQA 0); ``doc_words`` the mean words of an input and
    of a gold (the sizes of the synthetic benchmark, ``bench/synth_bench.py``). Its group holds the
    tasks ``group_ids`` when given, else all its tasks; each ``pooled`` entry ``(kind, ids)`` adds a
    group ``<group>_<kind>`` pooling the instances of those tasks. The metrics its groups average
    follow from its tasks' scorers (:func:`meds_bench.metrics.table.group_metrics`).
    """

    key: str
    folder: str
    title: str
    short_name: str
    scorer: str
    max_gen_toks: int
    doc_words: tuple[int, int]
    num_fewshot: int = 3
    group_ids: tuple[int, ...] = ()
    pooled: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @property
    def group(self) -> str:
        """Its lm-eval group name."""
        return category_group(self.key)


OVERALL_GROUP = "meds_bench"
# The 34 redistributable tasks: every category without PhysioNet-derived files, plus the open tasks
# of a mixed category in a group of their own (the paper's summarization average needs 78 and 112).
OPEN_GROUP = "meds_bench-open"
SUMMARIZATION_PRIMARY_IDS = (78, 110, 112, 114)
CT_IDS = tuple(range(83, 89))
MRI_IDS = tuple(range(89, 95))
ANATOMIES = ("chest", "head_and_neck", "brain", "abdomen", "pelvis", "spine")

# The categories, in report order. Columns: key, hub folder, title, report short name, default
# scorer and generation budget, (input, gold) words of a document, then keywords. Budgets follow
# the gold patterns (the original generated up to 1000 tokens for one-word answers).
_CATEGORY_ROWS = (
    Category("mcqa", "MCQA", "Multilingual multiple-choice QA", "MCQA", "mcqa", 64, (120, 8), num_fewshot=0),
    # The original stripped both texts for rationale only.
    Category("rationale", "Rationale", "Rationale", "Rationale", "text_stripped", 512, (150, 120)),
    Category("explanation", "Explanation", "Concept explanation", "Concept expl.", "text", 256, (8, 40)),
    Category("ie", "Information_extraction", "Information extraction", "Info. extraction", "ie", 96, (250, 10)),
    Category("ner", "NER", "Named entity recognition", "NER", "ner", 128, (220, 8)),
    Category("diagnosis", "Diagnosis", "Diagnosis", "Diagnosis", "prefixed_label", 32, (300, 6)),
    Category("treatment", "Treatment_planning", "Treatment planning", "Treatment", "prefixed_label", 32, (80, 6)),
    Category("outcome", "Clinical_outcome_prediction", "Clinical outcome prediction", "Clinical outcome", "outcome",
             8, (150, 1)),
    Category("classification", "Text_classification", "Text classification", "Text class.", "hoc", 96, (250, 6)),
    Category("factver", "Fact_verication", "Fact verification", "Fact verif.", "label", 8, (250, 1)),
    Category("nli", "NLI", "Natural language inference", "NLI", "nli", 8, (35, 1)),
    # The paper averages four summarization tasks; its CT and MRI figures pool six files each.
    Category("summarization", "Text_summarization", "Text summarization", "Summarization", "text", 384, (220, 30),
             group_ids=SUMMARIZATION_PRIMARY_IDS, pooled=(("ct", CT_IDS), ("mri", MRI_IDS))),
)  # fmt: skip
# Category key -> its record.
CATEGORIES: dict[str, Category] = {c.key: c for c in _CATEGORY_ROWS}

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
    """lm-eval group name of a category key (``meds_bench-<category>``, so that
    ``--tasks 'meds_bench_*'`` matches tasks only)."""
    return f"{OVERALL_GROUP}-{category}"


def pooled_groups(category: str) -> dict[str, str]:
    """Pooled groups of a category: kind -> group name (``meds_bench-summarization_ct``)."""
    return {kind: f"{category_group(category)}_{kind}" for kind, _ in CATEGORIES[category].pooled}


def open_subgroup(category: str) -> str:
    """Group of the open tasks of a category that mixes open and credentialed tasks."""
    return f"{category_group(category)}_open"


SUMMARIZATION_POOLED_GROUPS = pooled_groups("summarization")


def _t(task_id: int, name: str, category: str, file: str, **kw: object) -> TaskInfo:
    cat = CATEGORIES[category]
    kw = {"scorer": cat.scorer, "max_gen_toks": cat.max_gen_toks, **kw}
    return TaskInfo(task_id, f"meds_bench_{name}", category, cat.folder, file, **kw)  # type: ignore[arg-type]


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

    Category groups hold their tasks (or their ``group_ids``), then come the pooled groups and the
    open part of each category that mixes open and credentialed tasks; ``meds_bench`` holds every
    category and pooled group, ``meds_bench-open`` the groups whose tasks are all redistributable.
    """
    tree: dict[str, list[str]] = {}
    for cat in CATEGORIES.values():
        tree[cat.group] = _names(cat.group_ids) if cat.group_ids else [t.name for t in tasks_in(cat.key)]
    for cat in CATEGORIES.values():
        for kind, ids in cat.pooled:
            tree[pooled_groups(cat.key)[kind]] = _names(ids)
    open_members = []
    for cat in CATEGORIES.values():
        credentialed = {t.credentialed for t in tasks_in(cat.key)}
        if credentialed == {False}:
            open_members.append(cat.group)
        elif credentialed == {False, True}:
            tree[open_subgroup(cat.key)] = [t.name for t in tasks_in(cat.key) if not t.credentialed]
    subgroups = {open_subgroup(c) for c in CATEGORIES}
    tree[OVERALL_GROUP] = [g for g in tree if g not in subgroups]
    tree[OPEN_GROUP] = open_members + [g for g in tree if g in subgroups]
    return tree


def leaves(name: str) -> list[str]:
    """Task names under a group (recursively), or ``[name]`` for a task."""
    tree = group_tree()
    if name not in tree:
        return [name]
    return [leaf for member in tree[name] for leaf in leaves(member)]
