"""SFT on MedS-Ins, top to bottom: config -> data -> decontamination -> examples -> trainer -> train -> save.

    python -m medsins_sft.train --config medsins_sft/configs/sample.yaml --output_dir outputs/sft
    accelerate launch --config_file medsins_sft/configs/fsdp.yaml -m medsins_sft.train \\
        --config medsins_sft/configs/paper.yaml --data_dir /data/MedS-Ins --output_dir outputs/mmedins

Re-running the same command after a kill resumes from the latest ``checkpoint-*`` in ``output_dir``.
The final model (safetensors, tokenizer, chat template; LoRA merged) is written to ``<output_dir>/final``,
ready for ``lm_eval --model hf --model_args pretrained=<output_dir>/final --tasks meds_bench``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medsins_sft.config import TINY_MODEL, MedSInsSFTConfig

logger = logging.getLogger("medsins_sft")
FINAL_DIR = "final"
BASE_DIR = "base"  # where the tiny model is built for model_name_or_path: tiny


def parse_config(argv: Sequence[str] | None = None) -> MedSInsSFTConfig:
    """``--config FILE.yaml`` plus CLI overrides (TRL's parser)."""
    import sys

    from trl import TrlParser

    args = list(argv) if argv is not None else sys.argv[1:]
    if "--config" in args and args.index("--config") + 1 < len(args):
        path = Path(args[args.index("--config") + 1])
        if not path.is_file():
            raise SystemExit(f"medsins_sft: config file {path} not found (see medsins_sft/configs/)")
    (config,) = TrlParser((MedSInsSFTConfig,)).parse_args_and_config(list(argv) if argv is not None else None)
    return config


def prepare_base_model(config: MedSInsSFTConfig) -> str:
    """The base model path; for ``tiny``, build meds_bench's random tiny Llama into ``<output_dir>/base`` once
    (its tokenizer learns the MedS-Bench sample data and the MedS-Ins training data), so that the untrained
    model can be scored as the "before" point."""
    if config.model_name_or_path != TINY_MODEL:
        return config.model_name_or_path
    from accelerate import PartialState

    from meds_bench.tiny_model import build_tiny_model, sample_corpus
    from medsins_sft.data import SAMPLE, sample_data_path

    base = Path(config.output_dir) / BASE_DIR
    with PartialState().main_process_first():
        if not (base / "config.json").is_file():
            train_root = sample_data_path() if config.data_dir in (None, SAMPLE) else Path(config.data_dir)
            texts = itertools.chain(sample_corpus(), sample_corpus(train_root))
            build_tiny_model(
                base,
                texts=texts,
                hidden_size=config.tiny_hidden_size,
                num_layers=config.tiny_num_layers,
                seed=config.seed,
            )
            logger.info("built the tiny base model in %s", base)
    return str(base)


def load_model_and_tokenizer(path: str, config: MedSInsSFTConfig) -> tuple[Any, Any]:
    """Model in fp32 master weights (bf16 autocast comes from the trainer) and a tokenizer whose pad token
    differs from EOS, so padding never masks out the learned end of an answer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    kwargs: dict[str, Any] = {"dtype": "float32"}
    if config.attn_implementation:
        kwargs["attn_implementation"] = config.attn_implementation
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        reserved = "<|finetune_right_pad_id|>"  # Llama 3.1+ reserve this token for padding
        if reserved in tokenizer.get_vocab():
            tokenizer.pad_token = reserved
        else:
            tokenizer.add_special_tokens({"pad_token": "<pad>"})
            model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def lora_config(config: MedSInsSFTConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_target_modules or "all-linear",
        task_type="CAUSAL_LM",
    )


def build_dataset(config: MedSInsSFTConfig, tokenizer: Any, is_main: bool) -> Any:
    """Load, decontaminate, mix and render the MedS-Ins training examples as a prompt-completion dataset."""
    from datasets import Dataset

    from medsins_sft.data import load_tasks, mix
    from medsins_sft.decontaminate import bench_index, decontaminate
    from medsins_sft.instructions import InstructionBuilder, build_examples, load_paraphrases

    tasks = load_tasks(config.data_dir, config.tasks, config.hub_repo, config.hub_revision)
    logger.info("loaded %d MedS-Ins tasks, %d instances", len(tasks), sum(len(t.docs) for t in tasks))
    if config.decontaminate:
        index = bench_index(config.bench_data_dir, config.decontam_ngram)
        tasks, report = decontaminate(tasks, index, config.decontam_threshold)
        logger.warning(
            "decontamination: %d of %d instances dropped (%d-gram overlap >= %.2f with %d MedS-Bench tasks; %d "
            "bench tasks unavailable)",
            report["instances_dropped"],
            report["instances_checked"],
            index.n,
            config.decontam_threshold,
            len(index.loaded),
            len(index.skipped),
        )
        if is_main:
            Path(config.output_dir).mkdir(parents=True, exist_ok=True)
            (Path(config.output_dir) / "decontamination.json").write_text(json.dumps(report, indent=1))
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


def save_final(trainer: Any, tokenizer: Any, config: MedSInsSFTConfig) -> Path:
    """Plain HF checkpoint in ``<output_dir>/final``: safetensors weights, tokenizer with chat template."""
    final = Path(config.output_dir) / FINAL_DIR
    if config.use_lora:
        merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
        if trainer.accelerator.is_main_process:
            merged.save_pretrained(final, safe_serialization=True)
    else:
        trainer.save_model(str(final))  # gathers FSDP shards; safetensors by default
    if trainer.accelerator.is_main_process:
        model_config = final / "config.json"
        saved = json.loads(model_config.read_text())
        saved["use_cache"] = True  # the trainer turns the KV cache off; generation wants it back
        model_config.write_text(json.dumps(saved, indent=2))
        tokenizer.save_pretrained(final)
    trainer.accelerator.wait_for_everyone()
    return final


def run(config: MedSInsSFTConfig, callbacks: Sequence[Any] = ()) -> Path:
    """Train according to ``config``; return the final checkpoint directory."""
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from medsins_sft.callbacks import MeteredSFTTrainer

    set_seed(config.seed)
    model_path = prepare_base_model(config)
    model, tokenizer = load_model_and_tokenizer(model_path, config)
    train_dataset = build_dataset(config, tokenizer, is_main=config.process_index == 0)

    trainer = MeteredSFTTrainer(
        model=model,
        args=config,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=lora_config(config) if config.use_lora else None,
        callbacks=list(callbacks),
        peak_tflops=config.peak_tflops,
    )
    checkpoint = None
    if config.resume and os.path.isdir(config.output_dir):
        checkpoint = get_last_checkpoint(config.output_dir)
        if checkpoint:
            logger.warning("resuming from %s", checkpoint)
    trainer.train(resume_from_checkpoint=checkpoint)
    final = save_final(trainer, tokenizer, config)
    logger.warning("final model saved to %s", final)
    return final


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from meds_bench.data import DataError

    config = parse_config(argv)
    try:
        run(config)
    except DataError as err:  # a missing or malformed task file: one line, not a traceback
        raise SystemExit(f"medsins_sft: {err}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
