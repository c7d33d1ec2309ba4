/*
 * arrow.c -- the Arrow C Data / C Stream interfaces for Table and Column, used by the
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
 *
 * Import adopts the producer's ArrowArray (a capsule owns it and calls its release
 * when the last column referencing it dies), and shares its buffers when the layout
 * is ours: int32/int64/float64/date32 values, utf8 offsets and data, list offsets,
 * int32/uint32 dictionary indices with -1 at null slots, validity bitmaps.  Anything
 * else is converted into new buffers: bool (bits to bytes), int8/int16/uint8/uint16
 * (to int32), uint32 (to int64), float32 (to float64), large_string, string_view,
 * large_list, other index widths, dictionary codes at null slots that are not -1, and
 * dictionaries with repeated values or null entries (made distinct, codes remapped).
 * Imported buffers are validated (offsets monotone, codes in range, UTF-8) so that a
 * corrupt producer raises an exception instead of crashing.
 */
#include "arrow.h"
#include "util/utf8.h"

#include <errno.h>
#include <stdlib.h>

/* Brackets a loop over n elements that touches no Python object: the GIL is released
 * when n is large.  No jump may leave the bracket. */
#define NOGIL_BEGIN(n) { PyThreadState *nogil_save_ = (n) > TS_NOGIL_THRESHOLD ? PyEval_SaveThread() : NULL;
#define NOGIL_END if (nogil_save_ != NULL) PyEval_RestoreThread(nogil_save_); }

/* ======================================================================== */
/* schemas (pure C: safe without the GIL)                                    */

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

/* A zeroed block for buffers of empty columns that have none. */
static const int64_t zero_block[4] = {0, 0, 0, 0};

/* Drops a Python reference from any thread, taking the GIL first; skipped once the
 * interpreter is finalised (the object is then gone anyway). */
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
 * Returns 0 or -1 with MemoryError. */
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
    return p != NULL ? p : (const void *)zero_block;
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

/* New reference: a capsule owning a malloc'ed, initialised schema (released on failure). */
static PyObject *
schema_capsule(struct ArrowSchema *s)
{
    PyObject *cap = PyCapsule_New(s, "arrow_schema", schema_capsule_destructor);
    if (cap == NULL) {
        schema_release(s);
        free(s);
    }
    return cap;
}

/* New reference: a capsule owning a malloc'ed, initialised array (released on failure). */
static PyObject *
array_capsule(struct ArrowArray *a)
{
    PyObject *cap = PyCapsule_New(a, "arrow_array", array_capsule_destructor);
    if (cap == NULL) {
        array_release(a);
        free(a);
    }
    return cap;
}

/* Builds the schema of obj (Table or Column) into *s.  0, or -1 with an exception. */
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

/* New reference: a str describing a schema's type for messages ("'i' (dictionary indices) with values 'u'"). */
static PyObject *
format_description(const struct ArrowSchema *s)
{
    if (s->format == NULL) {  /* a malformed producer's schema, described for the error */
        return PyUnicode_FromString("(no format)");
    }
    if (s->dictionary != NULL) {
        PyObject *v = format_description(s->dictionary);
        if (v == NULL) return NULL;
        PyObject *r = PyUnicode_FromFormat("'%s' (dictionary indices) with values %U", s->format, v);
        Py_DECREF(v);
        return r;
    }
    if (s->n_children == 1 && s->format[0] == '+' && s->children != NULL && s->children[0] != NULL) {
        PyObject *v = format_description(s->children[0]);
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
 * exception naming the first column whose type differs. */
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
                PyObject *have = format_description(ours->children[i]);
                PyObject *want = have ? format_description(req->children[i]) : NULL;
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
    PyObject *have = format_description(ours);
    PyObject *want = have ? format_description(req) : NULL;
    if (want != NULL) {
        PyErr_Format(PyExc_NotImplementedError,
                     "cannot export as the requested Arrow type %U: traffickstats exports "
                     "its data as it is (%U) and does not cast", want, have);
    }
    Py_XDECREF(have);
    Py_XDECREF(want);
    return -1;
}

/* _arrow_export_schema(obj) -> "arrow_schema" capsule */
static PyObject *
arrow_export_schema(PyObject *module, PyObject *obj)
{
    struct ArrowSchema *s = malloc(sizeof *s);
    if (s == NULL) return PyErr_NoMemory();
    if (object_schema(s, obj) < 0) {
        free(s);
        return NULL;
    }
    return schema_capsule(s);
}

/* _arrow_export_array(obj, requested_schema=None) -> (schema capsule, array capsule) */
static PyObject *
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
    PyObject *scap = schema_capsule(s);
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
    PyObject *acap = array_capsule(a);
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
 * holding the whole table as one record batch. */
static PyObject *
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

/* ======================================================================== */
/* import                                                                    */

/* The capsule that owns an imported ArrowArray: its destructor calls release. */
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

/* New reference: a holder capsule; moves *src into it (src->release set NULL). */
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

/* Returns NULL with TypeError: the column's Arrow type is not one we hold. */
static PyObject *
unsupported(PyObject *name, const struct ArrowSchema *s, const char *why)
{
    PyObject *d = format_description(s);
    if (d == NULL) return NULL;
    ts_error_col(PyExc_TypeError, name, "unsupported Arrow type (format %U)%s", d, why);
    Py_DECREF(d);
    return NULL;
}

/* Checks UTF-8 of [0, n) with the GIL released for large inputs.  0 or -1 (ValueError). */
static int
check_text(const uint8_t *s, int64_t n, PyObject *name)
{
    int64_t bad = 0;
    int ok;
    if (n > TS_NOGIL_THRESHOLD) {
        Py_BEGIN_ALLOW_THREADS
        ok = ts_utf8_valid(s, (size_t)n, &bad);
        Py_END_ALLOW_THREADS
    }
    else {
        ok = ts_utf8_valid(s, (size_t)n, &bad);
    }
    if (!ok) {
        ts_error_col(PyExc_ValueError, name, "Arrow string data is not valid UTF-8 (byte %lld)", (long long)bad);
        return -1;
    }
    return 0;
}

/* Validity of the imported array, either shared (same offset) or copied to offset 0.
 * Sets col->validity and col->null_count.  0, or -1 with an exception. */
static int
import_validity(ts_column *col, const struct ArrowArray *a, PyObject *holder, int rebase, PyObject *name)
{
    const uint8_t *bm = a->buffers[0];
    if (a->null_count == 0 || bm == NULL || a->length == 0) {
        if (bm == NULL && a->null_count > 0) {
            ts_error_col(PyExc_ValueError, name, "Arrow array has %lld nulls but no validity bitmap",
                         (long long)a->null_count);
            return -1;
        }
        col->null_count = 0;
        return 0;
    }
    if (!rebase) {
        col->validity.owner = Py_NewRef(holder);
        col->validity.data = (void *)bm;
    }
    else {
        if (ts_buffer_alloc(&col->validity, (a->length + 7) / 8) < 0) return -1;
        uint8_t *dst = col->validity.data;
        if (a->offset % 8 == 0) {
            memcpy(dst, bm + a->offset / 8, (size_t)(a->length + 7) / 8);
        }
        else {
            NOGIL_BEGIN(a->length)
            for (int64_t i = 0; i < a->length; i++) {
                if (ts_bit_get(bm, a->offset + i)) ts_bit_set(dst, i);
            }
            NOGIL_END
        }
    }
    col->null_count = a->null_count < 0 ? -1 : a->null_count;
    return 0;
}

/* Is the (absolute) element i of the imported array valid? */
static inline int
arrow_valid(const struct ArrowArray *a, int64_t i)
{
    const uint8_t *bm = a->buffers[0];
    return bm == NULL || a->null_count == 0 || ts_bit_get(bm, i);
}

/* Checks n_buffers and that the needed buffers are there.  0 or -1 (ValueError). */
static int
check_buffers(const struct ArrowArray *a, int64_t n_buffers, PyObject *name)
{
    if (a->length < 0 || a->offset < 0 || a->n_buffers != n_buffers || (n_buffers > 0 && a->buffers == NULL)) {
        ts_error_col(PyExc_ValueError, name,
                     "malformed Arrow array (length %lld, offset %lld, %lld buffers; expected %lld buffers)",
                     (long long)a->length, (long long)a->offset, (long long)a->n_buffers, (long long)n_buffers);
        return -1;
    }
    for (int64_t b = 1; b < n_buffers; b++) {
        if (a->buffers[b] == NULL && a->length > 0) {
            ts_error_col(PyExc_ValueError, name, "Arrow array buffer %lld is missing", (long long)b);
            return -1;
        }
    }
    return 0;
}

/* Reads offsets (int32 or int64) of rows [offset, offset+length] and checks them.
 * Returns 0 with *first and *last set, or -1 (ValueError). */
static int
check_offsets(const void *offs, int wide, const struct ArrowArray *a, PyObject *name,
              int64_t *first, int64_t *last)
{
    if (a->length == 0 || offs == NULL) {
        *first = *last = 0;
        if (offs != NULL) {
            *first = *last = wide ? ((const int64_t *)offs)[a->offset] : ((const int32_t *)offs)[a->offset];
        }
        if (*first < 0) goto bad;
        return 0;
    }
    int64_t prev = wide ? ((const int64_t *)offs)[a->offset] : ((const int32_t *)offs)[a->offset];
    *first = prev;
    if (prev < 0) goto bad;
    int ok = 1;
    Py_BEGIN_ALLOW_THREADS
    for (int64_t i = a->offset + 1; i <= a->offset + a->length; i++) {
        int64_t o = wide ? ((const int64_t *)offs)[i] : ((const int32_t *)offs)[i];
        if (o < prev) { ok = 0; break; }
        prev = o;
    }
    Py_END_ALLOW_THREADS
    if (!ok) goto bad;
    *last = prev;
    return 0;
bad:
    ts_error_col(PyExc_ValueError, name, "Arrow offsets are negative or decreasing");
    return -1;
}

/* New int32 offsets buffer (offset 0) holding o[i] - o[offset] for the rows.  0/-1. */
static int
rebase_offsets(ts_buffer *dst, const void *offs, int wide, const struct ArrowArray *a, int64_t first,
               int64_t last, PyObject *name)
{
    if (last - first > INT32_MAX) {
        ts_error_col(PyExc_OverflowError, name,
                     "more than 2**31-1 string bytes or list items (%lld); traffickstats uses int32 offsets",
                     (long long)(last - first));
        return -1;
    }
    if (ts_buffer_alloc(dst, (a->length + 1) * (Py_ssize_t)sizeof(int32_t)) < 0) return -1;
    int32_t *o = dst->data;
    if (offs == NULL) return 0;
    NOGIL_BEGIN(a->length)
    for (int64_t i = 0; i <= a->length; i++) {
        int64_t v = wide ? ((const int64_t *)offs)[a->offset + i] : ((const int32_t *)offs)[a->offset + i];
        o[i] = (int32_t)(v - first);
    }
    NOGIL_END
    return 0;
}

/* String data from a string_view ("vu") array, copied into new offsets/values at
 * offset 0 (validity rebased).  0, or -1 with an exception. */
static int
import_string_view(ts_column *col, const struct ArrowArray *a, PyObject *holder, PyObject *name)
{
    if (a->n_buffers < 3 || a->length < 0 || a->offset < 0 || a->buffers == NULL ||
        (a->length > 0 && a->buffers[1] == NULL)) {
        ts_error_col(PyExc_ValueError, name, "malformed Arrow string_view array");
        return -1;
    }
    int64_t nvar = a->n_buffers - 3;
    const int64_t *sizes = a->buffers[a->n_buffers - 1];
    const uint8_t *views = a->buffers[1];
    int64_t total = 0;
    int ok = 1;
    NOGIL_BEGIN(a->length)
    for (int64_t i = 0; i < a->length; i++) {
        int64_t j = a->offset + i;
        if (!arrow_valid(a, j)) continue;
        int32_t len;
        memcpy(&len, views + 16 * j, 4);
        if (len < 0) { ok = 0; break; }
        if (len > 12) {
            int32_t bi, off;
            memcpy(&bi, views + 16 * j + 8, 4);
            memcpy(&off, views + 16 * j + 12, 4);
            if (bi < 0 || bi >= nvar || off < 0 || a->buffers[2 + bi] == NULL ||
                (sizes != NULL && (int64_t)off + len > sizes[bi])) {
                ok = 0;
                break;
            }
        }
        total += len;
    }
    NOGIL_END
    if (!ok) goto bad;
    if (total > INT32_MAX) {
        ts_error_col(PyExc_OverflowError, name, "more than 2**31-1 string bytes");
        return -1;
    }
    if (ts_buffer_alloc(&col->offsets, (a->length + 1) * (Py_ssize_t)sizeof(int32_t)) < 0) return -1;
    if (ts_buffer_alloc(&col->values, (Py_ssize_t)total) < 0) return -1;
    int32_t *o = col->offsets.data;
    uint8_t *dst = col->values.data;
    int64_t pos = 0;
    o[0] = 0;
    NOGIL_BEGIN(a->length)
    for (int64_t i = 0; i < a->length; i++) {
        int64_t j = a->offset + i;
        if (arrow_valid(a, j)) {
            int32_t len;
            memcpy(&len, views + 16 * j, 4);
            if (len <= 12) {
                memcpy(dst + pos, views + 16 * j + 4, (size_t)len);
            }
            else {
                int32_t bi, off;
                memcpy(&bi, views + 16 * j + 8, 4);
                memcpy(&off, views + 16 * j + 12, 4);
                memcpy(dst + pos, (const uint8_t *)a->buffers[2 + bi] + off, (size_t)len);
            }
            pos += len;
        }
        o[i + 1] = (int32_t)pos;
    }
    NOGIL_END
    if (check_text(dst, total, name) < 0) return -1;
    return import_validity(col, a, holder, 1, name);
bad:
    ts_error_col(PyExc_ValueError, name, "malformed Arrow string_view entry");
    return -1;
}

/* Fills a string column from a "u", "U" or "vu" array.  0, or -1 with an exception.
 * For dictionaries (no_nulls), nulls are refused. */
static int
import_string(ts_column *col, const struct ArrowSchema *s, const struct ArrowArray *a, PyObject *holder,
              PyObject *name, int no_nulls)
{
    if (no_nulls && a->null_count != 0 && a->buffers != NULL && a->n_buffers > 0 && a->buffers[0] != NULL) {
        int64_t nulls = 0;
        for (int64_t i = 0; i < a->length; i++) nulls += !ts_bit_get(a->buffers[0], a->offset + i);
        if (nulls > 0) {
            ts_error_col(PyExc_ValueError, name, "an Arrow dictionary holds nulls; categories cannot be null");
            return -1;
        }
    }
    col->length = a->length;
    if (strcmp(s->format, "vu") == 0) return import_string_view(col, a, holder, name);
    int wide = strcmp(s->format, "U") == 0;
    if (check_buffers(a, 3, name) < 0) return -1;
    int64_t first, last;
    if (check_offsets(a->buffers[1], wide, a, name, &first, &last) < 0) return -1;
    const uint8_t *data = a->length > 0 ? a->buffers[2] : (const uint8_t *)zero_block;
    if (data == NULL) data = (const uint8_t *)zero_block;
    if (check_text(data + first, last - first, name) < 0) return -1;
    if (!wide && a->length > 0) {
        col->offset = a->offset;
        col->offsets.owner = Py_NewRef(holder);
        col->offsets.data = (void *)a->buffers[1];
        col->values.owner = Py_NewRef(holder);
        col->values.data = (void *)data;
        return import_validity(col, a, holder, 0, name);
    }
    /* large_string (or empty): int32 offsets rebased to 0; the data is still shared */
    if (rebase_offsets(&col->offsets, a->buffers[1], wide, a, first, last, name) < 0) return -1;
    col->values.owner = Py_NewRef(holder);
    col->values.data = (void *)(data + first);
    return import_validity(col, a, holder, 1, name);
}

/* New reference: the dictionary (string column, unique, no nulls) of an imported
 * dictionary-encoded array.  When the Arrow dictionary holds duplicate values or
 * nulls (both allowed by Arrow), the result is a new dictionary of the distinct
 * values, and *remap (malloc'ed, freed by the caller) maps each Arrow index to its
 * code there, or -1 for a null entry; otherwise the dictionary is shared and *remap
 * is NULL.  *n_arrow is the Arrow dictionary's length (the range of valid indices). */
static ts_column *
import_dictionary(const struct ArrowSchema *s, const struct ArrowArray *a, PyObject *holder, PyObject *name,
                  int32_t **remap, int64_t *n_arrow)
{
    const char *f = s->dictionary->format;
    PyObject *labels = NULL, *map = NULL, *unique = NULL;
    *remap = NULL;
    if (a->dictionary == NULL) {
        ts_error_col(PyExc_ValueError, name, "dictionary-encoded Arrow array without a dictionary");
        return NULL;
    }
    if (strcmp(f, "u") != 0 && strcmp(f, "U") != 0 && strcmp(f, "vu") != 0) {
        return (ts_column *)unsupported(name, s, ": dictionary values must be strings");
    }
    ts_column *d = ts_column_alloc(TS_STRING);
    if (d == NULL) return NULL;
    if (import_string(d, s->dictionary, a->dictionary, holder, name, 0) < 0) goto error;
    d = ts_column_finish(d);
    if (d == NULL) return NULL;
    *n_arrow = d->length;
    labels = ts_dictionary_labels(d);
    if (labels == NULL) goto error;
    map = PyDict_New();
    unique = PyList_New(0);
    if (map == NULL || unique == NULL) goto error;
    int32_t *rm = malloc((size_t)(d->length > 0 ? d->length : 1) * sizeof *rm);
    if (rm == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    *remap = rm;
    for (Py_ssize_t i = 0; i < d->length; i++) {
        if (!ts_col_valid(d, i)) {
            rm[i] = -1;
            continue;
        }
        PyObject *label = PyTuple_GET_ITEM(labels, i);
        PyObject *code = PyDict_GetItemWithError(map, label);  /* borrowed */
        if (code == NULL) {
            if (PyErr_Occurred()) goto error;
            code = PyLong_FromSsize_t(PyList_GET_SIZE(unique));
            if (code == NULL) goto error;
            int r = PyDict_SetItem(map, label, code);
            Py_DECREF(code);
            if (r < 0 || PyList_Append(unique, label) < 0) goto error;
            code = PyDict_GetItemWithError(map, label);
            if (code == NULL) goto error;
        }
        rm[i] = (int32_t)PyLong_AsLong(code);
    }
    if (PyList_GET_SIZE(unique) == d->length) {
        /* distinct and no nulls: share the Arrow dictionary as it is */
        free(rm);
        *remap = NULL;
    }
    else {
        ts_column *nd = ts_string_column_from_strs(unique, 0, "categories");
        if (nd == NULL) goto error;
        Py_SETREF(d, nd);
    }
    Py_DECREF(labels);
    Py_DECREF(map);
    Py_DECREF(unique);
    return d;
error:
    free(*remap);
    *remap = NULL;
    Py_XDECREF(labels);
    Py_XDECREF(map);
    Py_XDECREF(unique);
    Py_DECREF(d);
    return NULL;
}

/* Reads index i of an integer buffer of the given format letter. */
static inline int64_t
read_index(const void *p, char f, int64_t i)
{
    switch (f) {
    case 'c': return ((const int8_t *)p)[i];
    case 'C': return ((const uint8_t *)p)[i];
    case 's': return ((const int16_t *)p)[i];
    case 'S': return ((const uint16_t *)p)[i];
    case 'i': return ((const int32_t *)p)[i];
    case 'I': return ((const uint32_t *)p)[i];
    case 'l': return ((const int64_t *)p)[i];
    default: {
        uint64_t v = ((const uint64_t *)p)[i];
        return v > INT64_MAX ? -2 : (int64_t)v;
    }
    }
}

static int
is_index_format(const char *f)
{
    return f[0] != '\0' && f[1] == '\0' && strchr("cCsSiIlL", f[0]) != NULL;
}

/* Fills a category column from a dictionary-encoded array.  0, or -1. */
static int
import_category(ts_column *col, const struct ArrowSchema *s, const struct ArrowArray *a, PyObject *holder,
                PyObject *name)
{
    if (!is_index_format(s->format)) {
        unsupported(name, s, "");
        return -1;
    }
    if (check_buffers(a, 2, name) < 0) return -1;
    int32_t *remap = NULL;
    int64_t ndict = 0;
    col->dictionary = import_dictionary(s, a, holder, name, &remap, &ndict);
    if (col->dictionary == NULL) return -1;
    char f = s->format[0];
    const void *codes = a->buffers[1];
    col->length = a->length;
    /* zero copy when the codes are 32-bit, in range, and -1 at null slots */
    int share = (f == 'i' || f == 'I') && remap == NULL, bad = 0;
    Py_ssize_t bad_row = 0;
    Py_BEGIN_ALLOW_THREADS
    for (int64_t i = 0; i < a->length; i++) {
        int64_t j = a->offset + i;
        if (arrow_valid(a, j)) {
            int64_t v = read_index(codes, f, j);
            if (v < 0 || v >= ndict) { bad = 1; bad_row = i; break; }
        }
        else if (share && ((const int32_t *)codes)[j] != -1) {
            share = 0;
        }
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        free(remap);
        ts_error_col(PyExc_ValueError, name, "Arrow dictionary index at row %lld is outside the %lld categories",
                     (long long)bad_row, (long long)ndict);
        return -1;
    }
    if (share && a->length > 0) {
        col->offset = a->offset;
        col->values.owner = Py_NewRef(holder);
        col->values.data = (void *)codes;
        return import_validity(col, a, holder, 0, name);
    }
    if (ts_buffer_alloc(&col->values, a->length * (Py_ssize_t)sizeof(int32_t)) < 0) {
        free(remap);
        return -1;
    }
    int32_t *out = col->values.data;
    NOGIL_BEGIN(a->length)
    for (int64_t i = 0; i < a->length; i++) {
        int64_t j = a->offset + i;
        int32_t c = arrow_valid(a, j) ? (int32_t)read_index(codes, f, j) : -1;
        out[i] = (remap != NULL && c >= 0) ? remap[c] : c;
    }
    NOGIL_END
    if (remap == NULL) return import_validity(col, a, holder, 1, name);
    /* a row pointing at a null dictionary entry is null: rebuild the bitmap from the codes */
    free(remap);
    if (ts_buffer_alloc(&col->validity, (a->length + 7) / 8) < 0) return -1;
    NOGIL_BEGIN(a->length)
    for (int64_t i = 0; i < a->length; i++) {
        if (out[i] >= 0) ts_bit_set(col->validity.data, i);
    }
    NOGIL_END
    col->null_count = -1;
    return 0;
}

static int
is_string_format(const char *f)
{
    return strcmp(f, "u") == 0 || strcmp(f, "U") == 0 || strcmp(f, "vu") == 0;
}

/* Fills a list<category> column from a list of plain strings ("+l" or "+L" of "u",
 * "U" or "vu"), dictionary-encoding the items (a copy; categories sorted as
 * from_objects sorts them).  0, or -1 with an exception. */
static int
import_list_of_strings(ts_column *col, const struct ArrowSchema *s, const struct ArrowArray *a,
                       PyObject *holder, PyObject *name)
{
    int wide = s->format[1] == 'L';
    PyObject *map = NULL, *labels = NULL, *sorted = NULL;
    ts_column *items = NULL;
    int32_t *remap = NULL;
    if (check_buffers(a, 2, name) < 0) return -1;
    if (a->n_children != 1 || a->children == NULL || a->children[0] == NULL) {
        ts_error_col(PyExc_ValueError, name, "malformed Arrow list array (no child)");
        return -1;
    }
    const struct ArrowArray *ca = a->children[0];
    col->length = a->length;
    int64_t first, last;
    if (check_offsets(a->buffers[1], wide, a, name, &first, &last) < 0) return -1;
    if (last > ca->length) {
        ts_error_col(PyExc_ValueError, name, "Arrow list offsets point past the %lld list items",
                     (long long)ca->length);
        return -1;
    }
    items = ts_column_alloc(TS_STRING);
    if (items == NULL) return -1;
    if (import_string(items, s->children[0], ca, holder, name, 1) < 0) goto error;
    if (rebase_offsets(&col->offsets, a->buffers[1], wide, a, first, last, name) < 0) goto error;
    if (ts_buffer_alloc(&col->values, (last - first) * (Py_ssize_t)sizeof(int32_t)) < 0) goto error;
    map = PyDict_New();
    labels = PyList_New(0);
    if (map == NULL || labels == NULL) goto error;
    int32_t *codes = col->values.data;
    const int32_t *io = (const int32_t *)items->offsets.data + items->offset;
    const char *data = items->values.data;
    for (int64_t k = first; k < last; k++) {
        PyObject *str = PyUnicode_DecodeUTF8(data + io[k], io[k + 1] - io[k], "strict");
        if (str == NULL) goto error;
        PyObject *code = PyDict_GetItemWithError(map, str);  /* borrowed */
        if (code == NULL) {
            if (PyErr_Occurred()) { Py_DECREF(str); goto error; }
            code = PyLong_FromSsize_t(PyList_GET_SIZE(labels));
            if (code == NULL || PyDict_SetItem(map, str, code) < 0 || PyList_Append(labels, str) < 0) {
                Py_XDECREF(code);
                Py_DECREF(str);
                goto error;
            }
            Py_DECREF(code);
            code = PyDict_GetItemWithError(map, str);
        }
        codes[k - first] = (int32_t)PyLong_AsLong(code);
        Py_DECREF(str);
    }
    Py_ssize_t nl = PyList_GET_SIZE(labels);
    sorted = PyList_GetSlice(labels, 0, nl);
    if (sorted == NULL || PyList_Sort(sorted) < 0) goto error;
    remap = malloc((size_t)(nl > 0 ? nl : 1) * sizeof *remap);
    if (remap == NULL) { PyErr_NoMemory(); goto error; }
    for (Py_ssize_t j = 0; j < nl; j++) {
        PyObject *old = PyDict_GetItemWithError(map, PyList_GET_ITEM(sorted, j));
        if (old == NULL) goto error;
        remap[PyLong_AsLong(old)] = (int32_t)j;
    }
    for (int64_t k = 0; k < last - first; k++) codes[k] = remap[codes[k]];
    col->dictionary = ts_string_column_from_strs(sorted, 0, "categories");
    if (col->dictionary == NULL) goto error;
    free(remap);
    Py_DECREF(sorted);
    Py_DECREF(labels);
    Py_DECREF(map);
    Py_DECREF(items);
    return import_validity(col, a, holder, 1, name);
error:
    free(remap);
    Py_XDECREF(sorted);
    Py_XDECREF(labels);
    Py_XDECREF(map);
    Py_XDECREF(items);
    return -1;
}

/* Fills a list<category> column from a "+l"/"+L" array whose items are dictionary-
 * encoded strings.  0, or -1. */
static int
import_list(ts_column *col, const struct ArrowSchema *s, const struct ArrowArray *a, PyObject *holder,
            PyObject *name)
{
    int wide = s->format[1] == 'L';
    const struct ArrowSchema *cs = s->children[0];
    if (cs == NULL || cs->format == NULL || (cs->dictionary != NULL && cs->dictionary->format == NULL)) {
        ts_error_col(PyExc_ValueError, name, "malformed Arrow schema (list item type)");
        return -1;
    }
    if (cs->dictionary == NULL && is_string_format(cs->format)) {
        return import_list_of_strings(col, s, a, holder, name);
    }
    if (cs->dictionary == NULL || !is_index_format(cs->format)) {
        unsupported(name, s, ": list items must be dictionary-encoded strings (categories)");
        return -1;
    }
    if (check_buffers(a, 2, name) < 0) return -1;
    if (a->n_children != 1 || a->children == NULL || a->children[0] == NULL) {
        ts_error_col(PyExc_ValueError, name, "malformed Arrow list array (no child)");
        return -1;
    }
    const struct ArrowArray *ca = a->children[0];
    if (ca->n_buffers != 2 || ca->buffers == NULL || ca->offset < 0 || ca->length < 0) {
        ts_error_col(PyExc_ValueError, name, "malformed Arrow list child array");
        return -1;
    }
    col->length = a->length;
    int32_t *remap = NULL;
    int64_t ndict = 0;
    col->dictionary = import_dictionary(cs, ca, holder, name, &remap, &ndict);
    if (col->dictionary == NULL) return -1;
    int64_t first, last;
    if (check_offsets(a->buffers[1], wide, a, name, &first, &last) < 0) goto error;
    if (last > ca->length) {
        ts_error_col(PyExc_ValueError, name, "Arrow list offsets point past the %lld list items",
                     (long long)ca->length);
        goto error;
    }
    if (last > first && ca->buffers[1] == NULL) {
        ts_error_col(PyExc_ValueError, name, "Arrow list item codes are missing");
        goto error;
    }
    /* items in [first, last) must be valid codes of non-null dictionary entries */
    char f = cs->format[0];
    const void *codes = ca->buffers[1];
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (int64_t k = first; k < last; k++) {
        int64_t j = ca->offset + k;
        if (!arrow_valid(ca, j)) { bad = 1; break; }
        int64_t v = read_index(codes, f, j);
        if (v < 0 || v >= ndict) { bad = 2; break; }
        if (remap != NULL && remap[v] < 0) { bad = 1; break; }
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        ts_error_col(PyExc_ValueError, name, bad == 1 ? "Arrow list items are null; list<category> items cannot be null"
                                                      : "Arrow list item code is outside the %lld categories",
                     (long long)ndict);
        goto error;
    }
    int share_codes = (f == 'i' || f == 'I') && remap == NULL;
    if (!wide && share_codes && a->length > 0) {
        col->offset = a->offset;
        col->offsets.owner = Py_NewRef(holder);
        col->offsets.data = (void *)a->buffers[1];
        col->values.owner = Py_NewRef(holder);
        col->values.data = (void *)((const int32_t *)codes + ca->offset);
        return import_validity(col, a, holder, 0, name);
    }
    if (rebase_offsets(&col->offsets, a->buffers[1], wide, a, first, last, name) < 0) goto error;
    if (share_codes && last > first) {
        col->values.owner = Py_NewRef(holder);
        col->values.data = (void *)((const int32_t *)codes + ca->offset + first);
    }
    else {
        if (ts_buffer_alloc(&col->values, (last - first) * (Py_ssize_t)sizeof(int32_t)) < 0) goto error;
        int32_t *out = col->values.data;
        NOGIL_BEGIN(last - first)
        for (int64_t k = first; k < last; k++) {
            int64_t v = read_index(codes, f, ca->offset + k);
            out[k - first] = remap != NULL ? remap[v] : (int32_t)v;
        }
        NOGIL_END
    }
    free(remap);
    return import_validity(col, a, holder, 1, name);
error:
    free(remap);
    return -1;
}

/* Fills a fixed-width column, sharing the values when the type matches. */
static int
import_fixed(ts_column *col, const struct ArrowSchema *s, const struct ArrowArray *a, PyObject *holder,
             PyObject *name)
{
    const char *f = s->format;
    if (check_buffers(a, 2, name) < 0) return -1;
    col->length = a->length;
    const void *v = a->buffers[1];
    int share = strcmp(f, "i") == 0 || strcmp(f, "l") == 0 || strcmp(f, "g") == 0 || strcmp(f, "tdD") == 0;
    if (share && a->length > 0) {
        col->offset = a->offset;
        col->values.owner = Py_NewRef(holder);
        col->values.data = (void *)v;
        return import_validity(col, a, holder, 0, name);
    }
    Py_ssize_t isz = ts_value_itemsize(col->type);
    if (ts_buffer_alloc(&col->values, a->length * isz) < 0) return -1;
    int64_t n = a->length, off = a->offset;
    void *out = col->values.data;
    PyThreadState *ts = n > TS_NOGIL_THRESHOLD ? PyEval_SaveThread() : NULL;
    if (n > 0) {
        switch (f[0]) {
        case 'b':
            for (int64_t i = 0; i < n; i++) ((uint8_t *)out)[i] = (uint8_t)ts_bit_get(v, off + i);
            break;
        case 'c': case 'C': case 's': case 'S':
            for (int64_t i = 0; i < n; i++) ((int32_t *)out)[i] = (int32_t)read_index(v, f[0], off + i);
            break;
        case 'I':
            for (int64_t i = 0; i < n; i++) ((int64_t *)out)[i] = ((const uint32_t *)v)[off + i];
            break;
        case 'f':
            for (int64_t i = 0; i < n; i++) ((double *)out)[i] = ((const float *)v)[off + i];
            break;
        default:
            break;
        }
    }
    if (ts) PyEval_RestoreThread(ts);
    return import_validity(col, a, holder, 1, name);
}

/* New reference: the column for (schema s, array a) whose memory `holder` owns. */
static ts_column *
import_column(const struct ArrowSchema *s, const struct ArrowArray *a, PyObject *holder, PyObject *name)
{
    const char *f = s->format;
    int type;
    if (f == NULL || (s->n_children > 0 && s->children == NULL) ||
        (s->dictionary != NULL && s->dictionary->format == NULL)) {
        ts_error_col(PyExc_ValueError, name, "malformed Arrow schema");
        return NULL;
    }
    if (s->dictionary != NULL) type = TS_CATEGORY;
    else if (strcmp(f, "b") == 0) type = TS_BOOL;
    else if (strcmp(f, "i") == 0 || strcmp(f, "c") == 0 || strcmp(f, "s") == 0 || strcmp(f, "C") == 0 ||
             strcmp(f, "S") == 0) type = TS_INT32;
    else if (strcmp(f, "l") == 0 || strcmp(f, "I") == 0) type = TS_INT64;
    else if (strcmp(f, "g") == 0 || strcmp(f, "f") == 0) type = TS_FLOAT64;
    else if (strcmp(f, "tdD") == 0) type = TS_DATE;
    else if (strcmp(f, "u") == 0 || strcmp(f, "U") == 0 || strcmp(f, "vu") == 0) type = TS_STRING;
    else if ((strcmp(f, "+l") == 0 || strcmp(f, "+L") == 0) && s->n_children == 1) type = TS_LIST;
    else {
        const char *why = "";
        if (strcmp(f, "L") == 0) why = ": uint64 does not fit int64; cast it first";
        else if (f[0] == 't') why = ": only date32 ('tdD') dates are supported; cast timestamps to date32";
        return (ts_column *)unsupported(name, s, why);
    }
    if (a->buffers == NULL && a->n_buffers > 0) {
        ts_error_col(PyExc_ValueError, name, "malformed Arrow array (no buffers)");
        return NULL;
    }
    ts_column *col = ts_column_alloc((ts_type)type);
    if (col == NULL) return NULL;
    int r;
    switch (type) {
    case TS_CATEGORY: r = import_category(col, s, a, holder, name); break;
    case TS_STRING: r = import_string(col, s, a, holder, name, 0); break;
    case TS_LIST: r = import_list(col, s, a, holder, name); break;
    default: r = import_fixed(col, s, a, holder, name); break;
    }
    if (r < 0) {
        Py_DECREF(col);
        return NULL;
    }
    /* empty columns may have been given no buffers: give them real ones */
    if (col->values.data == NULL && ts_buffer_alloc(&col->values, 8) < 0) goto error;
    if ((type == TS_STRING || type == TS_LIST) && col->offsets.data == NULL) {
        col->offset = 0;
        if (ts_buffer_alloc(&col->offsets, 8) < 0) goto error;
    }
    return ts_column_finish(col);
error:
    Py_DECREF(col);
    return NULL;
}

/* Imports a struct array (record batch) into a new tuple of columns; the array is
 * moved into a holder.  Also used for the names when names_out is not NULL. */
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
        ts_column *c = import_column(s->children[j], ca, holder, name);
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
 * The array is consumed. */
static PyObject *
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
    PyObject *col = name ? (PyObject *)import_column(s, h, holder, name) : NULL;
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
    for (int64_t b = 1; b < nb; b++) a->buffers[b] = zero_block;
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

/* Raises for a failed stream call, with the producer's message when it has one. */
static PyObject *
stream_error(struct ArrowArrayStream *st, int code, const char *what)
{
    const char *msg = st->get_last_error ? st->get_last_error(st) : NULL;
    PyErr_Format(PyExc_OSError, "Arrow stream %s failed (error %d)%s%s", what, code, msg ? ": " : "",
                 msg ? msg : "");
    return NULL;
}

/* _arrow_import_stream(stream_capsule) -> (names, [columns per batch]).  A stream
 * with no batches gives one empty batch.  The stream is consumed. */
static PyObject *
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

/* ======================================================================== */

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

int
ts_arrow_exec(PyObject *module)
{
    return PyModule_AddFunctions(module, ts_arrow_functions);
}
