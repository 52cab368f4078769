from lm_eval.tasks import TaskManager

from meds_bench import tasks_path
from meds_bench._generate_configs import render, stale_files
from meds_bench.catalog import TASKS


def test_committed_yamls_equal_regenerated():
    assert stale_files() == []


def test_generator_detects_a_hand_edit(tmp_path):
    for rel, text in render().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    edited = tmp_path / "tasks" / "ner" / "meds_bench_ner_bc4chem.yaml"
    edited.write_text(edited.read_text() + "num_fewshot: 5\n")
    (tmp_path / "groups" / "stray.yaml").write_text("group: stray\n")
    assert stale_files(tmp_path) == ["groups/stray.yaml", "tasks/ner/meds_bench_ner_bc4chem.yaml"]


def test_wildcard_selects_exactly_the_53_tasks():
    manager = TaskManager(include_path=str(tasks_path()), include_defaults=False)
    assert sorted(manager.match_tasks(["meds_bench_*"])) == sorted(t.name for t in TASKS)


def test_templates_name_no_dataset_path():
    assert not [rel for rel, text in render().items() if "dataset_path" in text and rel.endswith("yaml")]
