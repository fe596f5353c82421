/*
 * templates.c - template records in the store (the bundles themselves are in
 * blob storage under storage_key).
 */
#include "server/store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_COLUMNS                                                                                         \
    "id, team_id, type, status, display_name, error, details_json, storage_key, size, created_at, updated_at, version"

static void read_template(fw_store *s, fw_template_row *t)
{
    char *name;
    memset(t, 0, sizeof(*t));
    fw_sql_copy(s, 0, t->id, sizeof(t->id));
    fw_sql_copy(s, 1, t->team_id, sizeof(t->team_id));
    fw_sql_copy(s, 2, t->type, sizeof(t->type));
    fw_sql_copy(s, 3, t->status, sizeof(t->status));
    name = fw_sql_dup(s, 4);
    t->display_name = name ? name : strdup("");
    t->error = fw_sql_dup(s, 5);
    t->details_json = fw_sql_dup(s, 6);
    fw_sql_copy(s, 7, t->storage_key, sizeof(t->storage_key));
    t->size = s->ops->col_int(s, 8);
    t->created_at = s->ops->col_int(s, 9);
    t->updated_at = s->ops->col_int(s, 10);
    t->version = (int)s->ops->col_int(s, 11);
}

fw_err fw_store_template_insert(fw_store *s, const fw_template_row *row, fw_error *err)
{
    int64_t created = row->created_at ? row->created_at : fw_store_now();
    fw_err rc;

    if (!*row->id)
        return fw_error_set(err, FW_ERR_INVALID, "id", "a template needs an id");
    if (!*row->team_id)
        return fw_error_set(err, FW_ERR_INVALID, "team_id", "a template belongs to a team");
    rc = fw_sql_exec(s,
                     "INSERT INTO templates (" TEMPLATE_COLUMNS ") "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 0)",
                     FW_SQL_ARGS(FW_SQL_T(row->id), FW_SQL_T(row->team_id), FW_SQL_T(row->type),
                                 FW_SQL_T(*row->status ? row->status : FW_TEMPLATE_AWAITING_UPLOAD),
                                 FW_SQL_T(row->display_name ? row->display_name : ""), FW_SQL_T(row->error),
                                 FW_SQL_T(row->details_json), FW_SQL_T(row->storage_key), FW_SQL_I(row->size),
                                 FW_SQL_I(created)),
                     NULL, err);
    if (rc == FW_ERR_ALREADY_EXISTS)
        return fw_error_set(err, rc, "id", "a template with id %s already exists", row->id);
    if (rc == FW_ERR_NOT_FOUND)
        return fw_error_set(err, rc, "team_id", "no team with id %s", row->team_id);
    return rc;
}

fw_err fw_store_template_get(fw_store *s, const char *team_id, const char *id, fw_template_row *out, fw_error *err)
{
    fw_err rc = s->ops->query(s, "SELECT " TEMPLATE_COLUMNS " FROM templates WHERE team_id = $1 AND id = $2",
                              FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(id)), err);
    if (rc == FW_OK) {
        int got = s->ops->row(s, err);
        if (got > 0)
            read_template(s, out);
        else if (got == 0)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no template with id %s", id ? id : "(none)");
        else
            rc = err ? err->code : FW_ERR_INTERNAL;
    }
    s->ops->done(s);
    return rc;
}

/* Read every row of the running query into a new array. */
static fw_err read_templates(fw_store *s, int limit, fw_template_row **rows, size_t *count, fw_error *err)
{
    fw_template_row *list = calloc((size_t)limit, sizeof(*list));
    size_t n = 0;
    int got;

    if (!list)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing templates");
    while (n < (size_t)limit && (got = s->ops->row(s, err)) > 0)
        read_template(s, &list[n++]);
    if (n < (size_t)limit && got < 0) {
        fw_template_rows_free(&list, n);
        return err ? err->code : FW_ERR_INTERNAL;
    }
    *rows = list;
    *count = n;
    return FW_OK;
}

fw_err fw_store_template_list(fw_store *s, const char *team_id, int limit, const char *after_id, fw_template_row **rows,
                              size_t *count, fw_error *err)
{
    fw_sql_builder b = {0};
    fw_err rc;

    *rows = NULL;
    *count = 0;
    if (limit < 1 || limit > 1000)
        return fw_error_set(err, FW_ERR_INVALID, "limit", "the page size must be 1 to 1000, not %d", limit);
    fw_sql_append(&b, "SELECT " TEMPLATE_COLUMNS " FROM templates WHERE team_id = ");
    fw_sql_param(&b, FW_SQL_T(team_id));
    if (after_id && *after_id) {
        /* After a row of the same team only; an unknown id gives nothing. */
        fw_sql_append(&b, " AND (created_at, id) < (SELECT created_at, id FROM templates WHERE team_id = $1 AND id = ");
        fw_sql_param(&b, FW_SQL_T(after_id));
        fw_sql_append(&b, ")");
    }
    fw_sql_append(&b, " ORDER BY created_at DESC, id DESC LIMIT ");
    fw_sql_param(&b, FW_SQL_I(limit));
    rc = s->ops->query(s, b.sql, b.params, b.count, err);
    if (rc == FW_OK)
        rc = read_templates(s, limit, rows, count, err);
    s->ops->done(s);
    return rc;
}

fw_err fw_store_template_update(fw_store *s, const fw_template_row *row, fw_error *err)
{
    int64_t changed = 0;
    fw_err rc = fw_sql_exec(s,
                            "UPDATE templates SET display_name = $3, status = $4, error = $5, details_json = $6, "
                            "storage_key = $7, size = $8, type = $9, updated_at = $10 "
                            "WHERE team_id = $1 AND id = $2",
                            FW_SQL_ARGS(FW_SQL_T(row->team_id), FW_SQL_T(row->id),
                                        FW_SQL_T(row->display_name ? row->display_name : ""), FW_SQL_T(row->status),
                                        FW_SQL_T(row->error), FW_SQL_T(row->details_json), FW_SQL_T(row->storage_key),
                                        FW_SQL_I(row->size), FW_SQL_T(row->type), FW_SQL_I(fw_store_now())),
                            &changed, err);
    if (rc == FW_OK && changed == 0)
        return fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no template with id %s", row->id);
    return rc;
}

fw_err fw_store_template_delete(fw_store *s, const char *team_id, const char *id, fw_error *err)
{
    int64_t using = 0, changed = 0;
    fw_err rc = s->ops->begin(s, FW_TX_WRITE, err);

    if (rc != FW_OK)
        return rc;
    /* Jobs of other teams cannot name this template: ids are team-scoped on
     * submission, so counting by template id alone is enough. */
    rc = fw_sql_int(s,
                    "SELECT COUNT(*) FROM jobs WHERE template_id = $1 "
                    "AND status IN ('queued', 'pending', 'render:dorender')",
                    FW_SQL_ARGS(FW_SQL_T(id)), &using, NULL, err);
    if (rc == FW_OK)
        rc = fw_sql_exec(s, "DELETE FROM templates WHERE team_id = $1 AND id = $2",
                         FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(id)), &changed, err);
    if (rc == FW_OK && changed == 0)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no template with id %s", id);
    else if (rc == FW_OK && using > 0)
        rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "id",
                          "template %s is used by %lld job(s) that have not ended; cancel them or wait", id,
                          (long long)using);
    return fw_sql_end(s, rc, err);
}

/* ---- versions -------------------------------------------------------------------------------- */

#define VERSION_COLUMNS "v.template_id, v.version, v.type, v.storage_key, v.details_json, v.size, v.created_at"

static void read_version(fw_store *s, fw_template_version_row *v)
{
    memset(v, 0, sizeof(*v));
    fw_sql_copy(s, 0, v->template_id, sizeof(v->template_id));
    v->version = (int)s->ops->col_int(s, 1);
    fw_sql_copy(s, 2, v->type, sizeof(v->type));
    fw_sql_copy(s, 3, v->storage_key, sizeof(v->storage_key));
    v->details_json = fw_sql_dup(s, 4);
    v->size = s->ops->col_int(s, 5);
    v->created_at = s->ops->col_int(s, 6);
}

void fw_template_version_rows_free(fw_template_version_row **rows, size_t count)
{
    if (!rows || !*rows)
        return;
    for (size_t i = 0; i < count; i++)
        free((*rows)[i].details_json);
    free(*rows);
    *rows = NULL;
}

fw_err fw_store_template_publish(fw_store *s, fw_template_row *row, fw_error *err)
{
    int64_t last = 0, changed = 0, now = fw_store_now();
    fw_err rc = s->ops->begin(s, FW_TX_WRITE, err);

    if (rc != FW_OK)
        return rc;
    /* The template's row is locked first, so two uploads number in turn. */
    rc = fw_sql_exec(s, "UPDATE templates SET updated_at = $3 WHERE team_id = $1 AND id = $2",
                     FW_SQL_ARGS(FW_SQL_T(row->team_id), FW_SQL_T(row->id), FW_SQL_I(now)), &changed, err);
    if (rc == FW_OK && changed == 0)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no template with id %s", row->id);
    if (rc == FW_OK)
        rc = fw_sql_int(s, "SELECT COALESCE(MAX(version), 0) FROM template_versions WHERE template_id = $1",
                        FW_SQL_ARGS(FW_SQL_T(row->id)), &last, NULL, err);
    if (rc == FW_OK)
        rc = fw_sql_exec(s,
                         "INSERT INTO template_versions (template_id, version, type, storage_key, details_json, size, "
                         "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                         FW_SQL_ARGS(FW_SQL_T(row->id), FW_SQL_I(last + 1), FW_SQL_T(row->type),
                                     FW_SQL_T(row->storage_key), FW_SQL_T(row->details_json), FW_SQL_I(row->size),
                                     FW_SQL_I(now)),
                         NULL, err);
    if (rc == FW_OK)
        rc = fw_sql_exec(s,
                         "UPDATE templates SET status = 'uploaded', error = NULL, type = $3, storage_key = $4, "
                         "details_json = $5, size = $6, version = $7, updated_at = $8 "
                         "WHERE team_id = $1 AND id = $2",
                         FW_SQL_ARGS(FW_SQL_T(row->team_id), FW_SQL_T(row->id), FW_SQL_T(row->type),
                                     FW_SQL_T(row->storage_key), FW_SQL_T(row->details_json), FW_SQL_I(row->size),
                                     FW_SQL_I(last + 1), FW_SQL_I(now)),
                         NULL, err);
    rc = fw_sql_end(s, rc, err);
    if (rc == FW_OK) {
        row->version = (int)(last + 1);
        snprintf(row->status, sizeof(row->status), "%s", FW_TEMPLATE_UPLOADED);
        row->updated_at = now;
    }
    return rc;
}

fw_err fw_store_template_versions(fw_store *s, const char *team_id, const char *id, fw_template_version_row **rows,
                                  size_t *count, fw_error *err)
{
    fw_template_version_row *list = NULL;
    size_t n = 0, room = 0;
    int got = 0, found = 0;
    int64_t exists = 0;
    fw_err rc;

    *rows = NULL;
    *count = 0;
    rc = fw_sql_int(s, "SELECT COUNT(*) FROM templates WHERE team_id = $1 AND id = $2",
                    FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(id)), &exists, &found, err);
    if (rc != FW_OK)
        return rc;
    if (!exists)
        return fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no template with id %s", id);
    rc = s->ops->query(s,
                       "SELECT " VERSION_COLUMNS ", (SELECT COUNT(*) FROM jobs j WHERE j.template_id = v.template_id "
                       "AND j.template_version = v.version AND j.status IN ('queued', 'pending', 'render:dorender')) "
                       "FROM template_versions v WHERE v.template_id = $1 ORDER BY v.version DESC",
                       FW_SQL_ARGS(FW_SQL_T(id)), err);
    while (rc == FW_OK && (got = s->ops->row(s, err)) > 0) {
        if (n == room) {
            size_t bigger = room ? room * 2 : 8;
            fw_template_version_row *grown = realloc(list, bigger * sizeof(*list));
            if (!grown) {
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing versions");
                break;
            }
            list = grown;
            room = bigger;
        }
        read_version(s, &list[n]);
        list[n++].unfinished_jobs = s->ops->col_int(s, 7);
    }
    if (rc == FW_OK && got < 0)
        rc = err ? err->code : FW_ERR_INTERNAL;
    s->ops->done(s);
    if (rc != FW_OK) {
        fw_template_version_rows_free(&list, n);
        return rc;
    }
    *rows = list;
    *count = n;
    return FW_OK;
}

fw_err fw_store_template_version_get(fw_store *s, const char *team_id, const char *id, int version,
                                     fw_template_version_row *out, fw_error *err)
{
    fw_err rc = s->ops->query(s,
                              "SELECT " VERSION_COLUMNS " FROM template_versions v JOIN templates t "
                              "ON t.id = v.template_id WHERE t.team_id = $1 AND v.template_id = $2 AND v.version = $3",
                              FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(id), FW_SQL_I(version)), err);
    memset(out, 0, sizeof(*out));
    if (rc == FW_OK) {
        int got = s->ops->row(s, err);
        if (got > 0)
            read_version(s, out);
        else if (got == 0)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "version", "template %s has no version %d", id, version);
        else
            rc = err ? err->code : FW_ERR_INTERNAL;
    }
    s->ops->done(s);
    return rc;
}

fw_err fw_store_template_version_delete(fw_store *s, const char *team_id, const char *id, int version,
                                        char storage_key[256], fw_error *err)
{
    fw_template_version_row v;
    fw_template_row t;
    int64_t using = 0;
    fw_err rc = s->ops->begin(s, FW_TX_WRITE, err);

    storage_key[0] = '\0';
    memset(&t, 0, sizeof(t));
    if (rc != FW_OK)
        return rc;
    if ((rc = fw_store_template_get(s, team_id, id, &t, err)) == FW_OK &&
        (rc = fw_store_template_version_get(s, team_id, id, version, &v, err)) == FW_OK) {
        snprintf(storage_key, 256, "%s", v.storage_key);
        free(v.details_json);
        if (t.version == version)
            rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "version",
                              "version %d is the current one of template %s; upload another first, or delete the "
                              "template", version, id);
    }
    if (rc == FW_OK)
        rc = fw_sql_int(s,
                        "SELECT COUNT(*) FROM jobs WHERE template_id = $1 AND template_version = $2 "
                        "AND status IN ('queued', 'pending', 'render:dorender')",
                        FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_I(version)), &using, NULL, err);
    if (rc == FW_OK && using > 0)
        rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "version",
                          "version %d of template %s is used by %lld job(s) that have not ended; cancel them or "
                          "wait", version, id, (long long)using);
    if (rc == FW_OK)
        rc = fw_sql_exec(s, "DELETE FROM template_versions WHERE template_id = $1 AND version = $2",
                         FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_I(version)), NULL, err);
    fw_template_row_clear(&t);
    rc = fw_sql_end(s, rc, err);
    if (rc != FW_OK)
        storage_key[0] = '\0';
    return rc;
}
