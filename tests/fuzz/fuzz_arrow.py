"""atheris harness: Arrow import of random valid and corrupted schemas.

Two kinds of input, chosen by the first decision:

* valid: a random pyarrow table (booleans, every integer and float width, dates,
  timestamps, strings, large strings, string views, binary, dictionaries with every
  index width, lists, large lists, structs, nulls) with random nulls, sliced at a random
  offset and cut into random record batches, imported with ``Table.from_arrow``.
  Unsupported types must raise TypeError; an imported table must survive a round trip
  through its own export.
* corrupted: ArrowSchema/ArrowArray structs built with ctypes, wrapped in PyCapsules
  and given to ``_core._arrow_import_array``: random format strings (valid ones,
  mutated ones, random bytes, NULL), random children and dictionaries that may not
  match between schema and array, random flags, lengths, offsets, null counts, buffer
  counts and NULL buffers.  Every buffer points at the same 4 KiB of zeros, which is
  large enough for any interpretation of up to 64 rows at offsets up to 64, so reading
  the declared buffers is always in bounds and any sanitizer report is the importer's
  fault.  (The Arrow C data interface does not carry buffer sizes, so garbage offsets
  or lengths larger than the buffers are not something an importer can detect; they
  are not generated.)

Only a Table or a documented exception (TypeError, ValueError) is acceptable.

Run: ``python tests/fuzz/fuzz_arrow.py [libFuzzer flags] [corpus dirs]`` (see README.md).
"""
from __future__ import annotations

import ctypes

import atheris

with atheris.instrument_imports(include=["traffickstats"]):
    import numpy as np
    import pyarrow as pa

    import traffickstats as ts
    from traffickstats import _core

from _fuzzlib import EXPECTED, main

MAX_ROWS = 64

# ---------------------------------------------------------------------------- valid


def rand_type(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> pa.DataType:
    simple = [pa.bool_(), pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(),
              pa.uint32(), pa.uint64(), pa.float16(), pa.float32(), pa.float64(), pa.date32(),
              pa.date64(), pa.timestamp("s"), pa.string(), pa.large_string(), pa.string_view(),
              pa.binary(), pa.null(), pa.decimal128(5, 2)]
    k = fdp.ConsumeIntInRange(0, len(simple) + 4 - (4 if depth > 1 else 0))
    if k < len(simple):
        return simple[k]
    k -= len(simple)
    if k == 0:
        index = fdp.PickValueInList([pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint32()])
        return pa.dictionary(index, fdp.PickValueInList([pa.string(), pa.large_string(), pa.int32()]))
    if k == 1:
        return pa.list_(rand_type(fdp, depth + 1))
    if k == 2:
        return pa.large_list(rand_type(fdp, depth + 1))
    return pa.struct([("x", rand_type(fdp, depth + 1))])


def rand_values(fdp: atheris.FuzzedDataProvider, t: pa.DataType, n: int) -> list:
    out = []
    for _ in range(n):
        if fdp.ConsumeIntInRange(0, 4) == 0:
            out.append(None)
        elif pa.types.is_boolean(t):
            out.append(fdp.ConsumeBool())
        elif pa.types.is_integer(t):
            bits = t.bit_width
            lo, hi = (0, 2**bits - 1) if pa.types.is_unsigned_integer(t) else (-2**(bits - 1), 2**(bits - 1) - 1)
            out.append(fdp.ConsumeIntInRange(lo, hi))
        elif pa.types.is_floating(t):
            out.append(np.float16(fdp.ConsumeFloat()) if t == pa.float16() else fdp.ConsumeFloat())
        elif pa.types.is_date(t) or pa.types.is_timestamp(t):
            out.append(fdp.ConsumeIntInRange(-10**6, 10**6))
        elif pa.types.is_dictionary(t):
            v = fdp.PickValueInList(["sex", "labor", "", "é"])
            out.append(v if pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type) else len(v))
        elif pa.types.is_binary(t):
            out.append(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4)))
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            out.append(fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 20)))
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            out.append(rand_values(fdp, t.value_type, fdp.ConsumeIntInRange(0, 3)))
        elif pa.types.is_struct(t):
            out.append({"x": rand_values(fdp, t.field(0).type, 1)[0]})
        elif pa.types.is_decimal(t):
            out.append(None)
        else:
            out.append(None)
    return out


def rand_pyarrow(fdp: atheris.FuzzedDataProvider) -> pa.Table:
    n = fdp.ConsumeIntInRange(0, MAX_ROWS)
    cols = {}
    for j in range(fdp.ConsumeIntInRange(1, 3)):
        t = rand_type(fdp)
        vals = rand_values(fdp, t, n)
        if pa.types.is_date(t) or pa.types.is_timestamp(t):
            arr = pa.array(vals, pa.int64() if t != pa.date32() else pa.int32()).cast(t)
        elif pa.types.is_dictionary(t):
            arr = pa.array(vals, t.value_type).dictionary_encode()
            if arr.type.index_type != t.index_type:
                arr = pa.DictionaryArray.from_arrays(arr.indices.cast(t.index_type), arr.dictionary)
        else:
            arr = pa.array(vals, t)
        cols[f"c{j}"] = arr
    table = pa.table(cols)
    start = fdp.ConsumeIntInRange(0, n)
    table = table.slice(start, fdp.ConsumeIntInRange(0, n - start))
    return table.combine_chunks().to_batches(max_chunksize=fdp.ConsumeIntInRange(1, MAX_ROWS)) and \
        pa.Table.from_batches(table.to_batches(max_chunksize=fdp.ConsumeIntInRange(1, MAX_ROWS)), table.schema)


def check_valid(fdp: atheris.FuzzedDataProvider) -> None:
    src = rand_pyarrow(fdp)
    try:
        t = ts.Table.from_arrow(src)
    except EXPECTED:
        return
    assert t.num_rows == src.num_rows
    for col in t.columns:
        col.to_pylist()
    assert ts.Table.from_arrow(t).equals(t), "re-import of an exported table differs"
    assert ts.Table.from_arrow(pa.table(t)).equals(t), "pyarrow round trip differs"


# ---------------------------------------------------------------------------- corrupted


class ArrowSchema(ctypes.Structure):
    pass


class ArrowArray(ctypes.Structure):
    pass


SCHEMA_RELEASE = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowSchema))
ARRAY_RELEASE = ctypes.CFUNCTYPE(None, ctypes.POINTER(ArrowArray))
ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_char_p),
    ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(ArrowSchema))), ("dictionary", ctypes.POINTER(ArrowSchema)),
    ("release", SCHEMA_RELEASE), ("private_data", ctypes.c_void_p)]
ArrowArray._fields_ = [
    ("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)), ("children", ctypes.POINTER(ctypes.POINTER(ArrowArray))),
    ("dictionary", ctypes.POINTER(ArrowArray)), ("release", ARRAY_RELEASE), ("private_data", ctypes.c_void_p)]


@SCHEMA_RELEASE
def _release_schema(p):  # the consumer calls this on its moved copy
    p.contents.release = SCHEMA_RELEASE()


@ARRAY_RELEASE
def _release_array(p):
    p.contents.release = ARRAY_RELEASE()


ZEROS = ctypes.create_string_buffer(4096)
FORMATS = [b"b", b"c", b"C", b"s", b"S", b"i", b"I", b"l", b"L", b"e", b"f", b"g", b"z", b"Z", b"u", b"U",
           b"vu", b"vz", b"tdD", b"tdm", b"tss:", b"tsu:UTC", b"tDs", b"n", b"d:5,2", b"w:4", b"+l", b"+L",
           b"+s", b"+m", b"+w:2", b"+ud:0", b"+vl", b"", b"tt", b"+", b"d:", b"w:-1", b"+w:99999999999"]
_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


def rand_format(fdp: atheris.FuzzedDataProvider) -> bytes | None:
    k = fdp.ConsumeIntInRange(0, 9)
    if k == 0:
        return None
    if k == 1:
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 6)).replace(b"\0", b"")
    f = fdp.PickValueInList(FORMATS)
    if k == 2 and f:
        i = fdp.ConsumeIntInRange(0, len(f) - 1)
        f = f[:i] + bytes([fdp.ConsumeIntInRange(1, 255)]) + f[i + 1:]
    return f


def make_pair(fdp: atheris.FuzzedDataProvider, keep: list, depth: int = 0) -> tuple:
    s, a = ArrowSchema(), ArrowArray()
    keep += [s, a]
    fmt = rand_format(fdp)
    s.format = fmt
    s.name = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4)).replace(b"\0", b"") if fdp.ConsumeBool() else None
    s.flags = fdp.PickValueInList([0, 1, 2, 3, 4, -1])
    a.length = fdp.ConsumeIntInRange(0, MAX_ROWS)
    a.offset = fdp.ConsumeIntInRange(0, MAX_ROWS)
    a.null_count = fdp.ConsumeIntInRange(-1, a.length)
    a.n_buffers = fdp.ConsumeIntInRange(0, 4)
    bufs = (ctypes.c_void_p * 8)(*[None if fdp.ConsumeIntInRange(0, 5) == 0 else ctypes.addressof(ZEROS)
                                   for _ in range(8)])
    keep.append(bufs)
    a.buffers = ctypes.cast(bufs, ctypes.POINTER(ctypes.c_void_p)) if a.n_buffers or fdp.ConsumeBool() else None
    nchild = fdp.ConsumeIntInRange(0, 2) if depth < 2 else 0
    schildren = (ctypes.POINTER(ArrowSchema) * max(nchild, 1))()
    achildren = (ctypes.POINTER(ArrowArray) * max(nchild, 1))()
    keep += [schildren, achildren]
    for i in range(nchild):
        cs, ca = make_pair(fdp, keep, depth + 1)
        schildren[i], achildren[i] = ctypes.pointer(cs), ctypes.pointer(ca)
    s.n_children = nchild if fdp.ConsumeIntInRange(0, 4) else fdp.ConsumeIntInRange(0, 2)
    a.n_children = nchild if fdp.ConsumeIntInRange(0, 4) else fdp.ConsumeIntInRange(0, 2)
    s.n_children, a.n_children = min(s.n_children, nchild), min(a.n_children, nchild)
    s.children = ctypes.cast(schildren, ctypes.POINTER(ctypes.POINTER(ArrowSchema))) if s.n_children else None
    a.children = ctypes.cast(achildren, ctypes.POINTER(ctypes.POINTER(ArrowArray))) if a.n_children else None
    if depth < 2 and fdp.ConsumeIntInRange(0, 3) == 0:
        ds, da = make_pair(fdp, keep, depth + 1)
        if fdp.ConsumeIntInRange(0, 3):
            s.dictionary = ctypes.pointer(ds)
        if fdp.ConsumeIntInRange(0, 3):
            a.dictionary = ctypes.pointer(da)
    s.release, a.release = _release_schema, _release_array
    return s, a


def check_corrupted(fdp: atheris.FuzzedDataProvider) -> None:
    keep: list = []
    s, a = make_pair(fdp, keep)
    scap = _capsule_new(ctypes.addressof(s), b"arrow_schema", None)
    acap = _capsule_new(ctypes.addressof(a), b"arrow_array", None)
    try:
        names, cols = _core._arrow_import_array(scap, acap)
    except EXPECTED:
        return
    for col in cols:
        ts.Table({"c": col})["c"].to_pylist()


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        check_valid(fdp)
    else:
        check_corrupted(fdp)


if __name__ == "__main__":
    main(test_one_input)
