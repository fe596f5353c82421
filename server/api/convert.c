/*
 * convert.c - store rows as the API shows them.
 *
 * Rows become JSON in the API's own form (the proto3 JSON mapping, camelCase,
 * which is also Nexrender Cloud's REST form) and the JSON becomes messages
 * through the one generic converter, so the gRPC and REST answers cannot
 * drift apart.
 */
#include <string.h>

#include "proto/job.pb-c.h"
#include "proto/json/pbjson.h"
#include "server/api/service.h"
#include "server/util/clock.h"

int fw_service_status_is_final(const char *status)
{
    return strcmp(status, FW_STATUS_FINISHED) == 0 || strcmp(status, FW_STATUS_ERROR) == 0 ||
           strcmp(status, FW_STATUS_CANCELLED) == 0;
}

static void set_time(json_t *obj, const char *key, int64_t ms)
{
    char text[FW_TIME_TEXT_SIZE];
    if (ms > 0)
        json_object_set_new(obj, key, json_string(fw_format_time(ms, text)));
}

void fw_service_font_report(const char *missing_fonts_json, json_t *out)
{
    json_t *report = missing_fonts_json ? json_loads(missing_fonts_json, 0, NULL) : NULL;
    json_t *missing = json_is_array(report) ? report : json_object_get(report, "missing");
    json_t *subs = json_object_get(report, "substitutes");
    if (json_is_array(missing) && json_array_size(missing))
        json_object_set(out, "missingFonts", missing);
    if (json_is_array(subs) && json_array_size(subs))
        json_object_set(out, "fontSubstitutes", subs);
    json_decref(report);
}

json_t *fw_service_job_json(const fw_job_row *row, json_t *children)
{
    json_t *job = json_object(), *stats = json_object();

    json_object_set_new(job, "id", json_string(row->id));
    if (row->template_id[0])
        json_object_set_new(job, "templateId", json_string(row->template_id));
    if (row->template_version)
        json_object_set_new(job, "templateVersion", json_integer(row->template_version));
    json_object_set_new(job, "status", json_string(row->status));
    json_object_set_new(job, "progress", json_real(row->progress));
    set_time(stats, "createdAt", row->created_at);
    set_time(stats, "updatedAt", row->updated_at);
    set_time(stats, "startedAt", row->started_at);
    set_time(stats, "finishedAt", row->finished_at);
    set_time(stats, "errorAt", row->error_at);
    json_object_set_new(stats, "totalAssets", json_integer(row->total_assets));
    if (row->render_duration >= 0)
        json_object_set_new(stats, "renderDuration", json_real(row->render_duration));
    if (row->error)
        json_object_set_new(stats, "error", json_string(row->error));
    if (row->chunks > 0)
        json_object_set_new(stats, "chunks", json_integer(row->chunks));
    if (row->cached)
        json_object_set_new(stats, "cached", json_true());
    if (row->chunks_cached > 0)
        json_object_set_new(stats, "chunksCached", json_integer(row->chunks_cached));
    if (row->workers_json) {
        json_t *workers = json_loads(row->workers_json, 0, NULL);
        if (json_is_array(workers) && json_array_size(workers))
            json_object_set(stats, "workers", workers);
        json_decref(workers);
    }
    json_object_set_new(job, "stats", stats);
    if (row->output_url)
        json_object_set_new(job, "outputUrl", json_string(row->output_url));
    if (children && json_array_size(children))
        json_object_set(job, "children", children);
    fw_service_font_report(row->missing_fonts_json, job);
    if (row->parent_id[0])
        json_object_set_new(job, "parentId", json_string(row->parent_id));
    if (row->batch_id[0])
        json_object_set_new(job, "batchId", json_string(row->batch_id));
    return job;
}

fw_err fw_service_message(const ProtobufCMessageDescriptor *d, json_t *json, ProtobufCMessage **out, fw_error *err)
{
    fw_error inner;
    if (fw_pbjson_to_message(d, json, 0, out, &inner) != FW_OK)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "building the %s answer failed at %s: %s", d->short_name,
                            inner.field, inner.message);
    return FW_OK;
}

fw_err fw_service_job_message(const fw_job_row *row, json_t *children, ProtobufCMessage **out, fw_error *err)
{
    json_t *json = fw_service_job_json(row, children);
    fw_err rc = fw_service_message(&framewright__v1__job__descriptor, json, out, err);
    json_decref(json);
    return rc;
}

fw_err fw_service_job_event(const fw_job_row *row, ProtobufCMessage **out, fw_error *err)
{
    json_t *event = json_object();
    fw_err rc;

    json_object_set_new(event, "job", fw_service_job_json(row, NULL));
    if (row->stage[0])
        json_object_set_new(event, "stage", json_string(row->stage));
    rc = fw_service_message(&framewright__v1__job_event__descriptor, event, out, err);
    json_decref(event);
    return rc;
}

static void free_message(void *message) { protobuf_c_message_free_unpacked(message, NULL); }

fw_err fw_service_defer_free(fw_rpc_call *call, ProtobufCMessage *message, fw_error *err)
{
    fw_err rc = fw_rpc_defer(call, free_message, message, err);
    if (rc)
        protobuf_c_message_free_unpacked(message, NULL);
    return rc;
}

fw_err fw_service_answer(fw_rpc_call *call, const ProtobufCMessageDescriptor *d, json_t *json, ProtobufCMessage **resp,
                         fw_error *err)
{
    fw_err rc = fw_service_message(d, json, resp, err);
    json_decref(json);
    if (rc == FW_OK)
        rc = fw_service_defer_free(call, *resp, err);
    return rc;
}
