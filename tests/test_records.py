"""One record per category and per scorer: a new pair of records reaches the YAMLs, the hooks, the
report and the synthetic benchmark with no other edit."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from meds_bench import _generate_configs, catalog
from meds_bench.catalog import CATEGORIES, Category, TaskInfo
from meds_bench.metrics import hooks
from meds_bench.metrics.scorers import SCORERS, Scorer
from meds_bench.metrics.table import group_metrics
from meds_bench.report import tables

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from synth_bench import TextMaker, make_task  # noqa: E402

NAME = "meds_bench_toxicology_demo"
TOX = Category("toxicology", "Toxicology", "Clinical toxicology", "Toxicology QA", "tox_exact", 16, (1000, 1))
EXACT = Scorer(
    "tox_exact",
    lambda info, prediction, gold, question: {"exact": 100.0 if prediction == gold else 0.0},
    (("exact", "mean"),),
    averaged=("exact",),
    columns=(("", ("exact",)),),
    one_line=True,
)
INFO = TaskInfo(900, NAME, "toxicology", "Toxicology", "task900_demo.json", scorer="tox_exact", max_gen_toks=16)


@pytest.fixture
def new_records(monkeypatch):
    monkeypatch.setitem(CATEGORIES, TOX.key, TOX)
    monkeypatch.setitem(SCORERS, EXACT.name, EXACT)
    monkeypatch.setattr(catalog, "TASKS", (*catalog.TASKS, INFO))
    monkeypatch.setattr(_generate_configs, "TASKS", catalog.TASKS)
    monkeypatch.setitem(catalog._BY_NAME, NAME, INFO)
    monkeypatch.setitem(catalog._BY_ID, "task900", INFO)
    return _generate_configs.render()


def _load(text: str) -> dict:
    return yaml.safe_load(text.split("\n", 1)[1].replace("!function ", ""))


def test_a_new_category_and_scorer_reach_the_yamls(new_records):
    template = _load(new_records["tasks/toxicology/_template_yaml"])
    assert template["num_fewshot"] == 3
    assert template["generation_kwargs"] == {"until": ["\nInput:", "\n\n"], "max_gen_toks": 16, "do_sample": False}
    assert template["process_results"] == "meds_bench.metrics.hooks.tox_exact"
    assert template["metric_list"] == [{"metric": "exact", "aggregation": "mean", "higher_is_better": True}]
    task = _load(new_records[f"tasks/toxicology/{NAME}.yaml"])
    assert task == {"include": "_template_yaml", "task": NAME, "task_alias": "task900"}
    group = _load(new_records["groups/meds_bench-toxicology.yaml"])
    assert group["group_alias"] == "Clinical toxicology" and group["task"] == [NAME]
    assert group["aggregate_metric_list"] == [{"metric": "exact", "aggregation": "mean", "weight_by_size": False}]
    assert "meds_bench-toxicology" in _load(new_records["groups/meds_bench.yaml"])["task"]
    assert "meds_bench-toxicology" in _load(new_records["groups/meds_bench-open.yaml"])["task"]


def test_a_new_scorer_has_its_hook(new_records):
    doc = {"task": NAME, "input": "Which antidote?", "output": "naloxone"}
    assert hooks.tox_exact(doc, ["naloxone"]) == {"exact": 100.0}
    assert hooks.tox_exact(doc, [["atropine"]]) == {"exact": 0.0}


def test_a_new_category_reaches_the_report(new_records, tmp_path, monkeypatch):
    for rel, text in new_records.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    real_load_groups = tables.load_groups
    monkeypatch.setattr(tables, "load_groups", lambda: real_load_groups(tmp_path / "groups"))
    assert tables.columns("toxicology") == [tables.Column(NAME, "demo (task900)", ("exact",), (NAME,))]
    assert tables.summary_table([]).header[-1] == "Toxicology QA"


def test_a_new_category_sizes_the_synthetic_bench(new_records):
    task = make_task(INFO, TextMaker(random.Random(0)), 4)
    assert len(task["Instances"]) == 4
    # doc_words (1000, 1): inputs of about 1000 words (sd 250), one-word golds.
    words = [len(doc["input"].split()) for doc in task["Instances"]]
    assert min(words) > 300 and sum(words) / 4 > 700
    assert "(toxicology)" in task["Definition"][0]


def test_group_metrics_follow_the_scorers_of_a_category():
    # Written out by hand: what each category's group averages.
    assert group_metrics("factver") == ("acc", "acc_paper", "bleu1", "rougeL", "rouge1")
    assert group_metrics("ner") == ("f1", "precision", "recall", "f1_paper")
    assert group_metrics("mcqa") == ("acc", "acc_paper")


def test_config_generation_does_not_import_the_heavy_scoring_libraries():
    code = "import sys, meds_bench._generate_configs; print(sorted({'sklearn', 'nltk'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
