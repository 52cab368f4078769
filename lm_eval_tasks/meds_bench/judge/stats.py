"""The statistics of the jury: agreement between raters (Krippendorff's alpha, ICC(2,k), Spearman) and intervals.

Every function returns None, never raises, where its statistic is undefined (too few items or raters, no
variation): a judge that always gives the same score has no agreement to report, and a report must not crash on it.
scipy and krippendorff are imported on first use (``meds-bench`` imports this module on every call).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple

import numpy as np

CONFIDENCE = 0.95
SEED = 20250601
DRAWS = 2000  # bootstrap resamples

Interval = tuple[float, float]


class Estimate(NamedTuple):
    """A statistic and its 95% interval; ``value`` None when undefined, ``ci`` None when it cannot be given."""

    value: float | None
    ci: Interval | None


class MeanCI(NamedTuple):
    """A mean with its standard error (ddof=1) and 95% bootstrap interval (None below 2 values)."""

    mean: float | None
    stderr: float | None
    ci: Interval | None


def krippendorff_alpha(
    matrix: Sequence[Sequence[float]] | np.ndarray, level: Literal["ordinal", "interval"] = "ordinal"
) -> float | None:
    """Krippendorff's alpha of ``matrix`` (raters x units, ``np.nan`` = not rated) at ``level`` of measurement.

    None where alpha is undefined: no unit rated by two raters, or no variation among the pairable values.
    The ordinal level is the ``krippendorff`` package's. The interval level is computed here in closed form
    (the same estimator, checked against the package in the tests): the package builds a units x values x
    values coincidence array, so on continuous scores (BLEU, jury means) one alpha over 400 units takes
    seconds and a bootstrap of it is out of reach, where the closed form is linear in the number of ratings.
    """
    data = np.asarray(matrix, dtype=float)
    if data.ndim != 2:
        return None
    if level == "interval":
        return _interval_alpha(data)
    import krippendorff

    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    except ValueError:  # one value in the domain, or no unit with two ratings
        return None
    return value if math.isfinite(value) else None


def _interval_alpha(data: np.ndarray) -> float | None:
    """alpha = 1 - (n - 1) * sum_u m_u SS_u / (m_u - 1) / (n * SS), over the units u with m_u >= 2 ratings.

    SS_u is the sum of squared deviations within unit u, SS that of all n pairable ratings around their mean:
    the observed disagreement sum_u sum_{i != j in u} (x_i - x_j)^2 / (m_u - 1) over the expected one
    sum_{i != j} (x_i - x_j)^2 / (n - 1), since sum_{i != j} (x_i - x_j)^2 = 2 m SS for m values.
    """
    rated = ~np.isnan(data)
    pairable = rated.sum(axis=0) >= 2
    data, rated = data[:, pairable], rated[:, pairable]
    if data.size == 0:
        return None
    m = rated.sum(axis=0)
    values = np.where(rated, data, 0.0)
    unit_means = values.sum(axis=0) / m
    within_unit = (np.where(rated, data - unit_means, 0.0) ** 2).sum(axis=0)
    pooled = data[rated]
    n, total = pooled.size, float(((pooled - pooled.mean()) ** 2).sum())
    if total <= 1e-12 * max(1.0, float((pooled**2).sum())):
        return None
    within = float((m * within_unit / (m - 1)).sum())
    return 1.0 - (n - 1) * within / (n * total)


def icc2k(matrix: Sequence[Sequence[float]] | np.ndarray) -> Estimate:
    """ICC(2,k) of ``matrix`` (items x raters, no missing values) with its 95% F-based interval.

    Shrout & Fleiss (1979): two-way random effects, absolute agreement, the reliability of the mean of the k
    raters, (MSR - MSE) / (MSR + (MSC - MSE) / n) from the two-way ANOVA mean squares of rows (items), columns
    (raters) and error. The interval is McGraw & Wong's (1996, case 2A, ICC(A,k)). Written here with numpy:
    one formula, where pingouin would bring pandas, statsmodels and seaborn along.
    ``value`` None below 2 items or 2 raters, with a missing value, or when every value is the same.
    """
    data = np.asarray(matrix, dtype=float)
    if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] < 2 or not np.isfinite(data).all():
        return Estimate(None, None)
    n, k = data.shape
    grand = data.mean()
    ss_rows = k * float(((data.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((data.mean(axis=0) - grand) ** 2).sum())
    ss_error = float(((data - grand) ** 2).sum()) - ss_rows - ss_cols
    msr, msc = ss_rows / (n - 1), ss_cols / (k - 1)
    mse = max(ss_error, 0.0) / ((n - 1) * (k - 1))  # rounding can leave -1e-13
    denominator = msr + (msc - mse) / n
    if denominator <= 0 or msr + msc + mse == 0:
        return Estimate(None, None)
    rho = (msr - mse) / denominator
    return Estimate(rho, _icc2k_interval(rho, msr, msc, mse, n, k))


def _icc2k_interval(rho: float, msr: float, msc: float, mse: float, n: int, k: int) -> Interval | None:
    """McGraw & Wong's 95% interval of ICC(A,k), with Satterthwaite's degrees of freedom ``v``."""
    if rho >= 1:
        return None
    from scipy.stats import f

    a = rho / (n * (1 - rho))
    b = 1 + rho * (n - 1) / (n * (1 - rho))
    numerator = (a * msc + b * mse) ** 2
    spread = (a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1))
    if spread <= 0:
        return None
    v = numerator / spread
    tail = (1 + CONFIDENCE) / 2
    f_low, f_high = float(f.ppf(tail, n - 1, v)), float(f.ppf(tail, v, n - 1))
    low = n * (msr - f_low * mse) / (f_low * (msc - mse) + n * msr)
    high = n * (f_high * msr - mse) / (msc - mse + n * f_high * msr)
    return (low, high) if math.isfinite(low) and math.isfinite(high) else None


def pairwise_spearman(scores_by_judge: Mapping[str, Sequence[float | None]]) -> dict[str, float | None]:
    """Spearman's rho of every pair of judges, keyed ``"A ~ B"`` in the order of ``scores_by_judge``.

    Each judge's list is aligned by unit (None or NaN = not scored); a pair is computed on the units both
    scored, and is None below 3 such units or when either side is constant there.
    """
    from scipy.stats import spearmanr

    result: dict[str, float | None] = {}
    for (a, xs), (b, ys) in itertools.combinations(scores_by_judge.items(), 2):
        pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if _present(x) and _present(y)]
        rho = None
        if len(pairs) >= 3 and len({x for x, _ in pairs}) > 1 and len({y for _, y in pairs}) > 1:
            rho = float(spearmanr([x for x, _ in pairs], [y for _, y in pairs]).statistic)
        result[f"{a} ~ {b}"] = rho if rho is not None and math.isfinite(rho) else None
    return result


def _present(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def mean_ci(values: Sequence[float], seed: int = SEED) -> MeanCI:
    """Mean of ``values``, its standard error (ddof=1) and 95% percentile bootstrap interval (seeded).

    Fewer than 2 values: stderr and interval None (mean None for none).
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return MeanCI(None, None, None)
    mean = float(data.mean())
    if data.size < 2:
        return MeanCI(mean, None, None)
    from scipy.stats import bootstrap

    res = bootstrap(
        (data,),
        np.mean,
        n_resamples=DRAWS,
        confidence_level=CONFIDENCE,
        method="percentile",
        batch=500,
        rng=np.random.default_rng(seed),
    )
    ci = (float(res.confidence_interval.low), float(res.confidence_interval.high))
    return MeanCI(mean, float(data.std(ddof=1) / math.sqrt(data.size)), ci)


def bootstrap_over_items(
    statistic: Callable[[np.ndarray], float | None], n_items: int, seed: int = SEED, draws: int = DRAWS
) -> Interval | None:
    """95% percentile interval of ``statistic(indices)`` over ``draws`` resamples of the ``n_items`` items.

    ``statistic`` takes the resampled item indices. Written here because scipy's bootstrap cannot skip a
    resample where the statistic is undefined (alpha of a resample with no variation); those are dropped, and
    the interval is None when more than 5% of the resamples are (it would describe only the others).
    """
    if n_items < 2:
        return None
    rng = np.random.default_rng(seed)
    values = [statistic(rng.integers(0, n_items, n_items)) for _ in range(draws)]
    defined = np.array([v for v in values if v is not None and math.isfinite(v)])
    if defined.size < 0.95 * draws:
        return None
    tail = 100 * (1 - CONFIDENCE) / 2
    return float(np.percentile(defined, tail)), float(np.percentile(defined, 100 - tail))
