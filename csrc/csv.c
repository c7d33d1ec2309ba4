/*
 * csv.c -- a streaming, strict CSV reader that builds typed columns directly, and the
 * matching writer.
 *
 * Reader pipeline, per chunk of input (default 4 MiB), all without the GIL except
 * reading and error formatting:
 *   1. tokenize: complete rows of the buffer become (start, length, flags) fields;
 *      quoted fields point inside their quotes and are unescaped lazily; physical lines
 *      (LF, CRLF, bare CR) are counted, also inside quoted fields.
 *   2. validate UTF-8 over the bytes of the complete rows.
 *   3. infer: for each column without a schema type, widen its type over the chunk's
 *      values (see _csv.py for the rules).  int64 -> float64 is done in place; any
 *      other widening of a column that already holds rows asks the caller to restart
 *      the read with that column as category (a rare second pass).
 *   4. convert each selected column into growing PyMem_Raw buffers; categories are
 *      interned in a per-column hash table of byte strings.  Floats that the exact
 *      fast path cannot convert are deferred and converted with PyOS_string_to_double
 *      (correctly rounded, locale-independent) while holding the GIL briefly.
 * Bad rows either raise (strict) or are dropped and recorded (skip/warn): a chunk with
 * new bad rows is rolled back and converted again without them.  In strict mode
 * the error reported is the first in the file (line, then column).
 *
 * With two threads (util/pool.h; the worker never touches Python objects), step 1
 * is split at a line break that an even number of quotes precedes -- kept only when
 * the first half's rows end exactly there -- and step 4 hands columns to both
 * threads, each with its own scratch, deferred floats and error records (wstate).
 */
#include "csv.h"
#include "util/bytes.h"
#include "util/mem.h"
#include "util/numparse.h"
#include "util/pool.h"
#include "util/strdict.h"
#include "util/utf8.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>
#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define TS_SSE2 1
#else
#define TS_SSE2 0
#endif

#define F_QUOTED 0x80000000u
#define F_ESC 0x40000000u
#define F_LEN 0x3fffffffu

#define ST_NONE (-1)   /* inferred column that has seen only nulls */

typedef struct {
    uint32_t start;   /* offset in the buffer of the first content byte */
    uint32_t len;     /* content length | F_QUOTED | F_ESC */
} field_t;

typedef struct {
    size_t first;     /* index of the row's first field */
    uint32_t nf;
    uint32_t bad;     /* dropped (skip/warn) */
    int64_t line;     /* physical line where the row starts */
    size_t start, end;
} row_t;

enum {
    E_NONE = 0, E_NFIELDS, E_QUOTE, E_AFTERQUOTE, E_VALUE, E_OVERFLOW, E_UTF8,
    E_FIELDSIZE, E_TOOBIG, E_NOMEM,
};

typedef struct {
    int kind;
    int64_t line;
    int col;              /* field index in the file, -1 when none */
    int64_t a, b;
    const char *expected; /* static text */
    char snip[48];
    int snip_len;
    size_t ri;            /* chunk row of a value error (conversion) */
} csv_err;

typedef struct {
    const char **s;
    size_t *n;
    Py_ssize_t count;
    uint64_t lenmask;     /* bit k set when some member has length k (< 64) */
    uint64_t *w8;         /* prefix8 of each member (owned; PyMem_Raw) */
} bset;

/* A direct-mapped cache of labels up to 16 bytes -> code, per category column, in
 * front of the dictionary: low-cardinality columns hit it nearly always, and a hit
 * costs one multiply and three compares.  Codes never change, so it is never
 * invalidated; len == UINT32_MAX marks an empty slot. */
#define LCACHE_BITS 6
typedef struct {
    uint64_t w0, w1;
    uint32_t len;
    int32_t code;
} lcache;

typedef struct {
    int src;              /* field index in a row */
    int type;             /* ts_type, or ST_NONE */
    int infer;
    int restart, restart_type;
    int64_t n, nulls;
    uint8_t *valid;
    size_t valid_cap;     /* bytes */
    char *vals;
    size_t vals_cap;      /* bytes */
    int32_t *offs;
    size_t offs_cap;      /* entries */
    char *data;           /* string bytes or list child codes */
    size_t dlen, dcap;
    ts_strdict dict;
    int64_t save_n, save_nulls;
    size_t save_dlen;
    double cost;          /* seconds its conversion took in the last chunk */
    lcache *cache;        /* recent short labels (owned; NULL until first used) */
    int rolled_back;      /* rows were undone: its dictionary may hold unused labels */
} colbuf;

typedef struct {
    int ci;
    int64_t idx;
    uint32_t start, len;
} deferred;

/* Per-thread conversion state. */
typedef struct {
    char *scratch;
    size_t scap;
    deferred *defer;
    size_t ndefer, dfcap;
    csv_err err;
    csv_err *vbads;       /* value errors of skip/warn mode, merged after the pass */
    size_t nvb, vbcap;
} wstate;

typedef struct {
    char delim, quote, list_sep;
    int has_quote, on_bad;
    int infer_lists;      /* list_sep given: text holding it infers as list<category> */
    size_t max_field;
    bset na, tru, fal;
    const char *date_fmt;
    PyObject *readinto;
    char *buf;
    size_t cap, len, pos, chunk;
    int eof;
    int64_t base, line;
    field_t *fields;
    size_t nfields, fcap;
    row_t *rows;
    size_t nrows, rcap;
    int ncols;
    colbuf *cols;
    int ncb;
    int *order;           /* columns in the order the threads claim them (owned) */
    wstate ws[2];
    int nthreads;
    csv_err err;
    csv_err *bads;
    size_t nbads, bcap;
    int newbad;
    int utf8_ok;          /* the tokenized rows were validated as UTF-8 already */
    int split_misses;     /* two-thread tokenizing: split guesses that were wrong */
    int dense;            /* no chunk row is bad and row i's fields start at i * ncols
                           * (set by convert_all for the fast conversion loops) */
    /* read-ahead (two threads): while the worker converts a chunk, the main thread
     * takes the GIL back briefly and reads the next bytes into buf2 after a copy of
     * the incomplete tail; the buffers are swapped when the chunk is done */
    PyThreadState *tstate;  /* the main thread's saved state while the GIL is released */
    char *buf2;           /* owned, PyMem_Raw, cap2 + TS_SLACK bytes */
    size_t cap2, pf_len;
    int pf_ready, pf_eof, pf_err;
    uint8_t special[256];
} reader;

/* ------------------------------------------------------------------------ */
/* small helpers (no GIL needed)                                             */

static inline int
bset_has(const bset *b, const char *s, size_t n)
{
    if (n >= 64 || !((b->lenmask >> n) & 1)) return 0;
    for (Py_ssize_t i = 0; i < b->count; i++) {
        if (b->n[i] != n) continue;
        size_t j = 0;
        while (j < n && b->s[i][j] == s[j]) j++;
        if (j == n) return 1;
    }
    return 0;
}

/* bset_has for the reader's fields, which have TS_SLACK readable bytes: members up to
 * 8 bytes long compare as one word. */
static inline int
bset_has_field(const bset *b, const char *s, size_t n)
{
    if (n >= 64 || !((b->lenmask >> n) & 1)) return 0;
    if (n > 8) return bset_has(b, s, n);
    uint64_t w = ts_prefix8(s, n);
    for (Py_ssize_t i = 0; i < b->count; i++) {
        if (b->n[i] == n && b->w8[i] == w) return 1;
    }
    return 0;
}

static void prefetch(reader *r);

static void
set_snip(csv_err *e, const char *s, size_t n)
{
    size_t k = n < 40 ? n : 40;
    memcpy(e->snip, s, k);
    e->snip_len = (int)k;
}

/* Records a bad row (skip/warn) or the fatal error (strict).  -1 when fatal. */
static int
report(reader *r, row_t *row, const csv_err *e)
{
    if (r->on_bad == 0 || e->kind == E_NOMEM || e->kind == E_TOOBIG) {
        r->err = *e;
        return -1;
    }
    if (row != NULL) {
        if (row->bad) return 0;
        row->bad = 1;
    }
    r->newbad = 1;
    if (ts_grow((void **)&r->bads, &r->bcap, r->nbads + 1, sizeof(csv_err)) < 0) {
        r->err.kind = E_NOMEM;
        return -1;
    }
    r->bads[r->nbads++] = *e;
    return 0;
}

static int
nomem(reader *r)
{
    r->err.kind = E_NOMEM;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* tokenizer                                                                 */


#if !TS_SWAR
/* Physical line breaks (LF, CRLF, bare CR) in [p, q); a CR at q-1 is followed by
 * q[0] when q < end. */
static int64_t
count_lines(const char *p, const char *q, const char *end)
{
    int64_t n = 0;
    const char *lf = memchr(p, '\n', (size_t)(q - p));
    const char *cr = memchr(p, '\r', (size_t)(q - p));
    if (lf == NULL && cr == NULL) return 0;
    for (const char *x = p; x < q; x++) {
        if (*x == '\n') n++;
        else if (*x == '\r' && !(x + 1 < end && x[1] == '\n')) n++;
    }
    return n;
}
#endif

#if TS_SSE2
/* The first byte at or after p equal to `stop`, LF or CR, 16 bytes at a time: p
 * itself when it is one, a pointer at or past `end` when none is before it (the
 * buffer has TS_SLACK readable bytes past `end`; the caller clamps). */
static inline const char *
scan_stop(const char *p, const char *end, __m128i vstop, __m128i vlf, __m128i vcr)
{
    while (p < end) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i e3 = _mm_or_si128(_mm_cmpeq_epi8(v, vstop),
                                  _mm_or_si128(_mm_cmpeq_epi8(v, vlf), _mm_cmpeq_epi8(v, vcr)));
        unsigned m = (unsigned)_mm_movemask_epi8(e3);
        if (m) return p + __builtin_ctz(m);
        p += 16;
    }
    return p;
}
#endif

/* Tokenizes complete rows from buf[pos..len) (at most max_rows).  Stops before an
 * incomplete row unless at EOF.  Returns 0, or -1 with r->err set. */
static int
tokenize(reader *r, size_t max_rows)
{
    const char *buf = r->buf;
    const char *end = buf + r->len;
    const char *p = buf + r->pos;
    const uint8_t *sp = r->special;
    (void)sp;  /* the byte-loop fallback only */
    const char delim = r->delim, quote = r->quote;
    const int has_quote = r->has_quote, eof = r->eof;
    int64_t line = r->line;
    /* the field array in locals: stores through r would be reloaded every field */
    field_t *F = r->fields;
    size_t nfl = r->nfields, fcapl = r->fcap;
#if TS_SSE2
    const __m128i vdelim = _mm_set1_epi8(delim), vquote = _mm_set1_epi8(quote);
    const __m128i vlf = _mm_set1_epi8('\n'), vcr = _mm_set1_epi8('\r');
#elif TS_SWAR
    const uint64_t bdelim = 0x0101010101010101ull * (uint8_t)delim;
    const uint64_t bquote = 0x0101010101010101ull * (uint8_t)quote;
#endif

    while (p < end && r->nrows < max_rows) {
        const char *rs = p;
        const int64_t rline = line;
        const size_t first = nfl;
        csv_err rowerr;
        rowerr.kind = E_NONE;
        const char *fs = p;
        for (;;) {
            if (nfl == fcapl) {
                int g = ts_grow((void **)&F, &fcapl, nfl + 1, sizeof(field_t));
                r->fields = F;
                r->fcap = fcapl;
                if (g < 0) return nomem(r);
            }
            uint32_t flags = 0;
            const char *fe;
            fs = p;
            if (has_quote && p < end && *p == quote) {
                const int64_t qline = line;
                p++;
                fs = p;
                flags = F_QUOTED;
                for (;;) {
                    const char *q = p;
#if TS_SSE2
                    /* to the next quote, counting line breaks on the way; 16 bytes
                     * at a time (the buffer has TS_SLACK readable bytes past `end`, and
                     * a match there is clamped to `end`) */
                    for (;;) {
                        q = scan_stop(q, end, vquote, vlf, vcr);
                        if (q >= end) {
                            q = end;
                            break;
                        }
                        if (*q == quote) break;
                        if (*q == '\n' || !(q + 1 < end && q[1] == '\n')) line++;
                        q++;
                    }
#elif TS_SWAR
                    /* to the next quote, counting line breaks on the way */
                    for (;;) {
                        while (q + 8 <= end) {
                            uint64_t w;
                            memcpy(&w, q, 8);
                            uint64_t m = ts_has_byte(w, bquote) | ts_has_byte(w, 0x0a0a0a0a0a0a0a0aull) |
                                         ts_has_byte(w, 0x0d0d0d0d0d0d0d0dull);
                            if (m) {
                                q += __builtin_ctzll(m) >> 3;
                                break;
                            }
                            q += 8;
                        }
                        while (q < end && *q != quote && *q != '\n' && *q != '\r') q++;
                        if (q == end || *q == quote) break;
                        if (*q == '\n' || !(q + 1 < end && q[1] == '\n')) line++;
                        q++;
                    }
#else
                    q = memchr(p, quote, (size_t)(end - p));
                    if (q == NULL) q = end;
                    line += count_lines(p, q, end);
#endif
                    p = q;
                    if (p == end) {
                        if (!eof) goto incomplete;
                        csv_err e = {E_QUOTE, qline, (int)(nfl - first), 0, 0, NULL, {0}, 0, 0};
                        r->err = e;
                        return -1;
                    }
                    if (*p == quote) {
                        if (p + 1 == end && !eof) goto incomplete;
                        if (p + 1 < end && p[1] == quote) {
                            flags |= F_ESC;
                            p += 2;
                            continue;
                        }
                        fe = p;
                        p++;
                        break;
                    }
                }
                if (p == end && !eof) goto incomplete;
                if (p < end && *p != delim && *p != '\n' && *p != '\r') {
                    csv_err e = {E_AFTERQUOTE, line, (int)(nfl - first), 0, 0, NULL, {0}, 0, 0};
                    set_snip(&e, p, 1);
                    r->err = e;
                    return -1;
                }
            }
            else {
#if TS_SSE2
                /* to the next delimiter or line break */
                p = scan_stop(p, end, vdelim, vlf, vcr);
                if (p > end) p = end;
#elif TS_SWAR
                while (p + 8 <= end) {
                    uint64_t w;
                    memcpy(&w, p, 8);
                    uint64_t m = ts_has_byte(w, bdelim) | ts_has_byte(w, 0x0a0a0a0a0a0a0a0aull) |
                                 ts_has_byte(w, 0x0d0d0d0d0d0d0d0dull);
                    if (m) {
                        p += __builtin_ctzll(m) >> 3;
                        goto scanned;
                    }
                    p += 8;
                }
#endif
#if !TS_SSE2
                while (p < end && !sp[(uint8_t)*p]) p++;
#endif
#if TS_SWAR && !TS_SSE2
            scanned:
#endif
                fe = p;
                if (p == end && !eof) goto incomplete;
            }
            size_t flen = (size_t)(fe - fs);
            if (flen > r->max_field && rowerr.kind == E_NONE) {
                csv_err e = {E_FIELDSIZE, rline, (int)(nfl - first), (int64_t)r->max_field, 0, NULL, {0}, 0, 0};
                rowerr = e;
                if (r->on_bad == 0) {
                    r->err = e;
                    return -1;
                }
            }
            F[nfl].start = (uint32_t)(fs - buf);
            F[nfl].len = (uint32_t)(flen & F_LEN) | flags;
            nfl++;
            if (p == end) break;
            if (*p == delim) {
                p++;
                continue;
            }
            if (*p == '\r') {
                if (p + 1 == end && !eof) goto incomplete;
                p++;
                if (p < end && *p == '\n') p++;
            }
            else {
                p++;
            }
            line++;
            break;
        }
        uint32_t nf = (uint32_t)(nfl - first);
        r->pos = (size_t)(p - buf);
        r->line = line;
        if (nf == 1 && F[first].len == 0 && r->ncols != 1) {
            nfl = first;  /* blank line */
            continue;
        }
        if (r->ncols < 0) {
            r->ncols = (int)nf;
        }
        else if ((int)nf != r->ncols && rowerr.kind == E_NONE) {
            csv_err e = {E_NFIELDS, rline, -1, r->ncols, nf, NULL, {0}, 0, 0};
            rowerr = e;
        }
        if (rowerr.kind != E_NONE) {
            nfl = first;
            if (report(r, NULL, &rowerr) < 0) return -1;
            continue;
        }
        r->nfields = nfl;
        if (r->nrows == r->rcap && ts_grow((void **)&r->rows, &r->rcap, r->nrows + 1, sizeof(row_t)) < 0) {
            return nomem(r);
        }
        row_t *row = &r->rows[r->nrows++];
        row->first = first;
        row->nf = nf;
        row->bad = 0;
        row->line = rline;
        row->start = (size_t)(rs - buf);
        row->end = (size_t)(p - buf);
        continue;

    incomplete:
        nfl = first;
        r->nfields = nfl;
        if (r->on_bad == 0 && (size_t)(p - fs) > r->max_field) {
            csv_err e = {E_FIELDSIZE, rline, (int)(nfl - first), (int64_t)r->max_field, 0, NULL, {0}, 0, 0};
            r->err = e;
            return -1;
        }
        return 0;
    }
    r->nfields = nfl;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* columns                                                                   */

static size_t
col_itemsize(int type)
{
    switch (type) {
    case TS_BOOL: return 1;
    case TS_INT32: case TS_DATE: case TS_CATEGORY: return 4;
    case TS_INT64: case TS_FLOAT64: return 8;
    default: return 0;
    }
}

static void
colbuf_free(colbuf *c)
{
    PyMem_RawFree(c->valid);
    PyMem_RawFree(c->vals);
    PyMem_RawFree(c->offs);
    PyMem_RawFree(c->data);
    PyMem_RawFree(c->cache);
    c->cache = NULL;
    ts_strdict_free(&c->dict);
    c->valid = NULL;
    c->vals = NULL;
    c->offs = NULL;
    c->data = NULL;
}

/* Capacity for `more` further rows. */
static int
col_reserve(colbuf *c, size_t more)
{
    size_t need = (size_t)c->n + more;
    size_t vb = (need + 7) / 8 + 1;
    if (vb > c->valid_cap) {
        size_t old = c->valid_cap;
        size_t nc = old * 2 > vb ? old * 2 : vb;
        uint8_t *q = PyMem_RawRealloc(c->valid, nc);
        if (q == NULL) return -1;
        memset(q + old, 0, nc - old);
        c->valid = q;
        c->valid_cap = nc;
    }
    size_t isz = col_itemsize(c->type);
    if (isz > 0) {
        size_t nb = need * isz + 8;
        if (nb > c->vals_cap) {
            size_t nc = c->vals_cap * 2 > nb ? c->vals_cap * 2 : nb;
            char *q = PyMem_RawRealloc(c->vals, nc);
            if (q == NULL) return -1;
            c->vals = q;
            c->vals_cap = nc;
        }
    }
    if (c->type == TS_STRING || c->type == TS_LIST) {
        if (need + 1 > c->offs_cap) {
            size_t nc = c->offs_cap * 2 > need + 1 ? c->offs_cap * 2 : need + 1;
            int32_t *q = PyMem_RawRealloc(c->offs, nc * sizeof(int32_t));
            if (q == NULL) return -1;
            if (c->offs_cap == 0) q[0] = 0;
            c->offs = q;
            c->offs_cap = nc;
        }
    }
    return 0;
}

static inline void
col_bit(colbuf *c, int64_t i, int v)
{
    if (v) c->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
    else c->valid[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

/* Presizes the buffers for about `rows` rows in total and `dbytes` bytes of string
 * data (estimated from the first chunk and the input size), so that big columns are
 * not copied by repeated growth.  Failure is harmless (growth happens later). */
static void
col_presize(colbuf *c, size_t rows, size_t dbytes)
{
    if (rows > (size_t)c->n && col_reserve(c, rows - (size_t)c->n) == 0 && dbytes > c->dcap) {
        char *q = PyMem_RawRealloc(c->data, dbytes);
        if (q != NULL) {
            c->data = q;
            c->dcap = dbytes;
        }
    }
}

/* Switches an inferred column's type: from all-null, or int64 -> float64 in place. */
static int
col_set_type(colbuf *c, int type)
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
    PyMem_RawFree(c->vals);
    c->vals = NULL;
    c->vals_cap = 0;
    if (col_reserve(c, 0) < 0) return -1;
    size_t isz = col_itemsize(type);
    if (isz) memset(c->vals, type == TS_CATEGORY ? 0xff : 0, (size_t)c->n * isz);
    if (type == TS_STRING || type == TS_LIST) memset(c->offs, 0, ((size_t)c->n + 1) * sizeof(int32_t));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* conversion                                                                */

/* The content of a field, unescaped into scratch when it holds doubled quotes. */
static inline const char *
field_text(reader *r, wstate *w, field_t f, size_t *n)
{
    const char *s = r->buf + f.start;
    size_t len = f.len & F_LEN;
    if (!(f.len & F_ESC)) {
        *n = len;
        return s;
    }
    if (ts_grow((void **)&w->scratch, &w->scap, len + TS_SLACK, 1) < 0) return NULL;
    /* copy the runs between quotes; each quote inside is doubled, keep one */
    size_t k = 0;
    const char *p = s, *e = s + len;
    while (p < e) {
        const char *q = memchr(p, r->quote, (size_t)(e - p));
        size_t run = q == NULL ? (size_t)(e - p) : (size_t)(q - p) + 1;
        memcpy(w->scratch + k, p, run);
        k += run;
        if (q == NULL) break;
        p = q + 2;
    }
    *n = k;
    return w->scratch;
}

/* A value that does not fit a schema column: the error (strict, -1) or a record of
 * the row for the merge after the pass (skip/warn, 0). */
static int
bad_value(reader *r, wstate *w, colbuf *c, row_t *row, int kind, const char *expected, const char *s, size_t n)
{
    csv_err e = {kind, row->line, c->src, 0, 0, expected, {0}, 0, (size_t)(row - r->rows)};
    set_snip(&e, s, n);
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
        int ok = !bset_has_field(&r->na, s, len);
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
        int ok = !bset_has_field(&r->na, s, len);
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
        int ok = !bset_has_field(&r->na, s, len);
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
            c->cache = PyMem_RawMalloc(sizeof(lcache) << LCACHE_BITS);
            if (c->cache == NULL) { rc = -2; break; }
            for (size_t k = 0; k < ((size_t)1 << LCACHE_BITS); k++) c->cache[k].len = UINT32_MAX;
        }
        lcache *cache = c->cache;
        ROW_BEGIN
        int ok = (f.len & F_QUOTED) != 0 || !bset_has_field(&r->na, s, len);
        if (ok) {
            if (f.len & F_ESC) {
                /* doubled quotes: intern the unescaped text (w's scratch) */
                s = field_text(r, w, f, &len);
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
        int isnull = bset_has_field(&r->na, s, len) && !(text && quoted);
        int ok = 1;
        if (type == ST_NONE) {
            isnull = 1;
        }
        else if (!isnull) {
            switch (type) {
            case TS_BOOL:
                if (bset_has_field(&r->tru, s, len)) c->vals[i] = 1;
                else if (bset_has_field(&r->fal, s, len)) c->vals[i] = 0;
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
                const char *t = field_text(r, w, f, &n);
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
                const char *t = field_text(r, w, f, &n);
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
                const char *t = field_text(r, w, f, &n);
                if (t == NULL) return wnomem(w);
                if (n > 0) {
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
                        if (x == e) break;
                        q = x + 1;
                    }
                }
                break;
            }
            default:
                break;
            }
        }
        if (isnull || !ok) {
            size_t isz = col_itemsize(type);
            if (isz) memset(c->vals + (size_t)i * isz, type == TS_CATEGORY ? 0xff : 0, isz);
            c->nulls++;
        }
        if (c->type != ST_NONE) col_bit(c, i, !(isnull || !ok));
        else col_bit(c, i, 0);
        if (type == TS_STRING) c->offs[i + 1] = (int32_t)c->dlen;
        else if (type == TS_LIST) c->offs[i + 1] = (int32_t)(c->dlen / 4);
        c->n++;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* inference                                                                 */

static int
fits(reader *r, int st, const char *s, size_t n)
{
    int64_t iv;
    double dv;
    int32_t dt;
    switch (st) {
    case TS_BOOL: return bset_has(&r->tru, s, n) || bset_has(&r->fal, s, n);
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
    if (bset_has(&r->tru, s, n) || bset_has(&r->fal, s, n)) return TS_BOOL;
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
static int
infer_col(reader *r, colbuf *c)
{
    int st = c->type;
    const int last = r->infer_lists ? TS_LIST : TS_CATEGORY;  /* nothing is wider */
    for (size_t ri = 0; ri < r->nrows && st != last; ri++) {
        row_t *row = &r->rows[ri];
        if (row->bad) continue;
        field_t f = r->fields[row->first + (size_t)c->src];
        const char *s = r->buf + f.start;
        size_t len = f.len & F_LEN;
        if (bset_has_field(&r->na, s, len)) continue;
        if (st != ST_NONE && fits(r, st, s, len)) continue;
        st = join(st, classify(r, s, len));
    }
    return st;
}

/* Widens column c to type st: in place from all-null or int64 -> float64.
 * Returns 0, 1 when the file must be re-read (c->restart set), -1 out of memory. */
static int
widen(reader *r, colbuf *c, int st)
{
    if (st == c->type) return 0;
    if (c->type == ST_NONE || (c->type == TS_INT64 && st == TS_FLOAT64)) {
        if (col_set_type(c, st) < 0 || col_reserve(c, r->nrows) < 0) return -1;
        return 0;
    }
    c->restart = 1;
    c->restart_type = st;
    return 1;
}

/* Types the still all-null inferred columns from the chunk (other inferred
 * columns convert optimistically and widen on the first value that does not fit).
 * Returns 0, 1 when a restart is needed, -1 out of memory. */
static int
infer(reader *r)
{
    int need_restart = 0;
    for (int ci = 0; ci < r->ncb; ci++) {
        colbuf *c = &r->cols[ci];
        if (!c->infer || c->type != ST_NONE) continue;
        int k = widen(r, c, infer_col(r, c));
        if (k < 0) return -1;
        need_restart |= k;
    }
    return need_restart;
}

/* ------------------------------------------------------------------------ */
/* a chunk                                                                   */

static void
physical_line(reader *r, row_t *row, size_t off, int64_t *line)
{
    int64_t l = row->line;
    for (size_t i = row->start; i < off; i++) {
        char ch = r->buf[i];
        if (ch == '\n') l++;
        else if (ch == '\r' && !(i + 1 < r->len && r->buf[i + 1] == '\n')) l++;
    }
    *line = l;
}

static int
locate_bad_text(reader *r)
{
    size_t from = r->rows[0].start, to = r->rows[r->nrows - 1].end;
    size_t ri = 0;
    while (from < to) {
        int64_t bad = ts_utf8_invalid_at((const uint8_t *)r->buf + from, to - from);
        if (bad < 0) return 0;
        size_t off = from + (size_t)bad;
        while (ri + 1 < r->nrows && r->rows[ri + 1].start <= off) ri++;
        row_t *row = &r->rows[ri];
        if (off >= row->end) {
            /* between kept rows: the bytes of a row already dropped (skip/warn) */
            if (ri + 1 >= r->nrows) return 0;
            from = r->rows[ri + 1].start;
            continue;
        }
        int col = 0;
        for (uint32_t j = 0; j < row->nf; j++) {
            if (r->fields[row->first + j].start <= off) col = (int)j;
        }
        csv_err e = {E_UTF8, 0, col, r->base + (int64_t)off, 0, NULL, {0}, 0, 0};
        physical_line(r, row, off, &e.line);
        if (report(r, row, &e) < 0) return -1;
        from = row->end;
    }
    return 0;
}

static void
save_cols(reader *r)
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

static void
rollback_cols(reader *r)
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
static int
convert_column(reader *r, wstate *w, int ci)
{
    for (;;) {
        int rc = convert(r, w, ci);
        if (rc <= 0) return rc;
        /* an inferred column met a value of a wider type */
        colbuf *c = &r->cols[ci];
        rollback_col(r, w, ci);
        int st = infer_col(r, c);
        if (st == c->type) st = r->infer_lists ? TS_LIST : TS_CATEGORY;  /* cannot happen; never loop */
        int k = widen(r, c, st);
        if (k < 0) return wnomem(w);
        if (k > 0) return 1;
    }
}

/* Tokenizes all complete rows and validates their bytes as UTF-8 (sets utf8_ok
 * when valid; an invalid byte is left for check_utf8 to locate and report). */
static int
tokenize_checked(reader *r)
{
    int rc = tokenize(r, (size_t)-1);
    if (rc == 0) {
        r->utf8_ok = r->nrows == 0 ||
                     ts_utf8_invalid_at((const uint8_t *)r->buf + r->rows[0].start,
                                     r->rows[r->nrows - 1].end - r->rows[0].start) < 0;
    }
    return rc;
}

/* ---- two-thread conversion: columns are handed out one at a time ---------- */

/* A monotonic clock in seconds (0 where there is none: the order then stays). */
static double
now_seconds(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
    return 0.0;
}

/* convert_column, timed into the column's cost (each column has one thread). */
static int
convert_column_timed(reader *r, wstate *w, int ci)
{
    double t0 = now_seconds();
    int rc = convert_column(r, w, ci);
    r->cols[ci].cost = now_seconds() - t0;
    return rc;
}

/* Longest first (LPT): the next chunk's claim order is by this chunk's conversion
 * times, so that no thread is left converting a big column alone at the end.
 * Insertion sort: the order changes little between chunks. */
static void
order_by_cost(reader *r)
{
    if (r->order == NULL) return;
    for (int i = 1; i < r->ncb; i++) {
        int ci = r->order[i], j = i;
        while (j > 0 && r->cols[r->order[j - 1]].cost < r->cols[ci].cost) {
            r->order[j] = r->order[j - 1];
            j--;
        }
        r->order[j] = ci;
    }
}

static int
err_before(const csv_err *a, const csv_err *b)
{
    return a->line < b->line || (a->line == b->line && a->col < b->col);
}

enum { JOB_CONVERT = 0, JOB_TOKENIZE };
#define CLAIM_NONE (-1)
#define CLAIM_TOK (-2)

/* Work is handed out as claimable tasks (columns, or the second half of a chunk to
 * tokenize), so that neither thread ever waits for the other to be scheduled: a
 * task the worker has not claimed when main runs out of work is done by main, and
 * main sleeps only while the worker is running a task it claimed (ts_pool). */
typedef struct {
    reader *r;
    ts_pool tp;           /* one worker; its mutex guards the fields below */
    int started;          /* the worker runs */
    /* under the pool's mutex: */
    int job, next, stop, tok_free;
    int rc1, failed1;     /* the worker's results in this round */
    csv_err first1;
    reader tk;            /* the second half's tokenizer state (own fields/rows/bads) */
} tasks;

/* Claims a task of the current round: a column index, CLAIM_TOK or CLAIM_NONE. */
static int
tasks_claim(tasks *pl, int worker)
{
    ts_pool_lock(&pl->tp);
    int t = CLAIM_NONE;
    if (pl->job == JOB_TOKENIZE) {
        if (pl->tok_free) {
            pl->tok_free = 0;
            t = CLAIM_TOK;
        }
    }
    else if (!pl->stop && pl->next < pl->r->ncb) {
        t = pl->r->order != NULL ? pl->r->order[pl->next] : pl->next;
        pl->next++;
    }
    if (worker && t != CLAIM_NONE) ts_pool_task_begin_locked(&pl->tp);
    ts_pool_unlock(&pl->tp);
    return t;
}

/* Folds one column's result into a thread's round result: value errors keep the
 * earliest (so that the error reported is the first in the file) and do not stop
 * the other columns; a restart or a fatal error stops the round.  Returns 1 when
 * the round must stop. */
static int
note_column(int rc, wstate *w, int *res, int *failed, csv_err *first)
{
    if (rc < 0 && w->err.kind != E_NOMEM && w->err.kind != E_TOOBIG) {
        if (!*failed || err_before(&w->err, first)) *first = w->err;
        *failed = 1;
        return 0;
    }
    if (rc != 0) {
        *res = rc;
        return 1;
    }
    return 0;
}

/* The worker's round: runs claimed tasks until none is left; never touches Python. */
static void
worker_round(void *arg)
{
    tasks *pl = arg;
    int t;
    while ((t = tasks_claim(pl, 1)) != CLAIM_NONE) {
        int res = 0, failed = 0, rc;
        csv_err first;
        if (t == CLAIM_TOK) rc = tokenize_checked(&pl->tk);
        else rc = convert_column_timed(pl->r, &pl->r->ws[1], t);
        ts_pool_lock(&pl->tp);
        if (t == CLAIM_TOK) {
            pl->rc1 = rc;
        }
        else {
            failed = pl->failed1;
            first = pl->first1;
            if (note_column(rc, &pl->r->ws[1], &res, &failed, &first)) {
                pl->stop = 1;
                pl->rc1 = res;
            }
            pl->failed1 = failed;
            if (failed) pl->first1 = first;
        }
        ts_pool_task_end_locked(&pl->tp);
        ts_pool_unlock(&pl->tp);
    }
}

/* Starts the worker (best effort: on failure everything stays single-threaded). */
static void
tasks_start(tasks *pl, reader *r)
{
    memset(pl, 0, sizeof(*pl));
    pl->r = r;
    pl->job = JOB_TOKENIZE;  /* nothing to claim until the first round */
    if (r->nthreads < 2 || r->ncb < 2) return;
    pl->started = ts_pool_start(&pl->tp, 1, worker_round, pl) > 0;
    if (!pl->started) ts_pool_stop(&pl->tp);
}

/* Stops the worker and waits until it has left (it owns nothing). */
static void
tasks_stop(tasks *pl)
{
    if (pl->started) {
        ts_pool_stop(&pl->tp);
        pl->started = 0;
    }
    ts_raw_free(pl->tk.fields);
    ts_raw_free(pl->tk.rows);
    ts_raw_free(pl->tk.bads);
    pl->tk.fields = NULL;
    pl->tk.rows = NULL;
    pl->tk.bads = NULL;
}

static int
bad_cmp(const void *x, const void *y)
{
    const csv_err *a = x, *b = y;
    return err_before(a, b) ? -1 : err_before(b, a) ? 1 : 0;
}

/* One conversion pass over all columns (both threads).  0, 1 restart, -1 error. */
static int
convert_all(reader *r, tasks *pl)
{
    /* rows are stored back to back with ncols fields each; dense unless one was
     * dropped after tokenizing (UTF-8, skip/warn values) */
    int dense = r->nrows > 0 && r->ncols > 0 && r->rows[0].first == 0 &&
                r->rows[r->nrows - 1].first == (r->nrows - 1) * (size_t)r->ncols;
    for (size_t i = 0; dense && i < r->nrows; i++) dense = !r->rows[i].bad && r->rows[i].nf == (uint32_t)r->ncols;
    r->dense = dense;
    wstate *w0 = &r->ws[0], *w1 = &r->ws[1];
    w0->nvb = w1->nvb = 0;
    w0->err.kind = w1->err.kind = E_NONE;
    if (!pl->started) {
        /* single-threaded; as note_column, the earliest value error wins */
        int failed = 0;
        for (int ci = 0; ci < r->ncb; ci++) {
            int rc = convert_column(r, w0, ci);
            if (rc < 0 && w0->err.kind != E_NOMEM && w0->err.kind != E_TOOBIG) {
                if (!failed || err_before(&w0->err, &r->err)) r->err = w0->err;
                failed = 1;
                continue;
            }
            if (rc < 0) r->err = w0->err;
            if (rc != 0) return rc;
        }
        return failed ? -1 : 0;
    }
    /* a round: both threads claim columns */
    ts_pool_lock(&pl->tp);
    pl->job = JOB_CONVERT;
    pl->next = 0;
    pl->stop = 0;
    pl->rc1 = 0;
    pl->failed1 = 0;
    ts_pool_post_locked(&pl->tp);
    ts_pool_unlock(&pl->tp);
    prefetch(r);  /* the next bytes, while the worker starts on the columns */
    int rc0 = 0, failed0 = 0, t;
    csv_err first0;
    while ((t = tasks_claim(pl, 0)) != CLAIM_NONE) {
        if (note_column(convert_column_timed(r, w0, t), w0, &rc0, &failed0, &first0)) {
            ts_pool_lock(&pl->tp);
            pl->stop = 1;
            ts_pool_unlock(&pl->tp);
            break;
        }
    }
    ts_pool_wait(&pl->tp);
    ts_pool_lock(&pl->tp);
    int rc1 = pl->rc1, failed1 = pl->failed1;
    csv_err first1 = pl->first1;
    pl->next = r->ncb;  /* nothing left for a late worker */
    ts_pool_unlock(&pl->tp);
    order_by_cost(r);
    if (rc0 < 0 || rc1 < 0) {
        r->err = rc0 < 0 ? w0->err : w1->err;
        return -1;
    }
    if (rc0 > 0 || rc1 > 0) return 1;
    if (failed0 || failed1) {
        /* report the value error that comes first in the file */
        if (failed0 && failed1) r->err = err_before(&first1, &first0) ? first1 : first0;
        else r->err = failed0 ? first0 : first1;
        return -1;
    }
    return 0;
}

/* Quote characters in s[0..n). */
static size_t
count_quotes(const char *s, size_t n, char quote)
{
    size_t k = 0, i = 0;
#if TS_SWAR
    const uint64_t pat = 0x0101010101010101ull * (uint8_t)quote;
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t y = w ^ pat;
        /* high bit set exactly in the zero bytes of y */
        uint64_t z = ~(((y & low7) + low7) | y | low7);
        k += (size_t)__builtin_popcountll(z);
    }
#endif
    for (; i < n; i++) k += s[i] == quote;
    return k;
}

/* Step 1 on two threads when the worker runs: the worker tokenizes from a line
 * break near the middle of the data that an even number of quotes precedes, while
 * this thread tokenizes up to it.  The guess is kept only when this thread's rows
 * end exactly there (then the second half started at a true row boundary, which is
 * all the serial tokenizer would have done); otherwise, and when the worker met an
 * error, the rest is tokenized serially.  0 or -1 (r->err set). */
static int
tokenize_split(reader *r, tasks *pl, size_t min_bytes)
{
    size_t avail = r->len - r->pos;
    r->utf8_ok = 0;
    if (!pl->started || avail < min_bytes || r->ncols < 0) return tokenize(r, (size_t)-1);
    const char *b = r->buf;
    size_t mid = r->pos + avail / 2, s = mid;
    /* Counting the quotes before the middle is serial work; while guesses keep
     * succeeding, the first line break after the middle is taken as it is (the check
     * below rejects a wrong guess, at the cost of tokenizing the chunk serially);
     * after two wrong guesses (many line breaks inside quoted fields) the quotes are
     * counted for the rest of the file. */
    const int count = r->has_quote && r->split_misses >= 2;
    size_t quotes = count ? count_quotes(b + r->pos, mid - r->pos, r->quote) : 0;
    int found = 0;
    for (int tries = 0; tries < 64 && s < r->len; tries++) {
        const char *nl = memchr(b + s, '\n', r->len - s);
        if (nl == NULL) break;
        if (count) quotes += count_quotes(b + s, (size_t)(nl - (b + s)), r->quote);
        s = (size_t)(nl - b) + 1;
        if ((quotes & 1) == 0) {
            found = 1;
            break;
        }
    }
    if (!found || s >= r->len) return tokenize(r, (size_t)-1);

    reader *t = &pl->tk;
    field_t *tf = t->fields;
    row_t *tr = t->rows;
    csv_err *tb = t->bads;
    size_t fcap = t->fcap, rcap = t->rcap, bcap = t->bcap;
    *t = *r;
    t->fields = tf;
    t->fcap = fcap;
    t->rows = tr;
    t->rcap = rcap;
    t->bads = tb;
    t->bcap = bcap;
    t->cols = NULL;
    memset(t->ws, 0, sizeof(t->ws));
    t->nfields = t->nrows = t->nbads = 0;
    t->pos = s;
    t->line = 0;
    t->err.kind = E_NONE;
    ts_pool_lock(&pl->tp);
    pl->job = JOB_TOKENIZE;
    pl->tok_free = 1;
    pl->rc1 = 0;
    ts_pool_post_locked(&pl->tp);
    ts_pool_unlock(&pl->tp);
    size_t len = r->len;
    int eof = r->eof;
    r->len = s;
    r->eof = 0;
    int rc0 = tokenize_checked(r);
    r->len = len;
    r->eof = eof;
    int rc1;
    if (rc0 == 0 && r->pos == s && tasks_claim(pl, 0) == CLAIM_TOK) {
        rc1 = tokenize_checked(t);  /* the worker was not scheduled: do it here */
    }
    else {
        ts_pool_lock(&pl->tp);
        pl->tok_free = 0;  /* too late for a worker that has not claimed it */
        ts_pool_unlock(&pl->tp);
        ts_pool_wait(&pl->tp);
        ts_pool_lock(&pl->tp);
        rc1 = pl->rc1;
        ts_pool_unlock(&pl->tp);
    }
    if (rc0 < 0) return -1;
    if (r->pos != s || rc1 < 0) {
        if (rc0 == 0 && r->pos != s) r->split_misses++;
        r->utf8_ok = 0;
        return tokenize(r, (size_t)-1);
    }
    r->utf8_ok = r->utf8_ok && t->utf8_ok;
    /* append the worker's rows, fields and dropped rows, lines made absolute */
    if (ts_grow((void **)&r->fields, &r->fcap, r->nfields + t->nfields, sizeof(field_t)) < 0 ||
        ts_grow((void **)&r->rows, &r->rcap, r->nrows + t->nrows, sizeof(row_t)) < 0 ||
        ts_grow((void **)&r->bads, &r->bcap, r->nbads + t->nbads, sizeof(csv_err)) < 0) {
        return nomem(r);
    }
    if (t->nfields > 0) memcpy(r->fields + r->nfields, t->fields, t->nfields * sizeof(field_t));
    for (size_t i = 0; i < t->nrows; i++) {
        row_t row = t->rows[i];
        row.first += r->nfields;
        row.line += r->line;
        r->rows[r->nrows + i] = row;
    }
    for (size_t i = 0; i < t->nbads; i++) {
        csv_err e = t->bads[i];
        e.line += r->line;
        r->bads[r->nbads + i] = e;
    }
    r->nfields += t->nfields;
    r->nrows += t->nrows;
    r->nbads += t->nbads;
    if (t->nbads) r->newbad = 1;
    r->pos = t->pos;
    r->line += t->line;
    return 0;
}

/* Steps 2-4 for the tokenized rows.  0 ok, 1 restart, -1 error.  No GIL. */
static int
process_chunk(reader *r, tasks *pl)
{
    if (!r->utf8_ok && locate_bad_text(r) < 0) {
        /* strict: a value error in an earlier row of the chunk comes first */
        csv_err ue = r->err;
        size_t keep = 0;
        while (keep < r->nrows && r->rows[keep].line < ue.line && r->rows[keep].end <= (size_t)(ue.a - r->base)) keep++;
        if (ue.kind == E_UTF8 && keep > 0 && keep < r->nrows) {
            r->nrows = keep;
            if (process_chunk(r, pl) < 0 && r->err.kind != E_NONE && err_before(&r->err, &ue)) return -1;
        }
        r->err = ue;
        return -1;
    }
    int k = infer(r);
    if (k < 0) return nomem(r);
    if (k > 0) return 1;
    for (int ci = 0; ci < r->ncb; ci++) {
        if (col_reserve(&r->cols[ci], r->nrows) < 0) return nomem(r);
    }
    save_cols(r);
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = convert_all(r, pl);
        if (rc != 0) return rc;
        if (r->ws[0].nvb + r->ws[1].nvb == 0) return 0;
        /* skip/warn: drop the rows with bad values and convert the chunk again */
        size_t first_new = r->nbads;
        for (int t = 0; t < 2; t++) {
            wstate *w = &r->ws[t];
            for (size_t i = 0; i < w->nvb; i++) {
                row_t *row = &r->rows[w->vbads[i].ri];
                if (row->bad) continue;
                if (report(r, row, &w->vbads[i]) < 0) return -1;
            }
            w->nvb = 0;
        }
        qsort(r->bads + first_new, r->nbads - first_new, sizeof(csv_err), bad_cmp);
        rollback_cols(r);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Python side: errors, input, finishing                                     */

/* New reference: the message for an error or bad row. */
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

/* Raises error_class(message, path, line, column) for r->err; returns NULL. */
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

/* Calls readinto once on dst[0..room) (GIL held): the byte count, or -1 with an
 * exception. */
static Py_ssize_t
read_some(reader *r, char *dst, size_t room)
{
    PyObject *mv = PyMemoryView_FromMemory(dst, (Py_ssize_t)room, PyBUF_WRITE);
    if (mv == NULL) return -1;
    PyObject *res = PyObject_CallOneArg(r->readinto, mv);
    if (res == NULL) {
        /* release the view with readinto's exception put aside, then restore it */
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        PyObject *rel = PyObject_CallMethod(mv, "release", NULL);
        Py_XDECREF(rel);
        Py_DECREF(mv);
        if (rel == NULL) PyErr_Clear();
        PyErr_Restore(et, ev, tb);
        return -1;
    }
    PyObject *rel = PyObject_CallMethod(mv, "release", NULL);
    Py_DECREF(mv);
    if (rel == NULL) {
        Py_DECREF(res);
        return -1;
    }
    Py_DECREF(rel);
    Py_ssize_t got = PyLong_AsSsize_t(res);
    Py_DECREF(res);
    if (got == -1 && PyErr_Occurred()) return -1;
    if (got < 0 || (size_t)got > room) {
        PyErr_SetString(PyExc_ValueError, "readinto returned an invalid byte count");
        return -1;
    }
    return got;
}

/* Reads once into the buffer (compacting first), or takes the read-ahead buffer
 * when one is ready.  0 or -1 with an exception. */
static int
fill(reader *r)
{
    if (r->pf_ready) {
        /* buf2 holds the old buffer's tail buf[pos..len) and the bytes read after it */
        char *b = r->buf;
        size_t c = r->cap;
        r->buf = r->buf2;
        r->cap = r->cap2;
        r->buf2 = b;
        r->cap2 = c;
        r->base += (int64_t)r->pos;
        r->len = r->pf_len;
        r->pos = 0;
        r->eof = r->pf_eof;
        r->pf_ready = 0;
        return 0;
    }
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->base += (int64_t)r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->cap - r->len < r->chunk / 2) {
        size_t nc = r->len + r->chunk;
        if (nc < r->cap * 2) nc = r->cap * 2;
        if (nc > (size_t)UINT32_MAX - 16) {
            if (r->len + 1 > (size_t)UINT32_MAX - 16) {
                PyErr_SetString(PyExc_ValueError, "a CSV row longer than 4 GiB");
                return -1;
            }
            nc = (size_t)UINT32_MAX - 16;
        }
        char *q = PyMem_RawRealloc(r->buf, nc + TS_SLACK);
        if (q == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        r->buf = q;
        r->cap = nc;
    }
    Py_ssize_t got = read_some(r, r->buf + r->len, r->cap - r->len);
    if (got < 0) return -1;
    if (got == 0) r->eof = 1;
    r->len += (size_t)got;
    return 0;
}

/* The read-ahead (see reader.buf2), called by the main thread without the GIL while
 * the worker converts.  Does nothing unless the incomplete tail leaves at least
 * half a chunk of room.  A read error is kept (pf_err, the exception set) and raised
 * after the chunk. */
static void
prefetch(reader *r)
{
    if (r->tstate == NULL || r->eof || r->pf_ready || r->pf_err) return;
    size_t tail = r->len - r->pos;
    if (r->cap < tail + r->chunk / 2) return;
    if (r->cap2 != r->cap) {
        char *q = PyMem_RawRealloc(r->buf2, r->cap + TS_SLACK);
        if (q == NULL) return;  /* harmless: fill reads as usual */
        r->buf2 = q;
        r->cap2 = r->cap;
    }
    memcpy(r->buf2, r->buf + r->pos, tail);
    PyEval_RestoreThread(r->tstate);
    Py_ssize_t got = read_some(r, r->buf2 + tail, r->cap2 - tail);
    r->tstate = PyEval_SaveThread();
    if (got < 0) {
        r->pf_err = 1;
        return;
    }
    r->pf_len = tail + (size_t)got;
    r->pf_eof = got == 0;
    r->pf_ready = 1;
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
        if (col_set_type(c, TS_CATEGORY) < 0) return (ts_column *)PyErr_NoMemory();
    }
    if (col_reserve(c, 0) < 0) return (ts_column *)PyErr_NoMemory();
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
    size_t isz = col_itemsize(c->type);
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

static int
bset_init(bset *b, PyObject *tuple, const char *what)
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
    PyMem_RawFree(r->na.s);
    PyMem_RawFree(r->na.n);
    PyMem_RawFree(r->na.w8);
    PyMem_RawFree(r->tru.s);
    PyMem_RawFree(r->tru.n);
    PyMem_RawFree(r->tru.w8);
    PyMem_RawFree(r->fal.s);
    PyMem_RawFree(r->fal.n);
    PyMem_RawFree(r->fal.w8);
    if (r->cols) {
        for (int i = 0; i < r->ncb; i++) colbuf_free(&r->cols[i]);
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

/* Appends the recorded bad rows to `warnings` as (line, message) and clears them. */
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

/* _csv_read(readinto, path, error_class, delimiter, quotechar, header, names, usecols,
 *           schema, na_values, true_values, false_values, date_format, list_sep,
 *           max_field_size, on_bad, chunk_size)
 *           [, size_hint, nthreads, infer_lists, hints]
 * -> (table, warnings, None) or (None, None, ((name, wider type), ...)) when the
 * read must start again with those inferred columns starting at the wider type
 * (passed back in `hints`, a dict name -> type of inferred columns). */
static PyObject *
csv_read(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"readinto", "path", "error_class", "delimiter", "quotechar", "header",
                             "names", "usecols", "schema", "na_values", "true_values", "false_values",
                             "date_format", "list_sep", "max_field_size", "on_bad", "chunk_size", "size_hint", "nthreads", "infer_lists", "hints", NULL};
    PyObject *readinto, *path, *errcls, *names_in, *usecols, *schema, *na_t, *tru_t, *fal_t;
    PyObject *hints = Py_None;
    const char *delim, *quote, *date_fmt, *list_sep;
    Py_ssize_t delim_len, quote_len, sep_len, max_field, chunk, size_hint = -1;
    int header, on_bad, nthreads = 1, infer_lists = 0;
    tasks pl;
    memset(&pl, 0, sizeof(pl));
    reader rd;
    reader *r = &rd;
    memset(r, 0, sizeof(*r));
    PyObject *names = NULL, *sel_names = NULL, *columns = NULL, *table = NULL, *warnings = NULL;
    PyObject *result = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OUOy#y#pOOOOOOzy#nin|nipO:_csv_read", kwlist,
                                     &readinto, &path, &errcls, &delim, &delim_len, &quote, &quote_len,
                                     &header, &names_in, &usecols, &schema, &na_t, &tru_t, &fal_t,
                                     &date_fmt, &list_sep, &sep_len, &max_field, &on_bad, &chunk, &size_hint, &nthreads, &infer_lists, &hints)) {
        return NULL;
    }
    if (delim_len != 1 || quote_len > 1 || sep_len != 1 || max_field < 1 || max_field > (Py_ssize_t)F_LEN ||
        chunk < 16 || on_bad < 0 || on_bad > 2) {
        PyErr_SetString(PyExc_ValueError, "_csv_read: invalid options");
        return NULL;
    }
    r->delim = delim[0];
    r->has_quote = quote_len == 1;
    r->quote = r->has_quote ? quote[0] : '\0';
    if (r->has_quote && r->quote == r->delim) {
        PyErr_SetString(PyExc_ValueError, "delimiter and quotechar must differ");
        return NULL;
    }
    r->list_sep = list_sep[0];
    r->max_field = (size_t)max_field;
    r->on_bad = on_bad;
    r->date_fmt = date_fmt;
    r->readinto = readinto;
    r->chunk = (size_t)chunk;
    r->nthreads = nthreads;
    r->infer_lists = infer_lists;
    r->ncols = -1;
    r->line = 1;
    r->special[(uint8_t)r->delim] = 1;
    r->special['\n'] = 1;
    r->special['\r'] = 1;
    if (bset_init(&r->na, na_t, "na_values") < 0 || bset_init(&r->tru, tru_t, "true_values") < 0 ||
        bset_init(&r->fal, fal_t, "false_values") < 0) {
        goto error;
    }
    if (on_bad == 2 && (warnings = PyList_New(0)) == NULL) goto error;

    /* the first row: header or width */
    while (r->nrows == 0) {
        if (r->eof) break;
        if (fill(r) < 0) goto error;
        if (r->base == 0 && r->pos == 0 && r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
            r->pos = 3;
        }
        else if (r->base == 0 && r->pos == 0 && r->len < 3 && !r->eof) {
            continue;
        }
        if (tokenize(r, 1) < 0) {
            raise_err(r, errcls, path, NULL);
            goto error;
        }
    }
    if (r->nrows == 0) {
        csv_err e = {E_TOOBIG, 1, -1, 0, 0, "empty file: expected a header row", {0}, 0, 0};
        r->err = e;
        raise_err(r, errcls, path, NULL);
        goto error;
    }
    int ncols = r->ncols;
    if (header) {
        row_t *row = &r->rows[0];
        int64_t bad = ts_utf8_invalid_at((const uint8_t *)r->buf + row->start, row->end - row->start);
        if (bad >= 0) {
            csv_err e = {E_UTF8, 0, -1, r->base + (int64_t)row->start + bad, 0, NULL, {0}, 0, 0};
            physical_line(r, row, row->start + (size_t)bad, &e.line);
            r->err = e;
            raise_err(r, errcls, path, NULL);
            goto error;
        }
        names = PyTuple_New(ncols);
        if (names == NULL) goto error;
        for (int j = 0; j < ncols; j++) {
            size_t n;
            const char *t = field_text(r, &r->ws[0], r->fields[row->first + (size_t)j], &n);
            if (t == NULL) {
                PyErr_NoMemory();
                goto error;
            }
            PyObject *u = PyUnicode_DecodeUTF8(t, (Py_ssize_t)n, "strict");
            if (u == NULL) goto error;
            PyTuple_SET_ITEM(names, j, u);
        }
        r->nfields = r->nrows = 0;
    }
    else {
        if (names_in != Py_None) {
            if (!PyTuple_Check(names_in)) {
                PyErr_SetString(PyExc_TypeError, "names must be a tuple");
                goto error;
            }
            if (PyTuple_GET_SIZE(names_in) != ncols) {
                csv_err e = {E_NFIELDS, 1, -1, PyTuple_GET_SIZE(names_in), ncols, NULL, {0}, 0, 0};
                r->err = e;
                raise_err(r, errcls, path, NULL);
                goto error;
            }
            names = Py_NewRef(names_in);
        }
        else {
            names = PyTuple_New(ncols);
            if (names == NULL) goto error;
            for (int j = 0; j < ncols; j++) {
                PyObject *u = PyUnicode_FromFormat("column_%d", j);
                if (u == NULL) goto error;
                PyTuple_SET_ITEM(names, j, u);
            }
        }
        /* tokenize the first row again as data */
        r->pos = r->rows[0].start;
        r->line = r->rows[0].line;
        r->nfields = r->nrows = 0;
    }

    /* duplicate names; usecols and schema names must exist */
    {
        PyObject *seen = PyDict_New();
        if (seen == NULL) goto error;
        for (int j = 0; j < ncols; j++) {
            PyObject *nm = PyTuple_GET_ITEM(names, j);
            int has = PyDict_Contains(seen, nm);
            PyObject *pos = PyLong_FromLong(j);
            if (has < 0 || pos == NULL || (has == 0 && PyDict_SetItem(seen, nm, pos) < 0)) {
                Py_XDECREF(pos);
                Py_DECREF(seen);
                goto error;
            }
            Py_DECREF(pos);
            if (has) {
                Py_DECREF(seen);
                csv_err e = {E_TOOBIG, 1, j, 0, 0, "duplicate column name in the header", {0}, 0, 0};
                r->err = e;
                raise_err(r, errcls, path, names);
                goto error;
            }
        }
        PyObject *lists[2] = {usecols, schema};
        const char *whats[2] = {"usecols names a column that is not in the header",
                                "schema names a column that is not in the header"};
        for (int w = 0; w < 2; w++) {
            if (lists[w] == Py_None) continue;
            PyObject *it = PyObject_GetIter(lists[w]);
            if (it == NULL) {
                Py_DECREF(seen);
                goto error;
            }
            PyObject *nm;
            while ((nm = PyIter_Next(it)) != NULL) {
                int has = PyDict_Contains(seen, nm);
                if (has <= 0) {
                    Py_DECREF(it);
                    Py_DECREF(seen);
                    if (has == 0) {
                        PyObject *msg = PyUnicode_FromFormat("%U, line 1, column %R: %s", path, nm, whats[w]);
                        if (msg != NULL) {
                            PyObject *exc = PyObject_CallFunction(errcls, "OOiO", msg, path, 1, nm);
                            if (exc != NULL) {
                                PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
                                Py_DECREF(exc);
                            }
                            Py_DECREF(msg);
                        }
                    }
                    Py_DECREF(nm);
                    goto error;
                }
                Py_DECREF(nm);
            }
            Py_DECREF(it);
            if (PyErr_Occurred()) {
                Py_DECREF(seen);
                goto error;
            }
        }
        Py_DECREF(seen);
    }
    r->cols = PyMem_RawCalloc((size_t)(ncols ? ncols : 1), sizeof(colbuf));
    if (r->cols == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    sel_names = PyList_New(0);
    if (sel_names == NULL) goto error;
    for (int j = 0; j < ncols; j++) {
        PyObject *nm = PyTuple_GET_ITEM(names, j);
        if (usecols != Py_None) {
            int has = PySequence_Contains(usecols, nm);
            if (has < 0) goto error;
            if (!has) continue;
        }
        colbuf *c = &r->cols[r->ncb];
        c->src = j;
        c->type = ST_NONE;
        c->infer = 1;
        PyObject *dicts[2] = {schema, hints};
        for (int w = 0; w < 2 && c->type == ST_NONE; w++) {
            if (dicts[w] == Py_None) continue;
            if (!PyDict_Check(dicts[w])) {
                PyErr_SetString(PyExc_TypeError, "schema and hints must be dicts");
                goto error;
            }
            PyObject *t = PyDict_GetItemWithError(dicts[w], nm);  /* borrowed */
            if (t == NULL && PyErr_Occurred()) goto error;
            if (t != NULL) {
                const char *tn = PyUnicode_AsUTF8(t);
                if (tn == NULL) goto error;
                int ty = ts_type_from_name(tn);
                if (ty < 0) goto error;
                c->type = ty;
                c->infer = w == 1;  /* a hint: inferred, starting at that type */
            }
        }
        r->ncb++;
        if (c->type != ST_NONE && col_reserve(c, 0) < 0) {
            PyErr_NoMemory();
            goto error;
        }
        if (PyList_Append(sel_names, nm) < 0) goto error;
    }
    /* claim order for two threads (none: columns in file order) */
    r->order = PyMem_RawMalloc((size_t)(r->ncb ? r->ncb : 1) * sizeof(int));
    for (int ci = 0; r->order != NULL && ci < r->ncb; ci++) r->order[ci] = ci;

    /* the data */
    int64_t data_start = r->base + (int64_t)r->pos;
    int presized = size_hint < 0;
    int tasks_tried = 0;
    for (;;) {
        int rc = 0;
        if (r->pos >= r->len && r->eof) break;
        r->tstate = PyEval_SaveThread();
        /* the worker starts with the first big chunk (nthreads 3: always, for tests) */
        if (!tasks_tried && (r->len - r->pos >= (1 << 16) || r->nthreads > 2)) {
            tasks_start(&pl, r);
            tasks_tried = 1;
        }
        rc = tokenize_split(r, &pl, r->nthreads > 2 ? 64 : (1 << 16));
        if (rc < 0 && r->nrows > 0 && r->err.kind != E_NOMEM) {
            /* strict: a value error in the rows before the bad one comes first */
            csv_err te = r->err;
            r->err.kind = E_NONE;
            if (!(process_chunk(r, &pl) < 0 && r->err.kind != E_NONE && err_before(&r->err, &te))) r->err = te;
        }
        if (rc == 0 && r->nrows > 0) rc = process_chunk(r, &pl);
        PyEval_RestoreThread(r->tstate);
        r->tstate = NULL;
        if (r->pf_err) {
            /* a failed read-ahead: its exception unless the chunk itself ended the read */
            if (rc != 0) PyErr_Clear();
            else goto error;
        }
        if (rc != 0) r->pf_ready = 0;
        if (rc < 0) {
            raise_err(r, errcls, path, names);
            goto error;
        }
        if (rc == 1) {
            Py_ssize_t k = 0;
            for (int ci = 0; ci < r->ncb; ci++) k += r->cols[ci].restart;
            PyObject *rs = PyTuple_New(k);
            if (rs == NULL) goto error;
            k = 0;
            for (int ci = 0; ci < r->ncb; ci++) {
                if (r->cols[ci].restart) {
                    PyObject *pair = Py_BuildValue("(Os)", PyTuple_GET_ITEM(names, r->cols[ci].src),
                                                   ts_type_names[r->cols[ci].restart_type]);
                    if (pair == NULL) {
                        Py_DECREF(rs);
                        goto error;
                    }
                    PyTuple_SET_ITEM(rs, k++, pair);
                }
            }
            result = Py_BuildValue("(OON)", Py_None, Py_None, rs);
            goto done;
        }
        if (finish_deferred(r) < 0 || flush_bads(r, warnings, path, names) < 0) goto error;
        if (!presized && r->ncb > 0 && r->cols[0].n > 0) {
            presized = 1;
            double done = (double)(r->base + (int64_t)r->pos - data_start);
            double scale = done > 0 ? ((double)size_hint - (double)data_start) / done : 1.0;
            if (scale > 1.0) {
                scale *= 1.03;
                for (int ci = 0; ci < r->ncb; ci++) {
                    colbuf *c = &r->cols[ci];
                    col_presize(c, (size_t)((double)c->n * scale) + 64,
                                c->dlen ? (size_t)((double)c->dlen * scale) + 64 : 0);
                }
            }
        }
        r->nfields = r->nrows = 0;
        if (r->eof && r->pos >= r->len) break;
        if (r->eof) {
            /* everything left must have tokenized at EOF */
            PyErr_SetString(PyExc_RuntimeError, "CSV tokenizer stalled at end of input");
            goto error;
        }
        if (fill(r) < 0) goto error;
    }

    {
        Py_ssize_t k = r->ncb;
        columns = PyTuple_New(k);
        if (columns == NULL) goto error;
        int64_t nrows = k ? r->cols[0].n : 0;
        for (Py_ssize_t ci = 0; ci < k; ci++) {
            ts_column *col = finish_column(&r->cols[ci]);
            colbuf_free(&r->cols[ci]);
            if (col == NULL) goto error;
            PyTuple_SET_ITEM(columns, ci, (PyObject *)col);
        }
        PyObject *nt = PyList_AsTuple(sel_names);
        if (nt == NULL) goto error;
        table = ts_table_from_tuples(ts_table_class, nt, columns, (Py_ssize_t)nrows);
        Py_DECREF(nt);
        if (table == NULL) goto error;
        result = Py_BuildValue("(NOO)", table, warnings ? warnings : Py_None, Py_None);
        table = NULL;
    }
    goto done;

error:
    result = NULL;
done:
    tasks_stop(&pl);
    reader_free(r);
    Py_XDECREF(names);
    Py_XDECREF(sel_names);
    Py_XDECREF(columns);
    Py_XDECREF(table);
    Py_XDECREF(warnings);
    return result;
}

/* ------------------------------------------------------------------------ */
/* writer                                                                    */

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
    return bset_has(&w->na, s, n);
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

/* Needs the GIL. */
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
 * then the block is written without it. */
static PyObject *
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
    if (bset_init(&w.na, na_t, "na_values") < 0) goto done;
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
    PyMem_RawFree(w.na.s);
    PyMem_RawFree(w.na.n);
    PyMem_RawFree(w.na.w8);
    return ret;
}

PyMethodDef ts_csv_functions[] = {
    {"_csv_read", (PyCFunction)(void (*)(void))csv_read, METH_VARARGS | METH_KEYWORDS,
     "Internal: the CSV reader kernel behind traffickstats.read_csv."},
    {"_csv_write", (PyCFunction)csv_write, METH_VARARGS,
     "Internal: the CSV writer kernel behind Table.to_csv."},
    {NULL, NULL, 0, NULL},
};

int
ts_csv_exec(PyObject *module)
{
    return PyModule_AddFunctions(module, ts_csv_functions);
}
