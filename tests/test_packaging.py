"""The package list is found by setup.py: every folder with files under the three import roots is a
package (data folders too), so a wheel holds every file, a new data folder included, and the build
prints no setuptools warning."""

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("meds_bench_setup", ROOT / "setup.py")
setup_py = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(setup_py)


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")


def test_packages_are_the_folders_with_files(tmp_path):
    _touch(tmp_path / "lm_eval_tasks/meds_bench/__init__.py")
    _touch(tmp_path / "lm_eval_tasks/meds_bench/sample_data/MCQA/task57.jsonl")
    _touch(tmp_path / "lm_eval_tasks/meds_bench/__pycache__/catalog.pyc")
    (tmp_path / "lm_eval_tasks/meds_bench/empty").mkdir()
    _touch(tmp_path / "adapters/__init__.py")
    _touch(tmp_path / "medsins_sft/configs/sample.yaml")
    assert setup_py.packages(tmp_path) == [
        "meds_bench",
        "meds_bench.sample_data",
        "meds_bench.sample_data.MCQA",
        "meds_bench_adapters",
        "medsins_sft",
        "medsins_sft.configs",
    ]


def _wheel_name(rel: str) -> str:
    for name, source in setup_py.PACKAGE_DIR.items():
        if rel.startswith(source + "/"):
            return name + rel.removeprefix(source)
    raise AssertionError(rel)


def test_wheel_holds_every_file_and_a_new_data_folder_without_warnings(tmp_path):
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard"], capture_output=True, text=True, check=True
    ).stdout.split()
    src = tmp_path / "src"
    for rel in listed:
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    new_category = "lm_eval_tasks/meds_bench/sample_data/Toxicology/task900_demo.json"
    _touch(src / new_category)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation"]
    build = subprocess.run(
        [*pip_wheel, "-w", str(tmp_path), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    log = build.stdout + build.stderr
    assert "Warning" not in log and "absent from" not in log, log
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        _wheel_name(rel)
        for rel in [*listed, new_category]
        if rel.startswith(tuple(f"{s}/" for s in setup_py.PACKAGE_DIR.values())) and (src / rel).is_file()
    }
    assert "meds_bench/sample_data/Toxicology/task900_demo.json" in expected
    assert expected <= names, sorted(expected - names)
