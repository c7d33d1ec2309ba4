/*
 * csv/infer.c -- step 3: widening inferred column types over a chunk (no Python).
 */
#include "csv/internal.h"
#include "util/numparse.h"

/* ------------------------------------------------------------------------ */
/* inference                                                                 */

static int
fits(reader *r, int st, const char *s, size_t n)
{
    int64_t iv;
    double dv;
    int32_t dt;
    switch (st) {
    case TS_BOOL: return csv_bset_has(&r->tru, s, n) || csv_bset_has(&r->fal, s, n);
    case TS_INT64: return ts_parse_int64(s, n, &iv) == TS_NUM_OK;
    case TS_FLOAT64: return ts_parse_float(s, n, 0, &dv) != TS_NUM_BAD;
    case TS_DATE:
        return ts_parse_iso_date(s, n, &dt) || (r->date_fmt && ts_parse_date_format(s, n, r->date_fmt, &dt));
    default: return 0;
    }
}

static int
classify(reader *r, const char *s, size_t n)
{
    int64_t iv;
    double dv;
    int32_t dt;
    if (r->infer_lists && memchr(s, r->list_sep, n) != NULL) return TS_LIST;
    if (csv_bset_has(&r->tru, s, n) || csv_bset_has(&r->fal, s, n)) return TS_BOOL;
    int k = ts_parse_int64(s, n, &iv);
    if (k == TS_NUM_OK) return TS_INT64;
    if (k == TS_NUM_OVERFLOW) return TS_FLOAT64;
    if (ts_parse_float(s, n, 0, &dv) != TS_NUM_BAD) return TS_FLOAT64;
    if (ts_parse_iso_date(s, n, &dt) || (r->date_fmt && ts_parse_date_format(s, n, r->date_fmt, &dt))) return TS_DATE;
    return TS_CATEGORY;
}

static int
join(int a, int b)
{
    if (a == ST_NONE) return b;
    if (b == ST_NONE || a == b) return a;
    if (a == TS_LIST || b == TS_LIST) return TS_LIST;
    if ((a == TS_INT64 && b == TS_FLOAT64) || (a == TS_FLOAT64 && b == TS_INT64)) return TS_FLOAT64;
    return TS_CATEGORY;
}

/* The type an inferred column needs for the chunk's values (joined with its
 * current type). */
int
csv_infer_col(reader *r, colbuf *c)
{
    int st = c->type;
    const int last = r->infer_lists ? TS_LIST : TS_CATEGORY;  /* nothing is wider */
    for (size_t ri = 0; ri < r->nrows && st != last; ri++) {
        row_t *row = &r->rows[ri];
        if (row->bad) continue;
        field_t f = r->fields[row->first + (size_t)c->src];
        const char *s = r->buf + f.start;
        size_t len = f.len & F_LEN;
        if (csv_bset_has_field(&r->na, s, len)) continue;
        if (st != ST_NONE && fits(r, st, s, len)) continue;
        st = join(st, classify(r, s, len));
    }
    return st;
}

/* Widens column c to type st: in place from all-null or int64 -> float64.
 * Returns 0, 1 when the file must be re-read (c->restart set), -1 out of memory. */
int
csv_widen(reader *r, colbuf *c, int st)
{
    if (st == c->type) return 0;
    if (c->type == ST_NONE || (c->type == TS_INT64 && st == TS_FLOAT64)) {
        if (csv_col_set_type(c, st) < 0 || csv_col_reserve(c, r->nrows) < 0) return -1;
        return 0;
    }
    c->restart = 1;
    c->restart_type = st;
    return 1;
}

/* Types the still all-null inferred columns from the chunk (other inferred
 * columns convert optimistically and widen on the first value that does not fit).
 * Returns 0, 1 when a restart is needed, -1 out of memory. */
int
csv_infer(reader *r)
{
    int need_restart = 0;
    for (int ci = 0; ci < r->ncb; ci++) {
        colbuf *c = &r->cols[ci];
        if (!c->infer || c->type != ST_NONE) continue;
        int k = csv_widen(r, c, csv_infer_col(r, c));
        if (k < 0) return -1;
        need_restart |= k;
    }
    return need_restart;
}
