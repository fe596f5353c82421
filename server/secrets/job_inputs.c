/*
 * job_inputs.c - see job_inputs.h.
 */
#include "server/secrets/job_inputs.h"
#include "server/util/urlpolicy.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- fonts ------------------------------------------------------------------------------------- */

static void add_need(json_t *needs, const char *a, const char *b)
{
    json_t *need = json_array();
    if (a && *a)
        json_array_append_new(need, json_string(a));
    if (b && *b && (!a || strcmp(a, b) != 0))
        json_array_append_new(need, json_string(b));
    if (json_array_size(need))
        json_array_append(needs, need);
    json_decref(need);
}

json_t *fw_job_font_needs(json_t *job, json_t *template_details)
{
    json_t *needs = json_array(), *font;
    size_t i;

    json_array_foreach(json_object_get(job, "fonts"), i, font) add_need(needs, json_string_value(font), NULL);
    json_array_foreach(json_object_get(template_details, "fonts"), i, font) {
        if (json_is_true(json_object_get(font, "embeddedGlyphs")))
            continue;
        add_need(needs, json_string_value(json_object_get(font, "name")),
                 json_string_value(json_object_get(font, "family")));
    }
    return needs;
}

int fw_job_font_choose(json_t *need, const fw_font_row *fonts, size_t n)
{
    json_t *name;
    size_t i;
    json_array_foreach(need, i, name) {
        for (size_t f = 0; f < n; f++)
            if (fw_font_row_matches(&fonts[f], json_string_value(name)))
                return (int)f;
    }
    return -1;
}

/* The match (template.h: bundle, embedded, machine or none) the template's
 * details give the font called name; NULL when they do not list it. */
static json_t *details_match(json_t *template_details, json_t *name)
{
    json_t *font;
    size_t i;
    json_array_foreach(json_object_get(template_details, "fonts"), i, font) {
        if (json_equal(json_object_get(font, "name"), name))
            return json_object_get(font, "match");
    }
    return NULL;
}

static int match_is(json_t *match, const char *source)
{
    const char *s = json_string_value(json_object_get(match, "source"));
    return s && !strcmp(s, source);
}

/* Whether the template draws a font without a team font: from its bundle,
 * or with a face of this machine that is that family. */
static int drawn_without_team_font(json_t *template_details, json_t *name)
{
    json_t *match = details_match(template_details, name);
    return match_is(match, "bundle") || (match_is(match, "machine") && json_is_true(json_object_get(match, "exact")));
}

json_t *fw_job_font_report(json_t *missing, json_t *template_details)
{
    json_t *subs = json_array(), *name;
    size_t i;
    json_array_foreach(missing, i, name) {
        json_t *match = details_match(template_details, name);
        if (!match_is(match, "machine") && !match_is(match, "none"))
            continue;
        json_array_append_new(subs, json_pack("{s:O,s:O,s:O,s:O,s:O}", "font", name, "family",
                                              json_object_get(match, "family"), "style",
                                              json_object_get(match, "style"), "syntheticBold",
                                              json_object_get(match, "syntheticBold"), "syntheticItalic",
                                              json_object_get(match, "syntheticItalic")));
    }
    if (!json_array_size(subs)) {
        json_decref(subs);
        return json_incref(missing);
    }
    return json_pack("{s:O,s:o}", "missing", missing, "substitutes", subs);
}

json_t *fw_job_missing_fonts_among(json_t *needs, json_t *template_details, const fw_font_row *fonts, size_t count)
{
    json_t *missing = json_array(), *need;
    size_t i;

    if (!missing)
        return NULL;
    json_array_foreach(needs, i, need) {
        json_t *name = json_array_get(need, 0), *seen;
        size_t k;
        int dup = 0;
        if (fw_job_font_choose(need, fonts, count) >= 0 || drawn_without_team_font(template_details, name))
            continue;
        json_array_foreach(missing, k, seen) dup |= json_equal(seen, name);
        if (!dup)
            json_array_append(missing, name);
    }
    return missing;
}

fw_err fw_job_fonts_fetch(fw_store *store, fw_storage *storage, const char *team_id, const char *template_id,
                          int template_version, json_t *job, const char *dir, fw_error *err)
{
    json_t *details = NULL, *needs, *need, *files = json_array(), *font;
    fw_font_row *fonts = NULL;
    size_t count = 0, i;
    fw_err rc = FW_OK;

    if (template_id && *template_id) {
        fw_template_row tpl;
        memset(&tpl, 0, sizeof(tpl));
        fw_template_version_row v;
        if (fw_store_template_get(store, team_id, template_id, &tpl, NULL) == FW_OK) {
            if (template_version > 0 && template_version != tpl.version) {
                /* What the version the job renders needs, not the current one. */
                if (fw_store_template_version_get(store, team_id, template_id, template_version, &v, NULL) == FW_OK) {
                    details = v.details_json ? json_loads(v.details_json, 0, NULL) : NULL;
                    free(v.details_json);
                }
            } else if (tpl.details_json) {
                details = json_loads(tpl.details_json, 0, NULL);
            }
        }
        fw_template_row_clear(&tpl);
    }
    needs = fw_job_font_needs(job, details);
    json_decref(details);
    if (json_array_size(needs))
        rc = fw_store_font_list(store, team_id, &fonts, &count, err);
    if (rc == FW_OK && count && mkdir(dir, 0700) != 0)
        rc = fw_error_set(err, FW_ERR_IO, NULL, "cannot make the fonts folder of the job");
    /* Job fonts first, in their order, then what the template needs. */
    json_array_foreach(needs, i, need) {
        int f = rc == FW_OK ? fw_job_font_choose(need, fonts, count) : -1;
        const char *name = f >= 0 ? fonts[f].file_name : json_string_value(json_array_get(need, 0));
        char path[PATH_MAX];
        size_t k;
        int dup = 0;

        if (f < 0 && i >= json_array_size(json_object_get(job, "fonts")))
            continue; /* a template font nobody has: the renderer reports it */
        json_array_foreach(files, k, font) dup |= strcmp(json_string_value(font), name) == 0;
        if (dup)
            continue;
        json_array_append_new(files, json_string(name));
        if (f < 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, fonts[f].file_name);
        if ((rc = fw_storage_get_file(storage, fonts[f].storage_key, path, err))) {
            fw_error_prefix_field(err, "fonts");
            break;
        }
    }
    if (rc == FW_OK)
        json_object_set(job, "fonts", files);
    json_decref(files);
    json_decref(needs);
    fw_font_rows_free(&fonts, count);
    return rc;
}

/* ---- secrets ----------------------------------------------------------------------------------- */

static fw_err apply_assets(fw_store *store, const unsigned char *key, const char *team_id, json_t *assets,
                           const char *prefix, fw_error *err)
{
    json_t *asset;
    size_t i;
    fw_err rc;

    json_array_foreach(assets, i, asset) {
        json_t *src = json_object_get(asset, "src");
        char path[FW_ERROR_FIELD_MAX];

        snprintf(path, sizeof(path), "%sassets[%zu]", prefix, i);
        if (json_is_string(src) && fw_secrets_has_placeholder(json_string_value(src))) {
            char *value = NULL;
            if ((rc = fw_secrets_resolve(store, key, team_id, json_string_value(src), &value, err))) {
                fw_error_prefix_field(err, "%s.src", path);
                return rc;
            }
            json_string_set(src, value);
            fw_secret_free(&value);
        }
        snprintf(path + strlen(path), sizeof(path) - strlen(path), ".");
        if ((rc = apply_assets(store, key, team_id, json_object_get(asset, "assets"), path, err)))
            return rc;
    }
    return FW_OK;
}

fw_err fw_job_secrets_apply(fw_store *store, const unsigned char key[FW_SECRETS_KEY_SIZE], const char *team_id,
                            json_t *job, fw_error *err)
{
    return apply_assets(store, key, team_id, json_object_get(job, "assets"), "", err);
}

/* ---- the team's own bucket --------------------------------------------------------------------- */

static const char *param(json_t *upload, const char *name)
{
    const char *v = json_string_value(json_object_get(json_object_get(upload, "params"), name));
    return v && *v ? v : NULL;
}

fw_err fw_job_upload_target(json_t *upload, const char *job_id, const char *ext, char **key, char **url,
                            fw_error *err)
{
    const char *prefix = json_string_value(json_object_get(upload, "prefix"));
    const char *base = json_string_value(json_object_get(upload, "outputUrl"));
    const char *endpoint = param(upload, "endpoint"), *bucket = param(upload, "bucket");
    size_t n;

    *key = *url = NULL;
    prefix = prefix ? prefix : "";
    while (*prefix == '/')
        prefix++;
    if (!bucket)
        return fw_error_set(err, FW_ERR_INVALID, "upload.params.bucket", "is required");
    n = strlen(prefix) + strlen(job_id) + strlen(ext) + 2;
    if (!(*key = malloc(n)))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    snprintf(*key, n, "%s%s.%s", prefix, job_id, ext);
    if (fw_storage_key_check(*key, err) != FW_OK) {
        free(*key);
        *key = NULL;
        return fw_error_set(err, FW_ERR_INVALID, "upload.prefix", "does not make a valid object key");
    }
    if (base && *base) {
        n = strlen(base) + strlen(*key) + 2;
        if ((*url = malloc(n))) {
            size_t len = strlen(base);
            while (len && base[len - 1] == '/')
                len--;
            snprintf(*url, n, "%.*s/%s", (int)len, base, *key);
        }
    } else {
        endpoint = endpoint ? endpoint : "https://s3.amazonaws.com";
        n = strlen(endpoint) + strlen(bucket) + strlen(*key) + 3;
        if ((*url = malloc(n))) {
            size_t len = strlen(endpoint);
            while (len && endpoint[len - 1] == '/')
                len--;
            snprintf(*url, n, "%.*s/%s/%s", (int)len, endpoint, bucket, *key);
        }
    }
    if (!*url) {
        free(*key);
        *key = NULL;
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    return FW_OK;
}

fw_err fw_job_upload(fw_store *store, const unsigned char key[FW_SECRETS_KEY_SIZE], const char *team_id,
                     json_t *upload, const char *job_id, const char *ext, const char *path, fw_error *err)
{
    static const char *const names[] = {"endpoint", "region", "bucket", "acl", "accessKeyId", "accessKeySecret"};
    char *values[6] = {0}, *object_key = NULL, *url = NULL;
    const char *redact[6];
    fw_storage_config config;
    fw_storage *bucket = NULL;
    fw_err rc = FW_OK;
    size_t i;

    for (i = 0; i < 6 && rc == FW_OK; i++) {
        const char *v = param(upload, names[i]);
        if (v && (rc = fw_secrets_resolve(store, key, team_id, v, &values[i], err)))
            fw_error_prefix_field(err, "upload.params.%s", names[i]);
    }
    if (rc == FW_OK)
        rc = fw_job_upload_target(upload, job_id, ext, &object_key, &url, err);
    if (rc == FW_OK) {
        memset(&config, 0, sizeof(config));
        config.kind = FW_STORAGE_S3;
        config.s3.endpoint = values[0] ? values[0] : "https://s3.amazonaws.com";
        config.s3.region = values[1];
        config.s3.bucket = values[2];
        config.s3.acl = values[3];
        config.s3.access_key_id = values[4];
        config.s3.secret_access_key = values[5];
        config.s3.url_policy = fw_url_policy_get(); /* the caller chose this endpoint */
        rc = fw_storage_open(&bucket, &config, err);
        if (rc == FW_OK)
            rc = fw_storage_put_file(bucket, object_key, path, err);
        if (rc && err) {
            /* S3 echoes an unknown access key id; the configuration errors
             * may quote what they were given. */
            size_t n = 0;
            for (i = 0; i < 6; i++)
                if (values[i] && (i >= 4 || fw_secrets_has_placeholder(param(upload, names[i]))))
                    redact[n++] = values[i];
            fw_secrets_redact(err->message, sizeof(err->message), redact, n);
            if (strncmp(err->field, "storage.s3.", 11) == 0) {
                char field[FW_ERROR_FIELD_MAX];
                snprintf(field, sizeof(field), "upload.params.%s", err->field + 11);
                snprintf(err->field, sizeof(err->field), "%s", field);
            } else if (!err->field[0] || strcmp(err->field, "key") == 0) {
                snprintf(err->field, sizeof(err->field), "upload");
            }
        }
    }
    fw_storage_free(&bucket);
    for (i = 0; i < 6; i++)
        fw_secret_free(&values[i]);
    free(object_key);
    free(url);
    return rc;
}
