"""``meds-bench compare``: hand-computed paired differences, McNemar and permutation p-values, Holm,
categories, and refusal of runs whose prompts differ."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import API_DOCS, DATE, MCQA, MCQA_DOCS, NER, NER_DOCS, api_run_with_one_output_limit, write_run

from meds_bench.cli import main
from meds_bench.metrics.paired import holm, paired_corpus, paired_mean, sign_flip_p
from meds_bench.metrics.uncertainty import Z95, micro_prf

GOLD = "The right answer is B: heparin"


def _run_csv(path: Path, right: set[int], n: int = 10) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["task", "input", "reference", "prediction"])
        for k in range(n):
            writer.writerow(["task57", f"Question {k}? A. x B. heparin", GOLD, "B" if k in right else "D"])
    return path


def test_hand_computed_paired_accuracy_difference():
    a = [100.0] * 3 + [0.0] * 7  # A right on documents 0-2
    b = [0.0] * 3 + [100.0] * 2 + [0.0] * 5  # B right on 3-4, never both
    result = paired_mean(a, b)
    # d = +100 x3, -100 x2, 0 x5: mean 10; sum (d - 10)^2 = 50000 - 10 * 10^2 = 49000; sd = sqrt(49000 / 9)
    half = Z95 * math.sqrt(49000 / 9) / math.sqrt(10)
    assert result.diff == 10.0 and result.n == 10
    assert half == pytest.approx(45.73, abs=0.01)
    assert (result.ci_low, result.ci_high) == (pytest.approx(10 - half), pytest.approx(10 + half))
    assert result.p_value == 1.0 and result.test == "mcnemar-exact"  # binomtest(3, 5): two-sided p = 1


def test_compare_cli_writes_the_hand_computed_rows(tmp_path, capsys):
    a, b = _run_csv(tmp_path / "a.csv", {0, 1, 2}), _run_csv(tmp_path / "b.csv", {3, 4})
    assert main(["compare", str(a), str(b), "--json", str(tmp_path / "c.json")]) == 0
    (row,) = json.loads((tmp_path / "c.json").read_text())["tasks"]
    assert row["task"] == "meds_bench_mcqa_medqa_en" and row["n"] == 10
    assert row["diff"] == 10.0 and row["ci_high"] - row["diff"] == pytest.approx(45.73, abs=0.01)
    assert row["p_value"] == 1.0 and row["p_holm"] == 1.0
    assert row["mdd"] == pytest.approx((1.959964 + 0.841621) * math.sqrt(49000 / 9) / math.sqrt(10), rel=1e-5)
    assert "+10.00  95% CI [-35.73, +55.73]  p=1" in capsys.readouterr().out


def test_mcnemar_detects_a_clear_difference():
    a, b = [100.0] * 12 + [0.0] * 8, [0.0] * 20  # 12 discordant pairs, all for A: p = 2 * 0.5**12
    assert paired_mean(a, b).p_value == pytest.approx(2 * 0.5**12)


def test_permutation_p_for_continuous_scores_is_seeded():
    d = np.linspace(1.0, 20.0, 20)  # all positive: only the all-plus / all-minus flips reach it
    assert sign_flip_p(d) == sign_flip_p(d) == pytest.approx(1 / 2001)
    assert paired_mean([50.0, 60.0, 70.0], [50.0, 60.0, 70.0]).p_value == 1.0
    assert paired_mean([50.5, 60.0, 70.0], [50.0, 60.0, 70.0]).test == "sign-flip permutation"


def test_corpus_difference_of_identical_runs_is_zero_with_p_1():
    counts = np.random.default_rng(2).integers(0, 4, size=(200, 3))
    result = paired_corpus(counts, counts, lambda s: micro_prf(s)[..., 2])
    assert result.diff == 0.0 and result.ci_low == result.ci_high == 0.0 and result.p_value == 1.0


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04, 0.5 -> 4*0.01, 3*0.03, max(2*0.04, 0.09), 0.5
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])


def test_samples_folders_compare_per_task_and_category(tmp_path):
    ner_a = {name: NER_DOCS * 4 for name in NER}
    ner_b = {name: [(t, g, "there is no related enetity") for t, g, _ in NER_DOCS * 4] for name in NER}
    scores = {name: {"f1": 0.0} for name in NER}
    write_run(tmp_path / "a", "m", scores, samples=ner_a | {"meds_bench_mcqa_medqa_en": MCQA_DOCS})
    write_run(tmp_path / "b", "m", scores, samples=ner_b | {"meds_bench_mcqa_medqa_en": MCQA_DOCS})
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json", str(tmp_path / "c.json")]) == 0
    out = json.loads((tmp_path / "c.json").read_text())
    rows = {r["task"]: r for r in out["tasks"]}
    assert rows["meds_bench_mcqa_medqa_en"]["diff"] == 0.0 and rows["meds_bench_mcqa_medqa_en"]["n"] == 3
    # A finds 1 of 2 gold entities per document (P 100, R 50: F1 66.67), B none (F1 0)
    assert rows[NER[0]]["diff"] == pytest.approx(200 / 3) and rows[NER[0]]["n"] == 4
    (ner,) = out["categories"]
    assert ner["category"] == "ner" and ner["diff"] == pytest.approx(200 / 3)
    assert ner["ci_high"] - ner["diff"] == pytest.approx(Z95 * math.sqrt(sum(rows[t]["se"] ** 2 for t in NER)) / 4)


def test_runs_with_different_prompts_are_refused(tmp_path, capsys):
    write_run(
        tmp_path / "a", "m", {"meds_bench_mcqa_medqa_en": {"acc": 0.0}}, samples={"meds_bench_mcqa_medqa_en": MCQA_DOCS}
    )
    path = write_run(
        tmp_path / "b", "m", {"meds_bench_mcqa_medqa_en": {"acc": 0.0}}, samples={"meds_bench_mcqa_medqa_en": MCQA_DOCS}
    )
    samples = path.with_name(f"samples_meds_bench_mcqa_medqa_en_{DATE}.jsonl")
    lines = [json.loads(x) for x in samples.read_text().splitlines()]
    lines[1]["arguments"]["gen_args_0"]["arg_0"] = "Another template.\n" + lines[1]["arguments"]["gen_args_0"]["arg_0"]
    samples.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("meds-bench compare: task57 document 1: the two runs sent different prompts")


def test_a_folder_without_samples_is_one_line(tmp_path, capsys):
    write_run(tmp_path / "a", "m", {"meds_bench_mcqa_medqa_en": {"acc": 0.0}})
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "a")]) == 2
    assert "no samples_*.jsonl below this folder (run lm_eval with --log_samples)" in capsys.readouterr().err


def test_report_baseline_marks_significant_differences(tmp_path):
    from meds_bench.report import report

    docs = [(f"Which {k}? A. x B. heparin C. y D. z", "The right answer is B: heparin", "B") for k in range(8)]
    wrong = [(q, g, "D") for q, g, _ in docs]
    task = "meds_bench_mcqa_medqa_en"
    write_run(tmp_path / "runs", "good", {task: {"acc": 100.0}}, samples={task: docs}, n=8)
    write_run(tmp_path / "base", "base", {task: {"acc": 0.0}}, samples={task: wrong}, n=8)
    report([str(tmp_path / "runs"), str(tmp_path / "base")], tmp_path / "out", baseline=tmp_path / "base")
    lines = (tmp_path / "out" / "leaderboard.md").read_text().splitlines()
    good = "\n".join(line for line in lines if line.startswith("| good |"))
    base = "\n".join(line for line in lines if line.startswith("| base |"))
    # 8 discordant pairs, all for "good": McNemar p = 2 * 0.5**8 < 0.05
    assert "| 100.00 ▲ |" in good and "▲" not in base and "▼" not in base
    assert "significantly above/below the baseline" in (tmp_path / "out" / "leaderboard.md").read_text()


def test_demo_headline_line_carries_the_paired_ci_and_p_value(tmp_path):
    import re

    from meds_bench.compare import compare_docs, load_docs
    from meds_bench.report import headline

    gold = "Aspirin, heparin."
    tuned = [(f"Case {k}: aspirin and heparin.", gold, "aspirin." if k % 3 else "aspirin, heparin.") for k in range(6)]
    untrained = [(text, g, "There is no related enetity.") for text, g, _ in tuned]
    scores = {name: {"f1": 0.0, "precision": 0.0, "recall": 0.0, "f1_paper": 0.0} for name in NER}
    write_run(tmp_path / "u", "tiny", scores, samples=dict.fromkeys(NER, untrained), n=6)
    write_run(
        tmp_path / "f",
        "tiny",
        scores | {n: {**scores[n], "f1": 80.0} for n in NER},
        samples=dict.fromkeys(NER, tuned),
        n=6,
    )
    runs = [f"untrained={tmp_path / 'u'}", f"finetuned={tmp_path / 'f'}"]
    assert "paired" not in headline(runs)  # only with report --baseline: it reads every sample
    lines = headline(runs, paired=True).splitlines()
    line = lines[-1]
    # the line .ci/run looks for, unchanged, with the paired CI and p-value after it
    assert re.match(r"^  finetuned .* \+[0-9]+\.[0-9]+ vs untrained", line), line
    mean = compare_docs(load_docs(tmp_path / "f"), load_docs(tmp_path / "u"))["mean"]
    expected = f"(paired: 95% CI [{mean['ci_low']:+.2f}, {mean['ci_high']:+.2f}], p < 0.001, 24 docs)"
    assert line.endswith("+80.00 vs untrained  " + expected), line
    assert mean["ci_low"] > 0 and mean["p_value"] < 0.05


def test_corpus_permutation_p_finds_a_clear_difference_and_is_seeded():
    rng = np.random.default_rng(3)
    good = np.stack([rng.integers(2, 4, 100), np.zeros(100, int), np.zeros(100, int)], axis=1)  # all found
    bad = np.stack([np.zeros(100, int), np.zeros(100, int), good[:, 0]], axis=1)  # all missed
    f1 = lambda s: micro_prf(s)[..., 2]  # noqa: E731
    result = paired_corpus(good, bad, f1)
    assert result.diff == 100.0 and result.p_value == pytest.approx(1 / 2001)
    assert paired_corpus(good, bad, f1) == result


def test_a_folder_with_several_runs_gives_the_newest(tmp_path):
    from meds_bench.compare import load_docs

    task = "meds_bench_mcqa_medqa_en"
    path = write_run(tmp_path / "a", "m", {task: {"acc": 0.0}}, samples={task: MCQA_DOCS})
    old = path.with_name(f"samples_{task}_{DATE}.jsonl")
    newer = old.with_name(f"samples_{task}_2026-01-01T00-00-00.000000.jsonl")
    newer.write_text(old.read_text().splitlines()[0] + "\n")
    assert list(load_docs(tmp_path / "a")[task]) == ["0"]  # the newer file holds one document


def test_a_samples_line_without_doc_is_one_line(tmp_path, capsys):
    bad = tmp_path / "samples_meds_bench_mcqa_medqa_en_2025-01-01T00-00-00.jsonl"
    bad.write_text(json.dumps({"doc_id": 0, "doc": "text", "filtered_resps": ["B"]}) + "\n")
    assert main(["compare", str(bad), str(bad)]) == 2
    assert capsys.readouterr().err == f"meds-bench compare: {bad}:1: field 'doc': expected an object\n"


def test_report_cli_ends_with_the_paired_headline(tmp_path, capsys):
    docs = [(f"Which {k}? A. x B. heparin C. y D. z", "The right answer is B: heparin", "B") for k in range(8)]
    for name, answer in (("untrained", "D"), ("finetuned", "B")):
        # "B" is right on the seven lettered tasks; PubMedQA (yes/no/maybe) scores it 0 either way
        scores = {t: {"acc": 100.0 if answer == "B" and t != "meds_bench_mcqa_pubmedqa" else 0.0} for t in MCQA}
        write_run(tmp_path / name, name, scores, samples={t: [(q, g, answer) for q, g, _ in docs] for t in MCQA}, n=8)
    args = ["report", f"untrained={tmp_path / 'untrained'}", f"finetuned={tmp_path / 'finetuned'}"]
    assert main([*args, "--out", str(tmp_path / "out"), "--baseline", str(tmp_path / "untrained")]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert re.match(r"^  finetuned .* \+[0-9]+\.[0-9]+ vs untrained", last), last
    assert last.endswith("+87.50 vs untrained  (paired: 95% CI [+87.50, +87.50], p < 0.001, 64 docs)"), last


QUESTIONS = [
    (f"Question {k}? A. {a} B. {b}", f"The right answer is {x}: {a if x == 'A' else b}")
    for k, (a, b, x) in enumerate(
        [("aspirin", "heparin", "B"), ("liver", "lung", "A"), ("insulin", "warfarin", "B"),
         ("kidney", "heart", "A"), ("vitamin K", "vitamin C", "B"), ("statin", "nitrate", "A")]
    )
]  # fmt: skip
RIGHT = {0, 2, 4}


def _six_doc_run(root: Path) -> Path:
    """An lm-eval run of task57 on QUESTIONS, right on the documents in RIGHT."""
    docs = [(q, gold, gold[20] if k in RIGHT else "D") for k, (q, gold) in enumerate(QUESTIONS)]
    task = "meds_bench_mcqa_medqa_en"
    return write_run(root, "m", {task: {"acc": 50.0}}, samples={task: docs}, n=6).parent


def _rows_csv(path: Path, rows: list[list[str]], with_input: bool) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["task", *(["input"] if with_input else []), "reference", "prediction"])
        writer.writerows([[r[0], *(r[1:2] if with_input else []), *r[2:]] for r in rows])
    return path


@pytest.mark.parametrize("with_input", [True, False])
def test_a_csv_of_the_same_documents_in_another_order_is_paired_by_content(tmp_path, with_input):
    from meds_bench.compare import compare_docs, load_docs

    run = _six_doc_run(tmp_path / "run")
    order = [3, 0, 5, 1, 4, 2]  # the same documents as the run, the same answers, rows permuted
    rows = [
        ["task57", f"Definition.\nInput:\n{QUESTIONS[k][0]}\nOutput:\n", QUESTIONS[k][1],
         QUESTIONS[k][1][20] if k in RIGHT else "D"]
        for k in order
    ]  # fmt: skip
    other = _rows_csv(tmp_path / "permuted.csv", rows, with_input)
    assert [d.values["acc"] for d in load_docs(run)["meds_bench_mcqa_medqa_en"].values()] == [100, 0] * 3
    for a, b in ((run, other), (other, run)):
        (row,) = compare_docs(load_docs(a), load_docs(b))["tasks"]
        # paired by document, every pair agrees: no difference and no width
        assert (row["n"], row["diff"], row["ci_low"], row["ci_high"], row["p_value"]) == (6, 0.0, 0.0, 0.0, 1.0)
    # paired by position, d = +100, -100, +100, 0, 0, -100: sd = sqrt(40000 / 5), CI 0 +- 1.96 * sd / sqrt(6)
    by_position = paired_mean([100.0 * (k in RIGHT) for k in range(6)], [100.0 * (k in RIGHT) for k in order])
    assert by_position.ci_high == pytest.approx(Z95 * math.sqrt(8000 / 6)) == pytest.approx(71.57, abs=0.01)


def test_unrelated_rows_without_input_are_refused(tmp_path, capsys):
    run = _six_doc_run(tmp_path / "run")
    rows = [["task57", "", f"The right answer is C: drug {k}", "C"] for k in range(5)]
    other = _rows_csv(tmp_path / "other.csv", rows, with_input=False)
    for a, b in ((run, other), (other, run)):  # the smaller run, the CSV, is named at its first row
        assert main(["compare", str(a), str(b)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith(
            f"meds-bench compare: {other}:2: no task57 document of the other run has the same reference;"
        )
        assert "lm-eval --log_samples output, or CSV/JSONL files carrying each document's reference and input" in err


def test_a_reference_shared_by_several_documents_without_prompts_is_refused(tmp_path, capsys):
    task = "meds_bench_mcqa_pubmedqa"
    docs = [(f"Does drug {k} help?", "yes", "yes") for k in range(3)]
    run = write_run(tmp_path / "run", "m", {task: {"acc": 100.0}}, samples={task: docs}, n=3).parent
    other = _rows_csv(tmp_path / "yes.csv", [["task123", "", "yes", "no"]] * 3, with_input=False)
    assert main(["compare", str(other), str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"meds-bench compare: {other}:2: several task123 documents have this reference and the ")
    assert err.count("\n") == 1


def test_runs_whose_targets_differ_are_refused(tmp_path, capsys):
    task = "meds_bench_mcqa_medqa_en"
    write_run(tmp_path / "a", "m", {task: {"acc": 0.0}}, samples={task: MCQA_DOCS})
    other = [MCQA_DOCS[0], (MCQA_DOCS[1][0], "The right answer is B: lung", "B"), MCQA_DOCS[2]]
    write_run(tmp_path / "b", "m", {task: {"acc": 0.0}}, samples={task: other})
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("meds-bench compare: task57 document 1: the two runs have different targets for it")
    assert err.rstrip().endswith("compare runs made on the same task files") and err.count("\n") == 1


def test_lm_eval_target_hash_is_what_identifies_a_document(tmp_path):
    from lm_eval.utils import hash_string

    from meds_bench.compare import load_docs

    run = _six_doc_run(tmp_path / "run")
    (samples,) = run.glob("samples_*.jsonl")
    lines = [json.loads(x) for x in samples.read_text().splitlines()]
    lines[0]["target_hash"] = hash_string("another target")  # lm-eval's field wins over target and doc
    samples.write_text("".join(json.dumps(x) + "\n" for x in lines))
    docs = load_docs(run)["meds_bench_mcqa_medqa_en"]
    assert docs["0"].target_hash == hash_string("another target")
    assert docs["1"].target_hash == hash_string(QUESTIONS[1][1])


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("latin1.csv", "task,reference,prediction\ntask57,café B,B\n".encode("latin-1")),
        ("binary.csv", bytes(range(256))),
    ],
)
def test_a_file_that_is_not_utf8_is_one_line(tmp_path, capsys, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    run = _six_doc_run(tmp_path / "run")
    assert main(["compare", str(run), str(path)]) == 2
    byte = "e9" if name == "latin1.csv" else "80"  # both on line 2: range(256) holds a newline (10) before 0x80
    assert capsys.readouterr().err == (
        f"meds-bench compare: {path}:2: not UTF-8 text (byte 0x{byte}); pass the text file meant, saved as "
        "UTF-8 (e.g. `iconv -f latin1 -t utf-8 FILE`, or a spreadsheet's 'CSV UTF-8')\n"
    )


def test_a_samples_file_that_is_not_utf8_is_one_line(tmp_path, capsys):
    run = _six_doc_run(tmp_path / "run")
    (samples,) = run.glob("samples_*.jsonl")
    samples.write_bytes(samples.read_bytes() + b'{"doc_id": 9, "doc": "caf\xe9"}\n')
    assert main(["compare", str(run), str(run)]) == 2
    assert capsys.readouterr().err.startswith(f"meds-bench compare: {samples}:7: not UTF-8 text (byte 0xe9); ")


def test_a_samples_line_carrying_no_target_is_refused(tmp_path, capsys):
    run = _six_doc_run(tmp_path / "run")
    bare = tmp_path / "samples_meds_bench_mcqa_medqa_en_2025-01-01T00-00-00.jsonl"  # values only, no doc or target
    bare.write_text(json.dumps({"doc_id": 0, "acc": 100.0, "acc_paper": 100.0, "extracted": 1.0}) + "\n")
    assert main(["compare", str(run), str(bare)]) == 2
    assert capsys.readouterr().err.startswith(
        f"meds-bench compare: {bare}:1: no target (target_hash, target or doc) identifies this task57 document; "
        "compare runs of the same documents: "
    )


def test_unanswered_documents_are_shown_and_a_difference_in_them_is_warned(tmp_path, capsys):
    api = api_run_with_one_output_limit(tmp_path / "api").parent
    write_run(tmp_path / "local", "m", {MCQA[0]: {"acc": 200 / 3}}, samples={MCQA[0]: API_DOCS})
    assert main(["compare", str(api), str(tmp_path / "local" / "m"), "--json", str(tmp_path / "c.json")]) == 0
    captured = capsys.readouterr()
    (line,) = [x for x in captured.out.splitlines() if x.startswith("task57")]
    assert line.endswith("  [1 unanswered in A]")
    assert captured.err.startswith(
        "meds-bench compare: warning: the runs left different documents unanswered in task57"
    )
    (row,) = json.loads((tmp_path / "c.json").read_text())["tasks"]
    assert (row["unanswered_a"], row["unanswered_b"], row["diff"]) == (1, 0, 0.0)
    assert main(["compare", str(api), str(api)]) == 0
    captured = capsys.readouterr()
    assert "[1 unanswered in A, 1 unanswered in B]" in captured.out and captured.err == ""
