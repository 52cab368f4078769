"""Harness overhead: ``lm_eval --model dummy --tasks meds_bench`` vs plain lm-eval YAML tasks, same documents.

    python bench/bench_harness.py [--docs 1500] [--runs 3] [--data DIR] [--profile N] [--model bench-echo]

Writes a synthetic MedS-Bench (``synth_bench.py``; or uses ``--data``), and next to it one plain
lm-eval task per file (``dataset_path: json``, ``doc_to_text: input``, ``exact_match``, the same
shots, stop strings and token budget) in a group ``plain_bench``. Runs the two alternately as
child processes and reads each child's CPU time (user + system) and peak RSS from ``wait4``.
Prints every run, the medians and the ratios (ours / plain) as JSON. The plain tasks get one
untimed warm-up run first, so their JSON-to-Arrow conversion is cached as it is in normal use.
``--profile N`` also runs ours once under cProfile and prints the N costliest functions
(cumulative time). ``--model bench-echo`` (``echo_lm.py``) answers with words of the query, so
text scorers tokenize the golds too, as with real answers; the dummy's "lol" matches no gold.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from synth_bench import write_bench

from meds_bench import tasks_path
from meds_bench._generate_configs import template
from meds_bench.catalog import TASKS


def write_plain_tasks(data: Path, out: Path) -> None:
    """One plain lm-eval YAML per catalogue task over ``data``'s file, plus the group ``plain_bench``."""
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for info in TASKS:
        ours = template(info.category)
        generation = {**ours["generation_kwargs"], "max_gen_toks": info.max_gen_toks}
        cfg = {
            "task": f"plain_{info.name}",
            "dataset_path": "json",
            "dataset_kwargs": {"data_files": {"test": str(data / info.hub_path)}, "field": "Instances"},
            "output_type": "generate_until",
            "test_split": "test",
            "fewshot_split": "test",
            "doc_to_text": "input",
            "doc_to_target": "output",
            "num_fewshot": ours.get("num_fewshot", 0),
            "generation_kwargs": generation,
            "metric_list": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True}],
        }
        (out / f"{cfg['task']}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        names.append(cfg["task"])
    group = {"group": "plain_bench", "task": names}
    (out / "plain_bench.yaml").write_text(yaml.safe_dump(group, sort_keys=False), encoding="utf-8")


def measure(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``cmd`` once; wall s, CPU s (user + sys) and peak RSS (MB) of the child, from ``wait4``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # stderr is read to the end before wait4, so a chatty child cannot block on a full pipe.
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = stderr.decode(errors="replace")[-3000:]
        raise SystemExit(f"bench_harness: {' '.join(cmd[:6])} ... exited {proc.returncode}:\n{tail}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 0),  # Linux reports KiB
    }


def lm_eval_cmd(tasks: str, include: Path, model: str = "dummy", profile: Path | None = None) -> list[str]:
    """The command line of one run of ``model`` (``dummy`` or ``bench-echo``) over ``tasks``."""
    entry = [str(Path(__file__).with_name("echo_lm.py"))] if model == "bench-echo" else ["-m", "lm_eval"]
    prof = ["-m", "cProfile", "-o", str(profile)] if profile else []
    return [sys.executable, *prof, *entry, "--model", model, "--tasks", tasks, "--include_path", str(include)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1500, help="documents per task when generating")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each, alternating")
    parser.add_argument("--data", type=Path, help="an existing data directory (default: generate one)")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions of ours")
    parser.add_argument(
        "--model", default="dummy", choices=("dummy", "bench-echo"), help="bench-echo: answers that share words"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = args.data or tmp / "data"
        if args.data is None:
            write_bench(data, args.docs)
        write_plain_tasks(data.resolve(), tmp / "plain")
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_DATASETS_CACHE": str(tmp / "datasets_cache"),
            "MEDS_BENCH_DATA_DIR": str(data.resolve()),
            "TOKENIZERS_PARALLELISM": "false",
        }
        commands = {
            "meds_bench": lm_eval_cmd("meds_bench", tasks_path(), args.model),
            "plain": lm_eval_cmd("plain_bench", tmp / "plain", args.model),
        }
        measure(commands["plain"], env)  # warm-up: builds the plain tasks' Arrow cache
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                runs[name].append(measure(cmd, env))
                print(name, runs[name][-1], file=sys.stderr, flush=True)
        profile = None
        if args.profile:
            stats = tmp / "ours.prof"
            measure(lm_eval_cmd("meds_bench", tasks_path(), args.model, profile=stats), env)
            profile = profile_summary(stats, args.profile)
    medians = {
        name: {key: statistics.median(r[key] for r in rs) for key in ("wall_s", "cpu_s", "peak_rss_mb")}
        for name, rs in runs.items()
    }
    report = {
        "model": args.model,
        "tasks": len(TASKS),
        "docs_per_task": args.docs if args.data is None else "from --data",
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
        "medians": medians,
        "ratio_cpu": round(medians["meds_bench"]["cpu_s"] / medians["plain"]["cpu_s"], 3),
        "ratio_peak_rss": round(medians["meds_bench"]["peak_rss_mb"] / medians["plain"]["peak_rss_mb"], 3),
    }
    print(json.dumps(report, indent=2))
    if profile:
        print(profile)
    return 0


def profile_summary(stats_path: Path, top: int) -> str:
    """The ``top`` functions by cumulative time of a cProfile dump, as pstats prints them."""
    import io
    import pstats

    buf = io.StringIO()
    pstats.Stats(str(stats_path), stream=buf).sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


if __name__ == "__main__":
    sys.exit(main())
