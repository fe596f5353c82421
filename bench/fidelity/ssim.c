/* ssim.c - SSIM of two frames over white, and PNG in and out; see ssim.h. */
#include "bench/fidelity/ssim.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SSIM_SIGMA 1.5
#define SSIM_C1 ((0.01 * 255) * (0.01 * 255))
#define SSIM_C2 ((0.03 * 255) * (0.03 * 255))

/* The five local statistics SSIM needs, in the order they are filtered. */
enum { MEAN_A, MEAN_B, SQUARE_A, SQUARE_B, PRODUCT, PLANES };

static void gaussian_weights(double w[FW_SSIM_WINDOW])
{
    double sum = 0;
    int half = FW_SSIM_WINDOW / 2;

    for (int i = 0; i < FW_SSIM_WINDOW; i++) {
        double d = i - half;
        w[i] = exp(-(d * d) / (2 * SSIM_SIGMA * SSIM_SIGMA));
        sum += w[i];
    }
    for (int i = 0; i < FW_SSIM_WINDOW; i++)
        w[i] /= sum;
}

/* Luma of every pixel composited over white, into a width x height plane. */
static void luma_over_white(const uint32_t *pixels, int width, int height, size_t stride, float *out)
{
    for (int y = 0; y < height; y++) {
        const uint32_t *row = (const uint32_t *)((const char *)pixels + (size_t)y * stride);
        for (int x = 0; x < width; x++) {
            uint32_t p = fw_ssim_over_white(row[x]);
            out[(size_t)y * (size_t)width + (size_t)x] =
                (float)(0.299 * ((p >> 16) & 0xff) + 0.587 * ((p >> 8) & 0xff) + 0.114 * (p & 0xff));
        }
    }
}

/* The horizontal half of the separable window: for each row and each
 * window position, the weighted sums of a, b, a^2, b^2 and ab. */
static void filter_rows(const float *a, const float *b, int width, int height, const double *w, float *planes[PLANES])
{
    int out_width = width - FW_SSIM_WINDOW + 1;

    for (int y = 0; y < height; y++) {
        const float *ra = a + (size_t)y * (size_t)width, *rb = b + (size_t)y * (size_t)width;
        for (int x = 0; x < out_width; x++) {
            double s[PLANES] = {0};
            for (int k = 0; k < FW_SSIM_WINDOW; k++) {
                double va = ra[x + k], vb = rb[x + k];
                s[MEAN_A] += w[k] * va;
                s[MEAN_B] += w[k] * vb;
                s[SQUARE_A] += w[k] * va * va;
                s[SQUARE_B] += w[k] * vb * vb;
                s[PRODUCT] += w[k] * va * vb;
            }
            for (int p = 0; p < PLANES; p++)
                planes[p][(size_t)y * (size_t)out_width + (size_t)x] = (float)s[p];
        }
    }
}

/* The vertical half, and the mean of the SSIM map it gives. */
static double mean_ssim(float *planes[PLANES], int out_width, int height, const double *w)
{
    int out_height = height - FW_SSIM_WINDOW + 1;
    double total = 0;

    for (int y = 0; y < out_height; y++) {
        for (int x = 0; x < out_width; x++) {
            double s[PLANES] = {0};
            for (int k = 0; k < FW_SSIM_WINDOW; k++) {
                size_t at = (size_t)(y + k) * (size_t)out_width + (size_t)x;
                for (int p = 0; p < PLANES; p++)
                    s[p] += w[k] * planes[p][at];
            }
            double mu_a = s[MEAN_A], mu_b = s[MEAN_B];
            double var_a = s[SQUARE_A] - mu_a * mu_a, var_b = s[SQUARE_B] - mu_b * mu_b;
            double cov = s[PRODUCT] - mu_a * mu_b;
            total += ((2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)) /
                     ((mu_a * mu_a + mu_b * mu_b + SSIM_C1) * (var_a + var_b + SSIM_C2));
        }
    }
    return total / ((double)out_width * (double)out_height);
}

fw_err fw_ssim_compare(const uint32_t *a, int a_width, int a_height, size_t a_stride, const uint32_t *b,
                       int b_width, int b_height, size_t b_stride, double *ssim, fw_error *err)
{
    double w[FW_SSIM_WINDOW];
    float *luma_a = NULL, *luma_b = NULL, *planes[PLANES] = {0};
    fw_err rc = FW_OK;
    size_t pixels, filtered;

    *ssim = 0;
    if (a_width != b_width || a_height != b_height)
        return fw_error_set(err, FW_ERR_INVALID, "size", "the images differ in size: %dx%d and %dx%d", a_width,
                            a_height, b_width, b_height);
    if (a_width < FW_SSIM_WINDOW || a_height < FW_SSIM_WINDOW)
        return fw_error_set(err, FW_ERR_INVALID, "size", "%dx%d is smaller than the %dx%d SSIM window", a_width,
                            a_height, FW_SSIM_WINDOW, FW_SSIM_WINDOW);
    if (a_stride < (size_t)a_width * 4 || b_stride < (size_t)b_width * 4)
        return fw_error_set(err, FW_ERR_INVALID, "stride", "a stride is shorter than a row of %d pixels", a_width);

    pixels = (size_t)a_width * (size_t)a_height;
    filtered = (size_t)(a_width - FW_SSIM_WINDOW + 1) * (size_t)a_height;
    luma_a = malloc(pixels * sizeof(float));
    luma_b = malloc(pixels * sizeof(float));
    int have_all = luma_a && luma_b;
    for (int p = 0; p < PLANES; p++) {
        planes[p] = malloc(filtered * sizeof(float));
        have_all = have_all && planes[p];
    }
    if (!have_all) {
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory comparing %dx%d images", a_width, a_height);
        goto done;
    }
    gaussian_weights(w);
    luma_over_white(a, a_width, a_height, a_stride, luma_a);
    luma_over_white(b, b_width, b_height, b_stride, luma_b);
    filter_rows(luma_a, luma_b, a_width, a_height, w, planes);
    *ssim = mean_ssim(planes, a_width - FW_SSIM_WINDOW + 1, a_height, w);
done:
    free(luma_a);
    free(luma_b);
    for (int p = 0; p < PLANES; p++)
        free(planes[p]);
    return rc;
}

/* Cairo reports most unreadable files as "out of memory"; look first. */
static fw_err check_png_signature(const char *path, fw_error *err)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    size_t got;

    if (!f)
        return fw_error_set(err, FW_ERR_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    got = fread(head, 1, sizeof(head), f);
    fclose(f);
    if (got != sizeof(head) || memcmp(head, signature, sizeof(head)) != 0)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "%s is not a PNG file", path);
    return FW_OK;
}

fw_err fw_ssim_read_png(const char *path, uint32_t **pixels, int *width, int *height, fw_error *err)
{
    cairo_surface_t *png, *argb = NULL;
    cairo_status_t status;
    fw_err rc;
    int w, h;

    *pixels = NULL;
    *width = *height = 0;
    if ((rc = check_png_signature(path, err)))
        return rc;
    png = cairo_image_surface_create_from_png(path);
    status = cairo_surface_status(png);
    if (status != CAIRO_STATUS_SUCCESS) {
        rc = fw_error_set(err, FW_ERR_IO, NULL, "cannot read %s as a PNG: %s", path, cairo_status_to_string(status));
        goto done;
    }
    w = cairo_image_surface_get_width(png);
    h = cairo_image_surface_get_height(png);
    /* Opaque PNGs come back as RGB24, whose fourth byte is undefined; drawing
     * onto an ARGB32 surface gives every format the one layout. */
    argb = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    if (cairo_surface_status(argb) != CAIRO_STATUS_SUCCESS) {
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory reading %s (%dx%d)", path, w, h);
        goto done;
    }
    cairo_t *cr = cairo_create(argb);
    cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
    cairo_set_source_surface(cr, png, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    cairo_surface_flush(argb);

    *pixels = malloc((size_t)w * (size_t)h * 4);
    if (!*pixels) {
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory reading %s (%dx%d)", path, w, h);
        goto done;
    }
    const unsigned char *data = cairo_image_surface_get_data(argb);
    int stride = cairo_image_surface_get_stride(argb);
    for (int y = 0; y < h; y++)
        memcpy((char *)*pixels + (size_t)y * (size_t)w * 4, data + (size_t)y * (size_t)stride, (size_t)w * 4);
    *width = w;
    *height = h;
done:
    if (argb)
        cairo_surface_destroy(argb);
    cairo_surface_destroy(png);
    return rc;
}

fw_err fw_ssim_write_png(const char *path, const uint32_t *pixels, int width, int height, size_t stride,
                         fw_error *err)
{
    cairo_surface_t *surface;
    cairo_status_t status;
    char tmp[4096];
    int stride_needed = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, width);

    if (width <= 0 || height <= 0 || stride_needed < 0 || stride != (size_t)stride_needed)
        return fw_error_set(err, FW_ERR_INVALID, "stride", "cannot write a %dx%d image with stride %zu", width,
                            height, stride);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.part", path) >= sizeof(tmp))
        return fw_error_set(err, FW_ERR_INVALID, "path", "the path %s is too long", path);
    /* Cairo only reads the pixels when writing a PNG. */
    surface = cairo_image_surface_create_for_data((unsigned char *)(uintptr_t)pixels, CAIRO_FORMAT_ARGB32, width,
                                                  height, (int)stride);
    status = cairo_surface_write_to_png(surface, tmp);
    cairo_surface_destroy(surface);
    if (status != CAIRO_STATUS_SUCCESS) {
        unlink(tmp);
        return fw_error_set(err, FW_ERR_IO, NULL, "cannot write %s: %s", path, cairo_status_to_string(status));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fw_error_set(err, FW_ERR_IO, NULL, "cannot write %s: %s", path, strerror(e));
    }
    return FW_OK;
}
