"""Regression tests for defects found by the sanitizers and the fuzzers (tests/fuzz/).

Each test names how the defect was found.  Some only fail under the sanitizer build
(scripts/check-sanitizers.sh), where undefined behaviour halts the process.
"""
import ctypes
import subprocess
import sys

import numpy as np
import pytest

import traffickstats as ts
from traffickstats import _core


def test_empty_first_string_is_not_memcpy_to_null():
    # UBSan (check-sanitizers.sh): appending a zero-length string to a still-empty
    # byte buffer called memcpy(NULL, src, 0), undefined behaviour.
    col = _core.from_objects("c", "category", ["", "a", ""])
    assert col.to_pylist() == ["", "a", ""]
    assert list(col.categories) == ["", "a"]
    assert _core.from_objects("s", "string", [""]).to_pylist() == [""]
    assert ts.Table({"s": ["", None]})["s"].to_pylist() == ["", None]


def test_string_rows_may_not_split_a_utf8_character():
    # fuzz_table.py: make_column checked that the whole byte range is UTF-8, but not
    # that every row is; a row boundary inside "é" gave a column whose repr and
    # to_pylist raised UnicodeDecodeError long after construction.
    values = np.frombuffer("é".encode(), dtype=np.uint8)
    with pytest.raises(ValueError, match="row 1"):
        _core.make_column("s", "string", values, None, np.array([0, 1, 2], dtype=np.int32))
    # an empty row at the bad boundary is refused too (the row before it is cut)
    with pytest.raises(ValueError, match="UTF-8"):
        _core.make_column("s", "string", values, None, np.array([0, 1, 1, 2], dtype=np.int32))
    ok = _core.make_column("s", "string", np.frombuffer("éa".encode(), np.uint8), None,
                           np.array([0, 2, 2, 3], dtype=np.int32))
    assert ok.to_pylist() == ["é", "", "a"]


def test_dictionary_column_must_be_unique():
    # fuzz_table.py: a list of categories was checked for duplicates but a string
    # Column given as the dictionary was not; to_pandas() then failed.
    dup = _core.from_objects("d", "string", ["a", "b", "a"])
    with pytest.raises(ValueError, match="unique"):
        _core.make_column("c", "category", np.array([0, 1], np.int32), None, None, dup)
    with pytest.raises(ValueError, match="unique"):
        _core.make_column("l", "list<category>", np.array([0, 1], np.int32), None,
                          np.array([0, 2], np.int32), dup)
    ok = _core.make_column("c", "category", np.array([0, 1], np.int32), None, None, dup._slice(0, 2))
    assert ts.Table({"c": ok}).to_pandas()["c"].tolist() == ["a", "b"]


def test_invalid_utf8_in_a_skipped_row_does_not_hang():
    # fuzz_csv.py (timeout): with on_bad_lines="skip"/"warn", invalid UTF-8 inside a
    # row already dropped for its field count lay between two kept rows; the UTF-8
    # check kept restarting at the end of the kept row before it, forever.  Run in a
    # subprocess so that a regression fails instead of hanging the suite.
    code = (
        "import io, warnings, traffickstats as ts\n"
        "warnings.simplefilter('ignore')\n"
        "for bad in ('skip', 'warn'):\n"
        "    t = ts.read_csv(io.BytesIO(b'n\\n\\n\\xde \\n\\n'), delimiter=' ', on_bad_lines=bad, threads=1)\n"
        "    assert t.to_pydict() == {'n': [None, None]}, t.to_pydict()\n"
        "    t = ts.read_csv(io.BytesIO(b'a,b\\n1,2\\n\\xff,2,3\\n\\xfe\\n4,5\\n'), on_bad_lines=bad)\n"
        "    assert t.to_pydict() == {'a': [1, 4], 'b': [2, 5]}, t.to_pydict()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


class _Schema(ctypes.Structure):
    _fields_ = [("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_char_p),
                ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64), ("children", ctypes.c_void_p),
                ("dictionary", ctypes.c_void_p), ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


class _Array(ctypes.Structure):
    _fields_ = [("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
                ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64), ("buffers", ctypes.c_void_p),
                ("children", ctypes.c_void_p), ("dictionary", ctypes.c_void_p), ("release", ctypes.c_void_p),
                ("private_data", ctypes.c_void_p)]


_RELEASED: list = []
_SCHEMA_RELEASE = ctypes.CFUNCTYPE(None, ctypes.POINTER(_Schema))(lambda p: _RELEASED.append("schema"))
_ARRAY_RELEASE = ctypes.CFUNCTYPE(None, ctypes.POINTER(_Array))(lambda p: _RELEASED.append("array"))
_ZEROS = ctypes.create_string_buffer(64)
_BUFFERS = (ctypes.c_void_p * 2)(None, ctypes.addressof(_ZEROS))


def _ctypes_capsules(fmt):
    """(schema capsule, array capsule, keep-alive) of a one-row array whose release
    callbacks are Python functions (as a ctypes or cffi producer's are)."""
    s = _Schema(format=fmt, release=ctypes.cast(_SCHEMA_RELEASE, ctypes.c_void_p))
    a = _Array(length=1, n_buffers=2, buffers=ctypes.addressof(_BUFFERS),
               release=ctypes.cast(_ARRAY_RELEASE, ctypes.c_void_p))
    new = ctypes.pythonapi.PyCapsule_New
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return new(ctypes.addressof(s), b"arrow_schema", None), new(ctypes.addressof(a), b"arrow_array", None), (s, a)


def test_arrow_import_of_a_schema_without_format_is_an_error():
    # fuzz_arrow.py (SIGSEGV): _arrow_import_array called strcmp(schema->format, "+s")
    # before any check, so a producer's schema with a NULL format crashed the process.
    scap, acap, keep = _ctypes_capsules(None)
    with pytest.raises(ValueError, match="malformed"):
        _core._arrow_import_array(scap, acap)


def test_arrow_release_callback_does_not_run_with_an_exception_set():
    # fuzz_arrow.py (SystemError): after a failed import the holder's destructor called
    # the producer's release with the TypeError still set; a release implemented in
    # Python (ctypes/cffi) then ran with an exception pending, the TypeError was lost
    # and the call ended in "SystemError: returned NULL without setting an exception".
    scap, acap, keep = _ctypes_capsules(b"tss:")  # timestamps: unsupported
    _RELEASED.clear()
    with pytest.raises(TypeError, match="unsupported"):
        _core._arrow_import_array(scap, acap)
    assert _RELEASED == ["array"]


def test_arrow_error_message_of_a_child_without_format():
    # fuzz_arrow.py (SIGSEGV): describing an unsupported list type for the error
    # message followed the child schema and read its NULL format.
    scap, acap, (s, a) = _ctypes_capsules(b"+l")
    child = _Schema(format=None, release=ctypes.cast(_SCHEMA_RELEASE, ctypes.c_void_p))
    children = (ctypes.c_void_p * 1)(ctypes.addressof(child))
    s.n_children, s.children = 1, ctypes.addressof(children)
    with pytest.raises((TypeError, ValueError)):
        _core._arrow_import_array(scap, acap)
    child.format = b"z"  # binary items: unsupported, named in the message
    scap, acap, (s, a) = _ctypes_capsules(b"+l")
    s.n_children, s.children = 1, ctypes.addressof(children)
    with pytest.raises(TypeError, match="'z'"):
        _core._arrow_import_array(scap, acap)
