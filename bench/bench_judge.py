"""``meds-bench judge`` against a loopback stand-in judge: throughput, and the cost of the controls.

    python bench/bench_judge.py [--answers 640] [--concurrency 32] [--latency 0.2] [--runs 3]
                                [--control-tasks 3] [--control-task-docs 200] [--control-docs 3]

The judge is ``meds-openai`` (``num_concurrent`` in its SPEC) talking to ``tests/adapters_fake_server.py`` in its
own process, which answers every request after ``--latency`` seconds with the stand-in's JSON verdict
(``tests/judge_stand_in.py``, model ``judge-reader``: it scores by word overlap, so the controls pass).

Throughput: one saved run of ``--answers`` rationale answers, judged with ``--no-controls``; each repeat starts
with an empty cache (``MEDS_BENCH_API_CACHE``), so every answer is one HTTP request. The judging time is the time
inside ``meds_bench.judge.cli.judge`` (the adapter's ``generate_until`` and reading the replies); the command time
adds loading the run, the rows (the paper's BLEU-1/ROUGE-1 of every answer), the statistics and the files. The
ideal judging time is ``answers * latency / concurrency``. An untimed warm-up of ``2 * concurrency`` answers runs
first.

Adapter alone: after each judge repeat, the same requests (messages, schema, output limit) are sent by the
adapter's ``generate_until`` on instances built beforehand, with an empty cache: what the judge layer adds is the
judging time minus this. CPU seconds of this process (``time.process_time``, all threads; the server is
another process) are recorded beside both wall times.

Controls: a run of ``--control-tasks`` tasks x ``--control-task-docs`` documents judged with the controls on
(``--control-docs`` per task), with a prices file for the stand-in model; ``judge_results.json``'s ``cost`` gives
the judging and the controls in dollars (tokens as the fake server counts them: 4 JSON characters per token).

Prints JSON: every repeat, the medians, the share of the ideal and the controls' share of the cost.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from adapters_fake_server import FakeLLMServer  # noqa: E402
from judge_stand_in import stand_in  # noqa: E402

JUDGE_MODEL = "judge-reader"
THROUGHPUT_TASK = "meds_bench_rationale_en"
CONTROL_TASKS = ("meds_bench_rationale_en", "meds_bench_explanation_healthfact", "meds_bench_summarization_meqsum")
STAND_IN_PRICE = {"input": 3.0, "output": 15.0}  # USD per 1M tokens; any price gives the same share
LETTERS = "abcdefghijklmnoprstuv"


def _serve(latency: float, replies) -> None:  # runs in a child process
    server = FakeLLMServer(latency=latency, answer=stand_in()).__enter__()
    replies.put(server.openai_url)
    while True:
        time.sleep(3600)


def _words(rng: random.Random, n: int) -> str:
    """``n`` made-up words of 3-8 letters (about English's length): two texts share few by chance."""
    return " ".join("".join(rng.choices(LETTERS, k=rng.randint(3, 8))) for _ in range(n))


def write_run(folder: Path, docs_per_task: dict[str, int], seed: int = 0) -> Path:
    """An lm-eval ``--log_samples`` folder: per task, documents sized as the catalog's category (mean input and
    gold words), answers that share about half of the gold's words."""
    from meds_bench.catalog import CATEGORIES, get_task

    rng = random.Random(seed)
    out = folder / "model__x"
    out.mkdir(parents=True)
    for task, n in docs_per_task.items():
        input_words, gold_words = CATEGORIES[get_task(task).category].doc_words
        lines = []
        for doc_id in range(n):
            gold = f"{doc_id} {_words(rng, gold_words)}"
            half = gold.split()[: gold_words // 2]
            answer = " ".join([*half, _words(rng, gold_words - len(half))])
            doc = {"id": doc_id, "input": _words(rng, input_words), "output": gold, "references": [gold]}
            lines.append(json.dumps({"doc_id": doc_id, "doc": doc, "target": gold, "arguments": [],
                                     "resps": [[answer]], "filtered_resps": [answer]}))  # fmt: skip
        (out / f"samples_{task}_2026-12-05T10-00-00.jsonl").write_text("\n".join(lines) + "\n")
    config = {"model": "hf", "model_args": "pretrained=org/tiny"}
    (out / "results_2026-12-05T10-00-00.json").write_text(json.dumps({"config": config, "results": {}}))
    return folder


def judge_once(run: Path, spec: str, out: Path, *extra: str) -> dict[str, float]:
    """One ``meds-bench judge`` with an empty cache: command and judging seconds, requests sent."""
    from meds_bench.cli import main
    from meds_bench.judge import cli

    judging = [0.0]
    cpu = [0.0]
    sent = [0]
    inner = cli.judge

    def timed(lm: Any, items: Any, structured: bool, quiet: bool = False) -> Any:
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            return inner(lm, items, structured, quiet)
        finally:
            judging[0] += time.perf_counter() - start
            cpu[0] += time.process_time() - start_cpu
            sent[0] += len(items)

    with tempfile.TemporaryDirectory() as cache:
        os.environ["MEDS_BENCH_API_CACHE"] = cache
        cli.judge = timed
        start = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                status = main(["judge", str(run), "--judge", spec, "--output", str(out), *extra])
        finally:
            cli.judge = inner
        command = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"meds-bench judge exited {status}")
    return {
        "command_s": round(command, 3),
        "judging_s": round(judging[0], 3),
        "judging_cpu_s": round(cpu[0], 3),
        "requests": sent[0],
    }


def adapter_once(run: Path, spec: str) -> dict[str, float]:
    """The same judge requests sent by the adapter alone (``generate_until`` on prepared instances, empty cache):
    the floor the judging time is compared with."""
    from lm_eval.api.instance import Instance

    from meds_bench.catalog import get_task
    from meds_bench.judge.judges import JUDGE_MAX_TOKENS, make_judge, parse_spec
    from meds_bench.judge.prompts import as_context, judge_messages, reply_schema
    from meds_bench.judge.rubrics import rubric
    from meds_bench.judge.saved_runs import load_saved_run

    instances = []
    for i, a in enumerate(load_saved_run(run).answers):
        rules = rubric(get_task(a.task).category)
        gen = {"until": [], "max_gen_toks": JUDGE_MAX_TOKENS, "do_sample": False, "json_schema": reply_schema(rules)}
        context = as_context(judge_messages(rules, a.query, a.reference, a.answer))
        instances.append(Instance("generate_until", {}, (context, gen), i, (a.task, str(a.doc_id), 1)))
    with tempfile.TemporaryDirectory() as cache:
        os.environ["MEDS_BENCH_API_CACHE"] = cache
        lm = make_judge(parse_spec(spec))
        start, start_cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stderr(io.StringIO()):
            lm.generate_until(instances, disable_tqdm=True)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return {"adapter_s": round(elapsed, 3), "adapter_cpu_s": round(cpu, 3), "requests": len(instances)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=640)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--control-tasks", type=int, default=3)
    parser.add_argument("--control-task-docs", type=int, default=200)
    parser.add_argument("--control-docs", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")

    replies: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(args.latency, replies), daemon=True)
    server.start()
    url = replies.get(timeout=60)
    c = args.concurrency
    spec = f"meds-openai:model={JUDGE_MODEL},base_url={url},num_concurrent={c},progress=false"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            warm = write_run(root / "warm", {THROUGHPUT_TASK: 2 * c}, seed=1)
            judge_once(warm, spec, root / "warm-out", "--no-controls")
            run = write_run(root / "throughput", {THROUGHPUT_TASK: args.answers})
            repeats = []
            for i in range(args.runs):
                result = judge_once(run, spec, root / f"out-{i}", "--no-controls")
                result["req_per_s"] = round(result["requests"] / result["judging_s"], 1)
                alone = adapter_once(run, spec)
                result["adapter_alone_s"], result["adapter_alone_cpu_s"] = alone["adapter_s"], alone["adapter_cpu_s"]
                repeats.append(result)
                print("throughput", result, file=sys.stderr, flush=True)

            tasks = {task: args.control_task_docs for task in CONTROL_TASKS[: args.control_tasks]}
            controls_run = write_run(root / "controls", tasks, seed=2)
            prices = root / "prices.json"
            prices.write_text(json.dumps({"models": {JUDGE_MODEL: STAND_IN_PRICE}}))
            out = root / "controls-out"
            timing = judge_once(controls_run, f"{spec},prices={prices}", out, "--control-docs", str(args.control_docs))
            results = json.loads((out / "judge_results.json").read_text())
            (judged,) = results["runs"].values()
            checks = {
                task: {kind: entry[kind]["passed"] for kind in ("reference", "swapped") if kind in entry}
                for task, entry in judged["controls"].items()
            }
    finally:
        server.terminate()
    ideal_s = args.answers * args.latency / c
    judging = statistics.median(r["judging_s"] for r in repeats)
    command = statistics.median(r["command_s"] for r in repeats)
    cost = results["cost"]
    report = {
        "answers": args.answers,
        "concurrency": c,
        "latency_s": args.latency,
        "ideal_judging_s": round(ideal_s, 3),
        "ideal_req_per_s": round(c / args.latency, 1),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "throughput": {
            "median_judging_s": judging,
            "median_command_s": command,
            "median_req_per_s": statistics.median(r["req_per_s"] for r in repeats),
            "share_of_ideal": round(ideal_s / judging, 3),
            "median_adapter_alone_s": statistics.median(r["adapter_alone_s"] for r in repeats),
            "adapter_alone_share_of_ideal": round(
                ideal_s / statistics.median(r["adapter_alone_s"] for r in repeats), 3
            ),
            "median_judging_cpu_s": statistics.median(r["judging_cpu_s"] for r in repeats),
            "median_adapter_alone_cpu_s": statistics.median(r["adapter_alone_cpu_s"] for r in repeats),
            "median_after_judging_s": round(statistics.median(r["command_s"] - r["judging_s"] for r in repeats), 3),
            "repeats": repeats,
        },
        "controls": {
            "tasks": tasks,
            "control_docs": args.control_docs,
            "requests": timing["requests"],
            "cost_usd": cost,
            "controls_share_of_judging": round(cost["controls"] / cost["judging"], 4) if cost["judging"] else None,
            "controls_passed": checks,
            "command_s": timing["command_s"],
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
