"""Arrow interop: import through the Arrow PyCapsule Interface and pandas ArrowDtype.

Export needs no Python: :class:`~traffickstats.Table` and :class:`~traffickstats.Column`
implement ``__arrow_c_schema__``, ``__arrow_c_stream__`` / ``__arrow_c_array__`` in C
(``csrc/arrow/``), so ``pyarrow.table(t)``, ``polars.DataFrame(t)`` and DuckDB's
``duckdb.sql("select ... from t")`` read a table without copying its buffers.  The
only copy is for ``bool`` columns: traffickstats keeps one byte per value, Arrow packs
bits, so each exported bool column gets a new bit-packed values buffer.

Arrow types map to column types as follows (``copy`` marks conversions that build new
buffers; everything else shares the producer's memory):

=====================================  ===============================================
Arrow                                  traffickstats
=====================================  ===============================================
int32, int64, float64, date32          int32, int64, float64, date
int8, int16, uint8, uint16             int32 (copy, widened)
uint32                                 int64 (copy, widened)
float32                                float64 (copy, widened)
bool                                   bool (copy: bits to bytes)
utf8                                   string
large_utf8, string_view                string (copy of the offsets / the text)
dictionary<int32 or uint32, utf8>      category (copy when null slots do not hold -1)
dictionary<other int, any string>      category (copy of the codes)
list or large_list<dictionary<...>>    list<category> (large_list: offsets copied)
list or large_list<any string>         list<category> (copy: items are encoded)
=====================================  ===============================================

Arrow dictionaries may repeat values or hold nulls; categories are distinct, so such a
dictionary is rebuilt from its distinct values and the codes remapped (a copy); a row
whose index points at a null entry is null.

Anything else (timestamps, uint64, float16, decimals, nested structs, ...) raises
``TypeError`` naming the column and its Arrow format string; cast it first.

This module builds columns only: the Table class (:mod:`traffickstats.engine.table`)
imports it, so it never imports that class (``from_arrow`` is given the class to build).
Parquet files are read in :mod:`traffickstats.engine.parquet`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence, TypeVar

import numpy as np

from .. import _core

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["from_arrow", "columns_from_arrow", "concat_columns", "column_from_arrow_series"]

_INT32_MAX = 2**31 - 1

_T = TypeVar("_T", bound=_core.Table)


def from_arrow(obj: Any, cls: type[_T]) -> _T:
    """Build a Table from any object exposing the Arrow PyCapsule Interface.

    Parameters
    ----------
    obj : object
        Anything with ``__arrow_c_stream__`` (pyarrow Table and RecordBatchReader, a
        polars DataFrame, a DuckDB relation, another traffickstats Table) or
        ``__arrow_c_array__`` (a pyarrow RecordBatch, or a single array, which
        becomes a one-column table named after its field).
    cls : type
        The Table class to build (:class:`traffickstats.Table` or a subclass; this
        module does not import the Table class, which imports this module).

    Returns
    -------
    Table
        Columns share the Arrow memory when the layout matches (see the module
        docstring); a stream of several record batches is concatenated, which copies.

    Raises
    ------
    TypeError
        If a column's Arrow type has no traffickstats equivalent (the message names the
        column and the Arrow format string), or ``obj`` exposes no Arrow interface.
    ValueError
        If the producer's buffers are inconsistent (offsets, codes, UTF-8).
    """
    names, cols = columns_from_arrow(obj)
    return cls(dict(zip(names, cols)))


def columns_from_arrow(obj: Any) -> tuple[tuple[str, ...], tuple[_core.Column, ...]]:
    """The column names and columns of an Arrow PyCapsule producer (see :func:`from_arrow`)."""
    if hasattr(obj, "__arrow_c_stream__"):
        names, batches = _core._arrow_import_stream(obj.__arrow_c_stream__())
    elif hasattr(obj, "__arrow_c_array__"):
        schema_capsule, array_capsule = obj.__arrow_c_array__()
        names, cols = _core._arrow_import_array(schema_capsule, array_capsule)
        names = tuple(n or "values" for n in names)
        batches = [cols]
    else:
        raise TypeError(
            f"from_arrow() needs an object with __arrow_c_stream__ or __arrow_c_array__ "
            f"(the Arrow PyCapsule Interface), got {type(obj).__name__}"
        )
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"column {dup!r}: duplicate column name in the Arrow data")
    if len(batches) == 1:
        return names, tuple(batches[0])
    return names, tuple(concat_columns(name, [b[j] for b in batches]) for j, name in enumerate(names))


def _text_and_offsets(col: _core.Column) -> tuple[np.ndarray, np.ndarray]:
    """The referenced part of a string/list values buffer and offsets rebased to 0."""
    o = col.offsets.astype(np.int64)
    vals = col.values[o[0]:o[-1]]
    return vals, o - o[0]


def concat_columns(name: str, cols: Sequence[_core.Column]) -> _core.Column:
    """Concatenate columns of one type into a new column (a copy).

    Category and list<category> dictionaries are unified by label (first appearance
    order), so batches with different dictionaries concatenate correctly.

    Parameters
    ----------
    name : str
        Column name, for error messages.
    cols : sequence of Column
        At least one column; all of the same type.

    Returns
    -------
    Column
    """
    types = {c.type for c in cols}
    if len(types) != 1:
        raise TypeError(f"column {name!r}: record batches disagree on the type ({sorted(types)})")
    t = types.pop()
    any_null = any(c.null_count for c in cols)
    valid = np.concatenate([c.valid for c in cols]) if any_null else None
    if t in ("bool", "int32", "int64", "float64", "date"):
        return _core.make_column(name, t, np.concatenate([c.values for c in cols]), valid)
    if t == "string":
        parts = [_text_and_offsets(c) for c in cols]
        data = np.concatenate([p[0] for p in parts])
        return _core.make_column(name, t, data, valid, _join_offsets(name, [p[1] for p in parts]))
    # category / list<category>: one dictionary for all
    labels: dict[str, int] = {}
    remaps = []
    for c in cols:
        cats = c.categories
        for label in cats:
            labels.setdefault(label, len(labels))
        remaps.append(np.array([labels[label] for label in cats] + [-1], dtype=np.int32))
    dictionary = list(labels)
    if t == "category":
        codes = np.concatenate([r[c.codes] for r, c in zip(remaps, cols)])
        return _core.make_column(name, t, codes, valid, None, dictionary)
    parts = [_text_and_offsets(c) for c in cols]
    codes = np.concatenate([r[p[0]] for r, p in zip(remaps, parts)])
    return _core.make_column(name, t, codes, valid, _join_offsets(name, [p[1] for p in parts]), dictionary)


def _join_offsets(name: str, offsets: Sequence[np.ndarray]) -> np.ndarray:
    starts = np.cumsum([0] + [int(o[-1]) for o in offsets])
    if starts[-1] > _INT32_MAX:
        raise OverflowError(f"column {name!r}: more than 2**31-1 string bytes or list items")
    pieces = [offsets[0][:1]] + [o[1:] + s for o, s in zip(offsets, starts[:-1])]
    return np.concatenate(pieces).astype(np.int32)


_ARROW_TYPES = {
    "bool": "bool_", "int32": "int32", "int64": "int64", "float64": "float64", "date": "date32",
    "string": "string",
}


def column_from_arrow_series(name: str, s: "pd.Series", type_: str | None) -> _core.Column:
    """Convert a pandas Series with an ``ArrowDtype`` to a Column.

    The Arrow memory behind the Series is shared where the layout matches (see the
    module docstring); ``type_`` asks for another type, reached with a pyarrow cast.
    """
    import pyarrow as pa

    chunked = s.array.__arrow_array__()  # the ChunkedArray behind the Series, no copy
    if isinstance(chunked, pa.Array):
        chunked = pa.chunked_array([chunked], type=chunked.type)
    if type_ is not None:
        if type_ == "category":
            target = pa.dictionary(pa.int32(), pa.string())
        elif type_ == "list<category>":
            target = pa.list_(pa.dictionary(pa.int32(), pa.string()))
        else:
            target = getattr(pa, _ARROW_TYPES[type_])()
        if chunked.type != target:
            try:
                chunked = chunked.cast(target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise TypeError(f"column {name!r}: cannot convert {chunked.type} to {type_}: {exc}") from exc
    return columns_from_arrow(pa.table({name: chunked}))[1][0]
