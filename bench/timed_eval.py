"""``meds-bench eval`` with its model's ``generate_until`` timed; the timing goes to a JSON file.

    python bench/timed_eval.py OUT.json eval --model vllm --model_args ... --tasks ...

Writes ``{"exit": status, "generate_s": time inside generate_until, "requests": requests it answered}``.
The model class is looked up in lm-eval's registry by its ``--model`` name (``hf``, ``vllm``,
``meds-openai``) and its ``generate_until`` wrapped before the run starts, so what is timed is the
generation phase alone: no interpreter start, task build, model load or scoring. Used by ``bench/bench_engines.py``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _model_name(argv: list[str]) -> str:
    return argv[argv.index("--model") + 1]


def main(argv: list[str]) -> int:
    out, cli_argv = Path(argv[0]), argv[1:]
    from lm_eval.api.registry import get_model

    from meds_bench import vllm_engine
    from meds_bench.cli import _register_models
    from meds_bench.cli import main as cli_main

    _register_models()
    vllm_engine.expose_cpu_build()  # lm-eval's vllm module reads version("vllm") when it is imported
    cls = get_model(_model_name(cli_argv))
    record = {"generate_s": 0.0, "requests": 0}
    untimed = cls.generate_until

    def generate_until(self, requests, *args, **kwargs):
        began = time.perf_counter()
        answers = untimed(self, requests, *args, **kwargs)
        record["generate_s"] += time.perf_counter() - began
        record["requests"] += len(requests)
        return answers

    cls.generate_until = generate_until
    status = cli_main(cli_argv)
    out.write_text(json.dumps({"exit": status, **record}))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
