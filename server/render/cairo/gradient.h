/*
 * gradient.h - linear and radial gradients drawn by the engine itself.
 *
 * Pixman computes a gradient pixel by pixel in floating point through a
 * general two-circle formula, which made gradient-filled layers the slowest
 * thing the engine draws. This draws the same gradient (Cairo's geometry:
 * linear from p0 to p1; radial from a focal circle of radius 0 to a circle
 * of radius r; pad extend; stops interpolated unpremultiplied) into a plain
 * pixel buffer from a 1024-entry colour table, stepping the gradient
 * parameter incrementally along each row. The engine then fills or strokes
 * with those pixels as the source.
 */
#ifndef FW_RENDER_CAIRO_GRADIENT_H
#define FW_RENDER_CAIRO_GRADIENT_H

#include <cairo.h>
#include <stddef.h>
#include <stdint.h>

#define LT_GRADIENT_LUT 1024

typedef struct lt_gradient {
    int radial;
    double x0, y0, x1, y1; /* linear: from, to; radial: focal point, centre */
    double r;              /* radial: the outer radius */
    cairo_matrix_t to_pattern; /* device pixel -> gradient space */
    uint32_t lut[LT_GRADIENT_LUT]; /* premultiplied ARGB32 along t in 0..1 */
} lt_gradient;

/* Read a Cairo linear or radial pattern (pad extend; a radial's first circle of radius 0), whose
 * space maps to device space by pattern_to_device. Returns 0, or -1 when the pattern is something
 * else or the matrix cannot be inverted. */
int lt_gradient_from_pattern(lt_gradient *g, cairo_pattern_t *pattern, const cairo_matrix_t *pattern_to_device);

/* Draw the gradient into width x height samples: sample (i, j) is the colour at device point
 * (x0 + (i + 0.5) * step, y0 + (j + 0.5) * step). A step of 1 is one sample per pixel; a larger step
 * samples a smooth gradient sparsely, to be scaled up bilinearly. */
void lt_gradient_draw(const lt_gradient *g, uint32_t *pixels, size_t stride, double x0, double y0, double step,
                      int width, int height);

/* The largest sampling step (1 to 4) that keeps the gradient's colour changes sharp: its stops must
 * be at least 4 steps apart along it. */
int lt_gradient_step(const lt_gradient *g, cairo_pattern_t *pattern);

#endif
