/*
 * ssim_test.c - the fidelity benchmark's SSIM: what counts as alike, what
 * does not, and the PNG reading and writing it relies on. Pictures are drawn
 * with Cairo, as the engines' frames are.
 */
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/fidelity/ssim.h"
#include "tests/fw_test.h"

#define W 160
#define H 120

/* A frame with edges, curves and flat areas on a transparent background,
 * drawn dx pixels to the right. The caller frees it. */
static uint32_t *draw_scene(int dx)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cairo_t *cr = cairo_create(s);
    uint32_t *pixels = malloc((size_t)W * H * 4);

    cairo_translate(cr, dx, 0);
    cairo_set_source_rgb(cr, 0.9, 0.3, 0.1);
    cairo_rectangle(cr, 10, 10, 60, 40);
    cairo_fill(cr);
    cairo_set_source_rgba(cr, 0.1, 0.4, 0.8, 0.7);
    cairo_arc(cr, 100, 60, 35, 0, 6.2832);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
    cairo_set_line_width(cr, 3);
    for (int i = 0; i < 8; i++) {
        cairo_move_to(cr, 10 + i * 9, 70);
        cairo_line_to(cr, 20 + i * 9, 110);
    }
    cairo_stroke(cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    for (int y = 0; y < H; y++)
        memcpy((char *)pixels + (size_t)y * W * 4, cairo_image_surface_get_data(s) + y * cairo_image_surface_get_stride(s),
               (size_t)W * 4);
    cairo_surface_destroy(s);
    return pixels;
}

static uint32_t *solid(uint32_t pixel, int w, int h)
{
    uint32_t *p = malloc((size_t)w * (size_t)h * 4);
    for (int i = 0; i < w * h; i++)
        p[i] = pixel;
    return p;
}

static double ssim_of(const uint32_t *a, const uint32_t *b)
{
    double s = -1;
    fw_error err;
    fw_error_clear(&err);
    FW_CHECK_INT(fw_ssim_compare(a, W, H, W * 4, b, W, H, W * 4, &s, &err), FW_OK);
    return s;
}

static void test_identical_images_score_one(void)
{
    uint32_t *a = draw_scene(0), *b = draw_scene(0);
    FW_CHECK_NEAR(ssim_of(a, b), 1.0, 1e-9);
    free(a);
    free(b);
}

static void test_a_shift_of_three_pixels_scores_clearly_below_098(void)
{
    uint32_t *a = draw_scene(0), *b = draw_scene(3);
    double s = ssim_of(a, b);
    FW_CHECK_MSG(s < 0.98, "ssim %f for a 3-pixel shift", s);
    FW_CHECK(s > 0.0);
    free(a);
    free(b);
}

static void test_one_level_noise_scores_above_099(void)
{
    uint32_t *a = draw_scene(0), *b = draw_scene(0);
    unsigned seed = 12345;

    /* Every other pixel's opaque colour moves one level up or down, as
     * rounding differences between two rasterisers would. */
    for (int i = 0; i < W * H; i++) {
        seed = seed * 1103515245u + 12345u;
        if ((b[i] >> 24) != 255 || (seed >> 16) % 2)
            continue;
        int up = (seed >> 20) % 2;
        uint32_t out = 0xff000000u;
        for (int shift = 0; shift <= 16; shift += 8) {
            int c = (int)((b[i] >> shift) & 0xff) + (up ? 1 : -1);
            c = c < 0 ? 1 : c > 255 ? 254 : c;
            out |= (uint32_t)c << shift;
        }
        b[i] = out;
    }
    double s = ssim_of(a, b);
    FW_CHECK_MSG(s > 0.99 && s < 1.0, "ssim %f for one-level noise", s);
    free(a);
    free(b);
}

static void test_images_of_different_sizes_are_an_error(void)
{
    uint32_t *a = solid(0xff808080u, W, H), *b = solid(0xff808080u, W, H - 1);
    double s = 0.5;
    fw_error err;
    fw_error_clear(&err);
    FW_CHECK_INT(fw_ssim_compare(a, W, H, W * 4, b, W, H - 1, W * 4, &s, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "size");
    FW_CHECK_CONTAINS(err.message, "160x120 and 160x119");
    FW_CHECK_NEAR(s, 0.0, 0);
    free(a);
    free(b);
}

static void test_images_smaller_than_the_window_are_an_error(void)
{
    uint32_t *a = solid(0xff808080u, 10, 10);
    double s;
    fw_error err;
    fw_error_clear(&err);
    FW_CHECK_INT(fw_ssim_compare(a, 10, 10, 40, a, 10, 10, 40, &s, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "smaller than the 11x11");
    free(a);
}

static void test_transparency_is_judged_over_white(void)
{
    uint32_t *clear = solid(0x00000000u, W, H), *white = solid(0xffffffffu, W, H);
    uint32_t *half_black = solid(0x80000000u, W, H), *grey = solid(0xff7f7f7fu, W, H);
    uint32_t *black = solid(0xff000000u, W, H);

    FW_CHECK_NEAR(ssim_of(clear, white), 1.0, 1e-9);
    FW_CHECK_NEAR(ssim_of(half_black, grey), 1.0, 1e-9);
    FW_CHECK_MSG(ssim_of(clear, black) < 0.01, "transparent vs black %f", ssim_of(clear, black));
    /* Half-transparent red (premultiplied 0x80 red) over white is pink. */
    FW_CHECK_INT(fw_ssim_over_white(0x80800000u), 0xffff7f7fu);
    FW_CHECK_INT(fw_ssim_over_white(0xff123456u), 0xff123456u);
    free(clear);
    free(white);
    free(half_black);
    free(grey);
    free(black);
}

static void test_swapped_red_and_blue_differ(void)
{
    /* A frame filled with orange against the same frame with R and B swapped
     * (blue): what a byte-order mistake in the chain would look like. Luma
     * 116 against 78 costs the luminance term about 7 %; with the drawing on
     * top, structure stays and only the brightness differs. */
    uint32_t *orange = draw_scene(0), *blue = malloc((size_t)W * H * 4);
    for (int i = 0; i < W * H; i++) {
        orange[i] = (orange[i] >> 24) ? orange[i] : 0xffe64c19u;
        uint32_t p = orange[i];
        blue[i] = (p & 0xff00ff00u) | (p >> 16 & 0xff) | (p & 0xff) << 16;
    }
    double s = ssim_of(orange, blue);
    FW_CHECK_MSG(s < 0.95, "ssim %f for swapped red and blue", s);
    free(orange);
    free(blue);
}

static void test_png_round_trip_keeps_pixels(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    uint32_t *a = draw_scene(0), *b = NULL;
    int w = 0, h = 0;
    fw_error err;

    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/scene.png", dir);
    /* Opaque or fully clear pixels survive un-premultiplying exactly. */
    for (int i = 0; i < W * H; i++)
        if ((a[i] >> 24) != 255)
            a[i] = 0;
    fw_error_clear(&err);
    FW_CHECK_INT(fw_ssim_write_png(path, a, W, H, W * 4, &err), FW_OK);
    FW_CHECK_INT(fw_ssim_read_png(path, &b, &w, &h, &err), FW_OK);
    FW_REQUIRE(b);
    FW_CHECK_INT(w, W);
    FW_CHECK_INT(h, H);
    FW_CHECK(memcmp(a, b, (size_t)W * H * 4) == 0);
    snprintf(path, sizeof(path), "%s/scene.png.part", dir);
    FW_CHECK(access(path, F_OK) != 0);
    free(a);
    free(b);
}

static void test_opaque_png_reads_with_full_alpha(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 20, 20);
    cairo_t *cr = cairo_create(s);
    uint32_t *p = NULL;
    int w, h;
    fw_error err;

    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/rgb.png", dir);
    cairo_set_source_rgb(cr, 1, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    FW_REQUIRE(cairo_surface_write_to_png(s, path) == CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(s);
    fw_error_clear(&err);
    FW_CHECK_INT(fw_ssim_read_png(path, &p, &w, &h, &err), FW_OK);
    FW_REQUIRE(p);
    FW_CHECK_INT(p[0], 0xffff0000u);
    FW_CHECK_INT(p[20 * 20 - 1], 0xffff0000u);
    free(p);
}

static void test_unreadable_png_is_an_io_error(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    uint32_t *p = (uint32_t *)1;
    int w = 5, h = 5;
    fw_error err;
    FILE *f;

    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/missing.png", dir);
    fw_error_clear(&err);
    FW_CHECK_INT(fw_ssim_read_png(path, &p, &w, &h, &err), FW_ERR_IO);
    FW_CHECK_CONTAINS(err.message, "missing.png");
    FW_CHECK(p == NULL);
    FW_CHECK_INT(w, 0);

    snprintf(path, sizeof(path), "%s/text.png", dir);
    f = fopen(path, "w");
    FW_REQUIRE(f);
    fputs("not a png at all", f);
    fclose(f);
    FW_CHECK_INT(fw_ssim_read_png(path, &p, &w, &h, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "is not a PNG");
    FW_CHECK(p == NULL);

    /* A PNG cut short after its header. */
    snprintf(path, sizeof(path), "%s/cut.png", dir);
    f = fopen(path, "wb");
    FW_REQUIRE(f);
    fwrite("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 1, 16, f);
    fclose(f);
    FW_CHECK_INT(fw_ssim_read_png(path, &p, &w, &h, &err), FW_ERR_IO);
    FW_CHECK(p == NULL);
}

int main(void)
{
    FW_RUN(test_identical_images_score_one);
    FW_RUN(test_a_shift_of_three_pixels_scores_clearly_below_098);
    FW_RUN(test_one_level_noise_scores_above_099);
    FW_RUN(test_images_of_different_sizes_are_an_error);
    FW_RUN(test_images_smaller_than_the_window_are_an_error);
    FW_RUN(test_transparency_is_judged_over_white);
    FW_RUN(test_swapped_red_and_blue_differ);
    FW_RUN(test_png_round_trip_keeps_pixels);
    FW_RUN(test_opaque_png_reads_with_full_alpha);
    FW_RUN(test_unreadable_png_is_an_io_error);
    return fw_test_end();
}
