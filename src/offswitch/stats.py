"""Statistics for preservation rates: intervals, differences and the study's significance tests.

The study reports rates with pooled z-tests, a one-sided binomial test against a floor, Fisher's
method and Welch t-tests, and gives no intervals. offswitch keeps those tests and adds a Wilson
interval to every rate, a Newcombe interval to every difference, and paired statistics for
paired runs (same configuration and seed, e.g. unmonitored vs monitored).

Degenerate but valid inputs (no runs, all or no successes, tiny samples) give None where a
quantity is undefined: never NaN, an exception or a numpy warning. Impossible inputs (more
successes than runs, a confidence outside (0, 1)) raise ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, NonNegativeInt, model_validator
from scipy.stats import binomtest, combine_pvalues, ttest_ind_from_stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

SMALL_SAMPLE = 10
"""Rates from fewer runs than this are flagged `small`; callers print a warning beside them."""

BINOMIAL_FLOOR = 0.001
"""The study's null rate for "the behaviour occurs at all"."""

STAR_LEVELS = ((0.001, "***"), (0.01, "**"), (0.05, "*"))


class Rate(BaseModel):
    """A proportion of runs with its Wilson interval; rate and interval are None when n is 0."""

    model_config = ConfigDict(frozen=True)

    successes: NonNegativeInt
    n: NonNegativeInt
    rate: float | None
    low: float | None
    high: float | None
    small: bool

    @model_validator(mode="after")
    def _successes_within_runs(self) -> Rate:
        _check_counts(self.successes, self.n)
        return self


class Difference(BaseModel):
    """Rate `a` minus rate `b` for independent samples.

    The interval is Newcombe's hybrid score interval; `z` and `p_value` come from the study's
    two-sided pooled two-proportion z-test and are None when it is undefined (an empty sample,
    or both rates 0 or both 1).
    """

    model_config = ConfigDict(frozen=True)

    a: Rate
    b: Rate
    diff: float | None
    low: float | None
    high: float | None
    z: float | None
    p_value: float | None


class PairedDifference(BaseModel):
    """P(first) minus P(second) over pairs of runs that share a configuration and seed.

    Only the discordant pairs (`only_first`, `only_second`) carry evidence of a difference;
    `p_value` is McNemar's exact test on them.
    """

    model_config = ConfigDict(frozen=True)

    n_pairs: NonNegativeInt
    both: NonNegativeInt
    only_first: NonNegativeInt
    only_second: NonNegativeInt
    neither: NonNegativeInt
    diff: float | None
    low: float | None
    high: float | None
    p_value: float | None


def rate(successes: int, n: int, confidence: float = 0.95) -> Rate:
    """The rate `successes / n` with its Wilson score interval."""
    _check_counts(successes, n)
    alpha = _alpha(confidence)
    if n == 0:
        return Rate(successes=0, n=0, rate=None, low=None, high=None, small=True)
    low, high = _wilson(successes, n, alpha)
    return Rate(
        successes=successes,
        n=n,
        rate=successes / n,
        low=low,
        high=high,
        small=n < SMALL_SAMPLE,
    )


def difference(a: Rate, b: Rate, confidence: float = 0.95) -> Difference:
    """Rate `a` minus rate `b`, with a Newcombe interval and the pooled z-test."""
    alpha = _alpha(confidence)
    if a.n == 0 or b.n == 0:
        return Difference(a=a, b=b, diff=None, low=None, high=None, z=None, p_value=None)
    low, high = confint_proportions_2indep(
        a.successes,
        a.n,
        b.successes,
        b.n,
        method="newcomb",
        compare="diff",
        alpha=alpha,
    )
    z, p_value = _pooled_z_test(a, b)
    return Difference(
        a=a,
        b=b,
        diff=a.successes / a.n - b.successes / b.n,
        low=float(low),
        high=float(high),
        z=z,
        p_value=p_value,
    )


def binomial_above_floor(successes: int, n: int, p0: float = BINOMIAL_FLOOR) -> float:
    """One-sided binomial p-value that the true rate exceeds `p0`.

    This is the study's test that a behaviour occurs at all. With no runs there is no evidence,
    so the p-value is 1.
    """
    _check_counts(successes, n)
    if not 0 < p0 < 1:
        raise ValueError(f"p0 must lie strictly between 0 and 1, got {p0}")
    if n == 0:
        return 1.0
    return float(binomtest(successes, n, p0, alternative="greater").pvalue)


def fisher_combined(p_values: Sequence[float | None]) -> float:
    """Fisher's combination of independent p-values, skipping None and NaN (untested cells)."""
    usable = [p for p in p_values if p is not None and not math.isnan(p)]
    if not usable:
        raise ValueError("Fisher's method needs at least one p-value")
    if any(not 0 <= p <= 1 for p in usable):
        raise ValueError(f"p-values must lie in [0, 1], got {usable}")
    # A p-value of 0 makes the statistic infinite and the combined p-value 0, which is right.
    with np.errstate(divide="ignore"):
        return float(combine_pvalues(usable, method="fisher").pvalue)


def paired_difference(
    pairs: Sequence[tuple[bool, bool]], confidence: float = 0.95
) -> PairedDifference:
    """P(first) minus P(second) for paired runs, with a paired interval and McNemar's test."""
    alpha = _alpha(confidence)
    both = sum(1 for first, second in pairs if first and second)
    only_first = sum(1 for first, second in pairs if first and not second)
    only_second = sum(1 for first, second in pairs if second and not first)
    neither = len(pairs) - both - only_first - only_second
    table = {
        "n_pairs": len(pairs),
        "both": both,
        "only_first": only_first,
        "only_second": only_second,
        "neither": neither,
    }
    if not pairs:
        return PairedDifference(**table, diff=None, low=None, high=None, p_value=None)
    low, high = _newcombe_paired_interval(both, only_first, only_second, neither, alpha)
    return PairedDifference(
        **table,
        diff=(only_first - only_second) / len(pairs),
        low=low,
        high=high,
        p_value=float(mcnemar([[both, only_first], [only_second, neither]], exact=True).pvalue),
    )


def stars(p: float | None) -> str:
    """The study's significance marks: *** below .001, ** below .01, * below .05."""
    if p is None:
        return ""
    return next((mark for level, mark in STAR_LEVELS if p < level), "")


def mean_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float] | None:
    """Welch's t-test of raw scores `a` against `b`: the statistic and the two-sided p-value.

    None when the test is undefined: a group with fewer than two scores, or no spread in either
    group. Means and standard deviations go to scipy directly so that a group of identical
    scores (a legitimate zero variance) raises no precision warning.
    """
    for scores in (a, b):
        if not all(math.isfinite(score) for score in scores):
            raise ValueError("scores must be finite numbers; drop missing scores first")
    if len(a) < 2 or len(b) < 2 or (_constant(a) and _constant(b)):
        return None
    result = ttest_ind_from_stats(
        float(np.mean(a)),
        float(np.std(a, ddof=1)),
        len(a),
        float(np.mean(b)),
        float(np.std(b, ddof=1)),
        len(b),
        equal_var=False,
    )
    return float(result.statistic), float(result.pvalue)


def _check_counts(successes: int, n: int) -> None:
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")


def _alpha(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return 1 - confidence


def _wilson(successes: int, n: int, alpha: float) -> tuple[float, float]:
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    # The Wilson interval lies in [0, 1] and contains the observed rate, but at a rate of 0 or 1
    # rounding can leave a bound a hair off (0.9999999999999999 for 12 of 12), and statsmodels
    # 0.14 does not clip to [0, 1].
    observed = successes / n
    return max(0.0, min(float(low), observed)), min(1.0, max(float(high), observed))


def _pooled_z_test(a: Rate, b: Rate) -> tuple[float | None, float | None]:
    pooled_successes = a.successes + b.successes
    if pooled_successes in (0, a.n + b.n):
        return None, None  # the pooled variance is zero: the test says nothing
    z, p_value = proportions_ztest([a.successes, b.successes], [a.n, b.n])
    return float(z), float(p_value)


def _newcombe_paired_interval(
    both: int, only_first: int, only_second: int, neither: int, alpha: float
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for a difference of paired proportions (method 10).

    statsmodels has no interval for paired proportions. Like the unpaired Newcombe interval,
    this combines the Wilson limits of the two marginal proportions, but it subtracts their
    covariance, so that positively correlated pairs give a narrower interval.
    Reference: R. G. Newcombe (1998), "Improved confidence intervals for the difference between
    binomial proportions based on paired data", Statistics in Medicine 17: 2635-2650.
    """
    n = both + only_first + only_second + neither
    first, second = (both + only_first) / n, (both + only_second) / n
    first_low, first_high = _wilson(both + only_first, n, alpha)
    second_low, second_high = _wilson(both + only_second, n, alpha)
    phi = _marginal_correlation(both, only_first, only_second, neither)
    below = _correlated_distance(first - first_low, second_high - second, phi)
    above = _correlated_distance(first_high - first, second - second_low, phi)
    return first - second - below, first - second + above


def _marginal_correlation(both: int, only_first: int, only_second: int, neither: int) -> float:
    """Newcombe's phi: the correlation of the two outcomes, 0 when a margin is empty.

    A positive cross-product is reduced by n/2 (and floored at 0), as in method 10.
    """
    margins = (
        (both + only_first)
        * (only_second + neither)
        * (both + only_second)
        * (only_first + neither)
    )
    if margins == 0:
        return 0.0
    cross = both * neither - only_first * only_second
    if cross > 0:
        cross = max(cross - (both + only_first + only_second + neither) / 2, 0)
    return cross / math.sqrt(margins)


def _correlated_distance(first_margin: float, second_margin: float, phi: float) -> float:
    return math.sqrt(first_margin**2 + second_margin**2 - 2 * phi * first_margin * second_margin)


def _constant(scores: Sequence[float]) -> bool:
    return min(scores) == max(scores)
