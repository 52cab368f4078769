"""Time ``meds-bench report`` on two full-size runs, without and with its uncertainty work.

    python bench/bench_report.py [--n 80000] [--runs 3]

Writes two runs of ``n`` documents each (``bench_scoring.py``'s synthetic predictions; the second
answers every third document with its gold), as lm-eval writes them with ``--log_samples``: one
samples file per task and a results file, once with standard errors and once without (as with
``--bootstrap_iters 0``). Each round times, in one process and alternating, ``report()`` plus
``headline()`` as ``meds-bench report`` runs them in three variants: results without standard
errors (no CIs: the reference), with them (CIs in every table, error bars), and with them plus
``--baseline`` (significance marks and the headline's paired CI, which read every sample). Prints
wall and CPU-time medians and the ratios to the reference.
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

from bench_scoring import write_predictions

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


def _median_text(ts: list[float]) -> str:
    return f"{', '.join(f'{t:.1f}' for t in ts)} s, median {statistics.median(ts):.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=80_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
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
