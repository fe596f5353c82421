/*
 * template_service.c - framewright.v1.TemplateService: register a template,
 * upload its bundle, look inside it, rename, download and delete it.
 *
 * An upload is checked before it is kept: the bundle is written to a scratch
 * file (bounded in size), loaded and introspected with the same code that
 * renders it, and only then stored and marked uploaded - so a template that
 * would not render is refused at upload with the reason, not at the first
 * job.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/template.pb-c.h"
#include "server/api/service.h"
#include "server/template/template.h"
#include "server/util/clock.h"
#include "server/util/fs.h"
#include "server/util/id.h"
#include "server/util/log.h"

#define DEFAULT_PAGE 100
#define MAX_PAGE 1000
#define CHUNK_BYTES (64 * 1024)

static const char *const template_types[] = {"json", "lottie", "zip", NULL};

/* The API's JSON form of a template row; a new reference. */
static json_t *template_json(const fw_template_row *row, const char *upload_url, long upload_ttl)
{
    json_t *t = json_object(), *details = NULL, *comps = json_array(), *layers = json_array(), *comp, *layer;
    char text[FW_TIME_TEXT_SIZE];
    size_t i, j;

    json_object_set_new(t, "id", json_string(row->id));
    json_object_set_new(t, "type", json_string(row->type));
    json_object_set_new(t, "displayName", json_string(row->display_name ? row->display_name : ""));
    json_object_set_new(t, "status", json_string(row->status));
    json_object_set_new(t, "createdAt", json_string(fw_format_time(row->created_at, text)));
    json_object_set_new(t, "updatedAt", json_string(fw_format_time(row->updated_at ? row->updated_at : row->created_at, text)));
    if (row->details_json)
        details = json_loads(row->details_json, 0, NULL);
    /* Nexrender lists composition and layer names; the details say the rest. */
    json_array_foreach(json_object_get(details, "compositions"), i, comp) {
        json_array_append(comps, json_object_get(comp, "name"));
        json_array_foreach(json_object_get(comp, "layers"), j, layer) {
            json_t *name = json_object_get(layer, "name");
            size_t k;
            json_t *seen;
            int dup = 0;
            if (!json_is_string(name))
                continue;
            json_array_foreach(layers, k, seen) dup |= json_equal(seen, name);
            if (!dup)
                json_array_append(layers, name);
        }
    }
    json_object_set_new(t, "compositions", comps);
    json_object_set_new(t, "layers", layers);
    if (row->error)
        json_object_set_new(t, "error", json_string(row->error));
    if (details)
        json_object_set_new(t, "details", details);
    if (row->size)
        json_object_set_new(t, "size", json_integer(row->size));
    if (row->version)
        json_object_set_new(t, "version", json_integer(row->version));
    if (upload_url) {
        json_t *info = json_object();
        json_object_set_new(info, "url", json_string(upload_url));
        json_object_set_new(info, "method", json_string("PUT"));
        json_object_set_new(info, "expiresIn", json_integer(upload_ttl));
        json_object_set_new(info, "key", json_string(row->storage_key));
        json_object_set_new(t, "uploadInfo", info);
    }
    return t;
}

static fw_err template_message(fw_rpc_call *call, const fw_template_row *row, const char *upload_url, long ttl,
                               ProtobufCMessage **resp, fw_error *err)
{
    return fw_service_answer(call, &framewright__v1__template__descriptor, template_json(row, upload_url, ttl), resp,
                             err);
}

static fw_err not_found(fw_err rc, const char *id, fw_error *err)
{
    if (rc == FW_ERR_NOT_FOUND)
        return fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no template '%s'", id);
    return rc;
}

static fw_err create_template(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__CreateTemplateRequest *r = (const Framewright__V1__CreateTemplateRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    const char *type = r->type && *r->type ? r->type : "zip";
    char team[FW_ID_SIZE], *url = NULL;
    fw_template_row row;
    fw_store *store;
    int known = 0;
    fw_err rc;

    /* Who asks comes first: a stranger learns nothing about the request. */
    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    for (int i = 0; template_types[i]; i++)
        known |= strcmp(type, template_types[i]) == 0;
    if (!known)
        rc = fw_error_set(err, FW_ERR_INVALID, "type", "'%s' is not a template type; types: json, lottie, zip", type);
    else if (!r->display_name || !*r->display_name)
        rc = fw_error_set(err, FW_ERR_INVALID, "displayName", "is required");
    else if (strlen(r->display_name) > 256)
        rc = fw_error_set(err, FW_ERR_INVALID, "displayName", "is longer than 256 characters");
    if (rc) {
        fw_store_pool_put(svc->stores, store);
        return rc;
    }
    memset(&row, 0, sizeof(row));
    fw_id_new(row.id);
    snprintf(row.team_id, sizeof(row.team_id), "%s", team);
    snprintf(row.type, sizeof(row.type), "%s", type);
    snprintf(row.status, sizeof(row.status), FW_TEMPLATE_AWAITING_UPLOAD);
    snprintf(row.storage_key, sizeof(row.storage_key), "templates/%s/%s/bundle.%s", team, row.id, type);
    row.display_name = strdup(r->display_name);
    row.created_at = row.updated_at = fw_now_ms();
    if ((rc = fw_store_template_insert(store, &row, err)) == FW_OK &&
        (rc = fw_storage_signed_url(svc->storage, row.storage_key, FW_STORAGE_PUT, (long)svc->config.upload_url_ttl_s,
                                    &url, err)) == FW_OK)
        rc = template_message(call, &row, url, (long)svc->config.upload_url_ttl_s, resp, err);
    free(url);
    fw_template_row_clear(&row);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

/* Load and introspect the bundle at path: details (new reference) and format. */
static fw_err check_bundle(fw_service *svc, const char *path, json_t **details, char format[16], fw_error *err)
{
    char workdir[PATH_MAX];
    fw_template *tpl = NULL;
    fw_err rc;

    *details = NULL;
    if ((rc = fw_make_temp_dir(svc->config.scratch_dir, "fw-check-", workdir, sizeof(workdir), err)))
        return rc;
    rc = fw_template_load(&tpl, path, workdir, NULL, err);
    if (rc == FW_OK)
        rc = fw_template_introspect(tpl, details, err);
    if (rc == FW_OK)
        snprintf(format, 16, "%s", fw_template_format(tpl));
    fw_template_free(&tpl);
    fw_remove_tree(workdir);
    return rc;
}

/* Check the bundle in path and keep it as the template's next version:
 * stored, then published (store.h). The first bundle of a template goes
 * where CreateTemplate said; on a bad one the row says why (status error).
 * A later bundle gets a key of its own, and a bad one leaves the template
 * as it was. */
fw_err fw_service_template_accept(fw_service *svc, fw_store *store, fw_template_row *row, const char *path,
                                  int64_t size, fw_error *err)
{
    int next = strcmp(row->status, FW_TEMPLATE_UPLOADED) == 0;
    json_t *details = NULL;
    char format[16];
    fw_err rc;

    rc = check_bundle(svc, path, &details, format, err);
    if (rc != FW_OK) {
        if (!next) {
            char text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4];
            fw_error wrote;
            fw_error_text(err, text, sizeof(text));
            snprintf(row->status, sizeof(row->status), FW_TEMPLATE_ERROR);
            free(row->error);
            row->error = strdup(text);
            free(row->details_json);
            row->details_json = NULL;
            fw_store_template_update(store, row, &wrote);
        }
        /* The client hears about its bundle, whatever the loader's code was. */
        if (rc != FW_ERR_LIMIT && rc != FW_ERR_NOMEM)
            rc = FW_ERR_INVALID;
        err->code = rc;
        if (!err->field[0])
            snprintf(err->field, sizeof(err->field), "data");
        return rc;
    }
    if (next) {
        char unique[FW_ID_SIZE];
        fw_id_new(unique);
        snprintf(row->storage_key, sizeof(row->storage_key), "templates/%s/%s/%s/bundle.%s", row->team_id, row->id,
                 unique, format);
    }
    if ((rc = fw_storage_put_file(svc->storage, row->storage_key, path, err)) == FW_OK) {
        snprintf(row->type, sizeof(row->type), "%s", format);
        free(row->details_json);
        row->details_json = json_dumps(details, JSON_COMPACT);
        row->size = size;
        free(row->error);
        row->error = NULL;
        if ((rc = fw_store_template_publish(store, row, err)) != FW_OK && next) {
            fw_error ignored;
            fw_storage_delete(svc->storage, row->storage_key, &ignored);
        }
    }
    json_decref(details);
    return rc;
}

void fw_service_on_upload(void *ctx, const char *key)
{
    fw_service *svc = ctx;
    char team[FW_ID_SIZE], id[FW_ID_SIZE], path[PATH_MAX];
    fw_template_row row;
    fw_store *store = NULL;
    struct stat st;
    fw_error err;

    /* templates/<team>/<id>/bundle.<type> */
    if (sscanf(key, "templates/%31[^/]/%31[^/]/bundle.", team, id) != 2)
        return;
    if (fw_storage_local_path(svc->storage, key, path, sizeof(path), &err) != FW_OK || stat(path, &st) != 0)
        return;
    if (fw_store_pool_get(svc->stores, &store, &err) != FW_OK) {
        fw_log(FW_LOG_WARN, "templates", "upload of %s: %s", id, err.message);
        return;
    }
    memset(&row, 0, sizeof(row));
    if (fw_store_template_get(store, team, id, &row, &err) == FW_OK && strcmp(row.storage_key, key) == 0 &&
        strcmp(row.status, FW_TEMPLATE_UPLOADED) != 0 &&
        fw_service_template_accept(svc, store, &row, path, (int64_t)st.st_size, &err) != FW_OK)
        fw_log(FW_LOG_INFO, "templates", "template %s refused: %s", id, err.message);
    fw_template_row_clear(&row);
    fw_store_pool_put(svc->stores, store);
}

static fw_err upload_template(fw_rpc_call *call, ProtobufCMessage **resp, fw_error *err)
{
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE], path[PATH_MAX] = "";
    fw_template_row row;
    fw_store *store = NULL;
    int64_t size = 0;
    FILE *f = NULL;
    fw_err rc;
    int fd;

    memset(&row, 0, sizeof(row));
    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    snprintf(path, sizeof(path), "%s/fw-upload-XXXXXX", svc->config.scratch_dir ? svc->config.scratch_dir : "/tmp");
    if ((fd = fw_create_temp_file(path)) < 0 || !(f = fdopen(fd, "wb"))) {
        rc = fw_error_set(err, FW_ERR_IO, NULL, "cannot make a scratch file for the upload: %s", strerror(errno));
        path[0] = '\0';
        goto done;
    }
    for (;;) {
        Framewright__V1__TemplateChunk *chunk = NULL;
        if ((rc = fw_rpc_read(call, (ProtobufCMessage **)&chunk, err)))
            goto done;
        if (!chunk)
            break;
        if (!row.id[0]) {
            /* The first message names the template. */
            if (!chunk->id || !*chunk->id) {
                protobuf_c_message_free_unpacked(&chunk->base, NULL);
                rc = fw_error_set(err, FW_ERR_INVALID, "id", "the first message must name the template");
                goto done;
            }
            /* A template with a bundle already gets another version. */
            rc = not_found(fw_store_template_get(store, team, chunk->id, &row, err), chunk->id, err);
            if (rc) {
                protobuf_c_message_free_unpacked(&chunk->base, NULL);
                goto done;
            }
        }
        size += (int64_t)chunk->data.len;
        if (size > svc->config.max_template_bytes) {
            protobuf_c_message_free_unpacked(&chunk->base, NULL);
            rc = fw_error_set(err, FW_ERR_LIMIT, "data", "the bundle is larger than %lld bytes",
                              (long long)svc->config.max_template_bytes);
            goto done;
        }
        if (chunk->data.len && fwrite(chunk->data.data, 1, chunk->data.len, f) != chunk->data.len)
            rc = fw_error_set(err, FW_ERR_IO, NULL, "cannot write the upload: %s", strerror(errno));
        protobuf_c_message_free_unpacked(&chunk->base, NULL);
        if (rc)
            goto done;
    }
    if (!row.id[0]) {
        rc = fw_error_set(err, FW_ERR_INVALID, "id", "the upload named no template");
        goto done;
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = fw_error_set(err, FW_ERR_IO, NULL, "cannot write the upload");
        goto done;
    }
    f = NULL;
    if (size == 0) {
        rc = fw_error_set(err, FW_ERR_INVALID, "data", "the upload is empty");
        goto done;
    }
    if ((rc = fw_service_template_accept(svc, store, &row, path, size, err)) == FW_OK) {
        char id[FW_ID_SIZE];
        memcpy(id, row.id, sizeof(id));
        fw_template_row_clear(&row);
        /* Read back what was written, as GetTemplate shows it. */
        if ((rc = fw_store_template_get(store, team, id, &row, err)) == FW_OK)
            rc = template_message(call, &row, NULL, 0, resp, err);
    }
done:
    if (f)
        fclose(f);
    if (path[0])
        unlink(path);
    fw_template_row_clear(&row);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

/* On S3 a bundle PUT to CreateTemplate's signed URL reaches the bucket
 * without passing here. A template still awaiting its bundle is looked for
 * there when it is read, and what is found is checked and kept like a
 * streamed upload (one at a time in this server). row is read again. */
fw_err fw_service_template_pick_up(fw_service *svc, fw_store *store, fw_template_row *row, fw_error *err)
{
    static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;
    char path[PATH_MAX], team[FW_ID_SIZE], id[FW_ID_SIZE];
    fw_storage_stat st;
    fw_error why;
    fw_err rc;
    int fd;

    if (strcmp(row->status, FW_TEMPLATE_AWAITING_UPLOAD) != 0 || fw_storage_get_kind(svc->storage) == FW_STORAGE_LOCAL)
        return FW_OK;
    memset(&st, 0, sizeof(st));
    if (fw_storage_stat_key(svc->storage, row->storage_key, &st, &why) != FW_OK || !st.exists)
        return FW_OK; /* not there (yet): still awaiting its upload */
    pthread_mutex_lock(&one_at_a_time);
    memcpy(team, row->team_id, sizeof(team));
    memcpy(id, row->id, sizeof(id));
    fw_template_row_clear(row);
    /* Another call may have taken it meanwhile. */
    if ((rc = fw_store_template_get(store, team, id, row, err)) != FW_OK ||
        strcmp(row->status, FW_TEMPLATE_AWAITING_UPLOAD) != 0) {
        pthread_mutex_unlock(&one_at_a_time);
        return rc;
    }
    snprintf(path, sizeof(path), "%s/fw-upload-XXXXXX", svc->config.scratch_dir ? svc->config.scratch_dir : "/tmp");
    if ((fd = fw_create_temp_file(path)) < 0) {
        pthread_mutex_unlock(&one_at_a_time);
        return fw_error_set(err, FW_ERR_IO, NULL, "cannot make a scratch file for the upload: %s", strerror(errno));
    }
    close(fd);
    if ((int64_t)st.size > svc->config.max_template_bytes) {
        fw_error wrote;
        snprintf(row->status, sizeof(row->status), FW_TEMPLATE_ERROR);
        free(row->error);
        row->error = strdup("data: the bundle is larger than the server takes");
        fw_store_template_update(store, row, &wrote);
    } else if (fw_storage_get_file(svc->storage, row->storage_key, path, &why) == FW_OK) {
        /* A bad bundle marks the row (status error); the call that read it still answers. */
        fw_service_template_accept(svc, store, row, path, (int64_t)st.size, &why);
    }
    unlink(path);
    fw_template_row_clear(row);
    rc = fw_store_template_get(store, team, id, row, err);
    pthread_mutex_unlock(&one_at_a_time);
    return rc;
}

static fw_err get_template(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__GetTemplateRequest *r = (const Framewright__V1__GetTemplateRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE];
    fw_template_row row;
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    memset(&row, 0, sizeof(row));
    if ((rc = not_found(fw_store_template_get(store, team, r->id, &row, err), r->id, err)) == FW_OK &&
        (rc = fw_service_template_pick_up(svc, store, &row, err)) == FW_OK)
        rc = template_message(call, &row, NULL, 0, resp, err);
    fw_template_row_clear(&row);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err list_templates(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__ListTemplatesRequest *r = (const Framewright__V1__ListTemplatesRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    int limit = r->page_size ? r->page_size : DEFAULT_PAGE;
    fw_template_row *rows = NULL;
    char team[FW_ID_SIZE];
    size_t count = 0;
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if ((rc = fw_service_check_page(r->page_size, r->page_token, err))) {
        fw_store_pool_put(svc->stores, store);
        return rc;
    }
    rc = fw_store_template_list(store, team, limit, r->page_token && *r->page_token ? r->page_token : NULL, &rows,
                                &count, err);
    if (rc == FW_OK) {
        json_t *out = json_object(), *list = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(list, template_json(&rows[i], NULL, 0));
        json_object_set_new(out, "templates", list);
        if (count == (size_t)limit)
            json_object_set_new(out, "nextPageToken", json_string(rows[count - 1].id));
        rc = fw_service_answer(call, &framewright__v1__list_templates_response__descriptor, out, resp, err);
    }
    fw_template_rows_free(&rows, count);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err update_template(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__UpdateTemplateRequest *r = (const Framewright__V1__UpdateTemplateRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE];
    fw_template_row row;
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    memset(&row, 0, sizeof(row));
    if (!r->display_name || !*r->display_name)
        rc = fw_error_set(err, FW_ERR_INVALID, "displayName", "is required");
    else if (strlen(r->display_name) > 256)
        rc = fw_error_set(err, FW_ERR_INVALID, "displayName", "is longer than 256 characters");
    else if ((rc = not_found(fw_store_template_get(store, team, r->id, &row, err), r->id, err)) == FW_OK) {
        free(row.display_name);
        row.display_name = strdup(r->display_name);
        if ((rc = fw_store_template_update(store, &row, err)) == FW_OK) {
            fw_template_row_clear(&row);
            if ((rc = fw_store_template_get(store, team, r->id, &row, err)) == FW_OK)
                rc = template_message(call, &row, NULL, 0, resp, err);
        }
    }
    fw_template_row_clear(&row);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

/* The empty answer of a delete. */
static fw_err deleted(fw_rpc_call *call, ProtobufCMessage **resp, fw_error *err)
{
    Framewright__V1__DeleteTemplateResponse *out = fw_rpc_alloc(call, sizeof(*out));
    if (!out)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    framewright__v1__delete_template_response__init(out);
    *resp = &out->base;
    return FW_OK;
}

static fw_err delete_template(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__DeleteTemplateRequest *r = (const Framewright__V1__DeleteTemplateRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    fw_template_version_row *versions = NULL;
    size_t version_count = 0;
    char team[FW_ID_SIZE];
    fw_template_row row;
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    memset(&row, 0, sizeof(row));
    if ((rc = not_found(fw_store_template_get(store, team, r->id, &row, err), r->id, err)) == FW_OK &&
        (rc = fw_store_template_versions(store, team, r->id, &versions, &version_count, err)) == FW_OK) {
        rc = fw_store_template_delete(store, team, r->id, err);
        if (rc == FW_ERR_FAILED_PRECONDITION)
            rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "id",
                              "template '%s' is used by jobs that have not ended; cancel them or wait", r->id);
        if (rc == FW_OK) {
            fw_error ignored;
            /* The rows are gone; a blob left behind is only wasted space. */
            for (size_t i = 0; i < version_count; i++)
                fw_storage_delete(svc->storage, versions[i].storage_key, &ignored);
            if (row.storage_key[0] && strcmp(row.status, FW_TEMPLATE_UPLOADED) == 0 && !version_count)
                fw_storage_delete(svc->storage, row.storage_key, &ignored);
        }
    }
    fw_template_version_rows_free(&versions, version_count);
    fw_template_row_clear(&row);
    fw_store_pool_put(svc->stores, store);
    if (rc)
        return rc;
    return deleted(call, resp, err);
}

static fw_err download_template(fw_rpc_call *call, const ProtobufCMessage *req, fw_rpc_stream *stream, fw_error *err)
{
    const Framewright__V1__GetTemplateRequest *r = (const Framewright__V1__GetTemplateRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE], path[PATH_MAX] = "";
    unsigned char *buf = NULL;
    fw_template_row row;
    fw_store *store;
    FILE *f = NULL;
    fw_err rc;
    int fd;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    memset(&row, 0, sizeof(row));
    rc = not_found(fw_store_template_get(store, team, r->id, &row, err), r->id, err);
    fw_store_pool_put(svc->stores, store);
    if (rc == FW_OK && strcmp(row.status, FW_TEMPLATE_UPLOADED) != 0)
        rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "id", "template '%s' has no bundle yet (%s)", r->id,
                          row.status);
    if (rc == FW_OK) {
        snprintf(path, sizeof(path), "%s/fw-download-XXXXXX", svc->config.scratch_dir ? svc->config.scratch_dir : "/tmp");
        if ((fd = fw_create_temp_file(path)) < 0) {
            path[0] = '\0';
            rc = fw_error_set(err, FW_ERR_IO, NULL, "cannot make a scratch file: %s", strerror(errno));
        } else {
            close(fd);
            rc = fw_storage_get_file(svc->storage, row.storage_key, path, err);
        }
    }
    if (rc == FW_OK && (!(f = fopen(path, "rb")) || !(buf = malloc(CHUNK_BYTES))))
        rc = fw_error_set(err, FW_ERR_IO, NULL, "cannot read the bundle");
    /* Sent from this worker thread, waiting for the client as it reads. */
    for (int first = 1; rc == FW_OK;) {
        Framewright__V1__TemplateChunk chunk = FRAMEWRIGHT__V1__TEMPLATE_CHUNK__INIT;
        size_t n = fread(buf, 1, CHUNK_BYTES, f);
        if (n == 0 && !first)
            break;
        chunk.id = first ? row.id : (char *)"";
        chunk.data.data = buf;
        chunk.data.len = n;
        first = 0;
        rc = fw_rpc_stream_send_wait(stream, &chunk.base, 30000, err);
        if (n < CHUNK_BYTES)
            break;
    }
    if (f)
        fclose(f);
    free(buf);
    if (path[0])
        unlink(path);
    fw_template_row_clear(&row);
    if (rc)
        return rc;
    fw_rpc_stream_finish(stream, FW_OK, NULL);
    return FW_OK;
}

static void download_gone(fw_rpc_stream *stream, void *ctx)
{
    /* Never called: the handler finishes its stream before returning. */
    (void)stream;
    (void)ctx;
}

/* ---- versions -------------------------------------------------------------------------------- */

static fw_err list_template_versions(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                     fw_error *err)
{
    const Framewright__V1__ListTemplateVersionsRequest *r = (const Framewright__V1__ListTemplateVersionsRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    fw_template_version_row *rows = NULL;
    char team[FW_ID_SIZE];
    fw_template_row tpl;
    size_t count = 0;
    fw_store *store;
    json_t *answer = NULL, *list;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    memset(&tpl, 0, sizeof(tpl));
    if ((rc = not_found(fw_store_template_get(store, team, r->id, &tpl, err), r->id, err)) == FW_OK &&
        (rc = not_found(fw_store_template_versions(store, team, r->id, &rows, &count, err), r->id, err)) == FW_OK) {
        answer = json_object();
        list = json_array();
        for (size_t i = 0; i < count; i++) {
            fw_template_row shown = tpl;
            json_t *t, *v = json_object();
            char text[FW_TIME_TEXT_SIZE];
            /* The names as GetTemplate lists them, from this version's details. */
            shown.details_json = rows[i].details_json;
            shown.error = NULL;
            shown.version = 0;
            t = template_json(&shown, NULL, 0);
            json_object_set_new(v, "version", json_integer(rows[i].version));
            json_object_set_new(v, "type", json_string(rows[i].type));
            json_object_set_new(v, "size", json_integer(rows[i].size));
            json_object_set_new(v, "createdAt", json_string(fw_format_time(rows[i].created_at, text)));
            json_object_set_new(v, "current", json_boolean(rows[i].version == tpl.version));
            json_object_set_new(v, "unfinishedJobs", json_integer(rows[i].unfinished_jobs));
            json_object_set(v, "compositions", json_object_get(t, "compositions"));
            json_object_set(v, "layers", json_object_get(t, "layers"));
            json_decref(t);
            json_array_append_new(list, v);
        }
        json_object_set_new(answer, "versions", list);
    }
    fw_template_version_rows_free(&rows, count);
    fw_template_row_clear(&tpl);
    fw_store_pool_put(svc->stores, store);
    if (rc)
        return rc;
    return fw_service_answer(call, &framewright__v1__list_template_versions_response__descriptor, answer, resp, err);
}

static fw_err delete_template_version(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                      fw_error *err)
{
    const Framewright__V1__DeleteTemplateVersionRequest *r =
        (const Framewright__V1__DeleteTemplateVersionRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE], key[256];
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if (r->version < 1)
        rc = fw_error_set(err, FW_ERR_INVALID, "version", "a version is a number from 1, not %d", (int)r->version);
    else if ((rc = fw_store_template_version_delete(store, team, r->id, r->version, key, err)) == FW_OK && key[0]) {
        fw_error ignored;
        /* The row is gone; a blob left behind is only wasted space. */
        fw_storage_delete(svc->storage, key, &ignored);
    }
    if (rc == FW_ERR_NOT_FOUND && err && strcmp(err->field, "id") == 0)
        rc = not_found(rc, r->id, err);
    fw_store_pool_put(svc->stores, store);
    if (rc)
        return rc;
    return deleted(call, resp, err);
}

fw_err fw_template_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err)
{
    fw_err rc;
    if ((rc = fw_rpc_server_on_unary(srv, "/framewright.v1.TemplateService/CreateTemplate", create_template, svc,
                                     err)) ||
        (rc = fw_rpc_server_on_client_stream(srv, "/framewright.v1.TemplateService/UploadTemplate", upload_template,
                                             svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.TemplateService/GetTemplate", get_template, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.TemplateService/ListTemplates", list_templates, svc,
                                     err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.TemplateService/UpdateTemplate", update_template, svc,
                                     err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.TemplateService/DeleteTemplate", delete_template, svc,
                                     err)) ||
        (rc = fw_rpc_server_on_server_stream(srv, "/framewright.v1.TemplateService/DownloadTemplate",
                                             download_template, download_gone, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.TemplateService/ListTemplateVersions",
                                     list_template_versions, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.TemplateService/DeleteTemplateVersion",
                                     delete_template_version, svc, err)))
        return rc;
    return FW_OK;
}
