"""Leak tests: every public operation, including its error paths, repeated many times
with Python-allocator memory (tracemalloc) and the process RSS staying flat.

How the thresholds catch a leak of 100 bytes per call
------------------------------------------------------
Each operation runs ``WARMUP`` times (caches, interned strings and NumPy's dtype and
ufunc caches fill up), then ``CALLS`` (10,000) more times.  A leak of 100 bytes per
call therefore adds 1,000,000 bytes.  We allow

* tracemalloc growth below ``10 * CALLS + 16 kB`` bytes (116 kB: about a ninth of the
  leak we must see).  tracemalloc counts everything the C core allocates: Python
  objects, ``PyMem_RawMalloc`` buffers and NumPy data buffers (NumPy reports those to
  tracemalloc under its own domain);
* native heap growth below ``50 * CALLS`` bytes (500 kB: half of the leak), which also
  catches memory obtained from plain ``malloc`` that tracemalloc cannot see.  With glibc
  this is what ``mallinfo2()`` counts as in use (every arena, plus mmapped blocks): exact,
  and blind to pages faulted back into a heap that earlier tests left fragmented (which
  made an RSS comparison fail now and then after the rest of the suite had run).
  Elsewhere it is the RSS, which moves in whole pages.

``test_harness_detects_a_100_byte_leak`` proves both claims on deliberately leaking
callables, so a passing run means "less than 100 bytes per call", not "nothing checked".

Under the sanitizer build (``TRAFFICKSTATS_LEAK_CALLS`` and ``TRAFFICKSTATS_LEAK_RSS=0``
set by ``scripts/sanitizer-env.sh``) the count is smaller, because LeakSanitizer
watches every allocation there anyway (the thresholds scale with the count), and the
native heap is not compared: ASan replaces malloc, and its quarantine keeps freed
memory resident on purpose.
"""
from __future__ import annotations

import ctypes
import gc
import io
import os
import warnings
import tracemalloc
from typing import Any, Callable

import numpy as np
import pytest

import traffickstats as ts
from traffickstats import _core

CALLS = int(os.environ.get("TRAFFICKSTATS_LEAK_CALLS", "10000"))
WARMUP = max(200, CALLS // 20)
CHECK_RSS = os.environ.get("TRAFFICKSTATS_LEAK_RSS", "1") != "0"
# bytes; a 100 B/call leak adds 100 * CALLS.  The fixed 16 kB covers caches that settle
# late (it matters only for the short runs under the sanitizer build: with 300 calls the
# limit is 19 kB against the 30 kB such a leak would add).
TRACED_LIMIT = 10 * CALLS + 16_384
RSS_LIMIT = 50 * CALLS        # bytes


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mallinfo2() -> Callable[[], _Mallinfo2] | None:
    try:
        fn = ctypes.CDLL(None).mallinfo2   # glibc >= 2.33
    except AttributeError:
        return None
    fn.restype = _Mallinfo2
    fn.argtypes = []
    return fn


_MALLINFO2 = _mallinfo2()
_NATIVE = "malloc in use" if _MALLINFO2 is not None else "RSS"


def _native() -> int:
    """Bytes held from malloc (glibc: in use in every arena plus mmapped blocks), else the RSS."""
    if _MALLINFO2 is not None:
        m = _MALLINFO2()
        return int(m.uordblks + m.hblkhd)
    return _rss()


def _call(fn: Callable[[], Any], exc: type[BaseException] | tuple | None) -> None:
    if exc is None:
        fn()
        return
    try:
        fn()
    except exc:
        return
    raise AssertionError(f"{fn} did not raise {exc}")


def _trim_heap() -> None:
    """Give free heap pages back to the OS (glibc), so that a leak has to fault in new
    pages instead of reusing resident ones that earlier tests freed."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except AttributeError:  # not glibc
        pass


def measure(fn: Callable[[], Any], exc: type[BaseException] | tuple | None = None,
            calls: int = CALLS) -> tuple[int, int]:
    """(tracemalloc growth, native heap growth) in bytes over `calls` calls after a warm-up."""
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(WARMUP):
            _call(fn, exc)
        gc.collect()
        _trim_heap()
        traced0 = tracemalloc.get_traced_memory()[0]
        rss0 = _native()
        for _ in range(calls):
            _call(fn, exc)
        gc.collect()
        traced1 = tracemalloc.get_traced_memory()[0]
        rss1 = _native()
    finally:
        tracemalloc.stop()
    return traced1 - traced0, rss1 - rss0


def assert_no_leak(fn: Callable[[], Any], exc: type[BaseException] | tuple | None = None) -> None:
    traced, rss = measure(fn, exc)
    assert traced < TRACED_LIMIT, f"tracemalloc grew by {traced} bytes over {CALLS} calls"
    if CHECK_RSS:
        assert rss < RSS_LIMIT, f"native heap ({_NATIVE}) grew by {rss} bytes over {CALLS} calls"


# --------------------------------------------------------------------------- harness


def test_harness_detects_a_100_byte_leak():
    # A Python-allocator leak: tracemalloc sees it.
    kept: list = []
    traced, _ = measure(lambda: kept.append(bytes(100 - 33)))  # 33 = bytes object header
    assert traced >= TRACED_LIMIT
    del kept

    # A plain-malloc leak that tracemalloc cannot see: RSS sees it.
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    ptrs: list = []

    def leak_malloc() -> None:
        p = libc.malloc(100)
        ctypes.memset(p, 1, 100)
        ptrs.append(p)  # the list's growth is traced; the block is not

    _, rss = measure(leak_malloc)
    if CHECK_RSS and CALLS >= 10_000:  # fewer calls can fit in heap pages already resident
        assert rss >= RSS_LIMIT
    libc.free.argtypes = [ctypes.c_void_p]
    for p in ptrs:
        libc.free(p)


# --------------------------------------------------------------------------- data

N = 64
_rng = np.random.default_rng(7)
_I32 = _rng.integers(-1000, 1000, N).astype(np.int32)
_I64 = _rng.integers(-(2**40), 2**40, N)
_F64 = _rng.normal(size=N)
_B = _rng.random(N) < 0.5
_MASK = _rng.random(N) < 0.8
_DATES = np.datetime64("2020-01-01") + _rng.integers(0, 3000, N).astype("timedelta64[D]")
_LABELS = ["sex", "labor", "facebook", "é", ""]
_STRS = [None if i % 7 == 0 else _LABELS[i % 5] * (i % 3) for i in range(N)]
_CATS = [None if i % 5 == 0 else _LABELS[i % 5] for i in range(N)]
_LISTS = [None if i % 6 == 0 else _LABELS[: i % 4] for i in range(N)]
DATA = {
    "b": _B, "i32": _I32, "i64": np.ma.masked_array(_I64, mask=~_MASK), "f": _F64,
    "d": _DATES, "c": _CATS, "s": _STRS, "l": _LISTS,
}
SCHEMA = {"c": "category", "l": "list<category>"}
T = ts.Table(DATA, schema=SCHEMA)
IDX = _rng.integers(0, N, 200)
BAD_IDX = np.array([0, N], dtype=np.int64)
BOOL_COL = ts.Table({"m": np.ma.masked_array(_B, mask=~_MASK)})["m"]
DF = T.to_pandas()
STR_VALUES = np.frombuffer("abcé".encode(), dtype=np.uint8)
OFFS = np.array([0, 1, 3, 5], dtype=np.int32)
_buf = io.BytesIO()
T.to_csv(_buf)
CSV = _buf.getvalue()
CSV_SCHEMA = {"c": "category", "l": "list<category>", "s": "string"}
BAD_CSV = b"a,b\n1,2\n3,x\n4\n"
WHERE = _rng.random(N) < 0.5


def _read_warn() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ts.read_csv(io.BytesIO(BAD_CSV), schema={"b": "int64"}, on_bad_lines="warn")


def _pyarrow_table() -> Any:
    import pyarrow as pa

    return pa.table(T)


# --------------------------------------------------------------------------- cases

OK_CASES: dict[str, Callable[[], Any]] = {
    "Table(arrays, lists, masked)": lambda: ts.Table(DATA, schema=SCHEMA),
    "Table(empty)": lambda: ts.Table({}),
    # a fresh frame each call: column access on one long-lived DataFrame grows pandas'
    # copy-on-write reference lists until pandas prunes them (hundreds of calls)
    "Table.from_pandas": lambda: ts.Table.from_pandas(DF.copy(), schema=SCHEMA),
    "to_pandas": lambda: T.to_pandas(),
    "to_pydict": lambda: T.to_pydict(),
    "repr": lambda: (repr(T), T._repr_html_()),
    "equals": lambda: T.equals(T.slice(0, N)),
    "take": lambda: T.take(IDX),
    "take(list)": lambda: T.take([1, 2, 3]),
    "filter(ndarray)": lambda: T.filter(_B),
    "filter(Column with nulls)": lambda: T.filter(BOOL_COL),
    "slice": lambda: T.slice(3, 40).slice(-5),
    "select": lambda: T.select(["s", "b"]),
    "rename(dict)": lambda: T.rename({"b": "bb"}),
    "rename(list)": lambda: T.rename([f"x{j}" for j in range(len(DATA))]),
    "with_column": lambda: T.with_column("new", _F64).with_column("b", _I32),
    "column views": lambda: [(c.values, c.valid, c.null_count, c.nbytes) for c in T.columns],
    "category views": lambda: (T["c"].codes, T["c"].categories, T["c"].dictionary, T["l"].offsets),
    "to_numpy/to_pylist": lambda: [(c.to_numpy(), c.to_pylist()) for c in T.columns],
    "make_column(string)": lambda: _core.make_column("s", "string", STR_VALUES, _MASK[:3], OFFS),
    "make_column(category)": lambda: _core.make_column("c", "category", np.array([0, -1, 1], np.int32),
                                                         None, None, ["a", "b"]),
    "from_objects(list)": lambda: _core.from_objects("l", "list<category>", _LISTS),
    # read_csv / to_csv
    "read_csv": lambda: ts.read_csv(io.BytesIO(CSV), schema=CSV_SCHEMA),
    "read_csv(threads=2, small chunks)": lambda: ts.read_csv(io.BytesIO(CSV), schema=CSV_SCHEMA, threads=2,
                                                               chunk_size=256),
    "read_csv(skip bad lines)": lambda: ts.read_csv(io.BytesIO(BAD_CSV), schema={"b": "int64"}, on_bad_lines="skip"),
    "read_csv(warn bad lines)": _read_warn,
    "to_csv": lambda: T.to_csv(io.BytesIO()),
    # group_by
    "group_by agg": lambda: ts.group_by(T, ["c", "b"]).agg(
        n=("i32", "count"), s=("f", "sum"), m=("i64", "mean"), med=("f", "median"), sd=("f", "std"),
        q=("f", "quantile", [0.1, 0.9]), u=("s", "nunique"), fi=("s", "first"), mx=("d", "max")).to_dict(),
    "group_by(list key, where, dropna=False)": lambda: ts.group_by(T, "l", dropna=False, where=WHERE).size().to_dict(),
    "group_by(year, string key, unsorted)": lambda: ts.group_by(T, [ts.year("d"), "s"], sort=False).agg(
        a=("b", "any"), z=("i32", "min")).to_dict(),
    "value_counts/crosstab": lambda: (ts.value_counts(T, "c"), ts.crosstab(T, "c", "b").counts),
    # Arrow
    "Arrow export/import (pyarrow)": lambda: ts.Table.from_arrow(_pyarrow_table()),
    "Arrow capsules unconsumed": lambda: (T.__arrow_c_stream__(), T["s"].__arrow_c_array__(),
                                          T.__arrow_c_schema__()),
}

# the writer's errors are found while it formats without the GIL, after the floats
# of the block were formatted: both buffers must be freed on the way out
BAD_YEAR = ts.Table({"f": _F64 + 0.5, "d": np.append(_DATES[:-1], np.datetime64("12000-01-01"))})
BAD_LIST = ts.Table({"f": _F64 + 0.5, "p": [["a"]] * (N - 1) + [["a;b"]]}, schema={"p": "list<category>"})

ERROR_CASES: dict[str, tuple[Callable[[], Any], type[BaseException] | tuple]] = {
    "Table(mixed types)": (lambda: ts.Table({"x": [1, "a"]}), TypeError),
    "Table(unequal lengths)": (lambda: ts.Table({"x": [1, 2], "y": [1]}), ValueError),
    "Table(bad schema type)": (lambda: ts.Table({"x": [1]}, schema={"x": "nope"}), ValueError),
    "Table(schema mismatch)": (lambda: ts.Table({"x": ["a"]}, schema={"x": "int64"}), TypeError),
    "Table(not a mapping)": (lambda: ts.Table([1, 2]), TypeError),
    "Table(overflow)": (lambda: ts.Table({"x": np.array([2**40])}, schema={"x": "int32"}), OverflowError),
    "_core.Table(not a column)": (lambda: _core.Table({"x": 1}), TypeError),
    "_core.Table(unequal)": (lambda: _core.Table({"a": T["b"], "b": T["b"]._slice(0, 3)}), ValueError),
    "take(out of bounds)": (lambda: T.take(BAD_IDX), IndexError),
    "take(float dtype)": (lambda: T.take(np.array([0.5])), TypeError),
    "take(2-d)": (lambda: T.take(np.zeros((2, 2), dtype=np.int64)), ValueError),
    "filter(wrong length)": (lambda: T.filter(_B[:-1]), ValueError),
    "filter(int mask)": (lambda: T.filter(_I32), TypeError),
    "filter(non-bool Column)": (lambda: T.filter(T["i32"]), TypeError),
    "select(missing)": (lambda: T.select(["b", "nope"]), KeyError),
    "select(non-str)": (lambda: T.select(["b", 3]), TypeError),
    "column(missing)": (lambda: T["nope"], KeyError),
    "rename(missing key)": (lambda: T.rename({"nope": "x"}), KeyError),
    "rename(wrong count)": (lambda: T.rename(["a"]), ValueError),
    "rename(duplicate)": (lambda: T.rename({"b": "s"}), ValueError),
    "with_column(wrong length)": (lambda: T.with_column("x", [1, 2]), ValueError),
    "slice(bad type)": (lambda: T.slice("a"), TypeError),
    "make_column(unknown type)": (lambda: _core.make_column("x", "nope", _I32), ValueError),
    "make_column(unsafe cast)": (lambda: _core.make_column("x", "int32", _I64), TypeError),
    "make_column(mask length)": (lambda: _core.make_column("x", "int32", _I32, _MASK[:3]), ValueError),
    "make_column(bool > 1)": (lambda: _core.make_column("x", "bool", np.array([2], np.uint8).view(bool)),
                              ValueError),
    "make_column(bad offsets)": (lambda: _core.make_column("s", "string", STR_VALUES, None,
                                                           np.array([0, 9], np.int32)), ValueError),
    "make_column(decreasing offsets)": (lambda: _core.make_column("s", "string", STR_VALUES, None,
                                                                  np.array([0, 3, 1], np.int32)), ValueError),
    "make_column(bad utf-8)": (lambda: _core.make_column("s", "string", np.array([0xFF], np.uint8), None,
                                                         np.array([0, 1], np.int32)), ValueError),
    "make_column(code out of range)": (lambda: _core.make_column("c", "category", np.array([5], np.int32),
                                                                 None, None, ["a"]), ValueError),
    "make_column(duplicate categories)": (lambda: _core.make_column("c", "category", np.array([0], np.int32),
                                                                    None, None, ["a", "a"]), ValueError),
    "make_column(list code)": (lambda: _core.make_column("l", "list<category>", np.array([3], np.int32),
                                                         None, np.array([0, 1], np.int32), ["a"]), ValueError),
    "from_objects(bad item)": (lambda: _core.from_objects("s", "string", ["a", 1]), TypeError),
    "from_objects(bad list item)": (lambda: _core.from_objects("l", "list<category>", [["a", 2]]), TypeError),
    "from_objects(category bad item)": (lambda: _core.from_objects("c", "category", ["a", b"x"]), TypeError),
    "read_csv(bad value)": (lambda: ts.read_csv(io.BytesIO(BAD_CSV), schema={"b": "int64"}), ValueError),
    "read_csv(unterminated quote)": (lambda: ts.read_csv(io.BytesIO(b'a,b\n1,"x\n2,3\n')), ValueError),
    "read_csv(bad utf-8)": (lambda: ts.read_csv(io.BytesIO(b"a\n\xff\xfe\n")), ValueError),
    "read_csv(unknown schema column)": (lambda: ts.read_csv(io.BytesIO(CSV), schema={"nope": "int64"}), ValueError),
    "read_csv(empty file)": (lambda: ts.read_csv(io.BytesIO(b"")), ValueError),
    "read_csv(bad option)": (lambda: ts.read_csv(io.BytesIO(CSV), delimiter=",,"), ValueError),
    "to_csv(year > 9999)": (lambda: BAD_YEAR.to_csv(io.BytesIO()), ValueError),
    "to_csv(list separator in an item)": (lambda: BAD_LIST.to_csv(io.BytesIO()), ValueError),
    "group_by(missing key)": (lambda: ts.group_by(T, "nope").size(), KeyError),
    "group_by(unknown func)": (lambda: ts.group_by(T, "c").agg(x=("f", "nope")), ValueError),
    "group_by(sum of strings)": (lambda: ts.group_by(T, "c").agg(x=("s", "sum")), TypeError),
    "group_by(bad where)": (lambda: ts.group_by(T, "c", where=WHERE[:-1]).size(), ValueError),
    "from_arrow(no interface)": (lambda: ts.Table.from_arrow(object()), TypeError),
}


@pytest.mark.parametrize("name", list(OK_CASES))
def test_operation_does_not_leak(name):
    assert_no_leak(OK_CASES[name])


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_error_path_does_not_leak(name):
    fn, exc = ERROR_CASES[name]
    assert_no_leak(fn, exc)
