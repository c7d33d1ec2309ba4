"""The bridge from the domain layer to the group-by engine.

Every count, sum, mean and median of the statistics goes through
:func:`traffickstats.group_by` (the C kernels) with a NumPy boolean ``where=``
mask: nothing here loops over rows.  Masks are built from the columns' zero-copy
``values``/``valid``/``codes`` arrays.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .. import _core
from ..engine.groupby import group_by

ALL = "all"


def category(name: str, codes: np.ndarray, labels: Sequence[str]) -> _core.Column:
    """A category column from int32 codes (-1 = null) and labels (no copy of codes)."""
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    valid = codes >= 0
    return _core.make_column(name, "category", codes, None if valid.all() else valid, None, list(labels))


def tally(n: int, where: np.ndarray, aggs: Mapping[str, tuple[Any, str]], key: Any = None,
          labels: Sequence[str] | None = None, items: Any = None,
          item_labels: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Aggregate the rows selected by ``where``, per group.

    Parameters
    ----------
    n : int
        Number of rows.
    where : bool ndarray
        The population.
    aggs : mapping of output name to (array or Column, func)
        ``func`` is a group-by function (``sum``, ``size``, ``mean``, ``median``...).
    key : category Column, optional
        Grouping key; one group (labelled ``"all"``) when omitted.
    labels : sequence of str
        All labels of ``key`` (groups that do not occur get 0 / NaN).
    items : list<category> Column, optional
        A list column to explode as a second key (a row counts once per item).
    item_labels : sequence of str
        All item labels.

    Returns
    -------
    dict of str to ndarray
        Arrays of shape ``(len(labels),)`` or ``(len(labels), len(item_labels))``.
    """
    if not np.any(where):
        # empty population: every group is empty (also sidesteps the engine's radix
        # overflow on zero-row list explodes, see test_groupby's sort=False case)
        shape0 = (1 if key is None else len(labels or []),) + (() if items is None else (len(item_labels or []),))
        return {name: (np.zeros(shape0, dtype=np.int64) if func in ("size", "count", "sum") else np.full(shape0, np.nan))
                for name, (_, func) in aggs.items()}
    data: dict[str, Any] = {"_k": np.zeros(n, dtype=bool) if key is None else key}
    keys = ["_k"]
    glabels = [False] if key is None else list(labels or [])
    if items is not None:
        data["_i"] = items
        keys.append("_i")
    spec = {}
    for out, (arr, func) in aggs.items():
        data["v_" + out] = arr
        spec[out] = ("v_" + out, func)
    res = group_by(data, keys, where=where).agg(**spec)
    gpos = {lab: i for i, lab in enumerate(glabels)}
    gi = np.array([gpos[v] for v in res["_k"]], dtype=np.int64)  # per result group, not per row
    shape: tuple[int, ...] = (len(glabels),)
    idx: Any = gi
    if items is not None:
        ipos = {lab: i for i, lab in enumerate(item_labels or [])}
        ii = np.array([ipos[v] for v in res["_i"]], dtype=np.int64)
        shape = (len(glabels), len(ipos))
        idx = (gi, ii)
    result: dict[str, np.ndarray] = {}
    for name, (_, func) in aggs.items():
        vals = np.ma.getdata(res[name])
        if func in ("size", "count", "sum") and vals.dtype.kind in "iub":
            full = np.zeros(shape, dtype=np.int64)
        else:
            full = np.full(shape, np.nan)
        full[idx] = vals
        result[name] = full
    return result
