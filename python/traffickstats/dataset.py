"""The trafficking data model: :class:`Dataset`, :func:`read_dataset`, :func:`validate`.

A dataset is three tables linked by ``case_id`` (DESIGN section 5):

* ``cases``: one row per case;
* ``defendants``: one row per defendant, ``case_id`` naming the case;
* ``victims``: one row per identified victim, ``case_id`` naming the case.

The column names, types and allowed values are published as a machine-readable
Table Schema (Frictionless Data Package) returned by :func:`schema`, so that the
same files can be checked with other tools.

Everything here works on whole columns (NumPy arrays over the C core's buffers):
nothing loops over rows in Python.  Category-like values are parsed once per
distinct value, through the column's dictionary.

This layer needs pandas (validation problems and results are pandas DataFrames).
"""
from __future__ import annotations

import csv
import datetime as _dt
import difflib
import io
import json
import os
import re
import warnings
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, cast

import numpy as np

from . import _core
from .errors import DatasetError, DatasetWarning
from .table import Column, Table, as_column

if TYPE_CHECKING:  # pragma: no cover
    from .stats._metrics import _Prep

__all__ = ["Dataset", "read_dataset", "validate", "schema", "DatasetError", "DatasetWarning", "TABLES"]

#: The three tables of a dataset, in order.
TABLES = ("cases", "defendants", "victims")
_ID = {"cases": "case_id", "defendants": "defendant_id", "victims": "victim_id"}
_EPOCH = np.datetime64(_core.EPOCH, "D")


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a test/runtime extra
        raise ImportError("the traffickstats data model needs pandas: pip install 'traffickstats[pandas]'") from None
    return pd


# --------------------------------------------------------------------------- schema


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return resources.files("traffickstats").joinpath("data/schema.json").read_text(encoding="utf-8")


def schema(table: str | None = None) -> dict:
    """The data model as a Table Schema (Frictionless Data Package) dict.

    Parameters
    ----------
    table : {"cases", "defendants", "victims"}, optional
        Return only that table's Table Schema.

    Returns
    -------
    dict
        A fresh copy (safe to modify).  Each field has the standard ``name``,
        ``type``, ``description`` and ``constraints`` (``enum`` for categories),
        plus ``ts:type`` (the traffickstats column type) and, for lists,
        ``ts:items`` (allowed item values).  List fields use Table Schema v2's
        ``"type": "list"`` with ``"delimiter": ";"``.
    """
    pkg = json.loads(_schema_text())
    if table is None:
        return pkg
    for res in pkg["resources"]:
        if res["name"] == table:
            return res["schema"]
    raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")


def _fields(table: str) -> list[dict]:
    return json.loads(_schema_text())["resources"][TABLES.index(table)]["schema"]["fields"]


def _allowed(field: dict) -> list[str] | None:
    if field["ts:type"] == "list<category>":
        return field.get("ts:items")
    return field.get("constraints", {}).get("enum")


def _required(field: dict) -> bool:
    return bool(field.get("constraints", {}).get("required"))


# --------------------------------------------------------------------------- problems


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


# --------------------------------------------------------------------------- coercion

# Words people write for "unknown"; in traffickstats an empty field means unknown.
_NA_WORDS = {"na", "n/a", "nan", "null", "none", "unknown", "-", "?", "-99", "-9", "-999", "99", "999", ".", "missing"}


def _null_column(name: str, type_: str, n: int) -> Column:
    valid = np.zeros(n, dtype=bool)
    if type_ in ("category", "list<category>", "string"):
        return as_column(name, np.full(n, None, dtype=object), type_)
    dtype = {"bool": bool, "date": np.int32, "int64": np.int64, "int32": np.int32, "float64": np.float64}[type_]
    return as_column(name, np.ma.MaskedArray(np.zeros(n, dtype=dtype), mask=~valid), type_)


def _unique_labels(labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct labels, position of each label among them)."""
    if not labels:
        return np.zeros(0, dtype=str), np.zeros(0, dtype=np.int64)
    uniq, inv = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    return uniq, inv.reshape(-1)


def _category(name: str, codes: np.ndarray, labels: list[str], merge: bool = True) -> Column:
    """A category column from codes (-1 = null) and labels.

    ``merge``: some labels may be equal (1 and "1" as text, "sex" and " sex" once
    stripped): they become one category."""
    codes = np.asarray(codes)
    if merge and len(set(labels)) != len(labels):
        uniq, inv = _unique_labels(labels)
        codes = np.where(codes >= 0, np.append(inv, -1)[np.where(codes >= 0, codes, len(labels))], -1)
        labels = uniq.tolist()
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    valid = codes >= 0
    # (C builds columns of the registered table.Column class)
    return cast(Column, _core.make_column(name, "category", codes, None if valid.all() else valid, None, labels))


def _label(v: Any) -> str:
    """The text of one distinct value (ints without '.0', dates as YYYY-MM-DD)."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and v == int(v):
        return str(int(v))
    if hasattr(v, "year") and hasattr(v, "month") and hasattr(v, "day"):
        if not hasattr(v, "hour") or (v.hour, v.minute, v.second, getattr(v, "microsecond", 0)) == (0, 0, 0, 0):
            return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
    return str(v)


def _labels_of(uniques: Any) -> tuple[list[str], bool]:
    """Distinct values as text (see :func:`_label`), and whether two of them may have
    the same text (then they must be merged)."""
    arr = np.asarray(uniques)
    if arr.dtype.kind in "iu":
        return arr.astype(str).tolist(), False
    if arr.dtype.kind == "M":   # .tolist() of datetime64[ns] gives ints: go through microseconds
        arr = arr.astype("datetime64[us]")
    elif arr.dtype == object and _pandas().api.types.infer_dtype(arr, skipna=False) == "string":
        return arr.tolist(), False    # text already (ids, codes): nothing to do per value
    return [_label(v) for v in arr.tolist()], True  # per distinct value


def _text_codes(s: Any) -> tuple[np.ndarray, list[str], bool]:
    """(codes, labels, may hold equal labels) of any pandas Series' values as text."""
    pd = _pandas()
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, uniques = np.asarray(s.cat.codes), s.cat.categories.to_numpy(dtype=object)
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    labels, merge = _labels_of(uniques)
    return codes, labels, merge


def _clean_codes(table: str, name: str, codes: np.ndarray, labels: list[str],
                 problems: _Problems) -> tuple[np.ndarray, list[str], bool]:
    """Strip the whitespace around values; an empty or blank value is unknown.

    Works on the dictionary (once per distinct value) and remaps the codes.
    Returns ``(codes, labels, changed)``; unchanged input comes back as it is."""
    stripped = [x.strip() for x in labels]
    if stripped == labels and "" not in labels:
        return codes, labels, False
    codes = np.asarray(codes)
    spaced = np.array([a != b for a, b in zip(labels, stripped)], dtype=bool)
    rows = np.flatnonzero((codes >= 0) & spaced[np.where(codes >= 0, codes, 0)])
    if rows.size:
        shown = np.asarray(labels, dtype=object)[codes[rows]]
        problems.add(table, rows, name, shown, "whitespace around the value removed", severity="warning")
    empty = np.array([x == "" for x in stripped] + [True], dtype=bool)
    codes = np.where(empty[np.where(codes >= 0, codes, len(labels))], -1, codes)
    return codes, stripped, True


def _text_category(table: str, name: str, s: Any, problems: _Problems) -> Column:
    """Any pandas Series as a cleaned category column of its values' text (pandas' factorize)."""
    codes, labels, merge = _text_codes(s)
    codes, labels, changed = _clean_codes(table, name, codes, labels, problems)
    return _category(name, codes, labels, merge=merge or changed)


def _clean_category(table: str, name: str, col: Column, problems: _Problems) -> Column:
    """A category column cleaned as :func:`_clean_codes` says; the same column when clean."""
    codes, labels, changed = _clean_codes(table, name, col.codes, col.categories.tolist(), problems)
    return _category(name, codes, labels) if changed else col


def _list_column(table: str, name: str, s: Any, problems: _Problems) -> Column:
    """A list<category> column from a Series of lists (or ';'-joined text; None = unknown)."""
    pd = _pandas()
    arr = np.array(s.to_numpy(dtype=object), dtype=object)   # a copy: text rows become lists below
    kind = pd.Series(arr, dtype=object).map(type).to_numpy()   # the one pass over the rows in Python
    isstr = kind == str
    valid = ~pd.isna(arr) if arr.size else np.zeros(0, dtype=bool)
    blank = np.zeros(len(arr), dtype=bool)
    if isstr.any():   # ';'-joined text; a blank text is an empty list, as an empty field in a CSV file
        texts = pd.Series(arr[isstr], dtype=object)
        blank[isstr] = (texts.str.strip() == "").to_numpy(dtype=bool)
        arr[isstr] = texts.str.split(";").to_numpy(dtype=object)
    bad = valid & ~isstr & ~pd.Series(kind, dtype=object).isin([list, tuple, np.ndarray]).to_numpy(dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad)
        problems.add(table, rows, name, np.array([repr(v) for v in arr[rows]], dtype=object),  # per bad row
                     "not a list or ';'-joined text (read as unknown)")
        arr[bad] = None
        valid &= ~bad
    exploded = pd.Series(arr, dtype=object).explode()
    rows = exploded.index.to_numpy()
    vals = exploded.to_numpy(dtype=object)
    keep = pd.notna(vals) & ~blank[rows] if len(rows) else np.zeros(0, dtype=bool)
    codes, uniques = pd.factorize(pd.Series(vals[keep], dtype=object), use_na_sentinel=True)
    lengths = np.bincount(rows[keep], minlength=len(arr)) if len(arr) else np.zeros(0, dtype=np.int64)
    offsets = np.zeros(len(arr) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    uniq, inv = _unique_labels(_labels_of(np.asarray(uniques, dtype=object))[0])
    codes = inv[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    # (C builds columns of the registered table.Column class)
    return cast(Column, _core.make_column(name, "list<category>", np.ascontiguousarray(codes, dtype=np.int32),
                                          None if valid.all() else valid, offsets, [str(x) for x in uniq]))


def _clean_list(table: str, name: str, col: Column, problems: _Problems) -> Column:
    """Items stripped of whitespace, empty items dropped, each item once per row.

    A victim recruited on ``facebook;facebook`` was recruited on one platform: the
    statistics count a row once per *distinct* item.  Each change is a warning."""
    off = np.asarray(col.offsets).astype(np.int64)
    items = np.asarray(col.values)[off[0]:off[-1]].astype(np.int64)
    off = off - off[0]
    n = len(col)
    labels = [str(x) for x in col.categories]
    stripped = [x.strip() for x in labels]
    uniq, inv = _unique_labels(stripped)
    spaced = np.array([a != b for a, b in zip(labels, stripped)], dtype=bool)
    new = inv[items] if items.size else np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(off))
    empty = (uniq == "")[new] if items.size else np.zeros(0, dtype=bool)
    key = rows * max(len(uniq), 1) + new
    first = np.zeros(items.size, dtype=bool)
    if items.size:
        first[np.unique(key, return_index=True)[1]] = True
    keep = first & ~empty
    if keep.all() and not spaced.any():
        return col
    shown = np.asarray(labels, dtype=object)
    hit = spaced[items] & ~empty if items.size else np.zeros(0, dtype=bool)
    problems.add(table, rows[hit], name, shown[items[hit]], "whitespace around the item removed", severity="warning")
    if empty.any():
        r = np.unique(rows[empty])
        problems.add(table, r, name, "", "empty item in the list dropped (';;' or a ';' at an end)", severity="warning")
    dup = ~first & ~empty
    if dup.any():
        problems.add(table, rows[dup], name, uniq[new[dup]].astype(object),
                     "item listed twice in the row (counted once)", severity="warning")
    # drop the empty label from the dictionary
    keep_label = uniq != ""
    remap = np.cumsum(keep_label) - 1
    codes = remap[new[keep]].astype(np.int32)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=offsets[1:])
    valid = np.asarray(col.valid)
    # (C builds columns of the registered table.Column class)
    return cast(Column, _core.make_column(name, "list<category>", codes, None if valid.all() else valid, offsets,
                                          [str(x) for x in uniq[keep_label]]))


_INT = re.compile(r"[+-]?\d+(\.0*)?")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_dictionary(type_: str, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Parse each distinct text value once, strictly: returns (values, ok)."""
    n = len(labels)
    ok = np.zeros(n, dtype=bool)
    if type_ == "date":
        out = np.zeros(n, dtype=np.int64)
        strict = np.array([_DATE.fullmatch(s) is not None for s in labels], dtype=bool)  # per distinct value
        try:   # all at once; an impossible day (2020-02-30) among them sends it one by one
            days = np.array(np.where(strict, np.asarray(labels, dtype=object), "NaT"), dtype="datetime64[D]")
            ok = ~np.isnat(days)
            out[ok] = (days[ok] - _EPOCH).astype(np.int64)
        except ValueError:
            for j in np.flatnonzero(strict).tolist():   # per distinct value, only when some day does not exist
                try:
                    out[j] = int((np.datetime64(labels[j], "D") - _EPOCH).astype(np.int64))
                    ok[j] = True
                except ValueError:
                    pass
        return out, ok
    if type_ == "bool":
        arr = np.array(labels, dtype=object)
        return (arr == "true").astype(bool), np.isin(arr, ["true", "false"])
    if type_ in ("int64", "int32"):
        ints = np.zeros(n, dtype=np.int64)
        for i, s in enumerate(labels):  # per distinct value
            if _INT.fullmatch(s):
                v = int(s.split(".")[0])
                if -(2**63) <= v < 2**63:
                    ints[i], ok[i] = v, True
        return ints, ok
    num = np.zeros(n, dtype=np.float64)
    for i, s in enumerate(labels):  # per distinct value
        if _FLOAT.fullmatch(s):
            num[i], ok[i] = float(s), True
    return num, ok & np.isfinite(num)


def _parse_hint(type_: str, label: str) -> str:
    """Why a value did not parse, in words (appended to the problem in parentheses)."""
    low = label.strip().lower()
    if low in _NA_WORDS:
        return "an empty field means unknown"
    if type_ == "date":
        if re.fullmatch(r"\d{1,2}[/.]\d{1,2}[/.]\d{2,4}", label):
            return "write dates as YYYY-MM-DD"
        if re.fullmatch(r"\d{4}(\.0*)?", label):
            return "a year alone is not a date"
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T].*", label):
            return "a time of day is not allowed"
        if _DATE.fullmatch(label):
            return "no such day"
        return "write dates as YYYY-MM-DD"
    if type_ == "bool":
        if low in ("true", "false", "yes", "no", "y", "n", "t", "f", "1", "0"):
            return "booleans are written true or false, in lower case"
        return "booleans are written true or false"
    if "," in label:
        return "',' is neither a decimal mark nor a thousands separator here: write 1234.5"
    if type_ in ("int64", "int32") and _FLOAT.fullmatch(label):
        return "expected a whole number"
    return ""


_WHAT = {"date": "not a YYYY-MM-DD date", "bool": "not true/false", "int64": "not a whole number",
         "float64": "not a number"}


def _typed_from_codes(name: str, type_: str, codes: np.ndarray, labels: list[str], table: str,
                      problems: _Problems) -> Column:
    lut, ok = _parse_dictionary(type_, labels)
    if labels and not ok.all():
        bad_rows = np.flatnonzero((codes >= 0) & ~ok[np.where(codes >= 0, codes, 0)])
        shown = np.asarray(labels, dtype=object)[codes[bad_rows]]
        hints = np.array([_parse_hint(type_, lab) if not good else "" for lab, good in zip(labels, ok)],
                         dtype=object)  # per distinct value
        row_hints = hints[codes[bad_rows]]
        for h in sorted(set(row_hints.tolist())):
            sel = row_hints == h
            problems.add(table, bad_rows[sel], name, shown[sel], _WHAT[type_] + (f" ({h})" if h else ""))
    valid = codes >= 0
    safe = np.where(valid, codes, 0)
    good = valid & ok[safe] if ok.size else np.zeros(codes.size, dtype=bool)
    vals = lut[safe] if lut.size else np.zeros(codes.size, dtype=lut.dtype)
    if type_ == "date":
        vals = vals.astype(np.int32)
    return as_column(name, np.ma.MaskedArray(vals, mask=~good), type_)


def _series_to_column(table: str, name: str, field: dict, s: Any, problems: _Problems) -> Column:
    """A pandas Series to the field's column type (text in any column is parsed)."""
    pd = _pandas()
    type_ = field["ts:type"]
    dtype = s.dtype
    if type_ == "list<category>":
        return _clean_list(table, name, _list_column(table, name, s, problems), problems)
    if type_ == "date" and pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            s = s.dt.tz_localize(None)   # the local calendar date, not the UTC one
        return as_column(name, s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"), "date")
    if type_ == "bool" and (isinstance(dtype, pd.BooleanDtype) or dtype == bool):
        return as_column(name, s.astype("boolean"), "bool")
    if type_ in ("int64", "float64") and (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
        f = s.astype("Float64")
        inf = (f.notna() & ~np.isfinite(f.fillna(0).to_numpy(dtype=np.float64))).to_numpy(dtype=bool)
        bad = inf.copy()
        if type_ == "int64":   # whole numbers that int64 holds
            bad |= (f.notna() & ((f != f.round()) | (f.abs() >= 2.0**63))).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            problems.add(table, np.flatnonzero(bad), name, s[bad].astype(str).to_numpy(), _WHAT[type_])
            f[bad] = pd.NA
        return as_column(name, f.astype("Int64") if type_ == "int64" else f, type_)
    # text (or mixed objects): clean and parse each distinct value once, through a category column
    cat = _text_category(table, name, s, problems)
    if type_ == "category":
        return cat
    return _typed_from_codes(name, type_, np.asarray(cat.codes), [str(x) for x in cat.categories], table, problems)


def _column_to_type(table: str, name: str, field: dict, col: Column, problems: _Problems) -> Column:
    type_ = field["ts:type"]
    if col.type == "category":
        col = _clean_category(table, name, col, problems)
        if type_ == "category":
            return col
        if type_ in ("date", "bool", "int64", "float64"):
            return _typed_from_codes(name, type_, np.asarray(col.codes), [str(x) for x in col.categories], table,
                                     problems)
    if col.type == type_:
        return _clean_list(table, name, col, problems) if type_ == "list<category>" else col
    pd = _pandas()
    return _series_to_column(table, name, field, pd.Series(col.to_numpy()), problems)


def _norm_name(s: str) -> str:
    return re.sub(r"[^0-9a-z]", "", s.lower())


def _header_problems(table: str, names: list[str], fields: Mapping[str, dict], problems: _Problems,
                     index_names: list[str]) -> None:
    """Missing columns, with what the header suggests instead; structural ones first."""
    missing = [f for f in fields if f not in names]
    if not missing:
        return
    if len(names) == 1:
        for sep, word in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
            if sep in names[0] and len(names[0].split(sep)) > 1:
                problems.add(table, None, "", names[0][:80],
                             f"the header is one field holding {word}: the file looks {word}-separated "
                             "(an Excel export?); traffickstats reads ','-separated files: save it with ',' "
                             "as the separator", structural=True, line=1)
                return
    extra = [n for n in names if n not in fields]
    for name in missing:
        field = fields[name]
        req = _required(field)
        like = [n for n in extra if _norm_name(n) == _norm_name(name)] or \
            difflib.get_close_matches(name, extra, n=1, cutoff=0.75)
        if like:
            hint = f" (the file has {like[0]!r}: name it {name!r}, as in ts.schema())"
        elif name in index_names:
            hint = " (it is the DataFrame's index: pass df.reset_index())"
        else:
            hint = "" if req else " (read as all unknown)"
        problems.add(table, None, name, like[0] if like else None, "column missing" + hint,
                     severity="error" if req else "warning", structural=req, line=1 if req or like else None)


def _coerce_table(table: str, data: Any, problems: _Problems) -> Table:
    """Any table-like input -> Table with the schema's column types (extra columns kept)."""
    pd = _pandas()
    fields = {f["name"]: f for f in _fields(table)}
    get: Callable[[str], Any]   # a table's Column or a DataFrame's Series
    index_names: list[str] = []
    if isinstance(data, _core.Table):
        names = list(data.column_names)
        get = cast(Callable[[str], Column], data.column)   # C builds columns of the registered class
        n = data.num_rows
        is_table = True
    elif isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        for dup in sorted({c for c in names if names.count(c) > 1}):
            problems.add(table, None, dup, None, "duplicate column name (the first one is read)", structural=True,
                         line=1)
        position: dict[str, int] = {}
        for i, c in enumerate(names):   # per column; the first of duplicate names is read
            position.setdefault(c, i)
        names = list(position)
        frame = data
        get = lambda c: frame.iloc[:, position[c]]  # noqa: E731
        n = len(data)
        is_table = False
        index_names = [str(x) for x in data.index.names if x is not None]
    elif isinstance(data, Mapping):
        return _coerce_table(table, pd.DataFrame(dict(data)), problems)
    else:
        raise TypeError(f"{table}: expected a traffickstats Table or a pandas DataFrame, got {type(data).__name__}")
    _header_problems(table, names, fields, problems, index_names)
    cols: dict[str, Column] = {}
    for name, field in fields.items():
        if name not in names:
            cols[name] = _null_column(name, field["ts:type"], n)
            continue
        src = get(name)
        cols[name] = (_column_to_type(table, name, field, src, problems) if is_table
                      else _series_to_column(table, name, field, src, problems))
    for name in names:
        if name in fields:
            continue
        src = get(name)
        if name == "":
            empty = (src.null_count == len(src)) if is_table else bool(src.isna().all() or (src == "").all())
            problems.add(table, None, "", None, "column without a name ignored" +
                         (" (each line ends with a separator)" if empty else ""), severity="warning", line=1)
            continue
        try:
            cols[name] = src if is_table else as_column(name, src)
        except (TypeError, ValueError) as exc:
            problems.add(table, None, name, None, f"column not in the schema dropped: {exc}", severity="warning")
    return Table(cols)


# --------------------------------------------------------------------------- helpers on columns


def _labels_eq(col: Column, label: str) -> np.ndarray:
    """Row mask ``col == label`` for a category column (null -> False)."""
    cats = list(col.categories)
    if label not in cats:
        return np.zeros(len(col), dtype=bool)
    return np.asarray(col.codes) == cats.index(label)


def _list_rows(col: Column) -> np.ndarray:
    """Row number of each item of a list column."""
    off = np.asarray(col.offsets)
    return np.repeat(np.arange(len(col), dtype=np.int64), np.diff(off))


def _id_keys(col: Column) -> tuple[np.ndarray, np.ndarray]:
    """(codes, labels as a NumPy str array) of an id column."""
    return np.asarray(col.codes), np.asarray(list(col.categories), dtype=str)


def _lookup(child: Column, parent: Column) -> np.ndarray:
    """Row of ``parent`` (unique ids) holding each ``child`` id, -1 when absent or null."""
    pcodes, plabels = _id_keys(parent)
    ccodes, clabels = _id_keys(child)
    # parent: label -> first row
    first_row = np.full(len(plabels), -1, dtype=np.int64)
    valid = pcodes >= 0
    rows = np.flatnonzero(valid)
    first_row[pcodes[rows][::-1]] = rows[::-1]
    order = np.argsort(plabels, kind="stable")
    sorted_labels = plabels[order]
    pos = np.searchsorted(sorted_labels, clabels) if len(plabels) else np.zeros(len(clabels), dtype=np.int64)
    pos = np.minimum(pos, max(len(plabels) - 1, 0))
    hit = (sorted_labels[pos] == clabels) if len(plabels) else np.zeros(len(clabels), dtype=bool)
    cat_to_row = np.where(hit, first_row[order[pos]] if len(plabels) else -1, -1).astype(np.int64)
    cat_to_row = np.append(cat_to_row, -1)  # code -1 (null) -> -1
    return cat_to_row[np.where(ccodes >= 0, ccodes, len(clabels))]


# --------------------------------------------------------------------------- Dataset


class Dataset:
    """Cases, defendants and victims linked by ``case_id``.

    Parameters
    ----------
    cases, defendants, victims : Table or pandas.DataFrame
        The three tables with the columns of :func:`schema`.  Columns are converted to
        the schema's types (text dates, ``"true"``/``"false"``, ``;``-joined lists and
        integer ids are accepted).  Whitespace around values is removed and an empty
        text is unknown, as in a CSV file; a list counts each distinct item once.
    validate : bool, default True
        Check the data as :func:`read_dataset` does: raise :class:`DatasetError` when
        there are errors (duplicate ids, values outside the allowed codes, dates that
        do not parse, ...) and warn with :class:`DatasetWarning` about the rest
        (missing optional columns, repeated list items, dates in the future, ...).
        ``False`` skips the checks, except that a missing required column is always
        an error.  :meth:`problems` lists everything either way.
    sensitive : bool, default False
        Mark the data as sensitive (e.g. victim-level data that is not public court
        record): reports then withhold small cells (``min_cell=11``) by default.
    name : str, optional
        A label shown in reports.
    notice : str, optional
        A notice every report of this dataset must carry (e.g. that it is synthetic).

    Attributes
    ----------
    cases, defendants, victims : Table

    Raises
    ------
    DatasetError
        With the full list of problems in its ``problems`` attribute.
    """

    # the masks and keys shared by the statistics, set on first use by traffickstats.stats
    # (declared only: a dataset has no such attribute until then)
    _stats_prep: _Prep

    def __init__(self, cases: Any, defendants: Any, victims: Any, *, validate: bool = True,
                 sensitive: bool = False, name: str | None = None, notice: str | None = None) -> None:
        self._setup(cases, defendants, victims, sensitive=sensitive, name=name, notice=notice)
        self._enforce(validate, stacklevel=2)

    def _setup(self, cases: Any, defendants: Any, victims: Any, *, sensitive: bool, name: str | None,
               notice: str | None, files: Mapping[str, str] | None = None) -> None:
        self._problems = _Problems()
        self._files = dict(files or {})
        self.cases = _coerce_table("cases", cases, self._problems)
        self.defendants = _coerce_table("defendants", defendants, self._problems)
        self.victims = _coerce_table("victims", victims, self._problems)
        self.sensitive = bool(sensitive)
        self.name = name
        self.notice = notice
        self.source: str | None = None
        self._defendant_case = _lookup(self.defendants["case_id"], self.cases["case_id"])
        self._victim_case = _lookup(self.victims["case_id"], self.cases["case_id"])

    def _enforce(self, validate: bool, stacklevel: int) -> None:
        """Raise on errors (on structural ones only without ``validate``); warn on warnings."""
        if not validate:
            if self._problems.structural():
                only = _Problems()
                only.parts = [q for q in self._problems.parts if q["structural"]]
                raise DatasetError(_summary(only.frame(self._files), "the tables cannot be read as they are"),
                                   self.problems())
            return
        problems = self.problems()
        if (problems["severity"] == "error").any():
            raise DatasetError(_summary(problems), problems)
        if len(problems):
            warnings.warn(DatasetWarning(_summary(problems, severity="warning"), problems), stacklevel=stacklevel + 1)

    def __repr__(self) -> str:
        flag = ", sensitive" if self.sensitive else ""
        return (f"<traffickstats.Dataset{' ' + repr(self.name) if self.name else ''}: {self.cases.num_rows:,} cases, "
                f"{self.defendants.num_rows:,} defendants, {self.victims.num_rows:,} victims{flag}>")

    def table(self, name: str) -> Table:
        """One of the three tables by name."""
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
        return getattr(self, name)

    def problems(self) -> Any:
        """Every problem found in the data, as a DataFrame (see :func:`validate`)."""
        return _check(self)

    def date_range(self) -> tuple[np.datetime64, np.datetime64] | None:
        """The first and the last date anywhere in the data (filing, closing, charge and
        outcome dates), or None when there is no date at all."""
        lo, hi = None, None
        for t, c in (("cases", "filing_date"), ("cases", "closed_date"), ("defendants", "charge_date"),
                     ("defendants", "outcome_date")):
            col = self.table(t)[c]
            v = np.asarray(col.values)[np.asarray(col.valid)]
            if v.size:
                lo = int(v.min()) if lo is None else min(lo, int(v.min()))
                hi = int(v.max()) if hi is None else max(hi, int(v.max()))
        if lo is None or hi is None:
            return None
        return _EPOCH + np.timedelta64(lo, "D"), _EPOCH + np.timedelta64(hi, "D")

    @classmethod
    def sample(cls) -> "Dataset":
        """The bundled synthetic sample (calibrated to published FHTR 2020 figures)."""
        from .datasets import load_sample

        return load_sample()


# --------------------------------------------------------------------------- validation


def _decided_outcomes() -> list[str]:
    (f,) = [f for f in _fields("defendants") if f["name"] == "outcome"]
    return [v for v in f["constraints"]["enum"] if v != "pending"]


def _value_hint(label: str, allowed: list[str]) -> str:
    """A hint for a value outside a category's allowed set."""
    if label.strip().lower() in _NA_WORDS:
        return "; leave the field empty for unknown"
    low = [a for a in allowed if a.lower() == label.strip().lower().replace(" ", "_").replace("-", "_")]
    if low:
        return f"; did you mean {low[0]!r}? codes are lower-case words"
    close = difflib.get_close_matches(label.lower(), allowed, n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check(ds: Dataset) -> Any:
    p = _Problems()
    p.extend(ds._problems)
    bad: dict[tuple[str, str], np.ndarray] = {}
    today_date = _dt.date.today()   # read once: a check that runs across midnight stays one check
    today = int((np.datetime64(today_date, "D") - _EPOCH).astype(np.int64))
    for t in TABLES:
        tab = ds.table(t)
        n = tab.num_rows
        for field in _fields(t):
            col = tab[field["name"]]
            name = field["name"]
            flagged = ds._problems.bad(t, name, n)
            if ds._problems.missing(t, name):   # said once, in the header: nothing to say per row
                bad[(t, name)] = np.ones(n, dtype=bool)
                continue
            if _required(field) and col.null_count:
                p.add(t, np.flatnonzero(~np.asarray(col.valid) & ~flagged), name, "", "required value missing")
            allowed = _allowed(field)
            if allowed is not None and col.type in ("category", "list<category>"):
                cats = np.asarray(list(col.categories), dtype=object)
                bad_cat = ~np.isin(cats, allowed) if cats.size else np.zeros(0, dtype=bool)
                if bad_cat.any():
                    if col.type == "category":
                        codes = np.asarray(col.codes)
                        rows = np.flatnonzero((codes >= 0) & bad_cat[np.where(codes >= 0, codes, 0)])
                        idx = codes[rows]
                        flagged[rows] = True
                    else:
                        items = np.asarray(col.values)
                        hit = bad_cat[items]
                        rows = _list_rows(col)[hit]
                        idx = items[hit]
                    vals = cats[idx]
                    hints = np.array([_value_hint(str(v), allowed) if b else "" for v, b in zip(cats, bad_cat)],
                                     dtype=object)  # per category outside the allowed set
                    row_hints = hints[idx]
                    for h in sorted(set(row_hints.tolist())):
                        sel = row_hints == h
                        p.add(t, rows[sel], name, vals[sel], "value not allowed (allowed: " + ", ".join(allowed) + h + ")")
            pattern = field.get("constraints", {}).get("pattern")
            if pattern and col.type == "category":
                rx = re.compile(pattern)
                labels = list(col.categories)
                bad_cat = np.array([rx.fullmatch(c) is None for c in labels], dtype=bool)  # per distinct value
                if bad_cat.any():
                    codes = np.asarray(col.codes)
                    rows = np.flatnonzero((codes >= 0) & bad_cat[np.where(codes >= 0, codes, 0)])
                    flagged[rows] = True
                    vals = np.asarray(labels, dtype=object)[codes[rows]]
                    hints = np.array([_pattern_hint(c, pattern) if b else "" for c, b in zip(labels, bad_cat)],
                                     dtype=object)[codes[rows]]  # per label that does not match
                    for h in sorted(set(hints.tolist())):
                        sel = hints == h
                        p.add(t, rows[sel], name, vals[sel], f"value does not match {pattern}" + (f" ({h})" if h else ""))
            lo = field.get("constraints", {}).get("minimum")
            hi = field.get("constraints", {}).get("maximum")
            if (lo is not None or hi is not None) and col.type in ("int64", "float64"):
                v = np.asarray(col.values)
                out = np.asarray(col.valid) & (((v < lo) if lo is not None else False) | ((v > hi) if hi is not None else False))
                if np.any(out):
                    rows = np.flatnonzero(out)
                    flagged[rows] = True
                    shown = np.array([_label(x) for x in v[rows].tolist()], dtype=object)  # per problem row
                    na = np.isin(shown, list(_NA_WORDS))
                    for sel, h in ((na, " (a code for unknown? leave the field empty for unknown)"), (~na, "")):
                        p.add(t, rows[sel], name, shown[sel], f"value out of range [{lo}, {hi}]" + h)
            if col.type == "date":
                v = np.asarray(col.values)
                future = np.asarray(col.valid) & (v > today)
                if future.any():
                    rows = np.flatnonzero(future)
                    shown = (v[rows].astype("datetime64[D]")).astype(str).astype(object)
                    p.add(t, rows, name, shown, f"date in the future (after {today_date.isoformat()})",
                          severity="warning")
            bad[(t, name)] = flagged
        # duplicate ids
        if ds._problems.missing(t, _ID[t]):
            continue
        idcol = tab[_ID[t]]
        codes = np.asarray(idcol.codes)
        ok = codes >= 0
        if ok.any():
            counts = np.bincount(codes[ok], minlength=len(idcol.categories))
            dup = ok & (counts[np.where(ok, codes, 0)] > 1)
            if dup.any():
                rows = np.flatnonzero(dup)
                p.add(t, rows, _ID[t], np.asarray(list(idcol.categories), dtype=object)[codes[rows]], "duplicate id")
    # orphans
    for t, link in (("defendants", ds._defendant_case), ("victims", ds._victim_case)):
        if ds._problems.missing("cases", "case_id") or ds._problems.missing(t, "case_id"):
            continue
        col = ds.table(t)["case_id"]
        codes = np.asarray(col.codes)
        rows = np.flatnonzero((link < 0) & (codes >= 0))
        p.add(t, rows, "case_id", np.asarray(list(col.categories), dtype=object)[codes[rows]], "case_id not in cases")
    # date order
    for t, first, second in (("cases", "filing_date", "closed_date"), ("defendants", "charge_date", "outcome_date")):
        tab = ds.table(t)
        a, b = tab[first], tab[second]
        wrong = np.asarray(a.valid) & np.asarray(b.valid) & (np.asarray(b.values) < np.asarray(a.values))
        rows = np.flatnonzero(wrong)
        vals = np.asarray(b.values)[rows].astype("datetime64[D]").astype(str).astype(object)
        p.add(t, rows, second, vals, f"{second} before {first}")
    # outcome consistency: a decided outcome has a date (pending and unknown ones need none)
    d = ds.defendants
    outcome, odate = d["outcome"], d["outcome_date"]
    decided = np.isin(np.asarray(outcome.codes),
                      [i for i, c in enumerate(outcome.categories) if c in _decided_outcomes()])
    rows = np.flatnonzero(decided & ~np.asarray(odate.valid) & ~bad[("defendants", "outcome_date")])
    p.add("defendants", rows, "outcome_date", "", "outcome decided but outcome_date missing", severity="warning")
    # minor vs age
    vic = ds.victims
    age, minor = vic["age"], vic["minor"]
    both = np.asarray(age.valid) & np.asarray(minor.valid) & ~bad[("victims", "age")] & ~bad[("victims", "minor")]
    ages = np.asarray(age.values)
    is_minor = np.asarray(minor.values).astype(bool)
    wrong = both & ((ages < 18) != is_minor)
    rows = np.flatnonzero(wrong)
    if rows.size:
        shown = np.char.add(np.char.add("minor=", np.where(is_minor[rows], "true", "false")),
                            np.char.add(", age=", ages[rows].astype(str))).astype(object)
        p.add("victims", rows, "minor", shown, "minor flag contradicts age")
    return p.frame(ds._files)


def _pattern_hint(label: str, pattern: str) -> str:
    if label.strip().lower() in _NA_WORDS:
        return "leave the field empty for unknown"
    if pattern == "^[A-Z]{2}$":
        if re.fullmatch(r"[A-Za-z]{2}", label.strip()):
            return f"did you mean {label.strip().upper()!r}? codes are upper-case"
        return "an ISO 3166 alpha-2 code: two capital letters"
    return ""


def validate(data: Any) -> Any:
    """Check a dataset and list every problem found (not only the first).

    Parameters
    ----------
    data : str, os.PathLike or Dataset
        A folder holding ``cases.csv``, ``defendants.csv``, ``victims.csv``, or a
        :class:`Dataset`.

    Returns
    -------
    pandas.DataFrame
        One row per problem with columns ``table``, ``file``, ``row`` (0-based data
        row), ``line`` (physical line in the CSV file, header = 1), ``column``,
        ``value``, ``problem`` and ``severity`` (``"error"`` or ``"warning"``).  Empty
        when the data is clean.  A cell has at most one problem: a value that does
        not parse is not also reported as missing.

        Errors: a file that cannot be read (not UTF-8, not ``,``-separated, ragged
        rows, ...), required columns and values, duplicate ids, a defendant or victim
        whose ``case_id`` is not in cases, ``closed_date`` before ``filing_date``,
        ``outcome_date`` before ``charge_date``, values that do not parse (dates,
        booleans, numbers), values outside a category's allowed set (list items
        included), patterns and ranges, and a ``minor`` flag that contradicts
        ``age``.  Warnings: missing optional columns, whitespace around values, empty
        or repeated list items, dates in the future, a decided outcome without a date.
    """
    if isinstance(data, Dataset):
        return data.problems()
    try:
        ds = _read(data)
    except DatasetError as exc:  # a file that cannot be parsed at all
        return exc.problems
    return ds.problems()


def _summary(problems: Any, why: str | None = None, severity: str = "error", limit: int = 10) -> str:
    rows = problems[problems["severity"] == severity]
    noun = "problem(s)" if severity == "error" else "warning(s)"
    lines = [f"{len(rows)} {noun} found in the dataset" + (f" ({why})" if why else "") + ":"]
    pd = _pandas()
    for rec in rows.head(limit).itertuples(index=False):
        where = rec.file
        if rec.line is not pd.NA and rec.line is not None:
            where += f", line {rec.line}"
        elif rec.row is not pd.NA and rec.row is not None:
            where += f", row {rec.row}"
        col = f", column {rec.column!r}" if rec.column else ""
        val = f" ({rec.value!r})" if rec.value not in ("", None) else ""
        lines.append(f"  {where}{col}: {rec.problem}{val}")
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more; traffickstats.validate() lists them all")
    return "\n".join(lines)


def _file_error(table: str, path: Path, message: str, line: int | None = None, column: str | None = None) -> DatasetError:
    p = _Problems()
    p.add(table, None if line is None or line < 2 else np.array([line - 2]), column, "", f"cannot be read: {message}",
          structural=True, line=line)
    problems = p.frame({table: str(path)})
    where = f"{path}" + (f", line {line}" if line else "") + (f", column {column!r}" if column else "")
    return DatasetError(f"{where}: cannot be read: {message}", problems)


def _read_csv(path: Path, table: str) -> Table:
    """One CSV file as a Table: every column as text categories (lists split on ';')."""
    from ._csv import read_csv

    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _file_error(table, path, "the file is UTF-16 text; save it as UTF-8 (Excel: 'CSV UTF-8')", 1)
    text = head.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:   # the reader below says what is wrong, and where
        header = []
    schema_ = {f["name"]: ("list<category>" if f["ts:type"] == "list<category>" else "category") for f in _fields(table)}
    # only an empty field is unknown: "NA" is Namibia's citizenship code
    try:
        return read_csv(str(path), schema={k: v for k, v in schema_.items() if k in header}, list_sep=";",
                        na_values=("",))
    except ValueError as exc:   # ParseError is a ValueError; the message names the file
        msg = str(exc)
        msg = msg.split(": ", 1)[1] if msg.startswith(str(path)) and ": " in msg else msg
        if "invalid UTF-8" in msg:
            msg += " (the file is not UTF-8 text: save it as UTF-8, e.g. Excel's 'CSV UTF-8')"
        raise _file_error(table, path, msg, getattr(exc, "line", None), getattr(exc, "column", None)) from None


def _table_file(folder: Path, table: str) -> Path | None:
    """``folder/table.parquet`` when it exists, else ``folder/table.csv``, else None."""
    for ext in (".parquet", ".csv"):
        if (folder / (table + ext)).is_file():
            return folder / (table + ext)
    return None


def _read(folder: str | os.PathLike, *, sensitive: bool = False, name: str | None = None) -> Dataset:
    """Read a dataset folder into a Dataset without checking it (see :meth:`Dataset._enforce`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder: {folder}")
    files = {t: _table_file(folder, t) for t in TABLES}
    missing = [f"{t}.csv" for t, f in files.items() if f is None]
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(missing)} (a dataset is cases, defendants and "
                                "victims, each as NAME.csv or NAME.parquet)")
    tables = {}
    for t in TABLES:
        path = files[t]
        assert path is not None
        if path.suffix == ".parquet":
            from ._arrow import read_parquet

            tables[t] = read_parquet(path)
        else:
            tables[t] = _read_csv(path, t)
    ds = Dataset.__new__(Dataset)
    ds._setup(tables["cases"], tables["defendants"], tables["victims"], sensitive=sensitive, name=name or folder.name,
              notice=None, files={t: str(p) for t, p in files.items() if p is not None})
    ds.source = str(folder)
    from .datasets._synthetic import SYNTHETIC_NOTICE, sample_dir

    if folder.resolve() == sample_dir().resolve():
        ds.notice = SYNTHETIC_NOTICE
        ds.name = name or "traffickstats synthetic sample"
    return ds


def read_dataset(folder: str | os.PathLike, *, validate: bool = True, sensitive: bool = False,
                 name: str | None = None) -> Dataset:
    """Read ``cases``, ``defendants`` and ``victims`` from ``folder``.

    Each table is ``NAME.parquet`` when that file exists (read with
    :func:`traffickstats.read_parquet`; needs pyarrow), otherwise ``NAME.csv``.
    CSV conventions: UTF-8 text, ``,`` between fields, a header row, dates as
    ``YYYY-MM-DD``, booleans ``true``/``false``, list values joined by ``;``, an empty
    field for unknown.

    Parameters
    ----------
    folder : str or os.PathLike
    validate : bool, default True
        Raise :class:`DatasetError` with a summary when any error is found (the full
        list is its ``problems`` attribute) and warn with :class:`DatasetWarning`
        about the rest.  With ``False`` the data is read as well as it can be
        (unparseable values become unknown), but a file that cannot be read or a
        missing required column is still an error; see :func:`validate`.
    sensitive : bool, default False
        See :class:`Dataset`.
    name : str, optional
        A label for reports (defaults to the folder name).

    Returns
    -------
    Dataset
    """
    ds = _read(folder, sensitive=sensitive, name=name)
    ds._enforce(validate, stacklevel=2)
    return ds
