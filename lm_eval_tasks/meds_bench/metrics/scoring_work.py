"""Scoring many predictions at once (``meds-bench score``, ``compare``): the work split across worker
processes by its cost, and the references' tokenizations read from and saved to the on-disk cache
(:mod:`meds_bench.metrics.token_cache`).

Tokenizing for BLEU/ROUGE is nearly all of the time, and its cost grows with the texts' length and
depends on the language (janome is about twelve times slower per character than NLTK's English
tokenizer, jieba about twice), while a closed-set answer costs next to nothing. So the documents are
dealt into ``8 x jobs`` parts of near-equal estimated cost (longest first, each to the lightest part),
not by count or by task: one task's samples file of Japanese rationales would otherwise keep one
worker busy while the others wait. Scores come back in the records' order whatever the split.
"""

from __future__ import annotations

import heapq
import multiprocessing
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meds_bench.catalog import get_task
from meds_bench.metrics import token_cache
from meds_bench.metrics.closed_set import gold_string
from meds_bench.metrics.scorers import SCORERS, score_doc

if TYPE_CHECKING:
    from meds_bench.metrics.rescore import Record
    from meds_bench.metrics.tokenization import TokenMemo

PARALLEL_MIN = 2000  # below this many documents, worker start-up costs more than it saves
PARTS_PER_JOB = 8
# Estimated tokenizing cost per character, relative to NLTK's English tokenizer (measured on the
# bench's texts), and the fixed cost of any document, in characters.
CHAR_COST = {"ja": 12.0, "zh": 2.0}
DOC_COST = 20.0

# The records being scored and the reference memo, as each worker process sees them.
_records: Sequence[Record] = ()
_memo: TokenMemo | None = None
Added = dict[str, token_cache.Entries]  # task -> reference tokenizations made while scoring it


def document_cost(record: Record, known: Mapping[tuple[str, str], Any]) -> float:
    """Estimated cost of scoring one record: the characters to tokenize (the reference's only when
    it is not known yet), weighted by language, plus a fixed cost per document."""
    info = get_task(record.task)
    if not SCORERS[info.scorer].tokenizes:
        return DOC_COST
    chars = len(record.prediction) if isinstance(record.prediction, str) else 0
    gold = gold_string(record.doc)
    if (info.language, gold) not in known:
        chars += len(gold)
    return DOC_COST + chars * CHAR_COST.get(info.language, 1.0)


def split_by_cost(costs: Sequence[float], parts: int) -> list[list[int]]:
    """Indices of ``costs`` dealt into at most ``parts`` lists of near-equal total cost (longest
    first, each to the lightest list), heaviest list first; every index in exactly one list."""
    heap = [(0.0, k, []) for k in range(max(1, min(parts, len(costs))))]
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        total, k, members = heapq.heappop(heap)
        members.append(i)
        heapq.heappush(heap, (total + costs[i], k, members))
    return [members for _, _, members in sorted(heap, key=lambda part: -part[0]) if members]


def _start(records: Sequence[Record], memo: TokenMemo | None) -> None:
    """Set up a process to score ``records`` (the pool's initializer; also the serial path); no
    records and no memo set it back."""
    from meds_bench.metrics.tokenization import use_reference_memo  # imports nltk: only when scoring

    global _records, _memo
    _records, _memo = records, memo
    use_reference_memo(memo)


def _score_part(indices: Sequence[int]) -> tuple[list[dict[str, Any]], Added]:
    """Scores of the records at ``indices``, and the reference tokenizations made, per task."""
    assert _memo is not None, "_start sets the memo first"
    scores: list[dict[str, Any]] = []
    added: Added = {}
    for i in indices:
        record = _records[i]
        before = len(_memo.added)
        scores.append(score_doc(record.doc, record.prediction, record.task))
        for key in _memo.added[before:]:
            added.setdefault(record.task, {})[key] = _memo.known[key]
    return scores, added


def _cached(records: Sequence[Record], directory: Path) -> tuple[dict[str, str], dict[str, token_cache.Entries]]:
    """Cache key and stored entries of each task among ``records``."""
    golds: dict[str, set[str]] = {}
    for record in records:
        golds.setdefault(record.task, set()).add(gold_string(record.doc))
    keys = {task: token_cache.cache_key(task, texts) for task, texts in golds.items()}
    return keys, {task: token_cache.load(directory, key) for task, key in keys.items()}


def score_records(
    records: Sequence[Record], jobs: int = 1, token_cache_dir: Path | None = None
) -> list[dict[str, Any]]:
    """Per-document metric values of every record, in order, with ``jobs`` worker processes.

    ``token_cache_dir``: read the references' tokenizations from this cache directory and save the
    new ones there (None: no disk cache). The values are the same either way.
    """
    from meds_bench.metrics.tokenization import TokenMemo

    keys, stored = _cached(records, token_cache_dir) if token_cache_dir is not None else ({}, {})
    known = {key: tokens for entries in stored.values() for key, tokens in entries.items()}
    memo = TokenMemo(known, unpack=token_cache.tokens_of)
    try:
        if jobs <= 1 or len(records) < PARALLEL_MIN:
            _start(records, memo)
            per_doc, added = _score_part(range(len(records)))
        else:
            per_doc, added = _parallel(records, memo, jobs)
    finally:
        _start((), None)
    for task, entries in added.items():
        if task in keys:
            token_cache.store(token_cache_dir, keys[task], {**stored[task], **entries})
    return per_doc


def _parallel(records: Sequence[Record], memo: TokenMemo, jobs: int) -> tuple[list[dict[str, Any]], Added]:
    from meds_bench.metrics.tokenization import tokenize

    infos = {get_task(r.task) for r in records}
    for lang in {info.language for info in infos if SCORERS[info.scorer].tokenizes} & {"zh", "ja"}:
        tokenize("", lang)  # load the segmenter once; forked workers share it
    parts = split_by_cost([document_cost(r, memo.known) for r in records], jobs * PARTS_PER_JOB)
    ctx = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else multiprocessing.get_context()
    per_doc: list[dict[str, Any]] = [{}] * len(records)
    added: Added = {}
    with ctx.Pool(jobs, initializer=_start, initargs=(records, memo)) as pool:
        for indices, (scores, part_added) in zip(parts, pool.imap(_score_part, parts), strict=True):
            for i, values in zip(indices, scores, strict=True):
                per_doc[i] = values
            for task, entries in part_added.items():
                added.setdefault(task, {}).update(entries)
    return per_doc, added
