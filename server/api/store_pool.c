/* store_pool.c - see store_pool.h. */
#include "server/api/store_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct fw_store_pool {
    pthread_mutex_t lock;
    pthread_cond_t returned;
    char *url;
    int size;
    int opened;
    int idle_count;
    fw_store **idle;
    fw_store_timing_fn timing;
    void *timing_ctx;
};

fw_err fw_store_pool_new(fw_store_pool **out, const char *url, int size, fw_error *err)
{
    fw_store_pool *p = calloc(1, sizeof(*p));
    fw_store *first = NULL;
    fw_err rc;

    *out = NULL;
    if (!p || !(p->url = strdup(url)) || !(p->idle = calloc((size_t)(size > 0 ? size : 1), sizeof(*p->idle)))) {
        if (p)
            free(p->url);
        free(p);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    p->size = size > 0 ? size : 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->returned, NULL);
    /* Open one now: a wrong URL should stop the server at start-up. */
    if ((rc = fw_store_open(&first, url, err))) {
        fw_store_pool_free(&p);
        return rc;
    }
    p->idle[p->idle_count++] = first;
    p->opened = 1;
    *out = p;
    return FW_OK;
}

void fw_store_pool_free(fw_store_pool **pool)
{
    fw_store_pool *p = pool ? *pool : NULL;
    if (!p)
        return;
    for (int i = 0; i < p->idle_count; i++)
        fw_store_close(&p->idle[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->returned);
    free(p->idle);
    free(p->url);
    free(p);
    *pool = NULL;
}

fw_err fw_store_pool_get(fw_store_pool *p, fw_store **store, fw_error *err)
{
    fw_err rc;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->idle_count > 0) {
            *store = p->idle[--p->idle_count];
            pthread_mutex_unlock(&p->lock);
            return FW_OK;
        }
        if (p->opened < p->size) {
            p->opened++;
            pthread_mutex_unlock(&p->lock);
            rc = fw_store_open(store, p->url, err);
            if (rc == FW_OK && p->timing)
                fw_store_set_timing(*store, p->timing, p->timing_ctx);
            if (rc) {
                pthread_mutex_lock(&p->lock);
                p->opened--;
                pthread_cond_signal(&p->returned);
                pthread_mutex_unlock(&p->lock);
            }
            return rc;
        }
        pthread_cond_wait(&p->returned, &p->lock);
    }
}

void fw_store_pool_put(fw_store_pool *p, fw_store *store)
{
    if (!store)
        return;
    pthread_mutex_lock(&p->lock);
    p->idle[p->idle_count++] = store;
    pthread_cond_signal(&p->returned);
    pthread_mutex_unlock(&p->lock);
}

void fw_store_pool_set_timing(fw_store_pool *p, fw_store_timing_fn fn, void *ctx)
{
    pthread_mutex_lock(&p->lock);
    p->timing = fn;
    p->timing_ctx = ctx;
    for (int i = 0; i < p->idle_count; i++)
        fw_store_set_timing(p->idle[i], fn, ctx);
    pthread_mutex_unlock(&p->lock);
}
