"""Time ``meds-bench score`` on 80,000 synthetic predictions spread over all 53 tasks.

    python bench/bench_scoring.py [--n 80000] [--runs 3] [--jobs 2] [--no-original] [--stderr-cost]

Predictions are perturbed references with lengths typical of each category (rationales of
~120 words or ~200 CJK characters, summaries of ~30 words, one-line labels elsewhere). Each round
runs, one after the other: ``meds-bench score`` with an empty golds' token cache (``cold``: the
first scoring of a task's golds), again with the cache that run filled (``warm``: every later
run, e.g. another model on the same tasks), and the original method on the same file
(``original_scoring.py``: NLTK and the ``rouge`` package row by row, one process). Prints wall
and CPU seconds (user + system, the command and its workers) of every run, the medians and the
ratios. ``--stderr-cost`` instead alternates ``meds-bench score`` with standard errors (the
default) and without (``--bootstrap-iters 0``) and prints both medians and their ratio.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from meds_bench.catalog import TASKS

EN_WORDS = [
    "the",
    "patient",
    "presented",
    "with",
    "acute",
    "chest",
    "pain",
    "and",
    "shortness",
    "of",
    "breath",
    "which",
    "suggests",
    "pulmonary",
    "embolism",
    "therefore",
    "anticoagulation",
    "is",
    "indicated",
    "after",
    "imaging",
    "confirms",
    "the",
    "diagnosis",
    "of",
    "a",
    "clot",
    "in",
    "the",
    "artery",
]
WORDS = {
    "en": EN_WORDS,
    "fr": [
        "le",
        "patient",
        "présente",
        "une",
        "douleur",
        "thoracique",
        "aiguë",
        "avec",
        "dyspnée",
        "ce",
        "qui",
        "évoque",
        "une",
        "embolie",
        "pulmonaire",
    ],
    "es": [
        "el",
        "paciente",
        "presenta",
        "dolor",
        "torácico",
        "agudo",
        "y",
        "disnea",
        "lo",
        "que",
        "sugiere",
        "una",
        "embolia",
        "pulmonar",
        "grave",
    ],
    "ru": [
        "у",
        "пациента",
        "острая",
        "боль",
        "в",
        "груди",
        "и",
        "одышка",
        "что",
        "указывает",
        "на",
        "тромбоэмболию",
        "легочной",
        "артерии",
    ],
}
ZH = (
    "患者出现急性胸痛和呼吸困难。",
    "提示肺栓塞的可能性较大。",
    "因此在影像学确认诊断后应进行抗凝治疗。",
    "禁水后尿液不能浓缩。",
    "注射加压素后尿渗透压明显升高。",
    "说明肾脏对加压素有反应。",
    "病因是加压素分泌不足。",
)
JA = (
    "患者は急性の胸痛と呼吸困難を呈している。",
    "肺塞栓症が疑われる。",
    "画像診断の後に抗凝固療法を行う。",
    "マックバーニー点は臍と右上前腸骨棘を結ぶ線上にある。",
    "急性虫垂炎では炎症がこの部位に及ぶため圧痛を生じる。",
)
LABEL_GOLD = {
    "mcqa": ("The right answer is B: Levothyroxine", ["B", "The answer is (C).", "B: Levothyroxine", "A or B"]),
    "ie": (
        "oral Zentrolin 20 mg, matching placebo",
        ["oral zentrolin 20 mg", "matching placebo, oral Zentrolin 20 mg"],
    ),
    "ner": ("cisplatin, paclitaxel.", ["paclitaxel, cisplatin.", "cisplatin.", "There is no related enetity."]),
    "diagnosis": ("The diagnosis result is Bronchitis.", ["Bronchitis", "The diagnosis result is Pneumonia.", "URTI"]),
    "treatment": (
        "The treatment planning is: Radiation after surgery",
        ["Radiation after surgery", "Intraoperative radiation"],
    ),
    "outcome": ("True", ["True", "False", "not true"]),
    "classification": (
        "Sustaining proliferative signaling, Inducing angiogenesis",
        ["Inducing angiogenesis", "Resisting cell death"],
    ),
    "factver": ("yes", ["yes", "no", "Yes, the study supports it."]),
    "nli": ("Entailment", ["Entailment", "Neutral", "contradiction"]),
}
TEXT_WORDS = {"rationale": 120, "explanation": 40, "summarization": 30, "factver": 40, "nli": 12}


def _sentence(rng: random.Random, lang: str, n_words: int) -> str:
    if lang in ("zh", "ja"):
        sentences = ZH if lang == "zh" else JA
        text = ""
        while len(text) < n_words * 1.6:  # ~200 characters for a 120-word rationale
            text += rng.choice(sentences)
        return text
    words = WORDS.get(lang, EN_WORDS)
    out = [rng.choice(words) for _ in range(n_words)]
    return " ".join(" ".join(out[k : k + 15]) + "." for k in range(0, len(out), 15))


def _row(rng: random.Random, info) -> tuple[str, str]:
    free_text = info.category in ("rationale", "explanation", "summarization") or info.task_id in (100, 42)
    if free_text:
        n = TEXT_WORDS["factver" if info.task_id == 100 else "nli" if info.task_id == 42 else info.category]
        n = max(3, int(rng.gauss(n, n / 4)))
        return _sentence(rng, info.language, n), _sentence(rng, info.language, n)
    gold, preds = LABEL_GOLD[info.category]
    return rng.choice([*preds, gold]), gold


def write_predictions(path: Path, n: int, seed: int = 0) -> None:
    """A CSV of ``n`` predictions spread evenly over the 53 tasks."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["prediction", "reference", "task"])
        for k in range(n):
            info = TASKS[k % len(TASKS)]
            pred, ref = _row(rng, info)
            writer.writerow([pred, ref, info.meds_id])


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _cpu_timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the command and its workers) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = _timed(cmd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _series(ts: list[float]) -> str:
    return f"{', '.join(f'{t:.1f}' for t in ts)} s, median {statistics.median(ts):.1f} s"


def stderr_cost(n: int, runs: int, jobs: int) -> int:
    """Alternate ``meds-bench score`` with and without standard errors; print wall and CPU times,
    medians and the ratios (CPU time is the steadier figure on a shared machine)."""
    with_se, without = [], []
    with tempfile.TemporaryDirectory() as tmp:
        preds = Path(tmp) / "predictions.csv"
        write_predictions(preds, n)
        cmd = [sys.executable, "-m", "meds_bench.cli", "score", str(preds), "--jobs", str(jobs)]
        cmd += ["--output", str(Path(tmp) / "out.json"), "--token-cache", str(Path(tmp) / "tokens")]
        for _ in range(runs):
            without.append(_cpu_timed([*cmd, "--bootstrap-iters", "0"]))
            with_se.append(_cpu_timed(cmd))
    print(f"{n} predictions, 53 tasks, load average {os.getloadavg()[0]:.1f}, meds-bench score --jobs {jobs}:")
    for k, kind in enumerate(("wall", "CPU")):
        off, on = [t[k] for t in without], [t[k] for t in with_se]
        ratio = statistics.median(on) / statistics.median(off)
        print(f"  {kind}: without standard errors {_series(off)}; with {_series(on)}; with / without {ratio:.2f}x")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=80_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-original", action="store_true", help="skip the original method's runs")
    parser.add_argument("--stderr-cost", action="store_true", help="time score with and without standard errors")
    args = parser.parse_args()
    if args.stderr_cost:
        return stderr_cost(args.n, args.runs, args.jobs)
    runs: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": [], "original": []}
    with tempfile.TemporaryDirectory() as tmp:
        preds = Path(tmp) / "predictions.csv"
        write_predictions(preds, args.n)
        cmd = [sys.executable, "-m", "meds_bench.cli", "score", str(preds), "--jobs", str(args.jobs)]
        cmd += ["--output", str(Path(tmp) / "out.json")]
        baseline = [sys.executable, str(Path(__file__).with_name("original_scoring.py")), str(preds)]
        for k in range(args.runs):
            cache = ["--token-cache", str(Path(tmp) / f"tokens{k}")]
            runs["cold"].append(_cpu_timed([*cmd, *cache]))
            runs["warm"].append(_cpu_timed([*cmd, *cache]))
            if not args.no_original:
                runs["original"].append(_cpu_timed(baseline))
    load = os.getloadavg()[0]
    print(f"{args.n} predictions, 53 tasks, load average {load:.1f}, meds-bench score --jobs {args.jobs}:")
    medians = {}
    for name, ts in runs.items():
        if ts:
            walls, cpus = [t[0] for t in ts], [t[1] for t in ts]
            medians[name] = statistics.median(walls)
            print(f"  {name}: wall {_series(walls)}; CPU {_series(cpus)}")
    if "original" in medians:
        line = "  original / ours, wall: " + ", ".join(
            f"{name} {medians['original'] / medians[name]:.2f}x" for name in ("cold", "warm")
        )
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
