"""Documents per second of lm-eval's hf backend on MedS-Bench sample tasks, at several batch sizes.

    python bench/bench_hf_gpu.py --shape llama-3.2-1b --batch_sizes 16,1 --out hf.jsonl
    # CPU rehearsal (tiny model, meaningless numbers)
    python bench/bench_hf_gpu.py --shape tiny --batch_sizes 4,1 --limit 2

A random-weight model of the named shape (bench_sft_gpu.SHAPES) is written with a tokenizer trained on the
bundled sample data, loaded once by lm-eval's ``HFLM`` (bf16 on a GPU, fp32 on CPU) and run through
``lm_eval.simple_evaluate`` on the same documents at each batch size, after an untimed one-document warm-up.
Only the evaluation is timed (model loading is not), and the token slots ``generate`` returned are counted.
The default tasks are five MCQA tasks with one generation budget (64 tokens), so lm-eval can fill batches
across them; none needs jieba or janome. Random weights never emit a stop sequence, so every document
generates its full budget: the figure is the backend's worst case, not a model's (the embeddings are untied,
see write_model). One JSON object per batch size is appended to --out.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_sft_gpu import SHAPES, emit, llama_config

TASKS = (
    "meds_bench_mcqa_medqa_en",
    "meds_bench_mcqa_medmcqa",
    "meds_bench_mcqa_frenchmedmcqa_fr",
    "meds_bench_mcqa_rumedbench_ru",
    "meds_bench_mcqa_headqa_es",
)


def write_model(shape: str, out: Path, dtype: str) -> Path:
    """A random-weight model of ``shape`` and a sample-trained tokenizer (its ids fit the model's vocabulary)."""
    import torch
    from transformers import LlamaForCausalLM

    from meds_bench.tiny_model import sample_corpus, train_tokenizer

    tokenizer = train_tokenizer(sample_corpus(), vocab_size=1024)
    config = llama_config(shape)
    config.bos_token_id, config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    # Untied: a random model with tied embeddings echoes its input's last token, so a prompt ending in a newline
    # meets the "\n\n" stop sequence after two tokens and the benchmark would time almost no generation.
    config.tie_word_embeddings = False
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = LlamaForCausalLM._from_config(config, dtype=getattr(torch, dtype))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


class GenerationCounter:
    """Wraps ``HFLM._model_generate`` of one instance: counts the new token slots of every batch it returns."""

    def __init__(self, lm: object) -> None:
        self.slots = 0
        self._generate = lm._model_generate
        lm._model_generate = self

    def __call__(self, context: object, *args: object, **kwargs: object) -> object:
        out = self._generate(context, *args, **kwargs)
        self.slots += (out.shape[1] - context.shape[1]) * out.shape[0]
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="llama-3.2-1b", choices=list(SHAPES))
    parser.add_argument("--batch_sizes", default="1,16", help="comma-separated")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated MedS-Bench task names")
    parser.add_argument("--limit", type=int, default=None, help="documents per task (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file each batch size is appended to")
    args = parser.parse_args()

    import torch
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from meds_bench import sample_data_path, tasks_path
    from meds_bench.data import DATA_DIR_METADATA_KEY

    on_gpu = torch.cuda.is_available()
    dtype = "bfloat16" if on_gpu else "float32"
    tasks = [t for t in args.tasks.split(",") if t]
    manager = TaskManager(
        include_path=str(tasks_path()),
        include_defaults=False,
        metadata={DATA_DIR_METADATA_KEY: str(sample_data_path())},
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = write_model(args.shape, Path(tmp) / "model", dtype)
        lm = HFLM(pretrained=str(path), dtype=dtype, device="cuda" if on_gpu else "cpu", batch_size=1)
        simple_evaluate(model=lm, tasks=tasks[:1], task_manager=manager, limit=1, bootstrap_iters=0)  # warm-up
        counter = GenerationCounter(lm)
        for batch_size in [int(b) for b in args.batch_sizes.split(",") if b]:
            lm.batch_size_per_gpu = batch_size
            counter.slots = 0
            started = time.perf_counter()
            out = simple_evaluate(
                model=lm, tasks=tasks, task_manager=manager, limit=args.limit, bootstrap_iters=0, log_samples=False
            )
            seconds = time.perf_counter() - started
            docs = sum(n["effective"] for n in out["n-samples"].values())
            row = {
                "backend": "hf",
                "shape": args.shape,
                "dtype": dtype,
                "device": torch.cuda.get_device_name() if on_gpu else "cpu",
                "batch_size": batch_size,
                "tasks": tasks,
                "docs": docs,
                "max_gen_toks": sorted({out["configs"][t]["generation_kwargs"]["max_gen_toks"] for t in tasks}),
                "seconds": round(seconds, 2),
                "docs_per_second": round(docs / seconds, 3),
                "generated_token_slots": counter.slots,
                "token_slots_per_second": round(counter.slots / seconds, 1),
            }
            emit(row, args.out)


if __name__ == "__main__":
    main()
