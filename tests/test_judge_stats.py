"""The jury's statistics (``meds_bench.judge.stats``) against values computed by hand."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest

from meds_bench.judge.stats import (
    bootstrap_over_items,
    icc2k,
    krippendorff_alpha,
    mean_ci,
    pairwise_spearman,
)

NAN = math.nan


def test_icc2k_of_three_items_by_four_raters_from_the_anova_by_hand():
    # items x raters; grand mean 5, item means 2, 5, 8, rater means 4, 16/3, 16/3, 16/3
    data = [[1, 3, 2, 2], [4, 5, 5, 6], [7, 8, 9, 8]]
    # SS items = 4 * (3^2 + 0 + 3^2) = 72, df 2 -> MSR = 36
    # SS raters = 3 * (1^2 + 3 * (1/3)^2) = 4, df 3 -> MSC = 4/3
    # SS total = (16+4+9+9) + (1+0+0+1) + (4+9+16+9) = 78; SS error = 78 - 72 - 4 = 2, df 6 -> MSE = 1/3
    # ICC(2,k) = (MSR - MSE) / (MSR + (MSC - MSE) / n) = (107/3) / (36 + 1/3) = 107/109
    result = icc2k(data)
    assert result.value == pytest.approx(107 / 109)
    low, high = result.ci
    assert low < 107 / 109 < high <= 1


def test_icc2k_interval_matches_shrout_and_fleiss_published_example():
    # Shrout & Fleiss (1979) table 2: 6 targets x 4 judges; ICC(2,4) = 0.62, McGraw & Wong 95% CI 0.07 to 0.93
    data = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    result = icc2k(data)
    assert result.value == pytest.approx(0.62, abs=0.005)
    assert result.ci == (pytest.approx(0.071, abs=0.0005), pytest.approx(0.93, abs=0.005))


@pytest.mark.parametrize(
    "data",
    [[[1, 2]], [[1], [2], [3]], [[1, NAN], [2, 3], [4, 5]], [[3, 3], [3, 3], [3, 3]]],
    ids=["one item", "one rater", "missing value", "no variation"],
)
def test_icc2k_undefined_is_none(data):
    assert icc2k(data) == (None, None)


def test_icc2k_perfect_agreement_is_one_without_interval():
    assert icc2k([[1, 1], [2, 2], [4, 4]]) == (pytest.approx(1.0), None)


def test_interval_alpha_by_hand():
    # units (1,1), (2,3), (3,3): within-unit sum m SS_u / (m - 1) = 2 * 0.5 / 1 = 1
    # all six values 1,1,2,3,3,3: mean 13/6, SS = 33 - 6 * (13/6)^2 = 29/6
    # alpha = 1 - (n - 1) * within / (n * SS) = 1 - 5 * 1 / (6 * 29/6) = 24/29
    assert krippendorff_alpha([[1, 2, 3], [1, 3, 3]], "interval") == pytest.approx(24 / 29)


def test_interval_alpha_with_missing_ratings_by_hand_and_as_the_package():
    matrix = [[1, 2, NAN, 4], [1, 3, 3, NAN], [NAN, 3, 1, 4]]
    # units (1,1): 0; (2,3,3): mean 8/3, SS 2/3 -> 3 * (2/3) / 2 = 1; (3,1): SS 2 -> 2 * 2 / 1 = 4; (4,4): 0
    # pooled 1,1,2,3,3,3,1,4,4: n 9, sum 22, sum of squares 66, SS = 66 - 22^2/9 = 110/9
    # alpha = 1 - 8 * 5 / (9 * 110/9) = 1 - 40/110 = 7/11
    assert krippendorff_alpha(matrix, "interval") == pytest.approx(7 / 11)
    assert krippendorff_alpha(matrix, "interval") == pytest.approx(
        krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval")
    )


def test_interval_alpha_equals_the_package_on_random_matrices():
    rng = np.random.default_rng(7)
    for _ in range(20):
        matrix = rng.integers(0, 7, (3, 15)).astype(float)
        matrix[rng.random(matrix.shape) < 0.25] = np.nan
        assert krippendorff_alpha(matrix, "interval") == pytest.approx(
            krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval")
        )


def test_ordinal_alpha_by_hand_and_as_the_package():
    matrix = [[1, 2, 3], [1, 3, 3]]
    # counts n_1 = 2, n_2 = 1, n_3 = 3 (n = 6); ordinal distance (sum of n_g from c to k - (n_c + n_k)/2)^2:
    # d(1,2) = (3 - 1.5)^2 = 2.25, d(2,3) = (4 - 2)^2 = 4, d(1,3) = (6 - 2.5)^2 = 12.25
    # observed coincidences off the diagonal: o(2,3) = o(3,2) = 1 -> sum o d = 2 * 4 = 8
    # expected e(c,k) = n_c n_k / (n - 1): 2 * (0.4 * 2.25 + 1.2 * 12.25 + 0.6 * 4) = 36
    # alpha = 1 - 8/36 = 7/9
    assert krippendorff_alpha(matrix) == pytest.approx(7 / 9)
    assert krippendorff_alpha(matrix) == pytest.approx(krippendorff.alpha(matrix, level_of_measurement="ordinal"))


@pytest.mark.parametrize("level", ["ordinal", "interval"])
@pytest.mark.parametrize("units", [2, 5])
def test_one_judge_always_top_the_other_always_bottom(level, units):
    # every unit holds one 5 and one 1: observed disagreement 16 per pair of each unit, expected
    # 16 * n^2 / (2n - 1) over the 2n values: alpha = 1 - (2n - 1)/n = -(n - 1)/n (-0.5 for 2 units, -0.8 for 5)
    alpha = krippendorff_alpha([[5] * units, [1] * units], level)
    assert alpha == pytest.approx(-(units - 1) / units)
    assert alpha < 0


@pytest.mark.parametrize("level", ["ordinal", "interval"])
@pytest.mark.parametrize(
    "matrix",
    [[[5, 5, 5], [5, 5, 5]], [[1, NAN], [NAN, 2]], [[1, 2, 3]]],
    ids=["no variation", "no pairable unit", "one rater"],
)
def test_alpha_undefined_is_none(matrix, level):
    assert krippendorff_alpha(matrix, level) is None


def test_pairwise_spearman_on_the_units_both_scored():
    scores = {"A": [1, 2, 3, 4, None], "B": [1, 3, 2, 4, 9], "C": [2, 2, 2, 2, 2], "D": [1, None, None, 5, 6]}
    result = pairwise_spearman(scores)
    assert list(result) == ["A ~ B", "A ~ C", "A ~ D", "B ~ C", "B ~ D", "C ~ D"]
    # A ~ B on units 0-3: rank differences 0, -1, 1, 0 -> 1 - 6 * 2 / (4 * (16 - 1)) = 0.8
    assert result["A ~ B"] == pytest.approx(0.8)
    assert result["A ~ C"] is None and result["B ~ C"] is None  # C is constant
    assert result["A ~ D"] is None  # units 0 and 3 only
    assert result["B ~ D"] == pytest.approx(1.0)  # units 0, 3, 4: (1, 4, 9) and (1, 5, 6)


def test_mean_ci_mean_stderr_and_a_reproducible_interval():
    result = mean_ci([1, 2, 3, 4, 5])
    # sample variance 10/4 = 2.5: stderr = sqrt(2.5 / 5)
    assert result.mean == 3.0 and result.stderr == pytest.approx(math.sqrt(0.5))
    # the bootstrap sd of the mean is sqrt(2 / 5) = 0.632 (population variance 2): about 3 -/+ 1.96 * 0.632
    low, high = result.ci
    assert low == pytest.approx(3 - 1.24, abs=0.25) and high == pytest.approx(3 + 1.24, abs=0.25)
    assert mean_ci([1, 2, 3, 4, 5]) == result
    spread = [0.5, 1.7, 2.2, 3.9, 5.1, 7.3, 8.8]  # many distinct resample means: the seed shows
    assert mean_ci(spread) == mean_ci(spread) and mean_ci(spread, seed=1).ci != mean_ci(spread).ci


@pytest.mark.parametrize("values, mean", [([], None), ([42.0], 42.0)])
def test_mean_ci_below_two_values(values, mean):
    assert mean_ci(values) == (mean, None, None)


def test_bootstrap_over_items_drops_undefined_resamples_or_gives_none():
    values = np.arange(10.0)
    low, high = bootstrap_over_items(lambda idx: float(values[idx].mean()), 10)
    assert 2 < low < 4.5 < high < 7
    assert bootstrap_over_items(lambda idx: None, 10) is None
    assert bootstrap_over_items(lambda idx: 1.0, 1) is None
