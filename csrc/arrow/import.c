/*
 * arrow/import.c -- Table.from_arrow: the holder capsule that owns an imported
 * ArrowArray, record batches (struct arrays) and streams; the per-column work is in
 * import_column.c.
 */
#include "arrow/internal.h"

/* ======================================================================== */
/* import                                                                    */

/* The capsule that owns an imported ArrowArray: its destructor calls release.
 * Ownership: called by Python when the capsule dies; borrows cap and releases the
 * array it owns. */
static void
import_holder_destructor(PyObject *cap)
{
    struct ArrowArray *a = PyCapsule_GetPointer(cap, "traffickstats.arrow_import");
    if (a == NULL) {
        PyErr_WriteUnraisable(cap);
        return;
    }
    if (a->release != NULL) {
        /* The producer's release may run Python code (a ctypes or cffi callback), which
         * must not start with the exception of a failed import pending. */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        a->release(a);
        PyErr_Restore(type, value, tb);
    }
    free(a);
}

/* New reference: a holder capsule; moves *src into it (src->release set NULL).
 * Ownership: returns a new reference (NULL with an exception set; *src is released
 * then). */
static PyObject *
import_holder(struct ArrowArray *src)
{
    struct ArrowArray *a = malloc(sizeof *a);
    if (a == NULL) {
        src->release(src);
        return PyErr_NoMemory();
    }
    *a = *src;
    src->release = NULL;
    PyObject *cap = PyCapsule_New(a, "traffickstats.arrow_import", import_holder_destructor);
    if (cap == NULL) {
        a->release(a);
        free(a);
    }
    return cap;
}

/* The columns of a struct (record batch) array; the array is moved into a holder.
 * Ownership: returns a new reference to the columns tuple and, when names_out is not
 * NULL, stores a new reference to the names tuple there (NULL and nothing stored with
 * an exception set). */
static PyObject *
import_struct(const struct ArrowSchema *s, struct ArrowArray *a, PyObject **names_out)
{
    PyObject *holder = import_holder(a);
    if (holder == NULL) return NULL;
    struct ArrowArray *h = PyCapsule_GetPointer(holder, "traffickstats.arrow_import");
    PyObject *cols = NULL, *names = NULL;
    if (h->n_children != s->n_children || h->length < 0 || h->offset < 0 ||
        (h->n_children > 0 && h->children == NULL)) {
        PyErr_SetString(PyExc_ValueError, "malformed Arrow struct array: children differ from the schema");
        goto error;
    }
    if (h->null_count > 0) {
        PyErr_SetString(PyExc_ValueError, "the Arrow record batch has null rows (a struct array with nulls)");
        goto error;
    }
    cols = PyTuple_New(s->n_children);
    names = PyTuple_New(s->n_children);
    if (cols == NULL || names == NULL) goto error;
    for (int64_t j = 0; j < s->n_children; j++) {
        const char *cname = s->children[j]->name ? s->children[j]->name : "";
        PyObject *name = PyUnicode_DecodeUTF8(cname, (Py_ssize_t)strlen(cname), "replace");
        if (name == NULL) goto error;
        PyTuple_SET_ITEM(names, j, name);
        const struct ArrowArray *ca = h->children[j];
        if (ca == NULL || ca->length < h->offset + h->length) {
            ts_error_col(PyExc_ValueError, name, "Arrow child array is shorter than its record batch");
            goto error;
        }
        ts_column *c = arrow_import_column(s->children[j], ca, holder, name);
        if (c == NULL) goto error;
        if (h->offset != 0 || c->length != h->length) {
            ts_column *sl = ts_column_slice(c, h->offset, h->length);
            Py_DECREF(c);
            if (sl == NULL) goto error;
            c = sl;
        }
        PyTuple_SET_ITEM(cols, j, (PyObject *)c);
    }
    Py_DECREF(holder);
    if (names_out != NULL) *names_out = names;
    else Py_DECREF(names);
    return cols;
error:
    Py_XDECREF(cols);
    Py_XDECREF(names);
    Py_DECREF(holder);
    return NULL;
}

/* _arrow_import_array(schema_capsule, array_capsule) -> (names, columns): the fields of
 * a struct (record batch) array, or ((field name,), (column,)) for any other array.
 * The array is consumed.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
PyObject *
arrow_import_array(PyObject *module, PyObject *args)
{
    PyObject *scap, *acap;
    if (!PyArg_ParseTuple(args, "OO:_arrow_import_array", &scap, &acap)) return NULL;
    struct ArrowSchema *s = PyCapsule_GetPointer(scap, "arrow_schema");
    if (s == NULL) return NULL;
    struct ArrowArray *a = PyCapsule_GetPointer(acap, "arrow_array");
    if (a == NULL) return NULL;
    if (s->release == NULL || a->release == NULL) {
        PyErr_SetString(PyExc_ValueError, "the Arrow capsule has already been consumed");
        return NULL;
    }
    if (s->format == NULL) {
        PyErr_SetString(PyExc_ValueError, "malformed Arrow schema: no format string");
        return NULL;
    }
    if (strcmp(s->format, "+s") == 0) {
        PyObject *names = NULL;
        PyObject *cols = import_struct(s, a, &names);
        if (cols == NULL) return NULL;
        return Py_BuildValue("(NN)", names, cols);
    }
    PyObject *holder = import_holder(a);
    if (holder == NULL) return NULL;
    struct ArrowArray *h = PyCapsule_GetPointer(holder, "traffickstats.arrow_import");
    PyObject *name = PyUnicode_DecodeUTF8(s->name ? s->name : "", s->name ? (Py_ssize_t)strlen(s->name) : 0,
                                          "replace");
    PyObject *col = name ? (PyObject *)arrow_import_column(s, h, holder, name) : NULL;
    Py_DECREF(holder);
    if (col == NULL) {
        Py_XDECREF(name);
        return NULL;
    }
    return Py_BuildValue("((N)(N))", name, col);
}

/* ---- empty arrays for streams without batches --------------------------- */

static void
empty_release(struct ArrowArray *a)
{
    if (a == NULL || a->release == NULL) return;
    for (int64_t i = 0; i < a->n_children; i++) empty_release(a->children[i]);
    if (a->dictionary != NULL) {
        empty_release(a->dictionary);
        free(a->dictionary);
    }
    for (int64_t i = 0; i < a->n_children; i++) free(a->children[i]);
    free(a->children);
    free((void *)a->buffers);
    a->release = NULL;
}

/* A zero-length array of the schema's type (buffers point at zeros).  0 or -1. */
static int
empty_array(struct ArrowArray *a, const struct ArrowSchema *s)
{
    memset(a, 0, sizeof *a);
    int64_t nb = 2;
    if (strcmp(s->format, "u") == 0 || strcmp(s->format, "U") == 0 || strcmp(s->format, "vu") == 0) nb = 3;
    else if (s->format[0] == '+' && s->format[1] == 's') nb = 1;
    a->n_buffers = nb;
    a->buffers = calloc((size_t)nb, sizeof(void *));
    if (a->buffers == NULL) return -1;
    for (int64_t b = 1; b < nb; b++) a->buffers[b] = arrow_zero_block;
    a->release = empty_release;
    if (s->n_children > 0) {
        a->children = calloc((size_t)s->n_children, sizeof *a->children);
        if (a->children == NULL) goto error;
        for (int64_t i = 0; i < s->n_children; i++) {
            a->children[i] = calloc(1, sizeof(struct ArrowArray));
            if (a->children[i] == NULL) goto error;
            a->n_children = i + 1;
            if (empty_array(a->children[i], s->children[i]) < 0) goto error;
        }
    }
    if (s->dictionary != NULL) {
        a->dictionary = calloc(1, sizeof *a->dictionary);
        if (a->dictionary == NULL || empty_array(a->dictionary, s->dictionary) < 0) goto error;
    }
    return 0;
error:
    empty_release(a);
    return -1;
}

/* Raises for a failed stream call, with the producer's message when it has one.
 * Ownership: returns NULL with an exception set; borrows st. */
static PyObject *
stream_error(struct ArrowArrayStream *st, int code, const char *what)
{
    const char *msg = st->get_last_error ? st->get_last_error(st) : NULL;
    PyErr_Format(PyExc_OSError, "Arrow stream %s failed (error %d)%s%s", what, code, msg ? ": " : "",
                 msg ? msg : "");
    return NULL;
}

/* _arrow_import_stream(stream_capsule) -> (names, [columns per batch]).  A stream
 * with no batches gives one empty batch.  The stream is consumed.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
PyObject *
arrow_import_stream(PyObject *module, PyObject *cap)
{
    struct ArrowArrayStream *src = PyCapsule_GetPointer(cap, "arrow_array_stream");
    if (src == NULL) return NULL;
    if (src->release == NULL) {
        PyErr_SetString(PyExc_ValueError, "the Arrow stream capsule has already been consumed");
        return NULL;
    }
    struct ArrowArrayStream st = *src;   /* move: the capsule now holds a released stream */
    src->release = NULL;
    struct ArrowSchema schema;
    struct ArrowArray batch;
    PyObject *batches = NULL, *names = NULL, *result = NULL;
    int rc;
    schema.release = NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = st.get_schema(&st, &schema);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        stream_error(&st, rc, "get_schema");
        goto done;
    }
    if (schema.format == NULL) {
        PyErr_SetString(PyExc_ValueError, "malformed Arrow schema: no format string");
        goto done;
    }
    if (strcmp(schema.format, "+s") != 0) {
        PyErr_Format(PyExc_TypeError, "expected an Arrow stream of record batches (format '+s'), got format '%s'",
                     schema.format);
        goto done;
    }
    batches = PyList_New(0);
    if (batches == NULL) goto done;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        rc = st.get_next(&st, &batch);
        Py_END_ALLOW_THREADS
        if (rc != 0) {
            stream_error(&st, rc, "get_next");
            goto done;
        }
        if (batch.release == NULL) break;
        PyObject *cols = import_struct(&schema, &batch, names == NULL ? &names : NULL);
        if (cols == NULL) goto done;
        int r = PyList_Append(batches, cols);
        Py_DECREF(cols);
        if (r < 0) goto done;
    }
    if (names == NULL) {
        if (empty_array(&batch, &schema) < 0) {
            PyErr_NoMemory();
            goto done;
        }
        PyObject *cols = import_struct(&schema, &batch, &names);
        if (cols == NULL) goto done;
        int r = PyList_Append(batches, cols);
        Py_DECREF(cols);
        if (r < 0) goto done;
    }
    result = Py_BuildValue("(OO)", names, batches);
done:
    Py_XDECREF(names);
    Py_XDECREF(batches);
    {
        /* as in import_holder_destructor: releases may run Python code */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (schema.release != NULL) schema.release(&schema);
        st.release(&st);
        PyErr_Restore(type, value, tb);
    }
    return result;
}
