"""The jury's numbers from the judgements: per document, per task, per category (``judge_results.json``).

A document's jury score is the mean over judges and criteria of its valid judgements (0-100; an empty answer
scores 0 for every judge, as the paper metrics score it); ``invalid`` and unanswered judge requests are left
out and counted. A task's ``jury`` is the mean over its documents with a bootstrap CI; ``judges`` each judge's own
mean; ``alpha`` Krippendorff's alpha (ordinal) between the judges' per-document scores; ``spearman`` their pairwise
rank correlations. A category's score is the mean of its judged tasks that the paper averages (its group), else of
all its judged tasks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from meds_bench.catalog import CATEGORIES, get_task
from meds_bench.judge.stats import krippendorff_alpha, mean_ci, pairwise_spearman

EMPTY_SCORE = 0.0  # an empty answer is not sent to the judges: it scores this, as the paper metrics score it
# The statuses of a judgement row that carries a score; every reader of judgements.jsonl uses this one rule.
SCORED_STATUSES = frozenset({"ok", "empty_answer"})


def row_score(row: Mapping[str, Any]) -> float | None:
    """The 0-100 score a judgement row gives its answer, or None when it gives none."""
    return float(row["score"]) if row.get("status") in SCORED_STATUSES and row.get("score") is not None else None


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def doc_scores(rows: Iterable[Mapping[str, Any]], kind: str = "answer") -> dict[tuple[str, str, int], dict[str, float]]:
    """(run, task, doc_id) -> judge -> score, of the rows of one kind that give a score."""
    out: dict[tuple[str, str, int], dict[str, float]] = defaultdict(dict)
    for row in rows:
        score = row_score(row)
        if row["kind"] == kind and score is not None:
            out[(row["run"], row["task"], int(row["doc_id"]))][row["judge"]] = score
    return dict(out)


def task_entry(by_doc: Mapping[int, Mapping[str, float]], judges: Sequence[str], invalid: int) -> dict[str, Any]:
    """The ``judge_results.json`` entry of one task from its documents' per-judge scores."""
    doc_ids = sorted(by_doc)
    per_doc = [float(np.mean(list(by_doc[d].values()))) for d in doc_ids]
    mean, stderr, interval = mean_ci(per_doc)
    columns = {judge: [by_doc[d].get(judge) for d in doc_ids] for judge in judges}
    matrix = np.array([[np.nan if v is None else v for v in columns[j]] for j in judges], dtype=float)
    return {
        "jury": _rounded(mean),
        "jury_stderr": _rounded(stderr),
        "jury_ci": [_rounded(interval[0]), _rounded(interval[1])] if interval else None,
        "alpha": _rounded(krippendorff_alpha(matrix, level="ordinal")) if len(judges) > 1 else None,
        "spearman": {k: _rounded(v) for k, v in pairwise_spearman(columns).items()} if len(judges) > 1 else {},
        "judges": {
            judge: _rounded(float(np.mean(scored)))
            if (scored := [v for v in columns[judge] if v is not None])
            else None
            for judge in judges
        },
        "n": len(doc_ids),
        "invalid": invalid,
    }


def category_scores(tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Category -> its jury score and the tasks averaged (see the module docstring)."""
    by_category: dict[str, list[str]] = defaultdict(list)
    for task in tasks:
        by_category[get_task(task).category].append(task)
    out = {}
    for category, names in sorted(by_category.items()):
        group_ids = CATEGORIES[category].group_ids
        members = [t for t in names if get_task(t).task_id in group_ids] if group_ids else []
        chosen = sorted(members or names)
        values = [tasks[t]["jury"] for t in chosen if tasks[t]["jury"] is not None]
        out[category] = {"jury": _rounded(float(np.mean(values))) if values else None, "tasks": chosen}
    return out
