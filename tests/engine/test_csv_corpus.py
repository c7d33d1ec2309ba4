"""The CSV corpus in tests/data/csv: each NAME.csv is read with the options in
NAME.json and must give the expected Table or raise the expected error (class, line
and column checked, and the message must name file, line and column)."""
from __future__ import annotations

import datetime as dt
import io
import json
import math
import pathlib

import numpy as np
import pytest

import traffickstats as ts

DATA = pathlib.Path(__file__).parent.parent / "data" / "csv"
CASES = sorted(p.stem for p in DATA.glob("*.csv"))


def _expected_table(spec: dict) -> ts.Table:
    schema, data = spec["schema"], spec["data"]
    cols = {}
    for name, typ in schema.items():
        vals = data[name]
        if typ == "date":
            vals = [None if v is None else dt.date.fromisoformat(v) for v in vals]
        elif typ == "float64":  # a masked array keeps NaN (valid) apart from null
            vals = np.ma.array([0.0 if v is None else float(v) for v in vals],
                               mask=[v is None for v in vals], dtype=np.float64)
        cols[name] = vals
    return ts.Table(cols, schema=schema)


def test_corpus_is_complete():
    assert len(CASES) >= 40
    for name in CASES:
        assert (DATA / f"{name}.json").exists(), name


@pytest.mark.parametrize("name", CASES)
def test_corpus_case(name):
    spec = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    path = DATA / f"{name}.csv"
    options = spec["options"]
    if "error" in spec:
        err = spec["error"]
        with pytest.raises(getattr(ts, err["class"])) as info:
            ts.read_csv(path, **options)
        e = info.value
        assert isinstance(e, ValueError)
        assert err["match"] in str(e)
        assert e.line == err["line"]
        assert e.column == err["column"]
        assert e.path == str(path)
        assert str(e).startswith(f"{path}, line {err['line']}")
        if err["column"] is not None:
            assert repr(err["column"]) in str(e)
        return
    expected = _expected_table(spec)
    got = ts.read_csv(path, **options)
    assert got.schema == expected.schema
    assert got.equals(expected), (got.to_pydict(), expected.to_pydict())
    # the same bytes through a file object, and through an unseekable stream
    raw = path.read_bytes()
    assert ts.read_csv(io.BytesIO(raw), **options).equals(expected)
    assert ts.read_csv(_Unseekable(raw), **options).equals(expected)


class _Unseekable(io.RawIOBase):
    """A pipe-like binary stream: small reads, no seek."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), 7, len(self._data) - self._pos)
        b[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


def test_nan_and_signed_zero_details():
    t = ts.read_csv(DATA / "special_floats_in_schema.csv", schema={"x": "float64"})
    x = t["x"].values
    assert math.isnan(x[0]) and x[1] == math.inf and x[2] == -math.inf
    z = ts.read_csv(DATA / "exact_floats.csv")["x"].values
    assert math.copysign(1.0, z[6]) == -1.0


def test_category_dictionary_sorted_and_minimal():
    t = ts.read_csv(io.BytesIO(b"k\nb\na\nb\nc\n"))
    assert list(t["k"].categories) == ["a", "b", "c"]
    assert t["k"].codes.tolist() == [1, 0, 1, 2]


@pytest.mark.parametrize("mode", ["skip", "warn"])
def test_bad_rows_dropped(mode):
    raw = b"a,b\n1,x\n2,y,extra\n3x,z\n4,w\n5\n6,\xff\n7,v\n"
    if mode == "warn":
        with pytest.warns(ts.ParseWarning) as rec:
            t = ts.read_csv(io.BytesIO(raw), schema={"a": "int64"}, on_bad_lines=mode)
        msgs = [str(w.message) for w in rec]
        assert len(msgs) == 4
        assert any("line 3" in m and "expected 2 fields, saw 3" in m for m in msgs)
        assert any("line 4" in m and "'3x'" in m for m in msgs)
        assert any("line 6" in m and "expected 2 fields, saw 1" in m for m in msgs)
        assert any("line 7" in m and "invalid UTF-8" in m for m in msgs)
    else:
        t = ts.read_csv(io.BytesIO(raw), schema={"a": "int64"}, on_bad_lines=mode)
    assert t.to_pydict() == {"a": [1, 4, 7], "b": ["x", "w", "v"]}


def test_strict_is_default_and_parse_error_is_value_error():
    assert issubclass(ts.ParseError, ValueError)
    with pytest.raises(ValueError, match="expected 2 fields, saw 3"):
        ts.read_csv(io.BytesIO(b"a,b\n1,2,3\n"))


def test_unterminated_quote_raises_even_in_skip_mode():
    with pytest.raises(ts.ParseError, match="unterminated"):
        ts.read_csv(io.BytesIO(b'a\n"x\n'), on_bad_lines="skip")


def test_option_errors():
    src = io.BytesIO(b"a\n1\n")
    with pytest.raises(ValueError, match="on_bad_lines"):
        ts.read_csv(src, on_bad_lines="ignore")
    with pytest.raises(ValueError, match="delimiter"):
        ts.read_csv(src, delimiter=",,")
    with pytest.raises(ValueError, match="unknown type"):
        ts.read_csv(src, schema={"a": "decimal"})
    with pytest.raises(ValueError, match="date_format"):
        ts.read_csv(src, date_format="%H:%M")
    with pytest.raises(TypeError, match="binary"):
        ts.read_csv(io.StringIO("a\n1\n"))


def test_progress_bar_runs(tmp_path, capsys):
    pytest.importorskip("tqdm")
    p = tmp_path / "x.csv"
    p.write_bytes(b"a\n" + b"1\n" * 1000)
    t = ts.read_csv(p, progress=True, chunk_size=256)
    assert t.num_rows == 1000
    assert "B" in capsys.readouterr().err


def test_file_object_read_from_current_position():
    f = io.BytesIO(b"junk\na,b\n1,2\n")
    f.readline()
    assert ts.read_csv(f).to_pydict() == {"a": [1], "b": [2]}
