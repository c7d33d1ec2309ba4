"""Property tests of the CSV reader and writer.

* random Tables of every type (nulls, text with delimiters, quotes, CR/LF and
  non-ASCII) -> to_csv -> read_csv give an equal Table, at any chunk size;
* floats parse identically to Python's float() (random reprs and random digit
  strings), integers to int(), dates to datetime (ISO and %m/%d/%y, %m/%d/%Y);
* dropping bad rows equals filtering them out beforehand.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import struct

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import traffickstats as ts
from strategies import TYPES, tables_data


def _table(data: dict, schema: dict) -> ts.Table:
    for name, typ in schema.items():
        if typ == "list<category>":  # [""] is not representable in CSV (== the empty list)
            data[name] = [None if v == [""] else v for v in data[name]]
    return ts.Table(data, schema=schema)


@given(tables_data(), st.integers(16, 300))
@settings(max_examples=80)
def test_round_trip_every_type(ds, chunk):
    tab = _table(*ds)
    buf = io.BytesIO()
    tab.to_csv(buf)
    raw = buf.getvalue()
    back = ts.read_csv(io.BytesIO(raw), schema=tab.schema, chunk_size=chunk)
    assert back.schema == tab.schema
    assert back.equals(tab), raw


@given(st.sampled_from(TYPES), st.data())
@settings(max_examples=60)
def test_round_trip_single_column(typ, data):
    # one-column files are the corner case for blank lines (a null row)
    d, s = data.draw(tables_data(types=(typ,)))
    tab = _table(d, s)
    buf = io.BytesIO()
    tab.to_csv(buf)
    back = ts.read_csv(io.BytesIO(buf.getvalue()), schema=tab.schema, chunk_size=32)
    assert back.equals(tab), buf.getvalue()


def test_round_trip_file_path(tmp_path):
    tab = ts.Table({"a": [1, None, 3], "s": ['x,"y"', "", None], "d": [dt.date(2020, 1, 2), None, dt.date(1999, 12, 31)]},
                   schema={"s": "string"})
    p = tmp_path / "t.csv"
    tab.to_csv(p)
    assert p.read_bytes() == b'a,s,d\n1,"x,""y""",2020-01-02\n,"",\n3,,1999-12-31\n'
    assert ts.read_csv(p, schema=tab.schema).equals(tab)


def test_writer_rejects_unrepresentable_lists():
    t = ts.Table({"p": [["a;b"]]}, schema={"p": "list<category>"})
    with pytest.raises(ValueError, match="list separator"):
        t.to_csv(io.BytesIO())
    t = ts.Table({"p": [[""]]}, schema={"p": "list<category>"})
    with pytest.raises(ValueError, match="empty"):
        t.to_csv(io.BytesIO())


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _read_floats(texts: list[str]) -> list[float]:
    raw = ("x\n" + "\n".join(texts) + "\n").encode()
    return ts.read_csv(io.BytesIO(raw), schema={"x": "float64"})["x"].values.tolist()


@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=50))
@settings(max_examples=100)
def test_float_reprs_exact(xs):
    texts = [repr(x) for x in xs]
    got = _read_floats(texts)
    assert [_bits(g) for g in got] == [_bits(float(t)) for t in texts]


_decimal = st.from_regex(r"\A[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,3})?\Z")


@given(st.lists(_decimal, min_size=1, max_size=50))
@settings(max_examples=150)
def test_random_digit_strings_match_python_float(texts):
    got = _read_floats(texts)
    assert [_bits(g) for g in got] == [_bits(float(t)) for t in texts]


@given(st.lists(st.sampled_from(["9007199254740993", "1e23", "8.98846567431158e307", "2.2250738585072011e-308",
                                 "4.9406564584124654e-324", "1e-400", "1e400", "0.1e-10", "123456789012345678",
                                 "7.2057594037927933e16", "179769313486231580793728971405301e276"]),
                min_size=1, max_size=10))
@settings(max_examples=20)
def test_hard_float_cases(texts):
    got = _read_floats(texts)
    assert [_bits(g) for g in got] == [_bits(float(t)) for t in texts]


@given(st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1).map(str),
                          st.from_regex(r"\A[+-]?[0-9]{1,25}\Z")), min_size=1, max_size=30))
@settings(max_examples=100)
def test_int64_matches_python_int(texts):
    raw = ("n\n" + "\n".join(texts) + "\n").encode()
    fits = all(-(2**63) <= int(t) < 2**63 for t in texts)
    if fits:
        got = ts.read_csv(io.BytesIO(raw), schema={"n": "int64"})["n"].to_pylist()
        assert got == [int(t) for t in texts]
    else:
        with pytest.raises(ts.ParseError, match="out of range for int64"):
            ts.read_csv(io.BytesIO(raw), schema={"n": "int64"})


@given(st.from_regex(r"\A[0-9]{1,2}/[0-9]{1,2}/([0-9]{2}|[0-9]{4})\Z"))
@settings(max_examples=150)
def test_us_dates_agree_with_strptime(text):
    fmt = "%m/%d/%y" if len(text.rsplit("/", 1)[1]) == 2 else "%m/%d/%Y"
    try:
        expected = dt.datetime.strptime(text, fmt).date()
    except ValueError:
        expected = None
    raw = f"d\n{text}\n".encode()
    if expected is None:
        with pytest.raises(ts.ParseError, match="expected a date"):
            ts.read_csv(io.BytesIO(raw), schema={"d": "date"}, date_format=fmt)
    else:
        got = ts.read_csv(io.BytesIO(raw), schema={"d": "date"}, date_format=fmt)["d"].to_pylist()
        assert got == [expected]


@given(st.dates(min_value=dt.date(1, 1, 1)))
@settings(max_examples=100)
def test_iso_dates(d):
    got = ts.read_csv(io.BytesIO(f"d\n{d.isoformat()}\n".encode()))
    assert got.schema == {"d": "date"}
    assert got["d"].to_pylist() == [d]


@given(st.lists(st.tuples(st.integers(-1000, 1000), st.sampled_from(["ok", "bad", "short", "long"])),
                max_size=40), st.integers(16, 200))
@settings(max_examples=60)
def test_skip_equals_filtering(rows, chunk):
    lines, good = ["a,b"], []
    for i, (v, kind) in enumerate(rows):
        if kind == "ok":
            lines.append(f"{v},r{i}")
            good.append((v, f"r{i}"))
        elif kind == "bad":
            lines.append(f"{v}x,r{i}")
        elif kind == "short":
            lines.append(f"{v}")
        else:
            lines.append(f"{v},r{i},extra")
    raw = ("\n".join(lines) + "\n").encode()
    t = ts.read_csv(io.BytesIO(raw), schema={"a": "int64", "b": "string"}, on_bad_lines="skip", chunk_size=chunk)
    assert t["a"].to_pylist() == [g[0] for g in good]
    assert t["b"].to_pylist() == [g[1] for g in good]


@given(st.lists(st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
                          st.sampled_from(["true", "false"]), st.dates().map(dt.date.isoformat),
                          st.text("ab,;\"\n", min_size=1, max_size=4)), min_size=1, max_size=60),
       st.integers(16, 128), st.sampled_from([None, ";"]))
@settings(max_examples=80)
def test_inference_independent_of_chunk_size(cells, chunk, list_sep):
    # whatever the types, reading in tiny chunks (widening, re-reads) equals one big chunk
    tab = ts.Table({"v": [None if c is None else str(c) for c in cells], "i": list(range(len(cells)))},
                   schema={"v": "string"})
    buf = io.BytesIO()
    tab.to_csv(buf)
    raw = buf.getvalue()
    big = ts.read_csv(io.BytesIO(raw), list_sep=list_sep)
    small = ts.read_csv(io.BytesIO(raw), chunk_size=chunk, list_sep=list_sep)
    if list_sep and any(c is not None and ";" in str(c) for c in cells):
        assert big.schema["v"] == "list<category>"
    assert big.schema == small.schema
    assert big.equals(small)
    assume(big.num_rows > 0)
    assert big.num_rows == len(cells)


@given(tables_data(types=("int64", "float64", "category", "string", "date", "list<category>"), max_rows=30),
       st.integers(16, 200), st.sampled_from(["error", "skip"]))
@settings(max_examples=60)
def test_two_threads_equal_one(ds, chunk, mode):
    tab = _table(*ds)
    buf = io.BytesIO()
    tab.to_csv(buf)
    raw = buf.getvalue()
    one = ts.read_csv(io.BytesIO(raw), schema=tab.schema, chunk_size=chunk, threads=1, on_bad_lines=mode)
    two = ts.read_csv(io.BytesIO(raw), schema=tab.schema, chunk_size=chunk, threads=2, on_bad_lines=mode)
    assert one.equals(two) and two.equals(tab)
    inferred1 = ts.read_csv(io.BytesIO(raw), chunk_size=chunk, threads=1)
    inferred2 = ts.read_csv(io.BytesIO(raw), chunk_size=chunk, threads=2)
    assert inferred1.schema == inferred2.schema and inferred1.equals(inferred2)


@pytest.mark.parametrize("threads", [1, 2])
def test_first_error_in_file_order_is_reported(threads):
    rows = ["a,b,c"] + [f"{i},{i},{i}" for i in range(50)]
    rows[40] = "1x,2,3"   # column a, line 41
    rows[7] = "1,2,3y"    # column c, line 8: comes first in the file
    raw = ("\n".join(rows) + "\n").encode()
    with pytest.raises(ts.ParseError) as info:
        ts.read_csv(io.BytesIO(raw), schema={"a": "int64", "b": "int64", "c": "int64"}, threads=threads)
    assert (info.value.line, info.value.column) == (8, "c")


@pytest.mark.parametrize("threads", [1, 2])
def test_warnings_in_line_order(threads):
    rows = ["a,b"] + [f"{i},{i}" for i in range(30)]
    rows[20] = "x,1"
    rows[5] = "1,y"
    raw = ("\n".join(rows) + "\n").encode()
    with pytest.warns(ts.ParseWarning) as rec:
        t = ts.read_csv(io.BytesIO(raw), schema={"a": "int64", "b": "int64"}, threads=threads, on_bad_lines="warn")
    assert t.num_rows == 28
    lines = [int(str(w.message).split("line ")[1].split(",")[0]) for w in rec]
    assert lines == [6, 21]


def test_no_leak_on_errors():
    import tracemalloc

    bad = b"a,b\n" + b"1,2\n" * 5000 + b"1,2,3\n"
    tracemalloc.start()
    try:
        for _ in range(3):  # warm up caches of the interpreter
            with pytest.raises(ts.ParseError):
                ts.read_csv(io.BytesIO(bad), threads=2)
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(30):
            with pytest.raises(ts.ParseError):
                ts.read_csv(io.BytesIO(bad), threads=2)
            with pytest.raises(ts.ParseError):
                ts.read_csv(io.BytesIO(b"a\n\"x\n"))
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024


@pytest.mark.parametrize("later", [b"1,2,3\n", b"\xff,2\n"])
def test_value_error_before_a_structural_error_comes_first(later):
    raw = b"a,b\n1,2\n1x,2\n3,4\n" + later
    with pytest.raises(ts.ParseError) as info:
        ts.read_csv(io.BytesIO(raw), schema={"a": "int64"})
    assert (info.value.line, info.value.column) == (3, "a")


def test_utf8_check_stops_at_the_last_complete_row():
    # the bytes after the complete rows of a chunk (a partial row starting with a
    # multi-byte character) must not be validated as part of the chunk
    raw = "k\n" + "abcdefghijklmno\n" * 8 + "é\n" * 4
    expected = ["abcdefghijklmno"] * 8 + ["é"] * 4
    for chunk in range(16, 200):
        t = ts.read_csv(io.BytesIO(raw.encode()), chunk_size=chunk, threads=1)
        assert t["k"].to_pylist() == expected, chunk


def test_list_with_empty_first_item_round_trips():
    # the writer starts the joined list with an empty item (a zero-byte append to an
    # unallocated buffer: undefined behaviour the UBSan build caught once)
    t = ts.Table({"p": [["", "sex"], [], None, ["a,b", ""]]}, schema={"p": "list<category>"})
    buf = io.BytesIO()
    t.to_csv(buf)
    assert buf.getvalue() == b'p\n;sex\n""\n\n"a,b;"\n'
    assert ts.read_csv(io.BytesIO(buf.getvalue()), schema=t.schema).equals(t)


class _FailingReader(io.RawIOBase):
    """Raw binary stream whose k-th readinto call raises OSError."""

    def __init__(self, data: bytes, k: int) -> None:
        self._b = io.BytesIO(data)
        self._n = 0
        self._k = k

    def readable(self) -> bool:
        return True

    def readinto(self, mv) -> int:  # type: ignore[override]
        self._n += 1
        if self._n == self._k:
            raise OSError("disk on fire")
        return self._b.readinto(mv)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_read_error_propagates(threads: int, k: int) -> None:
    # several chunks, so that with two threads a later read is a read-ahead made
    # while the worker converts
    rows = b"".join(b'%d,"x%d",%d.5\n' % (i, i % 5, i) for i in range(30000))
    data = b"a,b,c\n" + rows
    with pytest.raises(OSError, match="disk on fire"):
        ts.read_csv(_FailingReader(data, k), threads=threads, chunk_size=100_000)
    # and without a failure the same stream reads completely
    t = ts.read_csv(_FailingReader(data, 0), threads=threads, chunk_size=100_000)
    assert t.num_rows == 30000


@pytest.mark.parametrize("threads", [1, 2])
def test_skipped_row_labels_leave_the_dictionary(threads: int) -> None:
    # the dropped row's label was interned before the row was rolled back
    data = b"a,b\n1,x\n2,y\nzz,onlyhere\n3,x\n"
    t = ts.read_csv(io.BytesIO(data), schema={"a": "int64"}, on_bad_lines="skip", threads=threads)
    assert t["b"].dictionary.to_pylist() == ["x", "y"]
    assert t["b"].to_pylist() == ["x", "y", "x"]


@pytest.mark.parametrize("every", [1, 3, 50])
def test_two_thread_split_inside_quoted_line_breaks(every: int) -> None:
    # line breaks inside quoted fields near every chunk's middle: wrong split guesses
    # must fall back (and later count quotes) without changing the result
    rows = []
    for i in range(20000):
        text = f'"note {i}\nmore ""q"" {i % 7}"' if i % every == 0 else f"plain {i % 11}"
        rows.append(f"{i},{text},{i % 3}.25")
    data = ("id,text,x\n" + "\n".join(rows) + "\n").encode()
    one = ts.read_csv(io.BytesIO(data), threads=1, chunk_size=150_000)
    two = ts.read_csv(io.BytesIO(data), threads=2, chunk_size=150_000)
    assert one.equals(two)
    assert one.num_rows == 20000
    assert two["text"].to_pylist()[0] == 'note 0\nmore "q" 0'


# --------------------------------------------------------------------------- writer blocks
# to_csv formats rows in blocks of 8,192: the floats that need Python's repr first (with
# the GIL), then the whole block without the GIL.


def _expected_csv(cols: dict) -> bytes:
    """The bytes to_csv must write, from plain Python: repr() for floats, ISO dates."""
    names = list(cols)
    lines = [",".join(names)]
    n = len(next(iter(cols.values())))
    for i in range(n):
        cells = []
        for name in names:
            v = cols[name][i]
            if v is None:
                cells.append("")
            elif isinstance(v, float):
                cells.append(repr(v))
            else:
                cells.append(str(v))
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


@given(n=st.sampled_from([8191, 8192, 8193, 20_000]), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=6, deadline=None)
def test_writer_blocks_match_python_formatting(n, seed):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)
    f[rng.random(n) < 0.03] = 0.0
    special = rng.random(n)
    f[special < 0.05] = np.round(rng.normal(size=n)[special < 0.05] * 1e6)       # whole numbers
    f[(special >= 0.05) & (special < 0.07)] = -0.0
    f[(special >= 0.07) & (special < 0.08)] = 1e15 + 1.0
    f[(special >= 0.08) & (special < 0.09)] = np.inf
    g = rng.random(n)
    g_valid = rng.random(n) < 0.7
    i64 = rng.integers(-(2**62), 2**62, n)
    days = rng.integers(-700_000, 2_900_000, n).astype(np.int32)   # years 0053-9909
    dates = days.astype("datetime64[D]")
    t = ts.Table({"f": f, "i": i64, "g": np.ma.masked_array(g, mask=~g_valid), "d": dates})
    buf = io.BytesIO()
    t.to_csv(buf)
    want = _expected_csv({
        "f": [float(x) for x in f],
        "i": [int(x) for x in i64],
        "g": [float(x) if ok else None for x, ok in zip(g, g_valid)],
        "d": [str(x) for x in dates],
    })
    assert buf.getvalue() == want


@pytest.mark.parametrize("row", [0, 8191, 8192, 20_000])
def test_writer_errors_in_a_later_block_name_the_row(row):
    n = 20_001
    days = np.zeros(n, np.int32)
    days[row] = 3_000_000                                      # year 10183
    t = ts.Table({"x": np.arange(n, dtype=np.float64) + 0.5, "when": days.astype("datetime64[D]")})
    with pytest.raises(ValueError, match=rf"when.*row {row}: year 10183"):
        t.to_csv(io.BytesIO())
    lists = [["a"]] * n
    lists[row] = ["a;b"]
    t = ts.Table({"p": lists}, schema={"p": "list<category>"})
    with pytest.raises(ValueError, match=rf"p.*row {row}: a list item contains the list separator"):
        t.to_csv(io.BytesIO())


def test_writer_releases_the_gil():
    """Another Python thread runs while to_csv formats a large table into a BytesIO
    (whose write() never releases the GIL, so only the formatting can): it must get
    to run in the middle half of the call, which it cannot if the GIL is held."""
    import threading
    import time

    n = 400_000
    rng = np.random.default_rng(1)
    t = ts.Table({"f": rng.random(n), "i": np.arange(n), "c": ["sex", "labor"] * (n // 2)},
                 schema={"c": "category"})
    stamps: list[float] = []
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0)

    th = threading.Thread(target=spin)
    th.start()
    try:
        t0 = time.perf_counter()
        t.to_csv(io.BytesIO())
        t1 = time.perf_counter()
    finally:
        stop.set()
        th.join()
    lo, hi = t0 + 0.25 * (t1 - t0), t1 - 0.25 * (t1 - t0)
    assert any(lo < x < hi for x in stamps), (t1 - t0, len(stamps))
