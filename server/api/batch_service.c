/*
 * batch_service.c - framewright.v1.BatchService: up to 1000 jobs in one call,
 * tracked and cancelled as a unit.
 *
 * CreateBatch checks each job exactly as CreateJob does (fw_service_prepare_
 * job) and keeps going past a bad one: the answer says, per index, either the
 * new job or why it was refused. The accepted jobs, their child jobs and the
 * batch row are then written in one transaction, so a batch is never half
 * stored. GetBatch and WatchBatch report the batch's own jobs (children are
 * their parents' business) with counts per status and an overall status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/batch.pb-c.h"
#include "server/api/rpc_status.h"
#include "server/api/service.h"
#include "server/api/watch.h"
#include "server/util/clock.h"
#include "server/util/id.h"

#define MAX_BATCH 1000

/* gRPC's names of its status codes, indexed by code. */
static const char *code_name(fw_err code)
{
    static const char *const names[] = {
        "OK",        "CANCELLED",         "UNKNOWN",   "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
        "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    };
    int status = fw_rpc_status_from_err(code);
    return status >= 0 && status < (int)(sizeof(names) / sizeof(names[0])) ? names[status] : "UNKNOWN";
}

/* The refusal of jobs[index]: text, code and the field it is about. */
static json_t *job_error(int index, const fw_error *e)
{
    char text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4];
    json_t *out = json_object(), *details = json_array(), *detail = json_object();

    json_object_set_new(out, "index", json_integer(index));
    json_object_set_new(out, "error", json_string(fw_error_text(e, text, sizeof(text))));
    json_object_set_new(out, "code", json_string(code_name(e->code)));
    json_object_set_new(detail, "field", json_string(e->field));
    json_object_set_new(detail, "message", json_string(e->message));
    json_array_append_new(details, detail);
    json_object_set_new(out, "details", details);
    return out;
}

/* What an accepted job is: its row (the first of its rows) and children. */
static json_t *job_result(int index, const fw_prepared *p, size_t row)
{
    const fw_job_row *j = &p->rows[row];
    json_t *out = json_object();

    json_object_set_new(out, "index", json_integer(index));
    json_object_set_new(out, "id", json_string(j->id));
    json_object_set_new(out, "status", json_string(j->status));
    if (j->output_url)
        json_object_set_new(out, "outputUrl", json_string(j->output_url));
    json_object_set_new(out, "children", fw_prepared_children(p, row));
    fw_service_font_report(j->missing_fonts_json, out);
    return out;
}

static fw_err create_batch(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__BatchRequest *r = (const Framewright__V1__BatchRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    fw_batch_row batch;
    fw_prepared p = {0};
    size_t *first = NULL; /* per job: the index of its row in p, or SIZE_MAX */
    json_t *out = NULL, *jobs, *errors, *replay = NULL;
    const fw_idempotency *row = NULL;
    fw_service_idem idem = {0};
    char team[FW_ID_SIZE];
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if ((rc = fw_service_idem_begin(call, store, team, "CreateBatch", req, &idem, &replay, err)))
        goto done;
    if (replay) {
        out = replay; /* the first call's answer; nothing is written */
        rc = fw_service_answer(call, &framewright__v1__batch_created__descriptor, json_incref(out), resp, err);
        goto done;
    }
    if (r->n_jobs == 0 || r->n_jobs > MAX_BATCH) {
        rc = fw_error_set(err, FW_ERR_INVALID, "jobs", "a batch has 1 to %d jobs, not %zu", MAX_BATCH, r->n_jobs);
        goto done;
    }
    if (!(first = calloc(r->n_jobs, sizeof(*first)))) {
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
        goto done;
    }
    memset(&batch, 0, sizeof(batch));
    fw_id_new(batch.id);
    snprintf(batch.team_id, sizeof(batch.team_id), "%s", team);
    batch.total = (int)r->n_jobs;
    batch.created_at = fw_now_ms();

    out = json_object();
    jobs = json_array();
    errors = json_array();
    json_object_set_new(out, "jobs", jobs);
    json_object_set_new(out, "errors", errors);
    for (size_t i = 0; i < r->n_jobs; i++) {
        fw_error one;
        size_t before = p.count;
        fw_error_clear(&one);
        first[i] = SIZE_MAX;
        if (fw_service_prepare_job(svc, store, team, &r->jobs[i]->base, batch.id, &p, &one) == FW_OK) {
            first[i] = before;
            batch.created++;
        } else if (one.code == FW_ERR_NOMEM || one.code == FW_ERR_INTERNAL || one.code == FW_ERR_UNAVAILABLE) {
            /* Not this job's fault: the whole call fails rather than lie. */
            *err = one;
            rc = one.code;
            goto done;
        } else {
            batch.failed++;
            json_array_append_new(errors, job_error((int)i, &one));
        }
    }
    for (size_t i = 0; i < r->n_jobs; i++)
        if (first[i] != SIZE_MAX)
            json_array_append_new(jobs, job_result((int)i, &p, first[i]));
    json_object_set_new(out, "batchId", json_string(batch.id));
    json_object_set_new(out, "status",
                        json_string(batch.failed == 0 ? "created" : batch.created == 0 ? "error" : "partial"));
    json_object_set_new(out, "total", json_integer(batch.total));
    json_object_set_new(out, "created", json_integer(batch.created));
    json_object_set_new(out, "failed", json_integer(batch.failed));
    if (idem.on && !(row = fw_service_idem_row(&idem, out))) {
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
        goto done;
    }
    if (p.count && (rc = fw_service_check_quota(svc, store, team, p.count, err)))
        goto done;
    rc = fw_store_batch_insert(store, &batch, p.rows, p.count, row, err);
    if ((rc = fw_service_idem_lost(store, team, &idem, rc, &replay, err)) != FW_OK)
        goto done;
    if (replay) {
        json_decref(out);
        out = replay;
    }
    rc = fw_service_answer(call, &framewright__v1__batch_created__descriptor, json_incref(out), resp, err);
done:
    fw_service_idem_clear(&idem);
    json_decref(out);
    free(first);
    fw_prepared_clear(&p);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

/* The batch's state in the API's form; *final when every job has ended. */
static fw_err batch_json(fw_store *store, const char *team, const char *id, json_t **out, int *final, fw_error *err)
{
    fw_batch_row batch;
    fw_job_row *rows = NULL;
    size_t count = 0;
    int queued = 0, running = 0, finished = 0, failed = 0, cancelled = 0;
    json_t *counts, *jobs;
    const char *status;
    fw_err rc;

    *out = NULL;
    if ((rc = fw_store_batch_get(store, team, id, &batch, err)) ||
        (rc = fw_store_batch_jobs(store, team, id, &rows, &count, err))) {
        if (rc == FW_ERR_NOT_FOUND)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no batch '%s'", id);
        return rc;
    }
    counts = json_object();
    jobs = json_array();
    for (size_t i = 0; i < count; i++) {
        const char *s = rows[i].status;
        json_t *n = json_object_get(counts, s);
        json_object_set_new(counts, s, json_integer(n ? json_integer_value(n) + 1 : 1));
        json_array_append_new(jobs, fw_service_job_json(&rows[i], NULL));
        if (!strcmp(s, FW_STATUS_QUEUED) || !strcmp(s, FW_STATUS_PENDING))
            queued++;
        else if (!strcmp(s, FW_STATUS_RENDERING))
            running++;
        else if (!strcmp(s, FW_STATUS_FINISHED))
            finished++;
        else if (!strcmp(s, FW_STATUS_ERROR))
            failed++;
        else
            cancelled++;
    }
    /* queued: nothing has started; rendering: some have, some have not
     * ended; then finished, error or cancelled when all ended alike, partial
     * when they ended differently. A batch of no jobs (all refused) is error. */
    if (count == 0)
        status = "error";
    else if (queued + running > 0)
        status = running == 0 && (size_t)queued == count ? "queued" : "rendering";
    else if ((size_t)finished == count)
        status = "finished";
    else if ((size_t)failed == count)
        status = "error";
    else if ((size_t)cancelled == count)
        status = "cancelled";
    else
        status = "partial";
    *final = queued + running == 0;
    *out = json_object();
    json_object_set_new(*out, "id", json_string(batch.id));
    json_object_set_new(*out, "status", json_string(status));
    json_object_set_new(*out, "total", json_integer((json_int_t)count));
    json_object_set_new(*out, "counts", counts);
    json_object_set_new(*out, "jobs", jobs);
    fw_job_rows_free(&rows, count);
    return FW_OK;
}

static fw_err batch_message(void *ctx, fw_store *store, const char *team, const char *id, ProtobufCMessage **out,
                            int *final, fw_error *err)
{
    json_t *json = NULL;
    fw_err rc;

    (void)ctx;
    if ((rc = batch_json(store, team, id, &json, final, err)) == FW_OK)
        rc = fw_service_message(&framewright__v1__batch__descriptor, json, out, err);
    json_decref(json);
    return rc;
}

static fw_err get_batch(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__GetBatchRequest *r = (const Framewright__V1__GetBatchRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE];
    fw_store *store;
    int final;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if ((rc = batch_message(NULL, store, team, r->id, resp, &final, err)) == FW_OK)
        rc = fw_service_defer_free(call, *resp, err);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err cancel_batch(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__GetBatchRequest *r = (const Framewright__V1__GetBatchRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE];
    int cancelled = 0, not_cancelled = 0;
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    rc = fw_store_batch_cancel(store, team, r->id, &cancelled, &not_cancelled, err);
    if (rc == FW_ERR_NOT_FOUND)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no batch '%s'", r->id);
    if (rc == FW_OK) {
        json_t *out = json_object();
        json_object_set_new(out, "cancelled", json_integer(cancelled));
        json_object_set_new(out, "notCancelled", json_integer(not_cancelled));
        rc = fw_service_answer(call, &framewright__v1__cancel_batch_response__descriptor, out, resp, err);
    }
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err watch_batch(fw_rpc_call *call, const ProtobufCMessage *req, fw_rpc_stream *stream, fw_error *err)
{
    const Framewright__V1__GetBatchRequest *r = (const Framewright__V1__GetBatchRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    fw_batch_row batch;
    char team[FW_ID_SIZE];
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if (!r->id || !*r->id)
        rc = fw_error_set(err, FW_ERR_INVALID, "id", "is required");
    else if ((rc = fw_store_batch_get(store, team, r->id, &batch, err)) == FW_ERR_NOT_FOUND)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no batch '%s'", r->id);
    if (rc == FW_OK)
        rc = fw_watch_add_batch(svc->watch, stream, team, r->id, batch_message, NULL, store, err);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static void stream_gone(fw_rpc_stream *stream, void *ctx)
{
    fw_service *svc = ctx;
    fw_watch_gone(svc->watch, stream);
}

fw_err fw_batch_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err)
{
    fw_err rc;
    if ((rc = fw_rpc_server_on_unary(srv, "/framewright.v1.BatchService/CreateBatch", create_batch, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.BatchService/GetBatch", get_batch, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.BatchService/CancelBatch", cancel_batch, svc, err)) ||
        (rc = fw_rpc_server_on_server_stream(srv, "/framewright.v1.BatchService/WatchBatch", watch_batch, stream_gone,
                                             svc, err)))
        return rc;
    return FW_OK;
}
