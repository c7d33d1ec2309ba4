"""Benchmark: reading a trafficking-shaped CSV with traffickstats and its peers.

Writes a CSV of defendant records (an id, two dates, five low-cardinality text
columns, two numeric columns with nulls and a quoted free-text column holding commas,
quotes and the odd line break) with N rows, then reads it with

* traffickstats.read_csv (types inferred; text becomes category),
* pandas.read_csv (C engine, text columns as category, the date columns parsed),
* pyarrow.csv.read_csv, single-threaded and threaded (text dictionary-encoded),
* polars.read_csv (text columns as Categorical, dates parsed),
* DuckDB's read_csv into a table,

each read in a fresh subprocess, so the peak RSS is the reader's own (the child's
``VmHWM`` from /proc, which ``resource.getrusage`` also reports except that a forked
child may inherit its parent's high-water mark; getrusage is the fallback elsewhere).
Each child runs with OPENBLAS_NUM_THREADS=1: ``import numpy`` otherwise leaves
OpenBLAS threads spinning for about 0.1 s, which on two cores takes a core from
whichever multi-threaded reader starts right after the imports (no reader uses BLAS).
Prints per reader the median wall time, MB/s, peak RSS, the RSS added by the read
(peak minus the RSS after imports) and ratios against traffickstats; for
traffickstats also the final Table's size and the memory target (peak added RSS <=
table + 64 MiB).

Usage::

    python benchmarks/csv_read.py --rows 1000000 10000000 --repeat 3 --dir /tmp

The file is deleted afterwards (unless --keep).  10**7 rows is about 1.2 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


TEXT_COLS = ["case_type", "district", "gender", "outcome", "identified_by"]
DATE_COLS = ["charge_date", "outcome_date"]

CHILD = r"""
import json, os, resource, sys, time
reader, path = sys.argv[1], sys.argv[2]
TEXT = %(text)r
DATES = %(dates)r
def rss_now():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
if reader.startswith("traffickstats"):
    import traffickstats as ts
elif reader == "pandas":
    import pandas as pd
elif reader.startswith("pyarrow"):
    import pyarrow.csv as pc
elif reader == "polars":
    import polars as pl
elif reader == "duckdb":
    import duckdb
base = rss_now()
c0 = time.process_time()
t0 = time.perf_counter()
extra = {}
if reader.startswith("traffickstats"):
    t = ts.read_csv(path, threads=1 if reader.endswith("1thread") else 2)
    extra["table_bytes"] = t.nbytes
    extra["schema"] = t.schema
    n = t.num_rows
elif reader == "pandas":
    df = pd.read_csv(path, engine="c", dtype={c: "category" for c in TEXT + ["summary"]}, parse_dates=DATES)
    n = len(df)
elif reader.startswith("pyarrow"):
    threads = reader == "pyarrow-threads"
    t = pc.read_csv(path, read_options=pc.ReadOptions(use_threads=threads),
                    parse_options=pc.ParseOptions(newlines_in_values=True),
                    convert_options=pc.ConvertOptions(auto_dict_encode=True, auto_dict_max_cardinality=1 << 30))
    n = t.num_rows
elif reader == "polars":
    df = pl.read_csv(path, try_parse_dates=True,
                     schema_overrides={c: pl.Categorical for c in TEXT + ["summary"]})
    n = df.height
elif reader == "duckdb":
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
secs = time.perf_counter() - t0
cpu = time.process_time() - c0
# ru_maxrss of a child can report its parent's high-water mark at fork time; the
# kernel's VmHWM of this process's own address space is exact, so prefer it.
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:
    with open("/proc/self/status") as f:
        peak = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps(dict(seconds=secs, cpu=cpu, rows=n, peak=peak, base=base, **extra)))
"""

READERS = ["traffickstats", "traffickstats-1thread", "pandas", "pyarrow-1thread", "pyarrow-threads", "polars", "duckdb"]


def write_csv(path: str, rows: int, seed: int = 0) -> None:
    """Writes the benchmark file in blocks with pyarrow's CSV writer (quoting as needed)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pc

    rng = np.random.default_rng(seed)
    vocab = {
        "case_type": ["sex", "labor"],
        "district": [f"{d}.D. {s}" for d in "NSEWC" for s in ("Tex.", "Cal.", "N.Y.", "Fla.", "Ga.", "Ill.")],
        "gender": ["female", "male", "other"],
        "outcome": ["pending", "plea", "trial_conviction", "acquitted", "dismissed"],
        "identified_by": ["victim_self_report", "ngo_or_hotline", "family_or_friend", "law_enforcement", "other"],
    }
    words = ["recruited", "online", "via", "Facebook", "the", "victim", "reported", "to", "police", "hotline",
             "\"boyfriend\"", "motel", "debt", "threats", "Instagram", "minor", "agency", "FBI", "HSI", "ad"]
    pool = []
    for i in range(2000):
        k = rng.integers(4, 14)
        s = " ".join(rng.choice(words, size=k))
        if i % 3 == 0:
            s = s.replace(" ", ", ", 1)
        if i % 97 == 0:
            s += "\nsee note"
        pool.append(s)
    pool_arr = np.array(pool, dtype=object)
    block = 200_000
    base_day = np.datetime64("2000-01-01")
    schema = pa.schema(
        [("defendant_id", pa.int64())] + [(c, pa.date32()) for c in DATE_COLS]
        + [(c, pa.string()) for c in TEXT_COLS]
        + [("sentence_months", pa.int64()), ("restitution_amount", pa.float64()), ("summary", pa.string())])
    with pc.CSVWriter(path, schema, write_options=pc.WriteOptions(quoting_style="needed")) as w:
        for start in range(0, rows, block):
            m = min(block, rows - start)
            charge = base_day + rng.integers(0, 8000, m).astype("timedelta64[D]")
            outcome = charge + rng.integers(0, 1500, m).astype("timedelta64[D]")
            outcome_mask = rng.random(m) < 0.2
            sentence = rng.integers(0, 480, m)
            amount = np.round(rng.gamma(2.0, 5000.0, m), 2)
            cols = [pa.array(np.arange(start, start + m, dtype=np.int64) + 100000),
                    pa.array(charge.astype("datetime64[D]"), type=pa.date32()),
                    pa.array(outcome.astype("datetime64[D]"), type=pa.date32(), mask=outcome_mask)]
            for c in TEXT_COLS:
                v = vocab[c]
                cols.append(pa.array(np.array(v, dtype=object)[rng.integers(0, len(v), m)], type=pa.string()))
            cols.append(pa.array(sentence, mask=rng.random(m) < 0.3))
            cols.append(pa.array(amount, mask=rng.random(m) < 0.1))
            cols.append(pa.array(pool_arr[rng.integers(0, len(pool), m)], type=pa.string()))
            w.write_table(pa.Table.from_arrays(cols, schema=schema))


def run(reader: str, path: str) -> dict:
    code = CHILD % {"text": TEXT_COLS, "dates": DATE_COLS}
    # `import numpy` leaves its OpenBLAS worker threads spinning for ~0.1 s; on two
    # cores that takes one from whichever multi-threaded reader starts right after the
    # imports.  No reader here uses BLAS, so every child runs without those threads.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code, reader, path], capture_output=True, text=True,
                         env=env)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--write-only":
        write_csv(sys.argv[2], int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--repeat", type=int, default=3, help="fresh-process reads per reader (median reported)")
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--readers", nargs="+", default=READERS, choices=READERS)
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    args = ap.parse_args()
    MiB = 1 << 20
    for rows in args.rows:
        path = os.path.join(args.dir, f"traffickstats_bench_{rows}.csv")
        t0 = time.perf_counter()
        # written by a child process, so this driver stays small (see CHILD's note)
        subprocess.run([sys.executable, __file__, "--write-only", path, str(rows)], check=True)
        size = os.path.getsize(path)
        print(f"\n== {rows:,} rows, {size / MiB:,.0f} MiB (written in {time.perf_counter() - t0:.1f} s), "
              f"median of {args.repeat} fresh-process reads ==")
        try:
            results = {}
            for reader in args.readers:
                runs = [run(reader, path) for _ in range(args.repeat)]
                ok = [r for r in runs if "error" in r] or runs
                if "error" in ok[0]:
                    results[reader] = ok[0]
                    continue
                secs = statistics.median(r["seconds"] for r in runs)
                results[reader] = dict(runs[0], seconds=secs, cpu=statistics.median(r["cpu"] for r in runs),
                                       peak=max(r["peak"] for r in runs),
                                       added=max(r["peak"] - r["base"] for r in runs))
            ts_r = results.get("traffickstats")
            try:
                load = " (load average %.1f)" % os.getloadavg()[0]
            except OSError:
                load = ""
            print(f"{'reader':<22}{'seconds':>9}{'MB/s':>7}{'CPU s':>7}{'peak RSS MiB':>14}{'added MiB':>11}"
                  f"{'ts speedup':>12}{'ts CPU ratio':>14}{'ts RSS ratio':>14}{load}")
            for reader, r in results.items():
                if "error" in r:
                    print(f"{reader:<22} failed: {r['error']}")
                    continue
                mbps = size / 1e6 / r["seconds"]
                speed = f"{r['seconds'] / ts_r['seconds']:.2f}x" if ts_r and "error" not in ts_r else "-"
                mem = f"{r['added'] / ts_r['added']:.2f}" if ts_r and "error" not in ts_r else "-"
                cpur = f"{r['cpu'] / ts_r['cpu']:.2f}x" if ts_r and "error" not in ts_r else "-"
                print(f"{reader:<22}{r['seconds']:>9.2f}{mbps:>7.0f}{r['cpu']:>7.2f}{r['peak'] / MiB:>14.0f}"
                      f"{r['added'] / MiB:>11.0f}{speed:>12}{cpur:>14}{mem:>14}")
            if ts_r and "error" not in ts_r:
                tb = ts_r["table_bytes"]
                print(f"traffickstats: table {tb / MiB:.0f} MiB; read added {ts_r['added'] / MiB:.0f} MiB of RSS; "
                      f"target table + 64 MiB = {(tb + 64 * MiB) / MiB:.0f} MiB -> "
                      f"{'met' if ts_r['added'] <= tb + 64 * MiB else 'NOT met'}")
                print(f"traffickstats schema: {ts_r['schema']}")
                for peer, goal in (("pandas", 4.0), ("pyarrow-1thread", 1.0)):
                    p = results.get(peer)
                    if p and "error" not in p:
                        ratio = p["seconds"] / ts_r["seconds"]
                        print(f"target: >= {goal:g}x {peer}'s throughput: {ratio:.2f}x -> "
                              f"{'met' if ratio >= goal else 'NOT met'} (CPU-time ratio {p['cpu'] / ts_r['cpu']:.2f}x)")
        finally:
            if not args.keep:
                os.remove(path)


if __name__ == "__main__":
    main()
