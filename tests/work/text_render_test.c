/*
 * text_render_test.c - text as both engines draw it, checked on the pixels:
 * a text asset's "fit" (replaced text shrinks, and wraps, into the room its
 * layer gives it) and text on a path.
 *
 * testdata/text_fit.json (800x400 on #1d2b53) has a paragraph layer "name"
 * whose box spans x 150..650, y 85..195 in the frame, and a centred point
 * layer "title" with "Hello" at (400, 330), both white.
 * testdata/text_path.json (the same frame) sets text on mask paths: "flat"
 * on a line from (100, 100) to (700, 100), first margin 20; "down" on a line
 * from (700, 150) to (700, 390); "spread", "ABC" force-aligned on a line from
 * (50, 300) to (550, 300) with margins of 10.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/media/probe.h"
#include "server/media/media_log.h"
#include "server/util/fs.h"
#include "tests/fw_test.h"
#include "tests/work/rendered.h"

#define TEMPLATE "tests/work/testdata/text_fit.json"
#define PATH_TEMPLATE "tests/work/testdata/text_path.json"
#define LONG_NAME "Maximilian Alexander Featherstonehaugh-Wellington"

static char template_path[PATH_MAX], path_template_path[PATH_MAX];

/* Where the white text is: the bounds of the ink in a region. */
typedef struct ink {
    int count;
    int x0, y0, x1, y1; /* inclusive; x0 > x1 when there is none */
    int bands;          /* runs of rows with ink: lines of text */
    int band_x0[8], band_x1[8]; /* the first 8 bands' ink from left to right */
} ink;

static int is_ink(const uint8_t *p) { return p[0] > 0x80 && p[1] > 0x80 && p[2] > 0x80; }

static ink ink_in(const uint8_t *rgba, int w, int x0, int y0, int x1, int y1)
{
    ink k = {.x0 = x1 + 1, .y0 = y1 + 1, .x1 = -1, .y1 = -1};
    int in_band = 0, gap = 0;
    for (int y = y0; y <= y1; y++) {
        int row = 0;
        for (int x = x0; x <= x1; x++) {
            if (!is_ink(rgba + ((size_t)y * w + x) * 4))
                continue;
            row++;
            k.x0 = x < k.x0 ? x : k.x0;
            k.x1 = x > k.x1 ? x : k.x1;
            k.y0 = y < k.y0 ? y : k.y0;
            k.y1 = y;
        }
        k.count += row;
        /* A band ends after 3 empty rows (the gap between lines). */
        if (row) {
            if (!in_band && k.bands < 8) {
                k.band_x0[k.bands] = x1 + 1;
                k.band_x1[k.bands] = -1;
            }
            if (!in_band)
                k.bands++;
            in_band = 1;
            gap = 0;
            if (k.bands <= 8)
                for (int x = x0; x <= x1; x++)
                    if (is_ink(rgba + ((size_t)y * w + x) * 4)) {
                        int b = k.bands - 1;
                        k.band_x0[b] = x < k.band_x0[b] ? x : k.band_x0[b];
                        k.band_x1[b] = x > k.band_x1[b] ? x : k.band_x1[b];
                    }
        } else if (in_band && ++gap >= 3) {
            in_band = 0;
        }
    }
    return k;
}

/* Render frame 0 of a template with these assets; NULL when it failed (rc
 * and err say why). */
static uint8_t *frame_of(const char *tpl, const char *assets, const char *engine, int *w, int *h, fw_err *rc,
                         fw_error *err)
{
    const char *dir = fw_test_tmpdir();
    char job[4096];
    uint8_t *rgba = NULL;
    fw_error e;
    rendered r;

    if (!dir)
        return NULL;
    snprintf(job, sizeof(job),
             "{\"template\":{\"src\":\"%s\"},\"assets\":[%s],\"settings\":{\"type\":\"image\",\"frames\":0,"
             "\"engine\":\"%s\"}}",
             tpl, assets, engine);
    render_job_text(&r, job, NULL, dir, "frame.png", NULL, NULL, NULL);
    *rc = r.rc;
    if (err)
        *err = r.err;
    if (r.rc == FW_OK && fw_media_decode_frame(r.path, 0, &rgba, w, h, &e) != FW_OK)
        rgba = NULL;
    done(&r);
    fw_remove_tree(dir);
    return rgba;
}

static uint8_t *frame(const char *assets, const char *engine, int *w, int *h, fw_err *rc, fw_error *err)
{
    return frame_of(template_path, assets, engine, w, h, rc, err);
}

static const char *const engines[] = {"cairo", "rlottie"};

static void test_an_overflowing_name_is_shrunk_until_its_ink_is_inside_the_box(void)
{
    for (size_t e = 0; e < 2; e++) {
        int w, h;
        fw_err rc;
        uint8_t *plain = frame("{\"type\":\"text\",\"layerName\":\"name\",\"value\":\"" LONG_NAME "\"}", engines[e],
                               &w, &h, &rc, NULL);
        uint8_t *fitted = frame("{\"type\":\"text\",\"layerName\":\"name\",\"value\":\"" LONG_NAME "\","
                                "\"fit\":{\"mode\":\"shrink\"}}",
                                engines[e], &w, &h, &rc, NULL);
        FW_REQUIRE(plain && fitted);
        /* Unfitted, the name wraps into more lines than the box holds. */
        ink below = ink_in(plain, w, 0, 200, w - 1, 280);
        FW_CHECK_MSG(below.count > 200, "%s: %d ink pixels below the box without fit", engines[e], below.count);
        /* Fitted: all of the name layer's ink is in the box, and there is some. */
        ink all = ink_in(fitted, w, 0, 0, w - 1, 280);
        FW_CHECK_MSG(all.count > 1500, "%s: %d ink pixels", engines[e], all.count);
        FW_CHECK_MSG(all.x0 >= 149 && all.x1 <= 650 && all.y0 >= 84 && all.y1 <= 196,
                     "%s: ink at x %d..%d, y %d..%d; the box is x 150..650, y 85..195", engines[e], all.x0, all.x1,
                     all.y0, all.y1);
        /* It wrapped into lines rather than shrinking to one tiny line. */
        FW_CHECK_MSG(all.bands >= 2, "%s: %d lines", engines[e], all.bands);
        FW_CHECK_MSG(all.y1 - all.y0 > 40, "%s: the text is only %d px high", engines[e], all.y1 - all.y0);
        /* The title layer is as the template has it. */
        uint8_t *sample = frame("", engines[e], &w, &h, &rc, NULL);
        FW_REQUIRE(sample);
        ink title_a = ink_in(sample, w, 0, 281, w - 1, h - 1), title_b = ink_in(fitted, w, 0, 281, w - 1, h - 1);
        FW_CHECK_INT(title_a.count, title_b.count);
        free(sample);
        free(plain);
        free(fitted);
    }
}

static void test_a_short_name_keeps_its_designed_size(void)
{
    int w, h;
    fw_err rc;
    uint8_t *plain = frame("{\"type\":\"text\",\"layerName\":\"name\",\"value\":\"Bo\"}", "cairo", &w, &h, &rc, NULL);
    uint8_t *fitted = frame("{\"type\":\"text\",\"layerName\":\"name\",\"value\":\"Bo\",\"fit\":{\"mode\":\"shrink\"}}",
                            "cairo", &w, &h, &rc, NULL);
    FW_REQUIRE(plain && fitted);
    FW_CHECK(memcmp(plain, fitted, (size_t)w * h * 4) == 0);
    free(plain);
    free(fitted);
}

static void test_point_text_shrinks_to_the_width_its_sample_took_about_the_same_point(void)
{
    for (size_t e = 0; e < 2; e++) {
        int w, h;
        fw_err rc;
        uint8_t *sample = frame("", engines[e], &w, &h, &rc, NULL);
        uint8_t *shrunk = frame("{\"type\":\"text\",\"layerName\":\"title\",\"value\":\"Hello, wonderful world\","
                                "\"fit\":{\"mode\":\"shrink\",\"minSize\":4}}",
                                engines[e], &w, &h, &rc, NULL);
        uint8_t *wrapped = frame("{\"type\":\"text\",\"layerName\":\"title\",\"value\":\"Hello, wonderful world\","
                                 "\"fit\":{\"mode\":\"wrap-shrink\",\"minSize\":4}}",
                                 engines[e], &w, &h, &rc, NULL);
        FW_REQUIRE(sample && shrunk && wrapped);
        ink a = ink_in(sample, w, 0, 250, w - 1, h - 1), b = ink_in(shrunk, w, 0, 250, w - 1, h - 1),
            c = ink_in(wrapped, w, 0, 250, w - 1, h - 1);
        FW_REQUIRE(a.count > 500 && b.count > 100 && c.count > 100);
        /* Within the sample's advance width (its ink and the side bearings
         * of its first and last letters: 7 px at this size), centred on
         * the layer's point, one line; its baseline stays on 330. */
        FW_CHECK_MSG(b.x0 >= a.x0 - 7 && b.x1 <= a.x1 + 7, "%s: shrunk ink x %d..%d, the sample's %d..%d",
                     engines[e], b.x0, b.x1, a.x0, a.x1);
        FW_CHECK_MSG(abs((b.x0 + b.x1) / 2 - 400) <= 3, "%s: centred at %d", engines[e], (b.x0 + b.x1) / 2);
        FW_CHECK_INT(b.bands, 1);
        FW_CHECK_MSG(b.y1 <= 331 && b.y1 >= 326, "%s: the shrunk line ends at y %d", engines[e], b.y1);
        /* Wrapped: two lines, larger than the single shrunk line. */
        FW_CHECK_INT(c.bands, 2);
        FW_CHECK_MSG(c.x0 >= a.x0 - 7 && c.x1 <= a.x1 + 7, "%s: wrapped ink x %d..%d, the sample's %d..%d",
                     engines[e], c.x0, c.x1, a.x0, a.x1);
        FW_CHECK_MSG(c.count > b.count, "%s: wrapped %d ink pixels, one line %d", engines[e], c.count, b.count);
        free(sample);
        free(shrunk);
        free(wrapped);
    }
}

static void test_a_data_asset_on_source_text_fits_and_other_properties_refuse_fit(void)
{
    int w, h;
    fw_err rc;
    fw_error err;
    uint8_t *fitted = frame("{\"type\":\"data\",\"layerName\":\"name\",\"property\":\"Source Text\",\"value\":\"" LONG_NAME
                            "\",\"fit\":{\"mode\":\"wrap-shrink\",\"maxLines\":2}}",
                            "cairo", &w, &h, &rc, NULL);
    FW_REQUIRE(fitted);
    ink k = ink_in(fitted, w, 0, 0, w - 1, 280);
    FW_CHECK_MSG(k.bands <= 2 && k.bands >= 1, "%d lines", k.bands);
    FW_CHECK_MSG(k.x0 >= 149 && k.x1 <= 650 && k.y0 >= 84 && k.y1 <= 196, "ink at x %d..%d, y %d..%d", k.x0, k.x1,
                 k.y0, k.y1);
    free(fitted);

    FW_CHECK(frame("{\"type\":\"data\",\"layerName\":\"name\",\"property\":\"Opacity\",\"value\":50,"
                   "\"fit\":{\"mode\":\"shrink\"}}",
                   "cairo", &w, &h, &rc, &err) == NULL);
    FW_CHECK(rc == FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[0].fit");
    FW_CHECK_CONTAINS(err.message, "Source Text");
}

static void test_a_bad_fit_is_refused_with_its_field(void)
{
    static const struct {
        const char *fit, *field, *says;
    } cases[] = {
        {"\"cover\"", "assets[0].fit", "object"},
        {"{\"mode\":\"squeeze\"}", "assets[0].fit.mode", "wrap-shrink"},
        {"{}", "assets[0].fit.mode", "required"},
        {"{\"mode\":\"shrink\",\"minSize\":-1}", "assets[0].fit.minSize", "at least 0"},
        {"{\"mode\":\"shrink\",\"maxLines\":1.5}", "assets[0].fit.maxLines", "whole number"},
        {"{\"mode\":\"shrink\",\"lines\":2}", "", "unknown field 'lines' in assets[0].fit"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char assets[512];
        int w, h;
        fw_err rc;
        fw_error err;
        snprintf(assets, sizeof(assets), "{\"type\":\"text\",\"layerName\":\"name\",\"value\":\"x\",\"fit\":%s}",
                 cases[i].fit);
        FW_CHECK(frame(assets, "cairo", &w, &h, &rc, &err) == NULL);
        FW_CHECK(rc == FW_ERR_INVALID);
        FW_CHECK_STR(err.field, cases[i].field);
        FW_CHECK_CONTAINS(err.message, cases[i].says);
    }
}

/* Each justification of a three-line paragraph in the 500 px box (x 150..650). */
static void test_each_justification_of_a_three_line_paragraph(void)
{
    static const char *const names[] = {"left", "right", "center", "justify-last-left", "justify-last-right",
                                        "justify-last-center", "justify-all"};
    for (size_t e = 0; e < 2; e++)
        for (int j = 0; j < 7; j++) {
            char asset[512];
            int w, h;
            fw_err rc;
            snprintf(asset, sizeof(asset),
                     "{\"type\":\"data\",\"layerName\":\"name\",\"property\":\"Source Text\",\"value\":{"
                     "\"text\":\"The quick brown fox jumps over the lazy dog while five wizards box quickly\","
                     "\"fontSize\":30,\"leading\":40,\"justification\":\"%s\"}}",
                     names[j]);
            uint8_t *f = frame(asset, engines[e], &w, &h, &rc, NULL);
            FW_REQUIRE(f);
            ink k = ink_in(f, w, 0, 0, w - 1, 280);
            FW_CHECK_MSG(k.bands == 3, "%s %s: %d lines", engines[e], names[j], k.bands);
            if (k.bands != 3) {
                free(f);
                continue;
            }
            for (int b = 0; b < 3; b++) {
                int x0 = k.band_x0[b], x1 = k.band_x1[b], last = b == 2;
                int at_left = x0 >= 149 && x0 <= 156, at_right = x1 >= 643 && x1 <= 650;
                int centred = abs((x0 + x1) / 2 - 400) <= 4, full = at_left && at_right;
                int ok;
                switch (j) {
                case 0: ok = at_left; break;
                case 1: ok = at_right; break;
                case 2: ok = centred; break;
                case 3: ok = last ? at_left && !at_right : full; break;
                case 4: ok = last ? at_right && !at_left : full; break;
                case 5: ok = last ? centred && !full : full; break;
                default: ok = full; break;
                }
                FW_CHECK_MSG(ok, "%s %s: line %d has ink at x %d..%d (the box is 150..650)", engines[e], names[j],
                             b + 1, x0, x1);
            }
            free(f);
        }
}

static void test_text_follows_its_path(void)
{
    for (size_t e = 0; e < 2; e++) {
        int w, h;
        fw_err rc;
        uint8_t *f = frame_of(path_template_path, "", engines[e], &w, &h, &rc, NULL);
        FW_REQUIRE(f);
        /* On the flat line: from the first margin (and F's side bearing),
         * the baseline on the line. */
        ink flat = ink_in(f, w, 0, 40, 640, 130);
        FW_CHECK_MSG(flat.count > 1000, "%s: %d ink pixels", engines[e], flat.count);
        FW_CHECK_MSG(flat.x0 >= 120 && flat.x0 <= 128, "%s: flat text starts at x %d", engines[e], flat.x0);
        ink f_letter = ink_in(f, w, 110, 40, 145, 130); /* the F sits on the baseline; the g goes below */
        FW_CHECK_MSG(f_letter.y1 >= 98 && f_letter.y1 <= 101, "%s: F ends at y %d (baseline 100)", engines[e],
                     f_letter.y1);
        FW_CHECK_MSG(flat.y1 >= 104 && flat.y1 <= 112, "%s: the descender ends at y %d", engines[e], flat.y1);
        FW_CHECK_INT(flat.bands, 1);
        /* Down the vertical line, perpendicular: the letters lie on their
         * side to the right of it, one after another downwards. */
        ink down = ink_in(f, w, 650, 130, w - 1, h - 1);
        FW_CHECK_MSG(down.count > 500, "%s: %d ink pixels", engines[e], down.count);
        FW_CHECK_MSG(down.x0 >= 698 && down.x1 <= 735, "%s: down text at x %d..%d", engines[e], down.x0, down.x1);
        FW_CHECK_MSG(down.y0 >= 150 && down.y0 <= 156 && down.y1 - down.y0 > 90, "%s: down text at y %d..%d",
                     engines[e], down.y0, down.y1);
        FW_CHECK_MSG(down.bands == 4, "%s: %d letters down the line", engines[e], down.bands);
        /* Force alignment: A at the first margin, C ending at the last. */
        ink a = ink_in(f, w, 0, 250, 200, 320), c = ink_in(f, w, 400, 250, 640, 320);
        FW_CHECK_MSG(a.count > 100 && a.x0 >= 58 && a.x0 <= 64, "%s: A at x %d", engines[e], a.x0);
        FW_CHECK_MSG(c.count > 100 && c.x1 >= 534 && c.x1 <= 540, "%s: C ends at x %d", engines[e], c.x1);
        free(f);
    }
}

int main(void)
{
    fw_media_log_init();
    if (!realpath(TEMPLATE, template_path) || !realpath(PATH_TEMPLATE, path_template_path)) {
        fprintf(stderr, "cannot find %s or %s\n", TEMPLATE, PATH_TEMPLATE);
        return 1;
    }
    FW_RUN(test_an_overflowing_name_is_shrunk_until_its_ink_is_inside_the_box);
    FW_RUN(test_a_short_name_keeps_its_designed_size);
    FW_RUN(test_point_text_shrinks_to_the_width_its_sample_took_about_the_same_point);
    FW_RUN(test_a_data_asset_on_source_text_fits_and_other_properties_refuse_fit);
    FW_RUN(test_a_bad_fit_is_refused_with_its_field);
    FW_RUN(test_each_justification_of_a_three_line_paragraph);
    FW_RUN(test_text_follows_its_path);
    return fw_test_end();
}
