/*
 * csv/internal.h -- the CSV reader's private state, shared by its kernel files
 * (tokenize.c, infer.c, convert.c, parallel.c: no Python.h, no GIL needed) and its
 * binding (reader.c, input.c, writer.c).
 *
 * Reader pipeline, per chunk of input (default 4 MiB), all without the GIL except
 * reading and error formatting:
 *   1. tokenize (tokenize.c): complete rows of the buffer become (start, length,
 *      flags) fields; quoted fields point inside their quotes and are unescaped
 *      lazily; physical lines (LF, CRLF, bare CR) are counted, also inside quoted
 *      fields.
 *   2. validate UTF-8 over the bytes of the complete rows.
 *   3. infer (infer.c): for each column without a schema type, widen its type over
 *      the chunk's values (see _csv.py for the rules).  int64 -> float64 is done in
 *      place; any other widening of a column that already holds rows asks the caller
 *      to restart the read with that column as category (a rare second pass).
 *   4. convert (convert.c) each selected column into growing raw buffers; categories
 *      are interned in a per-column string dictionary (util/strdict.h).  Floats that
 *      the exact fast path cannot convert are deferred and converted with
 *      PyOS_string_to_double (correctly rounded, locale-independent) while holding
 *      the GIL briefly (reader.c).
 * Bad rows either raise (strict) or are dropped and recorded (skip/warn): a chunk with
 * new bad rows is rolled back and converted again without them.  In strict mode
 * the error reported is the first in the file (line, then column).  Kernels report
 * errors as a return code and a csv_err; reader.c turns that into the exception.
 *
 * With two threads (parallel.c on util/pool.h; the worker never touches Python
 * objects), step 1 is split at a line break that an even number of quotes precedes
 * -- kept only when the first half's rows end exactly there -- and step 4 hands
 * columns to both threads, each with its own scratch, deferred floats and error
 * records (wstate).
 */
#ifndef TS_CSV_INTERNAL_H
#define TS_CSV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/types.h"
#include "util/bytes.h"
#include "util/mem.h"
#include "util/pool.h"
#include "util/strdict.h"

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
    ptrdiff_t count;
    uint64_t lenmask;     /* bit k set when some member has length k (< 64) */
    uint64_t *w8;         /* prefix8 of each member (owned; ts_raw_malloc) */
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
    void *readinto;       /* borrowed PyObject *: readinto(memoryview) -> int (input.c) */
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
    void *tstate;         /* PyThreadState *: the main thread's saved state while the GIL
                           * is released (input.c takes the GIL back with it) */
    char *buf2;           /* owned, ts_raw_malloc, cap2 + TS_SLACK bytes */
    size_t cap2, pf_len;
    int pf_ready, pf_eof, pf_err;
    uint8_t special[256];
} reader;

/* small helpers (no GIL needed)                                             */

static inline int
csv_bset_has(const bset *b, const char *s, size_t n)
{
    if (n >= 64 || !((b->lenmask >> n) & 1)) return 0;
    for (ptrdiff_t i = 0; i < b->count; i++) {
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
csv_bset_has_field(const bset *b, const char *s, size_t n)
{
    if (n >= 64 || !((b->lenmask >> n) & 1)) return 0;
    if (n > 8) return csv_bset_has(b, s, n);
    uint64_t w = ts_prefix8(s, n);
    for (ptrdiff_t i = 0; i < b->count; i++) {
        if (b->n[i] == n && b->w8[i] == w) return 1;
    }
    return 0;
}

static inline void
csv_col_bit(colbuf *c, int64_t i, int v)
{
    if (v) c->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
    else c->valid[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

/* The content of a field, unescaped into scratch when it holds doubled quotes. */
static inline const char *
csv_field_text(reader *r, wstate *w, field_t f, size_t *n)
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

/* Whether error a comes before b in the file (line, then column). */
static inline int
csv_err_before(const csv_err *a, const csv_err *b)
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

/* ---- tokenize.c ---------------------------------------------------------- */
/* Keeps the first bytes of s[0..n) as the error's snippet. */
void csv_set_snip(csv_err *e, const char *s, size_t n);
/* Records a bad row (skip/warn) or the fatal error (strict).  -1 when fatal. */
int csv_report(reader *r, row_t *row, const csv_err *e);
/* Sets an out-of-memory error; returns -1. */
int csv_nomem(reader *r);
/* Tokenizes complete rows from buf[pos..len) (at most max_rows).  0, or -1 with r->err. */
int csv_tokenize(reader *r, size_t max_rows);
/* csv_tokenize of all complete rows, then a UTF-8 check of their bytes (utf8_ok). */
int csv_tokenize_checked(reader *r);
/* The physical line of buffer offset off inside row (lines counted from row->line). */
void csv_physical_line(reader *r, row_t *row, size_t off, int64_t *line);
/* Finds the first invalid UTF-8 byte of the chunk's rows: drops its row (skip/warn)
 * or sets r->err (strict, -1). */
int csv_locate_bad_text(reader *r);

/* ---- convert.c ----------------------------------------------------------- */
size_t csv_col_itemsize(int type);
void csv_colbuf_free(colbuf *c);
/* Capacity for `more` further rows.  0 or -1. */
int csv_col_reserve(colbuf *c, size_t more);
/* Presizes a column for about `rows` rows and `dbytes` string bytes (best effort). */
void csv_col_presize(colbuf *c, size_t rows, size_t dbytes);
/* Switches an inferred column's type (from all-null, or int64 -> float64).  0 or -1. */
int csv_col_set_type(colbuf *c, int type);
/* Converts column ci over the chunk (widening inferred columns).  0, 1 restart, -1. */
int csv_convert_column(reader *r, wstate *w, int ci);
/* Remembers / restores every column's row count (rollback of a chunk). */
void csv_save_cols(reader *r);
void csv_rollback_cols(reader *r);

/* ---- infer.c ------------------------------------------------------------- */
/* Widens the inferred columns' types over the chunk.  0, 1 restart, -1 no memory. */
int csv_infer(reader *r);
/* The narrowest type holding column c's values in the chunk (from its current one). */
int csv_infer_col(reader *r, colbuf *c);
/* Widens column c to type st: 0, 1 when the read must restart (c->restart), -1. */
int csv_widen(reader *r, colbuf *c, int st);

/* ---- parallel.c ---------------------------------------------------------- */
/* Starts the worker when there is work for two threads (best effort). */
void csv_tasks_start(tasks *pl, reader *r);
/* Stops the worker and frees the second tokenizer's arrays. */
void csv_tasks_stop(tasks *pl);
/* Step 1 (on two threads for big chunks).  0 or -1 (r->err set). */
int csv_tokenize_split(reader *r, tasks *pl, size_t min_bytes);
/* Steps 2-4 for the tokenized rows.  0 ok, 1 restart, -1 error (r->err). */
int csv_process_chunk(reader *r, tasks *pl);

/* ---- input.c (takes the GIL back briefly) -------------------------------- */
/* The read-ahead while the worker converts (no-op unless r->tstate is set). */
void csv_prefetch(reader *r);

#endif
