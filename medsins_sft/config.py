"""The whole training interface: one dataclass, filled from a YAML file (``--config``) and CLI flags.

``MedSInsSFTConfig`` extends TRL's ``SFTConfig`` (so every ``SFTConfig``/``TrainingArguments`` option,
e.g. ``--save_steps`` or ``--report_to``, works as well) with the MedS-Ins fields below, and sets the
paper's recipe as defaults: max length 2048, 128 examples per optimizer step, learning rate 1e-5, 5 epochs.

    python -m medsins_sft.train --config medsins_sft/configs/paper.yaml --learning_rate 2e-5

CLI flags override the YAML file, which overrides these defaults. Every field is checked when the object is
built, before any data or model is loaded; all problems are reported together in one ``ValueError`` line.

Batch semantics: without packing (the default) an optimizer step sees ``global_batch_size`` examples (paper:
128), each micro-batch concatenated without padding (``padding_free``). With ``packing: true`` a step is
``tokens_per_step`` token slots, i.e. ``tokens_per_step / max_length`` packed rows holding a varying number of
examples; ``global_batch_size`` is then unused.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from trl import SFTConfig

from medsins_sft.distributed import launcher_world_size

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
            "help": "Attention kernel passed to from_pretrained: None = 'flash_attention_2' (varlen, no masks) when "
            "flash_attn is installed and training runs on a GPU, else 'sdpa'; the choice is logged."
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
            "help": "Examples per optimizer step over all processes without packing (paper: 128). Sets "
            "gradient_accumulation_steps = global_batch_size / (per_device_train_batch_size x world size); "
            "None keeps gradient_accumulation_steps as given. Unused with packing (see tokens_per_step)."
        },
    )
    tokens_per_step: int | None = field(
        default=None,
        metadata={
            "help": "Token slots per optimizer step over all processes with packing: true (required then; unused "
            "without packing), e.g. "
            "262144 = 128 packed rows of 2048. Sets gradient_accumulation_steps = tokens_per_step / "
            "(max_length x per_device_train_batch_size x world size)."
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
        default=False,
        metadata={
            "help": "Pack several examples into each max_length row (best-fit decreasing, padding-free) with "
            "position ids restarting per example, so no token attends across examples. A step is then "
            "tokens_per_step token slots instead of global_batch_size examples."
        },
    )
    padding_free: bool = field(
        default=True,
        metadata={
            "help": "Without packing: concatenate each micro-batch into one row with position ids restarting per "
            "example instead of padding it (same examples per step, no compute on padding). Off = pad each batch."
        },
    )
    bf16: bool | None = field(default=None, metadata={"help": "bf16 mixed precision; None = on when a GPU has it."})
    activation_checkpointing: bool | None = field(
        default=None,
        metadata={
            "help": "The trainer's activation checkpointing; None = on when training on GPU, unless the accelerate "
            "FSDP config turns on FSDP's own (fsdp_activation_checkpointing), which is then used instead."
        },
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
        problems = self._value_problems()
        fsdp_ac = _fsdp_activation_checkpointing()
        if self.activation_checkpointing and fsdp_ac:
            problems.append(
                "activation_checkpointing: true repeats FSDP's own activation checkpointing (on in the accelerate "
                "config); leave it null or set it to false"
            )
        if not problems:  # the batch arithmetic needs valid numbers
            problems = self._resolve_batch()
        if problems:
            raise ValueError("; ".join(problems))
        on_gpu = _gpu_available() and not self.use_cpu
        if self.bf16 is None:
            self.bf16 = on_gpu and _bf16_supported()
        if self.activation_checkpointing is None:
            self.activation_checkpointing = on_gpu and not fsdp_ac
        self.gradient_checkpointing = None  # deprecated alias (SFTConfig defaults it to True); mirrored by the parent
        super().__post_init__()

    def _value_problems(self) -> list[str]:
        """Every out-of-range number or inconsistent setting, as short phrases."""
        problems = []

        def check(name: str, ok: bool, rule: str) -> None:
            if not ok:
                problems.append(f"{name} must be {rule}, got {getattr(self, name)!r}")

        check("learning_rate", self.learning_rate > 0, "> 0")
        check("num_train_epochs", self.num_train_epochs > 0 or self.max_steps > 0, "> 0 (or set max_steps)")
        check("per_device_train_batch_size", self.per_device_train_batch_size >= 1, ">= 1")
        for name in ("max_length", "global_batch_size", "tokens_per_step", "max_instances_per_task"):
            value = getattr(self, name)
            check(name, value is None or (isinstance(value, int) and value >= 1), "a whole number >= 1 or null")
        for name in ("fewshot_prob", "paraphrase_prob", "decontam_threshold"):
            check(name, 0.0 <= getattr(self, name) <= 1.0, "in [0, 1]")
        check("lora_dropout", 0.0 <= self.lora_dropout < 1.0, "in [0, 1)")
        for name in ("num_fewshot", "warmup_steps", "weight_decay", "max_grad_norm"):
            check(name, getattr(self, name) >= 0, ">= 0")
        for name in ("decontam_ngram", "lora_r", "tiny_hidden_size", "tiny_num_layers"):
            check(name, getattr(self, name) >= 1, ">= 1")
        for name in ("lora_alpha", "logging_steps", "save_steps"):
            check(name, getattr(self, name) > 0, "> 0")
        check("peak_tflops", self.peak_tflops is None or self.peak_tflops > 0, "> 0 or null")
        for name, table in (("task_weights", self.task_weights), ("task_caps", self.task_caps)):
            bad = {k: v for k, v in table.items() if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0}
            if bad:
                problems.append(f"{name} values must be numbers >= 0, got {bad}")
        model_problem = _model_problem(self.model_name_or_path)
        if model_problem:
            problems.append(model_problem)
        if self.paraphrase_prob > 0 and not self.definitions_file:
            problems.append("paraphrase_prob > 0 needs definitions_file (RewriteDefinitions.json format)")
        return problems

    def _resolve_batch(self) -> list[str]:
        """Derive gradient_accumulation_steps from examples (no packing) or token slots (packing) per step."""
        processes = launcher_world_size()
        micro = self.per_device_train_batch_size * processes
        if self.packing:
            if not self.tokens_per_step or not self.max_length:
                return [
                    "packing: true needs tokens_per_step (token slots per optimizer step, e.g. 262144 = 128 rows of "
                    "2048) and max_length; global_batch_size counts examples and applies only without packing"
                ]
            slots = self.max_length * micro
            if self.tokens_per_step % slots:
                return [
                    f"tokens_per_step {self.tokens_per_step} is not a multiple of max_length {self.max_length} x "
                    f"per_device_train_batch_size {self.per_device_train_batch_size} x world size {processes}"
                ]
            self.gradient_accumulation_steps = self.tokens_per_step // slots
            return []
        if self.global_batch_size:
            if self.global_batch_size % micro:
                return [
                    f"global_batch_size {self.global_batch_size} is not a multiple of per_device_train_batch_size "
                    f"{self.per_device_train_batch_size} x world size {processes}"
                ]
            self.gradient_accumulation_steps = self.global_batch_size // micro
        return []

    def batch_summary(self) -> str:
        """One line saying what an optimizer step is (logged at the start of training)."""
        processes = launcher_world_size()
        shape = (
            f"{self.per_device_train_batch_size} per device x {processes} processes x "
            f"{self.gradient_accumulation_steps} accumulation steps"
        )
        if self.packing:
            rows = self.per_device_train_batch_size * processes * self.gradient_accumulation_steps
            return (
                f"optimizer step = {rows * self.max_length} token slots ({rows} packed rows of {self.max_length} "
                f"tokens: {shape}); examples per step vary; global_batch_size is not used with packing"
            )
        examples = self.per_device_train_batch_size * processes * self.gradient_accumulation_steps
        layout = "padding-free rows" if self.padding_free else "padded batches"
        unused = "; tokens_per_step is not used without packing" if self.tokens_per_step else ""
        return f"optimizer step = {examples} examples ({shape}; {layout}){unused}"


def _model_problem(name: str) -> str | None:
    """Why ``model_name_or_path`` names neither a local directory nor a possible hub model; None when it may load.

    A name that reads as a path (absolute, ``./``, ``~``, or below an existing directory) must be a directory;
    any other must pass huggingface_hub's repo-id check (whether the hub has it is learnt only when loading).
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if name == TINY_MODEL or os.path.isdir(os.path.expanduser(name)):
        return None
    if name.startswith(("/", ".", "~")) or os.path.isdir(name.split("/")[0]):
        return f"model_name_or_path: no directory {name} (a local model is a directory written by save_pretrained)"
    try:
        validate_repo_id(name)
    except HFValidationError:
        return (
            f"model_name_or_path {name!r} is neither a local directory nor a valid hub id "
            "('name' or 'org/name': letters, digits, '-', '_', '.')"
        )
    return None


def _fsdp_activation_checkpointing() -> bool:
    """True when ``accelerate launch`` runs FSDP with its own activation checkpointing on."""
    return os.environ.get("FSDP_ACTIVATION_CHECKPOINTING", "").lower() == "true"


def _gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _bf16_supported() -> bool:
    import torch

    return torch.cuda.is_bf16_supported()
