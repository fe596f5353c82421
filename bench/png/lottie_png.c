/*
 * lottie_png - draw frames of a Lottie file with the Cairo engine's model and
 * drawing alone, into PNG files, for looking at what the engine does.
 *
 *   lottie_png [--ref PNG] FILE.json OUT_PREFIX [FRAME ...]
 *
 * Without frames: the first, one third and two thirds (fractional frames
 * are fine). Writes OUT_PREFIX.<frame>.png at the composition's size; with
 * --ref, also prints each frame's SSIM against that picture, which finds
 * the frame a reference shows.
 */
#include <cairo.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/render/cairo/draw.h"
#include "bench/fidelity/ssim.h"
#include "server/render/cairo/model.h"
#include "server/util/fs.h"

int main(int argc, char **argv)
{
    lt_doc *doc = NULL;
    lt_draw *draw = NULL;
    fw_error err;
    size_t len;
    char *json, dir[4096];
    double frames[64];
    int nframes = 0;
    const char *ref = NULL;
    uint32_t *ref_px = NULL;
    int ref_w = 0, ref_h = 0;

    if (argc > 2 && strcmp(argv[1], "--ref") == 0) {
        ref = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (ref && fw_ssim_read_png(ref, &ref_px, &ref_w, &ref_h, &err) != FW_OK) {
        fprintf(stderr, "%s: %s\n", ref, err.message);
        return 1;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: lottie_png FILE.json OUT_PREFIX [FRAME ...]\n");
        return 2;
    }
    json = fw_read_file(argv[1], (size_t)1 << 30, &len, &err);
    if (!json) {
        fprintf(stderr, "%s: %s\n", argv[1], err.message);
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s", argv[1]);
    if (lt_doc_load(&doc, json, len, dirname(dir), &err) || lt_draw_new(&draw, doc, &err)) {
        fprintf(stderr, "%s: %s\n", argv[1], err.message);
        free(json);
        lt_doc_free(&doc);
        return 1;
    }
    free(json);
    for (int i = 3; i < argc && nframes < 64; i++)
        frames[nframes++] = atof(argv[i]);
    if (nframes == 0) {
        int n = (int)(doc->op - doc->ip + 0.5);
        frames[0] = 0, frames[1] = n / 3, frames[2] = 2 * n / 3, nframes = 3;
    }
    int w = (int)(doc->w + 0.5), h = (int)(doc->h + 0.5);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    for (int i = 0; i < nframes; i++) {
        char out[4096];
        cairo_surface_flush(s);
        if (lt_draw_frame(draw, frames[i], (uint32_t *)cairo_image_surface_get_data(s), w, h,
                          (size_t)cairo_image_surface_get_stride(s), &err)) {
            fprintf(stderr, "frame %g: %s\n", frames[i], err.message);
            continue;
        }
        cairo_surface_mark_dirty(s);
        snprintf(out, sizeof(out), "%s.%g.png", argv[2], frames[i]);
        cairo_surface_write_to_png(s, out);
        if (ref_px) {
            double ssim = 0;
            if (fw_ssim_compare((const uint32_t *)cairo_image_surface_get_data(s), w, h,
                                (size_t)cairo_image_surface_get_stride(s), ref_px, ref_w, ref_h, (size_t)ref_w * 4,
                                &ssim, &err) == FW_OK)
                printf("frame %g: ssim %.4f\n", frames[i], ssim);
            else
                printf("frame %g: %s\n", frames[i], err.message);
        }
    }
    if (doc->unsupported)
        fprintf(stderr, "not drawn: %s\n", doc->unsupported_what);
    cairo_surface_destroy(s);
    free(ref_px);
    lt_draw_free(&draw);
    lt_doc_free(&doc);
    return 0;
}
