import json
import os

import pytest

from meds_bench import sample_data_path, tasks_path
from meds_bench.catalog import TASKS, get_task
from meds_bench.cli import eval_argv, main


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


def test_eval_adds_include_path_and_passes_flags_through(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", "overridden")  # restored after the test
    argv = eval_argv(["--model", "dummy", "--tasks", "meds_bench", "--limit", "2"], data_dir=str(tmp_path))
    assert argv == [
        "run",
        "--include_path",
        str(tasks_path()),
        "--model",
        "dummy",
        "--tasks",
        "meds_bench",
        "--limit",
        "2",
    ]
    assert os.environ["MEDS_BENCH_DATA_DIR"] == str(tmp_path.resolve())


def test_eval_rejects_a_second_include_path():
    with pytest.raises(SystemExit, match="include_path"):
        eval_argv(["--include_path", "/x", "--tasks", "meds_bench"])


def test_cli_import_leaves_matplotlib_to_the_report():
    """Every `meds-bench` command imports the CLI; only `report` draws charts, so only it loads matplotlib."""
    import subprocess
    import sys

    code = "import sys, meds_bench.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
