import hashlib
import json
from pathlib import Path

import pytest

from meds_bench.catalog import get_task
from meds_bench.cli import main
from meds_bench.data import DataError, load_task, preload, resolve_source, task_handover

MEDQA = get_task("meds_bench_mcqa_medqa_en")  # MCQA/task57_..._en.jsonl
HOC = get_task("task106")  # Text_classification/task106_hoc_text_classification.json


def _write(root: Path, info, content: str | dict) -> Path:
    path = root / info.folder / info.file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def _error(data_dir: Path, info=MEDQA) -> str:
    with pytest.raises(DataError) as err:
        load_task(info, data_dir=data_dir)
    message = str(err.value)
    assert "\n" not in message, "errors are one line"
    return message


def test_sample_data_loads_and_is_marked_as_sample(sample_dir):
    loaded = load_task(MEDQA, data_dir=sample_dir)
    assert loaded.provenance["source"] == "sample"
    path = sample_dir / MEDQA.hub_path
    assert loaded.provenance["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.provenance["n_instances"] == len(loaded.docs) == 10
    assert loaded.docs[0]["output"].startswith("The right answer is ")


def test_env_var_selects_directory(tmp_path, monkeypatch):
    path = _write(
        tmp_path, HOC, {"Definition": ["d"], "Instances": [{"input": "a", "output": "Inducing angiogenesis"}]}
    )
    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", str(tmp_path))
    loaded = load_task(HOC)
    assert loaded.provenance == {
        "source": "local",
        "location": str(tmp_path.resolve()),
        "file": HOC.hub_path,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "n_instances": 1,
    }
    assert loaded.docs == [
        {
            "id": 0,
            "input": "a",
            "output": "Inducing angiogenesis",
            "references": ["Inducing angiogenesis"],
            "definition": "d",
        }
    ]


def test_list_output_gold_is_first_element(tmp_path):
    _write(tmp_path, HOC, {"Definition": ["d"], "Instances": [{"input": "a", "output": ["no", "other"]}]})
    doc = load_task(HOC, data_dir=tmp_path).docs[0]
    assert (doc["output"], doc["references"]) == ("no", ["no", "other"])


def test_json_twin_extension_is_accepted(tmp_path):
    twin = tmp_path / MEDQA.folder / MEDQA.file.replace(".jsonl", ".json")
    twin.parent.mkdir(parents=True)
    twin.write_text(json.dumps({"Definition": ["d"], "Instances": [{"input": "q", "output": "o"}]}))
    assert load_task(MEDQA, data_dir=tmp_path).provenance["file"].endswith(".json")


def test_real_json_lines_are_accepted(tmp_path):
    lines = [{"Definition": ["d"]}, {"input": "q1", "output": "o1"}, {"input": "q2", "output": ["o2"]}]
    _write(tmp_path, MEDQA, "\n".join(json.dumps(x) for x in lines))
    loaded = load_task(MEDQA, data_dir=tmp_path)
    assert [d["input"] for d in loaded.docs] == ["q1", "q2"]
    assert loaded.definition == "d"


def test_invalid_json_names_file_and_position(tmp_path):
    path = _write(tmp_path, MEDQA, '{"Definition": ["d"], "Instances": [')
    assert _error(tmp_path) == f"{path}: not valid JSON (line 1, column 37: Expecting value)"


def test_missing_definition(tmp_path):
    path = _write(tmp_path, MEDQA, {"Instances": [{"input": "q", "output": "o"}]})
    assert _error(tmp_path) == f"{path}: missing field 'Definition' (a list holding the task definition)"


def test_missing_instances(tmp_path):
    path = _write(tmp_path, MEDQA, {"Definition": ["d"]})
    assert _error(tmp_path) == f"{path}: missing field 'Instances' (a list of {{'input', 'output'}} objects)"


@pytest.mark.parametrize("field", ["input", "output"])
def test_instance_missing_field_names_index_and_field(tmp_path, field):
    good = {"input": "q", "output": "o"}
    bad = {k: v for k, v in good.items() if k != field}
    path = _write(tmp_path, MEDQA, {"Definition": ["d"], "Instances": [good, good, bad]})
    assert _error(tmp_path) == f"{path}: instance 2: missing field '{field}'"


def test_instance_field_of_wrong_type(tmp_path):
    path = _write(tmp_path, MEDQA, {"Definition": ["d"], "Instances": [{"input": "q", "output": 3}]})
    assert _error(tmp_path) == f"{path}: instance 0: field 'output' must be a string, got int"


def test_empty_output_list(tmp_path):
    path = _write(tmp_path, MEDQA, {"Definition": ["d"], "Instances": [{"input": "q", "output": []}]})
    assert _error(tmp_path) == f"{path}: instance 0: field 'output' is an empty list (the first element is the gold)"


def test_missing_file_says_how_to_download(tmp_path):
    (tmp_path / "MCQA").mkdir()
    assert _error(tmp_path) == (
        f"meds_bench_mcqa_medqa_en (task57): no MCQA/task57_*.json[l] in {tmp_path.resolve()}: "
        "get the open tasks with `meds-bench download --output DIR` and set MEDS_BENCH_DATA_DIR=DIR"
    )


def test_truncated_pretty_printed_file_is_reported_at_its_real_line(tmp_path):
    text = json.dumps({"Definition": ["d"], "Instances": [{"input": "q", "output": "o"}] * 3}, indent=2)
    path = _write(tmp_path, HOC, text[: text.index('"output"', 60)])  # cut inside the second instance
    cut_line = text[: text.index('"output"', 60)].count("\n") + 1
    message = _error(tmp_path, HOC)
    assert message.startswith(f"{path}: not valid JSON (line {cut_line}, column ")
    assert cut_line > 5


def test_missing_credentialed_file_says_build_from_physionet(tmp_path):
    message = _error(tmp_path, get_task("task117"))
    assert "task117" in message and "PhysioNet" in message and "Credentialed tasks" in message


def test_credentialed_task_is_never_fetched_from_hub(monkeypatch):
    monkeypatch.delenv("MEDS_BENCH_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="not on the hub: it is derived from PhysioNet-credentialed"):
        load_task(get_task("task112"))


def test_nonexistent_data_dir(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        resolve_source(tmp_path / "nope")


def test_preloaded_task_is_handed_over_once_and_only_for_its_source(sample_dir, sample_copy):
    with task_handover() as kept:
        assert preload(HOC, resolve_source(sample_dir)) == 10
        assert len(kept) == 1
        load_task(HOC, data_dir=sample_copy)  # another directory: read afresh, the kept task stays
        assert len(kept) == 1
        first = load_task(HOC, data_dir=sample_dir)
        assert len(kept) == 0
        again = load_task(HOC, data_dir=sample_dir)
        assert again is not first and again.docs == first.docs


def test_clearing_the_preloaded_tasks_drops_them(sample_dir):
    with task_handover() as kept:
        preload(MEDQA, resolve_source(sample_dir))
        kept.clear()
        assert len(kept) == 0 and kept.take(MEDQA, resolve_source(sample_dir)) is None


def test_leaving_the_handover_drops_what_the_run_did_not_take(sample_dir):
    with task_handover() as kept:
        preload(MEDQA, resolve_source(sample_dir))
        assert len(kept) == 1
    assert len(kept) == 0


def test_outside_a_handover_nothing_is_kept(sample_copy):
    assert preload(HOC, resolve_source(sample_copy)) == 10
    _drop_first_instance(sample_copy / HOC.hub_path)
    assert len(load_task(HOC, data_dir=sample_copy).docs) == 9  # read afresh: the preload kept nothing


def test_two_evaluations_in_one_process_do_not_share_parsed_tasks(sample_copy, capsys):
    """The first run is refused after its pre-flight parsed task52; the second must see the file as it is now."""
    task52 = get_task("task52")
    argv = ["eval", "--data-dir", str(sample_copy), "--model", "dummy", "--tasks", "task52"]
    assert main([*argv, "--num_fewshot", "10"]) == 2
    assert "--num_fewshot 10 is more than" in capsys.readouterr().err
    _drop_first_instance(sample_copy / task52.hub_path)
    assert len(load_task(task52, sample_copy).docs) == 9  # a second evaluation's task build reads the file as it is


def _drop_first_instance(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["Instances"] = data["Instances"][1:]
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_task_file_that_is_not_utf8_is_one_line(tmp_path):
    path = _write(tmp_path, MEDQA, "")
    path.write_bytes('{"Definition": ["caf\xe9"], "Instances": []}'.encode("latin-1"))
    assert _error(tmp_path).startswith(f"{path}:1: not UTF-8 text (byte 0xe9); ")


@pytest.mark.slow
def test_an_evaluation_parses_each_task_file_once(monkeypatch, sample_dir, tmp_path):
    """The pre-flight's parse is what lm-eval's task build gets, inside ``meds-bench eval``'s handover."""
    import meds_bench.data as data

    parsed, parse = [], data._load
    monkeypatch.setattr(data, "_load", lambda info, source: (parsed.append(info.name), parse(info, source))[1])
    argv = ["eval", "--data-dir", str(sample_dir), "--model", "dummy", "--tasks", "task106", "--limit", "1"]
    assert main([*argv, "--output", str(tmp_path / "run")]) == 0
    assert parsed == [HOC.name]
