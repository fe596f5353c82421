/*
 * template_frames.c - TemplateService.GetTemplateFrame: one frame of a
 * template drawn as PNG, for a poster and a short looping preview.
 *
 * The picture comes from the same chain a worker's prerender runs
 * (server/work/render_job.c): the version's bundle loaded and checked with
 * the template limits, the bundle's fonts beside the machine's, the
 * composition selected, text laid out, and the default engine loaded by
 * fw_render_load_engine - so the poster is what a job without assets
 * renders. Only the team's own templates are found.
 *
 * Drawing runs here on the API's threads rather than in a worker process:
 * answers are wanted in a page's time, not a queue's. What bounds it: the
 * document limits of every template load, at most 2048 pixels a side, a few
 * frames drawn at once (frame_cache.h), and the cache in front of it all.
 */
#include <cairo.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/template.pb-c.h"
#include "server/api/frame_cache.h"
#include "server/api/service.h"
#include "server/render/engine.h"
#include "server/template/template.h"
#include "server/text/fonts.h"
#include "server/util/fs.h"
#include "server/work/render_job.h"

#define MAX_SIDE 2048
#define DRAW_WAIT_MS 5000

/* What is drawn: the request checked against the template. */
typedef struct frame_plan {
    char team[FW_ID_SIZE];
    char storage_key[256];
    const char *composition; /* "" for the root */
    int version;
    int frame;
    int width, height;
    char cache_key[512];
} frame_plan;

static fw_err composition_of(const json_t *details, const char *name, const json_t **out, fw_error *err)
{
    const json_t *comps = json_object_get(details, "compositions"), *c;
    char names[512] = "";
    size_t i, used = 0;

    json_array_foreach(comps, i, c) {
        const char *n = json_string_value(json_object_get(c, "name"));
        if ((!*name && json_is_true(json_object_get(c, "isRoot"))) || (*name && n && strcmp(n, name) == 0)) {
            *out = c;
            return FW_OK;
        }
        if (n && used + strlen(n) + 3 < sizeof(names))
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", n);
    }
    if (!*name)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "the template's details name no root composition");
    return fw_error_set(err, FW_ERR_INVALID, "composition", "no composition '%s'; compositions: %s", name, names);
}

/* The output size: within MAX_SIDE, the composition's aspect ratio kept. */
static fw_err choose_size(const Framewright__V1__GetTemplateFrameRequest *r, int cw, int ch, frame_plan *p,
                          fw_error *err)
{
    double scale;
    if (r->width < 0 || r->width > MAX_SIDE)
        return fw_error_set(err, FW_ERR_INVALID, "width", "%d is not a width; 1 to %d pixels, or 0 for the default",
                            (int)r->width, MAX_SIDE);
    if (r->height < 0 || r->height > MAX_SIDE)
        return fw_error_set(err, FW_ERR_INVALID, "height",
                            "%d is not a height; 1 to %d pixels, or 0 for the default", (int)r->height, MAX_SIDE);
    if (cw <= 0 || ch <= 0)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "the composition has no size");
    if (r->width && r->height)
        scale = (double)r->width / cw < (double)r->height / ch ? (double)r->width / cw : (double)r->height / ch;
    else if (r->width)
        scale = (double)r->width / cw;
    else if (r->height)
        scale = (double)r->height / ch;
    else
        scale = cw > MAX_SIDE || ch > MAX_SIDE ? (double)MAX_SIDE / (cw > ch ? cw : ch) : 1.0;
    p->width = (int)(cw * scale + 0.5);
    p->height = (int)(ch * scale + 0.5);
    if (p->width < 1)
        p->width = 1;
    if (p->height < 1)
        p->height = 1;
    if (p->width > MAX_SIDE || p->height > MAX_SIDE)
        return fw_error_set(err, FW_ERR_INVALID, r->width ? "width" : "height",
                            "the picture would be %dx%d; at most %d pixels a side", p->width, p->height, MAX_SIDE);
    return FW_OK;
}

/* Check the request against the template (the team's only) and say what to draw. */
static fw_err plan_frame(fw_service *svc, fw_store *store, const Framewright__V1__GetTemplateFrameRequest *r,
                         frame_plan *p, fw_error *err)
{
    const char *format = r->format ? r->format : "";
    fw_template_version_row *versions = NULL;
    size_t version_count = 0;
    const char *details_text;
    const json_t *comp = NULL;
    json_t *details = NULL;
    fw_template_row row;
    int frames;
    fw_err rc;

    if (*format && strcmp(format, "png") != 0)
        return fw_error_set(err, FW_ERR_INVALID, "format", "'%.32s' is not served; formats: png", format);
    if (r->version < 0)
        return fw_error_set(err, FW_ERR_INVALID, "version", "a version is a number from 1, not %d", (int)r->version);
    memset(&row, 0, sizeof(row));
    rc = fw_store_template_get(store, p->team, r->id, &row, err);
    if (rc == FW_ERR_NOT_FOUND)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no template '%s'", r->id);
    if (rc == FW_OK)
        rc = fw_service_template_pick_up(svc, store, &row, err);
    if (rc == FW_OK && strcmp(row.status, FW_TEMPLATE_UPLOADED) != 0)
        rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "id", "template '%s' has no bundle to draw (%s)", r->id,
                          row.status);
    details_text = row.details_json;
    p->version = row.version;
    snprintf(p->storage_key, sizeof(p->storage_key), "%s", row.storage_key);
    if (rc == FW_OK && r->version && r->version != row.version) {
        size_t i;
        rc = fw_store_template_versions(store, p->team, r->id, &versions, &version_count, err);
        for (i = 0; rc == FW_OK && i < version_count && versions[i].version != r->version; i++)
            ;
        if (rc == FW_OK && i == version_count)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "version", "template '%s' has no version %d", r->id,
                              (int)r->version);
        if (rc == FW_OK) {
            details_text = versions[i].details_json;
            p->version = versions[i].version;
            snprintf(p->storage_key, sizeof(p->storage_key), "%s", versions[i].storage_key);
        }
    }
    if (rc == FW_OK && !(details = details_text ? json_loads(details_text, 0, NULL) : NULL))
        rc = fw_error_set(err, FW_ERR_INTERNAL, NULL, "template '%s' has no details", r->id);
    if (rc == FW_OK)
        rc = composition_of(details, p->composition, &comp, err);
    if (rc == FW_OK) {
        frames = (int)json_number_value(json_object_get(comp, "frames"));
        if (r->frame < 0 || r->frame >= frames)
            rc = fw_error_set(err, FW_ERR_INVALID, "frame", "%d is not a frame of composition '%s'; frames 0 to %d",
                              (int)r->frame, json_string_value(json_object_get(comp, "name")), frames - 1);
    }
    if (rc == FW_OK)
        rc = choose_size(r, (int)json_number_value(json_object_get(comp, "width")),
                         (int)json_number_value(json_object_get(comp, "height")), p, err);
    if (rc == FW_OK) {
        p->frame = r->frame;
        snprintf(p->cache_key, sizeof(p->cache_key), "%s/%s/%d/%d/%dx%d/%s", p->team, r->id, p->version, p->frame,
                 p->width, p->height, p->composition);
    }
    json_decref(details);
    fw_template_version_rows_free(&versions, version_count);
    fw_template_row_clear(&row);
    return rc;
}

/* ---- drawing ----------------------------------------------------------------------------------- */

typedef struct png_buffer {
    unsigned char *data;
    size_t len, cap;
} png_buffer;

static cairo_status_t png_write(void *closure, const unsigned char *data, unsigned int length)
{
    png_buffer *b = closure;
    if (b->len + length > b->cap) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        unsigned char *bigger;
        while (b->len + length > cap)
            cap *= 2;
        if (!(bigger = realloc(b->data, cap)))
            return CAIRO_STATUS_NO_MEMORY;
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, length);
    b->len += length;
    return CAIRO_STATUS_SUCCESS;
}

/* Premultiplied ARGB32, Cairo's and the engines' layout, as PNG into *out. */
static fw_err encode_png(unsigned char *pixels, int width, int height, int stride, png_buffer *out, fw_error *err)
{
    cairo_surface_t *s = cairo_image_surface_create_for_data(pixels, CAIRO_FORMAT_ARGB32, width, height, stride);
    cairo_status_t st = cairo_surface_status(s);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_write_to_png_stream(s, png_write, out);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "cannot encode the frame as PNG: %s",
                            cairo_status_to_string(st));
    return FW_OK;
}

/* The bundle as a local file: where local storage keeps it, else fetched
 * into scratch (*fetched set: the caller removes it). */
static fw_err bundle_path(fw_service *svc, const char *key, char path[PATH_MAX], int *fetched, fw_error *err)
{
    int fd;
    *fetched = 0;
    if (fw_storage_get_kind(svc->storage) == FW_STORAGE_LOCAL)
        return fw_storage_local_path(svc->storage, key, path, PATH_MAX, err);
    snprintf(path, PATH_MAX, "%s/fw-frame-XXXXXX", svc->config.scratch_dir ? svc->config.scratch_dir : "/tmp");
    if ((fd = fw_create_temp_file(path)) < 0)
        return fw_error_set(err, FW_ERR_IO, NULL, "cannot make a scratch file for the bundle");
    close(fd);
    *fetched = 1;
    return fw_storage_get_file(svc->storage, key, path, err);
}

static fw_err draw_frame(fw_service *svc, const frame_plan *p, png_buffer *png, fw_error *err)
{
    char workdir[PATH_MAX] = "", path[PATH_MAX] = "";
    fw_template_limits limits;
    fw_template *tpl = NULL;
    fw_fontset *fonts = NULL;
    fw_engine *engine = NULL;
    unsigned char *pixels = NULL;
    json_t *doc = NULL;
    int fetched = 0, stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, p->width);
    fw_err rc;

    fw_template_limits_init(&limits);
    rc = bundle_path(svc, p->storage_key, path, &fetched, err);
    if (rc == FW_OK)
        rc = fw_make_temp_dir(svc->config.scratch_dir, "fw-frame-", workdir, sizeof(workdir), err);
    if (rc == FW_OK)
        rc = fw_template_load(&tpl, path, workdir, &limits, err);
    if (rc == FW_OK)
        rc = fw_fontset_new(&fonts, NULL, err);
    for (size_t i = 0; rc == FW_OK && tpl && i < fw_template_font_count(tpl); i++)
        rc = fw_fontset_add_file(fonts, fw_template_font_path(tpl, i), err);
    if (rc == FW_OK)
        rc = fw_template_select_composition(tpl, p->composition, &doc, err);
    if (rc == FW_OK)
        rc = fw_render_load_engine(&engine, NULL, doc, fonts, NULL, NULL, err);
    if (rc == FW_OK && !(pixels = calloc((size_t)stride, (size_t)p->height)))
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for a %dx%d frame", p->width, p->height);
    if (rc == FW_OK)
        rc = fw_engine_render(engine, p->frame, (uint32_t *)pixels, p->width, p->height, (size_t)stride, err);
    if (rc == FW_OK)
        rc = encode_png(pixels, p->width, p->height, stride, png, err);
    free(pixels);
    fw_engine_free(&engine);
    json_decref(doc);
    fw_fontset_free(&fonts);
    fw_template_free(&tpl);
    if (workdir[0])
        fw_remove_tree(workdir);
    if (fetched)
        unlink(path);
    return rc;
}

/* ---- the call ---------------------------------------------------------------------------------- */

static fw_err answer(fw_rpc_call *call, const frame_plan *p, unsigned char *data, size_t len, int cached,
                     ProtobufCMessage **resp, fw_error *err)
{
    Framewright__V1__TemplateFrame *out = malloc(sizeof(*out));
    if (!out) {
        free(data);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    framewright__v1__template_frame__init(out);
    out->data.data = data;
    out->data.len = len;
    if (!(out->content_type = strdup("image/png"))) {
        free(data);
        free(out);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    out->width = p->width;
    out->height = p->height;
    out->frame = p->frame;
    out->version = p->version;
    out->cached = cached;
    *resp = &out->base;
    return fw_service_defer_free(call, &out->base, err);
}

static fw_err get_template_frame(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                 fw_error *err)
{
    const Framewright__V1__GetTemplateFrameRequest *r = (const Framewright__V1__GetTemplateFrameRequest *)req;
    fw_service *svc = fw_rpc_call_context(call);
    png_buffer png = {0};
    unsigned char *kept;
    frame_plan plan;
    fw_store *store;
    size_t len = 0;
    int w, h;
    fw_err rc;

    memset(&plan, 0, sizeof(plan));
    if ((rc = fw_service_begin(call, svc, &store, plan.team, err)))
        return rc;
    plan.composition = r->composition ? r->composition : "";
    rc = plan_frame(svc, store, r, &plan, err);
    fw_store_pool_put(svc->stores, store);
    if (rc)
        return rc;
    if (svc->frames && (kept = fw_frame_cache_get(svc->frames, plan.cache_key, &len, &w, &h)))
        return answer(call, &plan, kept, len, 1, resp, err);
    if (svc->frames && (rc = fw_frame_cache_begin_drawing(svc->frames, DRAW_WAIT_MS, err)))
        return rc;
    rc = draw_frame(svc, &plan, &png, err);
    if (svc->frames) {
        fw_frame_cache_end_drawing(svc->frames);
        if (rc == FW_OK)
            fw_frame_cache_put(svc->frames, plan.cache_key, png.data, png.len, plan.width, plan.height);
    }
    if (rc) {
        free(png.data);
        return rc;
    }
    return answer(call, &plan, png.data, png.len, 0, resp, err);
}

fw_err fw_template_frames_register(fw_rpc_server *srv, fw_service *svc, fw_error *err)
{
    return fw_rpc_server_on_unary(srv, "/framewright.v1.TemplateService/GetTemplateFrame", get_template_frame, svc,
                                  err);
}
