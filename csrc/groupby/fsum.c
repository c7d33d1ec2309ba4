/*
 * groupby/fsum.c -- compensated float64 sums of one or several columns in one pass
 * (no Python.h).
 *
 * With fewer than GB_GPART_CODES codes the sums take the blocked path (gb_bsum):
 * plain sums per chunk of rows, compensated across chunks, row counts and the code
 * check in the same pass; the codes may also come straight from an int key (code =
 * key - origin: the keyed sums).  With more codes, one row-by-row Kahan pass over all
 * columns (gb_fsum_multi).
 */
#include "groupby/gb.h"

#include <math.h>
#include <stdlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- several float64 sums in one pass ------------------------------------- */

typedef struct {
    const int32_t *codes;
    int ncols, lanes, flag;
    const double *vals[GB_MAXCOLS];
    const uint8_t *masks[GB_MAXCOLS];
    ptrdiff_t start, end, nc;
    int32_t glo;
    uint32_t span;
    size_t per;              /* accumulators per column: lanes * nc */
    gb_acc *acc;             /* ncols * per; rows counted in column 0's */
} gb_mjob;

static void
gb_multi_worker(void *arg)
{
    gb_mjob *j = (gb_mjob *)arg;
    const int32_t *codes = j->codes;
    const int32_t glo = j->glo;
    const uint32_t span = j->span;
    const int ncols = j->ncols;
    const size_t per = j->per;
    gb_acc *acc = j->acc;
    int flag = 0;
#define ROW_MULTI(I_, OFF_)                                                         \
    do {                                                                            \
        int32_t g_ = codes[I_];                                                     \
        if ((uint32_t)(g_ - glo) < span) {                                          \
            size_t a_ = (size_t)g_ + (OFF_);                                        \
            for (int k_ = 0; k_ < ncols; k_++) {                                    \
                const uint8_t *m_ = j->masks[k_];                                   \
                double x_ = j->vals[k_][I_];                                        \
                if ((m_ != NULL && !m_[I_]) || x_ != x_) {                          \
                    if (k_ == 0) acc[a_].rows++;                                    \
                    continue;                                                       \
                }                                                                   \
                gb_acc *p_ = acc + (size_t)k_ * per + a_;                           \
                p_->n++;                                                            \
                double y_ = x_ - p_->c, t_ = p_->v.f + y_;                          \
                p_->c = (t_ - p_->v.f) - y_;                                        \
                p_->v.f = t_;                                                       \
            }                                                                       \
        }                                                                           \
    } while (0)
    /* the common case, no validity masks and few columns, gets a loop whose column
     * count is a compile-time constant */
    int nomask = 1;
    for (int k = 0; k < ncols; k++) if (j->masks[k] != NULL) nomask = 0;
#define ROW_MULTI_K(I_, OFF_, KC)                                                   \
    do {                                                                            \
        int32_t g_ = codes[I_];                                                     \
        if ((uint32_t)(g_ - glo) < span) {                                          \
            size_t a_ = (size_t)g_ + (OFF_);                                        \
            for (int k_ = 0; k_ < (KC); k_++) {                                     \
                double x_ = vals[k_][I_];                                           \
                if (x_ != x_) {                                                     \
                    if (k_ == 0) acc[a_].rows++;                                    \
                    continue;                                                       \
                }                                                                   \
                gb_acc *p_ = acc + (size_t)k_ * per + a_;                           \
                p_->n++;                                                            \
                double y_ = x_ - p_->c, t_ = p_->v.f + y_;                          \
                p_->c = (t_ - p_->v.f) - y_;                                        \
                p_->v.f = t_;                                                       \
            }                                                                       \
        }                                                                           \
    } while (0)
#define ROW_MULTI_2(I_, OFF_) ROW_MULTI_K(I_, OFF_, 2)
#define ROW_MULTI_3(I_, OFF_) ROW_MULTI_K(I_, OFF_, 3)
#define ROW_MULTI_4(I_, OFF_) ROW_MULTI_K(I_, OFF_, 4)
    const double *vals[GB_MAXCOLS];
    for (int k = 0; k < ncols; k++) vals[k] = j->vals[k];
    if (nomask && ncols == 2) GB_ROWS(ROW_MULTI_2);
    else if (nomask && ncols == 3) GB_ROWS(ROW_MULTI_3);
    else if (nomask && ncols == 4) GB_ROWS(ROW_MULTI_4);
    else GB_ROWS(ROW_MULTI);
    j->flag = flag;
}

/* ---- blocked float64 sums (fewer than GB_GPART_CODES codes) ----------------
 * Rows are taken in chunks; within a chunk each (group, lane) gets a plain sum (one
 * add per row, nothing dependent on the previous row of another group), and at the
 * end of the chunk the lanes' sums are added into a compensated per-group total.  A
 * chunk gives each plain sum at most a few thousand values (the error bound of a
 * plain sum grows with its length), so the totals stay within a few ulps of the
 * compensated row-by-row sum.  Row counts are fused into the same pass; a value is
 * assumed valid until a chunk's sum shows a NaN, in which case that chunk is redone
 * for that column with the NaN/null test per row.  A code outside [-1, nc) is counted
 * in slot 0 (with the dropped rows) and raises `bad`, so the codes need no separate
 * validation pass. */
#define GB_BLOCK_MIN 8192
#define GB_BLOCK_MAX (1 << 18)

typedef struct {
    const int32_t *codes;  /* NULL when the codes come from keys: */
    const void *keys;      /* int32 or int64 (kvt) keys, code = key - g0 */
    int kvt;
    int64_t g0;
    int ncols, lanes, bad;
    const double *vals[GB_MAXCOLS];
    const uint8_t *masks[GB_MAXCOLS];
    ptrdiff_t start, end, chunk, nc;
    size_t m;            /* slots per lane: nc + 1, slot g + 1 for code g, 0 for dropped */
    void *mem;           /* owned (calloc); the arrays below point into it */
    double *S;           /* ncols x lanes x m: this chunk's plain sums */
    double *Q;           /* 2 or 3 columns: lanes x m records (sums, count) of 4 doubles */
    double *KS, *KC;     /* ncols x m: compensated totals and their compensations */
    int64_t *R;          /* lanes x m: rows */
    int64_t *SK;         /* ncols x m: skipped values (NaN or null) */
} gb_bjob;

/* Rows [c0, c1) in steps of 8, row r of a step into lane offset o[r]. */
#define GB_BSTEP(ROW)                                                               \
    do {                                                                            \
        ptrdiff_t i_ = c0;                                                         \
        for (; i_ + 8 <= c1; i_ += 8) {                                             \
            ROW(i_, 0); ROW(i_ + 1, o1); ROW(i_ + 2, o2); ROW(i_ + 3, o3);          \
            ROW(i_ + 4, o4); ROW(i_ + 5, o5); ROW(i_ + 6, o6); ROW(i_ + 7, o7);     \
        }                                                                           \
        for (; i_ < c1; i_++) ROW(i_, 0);                                           \
    } while (0)

/* The blocked sums read a row's code from one of three sources, KM_ (a constant in
 * each inlined copy) says which: 0 codes[i], 1 int64 keys k64[i] - g0, 2 int32 keys
 * k32[i] - g0.  A key outside [g0, g0 + nc) raises `bad` like a code outside
 * [-1, nc) (keys have no dropped rows). */
enum { GB_KM_CODES = 0, GB_KM_K64, GB_KM_K32 };
#define GB_BSLOT(I_) do {                                                           \
        if (KM_ == GB_KM_CODES) { GB_SLOT(I_); }                                    \
        else {                                                                      \
            uint64_t d_ = KM_ == GB_KM_K64 ? (uint64_t)k64[I_] - g0                 \
                                           : (uint64_t)(int64_t)k32[I_] - g0;       \
            g_ = (uint32_t)d_ + 1u;                                                 \
            if (d_ >= nc) { bad = 1; g_ = 0; }                                      \
        }                                                                           \
    } while (0)

/* One chunk of column k with the validity and NaN test per row (lane 0 only): rows
 * base + [0, len), their codes from codes/k64/k32 (already offset by base). */
GB_INLINE int
gb_bsum_careful(gb_bjob *j, int k, const int KM_, const int32_t *codes, const int64_t *k64,
                const int32_t *k32, ptrdiff_t base, ptrdiff_t len)
{
    const uint64_t g0 = (uint64_t)j->g0;
    const uint32_t nc = (uint32_t)j->nc;
    const double *v = j->vals[k] + base;
    const uint8_t *mk = j->masks[k] ? j->masks[k] + base : NULL;
    double *S = j->S + (size_t)k * (size_t)j->lanes * j->m;
    int64_t *SK = j->SK + (size_t)k * j->m;
    int bad = 0;
    uint32_t g_;
    for (ptrdiff_t i = 0; i < len; i++) {
        GB_BSLOT(i);
        double x = v[i];
        if ((mk == NULL || mk[i]) && x == x) S[g_] += x;
        else SK[g_]++;
    }
    return bad;
}

/* Rows base + [0, len), codes from codes/k64/k32 as KM_ says (offset by base): adds
 * them into the per-chunk sums and folds those into the compensated totals; returns
 * the `bad` flag. */
GB_INLINE int
gb_bsum_chunk(gb_bjob *j, const int KM_, const int32_t *codes, const int64_t *k64,
              const int32_t *k32, ptrdiff_t base, ptrdiff_t len)
{
    const uint64_t g0 = (uint64_t)j->g0;
    const int K = j->ncols;
    const ptrdiff_t c0 = 0, c1 = len;
    const size_t m = j->m, L = (size_t)j->lanes, per = L * m;
    const uint32_t nc = (uint32_t)j->nc;
    double *S = j->S;
    int64_t *R = j->R;
    int bad = 0, nomask = 1;
    uint32_t g_;
    for (int k = 0; k < K; k++) if (j->masks[k] != NULL) nomask = 0;
    const size_t o1 = L > 1 ? m : 0, o2 = 2 * o1, o3 = 3 * o1;
    const size_t o4 = L > 4 ? 4 * m : 0, o5 = o4 + o1, o6 = o4 + o2, o7 = o4 + o3;
    const double *v0 = j->vals[0] + base, *v1 = j->vals[K > 1 ? 1 : 0] + base;
    const double *v2 = j->vals[K > 2 ? 2 : 0] + base, *v3 = j->vals[K > 3 ? 3 : 0] + base;
    double *S1 = S + (K > 1 ? per : 0), *S2 = S + (K > 2 ? 2 * per : 0), *S3 = S + (K > 3 ? 3 * per : 0);
#define ROW_B1(I_, OFF_) do { GB_BSLOT(I_); size_t s_ = g_ + (OFF_); R[s_]++;          \
        S[s_] += v0[I_]; } while (0)
#define ROW_B2(I_, OFF_) do { GB_BSLOT(I_); size_t s_ = g_ + (OFF_); R[s_]++;          \
        S[s_] += v0[I_]; S1[s_] += v1[I_]; } while (0)
#define ROW_B3(I_, OFF_) do { GB_BSLOT(I_); size_t s_ = g_ + (OFF_); R[s_]++;          \
        S[s_] += v0[I_]; S1[s_] += v1[I_]; S2[s_] += v2[I_]; } while (0)
#define ROW_B4(I_, OFF_) do { GB_BSLOT(I_); size_t s_ = g_ + (OFF_); R[s_]++;          \
        S[s_] += v0[I_]; S1[s_] += v1[I_]; S2[s_] += v2[I_]; S3[s_] += v3[I_]; } while (0)
#define ROW_BR(I_, OFF_) do { GB_BSLOT(I_); R[g_ + (OFF_)]++; } while (0)
#if defined(__SSE2__)
    /* one column: its sum and a row count (a double, exact) side by side, updated by
     * one two-lane add: one read-modify-write per row instead of two */
    const __m128d one_ = _mm_set1_pd(1.0);
#define ROW_B1P(I_, OFF_) do { GB_BSLOT(I_); double *p_ = S + 2 * (g_ + (OFF_));         \
        _mm_storeu_pd(p_, _mm_add_pd(_mm_loadu_pd(p_), _mm_loadl_pd(one_, v0 + (I_))));  \
    } while (0)
    /* two or three columns: records (s0, s1, s2 or count, count or 0) in Q */
    double *Q = j->Q;
    const __m128d onez_ = _mm_set_pd(0.0, 1.0);
#define ROW_B2P(I_, OFF_) do { GB_BSLOT(I_); double *p_ = Q + 4 * (g_ + (OFF_));         \
        __m128d a_ = _mm_loadh_pd(_mm_load_sd(v0 + (I_)), v1 + (I_));                    \
        _mm_storeu_pd(p_, _mm_add_pd(_mm_loadu_pd(p_), a_));                             \
        _mm_storeu_pd(p_ + 2, _mm_add_pd(_mm_loadu_pd(p_ + 2), onez_));                  \
    } while (0)
#define ROW_B3P(I_, OFF_) do { GB_BSLOT(I_); double *p_ = Q + 4 * (g_ + (OFF_));         \
        __m128d a_ = _mm_loadh_pd(_mm_load_sd(v0 + (I_)), v1 + (I_));                    \
        __m128d b_ = _mm_loadl_pd(one_, v2 + (I_));                                      \
        _mm_storeu_pd(p_, _mm_add_pd(_mm_loadu_pd(p_), a_));                             \
        _mm_storeu_pd(p_ + 2, _mm_add_pd(_mm_loadu_pd(p_ + 2), b_));                     \
    } while (0)
#endif
    {
        if (nomask && K == 1) {
#if defined(__SSE2__)
            GB_BSTEP(ROW_B1P);
            /* unpair: counts into R, sums back to the layout of the other paths */
            for (size_t r = 0; r < per; r++) {
                R[r] += (int64_t)S[2 * r + 1];
                S[r] = S[2 * r];
            }
            memset(S + per, 0, per * sizeof(double));
#else
            GB_BSTEP(ROW_B1);
#endif
        }
#if defined(__SSE2__)
        else if (nomask && (K == 2 || K == 3)) {
            if (K == 2) GB_BSTEP(ROW_B2P);
            else GB_BSTEP(ROW_B3P);
            /* unpair: sums to the layout of the other paths, counts into R */
            for (size_t r = 0; r < per; r++) {
                const double *q = Q + 4 * r;
                S[r] = q[0];
                S[per + r] = q[1];
                if (K == 3) S[2 * per + r] = q[2];
                R[r] += (int64_t)q[K];
            }
            memset(Q, 0, 4 * per * sizeof(double));
        }
#else
        else if (nomask && K == 2) GB_BSTEP(ROW_B2);
        else if (nomask && K == 3) GB_BSTEP(ROW_B3);
#endif
        else if (nomask && K == 4) GB_BSTEP(ROW_B4);
        else {
            GB_BSTEP(ROW_BR);
            for (int k = 0; k < K; k++) {
                if (j->masks[k] != NULL) continue;   /* done carefully below */
                const double *v = j->vals[k] + base;
                double *Sk = S + (size_t)k * per;
#define ROW_BK(I_, OFF_) do { GB_BSLOT(I_); Sk[g_ + (OFF_)] += v[I_]; } while (0)
                GB_BSTEP(ROW_BK);
            }
        }
        for (int k = 0; k < K; k++) {
            double *Sk = S + (size_t)k * per;
            double *KS = j->KS + (size_t)k * m, *KC = j->KC + (size_t)k * m;
            int careful = j->masks[k] != NULL;
            if (!careful) {
                /* a NaN anywhere (a NaN value, or inf - inf) means: redo carefully */
                double probe = 0.0;
                for (size_t g = 1; g < m; g++) {
                    for (size_t l = 0; l < L; l++) probe += Sk[l * m + g] * 0.0;
                }
                careful = probe != probe;
                if (careful) memset(Sk, 0, per * sizeof(double));
            }
            if (careful) bad |= gb_bsum_careful(j, k, KM_, codes, k64, k32, base, len);
            for (size_t g = 1; g < m; g++) {
                double t = Sk[g];
                for (size_t l = 1; l < L; l++) t += Sk[l * m + g];
                double y = t - KC[g], u = KS[g] + y;
                KC[g] = (u - KS[g]) - y;
                KS[g] = u;
            }
            memset(Sk, 0, per * sizeof(double));
        }
    }
    return bad;
}

static int
gb_bsum_chunk_codes(gb_bjob *j, ptrdiff_t c0, ptrdiff_t len)
{
    return gb_bsum_chunk(j, GB_KM_CODES, j->codes + c0, NULL, NULL, c0, len);
}

static int
gb_bsum_chunk_k64(gb_bjob *j, ptrdiff_t c0, ptrdiff_t len)
{
    return gb_bsum_chunk(j, GB_KM_K64, NULL, (const int64_t *)j->keys + c0, NULL, c0, len);
}

static int
gb_bsum_chunk_k32(gb_bjob *j, ptrdiff_t c0, ptrdiff_t len)
{
    return gb_bsum_chunk(j, GB_KM_K32, NULL, NULL, (const int32_t *)j->keys + c0, c0, len);
}

static void
gb_bsum_worker(void *arg)
{
    gb_bjob *j = (gb_bjob *)arg;
    int (*chunk)(gb_bjob *, ptrdiff_t, ptrdiff_t) =
        j->keys == NULL ? gb_bsum_chunk_codes
                        : j->kvt == VT_I8 ? gb_bsum_chunk_k64 : gb_bsum_chunk_k32;
    int bad = 0;
    for (ptrdiff_t c0 = j->start; c0 < j->end && !(bad && j->keys); c0 += j->chunk) {
        ptrdiff_t c1 = j->end - c0 > j->chunk ? c0 + j->chunk : j->end;
        bad |= chunk(j, c0, c1 - c0);
    }
    j->bad = bad;
}

/* Blocked sums of K float64 columns (vals[k], masks[k] or NULL) over n rows with
 * nthreads threads, into caller-owned arrays: S and N (K x nc: sums, valid counts),
 * rows (nc).  The codes are `codes`, or when that is NULL key - g0 of `keys` (int32 or
 * int64 as kvt says), computed chunk by chunk so that no codes array is written.
 * Returns 0, 1 when a sum is not finite (an infinity: the caller redoes that column
 * plainly; bit k of *inf for column k), 2 when a code lies outside [-1, nc) (with
 * keys: a key outside [g0, g0 + nc)), -1 on memory failure (no exception: runs
 * without the GIL). */
int
gb_bsum(const int32_t *codes, const void *keys, int kvt, int64_t g0, ptrdiff_t n,
        ptrdiff_t nc, int K, const double *const *vals, const uint8_t *const *masks,
        int nthreads, double *S, int64_t *N, int64_t *rows, int *inf)
{
    gb_bjob jobs[GB_MAXTHREADS];
    memset(jobs, 0, sizeof(jobs));
    int lanes, rc = 0;
    if (codes != NULL) {
        lanes = gb_lanes(nc, codes, n);
    }
    else {
        /* the lanes from a sample of the keys' codes */
        int32_t sample[GB_LANE_SAMPLE];
        ptrdiff_t stride = n / GB_LANE_SAMPLE;
        for (ptrdiff_t i = 0; i < GB_LANE_SAMPLE && stride > 0; i++) {
            int64_t x = kvt == VT_I8 ? ((const int64_t *)keys)[i * stride]
                                     : (int64_t)((const int32_t *)keys)[i * stride];
            uint64_t d = (uint64_t)x - (uint64_t)g0;
            sample[i] = d < (uint64_t)nc ? (int32_t)d : -1;
        }
        lanes = gb_lanes_sample(nc, sample, GB_LANE_SAMPLE, 1, stride > 0 ? n : 0);
    }
    size_t m = (size_t)nc + 1, per = (size_t)lanes * m;
    ptrdiff_t chunk = (ptrdiff_t)(8 * per);
    if (chunk < GB_BLOCK_MIN) chunk = GB_BLOCK_MIN;
    if (chunk > GB_BLOCK_MAX) chunk = GB_BLOCK_MAX;
    /* (K + 1) x per chunk sums: one column pairs its sums with counts in 2 x per */
    size_t doubles = (size_t)(K + 1) * per + 2 * (size_t)K * m, ints = per + (size_t)K * m;
    size_t qd = K == 2 || K == 3 ? 4 * per : 0;   /* the records of 2 or 3 columns */
    for (int t = 0; t < nthreads; t++) {
        gb_bjob *j = &jobs[t];
        j->codes = codes;
        j->keys = keys;
        j->kvt = kvt;
        j->g0 = g0;
        j->ncols = K;
        j->lanes = lanes;
        for (int k = 0; k < K; k++) { j->vals[k] = vals[k]; j->masks[k] = masks[k]; }
        j->start = n * t / nthreads;
        j->end = n * (t + 1) / nthreads;
        j->chunk = chunk;
        j->nc = nc;
        j->m = m;
        j->mem = calloc(doubles + ints + qd, 8);
        if (j->mem == NULL) { rc = -1; goto done; }
        j->S = (double *)j->mem;
        j->KS = j->S + (size_t)(K + 1) * per;
        j->KC = j->KS + (size_t)K * m;
        j->R = (int64_t *)(j->KC + (size_t)K * m);
        j->SK = j->R + per;
        j->Q = qd ? (double *)(j->SK + (size_t)K * m) : NULL;
    }
    ts_pool_run(gb_bsum_worker, jobs, sizeof(gb_bjob), nthreads);
    for (int t = 0; t < nthreads; t++) if (jobs[t].bad) rc = 2;
    if (rc) goto done;
    *inf = 0;
    for (ptrdiff_t g = 0; g < nc; g++) {
        int64_t r = 0;
        for (int t = 0; t < nthreads; t++)
            for (int l = 0; l < lanes; l++) r += jobs[t].R[(size_t)l * m + (size_t)g + 1];
        rows[g] = r;
        for (int k = 0; k < K; k++) {
            double sv = 0.0, cv = 0.0;
            int64_t sk = 0;
            for (int t = 0; t < nthreads; t++) {
                size_t s = (size_t)k * m + (size_t)g + 1;
                gb_kahan_add(&sv, &cv, jobs[t].KS[s]);
                gb_kahan_add(&sv, &cv, -jobs[t].KC[s]);
                sk += jobs[t].SK[s];
            }
            S[(size_t)k * (size_t)nc + (size_t)g] = sv;
            N[(size_t)k * (size_t)nc + (size_t)g] = r - sk;
            if (!isfinite(sv)) { *inf |= 1 << k; rc = 1; }
        }
    }
done:
    for (int t = 0; t < nthreads; t++) free(jobs[t].mem);
    return rc;
}

/* Compensated sums of K float64 columns by codes (any number of codes) row by row,
 * into caller-owned S and N (K x nc) and R (nc); bit k of *flags set when column k's
 * sum is not finite (an infinity: the caller redoes it plainly).  Returns GB_OK or
 * GB_ENOMEM.  The codes are checked by the caller. */
int
gb_fsum_multi(const int32_t *codes, ptrdiff_t n, ptrdiff_t nc, int K,
              const double *const *vals, const uint8_t *const *masks, int nthreads,
              double *S, int64_t *N, int64_t *R, int *flags)
{
    gb_mjob jobs[GB_MAXTHREADS];
    memset(jobs, 0, sizeof(jobs));
    int failed = 0;
    int lanes = gb_lanes(nc, codes, n);
    int gpart = nthreads > 1 && nc >= GB_GPART_CODES;
    int nparts = gpart ? 1 : nthreads;
    size_t per = (size_t)lanes * (size_t)(nc > 0 ? nc : 1);
    for (int t = 0; t < nthreads; t++) {
        gb_mjob *j = &jobs[t];
        j->codes = codes;
        j->ncols = K;
        j->lanes = lanes;
        j->nc = nc;
        j->per = per;
        for (int k = 0; k < K; k++) {
            j->vals[k] = vals[k];
            j->masks[k] = masks[k];
        }
        gb_thread_share(t, nthreads, n, nc, gpart, &j->start, &j->end, &j->glo, &j->span);
        if (t < nparts) {
            j->acc = calloc(per * (size_t)K, sizeof(gb_acc));
            if (j->acc == NULL) { failed = 1; break; }
        }
        else {
            j->acc = jobs[0].acc;
        }
    }
    if (!failed) {
        ts_pool_run(gb_multi_worker, jobs, sizeof(gb_mjob), nthreads);
        for (int t = 0; t < nthreads; t++) *flags |= jobs[t].flag;
        for (int k = 0; k < K; k++) {
            for (ptrdiff_t g = 0; g < nc; g++) {
                double sv = 0.0, cv = 0.0;
                int64_t cn = 0, rows = 0;
                for (int t = 0; t < nparts; t++) {
                    for (int l = 0; l < lanes; l++) {
                        const gb_acc *a = &jobs[t].acc[(size_t)k * per + (size_t)l * (size_t)nc + (size_t)g];
                        gb_kahan_add(&sv, &cv, a->v.f);
                        gb_kahan_add(&sv, &cv, -a->c);
                        cn += a->n;
                        rows += a->rows + a->n;
                    }
                }
                S[(size_t)k * (size_t)nc + (size_t)g] = sv;
                /* an infinity (or an overflow) leaves the compensated sum
                 * non-finite: the caller redoes that column as a plain sum */
                if (!isfinite(sv)) *flags |= 1 << k;
                N[(size_t)k * (size_t)nc + (size_t)g] = cn;
                if (k == 0) R[g] = rows;
            }
        }
    }
    for (int t = 0; t < nparts; t++) free(jobs[t].acc);
    return failed ? GB_ENOMEM : GB_OK;
}

/* The keyed sums' window for keys (int32 or int64 as kvt says) from a sample (every
 * max(1, n / 4096)-th key): the sample's range widened by an eighth (and one) on each
 * side.  Returns 0 with *origin and *ncodes set when the window has fewer than
 * GB_GPART_CODES codes (and its origin fits int64), else -1.  n >= 1. */
int
gb_keyed_window(int kvt, const void *keys, ptrdiff_t n, int64_t *origin, int64_t *ncodes)
{
    ptrdiff_t stride = n / 4096 > 1 ? n / 4096 : 1;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (ptrdiff_t i = 0; i < n; i += stride) {
        int64_t x = kvt == VT_I8 ? ((const int64_t *)keys)[i] : (int64_t)((const int32_t *)keys)[i];
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    uint64_t width = (uint64_t)hi - (uint64_t)lo;   /* exact: hi >= lo */
    if (width >= GB_GPART_CODES) return -1;
    int64_t pad = (int64_t)(width / 8) + 1;
    int64_t nc = (int64_t)width + 1 + 2 * pad;
    if (nc >= GB_GPART_CODES || lo < INT64_MIN + pad) return -1;
    *origin = lo - pad;
    *ncodes = nc;
    return 0;
}
