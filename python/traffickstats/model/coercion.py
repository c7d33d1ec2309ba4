"""Value coercion and cleaning: any table-like input to the schema's column types.

A table (a traffickstats Table, a pandas DataFrame or a mapping of columns) becomes a
Table whose columns have the types of :func:`~traffickstats.schema` (:func:`_coerce_table`):
text is parsed (dates, booleans, numbers, ``;``-joined lists), whitespace around
values is removed, an empty text is unknown, a list counts each distinct item once.
Each change or value that cannot be read is recorded in a :class:`~.problems._Problems`.

Everything works on whole columns (NumPy arrays over the C core's buffers): nothing
loops over rows in Python.  Category-like values are parsed once per distinct value,
through the column's dictionary.
"""
from __future__ import annotations

import difflib
import re
from typing import Any, Callable, Mapping, cast

import numpy as np

from .. import _core
from ..engine.table import Column, Table, as_column
from .problems import _Problems
from .schema import _EPOCH, _fields, _pandas, _required


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
