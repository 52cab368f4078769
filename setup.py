"""Package list for setuptools, found rather than hand-kept (everything else is in pyproject.toml).

The folders keep the layout fixed by the product's owner; the import names are distinct so that
``adapters`` cannot collide with AdapterHub's package of that name. Every folder under the three
roots that holds files is a package, data folders too (setuptools warns about, and leaves out of
a wheel, data in folders it is not told about).
"""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
# Import name -> source folder.
PACKAGE_DIR = {
    "meds_bench": "lm_eval_tasks/meds_bench",
    "meds_bench_adapters": "adapters",
    "medsins_sft": "medsins_sft",
}


def packages(root: Path = ROOT) -> list[str]:
    """Dotted names of every folder with files under the three roots, ``__pycache__`` left out."""
    found = []
    for name, source in PACKAGE_DIR.items():
        base = root / source
        for folder in sorted([base, *(p for p in base.rglob("*") if p.is_dir())]):
            parts = folder.relative_to(base).parts
            if "__pycache__" not in parts and any(p.is_file() for p in folder.rglob("*")):
                found.append(".".join([name, *parts]))
    return found


if __name__ == "__main__":
    setup(package_dir=PACKAGE_DIR, packages=packages())
