/*
 * pool.c -- the thread pool (see pool.h).  POSIX threads.
 */
#include "util/pool.h"

#include <string.h>

typedef struct {
    ts_pool_fn fn;
    void *arg;
} pool_task;

static void *
pool_trampoline(void *p)
{
    pool_task *t = (pool_task *)p;
    t->fn(t->arg);
    return NULL;
}

void
ts_pool_run(ts_pool_fn fn, void *args, size_t size, int n)
{
    pthread_t th[TS_POOL_MAX];
    pool_task tasks[TS_POOL_MAX];
    int started[TS_POOL_MAX] = {0};
    int nt = n < TS_POOL_MAX ? n : TS_POOL_MAX;
    for (int k = 1; k < nt; k++) {
        tasks[k].fn = fn;
        tasks[k].arg = (char *)args + (size_t)k * size;
        started[k] = pthread_create(&th[k], NULL, pool_trampoline, &tasks[k]) == 0;
    }
    fn(args);
    for (int k = 1; k < nt; k++) {
        if (started[k]) pthread_join(th[k], NULL);
        else fn((char *)args + (size_t)k * size);
    }
    for (int k = nt; k < n; k++) fn((char *)args + (size_t)k * size);
}

/* A persistent worker: runs body once per post until quit. */
static void *
pool_worker(void *arg)
{
    ts_pool *p = arg;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mtx);
        while (!p->quit && p->posts == seen) pthread_cond_wait(&p->go, &p->mtx);
        int quit = p->quit;
        seen = p->posts;
        pthread_mutex_unlock(&p->mtx);
        if (quit) break;
        p->body(p->arg);
    }
    return NULL;
}

int
ts_pool_start(ts_pool *p, int nworkers, ts_pool_fn body, void *arg)
{
    memset(p, 0, sizeof(*p));
    p->body = body;
    p->arg = arg;
    if (nworkers <= 0) return 0;
    if (pthread_mutex_init(&p->mtx, NULL) != 0) return 0;
    if (pthread_cond_init(&p->go, NULL) != 0) {
        pthread_mutex_destroy(&p->mtx);
        return 0;
    }
    if (pthread_cond_init(&p->idle, NULL) != 0) {
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mtx);
        return 0;
    }
    p->have_sync = 1;
    if (nworkers > TS_POOL_MAX) nworkers = TS_POOL_MAX;
    while (p->nworkers < nworkers &&
           pthread_create(&p->th[p->nworkers], NULL, pool_worker, p) == 0) {
        p->nworkers++;
    }
    return p->nworkers;
}

void
ts_pool_lock(ts_pool *p)
{
    pthread_mutex_lock(&p->mtx);
}

void
ts_pool_unlock(ts_pool *p)
{
    pthread_mutex_unlock(&p->mtx);
}

void
ts_pool_post_locked(ts_pool *p)
{
    p->posts++;
    pthread_cond_broadcast(&p->go);
}

void
ts_pool_task_begin_locked(ts_pool *p)
{
    p->busy++;
}

void
ts_pool_task_end_locked(ts_pool *p)
{
    if (--p->busy == 0) pthread_cond_broadcast(&p->idle);
}

void
ts_pool_wait(ts_pool *p)
{
    pthread_mutex_lock(&p->mtx);
    while (p->busy > 0) pthread_cond_wait(&p->idle, &p->mtx);
    pthread_mutex_unlock(&p->mtx);
}

void
ts_pool_stop(ts_pool *p)
{
    if (!p->have_sync) return;
    pthread_mutex_lock(&p->mtx);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mtx);
    for (int k = 0; k < p->nworkers; k++) pthread_join(p->th[k], NULL);
    p->nworkers = 0;
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mtx);
    p->have_sync = 0;
}
