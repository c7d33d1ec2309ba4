"""The arguments every statistic shares, parsed in one place with one message each.

``year`` (and ``compare_to``, ``since``), ``min_cell`` and ``level`` come from
notebooks, widgets, config files and the command line, so they arrive as ints,
whole floats, NumPy scalars or text.  Each is either read exactly or refused with a
message that says what was given and what is expected; nothing is guessed.
"""
from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np

from ..errors import DataWarning

__all__ = ["one_year", "years", "min_cell", "level", "warn_outside_data"]

_FIRST, _LAST = 1, 9999   # the years a date can hold (YYYY-MM-DD)
_SPAN = re.compile(r"\s*(\d{1,4})\s*(?:-|–|\.\.)\s*(\d{1,4})\s*")


def one_year(value: Any, name: str = "year") -> int:
    """One year: an int, a whole float or NumPy number, or its text (``"2020"``)."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise TypeError(f"{name} must be a year such as 2020, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"\d{1,4}", text):
            raise ValueError(f"{name} must be a year such as 2020, got {value!r}")
        y = int(text)
    elif isinstance(value, (int, np.integer)):
        y = int(value)
    elif isinstance(value, (float, np.floating)):
        if not np.isfinite(value) or value != int(value):
            raise ValueError(f"{name} must be a whole year such as 2020, got {value!r}")
        y = int(value)
    else:
        raise TypeError(f"{name} must be a year such as 2020, got {type(value).__name__} {value!r}")
    if not _FIRST <= y <= _LAST:
        raise ValueError(f"{name} must be a year from {_FIRST} to {_LAST}, got {y}")
    return y


def _span(first: int, last: int, given: Any, name: str) -> list[int]:
    if first > last:
        raise ValueError(f"{name}={given!r}: a (first, last) span whose first year is after its last; "
                         f"give a list such as [{first}, {last}] for separate years")
    return list(range(first, last + 1))


def years(value: Any, name: str = "year") -> list[int]:
    """The years a statistic is asked for, in the order given.

    Accepted: one year (see :func:`one_year`); a ``(first, last)`` tuple or a
    ``"first-last"`` text for every year of the span, both ends included; a list
    (or any other iterable) of years.  A year given twice is an error.
    """
    if isinstance(value, str):
        m = _SPAN.fullmatch(value)
        if m:
            return _span(one_year(m.group(1), name), one_year(m.group(2), name), value, name)
        return [one_year(value, name)]
    if isinstance(value, tuple) and len(value) == 2:
        return _span(one_year(value[0], name), one_year(value[1], name), value, name)
    if isinstance(value, (int, float, np.integer, np.floating, bool, np.bool_)) or value is None:
        return [one_year(value, name)]
    try:
        items = list(value)
    except TypeError:
        raise TypeError(f"{name} must be a year, a (first, last) span or a list of years, "
                        f"got {type(value).__name__} {value!r}") from None
    if not items:
        raise ValueError(f"{name}: no year given")
    out = [one_year(v, name) for v in items]
    seen: set[int] = set()
    for y in out:
        if y in seen:
            raise ValueError(f"{name}: year {y} given twice")
        seen.add(y)
    return out


def min_cell(value: Any, default: int = 0) -> int:
    """The suppression threshold: counts from 1 to ``min_cell - 1`` are withheld; 0 is off.

    ``None`` gives ``default``.  Whole numbers only (``11`` or ``11.0``, not ``11.5``).
    """
    if value is None:
        return int(default)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"min_cell must be a whole number such as 11 (0 switches suppression off), got {value!r}")
    if not np.isfinite(value) or value != int(value):
        raise ValueError(f"min_cell must be a whole number such as 11, got {value!r}")
    if value < 0:
        raise ValueError(f"min_cell must be 0 (off) or more, got {value!r}")
    return int(value)


def level(value: Any) -> float:
    """A confidence level strictly between 0 and 1 (``0.95``, not ``95``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"level must be a number between 0 and 1 such as 0.95, got {value!r}")
    if not 0.0 < float(value) < 1.0:
        hint = f" (for {value}% write {float(value) / 100:g})" if 1 < float(value) < 100 else ""
        raise ValueError(f"level must be between 0 and 1 such as 0.95, got {value!r}{hint}")
    return float(value)


def warn_outside_data(span: tuple[np.datetime64, np.datetime64] | None, asked: list[int],
                      stacklevel: int = 2) -> None:
    """Warn (:class:`~traffickstats.DataWarning`) about years outside the data's dates.

    ``span`` is the first and last date anywhere in the data (filing, closing,
    charge, outcome; :meth:`Dataset.date_range`).  A year after the last date counts
    nothing that happened in it: an "active" case there is only a case nobody
    recorded as closed.  A year before the first date counts nothing at all.
    """
    if span is None or not asked:
        return
    first, last = span
    fy, ly = (int(d.astype("datetime64[Y]").astype(np.int64)) + 1970 for d in (first, last))
    after = sorted(y for y in asked if y > ly)
    before = sorted(y for y in asked if y < fy)
    if after:
        warnings.warn(DataWarning(
            f"{_list(after)} after the last date in the data ({last}): nothing that happened then is "
            "recorded, so its figures only carry forward what was open on that date"), stacklevel=stacklevel + 1)
    if before:
        warnings.warn(DataWarning(f"{_list(before)} before the first date in the data ({first}): "
                                  "its figures are all zero"), stacklevel=stacklevel + 1)


def _list(ys: list[int]) -> str:
    return f"year {ys[0]} is" if len(ys) == 1 else "years " + ", ".join(map(str, ys)) + " are"
