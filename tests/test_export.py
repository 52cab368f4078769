"""`meds-bench export-lm-eval`: a task folder that needs no meds-bench and behaves exactly as the plugin."""

import argparse
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meds_bench import sample_data_path, tasks_path
from meds_bench.catalog import OPEN_GROUP, OVERALL_GROUP, TASKS
from meds_bench.export import add_export_parser, export

TESTS = Path(__file__).parent
PROBE = TESTS / "export_probe.py"
RUFF_CONFIG = TESTS / "data" / "lm_eval_ruff.toml"
OPEN = [t.name for t in TASKS if not t.credentialed]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    return export(tmp_path_factory.mktemp("export"))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_two_exports_are_byte_identical(exported, tmp_path):
    again = export(tmp_path / "again")
    assert _files(again) == _files(exported)


def test_open_export_holds_the_open_tasks_and_groups_only(exported, tmp_path):
    names = {p.stem for p in exported.glob("meds_bench_*.yaml")}
    assert names == set(OPEN) and len(names) == 34
    assert (exported / f"{OPEN_GROUP}.yaml").is_file() and not (exported / f"{OVERALL_GROUP}.yaml").exists()
    full = export(tmp_path, include_credentialed=True)
    assert {p.stem for p in full.glob("meds_bench_*.yaml")} == {t.name for t in TASKS}
    assert (full / f"{OVERALL_GROUP}.yaml").is_file()


def test_exported_code_depends_on_lm_eval_only(exported):
    tree = ast.parse((exported / "utils.py").read_text(encoding="utf-8"))
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in modules if m.split(".")[0] in ("meds_bench", "meds_bench_adapters", "medsins_sft")}
    yamls = "".join(p.read_text(encoding="utf-8") for p in exported.glob("*yaml"))
    assert "meds_bench." not in yamls.replace("meds_bench.yaml", "")
    assert "!function 'utils.MedSBenchTask'" in yamls


def test_exported_code_passes_lm_evals_ruff_settings(exported):
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run(
        [str(ruff), "check", "--no-cache", "--config", str(RUFF_CONFIG), str(exported / "utils.py")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_readme_has_the_new_task_guide_sections(exported):
    readme = (exported / "README.md").read_text(encoding="utf-8")
    for heading in ("### Paper", "### Citation", "#### Groups", "#### Tasks", "### Checklist", "PhysioNet"):
        assert heading in readme
    assert all(f"`{name}`" in readme for name in OPEN)


def test_export_readme_is_the_plugin_readme_for_its_tasks(exported):
    readme = (exported / "README.md").read_text(encoding="utf-8")
    plugin = (tasks_path() / "README.md").read_text(encoding="utf-8")
    head = plugin.split("### Using this folder")[0]
    assert readme.startswith(head) and "@article{wu2025medsbench" in head
    assert readme.split("### Checklist")[1] == plugin.split("### Checklist")[1]
    rows = [line for line in readme.splitlines() if line.startswith("| `meds_bench_")]
    assert len(rows) == 34 and set(rows) <= set(plugin.splitlines())
    assert "meds-bench export-lm-eval" in readme.split("### Using this folder")[1].split("### Data")[0]


def _probe(include_path: Path, out: Path, block: bool) -> dict:
    env = {**os.environ, "MEDS_BENCH_DATA_DIR": str(sample_data_path()), "HF_HUB_OFFLINE": "1"}
    flag = ["--block-meds-bench"] if block else []
    cmd = [sys.executable, "-I", str(PROBE), *flag, str(include_path), ",".join(OPEN), str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def test_export_without_meds_bench_renders_and_scores_as_the_plugin(exported, tmp_path):
    ours = _probe(exported.parent, tmp_path / "export.json", block=True)
    assert ours.pop("_meds_bench_loaded") == []
    plugin = _probe(tasks_path(), tmp_path / "plugin.json", block=False)
    assert set(ours) == set(OPEN)
    # lm-eval's task tests: 10 requests from 10 docs, texts without trailing whitespace.
    for name, report in ours.items():
        assert report["n_requests"] == report["n_instances"] == 10, name
        assert not report["texts_end_in_space"], name
    assert ours == plugin
    assert ours["meds_bench_mcqa_medqa_en"]["metrics"]["0"] == {"acc": 100.0, "acc_paper": 100.0, "extracted": 100.0}


def test_blocking_really_hides_meds_bench(tmp_path):
    code = f"import sys; sys.path.insert(0, {str(TESTS)!r}); import export_probe; export_probe.block_meds_bench()"
    code += "; import meds_bench"
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1 and "ModuleNotFoundError: meds_bench is blocked" in proc.stderr


def test_command_line_writes_the_folder(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_export_parser(parser.add_subparsers())
    args = parser.parse_args(["export-lm-eval", str(tmp_path), "--include-credentialed"])
    assert args.func(args) == 0
    assert len(list((tmp_path / "meds_bench").glob("meds_bench_*.yaml"))) == 53
    assert f"wrote 53 tasks to {tmp_path / 'meds_bench'}" in capsys.readouterr().out


def _lm_eval(out: Path, include_path: Path, model_dir: Path, block: bool) -> dict:
    argv = ["lm_eval", "--include_path", str(include_path), "--tasks", OPEN_GROUP, "--model", "hf"]
    argv += ["--model_args", f"pretrained={model_dir},dtype=float32", "--limit", "3", "--batch_size", "8"]
    argv += ["--gen_kwargs", "max_gen_toks=12", "--output_path", str(out)]
    code = (
        f"import runpy, sys; sys.path.insert(0, {str(TESTS)!r}); import export_probe; "
        f"{'export_probe.block_meds_bench(); ' if block else ''}sys.argv = {argv!r}; "
        "runpy.run_module('lm_eval', run_name='__main__')"
    )
    env = {**os.environ, "MEDS_BENCH_DATA_DIR": str(sample_data_path()), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = out.rglob("results_*.json")
    return json.loads(results_file.read_text())


@pytest.mark.slow
def test_lm_eval_run_of_the_export_equals_the_plugins(exported, tmp_path, tiny_model_dir):
    ours = _lm_eval(tmp_path / "export", exported.parent, tiny_model_dir, block=True)
    plugin = _lm_eval(tmp_path / "plugin", tasks_path(), tiny_model_dir, block=False)
    assert set(ours["results"]) == set(plugin["results"]) >= set(OPEN)
    assert ours["results"] == plugin["results"], "same per-task and group numbers to the last digit"
    assert ours["configs"]["meds_bench_rationale_en"]["metadata"]["meds_bench_data"]["n_instances"] == 10
