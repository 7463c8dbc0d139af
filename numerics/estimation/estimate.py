"""Estimation for the capacity engine: Wilson intervals, the binomial GLM transition, the
bootstrap over trials, the finite-size extrapolation and the verdict on a claimed constant.

Everything here is numpy and scipy on small arrays (one number per grid cell), so records can be
summarised without torch. Notation follows THEORY.md section 2: ``rho = r (m + n - r) / M``, a
success curve ``P(rho) = F(b0 + b1 t)`` with ``t = log(rho)`` (``scale="log"``) or ``t = rho``
(``scale="linear"``) and ``F`` the logistic or normal distribution function, and the transition
``C*(p)``, the ``rho`` where the curve crosses ``p``.

Three routes to an interval for ``C*(p)`` are offered, and the summary reports all of them:

- profile likelihood (primary): ``{tau : 2 (l_hat - max_{b1} l(b1, tau)) <= chi2_1(conf)}``,
  which may honestly be unbounded when the slope is not clearly resolved;
- the delta method on the ``t`` scale (secondary, symmetric in ``t``);
- the nonparametric bootstrap over trials (resample 0/1 outcomes within each cell).

When the 0/1 data are completely or quasi-completely separated in ``rho`` (every failure at or
below some ``rho_0`` and every success at or above it) the maximum-likelihood estimate does not
exist (the slope runs to infinity). Such a fit is reported as degenerate, with the bracket in
which the empirical jump lies, and no finite interval is invented.

Examples
--------
>>> x, s, n = [1.0, 1.2, 1.4, 1.6], [2, 9, 15, 19], [20, 20, 20, 20]
>>> fit = fit_transition(x, s, n)
>>> round(fit.point(0.5).rho, 4)
1.2344

The same number by a second route, a direct Nelder-Mead minimisation of the negative
log-likelihood (C*(0.5) = exp(-b0 / b1) for the logit link on the log scale):

>>> t = np.log(x)
>>> def nll(b):
...     eta = b[0] + b[1] * t
...     return -np.sum(np.multiply(s, special.log_expit(eta))
...                    + np.subtract(n, s) * special.log_expit(-eta))
>>> b = optimize.minimize(nll, [0.0, 1.0], method="Nelder-Mead",
...                       options={"xatol": 1e-10, "fatol": 1e-12}).x
>>> round(float(np.exp(-b[0] / b[1])), 4)
1.2344
>>> verdict_on(fit.point(0.5).profile, 1.35).position
'above'
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import optimize, special, stats

from proofs.claims import CLAIMED_CSTAR
from proofs.validation import InvalidArgument

__all__ = ["wilson_or_none", 
    "wilson_interval",
    "mean_t_interval",
    "format_interval",
    "clopper_pearson_bound",
    "extrapolation_problem",
    "MIN_EXTRAPOLATION_DF",
    "GOF_ALPHA",
    "TransitionPoint",
    "TransitionFit",
    "fit_transition",
    "BootstrapResult",
    "bootstrap_transition",
    "ScalingFit",
    "FiniteSizeFit",
    "finite_size_fit",
    "Verdict",
    "verdict_on",
    "LINKS",
    "SCALES",
    "bracket_transition",
]

LINKS = ("logit", "probit")
SCALES = ("log", "linear")


# --------------------------------------------------------------------------------------------
# Input checks (one helper per kind of argument; messages name the argument and the value)


def _check_confidence(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise InvalidArgument(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def _check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise InvalidArgument(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _check_p_levels(p_levels) -> tuple[float, ...]:
    try:
        levels = tuple(p_levels)
    except TypeError:
        raise InvalidArgument(f"p_levels must be a sequence of probabilities, got {p_levels!r}") from None
    if not levels:
        raise InvalidArgument(f"p_levels must not be empty, got {p_levels!r}")
    for p in levels:
        _check_confidence("p_levels", p)
    return tuple(float(p) for p in levels)


def _check_counts(x, successes, trials, scale: str):
    """Return float x, int successes, int trials as arrays after checking them once."""
    try:
        xa = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgument(f"x must be a sequence of numbers, got {x!r}") from None
    sa = np.asarray(successes)
    na = np.asarray(trials)
    if xa.ndim != 1 or xa.size < 2:
        raise InvalidArgument(f"x must be a 1-d sequence of at least 2 values, got {x!r}")
    if sa.shape != xa.shape or na.shape != xa.shape:
        raise InvalidArgument(
            f"x, successes and trials must have the same length, got {xa.size}, {sa.size}, {na.size}"
        )
    for name, arr in (("successes", sa), ("trials", na)):
        if not (np.issubdtype(arr.dtype, np.integer) or
                (np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr))
                 and np.all(arr == np.round(arr)))):
            raise InvalidArgument(f"{name} must be integers, got {arr.tolist()!r}")
    sa = sa.astype(np.int64)
    na = na.astype(np.int64)
    if not np.all(np.isfinite(xa)):
        raise InvalidArgument(f"x must be finite, got {xa.tolist()!r}")
    if scale == "log" and np.any(xa <= 0):
        raise InvalidArgument(f"x must be positive on the log scale, got {xa.tolist()!r}")
    if np.any(na < 1):
        raise InvalidArgument(f"trials must be positive integers, got {na.tolist()!r}")
    if np.any(sa < 0) or np.any(sa > na):
        raise InvalidArgument(f"successes must lie in 0..trials, got {sa.tolist()!r} of {na.tolist()!r}")
    return xa, sa, na


# --------------------------------------------------------------------------------------------
# Wilson score interval


def mean_t_interval(values, confidence: float = 0.95) -> dict:
    """Mean of the values with its two-sided Student-t interval: ``{"mean", "n", "lo", "hi"}``
    (``lo`` and ``hi`` None for a single value).

    >>> d = mean_t_interval([1.0, 1.1, 0.9])
    >>> round(d["mean"], 6), d["n"], d["lo"] < 1 < d["hi"]
    (1.0, 3, True)
    >>> mean_t_interval([2.0])
    {'mean': 2.0, 'n': 1, 'lo': None, 'hi': None}
    """
    x = np.asarray(values, float)
    mean = float(x.mean())
    if len(x) < 2:
        return {"mean": mean, "n": len(x), "lo": None, "hi": None}
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1)) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return {"mean": mean, "n": len(x), "lo": mean - half, "hi": mean + half}


def format_interval(d: dict, digits: int = 3) -> str:
    """``"mean [lo, hi]"`` of a :func:`mean_t_interval` dict (the mean alone without interval).

    >>> format_interval({"mean": 1.0, "lo": 0.9, "hi": 1.1}, 2)
    '1.00 [0.90, 1.10]'
    >>> format_interval({"mean": 2.0, "lo": None, "hi": None})
    '2.000'
    """
    if d.get("lo") is None:
        return f"{d['mean']:.{digits}f}"
    return f"{d['mean']:.{digits}f} [{d['lo']:.{digits}f}, {d['hi']:.{digits}f}]"


def wilson_interval(successes, trials, confidence=0.95):
    """Wilson score interval for a binomial proportion.

    The interval is the set of ``q`` with ``(p_hat - q)^2 <= z^2 q (1 - q) / n``, ``z`` the
    two-sided normal quantile. It always lies in ``[0, 1]`` and contains ``p_hat``; at ``0``
    successes its lower end is exactly 0 and at ``n`` successes its upper end is exactly 1.

    Parameters
    ----------
    successes, trials : int or array of int
        Counts with ``0 <= successes <= trials`` and ``trials >= 1``.
    confidence : float
        Two-sided level in (0, 1).

    Returns
    -------
    (low, high) : tuple of float, or of arrays when the counts are arrays.

    Raises
    ------
    InvalidArgument
        For counts out of range or a confidence outside (0, 1).

    Examples
    --------
    Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 gives 0.2553 to 0.3662:

    >>> lo, hi = wilson_interval(81, 263)
    >>> round(lo, 4), round(hi, 4)
    (0.2553, 0.3662)
    >>> wilson_interval(0, 10)[0]
    0.0
    """
    conf = _check_confidence("confidence", confidence)
    s = np.asarray(successes)
    n = np.asarray(trials)
    scalar = s.ndim == 0 and n.ndim == 0
    for name, arr in (("successes", s), ("trials", n)):
        if not np.issubdtype(arr.dtype, np.integer):  # bool arrays are refused here too
            raise InvalidArgument(f"{name} must be integers, got {arr.tolist()!r}")
    if np.any(n < 1):
        raise InvalidArgument(f"trials must be positive integers, got {n.tolist()!r}")
    if np.any(s < 0) or np.any(s > n):
        raise InvalidArgument(f"successes must lie in 0..trials, got {s.tolist()!r} of {n.tolist()!r}")
    s, n = np.broadcast_arrays(s.astype(float), n.astype(float))
    z = special.ndtri(0.5 + conf / 2)
    p = s / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo = np.clip(centre - half, 0.0, 1.0)
    hi = np.clip(centre + half, 0.0, 1.0)
    # Exact ends, and never exclude the point estimate through rounding.
    lo = np.where(s == 0, 0.0, np.minimum(lo, p))
    hi = np.where(s == n, 1.0, np.maximum(hi, p))
    if scalar:
        return float(lo), float(hi)
    return lo, hi



def wilson_or_none(successes: int, trials: int) -> list[float] | None:
    """The 95% :func:`wilson_interval` as a JSON-ready ``[low, high]``, or ``None`` without
    trials (a summary's cell with nothing to count).

    >>> wilson_or_none(0, 0) is None, wilson_or_none(5, 5)[1]
    (True, 1.0)
    """
    if not trials:
        return None
    low, high = wilson_interval(successes, trials)
    return [float(low), float(high)]

def clopper_pearson_bound(successes: int, trials: int, side: str, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson (exact) confidence bound for a binomial proportion.

    ``side="lower"``: the ``q`` with ``P(Binomial(trials, q) >= successes) = 1 - confidence``
    (0 at no success); ``side="upper"``: the ``q`` with ``P(Binomial(trials, q) <= successes) =
    1 - confidence`` (1 at all successes). The coverage is at least ``confidence`` for every
    true proportion (no normal approximation).

    Examples
    --------
    With all trials successful the lower bound has the closed form ``(1 - confidence)^(1/n)``:

    >>> round(clopper_pearson_bound(200, 200, "lower"), 6), round(0.05 ** (1 / 200), 6)
    (0.985133, 0.985133)
    >>> round(clopper_pearson_bound(0, 200, "upper"), 6), round(1 - 0.05 ** (1 / 200), 6)
    (0.014867, 0.014867)
    >>> clopper_pearson_bound(150, 200, "upper") < 0.95 < clopper_pearson_bound(195, 200, "upper")
    True
    """
    conf = _check_confidence("confidence", confidence)
    k, n = int(successes), int(trials)
    if n < 1 or not 0 <= k <= n or k != successes or n != trials:
        raise InvalidArgument(f"successes and trials must be integers with 0 <= successes <= "
                              f"trials, trials >= 1; got {successes!r} of {trials!r}")
    alpha = 1.0 - conf
    if side == "lower":
        return 0.0 if k == 0 else _beta_ppf(alpha, k, n - k + 1)
    if side == "upper":
        return 1.0 if k == n else _beta_ppf(1.0 - alpha, k + 1, n - k)
    raise InvalidArgument(f"side must be 'lower' or 'upper', got {side!r}")


@functools.lru_cache(maxsize=65536)
def _beta_ppf(q: float, a: int, b: int) -> float:
    """``stats.beta.ppf(q, a, b)``, remembered: the ledger asks for the same few hundred
    (level, count) pairs thousands of times (a pure function of its arguments)."""
    return float(stats.beta.ppf(q, a, b))


# --------------------------------------------------------------------------------------------
# Link functions (log-concave, symmetric: 1 - F(eta) = F(-eta))


def _log_cdf(link: str, eta):
    return special.log_expit(eta) if link == "logit" else special.log_ndtr(eta)


def _log_pdf(link: str, eta):
    if link == "logit":
        return special.log_expit(eta) + special.log_expit(-eta)
    return -0.5 * eta * eta - 0.5 * math.log(2 * math.pi)


def _cdf(link: str, eta):
    return special.expit(eta) if link == "logit" else special.ndtr(eta)


def _inv_cdf(link: str, p):
    return special.logit(p) if link == "logit" else special.ndtri(p)


def _loglik_eta(link, eta, s, n):
    return float(np.sum(s * _log_cdf(link, eta) + (n - s) * _log_cdf(link, -eta)))


def _score_weights(link, eta, s, n):
    """Return dl/deta and the Fisher weight n f^2 / (F (1 - F)) per cell, computed stably."""
    lf = _log_pdf(link, eta)
    lF = _log_cdf(link, eta)
    lG = _log_cdf(link, -eta)
    score = s * np.exp(lf - lF) - (n - s) * np.exp(lf - lG)
    weight = n * np.exp(2 * lf - lF - lG)
    return score, weight


def _to_t(x, scale):
    return np.log(x) if scale == "log" else np.asarray(x, dtype=float)


def _from_t(t, scale):
    if scale == "log":
        with np.errstate(over="ignore"):
            return float(np.exp(t))
    return float(t)


def _separation(t, s, n):
    """Describe (quasi-)complete separation of the 0/1 data along t, or return None.

    The MLE of ``F(b0 + b1 t)`` fails to exist iff some ``(a, b) != 0`` has ``a + b t >= 0`` at
    every success and ``<= 0`` at every failure; in one dimension that is: all trials agree, or
    every failure sits at or below every success (or the reverse).
    """
    fail_t = t[s < n]
    succ_t = t[s > 0]
    if fail_t.size == 0:
        return ("all trials succeeded: the curve never leaves 1 on this grid", None)
    if succ_t.size == 0:
        return ("all trials failed: the curve never leaves 0 on this grid", None)
    if fail_t.max() <= succ_t.min():
        return ("separated: every failure lies at or below every success, so the slope of the "
                "MLE is infinite", (float(fail_t.max()), float(succ_t.min())))
    if succ_t.max() <= fail_t.min():
        return ("separated: every success lies at or below every failure (decreasing curve), so "
                "the slope of the MLE is infinite", (float(succ_t.max()), float(fail_t.min())))
    return None


def _mle(link, t, s, n, start=None, max_iter=100):
    """Maximise the binomial log-likelihood by Fisher scoring with step halving.

    Falls back to BFGS when scoring does not settle. Returns (beta, loglik, converged).
    """
    X = np.column_stack([np.ones_like(t), t])
    if start is None:
        # Weighted least squares on the empirical link values: a good start for scoring.
        p_emp = (s + 0.5) / (n + 1.0)
        z = _inv_cdf(link, p_emp)
        w = n * p_emp * (1 - p_emp)
        beta = np.linalg.lstsq(X * np.sqrt(w)[:, None], z * np.sqrt(w), rcond=None)[0]
    else:
        beta = np.asarray(start, dtype=float)
    ll = _loglik_eta(link, X @ beta, s, n)
    converged = False
    for _ in range(max_iter):
        score, weight = _score_weights(link, X @ beta, s, n)
        grad = X.T @ score
        info = X.T @ (X * weight[:, None])
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        for _halving in range(40):
            cand = beta + step
            ll_c = _loglik_eta(link, X @ cand, s, n)
            if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * (1 + abs(ll)):
                break
            step = step / 2
        else:
            break
        beta, ll_old, ll = cand, ll, ll_c
        if abs(ll - ll_old) <= 1e-11 * (1 + abs(ll)) and np.max(np.abs(step)) <= 1e-8 * (
                1 + np.max(np.abs(beta))):
            converged = True
            break
    if converged:  # a step-halved crawl can look settled away from the optimum: check the score
        grad = X.T @ _score_weights(link, X @ beta, s, n)[0]
        converged = bool(np.all(np.isfinite(grad)) and np.max(np.abs(grad)) <= 1e-6 * (1 + n.sum()))
    if not converged:
        def nll(b):
            return -_loglik_eta(link, X @ b, s, n)

        def ngrad(b):
            return -(X.T @ _score_weights(link, X @ b, s, n)[0])

        res = optimize.minimize(nll, beta, jac=ngrad, method="BFGS",
                                options={"gtol": 1e-9, "maxiter": 2000})
        if np.all(np.isfinite(res.x)) and -res.fun >= ll - 1e-9 * (1 + abs(ll)):
            beta, ll = res.x, -float(res.fun)
        converged = bool(res.success)
    return np.asarray(beta, dtype=float), ll, converged


def _profile_loglik(link, t, s, n, c, tau, b1_start):
    """max over b1 of the log-likelihood with eta = c + b1 (t - tau) (concave in b1)."""
    u = t - tau
    b1 = float(b1_start)
    ll = _loglik_eta(link, c + b1 * u, s, n)
    for _ in range(100):
        score, weight = _score_weights(link, c + b1 * u, s, n)
        g = float(u @ score)
        h = float(u @ (weight * u))
        if h <= 0 or not np.isfinite(h) or not np.isfinite(g):
            break
        step = g / h
        for _halving in range(40):
            ll_c = _loglik_eta(link, c + (b1 + step) * u, s, n)
            if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * (1 + abs(ll)):
                break
            step /= 2
        else:
            break
        b1, ll_old, ll = b1 + step, ll, ll_c
        if abs(step) <= 1e-10 * (1 + abs(b1)) and abs(ll - ll_old) <= 1e-12 * (1 + abs(ll)):
            return ll, b1
    res = optimize.minimize_scalar(lambda b: -_loglik_eta(link, c + b * u, s, n),
                                   bracket=(b1 - 1.0, b1 + 1.0))
    if np.isfinite(res.fun) and -res.fun > ll:
        return -float(res.fun), float(res.x)
    return ll, b1


def _profile_interval(link, t, s, n, c, tau_hat, b1_hat, ll_hat, crit, step0, t_span):
    """Endpoints on the t scale of {tau : 2 (ll_hat - l_prof(tau)) <= crit}; +-inf if open."""
    cache = {}

    def excess(tau):
        if tau not in cache:
            cache[tau] = 2 * (ll_hat - _profile_loglik(link, t, s, n, c, tau, b1_hat)[0]) - crit
        return cache[tau]

    limit = 50.0 * max(t_span, 1.0)  # search a range far wider than the grid, then give up
    ends = []
    for direction in (-1.0, 1.0):
        inner, step = tau_hat, max(step0, 1e-6 * max(t_span, 1.0))
        found = None
        while abs(inner + direction * step - tau_hat) <= limit:
            outer = tau_hat + direction * step
            if excess(outer) > 0:
                found = outer
                break
            inner, step = outer, step * 2
        if found is None:
            ends.append(direction * math.inf)
            continue
        a, b = (found, inner) if direction < 0 else (inner, found)
        ends.append(optimize.brentq(excess, a, b, xtol=1e-10 * (1 + abs(tau_hat)), rtol=1e-12))
    return ends[0], ends[1]


@dataclass(frozen=True)
class TransitionPoint:
    """The transition ``C*(p)`` of a fitted curve, with two intervals on the ``rho`` scale.

    ``profile`` and ``delta`` are ``(low, high)``; an infinite end means the data do not bound
    it within a search range of 50 grid spans; NaN means not available (a degenerate fit).
    ``se_t`` is the delta-method standard error on the ``t`` scale (``log rho`` or ``rho``).
    """

    p: float
    rho: float
    profile: tuple[float, float]
    delta: tuple[float, float]
    se_t: float

    def to_dict(self) -> dict:
        return {"p": self.p, "rho": _finite_or_none(self.rho),
                "profile": [_finite_or_none(v) for v in self.profile],
                "delta": [_finite_or_none(v) for v in self.delta],
                "se_t": _finite_or_none(self.se_t)}


@dataclass(frozen=True)
class TransitionFit:
    """A binomial GLM ``P(rho) = F(b0 + b1 t)`` fitted by maximum likelihood.

    ``cov`` is the inverse Fisher information at the estimate. ``deviance`` is the residual
    deviance against the saturated model (one probability per cell), ``df = cells - 2`` and
    ``gof_pvalue = P(chi2_df >= deviance)`` (NaN when ``df == 0``); small values say the
    curve shape does not fit. A ``degenerate`` fit (separation, one distinct rho, or a failed
    optimisation) has NaN estimates and a ``message`` saying why; for separated data
    ``separation_bracket`` gives the rho-interval in which the empirical jump lies.
    """

    link: str
    scale: str
    confidence: float
    coef: tuple[float, float]
    cov: tuple[tuple[float, float], tuple[float, float]]
    loglik: float
    deviance: float
    df: int
    gof_pvalue: float
    pearson_chi2: float
    n_cells: int
    n_trials: int
    converged: bool
    degenerate: bool
    message: str
    separation_bracket: tuple[float, float] | None
    points: tuple[TransitionPoint, ...] = field(default_factory=tuple)

    def point(self, p: float) -> TransitionPoint:
        """The transition for level ``p`` (one of the fitted ``p_levels``).

        >>> fit_transition([1, 2, 3], [1, 5, 9], [10, 10, 10]).point(0.5).p
        0.5
        """
        for pt in self.points:
            if math.isclose(pt.p, p, rel_tol=0, abs_tol=1e-12):
                return pt
        raise InvalidArgument(f"p must be one of the fitted levels "
                              f"{[pt.p for pt in self.points]}, got {p!r}")

    def predict(self, rho) -> np.ndarray:
        """Fitted success probability at ``rho`` (NaN for a degenerate fit).

        >>> fit = fit_transition([1, 2, 3], [1, 5, 9], [10, 10, 10], scale="linear")
        >>> float(fit.predict(2.0)) == 0.5
        True
        """
        r = np.asarray(rho, dtype=float)
        if self.degenerate:
            return np.full(r.shape, np.nan)
        return _cdf(self.link, self.coef[0] + self.coef[1] * _to_t(r, self.scale))

    def to_dict(self) -> dict:
        return {
            "link": self.link, "scale": self.scale, "confidence": self.confidence,
            "coef": [_finite_or_none(v) for v in self.coef],
            "cov": [[_finite_or_none(v) for v in row] for row in self.cov],
            "loglik": _finite_or_none(self.loglik), "deviance": _finite_or_none(self.deviance),
            "df": self.df, "gof_pvalue": _finite_or_none(self.gof_pvalue),
            "pearson_chi2": _finite_or_none(self.pearson_chi2),
            "n_cells": self.n_cells, "n_trials": self.n_trials, "converged": self.converged,
            "degenerate": self.degenerate, "message": self.message,
            "separation_bracket": (None if self.separation_bracket is None
                                   else list(self.separation_bracket)),
            "points": [pt.to_dict() for pt in self.points],
        }


def _finite_or_none(v):
    """JSON has no NaN or infinity: write None (the accompanying message says which)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _deviance_terms(s, n, mu):
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(s > 0, s * np.log(s / (n * mu)), 0.0)
        b = np.where(n - s > 0, (n - s) * np.log((n - s) / (n * (1 - mu))), 0.0)
    return 2 * float(np.sum(a + b))


def fit_transition(x, successes, trials, link="logit", scale="log", p_levels=(0.5, 0.95),
                   confidence=0.95) -> TransitionFit:
    """Fit ``P(rho) = F(b0 + b1 t)`` to binomial counts and locate the transitions.

    Parameters
    ----------
    x : sequence of float
        ``rho`` per cell (positive on the log scale).
    successes, trials : sequence of int
        Binomial counts per cell.
    link : {"logit", "probit"}
    scale : {"log", "linear"}
        ``t = log(rho)`` or ``t = rho``.
    p_levels : sequence of float
        Levels ``p`` at which ``C*(p) = t^{-1}((F^{-1}(p) - b0) / b1)`` is reported.
    confidence : float
        Level of the profile-likelihood and delta-method intervals.

    Returns
    -------
    TransitionFit

    Raises
    ------
    InvalidArgument
        For malformed counts, a non-positive rho on the log scale, or an unknown link/scale.

    Examples
    --------
    A curve through 0.5 at rho = 2 on the linear scale (symmetric data):

    >>> fit = fit_transition([1, 2, 3], [1, 5, 9], [10, 10, 10], scale="linear")
    >>> round(fit.point(0.5).rho, 12), fit.degenerate
    (2.0, False)

    Separated data: the MLE does not exist, so no interval is invented.

    >>> bad = fit_transition([1.0, 1.5, 2.0], [0, 0, 10], [10, 10, 10])
    >>> bad.degenerate, bad.separation_bracket, math.isnan(bad.point(0.5).rho)
    (True, (1.5, 2.0), True)
    """
    link = _check_choice("link", link, LINKS)
    scale = _check_choice("scale", scale, SCALES)
    levels = _check_p_levels(p_levels)
    conf = _check_confidence("confidence", confidence)
    xa, s, n = _check_counts(x, successes, trials, scale)
    t = _to_t(xa, scale)
    n_cells, n_trials = int(xa.size), int(n.sum())
    df = n_cells - 2
    nan2 = (math.nan, math.nan)

    def degenerate(message, bracket=None, converged=False):
        pts = tuple(TransitionPoint(p, math.nan, nan2, nan2, math.nan) for p in levels)
        br = None if bracket is None else (_from_t(bracket[0], scale), _from_t(bracket[1], scale))
        return TransitionFit(link, scale, conf, nan2, (nan2, nan2), math.nan, math.nan, df,
                             math.nan, math.nan, n_cells, n_trials, converged, True, message,
                             br, pts)

    if np.unique(t).size < 2:
        return degenerate("only one distinct rho: the slope is not identifiable")
    sep = _separation(t, s, n)
    if sep is not None:
        return degenerate(sep[0], sep[1])

    beta, ll_hat, converged = _mle(link, t, s, n)
    if not (converged and np.all(np.isfinite(beta))):
        return degenerate("the likelihood maximisation did not converge")
    b0, b1 = float(beta[0]), float(beta[1])
    eta = b0 + b1 * t
    mu = _cdf(link, eta)
    _, weight = _score_weights(link, eta, s, n)
    X = np.column_stack([np.ones_like(t), t])
    info = X.T @ (X * weight[:, None])
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.full((2, 2), np.nan)
    deviance = _deviance_terms(s, n, mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = float(np.sum((s - n * mu) ** 2 / (n * mu * (1 - mu))))
    gof = float(stats.chi2.sf(deviance, df)) if df > 0 else math.nan

    messages = []
    if b1 <= 0:
        messages.append("the fitted slope is not positive: success does not rise with rho")
    z = float(special.ndtri(0.5 + conf / 2))
    crit = float(stats.chi2.ppf(conf, 1))
    t_span = float(t.max() - t.min())
    pts = []
    for p in levels:
        c = float(_inv_cdf(link, p))
        tau = (c - b0) / b1 if b1 != 0 else math.nan
        g = np.array([-1.0 / b1, -(c - b0) / b1 ** 2]) if b1 != 0 else np.full(2, np.nan)
        var = float(g @ cov @ g)
        se = math.sqrt(var) if var >= 0 else math.nan
        if not math.isfinite(tau):
            pts.append(TransitionPoint(p, math.nan, nan2, nan2, math.nan))
            continue
        d_lo, d_hi = _from_t(tau - z * se, scale), _from_t(tau + z * se, scale)
        step0 = z * se if math.isfinite(se) and se > 0 else 0.1 * max(t_span, 1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            p_lo, p_hi = _profile_interval(link, t, s, n, c, tau, b1, ll_hat, crit, step0 / 2,
                                           t_span)
        prof = (_from_t(p_lo, scale) if math.isfinite(p_lo) else (0.0 if scale == "log" else -math.inf),
                _from_t(p_hi, scale) if math.isfinite(p_hi) else math.inf)
        open_sides = [side for side, v in (("low", p_lo), ("high", p_hi)) if not math.isfinite(v)]
        if open_sides:
            messages.append(f"the profile interval for C*({p:g}) is unbounded on the "
                            f"{' and '.join(open_sides)} side{'s' if len(open_sides) > 1 else ''}")
        pts.append(TransitionPoint(p, _from_t(tau, scale), prof, (d_lo, d_hi), se))

    return TransitionFit(link, scale, conf, (b0, b1),
                         ((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
                         ll_hat, deviance, df, gof, pearson, n_cells, n_trials, True, False,
                         "; ".join(messages) or "ok", None, tuple(pts))


# --------------------------------------------------------------------------------------------
# Bootstrap over trials


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile bootstrap intervals for ``C*(p)``.

    ``points`` holds ``(p, rho_hat, low, high)``; ``n_degenerate`` replicates (separated
    resamples, whose MLE does not exist) are left out of the percentiles and counted here.
    """

    n_boot: int
    n_degenerate: int
    confidence: float
    points: tuple[tuple[float, float, float, float], ...]
    message: str

    def to_dict(self) -> dict:
        return {"method": "percentile bootstrap over trials (0/1 outcomes resampled within cells)",
                "n_boot": self.n_boot, "n_degenerate": self.n_degenerate,
                "confidence": self.confidence, "message": self.message,
                "points": [{"p": p, "rho": _finite_or_none(r), "interval": [_finite_or_none(lo),
                                                                             _finite_or_none(hi)]}
                           for p, r, lo, hi in self.points]}


def bootstrap_transition(x, successes, trials, *, rng, n_boot=1000, link="logit", scale="log",
                         p_levels=(0.5, 0.95), confidence=0.95) -> BootstrapResult:
    """Percentile bootstrap for ``C*(p)``, resampling the 0/1 outcomes within each cell.

    Resampling ``n_j`` outcomes with replacement from a cell with ``s_j`` successes gives a
    ``Binomial(n_j, s_j / n_j)`` count, which is what is drawn.

    Parameters
    ----------
    x, successes, trials, link, scale, p_levels, confidence
        As in :func:`fit_transition`.
    rng : numpy.random.Generator
        The explicit source of randomness.
    n_boot : int
        Number of resamples.

    Returns
    -------
    BootstrapResult

    Examples
    --------
    >>> rng = np.random.default_rng(7)
    >>> b = bootstrap_transition([1.0, 1.2, 1.4, 1.6], [2, 9, 15, 19], [20] * 4, rng=rng,
    ...                          n_boot=200)
    >>> p, rho, lo, hi = b.points[0]
    >>> lo < rho < hi
    True
    """
    if not isinstance(rng, np.random.Generator):
        raise InvalidArgument(f"rng must be a numpy.random.Generator, got {rng!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 2:
        raise InvalidArgument(f"n_boot must be an integer >= 2, got {n_boot!r}")
    base = fit_transition(x, successes, trials, link=link, scale=scale, p_levels=p_levels,
                          confidence=confidence)
    levels = tuple(pt.p for pt in base.points)
    if base.degenerate:
        return BootstrapResult(int(n_boot), 0, base.confidence,
                               tuple((p, math.nan, math.nan, math.nan) for p in levels),
                               "the fit to the data is degenerate (" + base.message +
                               "); no bootstrap interval")
    xa, s, n = _check_counts(x, successes, trials, scale)
    t = _to_t(xa, scale)
    cs = np.array([_inv_cdf(link, p) for p in levels])
    taus = []
    n_deg = 0
    for _ in range(int(n_boot)):
        sb = rng.binomial(n, s / n)
        if _separation(t, sb, n) is not None:
            n_deg += 1
            continue
        beta, _, ok = _mle(link, t, sb, n, start=base.coef)
        if not ok or beta[1] == 0:
            n_deg += 1
            continue
        taus.append((cs - beta[0]) / beta[1])
    alpha = 1 - base.confidence
    pts = []
    if len(taus) < 2:
        return BootstrapResult(int(n_boot), n_deg, base.confidence,
                               tuple((pt.p, pt.rho, math.nan, math.nan) for pt in base.points),
                               "fewer than 2 resamples had a finite MLE; no interval")
    arr = np.array(taus)
    for j, pt in enumerate(base.points):
        lo, hi = np.quantile(arr[:, j], [alpha / 2, 1 - alpha / 2])
        pts.append((pt.p, pt.rho, _from_t(lo, scale), _from_t(hi, scale)))
    msg = "ok" if n_deg == 0 else (f"{n_deg} of {n_boot} resamples were separated (no finite "
                                   f"MLE) and are left out, which narrows the interval")
    return BootstrapResult(int(n_boot), n_deg, base.confidence, tuple(pts), msg)


# --------------------------------------------------------------------------------------------
# Finite-size extrapolation


@dataclass(frozen=True)
class ScalingFit:
    """One fit of ``rho_c(n) = rho_inf + a n^(-1/nu)``.

    ``interval`` is ``rho_inf +- z se`` with ``se`` propagated from the given standard errors
    (``absolute_sigma``); ``chi2`` and ``df`` say whether the model fits those errors.

    ``identified`` is False when the data do not fix ``rho_inf`` (the exponent ``1/nu`` sits on
    a bound of its range, or the covariance is singular); ``reason`` says why, and
    :meth:`to_dict` then gives ``rho_inf``, ``interval``, ``se``, ``a`` and ``nu`` as ``None``:
    an unidentified fit has no numbers to report.
    """

    model: str
    rho_inf: float
    interval: tuple[float, float]
    se: float
    a: float
    nu: float
    nu_fixed: bool
    chi2: float
    df: int
    pvalue: float
    message: str
    identified: bool = True
    reason: str | None = None

    def to_dict(self) -> dict:
        if not self.identified:
            return {"model": self.model, "rho_inf": None, "interval": [None, None], "se": None,
                    "a": None, "nu": None, "nu_fixed": self.nu_fixed,
                    "chi2": _finite_or_none(self.chi2), "df": self.df,
                    "pvalue": _finite_or_none(self.pvalue), "message": self.message,
                    "identified": False, "reason": self.reason}
        return {"model": self.model, "rho_inf": _finite_or_none(self.rho_inf),
                "interval": [_finite_or_none(v) for v in self.interval],
                "se": _finite_or_none(self.se), "a": _finite_or_none(self.a),
                "nu": _finite_or_none(self.nu), "nu_fixed": self.nu_fixed,
                "chi2": _finite_or_none(self.chi2), "df": self.df,
                "pvalue": _finite_or_none(self.pvalue), "message": self.message,
                "identified": True, "reason": None}


@dataclass(frozen=True)
class FiniteSizeFit:
    """The free-``nu`` fit (None with fewer than 3 sizes) and the ``nu = 1`` cross-check."""

    sizes: tuple[int, ...]
    rho_c: tuple[float, ...]
    stderr: tuple[float, ...]
    confidence: float
    free: ScalingFit | None
    fixed_nu1: ScalingFit | None
    message: str

    def best(self) -> ScalingFit | None:
        """The free-``nu`` fit when it has a degree of freedom left (4 sizes or more) and its
        exponent is not stuck on a bound, else the ``nu = 1`` fit. With exactly 3 sizes the free fit passes through the points (``df = 0``)
        and its interval, driven by an unidentified exponent, says nothing; ``nu = 1`` keeps one
        degree of freedom to test the model.

        >>> finite_size_fit([8, 16], [1.5, 1.45], [0.01, 0.01]).best().model
        'nu = 1'
        """
        if (self.free is not None and self.free.identified and self.free.df >= MIN_EXTRAPOLATION_DF
                and not _exponent_at_bound(self.free)):
            return self.free
        return self.fixed_nu1

    def to_dict(self) -> dict:
        return {"sizes": list(self.sizes), "rho_c": list(self.rho_c),
                "stderr": list(self.stderr), "confidence": self.confidence,
                "free": None if self.free is None else self.free.to_dict(),
                "fixed_nu1": None if self.fixed_nu1 is None else self.fixed_nu1.to_dict(),
                "message": self.message}


def _exponent_at_bound(fit) -> bool:
    """True when the free fit's exponent 1/nu sits on a bound: nu is then not identified and the
    fit's interval for rho_inf says nothing."""
    if fit.nu is None or not math.isfinite(fit.nu) or fit.nu <= 0:
        return True
    w = 1.0 / fit.nu
    return bool(np.isclose(w, _W_BOUNDS, rtol=1e-3).any())


#: The fewest degrees of freedom a finite-size fit needs to give an interval for rho_inf. A fit
#: with 0 df passes through its points: its chi2 is 0 by construction, so the model is never
#: tested and the propagated interval describes the data's errors, not the model's. With 1 df
#: the chi2 test has one degree of freedom: weak, but the model can fail it, and a fit that
#: fails (:data:`GOF_ALPHA`) is not used.
MIN_EXTRAPOLATION_DF = 1

#: A finite-size fit whose chi2 goodness-of-fit p-value is below this fails its test; the
#: verdict then falls back to the largest size's own interval (stated as such).
GOF_ALPHA = 0.01

ZERO_DF_REASON = ("0 degrees of freedom: the fit passes through its points, so the model is "
                  "unchecked and rho_inf is not identified")


def extrapolation_problem(fit) -> str | None:
    """Why a finite-size fit (a :class:`ScalingFit` or its dict) cannot give the size limit's
    interval, or None if it can: it is unidentified (e.g. 0 degrees of freedom, or an exponent
    on its bound), or it fails its chi2 test (p below :data:`GOF_ALPHA`).

    >>> extrapolation_problem(finite_size_fit([8, 16], [1.5, 1.45], [0.01, 0.01]).fixed_nu1)
    '0 degrees of freedom: the fit passes through its points, so the model is unchecked and rho_inf is not identified'
    >>> extrapolation_problem({"identified": True, "df": 2, "chi2": 12.0, "pvalue": 0.0025})
    'the fit fails its goodness-of-fit test: chi2 = 12.0 on 2 df (p = 0.0025 < 0.01)'
    >>> extrapolation_problem({"identified": True, "df": 2, "chi2": 1.0, "pvalue": 0.61}) is None
    True
    """
    if fit is None:
        return "no fit"
    d = fit.to_dict() if hasattr(fit, "to_dict") else dict(fit)
    df = d.get("df")
    if df is None or df < MIN_EXTRAPOLATION_DF:
        return ZERO_DF_REASON if df == 0 else (d.get("reason") or "no degrees of freedom")
    if d.get("identified") is False:
        return d.get("reason") or "not identified"
    pv = d.get("pvalue")
    if pv is not None and math.isfinite(pv) and pv < GOF_ALPHA:
        return (f"the fit fails its goodness-of-fit test: chi2 = {d.get('chi2'):.1f} on {df} df "
                f"(p = {pv:.2g} < {GOF_ALPHA:g})")
    return None


#: the range of the exponent 1/nu in the free fit (public for the verdict readers, which treat
#: an old summary's free fit with 1/nu on a bound as unidentified)
EXPONENT_BOUNDS = (0.02, 5.0)
_W_BOUNDS = EXPONENT_BOUNDS  # exponent 1/nu; outside this range the fit cannot tell rho_inf from a


def finite_size_fit(sizes, rho_c, stderr, confidence=0.95) -> FiniteSizeFit:
    """Extrapolate transitions to infinite size: ``rho_c(n) = rho_inf + a n^(-1/nu)``.

    Weighted least squares (``scipy.optimize.curve_fit`` with ``absolute_sigma=True``) with
    ``1/nu`` bounded to ``[0.02, 5]``; the ``nu = 1`` fit (linear in ``1/n``) is reported beside
    it as a cross-check. With fewer than 3 sizes there is no free-``nu`` fit. A fit with
    ``df = 0`` (the free fit on 3 sizes, the ``nu = 1`` fit on 2) passes through its points: it
    is reported as not identified (no ``rho_inf``, no interval), with the reason
    (:data:`MIN_EXTRAPOLATION_DF`).

    Parameters
    ----------
    sizes : sequence of int
        The size variable ``n`` per transition (distinct, positive).
    rho_c, stderr : sequence of float
        Transition estimates and their standard errors (positive).
    confidence : float

    Returns
    -------
    FiniteSizeFit

    Examples
    --------
    Noise-free data from ``rho_inf = 1.3, a = 2, nu = 1`` are recovered by both fits:

    >>> ns = [8, 16, 32, 64]
    >>> fs = finite_size_fit(ns, [1.3 + 2 / n for n in ns], [0.01] * 4)
    >>> round(fs.free.rho_inf, 6), round(fs.fixed_nu1.rho_inf, 6)
    (1.3, 1.3)

    Points that do not move with the size leave the exponent on its bound: the free fit is
    then unidentified, and reports no number, only why:

    >>> flat = finite_size_fit(ns, [1.0, 1.001, 0.999, 1.0], [0.01] * 4).free.to_dict()
    >>> flat["identified"], flat["rho_inf"], flat["interval"], flat["reason"][:24]
    (False, None, [None, None], '1/nu sits at its bound 0')
    """
    conf = _check_confidence("confidence", confidence)
    try:
        n = np.asarray(sizes, dtype=float)
        y = np.asarray(rho_c, dtype=float)
        e = np.asarray(stderr, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgument(f"sizes, rho_c and stderr must be numbers, got {sizes!r}, "
                              f"{rho_c!r}, {stderr!r}") from None
    if n.ndim != 1 or not (n.shape == y.shape == e.shape) or n.size < 1:
        raise InvalidArgument(f"sizes, rho_c and stderr must be 1-d of one length, got "
                              f"{np.shape(sizes)}, {np.shape(rho_c)}, {np.shape(stderr)}")
    if not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise InvalidArgument(f"sizes must be positive, got {n.tolist()!r}")
    if np.unique(n).size != n.size:
        raise InvalidArgument(f"sizes must be distinct, got {n.tolist()!r}")
    if not np.all(np.isfinite(y)):
        raise InvalidArgument(f"rho_c must be finite, got {y.tolist()!r}")
    if not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise InvalidArgument(f"stderr must be positive and finite, got {e.tolist()!r}")
    z = float(special.ndtri(0.5 + conf / 2))
    k = int(n.size)
    messages = []

    # nu = 1: weighted linear least squares in 1/n.
    fixed = None
    if k >= 2:
        X = np.column_stack([np.ones(k), 1.0 / n])
        w = 1.0 / e ** 2
        A = X.T @ (X * w[:, None])
        beta = np.linalg.solve(A, X.T @ (w * y))
        cov = np.linalg.inv(A)
        chi2 = float(np.sum(w * (y - X @ beta) ** 2))
        df = k - 2
        se = math.sqrt(cov[0, 0])
        fixed = ScalingFit("nu = 1", float(beta[0]), (beta[0] - z * se, beta[0] + z * se), se,
                           float(beta[1]), 1.0, True, chi2, df,
                           float(stats.chi2.sf(chi2, df)) if df > 0 else math.nan,
                           "ok" if df > 0 else "2 sizes for 2 parameters: the line passes "
                           "through both points; no check of the model",
                           identified=df >= MIN_EXTRAPOLATION_DF,
                           reason=None if df >= MIN_EXTRAPOLATION_DF else ZERO_DF_REASON)
    else:
        messages.append("one size only: no extrapolation is possible")

    free = None
    if k < 3:
        if k == 2:
            messages.append("fewer than 3 sizes: no free-nu fit, only the nu = 1 cross-check")
    else:
        def model(nn, rho_inf, a, w):
            return rho_inf + a * nn ** (-w)

        best = None
        for w0 in (0.5, 1.0, 2.0):
            p0 = [fixed.rho_inf, fixed.a, w0] if fixed is not None else [y.mean(), 0.0, w0]
            p0[2] = w0
            # a n^-w with a different w: rescale a so the start matches the smallest size.
            p0[1] = fixed.a / n.min() * n.min() ** w0 if fixed is not None else 0.0
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    popt, pcov = optimize.curve_fit(model, n, y, p0=p0, sigma=e,
                                                    absolute_sigma=True,
                                                    bounds=([-np.inf, -np.inf, _W_BOUNDS[0]],
                                                            [np.inf, np.inf, _W_BOUNDS[1]]),
                                                    max_nfev=20000)
            except (RuntimeError, ValueError, optimize.OptimizeWarning):
                continue
            chi2 = float(np.sum(((y - model(n, *popt)) / e) ** 2))
            if best is None or chi2 < best[2] - 1e-12:
                best = (popt, pcov, chi2)
        if best is None:
            messages.append("the free-nu fit did not converge")
        else:
            popt, pcov, chi2 = best
            df = k - 3
            se = math.sqrt(pcov[0, 0]) if np.isfinite(pcov[0, 0]) and pcov[0, 0] >= 0 else math.inf
            notes, unidentified = [], []
            if df < MIN_EXTRAPOLATION_DF:
                notes.append("3 sizes for 3 parameters: the curve passes through the points, "
                             "the interval is error propagation only and the model is unchecked")
                unidentified.append(ZERO_DF_REASON)
            if np.isclose(popt[2], _W_BOUNDS, rtol=1e-3).any():
                unidentified.append(f"1/nu sits at its bound {popt[2]:.3g}: nu is not resolved, "
                                    f"so rho_inf is not identified")
            if not math.isfinite(se):
                unidentified.append("rho_inf is not identified (singular covariance)")
            free = ScalingFit("free nu", float(popt[0]), (popt[0] - z * se, popt[0] + z * se),
                              se, float(popt[1]), float(1.0 / popt[2]), False, chi2, df,
                              float(stats.chi2.sf(chi2, df)) if df > 0 else math.nan,
                              "; ".join(notes + unidentified) or "ok",
                              identified=not unidentified,
                              reason="; ".join(unidentified) or None)
    return FiniteSizeFit(tuple(int(v) if float(v).is_integer() else float(v) for v in n),
                         tuple(map(float, y)), tuple(map(float, e)), conf, free, fixed,
                         "; ".join(messages) or "ok")


# --------------------------------------------------------------------------------------------
# Verdict


class Verdict(NamedTuple):
    """Where a claimed value lies relative to an interval, and one sentence saying so."""

    position: str  # "inside", "below" (value < interval), "above", or "undetermined"
    sentence: str


def verdict_on(interval, value=CLAIMED_CSTAR.as_float, *, what="C*", confidence=0.95) -> Verdict:
    """Say whether ``value`` lies inside, below or above ``interval``.

    ``"below"`` means the value is smaller than every point of the interval (the data put the
    constant higher); ``"above"`` the reverse. A missing or NaN end gives ``"undetermined"``;
    an infinite end is an unbounded side and is honoured.

    Parameters
    ----------
    interval : (low, high) or None
    value : float
        The claimed constant; default the seed paper's C* (:data:`proofs.claims.CLAIMED_CSTAR`).
    what : str
        Name of the quantity, used in the sentence.
    confidence : float
        Level of the interval, used in the sentence.

    Returns
    -------
    Verdict
        ``(position, sentence)``.

    Examples
    --------
    >>> verdict_on((1.30, 1.42)).position
    'inside'
    >>> print(verdict_on((1.41, 1.48), what="C*(0.5) of E1").sentence)
    1.35 lies below the 95% interval [1.41, 1.48] for C*(0.5) of E1: the data put it higher than 1.35.
    """
    v = float(value)
    if interval is None:
        return Verdict("undetermined", f"No interval for {what}: the verdict on {v:g} is "
                                       "undetermined.")
    lo, hi = (float("nan") if a is None else float(a) for a in interval)
    pct = f"{100 * confidence:g}%"
    if math.isnan(lo) or math.isnan(hi):
        return Verdict("undetermined", f"No finite interval for {what} (degenerate fit): the "
                                       f"verdict on {v:g} is undetermined.")
    shown = _show_interval(lo, hi, v)
    if v < lo:
        return Verdict("below", f"{v:g} lies below the {pct} interval {shown} for {what}: "
                                f"the data put it higher than {v:g}.")
    if v > hi:
        return Verdict("above", f"{v:g} lies above the {pct} interval {shown} for {what}: "
                                f"the data put it lower than {v:g}.")
    return Verdict("inside", f"{v:g} lies inside the {pct} interval {shown} for {what}: the "
                             f"data are consistent with {v:g}.")


def _show_interval(lo: float, hi: float, v: float) -> str:
    """Format ``[lo, hi]`` with at least 2 decimals, more when needed so that an end that
    differs from ``v`` does not print as ``v``."""
    for d in range(2, 12):
        f = lambda a: f"{a:.{d}f}" if math.isfinite(a) else ("-inf" if a < 0 else "inf")  # noqa
        if (lo == v or f(lo) != f(v)) and (hi == v or f(hi) != f(v)):
            break
    return f"[{f(lo)}, {f(hi)}]"


# --------------------------------------------------------------------------------------------
# A model-free bracket, for transitions too sharp for a GLM


def bracket_transition(x, successes, trials, p=0.5, confidence=0.95):
    """Bracket the crossing ``rho`` where a monotone success curve reaches ``p``, from the grid.

    With Wilson intervals per cell: ``lo`` is the largest grid value such that every cell at or
    below it has its upper Wilson bound below ``p`` (the curve is certainly under ``p`` there),
    and ``hi`` the smallest grid value such that every cell at or above it has its lower Wilson
    bound at least ``p``. If the curve is monotone, the crossing lies in ``(lo, hi]``. A side
    that the data cannot fix is ``None`` (for example ``hi`` when no cell is certainly above
    ``p``: more trials are needed). The intervals are pointwise, not simultaneous.

    This is the estimator to read when the GLM is degenerate: a transition that jumps from 0 to
    almost 1 between two neighbouring grid values has no finite logistic slope, but its bracket
    is as narrow as the grid.

    Parameters
    ----------
    x : sequence of float
        Grid values (rho), any order.
    successes, trials : sequences of int
    p : float
        The level, in (0, 1).
    confidence : float

    Returns
    -------
    tuple
        ``(lo, hi)``, each a float or ``None``.

    Examples
    --------
    >>> bracket_transition([0.9, 1.0, 1.1, 1.2], [0, 28, 200, 200], [200, 30, 200, 200], p=0.5)
    (0.9, 1.0)
    >>> bracket_transition([0.9, 1.0, 1.1], [0, 28, 30], [200, 30, 30], p=0.95)
    (0.9, None)
    """
    confidence = _check_confidence("confidence", confidence)
    p = float(p)
    if not 0 < p < 1:
        raise InvalidArgument(f"p must lie in (0, 1), got {p!r}")
    xs = np.asarray(x, dtype=float)
    ks = np.asarray(successes, dtype=np.int64)
    ns = np.asarray(trials, dtype=np.int64)
    keep = ns > 0
    xs, ks, ns = xs[keep], ks[keep], ns[keep]
    order = np.argsort(xs)
    xs, ks, ns = xs[order], ks[order], ns[order]
    if xs.size == 0:
        return None, None
    lo_w, hi_w = wilson_interval(ks, ns, confidence)
    lo_w, hi_w = np.atleast_1d(lo_w), np.atleast_1d(hi_w)
    lo = None
    for i in range(xs.size):
        if np.all(hi_w[: i + 1] < p):
            lo = float(xs[i])
        else:
            break
    hi = None
    for i in range(xs.size - 1, -1, -1):
        if np.all(lo_w[i:] >= p):
            hi = float(xs[i])
        else:
            break
    return lo, hi
