/*
 * arrow/import_column.c -- one imported Arrow array -> one Column: validation
 * (offsets monotone, codes in range, UTF-8) and the conversion of each layout.
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
#include "arrow/internal.h"
#include "util/utf8.h"

/* Returns NULL with TypeError: the column's Arrow type is not one we hold.
 * Ownership: returns NULL with an exception set; borrows all arguments. */
static PyObject *
unsupported(PyObject *name, const struct ArrowSchema *s, const char *why)
{
    PyObject *d = arrow_format_description(s);
    if (d == NULL) return NULL;
    ts_error_col(PyExc_TypeError, name, "unsupported Arrow type (format %U)%s", d, why);
    Py_DECREF(d);
    return NULL;
}

/* Checks UTF-8 of [0, n) with the GIL released for large inputs.  0 or -1 (ValueError).
 * Ownership: borrows name. */
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
 * Sets col->validity and col->null_count.  0, or -1 with an exception.
 * Ownership: borrows holder and name; col takes its own reference to holder when it
 * shares the bitmap. */
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

/* Checks n_buffers and that the needed buffers are there.  0 or -1 (ValueError).
 * Ownership: borrows name. */
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
 * Returns 0 with *first and *last set, or -1 (ValueError).
 * Ownership: borrows name. */
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

/* New int32 offsets buffer (offset 0) holding o[i] - o[offset] for the rows.  0/-1.
 * Ownership: borrows name. */
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
 * offset 0 (validity rebased).  0, or -1 with an exception.
 * Ownership: borrows holder and name. */
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
 * For dictionaries (no_nulls), nulls are refused.
 * Ownership: borrows holder and name; col takes its own references to holder for
 * shared buffers. */
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
    const uint8_t *data = a->length > 0 ? a->buffers[2] : (const uint8_t *)arrow_zero_block;
    if (data == NULL) data = (const uint8_t *)arrow_zero_block;
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
 * is NULL.  *n_arrow is the Arrow dictionary's length (the range of valid indices).
 * Ownership: returns a new reference (NULL with an exception set); borrows holder and
 * name. */
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

/* Fills a category column from a dictionary-encoded array.  0, or -1.
 * Ownership: borrows holder and name; col takes its own references to holder for
 * shared buffers. */
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
 * from_objects sorts them).  0, or -1 with an exception.
 * Ownership: borrows holder and name. */
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
 * encoded strings.  0, or -1.
 * Ownership: borrows holder and name; col takes its own references to holder for
 * shared buffers. */
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

/* Fills a fixed-width column, sharing the values when the type matches.
 * Ownership: borrows holder and name; col takes its own references to holder for
 * shared buffers. */
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

/* New reference: the column for (schema s, array a) whose memory `holder` owns.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments (the column takes its own references to holder). */
ts_column *
arrow_import_column(const struct ArrowSchema *s, const struct ArrowArray *a, PyObject *holder, PyObject *name)
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
