/*
 * effects_test.c - the Cairo engine's layer effects, checked pixel by pixel
 * on real Cairo image surfaces.
 */
#include <cairo.h>
#include <math.h>
#include <stdint.h>
#include <time.h>

#include "server/render/cairo/effects.h"
#include "tests/fw_test.h"

/* ---- surfaces ------------------------------------------------------------------------------- */

static cairo_surface_t *new_surface(int w, int h)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_surface_flush(s);
    if (w > 0 && h > 0)
        memset(cairo_image_surface_get_data(s), 0, (size_t)cairo_image_surface_get_stride(s) * h);
    cairo_surface_mark_dirty(s);
    return s;
}

static uint32_t *pixel(cairo_surface_t *s, int x, int y)
{
    return (uint32_t *)(void *)(cairo_image_surface_get_data(s) + (size_t)y * cairo_image_surface_get_stride(s)) +
           x;
}

/* Straight (un-premultiplied) colour in 0..255 and alpha 0..255. */
static void put(cairo_surface_t *s, int x, int y, int a, int r, int g, int b)
{
    cairo_surface_flush(s);
    *pixel(s, x, y) = (uint32_t)a << 24 | (uint32_t)(r * a / 255) << 16 | (uint32_t)(g * a / 255) << 8 |
                      (uint32_t)(b * a / 255);
    cairo_surface_mark_dirty(s);
}

static void fill_rect(cairo_surface_t *s, int x0, int y0, int x1, int y1, int a, int r, int g, int b)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            put(s, x, y, a, r, g, b);
}

static int A(cairo_surface_t *s, int x, int y) { return (int)(*pixel(s, x, y) >> 24); }
static int R(cairo_surface_t *s, int x, int y) { return (int)(*pixel(s, x, y) >> 16 & 255); }
static int G(cairo_surface_t *s, int x, int y) { return (int)(*pixel(s, x, y) >> 8 & 255); }
static int B(cairo_surface_t *s, int x, int y) { return (int)(*pixel(s, x, y) & 255); }

static double alpha_sum(cairo_surface_t *s)
{
    double sum = 0;
    for (int y = 0; y < cairo_image_surface_get_height(s); y++)
        for (int x = 0; x < cairo_image_surface_get_width(s); x++)
            sum += A(s, x, y);
    return sum;
}

static const double RED[4] = {1, 0, 0, 1}, GREEN[4] = {0, 1, 0, 1}, BLUE[4] = {0, 0, 1, 1};
static const double BLACK[4] = {0, 0, 0, 1}, WHITE[4] = {1, 1, 1, 1};

/* ---- fill, tint, tritone -------------------------------------------------------------------- */

static void test_fill_paints_green_and_keeps_alpha(void)
{
    cairo_surface_t *s = new_surface(20, 10);
    fill_rect(s, 0, 0, 10, 10, 255, 255, 0, 0); /* left half opaque red, right half transparent */
    put(s, 5, 5, 128, 255, 0, 0);               /* one half-transparent red pixel */

    FW_CHECK_INT(lt_fx_fill(s, GREEN, 1, NULL), FW_OK);
    FW_CHECK_INT(A(s, 2, 2), 255);
    FW_CHECK_INT(R(s, 2, 2), 0);
    FW_CHECK_INT(G(s, 2, 2), 255);
    FW_CHECK_INT(B(s, 2, 2), 0);
    FW_CHECK_INT(A(s, 5, 5), 128); /* premultiplied green at alpha 128 */
    FW_CHECK_INT(G(s, 5, 5), 128);
    FW_CHECK_INT(R(s, 5, 5), 0);
    for (int x = 10; x < 20; x++)
        FW_CHECK_INT(*pixel(s, x, 3), 0);
    cairo_surface_destroy(s);
}

static void test_fill_opacity_mixes_with_the_layer_colour(void)
{
    cairo_surface_t *s = new_surface(4, 4);
    fill_rect(s, 0, 0, 4, 4, 255, 255, 0, 0);
    FW_CHECK_INT(lt_fx_fill(s, BLUE, 0.25, NULL), FW_OK);
    FW_CHECK_INT(A(s, 1, 1), 255);
    FW_CHECK_NEAR(R(s, 1, 1), 191, 1);
    FW_CHECK_NEAR(B(s, 1, 1), 64, 1);
    cairo_surface_destroy(s);
}

static void test_tint_maps_black_and_white_to_the_two_colours(void)
{
    const double navy[4] = {0, 0, 0.5, 1}, yellow[4] = {1, 1, 0, 1};
    cairo_surface_t *s = new_surface(3, 1);
    put(s, 0, 0, 255, 0, 0, 0);
    put(s, 1, 0, 255, 255, 255, 255);
    put(s, 2, 0, 255, 255, 255, 255);
    FW_CHECK_INT(lt_fx_tint(s, navy, yellow, 1, NULL), FW_OK);
    FW_CHECK_INT(R(s, 0, 0), 0);
    FW_CHECK_NEAR(B(s, 0, 0), 128, 1);
    FW_CHECK_INT(R(s, 1, 0), 255);
    FW_CHECK_INT(G(s, 1, 0), 255);
    FW_CHECK_INT(B(s, 1, 0), 0);
    FW_CHECK_INT(A(s, 1, 0), 255);
    cairo_surface_destroy(s);

    /* Amount 50%: half way between the white pixel and yellow. */
    s = new_surface(1, 1);
    put(s, 0, 0, 255, 255, 255, 255);
    FW_CHECK_INT(lt_fx_tint(s, navy, yellow, 0.5, NULL), FW_OK);
    FW_CHECK_INT(R(s, 0, 0), 255);
    FW_CHECK_NEAR(B(s, 0, 0), 128, 1);
    cairo_surface_destroy(s);
}

static void test_tritone_maps_mid_grey_to_the_midtones(void)
{
    const double mid[4] = {0.8, 0.2, 0.4, 1};
    cairo_surface_t *s = new_surface(3, 1);
    put(s, 0, 0, 255, 0, 0, 0);
    put(s, 1, 0, 255, 128, 128, 128); /* luminance 0.502 */
    put(s, 2, 0, 200, 255, 255, 255);
    FW_CHECK_INT(lt_fx_tritone(s, WHITE, mid, BLUE, 0, NULL), FW_OK);
    FW_CHECK_INT(B(s, 0, 0), 255); /* black -> shadows (blue) */
    FW_CHECK_INT(R(s, 0, 0), 0);
    FW_CHECK_NEAR(R(s, 1, 0), 204, 2);
    FW_CHECK_NEAR(G(s, 1, 0), 52, 2);
    FW_CHECK_NEAR(B(s, 1, 0), 103, 2);
    FW_CHECK_INT(A(s, 2, 0), 200); /* white -> highlights, alpha kept */
    FW_CHECK_INT(R(s, 2, 0), 200);
    FW_CHECK_INT(G(s, 2, 0), 200);
    cairo_surface_destroy(s);

    /* Blend with original 100%: unchanged. */
    s = new_surface(1, 1);
    put(s, 0, 0, 255, 128, 128, 128);
    FW_CHECK_INT(lt_fx_tritone(s, WHITE, mid, BLUE, 1, NULL), FW_OK);
    FW_CHECK_INT(R(s, 0, 0), 128);
    FW_CHECK_INT(B(s, 0, 0), 128);
    cairo_surface_destroy(s);
}

/* ---- gaussian blur -------------------------------------------------------------------------- */

static void test_blur_of_one_pixel_spreads_symmetrically_and_keeps_its_alpha(void)
{
    cairo_surface_t *s = new_surface(61, 61);
    put(s, 30, 30, 255, 255, 255, 255);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, 6, LT_FX_BLUR_BOTH, 0, 1, NULL), FW_OK); /* sigma 1.8 */
    FW_CHECK(A(s, 30, 30) < 255);
    FW_CHECK(A(s, 30, 30) > 0);
    for (int d = 1; d < 8; d++) {
        FW_CHECK_INT(A(s, 30 - d, 30), A(s, 30 + d, 30));
        FW_CHECK_INT(A(s, 30, 30 - d), A(s, 30, 30 + d));
        FW_CHECK_INT(A(s, 30 - d, 30), A(s, 30, 30 + d));
        FW_CHECK(A(s, 30 + d, 30) <= A(s, 30 + d - 1, 30));
    }
    FW_CHECK(A(s, 32, 30) > 0);
    FW_CHECK_INT(A(s, 50, 30), 0);
    FW_CHECK_NEAR(alpha_sum(s), 255, 255 * 0.01);
    /* premultiplied stays valid: colour never exceeds alpha */
    for (int x = 20; x < 41; x++)
        FW_CHECK(R(s, x, 30) <= A(s, x, 30));
    cairo_surface_destroy(s);
}

static void test_blur_keeps_the_alpha_of_a_larger_shape(void)
{
    cairo_surface_t *s = new_surface(120, 120);
    fill_rect(s, 50, 50, 70, 70, 255, 0, 0, 255);
    double before = alpha_sum(s);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, 30, LT_FX_BLUR_BOTH, 0, 1, NULL), FW_OK); /* sigma 9 */
    FW_CHECK_NEAR(alpha_sum(s), before, before * 0.01);
    FW_CHECK(A(s, 40, 60) > 0);
    FW_CHECK(A(s, 60, 60) < 255);
    cairo_surface_destroy(s);
}

/* The half-way point of a blurred step is the step itself, and the profile
 * matches a Gaussian of sigma = 0.3 * blurriness: one sigma inside the edge
 * the coverage is Phi(1) = 84%. */
static void test_blur_of_a_sharp_edge_is_half_at_the_edge(void)
{
    cairo_surface_t *s = new_surface(200, 20);
    fill_rect(s, 0, 0, 100, 20, 255, 255, 255, 255);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, 20, LT_FX_BLUR_HORIZONTAL, 1, 1, NULL), FW_OK); /* sigma 6 */
    double edge = (A(s, 99, 10) + A(s, 100, 10)) / 2.0;
    FW_CHECK_NEAR(edge, 127.5, 2);
    /* pixel 93 is centred 6.5 px inside the edge: Phi(6.5 / 6) = 0.861 */
    FW_CHECK_NEAR(A(s, 93, 10), 0.861 * 255, 4);
    FW_CHECK_NEAR(A(s, 106, 10), (1 - 0.861) * 255, 4);
    FW_CHECK_INT(A(s, 60, 10), 255);
    FW_CHECK_INT(A(s, 140, 10), 0);
    cairo_surface_destroy(s);
}

/* A 10-px blur drawn at 2x covers twice the pixels. */
static void test_blur_scales_with_the_layer(void)
{
    cairo_surface_t *one = new_surface(200, 4), *two = new_surface(400, 4);
    fill_rect(one, 0, 0, 100, 4, 255, 255, 255, 255);
    fill_rect(two, 0, 0, 200, 4, 255, 255, 255, 255);
    FW_CHECK_INT(lt_fx_gaussian_blur(one, NULL, 10, LT_FX_BLUR_HORIZONTAL, 0, 1, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_gaussian_blur(two, NULL, 10, LT_FX_BLUR_HORIZONTAL, 0, 2, NULL), FW_OK);
    for (int d = -6; d < 6; d++) /* pixel 100 + d at 1x covers pixels 200 + 2d and 201 + 2d at 2x */
        FW_CHECK_NEAR(A(one, 100 + d, 1), (A(two, 200 + 2 * d, 1) + A(two, 201 + 2 * d, 1)) / 2.0, 3);
    cairo_surface_destroy(one);
    cairo_surface_destroy(two);
}

static void test_horizontal_blur_leaves_columns_alone(void)
{
    cairo_surface_t *s = new_surface(60, 60), *ref = new_surface(60, 60);
    for (int y = 0; y < 60; y += 4) { /* horizontal stripes of varying alpha, full width */
        fill_rect(s, 0, y, 60, y + 2, 40 + 3 * y, 255, 0, 0);
        fill_rect(ref, 0, y, 60, y + 2, 40 + 3 * y, 255, 0, 0);
    }
    put(s, 30, 1, 255, 0, 0, 255); /* and one dot that must only spread sideways */
    put(ref, 30, 1, 255, 0, 0, 255);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, 15, LT_FX_BLUR_HORIZONTAL, 1, 1, NULL), FW_OK);
    for (int y = 2; y < 60; y++) /* every row is uniform, so blurring it across changes nothing */
        FW_CHECK_INT(*pixel(s, 45, y), *pixel(ref, 45, y));
    FW_CHECK_INT(A(s, 30, 2), 0); /* the dot's row neighbours are still empty */
    FW_CHECK_INT(A(s, 30, 3), 0);
    FW_CHECK(B(s, 33, 1) > 0);     /* while it spread along its own row */
    FW_CHECK(B(s, 30, 1) < 255);

    /* vertical only: a vertical line does not spread sideways */
    cairo_surface_t *v = new_surface(20, 40);
    fill_rect(v, 10, 0, 11, 40, 255, 255, 255, 255);
    FW_CHECK_INT(lt_fx_gaussian_blur(v, NULL, 15, LT_FX_BLUR_VERTICAL, 1, 1, NULL), FW_OK);
    FW_CHECK_INT(A(v, 10, 20), 255);
    FW_CHECK_INT(A(v, 9, 20), 0);
    FW_CHECK_INT(A(v, 11, 20), 0);
    cairo_surface_destroy(v);
    cairo_surface_destroy(s);
    cairo_surface_destroy(ref);
}

static void test_repeat_edge_pixels_keeps_a_full_layer_opaque(void)
{
    cairo_surface_t *s = new_surface(40, 40);
    fill_rect(s, 0, 0, 40, 40, 255, 0, 255, 0);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, 20, LT_FX_BLUR_BOTH, 1, 1, NULL), FW_OK);
    FW_CHECK_INT(A(s, 0, 0), 255);
    FW_CHECK_INT(G(s, 0, 20), 255);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, 20, LT_FX_BLUR_BOTH, 0, 1, NULL), FW_OK);
    FW_CHECK(A(s, 0, 20) < 160); /* without: transparency bleeds in from outside */
    FW_CHECK_NEAR(A(s, 0, 0), 255 / 4.0, 20);
    FW_CHECK_INT(A(s, 20, 20), 255);
    cairo_surface_destroy(s);
}

static void test_huge_blurriness_finishes_and_stays_sane(void)
{
    cairo_surface_t *s = new_surface(200, 200);
    fill_rect(s, 90, 90, 110, 110, 255, 255, 255, 255);
    double before = alpha_sum(s);
    clock_t t0 = clock();
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, 1e9, LT_FX_BLUR_BOTH, 0, 1, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, 1e9, LT_FX_BLUR_BOTH, 1, 1e9, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_drop_shadow(s, NULL, BLACK, 1, 45, 1e12, 1e9, 0, 1e9, NULL), FW_OK);
    fprintf(stderr, "  huge blurs on 200x200: %.3f s of CPU\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    FW_CHECK(alpha_sum(s) <= before + 1);
    cairo_surface_destroy(s);
}

/* ---- drop shadow ---------------------------------------------------------------------------- */

static void test_drop_shadow_at_90_degrees_falls_to_the_right(void)
{
    const double shadow[4] = {0, 0, 1, 1};
    cairo_surface_t *s = new_surface(80, 60);
    fill_rect(s, 20, 20, 40, 40, 255, 255, 0, 0);
    FW_CHECK_INT(lt_fx_drop_shadow(s, NULL, shadow, 0.5, 90, 10, 0, 0, 1, NULL), FW_OK);
    /* the layer itself, unchanged */
    FW_CHECK_INT(*pixel(s, 25, 25), 0xffff0000u);
    FW_CHECK_INT(*pixel(s, 39, 39), 0xffff0000u);
    /* the shadow: 10 px right, blue at half opacity, under the layer */
    for (int x = 40; x < 50; x++) {
        FW_CHECK_NEAR(A(s, x, 30), 128, 1);
        FW_CHECK_NEAR(B(s, x, 30), 128, 1);
        FW_CHECK_INT(R(s, x, 30), 0);
    }
    FW_CHECK_INT(A(s, 50, 30), 0);
    FW_CHECK_INT(A(s, 45, 19), 0); /* not moved up or down */
    FW_CHECK_INT(A(s, 45, 40), 0);
    FW_CHECK_INT(A(s, 19, 30), 0); /* nothing to the left */
    cairo_surface_destroy(s);

    /* direction 180 is down */
    s = new_surface(60, 80);
    fill_rect(s, 20, 20, 40, 40, 255, 255, 0, 0);
    FW_CHECK_INT(lt_fx_drop_shadow(s, NULL, shadow, 1, 180, 10, 0, 0, 1, NULL), FW_OK);
    FW_CHECK_INT(A(s, 30, 45), 255);
    FW_CHECK_INT(B(s, 30, 45), 255);
    FW_CHECK_INT(A(s, 45, 30), 0);
    cairo_surface_destroy(s);
}

static void test_drop_shadow_only_hides_the_layer(void)
{
    cairo_surface_t *s = new_surface(80, 60);
    fill_rect(s, 20, 20, 40, 40, 255, 255, 0, 0);
    FW_CHECK_INT(lt_fx_drop_shadow(s, NULL, BLACK, 1, 90, 10, 0, 1, 1, NULL), FW_OK);
    FW_CHECK_INT(A(s, 25, 30), 0);             /* where only the layer was */
    FW_CHECK_INT(*pixel(s, 35, 30), 0xff000000u); /* where layer and shadow overlap: shadow */
    FW_CHECK_INT(*pixel(s, 45, 30), 0xff000000u);
    cairo_surface_destroy(s);
}

static void test_soft_drop_shadow_spreads_and_keeps_its_weight(void)
{
    cairo_surface_t *s = new_surface(120, 120);
    fill_rect(s, 40, 40, 60, 60, 255, 255, 255, 255);
    FW_CHECK_INT(lt_fx_drop_shadow(s, NULL, BLACK, 1, 90, 20, 20, 1, 1, NULL), FW_OK);
    FW_CHECK_NEAR(alpha_sum(s), 400 * 255, 400 * 255 * 0.01);
    FW_CHECK(A(s, 85, 50) > 0);                  /* beyond the hard shadow's right edge */
    FW_CHECK_INT(A(s, 70, 50) > A(s, 55, 50), 1); /* centred 20 px right */
    cairo_surface_destroy(s);
}

/* ---- 4-colour gradient ---------------------------------------------------------------------- */

static void test_four_color_gradient_has_each_colour_at_its_point(void)
{
    const double pts[4][2] = {{10.5, 10.5}, {89.5, 10.5}, {10.5, 89.5}, {89.5, 89.5}};
    const double cols[4][4] = {{1, 0, 0, 1}, {0, 1, 0, 1}, {0, 0, 1, 1}, {1, 1, 1, 1}};
    cairo_surface_t *s = new_surface(100, 100);
    fill_rect(s, 0, 0, 100, 100, 255, 0, 0, 0);
    put(s, 50, 0, 0, 0, 0, 0); /* a transparent pixel stays transparent */
    FW_CHECK_INT(lt_fx_four_color_gradient(s, pts, cols, 100, 1, NULL), FW_OK);
    FW_CHECK_INT(*pixel(s, 10, 10), 0xffff0000u);
    FW_CHECK_INT(*pixel(s, 89, 10), 0xff00ff00u);
    FW_CHECK_INT(*pixel(s, 10, 89), 0xff0000ffu);
    FW_CHECK_INT(*pixel(s, 89, 89), 0xffffffffu);
    FW_CHECK_INT(*pixel(s, 50, 0), 0);
    /* the centre is an even mix of the four */
    FW_CHECK_NEAR(R(s, 50, 50), 127, 3);
    FW_CHECK_NEAR(G(s, 50, 50), 127, 3);
    FW_CHECK_NEAR(B(s, 50, 50), 127, 3);
    /* near a point its colour dominates */
    FW_CHECK(R(s, 20, 15) > 170);
    FW_CHECK(G(s, 20, 15) < 80);
    cairo_surface_destroy(s);

    /* opacity 50% over a half-transparent black layer */
    s = new_surface(20, 20);
    fill_rect(s, 0, 0, 20, 20, 128, 0, 0, 0);
    FW_CHECK_INT(lt_fx_four_color_gradient(s, pts, cols, 100, 0.5, NULL), FW_OK);
    FW_CHECK_INT(A(s, 10, 10), 128);
    FW_CHECK_NEAR(R(s, 10, 10), 64, 1);
    cairo_surface_destroy(s);
}

/* ---- bad input ------------------------------------------------------------------------------ */

static void test_nonsense_parameters_are_clamped(void)
{
    const double nan4[4] = {NAN, NAN, NAN, NAN};
    const double nanpts[4][2] = {{NAN, 0}, {INFINITY, -INFINITY}, {1e300, 1e300}, {0, NAN}};
    const double nancols[4][4] = {{NAN, 0, 0, 1}, {2, -1, 0, 1}, {0, 0, 0, 1}, {1, 1, 1, 1}};
    cairo_surface_t *s = new_surface(30, 30);
    fill_rect(s, 10, 10, 20, 20, 255, 10, 20, 30);
    FW_CHECK_INT(lt_fx_fill(s, nan4, NAN, NULL), FW_OK);
    FW_CHECK_INT(*pixel(s, 15, 15), 0xff0a141eu); /* NaN opacity: no fill */
    FW_CHECK_INT(lt_fx_tint(s, nan4, NULL, INFINITY, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_tritone(s, nan4, nan4, nan4, NAN, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, -5, 99, 7, -3, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, NAN, 1, 0, NAN, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, INFINITY, 1, 0, INFINITY, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_drop_shadow(s, NULL, nan4, NAN, NAN, NAN, NAN, 5, NAN, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_drop_shadow(s, NULL, BLACK, 1, -1e308, -1e308, -1, 0, 1, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_four_color_gradient(s, nanpts, nancols, NAN, 1, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_four_color_gradient(s, nanpts, nancols, -1, 1, NULL), FW_OK);
    for (int y = 0; y < 30; y++) /* still valid premultiplied pixels */
        for (int x = 0; x < 30; x++)
            FW_CHECK(R(s, x, y) <= A(s, x, y) && G(s, x, y) <= A(s, x, y) && B(s, x, y) <= A(s, x, y));
    cairo_surface_destroy(s);

    /* an empty surface is fine too */
    s = new_surface(0, 0);
    FW_CHECK_INT(lt_fx_gaussian_blur(s, NULL, 10, 1, 0, 1, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_drop_shadow(s, NULL, BLACK, 1, 0, 10, 10, 0, 1, NULL), FW_OK);
    cairo_surface_destroy(s);
}

static void test_wrong_surfaces_are_refused(void)
{
    fw_error err;
    fw_error_clear(&err);
    FW_CHECK_INT(lt_fx_fill(NULL, RED, 1, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "surface");

    cairo_surface_t *a8 = cairo_image_surface_create(CAIRO_FORMAT_A8, 4, 4);
    fw_error_clear(&err);
    FW_CHECK_INT(lt_fx_gaussian_blur(a8, NULL, 10, 1, 0, 1, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "ARGB32");
    cairo_surface_destroy(a8);

    cairo_surface_t *rec = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, NULL);
    FW_CHECK_INT(lt_fx_tint(rec, BLACK, WHITE, 1, NULL), FW_ERR_INVALID);
    cairo_surface_destroy(rec);
}

/* ---- from a Lottie effect ------------------------------------------------------------------- */

static lt_fx_value num(double v) { return (lt_fx_value){{v, 0, 0, 0}, 1}; }
static lt_fx_value pt(double x, double y) { return (lt_fx_value){{x, y, 0, 0}, 2}; }
static lt_fx_value col(double r, double g, double b) { return (lt_fx_value){{r, g, b, 1}, 4}; }

static void test_effects_are_known_by_type_and_match_name(void)
{
    FW_CHECK_INT(lt_fx_kind_of(20, NULL), LT_FX_TINT);
    FW_CHECK_INT(lt_fx_kind_of(21, "ADBE Fill"), LT_FX_FILL);
    FW_CHECK_INT(lt_fx_kind_of(23, NULL), LT_FX_TRITONE);
    FW_CHECK_INT(lt_fx_kind_of(25, NULL), LT_FX_DROP_SHADOW);
    FW_CHECK_INT(lt_fx_kind_of(29, "ADBE Gaussian Blur 2"), LT_FX_GAUSSIAN_BLUR);
    FW_CHECK_INT(lt_fx_kind_of(5, "ADBE 4ColorGradient"), LT_FX_FOUR_COLOR_GRADIENT);
    FW_CHECK_INT(lt_fx_kind_of(5, "ADBE Slider Control"), LT_FX_NONE);
    FW_CHECK_INT(lt_fx_kind_of(22, "ADBE Stroke"), LT_FX_NONE);
    FW_CHECK_INT(lt_fx_kind_of(5, NULL), LT_FX_NONE);

    lt_fx fx;
    fw_error err;
    fw_error_clear(&err);
    FW_CHECK_INT(lt_fx_from_values(&fx, LT_FX_NONE, NULL, 0, &err), FW_ERR_UNSUPPORTED);
    FW_CHECK_INT(fx.kind, LT_FX_NONE);
    FW_CHECK_INT(lt_fx_spread(&fx, 1), 0);
}

/* The 4-colour gradient of the corpus' stroke_dash.json, value by value. */
static void test_four_color_gradient_values_as_exported(void)
{
    const lt_fx_value full[14] = {
        {{0}, 0},     /* "Positions & Colors" group start */
        pt(124, 455), col(1, 0.792, 0.322),
        pt(685, 567), col(0.906, 0.278, 0.412),
        pt(112, 268), col(0.329, 0.349, 0.796),
        pt(636, 377), col(0.706, 0.192, 0.725),
        {{0}, 0},     /* group end */
        num(100),     /* blend */
        num(0),       /* jitter */
        num(100),     /* opacity */
        num(1),       /* blending mode */
    };
    lt_fx fx;
    FW_CHECK_INT(lt_fx_from_values(&fx, LT_FX_FOUR_COLOR_GRADIENT, full, 14, NULL), FW_OK);
    FW_CHECK_INT(fx.kind, LT_FX_FOUR_COLOR_GRADIENT);
    FW_CHECK_NEAR(fx.u.gradient.pts[0][0], 124, 0);
    FW_CHECK_NEAR(fx.u.gradient.pts[1][1], 567, 0);
    FW_CHECK_NEAR(fx.u.gradient.pts[3][0], 636, 0);
    FW_CHECK_NEAR(fx.u.gradient.colors[2][2], 0.796, 1e-9);
    FW_CHECK_NEAR(fx.u.gradient.blend, 100, 0);
    FW_CHECK_NEAR(fx.u.gradient.opacity, 1, 0);

    /* Drawn at half size with a matrix: point 1 lands at (62, 227.5). */
    cairo_surface_t *s = new_surface(400, 300);
    fill_rect(s, 0, 0, 400, 300, 255, 0, 0, 0);
    cairo_matrix_t m;
    cairo_matrix_init_scale(&m, 0.5, 0.5);
    FW_CHECK_INT(lt_fx_apply(&fx, s, NULL, 0.5, &m, NULL), FW_OK);
    FW_CHECK_NEAR(R(s, 62, 227), 255, 3);
    FW_CHECK_NEAR(G(s, 62, 227), 202, 3);
    FW_CHECK_NEAR(B(s, 62, 227), 82, 3);
    cairo_surface_destroy(s);
}

static void test_blur_and_shadow_values_as_exported(void)
{
    lt_fx fx;
    lt_fx_value blur[] = {num(10), num(2), num(1), num(1)};
    FW_CHECK_INT(lt_fx_from_values(&fx, lt_fx_kind_of(29, NULL), blur, 4, NULL), FW_OK);
    FW_CHECK_NEAR(fx.u.blur.blurriness, 10, 0);
    FW_CHECK_INT(fx.u.blur.dimensions, LT_FX_BLUR_HORIZONTAL);
    FW_CHECK_INT(fx.u.blur.repeat_edge_pixels, 1);
    FW_CHECK_INT(lt_fx_spread(&fx, 1), 9);  /* 3 sigma, sigma 3 */
    FW_CHECK_INT(lt_fx_spread(&fx, 2), 18);

    /* The same blur through lt_fx_apply and directly gives the same pixels. */
    cairo_surface_t *a = new_surface(40, 40), *b = new_surface(40, 40);
    fill_rect(a, 10, 10, 20, 30, 255, 200, 100, 0);
    fill_rect(b, 10, 10, 20, 30, 255, 200, 100, 0);
    lt_fx_scratch scratch;
    lt_fx_scratch_init(&scratch);
    FW_CHECK_INT(lt_fx_apply(&fx, a, &scratch, 1, NULL, NULL), FW_OK);
    FW_CHECK_INT(lt_fx_gaussian_blur(b, NULL, 10, LT_FX_BLUR_HORIZONTAL, 1, 1, NULL), FW_OK);
    FW_CHECK(memcmp(cairo_image_surface_get_data(a), cairo_image_surface_get_data(b),
                    (size_t)cairo_image_surface_get_stride(a) * 40) == 0);
    FW_CHECK(A(a, 8, 20) > 0);

    /* Drop shadow: opacity is stored 0..255, the rest as AE shows it. */
    lt_fx_value shadow[] = {col(0, 0, 1), num(255), num(90), num(10), num(0), num(1)};
    FW_CHECK_INT(lt_fx_from_values(&fx, LT_FX_DROP_SHADOW, shadow, 6, NULL), FW_OK);
    FW_CHECK_NEAR(fx.u.shadow.opacity, 1, 0);
    FW_CHECK_INT(fx.u.shadow.shadow_only, 1);
    FW_CHECK_INT(lt_fx_spread(&fx, 1), 10);
    fill_rect(a, 0, 0, 40, 40, 0, 0, 0, 0);
    fill_rect(a, 5, 5, 15, 15, 255, 255, 0, 0);
    FW_CHECK_INT(lt_fx_apply(&fx, a, &scratch, 1, NULL, NULL), FW_OK);
    FW_CHECK_INT(*pixel(a, 20, 10), 0xff0000ffu);
    FW_CHECK_INT(A(a, 7, 10), 0);

    /* Missing values take AE's defaults; tint's amount and fill's opacity in their units. */
    FW_CHECK_INT(lt_fx_from_values(&fx, LT_FX_DROP_SHADOW, NULL, 0, NULL), FW_OK);
    FW_CHECK_NEAR(fx.u.shadow.opacity, 0.5, 1e-9);
    FW_CHECK_NEAR(fx.u.shadow.direction, 135, 0);
    lt_fx_value tint[] = {col(0, 0, 0), col(1, 0, 0), num(50)};
    FW_CHECK_INT(lt_fx_from_values(&fx, LT_FX_TINT, tint, 3, NULL), FW_OK);
    FW_CHECK_NEAR(fx.u.tint.amount, 0.5, 0);
    lt_fx_value fill[] = {num(0), num(0), col(0, 1, 0), num(0), num(0), num(0), num(0.75)};
    FW_CHECK_INT(lt_fx_from_values(&fx, LT_FX_FILL, fill, 7, NULL), FW_OK);
    FW_CHECK_NEAR(fx.u.fill.color[1], 1, 0);
    FW_CHECK_NEAR(fx.u.fill.opacity, 0.75, 0);
    lt_fx_value tritone[] = {col(1, 1, 1), col(0.5, 0.5, 0.5), col(0, 0, 0), num(25)};
    FW_CHECK_INT(lt_fx_from_values(&fx, LT_FX_TRITONE, tritone, 4, NULL), FW_OK);
    FW_CHECK_NEAR(fx.u.tritone.blend, 0.25, 0);

    lt_fx_scratch_release(&scratch);
    cairo_surface_destroy(a);
    cairo_surface_destroy(b);
}

int main(void)
{
    FW_RUN(test_fill_paints_green_and_keeps_alpha);
    FW_RUN(test_fill_opacity_mixes_with_the_layer_colour);
    FW_RUN(test_tint_maps_black_and_white_to_the_two_colours);
    FW_RUN(test_tritone_maps_mid_grey_to_the_midtones);
    FW_RUN(test_blur_of_one_pixel_spreads_symmetrically_and_keeps_its_alpha);
    FW_RUN(test_blur_keeps_the_alpha_of_a_larger_shape);
    FW_RUN(test_blur_of_a_sharp_edge_is_half_at_the_edge);
    FW_RUN(test_blur_scales_with_the_layer);
    FW_RUN(test_horizontal_blur_leaves_columns_alone);
    FW_RUN(test_repeat_edge_pixels_keeps_a_full_layer_opaque);
    FW_RUN(test_huge_blurriness_finishes_and_stays_sane);
    FW_RUN(test_drop_shadow_at_90_degrees_falls_to_the_right);
    FW_RUN(test_drop_shadow_only_hides_the_layer);
    FW_RUN(test_soft_drop_shadow_spreads_and_keeps_its_weight);
    FW_RUN(test_four_color_gradient_has_each_colour_at_its_point);
    FW_RUN(test_nonsense_parameters_are_clamped);
    FW_RUN(test_wrong_surfaces_are_refused);
    FW_RUN(test_effects_are_known_by_type_and_match_name);
    FW_RUN(test_four_color_gradient_values_as_exported);
    FW_RUN(test_blur_and_shadow_values_as_exported);
    return fw_test_end();
}
