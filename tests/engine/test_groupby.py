"""Group-by aggregation checked against pandas (groupby(..., observed=True)) as the oracle."""
from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import traffickstats as ts
from traffickstats import _core

# TS_FAST_HYPOTHESIS=1: fewer examples and no shrinking, for quick local iterations.
_FAST = os.environ.get("TS_FAST_HYPOTHESIS") == "1"
SETTINGS = settings(max_examples=25 if _FAST else 60, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate] if _FAST else list(Phase),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CATS = ["sex", "labor", "both", "unused", "zeta"]
WORDS = ["a", "b", "bb", "é", "", "zz top", "b\x00"]
PLATFORMS = ["facebook", "instagram", "snapchat"]


# --------------------------------------------------------------------------- data


@st.composite
def frames(draw, max_rows=40):
    n = draw(st.integers(0, max_rows))
    nulls = st.lists(st.booleans(), min_size=n, max_size=n)

    def maybe_null(vals, p_draw=True):
        m = np.array(draw(nulls), dtype=bool) if p_draw and draw(st.booleans()) else np.zeros(n, bool)
        return vals, ~m

    cat_codes = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int32)
    big = draw(st.booleans())
    ints = draw(st.lists(st.integers(-(2**40), 2**40) if big else st.integers(-3, 3),
                         min_size=n, max_size=n))
    days = draw(st.lists(st.integers(-800, 20000), min_size=n, max_size=n))
    fvals = draw(st.lists(st.one_of(st.floats(-1e6, 1e6, allow_nan=False, width=64).map(lambda x: round(x, 3)),
                                    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0])),
                          min_size=n, max_size=n))
    words = draw(st.lists(st.sampled_from(WORDS), min_size=n, max_size=n))
    bools = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    fvals = fvals if n else []
    i32 = draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n))
    lists = draw(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(PLATFORMS), max_size=3, unique=True)),
                          min_size=n, max_size=n))
    return {
        "n": n,
        "cat": maybe_null(cat_codes),
        "int": maybe_null(np.array(ints, dtype=np.int64)),
        "date": maybe_null(np.array(days, dtype=np.int32)),
        "str": maybe_null(words),
        "bool": maybe_null(np.array(bools, dtype=bool)),
        "f": maybe_null(np.array(fvals, dtype=np.float64)),
        "i32": maybe_null(np.array(i32, dtype=np.int32)),
        "lst": lists,
    }


def to_table(d) -> _core.Table:
    cols = {}
    codes, valid = d["cat"]
    cols["cat"] = _core.make_column("cat", "category", np.where(valid, codes, -1).astype(np.int32),
                                    dictionary=CATS[:4])
    for name, typ in (("int", "int64"), ("date", "date"), ("bool", "bool"), ("f", "float64"), ("i32", "int32")):
        vals, valid = d[name]
        cols[name] = _core.make_column(name, typ, vals, valid=valid)
    words, valid = d["str"]
    cols["str"] = _core.from_objects("str", "string", [w if ok else None for w, ok in zip(words, valid)])
    cols["lst"] = _core.from_objects("lst", "list", d["lst"])
    return _core.Table(cols)


def to_pandas(d) -> pd.DataFrame:
    n = d["n"]
    codes, valid = d["cat"]
    df = pd.DataFrame(index=range(n))
    df["cat"] = pd.Categorical.from_codes(np.where(valid, codes, -1), categories=CATS[:4])
    vals, valid = d["int"]
    df["int"] = pd.array(vals, dtype="Int64")
    df.loc[~valid, "int"] = pd.NA
    vals, valid = d["i32"]
    df["i32"] = pd.array(vals, dtype="Int32")
    df.loc[~valid, "i32"] = pd.NA
    vals, valid = d["date"]
    dt = pd.Series(vals.astype("datetime64[D]").astype("datetime64[s]"))
    dt[~valid] = pd.NaT
    df["date"] = dt
    vals, valid = d["bool"]
    df["bool"] = pd.array(vals, dtype="boolean")
    df.loc[~valid, "bool"] = pd.NA
    vals, valid = d["f"]
    df["f"] = np.where(valid, vals, np.nan)
    words, valid = d["str"]
    df["str"] = pd.Series([w if ok else None for w, ok in zip(words, valid)], dtype=object)
    df["lst"] = pd.Series([None if v is None else list(v) for v in d["lst"]], dtype=object)
    df["year"] = df["date"].dt.year.astype("Int64")
    df["month"] = df["date"].dt.month.astype("Int64")
    return df


# --------------------------------------------------------------------------- comparing


def norm(x):
    """A comparable Python value: every kind of missing is None."""
    if x is None or x is pd.NA or x is pd.NaT or x is np.ma.masked:
        return None
    if isinstance(x, (float, np.floating)) and math.isnan(x):
        return None
    if isinstance(x, (np.datetime64, pd.Timestamp)):
        return None if pd.isna(x) else pd.Timestamp(x)
    if isinstance(x, np.generic):
        return x.item()
    return x


def col_values(a) -> list:
    if isinstance(a, np.ma.MaskedArray):
        return [None if m else norm(v) for v, m in zip(np.ma.getdata(a), np.ma.getmaskarray(a))]
    return [norm(v) for v in a]


def same(ours: list, theirs: list, exact: bool) -> bool:
    if len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs):
        if a is None or b is None:
            if not (a is None and b is None):
                return False
        elif isinstance(a, float) or isinstance(b, float):
            if math.isinf(a) or math.isinf(b):
                if a != b:
                    return False
            elif exact and a != b:
                return False
            elif not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9):
                return False
        elif a != b:
            return False
    return True


def key_rows(res, names) -> list:
    cols = [col_values(res[k]) for k in names]
    return list(zip(*cols))


def pandas_keys(index) -> list:
    if isinstance(index, pd.MultiIndex):
        return [tuple(norm(v) for v in t) for t in index]
    return [(norm(v),) for v in index]


KEYSETS = [["cat"], ["bool"], ["int"], ["i32"], ["date"], ["str"], ["year"], ["cat", "int"],
           ["str", "bool"], ["year", "cat"], ["lst"], ["year", "lst"], ["date", "str", "cat"]]
VALUE_FUNCS = {
    "f": ["count", "sum", "mean", "min", "max", "var", "std", "median", "nunique", "first", "last",
          "any", "all"],
    "int": ["count", "sum", "mean", "min", "max", "var", "std", "median", "nunique", "first", "last",
            "any", "all"],
    "i32": ["sum", "min", "max", "mean", "first"],
    "bool": ["count", "sum", "mean", "any", "all", "nunique", "first", "last", "min", "max"],
    "date": ["count", "min", "max", "first", "last", "nunique"],
    "str": ["count", "nunique", "first", "last"],
    "cat": ["count", "nunique", "first", "last"],
}


def spec_key(k):
    return ts.year("date") if k == "year" else ts.month("date") if k == "month" else k


def pandas_group(df, keys, dropna):
    if "lst" in keys:
        df = df.explode("lst")
        df["lst"] = pd.Categorical(df["lst"], categories=PLATFORMS)
    return df, df.groupby(keys, dropna=dropna, observed=True, sort=True)


@SETTINGS
@given(d=frames(), keyset=st.sampled_from(KEYSETS), dropna=st.booleans(), data=st.data())
def test_against_pandas(d, keyset, dropna, data):
    table = to_table(d)
    df = to_pandas(d)
    col = data.draw(st.sampled_from(sorted(VALUE_FUNCS)))
    funcs = VALUE_FUNCS[col]
    if "lst" in keyset:
        if col in ("str", "cat"):
            col = "f"
            funcs = VALUE_FUNCS["f"]
    gb = ts.group_by(table, [spec_key(k) for k in keyset], dropna=dropna)
    named = {f"r_{f}": (col, f) for f in funcs}
    named["r_size"] = (col, "size")
    res = gb.agg(**named)
    pdf, pg = pandas_group(df, keyset, dropna)
    sizes = pg.size()
    names = [k for k in keyset]
    assert key_rows(res, names) == pandas_keys(sizes.index)
    assert res["r_size"].dtype == np.int64
    assert col_values(res["r_size"]) == [int(v) for v in sizes]
    for f in funcs:
        ours = res[f"r_{f}"]
        theirs = getattr(pg[col], f)()
        if f in ("count", "nunique"):
            assert ours.dtype == np.int64
        if f in ("mean", "var", "std", "median"):
            assert ours.dtype == np.float64
        if f == "sum" and col in ("int", "i32", "bool"):
            assert ours.dtype == np.int64
        if f == "sum" and col == "f":
            assert ours.dtype == np.float64
        assert pandas_keys(theirs.index) == pandas_keys(sizes.index)
        exact = f in ("count", "nunique", "min", "max", "first", "last", "any", "all") or (
            f == "sum" and col != "f")
        assert same(col_values(ours), col_values(theirs.to_numpy(dtype=object)), exact), (f, col)


@SETTINGS
@given(d=frames(), keyset=st.sampled_from(KEYSETS[:8]), q=st.one_of(
    st.floats(0, 1), st.lists(st.floats(0, 1), min_size=1, max_size=3)))
def test_quantile_against_pandas(d, keyset, q):
    table = to_table(d)
    df = to_pandas(d)
    # pandas' linear interpolation of +-inf gives NaN where ours may differ: finite values here
    df["f"] = df["f"].where(np.isfinite(df["f"]))
    finite = np.isfinite(d["f"][0])
    table = to_table({**d, "f": (np.where(finite, d["f"][0], 0.0), d["f"][1] & finite)})
    res = ts.group_by(table, [spec_key(k) for k in keyset]).agg(
        qf=("f", "quantile", q), qi=("int", "quantile", q))
    _, pg = pandas_group(df, keyset, True)
    qs = np.atleast_1d(q)
    for name, col in (("qf", "f"), ("qi", "int")):
        ours = res[name]
        assert ours.dtype == np.float64
        if np.ndim(q) == 0:
            assert ours.ndim == 1
            ours = ours[:, None]
        for j, qq in enumerate(qs):
            theirs = pg[col].quantile(qq)
            if col == "int":
                theirs = pg[col].apply(lambda s: s.astype("float64").quantile(qq))
            assert same(col_values(ours[:, j]), col_values(theirs.to_numpy(dtype=object)), False)


@SETTINGS
@given(d=frames(), keyset=st.sampled_from(KEYSETS), dropna=st.booleans())
def test_sort_false_first_appearance(d, keyset, dropna):
    table = to_table(d)
    df = to_pandas(d)
    res = ts.group_by(table, [spec_key(k) for k in keyset], dropna=dropna, sort=False).size()
    pdf, _ = pandas_group(df, keyset, dropna)
    theirs = pdf.groupby(keyset, dropna=dropna, observed=True, sort=False).size()
    # pandas puts a categorical key's groups in first-appearance order too with sort=False
    assert sorted(zip(key_rows(res, keyset), col_values(res["size"])), key=repr) == \
        sorted(zip(pandas_keys(theirs.index), [int(v) for v in theirs]), key=repr)
    # and ours is exactly first-appearance order
    firsts = []
    seen = set()
    for row in pandas_keys(pdf.set_index(keyset).index):
        if (not dropna) or all(v is not None for v in row):
            if row not in seen:
                seen.add(row)
                firsts.append(row)
    assert key_rows(res, keyset) == firsts


@SETTINGS
@given(d=frames(), keyset=st.sampled_from(KEYSETS), data=st.data())
def test_where_equals_filtered_pandas(d, keyset, data):
    n = d["n"]
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    table = to_table(d)
    df = to_pandas(d)
    res = ts.group_by(table, [spec_key(k) for k in keyset], where=mask).agg(
        s=("f", "sum"), n=("int", "count"))
    _, pg = pandas_group(df[mask].copy(), keyset, True)
    assert key_rows(res, keyset) == pandas_keys(pg.size().index)
    assert same(col_values(res["s"]), col_values(pg["f"].sum().to_numpy(dtype=object)), False)
    assert col_values(res["n"]) == [int(v) for v in pg["int"].count()]


# --------------------------------------------------------------------------- arrays in


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 300), step=st.integers(1, 3), swap=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_noncontiguous_and_byteswapped_arrays(n, step, swap, seed):
    rng = np.random.default_rng(seed)
    key = rng.integers(-5, 5, n * step)[::step]
    vals = rng.normal(size=n * step)[::step]
    vals[rng.random(n) < 0.1] = np.nan
    if swap:
        key = key.astype(key.dtype.newbyteorder())
        vals = vals.astype(vals.dtype.newbyteorder())
    res = ts.group_by({"k": key, "v": vals}, "k").agg(s=("v", "sum"), m=("v", "median"), c=("v", "count"))
    g = pd.DataFrame({"k": key.astype(np.int64), "v": vals.astype(np.float64)}).groupby("k")
    assert col_values(res["k"]) == list(g.size().index)
    assert same(col_values(res["s"]), col_values(g["v"].sum().to_numpy()), False)
    assert same(col_values(res["m"]), col_values(g["v"].median().to_numpy()), False)
    assert col_values(res["c"]) == list(g["v"].count())


def test_float32_sum_is_compensated():
    rng = np.random.default_rng(7)
    v = rng.random(10**7, dtype=np.float32)
    key = np.zeros(len(v), dtype=np.int32)
    res = ts.group_by({"k": key, "v": v}, "k").agg(s=("v", "sum"))
    exact = math.fsum(v.astype(np.float64).tolist())
    assert abs(res["s"][0] - exact) <= 1e-9 * abs(exact)


def test_many_groups_hash_path_and_threads_identical():
    rng = np.random.default_rng(1)
    n = 400_000
    key = rng.integers(0, 2**40, 100_000)[rng.integers(0, 100_000, n)]
    vi = rng.integers(-10**6, 10**6, n)
    vf = rng.normal(size=n)
    data = {"k": key, "vi": vi, "vf": vf}
    aggs = dict(s=("vi", "sum"), c=("vi", "count"), mn=("vi", "min"), mx=("vi", "max"),
                f=("vi", "first"), l=("vi", "last"), fs=("vf", "sum"), m=("vf", "mean"),
                v=("vf", "var"), md=("vf", "median"), nu=("vi", "nunique"))
    one = ts.group_by(data, "k", threads=1).agg(**aggs)
    two = ts.group_by(data, "k", threads=2).agg(**aggs)
    assert len(one) == len(np.unique(key))
    for name in ("k", "s", "c", "mn", "mx", "f", "l", "nu", "md"):
        assert np.array_equal(one[name], two[name]), name
    for name in ("fs", "m", "v"):
        np.testing.assert_allclose(one[name], two[name], rtol=1e-12)
    g = pd.DataFrame(data).groupby("k")
    np.testing.assert_array_equal(one["s"], g["vi"].sum().to_numpy())
    np.testing.assert_array_equal(one["nu"], g["vi"].nunique().to_numpy())
    np.testing.assert_allclose(one["v"], g["vf"].var().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(one["md"], g["vf"].median().to_numpy(), rtol=1e-12)


def test_skewed_key_sum_exact_against_fsum():
    rng = np.random.default_rng(3)
    n = 300_000
    key = np.where(rng.random(n) < 0.9, 0, rng.integers(1, 50, n)).astype(np.int32)
    v = rng.random(n) * 1e6
    res = ts.group_by({"k": key, "v": v}, "k", threads=2).agg(s=("v", "sum"))
    for g in (0, 1, 49):
        exact = math.fsum(v[key == g].tolist())
        assert abs(res["s"][list(res["k"]).index(g)] - exact) <= 1e-12 * exact


# --------------------------------------------------------------------------- semantics


def _t(**cols):
    return _core.Table(cols)


def test_int_sum_overflow_raises():
    big = np.array([2**62, 2**62, 2**62], dtype=np.int64)
    t = {"k": np.zeros(3, np.int32), "v": big}
    with pytest.raises(OverflowError, match="overflows"):
        ts.group_by(t, "k").agg(s=("v", "sum"))
    for threads in (1, 2):
        n = 200_000
        t = {"k": np.zeros(n, np.int32), "v": np.full(n, 2**50, np.int64)}
        with pytest.raises(OverflowError):
            ts.group_by(t, "k", threads=threads).agg(s=("v", "sum"))


def test_all_null_group_semantics():
    k = _core.from_objects("k", "category", ["a", "a", "b"])
    v = _core.make_column("v", "int64", np.array([1, 2, 3]), valid=np.array([True, True, False]))
    f = _core.make_column("f", "float64", np.array([1.0, 2.0, np.nan]))
    res = ts.group_by(_t(k=k, v=v, f=f), "k").agg(
        c=("v", "count"), s=("v", "sum"), m=("v", "mean"), mn=("v", "min"), fs=("f", "sum"),
        md=("f", "median"), an=("v", "any"), al=("v", "all"), fi=("v", "first"))
    assert list(res["k"]) == ["a", "b"]
    assert list(res["c"]) == [2, 0]
    assert list(res["s"]) == [3, 0]
    assert np.isnan(res["m"][1]) and res["m"][0] == 1.5
    assert isinstance(res["mn"], np.ma.MaskedArray) and res["mn"].dtype == np.int64
    assert res["mn"][0] == 1 and res["mn"].mask[1]
    assert list(res["fs"]) == [3.0, 0.0] and np.isnan(res["md"][1])
    assert list(res["an"]) == [True, False] and list(res["al"]) == [True, True]
    pdf = res.to_pandas()
    assert str(pdf["mn"].dtype) == "Int64" and pdf["mn"].isna().tolist() == [False, True]
    assert isinstance(pdf["k"].dtype, pd.CategoricalDtype)


def test_empty_and_one_row():
    k = _core.make_column("k", "int64", np.zeros(0, np.int64))
    v = _core.make_column("v", "float64", np.zeros(0))
    res = ts.group_by(_t(k=k, v=v), "k").agg(s=("v", "sum"), m=("v", "median"))
    assert len(res) == 0 and res["s"].dtype == np.float64 and res["k"].dtype == np.int64
    assert list(res.to_pandas().columns) == ["k", "s", "m"]
    k = _core.make_column("k", "int64", np.array([5]))
    v = _core.make_column("v", "float64", np.array([2.5]))
    res = ts.group_by(_t(k=k, v=v), "k").agg(s=("v", "sum"), sd=("v", "std"))
    assert list(res["k"]) == [5] and list(res["s"]) == [2.5] and np.isnan(res["sd"][0])


def test_nan_and_negative_zero_float_keys():
    key = np.array([0.0, -0.0, np.nan, 1.5, np.nan, 1.5])
    res = ts.group_by({"k": key}, "k", dropna=False).size()
    vals = col_values(res["k"])
    assert vals == [0.0, 1.5, None] and list(res["size"]) == [2, 2, 2]


def test_list_key_counts_victim_in_each_platform():
    plat = _core.from_objects("p", "list", [["facebook", "instagram"], ["facebook"], [], None])
    res = ts.group_by(_t(p=plat), "p").size("victims")
    assert list(res["p"]) == ["facebook", "instagram"] and list(res["victims"]) == [2, 1]
    res = ts.group_by(_t(p=plat), "p", dropna=False).size("victims")
    assert col_values(res["p"]) == ["facebook", "instagram", None] and list(res["victims"]) == [2, 1, 2]


def test_year_month_keys():
    days = (np.array(["2019-12-31", "2020-01-01", "2020-02-29", "2021-07-04"], dtype="datetime64[D]")
            .astype(np.int64).astype(np.int32))
    d = _core.make_column("d", "date", days)
    res = ts.group_by(_t(d=d), ts.year("d")).size()
    assert list(res["year"]) == [2019, 2020, 2021] and list(res["size"]) == [1, 2, 1]
    res = ts.group_by(_t(d=d), ts.month("d")).size()
    assert list(res["month"]) == [1, 2, 7, 12]
    with pytest.raises(TypeError, match="date"):
        ts.group_by({"x": np.arange(3)}, ts.year("x")).size()


def test_value_counts_and_crosstab_against_pandas():
    rng = np.random.default_rng(5)
    a = rng.choice(["x", "y", "z"], 500)
    b = rng.integers(0, 4, 500)
    t = _t(a=_core.from_objects("a", "category", list(a)), b=_core.make_column("b", "int64", b))
    vc = ts.value_counts(t, "a")
    pvc = pd.Series(a).value_counts()
    assert list(vc["count"]) == list(pvc) and list(vc["a"]) == list(pvc.index)
    ct = ts.crosstab(t, "a", "b")
    pct = pd.crosstab(a, b)
    assert list(ct.index) == list(pct.index) and list(ct.columns) == list(pct.columns)
    np.testing.assert_array_equal(ct.counts, pct.to_numpy())
    assert ct.to_pandas().shape == pct.shape


def test_result_object():
    res = ts.group_by({"k": np.array([2, 1, 2]), "v": np.array([1.0, 2.0, 3.0])}, "k").agg(s=("v", "sum"))
    assert res.columns == ["k", "s"] == res.keys() and len(res) == 2
    assert set(res.to_dict()) == {"k", "s"}
    assert "2 groups" in repr(res)
    with pytest.raises(KeyError, match="nope"):
        res["nope"]


def test_errors_name_the_problem():
    data = {"k": np.array([1, 2]), "s": np.array(["a", "b"], dtype=object)}
    with pytest.raises(KeyError, match="missing"):
        ts.group_by(data, "missing").size()
    with pytest.raises(ValueError, match="unknown function"):
        ts.group_by(data, "k").agg(x=("s", "median2"))
    with pytest.raises(TypeError, match="cannot compute sum of string"):
        ts.group_by(data, "k").agg(x=("s", "sum"))
    with pytest.raises(ValueError, match="where="):
        ts.group_by(data, "k", where=np.array([True])).size()
    with pytest.raises(ValueError, match="quantile"):
        ts.group_by({"k": np.array([1]), "v": np.array([1.0])}, "k").agg(q=("v", "quantile", 1.5))
    with pytest.raises(ValueError, match="threads"):
        ts.group_by(data, "k", threads=0)


def test_kernel_rejects_bad_codes():
    with pytest.raises(ValueError, match="row 1"):
        _core._gb_agg(np.array([0, 5], np.int32), 2, "sum", np.ones(2), None, 1)
    with pytest.raises(ValueError, match="rows"):
        _core._gb_agg(np.array([0, 1], np.int32), 2, "sum", np.ones(3), None, 1)
    with pytest.raises(TypeError, match="unsupported dtype"):
        _core._gb_agg(np.array([0, 1], np.int32), 2, "sum", np.ones(2, np.complex128), None, 1)


@SETTINGS
@given(d=frames(), keyset=st.sampled_from(KEYSETS), data=st.data())
def test_fused_float_sums_against_pandas(d, keyset, data):
    """Several float columns' sums/means/stds share one pass; each must still match pandas."""
    n = d["n"]
    g = st.lists(st.one_of(st.floats(-1e3, 1e3, allow_nan=False), st.sampled_from([np.nan, np.inf])),
                 min_size=n, max_size=n)
    f2 = np.array(data.draw(g), dtype=np.float64)
    f3 = np.array(data.draw(g), dtype=np.float64)
    valid3 = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    table = to_table(d)
    table = _core.Table({**{c: table.column(c) for c in table.column_names},
                         "f2": _core.make_column("f2", "float64", f2),
                         "f3": _core.make_column("f3", "float64", f3, valid=valid3)})
    df = to_pandas(d)
    df["f2"] = f2
    df["f3"] = np.where(valid3, f3, np.nan)
    res = ts.group_by(table, [spec_key(k) for k in keyset]).agg(
        s1=("f", "sum"), m2=("f2", "mean"), s2=("f2", "sum"), sd3=("f3", "std"), m3=("f3", "mean"))
    _, pg = pandas_group(df, keyset, True)
    for name, col, f in (("s1", "f", "sum"), ("m2", "f2", "mean"), ("s2", "f2", "sum"),
                         ("sd3", "f3", "std"), ("m3", "f3", "mean")):
        theirs = getattr(pg[col], f)()
        assert same(col_values(res[name]), col_values(theirs.to_numpy(dtype=object)), False), name


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 3000), k=st.integers(1, 6), ngroups=st.sampled_from([1, 7, 3000, 70000]),
       masked=st.booleans(), threads=st.sampled_from([1, 2]), seed=st.integers(0, 2**32 - 1))
def test_fused_kernel_matches_one_column_kernel(n, k, ngroups, masked, threads, seed):
    """Every code path of the fused float-sum kernel (column counts, masks, lanes)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(-1, ngroups, n).astype(np.int32)
    vals = [rng.normal(size=n) for _ in range(k)]
    for v in vals:
        v[rng.random(n) < 0.1] = np.nan
    masks = [rng.random(n) < 0.8 if masked else None for _ in range(k)]
    sums, counts, rows, flags = _core._gb_fsum_many(codes, ngroups, vals, masks, threads)
    assert flags == 0
    for j in range(k):
        s, cnt, r, _ = _core._gb_agg(codes, ngroups, "sum", vals[j], masks[j], 1)
        np.testing.assert_allclose(sums[j], s, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(counts[j], cnt)
        ok = (codes >= 0) & ~np.isnan(vals[j]) & (True if masks[j] is None else masks[j])
        np.testing.assert_array_equal(cnt, np.bincount(codes[ok], minlength=ngroups))
        np.testing.assert_allclose(s, np.bincount(codes[ok], weights=vals[j][ok], minlength=ngroups),
                                   rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(rows, np.bincount(codes[codes >= 0], minlength=ngroups))


def test_benchmark_shaped_three_means_match_pandas():
    rng = np.random.default_rng(11)
    n = 200_000
    data = {"k": rng.integers(1, 101, n), "v1": rng.integers(1, 6, n).astype(float),
            "v2": rng.integers(1, 16, n).astype(float), "v3": rng.random(n) * 100}
    res = ts.group_by(data, "k", threads=2).agg(v1=("v1", "mean"), v2=("v2", "mean"), v3=("v3", "mean"))
    g = pd.DataFrame(data).groupby("k")[["v1", "v2", "v3"]].mean()
    for c in ("v1", "v2", "v3"):
        np.testing.assert_allclose(res[c], g[c].to_numpy(), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 5000), ngroups=st.sampled_from([1, 3, 50]), distinct=st.sampled_from([1, 2, 5, 1000]),
       seed=st.integers(0, 2**32 - 1))
def test_median_std_with_repeated_values_match_pandas(n, ngroups, distinct, seed):
    """The branch-free quickselect on few distinct values (pivot often the minimum)."""
    rng = np.random.default_rng(seed)
    key = rng.integers(0, ngroups, n).astype(np.int64)
    v = rng.integers(0, distinct, n).astype(np.float64) * 0.5
    v[rng.random(n) < 0.05] = np.nan
    res = ts.group_by({"k": key, "v": v}, "k").agg(md=("v", "median"), sd=("v", "std"),
                                                   q=("v", "quantile", [0.1, 0.5, 0.9]))
    g = pd.DataFrame({"k": key, "v": v}).groupby("k")["v"]
    np.testing.assert_array_equal(res["md"], g.median().to_numpy())
    np.testing.assert_allclose(res["sd"], g.std().to_numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res["q"], np.stack([g.quantile(q).to_numpy() for q in (0.1, 0.5, 0.9)], 1),
                               rtol=1e-12)


@pytest.mark.parametrize("bad", [3, 7, -2, -(2**31)])
@pytest.mark.parametrize("row", [0, 5, 99_999])
def test_kernels_that_check_codes_in_their_own_pass_name_the_bad_row(bad, row):
    """sum, the fused sums, quantiles and the radix combine skip the separate validation pass."""
    n = 100_000
    codes = np.random.default_rng(row).integers(-1, 3, n).astype(np.int32)
    codes[row] = bad
    ok = np.zeros(n, np.int32)
    msg = f"group code {bad} at row {row} is outside"
    for threads in (1, 2):
        with pytest.raises(ValueError, match=msg):
            _core._gb_agg(codes, 3, "sum", np.ones(n), None, threads)
        with pytest.raises(ValueError, match=msg):
            _core._gb_fsum_many(codes, 3, [np.ones(n), np.ones(n)], [None, np.ones(n, bool)], threads)
        with pytest.raises(ValueError, match=msg):
            _core._gb_quantile(codes, 3, np.ones(n), None, np.array([0.5]), threads, True, True)
    with pytest.raises(ValueError, match=msg):
        _core._gb_combine(codes, 3, ok, 2, False)
    with pytest.raises(ValueError, match=msg):
        _core._gb_combine(ok, 2, codes, 3, False)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("low", [None, -1, -10**6, -(2**62)])
def test_int_key_range_guessed_from_a_sample(low, threads):
    """The one-pass range encoding guesses the minimum from a sample; a minimum the
    sample missed (slightly or far below) must give the same groups as pandas."""
    rng = np.random.default_rng(5)
    n = 200_003
    key = rng.integers(1000, 1100, n)
    if low is not None:
        key[12_345] = low           # not on the sample's stride
    v = rng.random(n)
    res = ts.group_by({"k": key, "v": v}, "k", threads=threads).agg(s=("v", "sum"), c=("v", "count"))
    g = pd.DataFrame({"k": key, "v": v}).groupby("k")["v"]
    np.testing.assert_array_equal(res["k"], g.sum().index.to_numpy())
    np.testing.assert_array_equal(res["c"], g.count().to_numpy())
    np.testing.assert_allclose(res["s"], g.sum().to_numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- keyed sums
# Float sums and means by one int key with a small range read the key itself (code =
# key - origin) instead of a codes array; from _KEYED_ROWS rows, so the property tests
# lower that threshold to reach the path with small tables.


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3000), k=st.integers(1, 5), span=st.sampled_from([1, 7, 100, 3000]),
       origin=st.sampled_from([0, -5, 10**12, -(2**62)]), wide=st.booleans(), masked=st.booleans(),
       threads=st.sampled_from([1, 2]), seed=st.integers(0, 2**32 - 1))
def test_keyed_sums_kernel_equals_the_coded_one(n, k, span, origin, wide, masked, threads, seed):
    """Reading keys (int32 or int64) gives bit-identical sums to reading key - origin codes."""
    rng = np.random.default_rng(seed)
    if not wide and not -(2**31) <= origin <= 2**31 - span:
        origin = 0
    codes = rng.integers(0, span, n).astype(np.int32)
    keys = (codes.astype(np.int64) + origin).astype(np.int64 if wide else np.int32)
    vals = [rng.normal(size=n) for _ in range(k)]
    for v in vals:
        v[rng.random(n) < 0.1] = np.nan
    masks = [rng.random(n) < 0.8 if masked else None for _ in range(k)]
    mine = _core._gb_fsum_many(keys, span, vals, masks, threads, origin)
    theirs = _core._gb_fsum_many(codes, span, vals, masks, threads)
    for a, b in zip(mine[:3], theirs[:3]):
        np.testing.assert_array_equal(a, b)
    assert mine[3] == theirs[3] == 0


@pytest.mark.parametrize("wide", [True, False])
@pytest.mark.parametrize("offset", [-1, 100, 127, 128, 2**32, 2**32 + 3, -(2**32) + 3])
@pytest.mark.parametrize("row", [0, 4_097, 99_999])
def test_keyed_sums_kernel_returns_none_for_a_key_outside_the_range(wide, offset, row):
    """A key below the origin or at/after origin + ncodes (also one that would alias
    into the range when truncated to 32 bits) makes the kernel give up, not miscount."""
    n, origin, span = 100_000, 1_000, 100
    if not wide and abs(offset) >= 2**31:
        offset = -1
    keys = np.random.default_rng(row).integers(origin, origin + span, n)
    keys[row] = origin + offset
    keys = keys.astype(np.int64 if wide else np.int32)
    for threads in (1, 2):
        assert _core._gb_fsum_many(keys, span, [np.ones(n)], [None], threads, origin) is None


def test_keyed_sums_kernel_rejects_bad_arguments():
    keys = np.arange(10)
    with pytest.raises(TypeError, match="int32 or int64"):
        _core._gb_fsum_many(keys.astype(np.float64), 10, [np.ones(10)], [None], 1, 0)
    with pytest.raises(ValueError, match="keyed sums need"):
        _core._gb_fsum_many(keys, 0, [np.ones(10)], [None], 1, 0)
    with pytest.raises(ValueError, match="keyed sums need"):
        _core._gb_fsum_many(keys, 1 << 16, [np.ones(10)], [None], 1, 0)
    with pytest.raises(OverflowError):
        _core._gb_fsum_many(keys, 10, [np.ones(10)], [None], 1, 2**64)


@pytest.fixture
def keyed_from_one_row(monkeypatch):
    from traffickstats.engine.groupby import plan as _groupby
    monkeypatch.setattr(_groupby, "_KEYED_ROWS", 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 400), kind=st.sampled_from(["int64", "int32", "date"]),
       span=st.sampled_from([1, 3, 40, 9000]), outlier=st.booleans(), special=st.booleans(),
       masked=st.booleans(), threads=st.sampled_from([1, 2]), seed=st.integers(0, 2**32 - 1))
def test_keyed_path_against_pandas(keyed_from_one_row, n, kind, span, outlier, special, masked,
                                   threads, seed):
    """Sums, means and sizes by one int/date key through the keyed path (or its
    fallbacks: a key the sample missed, an infinity, too wide a range) equal pandas'."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(-50, -50 + span, n)
    if outlier:
        keys[rng.integers(n)] = 10**5          # rarely in the sample: the pass gives up
    a = rng.normal(size=n) * 100
    b = rng.normal(size=n)
    if special:
        a[rng.random(n) < 0.1] = np.nan
        b[rng.random(n) < 0.05] = rng.choice([np.inf, -np.inf])
    valid = rng.random(n) < 0.8 if masked else np.ones(n, bool)
    ktype = {"int64": "int64", "int32": "int32", "date": "date"}[kind]
    t = ts.Table({"k": _core.make_column("k", ktype, keys.astype(np.int32 if kind != "int64" else np.int64)),
                  "a": _core.make_column("a", "float64", a),
                  "b": _core.make_column("b", "float64", b, valid=None if not masked else valid)})
    gb = t.group_by("k", threads=threads)
    res = gb.agg(sa=("a", "sum"), ma=("a", "mean"), mb=("b", "mean"), n=("a", "size"))
    df = pd.DataFrame({"k": keys, "a": a, "b": np.where(valid, b, np.nan)})
    g = df.groupby("k")
    want_keys = g.size().index.to_numpy()
    if kind == "date":
        np.testing.assert_array_equal(res["k"], want_keys.astype("datetime64[D]"))
    else:
        np.testing.assert_array_equal(res["k"], want_keys)
    np.testing.assert_array_equal(res["n"], g.size().to_numpy())
    np.testing.assert_allclose(res["sa"], g["a"].sum().to_numpy(), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(res["ma"], g["a"].mean().to_numpy(), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(res["mb"], g["b"].mean().to_numpy(), rtol=1e-12, atol=1e-9)
    assert res["n"].dtype == np.int64 and res["ma"].dtype == np.float64


def test_keyed_path_is_taken_and_the_group_by_stays_reusable(keyed_from_one_row):
    """The keyed path builds no codes; asking the same GroupBy for size() afterwards
    (which needs codes) encodes them then, with the same groups."""
    rng = np.random.default_rng(3)
    keys = rng.integers(7, 17, 50_000)
    v = rng.random(50_000)
    gb = ts.group_by({"k": keys, "v": v}, "k")
    res = gb.agg(m=("v", "mean"))
    assert gb._codes is None
    np.testing.assert_array_equal(res["k"], np.arange(7, 17))
    sizes = gb.size()
    np.testing.assert_array_equal(sizes["size"], np.bincount(keys - 7))
    again = gb.agg(m=("v", "mean"), c=("v", "count"))     # count: the general path
    np.testing.assert_array_equal(again["m"], res["m"])


# --------------------------------------------------------------------------- explode and date parts
# Both have a fast path from 65,536 rows (threads, four-store rows, a guessed table of
# days), checked here against plain NumPy twins.


def _explode_twin(rc, nl, off, items, valid, ec):
    """NumPy twin of _gb_explode: (codes, source rows)."""
    n = len(rc)
    lens = np.diff(off).astype(np.int64)
    if valid is not None:
        lens = np.where(valid, lens, 0)
    cnt = np.where(rc >= 0, np.where(lens > 0, lens, int(ec >= 0)), 0)
    rows = np.repeat(np.arange(n, dtype=np.int64), cnt)
    j = np.arange(len(rows)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    item = np.where(lens[rows] > 0, items[np.minimum(off[rows] + j, max(len(items) - 1, 0))] if len(items) else ec, ec)
    return (rc[rows].astype(np.int64) * nl + item).astype(np.int32), rows


@settings(max_examples=30, deadline=None)
@given(n=st.sampled_from([0, 1, 5, 70_000, 140_001]), maxlen=st.sampled_from([1, 4, 9]),
       dropped=st.floats(0, 1), nulls=st.booleans(), ec=st.sampled_from([-1, 0, 4]),
       threads=st.sampled_from([1, 2]), seed=st.integers(0, 2**32 - 1))
def test_explode_against_numpy(n, maxlen, dropped, nulls, ec, threads, seed):
    rng = np.random.default_rng(seed)
    nl, nother = 5, 7
    lens = rng.integers(0, maxlen + 1, n)
    off = np.zeros(n + 1, np.int32)
    np.cumsum(lens, out=off[1:])
    items = rng.integers(0, nl, int(off[-1])).astype(np.int32)
    valid = rng.random(n) < 0.8 if nulls else None
    if valid is not None and len(items):
        # a null list's items are not looked at, even when out of range
        items[off[:-1][~valid & (lens > 0)]] = 99
    rc = np.where(rng.random(n) < dropped, -1, rng.integers(0, nother, n)).astype(np.int32)
    ec_arg = ec if ec < nl else -1
    want_codes, want_rows = _explode_twin(rc, nl, off, items, valid, ec_arg)
    codes, rows = _core._gb_explode(rc, nother, off, items, valid, nl, ec_arg, True, threads)
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(rows, want_rows)
    codes2, none = _core._gb_explode(rc, nother, off, items, valid, nl, ec_arg, False, threads)
    assert none is None
    np.testing.assert_array_equal(codes2, want_codes)


@pytest.mark.parametrize("threads", [1, 2])
def test_explode_errors_name_row_or_item(threads):
    n = 100_000
    off = np.arange(n + 1, dtype=np.int32)
    items = np.zeros(n, np.int32)
    rc = np.zeros(n, np.int32)
    bad_off = off.copy()
    bad_off[70_001] = 5                      # offsets go down at row 70,000
    with pytest.raises(ValueError, match="invalid at row 70000"):
        _core._gb_explode(rc, 1, bad_off, items, None, 3, -1, False, threads)
    big_off = off.copy()
    big_off[-1] = n + 10                     # past the items
    with pytest.raises(ValueError, match="invalid at row 99999"):
        _core._gb_explode(rc, 1, big_off, items, None, 3, -1, False, threads)
    bad_items = items.copy()
    bad_items[77_777] = 3
    with pytest.raises(ValueError, match="list item 77777 is outside"):
        _core._gb_explode(rc, 1, off, bad_items, None, 3, -1, False, threads)
    dropped = rc.copy()
    dropped[77_777] = -1                     # the bad item's row is dropped: no error
    codes, _ = _core._gb_explode(dropped, 1, off, bad_items, None, 3, -1, False, threads)
    assert len(codes) == n - 1 and not codes.any()


@settings(max_examples=30, deadline=None)
@given(n=st.sampled_from([3, 70_000, 200_001]), start=st.sampled_from(["1900-01-01", "1969-12-31", "2019-06-30"]),
       years=st.sampled_from([0, 1, 30, 300]), outlier=st.booleans(), nulls=st.booleans(),
       wide=st.booleans(), part=st.sampled_from(["year", "month"]),
       threads=st.sampled_from([1, 2]), seed=st.integers(0, 2**32 - 1))
def test_date_parts_against_numpy(n, start, years, outlier, nulls, wide, part, threads, seed):
    """year()/month() keys through the one-pass guessed table, its two-pass fallback
    (a date the sample missed) and the null-aware loop, against NumPy's calendar."""
    rng = np.random.default_rng(seed)
    d0 = int(np.datetime64(start, "D").astype(np.int64))
    days = rng.integers(d0, d0 + 365 * years + 1, n)
    if outlier:
        days[rng.integers(n)] = d0 + 400 * 365   # far outside the sampled range
    valid = rng.random(n) < 0.9 if nulls else None
    col = _core.make_column("d", "date", days.astype(np.int32), valid=valid)
    if wide:   # int64 day counts through a plain dict (a datetime64 column)
        data = {"d": np.where(valid if valid is not None else True, days, 0).astype("datetime64[D]")}
        if valid is not None:
            data["d"][~valid] = np.datetime64("NaT")
    else:
        data = _t(d=col)
    spec = ts.year("d") if part == "year" else ts.month("d")
    res = ts.group_by(data, spec, threads=threads).size()
    dt = days.astype("datetime64[D]")
    want = (dt.astype("datetime64[Y]").astype(np.int64) + 1970 if part == "year"
            else dt.astype("datetime64[M]").astype(np.int64) % 12 + 1)
    if valid is not None:
        want = want[valid]
    keys, counts = np.unique(want, return_counts=True)
    np.testing.assert_array_equal(res[part], keys)
    np.testing.assert_array_equal(res["size"], counts)
