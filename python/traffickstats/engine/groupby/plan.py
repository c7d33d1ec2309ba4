"""The group-by plan: one immutable object built once from data + keys + options.

:func:`make_plan` encodes every key (:mod:`.keys`), combines them into one group code
per row (exploding a list<category> key into one element per item), and records how
to decode and order the codes: a :class:`Plan`.  The aggregates (:mod:`.ops`) read a
plan and never change it; :func:`groups` turns a plan and its group sizes into the
observed groups in output order, whose public fields :func:`crosstab` also reads.

Paths (``Plan.path``)
---------------------
``"codes"``     the keys' combined codes, one per row (``where=`` rows set to -1);
``"exploded"``  one code per list item (``Plan.explode`` says how to find each
                element's source row, which value columns are taken at);
``"keyed"``     float sums and means by one int key with a small range: C read the key
                itself (code = key - origin) and already summed, so the plan carries
                the sums (``Plan.keyed_sums``) and the group sizes instead of codes.

Thresholds are C's (``_core._GB_*``), read here, never restated.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ... import _core
from ..convert import ColumnData
from .keys import (DatePart, Decoder, Key, combine, decode_one, encode_key, get_column,
                   list_key, numeric_key)

__all__ = ["Options", "Explode", "Plan", "Groups", "make_plan", "keyed_plan", "groups", "as_data",
           "threads_for", "where_mask"]

# Inputs with at least this many rows use all cores unless threads= says otherwise.
_THREAD_ROWS = _core._GB_THREAD_ROWS
# From this many rows, float sums and means by one int key read the key itself (the
# module attribute is what the planner reads: tests lower it to reach the path).
_KEYED_ROWS = _core._GB_KEYED_ROWS
# At most this many float64 columns share one fused (or keyed) pass.
_MAX_COLUMNS = _core._GB_MAX_COLUMNS


def threads_for(threads: int | None, n: int) -> int:
    """The kernels' thread count for `threads=` over n rows."""
    if threads is None:
        return min(os.cpu_count() or 1, _core._GB_MAX_THREADS) if n >= _THREAD_ROWS else 1
    threads = int(threads)
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    return threads


def where_mask(where: Any, n: int) -> np.ndarray | None:
    """The bool mask of `where=` (a bool array or bool Column; nulls are False)."""
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


def as_data(data: Any) -> Any:
    """A Table, or a dict of arrays, from anything ``Table`` accepts (a DataFrame, an Arrow object)."""
    if isinstance(data, (_core.Table, Mapping)):
        return data
    # the Table class the package registered with the C core (engine/table.py), not an
    # import of it: table.py imports the group-by, never the other way round
    Table = _core._table_class

    try:
        return Table(data)   # a pandas DataFrame (Table() knows one when it sees it)
    except TypeError:
        if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
            return Table.from_arrow(data)
        raise TypeError(f"group_by needs a Table, a pandas DataFrame, an Arrow table or a dict of arrays, "
                        f"got {type(data).__name__}") from None


@dataclass(frozen=True)
class Options:
    """The options of one group-by, checked (``where`` as a bool mask or None), and the
    row count they were checked against."""

    nrows: int
    dropna: bool
    sort: bool
    where: np.ndarray | None
    nthreads: int


@dataclass(frozen=True)
class Explode:
    """How an exploded list key's elements map back to rows."""

    row_codes: np.ndarray   # the other keys' codes on the original rows (-1: dropped)
    column: ColumnData      # the list<category> column
    nl: int                 # item codes per row code (categories, + 1 for the null group)
    empty: int              # the item code of an empty or null list, -1 when dropped

    def source_rows(self, nthreads: int) -> np.ndarray:
        """The source row of each exploded element."""
        col = self.column
        assert col.offsets is not None  # a list<category> column
        _, rows = _core._gb_explode(np.where(self.row_codes >= 0, 0, -1).astype(np.int32), 1,
                                    col.offsets, col.values, col.valid, self.nl, self.empty, True,
                                    nthreads)
        return rows


@dataclass(frozen=True)
class Plan:
    """Everything the aggregates need, computed once (see the module docstring)."""

    data: Any
    nrows: int
    path: str                      # "codes", "exploded" or "keyed"
    keys: tuple[Key, ...]          # in combination order (an exploded list key last)
    key_pos: tuple[int, ...]       # the user's i-th key is keys[key_pos[i]]
    codes: np.ndarray | None       # int32 group code per (exploded) row; None on the keyed path
    ncodes: int
    decode: Decoder                # codes -> each key's codes (combination order)
    sorted_codes: bool             # code order is key order
    sort: bool
    nthreads: int
    explode: Explode | None = None
    item_rows: np.ndarray | None = None        # source rows of exploded elements, if known
    sizes: np.ndarray | None = None            # rows per code, when planning counted them
    keyed_sums: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _explode_plan(data: Any, n: int, encoded: list[tuple[Key | None, ColumnData]], li: int,
                  names: list[str], opts: Options) -> Plan:
    """The plan of keys with a list<category> key (at li), exploded into the last radix
    digit (or hash-combined with the others when that code space is too large)."""
    lcol = encoded[li][1]
    others = [k for i, (k, _) in enumerate(encoded) if i != li and k is not None]
    # combine the other keys on the original rows, then explode the list
    if others:
        codes, ncodes, dec, _ = combine(others)
    else:
        codes, ncodes, dec = np.zeros(n, np.int32), 1, (lambda c: [])
    if opts.where is not None:
        codes = np.where(opts.where, codes, np.int32(-1)).astype(np.int32)
    assert lcol.categories is not None and lcol.offsets is not None  # a list<category> column
    nl = len(lcol.categories) + (0 if opts.dropna else 1)
    empty = -1 if opts.dropna else len(lcol.categories)
    row_codes = codes
    item_rows = None
    decode: Decoder
    if ncodes * nl < 2**31:
        # the list key is the last radix digit of the exploded codes
        codes, _ = _core._gb_explode(codes, ncodes, lcol.offsets, lcol.values, lcol.valid,
                                     nl, empty, False, opts.nthreads)
        ncodes_all = ncodes * nl

        def decode(c: np.ndarray, dec: Decoder = dec, nl: int = nl) -> list[np.ndarray]:
            c = np.asarray(c, dtype=np.int64)
            return dec(c // nl) + [c % nl]
    else:
        # too many combinations for one radix code: explode, then hash-combine
        items, item_rows = _core._gb_explode(np.where(codes >= 0, 0, -1).astype(np.int32), 1,
                                             lcol.offsets, lcol.values, lcol.valid, nl, empty, True,
                                             opts.nthreads)
        base = np.ascontiguousarray(np.take(codes, item_rows))
        codes, ncodes_all, uq = _core._gb_combine(base, ncodes, items, nl, True)

        def decode(c: np.ndarray, dec: Decoder = dec, nl: int = nl, uq: np.ndarray = uq
                   ) -> list[np.ndarray]:
            r = uq[np.asarray(c, dtype=np.int64)]
            return dec(r // nl) + [r % nl]
    key_pos = list(range(len(others)))
    key_pos.insert(li, len(others))
    return Plan(data, n, "exploded", tuple(others) + (list_key(names[li], lcol, opts.dropna),),
                tuple(key_pos), np.ascontiguousarray(codes, dtype=np.int32), ncodes_all, decode,
                False, opts.sort, opts.nthreads,
                explode=Explode(row_codes, lcol, nl, empty), item_rows=item_rows)


def keyed_plan(data: Any, specs: Sequence[Any], opts: Options,
               aggs: Sequence[tuple[str, str, str, Any]]) -> Plan | None:
    """The keyed plan, when it applies and C accepts the key; else None.

    It applies when the only key is an int32/int64/date column without nulls, every
    aggregate is a float64 sum or mean (or size), there is no where= and the groups
    are sorted.  C picks the window of codes from a sample of the key and sums by code
    = key - origin in one pass; a key outside its window, too wide a range, or an
    infinity in a sum (which needs the plain-sum redo) sends the query down the
    general path.
    """
    n = opts.nrows
    spec = specs[0]
    if (len(specs) != 1 or not isinstance(spec, str) or opts.where is not None
            or not opts.sort or n < _KEYED_ROWS
            or any(f not in ("sum", "mean", "size") for _, _, f, _ in aggs)):
        return None
    try:
        kcol = get_column(data, spec)
    except KeyError:
        return None  # reported by the general path
    if kcol.kind not in ("int32", "int64", "date") or kcol.valid is not None:
        return None
    names: list[str] = []
    cols: list[ColumnData] = []
    for _, column, func, _ in aggs:
        if func != "size" and column not in names:
            try:
                col = get_column(data, column)
            except (KeyError, TypeError):
                return None  # reported with context by the general path
            if col.kind != "float64" or col.values.dtype != np.float64:
                return None
            names.append(column)
            cols.append(col)
    if not 1 <= len(names) <= _MAX_COLUMNS:
        return None
    out = _core._gb_keyed_sums(kcol.values, [c.values for c in cols], [c.valid for c in cols],
                               opts.nthreads)
    if out is None or out[5]:
        return None
    origin, ncodes, sums, counts, rows, _ = out
    key = numeric_key(spec, None, ncodes, origin, None, -1, kcol.kind, False)
    return Plan(data, n, "keyed", (key,), (0,), None, ncodes, decode_one, True, opts.sort,
                opts.nthreads, sizes=rows,
                keyed_sums={name: (sums[k], counts[k]) for k, name in enumerate(names)})


def make_plan(data: Any, specs: Sequence[Any], opts: Options) -> Plan:
    """The general plan of grouping `data` (a Table or a dict) by the key specs `specs`
    (paths "codes" and "exploded"; :func:`keyed_plan` is the keyed one)."""
    n = opts.nrows
    names = [s.name if isinstance(s, DatePart) else s for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate group keys: {names}")
    encoded = [encode_key(data, s, opts.dropna, opts.nthreads) for s in specs]
    lists = [i for i, (k, _) in enumerate(encoded) if k is None]
    if len(lists) > 1:
        raise ValueError("at most one list<category> key can be exploded")
    if lists:
        return _explode_plan(data, n, encoded, lists[0], names, opts)
    keys = [k for k, _ in encoded if k is not None]  # (no list key: none is None)
    codes, ncodes, decode, sorted_codes = combine(keys)
    if opts.where is not None:
        codes = np.where(opts.where, codes, np.int32(-1)).astype(np.int32, copy=False)
    return Plan(data, n, "codes", tuple(keys), tuple(range(len(keys))),
                np.ascontiguousarray(codes, dtype=np.int32), ncodes, decode, sorted_codes,
                opts.sort, opts.nthreads)


@dataclass(frozen=True)
class Groups:
    """The observed groups of a plan, in output order."""

    obs: np.ndarray                 # their codes
    sizes: np.ndarray               # rows in each
    keys: tuple[Key, ...]           # the keys, in the user's order
    parts: tuple[np.ndarray, ...]   # each key's codes of the groups
    columns: dict[str, np.ndarray]  # key name -> labels of the groups
    categories: dict[str, np.ndarray]   # category key name -> its categories


def group_sizes(plan: Plan) -> np.ndarray:
    """Rows per code (counted now unless planning counted them)."""
    if plan.sizes is not None:
        return plan.sizes
    assert plan.codes is not None  # (only the keyed path has none, and it has sizes)
    return _core._gb_agg(plan.codes, plan.ncodes, "size", None, None, plan.nthreads)[2]


def groups(plan: Plan, sizes: np.ndarray | None = None) -> Groups:
    """Observed groups, their order, and the key columns (`sizes`: rows per code, when
    an aggregate pass already counted them)."""
    if sizes is None:
        sizes = group_sizes(plan)
    obs = np.flatnonzero(sizes)
    parts = plan.decode(obs)
    keys = plan.keys
    if plan.sort:
        if plan.path == "exploded" or not plan.sorted_codes:
            # radix codes of sorted keys are already in key order; otherwise sort
            sortkeys = [r[parts[p]] if (r := keys[p].rank) is not None else parts[p]
                        for p in plan.key_pos]
            order = np.lexsort(sortkeys[::-1]) if len(obs) else np.zeros(0, np.int64)
        else:
            order = None
    else:
        assert plan.codes is not None  # (the keyed path sorts)
        first = _core._gb_first_rows(plan.codes, plan.ncodes)
        order = np.argsort(first[obs], kind="stable")
    if order is not None:
        obs = obs[order]
        parts = [p[order] for p in parts]
    ordered = tuple(keys[p] for p in plan.key_pos)
    user_parts = tuple(parts[p] for p in plan.key_pos)
    return Groups(obs, sizes[obs], ordered, user_parts,
                  {k.name: k.labels(p) for k, p in zip(ordered, user_parts)},
                  {k.name: k.categories for k in ordered
                   if k.kind == "category" and k.categories is not None})
