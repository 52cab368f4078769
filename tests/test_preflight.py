"""`meds-bench eval` checks the selection and its data before any model loads."""

import json

import pytest
from hub_layouts import layout_files, write_dir

from meds_bench.catalog import get_task
from meds_bench.cli import eval_namespace, main
from meds_bench.preflight import PreflightError, rewrite_task_entries, selected_tasks

# In the order the overall group selects them (category groups, then the CT and MRI pools).
CREDENTIALED = [t for t in selected_tasks(["meds_bench"]) if t.credentialed]
# A model that cannot load: any test that gets past the pre-flight fails loudly on it.
NO_MODEL = ["--model", "hf", "--model_args", "pretrained=/nonexistent/model"]


@pytest.fixture()
def open_split_dir(tmp_path, monkeypatch):
    """Only the 34 open files, named as in the SPLIT repository (.json)."""
    monkeypatch.delenv("MEDS_BENCH_DATA_DIR", raising=False)
    return write_dir(tmp_path / "split", layout_files("split"))


def test_meds_ids_become_names_and_other_suites_pass_through():
    entries = rewrite_task_entries(["task52", "meds_bench_ner_bc5chem", "hellaswag", "TASK110"])
    assert entries == [
        "meds_bench_rationale_en",
        "meds_bench_ner_bc5chem",
        "hellaswag",
        "meds_bench_summarization_rct_text",
    ]
    assert [t.meds_id for t in selected_tasks(entries)] == ["task52", "task126", "task110"]


def test_groups_and_patterns_expand_to_their_tasks():
    assert len(selected_tasks(["meds_bench"])) == 53
    assert len(selected_tasks(["meds_bench_*"])) == 53
    opened = selected_tasks(["meds_bench-open"])
    assert len(opened) == 34 and not any(t.credentialed for t in opened)
    assert [t.task_id for t in selected_tasks(["meds_bench-summarization_open"])] == [110, 114]


@pytest.mark.parametrize(
    ("tasks", "line"),
    [
        (
            "meds_bench_foo",
            "meds-bench: unknown task 'meds_bench_foo': no MedS-Bench task or group matches it (`meds-bench list` "
            "shows the tasks; groups are meds_bench, meds_bench-open and meds_bench-<category>)",
        ),
        ("task999", "meds-bench: unknown MedS id 'task999': see `meds-bench list` for the 53 ids"),
    ],
)
def test_unknown_names_are_one_line(capsys, sample_dir, tasks, line):
    assert main(["eval", "--data-dir", str(sample_dir), *NO_MODEL, "--tasks", tasks]) == 2
    assert capsys.readouterr().err == line + "\n"


def test_full_benchmark_without_physionet_files_stops_naming_them(capsys, open_split_dir):
    assert main(["eval", "--data-dir", str(open_split_dir), *NO_MODEL, "--tasks", "meds_bench"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 20
    assert len(CREDENTIALED) == 19
    for line, info in zip(lines, CREDENTIALED, strict=False):
        assert line.startswith(f"meds-bench: {info.name} ({info.meds_id}): no {info.folder}/{info.meds_id}_*.json[l]")
        assert "meds-bench data build" in line
    assert lines[-1] == (
        "meds-bench: 19 of 53 selected task(s) have no data: build the 19 PhysioNet-derived task(s) with "
        "`meds-bench data build` (README: 'Credentialed tasks'); run the open tasks only with "
        "`--tasks meds_bench-open`; or add --skip-missing to run what is present"
    )


def test_missing_open_file_says_download(capsys, open_split_dir):
    hoc = get_task("task106")
    (open_split_dir / hoc.folder / hoc.file).unlink()
    assert main(["eval", "--data-dir", str(open_split_dir), *NO_MODEL, "--tasks", "meds_bench-open"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("meds-bench: meds_bench_classification_hoc (task106): no ")
    assert lines[1] == (
        "meds-bench: 1 of 34 selected task(s) have no data: get the 1 open task file(s) with "
        "`meds-bench download --output DIR`; or add --skip-missing to run what is present"
    )


def test_malformed_file_is_named_and_not_skipped(capsys, open_split_dir):
    hoc = get_task("task106")
    (open_split_dir / hoc.folder / hoc.file).write_text('{"Definition": ["d"]}')
    argv = ["eval", "--data-dir", str(open_split_dir), *NO_MODEL, "--tasks", "task106", "--skip-missing"]
    assert main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == (
        f"meds-bench: {open_split_dir / hoc.folder / hoc.file}: missing field 'Instances' "
        "(a list of {'input', 'output'} objects)"
    )
    assert lines[1].startswith("meds-bench: 0 of 1 selected task(s) have no data and 1 file(s) are malformed")


def test_skip_missing_keeps_whole_groups_and_records_what_it_skipped(open_split_dir, monkeypatch, capsys):
    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", str(open_split_dir))
    ns = eval_namespace(["--tasks", "meds_bench,hellaswag", "--model", "dummy"], skip_missing=True)
    categories = [
        "mcqa",
        "rationale",
        "explanation",
        "ie",
        "ner",
        "diagnosis",
        "treatment",
        "classification",
        "factver",
    ]
    assert ns.tasks == [f"meds_bench-{c}" for c in categories] + [
        "meds_bench_summarization_rct_text",
        "meds_bench_summarization_meqsum",
        "hellaswag",
    ]
    assert ns.metadata == {"meds_bench_skipped": [t.name for t in CREDENTIALED]}
    assert capsys.readouterr().err.startswith("meds-bench: skipping 19 task(s) without data: ")


def test_more_shots_than_a_task_has_is_refused(capsys, sample_dir):
    argv = ["eval", "--data-dir", str(sample_dir), *NO_MODEL, "--tasks", "task29", "--num_fewshot", "50"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "meds-bench: --num_fewshot 50 is more than meds_bench_ie_ade_drug_dose (task29) can supply: it has 10 "
        "instances, so at most 9 cases besides the query; use --num_fewshot 9 or less\n"
    )


def test_tasks_given_with_equals_sign_are_rewritten(sample_dir, monkeypatch):
    monkeypatch.setenv("MEDS_BENCH_DATA_DIR", str(sample_dir))
    assert eval_namespace(["run", "--tasks=task52", "--num_fewshot=9"]).tasks == ["meds_bench_rationale_en"]
    with pytest.raises(PreflightError, match="--num_fewshot 10 is more than"):
        eval_namespace(["run", "--tasks=task52", "--num_fewshot=10"])


def test_data_dir_given_through_lm_eval_metadata_is_the_one_checked(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MEDS_BENCH_DATA_DIR", raising=False)
    metadata = json.dumps({"meds_bench_data_dir": str(tmp_path)})
    assert main(["eval", *NO_MODEL, "--tasks", "task106", "--metadata", metadata]) == 2
    assert f"no Text_classification/task106_*.json[l] in {tmp_path.resolve()}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--model", "hff"], "--model hff: lm-eval has no model of this name; closest registered names: hf"),
        (
            ["--model", "meds-opneai"],
            "--model meds-opneai: lm-eval has no model of this name; closest registered names: meds-openai, "
            "meds-anthropic",
        ),
        (
            ["--model", "HuggingFaceTB/SmolLM2-135M-Instruct"],
            "--model HuggingFaceTB/SmolLM2-135M-Instruct: lm-eval has no model of this name; a Hugging Face model "
            "goes in --model_args: --model hf --model_args pretrained=HuggingFaceTB/SmolLM2-135M-Instruct",
        ),
        (
            [*NO_MODEL, "--num_fewshot", "-3"],
            "--num_fewshot -3: must be a whole number of 0 or more (0 runs zero-shot; leave it out for each task's "
            "default)",
        ),
        (
            [*NO_MODEL, "--gen_kwargs", "max_gen_toks=abc"],
            "--gen_kwargs max_gen_toks=abc: must be a whole number of 1 or more (e.g. --gen_kwargs max_gen_toks=256)",
        ),
        (
            [*NO_MODEL, "--gen_kwargs", "temperature=0", "top_p=2"],
            "--gen_kwargs top_p=2: must be a number above 0 and at most 1 (e.g. --gen_kwargs top_p=0.95)",
        ),
    ],
)
def test_bad_model_shots_and_generation_settings_are_one_line(capsys, tmp_path, argv, line):
    # checked before the data: this folder has none, and the run must not get as far as saying so
    assert main(["eval", "--data-dir", str(tmp_path), "--tasks", "task57", *argv]) == 2
    assert capsys.readouterr().err == f"meds-bench: {line}\n"


def test_a_model_with_no_close_name_lists_the_registered_ones(capsys, sample_dir):
    assert main(["eval", "--data-dir", str(sample_dir), "--tasks", "task57", "--model", "zzzqqq"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("meds-bench: --model zzzqqq: lm-eval has no model of this name; registered names: ")
    assert {"hf", "vllm", "dummy", "meds-openai", "meds-anthropic"} <= set(line.split(": ")[-1].split(", "))


def test_well_formed_generation_settings_and_shots_pass(sample_dir):
    argv = ["--model", "dummy", "--tasks", "task57", "--num_fewshot", "0"]
    gen = ["--gen_kwargs", "max_gen_toks=8", "temperature=0.7", "top_p=0.9", "top_k=-1", "do_sample=true"]
    assert eval_namespace([*argv, *gen], str(sample_dir)).gen_kwargs["max_gen_toks"] == 8
