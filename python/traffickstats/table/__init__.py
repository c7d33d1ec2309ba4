"""Temporary: ``traffickstats._groupby`` (line 538) still imports ``.table``.

The Table class is :mod:`traffickstats.engine.table`.  Helper "gb" of issue #13 moves
``_groupby.py`` into ``engine/groupby/``; delete this folder when that lands.  (A
folder, not ``table.py``: with a file at the old path git would not see the move of
``table.py`` to ``engine/table.py``, and edits of ``table.py`` on other branches would
not follow it.)
"""
from ..engine.table import Table

__all__ = ["Table"]
