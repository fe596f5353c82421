/*
 * image.h - the pixels of an image asset: decoded from its file or data: URI
 * at load (PNG, JPEG, WebP, through FFmpeg's decoders), or given by the
 * caller (lt_image_set_pixels), who may change them before every frame, or
 * asked for (footage: lt_image_show_picture) at the time of each drawing.
 */
#ifndef FW_RENDER_CAIRO_IMAGE_H
#define FW_RENDER_CAIRO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "server/render/cairo/model.h"
#include "server/util/error.h"

/* Decode im->path (relative paths under resource_dir). An image that cannot be read is left without
 * pixels (the layer draws nothing) and noted on the document. */
void lt_image_load(lt_doc *doc, lt_image *im, const char *resource_dir);
void lt_image_unload(lt_image *im);

/* Copy premultiplied ARGB32 pixels into the image; its size becomes width x height pixels drawn over
 * the asset's own w x h. */
fw_err lt_image_set_pixels(lt_image *im, const uint32_t *pixels, int width, int height, size_t stride,
                           fw_error *err);

/* Point the image at its footage's picture at seconds (im->picture set):
 * the surface wraps the footage's buffer, made anew only when the picture
 * changed. */
fw_err lt_image_show_picture(lt_image *im, double seconds, fw_error *err);

/* Decode an encoded picture (PNG, JPEG, WebP, GIF's first frame) into a new premultiplied ARGB32 Cairo
 * image surface (cairo_surface_t *), or NULL. */
void *lt_image_decode(const unsigned char *data, size_t len);

#endif
