"""``index.html``: tables, base64 charts and the explorer's index inline (no network needed).

The tables are rendered here; the per-sample explorer is rendered in the browser: when a task is
opened it loads that task's sample files from the ``explorer/`` folder beside the page
(:mod:`meds_bench.report.sample_files`), and names any file that is missing. ``page.html`` holds the
CSS and JS. All text is escaped; the explorer builds its nodes with ``textContent``, so model outputs
cannot inject markup. The explorer's state lives in the URL fragment (``#task=...&a=0&b=1&min=0&max=100``),
so a filtered view can be linked.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from meds_bench.report.sample_files import FOLDER
from meds_bench.report.tables import MISSING, Table

TEMPLATE = Path(__file__).resolve().parent / "page.html"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _cell_class(text: str) -> str:
    """The class of a cell: ``missing`` for a value not measured, ``failed`` for a failed jury control."""
    if text.startswith(MISSING):
        return ' class="missing"'
    return ' class="failed"' if "FAILED" in text else ""


def html_table(table: Table, kind: str = "measured", caption: bool = True) -> str:
    """A table as HTML; ``kind`` (``measured``/``reported``) styles it; ``caption`` shows its title."""
    head = "".join(f"<th>{_e(h)}</th>" for h in table.header)
    body = []
    for row in table.rows:
        cells = "".join(f"<td{_cell_class(c)}>{_e(c)}</td>" for c in row)
        body.append(f"<tr>{cells}</tr>")
    note = f'<p class="note">{_e(table.note)}</p>' if table.note else ""
    title = f"<caption>{_e(table.title)}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table class="{kind}">{title}'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{note}"
    )


def _img(path: Path, alt: str) -> str:
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="chart" alt="{_e(alt)}" src="data:image/png;base64,{encoded}">'


def _explorer(index: dict[str, Any], max_samples: int) -> str:
    capped = sum(n < total for *_, n, total in index["counts"])
    note = (
        f'<p class="note">At most the first {max_samples} documents of each run and task are included '
        f"(<code>--max-samples</code>); {capped} of {len(index['counts'])} run/task sample sets are cut to it.</p>"
        if capped
        else ""
    )
    return (
        '<section id="explorer"><h2>Per-sample explorer</h2>'
        '<p class="note">Prompt, response, extracted answer, gold and per-sample metrics from lm-eval '
        "<code>--log_samples</code> files; model B is shown beside model A for the same document. "
        "The score filter applies to model A (0-100: accuracy, ROUGE-L, or per-document F1). "
        f"Samples are loaded from the <code>{FOLDER}/</code> folder beside this page when a task is opened.</p>"
        f"{note}"
        '<div class="controls">'
        '<label>Task<select id="ex-task"></select></label>'
        '<label>Model A<select id="ex-a"></select></label>'
        '<label>Model B<select id="ex-b"></select></label>'
        '<label>Score &ge;<input id="ex-min" type="number" min="0" max="100" value="0"></label>'
        '<label>Score &le;<input id="ex-max" type="number" min="0" max="100" value="100"></label>'
        '</div><p id="ex-count" data-shown="0"></p><div id="ex-results"></div></section>'
    )


def write_page(
    path: Path,
    intro: str,
    summary: Table,
    charts: Sequence[tuple[Path, str]],
    categories: Sequence[tuple[Table, Table | None]],
    runs_part: Sequence[Table],
    explorer: dict[str, Any],
    max_samples: int,
) -> Path:
    """Write ``index.html`` (``explorer``: the index :func:`~meds_bench.report.sample_files.write_sample_files`
    returns) and return its path."""
    parts = ["<h1>MedS-Bench report</h1>", f'<p class="note">{_e(intro)}</p>']
    parts.append('<nav><a href="#summary">Summary</a><a href="#categories">Categories</a>'
                 '<a href="#runs">Runs</a><a href="#explorer">Explorer</a></nav>')  # fmt: skip
    parts.append(f'<section id="summary"><h2>Summary</h2>{html_table(summary, caption=False)}')
    parts += [_img(p, alt) for p, alt in charts]
    parts.append('</section><section id="categories"><h2>Categories</h2>')
    for measured, reported in categories:
        parts.append(f"<h3>{_e(measured.title)}</h3>{html_table(measured, caption=False)}")
        if reported is not None:
            parts.append(html_table(reported, "reported"))
    parts.append(
        f'</section><section id="runs"><h2>Runs and data provenance</h2>{html_table(runs_part[0], caption=False)}'
    )
    for table in runs_part[1:]:
        parts.append(f"<details><summary>{_e(table.title)}</summary>{html_table(table, caption=False)}</details>")
    parts.append("</section>")
    parts.append(_explorer(explorer, max_samples))
    payload = json.dumps(explorer, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
    page = TEMPLATE.read_text(encoding="utf-8").replace("@@BODY@@", "\n".join(parts)).replace("@@DATA@@", payload)
    path.write_text(page, encoding="utf-8")
    return path
