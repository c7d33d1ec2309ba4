"""Two threads running read_csv, group_by and the row kernels on shared Tables give the
same results as one thread.

The inputs are large enough that every kernel releases the GIL (more than
TS_NOGIL_THRESHOLD = 4096 rows; read_csv reads several chunks and group_by is allowed
its own worker threads), so the two Python threads really run C code at the same time
over the same buffers.  Under scripts/check-sanitizers.sh this also runs with ASan, so a
race that corrupts memory is reported, not just a wrong result.
"""
from __future__ import annotations

import io
import threading
from typing import Any, Callable

import numpy as np
import pytest

import traffickstats as ts

ROWS = 30_000
ROUNDS = 3


def _make_table() -> Any:
    rng = np.random.default_rng(11)
    districts = np.array([f"D{i:02d}" for i in range(40)], dtype=object)
    platforms = ["facebook", "instagram", "snapchat", "website"]
    dist = districts[rng.integers(0, 40, ROWS)]
    dist[rng.random(ROWS) < 0.05] = None
    lists = [None if r < 0.1 else platforms[: int(r * 5) % 5] for r in rng.random(ROWS)]
    victims = np.ma.masked_array(rng.integers(0, 30, ROWS), mask=rng.random(ROWS) < 0.1)
    return ts.Table(
        {
            "district": dist,
            "case_type": rng.choice(np.array(["sex", "labor"], dtype=object), ROWS),
            "victims": victims,
            "sentence": np.where(rng.random(ROWS) < 0.2, np.nan, rng.gamma(2.0, 40.0, ROWS)),
            "filed": np.datetime64("2000-01-01") + rng.integers(0, 8000, ROWS).astype("timedelta64[D]"),
            "minor": rng.random(ROWS) < 0.5,
            "summary": [f"case {i}, \"quoted\"" if i % 3 else "" for i in range(ROWS)],
            "platforms": lists,
        },
        schema={"district": "category", "case_type": "category", "platforms": "list<category>"},
    )


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    table = _make_table()
    path = tmp_path_factory.mktemp("threads") / "cases.csv"
    table.to_csv(str(path))
    return table, str(path)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, ts.Table):
        return isinstance(b, ts.Table) and a.equals(b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind == "f":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b)) if a.dtype.kind != "O" else a.tolist() == b.tolist()
    return a == b


def _csv_bytes(table: Any) -> bytes:
    buf = io.BytesIO()
    table.to_csv(buf)
    return buf.getvalue()


def _jobs(table: Any, path: str) -> dict[str, Callable[[], Any]]:
    rng = np.random.default_rng(5)
    idx = rng.integers(0, ROWS, ROWS)
    mask = rng.random(ROWS) < 0.3
    return {
        "read_csv": lambda: ts.read_csv(path, schema={"platforms": "list<category>"}, chunk_size=1 << 16),
        "read_csv threads=2": lambda: ts.read_csv(path, schema={"platforms": "list<category>"},
                                                  chunk_size=1 << 16, threads=2),
        "group_by agg": lambda: ts.group_by(table, ["district", "case_type"]).agg(
            n=("victims", "count"), s=("victims", "sum"), mean=("sentence", "mean"),
            med=("sentence", "median"), sd=("sentence", "std"), any_minor=("minor", "any")).to_dict(),
        "group_by year x list": lambda: ts.group_by(table, [ts.year("filed"), "platforms"]).size().to_dict(),
        "group_by threads=2": lambda: ts.group_by(table, "district", threads=2).agg(
            s=("sentence", "sum"), q=("victims", "quantile", 0.9)).to_dict(),
        "to_csv": lambda: _csv_bytes(table),
        "take": lambda: table.take(idx),
        "filter": lambda: table.filter(mask),
        "filter by column": lambda: table.filter(table["minor"]),
        "slice+take": lambda: table.slice(1000, 20000).take(idx[idx < 19000]),
    }


def test_two_threads_match_one_thread(shared):
    table, path = shared
    jobs = _jobs(table, path)
    expected = {name: fn() for name, fn in jobs.items()}
    # the reading job must agree with the table it was written from
    assert expected["read_csv"].num_rows == ROWS
    assert _same(expected["read_csv"], expected["read_csv threads=2"])

    names = list(jobs)
    failures: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker(order: list[str]) -> None:
        try:
            barrier.wait()
            for _ in range(ROUNDS):
                for name in order:
                    got = jobs[name]()
                    if not _same(got, expected[name]):
                        failures.append(name)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(names,)),
               threading.Thread(target=worker, args=(names[::-1],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert not failures, f"results differ from one thread's: {sorted(set(failures))}"


def test_shared_table_survives_concurrent_readers(shared):
    # Column views taken in one thread stay valid while the other thread builds and
    # drops derived tables sharing the same buffers.
    table, _ = shared
    views = [c.values for c in table.columns]
    copies = [v.copy() for v in views]
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            t = table.slice(7, ROWS - 7).filter(table["minor"].values[7:ROWS - 7])
            del t

    th = threading.Thread(target=churn)
    th.start()
    try:
        for _ in range(20):
            for v, c in zip(views, copies):
                assert np.array_equal(v, c, equal_nan=v.dtype.kind == "f")
    finally:
        stop.set()
        th.join()
