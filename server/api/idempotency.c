/*
 * idempotency.c - see service.h: a create call's Idempotency-Key.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json/pbjson.h"
#include "server/api/service.h"

/* Hex SHA-256 of the method and the request as sorted, compact JSON: the
 * same request however its fields were ordered on the wire. */
static fw_err request_hash(const char *method, const ProtobufCMessage *req, char hex[65], fw_error *err)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    json_t *json = NULL;
    char *text;
    EVP_MD_CTX *md;
    fw_err rc = fw_pbjson_from_message(req, 0, &json, err);
    int ok;

    if (rc != FW_OK)
        return rc;
    text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(json);
    if (!text || !(md = EVP_MD_CTX_new())) {
        free(text);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, method, strlen(method) + 1) &&
         EVP_DigestUpdate(md, text, strlen(text)) && EVP_DigestFinal_ex(md, digest, &len);
    EVP_MD_CTX_free(md);
    free(text);
    if (!ok || len != 32)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "SHA-256 failed");
    for (unsigned i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return FW_OK;
}

/* What the key answered before, into *replay; FW_ERR_NOT_FOUND when unused. */
static fw_err look_up(fw_store *store, const char *team, const fw_service_idem *idem, json_t **replay, fw_error *err)
{
    char *method = NULL, *hash = NULL, *response = NULL;
    fw_err rc = fw_store_idempotency_get(store, team, idem->key, &method, &hash, &response, err);

    if (rc == FW_OK) {
        if (strcmp(method, idem->method) != 0 || strcmp(hash, idem->hash) != 0)
            rc = fw_error_set(err, FW_ERR_INVALID, "idempotency-key",
                              "the key was used by another request (%s); a key names one request", method);
        else if (!(*replay = json_loads(response, 0, NULL)))
            rc = fw_error_set(err, FW_ERR_INTERNAL, "idempotency-key", "the kept answer is not JSON");
    }
    free(method);
    free(hash);
    free(response);
    return rc;
}

fw_err fw_service_idem_begin(fw_rpc_call *call, fw_store *store, const char *team, const char *method,
                             const ProtobufCMessage *req, fw_service_idem *idem, json_t **replay, fw_error *err)
{
    const char *key = fw_rpc_call_metadata(call, "idempotency-key");
    size_t n;
    fw_err rc;

    memset(idem, 0, sizeof(*idem));
    *replay = NULL;
    if (!key)
        return FW_OK;
    n = strlen(key);
    if (n == 0 || n >= sizeof(idem->key))
        return fw_error_set(err, FW_ERR_INVALID, "idempotency-key", "is 1 to %zu characters, not %zu",
                            sizeof(idem->key) - 1, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e)
            return fw_error_set(err, FW_ERR_INVALID, "idempotency-key", "takes printable ASCII without spaces");
    memcpy(idem->key, key, n + 1);
    snprintf(idem->method, sizeof(idem->method), "%s", method);
    if ((rc = request_hash(method, req, idem->hash, err)))
        return rc;
    idem->on = 1;
    rc = look_up(store, team, idem, replay, err);
    return rc == FW_ERR_NOT_FOUND ? FW_OK : rc;
}

const fw_idempotency *fw_service_idem_row(fw_service_idem *idem, json_t *answer)
{
    if (!idem->on)
        return NULL;
    free((char *)idem->row.response_json);
    idem->row.key = idem->key;
    idem->row.method = idem->method;
    idem->row.request_hash = idem->hash;
    idem->row.response_json = json_dumps(answer, JSON_COMPACT);
    return idem->row.response_json ? &idem->row : NULL;
}

fw_err fw_service_idem_lost(fw_store *store, const char *team, fw_service_idem *idem, fw_err rc, json_t **replay,
                            fw_error *err)
{
    *replay = NULL;
    if (!idem->on || rc != FW_ERR_ALREADY_EXISTS || !err || strcmp(err->field, "idempotency-key") != 0)
        return rc;
    return look_up(store, team, idem, replay, err);
}

void fw_service_idem_clear(fw_service_idem *idem)
{
    free((char *)idem->row.response_json);
    memset(idem, 0, sizeof(*idem));
}
