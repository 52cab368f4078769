"""MIMIC-IV-ED benchmark master dataset -> tasks 117 (hospitalization), 118 (72 h ED revisit), 119 (critical).

Input: ``master_dataset.csv`` written by the MIMIC-IV-ED benchmark's ``extract_master_dataset.py``
(or a folder holding it; its ``test.csv`` can be given as the file to sample from its test split).
The input is ``column: value`` lines in the benchmark's variable order, verbatim from the CSV (an
empty cell reads ``nan`` as in the original); the output is ``True``/``False``. As in the benchmark,
patients under 18 are left out and the 72 h revisit task uses only patients not admitted to hospital
(the original script used every row, admitted patients included). Rows whose outcome is not a
boolean are dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from meds_bench.catalog import get_task
from meds_bench.data import sha256_of
from meds_bench.physionet.common import SourceBuild, TaskBuild, find_raw_file, read_csv_rows
from meds_bench.physionet.definitions import DEFINITIONS

SOURCE = "mimic-iv-ed"
NAME = "MIMIC-IV-ED benchmark"
URL = "https://physionet.org/content/mimic-iv-ed/"
WHERE = "master_dataset.csv from the MIMIC-IV-ED benchmark (nliulab/mimic4ed-benchmark, extract_master_dataset.py)"
DEFAULT_SIZE = 1500

_HISTORY = [f"n_{kind}_{days}" for kind in ("ed", "hosp", "icu") for days in ("30d", "90d", "365d")]
_VITALS = ("temperature", "heartrate", "resprate", "o2sat", "sbp", "dbp")
_CHIEF = [
    f"chiefcom_{c}"
    for c in (
        "chest_pain", "abdominal_pain", "headache", "shortness_of_breath", "back_pain", "cough", "nausea_vomiting",
        "fever_chills", "syncope", "dizziness",
    )
]  # fmt: skip
_CCI = [
    f"cci_{c}"
    for c in (
        "MI", "CHF", "PVD", "Stroke", "Dementia", "Pulmonary", "Rheumatic", "PUD", "Liver1", "DM1", "DM2", "Paralysis",
        "Renal", "Cancer1", "Liver2", "Cancer2", "HIV",
    )
]  # fmt: skip
_ECI = [
    f"eci_{c}"
    for c in (
        "Arrhythmia", "Valvular", "PHTN", "HTN1", "HTN2", "NeuroOther", "Hypothyroid", "Lymphoma", "Coagulopathy",
        "Obesity", "WeightLoss", "FluidsLytes", "BloodLoss", "Anemia", "Alcohol", "Drugs", "Psychoses", "Depression",
    )
]  # fmt: skip
TRIAGE_COLUMNS = (
    ["age", "gender", *_HISTORY, *(f"triage_{v}" for v in _VITALS), "triage_pain", "triage_acuity"]
    + _CHIEF
    + _CCI
    + _ECI
)
REVISIT_COLUMNS = (
    ["age", "gender", *_HISTORY, "triage_pain", "triage_acuity", *_CHIEF, *_CCI, *_ECI]
    + [f"ed_{v}_last" for v in _VITALS]
    + ["ed_los", "n_med", "n_medrecon"]
)
# MedS id -> (input columns, outcome column)
TASKS: dict[int, tuple[list[str], str]] = {
    117: (TRIAGE_COLUMNS, "outcome_hospitalization"),
    118: (REVISIT_COLUMNS, "outcome_ed_revisit_3d"),
    119: (TRIAGE_COLUMNS, "outcome_critical"),
}
_BOOLEAN = {"true": "True", "1": "True", "1.0": "True", "false": "False", "0": "False", "0.0": "False"}


def as_bool(cell: str | None) -> str | None:
    """``True``/``False`` for the spellings pandas and the benchmark write, else None."""
    return _BOOLEAN.get((cell or "").strip().lower())


def render_row(row: dict[str, str], columns: list[str]) -> str:
    """``column: value`` lines; empty cells read ``nan`` as the original's pandas rendering did."""
    return "\n".join(f"{col}: {(row[col] or '').strip() or 'nan'}" for col in columns)


def _is_minor(age: str) -> bool:
    try:
        return float(age) < 18
    except ValueError:
        return False


def build(raw: Path) -> SourceBuild:
    """Pass over the CSV once to find each task's eligible rows; rows are rendered after sampling."""
    path = find_raw_file(raw, ["master_dataset.csv"], WHERE, "*.csv*")
    required = sorted({c for cols, outcome in TASKS.values() for c in (*cols, outcome)})
    dropped: Counter[str] = Counter()
    builds = {i: TaskBuild(get_task(i), DEFINITIONS[i], DEFAULT_SIZE) for i in TASKS}
    for number, row in enumerate(
        tqdm(read_csv_rows(path, required, WHERE), desc="ED stays", unit=" stays", disable=None)
    ):
        if _is_minor(row["age"] or ""):
            dropped["age under 18"] += 1
            continue
        for task_id, (_, outcome) in TASKS.items():
            if as_bool(row[outcome]) is None:
                dropped[f"task{task_id}: {outcome} not a boolean"] += 1
            elif task_id == 118 and as_bool(row["outcome_hospitalization"]) != "False":
                dropped["task118: admitted to hospital (revisit task covers discharged patients)"] += 1
            else:
                builds[task_id].instances.append(number)
    for task_id, task in builds.items():
        task.render = _renderer(path, *TASKS[task_id])
    relative = path.name if raw.is_file() else str(path.relative_to(raw))
    return SourceBuild(SOURCE, list(builds.values()), {relative: sha256_of(path)}, dropped)


def _renderer(path: Path, columns: list[str], outcome: str) -> Callable[[list[int]], list[dict[str, str]]]:
    def render(numbers: list[int]) -> list[dict[str, str]]:
        wanted, last = set(numbers), max(numbers, default=-1)
        instances = []
        for number, row in enumerate(read_csv_rows(path, [*columns, outcome], WHERE)):
            if number > last:
                break
            if number in wanted:
                instances.append({"input": render_row(row, columns), "output": as_bool(row[outcome]) or ""})
        return instances

    return render
