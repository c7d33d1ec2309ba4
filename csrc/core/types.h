/*
 * types.h -- the column types and the date epoch, owned by C (module.c exports them
 * to Python as _core.TYPES and _core.EPOCH; the Python modules read those).  No
 * Python.h, so kernels that need no Python objects can include it.
 */
#ifndef TS_CORE_TYPES_H
#define TS_CORE_TYPES_H

typedef enum {
    TS_BOOL = 0,
    TS_INT32,
    TS_INT64,
    TS_FLOAT64,
    TS_DATE,
    TS_CATEGORY,
    TS_STRING,
    TS_LIST,          /* list<category> */
    TS_NTYPES
} ts_type;

/* The type names, indexed by ts_type ("bool" ... "list<category>"). */
extern const char *const ts_type_names[TS_NTYPES];

/* Dates are int32 days since this day (Arrow date32), as ISO text. */
#define TS_EPOCH "1970-01-01"

#endif
