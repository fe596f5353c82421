/*
 * effects.c - After Effects layer effects on ARGB32 image surfaces.
 *
 * Colour effects (fill, tint, tritone, 4-colour gradient) work pixel by
 * pixel on un-premultiplied sRGB values and keep each pixel's alpha, as AE
 * does; fully transparent pixels stay transparent.
 *
 * The blur is three passes of a box filter per axis, which by the central
 * limit theorem is within a few percent of a Gaussian. Each box has a
 * fractional width (whole taps plus one partial tap at each end) chosen so
 * that the three boxes together have exactly the Gaussian's variance; with
 * whole-pixel boxes sigma would jump in steps and an animated blur would
 * pulse. A pass reads running sums, so its cost does not depend on the
 * width of the box, and pixels beyond the ends of a row are either zero or
 * the edge pixel repeated, both of which the running sums handle in closed
 * form. Passes run in floats on one row (or column) at a time and round
 * once at the end, so three passes do not accumulate rounding.
 *
 * The drop shadow builds the shadow's alpha in a plane of its own (moved
 * with bilinear sampling, blurred with the same code) and composites the
 * layer over it.
 */
#include "server/render/cairo/effects.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers from untrusted documents ------------------------------------------------------- */

static double finite_or(double x, double fallback)
{
    return isfinite(x) ? x : fallback;
}

/* NaN counts as 0. */
static double clamp01(double x)
{
    if (!(x > 0))
        return 0;
    return x > 1 ? 1 : x;
}

static double sane_scale(double scale)
{
    return (isfinite(scale) && scale > 0) ? scale : 1;
}

/* AE blurriness (or softness) at a scale to a sigma in surface pixels. */
static double blur_sigma(double blurriness, double scale)
{
    double s = finite_or(blurriness, 0) * LT_FX_BLURRINESS_TO_SIGMA * sane_scale(scale);
    if (!(s > 0))
        return 0;
    return s > LT_FX_MAX_SIGMA ? LT_FX_MAX_SIGMA : s;
}

static double shadow_distance(double distance, double scale)
{
    double d = finite_or(distance, 0) * sane_scale(scale);
    if (!(d > 0))
        return 0;
    return d > LT_FX_MAX_DISTANCE ? LT_FX_MAX_DISTANCE : d;
}

static void sane_rgb(const double in[4], double out[3])
{
    for (int k = 0; k < 3; k++)
        out[k] = in ? clamp01(in[k]) : 0;
}

/* ---- surfaces --------------------------------------------------------------------------------- */

typedef struct fx_image {
    unsigned char *data;
    int w, h, stride;
} fx_image;

static fw_err image_open(cairo_surface_t *s, fx_image *img, fw_error *err)
{
    if (!s || cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return fw_error_set(err, FW_ERR_INVALID, "surface", "the layer surface is missing or in an error state");
    if (cairo_surface_get_type(s) != CAIRO_SURFACE_TYPE_IMAGE ||
        cairo_image_surface_get_format(s) != CAIRO_FORMAT_ARGB32)
        return fw_error_set(err, FW_ERR_INVALID, "surface",
                            "effects work on ARGB32 image surfaces; this surface is of another kind");
    cairo_surface_flush(s);
    img->data = cairo_image_surface_get_data(s);
    img->w = cairo_image_surface_get_width(s);
    img->h = cairo_image_surface_get_height(s);
    img->stride = cairo_image_surface_get_stride(s);
    if (!img->data && img->w > 0 && img->h > 0)
        return fw_error_set(err, FW_ERR_INVALID, "surface", "the layer surface has been finished");
    return FW_OK;
}

static inline uint32_t *image_row(const fx_image *img, int y)
{
    return (uint32_t *)(void *)(img->data + (size_t)y * (size_t)img->stride);
}

static inline uint8_t to_byte(double v)
{
    if (!(v > 0))
        return 0;
    if (v >= 255)
        return 255;
    return (uint8_t)(v + 0.5);
}

static inline uint32_t pack(double a, double r, double g, double b)
{
    return (uint32_t)to_byte(a) << 24 | (uint32_t)to_byte(r) << 16 | (uint32_t)to_byte(g) << 8 | to_byte(b);
}

/* ---- scratch memory --------------------------------------------------------------------------- */

void lt_fx_scratch_init(lt_fx_scratch *s)
{
    memset(s, 0, sizeof(*s));
}

void lt_fx_scratch_release(lt_fx_scratch *s)
{
    free(s->line);
    free(s->prefix);
    free(s->plane);
    lt_fx_scratch_init(s);
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    if (need > SIZE_MAX / elem)
        return 0;
    void *p = realloc(*buf, need * elem);
    if (!p)
        return 0;
    *buf = p;
    *cap = need;
    return 1;
}

/* ---- colour effects --------------------------------------------------------------------------- */

typedef void (*color_fn)(const void *ctx, double rgb[3]);

/* Runs fn over every visible pixel's un-premultiplied colour (0..1). */
static void map_colors(const fx_image *img, color_fn fn, const void *ctx)
{
    for (int y = 0; y < img->h; y++) {
        uint32_t *row = image_row(img, y);
        for (int x = 0; x < img->w; x++) {
            uint32_t p = row[x];
            unsigned a = p >> 24;
            if (!a)
                continue;
            double rgb[3] = {(double)((p >> 16) & 255) / a, (double)((p >> 8) & 255) / a, (double)(p & 255) / a};
            fn(ctx, rgb);
            row[x] = pack(a, clamp01(rgb[0]) * a, clamp01(rgb[1]) * a, clamp01(rgb[2]) * a);
        }
    }
}

static double luminance(const double rgb[3])
{
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
}

static void mix3(double rgb[3], const double to[3], double t)
{
    for (int k = 0; k < 3; k++)
        rgb[k] += (to[k] - rgb[k]) * t;
}

typedef struct fill_ctx {
    double rgb[3], opacity;
} fill_ctx;

static void fill_pixel(const void *ctx, double rgb[3])
{
    const fill_ctx *c = ctx;
    mix3(rgb, c->rgb, c->opacity);
}

fw_err lt_fx_fill(cairo_surface_t *surface, const double rgba[4], double opacity, fw_error *err)
{
    fx_image img;
    fw_err rc = image_open(surface, &img, err);
    if (rc)
        return rc;
    fill_ctx c;
    sane_rgb(rgba, c.rgb);
    c.opacity = clamp01(opacity);
    if (c.opacity > 0)
        map_colors(&img, fill_pixel, &c);
    cairo_surface_mark_dirty(surface);
    return FW_OK;
}

typedef struct tint_ctx {
    double black[3], white[3], amount;
} tint_ctx;

static void tint_pixel(const void *ctx, double rgb[3])
{
    const tint_ctx *c = ctx;
    double l = luminance(rgb), mapped[3];
    for (int k = 0; k < 3; k++)
        mapped[k] = c->black[k] + (c->white[k] - c->black[k]) * l;
    mix3(rgb, mapped, c->amount);
}

fw_err lt_fx_tint(cairo_surface_t *surface, const double black[4], const double white[4], double amount,
                  fw_error *err)
{
    fx_image img;
    fw_err rc = image_open(surface, &img, err);
    if (rc)
        return rc;
    tint_ctx c;
    sane_rgb(black, c.black);
    sane_rgb(white, c.white);
    c.amount = clamp01(amount);
    if (c.amount > 0)
        map_colors(&img, tint_pixel, &c);
    cairo_surface_mark_dirty(surface);
    return FW_OK;
}

typedef struct tritone_ctx {
    double high[3], mid[3], low[3], effect; /* effect: 1 - blend with original */
} tritone_ctx;

static void tritone_pixel(const void *ctx, double rgb[3])
{
    const tritone_ctx *c = ctx;
    double l = clamp01(luminance(rgb)), mapped[3];
    for (int k = 0; k < 3; k++)
        mapped[k] = l < 0.5 ? c->low[k] + (c->mid[k] - c->low[k]) * (2 * l)
                            : c->mid[k] + (c->high[k] - c->mid[k]) * (2 * l - 1);
    mix3(rgb, mapped, c->effect);
}

fw_err lt_fx_tritone(cairo_surface_t *surface, const double highlights[4], const double midtones[4],
                     const double shadows[4], double blend, fw_error *err)
{
    fx_image img;
    fw_err rc = image_open(surface, &img, err);
    if (rc)
        return rc;
    tritone_ctx c;
    sane_rgb(highlights, c.high);
    sane_rgb(midtones, c.mid);
    sane_rgb(shadows, c.low);
    c.effect = 1 - clamp01(finite_or(blend, 1));
    if (c.effect > 0)
        map_colors(&img, tritone_pixel, &c);
    cairo_surface_mark_dirty(surface);
    return FW_OK;
}

/* ---- 4-colour gradient ------------------------------------------------------------------------ */

/* Far enough to be off any surface, near enough that squared distances and
 * their powers stay finite. */
#define GRADIENT_COORD_MAX 1e6

fw_err lt_fx_four_color_gradient(cairo_surface_t *surface, const double pts[4][2], const double colours[4][4],
                                 double blend, double opacity, fw_error *err)
{
    fx_image img;
    fw_err rc = image_open(surface, &img, err);
    if (rc)
        return rc;
    double o = clamp01(opacity);
    if (o == 0 || !pts || !colours) {
        cairo_surface_mark_dirty(surface);
        return FW_OK;
    }
    double px[4], py[4], col[4][3];
    for (int i = 0; i < 4; i++) {
        px[i] = fmax(-GRADIENT_COORD_MAX, fmin(GRADIENT_COORD_MAX, finite_or(pts[i][0], 0)));
        py[i] = fmax(-GRADIENT_COORD_MAX, fmin(GRADIENT_COORD_MAX, finite_or(pts[i][1], 0)));
        sane_rgb(colours[i], col[i]);
    }
    blend = finite_or(blend, 100);
    double power = blend > 0 ? 200 / blend : 8;
    power = fmax(0.5, fmin(8, power));
    double half = power / 2; /* the weights are powers of squared distances */

    for (int y = 0; y < img.h; y++) {
        uint32_t *row = image_row(&img, y);
        double cy = y + 0.5;
        for (int x = 0; x < img.w; x++) {
            uint32_t p = row[x];
            unsigned a = p >> 24;
            if (!a)
                continue;
            double cx = x + 0.5, d2[4], dmin = INFINITY;
            for (int i = 0; i < 4; i++) {
                d2[i] = (cx - px[i]) * (cx - px[i]) + (cy - py[i]) * (cy - py[i]);
                dmin = fmin(dmin, d2[i]);
            }
            /* Weights relative to the nearest point: the nearest weighs 1,
             * so the sum never underflows, and a pixel on a point gets its
             * colour exactly. */
            double g[3] = {0, 0, 0}, sum = 0;
            for (int i = 0; i < 4; i++) {
                double w;
                if (d2[i] <= dmin)
                    w = 1;
                else if (half == 1)
                    w = dmin / d2[i];
                else
                    w = pow(dmin / d2[i], half);
                sum += w;
                for (int k = 0; k < 3; k++)
                    g[k] += w * col[i][k];
            }
            double keep = 1 - o, put = o * a / sum;
            row[x] = pack(a, ((p >> 16) & 255) * keep + g[0] * put, ((p >> 8) & 255) * keep + g[1] * put,
                          (p & 255) * keep + g[2] * put);
        }
    }
    cairo_surface_mark_dirty(surface);
    return FW_OK;
}

/* ---- blur ------------------------------------------------------------------------------------- */

/* A box of weight 1 on taps -m..m and `partial` on taps -(m+1) and m+1. */
typedef struct fx_box {
    long m;
    double partial, norm; /* norm: 1 / total weight */
} fx_box;

/* The box whose variance is var (>= 0). Whole boxes of radius m have
 * variance m(m+1)/3; the partial taps take it continuously to the next. */
static fx_box box_for_variance(double var)
{
    fx_box b;
    b.m = (long)floor((sqrt(1 + 12 * var) - 1) / 2);
    if (b.m < 0)
        b.m = 0;
    while ((double)(b.m + 1) * (b.m + 2) / 3 <= var)
        b.m++;
    while (b.m > 0 && (double)b.m * (b.m + 1) / 3 > var)
        b.m--;
    double m = (double)b.m;
    double second = m * (m + 1) * (2 * m + 1) / 3; /* sum of k^2 over the whole taps */
    double taps = 2 * m + 1, edge = (m + 1) * (m + 1);
    /* var = (second + 2 p edge) / (taps + 2 p), solved for p */
    double p = (var * taps - second) / (2 * (edge - var));
    b.partial = fmax(0, fmin(1, p));
    b.norm = 1 / (taps + 2 * b.partial);
    return b;
}

typedef struct fx_line {
    int n, c;       /* samples, channels per sample */
    int repeat;     /* beyond the ends: 1 the end sample, 0 zero */
    double *prefix; /* (n + 1) * c */
} fx_line;

static inline double tap(const fx_line *l, const float *src, long i, int k)
{
    if (i < 0)
        return l->repeat ? src[k] : 0;
    if (i >= l->n)
        return l->repeat ? src[(size_t)(l->n - 1) * l->c + k] : 0;
    return src[(size_t)i * l->c + k];
}

/* Sum of channel k over taps lo..hi (lo <= hi), including the taps beyond
 * the ends. */
static inline double range_sum(const fx_line *l, const float *src, long lo, long hi, int k)
{
    long n = l->n, a = lo < 0 ? 0 : lo, z = hi > n - 1 ? n - 1 : hi;
    double s = a <= z ? l->prefix[(size_t)(z + 1) * l->c + k] - l->prefix[(size_t)a * l->c + k] : 0;
    if (l->repeat) {
        if (lo < 0)
            s += (double)((hi < -1 ? hi : -1) - lo + 1) * src[k];
        if (hi > n - 1)
            s += (double)(hi - (lo > n ? lo : n) + 1) * src[(size_t)(n - 1) * l->c + k];
    }
    return s;
}

/* One sample's box, near the ends of the row: taps beyond them handled. */
static inline double box_at_end(const fx_line *l, const float *src, long i, int k, fx_box b)
{
    double s = range_sum(l, src, i - b.m, i + b.m, k);
    if (b.partial > 0)
        s += b.partial * (tap(l, src, i - b.m - 1, k) + tap(l, src, i + b.m + 1, k));
    return s * b.norm;
}

static void box_pass(const fx_line *l, const float *src, float *dst, fx_box b)
{
    int c = l->c;
    long n = l->n;
    const double *pre = l->prefix;
    for (int k = 0; k < c; k++)
        l->prefix[k] = 0;
    for (size_t i = 0; i < (size_t)n * c; i++)
        l->prefix[i + c] = l->prefix[i] + src[i];
    /* Samples whose taps all lie in the row, from first to last. */
    long first = b.m + 1, last = n - b.m - 2;
    if (first > last)
        first = n, last = n - 1;
    for (long i = 0; i < first && i < n; i++)
        for (int k = 0; k < c; k++)
            dst[(size_t)i * c + k] = (float)box_at_end(l, src, i, k, b);
    for (long i = first; i <= last; i++) {
        size_t hi = (size_t)(i + b.m + 1) * c, lo = (size_t)(i - b.m) * c, out = (size_t)i * c;
        size_t before = (size_t)(i - b.m - 1) * c;
        for (int k = 0; k < c; k++)
            dst[out + k] = (float)((pre[hi + k] - pre[lo + k] + b.partial * (src[before + k] + src[hi + k])) * b.norm);
    }
    for (long i = last + 1 > first ? last + 1 : first; i < n; i++)
        for (int k = 0; k < c; k++)
            dst[(size_t)i * c + k] = (float)box_at_end(l, src, i, k, b);
}

/* Blurs n samples of `c` bytes each, `step` bytes apart, in place. The
 * passes run over the row extended by `pad` samples each side (zero, or the
 * end sample repeated), so what the first passes spread beyond the ends
 * comes back in the later ones as it would on an unbounded plane. Reads
 * beyond the extended row are wrong by at most one box per pass, which
 * two boxes of padding keep away from the samples that are stored. */
static void blur_samples(unsigned char *data, size_t step, int n, int pad, fx_line *l, float *a, float *b,
                         fx_box box)
{
    int c = l->c, any = 0;
    for (int i = 0; i < n; i++) {
        const unsigned char *p = data + (size_t)i * step;
        float *q = a + (size_t)(pad + i) * c;
        for (int k = 0; k < c; k++) {
            q[k] = p[k];
            any |= p[k];
        }
    }
    if (!any) /* all transparent: stays so in both edge modes */
        return;
    for (int i = 0; i < pad; i++) {
        for (int k = 0; k < c; k++) {
            a[(size_t)i * c + k] = l->repeat ? a[(size_t)pad * c + k] : 0;
            a[(size_t)(pad + n + i) * c + k] = l->repeat ? a[(size_t)(pad + n - 1) * c + k] : 0;
        }
    }
    l->n = n + 2 * pad;
    box_pass(l, a, b, box);
    box_pass(l, b, a, box);
    box_pass(l, a, b, box);
    for (int i = 0; i < n; i++) {
        unsigned char *p = data + (size_t)i * step;
        const float *q = b + (size_t)(pad + i) * c;
        for (int k = 0; k < c; k++)
            p[k] = to_byte(q[k]);
    }
}

/* Blurs a plane of w x h samples of c bytes (1 or 4) with sigma sx across
 * and sy down (0: not that way). */
static fw_err blur_plane(unsigned char *data, int w, int h, size_t stride, int c, double sx, double sy, int repeat,
                         lt_fx_scratch *scratch, fw_error *err)
{
    if (w <= 0 || h <= 0 || (sx <= 0 && sy <= 0))
        return FW_OK;
    /* A box of variance sigma^2 / 3, three times, makes variance sigma^2. */
    fx_box bx = box_for_variance(sx > 0 ? sx * sx / 3 : 0), by = box_for_variance(sy > 0 ? sy * sy / 3 : 0);
    int padx = (int)(2 * (bx.m + 1)), pady = (int)(2 * (by.m + 1));
    /* Columns go in blocks one cache line wide: one read of a line serves
     * every column in it. */
    int block = 64 / c;
    size_t across = (size_t)w + 2 * padx, down = (size_t)h + 2 * pady;
    size_t floats = across * c > down * c * block ? across * c : down * c * block;
    if (!grow((void **)&scratch->line, &scratch->line_cap, 2 * floats, sizeof(float)) ||
        !grow((void **)&scratch->prefix, &scratch->prefix_cap, floats + (size_t)c * block, sizeof(double)))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "no memory for a blur of a %dx%d layer", w, h);
    float *a = scratch->line, *b = scratch->line + floats;
    fx_line line = {.c = c, .repeat = repeat, .prefix = scratch->prefix};

    if (sx > 0)
        for (int y = 0; y < h; y++)
            blur_samples(data + (size_t)y * stride, (size_t)c, w, padx, &line, a, b, bx);
    if (sy > 0) {
        for (int x = 0; x < w; x += block) {
            line.c = c * (w - x < block ? w - x : block);
            blur_samples(data + (size_t)x * c, stride, h, pady, &line, a, b, by);
        }
    }
    return FW_OK;
}

fw_err lt_fx_gaussian_blur(cairo_surface_t *surface, lt_fx_scratch *scratch, double blurriness, int dimensions,
                           int repeat_edge_pixels, double scale, fw_error *err)
{
    fx_image img;
    fw_err rc = image_open(surface, &img, err);
    if (rc)
        return rc;
    double sigma = blur_sigma(blurriness, scale);
    double sx = dimensions == LT_FX_BLUR_VERTICAL ? 0 : sigma;
    double sy = dimensions == LT_FX_BLUR_HORIZONTAL ? 0 : sigma;

    lt_fx_scratch own;
    lt_fx_scratch_init(&own);
    rc = blur_plane(img.data, img.w, img.h, (size_t)img.stride, 4, sx, sy, repeat_edge_pixels != 0,
                    scratch ? scratch : &own, err);
    lt_fx_scratch_release(&own);
    cairo_surface_mark_dirty(surface);
    return rc;
}

/* ---- drop shadow ------------------------------------------------------------------------------ */

/* The layer's alpha moved by (dx, dy), bilinearly, into plane (w x h bytes). */
static void shifted_alpha(const fx_image *img, unsigned char *plane, double dx, double dy)
{
    memset(plane, 0, (size_t)img->w * img->h);
    if (fabs(dx) >= img->w + 1 || fabs(dy) >= img->h + 1)
        return;
    /* Pixel (x, y) of the plane samples the layer at (x - dx, y - dy):
     * between columns x + ox and x + ox + 1, weighted by tx, and rows
     * y + oy and y + oy + 1, weighted by ty. */
    double fx = floor(-dx), fy = floor(-dy), tx = -dx - fx, ty = -dy - fy;
    long ox = (long)fx, oy = (long)fy;
    for (int y = 0; y < img->h; y++) {
        long y0 = y + oy;
        const uint32_t *r0 = y0 >= 0 && y0 < img->h ? image_row(img, (int)y0) : NULL;
        const uint32_t *r1 = y0 + 1 >= 0 && y0 + 1 < img->h ? image_row(img, (int)(y0 + 1)) : NULL;
        if (!r0 && !r1)
            continue;
        unsigned char *out = plane + (size_t)y * img->w;
        for (int x = 0; x < img->w; x++) {
            long x0 = x + ox;
            double a00 = 0, a01 = 0, a10 = 0, a11 = 0;
            int in0 = x0 >= 0 && x0 < img->w, in1 = x0 + 1 >= 0 && x0 + 1 < img->w;
            if (r0) {
                a00 = in0 ? r0[x0] >> 24 : 0;
                a01 = in1 ? r0[x0 + 1] >> 24 : 0;
            }
            if (r1) {
                a10 = in0 ? r1[x0] >> 24 : 0;
                a11 = in1 ? r1[x0 + 1] >> 24 : 0;
            }
            out[x] = to_byte((1 - ty) * ((1 - tx) * a00 + tx * a01) + ty * ((1 - tx) * a10 + tx * a11));
        }
    }
}

fw_err lt_fx_drop_shadow(cairo_surface_t *surface, lt_fx_scratch *scratch, const double rgba[4], double opacity,
                         double direction, double distance, double softness, int shadow_only, double scale,
                         fw_error *err)
{
    fx_image img;
    fw_err rc = image_open(surface, &img, err);
    if (rc)
        return rc;
    if (img.w <= 0 || img.h <= 0)
        return FW_OK;
    double rgb[3], o = clamp01(opacity);
    sane_rgb(rgba, rgb);
    double angle = fmod(finite_or(direction, 0), 360) * (M_PI / 180);
    double d = shadow_distance(distance, scale);
    double dx = d * sin(angle), dy = -d * cos(angle);
    double sigma = blur_sigma(softness, scale);

    lt_fx_scratch own, *s = scratch ? scratch : &own;
    lt_fx_scratch_init(&own);
    if (!grow((void **)&s->plane, &s->plane_cap, (size_t)img.w * img.h, 1)) {
        lt_fx_scratch_release(&own);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "no memory for the shadow of a %dx%d layer", img.w, img.h);
    }
    shifted_alpha(&img, s->plane, dx, dy);
    rc = blur_plane(s->plane, img.w, img.h, (size_t)img.w, 1, sigma, sigma, 0, s, err);
    if (rc) {
        lt_fx_scratch_release(&own);
        return rc;
    }

    /* The layer over its shadow (or the shadow alone), premultiplied. */
    for (int y = 0; y < img.h; y++) {
        uint32_t *row = image_row(&img, y);
        const unsigned char *sh = s->plane + (size_t)y * img.w;
        for (int x = 0; x < img.w; x++) {
            uint32_t p = row[x];
            double sa = sh[x] * o; /* 0..255 */
            double under = shadow_only ? 1 : 1 - (p >> 24) / 255.0;
            double a = sa * under, r = rgb[0] * sa * under, g = rgb[1] * sa * under, b = rgb[2] * sa * under;
            if (!shadow_only) {
                a += p >> 24;
                r += (p >> 16) & 255;
                g += (p >> 8) & 255;
                b += p & 255;
            }
            row[x] = pack(a, r, g, b);
        }
    }
    lt_fx_scratch_release(&own);
    cairo_surface_mark_dirty(surface);
    return FW_OK;
}

/* ---- from a Lottie effect ------------------------------------------------------------------- */

lt_fx_kind lt_fx_kind_of(int ty, const char *match_name)
{
    switch (ty) {
    case 20: return LT_FX_TINT;
    case 21: return LT_FX_FILL;
    case 23: return LT_FX_TRITONE;
    case 25: return LT_FX_DROP_SHADOW;
    case 29: return LT_FX_GAUSSIAN_BLUR;
    default: break;
    }
    if (!match_name)
        return LT_FX_NONE;
    static const struct {
        const char *name;
        lt_fx_kind kind;
    } names[] = {
        {"ADBE Tint", LT_FX_TINT},
        {"ADBE Fill", LT_FX_FILL},
        {"ADBE Tritone", LT_FX_TRITONE},
        {"ADBE Drop Shadow", LT_FX_DROP_SHADOW},
        {"ADBE Gaussian Blur 2", LT_FX_GAUSSIAN_BLUR},
        {"ADBE 4ColorGradient", LT_FX_FOUR_COLOR_GRADIENT},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(match_name, names[i].name) == 0)
            return names[i].kind;
    return LT_FX_NONE;
}

static double value_num(const lt_fx_value *v, size_t n, size_t i, double fallback)
{
    if (v && i < n && v[i].n >= 1 && isfinite(v[i].v[0]))
        return v[i].v[0];
    return fallback;
}

static void value_color(const lt_fx_value *v, size_t n, size_t i, double r, double g, double b, double out[4])
{
    if (v && i < n && v[i].n >= 3) {
        for (int k = 0; k < 3; k++)
            out[k] = finite_or(v[i].v[k], 0);
        out[3] = v[i].n >= 4 ? finite_or(v[i].v[3], 1) : 1;
        return;
    }
    out[0] = r, out[1] = g, out[2] = b, out[3] = 1;
}

static void value_point(const lt_fx_value *v, size_t n, size_t i, double x, double y, double out[2])
{
    if (v && i < n && v[i].n >= 2) {
        out[0] = finite_or(v[i].v[0], x);
        out[1] = finite_or(v[i].v[1], y);
        return;
    }
    out[0] = x, out[1] = y;
}

fw_err lt_fx_from_values(lt_fx *fx, lt_fx_kind kind, const lt_fx_value *v, size_t n, fw_error *err)
{
    memset(fx, 0, sizeof(*fx));
    fx->kind = kind;
    switch (kind) {
    case LT_FX_FILL:
        value_color(v, n, 2, 1, 0, 0, fx->u.fill.color);
        fx->u.fill.opacity = value_num(v, n, 6, 1);
        return FW_OK;
    case LT_FX_TINT:
        value_color(v, n, 0, 0, 0, 0, fx->u.tint.black);
        value_color(v, n, 1, 1, 1, 1, fx->u.tint.white);
        fx->u.tint.amount = value_num(v, n, 2, 100) / 100;
        return FW_OK;
    case LT_FX_TRITONE:
        value_color(v, n, 0, 1, 1, 1, fx->u.tritone.highlights);
        value_color(v, n, 1, 0.5, 0.4, 0.3, fx->u.tritone.midtones);
        value_color(v, n, 2, 0, 0, 0, fx->u.tritone.shadows);
        fx->u.tritone.blend = value_num(v, n, 3, 0) / 100;
        return FW_OK;
    case LT_FX_DROP_SHADOW:
        value_color(v, n, 0, 0, 0, 0, fx->u.shadow.color);
        fx->u.shadow.opacity = value_num(v, n, 1, 127.5) / 255;
        fx->u.shadow.direction = value_num(v, n, 2, 135);
        fx->u.shadow.distance = value_num(v, n, 3, 5);
        fx->u.shadow.softness = value_num(v, n, 4, 0);
        fx->u.shadow.shadow_only = value_num(v, n, 5, 0) != 0;
        return FW_OK;
    case LT_FX_GAUSSIAN_BLUR:
        fx->u.blur.blurriness = value_num(v, n, 0, 0);
        fx->u.blur.dimensions = (int)fmax(0, fmin(3, value_num(v, n, 1, LT_FX_BLUR_BOTH)));
        fx->u.blur.repeat_edge_pixels = value_num(v, n, 2, 0) != 0;
        return FW_OK;
    case LT_FX_FOUR_COLOR_GRADIENT: {
        static const double defaults[4][3] = {{1, 1, 0}, {0, 1, 1}, {1, 0, 1}, {0, 0, 1}};
        for (int i = 0; i < 4; i++) {
            value_point(v, n, 1 + 2 * (size_t)i, 0, 0, fx->u.gradient.pts[i]);
            value_color(v, n, 2 + 2 * (size_t)i, defaults[i][0], defaults[i][1], defaults[i][2],
                        fx->u.gradient.colors[i]);
        }
        fx->u.gradient.blend = value_num(v, n, 10, 100);
        fx->u.gradient.opacity = value_num(v, n, 12, 100) / 100;
        return FW_OK;
    }
    case LT_FX_NONE:
    default:
        fx->kind = LT_FX_NONE;
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "ef", "this effect is not one the Cairo engine draws");
    }
}

fw_err lt_fx_apply(const lt_fx *fx, cairo_surface_t *surface, lt_fx_scratch *scratch, double scale,
                   const cairo_matrix_t *to_surface, fw_error *err)
{
    if (!fx)
        return FW_OK;
    switch (fx->kind) {
    case LT_FX_FILL:
        return lt_fx_fill(surface, fx->u.fill.color, fx->u.fill.opacity, err);
    case LT_FX_TINT:
        return lt_fx_tint(surface, fx->u.tint.black, fx->u.tint.white, fx->u.tint.amount, err);
    case LT_FX_TRITONE:
        return lt_fx_tritone(surface, fx->u.tritone.highlights, fx->u.tritone.midtones, fx->u.tritone.shadows,
                             fx->u.tritone.blend, err);
    case LT_FX_GAUSSIAN_BLUR:
        return lt_fx_gaussian_blur(surface, scratch, fx->u.blur.blurriness, fx->u.blur.dimensions,
                                   fx->u.blur.repeat_edge_pixels, scale, err);
    case LT_FX_DROP_SHADOW:
        return lt_fx_drop_shadow(surface, scratch, fx->u.shadow.color, fx->u.shadow.opacity,
                                 fx->u.shadow.direction, fx->u.shadow.distance, fx->u.shadow.softness,
                                 fx->u.shadow.shadow_only, scale, err);
    case LT_FX_FOUR_COLOR_GRADIENT: {
        double pts[4][2];
        double s = sane_scale(scale);
        for (int i = 0; i < 4; i++) {
            pts[i][0] = fx->u.gradient.pts[i][0];
            pts[i][1] = fx->u.gradient.pts[i][1];
            if (to_surface)
                cairo_matrix_transform_point(to_surface, &pts[i][0], &pts[i][1]);
            else
                pts[i][0] *= s, pts[i][1] *= s;
        }
        return lt_fx_four_color_gradient(surface, (const double(*)[2])pts, fx->u.gradient.colors,
                                         fx->u.gradient.blend, fx->u.gradient.opacity, err);
    }
    case LT_FX_NONE:
    default:
        return FW_OK;
    }
}

int lt_fx_spread(const lt_fx *fx, double scale)
{
    if (!fx)
        return 0;
    switch (fx->kind) {
    case LT_FX_GAUSSIAN_BLUR:
        return (int)ceil(3 * blur_sigma(fx->u.blur.blurriness, scale));
    case LT_FX_DROP_SHADOW:
        return (int)ceil(shadow_distance(fx->u.shadow.distance, scale) +
                         3 * blur_sigma(fx->u.shadow.softness, scale));
    default:
        return 0;
    }
}
