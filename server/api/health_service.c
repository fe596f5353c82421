/*
 * health_service.c - grpc.health.v1.Health and the monitor behind it (see
 * health.h).
 *
 * Locking: h->lock guards the status, the watcher list and the flags. The
 * probes run without it (they may take seconds); only the monitor thread
 * touches h->store. Streams are sent to and finished under the lock, which
 * is safe because fw_rpc_stream_send never blocks.
 */
#include "server/api/health.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/health.pb-c.h"
#include "server/store/store.h"
#include "server/util/log.h"

#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

#define SERVICE_NAME_MAX 128
#define STORAGE_TIMEOUT_S 5

typedef struct watcher {
    fw_rpc_stream *stream;
    int unknown;     /* watches a service we do not have: SERVICE_UNKNOWN, sent once */
    int sent;        /* the status last sent; -1: none yet */
    struct watcher *next;
} watcher;

struct fw_health {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int thread_started;
    int stopping;      /* the monitor should end */
    int shut_down;     /* fw_health_shutdown: NOT_SERVING for good */
    int serving;       /* the last probe's verdict */
    char *store_url;
    fw_store *store;   /* the monitor's own connection; NULL until it opens */
    fw_storage *storage;
    int64_t interval_ms;
    char (*services)[SERVICE_NAME_MAX];
    size_t service_count;
    watcher *watchers;
};

/* ---- probing --------------------------------------------------------------------------------- */

/* 1 when the store and the storage answer; else 0 and why in reason. */
static int probe(fw_health *h, char *reason, size_t size)
{
    char text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4];
    int64_t version;
    fw_error err;

    fw_error_clear(&err);
    if (!h->store && fw_store_open(&h->store, h->store_url, &err) != FW_OK) {
        snprintf(reason, size, "the job store does not answer: %s", fw_error_text(&err, text, sizeof(text)));
        return 0;
    }
    /* The version is one indexed row: a real read of the jobs' data that
     * costs next to nothing on either backend. A lost PostgreSQL connection
     * is reset by the next call. */
    if (fw_store_version(h->store, &version, &err) != FW_OK) {
        snprintf(reason, size, "the job store does not answer: %s", fw_error_text(&err, text, sizeof(text)));
        return 0;
    }
    if (fw_storage_check(h->storage, STORAGE_TIMEOUT_S, &err) != FW_OK) {
        snprintf(reason, size, "the storage does not answer: %s", fw_error_text(&err, text, sizeof(text)));
        return 0;
    }
    return 1;
}

static int current_status(const fw_health *h)
{
    return h->serving && !h->shut_down ? SERVING : NOT_SERVING;
}

/* Send w the status if it has not seen it; 1 when w is done (finished and to
 * be forgotten). A full queue is tried again at the next probe. Lock held. */
static int tell(watcher *w, int status)
{
    Grpc__Health__V1__HealthCheckResponse msg = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    fw_error err;
    fw_err rc;

    if (w->unknown)
        status = SERVICE_UNKNOWN;
    if (w->sent == status)
        return 0;
    msg.status = status;
    fw_error_clear(&err);
    rc = fw_rpc_stream_send(w->stream, &msg.base, &err);
    if (rc == FW_ERR_LIMIT)
        return 0;
    if (rc != FW_OK) {
        fw_rpc_stream_finish(w->stream, rc, &err);
        return 1;
    }
    w->sent = status;
    return 0;
}

/* Tell every watcher the current status. Lock held. */
static void tell_all(fw_health *h)
{
    int status = current_status(h);
    for (watcher **p = &h->watchers; *p;) {
        watcher *w = *p;
        if (tell(w, status)) {
            *p = w->next;
            free(w);
        } else {
            p = &w->next;
        }
    }
}

static void record(fw_health *h, int serving, const char *reason)
{
    pthread_mutex_lock(&h->lock);
    if (serving != h->serving) {
        if (serving)
            fw_log(FW_LOG_INFO, "health", "serving again: the job store and the storage answer");
        else
            fw_log(FW_LOG_WARN, "health", "not serving: %s", reason);
    }
    h->serving = serving;
    tell_all(h);
    pthread_mutex_unlock(&h->lock);
}

static void *monitor(void *arg)
{
    fw_health *h = arg;
    char reason[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 64];

    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        struct timespec until;
        int serving;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += h->interval_ms / 1000;
        until.tv_nsec += (h->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->wake, &h->lock, &until);
        if (h->stopping)
            break;
        pthread_mutex_unlock(&h->lock);
        serving = probe(h, reason, sizeof(reason));
        record(h, serving, reason);
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* ---- the services this server has -------------------------------------------------------------- */

/* "" and "pkg.Service" of every "/pkg.Service/Method" in the table, once each. */
static fw_err collect_services(fw_health *h, const fw_rpc_method *methods, size_t count, fw_error *err)
{
    if (!(h->services = calloc(count + 1, sizeof(*h->services))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    h->service_count = 1; /* services[0] is "": the server as a whole */
    for (size_t i = 0; i < count; i++) {
        const char *path = methods[i].path, *slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
        size_t n = slash ? (size_t)(slash - path - 1) : 0, j;
        if (n == 0 || n >= SERVICE_NAME_MAX)
            continue;
        for (j = 1; j < h->service_count; j++)
            if (strlen(h->services[j]) == n && memcmp(h->services[j], path + 1, n) == 0)
                break;
        if (j == h->service_count)
            memcpy(h->services[h->service_count++], path + 1, n);
    }
    return FW_OK;
}

static int known_service(const fw_health *h, const char *name)
{
    for (size_t i = 0; i < h->service_count; i++)
        if (strcmp(h->services[i], name ? name : "") == 0)
            return 1;
    return 0;
}

/* ---- Check and Watch --------------------------------------------------------------------------- */

static fw_err check(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Grpc__Health__V1__HealthCheckRequest *r = (const Grpc__Health__V1__HealthCheckRequest *)req;
    fw_health *h = fw_rpc_call_context(call);
    Grpc__Health__V1__HealthCheckResponse *out;

    if (!known_service(h, r->service))
        return fw_error_set(err, FW_ERR_NOT_FOUND, "service", "this server has no service '%.100s'", r->service);
    if (!(out = fw_rpc_alloc(call, sizeof(*out))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    grpc__health__v1__health_check_response__init(out);
    pthread_mutex_lock(&h->lock);
    out->status = current_status(h);
    pthread_mutex_unlock(&h->lock);
    *resp = &out->base;
    return FW_OK;
}

static fw_err watch(fw_rpc_call *call, const ProtobufCMessage *req, fw_rpc_stream *stream, fw_error *err)
{
    const Grpc__Health__V1__HealthCheckRequest *r = (const Grpc__Health__V1__HealthCheckRequest *)req;
    fw_health *h = fw_rpc_call_context(call);
    watcher *w = calloc(1, sizeof(*w));

    if (!w)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    w->stream = stream;
    w->unknown = !known_service(h, r->service);
    w->sent = -1;
    pthread_mutex_lock(&h->lock);
    if (tell(w, current_status(h))) {
        /* The client is already gone: tell() finished the stream. */
        pthread_mutex_unlock(&h->lock);
        free(w);
        return FW_OK;
    }
    w->next = h->watchers;
    h->watchers = w;
    pthread_mutex_unlock(&h->lock);
    return FW_OK;
}

static void watch_gone(fw_rpc_stream *stream, void *ctx)
{
    fw_health *h = ctx;
    fw_error err;

    pthread_mutex_lock(&h->lock);
    for (watcher **p = &h->watchers; *p; p = &(*p)->next) {
        watcher *w = *p;
        if (w->stream != stream)
            continue;
        *p = w->next;
        fw_error_set(&err, FW_ERR_CANCELLED, NULL, "the client went away");
        fw_rpc_stream_finish(stream, FW_ERR_CANCELLED, &err);
        free(w);
        break;
    }
    pthread_mutex_unlock(&h->lock);
}

fw_err fw_health_register(fw_rpc_server *srv, fw_health *h, fw_error *err)
{
    fw_err rc = fw_rpc_server_on_unary(srv, "/grpc.health.v1.Health/Check", check, h, err);
    if (rc == FW_OK)
        rc = fw_rpc_server_on_server_stream(srv, "/grpc.health.v1.Health/Watch", watch, watch_gone, h, err);
    return rc;
}

/* ---- life ------------------------------------------------------------------------------------------ */

fw_err fw_health_new(fw_health **out, const fw_health_options *opts, fw_error *err)
{
    char reason[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 64];
    fw_health *h = calloc(1, sizeof(*h));
    fw_err rc;

    *out = NULL;
    if (!h)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    h->storage = opts->storage;
    h->interval_ms = opts->interval_ms > 0 ? opts->interval_ms : 1000;
    if (!(h->store_url = strdup(opts->store_url ? opts->store_url : ""))) {
        fw_health_free(&h);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    if ((rc = collect_services(h, opts->methods, opts->method_count, err)) != FW_OK) {
        fw_health_free(&h);
        return rc;
    }
    h->serving = probe(h, reason, sizeof(reason));
    if (!h->serving)
        fw_log(FW_LOG_WARN, "health", "not serving: %s", reason);
    if (pthread_create(&h->thread, NULL, monitor, h) != 0) {
        fw_health_free(&h);
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "cannot start the health monitor thread");
    }
    h->thread_started = 1;
    *out = h;
    return FW_OK;
}

int fw_health_serving(fw_health *h)
{
    int serving;
    pthread_mutex_lock(&h->lock);
    serving = current_status(h) == SERVING;
    pthread_mutex_unlock(&h->lock);
    return serving;
}

void fw_health_shutdown(fw_health *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->shut_down = 1;
    tell_all(h);
    pthread_mutex_unlock(&h->lock);
}

void fw_health_free(fw_health **hp)
{
    fw_health *h = hp ? *hp : NULL;
    fw_error err;

    if (!h)
        return;
    *hp = NULL;
    if (h->thread_started) {
        pthread_mutex_lock(&h->lock);
        h->stopping = 1;
        pthread_cond_signal(&h->wake);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->thread, NULL);
    }
    fw_error_set(&err, FW_ERR_UNAVAILABLE, NULL, "the server is stopping");
    while (h->watchers) {
        watcher *w = h->watchers;
        h->watchers = w->next;
        fw_rpc_stream_finish(w->stream, FW_ERR_UNAVAILABLE, &err);
        free(w);
    }
    fw_store_close(&h->store);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    free(h->services);
    free(h->store_url);
    free(h);
}
