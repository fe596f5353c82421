/*
 * engine.h - the render engine interface.
 *
 * An engine turns a prepared Lottie document (assets applied, text laid out)
 * into pixels: load once, then render frame N into a buffer the caller owns
 * and reuses. Frames are premultiplied ARGB32 in native byte order (the
 * layout Cairo and rlottie use, and what server/media expects).
 *
 * Engines are looked up by name: "cairo" (ours, server/render/cairo/) and
 * "rlottie"; the first is the default. An engine object
 * is used by one thread at a time; load one per thread to render in parallel.
 */
#ifndef FW_RENDER_ENGINE_H
#define FW_RENDER_ENGINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "server/util/error.h"

typedef struct fw_engine fw_engine;

typedef struct fw_engine_info {
    int width;          /* the composition's own size */
    int height;
    double fps;
    int frame_count;    /* frames from in point to out point */
    double duration;    /* seconds */
} fw_engine_info;

struct fw_fontset;

/* Pictures that an image asset shows and that change with time: a video
 * clip in a layer. While drawing a layer that shows the asset, the engine
 * asks for the picture at the layer's own time in seconds (0 at the layer's
 * start time, after its stretch and the time remapping of the compositions
 * above it), so that the clip follows the layer however it is timed.
 * The pixels (premultiplied ARGB32) stay valid until the next call; serial
 * changes exactly when they do, so an engine may keep what it made of them. */
typedef struct fw_engine_footage {
    fw_err (*picture)(void *user, double seconds, const uint32_t **pixels, int *width, int *height, size_t *stride,
                      int64_t *serial, fw_error *err);
    void *user;
} fw_engine_footage;

/* What an engine is loaded with besides the document. */
typedef struct fw_engine_options {
    /* Where relative image paths are resolved; NULL when the document's
     * image paths are absolute, as prepared templates' are. */
    const char *resource_dir;
    /* Fonts for engines that draw text layers themselves (draws_text);
     * the names of fonts not found are appended to missing_fonts (a JSON
     * array, may be NULL). */
    struct fw_fontset *fonts;
    json_t *missing_fonts;
} fw_engine_options;

/* What each engine provides. */
typedef struct fw_engine_class {
    const char *name;
    /* Text layers are drawn by the engine; otherwise the caller turns them
     * into shape layers first (server/text/text_lottie.h). */
    int draws_text;
    /* json: the document text (need not be NUL-terminated). */
    fw_err (*load)(fw_engine **out, const char *json, size_t len, const fw_engine_options *opts, fw_error *err);
    void (*info)(const fw_engine *engine, fw_engine_info *info);
    /* Draw frame (0-based from the in point) scaled to width x height. */
    fw_err (*render)(fw_engine *engine, int frame, uint32_t *pixels, int width, int height, size_t stride,
                     fw_error *err);
    void (*free)(fw_engine *engine);
    /* Optional (NULL: FW_ERR_UNSUPPORTED). Pixels (premultiplied ARGB32)
     * for image asset id instead of its file, copied; call again before any
     * frame to change them, as a video asset does. */
    fw_err (*set_image)(fw_engine *engine, const char *id, const uint32_t *pixels, int width, int height,
                        size_t stride, fw_error *err);
    /* Optional (NULL: FW_ERR_UNSUPPORTED). Image asset id shows footage
     * instead of its file; *footage is copied, its user must outlive the
     * engine. */
    fw_err (*set_footage)(fw_engine *engine, const char *id, const fw_engine_footage *footage, fw_error *err);
    /* Optional: what the document uses that the engine does not draw, as
     * one line ("" or NULL when nothing), for inspect. */
    const char *(*unsupported)(const fw_engine *engine);
} fw_engine_class;

struct fw_engine {
    const fw_engine_class *cls;
};

/* The engine called name, or NULL. NULL or "" names the default engine. */
const fw_engine_class *fw_engine_find(const char *name);

/* Comma-separated names of every engine, for error messages. */
const char *fw_engine_names(void);

/* opts may be NULL. */
fw_err fw_engine_load(fw_engine **out, const char *name, const char *json, size_t len, const fw_engine_options *opts,
                      fw_error *err);
void fw_engine_get_info(const fw_engine *engine, fw_engine_info *info);
fw_err fw_engine_render(fw_engine *engine, int frame, uint32_t *pixels, int width, int height, size_t stride,
                        fw_error *err);
fw_err fw_engine_set_image(fw_engine *engine, const char *id, const uint32_t *pixels, int width, int height,
                           size_t stride, fw_error *err);
fw_err fw_engine_set_footage(fw_engine *engine, const char *id, const fw_engine_footage *footage, fw_error *err);
/* "" when the engine draws everything the document uses (or cannot tell). */
const char *fw_engine_unsupported(const fw_engine *engine);
/* Frees the engine and sets *engine to NULL; NULL and *NULL are fine. */
void fw_engine_free(fw_engine **engine);

extern const fw_engine_class fw_engine_rlottie;
extern const fw_engine_class fw_engine_cairo;

#endif
