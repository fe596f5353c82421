/*
 * font_service.c - framewright.v1.FontService: a team's font files, uploaded
 * once and used by its jobs by file, family or PostScript name.
 *
 * An upload is read with FreeType before it is kept, so a file that is not a
 * font is refused at once, and the names jobs are matched by come from the
 * file itself. Files are in blob storage under fonts/<team>/<id>/<file name>.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "proto/font.pb-c.h"
#include "server/api/service.h"
#include "server/secrets/job_inputs.h"
#include "server/text/fonts.h"
#include "server/util/clock.h"
#include "server/util/fs.h"
#include "server/util/id.h"

#define DEFAULT_MAX_FONT_BYTES (50LL << 20)

static json_t *font_json(const fw_font_row *row)
{
    char text[FW_TIME_TEXT_SIZE];
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "id", row->id, "familyName", row->family_name, "fileName",
                     row->file_name, "postscriptName", row->postscript_name, "style", row->style, "createdAt",
                     fw_format_time(row->created_at, text), "size", (json_int_t)row->size);
}

/* A plain file name with a font's extension. */
static fw_err check_file_name(const char *name, fw_error *err)
{
    static const char *const exts[] = {".ttf", ".otf", ".ttc", ".otc"};
    const char *dot = name ? strrchr(name, '.') : NULL;
    int known = 0;

    if (!name || !*name)
        return fw_error_set(err, FW_ERR_INVALID, "fileName", "is required");
    if (strlen(name) > 200 || strpbrk(name, "/\\") || name[0] == '.')
        return fw_error_set(err, FW_ERR_INVALID, "fileName",
                            "must be a plain file name of at most 200 characters, not a path");
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fw_error_set(err, FW_ERR_INVALID, "fileName", "must not hold control characters");
    for (size_t i = 0; dot && i < sizeof(exts) / sizeof(exts[0]); i++)
        known |= strcasecmp(dot, exts[i]) == 0;
    if (!known)
        return fw_error_set(err, FW_ERR_INVALID, "fileName", "'%s' is not a .ttf, .otf, .ttc or .otc file", name);
    return FW_OK;
}

static fw_err upload_font(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__UploadFontRequest *r = (const Framewright__V1__UploadFontRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    int64_t limit = svc->config.max_font_bytes > 0 ? svc->config.max_font_bytes : DEFAULT_MAX_FONT_BYTES;
    char team[FW_ID_SIZE], path[PATH_MAX];
    fw_font_info info;
    fw_font_row row;
    fw_store *store;
    fw_err rc;
    FILE *f;
    int fd;

    if ((rc = check_file_name(r->file_name, err)))
        return rc;
    if (r->data.len == 0)
        return fw_error_set(err, FW_ERR_INVALID, "data", "the font file is empty");
    if ((int64_t)r->data.len > limit)
        return fw_error_set(err, FW_ERR_LIMIT, "data", "the font file is larger than %lld bytes", (long long)limit);
    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    snprintf(path, sizeof(path), "%s/fw-font-XXXXXX", svc->config.scratch_dir ? svc->config.scratch_dir : "/tmp");
    if ((fd = fw_create_temp_file(path)) < 0 || !(f = fdopen(fd, "wb"))) {
        if (fd >= 0)
            close(fd);
        fw_store_pool_put(svc->stores, store);
        return fw_error_set(err, FW_ERR_IO, NULL, "cannot make a scratch file for the font: %s", strerror(errno));
    }
    rc = fwrite(r->data.data, 1, r->data.len, f) == r->data.len ? FW_OK
                                                                 : fw_error_set(err, FW_ERR_IO, NULL, "cannot write the font");
    if (fclose(f) != 0 && rc == FW_OK)
        rc = fw_error_set(err, FW_ERR_IO, NULL, "cannot write the font");
    if (rc == FW_OK && (rc = fw_font_read_info(path, &info, err)) != FW_OK)
        rc = fw_error_set(err, FW_ERR_INVALID, "data", "'%s' is not a font file FreeType can read", r->file_name);
    if (rc == FW_OK) {
        memset(&row, 0, sizeof(row));
        fw_id_new(row.id);
        snprintf(row.team_id, sizeof(row.team_id), "%s", team);
        snprintf(row.file_name, sizeof(row.file_name), "%s", r->file_name);
        snprintf(row.family_name, sizeof(row.family_name), "%s",
                 r->family_name && *r->family_name ? r->family_name : info.family);
        snprintf(row.postscript_name, sizeof(row.postscript_name), "%s", info.postscript_name);
        snprintf(row.style, sizeof(row.style), "%s", info.style);
        snprintf(row.storage_key, sizeof(row.storage_key), "fonts/%s/%s/%s", team, row.id, r->file_name);
        row.size = (int64_t)r->data.len;
        row.created_at = fw_now_ms();
        if ((rc = fw_storage_put_file(svc->storage, row.storage_key, path, err)) == FW_OK &&
            (rc = fw_store_font_insert(store, &row, err)) != FW_OK) {
            fw_error ignored;
            fw_storage_delete(svc->storage, row.storage_key, &ignored);
        }
        if (rc == FW_OK)
            rc = fw_service_answer(call, &framewright__v1__font__descriptor, font_json(&row), resp, err);
    }
    unlink(path);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err list_fonts(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    fw_service *svc = fw_rpc_call_context(call);
    fw_font_row *rows = NULL;
    char team[FW_ID_SIZE];
    size_t count = 0;
    fw_store *store;
    fw_err rc;

    (void)req;
    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if ((rc = fw_store_font_list(store, team, &rows, &count, err)) == FW_OK) {
        json_t *list = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(list, font_json(&rows[i]));
        rc = fw_service_answer(call, &framewright__v1__list_fonts_response__descriptor, json_pack("{s:o}", "fonts", list), resp,
                    err);
    }
    fw_font_rows_free(&rows, count);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err get_font(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__GetFontRequest *r = (const Framewright__V1__GetFontRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE];
    fw_font_row row;
    fw_store *store;
    fw_err rc;

    if (!r->id || !*r->id)
        return fw_error_set(err, FW_ERR_INVALID, "id", "is required");
    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if ((rc = fw_store_font_get(store, team, r->id, &row, err)) == FW_OK)
        rc = fw_service_answer(call, &framewright__v1__font__descriptor, font_json(&row), resp, err);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

/* Whether a job that has not ended would be given this font: the first team
 * font matching one of its needs is this one. */
static fw_err font_in_use(fw_store *store, const char *team, const fw_font_row *font, char job_id[FW_ID_SIZE],
                          fw_error *err)
{
    static const char *const open_statuses[] = {FW_STATUS_QUEUED, FW_STATUS_PENDING, FW_STATUS_RENDERING};
    fw_font_row *fonts = NULL;
    json_t *details_by_template = json_object();
    size_t font_count = 0;
    fw_err rc;

    job_id[0] = '\0';
    rc = fw_store_font_list(store, team, &fonts, &font_count, err);
    for (size_t s = 0; rc == FW_OK && !job_id[0] && s < 3; s++) {
        char after[FW_ID_SIZE] = "";
        for (;;) {
            fw_job_filter filter = {.team_id = team, .status = open_statuses[s], .limit = 1000,
                                    .after_id = after[0] ? after : NULL};
            fw_job_row *rows = NULL;
            size_t count = 0;
            if ((rc = fw_store_job_list(store, &filter, &rows, &count, err)))
                break;
            for (size_t j = 0; j < count && !job_id[0]; j++) {
                json_t *job = json_loads(rows[j].request_json, 0, NULL), *details = NULL, *needs, *need;
                size_t k;
                if (rows[j].template_id[0]) {
                    details = json_object_get(details_by_template, rows[j].template_id);
                    if (!details) {
                        fw_template_row tpl;
                        memset(&tpl, 0, sizeof(tpl));
                        if (fw_store_template_get(store, team, rows[j].template_id, &tpl, NULL) == FW_OK &&
                            tpl.details_json)
                            details = json_loads(tpl.details_json, 0, NULL);
                        fw_template_row_clear(&tpl);
                        json_object_set_new(details_by_template, rows[j].template_id, details ? details : json_null());
                    }
                }
                needs = fw_job_font_needs(job, json_is_object(details) ? details : NULL);
                json_array_foreach(needs, k, need) {
                    int f = fw_job_font_choose(need, fonts, font_count);
                    if (f >= 0 && strcmp(fonts[f].id, font->id) == 0) {
                        snprintf(job_id, FW_ID_SIZE, "%s", rows[j].id);
                        break;
                    }
                }
                json_decref(needs);
                json_decref(job);
            }
            if (count)
                snprintf(after, sizeof(after), "%s", rows[count - 1].id);
            fw_job_rows_free(&rows, count);
            if (count < 1000 || job_id[0])
                break;
        }
    }
    json_decref(details_by_template);
    fw_font_rows_free(&fonts, font_count);
    return rc;
}

static fw_err delete_font(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__GetFontRequest *r = (const Framewright__V1__GetFontRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    Framewright__V1__DeleteFontResponse *out;
    char team[FW_ID_SIZE], job[FW_ID_SIZE];
    fw_font_row row;
    fw_store *store;
    fw_err rc;

    if (!r->id || !*r->id)
        return fw_error_set(err, FW_ERR_INVALID, "id", "is required");
    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if ((rc = fw_store_font_get(store, team, r->id, &row, err)) == FW_OK &&
        (rc = font_in_use(store, team, &row, job, err)) == FW_OK) {
        if (job[0])
            rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "id",
                              "font '%s' is used by job %s, which has not ended; cancel it or wait", row.file_name,
                              job);
        else if ((rc = fw_store_font_delete(store, team, r->id, err)) == FW_OK) {
            fw_error ignored;
            /* The row is gone; a blob left behind is only wasted space. */
            fw_storage_delete(svc->storage, row.storage_key, &ignored);
        }
    }
    fw_store_pool_put(svc->stores, store);
    if (rc)
        return rc;
    if (!(out = fw_rpc_alloc(call, sizeof(*out))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    framewright__v1__delete_font_response__init(out);
    *resp = &out->base;
    return FW_OK;
}

fw_err fw_font_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err)
{
    fw_err rc;
    if ((rc = fw_rpc_server_on_unary(srv, "/framewright.v1.FontService/UploadFont", upload_font, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.FontService/ListFonts", list_fonts, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.FontService/GetFont", get_font, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.FontService/DeleteFont", delete_font, svc, err)))
        return rc;
    return FW_OK;
}
