"""One JSON-lines reader (``text_files.read_json_lines``) behind every command that reads JSON lines."""

from __future__ import annotations

import json

import pytest
from report_fixtures import MCQA, MCQA_DOCS, write_run

from meds_bench.cli import main
from meds_bench.data import DataError, read_task_file
from meds_bench.physionet.cli import build_source
from meds_bench.physionet.common import RawDataError
from meds_bench.text_files import NotJsonLineError, NotUtf8Error, json_lines, read_json_lines


def test_lines_come_parsed_with_their_numbers_and_blank_lines_skipped(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\n  \n[2, 3]\r"x"\n')
    assert list(read_json_lines(path)) == [(1, {"a": 1}), (4, [2, 3]), (5, "x")]


def test_a_line_that_is_not_json_names_the_file_and_line(tmp_path):
    lines = iter(['{"a": 1}\n', "\n", '{"a": 2,}\n', "never read\n"])
    read = json_lines(lines, tmp_path / "p.jsonl")
    assert next(read) == (1, {"a": 1})
    with pytest.raises(NotJsonLineError) as err:
        next(read)
    assert (
        str(err.value)
        == f"{tmp_path / 'p.jsonl'}:3: not valid JSON (Expecting property name enclosed in double quotes, column 9)"
    )
    assert next(lines) == "never read\n"  # lazily: nothing after the bad line was read


def test_a_file_that_is_not_utf8_fails_at_the_call(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_bytes(b'{"a": "caf\xe9"}\n')
    with pytest.raises(NotUtf8Error, match=r"b\.jsonl:1: not UTF-8 text \(byte 0xe9\)"):
        read_json_lines(path)


@pytest.fixture()
def broken_run(tmp_path):
    """A logged run whose samples file has a line 2 that is not JSON."""
    run = write_run(tmp_path / "run", "m", {MCQA[0]: {"acc": 0.5}}, samples={MCQA[0]: MCQA_DOCS}).parent
    (samples,) = run.glob("samples_*.jsonl")
    lines = samples.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1][: len(lines[1]) // 2] + "\n"
    samples.write_text("".join(lines), encoding="utf-8")
    return run, samples


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "{run}", "{run}"],
        ["score", "{samples}"],
        ["export-submission", "{run}", "--output", "{tmp}/sub"],
    ],
    ids=["compare", "score", "export-submission"],
)
def test_every_command_reports_a_bad_samples_line_as_file_line(broken_run, tmp_path, capsys, argv):
    run, samples = broken_run
    args = [a.format(run=run, samples=samples, tmp=tmp_path) for a in argv]
    assert main(args) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"meds-bench {argv[0]}: {samples}:2: not valid JSON (")


def test_a_task_file_of_json_lines_reports_the_bad_line(tmp_path):
    path = tmp_path / "task57_x.jsonl"
    path.write_text('{"Definition": ["d"]}\n{"input": "q", "output": "a"}\n{"input": "q2", \n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_task_file(path)
    assert str(err.value).startswith(f"{path}:3: not valid JSON (")


def test_a_mednli_line_that_is_not_json_is_one_line(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    good = {"sentence1": "a", "sentence2": "b", "gold_label": "entailment"}
    (raw / "mli_test_v1.jsonl").write_text(json.dumps(good) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(RawDataError) as err:
        build_source("mednli", raw, tmp_path / "out")
    message = str(err.value)
    assert message.startswith(f"{raw / 'mli_test_v1.jsonl'}:2: not valid JSON (") and "; expected " in message
    assert "\n" not in message and not (tmp_path / "out").exists()
