"""The group-by front: :func:`group_by` (a pending :class:`GroupBy`), :func:`value_counts`
and :func:`crosstab`.  See the package docstring for null semantics and result dtypes."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .keys import DatePart, nrows
from .ops import FUNCS, Spec, aggregate, size
from .plan import Options, Plan, as_data, groups, keyed_plan, make_plan, threads_for, where_mask
from .result import Crosstab, GroupByResult

__all__ = ["GroupBy", "group_by", "value_counts", "crosstab"]


class GroupBy:
    """A pending group-by; call :meth:`agg` or :meth:`size` to compute it.

    Built by :meth:`Table.group_by` / :func:`group_by`: it checks the options and
    holds the request; each call builds the immutable plan
    (:func:`~traffickstats.engine.groupby.plan.make_plan`) and aggregates over it.
    """

    def __init__(self, data: Any, keys: Any, dropna: bool = True, sort: bool = True,
                 where: Any = None, threads: int | None = None) -> None:
        if isinstance(keys, (str, DatePart)):
            keys = [keys]
        keys = list(keys)
        if not keys:
            raise ValueError("group_by needs at least one key")
        data = as_data(data)
        n = nrows(data)
        self._data = data
        self._specs = tuple(keys)
        self._options = Options(n, bool(dropna), bool(sort), where_mask(where, n), threads_for(threads, n))
        self._plan: Plan | None = None   # the general plan, built once and reused

    @property
    def _codes(self) -> np.ndarray | None:
        """The group codes of the general plan once built (the keyed path builds none)."""
        return self._plan.codes if self._plan is not None else None

    def plan(self, aggs: Sequence[Spec] | None = None) -> Plan:
        """The plan of this group-by.  With `aggs` (the parsed aggregates) the keyed
        path is tried first; the general plan is built once and reused."""
        if aggs is not None and self._plan is None:
            keyed = keyed_plan(self._data, self._specs, self._options, aggs)
            if keyed is not None:
                return keyed
        if self._plan is None:
            self._plan = make_plan(self._data, self._specs, self._options)
        return self._plan

    def agg(self, **named: Any) -> GroupByResult:
        """Compute named aggregates: ``agg(n=("victim_id", "count"), ...)``.

        Each value is ``(column, func)`` or, for quantiles, ``(column, "quantile", q)``
        where q is a float (a 1-d result) or a sequence of floats (a 2-d result, one
        column per q).  ``func`` is one of count, size, sum, mean, min, max, var, std,
        median, quantile, nunique, any, all, first, last.
        """
        specs: list[Spec] = []
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
        return aggregate(self.plan(specs), specs)

    def size(self, name: str = "size") -> GroupByResult:
        """Rows per group, as an int64 column called `name`."""
        return size(self.plan(), name)


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
    plan = GroupBy(data, [row_key, col_key], dropna=dropna, sort=True, where=where,
                   threads=threads).plan()
    g = groups(plan)
    axes = []
    for key, part in zip(g.keys, g.parts):
        rank = key.rank[part] if key.rank is not None else part
        _, first, inv = np.unique(rank, return_index=True, return_inverse=True)
        axes.append((key.labels(part[first]), inv.reshape(-1)))
    (rlab, ri), (clab, ci) = axes
    counts = np.zeros((len(rlab), len(clab)), dtype=np.int64)
    np.add.at(counts, (ri, ci), g.sizes)
    return Crosstab(rlab, clab, counts, g.keys[0].name, g.keys[1].name)
