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
 *      group code for the order statistics.
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

#define GB_MAXTHREADS 8
/* With at most this many codes, sums and counts use 4 interleaved sub-accumulators
 * so that runs of one key do not serialise on one memory slot. */
#define GB_LANE_CODES 2048
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

/* Validates group codes: int32 array; checks every code lies in [-1, ncodes). */
static PyArrayObject *
gb_codes(PyObject *o, Py_ssize_t ncodes)
{
    PyArrayObject *c = gb_array(o, NPY_INT32, "codes");
    if (c == NULL) return NULL;
    if (ncodes < 0 || ncodes > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "ncodes %zd is out of range", ncodes);
        Py_DECREF(c);
        return NULL;
    }
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
    if (!PyArg_ParseTuple(args, "OOipn:_gb_encode_num", &vo, &mo, &part, &dropna, &range_limit))
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
    ca = gb_zeros(n, NPY_INT32);
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

    int32_t *table = NULL;   /* date part of each day in [dlo, ...] */
    int64_t dlo = 0;
    Py_BEGIN_ALLOW_THREADS
    if (!isfloat) {
        int64_t rlo = INT64_MAX, rhi = INT64_MIN;
        GB_SWITCH(vt,
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
        if (part != PART_NONE && rlo <= rhi) {
            if ((uint64_t)rhi - (uint64_t)rlo < (1u << 24)) {
                /* a lookup table of the part per day replaces the calendar arithmetic */
                size_t len = (size_t)(rhi - rlo) + 1;
                table = malloc(len * sizeof(int32_t));
                if (table == NULL) failed = 1;
                for (size_t d = 0; d < len && table; d++) {
                    int64_t y, mo;
                    gb_civil(rlo + (int64_t)d, &y, &mo);
                    int64_t pv = part == PART_YEAR ? y : mo;
                    table[d] = (int32_t)pv;
                    lo = pv < lo ? pv : lo;
                    hi = pv > hi ? pv : hi;
                }
                dlo = rlo;
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
        GB_SWITCH(vt,
            const T *v = (const T *)vals;
            if (mask == NULL && table == NULL && part == PART_NONE) {
                for (Py_ssize_t i = 0; i < n; i++) codes[i] = (int32_t)((int64_t)v[i] - lo);
            }
            else for (Py_ssize_t i = 0; i < n; i++) {
                if (mask && !mask[i]) { codes[i] = nc; nnull++; continue; }
                int64_t x = (int64_t)v[i];
                if (table) x = table[x - dlo];
                else if (part != PART_NONE) {
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
    a1 = gb_codes(o1, n1);
    if (a1 == NULL) goto error;
    a2 = gb_codes(o2, n2);
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
    ca = gb_zeros(n, NPY_INT32);
    if (ca == NULL) goto error;
    const int32_t *c1 = PyArray_DATA(a1), *c2 = PyArray_DATA(a2);
    int32_t *out = PyArray_DATA(ca);
    int failed = 0;
    Py_ssize_t ncodes = n1 * n2;
    Py_BEGIN_ALLOW_THREADS
    if (!hash) {
        int32_t m = (int32_t)n2;
        for (Py_ssize_t i = 0; i < n; i++) {
            out[i] = (c1[i] < 0 || c2[i] < 0) ? -1 : c1[i] * m + c2[i];
        }
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

/* _gb_explode(row_codes int32, n_other, offsets int32, items int32, valid, nl, empty_code,
 *             want_rows) -> (codes int32, rows int64 or None)
 * One output element per list item with code row_code * nl + item; a null or empty
 * list gives one element with item `empty_code`, or none when empty_code is -1.  Rows
 * whose row code is -1 (dropped by another key or by where=) give nothing.  `rows`
 * holds the source row of each element when asked for. */
static PyObject *
gb_explode(PyObject *self, PyObject *args)
{
    PyObject *co, *oo, *ko, *mo;
    Py_ssize_t nother, nl;
    int empty_code, want_rows;
    if (!PyArg_ParseTuple(args, "OnOOOnip:_gb_explode", &co, &nother, &oo, &ko, &mo, &nl,
                          &empty_code, &want_rows))
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
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        if (off[i] < 0 || off[i + 1] < off[i] || off[i + 1] > nk) { bad = i; break; }
        if (rc[i] < 0) continue;
        Py_ssize_t len = (mask && !mask[i]) ? 0 : off[i + 1] - off[i];
        total += len > 0 ? len : (empty_code >= 0);
        for (Py_ssize_t e = off[i]; e < off[i] + len; e++) {
            if (kid[e] < 0 || kid[e] >= nl) { badk = e; break; }
        }
        if (badk >= 0) break;
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
    xa = gb_zeros(total, NPY_INT32);
    if (xa == NULL) goto error;
    if (want_rows) {
        ra = gb_zeros(total, NPY_INT64);
        if (ra == NULL) goto error;
    }
    int32_t *out = PyArray_DATA(xa);
    int64_t *rows = ra ? PyArray_DATA(ra) : NULL;
    int32_t m = (int32_t)nl;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (rc[i] < 0) continue;
        int32_t base = rc[i] * m;
        Py_ssize_t len = (mask && !mask[i]) ? 0 : off[i + 1] - off[i];
        if (len == 0) {
            if (empty_code >= 0) {
                if (rows) rows[k] = i;
                out[k++] = base + empty_code;
            }
            continue;
        }
        for (Py_ssize_t e = off[i]; e < off[i + 1]; e++) {
            if (rows) rows[k] = i;
            out[k++] = base + kid[e];
        }
    }
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
        for (; i_ + 4 <= j->end; i_ += 4) {                                     \
            ROW(i_, 0); ROW(i_ + 1, o1_); ROW(i_ + 2, o2_); ROW(i_ + 3, o3_);   \
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
    int lanes = (nc <= GB_LANE_CODES && op != OP_FIRST && op != OP_LAST) ? 4 : 1;
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

/* _gb_fsum_many(codes, ncodes, values (sequence of float64 arrays), valids (sequence
 * of bool arrays or None), nthreads) -> (sums K x nc, counts K x nc, rows nc, flags)
 * Compensated sums of several float64 columns in one pass over the codes; bit k of
 * flags is set when column k holds an infinity (the caller then redoes it plainly). */
static PyObject *
gb_fsum_many(PyObject *self, PyObject *args)
{
    PyObject *co, *vseq, *mseq;
    Py_ssize_t nc;
    int nthreads;
    if (!PyArg_ParseTuple(args, "OnOOi:_gb_fsum_many", &co, &nc, &vseq, &mseq, &nthreads)) return NULL;
    PyArrayObject *ca = NULL, *va[GB_MAXCOLS] = {0}, *ma[GB_MAXCOLS] = {0};
    PyArrayObject *sa = NULL, *na = NULL, *ra = NULL;
    PyObject *res = NULL, *vfast = NULL, *mfast = NULL;
    gb_mjob jobs[GB_MAXTHREADS];
    memset(jobs, 0, sizeof(jobs));
    int K = 0, failed = 0, flags = 0;
    ca = gb_codes(co, nc);
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
    {
        const int32_t *codes = PyArray_DATA(ca);
        double *S = PyArray_DATA(sa);
        int64_t *N = PyArray_DATA(na), *R = PyArray_DATA(ra);
        Py_BEGIN_ALLOW_THREADS
        int lanes = nc <= GB_LANE_CODES ? 4 : 1;
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

/* Counts the valid values per code of one slice of rows (a thread of gb_quantile). */
typedef struct {
    int vt, rc;
    const int32_t *codes;
    const void *vals;
    const uint8_t *mask;
    Py_ssize_t n, nc;
    int64_t *out;
} gb_count_job;

static void
gb_count_worker(void *arg)
{
    gb_count_job *c = (gb_count_job *)arg;
    c->rc = gb_aggregate(OP_COUNT, c->vt, c->codes, c->vals, c->mask, NULL, c->n, c->nc, 1,
                         c->out, NULL, NULL, NULL);
}

static void
gb_swap(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Rearranges a[0..n) so that a[k] holds the k-th smallest, smaller ones before it. */
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
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo]) gb_swap(&a[mid], &a[lo]);
        if (a[hi] < a[lo]) gb_swap(&a[hi], &a[lo]);
        if (a[hi] < a[mid]) gb_swap(&a[hi], &a[mid]);
        double pivot = a[mid];
        Py_ssize_t i = lo, r = hi;
        while (i <= r) {
            while (a[i] < pivot) i++;
            while (a[r] > pivot) r--;
            if (i <= r) { gb_swap(&a[i], &a[r]); i++; r--; }
        }
        if (k <= r) hi = r;
        else if (k >= i) lo = i;
        else return;
    }
}

static int
gb_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
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
            /* compensated sum, then sum of squared deviations from the mean (two passes
             * over values already in cache) */
            double sv = 0.0, cv = 0.0, dv = 0.0, ev = 0.0;
            for (Py_ssize_t i = 0; i < n; i++) gb_kahan_add(&sv, &cv, a[i]);
            double mu = n > 0 ? sv / (double)n : 0.0;
            for (Py_ssize_t i = 0; i < n; i++) {
                double d = a[i] - mu;
                gb_kahan_add(&dv, &ev, d * d);
            }
            j->sum[g] = sv;
            j->m2[g] = dv;
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
 *   -> (float64 array ncodes x nq, count int64[, sum float64, m2 float64])
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
    int64_t *curs = NULL, *starts = NULL;
    double *buf = NULL;
    int vt;
    ca = gb_codes(co, nc);
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
    if (oa == NULL || na == NULL) goto error;
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
    if (curs == NULL || starts == NULL) failed = 1;
    if (!failed) {
        Py_BEGIN_ALLOW_THREADS
        gb_count_job cj[GB_MAXTHREADS];
        int vsz = vt == VT_B ? 1 : (vt == VT_I4 || vt == VT_F4) ? 4 : 8;
        for (int t = 0; t < nthreads; t++) {
            Py_ssize_t s0 = n * t / nthreads, s1 = n * (t + 1) / nthreads;
            cj[t].vt = vt;
            cj[t].codes = codes + s0;
            cj[t].vals = (const char *)vals + (size_t)s0 * (size_t)vsz;
            cj[t].mask = mask ? mask + s0 : NULL;
            cj[t].n = s1 - s0;
            cj[t].nc = nc;
            cj[t].out = curs + (size_t)t * (size_t)(nc + 1);
        }
        gb_run(gb_count_worker, cj, sizeof(gb_count_job), nthreads);
        for (int t = 0; t < nthreads; t++) if (cj[t].rc < 0) failed = 1;
        if (!failed) {
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
            buf = malloc((size_t)(pos > 0 ? pos : 1) * sizeof(double));
            if (buf == NULL) failed = 1;
        }
        if (!failed) {
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
    if (failed) {
        PyErr_NoMemory();
        goto error;
    }
    if (moments) res = Py_BuildValue("(OOOO)", (PyObject *)oa, (PyObject *)na, (PyObject *)suma, (PyObject *)m2a);
    else res = Py_BuildValue("(OO)", (PyObject *)oa, (PyObject *)na);
error:
    Py_XDECREF(suma);
    Py_XDECREF(m2a);
    free(curs);
    free(starts);
    free(buf);
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
    ca = gb_codes(co, nc);
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
    rc = gb_aggregate(op, vt, PyArray_DATA(ca), vals, mask, mean, n, nc, nthreads,
                      PyArray_DATA(na), PyArray_DATA(sa), ri, rs);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_NoMemory();
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
     "_gb_encode_num(values, valid, part, dropna, range_limit) -> (codes, ncodes, lo, uniques, nullcode)"},
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
     "_gb_quantile(codes, ncodes, values, valid, qs, nthreads, median) -> (result, count)"},
    {"_gb_first_rows", gb_first_rows, METH_VARARGS,
     "_gb_first_rows(codes, ncodes) -> first row of each code (-1 if none)"},
    {NULL},
};

int
ts_groupby_exec(PyObject *module)
{
    return PyModule_AddFunctions(module, gb_functions);
}
