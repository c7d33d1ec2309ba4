"""Every statistic against the independent plain-pandas implementation
(tests/pandas_reference.py) on random datasets: unknowns everywhere, years with no
cases, cases without victims, pending defendants, cases filed long ago and still
open, victims on several platforms, records whose case_id is not in cases."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import traffickstats as ts
from traffickstats import stats as S
from traffickstats.model.dataset import Dataset

import pandas_reference as pr  # tests/ is on sys.path (conftest.py)
from pandas_reference import COERCION, PLATFORMS, RELATIONSHIPS, WAYS

DISTRICTS = ["D. Mass.", "S.D. Cal.", "N.D. Ga."]


def _maybe(rng, values, p_none):
    out = np.asarray(values, dtype=object).copy()
    out[rng.random(len(out)) < p_none] = None
    return out


def _bools(rng, n, p_true, p_none):
    vals = pd.array(rng.random(n) < p_true, dtype="boolean")
    vals[rng.random(n) < p_none] = pd.NA
    return pd.Series(vals)


def _dates(days):
    return pd.Series(np.asarray(days, dtype="datetime64[D]").astype("datetime64[ns]"))


def _lists(rng, n, values, max_len, p_empty):
    out = []
    for _ in range(n):  # building test data only
        k = 0 if rng.random() < p_empty else int(rng.integers(1, max_len + 1))
        out.append(list(rng.choice(values, size=k, replace=False)) if k else [])
    s = pd.Series([None] * n, dtype=object)
    s[:] = out if n else []
    return s


def random_frames(seed: int, n_cases: int, p_unknown: float) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    d0 = np.datetime64("1996-01-01", "D")
    filing = d0 + rng.integers(0, 26 * 365, n_cases)
    still_open = rng.random(n_cases) < 0.3
    closed = filing + rng.integers(0, 8 * 365, n_cases)
    closed = np.where(still_open, np.datetime64("NaT"), closed).astype("datetime64[D]")
    cases = pd.DataFrame({
        "case_id": [f"c{i}" for i in range(n_cases)],
        "proceeding": _maybe(rng, rng.choice(["criminal", "criminal", "civil"], n_cases), p_unknown / 4),
        "case_type": _maybe(rng, rng.choice(["sex", "sex", "labor"], n_cases), p_unknown),
        "district": _maybe(rng, rng.choice(DISTRICTS, n_cases), p_unknown),
        "state": _maybe(rng, rng.choice(["CA", "MA", "GA"], n_cases), p_unknown),
        "filing_date": _dates(filing),
        "closed_date": _dates(closed),
        "identified_by": _maybe(rng, rng.choice(WAYS, n_cases), p_unknown),
        "agencies": _lists(rng, n_cases, ["fbi", "hsi", "local_police", "dol"], 3, p_unknown),
        "gang_led": _bools(rng, n_cases, 0.2, p_unknown),
        "buyers_solicited_online": _bools(rng, n_cases, 0.3, p_unknown),
    })
    nd = rng.integers(0, 4, n_cases)
    d_case = np.repeat(np.arange(n_cases), nd)
    m = len(d_case)
    charge = filing[d_case] + rng.integers(-30, 3 * 365, m)
    outcome = rng.choice(["pending", "plea", "plea", "trial_conviction", "acquitted", "dismissed"], m)
    odate = charge + rng.integers(0, 4 * 365, m)
    odate = np.where(outcome == "pending", np.datetime64("NaT"), odate).astype("datetime64[D]")
    outcome = _maybe(rng, outcome, p_unknown / 2)
    charge = np.where(rng.random(m) < p_unknown / 4, np.datetime64("NaT"), charge).astype("datetime64[D]")
    months = pd.array(rng.integers(0, 400, m), dtype="Int64")
    months[rng.random(m) < p_unknown] = pd.NA
    ids = np.array([f"c{i}" for i in d_case], dtype=object)
    ids[rng.random(m) < 0.03] = "orphan"
    defendants = pd.DataFrame({
        "defendant_id": [f"d{i}" for i in range(m)],
        "case_id": ids,
        "charge_date": _dates(charge),
        "gender": _maybe(rng, rng.choice(["male", "female"], m), p_unknown),
        "outcome": outcome,
        "outcome_date": _dates(odate),
        "sentence_months": months,
        "life_sentence": _bools(rng, m, 0.05, p_unknown),
        "restitution_ordered": _bools(rng, m, 0.4, p_unknown),
        "restitution_amount": rng.random(m) * 1000,
    })
    nv = rng.integers(0, 5, n_cases) * (rng.random(n_cases) < 0.7)  # some cases have no victims
    v_case = np.repeat(np.arange(n_cases), nv)
    k = len(v_case)
    age = rng.integers(8, 40, k)
    minor = pd.array(age < 18, dtype="boolean")
    age_s = pd.array(age, dtype="Int64")
    age_s[rng.random(k) < p_unknown] = pd.NA
    minor[rng.random(k) < p_unknown / 2] = pd.NA
    online = _bools(rng, k, 0.5, p_unknown)
    plats = _lists(rng, k, PLATFORMS, 3, 0.3)
    plats[~online.fillna(False).to_numpy(dtype=bool)] = [[] for _ in range(int((~online.fillna(False)).sum()))]
    vids = np.array([f"c{i}" for i in v_case], dtype=object)
    vids[rng.random(k) < 0.03] = "orphan"
    victims = pd.DataFrame({
        "victim_id": [f"v{i}" for i in range(k)],
        "case_id": vids,
        "age": age_s,
        "minor": minor,
        "gender": _maybe(rng, rng.choice(["female", "male", "other"], k), p_unknown),
        "citizenship": _maybe(rng, rng.choice(["US", "US", "MX"], k), p_unknown),
        "recruited_online": online,
        "recruitment_platforms": plats,
        "relationship": _maybe(rng, rng.choice(RELATIONSHIPS, k), p_unknown),
        "coercion": _lists(rng, k, COERCION, 3, p_unknown),
    })
    return {"cases": cases, "defendants": defendants, "victims": victims}


def _count(frame, year, by=None, label=None):
    f = frame[frame["year"] == year]
    if by is not None:
        f = f[f[by] == label]
        if len(f) == 0:  # a label absent from the data has no group
            return 0
    assert len(f) == 1
    return int(f["count"].iloc[0])


def _share_row(frame, year, value=None, by=None, label=None):
    f = frame[frame["year"] == year]
    if value is not None:
        f = f[f["value"] == value]
    if by is not None:
        f = f[f[by] == label]
        if len(f) == 0:  # a label absent from the data has no group
            return pd.Series({"numerator": 0, "denominator": 0, "unknown": 0, "estimate": np.nan,
                              "ci_low": np.nan, "ci_high": np.nan})
    assert len(f) == 1
    return f.iloc[0]


def _check_share(row, ref):
    assert (int(row["numerator"]), int(row["denominator"]), int(row["unknown"])) == tuple(ref)
    if ref[1] == 0:
        assert math.isnan(row["estimate"]) and math.isnan(row["ci_low"])
    else:
        assert row["estimate"] == pytest.approx(ref[0] / ref[1], abs=1e-12)
        assert row["ci_low"] <= row["estimate"] + 1e-12 and row["estimate"] <= row["ci_high"] + 1e-12


def check_all(frames, ds, year, by=None):
    cases, defs, vics = frames["cases"], frames["defendants"], frames["victims"]
    labels = [None] if by is None else DISTRICTS
    for label in labels:
        c = cases if by is None else cases[cases[by].eq(label).fillna(False).to_numpy(dtype=bool)]
        kw = {} if by is None else {"by": by, "label": label}
        assert _count(S.new_cases(ds, year, by=by), year, **kw) == pr.new_cases(c, year)
        assert _count(S.active_cases(ds, year, by=by), year, **kw) == pr.active_cases(c, year)
        assert _count(S.new_defendants(ds, year, by=by), year, **kw) == pr.new_defendants(c, defs, year)
        assert _count(S.active_defendants(ds, year, by=by), year, **kw) == pr.active_defendants(c, defs, year)
        assert _count(S.convicted(ds, year, by=by), year, **kw) == pr.convicted(c, defs, year)
        assert _count(S.victims_in_active_cases(ds, year, by=by), year, **kw) == pr.victims_in_active_cases(c, vics, year)
        assert _count(S.life_sentences(ds, year, by=by), year, **kw) == pr.life_sentences(c, defs, year)
        _check_share(_share_row(S.conviction_rate(ds, year, by=by), year, **kw), pr.conviction_rate(c, defs, year))
        _check_share(_share_row(S.plea_share(ds, year, by=by), year, **kw), pr.plea_share(c, defs, year))
        _check_share(_share_row(S.restitution_share(ds, year, by=by), year, **kw),
                     pr.restitution_share(c, defs, vics, year))
        _check_share(_share_row(S.minor_share(ds, year, by=by), year, **kw), pr.minor_share(c, vics, year))
        _check_share(_share_row(S.female_share(ds, year, by=by), year, **kw), pr.female_share(c, vics, year))
        _check_share(_share_row(S.us_citizen_share(ds, year, by=by), year, **kw), pr.us_citizen_share(c, vics, year))
        _check_share(_share_row(S.recruited_online_share(ds, year, by=by), year, **kw),
                     pr.recruited_online_share(c, vics, year))
        _check_share(_share_row(S.gang_led_share(ds, year, by=by), year, **kw), pr.gang_led_share(c, year))
        _check_share(_share_row(S.multi_agency_share(ds, year, by=by), year, **kw), pr.multi_agency_share(c, year))
        _check_share(_share_row(S.active_sex_share(ds, year, by=by), year, **kw), pr.active_case_type_share(c, year))
        for way in WAYS:
            _check_share(_share_row(S.identified_by_share(ds, year, by=by), year, value=way, **kw),
                         pr.identified_by_share(c, year, way))
        for rel in RELATIONSHIPS:
            _check_share(_share_row(S.relationship_share(ds, year, by=by), year, value=rel, **kw),
                         pr.relationship_share(c, vics, year, rel))
        for method in COERCION:
            _check_share(_share_row(S.coercion_share(ds, year, by=by), year, value=method, **kw),
                         pr.coercion_share(c, vics, year, method))
        for minor in (None, True, False):
            frame = S.platform_share(ds, year, by=by, minor=minor)
            for plat in PLATFORMS:
                _check_share(_share_row(frame, year, value=plat, **kw), pr.platform_share(c, vics, year, plat, minor))
        sent = S.sentences(ds, year, by=by)
        row = sent[sent["year"] == year] if by is None else sent[(sent["year"] == year) & (sent[by] == label)]
        n, mean, median = pr.sentence_months(c, defs, year)
        assert int(row["count"].iloc[0]) == n if len(row) else n == 0
        if n and len(row):
            assert row["mean"].iloc[0] == pytest.approx(mean, rel=1e-12)
            assert row["median"].iloc[0] == pytest.approx(median, rel=1e-12)
        elif len(row):
            assert math.isnan(row["mean"].iloc[0]) and math.isnan(row["median"].iloc[0])
        since = year - 7
        counts = S.cumulative(ds, year, since=since, by=by)
        share = S.cumulative_sex_online_share(ds, year, since=since, by=by)

        def cum(stat):
            f = counts[counts["statistic"] == stat]
            if by is not None:
                f = f[f[by] == label]
            return int(f["count"].iloc[0]) if len(f) else 0
        assert cum("cumulative_cases") == pr.cumulative_cases(c, since, year)
        assert cum("cumulative_defendants") == pr.cumulative_defendants(c, defs, since, year)
        assert cum("cumulative_convicted") == pr.cumulative_convicted(c, defs, since, year)
        assert cum("cumulative_victims") == pr.cumulative_victims(c, vics, since, year)
        _check_share(_share_row(share, year, **kw), pr.cumulative_sex_online_share(c, vics, since, year))


# random years fall before the first or after the last date of random data: the
# DataWarning that says so is tested in tests/bad_inputs
@pytest.mark.filterwarnings("ignore::traffickstats.DataWarning")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_cases=st.integers(0, 60), p_unknown=st.sampled_from([0.0, 0.1, 0.5]),
       year=st.integers(1994, 2024))
def test_statistics_match_pandas_reference(seed, n_cases, p_unknown, year):
    frames = random_frames(seed, n_cases, p_unknown)
    ds = Dataset(**frames, validate=False)  # deliberately messy: orphans, dates past today
    check_all(frames, ds, year)


@pytest.mark.filterwarnings("ignore::traffickstats.DataWarning")
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_cases=st.integers(1, 60), year=st.integers(2000, 2022))
def test_grouped_statistics_match_pandas_reference_on_each_group(seed, n_cases, year):
    frames = random_frames(seed, n_cases, 0.2)
    ds = Dataset(**frames, validate=False)  # deliberately messy: orphans, dates past today
    check_all(frames, ds, year, by="district")


def test_year_range_gives_one_row_per_year_and_year_over_year_change():
    frames = random_frames(3, 80, 0.1)
    ds = Dataset(**frames, validate=False)  # deliberately messy: orphans, dates past today
    f = S.year_over_year(S.new_cases(ds, (2005, 2010)))
    assert list(f["year"]) == list(range(2005, 2011))
    for y in range(2006, 2011):
        cur, prev = pr.new_cases(frames["cases"], y), pr.new_cases(frames["cases"], y - 1)
        row = f[f["year"] == y].iloc[0]
        assert int(row["previous"]) == prev
        if prev == 0:
            assert math.isnan(row["change"])
        else:
            assert row["change"] == pytest.approx(pr.yoy_change(cur, prev))
    assert math.isnan(f["change"].iloc[0])


def test_empty_dataset_and_year_without_cases():
    frames = random_frames(0, 0, 0.0)
    ds = Dataset(**frames, validate=False)  # deliberately messy: orphans, dates past today
    assert _count(S.new_cases(ds, 2020), 2020) == 0
    row = _share_row(S.minor_share(ds, 2020), 2020)
    assert int(row["denominator"]) == 0 and math.isnan(row["estimate"])


def test_sample_reproduces_published_figures_and_csv_matches_frames(tmp_path):
    from traffickstats.datasets import sample_dir, synthetic_frames

    ds = ts.read_dataset(sample_dir())
    frames = synthetic_frames(0, 1)
    check_all(frames, ds, 2020)
    assert _count(S.new_cases(ds, 2020), 2020) == 165
    assert round(100 * _share_row(S.conviction_rate(ds, 2020), 2020)["estimate"]) == 89


def test_intervals_method_is_passed_through():
    from statsmodels.stats.proportion import proportion_confint

    ds = Dataset(**random_frames(5, 50, 0.1), validate=False)
    for method, sm in (("clopper-pearson", "beta"), ("jeffreys", "jeffreys")):
        f = S.minor_share(ds, 2010, method=method)
        row = f.iloc[0]
        if int(row["denominator"]):
            lo, hi = proportion_confint(int(row["numerator"]), int(row["denominator"]), 0.05, sm)
            assert abs(row["ci_low"] - lo) < 1e-9 and abs(row["ci_high"] - hi) < 1e-9


def test_bad_arguments_raise_clear_errors():
    ds = Dataset(**random_frames(1, 5, 0.0), validate=False)
    with pytest.raises(ValueError, match="by must be one of"):
        S.new_cases(ds, 2020, by="victim_id")
    with pytest.raises(TypeError, match="Dataset"):
        S.new_cases(random_frames(1, 5, 0.0), 2020)
    with pytest.raises(ValueError, match="interval method"):
        S.minor_share(ds, 2020, method="bogus")
