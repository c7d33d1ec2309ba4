"""The results of a group-by: :class:`GroupByResult` (one NumPy array per output
column) and :class:`Crosstab` (a two-way frequency table)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["GroupByResult", "Crosstab"]


class GroupByResult:
    """The result of a group-by: one NumPy array per output column.

    Key columns come first (category and string keys as object arrays of their
    labels, dates as ``datetime64[D]``), then the aggregates in the order given.
    ``res["name"]`` returns a column, ``len(res)`` the number of groups,
    ``res.to_pandas()`` a tidy DataFrame and ``res.to_dict()`` a dict of arrays.
    """

    # the q values of each several-quantile column; set by the aggregation, absent otherwise
    _quantiles: dict[str, list[float]]

    def __init__(self, columns: dict[str, np.ndarray], key_names: Sequence[str],
                 categories: Mapping[str, np.ndarray] | None = None) -> None:
        self._columns = dict(columns)
        self.key_names = tuple(key_names)
        self._categories = dict(categories or {})

    @property
    def columns(self) -> list[str]:
        """Output column names: keys first, then aggregates."""
        return list(self._columns)

    def keys(self) -> list[str]:
        """Output column names (as ``columns``)."""
        return list(self._columns)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._columns[name]
        except KeyError:
            raise KeyError(f"no result column {name!r}; columns: {self.columns}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __len__(self) -> int:
        for v in self._columns.values():
            return len(v)
        return 0

    def to_dict(self) -> dict[str, np.ndarray]:
        """A new dict mapping each output column name to its array."""
        return dict(self._columns)

    def to_pandas(self) -> Any:
        """A tidy pandas DataFrame: one row per group, keys as columns.

        Category keys become ``pandas.Categorical`` with the column's categories;
        masked int/bool results become nullable ``Int64``/``boolean`` columns; a
        several-quantile result becomes one column per quantile (``name_q``).
        """
        import pandas as pd

        out: dict[str, Any] = {}
        for name, v in self._columns.items():
            if name in self._categories:
                out[name] = pd.Categorical(list(v), categories=list(self._categories[name]))
            elif isinstance(v, np.ma.MaskedArray):
                data = np.ma.getdata(v)
                mask = np.ma.getmaskarray(v)
                if data.dtype.kind == "b":
                    out[name] = pd.array(data, dtype="boolean")
                else:
                    out[name] = pd.array(data.astype(np.int64), dtype="Int64")
                out[name][mask] = pd.NA
            elif v.ndim == 2:
                qs = self._quantiles.get(name, range(v.shape[1])) if hasattr(self, "_quantiles") else range(v.shape[1])
                for j, q in enumerate(qs):
                    out[f"{name}_{q:g}"] = v[:, j]
            else:
                out[name] = v
        return pd.DataFrame(out)

    def __repr__(self) -> str:
        n = len(self)
        lines = [f"GroupByResult: {n} groups, columns {self.columns}"]
        show = min(n, 10)
        for i in range(show):
            cells = []
            for name, v in self._columns.items():
                x = v[i]
                x = x.tolist() if isinstance(x, (np.ndarray, np.generic)) else x
                cells.append(f"{name}={x!r}")
            lines.append("  " + ", ".join(cells))
        if n > show:
            lines.append(f"  ... ({n - show} more)")
        return "\n".join(lines)


@dataclass
class Crosstab:
    """A two-way frequency table: ``counts[i, j]`` rows with ``index[i]``, ``columns[j]``.

    Only observed row and column labels appear, sorted like group keys.
    """

    index: np.ndarray
    columns: np.ndarray
    counts: np.ndarray
    row_name: str
    col_name: str

    def to_pandas(self) -> Any:
        """The table as a DataFrame shaped like ``pandas.crosstab``."""
        import pandas as pd

        return pd.DataFrame(self.counts, index=pd.Index(self.index, name=self.row_name),
                            columns=pd.Index(self.columns, name=self.col_name))
