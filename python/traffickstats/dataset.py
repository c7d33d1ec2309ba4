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

import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, cast

import numpy as np

from . import _core
from .table import Column, Table, as_column

if TYPE_CHECKING:  # pragma: no cover
    from .stats._metrics import _Prep

__all__ = ["Dataset", "read_dataset", "validate", "schema", "DatasetError", "TABLES"]

#: The three tables of a dataset, in order.
TABLES = ("cases", "defendants", "victims")
_ID = {"cases": "case_id", "defendants": "defendant_id", "victims": "victim_id"}
_EPOCH = np.datetime64("1970-01-01", "D")


class DatasetError(ValueError):
    """A dataset failed validation; ``problems`` holds every problem found."""

    def __init__(self, message: str, problems: Any = None) -> None:
        super().__init__(message)
        self.problems = problems


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
    """Collects problems as column arrays (no per-row Python objects)."""

    def __init__(self) -> None:
        self.parts: list[dict] = []

    def add(self, table: str, rows: np.ndarray | None, column: str | None, values: Any, problem: str,
            severity: str = "error") -> None:
        rows = np.asarray([-1] if rows is None else rows, dtype=np.int64)
        if rows.size == 0:
            return
        if values is None:
            values = np.full(rows.size, "", dtype=object)
        elif np.isscalar(values) or isinstance(values, str):
            values = np.full(rows.size, str(values), dtype=object)
        self.parts.append({"table": table, "row": rows, "column": column or "", "value": np.asarray(values, dtype=object),
                           "problem": problem, "severity": severity})

    def frame(self, source: str | None) -> Any:
        pd = _pandas()
        cols = ["table", "file", "row", "line", "column", "value", "problem", "severity"]
        if not self.parts:
            return pd.DataFrame({c: pd.Series([], dtype=object if c not in ("row", "line") else "Int64")
                                 for c in cols})
        frames = []
        for p in self.parts:
            n = p["row"].size
            row = pd.array(p["row"], dtype="Int64")
            row[p["row"] < 0] = pd.NA
            frames.append(pd.DataFrame({
                "table": p["table"],
                "file": (os.path.join(source, p["table"] + ".csv") if source else p["table"]),
                "row": row,
                "line": row + 2 if source else pd.array([pd.NA] * n, dtype="Int64"),
                "column": p["column"], "value": p["value"], "problem": p["problem"],
                "severity": p["severity"]}))
        out = pd.concat(frames, ignore_index=True)
        order = {t: i for i, t in enumerate(TABLES)}
        out["_t"] = out["table"].map(order)
        out = out.sort_values(["_t", "row", "column"], kind="stable", na_position="first")
        return out.drop(columns="_t").reset_index(drop=True)


# --------------------------------------------------------------------------- coercion


def _null_column(name: str, type_: str, n: int) -> Column:
    valid = np.zeros(n, dtype=bool)
    if type_ in ("category", "list<category>", "string"):
        return as_column(name, np.full(n, None, dtype=object), type_)
    dtype = {"bool": bool, "date": np.int32, "int64": np.int64, "int32": np.int32, "float64": np.float64}[type_]
    return as_column(name, np.ma.MaskedArray(np.zeros(n, dtype=dtype), mask=~valid), type_)


def _lut_column(name: str, type_: str, codes: np.ndarray, lut: np.ndarray, ok: np.ndarray) -> Column:
    """Typed column from category codes and a per-category lookup (ok: parsed)."""
    valid = (codes >= 0)
    safe = np.where(valid, codes, 0)
    good = valid & ok[safe] if ok.size else np.zeros(codes.size, dtype=bool)
    vals = lut[safe] if lut.size else np.zeros(codes.size, dtype=lut.dtype)
    if type_ == "date":
        vals = vals.astype(np.int32)
    return as_column(name, np.ma.MaskedArray(vals, mask=~good), type_)


def _parse_dictionary(type_: str, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Parse each distinct text value once: returns (values, ok)."""
    n = len(labels)
    ok = np.ones(n, dtype=bool)
    if type_ == "date":
        out = np.zeros(n, dtype=np.int64)
        try:
            days = np.array(labels, dtype="datetime64[D]")
            strict = np.array([len(s) == 10 for s in labels], dtype=bool)  # per distinct value
            out = (days - _EPOCH).astype(np.int64)
            ok = strict & ~np.isnat(days)
        except ValueError:
            for i, s in enumerate(labels):  # per distinct value, only when some are bad
                try:
                    if len(s) != 10:
                        raise ValueError(s)
                    out[i] = int((np.datetime64(s, "D") - _EPOCH).astype(np.int64))
                except ValueError:
                    ok[i] = False
        return out, ok
    if type_ == "bool":
        arr = np.array(labels, dtype=object)
        return (arr == "true").astype(bool), np.isin(arr, ["true", "false"])
    num = np.zeros(n, dtype=np.float64)
    for i, s in enumerate(labels):  # per distinct value
        try:
            num[i] = float(s)
        except ValueError:
            ok[i] = False
    if type_ in ("int64", "int32"):
        ok &= np.isfinite(num) & (num == np.round(num))
        return np.where(ok, num, 0).astype(np.int64), ok
    return num, ok & ~np.isnan(num)


def _series_to_column(name: str, field: dict, s: Any, table: str, problems: _Problems) -> Column:
    """A pandas Series to the field's column type (text in any column is parsed)."""
    pd = _pandas()
    type_ = field["ts:type"]
    dtype = s.dtype
    if type_ == "category":
        return _factorized(name, s)
    if type_ == "list<category>":
        return _list_column(name, s)
    if type_ == "date" and pd.api.types.is_datetime64_any_dtype(dtype):
        return as_column(name, s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"), "date")
    if type_ == "bool" and (isinstance(dtype, pd.BooleanDtype) or dtype == bool):
        return as_column(name, s.astype("boolean"), "bool")
    if type_ in ("int64", "float64") and (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
        if type_ == "int64":
            f = s.astype("Float64")
            bad = (f.notna() & (f != f.round())).fillna(False).to_numpy(dtype=bool)
            if bad.any():
                problems.add(table, np.flatnonzero(bad), name, s[bad].astype(str).to_numpy(), "not a whole number")
                f[bad] = pd.NA
            return as_column(name, f.astype("Int64"), "int64")
        return as_column(name, s.astype("Float64"), "float64")
    # text (or mixed objects): parse each distinct value once through a categorical
    obj = s.astype(object)
    na = obj.isna().to_numpy()
    if type_ == "bool":
        obj = obj.map(lambda v: ("true" if v else "false") if isinstance(v, (bool, np.bool_)) else str(v), na_action="ignore")
    elif type_ == "date":
        obj = obj.map(lambda v: str(v)[:10] if hasattr(v, "year") else str(v), na_action="ignore")
    else:
        obj = obj.map(str, na_action="ignore")
    cat = pd.Categorical(obj.where(~na, None))
    return _typed_from_codes(name, type_, np.asarray(cat.codes, dtype=np.int32), [str(c) for c in cat.categories],
                             table, problems)


def _labels_of(uniques: Any) -> list[str]:
    """Distinct values as text (ints without a decimal point)."""
    arr = np.asarray(uniques)
    if arr.dtype.kind in "iub":
        return arr.astype(str).tolist()
    if arr.dtype.kind == "f":
        whole = np.isfinite(arr) & (arr == np.round(arr))
        return [str(int(v)) if w else str(v) for v, w in zip(arr.tolist(), whole.tolist())]  # per distinct value
    return [str(v) for v in arr.tolist()]  # per distinct value


def _factorized(name: str, s: Any) -> Column:
    """A category column from any Series, through pandas' factorize (no per-row Python)."""
    pd = _pandas()
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, labels = np.asarray(s.cat.codes), _labels_of(s.cat.categories)
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        labels = _labels_of(uniques)
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    valid = codes >= 0
    # (C builds columns of the registered table.Column class)
    return cast(Column, _core.make_column(name, "category", codes, None if valid.all() else valid, None, labels))


def _list_column(name: str, s: Any) -> Column:
    """A list<category> column from a Series of lists (or ';'-joined text; None = unknown)."""
    pd = _pandas()
    obj = pd.Series(s.to_numpy(dtype=object), dtype=object)
    isstr = obj.map(type).to_numpy() == str  # one call per row, but no Python-level list building
    if isstr.any():
        obj = obj.copy()
        obj[isstr] = obj[isstr].str.split(";")
    exploded = obj.explode()
    rows = exploded.index.to_numpy()
    vals = exploded.to_numpy(dtype=object)
    keep = pd.notna(vals)
    if keep.any():
        keep[keep] = vals[keep] != ""
    codes, uniques = pd.factorize(pd.Series(vals[keep], dtype=object), use_na_sentinel=True)
    lengths = np.bincount(rows[keep], minlength=len(obj)) if len(obj) else np.zeros(0, dtype=np.int64)
    offsets = np.zeros(len(obj) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    valid = obj.notna().to_numpy(dtype=bool)
    # (C builds columns of the registered table.Column class)
    return cast(Column, _core.make_column(name, "list<category>", np.ascontiguousarray(codes, dtype=np.int32),
                                          None if valid.all() else valid, offsets, _labels_of(uniques)))


def _typed_from_codes(name: str, type_: str, codes: np.ndarray, labels: list[str], table: str,
                      problems: _Problems) -> Column:
    lut, ok = _parse_dictionary(type_, labels)
    if labels and not ok.all():
        bad_rows = np.flatnonzero((codes >= 0) & ~ok[np.where(codes >= 0, codes, 0)])
        what = {"date": "not a YYYY-MM-DD date", "bool": "not true/false", "int64": "not a whole number",
                "float64": "not a number"}[type_]
        problems.add(table, bad_rows, name, np.asarray(labels, dtype=object)[codes[bad_rows]], what)
    return _lut_column(name, type_, codes, lut, ok)


def _column_to_type(name: str, field: dict, col: Column, table: str, problems: _Problems) -> Column:
    type_ = field["ts:type"]
    if col.type == type_:
        return col
    if col.type == "category" and type_ in ("date", "bool", "int64", "float64"):
        return _typed_from_codes(name, type_, np.asarray(col.codes), [str(x) for x in col.categories], table, problems)
    pd = _pandas()
    return _series_to_column(name, field, pd.Series(col.to_numpy()), table, problems)


def _coerce_table(table: str, data: Any, problems: _Problems) -> Table:
    """Any table-like input -> Table with the schema's column types (extra columns kept)."""
    pd = _pandas()
    fields = {f["name"]: f for f in _fields(table)}
    get: Callable[[str], Any]   # a table's Column or a DataFrame's Series
    if isinstance(data, _core.Table):
        names = list(data.column_names)
        get = cast(Callable[[str], Column], data.column)   # C builds columns of the registered class
        n = data.num_rows
        is_table = True
    elif isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        get = lambda c: data[c]  # noqa: E731
        n = len(data)
        is_table = False
    elif isinstance(data, Mapping):
        return _coerce_table(table, pd.DataFrame(dict(data)), problems)
    else:
        raise TypeError(f"{table}: expected a traffickstats Table or a pandas DataFrame, got {type(data).__name__}")
    cols: dict[str, Column] = {}
    for name, field in fields.items():
        if name not in names:
            sev = "error" if _required(field) else "warning"
            problems.add(table, None, name, None, "column missing" + ("" if sev == "error" else " (read as all unknown)"),
                         severity=sev)
            cols[name] = _null_column(name, field["ts:type"], n)
            continue
        src = get(name)
        cols[name] = (_column_to_type(name, field, src, table, problems) if is_table
                      else _series_to_column(name, field, src, table, problems))
    for name in names:
        if name not in fields:
            src = get(name)
            cols[name] = src if is_table else as_column(name, src)
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
        integer ids are accepted); missing optional columns are read as all unknown.
        Use :func:`validate` (or :meth:`problems`) to list what is wrong.
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
    """

    # the masks and keys shared by the statistics, set on first use by traffickstats.stats
    # (declared only: a dataset has no such attribute until then)
    _stats_prep: _Prep

    def __init__(self, cases: Any, defendants: Any, victims: Any, *, sensitive: bool = False,
                 name: str | None = None, notice: str | None = None) -> None:
        self._problems = _Problems()
        self.cases = _coerce_table("cases", cases, self._problems)
        self.defendants = _coerce_table("defendants", defendants, self._problems)
        self.victims = _coerce_table("victims", victims, self._problems)
        self.sensitive = bool(sensitive)
        self.name = name
        self.notice = notice
        self.source: str | None = None
        self._defendant_case = _lookup(self.defendants["case_id"], self.cases["case_id"])
        self._victim_case = _lookup(self.victims["case_id"], self.cases["case_id"])

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

    @classmethod
    def sample(cls) -> "Dataset":
        """The bundled synthetic sample (calibrated to published FHTR 2020 figures)."""
        from .datasets import SYNTHETIC_NOTICE, sample_dir

        ds = read_dataset(sample_dir(), validate=False)
        ds.name = "traffickstats synthetic sample"
        ds.notice = SYNTHETIC_NOTICE
        return ds


# --------------------------------------------------------------------------- validation


def _check(ds: Dataset) -> Any:
    p = _Problems()
    p.parts = list(ds._problems.parts)
    for t in TABLES:
        tab = ds.table(t)
        for field in _fields(t):
            col = tab[field["name"]]
            name = field["name"]
            if _required(field) and col.null_count:
                p.add(t, np.flatnonzero(~np.asarray(col.valid)), name, "", "required value missing")
            allowed = _allowed(field)
            if allowed is not None and col.type in ("category", "list<category>"):
                cats = np.asarray(list(col.categories), dtype=object)
                bad_cat = ~np.isin(cats, allowed) if cats.size else np.zeros(0, dtype=bool)
                if bad_cat.any():
                    if col.type == "category":
                        codes = np.asarray(col.codes)
                        rows = np.flatnonzero((codes >= 0) & bad_cat[np.where(codes >= 0, codes, 0)])
                        vals = cats[codes[rows]]
                    else:
                        items = np.asarray(col.values)
                        hit = bad_cat[items]
                        rows = _list_rows(col)[hit]
                        vals = cats[items[hit]]
                    p.add(t, rows, name, vals, "value not allowed (allowed: " + ", ".join(allowed) + ")")
            pattern = field.get("constraints", {}).get("pattern")
            if pattern and col.type == "category":
                import re

                rx = re.compile(pattern)
                labels = list(col.categories)
                bad_cat = np.array([rx.fullmatch(c) is None for c in labels], dtype=bool)  # per distinct value
                if bad_cat.any():
                    codes = np.asarray(col.codes)
                    rows = np.flatnonzero((codes >= 0) & bad_cat[np.where(codes >= 0, codes, 0)])
                    p.add(t, rows, name, np.asarray(labels, dtype=object)[codes[rows]], f"value does not match {pattern}")
            lo = field.get("constraints", {}).get("minimum")
            hi = field.get("constraints", {}).get("maximum")
            if (lo is not None or hi is not None) and col.type in ("int64", "float64"):
                v = np.asarray(col.values)
                bad = np.asarray(col.valid) & (((v < lo) if lo is not None else False) | ((v > hi) if hi is not None else False))
                if np.any(bad):
                    rows = np.flatnonzero(bad)
                    p.add(t, rows, name, v[rows].astype(str).astype(object), f"value out of range [{lo}, {hi}]")
        # duplicate ids
        idcol = tab[_ID[t]]
        codes = np.asarray(idcol.codes)
        ok = codes >= 0
        counts = np.bincount(codes[ok], minlength=len(idcol.categories))
        dup = ok & (counts[np.where(ok, codes, 0)] > 1)
        if dup.any():
            rows = np.flatnonzero(dup)
            p.add(t, rows, _ID[t], np.asarray(list(idcol.categories), dtype=object)[codes[rows]], "duplicate id")
    # orphans
    for t, link in (("defendants", ds._defendant_case), ("victims", ds._victim_case)):
        col = ds.table(t)["case_id"]
        codes = np.asarray(col.codes)
        rows = np.flatnonzero((link < 0) & (codes >= 0))
        p.add(t, rows, "case_id", np.asarray(list(col.categories), dtype=object)[codes[rows]], "case_id not in cases")
    # date order
    for t, first, second in (("cases", "filing_date", "closed_date"), ("defendants", "charge_date", "outcome_date")):
        tab = ds.table(t)
        a, b = tab[first], tab[second]
        bad = np.asarray(a.valid) & np.asarray(b.valid) & (np.asarray(b.values) < np.asarray(a.values))
        rows = np.flatnonzero(bad)
        vals = np.asarray(b.values)[rows].astype("datetime64[D]").astype(str).astype(object)
        p.add(t, rows, second, vals, f"{second} before {first}")
    # outcome consistency
    d = ds.defendants
    outcome, odate = d["outcome"], d["outcome_date"]
    decided = np.asarray(outcome.valid) & ~_labels_eq(outcome, "pending")
    rows = np.flatnonzero(decided & ~np.asarray(odate.valid))
    p.add("defendants", rows, "outcome_date", "", "outcome decided but outcome_date missing", severity="warning")
    # minor vs age
    vic = ds.victims
    age, minor = vic["age"], vic["minor"]
    both = np.asarray(age.valid) & np.asarray(minor.valid)
    ages = np.asarray(age.values)
    is_minor = np.asarray(minor.values).astype(bool)
    bad = both & ((ages < 18) != is_minor)
    rows = np.flatnonzero(bad)
    shown = np.char.add(np.char.add("minor=", np.where(is_minor[rows], "true", "false")),
                        np.char.add(", age=", ages[rows].astype(str))).astype(object) if rows.size else None
    p.add("victims", rows, "minor", shown, "minor flag contradicts age")
    return p.frame(ds.source)


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
        row), ``line`` (line in the CSV file, header = 1), ``column``, ``value``,
        ``problem`` and ``severity`` (``"error"`` or ``"warning"``).  Empty when the
        data is clean.  Checks: required columns and values, duplicate ids, a
        defendant or victim whose ``case_id`` is not in cases, ``closed_date`` before
        ``filing_date``, ``outcome_date`` before ``charge_date``, values that do not
        parse (dates, booleans, numbers), values outside a category's allowed set
        (list items included), patterns and ranges, and a ``minor`` flag that
        contradicts ``age``.
    """
    if isinstance(data, Dataset):
        return data.problems()
    try:
        ds = read_dataset(data, validate=False)
    except DatasetError as exc:  # a file that cannot be parsed at all
        return exc.problems
    return ds.problems()


def _summary(problems: Any, limit: int = 10) -> str:
    errors = problems[problems["severity"] == "error"]
    lines = [f"{len(errors)} problem(s) found in the dataset:"]
    for rec in errors.head(limit).itertuples(index=False):
        where = rec.file
        if rec.line is not None and rec.line is not _pandas().NA:
            where += f", line {rec.line}"
        col = f", column {rec.column}" if rec.column else ""
        val = f" ({rec.value!r})" if rec.value not in ("", None) else ""
        lines.append(f"  {where}{col}: {rec.problem}{val}")
    if len(errors) > limit:
        lines.append(f"  ... and {len(errors) - limit} more; run traffickstats.validate() to see them all")
    return "\n".join(lines)


def _read_csv(path: Path, table: str) -> Table:
    """One CSV file as a Table: every column as text categories (lists split on ';')."""
    schema_ = {f["name"]: ("list<category>" if f["ts:type"] == "list<category>" else "category") for f in _fields(table)}
    import traffickstats

    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\r\n").split(",")
    # only an empty field is unknown: "NA" is Namibia's citizenship code
    return traffickstats.read_csv(str(path), schema={k: v for k, v in schema_.items() if k in header},
                                  list_sep=";", na_values=("",))


def _table_file(folder: Path, table: str) -> Path | None:
    """``folder/table.parquet`` when it exists, else ``folder/table.csv``, else None."""
    for ext in (".parquet", ".csv"):
        if (folder / (table + ext)).is_file():
            return folder / (table + ext)
    return None


def read_dataset(folder: str | os.PathLike, *, validate: bool = True, sensitive: bool = False,
                 name: str | None = None) -> Dataset:
    """Read ``cases``, ``defendants`` and ``victims`` from ``folder``.

    Each table is ``NAME.parquet`` when that file exists (read with
    :func:`traffickstats.read_parquet`; needs pyarrow), otherwise ``NAME.csv``.
    CSV conventions: a header row, dates as ``YYYY-MM-DD``, booleans ``true``/``false``,
    list values joined by ``;``, an empty field for unknown.

    Parameters
    ----------
    folder : str or os.PathLike
    validate : bool, default True
        Raise :class:`DatasetError` with a summary when any error is found (the full
        list is its ``problems`` attribute).  With ``False`` the data is read as well as
        it can be (unparseable values become unknown); see :func:`validate`.
    sensitive : bool, default False
        See :class:`Dataset`.
    name : str, optional
        A label for reports (defaults to the folder name).

    Returns
    -------
    Dataset
    """
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
        try:
            if path.suffix == ".parquet":
                import traffickstats

                tables[t] = traffickstats.read_parquet(path)
            else:
                tables[t] = _read_csv(path, t)
        except (ValueError, UnicodeDecodeError) as exc:  # ParseError is a ValueError
            pd = _pandas()
            line = getattr(exc, "line", None)
            msg = str(exc) if isinstance(exc, ValueError) else f"not UTF-8 text ({exc.reason})"
            problems = pd.DataFrame({"table": [t], "file": [str(path)],
                                     "row": pd.array([None if line is None else line - 2], dtype="Int64"),
                                     "line": pd.array([line], dtype="Int64"),
                                     "column": [getattr(exc, "column", None) or ""], "value": [""],
                                     "problem": [f"cannot be read: {msg}"], "severity": ["error"]})
            raise DatasetError(f"{path}: cannot be read: {msg}", problems) from None

    ds = Dataset(tables["cases"], tables["defendants"], tables["victims"], sensitive=sensitive,
                 name=name or folder.name)
    ds.source = str(folder)
    try:
        from .datasets import SYNTHETIC_NOTICE, sample_dir

        if folder.resolve() == sample_dir().resolve():
            ds.notice = SYNTHETIC_NOTICE
            ds.name = name or "traffickstats synthetic sample"
    except ImportError:  # pragma: no cover
        pass
    if validate:
        problems = ds.problems()
        if (problems["severity"] == "error").any():
            raise DatasetError(_summary(problems), problems)
    return ds
