"""Run lm-eval's own task tests (``tests/test_tasks.py`` of the pinned lm-eval) on the plugin and the export.

    python tests/lm_eval_task_tests.py [--sdist lm_eval-X.tar.gz]      (make lm-eval-task-tests)

lm-eval's sdist ships ``tests/test_tasks.py`` but not the ``tests/utils.py`` it imports, and the
test asks its ``TaskManager()`` for lm-eval's built-in tasks only. So the file is run unchanged
from the sdist (fetched with ``pip download`` when ``--sdist`` is not given: the package registry
is the only network this needs), beside two small files of ours: a ``utils.py`` whose
``new_tasks()`` names our 53 tasks, and a ``conftest.py`` that points ``TaskManager`` at one task
folder and, for the export, makes meds-bench unimportable first. Both runs read the bundled
sample data. Exit status: 0 when both pass.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

TESTS = Path(__file__).resolve().parent

NEW_TASKS = '''
import os


def new_tasks():
    """The tasks under test (lm-eval's CI derives them from changed YAMLs)."""
    return os.environ["MEDS_BENCH_TASKS"].split(",")
'''
CONFTEST = '''
import os
import sys

if os.environ.get("MEDS_BENCH_BLOCK"):
    sys.path.insert(0, os.environ["MEDS_BENCH_TESTS"])
    import export_probe

    export_probe.block_meds_bench()

import lm_eval.tasks


class _TaskManager(lm_eval.tasks.TaskManager):
    """lm-eval's TaskManager, reading the task folder under test instead of the built-in tasks."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("include_path", os.environ["MEDS_BENCH_INCLUDE_PATH"])
        kwargs.setdefault("include_defaults", False)
        super().__init__(*args, **kwargs)


lm_eval.tasks.TaskManager = _TaskManager
'''


def fetch_sdist(into: Path) -> Path:
    """lm-eval's sdist at the installed version, from the package registry."""
    spec = f"lm_eval=={version('lm_eval')}"
    cmd = [sys.executable, "-m", "pip", "download", spec, "--no-binary", ":all:", "--no-deps", "-d", str(into)]
    subprocess.run(cmd, check=True, capture_output=True)
    (sdist,) = into.glob("lm_eval-*.tar.gz")
    return sdist


def prepare(sdist: Path, root: Path) -> Path:
    """``root/lm_eval_tests/``: the sdist's test_tasks.py, unchanged, with our utils.py and conftest.py."""
    package = root / "lm_eval_tests"
    package.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        (member,) = [m for m in archive.getmembers() if m.name.endswith("/tests/test_tasks.py")]
        (package / "test_tasks.py").write_bytes(archive.extractfile(member).read())
    (package / "__init__.py").write_text("")
    (package / "utils.py").write_text(NEW_TASKS.lstrip())
    (package / "conftest.py").write_text(CONFTEST.lstrip())
    (root / "pytest.ini").write_text("[pytest]\n")
    return package


def run(package: Path, include_path: Path, tasks: list[str], block: bool) -> int:
    from meds_bench import sample_data_path

    env = {
        **os.environ,
        "MEDS_BENCH_DATA_DIR": str(sample_data_path()),
        "MEDS_BENCH_INCLUDE_PATH": str(include_path),
        "MEDS_BENCH_TASKS": ",".join(tasks),
        "MEDS_BENCH_TESTS": str(TESTS),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }
    if block:
        env["MEDS_BENCH_BLOCK"] = "1"
    root = package.parent
    cmd = [sys.executable, "-I", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(root / "pytest.ini")]
    cmd += ["--rootdir", str(root), str(package / "test_tasks.py"), "-k", "TestNewTasksElseDefault"]
    return subprocess.run(cmd, env=env, cwd=root).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help="lm-eval's sdist (default: pip download the installed version)")
    args = parser.parse_args(argv)
    from meds_bench import tasks_path
    from meds_bench.catalog import TASKS
    from meds_bench.export import export

    names = [t.name for t in TASKS]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        package = prepare(args.sdist or fetch_sdist(work / "sdist"), work / "upstream")
        exported = export(work / "export", include_credentialed=True)
        results = {
            "plugin": run(package, tasks_path(), names, block=False),
            "export": run(package, exported.parent, names, block=True),
        }
    for what, code in results.items():
        print(f"lm-eval tests/test_tasks.py on the {what}: {'passed' if code == 0 else 'FAILED'}")
    return max(results.values())


if __name__ == "__main__":
    sys.exit(main())
