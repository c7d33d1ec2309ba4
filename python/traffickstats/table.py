"""Temporary: ``traffickstats._groupby`` (line 538) still imports ``.table``.

The Table class is :mod:`traffickstats.engine.table`.  Helper "gb" of issue #13 moves
``_groupby.py`` into ``engine/groupby/``; delete this file when that lands.
"""
from .engine.table import Table

__all__ = ["Table"]
