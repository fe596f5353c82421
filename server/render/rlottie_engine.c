/*
 * rlottie_engine.c - the engine on Debian's rlottie (C API).
 *
 * rlottie draws shapes, precomps, images, masks and mattes; it draws no text
 * layers (server/text turns them into shapes first), evaluates no
 * expressions and knows no layer effects. Documents are loaded with an empty
 * cache key: rlottie keeps every keyed model for the life of the process,
 * which a long-running server cannot afford.
 */
#include <rlottie_capi.h>
#include <stdlib.h>
#include <string.h>

#include "server/render/engine.h"

typedef struct rlottie_engine {
    fw_engine base;
    Lottie_Animation *animation;
    fw_engine_info info;
} rlottie_engine;

static fw_err rlottie_load(fw_engine **out, const char *json, size_t len, const fw_engine_options *opts,
                           fw_error *err)
{
    const char *resource_dir = opts->resource_dir;
    rlottie_engine *e;
    char *text;
    size_t w = 0, h = 0;

    *out = NULL;
    /* rlottie wants a NUL-terminated string. */
    text = malloc(len + 1);
    if (!text)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory loading the document");
    memcpy(text, json, len);
    text[len] = '\0';
    e = calloc(1, sizeof(*e));
    if (!e) {
        free(text);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory loading the document");
    }
    e->base.cls = &fw_engine_rlottie;
    /* rlottie puts the resource path in front of every image path and draws
     * no images without one: "/" keeps absolute paths as they are. */
    e->animation = lottie_animation_from_data(text, "", resource_dir ? resource_dir : "/");
    free(text);
    if (!e->animation) {
        free(e);
        return fw_error_set(err, FW_ERR_INVALID, "template", "rlottie could not load the document");
    }
    lottie_animation_get_size(e->animation, &w, &h);
    e->info.width = (int)w;
    e->info.height = (int)h;
    e->info.fps = lottie_animation_get_framerate(e->animation);
    e->info.frame_count = (int)lottie_animation_get_totalframe(e->animation);
    e->info.duration = lottie_animation_get_duration(e->animation);
    if (e->info.width <= 0 || e->info.height <= 0 || e->info.fps <= 0 || e->info.frame_count <= 0) {
        lottie_animation_destroy(e->animation);
        free(e);
        return fw_error_set(err, FW_ERR_INVALID, "template", "the document has no size, frame rate or frames");
    }
    *out = &e->base;
    return FW_OK;
}

static void rlottie_info(const fw_engine *engine, fw_engine_info *info)
{
    *info = ((const rlottie_engine *)engine)->info;
}

static fw_err rlottie_render(fw_engine *engine, int frame, uint32_t *pixels, int width, int height, size_t stride,
                             fw_error *err)
{
    rlottie_engine *e = (rlottie_engine *)engine;

    if (frame < 0 || frame >= e->info.frame_count)
        return fw_error_set(err, FW_ERR_INVALID, "settings.frames", "frame %d is outside 0..%d", frame,
                            e->info.frame_count - 1);
    if (width <= 0 || height <= 0 || stride < (size_t)width * 4)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "bad frame buffer %dx%d stride %zu", width, height,
                            stride);
    /* rlottie paints over what is there; start from transparent. */
    for (int y = 0; y < height; y++)
        memset((char *)pixels + (size_t)y * stride, 0, (size_t)width * 4);
    lottie_animation_render(e->animation, (size_t)frame, pixels, (size_t)width, (size_t)height, stride);
    return FW_OK;
}

static void rlottie_free(fw_engine *engine)
{
    rlottie_engine *e = (rlottie_engine *)engine;
    lottie_animation_destroy(e->animation);
    free(e);
}

const fw_engine_class fw_engine_rlottie = {
    .name = "rlottie",
    .load = rlottie_load,
    .info = rlottie_info,
    .render = rlottie_render,
    .free = rlottie_free,
};
