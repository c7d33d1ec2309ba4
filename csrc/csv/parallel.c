/*
 * csv/parallel.c -- the chunk driver: steps 1-4 on one or two threads (no Python).
 */
#include "csv/internal.h"

#include <stdlib.h>
#include <time.h>

/* ---- two-thread conversion: columns are handed out one at a time ---------- */

/* A monotonic clock in seconds (0 where there is none: the order then stays). */
static double
now_seconds(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
    return 0.0;
}

/* convert_column, timed into the column's cost (each column has one thread). */
static int
convert_column_timed(reader *r, wstate *w, int ci)
{
    double t0 = now_seconds();
    int rc = csv_convert_column(r, w, ci);
    r->cols[ci].cost = now_seconds() - t0;
    return rc;
}

/* Longest first (LPT): the next chunk's claim order is by this chunk's conversion
 * times, so that no thread is left converting a big column alone at the end.
 * Insertion sort: the order changes little between chunks. */
static void
order_by_cost(reader *r)
{
    if (r->order == NULL) return;
    for (int i = 1; i < r->ncb; i++) {
        int ci = r->order[i], j = i;
        while (j > 0 && r->cols[r->order[j - 1]].cost < r->cols[ci].cost) {
            r->order[j] = r->order[j - 1];
            j--;
        }
        r->order[j] = ci;
    }
}




/* Claims a task of the current round: a column index, CLAIM_TOK or CLAIM_NONE. */
static int
tasks_claim(tasks *pl, int worker)
{
    ts_pool_lock(&pl->tp);
    int t = CLAIM_NONE;
    if (pl->job == JOB_TOKENIZE) {
        if (pl->tok_free) {
            pl->tok_free = 0;
            t = CLAIM_TOK;
        }
    }
    else if (!pl->stop && pl->next < pl->r->ncb) {
        t = pl->r->order != NULL ? pl->r->order[pl->next] : pl->next;
        pl->next++;
    }
    if (worker && t != CLAIM_NONE) ts_pool_task_begin_locked(&pl->tp);
    ts_pool_unlock(&pl->tp);
    return t;
}

/* Folds one column's result into a thread's round result: value errors keep the
 * earliest (so that the error reported is the first in the file) and do not stop
 * the other columns; a restart or a fatal error stops the round.  Returns 1 when
 * the round must stop. */
static int
note_column(int rc, wstate *w, int *res, int *failed, csv_err *first)
{
    if (rc < 0 && w->err.kind != E_NOMEM && w->err.kind != E_TOOBIG) {
        if (!*failed || csv_err_before(&w->err, first)) *first = w->err;
        *failed = 1;
        return 0;
    }
    if (rc != 0) {
        *res = rc;
        return 1;
    }
    return 0;
}

/* The worker's round: runs claimed tasks until none is left; never touches Python. */
static void
worker_round(void *arg)
{
    tasks *pl = arg;
    int t;
    while ((t = tasks_claim(pl, 1)) != CLAIM_NONE) {
        int res = 0, failed = 0, rc;
        csv_err first;
        if (t == CLAIM_TOK) rc = csv_tokenize_checked(&pl->tk);
        else rc = convert_column_timed(pl->r, &pl->r->ws[1], t);
        ts_pool_lock(&pl->tp);
        if (t == CLAIM_TOK) {
            pl->rc1 = rc;
        }
        else {
            failed = pl->failed1;
            first = pl->first1;
            if (note_column(rc, &pl->r->ws[1], &res, &failed, &first)) {
                pl->stop = 1;
                pl->rc1 = res;
            }
            pl->failed1 = failed;
            if (failed) pl->first1 = first;
        }
        ts_pool_task_end_locked(&pl->tp);
        ts_pool_unlock(&pl->tp);
    }
}

/* Starts the worker (best effort: on failure everything stays single-threaded). */
void
csv_tasks_start(tasks *pl, reader *r)
{
    memset(pl, 0, sizeof(*pl));
    pl->r = r;
    pl->job = JOB_TOKENIZE;  /* nothing to claim until the first round */
    if (r->nthreads < 2 || r->ncb < 2) return;
    pl->started = ts_pool_start(&pl->tp, 1, worker_round, pl) > 0;
    if (!pl->started) ts_pool_stop(&pl->tp);
}

/* Stops the worker and waits until it has left (it owns nothing). */
void
csv_tasks_stop(tasks *pl)
{
    if (pl->started) {
        ts_pool_stop(&pl->tp);
        pl->started = 0;
    }
    ts_raw_free(pl->tk.fields);
    ts_raw_free(pl->tk.rows);
    ts_raw_free(pl->tk.bads);
    pl->tk.fields = NULL;
    pl->tk.rows = NULL;
    pl->tk.bads = NULL;
}

static int
bad_cmp(const void *x, const void *y)
{
    const csv_err *a = x, *b = y;
    return csv_err_before(a, b) ? -1 : csv_err_before(b, a) ? 1 : 0;
}

/* One conversion pass over all columns (both threads).  0, 1 restart, -1 error. */
static int
convert_all(reader *r, tasks *pl)
{
    /* rows are stored back to back with ncols fields each; dense unless one was
     * dropped after tokenizing (UTF-8, skip/warn values) */
    int dense = r->nrows > 0 && r->ncols > 0 && r->rows[0].first == 0 &&
                r->rows[r->nrows - 1].first == (r->nrows - 1) * (size_t)r->ncols;
    for (size_t i = 0; dense && i < r->nrows; i++) dense = !r->rows[i].bad && r->rows[i].nf == (uint32_t)r->ncols;
    r->dense = dense;
    wstate *w0 = &r->ws[0], *w1 = &r->ws[1];
    w0->nvb = w1->nvb = 0;
    w0->err.kind = w1->err.kind = E_NONE;
    if (!pl->started) {
        /* single-threaded; as note_column, the earliest value error wins */
        int failed = 0;
        for (int ci = 0; ci < r->ncb; ci++) {
            int rc = csv_convert_column(r, w0, ci);
            if (rc < 0 && w0->err.kind != E_NOMEM && w0->err.kind != E_TOOBIG) {
                if (!failed || csv_err_before(&w0->err, &r->err)) r->err = w0->err;
                failed = 1;
                continue;
            }
            if (rc < 0) r->err = w0->err;
            if (rc != 0) return rc;
        }
        return failed ? -1 : 0;
    }
    /* a round: both threads claim columns */
    ts_pool_lock(&pl->tp);
    pl->job = JOB_CONVERT;
    pl->next = 0;
    pl->stop = 0;
    pl->rc1 = 0;
    pl->failed1 = 0;
    ts_pool_post_locked(&pl->tp);
    ts_pool_unlock(&pl->tp);
    csv_prefetch(r);  /* the next bytes, while the worker starts on the columns */
    int rc0 = 0, failed0 = 0, t;
    csv_err first0;
    while ((t = tasks_claim(pl, 0)) != CLAIM_NONE) {
        if (note_column(convert_column_timed(r, w0, t), w0, &rc0, &failed0, &first0)) {
            ts_pool_lock(&pl->tp);
            pl->stop = 1;
            ts_pool_unlock(&pl->tp);
            break;
        }
    }
    ts_pool_wait(&pl->tp);
    ts_pool_lock(&pl->tp);
    int rc1 = pl->rc1, failed1 = pl->failed1;
    csv_err first1 = pl->first1;
    pl->next = r->ncb;  /* nothing left for a late worker */
    ts_pool_unlock(&pl->tp);
    order_by_cost(r);
    if (rc0 < 0 || rc1 < 0) {
        r->err = rc0 < 0 ? w0->err : w1->err;
        return -1;
    }
    if (rc0 > 0 || rc1 > 0) return 1;
    if (failed0 || failed1) {
        /* report the value error that comes first in the file */
        if (failed0 && failed1) r->err = csv_err_before(&first1, &first0) ? first1 : first0;
        else r->err = failed0 ? first0 : first1;
        return -1;
    }
    return 0;
}

/* Quote characters in s[0..n). */
static size_t
count_quotes(const char *s, size_t n, char quote)
{
    size_t k = 0, i = 0;
#if TS_SWAR
    const uint64_t pat = 0x0101010101010101ull * (uint8_t)quote;
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t y = w ^ pat;
        /* high bit set exactly in the zero bytes of y */
        uint64_t z = ~(((y & low7) + low7) | y | low7);
        k += (size_t)__builtin_popcountll(z);
    }
#endif
    for (; i < n; i++) k += s[i] == quote;
    return k;
}

/* Step 1 on two threads when the worker runs: the worker tokenizes from a line
 * break near the middle of the data that an even number of quotes precedes, while
 * this thread tokenizes up to it.  The guess is kept only when this thread's rows
 * end exactly there (then the second half started at a true row boundary, which is
 * all the serial tokenizer would have done); otherwise, and when the worker met an
 * error, the rest is tokenized serially.  0 or -1 (r->err set). */
int
csv_tokenize_split(reader *r, tasks *pl, size_t min_bytes)
{
    size_t avail = r->len - r->pos;
    r->utf8_ok = 0;
    if (!pl->started || avail < min_bytes || r->ncols < 0) return csv_tokenize(r, (size_t)-1);
    const char *b = r->buf;
    size_t mid = r->pos + avail / 2, s = mid;
    /* Counting the quotes before the middle is serial work; while guesses keep
     * succeeding, the first line break after the middle is taken as it is (the check
     * below rejects a wrong guess, at the cost of tokenizing the chunk serially);
     * after two wrong guesses (many line breaks inside quoted fields) the quotes are
     * counted for the rest of the file. */
    const int count = r->has_quote && r->split_misses >= 2;
    size_t quotes = count ? count_quotes(b + r->pos, mid - r->pos, r->quote) : 0;
    int found = 0;
    for (int tries = 0; tries < 64 && s < r->len; tries++) {
        const char *nl = memchr(b + s, '\n', r->len - s);
        if (nl == NULL) break;
        if (count) quotes += count_quotes(b + s, (size_t)(nl - (b + s)), r->quote);
        s = (size_t)(nl - b) + 1;
        if ((quotes & 1) == 0) {
            found = 1;
            break;
        }
    }
    if (!found || s >= r->len) return csv_tokenize(r, (size_t)-1);

    reader *t = &pl->tk;
    field_t *tf = t->fields;
    row_t *tr = t->rows;
    csv_err *tb = t->bads;
    size_t fcap = t->fcap, rcap = t->rcap, bcap = t->bcap;
    *t = *r;
    t->fields = tf;
    t->fcap = fcap;
    t->rows = tr;
    t->rcap = rcap;
    t->bads = tb;
    t->bcap = bcap;
    t->cols = NULL;
    memset(t->ws, 0, sizeof(t->ws));
    t->nfields = t->nrows = t->nbads = 0;
    t->pos = s;
    t->line = 0;
    t->err.kind = E_NONE;
    ts_pool_lock(&pl->tp);
    pl->job = JOB_TOKENIZE;
    pl->tok_free = 1;
    pl->rc1 = 0;
    ts_pool_post_locked(&pl->tp);
    ts_pool_unlock(&pl->tp);
    size_t len = r->len;
    int eof = r->eof;
    r->len = s;
    r->eof = 0;
    int rc0 = csv_tokenize_checked(r);
    r->len = len;
    r->eof = eof;
    int rc1;
    if (rc0 == 0 && r->pos == s && tasks_claim(pl, 0) == CLAIM_TOK) {
        rc1 = csv_tokenize_checked(t);  /* the worker was not scheduled: do it here */
    }
    else {
        ts_pool_lock(&pl->tp);
        pl->tok_free = 0;  /* too late for a worker that has not claimed it */
        ts_pool_unlock(&pl->tp);
        ts_pool_wait(&pl->tp);
        ts_pool_lock(&pl->tp);
        rc1 = pl->rc1;
        ts_pool_unlock(&pl->tp);
    }
    if (rc0 < 0) return -1;
    if (r->pos != s || rc1 < 0) {
        if (rc0 == 0 && r->pos != s) r->split_misses++;
        r->utf8_ok = 0;
        return csv_tokenize(r, (size_t)-1);
    }
    r->utf8_ok = r->utf8_ok && t->utf8_ok;
    /* append the worker's rows, fields and dropped rows, lines made absolute */
    if (ts_grow((void **)&r->fields, &r->fcap, r->nfields + t->nfields, sizeof(field_t)) < 0 ||
        ts_grow((void **)&r->rows, &r->rcap, r->nrows + t->nrows, sizeof(row_t)) < 0 ||
        ts_grow((void **)&r->bads, &r->bcap, r->nbads + t->nbads, sizeof(csv_err)) < 0) {
        return csv_nomem(r);
    }
    if (t->nfields > 0) memcpy(r->fields + r->nfields, t->fields, t->nfields * sizeof(field_t));
    for (size_t i = 0; i < t->nrows; i++) {
        row_t row = t->rows[i];
        row.first += r->nfields;
        row.line += r->line;
        r->rows[r->nrows + i] = row;
    }
    for (size_t i = 0; i < t->nbads; i++) {
        csv_err e = t->bads[i];
        e.line += r->line;
        r->bads[r->nbads + i] = e;
    }
    r->nfields += t->nfields;
    r->nrows += t->nrows;
    r->nbads += t->nbads;
    if (t->nbads) r->newbad = 1;
    r->pos = t->pos;
    r->line += t->line;
    return 0;
}

/* Steps 2-4 for the tokenized rows.  0 ok, 1 restart, -1 error.  No GIL. */
int
csv_process_chunk(reader *r, tasks *pl)
{
    if (!r->utf8_ok && csv_locate_bad_text(r) < 0) {
        /* strict: a value error in an earlier row of the chunk comes first */
        csv_err ue = r->err;
        size_t keep = 0;
        while (keep < r->nrows && r->rows[keep].line < ue.line && r->rows[keep].end <= (size_t)(ue.a - r->base)) keep++;
        if (ue.kind == E_UTF8 && keep > 0 && keep < r->nrows) {
            r->nrows = keep;
            if (csv_process_chunk(r, pl) < 0 && r->err.kind != E_NONE && csv_err_before(&r->err, &ue)) return -1;
        }
        r->err = ue;
        return -1;
    }
    int k = csv_infer(r);
    if (k < 0) return csv_nomem(r);
    if (k > 0) return 1;
    for (int ci = 0; ci < r->ncb; ci++) {
        if (csv_col_reserve(&r->cols[ci], r->nrows) < 0) return csv_nomem(r);
    }
    csv_save_cols(r);
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = convert_all(r, pl);
        if (rc != 0) return rc;
        if (r->ws[0].nvb + r->ws[1].nvb == 0) return 0;
        /* skip/warn: drop the rows with bad values and convert the chunk again */
        size_t first_new = r->nbads;
        for (int t = 0; t < 2; t++) {
            wstate *w = &r->ws[t];
            for (size_t i = 0; i < w->nvb; i++) {
                row_t *row = &r->rows[w->vbads[i].ri];
                if (row->bad) continue;
                if (csv_report(r, row, &w->vbads[i]) < 0) return -1;
            }
            w->nvb = 0;
        }
        qsort(r->bads + first_new, r->nbads - first_new, sizeof(csv_err), bad_cmp);
        csv_rollback_cols(r);
    }
    return 0;
}
