/*
 * column_build.c -- building Columns: make_column (from NumPy buffers, validated;
 * arrays already in the right layout are shared) and from_objects (string, category
 * and list<category> columns from Python objects).
 */
#include "core/ts_core.h"
#include "util/utf8.h"

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
 * converted only when needed and only by a safe cast.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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
 * nulls, or a sequence of unique str).
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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

/* The offsets of a string or list column, checked against the nvals values (and, for
 * strings, the UTF-8 of every row): *oarr a new reference, *nrows the row count.
 * Ownership: borrows name, offsets and varr; *oarr is set to a new reference (also
 * when a later check fails: the caller releases it).  0, or -1 with an exception. */
static int
load_offsets(int type, PyObject *name, PyObject *offsets, PyArrayObject *varr, PyArrayObject **oarr,
             Py_ssize_t *nrows)
{
    Py_ssize_t nvals = PyArray_DIM(varr, 0);
    if (offsets == Py_None) {
        ts_error_col(PyExc_ValueError, name, "a %s column needs offsets", ts_type_names[type]);
        return -1;
    }
    PyArrayObject *oa = as_array(offsets, NPY_INT32, name, "offsets");
    if (oa == NULL) return -1;
    *oarr = oa;
    if (PyArray_DIM(oa, 0) < 1) {
        ts_error_col(PyExc_ValueError, name, "offsets must hold at least one element");
        return -1;
    }
    Py_ssize_t n = *nrows = PyArray_DIM(oa, 0) - 1;
    const int32_t *o = PyArray_DATA(oa);
    if (o[0] < 0 || o[n] > nvals) {
        ts_error_col(PyExc_ValueError, name, "offsets point outside the values buffer (%zd elements)", nvals);
        return -1;
    }
    Py_ssize_t bad;
    TS_MAYBE_NOGIL(n, bad = first_decrease(o, n));
    if (bad >= 0) {
        ts_error_col(PyExc_ValueError, name, "offsets decrease at row %zd", bad);
        return -1;
    }
    if (type == TS_STRING) {
        const uint8_t *bytes = PyArray_DATA(varr);
        int ok;
        int64_t at = 0;
        TS_MAYBE_NOGIL(o[n] - o[0], ok = ts_utf8_valid(bytes + o[0], (size_t)(o[n] - o[0]), &at));
        if (!ok) {
            ts_error_col(PyExc_ValueError, name, "invalid UTF-8 at byte %zd", (Py_ssize_t)at + o[0]);
            return -1;
        }
        /* every row must be UTF-8 on its own: no row may start inside a character */
        TS_MAYBE_NOGIL(n, bad = first_split_char(bytes, o, n));
        if (bad >= 0) {
            ts_error_col(PyExc_ValueError, name, "row %zd starts inside a UTF-8 character (byte %d)",
                         bad, (int)o[bad]);
            return -1;
        }
    }
    return 0;
}

/* A category column's codes: checked in [-1, ndict) where valid; -1 or an invalid
 * mask entry is null, and every null slot is made to hold -1 (so .codes reads like
 * pandas; *varr is then replaced by a fixed copy).  Sets col's validity and nulls.
 * Ownership: borrows name and marr; *varr is a reference the caller owns (replaced
 * in place).  0, or -1 with an exception. */
static int
category_nulls(ts_column *col, PyArrayObject **varr, PyArrayObject *marr, PyObject *name, Py_ssize_t n)
{
    /* codes must lie in [-1, ndict); -1 or an invalid mask entry is null, and every
     * null slot holds -1 (so .codes reads like pandas). */
    Py_ssize_t ndict = col->dictionary->length;
    const int32_t *c = PyArray_DATA(*varr);
    const npy_bool *m = marr ? PyArray_DATA(marr) : NULL;
    int needs_fix = 0;
    Py_ssize_t nulls = 0, bad;
    TS_MAYBE_NOGIL(n, bad = scan_codes(c, m, n, ndict, &nulls, &needs_fix));
    if (bad >= 0) {
        ts_error_col(PyExc_ValueError, name,
                     "code %d at row %zd is outside the %zd categories", (int)c[bad], bad, ndict);
        return -1;
    }
    if (needs_fix) {
        PyArrayObject *fixed = (PyArrayObject *)PyArray_NewCopy(*varr, NPY_CORDER);
        if (fixed == NULL) return -1;
        Py_SETREF(*varr, fixed);
        int32_t *fc = PyArray_DATA(*varr);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!m[i]) fc[i] = -1;
        }
    }
    if (nulls > 0) {
        if (ts_buffer_alloc(&col->validity, (n + 7) / 8) < 0) return -1;
        const int32_t *fc = PyArray_DATA(*varr);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (fc[i] != -1) ts_bit_set(col->validity.data, i);
        }
    }
    col->null_count = nulls;
    return 0;
}

/* make_column(name, type, values, valid=None, offsets=None, dictionary=None)
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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

    varr = as_array(values, ts_values_typenum(type), name, "values");
    if (varr == NULL) goto error;
    Py_ssize_t nvals = PyArray_DIM(varr, 0);
    Py_ssize_t n = nvals;

    if (type == TS_STRING || type == TS_LIST) {
        if (load_offsets(type, name, offsets, varr, &oarr, &n) < 0) goto error;
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
        if (category_nulls(col, &varr, marr, name, n) < 0) goto error;
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
    ts_buffer_from_array(&col->values, varr);
    if (oarr) ts_buffer_from_array(&col->offsets, oarr);
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

/* Is item a null: None, a float NaN, or one of the sentinels (identity)?
 * Ownership: borrows item and sentinels. */
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

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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

/* Returns the code of `s` (a str), adding it when new; -1 on error.
 * Ownership: borrows s (the encoder's map takes its own references). */
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

/* Fails with a TypeError naming the column, row and the offending item.
 * Ownership: returns NULL with an exception set; borrows all arguments. */
static PyObject *
bad_item(PyObject *name, Py_ssize_t row, const char *expected, PyObject *item)
{
    return ts_error_col(PyExc_TypeError, name, "row %zd: expected %s or a null, got %.100s %R",
                        row, expected, Py_TYPE(item)->tp_name, item);
}

/* from_objects(name, type, seq, nulls=()) -> Column of type string, category or
 * list<category> from Python objects; nulls are None, NaN and the given sentinels.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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
