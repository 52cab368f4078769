"""The benchmark scripts under bench/: synthetic data, plain baseline tasks, generation budgets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import size_budgets  # noqa: E402
from bench_harness import write_plain_tasks  # noqa: E402
from synth_bench import write_bench  # noqa: E402

from meds_bench.catalog import TASKS, get_task  # noqa: E402
from meds_bench.data import load_task  # noqa: E402
from meds_bench.metrics.closed_set import gold_letters  # noqa: E402
from meds_bench.metrics.scorers import score_doc  # noqa: E402


def test_quantile_is_nearest_rank():
    lengths = list(range(1, 101))  # 1..100
    assert size_budgets.quantile(lengths, 0.99) == 99
    assert size_budgets.quantile(lengths, 1.0) == 100
    assert size_budgets.quantile([5, 1, 3], 0.5) == 3  # ceil(1.5) = 2nd smallest
    assert size_budgets.quantile([7], 0.99) == 7


def test_sized_budget_and_fit_share():
    lengths = [10] * 98 + [40, 200]  # P99 = 40
    assert size_budgets.sized_budget(lengths, 0.99, 1.25) == 56  # ceil(40 x 1.25) = 50 -> next multiple of 8
    assert size_budgets.sized_budget([1, 2], 0.99, 1.25) == 8  # never below one multiple
    assert size_budgets.fit_share(lengths, 40) == pytest.approx(0.99)
    assert size_budgets.fit_share(lengths, 39) == pytest.approx(0.98)


def _task_file(root: Path, meds_id: str, golds: list[str]) -> None:
    info = get_task(meds_id)
    path = root / info.hub_path
    path.parent.mkdir(parents=True, exist_ok=True)
    instances = [{"input": f"question {i}", "output": g} for i, g in enumerate(golds)]
    path.write_text(json.dumps({"Definition": ["d"], "Instances": instances}), encoding="utf-8")


def test_size_budgets_report_and_check(tmp_path, tiny_model_dir, capsys):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    _task_file(tmp_path, "task123", ["yes", "no", "maybe"])  # PubMedQA: budget 8 fits one-word golds
    long_gold = " ".join(["patient"] * 40)
    _task_file(tmp_path, "task125", ["aspirin."] * 50 + [long_gold] * 50)  # NER, budget 128
    assert size_budgets.main(["--data-dir", str(tmp_path), "--tokenizer", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    n_long = len(tok(long_gold, add_special_tokens=False)["input_ids"])
    budget = size_budgets.sized_budget([n_long], 0.99, 1.25)
    assert f"| meds_bench_ner_bc4chem | 100 | {n_long} | 128 | 100.0% | {budget} |" in out
    # 103 documents: catalogue 3 x 8 + 100 x 128 tokens against 200 each.
    assert "catalogue 12,824;" in out  # 3 x 8 + 100 x 128
    assert "original 200 per document 20,600 (catalogue / original = 0.62x)" in out
    assert "No file for 51 tasks" in out

    # A gold longer than its task's budget in more than 1% of documents fails the check.
    _task_file(tmp_path, "task123", [long_gold] * 3)
    assert size_budgets.main(["--data-dir", str(tmp_path), "--tokenizer", str(tiny_model_dir)]) == 1
    assert "| meds_bench_mcqa_pubmedqa | 3 |" in capsys.readouterr().out


def test_size_budgets_rejects_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit):
        size_budgets.main(["--data-dir", str(tmp_path / "missing"), "--tokenizer", str(tmp_path)])
    assert "is not a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        size_budgets.main(["--data-dir", str(tmp_path), "--tokenizer", str(tmp_path)])
    assert "no tokenizer_config.json" in capsys.readouterr().err


def test_synthetic_bench_is_valid_and_scorable(tmp_path):
    write_bench(tmp_path, n_docs=4, seed=1)
    for info in TASKS:
        loaded = load_task(info, data_dir=tmp_path)
        assert len(loaded.docs) == 4
        doc = {**loaded.docs[0], "task": info.name}
        if info.scorer == "mcqa":
            assert gold_letters(doc["output"]), doc["output"]
            # The gold answer itself scores full marks: the golds have the shapes the scorers read.
            assert score_doc(doc, doc["output"])["acc"] == 100.0
    rationale = load_task(get_task("task52"), data_dir=tmp_path).docs
    assert sum(len(d["output"].split()) for d in rationale) / 4 > 60  # ~120-word rationales


def test_plain_tasks_mirror_ours(tmp_path):
    write_plain_tasks(tmp_path / "data", tmp_path / "plain")
    group = yaml.safe_load((tmp_path / "plain" / "plain_bench.yaml").read_text())
    assert len(group["task"]) == len(TASKS)
    cfg = yaml.safe_load((tmp_path / "plain" / "plain_meds_bench_rationale_en.yaml").read_text())
    assert cfg["dataset_kwargs"]["data_files"]["test"] == str(tmp_path / "data" / get_task("task52").hub_path)
    assert cfg["doc_to_text"] == "input" and cfg["metric_list"][0]["metric"] == "exact_match"
    assert cfg["num_fewshot"] == 3 and cfg["generation_kwargs"]["max_gen_toks"] == get_task("task52").max_gen_toks


def test_report_scale_copies_a_run_under_new_names_and_measures_the_report(tmp_path):
    from bench_report import copy_run, report_figures
    from report_fixtures import MCQA, MCQA_DOCS, write_run

    from meds_bench.report.runs import load_runs

    results = write_run(tmp_path / "src", "org/one", {MCQA[0]: {"acc": 50.0}}, samples={MCQA[0]: MCQA_DOCS})
    copies = [copy_run(results.parent, tmp_path / "runs" / f"m{k}", k) for k in (1, 2)]
    assert [run.label for run in load_runs(copies)] == ["bench/model-01", "bench/model-02"]
    (samples,) = copies[1].glob("samples_*.jsonl")
    assert samples.samefile(next(results.parent.glob("samples_*.jsonl")))  # hard-linked, not copied
    figures = report_figures(copies, tmp_path / "out")
    page = (tmp_path / "out" / "index.html").stat().st_size
    assert figures["page_mb"] == round(page / 1e6, 2) and figures["output_mb"] > figures["page_mb"]
    assert (tmp_path / "out" / "explorer" / MCQA[0] / "run-1.js").is_file()
    assert figures["wall_s"] > 0 and figures["peak_rss_mb"] > 0
