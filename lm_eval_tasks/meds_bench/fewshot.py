"""Few-shot case selection: a pure function of (seed, task, document id) (SPEC A3).

lm-eval's sampler draws every document's cases from one generator per process, so a document's
cases depend on the documents that process rendered before it: on the number of processes, on
``--limit`` and on order. Here each document seeds its own generator from ``(seed, task, doc id)``
and draws from the pool in file order, so its cases are the same however the work is split.

A case never has the query's input (compared after stripping surrounding whitespace): that
excludes the query itself and every duplicate of it, which some task files contain.
"""

from __future__ import annotations

import bisect
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence


def case_rng(seed: int | None, task: str, doc_id: int | str) -> random.Random:
    """The generator of one document's cases.

    ``random.Random`` hashes a ``str`` seed with SHA-512, so the stream does not depend on
    ``PYTHONHASHSEED``, the process or the platform.
    """
    return random.Random(f"{seed}\x1f{task}\x1f{doc_id}")


class _RangeWithout(Sequence[int]):
    """``range(size)`` minus the sorted ``excluded`` indices, without building the list: a draw of
    n cases reads only n items, so rendering a task stays linear in its size."""

    def __init__(self, size: int, excluded: Sequence[int]) -> None:
        self._size, self._excluded = size, excluded

    def __len__(self) -> int:
        return self._size - len(self._excluded)

    def __getitem__(self, k: int) -> int:  # type: ignore[override]  # random.sample uses ints only
        if not 0 <= k < len(self):
            raise IndexError(k)
        # The k-th kept index i satisfies i - (#excluded <= i) == k; excluded lists are short.
        # The least fixed point is reached from below and is never an excluded index.
        i = k
        while (j := k + bisect.bisect_right(self._excluded, i)) != i:
            i = j
        return i


class CasePool:
    """The candidate cases of one task (their inputs, in file order), grouped by input."""

    def __init__(self, inputs: Sequence[str]) -> None:
        self.size = len(inputs)
        self._by_input: dict[str, list[int]] = defaultdict(list)
        for index, text in enumerate(inputs):
            self._by_input[text.strip()].append(index)

    def _excluded(self, query_input: str) -> list[int]:
        return self._by_input.get(query_input.strip(), [])

    def available(self, query_inputs: Iterable[str]) -> int:
        """How many cases every query can get: the fewest pool items whose input differs from it."""
        return min((self.size - len(self._excluded(q)) for q in query_inputs), default=self.size)

    def draw(self, query_input: str, n: int, *, seed: int | None, task: str, doc_id: int | str) -> list[int]:
        """Indices of the ``n`` cases of one query, in prompt order.

        Raises ``ValueError`` when fewer than ``n`` pool items have an input other than the query's.
        """
        candidates = _RangeWithout(self.size, self._excluded(query_input))
        if n > len(candidates):
            raise ValueError(
                f"task {task}, document {doc_id}: {n} few-shot cases requested but only {len(candidates)} "
                "instances have an input other than the query's; lower --num_fewshot"
            )
        return case_rng(seed, task, doc_id).sample(candidates, n)
