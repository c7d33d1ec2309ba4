/*
 * csv/csv.h -- the CSV reader and writer: _core._csv_read and _core._csv_write (csrc/csv/).
 */
#ifndef TS_CSV_H
#define TS_CSV_H

#include "core/ts_core.h"

extern PyMethodDef ts_csv_functions[];
/* Adds the CSV functions to the module; 0 or -1 with an exception. */
int ts_csv_exec(PyObject *module);

#endif
