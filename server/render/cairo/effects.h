/*
 * effects.h - After Effects layer effects on a layer's own pixels.
 *
 * The Cairo engine draws a layer into an image surface (CAIRO_FORMAT_ARGB32:
 * premultiplied, native-endian) and then runs the layer's effects (Lottie's
 * "ef" list) over that surface, in order, before compositing it. Each
 * lt_fx_* function is one effect: it reads and rewrites the surface in place
 * and touches nothing else. Parameters are in After Effects' units as
 * Lottie stores them, so the engine passes evaluated values straight through.
 *
 * Effects are fed by documents we did not write, so every number is
 * sanitised: NaN becomes the neutral value, negative radii become zero, and
 * blur widths and shadow distances are capped, so the cost of any call is
 * O(width * height) whatever the document says.
 *
 * Effects that spread pixels (blur, drop shadow) can only spread them within
 * the surface: outside it is transparent. The engine makes room with
 * lt_fx_spread() when it sizes the layer's surface.
 *
 * Memory: blur and shadow need one row or column of floats and one alpha
 * plane. They take it from an lt_fx_scratch the engine keeps across frames
 * (it grows to the largest layer and then stops allocating), or allocate and
 * free it themselves when given NULL.
 *
 * The mapping from a Lottie effect (its "ty" and its list of values, each
 * evaluated at the current frame) to one of these calls is lt_fx_from_values
 * below; the table there is the only place the "ef" indices are known.
 */
#ifndef FW_RENDER_CAIRO_EFFECTS_H
#define FW_RENDER_CAIRO_EFFECTS_H

#include <cairo.h>
#include <stddef.h>

#include "server/util/error.h"

/* AE's Gaussian Blur "blurriness" (and Drop Shadow "softness") to the
 * standard deviation of the Gaussian, in pixels: the ratio lottie-web and
 * ThorVG settled on by comparing with After Effects. */
#define LT_FX_BLURRINESS_TO_SIGMA 0.3

/* Upper bounds, in output pixels, after the layer's scale. A blur wider than
 * this looks the same as this; a shadow further away than this is off any
 * surface we would allocate. They bound lt_fx_spread() and so the surface
 * the engine allocates for a layer. */
#define LT_FX_MAX_SIGMA 500.0
#define LT_FX_MAX_DISTANCE 4000.0

/* ---- scratch memory ------------------------------------------------------------------------- */

typedef struct lt_fx_scratch {
    float *line;          /* two rows/columns of 4-channel floats */
    size_t line_cap;      /* floats */
    double *prefix;       /* running sums over one row/column */
    size_t prefix_cap;    /* doubles */
    unsigned char *plane; /* the drop shadow's alpha plane */
    size_t plane_cap;     /* bytes */
} lt_fx_scratch;

void lt_fx_scratch_init(lt_fx_scratch *s);
void lt_fx_scratch_release(lt_fx_scratch *s); /* frees the buffers; s is empty and reusable */

/* ---- the effects ---------------------------------------------------------------------------- */
/*
 * All of them: `surface` must be an image surface of CAIRO_FORMAT_ARGB32
 * (FW_ERR_INVALID otherwise, with err filled); colours are r, g, b, a in
 * 0..1 (the colour's own alpha is ignored, as in AE); they return FW_OK,
 * FW_ERR_NOMEM when scratch memory could not be had (the surface is then
 * unchanged), or FW_ERR_INVALID for a bad surface. err may be NULL.
 */

/* ADBE Fill: every pixel takes `rgba`'s colour, mixed with its own colour by
 * `opacity` (0..1); alpha is kept, so the layer keeps its shape. (lottie-web
 * and ThorVG fade the layer's alpha by the opacity instead; AE keeps it.)
 * Fill's mask selection, "Invert" and feathering are not supported: the
 * fill covers the whole layer. */
fw_err lt_fx_fill(cairo_surface_t *surface, const double rgba[4], double opacity, fw_error *err);

/* ADBE Tint: each pixel's luminance (Rec. 601 weights on its sRGB values)
 * maps black to `black` and white to `white`, linearly between; `amount`
 * (0..1, AE's "Amount to Tint" / 100) mixes the result with the original.
 * Alpha is kept. */
fw_err lt_fx_tint(cairo_surface_t *surface, const double black[4], const double white[4], double amount,
                  fw_error *err);

/* ADBE Tritone: luminance 0 maps to `shadows`, 0.5 to `midtones`, 1 to
 * `highlights`, linearly between; `blend` (0..1, AE's "Blend With Original"
 * / 100) mixes the original back in. Alpha is kept. */
fw_err lt_fx_tritone(cairo_surface_t *surface, const double highlights[4], const double midtones[4],
                     const double shadows[4], double blend, fw_error *err);

/* Blur dimensions, as AE numbers them. */
enum { LT_FX_BLUR_BOTH = 1, LT_FX_BLUR_HORIZONTAL = 2, LT_FX_BLUR_VERTICAL = 3 };

/* ADBE Gaussian Blur 2: a Gaussian of sigma = blurriness *
 * LT_FX_BLURRINESS_TO_SIGMA * scale, where scale is the layer's pixels per
 * AE pixel (2 for a 2x render), so a blur looks the same at any output
 * size. Three box passes per axis approximate the Gaussian (boxes of
 * fractional width, so sigma varies smoothly), on premultiplied pixels; a
 * pass costs the same for any box width, over each row plus a margin of
 * 2 sigma each side (sigma is capped). Pixels outside the surface count as
 * transparent, or, with repeat_edge_pixels, as copies of the nearest edge
 * pixel. Unknown dimensions blur both ways. */
fw_err lt_fx_gaussian_blur(cairo_surface_t *surface, lt_fx_scratch *scratch, double blurriness, int dimensions,
                           int repeat_edge_pixels, double scale, fw_error *err);

/* ADBE Drop Shadow: the layer's alpha, moved `distance` AE pixels towards
 * `direction` (degrees, 0 = up, clockwise, so 90 = right), blurred by
 * `softness` (like blurriness), tinted `rgba` at `opacity` (0..1), drawn
 * under the layer. With shadow_only the layer itself is left out. distance
 * and softness are multiplied by scale as in lt_fx_gaussian_blur. Fractional
 * offsets are sampled bilinearly. The direction is in the surface's own
 * axes. */
fw_err lt_fx_drop_shadow(cairo_surface_t *surface, lt_fx_scratch *scratch, const double rgba[4], double opacity,
                         double direction, double distance, double softness, int shadow_only, double scale,
                         fw_error *err);

/* ADBE 4ColorGradient: a colour field that is colours[i] at pts[i] (surface
 * pixel coordinates: the engine maps the layer-space points through the
 * layer's drawing matrix) and an inverse-distance-weighted mix of the four
 * elsewhere; `blend` is AE's Blend (default 100; larger is smoother: the
 * weights fall off with distance to the power 200 / blend, clamped to
 * 0.5..8). The field is laid over the layer's colour at `opacity` (0..1) in
 * Normal mode and takes the layer's alpha, so the layer keeps its shape.
 * Other blending modes and Jitter are not supported (drawn as Normal and 0). */
fw_err lt_fx_four_color_gradient(cairo_surface_t *surface, const double pts[4][2], const double colours[4][4],
                                 double blend, double opacity, fw_error *err);

/* ---- from a Lottie effect to a call --------------------------------------------------------- */

typedef enum lt_fx_kind {
    LT_FX_NONE = 0, /* not an effect we draw; the layer is drawn without it */
    LT_FX_FILL,
    LT_FX_TINT,
    LT_FX_TRITONE,
    LT_FX_GAUSSIAN_BLUR,
    LT_FX_DROP_SHADOW,
    LT_FX_FOUR_COLOR_GRADIENT,
} lt_fx_kind;

/* One effect, its parameters in the units of the lt_fx_* function it calls. */
typedef struct lt_fx {
    lt_fx_kind kind;
    union {
        struct { double color[4], opacity; } fill;
        struct { double black[4], white[4], amount; } tint;
        struct { double highlights[4], midtones[4], shadows[4], blend; } tritone;
        struct { double blurriness; int dimensions, repeat_edge_pixels; } blur;
        struct { double color[4], opacity, direction, distance, softness; int shadow_only; } shadow;
        struct { double pts[4][2], colors[4][4], blend, opacity; } gradient;
    } u;
} lt_fx;

/* One entry of an effect's value list ("ef"[i]), evaluated at the frame:
 * n numbers (1 for sliders, angles, checkboxes and dropdowns; 2 for points;
 * 4 for colours; 0 for entries that carry no number). */
typedef struct lt_fx_value {
    double v[4];
    int n;
} lt_fx_value;

/*
 * Which effect a Lottie effect is: by its "ty" (20 tint, 21 fill, 23 tritone,
 * 25 drop shadow, 29 gaussian blur) or, for the ones exported as generic
 * effects ("ty" 5), by its match name ("mn": "ADBE 4ColorGradient", and the
 * ADBE names of the others). match_name may be NULL. LT_FX_NONE for the rest
 * (stroke 22, pro levels 24, matte 28, the expression controls, ...).
 */
lt_fx_kind lt_fx_kind_of(int ty, const char *match_name);

/*
 * Fill *fx from an effect's evaluated value list. The indices, with the
 * units Lottie stores (and the conversion done here):
 *
 *   fill (21):      [2] colour, [6] opacity 0..1        ([0] layer, [1] all masks,
 *                   [3] invert, [4][5] feathers: ignored)
 *   tint (20):      [0] map black to, [1] map white to, [2] amount 0..100 (/100)
 *   tritone (23):   [0] highlights, [1] midtones, [2] shadows, [3] blend with original 0..100 (/100)
 *   drop shadow (25): [0] colour, [1] opacity 0..255 (/255), [2] direction degrees,
 *                   [3] distance px, [4] softness, [5] shadow only 0/1
 *   gaussian blur (29): [0] blurriness, [1] dimensions 1..3, [2] repeat edge pixels 0/1
 *   4-colour gradient (5, "ADBE 4ColorGradient"): [1] point 1, [2] colour 1, [3] point 2,
 *                   [4] colour 2, [5] point 3, [6] colour 3, [7] point 4, [8] colour 4,
 *                   [10] blend, [11] jitter (ignored), [12] opacity 0..100 (/100),
 *                   [13] blending mode (ignored)
 *
 * Missing or short entries take After Effects' defaults. Gradient points
 * stay in layer coordinates (lt_fx_apply maps them). Returns
 * FW_ERR_UNSUPPORTED (err filled) for LT_FX_NONE.
 */
fw_err lt_fx_from_values(lt_fx *fx, lt_fx_kind kind, const lt_fx_value *values, size_t nvalues, fw_error *err);

/* Run fx on the surface. scale as in lt_fx_gaussian_blur; to_surface maps
 * layer coordinates to surface pixels (for the gradient's points; NULL: a
 * plain scale by `scale`). */
fw_err lt_fx_apply(const lt_fx *fx, cairo_surface_t *surface, lt_fx_scratch *scratch, double scale,
                   const cairo_matrix_t *to_surface, fw_error *err);

/* How many pixels, at `scale`, fx can move content beyond where the layer
 * drew it on any side: the margin the engine leaves around a layer's
 * content so the blur or shadow is not cut off. 0 for colour effects.
 * Bounded by LT_FX_MAX_SIGMA and LT_FX_MAX_DISTANCE. */
int lt_fx_spread(const lt_fx *fx, double scale);

#endif
