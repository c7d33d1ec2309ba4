"""atheris harness: read_csv on random bytes with a random dialect, schema and options.

Input layout: the CSV text, then a 12-byte trailer of options (an input shorter than
that has zeros for the missing option bytes; all zeros means read_csv's defaults), so
the seed corpus is the CSV test corpus with 12 zero bytes appended (scripts/fuzz.sh
makes it).  The trailer chooses delimiter, quote character, header, on_bad_lines,
threads, chunk size (down to 16 bytes, so fields and quotes straddle chunks), maximum
field size, a schema over the header's first four names (plus, sometimes, a name that
is not in the header), usecols, na/true/false values, list separator, date format and
encoding.

read_csv may only return a Table or raise a documented exception (ParseError is a
ValueError).  When it returns, the table must be usable, and the documented promises are
checked: the result does not depend on ``threads`` or ``chunk_size``, and ``to_csv``
output reads back equal.

Run: ``python tests/fuzz/fuzz_csv.py [libFuzzer flags] [corpus dirs]`` (see README.md).
"""
from __future__ import annotations

import io

import atheris

with atheris.instrument_imports(include=["traffickstats"]):
    import numpy as np

    import traffickstats as ts

from _fuzzlib import EXPECTED, TYPES, main

TRAILER = 12
DELIMS = [",", ";", "\t", "|", " "]
QUOTES = ['"', "'", None]
CHUNKS = [1 << 22, 16, 17, 64, 1000, 1 << 16]
FIELD_SIZES = [16 << 20, 1, 8, 100]
DATE_FORMATS = [None, "%m/%d/%y", "%d.%m.%Y", "%Y%m%d", "%y-%d-%m"]
NA = [None, [], ["", "NA"], ["x", "-"]]
BOOLS = [None, (["Y"], ["N"]), (["a", "1"], ["a", "0"]), ([], [])]


def options(trailer: bytes, text: bytes) -> dict:
    o = trailer.rjust(TRAILER, b"\0")
    delimiter = DELIMS[o[0] % len(DELIMS)]
    quote = QUOTES[o[1] % len(QUOTES)]
    opts: dict = {}
    if delimiter != ",":
        opts["delimiter"] = delimiter
    if quote != '"':
        opts["quotechar"] = quote
    flags = o[2]
    header = not flags & 1
    if not header:
        opts["header"] = False
    opts["on_bad_lines"] = ("error", "skip", "warn", "error")[(flags >> 1) & 3]
    opts["threads"] = 2 if flags & 8 else 1
    if flags & 16:
        opts["list_sep"] = "|" if delimiter != "|" else ";"
    if flags & 32:
        opts["encoding"] = "latin-1"
    opts["chunk_size"] = CHUNKS[o[3] % len(CHUNKS)]
    opts["max_field_size"] = FIELD_SIZES[o[4] % len(FIELD_SIZES)]
    first = text.split(b"\n", 1)[0].split(b"\r", 1)[0].decode("utf-8", "replace")
    names = first.split(delimiter)[:4] if header else [f"column_{i}" for i in range(4)]
    schema = {}
    for i, name in enumerate(names):
        b = o[5 + i]
        if b:
            schema[name if b != 255 else "not_in_header"] = TYPES[(b - 1) % len(TYPES)]
    if schema:
        opts["schema"] = schema
    if flags & 64 and names:
        opts["usecols"] = names[: 1 + o[9] % len(names)]
    if NA[o[9] % len(NA)] is not None:
        opts["na_values"] = NA[o[9] % len(NA)]
    if BOOLS[o[10] % len(BOOLS)] is not None:
        opts["true_values"], opts["false_values"] = BOOLS[o[10] % len(BOOLS)]
    if DATE_FORMATS[o[11] % len(DATE_FORMATS)] is not None:
        opts["date_format"] = DATE_FORMATS[o[11] % len(DATE_FORMATS)]
    return opts


def read(text: bytes, **opts):
    try:
        return ts.read_csv(io.BytesIO(text), **opts)
    except EXPECTED:
        return None


def test_one_input(data: bytes) -> None:
    text, trailer = data[:-TRAILER] if len(data) > TRAILER else b"", data[-TRAILER:]
    opts = options(trailer, text)
    t = read(text, **opts)
    if t is None:
        return
    for col in t.columns:
        assert len(col.to_pylist()) == t.num_rows
        col.valid, col.values
    repr(t)
    # the result never depends on threads or chunk size (documented)
    other = dict(opts, threads=3 - opts["threads"], chunk_size=1 << 22)
    again = read(text, **other)
    assert again is not None and again.equals(t), f"threads/chunk_size changed the result: {opts}"
    # to_csv output reads back equal (documented), with the types fixed
    sep = {"list_sep": opts["list_sep"]} if "list_sep" in opts else {}
    buf = io.BytesIO()
    try:
        t.to_csv(buf, **sep)
    except EXPECTED:  # documented: e.g. a list item holding the separator
        return
    names = t.column_names
    if len(set(names)) == len(names) and names:
        back = read(buf.getvalue(), schema=t.schema, **sep)
        assert back is not None, "to_csv output does not read back"
        assert back.equals(t), "to_csv output reads back different"


if __name__ == "__main__":
    main(test_one_input)
