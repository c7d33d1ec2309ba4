"""Arrow interop benchmark: traffickstats <-> pyarrow / polars / DuckDB against pandas.

Run: ``python benchmarks/bench_arrow.py [rows]`` (default 1,000,000).  Prints the median
of several runs per operation and its ratio to the pandas route doing the same job.
Zero-copy export makes handing a Table to pyarrow or polars cost microseconds whatever
the size (only bool columns are re-packed into bits); pandas has to convert.
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

import duckdb
import traffickstats as ts


def median_time(fn, repeat: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_table(n: int) -> ts.Table:
    rng = np.random.default_rng(0)
    platforms = np.array(["facebook", "instagram", "snapchat", "website", "other"], dtype=object)
    lists = [list(platforms[: k]) for k in rng.integers(0, 3, n)]
    return ts.Table({
        "age": np.ma.MaskedArray(rng.integers(5, 60, n).astype(np.int32), mask=rng.random(n) < 0.1),
        "victim_id": np.arange(n, dtype=np.int64),
        "restitution": rng.exponential(1000, n),
        "filing_date": np.datetime64("2010-01-01") + rng.integers(0, 4000, n).astype("timedelta64[D]"),
        "district": platforms[rng.integers(0, 5, n)],
        "minor": rng.random(n) < 0.4,
        "platforms": lists,
    }, schema={"district": "category", "platforms": "list<category>"})


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t = make_table(n)
    numeric = t.select(["age", "victim_id", "restitution", "filing_date", "district"])
    df = t.to_pandas()
    dfn = numeric.to_pandas()
    pt = pa.table(t)
    rows = []

    def add(what, ours, peer, peer_name):
        a, b = median_time(ours), median_time(peer)
        rows.append((what, a, b, peer_name, b / a))

    add("to pyarrow (no bool, no list)", lambda: pa.table(numeric), lambda: pa.Table.from_pandas(dfn, preserve_index=False),
        "pa.Table.from_pandas")
    add("to pyarrow (all 7 columns)", lambda: pa.table(t), lambda: pa.Table.from_pandas(df, preserve_index=False),
        "pa.Table.from_pandas")
    add("to polars (no bool, no list)", lambda: pl.DataFrame(numeric), lambda: pl.from_pandas(dfn), "pl.from_pandas")
    add("from pyarrow (all 7 columns)", lambda: ts.Table.from_arrow(pt), lambda: pt.to_pandas(), "pa.Table.to_pandas")
    q = "select district, count(*) as n, avg(restitution) as r from {} group by district"
    con = duckdb.connect()
    con.register("ours", numeric)
    con.register("theirs", dfn)
    add("DuckDB group-by over the data", lambda: con.sql(q.format("ours")).fetchall(),
        lambda: con.sql(q.format("theirs")).fetchall(), "DuckDB over pandas")
    con.close()

    print(f"rows: {n:,}")
    print(f"{'operation':34} {'traffickstats':>14} {'peer':>12}  {'peer route':22} {'peer/ours':>9}")
    for what, a, b, peer, ratio in rows:
        print(f"{what:34} {a * 1e3:11.3f} ms {b * 1e3:9.3f} ms  {peer:22} {ratio:8.1f}x")


if __name__ == "__main__":
    main()
