"""The task folder's README.md, in the form of lm-eval's task folders, rendered from the catalogue.

One renderer for both folders that carry one: the plugin's (``_generate_configs`` writes it beside
the YAMLs and ``--check`` covers it) and the export's (``meds-bench export-lm-eval``). They differ
only in the tasks and groups they hold and in the "Using this folder" section the caller passes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from meds_bench.catalog import (
    CATEGORIES,
    HUB_REPO_ID,
    OPEN_GROUP,
    OVERALL_GROUP,
    TASKS,
    TaskInfo,
    group_tree,
    tasks_in,
)
from meds_bench.metrics.table import scorer_of

# Written from the article's bibliographic record (npj Digital Medicine 8, article 58, 2025).
CITATION = """@article{wu2025medsbench,
  title   = {Towards evaluating and building versatile large language models for medicine},
  author  = {Wu, Chaoyi and Qiu, Pengcheng and Liu, Jinxin and Gu, Hongfei and Li, Na and Zhang, Ya
             and Wang, Yanfeng and Xie, Weidi},
  journal = {npj Digital Medicine},
  volume  = {8},
  pages   = {58},
  year    = {2025},
  doi     = {10.1038/s41746-024-01390-4}
}"""


def _id_ranges(ids: Sequence[int]) -> str:
    """``41, 42, 78, 83-94``: runs of three or more consecutive ids as a range."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def render_readme(tasks: Sequence[TaskInfo], groups: Mapping[str, str], usage: str) -> str:
    """README.md of a folder holding ``tasks`` and ``groups`` (name -> alias, in order); ``usage`` is
    the Markdown of its "Using this folder" section."""
    tree = group_tree()
    group_rows = [f"- `{g}` ({alias}): {', '.join(f'`{m}`' for m in tree[g])}" for g, alias in groups.items()]
    task_rows = [
        f"| `{t.name}` | {t.meds_id} | {CATEGORIES[t.category].title} | {t.language} | "
        f"{'credentialed' if t.credentialed else 'open'} | {', '.join(scorer_of(t).metric_names)} |"
        for t in tasks
    ]
    credentialed = [t.task_id for t in TASKS if t.credentialed]
    categories = "\n".join(f"- {c.title} (`{c.group}`, {len(tasks_in(c.key))})" for c in CATEGORIES.values())
    shots = sorted({c.num_fewshot for c in CATEGORIES.values()})
    return f"""# MedS-Bench

### Paper

Title: Towards evaluating and building versatile large language models for medicine

Wu, Qiu et al., *npj Digital Medicine* 8, 58 (2025), https://doi.org/10.1038/s41746-024-01390-4.

MedS-Bench asks a language model for clinical work: {len(TASKS)} task files in {len(CATEGORIES)} categories.
Every task is generative: the model writes its answer after a prompt that holds a few solved
cases ({" or ".join(map(str, shots))}, by category), the task's definition and the query, and the
written text is scored. The categories, with their group and number of tasks:

{categories}

Homepage: https://huggingface.co/datasets/{HUB_REPO_ID}

### Citation

```bibtex
{CITATION}
```

### Using this folder

{usage.strip()}

### Data

Task files are read from a folder laid out like the hub repository
(`<Category folder>/task<ID>_*.json[l]`), named by `$MEDS_BENCH_DATA_DIR` or by
`--metadata '{{"meds_bench_data_dir": "DIR"}}'`, else from the Hugging Face hub:
`{HUB_REPO_ID}`, then its last revision holding `Text_summarization/`, then
`{HUB_REPO_ID}-SPLIT`. The task class reads them itself, so the YAMLs name no `dataset_path`:
each file keeps its task definition beside its instances, and the published layouts differ in
file names and extensions. The results record where each file came from and its sha256 under
`configs.<task>.metadata.meds_bench_data`.

### Groups, Tags, and Tasks

#### Groups

{chr(10).join(group_rows)}

Category groups average their tasks' scores; the pooled groups weight them by size.

#### Tags

None.

#### Tasks

| task | MedS id | category | language | data | metrics |
|---|---|---|---|---|---|
{chr(10).join(task_rows)}

Metrics are on 0-100. `acc`, `exact_match`, `f1`, `macro_*`, `bleu1`, `rougeL` and `rouge1` are
corrected scores; the `*_paper` metrics apply the original release's rules; `extracted` is the
share of outputs an answer could be read from (each logged sample holds the answer read).

### Data licence

The open task files are the ones the MedS-Bench authors put on the Hugging Face hub, each under the
licence of the dataset it was made from (see the dataset card).

The credentialed tasks ({_id_ranges(credentialed)}: {len(credentialed)} of {len(TASKS)}) come from
PhysioNet-credentialed data (MedNLI, MIMIC-IV-Note, MIMIC-CXR, MIMIC-IV-ED), whose data use
agreements forbid passing them on: they are not on the hub and not in `{OPEN_GROUP}`.
Credentialed users build them from their own PhysioNet download with `meds-bench data build`
(meds-bench package) and point the data folder at the result; such data may go to an online
model API only where the provider neither keeps it nor trains on it. `{OVERALL_GROUP}` needs
every task.

### Checklist

For adding novel benchmarks/datasets to the library:

- [x] Is the task an existing benchmark in the literature?
- [x] Have you referenced the original paper that introduced the task?
- [x] If yes, does the original paper provide a reference implementation? If so, have you checked
  against the reference implementation and documented how to run such a test?
  (Yes: MAGIC-AI4Med/MedS-Ins. The `*_paper` metrics follow its scoring rules; the corrected
  metrics fix how answers are read; both are reported.)

If other tasks on this dataset are already supported:

- [ ] Is the "Main" variant of this task clearly denoted?
- [ ] Have you provided a short sentence in a README on what each new variant adds / evaluates?
- [ ] Have you noted which, if any, published evaluation setups are matched by this variant?
"""
