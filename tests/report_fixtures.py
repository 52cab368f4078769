"""Results folders shaped like lm-eval 0.4.13's output, for the report tests.

``write_run`` writes ``<dir>/<model>/results_<date>.json`` (``results``, ``configs`` with our
``meds_bench_data`` provenance, ``n-samples``, ``config``) and, for tasks given documents,
``samples_<task>_<date>.jsonl`` lines with ``doc``, ``arguments``, ``resps``, ``filtered_resps`` and the
per-document metric values our scorer produces. ``set_api_status`` records a request's status in a
samples line as our API adapters do; ``api_run_with_one_output_limit`` is an API run with one unanswered
document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meds_bench.catalog import get_task
from meds_bench.metrics.scorers import score_doc

DATE = "2025-01-02T03-04-05.678901"


def write_run(
    root: Path,
    model: str,
    scores: dict[str, dict[str, float]],
    source: str = "local",
    samples: dict[str, list[tuple[str, str, str]]] | None = None,
    api_usage: dict[str, Any] | None = None,
    n: int = 10,
    limit: int | None = None,
    stderr: float | None = None,
) -> Path:
    """One run; ``scores``: task -> metric -> value; ``samples``: task -> [(input, gold, response)];
    ``stderr``: every metric's standard error (default lm-eval's "N/A")."""
    folder = root / model.replace("/", "__")
    folder.mkdir(parents=True, exist_ok=True)
    results, configs, n_samples = {}, {}, {}
    for name, metrics in scores.items():
        info = get_task(name)
        results[name] = {"alias": info.meds_id, "sample_len": n, **{f"{m},none": v for m, v in metrics.items()}}
        results[name].update({f"{m}_stderr,none": "N/A" if stderr is None else stderr for m in metrics})
        provenance = {
            "source": source,
            "location": "/data/meds" if source != "hub" else "Henrychur/MedS-Bench@abc123",
            "file": info.hub_path,
            "sha256": f"{info.task_id:064x}",
            "n_instances": n,
        }
        configs[name] = {"task": name, "metadata": {"version": 1.0, "meds_bench_data": provenance}}
        n_samples[name] = {"original": n * 2 if limit else n, "effective": n}
    config: dict[str, Any] = {"model": "hf", "model_args": {"pretrained": model}, "limit": limit}
    if api_usage is not None:
        config = {"model": "meds-openai", "model_args": {"model": model}, "limit": limit}
        config["meds_api"] = {"provider": "openai", "model": model, "dry_run": False, "usage": api_usage}
    raw = {"results": results, "configs": configs, "n-samples": n_samples, "config": config, "model_name": model}
    path = folder / f"results_{DATE}.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    for name, docs in (samples or {}).items():
        with (folder / f"samples_{name}_{DATE}.jsonl").open("w", encoding="utf-8") as fh:
            for k, (text, gold, response) in enumerate(docs):
                doc = {"id": k, "input": text, "output": gold, "references": [gold], "task": name}
                metrics = score_doc(doc, response)
                line = {
                    "doc_id": k,
                    "doc": doc,
                    "target": gold,
                    "arguments": {"gen_args_0": {"arg_0": f"Definition.\nInput:\n{text}\nOutput:\n", "arg_1": {}}},
                    "resps": [[response]],
                    "filtered_resps": [response],
                    "filter": "none",
                    "metrics": list(metrics),
                    **metrics,
                }
                fh.write(json.dumps(line) + "\n")
    return path


def set_api_status(results: Path, task: str, doc_id: int, status: str) -> Path:
    """Record in a run's samples file, as our API adapters do, that ``doc_id``'s request ended with ``status``."""
    path = results.with_name(f"samples_{task}_{DATE}.jsonl")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        if line["doc_id"] == doc_id:
            line["arguments"]["gen_args_0"]["arg_1"] = {"until": ["\n\n"], "meds_api": {"status": status}}
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


MCQA = [
    "meds_bench_mcqa_medqa_en",
    "meds_bench_mcqa_medqa_zh",
    "meds_bench_mcqa_igakuqa_ja",
    "meds_bench_mcqa_frenchmedmcqa_fr",
    "meds_bench_mcqa_rumedbench_ru",
    "meds_bench_mcqa_headqa_es",
    "meds_bench_mcqa_medmcqa",
    "meds_bench_mcqa_pubmedqa",
]
NER = ["meds_bench_ner_bc4chem", "meds_bench_ner_bc5chem", "meds_bench_ner_bc5disease", "meds_bench_ner_species800"]
MCQA_DOCS = [
    ("Which drug? A. aspirin B. heparin C. insulin D. warfarin", "The right answer is B: heparin", "B"),
    ("Which organ? A. liver B. lung C. heart D. kidney", "The right answer is A: liver", "The answer is C"),
    ("Which vitamin? A. K B. C C. D D. E", "The right answer is C: D", "C"),
]
NER_DOCS = [("Aspirin and heparin were given.", "Aspirin, heparin.", "aspirin.")]


def alpha_scores() -> dict[str, dict[str, float]]:
    """A model evaluated on all of MCQA (acc 10..80) and NER (F1 40, 60, 80, 20)."""
    scores = {name: {"acc": 10.0 * (k + 1), "acc_paper": 5.0} for k, name in enumerate(MCQA)}
    scores |= {name: {"f1": f1, "precision": 50.0, "recall": 50.0, "f1_paper": 1.0} for name, f1 in
               zip(NER, (40.0, 60.0, 80.0, 20.0), strict=True)}  # fmt: skip
    return scores


# One output_limit reply out of three documents: its empty answer is scored 0, the paper's way.
API_DOCS = [MCQA_DOCS[0], (*MCQA_DOCS[1][:2], ""), MCQA_DOCS[2]]
API_USAGE = {
    "total": {"sent": 2, "output_limit": 1},
    "per_task": {MCQA[0]: {"sent": 2, "cached": 0, "output_limit": 1}},
}


def api_run_with_one_output_limit(root: Path) -> Path:
    """An API run of task57 whose document 1 got no answer text (status ``output_limit``)."""
    path = write_run(root, "gpt-x", {MCQA[0]: {"acc": 200 / 3}}, samples={MCQA[0]: API_DOCS}, api_usage=API_USAGE, n=3)
    set_api_status(path, MCQA[0], 1, "output_limit")
    return path
