"""Results folders shaped like lm-eval 0.4.13's output, for the report tests.

``write_run`` writes ``<dir>/<model>/results_<date>.json`` (``results``, ``configs`` with our
``meds_bench_data`` provenance, ``n-samples``, ``config``) and, for tasks given documents,
``samples_<task>_<date>.jsonl`` lines with ``doc``, ``arguments``, ``resps``, ``filtered_resps`` and the
per-document metric values our scorer produces.
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
) -> Path:
    """One run; ``scores``: task -> metric -> value; ``samples``: task -> [(input, gold, response)]."""
    folder = root / model.replace("/", "__")
    folder.mkdir(parents=True, exist_ok=True)
    results, configs, n_samples = {}, {}, {}
    for name, metrics in scores.items():
        info = get_task(name)
        results[name] = {"alias": info.meds_id, "sample_len": n, **{f"{m},none": v for m, v in metrics.items()}}
        results[name].update({f"{m}_stderr,none": "N/A" for m in metrics})
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
