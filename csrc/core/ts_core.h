/*
 * ts_core.h -- storage layer of traffickstats: typed, immutable columns and tables.
 *
 * Memory layout follows Apache Arrow so that columns can be exported through the
 * Arrow C Data Interface without copies:
 *
 *   type            values buffer                        offsets    dictionary
 *   bool            uint8, one byte per value (0/1)      -          -
 *   int32, int64    native-endian integers               -          -
 *   float64         native-endian doubles                -          -
 *   date            int32 days since 1970-01-01          -          -
 *   category        int32 codes, -1 at every null slot   -          string column
 *   string          UTF-8 bytes                          int32      -
 *   list<category>  int32 child codes (never -1)         int32      string column
 *
 * Nulls live in an LSB-first validity bitmap (bit set = valid); a column with no
 * nulls has no bitmap.  Like Arrow, a column has an `offset`: row i of the column is
 * element (offset + i) of its buffers.  That is how slice() shares buffers.
 *
 * Every buffer is kept alive by an owner object (a NumPy array, a capsule around
 * malloc'ed memory, or an imported Arrow array); a column holds a strong reference to
 * each owner, so buffers are shared between tables simply by sharing owners.
 *
 * Columns are immutable once built: nothing ever writes to a buffer after the column
 * that owns it has been handed to Python.
 */
#ifndef TS_CORE_H
#define TS_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PY_ARRAY_UNIQUE_SYMBOL traffickstats_ARRAY_API
#ifndef TS_IMPORT_ARRAY_HERE
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

/* Loops over more rows than this release the GIL. */
#define TS_NOGIL_THRESHOLD 4096

/* Runs `stmt` (which must not touch Python objects) without the GIL when n is large. */
#define TS_MAYBE_NOGIL(n, stmt)                                      \
    do {                                                             \
        if ((n) > TS_NOGIL_THRESHOLD) {                              \
            Py_BEGIN_ALLOW_THREADS stmt; Py_END_ALLOW_THREADS        \
        }                                                            \
        else {                                                       \
            stmt;                                                    \
        }                                                            \
    } while (0)

#include "core/types.h"

typedef struct {
    PyObject *owner;   /* strong reference keeping `data` alive, or NULL when data is NULL */
    void *data;
} ts_buffer;

typedef struct ts_column {
    PyObject_HEAD
    ts_type type;
    Py_ssize_t length;      /* rows */
    Py_ssize_t offset;      /* first row's element index in every buffer */
    Py_ssize_t null_count;
    ts_buffer validity;     /* bitmap; data NULL when null_count == 0 */
    ts_buffer values;
    ts_buffer offsets;      /* int32, string and list only */
    struct ts_column *dictionary;  /* string column without nulls; category and list only */
    PyObject *weakreflist;
} ts_column;

typedef struct {
    PyObject_HEAD
    Py_ssize_t num_rows;
    PyObject *names;        /* tuple of str */
    PyObject *columns;      /* tuple of ts_column, same length as names */
    PyObject *index;        /* dict name -> int position */
    PyObject *weakreflist;
} ts_table;

extern PyTypeObject ts_ColumnType;
extern PyTypeObject ts_TableType;
/* The classes used when C creates a column or table from scratch: the Python package
 * registers its subclasses here (borrowed references kept alive by the module). */
extern PyTypeObject *ts_column_class;
extern PyTypeObject *ts_table_class;

/* Whether o is a Column (a subclass counts).
 * Ownership: borrows o. */
static inline int ts_is_column(PyObject *o) { return PyObject_TypeCheck(o, &ts_ColumnType); }
/* Whether o is a Table (a subclass counts).
 * Ownership: borrows o. */
static inline int ts_is_table(PyObject *o) { return PyObject_TypeCheck(o, &ts_TableType); }

/* ---- type names -------------------------------------------------------- */
extern const char *const ts_type_names[TS_NTYPES];
/* Returns the type for a name, or -1 with ValueError set. */
int ts_type_from_name(const char *name);
/* Element size of the values buffer, 0 for string bytes. */
Py_ssize_t ts_value_itemsize(ts_type t);

/* ---- bitmaps ------------------------------------------------------------ */
static inline int ts_bit_get(const uint8_t *bm, Py_ssize_t i) {
    return (bm[i >> 3] >> (i & 7)) & 1;
}
static inline void ts_bit_set(uint8_t *bm, Py_ssize_t i) { bm[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static inline void ts_bit_clear(uint8_t *bm, Py_ssize_t i) { bm[i >> 3] &= (uint8_t)~(1u << (i & 7)); }

/* Is row i (0-based within the column) valid? */
static inline int ts_col_valid(const ts_column *c, Py_ssize_t i) {
    return c->validity.data == NULL || ts_bit_get((const uint8_t *)c->validity.data, c->offset + i);
}
/* Pointer to row 0 of the values buffer (fixed-width types only). */
static inline void *ts_col_values(const ts_column *c) {
    return (char *)c->values.data + c->offset * ts_value_itemsize(c->type);
}
/* Pointer to row 0's entry of the offsets buffer (string and list). */
static inline const int32_t *ts_col_offsets(const ts_column *c) {
    return (const int32_t *)c->offsets.data + c->offset;
}

/* ---- buffers ------------------------------------------------------------ */
/* New reference-holding buffer: a fresh zeroed aligned block of nbytes (>= 1 byte
 * allocated); owner is a new NumPy uint8 array.  Returns 0, or -1 with MemoryError. */
int ts_buffer_alloc(ts_buffer *buf, Py_ssize_t nbytes);
/* Wraps memory obtained from PyMem_RawMalloc/Realloc: ownership of `data` passes to
 * the buffer (freed with PyMem_RawFree when the owner dies, also on failure). */
int ts_buffer_adopt(ts_buffer *buf, void *data);
/* Borrows a NumPy array as a buffer (a new reference to arr becomes the owner). */
void ts_buffer_from_array(ts_buffer *buf, PyArrayObject *arr);
/* NumPy type number of a type's values buffer. */
int ts_values_typenum(ts_type t);
/* Drops the owner reference (safe on an empty buffer). */
static inline void ts_buffer_clear(ts_buffer *buf) { Py_CLEAR(buf->owner); buf->data = NULL; }
/* Copies src into dst sharing the owner (new reference to the owner). */
static inline void ts_buffer_share(ts_buffer *dst, const ts_buffer *src) {
    dst->owner = src->owner; Py_XINCREF(dst->owner); dst->data = src->data;
}

/* ---- columns ------------------------------------------------------------ */
/* New reference: an empty column object of the registered class with the given type
 * and no buffers; the caller fills it in. */
ts_column *ts_column_alloc(ts_type type);
/* Finishes a column built by C: counts nulls if null_count < 0 and drops an all-valid
 * bitmap.  Steals the reference to `col`; returns it or NULL on error (col released). */
ts_column *ts_column_finish(ts_column *col);
/* New reference: rows [start, start+len) sharing all buffers. */
ts_column *ts_column_slice(ts_column *col, Py_ssize_t start, Py_ssize_t len);
/* New reference: rows idx[0..n) (already bounds-checked, int64). Releases the GIL. */
ts_column *ts_column_take(ts_column *col, const int64_t *idx, Py_ssize_t n);
/* New reference: a string column (no nulls) from a sequence of str; checks uniqueness
 * when `unique` is set (ValueError naming `what`). */
ts_column *ts_string_column_from_strs(PyObject *seq, int unique, const char *what);
/* New reference: the dictionary labels as a tuple of str (cached per call). */
PyObject *ts_dictionary_labels(ts_column *dict);

/* ---- tables ------------------------------------------------------------- */
/* New reference: a table of the given class from a tuple of names and a tuple of
 * columns (both borrowed; validated: unique str names, equal lengths). */
PyObject *ts_table_from_tuples(PyTypeObject *cls, PyObject *names, PyObject *columns, Py_ssize_t num_rows);

/* ---- errors ------------------------------------------------------------- */
/* Always returns NULL, with the exception set; formatting is kept off the hot path. */
/* `name` (borrowed, may be NULL) is the column the message is about. */
PyObject *ts_error_col(PyObject *exc, PyObject *name, const char *fmt, ...);

/* ---- module parts ------------------------------------------------------- */
int ts_column_exec(PyObject *module);
int ts_table_exec(PyObject *module);
extern PyMethodDef ts_column_functions[];

#endif
