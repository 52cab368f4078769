"""Markdown tables of a bench/gpu_bench.sh run: SFT throughput and MFU, the sample training run, hf docs/s.

    python bench/gpu_summary.py OUT_DIR        # reads sft.jsonl, train.jsonl, hf.jsonl; writes summary.md

MFU is medsins_sft.flops's (PaLM's 6N + 12LHQT per trained token) over the device's dense bf16 peak.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ANCHORS = (
    "Anchors (full-parameter bf16 training, 8 x H100): torchtitan Llama 3.1 8B FSDP 33-39% MFU "
    "(5,762 tokens/s/GPU; 6,667 with torch.compile); llm-foundry MPT-7B 46.4% MFU at 2k, 40.4% at 4k."
)


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _fmt(value: object, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def sft_table(rows: list[dict]) -> list[str]:
    lines = [
        "| shape | params | row length | layout | rows/micro-batch | act. ckpt | compile | MFU | tokens/s | "
        "step s | peak GiB | status |",
        "|---|---:|---:|---|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        mfu = "-" if r.get("mfu_median") is None else f"{100 * r['mfu_median']:.1f}%"
        lines.append(
            f"| {r['shape']} | {_fmt(r.get('parameters') and r['parameters'] / 1e9, '.2f')}B | {r['max_length']} | "
            f"{r['mode']} | {_fmt(r.get('rows_per_micro_batch'))} | {'on' if r['checkpointing'] else 'off'} | "
            f"{'yes' if r.get('torch_compile') else 'no'} | {mfu} | "
            f"{_fmt(r.get('tokens_per_second_median'), ',.0f')} | {_fmt(r.get('step_seconds_median'), '.3f')} | "
            f"{_fmt(r.get('peak_memory_gib'))} | {r['status']} |"
        )
    return lines


def train_table(rows: list[dict]) -> list[str]:
    lines = [
        "| device | bf16 | logged steps | loss first5 -> last5 | fell | tokens/s | reloaded as | generated |",
        "|---|---|---:|---|---|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['device']} | {r['bf16']} | {r['logged_steps']} | {r['first5_mean_loss']} -> "
            f"{r['last5_mean_loss']} | {r['loss_fell']} | {_fmt(r.get('tokens_per_second_median'), ',.0f')} | "
            f"{r['reloaded_dtype']} on {r['reloaded_device']} | {r['generated']!r} |"
        )
    return lines


def hf_table(rows: list[dict]) -> list[str]:
    lines = [
        "| shape | dtype | batch size | docs | seconds | docs/s | generated token slots/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['shape']} | {r['dtype']} | {r['batch_size']} | {r['docs']} | {r['seconds']} | "
            f"{r['docs_per_second']} | {_fmt(r.get('token_slots_per_second'), ',.0f')} |"
        )
    return lines


def summary(out: Path) -> str:
    sft, train, hf = _rows(out / "sft.jsonl"), _rows(out / "train.jsonl"), _rows(out / "hf.jsonl")
    device = next((r["device"] for r in [*sft, *train, *hf] if r.get("device")), "unknown device")
    parts = [f"# GPU bench: {device}", ""]
    if sft:
        parts += ["## Full-parameter SFT (medsins_sft trainer, bf16 autocast, AdamW)", "", *sft_table(sft), "", ANCHORS]
    if train:
        parts += ["", "## Sample config (`make train`'s) on the GPU", "", *train_table(train)]
    if hf:
        parts += ["", "## lm-eval hf backend, 5 MCQA sample tasks", "", *hf_table(hf)]
    if not (sft or train or hf):
        parts.append("no results in " + str(out))
    return "\n".join(parts) + "\n"


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python bench/gpu_summary.py OUT_DIR")
    out = Path(sys.argv[1])
    text = summary(out)
    (out / "summary.md").write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
