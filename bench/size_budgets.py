"""Generation budgets from gold lengths: each task's P99 gold length in tokens, with headroom.

    python bench/size_budgets.py --data-dir DIR --tokenizer PATH [--quantile 0.99] [--headroom 1.25]

For every task file found in DIR, tokenizes the gold outputs with the named (local) tokenizer,
and prints a Markdown table: documents, P99 gold tokens, the catalogue's ``max_gen_toks``, the
share of golds that fit in it, and the budget sized as ceil(P99 x headroom) rounded up to a
multiple of 8. Then the total new-token allowance of the catalogue over these documents against
the original method's (200 new tokens per document; 1000 with its ``--eos_id`` option).
It reports only: budgets live in the catalogue rows (``TaskInfo.max_gen_toks``). Exits 1 when a
catalogue budget fits fewer than ``--quantile`` of its task's golds.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from meds_bench.catalog import TASKS, TaskInfo
from meds_bench.data import DataError, load_task

ORIGINAL_MAX_NEW_TOKENS = 200  # the original's generate() default
ORIGINAL_EOS_MAX_NEW_TOKENS = 1000  # with its --eos_id option


def quantile(lengths: list[int], q: float) -> int:
    """Nearest-rank quantile: the smallest length that at least ``q`` of ``lengths`` do not exceed."""
    ordered = sorted(lengths)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def sized_budget(lengths: list[int], q: float = 0.99, headroom: float = 1.25, multiple: int = 8) -> int:
    """ceil(quantile x headroom), rounded up to a multiple of ``multiple`` (at least ``multiple``)."""
    raw = math.ceil(quantile(lengths, q) * headroom)
    return max(multiple, math.ceil(raw / multiple) * multiple)


def fit_share(lengths: list[int], budget: int) -> float:
    """Share (0-1) of golds of at most ``budget`` tokens."""
    return sum(1 for n in lengths if n <= budget) / len(lengths)


@dataclass(frozen=True)
class TaskBudget:
    """One task's gold lengths against its catalogue budget."""

    info: TaskInfo
    n_docs: int
    p_gold: int
    fits: float
    suggested: int


def measure(data_dir: Path, tokenizer, q: float = 0.99, headroom: float = 1.25) -> tuple[list[TaskBudget], list[str]]:
    """Budgets of every task file in ``data_dir``; also the names of tasks without a file there."""
    rows, missing = [], []
    for info in TASKS:
        try:
            docs = load_task(info, data_dir=data_dir).docs
        except DataError:
            missing.append(info.name)
            continue
        golds = [d["output"] for d in docs]
        lengths = [len(ids) for ids in tokenizer(golds, add_special_tokens=False)["input_ids"]]
        rows.append(
            TaskBudget(
                info,
                len(docs),
                quantile(lengths, q),
                fit_share(lengths, info.max_gen_toks),
                sized_budget(lengths, q, headroom),
            )
        )
    return rows, missing


def render(rows: list[TaskBudget], missing: list[str], q: float) -> str:
    """The Markdown report: per-task table, then totals against the original's budget."""
    pct = f"P{round(q * 100)}"
    lines = [
        f"| task | docs | {pct} gold tokens | catalogue max_gen_toks | golds that fit | sized budget |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        flag = "" if r.fits >= q else " **(too small)**"
        lines.append(
            f"| {r.info.name} | {r.n_docs} | {r.p_gold} | {r.info.max_gen_toks} | {100 * r.fits:.1f}%{flag} "
            f"| {r.suggested} |"
        )
    docs = sum(r.n_docs for r in rows)
    ours = sum(r.info.max_gen_toks * r.n_docs for r in rows)
    sized = sum(r.suggested * r.n_docs for r in rows)
    lines += [
        "",
        f"{len(rows)} tasks, {docs:,} documents. Total new-token allowance: catalogue {ours:,}; "
        f"sized from golds {sized:,}; original {ORIGINAL_MAX_NEW_TOKENS} per document "
        f"{ORIGINAL_MAX_NEW_TOKENS * docs:,} (catalogue / original = "
        f"{ours / (ORIGINAL_MAX_NEW_TOKENS * docs):.2f}x), or {ORIGINAL_EOS_MAX_NEW_TOKENS} with --eos_id "
        f"{ORIGINAL_EOS_MAX_NEW_TOKENS * docs:,}.",
    ]
    if missing:
        lines.append(f"No file for {len(missing)} tasks: {', '.join(missing)}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="task files laid out like the hub")
    parser.add_argument("--tokenizer", type=Path, required=True, help="a local tokenizer directory")
    parser.add_argument("--quantile", type=float, default=0.99)
    parser.add_argument("--headroom", type=float, default=1.25, help="factor on the quantile")
    args = parser.parse_args(argv)
    if not 0 < args.quantile <= 1 or args.headroom < 1:
        parser.error("--quantile must be in (0, 1] and --headroom at least 1")
    if not args.data_dir.is_dir():
        parser.error(f"--data-dir {args.data_dir} is not a directory")
    if not (args.tokenizer / "tokenizer_config.json").is_file():
        parser.error(f"--tokenizer {args.tokenizer}: no tokenizer_config.json there (give a local tokenizer folder)")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(args.tokenizer), local_files_only=True)
    rows, missing = measure(args.data_dir, tokenizer, args.quantile, args.headroom)
    if not rows:
        print(f"size_budgets: no MedS-Bench task file in {args.data_dir}", file=sys.stderr)
        return 2
    print(render(rows, missing, args.quantile))
    return 0 if all(r.fits >= args.quantile for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
