"""The storage layer: Table construction, access, operations and pandas round trips."""
from __future__ import annotations

import datetime as dt
import gc
import sys
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from strategies import TYPES, column_data, pandas_frame, tables_data, values_for

import traffickstats as ts
from traffickstats import _core


def test_installed_package_is_tested():
    # the tests must exercise the installed build, not the source tree
    assert "site-packages" in ts.__file__ or "dist-packages" in ts.__file__
    assert _core.__file__.endswith((".so", ".pyd"))


# --------------------------------------------------------------------------- construction


def test_every_type_from_python_sequences():
    t = ts.Table(
        {
            "b": [True, None, False],
            "i32": np.array([1, 2, 3], dtype=np.int32),
            "i64": [1, None, 2**40],
            "f": [1.5, None, float("nan")],
            "d": [dt.date(2020, 1, 2), None, dt.date(1969, 12, 31)],
            "k": ["sex", None, "labor"],
            "s": ["a,b", None, "é\n"],
            "p": [["facebook", "instagram"], [], None],
        },
        schema={"k": "category"},
    )
    assert t.schema == {
        "b": "bool", "i32": "int32", "i64": "int64", "f": "float64", "d": "date",
        "k": "category", "s": "string", "p": "list<category>",
    }
    assert len(t) == t.num_rows == 3
    assert t.column_names == list("b i32 i64 f d k s p".split())
    assert t["b"].to_pylist() == [True, None, False]
    assert t["i64"].to_pylist() == [1, None, 2**40]
    f = t["f"].to_pylist()
    assert f == [1.5, None, None]  # NaN among Python objects is a null, as in pandas
    assert t["f"].null_count == 2
    assert t["d"].to_pylist() == [dt.date(2020, 1, 2), None, dt.date(1969, 12, 31)]
    assert t["d"].values.tolist() == [18263, 0, -1]
    assert t["k"].to_pylist() == ["sex", None, "labor"]
    assert list(t["k"].categories) == ["labor", "sex"]
    assert t["k"].codes.tolist() == [1, -1, 0]
    assert t["s"].to_pylist() == ["a,b", None, "é\n"]
    assert t["s"].offsets.tolist() == [0, 3, 3, 6]
    assert bytes(t["s"].values) == "a,bé\n".encode()
    assert t["p"].to_pylist() == [["facebook", "instagram"], [], None]
    assert t["p"].valid.tolist() == [True, True, False]
    assert t.column("s") is t["s"]


def test_numpy_nan_is_a_value_but_masked_entries_are_null():
    t = ts.Table({"f": np.array([1.0, np.nan]), "m": np.ma.masked_array([1, 2], mask=[False, True])})
    assert t["f"].null_count == 0 and np.isnan(t["f"].values[1])
    assert t["m"].to_pylist() == [1, None]


def test_small_ints_widen_to_int32_and_uint32_to_int64():
    t = ts.Table({"a": np.array([1, -2], dtype=np.int8), "b": np.array([1, 2**32 - 1], dtype=np.uint32),
                  "c": np.array([1, 2], dtype=np.uint16), "f": np.array([0.5], dtype=np.float32).repeat(2)})
    assert t.schema == {"a": "int32", "b": "int64", "c": "int32", "f": "float64"}
    assert t["b"].to_pylist() == [1, 2**32 - 1]


def test_codes_and_categories_build_a_category_column():
    col = _core.make_column("k", "category", np.array([0, 1, -1, 1], dtype=np.int32), None, None, ["x", "y"])
    t = ts.Table({"k": col})
    assert t["k"].to_pylist() == ["x", "y", None, "y"]
    assert t["k"].null_count == 1


def test_dates_from_datetime64_reject_times_of_day():
    d = np.array(["2020-01-01", "NaT"], dtype="datetime64[ns]")
    assert ts.Table({"d": d})["d"].to_pylist() == [dt.date(2020, 1, 1), None]
    with pytest.raises(ValueError, match="'d'.*time of day"):
        ts.Table({"d": np.array(["2020-01-01T12:00"], dtype="datetime64[m]")})


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "data, schema, exc, match",
    [
        ({"a": [1, 2], "b": [1]}, None, ValueError, "'b'.*1 rows.*2"),
        ({"a": np.zeros((2, 2))}, None, ValueError, "'a'.*1-dimensional"),
        ({"a": np.array([1 + 2j])}, None, TypeError, "'a'.*unsupported dtype"),
        ({"a": [object()]}, None, TypeError, "'a'.*cannot store"),
        ({"a": [1, "x"]}, None, TypeError, "'a'.*mixed"),
        ({"a": [1.5]}, {"a": "int64"}, TypeError, "'a'.*expected int64"),
        ({"a": [1]}, {"a": "decimal"}, ValueError, "'a'.*unknown type"),
        ({"a": [1]}, {"b": "int64"}, ValueError, "not in the data.*'b'"),
        ({"a": np.array([2**40])}, {"a": "int32"}, OverflowError, "'a'.*int32"),
        ({"a": [["x", 1]]}, None, TypeError, "'a'.*row 0.*list of str"),
        ({"a": np.array([1.5])}, {"a": "bool"}, TypeError, "'a'"),
        ({1: [1]}, None, TypeError, "column names must be str"),
    ],
)
def test_bad_input_names_the_column(data, schema, exc, match):
    with pytest.raises(exc, match=match):
        ts.Table(data, schema=schema)


def test_make_column_validates_buffers():
    i32 = np.int32
    with pytest.raises(ValueError, match="'k'.*code 5 at row 1.*outside the 2 categories"):
        _core.make_column("k", "category", np.array([0, 5], dtype=i32), None, None, ["x", "y"])
    with pytest.raises(ValueError, match="'k'.*categories must be unique"):
        _core.make_column("k", "category", np.array([0], dtype=i32), None, None, ["x", "x"])
    with pytest.raises(ValueError, match="'v'.*validity mask has 3 elements, expected 2"):
        _core.make_column("v", "int64", np.array([1, 2]), np.ones(3, dtype=bool))
    with pytest.raises(TypeError, match="'v'.*validity mask.*float64"):
        _core.make_column("v", "int64", np.array([1, 2]), np.ones(2))
    with pytest.raises(TypeError, match="'v'.*values.*float64"):
        _core.make_column("v", "int64", np.array([1.5, 2]))
    with pytest.raises(ValueError, match="'s'.*offsets decrease at row 1"):
        _core.make_column("s", "string", np.frombuffer(b"ab", np.uint8), None, np.array([0, 2, 1], dtype=i32))
    with pytest.raises(ValueError, match="'s'.*outside the values buffer"):
        _core.make_column("s", "string", np.frombuffer(b"ab", np.uint8), None, np.array([0, 3], dtype=i32))
    with pytest.raises(ValueError, match="'s'.*invalid UTF-8 at byte 1"):
        _core.make_column("s", "string", np.frombuffer(b"a\xff", np.uint8), None, np.array([0, 2], dtype=i32))
    with pytest.raises(ValueError, match="'p'.*list item code 3"):
        _core.make_column("p", "list<category>", np.array([3], dtype=i32), None, np.array([0, 1], dtype=i32), ["a"])
    with pytest.raises(ValueError, match="'b'.*0 or 1"):
        _core.make_column("b", "bool", np.frombuffer(b"\x02", np.uint8).view(bool))


def test_duplicate_column_names_are_refused():
    a = ts.Table({"a": [1]})
    with pytest.raises(ValueError, match="'a'.*duplicate"):
        a.rename(["a"]).with_column("b", [2]).rename(["a", "a"])
    with pytest.raises(ValueError, match="'x'.*duplicate"):
        ts.Table.from_pandas(pd.DataFrame([[1, 2]], columns=["x", "x"]))


def test_failed_construction_leaves_refcounts_unchanged():
    vals = np.arange(4)
    mask = np.ones(3, dtype=bool)
    codes = np.array([0, 9], dtype=np.int32)
    cats = ["x", "y"]
    before = [sys.getrefcount(o) for o in (vals, mask, codes, cats)]
    for _ in range(100):
        with pytest.raises(ValueError):
            _core.make_column("v", "int64", vals, mask)
        with pytest.raises(ValueError):
            _core.make_column("k", "category", codes, None, None, cats)
        with pytest.raises(ValueError):
            ts.Table({"v": vals, "w": mask})
    assert [sys.getrefcount(o) for o in (vals, mask, codes, cats)] == before


def test_no_leak_over_10000_constructions():
    vals = np.arange(60)
    labels = ["sex", "labor", None] * 20

    def build():
        t = ts.Table({"v": vals, "k": labels}, schema={"k": "category"})
        t.filter(vals % 2 == 0).take([0, 1]).slice(0, 1)
        try:
            _core.make_column("v", "int64", vals, np.ones(3, dtype=bool))
        except ValueError:
            pass

    for _ in range(200):  # warm caches
        build()
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000):
        build()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    # a leak of 100 bytes per call would grow by 1,000,000 bytes
    assert grown < 100_000, grown


# --------------------------------------------------------------------------- zero copy


def test_values_are_zero_copy_views_that_outlive_the_table():
    src = np.arange(1000, dtype=np.int64)
    t = ts.Table({"v": src})
    view = t["v"].values
    assert np.shares_memory(view, src)  # input shared, not copied
    assert np.shares_memory(view, t["v"].values)
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0] = 5
    s = t.slice(10, 20)
    assert np.shares_memory(s["v"].values, src)
    assert s["v"].values.tolist() == list(range(10, 20))
    del t, s
    gc.collect()
    assert view.sum() == src.sum()


def test_text_views_keep_buffers_alive():
    t = ts.Table({"s": ["ab", "cde", None]})
    values, offsets = t["s"].values, t["s"].offsets
    del t
    gc.collect()
    assert bytes(values[offsets[1]:offsets[2]]) == b"cde"


@pytest.mark.parametrize("make", [
    lambda a: a[::2],                                   # non-contiguous
    lambda a: a.astype(a.dtype.newbyteorder()),        # byte-swapped
    lambda a: np.require(a, requirements="C").copy(),  # read-only
])
def test_odd_numpy_input_is_accepted(make):
    base = np.arange(20, dtype=np.int64)
    arr = make(base)
    if arr.flags.writeable and arr.base is None and arr.dtype.isnative:
        arr.flags.writeable = False
    t = ts.Table({"v": arr, "f": make(base.astype(np.float64))})
    assert t["v"].to_pylist() == arr.tolist()
    assert t["f"].values.tolist() == arr.astype(np.float64).tolist()
    if arr.flags.c_contiguous and arr.dtype.isnative:
        assert np.shares_memory(t["v"].values, arr)


# --------------------------------------------------------------------------- operations


def _table(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return ts.Table({
        "v": np.ma.masked_array(rng.integers(0, 100, n), mask=rng.random(n) < 0.2),
        "k": list(rng.choice(["a", "b", None], n)),
        "s": [None if x < 0.1 else f"s{x:.3f}" for x in rng.random(n)],
        "p": [None if x < 0.1 else ["fb", "ig"][: int(x * 3) % 3] for x in rng.random(n)],
    }, schema={"k": "category"})


def test_filter_take_slice_match_python_lists():
    t = _table()
    rows = t.to_pydict()
    mask = np.arange(50) % 3 == 0
    f = t.filter(mask)
    assert f.to_pydict() == {k: [v[i] for i in np.flatnonzero(mask)] for k, v in rows.items()}
    idx = np.array([49, 0, 7, 7, 3])
    assert t.take(idx).to_pydict() == {k: [v[i] for i in idx] for k, v in rows.items()}
    assert t.take(idx.astype(np.uint8)).equals(t.take(idx))
    assert t.slice(5, 9).to_pydict() == {k: v[5:9] for k, v in rows.items()}
    assert t.slice(-3).to_pydict() == {k: v[-3:] for k, v in rows.items()}
    assert t.slice(40, 400).num_rows == 10
    # a slice of a slice, then take, across bitmap byte boundaries
    ss = t.slice(3, 40).slice(5, 30)
    assert ss.take([0, 24, 13]).to_pydict() == {k: [v[8], v[32], v[21]] for k, v in rows.items()}
    assert t.take([]).num_rows == 0 and t.filter(np.zeros(50, bool)).schema == t.schema


def test_filter_by_bool_column_treats_null_as_false():
    t = ts.Table({"b": [True, None, False, True], "x": [1, 2, 3, 4]})
    assert t.filter(t["b"])["x"].to_pylist() == [1, 4]


def test_operation_errors():
    t = _table(10)
    with pytest.raises(IndexError, match="index 10 at position 1 is out of bounds for 10 rows"):
        t.take([0, 10])
    with pytest.raises(IndexError, match="index -1"):
        t.take([-1])
    with pytest.raises(TypeError, match="integer indices"):
        t.take(np.array([0.5]))
    with pytest.raises(ValueError, match="mask has 9 elements"):
        t.filter(np.ones(9, dtype=bool))
    with pytest.raises(TypeError, match="bool mask"):
        t.filter(np.ones(10))
    with pytest.raises(KeyError, match="no column 'zz'"):
        t["zz"]
    with pytest.raises(KeyError, match="'zz'"):
        t.select(["v", "zz"])
    with pytest.raises(KeyError, match="'zz'"):
        t.rename({"zz": "y"})
    with pytest.raises(ValueError, match="'w'.*3 rows.*10"):
        t.with_column("w", [1, 2, 3])


def test_select_rename_with_column_share_columns():
    t = _table()
    sel = t.select(["s", "v"])
    assert sel.column_names == ["s", "v"]
    assert sel["v"] is t["v"]
    r = t.rename({"v": "victims"})
    assert r.column_names == ["victims", "k", "s", "p"] and r["victims"] is t["v"]
    assert t.rename(["a", "b", "c", "d"]).column_names == ["a", "b", "c", "d"]
    w = t.with_column("v", np.zeros(50, dtype=np.int32))
    assert w.column_names == t.column_names and w.schema["v"] == "int32"
    assert t.schema["v"] == "int64"  # the original is unchanged
    w2 = t.with_column("new", np.ones(50), type="float64")
    assert w2.column_names[-1] == "new" and w2["k"] is t["k"]
    assert ts.Table().with_column("x", [1, 2]).num_rows == 2


def test_equals():
    t = _table()
    assert t.equals(_table()) and not t.equals(_table(seed=1)) and not t.equals("x")
    # same labels with a differently ordered dictionary are equal
    a = _core.make_column("k", "category", np.array([0, 1, -1], dtype=np.int32), None, None, ["x", "y"])
    b = _core.make_column("k", "category", np.array([1, 0, -1], dtype=np.int32), None, None, ["y", "x"])
    assert ts.Table({"k": a}).equals(ts.Table({"k": b}))
    assert not ts.Table({"k": a}).equals(ts.Table({"k": b}).rename(["j"]))
    nan = ts.Table({"f": np.array([np.nan, 1.0])})
    assert nan.equals(ts.Table({"f": np.array([np.nan, 1.0])}))


def test_repr_is_cheap_and_shows_schema_and_rows():
    big = ts.Table({"v": np.arange(10_000_000), "k": _core.make_column(
        "k", "category", np.zeros(10_000_000, dtype=np.int32), None, None, ["sex"])})
    text = repr(big)
    assert "10,000,000 rows x 2 columns" in text
    assert "int64" in text and "category" in text and "9,999,995 more rows" in text
    assert text.count("\n") < 12
    html = big._repr_html_()
    assert "<table>" in html and "9,999,995 more rows" in html
    assert "Column int64" in repr(big["v"])


# --------------------------------------------------------------------------- pandas round trips


@settings(max_examples=60)
@given(tables_data())
def test_pandas_round_trip_every_type(td):
    data, schema = td
    df = pandas_frame(data, schema)
    # text columns are strings unless asked; an object column with no non-null value
    # cannot show that it holds lists, so those two types are named
    named = {k: v for k, v in schema.items() if v in ("category", "list<category>")}
    t = ts.Table.from_pandas(df, schema=named)
    assert t.schema == schema
    # among Python objects NaN means null, so floats go in as a masked array (NaN a value)
    expected = {k: np.ma.masked_array([0.0 if v is None else v for v in vals], mask=[v is None for v in vals],
                                      dtype=np.float64) if schema[k] == "float64" else vals
                for k, vals in data.items()}
    assert t.equals(ts.Table(expected, schema=schema))
    back = t.to_pandas()
    pd.testing.assert_frame_equal(back, df, check_categorical=False)
    assert ts.Table.from_pandas(back).equals(t)


@given(st.sampled_from(TYPES).flatmap(lambda t: st.tuples(st.just(t), column_data(t, 1))))
def test_one_row_tables_round_trip(tv):
    type_, vals = tv
    t = ts.Table({"x": vals}, schema={"x": type_})
    assert ts.Table.from_pandas(t.to_pandas()).equals(t)
    assert t["x"].to_pylist()[0] == vals[0] or (type_ == "float64" and vals[0] != vals[0])


@pytest.mark.parametrize("type_", TYPES)
def test_empty_tables_round_trip(type_):
    t = ts.Table({"x": []}, schema={"x": type_})
    assert t.num_rows == 0 and t.schema == {"x": type_}
    back = ts.Table.from_pandas(t.to_pandas(), schema={"x": type_})
    assert back.equals(t)


def test_from_pandas_maps_pandas_dtypes():
    df = pd.DataFrame({
        "cat": pd.Categorical(["sex", None, "labor"]),
        "Int64": pd.array([1, None, 3], dtype="Int64"),
        "Int8": pd.array([1, None, 3], dtype="Int8"),
        "boolean": pd.array([True, None, False], dtype="boolean"),
        "Float64": pd.array([0.5, None, 1.5], dtype="Float64"),
        "np_float": [0.5, np.nan, 1.5],
        "np_int": np.array([1, 2, 3], dtype=np.int32),
        "dt": pd.to_datetime(["2020-01-01", None, "2021-02-03"]),
        "obj_dates": [dt.date(2020, 1, 1), None, dt.date(2021, 2, 3)],
        "text": ["a", None, "c"],
        "stext": pd.array(["a", None, "c"], dtype="string"),
        "lists": [["facebook"], [], None],
    })
    t = ts.Table.from_pandas(df, schema={"text": "category"})
    assert t.schema == {
        "cat": "category", "Int64": "int64", "Int8": "int32", "boolean": "bool", "Float64": "float64",
        "np_float": "float64", "np_int": "int32", "dt": "date", "obj_dates": "date", "text": "category",
        "stext": "string", "lists": "list<category>",
    }
    assert t["np_float"].to_pylist() == [0.5, None, 1.5]  # NaN in pandas float64 means missing
    assert t["dt"].to_pylist() == t["obj_dates"].to_pylist() == [dt.date(2020, 1, 1), None, dt.date(2021, 2, 3)]
    assert t["lists"].to_pylist() == [["facebook"], [], None]
    with pytest.raises(TypeError, match="'tz'.*time-zone"):
        ts.Table.from_pandas(pd.DataFrame({"tz": pd.to_datetime(["2020-01-01"]).tz_localize("UTC")}))
    with pytest.raises(TypeError, match="'per'.*unsupported"):
        ts.Table.from_pandas(pd.DataFrame({"per": pd.period_range("2020", periods=2, freq="Y")}))
    assert ts.Table(df).equals(ts.Table.from_pandas(df))


def test_empty_strings_first_and_only():
    # regression: appending zero bytes to an empty buffer (memcpy into NULL, caught by UBSan)
    t = ts.Table({"s": ["", "", None], "k": ["", "x", ""], "p": [[""], [], None]}, schema={"k": "category"})
    assert t["s"].to_pylist() == ["", "", None]
    assert t["k"].to_pylist() == ["", "x", ""]
    assert t["p"].to_pylist() == [[""], [], None]


def test_buffer_validation_on_large_inputs_names_the_row():
    # above the GIL-release threshold the checks run without the GIL and report after
    n = 100_000
    codes = np.zeros(n, dtype=np.int32)
    codes[77_777] = 7
    with pytest.raises(ValueError, match="code 7 at row 77777"):
        _core.make_column("k", "category", codes, None, None, ["x"])
    items = np.zeros(n, dtype=np.int32)
    items[n - 1] = -1
    offs = np.arange(n + 1, dtype=np.int32)
    with pytest.raises(ValueError, match="list item code -1"):
        _core.make_column("p", "list<category>", items, None, offs, ["x"])
    b = np.zeros(n, dtype=np.uint8)
    b[5000] = 3
    with pytest.raises(ValueError, match="row 5000 holds 3"):
        _core.make_column("b", "bool", b.view(bool))
    offs[60_000] = 0
    with pytest.raises(ValueError, match="offsets decrease at row 59999"):
        _core.make_column("s", "string", np.zeros(n, np.uint8), None, offs)


def test_string_row_starting_inside_a_character_on_large_input():
    # the per-row start check also runs without the GIL above the threshold
    n = 50_000
    data = np.frombuffer("é".encode() * n, dtype=np.uint8)
    offs = np.arange(0, 2 * n + 1, 2, dtype=np.int32)
    assert len(_core.make_column("s", "string", data, None, offs)) == n
    offs[40_000] += 1
    offs[40_001] += 1
    with pytest.raises(ValueError, match="row 40000 starts inside a UTF-8 character"):
        _core.make_column("s", "string", data, None, offs)


# ----------------------------------------------------------------------------- comparisons


_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _twin(values: list, op: str, other) -> list[bool]:
    """Plain-Python twin of a column comparison: the operator per row, False for a null."""
    return [v is not None and bool(_OPS[op](v, other)) for v in values]


@given(st.sampled_from(["int64", "float64", "date", "category", "string", "bool"]).flatmap(
    lambda t: st.tuples(st.just(t), column_data(t, 9), values_for(t))), st.sampled_from(sorted(_OPS)))
def test_comparisons_match_a_python_twin(tvo, op):
    type_, values, other = tvo
    if type_ == "float64":   # NaN in a Python list is a null (Table's rule for object input)
        values = [None if v is None or v != v else float(v) for v in values]
    col = ts.Table({"x": values}, schema={"x": type_})["x"]
    if type_ in ("category", "bool") and op not in ("==", "!="):
        with pytest.raises(TypeError, match="no order"):
            _OPS[op](col, other)
        return
    got = _OPS[op](col, other)
    assert isinstance(got, np.ndarray) and got.dtype == bool and got.shape == (9,)
    assert got.tolist() == _twin(values, op, other)
    # the same through a non-contiguous view of the rows: a slice of a larger table
    wide = ts.Table({"x": [None] + values}, schema={"x": type_})["x"]
    assert _OPS[op](ts.Table({"x": wide}).slice(1, 10)["x"], other).tolist() == _twin(values, op, other)
    if type_ != "bool":
        assert col.isin([other]).tolist() == _twin(values, "==", other)


@given(column_data("list<category>", 8))
def test_contains_matches_a_python_twin(values):
    col = ts.Table({"x": values}, schema={"x": "list<category>"})["x"]
    for item in ("sex", "é", "", "nowhere"):
        assert col.contains(item).tolist() == [v is not None and item in v for v in values]
    assert col.isnull().tolist() == [v is None for v in values]
    assert col.notnull().tolist() == [v is not None for v in values]


def test_elementwise_comparison_of_two_columns_and_errors():
    t = ts.Table({"a": [1, None, 3, 4], "b": [1, 2, None, 5], "g": ["x", "y", None, "x"]},
                 schema={"g": "category"})
    assert (t["a"] == t["b"]).tolist() == [True, False, False, False]
    assert (t["a"] < np.array([2, 2, 2, 5])).tolist() == [True, False, False, True]
    assert (t["g"] == ["x", "x", "x", "x"]).tolist() == [True, False, False, True]
    with pytest.raises(ValueError, match="4 rows with one of 2"):
        t["a"] == [1, 2]
    with pytest.raises(TypeError, match="isin"):
        t["a"].isin(3)
    with pytest.raises(TypeError, match="contains"):
        t["a"].contains("x")
    with pytest.raises(TypeError, match="unhashable"):
        hash(t["a"])   # == is elementwise, so a column is not a dict key
    # kinds that do not compare raise instead of giving all False
    d = ts.Table({"d": np.array(["2020-01-01", "2020-02-01", "NaT", "2021-01-01"], dtype="datetime64[D]")})["d"]
    assert (d == np.array(["2020-01-01", "2020-03-01", "2020-01-01", "NaT"], dtype="datetime64[D]")).tolist() == \
        [True, False, False, False]
    assert (d <= ["2020-01-01", "2020-03-01", None, "2022-01-01"]).tolist() == [True, True, False, True]
    for bad, exc, match in ((lambda: t["a"] == t["g"], TypeError, "int64 column with a category column"),
                            (lambda: t["a"] == np.array(["1", "2", "3", "4"]), TypeError, "dtype <U1"),
                            (lambda: t["g"] == np.arange(4), TypeError, "category column with an array"),
                            (lambda: d == "2020", ValueError, "YYYY-MM-DD"),
                            (lambda: d < ["2020", "x", None, None], ValueError, "YYYY-MM-DD"),
                            (lambda: d > "2020-02-30", ValueError, "no such day")):
        with pytest.raises(exc, match=match):
            bad()
    assert (t["a"] == np.array(3)).tolist() == [False, False, True, False]   # a 0-d array is a scalar
