/*
 * text_lottie.c - Lottie text layers (ty 5) → shape layers (ty 4) of glyph
 * outlines.
 *
 * This is the only file of server/text that knows Lottie's keys. A text layer
 * keeps its text document in t.d.k[], one keyframe per change of text:
 *   s.t text, s.f font name, s.s size, s.fc / s.sc fill and stroke colour,
 *   s.sw stroke width, s.of stroke over fill, s.j justification, s.tr tracking,
 *   s.lh line height, s.ls baseline shift, s.sz / s.ps box size and position,
 *   s.ca caps;
 * the document root lists fonts in fonts.list[] and may embed glyph shapes in
 * chars[] (drawn at size 100, advance w).
 *
 * Text on a path (t.p: a mask's path, first and last margin, reverse,
 * perpendicular, force alignment) places each glyph along the path.
 * Out of scope here: text animators (t.a) and the anchor-point grouping of
 * t.m (the Cairo engine draws those itself). Layers with animators are
 * converted with the static text document, which is what the layer shows
 * without animation.
 */
#include "server/text/text_lottie.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server/text/text_layout.h"

/* One text keyframe, read from the document. */
typedef struct text_doc {
    const char *text;
    const char *font_name;
    double size;
    double fill[4];
    int has_fill;
    double stroke[4];
    int has_stroke;
    double stroke_width;
    int stroke_over_fill;
    int justify;
    double tracking, line_height, baseline_shift;
    int has_box;
    double box[4]; /* x, y, width, height */
    int caps;
    double time;
    /* fw_fit, written where a job's text asset asks the text to fit. */
    fw_lottie_fit fit;
    double fit_min_size;
    int fit_max_lines;
    const char *fit_sample; /* the template's own text */
} text_doc;

/* Embedded glyphs of one font: the chars[] entries, by code point. */
typedef struct embedded_font {
    json_t *chars; /* the document's chars array (borrowed) */
    const char *family, *style;
} embedded_font;

/* ---- small JSON helpers ---- */

static double number_or(json_t *v, double fallback)
{
    return json_is_number(v) ? json_number_value(v) : fallback;
}

static json_t *real3(double v)
{
    return json_real(round(v * 1000.0) / 1000.0);
}

static json_t *static_value(json_t *k)
{
    return json_pack("{s:i, s:o}", "a", 0, "k", k);
}

static json_t *point_json(double x, double y)
{
    return json_pack("[o, o]", real3(x), real3(y));
}

static int read_color(json_t *v, double out[4])
{
    if (!json_is_array(v) || json_array_size(v) < 3)
        return 0;
    for (size_t i = 0; i < 3; i++)
        out[i] = number_or(json_array_get(v, i), 0);
    out[3] = json_array_size(v) > 3 ? number_or(json_array_get(v, 3), 1) : 1;
    /* Some exporters write 0..255; Lottie means 0..1. */
    if (out[0] > 1 || out[1] > 1 || out[2] > 1)
        for (size_t i = 0; i < 3; i++)
            out[i] /= 255.0;
    return 1;
}

/* ---- reading ---- */

static fw_err read_text_doc(json_t *keyframe, text_doc *d, fw_error *err)
{
    json_t *s = json_object_get(keyframe, "s");
    memset(d, 0, sizeof(*d));
    if (!json_is_object(s))
        return fw_error_set(err, FW_ERR_INVALID, "s", "A text keyframe needs its text document in \"s\".");
    d->time = number_or(json_object_get(keyframe, "t"), 0);
    d->text = json_string_value(json_object_get(s, "t"));
    if (!d->text)
        return fw_error_set(err, FW_ERR_INVALID, "s.t", "The text document has no text string.");
    d->font_name = json_string_value(json_object_get(s, "f"));
    d->size = number_or(json_object_get(s, "s"), -1);
    if (!(d->size > 0) || !isfinite(d->size))
        return fw_error_set(err, FW_ERR_INVALID, "s.s", "The font size must be a positive number.");
    d->has_fill = read_color(json_object_get(s, "fc"), d->fill);
    d->has_stroke = read_color(json_object_get(s, "sc"), d->stroke);
    d->stroke_width = number_or(json_object_get(s, "sw"), 0);
    d->has_stroke = d->has_stroke && d->stroke_width > 0;
    d->stroke_over_fill = json_is_true(json_object_get(s, "of"));
    d->justify = (int)number_or(json_object_get(s, "j"), 0);
    if (d->justify < 0 || d->justify > 6)
        d->justify = 0;
    d->tracking = number_or(json_object_get(s, "tr"), 0);
    d->line_height = number_or(json_object_get(s, "lh"), 0);
    d->baseline_shift = number_or(json_object_get(s, "ls"), 0);
    d->caps = (int)number_or(json_object_get(s, "ca"), 0);
    json_t *fit = json_object_get(s, "fw_fit");
    const char *mode = json_string_value(json_object_get(fit, "mode"));
    d->fit = !mode ? FW_LOTTIE_FIT_NONE
             : !strcmp(mode, "shrink") ? FW_LOTTIE_FIT_SHRINK
             : !strcmp(mode, "wrap-shrink") ? FW_LOTTIE_FIT_WRAP_SHRINK
                                            : FW_LOTTIE_FIT_NONE;
    d->fit_sample = json_string_value(json_object_get(fit, "sample"));
    d->fit_min_size = number_or(json_object_get(fit, "minSize"), 0);
    d->fit_max_lines = (int)number_or(json_object_get(fit, "maxLines"), 0);
    if (!d->fit_sample)
        d->fit = FW_LOTTIE_FIT_NONE;
    json_t *sz = json_object_get(s, "sz"), *ps = json_object_get(s, "ps");
    if (json_is_array(sz) && json_array_size(sz) >= 2) {
        d->has_box = 1;
        d->box[2] = number_or(json_array_get(sz, 0), 0);
        d->box[3] = number_or(json_array_get(sz, 1), 0);
        if (json_is_array(ps) && json_array_size(ps) >= 2) {
            d->box[0] = number_or(json_array_get(ps, 0), 0);
            d->box[1] = number_or(json_array_get(ps, 1), 0);
        }
        if (!(d->box[2] >= 0) || !isfinite(d->box[2]) || !isfinite(d->box[0]) || !isfinite(d->box[1]))
            return fw_error_set(err, FW_ERR_INVALID, "s.sz", "The text box size must be non-negative numbers.");
    }
    return FW_OK;
}

static json_t *font_entry(json_t *doc, const char *name)
{
    json_t *list = json_object_get(json_object_get(doc, "fonts"), "list");
    size_t i;
    json_t *f;
    if (!name)
        return NULL;
    json_array_foreach(list, i, f)
    {
        const char *n = json_string_value(json_object_get(f, "fName"));
        if (n && !strcmp(n, name))
            return f;
    }
    return NULL;
}

/* ---- embedded glyphs ---- */

static size_t utf8_next(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = u[0] < 0x80 ? 1 : (u[0] & 0xE0) == 0xC0 ? 2 : (u[0] & 0xF0) == 0xE0 ? 3 : 4;
    uint32_t v = len == 1 ? u[0] : len == 2 ? u[0] & 0x1F : len == 3 ? u[0] & 0x0F : u[0] & 0x07;
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (u[i] & 0x3F);
    }
    *cp = v;
    return len;
}

static json_t *embedded_char(const embedded_font *e, uint32_t cp)
{
    size_t i;
    json_t *c;
    json_array_foreach(e->chars, i, c)
    {
        const char *ch = json_string_value(json_object_get(c, "ch"));
        uint32_t v;
        if (!ch || !*ch || utf8_next(ch, &v) != strlen(ch) || v != cp)
            continue;
        const char *family = json_string_value(json_object_get(c, "fFamily"));
        const char *style = json_string_value(json_object_get(c, "style"));
        if (e->family && family && strcmp(e->family, family))
            continue;
        if (e->style && style && strcmp(e->style, style))
            continue;
        return c;
    }
    return NULL;
}

static double embedded_advance(void *ctx, uint32_t cp)
{
    json_t *c = embedded_char(ctx, cp);
    return c ? number_or(json_object_get(c, "w"), 0) / 100.0 : 0;
}

static uint32_t upper_ascii(uint32_t c, int caps)
{
    return caps && c >= 'a' && c <= 'z' ? c - 32 : c;
}

/* Whether the document embeds a glyph for every character that draws. */
static int embedded_covers(const embedded_font *e, const char *text, int caps)
{
    if (!json_is_array(e->chars) || json_array_size(e->chars) == 0)
        return 0;
    while (*text) {
        uint32_t cp;
        text += utf8_next(text, &cp);
        if (cp == '\r' || cp == '\n' || cp == 0x03)
            continue;
        /* Caps beyond ASCII would need the layout's case table; such text
         * goes to a real font instead. */
        if (caps && cp >= 0x80)
            return 0;
        if (!embedded_char(e, upper_ascii(cp, caps)))
            return 0;
    }
    return 1;
}

/* ---- writing shapes ---- */

static json_t *contour_json(const fw_text_contour *c)
{
    size_t n = c->segment_count;
    json_t *in = json_array(), *out = json_array(), *v = json_array();
    for (size_t k = 0; k < n; k++) {
        const fw_text_point *start = &c->points[3 * k]; /* end of the previous segment */
        const fw_text_point *c1 = &c->points[3 * k + 1];
        size_t prev = (k + n - 1) % n; /* the segment arriving at this vertex */
        const fw_text_point *c2_prev = &c->points[3 * prev + 2];
        json_array_append_new(v, point_json(start->x, start->y));
        json_array_append_new(out, point_json(c1->x - start->x, c1->y - start->y));
        json_array_append_new(in, point_json(c2_prev->x - start->x, c2_prev->y - start->y));
    }
    json_t *path = json_pack("{s:o, s:o, s:o, s:b}", "i", in, "o", out, "v", v, "c", 1);
    return json_pack("{s:s, s:o, s:s}", "ty", "sh", "ks", static_value(path), "nm", "Glyph");
}

static json_t *color_json(const double c[4])
{
    return static_value(json_pack("[o, o, o, i]", real3(c[0]), real3(c[1]), real3(c[2]), 1));
}

static json_t *fill_json(const text_doc *d)
{
    return json_pack("{s:s, s:o, s:o, s:i, s:i, s:s}", "ty", "fl", "c", color_json(d->fill), "o",
                     static_value(real3(d->fill[3] * 100)), "r", 1, "bm", 0, "nm", "Text fill");
}

static json_t *stroke_json(const text_doc *d)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:i, s:i, s:i, s:i, s:s}", "ty", "st", "c", color_json(d->stroke), "o",
                     static_value(real3(d->stroke[3] * 100)), "w", static_value(real3(d->stroke_width)), "lc", 1,
                     "lj", 1, "ml", 4, "bm", 0, "nm", "Text stroke");
}

static json_t *transform_json(double x, double y, double scale_percent, json_t *opacity)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "ty", "tr", "p", static_value(point_json(x, y)),
                     "a", static_value(point_json(0, 0)), "s",
                     static_value(point_json(scale_percent, scale_percent)), "r", static_value(json_integer(0)), "o",
                     opacity ? opacity : static_value(json_integer(100)), "sk", static_value(json_integer(0)), "sa",
                     static_value(json_integer(0)), "nm", "Transform");
}

/* The shapes of embedded glyphs, each in a group scaled from size 100. */
static void append_embedded_glyphs(json_t *items, const fw_text_layout *layout, const embedded_font *e,
                                   double size)
{
    for (size_t i = 0; i < layout->glyph_count; i++) {
        const fw_text_glyph *g = &layout->glyphs[i];
        json_t *c = embedded_char(e, g->codepoint);
        json_t *shapes = json_object_get(json_object_get(c, "data"), "shapes");
        if (!json_is_array(shapes) || json_array_size(shapes) == 0)
            continue;
        json_t *it = json_deep_copy(shapes);
        json_t *tr = transform_json(g->x, g->y, g->scale > 0 ? g->scale : size, NULL); /* small caps: smaller */
        if (g->angle != 0)
            json_object_set_new(tr, "r", static_value(real3(g->angle * 180.0 / M_PI)));
        json_array_append_new(it, tr);
        json_array_append_new(items, json_pack("{s:s, s:o, s:s}", "ty", "gr", "it", it, "nm", "Glyph"));
    }
}

/* Opacity that shows keyframe `index` of `count` from its time until the
 * next one's, as hold keyframes. */
static json_t *keyframe_opacity(const text_doc *docs, size_t count, size_t index)
{
    if (count < 2)
        return NULL;
    json_t *keys = json_array();
    if (index > 0)
        json_array_append_new(keys, json_pack("{s:o, s:[i], s:i}", "t", real3(docs[0].time), "s", 0, "h", 1));
    json_array_append_new(keys, json_pack("{s:o, s:[i], s:i}", "t", real3(docs[index].time), "s", 100, "h", 1));
    if (index + 1 < count)
        json_array_append_new(keys, json_pack("{s:o, s:[i], s:i}", "t", real3(docs[index + 1].time), "s", 0, "h", 1));
    return json_pack("{s:i, s:o}", "a", 1, "k", keys);
}

typedef struct convert_ctx {
    json_t *doc;
    json_t *layer; /* the text layer being laid out; NULL: none known */
    fw_fontset *fonts;
    json_t *missing;
} convert_ctx;

/* ---- text on a path ---- */

/* A static value of a property ({"a":0,"k":v}, or the first keyframe's). */
static double prop_number(json_t *prop, double fallback)
{
    json_t *k = json_object_get(prop, "k");
    if (json_is_number(k))
        return json_number_value(k);
    if (json_is_array(k) && json_is_number(json_array_get(k, 0)))
        return json_number_value(json_array_get(k, 0));
    json_t *s = json_object_get(json_array_get(k, 0), "s");
    if (json_is_array(s))
        s = json_array_get(s, 0);
    return json_is_number(s) ? json_number_value(s) : fallback;
}

/* The path flattened into points with their distance along it. */
typedef struct flat_path {
    double *x, *y, *at;
    size_t n, cap;
    int oom;
} flat_path;

static void flat_push(flat_path *f, double x, double y)
{
    if (f->oom)
        return;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        double *nx = realloc(f->x, cap * sizeof(double)), *ny = nx ? realloc(f->y, cap * sizeof(double)) : NULL,
               *na = ny ? realloc(f->at, cap * sizeof(double)) : NULL;
        if (nx)
            f->x = nx;
        if (ny)
            f->y = ny;
        if (na)
            f->at = na;
        if (!na) {
            f->oom = 1;
            return;
        }
        f->cap = cap;
    }
    double d = f->n ? hypot(x - f->x[f->n - 1], y - f->y[f->n - 1]) : 0;
    if (f->n && d == 0)
        return;
    f->x[f->n] = x;
    f->y[f->n] = y;
    f->at[f->n] = f->n ? f->at[f->n - 1] + d : 0;
    f->n++;
}

static int vertex(json_t *list, size_t i, double *x, double *y)
{
    json_t *v = json_array_get(list, i);
    if (json_array_size(v) < 2)
        return 0;
    *x = number_or(json_array_get(v, 0), 0);
    *y = number_or(json_array_get(v, 1), 0);
    return isfinite(*x) && isfinite(*y);
}

/* A mask's path ({v, i, o, c}, static or its first keyframe) flattened,
 * reversed when asked. 0 when there is no usable path. */
static int flatten_mask(json_t *layer, int index, int reverse, flat_path *f)
{
    json_t *mask = json_array_get(json_object_get(layer, "masksProperties"), (size_t)index);
    json_t *k = json_object_get(json_object_get(mask, "pt"), "k");
    if (json_is_array(k)) { /* keyframed: the first key's shape */
        json_t *s = json_object_get(json_array_get(k, 0), "s");
        k = json_is_array(s) ? json_array_get(s, 0) : s;
    }
    json_t *v = json_object_get(k, "v"), *in = json_object_get(k, "i"), *out = json_object_get(k, "o");
    size_t n = json_array_size(v);
    int closed = json_is_true(json_object_get(k, "c"));
    if (n < 2 || n > 4096) /* a text path, not a drawing: bounded for untrusted files */
        return 0;
    size_t segments = closed ? n : n - 1;
    for (size_t step = 0; step < segments; step++) {
        /* Walk the segments backwards when reversed: from vertex a to b. */
        size_t s = reverse ? segments - 1 - step : step;
        size_t a = s, b = (s + 1) % n;
        double x0, y0, x3, y3, ox = 0, oy = 0, ix = 0, iy = 0;
        if (!vertex(v, a, &x0, &y0) || !vertex(v, b, &x3, &y3))
            return 0;
        vertex(out, a, &ox, &oy);
        vertex(in, b, &ix, &iy);
        double c1x = x0 + ox, c1y = y0 + oy, c2x = x3 + ix, c2y = y3 + iy;
        if (reverse) {
            double t;
            t = x0, x0 = x3, x3 = t;
            t = y0, y0 = y3, y3 = t;
            t = c1x, c1x = c2x, c2x = t;
            t = c1y, c1y = c2y, c2y = t;
        }
        const int pieces = 48;
        for (int j = step == 0 ? 0 : 1; j <= pieces; j++) {
            double t = (double)j / pieces, u = 1 - t;
            double x = u * u * u * x0 + 3 * u * u * t * c1x + 3 * u * t * t * c2x + t * t * t * x3;
            double y = u * u * u * y0 + 3 * u * u * t * c1y + 3 * u * t * t * c2y + t * t * t * y3;
            flat_push(f, x, y);
        }
    }
    return !f->oom && f->n >= 2;
}

/* The point at distance d along the path and its direction; beyond either
 * end the end's direction goes on straight. */
static void point_at(const flat_path *f, double d, double *x, double *y, double *angle)
{
    size_t lo = 0, hi = f->n - 1;
    if (d <= 0) {
        hi = 1;
    } else if (d >= f->at[f->n - 1]) {
        lo = f->n - 2;
    } else {
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (f->at[mid] <= d)
                lo = mid;
            else
                hi = mid;
        }
    }
    double len = f->at[hi] - f->at[lo], t = len > 0 ? (d - f->at[lo]) / len : 0;
    *x = f->x[lo] + (f->x[hi] - f->x[lo]) * t;
    *y = f->y[lo] + (f->y[hi] - f->y[lo]) * t;
    *angle = atan2(f->y[hi] - f->y[lo], f->x[hi] - f->x[lo]);
}

static void turn_point(fw_text_point *p, double ox, double oy, double px, double py, double c, double s)
{
    double lx = p->x - ox, ly = p->y - oy;
    p->x = px + lx * c - ly * s;
    p->y = py + lx * s + ly * c;
}

/* Place the glyphs of a layout along the layer's text path (t.p), as
 * lottie-web does: each glyph's middle at its distance along the path (the
 * first margin, then the line's advances; right and centre alignment move
 * the line to the path's end or middle; force alignment spreads the glyphs
 * from the first margin to the last), turned with the path when
 * perpendicular. Lines after the first keep their offset from the first
 * baseline, across the path. Nothing changes without a usable path. */
static void place_on_path(convert_ctx *ctx, const text_doc *d, fw_text_layout *l)
{
    json_t *tp = json_object_get(json_object_get(ctx->layer, "t"), "p");
    json_t *m = json_object_get(tp, "m");
    flat_path f = {0};
    if (!json_is_integer(m) || l->glyph_count == 0 || l->line_count == 0)
        return;
    int reverse = prop_number(json_object_get(tp, "r"), 0) != 0;
    if (!flatten_mask(ctx->layer, (int)json_integer_value(m), reverse, &f)) {
        free(f.x), free(f.y), free(f.at);
        return;
    }
    double first = prop_number(json_object_get(tp, "f"), 0), last = prop_number(json_object_get(tp, "l"), 0);
    int perpendicular = prop_number(json_object_get(tp, "p"), 1) != 0;
    int force = prop_number(json_object_get(tp, "a"), 0) != 0;
    double total = f.at[f.n - 1], top = l->lines[0].baseline;

    for (size_t li = 0; li < l->line_count; li++) {
        fw_text_line *line = &l->lines[li];
        double along = first, spread = 0;
        if (force) {
            if (line->glyph_count > 1)
                spread = (total - first - last - line->width) / (double)(line->glyph_count - 1);
        } else if (d->justify == FW_TEXT_ALIGN_RIGHT) {
            along += total - line->width;
        } else if (d->justify == FW_TEXT_ALIGN_CENTER) {
            along += (total - line->width) / 2;
        }
        for (size_t gi = line->first_glyph; gi < line->first_glyph + line->glyph_count; gi++) {
            fw_text_glyph *g = &l->glyphs[gi];
            double half = g->advance / 2, px, py, angle;
            along += half;
            point_at(&f, along, &px, &py, &angle);
            if (!perpendicular)
                angle = 0;
            double c = cos(angle), s = sin(angle);
            /* The glyph's middle on the baseline goes to the path point. */
            double ox = g->x + half, oy = top;
            for (size_t k = g->first_contour; k < g->first_contour + g->contour_count; k++) {
                fw_text_contour *ct = &l->contours[k];
                for (size_t q = 0; q < 1 + 3 * ct->segment_count; q++)
                    turn_point(&ct->points[q], ox, oy, px, py, c, s);
            }
            fw_text_point origin = {g->x, g->y};
            turn_point(&origin, ox, oy, px, py, c, s);
            g->x = origin.x;
            g->y = origin.y;
            g->angle = angle;
            along += half + spread;
        }
    }
    free(f.x), free(f.y), free(f.at);
    /* The bounds again. */
    int any = 0;
    for (size_t k = 0; k < l->contour_count; k++)
        for (size_t q = 0; q < 1 + 3 * l->contours[k].segment_count; q++) {
            const fw_text_point *p = &l->contours[k].points[q];
            if (!any || p->x < l->min_x)
                l->min_x = p->x;
            if (!any || p->x > l->max_x)
                l->max_x = p->x;
            if (!any || p->y < l->min_y)
                l->min_y = p->y;
            if (!any || p->y > l->max_y)
                l->max_y = p->y;
            any = 1;
        }
}

static void report_missing(json_t *missing, const char *name)
{
    size_t i;
    json_t *v;
    if (!missing || !json_is_array(missing))
        return;
    json_array_foreach(missing, i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), name))
            return;
    }
    json_array_append_new(missing, json_string(name));
}

/* ---- fitting the room ---- */

/* Whether a layout fits: inside the box (box text, or wrapped point text)
 * with no word broken and at most max_lines lines; or, for point text that
 * stays on its lines, no line wider than the room. */
static int fits(const fw_text_request *rq, const fw_text_layout *l, double room, int max_lines, int wrapped)
{
    const double slack = 0.5; /* px: rounding, not overflow */
    if (max_lines > 0 && l->line_count > (size_t)max_lines)
        return 0;
    if (!rq->box)
        return l->width <= room + slack;
    if (l->broken_words)
        return 0;
    if (wrapped) /* point text wrapped at the room's width: its height is free */
        return 1;
    double bottom = rq->box_y + rq->box_height;
    if (l->contour_count) /* the ink itself */
        return l->max_y <= bottom + slack && l->min_x >= rq->box_x - slack &&
               l->max_x <= rq->box_x + rq->box_width + slack;
    /* Embedded glyphs (no outlines here): the last baseline and a descent. */
    return l->line_count == 0 || l->lines[l->line_count - 1].baseline + 0.25 * rq->size <= bottom + slack;
}

/* The request at a size: line height, baseline shift and the box's first
 * baseline follow it; tracking is per em already. */
static fw_text_request at_size(const fw_text_request *rq, double size, int wrapped)
{
    fw_text_request r = *rq;
    double f = size / rq->size;
    r.size = size;
    r.line_height = rq->line_height * f;
    r.baseline_shift = rq->baseline_shift * f;
    if (rq->ascent > 0)
        r.ascent = rq->ascent * f;
    if (wrapped) /* point text keeps its first baseline */
        r.box_y = rq->box_y + rq->ascent - r.ascent;
    return r;
}

/* Shrink (and wrap) the text of *rq until it fits its room; *layout is the
 * layout at the size chosen and *rq is changed to that size. The room is
 * the box for box text, else the width the sample text takes at the
 * designed size. Sizes are tried by bisection to 1/64 px, never below the
 * minimum (a quarter of the designed size unless the asset says). */
static fw_err fit_text(const text_doc *d, fw_text_request *rq, fw_text_layout **layout, fw_error *err)
{
    fw_text_layout *probe = NULL;
    double room = 0;
    int wrapped = 0, max_lines = d->fit_max_lines;
    fw_err rc;

    if (!rq->box) {
        fw_text_request sample = *rq;
        sample.text = d->fit_sample;
        if ((rc = fw_text_layout_new(&sample, &probe, err)) != FW_OK)
            return rc;
        room = probe->width;
        fw_text_layout_free(&probe);
        if (d->fit == FW_LOTTIE_FIT_WRAP_SHRINK) {
            /* Wrapped at the room's width, aligned about the same point,
             * the first baseline where it was. */
            wrapped = 1;
            if (max_lines <= 0)
                max_lines = 2;
            rq->box = 1;
            rq->box_width = room;
            rq->box_x = rq->align == FW_TEXT_ALIGN_RIGHT ? -room : rq->align == FW_TEXT_ALIGN_CENTER ? -room / 2 : 0;
            rq->ascent = rq->size;
            rq->box_y = -rq->size;
            rq->box_height = 0;
            if (rq->align > FW_TEXT_ALIGN_CENTER)
                rq->align = FW_TEXT_ALIGN_LEFT;
        }
    }
    if ((rc = fw_text_layout_new(rq, layout, err)) != FW_OK || fits(rq, *layout, room, max_lines, wrapped))
        return rc;

    double lo = d->fit_min_size > 0 ? d->fit_min_size : rq->size / 4, hi = rq->size;
    if (lo >= hi)
        lo = hi;
    fw_text_request best = at_size(rq, lo, wrapped);
    fw_text_layout *best_layout = NULL;
    if ((rc = fw_text_layout_new(&best, &best_layout, err)) != FW_OK)
        return rc;
    if (fits(&best, best_layout, room, max_lines, wrapped)) {
        while (hi - lo > 1.0 / 64) {
            double mid = (lo + hi) / 2;
            fw_text_request r = at_size(rq, mid, wrapped);
            if ((rc = fw_text_layout_new(&r, &probe, err)) != FW_OK) {
                fw_text_layout_free(&best_layout);
                return rc;
            }
            if (fits(&r, probe, room, max_lines, wrapped)) {
                lo = mid;
                best = r;
                fw_text_layout_free(&best_layout);
                best_layout = probe;
            } else {
                hi = mid;
                fw_text_layout_free(&probe);
            }
        }
    }
    /* Even the smallest size overflows: it is shown at that size. */
    fw_text_layout_free(layout);
    *layout = best_layout;
    *rq = best;
    return FW_OK;
}

/* Lay out one keyframe: the named font, else the embedded glyphs when they
 * cover the text, else the default font (and the name reported missing).
 * *used_embedded tells which; embedded describes the embedded glyphs. A
 * fitted keyframe's size (and what follows it) is changed in *d to the size
 * it is drawn at. */
static fw_err layout_text_doc(convert_ctx *ctx, text_doc *d, embedded_font *embedded, int *used_embedded,
                              fw_text_layout **layout, fw_error *err)
{
    json_t *entry = font_entry(ctx->doc, d->font_name);
    const char *family = json_string_value(json_object_get(entry, "fFamily"));
    const char *style = json_string_value(json_object_get(entry, "fStyle"));
    const char *file = json_string_value(json_object_get(entry, "fPath"));
    double ascent = number_or(json_object_get(entry, "ascent"), 0);
    *embedded = (embedded_font){.chars = json_object_get(ctx->doc, "chars"), .family = family, .style = style};
    fw_text_metrics metrics = {.advance = embedded_advance, .ctx = embedded, .ascent = ascent / 100.0};

    fw_text_request rq = {
        .text = d->text,
        .size = d->size,
        .line_height = d->line_height,
        .tracking = d->tracking,
        .baseline_shift = d->baseline_shift,
        .align = (fw_text_align)d->justify,
        .caps = d->caps == 1 ? FW_TEXT_CAPS_ALL : d->caps == 2 ? FW_TEXT_CAPS_SMALL : FW_TEXT_CAPS_NONE,
        .box = d->has_box,
        .box_x = d->box[0],
        .box_y = d->box[1],
        .box_width = d->box[2],
        .box_height = d->box[3],
        /* The exporter's ascent is what After Effects placed the first line by. */
        .ascent = ascent > 0 ? ascent * d->size / 100.0 : 0,
    };
    rq.font = fw_fontset_find(ctx->fonts, d->font_name, family, style, file);
    if (!rq.font && embedded_covers(embedded, d->text, d->caps != 0))
        rq.metrics = &metrics;
    else if (!rq.font) {
        /* The machine's: the family itself when installed, else the
         * substitute a browser would take (and the name reported missing). */
        fw_system_font sys;
        const char *asked = d->font_name ? d->font_name : family ? family : "(unnamed font)";
        rq.font = fw_fontset_match_system(ctx->fonts, d->font_name, family, style, &sys);
        int exact = rq.font && sys.exact;
        if (!rq.font)
            rq.font = fw_fontset_default(ctx->fonts);
        if (!exact) {
            report_missing(ctx->missing, asked);
            fw_fontset_note_substitute(ctx->fonts, asked, rq.font);
        }
    }
    *used_embedded = rq.font == NULL;
    fw_err rc;
    if (d->fit == FW_LOTTIE_FIT_NONE) {
        rc = fw_text_layout_new(&rq, layout, err);
    } else {
        double designed = rq.size;
        rc = fit_text(d, &rq, layout, err);
        if (rc == FW_OK && rq.size != designed) {
            d->stroke_width *= rq.size / designed;
            d->size = rq.size;
        }
    }
    if (rc == FW_OK && ctx->layer)
        place_on_path(ctx, d, *layout);
    return rc;
}

/* One keyframe's group: glyphs, then fill and stroke in paint order. */
static fw_err keyframe_group(convert_ctx *ctx, text_doc *d, json_t *opacity, json_t **out, fw_error *err)
{
    embedded_font embedded;
    int used_embedded = 0;
    fw_text_layout *layout = NULL;
    fw_err rc = layout_text_doc(ctx, d, &embedded, &used_embedded, &layout, err);
    if (rc != FW_OK) {
        json_decref(opacity);
        return rc;
    }
    json_t *items = json_array();
    if (!used_embedded)
        for (size_t i = 0; i < layout->contour_count; i++)
            json_array_append_new(items, contour_json(&layout->contours[i]));
    else
        append_embedded_glyphs(items, layout, &embedded, d->size);
    /* Lottie paints later items first: the item listed first is on top. */
    if (d->has_stroke && d->stroke_over_fill)
        json_array_append_new(items, stroke_json(d));
    if (d->has_fill)
        json_array_append_new(items, fill_json(d));
    if (d->has_stroke && !d->stroke_over_fill)
        json_array_append_new(items, stroke_json(d));
    json_array_append_new(items, transform_json(0, 0, 100, opacity));
    fw_text_layout_free(&layout);
    *out = json_pack("{s:s, s:o, s:s, s:i}", "ty", "gr", "it", items, "nm", "Text", "bm", 0);
    return *out ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory converting text.");
}

static fw_err convert_layer(convert_ctx *ctx, json_t *layer, json_t **out, fw_error *err)
{
    json_t *keys = json_object_get(json_object_get(json_object_get(layer, "t"), "d"), "k");
    size_t count = json_array_size(keys);
    if (!json_is_array(keys) || count == 0)
        return fw_error_set(err, FW_ERR_INVALID, "t.d.k", "A text layer needs at least one text document keyframe.");
    text_doc *docs = calloc(count, sizeof(*docs));
    if (!docs)
        return fw_error_set(err, FW_ERR_NOMEM, "t.d.k", "Out of memory converting text.");
    json_t *shapes = json_array();
    fw_err rc = FW_OK;
    ctx->layer = layer;
    for (size_t i = 0; i < count && rc == FW_OK; i++)
        if ((rc = read_text_doc(json_array_get(keys, i), &docs[i], err)) != FW_OK)
            fw_error_prefix_field(err, "t.d.k[%zu]", i);
    for (size_t i = 0; i < count && rc == FW_OK; i++) {
        json_t *group = NULL;
        if ((rc = keyframe_group(ctx, &docs[i], keyframe_opacity(docs, count, i), &group, err)) != FW_OK)
            fw_error_prefix_field(err, "t.d.k[%zu].s", i);
        else
            json_array_append_new(shapes, group);
    }
    free(docs);
    if (rc != FW_OK) {
        json_decref(shapes);
        return rc;
    }
    /* Everything but the text itself stays: name, index, parent, transform,
     * timing, masks, mattes, effects, blend mode. */
    json_t *shape_layer = json_copy(layer);
    json_object_del(shape_layer, "t");
    /* Masks of mode "none" only carry a path (the text's, say); engines that
     * take every mask as a mask are not to see them. */
    json_t *masks = json_object_get(shape_layer, "masksProperties");
    if (json_is_array(masks)) {
        json_t *kept = json_array(), *mask;
        size_t m;
        json_array_foreach(masks, m, mask) {
            const char *mode = json_string_value(json_object_get(mask, "mode"));
            if (!mode || strcmp(mode, "n") != 0)
                json_array_append(kept, mask);
        }
        json_object_set_new(shape_layer, "masksProperties", kept);
        if (json_array_size(kept) == 0) {
            json_object_del(shape_layer, "masksProperties");
            json_object_set_new(shape_layer, "hasMask", json_false());
        }
    }
    json_object_set_new(shape_layer, "ty", json_integer(4));
    json_object_set_new(shape_layer, "shapes", shapes);
    *out = shape_layer;
    return FW_OK;
}

typedef struct replacement {
    json_t *layers;
    size_t index;
    json_t *layer;
} replacement;

static fw_err convert_layers(convert_ctx *ctx, json_t *layers, const char *where, replacement **list, size_t *count,
                             size_t *cap, fw_error *err)
{
    size_t i;
    json_t *layer;
    json_array_foreach(layers, i, layer)
    {
        if (json_integer_value(json_object_get(layer, "ty")) != 5)
            continue;
        json_t *converted = NULL;
        fw_err rc = convert_layer(ctx, layer, &converted, err);
        if (rc != FW_OK) {
            fw_error_prefix_field(err, "%slayers[%zu]", where, i);
            return rc;
        }
        if (*count == *cap) {
            size_t grown_cap = *cap ? *cap * 2 : 8;
            replacement *grown = realloc(*list, grown_cap * sizeof(*grown));
            if (!grown) {
                json_decref(converted);
                return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory converting text.");
            }
            *list = grown;
            *cap = grown_cap;
        }
        (*list)[(*count)++] = (replacement){.layers = layers, .index = i, .layer = converted};
    }
    return FW_OK;
}

fw_err fw_text_layers_to_shapes(json_t *doc, fw_fontset *fonts, json_t *missing_fonts, fw_error *err)
{
    if (!json_is_object(doc))
        return fw_error_set(err, FW_ERR_INVALID, NULL, "A Lottie document must be a JSON object.");
    if (!fonts)
        return fw_error_set(err, FW_ERR_INVALID, "fonts", "Converting text needs a font set.");
    convert_ctx ctx = {.doc = doc, .fonts = fonts, .missing = missing_fonts};
    replacement *list = NULL;
    size_t count = 0, cap = 0;
    /* Build every replacement first and change the document only when all
     * layers converted, so a failure leaves it as it was. */
    fw_err rc = convert_layers(&ctx, json_object_get(doc, "layers"), "", &list, &count, &cap, err);
    json_t *assets = json_object_get(doc, "assets");
    for (size_t a = 0; a < json_array_size(assets) && rc == FW_OK; a++) {
        char where[48];
        snprintf(where, sizeof(where), "assets[%zu].", a);
        rc = convert_layers(&ctx, json_object_get(json_array_get(assets, a), "layers"), where, &list, &count, &cap,
                            err);
    }
    for (size_t i = 0; i < count; i++) {
        if (rc == FW_OK)
            json_array_set_new(list[i].layers, list[i].index, list[i].layer);
        else
            json_decref(list[i].layer);
    }
    free(list);
    return rc;
}

/* ---- for engines that draw text layers themselves ---- */

fw_err fw_lottie_text_layout(json_t *doc, json_t *layer, json_t *keyframe, fw_fontset *fonts, json_t *missing_fonts,
                             fw_lottie_text_style *style, fw_text_layout **out, fw_error *err)
{
    text_doc d;
    *out = NULL;
    memset(style, 0, sizeof(*style));
    if (!json_is_object(doc) || !fonts)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "Laying out text needs the document and a font set.");
    fw_err rc = read_text_doc(keyframe, &d, err);
    if (rc != FW_OK)
        return rc;
    convert_ctx ctx = {.doc = doc, .layer = layer, .fonts = fonts, .missing = missing_fonts};
    embedded_font embedded;
    int used_embedded = 0;
    rc = layout_text_doc(&ctx, &d, &embedded, &used_embedded, out, err);
    if (rc != FW_OK) {
        fw_error_prefix_field(err, "s");
        return rc;
    }
    style->time = d.time;
    style->size = d.size;
    memcpy(style->fill, d.fill, sizeof(style->fill));
    style->has_fill = d.has_fill;
    memcpy(style->stroke, d.stroke, sizeof(style->stroke));
    style->has_stroke = d.has_stroke;
    style->stroke_width = d.stroke_width;
    style->stroke_over_fill = d.stroke_over_fill;
    style->align = (fw_text_align)d.justify;
    style->embedded = used_embedded;
    style->family = embedded.family;
    style->style = embedded.style;
    return FW_OK;
}

json_t *fw_lottie_glyph_shapes(json_t *doc, const char *family, const char *style, uint32_t codepoint)
{
    embedded_font e = {.chars = json_object_get(doc, "chars"), .family = family, .style = style};
    json_t *shapes = json_object_get(json_object_get(embedded_char(&e, codepoint), "data"), "shapes");
    return json_is_array(shapes) ? shapes : NULL;
}
