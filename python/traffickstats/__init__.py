"""traffickstats: fast, documented statistics on human-trafficking case records.

The package stores case-level records (cases, defendants, victims) in typed columns
held by a C core and computes yearly statistics with explicit denominators.

Quick tour
----------
>>> import traffickstats as ts
>>> t = ts.Table({"case_type": ["sex", "labor", "sex"], "victims": [3, None, 1]},
...              schema={"case_type": "category"})
>>> t.num_rows
3
"""
from importlib.metadata import PackageNotFoundError, version as _version

from ._csv import read_csv
from .errors import ParseError, ParseWarning
from ._arrow import read_parquet
from ._groupby import crosstab, group_by, month, value_counts, year
from .table import TYPES, Column, Table

try:
    __version__ = _version("traffickstats")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["Table", "Column", "TYPES", "read_csv", "read_parquet", "ParseError", "ParseWarning", "__version__",
           "group_by", "value_counts", "crosstab", "year", "month"]
