/*
 * teams.c - teams and API keys in the store.
 *
 * Keys are stored as their SHA-256 only; the store never sees a key itself.
 */
#include "server/store/store_internal.h"

#include <string.h>

#include "server/util/id.h"

fw_err fw_store_team_ensure(fw_store *s, const char *name, char id[FW_ID_SIZE], fw_error *err)
{
    char fresh[FW_ID_SIZE];
    fw_err rc;

    if (!name || !*name)
        return fw_error_set(err, FW_ERR_INVALID, "name", "a team needs a name");
    fw_id_new(fresh);
    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    /* Two processes may ensure the same team at once: the unique name makes
     * the second insert a no-op, and both read back the one id. */
    rc = fw_sql_exec(s, "INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                     FW_SQL_ARGS(FW_SQL_T(fresh), FW_SQL_T(name), FW_SQL_I(fw_store_now())), NULL, err);
    if (rc == FW_OK) {
        rc = s->ops->query(s, "SELECT id FROM teams WHERE name = $1", FW_SQL_ARGS(FW_SQL_T(name)), err);
        if (rc == FW_OK) {
            int got = s->ops->row(s, err);
            if (got > 0)
                fw_sql_copy(s, 0, id, FW_ID_SIZE);
            else if (got == 0)
                rc = fw_error_set(err, FW_ERR_INTERNAL, "name", "team \"%s\" vanished while being created", name);
            else
                rc = err ? err->code : FW_ERR_INTERNAL;
        }
        s->ops->done(s);
    }
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_key_add(fw_store *s, const char *team_id, const char *key_hash, const char *prefix, fw_error *err)
{
    char id[FW_ID_SIZE];
    fw_err rc;

    if (!key_hash || strlen(key_hash) != 64)
        return fw_error_set(err, FW_ERR_INVALID, "key_hash", "a key hash is 64 hexadecimal characters (SHA-256)");
    if (!team_id || !*team_id)
        return fw_error_set(err, FW_ERR_INVALID, "team_id", "a key belongs to a team");
    fw_id_new(id);
    rc = fw_sql_exec(s,
                     "INSERT INTO api_keys (id, team_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)",
                     FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(team_id), FW_SQL_T(key_hash), FW_SQL_T(prefix ? prefix : ""),
                                 FW_SQL_I(fw_store_now())),
                     NULL, err);
    if (rc == FW_ERR_ALREADY_EXISTS)
        return fw_error_set(err, rc, "key_hash", "a key with this hash is already recorded");
    if (rc == FW_ERR_NOT_FOUND)
        return fw_error_set(err, rc, "team_id", "no team with id %s", team_id);
    return rc;
}

fw_err fw_store_key_team(fw_store *s, const char *key_hash, char team_id[FW_ID_SIZE], fw_error *err)
{
    fw_err rc;
    int got;

    if (!key_hash)
        return fw_error_set(err, FW_ERR_NOT_FOUND, "key_hash", "no key given");
    rc = s->ops->query(s, "SELECT team_id FROM api_keys WHERE key_hash = $1", FW_SQL_ARGS(FW_SQL_T(key_hash)), err);
    if (rc == FW_OK) {
        got = s->ops->row(s, err);
        if (got > 0)
            fw_sql_copy(s, 0, team_id, FW_ID_SIZE);
        else if (got == 0)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "key_hash", "no such key");
        else
            rc = err ? err->code : FW_ERR_INTERNAL;
    }
    s->ops->done(s);
    return rc;
}

fw_err fw_store_key_count(fw_store *s, int64_t *count, fw_error *err)
{
    return fw_sql_int(s, "SELECT COUNT(*) FROM api_keys", NULL, 0, count, NULL, err);
}
