"""``meds-bench report`` on fixture results: a full run, a partial run, an API run with costs and a
sample-data run. Expected figures are computed by hand from the fixture values."""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import pytest
from matplotlib.image import imread
from report_fixtures import MCQA, MCQA_DOCS, NER, NER_DOCS, alpha_scores, write_run

from meds_bench.catalog import CT_IDS, get_task
from meds_bench.report import add_report_parser, headline, report
from meds_bench.report.charts import CATEGORY_SIZE, heatmap_size
from meds_bench.report.explorer import read_samples, sample_score, task_samples
from meds_bench.report.reference import load_reference
from meds_bench.report.runs import ReportInputError, load_runs
from meds_bench.report.sample_files import CALLBACK, write_sample_files
from meds_bench.report.tables import RunScores, columns

USAGE = {
    "total": {"input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.0123, "sent": 3, "cached": 1, "failed": 0},
    "per_task": {"meds_bench_mcqa_medqa_en": {"input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.0123}},
}


@pytest.fixture()
def results(tmp_path):
    root = tmp_path / "results"
    write_run(root, "org/alpha", alpha_scores(), samples={MCQA[0]: MCQA_DOCS, NER[1]: NER_DOCS})
    partial = {name: {"acc": 90.0} for name in MCQA[:3]} | {NER[0]: {"f1": 70.0}}
    write_run(root, "org/beta", partial, samples={MCQA[0]: MCQA_DOCS[:2]}, limit=5)
    write_run(root, "gpt-x", {MCQA[0]: {"acc": 66.0}}, source="hub", api_usage=USAGE)
    write_run(root, "tiny", {MCQA[0]: {"acc": 1.0}}, source="sample")
    return root


def _section(md: str, title: str) -> str:
    """The Markdown of one ``## title`` section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", md, re.S | re.M)
    assert match, f"no section {title!r}"
    return match.group(1)


def _row(section: str, label: str) -> list[str]:
    line = next(line for line in section.splitlines() if line.startswith(f"| {label} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_tables_follow_the_paper_layout_and_never_show_missing_as_zero(results, tmp_path):
    page = report([results], tmp_path / "out")
    out = page.parent
    assert {p.name for p in out.iterdir()} >= {"leaderboard.md", "leaderboard.csv", "index.html"}
    md = (out / "leaderboard.md").read_text()
    mcqa = _section(md, "Multilingual multiple-choice QA")
    assert _row(mcqa, "org/alpha")[1:] == [
        "10.00",
        "20.00",
        "30.00",
        "40.00",
        "50.00",
        "60.00",
        "70.00",
        "80.00",
        "45.00",
    ]
    beta = _row(mcqa, "org/beta")
    assert beta[1:4] == ["90.00", "90.00", "90.00"]
    assert beta[4:9] == ["missing"] * 5 and beta[9] == "missing (3/8 tasks)"
    ner = _section(md, "Named entity recognition")
    assert _row(ner, "org/alpha")[-1] == "50.00"  # (40 + 60 + 80 + 20) / 4
    summary = _row(_section(md, "Summary"), "org/alpha")
    assert summary[1] == "47.50 (2/12)"  # mean of MCQA 45 and NER 50; incomplete categories are left out
    assert _row(_section(md, "Summary"), "org/beta")[1] == "missing"


def test_csv_is_tidy_with_missing_rows_reported_rows_and_api_costs(results, tmp_path):
    out = report([results], tmp_path / "out").parent
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    beta_missing = [r for r in rows if r["model"] == "org/beta" and r["column"] == MCQA[5]]
    assert beta_missing == [beta_missing[0]] and beta_missing[0]["status"] == "missing"
    assert beta_missing[0]["value"] == ""
    avg = next(
        r for r in rows if r["model"] == "org/alpha" and r["column"] == "meds_bench-mcqa" and r["metric"] == "acc"
    )
    assert float(avg["value"]) == pytest.approx(45.0)
    alpha_task = next(r for r in rows if r["model"] == "org/alpha" and r["column"] == MCQA[0] and r["metric"] == "acc")
    assert alpha_task["sha256"] == f"{57:064x}" and alpha_task["data_source"] == "local"
    cost = next(r for r in rows if r["model"] == "gpt-x" and r["metric"] == "cost_usd")
    assert float(cost["value"]) == pytest.approx(0.0123)
    reported = [r for r in rows if r["kind"] == "reported"]
    assert {r["model"] for r in reported} >= {"GPT-4", "MMedIns-Llama 3"}
    assert all(r["paper_table"] for r in reported)
    assert not {r["model"] for r in rows if r["kind"] == "measured"} & {r["model"] for r in reported}
    assert "tiny" not in {r["model"] for r in rows}, "sample-data runs stay out unless asked for"


def test_runs_show_source_hashes_and_api_usage(results, tmp_path):
    md = (report([results], tmp_path / "out").parent / "leaderboard.md").read_text()
    runs = _section(md, "Runs and data provenance")
    assert "1,200 in / 300 out tokens, $0.0123 (1 cached)" in _row(runs, "gpt-x")[6]
    assert _row(runs, "gpt-x")[2] == "hub: Henrychur/MedS-Bench@abc123"
    assert "--limit 5" in _row(runs, "org/beta")[5]
    assert _row(runs, "tiny [sample data]")[-1].startswith("no (sample data")
    assert f"{57:064x}" in runs, "full task-file hashes are listed"


def test_reported_rows_are_separate_from_measured_ones(results, tmp_path):
    md = (report([results], tmp_path / "out").parent / "leaderboard.md").read_text()
    measured = _section(md, "Named entity recognition")
    assert "MMedIns" not in measured and "GPT-4" not in measured
    reported = _section(md, "Named entity recognition: reported in the paper (Table 6)")
    assert _row(reported, "MMedIns-Llama 3")[1:] == ["90.78", "91.25", "54.26", "80.87", "79.29"]
    assert _row(reported, "GPT-4")[1:] == ["—", "67.62", "—", "—", "59.52"]


def test_sample_runs_are_included_and_marked_on_request(results, tmp_path):
    md = (report([results], tmp_path / "out", include_sample=True).parent / "leaderboard.md").read_text()
    assert _row(_section(md, "Multilingual multiple-choice QA"), "tiny [sample data]")[1] == "1.00"


def test_charts_are_non_empty_pngs_of_the_documented_size(results, tmp_path):
    out = report([results], tmp_path / "out").parent
    for name, (width, height) in (("categories.png", CATEGORY_SIZE), ("tasks_heatmap.png", heatmap_size(3))):
        pixels = imread(out / name)
        assert pixels.shape[:2] == (height, width), name
        assert pixels[..., :3].std() > 0.05, f"{name} is blank"


def _js_payload(path: Path) -> dict:
    """The data a sample file hands to the page's callback (checking that it names its own path)."""
    rel = path.parent.parent.name + "/" + path.parent.name + "/" + path.name
    head = f'{CALLBACK}("{rel}",'
    text = path.read_text(encoding="utf-8")
    assert text.startswith(head) and text.endswith(");\n"), text[:80]
    return json.loads(text[len(head) : -3])


def test_page_is_self_contained_and_indexes_the_sample_files_beside_it(results, tmp_path):
    page = report([results], tmp_path / "out")
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no network at view time"
    assert html.count("data:image/png;base64,") == 2
    payload = re.search(r'<script type="application/json" id="explorer-index">(.*?)</script>', html, re.S).group(1)
    data = json.loads(payload)
    assert data["runs"] == ["org/alpha", "gpt-x", "org/beta"]  # alpha has a mean; the others by label
    assert data["tasks"] == [MCQA[0], NER[1]]  # MedS id order
    files = [page.parent / rel for task in data["tasks"] for rel in data["files"][task]["runs"].values()]
    assert sum(len(_js_payload(f)["records"]) for f in files) == len(MCQA_DOCS) + len(NER_DOCS) + 2
    assert "The answer is C" not in html and "Which organ?" not in html, "samples live beside the page"


def test_sample_files_store_each_text_once_and_replace_an_earlier_report(results, tmp_path):
    out = tmp_path / "out"
    data = report([results], out)
    texts = _js_payload(out / "explorer" / MCQA[0] / "texts.js")["texts"]
    assert len(texts) == len(set(texts)) == 6  # 3 prompts + 3 golds, shared by alpha's and beta's files
    assert (out / "explorer" / MCQA[0] / "run-2.js").is_file()  # org/beta, third in the ranking
    assert data.is_file()
    report([results / "org__alpha"], out)
    assert sorted(p.name for p in (out / "explorer" / MCQA[0]).iterdir()) == ["run-0.js", "texts.js"]


def test_embedded_json_cannot_close_the_script_tag(tmp_path):
    root = tmp_path / "r"
    docs = [("q", "The right answer is A: x", "</script><script>alert(1)</script>")]
    write_run(root, "m", {MCQA[0]: {"acc": 0.0}}, samples={MCQA[0]: docs})
    html = report([f"</script><script>alert(2)</script>={root}"], tmp_path / "out").read_text()
    assert "</script><script>alert(1)" not in html
    assert "</script><script>alert(2)" not in html and "alert(2)" in html  # the label, escaped


def _run_index(runs, label: str) -> int:
    return next(k for k, run in enumerate(runs) if run.label == label)


def test_explorer_records_prompt_response_gold_score_and_dedupes_prompts(results, tmp_path):
    runs = load_runs([results])
    mcqa = task_samples(runs, MCQA[0])
    alpha = mcqa.records[_run_index(runs, "org/alpha")]
    assert [r["score"] for r in alpha] == [100.0, 0.0, 100.0]
    assert alpha[1]["response"] == "The answer is C" and mcqa.texts[alpha[1]["gold"]] == "The right answer is A: liver"
    assert mcqa.texts[alpha[0]["prompt"]].endswith(
        "Input:\nWhich drug? A. aspirin B. heparin C. insulin D. warfarin\nOutput:\n"
    )
    beta = mcqa.records[_run_index(runs, "org/beta")]
    assert {r["prompt"] for r in beta} <= {r["prompt"] for r in alpha}, "the same prompt is stored once"
    capped = write_sample_files(runs, tmp_path, max_samples=1)
    assert [1, MCQA[0], 1, 3] in [[r, t, n, total] for r, t, n, total in capped["counts"]]


def _samples_file(tmp_path: Path, lines: list[str], name: str = "samples.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_read_samples_keeps_the_lowest_document_ids_and_parses_only_those(tmp_path):
    lines = [
        '{"doc_id": 3, "resps": [["d"]]}',
        '{"resps": [["b"]], "doc_id": 1}',  # doc_id not first: read by parsing the line
        '{"doc_id": 9, "resps": [["not json',  # never shown with limit 3: not parsed
        '{"doc_id": 0, "resps": [["a"]]}',
        '{"doc_id": 2, "resps": [["c"]]}',
    ]
    path = _samples_file(tmp_path, lines)
    samples, total = read_samples(path, 3)
    assert [s["resps"][0][0] for s in samples] == ["a", "b", "c"] and total == 5
    assert read_samples(path, 0) == ([], 5)
    assert read_samples(_samples_file(tmp_path, [], "empty.jsonl"), 3) == ([], 0)
    bom = _samples_file(tmp_path, ['\ufeff{"doc_id": 1, "x": 2}', "", '{"doc_id": 0}'], "bom.jsonl")
    assert read_samples(bom, 3) == ([{"doc_id": 0}, {"doc_id": 1, "x": 2}], 2)
    with pytest.raises(ReportInputError, match=re.escape(f"{path}:3: not valid JSON")):
        read_samples(path, 5)
    with pytest.raises(ReportInputError, match=re.escape(f"{tmp_path / 'bad.jsonl'}:2: not valid JSON")):
        read_samples(_samples_file(tmp_path, ['{"doc_id": 0}', '{"resps": 1, "doc_id" 1}'], "bad.jsonl"), 1)


def test_per_sample_scores_of_count_metrics():
    assert sample_score(NER[0], {"f1": [1, 1, 0]}) == pytest.approx(200 / 3)  # 2*1 / (2*1 + 1 + 0)
    assert sample_score(NER[0], {"f1": [0, 0, 0]}) == 100.0  # no entity, none predicted
    hoc = "meds_bench_classification_hoc"
    assert sample_score(hoc, {"macro_f1": [[1, 1, 0] + [0] * 7, [1, 0, 1] + [0] * 7]}) == pytest.approx(50.0)
    assert sample_score("meds_bench_rationale_en", {"bleu1": 10.0, "rougeL": 30.0}) == 30.0
    assert sample_score(MCQA[0], {}) is None


def test_extracted_answer_is_shown_when_logged(tmp_path):
    root = tmp_path / "r"
    path = write_run(root, "m", {MCQA[0]: {"acc": 100.0}}, samples={MCQA[0]: MCQA_DOCS[:1]})
    samples = path.with_name(path.name.replace("results_", f"samples_{MCQA[0]}_").replace(".json", ".jsonl"))
    line = json.loads(samples.read_text())
    samples.write_text(json.dumps({**line, "extracted": ["B"]}) + "\n")
    (record,) = task_samples(load_runs([root]), MCQA[0]).records[0]
    assert record["extracted"] == "B"


def test_pooled_ct_column_is_instance_weighted(tmp_path):
    root = tmp_path / "r"
    values = [(10.0, 1), (40.0, 3), (20.0, 2), (20.0, 2), (20.0, 1), (20.0, 1)]
    for tid, (rouge, n) in zip(CT_IDS, values, strict=True):
        write_run(root / str(tid), "m", {get_task(tid).name: {"bleu1": rouge, "rougeL": rouge}}, n=n)
    runs = load_runs([root])
    merged = runs[0]
    for other in runs[1:]:
        merged.tasks |= other.tasks
    ct = next(c for c in columns("summarization") if c.label == "CT (pooled)")
    assert RunScores(merged).cell(ct).text == "25.00/25.00"  # (10*1 + 40*3 + 20*6) / 10, not the plain mean 21.67


def test_labels_and_duplicate_runs(results, tmp_path):
    runs = load_runs([f"before={results / 'org__alpha'}", f"after={results / 'org__beta'}"])
    assert [r.label for r in runs] == ["before", "after"]
    assert len(load_runs([results / "gpt-x", results / "gpt-x" / "results_2025-01-02T03-04-05.678901.json"])) == 1
    write_run(tmp_path / "again", "gpt-x", {MCQA[0]: {"acc": 1.0}})
    labels = [r.label for r in load_runs([results / "gpt-x", tmp_path / "again"])]
    assert len(set(labels)) == 2 and all(label.startswith("gpt-x @ ") for label in labels)


def test_headline_compares_with_the_first_run(results, tmp_path):
    gamma = {name: {"acc": 20.0} for name in MCQA} | {name: {"f1": 30.0} for name in NER}
    write_run(tmp_path / "g", "org/gamma", gamma)
    lines = headline([results / "org__alpha", tmp_path / "g", results / "org__beta"]).splitlines()
    assert re.fullmatch(r" +org/alpha +47\.50 +\(2/12 categories\)", lines[1])
    assert re.fullmatch(r" +org/gamma +25\.00 +\(2/12 categories\) +-22\.50 vs org/alpha", lines[2])
    assert re.fullmatch(r" +org/beta +no complete category", lines[3])
    assert "--include-sample" in headline([results / "tiny"])
    assert len(headline([results / "org__alpha", tmp_path / "g"]).splitlines()) == 3, "no task list: all complete"


# make try-real-model's tasks: diagnosis and treatment are whole categories, the other three are not
REAL = ["task123", "task12", "task16", "task130", "task131"]


def _real_run(root, label, accuracies):
    scores = {get_task(t).name: {"acc": a, "acc_paper": a} for t, a in zip(REAL, accuracies, strict=True)}
    return f"{label}={write_run(root, label, scores, n=5, stderr=10.0).parent}"


def test_headline_lists_each_task_run_when_categories_are_incomplete(tmp_path):
    runs = [_real_run(tmp_path, "base", (40, 0, 20, 0, 0)), _real_run(tmp_path, "finetuned", (20, 0, 0, 0, 100))]
    lines = headline(runs).splitlines()
    assert re.fullmatch(r" +base +0\.00 +\(2/12 categories\)", lines[1])
    assert re.fullmatch(r" +finetuned +50\.00 +\(2/12 categories\) +\+50\.00 vs base", lines[2])
    assert lines[3] == "Some tasks run are outside a complete category: the means above leave them out."
    assert re.fullmatch(r" +task \(metric\) +base +finetuned", lines[5])
    rows = lines[6:]
    # Wilson 95% intervals of 2/5, 1/5, 0/5 and 5/5 right
    assert re.fullmatch(
        r" +task123 mcqa_pubmedqa \(accuracy\) +40\.00 \[11\.76, 76\.93\] +20\.00 \[3\.62, 62\.45\]", rows[0]
    )
    assert re.fullmatch(
        r" +task131 treatment_seer \(accuracy\) +0\.00 \[0\.00, 43\.45\] +100\.00 \[56\.55, 100\.00\]", rows[2]
    )
    assert len(rows) == 6 and all(" ± " not in row for row in rows)
    # (40 + 0 + 20 + 0 + 0) / 5 and (20 + 0 + 0 + 0 + 100) / 5
    assert re.fullmatch(
        r" +mean of the tasks run \(not a paper metric\) +12\.00 +24\.00 \(\+12\.00 vs base\)", rows[-1]
    )


def test_headline_without_a_complete_category_shows_the_tasks_run(tmp_path):
    pubmedqa = get_task("task123").name
    run = write_run(tmp_path, "m", {pubmedqa: {"acc": 40.0}, MCQA[0]: {"acc": 0.0}}, n=5, stderr=10.0)
    lines = headline([run.parent]).splitlines()
    assert re.fullmatch(r" +m +no complete category", lines[1])
    assert re.fullmatch(r" +task57 mcqa_medqa_en \(accuracy\) +0\.00 \[0\.00, 43\.45\]", lines[5])
    assert re.fullmatch(r" +mean of the tasks run \(not a paper metric\) +20\.00", lines[-1])


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ('{"configs": {}}', "field 'results' missing")],
)
def test_bad_results_file_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "results_x.json"
    path.write_text(content)
    with pytest.raises(ReportInputError, match=re.escape(str(path)) + ".*" + re.escape(message)):
        report([path], tmp_path / "out")
    assert not (tmp_path / "out").exists(), "nothing is written before the inputs are validated"


def test_folder_without_results_and_missing_path(tmp_path):
    with pytest.raises(ReportInputError, match="no results_"):
        load_runs([tmp_path])
    with pytest.raises(ReportInputError, match="no such file or folder"):
        load_runs([tmp_path / "nope"])


def test_cli_writes_the_report_and_reports_errors(results, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_report_parser(parser.add_subparsers())
    args = parser.parse_args(["report", str(results), "--out", str(tmp_path / "o"), "--include-sample"])
    assert args.func(args) == 0
    assert f"report: {tmp_path / 'o' / 'index.html'}" in capsys.readouterr().out
    bad = parser.parse_args(["report", str(tmp_path / "missing")])
    assert bad.func(bad) == 2
    assert "meds-bench report:" in capsys.readouterr().err


def test_reference_figures_are_consistent_with_the_paper_text():
    citation, figures = load_reference()
    assert "npj Digital Medicine" in citation and all(1 <= f.table <= 8 for f in figures)
    by = {(f.model, f.column, f.metrics): f.values for f in figures}
    mmed = "MMedIns-Llama 3"
    ner = [by[(mmed, name, ("f1",))][0] for name in NER]
    assert sum(ner) / 4 == pytest.approx(by[(mmed, "meds_bench-ner", ("f1",))][0], abs=0.01)
    ie_gap = (
        by[(mmed, "meds_bench-ie", ("contains_paper",))][0]
        - by[("InternLM 2", "meds_bench-ie", ("contains_paper",))][0]
    )
    assert ie_gap == pytest.approx(4.66)  # "surpassing InternLM 2 by 4.66 points"


def test_reference_file_errors_name_the_entry(tmp_path):
    bad = tmp_path / "ref.json"
    bad.write_text(
        json.dumps({"figures": [{"table": 1, "model": "X", "task": "meds_bench_nope", "metric": "acc", "value": 1}]})
    )
    with pytest.raises(ValueError, match=r"figures\[0\].*unknown 'meds_bench_nope'"):
        load_reference(bad)
    bad.write_text(
        json.dumps({"figures": [{"table": 1, "model": "X", "task": MCQA[0], "metric": "bleu1/rougeL", "value": 1}]})
    )
    with pytest.raises(ValueError, match="expected 2 number"):
        load_reference(bad)


@pytest.mark.parametrize("what", ["results", "samples", "baseline"])
def test_a_file_that_is_not_utf8_is_one_line(tmp_path, capsys, what):
    from meds_bench.cli import main

    run = write_run(tmp_path / "run", "m", {MCQA[0]: {"acc": 0.0}}, samples={MCQA[0]: MCQA_DOCS})
    bad = {"results": run, "samples": next(run.parent.glob("samples_*.jsonl")), "baseline": tmp_path / "base.csv"}
    bad[what].write_bytes(bad[what].read_bytes() + b"\ncaf\xe9\n" if what != "baseline" else b"\xff\xfe\x00binary")
    extra = ["--baseline", str(bad["baseline"])] if what == "baseline" else []
    assert main(["report", str(run.parent), "--out", str(tmp_path / "out"), *extra]) == 2
    line = {"results": 2, "samples": 5, "baseline": 1}[what]
    byte = "ff" if what == "baseline" else "e9"
    prefix = "--baseline " + str(bad["baseline"]) + ": " if what == "baseline" else ""
    assert capsys.readouterr().err == (
        f"meds-bench report: {prefix}{bad[what]}:{line}: not UTF-8 text (byte 0x{byte}); pass the text file meant, "
        "saved as UTF-8 (e.g. `iconv -f latin1 -t utf-8 FILE`, or a spreadsheet's 'CSV UTF-8')\n"
    )
