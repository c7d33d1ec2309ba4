/*
 * groupby/bind.h -- the argument helpers shared by the group-by binding files
 * (bind.c: keys and registration; bind_agg.c: aggregates).  The only group-by
 * header that includes Python.h (through ts_core.h).
 */
#ifndef TS_GROUPBY_BIND_H
#define TS_GROUPBY_BIND_H

#include "core/ts_core.h"
#include "groupby/groupby.h"
#include "groupby/gb.h"

/* The aggregate entry points (bind_agg.c), registered by ts_groupby_exec. */
extern PyMethodDef gb_agg_functions[];

/* New reference: `o` as a 1-d C-contiguous aligned native array of typenum. */
PyArrayObject *gb_array(PyObject *o, int typenum, const char *what);
/* New reference: a value array of a supported numeric dtype, its kind in *vt. */
PyArrayObject *gb_values(PyObject *o, int *vt, const char *what);
/* *out: new reference to a bool mask of length n, NULL for None; 0 or -1. */
int gb_mask(PyObject *o, Py_ssize_t n, PyArrayObject **out, const char *what);
/* New reference: a zeroed 1-d array. */
PyArrayObject *gb_zeros(Py_ssize_t n, int typenum);
/* New reference: a map's uniques as int64. */
PyArrayObject *gb_uniques(const gb_map *map);
/* New reference: int32 codes, ncodes checked but not the codes. */
PyArrayObject *gb_codes_unchecked(PyObject *o, Py_ssize_t ncodes);
/* New reference: int32 codes, every code in [-1, ncodes). */
PyArrayObject *gb_codes(PyObject *o, Py_ssize_t ncodes);
/* 0, or -1 with ValueError naming the first code outside [-1, ncodes). */
int gb_codes_check(PyArrayObject *c, Py_ssize_t ncodes);
/* The ValueError of code `code` at `row`; returns -1. */
int gb_raise_code(int64_t code, Py_ssize_t row, Py_ssize_t ncodes);
/* After a kernel flagged a bad code: the ValueError naming it (SystemError if none). */
int gb_raise_bad_codes(PyArrayObject *codes, Py_ssize_t ncodes, const char *fn);

#endif
