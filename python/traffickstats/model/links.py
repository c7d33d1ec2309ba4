"""Case links and small helpers on columns: the row of each defendant's and victim's
case (:func:`_lookup`), masks of a category value, rows of list items."""
from __future__ import annotations

import numpy as np

from ..engine.table import Column



def _labels_eq(col: Column, label: str) -> np.ndarray:
    """Row mask ``col == label`` for a category column (null -> False)."""
    cats = list(col.categories)
    if label not in cats:
        return np.zeros(len(col), dtype=bool)
    return np.asarray(col.codes) == cats.index(label)


def _list_rows(col: Column) -> np.ndarray:
    """Row number of each item of a list column."""
    off = np.asarray(col.offsets)
    return np.repeat(np.arange(len(col), dtype=np.int64), np.diff(off))


def _id_keys(col: Column) -> tuple[np.ndarray, np.ndarray]:
    """(codes, labels as a NumPy str array) of an id column."""
    return np.asarray(col.codes), np.asarray(list(col.categories), dtype=str)


def _lookup(child: Column, parent: Column) -> np.ndarray:
    """Row of ``parent`` (unique ids) holding each ``child`` id, -1 when absent or null."""
    pcodes, plabels = _id_keys(parent)
    ccodes, clabels = _id_keys(child)
    # parent: label -> first row
    first_row = np.full(len(plabels), -1, dtype=np.int64)
    valid = pcodes >= 0
    rows = np.flatnonzero(valid)
    first_row[pcodes[rows][::-1]] = rows[::-1]
    order = np.argsort(plabels, kind="stable")
    sorted_labels = plabels[order]
    pos = np.searchsorted(sorted_labels, clabels) if len(plabels) else np.zeros(len(clabels), dtype=np.int64)
    pos = np.minimum(pos, max(len(plabels) - 1, 0))
    hit = (sorted_labels[pos] == clabels) if len(plabels) else np.zeros(len(clabels), dtype=bool)
    cat_to_row = np.where(hit, first_row[order[pos]] if len(plabels) else -1, -1).astype(np.int64)
    cat_to_row = np.append(cat_to_row, -1)  # code -1 (null) -> -1
    return cat_to_row[np.where(ccodes >= 0, ccodes, len(clabels))]
