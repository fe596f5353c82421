/*
 * webhook_service.c - JobService.ListWebhookDeliveries: what the job's
 * webhook was sent and how each call went, so a user can see why a
 * callback never arrived without reading the server's log.
 */
#include <string.h>

#include "proto/job.pb-c.h"
#include "server/api/service.h"
#include "server/util/clock.h"

static void set_time(json_t *obj, const char *key, int64_t ms)
{
    char text[FW_TIME_TEXT_SIZE];
    if (ms > 0)
        json_object_set_new(obj, key, json_string(fw_format_time(ms, text)));
}

static json_t *delivery_json(const fw_webhook_delivery *d)
{
    json_t *out = json_object(), *attempts = json_array();

    json_object_set_new(out, "id", json_string(d->id));
    json_object_set_new(out, "event", json_string(d->event));
    json_object_set_new(out, "status", json_string(d->status));
    for (size_t i = 0; i < d->attempt_count; i++) {
        const fw_webhook_attempt *a = &d->attempt_log[i];
        json_t *one = json_object();
        json_object_set_new(one, "attempt", json_integer(a->attempt));
        set_time(one, "startedAt", a->started_at);
        json_object_set_new(one, "httpStatus", json_integer(a->http_status));
        if (a->error)
            json_object_set_new(one, "error", json_string(a->error));
        json_object_set_new(one, "durationMs", json_integer(a->duration_ms));
        json_array_append_new(attempts, one);
    }
    json_object_set_new(out, "attempts", attempts);
    set_time(out, "createdAt", d->created_at);
    if (strcmp(d->status, FW_DELIVERY_PENDING) == 0)
        set_time(out, "nextAttemptAt", d->next_attempt_at);
    set_time(out, "deliveredAt", d->delivered_at);
    if (d->last_error)
        json_object_set_new(out, "lastError", json_string(d->last_error));
    return out;
}

static fw_err list_deliveries(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                              fw_error *err)
{
    const Framewright__V1__GetJobRequest *r = (const Framewright__V1__GetJobRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    fw_webhook_delivery *list = NULL;
    char team[FW_ID_SIZE];
    size_t count = 0;
    fw_store *store;
    fw_job_row row;
    fw_err rc;

    if (!r->id || !*r->id)
        return fw_error_set(err, FW_ERR_INVALID, "id", "is required");
    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    memset(&row, 0, sizeof(row));
    /* The job first, so that another team's job id is "not found" too. */
    rc = fw_store_job_get(store, team, r->id, &row, err);
    if (rc == FW_ERR_NOT_FOUND)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no job '%s'", r->id);
    if (rc == FW_OK)
        rc = fw_store_outbox_list(store, team, r->id, &list, &count, err);
    if (rc == FW_OK) {
        json_t *out = json_object(), *deliveries = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(deliveries, delivery_json(&list[i]));
        json_object_set_new(out, "deliveries", deliveries);
        rc = fw_service_answer(call, &framewright__v1__webhook_deliveries__descriptor, out, resp, err);
    }
    fw_webhook_deliveries_free(&list, count);
    fw_job_row_clear(&row);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

fw_err fw_webhook_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err)
{
    return fw_rpc_server_on_unary(srv, "/framewright.v1.JobService/ListWebhookDeliveries", list_deliveries, svc,
                                  err);
}
