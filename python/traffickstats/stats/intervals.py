"""Confidence intervals for a binomial proportion.

Three methods, matching :func:`statsmodels.stats.proportion.proportion_confint`:

``wilson`` (default)
    Wilson's score interval, closed form.
``clopper-pearson`` (alias ``exact``, ``beta``)
    The "exact" interval from beta quantiles: ``B(a/2; x, n-x+1)`` and
    ``B(1-a/2; x+1, n-x)``, with 0 and 1 at ``x = 0`` and ``x = n``.
``jeffreys``
    The equal-tailed interval of the Jeffreys posterior ``Beta(x+1/2, n-x+1/2)``.

No SciPy dependency: the beta quantiles come from the regularized incomplete beta
function (continued fraction, modified Lentz) inverted by safeguarded Newton steps,
and the normal quantile from :class:`statistics.NormalDist`.  The tests compare
all three with statsmodels to 1e-9.  The loop is over shares (a report has a few
dozen), never over records.
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = ["proportion_ci", "canonical_method", "METHODS", "betainc", "betaincinv"]

METHODS = ("wilson", "clopper-pearson", "jeffreys")
_ALIASES = {"wilson": "wilson", "clopper-pearson": "clopper-pearson", "clopper_pearson": "clopper-pearson",
            "exact": "clopper-pearson", "beta": "clopper-pearson", "jeffreys": "jeffreys"}

_TINY = 1e-300
_EPS = 1e-16


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = _TINY if abs(d) < _TINY else d
    d = 1.0 / d
    h = d
    maxit = 10000 + int(20 * math.sqrt(max(a, b)))
    for m in range(1, maxit + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        de = d * c
        h *= de
        if abs(de - 1.0) < _EPS:
            break
    return h


def _log_front(a: float, b: float, x: float) -> float:
    """log of x^a (1-x)^b / B(a, b)."""
    return math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)`` for ``a, b > 0``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(_log_front(a, b, x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _beta_logpdf(a: float, b: float, x: float) -> float:
    return (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
            + (a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x))


def betaincinv(a: float, b: float, p: float) -> float:
    """The ``p`` quantile of ``Beta(a, b)``: ``x`` with ``I_x(a, b) = p``.

    Newton steps on ``I_x(a, b) - p`` kept inside a shrinking bracket (bisection
    whenever a step leaves it), to full double precision.
    """
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    lo, hi = 0.0, 1.0
    # start at the normal approximation, clipped into (0, 1)
    mean = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    x = min(max(mean + sd * NormalDist().inv_cdf(p), 1e-12), 1.0 - 1e-12)
    for _ in range(400):
        f = betainc(a, b, x) - p
        if f == 0.0:
            return x
        if f < 0.0:
            lo = x
        else:
            hi = x
        try:
            step = f / math.exp(_beta_logpdf(a, b, x))
        except (OverflowError, ZeroDivisionError):
            step = 0.0
        nx = x - step
        if not (lo < nx < hi) or step == 0.0:
            nx = 0.5 * (lo + hi) if hi - lo > 1e-300 else lo
            # in the far tails bisect geometrically so tiny quantiles are found quickly
            if lo == 0.0 and hi < 1e-3:
                nx = hi * 1e-3 if betainc(a, b, hi * 1e-3) > p else 0.5 * hi
        if abs(nx - x) <= 4 * _EPS * max(abs(x), 1e-300) or hi - lo <= 4 * _EPS * max(abs(x), 1e-300):
            return nx
        x = nx
    return x


def _one(x: int, n: int, method: str, alpha: float) -> tuple[float, float]:
    if n <= 0:
        return math.nan, math.nan
    if method == "wilson":
        z = NormalDist().inv_cdf(1.0 - alpha / 2.0)
        q = x / n
        z2 = z * z
        denom = 1.0 + z2 / n
        center = (q + z2 / (2.0 * n)) / denom
        dist = z * math.sqrt(q * (1.0 - q) / n + z2 / (4.0 * n * n)) / denom
        return min(max(center - dist, 0.0), 1.0), min(max(center + dist, 0.0), 1.0)
    if method == "clopper-pearson":
        lo = 0.0 if x == 0 else betaincinv(x, n - x + 1.0, alpha / 2.0)
        hi = 1.0 if x == n else betaincinv(x + 1.0, n - x, 1.0 - alpha / 2.0)
        return lo, hi
    a, b = x + 0.5, n - x + 0.5
    return betaincinv(a, b, alpha / 2.0), betaincinv(a, b, 1.0 - alpha / 2.0)


def canonical_method(method: str) -> str:
    """The interval method ``method`` names (aliases allowed), or ValueError."""
    try:
        return _ALIASES[str(method).lower()]
    except KeyError:
        raise ValueError(f"unknown interval method {method!r}; expected one of {', '.join(METHODS)}") from None


def proportion_ci(numerator: Any, denominator: Any, method: str = "wilson",
                  level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided confidence interval of ``numerator / denominator``.

    Parameters
    ----------
    numerator, denominator : int or array-like of int
        Successes and trials; a zero (or missing) denominator gives NaN.
    method : {"wilson", "clopper-pearson", "jeffreys"}
        ``"exact"`` and ``"beta"`` are aliases of Clopper-Pearson.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    (ci_low, ci_high) : tuple of float64 arrays (0-d for scalar input)
    """
    m = canonical_method(method)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    alpha = 1.0 - level
    x = np.asarray(numerator, dtype=np.float64)
    n = np.asarray(denominator, dtype=np.float64)
    x, n = np.broadcast_arrays(x, n)
    lo = np.full(x.shape, np.nan)
    hi = np.full(x.shape, np.nan)
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0)
    if np.any(ok & ((x < 0) | (x > n))):
        raise ValueError("numerator must lie between 0 and the denominator")
    for idx in zip(*np.nonzero(ok)) if x.ndim else ([()] if ok else []):
        lo[idx], hi[idx] = _one(int(x[idx]), int(n[idx]), m, alpha)
    return lo, hi
