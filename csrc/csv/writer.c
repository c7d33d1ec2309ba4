/*
 * csv/writer.c -- Table.to_csv: rows formatted into a buffer without the GIL,
 * flushed through the file's write method.
 */
#include "csv/binding.h"
#include "util/civil.h"

#include <math.h>
typedef struct {
    char *data;
    size_t len, cap;
} outbuf;

/* The writer's helpers below run without the GIL: they return -1 on memory failure
 * without an exception, and the caller raises MemoryError once it holds the GIL. */
static int
out_put(outbuf *o, const char *s, size_t n)
{
    if (n == 0) return 0;
    if (ts_grow((void **)&o->data, &o->cap, o->len + n, 1) < 0) return -1;
    memcpy(o->data + o->len, s, n);
    o->len += n;
    return 0;
}

typedef struct {
    char delim, quote;
    bset na;
} wopts;

static int
needs_quote(const wopts *w, const char *s, size_t n)
{
    if (n == 0) return 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == w->delim || c == w->quote || c == '\n' || c == '\r') return 1;
    }
    return csv_bset_has(&w->na, s, n);
}

static int
put_text(outbuf *o, const wopts *w, const char *s, size_t n)
{
    if (!needs_quote(w, s, n)) return out_put(o, s, n);
    if (ts_grow((void **)&o->data, &o->cap, o->len + 2 * n + 2, 1) < 0) return -1;
    o->data[o->len++] = w->quote;
    for (size_t i = 0; i < n; i++) {
        o->data[o->len++] = s[i];
        if (s[i] == w->quote) o->data[o->len++] = w->quote;
    }
    o->data[o->len++] = w->quote;
    return 0;
}

/* Needs the GIL.
 * Ownership: borrows write. */
static int
flush_out(outbuf *o, PyObject *write)
{
    if (o->len == 0) return 0;
    PyObject *b = PyBytes_FromStringAndSize(o->data, (Py_ssize_t)o->len);
    if (b == NULL) return -1;
    PyObject *res = PyObject_CallOneArg(write, b);
    Py_DECREF(b);
    if (res == NULL) return -1;
    Py_DECREF(res);
    o->len = 0;
    return 0;
}

/* Decimal digits of v into buf (at least 21 bytes); returns the length. */
static size_t
fmt_int64(char *buf, int64_t v)
{
    char tmp[24];
    size_t k = 0, n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) buf[n++] = '-';
    while (k) buf[n++] = tmp[--k];
    return n;
}

/* Whole numbers below 1e15 are written as digits + ".0" (what repr gives) without
 * the Python API; every other float goes through PyOS_double_to_string. */
static inline int
float_is_plain(double v)
{
    return v == floor(v) && fabs(v) < 1e15 && v != 0.0;
}

/* Rows per block: the float texts of a block are made with the GIL held, then the
 * block is formatted without it. */
#define WBLOCK 8192

/* The first problem met while formatting without the GIL (raised afterwards). */
enum { WERR_NONE = 0, WERR_NOMEM, WERR_YEAR, WERR_LISTSEP, WERR_LISTEMPTY };
typedef struct {
    int kind;
    Py_ssize_t row, col;
    long long year;
} werr;

/* Formats rows [r0, r1) of t into o without touching Python objects (so without the
 * GIL; the caller holds references to t and its columns).  Float cells that are not
 * plain whole numbers come from ftxt: fstart/flen[jf * WBLOCK + (i - r0)] for float
 * column number jf.  Returns 0, or -1 with *e set. */
static int
write_rows(outbuf *o, const wopts *w, char sep, ts_column *const *cols, Py_ssize_t k,
           uint8_t *const *qflags, Py_ssize_t r0, Py_ssize_t r1, const char *ftxt,
           const size_t *fstart, const uint8_t *flen, werr *e)
{
    const char delim = w->delim;
    for (Py_ssize_t i = r0; i < r1; i++) {
        Py_ssize_t jf = 0;
        for (Py_ssize_t j = 0; j < k; j++) {
            ts_column *c = cols[j];
            if (j > 0 && out_put(o, &delim, 1) < 0) goto nomem;
            int valid = ts_col_valid(c, i);
            if (c->type == TS_FLOAT64) jf++;
            if (!valid) continue;
            char tmp[48];
            size_t len;
            switch (c->type) {
            case TS_BOOL:
                if (((const uint8_t *)ts_col_values(c))[i]) {
                    if (out_put(o, "true", 4) < 0) goto nomem;
                }
                else if (out_put(o, "false", 5) < 0) goto nomem;
                break;
            case TS_INT32:
                len = fmt_int64(tmp, ((const int32_t *)ts_col_values(c))[i]);
                if (out_put(o, tmp, len) < 0) goto nomem;
                break;
            case TS_INT64:
                len = fmt_int64(tmp, ((const int64_t *)ts_col_values(c))[i]);
                if (out_put(o, tmp, len) < 0) goto nomem;
                break;
            case TS_FLOAT64: {
                double v = ((const double *)ts_col_values(c))[i];
                if (float_is_plain(v)) {
                    len = fmt_int64(tmp, (int64_t)v);
                    memcpy(tmp + len, ".0", 2);
                    if (out_put(o, tmp, len + 2) < 0) goto nomem;
                }
                else {
                    size_t at = (size_t)(jf - 1) * WBLOCK + (size_t)(i - r0);
                    if (out_put(o, ftxt + fstart[at], flen[at]) < 0) goto nomem;
                }
                break;
            }
            case TS_DATE: {
                int64_t y;
                unsigned m, d;
                ts_civil_from_days(((const int32_t *)ts_col_values(c))[i], &y, &m, &d);
                if (y < 1 || y > 9999) {
                    e->kind = WERR_YEAR;
                    e->row = i;
                    e->col = j;
                    e->year = (long long)y;
                    return -1;
                }
                unsigned yy = (unsigned)y;
                char dbuf[10] = {(char)('0' + yy / 1000), (char)('0' + yy / 100 % 10), (char)('0' + yy / 10 % 10),
                                 (char)('0' + yy % 10), '-', (char)('0' + m / 10), (char)('0' + m % 10), '-',
                                 (char)('0' + d / 10), (char)('0' + d % 10)};
                if (out_put(o, dbuf, 10) < 0) goto nomem;
                break;
            }
            case TS_CATEGORY: case TS_STRING: {
                const ts_column *sc = c;
                Py_ssize_t row = i;
                int plain = 0;
                if (c->type == TS_CATEGORY) {
                    sc = c->dictionary;
                    row = ((const int32_t *)ts_col_values(c))[i];
                    plain = qflags[j] != NULL && qflags[j][row] == 0;
                }
                const int32_t *off = ts_col_offsets(sc);
                const char *txt = (const char *)sc->values.data + off[row];
                size_t tl = (size_t)(off[row + 1] - off[row]);
                if ((plain ? out_put(o, txt, tl) : put_text(o, w, txt, tl)) < 0) goto nomem;
                break;
            }
            case TS_LIST: {
                const int32_t *off = ts_col_offsets(c);
                const int32_t *codes = (const int32_t *)c->values.data;
                const ts_column *dc = c->dictionary;
                const int32_t *doff = ts_col_offsets(dc);
                const char *dv = (const char *)dc->values.data;
                outbuf item = {NULL, 0, 0};
                int bad = WERR_NONE;
                for (int32_t q = off[i]; q < off[i + 1]; q++) {
                    const char *s = dv + doff[codes[q]];
                    size_t n = (size_t)(doff[codes[q] + 1] - doff[codes[q]]);
                    if (memchr(s, sep, n) != NULL) bad = WERR_LISTSEP;
                    if (n == 0 && off[i + 1] - off[i] == 1) bad = WERR_LISTEMPTY;
                    if ((q > off[i] && out_put(&item, &sep, 1) < 0) || out_put(&item, s, n) < 0) {
                        PyMem_RawFree(item.data);
                        goto nomem;
                    }
                }
                if (bad != WERR_NONE) {
                    PyMem_RawFree(item.data);
                    e->kind = bad;
                    e->row = i;
                    e->col = j;
                    return -1;
                }
                int rc = put_text(o, w, item.data ? item.data : "", item.len);
                PyMem_RawFree(item.data);
                if (rc < 0) goto nomem;
                break;
            }
            default:
                break;
            }
        }
        if (out_put(o, "\n", 1) < 0) goto nomem;
    }
    return 0;
nomem:
    e->kind = WERR_NOMEM;
    return -1;
}

/* Raises the exception for e (needs the GIL). */
static void
werr_raise(const werr *e, ts_table *t, char sep)
{
    PyObject *name = e->kind == WERR_NOMEM ? NULL : PyTuple_GET_ITEM(t->names, e->col);
    switch (e->kind) {
    case WERR_YEAR:
        ts_error_col(PyExc_ValueError, name, "row %zd: year %lld cannot be written as YYYY-MM-DD",
                     e->row, e->year);
        break;
    case WERR_LISTSEP:
        ts_error_col(PyExc_ValueError, name,
                     "row %zd: a list item contains the list separator '%c', which CSV cannot represent",
                     e->row, (int)sep);
        break;
    case WERR_LISTEMPTY:
        ts_error_col(PyExc_ValueError, name,
                     "row %zd: a list holding one empty string cannot be told apart from an empty list in CSV",
                     e->row);
        break;
    default:
        PyErr_NoMemory();
        break;
    }
}

/* _csv_write(table, write, delimiter, quotechar, list_sep, na_values): writes the
 * header and rows through write(bytes), flushed every 1 MiB.  Rows go in blocks of
 * WBLOCK: the floats that need PyOS_double_to_string are formatted with the GIL held,
 * then the block is written without it.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments. */
PyObject *
csv_write(PyObject *module, PyObject *args)
{
    PyObject *tobj, *write, *na_t;
    const char *delim, *quote, *sep;
    Py_ssize_t dl, ql, sl;
    if (!PyArg_ParseTuple(args, "OOy#y#y#O:_csv_write", &tobj, &write, &delim, &dl, &quote, &ql, &sep, &sl, &na_t)) {
        return NULL;
    }
    if (!ts_is_table(tobj)) {
        PyErr_SetString(PyExc_TypeError, "expected a Table");
        return NULL;
    }
    if (dl != 1 || ql != 1 || sl != 1) {
        PyErr_SetString(PyExc_ValueError, "delimiter, quotechar and list_sep must be one byte");
        return NULL;
    }
    ts_table *t = (ts_table *)tobj;
    wopts w;
    memset(&w, 0, sizeof(w));
    w.delim = delim[0];
    w.quote = quote[0];
    outbuf o = {NULL, 0, 0}, ftxt = {NULL, 0, 0};
    PyObject *ret = NULL;
    uint8_t **qflags = NULL;
    ts_column **cols = NULL;
    size_t *fstart = NULL;
    uint8_t *flen = NULL;
    if (csv_bset_init(&w.na, na_t, "na_values") < 0) goto done;
    Py_ssize_t k = PyTuple_GET_SIZE(t->names), nfloat = 0;
    for (Py_ssize_t j = 0; j < k; j++) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(t->names, j), &n);
        if (s == NULL) goto done;
        if ((j > 0 && out_put(&o, delim, 1) < 0) || put_text(&o, &w, s, (size_t)n) < 0) goto nomem;
    }
    if (out_put(&o, "\n", 1) < 0) goto nomem;
    /* the columns (borrowed from t, which the caller keeps alive) and which labels of
     * each category column need quotes, decided once */
    cols = PyMem_RawCalloc((size_t)(k ? k : 1), sizeof(ts_column *));
    qflags = PyMem_RawCalloc((size_t)(k ? k : 1), sizeof(uint8_t *));
    if (cols == NULL || qflags == NULL) goto nomem;
    for (Py_ssize_t j = 0; j < k; j++) {
        ts_column *c = (ts_column *)PyTuple_GET_ITEM(t->columns, j);
        cols[j] = c;
        if (c->type == TS_FLOAT64) nfloat++;
        if (c->type != TS_CATEGORY) continue;
        const ts_column *dc = c->dictionary;
        const int32_t *doff = ts_col_offsets(dc);
        qflags[j] = PyMem_RawMalloc((size_t)(dc->length ? dc->length : 1));
        if (qflags[j] == NULL) goto nomem;
        for (Py_ssize_t q = 0; q < dc->length; q++) {
            qflags[j][q] = (uint8_t)needs_quote(&w, (const char *)dc->values.data + doff[q], (size_t)(doff[q + 1] - doff[q]));
        }
    }
    if (nfloat > 0) {
        fstart = PyMem_RawMalloc((size_t)nfloat * WBLOCK * sizeof(size_t));
        flen = PyMem_RawMalloc((size_t)nfloat * WBLOCK);
        if (fstart == NULL || flen == NULL) goto nomem;
    }
    for (Py_ssize_t r0 = 0; r0 < t->num_rows; r0 += WBLOCK) {
        Py_ssize_t r1 = t->num_rows - r0 > WBLOCK ? r0 + WBLOCK : t->num_rows;
        /* the block's floats that need the Python API, with the GIL */
        ftxt.len = 0;
        Py_ssize_t jf = 0;
        for (Py_ssize_t j = 0; j < k && nfloat > 0; j++) {
            ts_column *c = cols[j];
            if (c->type != TS_FLOAT64) continue;
            const double *v = (const double *)ts_col_values(c);
            for (Py_ssize_t i = r0; i < r1; i++) {
                if (!ts_col_valid(c, i) || float_is_plain(v[i])) continue;
                char *s = PyOS_double_to_string(v[i], 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
                if (s == NULL) goto done;
                size_t n = strlen(s), at = (size_t)jf * WBLOCK + (size_t)(i - r0);
                fstart[at] = ftxt.len;
                flen[at] = (uint8_t)n;   /* repr of a double: at most 24 characters */
                int rc = out_put(&ftxt, s, n);
                PyMem_Free(s);
                if (rc < 0) goto nomem;
            }
            jf++;
        }
        werr e = {WERR_NONE, 0, 0, 0};
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = write_rows(&o, &w, sep[0], cols, k, qflags, r0, r1, ftxt.data, fstart, flen, &e);
        Py_END_ALLOW_THREADS
        if (rc < 0) {
            werr_raise(&e, t, sep[0]);
            goto done;
        }
        if (o.len > (1 << 20) && flush_out(&o, write) < 0) goto done;
    }
    if (flush_out(&o, write) < 0) goto done;
    ret = Py_NewRef(Py_None);
    goto done;
nomem:
    PyErr_NoMemory();
done:
    if (qflags != NULL) {
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(t->names); j++) PyMem_RawFree(qflags[j]);
        PyMem_RawFree(qflags);
    }
    PyMem_RawFree(cols);
    PyMem_RawFree(fstart);
    PyMem_RawFree(flen);
    PyMem_RawFree(ftxt.data);
    PyMem_RawFree(o.data);
    csv_bset_free(&w.na);
    return ret;
}
