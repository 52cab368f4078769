"""Every runtime dependency in pyproject.toml is imported by the repository's code (none kept for nothing)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")  # Python >= 3.11 (the test environment); the package supports 3.10


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_every_runtime_dependency_is_imported_somewhere():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {_norm(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]) for spec in declared}
    distributions = importlib.metadata.packages_distributions()
    imported = {_norm(d) for module in _imported_top_level_modules() for d in distributions.get(module, [])}
    assert "lm-eval" in imported and "torch" in imported  # the scan sees imports at all
    assert sorted(names - imported) == []
