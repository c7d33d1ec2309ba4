/*
 * mem.h -- the raw allocator of the C core, for code that includes no Python.h.
 * These are Python's raw-domain allocators (PyMem_RawMalloc & co.): thread-safe, no
 * GIL needed, seen by tracemalloc, and the allocator whose blocks a column adopts
 * (ts_buffer_adopt frees with PyMem_RawFree).
 */
#ifndef TS_UTIL_MEM_H
#define TS_UTIL_MEM_H

#include <stddef.h>

void *ts_raw_malloc(size_t n);
void *ts_raw_calloc(size_t count, size_t size);
void *ts_raw_realloc(void *p, size_t n);
void ts_raw_free(void *p);

/* Grows *p (an array of `size`-byte items with capacity *cap) to hold `need` items,
 * by about 1.5x.  0, or -1 out of memory (*p and *cap unchanged). */
static inline int
ts_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) c = c + c / 2 + 16;
    void *q = ts_raw_realloc(*p, c * size);
    if (q == NULL) return -1;
    *p = q;
    *cap = c;
    return 0;
}

#endif
