"""Group-by benchmark: traffickstats against pandas, polars, DuckDB and numpy.bincount.

db-benchmark style questions on N rows (default 10^7), data built once, every engine
timed in this one process: a warm-up, then --runs timed runs; the table shows median
seconds and each peer's time divided by traffickstats' (> 1 means traffickstats is
faster).

    python benchmarks/groupby.py            # 10^7 rows, 5 runs
    python benchmarks/groupby.py --rows 1e6 --runs 3

Questions
---------
q1  sum(v1) by id1                       category key, 100 groups
q2  sum(v1) by id1, id2                  two category keys, 10,000 groups
q3  sum(v1), mean(v3) by id3             int key, 10^6 distinct values
q4  mean(v1), mean(v2), mean(v3) by id4  int key, 100 groups
q5  median(v3), std(v3) by id1, id2      10,000 groups
q6  victims by year(date) x platform     list<category> key, exploded

Peers: pandas with categorical keys and observed=True; polars with Enum keys; DuckDB
on a native table built before timing (text keys as ENUM, as db-benchmark does);
numpy.bincount where one pass of it answers the question.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from typing import Any, Callable

import numpy as np

PLATFORMS = ["facebook", "instagram", "snapchat", "wechat", "tiktok", "whatsapp",
             "dating_app", "website", "other"]


def build(n: int, seed: int = 42) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    k = 100
    data = {
        "id1": rng.integers(0, k, n, dtype=np.int32),          # category codes
        "id2": rng.integers(0, k, n, dtype=np.int32),
        "id3": rng.integers(0, 10**6, n, dtype=np.int64),      # 10^6 distinct ints
        "id4": rng.integers(1, k + 1, n, dtype=np.int64),      # 100 distinct ints
        "v1": rng.integers(1, 6, n).astype(np.float64),
        "v2": rng.integers(1, 16, n).astype(np.float64),
        "v3": np.round(rng.random(n) * 100, 6),
        "date": rng.integers(np.datetime64("2000-01-01").astype(int),
                             np.datetime64("2024-12-31").astype(int), n).astype(np.int32),
    }
    # platforms: 0 to 3 per victim (0 = recruited offline or unknown)
    lens = rng.choice(4, n, p=[0.55, 0.3, 0.1, 0.05]).astype(np.int32)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lens, out=offsets[1:])
    data["plat_offsets"] = offsets
    data["plat_items"] = rng.integers(0, len(PLATFORMS), int(offsets[-1]), dtype=np.int32)
    data["labels1"] = [f"id{i:03d}" for i in range(k)]
    data["labels2"] = [f"id{i:03d}" for i in range(k)]
    return data


def timeit(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    out = fn()  # warm-up
    times = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


# --------------------------------------------------------------------------- engines


def setup_ts(d: dict[str, Any]):
    import traffickstats as ts
    from traffickstats import _core

    cols = {
        "id1": _core.make_column("id1", "category", d["id1"], dictionary=d["labels1"]),
        "id2": _core.make_column("id2", "category", d["id2"], dictionary=d["labels2"]),
        "id3": _core.make_column("id3", "int64", d["id3"]),
        "id4": _core.make_column("id4", "int64", d["id4"]),
        "v1": _core.make_column("v1", "float64", d["v1"]),
        "v2": _core.make_column("v2", "float64", d["v2"]),
        "v3": _core.make_column("v3", "float64", d["v3"]),
        "date": _core.make_column("date", "date", d["date"]),
        "platforms": _core.make_column("platforms", "list<category>", d["plat_items"],
                                       offsets=d["plat_offsets"], dictionary=PLATFORMS),
    }
    t = ts.Table(cols)
    return {
        "q1": lambda: t.group_by("id1").agg(v1=("v1", "sum")),
        "q2": lambda: t.group_by(["id1", "id2"]).agg(v1=("v1", "sum")),
        "q3": lambda: t.group_by("id3").agg(v1=("v1", "sum"), v3=("v3", "mean")),
        "q4": lambda: t.group_by("id4").agg(v1=("v1", "mean"), v2=("v2", "mean"), v3=("v3", "mean")),
        "q5": lambda: t.group_by(["id1", "id2"]).agg(median_v3=("v3", "median"), sd_v3=("v3", "std")),
        "q6": lambda: t.group_by([ts.year("date"), "platforms"]).size("victims"),
    }


def setup_pandas(d: dict[str, Any]):
    import pandas as pd
    import pyarrow as pa

    df = pd.DataFrame({
        "id1": pd.Categorical.from_codes(d["id1"], categories=d["labels1"]),
        "id2": pd.Categorical.from_codes(d["id2"], categories=d["labels2"]),
        "id3": d["id3"], "id4": d["id4"], "v1": d["v1"], "v2": d["v2"], "v3": d["v3"],
        "date": d["date"].astype("datetime64[D]").astype("datetime64[s]"),
    })
    plat = pa.ListArray.from_arrays(
        pa.array(d["plat_offsets"]),
        pa.DictionaryArray.from_arrays(pa.array(d["plat_items"]), pa.array(PLATFORMS)))
    vict = pd.DataFrame({"date": df["date"], "platforms": pd.Series(plat, dtype=pd.ArrowDtype(plat.type))})

    def q6():
        e = vict.explode("platforms")
        return e.groupby([e["date"].dt.year, e["platforms"]], observed=True).size()

    return {
        "q1": lambda: df.groupby("id1", observed=True)["v1"].sum(),
        "q2": lambda: df.groupby(["id1", "id2"], observed=True)["v1"].sum(),
        "q3": lambda: df.groupby("id3").agg(v1=("v1", "sum"), v3=("v3", "mean")),
        "q4": lambda: df.groupby("id4")[["v1", "v2", "v3"]].mean(),
        "q5": lambda: df.groupby(["id1", "id2"], observed=True)["v3"].agg(["median", "std"]),
        "q6": q6,
    }


def setup_polars(d: dict[str, Any]):
    import polars as pl
    import pyarrow as pa

    enum1, enum2 = pl.Enum(d["labels1"]), pl.Enum(d["labels2"])

    def dict_series(codes: np.ndarray, labels: list[str], enum: Any) -> Any:
        arr = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(labels))
        return pl.from_arrow(arr).cast(pl.String).cast(enum)

    df = pl.DataFrame({
        "id1": dict_series(d["id1"], d["labels1"], enum1),
        "id2": dict_series(d["id2"], d["labels2"], enum2),
        "id3": d["id3"], "id4": d["id4"], "v1": d["v1"], "v2": d["v2"], "v3": d["v3"],
        "date": pl.Series(d["date"]).cast(pl.Date),
    })
    plat = pa.ListArray.from_arrays(
        pa.array(d["plat_offsets"]),
        pa.DictionaryArray.from_arrays(pa.array(d["plat_items"]), pa.array(PLATFORMS)))
    vict = pl.DataFrame({"date": df["date"],
                         "platforms": pl.from_arrow(plat).cast(pl.List(pl.String))
                         .cast(pl.List(pl.Enum(PLATFORMS)))})
    return {
        "q1": lambda: df.group_by("id1").agg(pl.col("v1").sum()),
        "q2": lambda: df.group_by("id1", "id2").agg(pl.col("v1").sum()),
        "q3": lambda: df.group_by("id3").agg(pl.col("v1").sum(), pl.col("v3").mean()),
        "q4": lambda: df.group_by("id4").agg(pl.col("v1").mean(), pl.col("v2").mean(), pl.col("v3").mean()),
        "q5": lambda: df.group_by("id1", "id2").agg(pl.col("v3").median().alias("median_v3"),
                                                    pl.col("v3").std().alias("sd_v3")),
        "q6": lambda: (vict.explode("platforms").drop_nulls("platforms")
                       .group_by(pl.col("date").dt.year(), "platforms").len()),
    }


def setup_duckdb(d: dict[str, Any]):
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count() or 1}")
    labels = ", ".join(f"'{s}'" for s in d["labels1"])
    plats = ", ".join(f"'{s}'" for s in PLATFORMS)
    con.execute(f"CREATE TYPE k100 AS ENUM ({labels})")
    con.execute(f"CREATE TYPE platform AS ENUM ({plats})")
    src = pa.table({
        "id1": pa.DictionaryArray.from_arrays(pa.array(d["id1"]), pa.array(d["labels1"])),
        "id2": pa.DictionaryArray.from_arrays(pa.array(d["id2"]), pa.array(d["labels2"])),
        "id3": d["id3"], "id4": d["id4"], "v1": d["v1"], "v2": d["v2"], "v3": d["v3"],
        "date": pa.array(d["date"]).cast(pa.date32()),
        "platforms": pa.ListArray.from_arrays(
            pa.array(d["plat_offsets"]),
            pa.DictionaryArray.from_arrays(pa.array(d["plat_items"]), pa.array(PLATFORMS))),
    })
    con.register("src", src)
    con.execute("""CREATE TABLE x AS SELECT id1::VARCHAR::k100 AS id1, id2::VARCHAR::k100 AS id2,
                   id3, id4, v1, v2, v3, date, platforms::VARCHAR[]::platform[] AS platforms FROM src""")
    con.unregister("src")

    def q(sql: str) -> Callable[[], Any]:
        return lambda: con.execute(sql).fetchnumpy()

    return {
        "q1": q("SELECT id1, sum(v1) AS v1 FROM x GROUP BY id1"),
        "q2": q("SELECT id1, id2, sum(v1) AS v1 FROM x GROUP BY id1, id2"),
        "q3": q("SELECT id3, sum(v1) AS v1, avg(v3) AS v3 FROM x GROUP BY id3"),
        "q4": q("SELECT id4, avg(v1) AS v1, avg(v2) AS v2, avg(v3) AS v3 FROM x GROUP BY id4"),
        "q5": q("SELECT id1, id2, median(v3) AS median_v3, stddev(v3) AS sd_v3 FROM x GROUP BY id1, id2"),
        "q6": q("SELECT year(date) AS y, p, count(*) AS n FROM "
                "(SELECT date, unnest(platforms) AS p FROM x) GROUP BY y, p"),
    }


def setup_numpy(d: dict[str, Any]):
    id1, id2, v1 = d["id1"], d["id2"], d["v1"]

    def q4():
        c = np.bincount(d["id4"])
        return [np.bincount(d["id4"], weights=d[v]) / c for v in ("v1", "v2", "v3")]

    def q6():
        lens = np.diff(d["plat_offsets"])
        days = d["date"].astype("datetime64[D]")
        yr = days.astype("datetime64[Y]").astype(np.int64)
        return np.bincount(np.repeat(yr, lens) * len(PLATFORMS) + d["plat_items"])

    return {
        "q1": lambda: np.bincount(id1, weights=v1, minlength=100),
        "q2": lambda: np.bincount(id1.astype(np.int64) * 100 + id2, weights=v1, minlength=10000),
        "q3": lambda: (np.bincount(d["id3"], weights=v1), np.bincount(d["id3"], weights=d["v3"])
                       / np.bincount(d["id3"])),
        "q4": q4,
        "q6": q6,
    }


def check(ts_out: Any, pd_out: Any, q: str) -> None:
    """Light cross-check of traffickstats against pandas (values, not timing)."""
    if q == "q1":
        np.testing.assert_allclose(ts_out["v1"], pd_out.to_numpy(), rtol=1e-12)
    elif q == "q2":
        np.testing.assert_allclose(ts_out["v1"], pd_out.to_numpy(), rtol=1e-12)
    elif q == "q3":
        np.testing.assert_allclose(ts_out["v3"], pd_out["v3"].to_numpy(), rtol=1e-9)
    elif q == "q4":
        np.testing.assert_allclose(ts_out["v3"], pd_out["v3"].to_numpy(), rtol=1e-9)
    elif q == "q5":
        np.testing.assert_allclose(ts_out["median_v3"], pd_out["median"].to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(ts_out["sd_v3"], pd_out["std"].to_numpy(), rtol=1e-9)
    elif q == "q6":
        ours = dict(zip(zip(ts_out["year"].tolist(), ts_out["platforms"].tolist()),
                        ts_out["victims"].tolist()))
        theirs = {(int(y), str(p)): int(v) for (y, p), v in pd_out.items()}
        assert ours == theirs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=float, default=1e7, help="rows (default 1e7)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per engine (default 5)")
    ap.add_argument("--questions", default="q1,q2,q3,q4,q5,q6")
    ap.add_argument("--engines", default="traffickstats,pandas,polars,duckdb,numpy")
    args = ap.parse_args()
    n = int(args.rows)
    qs = args.questions.split(",")
    engines = args.engines.split(",")
    t0 = time.perf_counter()
    d = build(n)
    setups = {"traffickstats": setup_ts, "pandas": setup_pandas, "polars": setup_polars,
              "duckdb": setup_duckdb, "numpy": setup_numpy}
    fns = {e: setups[e](d) for e in engines}
    print(f"groupby benchmark: {n:,} rows, {args.runs} timed runs after a warm-up, "
          f"{os.cpu_count()} cores; built in {time.perf_counter() - t0:.1f} s")
    times: dict[str, dict[str, float]] = {q: {} for q in qs}
    outs: dict[str, dict[str, Any]] = {q: {} for q in qs}
    for q in qs:
        for e in engines:
            if q in fns[e]:
                times[q][e], outs[q][e] = timeit(fns[e][q], args.runs)
        if "traffickstats" in outs[q] and "pandas" in outs[q]:
            check(outs[q]["traffickstats"], outs[q]["pandas"], q)
    peers = [e for e in engines if e != "traffickstats"]
    head = f"{'q':<4}{'traffickstats':>14}" + "".join(f"{e:>10}" for e in peers) + "   " + \
        "".join(f"{e + '/ts':>12}" for e in peers)
    print(head)
    for q in qs:
        t = times[q]
        base = t.get("traffickstats")
        row = f"{q:<4}{base if base is not None else float('nan'):>14.4f}"
        row += "".join(f"{t[e]:>10.4f}" if e in t else f"{'-':>10}" for e in peers)
        row += "   " + "".join(f"{t[e] / base:>12.1f}x" if e in t and base else f"{'-':>13}" for e in peers)
        print(row)
    if "q1" in qs and "traffickstats" in times["q1"]:
        s, _ = timeit(lambda: d["v1"].sum(), args.runs)
        print(f"q1 vs values.sum() over the same column: {times['q1']['traffickstats'] / s:.2f}x "
              f"its time ({s:.4f} s)")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
