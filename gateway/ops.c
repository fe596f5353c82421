/*
 * ops.c - /healthz, /readyz and /metrics (see ops.h).
 *
 * The metric names are fixed here, in one table of help texts, so that what
 * dashboards and alerts rely on is seen at a glance:
 *
 *   framewright_jobs{status}                    gauge      jobs in the store by status
 *   framewright_queue_depth                     gauge      jobs queued now
 *   framewright_queue_oldest_age_seconds        gauge      the longest wait in the queue
 *   framewright_render_fps                      gauge      frame rate of the recent renders
 *   framewright_render_fps_renders              gauge      how many renders that rate is over
 *   framewright_render_duration_seconds         histogram  finished renders' durations
 *   framewright_webhook_deliveries_total        counter    deliveries the receiver accepted
 *   framewright_webhook_failures_total          counter    deliveries given up
 *   framewright_webhook_failed_attempts_total   counter    calls that failed, retried or not
 *   framewright_store_query_duration_seconds    histogram  the API's store statements
 */
#include "gateway/ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/health.pb-c.h"

#define HEALTH_TIMEOUT_MS 3000
#define METRICS_TIMEOUT_MS 10000
#define PROMETHEUS_TYPE "text/plain; version=0.0.4; charset=utf-8"

fw_ops_endpoint fw_gateway_ops_endpoint(const char *path)
{
    if (!path)
        return FW_OPS_NONE;
    if (strcmp(path, "/healthz") == 0)
        return FW_OPS_HEALTHZ;
    if (strcmp(path, "/readyz") == 0)
        return FW_OPS_READYZ;
    if (strcmp(path, "/metrics") == 0)
        return FW_OPS_METRICS;
    return FW_OPS_NONE;
}

/* ---- Prometheus text ----------------------------------------------------------------------- */

typedef struct text {
    char *data;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->failed)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->data && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        {
            size_t cap = t->cap ? t->cap : 4096;
            char *bigger;
            while (cap - t->len <= (size_t)n)
                cap *= 2;
            if (!(bigger = realloc(t->data, cap))) {
                t->failed = 1;
                return;
            }
            t->data = bigger;
            t->cap = cap;
        }
    }
}

static void header(text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newlines escaped, as the format asks. */
static void put_label_value(text *t, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\')
            put(t, "\\\\");
        else if (*v == '"')
            put(t, "\\\"");
        else if (*v == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *v);
    }
}

static void gauge(text *t, const char *name, const char *help, double value)
{
    header(t, name, "gauge", help);
    put(t, "%s %.10g\n", name, value);
}

static void counter(text *t, const char *name, const char *help, long long value)
{
    header(t, name, "counter", help);
    put(t, "%s %lld\n", name, value);
}

static void histogram(text *t, const char *name, const char *help, const Framewright__V1__Histogram *h)
{
    size_t n = h ? (h->n_bounds < h->n_counts ? h->n_bounds : h->n_counts) : 0;

    header(t, name, "histogram", help);
    for (size_t i = 0; i < n; i++)
        put(t, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)h->counts[i]);
    put(t, "%s_bucket{le=\"+Inf\"} %llu\n", name, h ? (unsigned long long)h->count : 0ull);
    put(t, "%s_sum %.10g\n", name, h ? h->sum : 0.0);
    put(t, "%s_count %llu\n", name, h ? (unsigned long long)h->count : 0ull);
}

char *fw_gateway_metrics_text(const Framewright__V1__Metrics *m)
{
    text t = {0};

    header(&t, "framewright_jobs", "gauge", "Jobs in the store by status, summed over every team.");
    for (size_t i = 0; i < m->n_jobs; i++) {
        put(&t, "framewright_jobs{status=\"");
        put_label_value(&t, m->jobs[i]->status);
        put(&t, "\"} %lld\n", (long long)m->jobs[i]->count);
    }
    gauge(&t, "framewright_queue_depth", "Jobs queued and waiting for a worker.", (double)m->queue_depth);
    gauge(&t, "framewright_queue_oldest_age_seconds",
          "Seconds the longest-waiting queued job has waited (0 when the queue is empty).",
          m->oldest_queued_seconds);
    gauge(&t, "framewright_render_fps",
          "Frames per second of the recent finished renders: their frames over their render time (0 when none).",
          m->recent_render_fps);
    gauge(&t, "framewright_render_fps_renders", "How many recent renders framewright_render_fps is taken over.",
          (double)m->recent_renders);
    histogram(&t, "framewright_render_duration_seconds", "Render time of every finished job, in seconds.",
              m->render_duration_seconds);
    counter(&t, "framewright_webhook_deliveries_total", "Webhook deliveries the receiver accepted.",
            (long long)m->webhook_deliveries);
    counter(&t, "framewright_webhook_failures_total", "Webhook deliveries given up after their last retry.",
            (long long)m->webhook_failures);
    counter(&t, "framewright_webhook_failed_attempts_total", "Webhook calls that failed, whether retried or not.",
            (long long)m->webhook_failed_attempts);
    histogram(&t, "framewright_store_query_duration_seconds",
              "Duration of the API's job store statements since the server started, in seconds.",
              m->store_query_seconds);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    return t.data;
}

/* ---- answers ------------------------------------------------------------------------------- */

static char *json_text(const char *status, const char *reason)
{
    json_t *o = json_pack("{s:s}", "status", status);
    char *out;
    if (o && reason)
        json_object_set_new(o, "reason", json_string(reason));
    out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return out;
}

static void answer_json(fw_ops_answer *out, unsigned status, const char *word, const char *reason)
{
    out->status = status;
    out->body = json_text(word, reason);
    out->type = "application/json";
}

static void readyz(fw_rpc_client *rpc, fw_ops_answer *out)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    fw_rpc_call_options o = {.timeout_ms = HEALTH_TIMEOUT_MS};
    ProtobufCMessage *resp = NULL;
    char reason[160];
    fw_error err;
    int status;

    fw_error_clear(&err);
    if (fw_rpc_client_unary(rpc, "/grpc.health.v1.Health/Check", &req.base,
                            &grpc__health__v1__health_check_response__descriptor, &o, &resp, &err) != FW_OK) {
        /* The client's own message names addresses; the code is enough here. */
        snprintf(reason, sizeof(reason), "the gRPC server does not answer its health check (%s)",
                 fw_strerror(err.code));
        answer_json(out, 503, "not ready", reason);
        return;
    }
    status = ((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING) {
        answer_json(out, 200, "ready", NULL);
        return;
    }
    snprintf(reason, sizeof(reason), "the gRPC server's health check says %s (its log says why)",
             status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING ? "NOT_SERVING"
                                                                                           : "UNKNOWN");
    answer_json(out, 503, "not ready", reason);
}

static void metrics(fw_rpc_client *rpc, const char *authorization, fw_ops_answer *out)
{
    Framewright__V1__GetMetricsRequest req = FRAMEWRIGHT__V1__GET_METRICS_REQUEST__INIT;
    fw_rpc_call_options o = {.timeout_ms = METRICS_TIMEOUT_MS};
    const char *md[3] = {"authorization", authorization, NULL};
    ProtobufCMessage *resp = NULL;
    fw_error err;
    fw_err rc;

    fw_error_clear(&err);
    if (authorization)
        o.metadata = md;
    rc = fw_rpc_client_unary(rpc, "/framewright.v1.OpsService/GetMetrics", &req.base,
                             &framewright__v1__metrics__descriptor, &o, &resp, &err);
    if (rc == FW_ERR_UNAUTHENTICATED) {
        answer_json(out, 401, "unauthenticated", "/metrics needs the operator's token: Authorization: Bearer ...");
        out->header = "WWW-Authenticate";
        out->value = "Bearer";
        return;
    }
    if (rc != FW_OK) {
        char reason[160];
        snprintf(reason, sizeof(reason), "the gRPC server did not give its metrics (%s)", fw_strerror(rc));
        answer_json(out, 503, "unavailable", reason);
        return;
    }
    out->status = 200;
    out->type = PROMETHEUS_TYPE;
    out->body = fw_gateway_metrics_text((const Framewright__V1__Metrics *)resp);
    protobuf_c_message_free_unpacked(resp, NULL);
}

void fw_gateway_ops_answer(fw_rpc_client *rpc, fw_ops_endpoint e, const char *authorization, fw_ops_answer *out)
{
    memset(out, 0, sizeof(*out));
    switch (e) {
    case FW_OPS_HEALTHZ:
        answer_json(out, 200, "ok", NULL);
        return;
    case FW_OPS_READYZ:
        readyz(rpc, out);
        return;
    case FW_OPS_METRICS:
        metrics(rpc, authorization, out);
        return;
    case FW_OPS_NONE:
        break;
    }
    answer_json(out, 404, "no such endpoint", NULL);
}
