/*
 * pixels.h - pixel work the encoder does before FFmpeg sees a frame:
 * unpremultiplying alpha and reducing a picture to a 256-colour palette for
 * GIF. Internal to server/media. Nothing here allocates per frame: the
 * quantizer's tables live in its struct, set up once.
 */
#ifndef FW_MEDIA_PIXELS_H
#define FW_MEDIA_PIXELS_H

#include <stdint.h>

/* Premultiplied ARGB32 -> straight ARGB32, one row; src and dst may be the
 * same. Each channel becomes round(c * 255 / a), capped at 255; alpha 0 gives
 * 0,0,0,0. */
void fw_pixels_unpremultiply_row(const uint32_t *src, uint32_t *dst, int width);

/* A median-cut quantizer over a 15-bit (5,5,5) colour histogram. */
#define FW_QUANT_BINS (1 << 15)

typedef struct fw_quantizer {
    uint32_t histogram[FW_QUANT_BINS];
    uint16_t used[FW_QUANT_BINS]; /* bins with a non-zero count */
    uint8_t lookup[FW_QUANT_BINS]; /* bin -> palette index */
    int used_count;
} fw_quantizer;

/* Map a premultiplied ARGB32 picture (over black: alpha is dropped) to
 * palette indices. palette receives up to 256 opaque ARGB32 entries (unused
 * ones are black); out has out_stride bytes per row. */
void fw_quantize(fw_quantizer *q, const uint8_t *src, int src_stride, int width, int height, uint8_t *out,
                 int out_stride, uint32_t palette[256]);

#endif
