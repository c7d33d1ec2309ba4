"""Random corruptions of the sample folder never change a figure in silence.

Each example damages a copy of the bundled (synthetic) sample the way files get
damaged on their way to a researcher -- a column dropped, renamed, duplicated or
recoded, rows duplicated, dates shifted, cells blanked or padded -- and reads it back
with ``ts.read_dataset``.  One of three things must happen:

* a :class:`~traffickstats.DatasetError` whose message says where (the file, and a
  line or a column);
* a warning (:class:`~traffickstats.DatasetWarning` or
  :class:`~traffickstats.DataWarning`, e.g. when a shift puts the year after the
  last date in the data);
* figures equal to the plain-pandas reference (tests/pandas_reference.py) computed
  on the damaged files as pandas reads them.
"""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import traffickstats as ts
from traffickstats import stats as S
from traffickstats.datasets import sample_dir

import pandas_reference as pr  # tests/ is on sys.path (conftest.py)

YEAR = 2020
TABLES = ("cases", "defendants", "victims")
KINDS = ("drop", "rename", "duplicate column", "recode", "upper-case", "duplicate rows", "shift dates",
         "shift every date", "blank", "pad")


def _text_frames() -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(sample_dir() / f"{t}.csv", dtype=str, keep_default_na=False) for t in TABLES}


def _enum(table: str, column: str) -> list[str] | None:
    (f,) = [f for f in ts.schema(table)["fields"] if f["name"] == column]
    if f["ts:type"] == "bool":
        return ["true", "false"]
    return f.get("constraints", {}).get("enum")


def corrupt(frames: dict[str, pd.DataFrame], kind: str, table: str, col_pick: int, rng: np.random.Generator) -> str:
    """Damage ``frames[table]`` in place; returns a description for the failure message."""
    if kind == "shift every date":   # the whole extract moved in time, every date by the same days
        days = int(rng.integers(-3000, 300))
        for t, c in (("cases", "filing_date"), ("cases", "closed_date"), ("defendants", "charge_date"),
                     ("defendants", "outcome_date")):
            d = pd.to_datetime(frames[t][c].replace("", None))
            frames[t][c] = (d + pd.Timedelta(days=days)).dt.strftime("%Y-%m-%d").fillna("")
        return f"{kind} by {days} days"
    if kind == "shift dates" and table == "victims":   # victims have no dates: shift a case's
        table = "cases"
    df = frames[table]
    cols = list(df.columns)
    if kind == "recode":   # a valid but different coding: a column of codes or booleans, permuted
        cols = [c for c in cols if _enum(table, c)]
    elif kind == "shift dates":
        cols = [c for c in cols if c.endswith("_date")]
    col = cols[col_pick % len(cols)]
    if kind == "drop":
        frames[table] = df.drop(columns=col)
    elif kind == "rename":
        frames[table] = df.rename(columns={col: col.title().replace("_", "")})
    elif kind == "duplicate column":
        frames[table] = pd.concat([df, df[[col]]], axis=1)
    elif kind == "recode":
        allowed = _enum(table, col)
        assert allowed
        perm = dict(zip(allowed, rng.permutation(allowed)))
        df[col] = df[col].map(lambda v: perm.get(v, v))
    elif kind == "upper-case":
        df[col] = df[col].str.upper()
    elif kind == "duplicate rows":
        extra = df.iloc[rng.integers(0, len(df), int(rng.integers(1, 5)))]
        frames[table] = pd.concat([df, extra], ignore_index=True)
    elif kind == "shift dates":
        days = int(rng.integers(-400, 400))
        d = pd.to_datetime(df[col].replace("", None))
        df[col] = (d + pd.Timedelta(days=days)).dt.strftime("%Y-%m-%d").fillna("")
        return f"{kind} {table}.{col} by {days} days"
    elif kind == "blank":
        hit = rng.random(len(df)) < 0.2
        df.loc[hit, col] = ""
    elif kind == "pad":
        hit = (rng.random(len(df)) < 0.1) & (df[col] != "")
        df.loc[hit, col] = " " + df.loc[hit, col]
    return f"{kind} {table}.{col}"


def figures_ts(ds: ts.Dataset) -> dict:
    def count(f):
        return int(f["count"].iloc[0])

    def share(f, value=None):
        if value is not None:
            f = f[f["value"] == value]
        r = f.iloc[0]
        return int(r["numerator"]), int(r["denominator"]), int(r["unknown"])

    out = {
        "new_cases": count(S.new_cases(ds, YEAR)), "active_cases": count(S.active_cases(ds, YEAR)),
        "new_defendants": count(S.new_defendants(ds, YEAR)), "convicted": count(S.convicted(ds, YEAR)),
        "active_defendants": count(S.active_defendants(ds, YEAR)),
        "victims_active": count(S.victims_in_active_cases(ds, YEAR)),
        "conviction_rate": share(S.conviction_rate(ds, YEAR)), "active_sex_share": share(S.active_sex_share(ds, YEAR)),
        "minor": share(S.minor_share(ds, YEAR)), "female": share(S.female_share(ds, YEAR)),
        "us_citizen": share(S.us_citizen_share(ds, YEAR)), "recruited_online": share(S.recruited_online_share(ds, YEAR)),
        "gang_led": share(S.gang_led_share(ds, YEAR)), "multi_agency": share(S.multi_agency_share(ds, YEAR)),
    }
    cum = S.cumulative(ds, YEAR)
    for stat in ("cases", "defendants", "convicted", "victims"):
        out[f"cumulative_{stat}"] = int(cum.loc[cum["statistic"] == f"cumulative_{stat}", "count"].iloc[0])
    out["cumulative_sex_online"] = share(S.cumulative_sex_online_share(ds, YEAR))
    for who, minor in (("all", None), ("minors", True), ("adults", False)):
        f = S.platform_share(ds, YEAR, minor=minor)
        for p in ("facebook", "instagram", "snapchat", "wechat"):
            out[f"platform_{who}_{p}"] = share(f, p)
    return out


def figures_pandas(frames: dict[str, pd.DataFrame]) -> dict:
    ref = pr.report(frames, YEAR)
    out = {}
    for k, v in ref.items():
        if k.endswith("_prev") or k == "identified_by":
            continue
        out[k] = tuple(int(x) for x in v) if isinstance(v, tuple) else int(v)
    return out


# 60 examples, or the profile's number when that is smaller (HYPOTHESIS_PROFILE=ci: 25)
@settings(max_examples=min(60, settings().max_examples), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), table=st.sampled_from(TABLES), col_pick=st.integers(0, 50),
       seed=st.integers(0, 2**32 - 1))
def test_corrupted_sample_raises_warns_or_matches_pandas(tmp_path_factory, kind, table, col_pick, seed):
    rng = np.random.default_rng(seed)
    frames = _text_frames()
    what = corrupt(frames, kind, table, col_pick, rng)
    folder = tmp_path_factory.mktemp("corrupt")
    for t, df in frames.items():
        df.to_csv(folder / f"{t}.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = ts.read_dataset(folder)
        except ts.DatasetError as exc:
            msg = str(exc)
            assert ".csv" in msg and ("line " in msg or "column '" in msg), (what, msg)
            return
        got = figures_ts(ds)
    if any(issubclass(w.category, (ts.DatasetWarning, ts.DataWarning)) for w in caught):
        return
    want = figures_pandas(pr.read_frames(folder))
    assert got == want, (what, {k: (got[k], want.get(k)) for k in got if got[k] != want.get(k)})


def test_the_oracle_agrees_on_the_clean_sample(tmp_path):
    """The comparison above is meaningful: on the untouched sample both sides agree and
    give the published figures."""
    folder = tmp_path / "clean"
    shutil.copytree(sample_dir(), folder)
    got = figures_ts(ts.read_dataset(folder))
    assert got == figures_pandas(pr.read_frames(folder))
    assert got["new_cases"] == 165 and got["platform_all_facebook"][:2] == (78, 133)


def test_a_silent_recode_is_caught_by_the_oracle(tmp_path):
    """A recode that is valid data (sex and labor swapped) changes the figures, and the
    reference sees the same change: the property test compares like with like."""
    clean = figures_ts(ts.load_sample())
    frames = _text_frames()
    frames["cases"]["case_type"] = frames["cases"]["case_type"].map({"sex": "labor", "labor": "sex"}).fillna("")
    for t, df in frames.items():
        df.to_csv(tmp_path / f"{t}.csv", index=False)
    got = figures_ts(ts.read_dataset(tmp_path))
    assert got == figures_pandas(pr.read_frames(tmp_path))
    num, den, unk = clean["active_sex_share"]
    assert got["active_sex_share"] == (den - num, den, unk)   # the sex share becomes its complement
