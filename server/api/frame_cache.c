/*
 * frame_cache.c - see frame_cache.h. A doubly linked list in use order
 * (most recent first); lookups walk it, which is fine for the few thousand
 * small pictures 64 MiB holds next to the cost of drawing one.
 */
#include "server/api/frame_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct entry {
    struct entry *prev, *next;
    char *key;
    unsigned char *data;
    size_t len;
    int width, height;
} entry;

struct fw_frame_cache {
    pthread_mutex_t lock;
    pthread_cond_t slot_free;
    entry *head, *tail;
    size_t bytes, max_bytes;
    int drawing, max_drawing;
    uint64_t hits, misses;
};

fw_err fw_frame_cache_new(fw_frame_cache **out, size_t max_bytes, int max_drawing, fw_error *err)
{
    fw_frame_cache *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    c->max_bytes = max_bytes ? max_bytes : 64u << 20;
    c->max_drawing = max_drawing > 0 ? max_drawing : 2;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->slot_free, NULL);
    *out = c;
    return FW_OK;
}

static void unlink_entry(fw_frame_cache *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(fw_frame_cache *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void entry_free(fw_frame_cache *c, entry *e)
{
    c->bytes -= e->len + strlen(e->key);
    free(e->key);
    free(e->data);
    free(e);
}

void fw_frame_cache_free(fw_frame_cache **pc)
{
    fw_frame_cache *c = pc ? *pc : NULL;
    if (!c)
        return;
    *pc = NULL;
    while (c->head) {
        entry *e = c->head;
        unlink_entry(c, e);
        entry_free(c, e);
    }
    pthread_cond_destroy(&c->slot_free);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static entry *find(fw_frame_cache *c, const char *key)
{
    for (entry *e = c->head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

unsigned char *fw_frame_cache_get(fw_frame_cache *c, const char *key, size_t *len, int *width, int *height)
{
    unsigned char *copy = NULL;
    entry *e;
    pthread_mutex_lock(&c->lock);
    if ((e = find(c, key)) && (copy = malloc(e->len))) {
        memcpy(copy, e->data, e->len);
        *len = e->len;
        *width = e->width;
        *height = e->height;
        unlink_entry(c, e);
        push_front(c, e);
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->lock);
    return copy;
}

void fw_frame_cache_put(fw_frame_cache *c, const char *key, const unsigned char *data, size_t len, int width,
                        int height)
{
    entry *e;
    if (len > c->max_bytes / 4)
        return;
    if (!(e = calloc(1, sizeof(*e))) || !(e->key = strdup(key)) || !(e->data = malloc(len))) {
        if (e)
            free(e->key);
        free(e);
        return; /* only a cache: the next call draws it again */
    }
    memcpy(e->data, data, len);
    e->len = len;
    e->width = width;
    e->height = height;
    pthread_mutex_lock(&c->lock);
    {
        entry *old = find(c, key);
        if (old) {
            unlink_entry(c, old);
            entry_free(c, old);
        }
    }
    push_front(c, e);
    c->bytes += len + strlen(e->key);
    while (c->bytes > c->max_bytes && c->tail && c->tail != e) {
        entry *last = c->tail;
        unlink_entry(c, last);
        entry_free(c, last);
    }
    pthread_mutex_unlock(&c->lock);
}

fw_err fw_frame_cache_begin_drawing(fw_frame_cache *c, int wait_ms, fw_error *err)
{
    struct timespec until;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    while (c->drawing >= c->max_drawing && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&c->slot_free, &c->lock, &until);
    if (c->drawing < c->max_drawing) {
        c->drawing++;
        pthread_mutex_unlock(&c->lock);
        return FW_OK;
    }
    pthread_mutex_unlock(&c->lock);
    return fw_error_quota(err, 1, NULL, "%d template frames are being drawn; try again in a second", c->max_drawing);
}

void fw_frame_cache_end_drawing(fw_frame_cache *c)
{
    pthread_mutex_lock(&c->lock);
    c->drawing--;
    pthread_cond_signal(&c->slot_free);
    pthread_mutex_unlock(&c->lock);
}

void fw_frame_cache_counts(fw_frame_cache *c, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->lock);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}
