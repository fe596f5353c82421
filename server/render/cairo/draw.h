/*
 * draw.h - draw frames of a Lottie model with Cairo.
 *
 * An lt_draw holds what drawing needs between frames: the model, decoded
 * images, scratch paths that keep their buffers from frame to frame. One
 * lt_draw is used by one thread at a time.
 */
#ifndef FW_RENDER_CAIRO_DRAW_H
#define FW_RENDER_CAIRO_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include "server/render/cairo/model.h"
#include "server/util/error.h"

typedef struct lt_draw lt_draw;

/* doc stays owned by the caller and must outlive the lt_draw. Images are decoded here. */
fw_err lt_draw_new(lt_draw **out, lt_doc *doc, fw_error *err);
void lt_draw_free(lt_draw **d);

/* Draw document frame `frame` (frames from the document's in point, fractional allowed) scaled to
 * width x height into premultiplied ARGB32 pixels (native byte order), which are overwritten. */
fw_err lt_draw_frame(lt_draw *d, double frame, uint32_t *pixels, int width, int height, size_t stride,
                     fw_error *err);

/* Give image asset `id` pixels (premultiplied ARGB32, copied on every call) instead of its file: the
 * caller may call this again before every frame with new pixels. FW_ERR_NOT_FOUND when the document
 * has no image asset of that id. */
fw_err lt_draw_set_image(lt_draw *d, const char *id, const uint32_t *pixels, int width, int height, size_t stride,
                         fw_error *err);

/* Image asset `id` shows footage: picture(user, seconds, ...) is asked for the picture at the layer's own time
 * whenever a layer showing it is drawn; an error it returns fails the frame. FW_ERR_NOT_FOUND when the document
 * has no image asset of that id. */
fw_err lt_draw_set_footage(lt_draw *d, const char *id, lt_picture_fn picture, void *user, fw_error *err);

#endif
