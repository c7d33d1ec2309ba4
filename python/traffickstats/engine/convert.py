"""NumPy arrays and Columns as the engine's kernels see them.

:class:`ColumnData` is the uniform view the group-by (and any other kernel driver)
reads: the kind, the values buffer as a NumPy array (category codes, string bytes or
list items), the validity as a bool mask (``None`` without nulls) and, for strings and
lists, the offsets.  :func:`from_array` is the one place a bare NumPy array becomes
such a view (the group-by accepts a dict of arrays); :func:`from_column` reads a
:class:`traffickstats._core.Column` without copying.

The rules of :func:`from_array` are the group-by's (narrow integers widen, float32 and
datetime64 units other than days are read as they are, object arrays become strings),
which are looser than :func:`traffickstats.Table`'s type inference for a new column.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["ColumnData", "native", "from_array", "strings", "from_column"]


@dataclass(frozen=True)
class ColumnData:
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


def native(a: np.ndarray) -> np.ndarray:
    """Contiguous, native-endian copy of `a` when it is not already."""
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return np.ascontiguousarray(a)


def from_array(name: str, a: Any) -> ColumnData:
    """The view of a 1-d NumPy array (or anything ``np.asarray`` takes)."""
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"column {name!r}: expected a 1-d array, got {a.ndim} dimensions")
    a = native(a)
    k = a.dtype.kind
    if k == "b":
        return ColumnData(name, "bool", a, None)
    if k in "iu":
        if a.dtype.itemsize < 4 or (k == "u" and a.dtype.itemsize == 4):
            a = a.astype(np.int64 if a.dtype.itemsize == 4 else np.int32)
        elif k == "u":
            if a.size and a.max() > np.iinfo(np.int64).max:
                raise OverflowError(f"column {name!r}: uint64 values beyond the int64 range")
            a = a.astype(np.int64)
        return ColumnData(name, "int32" if a.dtype.itemsize == 4 else "int64", a, None)
    if k == "f":
        if a.dtype.itemsize not in (4, 8):
            a = a.astype(np.float64)
        return ColumnData(name, "float64", a, None)
    if k == "M":
        days = a.astype("datetime64[D]")
        nat = np.isnat(days)
        vals = days.view(np.int64)
        if vals.size and (vals[~nat].min(initial=0) < -(2**31) or vals[~nat].max(initial=0) >= 2**31):
            raise OverflowError(f"column {name!r}: dates outside the int32 day range")
        vals = np.where(nat, 0, vals).astype(np.int32)
        return ColumnData(name, "date", vals, ~nat if nat.any() else None)
    if k in "OUS":
        return strings(name, list(a))
    raise TypeError(f"column {name!r}: unsupported dtype {a.dtype}")


def strings(name: str, seq: Sequence[Any]) -> ColumnData:
    """A string view of a sequence (None is null, anything else its ``str``)."""
    valid = np.array([s is not None for s in seq], dtype=bool)
    enc = [b"" if s is None else str(s).encode("utf-8") for s in seq]
    lens = np.fromiter((len(e) for e in enc), dtype=np.int64, count=len(enc))
    offsets = np.zeros(len(enc) + 1, dtype=np.int32)
    np.cumsum(lens, out=offsets[1:])
    data = np.frombuffer(b"".join(enc), dtype=np.uint8)
    return ColumnData(name, "string", data, None if valid.all() else valid, offsets=offsets)


def from_column(name: str, col: Any) -> ColumnData:
    """The view of a :class:`traffickstats._core.Column` (no copy)."""
    kind = col.type
    valid = col.valid if col.null_count else None
    if kind == "list<category>":
        return ColumnData(name, "list", col.values, valid, offsets=col.offsets,
                          categories=np.asarray(col.categories, dtype=object))
    if kind == "category":
        return ColumnData(name, "category", col.codes, valid,
                          categories=np.asarray(col.categories, dtype=object))
    if kind == "string":
        return ColumnData(name, "string", col.values, valid, offsets=col.offsets)
    return ColumnData(name, kind, col.values, valid)
