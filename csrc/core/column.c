/*
 * column.c -- the Column type: buffers, allocation, slicing, the take kernel every
 * row-selecting operation is built on, and the zero-copy NumPy views.  Building
 * columns from NumPy buffers or Python objects is in column_build.c.
 */
#include "core/ts_core.h"

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
int
ts_values_typenum(ts_type t)
{
    switch (t) {
    case TS_BOOL: return NPY_BOOL;
    case TS_INT32: case TS_DATE: case TS_CATEGORY: case TS_LIST: return NPY_INT32;
    case TS_INT64: return NPY_INT64;
    case TS_FLOAT64: return NPY_FLOAT64;
    default: return NPY_UINT8;
    }
}

/* Returns NULL with the exception set; the message is prefixed with the column.
 * Ownership: returns NULL with the exception set; borrows exc and name. */
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

/* Ownership: called by Python when the capsule dies; borrows capsule and frees its
 * block. */
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
void
ts_buffer_from_array(ts_buffer *buf, PyArrayObject *arr)
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
/* views                                                                     */

/* New reference: a read-only 1-D array of n elements at data whose base is `owner`.
 * Ownership: returns a new reference (NULL with an exception set); borrows owner (the
 * view takes its own reference as its base). */
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

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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
    return readonly_view((PyObject *)self, ts_values_typenum(self->type), ts_col_values(self), self->length);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
column_get_offsets(ts_column *self, void *closure)
{
    if (self->type != TS_STRING && self->type != TS_LIST) {
        PyErr_Format(PyExc_AttributeError, "a %s column has no offsets", ts_type_names[self->type]);
        return NULL;
    }
    return readonly_view((PyObject *)self, NPY_INT32, (void *)ts_col_offsets(self), self->length + 1);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
column_get_codes(ts_column *self, void *closure)
{
    if (self->type != TS_CATEGORY) {
        PyErr_Format(PyExc_AttributeError, "a %s column has no codes", ts_type_names[self->type]);
        return NULL;
    }
    return column_get_values(self, closure);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
column_get_dictionary(ts_column *self, void *closure)
{
    if (self->dictionary == NULL) Py_RETURN_NONE;
    return Py_NewRef(self->dictionary);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
column_get_type(ts_column *self, void *closure)
{
    return PyUnicode_FromString(ts_type_names[self->type]);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
column_get_null_count(ts_column *self, void *closure)
{
    return PyLong_FromSsize_t(self->null_count);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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
 * (str / list of str, None for null); labels are shared between rows.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
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

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
column_slice_method(ts_column *self, PyObject *args)
{
    Py_ssize_t start, stop;
    if (!PyArg_ParseTuple(args, "nn:_slice", &start, &stop)) return NULL;
    Py_ssize_t len = PySlice_AdjustIndices(self->length, &start, &stop, 1);
    return (PyObject *)ts_column_slice(self, start, len);
}

/* Ownership: returns NULL with TypeError (columns are built by make_column); borrows
 * all arguments. */
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

/* Ownership: borrows module (the type is added to it). */
int
ts_column_exec(PyObject *module)
{
    if (PyType_Ready(&ts_ColumnType) < 0) return -1;
    return PyModule_AddObjectRef(module, "Column", (PyObject *)&ts_ColumnType);
}
