"""PNG charts of the measured runs (matplotlib's Agg renderer, no display needed).

- ``categories.png``: one bar per run in each category (the category score of the summary table)
  with its 95% CI as an error bar (none where the run lacks standard errors); a category a run did
  not evaluate completely gets no bar and an "n/a" mark, never a 0 bar.
- ``tasks_heatmap.png``: runs x 53 tasks, each task's chart metric; missing tasks are grey.
Figures are built with :class:`matplotlib.figure.Figure`, not pyplot, so no global backend or state is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from meds_bench.catalog import CATEGORIES, TASKS
from meds_bench.report.tables import RunScores, display_label, task_score_metric

DPI = 100
CATEGORY_SIZE = (1200, 500)


def heatmap_size(n_runs: int) -> tuple[int, int]:
    """Pixel size of the heat map for ``n_runs`` rows."""
    return 1600, 130 + 40 * max(1, n_runs)


def category_chart(scores: Sequence[RunScores], path: Path) -> Path:
    """Grouped bars: category score per run (0-100), 95% CI error bars."""
    width, height = CATEGORY_SIZE
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.add_axes((0.07, 0.2, 0.7, 0.72))
    cats = list(CATEGORIES)
    x = np.arange(len(cats))
    bar = 0.8 / max(1, len(scores))
    for k, s in enumerate(scores):
        offset = x - 0.4 + bar * (k + 0.5)
        cis = [s.category_ci(c) for c in cats]
        values = [v for v, _ in cis]
        shown = [(o, v, h or 0.0) for o, (v, h) in zip(offset, cis, strict=True) if v is not None]
        ax.bar([o for o, _, _ in shown], [v for _, v, _ in shown], bar, color=f"C{k % 10}")
        ax.errorbar(
            [o for o, _, _ in shown], [v for _, v, _ in shown], yerr=[h for _, _, h in shown],
            fmt="none", ecolor="0.2", elinewidth=1, capsize=2,
        )  # fmt: skip
        for o, v in zip(offset, values, strict=True):
            if v is None:
                ax.text(o, 1, "n/a", rotation=90, ha="center", va="bottom", fontsize=7, color="0.4")
    ax.set_xticks(x, [CATEGORIES[c].short_name for c in cats], rotation=30, ha="right", fontsize=9)
    ax.set_ylim(0, 100)
    ax.set_ylabel("score (0-100)")
    ax.set_title("MedS-Bench by category (accuracy / F1; ROUGE-L for free text)")
    handles = [Patch(color=f"C{k % 10}", label=display_label(s.run)) for k, s in enumerate(scores)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.savefig(path, dpi=DPI, format="png")
    return path


def task_heatmap(scores: Sequence[RunScores], path: Path) -> Path:
    """Heat map of every task's chart metric per run; grey where a run has no result."""
    width, height = heatmap_size(len(scores))
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    bottom, top = 60 / height, 30 / height  # room for the task ids below and the title above
    ax = fig.add_axes((0.14, bottom, 0.8, 1 - bottom - top))
    cax = fig.add_axes((0.955, bottom, 0.01, 1 - bottom - top))
    grid = np.full((max(1, len(scores)), len(TASKS)), np.nan)
    for r, s in enumerate(scores):
        for c, info in enumerate(TASKS):
            result = s.run.tasks.get(info.name)
            value = result.metrics.get(task_score_metric(info)) if result else None
            if value is not None:
                grid[r, c] = value
    ax.set_facecolor("0.85")  # shows through the masked (missing) cells
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(TASKS)), [t.meds_id for t in TASKS], rotation=90, fontsize=7)
    ax.set_yticks(range(len(scores)), [display_label(s.run) for s in scores], fontsize=8)
    ax.set_title("Per-task score (grey: not evaluated)", fontsize=10)
    fig.colorbar(image, cax=cax)
    fig.savefig(path, dpi=DPI, format="png")
    return path
