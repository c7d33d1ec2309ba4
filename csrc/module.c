/*
 * module.c -- traffickstats._core: multi-phase initialisation; each concern
 * (columns, tables, and later kernels) adds its types and functions in its exec step.
 */
#define TS_IMPORT_ARRAY_HERE
#include "core/ts_core.h"
#include "groupby/groupby.h"
#include "csv/csv.h"
#include "arrow/arrow.h"

/* _register_classes(table_class, column_class): the Python package's subclasses,
 * used whenever C builds a table or column from scratch.  The module keeps them
 * alive as attributes.
 * Ownership: returns a new reference (None; NULL with an exception set); borrows
 * its arguments (the module attributes take their own references). */
static PyObject *
register_classes(PyObject *module, PyObject *args)
{
    PyTypeObject *tcls, *ccls;
    if (!PyArg_ParseTuple(args, "O!O!:_register_classes", &PyType_Type, &tcls, &PyType_Type, &ccls)) {
        return NULL;
    }
    if (!PyType_IsSubtype(tcls, &ts_TableType) || !PyType_IsSubtype(ccls, &ts_ColumnType)) {
        PyErr_SetString(PyExc_TypeError, "expected subclasses of _core.Table and _core.Column");
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "_table_class", (PyObject *)tcls) < 0 ||
        PyModule_AddObjectRef(module, "_column_class", (PyObject *)ccls) < 0) {
        return NULL;
    }
    ts_table_class = tcls;
    ts_column_class = ccls;
    Py_RETURN_NONE;
}

/* _core.TYPES (the column type names, in ts_type order) and _core.EPOCH (the day
 * dates count from, ISO text): C owns both; the Python modules read them.  0 or -1
 * with an exception.
 * Ownership: borrows module (the constants are added to it). */
static int
add_constants(PyObject *module)
{
    PyObject *types = PyTuple_New(TS_NTYPES);
    if (types == NULL) return -1;
    for (int t = 0; t < TS_NTYPES; t++) {
        PyObject *name = PyUnicode_FromString(ts_type_names[t]);
        if (name == NULL) {
            Py_DECREF(types);
            return -1;
        }
        PyTuple_SET_ITEM(types, t, name);
    }
    int rc = PyModule_AddObjectRef(module, "TYPES", types);
    Py_DECREF(types);
    if (rc < 0) return -1;
    return PyModule_AddStringConstant(module, "EPOCH", TS_EPOCH);
}

static PyMethodDef module_functions[] = {
    {"_register_classes", register_classes, METH_VARARGS,
     "Register the Python Table and Column subclasses that C-built objects use."},
    {NULL},
};

/* Ownership: borrows module. */
static int
core_exec(PyObject *module)
{
    if (PyArray_ImportNumPyAPI() < 0) {
        return -1;
    }
    if (add_constants(module) < 0) return -1;
    if (PyModule_AddFunctions(module, ts_column_functions) < 0) return -1;
    if (ts_column_exec(module) < 0) return -1;
    if (ts_table_exec(module) < 0) return -1;
    if (ts_groupby_exec(module) < 0) return -1;
    if (ts_csv_exec(module) < 0) return -1;
    if (ts_arrow_exec(module) < 0) return -1;
    return 0;
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, core_exec},
    {0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "traffickstats._core",
    .m_doc = "The C core of traffickstats: columnar storage and vectorized kernels.",
    .m_size = 0,
    .m_methods = module_functions,
    .m_slots = core_slots,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModuleDef_Init(&core_module);
}
