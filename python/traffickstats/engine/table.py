"""The engine API: :class:`Table` and :class:`Column`.

A :class:`Table` is an immutable set of equal-length, typed, named columns stored by
the C core in Arrow's memory layout.  Operations return new tables that share
buffers with the original wherever the rows are unchanged.

Column types
------------
=================  ===========================================  =====================
type               ``Column.values`` (zero-copy NumPy view)      nulls
=================  ===========================================  =====================
``bool``           ``bool``, one byte per value                  validity bitmap
``int32``          ``int32``                                     validity bitmap
``int64``          ``int64``                                     validity bitmap
``float64``        ``float64`` (NaN is a value, not a null)      validity bitmap
``date``           ``int32`` days since 1970-01-01               validity bitmap
``category``       ``int32`` codes into ``Column.categories``    code -1 (and bitmap)
``string``         ``uint8`` UTF-8 bytes, ``Column.offsets``     validity bitmap
``list<category>`` ``int32`` item codes, ``Column.offsets``      validity bitmap
=================  ===========================================  =====================

Arrays that already have the right dtype, native byte order and a contiguous
layout are shared with the table, not copied: do not modify them afterwards.
"""
from __future__ import annotations

import datetime as _dt
import html
import math
import operator
import re
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence, cast

import numpy as np

from .. import _core
from . import groupby as _groupby

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Table", "Column", "TYPES"]

#: The logical column types, in the order of DESIGN.md section 3 (owned by the C core).
TYPES: tuple[str, ...] = _core.TYPES

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MAX = 2**63 - 1
_EPOCH = np.datetime64(_core.EPOCH, "D")


def _check_name(name: Any) -> None:
    """A column name is a str.  Checked before a column is built from the values (whose
    errors name the column); the C core's Table() says the same for a tuple of columns."""
    if not isinstance(name, str):
        raise TypeError(f"column names must be str, got {type(name).__name__} {name!r}")


def _normalize_type(name: str, type_: Any) -> str:
    if not isinstance(type_, str):
        raise TypeError(f"column {name!r}: a type is given by name (one of {', '.join(TYPES)}), got {type_!r}")
    if type_ == "list":
        return "list<category>"
    if type_ not in TYPES:
        raise ValueError(f"column {name!r}: unknown type {type_!r}; expected one of {', '.join(TYPES)}")
    return type_


# --------------------------------------------------------------------------- nulls


def _null_sentinels() -> tuple:
    """Objects that mean "missing" besides None and float NaN (pandas' NA and NaT)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        return ()
    return (pd.NA, pd.NaT)


def _is_null_scalar(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, (np.datetime64, np.timedelta64)) and np.isnat(v):
        return True
    return any(v is s for s in _null_sentinels())


_is_null_vec = np.frompyfunc(_is_null_scalar, 1, 1)


def _object_nulls(arr: np.ndarray) -> np.ndarray:
    """Bool mask of the null entries of an object array."""
    if arr.size == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(_is_null_vec(arr), dtype=bool)


# --------------------------------------------------------------------------- conversion


def _as_object_array(seq: Any) -> np.ndarray:
    if isinstance(seq, np.ndarray):
        return seq.astype(object) if seq.dtype != object else seq
    seq = list(seq)
    out = np.empty(len(seq), dtype=object)
    for i, v in enumerate(seq):  # element-wise: nested lists must stay objects
        out[i] = v
    return out


def _infer_object_type(name: str, arr: np.ndarray, valid: np.ndarray) -> str:
    """Column type of an object array from its non-null elements."""
    kinds = set()
    for v in arr[valid]:
        if isinstance(v, (bool, np.bool_)):
            kinds.add("bool")
        elif isinstance(v, (int, np.integer)):
            kinds.add("int")
        elif isinstance(v, (float, np.floating)):
            kinds.add("float")
        elif isinstance(v, str):
            kinds.add("str")
        elif isinstance(v, _dt.datetime):
            kinds.add("date")
        elif isinstance(v, _dt.date):
            kinds.add("date")
        elif isinstance(v, np.datetime64):
            kinds.add("date")
        elif isinstance(v, (list, tuple, np.ndarray)):
            kinds.add("list")
        else:
            raise TypeError(f"column {name!r}: cannot store values of type {type(v).__name__} ({v!r})")
        if len(kinds) > 1:
            break
    if not kinds:
        return "string"  # all null: the most general type
    if kinds == {"int", "float"}:
        return "float64"
    if len(kinds) > 1:
        raise TypeError(f"column {name!r}: mixed value types {sorted(kinds)}; pass schema= to choose one")
    return {"bool": "bool", "int": "int64", "float": "float64", "str": "string", "date": "date", "list": "list<category>"}[
        kinds.pop()
    ]


def _dates_to_days(name: str, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """datetime64 array -> (int32 days, valid); rejects times of day and out-of-range dates."""
    valid = ~np.isnat(arr)
    days64 = arr.astype("datetime64[D]")
    if arr.dtype != days64.dtype and np.any((arr != days64.astype(arr.dtype)) & valid):
        raise ValueError(f"column {name!r}: date values must not have a time of day")
    d = (days64 - _EPOCH).astype(np.int64)
    d[~valid] = 0
    if d.size and (d.min() < _INT32_MIN or d.max() > _INT32_MAX):
        raise ValueError(f"column {name!r}: dates out of the representable range")
    return d.astype(np.int32), valid


def _ints(name: str, arr: np.ndarray, valid: np.ndarray | None, type_: str | None) -> _core.Column:
    """Column from an integer ndarray, choosing int32 for <= 32-bit signed input."""
    if type_ is None:
        type_ = "int32" if (arr.dtype.itemsize <= 2 or arr.dtype == np.int32) else "int64"
    if type_ == "float64":
        return _core.make_column(name, "float64", arr.astype(np.float64), valid)
    if type_ == "date":
        days = arr
        if arr.size and (arr.min() < _INT32_MIN or arr.max() > _INT32_MAX):
            raise ValueError(f"column {name!r}: day numbers out of the int32 range")
        return _core.make_column(name, "date", days.astype(np.int32, copy=False), valid)
    if type_ not in ("int32", "int64"):
        raise TypeError(f"column {name!r}: integer values cannot be stored as {type_}")
    lo, hi = (_INT32_MIN, _INT32_MAX) if type_ == "int32" else (-(2**63), _INT64_MAX)
    if arr.size:
        check = arr if valid is None else arr[valid]
        if check.size and (int(check.min()) < lo or int(check.max()) > hi):
            raise OverflowError(f"column {name!r}: values do not fit in {type_}")
    target = np.int32 if type_ == "int32" else np.int64
    if arr.dtype != target:
        arr = np.where(valid, arr, 0) if valid is not None else arr
        arr = arr.astype(target)
    return _core.make_column(name, type_, arr, valid)


def _from_ndarray(name: str, arr: np.ndarray, valid: np.ndarray | None, type_: str | None) -> _core.Column:
    if arr.ndim != 1:
        raise ValueError(f"column {name!r}: expected a 1-dimensional array, got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind == "b":
        if type_ not in (None, "bool"):
            raise TypeError(f"column {name!r}: bool values cannot be stored as {type_}")
        return _core.make_column(name, "bool", arr, valid)
    if kind in "iu":
        if arr.dtype == np.uint64 and arr.size and int(arr.max()) > _INT64_MAX:
            raise OverflowError(f"column {name!r}: uint64 values do not fit in int64")
        return _ints(name, arr, valid, type_)
    if kind == "f":
        if type_ not in (None, "float64"):
            raise TypeError(f"column {name!r}: float values cannot be stored as {type_}")
        return _core.make_column(name, "float64", arr.astype(np.float64, copy=False), valid)
    if kind == "M":
        if type_ not in (None, "date"):
            raise TypeError(f"column {name!r}: datetime64 values cannot be stored as {type_}")
        days, dvalid = _dates_to_days(name, arr)
        if valid is not None:
            dvalid &= valid
        return _core.make_column(name, "date", days, None if dvalid.all() else dvalid)
    if kind in "US":
        arr = arr.astype(str).astype(object)
        kind = "O"
    if kind == "O":
        return _from_objects(name, arr, valid, type_)
    raise TypeError(f"column {name!r}: unsupported dtype {arr.dtype}")


def _from_objects(name: str, arr: np.ndarray, valid: np.ndarray | None, type_: str | None) -> _core.Column:
    isnull = _object_nulls(arr)
    if valid is not None:
        isnull |= ~np.asarray(valid, dtype=bool)
    ok = ~isnull
    if type_ is None:
        type_ = _infer_object_type(name, arr, ok)
    if type_ in ("string", "category", "list<category>"):
        if valid is not None:
            arr = arr.copy()
            arr[isnull] = None
        return _core.from_objects(name, type_, list(arr), _null_sentinels())
    mask = None if ok.all() else ok
    if type_ == "date":
        vals = np.full(len(arr), np.datetime64("NaT"), dtype="datetime64[s]")
        try:
            vals[ok] = np.array([np.datetime64(v, "s") if not isinstance(v, np.datetime64) else v for v in arr[ok]],
                                dtype="datetime64[s]")
        except (TypeError, ValueError) as exc:
            raise TypeError(f"column {name!r}: cannot read dates: {exc}") from None
        return _from_ndarray(name, vals, mask, "date")
    checks = {"bool": (bool, np.bool_), "int32": (int, np.integer), "int64": (int, np.integer),
              "float64": (int, float, np.integer, np.floating)}
    if type_ not in checks:
        raise ValueError(f"column {name!r}: unknown type {type_!r}")
    for i in np.flatnonzero(ok):
        v = arr[i]
        if not isinstance(v, checks[type_]) or (type_ != "bool" and isinstance(v, (bool, np.bool_))):
            raise TypeError(f"column {name!r}: row {i}: expected {type_} or a null, got {type(v).__name__} {v!r}")
    dtype = {"bool": bool, "int32": np.int64, "int64": object, "float64": np.float64}[type_]
    vals = np.zeros(len(arr), dtype=dtype) if dtype is not object else np.zeros(len(arr), dtype=object)
    vals[ok] = arr[ok]
    if type_ == "int64":
        big = [int(v) for v in vals[ok]]
        if big and (min(big) < -(2**63) or max(big) > _INT64_MAX):
            raise OverflowError(f"column {name!r}: values do not fit in int64")
        vals = vals.astype(np.int64)
    if type_ in ("int32", "int64"):
        return _ints(name, vals, mask, type_)
    return _core.make_column(name, type_, vals, mask)


def _from_pandas_series(name: str, s: Any, type_: str | None) -> _core.Column:
    import pandas as pd

    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        if len(cats) and not all(isinstance(c, str) for c in cats):
            raise TypeError(f"column {name!r}: category labels must be str, got {cats.dtype}")
        codes = np.asarray(s.cat.codes, dtype=np.int32)
        if type_ in (None, "category"):
            return _core.make_column(name, "category", codes, None, None, [str(c) for c in cats])
        return _from_objects(name, np.asarray(s.astype(object), dtype=object), None, type_)
    if isinstance(dtype, pd.DatetimeTZDtype):
        raise TypeError(f"column {name!r}: time-zone aware datetimes are not dates; convert with .dt.tz_localize(None)")
    if isinstance(dtype, pd.ArrowDtype):
        from .arrow import column_from_arrow_series

        return column_from_arrow_series(name, s, type_)
    if isinstance(dtype, np.dtype):
        arr = s.to_numpy()
        if dtype.kind == "f":
            valid = ~np.isnan(arr)  # pandas semantics: NaN in a float64 column is missing
            return _from_ndarray(name, arr, None if valid.all() else valid, type_)
        return _from_ndarray(name, arr, None, type_)
    # pandas extension arrays: nullable ints/floats/booleans, strings
    valid = ~np.asarray(s.isna(), dtype=bool)
    mask = None if valid.all() else valid
    if isinstance(dtype, pd.BooleanDtype):
        return _from_ndarray(name, s.to_numpy(dtype=bool, na_value=False), mask, type_)
    if pd.api.types.is_integer_dtype(dtype):
        npd = np.dtype(dtype.numpy_dtype)
        return _from_ndarray(name, s.to_numpy(dtype=npd, na_value=0), mask, type_)
    if pd.api.types.is_float_dtype(dtype):
        # FloatingArray keeps NaN (a value) apart from NA (a null)
        return _from_ndarray(name, s.array.to_numpy(dtype=np.float64, na_value=np.nan), mask, type_)
    if isinstance(dtype, pd.StringDtype):
        return _from_objects(name, s.to_numpy(dtype=object, na_value=None), None, type_ or "string")
    raise TypeError(f"column {name!r}: unsupported pandas dtype {dtype}")


def as_column(name: str, values: Any, type: str | None = None) -> "Column":
    """Convert ``values`` to a :class:`Column` called ``name``.

    Parameters
    ----------
    name : str
        Column name, used in error messages.
    values : Column, numpy.ndarray, numpy.ma.MaskedArray, pandas.Series or sequence
        The data. Nulls are ``None``, ``NaN`` in object input, ``pandas.NA``/``NaT``,
        masked entries, and missing values of pandas nullable dtypes. In a plain NumPy
        float array NaN is a value, not a null.
    type : str, optional
        One of :data:`TYPES`; inferred when omitted.

    Returns
    -------
    Column
    """
    type_ = None if type is None else _normalize_type(name, type)
    # (the casts: C builds every column as the registered Column subclass below)
    if isinstance(values, _core.Column):
        if type_ is not None and values.type != type_:
            raise TypeError(f"column {name!r}: is a {values.type} column, schema asks for {type_}")
        return cast(Column, values)
    mod = getattr(values.__class__, "__module__", "") or ""
    if mod.startswith("pandas"):
        import pandas as pd

        if isinstance(values, (pd.Index, pd.api.extensions.ExtensionArray)):
            values = pd.Series(values)
        if isinstance(values, pd.Series):
            return cast(Column, _from_pandas_series(name, values, type_))
    if isinstance(values, np.ma.MaskedArray):
        valid = ~np.ma.getmaskarray(values)
        return cast(Column, _from_ndarray(name, np.ma.getdata(values), None if valid.all() else valid, type_))
    if isinstance(values, np.ndarray):
        return cast(Column, _from_ndarray(name, values, None, type_))
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"column {name!r}: expected an array or a sequence, got {values.__class__.__name__}")
    return cast(Column, _from_objects(name, _as_object_array(values), None, type_))


# --------------------------------------------------------------------------- Column


class Column(_core.Column):
    """An immutable typed column of a :class:`Table`.

    Attributes
    ----------
    type : str
        The logical type, one of :data:`TYPES`.
    values : numpy.ndarray
        Read-only view of the values buffer (no copy; see the module docstring).
    valid : numpy.ndarray
        ``True`` where the row is not null.
    codes, categories : numpy.ndarray
        Category codes (-1 for null) and labels (``category`` and ``list<category>``).
    offsets : numpy.ndarray
        ``int32`` offsets of ``string`` and ``list<category>`` columns.
    null_count : int
        Number of null rows.
    """

    __slots__ = ()

    def to_numpy(self) -> np.ndarray:
        """Values as a NumPy array with nulls made explicit.

        Returns
        -------
        numpy.ndarray
            ``int32``/``int64``/``float64``/``bool`` without nulls as a zero-copy view;
            with nulls ints become ``float64`` with NaN and bools ``object`` with None;
            ``date`` becomes ``datetime64[D]`` with NaT; text and lists become
            ``object`` arrays with None.
        """
        t = self.type
        if t in ("string", "category", "list<category>"):
            out = np.empty(len(self), dtype=object)
            out[:] = self._to_objects()
            return out
        if t == "date":
            out = self.values.astype("datetime64[D]")
            if self.null_count:
                out[~self.valid] = np.datetime64("NaT")
            return out
        if not self.null_count:
            return self.values
        valid = self.valid
        if t == "bool":
            out = self.values.astype(object)
            out[~valid] = None
            return out
        out = self.values.astype(np.float64)
        out[~valid] = np.nan
        return out

    def to_pylist(self) -> list:
        """Rows as Python objects (``None`` for null; dates as :class:`datetime.date`)."""
        t = self.type
        if t in ("string", "category", "list<category>"):
            return self._to_objects()
        vals = self.values.astype("datetime64[D]").tolist() if t == "date" else self.values.tolist()
        if self.null_count:
            for i in np.flatnonzero(~self.valid):
                vals[i] = None
        return vals

    def __iter__(self) -> Iterator[Any]:
        return iter(self.to_pylist())

    # ---------------------------------------------------------------- comparisons
    # Every comparison gives a NumPy bool mask, False where the row is null (also for
    # ``!=``), ready for ``Table.filter`` and ``where=``; or raises.  Never a scalar.

    __hash__ = None  # type: ignore[assignment]  # == compares elementwise, as in NumPy and pandas

    def __eq__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self._compare(other, "==")

    def __ne__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self._compare(other, "!=")

    def __lt__(self, other: object) -> np.ndarray:
        return self._compare(other, "<")

    def __le__(self, other: object) -> np.ndarray:
        return self._compare(other, "<=")

    def __gt__(self, other: object) -> np.ndarray:
        return self._compare(other, ">")

    def __ge__(self, other: object) -> np.ndarray:
        return self._compare(other, ">=")

    def isnull(self) -> np.ndarray:
        """True where the row is null."""
        return ~self.valid

    def notnull(self) -> np.ndarray:
        """True where the row is not null (the same as :attr:`valid`)."""
        return self.valid.copy()

    isna, notna = isnull, notnull

    def isin(self, values: Any) -> np.ndarray:
        """True where the row's value is one of ``values`` (False for null rows).

        For a ``list<category>`` column use :meth:`contains`.
        """
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"isin() takes a list of values, got {type(values).__name__} {values!r}")
        vals = list(values)
        t = self.type
        if t == "list<category>":
            raise TypeError("isin() of a list<category> column is ambiguous: use contains(item) for the rows "
                            "whose list holds an item")
        if t == "category":
            pos = {c: i for i, c in enumerate(self.categories)}
            codes = [pos[v] for v in vals if isinstance(v, str) and v in pos]
            return np.isin(self.codes, np.asarray(codes, dtype=np.int32)) & self.valid
        if t == "string":
            return np.isin(self.to_numpy(), np.asarray([v for v in vals if isinstance(v, str)], dtype=object)) \
                & self.valid
        scalars = np.asarray([self._scalar(v, "isin") for v in vals]) if vals else np.zeros(0)
        return np.isin(self.values, scalars) & self.valid

    def contains(self, item: str) -> np.ndarray:
        """Rows of a ``list<category>`` column whose list holds ``item``."""
        if self.type != "list<category>":
            raise TypeError(f"contains() is for list<category> columns; this is a {self.type} column "
                            "(use == or isin)")
        if not isinstance(item, str):
            raise TypeError(f"contains() takes one item (a str), got {type(item).__name__} {item!r}")
        out = np.zeros(len(self), dtype=bool)
        cats = list(self.categories)
        if item not in cats:
            return out
        off = self.offsets.astype(np.int64)
        items = self.values[off[0]:off[-1]]
        rows = np.repeat(np.arange(len(self)), np.diff(off))
        out[rows[items == cats.index(item)]] = True
        return out & self.valid

    def _scalar(self, v: Any, op: str) -> Any:
        """A comparison operand in the storage of this column's values."""
        t = self.type
        if t == "float64" and isinstance(v, (float, np.floating)) and math.isnan(v):
            return v   # NaN is a value of a float64 column: equal to nothing, as in NumPy
        if _is_null_scalar(v):
            raise TypeError(f"comparing a column with a null ({v!r}) is never true; use isnull() or notnull()")
        if t == "date":
            if isinstance(v, str):
                d = _text_days(np.array([v], dtype=object))[0]
                if np.isnat(d):
                    raise TypeError("comparing a column with a null ('NaT') is never true; use isnull() or notnull()")
            elif isinstance(v, (_dt.date, np.datetime64)):
                if isinstance(v, _dt.datetime) and (v.hour, v.minute, v.second, v.microsecond) != (0, 0, 0, 0):
                    raise ValueError(f"cannot compare a date column with a time of day ({v!r})")
                d = np.datetime64(v).astype("datetime64[D]")
            else:
                raise TypeError(f"cannot compare a date column with {type(v).__name__} {v!r}: use a date "
                                "('2020-01-31', datetime.date or numpy.datetime64)")
            return int((d - _EPOCH).astype(np.int64))
        if t == "bool":
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"cannot compare a bool column with {type(v).__name__} {v!r}")
            return bool(v)
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"cannot compare a {t} column with {type(v).__name__} {v!r}")
        return v

    def _compare(self, other: Any, op: str) -> np.ndarray:
        fn = _OPS[op]
        t = self.type
        valid = self.valid
        if t == "list<category>":
            raise TypeError(f"cannot compare a list<category> column with {op}: use contains(item) for the rows "
                            "whose list holds an item")
        if t in ("category", "bool") and op not in ("==", "!="):
            raise TypeError(f"a {t} column has no order: compare it with == or != (or isin)")
        if isinstance(other, np.ndarray) and other.ndim == 0:
            other = other[()]   # a 0-d array is a scalar
        if isinstance(other, _core.Column) or (np.ndim(other) > 0 and not isinstance(other, (str, bytes))):
            theirs, ovalid = self._operand(other)   # elementwise, against a column or an array
            with np.errstate(invalid="ignore"):
                return np.asarray(fn(_comparable(self), theirs), dtype=bool) & valid & ovalid
        if t == "category":
            if not isinstance(other, str):
                raise TypeError(f"cannot compare a category column with {type(other).__name__} {other!r}")
            cats = list(self.categories)
            code = cats.index(other) if other in cats else -2
            return fn(self.codes, code) & valid
        if t == "string":
            if not isinstance(other, str):
                raise TypeError(f"cannot compare a string column with {type(other).__name__} {other!r}")
            return np.asarray(fn(_comparable(self), other), dtype=bool) & valid
        return np.asarray(fn(self.values, self._scalar(other, op)), dtype=bool) & valid

    def _operand(self, other: Any) -> tuple[np.ndarray, np.ndarray]:
        """(values, valid) of the other side of an elementwise comparison, in the storage
        :func:`_comparable` gives this column; a kind that cannot compare raises."""
        t = self.type
        if isinstance(other, _core.Column):
            oc = cast(Column, other)
            if len(oc) != len(self):
                raise ValueError(f"cannot compare a column of {len(self):,} rows with one of {len(oc):,}")
            if _KIND[oc.type] != _KIND[t]:
                raise TypeError(f"cannot compare a {t} column with a {oc.type} column")
            return _comparable(oc), oc.valid
        arr = np.asarray(other)
        if arr.ndim != 1:
            raise ValueError(f"cannot compare a column of {len(self):,} rows with an array of shape {arr.shape}")
        if len(arr) != len(self):
            raise ValueError(f"cannot compare a column of {len(self):,} rows with one of {len(arr):,}")
        kind = arr.dtype.kind
        if t == "date" and kind in "MOU":
            days = arr.astype("datetime64[D]") if kind == "M" else _text_days(arr)
            ok = ~np.isnat(days)
            return np.where(ok, (days - _EPOCH).astype(np.int64), 0), ok
        if _KIND[t] == "text" and kind in "OU":
            ok = ~_object_nulls(arr.astype(object)) if kind == "O" else np.ones(len(arr), dtype=bool)
            return np.where(ok, arr, "").astype(object), ok
        if (_KIND[t] == "number" and kind in "iuf") or (t == "bool" and kind == "b"):
            return arr, np.ones(len(arr), dtype=bool)
        raise TypeError(f"cannot compare a {t} column with an array of dtype {arr.dtype}")

    # Arrow PyCapsule Interface (csrc/arrow/; see traffickstats.engine.arrow)
    def __arrow_c_schema__(self) -> Any:
        """An ``arrow_schema`` PyCapsule describing this column's Arrow type."""
        return _core._arrow_export_schema(self)

    def __arrow_c_array__(self, requested_schema: Any = None) -> tuple[Any, Any]:
        """``(arrow_schema, arrow_array)`` PyCapsules sharing the buffers (bool is bit-packed)."""
        return _core._arrow_export_array(self, requested_schema)

    def __repr__(self) -> str:
        n = len(self)
        head = self._slice(0, 10).to_pylist()
        body = ", ".join(_format_cell(v) for v in head) + (", ..." if n > 10 else "")
        nulls = f", {self.null_count:,} null" if self.null_count else ""
        return f"<Column {self.type}, {n:,} rows{nulls}: [{body}]>"


# --------------------------------------------------------------------------- Table


class Table(_core.Table):
    """An immutable columnar table of typed columns.

    Parameters
    ----------
    data : mapping of str to array-like, or pandas.DataFrame, optional
        Columns by name: NumPy arrays (shared without copying when already in the
        right layout), masked arrays, Python sequences (``None`` for null), pandas
        Series, or :class:`Column` objects.
    schema : mapping of str to str, optional
        Column types by name (see :data:`TYPES`), e.g. ``{"district": "category"}``;
        columns not named are inferred.

    Examples
    --------
    >>> import traffickstats as ts
    >>> t = ts.Table({"case_id": ["c1", "c2"], "victims": [3, None]},
    ...              schema={"case_id": "category"})
    >>> t.schema
    {'case_id': 'category', 'victims': 'int64'}
    >>> t["victims"].to_pylist()
    [3, None]
    """

    __slots__ = ()

    if TYPE_CHECKING:  # the C accessors return this module's Column subclass
        def column(self, name: str, /) -> Column: ...
        def __getitem__(self, name: str) -> Column: ...
        @property
        def columns(self) -> tuple[Column, ...]: ...

    def __new__(cls, data: Mapping[str, Any] | "pd.DataFrame" | None = None,
                schema: Mapping[str, str] | None = None) -> "Table":
        if data is None:
            data = {}
        if getattr(data.__class__, "__name__", "") == "DataFrame" and \
                (getattr(data.__class__, "__module__", "") or "").startswith("pandas"):
            return cls.from_pandas(cast("pd.DataFrame", data), schema=schema)
        if isinstance(data, _core.Table):
            data = {n: data.column(n) for n in data.column_names}
        if not isinstance(data, Mapping):
            hint = " (an Arrow object: use Table.from_arrow)" if hasattr(data, "__arrow_c_stream__") else ""
            raise TypeError(f"Table() takes a mapping of column name to values, got {type(data).__name__}{hint}")
        schema = dict(schema or {})
        unknown = [k for k in schema if k not in data]
        if unknown:
            raise ValueError(f"schema names columns that are not in the data: {unknown}")
        cols = {}
        for name, values in data.items():
            _check_name(name)
            cols[name] = as_column(name, values, schema.get(name))
        return super().__new__(cls, cols)

    # ---------------------------------------------------------------- pandas

    @classmethod
    def from_pandas(cls, df: "pd.DataFrame", schema: Mapping[str, str] | None = None) -> "Table":
        """Build a table from a pandas DataFrame (the index is not stored).

        Mapping: categorical -> ``category`` (str labels); nullable ``Int*``,
        ``boolean``, ``Float*`` -> the matching type with nulls; NumPy floats -> ``float64``
        with NaN as null (pandas' meaning); ``datetime64`` and ``datetime.date`` objects
        -> ``date`` (a time of day is an error); ``object``/``string`` text ->
        ``string`` (``category`` on request through ``schema``); lists of str ->
        ``list<category>``.

        Parameters
        ----------
        df : pandas.DataFrame
        schema : mapping of str to str, optional
            Types for some columns, e.g. ``{"state": "category"}``.

        Returns
        -------
        Table
        """
        schema = dict(schema or {})
        if len(set(df.columns)) != len(df.columns):
            dup = [c for c in df.columns if list(df.columns).count(c) > 1][0]
            raise ValueError(f"column {dup!r}: duplicate column name")
        unknown = [k for k in schema if k not in df.columns]
        if unknown:
            raise ValueError(f"schema names columns that are not in the data: {unknown}")
        # to_pandas records the types of object columns (which cannot show, when
        # every value is null, whether they held text or lists)
        recorded = df.attrs.get("traffickstats.schema", {}) if isinstance(df.attrs, dict) else {}
        _warn_lost_pandas_info(df)
        cols = {}
        for name in df.columns:
            _check_name(name)
            t = schema.get(name)
            if t is None and df[name].dtype == object and recorded.get(name) in ("string", "list<category>"):
                t = recorded[name]
            cols[name] = _from_pandas_series(name, df[name], None if t is None else _normalize_type(name, t))
        return super().__new__(cls, cols)

    def to_pandas(self) -> "pd.DataFrame":
        """Convert to a pandas DataFrame with nullable dtypes.

        ``bool`` -> ``boolean``, ``int32`` -> ``Int32``, ``int64`` -> ``Int64``,
        ``float64`` -> ``Float64`` (NaN kept apart from NA), ``date`` ->
        ``datetime64[s]`` (NaT for null), ``category`` -> ``category``, ``string`` ->
        ``string`` (``pandas.StringDtype``), ``list<category>`` -> ``object`` holding
        lists of str (None for null).  The types of object columns are recorded in
        ``DataFrame.attrs["traffickstats.schema"]``, so ``Table.from_pandas`` of the
        result equals this table.

        Returns
        -------
        pandas.DataFrame
        """
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover
            raise ImportError("to_pandas() needs pandas: pip install 'traffickstats[pandas]'") from None
        out = {}
        for name, col in zip(self.column_names, self.columns):
            out[name] = _column_to_pandas(col, pd)
        df = pd.DataFrame(out, index=pd.RangeIndex(self.num_rows))
        df.attrs["traffickstats.schema"] = {n: t for n, t in self.schema.items() if t == "list<category>"}
        return df

    # ---------------------------------------------------------------- operations

    def with_column(self, name: str, values: Any, type: str | None = None) -> "Table":
        """A new table with column ``name`` replaced or appended.

        Parameters
        ----------
        name : str
        values : array-like or Column
            Converted as in :class:`Table`; must have ``num_rows`` rows.
        type : str, optional
            The column type; inferred when omitted.
        """
        _check_name(name)
        return self._with_column(name, as_column(name, values, type))

    # ---------------------------------------------------------------- group-by

    def group_by(self, keys: Any, dropna: bool = True, sort: bool = True, where: Any = None,
                 threads: int | None = None) -> "_groupby.GroupBy":
        """Group rows by keys; see :func:`traffickstats.group_by` (``.agg(...)``, ``.size()``)."""
        return _groupby.GroupBy(self, keys, dropna=dropna, sort=sort, where=where, threads=threads)

    def value_counts(self, columns: Any, dropna: bool = True, where: Any = None) -> "_groupby.GroupByResult":
        """Rows per distinct value of `columns`, most frequent first (see :func:`traffickstats.value_counts`)."""
        return _groupby.value_counts(self, columns, dropna=dropna, where=where)

    def crosstab(self, row_key: Any, col_key: Any, dropna: bool = True, where: Any = None) -> "_groupby.Crosstab":
        """Two-way frequency table (see :func:`traffickstats.crosstab`)."""
        return _groupby.crosstab(self, row_key, col_key, dropna=dropna, where=where)

    def head(self, n: int = 5) -> "Table":
        """The first ``n`` rows (sharing buffers)."""
        return self.slice(0, n)

    def equals(self, other: object) -> bool:
        """True when ``other`` is a Table with the same column names, types and values.

        Nulls equal nulls; NaN equals NaN; categories compare by label, so two
        category columns with differently ordered dictionaries can be equal.
        """
        if not isinstance(other, _core.Table):
            return False
        if self.column_names != other.column_names or self.schema != other.schema:
            return False
        if self.num_rows != other.num_rows:
            return False
        # (other's columns are Column too: C builds every column as the registered class)
        return all(_column_equals(a, b) for a, b in zip(self.columns, cast("tuple[Column, ...]", other.columns)))

    def to_csv(self, path_or_file: Any, **options: Any) -> None:
        """Write the table as CSV that ``read_csv`` reads back equal (see :func:`traffickstats.engine.csv.to_csv`)."""
        from .csv import to_csv

        to_csv(self, path_or_file, **options)

    def to_pydict(self) -> dict[str, list]:
        """Columns as a dict of Python lists."""
        return {n: c.to_pylist() for n, c in zip(self.column_names, self.columns)}

    def __iter__(self) -> Iterator[str]:
        return iter(self.column_names)

    # ---------------------------------------------------------------- Arrow

    @classmethod
    def from_arrow(cls, obj: Any) -> "Table":
        """Build a table from any Arrow PyCapsule producer (pyarrow, polars, DuckDB).

        See :func:`traffickstats.engine.arrow.from_arrow` for the type mapping and which
        conversions copy.
        """
        from .arrow import from_arrow

        return from_arrow(obj, cls)

    def __arrow_c_schema__(self) -> Any:
        """An ``arrow_schema`` PyCapsule: a struct of the columns' Arrow types."""
        return _core._arrow_export_schema(self)

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """An ``arrow_array_stream`` PyCapsule yielding the table as one record batch.

        Buffers are shared, not copied (bool values are bit-packed into a new buffer).
        A ``requested_schema`` other than the table's own raises NotImplementedError.
        """
        return _core._arrow_export_stream(self, requested_schema)

    def __arrow_c_array__(self, requested_schema: Any = None) -> tuple[Any, Any]:
        """``(arrow_schema, arrow_array)`` PyCapsules: the table as a struct array."""
        return _core._arrow_export_array(self, requested_schema)

    def __contains__(self, name: object) -> bool:
        return name in self.column_names

    @property
    def nbytes(self) -> int:
        """Bytes referenced by the table's rows (buffers shared with others included)."""
        return sum(c.nbytes for c in self.columns)

    # ---------------------------------------------------------------- display

    def _preview(self, n: int = 5) -> tuple[list[str], list[list[str]]]:
        head = self.slice(0, n)
        rows = [[_format_cell(v) for v in c.to_pylist()] for c in head.columns]
        return self.column_names, [list(r) for r in zip(*rows)] if rows else []

    def __repr__(self) -> str:
        names, rows = self._preview()
        types = [self.schema[n] for n in names]
        lines = [f"traffickstats.Table: {self.num_rows:,} rows x {len(names)} columns"]
        if names:
            widths = [max(len(n), len(t), *(len(r[j]) for r in rows)) for j, (n, t) in enumerate(zip(names, types))]
            widths = [min(w, 24) for w in widths]

            def fmt(cells: Sequence[str]) -> str:
                return "  ".join(_clip(c, w).ljust(w) for c, w in zip(cells, widths)).rstrip()

            lines += [fmt(names), fmt(types), fmt(["-" * w for w in widths])]
            lines += [fmt(r) for r in rows]
            if self.num_rows > len(rows):
                lines.append(f"... {self.num_rows - len(rows):,} more rows")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        names, rows = self._preview()
        esc = html.escape
        head = "".join(f"<th>{esc(n)}<br><small>{esc(self.schema[n])}</small></th>" for n in names)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
        more = (f"<p>... {self.num_rows - len(rows):,} more rows</p>" if self.num_rows > len(rows) else "")
        return (f"<div><p><b>traffickstats.Table</b>: {self.num_rows:,} rows &times; {len(names)} columns</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}</div>")


def _clip(s: str, w: int) -> str:
    return s if len(s) <= w else s[: w - 1] + "…"


def _format_cell(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, list):
        return "[" + ", ".join(v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _warn_lost_pandas_info(df: Any) -> None:
    """Say what a Table cannot hold: an index that carries data, ordered categories."""
    import warnings

    import pandas as pd

    from ..errors import DataWarning

    idx = df.index
    named = [n for n in idx.names if n is not None]
    if named or (not isinstance(idx, pd.RangeIndex) and idx.dtype.kind not in "iu"):
        what = f"index {(named[0] if len(named) == 1 else named)!r}" if named else f"{idx.dtype} index"
        warnings.warn(DataWarning(f"Table.from_pandas: the DataFrame's {what} is not stored (a Table has no "
                                  "index); df.reset_index() keeps it as a column"), stacklevel=4)
    ordered = [str(c) for c, t in zip(df.columns, df.dtypes) if isinstance(t, pd.CategoricalDtype) and t.ordered]
    if ordered:
        warnings.warn(DataWarning(f"Table.from_pandas: column(s) {ordered}: ordered=True is not kept (a category "
                                  "column is unordered; the order of its categories is kept, so "
                                  "to_pandas() can restore it with .cat.as_ordered())"), stacklevel=4)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _text_days(texts: np.ndarray) -> np.ndarray:
    """datetime64[D] of ``YYYY-MM-DD`` texts (None or NaT: NaT); anything else raises.

    Strict on purpose: NumPy would read ``"2020"`` as 2020-01-01, so that
    ``col == "2020"`` would quietly mean one day, not the year."""
    out = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[D]")
    for i, v in enumerate(texts.tolist()):   # per compared value, not per row of the column
        if v is None or v == "NaT":
            continue
        if not isinstance(v, str) or not _ISO_DATE.fullmatch(v):
            raise ValueError(f"cannot compare a date column with {v!r}: write dates as YYYY-MM-DD")
        try:
            out[i] = np.datetime64(v, "D")
        except ValueError:
            raise ValueError(f"cannot compare a date column with {v!r}: no such day") from None
    return out


_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
# which column types compare with which (elementwise)
_KIND = {"bool": "bool", "int32": "number", "int64": "number", "float64": "number", "date": "date",
         "category": "text", "string": "text", "list<category>": "list"}


def _comparable(col: Column) -> np.ndarray:
    """The values to compare elementwise: labels for text (nulls as ''), else the buffer."""
    if col.type in ("category", "string"):
        out = col.to_numpy()
        out[~col.valid] = ""
        return out
    return col.values


def _column_to_pandas(col: Column, pd: Any) -> Any:
    t = col.type
    valid = col.valid
    mask = ~valid
    if t == "bool":
        return pd.arrays.BooleanArray(col.values.copy(), mask)
    if t in ("int32", "int64"):
        return pd.arrays.IntegerArray(col.values.copy(), mask)
    if t == "float64":
        return pd.arrays.FloatingArray(col.values.copy(), mask)
    if t == "date":
        out = col.values.astype("datetime64[D]").astype("datetime64[s]")
        out[mask] = np.datetime64("NaT")
        return pd.Series(out, dtype="datetime64[s]").array
    if t == "category":
        return pd.Categorical.from_codes(col.codes.copy(), categories=pd.Index(list(col.categories), dtype=object))
    if t == "string":
        return pd.array(col._to_objects(), dtype=pd.StringDtype())
    return pd.Series(col.to_numpy(), dtype=object).array


def _column_equals(a: Column, b: Column) -> bool:
    if a.type != b.type or len(a) != len(b):
        return False
    va, vb = a.valid, b.valid
    if not np.array_equal(va, vb):
        return False
    t = a.type
    if t in ("string", "list<category>"):
        return a.to_pylist() == b.to_pylist()
    if t == "category":
        pos = {label: i for i, label in enumerate(a.categories)}
        remap = np.array([pos.get(label, -2) for label in b.categories] + [-1], dtype=np.int64)
        return bool(np.array_equal(a.codes[va], remap[b.codes[vb]]))
    x, y = a.values[va], b.values[vb]
    if t == "float64":
        return bool(np.array_equal(x, y, equal_nan=True))
    return bool(np.array_equal(x, y))


_core._register_classes(Table, Column)
