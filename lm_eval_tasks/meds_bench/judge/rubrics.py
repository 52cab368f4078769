"""The rubric of each free-text category and its version: the one home of what a judge is asked.

``rubrics.json`` holds the prompt templates and, per category, the task described to the judge, how the
reference is introduced and the criteria (each scored 1-5, with what 1, 3 and 5 mean). A rubric's hash
(:attr:`Rubric.version`) covers its record and the templates, so any change to what a judge sees changes
the hash recorded with every judgement.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meds_bench.catalog import TASKS, TaskInfo

RUBRICS_FILE = Path(__file__).with_name("rubrics.json")
SCALE = (1, 5)
# The scorers of the free-text tasks (BLEU-1 / ROUGE-1 in the paper): the tasks a jury judges.
FREE_TEXT_SCORERS = frozenset({"text", "text_stripped", "text_ebms"})


@dataclass(frozen=True)
class Criterion:
    """One rubric criterion: its key in the judge's reply, the question and what the scale points mean."""

    name: str
    question: str
    anchors: dict[str, str]


@dataclass(frozen=True)
class Rubric:
    """The rubric of one category and the prompt templates it is shown with."""

    category: str
    task: str
    reference_role: str
    criteria: tuple[Criterion, ...]
    templates: dict[str, str]
    version: str

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys a judge's reply holds: the justification, then the criteria."""
        return ("justification", *(c.name for c in self.criteria))


@functools.cache
def _load() -> dict[str, Any]:
    return json.loads(RUBRICS_FILE.read_text(encoding="utf-8"))


def _version(record: dict[str, Any], templates: dict[str, str]) -> str:
    canonical = json.dumps({"rubric": record, "prompt": templates}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


@functools.cache
def rubric(category: str) -> Rubric:
    """The rubric of a free-text category; KeyError for a category no jury judges."""
    data = _load()
    record = data["rubrics"][category]
    criteria = tuple(Criterion(c["name"], c["question"], dict(c["anchors"])) for c in record["criteria"])
    templates = dict(data["prompt"])
    return Rubric(category, record["task"], record["reference_role"], criteria, templates, _version(record, templates))


def is_judged(info: TaskInfo) -> bool:
    """Whether a jury judges this task (a free-text task of a category with a rubric)."""
    return info.scorer in FREE_TEXT_SCORERS and info.category in _load()["rubrics"]


JUDGED_TASKS: tuple[TaskInfo, ...] = tuple(info for info in TASKS if is_judged(info))


def versions() -> dict[str, str]:
    """Category -> rubric version, for every rubric."""
    return {category: rubric(category).version for category in _load()["rubrics"]}
