"""MFU of full-parameter SFT through medsins_sft's trainer on randomly initialised Llama-architecture models.

    # the matrix of BENCHMARKS.md section 5 (bench/gpu_bench.sh runs it): 1B and 3B shapes, 2k and 4k rows
    python bench/bench_sft_gpu.py --shapes llama-3.2-1b,llama-3.2-3b --max_lengths 2048,4096 \\
        --checkpointing on,off --out sft.jsonl
    # the three batch layouts of the recipe side by side
    python bench/bench_sft_gpu.py --shapes llama-3.2-1b --modes padding_free,packed,padded
    # the real depth of an 8B model, sharded over 8 GPUs
    accelerate launch --config_file medsins_sft/configs/fsdp.yaml bench/bench_sft_gpu.py --shapes llama-3-8b
    # CPU rehearsal of this script (tiny model, meaningless numbers)
    python bench/bench_sft_gpu.py --shapes tiny --max_lengths 128 --steps 3 --warmup 0 --peak_tflops 1

Every combination of --shapes x --max_lengths x --modes x --checkpointing is one run, in one process, on
the same kind of synthetic data (random tokens with a MedS-Ins-like length mix: lognormal around 500 tokens,
capped at the row length; the last quarter of each example is the completion). Modes:
  packed        packing: true, rows of max_length tokens (best-fit decreasing)
  padding_free  the default recipe: a fixed number of examples per micro-batch, concatenated, no padding
  padded        the paper's layout: each micro-batch padded to its longest example
A micro-batch holds --tokens_per_micro_batch token slots (max_length x rows; the example count for the
other modes), one optimizer step per micro-batch. The trainer is medsins_sft's: MedSInsSFTConfig, the
trainer arguments of medsins_sft.train and MeteredSFTTrainer, so bf16 autocast over fp32 master weights,
AdamW, and flash-attention varlen when flash_attn is installed (else SDPA). MFU is the trainer's own
estimate (medsins_sft/flops.py over the device's peak). Each run appends one JSON object to --out as soon as
it ends (a run that runs out of GPU memory is recorded as such and the next one starts).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

MODES = ("packed", "padding_free", "padded")

# Published architectures (config.json of each model); the weights are random.
SHAPES: dict[str, dict[str, Any]] = {
    "tiny": dict(
        vocab_size=2048, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, tie_word_embeddings=True,
    ),
    "llama-3.2-1b": dict(
        vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, head_dim=64, tie_word_embeddings=True,
    ),
    "llama-3.2-3b": dict(
        vocab_size=128256, hidden_size=3072, intermediate_size=8192, num_hidden_layers=28, num_attention_heads=24,
        num_key_value_heads=8, head_dim=128, tie_word_embeddings=True,
    ),
    "llama-3-8b": dict(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, head_dim=128, tie_word_embeddings=False,
    ),
}  # fmt: skip


def llama_config(shape: str, num_layers: int | None = None) -> Any:
    """The ``LlamaConfig`` of a named shape, optionally with another depth."""
    from transformers import LlamaConfig

    fields = dict(SHAPES[shape], rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=8192)
    if num_layers:
        fields["num_hidden_layers"] = num_layers
    return LlamaConfig(**fields)


def synthetic_dataset(n: int, max_length: int, vocab: int, seed: int = 0) -> Any:
    """``n`` pre-tokenized prompt-completion examples (ids from 1000 up, so none is a special token)."""
    from datasets import Dataset

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = max(16, min(max_length, int(rng.lognormvariate(6.2, 0.8))))
        ids = [rng.randrange(1000, vocab - 1) for _ in range(length)]
        prompt = length - max(1, length // 4)
        rows.append({"input_ids": ids, "completion_mask": [0] * prompt + [1] * (length - prompt)})
    return Dataset.from_list(rows)


def _tokenizer_stub() -> Any:
    """The data is pre-tokenized, so the tokenizer only supplies pad and EOS ids (distinct, below 1000)."""
    from meds_bench.tiny_model import train_tokenizer

    return train_tokenizer(["bench"], vocab_size=300)


class StepClock:
    """Trainer callback: the wall time between consecutive loss logs (one optimizer step each here)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.stamps.append(time.perf_counter())


def _callback(clock: StepClock) -> Any:
    from transformers import TrainerCallback

    return type("StepClockCallback", (TrainerCallback,), {"on_log": clock.on_log})()


def measure(run: dict[str, Any], args: argparse.Namespace, world: int) -> dict[str, Any]:
    """Train one configuration for ``args.steps`` optimizer steps; medians over the steps after the warm-up."""
    import torch
    from transformers import LlamaForCausalLM

    from medsins_sft.config import MedSInsSFTConfig
    from medsins_sft.model import choose_attention
    from medsins_sft.throughput import MeteredSFTTrainer
    from medsins_sft.train import trainer_args

    on_gpu = torch.cuda.is_available()
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    attn = choose_attention(args.attn_implementation, on_gpu)
    max_length, mode = run["max_length"], run["mode"]
    rows = max(1, args.tokens_per_micro_batch // max_length)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        config = MedSInsSFTConfig(
            output_dir=tmp,
            model_name_or_path=f"random-{run['shape']}",
            max_steps=args.steps,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            per_device_train_batch_size=rows,
            max_length=max_length,
            packing=mode == "packed",
            padding_free=mode != "padded",
            global_batch_size=rows * world,
            tokens_per_step=max_length * rows * world,
            completion_only_loss=True,
            warmup_steps=0,
            use_cpu=not on_gpu,
            activation_checkpointing=run["checkpointing"],
            peak_tflops=args.peak_tflops,
            decontaminate=False,
            torch_compile=args.torch_compile,
        )
        tokenizer = _tokenizer_stub()
        model_config = llama_config(run["shape"], args.num_layers)
        model_config.pad_token_id, model_config.eos_token_id = tokenizer.pad_token_id, tokenizer.eos_token_id
        torch.manual_seed(0)
        with torch.device("cuda" if on_gpu else "cpu"):  # initialised in place: no host copy of the weights
            model = LlamaForCausalLM._from_config(model_config, attn_implementation=attn, dtype=torch.float32)
        n_params = sum(p.numel() for p in model.parameters())
        examples = args.steps * config.gradient_accumulation_steps * world * max(rows, -(-rows * max_length // 300))
        data = synthetic_dataset(examples, max_length, model_config.vocab_size)
        clock = StepClock()
        trainer = MeteredSFTTrainer(
            model=model,
            args=trainer_args(config),
            train_dataset=data,
            processing_class=tokenizer,
            peak_tflops=args.peak_tflops,
            callbacks=[_callback(clock)],
        )
        trainer.train()
        checkpointing_active = trainer.model.is_activation_checkpointing  # switched on by train()
        logs = [e for e in trainer.state.log_history if "loss" in e]
        batch = config.batch_summary()

    measured = logs[args.warmup :]
    step_times = [b - a for a, b in itertools.pairwise(clock.stamps)][max(0, args.warmup - 1) :]

    def median(key: str) -> float | None:
        values = [e[key] for e in measured if key in e]
        return round(statistics.median(values), 4) if values else None

    return {
        **run,
        "status": "ok",
        "device": torch.cuda.get_device_name() if on_gpu else "cpu",
        "world_size": world,
        "parameters": n_params,
        "num_layers": model_config.num_hidden_layers,
        "rows_per_micro_batch": rows,
        "checkpointing_active": checkpointing_active,
        "attn_implementation": attn,
        "torch_compile": args.torch_compile,
        "batch": batch,
        "mfu_median": median("mfu"),
        "tokens_per_second_median": median("tokens_per_second"),
        "step_seconds_median": round(statistics.median(step_times), 4) if step_times else None,
        "padding_share_median": median("padding_share"),
        **_peak_memory(),
        "first_loss": logs[0]["loss"] if logs else None,
        "last_loss": logs[-1]["loss"] if logs else None,
        "measured_steps": len(measured),
        "run_seconds": round(time.perf_counter() - started, 1),
    }


def emit(row: dict[str, Any], out: Path | None) -> None:
    """Print ``row`` as one JSON line and append it to the JSON lines file ``out`` when given."""
    print(json.dumps(row), flush=True)
    if out:
        with out.open("a") as f:
            f.write(json.dumps(row) + "\n")


def _peak_memory() -> dict[str, float | None]:
    """Peak GPU memory since the run began (allocated by tensors, reserved by the caching allocator), GiB."""
    import torch

    if not torch.cuda.is_available():
        return {"peak_memory_gib": None, "peak_reserved_gib": None}
    return {
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1),
        "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 1),
    }


def _choices(text: str, allowed: tuple[str, ...] | list[str], flag: str) -> list[str]:
    values = [v for v in text.split(",") if v]
    unknown = sorted(set(values) - set(allowed))
    if unknown or not values:
        raise SystemExit(f"bench_sft_gpu: {flag}: unknown {unknown or 'empty list'}; choose from {list(allowed)}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="llama-3.2-1b", help=f"comma-separated, of {', '.join(SHAPES)}")
    parser.add_argument("--num_layers", type=int, default=None, help="another depth for every shape")
    parser.add_argument("--max_lengths", default="2048", help="comma-separated row lengths")
    parser.add_argument("--modes", default="packed", help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--checkpointing", default="on", help="activation checkpointing: on, off or on,off")
    parser.add_argument("--tokens_per_micro_batch", type=int, default=8192)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5, help="steps left out of the medians")
    parser.add_argument("--attn_implementation", default=None, help="default: flash_attention_2 when installed")
    parser.add_argument("--torch_compile", action="store_true", help="the trainer's torch_compile")
    parser.add_argument("--peak_tflops", type=float, default=None, help="default: detected for known GPUs")
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file each run is appended to")
    args = parser.parse_args()

    import torch

    from medsins_sft.distributed import launcher_world_size

    shapes = _choices(args.shapes, list(SHAPES), "--shapes")
    modes = _choices(args.modes, MODES, "--modes")
    checkpointing = [c == "on" for c in _choices(args.checkpointing, ("on", "off"), "--checkpointing")]
    lengths = [int(v) for v in args.max_lengths.split(",") if v]
    if not torch.cuda.is_available() and (set(shapes) != {"tiny"} or not args.peak_tflops):
        raise SystemExit("bench_sft_gpu: without a GPU only --shapes tiny with --peak_tflops runs (a rehearsal)")
    main_process = int(os.environ.get("RANK", "0")) == 0
    for shape, length, mode, ckpt in itertools.product(shapes, lengths, modes, checkpointing):
        run = {"shape": shape, "max_length": length, "mode": mode, "checkpointing": ckpt}
        try:
            result = measure(run, args, launcher_world_size())
        except torch.OutOfMemoryError as err:  # recorded; the next run starts on a freed device
            result = {**run, "status": "out_of_memory", "error": str(err).splitlines()[0], **_peak_memory()}
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if main_process:
            emit(result, args.out)


if __name__ == "__main__":
    main()
