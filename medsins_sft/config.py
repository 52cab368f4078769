"""The whole training interface: one dataclass, filled from a YAML file (``--config``) and CLI flags.

``MedSInsSFTConfig`` extends TRL's ``SFTConfig`` (so every ``SFTConfig``/``TrainingArguments`` option,
e.g. ``--save_steps`` or ``--report_to``, works as well) with the MedS-Ins fields below, and sets the
paper's recipe as defaults: max length 2048, global batch 128, learning rate 1e-5, 5 epochs.

    python -m medsins_sft.train --config medsins_sft/configs/paper.yaml --learning_rate 2e-5

CLI flags override the YAML file, which overrides these defaults.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from trl import SFTConfig

TINY_MODEL = "tiny"  # sentinel for model_name_or_path: build meds_bench's tiny random Llama first


def _json_field(value: Any, name: str) -> Any:
    """Dict-valued fields arrive as JSON strings from the command line and as dicts from YAML."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"{name}: expected a JSON object, got {value!r}") from err
    return value


@dataclass
class MedSInsSFTConfig(SFTConfig):
    """Full-parameter SFT on MedS-Ins; the defaults are the paper's recipe."""

    # --- model -------------------------------------------------------------------------------
    model_name_or_path: str = field(
        default="Henrychur/MMed-Llama-3-8B",
        metadata={
            "help": "Base model (hub id or local directory). The paper fine-tunes MMed-Llama 3 (8B). "
            f"'{TINY_MODEL}' builds meds_bench's tiny random Llama into <output_dir>/base first (tests, sample)."
        },
    )
    tiny_hidden_size: int = field(default=64, metadata={"help": "Hidden size of the tiny model (model 'tiny' only)."})
    tiny_num_layers: int = field(default=2, metadata={"help": "Decoder layers of the tiny model (model 'tiny' only)."})
    attn_implementation: str | None = field(
        default=None,
        metadata={
            "help": "Attention kernel passed to from_pretrained: None = transformers' default (sdpa), or "
            "'flash_attention_2' / 'kernels-community/flash-attn3' on GPUs for varlen packing without masks."
        },
    )
    # --- data ----------------------------------------------------------------------------------
    data_dir: str | None = field(
        default=None,
        metadata={
            "help": "Local MedS-Ins directory (task files `task<N>_*.json[l]` anywhere below it). "
            "None = download from `hub_repo`."
        },
    )
    hub_repo: str = field(default="Henrychur/MedS-Ins", metadata={"help": "Hugging Face dataset repo of MedS-Ins."})
    hub_revision: str = field(default="main", metadata={"help": "Revision (branch, tag, commit) of `hub_repo`."})
    tasks: list[str] | None = field(
        default=None,
        metadata={"help": "Task ids (`task12`) or file-name globs (`task1*_*`) to train on; None = every task."},
    )
    task_weights: dict[str, float] | str | None = field(
        default=None,
        metadata={
            "help": 'Per-task sampling weight (JSON on the CLI), e.g. {"task12": 2.0}: the task\'s (capped) '
            "instances are repeated (2.0) or subsampled (0.5). Default weight 1.0."
        },
    )
    task_caps: dict[str, int] | str | None = field(
        default=None,
        metadata={"help": "Per-task maximum number of instances (JSON on the CLI), applied before the weight."},
    )
    max_instances_per_task: int | None = field(
        default=None, metadata={"help": "Cap for every task without its own entry in `task_caps`; None = no cap."}
    )
    # --- instructions --------------------------------------------------------------------------
    fewshot_prob: float = field(
        default=0.5,
        metadata={
            "help": "Probability that an instance gets few-shot cases (drawn from the same task) in its prompt; "
            "otherwise the prompt is zero-shot. The paper trains on both; the mix is our default."
        },
    )
    num_fewshot: int = field(default=3, metadata={"help": "Cases in a few-shot prompt (evaluation uses 3)."})
    definitions_file: str | None = field(
        default=None,
        metadata={
            "help": "JSON file in RewriteDefinitions.json's format: task id -> {original_def, auto_rewrite_def: "
            "[paraphrases]}. Needed for paraphrased definitions."
        },
    )
    paraphrase_prob: float = field(
        default=0.0,
        metadata={
            "help": "Probability of replacing a task's own definition with one of its paraphrases from "
            "`definitions_file` (tasks without paraphrases keep their definition)."
        },
    )
    chat_format: bool = field(
        default=False,
        metadata={
            "help": "Train on chat messages (system = cases + definition, user = query) through the tokenizer's "
            "chat template; score with `--apply_chat_template`. Default: the plain-text prompt base models get."
        },
    )
    # --- decontamination ---------------------------------------------------------------------
    decontaminate: bool = field(
        default=True, metadata={"help": "Drop training instances that overlap a MedS-Bench test instance."}
    )
    bench_data_dir: str | None = field(
        default=None,
        metadata={
            "help": "MedS-Bench data for decontamination (local directory; None = MEDS_BENCH_DATA_DIR, then the hub). "
            "Tasks that cannot be loaded (e.g. credentialed MIMIC tasks) are reported and skipped."
        },
    )
    decontam_ngram: int = field(default=13, metadata={"help": "Word n-gram size for the overlap test."})
    decontam_threshold: float = field(
        default=0.5,
        metadata={
            "help": "Drop a training instance when at least this share of its n-grams occurs in MedS-Bench test data."
        },
    )
    # --- batch, LoRA, logging ------------------------------------------------------------------
    global_batch_size: int | None = field(
        default=128,
        metadata={
            "help": "Sequences per optimizer step over all processes (packed rows when packing). Sets "
            "gradient_accumulation_steps = global_batch_size / (per_device_train_batch_size x world size); "
            "None keeps gradient_accumulation_steps as given."
        },
    )
    use_lora: bool = field(default=False, metadata={"help": "Train LoRA adapters (peft) instead of all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    lora_target_modules: list[str] | None = field(
        default=None, metadata={"help": "Modules to adapt; None = all linear layers except the output head."}
    )
    peak_tflops: float | None = field(
        default=None,
        metadata={
            "help": "Peak dense bf16 TFLOP/s of one accelerator for the MFU estimate; None = detect known GPUs "
            "(H100/H200: 989, A100: 312); no MFU is logged when unknown (e.g. CPU)."
        },
    )
    resume: bool = field(
        default=True, metadata={"help": "Resume from the latest checkpoint-* in output_dir when there is one."}
    )
    # --- the paper's recipe as defaults of inherited fields ------------------------------------
    learning_rate: float = field(default=1e-5, metadata={"help": "Peak learning rate (paper: 1e-5)."})
    num_train_epochs: float = field(default=5.0, metadata={"help": "Epochs over the mixed data (paper: 5)."})
    max_length: int | None = field(
        default=2048, metadata={"help": "Tokens per sequence; longer prompts are truncated on the left (paper: 2048)."}
    )
    per_device_train_batch_size: int = field(default=4, metadata={"help": "Sequences per device per micro-step."})
    packing: bool = field(
        default=True,
        metadata={
            "help": "Pack several examples into each max_length row (best-fit decreasing, padding-free) with "
            "position ids restarting per example, so no token attends across examples."
        },
    )
    bf16: bool | None = field(default=None, metadata={"help": "bf16 mixed precision; None = on when a GPU has it."})
    activation_checkpointing: bool | None = field(
        default=None, metadata={"help": "Gradient (activation) checkpointing; None = on when training on GPU."}
    )
    report_to: None | str | list[str] = field(
        default="tensorboard", metadata={"help": "Trainer loggers; TensorBoard logs go to <output_dir>/runs."}
    )
    logging_steps: float = field(default=10, metadata={"help": "Log every N optimizer steps."})
    save_steps: float = field(default=500, metadata={"help": "Checkpoint every N optimizer steps (for resume)."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept in output_dir."})
    output_dir: str | None = field(
        default="outputs/sft",
        metadata={"help": "Checkpoints, logs, decontamination report; the final model goes to <output_dir>/final."},
    )

    def __post_init__(self) -> None:
        self.task_weights = _json_field(self.task_weights, "task_weights") or {}
        self.task_caps = _json_field(self.task_caps, "task_caps") or {}
        for name in ("fewshot_prob", "paraphrase_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.paraphrase_prob > 0 and not self.definitions_file:
            raise ValueError("paraphrase_prob > 0 needs definitions_file (RewriteDefinitions.json format)")
        on_gpu = _gpu_available() and not self.use_cpu
        if self.bf16 is None:
            self.bf16 = on_gpu and _bf16_supported()
        if self.activation_checkpointing is None:
            self.activation_checkpointing = on_gpu
        self.gradient_checkpointing = None  # deprecated alias (SFTConfig defaults it to True); mirrored by the parent
        if self.global_batch_size:
            world_size = int(os.environ.get("WORLD_SIZE", "1"))
            per_step = self.per_device_train_batch_size * world_size
            if self.global_batch_size % per_step:
                raise ValueError(
                    f"global_batch_size {self.global_batch_size} is not a multiple of per_device_train_batch_size "
                    f"{self.per_device_train_batch_size} x world size {world_size}"
                )
            self.gradient_accumulation_steps = self.global_batch_size // per_step
        super().__post_init__()


def _gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _bf16_supported() -> bool:
    import torch

    return torch.cuda.is_bf16_supported()
