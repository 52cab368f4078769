"""README.md is a front door and docs/ the manual: every section of the old single-file README
(tests/data/readme_headings_e1370c6.txt) still has a home, the README stays short and links every
page, and every relative link of README.md and docs/*.md reaches an existing file and heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OLD_HEADINGS = Path(__file__).parent / "data" / "readme_headings_e1370c6.txt"
HEADING = re.compile(r"^(#{1,6}) +(.+?)\s*$")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _prose_lines(text: str) -> list[str]:
    """The lines of a Markdown text outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def headings(text: str) -> list[str]:
    """Heading texts (without the ``#``s), in order, outside code blocks."""
    return [m.group(2) for line in _prose_lines(text) if (m := HEADING.match(line))]


def anchors(text: str) -> set[str]:
    """GitHub's anchors of the headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(text):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        result.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return result


def broken_links(page: Path) -> list[str]:
    """Relative links of ``page`` whose file, or heading anchor in a Markdown file, does not exist."""
    broken = []
    for line in _prose_lines(page.read_text(encoding="utf-8")):
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target} (no file)")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text(encoding="utf-8")):
                broken.append(f"{page.name}: {target} (no heading)")
    return broken


def test_every_old_readme_heading_lands_in_readme_or_docs():
    old = [HEADING.match(line).group(2) for line in OLD_HEADINGS.read_text(encoding="utf-8").splitlines()]
    assert len(old) == 36
    present = {h for page in _pages() for h in headings(page.read_text(encoding="utf-8"))}
    assert [h for h in old if h not in present] == []


def test_relative_links_of_readme_and_docs_resolve():
    assert [b for page in _pages() for b in broken_links(page)] == []


def test_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Error bars, paired comparisons and the release's files\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\nSee [a](other.md#error-bars-paired-comparisons-and-the-releases-files), [b](missing.md),\n"
        "[c](other.md#no-such-heading), [d](#page), [e](https://example.org/x), `[f](in-code.md)`.\n"
        "```\n[g](in-a-code-block.md)\n```\n"
    )
    assert broken_links(page) == ["page.md: missing.md (no file)", "page.md: other.md#no-such-heading (no heading)"]


def test_anchors_follow_github():
    text = "# A real model in one command: `make try-real-model`\n## Data\n### Data\n```\n# not a heading\n```\n"
    assert anchors(text) == {"a-real-model-in-one-command-make-try-real-model", "data", "data-1"}


def test_readme_is_a_front_door_linking_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    linked = {Path(target.partition("#")[0]) for target in LINK.findall(readme)}
    pages = {page.relative_to(ROOT) for page in (ROOT / "docs").glob("*.md")}
    assert len(pages) >= 9
    assert sorted(pages - linked) == []


@pytest.mark.parametrize("command", ["make test", "make demo"])
def test_readme_keeps_the_commands_ci_runs(command):
    """.ci/run runs the README's test command and demo; the README names them as commands."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(rf"^{command}\b", ci, re.M)
    assert re.search(rf"^{command} +#", readme, re.M)


def test_sections_the_code_cites_by_name_are_in_the_readme():
    """Messages and comments say "README: 'Credentialed tasks'" and the like: the README keeps those names."""
    cite = re.compile(r"""README(?::|,)(?: section)? ['"]([^'"]+)['"]""")
    sources = [*ROOT.glob("lm_eval_tasks/meds_bench/**/*.py"), *ROOT.glob("adapters/*.py"), ROOT / "Makefile"]
    cited = {" ".join(name.split()) for path in sources for name in cite.findall(path.read_text(encoding="utf-8"))}
    assert {"Credentialed tasks", "Credentialed data and external APIs", "Offline GPU machines"} <= cited
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert sorted(name for name in cited if name not in readme) == []
