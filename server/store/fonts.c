/*
 * fonts.c - a team's uploaded fonts in the store (the files themselves are in
 * blob storage under storage_key), and the rule that says which font a name
 * means.
 */
#include "server/store/store_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FONT_COLUMNS "id, team_id, file_name, family_name, postscript_name, style, storage_key, size, created_at"
#define MAX_FONTS 10000

static void read_font(fw_store *s, fw_font_row *f)
{
    memset(f, 0, sizeof(*f));
    fw_sql_copy(s, 0, f->id, sizeof(f->id));
    fw_sql_copy(s, 1, f->team_id, sizeof(f->team_id));
    fw_sql_copy(s, 2, f->file_name, sizeof(f->file_name));
    fw_sql_copy(s, 3, f->family_name, sizeof(f->family_name));
    fw_sql_copy(s, 4, f->postscript_name, sizeof(f->postscript_name));
    fw_sql_copy(s, 5, f->style, sizeof(f->style));
    fw_sql_copy(s, 6, f->storage_key, sizeof(f->storage_key));
    f->size = s->ops->col_int(s, 7);
    f->created_at = s->ops->col_int(s, 8);
}

void fw_font_rows_free(fw_font_row **rows, size_t count)
{
    (void)count;
    free(*rows);
    *rows = NULL;
}

int fw_font_row_matches(const fw_font_row *row, const char *name)
{
    if (!name || !*name)
        return 0;
    return strcasecmp(row->file_name, name) == 0 || strcasecmp(row->family_name, name) == 0 ||
           (row->postscript_name[0] && strcasecmp(row->postscript_name, name) == 0);
}

fw_err fw_store_font_insert(fw_store *s, const fw_font_row *row, fw_error *err)
{
    int64_t now = row->created_at ? row->created_at : fw_store_now();
    fw_err rc = fw_sql_exec(s,
                            "INSERT INTO fonts (" FONT_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            FW_SQL_ARGS(FW_SQL_T(row->id), FW_SQL_T(row->team_id), FW_SQL_T(row->file_name),
                                        FW_SQL_T(row->family_name), FW_SQL_T(row->postscript_name),
                                        FW_SQL_T(row->style), FW_SQL_T(row->storage_key), FW_SQL_I(row->size),
                                        FW_SQL_I(now)),
                            NULL, err);
    if (rc == FW_ERR_ALREADY_EXISTS)
        return fw_error_set(err, rc, "fileName", "a font file named '%s' already exists; delete it first",
                            row->file_name);
    return rc;
}

fw_err fw_store_font_get(fw_store *s, const char *team_id, const char *id, fw_font_row *out, fw_error *err)
{
    fw_err rc = s->ops->query(s, "SELECT " FONT_COLUMNS " FROM fonts WHERE team_id = $1 AND id = $2",
                              FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(id)), err);
    if (rc == FW_OK) {
        int got = s->ops->row(s, err);
        if (got > 0)
            read_font(s, out);
        else if (got == 0)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no font '%s'", id);
        else
            rc = err ? err->code : FW_ERR_INTERNAL;
    }
    s->ops->done(s);
    return rc;
}

fw_err fw_store_font_list(fw_store *s, const char *team_id, fw_font_row **rows, size_t *count, fw_error *err)
{
    size_t n = 0, cap = 16;
    fw_font_row *list = malloc(cap * sizeof(*list));
    fw_err rc;
    int got = 0;

    *rows = NULL;
    *count = 0;
    if (!list)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing fonts");
    rc = s->ops->query(s, "SELECT " FONT_COLUMNS " FROM fonts WHERE team_id = $1 ORDER BY created_at, id LIMIT $2",
                       FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_I(MAX_FONTS)), err);
    while (rc == FW_OK && (got = s->ops->row(s, err)) > 0) {
        if (n == cap) {
            fw_font_row *bigger = realloc(list, cap * 2 * sizeof(*list));
            if (!bigger) {
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing fonts");
                break;
            }
            list = bigger;
            cap *= 2;
        }
        read_font(s, &list[n++]);
    }
    if (rc == FW_OK && got < 0)
        rc = err ? err->code : FW_ERR_INTERNAL;
    s->ops->done(s);
    if (rc) {
        free(list);
        return rc;
    }
    *rows = list;
    *count = n;
    return FW_OK;
}

fw_err fw_store_font_delete(fw_store *s, const char *team_id, const char *id, fw_error *err)
{
    int64_t changed = 0;
    fw_err rc = fw_sql_exec(s, "DELETE FROM fonts WHERE team_id = $1 AND id = $2",
                            FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(id)), &changed, err);
    if (rc == FW_OK && changed == 0)
        return fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no font '%s'", id);
    return rc;
}
