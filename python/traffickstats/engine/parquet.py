"""Parquet files: :func:`read_parquet` (through pyarrow and the Arrow import of
:mod:`traffickstats.engine.arrow`)."""
from __future__ import annotations

import os
from typing import Sequence

from .table import Table

__all__ = ["read_parquet"]


def read_parquet(path: str | os.PathLike, columns: Sequence[str] | None = None) -> Table:
    """Read a Parquet file into a Table (needs pyarrow: ``pip install 'traffickstats[arrow]'``).

    Parameters
    ----------
    path : str or path-like
        The file (or a directory of Parquet files, read as one table).
    columns : sequence of str, optional
        Read only these columns.

    Returns
    -------
    Table
        Files written from a traffickstats Table (``pyarrow.parquet.write_table(
        pyarrow.table(t), path)``) read back with the same column types: pyarrow stores
        the Arrow schema, so categories come back dictionary-encoded.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("read_parquet() needs pyarrow: pip install 'traffickstats[arrow]'") from None
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such Parquet file: {os.fspath(path)!r}")
    try:
        table = pq.read_table(path, columns=None if columns is None else list(columns))
    except Exception as exc:  # pyarrow raises its own ArrowInvalid/OSError types
        raise ValueError(f"{os.fspath(path)!r}: cannot read as Parquet: {exc}") from exc
    return Table.from_arrow(table)
