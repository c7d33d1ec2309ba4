/*
 * column.c -- the Column type: construction with validation, zero-copy NumPy views,
 * and the take kernel every row-selecting operation is built on.
 */
#include "core/ts_core.h"
#include "util/utf8.h"

#include <stdarg.h>

const char *const ts_type_names[TS_NTYPES] = {
    "bool", "int32", "int64", "float64", "date", "category", "string", "list<category>",
};

PyTypeObject *ts_column_class = &ts_ColumnType;

int
ts_type_from_name(const char *name)
{
    for (int t = 0; t < TS_NTYPES; t++) {
        if (strcmp(name, ts_type_names[t]) == 0) {
            return t;
        }
    }
    if (strcmp(name, "list") == 0) {
        return TS_LIST;
    }
    PyErr_Format(PyExc_ValueError,
                 "unknown column type '%s'; expected one of bool, int32, int64, float64, "
                 "date, category, string, list<category>", name);
    return -1;
}

Py_ssize_t
ts_value_itemsize(ts_type t)
{
    switch (t) {
    case TS_BOOL: return 1;
    case TS_INT32: case TS_DATE: case TS_CATEGORY: case TS_LIST: return 4;
    case TS_INT64: case TS_FLOAT64: return 8;
    default: return 1;  /* string bytes */
    }
}

/* NumPy type number of the values buffer. */
static int
values_typenum(ts_type t)
{
    switch (t) {
    case TS_BOOL: return NPY_BOOL;
    case TS_INT32: case TS_DATE: case TS_CATEGORY: case TS_LIST: return NPY_INT32;
    case TS_INT64: return NPY_INT64;
    case TS_FLOAT64: return NPY_FLOAT64;
    default: return NPY_UINT8;
    }
}

/* Returns NULL with the exception set; the message is prefixed with the column. */
PyObject *
ts_error_col(PyObject *exc, PyObject *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (msg == NULL) {
        return NULL;
    }
    if (name != NULL && name != Py_None) {
        PyErr_Format(exc, "column %R: %U", name, msg);
    }
    else {
        PyErr_SetObject(exc, msg);
    }
    Py_DECREF(msg);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* buffers                                                                   */

int
ts_buffer_alloc(ts_buffer *buf, Py_ssize_t nbytes)
{
    npy_intp dims[1] = {nbytes > 0 ? nbytes : 1};
    PyObject *arr = PyArray_ZEROS(1, dims, NPY_UINT8, 0);
    if (arr == NULL) {
        buf->owner = NULL;
        buf->data = NULL;
        return -1;
    }
    buf->owner = arr;
    buf->data = PyArray_DATA((PyArrayObject *)arr);
    return 0;
}

static void
raw_capsule_free(PyObject *capsule)
{
    PyMem_RawFree(PyCapsule_GetPointer(capsule, "traffickstats.buffer"));
}

int
ts_buffer_adopt(ts_buffer *buf, void *data)
{
    PyObject *cap = PyCapsule_New(data, "traffickstats.buffer", raw_capsule_free);
    if (cap == NULL) {
        PyMem_RawFree(data);
        buf->owner = NULL;
        buf->data = NULL;
        return -1;
    }
    buf->owner = cap;
    buf->data = data;
    return 0;
}

/* Borrows an array as a buffer: new reference to arr kept as the owner. */
static void
buffer_from_array(ts_buffer *buf, PyArrayObject *arr)
{
    Py_INCREF(arr);
    buf->owner = (PyObject *)arr;
    buf->data = PyArray_DATA(arr);
}

/* ------------------------------------------------------------------------ */
/* column object                                                             */

ts_column *
ts_column_alloc(ts_type type)
{
    ts_column *col = (ts_column *)ts_column_class->tp_alloc(ts_column_class, 0);
    if (col == NULL) {
        return NULL;
    }
    col->type = type;
    col->null_count = 0;
    return col;
}

static void
column_dealloc(ts_column *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    ts_buffer_clear(&self->validity);
    ts_buffer_clear(&self->values);
    ts_buffer_clear(&self->offsets);
    Py_CLEAR(self->dictionary);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
column_traverse(ts_column *self, visitproc visit, void *arg)
{
    Py_VISIT(self->validity.owner);
    Py_VISIT(self->values.owner);
    Py_VISIT(self->offsets.owner);
    Py_VISIT(self->dictionary);
    return 0;
}

/* Counts the zero bits in [start, start+n) of a bitmap. */
static Py_ssize_t
count_nulls(const uint8_t *bm, Py_ssize_t start, Py_ssize_t n)
{
    Py_ssize_t valid = 0, i = 0;
    /* leading bits up to a byte boundary */
    for (; i < n && ((start + i) & 7); i++) {
        valid += ts_bit_get(bm, start + i);
    }
    const uint8_t *p = bm + ((start + i) >> 3);
    for (; i + 8 <= n; i += 8) {
        valid += __builtin_popcount(*p++);
    }
    for (; i < n; i++) {
        valid += ts_bit_get(bm, start + i);
    }
    return n - valid;
}

ts_column *
ts_column_finish(ts_column *col)
{
    if (col->validity.data != NULL) {
        if (col->null_count < 0) {
            col->null_count = count_nulls(col->validity.data, col->offset, col->length);
        }
        if (col->null_count == 0) {
            ts_buffer_clear(&col->validity);
        }
    }
    else {
        col->null_count = 0;
    }
    return col;
}

ts_column *
ts_column_slice(ts_column *col, Py_ssize_t start, Py_ssize_t len)
{
    ts_column *out = ts_column_alloc(col->type);
    if (out == NULL) {
        return NULL;
    }
    out->length = len;
    out->offset = col->offset + start;
    ts_buffer_share(&out->values, &col->values);
    ts_buffer_share(&out->offsets, &col->offsets);
    ts_buffer_share(&out->validity, &col->validity);
    out->dictionary = col->dictionary;
    Py_XINCREF(out->dictionary);
    if (col->null_count == 0) {
        out->null_count = 0;
    }
    else if (len == col->length) {
        out->null_count = col->null_count;
    }
    else {
        out->null_count = -1;
    }
    return ts_column_finish(out);
}

/* ------------------------------------------------------------------------ */
/* take                                                                      */

/* Gathers fixed-width values; called without the GIL. */
static void
gather_fixed(char *dst, const char *src, Py_ssize_t itemsize, const int64_t *idx, Py_ssize_t n)
{
    switch (itemsize) {
    case 1:
        for (Py_ssize_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = ((const uint8_t *)src)[idx[i]];
        break;
    case 4:
        for (Py_ssize_t i = 0; i < n; i++) ((int32_t *)dst)[i] = ((const int32_t *)src)[idx[i]];
        break;
    default:
        for (Py_ssize_t i = 0; i < n; i++) ((int64_t *)dst)[i] = ((const int64_t *)src)[idx[i]];
        break;
    }
}

/* Gathers validity bits into a fresh (zeroed) bitmap; returns the null count.
 * Called without the GIL. */
static Py_ssize_t
gather_bits(uint8_t *dst, const uint8_t *src, Py_ssize_t src_off, const int64_t *idx, Py_ssize_t n)
{
    Py_ssize_t nulls = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ts_bit_get(src, src_off + idx[i])) {
            ts_bit_set(dst, i);
        }
        else {
            nulls++;
        }
    }
    return nulls;
}

ts_column *
ts_column_take(ts_column *col, const int64_t *idx, Py_ssize_t n)
{
    ts_column *out = ts_column_alloc(col->type);
    if (out == NULL) {
        return NULL;
    }
    out->length = n;
    out->dictionary = col->dictionary;
    Py_XINCREF(out->dictionary);
    int nogil = n > TS_NOGIL_THRESHOLD;
    PyThreadState *ts = NULL;

    if (col->validity.data != NULL) {
        if (ts_buffer_alloc(&out->validity, (n + 7) / 8) < 0) {
            goto error;
        }
    }
    if (col->type == TS_STRING || col->type == TS_LIST) {
        Py_ssize_t isz = ts_value_itemsize(col->type);
        const int32_t *so = ts_col_offsets(col) - col->offset;  /* absolute */
        if (ts_buffer_alloc(&out->offsets, (n + 1) * (Py_ssize_t)sizeof(int32_t)) < 0) {
            goto error;
        }
        int32_t *oo = out->offsets.data;
        int64_t total = 0;
        int overflow = 0;
        if (nogil) ts = PyEval_SaveThread();
        oo[0] = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            int64_t j = col->offset + idx[i];
            total += so[j + 1] - so[j];
            if (total > INT32_MAX) {
                overflow = 1;
                break;
            }
            oo[i + 1] = (int32_t)total;
        }
        if (ts) { PyEval_RestoreThread(ts); ts = NULL; }
        if (overflow) {
            PyErr_SetString(PyExc_OverflowError,
                            "result would hold more than 2**31-1 string bytes or list items");
            goto error;
        }
        if (ts_buffer_alloc(&out->values, (Py_ssize_t)total * isz) < 0) {
            goto error;
        }
        char *dst = out->values.data;
        const char *src = col->values.data;
        if (nogil) ts = PyEval_SaveThread();
        for (Py_ssize_t i = 0; i < n; i++) {
            int64_t j = col->offset + idx[i];
            memcpy(dst + (Py_ssize_t)oo[i] * isz, src + (Py_ssize_t)so[j] * isz,
                   (size_t)(so[j + 1] - so[j]) * (size_t)isz);
        }
    }
    else {
        Py_ssize_t isz = ts_value_itemsize(col->type);
        if (ts_buffer_alloc(&out->values, n * isz) < 0) {
            goto error;
        }
        if (nogil) ts = PyEval_SaveThread();
        gather_fixed(out->values.data, ts_col_values(col), isz, idx, n);
    }
    if (col->validity.data != NULL) {
        if (nogil && ts == NULL) ts = PyEval_SaveThread();
        out->null_count = gather_bits(out->validity.data, col->validity.data, col->offset, idx, n);
    }
    if (ts) { PyEval_RestoreThread(ts); ts = NULL; }
    return ts_column_finish(out);

error:
    Py_DECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* construction from arrays                                                  */

static const char *
typenum_name(int typenum)
{
    switch (typenum) {
    case NPY_BOOL: return "bool";
    case NPY_INT32: return "int32";
    case NPY_INT64: return "int64";
    case NPY_FLOAT64: return "float64";
    default: return "uint8";
    }
}

/* New reference: `obj` as a 1-D aligned, contiguous, native-endian array of typenum,
 * converted only when needed and only by a safe cast. */
static PyArrayObject *
as_array(PyObject *obj, int typenum, PyObject *name, const char *what)
{
    PyArray_Descr *descr = PyArray_DescrFromType(typenum);  /* new ref, stolen below */
    if (descr == NULL) {
        return NULL;
    }
    if (PyArray_Check(obj)) {
        PyArray_Descr *have = PyArray_DESCR((PyArrayObject *)obj);
        if (!PyArray_CanCastTypeTo(have, descr, NPY_SAFE_CASTING)) {
            PyObject *s = PyObject_Str((PyObject *)have);
            Py_DECREF(descr);
            if (s == NULL) return NULL;
            ts_error_col(PyExc_TypeError, name, "%s has dtype %U, which cannot be safely cast to %s",
                         what, s, typenum_name(typenum));
            Py_DECREF(s);
            return NULL;
        }
    }
    PyArrayObject *arr = (PyArrayObject *)PyArray_FromAny(
        obj, descr, 1, 1, NPY_ARRAY_ALIGNED | NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_NOTSWAPPED, NULL);
    if (arr == NULL) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        ts_error_col(type && PyErr_GivenExceptionMatches(type, PyExc_TypeError) ? PyExc_TypeError : PyExc_ValueError,
                     name, "%s: %S", what, value ? value : Py_None);
        Py_XDECREF(type); Py_XDECREF(value); Py_XDECREF(tb);
        return NULL;
    }
    return arr;
}

/* Packs a bool mask into a fresh bitmap buffer; returns the null count or -1. */
static Py_ssize_t
pack_mask(ts_buffer *buf, const npy_bool *mask, Py_ssize_t n)
{
    if (ts_buffer_alloc(buf, (n + 7) / 8) < 0) {
        return -1;
    }
    uint8_t *bm = buf->data;
    Py_ssize_t nulls = 0;
    PyThreadState *ts = n > TS_NOGIL_THRESHOLD ? PyEval_SaveThread() : NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (mask[i]) {
            ts_bit_set(bm, i);
        }
        else {
            nulls++;
        }
    }
    if (ts) PyEval_RestoreThread(ts);
    return nulls;
}

/* New reference: the dictionary column for `dictionary` (a string column without
 * nulls, or a sequence of unique str). */
static ts_column *
as_dictionary(PyObject *dictionary, PyObject *name)
{
    if (ts_is_column(dictionary)) {
        ts_column *d = (ts_column *)dictionary;
        if (d->type != TS_STRING || d->null_count != 0) {
            ts_error_col(PyExc_TypeError, name, "dictionary must be a string column without nulls");
            return NULL;
        }
        /* unique labels, as for a sequence of categories */
        PyObject *labels = ts_dictionary_labels(d);
        if (labels == NULL) return NULL;
        PyObject *set = PySet_New(labels);
        Py_ssize_t distinct = set ? PySet_GET_SIZE(set) : -1;
        Py_XDECREF(set);
        Py_DECREF(labels);
        if (distinct < 0) return NULL;
        if (distinct != d->length) {
            ts_error_col(PyExc_ValueError, name, "categories must be unique; the dictionary column repeats a label");
            return NULL;
        }
        Py_INCREF(d);
        return d;
    }
    ts_column *d = ts_string_column_from_strs(dictionary, 1, "categories");
    if (d == NULL && name != NULL && name != Py_None) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        ts_error_col(type ? type : PyExc_ValueError, name, "%S", value ? value : Py_None);
        Py_XDECREF(type); Py_XDECREF(value); Py_XDECREF(tb);
    }
    return d;
}

/* First row i whose offsets decrease (o[i+1] < o[i]), or -1.  No GIL needed. */
static Py_ssize_t
first_decrease(const int32_t *o, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (o[i + 1] < o[i]) return i;
    }
    return -1;
}

/* First row i >= 1 whose start offset falls inside a UTF-8 character (on a
 * continuation byte), or -1.  No GIL needed. */
static Py_ssize_t
first_split_char(const uint8_t *bytes, const int32_t *o, Py_ssize_t n)
{
    for (Py_ssize_t i = 1; i < n; i++) {
        if (o[i] < o[n] && (bytes[o[i]] & 0xC0) == 0x80) return i;
    }
    return -1;
}

/* Checks category codes against [-1, ndict): returns the first bad row or -1, and
 * counts the nulls (code -1, or mask entry false); *needs_fix is set when a masked-out
 * row holds a code other than -1.  No GIL needed. */
static Py_ssize_t
scan_codes(const int32_t *c, const npy_bool *m, Py_ssize_t n, Py_ssize_t ndict, Py_ssize_t *nulls, int *needs_fix)
{
    Py_ssize_t nn = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (c[i] < -1 || c[i] >= ndict) return i;
        if (c[i] == -1) {
            nn++;
        }
        else if (m && !m[i]) {
            nn++;
            *needs_fix = 1;
        }
    }
    *nulls = nn;
    return -1;
}

/* make_column(name, type, values, valid=None, offsets=None, dictionary=None) */
static PyObject *
make_column(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", "type", "values", "valid", "offsets", "dictionary", NULL};
    PyObject *name, *values, *valid = Py_None, *offsets = Py_None, *dictionary = Py_None;
    const char *tname;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OsO|OOO:make_column", kwlist, &name, &tname,
                                     &values, &valid, &offsets, &dictionary)) {
        return NULL;
    }
    int type = ts_type_from_name(tname);
    if (type < 0) {
        return NULL;
    }
    PyArrayObject *varr = NULL, *marr = NULL, *oarr = NULL;
    ts_column *col = NULL;

    varr = as_array(values, values_typenum(type), name, "values");
    if (varr == NULL) goto error;
    Py_ssize_t nvals = PyArray_DIM(varr, 0);
    Py_ssize_t n = nvals;

    if (type == TS_STRING || type == TS_LIST) {
        if (offsets == Py_None) {
            ts_error_col(PyExc_ValueError, name, "a %s column needs offsets", ts_type_names[type]);
            goto error;
        }
        oarr = as_array(offsets, NPY_INT32, name, "offsets");
        if (oarr == NULL) goto error;
        if (PyArray_DIM(oarr, 0) < 1) {
            ts_error_col(PyExc_ValueError, name, "offsets must hold at least one element");
            goto error;
        }
        n = PyArray_DIM(oarr, 0) - 1;
        const int32_t *o = PyArray_DATA(oarr);
        if (o[0] < 0 || o[n] > nvals) {
            ts_error_col(PyExc_ValueError, name, "offsets point outside the values buffer (%zd elements)", nvals);
            goto error;
        }
        Py_ssize_t bad;
        TS_MAYBE_NOGIL(n, bad = first_decrease(o, n));
        if (bad >= 0) {
            ts_error_col(PyExc_ValueError, name, "offsets decrease at row %zd", bad);
            goto error;
        }
        if (type == TS_STRING) {
            const uint8_t *bytes = PyArray_DATA(varr);
            int ok;
            int64_t at = 0;
            TS_MAYBE_NOGIL(o[n] - o[0], ok = ts_utf8_valid(bytes + o[0], (size_t)(o[n] - o[0]), &at));
            if (!ok) {
                ts_error_col(PyExc_ValueError, name, "invalid UTF-8 at byte %zd", (Py_ssize_t)at + o[0]);
                goto error;
            }
            /* every row must be UTF-8 on its own: no row may start inside a character */
            TS_MAYBE_NOGIL(n, bad = first_split_char(bytes, o, n));
            if (bad >= 0) {
                ts_error_col(PyExc_ValueError, name, "row %zd starts inside a UTF-8 character (byte %d)",
                             bad, (int)o[bad]);
                goto error;
            }
        }
    }
    else if (offsets != Py_None) {
        ts_error_col(PyExc_ValueError, name, "offsets are only for string and list columns");
        goto error;
    }

    if (type == TS_CATEGORY || type == TS_LIST) {
        if (dictionary == Py_None) {
            ts_error_col(PyExc_ValueError, name, "a %s column needs categories", ts_type_names[type]);
            goto error;
        }
    }
    else if (dictionary != Py_None) {
        ts_error_col(PyExc_ValueError, name, "categories are only for category and list columns");
        goto error;
    }

    col = ts_column_alloc(type);
    if (col == NULL) goto error;
    col->length = n;

    if (dictionary != Py_None) {
        col->dictionary = as_dictionary(dictionary, name);
        if (col->dictionary == NULL) goto error;
    }

    if (valid != Py_None) {
        marr = as_array(valid, NPY_BOOL, name, "validity mask");
        if (marr == NULL) goto error;
        if (PyArray_DIM(marr, 0) != n) {
            ts_error_col(PyExc_ValueError, name, "validity mask has %zd elements, expected %zd",
                         (Py_ssize_t)PyArray_DIM(marr, 0), n);
            goto error;
        }
    }

    if (type == TS_CATEGORY) {
        /* codes must lie in [-1, ndict); -1 or an invalid mask entry is null, and every
         * null slot holds -1 (so .codes reads like pandas). */
        Py_ssize_t ndict = col->dictionary->length;
        const int32_t *c = PyArray_DATA(varr);
        const npy_bool *m = marr ? PyArray_DATA(marr) : NULL;
        int needs_fix = 0;
        Py_ssize_t nulls = 0, bad;
        TS_MAYBE_NOGIL(n, bad = scan_codes(c, m, n, ndict, &nulls, &needs_fix));
        if (bad >= 0) {
            ts_error_col(PyExc_ValueError, name,
                         "code %d at row %zd is outside the %zd categories", (int)c[bad], bad, ndict);
            goto error;
        }
        if (needs_fix) {
            PyArrayObject *fixed = (PyArrayObject *)PyArray_NewCopy(varr, NPY_CORDER);
            if (fixed == NULL) goto error;
            Py_SETREF(varr, fixed);
            int32_t *fc = PyArray_DATA(varr);
            for (Py_ssize_t i = 0; i < n; i++) {
                if (!m[i]) fc[i] = -1;
            }
        }
        if (nulls > 0) {
            if (ts_buffer_alloc(&col->validity, (n + 7) / 8) < 0) goto error;
            const int32_t *fc = PyArray_DATA(varr);
            for (Py_ssize_t i = 0; i < n; i++) {
                if (fc[i] != -1) ts_bit_set(col->validity.data, i);
            }
        }
        col->null_count = nulls;
    }
    else {
        if (type == TS_LIST) {
            Py_ssize_t ndict = col->dictionary->length;
            const int32_t *o = PyArray_DATA(oarr);
            const int32_t *c = PyArray_DATA(varr);
            Py_ssize_t nulls_unused = 0, bad;
            int fix_unused = 0;
            /* list items are never null: scanning them as codes without a mask, -1 is bad too */
            TS_MAYBE_NOGIL(o[n] - o[0], bad = scan_codes(c + o[0], NULL, o[n] - o[0], ndict, &nulls_unused, &fix_unused));
            if (bad < 0 && nulls_unused > 0) {
                for (bad = 0; c[o[0] + bad] != -1; bad++) {
                }
            }
            if (bad >= 0) {
                ts_error_col(PyExc_ValueError, name,
                             "list item code %d is outside the %zd categories", (int)c[o[0] + bad], ndict);
                goto error;
            }
        }
        else if (type == TS_BOOL) {
            const uint8_t *b = PyArray_DATA(varr);
            Py_ssize_t bad = -1;
            TS_MAYBE_NOGIL(n, for (Py_ssize_t i = 0; i < n; i++) { if (b[i] > 1) { bad = i; break; } });
            if (bad >= 0) {
                ts_error_col(PyExc_ValueError, name, "bool values must be 0 or 1 (row %zd holds %d)", bad, (int)b[bad]);
                goto error;
            }
        }
        if (marr != NULL) {
            Py_ssize_t nulls = pack_mask(&col->validity, PyArray_DATA(marr), n);
            if (nulls < 0) goto error;
            col->null_count = nulls;
        }
    }
    buffer_from_array(&col->values, varr);
    if (oarr) buffer_from_array(&col->offsets, oarr);
    Py_DECREF(varr);
    Py_XDECREF(marr);
    Py_XDECREF(oarr);
    return (PyObject *)ts_column_finish(col);

error:
    Py_XDECREF(varr);
    Py_XDECREF(marr);
    Py_XDECREF(oarr);
    Py_XDECREF(col);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* construction from Python objects                                          */

/* A growable byte buffer built with PyMem_RawRealloc. */
typedef struct {
    char *data;
    Py_ssize_t len, cap;
} bytebuf;

static int
bytebuf_reserve(bytebuf *b, Py_ssize_t extra)
{
    if (b->len + extra <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) {
        if (cap > PY_SSIZE_T_MAX / 2) { PyErr_NoMemory(); return -1; }
        cap *= 2;
    }
    char *p = PyMem_RawRealloc(b->data, (size_t)cap);
    if (p == NULL) { PyErr_NoMemory(); return -1; }
    b->data = p;
    b->cap = cap;
    return 0;
}

static int
bytebuf_append(bytebuf *b, const void *src, Py_ssize_t n)
{
    if (n == 0) return 0;  /* an empty buffer has no data pointer to copy into */
    if (bytebuf_reserve(b, n) < 0) return -1;
    memcpy(b->data + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

/* Is item a null: None, a float NaN, or one of the sentinels (identity)? */
static int
is_null(PyObject *item, PyObject *sentinels)
{
    if (item == Py_None) return 1;
    if (PyFloat_Check(item) && Py_IS_NAN(PyFloat_AS_DOUBLE(item))) return 1;
    if (sentinels != NULL) {
        Py_ssize_t k = PyTuple_GET_SIZE(sentinels);
        for (Py_ssize_t j = 0; j < k; j++) {
            if (item == PyTuple_GET_ITEM(sentinels, j)) return 1;
        }
    }
    return 0;
}

/* Finishes a variable-width column from raw buffers (ownership of `vals`, `offs`
 * passes here; `valid` bitmap buffer is stolen too). New reference or NULL. */
static ts_column *
column_from_raw(ts_type type, Py_ssize_t n, bytebuf *vals, bytebuf *offs, ts_buffer *valid,
                Py_ssize_t nulls, ts_column *dictionary)
{
    ts_column *col = ts_column_alloc(type);
    if (col == NULL) {
        PyMem_RawFree(vals->data);
        PyMem_RawFree(offs->data);
        ts_buffer_clear(valid);
        return NULL;
    }
    col->length = n;
    col->validity = *valid;
    valid->owner = NULL;
    valid->data = NULL;
    col->null_count = nulls;
    col->dictionary = dictionary;
    Py_XINCREF(dictionary);
    if (vals->data == NULL && bytebuf_reserve(vals, 1) < 0) {
        PyMem_RawFree(offs->data);
        Py_DECREF(col);
        return NULL;
    }
    int r1 = ts_buffer_adopt(&col->values, vals->data);
    int r2 = ts_buffer_adopt(&col->offsets, offs->data);
    vals->data = offs->data = NULL;
    if (r1 < 0 || r2 < 0) {
        Py_DECREF(col);
        return NULL;
    }
    return ts_column_finish(col);
}

ts_column *
ts_string_column_from_strs(PyObject *seq, int unique, const char *what)
{
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of str");
    if (fast == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    bytebuf vals = {0}, offs = {0};
    ts_buffer none = {0};
    PyObject *seen = unique ? PySet_New(NULL) : NULL;
    if (unique && seen == NULL) goto error;
    if (bytebuf_reserve(&offs, (n + 1) * (Py_ssize_t)sizeof(int32_t)) < 0) goto error;
    ((int32_t *)offs.data)[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        if (!PyUnicode_Check(item)) {
            PyErr_Format(PyExc_TypeError, "%s must be str, got %.100s at position %zd",
                         what, Py_TYPE(item)->tp_name, i);
            goto error;
        }
        if (seen) {
            int has = PySet_Contains(seen, item);
            if (has < 0 || (has == 0 && PySet_Add(seen, item) < 0)) goto error;
            if (has) {
                PyErr_Format(PyExc_ValueError, "%s must be unique; %R appears twice", what, item);
                goto error;
            }
        }
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(item, &len);
        if (s == NULL || bytebuf_append(&vals, s, len) < 0) goto error;
        if (vals.len > INT32_MAX) {
            PyErr_Format(PyExc_OverflowError, "%s hold more than 2**31-1 bytes", what);
            goto error;
        }
        ((int32_t *)offs.data)[i + 1] = (int32_t)vals.len;
    }
    Py_XDECREF(seen);
    Py_DECREF(fast);
    return column_from_raw(TS_STRING, n, &vals, &offs, &none, 0, NULL);

error:
    Py_XDECREF(seen);
    Py_DECREF(fast);
    PyMem_RawFree(vals.data);
    PyMem_RawFree(offs.data);
    return NULL;
}

/* Dictionary encoding state for category and list construction. */
typedef struct {
    PyObject *map;     /* dict str -> int code (first-appearance order) */
    PyObject *labels;  /* list of str in code order */
} encoder;

/* Returns the code of `s` (a str), adding it when new; -1 on error. */
static int32_t
encode(encoder *e, PyObject *s)
{
    PyObject *code = PyDict_GetItemWithError(e->map, s);  /* borrowed */
    if (code != NULL) {
        return (int32_t)PyLong_AsLong(code);
    }
    if (PyErr_Occurred()) return -1;
    Py_ssize_t k = PyList_GET_SIZE(e->labels);
    if (k >= INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "more than 2**31-1 categories");
        return -1;
    }
    PyObject *v = PyLong_FromSsize_t(k);
    if (v == NULL) return -1;
    int r = PyDict_SetItem(e->map, s, v);
    Py_DECREF(v);
    if (r < 0 || PyList_Append(e->labels, s) < 0) return -1;
    return (int32_t)k;
}

/* Sorts the labels and rewrites the n codes in place so that the dictionary is in
 * sorted order (as pandas orders inferred categories).  Returns the new dictionary
 * column (new reference) or NULL. */
static ts_column *
encoder_finish(encoder *e, int32_t *codes, Py_ssize_t n)
{
    Py_ssize_t k = PyList_GET_SIZE(e->labels);
    PyObject *sorted = PyList_GetSlice(e->labels, 0, k);
    if (sorted == NULL) return NULL;
    if (PyList_Sort(sorted) < 0) { Py_DECREF(sorted); return NULL; }
    int32_t *remap = PyMem_RawMalloc((size_t)(k > 0 ? k : 1) * sizeof(int32_t));
    if (remap == NULL) { Py_DECREF(sorted); PyErr_NoMemory(); return NULL; }
    for (Py_ssize_t j = 0; j < k; j++) {
        PyObject *old = PyDict_GetItemWithError(e->map, PyList_GET_ITEM(sorted, j));
        if (old == NULL) { PyMem_RawFree(remap); Py_DECREF(sorted); return NULL; }
        remap[PyLong_AsLong(old)] = (int32_t)j;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (codes[i] >= 0) codes[i] = remap[codes[i]];
    }
    PyMem_RawFree(remap);
    ts_column *dict = ts_string_column_from_strs(sorted, 0, "categories");
    Py_DECREF(sorted);
    return dict;
}

/* Fails with a TypeError naming the column, row and the offending item. */
static PyObject *
bad_item(PyObject *name, Py_ssize_t row, const char *expected, PyObject *item)
{
    return ts_error_col(PyExc_TypeError, name, "row %zd: expected %s or a null, got %.100s %R",
                        row, expected, Py_TYPE(item)->tp_name, item);
}

/* from_objects(name, type, seq, nulls=()) -> Column of type string, category or
 * list<category> from Python objects; nulls are None, NaN and the given sentinels. */
static PyObject *
from_objects(PyObject *module, PyObject *args)
{
    PyObject *name, *seq, *sentinels = NULL;
    const char *tname;
    if (!PyArg_ParseTuple(args, "OsO|O!:from_objects", &name, &tname, &seq, &PyTuple_Type, &sentinels)) {
        return NULL;
    }
    int type = ts_type_from_name(tname);
    if (type < 0) return NULL;
    if (type != TS_STRING && type != TS_CATEGORY && type != TS_LIST) {
        return ts_error_col(PyExc_ValueError, name, "from_objects builds string, category or list columns");
    }
    PyObject *fast = PySequence_Fast(seq, "expected a sequence");
    if (fast == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    bytebuf vals = {0}, offs = {0};
    ts_buffer valid = {0};
    encoder enc = {NULL, NULL};
    ts_column *dict = NULL;
    Py_ssize_t nulls = 0;

    if (ts_buffer_alloc(&valid, (n + 7) / 8) < 0) goto error;
    if (type != TS_CATEGORY) {
        if (bytebuf_reserve(&offs, (n + 1) * (Py_ssize_t)sizeof(int32_t)) < 0) goto error;
        ((int32_t *)offs.data)[0] = 0;
    }
    else if (bytebuf_reserve(&vals, (n > 0 ? n : 1) * (Py_ssize_t)sizeof(int32_t)) < 0) {
        goto error;
    }
    if (type != TS_STRING) {
        enc.map = PyDict_New();
        enc.labels = PyList_New(0);
        if (enc.map == NULL || enc.labels == NULL) goto error;
    }

    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        int null = is_null(item, sentinels);
        if (null) nulls++; else ts_bit_set(valid.data, i);
        if (type == TS_STRING) {
            if (!null) {
                if (!PyUnicode_Check(item)) { bad_item(name, i, "str", item); goto error; }
                Py_ssize_t len;
                const char *s = PyUnicode_AsUTF8AndSize(item, &len);
                if (s == NULL || bytebuf_append(&vals, s, len) < 0) goto error;
                if (vals.len > INT32_MAX) {
                    ts_error_col(PyExc_OverflowError, name, "more than 2**31-1 bytes of text");
                    goto error;
                }
            }
            ((int32_t *)offs.data)[i + 1] = (int32_t)vals.len;
        }
        else if (type == TS_CATEGORY) {
            int32_t code = -1;
            if (!null) {
                if (!PyUnicode_Check(item)) { bad_item(name, i, "str", item); goto error; }
                code = encode(&enc, item);
                if (code < 0) goto error;
            }
            ((int32_t *)vals.data)[i] = code;
        }
        else {
            if (!null) {
                if (PyUnicode_Check(item) || PyBytes_Check(item) || !PySequence_Check(item)) {
                    bad_item(name, i, "a list of str", item);
                    goto error;
                }
                PyObject *sub = PySequence_Fast(item, "expected a list");
                if (sub == NULL) goto error;
                Py_ssize_t m = PySequence_Fast_GET_SIZE(sub);
                if (bytebuf_reserve(&vals, m * (Py_ssize_t)sizeof(int32_t)) < 0) { Py_DECREF(sub); goto error; }
                for (Py_ssize_t j = 0; j < m; j++) {
                    PyObject *x = PySequence_Fast_GET_ITEM(sub, j);
                    if (!PyUnicode_Check(x)) {
                        Py_DECREF(sub);
                        bad_item(name, i, "a list of str", item);
                        goto error;
                    }
                    int32_t code = encode(&enc, x);
                    if (code < 0) { Py_DECREF(sub); goto error; }
                    memcpy(vals.data + vals.len, &code, sizeof code);
                    vals.len += sizeof code;
                }
                Py_DECREF(sub);
                if (vals.len / 4 > INT32_MAX) {
                    ts_error_col(PyExc_OverflowError, name, "more than 2**31-1 list items");
                    goto error;
                }
            }
            ((int32_t *)offs.data)[i + 1] = (int32_t)(vals.len / 4);
        }
    }
    if (type != TS_STRING) {
        Py_ssize_t ncodes = type == TS_CATEGORY ? n : vals.len / 4;
        dict = encoder_finish(&enc, (int32_t *)vals.data, ncodes);
        if (dict == NULL) goto error;
    }
    Py_CLEAR(enc.map);
    Py_CLEAR(enc.labels);
    Py_DECREF(fast);
    if (type == TS_CATEGORY) {
        /* fixed width: offsets unused */
        ts_column *col = ts_column_alloc(TS_CATEGORY);
        if (col == NULL) { PyMem_RawFree(vals.data); ts_buffer_clear(&valid); Py_DECREF(dict); return NULL; }
        col->length = n;
        col->validity = valid;
        col->null_count = nulls;
        col->dictionary = dict;
        if (ts_buffer_adopt(&col->values, vals.data) < 0) { Py_DECREF(col); return NULL; }
        return (PyObject *)ts_column_finish(col);
    }
    ts_column *col = column_from_raw(type, n, &vals, &offs, &valid, nulls, dict);
    Py_XDECREF(dict);
    return (PyObject *)col;

error:
    Py_XDECREF(enc.map);
    Py_XDECREF(enc.labels);
    Py_XDECREF(dict);
    Py_DECREF(fast);
    PyMem_RawFree(vals.data);
    PyMem_RawFree(offs.data);
    ts_buffer_clear(&valid);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* views                                                                     */

/* New reference: a read-only 1-D array of n elements at data whose base is `owner`. */
static PyObject *
readonly_view(PyObject *owner, int typenum, void *data, Py_ssize_t n)
{
    npy_intp dims[1] = {n};
    PyArray_Descr *descr = PyArray_DescrFromType(typenum);
    if (descr == NULL) return NULL;
    PyObject *arr = PyArray_NewFromDescr(&PyArray_Type, descr, 1, dims, NULL, data, 0, NULL);
    if (arr == NULL) return NULL;
    Py_INCREF(owner);
    if (PyArray_SetBaseObject((PyArrayObject *)arr, owner) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    return arr;
}

static PyObject *
column_get_values(ts_column *self, void *closure)
{
    if (self->type == TS_STRING) {
        /* the whole UTF-8 buffer: .offsets index into it */
        const int32_t *o = ts_col_offsets(self);
        return readonly_view((PyObject *)self, NPY_UINT8, self->values.data, o[self->length]);
    }
    if (self->type == TS_LIST) {
        const int32_t *o = ts_col_offsets(self);
        return readonly_view((PyObject *)self, NPY_INT32, self->values.data, o[self->length]);
    }
    return readonly_view((PyObject *)self, values_typenum(self->type), ts_col_values(self), self->length);
}

static PyObject *
column_get_offsets(ts_column *self, void *closure)
{
    if (self->type != TS_STRING && self->type != TS_LIST) {
        PyErr_Format(PyExc_AttributeError, "a %s column has no offsets", ts_type_names[self->type]);
        return NULL;
    }
    return readonly_view((PyObject *)self, NPY_INT32, (void *)ts_col_offsets(self), self->length + 1);
}

static PyObject *
column_get_codes(ts_column *self, void *closure)
{
    if (self->type != TS_CATEGORY) {
        PyErr_Format(PyExc_AttributeError, "a %s column has no codes", ts_type_names[self->type]);
        return NULL;
    }
    return column_get_values(self, closure);
}

PyObject *
ts_dictionary_labels(ts_column *d)
{
    PyObject *out = PyTuple_New(d->length);
    if (out == NULL) return NULL;
    const int32_t *o = ts_col_offsets(d);
    const char *s = d->values.data;
    for (Py_ssize_t i = 0; i < d->length; i++) {
        PyObject *u = PyUnicode_DecodeUTF8(s + o[i], o[i + 1] - o[i], "strict");
        if (u == NULL) { Py_DECREF(out); return NULL; }
        PyTuple_SET_ITEM(out, i, u);
    }
    return out;
}

static PyObject *
column_get_categories(ts_column *self, void *closure)
{
    if (self->dictionary == NULL) {
        PyErr_Format(PyExc_AttributeError, "a %s column has no categories", ts_type_names[self->type]);
        return NULL;
    }
    PyObject *labels = ts_dictionary_labels(self->dictionary);
    if (labels == NULL) return NULL;
    PyObject *arr = PyArray_FromAny(labels, PyArray_DescrFromType(NPY_OBJECT), 1, 1, 0, NULL);
    Py_DECREF(labels);
    return arr;
}

static PyObject *
column_get_dictionary(ts_column *self, void *closure)
{
    if (self->dictionary == NULL) Py_RETURN_NONE;
    return Py_NewRef(self->dictionary);
}

static PyObject *
column_get_valid(ts_column *self, void *closure)
{
    npy_intp dims[1] = {self->length};
    PyObject *arr = PyArray_EMPTY(1, dims, NPY_BOOL, 0);
    if (arr == NULL) return NULL;
    npy_bool *m = PyArray_DATA((PyArrayObject *)arr);
    if (self->validity.data == NULL) {
        memset(m, 1, (size_t)self->length);
    }
    else {
        PyThreadState *ts = self->length > TS_NOGIL_THRESHOLD ? PyEval_SaveThread() : NULL;
        for (Py_ssize_t i = 0; i < self->length; i++) {
            m[i] = (npy_bool)ts_col_valid(self, i);
        }
        if (ts) PyEval_RestoreThread(ts);
    }
    return arr;
}

static PyObject *
column_get_type(ts_column *self, void *closure)
{
    return PyUnicode_FromString(ts_type_names[self->type]);
}

static PyObject *
column_get_null_count(ts_column *self, void *closure)
{
    return PyLong_FromSsize_t(self->null_count);
}

static PyObject *
column_get_nbytes(ts_column *self, void *closure)
{
    Py_ssize_t n = self->length, nb = 0;
    if (self->validity.data) nb += (n + 7) / 8;
    if (self->type == TS_STRING || self->type == TS_LIST) {
        const int32_t *o = ts_col_offsets(self);
        nb += (n + 1) * 4 + (Py_ssize_t)(o[n] - o[0]) * ts_value_itemsize(self->type);
    }
    else {
        nb += n * ts_value_itemsize(self->type);
    }
    return PyLong_FromSsize_t(nb);
}

static Py_ssize_t
column_len(ts_column *self)
{
    return self->length;
}

/* New reference: list of Python objects for a string, category or list column
 * (str / list of str, None for null); labels are shared between rows. */
static PyObject *
column_to_objects(ts_column *self, PyObject *unused)
{
    if (self->type != TS_STRING && self->type != TS_CATEGORY && self->type != TS_LIST) {
        PyErr_SetString(PyExc_TypeError, "_to_objects is for string, category and list columns");
        return NULL;
    }
    PyObject *labels = NULL;
    if (self->dictionary != NULL) {
        labels = ts_dictionary_labels(self->dictionary);
        if (labels == NULL) return NULL;
    }
    Py_ssize_t n = self->length;
    PyObject *out = PyList_New(n);
    if (out == NULL) goto error;
    const int32_t *o = self->type == TS_CATEGORY ? NULL : ts_col_offsets(self);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item;
        if (!ts_col_valid(self, i)) {
            item = Py_NewRef(Py_None);
        }
        else if (self->type == TS_STRING) {
            item = PyUnicode_DecodeUTF8((const char *)self->values.data + o[i], o[i + 1] - o[i], "strict");
        }
        else if (self->type == TS_CATEGORY) {
            item = Py_NewRef(PyTuple_GET_ITEM(labels, ((const int32_t *)ts_col_values(self))[i]));
        }
        else {
            item = PyList_New(o[i + 1] - o[i]);
            if (item != NULL) {
                const int32_t *c = self->values.data;
                for (int32_t k = o[i]; k < o[i + 1]; k++) {
                    PyList_SET_ITEM(item, k - o[i], Py_NewRef(PyTuple_GET_ITEM(labels, c[k])));
                }
            }
        }
        if (item == NULL) goto error;
        PyList_SET_ITEM(out, i, item);
    }
    Py_XDECREF(labels);
    return out;

error:
    Py_XDECREF(labels);
    Py_XDECREF(out);
    return NULL;
}

static PyObject *
column_slice_method(ts_column *self, PyObject *args)
{
    Py_ssize_t start, stop;
    if (!PyArg_ParseTuple(args, "nn:_slice", &start, &stop)) return NULL;
    Py_ssize_t len = PySlice_AdjustIndices(self->length, &start, &stop, 1);
    return (PyObject *)ts_column_slice(self, start, len);
}

static PyObject *
column_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyErr_SetString(PyExc_TypeError,
                    "Column objects come from a Table (t['name']); build tables with traffickstats.Table");
    return NULL;
}

static PyGetSetDef column_getset[] = {
    {"type", (getter)column_get_type, NULL, "The column's logical type name.", NULL},
    {"null_count", (getter)column_get_null_count, NULL, "Number of null rows.", NULL},
    {"nbytes", (getter)column_get_nbytes, NULL, "Bytes referenced by the column's rows.", NULL},
    {"values", (getter)column_get_values, NULL,
     "Read-only NumPy view of the values buffer (no copy; the array keeps the column alive).", NULL},
    {"valid", (getter)column_get_valid, NULL, "NumPy bool array, True where the row is not null.", NULL},
    {"codes", (getter)column_get_codes, NULL, "int32 category codes, -1 where null (no copy).", NULL},
    {"categories", (getter)column_get_categories, NULL, "The category labels as a NumPy object array.", NULL},
    {"offsets", (getter)column_get_offsets, NULL, "int32 offsets of a string or list column (no copy).", NULL},
    {"dictionary", (getter)column_get_dictionary, NULL, "The categories as a string Column (or None).", NULL},
    {NULL},
};

static PyMethodDef column_methods[] = {
    {"_slice", (PyCFunction)column_slice_method, METH_VARARGS, "Rows [start, stop), sharing buffers."},
    {"_to_objects", (PyCFunction)column_to_objects, METH_NOARGS,
     "Rows of a string, category or list column as Python objects (None for null)."},
    {NULL},
};

static PySequenceMethods column_as_sequence = {
    .sq_length = (lenfunc)column_len,
};

PyTypeObject ts_ColumnType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "traffickstats._core.Column",
    .tp_basicsize = sizeof(ts_column),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "An immutable typed column (storage layer).",
    .tp_new = column_new,
    .tp_dealloc = (destructor)column_dealloc,
    .tp_traverse = (traverseproc)column_traverse,
    .tp_weaklistoffset = offsetof(ts_column, weakreflist),
    .tp_getset = column_getset,
    .tp_methods = column_methods,
    .tp_as_sequence = &column_as_sequence,
};

PyMethodDef ts_column_functions[] = {
    {"make_column", (PyCFunction)(void (*)(void))make_column, METH_VARARGS | METH_KEYWORDS,
     "make_column(name, type, values, valid=None, offsets=None, dictionary=None)\n--\n\n"
     "Build a Column from NumPy buffers, validating them; arrays already in the right "
     "layout are shared, not copied."},
    {"from_objects", (PyCFunction)from_objects, METH_VARARGS,
     "from_objects(name, type, seq, nulls=())\n--\n\n"
     "Build a string, category or list<category> Column from Python objects."},
    {NULL},
};

int
ts_column_exec(PyObject *module)
{
    if (PyType_Ready(&ts_ColumnType) < 0) return -1;
    return PyModule_AddObjectRef(module, "Column", (PyObject *)&ts_ColumnType);
}
