"""MIMIC-IV-Note radiology reports -> tasks 78 (ultrasound), 83-88 (CT) and 89-94 (MRI) by body region.

Input: the MIMIC-IV-Note directory (or ``note/radiology.csv[.gz]`` itself), column ``text``.
FINDINGS becomes the input and IMPRESSION the output (paragraph breaks kept, as in the original).
Modality and region come from the exam title (see :mod:`meds_bench.physionet.reports`); a report
goes to exactly one task. Exact duplicate (findings, impression) pairs within a task are dropped.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tqdm import tqdm

from meds_bench.catalog import ANATOMIES, get_task
from meds_bench.data import sha256_of
from meds_bench.physionet.common import SourceBuild, TaskBuild, find_raw_file, read_csv_rows
from meds_bench.physionet.definitions import DEFINITIONS
from meds_bench.physionet.reports import (
    anatomy_of,
    exam_title,
    has_content,
    keep_lines,
    modality_of,
    split_sections,
)

SOURCE = "mimic-iv-note"
NAME = "MIMIC-IV-Note"
URL = "https://physionet.org/content/mimic-iv-note/"
WHERE = "note/radiology.csv.gz of MIMIC-IV-Note (column 'text')"
DEFAULT_SIZE = 110  # the paper counts 1430 instances over tasks 78 and 83-94: 110 each
ULTRASOUND_ID = 78
FIRST_ID = {"ct": 83, "mri": 89}
TASK_IDS = (ULTRASOUND_ID, *range(83, 95))


def task_id_for(modality: str, anatomy: str | None) -> int | None:
    """MedS id of a report's task, or None when a CT/MRI region is not one of the six."""
    if modality == "ultrasound":
        return ULTRASOUND_ID
    if anatomy is None:
        return None
    return FIRST_ID[modality] + ANATOMIES.index(anatomy)


def convert_note(text: str) -> tuple[int, dict[str, str]] | str:
    """One radiology note -> (MedS id, instance), or the reason it is dropped."""
    sections = split_sections(text)
    title = exam_title(sections)
    if not title:
        return "no EXAMINATION title"
    modality = modality_of(title)
    if modality is None:
        return "not a single CT/MRI/ultrasound exam"
    task_id = task_id_for(modality, anatomy_of(title))
    if task_id is None:
        return "CT/MRI body region not one of the six"
    if "FINDINGS" not in sections:
        return "no FINDINGS section"
    if "IMPRESSION" not in sections:
        return "no IMPRESSION section"
    findings, impression = keep_lines(sections["FINDINGS"]), keep_lines(sections["IMPRESSION"])
    if not has_content(findings):
        return "empty FINDINGS"
    if not has_content(impression):
        return "empty IMPRESSION"
    return task_id, {"input": findings, "output": impression}


def build(raw: Path) -> SourceBuild:
    """Read every radiology note once and sort the usable ones into the 13 tasks."""
    path = find_raw_file(raw, ["note/radiology.csv", "radiology.csv"], WHERE, "radiology.csv*")
    tasks = {i: TaskBuild(get_task(i), DEFINITIONS[i], DEFAULT_SIZE) for i in TASK_IDS}
    seen: dict[int, set[tuple[str, str]]] = {i: set() for i in TASK_IDS}
    dropped: Counter[str] = Counter()
    for row in tqdm(read_csv_rows(path, ["text"], WHERE), desc="radiology notes", unit=" notes", disable=None):
        result = convert_note(row["text"] or "")
        if isinstance(result, str):
            dropped[result] += 1
            continue
        task_id, instance = result
        pair = (instance["input"], instance["output"])
        if pair in seen[task_id]:
            dropped["duplicate report"] += 1
            continue
        seen[task_id].add(pair)
        tasks[task_id].instances.append(instance)
    relative = path.name if raw.is_file() else str(path.relative_to(raw))
    return SourceBuild(SOURCE, list(tasks.values()), {relative: sha256_of(path)}, dropped)
