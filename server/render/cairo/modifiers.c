/*
 * modifiers.c - trim paths, round corners, offset paths, pucker & bloat and
 * zig-zag, as lottie-web computes them.
 *
 * lottie-web holds a contour as vertices, each with an in and an out handle;
 * our paths hold segments. The modifiers think in lottie-web's vertices, so
 * this file reads a contour through a vertex view (vertex k, its handles) and
 * writes through an emitter that turns vertices back into segments. A closed
 * contour of n segments is n vertices, the last segment being the closing
 * one; the emitter always writes that closing segment as a cubic, so vertex
 * counts survive a round trip and chained modifiers see what lottie-web sees.
 *
 * Fidelity over elegance: lottie-web's quirks that change pixels are kept (a
 * trim end within the first 1/149 of a segment snaps to its start, the offset
 * of a zero-length edge goes to +x, an open contour's zig-zag takes its first
 * vertex as the last one's neighbour). Quirks that only leave zero-length
 * segments behind are not.
 */
#include "server/render/cairo/modifiers.h"

#include <math.h>
#include <string.h>

#define ROUND_CORNER 0.5519 /* lottie-web's "roundCorner" handle ratio */

static lt_pt pt(double x, double y)
{
    lt_pt r = {x, y};
    return r;
}

static int pt_same(lt_pt a, lt_pt b)
{
    return a.x == b.x && a.y == b.y;
}

static double pt_dist(lt_pt a, lt_pt b)
{
    return hypot(a.x - b.x, a.y - b.y);
}

/* Starts out for a modifier; returns 0 when there is nothing to do because an
 * input ran out of memory (out is then marked too). */
static int begin_output(lt_path *out, const lt_path *in)
{
    lt_path_clear(out);
    if (in->oom) {
        out->oom = 1;
        return 0;
    }
    return 1;
}

/* ---- Vertex view and emitter ---- */

typedef struct vview {
    const lt_pt *b; /* the contour's points */
    size_t nseg;
    size_t n; /* vertices */
    int closed;
} vview;

static vview view_of(const lt_path *p, size_t contour)
{
    const lt_contour *c = &p->contours[contour];
    vview w;
    w.b = lt_contour_pts(p, c);
    w.nseg = c->segments;
    w.closed = c->closed;
    w.n = c->closed ? (c->segments ? c->segments : 1) : c->segments + 1;
    return w;
}

static lt_pt view_v(const vview *w, size_t k)
{
    return w->b[3 * k];
}

static lt_pt view_out(const vview *w, size_t k)
{
    return k < w->nseg ? w->b[3 * k + 1] : w->b[3 * k];
}

static lt_pt view_in(const vview *w, size_t k)
{
    if (k > 0)
        return w->b[3 * k - 1];
    if (w->closed && w->nseg)
        return w->b[3 * w->nseg - 1];
    return w->b[0];
}

typedef struct emitter {
    lt_path *p;
    size_t n;
    lt_pt first_v, first_in, last_out;
} emitter;

static void emit_begin(emitter *e, lt_path *p)
{
    memset(e, 0, sizeof(*e));
    e->p = p;
}

static void emit_vertex(emitter *e, lt_pt v, lt_pt in, lt_pt out)
{
    if (e->n == 0) {
        lt_path_move_to(e->p, v);
        e->first_v = v;
        e->first_in = in;
    } else {
        lt_path_cubic_to(e->p, e->last_out, in, v);
    }
    e->last_out = out;
    e->n++;
}

static void emit_set_last_out(emitter *e, lt_pt out)
{
    if (e->n)
        e->last_out = out;
}

static void emit_end(emitter *e, int closed)
{
    if (e->n && closed) {
        lt_path_cubic_to(e->p, e->last_out, e->first_in, e->first_v);
        lt_path_close(e->p);
    }
    e->n = 0;
}

/* ---- Trim paths ---- */

typedef struct trim_shape {
    const lt_path *in;
    size_t c0, nc; /* its contours */
    lt_path *out;
} trim_shape;

static double shape_length(const trim_shape *sh)
{
    double total = 0;
    size_t i;
    for (i = 0; i < sh->nc; i++)
        total += lt_contour_length(sh->in, sh->c0 + i);
    return total;
}

/* One trimmed piece being written into out. */
typedef struct piece {
    lt_path *out;
    int started;
    int closed; /* still the whole contour */
} piece;

static void piece_add(piece *pc, const lt_pt seg[4])
{
    if (!pc->started) {
        lt_path_move_to(pc->out, seg[0]);
        pc->started = 1;
    } else if (!pt_same(pc->out->pts[pc->out->npts - 1], seg[0])) {
        lt_path_line_to(pc->out, seg[0]); /* a wrapped piece crossing to the first contour */
    }
    lt_path_cubic_to(pc->out, seg[1], seg[2], seg[3]);
}

/* The part of seg between fractions from and to of its length, cut where
 * lottie-web cuts (bez.getNewSegment). */
static void piece_add_part(piece *pc, const lt_pt seg[4], double len, double from, double to)
{
    lt_pt part[4];
    if (!(len > 0)) {
        piece_add(pc, seg);
        return;
    }
    from = from < 0 ? 0 : from > 1 ? 1 : from;
    to = to > 1 ? 1 : to;
    lt_cubic_sub(seg, lt_cubic_t_at_fraction(seg, from), lt_cubic_t_at_fraction(seg, to), part);
    piece_add(pc, part);
    pc->closed = 0;
}

/* Writes the pieces of the shape between lengths s and e (lottie-web's
 * addShapes). With carry_on, the first piece continues out's last contour
 * (the wrapped end of a closed shape). Returns 1 when the last contour
 * visited left an open, non-empty piece as out's last contour. */
static int trim_walk(const trim_shape *sh, double s, double e, int carry_on)
{
    double added = 0;
    size_t ci, k;
    int open_end = 0;

    for (ci = 0; ci < sh->nc; ci++) {
        const lt_contour *c = &sh->in->contours[sh->c0 + ci];
        const lt_pt *b = lt_contour_pts(sh->in, c);
        size_t loop = c->closed && c->segments ? c->segments - 1 : c->segments;
        piece pc = {sh->out, ci == 0 && carry_on, c->closed};
        int stop = 0;

        for (k = 0; k < loop; k++) {
            const lt_pt *seg = b + 3 * k;
            double len = lt_cubic_length(seg);
            if (added + len < s) {
                added += len;
                pc.closed = 0;
                continue;
            }
            if (added > e) {
                pc.closed = 0;
                stop = 1;
                break;
            }
            if (s <= added && e >= added + len)
                piece_add(&pc, seg);
            else
                piece_add_part(&pc, seg, len, (s - added) / len, (e - added) / len);
            added += len;
        }
        /* lottie-web takes the closing segment whenever it starts before e,
         * even when it ends before s (leaving a point there). */
        if (!stop && c->closed && c->segments) {
            const lt_pt *seg = b + 3 * (c->segments - 1);
            double len = lt_cubic_length(seg);
            if (added <= e) {
                if (s <= added && e >= added + len)
                    piece_add(&pc, seg);
                else
                    piece_add_part(&pc, seg, len, (s - added) / len, (e - added) / len);
            } else {
                pc.closed = 0;
            }
            added += len;
        }
        if (pc.started && pc.closed && !(ci == 0 && carry_on))
            lt_path_close(sh->out);
        open_end = pc.started && !(pc.closed && !(ci == 0 && carry_on));
        if (stop || added > e)
            break;
    }
    return open_end;
}

/* Trims one shape of length len to the fractions [fs, fe] of it, fe possibly
 * past 1 (wrapping to the start). */
static void trim_shape_range(const trim_shape *sh, double len, double fs, double fe)
{
    double s0, e0, s1 = 0, e1 = 0;
    int two = 0, open_end;
    const lt_contour *last;

    if (fe <= 1) {
        s0 = len * fs;
        e0 = len * fe;
    } else if (fs >= 1) {
        s0 = len * (fs - 1);
        e0 = len * (fe - 1);
    } else {
        s0 = len * fs;
        e0 = len;
        e1 = len * (fe - 1);
        two = 1;
    }
    if (s0 == e0 || !sh->nc)
        return;
    open_end = trim_walk(sh, s0, e0, 0);
    if (!two)
        return;
    last = &sh->in->contours[sh->c0 + sh->nc - 1];
    trim_walk(sh, s1, e1, last->closed && open_end);
}

/* A shape's share of a trim over several shapes laid end to end (lottie-web's
 * calculateShapeEdges): up to two ranges of the shape, as fractions. */
static int shape_edges(double s, double e, double len, double before, double total, double edges[2][2])
{
    double ranges[2][2];
    int nr = 0, n = 0, i;
    if (e <= 1) {
        ranges[nr][0] = s, ranges[nr++][1] = e;
    } else if (s >= 1) {
        ranges[nr][0] = s - 1, ranges[nr++][1] = e - 1;
    } else {
        ranges[nr][0] = s, ranges[nr++][1] = 1;
        ranges[nr][0] = 0, ranges[nr++][1] = e - 1;
    }
    for (i = 0; i < nr; i++) {
        double rs = ranges[i][0] * total, re = ranges[i][1] * total;
        if (re < before || rs > before + len)
            continue;
        edges[n][0] = rs <= before ? 0 : (rs - before) / len;
        edges[n][1] = re >= before + len ? 1 : (re - before) / len;
        n++;
    }
    if (!n) {
        edges[0][0] = edges[0][1] = 0;
        n = 1;
    }
    return n;
}

/* start, end (percent) and offset (degrees) to lottie-web's s <= e. */
static void trim_range(double start, double end, double offset, double *s, double *e)
{
    double o = fmod(offset, 360) / 360;
    double a = start / 100, b = end / 100;
    if (!isfinite(o))
        o = 0;
    if (o < 0)
        o += 1;
    a = a > 1 ? 1 : a > 0 ? a : 0; /* NaN becomes 0 */
    b = b > 1 ? 1 : b > 0 ? b : 0;
    a += o;
    b += o;
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    *s = floor(a * 10000 + 0.5) * 0.0001;
    *e = floor(b * 10000 + 0.5) * 0.0001;
}

/* The shapes of a trim: each contour of one path, or each path whole. */
typedef struct trim_set {
    lt_path *const *outs;
    const lt_path *const *ins;
    size_t n;
    int per_contour;
} trim_set;

static trim_shape shape_at(const trim_set *set, size_t i)
{
    trim_shape sh;
    if (set->per_contour) {
        sh.in = set->ins[0];
        sh.out = set->outs[0];
        sh.c0 = i;
        sh.nc = 1;
    } else {
        sh.in = set->ins[i];
        sh.out = set->outs[i];
        sh.c0 = 0;
        sh.nc = sh.in->ncontours;
    }
    return sh;
}

static void trim_run(const trim_set *set, double start, double end, double offset, int individually)
{
    double s, e, total = 0, before = 0;
    size_t i, count = set->per_contour ? set->ins[0]->ncontours : set->n;
    int oom = 0;

    for (i = 0; i < (set->per_contour ? 1 : set->n); i++) {
        if (!begin_output(set->outs[i], set->ins[i]))
            oom = 1;
    }
    if (oom && set->per_contour)
        return;
    trim_range(start, end, offset, &s, &e);
    if (e == s)
        return;
    if (s == 0 && e == 1) {
        for (i = 0; i < (set->per_contour ? 1 : set->n); i++)
            lt_path_append(set->outs[i], set->ins[i], NULL);
        return;
    }
    if (individually && count > 1) {
        for (i = 0; i < count; i++) {
            trim_shape sh = shape_at(set, i);
            if (!sh.in->oom)
                total += shape_length(&sh);
        }
    }
    for (i = 0; i < count; i++) {
        trim_shape sh = shape_at(set, i);
        double len, edges[2][2];
        int n = 1, j;
        if (sh.in->oom)
            continue;
        len = shape_length(&sh);
        if (individually && count > 1) {
            n = shape_edges(s, e, len, before, total, edges);
            before += len;
        } else {
            edges[0][0] = s;
            edges[0][1] = e;
        }
        for (j = 0; j < n; j++)
            trim_shape_range(&sh, len, edges[j][0], edges[j][1]);
    }
}

void lt_trim(lt_path *out, const lt_path *in, double start, double end, double offset, int individually)
{
    trim_set set = {&out, &in, 1, 1};
    trim_run(&set, start, end, offset, individually);
}

void lt_trim_paths(lt_path *const out[], const lt_path *const in[], size_t n, double start, double end,
                   double offset, int individually)
{
    trim_set set = {out, in, n, 0};
    if (n)
        trim_run(&set, start, end, offset, individually);
}

/* ---- Round corners ---- */

void lt_round_corners(lt_path *out, const lt_path *in, double radius)
{
    size_t ci, k;
    emitter em;
    if (!begin_output(out, in))
        return;
    if (radius == 0 || isnan(radius)) {
        lt_path_append(out, in, NULL);
        return;
    }
    emit_begin(&em, out);
    for (ci = 0; ci < in->ncontours; ci++) {
        vview w = view_of(in, ci);
        for (k = 0; k < w.n; k++) {
            lt_pt v = view_v(&w, k), o = view_out(&w, k), i = view_in(&w, k);
            lt_pt near, nv;
            double d, share;
            if (!pt_same(v, o) || !pt_same(v, i) || (!w.closed && (k == 0 || k == w.n - 1))) {
                emit_vertex(&em, v, i, o);
                continue;
            }
            /* Towards the previous vertex, then towards the next. */
            near = view_v(&w, k == 0 ? w.n - 1 : k - 1);
            d = pt_dist(v, near);
            share = d ? fmin(d / 2, radius) / d : 0;
            nv = pt(v.x + (near.x - v.x) * share, v.y + (near.y - v.y) * share);
            emit_vertex(&em, nv, nv, pt(nv.x - (nv.x - v.x) * ROUND_CORNER, nv.y - (nv.y - v.y) * ROUND_CORNER));

            near = view_v(&w, k == w.n - 1 ? 0 : k + 1);
            d = pt_dist(v, near);
            share = d ? fmin(d / 2, radius) / d : 0;
            nv = pt(v.x + (near.x - v.x) * share, v.y + (near.y - v.y) * share);
            emit_vertex(&em, nv, pt(nv.x - (nv.x - v.x) * ROUND_CORNER, nv.y - (nv.y - v.y) * ROUND_CORNER), nv);
        }
        emit_end(&em, w.closed);
    }
}

/* ---- Pucker & bloat ---- */

void lt_pucker_bloat(lt_path *out, const lt_path *in, double amount)
{
    double f = amount / 100;
    size_t ci, k;
    emitter em;
    if (!begin_output(out, in))
        return;
    if (amount == 0 || !isfinite(amount)) {
        lt_path_append(out, in, NULL);
        return;
    }
    emit_begin(&em, out);
    for (ci = 0; ci < in->ncontours; ci++) {
        vview w = view_of(in, ci);
        lt_pt c = {0, 0};
        for (k = 0; k < w.n; k++) {
            c.x += view_v(&w, k).x;
            c.y += view_v(&w, k).y;
        }
        c.x /= (double)w.n;
        c.y /= (double)w.n;
        for (k = 0; k < w.n; k++) {
            lt_pt v = view_v(&w, k), o = view_out(&w, k), i = view_in(&w, k);
            emit_vertex(&em, pt(v.x + (c.x - v.x) * f, v.y + (c.y - v.y) * f),
                        pt(i.x - (c.x - i.x) * f, i.y - (c.y - i.y) * f),
                        pt(o.x - (c.x - o.x) * f, o.y - (c.y - o.y) * f));
        }
        emit_end(&em, w.closed);
    }
}

/* ---- lottie-web's PolynomialBezier, for zig-zag and offset paths ---- */

typedef struct pbez {
    lt_pt p[4];
} pbez;

/* lottie-web's tolerant equality: relative, and exact near zero. */
static int float_equal(double a, double b)
{
    return fabs(a - b) * 100000 <= fmin(fabs(a), fabs(b));
}

static int float_zero(double f)
{
    return fabs(f) <= 0.00001;
}

static int point_equal(lt_pt a, lt_pt b)
{
    return float_equal(a.x, b.x) && float_equal(a.y, b.y);
}

static lt_pt lerp_pt(lt_pt a, lt_pt b, double t)
{
    return pt(a.x * (1 - t) + b.x * t, a.y * (1 - t) + b.y * t);
}

/* With linearize, a handle lying on its vertex moves a third of the way
 * along the chord, so straight segments are evenly parameterised. */
static pbez pbez_make(lt_pt p0, lt_pt p1, lt_pt p2, lt_pt p3, int linearize)
{
    pbez z;
    if (linearize && point_equal(p0, p1))
        p1 = lerp_pt(p0, p3, 1.0 / 3);
    if (linearize && point_equal(p2, p3))
        p2 = lerp_pt(p0, p3, 2.0 / 3);
    z.p[0] = p0;
    z.p[1] = p1;
    z.p[2] = p2;
    z.p[3] = p3;
    return z;
}

static void pbez_coeffs(const pbez *z, lt_pt *a, lt_pt *b, lt_pt *c)
{
    const lt_pt *p = z->p;
    *a = pt(-p[0].x + 3 * p[1].x - 3 * p[2].x + p[3].x, -p[0].y + 3 * p[1].y - 3 * p[2].y + p[3].y);
    *b = pt(3 * p[0].x - 6 * p[1].x + 3 * p[2].x, 3 * p[0].y - 6 * p[1].y + 3 * p[2].y);
    *c = pt(-3 * p[0].x + 3 * p[1].x, -3 * p[0].y + 3 * p[1].y);
}

static lt_pt pbez_point(const pbez *z, double t)
{
    lt_pt a, b, c;
    pbez_coeffs(z, &a, &b, &c);
    return pt(((a.x * t + b.x) * t + c.x) * t + z->p[0].x, ((a.y * t + b.y) * t + c.y) * t + z->p[0].y);
}

static lt_pt pbez_derivative(const pbez *z, double t)
{
    lt_pt a, b, c;
    pbez_coeffs(z, &a, &b, &c);
    return pt((3 * t * a.x + 2 * b.x) * t + c.x, (3 * t * a.y + 2 * b.y) * t + c.y);
}

static double pbez_tangent_angle(const pbez *z, double t)
{
    lt_pt d = pbez_derivative(z, t);
    return atan2(d.y, d.x);
}

static double pbez_normal_angle(const pbez *z, double t)
{
    lt_pt d = pbez_derivative(z, t);
    return atan2(d.x, d.y);
}

static pbez pbez_single(lt_pt p)
{
    return pbez_make(p, p, p, p, 0);
}

static void pbez_split(const pbez *z, double t, pbez *left, pbez *right)
{
    lt_pt p10, p11, p12, p20, p21, p3;
    pbez src = *z; /* left or right may be z */
    if (t <= 0) {
        *left = pbez_single(src.p[0]);
        *right = src;
        return;
    }
    if (t >= 1) {
        *left = src;
        *right = pbez_single(src.p[3]);
        return;
    }
    p10 = lerp_pt(src.p[0], src.p[1], t);
    p11 = lerp_pt(src.p[1], src.p[2], t);
    p12 = lerp_pt(src.p[2], src.p[3], t);
    p20 = lerp_pt(p10, p11, t);
    p21 = lerp_pt(p11, p12, t);
    p3 = lerp_pt(p20, p21, t);
    *left = pbez_make(src.p[0], p10, p20, p3, 1);
    *right = pbez_make(p3, p21, p12, src.p[3], 1);
}

/* Parameters in (0, 1) where the curvature changes sign; lottie-web's test,
 * including its acceptance of a double root wherever it lies. */
static int pbez_inflections(const pbez *z, double out[2])
{
    lt_pt a, b, c;
    double denom, tcusp, square, root;
    int n = 0;
    pbez_coeffs(z, &a, &b, &c);
    denom = a.y * b.x - a.x * b.y;
    if (float_zero(denom))
        return 0;
    tcusp = (-0.5 * (a.y * c.x - a.x * c.y)) / denom;
    square = tcusp * tcusp - ((1.0 / 3) * (b.y * c.x - b.x * c.y)) / denom;
    if (!(square >= 0))
        return 0;
    root = sqrt(square);
    if (float_zero(root)) {
        if (root > 0 && root < 1) {
            out[0] = tcusp;
            return 1;
        }
        return 0;
    }
    if (tcusp - root > 0 && tcusp - root < 1)
        out[n++] = tcusp - root;
    if (tcusp + root > 0 && tcusp + root < 1)
        out[n++] = tcusp + root;
    return n;
}

static void extrema(const pbez *z, int y, double *lo, double *hi)
{
    lt_pt a, b, c;
    double ca, cb, cc, mn, mx, roots[2], s;
    int nr = 0, i;
    pbez_coeffs(z, &a, &b, &c);
    ca = 3 * (y ? a.y : a.x);
    cb = 2 * (y ? b.y : b.x);
    cc = y ? c.y : c.x;
    mn = y ? z->p[0].y : z->p[0].x;
    mx = y ? z->p[3].y : z->p[3].x;
    if (mn > mx) {
        double t = mn;
        mn = mx;
        mx = t;
    }
    if (ca != 0) {
        s = cb * cb - 4 * ca * cc;
        if (s == 0) {
            roots[nr++] = -cb / (2 * ca);
        } else if (s > 0) {
            double d = sqrt(s) / (2 * ca);
            roots[nr++] = -cb / (2 * ca) - d;
            roots[nr++] = -cb / (2 * ca) + d;
        }
    }
    for (i = 0; i < nr; i++) {
        if (roots[i] > 0 && roots[i] < 1) {
            lt_pt q = pbez_point(z, roots[i]);
            double val = y ? q.y : q.x;
            if (val < mn)
                mn = val;
            else if (val > mx)
                mx = val;
        }
    }
    *lo = mn;
    *hi = mx;
}

typedef struct isect_box {
    pbez z;
    double cx, cy, w, h, t, t1, t2;
} isect_box;

static isect_box isect_box_of(const pbez *z, double t1, double t2)
{
    isect_box d;
    double x0, x1, y0, y1;
    extrema(z, 0, &x0, &x1);
    extrema(z, 1, &y0, &y1);
    d.z = *z;
    d.cx = (x0 + x1) / 2;
    d.cy = (y0 + y1) / 2;
    d.w = x1 - x0;
    d.h = y1 - y0;
    d.t = (t1 + t2) / 2;
    d.t1 = t1;
    d.t2 = t2;
    return d;
}

/* Bounding-box subdivision to 2 px or 7 levels, depth first, stopping at the
 * first two hits (all lottie-web's offset ever looks at). */
static void isect(const isect_box *d1, const isect_box *d2, int depth, double hits[2][2], int *nhits)
{
    isect_box a[2], b[2];
    pbez l, r;
    int i, j;
    if (*nhits >= 2)
        return;
    if (!(fabs(d1->cx - d2->cx) * 2 < d1->w + d2->w && fabs(d1->cy - d2->cy) * 2 < d1->h + d2->h))
        return;
    if (depth >= 7 || (d1->w <= 2 && d1->h <= 2 && d2->w <= 2 && d2->h <= 2)) {
        hits[*nhits][0] = d1->t;
        hits[*nhits][1] = d2->t;
        (*nhits)++;
        return;
    }
    pbez_split(&d1->z, 0.5, &l, &r);
    a[0] = isect_box_of(&l, d1->t1, d1->t);
    a[1] = isect_box_of(&r, d1->t, d1->t2);
    pbez_split(&d2->z, 0.5, &l, &r);
    b[0] = isect_box_of(&l, d2->t1, d2->t);
    b[1] = isect_box_of(&r, d2->t, d2->t2);
    for (i = 0; i < 2; i++)
        for (j = 0; j < 2; j++)
            isect(&a[i], &b[j], depth + 1, hits, nhits);
}

/* The first crossing of a and b, ignoring one at the very end of a. */
static int first_intersection(const pbez *a, const pbez *b, double at[2])
{
    isect_box da = isect_box_of(a, 0, 1), db = isect_box_of(b, 0, 1);
    double hits[2][2];
    int n = 0, first = 0;
    isect(&da, &db, 0, hits, &n);
    if (n && float_equal(hits[0][0], 1))
        first = 1;
    if (first >= n)
        return 0;
    at[0] = hits[first][0];
    at[1] = hits[first][1];
    return 1;
}

static lt_pt polar_offset(lt_pt p, double angle, double length)
{
    return pt(p.x + cos(angle) * length, p.y - sin(angle) * length);
}

static int line_intersection(lt_pt s1, lt_pt e1, lt_pt s2, lt_pt e2, lt_pt *at)
{
    /* Lines through homogeneous points meet at the cross of their crosses. */
    double l1x = s1.y - e1.y, l1y = e1.x - s1.x, l1z = s1.x * e1.y - s1.y * e1.x;
    double l2x = s2.y - e2.y, l2y = e2.x - s2.x, l2z = s2.x * e2.y - s2.y * e2.x;
    double rx = l1y * l2z - l1z * l2y, ry = l1z * l2x - l1x * l2z, rz = l1x * l2y - l1y * l2x;
    if (float_zero(rz))
        return 0;
    *at = pt(rx / rz, ry / rz);
    return 1;
}

/* ---- Zig-zag ---- */

static void zigzag_point(emitter *em, lt_pt p, double angle, double direction, double amplitude, double out_len,
                         double in_len)
{
    double ao = angle - M_PI / 2, ai = angle + M_PI / 2;
    double px = p.x + cos(angle) * direction * amplitude;
    double py = p.y - sin(angle) * direction * amplitude;
    emit_vertex(em, pt(px, py), pt(px + cos(ai) * in_len, py - sin(ai) * in_len),
                pt(px + cos(ao) * out_len, py - sin(ao) * out_len));
}

static void zigzag_corner(emitter *em, const vview *w, size_t cur, double amplitude, long ridges, int smooth,
                          double direction)
{
    lt_pt point = view_v(w, cur % w->n);
    lt_pt prev = view_v(w, cur == 0 ? w->n - 1 : cur - 1);
    lt_pt next = view_v(w, (cur + 1) % w->n);
    /* The perpendicular of prev -> next, turned as lottie-web turns it. */
    double vx = next.x - prev.x, vy = next.y - prev.y, rot = -M_PI * 0.5;
    double rx = cos(rot) * vx - sin(rot) * vy, ry = sin(rot) * vx + cos(rot) * vy;
    double angle = atan2(0, 1) - atan2(ry, rx);
    double share = (double)(ridges + 1) * 2;
    double prev_len = smooth ? pt_dist(point, prev) : 0, next_len = smooth ? pt_dist(point, next) : 0;
    zigzag_point(em, point, angle, direction, amplitude, next_len / share, prev_len / share);
}

static double zigzag_segment(emitter *em, const pbez *z, double amplitude, long ridges, int smooth,
                             double direction)
{
    double share = (double)(ridges + 1) * 2;
    double len = smooth ? pt_dist(z->p[3], z->p[0]) : 0;
    long i;
    for (i = 0; i < ridges; i++) {
        double t = (double)(i + 1) / (double)(ridges + 1);
        zigzag_point(em, pbez_point(z, t), pbez_normal_angle(z, t), direction, amplitude, len / share,
                     len / share);
        direction = -direction;
    }
    return direction;
}

void lt_zig_zag(lt_path *out, const lt_path *in, double size, double ridges, int point_type)
{
    long n_ridges;
    size_t ci, k;
    emitter em;
    if (!begin_output(out, in))
        return;
    if (size == 0 || !isfinite(size) || !isfinite(ridges)) {
        lt_path_append(out, in, NULL);
        return;
    }
    n_ridges = ridges > 1000 ? 1000 : ridges > 0 ? (long)floor(ridges + 0.5) : 0;
    emit_begin(&em, out);
    for (ci = 0; ci < in->ncontours; ci++) {
        vview w = view_of(in, ci);
        size_t count = w.nseg; /* closed: n vertices; open: n - 1 */
        double direction = -1;
        if (!count)
            continue;
        zigzag_corner(&em, &w, 0, size, n_ridges, point_type == LT_ZIGZAG_SMOOTH, direction);
        for (k = 0; k < count; k++) {
            const lt_pt *b = w.b + 3 * k;
            pbez z = pbez_make(b[0], b[1], b[2], b[3], 1);
            direction = zigzag_segment(&em, &z, size, n_ridges, point_type == LT_ZIGZAG_SMOOTH, -direction);
            zigzag_corner(&em, &w, k + 1, size, n_ridges, point_type == LT_ZIGZAG_SMOOTH, direction);
        }
        emit_end(&em, w.closed);
    }
}

/* ---- Offset paths ---- */

static pbez offset_segment(const pbez *z, double amount)
{
    const lt_pt *p = z->p;
    /* Each edge of the control polygon moved along its normal. */
    double a01 = atan2(p[1].x - p[0].x, p[1].y - p[0].y);
    double a12 = atan2(p[2].x - p[1].x, p[2].y - p[1].y);
    double a23 = atan2(p[3].x - p[2].x, p[3].y - p[2].y);
    lt_pt p0 = polar_offset(p[0], a01, amount), p1a = polar_offset(p[1], a01, amount);
    lt_pt p1b = polar_offset(p[1], a12, amount), p2b = polar_offset(p[2], a12, amount);
    lt_pt p2a = polar_offset(p[2], a23, amount), p3 = polar_offset(p[3], a23, amount);
    lt_pt p1, p2;
    if (!line_intersection(p0, p1a, p1b, p2b, &p1))
        p1 = p1a;
    if (!line_intersection(p2a, p3, p1b, p2b, &p2))
        p2 = p2a;
    return pbez_make(p0, p1, p2, p3, 0);
}

/* Offsets z, split at its inflections first so each piece's control polygon
 * is convex. Returns the number of pieces (1 to 3). */
static int offset_split(const pbez *z, double amount, pbez out[3])
{
    double flex[2];
    int n = pbez_inflections(z, flex);
    pbez left, right, mid;
    if (n == 0) {
        out[0] = offset_segment(z, amount);
        return 1;
    }
    pbez_split(z, flex[0], &left, &right);
    if (n == 1 || float_equal(flex[1], 1)) {
        out[0] = offset_segment(&left, amount);
        out[1] = offset_segment(&right, amount);
        return 2;
    }
    pbez_split(&right, (flex[1] - flex[0]) / (1 - flex[0]), &mid, &right);
    out[0] = offset_segment(&left, amount);
    out[1] = offset_segment(&mid, amount);
    out[2] = offset_segment(&right, amount);
    return 3;
}

/* The offset pieces of each input segment live in scratch: entry m holds up
 * to 3 curves at pts[12 m ...], its count in contours[m].segments. */
static pbez *entry(lt_path *scratch, size_t m)
{
    return (pbez *)(void *)(scratch->pts + 12 * m);
}

/* Cuts the end of a and the start of b at their crossing (lottie-web's
 * pruneSegmentIntersection). */
static void prune_pair(lt_path *scratch, size_t ia, size_t ib)
{
    pbez *a = entry(scratch, ia), *b = entry(scratch, ib);
    size_t na = scratch->contours[ia].segments, nb = scratch->contours[ib].segments;
    pbez a_last = a[na - 1], b_first = b[0], drop;
    double at[2];
    if (first_intersection(&a[na - 1], &b[0], at)) {
        pbez_split(&a[na - 1], at[0], &a_last, &drop);
        pbez_split(&b[0], at[1], &drop, &b_first);
    }
    if (na > 1 && nb > 1 && first_intersection(&a[0], &b[nb - 1], at)) {
        pbez_split(&a[0], at[0], &a[0], &drop);
        pbez_split(&b[nb - 1], at[1], &drop, &b[0]);
        scratch->contours[ia].segments = 1;
        scratch->contours[ib].segments = 1;
        return;
    }
    a[na - 1] = a_last;
    b[0] = b_first;
}

/* Fills the gap between seg1's end and seg2's start; returns the point the
 * output now ends at. */
static lt_pt join_lines(emitter *em, const pbez *seg1, const pbez *seg2, int line_join, double miter_limit)
{
    lt_pt p0 = seg1->p[3], p1 = seg2->p[0], t0, t1, at;
    if (line_join == LT_JOIN_BEVEL || point_equal(p0, p1))
        return p0;
    if (line_join == LT_JOIN_ROUND) {
        double angle_out = -pbez_tangent_angle(seg1, 1);
        double angle_in = -pbez_tangent_angle(seg2, 0) + M_PI;
        double radius;
        lt_pt center;
        if (line_intersection(p0, polar_offset(p0, angle_out + M_PI / 2, 100), p1,
                              polar_offset(p1, angle_out + M_PI / 2, 100), &center))
            radius = pt_dist(center, p0);
        else
            radius = pt_dist(p0, p1) / 2;
        emit_set_last_out(em, polar_offset(p0, angle_out, 2 * radius * ROUND_CORNER));
        emit_vertex(em, p1, polar_offset(p1, angle_in, 2 * radius * ROUND_CORNER), p1);
        return p1;
    }
    t0 = point_equal(p0, seg1->p[2]) ? seg1->p[0] : seg1->p[2];
    t1 = point_equal(p1, seg2->p[1]) ? seg2->p[3] : seg2->p[1];
    if (line_intersection(t0, p0, p1, t1, &at) && pt_dist(at, p0) < miter_limit) {
        emit_vertex(em, at, at, at);
        return at;
    }
    return p0;
}

static void offset_contour(emitter *em, const vview *w, double amount, int line_join, double miter_limit,
                           lt_path *scratch)
{
    size_t count = w->closed ? w->nseg : 2 * w->nseg, m, j;
    lt_pt last_point = {0, 0};
    int have_last_point = 0;
    pbez last_seg;

    lt_path_clear(scratch);
    if (!count || lt_path_reserve(scratch, 12 * count, count) != 0)
        return;
    for (m = 0; m < count; m++) {
        const lt_pt *b;
        pbez z;
        if (m < w->nseg) {
            b = w->b + 3 * m;
            z = pbez_make(b[0], b[1], b[2], b[3], 1);
        } else { /* an open contour comes back along its other side */
            b = w->b + 3 * (count - 1 - m);
            z = pbez_make(b[3], b[2], b[1], b[0], 1);
        }
        scratch->contours[m].first = 12 * m;
        scratch->contours[m].closed = 0;
        scratch->contours[m].segments = (size_t)offset_split(&z, amount, entry(scratch, m));
    }
    scratch->npts = 12 * count;
    scratch->ncontours = count;

    for (m = 1; m < count; m++)
        prune_pair(scratch, m - 1, m);
    if (count > 1)
        prune_pair(scratch, count - 1, 0);

    for (m = 0; m < count; m++) {
        pbez *multi = entry(scratch, m);
        size_t n = scratch->contours[m].segments;
        if (m > 0) {
            last_point = join_lines(em, &last_seg, &multi[0], line_join, miter_limit);
            have_last_point = 1;
        }
        last_seg = multi[n - 1];
        for (j = 0; j < n; j++) {
            const lt_pt *p = multi[j].p;
            if (have_last_point && point_equal(p[0], last_point))
                emit_set_last_out(em, p[1]);
            else
                emit_vertex(em, p[0], p[0], p[1]);
            emit_vertex(em, p[3], p[2], p[3]);
            last_point = p[3];
            have_last_point = 1;
        }
    }
    join_lines(em, &last_seg, &entry(scratch, 0)[0], line_join, miter_limit);
}

void lt_offset_path(lt_path *out, const lt_path *in, double amount, int line_join, double miter_limit,
                    lt_path *scratch)
{
    size_t ci;
    emitter em;
    if (!begin_output(out, in))
        return;
    if (amount == 0 || !isfinite(amount)) {
        lt_path_append(out, in, NULL);
        return;
    }
    emit_begin(&em, out);
    for (ci = 0; ci < in->ncontours; ci++) {
        vview w = view_of(in, ci);
        offset_contour(&em, &w, amount, line_join, miter_limit, scratch);
        if (scratch->oom) {
            out->oom = 1;
            return;
        }
        emit_end(&em, w.closed);
    }
}
