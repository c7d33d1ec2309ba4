/*
 * csv/binding.h -- the Python side of the CSV reader and writer (reader.c, input.c,
 * writer.c): what they share beyond csv/internal.h.
 */
#ifndef TS_CSV_BINDING_H
#define TS_CSV_BINDING_H

#include "core/ts_core.h"
#include "csv/internal.h"
#include "csv/csv.h"

/* Fills a byte-string set from a tuple of bytes (the set borrows the bytes' storage).
 * Ownership: borrows `tuple`, which must outlive the set.  0, or -1 with an exception
 * (what the set holds so far is freed by csv_bset_free). */
int csv_bset_init(bset *b, PyObject *tuple, const char *what);
/* Frees a set's arrays (not the strings, which it borrows). */
void csv_bset_free(bset *b);

/* Reads once into the buffer (compacting first), or takes the read-ahead buffer when
 * one is ready (input.c).  GIL held.  0 or -1 with an exception. */
int csv_fill(reader *r);

/* _csv_write(table, write, delimiter, quotechar, list_sep, na_values) (writer.c).
 * Ownership: returns a new reference (None), NULL with an exception set; borrows all
 * arguments. */
PyObject *csv_write(PyObject *module, PyObject *args);

#endif
