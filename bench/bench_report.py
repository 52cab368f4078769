"""Time ``meds-bench report`` on two full-size runs, without and with its uncertainty work; or, with
``--scale``, its page size, output size, wall time and peak memory at leaderboard scale.

    python bench/bench_report.py [--n 80000] [--runs 3]
    python bench/bench_report.py --scale 1,5,20 [--docs 1500] [--run DIR] [--compare-with SRC --compare-up-to 5]

Writes two runs of ``n`` documents each (``bench_scoring.py``'s synthetic predictions; the second
answers every third document with its gold), as lm-eval writes them with ``--log_samples``: one
samples file per task and a results file, once with standard errors and once without (as with
``--bootstrap_iters 0``). Each round times, in one process and alternating, ``report()`` plus
``headline()`` as ``meds-bench report`` runs them in three variants: results without standard
errors (no CIs: the reference), with them (CIs in every table, error bars), and with them plus
``--baseline`` (significance marks and the headline's paired CI, which read every sample). Prints
wall and CPU-time medians and the ratios to the reference.

``--scale``: one full-size run (``synth_bench.py --docs N`` data, ``lm_eval --model dummy
--log_samples``; or an existing ``--run`` folder) copied to as many runs as the largest count, each
under its own model name (``pretrained=bench/model-NN``, samples files hard-linked: the dummy model
answers every run alike). For each count, ``meds-bench report`` runs once in a child process over
that many runs; prints page size, output size, wall and CPU time and peak RSS (``wait4``).
``--compare-with SRC`` also runs the report of the source tree ``SRC`` (e.g. ``git archive`` of an
earlier commit) for the counts up to ``--compare-up-to``, alternating with ours.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_harness import lm_eval_cmd, measure
from bench_scoring import write_predictions
from synth_bench import write_bench

DATE = "2025-01-01T00-00-00.000000"


def write_run(folder: Path, preds: Path, improve: bool) -> Path:
    """Samples files and a results file (with standard errors) of the predictions in ``preds``
    (every third one made right with ``improve``); also ``<folder>-plain``: the same without them."""
    from lm_eval.utils import hash_string

    from meds_bench.catalog import get_task
    from meds_bench.metrics.rescore import Record, aggregate_groups, aggregate_task, read_predictions, score_records

    records = read_predictions(preds)
    if improve:
        records = [Record(r.task, r.doc, r.doc["output"]) if k % 3 == 0 else r for k, r in enumerate(records)]
    scores = score_records(records, jobs=2)
    by_task: dict[str, list] = {}
    for record, values in zip(records, scores, strict=True):
        by_task.setdefault(record.task, []).append((record, values))
    plain = folder.with_name(folder.name + "-plain")
    for where in (folder, plain):
        where.mkdir(parents=True)
    for task, rows in by_task.items():
        samples = folder / f"samples_{task}_{DATE}.jsonl"
        with samples.open("w", encoding="utf-8") as fh:
            for k, (record, values) in enumerate(rows):
                prompt = f"Input:\n{task} document {k}\nOutput:\n"
                line = {"doc_id": k, "doc": record.doc, "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": {}}},
                        "resps": [[record.prediction]], "filtered_resps": [record.prediction],
                        "prompt_hash": hash_string(prompt), "metrics": list(values), **values}  # fmt: skip
                fh.write(json.dumps(line) + "\n")
        (plain / samples.name).symlink_to(samples)
    for where, iters in ((folder, 100000), (plain, 0)):
        results = {task: aggregate_task(get_task(task), [v for _, v in rows], iters) for task, rows in by_task.items()}
        results |= aggregate_groups(results)
        (where / f"results_{DATE}.json").write_text(json.dumps({"results": results, "config": {"model": "bench"}}))
    return plain


def dummy_run(tmp: Path, docs: int) -> Path:
    """Synthetic data of ``docs`` documents per task and one ``lm_eval --model dummy --log_samples`` run
    over it; returns the run's folder (the one holding its results file)."""
    from meds_bench import tasks_path

    write_bench(tmp / "data", docs)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "HF_DATASETS_CACHE": str(tmp / "datasets_cache"), "MEDS_BENCH_DATA_DIR": str(tmp / "data")}  # fmt: skip
    cmd = [*lm_eval_cmd("meds_bench", tasks_path()), "--log_samples", "--output_path", str(tmp / "dummy")]
    print(f"one dummy run over {docs} documents per task: {measure(cmd, env)}", file=sys.stderr, flush=True)
    (results,) = (tmp / "dummy").rglob("results_*.json")
    return results.parent


def copy_run(run: Path, dest: Path, k: int) -> Path:
    """``run``'s results file as model ``bench/model-<k>`` in ``dest``, its samples files hard-linked."""
    (results,) = run.glob("results_*.json")
    raw = json.loads(results.read_text(encoding="utf-8"))
    raw["config"]["model_args"] = f"pretrained=bench/model-{k:02d}"
    dest.mkdir(parents=True)
    (dest / results.name).write_text(json.dumps(raw), encoding="utf-8")
    for samples in run.glob("samples_*.jsonl"):
        os.link(samples, dest / samples.name)
    return dest


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def report_figures(runs: list[Path], out: Path, source: Path | None = None) -> dict[str, float]:
    """``meds-bench report`` of ``runs`` into ``out`` in a child process (the code of ``source`` when
    given): page and output size (MB), wall and CPU s, peak RSS (MB)."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source / "lm_eval_tasks"), str(source), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "meds_bench.cli", "report", *map(str, runs), "--output", str(out)]
    figures = measure(cmd, env)
    return {"page_mb": round(_size_mb(out / "index.html"), 2), "output_mb": round(_size_mb(out), 2), **figures}


def scale_main(args: argparse.Namespace) -> int:
    """The ``--scale`` measurements (module docstring)."""
    counts = sorted({int(c) for c in args.scale.split(",")})
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        run = args.run or dummy_run(tmp, args.docs)
        runs = [copy_run(run, tmp / "runs" / f"model-{k:02d}", k) for k in range(1, counts[-1] + 1)]
        rows = []
        for n in counts:
            sides = [("this tree", None)]
            if args.compare_with and n <= args.compare_up_to:
                sides.append((args.compare_with.name, args.compare_with))
            for name, source in sides:
                figures = report_figures(runs[:n], tmp / f"out-{n}-{len(rows)}", source)
                rows.append({"runs": n, "code": name, **figures})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        samples_mb = _size_mb(run)
    print(f"load average {os.getloadavg()[0]:.1f}; samples {samples_mb:.0f} MB per run")
    print("| runs | code | page (MB) | output (MB) | wall (s) | CPU (s) | peak RSS (MB) |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['runs']} | {r['code']} | {r['page_mb']} | {r['output_mb']} | {r['wall_s']} | {r['cpu_s']} "
              f"| {r['peak_rss_mb']:.0f} |")  # fmt: skip
    return 0


def _median_text(ts: list[float]) -> str:
    return f"{', '.join(f'{t:.1f}' for t in ts)} s, median {statistics.median(ts):.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=80_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", metavar="COUNTS", help="comma-separated run counts, e.g. 1,5,20")
    parser.add_argument("--docs", type=int, default=1500, help="--scale: documents per task of the dummy run")
    parser.add_argument("--run", type=Path, help="--scale: an lm-eval --log_samples run folder to copy")
    parser.add_argument("--compare-with", type=Path, metavar="SRC", help="--scale: also run this source tree")
    parser.add_argument("--compare-up-to", type=int, default=5, help="--scale: largest count SRC runs for")
    args = parser.parse_args()
    if args.scale:
        return scale_main(args)
    from meds_bench.report import build

    with tempfile.TemporaryDirectory() as tmp:
        preds = Path(tmp) / "predictions.csv"
        write_predictions(preds, args.n)
        plain_a = write_run(Path(tmp) / "a", preds, improve=False)
        plain_b = write_run(Path(tmp) / "b", preds, improve=True)
        with_se = [f"base={Path(tmp) / 'a'}", f"better={Path(tmp) / 'b'}"]
        variants = {
            "no standard errors": ([f"base={plain_a}", f"better={plain_b}"], None),
            "with CIs": (with_se, None),
            "with CIs and --baseline": (with_se, Path(tmp) / "a"),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, (runs, baseline) in variants.items():
                start, cpu = time.perf_counter(), time.process_time()
                build.report(runs, Path(tmp) / "out", baseline=baseline)
                line = build.headline(runs, paired=baseline is not None)
                times[name].append((time.perf_counter() - start, time.process_time() - cpu))
    print(line.splitlines()[-1])
    print(f"2 runs x {args.n} documents, load average {os.getloadavg()[0]:.1f}, report + headline:")
    for k, kind in enumerate(("wall", "CPU")):
        ref = statistics.median(t[k] for t in times["no standard errors"])
        for name, ts in times.items():
            series = [t[k] for t in ts]
            print(f"  {kind}, {name}: {_median_text(series)} ({statistics.median(series) / ref:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
