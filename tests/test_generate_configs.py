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


def test_readme_is_generated_with_a_row_per_task_and_checked(tmp_path):
    readme = render()["README.md"]
    for heading in ("### Paper", "### Citation", "#### Groups", "#### Tasks", "### Checklist"):
        assert readme.count(heading) == 1, heading
    rows = [line for line in readme.splitlines() if line.startswith("| `meds_bench_")]
    assert len(rows) == 53
    row = "| `meds_bench_nli_mednli_discriminative` | task41 | Natural language inference | en | credentialed |"
    assert row in readme
    assert "(41, 42, 78, 83-94, 112, 117-119: 19 of 53)" in readme
    for rel, text in render().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "README.md").write_text(readme.replace("task41", "task 41"))
    assert stale_files(tmp_path) == ["README.md"]


def test_templates_name_no_dataset_path():
    assert not [rel for rel, text in render().items() if "dataset_path" in text and rel.endswith("yaml")]
