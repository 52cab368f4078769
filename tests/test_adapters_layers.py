"""The adapters' import graph: modules in floors, each importing only from floors below it (so no circle).

The floors are those of the ``meds_bench_adapters`` package docstring; a new module must be placed in one.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ADAPTERS = Path(__file__).resolve().parents[1] / "adapters"

# Lowest floor first; a module may import any module of a lower floor, none of its own floor or above.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("values", "errors"),
    ("families", "thinking", "retry", "tally", "cache", "guard", "probe"),
    ("context", "cost"),
    ("args", "contract"),
    ("lm_requests", "estimate", "dispatch"),
    ("batch",),
    ("base",),
    ("openai_chat", "anthropic_messages"),
    ("__init__",),
)


def package_imports(path: Path) -> set[str]:
    """The sibling modules ``path`` imports (``from . import x``, ``from .x import y``), anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("meds_bench_adapters."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("meds_bench_adapters."))
    return found


def import_graph() -> dict[str, set[str]]:
    return {path.stem: package_imports(path) for path in sorted(ADAPTERS.glob("*.py"))}


def floor_of() -> dict[str, int]:
    return {module: level for level, modules in enumerate(FLOORS) for module in modules}


def test_every_module_has_a_floor() -> None:
    assert set(import_graph()) == set(floor_of())


def test_no_import_circle() -> None:
    graphlib.TopologicalSorter(import_graph()).prepare()  # raises CycleError on a circle


def test_imports_go_only_down() -> None:
    floors = floor_of()
    upward = [
        f"{module} (floor {floors[module]}) imports {target} (floor {floors[target]})"
        for module, targets in import_graph().items()
        for target in sorted(targets)
        if floors[target] >= floors[module]
    ]
    assert upward == []


def test_checker_sees_a_circle(tmp_path: Path) -> None:
    """The circle check fails on a circle (the shape base.py and batch.py once had)."""
    (tmp_path / "a.py").write_text("from .b import x\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("def f():\n    from .a import y\n", encoding="utf-8")
    graph = {path.stem: package_imports(path) for path in tmp_path.glob("*.py")}
    assert graph == {"a": {"b"}, "b": {"a"}}
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(graph).prepare()
