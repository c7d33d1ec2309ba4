/*
 * arrow/arrow.h -- the Arrow C Data Interface and C Stream Interface structs (a
 * stable, public ABI: declared here from the Arrow specification) and the module
 * functions of csrc/arrow/ that implement the Arrow PyCapsule Interface for Table
 * and Column.
 */
#ifndef TS_ARROW_H
#define TS_ARROW_H

#include "core/ts_core.h"

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

/* Module functions (_arrow_export_schema, _arrow_export_array, _arrow_export_stream,
 * _arrow_import_array, _arrow_import_stream) added by module.c's core_exec. */
extern PyMethodDef ts_arrow_functions[];
int ts_arrow_exec(PyObject *module);

#endif /* TS_ARROW_H */
