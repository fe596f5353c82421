/*
 * secret_service.c - framewright.v1.SecretService: put, list and delete a
 * team's secrets, and the check CreateJob makes of the placeholders a job
 * names.
 *
 * A value goes in once and never comes out: answers carry names, ids and
 * times only, and errors name the secret, never its value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/secret.pb-c.h"
#include "server/api/service.h"
#include "server/secrets/secrets.h"
#include "server/util/clock.h"
#include "server/util/id.h"

static json_t *secret_json(const fw_secret_row *row)
{
    char text[FW_TIME_TEXT_SIZE];
    return json_pack("{s:s,s:s,s:s}", "id", row->id, "name", row->name, "createdAt",
                     fw_format_time(row->created_at, text));
}

static fw_err put_secret(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__PutSecretRequest *r = (const Framewright__V1__PutSecretRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE];
    fw_secret_row row;
    fw_store *store;
    fw_err rc;

    if (!r->name || !*r->name)
        return fw_error_set(err, FW_ERR_INVALID, "name", "is required");
    if (!fw_secret_name_valid(r->name))
        return fw_error_set(err, FW_ERR_INVALID, "name",
                            "must be letters, digits and '_', not starting with a digit, at most 128 characters");
    if (!r->value || strlen(r->value) > FW_SECRET_VALUE_MAX)
        return fw_error_set(err, FW_ERR_INVALID, "value", "must be at most %d bytes", FW_SECRET_VALUE_MAX);
    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    memset(&row, 0, sizeof(row));
    fw_id_new(row.id);
    snprintf(row.team_id, sizeof(row.team_id), "%s", team);
    snprintf(row.name, sizeof(row.name), "%s", r->name);
    row.created_at = fw_now_ms();
    if ((rc = fw_secrets_seal(svc->config.secrets_key, team, r->value, &row.ciphertext, err)) == FW_OK &&
        (rc = fw_store_secret_insert(store, &row, err)) == FW_OK)
        rc = fw_service_answer(call, &framewright__v1__secret__descriptor, secret_json(&row), resp, err);
    fw_secret_row_clear(&row);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err list_secrets(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    fw_service *svc = fw_rpc_call_context(call);
    fw_secret_row *rows = NULL;
    char team[FW_ID_SIZE];
    size_t count = 0;
    fw_store *store;
    fw_err rc;

    (void)req;
    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if ((rc = fw_store_secret_list(store, team, &rows, &count, err)) == FW_OK) {
        json_t *list = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(list, secret_json(&rows[i]));
        rc = fw_service_answer(call, &framewright__v1__list_secrets_response__descriptor, json_pack("{s:o}", "secrets", list),
                    resp, err);
    }
    fw_secret_rows_free(&rows, count);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err delete_secret(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__DeleteSecretRequest *r = (const Framewright__V1__DeleteSecretRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    Framewright__V1__DeleteSecretResponse *out;
    char team[FW_ID_SIZE];
    fw_store *store;
    fw_err rc;

    if (!r->id || !*r->id)
        return fw_error_set(err, FW_ERR_INVALID, "id", "is required (an id or a name)");
    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    rc = fw_store_secret_delete(store, team, r->id, err);
    fw_store_pool_put(svc->stores, store);
    if (rc)
        return rc;
    if (!(out = fw_rpc_alloc(call, sizeof(*out))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    framewright__v1__delete_secret_response__init(out);
    *resp = &out->base;
    return FW_OK;
}

/* Every string under json, with its field path, checked for placeholders. */
static fw_err check_tree(fw_store *store, const char *team, json_t *json, char *path, size_t size, fw_error *err)
{
    size_t len = strlen(path), i;
    const char *key;
    json_t *item;
    fw_err rc = FW_OK;

    if (json_is_string(json))
        return fw_secrets_check(store, team, json_string_value(json), path, err);
    if (json_is_object(json)) {
        json_object_foreach(json, key, item) {
            snprintf(path + len, size - len, "%s%s", len ? "." : "", key);
            if ((rc = check_tree(store, team, item, path, size, err)))
                break;
        }
    } else if (json_is_array(json)) {
        json_array_foreach(json, i, item) {
            snprintf(path + len, size - len, "[%zu]", i);
            if ((rc = check_tree(store, team, item, path, size, err)))
                break;
        }
    }
    path[len] = '\0';
    return rc;
}

/* Asset sources, nested jobs' too: the only asset field secrets reach. */
static fw_err check_assets(fw_store *store, const char *team, json_t *assets, char *path, size_t size, fw_error *err)
{
    size_t len = strlen(path), i;
    json_t *asset;
    fw_err rc = FW_OK;

    json_array_foreach(assets, i, asset) {
        snprintf(path + len, size - len, "%sassets[%zu].src", len ? "." : "", i);
        if ((rc = check_tree(store, team, json_object_get(asset, "src"), path, size, err)))
            break;
        snprintf(path + len, size - len, "%sassets[%zu]", len ? "." : "", i);
        if ((rc = check_assets(store, team, json_object_get(asset, "assets"), path, size, err)))
            break;
    }
    path[len] = '\0';
    return rc;
}

fw_err fw_service_job_secrets_check(fw_store *store, const char *team_id, json_t *job, fw_error *err)
{
    static const char *const parts[] = {"upload", "webhook"};
    char path[FW_ERROR_FIELD_MAX] = "";
    fw_err rc;

    if ((rc = check_assets(store, team_id, json_object_get(job, "assets"), path, sizeof(path), err)))
        return rc;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        snprintf(path, sizeof(path), "%s", parts[i]);
        if ((rc = check_tree(store, team_id, json_object_get(job, parts[i]), path, sizeof(path), err)))
            return rc;
    }
    return FW_OK;
}

fw_err fw_secret_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err)
{
    fw_err rc;
    if ((rc = fw_rpc_server_on_unary(srv, "/framewright.v1.SecretService/PutSecret", put_secret, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.SecretService/ListSecrets", list_secrets, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.SecretService/DeleteSecret", delete_secret, svc, err)))
        return rc;
    return FW_OK;
}
