"""Interval methods against statsmodels' proportion_confint to 1e-9."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

statsmodels = pytest.importorskip("statsmodels.stats.proportion")
from traffickstats.stats.intervals import betainc, betaincinv, proportion_ci  # noqa: E402

SM = {"wilson": "wilson", "clopper-pearson": "beta", "jeffreys": "jeffreys"}


@st.composite
def counts(draw):
    n = draw(st.one_of(st.integers(1, 50), st.integers(1, 5000), st.integers(1, 2_000_000)))
    x = draw(st.one_of(st.just(0), st.just(n), st.integers(0, n), st.integers(0, min(n, 5))))
    return x, n


@settings(max_examples=150, deadline=None)
@given(xn=counts(), method=st.sampled_from(list(SM)), level=st.sampled_from([0.95, 0.9, 0.99]))
def test_agrees_with_statsmodels(xn, method, level):
    x, n = xn
    lo, hi = proportion_ci(x, n, method=method, level=level)
    slo, shi = statsmodels.proportion_confint(x, n, alpha=1 - level, method=SM[method])
    assert abs(float(lo) - slo) < 1e-9
    assert abs(float(hi) - shi) < 1e-9


def test_vectorised_and_edge_cases():
    lo, hi = proportion_ci([0, 3, 5, 0], [5, 10, 5, 0])
    assert lo.shape == (4,) and math.isnan(lo[3]) and math.isnan(hi[3])
    assert abs(lo[0]) < 1e-15 and abs(hi[2] - 1.0) < 1e-15
    lo, hi = proportion_ci(0, 10, method="exact")
    assert float(lo) == 0.0
    with pytest.raises(ValueError, match="interval method"):
        proportion_ci(1, 2, method="wald")
    with pytest.raises(ValueError, match="between 0 and the denominator"):
        proportion_ci(3, 2)
    with pytest.raises(ValueError, match="level"):
        proportion_ci(1, 2, level=1.5)


@settings(max_examples=100, deadline=None)
@given(a=st.floats(0.5, 5e5), b=st.floats(0.5, 5e5), p=st.floats(1e-6, 1 - 1e-6))
def test_betaincinv_inverts_betainc(a, b, p):
    x = betaincinv(a, b, p)
    assert 0.0 <= x <= 1.0
    if betainc(a, b, x) != pytest.approx(p, rel=1e-8, abs=1e-12):
        # where the CDF is steep (x next to 0 or 1) no double hits p closer: the
        # answer must then bracket the root within a few units in the last place
        lo, hi = x, x
        for _ in range(4):
            lo, hi = math.nextafter(lo, 0.0), math.nextafter(hi, 1.0)
        assert betainc(a, b, lo) <= p <= betainc(a, b, hi)


def test_betainc_against_scipy_values():
    sp = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = rng.uniform(0.5, 1000, 2)
        x = rng.uniform(0, 1)
        assert betainc(a, b, x) == pytest.approx(float(sp.betainc(a, b, x)), rel=1e-10, abs=1e-14)
