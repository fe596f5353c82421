/*
 * job_input.c - JobService.GetJobInput: the request a job was created with,
 * so a client (the dashboard's "render again") can send it once more.
 *
 * The stored request is the one CreateJob checked, with what CreateJob added
 * taken out again (the ids it gave nested jobs), so it creates a new job of
 * the same kind. Literal secrets a client put in its request - an upload's
 * secret key, webhook header values - are not handed to whoever holds a key
 * of the team later: they are left out and named, and ${secret.NAME}
 * placeholders, which hold no secret, stay.
 */
#include <stdio.h>
#include <string.h>

#include "proto/job.pb-c.h"
#include "server/api/service.h"

static int is_placeholder(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && (strstr(s, "${secret.") || strstr(s, "${secrets.")) && !strchr(s, ' ');
}

/* Drop what CreateJob wrote into assets (jobId), at every depth of nesting. */
static void drop_job_ids(json_t *request)
{
    json_t *asset;
    size_t i;
    json_array_foreach(json_object_get(request, "assets"), i, asset) {
        json_object_del(asset, "jobId");
        drop_job_ids(asset);
    }
}

static void withhold(json_t *obj, const char *key, const char *path, json_t *withheld)
{
    json_t *v = json_object_get(obj, key);
    char field[256];
    if (!v || is_placeholder(v))
        return;
    snprintf(field, sizeof(field), "%s%s", path, key);
    json_array_append_new(withheld, json_string(field));
    json_object_del(obj, key);
}

static void withhold_secrets(json_t *request, json_t *withheld)
{
    json_t *params = json_object_get(json_object_get(request, "upload"), "params");
    json_t *headers = json_object_get(json_object_get(request, "webhook"), "headers");
    const char *name;
    json_t *value;
    void *tmp;
    withhold(params, "accessKeySecret", "upload.params.", withheld);
    withhold(params, "access_key_secret", "upload.params.", withheld);
    json_object_foreach_safe(headers, tmp, name, value) withhold(headers, name, "webhook.headers.", withheld);
}

static fw_err get_job_input(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__GetJobRequest *r = (const Framewright__V1__GetJobRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    json_t *request = NULL, *out;
    char team[FW_ID_SIZE];
    fw_store *store;
    fw_job_row row;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    memset(&row, 0, sizeof(row));
    rc = fw_store_job_get(store, team, r->id, &row, err);
    fw_store_pool_put(svc->stores, store);
    if (rc == FW_ERR_NOT_FOUND)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no job '%s'", r->id);
    if (rc == FW_OK && !(request = row.request_json ? json_loads(row.request_json, 0, NULL) : NULL))
        rc = fw_error_set(err, FW_ERR_INTERNAL, NULL, "job '%s' has no request kept", r->id);
    if (rc == FW_OK && !json_is_object(request))
        rc = fw_error_set(err, FW_ERR_INTERNAL, NULL, "job '%s' kept a request that is not an object", r->id);
    if (rc) {
        json_decref(request);
        fw_job_row_clear(&row);
        return rc;
    }
    out = json_object();
    json_object_set_new(out, "kind", json_string(strcmp(row.kind, "join") == 0 ? "join" : "render"));
    json_object_set_new(out, "withheld", json_array());
    drop_job_ids(request);
    withhold_secrets(request, json_object_get(out, "withheld"));
    json_object_set_new(out, "request", request);
    fw_job_row_clear(&row);
    return fw_service_answer(call, &framewright__v1__job_input__descriptor, out, resp, err);
}

fw_err fw_job_input_register(fw_rpc_server *srv, fw_service *svc, fw_error *err)
{
    return fw_rpc_server_on_unary(srv, "/framewright.v1.JobService/GetJobInput", get_job_input, svc, err);
}
