/*
 * csv/input.c -- the reader's input: readinto calls into the chunk buffer, and the
 * read-ahead that runs while the worker converts a chunk.  Needs Python (the
 * readinto callable); the read-ahead takes the GIL back briefly.
 */
#include "csv/binding.h"

/* Calls readinto once on dst[0..room) (GIL held): the byte count, or -1 with an
 * exception. */
static Py_ssize_t
read_some(reader *r, char *dst, size_t room)
{
    PyObject *mv = PyMemoryView_FromMemory(dst, (Py_ssize_t)room, PyBUF_WRITE);
    if (mv == NULL) return -1;
    PyObject *res = PyObject_CallOneArg((PyObject *)r->readinto, mv);
    if (res == NULL) {
        /* release the view with readinto's exception put aside, then restore it */
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        PyObject *rel = PyObject_CallMethod(mv, "release", NULL);
        Py_XDECREF(rel);
        Py_DECREF(mv);
        if (rel == NULL) PyErr_Clear();
        PyErr_Restore(et, ev, tb);
        return -1;
    }
    PyObject *rel = PyObject_CallMethod(mv, "release", NULL);
    Py_DECREF(mv);
    if (rel == NULL) {
        Py_DECREF(res);
        return -1;
    }
    Py_DECREF(rel);
    Py_ssize_t got = PyLong_AsSsize_t(res);
    Py_DECREF(res);
    if (got == -1 && PyErr_Occurred()) return -1;
    if (got < 0 || (size_t)got > room) {
        PyErr_SetString(PyExc_ValueError, "readinto returned an invalid byte count");
        return -1;
    }
    return got;
}

int
csv_fill(reader *r)
{
    if (r->pf_ready) {
        /* buf2 holds the old buffer's tail buf[pos..len) and the bytes read after it */
        char *b = r->buf;
        size_t c = r->cap;
        r->buf = r->buf2;
        r->cap = r->cap2;
        r->buf2 = b;
        r->cap2 = c;
        r->base += (int64_t)r->pos;
        r->len = r->pf_len;
        r->pos = 0;
        r->eof = r->pf_eof;
        r->pf_ready = 0;
        return 0;
    }
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->base += (int64_t)r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->cap - r->len < r->chunk / 2) {
        size_t nc = r->len + r->chunk;
        if (nc < r->cap * 2) nc = r->cap * 2;
        if (nc > (size_t)UINT32_MAX - 16) {
            if (r->len + 1 > (size_t)UINT32_MAX - 16) {
                PyErr_SetString(PyExc_ValueError, "a CSV row longer than 4 GiB");
                return -1;
            }
            nc = (size_t)UINT32_MAX - 16;
        }
        char *q = PyMem_RawRealloc(r->buf, nc + TS_SLACK);
        if (q == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        r->buf = q;
        r->cap = nc;
    }
    Py_ssize_t got = read_some(r, r->buf + r->len, r->cap - r->len);
    if (got < 0) return -1;
    if (got == 0) r->eof = 1;
    r->len += (size_t)got;
    return 0;
}

/* The read-ahead (see reader.buf2), called by the main thread without the GIL while
 * the worker converts.  Does nothing unless the incomplete tail leaves at least
 * half a chunk of room.  A read error is kept (pf_err, the exception set) and raised
 * after the chunk. */
void
csv_prefetch(reader *r)
{
    if (r->tstate == NULL || r->eof || r->pf_ready || r->pf_err) return;
    size_t tail = r->len - r->pos;
    if (r->cap < tail + r->chunk / 2) return;
    if (r->cap2 != r->cap) {
        char *q = PyMem_RawRealloc(r->buf2, r->cap + TS_SLACK);
        if (q == NULL) return;  /* harmless: fill reads as usual */
        r->buf2 = q;
        r->cap2 = r->cap;
    }
    memcpy(r->buf2, r->buf + r->pos, tail);
    PyEval_RestoreThread((PyThreadState *)r->tstate);
    Py_ssize_t got = read_some(r, r->buf2 + tail, r->cap2 - tail);
    r->tstate = PyEval_SaveThread();
    if (got < 0) {
        r->pf_err = 1;
        return;
    }
    r->pf_len = tail + (size_t)got;
    r->pf_eof = got == 0;
    r->pf_ready = 1;
}
