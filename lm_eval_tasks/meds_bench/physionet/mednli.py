"""MedNLI test split -> tasks 41 (discriminative) and 42 (generative).

Input: the MedNLI directory (or ``mli_test_v1.jsonl`` itself); keys ``sentence1``, ``sentence2``,
``gold_label``. Fixes against the original script: the test split is read (it read the train split
for the ``test_`` files), sentences keep their own capitalisation (``str.capitalize`` lowercased
everything after the first letter) and a period is added only when the sentence lacks final
punctuation (no more double periods). Task 42 keeps entailment pairs only, as the original did.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from meds_bench.catalog import get_task
from meds_bench.data import sha256_of
from meds_bench.physionet.common import RawDataError, SourceBuild, TaskBuild, find_raw_file, open_text
from meds_bench.physionet.definitions import DEFINITIONS
from meds_bench.text_files import NotJsonLineError, json_lines

SOURCE = "mednli"
NAME = "MedNLI"
URL = "https://physionet.org/content/mednli/"
WHERE = "mli_test_v1.jsonl in the MedNLI release (one JSON object per line)"
LABELS = {"entailment": "Entailment", "contradiction": "Contradiction", "neutral": "Neutral"}
DEFAULT_SIZE = 1422  # the whole MedNLI test split, as in the paper
REQUIRED = ("sentence1", "sentence2", "gold_label")


def _first_upper(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = _first_upper(text)
    return text if text.endswith((".", "!", "?")) else f"{text}."


def read_pairs(path: Path) -> list[dict[str, str]]:
    """The JSON lines of a MedNLI file, each checked for the three keys used."""
    pairs = []
    with open_text(path) as handle:
        try:
            for lineno, obj in json_lines(handle, path):
                missing = [key for key in REQUIRED if not isinstance(obj, dict) or not isinstance(obj.get(key), str)]
                if missing:
                    raise RawDataError(f"{path}: line {lineno} lacks key(s) {', '.join(missing)}; expected {WHERE}")
                pairs.append(obj)
        except NotJsonLineError as err:
            raise RawDataError(f"{err}; expected {WHERE}") from None
    return pairs


def build(raw: Path) -> SourceBuild:
    """Both NLI tasks from the MedNLI test split."""
    path = find_raw_file(raw, ["mli_test_v1.jsonl"], WHERE, "mli_*.jsonl*")
    discriminative = TaskBuild(get_task(41), DEFINITIONS[41], DEFAULT_SIZE)
    generative = TaskBuild(get_task(42), DEFINITIONS[42], DEFAULT_SIZE)
    dropped: Counter[str] = Counter()
    for pair in read_pairs(path):
        label = LABELS.get(pair["gold_label"].strip().lower())
        if label is None:
            dropped["gold_label not entailment/contradiction/neutral"] += 1
            continue
        premise, hypothesis = pair["sentence1"].strip(), pair["sentence2"].strip()
        discriminative.instances.append({"input": f"Sentence1: {premise}\n\nSentence2: {hypothesis}", "output": label})
        if label == "Entailment":
            generative.instances.append({"input": _first_upper(premise), "output": _sentence(hypothesis)})
        else:
            dropped["task42: not an entailment pair"] += 1
    notes = [] if path.name.startswith("mli_test") else [f"read {path.name}: MedS-Bench uses the test split"]
    return SourceBuild(SOURCE, [discriminative, generative], {path.name: sha256_of(path)}, dropped, notes)
