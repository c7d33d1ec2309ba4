/*
 * arrow/export.c -- the Arrow C Data / C Stream interfaces for Table and Column, used by the
 * Arrow PyCapsule Interface (__arrow_c_schema__, __arrow_c_array__,
 * __arrow_c_stream__) and by Table.from_arrow.
 *
 * Export describes our columns as they are and shares every buffer, except bool
 * values, which Arrow packs into bits (one new bitmap per exported bool column):
 *
 *   bool -> "b"   int32 -> "i"   int64 -> "l"   float64 -> "g"   date -> "tdD"
 *   string -> "u"   category -> "i" with dictionary "u"
 *   list<category> -> "+l" whose child is "i" with dictionary "u"
 *
 * Every exported ArrowArray node holds a strong reference to the Column whose buffers
 * it points at; its release callback takes the GIL (PyGILState_Ensure) before dropping
 * it, so consumers may release from any thread.  Schemas and streams hold no Python
 * objects at all: a stream is built completely when it is exported, so its callbacks
 * never need the GIL.
 */
#include "arrow/internal.h"

typedef struct {
    char *format;
    char *name;
    struct ArrowSchema **child_ptrs;
    struct ArrowSchema *children;
    struct ArrowSchema dictionary;
} schema_priv;

static char *
str_dup(const char *s)
{
    if (s == NULL) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) memcpy(d, s, n);
    return d;
}

static void
schema_release(struct ArrowSchema *s)
{
    if (s == NULL || s->release == NULL) return;
    schema_priv *p = s->private_data;
    for (int64_t i = 0; i < s->n_children; i++) {
        if (p->children[i].release != NULL) p->children[i].release(&p->children[i]);
    }
    if (s->dictionary != NULL && s->dictionary->release != NULL) s->dictionary->release(s->dictionary);
    free(p->format);
    free(p->name);
    free(p->child_ptrs);
    free(p->children);
    free(p);
    s->release = NULL;
}

/* Initialises *s (no Python); children and dictionary are left released (release NULL)
 * for the caller to fill.  Returns 0, or -1 when out of memory (no exception set). */
static int
schema_init(struct ArrowSchema *s, const char *format, const char *name, int64_t flags,
            int64_t n_children, int has_dictionary)
{
    memset(s, 0, sizeof *s);
    schema_priv *p = calloc(1, sizeof *p);
    if (p == NULL) return -1;
    p->format = str_dup(format);
    p->name = str_dup(name);
    if (n_children > 0) {
        p->children = calloc((size_t)n_children, sizeof *p->children);
        p->child_ptrs = calloc((size_t)n_children, sizeof *p->child_ptrs);
    }
    if (p->format == NULL || (name != NULL && p->name == NULL) ||
        (n_children > 0 && (p->children == NULL || p->child_ptrs == NULL))) {
        free(p->format); free(p->name); free(p->children); free(p->child_ptrs); free(p);
        return -1;
    }
    for (int64_t i = 0; i < n_children; i++) p->child_ptrs[i] = &p->children[i];
    s->format = p->format;
    s->name = p->name;
    s->metadata = NULL;
    s->flags = flags;
    s->n_children = n_children;
    s->children = n_children > 0 ? p->child_ptrs : NULL;
    s->dictionary = has_dictionary ? &p->dictionary : NULL;
    s->release = schema_release;
    s->private_data = p;
    return 0;
}

/* Deep copy of src into dst (no Python).  Returns 0 or -1 (out of memory; dst released). */
static int
schema_copy(struct ArrowSchema *dst, const struct ArrowSchema *src)
{
    if (schema_init(dst, src->format, src->name, src->flags, src->n_children, src->dictionary != NULL) < 0) {
        return -1;
    }
    for (int64_t i = 0; i < src->n_children; i++) {
        if (schema_copy(dst->children[i], src->children[i]) < 0) goto error;
    }
    if (src->dictionary != NULL && schema_copy(dst->dictionary, src->dictionary) < 0) goto error;
    return 0;
error:
    schema_release(dst);
    return -1;
}

/* The schema of a column of type t called name (UTF-8, may be NULL).  0 or -1 (OOM). */
static int
column_schema(struct ArrowSchema *s, ts_type t, const char *name)
{
    static const char *const formats[TS_NTYPES] = {"b", "i", "l", "g", "tdD", "i", "u", "+l"};
    if (t == TS_LIST) {
        if (schema_init(s, "+l", name, ARROW_FLAG_NULLABLE, 1, 0) < 0) return -1;
        struct ArrowSchema *item = s->children[0];
        if (schema_init(item, "i", "item", ARROW_FLAG_NULLABLE, 0, 1) < 0 ||
            schema_init(item->dictionary, "u", NULL, 0, 0, 0) < 0) {
            schema_release(s);
            return -1;
        }
        return 0;
    }
    if (schema_init(s, formats[t], name, ARROW_FLAG_NULLABLE, 0, t == TS_CATEGORY) < 0) return -1;
    if (t == TS_CATEGORY && schema_init(s->dictionary, "u", NULL, 0, 0, 0) < 0) {
        schema_release(s);
        return -1;
    }
    return 0;
}

/* The "+s" schema of a table.  0, or -1 with an exception set.  Needs the GIL. */
static int
table_schema(struct ArrowSchema *s, ts_table *t)
{
    Py_ssize_t k = PyTuple_GET_SIZE(t->columns);
    if (schema_init(s, "+s", "", 0, k, 0) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t j = 0; j < k; j++) {
        const char *name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(t->names, j));
        if (name == NULL) goto error;
        ts_column *c = (ts_column *)PyTuple_GET_ITEM(t->columns, j);
        if (column_schema(s->children[j], c->type, name) < 0) {
            PyErr_NoMemory();
            goto error;
        }
    }
    return 0;
error:
    schema_release(s);
    return -1;
}

/* ======================================================================== */
/* exported arrays                                                           */

typedef struct {
    PyObject *owner;            /* strong reference keeping the buffers alive, or NULL */
    uint8_t *packed;            /* bit-packed bool values (malloc), or NULL */
    const void *buffers[3];
    struct ArrowArray **child_ptrs;
    struct ArrowArray *children;
    struct ArrowArray dictionary;
} array_priv;

const int64_t arrow_zero_block[4] = {0, 0, 0, 0};

/* Drops a Python reference from any thread, taking the GIL first; skipped once the
 * interpreter is finalised (the object is then gone anyway).
 * Ownership: steals o (drops the caller's reference). */
static void
decref_any_thread(PyObject *o)
{
    if (o == NULL) return;
#if PY_VERSION_HEX >= 0x030D0000
    if (!Py_IsInitialized() || Py_IsFinalizing()) return;
#else
    if (!Py_IsInitialized()) return;
#endif
    PyGILState_STATE g = PyGILState_Ensure();
    Py_DECREF(o);
    PyGILState_Release(g);
}

static void
array_release(struct ArrowArray *a)
{
    if (a == NULL || a->release == NULL) return;
    array_priv *p = a->private_data;
    for (int64_t i = 0; i < a->n_children; i++) {
        if (p->children[i].release != NULL) p->children[i].release(&p->children[i]);
    }
    if (a->dictionary != NULL && a->dictionary->release != NULL) a->dictionary->release(a->dictionary);
    decref_any_thread(p->owner);
    free(p->packed);
    free(p->child_ptrs);
    free(p->children);
    free(p);
    a->release = NULL;
}

/* Initialises *a; owner (borrowed, may be NULL) gets a new reference.  Needs the GIL.
 * Returns 0 or -1 with MemoryError.
 * Ownership: borrows owner; *a takes a new reference to it (dropped by the release
 * callback). */
static int
array_init(struct ArrowArray *a, PyObject *owner, int64_t length, int64_t offset, int64_t null_count,
           int64_t n_buffers, int64_t n_children, int has_dictionary)
{
    memset(a, 0, sizeof *a);
    array_priv *p = calloc(1, sizeof *p);
    if (p == NULL) goto oom;
    if (n_children > 0) {
        p->children = calloc((size_t)n_children, sizeof *p->children);
        p->child_ptrs = calloc((size_t)n_children, sizeof *p->child_ptrs);
        if (p->children == NULL || p->child_ptrs == NULL) {
            free(p->children); free(p->child_ptrs); free(p);
            goto oom;
        }
        for (int64_t i = 0; i < n_children; i++) p->child_ptrs[i] = &p->children[i];
    }
    p->owner = owner;
    Py_XINCREF(owner);
    a->length = length;
    a->offset = offset;
    a->null_count = null_count;
    a->n_buffers = n_buffers;
    a->n_children = n_children;
    a->buffers = p->buffers;
    a->children = n_children > 0 ? p->child_ptrs : NULL;
    a->dictionary = has_dictionary ? &p->dictionary : NULL;
    a->release = array_release;
    a->private_data = p;
    return 0;
oom:
    PyErr_NoMemory();
    return -1;
}

static const void *
buf_or_zero(const void *p)
{
    return p != NULL ? p : (const void *)arrow_zero_block;
}

/* Exports column c into *a (sharing its buffers).  0, or -1 with an exception set. */
static int
column_array(struct ArrowArray *a, ts_column *c)
{
    PyObject *owner = (PyObject *)c;
    const void *validity = c->null_count > 0 ? c->validity.data : NULL;
    switch (c->type) {
    case TS_BOOL: {
        if (array_init(a, owner, c->length, c->offset, c->null_count, 2, 0, 0) < 0) return -1;
        array_priv *p = a->private_data;
        /* Arrow bools are bits: pack rows [offset, offset+length) at the same bit
         * positions so the validity bitmap can still be shared.  This is the one copy. */
        Py_ssize_t nbits = c->offset + c->length;
        p->packed = calloc((size_t)(nbits + 7) / 8 + 1, 1);
        if (p->packed == NULL) {
            array_release(a);
            PyErr_NoMemory();
            return -1;
        }
        const uint8_t *v = c->values.data;
        PyThreadState *ts = c->length > TS_NOGIL_THRESHOLD ? PyEval_SaveThread() : NULL;
        for (Py_ssize_t i = c->offset; i < nbits; i++) {
            if (v[i]) ts_bit_set(p->packed, i);
        }
        if (ts) PyEval_RestoreThread(ts);
        p->buffers[0] = validity;
        p->buffers[1] = p->packed;
        return 0;
    }
    case TS_INT32: case TS_INT64: case TS_FLOAT64: case TS_DATE: {
        if (array_init(a, owner, c->length, c->offset, c->null_count, 2, 0, 0) < 0) return -1;
        array_priv *p = a->private_data;
        p->buffers[0] = validity;
        p->buffers[1] = buf_or_zero(c->values.data);
        return 0;
    }
    case TS_STRING: {
        if (array_init(a, owner, c->length, c->offset, c->null_count, 3, 0, 0) < 0) return -1;
        array_priv *p = a->private_data;
        p->buffers[0] = validity;
        p->buffers[1] = buf_or_zero(c->offsets.data);
        p->buffers[2] = buf_or_zero(c->values.data);
        return 0;
    }
    case TS_CATEGORY: {
        if (array_init(a, owner, c->length, c->offset, c->null_count, 2, 0, 1) < 0) return -1;
        array_priv *p = a->private_data;
        p->buffers[0] = validity;
        p->buffers[1] = buf_or_zero(c->values.data);
        if (column_array(a->dictionary, c->dictionary) < 0) {
            array_release(a);
            return -1;
        }
        return 0;
    }
    case TS_LIST: {
        if (array_init(a, owner, c->length, c->offset, c->null_count, 2, 1, 0) < 0) return -1;
        array_priv *p = a->private_data;
        p->buffers[0] = validity;
        p->buffers[1] = buf_or_zero(c->offsets.data);
        int64_t nitems = c->offsets.data ? ((const int32_t *)c->offsets.data)[c->offset + c->length] : 0;
        struct ArrowArray *child = a->children[0];
        if (array_init(child, owner, nitems, 0, 0, 2, 0, 1) < 0) {
            array_release(a);
            return -1;
        }
        array_priv *cp = child->private_data;
        cp->buffers[0] = NULL;
        cp->buffers[1] = buf_or_zero(c->values.data);
        if (column_array(child->dictionary, c->dictionary) < 0) {
            array_release(a);
            return -1;
        }
        return 0;
    }
    default:
        PyErr_SetString(PyExc_SystemError, "unknown column type");
        return -1;
    }
}

/* Exports a table as one "+s" struct array.  0, or -1 with an exception set. */
static int
table_array(struct ArrowArray *a, ts_table *t)
{
    Py_ssize_t k = PyTuple_GET_SIZE(t->columns);
    if (array_init(a, NULL, t->num_rows, 0, 0, 1, k, 0) < 0) return -1;
    ((array_priv *)a->private_data)->buffers[0] = NULL;
    for (Py_ssize_t j = 0; j < k; j++) {
        if (column_array(a->children[j], (ts_column *)PyTuple_GET_ITEM(t->columns, j)) < 0) {
            array_release(a);
            return -1;
        }
    }
    return 0;
}

/* ======================================================================== */
/* capsules                                                                  */

/* Ownership: called by Python when the capsule dies; borrows cap and releases the
 * schema it owns. */
static void
schema_capsule_destructor(PyObject *cap)
{
    struct ArrowSchema *s = PyCapsule_GetPointer(cap, "arrow_schema");
    if (s == NULL) {
        PyErr_WriteUnraisable(cap);
        return;
    }
    if (s->release != NULL) s->release(s);
    free(s);
}

/* Ownership: called by Python when the capsule dies; borrows cap and releases the
 * array it owns. */
static void
array_capsule_destructor(PyObject *cap)
{
    struct ArrowArray *a = PyCapsule_GetPointer(cap, "arrow_array");
    if (a == NULL) {
        PyErr_WriteUnraisable(cap);
        return;
    }
    if (a->release != NULL) a->release(a);
    free(a);
}

/* Ownership: called by Python when the capsule dies; borrows cap and releases the
 * stream it owns. */
static void
stream_capsule_destructor(PyObject *cap)
{
    struct ArrowArrayStream *s = PyCapsule_GetPointer(cap, "arrow_array_stream");
    if (s == NULL) {
        PyErr_WriteUnraisable(cap);
        return;
    }
    if (s->release != NULL) s->release(s);
    free(s);
}

/* New reference: a capsule owning a malloc'ed, initialised schema (released on failure).
 * Ownership: returns a new reference (NULL with an exception set). */
PyObject *
arrow_schema_capsule(struct ArrowSchema *s)
{
    PyObject *cap = PyCapsule_New(s, "arrow_schema", schema_capsule_destructor);
    if (cap == NULL) {
        schema_release(s);
        free(s);
    }
    return cap;
}

/* New reference: a capsule owning a malloc'ed, initialised array (released on failure).
 * Ownership: returns a new reference (NULL with an exception set). */
PyObject *
arrow_array_capsule(struct ArrowArray *a)
{
    PyObject *cap = PyCapsule_New(a, "arrow_array", array_capsule_destructor);
    if (cap == NULL) {
        array_release(a);
        free(a);
    }
    return cap;
}

/* Builds the schema of obj (Table or Column) into *s.  0, or -1 with an exception.
 * Ownership: borrows obj. */
static int
object_schema(struct ArrowSchema *s, PyObject *obj)
{
    if (ts_is_table(obj)) return table_schema(s, (ts_table *)obj);
    if (ts_is_column(obj)) {
        if (column_schema(s, ((ts_column *)obj)->type, "") < 0) {
            PyErr_NoMemory();
            return -1;
        }
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "expected a Table or Column, got %.100s", Py_TYPE(obj)->tp_name);
    return -1;
}

/* New reference: a str describing a schema's type for messages ("'i' (dictionary indices) with values 'u'").
 * Ownership: returns a new reference (NULL with an exception set). */
PyObject *
arrow_format_description(const struct ArrowSchema *s)
{
    if (s->format == NULL) {  /* a malformed producer's schema, described for the error */
        return PyUnicode_FromString("(no format)");
    }
    if (s->dictionary != NULL) {
        PyObject *v = arrow_format_description(s->dictionary);
        if (v == NULL) return NULL;
        PyObject *r = PyUnicode_FromFormat("'%s' (dictionary indices) with values %U", s->format, v);
        Py_DECREF(v);
        return r;
    }
    if (s->n_children == 1 && s->format[0] == '+' && s->children != NULL && s->children[0] != NULL) {
        PyObject *v = arrow_format_description(s->children[0]);
        if (v == NULL) return NULL;
        PyObject *r = PyUnicode_FromFormat("'%s' of %U", s->format, v);
        Py_DECREF(v);
        return r;
    }
    return PyUnicode_FromFormat("'%s'", s->format);
}

/* Same physical type (formats, children and dictionaries; names and flags ignored). */
static int
schema_same_type(const struct ArrowSchema *a, const struct ArrowSchema *b)
{
    if (strcmp(a->format, b->format) != 0 || a->n_children != b->n_children ||
        (a->dictionary == NULL) != (b->dictionary == NULL)) {
        return 0;
    }
    if (a->dictionary != NULL && !schema_same_type(a->dictionary, b->dictionary)) return 0;
    if (strcmp(a->format, "+s") == 0) {
        for (int64_t i = 0; i < a->n_children; i++) {
            if (!schema_same_type(a->children[i], b->children[i])) return 0;
        }
        return 1;
    }
    for (int64_t i = 0; i < a->n_children; i++) {
        if (!schema_same_type(a->children[i], b->children[i])) return 0;
    }
    return 1;
}

/* Checks a requested schema capsule (or None) against ours.  0, or -1 with an
 * exception naming the first column whose type differs.
 * Ownership: borrows requested. */
static int
check_requested(PyObject *requested, const struct ArrowSchema *ours)
{
    if (requested == NULL || requested == Py_None) return 0;
    const struct ArrowSchema *req = PyCapsule_GetPointer(requested, "arrow_schema");
    if (req == NULL) return -1;
    if (req->release == NULL) {
        PyErr_SetString(PyExc_ValueError, "requested_schema capsule has already been released");
        return -1;
    }
    if (schema_same_type(req, ours)) return 0;
    if (strcmp(ours->format, "+s") == 0 && strcmp(req->format, "+s") == 0 &&
        req->n_children == ours->n_children) {
        for (int64_t i = 0; i < ours->n_children; i++) {
            if (!schema_same_type(req->children[i], ours->children[i])) {
                PyObject *have = arrow_format_description(ours->children[i]);
                PyObject *want = have ? arrow_format_description(req->children[i]) : NULL;
                if (want != NULL) {
                    PyErr_Format(PyExc_NotImplementedError,
                                 "column '%s' cannot be exported as the requested Arrow type %U: "
                                 "traffickstats exports its columns as they are (%U) and does not cast",
                                 ours->children[i]->name, want, have);
                }
                Py_XDECREF(have);
                Py_XDECREF(want);
                return -1;
            }
        }
    }
    PyObject *have = arrow_format_description(ours);
    PyObject *want = have ? arrow_format_description(req) : NULL;
    if (want != NULL) {
        PyErr_Format(PyExc_NotImplementedError,
                     "cannot export as the requested Arrow type %U: traffickstats exports "
                     "its data as it is (%U) and does not cast", want, have);
    }
    Py_XDECREF(have);
    Py_XDECREF(want);
    return -1;
}

/* _arrow_export_schema(obj) -> "arrow_schema" capsule
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
PyObject *
arrow_export_schema(PyObject *module, PyObject *obj)
{
    struct ArrowSchema *s = malloc(sizeof *s);
    if (s == NULL) return PyErr_NoMemory();
    if (object_schema(s, obj) < 0) {
        free(s);
        return NULL;
    }
    return arrow_schema_capsule(s);
}

/* _arrow_export_array(obj, requested_schema=None) -> (schema capsule, array capsule)
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
PyObject *
arrow_export_array(PyObject *module, PyObject *args)
{
    PyObject *obj, *requested = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:_arrow_export_array", &obj, &requested)) return NULL;
    struct ArrowSchema *s = malloc(sizeof *s);
    if (s == NULL) return PyErr_NoMemory();
    if (object_schema(s, obj) < 0) {
        free(s);
        return NULL;
    }
    PyObject *scap = arrow_schema_capsule(s);
    if (scap == NULL) return NULL;
    if (check_requested(requested, s) < 0) {
        Py_DECREF(scap);
        return NULL;
    }
    struct ArrowArray *a = malloc(sizeof *a);
    if (a == NULL) {
        Py_DECREF(scap);
        return PyErr_NoMemory();
    }
    int r = ts_is_table(obj) ? table_array(a, (ts_table *)obj) : column_array(a, (ts_column *)obj);
    if (r < 0) {
        free(a);
        Py_DECREF(scap);
        return NULL;
    }
    PyObject *acap = arrow_array_capsule(a);
    if (acap == NULL) {
        Py_DECREF(scap);
        return NULL;
    }
    return Py_BuildValue("(NN)", scap, acap);
}

/* ---- stream ------------------------------------------------------------ */

typedef struct {
    struct ArrowSchema schema;   /* template handed out as copies */
    struct ArrowArray batch;     /* the one batch; release NULL once handed out */
} stream_priv;

static int
stream_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
    stream_priv *p = st->private_data;
    return schema_copy(out, &p->schema) < 0 ? ENOMEM : 0;
}

static int
stream_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
    stream_priv *p = st->private_data;
    if (p->batch.release != NULL) {
        *out = p->batch;            /* move */
        p->batch.release = NULL;
    }
    else {
        memset(out, 0, sizeof *out);  /* end of stream */
    }
    return 0;
}

static const char *
stream_get_last_error(struct ArrowArrayStream *st)
{
    return NULL;
}

static void
stream_release(struct ArrowArrayStream *st)
{
    if (st == NULL || st->release == NULL) return;
    stream_priv *p = st->private_data;
    if (p->batch.release != NULL) p->batch.release(&p->batch);
    schema_release(&p->schema);
    free(p);
    st->release = NULL;
}

/* _arrow_export_stream(table, requested_schema=None) -> "arrow_array_stream" capsule
 * holding the whole table as one record batch.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
PyObject *
arrow_export_stream(PyObject *module, PyObject *args)
{
    PyObject *obj, *requested = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:_arrow_export_stream", &obj, &requested)) return NULL;
    if (!ts_is_table(obj)) {
        PyErr_Format(PyExc_TypeError, "expected a Table, got %.100s", Py_TYPE(obj)->tp_name);
        return NULL;
    }
    stream_priv *p = calloc(1, sizeof *p);
    if (p == NULL) return PyErr_NoMemory();
    if (table_schema(&p->schema, (ts_table *)obj) < 0) {
        free(p);
        return NULL;
    }
    if (check_requested(requested, &p->schema) < 0 || table_array(&p->batch, (ts_table *)obj) < 0) {
        schema_release(&p->schema);
        free(p);
        return NULL;
    }
    struct ArrowArrayStream *st = malloc(sizeof *st);
    if (st == NULL) {
        array_release(&p->batch);
        schema_release(&p->schema);
        free(p);
        return PyErr_NoMemory();
    }
    st->get_schema = stream_get_schema;
    st->get_next = stream_get_next;
    st->get_last_error = stream_get_last_error;
    st->release = stream_release;
    st->private_data = p;
    PyObject *cap = PyCapsule_New(st, "arrow_array_stream", stream_capsule_destructor);
    if (cap == NULL) {
        stream_release(st);
        free(st);
    }
    return cap;
}

PyMethodDef ts_arrow_functions[] = {
    {"_arrow_export_schema", (PyCFunction)arrow_export_schema, METH_O,
     "_arrow_export_schema(table_or_column)\n--\n\nAn 'arrow_schema' PyCapsule describing the data."},
    {"_arrow_export_array", (PyCFunction)arrow_export_array, METH_VARARGS,
     "_arrow_export_array(table_or_column, requested_schema=None)\n--\n\n"
     "(schema capsule, array capsule) sharing the buffers (a table becomes a struct array)."},
    {"_arrow_export_stream", (PyCFunction)arrow_export_stream, METH_VARARGS,
     "_arrow_export_stream(table, requested_schema=None)\n--\n\n"
     "An 'arrow_array_stream' PyCapsule yielding the table as one record batch."},
    {"_arrow_import_array", (PyCFunction)arrow_import_array, METH_VARARGS,
     "_arrow_import_array(schema_capsule, array_capsule)\n--\n\n"
     "(names, columns) of a record batch; any other array gives one column."},
    {"_arrow_import_stream", (PyCFunction)arrow_import_stream, METH_O,
     "_arrow_import_stream(stream_capsule)\n--\n\n(names, [columns of each batch])."},
    {NULL},
};

/* Ownership: borrows module (the functions are added to it). */
int
ts_arrow_exec(PyObject *module)
{
    return PyModule_AddFunctions(module, ts_arrow_functions);
}
