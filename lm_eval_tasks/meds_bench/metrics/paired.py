"""Paired differences between two models scored on the same documents.

Per task, with ``a``/``b`` the two models' per-document values on the n documents both scored:

- mean metrics: difference = mean(a - b); 95% CI = diff ± 1.96 · sd(a - b) / sqrt(n) (sd with n - 1:
  the CLT interval of a paired mean); p-value: McNemar's exact test (``scipy.stats.binomtest`` on the
  discordant pairs) when every value is 0 or 100 (accuracy-type),
  else a seeded sign-flip permutation test (2,000 flips);
- corpus-level metrics (NER micro-F1, HoC macro-F1): difference of the two corpus statistics; CI from
  a seeded paired bootstrap (the same resampled documents for both models, percentile interval);
  p-value from a seeded permutation test that swaps the two models' outputs per document;
- minimum detectable difference (two-sided 5% test, 80% power): (1.96 + 0.84) · se of the difference.

Categories combine their tasks' independent differences as the paper averages tasks: the unweighted
mean, se = sqrt(Σ se_i²) / k, normal CI and p-value. :func:`holm` adjusts p-values across tasks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from meds_bench.metrics.uncertainty import SEED, Z95, bootstrap_stats

Z80 = 0.8416212335729143  # scipy.stats.norm.ppf(0.8): 80% power
PERMUTATIONS = 2000  # smallest p 1/2001: still below 0.05 after Holm over all 53 tasks
BOOTSTRAP = 2000
_CHUNK = 500


@dataclass(frozen=True)
class Paired:
    """A paired difference (A - B, in points): its 95% CI, p-value, documents and the test used."""

    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    se: float
    mdd: float
    test: str

    def as_row(self) -> dict[str, Any]:
        """The JSON row of ``meds-bench compare --json``."""
        return asdict(self)


def _normal(diff: float, se: float, n: int, test: str) -> Paired:
    from scipy import stats  # scipy is imported only when a comparison runs (it costs every CLI call 0.5 s)

    p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else (1.0 if diff == 0 else 0.0)
    return Paired(diff, diff - Z95 * se, diff + Z95 * se, p, n, se, (Z95 + Z80) * se, test)


def mcnemar_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided exact McNemar p-value of paired 0/1 outcomes (1 when there is no discordant pair)."""
    only_a = int(np.sum(a & ~b))
    only_b = int(np.sum(~a & b))
    if only_a + only_b == 0:
        return 1.0
    from scipy import stats

    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def sign_flip_p(d: np.ndarray, permutations: int = PERMUTATIONS, seed: int = SEED) -> float:
    """Two-sided p-value of mean(d) = 0 by random sign flips of the paired differences."""
    rng = np.random.default_rng(seed)
    observed = abs(d.mean())
    hits = 0
    for start in range(0, permutations, _CHUNK):
        signs = rng.integers(0, 2, size=(min(_CHUNK, permutations - start), d.size)) * 2.0 - 1.0
        hits += int(np.sum(np.abs(signs @ d) / d.size >= observed - 1e-12))
    return (1 + hits) / (1 + permutations)


def paired_mean(a: Sequence[float], b: Sequence[float]) -> Paired:
    """Paired difference of a mean metric (values 0-100 per document)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = x - y
    n = d.size
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    binary = bool(np.all(np.isin(x, (0.0, 100.0))) and np.all(np.isin(y, (0.0, 100.0))))
    if binary:
        p, test = mcnemar_p(x == 100.0, y == 100.0), "mcnemar-exact"
    else:
        p, test = (sign_flip_p(d) if n > 1 and np.any(d) else 1.0), "sign-flip permutation"
    diff = float(d.mean())
    return Paired(diff, diff - Z95 * se, diff + Z95 * se, p, n, se, (Z95 + Z80) * se, test)


def paired_corpus(a: np.ndarray, b: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray]) -> Paired:
    """Paired difference of a corpus-level statistic of summed per-document counts ``a``, ``b`` (n x k)."""
    n = a.shape[0]
    a, b = a.astype(float), b.astype(float)
    total_a, total_b = a.sum(axis=0), b.sum(axis=0)
    diff = float(statistic(total_a) - statistic(total_b))
    both = np.concatenate([a, b], axis=1)
    k = a.shape[1]
    boot = bootstrap_stats(both, lambda s: statistic(s[:, :k]) - statistic(s[:, k:]), BOOTSTRAP)
    rng = np.random.default_rng(SEED)
    hits = 0
    for start in range(0, PERMUTATIONS, _CHUNK):
        swap = rng.integers(0, 2, size=(min(_CHUNK, PERMUTATIONS - start), n)).astype(float)
        from_b = swap @ (b - a)  # sums after swapping: A' = A + swap·(B - A), B' = B - swap·(B - A)
        perm_a, perm_b = total_a + from_b, total_b - from_b
        hits += int(np.sum(np.abs(statistic(perm_a) - statistic(perm_b)) >= abs(diff) - 1e-12))
    low, high = np.percentile(boot, [2.5, 97.5])
    se = float(boot.std(ddof=1))
    p = (1 + hits) / (1 + PERMUTATIONS)
    return Paired(diff, float(low), float(high), p, n, se, (Z95 + Z80) * se, "paired bootstrap / permutation")


def combine(parts: Sequence[Paired]) -> Paired:
    """Unweighted mean of independent task differences (a category score's difference)."""
    k = len(parts)
    diff = sum(p.diff for p in parts) / k
    se = math.sqrt(sum(p.se**2 for p in parts)) / k
    return _normal(diff, se, sum(p.n for p in parts), "normal (unweighted task mean)")


def format_p(p: float) -> str:
    """``p = 0.031`` style text; ``p < 0.001`` below that."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (scipy has no Holm and statsmodels is not a dependency)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out.tolist()
