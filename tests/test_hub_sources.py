"""Finding task files by MedS id across the three published layouts, from a Hugging Face cache
built by the test (offline: huggingface_hub resolves refs and snapshots itself)."""

import hashlib
import json

import huggingface_hub.constants
import pytest
from hub_layouts import (
    MAIN_COMMIT,
    OPEN,
    SPLIT_COMMIT,
    SUMMARIZATION_COMMIT,
    add_to_cache,
    layout_files,
    published_cache,
    split_name,
    write_dir,
)

from meds_bench import hub
from meds_bench.catalog import TASKS, get_task
from meds_bench.cli import main
from meds_bench.data import DataError, load_task


@pytest.fixture()
def hf_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("MEDS_BENCH_DATA_DIR", raising=False)
    monkeypatch.delenv("MEDS_BENCH_HUB_REVISION", raising=False)
    hub._resolved.cache_clear()
    yield cache
    hub._resolved.cache_clear()


def test_each_task_comes_from_the_first_layout_that_has_it(hf_cache):
    published_cache(hf_cache)
    medqa = load_task(get_task("task57"))
    assert medqa.provenance["repo"] == "Henrychur/MedS-Bench"
    assert medqa.provenance["revision"] == "main" and medqa.provenance["commit"] == MAIN_COMMIT
    assert medqa.provenance["file"] == "MCQA/task57_medqa_question_answering_en.jsonl"
    assert medqa.provenance["location"] == f"Henrychur/MedS-Bench@{MAIN_COMMIT}"
    meqsum = load_task(get_task("task114"))  # main deleted Text_summarization/: revision 7e3fc90 has it
    assert meqsum.provenance["revision"] == "7e3fc90" and meqsum.provenance["commit"] == SUMMARIZATION_COMMIT
    content = layout_files("summarization")["Text_summarization/task114_medqsum_text_summurization.json"]
    assert meqsum.provenance["sha256"] == hashlib.sha256(content).hexdigest()
    assert meqsum.provenance["source"] == "hub"


def test_split_repository_alone_serves_all_34_open_tasks(hf_cache):
    published_cache(hf_cache, layouts=("split",))
    for info in OPEN:
        loaded = load_task(info)
        assert loaded.provenance["repo"] == "Henrychur/MedS-Bench-SPLIT", info.name
        assert loaded.provenance["commit"] == SPLIT_COMMIT
        assert loaded.provenance["file"] == f"{info.folder}/{split_name(info)}"


def test_a_file_is_found_by_meds_id_whatever_its_name(hf_cache):
    content = layout_files("main")[get_task("task58").hub_path]
    add_to_cache(hf_cache, "Henrychur/MedS-Bench", "main", MAIN_COMMIT, {"MCQA/task58_renamed_upload.jsonl": content})
    assert load_task(get_task("task58")).provenance["file"] == "MCQA/task58_renamed_upload.jsonl"


def test_offline_and_not_cached_is_one_line_naming_every_source(hf_cache):
    with pytest.raises(DataError) as err:
        load_task(get_task("task110"))
    assert str(err.value) == (
        "meds_bench_summarization_rct_text (task110): not found on the hub ("
        "Henrychur/MedS-Bench@main: hub not reachable and not in the local cache; "
        "Henrychur/MedS-Bench@7e3fc90: hub not reachable and not in the local cache; "
        "Henrychur/MedS-Bench-SPLIT@main: hub not reachable and not in the local cache); "
        "get the open tasks with `meds-bench download --output DIR` and set MEDS_BENCH_DATA_DIR=DIR"
    )


def test_credentialed_tasks_are_never_looked_up_on_the_hub(hf_cache):
    add_to_cache(hf_cache, "Henrychur/MedS-Bench-SPLIT", "main", SPLIT_COMMIT, {"NLI/task41_x.json": b"{}"})
    with pytest.raises(DataError, match=r"^meds_bench_nli_mednli_discriminative \(task41\): .* is not on the hub"):
        load_task(get_task("task41"))


@pytest.mark.parametrize("layout", ["main+summarization", "split"])
def test_local_directories_in_each_published_layout(tmp_path, layout):
    files = layout_files("split") if layout == "split" else {**layout_files("main"), **layout_files("summarization")}
    root = write_dir(tmp_path / layout, files)
    for info in OPEN:
        assert load_task(info, data_dir=root).provenance["file"] in files, info.name


def test_download_fetches_the_open_tasks_verifies_and_records_hashes(hf_cache, tmp_path, capsys):
    published_cache(hf_cache)
    out = tmp_path / "bench"
    assert main(["download", "--dir", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    manifest = json.loads((out / "SOURCES.json").read_text())
    assert len(manifest) == 34 and {row["meds_id"] for row in manifest} == {t.meds_id for t in OPEN}
    for row in manifest:
        assert hashlib.sha256((out / row["file"]).read_bytes()).hexdigest() == row["sha256"]
        assert row["verified_against_hub"] == "yes"
        assert f"{row['sha256']}  {row['file']}  ({row['repo']}@{row['commit'][:7]})" in printed
    credentialed = [t.meds_id for t in TASKS if t.credentialed]
    assert printed[-2].startswith("19 PhysioNet-derived tasks are not redistributed")
    assert printed[-2].endswith(", ".join(credentialed))
    assert printed[-1].startswith(f"34 of 34 open task files in {out}")
    for info in OPEN:  # what was downloaded is a valid data directory
        assert load_task(info, data_dir=out).provenance["source"] == "local"


def test_download_refuses_a_file_whose_hash_differs_from_the_hub(hf_cache, tmp_path, capsys):
    published_cache(hf_cache, layouts=("split",))
    hoc = get_task("task106")
    path = f"{hoc.folder}/{split_name(hoc)}"
    # The same file in main, cached under a blob name that is not its sha256: corrupt.
    corrupt = b'{"x": 1}'
    add_to_cache(hf_cache, "Henrychur/MedS-Bench", "main", MAIN_COMMIT, {path: corrupt}, blob_name="0" * 64)
    out = tmp_path / "bench"
    assert main(["download", "--dir", str(out)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        f"meds-bench download: meds_bench_classification_hoc (task106): {path} hashes to "
        f"{hashlib.sha256(corrupt).hexdigest()} but the hub published {'0' * 64}; "
        "delete it from the Hugging Face cache and download again"
    )
    assert not (out / path).exists()


def test_list_offline_reports_what_is_cached_not_hub(hf_cache, capsys):
    add_to_cache(
        hf_cache,
        "Henrychur/MedS-Bench-SPLIT",
        "main",
        SPLIT_COMMIT,
        {f"{get_task('task12').folder}/{split_name(get_task('task12'))}": b"{}"},
    )
    assert main(["list"]) == 0
    rows = {line.split()[0]: line.split()[-1] for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["meds_bench_factver_pubmedqa"] == "cached"
    assert rows["meds_bench_mcqa_medqa_en"] == "unavailable"
    assert rows["meds_bench_nli_mednli_discriminative"] == "credentialed"
    assert "hub" not in rows.values()


def test_download_with_no_usable_source_is_one_line_and_writes_nothing(hf_cache, tmp_path, capsys):
    assert main(["download", "--dir", str(tmp_path / "bench")]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "meds-bench download: no published source can be used (Henrychur/MedS-Bench@main: hub not reachable and "
        "not in the local cache; Henrychur/MedS-Bench@7e3fc90: hub not reachable and not in the local cache; "
        "Henrychur/MedS-Bench-SPLIT@main: hub not reachable and not in the local cache); run it where the "
        "Hugging Face hub is reachable (HF_HUB_OFFLINE unset), or copy a downloaded directory here\n"
    )
    assert not (tmp_path / "bench").exists()
