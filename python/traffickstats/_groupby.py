"""Vectorized group-by aggregation on top of the C kernels in ``traffickstats._core``.

The work happens in two steps (see DESIGN.md section 4):

1. every key becomes dense int32 group codes (``-1`` for a dropped row): category
   codes are used as they are, small-range integers and dates index directly
   (``value - min``), everything else goes through an open-addressing hash table; several
   keys combine mixed-radix while the product of their cardinalities stays small and
   through a hash of the radix value otherwise;
2. one C pass per aggregate over those codes, split across threads whose partial
   states are merged.

Only groups that occur in the (selected) rows appear in the result, like pandas'
``groupby(..., observed=True)``.

Null semantics follow pandas
----------------------------
* Rows with a null key are dropped unless ``dropna=False``; then the null key forms
  its own group, sorted last.
* Aggregates skip null values, and float NaN counts as null (as in pandas).
* ``count`` is the number of non-null values, ``size`` the number of rows.
* A group with no valid value has ``sum`` 0, ``count`` 0, ``nunique`` 0, ``any``
  False, ``all`` True, and NaN ``mean``/``var``/``std``/``median``/``quantile``.
* ``min``/``max``/``first``/``last`` keep the column's dtype (int32, int64, bool;
  dates as ``datetime64[D]``; category and string as an object array of ``str``).
  When some group has no valid value the result is NaN for float columns, ``NaT`` for
  dates, ``None`` for labels, and for int and bool columns the array is a
  :class:`numpy.ma.MaskedArray` with those groups masked (``to_pandas`` turns it into
  a nullable ``Int64``/``boolean`` column, as pandas' nullable dtypes give ``<NA>``).

Numerics
--------
Float sums are compensated (Kahan) per group and per thread, and the partial states
merge compensated too; an infinity switches that column to a plain sum so that it
stays +-inf (or NaN for inf - inf) like pandas.  ``mean`` is that sum over the count.
``var``/``std`` use two passes (the compensated mean, then a compensated sum of squared
deviations from it) rather than Welford's update: as accurate, mergeable, and without a
division per row.  When the same column also has a ``median``/``quantile``, the
moments come from the values the order-statistics pass already grouped.
``median``/``quantile`` counting-sort the values by group and select per group.

Threads
-------
``threads=None`` uses every core (at most 8) from 10^6 rows on.  Each thread keeps its
own partial states for a contiguous range of rows (or, with many groups, owns a range
of group codes), merged in row order: integer results are identical for any thread
count, float sums agree to rounding.

Result dtypes
-------------
``count``, ``size``, ``nunique``: int64.  ``mean``, ``var``, ``std`` (``ddof=1``),
``median``, ``quantile``: float64.  ``sum``: int64 for bool and integer columns (an
overflow raises :class:`OverflowError`, never wraps), float64 for float columns (a
compensated sum).  ``any``/``all``: bool.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from traffickstats import _core

__all__ = [
    "DatePart",
    "year",
    "month",
    "GroupBy",
    "GroupByResult",
    "Crosstab",
    "group_by",
    "value_counts",
    "crosstab",
]

FUNCS = (
    "count", "size", "sum", "mean", "min", "max", "var", "std", "median", "quantile",
    "nunique", "any", "all", "first", "last",
)
_NUMERIC = ("bool", "int32", "int64", "float64")
_PART = {"year": 1, "month": 2}
# A multi-key radix code space larger than this (and than the row count) is hashed.
_RADIX_MIN = 1 << 16
# Float sums of several columns share one pass when there are at most this many codes.
_FUSE_MAX_CODES = 1 << 16
# Inputs with at least this many rows use all cores unless threads= says otherwise.
_THREAD_ROWS = 1_000_000
# From this many rows, float sums and means by one int key with a small range of
# values read the key itself (code = key - origin) instead of building a codes array.
_KEYED_ROWS = 1 << 16
# The label of the null group appended to a key's labels: np.append(labels, _NULL_LABEL)
# is np.append(labels, None), spelled as the object array that None becomes there.
_NULL_LABEL = np.array([None], dtype=object)


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class DatePart:
    """A key derived from a date column without materialising a new column.

    Parameters
    ----------
    column : str
        Name of a date column.
    part : {"year", "month"}
        Calendar year, or month of the year (1-12).
    """

    column: str
    part: str

    @property
    def name(self) -> str:
        """The result column name: the part's name (``"year"`` or ``"month"``)."""
        return self.part


def year(column: str) -> DatePart:
    """Group key: the calendar year of a date column (``ts.year("filing_date")``)."""
    return DatePart(column, "year")


def month(column: str) -> DatePart:
    """Group key: the month (1-12) of a date column."""
    return DatePart(column, "month")


@dataclass
class _Col:
    """Uniform view of one input column (a traffickstats Column or a NumPy array)."""

    name: str
    kind: str                       # bool int32 int64 float64 date category string list
    values: np.ndarray              # codes for category, bytes for string, items for list
    valid: np.ndarray | None        # bool mask, None when no nulls
    offsets: np.ndarray | None = None
    categories: np.ndarray | None = None   # object array of str (category, list)

    def __len__(self) -> int:
        if self.offsets is not None:
            return len(self.offsets) - 1
        return len(self.values)


def _native(a: np.ndarray) -> np.ndarray:
    """Contiguous, native-endian copy of `a` when it is not already."""
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return np.ascontiguousarray(a)


def _from_array(name: str, a: Any) -> _Col:
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"column {name!r}: expected a 1-d array, got {a.ndim} dimensions")
    a = _native(a)
    k = a.dtype.kind
    if k == "b":
        return _Col(name, "bool", a, None)
    if k in "iu":
        if a.dtype.itemsize < 4 or (k == "u" and a.dtype.itemsize == 4):
            a = a.astype(np.int64 if a.dtype.itemsize == 4 else np.int32)
        elif k == "u":
            if a.size and a.max() > np.iinfo(np.int64).max:
                raise OverflowError(f"column {name!r}: uint64 values beyond the int64 range")
            a = a.astype(np.int64)
        return _Col(name, "int32" if a.dtype.itemsize == 4 else "int64", a, None)
    if k == "f":
        if a.dtype.itemsize not in (4, 8):
            a = a.astype(np.float64)
        return _Col(name, "float64", a, None)
    if k == "M":
        days = a.astype("datetime64[D]")
        nat = np.isnat(days)
        vals = days.view(np.int64)
        if vals.size and (vals[~nat].min(initial=0) < -(2**31) or vals[~nat].max(initial=0) >= 2**31):
            raise OverflowError(f"column {name!r}: dates outside the int32 day range")
        vals = np.where(nat, 0, vals).astype(np.int32)
        return _Col(name, "date", vals, ~nat if nat.any() else None)
    if k in "OUS":
        return _strings_col(name, list(a))
    raise TypeError(f"column {name!r}: unsupported dtype {a.dtype}")


def _strings_col(name: str, seq: Sequence[Any]) -> _Col:
    valid = np.array([s is not None for s in seq], dtype=bool)
    enc = [b"" if s is None else str(s).encode("utf-8") for s in seq]
    lens = np.fromiter((len(e) for e in enc), dtype=np.int64, count=len(enc))
    offsets = np.zeros(len(enc) + 1, dtype=np.int32)
    np.cumsum(lens, out=offsets[1:])
    data = np.frombuffer(b"".join(enc), dtype=np.uint8)
    return _Col(name, "string", data, None if valid.all() else valid, offsets=offsets)


def _from_column(name: str, col: Any) -> _Col:
    kind = col.type
    valid = col.valid if col.null_count else None
    if kind == "list<category>":
        return _Col(name, "list", col.values, valid, offsets=col.offsets,
                    categories=np.asarray(col.categories, dtype=object))
    if kind == "category":
        return _Col(name, "category", col.codes, valid,
                    categories=np.asarray(col.categories, dtype=object))
    if kind == "string":
        return _Col(name, "string", col.values, valid, offsets=col.offsets)
    return _Col(name, kind, col.values, valid)


def _get(data: Any, name: str) -> _Col:
    if isinstance(data, Mapping):
        if name not in data:
            raise KeyError(f"no column named {name!r}; columns: {list(data)}")
        v = data[name]
        if isinstance(v, _core.Column):
            return _from_column(name, v)
        return _from_array(name, v)
    try:
        col = data.column(name)
    except KeyError:
        raise KeyError(f"no column named {name!r}; columns: {list(data.column_names)}") from None
    return _from_column(name, col)


def _nrows(data: Any) -> int:
    if isinstance(data, Mapping):
        lens = {len(_get(data, k)) for k in data}
        if len(lens) > 1:
            raise ValueError(f"columns differ in length: {sorted(lens)}")
        return lens.pop() if lens else 0
    return int(data.num_rows)


@dataclass
class _Key:
    """Dense codes of one key plus what is needed to decode and sort them."""

    name: str
    codes: np.ndarray | None   # int32, -1 = dropped; None for an exploded list key and the keyed path
    ncodes: int
    rank: np.ndarray | None    # sort position of each code (None: code order is key order)
    labels: Callable[[np.ndarray], np.ndarray]   # codes -> key values
    kind: str
    categories: np.ndarray | None = None


def _range_limit(n: int) -> int:
    return min(max(2 * n, 1 << 16), 1 << 26)


def _encode_numeric(name: str, col: _Col, part: int, dropna: bool, kind: str,
                    nthreads: int = 1) -> _Key:
    codes, ncodes, lo, uniques, nullcode = _core._gb_encode_num(
        col.values, col.valid, part, dropna, nthreads)
    return _numeric_key(name, codes, ncodes, lo, uniques, nullcode, kind,
                        col.values.dtype.kind == "f")


def _numeric_key(name: str, codes: np.ndarray | None, ncodes: int, lo: int,
                 uniques: np.ndarray | None, nullcode: int, kind: str, isfloat: bool) -> _Key:
    """The key of codes from ``_gb_encode_num`` (range codes when `uniques` is None)."""
    if uniques is None:
        base = lo
        rank = None
        if kind == "bool":
            def raw(c: np.ndarray) -> np.ndarray:
                return (base + c).astype(bool)
        elif kind == "date":
            def raw(c: np.ndarray) -> np.ndarray:
                return (base + c.astype(np.int64)).astype("datetime64[D]")
        elif kind == "int32":
            def raw(c: np.ndarray) -> np.ndarray:
                return (base + c.astype(np.int64)).astype(np.int32)
        else:
            def raw(c: np.ndarray) -> np.ndarray:
                return base + c.astype(np.int64)
    else:
        uq = uniques.view(np.float64) if isfloat else uniques
        if kind == "int32":
            uq = uq.astype(np.int32)
        elif kind == "date":
            uq = uq.astype("datetime64[D]")
        order = np.argsort(uq, kind="stable")
        rank = np.empty(ncodes, dtype=np.int64)
        rank[order] = np.arange(len(uq))
        if nullcode >= 0:
            rank[nullcode] = len(uq)

        def raw(c: np.ndarray) -> np.ndarray:
            return uq[c]
    nulls = nullcode

    def labels(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=np.int64)
        if nulls < 0 or not (c == nulls).any():
            return raw(c)
        isnull = c == nulls
        vals = raw(np.where(isnull, 0, c))
        if kind == "date":
            vals[isnull] = np.datetime64("NaT")
            return vals
        if kind == "float64":
            return np.where(isnull, np.nan, vals)
        return np.ma.MaskedArray(vals, mask=isnull)

    return _Key(name, codes, ncodes, rank, labels, kind)


def _decode_strings(col: _Col, rows: np.ndarray) -> np.ndarray:
    out = np.empty(len(rows), dtype=object)
    # (numpy types ndarray as a Buffer only for Python >= 3.12; it is one on every version)
    data = col.values.tobytes() if len(col.values) < (1 << 16) else memoryview(np.ascontiguousarray(col.values))  # type: ignore[arg-type]
    off = col.offsets
    assert off is not None  # a string column has offsets
    for k, r in enumerate(rows.tolist()):
        if r < 0 or (col.valid is not None and not col.valid[r]):
            out[k] = None
        else:
            out[k] = bytes(data[off[r]:off[r + 1]]).decode("utf-8")
    return out


def _encode_string(name: str, col: _Col, dropna: bool) -> _Key:
    assert col.offsets is not None  # a string column has offsets
    codes, ncodes, first_rows, nullcode = _core._gb_encode_str(
        col.offsets, col.values, col.valid, dropna)
    uq = _decode_strings(col, first_rows)
    order = np.array(sorted(range(len(uq)), key=uq.__getitem__), dtype=np.int64)
    rank = np.empty(ncodes, dtype=np.int64)
    rank[order] = np.arange(len(uq))
    if nullcode >= 0:
        rank[nullcode] = len(uq)
    full = np.append(uq, _NULL_LABEL) if nullcode >= 0 else uq

    def labels(c: np.ndarray) -> np.ndarray:
        return full[np.asarray(c, dtype=np.int64)]
    return _Key(name, codes, ncodes, rank, labels, "string")


def _encode_category(name: str, col: _Col, dropna: bool) -> _Key:
    cats = col.categories
    assert cats is not None  # a category column has categories
    ncodes = len(cats)
    codes = col.values
    if not dropna and col.valid is not None:
        codes = np.where(codes < 0, np.int32(ncodes), codes).astype(np.int32)
        ncodes += 1
    full = np.append(cats, _NULL_LABEL) if ncodes > len(cats) else cats

    def labels(c: np.ndarray) -> np.ndarray:
        return full[np.asarray(c, dtype=np.int64)]
    return _Key(name, codes, ncodes, None, labels, "category", categories=cats)


def _encode_key(data: Any, spec: Any, dropna: bool, nthreads: int = 1) -> tuple[_Key | None, _Col]:
    if isinstance(spec, DatePart):
        col = _get(data, spec.column)
        if spec.part not in _PART:
            raise ValueError(f"unknown date part {spec.part!r}")
        if col.kind != "date":
            raise TypeError(f"{spec.part}() needs a date column; {spec.column!r} is {col.kind}")
        key = _encode_numeric(spec.part, col, _PART[spec.part], dropna, "int32")
        return key, col
    if not isinstance(spec, str):
        raise TypeError(f"a group key is a column name or year()/month(), got {spec!r}")
    col = _get(data, spec)
    if col.kind == "category":
        return _encode_category(spec, col, dropna), col
    if col.kind == "string":
        return _encode_string(spec, col, dropna), col
    if col.kind == "list":
        return None, col  # exploded by the caller
    return _encode_numeric(spec, col, 0, dropna, col.kind, nthreads), col


def _list_key(name: str, col: _Col, items: np.ndarray | None, dropna: bool) -> _Key:
    cats = col.categories
    assert cats is not None  # a list<category> column has categories
    ncodes = len(cats) + (0 if dropna else 1)
    full = np.append(cats, _NULL_LABEL) if not dropna else cats

    def labels(c: np.ndarray) -> np.ndarray:
        return full[np.asarray(c, dtype=np.int64)]
    return _Key(name, items, ncodes, None, labels, "category", categories=cats)


# --------------------------------------------------------------------------- result


class GroupByResult:
    """The result of a group-by: one NumPy array per output column.

    Key columns come first (category and string keys as object arrays of their
    labels, dates as ``datetime64[D]``), then the aggregates in the order given.
    ``res["name"]`` returns a column, ``len(res)`` the number of groups,
    ``res.to_pandas()`` a tidy DataFrame and ``res.to_dict()`` a dict of arrays.
    """

    # the q values of each several-quantile column; set by GroupBy.agg, absent otherwise
    _quantiles: dict[str, list[float]]

    def __init__(self, columns: dict[str, np.ndarray], key_names: Sequence[str],
                 categories: Mapping[str, np.ndarray] | None = None) -> None:
        self._columns = dict(columns)
        self.key_names = tuple(key_names)
        self._categories = dict(categories or {})

    @property
    def columns(self) -> list[str]:
        """Output column names: keys first, then aggregates."""
        return list(self._columns)

    def keys(self) -> list[str]:
        """Output column names (as ``columns``)."""
        return list(self._columns)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._columns[name]
        except KeyError:
            raise KeyError(f"no result column {name!r}; columns: {self.columns}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __len__(self) -> int:
        for v in self._columns.values():
            return len(v)
        return 0

    def to_dict(self) -> dict[str, np.ndarray]:
        """A new dict mapping each output column name to its array."""
        return dict(self._columns)

    def to_pandas(self) -> Any:
        """A tidy pandas DataFrame: one row per group, keys as columns.

        Category keys become ``pandas.Categorical`` with the column's categories;
        masked int/bool results become nullable ``Int64``/``boolean`` columns; a
        several-quantile result becomes one column per quantile (``name_q``).
        """
        import pandas as pd

        out: dict[str, Any] = {}
        for name, v in self._columns.items():
            if name in self._categories:
                out[name] = pd.Categorical(list(v), categories=list(self._categories[name]))
            elif isinstance(v, np.ma.MaskedArray):
                data = np.ma.getdata(v)
                mask = np.ma.getmaskarray(v)
                if data.dtype.kind == "b":
                    out[name] = pd.array(data, dtype="boolean")
                else:
                    out[name] = pd.array(data.astype(np.int64), dtype="Int64")
                out[name][mask] = pd.NA
            elif v.ndim == 2:
                qs = self._quantiles.get(name, range(v.shape[1])) if hasattr(self, "_quantiles") else range(v.shape[1])
                for j, q in enumerate(qs):
                    out[f"{name}_{q:g}"] = v[:, j]
            else:
                out[name] = v
        return pd.DataFrame(out)

    def __repr__(self) -> str:
        n = len(self)
        lines = [f"GroupByResult: {n} groups, columns {self.columns}"]
        show = min(n, 10)
        for i in range(show):
            cells = []
            for name, v in self._columns.items():
                x = v[i]
                x = x.tolist() if isinstance(x, (np.ndarray, np.generic)) else x
                cells.append(f"{name}={x!r}")
            lines.append("  " + ", ".join(cells))
        if n > show:
            lines.append(f"  ... ({n - show} more)")
        return "\n".join(lines)


@dataclass
class Crosstab:
    """A two-way frequency table: ``counts[i, j]`` rows with ``index[i]``, ``columns[j]``.

    Only observed row and column labels appear, sorted like group keys.
    """

    index: np.ndarray
    columns: np.ndarray
    counts: np.ndarray
    row_name: str
    col_name: str

    def to_pandas(self) -> Any:
        """The table as a DataFrame shaped like ``pandas.crosstab``."""
        import pandas as pd

        return pd.DataFrame(self.counts, index=pd.Index(self.index, name=self.row_name),
                            columns=pd.Index(self.columns, name=self.col_name))


# --------------------------------------------------------------------------- engine


def _threads(threads: int | None, n: int) -> int:
    if threads is None:
        return min(os.cpu_count() or 1, 8) if n >= _THREAD_ROWS else 1
    threads = int(threads)
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    return threads


def _where_mask(where: Any, n: int) -> np.ndarray | None:
    if where is None:
        return None
    if isinstance(where, _core.Column):
        if where.type != "bool":
            raise TypeError(f"where= must be a bool mask, got a {where.type} column")
        m = np.asarray(where.values, dtype=bool)
        if where.null_count:
            m = m & where.valid
    else:
        m = np.asarray(where)
        if m.dtype != np.bool_:
            raise TypeError(f"where= must be a bool mask, got dtype {m.dtype}")
    if m.ndim != 1 or len(m) != n:
        raise ValueError(f"where= has {m.size} elements, the table has {n} rows")
    return m


def _as_data(data: Any) -> Any:
    """A Table, or a dict of arrays, from anything ``Table`` accepts (a DataFrame, an Arrow object)."""
    if isinstance(data, (_core.Table, Mapping)):
        return data
    from .table import Table

    try:
        return Table(data)   # a pandas DataFrame (Table() knows one when it sees it)
    except TypeError:
        if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
            return Table.from_arrow(data)
        raise TypeError(f"group_by needs a Table, a pandas DataFrame, an Arrow table or a dict of arrays, "
                        f"got {type(data).__name__}") from None


class GroupBy:
    """A pending group-by; call :meth:`agg` or :meth:`size` to compute it.

    Built by :meth:`Table.group_by` / :func:`group_by`; see the module docstring for
    null semantics and result dtypes.
    """

    # the group code of each row; None after _keyed_sums, which reads the key column instead
    _codes: np.ndarray | None
    _decode: Callable[[np.ndarray], list[np.ndarray]]   # observed codes -> each key's codes

    def __init__(self, data: Any, keys: Any, dropna: bool = True, sort: bool = True,
                 where: Any = None, threads: int | None = None) -> None:
        if isinstance(keys, (str, DatePart)):
            keys = [keys]
        keys = list(keys)
        if not keys:
            raise ValueError("group_by needs at least one key")
        data = _as_data(data)
        self._data = data
        self._specs = keys
        self._dropna = bool(dropna)
        self._sort = bool(sort)
        self._n = _nrows(data)
        self._where = _where_mask(where, self._n)
        self._nthreads = _threads(threads, self._n)
        self._prepared = False

    # ---- step 1: codes ---------------------------------------------------
    def _prepare(self) -> None:
        """Step 1: dense codes for the rows (sizes and group order come later)."""
        if self._prepared:
            return
        n, dropna = self._n, self._dropna
        names = [s.name if isinstance(s, DatePart) else s for s in self._specs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate group keys: {names}")
        encoded = [_encode_key(self._data, s, dropna, self._nthreads) for s in self._specs]
        lists = [i for i, (k, _) in enumerate(encoded) if k is None]
        if len(lists) > 1:
            raise ValueError("at most one list<category> key can be exploded")
        self._rows: np.ndarray | None = None
        self._exploded = False
        where = self._where
        decode: Callable[[np.ndarray], list[np.ndarray]]
        if lists:
            li = lists[0]
            lcol = encoded[li][1]
            # only the list key (at li) has no codes of its own
            others = [k for i, (k, _) in enumerate(encoded) if i != li and k is not None]
            # combine the other keys on the original rows, then explode the list into
            # the last radix digit; key_pos maps combination order back to key order
            if others:
                codes, ncodes, dec = self._combine(others, n)
            else:
                codes, ncodes, dec = np.zeros(n, np.int32), 1, (lambda c: [])
            if where is not None:
                codes = np.where(where, codes, np.int32(-1)).astype(np.int32)
            assert lcol.categories is not None and lcol.offsets is not None  # a list<category> column
            nl = len(lcol.categories) + (0 if dropna else 1)
            empty = -1 if dropna else len(lcol.categories)
            lkey = _list_key(names[li], lcol, None, dropna)
            row_codes = codes
            if ncodes * nl < 2**31:
                # the list key is the last radix digit of the exploded codes
                codes, _ = _core._gb_explode(codes, ncodes, lcol.offsets, lcol.values, lcol.valid,
                                             nl, empty, False, self._nthreads)
                ncodes_all = ncodes * nl

                def decode(c: np.ndarray, dec=dec, nl=nl) -> list[np.ndarray]:
                    c = np.asarray(c, dtype=np.int64)
                    return dec(c // nl) + [c % nl]
            else:
                # too many combinations for one radix code: explode, then hash-combine
                items, rows = _core._gb_explode(np.where(codes >= 0, 0, -1).astype(np.int32), 1,
                                                lcol.offsets, lcol.values, lcol.valid, nl, empty, True,
                                                self._nthreads)
                self._rows = rows
                base = np.ascontiguousarray(np.take(codes, rows))
                codes, ncodes_all, uq = _core._gb_combine(base, ncodes, items, nl, True)

                def decode(c: np.ndarray, dec=dec, nl=nl, uq=uq) -> list[np.ndarray]:
                    r = uq[np.asarray(c, dtype=np.int64)]
                    return dec(r // nl) + [r % nl]
            # the source row of each exploded element, computed when a value is aggregated
            self._explode_args = (row_codes, lcol, nl, empty)
            self._exploded = True
            keys = others + [lkey]
            order_keys = list(range(len(others)))
            order_keys.insert(li, len(others))
            self._key_pos = order_keys           # key i of the user's list is keys[order_keys[i]]
            codes = np.ascontiguousarray(codes, dtype=np.int32)
            ncodes = ncodes_all
        else:
            keys = [k for k, _ in encoded if k is not None]  # (no list key: none is None)
            codes, ncodes, decode = self._combine(keys, n)
            self._key_pos = list(range(len(keys)))
            if where is not None:
                codes = np.where(where, codes, np.int32(-1)).astype(np.int32, copy=False)
            codes = np.ascontiguousarray(codes, dtype=np.int32)
        self._codes, self._ncodes = codes, ncodes
        self._decode = decode
        self._keys = keys
        self._sizes_cs: np.ndarray | None = None
        self._prepared = True

    def _combine(self, keys: list[_Key], nrows: int
                 ) -> tuple[np.ndarray, int, Callable[[np.ndarray], list[np.ndarray]]]:
        """Combine keys left to right into one code; the decoder maps codes back to parts."""
        codes, ncodes = keys[0].codes, keys[0].ncodes
        assert codes is not None  # (only an exploded list key has none; it is never combined)
        self._sorted_codes = all(k.rank is None for k in keys)
        dec: Callable[[np.ndarray], list[np.ndarray]] = _decode_one
        for k in keys[1:]:
            nb = k.ncodes
            product = ncodes * nb
            use_hash = product > max(_RADIX_MIN, nrows) or product >= 2**31
            assert k.codes is not None
            codes, ncodes, uniques = _core._gb_combine(codes, ncodes, k.codes, nb, use_hash)
            if uniques is None:
                def dec(c: np.ndarray, prev=dec, nb=nb) -> list[np.ndarray]:
                    c = np.asarray(c, dtype=np.int64)
                    return prev(c // nb) + [c % nb]
            else:
                self._sorted_codes = False

                def dec(c: np.ndarray, prev=dec, nb=nb, uq=uniques) -> list[np.ndarray]:
                    r = uq[np.asarray(c, dtype=np.int64)]
                    return prev(r // nb) + [r % nb]
        return codes, ncodes, dec

    def _finish(self) -> None:
        """Observed groups, their order, and the key columns (after the aggregates ran)."""
        if self._sizes_cs is None:
            assert self._codes is not None  # (None only on the keyed path, which never gets here)
            _, _, self._sizes_cs, _ = _core._gb_agg(self._codes, self._ncodes, "size", None, None,
                                                    self._nthreads)
        sizes = self._sizes_cs
        obs = np.flatnonzero(sizes)
        parts = self._decode(obs)
        keys = self._keys
        if self._sort:
            if self._exploded or not self._sorted_codes:
                # radix codes of sorted keys are already in key order; otherwise sort
                sortkeys = [r[parts[p]] if (r := keys[p].rank) is not None else parts[p]
                            for p in self._key_pos]
                order = np.lexsort(sortkeys[::-1]) if len(obs) else np.zeros(0, np.int64)
            else:
                order = None
        else:
            assert self._codes is not None  # (None only on the keyed path, which never gets here)
            first = _core._gb_first_rows(self._codes, self._ncodes)
            order = np.argsort(first[obs], kind="stable")
        if order is not None:
            obs = obs[order]
            parts = [p[order] for p in parts]
        self._obs = obs
        self._sizes = sizes[obs]
        self._parts = [parts[p] for p in self._key_pos]
        ordered = [keys[p] for p in self._key_pos]
        self._ordered_keys = ordered
        self._key_columns = {k.name: k.labels(p) for k, p in zip(ordered, self._parts)}
        self._categories = {k.name: k.categories for k in ordered
                            if k.kind == "category" and k.categories is not None}  # (a category key has them)

    # ---- step 2: aggregates -----------------------------------------------
    def _value_col(self, name: str) -> _Col:
        cache = self.__dict__.setdefault("_colcache", {})
        if name not in cache:
            cache[name] = self._load_value_col(name)
        return cache[name]

    def _load_value_col(self, name: str) -> _Col:
        col = _get(self._data, name)
        if self._exploded:
            if self._rows is None:
                row_codes, lcol, nl, empty = self._explode_args
                assert lcol.offsets is not None  # a list<category> column
                _, self._rows = _core._gb_explode(np.where(row_codes >= 0, 0, -1).astype(np.int32), 1,
                                                  lcol.offsets, lcol.values, lcol.valid, nl, empty, True,
                                                  self._nthreads)
            rows = self._rows
            if col.offsets is not None:
                raise TypeError(f"column {name!r}: a {col.kind} column cannot be aggregated "
                                "over an exploded list key")
            col = _Col(col.name, col.kind, np.take(col.values, rows),
                       None if col.valid is None else np.take(col.valid, rows),
                       categories=col.categories)
        return col

    def _run(self, op: str, vals: Any, valid: np.ndarray | None, mean: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, int]:
        assert self._codes is not None  # (None only on the keyed path, which never gets here)
        if mean is None:
            res, cnt, rows, flag = _core._gb_agg(self._codes, self._ncodes, op, vals, valid,
                                                 self._nthreads)
        else:
            res, cnt, rows, flag = _core._gb_agg(self._codes, self._ncodes, op, vals, valid,
                                                 self._nthreads, mean)
        if self._sizes_cs is None:
            self._sizes_cs = rows
        return res, cnt, flag

    def _size_of(self, obs: np.ndarray) -> np.ndarray:
        """Rows in each of the groups `obs` (called once the aggregates have run)."""
        assert self._sizes_cs is not None  # every aggregate pass sets it, and _finish
        return self._sizes_cs[obs]

    def _one(self, out_name: str, column: str, func: str, q: Any
             ) -> Callable[[np.ndarray], np.ndarray]:
        """Runs one aggregate over all codes; returns a function of the observed codes."""
        col = self._value_col(column)
        kind = col.kind

        def plain(a: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
            return lambda obs: a[obs]

        if func == "size":
            return self._size_of
        if func == "count":
            if col.valid is None and kind not in ("float64",):
                return self._size_of
            vals = col.values if col.offsets is None else col.valid
            _, cnt, _ = self._run("count", vals, col.valid)
            return plain(cnt)
        if func == "nunique":
            return plain(self._nunique(col))
        if func in ("first", "last"):
            vals = col.values if col.offsets is None else (col.valid if col.valid is not None
                                                             else np.ones(len(col), bool))
            rows, _, _ = self._run(func, vals, col.valid)
            return lambda obs: _take_rows(col, rows[obs])
        if kind not in _NUMERIC and not (kind == "date" and func in ("min", "max")):
            raise TypeError(f"{out_name}: cannot compute {func} of {kind} column {column!r}")
        v, m = col.values, col.valid
        if func == "sum":
            if kind == "float64":
                return plain(self._fsum(column, v, m)[0])
            res, _, overflow = self._run("isum", v, m)
            if overflow:
                raise OverflowError(f"{out_name}: the int64 sum of {column!r} overflows")
            return plain(res)
        if func == "mean":
            s, cnt = self._fsum(column, v, m)
            with np.errstate(invalid="ignore", divide="ignore"):
                return plain(s / np.where(cnt == 0, np.nan, cnt))
        if func in ("var", "std"):
            moments = self._moment_cache.get(column)
            if moments is not None:
                s, cnt, m2 = moments   # from the median/quantile pass over this column
            else:
                s, cnt = self._fsum(column, v, m)
            with np.errstate(invalid="ignore", divide="ignore"):
                mu = s / np.where(cnt == 0, np.nan, cnt)
                if moments is None:
                    m2, _, _ = self._run("m2", v, m, np.ascontiguousarray(mu))
                var = m2 / np.where(cnt <= 1, np.nan, cnt - 1)
                var[~np.isfinite(mu)] = np.nan
            return plain(np.sqrt(var) if func == "std" else var)
        if func in ("median", "quantile"):
            if func == "median":
                qs = np.array([0.5])
            else:
                qs = np.atleast_1d(np.asarray(0.5 if q is None else q, dtype=np.float64))
                if qs.ndim != 1 or qs.size == 0:
                    raise ValueError(f"{out_name}: quantile needs one or several q in [0, 1]")
                if not np.all((qs >= 0) & (qs <= 1)):
                    raise ValueError(f"{out_name}: quantiles must lie in [0, 1], got {qs.tolist()}")
            assert self._codes is not None  # (None only on the keyed path, which never gets here)
            if column in self._moment_cols and column not in self._moment_cache:
                res, cnt, s, m2, rows = _core._gb_quantile(self._codes, self._ncodes, v, m, qs,
                                                           self._nthreads, func == "median", True)
                self._moment_cache[column] = (s, cnt, m2)
            else:
                res, _, rows = _core._gb_quantile(self._codes, self._ncodes, v, m, qs,
                                                  self._nthreads, func == "median")
            if self._sizes_cs is None:
                self._sizes_cs = rows   # the group sizes come with the counting pass
            if func == "median" or np.ndim(q) == 0:
                return plain(res[:, 0])
            self._quantiles[out_name] = qs.tolist()
            return plain(res)
        if func in ("any", "all"):
            nz, cnt, _ = self._run("any", v, m)
            return plain(nz > 0) if func == "any" else plain(nz == cnt)
        if func in ("min", "max"):
            res, cnt, _ = self._run(func, v, m)
            missing = cnt == 0

            def finish(obs: np.ndarray) -> np.ndarray:
                r, miss = res[obs], missing[obs]
                if kind == "float64":
                    r[miss] = np.nan
                    return r
                if kind == "date":
                    out = r.astype("datetime64[D]")
                    out[miss] = np.datetime64("NaT")
                    return out
                out = r.astype(v.dtype)
                if miss.any():
                    return np.ma.MaskedArray(out, mask=miss)
                return out
            return finish
        raise ValueError(f"{out_name}: unknown function {func!r}; use one of {', '.join(FUNCS)}")

    def _fsum(self, column: str, v: np.ndarray, m: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray]:
        cached = self.__dict__.get("_fsum_cache", {}).get(column)
        if cached is not None:
            return cached
        s, cnt, inf = self._run("sum", v, m)
        if inf:
            # an infinity breaks the compensation term: redo as a plain sum (inf stays inf)
            s, cnt, _ = self._run("psum", v, m)
        return s, cnt

    def _fused_sums(self, specs: list[tuple[str, str, str, Any]]) -> None:
        """Compensated sums of every float64 column that sum/mean/var/std need, in one pass."""
        self._fsum_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        names: list[str] = []
        for _, column, func, _ in specs:
            if func in ("sum", "mean", "var", "std") and column not in names:
                try:
                    col = self._value_col(column)
                except (KeyError, TypeError):
                    continue  # reported with context by _one
                if col.kind == "float64" and col.values.dtype == np.float64:
                    names.append(column)
        if len(names) < 2 or self._ncodes > _FUSE_MAX_CODES:
            # with many groups the states of several columns per row cost more cache
            # misses than a second pass over the codes
            return
        assert self._codes is not None  # (None only on the keyed path, which never gets here)
        for start in range(0, len(names), 16):
            chunk = names[start:start + 16]
            cols = [self._value_col(c) for c in chunk]
            sums, counts, rows, flags = _core._gb_fsum_many(
                self._codes, self._ncodes, [c.values for c in cols], [c.valid for c in cols],
                self._nthreads)
            if self._sizes_cs is None:
                self._sizes_cs = rows
            for k, (name, col) in enumerate(zip(chunk, cols)):
                if flags >> k & 1:
                    # an infinity breaks the compensation term: redo as a plain sum
                    s, cnt, _ = self._run("psum", col.values, col.valid)
                    self._fsum_cache[name] = (s, cnt)
                else:
                    self._fsum_cache[name] = (sums[k], counts[k])

    def _keyed_sums(self, specs: list[tuple[str, str, str, Any]]) -> bool:
        """Sums and means of float64 columns by one int key, without a codes array.

        When the only key is an int32/int64/date column without nulls whose values
        span a small range, and every aggregate is a float64 sum or mean (or size),
        one C pass reads the key and computes each row's group as key - origin.  The
        origin and range are guessed from a sample, widened by an eighth on each
        side; a key outside the guess makes the pass return None, and like an
        infinity in a sum (which needs the plain-sum redo) that sends the query down
        the general path.  Sets what ``_prepare`` and ``_fused_sums`` would; returns
        whether it did.
        """
        spec = self._specs[0]
        if (len(self._specs) != 1 or not isinstance(spec, str) or self._where is not None
                or not self._sort or self._n < _KEYED_ROWS
                or any(f not in ("sum", "mean", "size") for _, _, f, _ in specs)):
            return False
        try:
            kcol = _get(self._data, spec)
        except KeyError:
            return False  # reported by the general path
        if kcol.kind not in ("int32", "int64", "date") or kcol.valid is not None:
            return False
        self._rows = None
        self._exploded = False   # (an int key), read by _value_col
        names: list[str] = []
        for _, column, func, _ in specs:
            if func != "size" and column not in names:
                try:
                    col = self._value_col(column)
                except (KeyError, TypeError):
                    return False  # reported with context by the general path
                if col.kind != "float64" or col.values.dtype != np.float64:
                    return False
                names.append(column)
        if not 1 <= len(names) <= 16:
            return False
        keys = kcol.values
        sample = keys[:: max(1, len(keys) // 4096)]
        lo, hi = int(sample.min()), int(sample.max())
        pad = (hi - lo) // 8 + 1
        origin, ncodes = lo - pad, hi - lo + 1 + 2 * pad
        if ncodes >= _FUSE_MAX_CODES or origin < np.iinfo(np.int64).min:
            return False
        cols = [self._value_col(c) for c in names]
        out = _core._gb_fsum_many(keys, ncodes, [c.values for c in cols],
                                  [c.valid for c in cols], self._nthreads, origin)
        if out is None or out[3]:
            return False
        sums, counts, rows, _ = out
        self._key_pos = [0]
        self._sorted_codes = True
        self._keys = [_numeric_key(spec, None, ncodes, origin, None, -1, kcol.kind, False)]
        self._codes, self._ncodes = None, ncodes
        self._decode = _decode_one
        self._sizes_cs = rows
        self._fsum_cache = {name: (sums[k], counts[k]) for k, name in enumerate(names)}
        return True

    def _nunique(self, col: _Col) -> np.ndarray:
        if col.kind == "category":
            assert col.categories is not None
            vcodes, nv = col.values, len(col.categories)
        elif col.kind == "string":
            assert col.offsets is not None
            vcodes, nv, _, _ = _core._gb_encode_str(col.offsets, col.values, col.valid, True)
        elif col.kind == "list":
            raise TypeError(f"cannot count distinct values of list column {col.name!r}")
        else:
            vcodes, nv, _, _, _ = _core._gb_encode_num(col.values, col.valid, 0, True)
        assert self._codes is not None  # (None only on the keyed path, which never gets here)
        nc = self._ncodes
        product = nc * nv
        if product <= max(_RADIX_MIN, len(vcodes)) and product < 2**31:
            pair, npair, _ = _core._gb_combine(self._codes, nc, vcodes, nv, False)
            _, _, present, _ = _core._gb_agg(pair, npair, "size", None, None, self._nthreads)
            per = (present.reshape(nc, nv) > 0).sum(axis=1) if nv else np.zeros(nc, np.int64)
        else:
            _, _, uniques = _core._gb_combine(self._codes, nc, vcodes, nv, True)
            per = np.bincount(uniques // nv, minlength=nc)
        return per.astype(np.int64)

    # ---- public ------------------------------------------------------------
    def agg(self, **named: Any) -> GroupByResult:
        """Compute named aggregates: ``agg(n=("victim_id", "count"), ...)``.

        Each value is ``(column, func)`` or, for quantiles, ``(column, "quantile", q)``
        where q is a float (a 1-d result) or a sequence of floats (a 2-d result, one
        column per q).  ``func`` is one of count, size, sum, mean, min, max, var, std,
        median, quantile, nunique, any, all, first, last.
        """
        specs = []
        for out, spec in named.items():
            if isinstance(spec, str):
                raise TypeError(f"{out}=: give (column, func), e.g. {out}=('x', 'sum'), not {spec!r}")
            spec = tuple(spec)
            if len(spec) == 2:
                col, func, q = spec[0], spec[1], None
            elif len(spec) == 3 and spec[1] == "quantile":
                col, func, q = spec
            else:
                raise TypeError(f"{out}=: expected (column, func) or (column, 'quantile', q), got {spec!r}")
            if func not in FUNCS:
                raise ValueError(f"{out}=: unknown function {func!r}; use one of {', '.join(FUNCS)}")
            specs.append((out, col, func, q))
        keyed = self._keyed_sums(specs)
        if not keyed:
            self._prepare()
        self._quantiles: dict[str, list[float]] = {}
        # a column with both a median/quantile and a var/std gets its moments from the
        # order-statistics pass, whose values are already grouped (run those first)
        holistic = {c for _, c, f, _ in specs if f in ("median", "quantile")}
        self._moment_cols = holistic & {c for _, c, f, _ in specs if f in ("var", "std")}
        self._moment_cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        if not keyed:
            self._fused_sums([sp for sp in specs if sp[1] not in self._moment_cols])
        pending = {}
        for out, col, func, q in sorted(specs, key=lambda sp: sp[2] not in ("median", "quantile")):
            if out in pending:
                raise ValueError(f"output name {out!r} is used twice")
            pending[out] = self._one(out, col, func, q)
        self._finish()
        cols = dict(self._key_columns)
        for out, _, _, _ in specs:
            fin = pending[out]
            if out in cols:
                raise ValueError(f"output name {out!r} is already used (keys: {list(self._key_columns)})")
            cols[out] = fin(self._obs)
        res = GroupByResult(cols, list(self._key_columns), self._categories)
        res._quantiles = self._quantiles
        return res

    def size(self, name: str = "size") -> GroupByResult:
        """Rows per group, as an int64 column called `name`."""
        self._prepare()
        self._finish()
        cols = dict(self._key_columns)
        if name in cols:
            raise ValueError(f"output name {name!r} is a key name")
        cols[name] = self._sizes.copy()
        return GroupByResult(cols, list(self._key_columns), self._categories)


def _decode_one(c: np.ndarray) -> list[np.ndarray]:
    """The decoder of a single key's codes: the codes themselves."""
    return [np.asarray(c, dtype=np.int64)]


def _take_rows(col: _Col, rows: np.ndarray) -> np.ndarray:
    missing = rows < 0
    safe = np.where(missing, 0, rows)
    if col.kind == "category":
        assert col.categories is not None
        full = np.append(col.categories, _NULL_LABEL)
        codes = np.take(col.values, safe) if len(col) else np.zeros(len(rows), np.int64)
        codes = np.where(missing, len(col.categories), codes)
        return full[codes]
    if col.kind == "string":
        return _decode_strings(col, np.where(missing, -1, rows))
    if col.kind == "list":
        raise TypeError(f"first/last of a list column ({col.name!r}) is not supported")
    vals = np.take(col.values, safe) if len(col) else np.zeros(len(rows), col.values.dtype)
    if col.kind == "float64":
        out = vals.astype(np.float64)
        out[missing] = np.nan
        return out
    if col.kind == "date":
        out = vals.astype(np.int64).astype("datetime64[D]")
        out[missing] = np.datetime64("NaT")
        return out
    if missing.any():
        return np.ma.MaskedArray(vals, mask=missing)
    return vals


# --------------------------------------------------------------------------- helpers


def group_by(data: Any, keys: Any, dropna: bool = True, sort: bool = True, where: Any = None,
             threads: int | None = None) -> GroupBy:
    """Group a Table (or a dict of equal-length NumPy arrays) by one or several keys.

    Parameters
    ----------
    data : Table, pandas.DataFrame, Arrow table (PyCapsule interface) or Mapping[str, array]
        The rows (a DataFrame or an Arrow object is converted as :class:`Table` does).
    keys : str, DatePart or list of them
        Column names (category, bool, int32, int64, float64, date, string, or one
        list<category> column, which is exploded: a row counts once per item it lists, as
        in pandas' ``explode``, so an item listed twice counts twice; ``Dataset``
        removes such repeats before any statistic is counted), or
        ``year(col)``/``month(col)`` of a date column.
    dropna : bool
        Drop rows whose key is null (default); otherwise null forms a group, sorted last.
        An empty or null list counts as a null key.
    sort : bool
        Sort groups by key (category keys in dictionary order); otherwise groups come in
        order of first appearance.
    where : bool array, optional
        Aggregate only the rows where it is True (no filtered table is built).
    threads : int, optional
        Threads for the C kernels; default all cores for 10^6 rows and more, 1 disables.
    """
    return GroupBy(data, keys, dropna=dropna, sort=sort, where=where, threads=threads)


def value_counts(data: Any, columns: Any, dropna: bool = True, where: Any = None,
                 threads: int | None = None) -> GroupByResult:
    """Rows per distinct value (combination) of `columns`, most frequent first.

    Ties keep key order.  The count column is called ``count`` (int64).
    """
    res = GroupBy(data, columns, dropna=dropna, sort=True, where=where, threads=threads).size("count")
    order = np.argsort(-res["count"], kind="stable")
    cols = {k: v[order] for k, v in res.to_dict().items()}
    return GroupByResult(cols, res.key_names, res._categories)


def crosstab(data: Any, row_key: Any, col_key: Any, dropna: bool = True, where: Any = None,
             threads: int | None = None) -> Crosstab:
    """Two-way frequency table of `row_key` by `col_key`.

    Only labels that occur (in the selected rows) appear, each axis sorted like group
    keys; ``counts`` is int64 with zeros for combinations that do not occur.
    """
    gb = GroupBy(data, [row_key, col_key], dropna=dropna, sort=True, where=where, threads=threads)
    gb._prepare()
    axes = []
    gb._finish()
    for key, part in zip(gb._ordered_keys, gb._parts):
        rank = key.rank[part] if key.rank is not None else part
        _, first, inv = np.unique(rank, return_index=True, return_inverse=True)
        axes.append((key.labels(part[first]), inv.reshape(-1)))
    (rlab, ri), (clab, ci) = axes
    counts = np.zeros((len(rlab), len(clab)), dtype=np.int64)
    np.add.at(counts, (ri, ci), gb._sizes)
    return Crosstab(rlab, clab, counts, gb._ordered_keys[0].name, gb._ordered_keys[1].name)
