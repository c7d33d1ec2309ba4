/*
 * groupby/bind.c -- the Python binding of the group-by kernels: argument checks, the
 * key entry points (_gb_encode_num, _gb_encode_str, _gb_combine, _gb_explode), the
 * module registration and the exported thresholds.  The aggregate entry points are in
 * bind_agg.c; both share the argument helpers declared in bind.h.
 *
 * The Python driver (traffickstats/engine/groupby/) hands over contiguous, aligned,
 * native-endian NumPy arrays; the functions here re-check that and copy if needed,
 * then run a kernel (csrc/groupby/{encode,combine,agg,fsum,quantile}.c) without the
 * GIL and turn its error code into an exception.
 */
#include "groupby/bind.h"

/* Ownership: returns a new reference to `o` as a 1-d C-contiguous aligned native array
 * of `typenum` (copying only when needed), or NULL with an exception naming `what`;
 * borrows `o`. */
PyArrayObject *
gb_array(PyObject *o, int typenum, const char *what)
{
    PyArrayObject *a = (PyArrayObject *)PyArray_FROM_OTF(
        o, typenum, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_NOTSWAPPED);
    if (a == NULL) return NULL;
    if (PyArray_NDIM(a) != 1) {
        PyErr_Format(PyExc_ValueError, "%s must be 1-dimensional, got %d dimensions", what,
                     PyArray_NDIM(a));
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

/* Ownership: returns a new reference to a value array of a supported numeric dtype
 * (bool, int32, int64, float32, float64), its kind in *vt; NULL with TypeError
 * otherwise; borrows `o`. */
PyArrayObject *
gb_values(PyObject *o, int *vt, const char *what)
{
    if (!PyArray_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a NumPy array", what);
        return NULL;
    }
    int t = PyArray_TYPE((PyArrayObject *)o);
    switch (t) {
    case NPY_BOOL: *vt = VT_B; break;
    case NPY_INT32: *vt = VT_I4; break;
    case NPY_INT64: *vt = VT_I8; break;
    case NPY_FLOAT32: *vt = VT_F4; break;
    case NPY_FLOAT64: *vt = VT_F8; break;
    default:
        if (t == NPY_LONG && sizeof(long) == 8) { *vt = VT_I8; t = NPY_INT64; break; }
        if (t == NPY_INT && sizeof(int) == 4) { *vt = VT_I4; t = NPY_INT32; break; }
        PyErr_Format(PyExc_TypeError, "%s: unsupported dtype %R", what,
                     (PyObject *)PyArray_DESCR((PyArrayObject *)o));
        return NULL;
    }
    return gb_array(o, t, what);
}

/* Ownership: *out gets a new reference to a bool mask of length n (NULL when o is
 * None); returns 0, or -1 with an exception; borrows `o`. */
int
gb_mask(PyObject *o, Py_ssize_t n, PyArrayObject **out, const char *what)
{
    *out = NULL;
    if (o == Py_None) return 0;
    PyArrayObject *m = gb_array(o, NPY_BOOL, what);
    if (m == NULL) return -1;
    if (PyArray_DIM(m, 0) != n) {
        PyErr_Format(PyExc_ValueError, "%s has %zd elements, expected %zd", what,
                     (Py_ssize_t)PyArray_DIM(m, 0), n);
        Py_DECREF(m);
        return -1;
    }
    *out = m;
    return 0;
}

/* Ownership: returns a new reference to a fresh zeroed 1-d array, or NULL with
 * MemoryError. */
PyArrayObject *
gb_zeros(Py_ssize_t n, int typenum)
{
    npy_intp dims[1] = {n};
    return (PyArrayObject *)PyArray_ZEROS(1, dims, typenum, 0);
}

/* Ownership: returns a new reference to the uniques of a map as an int64 array, or
 * NULL with MemoryError. */
PyArrayObject *
gb_uniques(const gb_map *map)
{
    PyArrayObject *ua = gb_zeros((Py_ssize_t)map->n, NPY_INT64);
    if (ua != NULL && map->n) memcpy(PyArray_DATA(ua), map->uniq, map->n * sizeof(int64_t));
    return ua;
}

/* Ownership: returns a new reference to group codes as an int32 array, ncodes checked
 * but not the codes (for kernels that flag a code outside [-1, ncodes) themselves and
 * then call gb_codes_check for the message); NULL with an exception; borrows `o`. */
PyArrayObject *
gb_codes_unchecked(PyObject *o, Py_ssize_t ncodes)
{
    PyArrayObject *c = gb_array(o, NPY_INT32, "codes");
    if (c == NULL) return NULL;
    if (ncodes < 0 || ncodes > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "ncodes %zd is out of range", ncodes);
        Py_DECREF(c);
        return NULL;
    }
    return c;
}

/* Sets the ValueError of a group code outside [-1, ncodes) at `row`; returns -1. */
int
gb_raise_code(int64_t code, Py_ssize_t row, Py_ssize_t ncodes)
{
    PyErr_Format(PyExc_ValueError, "group code %d at row %zd is outside [-1, %zd)",
                 (int)code, row, ncodes);
    return -1;
}

/* Checks every code of c (borrowed) lies in [-1, ncodes): 0, or -1 with ValueError
 * naming the first bad row. */
int
gb_codes_check(PyArrayObject *c, Py_ssize_t ncodes)
{
    const int32_t *p = PyArray_DATA(c);
    Py_ssize_t n = PyArray_DIM(c, 0), bad;
    Py_BEGIN_ALLOW_THREADS
    bad = gb_first_bad_code(p, n, ncodes);
    Py_END_ALLOW_THREADS
    if (bad >= 0) return gb_raise_code(p[bad], bad, ncodes);
    return 0;
}

/* Ownership: returns a new reference to validated group codes (int32, every code in
 * [-1, ncodes)), or NULL with an exception; borrows `o`. */
PyArrayObject *
gb_codes(PyObject *o, Py_ssize_t ncodes)
{
    PyArrayObject *c = gb_codes_unchecked(o, ncodes);
    if (c == NULL) return NULL;
    if (gb_codes_check(c, ncodes) < 0) {
        Py_DECREF(c);
        return NULL;
    }
    return c;
}

/* After a kernel flagged a bad code without saying which: the ValueError naming it
 * (or a SystemError when the codes check out after all, naming `fn`); returns -1. */
int
gb_raise_bad_codes(PyArrayObject *codes, Py_ssize_t ncodes, const char *fn)
{
    if (gb_codes_check(codes, ncodes) == 0)
        PyErr_Format(PyExc_SystemError, "%s: a group code was out of range", fn);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* keys                                                                      */

/* _gb_encode_num(values, valid, part, dropna, nthreads=1)
 *   -> (codes int32, ncodes, lo, uniques or None, nullcode)
 * Range encoding (uniques None): code = key - lo, chosen by C when the keys span
 * fewer values than gb_range_limit(rows).  Hash encoding: uniques holds the key of
 * each code in first-appearance order (int64; float64 bits for float input).
 * nullcode is the code of the null group (dropna=False and some null row), else -1.
 * Ownership: returns a new reference (NULL with an exception); borrows all arguments. */
static PyObject *
gb_encode_num(PyObject *self, PyObject *args)
{
    PyObject *vo, *mo;
    int part, dropna, nthreads = 1;
    if (!PyArg_ParseTuple(args, "OOip|i:_gb_encode_num", &vo, &mo, &part, &dropna, &nthreads))
        return NULL;
    int vt, rc;
    PyArrayObject *va = NULL, *ma = NULL, *ca = NULL, *ua = NULL;
    gb_numkey key;
    memset(&key, 0, sizeof(key));
    PyObject *res = NULL;
    va = gb_values(vo, &vt, "key values");
    if (va == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(va, 0);
    if (gb_mask(mo, n, &ma, "key validity") < 0) goto error;
    if (part != PART_NONE && vt != VT_I4 && vt != VT_I8) {
        PyErr_SetString(PyExc_TypeError, "year()/month() need a date key");
        goto error;
    }
    {
        /* not zero-filled: the kernel writes every code (or fails) */
        npy_intp cdims[1] = {n};
        ca = (PyArrayObject *)PyArray_EMPTY(1, cdims, NPY_INT32, 0);
    }
    if (ca == NULL) goto error;
    const void *vals = PyArray_DATA(va);
    const uint8_t *mask = ma ? PyArray_DATA(ma) : NULL;
    int32_t *codes = PyArray_DATA(ca);
    Py_BEGIN_ALLOW_THREADS
    rc = gb_encode_num_run(vt, vals, mask, n, part, dropna, gb_range_limit(n), nthreads, codes, &key);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_NoMemory();
        goto error;
    }
    if (!key.use_range) {
        ua = gb_uniques(&key.map);
        if (ua == NULL) goto error;
    }
    res = Py_BuildValue("(OnLOi)", (PyObject *)ca, (Py_ssize_t)key.ncodes, (long long)key.lo,
                        ua ? (PyObject *)ua : Py_None, (int)key.nullcode);
error:
    gb_map_free(&key.map);
    Py_XDECREF(va);
    Py_XDECREF(ma);
    Py_XDECREF(ca);
    Py_XDECREF(ua);
    return res;
}

/* _gb_encode_str(offsets int32, data uint8, valid, dropna)
 *   -> (codes int32, ncodes, first_rows int64, nullcode)
 * Hash encoding of UTF-8 strings; first_rows[k] is the first row holding group k.
 * Ownership: returns a new reference (NULL with an exception); borrows all arguments. */
static PyObject *
gb_encode_str(PyObject *self, PyObject *args)
{
    PyObject *oo, *dob, *mo;
    int dropna, rc;
    if (!PyArg_ParseTuple(args, "OOOp:_gb_encode_str", &oo, &dob, &mo, &dropna)) return NULL;
    PyArrayObject *oa = NULL, *da = NULL, *ma = NULL, *ca = NULL, *fa = NULL;
    gb_numkey key;
    memset(&key, 0, sizeof(key));
    PyObject *res = NULL;
    oa = gb_array(oo, NPY_INT32, "string offsets");
    if (oa == NULL) goto error;
    da = gb_array(dob, NPY_UINT8, "string data");
    if (da == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(oa, 0) - 1;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "string offsets must hold at least one element");
        goto error;
    }
    if (gb_mask(mo, n, &ma, "key validity") < 0) goto error;
    const int32_t *off = PyArray_DATA(oa);
    const uint8_t *data = PyArray_DATA(da);
    Py_ssize_t nbytes = PyArray_DIM(da, 0), bad;
    Py_BEGIN_ALLOW_THREADS
    bad = gb_bad_offsets(off, n, nbytes);
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError, "string offsets are invalid at row %zd", bad);
        goto error;
    }
    ca = gb_zeros(n, NPY_INT32);
    if (ca == NULL) goto error;
    const uint8_t *mask = ma ? PyArray_DATA(ma) : NULL;
    int32_t *codes = PyArray_DATA(ca);
    Py_BEGIN_ALLOW_THREADS
    rc = gb_encode_str_run(off, data, mask, n, dropna, codes, &key);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_NoMemory();
        goto error;
    }
    fa = gb_uniques(&key.map);
    if (fa == NULL) goto error;
    res = Py_BuildValue("(OnOi)", (PyObject *)ca, (Py_ssize_t)key.ncodes, (PyObject *)fa,
                        (int)key.nullcode);
error:
    gb_map_free(&key.map);
    Py_XDECREF(oa);
    Py_XDECREF(da);
    Py_XDECREF(ma);
    Py_XDECREF(ca);
    Py_XDECREF(fa);
    return res;
}

/* _gb_combine(c1, n1, c2, n2, hash) -> (codes int32, ncodes, uniques or None)
 * Mixed radix code c1 * n2 + c2 (-1 when either is -1).  With hash true, the radix
 * values are hash-encoded into dense codes (first-appearance order) and uniques holds
 * each code's radix value as int64; with hash None, C chooses: the hash when the
 * radix code space exceeds max(GB_RADIX_MIN, rows) or int32.
 * Ownership: returns a new reference (NULL with an exception); borrows all arguments. */
static PyObject *
gb_combine(PyObject *self, PyObject *args)
{
    PyObject *o1, *o2, *ho;
    Py_ssize_t n1, n2;
    if (!PyArg_ParseTuple(args, "OnOnO:_gb_combine", &o1, &n1, &o2, &n2, &ho)) return NULL;
    int hash;
    if (ho == Py_None) {
        PyObject *a = PyArray_Check(o1) ? o1 : NULL;
        Py_ssize_t rows = a ? (Py_ssize_t)PyArray_SIZE((PyArrayObject *)a) : 0;
        double product = (double)n1 * (double)n2;
        hash = product > (double)(rows > GB_RADIX_MIN ? rows : GB_RADIX_MIN) || product >= 2147483648.0;
    }
    else {
        hash = PyObject_IsTrue(ho);
        if (hash < 0) return NULL;
    }
    PyArrayObject *a1 = NULL, *a2 = NULL, *ca = NULL, *ua = NULL;
    gb_map map;
    memset(&map, 0, sizeof(map));
    PyObject *res = NULL;
    /* the radix path checks the codes in its own pass */
    a1 = hash ? gb_codes(o1, n1) : gb_codes_unchecked(o1, n1);
    if (a1 == NULL) goto error;
    a2 = hash ? gb_codes(o2, n2) : gb_codes_unchecked(o2, n2);
    if (a2 == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(a1, 0);
    if (PyArray_DIM(a2, 0) != n) {
        PyErr_SetString(PyExc_ValueError, "code arrays differ in length");
        goto error;
    }
    if (!hash && (n2 > 0 && n1 > INT32_MAX / n2)) {
        PyErr_SetString(PyExc_OverflowError, "too many key combinations for a radix code");
        goto error;
    }
    npy_intp cdims[1] = {n};
    ca = (PyArrayObject *)PyArray_EMPTY(1, cdims, NPY_INT32, 0);   /* every slot written */
    if (ca == NULL) goto error;
    const int32_t *c1 = PyArray_DATA(a1), *c2 = PyArray_DATA(a2);
    int32_t *out = PyArray_DATA(ca);
    int64_t ncodes = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = gb_combine_run(c1, n1, c2, n2, n, hash, out, &map, &ncodes);
    Py_END_ALLOW_THREADS
    if (rc == GB_ECODE) {
        if (gb_codes_check(a1, n1) == 0) gb_raise_bad_codes(a2, n2, "_gb_combine");
        goto error;
    }
    if (rc < 0) {
        PyErr_NoMemory();
        goto error;
    }
    if (hash) {
        ua = gb_uniques(&map);
        if (ua == NULL) goto error;
    }
    res = Py_BuildValue("(OnO)", (PyObject *)ca, (Py_ssize_t)ncodes, ua ? (PyObject *)ua : Py_None);
error:
    gb_map_free(&map);
    Py_XDECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(ca);
    Py_XDECREF(ua);
    return res;
}

/* Ownership: (*xa, *ra) get new references to the exploded codes (and source rows when
 * want_rows), or stay NULL with an exception (-1); borrows nothing. */
static int
gb_explode_fill_arrays(const gb_explode_in *in, gb_xjob *xj, int64_t total, int want_rows,
                       PyArrayObject **xa, PyArrayObject **ra)
{
    /* not zero-filled: the fill writes every element */
    npy_intp dims[1] = {total};
    *xa = (PyArrayObject *)PyArray_EMPTY(1, dims, NPY_INT32, 0);
    if (*xa == NULL) return -1;
    if (want_rows) {
        *ra = (PyArrayObject *)PyArray_EMPTY(1, dims, NPY_INT64, 0);
        if (*ra == NULL) return -1;
    }
    int32_t *out = PyArray_DATA(*xa);
    int64_t *rows = *ra ? PyArray_DATA(*ra) : NULL;
    Py_BEGIN_ALLOW_THREADS
    gb_explode_fill_all(in, xj, out, rows);
    Py_END_ALLOW_THREADS
    return 0;
}

/* _gb_explode(row_codes int32, n_other, offsets int32, items int32, valid, nl, empty_code,
 *             want_rows, nthreads=1) -> (codes int32, rows int64 or None)
 * One output element per list item with code row_code * nl + item; a null or empty
 * list gives one element with item `empty_code`, or none when empty_code is -1.  Rows
 * whose row code is -1 (dropped by another key or by where=) give nothing.  `rows`
 * holds the source row of each element when asked for.
 * Ownership: returns a new reference (NULL with an exception); borrows all arguments. */
static PyObject *
gb_explode(PyObject *self, PyObject *args)
{
    PyObject *co, *oo, *ko, *mo;
    Py_ssize_t nother, nl;
    int empty_code, want_rows, nthreads = 1;
    if (!PyArg_ParseTuple(args, "OnOOOnip|i:_gb_explode", &co, &nother, &oo, &ko, &mo, &nl,
                          &empty_code, &want_rows, &nthreads))
        return NULL;
    PyArrayObject *ca = NULL, *oa = NULL, *ka = NULL, *ma = NULL, *ra = NULL, *xa = NULL;
    PyObject *res = NULL;
    if (nl < 0 || nother < 0 || (nother > 0 && nl > INT32_MAX / nother)) {
        PyErr_SetString(PyExc_OverflowError, "too many key combinations for a radix code");
        return NULL;
    }
    ca = gb_codes(co, nother);
    oa = ca ? gb_array(oo, NPY_INT32, "list offsets") : NULL;
    ka = oa ? gb_array(ko, NPY_INT32, "list items") : NULL;
    if (ka == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(ca, 0);
    if (PyArray_DIM(oa, 0) != n + 1) {
        PyErr_SetString(PyExc_ValueError, "list offsets must have one more element than rows");
        goto error;
    }
    if (empty_code < -1 || empty_code >= nl) {
        PyErr_SetString(PyExc_ValueError, "empty_code is out of range");
        goto error;
    }
    if (gb_mask(mo, n, &ma, "list validity") < 0) goto error;
    gb_explode_in in = {
        .rc = PyArray_DATA(ca), .off = PyArray_DATA(oa), .kid = PyArray_DATA(ka),
        .mask = ma ? PyArray_DATA(ma) : NULL, .n = n, .nk = PyArray_DIM(ka, 0),
        .nl = (int32_t)nl, .ec = empty_code, .nthreads = gb_nthreads(nthreads, n),
    };
    gb_xjob xj[GB_MAXTHREADS];
    gb_error err = {0, -1, 0};
    int64_t total = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = gb_explode_count_all(&in, xj, &total, &err);
    Py_END_ALLOW_THREADS
    if (rc == GB_EOFFSETS) {
        PyErr_Format(PyExc_ValueError, "list offsets are invalid at row %zd", (Py_ssize_t)err.row);
        goto error;
    }
    if (rc == GB_EITEM) {
        PyErr_Format(PyExc_ValueError, "list item %zd is outside the categories", (Py_ssize_t)err.row);
        goto error;
    }
    if (gb_explode_fill_arrays(&in, xj, total, want_rows, &xa, &ra) < 0) goto error;
    res = Py_BuildValue("(OO)", (PyObject *)xa, ra ? (PyObject *)ra : Py_None);
error:
    Py_XDECREF(ca);
    Py_XDECREF(oa);
    Py_XDECREF(ka);
    Py_XDECREF(ma);
    Py_XDECREF(ra);
    Py_XDECREF(xa);
    return res;
}

/* ------------------------------------------------------------------------ */
/* registration                                                              */

static PyMethodDef gb_key_functions[] = {
    {"_gb_encode_num", gb_encode_num, METH_VARARGS,
     "_gb_encode_num(values, valid, part, dropna, nthreads=1) -> (codes, ncodes, lo, uniques, nullcode)"},
    {"_gb_encode_str", gb_encode_str, METH_VARARGS,
     "_gb_encode_str(offsets, data, valid, dropna) -> (codes, ncodes, first_rows, nullcode)"},
    {"_gb_combine", gb_combine, METH_VARARGS,
     "_gb_combine(c1, n1, c2, n2, hash) -> (codes, ncodes, uniques); hash=None lets C choose"},
    {"_gb_explode", gb_explode, METH_VARARGS,
     "_gb_explode(row_codes, n_other, offsets, items, valid, nl, empty_code, want_rows) -> (codes, rows)"},
    {NULL},
};

/* Adds the _gb_* functions and the thresholds the Python driver reads (never restates)
 * to the module; returns 0 or -1 with an exception.
 * Ownership: borrows `module`. */
int
ts_groupby_exec(PyObject *module)
{
    if (PyModule_AddFunctions(module, gb_key_functions) < 0) return -1;
    if (PyModule_AddFunctions(module, gb_agg_functions) < 0) return -1;
    if (PyModule_AddIntConstant(module, "_GB_FUSE_MAX_CODES", GB_GPART_CODES) < 0 ||
        PyModule_AddIntConstant(module, "_GB_MAX_COLUMNS", GB_MAXCOLS) < 0 ||
        PyModule_AddIntConstant(module, "_GB_RADIX_MIN", GB_RADIX_MIN) < 0 ||
        PyModule_AddIntConstant(module, "_GB_KEYED_ROWS", GB_KEYED_ROWS) < 0 ||
        PyModule_AddIntConstant(module, "_GB_THREAD_ROWS", GB_THREAD_ROWS) < 0 ||
        PyModule_AddIntConstant(module, "_GB_MAX_THREADS", GB_MAXTHREADS) < 0)
        return -1;
    return 0;
}
