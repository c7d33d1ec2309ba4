"""atheris harness: Table and Column construction from random arrays and masks.

Each input builds one column, either through the C constructor ``_core.make_column``
(random type, random values of a random dtype and memory layout, random validity
mask, offsets and categories, valid or not) or through ``ts.Table`` from random Python
objects with a random schema.  Construction may only succeed or raise a documented
exception.  A column that was built must then be fully usable: every view,
``to_pylist``/``to_numpy``, ``repr``, take/filter/slice with random arguments, and
round trips through pandas and Arrow, with invariants (``equals`` itself, the Arrow
round trip, take of every row) checked.

Run: ``python tests/fuzz/fuzz_table.py [libFuzzer flags] [corpus dirs]`` (see README.md).
"""
from __future__ import annotations

import datetime as dt
import math

import atheris

with atheris.instrument_imports(include=["traffickstats"]):
    import numpy as np

    import traffickstats as ts
    from traffickstats import _core

from _fuzzlib import EXPECTED, TYPES, main

MAX_ROWS = 48
DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64,
          np.float32, np.float64, ">i4", ">f8", "datetime64[D]", "datetime64[s]", object]
NATIVE = {"bool": np.bool_, "int32": np.int32, "int64": np.int64, "float64": np.float64,
          "date": np.int32, "category": np.int32, "string": np.uint8, "list<category>": np.int32}


def rand_text(fdp: atheris.FuzzedDataProvider) -> str:
    return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 6))


def rand_labels(fdp: atheris.FuzzedDataProvider) -> list[str]:
    return [rand_text(fdp) for _ in range(fdp.ConsumeIntInRange(0, 5))]


def rand_object(fdp: atheris.FuzzedDataProvider) -> object:
    k = fdp.ConsumeIntInRange(0, 11)
    if k == 0:
        return None
    if k == 1:
        return math.nan
    if k == 2:
        return fdp.ConsumeBool()
    if k == 3:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 10))
    if k == 4:
        return fdp.ConsumeFloat()
    if k in (5, 6):
        return rand_text(fdp)
    if k == 7:
        return rand_labels(fdp)
    if k == 8:
        return dt.date(1970, 1, 1) + dt.timedelta(days=fdp.ConsumeIntInRange(-40000, 40000))
    if k == 9:
        return np.datetime64(fdp.ConsumeIntInRange(-10**6, 10**6), "D")
    if k == 10:
        return np.int64(fdp.ConsumeInt(8))
    return b"bytes"


def layout(fdp: atheris.FuzzedDataProvider, arr: np.ndarray) -> np.ndarray:
    """The same values contiguous, strided, unaligned or read-only."""
    k = fdp.ConsumeIntInRange(0, 3)
    if k == 1:
        return np.repeat(arr, 2)[::2]
    if k == 2 and arr.dtype != object and arr.dtype.itemsize > 1:
        buf = np.zeros(arr.nbytes + 1, np.uint8)
        buf[1:] = arr.view(np.uint8)
        return np.frombuffer(buf.tobytes(), dtype=arr.dtype, offset=1)
    if k == 3:
        arr = arr.copy()
        arr.flags.writeable = False
    return arr


def rand_array(fdp: atheris.FuzzedDataProvider, n: int, dtype: object) -> np.ndarray:
    d = np.dtype(dtype)
    if d == object:
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = rand_object(fdp)
        return out
    raw = fdp.ConsumeBytes(n * d.itemsize).ljust(n * d.itemsize, b"\0")
    if d.kind == "b":  # bytes other than 0/1 make bools the constructor must refuse
        return layout(fdp, np.frombuffer(raw, np.uint8).copy().view(np.bool_))
    return layout(fdp, np.frombuffer(raw, dtype=d).copy())


def rand_offsets(fdp: atheris.FuzzedDataProvider, n: int, nvals: int) -> np.ndarray:
    if fdp.ConsumeIntInRange(0, 3) == 0:  # garbage
        return rand_array(fdp, n + 1, np.int32)
    cuts = sorted(fdp.ConsumeIntInRange(0, nvals) for _ in range(n + 1))
    return layout(fdp, np.array(cuts, dtype=np.int32))


def rand_mask(fdp: atheris.FuzzedDataProvider, n: int) -> object:
    k = fdp.ConsumeIntInRange(0, 5)
    if k <= 1:
        return None
    if k == 2:
        return rand_array(fdp, n + fdp.ConsumeIntInRange(-1, 1) if n else n, np.bool_)
    if k == 3:
        return rand_array(fdp, n, np.uint8)
    return layout(fdp, np.array([fdp.ConsumeBool() for _ in range(n)], dtype=bool))


def build_core(fdp: atheris.FuzzedDataProvider) -> object:
    type_ = fdp.PickValueInList(list(TYPES))
    n = fdp.ConsumeIntInRange(0, MAX_ROWS)
    right = fdp.ConsumeIntInRange(0, 3) != 0
    dtype = NATIVE[type_] if right else fdp.PickValueInList(DTYPES)
    nvals = n if type_ not in ("string", "list<category>") else fdp.ConsumeIntInRange(0, 4 * MAX_ROWS)
    if type_ == "string" and right and fdp.ConsumeBool():
        values = np.frombuffer("".join(rand_text(fdp) for _ in range(n)).encode("utf-8", "surrogatepass"),
                               np.uint8)
        nvals = len(values)
    else:
        values = rand_array(fdp, nvals, dtype)
        if type_ in ("category", "list<category>") and right and fdp.ConsumeBool():
            values = (values.astype(np.int64) % 7 - 1).astype(np.int32)
    offsets = rand_offsets(fdp, n, nvals) if type_ in ("string", "list<category>") or not fdp.ConsumeIntInRange(0, 9) \
        else None
    dictionary = None
    if type_ in ("category", "list<category>") or not fdp.ConsumeIntInRange(0, 9):
        k = fdp.ConsumeIntInRange(0, 2)
        labels = rand_labels(fdp)
        if k == 0:
            dictionary = labels
        elif k == 1:
            dictionary = labels + labels[:1]  # maybe a duplicate
        else:
            ok, dcol = _try(lambda: _core.from_objects("d", "string", labels))
            dictionary = dcol if ok else labels
    return _core.make_column("c", type_, values, rand_mask(fdp, n), offsets, dictionary)


def build_table(fdp: atheris.FuzzedDataProvider) -> object:
    n = fdp.ConsumeIntInRange(0, MAX_ROWS)
    k = fdp.ConsumeIntInRange(0, 3)
    if k == 0:
        values: object = rand_array(fdp, n, object)
    elif k == 1:
        values = [rand_object(fdp) for _ in range(n)]
    elif k == 2:
        values = np.ma.masked_array(rand_array(fdp, n, fdp.PickValueInList(DTYPES[:-1])),
                                    mask=[fdp.ConsumeBool() for _ in range(n)])
    else:
        values = rand_array(fdp, n, fdp.PickValueInList(DTYPES))
    schema = {"c": fdp.PickValueInList(list(TYPES) + ["list", "nope"])} if fdp.ConsumeBool() else None
    return ts.Table({"c": values}, schema=schema)


def _try(fn):
    try:
        return True, fn()
    except EXPECTED as exc:
        return False, exc


def exercise(fdp: atheris.FuzzedDataProvider, t: object) -> None:
    """Everything here must succeed on a table that was built (or raise as documented)."""
    n = t.num_rows
    assert t.equals(t)
    for col in t.columns:
        col.values, col.valid, col.null_count, col.nbytes, repr(col)
        py = col.to_pylist()
        assert len(py) == n and len(col.to_numpy()) == n
        assert sum(v is None for v in py) == col.null_count
        if col.type == "category":
            codes = col.codes
            assert ((codes == -1) == ~col.valid).all()
            col.categories
        if col.type in ("string", "list<category>"):
            col.offsets
    repr(t), t._repr_html_()
    assert t.take(np.arange(n)).equals(t)
    idx = [fdp.ConsumeIntInRange(-2, n + 1) for _ in range(fdp.ConsumeIntInRange(0, 8))]
    ok, res = _try(lambda: t.take(np.array(idx, dtype=np.int64)))
    assert ok == all(0 <= i < n for i in idx), (idx, n, res)
    mask = np.array([fdp.ConsumeBool() for _ in range(n)], dtype=bool)
    assert t.filter(mask).equals(t.take(np.flatnonzero(mask)))
    a, b = fdp.ConsumeIntInRange(-n - 2, n + 2), fdp.ConsumeIntInRange(-n - 2, n + 2)
    assert t.slice(a, b).equals(t.take(np.arange(n)[a:b]))
    back = ts.Table.from_arrow(t)
    assert back.equals(t), "Arrow round trip changed the table"
    ok, df = _try(t.to_pandas)
    assert ok, df
    _try(lambda: ts.Table.from_pandas(df))


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        ok, col = _try(lambda: build_core(fdp))
        if not ok:
            return
        t = ts.Table({"c": col})
    else:
        ok, t = _try(lambda: build_table(fdp))
        if not ok:
            return
    exercise(fdp, t)


if __name__ == "__main__":
    main(test_one_input)
