"""Judged runs (``meds-bench judge --output DIR``) read by ``report``, ``compare`` and ``export-submission``.

The judge output is written here by hand: two runs (org/alpha, org/beta), two judges, one free-text task in
each of two categories (task52 rationale_en, task18 explanation_healthfact). Every expected figure is computed
by hand from the per-judge scores below.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from report_fixtures import write_run

from meds_bench.cli import main
from meds_bench.judge.judged import JudgedInputError, load_judged
from meds_bench.metrics.uncertainty import Z95

RAT, EXP = "meds_bench_rationale_en", "meds_bench_explanation_healthfact"
J1, J2 = "openai:gpt-x", "anthropic:claude-y"
# run -> task -> per-document (J1, J2) scores on 0-100; None = an invalid reply
SCORES = {
    "alpha": {RAT: [(75, 25), (50, 50), (100, 100)], EXP: [(100, 100), (100, 50), (75, 75), (0, 0)]},
    "beta": {RAT: [(50, 50), (25, 25), (50, None)], EXP: [(75, 75), (50, 50), (50, 50)]},
}
# per-document jury scores (mean over the valid judgements):
#   alpha rationale 50, 50, 100          beta rationale 50, 25, 50 (J2 invalid on doc 2: left out, not 0)
#   alpha explanation 100, 75, 75, 0     beta explanation 75, 50, 50 (doc 3 not judged for beta)
DOCS = [(f"Question {k}: why heparin?", f"Heparin prevents clots, reason {k}.", f"Answer {k}.") for k in range(4)]


def _results(folders: dict[str, Path]) -> dict:
    def task(jury, stderr, ci, judges, n, invalid=0, alpha=0.41):
        return {"jury": jury, "jury_stderr": stderr, "jury_ci": ci, "alpha": alpha,
                "spearman": {f"{J1} ~ {J2}": 0.5}, "judges": judges, "n": n, "invalid": invalid}  # fmt: skip

    def controls(reference):
        return {
            "reference": {"score": reference, "threshold": 75.0, "passed": reference >= 75, "n": 3},
            "swapped": {"score": 10.0, "threshold": 40.0, "passed": True, "n": 3},
            "length_spearman": {"jury": 0.2, "rouge1": -0.1, "n": 3},
        }

    def categories(rationale, explanation):
        return {"rationale": {"jury": rationale, "tasks": [RAT]}, "explanation": {"jury": explanation, "tasks": [EXP]}}

    runs = {
        "alpha": {
            "tasks": {
                RAT: task(200 / 3, 5.0, [50.0, 90.0], {J1: 75.0, J2: 175 / 3}, 3),
                EXP: task(62.5, 4.0, [40.0, 80.0], {J1: 68.75, J2: 56.25}, 4),
            },
            "categories": categories(200 / 3, 62.5),
            "controls": {RAT: controls(95.0), EXP: controls(90.0)},
        },
        "beta": {
            "tasks": {
                RAT: task(
                    125 / 3, 3.0, [125 / 3 - 15, 125 / 3 + 15], {J1: 125 / 3, J2: 37.5}, 3, invalid=1, alpha=None
                ),
                EXP: task(175 / 3, 2.0, [50.0, 65.0], {J1: 175 / 3, J2: 175 / 3}, 3),
            },
            "categories": categories(125 / 3, 175 / 3),
            "controls": {RAT: controls(41.0), EXP: controls(80.0)},
        },
    }
    for label, run in runs.items():
        run |= {"path": str(folders[label]), "model": f"org/{label}", "provider": None}
    judges = [
        {"label": J1, "spec": "meds-openai:model=gpt-x", "provider": "openai", "model": "gpt-x"},
        {"label": J2, "spec": "meds-anthropic:model=claude-y", "provider": "anthropic", "model": "claude-y"},
    ]
    return {"version": 1, "judges": judges, "rubrics": {"rationale": "3f2a9c01b2d4", "explanation": "0123456789ab"},
            "allow_self_judging": False, "runs": runs, "cost": {"judging": {"usd": 0.0, "batch_usd": 0.0}}}  # fmt: skip


def _line(run, task, doc_id, judge, score, kind="answer"):
    ok = score is not None
    return {"run": run, "task": task, "doc_id": doc_id, "kind": kind, "judge": judge, "rubric": "rationale",
            "rubric_hash": "3f2a9c01b2d4", "status": "ok" if ok else "invalid",
            "scores": {"accuracy": 1 + score / 25} if ok else None, "score": score, "justification": "...",
            "answer_chars": 10}  # fmt: skip


def write_judged(directory: Path, folders: dict[str, Path]) -> Path:
    """The judge output of SCORES (plus control lines and a replaced line, which must not change a score)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "judge_results.json").write_text(json.dumps(_results(folders)), encoding="utf-8")
    lines = [_line("alpha", RAT, 0, J1, 0)]  # replaced by the later line for the same key (75)
    for run, tasks in SCORES.items():
        for task, docs in tasks.items():
            for doc_id, pair in enumerate(docs):
                lines += [_line(run, task, doc_id, judge, s) for judge, s in zip((J1, J2), pair, strict=True)]
            lines.append(_line(run, task, 0, J1, 100, kind="reference_control"))
            lines.append(_line(run, task, 0, J1, 0, kind="swapped_control"))
    text = "".join(json.dumps(line) + "\n" for line in lines)
    (directory / "judgements.jsonl").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture()
def judged(tmp_path):
    """(results root, {label: run folder}, judge output DIR)."""
    root = tmp_path / "results"
    folders = {}
    for label in ("alpha", "beta"):
        scores = {t: {"bleu1": 20.0, "rougeL": 30.0, "rouge1": 35.0} for t in (RAT, EXP)}
        n = {RAT: 3, EXP: 4}
        path = write_run(root, f"org/{label}", scores, samples={t: DOCS[: n[t]] for t in (RAT, EXP)}, n=4)
        folders[label] = path.parent
    return root, folders, write_judged(tmp_path / "judged", folders)


def test_per_document_jury_scores_are_the_mean_of_the_valid_answer_judgements(judged):
    _, folders, directory = judged
    runs = load_judged(directory)
    assert runs.judges == (J1, J2)
    alpha, beta = runs.runs["alpha"], runs.runs["beta"]
    assert {k: d.score for k, d in alpha.docs[RAT].items()} == {"0": 50.0, "1": 50.0, "2": 100.0}
    assert alpha.docs[RAT]["0"].judges == {J1: 75.0, J2: 25.0}  # the later line for (alpha, task52, 0, J1) counts
    assert {k: d.score for k, d in beta.docs[RAT].items()} == {"0": 50.0, "1": 25.0, "2": 50.0}  # J2 invalid on 2
    assert beta.docs[RAT]["2"].judges == {J1: 50.0}
    assert {k: d.score for k, d in alpha.docs[EXP].items()} == {"0": 100.0, "1": 75.0, "2": 75.0, "3": 0.0}
    assert alpha.tasks[RAT].ci == (50.0, 90.0) and beta.tasks[RAT].alpha is None and beta.tasks[RAT].invalid == 1
    assert [(t, c.text()) for t, c in beta.failed_controls()] == [(RAT, "FAILED: reference scored 41.00 < 75")]
    assert alpha.failed_controls() == []
    # matching: the recorded path is the run's folder; its results file lies inside it
    assert runs.find(next(folders["beta"].glob("results_*.json"))) is beta
    assert runs.find(Path("elsewhere"), "alpha") is alpha  # no path matches: the label does
    assert runs.find(Path("elsewhere"), "gamma") is None


def _section(md: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", md, re.S | re.M)
    assert match, f"no section {title!r}"
    return match.group(1)


def _table(section: str) -> list[dict[str, str]]:
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)) for line in lines[2:]]


def test_report_shows_jury_columns_jury_table_and_csv_rows(judged, tmp_path, capsys):
    root, _, directory = judged
    out = tmp_path / "out"
    assert main(["report", str(root), "--output", str(out), "--judged", str(directory)]) == 0
    err = capsys.readouterr().err
    assert "warning: judged run beta: task52 meds_bench_rationale_en: FAILED: reference scored 41.00 < 75" in err
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    rationale = {row["Model"]: row for row in _table(_section(md, "Rationale"))}
    assert rationale["org/alpha"]["en (task52)"] == "20.00/30.00"  # the paper metric stays beside it
    assert rationale["org/alpha"]["task52 jury"] == "66.67 [50.00, 90.00]"  # 200/3 with its CI
    assert rationale["org/beta"]["task52 jury"] == "41.67 ± 15.00 (control FAILED)"
    assert rationale["org/alpha"]["Jury (category)"] == f"66.67 ± {Z95 * 5.0:.2f}"  # one task: its stderr
    assert rationale["org/alpha"]["zh (task51)"] == "missing"  # tasks not run stay missing
    assert "task51 jury" not in rationale["org/alpha"]  # and get no jury column: nobody judged them
    explanation = {row["Model"]: row for row in _table(_section(md, "Concept explanation"))}
    assert explanation["org/beta"]["task18 jury"] == "58.33 [50.00, 65.00]"
    assert explanation["org/beta"]["Jury (category)"] == f"58.33 ± {Z95 * 2.0:.2f}"
    mcqa = _table(_section(md, "Multilingual multiple-choice QA"))
    assert mcqa and not any("jury" in key.lower() for row in mcqa for key in row)
    jury = {(r["Model"], r["Task"]): r for r in _table(_section(md, "Jury"))}
    beta_rat = jury[("org/beta", "rationale_en (task52)")]
    assert beta_rat[J1] == "41.67" and beta_rat[J2] == "37.50" and beta_rat["Alpha"] == "—"
    assert beta_rat["Invalid"] == "1" and beta_rat["Controls"] == "FAILED: reference scored 41.00 < 75"
    alpha_rat = jury[("org/alpha", "rationale_en (task52)")]
    assert alpha_rat["Controls"] == "passed (reference 95.00 >= 75; swapped 10.00 <= 40)"
    assert alpha_rat["Alpha"] == "0.41" and alpha_rat["Length ρ (jury / ROUGE-1)"] == "+0.20 / -0.10 (n=3)"
    assert alpha_rat[J2] == "58.33"
    html = (out / "index.html").read_text(encoding="utf-8")
    assert '<td class="failed">FAILED: reference scored 41.00 &lt; 75</td>' in html
    with (out / "leaderboard.csv").open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["metric"].startswith("jury")]
    values = {(r["model"], r["column"], r["metric"]): r for r in rows}
    assert float(values[("org/alpha", RAT, "jury")]["value"]) == pytest.approx(200 / 3)
    assert values[("org/alpha", RAT, "jury")]["n"] == "3"
    assert float(values[("org/beta", "meds_bench-explanation", "jury_explanation")]["value"]) == pytest.approx(175 / 3)
    assert "FAILED: reference scored 41.00 < 75" in values[("org/beta", RAT, "jury")]["note"]
    assert len(rows) == 2 * (2 + 2)  # per run: two task rows, two category rows


def test_report_without_judged_has_no_jury(judged, tmp_path):
    root, _, _ = judged
    assert main(["report", str(root), "--output", str(tmp_path / "out")]) == 0
    md = (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")
    assert "jury" not in md.lower()


def test_compare_pairs_jury_scores_of_documents_both_runs_were_judged_on(judged, tmp_path, capsys):
    _, folders, directory = judged
    out = tmp_path / "c.json"
    args = ["compare", str(folders["alpha"]), str(folders["beta"]), "--judged", str(directory), "--output", str(out)]
    assert main(args) == 0
    text = capsys.readouterr()
    jury = json.loads(out.read_text())["jury"]
    assert (jury["judged_a"], jury["judged_b"]) == ("alpha", "beta")
    rows = {r["task"]: r for r in jury["tasks"]}
    # rationale: (50, 50, 100) - (50, 25, 50) = (0, 25, 50): mean 25
    assert rows[RAT]["n"] == 3 and rows[RAT]["diff"] == pytest.approx(25.0)
    assert 0.0 <= rows[RAT]["ci_low"] < rows[RAT]["diff"] < rows[RAT]["ci_high"] <= 50.0
    # explanation: alpha's doc 3 has no beta judgement and is left out: (100, 75, 75) - (75, 50, 50) = 25 each,
    # so every bootstrap resample gives 25
    assert rows[EXP]["n"] == 3 and rows[EXP]["diff"] == pytest.approx(25.0)
    assert (rows[EXP]["ci_low"], rows[EXP]["ci_high"]) == (pytest.approx(25.0), pytest.approx(25.0))
    cats = {r["category"]: r for r in jury["categories"]}
    assert cats["explanation"]["diff"] == pytest.approx(25.0) and cats["rationale"]["diff"] == pytest.approx(25.0)
    assert "Jury scores, A - B = judged run alpha - beta" in text.out
    assert re.search(r"task18 meds_bench_explanation_healthfact\s+n=3\s+\+25\.00", text.out)
    assert "warning: judged run beta: task52 meds_bench_rationale_en: FAILED: reference scored 41.00 < 75" in text.err


def test_compare_with_one_folder_per_run_and_explicit_labels(judged, tmp_path, capsys):
    _, folders, directory = judged
    a, b = str(folders["alpha"]), str(folders["beta"])
    args = ["compare", a, b, "--judged", str(directory), str(directory), "--judged-run", "beta", "alpha"]
    assert main([*args, "--output", str(tmp_path / "c.json")]) == 0
    rows = {r["task"]: r for r in json.loads((tmp_path / "c.json").read_text())["jury"]["tasks"]}
    assert rows[EXP]["diff"] == pytest.approx(-25.0)  # beta's judgements given for A: the sign flips


def test_compare_refuses_runs_judged_on_no_common_document(judged, tmp_path, capsys):
    _, folders, directory = judged
    lines = [json.loads(line) for line in (directory / "judgements.jsonl").read_text().splitlines()]
    keep = [line for line in lines if not (line["run"] == "beta" and line["kind"] == "answer")]
    (directory / "judgements.jsonl").write_text("".join(json.dumps(line) + "\n" for line in keep))
    assert main(["compare", str(folders["alpha"]), str(folders["beta"]), "--judged", str(directory)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "share no judged document" in err


def test_export_submission_adds_the_jury_columns(judged, tmp_path, capsys):
    _, folders, directory = judged
    out = tmp_path / "sub"
    assert main(["export-submission", str(folders["beta"]), "--output", str(out), "--judged", str(directory)]) == 0
    with (out / "rationale.csv").open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["task_id", "input", "GT", "output", "jury", f"jury:{J1}", f"jury:{J2}"]
    assert [(r["jury"], r[f"jury:{J1}"], r[f"jury:{J2}"]) for r in rows] == [
        ("50.0", "50.0", "50.0"),
        ("25.0", "25.0", "25.0"),
        ("50.0", "50.0", ""),  # J2's reply was invalid: no score, never 0
    ]
    with (out / "explanation.csv").open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["jury"] for r in rows] == ["75.0", "50.0", "50.0", ""]  # doc 3 was not judged for beta
    assert "FAILED: reference scored 41.00 < 75" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda d: (d / "judgements.jsonl").write_text('{"run": "alpha"}\nnot json\n'), r"judgements\.jsonl:1: field"),
        (lambda d: (d / "judgements.jsonl").write_text("\n\n{oops\n"), r"judgements\.jsonl:3: not valid JSON"),
        (lambda d: (d / "judge_results.json").unlink(), r"judge_results\.json: no such file"),
        (lambda d: (d / "judgements.jsonl").write_bytes(b'{"run": "\xe9"}\n'), r"judgements\.jsonl:1: not UTF-8"),
    ],
)
def test_a_malformed_judge_output_is_one_line_and_exit_2(judged, tmp_path, capsys, damage, expected):
    root, folders, directory = judged
    damage(directory)
    commands = [
        ["report", str(root), "--output", str(tmp_path / "out"), "--judged", str(directory)],
        ["compare", str(folders["alpha"]), str(folders["beta"]), "--judged", str(directory)],
        ["export-submission", str(folders["alpha"]), "--output", str(tmp_path / "sub"), "--judged", str(directory)],
    ]
    for command in commands:
        assert main(command) == 2
        captured = capsys.readouterr()
        assert len(captured.err.strip().splitlines()) == 1 and re.search(expected, captured.err), captured.err
        assert captured.out == ""
    assert not (tmp_path / "out").exists() and not (tmp_path / "sub").exists()  # nothing written first


def test_a_run_matching_two_judged_runs_asks_for_judged_run(judged, tmp_path, capsys):
    root, folders, directory = judged
    results = json.loads((directory / "judge_results.json").read_text())
    results["runs"]["gamma"] = {**results["runs"]["alpha"], "path": str(root)}  # a folder holding both runs
    results["runs"]["alpha"]["path"] = str(root)
    (directory / "judge_results.json").write_text(json.dumps(results))
    runs = load_judged(directory)
    with pytest.raises(JudgedInputError, match="all match it; name the one meant with --judged-run"):
        runs.find(folders["alpha"])
    assert runs.find(folders["alpha"], chosen="gamma") is runs.runs["gamma"]
    out = tmp_path / "out"
    args = ["report", str(root), "--output", str(out), "--judged", str(directory)]
    assert main([*args, "--judged-run", "org/alpha=gamma"]) == 2  # org/beta still matches alpha and gamma
    assert "--judged-run" in capsys.readouterr().err
    assert main([*args, "--judged-run", "org/alpha=gamma", "--judged-run", "org/beta=beta"]) == 0
    assert main([*args, "--judged-run", "nobody=gamma"]) == 2
    assert "no run of this report is labelled nobody" in capsys.readouterr().err


def test_a_relative_recorded_path_is_resolved_against_the_current_folder(judged, tmp_path, monkeypatch):
    root, folders, directory = judged
    results = json.loads((directory / "judge_results.json").read_text())
    results["runs"]["alpha"]["path"] = "results/org__alpha"  # as `meds-bench judge results/org__alpha` records it
    (directory / "judge_results.json").write_text(json.dumps(results))
    monkeypatch.chdir(tmp_path)
    runs = load_judged(Path("judged"))
    assert runs.find(folders["alpha"]) is runs.runs["alpha"]
    monkeypatch.chdir(root)  # from elsewhere the relative path names another folder
    assert runs.find(folders["alpha"]) is None


@pytest.mark.parametrize(
    "command",
    [
        ["report", "RUN", "--judged-run", "a=b"],
        ["compare", "RUN", "RUN", "--judged-run", "a", "b"],
        ["export-submission", "RUN", "--output", "OUT", "--judged-run", "a"],
    ],
)
def test_judged_run_without_judged_is_refused(command, capsys):
    assert main(command) == 2
    assert capsys.readouterr().err.strip().endswith("--judged-run needs --judged DIR")
