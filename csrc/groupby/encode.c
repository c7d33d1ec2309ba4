/*
 * groupby/encode.c -- one key becomes dense int32 group codes (no Python.h).
 *
 * Small-range integers and dates index directly (code = value - min, a date part
 * through a table of the part of each day); everything else goes through the
 * open-addressing integer map (floats: NaN is null, -0.0 == 0.0) or, for strings, a
 * map keyed by the bytes' hash.  Codes are in first-appearance order for hashed
 * keys; the binding (bind.c) turns them into arrays.
 */
#include "groupby/gb.h"

#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* the integer map                                                           */

int
gb_map_init(gb_map *m, size_t expect)
{
    size_t cap = 64;
    while (cap < expect * 2) cap <<= 1;
    m->slots = malloc(cap * sizeof(gb_slot));
    m->uniq = malloc(64 * sizeof(int64_t));
    if (m->slots == NULL || m->uniq == NULL) return -1;
    for (size_t i = 0; i < cap; i++) m->slots[i].code = -1;
    m->mask = cap - 1;
    m->n = 0;
    m->cap = 64;
    return 0;
}

void
gb_map_free(gb_map *m)
{
    free(m->slots);
    free(m->uniq);
    m->slots = NULL;
    m->uniq = NULL;
}

/* Doubles the table (slots keyed by their stored hash/key). */
int
gb_map_grow(gb_map *m, int keyed_by_hash)
{
    size_t cap = (m->mask + 1) * 2;
    gb_slot *s = malloc(cap * sizeof(gb_slot));
    if (s == NULL) return -1;
    for (size_t i = 0; i < cap; i++) s[i].code = -1;
    for (size_t i = 0; i <= m->mask; i++) {
        if (m->slots[i].code < 0) continue;
        uint64_t h = keyed_by_hash ? (uint64_t)m->slots[i].key : ts_hash_mix64((uint64_t)m->slots[i].key);
        size_t j = (size_t)h & (cap - 1);
        while (s[j].code >= 0) j = (j + 1) & (cap - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->mask = cap - 1;
    return 0;
}

int
gb_map_push(gb_map *m, int64_t v)
{
    if (m->n == m->cap) {
        int64_t *u = realloc(m->uniq, m->cap * 2 * sizeof(int64_t));
        if (u == NULL) return -1;
        m->uniq = u;
        m->cap *= 2;
    }
    m->uniq[m->n++] = v;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* numeric keys                                                              */

/* Reads key row i as an int64 (after the date part); returns 0 for a null row. */
#define GB_KEYREAD(T, ISF)                                                         \
    static inline int gb_key_##T(const void *vals, const uint8_t *mask, ptrdiff_t i, \
                                 int part, int64_t *out)                           \
    {                                                                              \
        if (mask && !mask[i]) return 0;                                            \
        T x = ((const T *)vals)[i];                                                \
        if (ISF) {                                                                 \
            double d = (double)x;                                                  \
            if (d != d) return 0;                                                  \
            if (d == 0) d = 0.0;                                                   \
            memcpy(out, &d, 8);                                                    \
            return 1;                                                              \
        }                                                                          \
        int64_t v = (int64_t)x;                                                    \
        if (part != PART_NONE) v = gb_part_of_day(v, part);                        \
        *out = v;                                                                  \
        return 1;                                                                  \
    }
GB_KEYREAD(uint8_t, 0)
GB_KEYREAD(int32_t, 0)
GB_KEYREAD(int64_t, 0)
GB_KEYREAD(float, 1)
GB_KEYREAD(double, 1)

typedef int (*gb_keyfn)(const void *, const uint8_t *, ptrdiff_t, int, int64_t *);

static gb_keyfn
gb_keyfn_for(int vt)
{
    switch (vt) {
    case VT_B: return gb_key_uint8_t;
    case VT_I4: return gb_key_int32_t;
    case VT_I8: return gb_key_int64_t;
    case VT_F4: return gb_key_float;
    default: return gb_key_double;
    }
}

/* One slice of the one-pass range encoding (a thread of gb_encode_num): codes
 * relative to the guessed origin g0, and the slice's true minimum and maximum. */
typedef struct {
    int vt;
    const void *vals;
    int32_t *codes;
    ptrdiff_t start, end;
    int64_t g0, lo, hi;
} gb_range_job;

static void
gb_range_worker(void *arg)
{
    gb_range_job *r = (gb_range_job *)arg;
    int64_t rlo = INT64_MAX, rhi = INT64_MIN;
    const uint64_t g0 = (uint64_t)r->g0;
    int32_t *codes = r->codes;
    GB_SWITCH(r->vt,
        const T *v = (const T *)r->vals;
        for (ptrdiff_t i = r->start; i < r->end; i++) {
            int64_t x = (int64_t)v[i];
            rlo = x < rlo ? x : rlo;
            rhi = x > rhi ? x : rhi;
            codes[i] = (int32_t)(uint32_t)((uint64_t)x - g0);
        })
    r->lo = rlo;
    r->hi = rhi;
}

/* One slice of a date-part encoding through a lookup table (a thread of
 * gb_encode_num): codes[i] = table[days[i] - d0], the table holding the part of each
 * day in [d0, d0 + span) minus the smallest part; `over` is set when a day lies
 * outside the table (its code is then meaningless).  Keys without nulls only. */
typedef struct {
    int vt;
    const void *vals;
    const int32_t *table;
    int64_t d0;
    uint64_t span;
    int32_t *codes;
    ptrdiff_t start, end;
    int over;
} gb_table_job;

static void
gb_table_worker(void *arg)
{
    gb_table_job *r = (gb_table_job *)arg;
    const int32_t *table = r->table;
    const uint64_t d0 = (uint64_t)r->d0, span = r->span;
    int32_t *codes = r->codes;
    int over = 0;
    GB_SWITCH(r->vt,
        const T *v = (const T *)r->vals;
        for (ptrdiff_t i = r->start; i < r->end; i++) {
            uint64_t d = (uint64_t)(int64_t)v[i] - d0;
            int out = d >= span;
            over |= out;
            codes[i] = table[out ? 0 : d];
        })
    r->over = over;
}

/* Runs gb_table_worker over all n rows with nthreads threads; 1 if a day was outside
 * the table. */
static int
gb_table_codes(int vt, const void *vals, ptrdiff_t n, const int32_t *table, int64_t d0,
               uint64_t span, int32_t *codes, int nthreads)
{
    gb_table_job tj[GB_MAXTHREADS];
    int nt = gb_nthreads(nthreads, n), over = 0;
    for (int t = 0; t < nt; t++) {
        tj[t].vt = vt;
        tj[t].vals = vals;
        tj[t].table = table;
        tj[t].d0 = d0;
        tj[t].span = span;
        tj[t].codes = codes;
        tj[t].start = n * t / nt;
        tj[t].end = n * (t + 1) / nt;
    }
    ts_pool_run(gb_table_worker, tj, sizeof(gb_table_job), nt);
    for (int t = 0; t < nt; t++) over |= tj[t].over;
    return over;
}

/* The smallest and largest of 4096 values taken at an even stride (n >= 4096). */
static void
gb_sample_range(int vt, const void *vals, ptrdiff_t n, int64_t *lo, int64_t *hi)
{
    int64_t smin = INT64_MAX, smax = INT64_MIN;
    const ptrdiff_t m = 4096, stride = n / m;
    GB_SWITCH(vt,
        const T *v = (const T *)vals;
        for (ptrdiff_t i = 0; i < m; i++) {
            int64_t x = (int64_t)v[i * stride];
            smin = x < smin ? x : smin;
            smax = x > smax ? x : smax;
        })
    *lo = smin;
    *hi = smax;
}

/* A table of the date part (year or month) of each day in [d0, d0 + span), minus the
 * smallest part, which goes to *plo (the largest to *phi); NULL when out of memory.
 * Owned by the caller (free). */
static int32_t *
gb_part_table(int part, int64_t d0, size_t span, int64_t *plo, int64_t *phi)
{
    int32_t *table = malloc(span * sizeof(int32_t));
    if (table == NULL) return NULL;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t d = 0; d < span; d++) {
        int64_t pv = gb_part_of_day(d0 + (int64_t)d, part);
        table[d] = (int32_t)pv;
        lo = pv < lo ? pv : lo;
        hi = pv > hi ? pv : hi;
    }
    for (size_t d = 0; d < span; d++) table[d] -= (int32_t)lo;
    *plo = lo;
    *phi = hi;
    return table;
}

/* The one-pass range guess (no mask, no date part, n >= 65536): guess the minimum
 * from a sample, lowered by 1/256 of the sample's range (the sample's minimum is
 * never below the true one), write codes relative to it while finding the true range
 * *rlo..*rhi, and keep them when the guess held (returns 1, *rlo then the codes'
 * origin).  Codes below the true minimum are just empty groups.  Returns 0 (codes
 * meaningless) otherwise, *have_range telling whether *rlo..*rhi were found. */
static int
gb_guess_range(int vt, const void *vals, ptrdiff_t n, int64_t range_limit, int nthreads,
               int32_t *codes, int *have_range, int64_t *rlo, int64_t *rhi)
{
    int64_t smin, smax;
    gb_sample_range(vt, vals, n, &smin, &smax);
    uint64_t ext = ((uint64_t)smax - (uint64_t)smin) / 256;
    if (!((uint64_t)smin - (uint64_t)INT64_MIN >= ext &&
          (uint64_t)smax - ((uint64_t)smin - ext) < (uint64_t)range_limit))
        return 0;
    const int64_t g0 = (int64_t)((uint64_t)smin - ext);
    gb_range_job rj[GB_MAXTHREADS];
    int nt = gb_nthreads(nthreads, n);
    for (int t = 0; t < nt; t++) {
        rj[t].vt = vt;
        rj[t].vals = vals;
        rj[t].codes = codes;
        rj[t].start = n * t / nt;
        rj[t].end = n * (t + 1) / nt;
        rj[t].g0 = g0;
    }
    ts_pool_run(gb_range_worker, rj, sizeof(gb_range_job), nt);
    for (int t = 0; t < nt; t++) {
        *rlo = rj[t].lo < *rlo ? rj[t].lo : *rlo;
        *rhi = rj[t].hi > *rhi ? rj[t].hi : *rhi;
    }
    *have_range = 1;
    if (*rlo >= g0 && (uint64_t)*rhi - (uint64_t)g0 < (uint64_t)range_limit) {
        *rlo = g0;   /* the codes' origin */
        return 1;
    }
    return 0;
}

/* The date part in one pass (no mask, n >= 65536): a table of the part of each day
 * over the sample's range of days, widened by an eighth on each side, gives each
 * row's code; a day outside it sends the encoding down the two-pass path.  Parts in
 * the table no row has are just empty groups.  Returns 1 with the parts' range in
 * *lo..*hi when every code was written. */
static int
gb_guess_parts(int vt, const void *vals, ptrdiff_t n, int part, int nthreads, int32_t *codes,
               int64_t *lo, int64_t *hi)
{
    int64_t smin, smax;
    gb_sample_range(vt, vals, n, &smin, &smax);
    uint64_t width = (uint64_t)smax - (uint64_t)smin;
    if (!(width < (1u << 22) && smin > INT64_MIN / 2 && smax < INT64_MAX / 2)) return 0;
    const int64_t ext = (int64_t)(width / 8) + 1, d0 = smin - ext;
    const uint64_t span = width + 1 + 2 * (uint64_t)ext;
    int64_t plo, phi;
    int done = 0;
    int32_t *t = gb_part_table(part, d0, (size_t)span, &plo, &phi);
    if (t != NULL && !gb_table_codes(vt, vals, n, t, d0, span, codes, nthreads)) {
        done = 1;
        *lo = plo;
        *hi = phi;
    }
    free(t);
    return done;
}

/* The smallest and largest valid value. */
static void
gb_scan_range(int vt, const void *vals, const uint8_t *mask, ptrdiff_t n, int64_t *prlo,
              int64_t *prhi)
{
    int64_t rlo = *prlo, rhi = *prhi;
    GB_SWITCH(vt,
        const T *v = (const T *)vals;
        if (mask == NULL) {
            for (ptrdiff_t i = 0; i < n; i++) {
                int64_t x = (int64_t)v[i];
                rlo = x < rlo ? x : rlo;
                rhi = x > rhi ? x : rhi;
            }
        }
        else {
            for (ptrdiff_t i = 0; i < n; i++) {
                if (!mask[i]) continue;
                int64_t x = (int64_t)v[i];
                rlo = x < rlo ? x : rlo;
                rhi = x > rhi ? x : rhi;
            }
        }
    )
    *prlo = rlo;
    *prhi = rhi;
}

/* Range codes: code = key (or its date part) - lo, `nc` for a null row (counted in
 * *nnull); `table` (the part of each day from dlo, minus lo) replaces the calendar. */
static void
gb_range_codes(int vt, const void *vals, const uint8_t *mask, ptrdiff_t n, int part,
               const int32_t *table, int64_t dlo, int64_t lo, int32_t nc, int32_t *codes,
               ptrdiff_t *pnnull)
{
    ptrdiff_t nnull = 0;
    GB_SWITCH(vt,
        const T *v = (const T *)vals;
        if (mask == NULL && table == NULL && part == PART_NONE) {
            for (ptrdiff_t i = 0; i < n; i++) codes[i] = (int32_t)((int64_t)v[i] - lo);
        }
        else for (ptrdiff_t i = 0; i < n; i++) {
            if (mask && !mask[i]) { codes[i] = nc; nnull++; continue; }
            int64_t x = (int64_t)v[i];
            if (table) {
                codes[i] = table[x - dlo];   /* the table holds part - lo */
                continue;
            }
            if (part != PART_NONE) x = gb_part_of_day(x, part);
            codes[i] = (int32_t)(x - lo);
        }
    )
    *pnnull = nnull;
}

/* Hash codes through out->map (first-appearance order); nulls get the null code or
 * -1.  Returns GB_OK or GB_ENOMEM. */
static int
gb_map_codes(gb_keyfn key, const void *vals, const uint8_t *mask, ptrdiff_t n, int part,
              int dropna, int32_t *codes, gb_numkey *out)
{
    ptrdiff_t nnull = 0;
    int failed = 0;
    if (gb_map_init(&out->map, 1024) < 0) failed = 1;
    for (ptrdiff_t i = 0; i < n && !failed; i++) {
        int64_t k;
        if (key(vals, mask, i, part, &k)) {
            int32_t c = gb_map_int(&out->map, k);
            if (c < 0) failed = 1;
            codes[i] = c;
        }
        else { codes[i] = -2; nnull++; }
    }
    if (failed) return GB_ENOMEM;
    out->ncodes = (int64_t)out->map.n;
    int32_t nc = -1;
    if (!dropna && nnull > 0) nc = out->nullcode = (int32_t)out->ncodes++;
    if (nnull > 0) {
        for (ptrdiff_t i = 0; i < n; i++) if (codes[i] == -2) codes[i] = nc;
    }
    return GB_OK;
}

/* Encodes a numeric key (vt; the date part `part` of an int key) of n rows into codes
 * (every slot written).  Range encoding when the values span fewer than range_limit:
 * code = key - out->lo; else hash encoding, out->map.uniq holding the key of each
 * code (int64; float64 bits for float input).  out->nullcode is the code of the null
 * group (dropna == 0 and some null row), else -1.  Returns GB_OK or GB_ENOMEM; the
 * caller frees out->map either way.  No Python API. */
int
gb_encode_num_run(int vt, const void *vals, const uint8_t *mask, ptrdiff_t n, int part,
                  int dropna, int64_t range_limit, int nthreads, int32_t *codes,
                  gb_numkey *out)
{
    memset(out, 0, sizeof(*out));
    out->nullcode = -1;
    int isfloat = vt == VT_F4 || vt == VT_F8;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    int failed = 0, use_range = 0;
    int32_t *table = NULL;   /* date part of each day in [dlo, rhi_days] */
    int64_t dlo = 0, rhi_days = 0;
    int written = 0;   /* codes already written by a one-pass guess */
    if (!isfloat) {
        int64_t rlo = INT64_MAX, rhi = INT64_MIN;
        int have_range = 0;
        if (mask == NULL && part == PART_NONE && n >= 65536)
            written = gb_guess_range(vt, vals, n, range_limit, nthreads, codes, &have_range,
                                     &rlo, &rhi);
        if (mask == NULL && part != PART_NONE && n >= 65536) {
            written = gb_guess_parts(vt, vals, n, part, nthreads, codes, &lo, &hi);
            have_range = written;
        }
        if (!have_range) gb_scan_range(vt, vals, mask, n, &rlo, &rhi);
        if (written && part != PART_NONE) {
            /* lo and hi came with the table */
        }
        else if (part != PART_NONE && rlo <= rhi) {
            if ((uint64_t)rhi - (uint64_t)rlo < (1u << 24)) {
                /* a lookup table of the part per day replaces the calendar arithmetic */
                table = gb_part_table(part, rlo, (size_t)(rhi - rlo) + 1, &lo, &hi);
                if (table == NULL) failed = 1;
                dlo = rlo;
                rhi_days = rhi;
            }
            else {
                gb_keyfn key = gb_keyfn_for(vt);
                for (ptrdiff_t i = 0; i < n; i++) {
                    int64_t k;
                    if (key(vals, mask, i, part, &k)) {
                        lo = k < lo ? k : lo;
                        hi = k > hi ? k : hi;
                    }
                }
            }
        }
        else {
            lo = rlo;
            hi = rhi;
        }
        /* hi - lo computed in unsigned arithmetic: no overflow for any int64 pair */
        use_range = !failed && (lo > hi || (uint64_t)hi - (uint64_t)lo < (uint64_t)range_limit);
    }
    out->use_range = use_range;
    if (use_range) {
        ptrdiff_t nnull = 0;
        if (lo > hi) lo = hi = 0;
        int64_t ncodes = (int64_t)((uint64_t)hi - (uint64_t)lo) + 1;
        int32_t nc = dropna ? -1 : (int32_t)ncodes;
        if (written) {
            /* done in one of the one-pass guesses */
        }
        else if (mask == NULL && table != NULL) {
            gb_table_codes(vt, vals, n, table, dlo, (uint64_t)(rhi_days - dlo) + 1, codes, nthreads);
        }
        else {
            gb_range_codes(vt, vals, mask, n, part, table, dlo, lo, nc, codes, &nnull);
        }
        if (!dropna && nnull > 0) out->nullcode = (int32_t)ncodes++;
        else if (nnull == n) ncodes = 0;   /* only nulls (or no rows): no groups */
        out->ncodes = ncodes;
        out->lo = lo;
    }
    else if (!failed) {
        out->lo = 0;
        failed = gb_map_codes(gb_keyfn_for(vt), vals, mask, n, part, dropna, codes, out) < 0;
    }
    free(table);
    return failed ? GB_ENOMEM : GB_OK;
}

/* ------------------------------------------------------------------------ */
/* string keys                                                               */

/* First row i whose offsets off[i], off[i + 1] are not a range within nbytes, or -1. */
ptrdiff_t
gb_bad_offsets(const int32_t *off, ptrdiff_t n, ptrdiff_t nbytes)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        if (off[i] < 0 || off[i + 1] < off[i] || off[i + 1] > nbytes) return i;
    }
    return -1;
}

/* Encoding of the UTF-8 strings data[off[i], off[i + 1]) (offsets checked by
 * gb_bad_offsets) into codes through the string dictionary (util/strdict.h: codes in
 * first-seen order); out->map.uniq[k] is the first row holding group k.  Returns
 * GB_OK or GB_ENOMEM; the caller frees out->map either way. */
int
gb_encode_str_run(const int32_t *off, const uint8_t *data, const uint8_t *mask, ptrdiff_t n,
                  int dropna, int32_t *codes, gb_numkey *out)
{
    memset(out, 0, sizeof(*out));
    out->nullcode = -1;
    gb_map *map = &out->map;   /* only its uniq list: the first row of each code */
    ts_strdict dict;
    memset(&dict, 0, sizeof(dict));
    ptrdiff_t nnull = 0;
    int rc = GB_OK;
    if (gb_map_init(map, 0) < 0) return GB_ENOMEM;
    for (ptrdiff_t i = 0; i < n; i++) {
        if (mask && !mask[i]) { codes[i] = -2; nnull++; continue; }
        int64_t code = ts_strdict_intern_safe(&dict, (const char *)data + off[i],
                                              (size_t)(off[i + 1] - off[i]));
        if (code < 0 || code >= INT32_MAX) { rc = GB_ENOMEM; goto done; }
        if ((size_t)code == map->n && gb_map_push(map, (int64_t)i) < 0) { rc = GB_ENOMEM; goto done; }
        codes[i] = (int32_t)code;
    }
    out->ncodes = (int64_t)map->n;
    int32_t nc = -1;
    if (!dropna && nnull > 0) nc = out->nullcode = (int32_t)out->ncodes++;
    if (nnull > 0) {
        for (ptrdiff_t i = 0; i < n; i++) if (codes[i] == -2) codes[i] = nc;
    }
done:
    ts_strdict_free(&dict);
    return rc;
}
