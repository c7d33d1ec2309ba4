/*
 * groupby/combine.c -- several keys into one code, and a list key exploded (no
 * Python.h).
 *
 * Two keys' codes combine mixed-radix (c1 * n2 + c2) while the product of their
 * cardinalities stays small, and through the integer map of the radix value
 * otherwise.  An exploded list<category> key gives one element per list item, its
 * code the last radix digit.
 */
#include "groupby/gb.h"

#include <stdlib.h>

/* Codes c1 * n2 + c2 of n rows (-1 when either is -1) into out.  With hash set, the
 * radix values are hash-encoded into dense codes (first-appearance order) through
 * *map (map->uniq: each code's radix value; the caller frees it), codes checked by
 * the caller; else a code outside [-1, n) gives GB_ECODE (the caller finds which).
 * *ncodes: the number of codes.  Returns GB_OK, GB_ECODE or GB_ENOMEM. */
int
gb_combine_run(const int32_t *c1, int64_t n1, const int32_t *c2, int64_t n2, ptrdiff_t n,
               int hash, int32_t *out, gb_map *map, int64_t *ncodes)
{
    if (!hash) {
        /* branch-free (vectorisable): a code outside [-1, n) sets `bad` */
        const int32_t m = (int32_t)n2;
        const uint32_t l1 = (uint32_t)n1, l2 = (uint32_t)n2;
        uint32_t badbits = 0;
        for (ptrdiff_t i = 0; i < n; i++) {
            int32_t x = c1[i], y = c2[i];
            badbits |= ((uint32_t)x + 1u > l1) | ((uint32_t)y + 1u > l2);
            int32_t r = (int32_t)((uint32_t)x * (uint32_t)m + (uint32_t)y);
            out[i] = (x | y) < 0 ? -1 : r;
        }
        *ncodes = n1 * n2;
        return badbits != 0 ? GB_ECODE : GB_OK;
    }
    if (gb_map_init(map, 1024) < 0) return GB_ENOMEM;
    for (ptrdiff_t i = 0; i < n; i++) {
        if (c1[i] < 0 || c2[i] < 0) { out[i] = -1; continue; }
        int32_t c = gb_map_int(map, (int64_t)c1[i] * n2 + c2[i]);
        if (c < 0) return GB_ENOMEM;
        out[i] = c;
    }
    *ncodes = (int64_t)map->n;
    return GB_OK;
}

/* ------------------------------------------------------------------------ */
/* explode                                                                   */


/* Pass 1: the slice's element count and whether its offsets ever decrease, in one
 * branch-free loop (int64 arithmetic: no overflow for any int32 offsets). */
static void
gb_explode_count(void *arg)
{
    gb_xjob *x = (gb_xjob *)arg;
    const int32_t *off = x->off, *rc = x->rc;
    const uint8_t *mask = x->mask;
    const int64_t one_if_empty = x->ec >= 0;
    int64_t total = 0, dec = 0;
    for (ptrdiff_t i = x->r0; i < x->r1; i++) {
        int64_t len = (int64_t)off[i + 1] - (int64_t)off[i];
        dec |= len;                               /* sign bit: a decrease */
        if (mask != NULL) len = mask[i] ? len : 0;
        int64_t c = len > 0 ? len : one_if_empty;
        total += rc[i] >= 0 ? c : 0;
    }
    x->count = total;
    x->bad = dec < 0;
}

/* Pass 2: writes the slice's elements to out[k0, k0 + count).  A row with at most four
 * items is written as four unconditional stores (the next row's stores overwrite the
 * unused ones), so the loop has no branch on the list length; near either end of the
 * slice's output or of the items it takes the careful path. */
static void
gb_explode_fill(void *arg)
{
    gb_xjob *x = (gb_xjob *)arg;
    const int32_t *off = x->off, *rc = x->rc, *kid = x->kid;
    const uint8_t *mask = x->mask;
    const int32_t m = x->m, ec = x->ec;
    const int64_t one_if_empty = ec >= 0, kend = x->k0 + x->count, nk = x->nk;
    int32_t *out = x->out;
    int64_t *rows = x->rows;
    int64_t k = x->k0;
    for (ptrdiff_t i = x->r0; i < x->r1; i++) {
        /* masks and selects in integer arithmetic: list lengths are random, so
         * branches on them would be mispredicted about half of the time */
        const int64_t s = off[i];
        int64_t len = (int64_t)off[i + 1] - s;
        if (mask != NULL) len &= -(int64_t)(mask[i] != 0);
        const int64_t keep = rc[i] >= 0, nonempty = len > 0;
        /* unsigned: the spare stores may add items of other rows (even garbage in a
         * null row's items); they are overwritten, but must not overflow */
        const uint32_t base = (uint32_t)rc[i] * (uint32_t)m & (uint32_t)-keep;
        const int64_t adv = (len + (one_if_empty & (nonempty - 1))) & -keep;
        if (k + 4 <= kend && s + 4 <= nk && len <= 4) {
            const uint32_t first = (uint32_t)kid[s] & (uint32_t)-nonempty;
            const uint32_t emp = (uint32_t)ec & (uint32_t)(nonempty - 1);
            out[k] = (int32_t)(base + (first | emp));
            out[k + 1] = (int32_t)(base + (uint32_t)kid[s + 1]);
            out[k + 2] = (int32_t)(base + (uint32_t)kid[s + 2]);
            out[k + 3] = (int32_t)(base + (uint32_t)kid[s + 3]);
            if (rows) {
                rows[k] = rows[k + 1] = rows[k + 2] = rows[k + 3] = i;
            }
        }
        else if (adv > 0) {
            if (len == 0) {
                out[k] = (int32_t)(base + (uint32_t)ec);
                if (rows) rows[k] = i;
            }
            for (int64_t e = 0; e < len; e++) {
                out[k + e] = (int32_t)(base + (uint32_t)kid[s + e]);
                if (rows) rows[k + e] = i;
            }
        }
        k += adv;
    }
}

/* Pass 1 over all rows with in->nthreads threads (jobs: that many, filled here): the
 * number of elements in *total, or GB_EOFFSETS (err->row: the first row whose offsets
 * are invalid) or GB_EITEM (err->row: the first item of a used row outside the
 * categories).  Rows whose row code is -1 give nothing. */
int
gb_explode_count_all(const gb_explode_in *in, gb_xjob *jobs, int64_t *total, gb_error *err)
{
    const ptrdiff_t n = in->n, nk = in->nk, nl = in->nl;
    const int32_t *off = in->off, *rc = in->rc, *kid = in->kid;
    const uint8_t *mask = in->mask;
    const int nt = in->nthreads;
    memset(jobs, 0, (size_t)nt * sizeof(gb_xjob));
    for (int t = 0; t < nt; t++) {
        jobs[t].rc = rc;
        jobs[t].off = off;
        jobs[t].kid = kid;
        jobs[t].mask = mask;
        jobs[t].r0 = n * t / nt;
        jobs[t].r1 = n * (t + 1) / nt;
        jobs[t].nk = nk;
        jobs[t].m = in->nl;
        jobs[t].ec = in->ec;
    }
    ts_pool_run(gb_explode_count, jobs, sizeof(gb_xjob), nt);
    int64_t sum = 0;
    int anybad = off[0] < 0 || off[n] > nk;
    for (int t = 0; t < nt; t++) {
        anybad |= jobs[t].bad;
        jobs[t].k0 = sum;
        sum += jobs[t].count;
    }
    *total = sum;
    if (!anybad) {
        /* every item in the used range within the categories (one vectorized pass);
         * items of dropped or null rows count too, the exact pass below sorts that out */
        uint32_t over = 0;
        for (ptrdiff_t e = off[0]; e < off[n]; e++) over |= (uint32_t)kid[e] >= (uint32_t)nl;
        anybad = over != 0;
    }
    if (!anybad) return GB_OK;
    /* the exact check, for the first bad row or item of a row that is used */
    for (ptrdiff_t i = 0; i < n; i++) {
        if (off[i] < 0 || off[i + 1] < off[i] || off[i + 1] > nk)
            return gb_fail(err, GB_EOFFSETS, i, 0);
        if (rc[i] < 0) continue;
        ptrdiff_t len = (mask && !mask[i]) ? 0 : off[i + 1] - off[i];
        for (ptrdiff_t e = off[i]; e < off[i] + len; e++) {
            if (kid[e] < 0 || kid[e] >= nl) return gb_fail(err, GB_EITEM, e, kid[e]);
        }
    }
    return GB_OK;
}

/* Pass 2: writes every element's code to out (and its source row to rows, if not
 * NULL), jobs as pass 1 left them. */
void
gb_explode_fill_all(const gb_explode_in *in, gb_xjob *jobs, int32_t *out, int64_t *rows)
{
    for (int t = 0; t < in->nthreads; t++) {
        jobs[t].out = out;
        jobs[t].rows = rows;
    }
    ts_pool_run(gb_explode_fill, jobs, sizeof(gb_xjob), in->nthreads);
}
