"""Markdown tables of a bench/gpu_bench.sh run: SFT throughput and MFU, the sample training run, hf docs/s.

    python bench/gpu_summary.py OUT_DIR        # reads sft.jsonl, train.jsonl, hf.jsonl; writes summary.md

MFU is medsins_sft.flops's (PaLM's 6N + 12LHQT per trained token) over the device's dense bf16 peak.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
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


Column = tuple[str, Callable[[dict], str]]  # header, cell of one result row

SFT_COLUMNS: list[Column] = [
    ("shape", lambda r: r["shape"]),
    ("params", lambda r: _fmt(r.get("parameters") and r["parameters"] / 1e9, ".2f") + "B"),
    ("row length", lambda r: str(r["max_length"])),
    ("layout", lambda r: r["mode"]),
    ("rows/micro-batch", lambda r: _fmt(r.get("rows_per_micro_batch"))),
    ("act. ckpt", lambda r: "on" if r["checkpointing"] else "off"),
    ("compile", lambda r: "yes" if r.get("torch_compile") else "no"),
    ("MFU", lambda r: "-" if r.get("mfu_median") is None else f"{100 * r['mfu_median']:.1f}%"),
    ("tokens/s", lambda r: _fmt(r.get("tokens_per_second_median"), ",.0f")),
    ("step s", lambda r: _fmt(r.get("step_seconds_median"), ".3f")),
    ("peak GiB", lambda r: _fmt(r.get("peak_memory_gib"))),
    ("status", lambda r: r["status"]),
]
TRAIN_COLUMNS: list[Column] = [
    ("device", lambda r: r["device"]),
    ("bf16", lambda r: str(r["bf16"])),
    ("logged steps", lambda r: str(r["logged_steps"])),
    ("loss first5 -> last5", lambda r: f"{r['first5_mean_loss']} -> {r['last5_mean_loss']}"),
    ("fell", lambda r: str(r["loss_fell"])),
    ("tokens/s", lambda r: _fmt(r.get("tokens_per_second_median"), ",.0f")),
    ("reloaded as", lambda r: f"{r['reloaded_dtype']} on {r['reloaded_device']}"),
    ("generated", lambda r: repr(r["generated"])),
]
HF_COLUMNS: list[Column] = [
    ("shape", lambda r: r["shape"]),
    ("dtype", lambda r: r["dtype"]),
    ("batch size", lambda r: str(r["batch_size"])),
    ("docs", lambda r: str(r["docs"])),
    ("seconds", lambda r: str(r["seconds"])),
    ("docs/s", lambda r: str(r["docs_per_second"])),
    ("generated token slots/s", lambda r: _fmt(r.get("token_slots_per_second"), ",.0f")),
]


def table(columns: list[Column], rows: list[dict]) -> list[str]:
    """The rows as a markdown table, through pytablewriter (lm-eval's own table writer)."""
    from pytablewriter import MarkdownTableWriter

    cells = [[cell(r) for _, cell in columns] for r in rows]
    return MarkdownTableWriter(headers=[h for h, _ in columns], value_matrix=cells, margin=1).dumps().splitlines()


def summary(out: Path) -> str:
    sft, train, hf = _rows(out / "sft.jsonl"), _rows(out / "train.jsonl"), _rows(out / "hf.jsonl")
    device = next((r["device"] for r in [*sft, *train, *hf] if r.get("device")), "unknown device")
    parts = [f"# GPU bench: {device}", ""]
    if sft:
        parts += ["## Full-parameter SFT (medsins_sft trainer, bf16 autocast, AdamW)", ""]
        parts += [*table(SFT_COLUMNS, sft), "", ANCHORS]
    if train:
        parts += ["", "## Sample config (`make train`'s) on the GPU", "", *table(TRAIN_COLUMNS, train)]
    if hf:
        parts += ["", "## lm-eval hf backend, 5 MCQA sample tasks", "", *table(HF_COLUMNS, hf)]
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
