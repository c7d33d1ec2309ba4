"""``_core._gb_tally``: counts of rows by mask and group (and list item), checked
against its plain NumPy twin over random masks, codes with -1, empty groups, k = 0,
n = 0 and list items with null lists; and its argument errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traffickstats import _core


def tally_twin(masks, codes=None, ngroups=1, items=None, row_counts=False):
    """Plain NumPy twin of _gb_tally (masks: a (k, n) bool array)."""
    masks = np.asarray(masks, dtype=bool)
    k, n = masks.shape
    if codes is None:
        codes = np.zeros(n, np.int64)
    codes = np.asarray(codes, dtype=np.int64)
    if items is None:
        out = np.zeros((k, ngroups), np.int64)
        for j in range(k):
            sel = masks[j] & (codes >= 0)
            out[j] = np.bincount(codes[sel], minlength=ngroups)[:ngroups]
        return out
    offsets, values, valid, nitems = items
    out = np.zeros((k, ngroups, nitems + row_counts), np.int64)
    for i in range(n):
        if codes[i] >= 0 and row_counts:
            out[masks[:, i], codes[i], nitems] += 1   # the row, whatever its list
        if codes[i] < 0 or (valid is not None and not valid[i]):
            continue
        for e in range(offsets[i], offsets[i + 1]):
            out[masks[:, i], codes[i], values[e]] += 1
    return out


def _list_column(rng, n, nitems, nulls):
    lens = rng.integers(0, 4, n)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lens, out=offsets[1:])
    values = rng.integers(0, max(nitems, 1), int(offsets[-1])).astype(np.int32)
    if nitems == 0:
        offsets[:] = 0
        values = values[:0]
    valid = rng.random(n) < 0.8 if nulls else None
    cats = [f"c{i}" for i in range(nitems)]
    col = _core.make_column("l", "list<category>", values, valid, offsets, cats)
    return col, (offsets, values, valid, nitems)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(0, 300), k=st.integers(0, 5), ngroups=st.integers(0, 9),
       with_codes=st.booleans(), with_items=st.booleans(), nitems=st.integers(0, 5),
       nulls=st.booleans(), as_list=st.booleans(), row_counts=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_tally_equals_its_numpy_twin(n, k, ngroups, with_codes, with_items, nitems, nulls, as_list, row_counts,
                                     seed):
    rng = np.random.default_rng(seed)
    masks = rng.random((k, n)) < rng.random()
    codes = None
    if with_codes:
        # -1 rows, and groups no row has (ngroups above the codes used)
        codes = rng.integers(-1, max(ngroups, 1), n).astype(np.int32) if ngroups else np.full(n, -1, np.int32)
    else:
        ngroups = 1
    items = twin_items = None
    if with_items:
        items, twin_items = _list_column(rng, n, nitems, nulls)
    arg = [masks[j] for j in range(k)] if as_list else masks
    row_counts = row_counts and with_items
    got = _core._gb_tally(arg, codes, ngroups, items, row_counts=row_counts)
    want = tally_twin(masks, codes, ngroups, twin_items, row_counts)
    assert got.dtype == np.int64
    assert got.shape == ((k, ngroups, nitems + row_counts) if with_items else (k, ngroups))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [0, 1, 70_000, 1_100_000])
def test_tally_large_and_threads(n):
    """The threaded path (from 10^6 mask rows) gives the twin's counts."""
    rng = np.random.default_rng(n)
    masks = rng.random((3, n)) < 0.3
    codes = rng.integers(-1, 7, n).astype(np.int32)
    np.testing.assert_array_equal(_core._gb_tally(masks, codes, 7), tally_twin(masks, codes, 7))
    np.testing.assert_array_equal(_core._gb_tally(masks), masks.sum(axis=1, keepdims=True))


def test_tally_accepts_odd_layouts_by_converting():
    rng = np.random.default_rng(1)
    base = rng.random((6, 40)) < 0.5
    fortran = np.asfortranarray(base[:3])
    strided = base[::2]
    for masks in (fortran, strided):
        np.testing.assert_array_equal(_core._gb_tally(masks), masks.sum(axis=1, keepdims=True))
    codes = np.arange(80, dtype=np.int32)[::2] % 4   # a non-contiguous int32 array
    np.testing.assert_array_equal(_core._gb_tally([base[0, :], base[1, ::1]], codes, 4),
                                  tally_twin(base[:2], codes, 4))


def test_tally_keywords_and_no_fake_key():
    masks = np.array([[True, False, True], [False, False, False]])
    np.testing.assert_array_equal(_core._gb_tally(masks), [[2], [0]])
    out = _core._gb_tally(masks=masks, codes=np.array([1, 0, 1], np.int32), ngroups=2)
    np.testing.assert_array_equal(out, [[0, 2], [0, 0]])
    assert _core._gb_tally([]).shape == (0, 1)
    assert _core._gb_tally(np.zeros((0, 5), bool), np.zeros(5, np.int32), 3).shape == (0, 3)


def test_tally_errors():
    masks = np.ones((2, 4), bool)
    with pytest.raises(ValueError, match="row 2"):
        _core._gb_tally(masks, np.array([0, 1, 5, 0], np.int32), 2)
    with pytest.raises(ValueError, match="row 0"):
        _core._gb_tally(np.zeros((0, 4), bool), np.array([-2, 0, 0, 0], np.int32), 2)
    with pytest.raises(TypeError, match="bool"):
        _core._gb_tally(np.ones((2, 4), np.int8))
    with pytest.raises(TypeError, match="bool"):
        _core._gb_tally([np.ones(4, bool), np.ones(4, np.int64)])
    with pytest.raises(ValueError, match="2-dimensional"):
        _core._gb_tally(np.ones(4, bool))
    with pytest.raises(ValueError, match="mask 1 has"):
        _core._gb_tally([np.ones(4, bool), np.ones(3, bool)])
    with pytest.raises(ValueError, match="codes have"):
        _core._gb_tally(masks, np.zeros(3, np.int32), 1)
    with pytest.raises(TypeError, match="int32"):
        _core._gb_tally(masks, np.zeros(4, np.int64), 1)
    with pytest.raises(ValueError, match="one group"):
        _core._gb_tally(masks, None, 3)
    with pytest.raises(ValueError, match="ngroups"):
        _core._gb_tally(masks, np.zeros(4, np.int32), -1)
    with pytest.raises(TypeError, match="list<category>"):
        _core._gb_tally(masks, items=_core.make_column("x", "int64", np.arange(4)))
    col, _ = _list_column(np.random.default_rng(0), 3, 2, False)
    with pytest.raises(ValueError, match="items has 3 rows"):
        _core._gb_tally(masks, items=col)


def test_tally_reads_a_sliced_list_column():
    """A slice shares its buffers (offsets into the whole items, validity at an offset)."""
    rng = np.random.default_rng(5)
    col, _ = _list_column(rng, 50, 3, True)
    s = col._slice(7, 37)
    twin = (np.asarray(s.offsets), np.asarray(s.values), np.asarray(s.valid), 3)
    masks = rng.random((2, 30)) < 0.6
    codes = rng.integers(-1, 3, 30).astype(np.int32)
    np.testing.assert_array_equal(_core._gb_tally(masks, codes, 3, s), tally_twin(masks, codes, 3, twin))


def test_tally_row_counts_need_items():
    with pytest.raises(ValueError, match="row_counts=True needs items"):
        _core._gb_tally(np.ones((1, 3), bool), row_counts=True)
