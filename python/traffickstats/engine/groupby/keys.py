"""Group keys: each key column becomes dense int32 codes (``-1`` for a dropped row).

Category codes are used as they are, small-range integers and dates index directly
(``value - min``; C decides the range), everything else goes through an
open-addressing hash table; several keys combine mixed-radix while the product of
their cardinalities stays small and through a hash of the radix value otherwise (C
decides that too).  Each :class:`Key` carries what turns its codes back into labels
and sorts them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from ... import _core
from ..convert import ColumnData, from_array, from_column

__all__ = ["DatePart", "year", "month", "Key", "Decoder", "get_column", "nrows", "encode_key",
           "list_key", "combine", "decode_one", "take_rows", "NULL_LABEL"]

_PART = {"year": 1, "month": 2}
#: The label of the null group appended to a key's labels: np.append(labels, NULL_LABEL)
#: is np.append(labels, None), spelled as the object array that None becomes there.
NULL_LABEL = np.array([None], dtype=object)

#: observed codes -> each key's codes
Decoder = Callable[[np.ndarray], "list[np.ndarray]"]


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


@dataclass(frozen=True)
class Key:
    """Dense codes of one key plus what is needed to decode and sort them."""

    name: str
    codes: np.ndarray | None   # int32, -1 = dropped; None for an exploded list key and the keyed path
    ncodes: int
    rank: np.ndarray | None    # sort position of each code (None: code order is key order)
    labels: Callable[[np.ndarray], np.ndarray]   # codes -> key values
    kind: str
    categories: np.ndarray | None = None


def get_column(data: Any, name: str) -> ColumnData:
    """Column `name` of a Table or a dict of arrays/Columns."""
    if isinstance(data, Mapping):
        if name not in data:
            raise KeyError(f"no column named {name!r}; columns: {list(data)}")
        v = data[name]
        if isinstance(v, _core.Column):
            return from_column(name, v)
        return from_array(name, v)
    try:
        col = data.column(name)
    except KeyError:
        raise KeyError(f"no column named {name!r}; columns: {list(data.column_names)}") from None
    return from_column(name, col)


def nrows(data: Any) -> int:
    """Rows of a Table or of a dict of equal-length columns."""
    if isinstance(data, Mapping):
        lens = {len(get_column(data, k)) for k in data}
        if len(lens) > 1:
            raise ValueError(f"columns differ in length: {sorted(lens)}")
        return lens.pop() if lens else 0
    return int(data.num_rows)


def _encode_numeric(name: str, col: ColumnData, part: int, dropna: bool, kind: str,
                    nthreads: int = 1) -> Key:
    codes, ncodes, lo, uniques, nullcode = _core._gb_encode_num(
        col.values, col.valid, part, dropna, nthreads)
    return numeric_key(name, codes, ncodes, lo, uniques, nullcode, kind,
                       col.values.dtype.kind == "f")


def numeric_key(name: str, codes: np.ndarray | None, ncodes: int, lo: int,
                uniques: np.ndarray | None, nullcode: int, kind: str, isfloat: bool) -> Key:
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

    return Key(name, codes, ncodes, rank, labels, kind)


def decode_strings(col: ColumnData, rows: np.ndarray) -> np.ndarray:
    """The strings of `rows` of a string column (None for a null row or row -1)."""
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


def _encode_string(name: str, col: ColumnData, dropna: bool) -> Key:
    assert col.offsets is not None  # a string column has offsets
    codes, ncodes, first_rows, nullcode = _core._gb_encode_str(
        col.offsets, col.values, col.valid, dropna)
    uq = decode_strings(col, first_rows)
    order = np.array(sorted(range(len(uq)), key=uq.__getitem__), dtype=np.int64)
    rank = np.empty(ncodes, dtype=np.int64)
    rank[order] = np.arange(len(uq))
    if nullcode >= 0:
        rank[nullcode] = len(uq)
    full = np.append(uq, NULL_LABEL) if nullcode >= 0 else uq

    def labels(c: np.ndarray) -> np.ndarray:
        return full[np.asarray(c, dtype=np.int64)]
    return Key(name, codes, ncodes, rank, labels, "string")


def _encode_category(name: str, col: ColumnData, dropna: bool) -> Key:
    cats = col.categories
    assert cats is not None  # a category column has categories
    ncodes = len(cats)
    codes = col.values
    if not dropna and col.valid is not None:
        codes = np.where(codes < 0, np.int32(ncodes), codes).astype(np.int32)
        ncodes += 1
    full = np.append(cats, NULL_LABEL) if ncodes > len(cats) else cats

    def labels(c: np.ndarray) -> np.ndarray:
        return full[np.asarray(c, dtype=np.int64)]
    return Key(name, codes, ncodes, None, labels, "category", categories=cats)


def encode_key(data: Any, spec: Any, dropna: bool, nthreads: int = 1) -> tuple[Key | None, ColumnData]:
    """The key of one key spec (a column name or a DatePart) and its column; the key is
    None for a list<category> column, which the plan explodes."""
    if isinstance(spec, DatePart):
        col = get_column(data, spec.column)
        if spec.part not in _PART:
            raise ValueError(f"unknown date part {spec.part!r}")
        if col.kind != "date":
            raise TypeError(f"{spec.part}() needs a date column; {spec.column!r} is {col.kind}")
        key = _encode_numeric(spec.part, col, _PART[spec.part], dropna, "int32")
        return key, col
    if not isinstance(spec, str):
        raise TypeError(f"a group key is a column name or year()/month(), got {spec!r}")
    col = get_column(data, spec)
    if col.kind == "category":
        return _encode_category(spec, col, dropna), col
    if col.kind == "string":
        return _encode_string(spec, col, dropna), col
    if col.kind == "list":
        return None, col  # exploded by the plan
    return _encode_numeric(spec, col, 0, dropna, col.kind, nthreads), col


def value_codes(col: ColumnData) -> tuple[np.ndarray, int]:
    """Dense codes of a value column's distinct values (nulls -1), for nunique."""
    if col.kind == "category":
        assert col.categories is not None
        return col.values, len(col.categories)
    if col.kind == "string":
        assert col.offsets is not None
        vcodes, nv, _, _ = _core._gb_encode_str(col.offsets, col.values, col.valid, True)
        return vcodes, nv
    if col.kind == "list":
        raise TypeError(f"cannot count distinct values of list column {col.name!r}")
    vcodes, nv, _, _, _ = _core._gb_encode_num(col.values, col.valid, 0, True)
    return vcodes, nv


def list_key(name: str, col: ColumnData, dropna: bool) -> Key:
    """The key of an exploded list<category> column (its codes come from the explode)."""
    cats = col.categories
    assert cats is not None  # a list<category> column has categories
    ncodes = len(cats) + (0 if dropna else 1)
    full = np.append(cats, NULL_LABEL) if not dropna else cats

    def labels(c: np.ndarray) -> np.ndarray:
        return full[np.asarray(c, dtype=np.int64)]
    return Key(name, None, ncodes, None, labels, "category", categories=cats)


def decode_one(c: np.ndarray) -> list[np.ndarray]:
    """The decoder of a single key's codes: the codes themselves."""
    return [np.asarray(c, dtype=np.int64)]


def combine(keys: list[Key]) -> tuple[np.ndarray, int, Decoder, bool]:
    """Combine keys left to right into one code: (codes, ncodes, decoder, sorted), where
    the decoder maps codes back to each key's codes and `sorted` says that code order
    is key order (radix codes of keys whose codes are in key order)."""
    codes, ncodes = keys[0].codes, keys[0].ncodes
    assert codes is not None  # (only an exploded list key has none; it is never combined)
    sorted_codes = all(k.rank is None for k in keys)
    dec: Decoder = decode_one
    for k in keys[1:]:
        nb = k.ncodes
        assert k.codes is not None
        # C chooses radix or hash (hash=None) from the code space and the row count
        codes, ncodes, uniques = _core._gb_combine(codes, ncodes, k.codes, nb, None)
        if uniques is None:
            def dec(c: np.ndarray, prev: Decoder = dec, nb: int = nb) -> list[np.ndarray]:
                c = np.asarray(c, dtype=np.int64)
                return prev(c // nb) + [c % nb]
        else:
            sorted_codes = False

            def dec(c: np.ndarray, prev: Decoder = dec, nb: int = nb,
                    uq: np.ndarray = uniques) -> list[np.ndarray]:
                r = uq[np.asarray(c, dtype=np.int64)]
                return prev(r // nb) + [r % nb]
    return codes, ncodes, dec, sorted_codes


def take_rows(col: ColumnData, rows: np.ndarray) -> np.ndarray:
    """Values of `col` at `rows` in the column's result dtype (row -1: missing)."""
    missing = rows < 0
    safe = np.where(missing, 0, rows)
    if col.kind == "category":
        assert col.categories is not None
        full = np.append(col.categories, NULL_LABEL)
        codes = np.take(col.values, safe) if len(col) else np.zeros(len(rows), np.int64)
        codes = np.where(missing, len(col.categories), codes)
        return full[codes]
    if col.kind == "string":
        return decode_strings(col, np.where(missing, -1, rows))
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
