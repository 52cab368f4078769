"""MFU of medsins_sft on a randomly initialised Llama-3-8B-architecture model: padding-free vs packed vs padded.

    # one GPU: keep the 8B width, cut the depth so weights, Adam states and activations fit
    python bench/bench_sft_gpu.py --num_layers 8 --steps 30
    # the real depth, sharded over 8 GPUs
    accelerate launch --config_file medsins_sft/configs/fsdp.yaml bench/bench_sft_gpu.py --num_layers 32 --steps 30
    # CPU smoke test of this script only (tiny model, meaningless numbers)
    python bench/bench_sft_gpu.py --smoke

Modes, each on the same synthetic data (random tokens with a MedS-Ins-like length mix: lognormal around 500
tokens, capped at max_length, the last quarter of each example is the completion):
  padding_free  the default recipe: a fixed number of examples per step, each micro-batch one row, no padding
  packed        packing: true, rows of max_length tokens (best-fit decreasing), tokens_per_step
  padded        the paper's layout: each micro-batch padded to its longest example
The trainer runs as in medsins_sft.train: bf16, activation checkpointing (or FSDP's under the FSDP config),
flash-attention varlen when flash_attn is installed, else SDPA. MFU is the trainer's own estimate (see
medsins_sft/flops.py); the medians over the logged steps after --warmup are printed as JSON, one object per mode.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile

MODES = ("padding_free", "packed", "padded")


def llama3_8b_config(num_layers: int, smoke: bool):
    """Llama-3-8B's architecture with ``num_layers`` layers (or a tiny one for the smoke test)."""
    from transformers import LlamaConfig

    if smoke:
        return LlamaConfig(
            vocab_size=2048,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
        )
    return LlamaConfig(
        vocab_size=128256,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=num_layers,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        rope_theta=500000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
    )


def synthetic_dataset(n: int, max_length: int, vocab: int, seed: int = 0):
    from datasets import Dataset

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = max(16, min(max_length, int(rng.lognormvariate(6.2, 0.8))))
        ids = [rng.randrange(1000, vocab - 1) for _ in range(length)]
        prompt = length - max(1, length // 4)
        rows.append({"input_ids": ids, "completion_mask": [0] * prompt + [1] * (length - prompt)})
    return Dataset.from_list(rows)


def _tokenizer_stub():
    """The data is pre-tokenized, so the tokenizer only supplies pad and EOS ids (distinct, below 1000)."""
    from meds_bench.tiny_model import train_tokenizer

    return train_tokenizer(["bench"], vocab_size=300)


def measure(mode: str, args: argparse.Namespace, world: int) -> dict:
    import torch
    from transformers import LlamaForCausalLM

    from medsins_sft.callbacks import MeteredSFTTrainer
    from medsins_sft.config import MedSInsSFTConfig
    from medsins_sft.model import choose_attention
    from medsins_sft.train import trainer_args

    on_gpu = torch.cuda.is_available()
    attn = choose_attention(args.attn_implementation, on_gpu)
    per_device = args.per_device_train_batch_size
    with tempfile.TemporaryDirectory() as tmp:
        config = MedSInsSFTConfig(
            output_dir=tmp,
            model_name_or_path="random-llama3-8b",
            max_steps=args.steps,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            per_device_train_batch_size=per_device,
            max_length=args.max_length,
            packing=mode == "packed",
            padding_free=mode != "padded",
            global_batch_size=per_device * world,
            tokens_per_step=args.max_length * per_device * world,
            completion_only_loss=True,
            warmup_steps=0,
            use_cpu=not on_gpu,
            peak_tflops=args.peak_tflops,
            decontaminate=False,
        )
        tokenizer = _tokenizer_stub()
        model_config = llama3_8b_config(args.num_layers, args.smoke)
        model_config.pad_token_id, model_config.eos_token_id = tokenizer.pad_token_id, tokenizer.eos_token_id
        torch.manual_seed(0)
        model = LlamaForCausalLM._from_config(model_config, attn_implementation=attn, dtype=torch.float32)
        n = args.steps * config.gradient_accumulation_steps * per_device * world * 8
        data = synthetic_dataset(n, args.max_length, model.config.vocab_size)
        trainer = MeteredSFTTrainer(
            model=model,
            args=trainer_args(config),
            train_dataset=data,
            processing_class=tokenizer,
            peak_tflops=args.peak_tflops,
        )
        trainer.train()
        rows = [e for e in trainer.state.log_history if "tokens_per_second" in e][args.warmup :]

    def median(key: str) -> float | None:
        values = [e[key] for e in rows if key in e]
        return statistics.median(values) if values else None

    return {
        "mode": mode,
        "device": torch.cuda.get_device_name() if on_gpu else "cpu",
        "world_size": world,
        "num_layers": model_config.num_hidden_layers,
        "attn_implementation": attn,
        "batch": config.batch_summary(),
        "mfu_median": median("mfu"),
        "tokens_per_second_median": median("tokens_per_second"),
        "padding_share_median": median("padding_share"),
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1) if on_gpu else None,
        "measured_steps": len(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_layers", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--max_length", type=int, default=2048)
    parser.add_argument("--per_device_train_batch_size", type=int, default=4)
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {', '.join(MODES)}")
    parser.add_argument("--attn_implementation", default=None, help="default: flash_attention_2 when installed")
    parser.add_argument("--peak_tflops", type=float, default=None, help="default: detected for known GPUs")
    parser.add_argument("--smoke", action="store_true", help="tiny model on CPU: checks the script, not the GPU")
    args = parser.parse_args()

    import torch

    from medsins_sft.config import world_size

    if args.smoke:
        args.steps, args.warmup, args.max_length, args.per_device_train_batch_size = 3, 0, 128, 2
        args.peak_tflops = args.peak_tflops or 1.0  # any figure: the smoke test only checks that MFU is logged
    elif not torch.cuda.is_available():
        raise SystemExit("bench_sft_gpu: this benchmark needs a GPU; use --smoke to check the script on CPU")
    modes = [m for m in args.modes.split(",") if m]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise SystemExit(f"bench_sft_gpu: unknown mode(s) {unknown}; choose from {list(MODES)}")
    results = [measure(mode, args, world_size()) for mode in modes]
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
