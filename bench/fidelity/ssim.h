/*
 * ssim.h - how alike two rendered frames look: SSIM over a white background.
 *
 * Frames are premultiplied ARGB32 in native byte order (Cairo's and the
 * engines' layout: on little-endian machines the bytes are B, G, R, A). Both
 * images are first composited over opaque white, as a person would see a
 * transparent frame on a page, so that a pixel's colour under zero alpha
 * does not count.
 *
 * The index is the structural similarity of Wang, Bovik, Sheikh and
 * Simoncelli (2004) at full resolution: an 11x11 Gaussian window with
 * sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, computed on luma only
 * (Y = 0.299 R + 0.587 G + 0.114 B, the Rec. 601 weights of the paper's
 * grey-level images) and averaged over every window that fits entirely in the
 * picture (no padding at the borders). Luma rather than a mean over R, G and
 * B: it is what the paper measures and what the eye is most sensitive to; a
 * hue error of equal brightness costs less than it would per channel. There
 * is no downsampling, so large frames are judged at the detail they have.
 *
 * 1.0 means identical; shifts, missing shapes and wrong colours pull it down.
 */
#ifndef FW_BENCH_FIDELITY_SSIM_H
#define FW_BENCH_FIDELITY_SSIM_H

#include <stddef.h>
#include <stdint.h>

#include "server/util/error.h"

/* The side of the Gaussian window; images must be at least this wide and high. */
#define FW_SSIM_WINDOW 11

/* SSIM of a and b, each width x height with its own stride in bytes.
 * Sizes that differ, or smaller than the window, are FW_ERR_INVALID. */
fw_err fw_ssim_compare(const uint32_t *a, int a_width, int a_height, size_t a_stride, const uint32_t *b,
                       int b_width, int b_height, size_t b_stride, double *ssim, fw_error *err);

/* One premultiplied ARGB32 pixel composited over white: opaque, native order. */
static inline uint32_t fw_ssim_over_white(uint32_t pixel)
{
    uint32_t clear = 255 - (pixel >> 24);
    uint32_t r = ((pixel >> 16) & 0xff) + clear, g = ((pixel >> 8) & 0xff) + clear, b = (pixel & 0xff) + clear;

    /* Premultiplied colour never exceeds alpha; clamp anyway for bad input. */
    r = r > 255 ? 255 : r;
    g = g > 255 ? 255 : g;
    b = b > 255 ? 255 : b;
    return 0xff000000u | r << 16 | g << 8 | b;
}

/* Reads a PNG (any PNG Cairo reads: RGB, RGBA, grey, palette) into a new
 * premultiplied ARGB32 buffer with stride width * 4; the caller frees
 * *pixels with free(). A missing or broken file is FW_ERR_IO, one that is
 * not a PNG at all FW_ERR_INVALID. */
fw_err fw_ssim_read_png(const char *path, uint32_t **pixels, int *width, int *height, fw_error *err);

/* Writes a premultiplied ARGB32 buffer as a PNG, replacing path only when
 * the whole file is written. */
fw_err fw_ssim_write_png(const char *path, const uint32_t *pixels, int width, int height, size_t stride,
                         fw_error *err);

#endif
