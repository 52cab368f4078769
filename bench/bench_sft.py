"""CPU throughput of medsins_sft, packed vs padded, side by side on the same data and model.

    .venv/bin/python bench/bench_sft.py --steps 30

Trains the tiny random Llama on the bundled MedS-Ins sample twice, once with packing (best-fit decreasing,
padding-free) and once padded to the longest example of each batch (the paper's setting), and prints the
median tokens/s (real tokens only) and padding share over the measured steps, as a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from medsins_sft.train import parse_config, run

ROOT = Path(__file__).resolve().parents[1]


def measure(packing: bool, work: Path, steps: int, warmup: int, batch: int) -> dict[str, float]:
    out = work / ("packed" if packing else "padded")
    config = parse_config(
        [
            "--config",
            str(ROOT / "medsins_sft/configs/sample.yaml"),
            "--model_name_or_path",
            str(work / "base"),
            "--output_dir",
            str(out),
            "--packing",
            str(packing).lower(),
            "--padding_free",
            "false",  # the padded baseline pads; packed rows are padding-free anyway
            "--max_steps",
            str(steps),
            "--logging_steps",
            "1",
            "--save_steps",
            str(steps),
            "--report_to",
            "none",
            "--decontaminate",
            "false",
            "--per_device_train_batch_size",
            str(batch),
            "--global_batch_size",
            str(batch),
            "--tokens_per_step",
            str(batch * 512),  # sample.yaml's max_length; one micro-batch per step in both modes
            "--definitions_file",
            str(ROOT / "medsins_sft/sample_data/definitions.json"),
        ]
    )
    run(config)
    import json

    history = json.loads((out / f"checkpoint-{steps}" / "trainer_state.json").read_text())["log_history"]
    rows = [e for e in history if "tokens_per_second" in e][warmup:]
    return {
        "tokens_per_second": statistics.median(e["tokens_per_second"] for e in rows),
        "padding_share": statistics.median(e["padding_share"] for e in rows),
        "steps": len(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5, help="first steps left out of the medians")
    parser.add_argument("--batch", type=int, default=4, help="sequences per step (packed rows or examples)")
    args = parser.parse_args()
    from meds_bench.tiny_model import build_tiny_model, sample_corpus
    from medsins_sft.data import sample_data_path

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        import itertools

        build_tiny_model(work / "base", texts=itertools.chain(sample_corpus(), sample_corpus(sample_data_path())))
        results = {
            mode: measure(mode == "packed", work, args.steps, args.warmup, args.batch) for mode in ("packed", "padded")
        }
    print("| mode | tokens/s (median) | padding share (median) | measured steps |")
    print("|---|---:|---:|---:|")
    for mode, r in results.items():
        print(f"| {mode} | {r['tokens_per_second']:.0f} | {r['padding_share']:.1%} | {r['steps']} |")
    ratio = results["packed"]["tokens_per_second"] / results["padded"]["tokens_per_second"]
    print(f"\npacked / padded tokens/s: {ratio:.2f}x")


if __name__ == "__main__":
    main()
