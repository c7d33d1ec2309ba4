"""Shared pieces of the atheris harnesses in this directory (see README.md)."""
from __future__ import annotations

import sys
from typing import Any, Callable

import warnings

import atheris

#: The exceptions the package documents for bad input.  ParseError and
#: UnicodeDecodeError are ValueErrors.  Anything else escaping an entry point (a
#: SystemError, an AttributeError, an AssertionError from an invariant below, or a
#: crash that the sanitizers catch) is a finding.
EXPECTED = (TypeError, ValueError, KeyError, IndexError, OverflowError)

TYPES = ("bool", "int32", "int64", "float64", "date", "category", "string", "list<category>")


def expected(fn: Callable[[], Any]) -> tuple[bool, Any]:
    """(True, result) or (False, exception) for a documented exception."""
    try:
        return True, fn()
    except EXPECTED as exc:
        return False, exc


def main(test_one_input: Callable[[bytes], None]) -> None:
    warnings.simplefilter("ignore")  # RuntimeWarnings of NumPy casts are not findings
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
