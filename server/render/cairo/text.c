/*
 * text.c - text layers of the Cairo engine: layout at attach, animators at draw.
 *
 * A layer's "t" holds the text document keyframes (d.k[]), the animators
 * (a[]: a range selector "s" and animated properties "a"), and the anchor
 * point grouping (m: g grouping, a alignment). The layouts come from
 * server/text through fw_lottie_text_layout(), so the fonts, embedded glyphs
 * and missing-font reports are those of the rlottie path.
 *
 * Animators follow lottie-web's reading of After Effects, which is what
 * exported templates were checked against:
 *   - every glyph gets a selector unit (its character, non-space character,
 *     word or line index); the range (start, end, offset in percent of the
 *     unit count or in units) and its shape give the unit a coverage in 0..1,
 *     eased by ease high/low and scaled by the amount;
 *   - coverage weighs each property: anchor, scale, skew, rotation and
 *     position transform the glyph about its anchor group's centre on the
 *     baseline (moved by m.a); opacity and colours are mixed toward the
 *     animator's value; stroke width and tracking are added.
 * Units and groups are computed once per text keyframe, so a frame costs one
 * pass over the glyphs and allocates nothing.
 */
#include "server/render/cairo/text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server/text/text_layout.h"
#include "server/text/text_lottie.h"

enum {
    HAS_POSITION = 1 << 0,
    HAS_ANCHOR = 1 << 1,
    HAS_SCALE = 1 << 2,
    HAS_ROTATION = 1 << 3,
    HAS_SKEW = 1 << 4,
    HAS_OPACITY = 1 << 5,
    HAS_FILL = 1 << 6,
    HAS_STROKE = 1 << 7,
    HAS_STROKE_WIDTH = 1 << 8,
    HAS_TRACKING = 1 << 9,
    HAS_HUE = 1 << 10,
    HAS_SATURATION = 1 << 11,
    HAS_BRIGHTNESS = 1 << 12,
};

enum { BASED_CHARS = 1, BASED_NON_SPACE = 2, BASED_WORDS = 3, BASED_LINES = 4 };
enum { SHAPE_SQUARE = 1, SHAPE_RAMP_UP, SHAPE_RAMP_DOWN, SHAPE_TRIANGLE, SHAPE_ROUND, SHAPE_SMOOTH };
enum { GROUP_CHARS = 1, GROUP_WORDS = 2, GROUP_LINES = 3, GROUP_ALL = 4 };
enum { MODE_SUBTRACT = 2 };

typedef struct text_glyph {
    double pivot_x, pivot_y; /* centre of the glyph's anchor group, on its baseline */
    double group_width;      /* of that group, for the grouping alignment */
    size_t first_contour, contour_count;
    int line;
    int line_first; /* the first glyph of its line */
    int space;
} text_glyph;

/* One text document keyframe, laid out. */
typedef struct text_keyframe {
    fw_lottie_text_style style;
    fw_text_layout *layout;
    const fw_text_contour *contours; /* the layout's, or own_contours for embedded glyphs */
    fw_text_contour *own_contours;
    fw_text_point *own_points;
    text_glyph *glyphs;
    size_t glyph_count;
    int *units;      /* glyph_count per animator: the glyph's selector unit */
    int *unit_count; /* per animator */
} text_keyframe;

typedef struct text_animator {
    int has_selector;
    lt_prop start, end, offset, amount, ease_high, ease_low;
    int has_end;
    int index_units; /* start/end/offset in units rather than percent */
    int based, shape, mode, randomize;
    unsigned has;
    lt_prop position, anchor, scale, rotation, skew, skew_axis, opacity;
    lt_prop fill, stroke, stroke_width, tracking, hue, saturation, brightness;
} text_animator;

/* An animator's values at the frame being drawn. */
typedef struct animator_now {
    double start, end; /* in units, start <= end */
    double amount;
    int eased;
    double x1, y1, x2, y2; /* ease curve */
    double position[3], anchor[3], scale[3];
    double rotation, skew, skew_axis, opacity;
    double fill[4], stroke[4];
    double stroke_width, tracking, hue, saturation, brightness;
} animator_now;

struct lt_text {
    text_keyframe *keys;
    int key_count;
    text_animator *animators;
    int animator_count;
    int grouping;
    lt_prop alignment; /* m.a, percent of the group's width and of the cap height */
    unsigned has;      /* union of the animators' properties */
    /* Scratch for drawing, sized at attach. */
    animator_now *now;
    double *coverage; /* per animator, for the glyph being drawn */
    double *track;    /* per glyph: x offset from animated tracking */
};

/* ---- small helpers ---------------------------------------------------------------------------- */

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static int is_space_codepoint(uint32_t c)
{
    return c == ' ' || c == '\t' || c == 0xA0 || c == 0x3000;
}

static int json_int_or(const json_t *o, const char *key, int fallback)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? (int)json_number_value(v) : fallback;
}

static void rgb_to_hsv(const double *rgb, double *h, double *s, double *v)
{
    double mx = fmax(rgb[0], fmax(rgb[1], rgb[2])), mn = fmin(rgb[0], fmin(rgb[1], rgb[2])), d = mx - mn;
    *v = mx;
    *s = mx > 0 ? d / mx : 0;
    if (d <= 0)
        *h = 0;
    else if (mx == rgb[0])
        *h = fmod((rgb[1] - rgb[2]) / d + 6, 6) / 6;
    else if (mx == rgb[1])
        *h = ((rgb[2] - rgb[0]) / d + 2) / 6;
    else
        *h = ((rgb[0] - rgb[1]) / d + 4) / 6;
}

static void hsv_to_rgb(double h, double s, double v, double *rgb)
{
    double f = h * 6 - floor(h * 6), p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
    switch ((int)floor(h * 6) % 6) {
    case 0: rgb[0] = v, rgb[1] = t, rgb[2] = p; break;
    case 1: rgb[0] = q, rgb[1] = v, rgb[2] = p; break;
    case 2: rgb[0] = p, rgb[1] = v, rgb[2] = t; break;
    case 3: rgb[0] = p, rgb[1] = q, rgb[2] = v; break;
    case 4: rgb[0] = t, rgb[1] = p, rgb[2] = v; break;
    default: rgb[0] = v, rgb[1] = p, rgb[2] = q; break;
    }
}

/* Hue in degrees, saturation and brightness in 0..1, added in HSV. */
static void shift_hsv(double *rgb, double hue, double saturation, double brightness)
{
    double h, s, v;
    rgb_to_hsv(rgb, &h, &s, &v);
    h += hue / 360.0;
    h -= floor(h);
    hsv_to_rgb(h, clamp01(s + saturation), clamp01(v + brightness), rgb);
}

/* ---- outlines of embedded glyphs --------------------------------------------------------------- */

typedef struct outline_builder {
    fw_text_point *points;
    size_t point_count, point_cap;
    fw_text_contour *contours;
    size_t *offsets; /* where each contour's points start */
    size_t contour_count, contour_cap;
    int oom;
} outline_builder;

static void push_point(outline_builder *b, double x, double y)
{
    if (b->oom)
        return;
    if (b->point_count == b->point_cap) {
        size_t cap = b->point_cap ? b->point_cap * 2 : 256;
        fw_text_point *p = realloc(b->points, cap * sizeof(*p));
        if (!p) {
            b->oom = 1;
            return;
        }
        b->points = p;
        b->point_cap = cap;
    }
    b->points[b->point_count++] = (fw_text_point){x, y};
}

static void push_contour(outline_builder *b, size_t segments)
{
    if (b->oom)
        return;
    if (b->contour_count == b->contour_cap) {
        size_t cap = b->contour_cap ? b->contour_cap * 2 : 32;
        fw_text_contour *c = realloc(b->contours, cap * sizeof(*c));
        if (c)
            b->contours = c;
        size_t *o = c ? realloc(b->offsets, cap * sizeof(*o)) : NULL;
        if (o)
            b->offsets = o;
        if (!c || !o) {
            b->oom = 1;
            return;
        }
        b->contour_cap = cap;
    }
    b->contours[b->contour_count] = (fw_text_contour){.segment_count = segments, .points = NULL};
    b->offsets[b->contour_count++] = b->point_count;
}

static double number_at(const json_t *array, size_t i, size_t j)
{
    const json_t *v = json_array_get(json_array_get(array, i), j);
    return json_is_number(v) ? json_number_value(v) : 0;
}

/* One Lottie Bézier ({v, i, o, c}: vertices and tangents relative to them)
 * as a closed contour, placed at (x, y) and scaled. */
static void add_bezier(outline_builder *b, const json_t *bez, double x, double y, double scale)
{
    const json_t *v = json_object_get(bez, "v"), *in = json_object_get(bez, "i"), *out = json_object_get(bez, "o");
    size_t n = json_array_size(v);
    if (n < 2)
        return;
    push_contour(b, n);
#define PX(a, k) (x + (number_at(v, k, 0) + number_at(a, k, 0)) * scale)
#define PY(a, k) (y + (number_at(v, k, 1) + number_at(a, k, 1)) * scale)
    push_point(b, x + number_at(v, 0, 0) * scale, y + number_at(v, 0, 1) * scale);
    for (size_t k = 0; k < n; k++) {
        size_t next = (k + 1) % n; /* the last segment closes the contour; fills close it anyway */
        push_point(b, PX(out, k), PY(out, k));
        push_point(b, PX(in, next), PY(in, next));
        push_point(b, x + number_at(v, next, 0) * scale, y + number_at(v, next, 1) * scale);
    }
#undef PX
#undef PY
}

/* The paths ("sh") of a glyph's shape items, groups included. */
static void add_shapes(outline_builder *b, const json_t *items, double x, double y, double scale, int depth)
{
    size_t i;
    const json_t *item;
    if (depth > 16)
        return;
    json_array_foreach(items, i, item)
    {
        const char *ty = json_string_value(json_object_get(item, "ty"));
        if (!ty)
            continue;
        if (!strcmp(ty, "gr")) {
            add_shapes(b, json_object_get(item, "it"), x, y, scale, depth + 1);
        } else if (!strcmp(ty, "sh")) {
            const json_t *k = json_object_get(json_object_get(item, "ks"), "k");
            if (json_is_array(k)) { /* keyframed: the first key's shape */
                const json_t *s = json_object_get(json_array_get(k, 0), "s");
                k = json_is_array(s) ? json_array_get(s, 0) : s;
            }
            if (json_is_object(k))
                add_bezier(b, k, x, y, scale);
        }
    }
}

static fw_err embedded_outlines(lt_doc *doc, text_keyframe *key, fw_error *err)
{
    outline_builder b = {0};
    double scale = key->style.size / 100.0;
    for (size_t g = 0; g < key->layout->glyph_count; g++) {
        const fw_text_glyph *lg = &key->layout->glyphs[g];
        size_t first = b.contour_count;
        size_t first_point = b.point_count;
        add_shapes(&b, fw_lottie_glyph_shapes(doc->json, key->style.family, key->style.style, lg->codepoint), lg->x,
                   lg->y, lg->scale > 0 ? lg->scale / 100.0 : scale, 0); /* small caps are smaller */
        key->glyphs[g].first_contour = first;
        key->glyphs[g].contour_count = b.contour_count - first;
        if (lg->angle != 0 && !b.oom) { /* on a path: turned about its origin */
            double c = cos(lg->angle), s = sin(lg->angle);
            for (size_t q = first_point; q < b.point_count; q++) {
                double x = b.points[q].x - lg->x, y = b.points[q].y - lg->y;
                b.points[q].x = lg->x + x * c - y * s;
                b.points[q].y = lg->y + x * s + y * c;
            }
        }
    }
    if (b.oom) {
        free(b.points);
        free(b.contours);
        free(b.offsets);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory reading embedded glyphs.");
    }
    for (size_t c = 0; c < b.contour_count; c++)
        b.contours[c].points = b.points + b.offsets[c];
    free(b.offsets);
    key->own_points = b.points;
    key->own_contours = b.contours;
    key->contours = b.contours;
    return FW_OK;
}

/* ---- attach: keyframes ------------------------------------------------------------------------- */

/* Anchor groups: each glyph turns about the centre of its character, word,
 * line or of the whole text. */
static void place_groups(text_keyframe *key, int grouping)
{
    const fw_text_layout *l = key->layout;
    double all_left = 0, all_right = 0, all_y = 0;
    if (l->line_count > 0) {
        all_left = l->lines[0].x;
        all_right = l->lines[0].x + l->lines[0].width;
        for (size_t i = 1; i < l->line_count; i++) {
            all_left = fmin(all_left, l->lines[i].x);
            all_right = fmax(all_right, l->lines[i].x + l->lines[i].width);
        }
        all_y = (l->lines[0].baseline + l->lines[l->line_count - 1].baseline) / 2;
    }
    for (size_t li = 0; li < l->line_count; li++) {
        const fw_text_line *line = &l->lines[li];
        size_t end = line->first_glyph + line->glyph_count;
        for (size_t i = line->first_glyph; i < end; i++) {
            text_glyph *g = &key->glyphs[i];
            const fw_text_glyph *lg = &l->glyphs[i];
            g->line = (int)li;
            g->line_first = (int)line->first_glyph;
            g->space = is_space_codepoint(lg->codepoint);
            g->pivot_y = line->baseline;
            g->pivot_x = lg->x + lg->advance / 2;
            g->group_width = lg->advance;
            if (grouping == GROUP_LINES) {
                g->pivot_x = line->x + line->width / 2;
                g->group_width = line->width;
            } else if (grouping == GROUP_ALL) {
                g->pivot_x = (all_left + all_right) / 2;
                g->pivot_y = all_y;
                g->group_width = all_right - all_left;
            }
        }
        if (grouping != GROUP_WORDS)
            continue;
        /* A word is a run of non-space glyphs; the spaces after it go with it. */
        for (size_t i = line->first_glyph; i < end;) {
            size_t j = i;
            while (j < end && !key->glyphs[j].space)
                j++;
            double left = l->glyphs[i].x;
            double right = j > i ? l->glyphs[j - 1].x + l->glyphs[j - 1].advance : left;
            while (j < end && key->glyphs[j].space)
                j++;
            for (size_t k = i; k < j; k++) {
                key->glyphs[k].pivot_x = (left + right) / 2;
                key->glyphs[k].group_width = right - left;
            }
            i = j;
        }
    }
}

/* A small deterministic generator: randomized selectors give the same
 * order on every render of a template. */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* The selector unit of every glyph, per animator, and the unit counts. */
static fw_err assign_units(struct lt_text *t, text_keyframe *key, fw_error *err)
{
    size_t n = key->glyph_count, na = (size_t)t->animator_count;
    if (na == 0)
        return FW_OK;
    key->units = calloc(n * na + 1, sizeof(*key->units));
    key->unit_count = calloc(na, sizeof(*key->unit_count));
    int *order = calloc(n + 1, sizeof(*order));
    if (!key->units || !key->unit_count || !order) {
        free(order);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory preparing text animators.");
    }
    for (size_t a = 0; a < na; a++) {
        const text_animator *an = &t->animators[a];
        int *units = key->units + a * n, unit = 0;
        for (size_t i = 0; i < n; i++) {
            const text_glyph *g = &key->glyphs[i];
            int line_end = i + 1 == n || key->glyphs[i + 1].line != g->line;
            switch (an->based) {
            case BASED_NON_SPACE:
                units[i] = unit;
                unit += !g->space;
                break;
            case BASED_WORDS:
                units[i] = unit;
                unit += g->space || line_end;
                break;
            case BASED_LINES:
                units[i] = g->line;
                unit = g->line + 1;
                break;
            default:
                units[i] = unit++;
                break;
            }
        }
        key->unit_count[a] = unit;
        if (an->randomize && unit > 1) {
            uint32_t state = 0x9E3779B9u ^ (uint32_t)(a + 1) * 2654435761u;
            for (int i = 0; i < unit; i++)
                order[i] = i;
            for (int i = unit - 1; i > 0; i--) {
                int j = (int)(next_random(&state) % (uint32_t)(i + 1)), tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
            for (size_t i = 0; i < n; i++)
                if (units[i] < unit)
                    units[i] = order[units[i]];
        }
    }
    free(order);
    return FW_OK;
}

static fw_err attach_keyframe(lt_doc *doc, struct lt_text *t, json_t *layer, json_t *keyframe, fw_fontset *fonts,
                              json_t *missing_fonts, text_keyframe *key, fw_error *err)
{
    fw_err rc =
        fw_lottie_text_layout(doc->json, layer, keyframe, fonts, missing_fonts, &key->style, &key->layout, err);
    if (rc != FW_OK)
        return rc;
    key->glyph_count = key->layout->glyph_count;
    key->glyphs = calloc(key->glyph_count + 1, sizeof(*key->glyphs));
    if (!key->glyphs)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory preparing text.");
    place_groups(key, t->grouping);
    if (key->style.embedded) {
        if ((rc = embedded_outlines(doc, key, err)) != FW_OK)
            return rc;
    } else {
        key->contours = key->layout->contours;
        for (size_t i = 0; i < key->glyph_count; i++) {
            key->glyphs[i].first_contour = key->layout->glyphs[i].first_contour;
            key->glyphs[i].contour_count = key->layout->glyphs[i].contour_count;
        }
    }
    return assign_units(t, key, err);
}

/* ---- attach: animators ------------------------------------------------------------------------- */

static const double zeros[4] = {0, 0, 0, 0};
static const double hundreds[3] = {100, 100, 100};
static const double blacks[4] = {0, 0, 0, 1};

/* Parse a property if the animator has it; returns the flag when it does. */
static unsigned animated(lt_doc *doc, const json_t *props, const char *key, int dims, const double *defaults,
                         lt_prop *out, unsigned flag)
{
    const json_t *j = json_object_get(props, key);
    lt_prop_parse(doc, j, dims, defaults, out);
    return j ? flag : 0;
}

static void parse_animator(lt_doc *doc, const json_t *j, text_animator *an)
{
    const json_t *s = json_object_get(j, "s"), *a = json_object_get(j, "a");
    const double hundred = 100;
    an->has_selector = json_is_object(s);
    lt_prop_parse(doc, json_object_get(s, "s"), 1, zeros, &an->start);
    an->has_end = json_object_get(s, "e") != NULL;
    lt_prop_parse(doc, json_object_get(s, "e"), 1, &hundred, &an->end);
    lt_prop_parse(doc, json_object_get(s, "o"), 1, zeros, &an->offset);
    lt_prop_parse(doc, json_object_get(s, "a"), 1, &hundred, &an->amount);
    lt_prop_parse(doc, json_object_get(s, "xe"), 1, zeros, &an->ease_high);
    lt_prop_parse(doc, json_object_get(s, "ne"), 1, zeros, &an->ease_low);
    an->index_units = json_int_or(s, "r", 1) == 2;
    an->based = json_int_or(s, "b", BASED_CHARS);
    an->shape = json_int_or(s, "sh", SHAPE_SQUARE);
    an->mode = json_int_or(s, "m", 1);
    an->randomize = json_int_or(s, "rn", 0) == 1;

    an->has |= animated(doc, a, "p", 3, zeros, &an->position, HAS_POSITION);
    an->has |= animated(doc, a, "a", 3, zeros, &an->anchor, HAS_ANCHOR);
    an->has |= animated(doc, a, "s", 3, hundreds, &an->scale, HAS_SCALE);
    an->has |= animated(doc, a, "r", 1, zeros, &an->rotation, HAS_ROTATION);
    an->has |= animated(doc, a, "sk", 1, zeros, &an->skew, HAS_SKEW);
    lt_prop_parse(doc, json_object_get(a, "sa"), 1, zeros, &an->skew_axis);
    an->has |= animated(doc, a, "o", 1, hundreds, &an->opacity, HAS_OPACITY);
    an->has |= animated(doc, a, "fc", 4, blacks, &an->fill, HAS_FILL);
    an->has |= animated(doc, a, "sc", 4, blacks, &an->stroke, HAS_STROKE);
    an->has |= animated(doc, a, "sw", 1, zeros, &an->stroke_width, HAS_STROKE_WIDTH);
    an->has |= animated(doc, a, "t", 1, zeros, &an->tracking, HAS_TRACKING);
    an->has |= animated(doc, a, "fh", 1, zeros, &an->hue, HAS_HUE);
    an->has |= animated(doc, a, "fs", 1, zeros, &an->saturation, HAS_SATURATION);
    an->has |= animated(doc, a, "fb", 1, zeros, &an->brightness, HAS_BRIGHTNESS);
    if (json_object_get(a, "rx") || json_object_get(a, "ry"))
        lt_doc_unsupported(doc, "text animator 3D rotation");
}

/* ---- attach: layers ---------------------------------------------------------------------------- */

static void free_text(struct lt_text *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->key_count; i++) {
        text_keyframe *k = &t->keys[i];
        fw_text_layout_free(&k->layout);
        free(k->own_contours);
        free(k->own_points);
        free(k->glyphs);
        free(k->units);
        free(k->unit_count);
    }
    free(t->keys);
    free(t->animators);
    free(t->now);
    free(t->coverage);
    free(t->track);
    free(t);
}

static fw_err attach_layer(lt_doc *doc, lt_layer *layer, fw_fontset *fonts, json_t *missing_fonts, fw_error *err)
{
    json_t *keys = json_object_get(json_object_get(layer->text_json, "d"), "k");
    json_t *animators = json_object_get(layer->text_json, "a");
    json_t *more = json_object_get(layer->text_json, "m");
    size_t count = json_array_size(keys);
    if (!json_is_array(keys) || count == 0)
        return fw_error_set(err, FW_ERR_INVALID, "t.d.k", "A text layer needs at least one text document keyframe.");

    struct lt_text *t = calloc(1, sizeof(*t));
    if (!t)
        return fw_error_set(err, FW_ERR_NOMEM, "t", "Out of memory preparing text.");
    t->animator_count = (int)json_array_size(animators);
    t->grouping = json_int_or(more, "g", GROUP_CHARS);
    lt_prop_parse(doc, json_object_get(more, "a"), 2, zeros, &t->alignment);
    t->keys = calloc(count, sizeof(*t->keys));
    t->animators = calloc((size_t)t->animator_count + 1, sizeof(*t->animators));
    t->now = calloc((size_t)t->animator_count + 1, sizeof(*t->now));
    t->coverage = calloc((size_t)t->animator_count + 1, sizeof(*t->coverage));
    if (!t->keys || !t->animators || !t->now || !t->coverage) {
        free_text(t);
        return fw_error_set(err, FW_ERR_NOMEM, "t", "Out of memory preparing text.");
    }
    for (int i = 0; i < t->animator_count; i++) {
        parse_animator(doc, json_array_get(animators, (size_t)i), &t->animators[i]);
        t->has |= t->animators[i].has;
    }
    fw_err rc = FW_OK;
    size_t most_glyphs = 0;
    for (size_t i = 0; i < count && rc == FW_OK; i++) {
        t->key_count = (int)i + 1;
        rc = attach_keyframe(doc, t, layer->layer_json, json_array_get(keys, i), fonts, missing_fonts, &t->keys[i],
                             err);
        if (rc != FW_OK)
            fw_error_prefix_field(err, "t.d.k[%zu]", i);
        else if (t->keys[i].glyph_count > most_glyphs)
            most_glyphs = t->keys[i].glyph_count;
    }
    if (rc == FW_OK && !(t->track = calloc(most_glyphs + 1, sizeof(*t->track))))
        rc = fw_error_set(err, FW_ERR_NOMEM, "t", "Out of memory preparing text.");
    if (rc == FW_OK && doc->arena.oom)
        rc = fw_error_set(err, FW_ERR_NOMEM, "t.a", "Out of memory reading text animators.");
    if (rc != FW_OK) {
        free_text(t);
        return rc;
    }
    layer->text = t;
    return FW_OK;
}

/* The asset index of a composition, for error paths that match the document. */
static long asset_index(const lt_doc *doc, const lt_comp *comp)
{
    json_t *assets = json_object_get(doc->json, "assets");
    for (size_t i = 0; i < json_array_size(assets); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(assets, i), "id"));
        if (id && comp->id && !strcmp(id, comp->id))
            return (long)i;
    }
    return -1;
}

static fw_err attach_comp(lt_doc *doc, lt_comp *comp, int is_root, fw_fontset *fonts, json_t *missing_fonts,
                          fw_error *err)
{
    for (int i = 0; i < comp->nlayers; i++) {
        lt_layer *layer = &comp->layers[i];
        if (layer->type != LT_LAYER_TEXT)
            continue;
        fw_err rc = attach_layer(doc, layer, fonts, missing_fonts, err);
        if (rc == FW_OK)
            continue;
        if (is_root)
            fw_error_prefix_field(err, "layers[%d]", i);
        else
            fw_error_prefix_field(err, "assets[%ld].layers[%d]", asset_index(doc, comp), i);
        return rc;
    }
    return FW_OK;
}

fw_err lt_text_attach(lt_doc *doc, fw_fontset *fonts, json_t *missing_fonts, fw_error *err)
{
    if (!doc)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "No document to prepare text for.");
    if (!fonts)
        return fw_error_set(err, FW_ERR_INVALID, "fonts", "Drawing text needs a font set.");
    lt_text_detach(doc);
    fw_err rc = attach_comp(doc, &doc->root, 1, fonts, missing_fonts, err);
    for (int c = 0; c < doc->ncomps && rc == FW_OK; c++)
        rc = attach_comp(doc, &doc->comps[c], 0, fonts, missing_fonts, err);
    if (rc != FW_OK)
        lt_text_detach(doc);
    return rc;
}

static void detach_comp(lt_comp *comp)
{
    for (int i = 0; i < comp->nlayers; i++) {
        free_text(comp->layers[i].text);
        comp->layers[i].text = NULL;
    }
}

void lt_text_detach(lt_doc *doc)
{
    if (!doc)
        return;
    detach_comp(&doc->root);
    for (int c = 0; c < doc->ncomps; c++)
        detach_comp(&doc->comps[c]);
}

/* ---- drawing ----------------------------------------------------------------------------------- */

static void evaluate_animators(const lt_doc *doc, struct lt_text *t, const text_keyframe *key, double frame)
{
    for (int i = 0; i < t->animator_count; i++) {
        const text_animator *an = &t->animators[i];
        animator_now *now = &t->now[i];
        double units = key->unit_count ? key->unit_count[i] : 0;
        double start = lt_prop_scalar(doc, &an->start, frame);
        double end = an->has_end ? lt_prop_scalar(doc, &an->end, frame) : an->index_units ? units : 100;
        double offset = lt_prop_scalar(doc, &an->offset, frame);
        /* Percentages become units, so every shape works in units. */
        double per = an->index_units ? 1 : units > 0 ? units / 100.0 : 0;
        now->start = (start + offset) * per;
        now->end = (end + offset) * per;
        if (now->start > now->end) {
            double swap = now->start;
            now->start = now->end;
            now->end = swap;
        }
        now->amount = lt_prop_scalar(doc, &an->amount, frame) / 100.0;
        double high = lt_prop_scalar(doc, &an->ease_high, frame), low = lt_prop_scalar(doc, &an->ease_low, frame);
        now->x1 = low > 0 ? low / 100 : 0;
        now->y1 = low > 0 ? 0 : -low / 100;
        now->x2 = high > 0 ? 1 - high / 100 : 1;
        now->y2 = high > 0 ? 1 : 1 + high / 100;
        now->eased = low != 0 || high != 0;

        memcpy(now->position, zeros, sizeof(now->position));
        memcpy(now->anchor, zeros, sizeof(now->anchor));
        memcpy(now->scale, hundreds, sizeof(now->scale));
        if (an->has & HAS_POSITION)
            lt_prop_eval(doc, &an->position, frame, now->position);
        if (an->has & HAS_ANCHOR)
            lt_prop_eval(doc, &an->anchor, frame, now->anchor);
        if (an->has & HAS_SCALE)
            lt_prop_eval(doc, &an->scale, frame, now->scale);
        now->rotation = lt_prop_scalar(doc, &an->rotation, frame) * M_PI / 180;
        now->skew = lt_prop_scalar(doc, &an->skew, frame) * M_PI / 180;
        now->skew_axis = lt_prop_scalar(doc, &an->skew_axis, frame) * M_PI / 180;
        now->opacity = lt_prop_scalar(doc, &an->opacity, frame) / 100;
        memcpy(now->fill, blacks, sizeof(now->fill));
        memcpy(now->stroke, blacks, sizeof(now->stroke));
        if (an->has & HAS_FILL)
            lt_prop_eval(doc, &an->fill, frame, now->fill);
        if (an->has & HAS_STROKE)
            lt_prop_eval(doc, &an->stroke, frame, now->stroke);
        now->stroke_width = lt_prop_scalar(doc, &an->stroke_width, frame);
        now->tracking = lt_prop_scalar(doc, &an->tracking, frame);
        now->hue = lt_prop_scalar(doc, &an->hue, frame);
        now->saturation = lt_prop_scalar(doc, &an->saturation, frame) / 100;
        now->brightness = lt_prop_scalar(doc, &an->brightness, frame) / 100;
    }
}

/* How much of a selector unit the range covers, 0..1, before the amount. */
static double range_shape(int shape, double s, double e, double unit)
{
    double ramp = e > s ? clamp01(0.5 / (e - s) + (unit - s) / (e - s)) : 0;
    switch (shape) {
    case SHAPE_RAMP_UP:
        return e == s ? unit >= e : ramp;
    case SHAPE_RAMP_DOWN:
        return e == s ? unit < e : 1 - ramp;
    case SHAPE_TRIANGLE:
        return e == s ? 0 : ramp < 0.5 ? 2 * ramp : 2 * (1 - ramp);
    case SHAPE_ROUND: {
        if (e == s)
            return 0;
        double half = (e - s) / 2, x = fmin(fmax(0, unit + 0.5 - s), e - s) - half;
        return sqrt(fmax(0, 1 - x * x / (half * half)));
    }
    case SHAPE_SMOOTH: {
        if (e == s)
            return 0;
        double x = fmin(fmax(0, unit + 0.5 - s), e - s);
        return (1 + cos(M_PI + 2 * M_PI * x / (e - s))) / 2;
    }
    default:
        /* Square: whole units inside the range, the fractional ends partly. */
        if (unit < floor(s))
            return 0;
        if (unit < s)
            return clamp01(fmin(e, 1) - (s - unit));
        return clamp01(e - unit);
    }
}

static double coverage(const text_animator *an, const animator_now *now, int unit)
{
    if (!an->has_selector)
        return 1;
    double c = range_shape(an->shape, now->start, now->end, unit);
    if (now->eased)
        c = lt_ease(now->x1, now->y1, now->x2, now->y2, c);
    /* Subtract takes the range away from a fully selected text. */
    if (an->mode == MODE_SUBTRACT)
        c = 1 - c;
    return c * now->amount;
}

static void glyph_coverage(struct lt_text *t, const text_keyframe *key, size_t glyph)
{
    for (int a = 0; a < t->animator_count; a++)
        t->coverage[a] = coverage(&t->animators[a], &t->now[a], key->units[(size_t)a * key->glyph_count + glyph]);
}

/* Animated tracking moves every glyph after the first of its line by the
 * tracking of the glyphs before it; centred and right-aligned lines keep
 * their alignment point. */
static void track_offsets(struct lt_text *t, const text_keyframe *key)
{
    fw_text_align align = key->style.align;
    for (size_t i = 0; i < key->glyph_count;) {
        size_t first = i;
        double sum = 0;
        for (; i < key->glyph_count && key->glyphs[i].line == key->glyphs[first].line; i++) {
            if (i > first || align == FW_TEXT_ALIGN_CENTER || align == FW_TEXT_ALIGN_RIGHT) {
                glyph_coverage(t, key, i);
                for (int a = 0; a < t->animator_count; a++)
                    if (t->animators[a].has & HAS_TRACKING)
                        sum += t->now[a].tracking * t->coverage[a];
            }
            t->track[i] = sum;
        }
        double shift = align == FW_TEXT_ALIGN_CENTER ? sum / 2 : align == FW_TEXT_ALIGN_RIGHT ? sum : 0;
        for (size_t k = first; k < i; k++)
            t->track[k] -= shift;
    }
}

static void glyph_path(cairo_t *cr, const text_keyframe *key, const text_glyph *g)
{
    for (size_t c = g->first_contour; c < g->first_contour + g->contour_count; c++) {
        const fw_text_contour *contour = &key->contours[c];
        const fw_text_point *p = contour->points;
        cairo_move_to(cr, p[0].x, p[0].y);
        for (size_t s = 0; s < contour->segment_count; s++)
            cairo_curve_to(cr, p[3 * s + 1].x, p[3 * s + 1].y, p[3 * s + 2].x, p[3 * s + 2].y, p[3 * s + 3].x,
                           p[3 * s + 3].y);
        cairo_close_path(cr);
    }
}

/* Fill and stroke the current path in the document's order. */
static void paint(cairo_t *cr, const double *fill, int has_fill, const double *stroke, double stroke_width,
                  int has_stroke, int stroke_over_fill, double opacity)
{
    for (int pass = 0; pass < 2; pass++) {
        int stroke_now = stroke_over_fill ? pass == 1 : pass == 0;
        if (stroke_now && has_stroke && stroke_width > 0) {
            cairo_set_source_rgba(cr, stroke[0], stroke[1], stroke[2], stroke[3] * opacity);
            cairo_set_line_width(cr, stroke_width);
            cairo_stroke_preserve(cr);
        } else if (!stroke_now && has_fill) {
            cairo_set_source_rgba(cr, fill[0], fill[1], fill[2], fill[3] * opacity);
            cairo_fill_preserve(cr);
        }
    }
    cairo_new_path(cr);
}

static void then(cairo_matrix_t *m, const cairo_matrix_t *op)
{
    cairo_matrix_multiply(m, m, op);
}

static void then_translate(cairo_matrix_t *m, double x, double y)
{
    cairo_matrix_t op;
    cairo_matrix_init_translate(&op, x, y);
    then(m, &op);
}

static void then_rotate(cairo_matrix_t *m, double radians)
{
    cairo_matrix_t op;
    cairo_matrix_init_rotate(&op, radians);
    then(m, &op);
}

/* One glyph with the animators applied. */
static void draw_animated_glyph(struct lt_text *t, const text_keyframe *key, size_t i,
                                const double *alignment, cairo_t *cr)
{
    const text_glyph *g = &key->glyphs[i];
    const fw_lottie_text_style *st = &key->style;
    double fill[4], stroke[4], stroke_width = st->stroke_width, opacity = 1;
    int has_stroke = st->has_stroke || st->stroke[3] > 0 || (t->has & HAS_STROKE);
    memcpy(fill, st->fill, sizeof(fill));
    memcpy(stroke, st->stroke[3] > 0 ? st->stroke : blacks, sizeof(stroke));

    glyph_coverage(t, key, i);
    /* The pivot: the group's centre on the baseline, moved by the grouping
     * alignment (percent of the group's width and of the cap height). */
    double px = g->pivot_x + alignment[0] * g->group_width / 200;
    double py = g->pivot_y + alignment[1] * st->size * 1.2 * 0.714 / 100;
    cairo_matrix_t m;
    cairo_matrix_init_translate(&m, -px, -py);
    for (int a = 0; a < t->animator_count; a++)
        if (t->animators[a].has & HAS_ANCHOR)
            then_translate(&m, -t->now[a].anchor[0] * t->coverage[a], -t->now[a].anchor[1] * t->coverage[a]);
    for (int a = 0; a < t->animator_count; a++) {
        if (!(t->animators[a].has & HAS_SCALE))
            continue;
        cairo_matrix_t op;
        double c = t->coverage[a];
        cairo_matrix_init_scale(&op, 1 + (t->now[a].scale[0] / 100 - 1) * c, 1 + (t->now[a].scale[1] / 100 - 1) * c);
        then(&m, &op);
    }
    for (int a = 0; a < t->animator_count; a++) {
        const animator_now *now = &t->now[a];
        double c = t->coverage[a];
        unsigned has = t->animators[a].has;
        if (has & HAS_SKEW) {
            cairo_matrix_t shear;
            cairo_matrix_init(&shear, 1, 0, tan(-now->skew * c), 1, 0, 0);
            then_rotate(&m, now->skew_axis * c);
            then(&m, &shear);
            then_rotate(&m, -now->skew_axis * c);
        }
        if (has & HAS_ROTATION)
            then_rotate(&m, now->rotation * c);
        if (has & HAS_OPACITY)
            opacity += (now->opacity * c - opacity) * c;
        if (has & HAS_STROKE_WIDTH)
            stroke_width += now->stroke_width * c;
        if (has & HAS_STROKE)
            for (int k = 0; k < 3; k++)
                stroke[k] += (now->stroke[k] - stroke[k]) * c;
        if (st->has_fill) {
            if (has & HAS_FILL)
                for (int k = 0; k < 3; k++)
                    fill[k] += (now->fill[k] - fill[k]) * c;
            if (has & (HAS_HUE | HAS_SATURATION | HAS_BRIGHTNESS))
                shift_hsv(fill, (has & HAS_HUE) ? now->hue * c : 0, (has & HAS_SATURATION) ? now->saturation * c : 0,
                          (has & HAS_BRIGHTNESS) ? now->brightness * c : 0);
        }
    }
    for (int a = 0; a < t->animator_count; a++)
        if (t->animators[a].has & HAS_POSITION)
            then_translate(&m, t->now[a].position[0] * t->coverage[a], t->now[a].position[1] * t->coverage[a]);
    then_translate(&m, px + ((t->has & HAS_TRACKING) ? t->track[i] : 0), py);

    if (opacity <= 0 || !isfinite(opacity) || !isfinite(m.xx + m.yx + m.xy + m.yy + m.x0 + m.y0))
        return;
    /* A glyph scaled to nothing has no inverse; Cairo would refuse the matrix. */
    if (fabs(m.xx * m.yy - m.xy * m.yx) < 1e-12)
        return;
    cairo_save(cr);
    cairo_transform(cr, &m);
    glyph_path(cr, key, g);
    paint(cr, fill, st->has_fill, stroke, stroke_width < 0 ? 0 : stroke_width, has_stroke, st->stroke_over_fill,
          opacity > 1 ? 1 : opacity);
    cairo_restore(cr);
}

void lt_text_draw(const lt_doc *doc, const lt_layer *layer, double frame, cairo_t *cr)
{
    struct lt_text *t = layer ? layer->text : NULL;
    if (!t || t->key_count == 0 || !cr)
        return;
    const text_keyframe *key = &t->keys[0];
    for (int i = 1; i < t->key_count; i++)
        if (t->keys[i].style.time <= frame)
            key = &t->keys[i];
    if (key->glyph_count == 0)
        return;
    const fw_lottie_text_style *st = &key->style;

    cairo_save(cr);
    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    cairo_set_miter_limit(cr, 4);
    if (t->animator_count == 0) {
        cairo_new_path(cr);
        for (size_t i = 0; i < key->glyph_count; i++)
            glyph_path(cr, key, &key->glyphs[i]);
        paint(cr, st->fill, st->has_fill, st->stroke, st->stroke_width, st->has_stroke, st->stroke_over_fill, 1);
    } else {
        double alignment[2] = {0, 0};
        evaluate_animators(doc, t, key, frame);
        lt_prop_eval(doc, &t->alignment, frame, alignment);
        if (t->has & HAS_TRACKING)
            track_offsets(t, key);
        for (size_t i = 0; i < key->glyph_count; i++)
            if (key->glyphs[i].contour_count > 0)
                draw_animated_glyph(t, key, i, alignment, cr);
    }
    cairo_restore(cr);
}
