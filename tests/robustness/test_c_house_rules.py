"""The C core keeps its house rules (DESIGN.md "house style", issue #13).

The linter is :mod:`c_rules` beside the tests; the first tests show that it catches
each kind of violation in a small made-up file, so a clean result on ``csrc/`` means
something.  Like the typing test, it reads the source checkout (found by walking up
to ``pyproject.toml``), not the installed package.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

import c_rules


def _csrc() -> Path:
    for folder in Path(__file__).resolve().parents:
        if (folder / "pyproject.toml").is_file():
            return folder / "csrc"
    raise AssertionError(f"no pyproject.toml above {__file__}: the C rules test runs from a source checkout")


GOOD = '''
#include <Python.h>
/* a comment with { braces } and "a string" */
static const int table[] = {1, 2, 3};
struct point { int x, y; };

/* Ownership: returns a new reference; borrows `args`. */
static PyObject *
good(PyObject *self, PyObject *args)
{
    if (1) { return PyLong_FromLong(1); }
    return NULL;
}

static int plain(int x) { return x + 1; }
'''


def test_linter_finds_functions_and_accepts_good_code():
    fs = c_rules.functions("core/x.c", GOOD)
    assert [(f.name, f.first_line, f.last_line) for f in fs] == [("good", 8, 13), ("plain", 15, 15)]
    assert c_rules.check_file("core/x.c", GOOD) == []


def test_linter_wants_an_ownership_line():
    bad = GOOD.replace("/* Ownership: returns a new reference; borrows `args`. */", "/* Returns 1. */")
    assert c_rules.check_file("core/x.c", bad) == [
        "core/x.c:8 good(): takes or returns PyObject * but has no 'Ownership:' line "
        "in the comment directly above it"]
    # a blank line between the comment and the function breaks the link
    far = GOOD.replace("*/\nstatic PyObject *", "*/\n\nstatic PyObject *")
    assert len(c_rules.check_file("core/x.c", far)) == 1


def test_linter_catches_python_calls_without_the_gil():
    src = GOOD.replace("if (1) {", "Py_BEGIN_ALLOW_THREADS\n    x = PyList_New(0);\n"
                       "    Py_END_ALLOW_THREADS\n    if (1) {")
    assert c_rules.check_file("core/x.c", src) == [
        "core/x.c:12: PyList_New() called without the GIL (between Py_BEGIN_ALLOW_THREADS and Py_END_ALLOW_THREADS)"]


def test_linter_keeps_helper_families_in_util():
    src = GOOD + "\nstatic int utf8_valid(const char *s) { return 1; }\n" \
                 "static void start(void) { pthread_create(0, 0, 0, 0); }\n"
    assert c_rules.check_file("csv/x.c", src) == [
        "csv/x.c:17 utf8_valid(): UTF-8 validation helpers live in csrc/util/",
        "csv/x.c:18: pthread_create outside csrc/util/ (use the one thread pool)"]
    assert c_rules.check_file("util/utf8.c", src) == []


def test_linter_limits_lengths():
    body = "\n".join("    x += 1;" for _ in range(150))
    long_fn = f"static int f(int x)\n{{\n{body}\n    return x;\n}}\n"
    assert c_rules.check_file("core/x.c", long_fn) == [
        "core/x.c:1 f(): 154 lines (at most 150, or a 'long-function:' comment saying why)"]
    assert c_rules.check_file("core/x.c", "/* long-function: a table. */\n" + long_fn) == []
    assert c_rules.check_file("core/x.c", "\n" * 1001) == ["core/x.c: 1001 lines (at most 1000)"]


def test_csrc_keeps_the_house_rules():
    problems, _ = c_rules.check_tree(_csrc())
    assert problems == [], "\n".join(problems)


def test_each_helper_family_is_defined_once():
    _, funcs = c_rules.check_tree(_csrc())
    util = {f.name.lower() for f in funcs if f.path.startswith(c_rules.UTIL_DIR + "/")}
    for frag in ("utf8", "civil", "pool", "hash"):
        assert any(frag in n for n in util), f"csrc/util/ defines no {c_rules.FAMILIES[frag]} helper"
    # the same helper written twice under one name in two files (static copies)
    files = defaultdict(set)
    for f in funcs:
        files[f.name].add(f.path.rsplit(".", 1)[0])  # a .h and its .c are one home
    twice = {name: sorted(paths) for name, paths in files.items() if len(paths) > 1}
    assert twice == {}, f"defined in more than one file: {twice}"


@pytest.mark.parametrize("path", ["module.c"])
def test_module_file_stays_small(path):
    assert (_csrc() / path).read_text(encoding="utf-8").count("\n") < 300
