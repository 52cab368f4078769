"""Batch mode vs synchronous requests: recorded cost and wall time against the loopback batch fakes.

    python bench/bench_batch.py [--requests 2000] [--concurrency 32] [--latency 0.2] [--providers openai,anthropic]

For each provider the same ``--requests`` prompts (two tasks) are answered twice, each time with an
empty response cache: synchronously (``--concurrency`` requests in flight, each answered after
``--latency`` seconds by ``tests/adapters_fake_server.py``) and with ``batch=true`` (one batch on
``tests/batch_fake_server.py``, which ends it at the first status request, polled every 0.05 s). The
prices are the bundled table's (batch rates: half). Prints JSON: per provider and mode the wall time,
answers, recorded cost, and the batch/sync cost ratio. The fake finishes a batch at once: the wall time
of a real batch is the provider's turnaround (minutes to 24 h), not this figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from adapters_fake_server import make_instances  # noqa: E402
from batch_fake_server import FakeBatchServer  # noqa: E402

import meds_bench_adapters as adapters  # noqa: E402

PROVIDERS = {
    "openai": (adapters.OpenAIChatLM, "gpt-4o", "openai_url"),
    "anthropic": (adapters.AnthropicMessagesLM, "claude-sonnet-4-20250514", "anthropic_url"),
}


def _run(provider: str, n: int, concurrency: int, latency: float, batch: bool) -> dict:
    cls, model, url_attr = PROVIDERS[provider]
    requests = make_instances("meds_bench_mcqa_medqa_en", n // 2) + make_instances("meds_bench_ner_bc4chem", n - n // 2)
    with FakeBatchServer(latency=latency) as srv, tempfile.TemporaryDirectory() as cache:
        lm = cls(
            model=model,
            base_url=getattr(srv, url_attr),
            cache_dir=cache,
            num_concurrent=concurrency,
            progress=False,
            batch=batch,
            batch_poll=0.05,
        )
        start = time.perf_counter()
        out = lm.generate_until(requests)
        wall = time.perf_counter() - start
        total = lm.get_model_info()["meds_api"]["usage"]["total"]
        return {
            "wall_s": round(wall, 3),
            "answers": sum(bool(o) for o in out),
            "cost_usd": total["cost_usd"],
            "input_tokens": total["input_tokens"],
            "output_tokens": total["output_tokens"],
            "batches": srv.created,
            "http_calls": sum(srv.attempts.values()),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--providers", default="openai,anthropic")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-key")
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-bench-not-a-key")
    report = {}
    for provider in args.providers.split(","):
        sync = _run(provider, args.requests, args.concurrency, args.latency, batch=False)
        batch = _run(provider, args.requests, args.concurrency, args.latency, batch=True)
        report[provider] = {"sync": sync, "batch": batch, "cost_ratio": round(batch["cost_usd"] / sync["cost_usd"], 4)}
    print(json.dumps({"settings": vars(args), "results": report}, indent=1))


if __name__ == "__main__":
    main()
