"""Vectorized group-by aggregation on top of the C kernels in ``traffickstats._core``
(csrc/groupby/).

Layout: :mod:`.keys` (key encoding), :mod:`.plan` (the immutable plan: codes, decoders,
the path), :mod:`.ops` (the op -> kernel table), :mod:`.result` (GroupByResult,
Crosstab), :mod:`.api` (group_by, value_counts, crosstab).

The work happens in two steps (see DESIGN.md section 4):

1. every key becomes dense int32 group codes (``-1`` for a dropped row): category
   codes are used as they are, small-range integers and dates index directly
   (``value - min``), everything else goes through an open-addressing hash table; several
   keys combine mixed-radix while the product of their cardinalities stays small and
   through a hash of the radix value otherwise;
2. one C pass per aggregate over those codes, split across threads whose partial
   states are merged.

Only groups that occur in the (selected) rows appear in the result, like pandas'
``groupby(..., observed=True)``.

Null semantics follow pandas
----------------------------
* Rows with a null key are dropped unless ``dropna=False``; then the null key forms
  its own group, sorted last.
* Aggregates skip null values, and float NaN counts as null (as in pandas).
* ``count`` is the number of non-null values, ``size`` the number of rows.
* A group with no valid value has ``sum`` 0, ``count`` 0, ``nunique`` 0, ``any``
  False, ``all`` True, and NaN ``mean``/``var``/``std``/``median``/``quantile``.
* ``min``/``max``/``first``/``last`` keep the column's dtype (int32, int64, bool;
  dates as ``datetime64[D]``; category and string as an object array of ``str``).
  When some group has no valid value the result is NaN for float columns, ``NaT`` for
  dates, ``None`` for labels, and for int and bool columns the array is a
  :class:`numpy.ma.MaskedArray` with those groups masked (``to_pandas`` turns it into
  a nullable ``Int64``/``boolean`` column, as pandas' nullable dtypes give ``<NA>``).

Numerics
--------
Float sums are compensated (Kahan) per group and per thread, and the partial states
merge compensated too; an infinity switches that column to a plain sum so that it
stays +-inf (or NaN for inf - inf) like pandas.  ``mean`` is that sum over the count.
``var``/``std`` use two passes (the compensated mean, then a compensated sum of squared
deviations from it) rather than Welford's update: as accurate, mergeable, and without a
division per row.  When the same column also has a ``median``/``quantile``, the
moments come from the values the order-statistics pass already grouped.
``median``/``quantile`` counting-sort the values by group and select per group.

Threads
-------
``threads=None`` uses every core (at most 8) from 10^6 rows on.  Each thread keeps its
own partial states for a contiguous range of rows (or, with many groups, owns a range
of group codes), merged in row order: integer results are identical for any thread
count, float sums agree to rounding.

Result dtypes
-------------
``count``, ``size``, ``nunique``: int64.  ``mean``, ``var``, ``std`` (``ddof=1``),
``median``, ``quantile``: float64.  ``sum``: int64 for bool and integer columns (an
overflow raises :class:`OverflowError`, never wraps), float64 for float columns (a
compensated sum).  ``any``/``all``: bool.
"""
from .api import GroupBy, crosstab, group_by, value_counts
from .keys import DatePart, month, year
from .ops import FUNCS
from .result import Crosstab, GroupByResult

__all__ = [
    "DatePart",
    "year",
    "month",
    "GroupBy",
    "GroupByResult",
    "Crosstab",
    "group_by",
    "value_counts",
    "crosstab",
    "FUNCS",
]
