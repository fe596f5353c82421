/* gradient.c - gradients drawn from a colour table; see gradient.h. */
#include "server/render/cairo/gradient.h"

#include <math.h>
#include <string.h>

static uint32_t pack(double r, double g, double b, double a)
{
    unsigned A = (unsigned)(a * 255 + 0.5);
    /* Premultiplied, rounded as Cairo rounds. */
    unsigned R = (unsigned)(r * a * 255 + 0.5), G = (unsigned)(g * a * 255 + 0.5), B = (unsigned)(b * a * 255 + 0.5);
    return (uint32_t)A << 24 | (uint32_t)R << 16 | (uint32_t)G << 8 | B;
}

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v == v ? v : 0;
}

static void build_lut(lt_gradient *g, cairo_pattern_t *p)
{
    int n = 0;
    double off0, r0, g0, b0, a0, off1, r1, g1, b1, a1;

    cairo_pattern_get_color_stop_count(p, &n);
    if (n <= 0) {
        memset(g->lut, 0, sizeof(g->lut));
        return;
    }
    cairo_pattern_get_color_stop_rgba(p, 0, &off0, &r0, &g0, &b0, &a0);
    int k = 0;
    for (int i = 0; i < LT_GRADIENT_LUT; i++) {
        double t = (double)i / (LT_GRADIENT_LUT - 1);
        /* The stop pair around t; before the first and after the last, the end colours. */
        while (k + 1 < n) {
            cairo_pattern_get_color_stop_rgba(p, k + 1, &off1, &r1, &g1, &b1, &a1);
            if (off1 >= t)
                break;
            k++;
            off0 = off1, r0 = r1, g0 = g1, b0 = b1, a0 = a1;
        }
        if (k + 1 >= n || t <= off0) {
            cairo_pattern_get_color_stop_rgba(p, t <= off0 ? k : n - 1, &off1, &r1, &g1, &b1, &a1);
            g->lut[i] = pack(clamp01(r1), clamp01(g1), clamp01(b1), clamp01(a1));
            continue;
        }
        double f = off1 > off0 ? (t - off0) / (off1 - off0) : 1;
        g->lut[i] = pack(clamp01(r0 + (r1 - r0) * f), clamp01(g0 + (g1 - g0) * f), clamp01(b0 + (b1 - b0) * f),
                         clamp01(a0 + (a1 - a0) * f));
    }
}

int lt_gradient_from_pattern(lt_gradient *g, cairo_pattern_t *p, const cairo_matrix_t *pattern_to_device)
{
    cairo_pattern_type_t type = cairo_pattern_get_type(p);
    double r0 = 0;

    g->to_pattern = *pattern_to_device;
    if (cairo_matrix_invert(&g->to_pattern) != CAIRO_STATUS_SUCCESS)
        return -1;
    if (cairo_pattern_get_extend(p) != CAIRO_EXTEND_PAD)
        return -1;
    if (type == CAIRO_PATTERN_TYPE_LINEAR) {
        g->radial = 0;
        cairo_pattern_get_linear_points(p, &g->x0, &g->y0, &g->x1, &g->y1);
    } else if (type == CAIRO_PATTERN_TYPE_RADIAL) {
        g->radial = 1;
        cairo_pattern_get_radial_circles(p, &g->x0, &g->y0, &r0, &g->x1, &g->y1, &g->r);
        /* Only the focal form the engine makes: a point inside the outer circle. */
        if (r0 != 0 || !(g->r > 0) || hypot(g->x0 - g->x1, g->y0 - g->y1) >= g->r)
            return -1;
    } else {
        return -1;
    }
    build_lut(g, p);
    return 0;
}

static inline uint32_t at(const lt_gradient *g, double t)
{
    int i = t <= 0 ? 0 : t >= 1 ? LT_GRADIENT_LUT - 1 : (int)(t * (LT_GRADIENT_LUT - 1) + 0.5);
    return g->lut[i];
}

int lt_gradient_step(const lt_gradient *g, cairo_pattern_t *pattern)
{
    const cairo_matrix_t *m = &g->to_pattern;
    double len, gap = 1, prev = 0, off, r, gg, b, a;
    int n = 0;

    /* The gradient's length in device pixels: its pattern-space length over the pattern's scale. */
    double scale = sqrt(fabs(m->xx * m->yy - m->xy * m->yx));
    len = (g->radial ? g->r : hypot(g->x1 - g->x0, g->y1 - g->y0)) / (scale > 0 ? scale : 1);
    cairo_pattern_get_color_stop_count(pattern, &n);
    for (int i = 0; i < n; i++) {
        cairo_pattern_get_color_stop_rgba(pattern, i, &off, &r, &gg, &b, &a);
        if (i > 0 && off - prev < gap && off - prev > 1e-9)
            gap = off - prev;
        else if (i > 0 && off - prev <= 1e-9)
            gap = 0; /* a hard edge */
        prev = off;
    }
    int step = (int)(gap * len / 4);
    return step < 1 ? 1 : step > 4 ? 4 : step;
}

void lt_gradient_draw(const lt_gradient *g, uint32_t *pixels, size_t stride, double x0, double y0, double step,
                      int width, int height)
{
    const cairo_matrix_t *m = &g->to_pattern;

    for (int y = 0; y < height; y++) {
        uint32_t *row = (uint32_t *)((char *)pixels + (size_t)y * stride);
        /* The pattern-space point of this row's first sample, and the step along the row. */
        double px = x0 + 0.5 * step, py = y0 + (y + 0.5) * step;
        cairo_matrix_transform_point(m, &px, &py);
        double sx = m->xx * step, sy = m->yx * step;
        if (!g->radial) {
            double dx = g->x1 - g->x0, dy = g->y1 - g->y0, len2 = dx * dx + dy * dy;
            if (len2 <= 0) {
                for (int x = 0; x < width; x++)
                    row[x] = at(g, 1);
                continue;
            }
            double t = ((px - g->x0) * dx + (py - g->y0) * dy) / len2, dt = (sx * dx + sy * dy) / len2;
            for (int x = 0; x < width; x++, t += dt)
                row[x] = at(g, t);
        } else {
            /* The t whose circle (centre focal + t (centre - focal), radius t r) passes through the point:
             * a t^2 - 2 b t + c = 0 with a = |d|^2 - r^2 < 0, b = q.d, c = |q|^2, q = point - focal. */
            double dx = g->x1 - g->x0, dy = g->y1 - g->y0, a = dx * dx + dy * dy - g->r * g->r;
            double qx = px - g->x0, qy = py - g->y0;
            for (int x = 0; x < width; x++, qx += sx, qy += sy) {
                double b = qx * dx + qy * dy, c = qx * qx + qy * qy;
                double disc = b * b - a * c;
                double t = (b - sqrt(disc > 0 ? disc : 0)) / a;
                row[x] = at(g, t);
            }
        }
    }
}
