"""Regression tests for defects found by the sanitizers and the fuzzers (tests/fuzz/).

Each test names how the defect was found.  Some only fail under the sanitizer build
(scripts/check-sanitizers.sh), where undefined behaviour halts the process.
"""
import numpy as np

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
