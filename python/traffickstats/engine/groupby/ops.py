"""The aggregates over a plan: an op -> kernel table in the pandas style.

Every aggregate function has one signature, ``op(run, out_name, col, q) -> finish``:
it runs its C pass over all group codes of the plan and returns ``finish``, a function
of the observed codes (in output order) giving the result column.  :class:`_Run` is
the scratch of one ``agg()`` call over an immutable :class:`~.plan.Plan`: the value
columns loaded, the group sizes once a pass counted them, the float sums and the
moments already computed (so that ``mean`` after ``sum`` costs nothing).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ... import _core
from ..convert import ColumnData
from .keys import get_column, take_rows, value_codes
from .plan import Plan, group_sizes, groups
from .result import GroupByResult

__all__ = ["FUNCS", "OPS", "aggregate", "size"]

_NUMERIC = ("bool", "int32", "int64", "float64")
# Float sums of several columns share one pass when there are fewer codes than this.
_FUSE_MAX_CODES = _core._GB_FUSE_MAX_CODES
_MAX_COLUMNS = _core._GB_MAX_COLUMNS

#: the observed codes -> one result column
Finish = Callable[[np.ndarray], np.ndarray]
Spec = tuple[str, str, str, Any]   # (output name, column, func, q)


class _Run:
    """The scratch of one aggregation over a plan (caches of the passes made)."""

    def __init__(self, plan: Plan, moment_cols: set[str]) -> None:
        self.plan = plan
        self.sizes: np.ndarray | None = plan.sizes
        self.fsums: dict[str, tuple[np.ndarray, np.ndarray]] = dict(plan.keyed_sums)
        self.moment_cols = moment_cols
        self.moments: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.quantiles: dict[str, list[float]] = {}
        self._cols: dict[str, ColumnData] = {}
        self._rows: np.ndarray | None = plan.item_rows

    def column(self, name: str) -> ColumnData:
        """Value column `name`, taken at the exploded elements' rows when a list key was
        exploded."""
        if name not in self._cols:
            self._cols[name] = self._load(name)
        return self._cols[name]

    def _load(self, name: str) -> ColumnData:
        plan = self.plan
        col = get_column(plan.data, name)
        if plan.explode is None:
            return col
        if self._rows is None:
            self._rows = plan.explode.source_rows(plan.nthreads)
        rows = self._rows
        if col.offsets is not None:
            raise TypeError(f"column {name!r}: a {col.kind} column cannot be aggregated "
                            "over an exploded list key")
        return ColumnData(col.name, col.kind, np.take(col.values, rows),
                          None if col.valid is None else np.take(col.valid, rows),
                          categories=col.categories)

    def agg(self, op: str, vals: Any, valid: np.ndarray | None, mean: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray, int]:
        """One ``_gb_agg`` pass: (result, count, flag); notes the group sizes."""
        plan = self.plan
        assert plan.codes is not None  # (the keyed plan only has sums and sizes)
        if mean is None:
            res, cnt, rows, flag = _core._gb_agg(plan.codes, plan.ncodes, op, vals, valid,
                                                 plan.nthreads)
        else:
            res, cnt, rows, flag = _core._gb_agg(plan.codes, plan.ncodes, op, vals, valid,
                                                 plan.nthreads, mean)
        if self.sizes is None:
            self.sizes = rows
        return res, cnt, flag

    def size_of(self, obs: np.ndarray) -> np.ndarray:
        """Rows in each of the groups `obs` (called once the aggregates have run)."""
        assert self.sizes is not None  # every aggregate pass sets it, and the groups
        return self.sizes[obs]

    def fsum(self, column: str, v: np.ndarray, m: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Compensated float sum and count of `column` per code (cached)."""
        cached = self.fsums.get(column)
        if cached is not None:
            return cached
        s, cnt, inf = self.agg("sum", v, m)
        if inf:
            # an infinity breaks the compensation term: redo as a plain sum (inf stays inf)
            s, cnt, _ = self.agg("psum", v, m)
        return s, cnt

    def fused_sums(self, specs: Sequence[Spec]) -> None:
        """Compensated sums of every float64 column that sum/mean/var/std need, in one pass."""
        names: list[str] = []
        for _, column, func, _ in specs:
            if func in ("sum", "mean", "var", "std") and column not in names:
                try:
                    col = self.column(column)
                except (KeyError, TypeError):
                    continue  # reported with context by the op
                if col.kind == "float64" and col.values.dtype == np.float64:
                    names.append(column)
        plan = self.plan
        if len(names) < 2 or plan.ncodes > _FUSE_MAX_CODES:
            # with many groups the states of several columns per row cost more cache
            # misses than a second pass over the codes
            return
        assert plan.codes is not None  # (the keyed plan has its sums already)
        for start in range(0, len(names), _MAX_COLUMNS):
            chunk = names[start:start + _MAX_COLUMNS]
            cols = [self.column(c) for c in chunk]
            sums, counts, rows, flags = _core._gb_fsum_many(
                plan.codes, plan.ncodes, [c.values for c in cols], [c.valid for c in cols],
                plan.nthreads)
            if self.sizes is None:
                self.sizes = rows
            for k, (name, col) in enumerate(zip(chunk, cols)):
                if flags >> k & 1:
                    # an infinity breaks the compensation term: redo as a plain sum
                    s, cnt, _ = self.agg("psum", col.values, col.valid)
                    self.fsums[name] = (s, cnt)
                else:
                    self.fsums[name] = (sums[k], counts[k])


def _plain(a: np.ndarray) -> Finish:
    return lambda obs: a[obs]


# --------------------------------------------------------------------------- the ops
# op(run, out_name, col, q) -> finish


def _size(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    return run.size_of


def _count(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    if col.valid is None and col.kind not in ("float64",):
        return run.size_of
    vals = col.values if col.offsets is None else col.valid
    _, cnt, _ = run.agg("count", vals, col.valid)
    return _plain(cnt)


def _nunique(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    vcodes, nv = value_codes(col)
    plan = run.plan
    assert plan.codes is not None  # (the keyed plan has no nunique)
    nc = plan.ncodes
    # C chooses radix or hash (hash=None) from the code space and the row count
    pair, npair, uniques = _core._gb_combine(plan.codes, nc, vcodes, nv, None)
    if uniques is None:
        _, _, present, _ = _core._gb_agg(pair, npair, "size", None, None, plan.nthreads)
        per = (present.reshape(nc, nv) > 0).sum(axis=1) if nv else np.zeros(nc, np.int64)
    else:
        per = np.bincount(uniques // nv, minlength=nc)
    return _plain(per.astype(np.int64))


def _first_last(run: _Run, out: str, col: ColumnData, func: str) -> Finish:
    vals = col.values if col.offsets is None else (col.valid if col.valid is not None
                                                     else np.ones(len(col), bool))
    rows, _, _ = run.agg(func, vals, col.valid)
    return lambda obs: take_rows(col, rows[obs])


def _first(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    return _first_last(run, out, col, "first")


def _last(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    return _first_last(run, out, col, "last")


def _sum(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    v, m = col.values, col.valid
    if col.kind == "float64":
        return _plain(run.fsum(col.name, v, m)[0])
    res, _, overflow = run.agg("isum", v, m)
    if overflow:
        raise OverflowError(f"{out}: the int64 sum of {col.name!r} overflows")
    return _plain(res)


def _mean(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    s, cnt = run.fsum(col.name, col.values, col.valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _plain(s / np.where(cnt == 0, np.nan, cnt))


def _var_std(run: _Run, out: str, col: ColumnData, std: bool) -> Finish:
    v, m = col.values, col.valid
    moments = run.moments.get(col.name)
    if moments is not None:
        s, cnt, m2 = moments   # from the median/quantile pass over this column
    else:
        s, cnt = run.fsum(col.name, v, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = s / np.where(cnt == 0, np.nan, cnt)
        if moments is None:
            m2, _, _ = run.agg("m2", v, m, np.ascontiguousarray(mu))
        var = m2 / np.where(cnt <= 1, np.nan, cnt - 1)
        var[~np.isfinite(mu)] = np.nan
    return _plain(np.sqrt(var) if std else var)


def _var(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    return _var_std(run, out, col, False)


def _std(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    return _var_std(run, out, col, True)


def _order_stat(run: _Run, out: str, col: ColumnData, q: Any, median: bool) -> Finish:
    if median:
        qs = np.array([0.5])
    else:
        qs = np.atleast_1d(np.asarray(0.5 if q is None else q, dtype=np.float64))
        if qs.ndim != 1 or qs.size == 0:
            raise ValueError(f"{out}: quantile needs one or several q in [0, 1]")
        if not np.all((qs >= 0) & (qs <= 1)):
            raise ValueError(f"{out}: quantiles must lie in [0, 1], got {qs.tolist()}")
    plan = run.plan
    assert plan.codes is not None  # (the keyed plan has no order statistics)
    v, m = col.values, col.valid
    if col.name in run.moment_cols and col.name not in run.moments:
        res, cnt, s, m2, rows = _core._gb_quantile(plan.codes, plan.ncodes, v, m, qs,
                                                   plan.nthreads, median, True)
        run.moments[col.name] = (s, cnt, m2)
    else:
        res, _, rows = _core._gb_quantile(plan.codes, plan.ncodes, v, m, qs, plan.nthreads, median)
    if run.sizes is None:
        run.sizes = rows   # the group sizes come with the counting pass
    if median or np.ndim(q) == 0:
        return _plain(res[:, 0])
    run.quantiles[out] = qs.tolist()
    return _plain(res)


def _median(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    return _order_stat(run, out, col, q, True)


def _quantile(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    return _order_stat(run, out, col, q, False)


def _any(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    nz, _, _ = run.agg("any", col.values, col.valid)
    return _plain(nz > 0)


def _all(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    nz, cnt, _ = run.agg("any", col.values, col.valid)
    return _plain(nz == cnt)


def _min_max(run: _Run, out: str, col: ColumnData, func: str) -> Finish:
    v, kind = col.values, col.kind
    res, cnt, _ = run.agg(func, v, col.valid)
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


def _min(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    return _min_max(run, out, col, "min")


def _max(run: _Run, out: str, col: ColumnData, q: Any) -> Finish:
    return _min_max(run, out, col, "max")


#: func -> its op (one signature for every aggregate)
OPS: dict[str, Callable[[_Run, str, ColumnData, Any], Finish]] = {
    "count": _count, "size": _size, "sum": _sum, "mean": _mean, "min": _min, "max": _max,
    "var": _var, "std": _std, "median": _median, "quantile": _quantile, "nunique": _nunique,
    "any": _any, "all": _all, "first": _first, "last": _last,
}
FUNCS = tuple(OPS)
# the ops that need a numeric column (min and max also take dates)
_ANY_KIND = ("count", "size", "nunique", "first", "last")


def _one(run: _Run, out: str, column: str, func: str, q: Any) -> Finish:
    """Runs one aggregate over all codes; returns a function of the observed codes."""
    col = run.column(column)
    kind = col.kind
    if func not in _ANY_KIND and kind not in _NUMERIC and not (kind == "date" and func in ("min", "max")):
        raise TypeError(f"{out}: cannot compute {func} of {kind} column {column!r}")
    return OPS[func](run, out, col, q)


def aggregate(plan: Plan, specs: Sequence[Spec]) -> GroupByResult:
    """The named aggregates `specs` of a plan, as a result with the key columns first."""
    # a column with both a median/quantile and a var/std gets its moments from the
    # order-statistics pass, whose values are already grouped (run those first)
    holistic = {c for _, c, f, _ in specs if f in ("median", "quantile")}
    run = _Run(plan, holistic & {c for _, c, f, _ in specs if f in ("var", "std")})
    if plan.path != "keyed":
        run.fused_sums([sp for sp in specs if sp[1] not in run.moment_cols])
    pending = {}
    for out, col, func, q in sorted(specs, key=lambda sp: sp[2] not in ("median", "quantile")):
        if out in pending:
            raise ValueError(f"output name {out!r} is used twice")
        pending[out] = _one(run, out, col, func, q)
    if run.sizes is None:
        run.sizes = group_sizes(plan)   # no pass counted them (e.g. only counts of valid columns)
    g = groups(plan, run.sizes)
    cols = dict(g.columns)
    for out, _, _, _ in specs:
        fin = pending[out]
        if out in cols:
            raise ValueError(f"output name {out!r} is already used (keys: {list(g.columns)})")
        cols[out] = fin(g.obs)
    res = GroupByResult(cols, list(g.columns), g.categories)
    res._quantiles = run.quantiles
    return res


def size(plan: Plan, name: str = "size") -> GroupByResult:
    """Rows per group, as an int64 column called `name`."""
    g = groups(plan)
    cols = dict(g.columns)
    if name in cols:
        raise ValueError(f"output name {name!r} is a key name")
    cols[name] = g.sizes.copy()
    return GroupByResult(cols, list(g.columns), g.categories)
