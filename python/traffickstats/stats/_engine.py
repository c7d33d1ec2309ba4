"""The bridge from the statistics to the C engine.

A statistic's populations are NumPy boolean masks over one table's rows (built from
the columns' zero-copy ``values``/``valid``/``codes`` arrays); its ``by=`` groups are
a :class:`Key` (int32 codes, -1 = in no group).  Every count of one statistic, for all
its years and all its populations, is one engine call (``_core._gb_tally``): nothing
here loops over rows, and no group-by runs on a made-up constant key.  Means and
medians go through :func:`traffickstats.group_by` (the same kernels as the public
group-by), once for all years.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from .. import _core
from ..engine.groupby import group_by

ALL = "all"


class Key(NamedTuple):
    """The groups of one table's rows for ``by=``."""

    codes: np.ndarray | None   #: int32 group of each row, -1 = in no group; None: one group
    labels: list[str]          #: the group labels (``[ALL]`` for one group)


ONE_GROUP = Key(None, [ALL])


def _masks(masks: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.ascontiguousarray(m, dtype=bool) for m in masks]


def counts(masks: Sequence[np.ndarray], key: Key = ONE_GROUP) -> np.ndarray:
    """Rows of each mask in each group: int64 of shape ``(len(masks), len(key.labels))``."""
    return _core._gb_tally(_masks(masks), key.codes, len(key.labels))


def counts_across(parts: Sequence[tuple[Sequence[np.ndarray], Key]]) -> list[np.ndarray]:
    """:func:`counts` for populations of several tables grouped alike (``by=`` a case
    attribute gives every table the same labels), in one engine call: the tables' rows
    are laid end to end, each mask false on the other tables' rows."""
    labels = parts[0][1].labels
    if any(key.labels != labels for _, key in parts):
        raise ValueError("counts_across needs the same groups for every table")
    sizes = [len(masks[0]) for masks, _ in parts]
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    laid = []
    for i, (masks, _) in enumerate(parts):
        for m in masks:
            whole = np.zeros(int(start[-1]), dtype=bool)
            whole[start[i]:start[i + 1]] = m
            laid.append(whole)
    codes = None
    if parts[0][1].codes is not None:
        codes = np.concatenate([key.codes for _, key in parts]).astype(np.int32)
    c = _core._gb_tally(laid, codes, len(labels))
    out, j = [], 0
    for masks, _ in parts:
        out.append(c[j:j + len(masks)])
        j += len(masks)
    return out


def value_counts(masks: Sequence[np.ndarray], key: Key, column: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rows of each mask by group and value of a category or list<category> column.

    Returns ``(per_value, rows)``: ``per_value[j, g, c]`` counts the rows of mask ``j``
    in group ``g`` whose value is (for a list: whose list holds) category ``c`` of the
    column (a row counts once per item of its list); ``rows[j, g]`` counts the rows of
    mask ``j`` in group ``g`` whatever their value (null, an empty list or any).  One
    engine call.
    """
    ncat = len(column.categories)
    ngroups = len(key.labels)
    if column.type == "list<category>":
        out = _core._gb_tally(_masks(masks), key.codes, ngroups, column, row_counts=True)
        return out[:, :, :ncat], out[:, :, ncat]
    # a category column: one slot more for the rows whose value is null
    valid = np.asarray(column.valid)
    value = np.where(valid, np.asarray(column.codes), ncat).astype(np.int32)
    if key.codes is None:
        codes = value
    else:
        codes = np.where(key.codes >= 0, key.codes * np.int32(ncat + 1) + value, -1).astype(np.int32)
    out = _core._gb_tally(_masks(masks), codes, ngroups * (ncat + 1)).reshape(len(masks), ngroups, ncat + 1)
    return out[:, :, :ncat], out.sum(axis=2)


def means_and_medians(masks: Sequence[np.ndarray], key: Key, values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and median of ``values`` over the rows of each mask, by group: two float64
    arrays of shape ``(len(masks), len(key.labels))``, NaN where a group has no value.

    The masks must be disjoint (each row in at most one), as the rows convicted in
    different years are: they become one key, so one group-by serves them all.
    """
    k, ngroups = len(masks), len(key.labels)
    mask_of = np.full(len(values), -1, dtype=np.int32)
    for j, m in enumerate(masks):  # per mask, not per row
        if np.any(mask_of[m] >= 0):
            raise ValueError("means_and_medians needs disjoint masks")
        mask_of[m] = j
    group = np.zeros(len(values), dtype=np.int32) if key.codes is None else key.codes
    cell = np.where((mask_of >= 0) & (group >= 0), mask_of * np.int32(ngroups) + group, -1).astype(np.int32)
    mean = np.full(k * ngroups, np.nan)
    median = np.full(k * ngroups, np.nan)
    valid = cell >= 0
    if np.any(valid):
        labels = [str(i) for i in range(k * ngroups)]
        cells = _core.make_column("cell", "category", cell, None if valid.all() else valid, None, labels)
        res = group_by({"cell": cells, "v": values}, "cell").agg(mean=("v", "mean"), median=("v", "median"))
        at = np.array([int(c) for c in res["cell"]], dtype=np.int64)  # per cell, not per row
        mean[at] = np.ma.filled(np.ma.asarray(res["mean"], dtype=np.float64), np.nan)
        median[at] = np.ma.filled(np.ma.asarray(res["median"], dtype=np.float64), np.nan)
    return mean.reshape(k, ngroups), median.reshape(k, ngroups)
