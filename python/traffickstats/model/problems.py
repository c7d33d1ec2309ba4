"""The problems found in a dataset, collected as column arrays (:class:`_Problems`).

Reading (:mod:`.coercion`) and checking (:mod:`.checks`) both add to one collector;
:meth:`_Problems.frame` turns it into the DataFrame that :func:`traffickstats.validate`
returns, with the physical line of each problem row in its CSV file.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Mapping

import numpy as np

from .schema import TABLES, _pandas


class _Problems:
    """Collects problems as column arrays (no per-row Python objects).

    A *structural* problem (a required column missing, a file that is not ','
    separated) makes the tables unusable: it is an error even when validation is
    switched off.
    """

    def __init__(self) -> None:
        self.parts: list[dict] = []

    def add(self, table: str, rows: np.ndarray | None, column: str | None, values: Any, problem: str,
            severity: str = "error", *, structural: bool = False, line: int | None = None) -> None:
        rows = np.asarray([-1] if rows is None else rows, dtype=np.int64)
        if rows.size == 0:
            return
        if values is None:
            values = np.full(rows.size, "", dtype=object)
        elif np.isscalar(values) or isinstance(values, str):
            values = np.full(rows.size, str(values), dtype=object)
        self.parts.append({"table": table, "row": rows, "column": column or "", "value": np.asarray(values, dtype=object),
                           "problem": problem, "severity": severity, "structural": structural, "line": line})

    def extend(self, other: "_Problems") -> None:
        self.parts.extend(other.parts)

    def bad(self, table: str, column: str, n: int) -> np.ndarray:
        """Rows of ``table`` whose ``column`` already has an error (one problem, one row)."""
        out = np.zeros(n, dtype=bool)
        for p in self.parts:
            if p["table"] == table and p["column"] == column and p["severity"] == "error":
                rows = p["row"][p["row"] >= 0]
                out[rows[rows < n]] = True
        return out

    def missing(self, table: str, column: str) -> bool:
        """Whether ``column`` of ``table`` is missing or unreadable as a whole (a structural error)."""
        return any(p["structural"] and p["severity"] == "error" and p["table"] == table
                   and p["column"] in (column, "") and p["row"].size == 1 and p["row"][0] < 0 for p in self.parts)

    def structural(self) -> bool:
        return any(p["structural"] and p["severity"] == "error" for p in self.parts)

    def frame(self, files: Mapping[str, str] | None = None) -> Any:
        pd = _pandas()
        files = dict(files or {})
        cols = ["table", "file", "row", "line", "column", "value", "problem", "severity"]
        if not self.parts:
            return pd.DataFrame({c: pd.Series([], dtype=object if c not in ("row", "line") else "Int64")
                                 for c in cols})
        lines_of: dict[str, dict[int, int]] = {}
        for t in TABLES:   # physical lines of the rows with a problem, one pass per CSV file
            path = files.get(t)
            if path and path.endswith(".csv"):
                rows = np.unique(np.concatenate([p["row"] for p in self.parts if p["table"] == t and p["line"] is None]
                                                or [np.zeros(0)]))
                rows = rows[rows >= 0].astype(np.int64)
                lines_of[t] = _row_lines(path, rows) if rows.size else {}
        frames = []
        for p in self.parts:
            n = p["row"].size
            row = pd.array(p["row"], dtype="Int64")
            row[p["row"] < 0] = pd.NA
            path = files.get(p["table"])
            if p["line"] is not None:
                line = pd.array([p["line"]] * n, dtype="Int64")
            elif p["table"] in lines_of:
                m = lines_of[p["table"]]
                line = pd.array([m.get(int(r)) for r in p["row"]], dtype="Int64")  # per problem row
            else:
                line = pd.array([pd.NA] * n, dtype="Int64")
            frames.append(pd.DataFrame({
                "table": p["table"], "file": path or p["table"], "row": row, "line": line,
                "column": p["column"], "value": p["value"], "problem": p["problem"], "severity": p["severity"]}))
        out = pd.concat(frames, ignore_index=True)
        out = out.drop_duplicates(["table", "row", "column", "problem"], ignore_index=True)
        order = {t: i for i, t in enumerate(TABLES)}
        out["_t"] = out["table"].map(order)
        out = out.sort_values(["_t", "row", "column"], kind="stable", na_position="first")
        return out.drop(columns="_t").reset_index(drop=True)


def _row_lines(path: str, rows: np.ndarray) -> dict[int, int]:
    """1-based physical line of each data row (0-based, header excluded) of a CSV file.

    Blank lines are skipped and quoted fields may hold line breaks, as in
    :func:`traffickstats.read_csv`; only the rows asked for are kept.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b'"' not in data and b"\r" not in data and b"\n\n" not in data.rstrip(b"\n") and not data.startswith(b"\n"):
        return {int(r): int(r) + 2 for r in rows}   # one line per row after the header
    wanted = set(rows.tolist())
    out: dict[int, int] = {}
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    one_column = header is not None and len(header) == 1
    row, start = 0, reader.line_num + 1
    for rec in reader:   # only on the problem path, to name lines right
        if rec or one_column:
            if row in wanted:
                out[row] = start
            row += 1
        start = reader.line_num + 1
    return out
