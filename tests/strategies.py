"""Hypothesis strategies for random Tables and DataFrames of every column type."""
from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import strategies as st

TYPES = ("bool", "int32", "int64", "float64", "date", "category", "string", "list<category>")

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
_labels = st.sampled_from(["sex", "labor", "facebook", "instagram", "N.D. Tex.", "é", "", "a,b"])


def values_for(type_: str):
    """Strategy for one non-null Python value of a column type."""
    return {
        "bool": st.booleans(),
        "int32": st.integers(-(2**31), 2**31 - 1),
        "int64": st.integers(-(2**63), 2**63 - 1),
        "float64": st.floats(allow_nan=True, allow_infinity=True),
        "date": st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
        "category": _labels,
        "string": _text,
        "list<category>": st.lists(_labels, max_size=3),
    }[type_]


@st.composite
def column_data(draw, type_: str, n: int, nulls: bool = True):
    """A list of n Python values (None for null) of a column type."""
    vals = draw(st.lists(values_for(type_), min_size=n, max_size=n))
    if nulls:
        mask = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        vals = [None if m else v for v, m in zip(vals, mask)]
    return vals


@st.composite
def tables_data(draw, types=TYPES, max_rows: int = 12):
    """(data dict, schema dict) for a random table with one column per type."""
    n = draw(st.integers(0, max_rows))
    data, schema = {}, {}
    for i, t in enumerate(types):
        name = f"c{i}_{t}"
        data[name] = draw(column_data(t, n))
        schema[name] = t
    return data, schema


def pandas_frame(data: dict, schema: dict):
    """The canonical pandas DataFrame (as Table.to_pandas makes it) for tables_data."""
    import pandas as pd

    out = {}
    for name, vals in data.items():
        t = schema[name]
        if t == "bool":
            out[name] = pd.array(vals, dtype="boolean")
        elif t == "int32":
            out[name] = pd.array(vals, dtype="Int32")
        elif t == "int64":
            out[name] = pd.array(vals, dtype="Int64")
        elif t == "float64":
            arr = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
            mask = np.array([v is None for v in vals], dtype=bool)
            out[name] = pd.arrays.FloatingArray(arr, mask)
        elif t == "date":
            out[name] = pd.Series(
                np.array([np.datetime64(v, "D") if v is not None else np.datetime64("NaT") for v in vals],
                         dtype="datetime64[D]").astype("datetime64[s]"), dtype="datetime64[s]")
        elif t == "category":
            out[name] = pd.Categorical(vals)
        elif t == "string":
            out[name] = pd.array(vals, dtype=pd.StringDtype())
        else:
            s = np.empty(len(vals), dtype=object)
            for i, v in enumerate(vals):
                s[i] = v
            out[name] = pd.Series(s, dtype=object)
    return pd.DataFrame(out, index=pd.RangeIndex(len(next(iter(data.values()))) if data else 0))
