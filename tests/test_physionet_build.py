"""Building the 19 credentialed tasks from synthetic raw files laid out as PhysioNet ships them.

Every record below is invented; none comes from MedNLI or MIMIC.
"""

import argparse
import csv
import gzip
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hub_layouts import layout_files, write_dir

from meds_bench.catalog import TASKS, get_task
from meds_bench.cli import main as meds_bench_main
from meds_bench.cli import validate_dir
from meds_bench.data import load_task
from meds_bench.physionet import RawDataError, add_data_parser, build_source
from meds_bench.physionet.mimic_iv_ed import REVISIT_COLUMNS, TRIAGE_COLUMNS

CREDENTIALED = {t.name for t in TASKS if t.credentialed}


# ---------------------------------------------------------------- synthetic raw files


def _write_csv(path: Path, header: list[str], rows: list[dict], gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode()
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)


def make_mednli(root: Path, n_extra: int = 0) -> Path:
    pairs = [
        ("Patient has a history of CHF and ESRD.", "the patient has heart failure", "entailment"),
        ("labs notable for Na 128.", "Patient has hyponatremia.", "entailment"),
        ("No fevers at home.", "The patient is febrile.", "contradiction"),
        ("She was seen in clinic last week.", "The patient has diabetes.", "neutral"),
    ] + [(f"Invented premise number {k}.", f"Invented hypothesis {k}", "entailment") for k in range(n_extra)]
    lines = [
        json.dumps({"sentence1": s1, "sentence2": s2, "gold_label": g, "pairID": f"p{k}", "sentence1_parse": "(ROOT)"})
        for k, (s1, s2, g) in enumerate(pairs)
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "mli_test_v1.jsonl").write_text("\n".join(lines) + "\n")
    train = json.dumps({"sentence1": "TRAIN premise.", "sentence2": "TRAIN hypothesis.", "gold_label": "neutral"})
    (root / "mli_train_v1.jsonl").write_text(train + "\n")
    return root


def _note(title: str, findings: str, impression: str | None, reverse: bool = False) -> str:
    head = f" \nEXAMINATION:  {title}\n \nINDICATION:  ___ with invented complaint.\n \nTECHNIQUE:  Invented.\n \n"
    f_part = f"FINDINGS: \n \n{findings}\n \n"
    i_part = "" if impression is None else f"IMPRESSION: \n \n{impression}\n"
    return head + (i_part + f_part if reverse else f_part + i_part)


NOTE_TITLES = {
    78: "US ABD LIMIT, SINGLE ORGAN",
    83: "CT CHEST W/CONTRAST",
    84: "CT SOFT TISSUE NECK W/O CONTRAST",
    85: "CT HEAD W/O CONTRAST",
    86: "CT ABD & PELVIS WITH CONTRAST",
    87: "CT PELVIS W/O CONTRAST",
    88: "CT C-SPINE W/O CONTRAST",
    89: "MR CHEST W/O CONTRAST",
    90: "MR HEAD AND NECK W/O CONTRAST",
    91: "MR HEAD W & W/O CONTRAST",
    92: "MR ABDOMEN W/O CONTRAST",
    93: "MR PELVIS W/O CONTRAST",
    94: "MR THORACIC SPINE W/O CONTRAST",
}


def make_note(root: Path, per_task: int = 2) -> Path:
    texts = []
    for task_id, title in NOTE_TITLES.items():
        for k in range(per_task):
            texts.append(_note(title, f"Invented finding {k} for task {task_id}.", f"Invented impression {k}."))
    texts += [
        # reversed sections, organ sub-headings kept inside FINDINGS
        _note("CTA NECK W&W/O C & RECONS", "LARYNX: Normal.\nTHYROID: Normal.", "Normal neck CTA.", reverse=True),
        _note("PELVIS, POST C-SECTION", "Invented.", "Invented."),  # "ct" only inside a word
        _note("CT HEAD W/O CONTRAST", "No impression follows.", None),  # missing impression
        _note("MR HIP (FEMORAL NECK) W/O CONTRAST", "Invented.", "Invented."),  # femoral neck is not head and neck
        _note("CHEST (PA AND LAT)", "Clear lungs.", "Normal."),  # radiograph
        _note(NOTE_TITLES[85], "Invented finding 0 for task 85.", "Invented impression 0."),  # duplicate
    ]
    rows = [
        {"note_id": f"1-RR-{k}", "subject_id": 1, "hadm_id": "", "note_type": "RR", "note_seq": k, "charttime": "",
         "storetime": "", "text": t}
        for k, t in enumerate(texts)
    ]  # fmt: skip
    _write_csv(root / "note" / "radiology.csv.gz", list(rows[0]), rows, gz=True)
    return root


def _cxr_report(findings: str | None, impression: str | None, reverse: bool = False) -> str:
    head = "                                 FINAL REPORT\n EXAMINATION:  CHEST (PA AND LAT)\n \n INDICATION:  ___\n \n"
    f_part = "" if findings is None else f" FINDINGS: \n \n {findings}\n \n"
    i_part = "" if impression is None else f" IMPRESSION: \n \n {impression}\n"
    return head + (i_part + f_part if reverse else f_part + i_part)


def make_cxr(root: Path, as_zip: bool = False, split: bool = False) -> Path:
    reports = {
        "s50000001": _cxr_report("Lungs are clear.  No effusion or\n pneumothorax.", "No acute process."),
        "s50000002": _cxr_report("Left basilar opacity.", "Left basilar\n pneumonia.", reverse=True),
        "s50000003": _cxr_report("Stable cardiomegaly.", None),  # missing impression
        "s50000004": " FINDINGS AND IMPRESSION: \n Normal chest.\n",  # no separate sections
        "s50000005": _cxr_report("Small right effusion.", "Right effusion."),
    }
    rows = [{"subject_id": "10000001", "study_id": s[1:], "path": f"files/p10/p10000001/{s}.txt"} for s in reports]
    rows.append({"subject_id": "10000001", "study_id": "50000009", "path": "files/p10/p10000001/s50000009.txt"})
    _write_csv(root / "cxr-study-list.csv.gz", ["subject_id", "study_id", "path"], rows, gz=True)
    if as_zip:
        with zipfile.ZipFile(root / "mimic-cxr-reports.zip", "w") as archive:
            for study, text in reports.items():
                archive.writestr(f"files/p10/p10000001/{study}.txt", text)
    else:
        for study, text in reports.items():
            path = root / "files" / "p10" / "p10000001" / f"{study}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if split:
        splits = [
            {"dicom_id": f"d{k}", "study_id": s[1:], "subject_id": "1", "split": "test" if k < 2 else "train"}
            for k, s in enumerate(reports)
        ]
        _write_csv(root / "mimic-cxr-2.0.0-split.csv.gz", list(splits[0]), splits, gz=True)
    return root


def _ed_row(k: int, age: str, hosp: str, revisit: str, critical: str) -> dict:
    row = {col: "0" for col in {*TRIAGE_COLUMNS, *REVISIT_COLUMNS}}
    row.update(subject_id=str(1000 + k), stay_id=str(2000 + k), age=age, gender="F" if k % 2 else "M")
    row.update(triage_temperature="" if k == 0 else "36.8", ed_los="0 days 03:10:00", triage_acuity="3.0")
    row.update(outcome_hospitalization=hosp, outcome_ed_revisit_3d=revisit, outcome_critical=critical)
    return row


def make_ed(root: Path, n: int = 6) -> Path:
    rows = [_ed_row(0, "64", "True", "False", "False"), _ed_row(1, "16", "False", "False", "False")]
    rows += [_ed_row(k, "40", "False" if k % 2 else "True", "True" if k % 3 else "False", "True") for k in range(2, n)]
    rows.append(_ed_row(n, "50", "", "False", "False"))  # missing outcome
    header = ["subject_id", "stay_id", *dict.fromkeys([*TRIAGE_COLUMNS, *REVISIT_COLUMNS])]
    header += ["outcome_hospitalization", "outcome_ed_revisit_3d", "outcome_critical"]
    _write_csv(root / "master_dataset.csv", header, rows)
    return root


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def _instances(out: Path, task_id: int) -> list[dict]:
    info = get_task(task_id)
    return _read(out / info.folder / info.file)["Instances"]


# ---------------------------------------------------------------- conversions


def test_mednli_reads_test_split_and_fixes_capitalisation(tmp_path):
    out = tmp_path / "data"
    build_source("mednli", make_mednli(tmp_path / "mednli"), out)
    task41 = _instances(out, 41)
    assert task41[0] == {
        "input": "Sentence1: Patient has a history of CHF and ESRD.\n\nSentence2: the patient has heart failure",
        "output": "Entailment",
    }
    assert [i["output"] for i in task41] == ["Entailment", "Entailment", "Contradiction", "Neutral"]
    assert "TRAIN" not in json.dumps(task41)
    assert _instances(out, 42) == [
        {"input": "Patient has a history of CHF and ESRD.", "output": "The patient has heart failure."},
        {"input": "Labs notable for Na 128.", "output": "Patient has hyponatremia."},
    ]
    info = get_task(41)
    assert _read(out / info.folder / info.file)["Definition"][0].startswith("In medical, a practical task")


def test_mimic_iv_note_fills_all_13_tasks_and_drops_with_reasons(tmp_path):
    out = tmp_path / "data"
    entry = build_source("mimic-iv-note", make_note(tmp_path / "note-raw"), out)
    assert {o["meds_id"] for o in entry["outputs"]} == {f"task{i}" for i in NOTE_TITLES}
    assert entry["empty_tasks"] == []
    assert _instances(out, 84)[-1] == {"input": "LARYNX: Normal.\nTHYROID: Normal.", "output": "Normal neck CTA."}
    assert _instances(out, 90) == [
        {"input": f"Invented finding {k} for task 90.", "output": f"Invented impression {k}."} for k in range(2)
    ]
    assert len(_instances(out, 85)) == 2
    assert entry["dropped"] == {
        "CT/MRI body region not one of the six": 1,
        "duplicate report": 1,
        "no IMPRESSION section": 1,
        "not a single CT/MRI/ultrasound exam": 2,
    }
    assert list(entry["inputs"]) == ["note/radiology.csv.gz"]


@pytest.mark.parametrize("as_zip", [False, True])
def test_mimic_cxr_sections_in_either_order(tmp_path, as_zip):
    out = tmp_path / "data"
    entry = build_source("mimic-cxr", make_cxr(tmp_path / "cxr", as_zip=as_zip), out)
    assert _instances(out, 112) == [
        {"input": "Lungs are clear. No effusion or pneumothorax.", "output": "No acute process."},
        {"input": "Left basilar opacity.", "output": "Left basilar pneumonia."},
        {"input": "Small right effusion.", "output": "Right effusion."},
    ]
    assert entry["dropped"] == {"no FINDINGS section": 1, "no IMPRESSION section": 1, "report file missing": 1}


def test_mimic_cxr_uses_the_official_test_split_when_present(tmp_path):
    out = tmp_path / "data"
    entry = build_source("mimic-cxr", make_cxr(tmp_path / "cxr", split=True), out)
    assert [i["output"] for i in _instances(out, 112)] == ["No acute process.", "Left basilar pneumonia."]
    assert entry["dropped"]["not in the official test split"] == 4
    assert "mimic-cxr-2.0.0-split.csv.gz" in entry["inputs"]


def test_mimic_iv_ed_columns_targets_and_cohorts(tmp_path):
    out = tmp_path / "data"
    entry = build_source("mimic-iv-ed", make_ed(tmp_path / "ed"), out)
    task117 = _instances(out, 117)
    first = task117[0]["input"].split("\n")
    assert len(first) == 64 and first[0] == "age: 64" and first[1] == "gender: M"
    assert "triage_temperature: nan" in first and "triage_acuity: 3.0" in first
    assert [i["output"] for i in task117] == ["True", "True", "False", "True", "False"]
    revisit = _instances(out, 118)
    assert len(revisit[0]["input"].split("\n")) == 67 and "ed_los: 0 days 03:10:00" in revisit[0]["input"]
    assert "triage_heartrate" not in revisit[0]["input"]
    assert [i["output"] for i in revisit] == ["False", "True"]  # only rows 3 and 5 were discharged
    assert [i["output"] for i in _instances(out, 119)] == ["False", "True", "True", "True", "True", "False"]
    assert entry["dropped"]["age under 18"] == 1
    assert entry["dropped"]["task117: outcome_hospitalization not a boolean"] == 1


# ---------------------------------------------------------------- output contract


@pytest.fixture()
def raw_all(tmp_path) -> dict[str, Path]:
    return {
        "mednli": make_mednli(tmp_path / "raw" / "mednli", n_extra=30),
        "mimic-iv-note": make_note(tmp_path / "raw" / "note", per_task=6),
        "mimic-cxr": make_cxr(tmp_path / "raw" / "cxr"),
        "mimic-iv-ed": make_ed(tmp_path / "raw" / "ed", n=40),
    }


def _build_all(raw: dict[str, Path], out: Path, seed: int, size: int | None = None) -> None:
    for source, path in raw.items():
        build_source(source, path, out, seed=seed, size=size)


def test_built_files_validate_and_load(tmp_path, raw_all):
    out = tmp_path / "data"
    _build_all(raw_all, out, seed=1)
    present, missing, problems = validate_dir(out)
    assert problems == []
    assert set(present) == CREDENTIALED and len(present) == 19
    for name in CREDENTIALED:
        loaded = load_task(get_task(name), out)
        assert loaded.docs and loaded.provenance["source"] == "local"
    manifest = _read(out / "MANIFEST.json")
    assert list(manifest["sources"]) == ["mednli", "mimic-cxr", "mimic-iv-ed", "mimic-iv-note"]
    for entry in manifest["sources"].values():
        for output in entry["outputs"]:
            assert len(output["sha256"]) == 64 and (out / output["file"]).is_file()


def test_same_seed_gives_byte_identical_files_and_manifest(tmp_path, raw_all):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _build_all(raw_all, first, seed=5, size=4)
    _build_all(raw_all, second, seed=5, size=4)
    _build_all(raw_all, other, seed=6, size=4)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) == 20  # 19 task files and the manifest
    assert sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file()) == files
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    assert _instances(first, 117) != _instances(other, 117), "the seed changes the sample"
    assert all(len(_instances(first, t.task_id)) <= 4 for t in TASKS if t.credentialed)


def test_default_sizes_follow_the_paper(tmp_path, raw_all):
    out = tmp_path / "data"
    entry = build_source("mimic-iv-ed", raw_all["mimic-iv-ed"], out)
    assert {o["requested"] for o in entry["outputs"]} == {1500}
    entry = build_source("mimic-iv-note", raw_all["mimic-iv-note"], out)
    assert {o["requested"] for o in entry["outputs"]} == {110}


# ---------------------------------------------------------------- errors and CLI


@pytest.mark.parametrize(
    ("source", "prepare", "expected"),
    [
        ("mimic-iv-note", lambda p: p.mkdir(), "note/radiology.csv"),
        ("mednli", lambda p: p.mkdir(), "mli_test_v1.jsonl"),
        ("mimic-cxr", lambda p: p.mkdir(), "cxr-study-list.csv"),
        ("mimic-iv-ed", lambda p: p.mkdir(), "master_dataset.csv"),
        (
            "mimic-iv-note",
            lambda p: _write_csv(p / "note" / "radiology.csv", ["note_id", "body"], [{"note_id": 1, "body": "x"}]),
            "column(s) text missing",
        ),
        (
            "mimic-iv-ed",
            lambda p: _write_csv(p / "master_dataset.csv", ["age", "gender"], [{"age": 1, "gender": "F"}]),
            "n_medrecon",
        ),
        (
            "mednli",
            lambda p: (p.mkdir(), (p / "mli_test_v1.jsonl").write_text('{"sentence1": "a", "sentence2": "b"}\n')),
            "line 1 lacks key(s) gold_label",
        ),
        (
            "mimic-cxr",
            lambda p: _write_csv(p / "cxr-study-list.csv", ["study_id", "path"], [{"study_id": 1, "path": "files/x"}]),
            "unzip mimic-cxr-reports.zip",
        ),
    ],
)
def test_wrong_raw_directory_is_one_clear_line_and_writes_nothing(tmp_path, source, prepare, expected):
    raw, out = tmp_path / "raw", tmp_path / "out"
    prepare(raw)
    _assert_refused(source, raw, out, expected)


def _assert_refused(source: str, raw: Path, out: Path, expected: str) -> None:
    with pytest.raises(RawDataError) as err:
        build_source(source, raw, out)
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert not out.exists()


def test_a_file_of_the_wrong_kind_is_refused(tmp_path):
    discharge = tmp_path / "note" / "discharge.csv.gz"
    _write_csv(discharge, ["note_id", "text"], [{"note_id": 1, "text": "Invented discharge summary."}], gz=True)
    _assert_refused("mimic-iv-note", discharge, tmp_path / "out", "note/radiology.csv.gz of MIMIC-IV-Note")
    _assert_refused("mimic-cxr", discharge, tmp_path / "out", "MIMIC-CXR folder")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="meds-bench")
    add_data_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_builds_and_prints_a_summary(tmp_path, capsys):
    raw = make_ed(tmp_path / "ed") / "master_dataset.csv"  # the file itself is accepted too
    out = tmp_path / "data"
    args = _parse(["data", "build", "mimic-iv-ed", "--input", str(raw), "--out", str(out), "--seed", "3"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "meds_bench_outcome_hospitalization" in printed and "manifest:" in printed
    entry = _read(out / "MANIFEST.json")["sources"]["mimic-iv-ed"]
    assert entry["seed"] == 3 and list(entry["inputs"]) == ["master_dataset.csv"]


def test_cli_reports_a_bad_directory_and_an_empty_task(tmp_path, capsys):
    args = _parse(["data", "build", "mednli", "--input", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert args.func(args) == 2
    assert "mli_test_v1.jsonl" in capsys.readouterr().err
    raw = tmp_path / "mednli"
    raw.mkdir()
    (raw / "mli_test_v1.jsonl").write_text(json.dumps({"sentence1": "a", "sentence2": "b", "gold_label": "neutral"}))
    args = _parse(["data", "build", "mednli", "--input", str(raw), "--out", str(tmp_path / "o")])
    assert args.func(args) == 1, "task 42 has no entailment pair: the build must not look complete"
    assert "NOT WRITTEN task42" in capsys.readouterr().out


@pytest.mark.slow
def test_built_files_beside_the_open_ones_run_all_53_tasks(tmp_path, raw_all, capsys):
    data = write_dir(tmp_path / "data", layout_files("split"))  # the 34 open files, SPLIT layout
    assert len(validate_dir(data)[1]) == 19
    for source, path in raw_all.items():  # through the real command line
        argv = ["data", "build", source, "--input", str(path), "--out", str(data), "--seed", "2", "--size", "5"]
        assert meds_bench_main(argv) == 0, capsys.readouterr().err
    present, missing, problems = validate_dir(data)
    assert (len(present), missing, problems) == (53, [], [])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "meds_bench.cli", "eval", "--data-dir", str(data), "--model", "dummy"]
    proc = subprocess.run(
        [*cmd, "--tasks", "meds_bench", "--output_path", str(tmp_path / "res")], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = (tmp_path / "res").rglob("results_*.json")
    results = json.loads(results_file.read_text())
    assert {t.name for t in TASKS} <= set(results["results"])
    for name in CREDENTIALED:
        scores = {k: v for k, v in results["results"][name].items() if "," in k and "_stderr" not in k}
        assert scores and all(isinstance(v, float) for v in scores.values()), name
        assert results["n-samples"][name]["effective"] == len(_instances(data, get_task(name).task_id))
