"""Training metadata written next to every checkpoint and the final model (``training_metadata.json``).

It records what the weights were trained on and how: base model, data, batch semantics, prompt layout
(``chat_format``), attention kernel, pad token and decontamination, including an explicit
``decontaminate: false`` opt-out, so that a checkpoint trained without decontamination can always be
recognised as such.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from medsins_sft.config import MedSInsSFTConfig

METADATA_FILE = "training_metadata.json"


def training_metadata(
    config: MedSInsSFTConfig, report: dict[str, Any] | None, attn_implementation: str, pad_token: str
) -> dict[str, Any]:
    """The metadata of this run; ``report`` is the decontamination report (None when opted out)."""
    if report is None:
        decontamination: dict[str, Any] = {"enabled": False, "opt_out": "decontaminate: false"}
    else:
        decontamination = {
            "enabled": True,
            "bench_data_dir": config.bench_data_dir,
            "ngram": report["ngram"],
            "threshold": report["threshold"],
            "bench_tasks_indexed": report["bench_tasks_indexed"],
            "bench_tasks_skipped": sorted(report["bench_tasks_skipped"]),
            "instances_checked": report["instances_checked"],
            "instances_dropped": report["instances_dropped"],
        }
    return {
        "base_model": config.model_name_or_path,
        "data": config.data_dir if config.data_dir is not None else f"{config.hub_repo}@{config.hub_revision}",
        "tasks": config.tasks,
        "batch": config.batch_summary(),
        "packing": config.packing,
        "padding_free": config.padding_free,
        "global_batch_size": None if config.packing else config.global_batch_size,
        "tokens_per_step": config.tokens_per_step if config.packing else None,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "max_length": config.max_length,
        "chat_format": config.chat_format,  # True: score with --apply_chat_template
        "learning_rate": config.learning_rate,
        "num_train_epochs": config.num_train_epochs,
        "use_lora": config.use_lora,
        "attn_implementation": attn_implementation,
        "pad_token": pad_token,
        "decontamination": decontamination,
    }


def write_metadata(directory: str | Path, metadata: dict[str, Any]) -> Path:
    path = Path(directory) / METADATA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metadata, indent=1))
    return path


class MetadataCallback(TrainerCallback):
    """Writes the metadata into each ``checkpoint-<step>`` directory (main process only)."""

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.metadata = metadata

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            write_metadata(Path(args.output_dir) / f"checkpoint-{state.global_step}", self.metadata)
