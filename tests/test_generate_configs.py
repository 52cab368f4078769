from lm_eval.tasks import TaskManager

from meds_bench import tasks_path
from meds_bench._generate_configs import render, stale_docs, stale_files
from meds_bench.catalog import TASKS
from meds_bench.model_docs import NAME as MODEL_FAMILIES
from meds_bench.model_docs import end_marker, render_model_families


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


def _copy_docs(root):
    from meds_bench import _generate_configs

    for rel in _generate_configs.DOC_SECTIONS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text((_generate_configs.REPO / rel).read_text(encoding="utf-8"), encoding="utf-8")


def test_committed_docs_tables_equal_regenerated():
    assert stale_docs() == []


def test_model_table_rows_come_from_models_json():
    section = render_model_families()
    row = (
        "| `claude-opus-4-7` | anthropic | 5 / 25 | 2.5 / 12.5 | 1,000,000 | 128,000 | none (the API answers 400)"
        " | `adaptive` + `output_config.effort` | `none` `low` `medium` `high` `xhigh` `max` |  |"
    )
    assert row in section
    assert "| `gpt-4` (paper) | openai | 30 / 60 | 15 / 30 | 8,192 | 8,192 |" in section
    assert "| `claude-3-5-sonnet` (paper) |" in section and "| 2025-10-22 |" in section
    assert "| `claude-mythos-5` | anthropic | — / — | — / — |" in section
    assert "| 1,024 | 2,048 | 8,192 | 16,384 | 32,768 | 65,536 |" in section
    assert "checked against the providers' pages on 2026-12-03" in section
    assert len([line for line in section.splitlines() if line.startswith("| `")]) == 42


def test_check_fails_on_a_hand_edited_table(tmp_path, monkeypatch, capsys):
    from meds_bench import _generate_configs

    _copy_docs(tmp_path)
    page = tmp_path / "docs" / "api-models.md"
    row = "| `gpt-4o` | openai | 2.5 / 10 |"
    edited = page.read_text(encoding="utf-8").replace(row, "| `gpt-4o` | openai | 2 / 10 |")
    assert edited != page.read_text(encoding="utf-8")
    page.write_text(edited, encoding="utf-8")
    assert stale_docs(tmp_path) == ["docs/api-models.md"]
    monkeypatch.setattr(_generate_configs, "REPO", tmp_path)
    assert _generate_configs.main(["--check"]) == 1
    assert "stale: docs/api-models.md" in capsys.readouterr().err
    _generate_configs.write_docs(tmp_path)
    assert stale_docs(tmp_path) == []
    assert row in page.read_text(encoding="utf-8")


def test_check_fails_when_models_json_changes_and_docs_do_not(tmp_path, monkeypatch):
    from meds_bench import model_docs

    _copy_docs(tmp_path)
    records = model_docs._records

    def changed():
        data, constants = records()
        data["families"]["gpt-4o"] = {**data["families"]["gpt-4o"], "context": 256000}
        return data, constants

    monkeypatch.setattr(model_docs, "_records", changed)
    assert stale_docs(tmp_path) == ["docs/api-models.md"]


def test_a_page_without_markers_is_one_line(tmp_path, monkeypatch, capsys):
    from meds_bench import _generate_configs

    _copy_docs(tmp_path)
    page = tmp_path / "docs" / "api-models.md"
    page.write_text(page.read_text(encoding="utf-8").replace(end_marker(MODEL_FAMILIES), ""), encoding="utf-8")
    monkeypatch.setattr(_generate_configs, "REPO", tmp_path)
    assert _generate_configs.main(["--check"]) == 2
    assert "no '<!-- generated: model-families" in capsys.readouterr().err
