/*
 * watch.c - see watch.h.
 *
 * Versions: every job change takes a number from one store-wide sequence.
 * The hub remembers the highest version it has read and asks for more. On
 * PostgreSQL a transaction may commit after one holding a higher number, so
 * once a second the hub also looks back over a window of recent versions;
 * the per-watcher "last version sent" keeps that from sending anything
 * twice.
 */
#include "server/api/watch.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/api/service.h"
#include "server/util/log.h"

#define LOOK_BACK_VERSIONS 2000
#define POLL_MS 100        /* with a notification to wake on (PostgreSQL) */
#define POLL_QUIET_MS 25   /* without one (SQLite): a job's 2 % steps, 50 ms apart at most, each arrive */

typedef struct watcher {
    fw_rpc_stream *stream;
    char team_id[FW_ID_SIZE];
    char job_id[FW_ID_SIZE];   /* "" for a filter */
    char status[24];
    char template_id[FW_ID_SIZE];
    char batch_id[FW_ID_SIZE];
    int64_t last_version;      /* of the job (one job) or of any job (filters keep none) */
    int last_attempts;         /* of the job (one job): claims seen so far */
    int saw_queued;            /* of the job (one job): the last status sent was queued */
    fw_watch_snapshot_fn snapshot; /* a batch watcher: sends snapshots, not job events */
    void *snapshot_ctx;
    int dirty;                 /* a job of its batch changed since the last snapshot */
    struct watcher *next;
} watcher;

struct fw_watch_hub {
    pthread_mutex_t lock;
    pthread_t thread;
    int stopping;
    fw_store *store;
    int64_t version;           /* highest version read */
    int64_t last_look_back;    /* ms */
    watcher *watchers;
    size_t count;
    size_t team_limit;         /* streams one team may have open here; 0: no limit */
};

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int matches(const watcher *w, const fw_job_row *row)
{
    if (strcmp(w->team_id, row->team_id) != 0)
        return 0;
    if (w->job_id[0])
        return strcmp(w->job_id, row->id) == 0;
    return (!w->status[0] || strcmp(w->status, row->status) == 0) &&
           (!w->template_id[0] || strcmp(w->template_id, row->template_id) == 0) &&
           (!w->batch_id[0] || strcmp(w->batch_id, row->batch_id) == 0);
}

/* Unlink and free w (already finished). Called with the lock held. */
static void forget(fw_watch_hub *hub, watcher *w)
{
    for (watcher **p = &hub->watchers; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            hub->count--;
            free(w);
            return;
        }
}

/* Send row to w; 1 when w is done (finished and to be forgotten). Lock held. */
static int deliver(watcher *w, const fw_job_row *row, const ProtobufCMessage *event)
{
    int final = fw_service_status_is_final(row->status);
    fw_error err;
    fw_err rc;

    if (w->job_id[0] && row->version <= w->last_version)
        return 0;
    /* A job claimed again between two looks went back to the queue in
     * between: the watcher is told so, as if it had seen it. */
    if (w->job_id[0] && w->last_attempts > 0 && row->attempts > w->last_attempts && !w->saw_queued &&
        strcmp(row->status, "queued") != 0 && !final) {
        fw_job_row queued = *row;
        ProtobufCMessage *again = NULL;
        snprintf(queued.status, sizeof(queued.status), "queued");
        queued.progress = 0;
        queued.stage[0] = '\0';
        queued.worker[0] = '\0';
        if (fw_service_job_event(&queued, &again, &err) == FW_OK) {
            rc = fw_rpc_stream_send(w->stream, again, &err);
            protobuf_c_message_free_unpacked(again, NULL);
            if (rc != FW_OK && rc != FW_ERR_LIMIT) {
                fw_rpc_stream_finish(w->stream, rc, &err);
                return 1;
            }
        }
    }
    if (w->job_id[0] && row->attempts > w->last_attempts)
        w->last_attempts = row->attempts;
    /* A watcher that cannot keep up misses progress events, never the last one. */
    rc = final ? fw_rpc_stream_send_wait(w->stream, event, 2000, &err) : fw_rpc_stream_send(w->stream, event, &err);
    if (rc == FW_ERR_LIMIT && !final)
        return 0;
    if (rc != FW_OK) {
        fw_rpc_stream_finish(w->stream, rc, &err);
        return 1;
    }
    if (w->job_id[0]) {
        w->last_version = row->version;
        w->saw_queued = strcmp(row->status, "queued") == 0;
    }
    if (final && w->job_id[0]) {
        fw_rpc_stream_finish(w->stream, FW_OK, NULL);
        return 1;
    }
    return 0;
}

/* Send each changed row to its watchers. Lock held. */
static void fan_out(fw_watch_hub *hub, fw_job_row *rows, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ProtobufCMessage *event = NULL;
        fw_error err;
        watcher *w = hub->watchers, *next;

        for (; w; w = next) {
            next = w->next;
            if (!matches(w, &rows[i]))
                continue;
            if (w->snapshot) {
                w->dirty = 1;
                continue;
            }
            if (!event && fw_service_job_event(&rows[i], &event, &err) != FW_OK) {
                fw_log(FW_LOG_ERROR, "watch", "%s", err.message);
                break;
            }
            if (deliver(w, &rows[i], event))
                forget(hub, w);
        }
        if (event)
            protobuf_c_message_free_unpacked(event, NULL);
        if (rows[i].version > hub->version)
            hub->version = rows[i].version;
    }
}

/* Send w a snapshot of its batch; 1 when w is done. Lock held. */
static int send_snapshot(watcher *w, fw_store *store)
{
    ProtobufCMessage *msg = NULL;
    int final = 0;
    fw_error err;
    fw_err rc;

    w->dirty = 0;
    if ((rc = w->snapshot(w->snapshot_ctx, store, w->team_id, w->batch_id, &msg, &final, &err)) != FW_OK) {
        fw_log(FW_LOG_WARN, "watch", "batch %s: %s", w->batch_id, err.message);
        return 0; /* tried again at its next change */
    }
    rc = final ? fw_rpc_stream_send_wait(w->stream, msg, 2000, &err) : fw_rpc_stream_send(w->stream, msg, &err);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (rc == FW_ERR_LIMIT && !final) {
        w->dirty = 1; /* it cannot keep up: the next look sends the newer state */
        return 0;
    }
    if (rc != FW_OK) {
        fw_rpc_stream_finish(w->stream, rc, &err);
        return 1;
    }
    if (final)
        fw_rpc_stream_finish(w->stream, FW_OK, NULL);
    return final;
}

/* Snapshots for the batch watchers whose jobs changed. Lock held. */
static void send_snapshots(fw_watch_hub *hub)
{
    watcher *w, *next;
    for (w = hub->watchers; w; w = next) {
        next = w->next;
        if (w->snapshot && w->dirty && send_snapshot(w, hub->store))
            forget(hub, w);
    }
}

static void read_changes(fw_watch_hub *hub, int64_t after)
{
    for (;;) {
        fw_job_row *rows = NULL;
        size_t count = 0;
        fw_error err;

        if (fw_store_job_changes(hub->store, after, 500, &rows, &count, &err) != FW_OK) {
            fw_log(FW_LOG_WARN, "watch", "reading job changes: %s", err.message);
            return;
        }
        pthread_mutex_lock(&hub->lock);
        fan_out(hub, rows, count);
        if (count < 500)
            send_snapshots(hub);
        pthread_mutex_unlock(&hub->lock);
        if (count)
            after = rows[count - 1].version;
        fw_job_rows_free(&rows, count);
        if (count < 500)
            return;
    }
}

static void *hub_thread(void *arg)
{
    fw_watch_hub *hub = arg;

    for (;;) {
        int fd = fw_store_notify_fd(hub->store), idle;
        int64_t now;

        if (fd >= 0) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, POLL_MS) > 0)
                fw_store_drain_notify(hub->store);
        } else {
            struct timespec pause = {0, POLL_QUIET_MS * 1000000L};
            nanosleep(&pause, NULL);
        }
        pthread_mutex_lock(&hub->lock);
        if (hub->stopping) {
            pthread_mutex_unlock(&hub->lock);
            return NULL;
        }
        idle = hub->count == 0;
        if (idle) {
            /* Nobody watches: keep up with the sequence. Under the lock, so
             * that a watcher registering now reads its job after this. */
            int64_t v;
            fw_error err;
            if (fw_store_version(hub->store, &v, &err) == FW_OK)
                hub->version = v;
        }
        pthread_mutex_unlock(&hub->lock);
        if (idle)
            continue;
        now = monotonic_ms();
        if (strcmp(fw_store_kind(hub->store), "postgres") == 0 && now - hub->last_look_back >= 1000) {
            hub->last_look_back = now;
            read_changes(hub, hub->version > LOOK_BACK_VERSIONS ? hub->version - LOOK_BACK_VERSIONS : 0);
        } else {
            read_changes(hub, hub->version);
        }
    }
}

fw_err fw_watch_hub_new(fw_watch_hub **out, const char *store_url, fw_error *err)
{
    fw_watch_hub *hub = calloc(1, sizeof(*hub));
    fw_err rc;

    *out = NULL;
    if (!hub)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    if ((rc = fw_store_open(&hub->store, store_url, err)) || (rc = fw_store_version(hub->store, &hub->version, err))) {
        fw_store_close(&hub->store);
        free(hub);
        return rc;
    }
    pthread_mutex_init(&hub->lock, NULL);
    if (pthread_create(&hub->thread, NULL, hub_thread, hub) != 0) {
        pthread_mutex_destroy(&hub->lock);
        fw_store_close(&hub->store);
        free(hub);
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "cannot start the watch thread");
    }
    *out = hub;
    return FW_OK;
}

void fw_watch_hub_free(fw_watch_hub **hubp)
{
    fw_watch_hub *hub = hubp ? *hubp : NULL;
    fw_error err;

    if (!hub)
        return;
    pthread_mutex_lock(&hub->lock);
    hub->stopping = 1;
    pthread_mutex_unlock(&hub->lock);
    pthread_join(hub->thread, NULL);
    fw_error_set(&err, FW_ERR_UNAVAILABLE, NULL, "the server is stopping");
    while (hub->watchers) {
        watcher *w = hub->watchers;
        hub->watchers = w->next;
        fw_rpc_stream_finish(w->stream, FW_ERR_UNAVAILABLE, &err);
        free(w);
    }
    fw_store_close(&hub->store);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
    *hubp = NULL;
}

static void copy_id(char *dst, const char *src)
{
    snprintf(dst, FW_ID_SIZE, "%s", src ? src : "");
}

void fw_watch_hub_set_team_limit(fw_watch_hub *hub, size_t limit)
{
    pthread_mutex_lock(&hub->lock);
    hub->team_limit = limit;
    pthread_mutex_unlock(&hub->lock);
}

/* Put w among the watchers, unless its team has all the streams it may have. Called with the lock
 * held. */
static fw_err register_locked(fw_watch_hub *hub, watcher *w, fw_error *err)
{
    if (hub->team_limit) {
        size_t open = 0;
        for (watcher *x = hub->watchers; x; x = x->next)
            open += strcmp(x->team_id, w->team_id) == 0;
        if (open >= hub->team_limit)
            return fw_error_quota(err, 5, NULL, "the team has %zu event streams open and may have %zu; close one",
                                  open, hub->team_limit);
    }
    w->next = hub->watchers;
    hub->watchers = w;
    hub->count++;
    return FW_OK;
}

fw_err fw_watch_add(fw_watch_hub *hub, fw_rpc_stream *stream, const char *team_id, const fw_watch_filter *filter,
                    fw_store *store, fw_error *err)
{
    watcher *w = calloc(1, sizeof(*w));
    fw_job_row row;
    fw_err rc;

    if (!w)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    w->stream = stream;
    copy_id(w->team_id, team_id);
    copy_id(w->job_id, filter->job_id);
    snprintf(w->status, sizeof(w->status), "%s", filter->status ? filter->status : "");
    copy_id(w->template_id, filter->template_id);
    copy_id(w->batch_id, filter->batch_id);

    /* Registered before the first read: a change after that read reaches
     * the watcher through the hub, one before it through the read. */
    pthread_mutex_lock(&hub->lock);
    rc = register_locked(hub, w, err);
    pthread_mutex_unlock(&hub->lock);
    if (rc != FW_OK) {
        free(w);
        return rc;
    }
    if (!w->job_id[0])
        return FW_OK;

    memset(&row, 0, sizeof(row));
    rc = fw_store_job_get(store, team_id, filter->job_id, &row, err);
    pthread_mutex_lock(&hub->lock);
    if (rc != FW_OK) {
        /* Not watched after all: the handler's error ends the stream. */
        forget(hub, w);
        pthread_mutex_unlock(&hub->lock);
        fw_job_row_clear(&row);
        return rc;
    }
    {
        ProtobufCMessage *event = NULL;
        fw_error inner;
        int present = 0;
        for (watcher *x = hub->watchers; x; x = x->next)
            present |= x == w;
        /* The client may have gone meanwhile (then fw_watch_gone freed it). */
        if (present && fw_service_job_event(&row, &event, &inner) == FW_OK) {
            if (deliver(w, &row, event))
                forget(hub, w);
        }
        if (event)
            protobuf_c_message_free_unpacked(event, NULL);
    }
    pthread_mutex_unlock(&hub->lock);
    fw_job_row_clear(&row);
    return FW_OK;
}

fw_err fw_watch_add_batch(fw_watch_hub *hub, fw_rpc_stream *stream, const char *team_id, const char *batch_id,
                          fw_watch_snapshot_fn snapshot, void *ctx, fw_store *store, fw_error *err)
{
    watcher *w = calloc(1, sizeof(*w));
    fw_err rc;

    if (!w)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    w->stream = stream;
    copy_id(w->team_id, team_id);
    copy_id(w->batch_id, batch_id);
    w->snapshot = snapshot;
    w->snapshot_ctx = ctx;
    /* Registered before the first snapshot, as in fw_watch_add: a change
     * after it reaches the watcher through the hub. */
    pthread_mutex_lock(&hub->lock);
    if ((rc = register_locked(hub, w, err)) != FW_OK) {
        pthread_mutex_unlock(&hub->lock);
        free(w);
        return rc;
    }
    if (send_snapshot(w, store))
        forget(hub, w);
    pthread_mutex_unlock(&hub->lock);
    return FW_OK;
}

void fw_watch_gone(fw_watch_hub *hub, fw_rpc_stream *stream)
{
    fw_error err;

    pthread_mutex_lock(&hub->lock);
    for (watcher *w = hub->watchers; w; w = w->next)
        if (w->stream == stream) {
            fw_error_set(&err, FW_ERR_CANCELLED, NULL, "the client went away");
            fw_rpc_stream_finish(stream, FW_ERR_CANCELLED, &err);
            forget(hub, w);
            break;
        }
    pthread_mutex_unlock(&hub->lock);
}

size_t fw_watch_count(fw_watch_hub *hub)
{
    size_t n;
    pthread_mutex_lock(&hub->lock);
    n = hub->count;
    pthread_mutex_unlock(&hub->lock);
    return n;
}
