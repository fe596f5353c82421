/*
 * ops_service.c - framewright.v1.OpsService.GetMetrics: the figures an
 * operator watches, as a message (proto/ops.proto).
 *
 * Why a message and not Prometheus text: the server says what the numbers
 * are, the REST gateway says how monitoring wants them written (GET
 * /metrics, text format 0.0.4), the same split as JSON for /api/v2. Another
 * format or another client needs no change here.
 *
 * Where the numbers come from: everything about jobs and webhooks is read
 * from the store (fw_store_figures_read), so it covers the whole farm -
 * workers on other machines included - and survives restarts; only the
 * store's statement latency is this process's own, measured on the API's
 * connections since it started.
 *
 * Access: no API key (the figures are sums over every team and name no
 * team, template or job); when FRAMEWRIGHT_METRICS_TOKEN is set, the call
 * must carry `authorization: Bearer <that token>`.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "proto/ops.pb-c.h"
#include "server/api/auth.h"
#include "server/api/service.h"

/* Seconds: a preview takes well under one, a long 1080p film many minutes. */
static const double render_bounds[] = {0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800};
/* Seconds: an indexed read is under a millisecond; a busy SQLite writer waits. */
static const double store_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

fw_err fw_service_metrics_init(fw_service *svc, fw_error *err)
{
    fw_err rc = fw_histogram_new(&svc->store_latency, store_bounds, COUNT(store_bounds), err);
    if (rc == FW_OK)
        fw_store_pool_set_timing(svc->stores, fw_histogram_add_to, svc->store_latency);
    return rc;
}

/* The token compared by its hash, so the time taken says nothing of it. */
static fw_err check_token(fw_rpc_call *call, const char *want, fw_error *err)
{
    const char *got = fw_rpc_call_bearer_token(call);
    char a[FW_KEY_HASH_SIZE], b[FW_KEY_HASH_SIZE];

    if (!want || !*want)
        return FW_OK;
    if (!got)
        return fw_error_set(err, FW_ERR_UNAUTHENTICATED, "authorization",
                            "the metrics need the operator's token (authorization: Bearer ...)");
    fw_auth_key_hash(got, a);
    fw_auth_key_hash(want, b);
    if (CRYPTO_memcmp(a, b, sizeof(a)) != 0)
        return fw_error_set(err, FW_ERR_UNAUTHENTICATED, "authorization", "not the metrics token");
    return FW_OK;
}

/* A Histogram message in the call's arena. */
static Framewright__V1__Histogram *histogram(fw_rpc_call *call, const double *bounds, const uint64_t *counts,
                                             size_t n, uint64_t count, double sum)
{
    Framewright__V1__Histogram *h = fw_rpc_alloc(call, sizeof(*h));
    double *b = fw_rpc_alloc(call, n * sizeof(*b) + 1);
    uint64_t *c = fw_rpc_alloc(call, n * sizeof(*c) + 1);

    if (!h || !b || !c)
        return NULL;
    framewright__v1__histogram__init(h);
    memcpy(b, bounds, n * sizeof(*b));
    memcpy(c, counts, n * sizeof(*c));
    h->n_bounds = h->n_counts = n;
    h->bounds = b;
    h->counts = c;
    h->count = count;
    h->sum = sum;
    return h;
}

static fw_err fill(fw_rpc_call *call, fw_service *svc, const fw_store_figures *f, Framewright__V1__Metrics *m,
                   fw_error *err)
{
    Framewright__V1__JobStatusCount *rows = fw_rpc_alloc(call, 6 * sizeof(*rows));
    Framewright__V1__JobStatusCount **list = fw_rpc_alloc(call, 6 * sizeof(*list));
    uint64_t render_counts[COUNT(render_bounds)];
    int64_t now = fw_store_now();

    if (!rows || !list)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; i < 6; i++) {
        framewright__v1__job_status_count__init(&rows[i]);
        rows[i].status = (char *)fw_store_statuses[i];
        rows[i].count = f->by_status[i];
        list[i] = &rows[i];
    }
    m->n_jobs = 6;
    m->jobs = list;
    m->queue_depth = f->queued;
    m->oldest_queued_seconds = f->oldest_queued_at > 0 && now > f->oldest_queued_at
                                   ? (double)(now - f->oldest_queued_at) / 1000.0
                                   : 0;
    m->recent_renders = f->recent_renders;
    m->recent_render_fps = f->recent_seconds > 0 ? (double)f->recent_frames / f->recent_seconds : 0;
    for (size_t i = 0; i < COUNT(render_bounds); i++)
        render_counts[i] = (uint64_t)f->render_counts[i];
    m->render_duration_seconds = histogram(call, render_bounds, render_counts, COUNT(render_bounds),
                                           (uint64_t)f->render_count, f->render_seconds);
    m->webhook_deliveries = f->webhooks_delivered;
    m->webhook_failures = f->webhooks_failed;
    m->webhook_failed_attempts = f->webhook_attempts_failed;
    if (svc->store_latency) {
        fw_histogram_snapshot s;
        fw_histogram_read(svc->store_latency, &s);
        m->store_query_seconds = histogram(call, s.bounds, s.counts, s.bound_count, s.count, s.sum);
        if (!m->store_query_seconds)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    if (!m->render_duration_seconds)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    return FW_OK;
}

static fw_err get_metrics(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    fw_service *svc = fw_rpc_call_context(call);
    Framewright__V1__Metrics *m;
    fw_store_figures figures;
    fw_store *store = NULL;
    fw_err rc;

    (void)req;
    if ((rc = check_token(call, svc->config.metrics_token, err)) != FW_OK)
        return rc;
    if ((rc = fw_store_pool_get(svc->stores, &store, err)) != FW_OK)
        return rc;
    rc = fw_store_figures_read(store, render_bounds, COUNT(render_bounds), &figures, err);
    fw_store_pool_put(svc->stores, store);
    if (rc != FW_OK)
        return rc;
    if (!(m = fw_rpc_alloc(call, sizeof(*m))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    framewright__v1__metrics__init(m);
    if ((rc = fill(call, svc, &figures, m, err)) != FW_OK)
        return rc;
    *resp = &m->base;
    return FW_OK;
}

fw_err fw_ops_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err)
{
    return fw_rpc_server_on_unary(srv, "/framewright.v1.OpsService/GetMetrics", get_metrics, svc, err);
}
