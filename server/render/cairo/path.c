/*
 * path.c - growing, measuring and building the Cairo engine's Bézier paths.
 *
 * Buffers grow by doubling and are kept by lt_path_clear(), so a path reused
 * every frame stops allocating after its largest frame. An allocation that
 * fails marks the path oom and every later append is ignored: the renderer
 * then draws nothing for it rather than a half-built shape.
 *
 * Measuring follows lottie-web (player/js/utils/bez.js) on purpose: a
 * segment's length is the polyline through LT_CURVE_SAMPLES points evenly
 * spaced in t, and a fraction of that length maps back to t through the same
 * samples. A more exact arc length would move trim ends away from where the
 * reference renderer puts them.
 */
#include "server/render/cairo/path.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* lottie-web's handle length for a quarter circle ("roundCorner"). */
#define LT_ROUND_CORNER 0.5519

void lt_path_init(lt_path *p)
{
    memset(p, 0, sizeof(*p));
}

void lt_path_clear(lt_path *p)
{
    p->npts = 0;
    p->ncontours = 0;
    p->oom = 0;
}

void lt_path_release(lt_path *p)
{
    free(p->pts);
    free(p->contours);
    lt_path_init(p);
}

static int grow(void **buf, size_t *cap, size_t need, size_t item)
{
    size_t n = *cap ? *cap : 16;
    void *grown;
    while (n < need)
        n *= 2;
    grown = realloc(*buf, n * item);
    if (!grown)
        return -1;
    *buf = grown;
    *cap = n;
    return 0;
}

int lt_path_reserve(lt_path *p, size_t more_pts, size_t more_contours)
{
    if (p->oom)
        return -1;
    if (more_pts > LT_PATH_MAX_POINTS - p->npts || more_contours > LT_PATH_MAX_POINTS - p->ncontours) {
        p->oom = 1;
        return -1;
    }
    if (p->npts + more_pts > p->pts_cap &&
        grow((void **)&p->pts, &p->pts_cap, p->npts + more_pts, sizeof(lt_pt)) != 0) {
        p->oom = 1;
        return -1;
    }
    if (p->ncontours + more_contours > p->contours_cap &&
        grow((void **)&p->contours, &p->contours_cap, p->ncontours + more_contours, sizeof(lt_contour)) != 0) {
        p->oom = 1;
        return -1;
    }
    return 0;
}

/* The contour being drawn, or NULL when a new one must start (none yet, or
 * the last one was closed). */
static lt_contour *open_contour(lt_path *p)
{
    lt_contour *c;
    if (!p->ncontours)
        return NULL;
    c = &p->contours[p->ncontours - 1];
    return c->closed ? NULL : c;
}

void lt_path_move_to(lt_path *p, lt_pt pt)
{
    lt_contour *c;
    if (lt_path_reserve(p, 1, 1) != 0)
        return;
    c = &p->contours[p->ncontours++];
    c->first = p->npts;
    c->segments = 0;
    c->closed = 0;
    p->pts[p->npts++] = pt;
}

/* Like Cairo: drawing with no current point starts a contour; drawing after a
 * close starts a new contour at the closed one's start. */
static lt_contour *current_contour(lt_path *p, lt_pt fallback)
{
    lt_contour *c = open_contour(p);
    if (c)
        return c;
    if (p->ncontours)
        fallback = p->pts[p->contours[p->ncontours - 1].first];
    lt_path_move_to(p, fallback);
    return p->oom ? NULL : &p->contours[p->ncontours - 1];
}

void lt_path_cubic_to(lt_path *p, lt_pt c1, lt_pt c2, lt_pt end)
{
    lt_contour *c;
    if (p->oom)
        return;
    c = current_contour(p, c1);
    if (!c || lt_path_reserve(p, 3, 0) != 0)
        return;
    p->pts[p->npts++] = c1;
    p->pts[p->npts++] = c2;
    p->pts[p->npts++] = end;
    c->segments++;
}

void lt_path_line_to(lt_path *p, lt_pt pt)
{
    if (p->oom)
        return;
    if (!p->ncontours) {
        lt_path_move_to(p, pt); /* no current point: a line starts a contour */
        return;
    }
    if (!current_contour(p, pt))
        return;
    lt_path_cubic_to(p, p->pts[p->npts - 1], pt, pt);
}

void lt_path_close(lt_path *p)
{
    lt_contour *c;
    lt_pt start, last;
    if (p->oom)
        return;
    c = open_contour(p);
    if (!c)
        return;
    start = p->pts[c->first];
    last = p->pts[p->npts - 1];
    if (last.x != start.x || last.y != start.y) {
        lt_path_line_to(p, start);
        if (p->oom)
            return;
        c = &p->contours[p->ncontours - 1];
    }
    c->closed = 1;
}

void lt_path_append(lt_path *dst, const lt_path *src, const lt_matrix *m)
{
    size_t i, base;
    if (src->oom) {
        dst->oom = 1;
        return;
    }
    if (lt_path_reserve(dst, src->npts, src->ncontours) != 0)
        return;
    base = dst->npts;
    for (i = 0; i < src->npts; i++) {
        lt_pt q = src->pts[i];
        if (m) {
            lt_pt r = {m->xx * q.x + m->xy * q.y + m->x0, m->yx * q.x + m->yy * q.y + m->y0};
            q = r;
        }
        dst->pts[dst->npts++] = q;
    }
    for (i = 0; i < src->ncontours; i++) {
        lt_contour c = src->contours[i];
        c.first += base;
        dst->contours[dst->ncontours++] = c;
    }
}

void lt_path_add_vertices(lt_path *p, const lt_pt *v, const lt_pt *in_tan, const lt_pt *out_tan, size_t n,
                          int closed)
{
    size_t k;
    if (!n)
        return;
    lt_path_move_to(p, v[0]);
    for (k = 1; k < n; k++) {
        lt_pt c1 = {v[k - 1].x + out_tan[k - 1].x, v[k - 1].y + out_tan[k - 1].y};
        lt_pt c2 = {v[k].x + in_tan[k].x, v[k].y + in_tan[k].y};
        lt_path_cubic_to(p, c1, c2, v[k]);
    }
    if (closed) {
        lt_pt c1 = {v[n - 1].x + out_tan[n - 1].x, v[n - 1].y + out_tan[n - 1].y};
        lt_pt c2 = {v[0].x + in_tan[0].x, v[0].y + in_tan[0].y};
        lt_path_cubic_to(p, c1, c2, v[0]);
        lt_path_close(p);
    }
}

/* ---- Measuring ---- */

lt_pt lt_cubic_point(const lt_pt b[4], double t)
{
    double u = 1 - t;
    double w0 = u * u * u, w1 = 3 * u * u * t, w2 = 3 * u * t * t, w3 = t * t * t;
    lt_pt r = {w0 * b[0].x + w1 * b[1].x + w2 * b[2].x + w3 * b[3].x,
               w0 * b[0].y + w1 * b[1].y + w2 * b[2].y + w3 * b[3].y};
    return r;
}

lt_pt lt_cubic_derivative(const lt_pt b[4], double t)
{
    double u = 1 - t;
    double w0 = 3 * u * u, w1 = 6 * u * t, w2 = 3 * t * t;
    lt_pt r = {w0 * (b[1].x - b[0].x) + w1 * (b[2].x - b[1].x) + w2 * (b[3].x - b[2].x),
               w0 * (b[1].y - b[0].y) + w1 * (b[2].y - b[1].y) + w2 * (b[3].y - b[2].y)};
    return r;
}

static lt_pt lerp(lt_pt a, lt_pt b, double t)
{
    lt_pt r = {a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t};
    return r;
}

void lt_cubic_split(const lt_pt b[4], double t, lt_pt left[4], lt_pt right[4])
{
    lt_pt p01 = lerp(b[0], b[1], t), p12 = lerp(b[1], b[2], t), p23 = lerp(b[2], b[3], t);
    lt_pt p012 = lerp(p01, p12, t), p123 = lerp(p12, p23, t);
    lt_pt mid = lerp(p012, p123, t);
    lt_pt b0 = b[0], b3 = b[3]; /* left or right may alias b */
    left[0] = b0;
    left[1] = p01;
    left[2] = p012;
    left[3] = mid;
    right[0] = mid;
    right[1] = p123;
    right[2] = p23;
    right[3] = b3;
}

void lt_cubic_sub(const lt_pt b[4], double t0, double t1, lt_pt out[4])
{
    lt_pt left[4], right[4];
    if (t0 <= 0) {
        if (t1 >= 1) {
            memmove(out, b, 4 * sizeof(lt_pt));
            return;
        }
        lt_cubic_split(b, t1, out, right);
        return;
    }
    lt_cubic_split(b, t0, left, right);
    if (t1 >= 1) {
        memcpy(out, right, sizeof(right));
        return;
    }
    /* t1 measured on the right part, which spans [t0, 1] of b. */
    lt_cubic_split(right, (t1 - t0) / (1 - t0), out, left);
}

/* Cumulative polyline lengths at the LT_CURVE_SAMPLES sample points. */
static double sample_lengths(const lt_pt b[4], double lengths[LT_CURVE_SAMPLES])
{
    double total = 0;
    lt_pt last = b[0];
    int k;
    lengths[0] = 0;
    for (k = 1; k < LT_CURVE_SAMPLES; k++) {
        lt_pt q = lt_cubic_point(b, (double)k / (LT_CURVE_SAMPLES - 1));
        total += hypot(q.x - last.x, q.y - last.y);
        lengths[k] = total;
        last = q;
    }
    return total;
}

double lt_cubic_length(const lt_pt b[4])
{
    double lengths[LT_CURVE_SAMPLES];
    return sample_lengths(b, lengths);
}

double lt_cubic_t_at_fraction(const lt_pt b[4], double fraction)
{
    double lengths[LT_CURVE_SAMPLES];
    const int last = LT_CURVE_SAMPLES - 1;
    double total = sample_lengths(b, lengths), target;
    int i;
    if (!(fraction > 0))
        return 0;
    if (fraction >= 1)
        return 1;
    i = (int)floor(last * fraction);
    target = fraction * total;
    /* lottie-web answers the sample's own t at the first and last sample. */
    if (i == 0 || i == last || target == lengths[i])
        return (double)i / last;
    while (i > 0 && lengths[i] > target)
        i--;
    while (i < last && lengths[i + 1] <= target)
        i++;
    if (i >= last)
        return 1;
    return ((double)i + (target - lengths[i]) / (lengths[i + 1] - lengths[i])) / last;
}

double lt_contour_length(const lt_path *p, size_t contour)
{
    const lt_contour *c = &p->contours[contour];
    const lt_pt *b = lt_contour_pts(p, c);
    double total = 0;
    size_t k;
    for (k = 0; k < c->segments; k++)
        total += lt_cubic_length(b + 3 * k);
    return total;
}

double lt_path_length(const lt_path *p)
{
    double total = 0;
    size_t i;
    for (i = 0; i < p->ncontours; i++)
        total += lt_contour_length(p, i);
    return total;
}

static lt_pt unit(lt_pt d)
{
    double len = hypot(d.x, d.y);
    lt_pt r = {0, 0};
    if (len > 0) {
        r.x = d.x / len;
        r.y = d.y / len;
    }
    return r;
}

int lt_contour_point_at_length(const lt_path *p, size_t contour, double length, lt_pt *point, lt_pt *tangent)
{
    const lt_contour *c = &p->contours[contour];
    const lt_pt *b = lt_contour_pts(p, c);
    double walked = 0;
    size_t k;
    if (!c->segments) {
        if (point)
            *point = b[0];
        if (tangent)
            tangent->x = tangent->y = 0;
        return -1;
    }
    for (k = 0; k < c->segments; k++) {
        const lt_pt *seg = b + 3 * k;
        double len = lt_cubic_length(seg), t;
        if (walked + len < length && k + 1 < c->segments) {
            walked += len;
            continue;
        }
        t = len > 0 ? lt_cubic_t_at_fraction(seg, (length - walked) / len) : 0;
        if (point)
            *point = lt_cubic_point(seg, t);
        if (tangent) {
            lt_pt d = lt_cubic_derivative(seg, t);
            /* At a handle-less end the derivative vanishes; the chord then
             * gives the direction. */
            if (d.x == 0 && d.y == 0) {
                d.x = seg[3].x - seg[0].x;
                d.y = seg[3].y - seg[0].y;
            }
            *tangent = unit(d);
        }
        return 0;
    }
    return 0;
}

/* ---- Shapes ---- */

static void triple(lt_pt *v, lt_pt *o, lt_pt *i, size_t k, double vx, double vy, double ox, double oy, double ix,
                   double iy)
{
    v[k].x = vx;
    v[k].y = vy;
    o[k].x = ox - vx;
    o[k].y = oy - vy;
    i[k].x = ix - vx;
    i[k].y = iy - vy;
}

void lt_path_rect(lt_path *p, double cx, double cy, double w, double h, double roundness, int direction)
{
    lt_pt v[8], o[8], in[8];
    double hw = w / 2, hh = h / 2;
    double r = fmin(fmin(hw, hh), roundness);
    double cp = r * (1 - LT_ROUND_CORNER);
    double R = cx + hw, L = cx - hw, T = cy - hh, B = cy + hh;

    /* Vertex, out handle, in handle: lottie-web's convertRectToPath. */
    if (direction == 1 || direction == 2) {
        triple(v, o, in, 0, R, T + r, R, T + r, R, T + cp);
        triple(v, o, in, 1, R, B - r, R, B - cp, R, B - r);
        if (r != 0) {
            triple(v, o, in, 2, R - r, B, R - r, B, R - cp, B);
            triple(v, o, in, 3, L + r, B, L + cp, B, L + r, B);
            triple(v, o, in, 4, L, B - r, L, B - r, L, B - cp);
            triple(v, o, in, 5, L, T + r, L, T + cp, L, T + r);
            triple(v, o, in, 6, L + r, T, L + r, T, L + cp, T);
            triple(v, o, in, 7, R - r, T, R - cp, T, R - r, T);
        } else {
            triple(v, o, in, 2, L, B, L + cp, B, L, B);
            triple(v, o, in, 3, L, T, L, T + cp, L, T);
        }
    } else {
        triple(v, o, in, 0, R, T + r, R, T + cp, R, T + r);
        if (r != 0) {
            triple(v, o, in, 1, R - r, T, R - r, T, R - cp, T);
            triple(v, o, in, 2, L + r, T, L + cp, T, L + r, T);
            triple(v, o, in, 3, L, T + r, L, T + r, L, T + cp);
            triple(v, o, in, 4, L, B - r, L, B - cp, L, B - r);
            triple(v, o, in, 5, L + r, B, L + r, B, L + cp, B);
            triple(v, o, in, 6, R - r, B, R - cp, B, R - r, B);
            triple(v, o, in, 7, R, B - r, R, B - r, R, B - cp);
        } else {
            triple(v, o, in, 1, L, T, L + cp, T, L, T);
            triple(v, o, in, 2, L, B, L, B - cp, L, B);
            triple(v, o, in, 3, R, B, R - cp, B, R, B);
        }
    }
    lt_path_add_vertices(p, v, in, o, r != 0 ? 8 : 4, 1);
}

void lt_path_ellipse(lt_path *p, double cx, double cy, double w, double h, int direction)
{
    lt_pt v[4], o[4], in[4];
    double sx = w / 2, sy = h / 2, k = LT_ROUND_CORNER;
    double f = direction == 3 ? -1 : 1; /* reversed: mirrored left to right */

    triple(v, o, in, 0, cx, cy - sy, cx + f * sx * k, cy - sy, cx - f * sx * k, cy - sy);
    triple(v, o, in, 1, cx + f * sx, cy, cx + f * sx, cy + sy * k, cx + f * sx, cy - sy * k);
    triple(v, o, in, 2, cx, cy + sy, cx - f * sx * k, cy + sy, cx + f * sx * k, cy + sy);
    triple(v, o, in, 3, cx - f * sx, cy, cx - f * sx, cy - sy * k, cx - f * sx, cy + sy * k);
    lt_path_add_vertices(p, v, in, o, 4, 1);
}

void lt_path_polystar(lt_path *p, double cx, double cy, int kind, double points, double rotation,
                      double outer_radius, double inner_radius, double outer_roundness, double inner_roundness,
                      int direction)
{
    int star = kind != LT_POLYSTAR_POLYGON;
    double count = floor(points);
    double dir = direction == 3 ? -1 : 1;
    double angle, current, outer_perim, inner_perim;
    lt_pt start = {0, 0}, prev_o = {0, 0}, first_i = {0, 0};
    long n, k;

    if (!(count >= 1) || count > 100000)
        return;
    n = (long)count * (star ? 2 : 1);
    angle = 2 * M_PI / (double)n;
    /* The handle length per vertex, as a share of the circle around it. */
    outer_perim = 2 * M_PI * outer_radius / (double)(star ? n * 2 : n * 4);
    inner_perim = 2 * M_PI * inner_radius / (double)(n * 2);
    current = -M_PI / 2 + rotation * M_PI / 180;
    for (k = 0; k < n; k++) {
        int outer = !star || k % 2 == 0;
        double rad = outer ? outer_radius : inner_radius;
        double handle = (outer ? outer_perim * outer_roundness : inner_perim * inner_roundness) / 100 * dir;
        double x = rad * cos(current), y = rad * sin(current);
        double len = sqrt(x * x + y * y);
        double ox = x == 0 && y == 0 ? 0 : y / len, oy = x == 0 && y == 0 ? 0 : -x / len;
        lt_pt v = {x + cx, y + cy};
        lt_pt out = {v.x - ox * handle, v.y - oy * handle};
        lt_pt in = {v.x + ox * handle, v.y + oy * handle};
        if (k == 0) {
            lt_path_move_to(p, v);
            start = v;
            first_i = in;
        } else {
            lt_path_cubic_to(p, prev_o, in, v);
        }
        prev_o = out;
        current += angle * dir;
    }
    lt_path_cubic_to(p, prev_o, first_i, start);
    lt_path_close(p);
}
