"""medsins_sft at scale, the CPU-testable parts (issue 12): batch semantics, pad token, attention choice, MFU
formula, FSDP final save, decontamination opt-out metadata, LoRA merge."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from sft_args import SAMPLE_YAML, sample_args

pytest.importorskip("trl")

import medsins_sft.config as config_module  # noqa: E402
from medsins_sft.config import MedSInsSFTConfig  # noqa: E402
from medsins_sft.flops import flops_per_token, mfu  # noqa: E402
from medsins_sft.model import choose_attention, choose_pad_token, load_model_and_tokenizer  # noqa: E402
from medsins_sft.train import parse_config, run, use_full_state_dict  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# -- batch semantics ---------------------------------------------------------------------------------------
def test_default_is_128_examples_per_step_whatever_the_world_size(tmp_path, monkeypatch):
    one = MedSInsSFTConfig(output_dir=str(tmp_path), use_cpu=True)
    assert (one.packing, one.padding_free, one.global_batch_size) == (False, True, 128)
    assert one.gradient_accumulation_steps == 32  # 4 per device x 1 process x 32
    assert one.batch_summary() == (
        "optimizer step = 128 examples (4 per device x 1 processes x 32 accumulation steps; padding-free rows)"
    )
    monkeypatch.setattr(config_module, "launcher_world_size", lambda: 8)
    eight = MedSInsSFTConfig(output_dir=str(tmp_path), use_cpu=True)
    assert eight.gradient_accumulation_steps == 4  # 4 x 8 x 4 = 128
    padded = MedSInsSFTConfig(output_dir=str(tmp_path), use_cpu=True, padding_free=False, tokens_per_step=4096)
    assert padded.batch_summary() == (
        "optimizer step = 128 examples (4 per device x 8 processes x 4 accumulation steps; padded batches); "
        "tokens_per_step is not used without packing"
    )


def test_packing_counts_token_slots_and_requires_tokens_per_step(tmp_path, monkeypatch):
    monkeypatch.setattr(config_module, "launcher_world_size", lambda: 8)
    packed = MedSInsSFTConfig(output_dir=str(tmp_path), use_cpu=True, packing=True, tokens_per_step=262144)
    assert packed.gradient_accumulation_steps == 4  # 262144 / (2048 x 4 per device x 8 processes)
    assert packed.batch_summary() == (
        "optimizer step = 262144 token slots (128 packed rows of 2048 tokens: 4 per device x 8 processes x 4 "
        "accumulation steps); examples per step vary; global_batch_size is not used with packing"
    )
    with pytest.raises(ValueError, match=r"^packing: true needs tokens_per_step \(token slots per optimizer step"):
        MedSInsSFTConfig(output_dir=str(tmp_path), use_cpu=True, packing=True)
    with pytest.raises(ValueError, match=r"^tokens_per_step 100000 is not a multiple of max_length 2048 x"):
        MedSInsSFTConfig(output_dir=str(tmp_path), use_cpu=True, packing=True, tokens_per_step=100000)


def test_fsdp_activation_checkpointing_replaces_the_trainer_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("FSDP_ACTIVATION_CHECKPOINTING", "true")
    cfg = MedSInsSFTConfig(output_dir=str(tmp_path), use_cpu=True)
    assert cfg.activation_checkpointing is False
    with pytest.raises(ValueError, match="^activation_checkpointing: true repeats FSDP's own"):
        MedSInsSFTConfig(output_dir=str(tmp_path), use_cpu=True, activation_checkpointing=True)


def test_sample_and_paper_configs_parse(tmp_path):
    sample = parse_config(["--config", str(SAMPLE_YAML), "--output_dir", str(tmp_path)])
    assert (sample.packing, sample.tokens_per_step, sample.gradient_accumulation_steps) == (True, 2048, 1)
    paper = parse_config(
        ["--config", str(ROOT / "medsins_sft/configs/paper.yaml"), "--output_dir", str(tmp_path), "--use_cpu", "true"]
    )
    assert (paper.packing, paper.padding_free, paper.global_batch_size) == (False, True, 128)
    assert (paper.learning_rate, paper.num_train_epochs, paper.max_length, paper.warmup_steps) == (1e-5, 5, 2048, 0.03)


# -- pad token and attention -------------------------------------------------------------------------------
def _tokenizer(extra_special: list[str], pad: str | None = None):
    """A tiny byte-level BPE tokenizer with BOS/EOS/UNK, the given extra special tokens and no pad token
    unless ``pad`` is given."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "</s>", "<unk>", *extra_special, *([pad] if pad else [])]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(["alpha beta gamma"], trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    if pad:
        fast.pad_token = pad
    return fast


def test_pad_token_reuses_a_reserved_token_and_adds_one_only_when_none_exists():
    llama30 = _tokenizer(["<|reserved_special_token_3|>", "<|reserved_special_token_0|>"])
    assert choose_pad_token(llama30) == ("<|reserved_special_token_0|>", False)
    llama31 = _tokenizer(["<|reserved_special_token_0|>", "<|finetune_right_pad_id|>"])
    assert choose_pad_token(llama31) == ("<|finetune_right_pad_id|>", False)
    assert choose_pad_token(_tokenizer([])) == ("<pad>", True)
    same_as_eos = _tokenizer([])
    same_as_eos.pad_token = same_as_eos.eos_token
    assert choose_pad_token(same_as_eos) == ("<pad>", True)
    assert choose_pad_token(_tokenizer([], pad="<mypad>")) == ("<mypad>", False)


def _save_model_with(tmp_path: Path, name: str, extra_special: list[str]) -> tuple[Path, int]:
    """A tiny random Llama saved with a pad-less tokenizer; returns its directory and vocabulary size."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = _tokenizer(extra_special)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    out = tmp_path / name
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out, len(tok)


def test_loading_keeps_the_vocabulary_when_a_reserved_token_exists(tmp_path):
    reserved, size = _save_model_with(tmp_path, "reserved", ["<|reserved_special_token_0|>"])
    model, tok = load_model_and_tokenizer(str(reserved), "sdpa")
    assert tok.pad_token == "<|reserved_special_token_0|>"
    assert len(tok) == size == model.get_input_embeddings().num_embeddings  # nothing added, nothing resized
    assert model.config.pad_token_id == tok.pad_token_id != tok.eos_token_id

    plain, size = _save_model_with(tmp_path, "plain", [])
    model, tok = load_model_and_tokenizer(str(plain), "sdpa")
    assert tok.pad_token == "<pad>"
    assert len(tok) == size + 1 == model.get_input_embeddings().num_embeddings  # added and resized
    assert model.config.pad_token_id == tok.pad_token_id == size


def test_attention_is_flash_on_gpus_that_have_it_else_sdpa(monkeypatch):
    import transformers.utils

    monkeypatch.setattr(transformers.utils, "is_flash_attn_2_available", lambda: True)
    assert choose_attention(None, on_gpu=True) == "flash_attention_2"
    assert choose_attention(None, on_gpu=False) == "sdpa"
    assert choose_attention("eager", on_gpu=True) == "eager"
    monkeypatch.setattr(transformers.utils, "is_flash_attn_2_available", lambda: False)
    assert choose_attention(None, on_gpu=True) == "sdpa"


# -- MFU ---------------------------------------------------------------------------------------------------
def test_flops_per_token_and_mfu_match_hand_computed_figures():
    # toy: 6 x 1000 + 12 x 2 layers x 4 heads x 8 head dim x 16 context = 6000 + 12288
    assert flops_per_token(1000, 2, 4, 8, 16) == 18288
    # Llama-3-8B: 8,030,261,248 parameters minus the 128256 x 4096 input embedding = 7,504,924,672;
    # 6 N = 45,029,548,032; attention 12 x 32 x 32 x 128 x 2048 = 3,221,225,472; total 48,250,773,504
    assert flops_per_token(7_504_924_672, 32, 32, 128, 2048) == 48_250_773_504
    # 8 H100s (989 TFLOP/s each) training 80,000 tokens/s: 80,000 x 48.25e9 / 7.912e15 = 0.48787...
    assert mfu(80_000, 1.0, 48_250_773_504, 8 * 989e12) == pytest.approx(0.487874, abs=1e-6)
    with pytest.raises(ValueError):
        mfu(1, 0.0, 1.0, 1.0)


def test_meter_reports_the_formula_for_packed_examples(monkeypatch):
    import medsins_sft.throughput as throughput

    # two examples of 3 and 5 tokens in one packed row and 2 pad slots: 8 real tokens, sum of squares 34
    batch = {
        "input_ids": torch.tensor([[5, 6, 7, 5, 6, 7, 8, 9, 0, 0]]),
        "position_ids": torch.tensor([[0, 1, 2, 0, 1, 2, 3, 4, 0, 1]]),
    }
    assert throughput.batch_shape_stats(batch, pad_token_id=0) == (10, 8, 34.0)
    meter = throughput.ThroughputMeter(n_params=1000, num_layers=2, num_heads=4, head_dim=8, peak_flops=1e6)
    meter.window_start = 0.0
    monkeypatch.setattr(throughput.time, "perf_counter", lambda: 2.0)  # a fixed clock: 2 s since the window start
    # FLOPs: 6 x 1000 x 8 tokens + 12 x 2 x 4 x 8 x 34 = 48000 + 26112 = 74112; / 2 s / 1e6 FLOP/s = 0.037056
    assert meter.report([10, 8, 34.0], global_step=0, max_steps=1) == {
        "tokens_per_second": 4.0,
        "padding_share": 0.2,
        "mfu": 0.0371,
    }


# -- FSDP final save ---------------------------------------------------------------------------------------
def test_final_save_switches_sharded_fsdp_checkpoints_to_a_full_state_dict():
    from accelerate.utils import FullyShardedDataParallelPlugin
    from torch.distributed.fsdp import FullStateDictConfig, StateDictType

    plugin = FullyShardedDataParallelPlugin(state_dict_type="SHARDED_STATE_DICT", fsdp_version=2)
    use_full_state_dict(SimpleNamespace(state=SimpleNamespace(fsdp_plugin=plugin)))
    assert plugin.state_dict_type == StateDictType.FULL_STATE_DICT
    assert isinstance(plugin.state_dict_config, FullStateDictConfig)
    assert plugin.state_dict_config.rank0_only and plugin.state_dict_config.offload_to_cpu
    use_full_state_dict(SimpleNamespace(state=SimpleNamespace(fsdp_plugin=None)))  # no FSDP: nothing to do


# -- short training runs -----------------------------------------------------------------------------------
def _short(out: Path, model: Path | str, *extra: str):
    return parse_config(
        sample_args(out, model, "--tasks", "task29", "--max_length", "256", "--tokens_per_step", "1024", *extra)
    )


def test_decontamination_opt_out_is_recorded_in_checkpoint_and_final_metadata(tmp_path, tiny_model_dir):
    out = tmp_path / "run"
    final = run(_short(out, tiny_model_dir, "--decontaminate", "false", "--max_steps", "1", "--save_steps", "1"))
    for directory in (final, out / "checkpoint-1"):
        meta = json.loads((directory / "training_metadata.json").read_text())
        assert meta["decontamination"] == {"enabled": False, "opt_out": "decontaminate: false"}
        assert meta["batch"].startswith("optimizer step = 1024 token slots")
        assert meta["attn_implementation"] == "sdpa"
    assert not (out / "decontamination.json").exists()


@pytest.mark.slow
def test_lora_is_merged_from_the_saved_adapter_on_the_main_process(tmp_path, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out = tmp_path / "lora"
    extra = ("--use_lora", "true", "--decontaminate", "false", "--max_steps", "3", "--save_steps", "3")
    final = run(_short(out, tiny_model_dir, *extra, "--learning_rate", "0.05"))
    merged = AutoModelForCausalLM.from_pretrained(final)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), out / "adapter")
    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    with torch.no_grad():
        merged_logits = merged(ids).logits
        torch.testing.assert_close(merged_logits, adapted(ids).logits, atol=1e-4, rtol=1e-4)
        assert not torch.allclose(merged_logits, base(ids).logits, atol=1e-4)  # the adapter did learn something
    assert not any("lora" in k for k in merged.state_dict())
