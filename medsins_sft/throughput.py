"""Throughput logging: tokens/s, padding share, estimated MFU and ETA, added to every training log line.

They reach the console, ``trainer_state.json`` and TensorBoard like the loss does, because the trainer's
own ``log`` adds them (a callback's ``on_log`` runs after the log history was written). Counts are summed
over processes at each log step.

MFU counts useful FLOPs only (:mod:`medsins_sft.flops`: ``6 N + 12 L H Q T`` per real token, T the length
of the token's example), over the peak bf16 FLOP/s of all devices; recomputation under activation
checkpointing and padding do not count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from trl import SFTTrainer

from medsins_sft.flops import flops_per_token, mfu

# Dense bf16 peak TFLOP/s of one device (vendor data sheets, SXM parts).
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 70.0}


def detect_peak_tflops() -> float | None:
    """Peak bf16 TFLOP/s of the current CUDA device when it is a known part, else None."""
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def batch_shape_stats(inputs: dict[str, Any], pad_token_id: int) -> tuple[int, int, float]:
    """(token slots, real tokens, sum of squared example lengths) of one collated batch.

    Padding-free (packed) batches carry ``position_ids`` restarting at 0 for each example; padded batches
    carry an ``attention_mask`` with one row per example.
    """
    input_ids = inputs["input_ids"]
    real_mask = input_ids != pad_token_id
    if "position_ids" in inputs and "attention_mask" not in inputs:
        starts = (inputs["position_ids"] == 0) & real_mask
        example_of = starts.flatten().cumsum(0)[real_mask.flatten()]
        lengths = torch.bincount(example_of)
    else:
        lengths = inputs.get("attention_mask", real_mask).sum(-1)
    return input_ids.numel(), int(real_mask.sum()), float((lengths.double() ** 2).sum())


@dataclass
class ThroughputMeter:
    """Accumulates batch statistics between two log steps."""

    n_params: int  # parameters doing matrix multiplications: all but the input embedding
    num_layers: int
    num_heads: int
    head_dim: int
    peak_flops: float | None  # all devices together, FLOP/s
    slots: int = 0
    real: int = 0
    len_sq: float = 0.0
    window_start: float | None = None
    train_start: float | None = None
    first_step: int = 0

    @classmethod
    def for_model(cls, model: torch.nn.Module, peak_tflops: float | None, world_size: int) -> ThroughputMeter:
        config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        n_params = sum(p.numel() for p in model.parameters())
        embed = model.get_input_embeddings()
        tied = getattr(config, "tie_word_embeddings", False)
        if embed is not None and not tied:
            n_params -= embed.weight.numel()
        heads = config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        peak = peak_tflops * 1e12 * world_size if peak_tflops else None
        return cls(n_params, config.num_hidden_layers, heads, head_dim, peak)

    def add(self, inputs: dict[str, Any], pad_token_id: int, global_step: int) -> None:
        now = time.perf_counter()
        if self.train_start is None:
            self.train_start, self.first_step = now, global_step
        if self.window_start is None:
            self.window_start = now
        slots, real, len_sq = batch_shape_stats(inputs, pad_token_id)
        self.slots += slots
        self.real += real
        self.len_sq += len_sq

    def report(self, totals: list[float], global_step: int, max_steps: int) -> dict[str, float]:
        """Metrics from summed ``[slots, real, len_sq]`` of all processes; resets the window."""
        slots, real, len_sq = totals
        now = time.perf_counter()
        elapsed = now - self.window_start if self.window_start is not None else 0.0
        out: dict[str, float] = {}
        if elapsed > 0 and slots > 0:
            out["tokens_per_second"] = round(real / elapsed, 2)
            out["padding_share"] = round(1.0 - real / slots, 4)
            if self.peak_flops and real > 0:
                context = len_sq / real  # mean over tokens of their example's length
                per_token = flops_per_token(self.n_params, self.num_layers, self.num_heads, self.head_dim, context)
                out["mfu"] = round(mfu(real, elapsed, per_token, self.peak_flops), 4)
        steps_done = global_step - self.first_step
        if self.train_start is not None and steps_done > 0:
            out["eta_seconds"] = round((now - self.train_start) / steps_done * max(0, max_steps - global_step), 1)
        self.slots, self.real, self.len_sq, self.window_start = 0, 0, 0.0, None
        return out


class MeteredSFTTrainer(SFTTrainer):
    """TRL's ``SFTTrainer`` that measures every batch and logs throughput next to the loss."""

    def __init__(self, *args: Any, peak_tflops: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        peak = peak_tflops if peak_tflops is not None else detect_peak_tflops()
        self.meter = ThroughputMeter.for_model(self.model, peak, self.args.world_size)

    def training_step(self, model: torch.nn.Module, inputs: dict[str, Any], num_items_in_batch: Any = None):
        self.meter.add(inputs, self.processing_class.pad_token_id, self.state.global_step)
        return super().training_step(model, inputs, num_items_in_batch)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self.model.training:
            local = torch.tensor([self.meter.slots, self.meter.real, self.meter.len_sq], dtype=torch.float64)
            totals = self.accelerator.reduce(local.to(self.accelerator.device), reduction="sum").tolist()
            logs.update(self.meter.report(totals, self.state.global_step, self.state.max_steps))
        super().log(logs, start_time)
