"""SFT on MedS-Ins, top to bottom: config -> data -> decontamination -> model -> examples -> trainer -> save.

    python -m medsins_sft.train --config medsins_sft/configs/sample.yaml --output_dir outputs/sft
    accelerate launch --config_file medsins_sft/configs/fsdp.yaml -m medsins_sft.train \\
        --config medsins_sft/configs/paper.yaml --data_dir /data/MedS-Ins --output_dir outputs/mmedins

The config, the process group (``medsins_sft.distributed``), the training data and the decontamination are
checked before any model is loaded; every problem ends the program with one line on stderr and exit status 1.
Re-running the same command after a kill resumes from the latest ``checkpoint-*`` in ``output_dir``. The final
model (safetensors, tokenizer, chat template; LoRA merged; ``training_metadata.json``) is written to
``<output_dir>/final``, ready for ``lm_eval --model hf --model_args pretrained=<output_dir>/final --tasks meds_bench``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medsins_sft.arguments import parse_config
from medsins_sft.config import TINY_MODEL, MedSInsSFTConfig
from medsins_sft.data import InsTask

logger = logging.getLogger("medsins_sft")
FINAL_DIR = "final"
BASE_DIR = "base"  # where the tiny model is built for model_name_or_path: tiny
ADAPTER_DIR = "adapter"  # LoRA only: the trained adapter, merged into <output_dir>/final

__all__ = ["parse_config", "run", "main"]


def prepare_base_model(config: MedSInsSFTConfig) -> str:
    """The base model path; for ``tiny``, build meds_bench's random tiny Llama into ``<output_dir>/base`` once
    (its tokenizer learns the MedS-Bench sample data and every local MedS-Ins task file, read with the same
    BOM- and JSON-lines-tolerant reader as training), so that the untrained model can be scored as "before"."""
    if config.model_name_or_path != TINY_MODEL:
        return config.model_name_or_path
    import itertools

    from accelerate import PartialState

    from meds_bench.tiny_model import build_tiny_model, sample_corpus
    from medsins_sft.data import SAMPLE, corpus_texts

    base = Path(config.output_dir) / BASE_DIR
    with PartialState().main_process_first():
        if not (base / "config.json").is_file():
            train_root = SAMPLE if config.data_dir is None else config.data_dir
            # the tokenizer learns the benchmark's texts and the training corpus (template lines once more)
            template_lines = itertools.islice(sample_corpus(), 2)
            build_tiny_model(
                base,
                texts=itertools.chain(sample_corpus(), template_lines, corpus_texts(train_root)),
                hidden_size=config.tiny_hidden_size,
                num_layers=config.tiny_num_layers,
                seed=config.seed,
            )
            logger.info("built the tiny base model in %s", base)
    return str(base)


def lora_config(config: MedSInsSFTConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_target_modules or "all-linear",
        task_type="CAUSAL_LM",
    )


def decontaminated(config: MedSInsSFTConfig, tasks: list[InsTask]) -> tuple[list[InsTask], dict[str, Any] | None]:
    """The training tasks after decontamination (run once, on the main process) and its report; with
    ``decontaminate: false`` the tasks unchanged and None (the opt-out is recorded in the training metadata)."""
    from accelerate import PartialState

    from medsins_sft.decontaminate import shared_decontamination

    if not config.decontaminate:
        logger.warning("decontamination is off (decontaminate: false); recorded in training_metadata.json")
        return tasks, None
    tasks, report = shared_decontamination(
        tasks, config.bench_data_dir, config.decontam_ngram, config.decontam_threshold
    )
    logger.warning(
        "decontamination: %d of %d instances dropped (%d-gram overlap >= %.2f with %d MedS-Bench tasks; %d "
        "bench tasks unavailable)",
        report["instances_dropped"],
        report["instances_checked"],
        report["ngram"],
        report["threshold"],
        report["bench_tasks_indexed"],
        len(report["bench_tasks_skipped"]),
    )
    if PartialState().is_main_process:
        Path(config.output_dir).mkdir(parents=True, exist_ok=True)
        (Path(config.output_dir) / "decontamination.json").write_text(json.dumps(report, indent=1))
    return tasks, report


def build_dataset(config: MedSInsSFTConfig, tokenizer: Any, tasks: list[InsTask]) -> Any:
    """Mix and render the training tasks as a prompt-completion dataset."""
    from datasets import Dataset

    from medsins_sft.data import mix
    from medsins_sft.instructions import InstructionBuilder, build_examples, load_paraphrases

    mixture = mix(tasks, config.task_weights, config.task_caps, config.max_instances_per_task, config.seed)
    builder = InstructionBuilder(
        tokenizer=tokenizer,
        max_length=config.max_length,
        num_fewshot=config.num_fewshot,
        fewshot_prob=config.fewshot_prob,
        paraphrases=load_paraphrases(config.definitions_file) if config.definitions_file else {},
        paraphrase_prob=config.paraphrase_prob,
        chat_format=config.chat_format,
    )
    examples, skipped = build_examples(mixture, builder, config.seed)
    if skipped:
        logger.warning("skipped %d instances whose output alone exceeds max_length=%d", skipped, config.max_length)
    logger.info("training mixture: %d examples", len(examples))
    return Dataset.from_list(examples)


def trainer_args(config: MedSInsSFTConfig) -> MedSInsSFTConfig:
    """The arguments handed to the trainer. Padding-free batches without packing: the instruction builder has
    already fitted every example into max_length, and TRL refuses a max_length it would not enforce."""
    if config.packing or not config.padding_free:
        return config
    args = copy.copy(config)
    args.max_length = None
    return args


def use_full_state_dict(accelerator: Any) -> None:
    """Under FSDP with sharded checkpoints, switch to a full state dict (gathered on rank 0, offloaded to CPU)
    so that the final save is one plain HF safetensors model."""
    plugin = getattr(accelerator.state, "fsdp_plugin", None)
    if plugin is None or "FULL_STATE_DICT" in str(plugin.state_dict_type):
        return
    plugin.state_dict_config = plugin.optim_state_dict_config = None  # rebuilt for the new type
    plugin.set_state_dict_type("FULL_STATE_DICT")


def merge_lora(base_path: str, adapter_dir: Path, final: Path, tokenizer: Any, dtype: str) -> None:
    """Load the base model whole on this (main) process, apply the saved adapter, merge and save. The adapter
    was saved from the gathered (unsharded) weights, so nothing is merged into FSDP shards."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype)
    if base.get_input_embeddings().num_embeddings != len(tokenizer):  # a pad token was added for training
        base.resize_token_embeddings(len(tokenizer))
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(final, safe_serialization=True)


def save_final(trainer: Any, tokenizer: Any, config: MedSInsSFTConfig, base_path: str) -> Path:
    """Plain HF checkpoint in ``<output_dir>/final``: safetensors weights, tokenizer with chat template."""
    final = Path(config.output_dir) / FINAL_DIR
    accelerator = trainer.accelerator
    use_full_state_dict(accelerator)
    if config.use_lora:
        adapter = Path(config.output_dir) / ADAPTER_DIR
        trainer.save_model(str(adapter))  # adapter weights only, gathered from all shards
        if accelerator.is_main_process:
            merge_lora(base_path, adapter, final, tokenizer, "bfloat16" if config.bf16 else "float32")
    else:
        trainer.save_model(str(final))
    if accelerator.is_main_process:
        model_config = final / "config.json"
        saved = json.loads(model_config.read_text())
        saved["use_cache"] = True  # the trainer turns the KV cache off; generation wants it back
        model_config.write_text(json.dumps(saved, indent=2))
        tokenizer.save_pretrained(final)
    accelerator.wait_for_everyone()
    return final


def run(config: MedSInsSFTConfig, callbacks: Sequence[Any] = ()) -> Path:
    """Train according to ``config``; return the final checkpoint directory."""
    import torch
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from meds_bench.data import DataError
    from meds_bench.hub_kernels import hub_kernels_off_when_offline
    from medsins_sft.data import load_tasks
    from medsins_sft.distributed import check_launch, distributed_record
    from medsins_sft.metadata import MetadataCallback, training_metadata, write_metadata
    from medsins_sft.model import choose_attention, load_model_and_tokenizer
    from medsins_sft.throughput import MeteredSFTTrainer

    hub_kernels_off_when_offline()
    check_launch(config)
    if config.definitions_file and not os.path.isfile(config.definitions_file):
        raise DataError(
            f"definitions_file: no file {config.definitions_file} (relative paths are read from the current "
            "directory; the shipped configs expect the repository root)"
        )
    set_seed(config.seed)
    tasks = load_tasks(config.data_dir, config.tasks, config.hub_repo, config.hub_revision)
    logger.info("loaded %d MedS-Ins tasks, %d instances", len(tasks), sum(len(t.docs) for t in tasks))
    tasks, report = decontaminated(config, tasks)
    logger.warning("batch: %s", config.batch_summary())

    model_path = prepare_base_model(config)
    attn = choose_attention(config.attn_implementation, on_gpu=torch.cuda.is_available() and not config.use_cpu)
    model, tokenizer = load_model_and_tokenizer(model_path, attn)
    train_dataset = build_dataset(config, tokenizer, tasks)
    metadata = training_metadata(config, report, attn, tokenizer.pad_token)

    trainer = MeteredSFTTrainer(
        model=model,
        args=trainer_args(config),
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config) if config.use_lora else None,
        callbacks=[MetadataCallback(metadata), *callbacks],
        peak_tflops=config.peak_tflops,
    )
    metadata["distributed"] = distributed_record(trainer.accelerator)
    checkpoint = None
    if config.resume and os.path.isdir(config.output_dir):
        checkpoint = get_last_checkpoint(config.output_dir)
        if checkpoint:
            logger.warning("resuming from %s", checkpoint)
    trainer.train(resume_from_checkpoint=checkpoint)
    final = save_final(trainer, tokenizer, config, model_path)
    if trainer.accelerator.is_main_process:
        write_metadata(final, metadata)
    logger.warning("final model saved to %s", final)
    # A multi-process run tears its process group down here, in order, rather than leaving it to interpreter
    # finalization (where a torch 2.13 gloo worker of tests/fewshot_dist_worker.py was seen to abort).
    trainer.accelerator.end_training()
    return final


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from meds_bench.data import DataError
    from medsins_sft.decontaminate import DecontaminationError
    from medsins_sft.distributed import DistributedSetupError

    config = parse_config(argv)
    try:
        run(config)
    except (DataError, DecontaminationError, DistributedSetupError) as err:  # bad data or launch: one line
        raise SystemExit(f"medsins_sft: {err}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
