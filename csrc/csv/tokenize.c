/*
 * csv/tokenize.c -- step 1: bytes -> rows of fields, and locating bad UTF-8 (no Python).
 */
#include "csv/internal.h"
#include "util/utf8.h"

void
csv_set_snip(csv_err *e, const char *s, size_t n)
{
    size_t k = n < 40 ? n : 40;
    memcpy(e->snip, s, k);
    e->snip_len = (int)k;
}

/* Records a bad row (skip/warn) or the fatal error (strict).  -1 when fatal. */
int
csv_report(reader *r, row_t *row, const csv_err *e)
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

int
csv_nomem(reader *r)
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

#if defined(__GNUC__)
#define TS_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define TS_ALWAYS_INLINE inline
#endif

/* What the field scans compare against, made once per call of csv_tokenize. */
typedef struct {
#if TS_SSE2
    __m128i vdelim, vquote, vlf, vcr;
#elif TS_SWAR
    uint64_t bdelim, bquote;
#endif
    const uint8_t *special;   /* the delimiter, LF and CR (byte loops) */
    char quote;
} scan_consts;

static inline void
scan_init(scan_consts *k, const reader *r)
{
#if TS_SSE2
    k->vdelim = _mm_set1_epi8(r->delim);
    k->vquote = _mm_set1_epi8(r->quote);
    k->vlf = _mm_set1_epi8('\n');
    k->vcr = _mm_set1_epi8('\r');
#elif TS_SWAR
    k->bdelim = 0x0101010101010101ull * (uint8_t)r->delim;
    k->bquote = 0x0101010101010101ull * (uint8_t)r->quote;
#endif
    k->special = r->special;
    k->quote = r->quote;
}

/* Inside a quoted field: the next quote at or after q, or end when none is before
 * it; the line breaks passed are counted into *line. */
static TS_ALWAYS_INLINE const char *
to_quote(const char *q, const char *end, const scan_consts *k, int64_t *line)
{
#if TS_SSE2
    /* 16 bytes at a time (the buffer has TS_SLACK readable bytes past `end`, and a
     * match there is clamped to `end`) */
    for (;;) {
        q = scan_stop(q, end, k->vquote, k->vlf, k->vcr);
        if (q >= end) return end;
        if (*q == k->quote) return q;
        if (*q == '\n' || !(q + 1 < end && q[1] == '\n')) (*line)++;
        q++;
    }
#elif TS_SWAR
    const char quote = k->quote;
    for (;;) {
        while (q + 8 <= end) {
            uint64_t w;
            memcpy(&w, q, 8);
            uint64_t m = ts_has_byte(w, k->bquote) | ts_has_byte(w, 0x0a0a0a0a0a0a0a0aull) |
                         ts_has_byte(w, 0x0d0d0d0d0d0d0d0dull);
            if (m) {
                q += __builtin_ctzll(m) >> 3;
                break;
            }
            q += 8;
        }
        while (q < end && *q != quote && *q != '\n' && *q != '\r') q++;
        if (q == end || *q == quote) return q;
        if (*q == '\n' || !(q + 1 < end && q[1] == '\n')) (*line)++;
        q++;
    }
#else
    const char *x = memchr(q, k->quote, (size_t)(end - q));
    if (x == NULL) x = end;
    *line += count_lines(q, x, end);
    return x;
#endif
}

/* An unquoted field starting at p: its end (the next delimiter or line break, or
 * end). */
static TS_ALWAYS_INLINE const char *
to_stop(const char *p, const char *end, const scan_consts *k)
{
#if TS_SSE2
    p = scan_stop(p, end, k->vdelim, k->vlf, k->vcr);
    return p > end ? end : p;
#else
#if TS_SWAR
    while (p + 8 <= end) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t m = ts_has_byte(w, k->bdelim) | ts_has_byte(w, 0x0a0a0a0a0a0a0a0aull) |
                     ts_has_byte(w, 0x0d0d0d0d0d0d0d0dull);
        if (m) return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end && !k->special[(uint8_t)*p]) p++;
    return p;
#endif
}

/* Tokenizes complete rows from buf[pos..len) (at most max_rows).  Stops before an
 * incomplete row unless at EOF.  Returns 0, or -1 with r->err set. */
int
csv_tokenize(reader *r, size_t max_rows)
{
    const char *buf = r->buf;
    const char *end = buf + r->len;
    const char *p = buf + r->pos;
    const char delim = r->delim, quote = r->quote;
    const int has_quote = r->has_quote, eof = r->eof;
    int64_t line = r->line;
    /* the field array in locals: stores through r would be reloaded every field */
    field_t *F = r->fields;
    size_t nfl = r->nfields, fcapl = r->fcap;
    scan_consts k;
    scan_init(&k, r);
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
                if (g < 0) return csv_nomem(r);
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
                    const char *q = to_quote(p, end, &k, &line);
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
                    csv_set_snip(&e, p, 1);
                    r->err = e;
                    return -1;
                }
            }
            else {
                p = to_stop(p, end, &k);
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
            if (csv_report(r, NULL, &rowerr) < 0) return -1;
            continue;
        }
        r->nfields = nfl;
        if (r->nrows == r->rcap && ts_grow((void **)&r->rows, &r->rcap, r->nrows + 1, sizeof(row_t)) < 0) {
            return csv_nomem(r);
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
/* a chunk                                                                   */

void
csv_physical_line(reader *r, row_t *row, size_t off, int64_t *line)
{
    int64_t l = row->line;
    for (size_t i = row->start; i < off; i++) {
        char ch = r->buf[i];
        if (ch == '\n') l++;
        else if (ch == '\r' && !(i + 1 < r->len && r->buf[i + 1] == '\n')) l++;
    }
    *line = l;
}

int
csv_locate_bad_text(reader *r)
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
        csv_physical_line(r, row, off, &e.line);
        if (csv_report(r, row, &e) < 0) return -1;
        from = row->end;
    }
    return 0;
}
/* Tokenizes all complete rows and validates their bytes as UTF-8 (sets utf8_ok
 * when valid; an invalid byte is left for check_utf8 to locate and report). */
int
csv_tokenize_checked(reader *r)
{
    int rc = csv_tokenize(r, (size_t)-1);
    if (rc == 0) {
        r->utf8_ok = r->nrows == 0 ||
                     ts_utf8_invalid_at((const uint8_t *)r->buf + r->rows[0].start,
                                     r->rows[r->nrows - 1].end - r->rows[0].start) < 0;
    }
    return rc;
}
