/*
 * idempotency.c - idempotency keys in the store: a create call's key, a hash
 * of its request and its answer, written in the transaction that writes the
 * call's rows, so that a key in the table always means the rows are there.
 */
#include "server/store/store_internal.h"

#include <stdlib.h>
#include <string.h>

fw_err fw_idempotency_insert(fw_store *s, const char *team_id, const fw_idempotency *idem, fw_error *err)
{
    fw_err rc;

    if (!idem)
        return FW_OK;
    rc = fw_sql_exec(s,
                     "INSERT INTO idempotency_keys (team_id, idem_key, method, request_hash, response_json, "
                     "created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                     FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(idem->key), FW_SQL_T(idem->method),
                                 FW_SQL_T(idem->request_hash), FW_SQL_T(idem->response_json),
                                 FW_SQL_I(fw_store_now())),
                     NULL, err);
    if (rc == FW_ERR_ALREADY_EXISTS)
        return fw_error_set(err, rc, "idempotency-key", "another call used this key first");
    return rc;
}

fw_err fw_store_idempotency_get(fw_store *s, const char *team_id, const char *key, char **method,
                                char **request_hash, char **response_json, fw_error *err)
{
    fw_err rc = s->ops->query(s,
                              "SELECT method, request_hash, response_json FROM idempotency_keys "
                              "WHERE team_id = $1 AND idem_key = $2",
                              FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(key)), err);
    *method = *request_hash = *response_json = NULL;
    if (rc == FW_OK) {
        int got = s->ops->row(s, err);
        if (got > 0) {
            *method = fw_sql_dup(s, 0);
            *request_hash = fw_sql_dup(s, 1);
            *response_json = fw_sql_dup(s, 2);
            if (!*method || !*request_hash || !*response_json)
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory reading an idempotency key");
        } else if (got == 0) {
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "idempotency-key", "the key is unused");
        } else {
            rc = err ? err->code : FW_ERR_INTERNAL;
        }
    }
    s->ops->done(s);
    if (rc != FW_OK) {
        free(*method);
        free(*request_hash);
        free(*response_json);
        *method = *request_hash = *response_json = NULL;
    }
    return rc;
}

fw_err fw_store_idempotency_expire(fw_store *s, int64_t before, int64_t *removed, fw_error *err)
{
    int64_t n = 0;
    fw_err rc = fw_sql_exec(s, "DELETE FROM idempotency_keys WHERE created_at < $1", FW_SQL_ARGS(FW_SQL_I(before)),
                            &n, err);
    if (removed)
        *removed = rc == FW_OK ? n : 0;
    return rc;
}
