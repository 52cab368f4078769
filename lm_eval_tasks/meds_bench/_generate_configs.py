"""Generate the MedS-Bench lm-eval YAMLs and README from the catalogue: one template per category,
one few-line YAML per task, the category, open and overall groups, and the folder's README.md; in a
checkout, also the generated sections of ``docs/`` (the model-family table, from ``models.json``).

    python -m meds_bench._generate_configs          # rewrite the YAMLs beside this file and the docs sections
    python -m meds_bench._generate_configs --check  # exit 1 if the committed files are stale

A task's facts (scorer, generation budget, labels) are its catalogue row; its YAML includes its
category's template (built from the category record) and repeats only what its row says
differently. Metrics, aggregations and hooks are the scorer records'.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from meds_bench.catalog import (
    CATEGORIES,
    OPEN_GROUP,
    OVERALL_GROUP,
    TASKS,
    TaskInfo,
    group_tree,
    open_subgroup,
    pooled_groups,
)
from meds_bench.metrics.scorers import SCORERS
from meds_bench.metrics.table import group_metrics
from meds_bench.model_docs import NAME as MODEL_FAMILIES
from meds_bench.model_docs import render_model_families, splice
from meds_bench.readme import render_readme

HERE = Path(__file__).resolve().parent
# The checkout holding this folder (lm_eval_tasks/meds_bench); an installed package has no docs/ there.
REPO = HERE.parents[1]
# Page under docs/ -> the generated sections it holds (name -> renderer).
DOC_SECTIONS = {"docs/api-models.md": {MODEL_FAMILIES: render_model_families}}
VERSION = 1.0
STOP_AT_NEXT_CASE = "\nInput:"


# One-line answers also stop at a blank line.
ONE_LINE = (STOP_AT_NEXT_CASE, "\n\n")
# The README's "Using this folder" for the plugin's own folder.
USAGE = """
This is the task folder of the `meds-bench` package. Install the package (`pip install -e .` in a
checkout) and give the folder to lm-eval, or run `meds-bench eval`, which adds it and checks the
data before a model loads:

```bash
lm_eval --include_path "$(meds-bench tasks-path)" --tasks meds_bench-open --model hf --model_args pretrained=MODEL
meds-bench eval --data-dir DIR --tasks meds_bench --model hf --model_args pretrained=MODEL
```

The YAMLs and this README are generated from `catalog.py` and the scorer records by
`python -m meds_bench._generate_configs`; `--check` fails when a committed file is stale.
`meds-bench export-lm-eval --output OUT_DIR` writes a copy of the open tasks that runs without meds-bench.
"""


class _Function(str):
    """A ``!function dotted.path`` tag in the emitted YAML."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Function, lambda d, v: d.represent_scalar("!function", str(v), style=""))
_Dumper.add_representer(
    str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style='"' if "\n" in v else None)
)


def _dump(obj: object) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _generation(scorer: str, max_gen_toks: int) -> dict:
    until = ONE_LINE if SCORERS[scorer].one_line else (STOP_AT_NEXT_CASE,)
    return {"until": list(until), "max_gen_toks": max_gen_toks, "do_sample": False}


def _scoring(scorer: str) -> dict:
    record = SCORERS[scorer]
    return {
        "process_results": _Function(record.hook),
        "metric_list": [
            {
                "metric": metric,
                "aggregation": aggregation if aggregation == "mean" else _Function(aggregation),
                "higher_is_better": record.higher_is_better,
            }
            for metric, aggregation in record.metrics
        ],
    }


def template(category: str) -> dict:
    """The ``_template_yaml`` of a category: what its tasks share."""
    cat = CATEGORIES[category]
    return {
        "class": _Function("meds_bench.task.MedSBenchTask"),
        # No dataset_path: MedSBenchTask.download reads the task files itself (data.py).
        "output_type": "generate_until",
        "test_split": "test",
        "fewshot_split": "test",
        "doc_to_text": "input",
        "doc_to_target": "output",
        # A zero default is left unset: lm-eval never lets --num_fewshot override an explicit 0.
        **({"num_fewshot": cat.num_fewshot} if cat.num_fewshot else {}),
        "generation_kwargs": _generation(cat.scorer, cat.max_gen_toks),
        **_scoring(cat.scorer),
        "metadata": {"version": VERSION},
    }


def task_yaml(info: TaskInfo) -> dict:
    """A task's YAML: its category template, and whatever its catalogue row says differently."""
    cfg: dict = {"include": "_template_yaml", "task": info.name, "task_alias": info.meds_id}
    cat = CATEGORIES[info.category]
    if (info.scorer, info.max_gen_toks) != (cat.scorer, cat.max_gen_toks):
        cfg["generation_kwargs"] = _generation(info.scorer, info.max_gen_toks)
    if info.scorer != cat.scorer:
        cfg.update(_scoring(info.scorer))
    return cfg


def group_yaml(name: str, alias: str, members: list[str], metrics: tuple[str, ...], pooled: bool) -> dict:
    cfg: dict = {"group": name, "group_alias": alias, "task": members}
    if metrics:
        cfg["aggregate_metric_list"] = [{"metric": m, "aggregation": "mean", "weight_by_size": pooled} for m in metrics]
    cfg["metadata"] = {"version": VERSION}
    return cfg


def _group_settings(name: str) -> tuple[str, tuple[str, ...], bool]:
    """(alias, aggregated metrics, weighted by size) of a group; no metrics for the umbrella groups.
    Category groups average their tasks (the paper: a plain mean of tasks, each metric over the
    tasks that have it); pooled groups pool the instances of their files."""
    for cat in CATEGORIES.values():
        metrics = group_metrics(cat.key)
        if name == cat.group:
            return cat.title, metrics, False
        for kind, pooled_name in pooled_groups(cat.key).items():
            if name == pooled_name:
                return f"{cat.title} {kind.upper()} (pooled)", metrics, True
        if name == open_subgroup(cat.key):
            return f"{cat.title} (open tasks)", metrics, False
    return {OVERALL_GROUP: "MedS-Bench", OPEN_GROUP: "MedS-Bench (open data)"}[name], (), False


def render() -> dict[str, str]:
    """Relative path -> file text of every generated file (YAMLs and README.md)."""
    header = "# Generated by _generate_configs.py from catalog.py: edit those, not this file.\n"
    files: dict[str, str] = {}
    for category in CATEGORIES:
        files[f"tasks/{category}/_template_yaml"] = header + _dump(template(category))
    for info in TASKS:
        files[f"tasks/{info.category}/{info.name}.yaml"] = header + _dump(task_yaml(info))
    tree = group_tree()
    for name, members in tree.items():
        alias, metrics, pooled = _group_settings(name)
        files[f"groups/{name}.yaml"] = header + _dump(group_yaml(name, alias, members, metrics, pooled))
    files["README.md"] = render_readme(TASKS, {name: _group_settings(name)[0] for name in tree}, USAGE)
    return files


def stale_files(root: Path = HERE) -> list[str]:
    """Generated files that differ from (or are missing in) ``root``, plus stray generated YAMLs."""
    expected = render()
    stale = [p for p, text in expected.items() if not (root / p).is_file() or (root / p).read_text() != text]
    present = {str(p.relative_to(root)) for p in root.glob("tasks/**/*.yaml")} | {
        str(p.relative_to(root)) for p in root.glob("groups/*.yaml")
    }
    return sorted(stale + [p for p in present if p not in expected])


def render_docs(root: Path | None = None) -> dict[str, str]:
    """Relative path -> text of every docs page under ``root`` (default: this checkout) with its
    generated sections rewritten; ValueError when a page lacks a section's markers."""
    root = root or REPO
    pages: dict[str, str] = {}
    for rel, sections in DOC_SECTIONS.items():
        text = (root / rel).read_text(encoding="utf-8")
        for name, render_section in sections.items():
            text = splice(text, name, render_section())
        pages[rel] = text
    return pages


def stale_docs(root: Path | None = None) -> list[str]:
    """Docs pages under ``root`` (default: this checkout) whose generated sections differ from a fresh render."""
    root = root or REPO
    return sorted(rel for rel, text in render_docs(root).items() if (root / rel).read_text(encoding="utf-8") != text)


def write_docs(root: Path | None = None) -> None:
    """Rewrite the generated sections of the docs pages under ``root`` (default: this checkout)."""
    root = root or REPO
    for rel, text in render_docs(root).items():
        (root / rel).write_text(text, encoding="utf-8")


def _has_docs(root: Path) -> bool:
    return all((root / rel).is_file() for rel in DOC_SECTIONS)


def _check(docs: bool) -> int:
    stale = stale_files() + (stale_docs() if docs else [])
    for path in stale:
        print(f"stale: {path}", file=sys.stderr)
    return 1 if stale else 0


def _write(docs: bool) -> int:
    for path, text in render().items():
        target = HERE / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if docs:
        write_docs()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    docs = _has_docs(REPO)  # a checkout; an installed package has only the task folder
    try:
        return _check(docs) if args.check else _write(docs)
    except ValueError as exc:  # a docs page lost the markers of its generated section
        print(f"_generate_configs: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
