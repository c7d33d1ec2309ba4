/*
 * groupby/quantile.c -- order statistics by group (no Python.h): the values are
 * counting-sorted by group code into one buffer (per-thread cursors keep row order),
 * then each group's run is selected (one quantile) or sorted (several), with the
 * run's moments (sum, sum of squared deviations) on request.
 */
#include "groupby/gb.h"

#include <math.h>
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* ---- order statistics ---------------------------------------------------- */

/* Owned (release with gb_big_free): an uninitialised block of `bytes` for random
 * access, or NULL.  On Linux a large block is aligned to 2 MiB and asks for huge pages
 * (transparent huge pages in "madvise" mode): a scatter over 80 MB otherwise misses the
 * TLB on nearly every write and takes a page fault every 4 KiB. */
static void *
gb_big_alloc(size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const size_t huge = (size_t)2 << 20;
    if (bytes >= 4 * huge) {
        void *p = NULL;
        if (posix_memalign(&p, huge, bytes) != 0) return NULL;
        (void)madvise(p, bytes, MADV_HUGEPAGE);   /* advice only: failure is harmless */
        return p;
    }
#endif
    return malloc(bytes > 0 ? bytes : 1);
}

static void
gb_big_free(void *p)
{
    free(p);
}

typedef struct {
    const int32_t *codes;
    const void *vals;
    const uint8_t *mask;
    int vt;
    ptrdiff_t start, end;
    int64_t *cur;         /* per-code write cursor (this thread's slice) */
    double *buf;
} gb_scatter_job;

static void
gb_scatter_worker(void *arg)
{
    gb_scatter_job *j = (gb_scatter_job *)arg;
    const int32_t *codes = j->codes;
    const uint8_t *mask = j->mask;
    int64_t *cur = j->cur;
    double *buf = j->buf;
    GB_SWITCH(j->vt,
        const T *v = (const T *)j->vals;
        for (ptrdiff_t i = j->start; i < j->end; i++) {
            if (!GB_OK_ROW(i)) continue;
            double x = (double)v[i];
            if (x != x) continue;
            buf[cur[codes[i]]++] = x;
        }
    )
}

/* Counts the valid values and the rows per code of one slice of rows (a thread of
 * gb_quantile), into slot-indexed arrays (slot g + 1 for code g, 0 for dropped rows),
 * flagging a code outside [-1, nc) in `bad` (the codes get no separate check). */
typedef struct {
    int vt, bad;
    const int32_t *codes;
    const void *vals;
    const uint8_t *mask;
    ptrdiff_t start, end, nc;
    int64_t *cnt, *rows;  /* nc + 1 each, zeroed, owned by the caller */
} gb_count_job;

static void
gb_count_worker(void *arg)
{
    gb_count_job *c = (gb_count_job *)arg;
    const int32_t *codes = c->codes;
    const uint8_t *mask = c->mask;
    const uint32_t nc = (uint32_t)c->nc;
    int64_t *cnt = c->cnt, *rows = c->rows;
    int bad = 0;
    uint32_t g_;
    GB_SWITCH(c->vt,
        const T *v = (const T *)c->vals;
        if (mask == NULL) {
            for (ptrdiff_t i = c->start; i < c->end; i++) {
                GB_SLOT(i);
                double x = (double)v[i];
                rows[g_]++;
                cnt[g_] += x == x;
            }
        }
        else {
            for (ptrdiff_t i = c->start; i < c->end; i++) {
                GB_SLOT(i);
                double x = (double)v[i];
                rows[g_]++;
                cnt[g_] += (mask[i] != 0) & (x == x);
            }
        }
    )
    c->bad = bad;
}

/* Rearranges a[0..n) so that a[k] holds the k-th smallest, smaller ones before it
 * and larger or equal ones after it (quickselect).  The partition is Lomuto's with an
 * unconditional swap, so it has no data-dependent branch (random values would
 * mispredict about every other comparison); when nothing is smaller than the pivot, a
 * second pass gathers the copies of the pivot, so repeated values still make
 * progress. */
static void
gb_select(double *a, ptrdiff_t n, ptrdiff_t k)
{
    ptrdiff_t lo = 0, hi = n - 1;
    while (hi > lo) {
        if (hi - lo < 16) {
            for (ptrdiff_t i = lo + 1; i <= hi; i++) {
                double x = a[i];
                ptrdiff_t p = i;
                while (p > lo && a[p - 1] > x) { a[p] = a[p - 1]; p--; }
                a[p] = x;
            }
            return;
        }
        /* median of three as the pivot value */
        double x0 = a[lo], x1 = a[lo + (hi - lo) / 2], x2 = a[hi];
        double pivot = x0 < x1 ? (x1 < x2 ? x1 : (x0 < x2 ? x2 : x0))
                               : (x0 < x2 ? x0 : (x1 < x2 ? x2 : x1));
        ptrdiff_t store = lo;
        for (ptrdiff_t i = lo; i <= hi; i++) {
            double x = a[i];
            a[i] = a[store];
            a[store] = x;
            store += x < pivot;
        }
        /* [lo, store) < pivot <= [store, hi] */
        if (k < store) { hi = store - 1; continue; }
        if (store > lo) { lo = store; continue; }
        /* nothing below the pivot: put its copies first */
        for (ptrdiff_t i = lo; i <= hi; i++) {
            double x = a[i];
            a[i] = a[store];
            a[store] = x;
            store += x <= pivot;
        }
        /* [lo, store) == pivot < [store, hi]; store > lo as the pivot is in the range */
        if (k < store) return;
        lo = store;
    }
}

static int
gb_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Sum of a[0..n), or with `squares` of (a[i] - center)^2: blocks of 1024
 * values go into 8 independent plain partial sums (no loop-carried latency chain),
 * and the block totals into a compensated sum. */
static double
gb_block_sum(const double *a, ptrdiff_t n, int squares, double center)
{
    double sv = 0.0, cv = 0.0;
    for (ptrdiff_t b = 0; b < n; b += 1024) {
        ptrdiff_t e = n - b > 1024 ? b + 1024 : n, i = b;
        double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        if (!squares) {
            for (; i + 8 <= e; i += 8)
                for (int l = 0; l < 8; l++) p[l] += a[i + l];
            for (; i < e; i++) p[0] += a[i];
        }
        else {
            for (; i + 8 <= e; i += 8)
                for (int l = 0; l < 8; l++) {
                    double d = a[i + l] - center;
                    p[l] += d * d;
                }
            for (; i < e; i++) {
                double d = a[i] - center;
                p[0] += d * d;
            }
        }
        double t = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
        gb_kahan_add(&sv, &cv, t);
    }
    return sv;
}

typedef struct {
    double *buf;
    const int64_t *start, *count;
    const double *qs;
    ptrdiff_t nq, g0, g1;
    int median;
    double *out;          /* nc x nq */
    double *sum, *m2;     /* per code, or NULL: moments from the group's contiguous run */
} gb_quant_job;

static double
gb_lerp_at(const double *a, ptrdiff_t n, double q, int median, int sorted)
{
    double pos = q * (double)(n - 1);
    ptrdiff_t lo = (ptrdiff_t)floor(pos);
    if (lo >= n - 1) lo = n - 1;
    double frac = pos - (double)lo;
    double x = a[lo];
    if (frac == 0.0 || lo + 1 >= n) return x;
    double y;
    if (sorted) y = a[lo + 1];
    else {
        y = a[lo + 1];
        for (ptrdiff_t i = lo + 2; i < n; i++) if (a[i] < y) y = a[i];
    }
    if (median) return (x + y) / 2.0;
    return x + (y - x) * frac;
}

static void
gb_quant_worker(void *arg)
{
    gb_quant_job *j = (gb_quant_job *)arg;
    for (ptrdiff_t g = j->g0; g < j->g1; g++) {
        double *a = j->buf + j->start[g];
        ptrdiff_t n = (ptrdiff_t)j->count[g];
        double *o = j->out + g * j->nq;
        if (j->sum != NULL) {
            /* sum, then sum of squared deviations from the mean: two passes over values
             * already in cache */
            double sv = gb_block_sum(a, n, 0, 0.0);
            double mu = n > 0 ? sv / (double)n : 0.0;
            j->sum[g] = sv;
            j->m2[g] = gb_block_sum(a, n, 1, mu);
        }
        if (n == 0) {
            for (ptrdiff_t q = 0; q < j->nq; q++) o[q] = NAN;
            continue;
        }
        if (j->nq == 1) {
            double pos = j->qs[0] * (double)(n - 1);
            ptrdiff_t lo = (ptrdiff_t)floor(pos);
            if (lo > n - 1) lo = n - 1;
            gb_select(a, n, lo);
            o[0] = gb_lerp_at(a, n, j->qs[0], j->median, 0);
        }
        else {
            qsort(a, (size_t)n, sizeof(double), gb_cmp_double);
            for (ptrdiff_t q = 0; q < j->nq; q++) o[q] = gb_lerp_at(a, n, j->qs[q], 0, 1);
        }
    }
}

/* Counts, then scatters the values by group, then the quantiles per group, for the
 * rows of `in` into `out` (arrays owned and zeroed by the caller).  Returns GB_OK,
 * GB_ENOMEM, or GB_ECODE when a code lies outside [-1, nc) (the caller finds which). */
int
gb_quantile_run(const gb_quant_in *in, const gb_quant_out *out)
{
    const int nthreads = in->nthreads;
    const ptrdiff_t n = in->n, nc = in->nc;
    int64_t *count = out->count;
    int rc = GB_OK, bad = 0;
    double *buf = NULL;
    /* per-thread counts give each thread its own slice of every group's run */
    int64_t *curs = calloc((size_t)nthreads * (size_t)(nc + 1), sizeof(int64_t));
    int64_t *starts = calloc((size_t)nc + 1, sizeof(int64_t));
    int64_t *slots = calloc((size_t)nthreads * 2 * (size_t)(nc + 1), sizeof(int64_t));
    if (curs == NULL || starts == NULL || slots == NULL) {
        rc = GB_ENOMEM;
        goto done;
    }
    gb_count_job cj[GB_MAXTHREADS];
    for (int t = 0; t < nthreads; t++) {
        cj[t].vt = in->vt;
        cj[t].codes = in->codes;
        cj[t].vals = in->vals;
        cj[t].mask = in->mask;
        cj[t].start = n * t / nthreads;
        cj[t].end = n * (t + 1) / nthreads;
        cj[t].nc = nc;
        cj[t].cnt = slots + (size_t)t * 2 * (size_t)(nc + 1);
        cj[t].rows = cj[t].cnt + (nc + 1);
    }
    ts_pool_run(gb_count_worker, cj, sizeof(gb_count_job), nthreads);
    for (int t = 0; t < nthreads; t++) bad |= cj[t].bad;
    if (bad) {
        rc = GB_ECODE;
        goto done;
    }
    for (int t = 0; t < nthreads; t++) {
        int64_t *tc = curs + (size_t)t * (size_t)(nc + 1);
        for (ptrdiff_t g = 0; g < nc; g++) {
            tc[g] = cj[t].cnt[g + 1];
            out->rows[g] += cj[t].rows[g + 1];
        }
    }
    int64_t pos = 0;
    for (ptrdiff_t g = 0; g < nc; g++) {
        starts[g] = pos;
        int64_t tot = 0;
        for (int t = 0; t < nthreads; t++) {
            int64_t *tc = curs + (size_t)t * (size_t)(nc + 1);
            int64_t k = tc[g];
            tc[g] = pos + tot;     /* becomes this thread's cursor */
            tot += k;
        }
        count[g] = tot;
        pos += tot;
    }
    starts[nc] = pos;
    buf = gb_big_alloc((size_t)pos * sizeof(double));
    if (buf == NULL) {
        rc = GB_ENOMEM;
        goto done;
    }
    gb_scatter_job sj[GB_MAXTHREADS];
    for (int t = 0; t < nthreads; t++) {
        sj[t].codes = in->codes; sj[t].vals = in->vals; sj[t].mask = in->mask; sj[t].vt = in->vt;
        sj[t].start = n * t / nthreads;
        sj[t].end = n * (t + 1) / nthreads;
        sj[t].cur = curs + (size_t)t * (size_t)(nc + 1);
        sj[t].buf = buf;
    }
    ts_pool_run(gb_scatter_worker, sj, sizeof(gb_scatter_job), nthreads);
    gb_quant_job qj[GB_MAXTHREADS];
    /* split groups so that each thread gets about the same number of values */
    int64_t total = starts[nc];
    ptrdiff_t g = 0;
    for (int t = 0; t < nthreads; t++) {
        qj[t].buf = buf; qj[t].start = starts; qj[t].count = count;
        qj[t].qs = in->qs; qj[t].nq = in->nq; qj[t].median = in->median;
        qj[t].out = out->out;
        qj[t].sum = out->sum;
        qj[t].m2 = out->m2;
        qj[t].g0 = g;
        int64_t limit = total * (t + 1) / nthreads;
        if (t == nthreads - 1) g = nc;
        else while (g < nc && starts[g] < limit) g++;
        qj[t].g1 = g;
    }
    ts_pool_run(gb_quant_worker, qj, sizeof(gb_quant_job), nthreads);
done:
    free(curs);
    free(starts);
    free(slots);
    gb_big_free(buf);
    return rc;
}
