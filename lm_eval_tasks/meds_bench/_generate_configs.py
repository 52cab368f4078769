"""Generate the MedS-Bench lm-eval YAMLs from the catalogue: one template per category, one
five-line YAML per task, one group per category and the overall ``meds_bench`` group.

    python -m meds_bench._generate_configs          # rewrite the YAMLs beside this file
    python -m meds_bench._generate_configs --check  # exit 1 if the committed YAMLs are stale

Everything a task needs beyond its name lives in its category's template; the per-category
knobs (shots, generation budget, stop sequences, metrics) are the table below.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from meds_bench.catalog import (
    CATEGORIES,
    OPEN_GROUP,
    OVERALL_GROUP,
    SUMMARIZATION_OPEN_GROUP,
    SUMMARIZATION_POOLED_GROUPS,
    TASKS,
    category_group,
    group_tree,
)
from meds_bench.metrics.table import CATEGORY_KIND, HOOK, KIND_METRICS, TASK_KIND

HERE = Path(__file__).resolve().parent
VERSION = 1.0
STOP_AT_NEXT_CASE = "\nInput:"


@dataclass(frozen=True)
class Metric:
    """One metric of a category: its name and its aggregation (``mean`` or ``module.function``)."""

    name: str
    aggregation: str = "mean"


@dataclass(frozen=True)
class CategorySettings:
    num_fewshot: int
    max_gen_toks: int
    until: tuple[str, ...] = (STOP_AT_NEXT_CASE,)
    metrics: tuple[Metric, ...] = (Metric("exact_match"),)
    # Module-level hook scoring one doc: ``process_results(doc, results) -> {metric: value}``.
    process_results: str | None = None
    # Metrics averaged over the category's tasks in its group (paper: plain mean of tasks).
    group_metrics: tuple[str, ...] = field(default=("exact_match",))


# Generation budgets are sized from the gold output patterns of SPEC B1 (the original generated
# up to 1000 tokens for one-word answers); one-line answers also stop at a blank line.
ONE_LINE = (STOP_AT_NEXT_CASE, "\n\n")


def _metrics(kind: str) -> tuple[Metric, ...]:
    return tuple(Metric(name, agg) for name, agg in KIND_METRICS[kind])


def _scored(
    num_fewshot: int, max_gen_toks: int, category: str, group_metrics: tuple[str, ...], **kw
) -> CategorySettings:
    """Settings of a category scored by the metrics hook (metric table: meds_bench.metrics.table)."""
    kind = CATEGORY_KIND[category]
    return CategorySettings(
        num_fewshot, max_gen_toks, metrics=_metrics(kind), process_results=HOOK, group_metrics=group_metrics, **kw
    )


ACC = ("acc", "acc_paper")
TEXT = ("bleu1", "rougeL", "rouge1")
SETTINGS: dict[str, CategorySettings] = {
    "mcqa": _scored(0, 64, "mcqa", ACC, until=ONE_LINE),
    "rationale": _scored(3, 512, "rationale", TEXT),
    "explanation": _scored(3, 256, "explanation", TEXT),
    "ie": _scored(3, 96, "ie", ("contains_paper", "exact_match")),
    "ner": _scored(3, 128, "ner", ("f1", "precision", "recall", "f1_paper"), until=ONE_LINE),
    "diagnosis": _scored(3, 32, "diagnosis", ACC, until=ONE_LINE),
    "treatment": _scored(3, 32, "treatment", ACC, until=ONE_LINE),
    "outcome": _scored(3, 8, "outcome", ACC, until=ONE_LINE),
    "classification": _scored(
        3,
        96,
        "classification",
        tuple(f"macro_{s}{p}" for p in ("", "_paper") for s in ("f1", "precision", "recall")),
        until=ONE_LINE,
    ),
    # Tasks 100 (EBMS) and 42 (MedNLI generative) are free text inside these categories: their
    # YAMLs override the metric list, and the group averages each metric over the tasks having it.
    "factver": _scored(3, 256, "factver", ACC + TEXT),
    "nli": _scored(3, 96, "nli", ACC + TEXT),
    "summarization": _scored(3, 384, "summarization", TEXT),
}
# Tasks whose gold is a single word inside a category of longer answers.
TASK_MAX_GEN_TOKS = {12: 8, 16: 8, 41: 8, 123: 8}


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


def template(category: str) -> dict:
    s = SETTINGS[category]
    cfg: dict = {
        "class": _Function("meds_bench.task.MedSBenchTask"),
        "dataset_path": "Henrychur/MedS-Bench",
        "output_type": "generate_until",
        "test_split": "test",
        "fewshot_split": "test",
        "doc_to_text": "input",
        "doc_to_target": "output",
        # A zero default is left unset: lm-eval never lets --num_fewshot override an explicit 0.
        **({"num_fewshot": s.num_fewshot} if s.num_fewshot else {}),
        "generation_kwargs": {"until": list(s.until), "max_gen_toks": s.max_gen_toks, "do_sample": False},
    }
    if s.process_results:
        cfg["process_results"] = _Function(s.process_results)
    cfg["metric_list"] = _metric_list(s.metrics, hooked=bool(s.process_results))
    cfg["metadata"] = {"version": VERSION}
    return cfg


def _metric_list(metrics: tuple[Metric, ...], hooked: bool) -> list[dict]:
    return [
        {
            "metric": m.name,
            "aggregation": m.aggregation if m.aggregation == "mean" else _Function(m.aggregation),
            "higher_is_better": True,
            **({"ignore_case": True, "ignore_punctuation": True} if m.name == "exact_match" and not hooked else {}),
        }
        for m in metrics
    ]


def task_yaml(info) -> dict:
    cfg: dict = {"include": "_template_yaml", "task": info.name, "task_alias": info.meds_id}
    if info.task_id in TASK_MAX_GEN_TOKS:
        budget = TASK_MAX_GEN_TOKS[info.task_id]
        cfg["generation_kwargs"] = {"until": list(ONE_LINE), "max_gen_toks": budget, "do_sample": False}
    if info.task_id in TASK_KIND:  # scored unlike the rest of its category
        cfg["metric_list"] = _metric_list(tuple(Metric(n, a) for n, a in KIND_METRICS[TASK_KIND[info.task_id]]), True)
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
            return title, SETTINGS[category].group_metrics, False
    summarization = SETTINGS["summarization"].group_metrics
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
