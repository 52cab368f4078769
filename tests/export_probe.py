"""Load MedS-Bench tasks through lm-eval from a task folder and report what they do, as JSON.

    python -I tests/export_probe.py [--block-meds-bench] INCLUDE_PATH TASK[,TASK...] OUT.json

For each task, the way lm-eval's own task tests use a task (``tests/test_tasks.py``: docs,
``doc_to_text``, ``construct_requests`` on ``limit`` docs, ``build_all_requests``), plus the
rendered prompts and the metrics of fixed predictions, so that two task folders can be compared
without a model. ``--block-meds-bench`` makes the meds-bench packages unimportable first (whatever
way they are installed), to prove a folder needs none of them.
"""

import importlib.abc
import json
import sys
from pathlib import Path

BLOCKED = ("meds_bench", "meds_bench_adapters", "medsins_sft")
LIMIT = 10  # what lm-eval's test_construct_requests asks for


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name} is blocked in this process", name=name)
        return None


def block_meds_bench() -> None:
    """Make the meds-bench packages unimportable in this process, however they are installed."""
    sys.meta_path.insert(0, _Blocker())


def predictions(doc: dict) -> list[str]:
    """Fixed outputs to score: the gold, a truncated gold, and an unrelated answer."""
    gold = doc["output"]
    return [gold, gold[: max(1, len(gold) // 2)], "The right answer is A: none of the above."]


def probe(include_path: str, names: list[str]) -> dict:
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=include_path, include_defaults=False)
    tasks = manager.load(names)["tasks"]
    report = {}
    for name, task in sorted(tasks.items(), key=lambda kv: str(kv[0])):
        task.set_fewshot_seed(1234)
        docs = list(task.test_docs())[:LIMIT]
        texts = [task.doc_to_text(doc) for doc in docs]
        requests = [task.construct_requests(doc=doc, ctx=text) for doc, text in zip(docs, texts, strict=True)]
        task.build_all_requests(rank=0, limit=LIMIT, world_size=1)
        shots = task.config.num_fewshot or 0
        contexts = [task.fewshot_context(doc, shots) for doc in docs]
        metrics = {}
        for k in range(3):
            per_metric: dict[str, list] = {}
            for doc in docs:
                for metric, value in task.process_results(doc, [predictions(doc)[k]]).items():
                    per_metric.setdefault(metric, []).append(value)
            metrics[k] = {m: task.aggregation()[m](values) for m, values in per_metric.items()}
        report[str(name)] = {
            "n_docs": len(list(task.test_docs())),
            "n_requests": len(requests),
            "n_instances": len(task.instances),
            "texts_end_in_space": any(t[-1:].isspace() for t in texts),
            "contexts": contexts,
            "metrics": metrics,
        }
    return report


def main(argv: list[str]) -> int:
    block = "--block-meds-bench" in argv
    include_path, names, out = [a for a in argv if a != "--block-meds-bench"]
    if block:
        block_meds_bench()
    report = probe(include_path, names.split(","))
    if block:
        report["_meds_bench_loaded"] = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    Path(out).write_text(json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
