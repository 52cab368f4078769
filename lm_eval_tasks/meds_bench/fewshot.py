"""Few-shot case selection: a pure function of (seed, task, document id) (SPEC A3).

lm-eval's sampler draws every document's cases from one generator per process, so a document's
cases depend on the documents that process rendered before it: on the number of processes, on
``--limit`` and on order. Here each document seeds its own generator from ``(seed, task, doc id)``
and draws from the pool in file order, so its cases are the same however the work is split.

A case never has the query's input (compared after stripping surrounding whitespace): that
excludes the query itself and every duplicate of it, which some task files contain.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence


def _key(text: str) -> str:
    return text.strip()


def case_rng(seed: int | None, task: str, doc_id: int | str) -> random.Random:
    """The generator of one document's cases.

    ``random.Random`` hashes a ``str`` seed with SHA-512, so the stream does not depend on
    ``PYTHONHASHSEED``, the process or the platform.
    """
    return random.Random(f"{seed}\x1f{task}\x1f{doc_id}")


def available_shots(pool_inputs: Sequence[str], query_inputs: Iterable[str]) -> int:
    """How many cases every query can get: the smallest count of pool items whose input differs."""
    counts = Counter(_key(text) for text in pool_inputs)
    return min((len(pool_inputs) - counts[_key(q)] for q in query_inputs), default=len(pool_inputs))


def draw_cases(
    pool_inputs: Sequence[str], query_input: str, n: int, *, seed: int | None, task: str, doc_id: int | str
) -> list[int]:
    """Indices into ``pool_inputs`` of the ``n`` cases of one query, in prompt order.

    Raises ``ValueError`` when fewer than ``n`` pool items have an input other than the query's.
    """
    query = _key(query_input)
    candidates = [i for i, text in enumerate(pool_inputs) if _key(text) != query]
    if n > len(candidates):
        raise ValueError(
            f"task {task}, document {doc_id}: {n} few-shot cases requested but only {len(candidates)} "
            "instances have an input other than the query's; lower --num_fewshot"
        )
    return case_rng(seed, task, doc_id).sample(candidates, n)
