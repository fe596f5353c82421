/*
 * secrets.c - team secrets in the store: names and sealed values only. The
 * sealing and the substitution are server/secrets; nothing here sees a value
 * in the clear.
 */
#include "server/store/store_internal.h"

#include <stdlib.h>
#include <string.h>

void fw_secret_row_clear(fw_secret_row *row)
{
    free(row->ciphertext);
    memset(row, 0, sizeof(*row));
}

void fw_secret_rows_free(fw_secret_row **rows, size_t count)
{
    if (!*rows)
        return;
    for (size_t i = 0; i < count; i++)
        fw_secret_row_clear(&(*rows)[i]);
    free(*rows);
    *rows = NULL;
}

fw_err fw_store_secret_insert(fw_store *s, const fw_secret_row *row, fw_error *err)
{
    int64_t now = row->created_at ? row->created_at : fw_store_now();
    fw_err rc = fw_sql_exec(s,
                            "INSERT INTO secrets (id, team_id, name, ciphertext, created_at, updated_at) "
                            "VALUES ($1, $2, $3, $4, $5, $5)",
                            FW_SQL_ARGS(FW_SQL_T(row->id), FW_SQL_T(row->team_id), FW_SQL_T(row->name),
                                        FW_SQL_T(row->ciphertext), FW_SQL_I(now)),
                            NULL, err);
    if (rc == FW_ERR_ALREADY_EXISTS)
        return fw_error_set(err, rc, "name", "a secret named '%s' already exists; delete it first", row->name);
    return rc;
}

fw_err fw_store_secret_get(fw_store *s, const char *team_id, const char *name, fw_secret_row *out, fw_error *err)
{
    fw_err rc = s->ops->query(s,
                              "SELECT id, team_id, name, ciphertext, created_at FROM secrets "
                              "WHERE team_id = $1 AND name = $2",
                              FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(name)), err);
    if (rc == FW_OK) {
        int got = s->ops->row(s, err);
        if (got > 0) {
            memset(out, 0, sizeof(*out));
            fw_sql_copy(s, 0, out->id, sizeof(out->id));
            fw_sql_copy(s, 1, out->team_id, sizeof(out->team_id));
            fw_sql_copy(s, 2, out->name, sizeof(out->name));
            out->ciphertext = fw_sql_dup(s, 3);
            out->created_at = s->ops->col_int(s, 4);
        } else if (got == 0) {
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "name", "no secret '%s'", name);
        } else {
            rc = err ? err->code : FW_ERR_INTERNAL;
        }
    }
    s->ops->done(s);
    return rc;
}

fw_err fw_store_secret_list(fw_store *s, const char *team_id, fw_secret_row **rows, size_t *count, fw_error *err)
{
    size_t n = 0, cap = 16;
    fw_secret_row *list = calloc(cap, sizeof(*list));
    fw_err rc;
    int got = 0;

    *rows = NULL;
    *count = 0;
    if (!list)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing secrets");
    rc = s->ops->query(s, "SELECT id, team_id, name, created_at FROM secrets WHERE team_id = $1 ORDER BY name",
                       FW_SQL_ARGS(FW_SQL_T(team_id)), err);
    while (rc == FW_OK && (got = s->ops->row(s, err)) > 0) {
        if (n == cap) {
            fw_secret_row *bigger = realloc(list, cap * 2 * sizeof(*list));
            if (!bigger) {
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing secrets");
                break;
            }
            memset(bigger + cap, 0, cap * sizeof(*list));
            list = bigger;
            cap *= 2;
        }
        fw_sql_copy(s, 0, list[n].id, sizeof(list[n].id));
        fw_sql_copy(s, 1, list[n].team_id, sizeof(list[n].team_id));
        fw_sql_copy(s, 2, list[n].name, sizeof(list[n].name));
        list[n].created_at = s->ops->col_int(s, 3);
        n++;
    }
    if (rc == FW_OK && got < 0)
        rc = err ? err->code : FW_ERR_INTERNAL;
    s->ops->done(s);
    if (rc) {
        fw_secret_rows_free(&list, n);
        return rc;
    }
    *rows = list;
    *count = n;
    return FW_OK;
}

fw_err fw_store_secret_delete(fw_store *s, const char *team_id, const char *id_or_name, fw_error *err)
{
    int64_t changed = 0;
    fw_err rc = fw_sql_exec(s, "DELETE FROM secrets WHERE team_id = $1 AND (id = $2 OR name = $2)",
                            FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(id_or_name)), &changed, err);
    if (rc == FW_OK && changed == 0)
        return fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no secret '%s'", id_or_name);
    return rc;
}
