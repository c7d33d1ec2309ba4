/*
 * mem.c -- the raw allocator of the C core (see mem.h).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "util/mem.h"

void *
ts_raw_malloc(size_t n)
{
    return PyMem_RawMalloc(n);
}

void *
ts_raw_calloc(size_t count, size_t size)
{
    return PyMem_RawCalloc(count, size);
}

void *
ts_raw_realloc(void *p, size_t n)
{
    return PyMem_RawRealloc(p, n);
}

void
ts_raw_free(void *p)
{
    PyMem_RawFree(p);
}
