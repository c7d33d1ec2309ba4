/*
 * csv/convert.c -- step 4: fields -> growing typed column buffers, and chunk rollback (no Python).
 */
#include "csv/internal.h"
#include "util/numparse.h"

#include <math.h>

/* ------------------------------------------------------------------------ */
/* columns                                                                   */

size_t
csv_col_itemsize(int type)
{
    switch (type) {
    case TS_BOOL: return 1;
    case TS_INT32: case TS_DATE: case TS_CATEGORY: return 4;
    case TS_INT64: case TS_FLOAT64: return 8;
    default: return 0;
    }
}

void
csv_colbuf_free(colbuf *c)
{
    ts_raw_free(c->valid);
    ts_raw_free(c->vals);
    ts_raw_free(c->offs);
    ts_raw_free(c->data);
    ts_raw_free(c->cache);
    c->cache = NULL;
    ts_strdict_free(&c->dict);
    c->valid = NULL;
    c->vals = NULL;
    c->offs = NULL;
    c->data = NULL;
}

/* Capacity for `more` further rows. */
int
csv_col_reserve(colbuf *c, size_t more)
{
    size_t need = (size_t)c->n + more;
    size_t vb = (need + 7) / 8 + 1;
    if (vb > c->valid_cap) {
        size_t old = c->valid_cap;
        size_t nc = old * 2 > vb ? old * 2 : vb;
        uint8_t *q = ts_raw_realloc(c->valid, nc);
        if (q == NULL) return -1;
        memset(q + old, 0, nc - old);
        c->valid = q;
        c->valid_cap = nc;
    }
    size_t isz = csv_col_itemsize(c->type);
    if (isz > 0) {
        size_t nb = need * isz + 8;
        if (nb > c->vals_cap) {
            size_t nc = c->vals_cap * 2 > nb ? c->vals_cap * 2 : nb;
            char *q = ts_raw_realloc(c->vals, nc);
            if (q == NULL) return -1;
            c->vals = q;
            c->vals_cap = nc;
        }
    }
    if (c->type == TS_STRING || c->type == TS_LIST) {
        if (need + 1 > c->offs_cap) {
            size_t nc = c->offs_cap * 2 > need + 1 ? c->offs_cap * 2 : need + 1;
            int32_t *q = ts_raw_realloc(c->offs, nc * sizeof(int32_t));
            if (q == NULL) return -1;
            if (c->offs_cap == 0) q[0] = 0;
            c->offs = q;
            c->offs_cap = nc;
        }
    }
    return 0;
}


/* Presizes the buffers for about `rows` rows in total and `dbytes` bytes of string
 * data (estimated from the first chunk and the input size), so that big columns are
 * not copied by repeated growth.  Failure is harmless (growth happens later). */
void
csv_col_presize(colbuf *c, size_t rows, size_t dbytes)
{
    if (rows > (size_t)c->n && csv_col_reserve(c, rows - (size_t)c->n) == 0 && dbytes > c->dcap) {
        char *q = ts_raw_realloc(c->data, dbytes);
        if (q != NULL) {
            c->data = q;
            c->dcap = dbytes;
        }
    }
}

/* Switches an inferred column's type: from all-null, or int64 -> float64 in place. */
int
csv_col_set_type(colbuf *c, int type)
{
    if (c->type == TS_INT64 && type == TS_FLOAT64) {
        for (int64_t i = 0; i < c->n; i++) {
            int64_t v;
            memcpy(&v, c->vals + 8 * i, 8);
            double d = (double)v;
            memcpy(c->vals + 8 * i, &d, 8);
        }
        c->type = type;
        return 0;
    }
    /* from ST_NONE: every row so far is null */
    c->type = type;
    ts_raw_free(c->vals);
    c->vals = NULL;
    c->vals_cap = 0;
    if (csv_col_reserve(c, 0) < 0) return -1;
    size_t isz = csv_col_itemsize(type);
    if (isz) memset(c->vals, type == TS_CATEGORY ? 0xff : 0, (size_t)c->n * isz);
    if (type == TS_STRING || type == TS_LIST) memset(c->offs, 0, ((size_t)c->n + 1) * sizeof(int32_t));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* conversion                                                                */


/* A value that does not fit a schema column: the error (strict, -1) or a record of
 * the row for the merge after the pass (skip/warn, 0). */
static int
bad_value(reader *r, wstate *w, colbuf *c, row_t *row, int kind, const char *expected, const char *s, size_t n)
{
    csv_err e = {kind, row->line, c->src, 0, 0, expected, {0}, 0, (size_t)(row - r->rows)};
    csv_set_snip(&e, s, n);
    if (r->on_bad == 0) {
        w->err = e;
        return -1;
    }
    if (ts_grow((void **)&w->vbads, &w->vbcap, w->nvb + 1, sizeof(csv_err)) < 0) {
        w->err.kind = E_NOMEM;
        return -1;
    }
    w->vbads[w->nvb++] = e;
    return 0;
}

static int
wnomem(wstate *w)
{
    w->err.kind = E_NOMEM;
    return -1;
}

/* Converts column ci over the chunk's rows.  Returns 0, -1 on error, or 2 when a
 * value does not fit an inferred column's current type (the caller widens). */
/* Fast loops for the common column types; anything unusual (a value that does not
 * fit, a deferred float) makes them return -2 with the rows done so far kept, and
 * the general loop below continues from there. */
static int
convert_fast(reader *r, wstate *w, colbuf *c, size_t *from)
{
    const int type = c->type;
    int64_t n = c->n, nulls = c->nulls;
    uint8_t *valid = c->valid;
    size_t ri = *from;
    int rc = 0;
    /* dense chunk (see reader.dense): row ri's field is fields[ri * ncols + src] */
    const int dense = r->dense;
    const field_t *fcol = r->fields + c->src;
    const size_t stride = (size_t)r->ncols;
#define ROW_BEGIN                                                             \
    for (; ri < r->nrows; ri++) {                                             \
        field_t f;                                                            \
        if (dense) f = fcol[ri * stride];                                     \
        else {                                                                \
            const row_t *row = &r->rows[ri];                                  \
            if (row->bad) continue;                                           \
            f = r->fields[row->first + (size_t)c->src];                       \
        }                                                                     \
        const char *s = r->buf + f.start;                                     \
        size_t len = f.len & F_LEN;
#define SET_VALID(v)                                                          \
        if (v) valid[n >> 3] |= (uint8_t)(1u << (n & 7));                     \
        else { valid[n >> 3] &= (uint8_t)~(1u << (n & 7)); nulls++; }         \
        n++;                                                                  \
    }
    switch (type) {
    case TS_INT64: {
        int64_t *out = (int64_t *)c->vals;
        ROW_BEGIN
        int ok = !csv_bset_has_field(&r->na, s, len);
        if (ok) {
            if (ts_parse_int64(s, len, &out[n]) != TS_NUM_OK) { rc = -2; break; }
        }
        else out[n] = 0;
        SET_VALID(ok)
        break;
    }
    case TS_FLOAT64: {
        double *out = (double *)c->vals;
        const int special = !c->infer;
        ROW_BEGIN
        int ok = !csv_bset_has_field(&r->na, s, len);
        if (ok) {
            if (ts_parse_float_fast(s, len, special, &out[n]) != TS_NUM_OK) { rc = -2; break; }
        }
        else out[n] = 0.0;
        SET_VALID(ok)
        break;
    }
    case TS_DATE: {
        int32_t *out = (int32_t *)c->vals;
        ROW_BEGIN
        int ok = !csv_bset_has_field(&r->na, s, len);
        if (ok) {
            if (!ts_parse_iso_date(s, len, &out[n])) { rc = -2; break; }
        }
        else out[n] = 0;
        SET_VALID(ok)
        break;
    }
    case TS_CATEGORY: {
        int32_t *out = (int32_t *)c->vals;
        const int lists = c->infer && r->infer_lists;
        if (c->cache == NULL) {
            c->cache = ts_raw_malloc(sizeof(lcache) << LCACHE_BITS);
            if (c->cache == NULL) { rc = -2; break; }
            for (size_t k = 0; k < ((size_t)1 << LCACHE_BITS); k++) c->cache[k].len = UINT32_MAX;
        }
        lcache *cache = c->cache;
        ROW_BEGIN
        int ok = (f.len & F_QUOTED) != 0 || !csv_bset_has_field(&r->na, s, len);
        if (ok) {
            if (f.len & F_ESC) {
                /* doubled quotes: intern the unescaped text (w's scratch) */
                s = csv_field_text(r, w, f, &len);
                if (s == NULL) { rc = -2; break; }
            }
            if (lists && memchr(s, r->list_sep, len) != NULL) { rc = -2; break; }
            if (len <= 16) {
                uint64_t w0, w1;
                ts_hash_key(s, len, &w0, &w1);
                lcache *e = &cache[((w0 ^ (w1 >> 1) ^ len) * 0x9E3779B97F4A7C15ull) >> (64 - LCACHE_BITS)];
                if (e->w0 == w0 && e->w1 == w1 && e->len == len) {
                    out[n] = e->code;
                }
                else {
                    int64_t code = ts_strdict_intern(&c->dict, s, len);
                    if (code < 0) { rc = -2; break; }
                    out[n] = (int32_t)code;
                    e->w0 = w0;
                    e->w1 = w1;
                    e->len = (uint32_t)len;
                    e->code = (int32_t)code;
                }
            }
            else {
                int64_t code = ts_strdict_intern(&c->dict, s, len);
                if (code < 0) { rc = -2; break; }
                out[n] = (int32_t)code;
            }
        }
        else out[n] = -1;
        SET_VALID(ok)
        break;
    }
    default:
        rc = -2;
        break;
    }
#undef ROW_BEGIN
#undef SET_VALID
    c->n = n;
    c->nulls = nulls;
    *from = ri;
    return rc;
}

/* Appends the codes of the list_sep-separated items of t[0..n) (n > 0) to list
 * column c.  0, or -1 (w->err set). */
static int
list_items(reader *r, wstate *w, colbuf *c, const row_t *row, const char *t, size_t n)
{
    const char *q = t, *e = t + n;
    for (;;) {
        const char *x = memchr(q, r->list_sep, (size_t)(e - q));
        if (x == NULL) x = e;
        int64_t code = ts_strdict_intern(&c->dict, q, (size_t)(x - q));
        if (code < 0) {
            csv_err er = {code == -1 ? E_NOMEM : E_TOOBIG, row->line, c->src, 0, 0,
                          "more than 2**31-1 categories or category bytes", {0}, 0, 0};
            w->err = er;
            return -1;
        }
        if (c->dlen / 4 + 1 > INT32_MAX) {
            csv_err er = {E_TOOBIG, row->line, c->src, 0, 0, "list column holds more than 2**31-1 items", {0}, 0, 0};
            w->err = er;
            return -1;
        }
        if (ts_grow((void **)&c->data, &c->dcap, c->dlen + 4, 1) < 0) return wnomem(w);
        int32_t cc = (int32_t)code;
        memcpy(c->data + c->dlen, &cc, 4);
        c->dlen += 4;
        if (x == e) return 0;
        q = x + 1;
    }
}

static int
convert(reader *r, wstate *w, int ci)
{
    colbuf *c = &r->cols[ci];
    const int type = c->type;
    const int special = !c->infer;
    size_t ri0 = 0;
    if (convert_fast(r, w, c, &ri0) == 0) return 0;
    for (size_t ri = ri0; ri < r->nrows; ri++) {
        row_t *row = &r->rows[ri];
        if (row->bad) continue;
        field_t f = r->fields[row->first + (size_t)c->src];
        const char *s = r->buf + f.start;
        size_t len = f.len & F_LEN;
        int quoted = (f.len & F_QUOTED) != 0;
        int64_t i = c->n;
        int text = type == TS_CATEGORY || type == TS_STRING || type == TS_LIST;
        int isnull = csv_bset_has_field(&r->na, s, len) && !(text && quoted);
        int ok = 1;
        if (type == ST_NONE) {
            isnull = 1;
        }
        else if (!isnull) {
            switch (type) {
            case TS_BOOL:
                if (csv_bset_has_field(&r->tru, s, len)) c->vals[i] = 1;
                else if (csv_bset_has_field(&r->fal, s, len)) c->vals[i] = 0;
                else {
                    if (c->infer) return 2;
                    if (bad_value(r, w, c, row, E_VALUE, "bool", s, len) < 0) return -1;
                    ok = 0;
                }
                break;
            case TS_INT32: case TS_INT64: {
                int64_t v = 0;
                int k = ts_parse_int64(s, len, &v);
                if (k == TS_NUM_OK && type == TS_INT32 && (v < INT32_MIN || v > INT32_MAX)) k = TS_NUM_OVERFLOW;
                if (k != TS_NUM_OK) {
                    if (c->infer) return 2;
                    if (bad_value(r, w, c, row, k == TS_NUM_OVERFLOW ? E_OVERFLOW : E_VALUE,
                                  ts_type_names[type], s, len) < 0) return -1;
                    ok = 0;
                }
                else if (type == TS_INT32) ((int32_t *)c->vals)[i] = (int32_t)v;
                else ((int64_t *)c->vals)[i] = v;
                break;
            }
            case TS_FLOAT64: {
                double v = 0.0;
                int k = ts_parse_float(s, len, special, &v);
                if (k == TS_NUM_BAD) {
                    if (c->infer) return 2;
                    if (bad_value(r, w, c, row, E_VALUE, "float64", s, len) < 0) return -1;
                    ok = 0;
                    break;
                }
                if (k == TS_NUM_SLOW) {
                    if (ts_grow((void **)&w->defer, &w->dfcap, w->ndefer + 1, sizeof(deferred)) < 0) return wnomem(w);
                    deferred d = {ci, i, f.start, (uint32_t)len};
                    w->defer[w->ndefer++] = d;
                }
                ((double *)c->vals)[i] = v;
                break;
            }
            case TS_DATE: {
                int32_t v = 0;
                if (!ts_parse_iso_date(s, len, &v) &&
                    !(r->date_fmt != NULL && ts_parse_date_format(s, len, r->date_fmt, &v))) {
                    if (c->infer) return 2;
                    if (bad_value(r, w, c, row, E_VALUE, r->date_fmt ? "a date (YYYY-MM-DD or date_format)" : "a date (YYYY-MM-DD)", s, len) < 0) return -1;
                    ok = 0;
                }
                ((int32_t *)c->vals)[i] = v;
                break;
            }
            case TS_CATEGORY: {
                size_t n;
                const char *t = csv_field_text(r, w, f, &n);
                if (t == NULL) return wnomem(w);
                if (c->infer && r->infer_lists && memchr(t, r->list_sep, n) != NULL) return 2;
                int64_t code = ts_strdict_intern(&c->dict, t, n);
                if (code < 0) {
                    csv_err e = {code == -1 ? E_NOMEM : E_TOOBIG, row->line, c->src, 0, 0,
                                 "more than 2**31-1 categories or category bytes", {0}, 0, 0};
                    w->err = e;
                    return -1;
                }
                ((int32_t *)c->vals)[i] = (int32_t)code;
                break;
            }
            case TS_STRING: {
                size_t n;
                const char *t = csv_field_text(r, w, f, &n);
                if (t == NULL) return wnomem(w);
                if (c->dlen + n > INT32_MAX) {
                    csv_err e = {E_TOOBIG, row->line, c->src, 0, 0, "string column holds more than 2**31-1 bytes", {0}, 0, 0};
                    w->err = e;
                    return -1;
                }
                if (ts_grow((void **)&c->data, &c->dcap, c->dlen + n + 1, 1) < 0) return wnomem(w);
                memcpy(c->data + c->dlen, t, n);
                c->dlen += n;
                break;
            }
            case TS_LIST: {
                size_t n;
                const char *t = csv_field_text(r, w, f, &n);
                if (t == NULL) return wnomem(w);
                if (n > 0 && list_items(r, w, c, row, t, n) < 0) return -1;
                break;
            }
            default:
                break;
            }
        }
        if (isnull || !ok) {
            size_t isz = csv_col_itemsize(type);
            if (isz) memset(c->vals + (size_t)i * isz, type == TS_CATEGORY ? 0xff : 0, isz);
            c->nulls++;
        }
        if (c->type != ST_NONE) csv_col_bit(c, i, !(isnull || !ok));
        else csv_col_bit(c, i, 0);
        if (type == TS_STRING) c->offs[i + 1] = (int32_t)c->dlen;
        else if (type == TS_LIST) c->offs[i + 1] = (int32_t)(c->dlen / 4);
        c->n++;
    }
    return 0;
}


void
csv_save_cols(reader *r)
{
    for (int ci = 0; ci < r->ncb; ci++) {
        colbuf *c = &r->cols[ci];
        c->save_n = c->n;
        c->save_nulls = c->nulls;
        c->save_dlen = c->dlen;
    }
}

/* Undoes column ci's rows of this chunk, with its deferred floats. */
static void
rollback_col(reader *r, wstate *w, int ci)
{
    colbuf *c = &r->cols[ci];
    size_t k = 0;
    for (size_t i = 0; i < w->ndefer; i++) {
        if (w->defer[i].ci != ci) w->defer[k++] = w->defer[i];
    }
    w->ndefer = k;
    c->rolled_back = 1;
    c->n = c->save_n;
    c->nulls = c->save_nulls;
    c->dlen = c->save_dlen;
}

void
csv_rollback_cols(reader *r)
{
    for (int ci = 0; ci < r->ncb; ci++) {
        colbuf *c = &r->cols[ci];
        c->rolled_back = 1;
        c->n = c->save_n;
        c->nulls = c->save_nulls;
        c->dlen = c->save_dlen;
    }
    r->ws[0].ndefer = r->ws[1].ndefer = 0;
}

/* Converts one column over the chunk, widening an inferred column as needed.
 * 0, 1 (restart), -1 (w->err set). */
int
csv_convert_column(reader *r, wstate *w, int ci)
{
    for (;;) {
        int rc = convert(r, w, ci);
        if (rc <= 0) return rc;
        /* an inferred column met a value of a wider type */
        colbuf *c = &r->cols[ci];
        rollback_col(r, w, ci);
        int st = csv_infer_col(r, c);
        if (st == c->type) st = r->infer_lists ? TS_LIST : TS_CATEGORY;  /* cannot happen; never loop */
        int k = csv_widen(r, c, st);
        if (k < 0) return wnomem(w);
        if (k > 0) return 1;
    }
}
