"""Time ``meds-bench report`` on two full-size runs with and without its uncertainty work.

    python bench/bench_report.py [--n 80000] [--runs 3]

Writes two runs of ``n`` documents each (``bench_scoring.py``'s synthetic predictions; the second
answers every third document with its gold), as lm-eval writes them with ``--log_samples``: a
results file with standard errors and one samples file per task. Each round times, in one process,
``report()`` plus ``headline()`` as ``meds-bench report`` runs them, once as shipped (CIs in the
tables and charts, the paired CI and p-value on the headline) and once with the paired comparison
switched off, alternating; prints wall and CPU-time medians and their ratios. Reading the standard errors and the
category CIs cannot be switched off and is inside both figures.
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


def write_run(folder: Path, preds: Path, improve: bool) -> None:
    """A results file and samples files of the predictions in ``preds`` (every third one made right)."""
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
    folder.mkdir(parents=True)
    for task, rows in by_task.items():
        with (folder / f"samples_{task}_{DATE}.jsonl").open("w", encoding="utf-8") as fh:
            for k, (record, values) in enumerate(rows):
                prompt = f"Input:\n{task} document {k}\nOutput:\n"
                line = {"doc_id": k, "doc": record.doc, "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": {}}},
                        "resps": [[record.prediction]], "filtered_resps": [record.prediction],
                        "prompt_hash": hash_string(prompt), "metrics": list(values), **values}  # fmt: skip
                fh.write(json.dumps(line) + "\n")
    results = {task: aggregate_task(get_task(task), [v for _, v in rows]) for task, rows in by_task.items()}
    results |= aggregate_groups(results)
    (folder / f"results_{DATE}.json").write_text(json.dumps({"results": results, "config": {"model": "bench"}}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=80_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from meds_bench.report import build

    shipped, without = [], []
    paired_text = build.paired_text
    line = ""
    with tempfile.TemporaryDirectory() as tmp:
        preds = Path(tmp) / "predictions.csv"
        write_predictions(preds, args.n)
        write_run(Path(tmp) / "a", preds, improve=False)
        write_run(Path(tmp) / "b", preds, improve=True)
        runs = [f"base={Path(tmp) / 'a'}", f"better={Path(tmp) / 'b'}"]
        for _ in range(args.runs):
            for variant, times in ((paired_text, shipped), (lambda run, base: "", without)):
                build.paired_text = variant
                start, cpu = time.perf_counter(), time.process_time()
                build.report(runs, Path(tmp) / "out")
                lines = build.headline(runs)
                times.append((time.perf_counter() - start, time.process_time() - cpu))
                line = lines if times is shipped else line
        build.paired_text = paired_text
    print(line.splitlines()[-1])
    print(f"2 runs x {args.n} documents, load average {os.getloadavg()[0]:.1f}, report + headline:")
    for k, kind in enumerate(("wall", "CPU")):
        off, on = [t[k] for t in without], [t[k] for t in shipped]
        text = [f"{', '.join(f'{t:.1f}' for t in ts)} s, median {statistics.median(ts):.1f} s" for ts in (off, on)]
        ratio = statistics.median(on) / statistics.median(off)
        print(
            f"  {kind}: without the paired comparison {text[0]}; as shipped {text[1]}; shipped / without {ratio:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
