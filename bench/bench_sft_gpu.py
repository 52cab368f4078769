"""MFU of the default recipe on a randomly initialised Llama-3-8B-architecture model (GPU only).

    # one GPU (80 GB): full-parameter 8B does not fit with Adam states, so keep the width, cut the depth
    python bench/bench_sft_gpu.py --num_layers 8 --steps 20
    # the real depth, sharded over 8 GPUs
    accelerate launch --config_file medsins_sft/configs/fsdp.yaml bench/bench_sft_gpu.py --steps 20

The recipe is paper.yaml's: max length 2048, packing (padding-free, flash attention when installed), bf16,
activation checkpointing, lr 1e-5. Examples are random tokens with a MedS-Ins-like length mix (a lognormal
around 500 tokens, capped at 2048; the last quarter of each is the completion), so no download is needed.
MFU is the trainer's own estimate (see medsins_sft/callbacks.py); the median over the logged steps after
warm-up is printed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def llama3_8b_config(num_layers: int):
    from transformers import LlamaConfig

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
        bos_token_id=128000,
        eos_token_id=128001,
        pad_token_id=128004,
    )


def synthetic_dataset(n: int, max_length: int, vocab: int, seed: int = 0):
    from datasets import Dataset

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = max(16, min(max_length, int(rng.lognormvariate(6.2, 0.8))))
        ids = [rng.randrange(1000, vocab - 1000) for _ in range(length)]
        prompt = length - max(1, length // 4)
        rows.append({"input_ids": ids, "completion_mask": [0] * prompt + [1] * (length - prompt)})
    return Dataset.from_list(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_layers", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--per_device_train_batch_size", type=int, default=4)
    parser.add_argument("--global_batch_size", type=int, default=None, help="default: one micro-batch per device")
    parser.add_argument("--attn_implementation", default=None, help="default: flash_attention_2 when installed")
    args = parser.parse_args()

    import torch
    from transformers import LlamaForCausalLM
    from transformers.utils import is_flash_attn_2_available

    from medsins_sft.callbacks import MeteredSFTTrainer
    from medsins_sft.config import MedSInsSFTConfig

    assert torch.cuda.is_available(), "this benchmark needs a GPU; see bench/bench_sft.py for CPU"
    attn = args.attn_implementation or ("flash_attention_2" if is_flash_attn_2_available() else "sdpa")
    world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
    with tempfile.TemporaryDirectory() as tmp:
        config = MedSInsSFTConfig(
            output_dir=tmp,
            model_name_or_path="random-llama3-8b",
            max_steps=args.steps,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            per_device_train_batch_size=args.per_device_train_batch_size,
            global_batch_size=args.global_batch_size or args.per_device_train_batch_size * world,
            completion_only_loss=True,
            warmup_steps=0,
        )
        tokenizer = _tokenizer_stub()
        model_config = llama3_8b_config(args.num_layers)
        model_config.pad_token_id, model_config.eos_token_id = tokenizer.pad_token_id, tokenizer.eos_token_id
        torch.manual_seed(0)
        model = LlamaForCausalLM._from_config(model_config, attn_implementation=attn, dtype=torch.float32)
        data = synthetic_dataset(
            args.steps * config.per_device_train_batch_size * world * 8, 2048, model.config.vocab_size
        )
        trainer = MeteredSFTTrainer(model=model, args=config, train_dataset=data, processing_class=tokenizer)
        trainer.train()
        rows = [e for e in trainer.state.log_history if "mfu" in e][args.warmup :]
    if trainer.accelerator.is_main_process:
        summary = {
            "gpu": torch.cuda.get_device_name(),
            "world_size": world,
            "num_layers": args.num_layers,
            "attn_implementation": attn,
            "mfu_median": statistics.median(e["mfu"] for e in rows) if rows else None,
            "tokens_per_second_median": statistics.median(e["tokens_per_second"] for e in rows) if rows else None,
            "padding_share_median": statistics.median(e["padding_share"] for e in rows) if rows else None,
            "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
        }
        print(json.dumps(summary, indent=1))


def _tokenizer_stub():
    """The data is pre-tokenized, so the tokenizer only supplies pad and EOS ids (distinct, below 1000)."""
    from meds_bench.tiny_model import train_tokenizer

    return train_tokenizer(["bench"], vocab_size=300)


if __name__ == "__main__":
    main()
