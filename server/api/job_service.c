/*
 * job_service.c - framewright.v1.JobService: create, read, list, cancel and
 * watch render jobs.
 *
 * CreateJob checks everything it can before a job is queued, so that a
 * mistake comes back as INVALID_ARGUMENT naming the field instead of as a
 * failed render later: the job's structure (server/jobs), the codec, and -
 * from the template's introspection - that the composition and every layer
 * the assets name exist.
 *
 * A nested job (an asset of type "job") and a join (CreateJoinJob: clips
 * that are URLs or child jobs) become a parent row and one row per child,
 * each child checked like a job of its own and inserted with the parent in
 * one transaction. The parent waits in pending; the store queues it when its
 * last child finishes (server/store/jobs.c). The child's id is kept in the
 * asset's "jobId" in the stored request, where the worker finds its output.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/job.pb-c.h"
#include "proto/json/pbjson.h"
#include "server/api/auth.h"
#include "server/api/service.h"
#include "server/api/watch.h"
#include "server/secrets/job_inputs.h"
#include "server/jobs/job.h"
#include "server/util/clock.h"
#include "server/util/fetch.h"
#include "server/util/id.h"
#include "server/work/render_job.h"

#define DEFAULT_PAGE 100
#define MAX_PAGE 1000

fw_err fw_service_check_quota(fw_service *svc, fw_store *store, const char *team_id, size_t count, fw_error *err)
{
    const long long per_minute = svc->config.quota_jobs_per_minute, at_once = svc->config.quota_unfinished_jobs;
    int64_t now = fw_now_ms();
    fw_team_load load;
    fw_err rc;

    if (!per_minute && !at_once)
        return FW_OK;
    if (per_minute && (long long)count > per_minute)
        return fw_error_set(err, FW_ERR_LIMIT, NULL, "the request makes %zu jobs; the team may create %lld a minute",
                            count, per_minute);
    if (at_once && (long long)count > at_once)
        return fw_error_set(err, FW_ERR_LIMIT, NULL,
                            "the request makes %zu jobs; the team may have %lld queued or rendering", count, at_once);
    if ((rc = fw_store_team_load(store, team_id, now - 60000, &load, err)))
        return rc;
    if (per_minute && load.created + (long long)count > per_minute) {
        /* The oldest job of the minute leaves the window first. */
        int64_t wait_ms = load.oldest_created_at + 60000 - now;
        return fw_error_quota(err, (int)((wait_ms + 999) / 1000), NULL,
                              "the team created %lld jobs in the last minute and may create %lld a minute; "
                              "this request makes %zu",
                              (long long)load.created, per_minute, count);
    }
    if (at_once && load.unfinished + (long long)count > at_once)
        return fw_error_quota(err, 10, NULL,
                              "the team has %lld jobs queued or rendering and may have %lld; this request makes %zu",
                              (long long)load.unfinished, at_once, count);
    return FW_OK;
}

fw_err fw_service_check_page(int page_size, const char *page_token, fw_error *err)
{
    if (page_size < 0 || page_size > MAX_PAGE)
        return fw_error_set(err, FW_ERR_INVALID, "pageSize", "must be from 1 to %d", MAX_PAGE);
    if (page_token && *page_token && !fw_id_valid(page_token))
        return fw_error_set(err, FW_ERR_INVALID, "pageToken", "'%s' is not a page token this API gave out",
                            page_token);
    return FW_OK;
}

fw_err fw_service_begin(fw_rpc_call *call, fw_service *service, fw_store **store, char team_id[32], fw_error *err)
{
    fw_err rc;

    *store = NULL;
    if ((rc = fw_store_pool_get(service->stores, store, err)))
        return rc;
    if ((rc = fw_auth_team(*store, fw_rpc_call_bearer_token(call), team_id, err))) {
        fw_store_pool_put(service->stores, *store);
        *store = NULL;
        return rc;
    }
    fw_rpc_call_set_user(call, team_id);
    return FW_OK;
}

/* ---- checks against the template's introspection ------------------------------------------ */

static json_t *find_composition(json_t *details, const char *name)
{
    json_t *comp;
    size_t i;
    json_array_foreach(json_object_get(details, "compositions"), i, comp) {
        const char *n = json_string_value(json_object_get(comp, "name"));
        if (name ? (n && strcmp(n, name) == 0) : json_is_true(json_object_get(comp, "isRoot")))
            return comp;
    }
    return NULL;
}

/* "a, b, c" of the names in array (objects with "name"), at most ~400 bytes. */
static void list_names(json_t *array, char *out, size_t size)
{
    json_t *item;
    size_t i, len = 0;
    out[0] = '\0';
    json_array_foreach(array, i, item) {
        const char *n = json_string_value(json_object_get(item, "name"));
        int w;
        if (!n)
            continue;
        w = snprintf(out + len, size - len, "%s%s", len ? ", " : "", n);
        if (w < 0 || (size_t)w >= size - len) {
            snprintf(out + (len < size - 5 ? len : size - 5), 5, "...");
            return;
        }
        len += (size_t)w;
    }
}

static fw_err check_composition(json_t *details, const char *name, const char *field, json_t **comp, fw_error *err)
{
    char names[512];
    *comp = find_composition(details, name);
    if (*comp)
        return FW_OK;
    list_names(json_object_get(details, "compositions"), names, sizeof(names));
    return fw_error_set(err, FW_ERR_INVALID, field, "no composition '%s' in the template; compositions: %s",
                        name ? name : "(root)", names);
}

static fw_err check_assets_against(json_t *details, const fw_job_spec *job, fw_error *err)
{
    json_t *job_comp, *asset;
    size_t i;
    fw_err rc;

    if ((rc = check_composition(details, job->composition, "template.composition", &job_comp, err)))
        return rc;
    if (job->settings.frame_start >= 0) {
        double frames = json_number_value(json_object_get(job_comp, "frames"));
        if (frames >= 1 && job->settings.frame_start >= frames)
            return fw_error_set(err, FW_ERR_INVALID, "settings.frames",
                                "frame %d is past the end of composition '%s' (frames 0 to %d)",
                                job->settings.frame_start, json_string_value(json_object_get(job_comp, "name")),
                                (int)frames - 1);
    }
    json_array_foreach(job->assets, i, asset) {
        const char *layer = json_string_value(json_object_get(asset, "layerName"));
        const char *comp_name = json_string_value(json_object_get(asset, "composition"));
        char field[64], names[512];
        json_t *comp = job_comp, *l;
        size_t j;
        int found = 0;

        if (!layer)
            continue;
        if (comp_name && *comp_name) {
            snprintf(field, sizeof(field), "assets[%zu].composition", i);
            if ((rc = check_composition(details, comp_name, field, &comp, err)))
                return rc;
        }
        json_array_foreach(json_object_get(comp, "layers"), j, l) {
            const char *n = json_string_value(json_object_get(l, "name"));
            found |= n && strcmp(n, layer) == 0;
        }
        if (!found) {
            list_names(json_object_get(comp, "layers"), names, sizeof(names));
            snprintf(field, sizeof(field), "assets[%zu].layerName", i);
            return fw_error_set(err, FW_ERR_INVALID, field, "no layer '%s' in composition '%s'; layers: %s", layer,
                                json_string_value(json_object_get(comp, "name")), names);
        }
    }
    return FW_OK;
}

/* ---- asset URLs, tried at submission --------------------------------------------------------- */

/* Recent answers, so a batch of a thousand jobs with one music bed asks once a minute, not a
 * thousand times. */
#define PROBE_CACHE 256
#define PROBE_CACHE_MS 60000

typedef struct probe_entry {
    char url[512];
    int64_t at;
    fw_fetch_probe_result result;
    char why[200];
} probe_entry;

static probe_entry probe_cache[PROBE_CACHE];
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;

static fw_fetch_probe_result probe_cached(const char *url, long timeout_ms, char *why, size_t why_len)
{
    int64_t now = fw_now_ms();
    size_t oldest = 0;
    long status;
    fw_fetch_probe_result r;

    if (strlen(url) < sizeof(probe_cache[0].url)) {
        pthread_mutex_lock(&probe_lock);
        for (size_t i = 0; i < PROBE_CACHE; i++) {
            if (strcmp(probe_cache[i].url, url) == 0 && now - probe_cache[i].at < PROBE_CACHE_MS) {
                r = probe_cache[i].result;
                snprintf(why, why_len, "%s", probe_cache[i].why);
                pthread_mutex_unlock(&probe_lock);
                return r;
            }
        }
        pthread_mutex_unlock(&probe_lock);
    }
    r = fw_fetch_probe(url, NULL, timeout_ms, &status, why, why_len);
    if (r != FW_PROBE_UNKNOWN && strlen(url) < sizeof(probe_cache[0].url)) {
        pthread_mutex_lock(&probe_lock);
        for (size_t i = 1; i < PROBE_CACHE; i++)
            if (probe_cache[i].at < probe_cache[oldest].at)
                oldest = i;
        snprintf(probe_cache[oldest].url, sizeof(probe_cache[oldest].url), "%s", url);
        snprintf(probe_cache[oldest].why, sizeof(probe_cache[oldest].why), "%s", r == FW_PROBE_OK ? "" : why);
        probe_cache[oldest].at = now;
        probe_cache[oldest].result = r;
        pthread_mutex_unlock(&probe_lock);
    }
    return r;
}

/* Every URL of a request (template, assets, webhook, upload endpoint) against the URL policy, by what the URL
 * itself says: scheme, host, an address in any spelling. Where a name leads is known only on
 * connecting: the probe below and the worker's fetch check that. A webhook URL with a {{secret}}
 * is checked when it is sent. */
static fw_err check_urls(const json_t *json, fw_error *err)
{
    const fw_url_policy *policy = fw_url_policy_get();
    const char *url;
    json_t *asset;
    size_t i;
    fw_err rc;

    url = json_string_value(json_object_get(json_object_get(json, "template"), "src"));
    if (url && fw_fetch_is_remote(url) && (rc = fw_url_policy_check(policy, url, 0, "template.src", err)))
        return rc;
    json_array_foreach(json_object_get(json, "assets"), i, asset) {
        char field[48];
        url = json_string_value(json_object_get(asset, "src"));
        if (!url || !strstr(url, "://"))
            continue; /* data: URLs and paths: the fetch says what it thinks of those */
        snprintf(field, sizeof(field), "assets[%zu].src", i);
        if ((rc = fw_url_policy_check(policy, url, 0, field, err)))
            return rc;
    }
    url = json_string_value(json_object_get(json_object_get(json, "webhook"), "url"));
    if (url && !strstr(url, "{{") && (rc = fw_url_policy_check(policy, url, 0, "webhook.url", err)))
        return rc;
    url = json_string_value(json_object_get(json_object_get(json_object_get(json, "upload"), "params"), "endpoint"));
    if (url && *url && !strstr(url, "{{") &&
        (rc = fw_url_policy_check(policy, url, 0, "upload.params.endpoint", err)))
        return rc;
    return FW_OK;
}

/* The http(s) sources of a job's files answer: one that cannot be fetched (4xx, no such host,
 * connection refused, an address the URL policy refuses) is refused now rather than failing the
 * render later. Time-outs and 5xx pass: the worker's fetch retries. */
static fw_err check_sources(const fw_service *svc, const fw_job_spec *job, fw_error *err)
{
    static const char *const with_files[] = {"image", "video", "audio", "static", "script"};
    json_t *asset;
    size_t i;

    if (svc->config.probe_ms <= 0)
        return FW_OK;
    json_array_foreach(job->assets, i, asset) {
        const char *type = json_string_value(json_object_get(asset, "type"));
        const char *src = json_string_value(json_object_get(asset, "src"));
        char why[200] = "", field[48];
        int wanted = 0;

        for (size_t k = 0; k < sizeof(with_files) / sizeof(with_files[0]); k++)
            wanted |= type && strcmp(type, with_files[k]) == 0;
        if (!wanted || !src || !fw_fetch_is_remote(src) || (strcmp(type, "script") == 0 && json_object_get(asset, "value")))
            continue;
        switch (probe_cached(src, svc->config.probe_ms, why, sizeof(why))) {
        case FW_PROBE_MISSING:
            snprintf(field, sizeof(field), "assets[%zu].src", i);
            return fw_error_set(err, FW_ERR_INVALID, field, "%s cannot be fetched: %s", src, why);
        case FW_PROBE_REFUSED:
            snprintf(field, sizeof(field), "assets[%zu].src", i);
            return fw_error_set(err, FW_ERR_INVALID, field, "%s was %s (FRAMEWRIGHT_URL_ALLOW opens exceptions)",
                                src, why);
        default:
            break;
        }
    }
    return FW_OK;
}

/* ---- the rows a request makes ---------------------------------------------------------------- */

void fw_prepared_clear(fw_prepared *p)
{
    fw_job_rows_free(&p->rows, p->count);
    fw_font_rows_free(&p->fonts, p->font_count);
    for (size_t i = 0; i < p->template_count; i++)
        json_decref(p->templates[i].details);
    memset(p, 0, sizeof(*p));
}

/* The template's status, its version (asked, or 0 for the current one)
 * and that version's details (a new reference, or NULL), read from the
 * store once per call. */
static fw_err prepared_template(fw_prepared *p, fw_store *store, const char *team_id, const char *id, int asked,
                                char status[24], int *version, json_t **details, fw_error *err)
{
    fw_template_row tpl;
    json_t *parsed;
    fw_err rc;

    for (size_t i = 0; i < p->template_count; i++) {
        if (strcmp(p->templates[i].id, id) == 0 && p->templates[i].asked == asked) {
            memcpy(status, p->templates[i].status, 24);
            *version = p->templates[i].version;
            *details = json_incref(p->templates[i].details);
            return FW_OK;
        }
    }
    memset(&tpl, 0, sizeof(tpl));
    if ((rc = fw_store_template_get(store, team_id, id, &tpl, err)))
        return rc;
    snprintf(status, 24, "%s", tpl.status);
    *version = tpl.version;
    parsed = tpl.details_json ? json_loads(tpl.details_json, 0, NULL) : NULL;
    fw_template_row_clear(&tpl);
    if (asked > 0 && asked != *version) {
        fw_template_version_row v;
        json_decref(parsed);
        if ((rc = fw_store_template_version_get(store, team_id, id, asked, &v, err))) {
            if (rc == FW_ERR_NOT_FOUND)
                rc = fw_error_set(err, rc, "template.version", "template '%s' has no version %d", id, asked);
            return rc;
        }
        parsed = v.details_json ? json_loads(v.details_json, 0, NULL) : NULL;
        free(v.details_json);
        *version = asked;
    }
    if (p->template_count < FW_PREPARED_TEMPLATES && strlen(id) < FW_ID_SIZE) {
        size_t i = p->template_count++;
        snprintf(p->templates[i].id, sizeof(p->templates[i].id), "%s", id);
        p->templates[i].asked = asked;
        p->templates[i].version = *version;
        memcpy(p->templates[i].status, status, 24);
        p->templates[i].details = json_incref(parsed);
    }
    *details = parsed;
    return FW_OK;
}

/* A new zeroed row at the end; its index into *index. */
static fw_err prepared_add(fw_prepared *p, size_t *index, fw_error *err)
{
    if (p->count == p->room) {
        size_t room = p->room ? p->room * 2 : 8;
        fw_job_row *grown = realloc(p->rows, room * sizeof(*grown));
        if (!grown)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory preparing jobs");
        p->rows = grown;
        p->room = room;
    }
    memset(&p->rows[p->count], 0, sizeof(p->rows[0]));
    p->rows[p->count].render_duration = -1;
    *index = p->count++;
    return FW_OK;
}

/* Drop the rows from index `from` on (a request that failed part-way). */
static void prepared_truncate(fw_prepared *p, size_t from)
{
    while (p->count > from)
        fw_job_row_clear(&p->rows[--p->count]);
}

json_t *fw_prepared_children(const fw_prepared *p, size_t index)
{
    json_t *ids = json_array();
    for (size_t i = index + 1; i < p->count; i++)
        if (strcmp(p->rows[i].parent_id, p->rows[index].id) == 0)
            json_array_append_new(ids, json_string(p->rows[i].id));
    return ids;
}

/* Where the output goes and the URL it will have: the team's own bucket
 * when the request has an upload block, our storage otherwise. */
static fw_err output_target(fw_service *svc, json_t *json, fw_job_row *row, const char *ext, fw_error *err)
{
    snprintf(row->output_key, sizeof(row->output_key), "outputs/%s/%s.%s", row->team_id, row->id, ext);
    if (json_is_object(json_object_get(json, "upload"))) {
        char *key = NULL; /* the output goes to the team's own bucket */
        fw_err rc = fw_job_upload_target(json_object_get(json, "upload"), row->id, ext, &key, &row->output_url, err);
        free(key);
        return rc;
    }
    return fw_storage_signed_url(svc->storage, row->output_key, FW_STORAGE_GET, (long)svc->config.output_url_ttl_s,
                                 &row->output_url, err);
}

static fw_err prepare_json(fw_service *svc, fw_store *store, const char *team_id, json_t *json, const char *parent_id,
                           const char *batch_id, fw_prepared *out, fw_error *err);

/* The JobRequest of the child job a "job" asset describes: its template,
 * assets, preview and settings, with the parent's fonts. */
static json_t *child_request(json_t *asset, json_t *parent)
{
    static const char *const keys[] = {"template", "assets", "preview", "settings"};
    json_t *child = json_object();
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (json_object_get(asset, keys[k]))
            json_object_set(child, keys[k], json_object_get(asset, keys[k]));
    if (json_array_size(json_object_get(parent, "fonts")))
        json_object_set(child, "fonts", json_object_get(parent, "fonts"));
    return child;
}

/* Prepare the child job of assets[i] (video: the output type a join needs,
 * else image or video) as a child of rows[index]; its id goes into the
 * asset's "jobId", where the worker and the store find it. */
static fw_err prepare_child(fw_service *svc, fw_store *store, const char *team_id, json_t *parent, size_t i,
                            int want_video, size_t index, fw_prepared *out, fw_error *err)
{
    json_t *asset = json_array_get(json_object_get(parent, "assets"), i);
    json_t *child = child_request(asset, parent);
    const char *type = json_string_value(json_object_get(json_object_get(child, "settings"), "type"));
    char parent_id[FW_ID_SIZE], batch_id[FW_ID_SIZE], field[64];
    size_t first = out->count;
    fw_err rc = FW_OK;

    snprintf(parent_id, sizeof(parent_id), "%s", out->rows[index].id);
    snprintf(batch_id, sizeof(batch_id), "%s", out->rows[index].batch_id);
    if (want_video && type && *type && strcmp(type, "video") != 0) {
        snprintf(field, sizeof(field), "assets[%zu].settings.type", i);
        rc = fw_error_set(err, FW_ERR_INVALID, field, "a clip of a join is a video, not '%s'", type);
    } else if (!want_video && type && strcmp(type, "aep") == 0) {
        snprintf(field, sizeof(field), "assets[%zu].settings.type", i);
        rc = fw_error_set(err, FW_ERR_INVALID, field, "a nested job renders an image or a video, not 'aep'");
    } else if (!want_video && !json_string_value(json_object_get(asset, "layerName"))) {
        snprintf(field, sizeof(field), "assets[%zu].layerName", i);
        rc = fw_error_set(err, FW_ERR_INVALID, field, "a nested job names the layer its output goes into");
    } else if ((rc = prepare_json(svc, store, team_id, child, parent_id, batch_id[0] ? batch_id : NULL, out, err))) {
        fw_error_prefix_field(err, "assets[%zu]", i);
    } else {
        json_object_set_new(asset, "jobId", json_string(out->rows[first].id));
    }
    json_decref(child);
    return rc;
}

/* Store the request (with its children's ids) in row and the fields every
 * new job has. */
static fw_err finish_row(fw_job_row *row, json_t *json, const char *kind, int pending, fw_error *err)
{
    snprintf(row->kind, sizeof(row->kind), "%s", kind);
    snprintf(row->status, sizeof(row->status), "%s", pending ? FW_STATUS_PENDING : FW_STATUS_QUEUED);
    if (json_is_object(json_object_get(json, "webhook"))) /* kept apart so the job's end can queue it */
        row->webhook_json = json_dumps(json_object_get(json, "webhook"), JSON_COMPACT);
    row->request_json = json_dumps(json, JSON_COMPACT);
    row->total_assets = (int)json_array_size(json_object_get(json, "assets"));
    row->created_at = fw_now_ms();
    if (!row->request_json)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory keeping the request");
    return FW_OK;
}

/* Checks a JobRequest (API JSON, changed in place: each job asset gets the
 * id of its child) and appends its rows to out: the job, then its children. */
static fw_err prepare_json(fw_service *svc, fw_store *store, const char *team_id, json_t *json, const char *parent_id,
                           const char *batch_id, fw_prepared *out, fw_error *err)
{
    fw_job_spec *job = NULL;
    json_t *details = NULL, *asset;
    const char *ext;
    size_t first = out->count, index = 0, i;
    int children = 0, template_version = 0;
    fw_err rc;

    if ((rc = fw_job_from_json(&job, json, err)) || (rc = fw_render_output_extension(job, &ext, err)) ||
        (rc = check_urls(json, err)) || (rc = fw_service_job_secrets_check(store, team_id, json, err)))
        goto done;

    if (job->template_id) {
        char status[24];
        json_t *asked = json_object_get(json_object_get(json, "template"), "version");
        if (asked && (!json_is_integer(asked) || json_integer_value(asked) < 0 ||
                      json_integer_value(asked) > INT32_MAX)) {
            rc = fw_error_set(err, FW_ERR_INVALID, "template.version", "a version is a number from 1 (0: the current "
                                                                        "one)");
            goto done;
        }
        if ((rc = prepared_template(out, store, team_id, job->template_id, (int)json_integer_value(asked), status,
                                    &template_version, &details, err))) {
            if (rc == FW_ERR_NOT_FOUND && err && strcmp(err->field, "template.version") != 0)
                rc = fw_error_set(err, FW_ERR_NOT_FOUND, "template.id", "no template '%s'", job->template_id);
            goto done;
        }
        if (strcmp(status, FW_TEMPLATE_UPLOADED) != 0) {
            rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "template.id", "template '%s' is %s, not uploaded",
                              job->template_id, status);
            goto done;
        }
        if (details && (rc = check_assets_against(details, job, err)))
            goto done;
    } else if (!fw_fetch_is_remote(job->template_src)) {
        rc = fw_error_set(err, FW_ERR_INVALID, "template.src",
                          "the server takes a template by its id or by an http(s) URL");
        goto done;
    }

    /* Last of the checks: it is the one that waits on the network. */
    if ((rc = check_sources(svc, job, err)))
        goto done;
    if ((rc = prepared_add(out, &index, err)))
        goto done;
    {
        fw_job_row *row = &out->rows[index];
        fw_id_new(row->id);
        snprintf(row->team_id, sizeof(row->team_id), "%s", team_id);
        snprintf(row->parent_id, sizeof(row->parent_id), "%s", parent_id ? parent_id : "");
        snprintf(row->batch_id, sizeof(row->batch_id), "%s", batch_id ? batch_id : "");
        if (job->template_id) {
            snprintf(row->template_id, sizeof(row->template_id), "%s", job->template_id);
            row->template_version = template_version;
        }
    }
    json_array_foreach(job->assets, i, asset) {
        if (strcmp(json_string_value(json_object_get(asset, "type")), "job") != 0)
            continue;
        if ((rc = prepare_child(svc, store, team_id, json, i, 0, index, out, err)))
            goto done;
        children++;
    }
    {
        /* Fonts no team font matches, told at once (secrets/job_inputs.h). */
        json_t *needs = fw_job_font_needs(json, details), *missing;
        fw_job_row *row = &out->rows[index];
        if (json_array_size(needs) && !out->fonts_read) {
            if ((rc = fw_store_font_list(store, team_id, &out->fonts, &out->font_count, err))) {
                json_decref(needs);
                goto done;
            }
            out->fonts_read = 1;
        }
        missing = fw_job_missing_fonts_among(needs, details, out->fonts, out->font_count);
        json_decref(needs);
        if (!missing) {
            rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory checking fonts");
            goto done;
        }
        if (json_array_size(missing)) {
            json_t *report = fw_job_font_report(missing, details);
            row->missing_fonts_json = report ? json_dumps(report, JSON_COMPACT) : NULL;
            json_decref(report);
        }
        json_decref(missing);
        if ((rc = finish_row(row, json, "render", children > 0, err)) ||
            (rc = output_target(svc, json, row, ext, err)))
            goto done;
    }
done:
    json_decref(details);
    fw_job_spec_free(&job);
    if (rc)
        prepared_truncate(out, first);
    return rc;
}

fw_err fw_service_prepare_job(fw_service *svc, fw_store *store, const char *team_id, const ProtobufCMessage *req,
                              const char *batch_id, fw_prepared *out, fw_error *err)
{
    json_t *json = NULL;
    fw_err rc = fw_pbjson_from_message(req, 0, &json, err);
    if (rc == FW_OK)
        rc = prepare_json(svc, store, team_id, json, NULL, batch_id, out, err);
    json_decref(json);
    return rc;
}

#define MAX_CLIPS 1000

/* A JoinJobRequest: clips that are http(s) videos or child jobs rendering a
 * video, an mp4 preset, upload and webhook as for any job. */
static fw_err prepare_join(fw_service *svc, fw_store *store, const char *team_id, json_t *json, fw_prepared *out,
                           fw_error *err)
{
    json_t *assets = json_object_get(json, "assets"), *asset;
    const char *preset = json_string_value(json_object_get(json_object_get(json, "settings"), "preset"));
    size_t first = out->count, index = 0, i;
    int children = 0;
    fw_err rc;

    if (!json_array_size(assets))
        return fw_error_set(err, FW_ERR_INVALID, "assets", "a join needs at least one clip");
    if (json_array_size(assets) > MAX_CLIPS)
        return fw_error_set(err, FW_ERR_LIMIT, "assets", "has %zu clips; at most %d", json_array_size(assets),
                            MAX_CLIPS);
    if (preset && *preset && strcmp(preset, "mp4") != 0)
        return fw_error_set(err, FW_ERR_INVALID, "settings.preset", "'%s' is not a preset; presets: mp4", preset);
    json_array_foreach(assets, i, asset) {
        const char *type = json_string_value(json_object_get(asset, "type"));
        const char *src = json_string_value(json_object_get(asset, "src"));
        char field[48];
        if (type && strcmp(type, "video") == 0) {
            snprintf(field, sizeof(field), "assets[%zu].src", i);
            if (!src || !*src)
                return fw_error_set(err, FW_ERR_INVALID, field, "is required for a video clip");
            if (!fw_fetch_is_remote(src))
                return fw_error_set(err, FW_ERR_INVALID, field, "a clip is fetched from an http(s) URL, not '%s'",
                                    src);
        } else if (!type || strcmp(type, "job") != 0) {
            snprintf(field, sizeof(field), "assets[%zu].type", i);
            return fw_error_set(err, FW_ERR_INVALID, field, "a clip is \"video\" (a URL) or \"job\", not '%s'",
                                type ? type : "");
        }
    }
    if ((rc = check_urls(json, err)) || (rc = fw_service_job_secrets_check(store, team_id, json, err)) ||
        (rc = prepared_add(out, &index, err)))
        return rc;
    fw_id_new(out->rows[index].id);
    snprintf(out->rows[index].team_id, sizeof(out->rows[index].team_id), "%s", team_id);
    json_array_foreach(assets, i, asset) {
        if (strcmp(json_string_value(json_object_get(asset, "type")), "job") != 0)
            continue;
        if ((rc = prepare_child(svc, store, team_id, json, i, 1, index, out, err)))
            goto done;
        children++;
    }
    if ((rc = finish_row(&out->rows[index], json, "join", children > 0, err)) == FW_OK)
        rc = output_target(svc, json, &out->rows[index], "mp4", err);
done:
    if (rc)
        prepared_truncate(out, first);
    return rc;
}

/* Insert what a request made and answer with its first row, as it was created: a worker may have
 * claimed it already, which the answer does not show (WatchJob does). */
/* Store the prepared rows (with the call's idempotency key, if any) and
 * answer with the first: the job as it was queued. A call that comes again
 * with its key gets the first call's answer and stores nothing. */
static fw_err insert_and_answer(fw_rpc_call *call, fw_store *store, const char *team, fw_prepared *p,
                                fw_service_idem *idem, ProtobufCMessage **resp, fw_error *err)
{
    json_t *children = fw_prepared_children(p, 0), *answer = NULL, *replay = NULL;
    const fw_idempotency *row = NULL;
    fw_job_row shown = p->rows[0];
    fw_err rc;

    shown.updated_at = shown.created_at;
    answer = fw_service_job_json(&shown, children);
    json_decref(children);
    if (!answer)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    if (idem->on && !(row = fw_service_idem_row(idem, answer)))
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    else if ((rc = fw_service_check_quota(fw_rpc_call_context(call), store, team, p->count, err)) == FW_OK)
        rc = fw_store_jobs_insert_keyed(store, p->rows, p->count, row, err);
    if ((rc = fw_service_idem_lost(store, team, idem, rc, &replay, err)) == FW_OK && replay) {
        json_decref(answer);
        answer = replay;
    }
    if (rc != FW_OK) {
        json_decref(answer);
        return rc;
    }
    return fw_service_answer(call, &framewright__v1__job__descriptor, answer, resp, err);
}

/* The job calls that create: the key's earlier answer, or prepare and insert. */
typedef fw_err (*prepare_fn)(fw_service *svc, fw_store *store, const char *team, const ProtobufCMessage *req,
                             fw_prepared *p, fw_error *err);

static fw_err create_with(fw_rpc_call *call, const char *method, const ProtobufCMessage *req, prepare_fn prepare,
                          ProtobufCMessage **resp, fw_error *err)
{
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE];
    fw_service_idem idem;
    json_t *replay = NULL;
    fw_store *store;
    fw_prepared p = {0};
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if ((rc = fw_service_idem_begin(call, store, team, method, req, &idem, &replay, err)) == FW_OK) {
        if (replay)
            rc = fw_service_answer(call, &framewright__v1__job__descriptor, replay, resp, err);
        else if ((rc = prepare(svc, store, team, req, &p, err)) == FW_OK)
            rc = insert_and_answer(call, store, team, &p, &idem, resp, err);
    }
    fw_service_idem_clear(&idem);
    fw_prepared_clear(&p);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err prepare_render(fw_service *svc, fw_store *store, const char *team, const ProtobufCMessage *req,
                             fw_prepared *p, fw_error *err)
{
    return fw_service_prepare_job(svc, store, team, req, NULL, p, err);
}

static fw_err prepare_join_request(fw_service *svc, fw_store *store, const char *team, const ProtobufCMessage *req,
                                   fw_prepared *p, fw_error *err)
{
    json_t *json = NULL;
    fw_err rc = fw_pbjson_from_message(req, 0, &json, err);
    if (rc == FW_OK)
        rc = prepare_join(svc, store, team, json, p, err);
    json_decref(json);
    return rc;
}

static fw_err create_job(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    return create_with(call, "CreateJob", req, prepare_render, resp, err);
}

static fw_err create_join_job(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    return create_with(call, "CreateJoinJob", req, prepare_join_request, resp, err);
}

/* The ids of a job's children, oldest first: a new array. */
static json_t *children_of(fw_store *store, const char *team, const char *id)
{
    char(*ids)[FW_ID_SIZE] = NULL;
    size_t count = 0;
    json_t *out = json_array();
    fw_error err;

    if (fw_store_job_children(store, team, id, &ids, &count, &err) == FW_OK)
        for (size_t i = 0; i < count; i++)
            json_array_append_new(out, json_string(ids[i]));
    free(ids);
    return out;
}

static fw_err get_job(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__GetJobRequest *r = (const Framewright__V1__GetJobRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE];
    fw_store *store;
    fw_job_row row;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    memset(&row, 0, sizeof(row));
    rc = fw_store_job_get(store, team, r->id, &row, err);
    if (rc == FW_ERR_NOT_FOUND)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no job '%s'", r->id);
    if (rc == FW_OK) {
        json_t *children = children_of(store, team, r->id);
        if ((rc = fw_service_job_message(&row, children, resp, err)) == FW_OK)
            rc = fw_service_defer_free(call, *resp, err);
        json_decref(children);
    }
    fw_job_row_clear(&row);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static int64_t timestamp_ms(const Google__Protobuf__Timestamp *t)
{
    return t ? t->seconds * 1000 + t->nanos / 1000000 : 0;
}

static fw_err list_jobs(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__ListJobsRequest *r = (const Framewright__V1__ListJobsRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE];
    fw_job_filter filter;
    fw_job_row *rows = NULL;
    size_t count = 0;
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if ((rc = fw_service_check_page(r->page_size, r->page_token, err))) {
        fw_store_pool_put(svc->stores, store);
        return rc;
    }
    memset(&filter, 0, sizeof(filter));
    filter.team_id = team;
    filter.status = r->status && *r->status ? r->status : NULL;
    filter.template_id = r->template_id && *r->template_id ? r->template_id : NULL;
    filter.batch_id = r->batch_id && *r->batch_id ? r->batch_id : NULL;
    filter.created_after = timestamp_ms(r->created_after);
    filter.created_before = timestamp_ms(r->created_before);
    filter.limit = r->page_size ? r->page_size : DEFAULT_PAGE;
    filter.after_id = r->page_token && *r->page_token ? r->page_token : NULL;
    if ((rc = fw_store_job_list(store, &filter, &rows, &count, err)) == FW_OK) {
        json_t *out = json_object(), *jobs = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(jobs, fw_service_job_json(&rows[i], NULL));
        json_object_set_new(out, "jobs", jobs);
        if (count == (size_t)filter.limit)
            json_object_set_new(out, "nextPageToken", json_string(rows[count - 1].id));
        rc = fw_service_answer(call, &framewright__v1__list_jobs_response__descriptor, out, resp, err);
    }
    fw_job_rows_free(&rows, count);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err cancel_one(fw_store *store, const char *team, const char *id, fw_job_row *row, fw_error *err)
{
    fw_err rc = fw_store_job_cancel(store, team, id, row, err);
    if (rc == FW_ERR_NOT_FOUND)
        return fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no job '%s'", id);
    if (rc == FW_ERR_FAILED_PRECONDITION)
        return fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "id", "job '%s' has already ended (%s)", id, row->status);
    return rc;
}

static fw_err cancel_job(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__CancelJobRequest *r = (const Framewright__V1__CancelJobRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    char team[FW_ID_SIZE];
    fw_store *store;
    fw_job_row row;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    memset(&row, 0, sizeof(row));
    if ((rc = cancel_one(store, team, r->id, &row, err)) == FW_OK &&
        (rc = fw_service_job_message(&row, NULL, resp, err)) == FW_OK)
        rc = fw_service_defer_free(call, *resp, err);
    fw_job_row_clear(&row);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err cancel_jobs(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, fw_error *err)
{
    const Framewright__V1__CancelJobsRequest *r = (const Framewright__V1__CancelJobsRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    json_t *out, *cancelled, *not_cancelled;
    char team[FW_ID_SIZE];
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if (r->n_ids > MAX_PAGE) {
        fw_store_pool_put(svc->stores, store);
        return fw_error_set(err, FW_ERR_INVALID, "ids", "at most %d jobs at a time", MAX_PAGE);
    }
    out = json_object();
    cancelled = json_array();
    not_cancelled = json_array();
    for (size_t i = 0; i < r->n_ids; i++) {
        fw_job_row row;
        fw_error one;
        memset(&row, 0, sizeof(row));
        if (cancel_one(store, team, r->ids[i], &row, &one) == FW_OK)
            json_array_append_new(cancelled, fw_service_job_json(&row, NULL));
        else
            json_array_append_new(not_cancelled, json_string(r->ids[i]));
        fw_job_row_clear(&row);
    }
    json_object_set_new(out, "cancelled", cancelled);
    json_object_set_new(out, "notCancelled", not_cancelled);
    rc = fw_service_answer(call, &framewright__v1__cancel_jobs_response__descriptor, out, resp, err);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err watch_job(fw_rpc_call *call, const ProtobufCMessage *req, fw_rpc_stream *stream, fw_error *err)
{
    const Framewright__V1__WatchJobRequest *r = (const Framewright__V1__WatchJobRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    fw_watch_filter filter = {.job_id = r->id};
    char team[FW_ID_SIZE];
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    if (!r->id || !*r->id)
        rc = fw_error_set(err, FW_ERR_INVALID, "id", "is required");
    else
        rc = fw_watch_add(svc->watch, stream, team, &filter, store, err);
    if (rc == FW_ERR_NOT_FOUND)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no job '%s'", r->id);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static fw_err watch_jobs(fw_rpc_call *call, const ProtobufCMessage *req, fw_rpc_stream *stream, fw_error *err)
{
    const Framewright__V1__WatchJobsRequest *r = (const Framewright__V1__WatchJobsRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    fw_watch_filter filter = {
        .status = r->status && *r->status ? r->status : NULL,
        .template_id = r->template_id && *r->template_id ? r->template_id : NULL,
        .batch_id = r->batch_id && *r->batch_id ? r->batch_id : NULL,
    };
    char team[FW_ID_SIZE];
    fw_store *store;
    fw_err rc;

    if ((rc = fw_service_begin(call, svc, &store, team, err)))
        return rc;
    rc = fw_watch_add(svc->watch, stream, team, &filter, store, err);
    fw_store_pool_put(svc->stores, store);
    return rc;
}

static void stream_gone(fw_rpc_stream *stream, void *ctx)
{
    fw_service *svc = ctx;
    fw_watch_gone(svc->watch, stream);
}

fw_err fw_job_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err)
{
    fw_err rc;
    if ((rc = fw_rpc_server_on_unary(srv, "/framewright.v1.JobService/CreateJob", create_job, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.JobService/CreateJoinJob", create_join_job, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.JobService/GetJob", get_job, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.JobService/ListJobs", list_jobs, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.JobService/CancelJob", cancel_job, svc, err)) ||
        (rc = fw_rpc_server_on_unary(srv, "/framewright.v1.JobService/CancelJobs", cancel_jobs, svc, err)) ||
        (rc = fw_rpc_server_on_server_stream(srv, "/framewright.v1.JobService/WatchJob", watch_job, stream_gone, svc,
                                             err)) ||
        (rc = fw_rpc_server_on_server_stream(srv, "/framewright.v1.JobService/WatchJobs", watch_jobs, stream_gone,
                                             svc, err)))
        return rc;
    return FW_OK;
}
