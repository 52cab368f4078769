"""The wheel's package list names every folder of the three import packages (setuptools warns,
once per folder, about data folders it does not list, and leaves out of a wheel what is not listed)."""

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
IMPORT_NAMES = {
    "lm_eval_tasks/meds_bench": "meds_bench",
    "medsins_sft": "medsins_sft",
    "adapters": "meds_bench_adapters",
}


def test_every_folder_with_files_is_a_listed_package():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = set()
    for source, name in IMPORT_NAMES.items():
        for folder in [ROOT / source, *(ROOT / source).rglob("*")]:
            if folder.is_dir() and "__pycache__" not in folder.parts and any(p.is_file() for p in folder.rglob("*")):
                folders.add(".".join([name, *folder.relative_to(ROOT / source).parts]))
    assert folders == listed
