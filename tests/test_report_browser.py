"""The report page in headless Chromium, opened from disk (``file://``): no console output, tables and
explorer rendered, the score filter (set through the URL fragment) changing what the explorer shows,
the sample files beside the page loaded for the task opened, and a missing one named in the page.

Needs a ``chromium`` (or ``chromium-browser``/``google-chrome``) executable on PATH; Debian's
``chromium`` package provides it. The test fails, rather than skips, when none is found.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.image import imread
from report_fixtures import MCQA, MCQA_DOCS, NER, NER_DOCS, alpha_scores, write_run

from meds_bench.report import report

pytestmark = pytest.mark.slow
WINDOW = (1280, 2000)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no chromium on PATH: install Debian's chromium package (apt-get install chromium)")


def _run(page: Path, fragment: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *args,
        f"{page.as_uri()}#{fragment}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, f"console output: {console}"
    return proc


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("results")
    write_run(root, "org/alpha", alpha_scores(), samples={MCQA[0]: MCQA_DOCS})
    write_run(root, "org/beta", {MCQA[0]: {"acc": 50.0}}, samples={MCQA[0]: list(reversed(MCQA_DOCS))})
    return report([root], tmp_path_factory.mktemp("out"))


def _shown(dom: str) -> int:
    return int(re.search(r'id="ex-count" data-shown="(\d+)"', dom).group(1))


def test_tables_and_explorer_render_and_the_filter_changes_what_is_shown(page):
    everything = _run(page, f"task={MCQA[0]}&a=0&b=1&min=0&max=100", "--dump-dom").stdout
    assert "Multilingual multiple-choice QA: reported in the paper" in everything
    assert everything.count('class="sample"') == 3 and _shown(everything) == 3
    assert "A: org/alpha" in everything and "B: org/beta" in everything  # side by side
    wrong_only = _run(page, f"task={MCQA[0]}&a=0&b=1&min=0&max=0", "--dump-dom").stdout
    assert _shown(wrong_only) == 1 and wrong_only.count('class="sample"') == 1
    assert 'data-doc="1"' in wrong_only and "The answer is C" in wrong_only  # alpha's wrong answer


def test_screenshot_is_a_rendered_page(page, tmp_path):
    shot = tmp_path / "page.png"
    _run(page, f"task={MCQA[0]}", f"--screenshot={shot}")
    pixels = imread(shot)
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    assert pixels[..., :3].std() > 0.05, "blank screenshot"


@pytest.fixture(scope="module")
def five_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("five")
    for k in range(1, 6):
        samples = {
            MCQA[0]: [(q, gold, f"{answer} (model {k})") for q, gold, answer in MCQA_DOCS],
            NER[3]: [(text, gold, f"run{k}drug.") for text, gold, _ in NER_DOCS],
        }
        write_run(root, f"org/m{k}", {MCQA[0]: {"acc": 50.0}, NER[3]: {"f1": 10.0 * k}}, samples=samples)
    return report([root], tmp_path_factory.mktemp("out5"))


def test_a_five_run_report_from_disk_shows_the_last_task_of_the_last_run(five_runs):
    dom = _run(five_runs, f"task={NER[3]}&a=4&b=-1&min=0&max=100", "--dump-dom").stdout
    options = re.search(r'<select id="ex-task">(.*?)</select>', dom, re.S).group(1)
    assert re.findall(r'<option value="([^"]+)"', options)[-1] == NER[3], "the last task of the list"
    assert "A: org/m5" in dom and _shown(dom) == 1 and dom.count('class="sample"') == 1
    assert "run5drug." in dom and "Aspirin, heparin." in dom  # m5's response and the shared gold
    assert "run4drug." not in dom


def test_a_missing_sample_file_is_named_in_the_explorer(tmp_path, five_runs):
    out = tmp_path / "moved"
    shutil.copytree(five_runs.parent, out)
    missing = f"explorer/{NER[3]}/run-4.js"
    (out / missing).unlink()
    dom = _run(out / "index.html", f"task={NER[3]}&a=4&b=0", "--dump-dom").stdout
    count = re.search(r'<p id="ex-count"[^>]*>(.*?)</p>', dom, re.S)
    assert f'data-missing="{missing}"' in count.group(0)
    assert count.group(1).startswith(f"Cannot load the sample file {missing} (missing, moved")
    assert 'class="sample"' not in dom
    shown = _run(out / "index.html", f"task={MCQA[0]}&a=4&b=0", "--dump-dom").stdout  # other tasks still open
    assert _shown(shown) == 3 and "(model 5)" in shown
