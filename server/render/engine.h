/*
 * engine.h - the render engine interface.
 *
 * An engine turns a prepared Lottie document (assets applied, text laid out)
 * into pixels: load once, then render frame N into a buffer the caller owns
 * and reuses. Frames are premultiplied ARGB32 in native byte order (the
 * layout Cairo and rlottie use, and what server/media expects).
 *
 * Engines are looked up by name; "rlottie" is the first. An engine object
 * is used by one thread at a time; load one per thread to render in parallel.
 */
#ifndef FW_RENDER_ENGINE_H
#define FW_RENDER_ENGINE_H

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

/* What each engine provides. */
typedef struct fw_engine_class {
    const char *name;
    /* json: the document text (need not be NUL-terminated); resource_dir:
     * where relative image paths are resolved; NULL when the document's
     * image paths are absolute, as prepared templates' are. */
    fw_err (*load)(fw_engine **out, const char *json, size_t len, const char *resource_dir, fw_error *err);
    void (*info)(const fw_engine *engine, fw_engine_info *info);
    /* Draw frame (0-based from the in point) scaled to width x height. */
    fw_err (*render)(fw_engine *engine, int frame, uint32_t *pixels, int width, int height, size_t stride,
                     fw_error *err);
    void (*free)(fw_engine *engine);
} fw_engine_class;

struct fw_engine {
    const fw_engine_class *cls;
};

/* The engine called name, or NULL. NULL or "" names the default engine. */
const fw_engine_class *fw_engine_find(const char *name);

/* Comma-separated names of every engine, for error messages. */
const char *fw_engine_names(void);

fw_err fw_engine_load(fw_engine **out, const char *name, const char *json, size_t len, const char *resource_dir,
                      fw_error *err);
void fw_engine_get_info(const fw_engine *engine, fw_engine_info *info);
fw_err fw_engine_render(fw_engine *engine, int frame, uint32_t *pixels, int width, int height, size_t stride,
                        fw_error *err);
/* Frees the engine and sets *engine to NULL; NULL and *NULL are fine. */
void fw_engine_free(fw_engine **engine);

extern const fw_engine_class fw_engine_rlottie;

#endif
