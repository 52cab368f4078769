"""Train with medsins_sft.train as ``make train`` does, then load the final checkpoint and generate from it.

    python bench/train_and_load.py --config medsins_sft/configs/sample.yaml --output_dir /tmp/sft \\
        --use_cpu false --bf16 true --out train.jsonl

Every argument but --out goes to medsins_sft's own parser (the YAML config and its CLI overrides). Prints,
and appends to --out, one JSON object: the loss of the first and last logged steps (and the mean of the
first and last five), whether it fell, the trainer's median tokens/s and MFU, the wall time, and what the
reloaded checkpoint is (dtype, parameters, device) with the tokens it generated for a sample prompt.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench_sft_gpu import emit


class LossLog:
    """Trainer callback keeping every logged training step."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.rows.append(dict(logs))


def reload(final: Path, bf16: bool) -> dict[str, Any]:
    """Load ``final`` as a user would and greedily generate 8 tokens for a sample prompt."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if bf16 else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(final)
    model = AutoModelForCausalLM.from_pretrained(final, dtype=dtype).to(device)
    inputs = tokenizer("Input:\nWhat is the answer?\nOutput:\n", return_tensors="pt").to(device)
    out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    return {
        "reloaded_dtype": str(model.dtype).removeprefix("torch."),
        "reloaded_parameters": sum(p.numel() for p in model.parameters()),
        "reloaded_device": device,
        "generated": tokenizer.decode(out[0, inputs["input_ids"].shape[1] :]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    parser.add_argument("--out", type=Path, default=None)
    args, train_argv = parser.parse_known_args(argv)

    import torch
    from transformers import TrainerCallback

    from medsins_sft.train import parse_config, run

    config = parse_config(train_argv)
    log = LossLog()
    started = time.perf_counter()
    final = run(config, callbacks=[type("LossLogCallback", (TrainerCallback,), {"on_log": log.on_log})()])
    seconds = time.perf_counter() - started
    losses = [r["loss"] for r in log.rows]
    head, tail = statistics.fmean(losses[:5]), statistics.fmean(losses[-5:])

    def median(key: str) -> float | None:
        values = [r[key] for r in log.rows if key in r]
        return round(statistics.median(values), 4) if values else None

    row = {
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() and not config.use_cpu else "cpu",
        "bf16": bool(config.bf16),
        "activation_checkpointing": bool(config.activation_checkpointing),
        "logged_steps": len(losses),
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "first5_mean_loss": round(head, 4),
        "last5_mean_loss": round(tail, 4),
        "loss_fell": tail < head,
        "tokens_per_second_median": median("tokens_per_second"),
        "mfu_median": median("mfu"),
        "train_seconds": round(seconds, 1),
        "final": str(final),
        **reload(final, bool(config.bf16)),
    }
    emit(row, args.out)
    if not row["loss_fell"]:
        sys.exit("train_and_load: the loss did not fall")


if __name__ == "__main__":
    main()
