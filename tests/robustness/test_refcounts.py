"""Reference counts of the inputs of every C API entry point are unchanged by its error
paths (and by its success paths once the result is gone).

Each case calls a function of ``traffickstats._core`` (or a method of its types)
directly, so that nothing in Python stands between the test and the C code, three
times, and compares ``sys.getrefcount`` of every argument before and after: a leaked
or stolen reference shows as a difference of 3.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

import numpy as np
import pytest

import traffickstats as ts
from traffickstats import _core

REPEAT = 3


def _fresh_name() -> str:
    # a str object nobody else holds (not interned), so its refcount is exact
    return "".join(["col", "umn", "_x"])


def _table() -> Any:
    return ts.Table({"a": np.arange(5, dtype=np.int32), "b": ["x", None, "y", "z", "x"]},
                    schema={"b": "category"})


def _int_col() -> Any:
    return _table()["a"]


def _str_col_with_nulls() -> Any:
    return ts.Table({"s": ["a", None]})["s"]


def _cases() -> list[tuple[str, Callable[[], tuple[Callable[..., Any], tuple, type[BaseException]]]]]:
    """(id, factory) pairs; the factory makes fresh inputs: (callable, args, exception)."""
    i32 = lambda: np.arange(4, dtype=np.int32)  # noqa: E731
    u8 = lambda: np.frombuffer(b"abcd", dtype=np.uint8).copy()  # noqa: E731
    mk = _core.make_column
    return [
        # make_column
        ("make_column unknown type", lambda: (mk, (_fresh_name(), "nope", i32()), ValueError)),
        ("make_column unsafe cast", lambda: (mk, (_fresh_name(), "int32", np.arange(3)), TypeError)),
        ("make_column 2-d values", lambda: (mk, (_fresh_name(), "int32", np.zeros((2, 2), np.int32)), ValueError)),
        ("make_column list values", lambda: (mk, (_fresh_name(), "int32", [1.5, "a"]), ValueError)),
        ("make_column string without offsets", lambda: (mk, (_fresh_name(), "string", u8()), ValueError)),
        ("make_column offsets out of bounds",
         lambda: (mk, (_fresh_name(), "string", u8(), None, np.array([0, 9], np.int32)), ValueError)),
        ("make_column offsets decrease",
         lambda: (mk, (_fresh_name(), "string", u8(), None, np.array([0, 3, 1], np.int32)), ValueError)),
        ("make_column empty offsets",
         lambda: (mk, (_fresh_name(), "string", u8(), None, np.zeros(0, np.int32)), ValueError)),
        ("make_column invalid utf-8",
         lambda: (mk, (_fresh_name(), "string", np.array([0xFF], np.uint8), None, np.array([0, 1], np.int32)),
                  ValueError)),
        ("make_column offsets on int", lambda: (mk, (_fresh_name(), "int32", i32(), None, i32()), ValueError)),
        ("make_column category without categories", lambda: (mk, (_fresh_name(), "category", i32()), ValueError)),
        ("make_column categories on int", lambda: (mk, (_fresh_name(), "int32", i32(), None, None, ["a"]), ValueError)),
        ("make_column duplicate categories",
         lambda: (mk, (_fresh_name(), "category", np.zeros(2, np.int32), None, None, ["a", "a"]), ValueError)),
        ("make_column non-str categories",
         lambda: (mk, (_fresh_name(), "category", np.zeros(2, np.int32), None, None, ["a", 1]), TypeError)),
        ("make_column dictionary with nulls",
         lambda: (mk, (_fresh_name(), "category", np.zeros(2, np.int32), None, None, _str_col_with_nulls()),
                  TypeError)),
        ("make_column mask length", lambda: (mk, (_fresh_name(), "int32", i32(), np.ones(2, bool)), ValueError)),
        ("make_column float mask", lambda: (mk, (_fresh_name(), "int32", i32(), np.ones(4)), TypeError)),
        ("make_column code out of range",
         lambda: (mk, (_fresh_name(), "category", np.array([0, 7], np.int32), None, None, ["a"]), ValueError)),
        ("make_column code out of range with mask",
         lambda: (mk, (_fresh_name(), "category", np.array([0, -2], np.int32), np.ones(2, bool), None, ["a"]),
                  ValueError)),
        ("make_column list code out of range",
         lambda: (mk, (_fresh_name(), "list<category>", np.array([0, 3], np.int32), None,
                       np.array([0, 2], np.int32), ["a"]), ValueError)),
        ("make_column bool > 1",
         lambda: (mk, (_fresh_name(), "bool", np.array([0, 2], np.uint8).view(bool)), ValueError)),
        # from_objects
        ("from_objects not a sequence", lambda: (_core.from_objects, (_fresh_name(), "string", 5), TypeError)),
        ("from_objects int type", lambda: (_core.from_objects, (_fresh_name(), "int32", [1]), ValueError)),
        ("from_objects non-str", lambda: (_core.from_objects, (_fresh_name(), "string", ["a", object()]), TypeError)),
        ("from_objects category non-str",
         lambda: (_core.from_objects, (_fresh_name(), "category", ["a", None, 3.5]), TypeError)),
        ("from_objects list of str", lambda: (_core.from_objects, (_fresh_name(), "list<category>", ["ab"]), TypeError)),
        ("from_objects list item non-str",
         lambda: (_core.from_objects, (_fresh_name(), "list<category>", [["a"], ["b", 2]]), TypeError)),
        ("from_objects nulls not a tuple",
         lambda: (_core.from_objects, (_fresh_name(), "string", ["a"], ["x"]), TypeError)),
        # Table()
        ("Table not a dict", lambda: (_core.Table, ([("a", _int_col())],), TypeError)),
        ("Table not a column", lambda: (_core.Table, ({"a": np.arange(3)},), TypeError)),
        ("Table non-str name", lambda: (_core.Table, ({1: _int_col()},), TypeError)),
        ("Table unequal lengths", lambda: (_core.Table, ({"a": _int_col(), "b": _int_col()._slice(0, 2)},),
                                           ValueError)),
        # Table methods
        ("column non-str", lambda: (_table().column, (3,), TypeError)),
        ("column missing", lambda: (_table().column, (_fresh_name(),), KeyError)),
        ("select missing", lambda: (_table().select, (["a", _fresh_name()],), KeyError)),
        ("select non-str", lambda: (_table().select, (["a", 1.5],), TypeError)),
        ("select not iterable", lambda: (_table().select, (object(),), TypeError)),
        ("slice bad start", lambda: (_table().slice, ([1],), TypeError)),
        ("slice bad stop", lambda: (_table().slice, (0, "x"), TypeError)),
        ("take float", lambda: (_table().take, (np.array([0.0, 1.0]),), TypeError)),
        ("take out of bounds", lambda: (_table().take, (np.array([0, 5]),), IndexError)),
        ("take negative", lambda: (_table().take, ([0, -1],), IndexError)),
        ("take 2-d", lambda: (_table().take, (np.zeros((1, 2), np.int64),), ValueError)),
        ("take strings", lambda: (_table().take, (["a"],), ValueError)),
        ("filter int mask", lambda: (_table().filter, (np.ones(5, np.int64),), TypeError)),
        ("filter list of ints", lambda: (_table().filter, ([1, 0, 1, 0, 1],), TypeError)),
        ("filter wrong length", lambda: (_table().filter, (np.ones(4, bool),), ValueError)),
        ("filter 2-d", lambda: (_table().filter, (np.ones((5, 1), bool),), ValueError)),
        ("filter non-bool column", lambda: (_table().filter, (_int_col(),), TypeError)),
        ("filter short bool column",
         lambda: (_table().filter, (ts.Table({"m": [True, False]})["m"],), ValueError)),
        ("rename missing key", lambda: (_table().rename, ({_fresh_name(): "z"},), KeyError)),
        ("rename non-str key", lambda: (_table().rename, ({1: "z"},), TypeError)),
        ("rename wrong count", lambda: (_table().rename, (["z"],), ValueError)),
        ("rename duplicate", lambda: (_table().rename, ({"a": "b"},), ValueError)),
        ("rename non-str value", lambda: (_table().rename, ({"a": 7.5},), TypeError)),
        ("rename not iterable", lambda: (_table().rename, (object(),), TypeError)),
        ("_with_column non-str", lambda: (_table()._with_column, (1, _int_col()), TypeError)),
        ("_with_column non-column", lambda: (_table()._with_column, (_fresh_name(), np.arange(5)), TypeError)),
        ("_with_column wrong length",
         lambda: (_table()._with_column, (_fresh_name(), _int_col()._slice(0, 2)), ValueError)),
        # Column methods and getters
        ("Column._slice bad args", lambda: (_int_col()._slice, (_fresh_name(), 2.5), TypeError)),
        ("Column._to_objects on int", lambda: (_int_col()._to_objects, (), TypeError)),
        ("Column() direct", lambda: (_core.Column, (np.arange(3),), TypeError)),
        ("_register_classes non-subclass", lambda: (_core._register_classes, (dict, list), TypeError)),
        # Arrow
        ("arrow export schema of non-table", lambda: (_core._arrow_export_schema, (np.arange(3),), TypeError)),
        ("arrow import array non-capsules",
         lambda: (_core._arrow_import_array, (np.arange(3), [1]), (TypeError, ValueError))),
        ("arrow import stream non-capsule", lambda: (_core._arrow_import_stream, ({"a": 1},), (TypeError, ValueError))),
        ("arrow import array swapped capsules",
         lambda: (lambda s, a: _core._arrow_import_array(a, s), _table().__arrow_c_array__(), (TypeError, ValueError))),
        ("arrow import stream given a schema",
         lambda: (_core._arrow_import_stream, (_table().__arrow_c_schema__(),), (TypeError, ValueError))),
    ]


CASES = _cases()


def _own(arg: Any) -> Any:
    """``arg``, or for a str a private copy nobody else holds.

    A literal such as ``"int32"`` is interned: code anywhere in the process (another
    test, pandas, a cache) moves its reference count, so comparing it before and
    after is a coin toss.  Copies made here have exactly the references the test gives
    them."""
    if isinstance(arg, str) and len(arg) >= 2:
        return arg[:1] + arg[1:]     # concatenation of two non-empty strs: a new object
    return arg


def _tracked(args: tuple) -> list:
    """The arguments whose reference counts the test compares: the objects it made.

    Shared immutable objects (None, bools, small ints and other numbers, one-letter
    strs, types) are held all over the interpreter, so their counts say nothing about
    the call."""
    return [a for a in args if not isinstance(a, (type(None), bool, int, float, type))
            and not (isinstance(a, str) and len(a) < 2)]


@pytest.mark.parametrize("factory", [f for _, f in CASES], ids=[i for i, _ in CASES])
def test_error_path_keeps_refcounts(factory):
    fn, args, exc = factory()
    args = tuple(_own(a) for a in args)
    tracked = _tracked(args)
    before = [sys.getrefcount(a) for a in tracked]
    for _ in range(REPEAT):
        try:
            fn(*args)
        except exc:
            pass
        else:
            raise AssertionError(f"{fn} did not raise {exc}")
    after = [sys.getrefcount(a) for a in tracked]
    assert after == before


def test_the_harness_sees_a_reference_leaked_to_a_literal_argument():
    """The private copies of str literals are what the harness tracks: a function that
    keeps a reference to its ``"int32"`` argument is caught, whatever else in the
    process holds the interned literal."""
    import ctypes

    leaked: list[str] = []

    def leaky(name: str, type_: str) -> None:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(type_))
        leaked.append(type_)
        raise ValueError("leaks a reference on purpose")

    with pytest.raises(AssertionError):
        test_error_path_keeps_refcounts(lambda: (leaky, (_fresh_name(), "int32"), ValueError))
    literal = "int32"
    assert len(leaked) == REPEAT and all(s == literal and s is not literal for s in leaked)
    for s in leaked:   # give back the references taken on purpose (LeakSanitizer runs this file)
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(s))


def _getrefcounts(*objs: Any) -> list[int]:
    return [sys.getrefcount(o) for o in objs]


def test_success_paths_give_back_their_references():
    vals = np.arange(6, dtype=np.int32)
    mask = np.array([1, 0, 1, 1, 0, 1], dtype=bool)
    idx = np.array([5, 0, 2])
    names = ["a", "b"]
    u8 = np.frombuffer("aébc".encode(), dtype=np.uint8).copy()
    offs = np.array([0, 1, 3, 4, 5], dtype=np.int32)
    cats = ["x", "y"]
    codes = np.array([0, 1, -1, 0, 1, 1], dtype=np.int32)
    objs = ["p", None, "q", "p", "r", None]
    inputs = (vals, mask, idx, names, u8, offs, cats, codes, objs)
    before = _getrefcounts(*inputs)
    for _ in range(REPEAT):
        a = _core.make_column("a", "int32", vals, mask)
        b = _core.make_column("b", "category", codes, None, None, cats)
        s = _core.make_column("s", "string", u8, None, offs)
        o = _core.from_objects("o", "category", objs)
        t = _core.Table({"a": a, "b": b})
        results = [t.take(idx), t.filter(mask), t.select(names), t.rename(names), t.slice(1, 4),
                   t._with_column("o", o), a.values, a.valid, b.codes, b.categories, s.offsets,
                   s.values, s._to_objects(), o._to_objects(), _core._arrow_export_stream(t, None)]
        del a, b, s, o, t, results
    assert _getrefcounts(*inputs) == before


def _csv_bytes() -> Any:
    import io

    return io.BytesIO(b"a,b,c\n1,x,2020-01-01\n2,y,\n")


def _public_cases() -> list[tuple[str, Callable[[], tuple[Callable[..., Any], tuple, Any]]]]:
    """Error paths of the kernels' entry points (_csv_read, _csv_write, _gb_*), reached
    through the public functions with fresh inputs: the file object, schema and column
    lists, the table, masks and aggregation specs must keep their refcounts."""
    import io

    def read(src, schema, usecols, na):
        return ts.read_csv(src, schema=schema, usecols=usecols, na_values=na)

    def gb_agg(table, keys, where, spec):
        return ts.group_by(table, keys, where=where).agg(x=spec)

    def gb_size(table, keys, where):
        return ts.group_by(table, keys, where=where).size()

    return [
        ("read_csv bad value", lambda: (read, (_csv_bytes(), {"b": "int64"}, None, ["NA"]), ValueError)),
        ("read_csv schema name not in header", lambda: (read, (_csv_bytes(), {"zz": "int64"}, None, ["NA"]), ValueError)),
        ("read_csv usecols not in header", lambda: (read, (_csv_bytes(), None, ["a", "zz"], ["NA"]), ValueError)),
        ("read_csv unterminated quote",
         lambda: (read, (io.BytesIO(b'a\n"x\n'), None, None, ["NA"]), ValueError)),
        ("read_csv invalid utf-8", lambda: (read, (io.BytesIO(b"a\n\xff\n"), None, None, ["NA"]), ValueError)),
        ("to_csv unwritable", lambda: (lambda t, f: t.to_csv(f), (_table(), object()), (TypeError, AttributeError))),
        ("group_by missing key", lambda: (gb_size, (_table(), ["zz"], None), KeyError)),
        ("group_by short where", lambda: (gb_size, (_table(), ["b"], np.ones(3, bool)), ValueError)),
        ("group_by unknown func", lambda: (gb_agg, (_table(), ["b"], None, ("a", "nope")), ValueError)),
        ("group_by sum of category", lambda: (gb_agg, (_table(), ["a"], None, ("b", "sum")), TypeError)),
        ("group_by quantile out of range",
         lambda: (gb_agg, (_table(), ["b"], None, ("a", "quantile", 1.5)), ValueError)),
    ]


PUBLIC = _public_cases()


@pytest.mark.parametrize("factory", [f for _, f in PUBLIC], ids=[i for i, _ in PUBLIC])
def test_kernel_error_path_keeps_refcounts(factory):
    test_error_path_keeps_refcounts(factory)
