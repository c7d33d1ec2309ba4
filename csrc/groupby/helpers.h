/*
 * groupby/helpers.h -- group-by's own copies of helpers that also exist elsewhere:
 * the thread runner, the byte hash and the civil date.  They move to csrc/util/ (one
 * home for each) when that lands; until then they live here, in one file.
 * Included by gb.h only (after gb_worker is declared).
 */
#ifndef TS_GROUPBY_HELPERS_H
#define TS_GROUPBY_HELPERS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
static inline void
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

#endif
