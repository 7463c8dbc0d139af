"""Tests of numerics.estimation.estimate: Wilson intervals, the binomial GLM transition and its intervals,
the bootstrap, the finite-size extrapolation and the verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import optimize, special, stats

from numerics.estimation.estimate import (
    bootstrap_transition,
    finite_size_fit,
    fit_transition,
    verdict_on,
    wilson_interval,
)
from proofs.validation import InvalidArgument

MAX_TRIALS = 10_000


@st.composite
def st_counts(draw, max_trials=MAX_TRIALS):
    """(successes, trials) with 0 <= successes <= trials, trials >= 1."""
    n = draw(st.integers(1, max_trials))
    return draw(st.integers(0, n)), n


st_confidence = st.floats(0.5, 0.999, allow_nan=False)


# --------------------------------------------------------------------------------------------
# Wilson

# Reference values: Newcombe (1998), "Two-sided confidence intervals for the single proportion",
# Statistics in Medicine 17:857-872, Table I, method 3 (score interval without continuity
# correction), printed to 4 decimals. The 17-digit values were recomputed independently of the
# code under test, as the roots of (p_hat - q)^2 = z^2 q (1 - q) / n in mpmath:
#
#     import mpmath as mp; mp.mp.dps = 40
#     z = mp.sqrt(2) * mp.erfinv(mp.mpf("0.95"))
#     p = mp.mpf(s) / n; a = 1 + z**2 / n; b = -(2 * p + z**2 / n); c = p**2
#     d = mp.sqrt(b * b - 4 * a * c); print((-b - d) / (2 * a), (-b + d) / (2 * a))
#
# Newcombe's rounded values (0.2553, 0.3662), (0.0624, 0.1605), (0, 0.1611), (0.0061, 0.1718)
# agree with them. Tolerance rtol 1e-12: the closed form loses a few ulps in the subtraction.
WILSON_CASES = [
    (81, 263, 0.25528851987827423, 0.36620957698280007),
    (15, 148, 0.06238639953073628, 0.16048724172330804),
    (0, 20, 0.0, 0.16112515805281939),
    (1, 29, 0.0061132142927626605, 0.17175521879320288),
    (5, 10, 0.23659309051256398, 0.76340690948743602),
    (10, 10, 0.72246720013711075, 1.0),
]


@pytest.mark.parametrize("s, n, lo, hi", WILSON_CASES)
def test_wilson_reference_values(s, n, lo, hi):
    # Property: the Wilson interval equals the published / independently computed values.
    got = wilson_interval(s, n)
    assert_allclose(got, (lo, hi), rtol=1e-12, atol=0)


@given(st_counts(), st_confidence)
def test_wilson_contains_estimate_and_lies_in_unit_interval(counts, conf):
    # Property: for all counts and levels, 0 <= lo <= s/n <= hi <= 1, with lo == 0 exactly when
    # s == 0 and hi == 1 exactly when s == n.
    s, n = counts
    lo, hi = wilson_interval(s, n, conf)
    assert 0.0 <= lo <= s / n <= hi <= 1.0
    assert (lo == 0.0) is (s == 0)
    assert (hi == 1.0) is (s == n)


@given(st_counts(), st_confidence, st_confidence)
def test_wilson_nested_in_confidence(counts, c1, c2):
    # Property: a higher confidence level gives an interval that contains the lower level's one.
    assume(c1 < c2)
    s, n = counts
    lo1, hi1 = wilson_interval(s, n, c1)
    lo2, hi2 = wilson_interval(s, n, c2)
    assert lo2 <= lo1 + 1e-15 and hi1 <= hi2 + 1e-15


def test_wilson_vectorised_equals_scalar():
    # Property: array input gives elementwise the scalar results.
    s = np.array([0, 3, 7, 10])
    n = np.array([10, 10, 10, 10])
    lo, hi = wilson_interval(s, n)
    for j in range(4):
        assert (lo[j], hi[j]) == wilson_interval(int(s[j]), int(n[j]))


@pytest.mark.parametrize("args, name", [((3, 0), "trials"), ((5, 4), "successes"),
                                        ((1.5, 4), "successes"), ((1, 4, 1.0), "confidence")])
def test_wilson_bad_input_names_the_argument(args, name):
    # Property: bad input raises InvalidArgument naming the argument.
    with pytest.raises(InvalidArgument, match=name):
        wilson_interval(*args)


# --------------------------------------------------------------------------------------------
# GLM transition

RHO_GRID = np.linspace(1.0, 1.8, 9)
PLANTED_C50 = 1.35
PLANTED_SLOPE = 12.0  # logit slope in log(rho)


def _planted(link="logit", scale="log", c50=PLANTED_C50, slope=PLANTED_SLOPE):
    t = np.log(RHO_GRID) if scale == "log" else RHO_GRID
    t50 = np.log(c50) if scale == "log" else c50
    eta = slope * (t - t50)
    p = special.expit(eta) if link == "logit" else special.ndtr(eta)
    inv = special.logit if link == "logit" else special.ndtri

    def c_at(q):
        tq = t50 + inv(q) / slope
        return float(np.exp(tq)) if scale == "log" else float(tq)

    return p, c_at


@pytest.mark.parametrize("link, scale", [("logit", "log"), ("probit", "log"),
                                         ("logit", "linear"), ("probit", "linear")])
def test_glm_recovers_planted_transition(link, scale):
    # Property: with many trials per cell the fitted C*(p) approaches the planted one; the error
    # is within 5 delta-method standard errors (a 5-sigma band: the estimate is consistent and
    # its standard error shrinks like 1/sqrt(trials)).
    p, c_at = _planted(link, scale, slope=12.0 if scale == "log" else 9.0)
    rng = np.random.default_rng(11)
    n = np.full(RHO_GRID.size, 4000)
    s = rng.binomial(n, p)
    fit = fit_transition(RHO_GRID, s, n, link=link, scale=scale)
    assert fit.converged is True and fit.degenerate is False
    for q in (0.5, 0.95):
        pt = fit.point(q)
        se_rho = pt.se_t * (pt.rho if scale == "log" else 1.0)
        assert abs(pt.rho - c_at(q)) <= 5 * se_rho
        assert pt.profile[0] < pt.rho < pt.profile[1]
        assert pt.delta[0] < pt.rho < pt.delta[1]
    assert fit.gof_pvalue > 1e-3  # the right model fits (fails with probability ~1e-3)


def test_glm_interval_coverage_at_nominal_rate():
    # Property: over 200 independent replications of a planted logit transition (40 trials per
    # cell, 9 cells), the 95% profile-likelihood intervals for C*(0.5) and C*(0.95) cover the
    # truth a number of times inside the central 99.9% range of Binomial(200, 0.95), i.e. the
    # coverage is consistent with the stated 95%. (A 3000-replication run gave 0.948 and 0.945.)
    reps, nominal = 200, 0.95
    band = (stats.binom.ppf(0.0005, reps, nominal), stats.binom.isf(0.0005, reps, nominal))
    p, c_at = _planted()
    rng = np.random.default_rng(20240601)
    n = np.full(RHO_GRID.size, 40)
    covered = {0.5: 0, 0.95: 0}
    for _ in range(reps):
        fit = fit_transition(RHO_GRID, rng.binomial(n, p), n)
        if fit.degenerate:  # counts as a miss: no interval was given
            continue
        for q in covered:
            lo, hi = fit.point(q).profile
            covered[q] += lo <= c_at(q) <= hi
    for q, k in covered.items():
        assert band[0] <= k <= band[1], (q, k, band)


def test_profile_endpoints_solve_the_likelihood_ratio_equation():
    # Property: at each end of the profile interval, 2 (l_hat - max_b1 l) equals chi2_1(0.95);
    # the max over b1 is recomputed here by scipy's bounded scalar minimiser (a second route).
    x, s, n = [1.0, 1.2, 1.4, 1.6], [2, 9, 15, 19], [20] * 4
    fit = fit_transition(x, s, n)
    t = np.log(x)
    crit = stats.chi2.ppf(0.95, 1)

    def ll(b0, b1):
        eta = b0 + b1 * t
        return np.sum(np.multiply(s, special.log_expit(eta))
                      + np.subtract(n, s) * special.log_expit(-eta))

    for q in (0.5, 0.95):
        c = special.logit(q)
        for end in fit.point(q).profile:
            tau = math.log(end)
            res = optimize.minimize_scalar(lambda b1: -ll(c - b1 * tau, b1), bounds=(0, 100),
                                           method="bounded", options={"xatol": 1e-10})
            assert_allclose(2 * (fit.loglik + res.fun), crit, rtol=1e-6, atol=0)


@pytest.mark.parametrize("s, bracket", [([0, 0, 10], (1.5, 2.0)), ([0, 4, 10], (1.5, 1.5)),
                                        ([0, 0, 0], None), ([10, 10, 10], None)])
def test_separated_data_give_a_degenerate_fit(s, bracket):
    # Property: when every failure lies at or below every success (complete or quasi-complete
    # separation) or all outcomes agree, the MLE does not exist: the fit says so, gives the
    # bracket of the empirical jump, and no finite estimate or interval.
    fit = fit_transition([1.0, 1.5, 2.0], s, [10, 10, 10])
    assert fit.degenerate is True
    assert fit.separation_bracket == (None if bracket is None else pytest.approx(bracket))
    for pt in fit.points:
        assert math.isnan(pt.rho) and all(math.isnan(v) for v in pt.profile + pt.delta)
    assert verdict_on(fit.points[0].profile).position == "undetermined"


def test_flat_data_give_an_unbounded_profile_interval():
    # Property: when the slope is not resolved (likelihood-ratio test of b1 = 0 below the
    # critical value), the profile interval is honestly unbounded rather than invented.
    fit = fit_transition([1.0, 1.2, 1.4], [4, 5, 5], [10, 10, 10])
    assert fit.degenerate is False
    lo, hi = fit.point(0.95).profile
    assert not (math.isfinite(hi) and lo > 0)
    assert "unbounded" in fit.message


@pytest.mark.parametrize("kwargs, name", [
    ({"link": "cloglog"}, "link"), ({"scale": "sqrt"}, "scale"), ({"p_levels": (1.5,)}, "p_levels"),
    ({"x": [0.0, 1.0, 2.0]}, "x"), ({"successes": [1, 2, 11]}, "successes"),
    ({"trials": [10, 0, 10]}, "trials"), ({"x": [1.0]}, "x")])
def test_fit_transition_bad_input(kwargs, name):
    # Property: bad input raises InvalidArgument naming the argument.
    args = {"x": [1.0, 1.5, 2.0], "successes": [1, 5, 9], "trials": [10, 10, 10]}
    args.update(kwargs)
    if name == "x" and len(args["x"]) == 1:
        args.update(successes=[1], trials=[10])
    with pytest.raises(InvalidArgument, match=name):
        fit_transition(**args)


# --------------------------------------------------------------------------------------------
# Bootstrap


def test_bootstrap_agrees_with_profile_on_large_data():
    # Property: with ample data the three interval routes (profile, delta, bootstrap) agree to
    # within a quarter of the profile interval's width at each end.
    p, _ = _planted()
    n = np.full(RHO_GRID.size, 400)
    s = np.random.default_rng(3).binomial(n, p)
    fit = fit_transition(RHO_GRID, s, n)
    boot = bootstrap_transition(RHO_GRID, s, n, rng=np.random.default_rng(4), n_boot=400)
    assert boot.n_degenerate == 0
    for (q, rho, lo, hi), pt in zip(boot.points, fit.points):
        width = pt.profile[1] - pt.profile[0]
        assert rho == pt.rho
        assert abs(lo - pt.profile[0]) < width / 4 and abs(hi - pt.profile[1]) < width / 4
        assert abs(pt.delta[0] - pt.profile[0]) < width / 4


def test_bootstrap_is_reproducible_and_needs_a_generator():
    # Property: the same generator seed gives the same interval; a non-Generator is refused.
    args = ([1.0, 1.2, 1.4, 1.6], [2, 9, 15, 19], [20] * 4)
    a = bootstrap_transition(*args, rng=np.random.default_rng(5), n_boot=50)
    b = bootstrap_transition(*args, rng=np.random.default_rng(5), n_boot=50)
    assert a == b
    with pytest.raises(InvalidArgument, match="rng"):
        bootstrap_transition(*args, rng=5, n_boot=50)


def test_bootstrap_of_separated_data_gives_no_interval():
    # Property: the bootstrap does not invent an interval where the fit has none.
    b = bootstrap_transition([1.0, 2.0, 3.0], [0, 0, 10], [10] * 3,
                             rng=np.random.default_rng(0), n_boot=20)
    assert all(math.isnan(lo) and math.isnan(hi) for _, _, lo, hi in b.points)


# --------------------------------------------------------------------------------------------
# Finite size

SIZES = [8, 16, 32, 64, 128]


def test_finite_size_fit_recovers_planted_rho_inf_exactly_without_noise():
    # Property: noise-free data from the model are fitted exactly (both fits when nu = 1).
    y = [1.3 + 2.0 * n ** (-1 / 1.5) for n in SIZES]
    fs = finite_size_fit(SIZES, y, [0.01] * 5)
    assert_allclose([fs.free.rho_inf, fs.free.nu], [1.3, 1.5], rtol=1e-6, atol=0)
    y1 = [1.3 + 2.0 / n for n in SIZES]
    fs1 = finite_size_fit(SIZES, y1, [0.01] * 5)
    assert_allclose(fs1.fixed_nu1.rho_inf, 1.3, rtol=1e-12, atol=0)


def test_finite_size_fit_interval_covers_planted_rho_inf():
    # Property: with Gaussian noise of the stated standard errors, the 95% interval for rho_inf
    # covers the planted value at about the nominal rate: over 200 replications the count lies
    # in the central 99.9% range of Binomial(200, 0.95).
    rng = np.random.default_rng(8)
    se = np.array([0.02, 0.015, 0.01, 0.008, 0.006])
    truth = 1.3 + 1.0 / np.array(SIZES, dtype=float) ** (1 / 1.2)
    reps = 200
    band = (stats.binom.ppf(0.0005, reps, 0.95), stats.binom.isf(0.0005, reps, 0.95))
    covered = 0
    for _ in range(reps):
        fs = finite_size_fit(SIZES, truth + se * rng.standard_normal(5), se)
        lo, hi = fs.free.interval
        covered += lo <= 1.3 <= hi
    assert band[0] <= covered <= band[1], (covered, band)


def test_finite_size_fit_with_too_few_sizes_says_so():
    # Property: with 2 sizes there is no free-nu fit, only nu = 1, and the message says so; with
    # 1 size there is no fit at all; with 3 sizes the free fit has df = 0 and says so.
    two = finite_size_fit([8, 16], [1.5, 1.45], [0.01, 0.01])
    assert two.free is None and two.fixed_nu1 is not None and "fewer than 3" in two.message
    one = finite_size_fit([8], [1.5], [0.01])
    assert one.free is None and one.fixed_nu1 is None and one.best() is None
    three = finite_size_fit([8, 16, 32], [1.5, 1.44, 1.41], [0.01] * 3)
    assert three.free.df == 0 and "passes through" in three.free.message


@pytest.mark.parametrize("args, name", [(([8, 8], [1.4, 1.4], [0.1, 0.1]), "sizes"),
                                        (([8, 16], [1.4, 1.4], [0.1, 0.0]), "stderr"),
                                        (([8, 16], [1.4, math.nan], [0.1, 0.1]), "rho_c"),
                                        (([0, 16], [1.4, 1.4], [0.1, 0.1]), "sizes")])
def test_finite_size_bad_input(args, name):
    # Property: bad input raises InvalidArgument naming the argument.
    with pytest.raises(InvalidArgument, match=name):
        finite_size_fit(*args)


# --------------------------------------------------------------------------------------------
# Verdict


@pytest.mark.parametrize("interval, position", [
    ((1.30, 1.40), "inside"), ((1.35, 1.40), "inside"), ((1.36, 1.40), "below"),
    ((1.20, 1.34), "above"), ((0.0, math.inf), "inside"), ((math.nan, 1.4), "undetermined"),
    (None, "undetermined"), ((None, 1.4), "undetermined")])
def test_verdict_positions(interval, position):
    # Property: the position says where 1.35 lies relative to the interval, and the sentence
    # names the value and the position in plain words.
    v = verdict_on(interval)
    assert v.position == position
    assert "1.35" in v.sentence
    assert position in v.sentence


@given(st.floats(0.5, 3.0), st.floats(0.0, 1.0), st.floats(0.5, 3.0))
def test_verdict_is_exhaustive(lo, width, value):
    # Property: for every finite interval and value exactly one of inside/below/above holds,
    # and it agrees with the comparison.
    hi = lo + width
    pos = verdict_on((lo, hi), value).position
    expected = "below" if value < lo else "above" if value > hi else "inside"
    assert pos == expected
