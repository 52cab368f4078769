import json
import os
import sys

import pytest

from meds_bench import sample_data_path, tasks_path
from meds_bench.catalog import TASKS, get_task
from meds_bench.cli import eval_namespace, main


def test_tasks_path_and_sample_data_path(capsys):
    assert main(["tasks-path"]) == 0
    assert capsys.readouterr().out.strip() == str(tasks_path())
    assert main(["sample-data-path"]) == 0
    assert capsys.readouterr().out.strip() == str(sample_data_path())
    assert (tasks_path() / "groups" / "meds_bench.yaml").is_file()


def test_list_shows_every_task_with_presence(capsys, sample_dir):
    assert main(["list", "--data-dir", str(sample_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"data source: sample:{sample_dir.resolve()}"
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == {t.name for t in TASKS}
    assert rows["meds_bench_rationale_en"][1] == "task52"
    assert all(row[-1] == "present" for row in rows.values())


def test_list_on_hub_marks_credentialed_tasks(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("meds_bench_outcome_hospitalization "))
    assert row.split()[-1] == "credentialed"


def test_validate_data_reports_present_missing_malformed(capsys, sample_copy):
    (sample_copy / get_task("task52").hub_path).unlink()
    (sample_copy / get_task("task106").hub_path).write_text(
        json.dumps({"Definition": ["d"], "Instances": [{"input": "x"}]})
    )
    assert main(["validate-data", str(sample_copy)]) == 1
    out = capsys.readouterr().out
    assert "missing  meds_bench_rationale_en" in out
    assert f"invalid  {sample_copy / get_task('task106').hub_path}: instance 0: missing field 'output'" in out
    assert out.rstrip().endswith("51 valid, 1 missing, 1 malformed of 53 task files")


def test_validate_data_on_sample_data_is_clean(capsys, sample_dir):
    assert main(["validate-data", str(sample_dir)]) == 0
    assert "53 valid, 0 missing, 0 malformed" in capsys.readouterr().out


def test_bad_data_dir_is_one_line_error(capsys, tmp_path):
    assert main(["list", "--data-dir", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("meds-bench: data directory") and err.count("\n") == 1


def test_eval_parses_with_lm_eval_and_hands_the_data_dir_over_as_metadata(monkeypatch, sample_dir):
    monkeypatch.delenv("MEDS_BENCH_DATA_DIR", raising=False)
    ns = eval_namespace(["run", "--model", "dummy", "--tasks", "task57", "task123", "--limit", "2"], str(sample_dir))
    assert ns.include_path == str(tasks_path())
    assert ns.tasks == ["meds_bench_mcqa_medqa_en", "meds_bench_mcqa_pubmedqa"]
    assert (ns.model, ns.limit) == ("dummy", 2.0)
    assert ns.metadata == {"meds_bench_data_dir": str(sample_dir.resolve())}
    assert "MEDS_BENCH_DATA_DIR" not in os.environ


def test_eval_keeps_the_users_metadata_beside_the_data_dir(sample_dir):
    ns = eval_namespace(["--tasks", "task57,hellaswag", "--metadata", "max_seq_lengths=[64]"], str(sample_dir))
    assert ns.tasks == ["meds_bench_mcqa_medqa_en", "hellaswag"]
    assert ns.metadata == {"max_seq_lengths": [64], "meds_bench_data_dir": str(sample_dir.resolve())}


def test_eval_rejects_a_second_include_path(capsys):
    assert main(["eval", "--include_path", "/x", "--tasks", "meds_bench"]) == 2
    assert capsys.readouterr().err == (
        "meds-bench: meds-bench eval adds --include_path itself; use lm_eval directly for other task folders\n"
    )


def test_eval_typo_among_space_separated_tasks_is_one_line(capsys, sample_dir):
    argv = ["eval", "--data-dir", str(sample_dir), "--model", "dummy", "--tasks", "meds_bench_mcqa_medqa_en"]
    assert main([*argv, "meds_bench_fooo"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("meds-bench: unknown task 'meds_bench_fooo': no MedS-Bench task or group matches it")


def test_eval_without_tasks_is_one_line(capsys):
    assert main(["eval", "--model", "dummy"]) == 2
    assert capsys.readouterr().err == "meds-bench: no tasks: give --tasks (or `tasks:` in the --config file)\n"


def test_eval_refuses_a_key_in_any_model_args_word(capsys, sample_dir):
    argv = ["eval", "--data-dir", str(sample_dir), "--model", "meds-openai", "--tasks", "task57"]
    assert main([*argv, "--model_args", "model=gpt-4o", "api_key=sk-0123456789abcdef"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("meds-bench: model argument 'api_key' looks like a credential")
    assert "sk-0123456789abcdef" not in line


def test_eval_turns_the_chat_template_on_for_our_api_models(capsys, sample_dir):
    argv = ["--model", "meds-openai", "--model_args", "model=gpt-4o", "--tasks", "task57"]
    assert eval_namespace(argv, str(sample_dir)).apply_chat_template
    assert capsys.readouterr().err == (
        "meds-bench: --model meds-openai: --apply_chat_template is on (system message: the task definition and "
        "cases; user message: the query), the conversation every chat path builds\n"
    )
    assert eval_namespace([*argv, "--apply_chat_template"], str(sample_dir)).apply_chat_template
    assert not getattr(
        eval_namespace(["--model", "dummy", "--tasks", "task57"], str(sample_dir)), "apply_chat_template", False
    )
    assert capsys.readouterr().err == ""  # said once, and only when it changed something


def _config(tmp_path, text: str) -> str:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return str(path)


def test_eval_config_file_tasks_are_rewritten_with_its_metadata(tmp_path, sample_dir):
    config = _config(
        tmp_path, f"model: dummy\ntasks: [task52, task106]\nmetadata:\n  meds_bench_data_dir: {sample_dir}\n"
    )
    ns = eval_namespace(["--config", config])
    assert ns.tasks == ["meds_bench_rationale_en", "meds_bench_classification_hoc"]
    assert ns.metadata == {"meds_bench_data_dir": str(sample_dir)}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("tasks: task52,meds_bench_fooo\n", "meds-bench: unknown task 'meds_bench_fooo': "),
        ("tasks: [task29]\nnum_fewshot: 50\n", "meds-bench: --num_fewshot 50 is more than meds_bench_ie_ade_drug_dose"),
        ("tasks: task29\ninclude_path: /x\n", "meds-bench: meds-bench eval adds --include_path itself"),
        ("- task29\n", "meds-bench: --config: YAML root must be a mapping in "),
        ("tasks: task29\nnum_fewshot: -3\n", "meds-bench: --num_fewshot -3: must be a whole number of 0 or more"),
        ("tasks: task29\ngen_kwargs: max_gen_toks=abc\n", "meds-bench: --gen_kwargs max_gen_toks=abc: must be a "),
        ("tasks: task29\ngen_kwargs: {top_k: many}\n", "meds-bench: --gen_kwargs top_k=many: must be a whole"),
        ("tasks: task29\nmodel: hff\n", "meds-bench: --model hff: lm-eval has no model of this name; closest "),
    ],
)
def test_eval_config_file_is_pre_flighted(capsys, tmp_path, sample_dir, text, line):
    assert main(["eval", "--data-dir", str(sample_dir), "--config", _config(tmp_path, text)]) == 2
    (err,) = capsys.readouterr().err.splitlines()
    assert err.startswith(line)


def test_eval_config_file_task_without_data_is_named(capsys, tmp_path):
    config = _config(tmp_path, f"tasks: [task106]\nmetadata: {{meds_bench_data_dir: {tmp_path}}}\n")
    assert main(["eval", "--config", config]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("meds-bench: meds_bench_classification_hoc (task106): no Text_classification/task106_")
    assert len(lines) == 2


def test_cli_import_leaves_matplotlib_to_the_report():
    """Every `meds-bench` command imports the CLI; only `report` draws charts, so only it loads matplotlib."""
    import subprocess

    code = "import sys, meds_bench.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_eval_parses_lm_eval_flags_without_touching_sys_argv(monkeypatch, sample_dir):
    sentinel = ["pytest", "--sentinel"]
    monkeypatch.setattr("sys.argv", sentinel)
    ns = eval_namespace(["--model", "dummy", "--tasks", "task57", "--output", "runs/x"], str(sample_dir))
    assert ns.output_path == "runs/x"  # lm-eval's --output_path, reached by the convention's --output
    assert sys.argv is sentinel and sentinel == ["pytest", "--sentinel"]


def test_eval_refused_by_lm_eval_leaves_sys_argv_alone(monkeypatch, capsys):
    sentinel = ["pytest"]
    monkeypatch.setattr("sys.argv", sentinel)
    with pytest.raises(SystemExit) as exc:
        eval_namespace(["--tasks", "task57", "--no_such_flag"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --no_such_flag" in capsys.readouterr().err
    assert sys.argv is sentinel and sentinel == ["pytest"]


def test_eval_with_nothing_prints_lm_eval_run_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["eval"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("usage: lm-eval run --model <model> --tasks <task>")
