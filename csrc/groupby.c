/*
 * groupby.c -- vectorized group-by kernels.
 *
 * The group-by runs in two steps (DESIGN.md section 4):
 *   1. keys become dense int32 group codes in [0, ncodes), -1 for a dropped row:
 *      small-range integers index directly (value - min), everything else goes through
 *      an open-addressing hash table (floats: NaN is null, -0.0 == 0.0); several keys
 *      combine mixed-radix (or by hashing the radix value when the product is large);
 *   2. one pass per aggregate over the codes, with per-thread partial states that are
 *      merged afterwards (count, compensated sum, integer sum with overflow check,
 *      min, max, sum of squared deviations, first/last row), and a counting sort by
 *      group code for the order statistics.  Float64 sums with fewer than
 *      GB_GPART_CODES codes (one column or several fused) take the blocked path
 *      (gb_bsum): plain sums per chunk of rows, compensated across chunks, row counts
 *      and the code check in the same pass.
 *
 * The Python driver (traffickstats/_groupby.py) hands over contiguous, aligned,
 * native-endian NumPy arrays; the functions here re-check that and copy if needed.
 * Every loop over rows runs without the GIL; with nthreads > 1 the rows are split into
 * contiguous ranges handled by POSIX threads whose partials are merged in thread order,
 * so integer results do not depend on the thread count.
 */
#include "ts_core.h"
#include "groupby.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define GB_MAXTHREADS 8
/* With at most this many codes, sums and counts use 4 interleaved sub-accumulators
 * so that runs of one key do not serialise on one memory slot; a skewed key (one
 * group holding over a quarter of a sample of rows) gets 8 when there are at most
 * GB_LANE8_CODES codes.  More lanes cost cache, so a uniform key keeps 4. */
#define GB_LANE_CODES 2048
#define GB_LANE8_CODES 256

/* Lanes for codes of which `sample` holds m, spread evenly over n rows. */
static int
gb_lanes_sample(Py_ssize_t nc, const int32_t *sample, Py_ssize_t m, Py_ssize_t stride,
                Py_ssize_t n)
{
    if (nc > GB_LANE_CODES) return 1;
    if (nc > GB_LANE8_CODES || n < 8192) return 4;
    uint16_t hist[GB_LANE8_CODES];
    memset(hist, 0, sizeof(hist));
    int top = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        int32_t g = sample[i * stride];
        if (g >= 0 && g < nc && ++hist[g] > top) top = hist[g];
    }
    return top * 4 > m ? 8 : 4;
}

#define GB_LANE_SAMPLE 4096

static int
gb_lanes(Py_ssize_t nc, const int32_t *codes, Py_ssize_t n)
{
    return gb_lanes_sample(nc, codes, GB_LANE_SAMPLE, n / GB_LANE_SAMPLE, n);
}
/* With at least this many codes, threads split the codes instead of the rows. */
#define GB_GPART_CODES 65536

/* ------------------------------------------------------------------------ */
/* threads                                                                    */

typedef void (*gb_worker)(void *arg);
typedef struct {
    gb_worker fn;
    void *arg;
} gb_task;

static void *
gb_trampoline(void *p)
{
    gb_task *t = (gb_task *)p;
    t->fn(t->arg);
    return NULL;
}

/* Runs fn on args[0..n) (each `size` bytes), args[0] on the calling thread and the
 * rest on new threads; a thread that cannot start runs serially.  No Python API. */
static void
gb_run(gb_worker fn, void *args, size_t size, int n)
{
    pthread_t th[GB_MAXTHREADS];
    gb_task tasks[GB_MAXTHREADS];
    int started[GB_MAXTHREADS] = {0};
    for (int k = 1; k < n; k++) {
        tasks[k].fn = fn;
        tasks[k].arg = (char *)args + (size_t)k * size;
        started[k] = pthread_create(&th[k], NULL, gb_trampoline, &tasks[k]) == 0;
    }
    fn(args);
    for (int k = 1; k < n; k++) {
        if (started[k]) pthread_join(th[k], NULL);
        else fn((char *)args + (size_t)k * size);
    }
}

static int
gb_nthreads(int requested, Py_ssize_t n)
{
    if (requested < 1) requested = 1;
    if (requested > GB_MAXTHREADS) requested = GB_MAXTHREADS;
    if (n < 65536) requested = 1;
    return requested;
}

/* ------------------------------------------------------------------------ */
/* argument helpers                                                          */

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


/* New reference: `o` as a 1-d C-contiguous aligned native array of `typenum`
 * (copying only when needed), or NULL with an exception naming `what`. */
static PyArrayObject *
gb_array(PyObject *o, int typenum, const char *what)
{
    PyArrayObject *a = (PyArrayObject *)PyArray_FROM_OTF(
        o, typenum, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_NOTSWAPPED);
    if (a == NULL) return NULL;
    if (PyArray_NDIM(a) != 1) {
        PyErr_Format(PyExc_ValueError, "%s must be 1-dimensional, got %d dimensions", what,
                     PyArray_NDIM(a));
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

/* New reference: a value array of a supported numeric dtype (bool, int32, int64,
 * float32, float64), its kind in *vt; NULL with TypeError otherwise. */
static PyArrayObject *
gb_values(PyObject *o, int *vt, const char *what)
{
    if (!PyArray_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a NumPy array", what);
        return NULL;
    }
    int t = PyArray_TYPE((PyArrayObject *)o);
    switch (t) {
    case NPY_BOOL: *vt = VT_B; break;
    case NPY_INT32: *vt = VT_I4; break;
    case NPY_INT64: *vt = VT_I8; break;
    case NPY_FLOAT32: *vt = VT_F4; break;
    case NPY_FLOAT64: *vt = VT_F8; break;
    default:
        if (t == NPY_LONG && sizeof(long) == 8) { *vt = VT_I8; t = NPY_INT64; break; }
        if (t == NPY_INT && sizeof(int) == 4) { *vt = VT_I4; t = NPY_INT32; break; }
        PyErr_Format(PyExc_TypeError, "%s: unsupported dtype %R", what,
                     (PyObject *)PyArray_DESCR((PyArrayObject *)o));
        return NULL;
    }
    return gb_array(o, t, what);
}

/* New reference (or NULL with *out = NULL when o is None): a bool mask of length n. */
static int
gb_mask(PyObject *o, Py_ssize_t n, PyArrayObject **out, const char *what)
{
    *out = NULL;
    if (o == Py_None) return 0;
    PyArrayObject *m = gb_array(o, NPY_BOOL, what);
    if (m == NULL) return -1;
    if (PyArray_DIM(m, 0) != n) {
        PyErr_Format(PyExc_ValueError, "%s has %zd elements, expected %zd", what,
                     (Py_ssize_t)PyArray_DIM(m, 0), n);
        Py_DECREF(m);
        return -1;
    }
    *out = m;
    return 0;
}

/* New reference: a fresh 1-d array (zeroed), or NULL with MemoryError. */
static PyArrayObject *
gb_zeros(Py_ssize_t n, int typenum)
{
    npy_intp dims[1] = {n};
    return (PyArrayObject *)PyArray_ZEROS(1, dims, typenum, 0);
}

/* New reference: group codes as an int32 array, ncodes checked but not the codes
 * (for kernels that flag a code outside [-1, ncodes) themselves and then call
 * gb_codes_check for the message); NULL with an exception. */
static PyArrayObject *
gb_codes_unchecked(PyObject *o, Py_ssize_t ncodes)
{
    PyArrayObject *c = gb_array(o, NPY_INT32, "codes");
    if (c == NULL) return NULL;
    if (ncodes < 0 || ncodes > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "ncodes %zd is out of range", ncodes);
        Py_DECREF(c);
        return NULL;
    }
    return c;
}

/* Checks every code of c (borrowed) lies in [-1, ncodes): 0, or -1 with ValueError
 * naming the first bad row. */
static int
gb_codes_check(PyArrayObject *c, Py_ssize_t ncodes)
{
    const int32_t *p = PyArray_DATA(c);
    Py_ssize_t n = PyArray_DIM(c, 0), bad = -1;
    int32_t lim = (int32_t)ncodes;
    Py_BEGIN_ALLOW_THREADS
    int32_t lo = 0, hi = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        lo = p[i] < lo ? p[i] : lo;
        hi = p[i] > hi ? p[i] : hi;
    }
    if (lo < -1 || hi >= lim) {
        for (Py_ssize_t i = 0; i < n; i++) {
            if (p[i] < -1 || p[i] >= lim) { bad = i; break; }
        }
    }
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError, "group code %d at row %zd is outside [-1, %zd)",
                     (int)p[bad], bad, ncodes);
        return -1;
    }
    return 0;
}

/* New reference: validated group codes (int32, every code in [-1, ncodes)), or NULL
 * with an exception. */
static PyArrayObject *
gb_codes(PyObject *o, Py_ssize_t ncodes)
{
    PyArrayObject *c = gb_codes_unchecked(o, ncodes);
    if (c == NULL) return NULL;
    if (gb_codes_check(c, ncodes) < 0) {
        Py_DECREF(c);
        return NULL;
    }
    return c;
}

/* ------------------------------------------------------------------------ */
/* hashing                                                                   */

static inline uint64_t
gb_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

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

static int
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

static void
gb_map_free(gb_map *m)
{
    free(m->slots);
    free(m->uniq);
    m->slots = NULL;
    m->uniq = NULL;
}

/* Doubles the table (slots keyed by their stored hash/key). */
static int
gb_map_grow(gb_map *m, int keyed_by_hash)
{
    size_t cap = (m->mask + 1) * 2;
    gb_slot *s = malloc(cap * sizeof(gb_slot));
    if (s == NULL) return -1;
    for (size_t i = 0; i < cap; i++) s[i].code = -1;
    for (size_t i = 0; i <= m->mask; i++) {
        if (m->slots[i].code < 0) continue;
        uint64_t h = keyed_by_hash ? (uint64_t)m->slots[i].key : gb_mix64((uint64_t)m->slots[i].key);
        size_t j = (size_t)h & (cap - 1);
        while (s[j].code >= 0) j = (j + 1) & (cap - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->mask = cap - 1;
    return 0;
}

static int
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

/* Code of integer key k, inserting it; -1 on memory failure. */
static inline int32_t
gb_map_int(gb_map *m, int64_t k)
{
    size_t j = (size_t)gb_mix64((uint64_t)k) & m->mask;
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

static inline uint64_t
gb_hash_bytes(const uint8_t *p, size_t len)
{
    uint64_t h = 0x243f6a8885a308d3ULL ^ (uint64_t)len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ gb_mix64(w)) * 0x9e3779b97f4a7c15ULL;
    }
    uint64_t t = 0;
    for (size_t k = 0; i + k < len; k++) t |= (uint64_t)p[i + k] << (8 * k);
    h ^= gb_mix64(t + 0x51ed27ULL);
    return gb_mix64(h);
}

/* ------------------------------------------------------------------------ */
/* dates                                                                     */

/* Civil year and month of a day count since 1970-01-01 (proleptic Gregorian). */
static inline void
gb_civil(int64_t days, int64_t *year, int64_t *month)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = yoe + era * 400 + (m <= 2);
    *month = m;
}

enum { PART_NONE = 0, PART_YEAR, PART_MONTH };

/* Reads key row i as an int64 (after the date part); returns 0 for a null row. */
#define GB_KEYREAD(T, ISF)                                                         \
    static inline int gb_key_##T(const void *vals, const uint8_t *mask, Py_ssize_t i, \
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
        if (part != PART_NONE) {                                                   \
            int64_t y, mo;                                                         \
            gb_civil(v, &y, &mo);                                                  \
            v = part == PART_YEAR ? y : mo;                                        \
        }                                                                          \
        *out = v;                                                                  \
        return 1;                                                                  \
    }
GB_KEYREAD(uint8_t, 0)
GB_KEYREAD(int32_t, 0)
GB_KEYREAD(int64_t, 0)
GB_KEYREAD(float, 1)
GB_KEYREAD(double, 1)

typedef int (*gb_keyfn)(const void *, const uint8_t *, Py_ssize_t, int, int64_t *);

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
    Py_ssize_t start, end;
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
        for (Py_ssize_t i = r->start; i < r->end; i++) {
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
    Py_ssize_t start, end;
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
        for (Py_ssize_t i = r->start; i < r->end; i++) {
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
gb_table_codes(int vt, const void *vals, Py_ssize_t n, const int32_t *table, int64_t d0,
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
    gb_run(gb_table_worker, tj, sizeof(gb_table_job), nt);
    for (int t = 0; t < nt; t++) over |= tj[t].over;
    return over;
}

/* The smallest and largest of 4096 values taken at an even stride (n >= 4096). */
static void
gb_sample_range(int vt, const void *vals, Py_ssize_t n, int64_t *lo, int64_t *hi)
{
    int64_t smin = INT64_MAX, smax = INT64_MIN;
    const Py_ssize_t m = 4096, stride = n / m;
    GB_SWITCH(vt,
        const T *v = (const T *)vals;
        for (Py_ssize_t i = 0; i < m; i++) {
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
        int64_t y, mo;
        gb_civil(d0 + (int64_t)d, &y, &mo);
        int64_t pv = part == PART_YEAR ? y : mo;
        table[d] = (int32_t)pv;
        lo = pv < lo ? pv : lo;
        hi = pv > hi ? pv : hi;
    }
    for (size_t d = 0; d < span; d++) table[d] -= (int32_t)lo;
    *plo = lo;
    *phi = hi;
    return table;
}

/* _gb_encode_num(values, valid, part, dropna, range_limit)
 *   -> (codes int32, ncodes, lo, uniques or None, nullcode)
 * Range encoding (uniques None): code = key - lo.  Hash encoding: uniques holds the
 * key of each code in first-appearance order (int64; float64 bits for float input).
 * nullcode is the code of the null group (dropna=False and some null row), else -1. */
static PyObject *
gb_encode_num(PyObject *self, PyObject *args)
{
    PyObject *vo, *mo;
    int part, dropna;
    Py_ssize_t range_limit;
    int nthreads = 1;
    if (!PyArg_ParseTuple(args, "OOipn|i:_gb_encode_num", &vo, &mo, &part, &dropna, &range_limit,
                          &nthreads))
        return NULL;
    int vt;
    PyArrayObject *va = NULL, *ma = NULL, *ca = NULL, *ua = NULL;
    gb_map map = {0};
    PyObject *res = NULL;
    va = gb_values(vo, &vt, "key values");
    if (va == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(va, 0);
    if (gb_mask(mo, n, &ma, "key validity") < 0) goto error;
    if (part != PART_NONE && vt != VT_I4 && vt != VT_I8) {
        PyErr_SetString(PyExc_TypeError, "year()/month() need a date key");
        goto error;
    }
    {
        /* not zero-filled: both paths below write every code (or fail and drop it) */
        npy_intp cdims[1] = {n};
        ca = (PyArrayObject *)PyArray_EMPTY(1, cdims, NPY_INT32, 0);
    }
    if (ca == NULL) goto error;
    const void *vals = PyArray_DATA(va);
    const uint8_t *mask = ma ? PyArray_DATA(ma) : NULL;
    int32_t *codes = PyArray_DATA(ca);
    gb_keyfn key = gb_keyfn_for(vt);
    int isfloat = vt == VT_F4 || vt == VT_F8;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    Py_ssize_t nnull = 0;
    int failed = 0, use_range = 0;
    int32_t nullcode = -1;
    Py_ssize_t ncodes = 0;

    int32_t *table = NULL;   /* date part of each day in [dlo, rhi_days] */
    int64_t dlo = 0, rhi_days = 0;
    int written = 0;   /* codes already written by the one-pass guess below */
    Py_BEGIN_ALLOW_THREADS
    if (!isfloat) {
        int64_t rlo = INT64_MAX, rhi = INT64_MIN;
        int have_range = 0;
        if (mask == NULL && part == PART_NONE && n >= 65536) {
            /* One pass instead of two (min/max, then codes): guess the minimum from a
             * sample, lowered by 1/256 of the sample's range (the sample's minimum is
             * never below the true one), write codes relative to it while finding the
             * true range, and keep them when the guess held.  Codes below the true
             * minimum are just empty groups. */
            int64_t smin, smax;
            gb_sample_range(vt, vals, n, &smin, &smax);
            uint64_t ext = ((uint64_t)smax - (uint64_t)smin) / 256;
            if ((uint64_t)smin - (uint64_t)INT64_MIN >= ext &&
                (uint64_t)smax - ((uint64_t)smin - ext) < (uint64_t)range_limit) {
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
                gb_run(gb_range_worker, rj, sizeof(gb_range_job), nt);
                for (int t = 0; t < nt; t++) {
                    rlo = rj[t].lo < rlo ? rj[t].lo : rlo;
                    rhi = rj[t].hi > rhi ? rj[t].hi : rhi;
                }
                have_range = 1;
                if (rlo >= g0 && (uint64_t)rhi - (uint64_t)g0 < (uint64_t)range_limit) {
                    written = 1;
                    rlo = g0;   /* the codes' origin */
                }
            }
        }
        if (mask == NULL && part != PART_NONE && n >= 65536) {
            /* The date part in one pass: a table of the part of each day over the
             * sample's range of days, widened by an eighth on each side, gives each
             * row's code; a day outside it sends the encoding down the two-pass path
             * below.  Parts in the table no row has are just empty groups. */
            int64_t smin, smax;
            gb_sample_range(vt, vals, n, &smin, &smax);
            uint64_t width = (uint64_t)smax - (uint64_t)smin;
            if (width < (1u << 22) && smin > INT64_MIN / 2 && smax < INT64_MAX / 2) {
                const int64_t ext = (int64_t)(width / 8) + 1, d0 = smin - ext;
                const uint64_t span = width + 1 + 2 * (uint64_t)ext;
                int64_t plo, phi;
                int32_t *t = gb_part_table(part, d0, (size_t)span, &plo, &phi);
                if (t != NULL && !gb_table_codes(vt, vals, n, t, d0, span, codes, nthreads)) {
                    written = 1;
                    have_range = 1;
                    lo = plo;
                    hi = phi;
                }
                free(t);
            }
        }
        if (!have_range) GB_SWITCH(vt,
            const T *v = (const T *)vals;
            if (mask == NULL) {
                for (Py_ssize_t i = 0; i < n; i++) {
                    int64_t x = (int64_t)v[i];
                    rlo = x < rlo ? x : rlo;
                    rhi = x > rhi ? x : rhi;
                }
            }
            else {
                for (Py_ssize_t i = 0; i < n; i++) {
                    if (!mask[i]) continue;
                    int64_t x = (int64_t)v[i];
                    rlo = x < rlo ? x : rlo;
                    rhi = x > rhi ? x : rhi;
                }
            }
        )
        if (written && part != PART_NONE) {
            /* lo and hi came with the table above */
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
                for (Py_ssize_t i = 0; i < n; i++) {
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
    if (use_range) {
        if (lo > hi) lo = hi = 0;
        ncodes = (Py_ssize_t)((uint64_t)hi - (uint64_t)lo) + 1;
        int32_t nc = dropna ? -1 : (int32_t)ncodes;
        if (written) {
            /* done in one of the one-pass guesses above */
        }
        else if (mask == NULL && table != NULL) {
            gb_table_codes(vt, vals, n, table, dlo, (uint64_t)(rhi_days - dlo) + 1, codes, nthreads);
        }
        else GB_SWITCH(vt,
            const T *v = (const T *)vals;
            if (mask == NULL && table == NULL && part == PART_NONE) {
                for (Py_ssize_t i = 0; i < n; i++) codes[i] = (int32_t)((int64_t)v[i] - lo);
            }
            else for (Py_ssize_t i = 0; i < n; i++) {
                if (mask && !mask[i]) { codes[i] = nc; nnull++; continue; }
                int64_t x = (int64_t)v[i];
                if (table) {
                    codes[i] = table[x - dlo];   /* the table holds part - lo */
                    continue;
                }
                if (part != PART_NONE) {
                    int64_t y, mo;
                    gb_civil(x, &y, &mo);
                    x = part == PART_YEAR ? y : mo;
                }
                codes[i] = (int32_t)(x - lo);
            }
        )
        if (!dropna && nnull > 0) nullcode = (int32_t)ncodes++;
        else if (nnull == n) ncodes = 0;   /* only nulls (or no rows): no groups */
    }
    else {
        lo = 0;
        if (gb_map_init(&map, 1024) < 0) failed = 1;
        for (Py_ssize_t i = 0; i < n && !failed; i++) {
            int64_t k;
            if (key(vals, mask, i, part, &k)) {
                int32_t c = gb_map_int(&map, k);
                if (c < 0) failed = 1;
                codes[i] = c;
            }
            else { codes[i] = -2; nnull++; }
        }
        ncodes = (Py_ssize_t)map.n;
        if (!failed) {
            int32_t nc = -1;
            if (!dropna && nnull > 0) nc = nullcode = (int32_t)ncodes++;
            if (nnull > 0) {
                for (Py_ssize_t i = 0; i < n; i++) if (codes[i] == -2) codes[i] = nc;
            }
        }
    }
    Py_END_ALLOW_THREADS
    free(table);
    if (failed) {
        PyErr_NoMemory();
        goto error;
    }
    if (!use_range) {
        ua = gb_zeros((Py_ssize_t)map.n, NPY_INT64);
        if (ua == NULL) goto error;
        if (map.n) memcpy(PyArray_DATA(ua), map.uniq, map.n * sizeof(int64_t));
    }
    res = Py_BuildValue("(OnLOi)", (PyObject *)ca, ncodes, (long long)lo,
                        ua ? (PyObject *)ua : Py_None, (int)nullcode);
error:
    gb_map_free(&map);
    Py_XDECREF(va);
    Py_XDECREF(ma);
    Py_XDECREF(ca);
    Py_XDECREF(ua);
    return res;
}

/* _gb_encode_str(offsets int32, data uint8, valid, dropna)
 *   -> (codes int32, ncodes, first_rows int64, nullcode)
 * Hash encoding of UTF-8 strings; first_rows[k] is the first row holding group k. */
static PyObject *
gb_encode_str(PyObject *self, PyObject *args)
{
    PyObject *oo, *dob, *mo;
    int dropna;
    if (!PyArg_ParseTuple(args, "OOOp:_gb_encode_str", &oo, &dob, &mo, &dropna)) return NULL;
    PyArrayObject *oa = NULL, *da = NULL, *ma = NULL, *ca = NULL, *fa = NULL;
    gb_map map = {0};
    PyObject *res = NULL;
    oa = gb_array(oo, NPY_INT32, "string offsets");
    if (oa == NULL) goto error;
    da = gb_array(dob, NPY_UINT8, "string data");
    if (da == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(oa, 0) - 1;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "string offsets must hold at least one element");
        goto error;
    }
    if (gb_mask(mo, n, &ma, "key validity") < 0) goto error;
    const int32_t *off = PyArray_DATA(oa);
    const uint8_t *data = PyArray_DATA(da);
    Py_ssize_t nbytes = PyArray_DIM(da, 0), bad = -1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        if (off[i] < 0 || off[i + 1] < off[i] || off[i + 1] > nbytes) { bad = i; break; }
    }
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError, "string offsets are invalid at row %zd", bad);
        goto error;
    }
    ca = gb_zeros(n, NPY_INT32);
    if (ca == NULL) goto error;
    const uint8_t *mask = ma ? PyArray_DATA(ma) : NULL;
    int32_t *codes = PyArray_DATA(ca);
    int failed = 0;
    int32_t nullcode = -1;
    Py_ssize_t nnull = 0, ncodes = 0;
    Py_BEGIN_ALLOW_THREADS
    if (gb_map_init(&map, 1024) < 0) failed = 1;
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        if (mask && !mask[i]) { codes[i] = -2; nnull++; continue; }
        const uint8_t *s = data + off[i];
        size_t len = (size_t)(off[i + 1] - off[i]);
        uint64_t h = gb_hash_bytes(s, len);
        size_t j = (size_t)h & map.mask;
        int32_t code = -1;
        for (;;) {
            gb_slot *sl = &map.slots[j];
            if (sl->code < 0) break;
            if ((uint64_t)sl->key == h) {
                int64_t r = map.uniq[sl->code];
                if ((size_t)(off[r + 1] - off[r]) == len && memcmp(data + off[r], s, len) == 0) {
                    code = sl->code;
                    break;
                }
            }
            j = (j + 1) & map.mask;
        }
        if (code < 0) {
            code = (int32_t)map.n;
            if (map.n >= INT32_MAX || gb_map_push(&map, (int64_t)i) < 0) { failed = 1; break; }
            map.slots[j].key = (int64_t)h;
            map.slots[j].code = code;
            if (map.n * 2 > map.mask + 1 && gb_map_grow(&map, 1) < 0) { failed = 1; break; }
        }
        codes[i] = code;
    }
    ncodes = (Py_ssize_t)map.n;
    if (!failed) {
        int32_t nc = -1;
        if (!dropna && nnull > 0) nc = nullcode = (int32_t)ncodes++;
        if (nnull > 0) {
            for (Py_ssize_t i = 0; i < n; i++) if (codes[i] == -2) codes[i] = nc;
        }
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto error;
    }
    fa = gb_zeros((Py_ssize_t)map.n, NPY_INT64);
    if (fa == NULL) goto error;
    if (map.n) memcpy(PyArray_DATA(fa), map.uniq, map.n * sizeof(int64_t));
    res = Py_BuildValue("(OnOi)", (PyObject *)ca, ncodes, (PyObject *)fa, (int)nullcode);
error:
    gb_map_free(&map);
    Py_XDECREF(oa);
    Py_XDECREF(da);
    Py_XDECREF(ma);
    Py_XDECREF(ca);
    Py_XDECREF(fa);
    return res;
}

/* _gb_combine(c1, n1, c2, n2, hash) -> (codes int32, ncodes, uniques or None)
 * Mixed radix code c1 * n2 + c2 (-1 when either is -1).  With hash set, the radix
 * values are hash-encoded into dense codes (first-appearance order) and uniques holds
 * each code's radix value as int64. */
static PyObject *
gb_combine(PyObject *self, PyObject *args)
{
    PyObject *o1, *o2;
    Py_ssize_t n1, n2;
    int hash;
    if (!PyArg_ParseTuple(args, "OnOnp:_gb_combine", &o1, &n1, &o2, &n2, &hash)) return NULL;
    PyArrayObject *a1 = NULL, *a2 = NULL, *ca = NULL, *ua = NULL;
    gb_map map = {0};
    PyObject *res = NULL;
    /* the radix path checks the codes in its own pass */
    a1 = hash ? gb_codes(o1, n1) : gb_codes_unchecked(o1, n1);
    if (a1 == NULL) goto error;
    a2 = hash ? gb_codes(o2, n2) : gb_codes_unchecked(o2, n2);
    if (a2 == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(a1, 0);
    if (PyArray_DIM(a2, 0) != n) {
        PyErr_SetString(PyExc_ValueError, "code arrays differ in length");
        goto error;
    }
    if (!hash && (n2 > 0 && n1 > INT32_MAX / n2)) {
        PyErr_SetString(PyExc_OverflowError, "too many key combinations for a radix code");
        goto error;
    }
    npy_intp cdims[1] = {n};
    ca = (PyArrayObject *)PyArray_EMPTY(1, cdims, NPY_INT32, 0);   /* every slot written */
    if (ca == NULL) goto error;
    const int32_t *c1 = PyArray_DATA(a1), *c2 = PyArray_DATA(a2);
    int32_t *out = PyArray_DATA(ca);
    int failed = 0, bad = 0;
    Py_ssize_t ncodes = n1 * n2;
    Py_BEGIN_ALLOW_THREADS
    if (!hash) {
        /* branch-free (vectorisable): a code outside [-1, n) sets `bad` */
        const int32_t m = (int32_t)n2;
        const uint32_t l1 = (uint32_t)n1, l2 = (uint32_t)n2;
        uint32_t badbits = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            int32_t x = c1[i], y = c2[i];
            badbits |= ((uint32_t)x + 1u > l1) | ((uint32_t)y + 1u > l2);
            int32_t r = (int32_t)((uint32_t)x * (uint32_t)m + (uint32_t)y);
            out[i] = (x | y) < 0 ? -1 : r;
        }
        bad = badbits != 0;
    }
    else {
        if (gb_map_init(&map, 1024) < 0) failed = 1;
        for (Py_ssize_t i = 0; i < n && !failed; i++) {
            if (c1[i] < 0 || c2[i] < 0) { out[i] = -1; continue; }
            int32_t c = gb_map_int(&map, (int64_t)c1[i] * n2 + c2[i]);
            if (c < 0) failed = 1;
            out[i] = c;
        }
        ncodes = (Py_ssize_t)map.n;
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        if (gb_codes_check(a1, n1) == 0 && gb_codes_check(a2, n2) == 0)
            PyErr_SetString(PyExc_SystemError, "_gb_combine: a group code was out of range");
        goto error;
    }
    if (failed) {
        PyErr_NoMemory();
        goto error;
    }
    if (hash) {
        ua = gb_zeros((Py_ssize_t)map.n, NPY_INT64);
        if (ua == NULL) goto error;
        if (map.n) memcpy(PyArray_DATA(ua), map.uniq, map.n * sizeof(int64_t));
    }
    res = Py_BuildValue("(OnO)", (PyObject *)ca, ncodes, ua ? (PyObject *)ua : Py_None);
error:
    gb_map_free(&map);
    Py_XDECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(ca);
    Py_XDECREF(ua);
    return res;
}

/* One slice of rows of the explode (a thread of gb_explode). */
typedef struct {
    const int32_t *rc, *off, *kid;
    const uint8_t *mask;
    Py_ssize_t r0, r1, nk;
    int32_t m, ec;
    int64_t count;         /* pass 1: elements this slice gives */
    int bad;               /* pass 1: offsets decrease somewhere in the slice */
    int32_t *out;          /* pass 2: out[k0, k0 + count) */
    int64_t *rows;         /* pass 2: the same range of source rows, or NULL */
    int64_t k0;
} gb_xjob;

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
    for (Py_ssize_t i = x->r0; i < x->r1; i++) {
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
    for (Py_ssize_t i = x->r0; i < x->r1; i++) {
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

/* _gb_explode(row_codes int32, n_other, offsets int32, items int32, valid, nl, empty_code,
 *             want_rows, nthreads=1) -> (codes int32, rows int64 or None)
 * One output element per list item with code row_code * nl + item; a null or empty
 * list gives one element with item `empty_code`, or none when empty_code is -1.  Rows
 * whose row code is -1 (dropped by another key or by where=) give nothing.  `rows`
 * holds the source row of each element when asked for. */
static PyObject *
gb_explode(PyObject *self, PyObject *args)
{
    PyObject *co, *oo, *ko, *mo;
    Py_ssize_t nother, nl;
    int empty_code, want_rows, nthreads = 1;
    if (!PyArg_ParseTuple(args, "OnOOOnip|i:_gb_explode", &co, &nother, &oo, &ko, &mo, &nl,
                          &empty_code, &want_rows, &nthreads))
        return NULL;
    PyArrayObject *ca = NULL, *oa = NULL, *ka = NULL, *ma = NULL, *ra = NULL, *xa = NULL;
    PyObject *res = NULL;
    if (nl < 0 || nother < 0 || (nother > 0 && nl > INT32_MAX / nother)) {
        PyErr_SetString(PyExc_OverflowError, "too many key combinations for a radix code");
        return NULL;
    }
    ca = gb_codes(co, nother);
    oa = ca ? gb_array(oo, NPY_INT32, "list offsets") : NULL;
    ka = oa ? gb_array(ko, NPY_INT32, "list items") : NULL;
    if (ka == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(ca, 0);
    if (PyArray_DIM(oa, 0) != n + 1) {
        PyErr_SetString(PyExc_ValueError, "list offsets must have one more element than rows");
        goto error;
    }
    if (empty_code < -1 || empty_code >= nl) {
        PyErr_SetString(PyExc_ValueError, "empty_code is out of range");
        goto error;
    }
    if (gb_mask(mo, n, &ma, "list validity") < 0) goto error;
    const int32_t *rc = PyArray_DATA(ca), *off = PyArray_DATA(oa), *kid = PyArray_DATA(ka);
    const uint8_t *mask = ma ? PyArray_DATA(ma) : NULL;
    Py_ssize_t nk = PyArray_DIM(ka, 0), total = 0, bad = -1, badk = -1;
    int nt = gb_nthreads(nthreads, n);
    gb_xjob xj[GB_MAXTHREADS];
    memset(xj, 0, sizeof(xj));
    for (int t = 0; t < nt; t++) {
        xj[t].rc = rc;
        xj[t].off = off;
        xj[t].kid = kid;
        xj[t].mask = mask;
        xj[t].r0 = n * t / nt;
        xj[t].r1 = n * (t + 1) / nt;
        xj[t].nk = nk;
        xj[t].m = (int32_t)nl;
        xj[t].ec = empty_code;
    }
    Py_BEGIN_ALLOW_THREADS
    gb_run(gb_explode_count, xj, sizeof(gb_xjob), nt);
    int anybad = off[0] < 0 || off[n] > nk;
    for (int t = 0; t < nt; t++) {
        anybad |= xj[t].bad;
        xj[t].k0 = total;
        total += xj[t].count;
    }
    if (!anybad) {
        /* every item in the used range within the categories (one vectorized pass);
         * items of dropped or null rows count too, the exact pass below sorts that out */
        uint32_t over = 0;
        for (Py_ssize_t e = off[0]; e < off[n]; e++) over |= (uint32_t)kid[e] >= (uint32_t)nl;
        anybad = over != 0;
    }
    if (anybad) {
        /* the exact check, for the first bad row or item of a row that is used */
        for (Py_ssize_t i = 0; i < n; i++) {
            if (off[i] < 0 || off[i + 1] < off[i] || off[i + 1] > nk) { bad = i; break; }
            if (rc[i] < 0) continue;
            Py_ssize_t len = (mask && !mask[i]) ? 0 : off[i + 1] - off[i];
            for (Py_ssize_t e = off[i]; e < off[i] + len; e++) {
                if (kid[e] < 0 || kid[e] >= nl) { badk = e; break; }
            }
            if (badk >= 0) break;
        }
    }
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError, "list offsets are invalid at row %zd", bad);
        goto error;
    }
    if (badk >= 0) {
        PyErr_Format(PyExc_ValueError, "list item %zd is outside the categories", badk);
        goto error;
    }
    {
        /* not zero-filled: the fill writes every element */
        npy_intp dims[1] = {total};
        xa = (PyArrayObject *)PyArray_EMPTY(1, dims, NPY_INT32, 0);
        if (xa == NULL) goto error;
        if (want_rows) {
            ra = (PyArrayObject *)PyArray_EMPTY(1, dims, NPY_INT64, 0);
            if (ra == NULL) goto error;
        }
    }
    for (int t = 0; t < nt; t++) {
        xj[t].out = PyArray_DATA(xa);
        xj[t].rows = ra ? PyArray_DATA(ra) : NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    gb_run(gb_explode_fill, xj, sizeof(gb_xjob), nt);
    Py_END_ALLOW_THREADS
    res = Py_BuildValue("(OO)", (PyObject *)xa, ra ? (PyObject *)ra : Py_None);
error:
    Py_XDECREF(ca);
    Py_XDECREF(oa);
    Py_XDECREF(ka);
    Py_XDECREF(ma);
    Py_XDECREF(ra);
    Py_XDECREF(xa);
    return res;
}

/* ------------------------------------------------------------------------ */
/* aggregation                                                               */

enum {
    OP_SIZE = 0, OP_COUNT, OP_FSUM, OP_PSUM, OP_ISUM, OP_M2, OP_MIN, OP_MAX,
    OP_ANY, OP_FIRST, OP_LAST
};

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

typedef struct {
    int op, vt, lanes, flag;
    const int32_t *codes;
    const void *vals;
    const uint8_t *mask;
    const double *mean;      /* OP_M2 */
    Py_ssize_t start, end, nc;
    int32_t glo;             /* this job handles codes in [glo, glo + span) */
    uint32_t span;
    gb_acc *acc;             /* lanes * nc */
} gb_job;

/* Four rows per step, each into its own sub-accumulator lane when lanes == 4. */
#define GB_ROWS(ROW)                                                            \
    do {                                                                        \
        Py_ssize_t i_ = j->start;                                               \
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

#define GB_OK(i) (codes[i] >= 0 && (mask == NULL || mask[i]))

/* Each row: skip dropped rows; when the value is valid and not NaN run the body
 * with x_ (the value) and a_ (the accumulator) -- every body counts a_->n -- else
 * count the row as skipped. */
#define GB_ROW_OF(I_, OFF_, ...)                                                \
    do {                                                                        \
        int32_t g_ = codes[I_];                                                 \
        if ((uint32_t)(g_ - glo) < span) {                                      \
            gb_acc *a_ = acc + (size_t)g_ + (OFF_);                             \
            T x_ = v[I_];                                                       \
            if ((mask == NULL || mask[I_]) && x_ == x_) { __VA_ARGS__ }         \
            else a_->rows++;                                                    \
        }                                                                       \
    } while (0)

static void
gb_agg_worker(void *arg)
{
    gb_job *j = (gb_job *)arg;
    const int32_t *codes = j->codes;
    const uint8_t *mask = j->mask;
    gb_acc *acc = j->acc;
    const int32_t glo = j->glo;
    const uint32_t span = j->span;
    int flag = 0;

    if (j->op == OP_SIZE) {
#define ROW_SIZE(I_, OFF_) do { int32_t g_ = codes[I_];                                      \
        if ((uint32_t)(g_ - glo) < span) acc[(size_t)g_ + (OFF_)].rows++; } while (0)
        GB_ROWS(ROW_SIZE);
        return;
    }
    GB_SWITCH(j->vt,
        const T *v = (const T *)j->vals;
        switch (j->op) {
        case OP_COUNT: {
#define ROW_COUNT(I_, OFF_) GB_ROW_OF(I_, OFF_, a_->n++;)
            GB_ROWS(ROW_COUNT);
            break;
        }
        case OP_FSUM: {
            /* an infinity shows as a non-finite merged sum (see gb_aggregate) */
#define ROW_FSUM(I_, OFF_) GB_ROW_OF(I_, OFF_, \
                double d_ = (double)x_;                                          \
                a_->n++;                                                         \
                double y_ = d_ - a_->c, t_ = a_->v.f + y_;                       \
                a_->c = (t_ - a_->v.f) - y_; a_->v.f = t_;)
            if (mask == NULL) {
                /* the hot case gets its own loop without the mask test */
#define ROW_FSUM_NM(I_, OFF_) do {                                               \
                int32_t g_ = codes[I_];                                          \
                if ((uint32_t)(g_ - glo) < span) {                               \
                    gb_acc *a_ = acc + (size_t)g_ + (OFF_);                      \
                    double d_ = (double)v[I_];                                   \
                    if (d_ == d_) {                                              \
                        a_->n++;                                                 \
                        double y_ = d_ - a_->c, t_ = a_->v.f + y_;               \
                        a_->c = (t_ - a_->v.f) - y_; a_->v.f = t_;               \
                    }                                                            \
                    else a_->rows++;                                             \
                }                                                                \
            } while (0)
                GB_ROWS(ROW_FSUM_NM);
            }
            else {
                GB_ROWS(ROW_FSUM);
            }
            break;
        }
        case OP_PSUM: {
#define ROW_PSUM(I_, OFF_) GB_ROW_OF(I_, OFF_, a_->n++; a_->v.f += (double)x_;)
            GB_ROWS(ROW_PSUM);
            break;
        }
        case OP_ISUM: {
#define ROW_ISUM(I_, OFF_) GB_ROW_OF(I_, OFF_, \
                int64_t r_;                                                      \
                a_->n++;                                                         \
                if (__builtin_add_overflow(a_->v.i, (int64_t)x_, &r_)) flag = 1; \
                a_->v.i = r_;)
            GB_ROWS(ROW_ISUM);
            break;
        }
        case OP_M2: {
            const double *mu = j->mean;
#define ROW_M2(I_, OFF_) GB_ROW_OF(I_, OFF_, \
                double d_ = (double)x_ - mu[g_]; d_ *= d_;                       \
                a_->n++;                                                         \
                double y_ = d_ - a_->c, t_ = a_->v.f + y_;                       \
                a_->c = (t_ - a_->v.f) - y_; a_->v.f = t_;)
            GB_ROWS(ROW_M2);
            break;
        }
        case OP_MIN:
        case OP_MAX: {
            int isf = j->vt == VT_F4 || j->vt == VT_F8, mx = j->op == OP_MAX;
#define ROW_MINMAX(I_, OFF_) GB_ROW_OF(I_, OFF_, \
                a_->n++;                                                         \
                if (isf) {                                                       \
                    double d_ = (double)x_;                                      \
                    if (mx ? d_ > a_->v.f : d_ < a_->v.f) a_->v.f = d_;          \
                }                                                                \
                else {                                                           \
                    int64_t d_ = (int64_t)x_;                                    \
                    if (mx ? d_ > a_->v.i : d_ < a_->v.i) a_->v.i = d_;          \
                })
            GB_ROWS(ROW_MINMAX);
            break;
        }
        case OP_ANY: {
#define ROW_ANY(I_, OFF_) GB_ROW_OF(I_, OFF_, a_->n++; a_->v.i += (x_ != 0);)
            GB_ROWS(ROW_ANY);
            break;
        }
        case OP_FIRST: {
#define ROW_FIRST(I_, OFF_) GB_ROW_OF(I_, OFF_, a_->n++; if (a_->v.i < 0) a_->v.i = I_;)
            GB_ROWS(ROW_FIRST);
            break;
        }
        case OP_LAST: {
#define ROW_LAST(I_, OFF_) GB_ROW_OF(I_, OFF_, a_->n++; a_->v.i = I_;)
            GB_ROWS(ROW_LAST);
            break;
        }
        default:
            break;
        }
    )
    j->flag = flag;
}

/* Compensated accumulation: adds x into (*sum, *comp). */
static inline void
gb_kahan_add(double *sum, double *comp, double x)
{
    double y = x - *comp, t = *sum + y;
    *comp = (t - *sum) - y;
    *sum = t;
}

/* Runs one aggregate over all rows with nthreads threads and merges the partials
 * into out_* (each nc long, owned by the caller; NULL where not needed): out_cnt
 * valid values, out_rows rows, and the result in out_i or out_s.
 * Returns 0, 1 when the flag was raised (integer overflow / infinity seen), or -1 on
 * memory failure (no exception set: called without the GIL). */
static int
gb_aggregate(int op, int vt, const int32_t *codes, const void *vals, const uint8_t *mask,
             const double *mean, Py_ssize_t n, Py_ssize_t nc, int nthreads,
             int64_t *out_cnt, int64_t *out_rows, int64_t *out_i, double *out_s)
{
    gb_job jobs[GB_MAXTHREADS];
    /* first/last keep one lane: the row order within a thread must be preserved */
    int lanes = (op == OP_FIRST || op == OP_LAST) ? 1 : gb_lanes(nc, codes, n);
    /* Many groups: every thread scans all rows but owns a range of codes, so the
     * accumulators exist once (no per-thread copies to fill and merge). */
    int gpart = nthreads > 1 && nc >= GB_GPART_CODES;
    int nparts = gpart ? 1 : nthreads;
    size_t per = (size_t)lanes * (size_t)(nc > 0 ? nc : 1);
    int isf = vt == VT_F4 || vt == VT_F8;
    int rc = 0;
    gb_acc init;
    memset(&init, 0, sizeof(init));
    if (op == OP_MIN) { if (isf) init.v.f = INFINITY; else init.v.i = INT64_MAX; }
    if (op == OP_MAX) { if (isf) init.v.f = -INFINITY; else init.v.i = INT64_MIN; }
    if (op == OP_FIRST || op == OP_LAST) init.v.i = -1;
    int zero_init = init.v.i == 0;
    memset(jobs, 0, sizeof(jobs));
    for (int t = 0; t < nthreads; t++) {
        gb_job *j = &jobs[t];
        j->op = op; j->vt = vt; j->lanes = lanes;
        j->codes = codes; j->vals = vals; j->mask = mask; j->mean = mean;
        j->nc = nc;
        if (gpart) {
            /* code ranges split on even codes: two 32-byte states share a cache line */
            j->start = 0;
            j->end = n;
            int64_t lo = (nc * t / nthreads) & ~(int64_t)1, hi = (nc * (t + 1) / nthreads) & ~(int64_t)1;
            if (t == nthreads - 1) hi = nc;
            j->glo = (int32_t)lo;
            j->span = (uint32_t)(hi - lo);
        }
        else {
            j->start = n * t / nthreads;
            j->end = n * (t + 1) / nthreads;
            j->glo = 0;
            j->span = (uint32_t)nc;
        }
        if (t < nparts) {
            j->acc = zero_init ? calloc(per, sizeof(gb_acc)) : malloc(per * sizeof(gb_acc));
            if (j->acc == NULL) { rc = -1; goto done; }
            if (!zero_init) for (size_t k = 0; k < per; k++) j->acc[k] = init;
        }
        else {
            j->acc = jobs[0].acc;
        }
    }
    gb_run(gb_agg_worker, jobs, sizeof(gb_job), nthreads);

    /* merge: lanes within each thread, then threads in row order */
    for (Py_ssize_t g = 0; g < nc; g++) {
        int64_t cn = 0, rows = 0, iv = init.v.i;
        double sv = (op == OP_MIN || op == OP_MAX) && isf ? init.v.f : 0.0, cv = 0.0;
        int have = 0;
        for (int t = 0; t < nparts; t++) {
            for (int l = 0; l < lanes; l++) {
                const gb_acc *a = &jobs[t].acc[(size_t)l * (size_t)nc + (size_t)g];
                cn += a->n;
                rows += a->rows + a->n;
                switch (op) {
                case OP_FSUM:
                case OP_M2:
                    gb_kahan_add(&sv, &cv, a->v.f);
                    gb_kahan_add(&sv, &cv, -a->c);
                    break;
                case OP_PSUM: sv += a->v.f; break;
                case OP_ISUM:
                case OP_ANY:
                    if (__builtin_add_overflow(iv, a->v.i, &iv)) rc = 1;
                    break;
                case OP_MIN:
                    if (isf) { if (a->v.f < sv) sv = a->v.f; }
                    else if (a->v.i < iv) iv = a->v.i;
                    break;
                case OP_MAX:
                    if (isf) { if (a->v.f > sv) sv = a->v.f; }
                    else if (a->v.i > iv) iv = a->v.i;
                    break;
                case OP_FIRST:
                    if (!have && a->v.i >= 0) { iv = a->v.i; have = 1; }
                    break;
                case OP_LAST:
                    if (a->v.i >= 0) iv = a->v.i;
                    break;
                default:
                    break;
                }
            }
        }
        if (op == OP_FSUM && !isfinite(sv)) rc = rc < 0 ? rc : 1;
        if (out_cnt) out_cnt[g] = cn;
        if (out_rows) out_rows[g] = rows;
        if (out_i) out_i[g] = iv;
        if (out_s) out_s[g] = sv;
    }
    for (int t = 0; t < nthreads; t++) if (jobs[t].flag && rc == 0) rc = 1;
done:
    for (int t = 0; t < nparts; t++) free(jobs[t].acc);
    return rc;
}

/* ---- several float64 sums in one pass ------------------------------------- */

#define GB_MAXCOLS 16

typedef struct {
    const int32_t *codes;
    int ncols, lanes, flag;
    const double *vals[GB_MAXCOLS];
    const uint8_t *masks[GB_MAXCOLS];
    Py_ssize_t start, end, nc;
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
    Py_ssize_t start, end, chunk, nc;
    size_t m;            /* slots per lane: nc + 1, slot g + 1 for code g, 0 for dropped */
    void *mem;           /* owned (calloc); the arrays below point into it */
    double *S;           /* ncols x lanes x m: this chunk's plain sums */
    double *Q;           /* 2 or 3 columns: lanes x m records (sums, count) of 4 doubles */
    double *KS, *KC;     /* ncols x m: compensated totals and their compensations */
    int64_t *R;          /* lanes x m: rows */
    int64_t *SK;         /* ncols x m: skipped values (NaN or null) */
} gb_bjob;

/* Slot of row I_'s code; flags a code outside [-1, nc). */
#define GB_SLOT(I_) do {                                                            \
        g_ = (uint32_t)codes[I_] + 1u;                                              \
        if (g_ > nc) { bad = 1; g_ = 0; }                                           \
    } while (0)

/* Rows [c0, c1) in steps of 8, row r of a step into lane offset o[r]. */
#define GB_BSTEP(ROW)                                                               \
    do {                                                                            \
        Py_ssize_t i_ = c0;                                                         \
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

#if defined(__GNUC__)
#define GB_INLINE static inline __attribute__((always_inline))
#else
#define GB_INLINE static inline
#endif

/* One chunk of column k with the validity and NaN test per row (lane 0 only): rows
 * base + [0, len), their codes from codes/k64/k32 (already offset by base). */
GB_INLINE int
gb_bsum_careful(gb_bjob *j, int k, const int KM_, const int32_t *codes, const int64_t *k64,
                const int32_t *k32, Py_ssize_t base, Py_ssize_t len)
{
    const uint64_t g0 = (uint64_t)j->g0;
    const uint32_t nc = (uint32_t)j->nc;
    const double *v = j->vals[k] + base;
    const uint8_t *mk = j->masks[k] ? j->masks[k] + base : NULL;
    double *S = j->S + (size_t)k * (size_t)j->lanes * j->m;
    int64_t *SK = j->SK + (size_t)k * j->m;
    int bad = 0;
    uint32_t g_;
    for (Py_ssize_t i = 0; i < len; i++) {
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
              const int32_t *k32, Py_ssize_t base, Py_ssize_t len)
{
    const uint64_t g0 = (uint64_t)j->g0;
    const int K = j->ncols;
    const Py_ssize_t c0 = 0, c1 = len;
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
gb_bsum_chunk_codes(gb_bjob *j, Py_ssize_t c0, Py_ssize_t len)
{
    return gb_bsum_chunk(j, GB_KM_CODES, j->codes + c0, NULL, NULL, c0, len);
}

static int
gb_bsum_chunk_k64(gb_bjob *j, Py_ssize_t c0, Py_ssize_t len)
{
    return gb_bsum_chunk(j, GB_KM_K64, NULL, (const int64_t *)j->keys + c0, NULL, c0, len);
}

static int
gb_bsum_chunk_k32(gb_bjob *j, Py_ssize_t c0, Py_ssize_t len)
{
    return gb_bsum_chunk(j, GB_KM_K32, NULL, NULL, (const int32_t *)j->keys + c0, c0, len);
}

static void
gb_bsum_worker(void *arg)
{
    gb_bjob *j = (gb_bjob *)arg;
    int (*chunk)(gb_bjob *, Py_ssize_t, Py_ssize_t) =
        j->keys == NULL ? gb_bsum_chunk_codes
                        : j->kvt == VT_I8 ? gb_bsum_chunk_k64 : gb_bsum_chunk_k32;
    int bad = 0;
    for (Py_ssize_t c0 = j->start; c0 < j->end && !(bad && j->keys); c0 += j->chunk) {
        Py_ssize_t c1 = j->end - c0 > j->chunk ? c0 + j->chunk : j->end;
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
static int
gb_bsum(const int32_t *codes, const void *keys, int kvt, int64_t g0, Py_ssize_t n,
        Py_ssize_t nc, int K, const double *const *vals, const uint8_t *const *masks,
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
        Py_ssize_t stride = n / GB_LANE_SAMPLE;
        for (Py_ssize_t i = 0; i < GB_LANE_SAMPLE && stride > 0; i++) {
            int64_t x = kvt == VT_I8 ? ((const int64_t *)keys)[i * stride]
                                     : (int64_t)((const int32_t *)keys)[i * stride];
            uint64_t d = (uint64_t)x - (uint64_t)g0;
            sample[i] = d < (uint64_t)nc ? (int32_t)d : -1;
        }
        lanes = gb_lanes_sample(nc, sample, GB_LANE_SAMPLE, 1, stride > 0 ? n : 0);
    }
    size_t m = (size_t)nc + 1, per = (size_t)lanes * m;
    Py_ssize_t chunk = (Py_ssize_t)(8 * per);
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
    gb_run(gb_bsum_worker, jobs, sizeof(gb_bjob), nthreads);
    for (int t = 0; t < nthreads; t++) if (jobs[t].bad) rc = 2;
    if (rc) goto done;
    *inf = 0;
    for (Py_ssize_t g = 0; g < nc; g++) {
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

/* _gb_fsum_many(codes, ncodes, values (sequence of float64 arrays), valids (sequence
 * of bool arrays or None), nthreads, origin=None) -> (sums K x nc, counts K x nc,
 * rows nc, flags)
 * Compensated sums of several float64 columns in one pass over the codes; bit k of
 * flags is set when column k holds an infinity (the caller then redoes it plainly).
 * With an int `origin`, `codes` are int32/int64 keys and a row's code is key - origin,
 * computed during the pass (no codes array is built; 1 <= ncodes < GB_GPART_CODES);
 * the result is None when some key lies outside [origin, origin + ncodes). */
static PyObject *
gb_fsum_many(PyObject *self, PyObject *args)
{
    PyObject *co, *vseq, *mseq;
    Py_ssize_t nc;
    int nthreads;
    PyObject *origin = Py_None;
    if (!PyArg_ParseTuple(args, "OnOOi|O:_gb_fsum_many", &co, &nc, &vseq, &mseq, &nthreads,
                          &origin))
        return NULL;
    PyArrayObject *ca = NULL, *va[GB_MAXCOLS] = {0}, *ma[GB_MAXCOLS] = {0};
    PyArrayObject *sa = NULL, *na = NULL, *ra = NULL;
    PyObject *res = NULL, *vfast = NULL, *mfast = NULL;
    gb_mjob jobs[GB_MAXTHREADS];
    memset(jobs, 0, sizeof(jobs));
    int K = 0, failed = 0, flags = 0, kvt = VT_I4;
    long long g0 = 0;
    /* the blocked path (fewer than GB_GPART_CODES codes) checks the codes itself */
    int blocked = nc < GB_GPART_CODES, keyed = origin != Py_None;
    if (keyed) {
        /* codes = key - origin, computed in the pass; None back if a key falls outside */
        g0 = PyLong_AsLongLong(origin);
        if (g0 == -1 && PyErr_Occurred()) return NULL;
        if (!blocked || nc < 1) {
            PyErr_Format(PyExc_ValueError, "keyed sums need 1 to %d codes, got %zd",
                         GB_GPART_CODES - 1, nc);
            return NULL;
        }
        ca = gb_values(co, &kvt, "keys");
        if (ca != NULL && kvt != VT_I4 && kvt != VT_I8) {
            PyErr_SetString(PyExc_TypeError, "keys must be int32 or int64");
            Py_CLEAR(ca);
        }
    }
    else {
        ca = blocked ? gb_codes_unchecked(co, nc) : gb_codes(co, nc);
    }
    if (ca == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(ca, 0);
    vfast = PySequence_Fast(vseq, "values must be a sequence of arrays");
    mfast = vfast ? PySequence_Fast(mseq, "valids must be a sequence") : NULL;
    if (mfast == NULL) goto error;
    if (PySequence_Fast_GET_SIZE(vfast) < 1 || PySequence_Fast_GET_SIZE(vfast) > GB_MAXCOLS ||
        PySequence_Fast_GET_SIZE(mfast) != PySequence_Fast_GET_SIZE(vfast)) {
        PyErr_Format(PyExc_ValueError, "between 1 and %d value arrays, each with a validity entry",
                     GB_MAXCOLS);
        goto error;
    }
    K = (int)PySequence_Fast_GET_SIZE(vfast);
    for (int k = 0; k < K; k++) {
        va[k] = gb_array(PySequence_Fast_GET_ITEM(vfast, k), NPY_FLOAT64, "values");
        if (va[k] == NULL) goto error;
        if (PyArray_DIM(va[k], 0) != n) {
            PyErr_Format(PyExc_ValueError, "value array %d has %zd rows, codes %zd", k,
                         (Py_ssize_t)PyArray_DIM(va[k], 0), n);
            goto error;
        }
        if (gb_mask(PySequence_Fast_GET_ITEM(mfast, k), n, &ma[k], "validity") < 0) goto error;
    }
    npy_intp dims[2] = {K, nc};
    sa = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_FLOAT64, 0);
    na = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_INT64, 0);
    ra = gb_zeros(nc, NPY_INT64);
    if (sa == NULL || na == NULL || ra == NULL) goto error;
    nthreads = gb_nthreads(nthreads, n);
    if (blocked) {
        const double *vv[GB_MAXCOLS];
        const uint8_t *mm[GB_MAXCOLS];
        for (int k = 0; k < K; k++) {
            vv[k] = PyArray_DATA(va[k]);
            mm[k] = ma[k] ? PyArray_DATA(ma[k]) : NULL;
        }
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = gb_bsum(keyed ? NULL : PyArray_DATA(ca), keyed ? PyArray_DATA(ca) : NULL, kvt,
                     (int64_t)g0,
                     n, nc, K, vv, mm, nthreads, PyArray_DATA(sa),
                     PyArray_DATA(na), PyArray_DATA(ra), &flags);
        Py_END_ALLOW_THREADS
        if (rc == 2 && keyed) {
            Py_INCREF(Py_None);
            res = Py_None;
            goto error;
        }
        if (rc == 2) {
            if (gb_codes_check(ca, nc) == 0)
                PyErr_SetString(PyExc_SystemError, "_gb_fsum_many: a group code was out of range");
            goto error;
        }
        failed = rc < 0;
    }
    else {
        const int32_t *codes = PyArray_DATA(ca);
        double *S = PyArray_DATA(sa);
        int64_t *N = PyArray_DATA(na), *R = PyArray_DATA(ra);
        Py_BEGIN_ALLOW_THREADS
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
                j->vals[k] = PyArray_DATA(va[k]);
                j->masks[k] = ma[k] ? PyArray_DATA(ma[k]) : NULL;
            }
            if (gpart) {
                int64_t lo = (nc * t / nthreads) & ~(int64_t)1, hi = (nc * (t + 1) / nthreads) & ~(int64_t)1;
                if (t == nthreads - 1) hi = nc;
                j->start = 0;
                j->end = n;
                j->glo = (int32_t)lo;
                j->span = (uint32_t)(hi - lo);
            }
            else {
                j->start = n * t / nthreads;
                j->end = n * (t + 1) / nthreads;
                j->glo = 0;
                j->span = (uint32_t)nc;
            }
            if (t < nparts) {
                j->acc = calloc(per * (size_t)K, sizeof(gb_acc));
                if (j->acc == NULL) { failed = 1; break; }
            }
            else {
                j->acc = jobs[0].acc;
            }
        }
        if (!failed) {
            gb_run(gb_multi_worker, jobs, sizeof(gb_mjob), nthreads);
            for (int t = 0; t < nthreads; t++) flags |= jobs[t].flag;
            for (int k = 0; k < K; k++) {
                for (Py_ssize_t g = 0; g < nc; g++) {
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
                    if (!isfinite(sv)) flags |= 1 << k;
                    N[(size_t)k * (size_t)nc + (size_t)g] = cn;
                    if (k == 0) R[g] = rows;
                }
            }
        }
        for (int t = 0; t < nparts; t++) free(jobs[t].acc);
        Py_END_ALLOW_THREADS
    }
    if (failed) {
        PyErr_NoMemory();
        goto error;
    }
    res = Py_BuildValue("(OOOi)", (PyObject *)sa, (PyObject *)na, (PyObject *)ra, flags);
error:
    Py_XDECREF(ca);
    for (int k = 0; k < GB_MAXCOLS; k++) {
        Py_XDECREF(va[k]);
        Py_XDECREF(ma[k]);
    }
    Py_XDECREF(sa);
    Py_XDECREF(na);
    Py_XDECREF(ra);
    Py_XDECREF(vfast);
    Py_XDECREF(mfast);
    return res;
}

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
    Py_ssize_t start, end;
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
        for (Py_ssize_t i = j->start; i < j->end; i++) {
            if (!GB_OK(i)) continue;
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
    Py_ssize_t start, end, nc;
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
            for (Py_ssize_t i = c->start; i < c->end; i++) {
                GB_SLOT(i);
                double x = (double)v[i];
                rows[g_]++;
                cnt[g_] += x == x;
            }
        }
        else {
            for (Py_ssize_t i = c->start; i < c->end; i++) {
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
gb_select(double *a, Py_ssize_t n, Py_ssize_t k)
{
    Py_ssize_t lo = 0, hi = n - 1;
    while (hi > lo) {
        if (hi - lo < 16) {
            for (Py_ssize_t i = lo + 1; i <= hi; i++) {
                double x = a[i];
                Py_ssize_t p = i;
                while (p > lo && a[p - 1] > x) { a[p] = a[p - 1]; p--; }
                a[p] = x;
            }
            return;
        }
        /* median of three as the pivot value */
        double x0 = a[lo], x1 = a[lo + (hi - lo) / 2], x2 = a[hi];
        double pivot = x0 < x1 ? (x1 < x2 ? x1 : (x0 < x2 ? x2 : x0))
                               : (x0 < x2 ? x0 : (x1 < x2 ? x2 : x1));
        Py_ssize_t store = lo;
        for (Py_ssize_t i = lo; i <= hi; i++) {
            double x = a[i];
            a[i] = a[store];
            a[store] = x;
            store += x < pivot;
        }
        /* [lo, store) < pivot <= [store, hi] */
        if (k < store) { hi = store - 1; continue; }
        if (store > lo) { lo = store; continue; }
        /* nothing below the pivot: put its copies first */
        for (Py_ssize_t i = lo; i <= hi; i++) {
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
gb_block_sum(const double *a, Py_ssize_t n, int squares, double center)
{
    double sv = 0.0, cv = 0.0;
    for (Py_ssize_t b = 0; b < n; b += 1024) {
        Py_ssize_t e = n - b > 1024 ? b + 1024 : n, i = b;
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
    Py_ssize_t nq, g0, g1;
    int median;
    double *out;          /* nc x nq */
    double *sum, *m2;     /* per code, or NULL: moments from the group's contiguous run */
} gb_quant_job;

static double
gb_lerp_at(const double *a, Py_ssize_t n, double q, int median, int sorted)
{
    double pos = q * (double)(n - 1);
    Py_ssize_t lo = (Py_ssize_t)floor(pos);
    if (lo >= n - 1) lo = n - 1;
    double frac = pos - (double)lo;
    double x = a[lo];
    if (frac == 0.0 || lo + 1 >= n) return x;
    double y;
    if (sorted) y = a[lo + 1];
    else {
        y = a[lo + 1];
        for (Py_ssize_t i = lo + 2; i < n; i++) if (a[i] < y) y = a[i];
    }
    if (median) return (x + y) / 2.0;
    return x + (y - x) * frac;
}

static void
gb_quant_worker(void *arg)
{
    gb_quant_job *j = (gb_quant_job *)arg;
    for (Py_ssize_t g = j->g0; g < j->g1; g++) {
        double *a = j->buf + j->start[g];
        Py_ssize_t n = (Py_ssize_t)j->count[g];
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
            for (Py_ssize_t q = 0; q < j->nq; q++) o[q] = NAN;
            continue;
        }
        if (j->nq == 1) {
            double pos = j->qs[0] * (double)(n - 1);
            Py_ssize_t lo = (Py_ssize_t)floor(pos);
            if (lo > n - 1) lo = n - 1;
            gb_select(a, n, lo);
            o[0] = gb_lerp_at(a, n, j->qs[0], j->median, 0);
        }
        else {
            qsort(a, (size_t)n, sizeof(double), gb_cmp_double);
            for (Py_ssize_t q = 0; q < j->nq; q++) o[q] = gb_lerp_at(a, n, j->qs[q], 0, 1);
        }
    }
}

/* _gb_quantile(codes, ncodes, values, valid, qs float64, nthreads, median, moments=False)
 *   -> (float64 array ncodes x nq, count int64[, sum float64, m2 float64], rows int64)
 * Linear interpolation between order statistics (pandas' default); median=True uses
 * the midpoint (a + b) / 2 like pandas' median.  NaN and null values are skipped.
 * With moments, also each group's compensated sum and sum of squared deviations from
 * its mean, computed from the sorted-by-group values (saves the var/std passes). */
static PyObject *
gb_quantile(PyObject *self, PyObject *args)
{
    PyObject *co, *vo, *mo, *qo;
    Py_ssize_t nc;
    int nthreads, median, moments = 0;
    if (!PyArg_ParseTuple(args, "OnOOOip|p:_gb_quantile", &co, &nc, &vo, &mo, &qo, &nthreads, &median,
                          &moments))
        return NULL;
    PyArrayObject *ca = NULL, *va = NULL, *ma = NULL, *qa = NULL, *oa = NULL, *na = NULL;
    PyArrayObject *suma = NULL, *m2a = NULL;
    PyObject *res = NULL;
    int64_t *curs = NULL, *starts = NULL, *slots = NULL;
    PyArrayObject *rowsa = NULL;
    int bad = 0;
    double *buf = NULL;
    int vt;
    ca = gb_codes_unchecked(co, nc);   /* checked by the count pass */
    if (ca == NULL) goto error;
    va = gb_values(vo, &vt, "values");
    if (va == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(ca, 0);
    if (PyArray_DIM(va, 0) != n) {
        PyErr_Format(PyExc_ValueError, "values have %zd rows, codes %zd", (Py_ssize_t)PyArray_DIM(va, 0), n);
        goto error;
    }
    if (gb_mask(mo, n, &ma, "validity") < 0) goto error;
    qa = gb_array(qo, NPY_FLOAT64, "quantiles");
    if (qa == NULL) goto error;
    Py_ssize_t nq = PyArray_DIM(qa, 0);
    const double *qs = PyArray_DATA(qa);
    for (Py_ssize_t q = 0; q < nq; q++) {
        if (!(qs[q] >= 0.0 && qs[q] <= 1.0)) {
            PyErr_Format(PyExc_ValueError, "quantile %R is not in [0, 1]", PyFloat_FromDouble(qs[q]));
            goto error;
        }
    }
    if (nq < 1) {
        PyErr_SetString(PyExc_ValueError, "at least one quantile is needed");
        goto error;
    }
    npy_intp dims[2] = {nc, nq};
    oa = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_FLOAT64, 0);
    na = gb_zeros(nc, NPY_INT64);
    rowsa = gb_zeros(nc, NPY_INT64);
    if (oa == NULL || na == NULL || rowsa == NULL) goto error;
    if (moments) {
        suma = gb_zeros(nc, NPY_FLOAT64);
        m2a = gb_zeros(nc, NPY_FLOAT64);
        if (suma == NULL || m2a == NULL) goto error;
    }
    nthreads = gb_nthreads(nthreads, n);
    const int32_t *codes = PyArray_DATA(ca);
    const uint8_t *mask = ma ? PyArray_DATA(ma) : NULL;
    const void *vals = PyArray_DATA(va);
    int64_t *count = PyArray_DATA(na);
    int failed = 0;
    /* per-thread counts give each thread its own slice of every group's run */
    curs = calloc((size_t)nthreads * (size_t)(nc + 1), sizeof(int64_t));
    starts = calloc((size_t)nc + 1, sizeof(int64_t));
    slots = calloc((size_t)nthreads * 2 * (size_t)(nc + 1), sizeof(int64_t));
    if (curs == NULL || starts == NULL || slots == NULL) failed = 1;
    if (!failed) {
        Py_BEGIN_ALLOW_THREADS
        gb_count_job cj[GB_MAXTHREADS];
        for (int t = 0; t < nthreads; t++) {
            cj[t].vt = vt;
            cj[t].codes = codes;
            cj[t].vals = vals;
            cj[t].mask = mask;
            cj[t].start = n * t / nthreads;
            cj[t].end = n * (t + 1) / nthreads;
            cj[t].nc = nc;
            cj[t].cnt = slots + (size_t)t * 2 * (size_t)(nc + 1);
            cj[t].rows = cj[t].cnt + (nc + 1);
        }
        gb_run(gb_count_worker, cj, sizeof(gb_count_job), nthreads);
        for (int t = 0; t < nthreads; t++) bad |= cj[t].bad;
        if (!bad) {
            int64_t *rows = PyArray_DATA(rowsa);
            for (int t = 0; t < nthreads; t++) {
                int64_t *tc = curs + (size_t)t * (size_t)(nc + 1);
                for (Py_ssize_t g = 0; g < nc; g++) {
                    tc[g] = cj[t].cnt[g + 1];
                    rows[g] += cj[t].rows[g + 1];
                }
            }
        }
        if (!failed && !bad) {
            int64_t pos = 0;
            for (Py_ssize_t g = 0; g < nc; g++) {
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
            if (buf == NULL) failed = 1;
        }
        if (!failed && !bad) {
            gb_scatter_job sj[GB_MAXTHREADS];
            for (int t = 0; t < nthreads; t++) {
                sj[t].codes = codes; sj[t].vals = vals; sj[t].mask = mask; sj[t].vt = vt;
                sj[t].start = n * t / nthreads;
                sj[t].end = n * (t + 1) / nthreads;
                sj[t].cur = curs + (size_t)t * (size_t)(nc + 1);
                sj[t].buf = buf;
            }
            gb_run(gb_scatter_worker, sj, sizeof(gb_scatter_job), nthreads);
            gb_quant_job qj[GB_MAXTHREADS];
            /* split groups so that each thread gets about the same number of values */
            int64_t total = starts[nc];
            Py_ssize_t g = 0;
            for (int t = 0; t < nthreads; t++) {
                qj[t].buf = buf; qj[t].start = starts; qj[t].count = count;
                qj[t].qs = qs; qj[t].nq = nq; qj[t].median = median;
                qj[t].out = PyArray_DATA(oa);
                qj[t].sum = suma ? PyArray_DATA(suma) : NULL;
                qj[t].m2 = m2a ? PyArray_DATA(m2a) : NULL;
                qj[t].g0 = g;
                int64_t limit = total * (t + 1) / nthreads;
                if (t == nthreads - 1) g = nc;
                else while (g < nc && starts[g] < limit) g++;
                qj[t].g1 = g;
            }
            gb_run(gb_quant_worker, qj, sizeof(gb_quant_job), nthreads);
        }
        Py_END_ALLOW_THREADS
    }
    if (bad) {
        if (gb_codes_check(ca, nc) == 0)
            PyErr_SetString(PyExc_SystemError, "_gb_quantile: a group code was out of range");
        goto error;
    }
    if (failed) {
        PyErr_NoMemory();
        goto error;
    }
    if (moments)
        res = Py_BuildValue("(OOOOO)", (PyObject *)oa, (PyObject *)na, (PyObject *)suma, (PyObject *)m2a,
                            (PyObject *)rowsa);
    else res = Py_BuildValue("(OOO)", (PyObject *)oa, (PyObject *)na, (PyObject *)rowsa);
error:
    Py_XDECREF(suma);
    Py_XDECREF(m2a);
    free(curs);
    free(starts);
    free(slots);
    Py_XDECREF(rowsa);
    gb_big_free(buf);
    Py_XDECREF(ca);
    Py_XDECREF(va);
    Py_XDECREF(ma);
    Py_XDECREF(qa);
    Py_XDECREF(oa);
    Py_XDECREF(na);
    return res;
}

/* ---- the generic entry point -------------------------------------------- */

static const char *const gb_op_names[] = {
    "size", "count", "sum", "psum", "isum", "m2", "min", "max", "any", "first", "last", NULL,
};

/* _gb_agg(codes, ncodes, op, values, valid, nthreads, mean=None)
 *   -> (result, count int64, rows int64, flag)
 * op: size (values ignored; may be None), count, sum (float compensated sum; flag set
 * when an infinity was seen), psum (plain float sum), isum (int64 sum; flag set on
 * overflow), m2 (sum of squared deviations from `mean`), min, max (float64 result for
 * float input, int64 otherwise), any (number of nonzero values), first, last (row
 * index of the first/last valid value, -1 if none).  `count` is the number of valid
 * non-NaN values per code, `rows` the number of rows per code (the group sizes). */
static PyObject *
gb_agg(PyObject *self, PyObject *args)
{
    PyObject *co, *vo, *mo, *meano = Py_None;
    Py_ssize_t nc;
    const char *opname;
    int nthreads;
    if (!PyArg_ParseTuple(args, "OnsOOi|O:_gb_agg", &co, &nc, &opname, &vo, &mo, &nthreads, &meano))
        return NULL;
    int op = -1;
    for (int k = 0; gb_op_names[k]; k++) if (strcmp(opname, gb_op_names[k]) == 0) op = k;
    if (op < 0) {
        PyErr_Format(PyExc_ValueError, "unknown aggregate %s", opname);
        return NULL;
    }
    PyArrayObject *ca = NULL, *va = NULL, *ma = NULL, *ra = NULL, *na = NULL, *mua = NULL, *sa = NULL;
    PyObject *res = NULL;
    int vt = VT_F8;
    ca = gb_codes_unchecked(co, nc);
    if (ca == NULL) goto error;
    Py_ssize_t n = PyArray_DIM(ca, 0);
    const void *vals = NULL;
    const uint8_t *mask = NULL;
    if (op != OP_SIZE) {
        va = gb_values(vo, &vt, "values");
        if (va == NULL) goto error;
        if (PyArray_DIM(va, 0) != n) {
            PyErr_Format(PyExc_ValueError, "values have %zd rows, codes %zd",
                         (Py_ssize_t)PyArray_DIM(va, 0), n);
            goto error;
        }
        vals = PyArray_DATA(va);
        if (gb_mask(mo, n, &ma, "validity") < 0) goto error;
        mask = ma ? PyArray_DATA(ma) : NULL;
    }
    /* the blocked float64 sum checks the codes in its own pass */
    int blocked = op == OP_FSUM && vt == VT_F8 && nc < GB_GPART_CODES;
    if (!blocked && gb_codes_check(ca, nc) < 0) goto error;
    const double *mean = NULL;
    if (op == OP_M2) {
        mua = gb_array(meano, NPY_FLOAT64, "mean");
        if (mua == NULL) goto error;
        if (PyArray_DIM(mua, 0) != nc) {
            PyErr_SetString(PyExc_ValueError, "mean must have one entry per code");
            goto error;
        }
        mean = PyArray_DATA(mua);
    }
    int isf = vt == VT_F4 || vt == VT_F8;
    int rtype = NPY_INT64;
    if (op == OP_FSUM || op == OP_PSUM || op == OP_M2 || ((op == OP_MIN || op == OP_MAX) && isf))
        rtype = NPY_FLOAT64;
    ra = gb_zeros(nc, rtype);
    na = gb_zeros(nc, NPY_INT64);
    sa = gb_zeros(nc, NPY_INT64);
    if (ra == NULL || na == NULL || sa == NULL) goto error;
    nthreads = gb_nthreads(nthreads, n);
    int rc;
    int64_t *ri = rtype == NPY_INT64 ? PyArray_DATA(ra) : NULL;
    double *rs = rtype == NPY_FLOAT64 ? PyArray_DATA(ra) : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (blocked) {
        int inf = 0;
        const double *vv[1] = {vals};
        const uint8_t *mm[1] = {mask};
        rc = gb_bsum(PyArray_DATA(ca), NULL, 0, 0, n, nc, 1, vv, mm, nthreads, rs, PyArray_DATA(na),
                     PyArray_DATA(sa), &inf);
    }
    else {
        rc = gb_aggregate(op, vt, PyArray_DATA(ca), vals, mask, mean, n, nc, nthreads,
                          PyArray_DATA(na), PyArray_DATA(sa), ri, rs);
    }
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_NoMemory();
        goto error;
    }
    if (rc == 2) {
        if (gb_codes_check(ca, nc) == 0)
            PyErr_SetString(PyExc_SystemError, "_gb_agg: a group code was out of range");
        goto error;
    }
    res = Py_BuildValue("(OOOi)", (PyObject *)ra, (PyObject *)na, (PyObject *)sa, rc);
error:
    Py_XDECREF(sa);
    Py_XDECREF(ca);
    Py_XDECREF(va);
    Py_XDECREF(ma);
    Py_XDECREF(ra);
    Py_XDECREF(na);
    Py_XDECREF(mua);
    return res;
}

/* _gb_first_rows(codes, ncodes) -> int64: first row of each code, -1 if none. */
static PyObject *
gb_first_rows(PyObject *self, PyObject *args)
{
    PyObject *co;
    Py_ssize_t nc;
    if (!PyArg_ParseTuple(args, "On:_gb_first_rows", &co, &nc)) return NULL;
    PyArrayObject *ca = gb_codes(co, nc);
    if (ca == NULL) return NULL;
    PyArrayObject *ra = gb_zeros(nc, NPY_INT64);
    if (ra == NULL) {
        Py_DECREF(ca);
        return NULL;
    }
    const int32_t *codes = PyArray_DATA(ca);
    int64_t *out = PyArray_DATA(ra);
    Py_ssize_t n = PyArray_DIM(ca, 0);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t g = 0; g < nc; g++) out[g] = -1;
    Py_ssize_t left = nc;
    for (Py_ssize_t i = 0; i < n && left > 0; i++) {
        int32_t g = codes[i];
        if (g >= 0 && out[g] < 0) { out[g] = i; left--; }
    }
    Py_END_ALLOW_THREADS
    Py_DECREF(ca);
    return (PyObject *)ra;
}

static PyMethodDef gb_functions[] = {
    {"_gb_encode_num", gb_encode_num, METH_VARARGS,
     "_gb_encode_num(values, valid, part, dropna, range_limit, nthreads=1) -> (codes, ncodes, lo, uniques, nullcode)"},
    {"_gb_encode_str", gb_encode_str, METH_VARARGS,
     "_gb_encode_str(offsets, data, valid, dropna) -> (codes, ncodes, first_rows, nullcode)"},
    {"_gb_combine", gb_combine, METH_VARARGS,
     "_gb_combine(c1, n1, c2, n2, hash) -> (codes, ncodes, uniques)"},
    {"_gb_explode", gb_explode, METH_VARARGS,
     "_gb_explode(row_codes, n_other, offsets, items, valid, nl, empty_code, want_rows) -> (codes, rows)"},
    {"_gb_agg", gb_agg, METH_VARARGS,
     "_gb_agg(codes, ncodes, op, values, valid, nthreads, mean=None) -> (result, count, rows, flag)"},
    {"_gb_fsum_many", gb_fsum_many, METH_VARARGS,
     "_gb_fsum_many(codes, ncodes, values, valids, nthreads) -> (sums, counts, rows, inf_flags)"},
    {"_gb_quantile", gb_quantile, METH_VARARGS,
     "_gb_quantile(codes, ncodes, values, valid, qs, nthreads, median, moments=False) -> (result, count[, sum, m2], rows)"},
    {"_gb_first_rows", gb_first_rows, METH_VARARGS,
     "_gb_first_rows(codes, ncodes) -> first row of each code (-1 if none)"},
    {NULL},
};

int
ts_groupby_exec(PyObject *module)
{
    return PyModule_AddFunctions(module, gb_functions);
}
