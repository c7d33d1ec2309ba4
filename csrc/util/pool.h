/*
 * pool.h -- the one thread pool of the C core (the only place that creates threads).
 * Workers never touch Python objects and need no GIL; callers release the GIL around
 * the parallel part.  Two shapes:
 *
 *   ts_pool_run    fork-join: run fn on n argument blocks, block 0 on the calling
 *                  thread, the rest on threads started for the call (group-by).
 *   ts_pool        persistent workers that run `body` once per post, for callers
 *                  that hand out claimable tasks in rounds (the CSV reader):
 *                  the caller keeps its task state under the pool's mutex
 *                  (ts_pool_lock), a worker that claims a task says so
 *                  (ts_pool_task_begin_locked / ts_pool_task_end_locked), and the
 *                  caller, once it finds nothing left to claim, sleeps in
 *                  ts_pool_wait only while a worker still runs a claimed task -- so
 *                  neither side ever waits for the other to be scheduled.
 */
#ifndef TS_UTIL_POOL_H
#define TS_UTIL_POOL_H

#include <pthread.h>
#include <stddef.h>

/* Most threads a pool uses (more requested: the extra blocks run on the caller). */
#define TS_POOL_MAX 16

typedef void (*ts_pool_fn)(void *arg);

/* Runs fn on args[0..n) (blocks of `size` bytes): block 0 on the calling thread and
 * the others on new threads, then joins them.  A thread that cannot start (or any
 * block past TS_POOL_MAX) runs on the caller after block 0, so the call always
 * completes. */
void ts_pool_run(ts_pool_fn fn, void *args, size_t size, int n);

typedef struct {
    pthread_mutex_t mtx;
    pthread_cond_t go;       /* a post or quit for the workers */
    pthread_cond_t idle;     /* a claimed task has ended */
    pthread_t th[TS_POOL_MAX];
    int nworkers;            /* workers running */
    int have_sync;           /* mtx and the conditions were made */
    /* under mtx: */
    unsigned long posts;     /* rounds posted so far */
    int quit;
    int busy;                /* workers inside a claimed task */
    ts_pool_fn body;
    void *arg;
} ts_pool;

/* Starts up to `nworkers` workers that each run body(arg) once per post.  Returns
 * the number started; 0 means none (and no post is needed: all work stays with the
 * caller).  The pool must be stopped with ts_pool_stop in any case. */
int ts_pool_start(ts_pool *p, int nworkers, ts_pool_fn body, void *arg);

void ts_pool_lock(ts_pool *p);
void ts_pool_unlock(ts_pool *p);

/* Mutex held: each worker runs body once more when it next wakes (posts that a
 * worker has not yet seen fold into one run). */
void ts_pool_post_locked(ts_pool *p);

/* Mutex held, on a worker: it has claimed a task / has finished it. */
void ts_pool_task_begin_locked(ts_pool *p);
void ts_pool_task_end_locked(ts_pool *p);

/* Mutex not held: sleeps until no worker runs a claimed task. */
void ts_pool_wait(ts_pool *p);

/* Stops and joins the workers and frees the pool's synchronisation objects (safe on
 * a pool whose start failed, and twice). */
void ts_pool_stop(ts_pool *p);

#endif
