/*
 * path.h - the Bézier paths the Cairo engine builds, modifies and draws.
 *
 * A path is a list of contours over one shared point buffer. A contour is a
 * start point followed by cubic segments, three points each (control 1,
 * control 2, end); straight segments carry their control points on their end
 * points. Points are absolute (Lottie's relative in/out tangents are added
 * in when a shape is built). Paths are cleared and refilled every frame:
 * lt_path_clear() keeps the buffers, so a path reused across frames stops
 * allocating once it has grown to its largest frame.
 *
 * The shape modifiers of After Effects (trim paths, round corners, offset
 * paths, pucker & bloat, zig-zag) read one path and write another.
 */
#ifndef FW_RENDER_CAIRO_PATH_H
#define FW_RENDER_CAIRO_PATH_H

#include <stddef.h>

typedef struct lt_pt {
    double x, y;
} lt_pt;

typedef struct lt_contour {
    size_t first;    /* index of the start point in lt_path.pts */
    size_t segments; /* cubic segments: the contour has 1 + 3 * segments points */
    int closed;      /* the last segment ends on the start point */
} lt_contour;

typedef struct lt_path {
    lt_pt *pts;
    size_t npts, pts_cap;
    lt_contour *contours;
    size_t ncontours, contours_cap;
    int oom; /* an allocation failed: the path is incomplete; draw nothing */
} lt_path;

/* A 2-D affine matrix as Cairo orders it: x' = xx*x + xy*y + x0. */
typedef struct lt_matrix {
    double xx, yx, xy, yy, x0, y0;
} lt_matrix;

void lt_path_init(lt_path *p);
void lt_path_clear(lt_path *p);   /* empty, buffers kept */
void lt_path_release(lt_path *p); /* buffers freed; p is empty and reusable */

void lt_path_move_to(lt_path *p, lt_pt pt);
void lt_path_line_to(lt_path *p, lt_pt pt);
void lt_path_cubic_to(lt_path *p, lt_pt c1, lt_pt c2, lt_pt end);
/* Closes the current contour, adding a straight segment back to its start
 * when the last point is elsewhere. */
void lt_path_close(lt_path *p);

/* Appends every contour of src, transformed by m (NULL: as they are). */
void lt_path_append(lt_path *dst, const lt_path *src, const lt_matrix *m);

/* Start point of contour c and point k of it (0 = start). */
static inline lt_pt *lt_contour_pts(const lt_path *p, const lt_contour *c)
{
    return p->pts + c->first;
}

/* Reserves room for more_pts points and more_contours contours beyond those
 * in use, so a caller can write them without further growth. Returns 0, or
 * -1 with p->oom set when the memory is not there or the request passes
 * LT_PATH_MAX_POINTS (a frame needing more is broken, not big). */
#define LT_PATH_MAX_POINTS ((size_t)1 << 26)
int lt_path_reserve(lt_path *p, size_t more_pts, size_t more_contours);

/* Appends a Lottie vertex list as one contour: n vertices v with tangents
 * in_tan and out_tan relative to their vertex (as a "sh" shape stores them).
 * A closed contour always gets its closing segment as a cubic, even when it
 * has no length, so the contour has exactly n segments like lottie-web's. */
void lt_path_add_vertices(lt_path *p, const lt_pt *v, const lt_pt *in_tan, const lt_pt *out_tan, size_t n,
                          int closed);

/* ---- Measuring ----
 *
 * A segment is four consecutive points b[0..3] (start, control 1, control 2,
 * end); segment k of contour c starts at lt_contour_pts(p, c) + 3 * k.
 * Lengths are those of lottie-web: the polyline through LT_CURVE_SAMPLES
 * points evenly spaced in t (exact for lines, well within 0.1% for the curves of
 * an animation), and a length along a segment maps back to t through the same
 * samples, so trim paths cut where lottie-web cuts. */
#define LT_CURVE_SAMPLES 150

lt_pt lt_cubic_point(const lt_pt b[4], double t);
lt_pt lt_cubic_derivative(const lt_pt b[4], double t);
/* de Casteljau at t: left is b over [0, t], right over [t, 1]. */
void lt_cubic_split(const lt_pt b[4], double t, lt_pt left[4], lt_pt right[4]);
/* The part of b between t0 and t1 (t0 <= t1), as one cubic. */
void lt_cubic_sub(const lt_pt b[4], double t0, double t1, lt_pt out[4]);
double lt_cubic_length(const lt_pt b[4]);
/* The t at which a walk along b has covered fraction (0..1) of its length.
 * Reproduces lottie-web's lookup, including that fractions within the first
 * 1/149 of a segment map to t = 0. */
double lt_cubic_t_at_fraction(const lt_pt b[4], double fraction);

double lt_contour_length(const lt_path *p, size_t contour);
double lt_path_length(const lt_path *p); /* all contours */
/* The point at distance length along contour (clamped to its ends) and, when
 * tangent is not NULL, the unit direction of travel there. Returns 0, or -1
 * when the contour has no segments (point is then its start, if any). */
int lt_contour_point_at_length(const lt_path *p, size_t contour, double length, lt_pt *point, lt_pt *tangent);

/* ---- Shapes ----
 *
 * Each appends one closed contour with the start point, direction and
 * control points of lottie-web, which trim paths and the other modifiers
 * depend on. direction is the shape's "d" as the file has it (0 when
 * absent): 3 is reversed. lottie-web draws a rectangle clockwise only for 1
 * and 2, so a rectangle without "d" comes out reversed, while an ellipse or
 * polystar without it comes out clockwise; these builders do the same.
 * Clockwise means on screen, y pointing down. */

/* Centre (cx, cy), size w x h, corner radius roundness (limited to half the
 * shorter side). Starts on the right edge, at its top end (below the corner
 * arc when rounded). 4 segments, or 8 when rounded. */
void lt_path_rect(lt_path *p, double cx, double cy, double w, double h, double roundness, int direction);
/* Four cubic arcs with lottie-web's handle length 0.5519 of the radius,
 * starting at the top. */
void lt_path_ellipse(lt_path *p, double cx, double cy, double w, double h, int direction);

enum { LT_POLYSTAR_STAR = 1, LT_POLYSTAR_POLYGON = 2 }; /* Lottie's "sy" */
/* points is floored (stars get 2 * points vertices, polygons points);
 * rotation in degrees, 0 putting the first (outer) vertex straight up;
 * roundness in percent. inner_radius and inner_roundness are ignored for
 * polygons. Nothing is appended for fewer than one point or more than
 * 100000 (no design has them; the bound keeps a bad file from stalling). */
void lt_path_polystar(lt_path *p, double cx, double cy, int kind, double points, double rotation,
                      double outer_radius, double inner_radius, double outer_roundness, double inner_roundness,
                      int direction);

#endif
