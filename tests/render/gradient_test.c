/*
 * The engine's own gradients against Cairo's: the same pattern painted by
 * Cairo and by gradient.c, pixel by pixel, for linear and focal radial
 * gradients with opacity stops; and the sampling step it picks.
 */
#include <cairo.h>
#include <stdlib.h>
#include <string.h>

#include "server/render/cairo/gradient.h"
#include "tests/fw_test.h"

#define W 160
#define H 120

static int max_difference(cairo_pattern_t *pat, const cairo_matrix_t *ctm)
{
    static uint32_t ours[W * H];
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cairo_t *cr = cairo_create(s);
    lt_gradient g;
    int worst = 0;

    cairo_set_matrix(cr, ctm);
    cairo_set_source(cr, pat);
    cairo_paint(cr);
    cairo_surface_flush(s);
    if (lt_gradient_from_pattern(&g, pat, ctm) != 0) {
        worst = 999;
        goto done;
    }
    lt_gradient_draw(&g, ours, W * 4, 0, 0, 1, W, H);
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint32_t a = ((const uint32_t *)(data + (size_t)y * stride))[x], b = ours[y * W + x];
            for (int c = 0; c < 32; c += 8) {
                int d = abs((int)((a >> c) & 255) - (int)((b >> c) & 255));
                if (d > worst)
                    worst = d;
            }
        }
done:
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return worst;
}

static void test_linear_gradient_matches_cairo(void)
{
    cairo_pattern_t *p = cairo_pattern_create_linear(10, 20, 140, 90);
    cairo_matrix_t m;
    cairo_pattern_add_color_stop_rgba(p, 0, 1, 0, 0, 1);
    cairo_pattern_add_color_stop_rgba(p, 0.4, 0, 1, 0, 0.5);
    cairo_pattern_add_color_stop_rgba(p, 1, 0, 0, 1, 1);
    cairo_pattern_set_extend(p, CAIRO_EXTEND_PAD);
    cairo_matrix_init_identity(&m);
    FW_CHECK_MSG(max_difference(p, &m) <= 3, "differs by %d", max_difference(p, &m));
    /* Through a rotated, scaled user space. */
    cairo_matrix_init_rotate(&m, 0.3);
    cairo_matrix_scale(&m, 0.8, 1.2);
    FW_CHECK_MSG(max_difference(p, &m) <= 3, "differs by %d", max_difference(p, &m));
    cairo_pattern_destroy(p);
}

static void test_focal_radial_gradient_matches_cairo(void)
{
    cairo_pattern_t *p = cairo_pattern_create_radial(90, 55, 0, 80, 60, 70);
    cairo_matrix_t m;
    cairo_pattern_add_color_stop_rgba(p, 0, 1, 1, 1, 1);
    cairo_pattern_add_color_stop_rgba(p, 0.7, 0.2, 0.4, 0.9, 0.8);
    cairo_pattern_add_color_stop_rgba(p, 1, 0, 0, 0, 0);
    cairo_pattern_set_extend(p, CAIRO_EXTEND_PAD);
    cairo_matrix_init_identity(&m);
    FW_CHECK_MSG(max_difference(p, &m) <= 3, "differs by %d", max_difference(p, &m));
    cairo_pattern_destroy(p);
}

static void test_other_forms_are_left_to_cairo(void)
{
    cairo_pattern_t *p = cairo_pattern_create_radial(0, 0, 5, 0, 0, 50); /* a start circle */
    cairo_matrix_t m;
    lt_gradient g;
    cairo_matrix_init_identity(&m);
    FW_CHECK(lt_gradient_from_pattern(&g, p, &m) != 0);
    cairo_pattern_destroy(p);
    p = cairo_pattern_create_linear(0, 0, 10, 0);
    cairo_pattern_set_extend(p, CAIRO_EXTEND_REPEAT);
    FW_CHECK(lt_gradient_from_pattern(&g, p, &m) != 0);
    cairo_pattern_destroy(p);
    p = cairo_pattern_create_linear(0, 0, 10, 0);
    cairo_matrix_init_scale(&m, 0, 1);
    FW_CHECK(lt_gradient_from_pattern(&g, p, &m) != 0); /* not invertible */
    cairo_pattern_destroy(p);
}

static void test_sampling_step_keeps_hard_stops_sharp(void)
{
    cairo_pattern_t *p = cairo_pattern_create_linear(0, 0, 1000, 0);
    cairo_matrix_t m;
    lt_gradient g;
    cairo_matrix_init_identity(&m);
    cairo_pattern_add_color_stop_rgba(p, 0, 1, 0, 0, 1);
    cairo_pattern_add_color_stop_rgba(p, 1, 0, 0, 1, 1);
    FW_REQUIRE(lt_gradient_from_pattern(&g, p, &m) == 0);
    FW_CHECK_INT(lt_gradient_step(&g, p), 4); /* smooth over 1000 px */
    cairo_pattern_add_color_stop_rgba(p, 0.5, 0, 1, 0, 1);
    cairo_pattern_add_color_stop_rgba(p, 0.5, 1, 1, 0, 1); /* a hard edge */
    FW_REQUIRE(lt_gradient_from_pattern(&g, p, &m) == 0);
    FW_CHECK_INT(lt_gradient_step(&g, p), 1);
    cairo_pattern_destroy(p);
}

int main(void)
{
    FW_RUN(test_linear_gradient_matches_cairo);
    FW_RUN(test_focal_radial_gradient_matches_cairo);
    FW_RUN(test_other_forms_are_left_to_cairo);
    FW_RUN(test_sampling_step_keeps_hard_stops_sharp);
    return fw_test_end();
}
