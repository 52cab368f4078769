"""API adapters vs lm-eval's built-in chat models: throughput and fault handling on one loopback server.

    python bench/bench_adapters.py [--requests 320] [--concurrency 32] [--latency 0.2] [--runs 3]
                                   [--fault-every 0,10,3] [--providers openai,anthropic]

Pairs: ``meds-openai`` vs ``local-chat-completions`` (OpenAI Chat Completions wire format) and
``meds-anthropic`` vs ``anthropic-chat`` (Anthropic Messages; text blocks joined, see
``_anthropic_chat_joined``). All talk to the same server
(``tests/adapters_fake_server.py``, in its own process) that answers every request after a fixed
latency. ``--fault-every N`` gives one request in N (chosen by a hash of its body) a fault plan
(429, 500 then 429, 529/503, a hang past 1.5 s, malformed JSON, a dropped connection, 503 + drop +
408, 409; 0 = none). Each model first answers an untimed warm-up batch; then runs alternate
between the two models of a pair. Ours starts each run with an empty cache, so every request is
an HTTP call. Per run: requests/s; answers returned to lm-eval (non-empty); prompts lost (not
returned); server-side calls and repeated answers (a prompt answered more than once: billed
twice). A built-in that raises is recorded with its exception and no answers returned. Prints
JSON: every run, and per model and fault level the median req/s and its share of the ideal
(concurrency / latency).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from adapters_fake_server import FakeLLMServer  # noqa: E402
from lm_eval.api.instance import Instance  # noqa: E402


def _instances(lm, n: int) -> list[Instance]:
    out = []
    for i in range(n):
        messages = [{"role": "system", "content": "Definition."}, {"role": "user", "content": f"Input:\nq{i}\nOutput:"}]
        gen = {"until": ["\nInput:", "\n\n"], "max_gen_toks": 32, "do_sample": False}
        context = lm.apply_chat_template(messages)
        out.append(Instance("generate_until", {}, (context, gen), idx=0, metadata=("bench", i, 1)))
    return out


HANG_SECONDS = 1.5  # the timeout fault: no answer, then the server closes the connection


def _serve(latency: float, commands, replies) -> None:  # runs in a child process
    server = FakeLLMServer(latency=latency, hang_seconds=HANG_SECONDS).__enter__()
    replies.put((server.openai_url, server.anthropic_url))
    while True:
        command, value = commands.get()
        with server.lock:
            if command == "reset":  # new run: fault plans start again at attempt 0
                server.fault_every = value
                server.attempts.clear()
                server.answered.clear()
                server.bodies.clear()
                server.headers.clear()
                server.events.clear()
                replies.put(None)
            else:
                replies.put((sum(server.attempts.values()), dict(server.answered)))


class Server:
    """The loopback server process and its two commands (reset with a fault rate, read counts)."""

    def __init__(self, latency: float) -> None:
        self.commands: multiprocessing.Queue = multiprocessing.Queue()
        self.replies: multiprocessing.Queue = multiprocessing.Queue()
        self.process = multiprocessing.Process(target=_serve, args=(latency, self.commands, self.replies), daemon=True)
        self.process.start()
        self.openai_url, self.anthropic_url = self.replies.get(timeout=60)

    def reset(self, fault_every: int) -> None:
        self.commands.put(("reset", fault_every))
        self.replies.get(timeout=60)

    def counts(self) -> tuple[int, dict[str, int]]:
        self.commands.put(("counts", None))
        return self.replies.get(timeout=60)


def run_once(lm, n: int, server: Server, fault_every: int) -> dict[str, Any]:
    """One timed run of ``n`` requests; throughput and what happened to every prompt."""
    requests = _instances(lm, n)
    server.reset(fault_every)
    start = time.perf_counter()
    error = None
    try:
        answers = lm.generate_until(requests, disable_tqdm=True)
    except Exception as exc:  # a built-in gives up: record it, as a user would see an exit 1
        answers, error = [], f"{type(exc).__name__}: {str(exc)[:120]}"
    elapsed = time.perf_counter() - start
    calls, answered = server.counts()
    returned = sum(1 for a in answers if isinstance(a, str) and a)
    return {
        "req_per_s": round(n / elapsed, 1),
        "returned": returned,
        "lost": n - returned,
        "calls": calls,
        "repeated_answers": sum(max(0, k - 1) for k in answered.values()),
        **({"error": error} if error else {}),
    }


def _anthropic_chat_joined():
    """lm-eval's ``anthropic-chat``, reading a multi-block answer as one text.

    The built-in appends every text block of an answer as a generation of its own, so answers of
    two blocks (as the test server sends them; the API may too) misalign with the requests and
    the run fails; joining the blocks is the only change.
    """
    from lm_eval.models.anthropic_llms import AnthropicChat

    class AnthropicChatJoined(AnthropicChat):
        def parse_generations(self, outputs, **kwargs) -> list[str]:
            outputs = outputs if isinstance(outputs, list) else [outputs]
            return ["".join(block["text"] for block in out["content"]) for out in outputs]

    return AnthropicChatJoined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=320)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fault-every", default="0,10,3", help="comma list; one request in N gets faults (0: none)")
    parser.add_argument("--providers", default="openai,anthropic")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-bench-not-a-real-key")

    from lm_eval.models.openai_completions import LocalChatCompletion

    import meds_bench_adapters

    anthropic_chat = _anthropic_chat_joined()
    server = Server(args.latency)
    c = args.concurrency
    pairs = {
        "openai": {
            "meds-openai": lambda cache: meds_bench_adapters.OpenAIChatLM(
                model="gpt-4o", base_url=server.openai_url, num_concurrent=c, cache_dir=cache, progress=False
            ),
            "local-chat-completions": lambda cache: LocalChatCompletion(
                model="gpt-4o",
                base_url=f"{server.openai_url}/chat/completions",
                num_concurrent=c,
                tokenizer_backend=None,
                tokenized_requests=False,
            ),
        },
        "anthropic": {
            "meds-anthropic": lambda cache: meds_bench_adapters.AnthropicMessagesLM(
                model="claude-sonnet-4-20250514",
                base_url=server.anthropic_url,
                num_concurrent=c,
                cache_dir=cache,
                progress=False,
            ),
            "anthropic-chat": lambda cache: anthropic_chat(
                model="claude-sonnet-4-20250514",
                base_url=f"{server.anthropic_url}/v1/messages",
                num_concurrent=c,
                tokenized_requests=False,
            ),
        },
    }
    fault_levels = [int(x) for x in args.fault_every.split(",")]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    try:
        for provider in args.providers.split(","):
            models = pairs[provider]
            for make in models.values():  # warm-up, untimed: imports, connection set-up
                with tempfile.TemporaryDirectory() as cache:
                    run_once(make(cache), 2 * c, server, 0)
            for every in fault_levels:
                level = f"faults_1_in_{every}" if every else "no_faults"
                for _ in range(args.runs):
                    for name, make in models.items():
                        with tempfile.TemporaryDirectory() as cache:
                            result = run_once(make(cache), args.requests, server, every)
                        runs.setdefault(name, {}).setdefault(level, []).append(result)
                        print(name, level, result, file=sys.stderr, flush=True)
    finally:
        server.process.terminate()
    ideal = c / args.latency
    summary = {
        name: {
            level: {
                "median_req_per_s": statistics.median(r["req_per_s"] for r in rs),
                "share_of_ideal": round(statistics.median(r["req_per_s"] for r in rs) / ideal, 3),
                "lost_per_run": [r["lost"] for r in rs],
                "repeated_per_run": [r["repeated_answers"] for r in rs],
                "runs_with_error": sum(1 for r in rs if "error" in r),
            }
            for level, rs in levels.items()
        }
        for name, levels in runs.items()
    }
    report = {
        "requests": args.requests,
        "concurrency": c,
        "latency_s": args.latency,
        "ideal_req_per_s": round(ideal, 1),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "summary": summary,
        "runs": runs,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
