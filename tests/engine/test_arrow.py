"""Arrow PyCapsule interop: export to pyarrow/polars/DuckDB, import back, zero copy."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import traffickstats as ts

pa = pytest.importorskip("pyarrow")

TYPES = ["bool", "int32", "int64", "float64", "date", "string", "category", "list<category>"]
LABELS = ["facebook", "instagram", "snapchat", "ügly", ""]
# at most 60 examples, fewer under the ci profile (see conftest.py)
N_EXAMPLES = min(60, settings.default.max_examples)


# ----------------------------------------------------------------------------- data


@st.composite
def tables(draw, min_rows: int = 0, max_rows: int = 40):
    """A Table with one column of every type, random nulls (and NaN as a value)."""
    n = draw(st.integers(min_rows, max_rows))
    valid = lambda: np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)  # noqa: E731
    data, schema = {}, {}
    for t in TYPES:
        ok = valid()
        if t in ("bool", "int32", "int64", "float64"):
            if t == "bool":
                vals = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
            elif t == "float64":
                vals = np.array(draw(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64),
                                              min_size=n, max_size=n)), dtype=np.float64)
            else:
                bits = 31 if t == "int32" else 63
                vals = np.array(draw(st.lists(st.integers(-(2**bits), 2**bits - 1), min_size=n, max_size=n)),
                                dtype=np.int32 if t == "int32" else np.int64)
            data[t] = np.ma.MaskedArray(vals, mask=~ok)
        elif t == "date":
            days = draw(st.lists(st.integers(-20000, 40000), min_size=n, max_size=n))
            data[t] = [dt.date(1970, 1, 1) + dt.timedelta(days=d) if k else None for d, k in zip(days, ok)]
        elif t == "string":
            s = draw(st.lists(st.text(max_size=6), min_size=n, max_size=n))
            data[t] = [x if k else None for x, k in zip(s, ok)]
        elif t == "category":
            s = draw(st.lists(st.sampled_from(LABELS), min_size=n, max_size=n))
            data[t] = [x if k else None for x, k in zip(s, ok)]
        else:
            s = draw(st.lists(st.lists(st.sampled_from(LABELS), max_size=3), min_size=n, max_size=n))
            data[t] = [x if k else None for x, k in zip(s, ok)]
        schema[t] = t
    return ts.Table(data, schema=schema)


def as_pylists(t) -> dict:
    """Oracle view of a Table: plain Python values per column (NaN made comparable)."""
    out = {}
    for name in t.column_names:
        vals = t[name].to_pylist()
        out[name] = ["NaN" if isinstance(v, float) and v != v else v for v in vals]
    return out


def arrow_pylists(tbl) -> dict:
    """The same view of a pyarrow Table, decoded by pyarrow itself (the oracle)."""
    out = {}
    for name in tbl.column_names:
        vals = tbl.column(name).to_pylist()
        out[name] = ["NaN" if isinstance(v, float) and v != v else v for v in vals]
    return out


def addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


# ----------------------------------------------------------------------------- export


@settings(max_examples=N_EXAMPLES, deadline=None)
@given(tables())
def test_pyarrow_round_trip(t):
    pt = pa.table(t)
    assert pt.schema.field("category").type == pa.dictionary(pa.int32(), pa.string())
    assert pt.schema.field("list<category>").type == pa.list_(pa.dictionary(pa.int32(), pa.string()))
    assert pt.schema.field("date").type == pa.date32()
    pt.validate(full=True)
    assert arrow_pylists(pt) == as_pylists(t)
    back = ts.Table.from_arrow(pt)
    assert back.equals(t)
    assert back.schema == t.schema


@settings(max_examples=min(40, N_EXAMPLES), deadline=None)
@given(tables())
def test_polars_round_trip(t):
    pl = pytest.importorskip("polars")
    df = pl.DataFrame(t)
    assert df.schema["category"] == pl.Categorical
    assert df.height == t.num_rows
    back = ts.Table.from_arrow(df)
    assert back.schema == t.schema
    assert back.equals(t)
    assert ts.Table.from_arrow(pl.from_arrow(pa.table(t))).equals(t)


@settings(max_examples=min(30, N_EXAMPLES), deadline=None)
@given(tables())
def test_duckdb_round_trip(t):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    rel = con.sql("select * from t")
    back = ts.Table.from_arrow(rel)
    # DuckDB scans Arrow dictionaries as VARCHAR: categories come back as strings
    expected = t.with_column("category", t["category"].to_pylist(), "string")
    assert back.schema == expected.schema
    assert back.equals(expected)
    # an aggregate computed by DuckDB over our buffers agrees with NumPy
    got = con.sql('select count("int64") as n, sum("int32") as s from t').fetchall()[0]
    i32 = t["int32"]
    assert got[0] == int(t["int64"].valid.sum())
    assert (got[1] or 0) == int(i32.values[i32.valid].astype(np.int64).sum())
    con.close()


def test_empty_tables_round_trip():
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    t = ts.Table({c: [] for c in TYPES}, schema={c: c for c in TYPES})
    assert pa.table(t).num_rows == 0
    for src in (pa.table(t), pl.DataFrame(t), pa.record_batch(t)):
        back = ts.Table.from_arrow(src)
        assert back.num_rows == 0 and back.schema == t.schema
    back = ts.Table.from_arrow(duckdb.sql("select * from t"))
    assert back.num_rows == 0 and back.column_names == t.column_names
    # no columns at all
    assert ts.Table.from_arrow(pa.table(ts.Table({}))).num_rows == 0
    # a stream with no batches still gives the schema's types
    empty = pa.Table.from_batches([], schema=pa.table(t).schema)
    assert ts.Table.from_arrow(empty).schema == t.schema


def test_export_is_zero_copy():
    n = 1000
    rng = np.random.default_rng(1)
    t = ts.Table({
        "i": rng.integers(-5, 5, n).astype(np.int32),
        "l": rng.integers(-5, 5, n).astype(np.int64),
        "f": np.ma.MaskedArray(rng.normal(size=n), mask=rng.random(n) < 0.1),
        "s": [f"x{i}" for i in range(n)],
        "c": [LABELS[i % 4] for i in range(n)],
        "L": [[LABELS[i % 3]] * (i % 3) for i in range(n)],
    }, schema={"c": "category", "L": "list<category>"})
    pt = pa.table(t)
    for name in ("i", "l", "f"):
        arr = pt.column(name).chunks[0]
        assert arr.buffers()[1].address == addr(t[name].values)
    f = pt.column("f").chunks[0]
    assert f.null_count == t["f"].null_count > 0
    s = pt.column("s").chunks[0]
    assert s.buffers()[1].address == addr(t["s"].offsets)
    assert s.buffers()[2].address == addr(t["s"].values)
    c = pt.column("c").chunks[0]
    assert c.indices.buffers()[1].address == addr(t["c"].codes)
    L = pt.column("L").chunks[0]
    assert L.buffers()[1].address == addr(t["L"].offsets)
    assert L.values.indices.buffers()[1].address == addr(t["L"].values)


def test_polars_shares_numeric_buffers():
    pl = pytest.importorskip("polars")
    v = np.arange(10_000, dtype=np.int64)
    t = ts.Table({"v": v})
    assert addr(t["v"].values) == addr(v)  # the Table itself shares the array
    s = pl.DataFrame(t)["v"]
    assert addr(s.to_numpy(allow_copy=False)) == addr(v)


def test_export_sliced_and_filtered():
    t = ts.Table({
        "b": [True, False, None, True, False, True, None, False, True, True, False],
        "i": [1, 2, None, 4, 5, 6, 7, None, 9, 10, 11],
        "s": ["a", None, "b", "cc", "", "ü", None, "d", "e", "f", "g"],
        "c": ["x", "y", None, "x", "z", "y", None, "x", "x", "z", "y"],
        "L": [["a"], None, [], ["b", "a"], ["c"], None, ["a"], [], ["b"], ["c", "c"], None],
    }, schema={"i": "int32", "c": "category", "L": "list<category>"})
    sl = t.slice(3, 10)
    pt = pa.table(sl)
    pt.validate(full=True)
    assert arrow_pylists(pt) == as_pylists(sl)
    arr = pt.column("i").chunks[0]
    assert arr.offset == 3
    # the same buffer, not a copy: Arrow's base address is our values minus the offset
    assert arr.buffers()[1].address == addr(sl["i"].values) - 3 * 4
    assert ts.Table.from_arrow(pt).equals(sl)
    mask = np.array([i % 3 != 1 for i in range(t.num_rows)])
    ft = t.filter(mask)
    pf = pa.table(ft)
    assert arrow_pylists(pf) == as_pylists(ft)
    assert ts.Table.from_arrow(pf).equals(ft)


def test_column_capsules():
    t = ts.Table({"c": ["a", None, "b"], "n": [1.0, None, 3.0]}, schema={"c": "category"})
    arr = pa.array(t["c"])
    assert arr.type == pa.dictionary(pa.int32(), pa.string())
    assert arr.to_pylist() == ["a", None, "b"]
    assert pa.array(t["n"]).to_pylist() == [1.0, None, 3.0]
    assert pa.schema(t).names == ["c", "n"]
    assert pa.DataType._import_from_c_capsule(t["n"].__arrow_c_schema__()) == pa.float64()
    # a single array imports as a one-column table named after its field
    got = ts.Table.from_arrow(pa.array([1, None], pa.int32()))
    assert got.column_names == ["values"] and got["values"].to_pylist() == [1, None]


def test_requested_schema():
    t = ts.Table({"a": [1, 2], "c": ["x", "y"]}, schema={"c": "category"})
    same = pa.schema([("a", pa.int64()), ("c", pa.dictionary(pa.int32(), pa.string()))])
    reader = pa.RecordBatchReader.from_stream(t, schema=same)
    assert reader.read_all().column("a").to_pylist() == [1, 2]
    other = pa.schema([("a", pa.int64()), ("c", pa.string())])
    with pytest.raises(NotImplementedError, match="column 'c'.*'u'"):
        t.__arrow_c_stream__(other.__arrow_c_schema__())
    with pytest.raises(NotImplementedError, match="requested Arrow type 'l'"):
        t["c"].__arrow_c_array__(pa.int64().__arrow_c_schema__())


def test_capsule_consumed_once():
    t = ts.Table({"a": [1, 2, 3]})
    cap = t.__arrow_c_stream__()
    first = ts.Table.from_arrow(_Stream(cap))
    assert first["a"].to_pylist() == [1, 2, 3]
    with pytest.raises(ValueError, match="already been consumed"):
        ts.Table.from_arrow(_Stream(cap))
    schema_cap, array_cap = t.__arrow_c_array__()
    pa.RecordBatch._import_from_c_capsule(schema_cap, array_cap)
    with pytest.raises(ValueError, match="already been consumed"):
        ts.Table.from_arrow(_Array(schema_cap, array_cap))


class _Stream:
    def __init__(self, cap):
        self.cap = cap

    def __arrow_c_stream__(self, requested_schema=None):
        return self.cap


class _Array:
    def __init__(self, s, a):
        self.caps = (s, a)

    def __arrow_c_array__(self, requested_schema=None):
        return self.caps


def test_buffers_outlive_the_table():
    t = ts.Table({"s": ["alpha", None, "gamma"], "v": [1.5, 2.5, None]})
    pt = pa.table(t)
    del t
    import gc

    gc.collect()
    assert pt.column("s").to_pylist() == ["alpha", None, "gamma"]
    assert pt.column("v").to_pylist() == [1.5, 2.5, None]


# ----------------------------------------------------------------------------- import


def test_import_shares_memory():
    pt = pa.table({
        "i": pa.array(np.arange(100, dtype=np.int32)),
        "g": pa.array(np.linspace(0, 1, 100)),
        "s": pa.array([f"r{i}" for i in range(100)]),
        "c": pa.array([LABELS[i % 3] for i in range(100)]).dictionary_encode(),
    })
    t = ts.Table.from_arrow(pt)
    assert addr(t["i"].values) == pt.column("i").chunks[0].buffers()[1].address
    assert addr(t["g"].values) == pt.column("g").chunks[0].buffers()[1].address
    assert addr(t["s"].values) == pt.column("s").chunks[0].buffers()[2].address
    assert addr(t["c"].codes) == pt.column("c").chunks[0].indices.buffers()[1].address
    # a sliced Arrow array keeps its offset instead of copying
    sl = ts.Table.from_arrow(pt.slice(10, 20))
    assert sl["i"].to_pylist() == list(range(10, 30))
    assert addr(sl["i"].values) == pt.column("i").chunks[0].buffers()[1].address + 10 * 4


def test_import_conversions():
    n = [1, None, 3]
    pt = pa.table({
        "i8": pa.array(n, pa.int8()), "i16": pa.array(n, pa.int16()),
        "u8": pa.array(n, pa.uint8()), "u16": pa.array(n, pa.uint16()), "u32": pa.array([1, None, 2**32 - 1], pa.uint32()),
        "f32": pa.array([1.5, None, float("nan")], pa.float32()),
        "ls": pa.array(["a", None, "ccc"], pa.large_string()),
        "sv": pa.array(["short", None, "a string longer than twelve"], pa.string_view()),
        "d8": pa.DictionaryArray.from_arrays(pa.array([1, None, 0], pa.int8()), pa.array(["p", "q"])),
        "du": pa.DictionaryArray.from_arrays(pa.array([1, None, 0], pa.uint32()), pa.array(["p", "q"])),
        "dl": pa.DictionaryArray.from_arrays(pa.array([1, None, 0], pa.int32()), pa.array(["p", "q"], pa.large_string())),
        "ll": pa.array([["x"], None, ["y", "x"]], pa.large_list(pa.dictionary(pa.int16(), pa.string()))),
        "lstr": pa.array([["x"], None, ["y", "x"]], pa.list_(pa.string())),
        "b": pa.array([True, None, False]),
    })
    t = ts.Table.from_arrow(pt)
    assert t.schema == {
        "i8": "int32", "i16": "int32", "u8": "int32", "u16": "int32", "u32": "int64", "f32": "float64",
        "ls": "string", "sv": "string", "d8": "category", "du": "category", "dl": "category",
        "ll": "list<category>", "lstr": "list<category>", "b": "bool",
    }
    got = as_pylists(t)
    assert got == arrow_pylists(pt)
    # every null slot of a category holds -1
    for c in ("d8", "du", "dl"):
        assert t[c].codes.tolist() == [1, -1, 0]
    # a sliced pyarrow array at a bit offset that is not a multiple of 8
    big = pa.array([i % 3 == 0 if i % 5 else None for i in range(50)])
    got = ts.Table.from_arrow(pa.table({"b": big.slice(3, 30)}))["b"].to_pylist()
    assert got == big.slice(3, 30).to_pylist()


def test_import_multiple_batches_unifies_dictionaries():
    a = pa.table({"c": pa.array(["x", "y", None]).dictionary_encode(), "s": ["1", None, "3"],
                  "L": pa.array([["p"], [], None], pa.list_(pa.dictionary(pa.int32(), pa.string())))})
    b = pa.table({"c": pa.array(["z", "x"]).dictionary_encode(), "s": ["4", "5"],
                  "L": pa.array([["q", "p"], ["q"]], pa.list_(pa.dictionary(pa.int32(), pa.string())))})
    both = pa.concat_tables([a, b])
    assert both.column("c").num_chunks == 2
    t = ts.Table.from_arrow(both)
    assert as_pylists(t) == arrow_pylists(both)


def test_unsupported_types_name_column_and_format():
    cases = {
        "ts": (pa.array([1], pa.timestamp("us")), "tsu:"),
        "u64": (pa.array([1], pa.uint64()), "'L'"),
        "dec": (pa.array([1], pa.decimal128(5, 2)), "d:5,2"),
        "dict_int": (pa.array([1, 2]).dictionary_encode(), "'i' (dictionary indices) with values 'l'"),
        "list_int": (pa.array([[1]]), "'+l' of 'l'"),
    }
    for name, (arr, fmt) in cases.items():
        with pytest.raises(TypeError, match=f"column '{name}'.*{fmt}".replace("(", r"\(").replace(")", r"\)")
                           .replace("+", r"\+")):
            ts.Table.from_arrow(pa.table({name: arr}))
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        ts.Table.from_arrow([1, 2, 3])


def test_corrupt_producers_raise():
    # offsets that decrease
    bad = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(np.array([0, 3, 1], np.int32)),
                                                 pa.py_buffer(b"abc")])
    with pytest.raises(ValueError, match="column 's'.*offsets"):
        ts.Table.from_arrow(pa.table({"s": bad}))
    # invalid UTF-8
    bad = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(np.array([0, 2], np.int32)),
                                                 pa.py_buffer(b"\xff\xfe")])
    with pytest.raises(ValueError, match="column 's'.*UTF-8"):
        ts.Table.from_arrow(pa.table({"s": bad}))
    # dictionary codes out of range
    bad = pa.DictionaryArray.from_arrays(pa.array([0, 7], pa.int32()), pa.array(["a"]), safe=False)
    with pytest.raises(ValueError, match="column 'c'.*outside the 1 categories"):
        ts.Table.from_arrow(pa.table({"c": bad}))
    # null list items
    bad = pa.array([["a", None]], pa.list_(pa.dictionary(pa.int32(), pa.string())))
    with pytest.raises(ValueError, match="column 'L'.*null"):
        ts.Table.from_arrow(pa.table({"L": bad}))


# ----------------------------------------------------------------------------- files, pandas


def test_read_parquet(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    t = ts.Table({"c": ["x", None, "y"], "d": [dt.date(2020, 1, 2), None, dt.date(2021, 5, 6)],
                  "L": [["a"], None, []], "n": [1, 2, None]}, schema={"c": "category"})
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(t), path)
    back = ts.read_parquet(path)
    assert back.equals(t)
    assert ts.read_parquet(path, columns=["n"]).column_names == ["n"]
    with pytest.raises(FileNotFoundError, match="nothere"):
        ts.read_parquet(tmp_path / "nothere.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="bad.parquet"):
        ts.read_parquet(tmp_path / "bad.parquet")


@settings(max_examples=min(30, N_EXAMPLES), deadline=None)
@given(tables())
def test_from_pandas_arrow_dtype(t):
    pd = pytest.importorskip("pandas")
    df = pa.table(t).to_pandas(types_mapper=pd.ArrowDtype)
    assert all(isinstance(d, pd.ArrowDtype) for d in df.dtypes)
    back = ts.Table.from_pandas(df)
    assert back.equals(t)


def test_from_pandas_arrow_dtype_schema_cast():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"s": pd.array(["a", None, "b"], dtype=pd.ArrowDtype(pa.string()))})
    t = ts.Table.from_pandas(df, schema={"s": "category"})
    assert t.schema == {"s": "category"} and t["s"].to_pylist() == ["a", None, "b"]
    with pytest.raises(TypeError, match="column 's'"):
        ts.Table.from_pandas(df, schema={"s": "int32"})


def test_polars_import_types_and_zero_copy():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({
        "x": [["a", "bb"], None, []],  # large_list<string_view>
        "s": ["a", None, "a string longer than twelve bytes"],  # string_view, inline and not
        "u": pl.Series([1, 2, None], dtype=pl.UInt8),
        "f": pl.Series([1.5, None, 2.0], dtype=pl.Float32),
        "c": pl.Series(["p", None, "q"], dtype=pl.Categorical),  # dictionary<uint32, string_view>
    })
    t = ts.Table.from_arrow(df)
    assert t.schema == {"x": "list<category>", "s": "string", "u": "int32", "f": "float64", "c": "category"}
    assert t.to_pydict() == {k: df[k].to_list() for k in df.columns}
    big = pl.DataFrame({"v": np.arange(100_000)})
    t = ts.Table.from_arrow(big)
    assert addr(t["v"].values) == addr(big["v"].to_numpy(allow_copy=False))


def test_exported_data_survives_interpreter_exit(tmp_path):
    """Capsules and consumers still alive at exit must not crash the interpreter."""
    import subprocess
    import sys

    script = tmp_path / "exit.py"
    script.write_text(
        "import threading, pyarrow as pa, traffickstats as ts\n"
        "t = ts.Table({'s': ['a', None], 'c': ['x', 'y']}, schema={'c': 'category'})\n"
        "KEEP = [pa.table(t), t.__arrow_c_stream__(), t.__arrow_c_array__()]\n"
        "del t\n"
        "print('done')\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done"


def test_import_dictionaries_with_duplicates_and_null_entries():
    """Arrow allows repeated values and nulls in a dictionary; categories are distinct."""
    dictionary = pa.array(["a", None, "b", "a"])
    arr = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 3, None], pa.int32()), dictionary)
    lists = pa.ListArray.from_arrays(pa.array([0, 2, 2, 3], pa.int32()),
                                     pa.DictionaryArray.from_arrays(pa.array([3, 2, 0], pa.int8()), dictionary))
    t3 = ts.Table.from_arrow(pa.table({"c": arr[:3], "L": lists}))
    assert t3["c"].to_pylist() == ["a", None, "b"]
    assert t3["L"].to_pylist() == [["a", "b"], [], ["a"]]
    t = ts.Table.from_arrow(pa.table({"c": arr}))
    assert t["c"].to_pylist() == arr.to_pylist() == ["a", None, "b", "a", None]
    assert sorted(t["c"].categories) == ["a", "b"]
    assert t["c"].codes[t["c"].valid].tolist() == [0, 1, 0]
    assert t["c"].codes[~t["c"].valid].tolist() == [-1, -1]
    with pytest.raises(ValueError, match="column 'L'.*null"):
        bad = pa.ListArray.from_arrays(pa.array([0, 1], pa.int32()),
                                       pa.DictionaryArray.from_arrays(pa.array([1], pa.int32()), dictionary))
        ts.Table.from_arrow(pa.table({"L": bad}))


def test_large_imports_through_every_copy_path():
    """Above the GIL-release threshold, each converting import agrees with pyarrow."""
    n = 20_000
    rng = np.random.default_rng(3)
    ok = rng.random(n) > 0.2
    words = np.array(["a", "bb", "a string longer than twelve bytes", "ü", ""], dtype=object)
    text = [w if k else None for w, k in zip(words[rng.integers(0, 5, n)], ok)]
    lists = [list(words[: i % 4]) if k else None for i, k in enumerate(ok)]
    pt = pa.table({
        "ls": pa.array(text, pa.large_string()),
        "sv": pa.array(text, pa.string_view()),
        "d8": pa.array(text).dictionary_encode().cast(pa.dictionary(pa.int8(), pa.string())),
        "b": pa.array([bool(x) if k else None for x, k in zip(rng.integers(0, 2, n), ok)]),
        "ll": pa.array(lists, pa.large_list(pa.dictionary(pa.int16(), pa.string()))),
        "u16": pa.array(rng.integers(0, 60000, n).astype(np.uint16)),
    }).slice(13, n - 100)
    t = ts.Table.from_arrow(pt)
    assert as_pylists(t) == arrow_pylists(pt)
    assert arrow_pylists(pa.table(t)) == arrow_pylists(pt)  # and back out again


def test_pandas_consumes_and_produces_capsules():
    pd = pytest.importorskip("pandas", minversion="3.0")  # DataFrame.from_arrow is pandas 3
    t = ts.Table({"n": [3, 1, 2], "c": ["x", None, "y"], "s": ["a", "b", None]}, schema={"c": "category"})
    df = pd.DataFrame.from_arrow(t)
    assert list(df.columns) == ["n", "c", "s"]
    assert df["n"].tolist() == [3, 1, 2]
    assert isinstance(df["c"].dtype, pd.CategoricalDtype)
    assert df["c"].isna().tolist() == [False, True, False]
    back = ts.Table.from_arrow(df)  # pandas exports __arrow_c_stream__ too
    assert back["n"].to_pylist() == [3, 1, 2]
    assert back["c"].to_pylist() == ["x", None, "y"] and back["c"].type == "category"
