/*
 * anim.c - animated values at a frame: keyframes, easing, motion paths.
 *
 * Interpolation follows After Effects as Bodymovin exports it and lottie-web
 * plays it: each segment eases through a cubic Bézier timing curve (per
 * dimension when the export gives one per dimension); a hold key jumps;
 * before the first key and after the last the value stays put; a position
 * with spatial tangents moves along its Bézier motion path at a speed set
 * by the easing of arc length.
 */
#include <math.h>
#include <string.h>

#include "server/render/cairo/model.h"

lt_expr_eval_fn lt_expr_eval_hook;
lt_expr_path_fn lt_expr_path_hook;

/* ---- easing --------------------------------------------------------------------------------- */

static double bez1(double a, double b, double u)
{
    /* One coordinate of the timing curve from (0,0) through a, b to (1,1). */
    double v = 1 - u;
    return 3 * v * v * u * a + 3 * v * u * u * b + u * u * u;
}

static double bez1_slope(double a, double b, double u)
{
    double v = 1 - u;
    return 3 * v * v * a + 6 * v * u * (b - a) + 3 * u * u * (1 - b);
}

double lt_ease(double ox, double oy, double ix, double iy, double x)
{
    double lo = 0, hi = 1, u = x;

    if (!(x > 0))
        return 0;
    if (x >= 1)
        return 1;
    ox = ox < 0 ? 0 : ox > 1 ? 1 : ox;
    ix = ix < 0 ? 0 : ix > 1 ? 1 : ix;
    if (ox == oy && ix == iy)
        return x;
    /* Newton's method from x, falling back on bisection where the slope is flat. */
    for (int i = 0; i < 8; i++) {
        double f = bez1(ox, ix, u) - x, d = bez1_slope(ox, ix, u);
        if (fabs(f) < 1e-7)
            return bez1(oy, iy, u);
        if (fabs(d) < 1e-6)
            break;
        u -= f / d;
        if (u < 0 || u > 1)
            break;
    }
    u = x;
    for (int i = 0; i < 40; i++) {
        double f = bez1(ox, ix, u) - x;
        if (fabs(f) < 1e-7)
            break;
        if (f > 0)
            hi = u;
        else
            lo = u;
        u = (lo + hi) / 2;
    }
    return bez1(oy, iy, u);
}

/* ---- keyframes ------------------------------------------------------------------------------ */

/* The segment t falls in: index of its first key; -1 before the first key, nkeys-1 after the last. */
static int find_key(const double *times, size_t stride, int n, double t)
{
    int lo = 0, hi = n - 1;

    if (t < *(const double *)((const char *)times))
        return -1;
    if (t >= *(const double *)((const char *)times + stride * (size_t)(n - 1)))
        return n - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (*(const double *)((const char *)times + stride * (size_t)mid) <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static void cubic_pt(const double p0[2], const double c1[2], const double c2[2], const double p1[2], double u,
                     double out[2])
{
    double v = 1 - u;
    for (int d = 0; d < 2; d++)
        out[d] = v * v * v * p0[d] + 3 * v * v * u * c1[d] + 3 * v * u * u * c2[d] + u * u * u * p1[d];
}

/* Is the point on the segment a-b (so the "curve" is a straight line)? */
static int on_line(const double a[2], const double b[2], const double p[2])
{
    double cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
    double len = hypot(b[0] - a[0], b[1] - a[1]);
    return fabs(cross) <= 1e-4 * (len > 1 ? len : 1) * (len > 1 ? len : 1);
}

#define LT_MOTION_STEPS 150

/* Position along a motion path at eased progress y, by arc length. As lottie-web: the curve is
 * sampled at LT_MOTION_STEPS points (only its middle when the tangents lie on the line between the
 * keys) and walked along the polyline through them. */
static void motion_path(const lt_key *k, const double *end, double y, double *out)
{
    double p0[2] = {k->s[0], k->s[1]}, p1[2] = {end[0], end[1]};
    double c1[2] = {p0[0] + k->to[0], p0[1] + k->to[1]}, c2[2] = {p1[0] + k->ti[0], p1[1] + k->ti[1]};
    double pts[LT_MOTION_STEPS + 1][2], lens[LT_MOTION_STEPS + 1], target;
    int steps = LT_MOTION_STEPS;

    if ((p0[0] != p1[0] || p0[1] != p1[1]) && on_line(p0, p1, c1) && on_line(p0, p1, c2))
        steps = 2;
    pts[0][0] = p0[0], pts[0][1] = p0[1];
    lens[0] = 0;
    for (int i = 1; i <= steps; i++) {
        cubic_pt(p0, c1, c2, p1, (double)i / steps, pts[i]);
        lens[i] = lens[i - 1] + hypot(pts[i][0] - pts[i - 1][0], pts[i][1] - pts[i - 1][1]);
    }
    if (y <= 0 || lens[steps] <= 0) {
        out[0] = y <= 0 ? p0[0] : p1[0], out[1] = y <= 0 ? p0[1] : p1[1];
        return;
    }
    if (y >= 1) {
        out[0] = p1[0], out[1] = p1[1];
        return;
    }
    target = y * lens[steps];
    for (int i = 1; i <= steps; i++) {
        if (lens[i] >= target) {
            double seg = lens[i] - lens[i - 1];
            double f = seg > 0 ? (target - lens[i - 1]) / seg : 0;
            out[0] = pts[i - 1][0] + (pts[i][0] - pts[i - 1][0]) * f;
            out[1] = pts[i - 1][1] + (pts[i][1] - pts[i - 1][1]) * f;
            return;
        }
    }
    out[0] = p1[0], out[1] = p1[1];
}

void lt_prop_eval_keys(const lt_prop *p, double t, double *out)
{
    int i, n = p->nkeys;
    const lt_key *k;
    const double *end;
    double x;

    if (n == 0 || !p->keys) {
        if (p->v)
            memcpy(out, p->v, sizeof(double) * (size_t)p->dims);
        return;
    }
    i = find_key(&p->keys[0].t, sizeof(lt_key), n, t);
    if (i < 0) {
        memcpy(out, p->keys[0].s, sizeof(double) * (size_t)p->dims);
        return;
    }
    k = &p->keys[i];
    if (i == n - 1 || k->hold) {
        /* After the last key; an old export's last key may hold only its time. */
        memcpy(out, k->s, sizeof(double) * (size_t)p->dims);
        return;
    }
    end = k->e ? k->e : p->keys[i + 1].s;
    x = p->keys[i + 1].t > k->t ? (t - k->t) / (p->keys[i + 1].t - k->t) : 1;
    if (k->spatial && p->dims >= 2) {
        double y = lt_ease(k->ox[0], k->oy[0], k->ix[0], k->iy[0], x);
        motion_path(k, end, y, out);
        for (int d = 2; d < p->dims; d++)
            out[d] = k->s[d] + (end[d] - k->s[d]) * y;
        return;
    }
    for (int d = 0; d < p->dims; d++) {
        int e = d < LT_EASE_DIMS ? d : LT_EASE_DIMS - 1;
        double y = lt_ease(k->ox[e], k->oy[e], k->ix[e], k->iy[e], x);
        out[d] = k->s[d] + (end[d] - k->s[d]) * y;
    }
}

void lt_prop_eval(const lt_doc *doc, const lt_prop *p, double t, double *out)
{
    if (p->expr && lt_expr_eval_hook && lt_expr_eval_hook(doc, p, t, out))
        return;
    lt_prop_eval_keys(p, t, out);
}

double lt_prop_scalar(const lt_doc *doc, const lt_prop *p, double t)
{
    double v[4] = {0};
    if (p->dims == 1 && !p->expr && p->nkeys == 0 && p->v)
        return p->v[0];
    if (p->dims <= 4) {
        lt_prop_eval(doc, p, t, v);
        return v[0];
    }
    return p->v ? p->v[0] : 0;
}

/* ---- shape values --------------------------------------------------------------------------- */

/* The two shapes and progress of a shape property at t. */
static void shape_at(const lt_path_prop *p, double t, const lt_bez **a, const lt_bez **b, double *y)
{
    int i, n = p->nkeys;
    const lt_shape_key *k;

    *a = &p->v;
    *b = NULL;
    *y = 0;
    if (n == 0 || !p->keys)
        return;
    i = find_key(&p->keys[0].t, sizeof(lt_shape_key), n, t);
    if (i < 0) {
        *a = &p->keys[0].s;
        return;
    }
    k = &p->keys[i];
    *a = &k->s;
    if (i == n - 1 || k->hold)
        return;
    *b = k->e.n ? &k->e : &p->keys[i + 1].s;
    double x = p->keys[i + 1].t > k->t ? (t - k->t) / (p->keys[i + 1].t - k->t) : 1;
    *y = lt_ease(k->ox, k->oy, k->ix, k->iy, x);
}

static lt_pt mix(lt_pt a, lt_pt b, double y)
{
    lt_pt r = {a.x + (b.x - a.x) * y, a.y + (b.y - a.y) * y};
    return r;
}

void lt_path_prop_eval(const lt_doc *doc, const lt_path_prop *p, double t, lt_path *out)
{
    const lt_bez *a, *b;
    double y;
    int n;

    if (p->expr && lt_expr_path_hook && lt_expr_path_hook(doc, p, t, out))
        return;
    shape_at(p, t, &a, &b, &y);
    n = a->n;
    if (b && b->n < n)
        n = b->n;
    if (n <= 0)
        return;
    lt_pt v0 = b ? mix(a->v[0], b->v[0], y) : a->v[0];
    lt_pt prev_v = v0, prev_o = b ? mix(a->o[0], b->o[0], y) : a->o[0];
    lt_path_move_to(out, v0);
    for (int k = 1; k <= n; k++) {
        int idx = k < n ? k : 0;
        if (k == n && !a->closed)
            break;
        lt_pt v = b ? mix(a->v[idx], b->v[idx], y) : a->v[idx];
        lt_pt in = b ? mix(a->i[idx], b->i[idx], y) : a->i[idx];
        lt_pt c1 = {prev_v.x + prev_o.x, prev_v.y + prev_o.y}, c2 = {v.x + in.x, v.y + in.y};
        lt_path_cubic_to(out, c1, c2, v);
        prev_v = v;
        prev_o = b ? mix(a->o[idx], b->o[idx], y) : a->o[idx];
    }
    if (a->closed)
        lt_path_close(out);
}

int lt_path_prop_eval_bez(const lt_path_prop *p, double t, lt_bez *scratch, int *cap)
{
    const lt_bez *a, *b;
    double y;
    int n;

    shape_at(p, t, &a, &b, &y);
    n = a->n;
    if (b && b->n < n)
        n = b->n;
    if (n > *cap)
        return -n; /* the caller grows scratch to n and asks again */
    scratch->n = n;
    scratch->closed = a->closed;
    for (int k = 0; k < n; k++) {
        scratch->v[k] = b ? mix(a->v[k], b->v[k], y) : a->v[k];
        scratch->i[k] = b ? mix(a->i[k], b->i[k], y) : a->i[k];
        scratch->o[k] = b ? mix(a->o[k], b->o[k], y) : a->o[k];
    }
    return n;
}
