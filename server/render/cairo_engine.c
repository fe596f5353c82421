/*
 * cairo_engine.c - Framewright's own engine: the Lottie model of
 * server/render/cairo/ drawn with Cairo.
 *
 * It draws text layers itself (HarfBuzz and FreeType through server/text,
 * with text animators), evaluates expressions (Duktape), applies layer
 * effects, and takes image pixels from the caller frame by frame, or asks
 * for them (footage) at each layer's own time.
 */
#include <stdlib.h>
#include <string.h>

#include "server/render/cairo/draw.h"
#include "server/render/cairo/expr.h"
#include "server/render/cairo/model.h"
#include "server/render/cairo/text.h"
#include "server/render/engine.h"

typedef struct cairo_engine {
    fw_engine base;
    lt_doc *doc;
    lt_draw *draw;
    fw_engine_info info;
} cairo_engine;

static void cairo_free(fw_engine *engine)
{
    cairo_engine *e = (cairo_engine *)engine;
    lt_draw_free(&e->draw);
    if (e->doc) {
        lt_text_detach(e->doc);
        lt_expr_detach(e->doc);
    }
    lt_doc_free(&e->doc);
    free(e);
}

static fw_err cairo_load(fw_engine **out, const char *json, size_t len, const fw_engine_options *opts, fw_error *err)
{
    cairo_engine *e = calloc(1, sizeof(*e));
    fw_err rc;

    *out = NULL;
    if (!e)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory loading the document");
    e->base.cls = &fw_engine_cairo;
    if ((rc = lt_doc_load(&e->doc, json, len, opts->resource_dir, err)) ||
        (rc = lt_expr_attach(e->doc, err)) ||
        (opts->fonts && (rc = lt_text_attach(e->doc, opts->fonts, opts->missing_fonts, err))) ||
        (rc = lt_draw_new(&e->draw, e->doc, err))) {
        cairo_free(&e->base);
        return rc;
    }
    e->info.width = (int)(e->doc->w + 0.5);
    e->info.height = (int)(e->doc->h + 0.5);
    e->info.fps = e->doc->fr;
    e->info.frame_count = (int)(e->doc->op - e->doc->ip + 0.5);
    if (e->info.frame_count < 1)
        e->info.frame_count = 1;
    e->info.duration = (e->doc->op - e->doc->ip) / e->doc->fr;
    *out = &e->base;
    return FW_OK;
}

static void cairo_info(const fw_engine *engine, fw_engine_info *info)
{
    *info = ((const cairo_engine *)engine)->info;
}

static fw_err cairo_render(fw_engine *engine, int frame, uint32_t *pixels, int width, int height, size_t stride,
                           fw_error *err)
{
    cairo_engine *e = (cairo_engine *)engine;

    if (frame < 0 || frame >= e->info.frame_count)
        return fw_error_set(err, FW_ERR_INVALID, "settings.frames", "frame %d is outside 0..%d", frame,
                            e->info.frame_count - 1);
    return lt_draw_frame(e->draw, frame, pixels, width, height, stride, err);
}

static fw_err cairo_set_image(fw_engine *engine, const char *id, const uint32_t *pixels, int width, int height,
                              size_t stride, fw_error *err)
{
    return lt_draw_set_image(((cairo_engine *)engine)->draw, id, pixels, width, height, stride, err);
}

static fw_err cairo_set_footage(fw_engine *engine, const char *id, const fw_engine_footage *footage, fw_error *err)
{
    return lt_draw_set_footage(((cairo_engine *)engine)->draw, id, footage->picture, footage->user, err);
}

static const char *cairo_unsupported(const fw_engine *engine)
{
    return ((const cairo_engine *)engine)->doc->unsupported_what;
}

const fw_engine_class fw_engine_cairo = {
    .name = "cairo",
    .draws_text = 1,
    .load = cairo_load,
    .info = cairo_info,
    .render = cairo_render,
    .free = cairo_free,
    .set_image = cairo_set_image,
    .set_footage = cairo_set_footage,
    .unsupported = cairo_unsupported,
};
