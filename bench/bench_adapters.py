"""Throughput of ``meds-openai`` vs lm-eval's built-in ``local-chat-completions`` at equal concurrency.

Both talk to the same loopback OpenAI-compatible server (``tests/adapters_fake_server.py``, run in
its own process) that answers every request after a fixed latency, with no faults. Each model
first answers a short warm-up batch (untimed: SDK imports, connection set-up), then generates N
answers with ``num_concurrent`` parallel requests; ours starts from an empty cache every run, so
every request is a real HTTP call. Runs alternate between the two models. Prints requests/second
per run, the median of the runs and the ratio.

    python bench/bench_adapters.py --requests 400 --concurrency 8 --latency 0.05 --runs 3
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


def _time(lm, n: int) -> float:
    requests = _instances(lm, n)
    start = time.perf_counter()
    answers = lm.generate_until(requests, disable_tqdm=True)
    elapsed = time.perf_counter() - start
    assert len(answers) == n and all(answers), "every request must be answered"
    return n / elapsed


def _serve(latency: float, queue) -> None:  # runs in a child process
    server = FakeLLMServer(latency=latency).__enter__()
    queue.put(server.openai_url)
    time.sleep(24 * 3600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")

    from lm_eval.models.openai_completions import LocalChatCompletion

    import meds_bench_adapters

    results: dict[str, list[float]] = {"meds-openai": [], "local-chat-completions": []}
    queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(args.latency, queue), daemon=True)
    server.start()
    url = queue.get(timeout=30)

    def ours(cache: str) -> meds_bench_adapters.OpenAIChatLM:
        return meds_bench_adapters.OpenAIChatLM(
            model="gpt-4o", base_url=url, num_concurrent=args.concurrency, cache_dir=cache, progress=False
        )

    def builtin() -> LocalChatCompletion:
        return LocalChatCompletion(
            model="gpt-4o",
            base_url=f"{url}/chat/completions",
            num_concurrent=args.concurrency,
            tokenizer_backend=None,
            tokenized_requests=False,
        )

    try:
        with tempfile.TemporaryDirectory() as cache:
            _time(ours(cache), 2 * args.concurrency)  # warm-up, untimed
        _time(builtin(), 2 * args.concurrency)
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as cache:
                results["meds-openai"].append(_time(ours(cache), args.requests))
            results["local-chat-completions"].append(_time(builtin(), args.requests))
    finally:
        server.terminate()
    medians = {name: statistics.median(rates) for name, rates in results.items()}
    report = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "runs_req_per_s": {k: [round(r, 1) for r in v] for k, v in results.items()},
        "median_req_per_s": {k: round(v, 1) for k, v in medians.items()},
        "ratio_ours_over_builtin": round(medians["meds-openai"] / medians["local-chat-completions"], 3),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
