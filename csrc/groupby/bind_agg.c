/*
 * groupby/bind_agg.c -- the Python binding of the aggregate kernels: _gb_agg,
 * _gb_fsum_many, _gb_keyed_sums, _gb_quantile, _gb_first_rows and _gb_tally.  Each
 * checks its arguments, runs its kernel without the GIL and raises from the kernel's
 * error code (see bind.c for the key entry points and the registration).
 */
#include "groupby/bind.h"

#include <unistd.h>

static const char *const gb_op_names[] = {
    "size", "count", "sum", "psum", "isum", "m2", "min", "max", "any", "first", "last", NULL,
};

/* _gb_agg(codes, ncodes, op, values, valid, nthreads, mean=None)
 *   -> (result, count int64, rows int64, flag)
 * op: size (values ignored; may be None), count, sum (float compensated sum; flag set
 * when an infinity was seen), psum (plain float sum), isum (int64 sum; flag set on
 * overflow), m2 (sum of squared deviations from `mean`), min, max (float64 result for
 * float input, int64 otherwise), any (number of nonzero values), first, last (row
 * index of the first/last valid value, -1 if none).  `count` is the number of valid
 * non-NaN values per code, `rows` the number of rows per code (the group sizes).
 * Ownership: returns a new reference (NULL with an exception); borrows all arguments. */
static PyObject *
gb_agg(PyObject *self, PyObject *args)
{
    PyObject *co, *vo, *mo, *meano = Py_None;
    Py_ssize_t nc;
    const char *opname;
    int nthreads;
    if (!PyArg_ParseTuple(args, "OnsOOi|O:_gb_agg", &co, &nc, &opname, &vo, &mo, &nthreads, &meano))
        return NULL;
    int op = -1;
    for (int k = 0; gb_op_names[k]; k++) if (strcmp(opname, gb_op_names[k]) == 0) op = k;
    if (op < 0) {
        PyErr_Format(PyExc_ValueError, "unknown aggregate %s", opname);
        return NULL;
    }
    PyArrayObject *ca = NULL, *va = NULL, *ma = NULL, *ra = NULL, *na = NULL, *mua = NULL, *sa = NULL;
    PyObject *res = NULL;
    int vt = VT_F8;
    ca = gb_codes_unchecked(co, nc);
    if (ca == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(ca, 0);
    const void *vals = NULL;
    const uint8_t *mask = NULL;
    if (op != OP_SIZE) {
        va = gb_values(vo, &vt, "values");
        if (va == NULL) goto error;
        if (PyArray_DIM(va, 0) != n) {
            PyErr_Format(PyExc_ValueError, "values have %zd rows, codes %zd",
                         (Py_ssize_t)PyArray_DIM(va, 0), n);
            goto error;
        }
        vals = PyArray_DATA(va);
        if (gb_mask(mo, n, &ma, "validity") < 0) goto error;
        mask = ma ? PyArray_DATA(ma) : NULL;
    }
    /* the blocked float64 sum checks the codes in its own pass */
    int blocked = op == OP_FSUM && vt == VT_F8 && nc < GB_GPART_CODES;
    if (!blocked && gb_codes_check(ca, nc) < 0) goto error;
    const double *mean = NULL;
    if (op == OP_M2) {
        mua = gb_array(meano, NPY_FLOAT64, "mean");
        if (mua == NULL) goto error;
        if (PyArray_DIM(mua, 0) != nc) {
            PyErr_SetString(PyExc_ValueError, "mean must have one entry per code");
            goto error;
        }
        mean = PyArray_DATA(mua);
    }
    int isf = vt == VT_F4 || vt == VT_F8;
    int rtype = NPY_INT64;
    if (op == OP_FSUM || op == OP_PSUM || op == OP_M2 || ((op == OP_MIN || op == OP_MAX) && isf))
        rtype = NPY_FLOAT64;
    ra = gb_zeros(nc, rtype);
    na = gb_zeros(nc, NPY_INT64);
    sa = gb_zeros(nc, NPY_INT64);
    if (ra == NULL || na == NULL || sa == NULL) goto error;
    nthreads = gb_nthreads(nthreads, n);
    int rc;
    int64_t *ri = rtype == NPY_INT64 ? PyArray_DATA(ra) : NULL;
    double *rs = rtype == NPY_FLOAT64 ? PyArray_DATA(ra) : NULL;
    const int32_t *codes = PyArray_DATA(ca);
    int64_t *cnt = PyArray_DATA(na), *rows = PyArray_DATA(sa);
    Py_BEGIN_ALLOW_THREADS
    if (blocked) {
        int inf = 0;
        const double *vv[1] = {vals};
        const uint8_t *mm[1] = {mask};
        rc = gb_bsum(codes, NULL, 0, 0, n, nc, 1, vv, mm, nthreads, rs, cnt, rows, &inf);
    }
    else {
        rc = gb_aggregate(op, vt, codes, vals, mask, mean, n, nc, nthreads, cnt, rows, ri, rs);
    }
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_NoMemory();
        goto error;
    }
    if (rc == 2) {
        gb_raise_bad_codes(ca, nc, "_gb_agg");
        goto error;
    }
    res = Py_BuildValue("(OOOi)", (PyObject *)ra, (PyObject *)na, (PyObject *)sa, rc);
error:
    Py_XDECREF(sa);
    Py_XDECREF(ca);
    Py_XDECREF(va);
    Py_XDECREF(ma);
    Py_XDECREF(ra);
    Py_XDECREF(na);
    Py_XDECREF(mua);
    return res;
}

/* The float64 value columns of the fused sums. */
typedef struct {
    PyObject *vfast, *mfast;
    PyArrayObject *va[GB_MAXCOLS], *ma[GB_MAXCOLS];
    const double *vals[GB_MAXCOLS];
    const uint8_t *masks[GB_MAXCOLS];
    int K;
} gb_cols;

/* Ownership: fills `c` with new references (release with gb_cols_clear, also after a
 * failure); returns 0, or -1 with an exception; borrows vseq and mseq. */
static int
gb_cols_get(gb_cols *c, PyObject *vseq, PyObject *mseq, Py_ssize_t n)
{
    memset(c, 0, sizeof(*c));
    c->vfast = PySequence_Fast(vseq, "values must be a sequence of arrays");
    c->mfast = c->vfast ? PySequence_Fast(mseq, "valids must be a sequence") : NULL;
    if (c->mfast == NULL) return -1;
    if (PySequence_Fast_GET_SIZE(c->vfast) < 1 || PySequence_Fast_GET_SIZE(c->vfast) > GB_MAXCOLS ||
        PySequence_Fast_GET_SIZE(c->mfast) != PySequence_Fast_GET_SIZE(c->vfast)) {
        PyErr_Format(PyExc_ValueError, "between 1 and %d value arrays, each with a validity entry",
                     GB_MAXCOLS);
        return -1;
    }
    c->K = (int)PySequence_Fast_GET_SIZE(c->vfast);
    for (int k = 0; k < c->K; k++) {
        c->va[k] = gb_array(PySequence_Fast_GET_ITEM(c->vfast, k), NPY_FLOAT64, "values");
        if (c->va[k] == NULL) return -1;
        if (PyArray_DIM(c->va[k], 0) != n) {
            PyErr_Format(PyExc_ValueError, "value array %d has %zd rows, codes %zd", k,
                         (Py_ssize_t)PyArray_DIM(c->va[k], 0), n);
            return -1;
        }
        if (gb_mask(PySequence_Fast_GET_ITEM(c->mfast, k), n, &c->ma[k], "validity") < 0) return -1;
        c->vals[k] = PyArray_DATA(c->va[k]);
        c->masks[k] = c->ma[k] ? PyArray_DATA(c->ma[k]) : NULL;
    }
    return 0;
}

static void
gb_cols_clear(gb_cols *c)
{
    for (int k = 0; k < GB_MAXCOLS; k++) {
        Py_XDECREF(c->va[k]);
        Py_XDECREF(c->ma[k]);
    }
    Py_XDECREF(c->vfast);
    Py_XDECREF(c->mfast);
}

/* Ownership: returns a new reference to (sums K x nc, counts K x nc, rows nc, flags)
 * of K blocked sums by `keys` (int32/int64 as kvt says; code = key - g0) or by
 * `codes`; None when a key falls outside the window; NULL with an exception.
 * Borrows all arguments. */
static PyObject *
gb_fused_sums(PyArrayObject *ca, int keyed, int kvt, int64_t g0, Py_ssize_t nc,
              const gb_cols *c, int nthreads)
{
    Py_ssize_t n = PyArray_DIM(ca, 0);
    npy_intp dims[2] = {c->K, nc};
    PyArrayObject *sa = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_FLOAT64, 0);
    PyArrayObject *na = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_INT64, 0);
    PyArrayObject *ra = gb_zeros(nc, NPY_INT64);
    PyObject *res = NULL;
    int flags = 0, rc = 0;
    if (sa == NULL || na == NULL || ra == NULL) goto error;
    nthreads = gb_nthreads(nthreads, n);
    const void *cd = PyArray_DATA(ca);
    double *S = PyArray_DATA(sa);
    int64_t *N = PyArray_DATA(na), *R = PyArray_DATA(ra);
    int blocked = nc < GB_GPART_CODES;
    Py_BEGIN_ALLOW_THREADS
    if (blocked)
        rc = gb_bsum(keyed ? NULL : cd, keyed ? cd : NULL, kvt, g0, n, nc, c->K, c->vals, c->masks,
                     nthreads, S, N, R, &flags);
    else
        rc = gb_fsum_multi(cd, n, nc, c->K, c->vals, c->masks, nthreads, S, N, R, &flags);
    Py_END_ALLOW_THREADS
    if (blocked && rc == 2 && keyed) {
        res = Py_NewRef(Py_None);
        goto error;
    }
    if (blocked && rc == 2) {
        gb_raise_bad_codes(ca, nc, "_gb_fsum_many");
        goto error;
    }
    if (rc < 0) {
        PyErr_NoMemory();
        goto error;
    }
    res = Py_BuildValue("(OOOi)", (PyObject *)sa, (PyObject *)na, (PyObject *)ra, flags);
error:
    Py_XDECREF(sa);
    Py_XDECREF(na);
    Py_XDECREF(ra);
    return res;
}

/* _gb_fsum_many(codes, ncodes, values (sequence of float64 arrays), valids (sequence
 * of bool arrays or None), nthreads, origin=None) -> (sums K x nc, counts K x nc,
 * rows nc, flags)
 * Compensated sums of several float64 columns in one pass over the codes; bit k of
 * flags is set when column k holds an infinity (the caller then redoes it plainly).
 * With an int `origin`, `codes` are int32/int64 keys and a row's code is key - origin,
 * computed during the pass (no codes array is built; 1 <= ncodes < GB_GPART_CODES);
 * the result is None when some key lies outside [origin, origin + ncodes).
 * Ownership: returns a new reference (NULL with an exception); borrows all arguments. */
static PyObject *
gb_fsum_many(PyObject *self, PyObject *args)
{
    PyObject *co, *vseq, *mseq;
    Py_ssize_t nc;
    int nthreads;
    PyObject *origin = Py_None;
    if (!PyArg_ParseTuple(args, "OnOOi|O:_gb_fsum_many", &co, &nc, &vseq, &mseq, &nthreads,
                          &origin))
        return NULL;
    PyArrayObject *ca = NULL;
    PyObject *res = NULL;
    gb_cols cols;
    memset(&cols, 0, sizeof(cols));
    int kvt = VT_I4;
    long long g0 = 0;
    /* the blocked path (fewer than GB_GPART_CODES codes) checks the codes itself */
    int blocked = nc < GB_GPART_CODES, keyed = origin != Py_None;
    if (keyed) {
        /* codes = key - origin, computed in the pass; None back if a key falls outside */
        g0 = PyLong_AsLongLong(origin);
        if (g0 == -1 && PyErr_Occurred()) return NULL;
        if (!blocked || nc < 1) {
            PyErr_Format(PyExc_ValueError, "keyed sums need 1 to %d codes, got %zd",
                         GB_GPART_CODES - 1, nc);
            return NULL;
        }
        ca = gb_values(co, &kvt, "keys");
        if (ca != NULL && kvt != VT_I4 && kvt != VT_I8) {
            PyErr_SetString(PyExc_TypeError, "keys must be int32 or int64");
            Py_CLEAR(ca);
        }
    }
    else {
        ca = blocked ? gb_codes_unchecked(co, nc) : gb_codes(co, nc);
    }
    if (ca == NULL) goto error;
    if (gb_cols_get(&cols, vseq, mseq, PyArray_DIM(ca, 0)) < 0) goto error;
    res = gb_fused_sums(ca, keyed, kvt, (int64_t)g0, nc, &cols, nthreads);
error:
    Py_XDECREF(ca);
    gb_cols_clear(&cols);
    return res;
}

/* _gb_keyed_sums(keys int32/int64, values, valids, nthreads)
 *   -> (origin, ncodes, sums, counts, rows, flags) or None
 * The keyed sums with the window chosen here: from GB_KEYED_ROWS rows (the caller
 * checks), C samples the keys, widens their range by an eighth on each side and sums
 * by code = key - origin; None when the window would hold GB_GPART_CODES codes or
 * more, or some key falls outside it (the caller then takes the general path).
 * Ownership: returns a new reference (NULL with an exception); borrows all arguments. */
static PyObject *
gb_keyed_sums(PyObject *self, PyObject *args)
{
    PyObject *ko, *vseq, *mseq;
    int nthreads;
    if (!PyArg_ParseTuple(args, "OOOi:_gb_keyed_sums", &ko, &vseq, &mseq, &nthreads)) return NULL;
    int kvt;
    PyObject *res = NULL, *sums = NULL;
    gb_cols cols;
    memset(&cols, 0, sizeof(cols));
    PyArrayObject *ka = gb_values(ko, &kvt, "keys");
    if (ka == NULL) return NULL;
    if (kvt != VT_I4 && kvt != VT_I8) {
        PyErr_SetString(PyExc_TypeError, "keys must be int32 or int64");
        goto error;
    }
    Py_ssize_t n = PyArray_DIM(ka, 0);
    if (gb_cols_get(&cols, vseq, mseq, n) < 0) goto error;
    int64_t origin = 0, ncodes = 0;
    if (n < 1 || gb_keyed_window(kvt, PyArray_DATA(ka), n, &origin, &ncodes) < 0) {
        res = Py_NewRef(Py_None);
        goto error;
    }
    sums = gb_fused_sums(ka, 1, kvt, origin, (Py_ssize_t)ncodes, &cols, nthreads);
    if (sums == NULL) goto error;
    if (sums == Py_None) {
        res = Py_NewRef(Py_None);
        goto error;
    }
    res = Py_BuildValue("(Ln" "OOOO)", (long long)origin, (Py_ssize_t)ncodes,
                        PyTuple_GET_ITEM(sums, 0), PyTuple_GET_ITEM(sums, 1),
                        PyTuple_GET_ITEM(sums, 2), PyTuple_GET_ITEM(sums, 3));
error:
    Py_XDECREF(sums);
    Py_DECREF(ka);
    gb_cols_clear(&cols);
    return res;
}

/* Ownership: returns a new reference to the checked quantiles array (float64, each q
 * in [0, 1], at least one), or NULL with ValueError; borrows `qo`. */
static PyArrayObject *
gb_quantiles_arg(PyObject *qo)
{
    PyArrayObject *qa = gb_array(qo, NPY_FLOAT64, "quantiles");
    if (qa == NULL) return NULL;
    Py_ssize_t nq = PyArray_DIM(qa, 0);
    const double *qs = PyArray_DATA(qa);
    for (Py_ssize_t q = 0; q < nq; q++) {
        if (!(qs[q] >= 0.0 && qs[q] <= 1.0)) {
            PyObject *x = PyFloat_FromDouble(qs[q]);
            if (x != NULL) {
                PyErr_Format(PyExc_ValueError, "quantile %R is not in [0, 1]", x);
                Py_DECREF(x);
            }
            Py_DECREF(qa);
            return NULL;
        }
    }
    if (nq < 1) {
        PyErr_SetString(PyExc_ValueError, "at least one quantile is needed");
        Py_DECREF(qa);
        return NULL;
    }
    return qa;
}

/* _gb_quantile(codes, ncodes, values, valid, qs float64, nthreads, median, moments=False)
 *   -> (float64 array ncodes x nq, count int64[, sum float64, m2 float64], rows int64)
 * Linear interpolation between order statistics (pandas' default); median=True uses
 * the midpoint (a + b) / 2 like pandas' median.  NaN and null values are skipped.
 * With moments, also each group's compensated sum and sum of squared deviations from
 * its mean, computed from the sorted-by-group values (saves the var/std passes).
 * Ownership: returns a new reference (NULL with an exception); borrows all arguments. */
static PyObject *
gb_quantile(PyObject *self, PyObject *args)
{
    PyObject *co, *vo, *mo, *qo;
    Py_ssize_t nc;
    int nthreads, median, moments = 0;
    if (!PyArg_ParseTuple(args, "OnOOOip|p:_gb_quantile", &co, &nc, &vo, &mo, &qo, &nthreads, &median,
                          &moments))
        return NULL;
    PyArrayObject *ca = NULL, *va = NULL, *ma = NULL, *qa = NULL, *oa = NULL, *na = NULL;
    PyArrayObject *suma = NULL, *m2a = NULL, *rowsa = NULL;
    PyObject *res = NULL;
    int vt, rc;
    ca = gb_codes_unchecked(co, nc);   /* checked by the count pass */
    if (ca == NULL) goto error;
    va = gb_values(vo, &vt, "values");
    if (va == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(ca, 0);
    if (PyArray_DIM(va, 0) != n) {
        PyErr_Format(PyExc_ValueError, "values have %zd rows, codes %zd", (Py_ssize_t)PyArray_DIM(va, 0), n);
        goto error;
    }
    if (gb_mask(mo, n, &ma, "validity") < 0) goto error;
    qa = gb_quantiles_arg(qo);
    if (qa == NULL) goto error;
    npy_intp dims[2] = {nc, PyArray_DIM(qa, 0)};
    oa = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_FLOAT64, 0);
    na = gb_zeros(nc, NPY_INT64);
    rowsa = gb_zeros(nc, NPY_INT64);
    if (oa == NULL || na == NULL || rowsa == NULL) goto error;
    if (moments) {
        suma = gb_zeros(nc, NPY_FLOAT64);
        m2a = gb_zeros(nc, NPY_FLOAT64);
        if (suma == NULL || m2a == NULL) goto error;
    }
    gb_quant_in in = {
        .codes = PyArray_DATA(ca), .vals = PyArray_DATA(va), .mask = ma ? PyArray_DATA(ma) : NULL,
        .vt = vt, .median = median, .n = n, .nc = nc, .nq = PyArray_DIM(qa, 0),
        .qs = PyArray_DATA(qa), .nthreads = gb_nthreads(nthreads, n),
    };
    gb_quant_out out = {
        .out = PyArray_DATA(oa), .count = PyArray_DATA(na), .rows = PyArray_DATA(rowsa),
        .sum = suma ? PyArray_DATA(suma) : NULL, .m2 = m2a ? PyArray_DATA(m2a) : NULL,
    };
    Py_BEGIN_ALLOW_THREADS
    rc = gb_quantile_run(&in, &out);
    Py_END_ALLOW_THREADS
    if (rc == GB_ECODE) {
        gb_raise_bad_codes(ca, nc, "_gb_quantile");
        goto error;
    }
    if (rc < 0) {
        PyErr_NoMemory();
        goto error;
    }
    if (moments)
        res = Py_BuildValue("(OOOOO)", (PyObject *)oa, (PyObject *)na, (PyObject *)suma, (PyObject *)m2a,
                            (PyObject *)rowsa);
    else res = Py_BuildValue("(OOO)", (PyObject *)oa, (PyObject *)na, (PyObject *)rowsa);
error:
    Py_XDECREF(suma);
    Py_XDECREF(m2a);
    Py_XDECREF(rowsa);
    Py_XDECREF(ca);
    Py_XDECREF(va);
    Py_XDECREF(ma);
    Py_XDECREF(qa);
    Py_XDECREF(oa);
    Py_XDECREF(na);
    return res;
}

/* _gb_first_rows(codes, ncodes) -> int64: first row of each code, -1 if none.
 * Ownership: returns a new reference (NULL with an exception); borrows all arguments. */
static PyObject *
gb_first_rows(PyObject *self, PyObject *args)
{
    PyObject *co;
    Py_ssize_t nc;
    if (!PyArg_ParseTuple(args, "On:_gb_first_rows", &co, &nc)) return NULL;
    PyArrayObject *ca = gb_codes(co, nc);
    if (ca == NULL) return NULL;
    PyArrayObject *ra = gb_zeros(nc, NPY_INT64);
    if (ra == NULL) {
        Py_DECREF(ca);
        return NULL;
    }
    const int32_t *codes = PyArray_DATA(ca);
    int64_t *out = PyArray_DATA(ra);
    Py_ssize_t n = PyArray_DIM(ca, 0);
    Py_BEGIN_ALLOW_THREADS
    gb_first_rows_run(codes, n, nc, out);
    Py_END_ALLOW_THREADS
    Py_DECREF(ca);
    return (PyObject *)ra;
}

/* ------------------------------------------------------------------------ */
/* tally                                                                     */

/* The masks of _gb_tally: k row pointers into owned arrays. */
typedef struct {
    PyArrayObject *whole;        /* a 2-d (k, n) array, or NULL */
    PyObject *list;              /* else: a list of k 1-d arrays (owned) */
    const uint8_t **rows;        /* k pointers (PyMem_Malloc) */
    Py_ssize_t k, n;             /* n = -1 when k == 0 came from a sequence */
} gb_masks;

static void
gb_masks_clear(gb_masks *m)
{
    Py_XDECREF(m->whole);
    Py_XDECREF(m->list);
    PyMem_Free(m->rows);
}

/* Ownership: fills `m` with new references (release with gb_masks_clear, also after a
 * failure); returns 0, or -1 with TypeError (not bool) or ValueError (shape); borrows
 * `o`. */
static int
gb_masks_get(gb_masks *m, PyObject *o)
{
    memset(m, 0, sizeof(*m));
    m->n = -1;
    if (PyArray_Check(o)) {
        PyArrayObject *a = (PyArrayObject *)o;
        if (PyArray_TYPE(a) != NPY_BOOL) {
            PyErr_Format(PyExc_TypeError, "masks must be bool, got dtype %R", (PyObject *)PyArray_DESCR(a));
            return -1;
        }
        if (PyArray_NDIM(a) != 2) {
            PyErr_Format(PyExc_ValueError, "masks must be 2-dimensional (k, n), got %d dimensions",
                         PyArray_NDIM(a));
            return -1;
        }
        m->whole = (PyArrayObject *)PyArray_FROM_OTF(o, NPY_BOOL, NPY_ARRAY_IN_ARRAY);
        if (m->whole == NULL) return -1;
        m->k = PyArray_DIM(m->whole, 0);
        m->n = PyArray_DIM(m->whole, 1);
    }
    else {
        PyObject *fast = PySequence_Fast(o, "masks must be a 2-d bool array or a sequence of 1-d bool arrays");
        if (fast == NULL) return -1;
        m->k = PySequence_Fast_GET_SIZE(fast);
        m->list = PyList_New(m->k);
        if (m->list == NULL) { Py_DECREF(fast); return -1; }
        for (Py_ssize_t j = 0; j < m->k; j++) {
            PyObject *x = PySequence_Fast_GET_ITEM(fast, j);
            if (!PyArray_Check(x) || PyArray_TYPE((PyArrayObject *)x) != NPY_BOOL) {
                PyErr_Format(PyExc_TypeError, "mask %zd must be a bool NumPy array", j);
                Py_DECREF(fast);
                return -1;
            }
            PyArrayObject *a = gb_array(x, NPY_BOOL, "a mask");
            if (a == NULL) { Py_DECREF(fast); return -1; }
            PyList_SET_ITEM(m->list, j, (PyObject *)a);
            if (m->n >= 0 && PyArray_DIM(a, 0) != m->n) {
                PyErr_Format(PyExc_ValueError, "mask %zd has %zd rows, mask 0 has %zd", j,
                             (Py_ssize_t)PyArray_DIM(a, 0), m->n);
                Py_DECREF(fast);
                return -1;
            }
            m->n = PyArray_DIM(a, 0);
        }
        Py_DECREF(fast);
    }
    m->rows = PyMem_Malloc((size_t)(m->k > 0 ? m->k : 1) * sizeof(*m->rows));
    if (m->rows == NULL) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t j = 0; j < m->k; j++) {
        m->rows[j] = m->whole ? (const uint8_t *)PyArray_DATA(m->whole) + j * m->n
                              : PyArray_DATA((PyArrayObject *)PyList_GET_ITEM(m->list, j));
    }
    return 0;
}

/* The items argument of _gb_tally as a gb_list pointing into the column `o`; returns
 * 0, or -1 with TypeError / ValueError.
 * Ownership: borrows `o` (the caller keeps it alive while *L is used). */
static int
gb_items_get(PyObject *o, Py_ssize_t n, gb_list *L)
{
    if (!ts_is_column(o) || ((ts_column *)o)->type != TS_LIST) {
        PyErr_SetString(PyExc_TypeError, "items must be a list<category> Column");
        return -1;
    }
    ts_column *c = (ts_column *)o;
    if (c->length != n) {
        PyErr_Format(PyExc_ValueError, "items has %zd rows, the masks %zd", c->length, n);
        return -1;
    }
    L->offsets = ts_col_offsets(c);
    L->items = (const int32_t *)c->values.data;
    L->validity = c->null_count ? (const uint8_t *)c->validity.data : NULL;
    L->voffset = c->offset;
    L->nitems = c->dictionary ? c->dictionary->length : 0;
    return 0;
}

/* Threads for a tally of k masks over n rows: every core (at most GB_MAXTHREADS) from
 * GB_THREAD_ROWS mask rows on. */
static int
gb_tally_threads(Py_ssize_t k, Py_ssize_t n)
{
    if ((double)k * (double)n < (double)GB_THREAD_ROWS) return 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > GB_MAXTHREADS ? GB_MAXTHREADS : (int)cpus;
}

/* _gb_tally(masks, codes=None, ngroups=1, items=None, row_counts=False)
 *   -> int64 (k, ngroups[, nitems (+ 1)])
 * counts[j, g]: rows i with masks[j, i] and codes[i] == g (codes None: every row in
 * group 0; -1: in no group); with a list<category> Column `items`, counts[j, g, c]
 * counts row i once per item c of its list (null lists count nothing), and with
 * row_counts counts[j, g, nitems] counts each row once, whatever its list.
 * Ownership: returns a new reference (NULL with an exception); borrows all arguments. */
static PyObject *
gb_tally(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"masks", "codes", "ngroups", "items", "row_counts", NULL};
    PyObject *mo, *co = Py_None, *io = Py_None;
    Py_ssize_t ngroups = 1;
    int row_counts = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OnOp:_gb_tally", kwlist, &mo, &co, &ngroups, &io,
                                     &row_counts))
        return NULL;
    if (row_counts && io == Py_None) {
        PyErr_SetString(PyExc_ValueError, "row_counts=True needs items (a list<category> Column)");
        return NULL;
    }
    gb_masks m;
    PyArrayObject *ca = NULL, *oa = NULL;
    PyObject *res = NULL;
    gb_list L;
    memset(&L, 0, sizeof(L));
    if (gb_masks_get(&m, mo) < 0) goto error;
    if (co == Py_None && ngroups != 1) {
        PyErr_Format(PyExc_ValueError, "without codes there is one group, not ngroups=%zd", ngroups);
        goto error;
    }
    if (ngroups < 0 || ngroups >= INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "ngroups %zd is out of range", ngroups);
        goto error;
    }
    if (co != Py_None) {
        if (!PyArray_Check(co) || PyArray_TYPE((PyArrayObject *)co) != NPY_INT32) {
            PyErr_SetString(PyExc_TypeError, "codes must be an int32 NumPy array");
            goto error;
        }
        ca = gb_codes_unchecked(co, ngroups);
        if (ca == NULL) goto error;
        if (m.n < 0) m.n = PyArray_DIM(ca, 0);
        if (PyArray_DIM(ca, 0) != m.n) {
            PyErr_Format(PyExc_ValueError, "codes have %zd rows, the masks %zd",
                         (Py_ssize_t)PyArray_DIM(ca, 0), m.n);
            goto error;
        }
    }
    if (m.n < 0) m.n = io != Py_None && ts_is_column(io) ? ((ts_column *)io)->length : 0;
    if (io != Py_None && gb_items_get(io, m.n, &L) < 0) goto error;
    L.row_counts = row_counts;
    npy_intp dims[3] = {m.k, ngroups, io != Py_None ? (npy_intp)L.nitems + row_counts : 1};
    oa = (PyArrayObject *)PyArray_ZEROS(io != Py_None ? 3 : 2, dims, NPY_INT64, 0);
    if (oa == NULL) goto error;
    gb_error err = {0, -1, 0};
    const int32_t *codes = ca ? PyArray_DATA(ca) : NULL;
    int64_t *out = PyArray_DATA(oa);
    int nthreads = gb_tally_threads(m.k, m.n), rc;
    Py_BEGIN_ALLOW_THREADS
    rc = gb_tally_run(m.rows, m.k, m.n, codes, ngroups, io != Py_None ? &L : NULL, nthreads, out, &err);
    Py_END_ALLOW_THREADS
    if (rc == GB_ECODE) {
        gb_raise_code(err.value, (Py_ssize_t)err.row, ngroups);
        goto error;
    }
    if (rc == GB_EITEM) {
        PyErr_Format(PyExc_ValueError, "list item %zd is outside the categories", (Py_ssize_t)err.row);
        goto error;
    }
    if (rc < 0) {
        PyErr_NoMemory();
        goto error;
    }
    res = (PyObject *)oa;
    oa = NULL;
error:
    gb_masks_clear(&m);
    Py_XDECREF(ca);
    Py_XDECREF(oa);
    return res;
}

PyMethodDef gb_agg_functions[] = {
    {"_gb_agg", gb_agg, METH_VARARGS,
     "_gb_agg(codes, ncodes, op, values, valid, nthreads, mean=None) -> (result, count, rows, flag)"},
    {"_gb_fsum_many", gb_fsum_many, METH_VARARGS,
     "_gb_fsum_many(codes, ncodes, values, valids, nthreads) -> (sums, counts, rows, inf_flags)"},
    {"_gb_keyed_sums", gb_keyed_sums, METH_VARARGS,
     "_gb_keyed_sums(keys, values, valids, nthreads) -> (origin, ncodes, sums, counts, rows, inf_flags) or None"},
    {"_gb_quantile", gb_quantile, METH_VARARGS,
     "_gb_quantile(codes, ncodes, values, valid, qs, nthreads, median, moments=False) -> (result, count[, sum, m2], rows)"},
    {"_gb_first_rows", gb_first_rows, METH_VARARGS,
     "_gb_first_rows(codes, ncodes) -> first row of each code (-1 if none)"},
    {"_gb_tally", (PyCFunction)(void (*)(void))gb_tally, METH_VARARGS | METH_KEYWORDS,
     "_gb_tally(masks, codes=None, ngroups=1, items=None, row_counts=False) -> int64 counts (k, ngroups[, nitems (+ 1)])"},
    {NULL},
};
