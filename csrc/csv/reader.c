/*
 * csv/reader.c -- _core._csv_read, the Python binding of the CSV reader: arguments,
 * header and column selection, the chunk loop (the kernels run without the GIL),
 * turning kernel errors (csv_err) into ParseError, and finishing the columns.
 */
#include "csv/binding.h"
#include "util/utf8.h"

#include <stdlib.h>
/* New reference: the message for an error or bad row.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
err_message(reader *r, const csv_err *e, PyObject *path, PyObject *names)
{
    PyObject *what = NULL, *snip = NULL, *out = NULL;
    if (e->snip_len > 0 || e->kind == E_VALUE || e->kind == E_OVERFLOW) {
        snip = PyUnicode_DecodeUTF8(e->snip, e->snip_len, "backslashreplace");
        if (snip == NULL) return NULL;
    }
    switch (e->kind) {
    case E_NFIELDS:
        what = PyUnicode_FromFormat("expected %lld fields, saw %lld", (long long)e->a, (long long)e->b);
        break;
    case E_QUOTE:
        what = PyUnicode_FromString("unterminated quoted field (the quote opens on this line)");
        break;
    case E_AFTERQUOTE:
        what = PyUnicode_FromFormat("expected a delimiter or a line end after the closing quote, got %R", snip);
        break;
    case E_VALUE:
        what = PyUnicode_FromFormat("expected %s, got %R", e->expected, snip);
        break;
    case E_OVERFLOW:
        what = PyUnicode_FromFormat("integer out of range for %s: %R", e->expected, snip);
        break;
    case E_UTF8:
        what = PyUnicode_FromFormat("invalid UTF-8 at byte offset %lld", (long long)e->a);
        break;
    case E_FIELDSIZE:
        what = PyUnicode_FromFormat("field longer than max_field_size (%lld bytes)", (long long)e->a);
        break;
    default:
        what = PyUnicode_FromString(e->expected ? e->expected : "error");
        break;
    }
    Py_XDECREF(snip);
    if (what == NULL) return NULL;
    if (names != NULL && e->col >= 0 && e->col < PyTuple_GET_SIZE(names)) {
        out = PyUnicode_FromFormat("%U, line %lld, column %R: %U", path, (long long)e->line,
                                   PyTuple_GET_ITEM(names, e->col), what);
    }
    else {
        out = PyUnicode_FromFormat("%U, line %lld: %U", path, (long long)e->line, what);
    }
    Py_DECREF(what);
    return out;
}

/* Raises error_class(message, path, line, column) for r->err; returns NULL.
 * Ownership: returns NULL with the exception set; borrows all arguments. */
static PyObject *
raise_err(reader *r, PyObject *errcls, PyObject *path, PyObject *names)
{
    if (r->err.kind == E_NOMEM) return PyErr_NoMemory();
    PyObject *msg = err_message(r, &r->err, path, names);
    if (msg == NULL) return NULL;
    PyObject *col = Py_None;
    if (names != NULL && r->err.col >= 0 && r->err.col < PyTuple_GET_SIZE(names)) {
        col = PyTuple_GET_ITEM(names, r->err.col);
    }
    PyObject *exc = PyObject_CallFunction(errcls, "OOLO", msg, path, (long long)r->err.line, col);
    Py_DECREF(msg);
    if (exc == NULL) return NULL;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

typedef struct {
    const char *s;
    uint32_t len;
    int32_t code;
} label_ref;

static int
label_cmp(const void *a, const void *b)
{
    const label_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* Sorts the dictionary (UTF-8 byte order = code point order, as Python sorts str),
 * drops labels no row uses (when `check_used`; otherwise every label was interned
 * for a row that was kept) and rewrites the n codes.  New reference to the
 * dictionary column, or NULL. */
static ts_column *
finish_dict(ts_strdict *d, int32_t *codes, size_t n, int check_used)
{
    size_t k = d->count;
    label_ref *refs = PyMem_RawMalloc((k ? k : 1) * sizeof(label_ref));
    int32_t *remap = PyMem_RawMalloc((k ? k : 1) * sizeof(int32_t));
    uint8_t *used = PyMem_RawCalloc(k ? k : 1, 1);
    int32_t *offs = NULL;
    char *bytes = NULL;
    ts_column *dict = NULL;
    if (refs == NULL || remap == NULL || used == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (check_used) {
        Py_BEGIN_ALLOW_THREADS
        for (size_t i = 0; i < n; i++) {
            if (codes[i] >= 0) used[codes[i]] = 1;
        }
        Py_END_ALLOW_THREADS
    }
    else {
        memset(used, 1, k);
    }
    size_t m = 0, nbytes = 0;
    for (size_t c = 0; c < k; c++) {
        if (!used[c]) continue;
        refs[m].s = d->bytes + d->ent[c].off;
        refs[m].len = d->ent[c].len;
        refs[m].code = (int32_t)c;
        nbytes += d->ent[c].len;
        m++;
    }
    qsort(refs, m, sizeof(label_ref), label_cmp);
    offs = PyMem_RawMalloc((m + 1) * sizeof(int32_t));
    bytes = PyMem_RawMalloc(nbytes ? nbytes : 1);
    if (offs == NULL || bytes == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    offs[0] = 0;
    size_t pos = 0;
    for (size_t j = 0; j < m; j++) {
        memcpy(bytes + pos, refs[j].s, refs[j].len);
        pos += refs[j].len;
        offs[j + 1] = (int32_t)pos;
        remap[refs[j].code] = (int32_t)j;
    }
    Py_BEGIN_ALLOW_THREADS
    for (size_t i = 0; i < n; i++) {
        if (codes[i] >= 0) codes[i] = remap[codes[i]];
    }
    Py_END_ALLOW_THREADS
    dict = ts_column_alloc(TS_STRING);
    if (dict == NULL) goto done;
    dict->length = (Py_ssize_t)m;
    {
        int r1 = ts_buffer_adopt(&dict->values, bytes);
        bytes = NULL;
        int r2 = ts_buffer_adopt(&dict->offsets, offs);
        offs = NULL;
        if (r1 < 0 || r2 < 0) {
            Py_CLEAR(dict);
            goto done;
        }
    }
    dict = ts_column_finish(dict);
done:
    PyMem_RawFree(refs);
    PyMem_RawFree(remap);
    PyMem_RawFree(used);
    PyMem_RawFree(offs);
    PyMem_RawFree(bytes);
    return dict;
}

/* Shrinks a raw block to nbytes (>= 1). */
static void *
shrink(void *p, size_t nbytes)
{
    void *q = PyMem_RawRealloc(p, nbytes ? nbytes : 1);
    return q ? q : p;
}

/* New reference: the finished column; the colbuf's buffers pass to it. */
static ts_column *
finish_column(colbuf *c)
{
    if (c->type == ST_NONE) {
        if (csv_col_set_type(c, TS_CATEGORY) < 0) return (ts_column *)PyErr_NoMemory();
    }
    if (csv_col_reserve(c, 0) < 0) return (ts_column *)PyErr_NoMemory();
    ts_column *col = ts_column_alloc((ts_type)c->type);
    if (col == NULL) return NULL;
    size_t n = (size_t)c->n;
    col->length = (Py_ssize_t)n;
    col->null_count = c->nulls;
    if (c->nulls > 0) {
        void *v = shrink(c->valid, (n + 7) / 8);
        c->valid = NULL;
        if (ts_buffer_adopt(&col->validity, v) < 0) goto error;
    }
    if (c->type == TS_CATEGORY || c->type == TS_LIST) {
        int32_t *codes = (int32_t *)(c->type == TS_CATEGORY ? c->vals : c->data);
        size_t ncodes = c->type == TS_CATEGORY ? n : c->dlen / 4;
        col->dictionary = finish_dict(&c->dict, codes, codes ? ncodes : 0, c->rolled_back);
        if (col->dictionary == NULL) goto error;
    }
    size_t isz = csv_col_itemsize(c->type);
    if (isz) {
        void *v = shrink(c->vals, n * isz);
        c->vals = NULL;
        if (ts_buffer_adopt(&col->values, v) < 0) goto error;
    }
    else {
        void *v = shrink(c->data, c->dlen);
        c->data = NULL;
        if (ts_buffer_adopt(&col->values, v) < 0) goto error;
        void *o = shrink(c->offs, (n + 1) * sizeof(int32_t));
        c->offs = NULL;
        if (ts_buffer_adopt(&col->offsets, o) < 0) goto error;
    }
    return ts_column_finish(col);
error:
    Py_DECREF(col);
    return NULL;
}

/* Ownership: borrows tuple, which must outlive the set (its bytes are not copied). */
int
csv_bset_init(bset *b, PyObject *tuple, const char *what)
{
    if (!PyTuple_Check(tuple)) {
        PyErr_Format(PyExc_TypeError, "%s must be a tuple of bytes", what);
        return -1;
    }
    Py_ssize_t k = PyTuple_GET_SIZE(tuple);
    b->count = k;
    b->s = PyMem_RawMalloc((size_t)(k ? k : 1) * sizeof(char *));
    b->n = PyMem_RawMalloc((size_t)(k ? k : 1) * sizeof(size_t));
    b->w8 = PyMem_RawMalloc((size_t)(k ? k : 1) * sizeof(uint64_t));
    if (b->s == NULL || b->n == NULL || b->w8 == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *o = PyTuple_GET_ITEM(tuple, i);
        if (!PyBytes_Check(o)) {
            PyErr_Format(PyExc_TypeError, "%s must be a tuple of bytes", what);
            return -1;
        }
        b->s[i] = PyBytes_AS_STRING(o);
        b->n[i] = (size_t)PyBytes_GET_SIZE(o);
        if (b->n[i] < 64) b->lenmask |= (uint64_t)1 << b->n[i];
        uint64_t w = 0;
        for (size_t j = 0; j < b->n[i] && j < 8; j++) w |= (uint64_t)(uint8_t)b->s[i][j] << (8 * j);
        b->w8[i] = w;
    }
    return 0;
}

void
csv_bset_free(bset *b)
{
    PyMem_RawFree(b->s);
    PyMem_RawFree(b->n);
    PyMem_RawFree(b->w8);
    b->s = NULL;
    b->n = NULL;
    b->w8 = NULL;
}

static void
reader_free(reader *r)
{
    PyMem_RawFree(r->buf);
    PyMem_RawFree(r->buf2);
    PyMem_RawFree(r->fields);
    PyMem_RawFree(r->rows);
    for (int t = 0; t < 2; t++) {
        PyMem_RawFree(r->ws[t].defer);
        PyMem_RawFree(r->ws[t].vbads);
        PyMem_RawFree(r->ws[t].scratch);
    }
    PyMem_RawFree(r->bads);
    csv_bset_free(&r->na);
    csv_bset_free(&r->tru);
    csv_bset_free(&r->fal);
    if (r->cols) {
        for (int i = 0; i < r->ncb; i++) csv_colbuf_free(&r->cols[i]);
        PyMem_RawFree(r->cols);
    }
    PyMem_RawFree(r->order);
}

/* Converts the deferred hard floats with the GIL held.  0 or -1. */
static int
finish_deferred(reader *r)
{
    wstate *w0 = &r->ws[0];
    for (int t = 0; t < 2; t++) {
        wstate *w = &r->ws[t];
        for (size_t i = 0; i < w->ndefer; i++) {
            deferred *d = &w->defer[i];
            if (ts_grow((void **)&w0->scratch, &w0->scap, (size_t)d->len + 1, 1) < 0) {
                PyErr_NoMemory();
                return -1;
            }
            memcpy(w0->scratch, r->buf + d->start, d->len);
            w0->scratch[d->len] = '\0';
            double v = PyOS_string_to_double(w0->scratch, NULL, NULL);
            if (v == -1.0 && PyErr_Occurred()) return -1;
            ((double *)r->cols[d->ci].vals)[d->idx] = v;
        }
        w->ndefer = 0;
    }
    return 0;
}

/* Appends the recorded bad rows to `warnings` as (line, message) and clears them.
 * Ownership: borrows all arguments (warnings gains new (line, message) tuples). */
static int
flush_bads(reader *r, PyObject *warnings, PyObject *path, PyObject *names)
{
    for (size_t i = 0; i < r->nbads && warnings != NULL; i++) {
        PyObject *msg = err_message(r, &r->bads[i], path, names);
        if (msg == NULL) return -1;
        PyObject *item = Py_BuildValue("(LN)", (long long)r->bads[i].line, msg);
        if (item == NULL || PyList_Append(warnings, item) < 0) {
            Py_XDECREF(item);
            return -1;
        }
        Py_DECREF(item);
    }
    r->nbads = 0;
    return 0;
}

/* The arguments of _csv_read (borrowed from the call's args and kwds). */
typedef struct {
    PyObject *readinto, *path, *errcls, *names_in, *usecols, *schema, *na_t, *tru_t, *fal_t;
    PyObject *hints;
    const char *delim, *quote, *date_fmt, *list_sep;
    Py_ssize_t delim_len, quote_len, sep_len, max_field, chunk, size_hint;
    int header, on_bad, nthreads, infer_lists;
} read_args;

/* Parses and checks the arguments into *a.
 * Ownership: borrows args and kwds; *a holds borrowed references that live as long
 * as the call.  0, or -1 with an exception. */
static int
parse_read_args(PyObject *args, PyObject *kwds, read_args *a)
{
    static char *kwlist[] = {"readinto", "path", "error_class", "delimiter", "quotechar", "header",
                             "names", "usecols", "schema", "na_values", "true_values", "false_values",
                             "date_format", "list_sep", "max_field_size", "on_bad", "chunk_size", "size_hint", "nthreads", "infer_lists", "hints", NULL};
    memset(a, 0, sizeof(*a));
    a->hints = Py_None;
    a->size_hint = -1;
    a->nthreads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OUOy#y#pOOOOOOzy#nin|nipO:_csv_read", kwlist,
                                     &a->readinto, &a->path, &a->errcls, &a->delim, &a->delim_len,
                                     &a->quote, &a->quote_len, &a->header, &a->names_in, &a->usecols,
                                     &a->schema, &a->na_t, &a->tru_t, &a->fal_t, &a->date_fmt,
                                     &a->list_sep, &a->sep_len, &a->max_field, &a->on_bad, &a->chunk,
                                     &a->size_hint, &a->nthreads, &a->infer_lists, &a->hints)) {
        return -1;
    }
    if (a->chunk < 16) {
        PyErr_SetString(PyExc_ValueError, "chunk_size must be an int >= 16");
        return -1;
    }
    if (a->delim_len != 1 || a->quote_len > 1 || a->sep_len != 1 || a->max_field < 1 ||
        a->max_field > (Py_ssize_t)F_LEN || a->on_bad < 0 || a->on_bad > 2) {
        PyErr_SetString(PyExc_ValueError, "_csv_read: invalid options");
        return -1;
    }
    if (a->quote_len == 1 && a->quote[0] == a->delim[0]) {
        PyErr_SetString(PyExc_ValueError, "delimiter and quotechar must differ");
        return -1;
    }
    return 0;
}

/* Sets up the reader for the parsed arguments.
 * Ownership: borrows a's objects (the reader keeps borrowed pointers into the
 * na/true/false bytes and readinto).  0, or -1 with an exception. */
static int
reader_init(reader *r, const read_args *a)
{
    r->delim = a->delim[0];
    r->has_quote = a->quote_len == 1;
    r->quote = r->has_quote ? a->quote[0] : '\0';
    r->list_sep = a->list_sep[0];
    r->max_field = (size_t)a->max_field;
    r->on_bad = a->on_bad;
    r->date_fmt = a->date_fmt;
    r->readinto = a->readinto;
    r->chunk = (size_t)a->chunk;
    r->nthreads = a->nthreads;
    r->infer_lists = a->infer_lists;
    r->ncols = -1;
    r->line = 1;
    r->special[(uint8_t)r->delim] = 1;
    r->special['\n'] = 1;
    r->special['\r'] = 1;
    if (csv_bset_init(&r->na, a->na_t, "na_values") < 0 || csv_bset_init(&r->tru, a->tru_t, "true_values") < 0 ||
        csv_bset_init(&r->fal, a->fal_t, "false_values") < 0) {
        return -1;
    }
    return 0;
}

/* Raises the parse error `e` (no column names known yet).
 * Ownership: borrows a's objects; returns -1 with the exception set. */
static int
raise_early(reader *r, const read_args *a, csv_err e)
{
    r->err = e;
    raise_err(r, a->errcls, a->path, NULL);
    return -1;
}

/* Tokenizes the first row (skipping a UTF-8 BOM).  0, or -1 with an exception. */
static int
read_first_row(reader *r, const read_args *a)
{
    while (r->nrows == 0) {
        if (r->eof) break;
        if (csv_fill(r) < 0) return -1;
        if (r->base == 0 && r->pos == 0 && r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
            r->pos = 3;
        }
        else if (r->base == 0 && r->pos == 0 && r->len < 3 && !r->eof) {
            continue;
        }
        if (csv_tokenize(r, 1) < 0) {
            raise_err(r, a->errcls, a->path, NULL);
            return -1;
        }
    }
    if (r->nrows == 0) {
        csv_err e = {E_TOOBIG, 1, -1, 0, 0, "empty file: expected a header row", {0}, 0, 0};
        return raise_early(r, a, e);
    }
    return 0;
}

/* The column names from the header row (consumed).
 * Ownership: returns a new reference (NULL with an exception set); borrows a. */
static PyObject *
header_names(reader *r, const read_args *a)
{
    int ncols = r->ncols;
    row_t *row = &r->rows[0];
    int64_t bad = ts_utf8_invalid_at((const uint8_t *)r->buf + row->start, row->end - row->start);
    if (bad >= 0) {
        csv_err e = {E_UTF8, 0, -1, r->base + (int64_t)row->start + bad, 0, NULL, {0}, 0, 0};
        csv_physical_line(r, row, row->start + (size_t)bad, &e.line);
        raise_early(r, a, e);
        return NULL;
    }
    PyObject *names = PyTuple_New(ncols);
    if (names == NULL) return NULL;
    for (int j = 0; j < ncols; j++) {
        size_t n;
        const char *t = csv_field_text(r, &r->ws[0], r->fields[row->first + (size_t)j], &n);
        if (t == NULL) {
            Py_DECREF(names);
            return PyErr_NoMemory();
        }
        PyObject *u = PyUnicode_DecodeUTF8(t, (Py_ssize_t)n, "strict");
        if (u == NULL) {
            Py_DECREF(names);
            return NULL;
        }
        PyTuple_SET_ITEM(names, j, u);
    }
    r->nfields = r->nrows = 0;
    return names;
}

/* The column names without a header row: `names` or column_0, column_1, ...; the
 * first row is tokenized again as data.
 * Ownership: returns a new reference (NULL with an exception set); borrows a. */
static PyObject *
given_names(reader *r, const read_args *a)
{
    int ncols = r->ncols;
    PyObject *names;
    if (a->names_in != Py_None) {
        if (!PyTuple_Check(a->names_in)) {
            PyErr_SetString(PyExc_TypeError, "names must be a tuple");
            return NULL;
        }
        if (PyTuple_GET_SIZE(a->names_in) != ncols) {
            csv_err e = {E_NFIELDS, 1, -1, PyTuple_GET_SIZE(a->names_in), ncols, NULL, {0}, 0, 0};
            raise_early(r, a, e);
            return NULL;
        }
        names = Py_NewRef(a->names_in);
    }
    else {
        names = PyTuple_New(ncols);
        if (names == NULL) return NULL;
        for (int j = 0; j < ncols; j++) {
            PyObject *u = PyUnicode_FromFormat("column_%d", j);
            if (u == NULL) {
                Py_DECREF(names);
                return NULL;
            }
            PyTuple_SET_ITEM(names, j, u);
        }
    }
    r->pos = r->rows[0].start;
    r->line = r->rows[0].line;
    r->nfields = r->nrows = 0;
    return names;
}

/* Raises "usecols/schema names a column that is not in the header" for nm.
 * Ownership: borrows all arguments; returns -1 with the exception set. */
static int
raise_missing(const read_args *a, PyObject *nm, const char *what)
{
    PyObject *msg = PyUnicode_FromFormat("%U, line 1, column %R: %s", a->path, nm, what);
    if (msg != NULL) {
        PyObject *exc = PyObject_CallFunction(a->errcls, "OOiO", msg, a->path, 1, nm);
        if (exc != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        Py_DECREF(msg);
    }
    return -1;
}

/* Every member of `names_of` (usecols or schema; None: nothing) is a key of `seen`.
 * Ownership: borrows all arguments.  0, or -1 with an exception. */
static int
check_known(const read_args *a, PyObject *seen, PyObject *names_of, const char *what)
{
    if (names_of == Py_None) return 0;
    PyObject *it = PyObject_GetIter(names_of);
    if (it == NULL) return -1;
    PyObject *nm;
    while ((nm = PyIter_Next(it)) != NULL) {
        int has = PyDict_Contains(seen, nm);
        if (has <= 0) {
            Py_DECREF(it);
            if (has == 0) raise_missing(a, nm, what);
            Py_DECREF(nm);
            return -1;
        }
        Py_DECREF(nm);
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* No duplicate names; usecols and schema names must exist.
 * Ownership: borrows all arguments.  0, or -1 with an exception. */
static int
check_names(reader *r, const read_args *a, PyObject *names)
{
    PyObject *seen = PyDict_New();
    if (seen == NULL) return -1;
    int ncols = (int)PyTuple_GET_SIZE(names);
    for (int j = 0; j < ncols; j++) {
        PyObject *nm = PyTuple_GET_ITEM(names, j);
        int has = PyDict_Contains(seen, nm);
        PyObject *pos = PyLong_FromLong(j);
        if (has < 0 || pos == NULL || (has == 0 && PyDict_SetItem(seen, nm, pos) < 0)) {
            Py_XDECREF(pos);
            Py_DECREF(seen);
            return -1;
        }
        Py_DECREF(pos);
        if (has) {
            Py_DECREF(seen);
            csv_err e = {E_TOOBIG, 1, j, 0, 0, "duplicate column name in the header", {0}, 0, 0};
            r->err = e;
            raise_err(r, a->errcls, a->path, names);
            return -1;
        }
    }
    int rc = check_known(a, seen, a->usecols, "usecols names a column that is not in the header");
    if (rc == 0) rc = check_known(a, seen, a->schema, "schema names a column that is not in the header");
    Py_DECREF(seen);
    return rc;
}

/* The type of column `nm` from the schema, else from the hints (then still
 * inferred, starting at that type); ST_NONE / inferred when neither names it.
 * Ownership: borrows all arguments.  0, or -1 with an exception. */
static int
column_type(const read_args *a, PyObject *nm, colbuf *c)
{
    PyObject *dicts[2] = {a->schema, a->hints};
    for (int w = 0; w < 2 && c->type == ST_NONE; w++) {
        if (dicts[w] == Py_None) continue;
        if (!PyDict_Check(dicts[w])) {
            PyErr_SetString(PyExc_TypeError, "schema and hints must be dicts");
            return -1;
        }
        PyObject *t = PyDict_GetItemWithError(dicts[w], nm);  /* borrowed */
        if (t == NULL && PyErr_Occurred()) return -1;
        if (t != NULL) {
            const char *tn = PyUnicode_AsUTF8(t);
            if (tn == NULL) return -1;
            int ty = ts_type_from_name(tn);
            if (ty < 0) return -1;
            c->type = ty;
            c->infer = w == 1;  /* a hint: inferred, starting at that type */
        }
    }
    return 0;
}

/* Sets up the selected columns' buffers and types.
 * Ownership: returns a new reference to the list of the selected names (NULL with
 * an exception set); borrows a and names. */
static PyObject *
select_columns(reader *r, const read_args *a, PyObject *names)
{
    int ncols = (int)PyTuple_GET_SIZE(names);
    r->cols = PyMem_RawCalloc((size_t)(ncols ? ncols : 1), sizeof(colbuf));
    if (r->cols == NULL) return PyErr_NoMemory();
    PyObject *sel_names = PyList_New(0);
    if (sel_names == NULL) return NULL;
    for (int j = 0; j < ncols; j++) {
        PyObject *nm = PyTuple_GET_ITEM(names, j);
        if (a->usecols != Py_None) {
            int has = PySequence_Contains(a->usecols, nm);
            if (has < 0) goto error;
            if (!has) continue;
        }
        colbuf *c = &r->cols[r->ncb];
        c->src = j;
        c->type = ST_NONE;
        c->infer = 1;
        if (column_type(a, nm, c) < 0) goto error;
        r->ncb++;
        if (c->type != ST_NONE && csv_col_reserve(c, 0) < 0) {
            PyErr_NoMemory();
            goto error;
        }
        if (PyList_Append(sel_names, nm) < 0) goto error;
    }
    /* claim order for two threads (none: columns in file order) */
    r->order = PyMem_RawMalloc((size_t)(r->ncb ? r->ncb : 1) * sizeof(int));
    for (int ci = 0; r->order != NULL && ci < r->ncb; ci++) r->order[ci] = ci;
    return sel_names;
error:
    Py_DECREF(sel_names);
    return NULL;
}

/* ((name, wider type), ...) for the columns whose inference asks for a restart.
 * Ownership: returns a new reference (NULL with an exception set); borrows names. */
static PyObject *
restart_pairs(reader *r, PyObject *names)
{
    Py_ssize_t k = 0;
    for (int ci = 0; ci < r->ncb; ci++) k += r->cols[ci].restart;
    PyObject *rs = PyTuple_New(k);
    if (rs == NULL) return NULL;
    k = 0;
    for (int ci = 0; ci < r->ncb; ci++) {
        if (r->cols[ci].restart) {
            PyObject *pair = Py_BuildValue("(Os)", PyTuple_GET_ITEM(names, r->cols[ci].src),
                                           ts_type_names[r->cols[ci].restart_type]);
            if (pair == NULL) {
                Py_DECREF(rs);
                return NULL;
            }
            PyTuple_SET_ITEM(rs, k++, pair);
        }
    }
    return rs;
}

/* After the first chunk: presizes the column buffers from the input size. */
static void
presize_columns(reader *r, int64_t data_start, Py_ssize_t size_hint)
{
    double done = (double)(r->base + (int64_t)r->pos - data_start);
    double scale = done > 0 ? ((double)size_hint - (double)data_start) / done : 1.0;
    if (scale > 1.0) {
        scale *= 1.03;
        for (int ci = 0; ci < r->ncb; ci++) {
            colbuf *c = &r->cols[ci];
            csv_col_presize(c, (size_t)((double)c->n * scale) + 64,
                            c->dlen ? (size_t)((double)c->dlen * scale) + 64 : 0);
        }
    }
}

/* Steps 1-4 for one chunk without the GIL.  0, 1 restart, -1 error (r->err). */
static int
run_chunk(reader *r, tasks *pl, int *tasks_tried)
{
    int rc;
    r->tstate = PyEval_SaveThread();
    /* the worker starts with the first big chunk (nthreads 3: always, for tests) */
    if (!*tasks_tried && (r->len - r->pos >= (1 << 16) || r->nthreads > 2)) {
        csv_tasks_start(pl, r);
        *tasks_tried = 1;
    }
    rc = csv_tokenize_split(r, pl, r->nthreads > 2 ? 64 : (1 << 16));
    if (rc < 0 && r->nrows > 0 && r->err.kind != E_NOMEM) {
        /* strict: a value error in the rows before the bad one comes first */
        csv_err te = r->err;
        r->err.kind = E_NONE;
        if (!(csv_process_chunk(r, pl) < 0 && r->err.kind != E_NONE && csv_err_before(&r->err, &te))) r->err = te;
    }
    if (rc == 0 && r->nrows > 0) rc = csv_process_chunk(r, pl);
    PyEval_RestoreThread((PyThreadState *)r->tstate);
    r->tstate = NULL;
    return rc;
}

/* Reads the data rows chunk by chunk.  0 done, 1 restart (*restart: a new
 * reference to the pairs), -1 with an exception.
 * Ownership: borrows a, names and warnings. */
static int
read_data(reader *r, tasks *pl, const read_args *a, PyObject *names, PyObject *warnings, PyObject **restart)
{
    int64_t data_start = r->base + (int64_t)r->pos;
    int presized = a->size_hint < 0;
    int tasks_tried = 0;
    for (;;) {
        if (r->pos >= r->len && r->eof) break;
        int rc = run_chunk(r, pl, &tasks_tried);
        if (r->pf_err) {
            /* a failed read-ahead: its exception unless the chunk itself ended the read */
            if (rc != 0) PyErr_Clear();
            else return -1;
        }
        if (rc != 0) r->pf_ready = 0;
        if (rc < 0) {
            raise_err(r, a->errcls, a->path, names);
            return -1;
        }
        if (rc == 1) {
            *restart = restart_pairs(r, names);
            return *restart == NULL ? -1 : 1;
        }
        if (finish_deferred(r) < 0 || flush_bads(r, warnings, a->path, names) < 0) return -1;
        if (!presized && r->ncb > 0 && r->cols[0].n > 0) {
            presized = 1;
            presize_columns(r, data_start, a->size_hint);
        }
        r->nfields = r->nrows = 0;
        if (r->eof && r->pos >= r->len) break;
        if (r->eof) {
            /* everything left must have tokenized at EOF */
            PyErr_SetString(PyExc_RuntimeError, "CSV tokenizer stalled at end of input");
            return -1;
        }
        if (csv_fill(r) < 0) return -1;
    }
    return 0;
}

/* The table of the finished columns (their buffers pass to it).
 * Ownership: returns a new reference (NULL with an exception set); borrows
 * sel_names. */
static PyObject *
finish_table(reader *r, PyObject *sel_names)
{
    Py_ssize_t k = r->ncb;
    PyObject *columns = PyTuple_New(k);
    if (columns == NULL) return NULL;
    int64_t nrows = k ? r->cols[0].n : 0;
    for (Py_ssize_t ci = 0; ci < k; ci++) {
        ts_column *col = finish_column(&r->cols[ci]);
        csv_colbuf_free(&r->cols[ci]);
        if (col == NULL) {
            Py_DECREF(columns);
            return NULL;
        }
        PyTuple_SET_ITEM(columns, ci, (PyObject *)col);
    }
    PyObject *table = NULL;
    PyObject *nt = PyList_AsTuple(sel_names);
    if (nt != NULL) {
        table = ts_table_from_tuples(ts_table_class, nt, columns, (Py_ssize_t)nrows);
        Py_DECREF(nt);
    }
    Py_DECREF(columns);
    return table;
}

/* _csv_read(readinto, path, error_class, delimiter, quotechar, header, names, usecols,
 *           schema, na_values, true_values, false_values, date_format, list_sep,
 *           max_field_size, on_bad, chunk_size)
 *           [, size_hint, nthreads, infer_lists, hints]
 * -> (table, warnings, None) or (None, None, ((name, wider type), ...)) when the
 * read must start again with those inferred columns starting at the wider type
 * (passed back in `hints`, a dict name -> type of inferred columns).
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
static PyObject *
csv_read(PyObject *module, PyObject *args, PyObject *kwds)
{
    read_args a;
    if (parse_read_args(args, kwds, &a) < 0) return NULL;
    tasks pl;
    memset(&pl, 0, sizeof(pl));
    reader rd;
    reader *r = &rd;
    memset(r, 0, sizeof(*r));
    PyObject *names = NULL, *sel_names = NULL, *warnings = NULL, *restart = NULL, *result = NULL;
    if (reader_init(r, &a) < 0) goto done;
    if (a.on_bad == 2 && (warnings = PyList_New(0)) == NULL) goto done;
    if (read_first_row(r, &a) < 0) goto done;
    names = a.header ? header_names(r, &a) : given_names(r, &a);
    if (names == NULL || check_names(r, &a, names) < 0) goto done;
    sel_names = select_columns(r, &a, names);
    if (sel_names == NULL) goto done;
    int rc = read_data(r, &pl, &a, names, warnings, &restart);
    if (rc == 1) {
        result = Py_BuildValue("(OON)", Py_None, Py_None, restart);
    }
    else if (rc == 0) {
        PyObject *table = finish_table(r, sel_names);
        if (table != NULL) result = Py_BuildValue("(NOO)", table, warnings ? warnings : Py_None, Py_None);
    }
done:
    csv_tasks_stop(&pl);
    reader_free(r);
    Py_XDECREF(names);
    Py_XDECREF(sel_names);
    Py_XDECREF(warnings);
    return result;
}

PyMethodDef ts_csv_functions[] = {
    {"_csv_read", (PyCFunction)(void (*)(void))csv_read, METH_VARARGS | METH_KEYWORDS,
     "Internal: the CSV reader kernel behind traffickstats.read_csv."},
    {"_csv_write", (PyCFunction)csv_write, METH_VARARGS,
     "Internal: the CSV writer kernel behind Table.to_csv."},
    {NULL, NULL, 0, NULL},
};

/* Ownership: borrows module (the functions are added to it). */
int
ts_csv_exec(PyObject *module)
{
    return PyModule_AddFunctions(module, ts_csv_functions);
}
