"""MIMIC-CXR free-text reports -> task 112 (FINDINGS -> IMPRESSION).

Input: the MIMIC-CXR directory holding ``cxr-study-list.csv[.gz]`` (column ``path``; the original
script's ``report_path`` is accepted too) and the reports, either unzipped (``files/p10/...``) or
as ``mimic-cxr-reports.zip``. Sections are found in either order; text is joined onto one line.
When ``mimic-cxr-2.0.0-split.csv[.gz]`` (from MIMIC-CXR-JPG) lies beside the study list, only
studies of the official ``test`` split are used; otherwise every listed study is (as the original).
"""

from __future__ import annotations

import hashlib
import zipfile
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from meds_bench.catalog import get_task
from meds_bench.data import sha256_of
from meds_bench.physionet.common import RawDataError, SourceBuild, TaskBuild, find_raw_file, read_csv_rows
from meds_bench.physionet.definitions import DEFINITIONS
from meds_bench.physionet.reports import has_content, one_line, split_sections

SOURCE = "mimic-cxr"
NAME = "MIMIC-CXR"
URL = "https://physionet.org/content/mimic-cxr/"
TASK_ID = 112
DEFAULT_SIZE = 100
WHERE = "cxr-study-list.csv.gz in the top folder of MIMIC-CXR"
SPLIT_WHERE = "mimic-cxr-2.0.0-split.csv.gz of MIMIC-CXR-JPG (columns study_id, split)"
ZIP_NAME = "mimic-cxr-reports.zip"


def convert_report(text: str) -> dict[str, str] | str:
    """One report -> instance, or the reason it is dropped."""
    sections = split_sections(text)
    if "FINDINGS" not in sections:
        return "no FINDINGS section"
    if "IMPRESSION" not in sections:
        return "no IMPRESSION section"
    findings, impression = one_line(sections["FINDINGS"]), one_line(sections["IMPRESSION"])
    if not has_content(findings):
        return "empty FINDINGS"
    if not has_content(impression):
        return "empty IMPRESSION"
    return {"input": findings, "output": impression}


class _ReportStore:
    """Reads report files from the unzipped ``files/`` tree or straight from the reports zip."""

    def __init__(self, root: Path) -> None:
        self.root = root
        zip_path = root / ZIP_NAME
        self.zip = zipfile.ZipFile(zip_path) if zip_path.is_file() and not (root / "files").is_dir() else None
        self.names = set(self.zip.namelist()) if self.zip else set()

    def read(self, listed: str) -> bytes | None:
        rel = listed if listed.endswith(".txt") else f"{listed}.txt"
        if self.zip is None:
            path = self.root / rel
            return path.read_bytes() if path.is_file() else None
        for name in (rel, rel.removeprefix("files/"), f"files/{rel}"):
            if name in self.names:
                return self.zip.read(name)
        return None

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _test_studies(root: Path, notes: list[str], inputs: dict[str, str]) -> set[str] | None:
    try:
        split_file = find_raw_file(root, ["mimic-cxr-2.0.0-split.csv"], SPLIT_WHERE)
    except RawDataError:
        notes.append("no mimic-cxr-2.0.0-split.csv[.gz] beside the study list: every listed study was used")
        return None
    notes.append(f"official test split from {split_file.name}")
    inputs[split_file.name] = sha256_of(split_file)
    return {
        row["study_id"]
        for row in read_csv_rows(split_file, ["study_id", "split"], SPLIT_WHERE)
        if row["split"] == "test"
    }


def build(raw: Path) -> SourceBuild:
    """Read every listed report (of the test split when known) and keep those with both sections."""
    if raw.is_file():
        raise RawDataError(f"{raw}: give the MIMIC-CXR folder (holding {WHERE.split(' in ')[0]} and the reports)")
    study_list = find_raw_file(raw, ["cxr-study-list.csv"], WHERE)
    rows = list(read_csv_rows(study_list, ["study_id"], WHERE))
    if not rows:
        raise RawDataError(f"{study_list}: lists no study; expected {WHERE}")
    column = next((c for c in ("path", "report_path") if c in rows[0]), None)
    if column is None:
        raise RawDataError(f"{study_list}: column 'path' missing from the header; expected {WHERE}")
    notes: list[str] = []
    inputs = {study_list.name: sha256_of(study_list)}
    test = _test_studies(raw, notes, inputs)
    store = _ReportStore(raw)
    task = TaskBuild(get_task(TASK_ID), DEFINITIONS[TASK_ID], DEFAULT_SIZE)
    dropped: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    reports_digest, found = hashlib.sha256(), 0
    for row in tqdm(rows, desc="MIMIC-CXR reports", unit=" reports", disable=None):
        if test is not None and row["study_id"].lstrip("s") not in test:
            dropped["not in the official test split"] += 1
            continue
        listed = row[column] or ""
        data = store.read(listed) if listed else None
        if data is None:
            dropped["report file missing"] += 1
            continue
        found += 1
        reports_digest.update(listed.encode() + b"\0" + data + b"\0")
        result = convert_report(data.decode("utf-8"))
        if isinstance(result, str):
            dropped[result] += 1
        elif (result["input"], result["output"]) in seen:
            dropped["duplicate report"] += 1
        else:
            seen.add((result["input"], result["output"]))
            task.instances.append(result)
    store.close()
    if found == 0 and dropped["report file missing"]:
        raise RawDataError(
            f"{raw}: none of the reports listed in {study_list.name} was found; unzip {ZIP_NAME} (MIMIC-CXR) there "
            f"so that files/p10/... exists, or put the zip itself there"
        )
    inputs[f"reports ({found} read, combined)"] = reports_digest.hexdigest()
    return SourceBuild(SOURCE, [task], inputs, dropped, notes)
