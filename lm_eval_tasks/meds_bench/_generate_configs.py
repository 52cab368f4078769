"""Generate the MedS-Bench lm-eval YAMLs from the catalogue: one template per category, one
few-line YAML per task, the category, open and overall groups.

    python -m meds_bench._generate_configs          # rewrite the YAMLs beside this file
    python -m meds_bench._generate_configs --check  # exit 1 if the committed YAMLs are stale

A task's facts (scorer, generation budget, labels) are its catalogue row; its YAML includes its
category's template and repeats only what its row says differently. Shots and group metrics are
per category (below).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from meds_bench.catalog import (
    CATEGORIES,
    CATEGORY_DEFAULTS,
    OPEN_GROUP,
    OVERALL_GROUP,
    SUMMARIZATION_OPEN_GROUP,
    SUMMARIZATION_POOLED_GROUPS,
    TASKS,
    TaskInfo,
    category_group,
    group_tree,
)
from meds_bench.metrics.table import ONE_LINE_SCORERS, SCORER_METRICS, hook

HERE = Path(__file__).resolve().parent
VERSION = 1.0
STOP_AT_NEXT_CASE = "\nInput:"


# Per-category settings; everything about a single task (scorer, budget, labels) is its catalogue row.
# Shots: the paper's 3 for every task, 0 for MCQA. Group metrics: averaged over the category's
# tasks in its group (paper: plain mean of tasks; each metric over the tasks that have it).
ACC = ("acc", "acc_paper")
TEXT = ("bleu1", "rougeL", "rouge1")
NUM_FEWSHOT = {category: 0 if category == "mcqa" else 3 for category in CATEGORIES}
GROUP_METRICS: dict[str, tuple[str, ...]] = {
    "mcqa": ACC,
    "rationale": TEXT,
    "explanation": TEXT,
    "ie": ("contains_paper", "exact_match"),
    "ner": ("f1", "precision", "recall", "f1_paper"),
    "diagnosis": ACC,
    "treatment": ACC,
    "outcome": ACC,
    "classification": tuple(f"macro_{s}{p}" for p in ("", "_paper") for s in ("f1", "precision", "recall")),
    "factver": ACC + TEXT,
    "nli": ACC + TEXT,
    "summarization": TEXT,
}
# One-line answers also stop at a blank line.
ONE_LINE = (STOP_AT_NEXT_CASE, "\n\n")


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
    until = ONE_LINE if scorer in ONE_LINE_SCORERS else (STOP_AT_NEXT_CASE,)
    return {"until": list(until), "max_gen_toks": max_gen_toks, "do_sample": False}


def _scoring(scorer: str) -> dict:
    return {
        "process_results": _Function(hook(scorer)),
        "metric_list": [
            {
                "metric": metric,
                "aggregation": aggregation if aggregation == "mean" else _Function(aggregation),
                "higher_is_better": True,
            }
            for metric, aggregation in SCORER_METRICS[scorer]
        ],
    }


def template(category: str) -> dict:
    scorer, max_gen_toks = CATEGORY_DEFAULTS[category]
    return {
        "class": _Function("meds_bench.task.MedSBenchTask"),
        "dataset_path": "Henrychur/MedS-Bench",
        "output_type": "generate_until",
        "test_split": "test",
        "fewshot_split": "test",
        "doc_to_text": "input",
        "doc_to_target": "output",
        # A zero default is left unset: lm-eval never lets --num_fewshot override an explicit 0.
        **({"num_fewshot": NUM_FEWSHOT[category]} if NUM_FEWSHOT[category] else {}),
        "generation_kwargs": _generation(scorer, max_gen_toks),
        **_scoring(scorer),
        "metadata": {"version": VERSION},
    }


def task_yaml(info: TaskInfo) -> dict:
    """A task's YAML: its category template, and whatever its catalogue row says differently."""
    cfg: dict = {"include": "_template_yaml", "task": info.name, "task_alias": info.meds_id}
    scorer, max_gen_toks = CATEGORY_DEFAULTS[info.category]
    if (info.scorer, info.max_gen_toks) != (scorer, max_gen_toks):
        cfg["generation_kwargs"] = _generation(info.scorer, info.max_gen_toks)
    if info.scorer != scorer:
        cfg.update(_scoring(info.scorer))
    return cfg


def group_yaml(name: str, alias: str, members: list[str], metrics: tuple[str, ...], pooled: bool) -> dict:
    cfg: dict = {"group": name, "group_alias": alias, "task": members}
    if metrics:
        cfg["aggregate_metric_list"] = [{"metric": m, "aggregation": "mean", "weight_by_size": pooled} for m in metrics]
    cfg["metadata"] = {"version": VERSION}
    return cfg


def _group_settings(name: str) -> tuple[str, tuple[str, ...], bool]:
    """(alias, aggregated metrics, weighted by size) of a group; no metrics for the umbrella groups."""
    for category, (_, title) in CATEGORIES.items():
        if name == category_group(category):
            return title, GROUP_METRICS[category], False
    summarization = GROUP_METRICS["summarization"]
    for key, pooled_name in SUMMARIZATION_POOLED_GROUPS.items():  # paper: instances of six files pooled
        if name == pooled_name:
            return f"Text summarization {key.upper()} (pooled)", summarization, True
    if name == SUMMARIZATION_OPEN_GROUP:
        return "Text summarization (open tasks)", summarization, False
    return {OVERALL_GROUP: "MedS-Bench", OPEN_GROUP: "MedS-Bench (open data)"}[name], (), False


def render() -> dict[str, str]:
    """Relative path -> file text of every generated file."""
    header = "# Generated by _generate_configs.py from catalog.py: edit those, not this file.\n"
    files: dict[str, str] = {}
    for category in CATEGORIES:
        files[f"tasks/{category}/_template_yaml"] = header + _dump(template(category))
    for info in TASKS:
        files[f"tasks/{info.category}/{info.name}.yaml"] = header + _dump(task_yaml(info))
    for name, members in group_tree().items():
        alias, metrics, pooled = _group_settings(name)
        files[f"groups/{name}.yaml"] = header + _dump(group_yaml(name, alias, members, metrics, pooled))
    return files


def stale_files(root: Path = HERE) -> list[str]:
    """Generated files that differ from (or are missing in) ``root``, plus stray generated YAMLs."""
    expected = render()
    stale = [p for p, text in expected.items() if not (root / p).is_file() or (root / p).read_text() != text]
    present = {str(p.relative_to(root)) for p in root.glob("tasks/**/*.yaml")} | {
        str(p.relative_to(root)) for p in root.glob("groups/*.yaml")
    }
    return sorted(stale + [p for p in present if p not in expected])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if stale else 0
    for path, text in render().items():
        target = HERE / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
