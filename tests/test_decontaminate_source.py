"""medsins_sft decontamination finds the MedS-Bench test data through meds_bench's own data resolver."""

from __future__ import annotations

import pytest

from meds_bench import sample_data_path
from medsins_sft.decontaminate import DecontaminationError, bench_source, check_bench_source


def test_sample_and_directories_resolve_as_meds_bench_does(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDS_BENCH_DATA_DIR", raising=False)
    assert bench_source("sample").kind == "sample"
    assert bench_source("sample").location == str(sample_data_path().resolve())
    assert (bench_source(str(tmp_path)).kind, bench_source(str(tmp_path)).location) == ("local", str(tmp_path))
    assert bench_source(None).kind == "hub"


def test_null_bench_data_dir_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", str(sample_data_path()))
    assert bench_source(None).kind == "sample"  # the resolver knows the bundled sample; the literal variable did not
    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", str(tmp_path))
    assert bench_source(None).location == str(tmp_path)
    assert bench_source(str(sample_data_path())).kind == "sample"  # an explicit directory wins over the variable


def test_a_missing_directory_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", str(tmp_path / "gone"))
    with pytest.raises(DecontaminationError) as err:
        bench_source(None)
    message = str(err.value)
    assert message.startswith(
        f"decontamination needs MedS-Bench test data, but data directory {tmp_path / 'gone'} does not exist"
    )
    assert "\n" not in message and message.endswith("(recorded in the model's metadata)")


def test_a_local_source_needs_no_hub_probe(tmp_path, monkeypatch):
    from huggingface_hub import HfApi, constants

    probes = []
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(HfApi, "dataset_info", lambda self, repo_id, **kw: probes.append(repo_id))
    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", str(tmp_path))
    check_bench_source(bench_source(None))
    assert probes == []
    monkeypatch.delenv("MEDS_BENCH_DATA_DIR")
    check_bench_source(bench_source(None))
    assert probes == ["Henrychur/MedS-Bench"]


def test_null_bench_data_dir_decontaminates_against_the_variables_directory(monkeypatch):
    from meds_bench.catalog import get_task
    from meds_bench.data import load_task
    from medsins_sft.data import InsTask
    from medsins_sft.decontaminate import shared_decontamination

    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", str(sample_data_path()))
    copied = load_task(get_task("task12")).docs[:3]  # read through the variable, as training will
    clean = {"input": "An instruction seen in no benchmark at all, about nothing.", "output": "fine"}
    task = InsTask("task1", "task1_planted", "d", [*copied, clean])
    kept, report = shared_decontamination([task], None, 13, 0.5)
    assert report["bench_tasks_indexed"] == 53 and report["bench_tasks_skipped"] == {}
    assert report["instances_dropped"] == 3 and kept[0].docs == [clean]
