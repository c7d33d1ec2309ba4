"""Lifetime of exported and imported Arrow memory: releases from other threads, leaks."""
from __future__ import annotations

import ctypes
import gc
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import traffickstats as ts

pa = pytest.importorskip("pyarrow")


class ArrowArray(ctypes.Structure):
    """The Arrow C Data Interface struct, as the specification lays it out."""

    _fields_ = [
        ("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
        ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
        ("buffers", ctypes.c_void_p), ("children", ctypes.c_void_p), ("dictionary", ctypes.c_void_p),
        ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p),
    ]


RELEASE = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArray))  # ctypes drops the GIL around the call
_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def move_array_out(capsule) -> ArrowArray:
    """Move the ArrowArray out of its capsule, as a consumer does (capsule left released)."""
    src = ArrowArray.from_address(_get_pointer(capsule, b"arrow_array"))
    moved = ArrowArray()
    ctypes.memmove(ctypes.byref(moved), ctypes.byref(src), ctypes.sizeof(ArrowArray))
    src.release = None
    return moved


def sample_table(n: int = 200) -> ts.Table:
    rng = np.random.default_rng(7)
    ok = rng.random(n) > 0.2
    return ts.Table({
        "b": np.ma.MaskedArray(rng.random(n) > 0.5, mask=~ok),
        "i": np.ma.MaskedArray(rng.integers(0, 9, n).astype(np.int32), mask=~ok),
        "f": rng.normal(size=n),
        "s": [f"s{i}" if k else None for i, k in enumerate(ok)],
        "c": [["x", "y", "z"][i % 3] if k else None for i, k in enumerate(ok)],
        "L": [["p", "q"][: i % 3] if k else None for i, k in enumerate(ok)],
        "d": np.datetime64("2000-01-01") + np.arange(n),
    }, schema={"c": "category", "L": "list<category>"})


def test_release_from_worker_thread_without_gil():
    t = sample_table()
    cols = t.columns
    dicts = [c.dictionary for c in cols if c.dictionary is not None]
    before = [sys.getrefcount(c) for c in cols]
    before_d = [sys.getrefcount(d) for d in dicts]
    schema_cap, array_cap = t.__arrow_c_array__()
    moved = move_array_out(array_cap)
    del schema_cap, array_cap  # the capsules no longer own the array
    assert moved.release and moved.n_children == len(cols)
    assert [sys.getrefcount(c) for c in cols] > before  # exported nodes hold the columns
    errors = []

    def worker():
        try:
            RELEASE(moved.release)(ctypes.byref(moved))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    th = threading.Thread(target=worker)
    th.start()
    th.join(10)
    assert not th.is_alive() and not errors
    assert moved.release is None  # the callback marked the struct released
    gc.collect()
    assert [sys.getrefcount(c) for c in cols] == before
    assert [sys.getrefcount(d) for d in dicts] == before_d


def test_pyarrow_releases_on_another_thread():
    t = sample_table()
    col = t["s"]
    before = sys.getrefcount(col)
    holder = [pa.table(t)]
    assert sys.getrefcount(col) > before
    th = threading.Thread(target=holder.clear)
    th.start()
    th.join(10)
    gc.collect()
    assert sys.getrefcount(col) == before


def test_imported_memory_released_with_last_column():
    arr = pa.array(np.arange(1000, dtype=np.int64))
    before = pa.total_allocated_bytes()
    t = ts.Table.from_arrow(pa.table({"v": arr}))
    del arr
    col = t["v"]
    del t
    assert col.to_pylist()[:3] == [0, 1, 2]  # the column alone keeps the Arrow buffer alive
    del col
    gc.collect()
    assert pa.total_allocated_bytes() <= before


def _traced_growth(fn, rounds: int) -> int:
    for _ in range(200):  # warm caches (interned strings, type objects)
        fn()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(rounds):
            fn()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()


def test_no_leaks_over_10000_round_trips():
    t = sample_table(300)
    refs = [sys.getrefcount(c) for c in t.columns]

    def round_trip():
        back = ts.Table.from_arrow(pa.table(t))
        assert back.num_rows == 300

    growth = _traced_growth(round_trip, 10_000)
    # a leaked column or buffer per round would be >= 10,000 * 300 bytes
    assert growth < 256 * 1024, growth
    assert [sys.getrefcount(c) for c in t.columns] == refs


def test_no_leaks_in_capsules_never_consumed():
    t = sample_table(300)
    refs = [sys.getrefcount(c) for c in t.columns]

    def export_and_drop():
        t.__arrow_c_stream__()
        t.__arrow_c_array__()
        t.__arrow_c_schema__()

    growth = _traced_growth(export_and_drop, 10_000)
    assert growth < 256 * 1024, growth
    assert [sys.getrefcount(c) for c in t.columns] == refs


def test_round_trips_polars_and_duckdb_do_not_leak():
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    t = sample_table(100)
    refs = [sys.getrefcount(c) for c in t.columns]
    con = duckdb.connect()

    def round_trip():
        ts.Table.from_arrow(pl.DataFrame(t))
        ts.Table.from_arrow(con.sql("select * from t"))

    growth = _traced_growth(round_trip, 500)
    assert growth < 512 * 1024, growth
    con.close()
    gc.collect()
    assert [sys.getrefcount(c) for c in t.columns] == refs
