/*
 * modifiers.h - After Effects' shape modifiers that rewrite paths: trim paths,
 * round corners, offset paths, pucker & bloat and zig-zag.
 *
 * Each reproduces lottie-web (the modifiers in player/js/utils/shapes/), the
 * renderer our frames are compared with pixel by pixel, including its
 * arbitrary choices: where a trimmed rectangle starts, the 0.5519 handle of a
 * rounded corner, which side an offset goes to. Merge paths and the repeater
 * are not here: the engine does them with Cairo compositing and transforms.
 *
 * Common rules:
 *  - out is cleared first and must not be in (nor any of the inputs).
 *  - A modifier at its neutral value (radius, amount or size 0; trim 0..100)
 *    copies in to out, as lottie-web leaves the shape alone.
 *  - An input marked oom gives an output marked oom; nothing here crashes on
 *    an empty path, a zero-length segment or a NaN.
 *  - Nothing allocates once the outputs (and the offset's scratch) have grown
 *    to their largest frame, so the engine keeps them across frames.
 *
 * Where the engine applies them (lottie-web's order): a modifier acts on every
 * shape before it in its group, including the shapes of nested groups, after
 * the modifiers that come before it (document order, inner groups first).
 * Each shape is modified in its own coordinates, before any group transform,
 * and the result replaces the shape's path for the styles and modifiers that
 * follow.
 */
#ifndef FW_RENDER_CAIRO_MODIFIERS_H
#define FW_RENDER_CAIRO_MODIFIERS_H

#include <stddef.h>

#include "server/render/cairo/path.h"

/* ---- Trim paths ("tm") ----
 *
 * start and end in percent (clamped to 0..100; start > end is swapped),
 * offset in degrees (any value; 360 is a whole turn). As lottie-web does,
 * the visible part runs from start + offset to end + offset and wraps around
 * the end of the path; the ends are rounded to 1/10000 of the length.
 *
 * lottie-web trims "shapes": each shape's contours count as one long path, in
 * order. Mode 1 ("simultaneously", individually = 0) trims every shape on its
 * own; mode 2 ("individually", individually = 1) lays all the shapes of the
 * modifier end to end in document order and trims that total, so each shape
 * shows only its share. Two entry points fit the two ways of holding shapes:
 */

/* Each contour of in is one shape (the usual case: one Lottie shape is one
 * contour); the trimmed pieces of all go to out. */
void lt_trim(lt_path *out, const lt_path *in, double start, double end, double offset, int individually);

/* in[0..n-1] are the shapes the modifier acts on, in document order (first
 * item of the group first; shapes of nested groups in their place); each
 * path's contours are one shape. out[i] receives shape i trimmed. This is the
 * call for a group, where the engine keeps one path per shape element. */
void lt_trim_paths(lt_path *const out[], const lt_path *const in[], size_t n, double start, double end,
                   double offset, int individually);

/* ---- Round corners ("rd") ----
 * Every vertex without handles (a sharp corner) is replaced by two vertices
 * radius along its neighbouring segments (at most half their chord), joined
 * by a cubic with 0.5519 handles. Vertices with handles, and the two ends of
 * an open contour, are kept. A 4-corner rectangle becomes 8 segments. */
void lt_round_corners(lt_path *out, const lt_path *in, double radius);

/* ---- Offset paths ("op") ----
 * Moves every contour amount pixels along its normal (outward for a
 * clockwise contour when amount > 0). Curves are split at their inflections
 * and each piece offset through its control polygon; neighbours that now
 * cross are cut at the crossing; gaps get the line join (Lottie's "lj":
 * 1 miter, limited by miter_limit, 2 round, 3 bevel). An open contour comes
 * back as one outline around both sides, as in lottie-web. scratch is
 * working storage the engine keeps across frames (an lt_path initialised
 * with lt_path_init and released with the engine). */
enum { LT_JOIN_MITER = 1, LT_JOIN_ROUND = 2, LT_JOIN_BEVEL = 3 };
void lt_offset_path(lt_path *out, const lt_path *in, double amount, int line_join, double miter_limit,
                    lt_path *scratch);

/* ---- Pucker & bloat ("pb") ----
 * amount in percent. Vertices move towards the contour's centre (the mean of
 * its vertices) by amount %, handles away from it by the same share: 100
 * draws every vertex into the centre, -100 pushes them out to twice their
 * distance with their handles at the centre. */
void lt_pucker_bloat(lt_path *out, const lt_path *in, double amount);

/* ---- Zig-zag ("zz") ----
 * size: the peak distance from the path; ridges per segment (rounded, at
 * least 0); point_type 1 corner, 2 smooth. Each segment gets `ridges` points
 * evenly spaced in t, each corner one point, all pushed alternately to either
 * side of the path: a closed contour of n segments comes back with
 * 1 + n * (ridges + 1) vertices, an open one with 1 + n * (ridges + 1) too. */
enum { LT_ZIGZAG_CORNER = 1, LT_ZIGZAG_SMOOTH = 2 };
void lt_zig_zag(lt_path *out, const lt_path *in, double size, double ridges, int point_type);

#endif
