/*
 * arrow/internal.h -- what export.c, import.c and import_column.c share.
 */
#ifndef TS_ARROW_INTERNAL_H
#define TS_ARROW_INTERNAL_H

#include "arrow/arrow.h"

#include <errno.h>
#include <stdlib.h>

/* Brackets a loop over n elements that touches no Python object: the GIL is released
 * when n is large.  No jump may leave the bracket. */
#define NOGIL_BEGIN(n) { PyThreadState *nogil_save_ = (n) > TS_NOGIL_THRESHOLD ? PyEval_SaveThread() : NULL;
#define NOGIL_END if (nogil_save_ != NULL) PyEval_RestoreThread(nogil_save_); }

/* ---- export.c ------------------------------------------------------------- */
/* A zeroed block for buffers of empty columns that have none. */
extern const int64_t arrow_zero_block[4];
/* A str describing a schema's type for messages ("'i' (dictionary indices) with
 * values 'u'").
 * Ownership: returns a new reference (NULL with an exception set). */
PyObject *arrow_format_description(const struct ArrowSchema *s);
/* An 'arrow_schema' capsule owning s (malloc'ed and initialised; released and freed
 * on failure).
 * Ownership: returns a new reference (NULL with an exception set). */
PyObject *arrow_schema_capsule(struct ArrowSchema *s);
/* An 'arrow_array' capsule owning a (malloc'ed and initialised; released and freed
 * on failure).
 * Ownership: returns a new reference (NULL with an exception set). */
PyObject *arrow_array_capsule(struct ArrowArray *a);
/* The module functions (method table in export.c).
 * Ownership: each returns a new reference (NULL with an exception set) and borrows
 * its arguments. */
PyObject *arrow_export_schema(PyObject *module, PyObject *obj);
PyObject *arrow_export_array(PyObject *module, PyObject *args);
PyObject *arrow_export_stream(PyObject *module, PyObject *args);
PyObject *arrow_import_array(PyObject *module, PyObject *args);
PyObject *arrow_import_stream(PyObject *module, PyObject *cap);

/* ---- import_column.c ------------------------------------------------------ */
/* One imported Arrow array (schema s, array a, kept alive by `holder`) as a column.
 * Ownership: returns a new reference (NULL with an exception set); borrows all
 * arguments (the column takes its own references to holder). */
ts_column *arrow_import_column(const struct ArrowSchema *s, const struct ArrowArray *a, PyObject *holder,
                               PyObject *name);

#endif
