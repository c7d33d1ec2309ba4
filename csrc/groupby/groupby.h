/*
 * groupby.h -- vectorized group-by kernels (dense group codes, then one pass per
 * aggregate).  The kernels are in csrc/groupby/ (gb.h says which file does what); the
 * Python side (traffickstats/engine/groupby/) drives them.
 */
#ifndef TS_GROUPBY_H
#define TS_GROUPBY_H

#include "core/ts_core.h"

/* Adds the _gb_* kernel functions to the module; returns 0 or -1 with an exception. */
int ts_groupby_exec(PyObject *module);

#endif
