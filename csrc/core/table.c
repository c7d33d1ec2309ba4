/*
 * table.c -- the Table type: an immutable, ordered set of equal-length named columns.
 * Every operation returns a new table; columns (and so buffers) are shared where the
 * rows are unchanged (select, rename, with_column) or sliced (slice).
 */
#include "core/ts_core.h"

PyTypeObject *ts_table_class = &ts_TableType;

/* New reference or NULL; `names` and `columns` are borrowed tuples.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
PyObject *
ts_table_from_tuples(PyTypeObject *cls, PyObject *names, PyObject *columns, Py_ssize_t num_rows)
{
    Py_ssize_t k = PyTuple_GET_SIZE(names);
    if (PyTuple_GET_SIZE(columns) != k) {
        PyErr_SetString(PyExc_ValueError, "names and columns differ in length");
        return NULL;
    }
    PyObject *index = PyDict_New();
    if (index == NULL) return NULL;
    for (Py_ssize_t j = 0; j < k; j++) {
        PyObject *name = PyTuple_GET_ITEM(names, j);
        PyObject *col = PyTuple_GET_ITEM(columns, j);
        if (!PyUnicode_Check(name)) {
            PyErr_Format(PyExc_TypeError, "column names must be str, got %.100s %R", Py_TYPE(name)->tp_name, name);
            goto error;
        }
        if (!ts_is_column(col)) {
            ts_error_col(PyExc_TypeError, name, "expected a Column, got %.100s", Py_TYPE(col)->tp_name);
            goto error;
        }
        Py_ssize_t len = ((ts_column *)col)->length;
        if (j == 0 && num_rows < 0) num_rows = len;
        if (len != num_rows) {
            ts_error_col(PyExc_ValueError, name, "has %zd rows, but the table has %zd", len, num_rows);
            goto error;
        }
        int has = PyDict_Contains(index, name);
        if (has < 0) goto error;
        if (has) {
            ts_error_col(PyExc_ValueError, name, "duplicate column name");
            goto error;
        }
        PyObject *pos = PyLong_FromSsize_t(j);
        if (pos == NULL) goto error;
        int r = PyDict_SetItem(index, name, pos);
        Py_DECREF(pos);
        if (r < 0) goto error;
    }
    ts_table *t = (ts_table *)cls->tp_alloc(cls, 0);
    if (t == NULL) goto error;
    t->num_rows = num_rows < 0 ? 0 : num_rows;
    t->names = Py_NewRef(names);
    t->columns = Py_NewRef(columns);
    t->index = index;
    return (PyObject *)t;

error:
    Py_DECREF(index);
    return NULL;
}

/* Table.__new__(cls, columns=None): columns maps names to Column objects.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_new(PyTypeObject *cls, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"columns", NULL};
    PyObject *mapping = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:Table", kwlist, &mapping)) return NULL;
    PyObject *names = NULL, *cols = NULL, *items = NULL, *result = NULL;
    if (mapping == Py_None) {
        names = PyTuple_New(0);
        cols = PyTuple_New(0);
        if (names && cols) result = ts_table_from_tuples(cls, names, cols, 0);
        goto done;
    }
    if (!PyDict_Check(mapping)) {
        PyErr_Format(PyExc_TypeError, "Table() takes a dict of columns, got %.100s", Py_TYPE(mapping)->tp_name);
        return NULL;
    }
    items = PyDict_Items(mapping);
    if (items == NULL) return NULL;
    Py_ssize_t k = PyList_GET_SIZE(items);
    names = PyTuple_New(k);
    cols = PyTuple_New(k);
    if (names == NULL || cols == NULL) goto done;
    for (Py_ssize_t j = 0; j < k; j++) {
        PyObject *kv = PyList_GET_ITEM(items, j);
        PyTuple_SET_ITEM(names, j, Py_NewRef(PyTuple_GET_ITEM(kv, 0)));
        PyTuple_SET_ITEM(cols, j, Py_NewRef(PyTuple_GET_ITEM(kv, 1)));
    }
    result = ts_table_from_tuples(cls, names, cols, -1);
done:
    Py_XDECREF(items);
    Py_XDECREF(names);
    Py_XDECREF(cols);
    return result;
}

static void
table_dealloc(ts_table *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    Py_CLEAR(self->names);
    Py_CLEAR(self->columns);
    Py_CLEAR(self->index);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
table_traverse(ts_table *self, visitproc visit, void *arg)
{
    Py_VISIT(self->names);
    Py_VISIT(self->columns);
    Py_VISIT(self->index);
    return 0;
}

/* Borrowed reference to the column called `name`, or NULL with KeyError.
 * Ownership: returns a borrowed reference (owned by the table; NULL with KeyError);
 * borrows name. */
static ts_column *
table_lookup(ts_table *self, PyObject *name)
{
    PyObject *pos = PyDict_GetItemWithError(self->index, name);
    if (pos == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_KeyError, "no column %R; the table has %R", name, self->names);
        }
        return NULL;
    }
    return (ts_column *)PyTuple_GET_ITEM(self->columns, PyLong_AsSsize_t(pos));
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_column(ts_table *self, PyObject *name)
{
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "column names are str, got %.100s", Py_TYPE(name)->tp_name);
        return NULL;
    }
    ts_column *c = table_lookup(self, name);
    return c ? Py_NewRef((PyObject *)c) : NULL;
}

static Py_ssize_t
table_len(ts_table *self)
{
    return self->num_rows;
}

/* New reference: a table of the same class with every column transformed by fn.
 * Ownership: returns a new reference (NULL with an exception set); borrows self. */
static PyObject *
map_columns(ts_table *self, ts_column *(*fn)(ts_column *, void *), void *arg, Py_ssize_t num_rows)
{
    Py_ssize_t k = PyTuple_GET_SIZE(self->columns);
    PyObject *cols = PyTuple_New(k);
    if (cols == NULL) return NULL;
    for (Py_ssize_t j = 0; j < k; j++) {
        ts_column *c = fn((ts_column *)PyTuple_GET_ITEM(self->columns, j), arg);
        if (c == NULL) {
            Py_DECREF(cols);
            return NULL;
        }
        PyTuple_SET_ITEM(cols, j, (PyObject *)c);
    }
    PyObject *t = ts_table_from_tuples(Py_TYPE(self), self->names, cols, num_rows);
    Py_DECREF(cols);
    return t;
}

typedef struct { Py_ssize_t start, len; } slice_arg;

static ts_column *
slice_one(ts_column *c, void *arg)
{
    slice_arg *s = arg;
    return ts_column_slice(c, s->start, s->len);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_slice(ts_table *self, PyObject *args)
{
    PyObject *ostart = Py_None, *ostop = Py_None;
    if (!PyArg_ParseTuple(args, "|OO:slice", &ostart, &ostop)) return NULL;
    Py_ssize_t start = 0, stop = self->num_rows;
    if (ostart != Py_None && (start = PyNumber_AsSsize_t(ostart, PyExc_OverflowError)) == -1 && PyErr_Occurred())
        return NULL;
    if (ostop != Py_None && (stop = PyNumber_AsSsize_t(ostop, PyExc_OverflowError)) == -1 && PyErr_Occurred())
        return NULL;
    slice_arg s;
    s.len = PySlice_AdjustIndices(self->num_rows, &start, &stop, 1);
    s.start = start;
    return map_columns(self, slice_one, &s, s.len);
}

typedef struct { const int64_t *idx; Py_ssize_t n; } take_arg;

static ts_column *
take_one(ts_column *c, void *arg)
{
    take_arg *t = arg;
    return ts_column_take(c, t->idx, t->n);
}

/* New reference: takes rows by an int64 index array already validated.
 * Ownership: returns a new reference (NULL with an exception set); borrows self. */
static PyObject *
take_validated(ts_table *self, const int64_t *idx, Py_ssize_t n)
{
    take_arg t = {idx, n};
    return map_columns(self, take_one, &t, n);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_take(ts_table *self, PyObject *indices)
{
    PyArray_Descr *d = PyArray_DescrFromType(NPY_INT64);
    if (PyArray_Check(indices)) {
        int kind = PyArray_DESCR((PyArrayObject *)indices)->kind;
        if (kind != 'i' && kind != 'u') {
            Py_DECREF(d);
            PyErr_Format(PyExc_TypeError, "take() needs integer indices, got dtype %R",
                         (PyObject *)PyArray_DESCR((PyArrayObject *)indices));
            return NULL;
        }
    }
    PyArrayObject *arr = (PyArrayObject *)PyArray_FromAny(indices, d, 1, 1,
                                                          NPY_ARRAY_CARRAY_RO | NPY_ARRAY_FORCECAST, NULL);
    if (arr == NULL) return NULL;
    Py_ssize_t n = PyArray_DIM(arr, 0);
    const int64_t *idx = PyArray_DATA(arr);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= self->num_rows) {
            PyErr_Format(PyExc_IndexError, "take(): index %lld at position %zd is out of bounds for %zd rows",
                         (long long)idx[i], i, self->num_rows);
            Py_DECREF(arr);
            return NULL;
        }
    }
    PyObject *out = take_validated(self, idx, n);
    Py_DECREF(arr);
    return out;
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_filter(ts_table *self, PyObject *mask)
{
    PyArrayObject *m = NULL;
    const uint8_t *bm = NULL;
    Py_ssize_t boff = 0;
    const npy_bool *mv;
    if (ts_is_column(mask)) {
        ts_column *c = (ts_column *)mask;
        if (c->type != TS_BOOL) {
            PyErr_Format(PyExc_TypeError, "filter() needs a bool mask, got a %s column", ts_type_names[c->type]);
            return NULL;
        }
        if (c->length != self->num_rows) {
            PyErr_Format(PyExc_ValueError, "filter(): mask has %zd rows, the table has %zd", c->length, self->num_rows);
            return NULL;
        }
        mv = ts_col_values(c);
        bm = c->validity.data;
        boff = c->offset;
    }
    else {
        if (!PyArray_Check(mask)) {
            PyObject *a = PyArray_FromAny(mask, NULL, 0, 0, 0, NULL);
            if (a == NULL) return NULL;
            if (PyArray_TYPE((PyArrayObject *)a) != NPY_BOOL) {
                PyErr_Format(PyExc_TypeError, "filter() needs a bool mask, got dtype %R",
                             (PyObject *)PyArray_DESCR((PyArrayObject *)a));
                Py_DECREF(a);
                return NULL;
            }
            m = (PyArrayObject *)a;
        }
        else {
            if (PyArray_TYPE((PyArrayObject *)mask) != NPY_BOOL) {
                PyErr_Format(PyExc_TypeError, "filter() needs a bool mask, got dtype %R",
                             (PyObject *)PyArray_DESCR((PyArrayObject *)mask));
                return NULL;
            }
            Py_INCREF(mask);
            m = (PyArrayObject *)mask;
        }
        if (PyArray_NDIM(m) != 1 || PyArray_DIM(m, 0) != self->num_rows) {
            PyErr_Format(PyExc_ValueError, "filter(): mask has %zd elements in %d dimension(s), the table has %zd rows",
                         (Py_ssize_t)PyArray_SIZE(m), PyArray_NDIM(m), self->num_rows);
            Py_DECREF(m);
            return NULL;
        }
        PyArrayObject *c = (PyArrayObject *)PyArray_FromAny((PyObject *)m, PyArray_DescrFromType(NPY_BOOL), 1, 1,
                                                            NPY_ARRAY_CARRAY_RO, NULL);
        Py_DECREF(m);
        if (c == NULL) return NULL;
        m = c;
        mv = PyArray_DATA(m);
    }
    Py_ssize_t n = self->num_rows;
    int64_t *idx = PyMem_RawMalloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    if (idx == NULL) {
        Py_XDECREF(m);
        return PyErr_NoMemory();
    }
    Py_ssize_t k = 0;
    PyThreadState *ts = n > TS_NOGIL_THRESHOLD ? PyEval_SaveThread() : NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        /* a null in a bool column selects nothing (as SQL WHERE) */
        if (mv[i] && (bm == NULL || ts_bit_get(bm, boff + i))) idx[k++] = i;
    }
    if (ts) PyEval_RestoreThread(ts);
    PyObject *out = take_validated(self, idx, k);
    PyMem_RawFree(idx);
    Py_XDECREF(m);
    return out;
}

/* New reference: tuple of the given names (a str or an iterable of str), validated.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
names_tuple(ts_table *self, PyObject *names)
{
    PyObject *seq = PyUnicode_Check(names) ? PyTuple_Pack(1, names) : PySequence_Tuple(names);
    if (seq == NULL) return NULL;
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(seq); j++) {
        PyObject *nm = PyTuple_GET_ITEM(seq, j);
        if (!PyUnicode_Check(nm)) {
            PyErr_Format(PyExc_TypeError, "column names are str, got %.100s", Py_TYPE(nm)->tp_name);
            Py_DECREF(seq);
            return NULL;
        }
        if (table_lookup(self, nm) == NULL) {
            Py_DECREF(seq);
            return NULL;
        }
    }
    return seq;
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_select(ts_table *self, PyObject *names)
{
    PyObject *seq = names_tuple(self, names);
    if (seq == NULL) return NULL;
    Py_ssize_t k = PyTuple_GET_SIZE(seq);
    PyObject *cols = PyTuple_New(k);
    if (cols == NULL) { Py_DECREF(seq); return NULL; }
    for (Py_ssize_t j = 0; j < k; j++) {
        PyTuple_SET_ITEM(cols, j, Py_NewRef((PyObject *)table_lookup(self, PyTuple_GET_ITEM(seq, j))));
    }
    PyObject *t = ts_table_from_tuples(Py_TYPE(self), seq, cols, self->num_rows);
    Py_DECREF(seq);
    Py_DECREF(cols);
    return t;
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_rename(ts_table *self, PyObject *mapping)
{
    Py_ssize_t k = PyTuple_GET_SIZE(self->names);
    PyObject *names = PyTuple_New(k);
    if (names == NULL) return NULL;
    if (PyDict_Check(mapping)) {
        PyObject *key, *val;
        Py_ssize_t pos = 0;
        while (PyDict_Next(mapping, &pos, &key, &val)) {
            if (!PyUnicode_Check(key) || table_lookup(self, key) == NULL) {
                if (!PyErr_Occurred())
                    PyErr_Format(PyExc_TypeError, "column names are str, got %.100s", Py_TYPE(key)->tp_name);
                Py_DECREF(names);
                return NULL;
            }
        }
        for (Py_ssize_t j = 0; j < k; j++) {
            PyObject *old = PyTuple_GET_ITEM(self->names, j);
            PyObject *nw = PyDict_GetItemWithError(mapping, old);
            if (nw == NULL && PyErr_Occurred()) { Py_DECREF(names); return NULL; }
            PyTuple_SET_ITEM(names, j, Py_NewRef(nw ? nw : old));
        }
    }
    else {
        PyObject *seq = PySequence_Tuple(mapping);
        if (seq == NULL) { Py_DECREF(names); return NULL; }
        if (PyTuple_GET_SIZE(seq) != k) {
            PyErr_Format(PyExc_ValueError, "rename() got %zd names for %zd columns", PyTuple_GET_SIZE(seq), k);
            Py_DECREF(seq);
            Py_DECREF(names);
            return NULL;
        }
        for (Py_ssize_t j = 0; j < k; j++) {
            PyTuple_SET_ITEM(names, j, Py_NewRef(PyTuple_GET_ITEM(seq, j)));
        }
        Py_DECREF(seq);
    }
    PyObject *t = ts_table_from_tuples(Py_TYPE(self), names, self->columns, self->num_rows);
    Py_DECREF(names);
    return t;
}

/* _with_column(name, column): replaces or appends a column.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_with_column(ts_table *self, PyObject *args)
{
    PyObject *name, *col;
    if (!PyArg_ParseTuple(args, "UO!:_with_column", &name, &ts_ColumnType, &col)) return NULL;
    Py_ssize_t k = PyTuple_GET_SIZE(self->names);
    PyObject *pos = PyDict_GetItemWithError(self->index, name);
    if (pos == NULL && PyErr_Occurred()) return NULL;
    Py_ssize_t at = pos ? PyLong_AsSsize_t(pos) : k;
    Py_ssize_t nk = pos ? k : k + 1;
    PyObject *names = PyTuple_New(nk), *cols = PyTuple_New(nk);
    if (names == NULL || cols == NULL) {
        Py_XDECREF(names);
        Py_XDECREF(cols);
        return NULL;
    }
    for (Py_ssize_t j = 0; j < nk; j++) {
        if (j == at) {
            PyTuple_SET_ITEM(names, j, Py_NewRef(name));
            PyTuple_SET_ITEM(cols, j, Py_NewRef(col));
        }
        else {
            PyTuple_SET_ITEM(names, j, Py_NewRef(PyTuple_GET_ITEM(self->names, j)));
            PyTuple_SET_ITEM(cols, j, Py_NewRef(PyTuple_GET_ITEM(self->columns, j)));
        }
    }
    PyObject *t = ts_table_from_tuples(Py_TYPE(self), names, cols, k == 0 ? -1 : self->num_rows);
    Py_DECREF(names);
    Py_DECREF(cols);
    return t;
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_get_num_rows(ts_table *self, void *closure)
{
    return PyLong_FromSsize_t(self->num_rows);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_get_column_names(ts_table *self, void *closure)
{
    return PySequence_List(self->names);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_get_columns(ts_table *self, void *closure)
{
    return Py_NewRef(self->columns);
}

/* Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
table_get_schema(ts_table *self, void *closure)
{
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(self->names); j++) {
        ts_column *c = (ts_column *)PyTuple_GET_ITEM(self->columns, j);
        PyObject *tn = PyUnicode_FromString(ts_type_names[c->type]);
        if (tn == NULL || PyDict_SetItem(d, PyTuple_GET_ITEM(self->names, j), tn) < 0) {
            Py_XDECREF(tn);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(tn);
    }
    return d;
}

static PyGetSetDef table_getset[] = {
    {"num_rows", (getter)table_get_num_rows, NULL, "Number of rows.", NULL},
    {"column_names", (getter)table_get_column_names, NULL, "Column names, in order.", NULL},
    {"columns", (getter)table_get_columns, NULL, "The Column objects, in order (a tuple).", NULL},
    {"schema", (getter)table_get_schema, NULL, "A dict mapping each column name to its type name.", NULL},
    {NULL},
};

static PyMethodDef table_methods[] = {
    {"column", (PyCFunction)table_column, METH_O,
     "column(name)\n--\n\nThe Column called `name` (KeyError if there is none)."},
    {"select", (PyCFunction)table_select, METH_O,
     "select(names)\n--\n\nA table of the given columns, in the given order (buffers shared)."},
    {"slice", (PyCFunction)table_slice, METH_VARARGS,
     "slice(start=None, stop=None)\n--\n\nRows [start, stop) with Python slice semantics, sharing buffers."},
    {"take", (PyCFunction)table_take, METH_O,
     "take(indices)\n--\n\nRows at the given integer positions, in order (IndexError when out of bounds)."},
    {"filter", (PyCFunction)table_filter, METH_O,
     "filter(mask)\n--\n\nRows where the bool mask (NumPy array or bool Column; nulls select nothing) is True."},
    {"rename", (PyCFunction)table_rename, METH_O,
     "rename(names)\n--\n\nA table with columns renamed by a dict old -> new, or a list of all new names."},
    {"_with_column", (PyCFunction)table_with_column, METH_VARARGS, "Replace or append a Column."},
    {NULL},
};

static PyMappingMethods table_as_mapping = {
    .mp_length = (lenfunc)table_len,
    .mp_subscript = (binaryfunc)table_column,
};

static PySequenceMethods table_as_sequence = {
    .sq_length = (lenfunc)table_len,
};

PyTypeObject ts_TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "traffickstats._core.Table",
    .tp_basicsize = sizeof(ts_table),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "An immutable columnar table (storage layer; use traffickstats.Table).",
    .tp_new = table_new,
    .tp_dealloc = (destructor)table_dealloc,
    .tp_traverse = (traverseproc)table_traverse,
    .tp_weaklistoffset = offsetof(ts_table, weakreflist),
    .tp_getset = table_getset,
    .tp_methods = table_methods,
    .tp_as_mapping = &table_as_mapping,
    .tp_as_sequence = &table_as_sequence,
};

/* Ownership: borrows module (the type is added to it). */
int
ts_table_exec(PyObject *module)
{
    if (PyType_Ready(&ts_TableType) < 0) return -1;
    return PyModule_AddObjectRef(module, "Table", (PyObject *)&ts_TableType);
}
