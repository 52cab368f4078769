"""Standard errors of task scores.

Mean metrics (``aggregation: mean``) use lm-eval's own ``mean_stderr``: the sample standard
deviation (ddof=1) over sqrt(n). The corpus-level aggregations of NER (micro P/R/F1 over summed
counts) and HoC (macro P/R/F1 over the ten hallmarks) have no closed form: their standard error is
the standard deviation of the statistic over a seeded bootstrap over documents, vectorised as
``multinomial weights (draws x n) @ per-document counts (n x k)``. :func:`stderr_function` is the
one place that picks the estimator; :func:`install_stderr` makes lm-eval use it for our aggregations.

The report's 95% intervals: Wilson score intervals for proportions (:func:`proportion_interval`), which
keep their width at 0% and 100% and stay inside [0, 100]; the normal approximation, clipped to the 0-100
scale, for the other metrics (:func:`normal_interval`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975): 95% normal-approximation intervals
SEED = 20250601
DRAWS = 1000  # bootstrap draws (fewer when lm-eval's --bootstrap_iters asks for fewer)
_CHUNK = 250  # draws per matrix product, bounding memory to _CHUNK x n weights
_CACHE_LIMIT = 4_000_000  # weights kept for reuse up to draws x n of this (32 MB)

StderrFn = Callable[[Sequence[Any]], float]
Interval = tuple[float, float]


def proportion_interval(value: float, n: int) -> Interval | None:
    """95% Wilson score interval (0-100) of ``value`` percent right out of ``n`` documents; None when
    ``value`` is not a whole number of documents out of ``n``."""
    right = value * n / 100
    if n < 1 or not 0 <= right <= n or abs(right - round(right)) > 1e-6:
        return None
    from scipy.stats import binomtest  # imported when a report is written (it costs every CLI call 0.5 s)

    ci = binomtest(round(right), n).proportion_ci(confidence_level=0.95, method="wilson")
    return 100 * float(ci.low), 100 * float(ci.high)


def normal_interval(value: float, half_width: float) -> Interval:
    """``value ± half_width`` clipped to the 0-100 scale every MedS-Bench metric is on."""
    return max(0.0, value - half_width), min(100.0, value + half_width)


def _weight_chunks(n: int, draws: int, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for start in range(0, draws, _CHUNK):
        yield rng.multinomial(n, np.full(n, 1.0 / n), size=min(_CHUNK, draws - start)).astype(float)


@functools.lru_cache(maxsize=4)
def _cached_weights(n: int, draws: int, seed: int) -> tuple[np.ndarray, ...]:
    return tuple(_weight_chunks(n, draws, seed))


def bootstrap_stats(
    counts: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray], draws: int = DRAWS, seed: int = SEED
) -> np.ndarray:
    """``statistic`` of the summed per-document ``counts`` (n x k) in each of ``draws`` resamples of
    the documents with replacement; ``statistic`` maps (draws x k) sums to (draws,) values. The
    resampling weights of a (n, draws, seed) are drawn once and reused by every metric of a task."""
    n = counts.shape[0]
    small = n * draws <= _CACHE_LIMIT
    chunks = _cached_weights(n, draws, seed) if small else _weight_chunks(n, draws, seed)
    values = counts.astype(float)
    return np.concatenate([statistic(weights @ values) for weights in chunks])


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


def micro_prf(sums: np.ndarray) -> np.ndarray:
    """Micro precision, recall, F1 (0-100; 0 where undefined) from (..., 3) summed ``[tp, fp, fn]``;
    returns (..., 3)."""
    tp, fp, fn = (sums[..., k].astype(float) for k in range(3))
    return 100.0 * np.stack([_ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn)], axis=-1)


def macro_prf(sums: np.ndarray) -> np.ndarray:
    """Macro precision, recall, F1 (0-100) over L labels from (..., 3L) summed per-label
    ``[tp x L, fp x L, fn x L]``, zero_division=0 as sklearn; returns (..., 3)."""
    tp, fp, fn = (s.astype(float) for s in np.split(sums, 3, axis=-1))
    per_label = [_ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn)]
    return 100.0 * np.stack([p.mean(axis=-1) for p in per_label], axis=-1)


def ner_counts_matrix(items: Sequence[Sequence[int]]) -> np.ndarray:
    """Per-document ``[tp, fp, fn]`` as an (n, 3) array."""
    return np.asarray(items, dtype=np.int64).reshape(-1, 3)


def hoc_counts_matrix(items: Sequence[Sequence[Sequence[int]]]) -> np.ndarray:
    """Per-document ``[predicted 0/1 x L, gold 0/1 x L]`` as (n, 3L) per-label tp, fp, fn."""
    arr = np.asarray(items, dtype=bool)
    pred, gold = arr[:, 0, :], arr[:, 1, :]
    return np.concatenate([pred & gold, pred & ~gold, ~pred & gold], axis=1).astype(np.int64)


def _answered_stderr(items: Sequence[Any]) -> float:
    from lm_eval.api.metrics import mean_stderr

    return mean_stderr([100.0 if item else 0.0 for item in items])


# The hooks module: meds_bench.metrics.hooks, or the exported task folder's utils.py holding both.
_HOOKS = f"{__name__.rpartition('.')[0]}.hooks" if "." in __name__ else __name__
_STAT = {"precision": 0, "recall": 1, "f1": 2}
CountsFn = Callable[[Any], np.ndarray]
StatFn = Callable[[np.ndarray], np.ndarray]


def corpus_statistic(aggregation: str) -> tuple[CountsFn, StatFn] | None:
    """For a corpus-level aggregation (dotted name, as in the metric table): the function turning
    per-document items into an (n, k) count matrix and the vectorised statistic of summed counts;
    None for other aggregations."""
    for prefix, matrix, stats in (("micro_", ner_counts_matrix, micro_prf), ("macro_", hoc_counts_matrix, macro_prf)):
        for stat, k in _STAT.items():
            if aggregation == f"{_HOOKS}.{prefix}{stat}":
                return matrix, lambda sums, stats=stats, k=k: stats(sums)[..., k]
    return None


def _ours(agg: Callable[..., Any], draws: int) -> StderrFn | None:
    module = getattr(agg, "__module__", "")
    # The hooks module, or this very module when both are joined into one file (meds-bench export-lm-eval).
    name = f"{_HOOKS if module == __name__ else module}.{getattr(agg, '__qualname__', '')}"
    if name == f"{_HOOKS}.answered":
        return _answered_stderr
    corpus = corpus_statistic(name)
    if corpus is None:
        return None
    matrix, statistic = corpus

    def stderr(items: Sequence[Any]) -> float:
        return float(np.std(bootstrap_stats(matrix(items), statistic, draws), ddof=1))

    return stderr


def stderr_function(
    agg: Callable[..., Any], bootstrap_iters: int = 100000, fallback: Callable[..., Any] | None = None
) -> StderrFn | None:
    """Standard-error function of an aggregation: ours for the NER/HoC/``answered`` hooks, else
    ``fallback`` (default lm-eval's ``stderr_for_metric``: ``mean`` -> ``mean_stderr``); None when
    ``bootstrap_iters`` <= 0, as in lm-eval."""
    if bootstrap_iters <= 0:
        return None
    if fallback is None:
        from lm_eval.api.metrics import stderr_for_metric as fallback
    return _ours(agg, min(bootstrap_iters, DRAWS)) or fallback(metric=agg, bootstrap_iters=bootstrap_iters)


def install_stderr() -> None:
    """Make lm-eval's per-task aggregation use :func:`stderr_function`, so results carry
    ``<metric>_stderr`` for our corpus-level aggregations (NER micro, HoC macro, ``answered``) too.

    lm-eval has no setting for this: it picks a standard-error function by the aggregation's
    identity in ``lm_eval.evaluator_utils.stderr_for_metric``, which this replaces, for the whole
    process, with a wrapper that tries ours first and falls back to the function it replaced
    (``mean`` keeps lm-eval's ``mean_stderr``). Called in one place, ``MedSBenchTask.__init__``, so it
    happens when lm-eval builds a MedS-Bench task, before any aggregation; never at import.
    Idempotent: a second call finds the wrapper (marked ``meds_bench``) and does nothing, so the
    fallback is always lm-eval's own function, never a wrapper of the wrapper.
    """
    from lm_eval import evaluator_utils

    current = evaluator_utils.stderr_for_metric
    if getattr(current, "meds_bench", False):
        return

    def stderr_for_metric(metric: Callable[..., Any], bootstrap_iters: int) -> StderrFn | None:
        return stderr_function(metric, bootstrap_iters, current)

    stderr_for_metric.meds_bench = True  # type: ignore[attr-defined]
    evaluator_utils.stderr_for_metric = stderr_for_metric
