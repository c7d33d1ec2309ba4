"""Oracle test: random well-formed CSV files (written by Python's csv module) read by
traffickstats (types inferred) and by pandas.read_csv (C engine) give equal values."""
from __future__ import annotations

import datetime as dt
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import traffickstats as ts

pd = pytest.importorskip("pandas")

# text that infers as category under both readers: never empty, never NA-like, never
# numeric or boolean (a leading letter), with delimiters, quotes, line breaks, non-ASCII
_text = st.builds(lambda a, b: a + b, st.sampled_from(["x", "é", "Z", "李"]),
                  st.lists(st.sampled_from(list("ab ,\"\n\r;é李'") + ["\r\n"]), max_size=8).map("".join))
_float = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def frames(draw):
    n = draw(st.integers(1, 40))
    nulls = st.lists(st.booleans(), min_size=n, max_size=n)

    def col(values):
        vals = draw(st.lists(values, min_size=n, max_size=n))
        mask = draw(nulls)
        return [None if m else v for v, m in zip(vals, mask)]

    ints = col(st.integers(-(2**63), 2**63 - 1))
    floats = col(_float)
    if all(v is None for v in floats):
        floats[0] = 0.5
    if all(v is None or float(v).is_integer() for v in floats):
        floats[0] = 0.25  # so it is not inferred as int64
    return {
        "i": [v if v is not None else None for v in ints],
        "f": floats,
        "t": draw(st.lists(_text, min_size=n, max_size=n)),
        "b": col(st.booleans()),
        "d": col(st.dates(min_value=dt.date(1700, 1, 1), max_value=dt.date(2200, 1, 1))),
    }


def _quote(field: str) -> str:
    # RFC 4180: quote fields holding the delimiter, the quote, CR or LF
    if any(c in field for c in ',"\r\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


def _write(cols: dict, terminator: str) -> bytes:
    lines = [",".join(cols)]
    for row in zip(*cols.values()):
        out = []
        for v in row:
            if v is None:
                out.append("")
            elif isinstance(v, bool):
                out.append("true" if v else "false")
            elif isinstance(v, float):
                out.append(repr(v))
            elif isinstance(v, dt.date):
                out.append(v.isoformat())
            else:
                out.append(str(v))
        lines.append(",".join(_quote(x) for x in out))
    return (terminator.join(lines) + terminator).encode("utf-8")


@given(frames(), st.sampled_from(["\n", "\r\n"]), st.integers(64, 4096))
@settings(max_examples=60)
def test_values_equal_pandas(cols, terminator, chunk):
    raw = _write(cols, terminator)
    t = ts.read_csv(io.BytesIO(raw), chunk_size=chunk)
    # pandas >= 3 parses floats exactly by default and deprecates float_precision
    precise = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    df = pd.read_csv(io.BytesIO(raw), engine="c", **precise,
                     dtype={"i": "Int64", "t": "category", "b": "boolean"},
                     parse_dates=["d"], keep_default_na=False, na_values={"i": [""], "f": [""], "b": [""], "d": [""]})
    ints_present = any(v is not None for v in cols["i"])
    assert t.schema["i"] == ("int64" if ints_present else "category")
    assert t.schema["f"] == "float64"
    assert t.schema["t"] == "category"
    if ints_present:
        assert t["i"].to_pylist() == [None if v is pd.NA else int(v) for v in df["i"]]
    got_f, exp_f = t["f"].to_pylist(), df["f"].tolist()
    assert len(got_f) == len(exp_f)
    for g, e in zip(got_f, exp_f):
        assert (g is None and math.isnan(e)) or g == e
    assert t["t"].to_pylist() == list(df["t"].astype(object))
    if any(v is not None for v in cols["b"]):
        assert t["b"].to_pylist() == [None if v is pd.NA else bool(v) for v in df["b"]]
    if any(v is not None for v in cols["d"]):
        assert t.schema["d"] == "date"
        assert t["d"].to_pylist() == [None if pd.isna(v) else v.date() for v in df["d"]]
