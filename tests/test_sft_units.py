"""medsins_sft: config, loader/mixing, instructions, decontamination, label masking and packing (CPU, tiny model)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
import torch

pytest.importorskip("trl")

from sft_args import SAMPLE_YAML, sample_args  # noqa: E402

from meds_bench import sample_data_path as bench_sample_path  # noqa: E402
from meds_bench.prompts import build_prompt  # noqa: E402
from medsins_sft.config import MedSInsSFTConfig  # noqa: E402
from medsins_sft.data import InsTask, load_tasks, mix, sample_data_path  # noqa: E402
from medsins_sft.decontaminate import BenchIndex, bench_index, bench_source, decontaminate, gram_hashes  # noqa: E402
from medsins_sft.instructions import InstructionBuilder, build_examples, load_paraphrases  # noqa: E402
from medsins_sft.model import load_model_and_tokenizer  # noqa: E402
from medsins_sft.train import build_dataset, parse_config  # noqa: E402

REWRITES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "RewriteDefinitions.json"  # in ../shared


def _config(tmp_path: Path, model_dir: Path, *extra: str) -> MedSInsSFTConfig:
    return parse_config(sample_args(tmp_path / "out", model_dir, *extra))


# -- config ------------------------------------------------------------------------------------------
def test_paper_defaults_and_yaml_then_cli_override(tmp_path):
    default = MedSInsSFTConfig(output_dir=str(tmp_path), use_cpu=True)
    assert (default.max_length, default.learning_rate, default.num_train_epochs) == (2048, 1e-5, 5.0)
    assert default.per_device_train_batch_size * default.gradient_accumulation_steps == 128
    cfg = parse_config(
        [
            "--config",
            str(SAMPLE_YAML),
            "--learning_rate",
            "0.5",
            "--task_weights",
            '{"task12": 2}',
            "--per_device_train_batch_size",
            "2",
            "--output_dir",
            str(tmp_path),
        ]
    )
    assert cfg.learning_rate == 0.5  # CLI beats YAML
    assert cfg.model_name_or_path == "tiny" and cfg.data_dir == "sample"  # from YAML
    assert cfg.task_weights == {"task12": 2}
    assert cfg.gradient_accumulation_steps == 2  # global batch 4 = 2 per device x 2 steps x 1 process
    with pytest.raises(ValueError, match="multiple"):
        MedSInsSFTConfig(output_dir=str(tmp_path), global_batch_size=6, per_device_train_batch_size=4)


# -- data --------------------------------------------------------------------------------------------
def test_loader_selects_by_id_or_glob_and_mix_applies_caps_and_weights():
    tasks = load_tasks("sample", ["task12", "task29_*"])
    assert sorted(t.task_id for t in tasks) == ["task12", "task29"]
    by_id = {t.task_id: t for t in tasks}
    mixture = mix(tasks, weights={"task12": 0.5, "task29": 2.0}, caps={"task12": 100}, seed=1)
    counts = {tid: sum(1 for t, _ in mixture if t.task_id == tid) for tid in by_id}
    assert counts == {"task12": 50, "task29": 2 * len(by_id["task29"].docs)}
    assert mixture == mix(tasks, weights={"task12": 0.5, "task29": 2.0}, caps={"task12": 100}, seed=1)
    assert mix(tasks, default_cap=5, seed=1).__len__() == 10


# -- instructions ------------------------------------------------------------------------------------
def _task(n: int = 6, long: bool = False) -> InsTask:
    pad = " filler" * 400 if long else ""
    docs = [{"id": i, "input": f"case {i}{pad} query{i}", "output": f"answer {i}"} for i in range(n)]
    return InsTask("task7", "task7_demo", "Say the answer.", docs)


def test_prompts_are_the_harness_template_zero_and_few_shot(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    task = _task()
    zero = InstructionBuilder(tok, 2048, fewshot_prob=0.0).example(task, 2, random.Random(0))
    assert zero["prompt"] == build_prompt("Say the answer.", "case 2 query2").text()
    assert zero["completion"] == "answer 2"
    few = InstructionBuilder(tok, 2048, fewshot_prob=1.0, num_fewshot=3).example(task, 2, random.Random(0))
    assert few["prompt"].count("Input:\n") == 4 and "case 2 query2\nOutput:\n" in few["prompt"]
    assert few["prompt"].count("case 2 ") == 1  # the query is never its own case
    chat = InstructionBuilder(tok, 2048, fewshot_prob=0.0, chat_format=True).example(task, 2, random.Random(0))
    assert chat["prompt"] == build_prompt("Say the answer.", "case 2 query2").messages()
    assert chat["completion"] == [{"role": "assistant", "content": "answer 2"}]


def test_paraphrased_definitions_from_rewrite_file(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    src = REWRITES if REWRITES.is_file() else sample_data_path() / "definitions.json"
    paraphrases = load_paraphrases(src)
    assert all(isinstance(v, list) for v in paraphrases.values())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"task7": {"original_def": "x", "auto_rewrite_def": "not a list"}}))
    with pytest.raises(ValueError, match="auto_rewrite_def"):
        load_paraphrases(bad)
    builder = InstructionBuilder(
        tok, 2048, fewshot_prob=0.0, paraphrases={"task7": ["Reply with it."]}, paraphrase_prob=1.0
    )
    assert builder.example(_task(), 0, random.Random(0))["prompt"].startswith("Reply with it.\n")


def test_left_truncation_keeps_the_query_and_fits_max_length(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    builder = InstructionBuilder(tok, 256, fewshot_prob=1.0)
    ex = builder.example(_task(long=True), 1, random.Random(0))
    assert ex["prompt"].endswith("query1\nOutput:\n")
    assert not ex["prompt"].startswith("Input:")  # the start was cut
    assert len(tok(ex["prompt"] + ex["completion"])["input_ids"]) + 1 <= 256
    huge = InsTask("task8", "task8_x", "d", [{"id": 0, "input": "q", "output": "word " * 2000}])
    examples, skipped = build_examples([(huge, 0)], builder)
    assert (examples, skipped) == ([], 1)


# -- decontamination ---------------------------------------------------------------------------------
def test_planted_overlaps_are_dropped_and_reported(tmp_path):
    data = Path(shutil.copytree(sample_data_path(), tmp_path / "ins"))
    bench = json.loads((bench_sample_path() / "Fact_verication" / "task12_pubmedqa_classification.json").read_text())
    ins_file = data / "Fact_verication" / "task12_pubmedqa_classification.json"
    ins = json.loads(ins_file.read_text())
    clean = len(ins["Instances"])
    exact = bench["Instances"][:3]
    near = dict(bench["Instances"][5])
    near["input"] = near["input"].replace("study?", "trial?")  # one word changed: most 13-grams survive
    ins["Instances"] = ins["Instances"][:100] + exact + ins["Instances"][100:] + [near]
    ins_file.write_text(json.dumps(ins))

    tasks = load_tasks(data, ["task12"])
    index = bench_index(bench_source("sample"), 13)
    assert not index.skipped and len(index.loaded) == 53
    kept, report = decontaminate(tasks, index, threshold=0.5)
    assert report["instances_dropped"] == 4
    assert {d["bench_task"] for d in report["dropped"]} == {"meds_bench_factver_pubmedqa"}
    kept_inputs = {d["input"] for d in kept[0].docs}
    assert len(kept[0].docs) == clean
    assert not kept_inputs & {d["input"] for d in [*exact, near]}


def test_hashed_ngrams_score_short_texts_whole():
    assert len(gram_hashes("Yes, no.", 13)) == 1  # shorter than n words: the whole text is one n-gram
    assert gram_hashes("Yes, no.", 13)[0] == gram_hashes("yes no", 13)[0]  # lowercased words, punctuation dropped
    assert len(gram_hashes("a b c a b c", 3)) == 3  # distinct trigrams: abc, bca, cab
    assert len(gram_hashes("...", 3)) == 0
    index = BenchIndex(3)
    index.add("b", ["alpha beta gamma delta"])
    task = InsTask("task1", "task1_x", "d", [{"input": "alpha beta gamma", "output": "zeta"}])
    # "alpha beta gamma zeta": 1 of its 2 trigrams is in the bench
    assert decontaminate([task], index, 0.5)[1]["instances_dropped"] == 1
    assert decontaminate([task], index, 0.6)[1]["instances_dropped"] == 0


# -- labels and packing ------------------------------------------------------------------------------
def _trainer(cfg, model, tok, dataset):
    from medsins_sft.throughput import MeteredSFTTrainer
    from medsins_sft.train import trainer_args

    return MeteredSFTTrainer(model=model, args=trainer_args(cfg), train_dataset=dataset, processing_class=tok)


def test_labels_are_minus_100_exactly_on_prompt_tokens(tmp_path, tiny_model_dir):
    cfg = _config(
        tmp_path,
        tiny_model_dir,
        "--packing",
        "false",
        "--tasks",
        "task29",
        "task12",
        "--max_instances_per_task",
        "8",
        "--decontaminate",
        "false",
    )
    model, tok = load_model_and_tokenizer(str(tiny_model_dir), "sdpa")
    assert tok.pad_token_id != tok.eos_token_id
    dataset = build_dataset(cfg, tok, load_tasks(cfg.data_dir, cfg.tasks))
    trainer = _trainer(cfg, model, tok, dataset)
    processed = trainer.train_dataset
    assert len(processed) == len(dataset) == 16
    by_prompt = {row["prompt"]: row["completion"] for row in dataset}
    for row in processed:
        ids, labels = row["input_ids"], row["labels"]
        n_masked = next(i for i, lab in enumerate(labels) if lab != -100)
        prompt = tok.decode(ids[:n_masked])
        completion = by_prompt[prompt]
        assert ids[:n_masked] == tok(prompt)["input_ids"]  # everything masked is exactly the prompt
        assert labels[n_masked:] == ids[n_masked:]  # everything after it is learned ...
        assert tok.decode(ids[n_masked:]) == completion + tok.eos_token  # ... the gold output and EOS
        assert ids[-1] == tok.eos_token_id


def test_packed_batch_matches_each_example_alone(tmp_path, tiny_model_dir):
    cfg = _config(
        tmp_path,
        tiny_model_dir,
        "--packing",
        "true",
        "--tasks",
        "task29",
        "task12",
        "--max_instances_per_task",
        "6",
        "--decontaminate",
        "false",
        "--max_length",
        "512",
        "--per_device_train_batch_size",
        "2",
        "--tokens_per_step",
        "1024",
    )
    model, tok = load_model_and_tokenizer(str(tiny_model_dir), "sdpa")
    trainer = _trainer(cfg, model, tok, build_dataset(cfg, tok, load_tasks(cfg.data_dir, cfg.tasks)))
    batch = next(iter(trainer.get_train_dataloader()))
    assert "attention_mask" not in batch and batch["input_ids"].shape[0] == 1  # padding-free packed row
    starts = (batch["position_ids"][0] == 0).nonzero().flatten().tolist() + [batch["input_ids"].shape[1]]
    assert len(starts) - 1 >= 4  # several examples share the row
    model.eval()
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        leaky = model(input_ids=batch["input_ids"], use_cache=False).logits[0]  # one causal sequence, no resets
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            alone = model(input_ids=batch["input_ids"][:, a:b], use_cache=False).logits[0]
            torch.testing.assert_close(packed[a:b], alone, atol=1e-4, rtol=1e-4)
        a, b = starts[1], starts[2]
        assert not torch.allclose(leaky[a:b], model(input_ids=batch["input_ids"][:, a:b]).logits[0], atol=1e-3)
    # labels: each packed example keeps exactly the targets it has alone (its completion and EOS; its
    # prompt, whose first token follows the previous example's EOS, is never a target)
    cfg.packing = False
    alone_rows = _trainer(cfg, model, tok, build_dataset(cfg, tok, load_tasks(cfg.data_dir, cfg.tasks))).train_dataset
    own_labels = {tuple(row["input_ids"]): row["labels"] for row in alone_rows}
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        segment = batch["input_ids"][0, a:b].tolist()
        expected = own_labels[tuple(segment)]
        assert batch["labels"][0, a:b].tolist() == expected
        assert expected[0] == -100 and expected[-1] == tok.eos_token_id and sum(x != -100 for x in expected) >= 2


def test_missing_config_file_is_one_line_error(tmp_path):
    import pytest

    from medsins_sft.train import main

    with pytest.raises(SystemExit, match=r"config file .*absent\.yaml not found"):
        main(["--config", str(tmp_path / "absent.yaml"), "--output_dir", str(tmp_path / "out")])
