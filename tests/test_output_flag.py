"""One spelling of "where to write" (``--output PATH``) on every subcommand; older spellings still accepted."""

from __future__ import annotations

import pytest
from report_fixtures import MCQA, MCQA_DOCS, write_run

from meds_bench.cli import build_parser, main

# (the subcommand and its other arguments, the older spelling(s) of the output path)
WRITERS = [
    (["score", "preds.csv"], ["--output"]),
    (["report", "run"], ["--out"]),
    (["data", "build", "mednli", "--input", "raw"], ["--out"]),
    (["export-submission", "run"], []),
    (["export-lm-eval"], []),
    (["compare", "a", "b"], ["--json"]),
    (["download"], ["--dir"]),
    (["judge", "run", "--judge", "meds-openai:model=gpt-5.1"], []),
    (["judge-agreement", "labels.csv", "--judged", "judged"], []),
]
POSITIONAL = {"export-submission", "export-lm-eval"}


@pytest.mark.parametrize(("argv", "old"), WRITERS, ids=[" ".join(w[0][:2]) for w in WRITERS])
def test_every_writer_takes_output_output_path_and_its_older_spelling(argv, old):
    parser = build_parser()
    spellings = [["--output", "dest"], ["--output_path", "dest"], *[[flag, "dest"] for flag in old]]
    if argv[0] in POSITIONAL:
        spellings.append(["dest"])
    for spelling in spellings:
        assert parser.parse_args([*argv, *spelling]).output == "dest", spelling


def test_the_older_positional_and_output_may_agree_but_not_differ(capsys):
    parser = build_parser()
    assert parser.parse_args(["export-submission", "run", "dest", "--output", "dest"]).output == "dest"
    for argv, order in ((["run", "a", "--output", "b"], "a, b"), (["--output", "b", "run", "a"], "b, a")):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(["export-submission", *argv])
        assert exc.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            f"meds-bench export-submission: error: two output paths given ({order}): give --output once"
        )


@pytest.mark.parametrize("command", ["export-submission", "export-lm-eval"])
def test_a_missing_output_is_one_line_and_status_2(tmp_path, capsys, command):
    argv = [command, str(tmp_path)] if command == "export-submission" else [command]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err == f"meds-bench {command}: say where to write: --output OUT_DIR\n"
    assert list(tmp_path.iterdir()) == []


def test_report_run_output_dir_writes_the_report_there(tmp_path, capsys):
    run = write_run(tmp_path / "run", "m", {MCQA[0]: {"acc": 0.5}}, samples={MCQA[0]: MCQA_DOCS})
    assert main(["report", str(run.parent), "--output", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "index.html").is_file()
    assert f"report: {tmp_path / 'out' / 'index.html'}" in capsys.readouterr().out


def test_report_keeps_its_default_folder(tmp_path):
    assert build_parser().parse_args(["report", "run"]).output == "outputs/report"
    assert build_parser().parse_args(["download"]).output == "meds_bench_data"


def test_data_build_still_requires_an_output():
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["data", "build", "mednli", "--input", "raw"])
    assert exc.value.code == 2
