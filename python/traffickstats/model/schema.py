"""The data model's schema: the three tables and their fields (:func:`schema`).

The column names, types and allowed values are published as a machine-readable
Table Schema (Frictionless Data Package, ``traffickstats/data/schema.json``) so that
the same files can be checked with other tools.  Every other module of the model
reads the fields from here.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from .. import _core

__all__ = ["schema", "TABLES"]

#: The three tables of a dataset, in order.
TABLES = ("cases", "defendants", "victims")
_ID = {"cases": "case_id", "defendants": "defendant_id", "victims": "victim_id"}
_EPOCH = np.datetime64(_core.EPOCH, "D")


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a test/runtime extra
        raise ImportError("the traffickstats data model needs pandas: pip install 'traffickstats[pandas]'") from None
    return pd


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return resources.files("traffickstats").joinpath("data/schema.json").read_text(encoding="utf-8")


def schema(table: str | None = None) -> dict:
    """The data model as a Table Schema (Frictionless Data Package) dict.

    Parameters
    ----------
    table : {"cases", "defendants", "victims"}, optional
        Return only that table's Table Schema.

    Returns
    -------
    dict
        A fresh copy (safe to modify).  Each field has the standard ``name``,
        ``type``, ``description`` and ``constraints`` (``enum`` for categories),
        plus ``ts:type`` (the traffickstats column type) and, for lists,
        ``ts:items`` (allowed item values).  List fields use Table Schema v2's
        ``"type": "list"`` with ``"delimiter": ";"``.
    """
    pkg = json.loads(_schema_text())
    if table is None:
        return pkg
    for res in pkg["resources"]:
        if res["name"] == table:
            return res["schema"]
    raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")


def _fields(table: str) -> list[dict]:
    return json.loads(_schema_text())["resources"][TABLES.index(table)]["schema"]["fields"]


def _allowed(field: dict) -> list[str] | None:
    if field["ts:type"] == "list<category>":
        return field.get("ts:items")
    return field.get("constraints", {}).get("enum")


def _required(field: dict) -> bool:
    return bool(field.get("constraints", {}).get("required"))


def _decided_outcomes() -> list[str]:
    (f,) = [f for f in _fields("defendants") if f["name"] == "outcome"]
    return [v for v in f["constraints"]["enum"] if v != "pending"]
