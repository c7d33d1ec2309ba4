"""atheris harness: group_by with random keys and aggregations.

Each input builds a random Table (every column type, random nulls, NaNs and extreme
values, up to 64 rows), then groups it by one to three random keys (columns,
``year``/``month`` of the date column, or names that do not exist) with random
``dropna``, ``sort``, ``where`` and ``threads``, and computes random aggregations
(every function, quantiles with random and out-of-range q, output names that clash).
Only a result or a documented exception is acceptable; a result must be consistent:
all columns of equal length, group sizes that add up to the rows counted, and the same
answer with one thread and with two, and through the keyed sums path (taken from
65,536 rows; the harness lowers the threshold) as through the general one.

Run: ``python tests/fuzz/fuzz_groupby.py [libFuzzer flags] [corpus dirs]`` (see README.md).
"""
from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["traffickstats"]):
    import numpy as np

    import traffickstats as ts
    from traffickstats.engine.groupby import plan as _groupby
    from traffickstats.engine.groupby import FUNCS

from _fuzzlib import EXPECTED, main

MAX_ROWS = 64
LABELS = ["sex", "labor", "", "é", "facebook", "x,y"]
COLS = ("b", "i32", "i64", "f", "d", "c", "s", "l")


def rand_table(fdp: atheris.FuzzedDataProvider) -> object:
    n = fdp.ConsumeIntInRange(0, MAX_ROWS)

    def mask() -> np.ndarray:
        p = fdp.ConsumeIntInRange(0, 3)
        return np.array([fdp.ConsumeIntInRange(0, 3) < p for _ in range(n)], dtype=bool)

    def ints(lo: int, hi: int, dtype: object) -> np.ndarray:
        span = fdp.ConsumeIntInRange(0, 3)
        if span == 0:
            return np.array([fdp.ConsumeIntInRange(0, 3) for _ in range(n)], dtype=dtype)
        return np.array([fdp.ConsumeIntInRange(lo, hi) for _ in range(n)], dtype=dtype)

    floats = np.array([fdp.PickValueInList([0.0, -0.0, 1.5, -2.0, np.nan, np.inf, -np.inf, 1e308, 5e-324])
                       if fdp.ConsumeBool() else fdp.ConsumeRegularFloat() for _ in range(n)])
    pick = lambda: fdp.PickValueInList(LABELS)  # noqa: E731
    data = {
        "b": np.ma.masked_array(np.array([fdp.ConsumeBool() for _ in range(n)], bool), mask=mask()),
        "i32": np.ma.masked_array(ints(-2**31, 2**31 - 1, np.int32), mask=mask()),
        "i64": np.ma.masked_array(ints(-2**63, 2**63 - 1, np.int64), mask=mask()),
        "f": np.ma.masked_array(floats, mask=mask()),
        "d": np.ma.masked_array(ints(-800000, 2900000, np.int64).astype("datetime64[D]"), mask=mask()),
        "c": [None if m else pick() for m in mask()],
        "s": [None if m else pick() * fdp.ConsumeIntInRange(0, 2) for m in mask()],
        "l": [None if m else [pick() for _ in range(fdp.ConsumeIntInRange(0, 3))] for m in mask()],
    }
    return ts.Table(data, schema={"c": "category", "s": "string", "l": "list<category>", "d": "date"})


def rand_key(fdp: atheris.FuzzedDataProvider) -> object:
    k = fdp.ConsumeIntInRange(0, 12)
    if k < 8:
        return COLS[k]
    if k == 8:
        return ts.year("d")
    if k == 9:
        return ts.month("d")
    if k == 10:
        return ts.year(fdp.PickValueInList(list(COLS)))
    if k == 11:
        return "nope"
    return fdp.ConsumeIntInRange(0, 3)


def rand_aggs(fdp: atheris.FuzzedDataProvider) -> dict:
    aggs = {}
    for j in range(fdp.ConsumeIntInRange(0, 5)):
        col = fdp.PickValueInList(list(COLS) + ["nope"])
        func = fdp.PickValueInList(list(FUNCS) + ["nope"])
        name = fdp.PickValueInList([f"a{j}", "c", "size"])
        if func == "quantile":
            q = fdp.PickValueInList([0.0, 0.5, 1.0, -0.1, 1.5, float("nan")]) if fdp.ConsumeBool() \
                else [fdp.ConsumeProbability() for _ in range(fdp.ConsumeIntInRange(0, 3))]
            aggs[name] = (col, func, q)
        else:
            aggs[name] = (col, func)
    return aggs


def run(t: object, keys: list, opts: dict, aggs: dict, size: bool):
    gb = ts.group_by(t, keys if len(keys) > 1 else keys[0], **opts)
    res = gb.size("n_rows") if size else gb.agg(**aggs)
    return res.to_dict()


def same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if x.dtype.kind == "f":
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif x.tolist() != y.tolist():
            return False
    return True


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    t = rand_table(fdp)
    n = t.num_rows
    keys = [rand_key(fdp) for _ in range(fdp.ConsumeIntInRange(1, 3))]
    opts = {"dropna": fdp.ConsumeBool(), "sort": fdp.ConsumeBool(), "threads": 1}
    where = None
    if fdp.ConsumeBool():
        where = np.array([fdp.ConsumeBool() for _ in range(n + fdp.ConsumeIntInRange(-1, 1) * fdp.ConsumeBool())],
                         dtype=bool)
        opts["where"] = where
    size = fdp.ConsumeBool()
    aggs = rand_aggs(fdp)
    try:
        res = run(t, keys, opts, aggs, size)
    except EXPECTED:
        return
    lengths = {len(v) for v in res.values()}
    assert len(lengths) <= 1, {k: len(v) for k, v in res.items()}
    if size and not any(k == "l" for k in keys):
        rows = n if where is None else int(where.sum())
        total = int(res["n_rows"].sum()) if len(res["n_rows"]) else 0
        assert total <= rows and (not opts["dropna"] and total == rows or opts["dropna"]), (total, rows)
    # the kernels' worker threads must not change the answer
    again = run(t, keys, dict(opts, threads=2), aggs, size)
    assert same(res, again), "threads=2 changed the result"
    # nor the keyed sums path (one int key read directly, normally from 65,536 rows)
    saved = _groupby._KEYED_ROWS
    _groupby._KEYED_ROWS = 1
    try:
        keyed = run(t, keys, opts, aggs, size)
    finally:
        _groupby._KEYED_ROWS = saved
    assert same(res, keyed), "the keyed sums path changed the result"


if __name__ == "__main__":
    main(test_one_input)
