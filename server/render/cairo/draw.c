/*
 * draw.c - draw a Lottie model with Cairo; see draw.h.
 *
 * A frame is drawn the way After Effects composites: compositions from the
 * bottom layer up; a layer with masks, a matte, effects, a blend mode or
 * partial opacity is drawn into a group of its own first and composited
 * once, so its parts do not show through each other.
 *
 * Shape layers follow lottie-web's reading of the contents list (the
 * reference our frames are compared against): going down a group's items,
 * paths accumulate; a modifier (trim, round corners, ...) changes every path
 * above it in its group, nested groups included; a fill or stroke paints
 * every path above it; items higher in the list are in front. A repeater
 * repeats everything above it. The walk collects paths ("elements") and
 * paints ("styles") into arrays kept across frames, then paints back to
 * front.
 */
#include "server/render/cairo/draw.h"

#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server/render/cairo/effects.h"
#include "server/render/cairo/gradient.h"
#include "server/render/cairo/image.h"
#include "server/render/cairo/modifiers.h"
#include "server/render/cairo/text.h"

#define LT_MAX_NESTING 24      /* precomps, mattes and groups inside each other */
#define LT_MAX_REPEAT 1000     /* repeater copies */
#define LT_MAX_ELEMENTS 200000 /* paths in one layer, repeaters included */

typedef struct lt_elem {
    lt_path path;
    cairo_matrix_t m; /* element space -> layer space */
    /* Merge paths: a unit is filled as one compound path (its contours together); merge is how a
     * unit's first element combines with the units before it; shape groups units a merge made one. */
    int merge, unit, shape;
} lt_elem;

/* Merge paths modes 2-5 (1, "merge", is a plain compound path). */
enum { LT_MERGE_NONE = 0, LT_MERGE_BASE = 1, LT_MERGE_ADD = 2, LT_MERGE_SUBTRACT = 3, LT_MERGE_INTERSECT = 4,
       LT_MERGE_EXCLUDE = 5 };

typedef struct lt_style {
    const lt_shape *s;
    cairo_matrix_t m; /* style space -> layer space */
    double opacity;   /* of the groups around it */
    int first, last;  /* elements it paints */
} lt_style;

struct lt_draw {
    lt_doc *doc;
    cairo_surface_t *surface;
    cairo_t *cr;
    uint32_t *pixels;
    int width, height;
    size_t stride;
    double scale; /* output pixels per composition pixel, for effects */
    fw_err footage_rc; /* the first footage error of the frame */
    fw_error footage_err;

    lt_elem *elems;
    int nelems, elems_cap;
    lt_style *styles;
    int nstyles, styles_cap;
    lt_path scratch;
    lt_path *scratch_in, *scratch_out; /* modifier batches */
    lt_path **in_ptrs, **out_ptrs;
    int scratch_cap;
    lt_path scratch2;
    lt_fx_scratch fx;
    int depth;
    const lt_layer *collected; /* the shape layer whose shapes the arrays hold, before painting */
    double collected_t;        /* and the frame they are of */
    int merge_ids;
    double alpha; /* opacity of a layer drawn without a group of its own, given to its one paint */
    lt_gradient grad;  /* gradients drawn here: the last one's table */
    uint32_t *grad_px; /* and its pixels */
    size_t grad_cap;
    size_t cached_bytes;       /* pixels kept for static layers */
};

/* A static layer's finished pixels, kept between frames (layer->cache). */
typedef struct lt_layer_cache {
    cairo_pattern_t *pattern; /* the layer's group, masks, effects and matte applied */
    cairo_matrix_t base;      /* what it was drawn with */
    int width, height;
    size_t bytes;
    int hits, misses; /* a layer drawn somewhere new every frame (its precomp moves) stops being kept */
} lt_layer_cache;

#define LT_CACHE_BUDGET ((size_t)96 << 20)

/* ---- matrices ------------------------------------------------------------------------------- */

static int matrix_ok(const cairo_matrix_t *m)
{
    double det = m->xx * m->yy - m->yx * m->xy;
    return isfinite(det) && fabs(det) > 1e-12 && isfinite(m->x0) && isfinite(m->y0) && fabs(m->x0) < 1e7 &&
           fabs(m->y0) < 1e7;
}

/* child first, then parent: the matrix of a point in child space drawn in parent's parent space. */
static cairo_matrix_t mul(const cairo_matrix_t *child, const cairo_matrix_t *parent)
{
    cairo_matrix_t r;
    cairo_matrix_multiply(&r, child, parent);
    return r;
}

/* T(p) R(r) Skew S(s) T(-a), as lottie-web composes a transform. */
static void transform_matrix(const lt_doc *doc, const lt_transform *tr, double t, double auto_orient,
                             cairo_matrix_t *out)
{
    double a[3], p[3], s[3], r, sk, sa;
    cairo_matrix_t m, k;

    cairo_matrix_init_identity(out);
    if (!tr->present)
        return;
    lt_prop_eval(doc, &tr->a, t, a);
    if (tr->split) {
        p[0] = lt_prop_scalar(doc, &tr->px, t);
        p[1] = lt_prop_scalar(doc, &tr->py, t);
    } else {
        lt_prop_eval(doc, &tr->p, t, p);
    }
    lt_prop_eval(doc, &tr->s, t, s);
    r = lt_prop_scalar(doc, &tr->r, t) + auto_orient;
    sk = lt_prop_scalar(doc, &tr->sk, t);
    sa = lt_prop_scalar(doc, &tr->sa, t);

    cairo_matrix_init_translate(out, -a[0], -a[1]);
    cairo_matrix_init_scale(&m, s[0] / 100, s[1] / 100);
    *out = mul(out, &m);
    if (sk != 0) {
        /* Skew along the axis at angle sa: turn the axis onto x, shear x by y (x' = x - tan(sk) y),
         * turn back. */
        double ang = sa * M_PI / 180;
        cairo_matrix_init_rotate(&m, ang);
        *out = mul(out, &m);
        cairo_matrix_init(&k, 1, 0, -tan(sk * M_PI / 180), 1, 0, 0);
        *out = mul(out, &k);
        cairo_matrix_init_rotate(&m, -ang);
        *out = mul(out, &m);
    }
    cairo_matrix_init_rotate(&m, r * M_PI / 180);
    *out = mul(out, &m);
    cairo_matrix_init_translate(&m, p[0], p[1]);
    *out = mul(out, &m);
}

/* The rotation auto-orient adds: the direction of travel of the position (before the first key, the
 * way it sets off; after the last, the way it arrived), as lottie-web measures it. */
static double orient_angle(const lt_doc *doc, const lt_layer *l, double t)
{
    const lt_prop *p = &l->ks.p;
    double a[3] = {0}, b[3] = {0};

    if (!l->auto_orient || l->ks.split || p->nkeys < 2)
        return 0;
    if (t <= p->keys[0].t) {
        lt_prop_eval(doc, p, p->keys[0].t + 0.01, a);
        lt_prop_eval(doc, p, p->keys[0].t, b);
    } else if (t >= p->keys[p->nkeys - 1].t) {
        lt_prop_eval(doc, p, p->keys[p->nkeys - 1].t, a);
        lt_prop_eval(doc, p, p->keys[p->nkeys - 1].t - 0.05, b);
    } else {
        lt_prop_eval(doc, p, t, a);
        lt_prop_eval(doc, p, t - 0.01, b);
    }
    if (a[0] == b[0] && a[1] == b[1])
        return 0;
    return atan2(a[1] - b[1], a[0] - b[0]) * 180 / M_PI;
}

/* Layer space -> composition space at composition frame t, parents included. */
static void layer_matrix(const lt_doc *doc, const lt_layer *l, double t, cairo_matrix_t *out)
{
    cairo_matrix_t m;
    int guard = 0;

    transform_matrix(doc, &l->ks, t, orient_angle(doc, l, t), out);
    for (const lt_layer *p = l->parent; p && guard < 256; p = p->parent, guard++) {
        transform_matrix(doc, &p->ks, t, orient_angle(doc, p, t), &m);
        *out = mul(out, &m);
    }
}

/* ---- element and style arrays --------------------------------------------------------------- */

static lt_elem *elem_new(lt_draw *d)
{
    if (d->nelems >= LT_MAX_ELEMENTS)
        return NULL;
    if (d->nelems == d->elems_cap) {
        int cap = d->elems_cap ? d->elems_cap * 2 : 64;
        lt_elem *e = realloc(d->elems, sizeof(*e) * (size_t)cap);
        if (!e)
            return NULL;
        for (int i = d->elems_cap; i < cap; i++)
            lt_path_init(&e[i].path);
        d->elems = e;
        d->elems_cap = cap;
    }
    lt_elem *e = &d->elems[d->nelems++];
    lt_path_clear(&e->path);
    e->merge = LT_MERGE_NONE;
    e->unit = e->shape = -1;
    return e;
}

static lt_style *style_new(lt_draw *d)
{
    if (d->nstyles == d->styles_cap) {
        int cap = d->styles_cap ? d->styles_cap * 2 : 32;
        lt_style *s = realloc(d->styles, sizeof(*s) * (size_t)cap);
        if (!s)
            return NULL;
        d->styles = s;
        d->styles_cap = cap;
    }
    return &d->styles[d->nstyles++];
}

static int scratch_batch(lt_draw *d, int n)
{
    if (n <= d->scratch_cap)
        return 0;
    lt_path *in = realloc(d->scratch_in, sizeof(lt_path) * (size_t)n);
    if (!in)
        return -1;
    d->scratch_in = in;
    lt_path *out = realloc(d->scratch_out, sizeof(lt_path) * (size_t)n);
    if (!out)
        return -1;
    d->scratch_out = out;
    lt_path **ip = realloc(d->in_ptrs, sizeof(lt_path *) * (size_t)n);
    if (!ip)
        return -1;
    d->in_ptrs = ip;
    lt_path **op = realloc(d->out_ptrs, sizeof(lt_path *) * (size_t)n);
    if (!op)
        return -1;
    d->out_ptrs = op;
    for (int i = d->scratch_cap; i < n; i++)
        lt_path_init(&d->scratch_out[i]);
    d->scratch_cap = n;
    return 0;
}

/* ---- shapes --------------------------------------------------------------------------------- */

static void build_geometry(lt_draw *d, const lt_shape *s, double t, lt_path *out)
{
    const lt_doc *doc = d->doc;
    double p[2], sz[2];

    switch (s->type) {
    case LT_SH_PATH:
        /* A path keeps its own vertex order; "d" reverses only the built shapes below, as in lottie-web. */
        lt_path_prop_eval(doc, &s->path, t, out);
        break;
    case LT_SH_RECT:
        lt_prop_eval(doc, &s->p, t, p);
        lt_prop_eval(doc, &s->s, t, sz);
        lt_path_rect(out, p[0], p[1], sz[0], sz[1], lt_prop_scalar(doc, &s->r, t), s->direction);
        break;
    case LT_SH_ELLIPSE:
        lt_prop_eval(doc, &s->p, t, p);
        lt_prop_eval(doc, &s->s, t, sz);
        lt_path_ellipse(out, p[0], p[1], sz[0], sz[1], s->direction);
        break;
    case LT_SH_STAR:
        lt_prop_eval(doc, &s->p, t, p);
        lt_path_polystar(out, p[0], p[1], s->star_kind, lt_prop_scalar(doc, &s->pt, t), lt_prop_scalar(doc, &s->r, t),
                         lt_prop_scalar(doc, &s->or_, t), lt_prop_scalar(doc, &s->ir, t),
                         lt_prop_scalar(doc, &s->os, t), lt_prop_scalar(doc, &s->is, t), s->direction);
        break;
    default:
        break;
    }
}

/* A modifier changes the paths of elements first..last-1. */
static void apply_modifier(lt_draw *d, const lt_shape *s, int first, int last, double t)
{
    const lt_doc *doc = d->doc;
    int n = last - first;

    if (n <= 0)
        return;
    if (s->type == LT_SH_TRIM) {
        double start = lt_prop_scalar(doc, &s->ts, t), end = lt_prop_scalar(doc, &s->te, t);
        double offset = lt_prop_scalar(doc, &s->to, t);
        if (scratch_batch(d, n))
            return;
        for (int i = 0; i < n; i++) {
            d->scratch_in[i] = d->elems[first + i].path;
            lt_path_clear(&d->scratch_out[i]);
        }
        for (int i = 0; i < n; i++) {
            d->in_ptrs[i] = &d->scratch_in[i];
            d->out_ptrs[i] = &d->scratch_out[i];
        }
        lt_trim_paths(d->out_ptrs, (const lt_path *const *)d->in_ptrs, (size_t)n, start, end, offset, s->mode == 2);
        /* Swap the buffers: the elements take the trimmed paths, the batch keeps the old buffers. */
        for (int i = 0; i < n; i++) {
            d->elems[first + i].path = d->scratch_out[i];
            d->scratch_out[i] = d->scratch_in[i];
        }
        return;
    }
    for (int i = first; i < last; i++) {
        lt_path *in = &d->elems[i].path, tmp;
        lt_path_clear(&d->scratch);
        switch (s->type) {
        case LT_SH_ROUND:
            lt_round_corners(&d->scratch, in, lt_prop_scalar(doc, &s->r, t));
            break;
        case LT_SH_OFFSET:
            lt_offset_path(&d->scratch, in, lt_prop_scalar(doc, &s->s, t), s->join, lt_prop_scalar(doc, &s->r, t),
                           &d->scratch2);
            break;
        case LT_SH_PUCKER:
            lt_pucker_bloat(&d->scratch, in, lt_prop_scalar(doc, &s->s, t));
            break;
        case LT_SH_ZIGZAG:
            lt_zig_zag(&d->scratch, in, lt_prop_scalar(doc, &s->s, t), lt_prop_scalar(doc, &s->r, t),
                       (int)lt_prop_scalar(doc, &s->pt, t));
            break;
        default:
            return;
        }
        tmp = *in;
        *in = d->scratch;
        d->scratch = tmp;
    }
}

static void process_items(lt_draw *d, const lt_shape *items, int n, const cairo_matrix_t *m, double opacity,
                          double t, int depth);

static const lt_shape *group_transform(const lt_shape *g)
{
    for (int i = g->nitems - 1; i >= 0; i--)
        if (g->items[i].type == LT_SH_TRANSFORM)
            return &g->items[i];
    return NULL;
}

static void process_group(lt_draw *d, const lt_shape *g, const cairo_matrix_t *m, double opacity, double t,
                          int depth)
{
    const lt_shape *tr = group_transform(g);
    cairo_matrix_t gm = *m;

    if (depth > LT_MAX_NESTING * 4)
        return;
    if (tr) {
        cairo_matrix_t own;
        transform_matrix(d->doc, &tr->tr, t, 0, &own);
        gm = mul(&own, m);
        opacity *= lt_prop_scalar(d->doc, &tr->tr.o, t) / 100;
    }
    process_items(d, g->items, g->nitems, &gm, opacity, t, depth + 1);
}

/* Copy k of a repeater: T(p*k) about the anchor, R(r*k), S(s^k). */
static void repeater_matrix(const lt_doc *doc, const lt_transform *tr, double t, double k, cairo_matrix_t *out)
{
    double a[3], p[3], s[3], r;
    cairo_matrix_t m;

    lt_prop_eval(doc, &tr->a, t, a);
    lt_prop_eval(doc, &tr->p, t, p);
    lt_prop_eval(doc, &tr->s, t, s);
    r = lt_prop_scalar(doc, &tr->r, t);
    cairo_matrix_init_translate(out, -a[0], -a[1]);
    cairo_matrix_init_scale(&m, pow(s[0] / 100, k), pow(s[1] / 100, k));
    *out = mul(out, &m);
    cairo_matrix_init_rotate(&m, r * k * M_PI / 180);
    *out = mul(out, &m);
    cairo_matrix_init_translate(&m, a[0] + p[0] * k, a[1] + p[1] * k);
    *out = mul(out, &m);
}

static void process_repeater(lt_draw *d, const lt_shape *items, int i, const lt_shape *rp, const cairo_matrix_t *m,
                             double opacity, double t, int depth, int first_elem, int first_style)
{
    double copies = lt_prop_scalar(d->doc, &rp->copies, t), offset = lt_prop_scalar(d->doc, &rp->offset, t);
    double so = lt_prop_scalar(d->doc, &rp->tr.so, t) / 100, eo = lt_prop_scalar(d->doc, &rp->tr.eo, t) / 100;
    int n = (int)ceil(copies);

    if (!(n > 0))
        n = 0;
    if (n > LT_MAX_REPEAT)
        n = LT_MAX_REPEAT;
    /* Drop what the items above made once; they are made again, once per copy. */
    d->nelems = first_elem;
    d->nstyles = first_style;
    for (int c = 0; c < n; c++) {
        /* "Above" (mode 1): later copies in front, so they come first in the front-to-back list. */
        int k = rp->mode == 2 ? c : n - 1 - c;
        cairo_matrix_t rm, cm;
        double op = n > 1 ? so + (eo - so) * k / (n - 1) : so;
        repeater_matrix(d->doc, &rp->tr, t, k + offset, &rm);
        cm = mul(&rm, m);
        process_items(d, items, i, &cm, opacity * op, t, depth + 1);
    }
}

/* Merge paths over elements first..last-1. Mode 1 makes them one compound path; modes 2-5 combine
 * the shapes above in order (a shape being what an earlier merge made one, or a single path). */
static void merge_paths(lt_draw *d, int first, int last, int mode)
{
    int id = ++d->merge_ids;

    if (last <= first)
        return;
    if (d->elems[first].merge == LT_MERGE_NONE)
        d->elems[first].merge = LT_MERGE_BASE;
    if (mode >= LT_MERGE_ADD && mode <= LT_MERGE_EXCLUDE) {
        for (int k = first + 1; k < last; k++) {
            const lt_elem *prev = &d->elems[k - 1], *e = &d->elems[k];
            if (e->shape < 0 || e->shape != prev->shape)
                d->elems[k].merge = mode; /* the first path of the next shape */
        }
    }
    for (int k = first; k < last; k++) {
        if (mode < LT_MERGE_ADD || mode > LT_MERGE_EXCLUDE)
            d->elems[k].unit = id;
        d->elems[k].shape = id;
    }
}

static void process_items(lt_draw *d, const lt_shape *items, int n, const cairo_matrix_t *m, double opacity,
                          double t, int depth)
{
    int first_elem = d->nelems, first_style = d->nstyles;

    if (depth > LT_MAX_NESTING * 4)
        return;
    for (int i = 0; i < n; i++) {
        const lt_shape *s = &items[i];
        if (s->hidden)
            continue;
        switch (s->type) {
        case LT_SH_GROUP:
            process_group(d, s, m, opacity, t, depth);
            break;
        case LT_SH_PATH:
        case LT_SH_RECT:
        case LT_SH_ELLIPSE:
        case LT_SH_STAR: {
            lt_elem *e = elem_new(d);
            if (!e)
                return;
            e->m = *m;
            build_geometry(d, s, t, &e->path);
            break;
        }
        case LT_SH_FILL:
        case LT_SH_STROKE:
        case LT_SH_GFILL:
        case LT_SH_GSTROKE: {
            lt_style *st = style_new(d);
            if (!st)
                return;
            st->s = s;
            st->m = *m;
            st->opacity = opacity;
            st->first = first_elem;
            st->last = d->nelems;
            break;
        }
        case LT_SH_TRIM:
        case LT_SH_ROUND:
        case LT_SH_OFFSET:
        case LT_SH_PUCKER:
        case LT_SH_ZIGZAG:
            apply_modifier(d, s, first_elem, d->nelems, t);
            break;
        case LT_SH_REPEATER:
            process_repeater(d, items, i, s, m, opacity, t, depth, first_elem, first_style);
            break;
        case LT_SH_MERGE:
            /* The paths above become one shape: the first as it is, each next added, subtracted,
             * intersected or excluded. Fills paint the result; strokes still follow each path. */
            merge_paths(d, first_elem, d->nelems, s->mode);
            break;
        default:
            break;
        }
    }
}

/* ---- paint ---------------------------------------------------------------------------------- */

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : isfinite(v) ? v : 0;
}

/* Opacity of a gradient at offset x from its opacity stops (pairs after the colour stops). */
static double stop_alpha(const double *g, int dims, int cstops, double x)
{
    int base = cstops * 4, n = (dims - base) / 2;
    if (n <= 0)
        return 1;
    if (x <= g[base])
        return clamp01(g[base + 1]);
    for (int i = 1; i < n; i++) {
        double x0 = g[base + 2 * (i - 1)], x1 = g[base + 2 * i];
        if (x <= x1) {
            double f = x1 > x0 ? (x - x0) / (x1 - x0) : 1;
            return clamp01(g[base + 2 * (i - 1) + 1] + (g[base + 2 * i + 1] - g[base + 2 * (i - 1) + 1]) * f);
        }
    }
    return clamp01(g[base + 2 * (n - 1) + 1]);
}

static void stop_color(const double *g, int cstops, double x, double rgb[3])
{
    if (x <= g[0] || cstops == 1) {
        memcpy(rgb, g + 1, sizeof(double) * 3);
        return;
    }
    for (int i = 1; i < cstops; i++) {
        const double *a = g + 4 * (i - 1), *b = g + 4 * i;
        if (x <= b[0]) {
            double f = b[0] > a[0] ? (x - a[0]) / (b[0] - a[0]) : 1;
            for (int c = 0; c < 3; c++)
                rgb[c] = a[1 + c] + (b[1 + c] - a[1 + c]) * f;
            return;
        }
    }
    memcpy(rgb, g + 4 * (cstops - 1) + 1, sizeof(double) * 3);
}

static cairo_pattern_t *gradient(const lt_doc *doc, const lt_shape *s, double t, double opacity)
{
    double gs[2], ge[2], g[512];
    int dims = s->g.dims, cstops = s->gstops;
    cairo_pattern_t *pat;

    lt_prop_eval(doc, &s->gs, t, gs);
    lt_prop_eval(doc, &s->ge, t, ge);
    if (dims > (int)(sizeof(g) / sizeof(g[0])))
        dims = (int)(sizeof(g) / sizeof(g[0]));
    if (cstops <= 0 || cstops * 4 > dims)
        cstops = dims / 4;
    if (cstops <= 0)
        return NULL;
    if (s->g.dims <= (int)(sizeof(g) / sizeof(g[0])))
        lt_prop_eval(doc, &s->g, t, g);
    else
        memcpy(g, s->g.v, sizeof(g));
    if (s->grad_kind == 2) {
        double r = hypot(ge[0] - gs[0], ge[1] - gs[1]);
        double h = lt_prop_scalar(doc, &s->gh, t) / 100, a = lt_prop_scalar(doc, &s->ga, t) * M_PI / 180;
        double ang = atan2(ge[1] - gs[1], ge[0] - gs[0]);
        h = h >= 1 ? 0.99 : h <= -1 ? -0.99 : h;
        pat = cairo_pattern_create_radial(gs[0] + cos(ang + a) * r * h, gs[1] + sin(ang + a) * r * h, 0, gs[0], gs[1],
                                          r);
    } else {
        pat = cairo_pattern_create_linear(gs[0], gs[1], ge[0], ge[1]);
    }
    /* Colour stops carry the opacity at their offset; opacity stops add points with the colour there. */
    for (int i = 0; i < cstops; i++) {
        double x = g[4 * i];
        cairo_pattern_add_color_stop_rgba(pat, clamp01(x), clamp01(g[4 * i + 1]), clamp01(g[4 * i + 2]),
                                          clamp01(g[4 * i + 3]), stop_alpha(g, dims, cstops, x) * opacity);
    }
    for (int i = 0; cstops * 4 + 2 * i + 1 < dims; i++) {
        double x = g[cstops * 4 + 2 * i], rgb[3];
        stop_color(g, cstops, x, rgb);
        cairo_pattern_add_color_stop_rgba(pat, clamp01(x), clamp01(rgb[0]), clamp01(rgb[1]), clamp01(rgb[2]),
                                          stop_alpha(g, dims, cstops, x) * opacity);
    }
    cairo_pattern_set_extend(pat, CAIRO_EXTEND_PAD);
    return pat;
}

static void append_path(cairo_t *cr, const lt_path *p)
{
    for (size_t c = 0; c < p->ncontours; c++) {
        const lt_contour *ct = &p->contours[c];
        const lt_pt *pt = lt_contour_pts(p, ct);
        cairo_move_to(cr, pt[0].x, pt[0].y);
        for (size_t k = 0; k < ct->segments; k++) {
            const lt_pt *b = pt + 3 * k;
            cairo_curve_to(cr, b[1].x, b[1].y, b[2].x, b[2].y, b[3].x, b[3].y);
        }
        if (ct->closed)
            cairo_close_path(cr);
    }
}

static int merged(const lt_draw *d, const lt_style *st)
{
    for (int i = st->first; i < st->last; i++)
        if (d->elems[i].merge != LT_MERGE_NONE)
            return 1;
    return 0;
}

static void set_fill_source(lt_draw *d, const lt_shape *s, double t, double opacity, cairo_pattern_t **pat)
{
    *pat = NULL;
    if (s->type == LT_SH_GFILL || s->type == LT_SH_GSTROKE) {
        *pat = gradient(d->doc, s, t, clamp01(opacity));
        if (*pat)
            cairo_set_source(d->cr, *pat);
        else
            cairo_set_source_rgba(d->cr, 0, 0, 0, 0);
    } else {
        double c[4];
        lt_prop_eval(d->doc, &s->c, t, c);
        cairo_set_source_rgba(d->cr, clamp01(c[0]), clamp01(c[1]), clamp01(c[2]), clamp01(opacity));
    }
}

/* A fill of merged paths: the paths combined as coverage, then the paint through it. */
static void paint_merged(lt_draw *d, const lt_style *st, const cairo_matrix_t *layer, const cairo_matrix_t *sm,
                         double t, double opacity)
{
    static const cairo_operator_t ops[] = {CAIRO_OPERATOR_OVER, CAIRO_OPERATOR_OVER, CAIRO_OPERATOR_OVER,
                                           CAIRO_OPERATOR_DEST_OUT, CAIRO_OPERATOR_DEST_IN, CAIRO_OPERATOR_XOR};
    cairo_t *cr = d->cr;
    cairo_pattern_t *mask, *pat;

    cairo_save(cr);
    cairo_identity_matrix(cr);
    cairo_push_group_with_content(cr, CAIRO_CONTENT_ALPHA);
    cairo_set_fill_rule(cr, st->s->fill_rule == 2 ? CAIRO_FILL_RULE_EVEN_ODD : CAIRO_FILL_RULE_WINDING);
    cairo_set_source_rgba(cr, 0, 0, 0, 1);
    for (int i = st->first; i < st->last;) {
        int op = d->elems[i].merge >= 0 && d->elems[i].merge <= LT_MERGE_EXCLUDE ? d->elems[i].merge : 0;
        int unit = d->elems[i].unit;
        cairo_new_path(cr);
        /* A unit's contours go in one fill, so a compound path keeps its holes. */
        do {
            const lt_elem *e = &d->elems[i];
            cairo_matrix_t em = mul(&e->m, layer);
            if (!e->path.oom && matrix_ok(&em)) {
                cairo_set_matrix(cr, &em);
                append_path(cr, &e->path);
            }
            i++;
        } while (i < st->last && unit >= 0 && d->elems[i].unit == unit);
        cairo_set_operator(cr, ops[op]);
        cairo_fill(cr);
    }
    cairo_identity_matrix(cr);
    mask = cairo_pop_group(cr);
    cairo_set_matrix(cr, sm);
    set_fill_source(d, st->s, t, opacity, &pat);
    cairo_identity_matrix(cr);
    cairo_mask(cr, mask);
    cairo_pattern_destroy(mask);
    if (pat)
        cairo_pattern_destroy(pat);
    cairo_restore(cr);
}

typedef struct lt_box {
    double x0, y0, x1, y1; /* device pixels; empty when x0 >= x1 */
} lt_box;

static void box_add(lt_box *b, const cairo_matrix_t *m, double x, double y)
{
    cairo_matrix_transform_point(m, &x, &y);
    if (x < b->x0) b->x0 = x;
    if (y < b->y0) b->y0 = y;
    if (x > b->x1) b->x1 = x;
    if (y > b->y1) b->y1 = y;
}

static lt_box box_empty(void)
{
    lt_box b = {1e30, 1e30, -1e30, -1e30};
    return b;
}

static void box_rect(lt_box *b, const cairo_matrix_t *m, double w, double h)
{
    box_add(b, m, 0, 0);
    box_add(b, m, w, 0);
    box_add(b, m, 0, h);
    box_add(b, m, w, h);
}

/* A gradient over a large area is drawn by gradient.c into the engine's buffer, over the part of the
 * current path that is inside the clip, and set as the source; NULL leaves it to Cairo (small areas,
 * other forms). The CTM is sm, the path and the stroke settings are in place. */
static cairo_surface_t *drawn_gradient(lt_draw *d, cairo_pattern_t *pat, const cairo_matrix_t *sm, int stroke)
{
    cairo_t *cr = d->cr;
    double ux0, uy0, ux1, uy1, cx0, cy0, cx1, cy1;
    lt_box b = box_empty();
    int x0, y0, w, h;

    if (stroke)
        cairo_stroke_extents(cr, &ux0, &uy0, &ux1, &uy1);
    else
        cairo_fill_extents(cr, &ux0, &uy0, &ux1, &uy1);
    box_add(&b, sm, ux0, uy0), box_add(&b, sm, ux1, uy0), box_add(&b, sm, ux0, uy1), box_add(&b, sm, ux1, uy1);
    cairo_identity_matrix(cr);
    cairo_clip_extents(cr, &cx0, &cy0, &cx1, &cy1);
    cairo_set_matrix(cr, sm);
    x0 = (int)floor(fmax(b.x0, cx0)), y0 = (int)floor(fmax(b.y0, cy0));
    w = (int)ceil(fmin(b.x1, cx1)) - x0, h = (int)ceil(fmin(b.y1, cy1)) - y0;
    if (w <= 0 || h <= 0 || (long)w * h < 4096 || w > 16384 || h > 16384)
        return NULL;
    if (lt_gradient_from_pattern(&d->grad, pat, sm))
        return NULL;
    /* Smooth gradients are sampled every few pixels and scaled up bilinearly. */
    int step = lt_gradient_step(&d->grad, pat);
    int sw = (w + step - 1) / step + 1, sh = (h + step - 1) / step + 1;
    if ((size_t)sw * (size_t)sh > d->grad_cap) {
        uint32_t *p = realloc(d->grad_px, sizeof(uint32_t) * (size_t)sw * (size_t)sh);
        if (!p)
            return NULL;
        d->grad_px = p;
        d->grad_cap = (size_t)sw * (size_t)sh;
    }
    lt_gradient_draw(&d->grad, d->grad_px, (size_t)sw * 4, x0, y0, step, sw, sh);
    cairo_surface_t *surface =
        cairo_image_surface_create_for_data((unsigned char *)d->grad_px, CAIRO_FORMAT_ARGB32, sw, sh, sw * 4);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surface);
        return NULL;
    }
    cairo_pattern_t *source = cairo_pattern_create_for_surface(surface);
    cairo_matrix_t pm;
    cairo_matrix_init_scale(&pm, 1.0 / step, 1.0 / step);
    cairo_matrix_translate(&pm, -x0, -y0);
    cairo_pattern_set_matrix(source, &pm);
    cairo_pattern_set_extend(source, CAIRO_EXTEND_PAD);
    cairo_pattern_set_filter(source, step > 1 ? CAIRO_FILTER_BILINEAR : CAIRO_FILTER_NEAREST);
    cairo_identity_matrix(cr);
    cairo_set_source(cr, source);
    cairo_pattern_destroy(source);
    cairo_set_matrix(cr, sm);
    return surface;
}

static void paint_style(lt_draw *d, const lt_style *st, const cairo_matrix_t *layer, double t)
{
    const lt_doc *doc = d->doc;
    const lt_shape *s = st->s;
    cairo_t *cr = d->cr;
    cairo_matrix_t sm = mul(&st->m, layer);
    double opacity = st->opacity * d->alpha * lt_prop_scalar(doc, &s->o, t) / 100;
    int stroke = s->type == LT_SH_STROKE || s->type == LT_SH_GSTROKE;
    cairo_pattern_t *pat = NULL;

    if (!(opacity > 0) || st->last <= st->first || !matrix_ok(&sm))
        return;
    if (!stroke && merged(d, st)) {
        paint_merged(d, st, layer, &sm, t, opacity);
        return;
    }
    cairo_new_path(cr);
    for (int i = st->first; i < st->last; i++) {
        const lt_elem *e = &d->elems[i];
        cairo_matrix_t em = mul(&e->m, layer);
        if (e->path.oom || e->path.ncontours == 0 || !matrix_ok(&em))
            continue;
        cairo_set_matrix(cr, &em);
        append_path(cr, &e->path);
    }
    cairo_set_matrix(cr, &sm);
    if (stroke) {
        double w = lt_prop_scalar(doc, &s->w, t);
        if (!(w > 0)) {
            cairo_new_path(cr);
            return;
        }
        cairo_set_line_width(cr, w);
        cairo_set_line_cap(cr, s->cap == 1 ? CAIRO_LINE_CAP_BUTT : s->cap == 3 ? CAIRO_LINE_CAP_SQUARE
                                                                               : CAIRO_LINE_CAP_ROUND);
        cairo_set_line_join(cr, s->join == 1 ? CAIRO_LINE_JOIN_MITER : s->join == 3 ? CAIRO_LINE_JOIN_BEVEL
                                                                                   : CAIRO_LINE_JOIN_ROUND);
        cairo_set_miter_limit(cr, s->miter > 0 ? s->miter : 4);
        if (s->ndashes > 0) {
            double dash[64], off = 0, total = 0;
            int nd = 0;
            for (int i = 0; i < s->ndashes && nd < 64; i++) {
                double v = lt_prop_scalar(doc, &s->dashes[i].v, t);
                if (s->dashes[i].kind == 'o')
                    off = v;
                else
                    dash[nd++] = v > 0 ? v : 0, total += v > 0 ? v : 0;
            }
            if (nd == 1)
                dash[nd++] = dash[0];
            if (total > 0)
                cairo_set_dash(cr, dash, nd, off);
        }
    } else {
        cairo_set_fill_rule(cr, s->fill_rule == 2 ? CAIRO_FILL_RULE_EVEN_ODD : CAIRO_FILL_RULE_WINDING);
    }
    cairo_surface_t *drawn = NULL;
    if (s->type == LT_SH_GFILL || s->type == LT_SH_GSTROKE) {
        pat = gradient(doc, s, t, clamp01(opacity));
        if (!pat) {
            cairo_new_path(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            return;
        }
        if (!(drawn = drawn_gradient(d, pat, &sm, stroke)))
            cairo_set_source(cr, pat);
    } else {
        double c[4];
        lt_prop_eval(doc, &s->c, t, c);
        cairo_set_source_rgba(cr, clamp01(c[0]), clamp01(c[1]), clamp01(c[2]), clamp01(opacity));
    }
    if (stroke) {
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    } else {
        cairo_fill(cr);
    }
    if (drawn) {
        cairo_set_source_rgb(cr, 0, 0, 0); /* let go of the buffer before it is drawn again */
        cairo_surface_finish(drawn);
        cairo_surface_destroy(drawn);
    }
    if (pat)
        cairo_pattern_destroy(pat);
}

/* The paths and paints of a shape layer at t, into d's arrays. */
static void collect_shapes(lt_draw *d, const lt_layer *l, double t)
{
    cairo_matrix_t id;

    cairo_matrix_init_identity(&id);
    d->nelems = 0;
    d->nstyles = 0;
    process_items(d, l->shapes, l->nshapes, &id, 1, t, 0);
    d->collected = l;
    d->collected_t = t;
}

static void draw_shapes(lt_draw *d, const lt_layer *l, double t, const cairo_matrix_t *layer)
{
    if (d->collected != l || d->collected_t != t)
        collect_shapes(d, l, t);
    d->collected = NULL;
    for (int i = d->nstyles - 1; i >= 0; i--)
        paint_style(d, &d->styles[i], layer, t);
}

/* ---- bounds --------------------------------------------------------------------------------- */

/* Where the collected shapes of a layer can paint, in device pixels. */
static lt_box shapes_box(lt_draw *d, const cairo_matrix_t *layer, double t)
{
    lt_box b = box_empty();
    double margin = 0;

    for (int i = 0; i < d->nelems; i++) {
        const lt_elem *e = &d->elems[i];
        cairo_matrix_t em = mul(&e->m, layer);
        for (size_t k = 0; k < e->path.npts; k++)
            box_add(&b, &em, e->path.pts[k].x, e->path.pts[k].y);
    }
    for (int i = 0; i < d->nstyles; i++) {
        const lt_shape *s = d->styles[i].s;
        if (s->type == LT_SH_STROKE || s->type == LT_SH_GSTROKE) {
            cairo_matrix_t sm = mul(&d->styles[i].m, layer);
            double scale = sqrt(fabs(sm.xx * sm.yy - sm.xy * sm.yx)) + fabs(sm.xx) + fabs(sm.yy);
            double w = lt_prop_scalar(d->doc, &s->w, t) * scale * (s->miter > 1 ? s->miter : 1);
            if (w > margin)
                margin = w;
        }
    }
    b.x0 -= margin + 2, b.y0 -= margin + 2, b.x1 += margin + 2, b.y1 += margin + 2;
    return b;
}

static lt_box comp_box(lt_draw *d, lt_layer *pl, double t, const cairo_matrix_t *m, int *unknown);
static double spread(lt_draw *d, const lt_layer *l, double lt);

/* A box the layer's pixels stay inside, or an empty box with *unknown set when it cannot tell. */
static lt_box layer_box(lt_draw *d, lt_layer *l, double t, const cairo_matrix_t *m, int *unknown)
{
    lt_box b = box_empty();

    *unknown = 0;
    switch (l->type) {
    case LT_LAYER_SOLID:
        box_rect(&b, m, l->sw, l->sh);
        break;
    case LT_LAYER_IMAGE:
        if (l->image)
            box_rect(&b, m, l->image->w, l->image->h);
        break;
    case LT_LAYER_PRECOMP: {
        /* The precomp's rectangle, or less: where its visible layers paint. */
        int inner_unknown = 1;
        lt_box inner = comp_box(d, l, t, m, &inner_unknown);
        box_rect(&b, m, l->w, l->h);
        if (!inner_unknown) {
            b.x0 = fmax(b.x0, inner.x0), b.y0 = fmax(b.y0, inner.y0);
            b.x1 = fmin(b.x1, inner.x1), b.y1 = fmin(b.y1, inner.y1);
        }
        break;
    }
    case LT_LAYER_SHAPE:
        collect_shapes(d, l, t);
        b = shapes_box(d, m, t);
        break;
    default:
        *unknown = 1;
        return b;
    }
    /* Add masks keep the layer inside them. */
    int all_add = l->nmasks > 0;
    lt_box mb = box_empty();
    for (int i = 0; i < l->nmasks && all_add; i++) {
        const lt_mask *mk = &l->masks[i];
        double x = lt_prop_scalar(d->doc, &mk->x, t);
        if (mk->mode != 'a' || mk->inverted) {
            all_add = 0;
            break;
        }
        lt_path_clear(&d->scratch);
        lt_path_prop_eval(d->doc, &mk->path, t, &d->scratch);
        lt_box one = box_empty();
        for (size_t k = 0; k < d->scratch.npts; k++)
            box_add(&one, m, d->scratch.pts[k].x, d->scratch.pts[k].y);
        double grow = x > 0 ? x * (fabs(m->xx) + fabs(m->xy) + fabs(m->yx) + fabs(m->yy)) : 0;
        mb.x0 = fmin(mb.x0, one.x0 - grow), mb.y0 = fmin(mb.y0, one.y0 - grow);
        mb.x1 = fmax(mb.x1, one.x1 + grow), mb.y1 = fmax(mb.y1, one.y1 + grow);
    }
    if (all_add) {
        b.x0 = fmax(b.x0, mb.x0 - 1), b.y0 = fmax(b.y0, mb.y0 - 1);
        b.x1 = fmin(b.x1, mb.x1 + 1), b.y1 = fmin(b.y1, mb.y1 + 1);
    }
    return b;
}

/* Where the visible layers of a precomp layer's composition paint at t, in device pixels. */
static lt_box comp_box(lt_draw *d, lt_layer *pl, double t, const cairo_matrix_t *m, int *unknown)
{
    lt_comp *c = pl->comp;
    lt_box b = box_empty();
    double inner;

    *unknown = 1;
    if (!c || c->visiting || d->depth + 1 > LT_MAX_NESTING)
        return b;
    inner = pl->has_time_remap ? lt_prop_scalar(d->doc, &pl->tm, t) * d->doc->fr : (t - pl->st) / pl->sr;
    c->visiting = 1;
    d->depth++;
    for (int i = 0; i < c->nlayers; i++) {
        lt_layer *l = &c->layers[i];
        cairo_matrix_t lm, cm;
        int unk = 0;
        if (l->hidden || l->is_matte || inner < l->ip || inner >= l->op || l->type == LT_LAYER_NULL ||
            l->type < 0 || l->type > LT_LAYER_TEXT)
            continue;
        if (!(lt_prop_scalar(d->doc, &l->ks.o, inner) > 0))
            continue;
        layer_matrix(d->doc, l, inner, &lm);
        cm = mul(&lm, m);
        if (!matrix_ok(&cm))
            continue;
        lt_box one = layer_box(d, l, inner, &cm, &unk);
        if (unk) {
            d->depth--;
            c->visiting = 0;
            return b;
        }
        double grow = l->neffects ? spread(d, l, inner) : 0;
        b.x0 = fmin(b.x0, one.x0 - grow), b.y0 = fmin(b.y0, one.y0 - grow);
        b.x1 = fmax(b.x1, one.x1 + grow), b.y1 = fmax(b.y1, one.y1 + grow);
    }
    d->depth--;
    c->visiting = 0;
    *unknown = 0;
    return b;
}

/* ---- layers --------------------------------------------------------------------------------- */

static void draw_comp(lt_draw *d, lt_comp *c, double t, const cairo_matrix_t *base);
static void draw_layer(lt_draw *d, lt_comp *c, lt_layer *l, double t, const cairo_matrix_t *base, int as_matte);

static void draw_content(lt_draw *d, lt_layer *l, double t, const cairo_matrix_t *m)
{
    cairo_t *cr = d->cr;

    switch (l->type) {
    case LT_LAYER_SOLID:
        cairo_set_matrix(cr, m);
        cairo_rectangle(cr, 0, 0, l->sw, l->sh);
        cairo_set_source_rgba(cr, l->solid[0], l->solid[1], l->solid[2], d->alpha);
        cairo_fill(cr);
        break;
    case LT_LAYER_IMAGE:
        /* Footage follows the layer's own time: its start time and stretch. */
        if (l->image && l->image->picture && !d->footage_rc)
            d->footage_rc = lt_image_show_picture(l->image, (t - l->st) / l->sr / d->doc->fr, &d->footage_err);
        if (l->image && l->image->surface) {
            cairo_surface_t *is = l->image->surface;
            int iw = cairo_image_surface_get_width(is), ih = cairo_image_surface_get_height(is);
            cairo_set_matrix(cr, m);
            /* Pixels of another size than the asset's are stretched over it. */
            if (l->image->w > 0 && l->image->h > 0 && iw > 0 && ih > 0 && (iw != l->image->w || ih != l->image->h))
                cairo_scale(cr, l->image->w / iw, l->image->h / ih);
            cairo_set_source_surface(cr, is, 0, 0);
            /* Bilinear unless the picture shrinks to under half its size, where it would alias. */
            cairo_matrix_t um;
            cairo_get_matrix(cr, &um);
            double shrink = sqrt(fabs(um.xx * um.yy - um.xy * um.yx));
            cairo_pattern_set_filter(cairo_get_source(cr), shrink < 0.5 ? CAIRO_FILTER_GOOD : CAIRO_FILTER_BILINEAR);
            cairo_paint_with_alpha(cr, d->alpha);
        }
        break;
    case LT_LAYER_SHAPE:
        draw_shapes(d, l, t, m);
        break;
    case LT_LAYER_TEXT:
        if (l->text) {
            cairo_set_matrix(cr, m);
            lt_text_draw(d->doc, l, t, cr);
        }
        break;
    case LT_LAYER_PRECOMP:
        if (l->comp && !l->comp->visiting) {
            double inner = l->has_time_remap ? lt_prop_scalar(d->doc, &l->tm, t) * d->doc->fr : (t - l->st) / l->sr;
            cairo_save(cr);
            cairo_set_matrix(cr, m);
            cairo_rectangle(cr, 0, 0, l->w, l->h);
            cairo_clip(cr);
            l->comp->visiting = 1;
            draw_comp(d, l->comp, inner, m);
            l->comp->visiting = 0;
            cairo_restore(cr);
        }
        break;
    default:
        break;
    }
}

/* Masks as an alpha pattern in the current group's space. */
static cairo_pattern_t *mask_pattern(lt_draw *d, const lt_layer *l, double lt, const cairo_matrix_t *m)
{
    cairo_t *cr = d->cr;
    int first = 1;

    cairo_identity_matrix(cr);

    cairo_identity_matrix(cr);
    cairo_push_group_with_content(cr, CAIRO_CONTENT_ALPHA);
    for (int i = 0; i < l->nmasks; i++) {
        const lt_mask *mk = &l->masks[i];
        double o = clamp01(lt_prop_scalar(d->doc, &mk->o, lt) / 100), x = lt_prop_scalar(d->doc, &mk->x, lt);
        cairo_operator_t op;

        if (mk->mode == 'n')
            continue;
        if (first && (mk->mode == 's' || mk->mode == 'i')) {
            /* Subtracting from or intersecting with nothing starts from everything. */
            cairo_set_source_rgba(cr, 0, 0, 0, 1);
            cairo_paint(cr);
        }
        first = 0;
        switch (mk->mode) {
        case 's':
            op = CAIRO_OPERATOR_DEST_OUT;
            break;
        case 'i':
        case 'd':
            op = CAIRO_OPERATOR_DEST_IN;
            break;
        case 'f':
            op = CAIRO_OPERATOR_XOR;
            break;
        default:
            op = CAIRO_OPERATOR_OVER;
            break;
        }
        lt_path_clear(&d->scratch);
        lt_path_prop_eval(d->doc, &mk->path, lt, &d->scratch);
        cairo_set_matrix(cr, m);
        cairo_new_path(cr);
        if (mk->inverted) {
            cairo_matrix_t id;
            cairo_matrix_init_identity(&id);
            cairo_set_matrix(cr, &id);
            cairo_rectangle(cr, -1e5, -1e5, 2e5, 2e5);
            cairo_set_matrix(cr, m);
        }
        append_path(cr, &d->scratch);
        cairo_set_operator(cr, op);
        cairo_set_fill_rule(cr, mk->inverted ? CAIRO_FILL_RULE_EVEN_ODD : CAIRO_FILL_RULE_WINDING);
        if (mk->mode == 'i' || mk->mode == 'd') {
            /* Intersect keeps what is inside, at the mask's opacity. */
            cairo_set_source_rgba(cr, 0, 0, 0, o);
            cairo_fill_preserve(cr);
        } else {
            cairo_set_source_rgba(cr, 0, 0, 0, o);
            cairo_fill_preserve(cr);
        }
        if (x != 0 && !mk->inverted) {
            /* Expansion grows the shape by x (or shrinks it) with a stroke along its outline. */
            cairo_set_line_width(cr, fabs(x) * 2);
            cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
            if (x < 0)
                cairo_set_operator(cr, mk->mode == 's' ? CAIRO_OPERATOR_OVER : CAIRO_OPERATOR_DEST_OUT);
            cairo_set_source_rgba(cr, 0, 0, 0, x < 0 && mk->mode != 's' ? 1 : o);
            cairo_stroke(cr);
        }
        cairo_new_path(cr);
        cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
    }
    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
    cairo_identity_matrix(cr);
    return cairo_pop_group(cr);
}

/* A matte's pixels into the alpha the matte mode takes from them: the luminance (luma mattes) or the
 * alpha, inverted or not. Colour is dropped; only alpha masks. */
static void matte_alpha(cairo_surface_t *s, int luma, int invert)
{
    unsigned char *data;
    int w, h, stride;

    cairo_surface_flush(s);
    data = cairo_image_surface_get_data(s);
    if (!data || cairo_image_surface_get_format(s) != CAIRO_FORMAT_ARGB32)
        return;
    w = cairo_image_surface_get_width(s);
    h = cairo_image_surface_get_height(s);
    stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; y++) {
        uint32_t *row = (uint32_t *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            uint32_t p = row[x];
            /* Premultiplied colour: the luminance of the colour over transparent black. */
            unsigned a = luma ? (((p >> 16) & 255) * 54 + ((p >> 8) & 255) * 183 + (p & 255) * 19 + 128) >> 8
                              : p >> 24;
            row[x] = (uint32_t)(invert ? 255 - a : a) << 24;
        }
    }
    cairo_surface_mark_dirty(s);
}

static cairo_pattern_t *matte_pattern(lt_draw *d, lt_comp *c, lt_layer *l, double t, const cairo_matrix_t *base)
{
    cairo_t *cr = d->cr;
    cairo_pattern_t *pat;
    cairo_surface_t *s = NULL;

    cairo_identity_matrix(cr);

    cairo_identity_matrix(cr);
    cairo_push_group_with_content(cr, CAIRO_CONTENT_COLOR_ALPHA);
    draw_layer(d, c, l->matte, t, base, 1);
    cairo_identity_matrix(cr);
    pat = cairo_pop_group(cr);
    if (cairo_pattern_get_surface(pat, &s) != CAIRO_STATUS_SUCCESS || !s ||
        cairo_surface_get_type(s) != CAIRO_SURFACE_TYPE_IMAGE)
        return pat;
    if (l->matte_mode >= 2 && l->matte_mode <= 4)
        matte_alpha(s, l->matte_mode >= 3, l->matte_mode == 2 || l->matte_mode == 4);
    return pat;
}

static cairo_operator_t blend_operator(int bm)
{
    static const cairo_operator_t ops[] = {
        CAIRO_OPERATOR_OVER,       CAIRO_OPERATOR_MULTIPLY,    CAIRO_OPERATOR_SCREEN,     CAIRO_OPERATOR_OVERLAY,
        CAIRO_OPERATOR_DARKEN,     CAIRO_OPERATOR_LIGHTEN,     CAIRO_OPERATOR_COLOR_DODGE, CAIRO_OPERATOR_COLOR_BURN,
        CAIRO_OPERATOR_HARD_LIGHT, CAIRO_OPERATOR_SOFT_LIGHT,  CAIRO_OPERATOR_DIFFERENCE, CAIRO_OPERATOR_EXCLUSION,
        CAIRO_OPERATOR_HSL_HUE,    CAIRO_OPERATOR_HSL_SATURATION, CAIRO_OPERATOR_HSL_COLOR, CAIRO_OPERATOR_HSL_LUMINOSITY,
        CAIRO_OPERATOR_ADD,
    };
    if (bm < 0 || bm >= (int)(sizeof(ops) / sizeof(ops[0])))
        return CAIRO_OPERATOR_OVER;
    return ops[bm];
}

/* An effect's values at frame lt, as the effects module takes them; returns how many. */
static int effect_values(lt_draw *d, const lt_effect *e, double lt, lt_fx_value vals[32])
{
    int n = e->nvalues < 32 ? e->nvalues : 32;
    for (int k = 0; k < n; k++) {
        memset(&vals[k], 0, sizeof(vals[k]));
        vals[k].n = e->values[k].v.dims <= 4 ? e->values[k].v.dims : 0;
        if (vals[k].n > 0)
            lt_prop_eval(d->doc, &e->values[k].v, lt, vals[k].v);
        if (e->values[k].type == 3)
            vals[k].n = 2; /* points: x and y */
    }
    return n;
}

/* After Effects' Stroke effect ("ty" 22), drawn here because it follows the layer's mask paths. */
#define LT_EFFECT_STROKE 22

static int has_effects(const lt_layer *l)
{
    for (int i = 0; i < l->neffects; i++)
        if (l->effects[i].enabled && (l->effects[i].type == LT_EFFECT_STROKE ||
                                      lt_fx_kind_of(l->effects[i].type, l->effects[i].match) != LT_FX_NONE))
            return 1;
    return 0;
}

static double effect_value(lt_draw *d, const lt_effect *e, int k, double lt, double def, double *v4)
{
    double v[4] = {def, def, def, 1};
    if (k < e->nvalues && e->values[k].v.dims > 0 && e->values[k].v.dims <= 4)
        lt_prop_eval(d->doc, &e->values[k].v, lt, v);
    if (v4)
        memcpy(v4, v, sizeof(v));
    return v[0];
}

/*
 * The Stroke effect: a brush along one mask path ([0], 1-based) or all of them ([1]), in a colour
 * ([3]), brush size ([4]) and opacity ([6], 0..1), from start ([7]) to end ([8]) percent, painted on
 * the layer ([10] = 1), on transparent (2), or revealing the layer only under it (3). Brush hardness,
 * spacing and stroking sequentially are not drawn.
 */
static void stroke_effect(lt_draw *d, const lt_layer *l, const lt_effect *e, double lt, const cairo_matrix_t *m)
{
    cairo_t *cr = d->cr;
    int which = (int)effect_value(d, e, 0, lt, 1, NULL), all = effect_value(d, e, 1, lt, 0, NULL) != 0;
    double colour[4], size = effect_value(d, e, 4, lt, 2, NULL), opacity = effect_value(d, e, 6, lt, 1, NULL);
    double start = effect_value(d, e, 7, lt, 0, NULL), end = effect_value(d, e, 8, lt, 100, NULL);
    int style = (int)effect_value(d, e, 10, lt, 1, NULL);

    effect_value(d, e, 3, lt, 1, colour);
    if (!(size > 0) || l->nmasks == 0 || !matrix_ok(m))
        return;
    cairo_save(cr);
    cairo_set_matrix(cr, m);
    cairo_new_path(cr);
    for (int i = 0; i < l->nmasks; i++) {
        if (!all && i + 1 != which)
            continue;
        lt_path_clear(&d->scratch);
        lt_path_clear(&d->scratch2);
        lt_path_prop_eval(d->doc, &l->masks[i].path, lt, &d->scratch2);
        lt_trim(&d->scratch, &d->scratch2, start, end, 0, 0);
        append_path(cr, &d->scratch);
    }
    cairo_set_line_width(cr, size);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    if (style == 2) {
        cairo_save(cr);
        cairo_set_operator(cr, CAIRO_OPERATOR_CLEAR);
        cairo_paint(cr);
        cairo_restore(cr);
    }
    if (style == 3) {
        cairo_set_operator(cr, CAIRO_OPERATOR_DEST_IN);
        cairo_set_source_rgba(cr, 0, 0, 0, clamp01(opacity));
    } else {
        cairo_set_source_rgba(cr, clamp01(colour[0]), clamp01(colour[1]), clamp01(colour[2]), clamp01(opacity));
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

static void apply_effects(lt_draw *d, lt_layer *l, double lt, const cairo_matrix_t *m)
{
    cairo_surface_t *s = cairo_get_group_target(d->cr);
    double dx = 0, dy = 0;

    if (!s || cairo_surface_get_type(s) != CAIRO_SURFACE_TYPE_IMAGE)
        return;
    cairo_surface_get_device_offset(s, &dx, &dy);
    /* Layer space -> the group surface's pixels. */
    cairo_matrix_t to_surface = *m, off;
    cairo_matrix_init_translate(&off, dx, dy);
    to_surface = mul(&to_surface, &off);
    for (int i = 0; i < l->neffects; i++) {
        const lt_effect *e = &l->effects[i];
        lt_fx_kind kind = lt_fx_kind_of(e->type, e->match);
        lt_fx_value vals[32];
        lt_fx fx;
        if (e->enabled && e->type == LT_EFFECT_STROKE)
            stroke_effect(d, l, e, lt, m);
        if (!e->enabled || kind == LT_FX_NONE)
            continue;
        int n = effect_values(d, e, lt, vals);
        if (lt_fx_from_values(&fx, kind, vals, (size_t)n, NULL) == FW_OK)
            lt_fx_apply(&fx, s, &d->fx, d->scale, &to_surface, NULL);
    }
}

/* Keep a static layer's finished group for the next frames, within the memory budget. */
static void keep_pattern(lt_draw *d, lt_layer *l, cairo_pattern_t *pat, const cairo_matrix_t *base)
{
    lt_layer_cache *k = l->cache;
    cairo_surface_t *s = NULL;
    size_t bytes;

    if (cairo_pattern_get_surface(pat, &s) != CAIRO_STATUS_SUCCESS || !s ||
        cairo_surface_get_type(s) != CAIRO_SURFACE_TYPE_IMAGE)
        return;
    bytes = (size_t)cairo_image_surface_get_stride(s) * (size_t)cairo_image_surface_get_height(s);
    if (k) {
        d->cached_bytes -= k->bytes;
        if (k->pattern)
            cairo_pattern_destroy(k->pattern);
        k->pattern = NULL;
        k->bytes = 0;
    }
    if (d->cached_bytes + bytes > LT_CACHE_BUDGET)
        return;
    if (!k && !(k = l->cache = calloc(1, sizeof(*k))))
        return;
    k->pattern = cairo_pattern_reference(pat);
    k->base = *base;
    k->bytes = bytes;
    d->cached_bytes += bytes;
}

/* Is the layer one paint, which opacity can fade directly? Solids and images are; a shape layer is
 * when it has one fill or stroke (its paths go in one fill or one stroke). */
static int single_paint(lt_draw *d, const lt_layer *l, double t)
{
    if (l->type == LT_LAYER_SOLID || l->type == LT_LAYER_IMAGE)
        return 1;
    if (l->type != LT_LAYER_SHAPE)
        return 0;
    collect_shapes(d, l, t);
    return d->nstyles <= 1;
}

static int same_matrix(const cairo_matrix_t *a, const cairo_matrix_t *b)
{
    return a->xx == b->xx && a->yx == b->yx && a->xy == b->xy && a->yy == b->yy && a->x0 == b->x0 && a->y0 == b->y0;
}

/* Pixels the layer's blur and shadow effects can move its content by, at frame lt (0: none). */
static double spread(lt_draw *d, const lt_layer *l, double lt)
{
    double total = 0;

    for (int i = 0; i < l->neffects; i++) {
        const lt_effect *e = &l->effects[i];
        lt_fx_kind kind = lt_fx_kind_of(e->type, e->match);
        lt_fx_value vals[32];
        lt_fx fx;
        if (!e->enabled || (kind != LT_FX_GAUSSIAN_BLUR && kind != LT_FX_DROP_SHADOW))
            continue;
        int n = effect_values(d, e, lt, vals);
        if (lt_fx_from_values(&fx, kind, vals, (size_t)n, NULL) == FW_OK)
            total += lt_fx_spread(&fx, d->scale) + 2;
    }
    return total;
}

static void draw_layer(lt_draw *d, lt_comp *c, lt_layer *l, double t, const cairo_matrix_t *base, int as_matte)
{
    cairo_t *cr = d->cr;
    cairo_matrix_t lm, m, id;
    double opacity;
    int masks, matte, effects, grouped, keep, unknown = 1;
    lt_layer_cache *cache = l->cache;
    lt_box box;

    if ((l->hidden && !as_matte) || t < l->ip || t >= l->op)
        return;
    if (l->type != LT_LAYER_PRECOMP && l->type != LT_LAYER_SOLID && l->type != LT_LAYER_IMAGE &&
        l->type != LT_LAYER_SHAPE && l->type != LT_LAYER_TEXT)
        return;
    if (d->depth > LT_MAX_NESTING)
        return;
    opacity = clamp01(lt_prop_scalar(d->doc, &l->ks.o, t) / 100);
    if (!(opacity > 0))
        return;
    cairo_matrix_init_identity(&id);
    masks = 0;
    for (int i = 0; i < l->nmasks; i++)
        masks |= l->masks[i].mode != 'n'; /* "none" masks only carry paths (for effects) */
    matte = l->matte_mode && l->matte && !as_matte;
    /* A layer that looks the same on every frame is drawn once and its pixels kept. */
    keep = l->static_tree && (!matte || l->matte->static_tree) && !(cache && cache->misses > 2 && !cache->hits);
    if (keep && cache && cache->pattern && !same_matrix(&cache->base, base))
        cache->misses++;
    if (keep && cache && cache->pattern && same_matrix(&cache->base, base)) {
        cache->hits++;
        cairo_save(cr);
        cairo_set_matrix(cr, &id);
        cairo_set_source(cr, cache->pattern);
        cairo_set_operator(cr, blend_operator(l->blend));
        cairo_paint_with_alpha(cr, opacity);
        cairo_restore(cr);
        return;
    }
    layer_matrix(d->doc, l, t, &lm);
    m = mul(&lm, base);
    if (!matrix_ok(&m))
        return;
    effects = has_effects(l);
    grouped = masks || matte || effects || l->blend != 0 || opacity < 1 || keep;
    d->depth++;
    cairo_save(cr);
    if (grouped && !masks && !matte && !effects && !l->blend && !keep && single_paint(d, l, t)) {
        /* Partial opacity over one paint needs no group: nothing in the layer overlaps itself. */
        d->alpha = opacity;
        draw_content(d, l, t, &m);
        d->alpha = 1;
        cairo_restore(cr);
        d->depth--;
        return;
    }
    if (!grouped) {
        draw_content(d, l, t, &m);
        cairo_restore(cr);
        d->depth--;
        return;
    }
    /* Groups only as large as what the layer can paint. */
    box = layer_box(d, l, t, &m, &unknown);
    if (!unknown) {
        double cx0, cy0, cx1, cy1, grow = effects ? spread(d, l, t) : 0;
        /* Room for what blur and shadow spread beyond the content. */
        box.x0 -= grow, box.y0 -= grow, box.x1 += grow, box.y1 += grow;
        cairo_set_matrix(cr, &id);
        cairo_clip_extents(cr, &cx0, &cy0, &cx1, &cy1);
        box.x0 = fmax(floor(box.x0), cx0), box.y0 = fmax(floor(box.y0), cy0);
        box.x1 = fmin(ceil(box.x1), cx1), box.y1 = fmin(ceil(box.y1), cy1);
        if (!(box.x1 > box.x0 && box.y1 > box.y0)) {
            d->collected = NULL;
            cairo_restore(cr);
            d->depth--;
            return;
        }
        cairo_rectangle(cr, box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
        cairo_clip(cr);
    }
    cairo_identity_matrix(cr);
    cairo_push_group(cr);
    if (masks) {
        cairo_pattern_t *content, *mask;
        cairo_identity_matrix(cr);
        cairo_push_group(cr);
        draw_content(d, l, t, &m);
        cairo_identity_matrix(cr);
        content = cairo_pop_group(cr);
        mask = mask_pattern(d, l, t, &m);
        cairo_set_matrix(cr, &id);
        cairo_set_source(cr, content);
        cairo_mask(cr, mask);
        cairo_pattern_destroy(mask);
        cairo_pattern_destroy(content);
    } else {
        draw_content(d, l, t, &m);
    }
    if (effects)
        apply_effects(d, l, t, &m);
    cairo_identity_matrix(cr);
    cairo_pattern_t *pat = cairo_pop_group(cr);
    if (matte) {
        cairo_pattern_t *mp = matte_pattern(d, c, l, t, base);
        cairo_identity_matrix(cr);
        cairo_push_group(cr);
        cairo_set_matrix(cr, &id);
        cairo_set_source(cr, pat);
        cairo_mask(cr, mp);
        cairo_pattern_destroy(mp);
        cairo_pattern_destroy(pat);
        cairo_identity_matrix(cr);
        pat = cairo_pop_group(cr);
    }
    if (keep)
        keep_pattern(d, l, pat, base);
    cairo_set_matrix(cr, &id);
    cairo_set_source(cr, pat);
    cairo_set_operator(cr, blend_operator(l->blend));
    cairo_paint_with_alpha(cr, opacity);
    cairo_pattern_destroy(pat);
    cairo_restore(cr);
    d->depth--;
}

static void draw_comp(lt_draw *d, lt_comp *c, double t, const cairo_matrix_t *base)
{
    for (int i = c->nlayers - 1; i >= 0; i--) {
        lt_layer *l = &c->layers[i];
        if (l->is_matte)
            continue;
        draw_layer(d, c, l, t, base, 0);
    }
}

/* ---- static layers -------------------------------------------------------------------------- */

static int prop_static(const lt_prop *p)
{
    return p->nkeys == 0 && !p->expr;
}

static int path_static(const lt_path_prop *p)
{
    return p->nkeys == 0 && !p->expr;
}

static int transform_static(const lt_transform *tr)
{
    return prop_static(&tr->a) && prop_static(&tr->p) && prop_static(&tr->px) && prop_static(&tr->py) &&
           prop_static(&tr->s) && prop_static(&tr->r) && prop_static(&tr->o) && prop_static(&tr->sk) &&
           prop_static(&tr->sa) && prop_static(&tr->so) && prop_static(&tr->eo);
}

static int shapes_static(const lt_shape *items, int n, int depth)
{
    if (depth > LT_MAX_NESTING * 4)
        return 0;
    for (int i = 0; i < n; i++) {
        const lt_shape *s = &items[i];
        const lt_prop *props[] = {&s->p, &s->s, &s->r, &s->or_, &s->ir, &s->os, &s->is, &s->pt, &s->c, &s->o,
                                  &s->w, &s->gs, &s->ge, &s->gh, &s->ga, &s->g, &s->ts, &s->te, &s->to,
                                  &s->copies, &s->offset};
        for (size_t k = 0; k < sizeof(props) / sizeof(props[0]); k++)
            if (props[k]->dims && !prop_static(props[k]))
                return 0;
        for (int k = 0; k < s->ndashes; k++)
            if (!prop_static(&s->dashes[k].v))
                return 0;
        if (!path_static(&s->path) || !transform_static(&s->tr) ||
            (s->type == LT_SH_GROUP && !shapes_static(s->items, s->nitems, depth + 1)))
            return 0;
    }
    return 1;
}

static int comp_static(lt_comp *c, double from, double to, int depth);

/* Does the layer look the same on every frame it is visible? (Its matte is checked when drawing.) */
static int layer_static(lt_layer *l, int depth)
{
    int guard = 0;

    if (depth > LT_MAX_NESTING)
        return 0;
    for (const lt_layer *p = l; p && guard < 256; p = p->parent, guard++)
        if (!transform_static(&p->ks))
            return 0;
    if (l->auto_orient)
        return 0;
    for (int i = 0; i < l->nmasks; i++)
        if (!path_static(&l->masks[i].path) || !prop_static(&l->masks[i].o) || !prop_static(&l->masks[i].x))
            return 0;
    for (int i = 0; i < l->neffects; i++)
        for (int k = 0; k < l->effects[i].nvalues; k++)
            if (!prop_static(&l->effects[i].values[k].v))
                return 0;
    switch (l->type) {
    case LT_LAYER_SOLID:
        return 1;
    case LT_LAYER_SHAPE:
        return shapes_static(l->shapes, l->nshapes, 0);
    case LT_LAYER_TEXT: {
        const json_t *k = json_object_get(json_object_get(l->text_json, "d"), "k");
        return json_array_size(k) <= 1 && json_array_size(json_object_get(l->text_json, "a")) == 0;
    }
    case LT_LAYER_PRECOMP:
        if (!l->comp || l->has_time_remap || l->comp->visiting)
            return 0;
        return comp_static(l->comp, (l->ip - l->st) / l->sr, (l->op - l->st) / l->sr, depth + 1);
    default:
        /* Images may be given new pixels by the caller at any frame. */
        return 0;
    }
}

/* Every layer of c is static and visible (or not) throughout inner frames from..to. */
static int comp_static(lt_comp *c, double from, double to, int depth)
{
    int ok = 1;

    c->visiting = 1;
    for (int i = 0; i < c->nlayers && ok; i++) {
        lt_layer *l = &c->layers[i];
        int always = l->ip <= from && l->op >= to, never = l->op <= from || l->ip >= to;
        if (l->hidden || never)
            continue;
        ok = always && layer_static(l, depth) && (!l->matte_mode || !l->matte || layer_static(l->matte, depth));
    }
    c->visiting = 0;
    return ok;
}

static void mark_static(lt_comp *c)
{
    for (int i = 0; i < c->nlayers; i++)
        c->layers[i].static_tree = layer_static(&c->layers[i], 0);
}

static void drop_caches(lt_draw *d, lt_comp *c)
{
    for (int i = 0; i < c->nlayers; i++) {
        lt_layer_cache *k = c->layers[i].cache;
        if (!k)
            continue;
        if (k->pattern)
            cairo_pattern_destroy(k->pattern);
        d->cached_bytes -= k->bytes;
        free(k);
        c->layers[i].cache = NULL;
    }
}

static void drop_all_caches(lt_draw *d)
{
    drop_caches(d, &d->doc->root);
    for (int i = 0; i < d->doc->ncomps; i++)
        drop_caches(d, &d->doc->comps[i]);
}

/* ---- the object ----------------------------------------------------------------------------- */

fw_err lt_draw_new(lt_draw **out, lt_doc *doc, fw_error *err)
{
    lt_draw *d = calloc(1, sizeof(*d));

    *out = NULL;
    if (!d)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory preparing the renderer");
    d->doc = doc;
    d->alpha = 1;
    lt_path_init(&d->scratch);
    lt_path_init(&d->scratch2);
    lt_fx_scratch_init(&d->fx);
    for (int i = 0; i < doc->nimages; i++)
        lt_image_load(doc, &doc->images[i], doc->resource_dir);
    mark_static(&doc->root);
    for (int i = 0; i < doc->ncomps; i++)
        mark_static(&doc->comps[i]);
    *out = d;
    return FW_OK;
}

void lt_draw_free(lt_draw **dp)
{
    lt_draw *d;

    if (!dp || !*dp)
        return;
    d = *dp;
    drop_all_caches(d);
    if (d->cr)
        cairo_destroy(d->cr);
    if (d->surface)
        cairo_surface_destroy(d->surface);
    for (int i = 0; i < d->elems_cap; i++)
        lt_path_release(&d->elems[i].path);
    free(d->elems);
    free(d->styles);
    for (int i = 0; i < d->scratch_cap; i++)
        lt_path_release(&d->scratch_out[i]);
    free(d->scratch_in);
    free(d->scratch_out);
    free(d->in_ptrs);
    free(d->out_ptrs);
    free(d->grad_px);
    lt_path_release(&d->scratch);
    lt_path_release(&d->scratch2);
    lt_fx_scratch_release(&d->fx);
    for (int i = 0; i < d->doc->nimages; i++)
        lt_image_unload(&d->doc->images[i]);
    free(d);
    *dp = NULL;
}

fw_err lt_draw_frame(lt_draw *d, double frame, uint32_t *pixels, int width, int height, size_t stride,
                     fw_error *err)
{
    cairo_matrix_t base;

    if (width <= 0 || height <= 0 || stride < (size_t)width * 4 || stride > INT32_MAX)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "bad frame buffer %dx%d stride %zu", width, height, stride);
    if (!d->surface || d->pixels != pixels || d->width != width || d->height != height || d->stride != stride) {
        if (d->cr)
            cairo_destroy(d->cr);
        if (d->surface)
            cairo_surface_destroy(d->surface);
        d->surface = cairo_image_surface_create_for_data((unsigned char *)pixels, CAIRO_FORMAT_ARGB32, width, height,
                                                         (int)stride);
        d->cr = cairo_create(d->surface);
        if (d->width != width || d->height != height)
            drop_all_caches(d);
        d->pixels = pixels;
        d->width = width;
        d->height = height;
        d->stride = stride;
    }
    if (cairo_status(d->cr) != CAIRO_STATUS_SUCCESS) {
        /* A context left in error by a previous frame is made anew. */
        cairo_destroy(d->cr);
        d->cr = cairo_create(d->surface);
        if (cairo_status(d->cr) != CAIRO_STATUS_SUCCESS)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "cannot draw: %s", cairo_status_to_string(cairo_status(d->cr)));
    }
    cairo_save(d->cr);
    cairo_set_operator(d->cr, CAIRO_OPERATOR_CLEAR);
    cairo_paint(d->cr);
    cairo_set_operator(d->cr, CAIRO_OPERATOR_OVER);
    cairo_matrix_init_scale(&base, width / d->doc->w, height / d->doc->h);
    d->scale = sqrt(fabs(base.xx * base.yy));
    d->depth = 0;
    d->footage_rc = FW_OK;
    draw_comp(d, &d->doc->root, d->doc->ip + frame, &base);
    cairo_restore(d->cr);
    cairo_surface_flush(d->surface);
    if (d->footage_rc) {
        if (err)
            *err = d->footage_err;
        return d->footage_rc;
    }
    if (cairo_status(d->cr) != CAIRO_STATUS_SUCCESS)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "drawing failed: %s", cairo_status_to_string(cairo_status(d->cr)));
    return FW_OK;
}

fw_err lt_draw_set_footage(lt_draw *d, const char *id, lt_picture_fn picture, void *user, fw_error *err)
{
    for (int i = 0; i < d->doc->nimages; i++) {
        lt_image *im = &d->doc->images[i];
        if (im->id && strcmp(im->id, id) == 0) {
            lt_image_unload(im);
            im->footage = 1;
            im->picture = picture;
            im->picture_user = user;
            return FW_OK;
        }
    }
    return fw_error_set(err, FW_ERR_NOT_FOUND, "assets", "the document has no image asset '%s'", id);
}

fw_err lt_draw_set_image(lt_draw *d, const char *id, const uint32_t *pixels, int width, int height, size_t stride,
                         fw_error *err)
{
    for (int i = 0; i < d->doc->nimages; i++) {
        lt_image *im = &d->doc->images[i];
        if (im->id && strcmp(im->id, id) == 0) {
            drop_all_caches(d);
            return lt_image_set_pixels(im, pixels, width, height, stride, err);
        }
    }
    return fw_error_set(err, FW_ERR_NOT_FOUND, "assets", "the document has no image asset '%s'", id);
}
