/*
 * groupby/gb.h -- private header of the group-by kernels (csrc/groupby/).
 *
 * The group-by runs in two steps (DESIGN.md section 4):
 *   1. keys become dense int32 group codes in [0, ncodes), -1 for a dropped row
 *      (encode.c: one key; combine.c: several keys, an exploded list key);
 *   2. one pass per aggregate over the codes, with per-thread partial states merged
 *      afterwards (agg.c: the generic aggregates and counts; fsum.c: float64 sums of
 *      one or several columns; quantile.c: the order statistics).
 *
 * Those kernel files never include Python.h: they take plain pointers, return 0 or a
 * negative GB_E* code and fill a gb_error; bind.c (the only file that includes
 * Python.h) checks the arguments, releases the GIL around the kernels and turns an
 * error code into an exception.  With nthreads > 1 the rows are split into
 * contiguous ranges whose partials are merged in thread order, so integer results
 * do not depend on the thread count.
 */
#ifndef TS_GROUPBY_GB_H
#define TS_GROUPBY_GB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/civil.h"      /* ts_civil_from_days */
#include "util/pool.h"       /* ts_pool_run: the threads */
#include "util/strdict.h"    /* ts_hash_mix64, the string dictionary */

/* ---- thresholds (exported to Python by bind.c, never restated there) ------- */

#define GB_MAXTHREADS 8
/* Kernels use one thread below this many rows. */
#define GB_MIN_THREAD_ROWS 65536
/* threads=None uses every core (at most GB_MAXTHREADS) from this many rows on. */
#define GB_THREAD_ROWS 1000000
/* With at least this many codes, threads split the codes instead of the rows, and
 * float64 sums leave the blocked path (so several columns are fused only below it). */
#define GB_GPART_CODES 65536
/* A multi-key radix code space larger than this (and than the row count) is hashed. */
#define GB_RADIX_MIN 65536
/* From this many rows, float sums by one int key with a small range of values read
 * the key itself (code = key - origin) instead of building a codes array. */
#define GB_KEYED_ROWS 65536
/* At most this many float64 columns share one fused pass. */
#define GB_MAXCOLS 16
/* With at most this many codes, sums and counts use 4 interleaved sub-accumulators
 * so that runs of one key do not serialise on one memory slot; a skewed key (one
 * group holding over a quarter of a sample of rows) gets 8 when there are at most
 * GB_LANE8_CODES codes.  More lanes cost cache, so a uniform key keeps 4. */
#define GB_LANE_CODES 2048
#define GB_LANE8_CODES 256
#define GB_LANE_SAMPLE 4096

/* ---- errors ------------------------------------------------------------------ */

enum {
    GB_OK = 0,
    GB_ENOMEM = -1,      /* out of memory */
    GB_ECODE = -2,       /* a group code outside [-1, ncodes): err.row, err.value */
    GB_EOFFSETS = -3,    /* list/string offsets invalid at row err.row */
    GB_EITEM = -4,       /* list item err.row (an item index) outside the categories */
    GB_EKEY = -5,        /* keyed sums: a key outside [origin, origin + ncodes) */
};

typedef struct {
    int code;            /* the GB_E* code also returned */
    int64_t row;         /* the row (or item index) the error is about, -1 if none */
    int64_t value;       /* the offending value (a code), when there is one */
} gb_error;

static inline int
gb_fail(gb_error *err, int code, int64_t row, int64_t value)
{
    if (err != NULL) {
        err->code = code;
        err->row = row;
        err->value = value;
    }
    return code;
}

/* ---- value kinds --------------------------------------------------------------- */

enum { VT_B = 0, VT_I4, VT_I8, VT_F4, VT_F8 };

/* Runs the statements with T typedef'd to the C type of value kind vt. */
#define GB_SWITCH(vt, ...)                                          \
    switch (vt) {                                                   \
    case VT_B: { typedef uint8_t T; __VA_ARGS__ } break;           \
    case VT_I4: { typedef int32_t T; __VA_ARGS__ } break;          \
    case VT_I8: { typedef int64_t T; __VA_ARGS__ } break;          \
    case VT_F4: { typedef float T; __VA_ARGS__ } break;            \
    default: { typedef double T; __VA_ARGS__ } break;              \
    }

/* Four rows per step, each into its own sub-accumulator lane when lanes == 4. */
#define GB_ROWS(ROW)                                                            \
    do {                                                                        \
        ptrdiff_t i_ = j->start;                                               \
        const size_t o1_ = j->lanes > 1 ? (size_t)j->nc : 0;                    \
        const size_t o2_ = 2 * o1_, o3_ = 3 * o1_;                              \
        const size_t o4_ = j->lanes > 4 ? 4 * o1_ : 0;                          \
        const size_t o5_ = o4_ + o1_, o6_ = o4_ + o2_, o7_ = o4_ + o3_;         \
        for (; i_ + 8 <= j->end; i_ += 8) {                                     \
            ROW(i_, 0); ROW(i_ + 1, o1_); ROW(i_ + 2, o2_); ROW(i_ + 3, o3_);   \
            ROW(i_ + 4, o4_); ROW(i_ + 5, o5_); ROW(i_ + 6, o6_);               \
            ROW(i_ + 7, o7_);                                                   \
        }                                                                       \
        for (; i_ < j->end; i_++) ROW(i_, 0);                                   \
    } while (0)

/* Slot of row I_'s code; flags a code outside [-1, nc). */
#define GB_SLOT(I_) do {                                                            \
        g_ = (uint32_t)codes[I_] + 1u;                                              \
        if (g_ > nc) { bad = 1; g_ = 0; }                                           \
    } while (0)

#define GB_OK_ROW(i) (codes[i] >= 0 && (mask == NULL || mask[i]))

#if defined(__GNUC__)
#define GB_INLINE static inline __attribute__((always_inline))
#else
#define GB_INLINE static inline
#endif

/* ---- threads (ts_pool_run; util/pool.h) ------------------------------------------- */

static inline int
gb_nthreads(int requested, ptrdiff_t n)
{
    if (requested < 1) requested = 1;
    if (requested > GB_MAXTHREADS) requested = GB_MAXTHREADS;
    if (n < GB_MIN_THREAD_ROWS) requested = 1;
    return requested;
}

/* Lanes for the codes of n rows (a sample of GB_LANE_SAMPLE of them); agg.c. */
int gb_lanes(ptrdiff_t nc, const int32_t *codes, ptrdiff_t n);
int gb_lanes_sample(ptrdiff_t nc, const int32_t *sample, ptrdiff_t m, ptrdiff_t stride,
                    ptrdiff_t n);

/* Compensated accumulation: adds x into (*sum, *comp). */
static inline void
gb_kahan_add(double *sum, double *comp, double x)
{
    double y = x - *comp, t = *sum + y;
    *comp = (t - *sum) - y;
    *sum = t;
}

/* One group's partial state; 32 bytes, so a row touches a single cache line. */
typedef struct {
    union {
        double f;        /* float sum, float min/max, sum of squared deviations */
        int64_t i;       /* integer sum, int min/max, nonzero count, row index */
    } v;
    double c;            /* Kahan compensation (sum and m2) */
    int64_t n;           /* valid non-NaN values */
    int64_t rows;        /* rows with a code whose value was skipped (null or NaN);
                          * the group's size is n + rows, so the common path counts once */
} gb_acc;

/* ---- the integer map (open addressing; encode.c) ----------------------------------- */


typedef struct {
    int64_t key;
    int32_t code;   /* -1: empty */
    int32_t pad;
} gb_slot;

typedef struct {
    gb_slot *slots;
    size_t mask;     /* capacity - 1 */
    int64_t *uniq;   /* code -> key (int map) or first row (string map) */
    size_t n, cap;   /* uniques used / allocated */
} gb_map;

int gb_map_init(gb_map *m, size_t expect);
void gb_map_free(gb_map *m);
int gb_map_grow(gb_map *m, int keyed_by_hash);
int gb_map_push(gb_map *m, int64_t v);

/* Code of integer key k, inserting it; -1 on memory failure. */
static inline int32_t
gb_map_int(gb_map *m, int64_t k)
{
    size_t j = (size_t)ts_hash_mix64((uint64_t)k) & m->mask;
    for (;;) {
        gb_slot *s = &m->slots[j];
        if (s->code < 0) break;
        if (s->key == k) return s->code;
        j = (j + 1) & m->mask;
    }
    int32_t code = (int32_t)m->n;
    if (m->n >= INT32_MAX || gb_map_push(m, k) < 0) return -1;
    m->slots[j].key = k;
    m->slots[j].code = code;
    if (m->n * 2 > m->mask + 1 && gb_map_grow(m, 0) < 0) return -1;
    return code;
}

/* ---- kernels: one key (encode.c) ---------------------------------------------------- */

enum { PART_NONE = 0, PART_YEAR, PART_MONTH };

/* The calendar year or month (1-12) of a day count since 1970-01-01. */
static inline int64_t
gb_part_of_day(int64_t days, int part)
{
    int64_t y;
    unsigned m, d;
    ts_civil_from_days(days, &y, &m, &d);
    return part == PART_YEAR ? y : (int64_t)m;
}

/* The share of thread t of nthreads in a pass over n rows and nc codes: with gpart
 * (threads split by code) every row and the codes [glo, glo + span), cut on even codes
 * so that two 32-byte states share a cache line; else rows [start, end) and every code. */
static inline void
gb_thread_share(int t, int nthreads, ptrdiff_t n, ptrdiff_t nc, int gpart,
                ptrdiff_t *start, ptrdiff_t *end, int32_t *glo, uint32_t *span)
{
    if (gpart) {
        int64_t lo = ((int64_t)nc * t / nthreads) & ~(int64_t)1;
        int64_t hi = t == nthreads - 1 ? (int64_t)nc : ((int64_t)nc * (t + 1) / nthreads) & ~(int64_t)1;
        *start = 0;
        *end = n;
        *glo = (int32_t)lo;
        *span = (uint32_t)(hi - lo);
    }
    else {
        *start = n * t / nthreads;
        *end = n * (t + 1) / nthreads;
        *glo = 0;
        *span = (uint32_t)nc;
    }
}

/* The range limit of a key of n rows: keys spanning fewer values index directly. */
static inline int64_t
gb_range_limit(ptrdiff_t n)
{
    int64_t r = 2 * (int64_t)n;
    if (r < (1 << 16)) r = 1 << 16;
    if (r > (1 << 26)) r = 1 << 26;
    return r;
}

/* The result of a numeric key's encoding. */
typedef struct {
    int64_t ncodes, lo;
    int32_t nullcode;
    int use_range;       /* 1: code = key - lo; 0: map.uniq holds each code's key */
    gb_map map;          /* owned: gb_map_free */
} gb_numkey;

int gb_encode_num_run(int vt, const void *vals, const uint8_t *mask, ptrdiff_t n, int part,
                      int dropna, int64_t range_limit, int nthreads, int32_t *codes,
                      gb_numkey *out);
/* String keys (offsets already checked): map.uniq holds each code's first row. */
int gb_encode_str_run(const int32_t *off, const uint8_t *data, const uint8_t *mask, ptrdiff_t n,
                      int dropna, int32_t *codes, gb_numkey *out);
/* First row whose string offsets are invalid, or -1. */
ptrdiff_t gb_bad_offsets(const int32_t *off, ptrdiff_t n, ptrdiff_t nbytes);

/* ---- kernels: several keys, list keys (combine.c) ------------------------------------ */

int gb_combine_run(const int32_t *c1, int64_t n1, const int32_t *c2, int64_t n2, ptrdiff_t n,
                   int hash, int32_t *out, gb_map *map, int64_t *ncodes);

typedef struct {
    const int32_t *rc, *off, *kid;
    const uint8_t *mask;
    ptrdiff_t n, nk;
    int32_t nl, ec;
    int nthreads;
} gb_explode_in;

/* One slice of rows of the explode (a thread). */
typedef struct {
    const int32_t *rc, *off, *kid;
    const uint8_t *mask;
    ptrdiff_t r0, r1, nk;
    int32_t m, ec;
    int64_t count;         /* pass 1: elements this slice gives */
    int bad;               /* pass 1: offsets decrease somewhere in the slice */
    int32_t *out;          /* pass 2: out[k0, k0 + count) */
    int64_t *rows;         /* pass 2: the same range of source rows, or NULL */
    int64_t k0;
} gb_xjob;

/* Pass 1 of the explode into jobs[0..in->nthreads): the total number of elements, or
 * GB_EOFFSETS / GB_EITEM; pass 2 writes the elements (and their source rows). */
int gb_explode_count_all(const gb_explode_in *in, gb_xjob *jobs, int64_t *total, gb_error *err);
void gb_explode_fill_all(const gb_explode_in *in, gb_xjob *jobs, int32_t *out, int64_t *rows);

/* ---- kernels: aggregates (agg.c) ------------------------------------------------------ */

enum {
    OP_SIZE = 0, OP_COUNT, OP_FSUM, OP_PSUM, OP_ISUM, OP_M2, OP_MIN, OP_MAX,
    OP_ANY, OP_FIRST, OP_LAST, OP_NOPS
};

/* First row whose code lies outside [-1, ncodes), or -1. */
ptrdiff_t gb_first_bad_code(const int32_t *codes, ptrdiff_t n, int64_t ncodes);

int gb_aggregate(int op, int vt, const int32_t *codes, const void *vals, const uint8_t *mask,
                 const double *mean, ptrdiff_t n, ptrdiff_t nc, int nthreads,
                 int64_t *out_cnt, int64_t *out_rows, int64_t *out_i, double *out_s);
void gb_first_rows_run(const int32_t *codes, ptrdiff_t n, ptrdiff_t nc, int64_t *out);

/* A list<category> column as a second key of gb_tally. */
typedef struct {
    const int32_t *offsets;   /* row 0's entry; items[offsets[i] .. offsets[i + 1]) */
    const int32_t *items;     /* absolute */
    const uint8_t *validity;  /* LSB-first bitmap or NULL */
    int64_t voffset;          /* bit of row 0 in validity */
    int64_t nitems;           /* categories */
    int row_counts;           /* 1: slot nitems counts each row once, whatever its list */
} gb_list;

int gb_tally_run(const uint8_t *const *masks, ptrdiff_t k, ptrdiff_t n, const int32_t *codes,
                 int64_t ngroups, const gb_list *items, int nthreads, int64_t *out,
                 gb_error *err);

/* ---- kernels: float64 sums (fsum.c) ---------------------------------------------------- */

int gb_bsum(const int32_t *codes, const void *keys, int kvt, int64_t g0, ptrdiff_t n,
            ptrdiff_t nc, int K, const double *const *vals, const uint8_t *const *masks,
            int nthreads, double *S, int64_t *N, int64_t *rows, int *inf);
int gb_fsum_multi(const int32_t *codes, ptrdiff_t n, ptrdiff_t nc, int K,
                  const double *const *vals, const uint8_t *const *masks, int nthreads,
                  double *S, int64_t *N, int64_t *R, int *flags);
/* The window [*origin, *origin + *ncodes) the keyed sums try for keys (int32 or int64
 * as kvt says), from a sample; 0 when it suits (fewer than GB_GPART_CODES codes). */
int gb_keyed_window(int kvt, const void *keys, ptrdiff_t n, int64_t *origin, int64_t *ncodes);

/* ---- kernels: order statistics (quantile.c) ------------------------------------------- */

typedef struct {
    const int32_t *codes;
    const void *vals;
    const uint8_t *mask;
    int vt, median;
    ptrdiff_t n, nc, nq;
    const double *qs;
    int nthreads;
} gb_quant_in;

typedef struct {
    double *out;          /* nc x nq */
    int64_t *count;       /* nc, zeroed */
    int64_t *rows;        /* nc, zeroed */
    double *sum, *m2;     /* nc each, or NULL */
} gb_quant_out;

int gb_quantile_run(const gb_quant_in *in, const gb_quant_out *out);

#endif
