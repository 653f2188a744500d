"""Statistics for proportions, checked against published values and closed forms.

Published values: Newcombe (1998a), "Two-sided confidence intervals for the single proportion",
Statist. Med. 17:857 (Wilson intervals); Newcombe (1998b), "Interval estimation for the
difference between independent proportions", Statist. Med. 17:873 (method 10); Newcombe (1998c),
"Improved confidence intervals for the difference between binomial proportions based on paired
data", Statist. Med. 17:2635 (method 10); Fagerland, Lydersen and Laake (2017), "Statistical
Analysis of Contingency Tables", chapter 8 (Cavo et al. 2012 table). All are printed to four
decimals. Closed forms use only the standard library, independently of scipy and statsmodels.
"""

import itertools
import math
from statistics import NormalDist

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.weightstats import ttest_ind as statsmodels_ttest_ind

from offswitch.stats import (
    Rate,
    binomial_above_floor,
    difference,
    fisher_combined,
    mean_difference,
    paired_difference,
    rate,
    stars,
)

# A leaked numpy or scipy warning is a failure.
# Numerical warnings are errors here; streams that other tests' event loops left for the
# garbage collector are not this module's business.
pytestmark = [
    pytest.mark.filterwarnings("error"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

PRINTED = 5e-5  # half a unit in the fourth decimal
Z95 = NormalDist().inv_cdf(0.975)


def wilson_closed_form(successes: int, n: int) -> tuple[float, float]:
    centre = (successes + Z95**2 / 2) / (n + Z95**2)
    half = Z95 / (n + Z95**2) * math.sqrt(successes * (n - successes) / n + Z95**2 / 4)
    return centre - half, centre + half


def pairs_from_table(
    both: int, only_first: int, only_second: int, neither: int
) -> list[tuple[bool, bool]]:
    return (
        [(True, True)] * both
        + [(True, False)] * only_first
        + [(False, True)] * only_second
        + [(False, False)] * neither
    )


# --- rate -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("successes", "n"), [(0, 10), (5, 10), (10, 10), (81, 263), (1, 3)])
def test_rate_matches_the_wilson_closed_form(successes: int, n: int) -> None:
    result = rate(successes, n)
    low, high = wilson_closed_form(successes, n)
    assert result.rate == pytest.approx(successes / n)
    assert result.low == pytest.approx(low, abs=1e-12)
    assert result.high == pytest.approx(high, abs=1e-12)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_rate_matches_newcombes_published_wilson_intervals(
    successes: int, n: int, low: float, high: float
) -> None:
    result = rate(successes, n)
    assert result.low == pytest.approx(low, abs=PRINTED)
    assert result.high == pytest.approx(high, abs=PRINTED)


def test_rate_interval_ends_at_the_bounds_for_no_or_all_successes() -> None:
    assert rate(0, 10).low == 0.0
    assert rate(10, 10).high == 1.0
    assert rate(0, 10).high == pytest.approx(Z95**2 / (10 + Z95**2))


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_rate_interval_always_contains_the_rate(confidence: float) -> None:
    for n in range(1, 31):
        for successes in range(n + 1):
            result = rate(successes, n, confidence)
            assert result.low is not None and result.high is not None
            assert 0 <= result.low <= successes / n <= result.high <= 1


def test_rate_with_no_runs_is_undefined_and_small() -> None:
    assert rate(0, 0) == Rate(successes=0, n=0, rate=None, low=None, high=None, small=True)


def test_small_flags_fewer_than_ten_runs() -> None:
    assert rate(1, 9).small
    assert not rate(1, 10).small


def test_higher_confidence_gives_a_wider_interval() -> None:
    narrow, wide = rate(5, 20, confidence=0.9), rate(5, 20, confidence=0.99)
    assert wide.low < narrow.low < 0.25 < narrow.high < wide.high


@pytest.mark.parametrize(("successes", "n"), [(11, 10), (-1, 10), (1, 0)])
def test_rate_rejects_impossible_counts(successes: int, n: int) -> None:
    with pytest.raises(ValueError):
        rate(successes, n)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0])
def test_a_confidence_outside_zero_and_one_is_rejected_even_without_runs(
    confidence: float,
) -> None:
    for n in (0, 10):
        with pytest.raises(ValueError):
            rate(0, n, confidence=confidence)
        with pytest.raises(ValueError):
            difference(rate(0, n), rate(0, n), confidence=confidence)
        with pytest.raises(ValueError):
            paired_difference(pairs_from_table(0, 0, 0, n), confidence=confidence)


def test_rate_model_rejects_more_successes_than_runs() -> None:
    with pytest.raises(ValueError):
        Rate(successes=3, n=2, rate=1.5, low=None, high=None, small=True)


# --- difference -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
        ((5, 56), (0, 29), -0.0381, 0.1926),
        ((0, 10), (0, 20), -0.1611, 0.2775),
        ((10, 10), (0, 20), 0.6791, 1.0),
    ],
)
def test_difference_matches_newcombes_published_intervals(
    a: tuple[int, int], b: tuple[int, int], low: float, high: float
) -> None:
    result = difference(rate(*a), rate(*b))
    assert result.diff == pytest.approx(a[0] / a[1] - b[0] / b[1])
    assert result.low == pytest.approx(low, abs=PRINTED)
    assert result.high == pytest.approx(high, abs=PRINTED)


def test_z_test_matches_the_pooled_closed_form() -> None:
    result = difference(rate(56, 70), rate(48, 80))
    pooled = (56 + 48) / (70 + 80)
    z = (56 / 70 - 48 / 80) / math.sqrt(pooled * (1 - pooled) * (1 / 70 + 1 / 80))
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * (1 - NormalDist().cdf(z)))


def test_difference_is_antisymmetric_in_its_arguments() -> None:
    forward = difference(rate(30, 100), rate(15, 90))
    backward = difference(rate(15, 90), rate(30, 100))
    assert forward.z is not None and backward.z is not None
    assert backward.diff == pytest.approx(-forward.diff)
    assert (backward.low, backward.high) == pytest.approx((-forward.high, -forward.low))
    assert backward.z == pytest.approx(-forward.z)
    assert backward.p_value == pytest.approx(forward.p_value)


@pytest.mark.parametrize(("a", "b"), [((0, 10), (0, 20)), ((10, 10), (5, 5))])
def test_z_test_is_none_when_both_rates_are_zero_or_one(
    a: tuple[int, int], b: tuple[int, int]
) -> None:
    result = difference(rate(*a), rate(*b))
    assert result.z is None
    assert result.p_value is None
    assert result.low is not None and result.high is not None


@pytest.mark.parametrize(("a", "b"), [((0, 0), (3, 10)), ((3, 10), (0, 0)), ((0, 0), (0, 0))])
def test_difference_with_an_empty_sample_is_undefined(
    a: tuple[int, int], b: tuple[int, int]
) -> None:
    result = difference(rate(*a), rate(*b))
    assert (result.diff, result.low, result.high, result.z, result.p_value) == (None,) * 5


def test_difference_interval_always_contains_the_difference() -> None:
    for (n_a, n_b), confidence in itertools.product(
        [(1, 1), (3, 5), (10, 10), (7, 20)], [0.9, 0.99]
    ):
        for k_a, k_b in itertools.product(range(n_a + 1), range(n_b + 1)):
            result = difference(rate(k_a, n_a), rate(k_b, n_b), confidence)
            assert result.low is not None and result.high is not None
            assert -1 <= result.low <= k_a / n_a - k_b / n_b <= result.high <= 1


def test_difference_of_all_against_none_is_near_significant_and_bounded() -> None:
    result = difference(rate(10, 10), rate(0, 10))
    assert result.p_value is not None and result.p_value < 0.001
    assert result.high == pytest.approx(1.0)


# --- binomial test against the floor ----------------------------------------------------------


def binomial_upper_tail(successes: int, n: int, p0: float) -> float:
    below = sum(math.comb(n, k) * p0**k * (1 - p0) ** (n - k) for k in range(successes))
    return 1 - below


def test_binomial_floor_is_tiny_for_five_in_a_hundred() -> None:
    p_value = binomial_above_floor(5, 100)
    assert p_value < 1e-6
    assert p_value == pytest.approx(binomial_upper_tail(5, 100, 0.001), rel=1e-6)


def test_binomial_floor_for_one_in_a_hundred_is_one_minus_no_events() -> None:
    assert binomial_above_floor(1, 100) == pytest.approx(1 - 0.999**100)


@pytest.mark.parametrize("n", [0, 100])
def test_binomial_floor_gives_no_evidence_without_events(n: int) -> None:
    assert binomial_above_floor(0, n) == pytest.approx(1.0)


def test_binomial_floor_uses_the_given_null_rate() -> None:
    assert binomial_above_floor(5, 100, p0=0.05) == pytest.approx(binomial_upper_tail(5, 100, 0.05))


@pytest.mark.parametrize(("successes", "n", "p0"), [(5, 4, 0.001), (1, 10, 0.0), (1, 10, 1.0)])
def test_binomial_floor_rejects_bad_input(successes: int, n: int, p0: float) -> None:
    with pytest.raises(ValueError):
        binomial_above_floor(successes, n, p0)


# --- Fisher's method --------------------------------------------------------------------------


def test_fisher_combination_of_two_equal_p_values() -> None:
    # With two p-values the statistic has 4 degrees of freedom: P = p^2 (1 - ln p^2).
    assert fisher_combined([0.01, 0.01]) == pytest.approx(0.01**2 * (1 - math.log(0.01**2)))
    assert fisher_combined([0.01, 0.01]) == pytest.approx(0.001021, abs=1e-6)


def test_fisher_skips_missing_p_values() -> None:
    assert fisher_combined([0.01, None, math.nan, 0.01]) == pytest.approx(
        fisher_combined([0.01, 0.01])
    )


def test_fisher_of_one_p_value_is_that_p_value() -> None:
    assert fisher_combined([0.2]) == pytest.approx(0.2)


def test_fisher_with_a_zero_p_value_is_zero() -> None:
    assert fisher_combined([0.0, 0.5]) == 0.0


@pytest.mark.parametrize("p_values", [[], [None], [math.nan], [0.5, 1.5], [-0.1]])
def test_fisher_rejects_no_usable_or_impossible_p_values(p_values: list[float | None]) -> None:
    with pytest.raises(ValueError):
        fisher_combined(p_values)


# --- paired difference ------------------------------------------------------------------------

NEWCOMBE_PAIRED_EXAMPLES = [
    # both, only first, only second, neither, published method 10 limits
    (36, 12, 2, 0, 0.0569, 0.3404),
    (20, 12, 2, 16, 0.0562, 0.3292),
    (18, 12, 2, 18, 0.0562, 0.3290),
    (36, 14, 0, 0, 0.1528, 0.4167),
    (35, 14, 0, 1, 0.1461, 0.4175),
    (18, 14, 0, 18, 0.1441, 0.3963),
    (2, 97, 1, 0, 0.8721, 0.9854),
    (1, 97, 1, 1, 0.8736, 0.9850),
    (0, 29, 1, 0, 0.6666, 0.9882),
    (2, 98, 0, 0, 0.9178, 0.9945),
    (1, 98, 0, 1, 0.9171, 0.9916),
    (0, 30, 0, 0, 0.8395, 1.0),
    (54, 0, 0, 0, -0.0664, 0.0664),
    (53, 0, 0, 1, -0.0729, 0.0729),
    (30, 0, 0, 24, -0.0358, 0.0358),
    (29, 0, 0, 25, -0.0354, 0.0354),
    (28, 0, 0, 26, -0.0352, 0.0352),
    (27, 0, 0, 27, -0.0351, 0.0351),
]


@pytest.mark.parametrize(
    ("both", "only_first", "only_second", "neither", "low", "high"), NEWCOMBE_PAIRED_EXAMPLES
)
def test_paired_interval_matches_newcombes_published_examples(
    both: int, only_first: int, only_second: int, neither: int, low: float, high: float
) -> None:
    result = paired_difference(pairs_from_table(both, only_first, only_second, neither))
    # One published limit (0.8736) sits a unit below our 0.87367, so allow a unit of print.
    assert result.low == pytest.approx(low, abs=1e-4)
    assert result.high == pytest.approx(high, abs=1e-4)


def test_paired_interval_matches_the_contingency_tables_book() -> None:
    result = paired_difference(pairs_from_table(59, 6, 16, 80))
    assert result.diff == pytest.approx(-10 / 161)
    assert result.low == pytest.approx(-0.1186, abs=PRINTED)
    assert result.high == pytest.approx(-0.0046, abs=PRINTED)


def test_paired_difference_counts_the_table() -> None:
    result = paired_difference(pairs_from_table(3, 2, 1, 4))
    counts = (result.n_pairs, result.both, result.only_first, result.only_second, result.neither)
    assert counts == (10, 3, 2, 1, 4)
    assert result.diff == pytest.approx(0.1)


def test_mcnemar_exact_p_value_for_a_small_table() -> None:
    # One discordant pair one way and seven the other: 2 * P(X <= 1 | Bin(8, 1/2)) = 18/256.
    result = paired_difference(pairs_from_table(1, 1, 7, 12))
    assert result.p_value == pytest.approx(18 / 256)


def test_mcnemar_without_discordant_pairs_gives_no_evidence() -> None:
    assert paired_difference(pairs_from_table(5, 0, 0, 5)).p_value == pytest.approx(1.0)


def test_paired_difference_of_no_pairs_is_undefined() -> None:
    result = paired_difference([])
    assert result.n_pairs == 0
    assert (result.diff, result.low, result.high, result.p_value) == (None,) * 4


@pytest.mark.parametrize(
    "table", [(3, 2, 1, 4), (0, 5, 0, 0), (0, 0, 0, 1), (1, 0, 0, 0), (40, 9, 4, 47), (0, 3, 7, 0)]
)
def test_paired_interval_contains_the_estimate_and_stays_in_range(
    table: tuple[int, int, int, int],
) -> None:
    result = paired_difference(pairs_from_table(*table))
    assert result.low is not None and result.high is not None and result.diff is not None
    assert -1 <= result.low <= result.diff <= result.high <= 1


def test_swapping_first_and_second_mirrors_the_paired_interval() -> None:
    forward = paired_difference(pairs_from_table(20, 9, 3, 18))
    backward = paired_difference(pairs_from_table(20, 3, 9, 18))
    assert backward.diff == pytest.approx(-forward.diff)
    assert (backward.low, backward.high) == pytest.approx((-forward.high, -forward.low))
    assert backward.p_value == pytest.approx(forward.p_value)


def test_paired_interval_narrows_with_more_pairs() -> None:
    small = paired_difference(pairs_from_table(5, 3, 1, 6))
    large = paired_difference(pairs_from_table(20, 12, 4, 24))
    assert large.high - large.low < small.high - small.low


def test_paired_interval_equals_the_unpaired_one_for_uncorrelated_pairs() -> None:
    # both * neither == only_first * only_second: no correlation between the two outcomes.
    result = paired_difference(pairs_from_table(20, 20, 10, 10))
    low, high = confint_proportions_2indep(40, 60, 30, 60, method="newcomb", compare="diff")
    assert (result.low, result.high) == pytest.approx((low, high))


def test_positively_correlated_pairs_give_a_narrower_interval_than_unpaired() -> None:
    result = paired_difference(pairs_from_table(40, 9, 4, 47))
    low, high = confint_proportions_2indep(49, 100, 44, 100, method="newcomb", compare="diff")
    assert result.high - result.low < (high - low) * 0.8


# --- stars ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "marks"),
    [
        (0.0, "***"),
        (0.0009, "***"),
        (0.001, "**"),
        (0.0099, "**"),
        (0.01, "*"),
        (0.0499, "*"),
        (0.05, ""),
        (0.5, ""),
        (None, ""),
    ],
)
def test_stars_follow_the_studys_thresholds(p: float | None, marks: str) -> None:
    assert stars(p) == marks


# --- Welch t-test on raw scores ---------------------------------------------------------------


def test_mean_difference_matches_welchs_closed_form_and_statsmodels() -> None:
    a, b = [80.0, 85.0, 90.0, 95.0, 70.0], [60.0, 62.0, 58.0, 65.0]
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    var_a = sum((x - mean_a) ** 2 for x in a) / (len(a) - 1)
    var_b = sum((x - mean_b) ** 2 for x in b) / (len(b) - 1)
    result = mean_difference(a, b)
    assert result is not None
    statistic, p_value = result
    assert statistic == pytest.approx(
        (mean_a - mean_b) / math.sqrt(var_a / len(a) + var_b / len(b))
    )
    assert p_value == pytest.approx(statsmodels_ttest_ind(a, b, usevar="unequal")[1])


def test_mean_difference_allows_one_group_of_identical_scores() -> None:
    result = mean_difference([60.0, 60.0, 60.0], [70.0, 80.0, 90.0])
    assert result is not None
    assert result[0] < 0
    assert result[1] == pytest.approx(
        statsmodels_ttest_ind([60, 60, 60], [70, 80, 90], usevar="unequal")[1]
    )


@pytest.mark.parametrize(
    ("a", "b"), [([60.0], [70.0, 80.0]), ([], [70.0, 80.0]), ([60.0, 60.0], [70.0, 70.0])]
)
def test_mean_difference_is_none_when_undefined(a: list[float], b: list[float]) -> None:
    assert mean_difference(a, b) is None


def test_mean_difference_rejects_missing_scores() -> None:
    with pytest.raises(ValueError):
        mean_difference([60.0, math.nan], [70.0, 80.0])
