/*
 * job.c - checking a job's JSON; see job.h.
 *
 * Each object of the job has a list of the keys it may hold; an unknown key
 * is refused with the closest known one suggested, because a misspelt
 * "layername" silently ignored would render the wrong video.
 */
#include "server/jobs/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/js/script.h"

#define MAX_NESTING 4
#define MAX_ASSETS 10000

static const char *const asset_types[] = {"text",   "data",   "image",    "video",    "audio",
                                          "static", "script", "essential", "function", "job"};

static const char *const job_keys[] = {"template", "preview", "fonts",   "assets", "settings",
                                       "upload",   "webhook", "cache", NULL};
static const char *const template_keys[] = {"id", "src", "composition", "version", NULL};
static const char *const settings_keys[] = {"type", "frames", "quality", "codec", "engine", "chunks", NULL};
static const char *const upload_keys[] = {"provider", "prefix", "outputUrl", "params", NULL};
static const char *const upload_param_keys[] = {"endpoint", "region", "bucket", "acl", "accessKeyId",
                                                "accessKeySecret", NULL};
static const char *const webhook_keys[] = {"url", "method", "headers", "data", "custom", "events", NULL};
static const char *const asset_keys[] = {"type",   "layerName", "composition", "property", "value",
                                         "src",    "name",      "expression",  "fit",      "params",
                                         "extension", "template", "assets",    "preview",  "settings",
                                         "loop",   "muted",     "gain",        "volume",   "start",
                                         "offset", "trim",      "fadeIn",      "fadeOut",  "keyword",
                                         "parameters", "data",  "textFit", NULL};

/* Edit distance, small strings only; used to suggest a known key. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la >= 63 || lb >= 63)
        return 64;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = (a[i - 1] | 32) == (b[j - 1] | 32) ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static fw_err check_keys(const json_t *object, const char *const *allowed, const char *path, fw_error *err)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)object, key, value) {
        const char *best = NULL;
        size_t best_distance = 3;
        int known = 0;
        (void)value;
        for (size_t i = 0; allowed[i]; i++) {
            size_t d;
            if (strcmp(allowed[i], key) == 0) {
                known = 1;
                break;
            }
            d = edit_distance(allowed[i], key);
            if (d < best_distance) {
                best_distance = d;
                best = allowed[i];
            }
        }
        if (known)
            continue;
        if (best)
            return fw_error_set(err, FW_ERR_INVALID, NULL, "unknown field '%s'%s%s; did you mean '%s'?", key,
                                path[0] ? " in " : "", path, best);
        return fw_error_set(err, FW_ERR_INVALID, NULL, "unknown field '%s'%s%s", key, path[0] ? " in " : "",
                            path);
    }
    return FW_OK;
}

/* The field path for errors: "assets[2]" + "layerName" -> "assets[2].layerName". */
static const char *join_path(char *buf, size_t size, const char *path, const char *key)
{
    snprintf(buf, size, "%s%s%s", path, path[0] ? "." : "", key);
    return buf;
}

static fw_err want_object(const json_t *v, const char *field, fw_error *err)
{
    if (!json_is_object(v))
        return fw_error_set(err, FW_ERR_INVALID, field, "must be an object");
    return FW_OK;
}

/* An optional string member; *out stays NULL when absent or null. */
static fw_err opt_string(const json_t *obj, const char *key, const char *path, const char **out, fw_error *err)
{
    char field[FW_ERROR_FIELD_MAX];
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return FW_OK;
    if (!json_is_string(v))
        return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, key), "must be a string");
    *out = json_string_value(v);
    return FW_OK;
}

static fw_err need_string(const json_t *obj, const char *key, const char *path, const char **out, const char *why,
                          fw_error *err)
{
    char field[FW_ERROR_FIELD_MAX];
    fw_err rc = opt_string(obj, key, path, out, err);

    if (rc)
        return rc;
    if (!*out || !**out)
        return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, key), "is required%s%s",
                            why ? " " : "", why ? why : "");
    return FW_OK;
}

/* An optional number of at least min (seconds, dB). */
static fw_err opt_number(const json_t *obj, const char *key, const char *path, double min, fw_error *err)
{
    char field[FW_ERROR_FIELD_MAX];
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return FW_OK;
    if (!json_is_number(v))
        return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, key), "must be a number");
    if (json_number_value(v) < min)
        return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, key),
                            "is %g; it must be at least %g", json_number_value(v), min);
    return FW_OK;
}

static fw_err opt_bool(const json_t *obj, const char *key, const char *path, bool *out, fw_error *err)
{
    char field[FW_ERROR_FIELD_MAX];
    json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v))
        return FW_OK;
    if (!json_is_boolean(v))
        return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, key),
                            "must be true or false");
    *out = json_is_true(v);
    return FW_OK;
}

static fw_err check_one_of(const char *value, const char *const *choices, const char *field, fw_error *err)
{
    char list[256] = "";

    for (size_t i = 0; choices[i]; i++)
        if (strcmp(value, choices[i]) == 0)
            return FW_OK;
    for (size_t i = 0; choices[i]; i++) {
        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
        strncat(list, choices[i], sizeof(list) - strlen(list) - 1);
    }
    return fw_error_set(err, FW_ERR_INVALID, field, "'%s' is not one of: %s", value, list);
}

/* A text or Source Text asset's "fit": {"mode", "minSize", "maxLines"}
 * (from a gRPC client: textFit). */
static fw_err check_text_fit(const json_t *asset, const char *path, fw_error *err)
{
    static const char *const keys[] = {"mode", "minSize", "maxLines", NULL};
    static const char *const modes[] = {"shrink", "wrap-shrink", "none", NULL};
    const json_t *fit = json_object_get(asset, "fit"), *lines;
    char field[FW_ERROR_FIELD_MAX], sub[FW_ERROR_FIELD_MAX];
    const char *mode;
    fw_err rc;

    if (!fit || json_is_null(fit))
        fit = json_object_get(asset, "textFit");
    if (!fit || json_is_null(fit))
        return FW_OK;
    join_path(field, sizeof(field), path, "fit");
    if (json_is_string(fit))
        return fw_error_set(err, FW_ERR_INVALID, field,
                            "for text, an object: {\"mode\": \"shrink\" | \"wrap-shrink\" | \"none\", "
                            "\"minSize\": px, \"maxLines\": n}");
    if ((rc = want_object(fit, field, err)) || (rc = check_keys(fit, keys, field, err)) ||
        (rc = need_string(fit, "mode", field, &mode, "(shrink, wrap-shrink or none)", err)) ||
        (rc = check_one_of(mode, modes, join_path(sub, sizeof(sub), field, "mode"), err)) ||
        (rc = opt_number(fit, "minSize", field, 0, err)))
        return rc;
    lines = json_object_get(fit, "maxLines");
    if (lines && !json_is_null(lines) &&
        (!json_is_integer(lines) || json_integer_value(lines) < 0 || json_integer_value(lines) > 1000))
        return fw_error_set(err, FW_ERR_INVALID, join_path(sub, sizeof(sub), field, "maxLines"),
                            "must be a whole number from 0 to 1000");
    return FW_OK;
}

static fw_err check_template(const json_t *tpl, const char *path, fw_error *err)
{
    char field[FW_ERROR_FIELD_MAX];
    const char *id, *src, *composition;
    fw_err rc;

    join_path(field, sizeof(field), path, "template");
    if (!tpl)
        return fw_error_set(err, FW_ERR_INVALID, field, "is required: give template.id or template.src");
    if ((rc = want_object(tpl, field, err)) || (rc = check_keys(tpl, template_keys, field, err)))
        return rc;
    if ((rc = opt_string(tpl, "id", field, &id, err)) || (rc = opt_string(tpl, "src", field, &src, err)) ||
        (rc = opt_string(tpl, "composition", field, &composition, err)))
        return rc;
    if ((!id || !*id) && (!src || !*src))
        return fw_error_set(err, FW_ERR_INVALID, field, "needs an id or a src");
    return FW_OK;
}

static fw_err parse_frames(const json_t *frames, fw_render_settings *s, const char *field, fw_error *err)
{
    if (json_is_integer(frames)) {
        json_int_t f = json_integer_value(frames);
        if (f < 0 || f > 10000000)
            return fw_error_set(err, FW_ERR_INVALID, field, "frame %lld is out of range", (long long)f);
        s->frame_start = s->frame_end = (int)f;
        return FW_OK;
    }
    if (json_is_array(frames) && json_array_size(frames) == 2 && json_is_integer(json_array_get(frames, 0)) &&
        json_is_integer(json_array_get(frames, 1))) {
        json_int_t a = json_integer_value(json_array_get(frames, 0));
        json_int_t b = json_integer_value(json_array_get(frames, 1));
        if (a < 0 || b > 10000000 || b < a)
            return fw_error_set(err, FW_ERR_INVALID, field,
                                "[%lld, %lld] is not a range of frames: want [start, end] with 0 <= start <= end",
                                (long long)a, (long long)b);
        s->frame_start = (int)a;
        s->frame_end = (int)b;
        return FW_OK;
    }
    return fw_error_set(err, FW_ERR_INVALID, field, "must be a frame number or [start, end]");
}

/* Fills s from settings (may be NULL) and preview. */
static fw_err parse_settings(const json_t *settings, bool preview, const char *path, fw_render_settings *s,
                             fw_error *err)
{
    static const char *const types[] = {"video", "image", "aep", NULL};
    static const char *const qualities[] = {"draft", "full", NULL};
    char field[FW_ERROR_FIELD_MAX], sub[FW_ERROR_FIELD_MAX];
    const char *type = NULL, *quality = NULL, *codec = NULL, *engine = NULL;
    json_t *frames, *chunks;
    fw_err rc;

    memset(s, 0, sizeof(*s));
    s->frame_start = s->frame_end = -1;
    s->preview = preview;
    if (!settings || json_is_null(settings))
        return FW_OK;
    join_path(field, sizeof(field), path, "settings");
    if ((rc = want_object(settings, field, err)) || (rc = check_keys(settings, settings_keys, field, err)))
        return rc;
    if ((rc = opt_string(settings, "type", field, &type, err)) ||
        (rc = opt_string(settings, "quality", field, &quality, err)) ||
        (rc = opt_string(settings, "codec", field, &codec, err)) ||
        (rc = opt_string(settings, "engine", field, &engine, err)))
        return rc;
    if (type && (rc = check_one_of(type, types, join_path(sub, sizeof(sub), field, "type"), err)))
        return rc;
    if (quality && (rc = check_one_of(quality, qualities, join_path(sub, sizeof(sub), field, "quality"), err)))
        return rc;
    if (type)
        s->type = strcmp(type, "image") == 0 ? FW_OUTPUT_IMAGE : strcmp(type, "aep") == 0 ? FW_OUTPUT_AEP
                                                                                           : FW_OUTPUT_VIDEO;
    s->draft = quality && strcmp(quality, "draft") == 0;
    if (codec) {
        if (strlen(codec) >= sizeof(s->codec))
            return fw_error_set(err, FW_ERR_INVALID, join_path(sub, sizeof(sub), field, "codec"), "is too long");
        strcpy(s->codec, codec);
    }
    if (engine) {
        /* Nexrender's After Effects versions name no engine of ours: they mean the default. */
        if (strncmp(engine, "ae", 2) != 0) {
            if (strlen(engine) >= sizeof(s->engine))
                return fw_error_set(err, FW_ERR_INVALID, join_path(sub, sizeof(sub), field, "engine"),
                                    "is too long");
            strcpy(s->engine, engine);
        }
    }
    frames = json_object_get(settings, "frames");
    if (frames && !json_is_null(frames) &&
        (rc = parse_frames(frames, s, join_path(sub, sizeof(sub), field, "frames"), err)))
        return rc;
    chunks = json_object_get(settings, "chunks");
    if (chunks && !json_is_null(chunks)) {
        if (!json_is_integer(chunks) || json_integer_value(chunks) < 0 ||
            json_integer_value(chunks) > FW_JOB_MAX_CHUNKS)
            return fw_error_set(err, FW_ERR_INVALID, join_path(sub, sizeof(sub), field, "chunks"),
                                "must be a whole number from 0 (the farm's choice) to %d", FW_JOB_MAX_CHUNKS);
        s->chunks = (int)json_integer_value(chunks);
    }
    return FW_OK;
}

static fw_err check_assets(const json_t *assets, const char *path, int depth, fw_error *err);

fw_err fw_job_check_asset(const json_t *asset, const char *path, int depth, fw_error *err)
{
    static const char *const fits[] = {"fill", "contain", "cover", "none", NULL};
    char field[FW_ERROR_FIELD_MAX];
    const char *type, *s;
    size_t i;
    fw_err rc;

    if ((rc = want_object(asset, path, err)) || (rc = check_keys(asset, asset_keys, path, err)))
        return rc;
    if ((rc = need_string(asset, "type", path, &type, NULL, err)))
        return rc;
    for (i = 0; i < sizeof(asset_types) / sizeof(asset_types[0]); i++)
        if (strcmp(type, asset_types[i]) == 0)
            break;
    if (i == sizeof(asset_types) / sizeof(asset_types[0]))
        return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, "type"),
                            "'%s' is not an asset type; types: text, data, image, video, audio, static, script, "
                            "essential, function, job",
                            type);
    if ((rc = opt_string(asset, "layerName", path, &s, err)) || (rc = opt_string(asset, "composition", path, &s, err)) ||
        (rc = opt_string(asset, "expression", path, &s, err)) || (rc = opt_string(asset, "extension", path, &s, err)))
        return rc;

    if (strcmp(type, "text") == 0) {
        json_t *v = json_object_get(asset, "value");
        if ((rc = need_string(asset, "layerName", path, &s, "for a text asset", err)))
            return rc;
        if (!json_is_string(v) && !json_is_number(v))
            return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, "value"),
                                "is required for a text asset and must be a string");
        if ((rc = check_text_fit(asset, path, err)))
            return rc;
    } else if (strcmp(type, "data") == 0) {
        if ((rc = need_string(asset, "layerName", path, &s, "for a data asset", err)) ||
            (rc = need_string(asset, "property", path, &s, "for a data asset (e.g. \"Source Text\", \"Opacity\")", err)))
            return rc;
        if (!json_object_get(asset, "value") && !json_object_get(asset, "expression"))
            return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, "value"),
                                "is required for a data asset (or an expression)");
        if ((rc = check_text_fit(asset, path, err)))
            return rc;
    } else if (strcmp(type, "image") == 0 || strcmp(type, "video") == 0 || strcmp(type, "audio") == 0) {
        if ((rc = need_string(asset, "src", path, &s, NULL, err)))
            return rc;
        if (strcmp(type, "audio") != 0 && (rc = need_string(asset, "layerName", path, &s, NULL, err)))
            return rc;
        if ((rc = opt_string(asset, "fit", path, &s, err)))
            return rc;
        if (s && (rc = check_one_of(s, fits, join_path(field, sizeof(field), path, "fit"), err)))
            return rc;
        if (strcmp(type, "video") == 0 || strcmp(type, "audio") == 0) {
            bool flag;
            if ((rc = opt_bool(asset, "loop", path, &flag, err)) || (rc = opt_bool(asset, "muted", path, &flag, err)) ||
                (rc = opt_number(asset, "gain", path, -1e308, err)) ||
                (rc = opt_number(asset, "volume", path, -1e308, err)) ||
                (rc = opt_number(asset, "start", path, 0, err)) || (rc = opt_number(asset, "offset", path, 0, err)) ||
                (rc = opt_number(asset, "fadeIn", path, 0, err)) || (rc = opt_number(asset, "fadeOut", path, 0, err)))
                return rc;
        }
    } else if (strcmp(type, "static") == 0) {
        if ((rc = need_string(asset, "src", path, &s, NULL, err)) || (rc = opt_string(asset, "name", path, &s, err)))
            return rc;
    } else if (strcmp(type, "script") == 0) {
        const json_t *params = json_object_get(asset, "parameters"), *p;
        const char *value;
        char why[400];
        if ((rc = opt_string(asset, "value", path, &value, err)) || (rc = opt_string(asset, "keyword", path, &s, err)))
            return rc;
        if (!value && (rc = need_string(asset, "src", path, &s, "(a .js file or URL) or the code in 'value'", err)))
            return rc;
        if (value && fw_script_check(value, why, sizeof(why)))
            return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, "value"),
                                "the script does not compile: %s", why);
        if (params && !json_is_array(params))
            return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, "parameters"),
                                "must be an array of {\"key\", \"value\"}");
        json_array_foreach(params, i, p) if (!json_is_string(json_object_get(p, "key")))
        {
            char sub[FW_ERROR_FIELD_MAX];
            snprintf(sub, sizeof(sub), "parameters[%zu].key", i);
            return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, sub), "must be a string");
        }
        if (json_object_get(asset, "data") && !json_is_object(json_object_get(asset, "data")))
            return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, "data"),
                                "must be an object");
    } else if (strcmp(type, "essential") == 0) {
        json_t *v = json_object_get(asset, "value");
        if (!json_is_object(v) && !json_object_get(asset, "property"))
            return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, "value"),
                                "must be an object of essential property names and values");
    } else if (strcmp(type, "function") == 0) {
        json_t *params = json_object_get(asset, "params");
        if ((rc = need_string(asset, "name", path, &s, "(e.g. \"nx-layer-remove\")", err)))
            return rc;
        if (params && !json_is_null(params) && !json_is_object(params))
            return fw_error_set(err, FW_ERR_INVALID, join_path(field, sizeof(field), path, "params"),
                                "must be an object");
    } else { /* job */
        fw_render_settings child;
        bool preview = false;
        json_t *assets = json_object_get(asset, "assets");
        if (depth >= MAX_NESTING)
            return fw_error_set(err, FW_ERR_LIMIT, path, "jobs nest more than %d deep", MAX_NESTING);
        if ((rc = check_template(json_object_get(asset, "template"), path, err)) ||
            (rc = opt_bool(asset, "preview", path, &preview, err)) ||
            (rc = parse_settings(json_object_get(asset, "settings"), preview, path, &child, err)))
            return rc;
        if (assets && (rc = check_assets(assets, join_path(field, sizeof(field), path, "assets"), depth + 1, err)))
            return rc;
    }
    return FW_OK;
}

static fw_err check_assets(const json_t *assets, const char *path, int depth, fw_error *err)
{
    char field[FW_ERROR_FIELD_MAX];
    size_t i;
    json_t *asset;
    fw_err rc;

    if (json_is_null(assets))
        return FW_OK;
    if (!json_is_array(assets))
        return fw_error_set(err, FW_ERR_INVALID, path, "must be an array of assets");
    if (json_array_size(assets) > MAX_ASSETS)
        return fw_error_set(err, FW_ERR_LIMIT, path, "has %zu assets; at most %d", json_array_size(assets),
                            MAX_ASSETS);
    json_array_foreach(assets, i, asset) {
        snprintf(field, sizeof(field), "%s[%zu]", path, i);
        if ((rc = fw_job_check_asset(asset, field, depth, err)))
            return rc;
    }
    return FW_OK;
}

static fw_err check_upload(const json_t *upload, fw_error *err)
{
    static const char *const providers[] = {"s3", NULL};
    const char *s;
    json_t *params;
    fw_err rc;

    if (!upload || json_is_null(upload))
        return FW_OK;
    if ((rc = want_object(upload, "upload", err)) || (rc = check_keys(upload, upload_keys, "upload", err)) ||
        (rc = opt_string(upload, "provider", "upload", &s, err)) ||
        (s && (rc = check_one_of(s, providers, "upload.provider", err))) ||
        (rc = opt_string(upload, "prefix", "upload", &s, err)) ||
        (rc = opt_string(upload, "outputUrl", "upload", &s, err)))
        return rc;
    params = json_object_get(upload, "params");
    if (!params)
        return fw_error_set(err, FW_ERR_INVALID, "upload.params", "is required: region, bucket, accessKeyId, accessKeySecret");
    if ((rc = want_object(params, "upload.params", err)) ||
        (rc = check_keys(params, upload_param_keys, "upload.params", err)) ||
        (rc = opt_string(params, "endpoint", "upload.params", &s, err)) ||
        (rc = opt_string(params, "acl", "upload.params", &s, err)) ||
        (rc = need_string(params, "region", "upload.params", &s, NULL, err)) ||
        (rc = need_string(params, "bucket", "upload.params", &s, NULL, err)) ||
        (rc = need_string(params, "accessKeyId", "upload.params", &s, NULL, err)) ||
        (rc = need_string(params, "accessKeySecret", "upload.params", &s, NULL, err)))
        return rc;
    return FW_OK;
}

/* Beyond Nexrender: calls while the job runs, besides the one at its end. */
static fw_err check_webhook_events(const json_t *events, fw_error *err)
{
    static const char *const kinds[] = {"progress", "stage", NULL};
    json_t *item;
    size_t i;
    fw_err rc;

    if (!events || json_is_null(events))
        return FW_OK;
    if (!json_is_array(events))
        return fw_error_set(err, FW_ERR_INVALID, "webhook.events", "must be an array of \"progress\" and \"stage\"");
    json_array_foreach(events, i, item) {
        char field[32];
        snprintf(field, sizeof(field), "webhook.events[%zu]", i);
        if (!json_is_string(item))
            return fw_error_set(err, FW_ERR_INVALID, field, "must be \"progress\" or \"stage\"");
        if ((rc = check_one_of(json_string_value(item), kinds, field, err)))
            return rc;
    }
    return FW_OK;
}

static fw_err check_webhook(const json_t *webhook, fw_error *err)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", NULL};
    const char *s, *key;
    json_t *headers, *data, *value;
    bool custom = false;
    fw_err rc;

    if (!webhook || json_is_null(webhook))
        return FW_OK;
    if ((rc = want_object(webhook, "webhook", err)) || (rc = check_keys(webhook, webhook_keys, "webhook", err)) ||
        (rc = need_string(webhook, "url", "webhook", &s, NULL, err)))
        return rc;
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0 && strncmp(s, "${", 2) != 0)
        return fw_error_set(err, FW_ERR_INVALID, "webhook.url", "'%s' is not an http(s) URL", s);
    if ((rc = opt_string(webhook, "method", "webhook", &s, err)) ||
        (s && (rc = check_one_of(s, methods, "webhook.method", err))) ||
        (rc = opt_bool(webhook, "custom", "webhook", &custom, err)))
        return rc;
    headers = json_object_get(webhook, "headers");
    if (headers && !json_is_null(headers)) {
        if ((rc = want_object(headers, "webhook.headers", err)))
            return rc;
        json_object_foreach(headers, key, value) {
            if (!json_is_string(value)) {
                char field[FW_ERROR_FIELD_MAX];
                snprintf(field, sizeof(field), "webhook.headers.%s", key);
                return fw_error_set(err, FW_ERR_INVALID, field, "must be a string");
            }
        }
    }
    data = json_object_get(webhook, "data");
    if (data && !json_is_null(data) && !json_is_object(data))
        return fw_error_set(err, FW_ERR_INVALID, "webhook.data", "must be an object");
    return check_webhook_events(json_object_get(webhook, "events"), err);
}

fw_err fw_job_from_json(fw_job_spec **out, json_t *root, fw_error *err)
{
    fw_job_spec *job;
    json_t *tpl, *fonts, *font;
    bool preview = false, cache = true;
    size_t i;
    fw_err rc;

    *out = NULL;
    if ((rc = want_object(root, "", err)))
        return fw_error_set(err, FW_ERR_INVALID, NULL, "a job must be a JSON object");
    if ((rc = check_keys(root, job_keys, "", err)))
        return rc;
    tpl = json_object_get(root, "template");
    if ((rc = check_template(tpl, "", err)) || (rc = opt_bool(root, "preview", "", &preview, err)) ||
        (rc = opt_bool(root, "cache", "", &cache, err)))
        return rc;
    fonts = json_object_get(root, "fonts");
    if (fonts && !json_is_null(fonts)) {
        if (!json_is_array(fonts))
            return fw_error_set(err, FW_ERR_INVALID, "fonts", "must be an array of font file names");
        json_array_foreach(fonts, i, font) {
            if (!json_is_string(font) || !json_string_length(font)) {
                char field[FW_ERROR_FIELD_MAX];
                snprintf(field, sizeof(field), "fonts[%zu]", i);
                return fw_error_set(err, FW_ERR_INVALID, field, "must be a font file name");
            }
        }
    }
    if ((rc = check_assets(json_object_get(root, "assets") ? json_object_get(root, "assets") : json_null(), "assets",
                           0, err)) ||
        (rc = check_upload(json_object_get(root, "upload"), err)) ||
        (rc = check_webhook(json_object_get(root, "webhook"), err)))
        return rc;

    job = calloc(1, sizeof(*job));
    if (!job)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    if ((rc = parse_settings(json_object_get(root, "settings"), preview, "", &job->settings, err))) {
        free(job);
        return rc;
    }
    job->cache = cache;
    job->root = json_incref(root);
    job->template_id = json_string_value(json_object_get(tpl, "id"));
    job->template_src = json_string_value(json_object_get(tpl, "src"));
    job->composition = json_string_value(json_object_get(tpl, "composition"));
    if (job->composition && !*job->composition)
        job->composition = NULL;
    job->assets = json_object_get(root, "assets");
    if (!json_is_array(job->assets)) {
        job->assets = json_array();
        json_object_set_new(root, "assets", job->assets);
    }
    job->fonts = json_object_get(root, "fonts");
    if (!json_is_array(job->fonts)) {
        job->fonts = json_array();
        json_object_set_new(root, "fonts", job->fonts);
    }
    *out = job;
    return FW_OK;
}

fw_err fw_job_parse(fw_job_spec **out, const char *text, size_t len, fw_error *err)
{
    json_error_t jerr;
    json_t *root;
    fw_err rc;

    *out = NULL;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "the job is not valid JSON: %s at line %d, column %d",
                            jerr.text, jerr.line, jerr.column);
    rc = fw_job_from_json(out, root, err);
    json_decref(root);
    return rc;
}

void fw_job_spec_free(fw_job_spec **job)
{
    if (!job || !*job)
        return;
    json_decref((*job)->root);
    free(*job);
    *job = NULL;
}
