"""``meds-bench judge-agreement``: ICC(2,k) and alpha of the jury and of BLEU/ROUGE with human raters, computed
independently here on a small judged folder, and one line with exit status 2 for each bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import krippendorff
import numpy as np
import pytest

from meds_bench.judge.agreement import add_judge_agreement_parser

TASK = "meds_bench_rationale_en"
JUDGE_A = [0, 25, 50, 100]  # scores (0-100) of documents 0-3
JUDGE_B = [0, 75, 50, 100]  # jury = mean of the two = 0, 50, 50, 100
BLEU1 = [10, 20, 30, 40]
ROUGE1 = [20, 20, 80, 80]
RATER_1 = [1, 3, 4, 4]  # on 1-5: 0, 50, 75, 75 on 0-100
RATER_2 = [3, 1, 4, 4]  # 50, 0, 75, 75; raters' mean 25, 25, 75, 75


def _judgement(run, doc, judge, kind="answer", status="ok", score=None, paper=None):
    return {
        "run": run,
        "task": TASK,
        "doc_id": doc,
        "kind": kind,
        "judge": judge,
        "rubric": "rationale",
        "rubric_hash": "3f2a9c01b2d4",
        "status": status,
        "scores": None,
        "score": score,
        "justification": "",
        "answer_chars": 10,
        "paper": paper,
    }


def _judged(folder: Path, runs=("r1",)) -> Path:
    folder.mkdir()
    lines = []
    for run in runs:
        for doc in range(4):
            paper = {"bleu1": BLEU1[doc], "rouge1": ROUGE1[doc]}
            lines.append(_judgement(run, doc, "A", score=JUDGE_A[doc], paper=paper))
            lines.append(_judgement(run, doc, "B", score=JUDGE_B[doc], paper=paper))
            lines.append(_judgement(run, doc, "A", kind="reference_control", score=100.0))
        lines.append(_judgement(run, 1, "C", status="invalid", paper={"bleu1": 20, "rouge1": 20}))
        lines.append(_judgement(run, 4, "A", status="failed", paper={"bleu1": 5, "rouge1": 5}))
    (folder / "judgements.jsonl").write_text("".join(json.dumps(obj) + "\n" for obj in lines), encoding="utf-8")
    return folder


def _labels(path: Path, rows, header="task,doc_id,rater,score") -> Path:
    path.write_text(header + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows), encoding="utf-8")
    return path


def _rater_rows(docs=range(4)):
    rows = [(TASK, doc, "r1", RATER_1[doc]) for doc in docs] + [(TASK, doc, "r2", RATER_2[doc]) for doc in docs]
    return rows + [(TASK, 4, "r1", 2)]  # document 4 has no valid judgement: left out


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_judge_agreement_parser(parser.add_subparsers())
    args = parser.parse_args(["judge-agreement", *map(str, argv)])
    return args.func(args)


def _icc2k_by_anova(matrix) -> float:
    """ICC(2,k) from the two-way ANOVA table, written out independently of the module."""
    x = np.asarray(matrix, dtype=float)
    n, k = x.shape
    ms_items = k * x.mean(axis=1).var(ddof=1)
    ms_raters = n * x.mean(axis=0).var(ddof=1)
    residual = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + x.mean()
    ms_error = (residual**2).sum() / ((n - 1) * (k - 1))
    return (ms_items - ms_error) / (ms_items + (ms_raters - ms_error) / n)


def test_agreement_of_jury_bleu_and_rouge_with_the_raters(tmp_path, capsys):
    folder = _judged(tmp_path / "judged")
    labels = _labels(tmp_path / "labels.csv", _rater_rows())
    out = tmp_path / "agreement.json"
    assert _run(labels, "--judged", folder, "--scale", "1,5", "--output", out) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["items"] == 4 and report["no_valid_judgement"] == 1
    assert report["raters"] == ["r1", "r2"] and report["scale"] == [1.0, 5.0] and report["runs"] == ["r1"]

    jury = report["metrics"]["jury"]
    # items x [jury, raters' mean] = (0, 25), (50, 25), (50, 75), (100, 75); grand mean 50, column means 50, 50
    # SS items = 2 * (37.5^2 + 12.5^2 + 12.5^2 + 37.5^2) = 6250 (MSR 6250/3), SS raters = 0 (MSC 0),
    # SS total = 7500 -> SS error 1250 (MSE 1250/3); ICC(2,k) = (5000/3) / (6250/3 - 1250/12) = 16/19
    assert jury["n"] == 4 and jury["icc2k"] == pytest.approx(16 / 19)
    # alpha over [jury, r1, r2]: units (0,0,50), (50,50,0) give m SS_u/(m-1) = 2500 each, (50,75,75) and
    # (100,75,75) 625 each: 6250; the 12 values have mean 50 and SS 12500 -> 1 - 11 * 6250 / (12 * 12500) = 13/24
    humans = [[0, 50, 75, 75], [50, 0, 75, 75]]
    assert jury["alpha"] == pytest.approx(13 / 24)
    assert jury["alpha"] == pytest.approx(
        krippendorff.alpha([[0, 50, 50, 100], *humans], level_of_measurement="interval")
    )
    low, high = jury["icc2k_ci"]
    assert low < 16 / 19 < high
    assert len(jury["alpha_ci"]) == 2

    for key, values in (("bleu1", BLEU1), ("rouge1", ROUGE1)):
        row = report["metrics"][key]
        assert row["n"] == 4
        assert row["icc2k"] == pytest.approx(_icc2k_by_anova(np.column_stack([values, [25, 25, 75, 75]])))
        assert row["alpha"] == pytest.approx(krippendorff.alpha([values, *humans], level_of_measurement="interval"))
    # the raters alone: units (0,50), (50,0) give 2500 each, (75,75) twice 0; 8 values, mean 50, SS 7500
    # -> 1 - 7 * 5000 / (8 * 7500) = 5/12
    assert report["raters_alpha"] == pytest.approx(5 / 12)

    table = capsys.readouterr().out
    assert "1 labelled document(s) without a valid judgement left out" in table
    assert f"{16 / 19:.3f}" in table.splitlines()[2] and table.splitlines()[3].startswith("BLEU-1")

    again = tmp_path / "again.json"
    assert _run(labels, "--judged", folder, "--scale", "1,5", "--output", again) == 0
    assert json.loads(again.read_text(encoding="utf-8")) == report  # seeded intervals


def test_default_scale_is_the_lowest_and_highest_label(tmp_path):
    folder = _judged(tmp_path / "judged")
    out = tmp_path / "a.json"
    assert _run(_labels(tmp_path / "labels.csv", _rater_rows()), "--judged", folder, "--output", out) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["scale"] == [1.0, 4.0]
    mean = [(np.mean([a, b]) - 1) / 3 * 100 for a, b in zip(RATER_1, RATER_2, strict=True)]
    assert report["metrics"]["jury"]["icc2k"] == pytest.approx(
        _icc2k_by_anova(np.column_stack([[0, 50, 50, 100], mean]))
    )


def test_labels_name_the_run_when_several_were_judged(tmp_path):
    folder = _judged(tmp_path / "judged", runs=("r1", "r2"))
    rows = [("r2", *row) for row in _rater_rows()]
    out = tmp_path / "a.json"
    labels = _labels(tmp_path / "labels.csv", rows, header="run,task,doc_id,rater,score")
    assert _run(labels, "--judged", folder, "--scale", "1,5", "--output", out) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["runs"] == ["r2"] and report["metrics"]["jury"]["icc2k"] == pytest.approx(16 / 19)


def _refused(capsys, *argv) -> str:
    assert _run(*argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    return captured.err


def test_missing_and_non_utf8_labels(tmp_path, capsys):
    folder = _judged(tmp_path / "judged")
    err = _refused(capsys, tmp_path / "nope.csv", "--judged", folder)
    assert "nope.csv: cannot read the labels" in err
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"task,doc_id,rater,score\nt\xe9,0,r1,3\n")
    assert "latin.csv:2: not UTF-8" in _refused(capsys, latin, "--judged", folder)


def test_missing_column_short_row_and_non_numeric_score(tmp_path, capsys):
    folder = _judged(tmp_path / "judged")
    labels = _labels(tmp_path / "l.csv", [(TASK, 0, "r1")], header="task,doc_id,rater")
    assert "l.csv: column 'score' missing" in _refused(capsys, labels, "--judged", folder)
    labels = _labels(tmp_path / "m.csv", [(TASK, 0, "r1", 3), (TASK, 1, "r1", "good")])
    assert "m.csv:3: score 'good' is not a number" in _refused(capsys, labels, "--judged", folder)
    labels = _labels(tmp_path / "n.csv", [(TASK, 0, "r1", 3), (TASK, 1)])
    assert "n.csv:3: task, doc_id or rater empty" in _refused(capsys, labels, "--judged", folder)


def test_a_rater_scoring_a_document_twice(tmp_path, capsys):
    labels = _labels(tmp_path / "l.csv", [(TASK, 0, "r1", 3), (TASK, 0, "r1", 4)])
    err = _refused(capsys, labels, "--judged", _judged(tmp_path / "judged"))
    assert f"l.csv:3: rater 'r1' scored {TASK} doc 0 twice" in err


def test_labelled_documents_never_judged_are_named_and_counted(tmp_path, capsys):
    rows = _rater_rows() + [(TASK, doc, "r1", 3) for doc in range(10, 15)] + [("meds_bench_other", 0, "r1", 3)]
    err = _refused(capsys, _labels(tmp_path / "l.csv", rows), "--judged", _judged(tmp_path / "judged"))
    assert "6 labelled document(s) that" in err and f"({TASK} doc 10; {TASK} doc 11; {TASK} doc 12; ...)" in err


def test_folder_without_judgements(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    err = _refused(capsys, _labels(tmp_path / "l.csv", _rater_rows()), "--judged", tmp_path / "empty")
    assert "empty: no judgements.jsonl" in err


def test_fewer_than_two_common_documents(tmp_path, capsys):
    err = _refused(capsys, _labels(tmp_path / "l.csv", _rater_rows(docs=[0])), "--judged", _judged(tmp_path / "j"))
    assert "1 labelled document(s) with a valid jury score: agreement needs 2 or more" in err


def test_several_runs_need_a_run_column(tmp_path, capsys):
    folder = _judged(tmp_path / "judged", runs=("r1", "r2"))
    err = _refused(capsys, _labels(tmp_path / "l.csv", _rater_rows()), "--judged", folder)
    assert "judged several runs (r1, r2): add a column run" in err


@pytest.mark.parametrize(
    "scale, message",
    [("5", "two numbers"), ("5,1", "LOW must be below HIGH"), ("2,5", "scores outside it (e.g. 1)")],
)
def test_bad_scale(tmp_path, capsys, scale, message):
    labels = _labels(tmp_path / "l.csv", _rater_rows())
    assert message in _refused(capsys, labels, "--judged", _judged(tmp_path / "judged"), "--scale", scale)
