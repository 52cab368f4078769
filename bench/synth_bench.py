"""Write a full-size synthetic MedS-Bench: every catalogue task, N documents each, invented text.

    python bench/synth_bench.py --out DIR [--docs 1500] [--seed 0]

Files follow the hub layout (``<Folder>/<file>`` of each catalogue row, ``Definition`` plus
``Instances``), so ``MEDS_BENCH_DATA_DIR=DIR`` evaluates them. Input and gold lengths follow each
task's category record (``doc_words``: mean words; Chinese/Japanese use about 1.6 characters per
word) or ``TASK_LENGTHS``; words are made-up syllable strings, so nothing is copied from the real
data. Closed-set golds use the answer shapes the scorers read (lettered MCQA answers, label names,
entity lists).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from meds_bench.catalog import CATEGORIES, TASKS, TaskInfo
from meds_bench.metrics.hoc import HALLMARKS

# (input words, gold words) of single tasks whose documents differ from their category's ``doc_words``.
TASK_LENGTHS: dict[int, tuple[int, int]] = {
    122: (30, 8),  # MedMCQA: short stems
    123: (250, 1),  # PubMedQA: an abstract, yes/no/maybe
    74: (400, 15),  # PMC-Patients case reports
    16: (400, 1),  # HealthFact claims with their article
    100: (300, 40),  # EBMS: free-text answers
    42: (25, 12),  # MedNLI generative: a hypothesis
    110: (400, 40),  # RCT abstracts
    112: (100, 20),  # MIMIC-CXR findings
    114: (60, 12),  # MeQSum consumer questions
}
# Invented words avoid "lol" (lm-eval's dummy model's answer), which real clinical text hardly contains.
SYLLABLES = {
    "en": "ba ter mo lin ca dre sy pho ne ri tal gen ox um pla si ven tro ki du",
    "fr": "pré ma ti que lé on dou eur the ra cé ble mi tri ose",
    "es": "pa cien te do lor ra ción ma gu do ne sis bra te ca",
    "ru": "па ци ент боль ка ро ми на ле то ва ни се ру до",
}
CJK = {
    "zh": "患者出现急性胸痛和呼吸困难提示肺栓塞可能性较大因此在影像学确认诊断后应进行抗凝治疗肾脏",
    "ja": "患者は急性の胸痛と呼吸困難を呈している肺塞栓症が疑われる画像診断の後に抗凝固療法を行う",
}


def _vocab(rng: random.Random, lang: str, size: int = 400) -> list[str]:
    syl = SYLLABLES[lang].split()
    return ["".join(rng.choice(syl) for _ in range(rng.randint(1, 4))) for _ in range(size)]


class TextMaker:
    """Invented sentences of a given length in one language."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.vocab = {lang: _vocab(rng, lang) for lang in SYLLABLES}

    def words(self, lang: str, mean: int) -> str:
        n = max(1, int(self.rng.gauss(mean, mean / 4)))
        if lang in CJK:
            chars = CJK[lang]
            out = "".join(self.rng.choice(chars) for _ in range(int(n * 1.6)))
            return "。".join(out[k : k + 20] for k in range(0, len(out), 20)) + "。"
        words = [self.rng.choice(self.vocab[lang]) for _ in range(n)]
        sentences = [" ".join(words[k : k + 14]) for k in range(0, n, 14)]
        return " ".join(s[0].upper() + s[1:] + "." for s in sentences)


def _gold(info: TaskInfo, maker: TextMaker, gold_words: int, options: list[str]) -> str:
    rng = maker.rng
    if info.scorer == "mcqa":
        k = rng.randrange(len(options))
        return f"The right answer is {'ABCD'[k]}: {options[k]}"
    if info.scorer == "yes_no_maybe":
        return rng.choice(("yes", "no", "maybe"))
    if info.scorer in ("prefixed_label", "label", "nli"):
        label = rng.choice(info.labels)
        return f"{info.answer_prefix} {label}." if info.answer_prefix else label
    if info.scorer == "outcome":
        return rng.choice(("True", "False"))
    if info.scorer == "hoc":
        return ", ".join(rng.sample(HALLMARKS, rng.randint(1, 3)))
    if info.scorer == "ner":
        return ", ".join(maker.words("en", 1).rstrip(".").lower() for _ in range(rng.randint(1, 4))) + "."
    return maker.words(info.language, gold_words)


def make_task(info: TaskInfo, maker: TextMaker, n_docs: int) -> dict:
    """One task object (``Definition``, ``Instances``) of ``n_docs`` invented documents."""
    in_words, gold_words = TASK_LENGTHS.get(info.task_id, CATEGORIES[info.category].doc_words)
    instances = []
    for _ in range(n_docs):
        text = maker.words(info.language, in_words)
        options = []
        if info.scorer == "mcqa":
            options = [maker.words(info.language, 3).rstrip(".。") for _ in range(4)]
            text += "\n" + "\n".join(f"{'ABCD'[k]}. {o}" for k, o in enumerate(options))
        instances.append({"input": text, "output": _gold(info, maker, gold_words, options)})
    definition = f"Synthetic benchmark task {info.meds_id} ({info.category}): {maker.words('en', 30)}"
    return {"Definition": [definition], "Instances": instances}


def write_bench(out: Path, n_docs: int = 1500, seed: int = 0) -> list[Path]:
    """Write every catalogue task into ``out`` (hub layout); returns the files written."""
    maker = TextMaker(random.Random(seed))
    paths = []
    for info in TASKS:
        path = out / info.hub_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(make_task(info, maker, n_docs), ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--docs", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = write_bench(args.out, args.docs, args.seed)
    size = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} task files, {args.docs} documents each, {size / 1e6:.0f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
