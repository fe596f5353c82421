/*
 * The render pipeline end to end: a job and a template in, a file out,
 * checked with ffprobe's figures and the pixels where the layers are.
 */
#include <dirent.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

#include "server/jobs/job.h"
#include "server/media/codec.h"
#include "server/media/encoder.h"
#include "server/media/media_log.h"
#include "server/media/probe.h"
#include "server/util/fs.h"
#include "server/work/render_job.h"
#include "tests/fw_test.h"
#include "tests/work/rendered.h"

#define HELLO "tests/examples/hello/template.json"

static char hello_path[PATH_MAX];

typedef struct cancel_state {
    atomic_int flag;
} cancel_state;

static void cancel_when_rendering(void *user, const char *stage, double percent)
{
    cancel_state *s = user;
    (void)percent;
    if (strcmp(stage, "render") == 0)
        atomic_store(&s->flag, 1);
}

/* Render job_text (template.src may be relative to job_dir) into dir/name. */
static void render(rendered *r, const char *job_text, const char *job_dir, const char *dir, const char *name,
                   cancel_state *cancel)
{
    render_job_text(r, job_text, job_dir, dir, name, cancel ? cancel_when_rendering : NULL, cancel,
                    cancel ? &cancel->flag : NULL);
}

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* RGBA of one pixel of a decoded picture. */
static const uint8_t *pixel(const uint8_t *rgba, int width, int x, int y) { return rgba + ((size_t)y * width + x) * 4; }

static int near_colour(const uint8_t *p, int r, int g, int b, int tolerance)
{
    return abs(p[0] - r) <= tolerance && abs(p[1] - g) <= tolerance && abs(p[2] - b) <= tolerance;
}

/* Run ffprobe on a file and return one stream field's value ("" when absent). */
static const char *ffprobe(const char *path, const char *field, char *buf, size_t size)
{
    char cmd[PATH_MAX + 256];
    FILE *p;
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=%s -of "
             "default=noprint_wrappers=1:nokey=1 '%s' 2>/dev/null",
             field, path);
    buf[0] = '\0';
    p = popen(cmd, "r");
    if (!p)
        return buf;
    if (!fgets(buf, (int)size, p))
        buf[0] = '\0';
    pclose(p);
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

static void test_hello_job_renders_h264_as_the_settings_ask(void)
{
    const char *dir = fw_test_tmpdir();
    char job[1024], v[128];
    fw_media_info info;
    fw_error err;
    rendered r;

    snprintf(job, sizeof(job),
             "{\"template\":{\"src\":\"%s\",\"composition\":\"main\"},"
             "\"settings\":{\"type\":\"video\",\"codec\":\"video_h264_cbr_5mbps\"}}",
             hello_path);
    render(&r, job, NULL, dir, "hello.mp4", NULL);
    FW_REQUIRE(r.rc == FW_OK);
    FW_CHECK_INT(r.result.frames, 90);
    FW_CHECK_STR(r.result.codec, "video_h264_cbr_5mbps");
    FW_REQUIRE(fw_media_probe(r.path, &info, &err) == FW_OK);
    FW_CHECK_STR(info.codec, "h264");
    FW_CHECK_INT(info.width, 1280);
    FW_CHECK_INT(info.height, 720);
    FW_CHECK_INT(info.frame_count, 90);
    FW_CHECK_STR(info.pixel_format, "yuv420p");
    /* CBR pads to the rate asked for. */
    FW_CHECK_MSG(info.bit_rate > 5000000 * 0.85 && info.bit_rate < 5000000 * 1.15, "bit rate %lld",
                 (long long)info.bit_rate);
    /* The same figures from ffprobe itself. */
    FW_CHECK_STR(ffprobe(r.path, "codec_name", v, sizeof(v)), "h264");
    FW_CHECK_STR(ffprobe(r.path, "r_frame_rate", v, sizeof(v)), "30/1");
    FW_CHECK_STR(ffprobe(r.path, "nb_read_frames", v, sizeof(v)), "90");
    FW_CHECK_STR(ffprobe(r.path, "pix_fmt", v, sizeof(v)), "yuv420p");
    /* Only the output is left: the scratch folder is gone. */
    FW_CHECK_INT(files_in(dir), 1);
    {
        /* The output has the mode any new file would get, not mkstemp's 0600. */
        struct stat st;
        mode_t mask = umask(022);
        umask(mask);
        FW_REQUIRE(stat(r.path, &st) == 0);
        FW_CHECK_INT(st.st_mode & 0777, 0666 & ~mask);
    }
    done(&r);
    fw_remove_tree(dir);
}

/* Render frame 60 of the hello template with these assets (and engine; NULL: the default) and
 * decode it. */
static uint8_t *hello_frame_by(const char *assets, const char *engine, int *width, int *height, fw_err *rc,
                              fw_error *err_out)
{
    const char *dir = fw_test_tmpdir();
    char job[4096];
    uint8_t *rgba = NULL;
    fw_error err;
    rendered r;

    snprintf(job, sizeof(job),
             "{\"template\":{\"src\":\"%s\"},\"assets\":[%s],\"settings\":{\"type\":\"image\",\"frames\":60%s%s%s}}",
             hello_path, assets, engine ? ",\"engine\":\"" : "", engine ? engine : "", engine ? "\"" : "");
    render(&r, job, NULL, dir, "frame.png", NULL);
    *rc = r.rc;
    if (err_out)
        *err_out = r.err;
    if (r.rc == FW_OK && fw_media_decode_frame(r.path, 0, &rgba, width, height, &err) != FW_OK)
        rgba = NULL;
    done(&r);
    fw_remove_tree(dir);
    return rgba;
}

static uint8_t *hello_frame(const char *assets, int *width, int *height, fw_err *rc, fw_error *err_out)
{
    return hello_frame_by(assets, NULL, width, height, rc, err_out);
}

static void test_data_asset_colour_shows_where_the_layer_is(void)
{
    int w, h;
    fw_err rc;
    uint8_t *before = hello_frame("", &w, &h, &rc, NULL);
    uint8_t *after = hello_frame("{\"type\":\"data\",\"layerName\":\"logo\",\"property\":\"Fill Color\","
                                 "\"value\":[0.16,0.68,0.98]}",
                                 &w, &h, &rc, NULL);
    FW_REQUIRE(before && after);
    FW_CHECK_INT(w, 1280);
    /* The logo sits at (640, 250): orange before, the new blue after. */
    FW_CHECK(near_colour(pixel(before, w, 640, 250), 255, 106, 0, 3));
    FW_CHECK_MSG(near_colour(pixel(after, w, 640, 250), 41, 173, 250, 3), "got %d,%d,%d",
                 pixel(after, w, 640, 250)[0], pixel(after, w, 640, 250)[1], pixel(after, w, 640, 250)[2]);
    /* The background did not change. */
    FW_CHECK(near_colour(pixel(after, w, 40, 40), 0x1d, 0x2b, 0x53, 3));
    free(before);
    free(after);
}

static void test_settings_engine_selects_rlottie_or_cairo(void)
{
    int w1, h1, w2, h2, differ = 0;
    fw_err rc;
    fw_error err;
    uint8_t *cairo = hello_frame_by("", "cairo", &w1, &h1, &rc, NULL);
    uint8_t *rl = hello_frame_by("", "rlottie", &w2, &h2, &rc, NULL);

    FW_REQUIRE(cairo && rl);
    FW_CHECK_INT(w1, w2);
    FW_CHECK_INT(h1, h2);
    /* Both draw the orange logo over the navy background; edges may differ by anti-aliasing. */
    FW_CHECK(near_colour(pixel(cairo, w1, 640, 250), 255, 106, 0, 3));
    FW_CHECK(near_colour(pixel(rl, w2, 640, 250), 255, 106, 0, 3));
    FW_CHECK(near_colour(pixel(cairo, w1, 40, 40), 0x1d, 0x2b, 0x53, 3));
    for (int i = 0; i < w1 * h1; i++)
        differ += abs(cairo[i * 4] - rl[i * 4]) > 32 || abs(cairo[i * 4 + 1] - rl[i * 4 + 1]) > 32;
    FW_CHECK_MSG(differ < w1 * h1 / 100, "%d pixels differ", differ);
    free(cairo);
    free(rl);

    FW_CHECK(hello_frame_by("", "nope", &w1, &h1, &rc, &err) == NULL);
    FW_CHECK_INT(rc, FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "settings.engine");
    FW_CHECK_CONTAINS(err.message, "cairo, rlottie");
}

/* Near-white pixels and pixels that differ, in the text's band. */
static void text_band(const uint8_t *a, const uint8_t *b, int w, int *white_a, int *white_b, int *differ)
{
    *white_a = *white_b = *differ = 0;
    for (int y = 380; y < 500; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *pa = pixel(a, w, x, y), *pb = pixel(b, w, x, y);
            *white_a += near_colour(pa, 255, 255, 255, 40);
            *white_b += near_colour(pb, 255, 255, 255, 40);
            *differ += !near_colour(pa, pb[0], pb[1], pb[2], 8);
        }
}

static void test_text_asset_replaces_the_text_inside_the_layer_box(void)
{
    int w, h, white_a, white_b, differ, outside = 0;
    fw_err rc;
    uint8_t *before = hello_frame("", &w, &h, &rc, NULL);
    uint8_t *after =
        hello_frame("{\"type\":\"text\",\"layerName\":\"title\",\"value\":\"WWWW iiii WWWW\"}", &w, &h, &rc, NULL);
    FW_REQUIRE(before && after);
    text_band(before, after, w, &white_a, &white_b, &differ);
    /* Both have text drawn in white, and not the same text. */
    FW_CHECK_MSG(white_a > 2000, "%d white pixels before", white_a);
    FW_CHECK_MSG(white_b > 2000, "%d white pixels after", white_b);
    FW_CHECK_MSG(differ > 2000, "%d pixels differ", differ);
    /* Nothing changed above the text band. */
    for (int y = 0; y < 350; y++)
        for (int x = 0; x < w; x++)
            outside += !near_colour(pixel(before, w, x, y), pixel(after, w, x, y)[0], pixel(after, w, x, y)[1],
                                    pixel(after, w, x, y)[2], 2);
    FW_CHECK_INT(outside, 0);
    free(before);
    free(after);
}

static void test_layer_remove_function_takes_the_layer_away(void)
{
    int w, h;
    fw_err rc;
    uint8_t *after = hello_frame("{\"type\":\"function\",\"name\":\"nx-layer-remove\",\"layerName\":\"logo\"}", &w,
                                 &h, &rc, NULL);
    FW_REQUIRE(after);
    FW_CHECK(near_colour(pixel(after, w, 640, 250), 0x1d, 0x2b, 0x53, 3));
    free(after);
}

static void test_unknown_layer_is_refused_with_the_layers_there_are_and_nothing_written(void)
{
    const char *dir = fw_test_tmpdir();
    char job[1024];
    rendered r;

    snprintf(job, sizeof(job),
             "{\"template\":{\"src\":\"%s\",\"composition\":\"main\"},"
             "\"assets\":[{\"type\":\"text\",\"layerName\":\"titel\",\"value\":\"x\"}]}",
             hello_path);
    render(&r, job, NULL, dir, "out.mp4", NULL);
    FW_CHECK(r.rc == FW_ERR_NOT_FOUND || r.rc == FW_ERR_INVALID);
    FW_CHECK_STR(r.err.field, "assets[0].layerName");
    FW_CHECK_CONTAINS(r.err.message, "no layer 'titel' in composition 'main'");
    FW_CHECK_CONTAINS(r.err.message, "title, logo, bg");
    FW_CHECK_INT(files_in(dir), 0);
    done(&r);
    fw_remove_tree(dir);
}

static void test_unknown_composition_and_codec_are_refused(void)
{
    const char *dir = fw_test_tmpdir();
    char job[1024];
    rendered r;

    snprintf(job, sizeof(job), "{\"template\":{\"src\":\"%s\",\"composition\":\"mian\"}}", hello_path);
    render(&r, job, NULL, dir, "out.mp4", NULL);
    FW_CHECK(r.rc != FW_OK);
    FW_CHECK_CONTAINS(r.err.message, "main");
    done(&r);

    snprintf(job, sizeof(job), "{\"template\":{\"src\":\"%s\"},\"settings\":{\"codec\":\"h264_vbr_9mbps\"}}",
             hello_path);
    render(&r, job, NULL, dir, "out.mp4", NULL);
    FW_CHECK(r.rc == FW_ERR_INVALID);
    FW_CHECK_STR(r.err.field, "settings.codec");
    done(&r);

    snprintf(job, sizeof(job), "{\"template\":{\"src\":\"%s\"},\"settings\":{\"frames\":[200,300]}}", hello_path);
    render(&r, job, NULL, dir, "out.mp4", NULL);
    FW_CHECK(r.rc == FW_ERR_INVALID);
    FW_CHECK_STR(r.err.field, "settings.frames");
    done(&r);

    render(&r, "{\"template\":{\"src\":\"no-such-template.json\"}}", dir, dir, "out.mp4", NULL);
    FW_CHECK(r.rc == FW_ERR_NOT_FOUND);
    FW_CHECK_STR(r.err.field, "template.src");
    done(&r);
    FW_CHECK_INT(files_in(dir), 0);
    fw_remove_tree(dir);
}

static void test_cancelling_stops_the_render_and_leaves_nothing(void)
{
    const char *dir = fw_test_tmpdir();
    cancel_state cancel;
    char job[1024];
    rendered r;

    atomic_init(&cancel.flag, 0);
    snprintf(job, sizeof(job), "{\"template\":{\"src\":\"%s\"}}", hello_path);
    render(&r, job, NULL, dir, "out.mp4", &cancel);
    FW_CHECK(r.rc == FW_ERR_CANCELLED);
    FW_CHECK_INT(files_in(dir), 0);
    done(&r);
    fw_remove_tree(dir);
}

static void test_preview_renders_small_and_aep_saves_the_patched_template(void)
{
    const char *dir = fw_test_tmpdir();
    char job[1024];
    fw_media_info info;
    fw_error err;
    size_t len;
    char *text;
    rendered r;

    snprintf(job, sizeof(job), "{\"template\":{\"src\":\"%s\"},\"preview\":true}", hello_path);
    render(&r, job, NULL, dir, "preview.mp4", NULL);
    FW_REQUIRE(r.rc == FW_OK);
    FW_REQUIRE(fw_media_probe(r.path, &info, &err) == FW_OK);
    FW_CHECK_INT(info.width, 640);
    FW_CHECK_INT(info.height, 360);
    FW_CHECK_INT(info.frame_count, 90);
    done(&r);

    snprintf(job, sizeof(job),
             "{\"template\":{\"src\":\"%s\"},\"settings\":{\"type\":\"aep\"},"
             "\"assets\":[{\"type\":\"text\",\"layerName\":\"title\",\"value\":\"Saved project\"}]}",
             hello_path);
    render(&r, job, NULL, dir, "project.json", NULL);
    FW_REQUIRE(r.rc == FW_OK);
    text = fw_read_file(r.path, 1 << 24, &len, &err);
    FW_REQUIRE(text);
    FW_CHECK_CONTAINS(text, "Saved project");
    FW_CHECK(strstr(text, "Hello, Framewright") == NULL);
    free(text);
    done(&r);
    fw_remove_tree(dir);
}

/* Writes a w x h PNG of one colour with the project's own encoder. */
static int write_png(const char *path, int w, int h, uint32_t argb)
{
    const fw_codec *codec;
    fw_encoder_options o = {0};
    fw_encoder *enc = NULL;
    fw_frame *f;
    fw_error err;

    if (fw_codec_find("image_png", FW_CODEC_IMAGE, &codec, &err))
        return -1;
    o.codec = codec;
    o.width = w;
    o.height = h;
    o.fps_num = 30;
    o.fps_den = 1;
    o.output_path = path;
    o.frame_count = 1;
    if (fw_encoder_open(&enc, &o, &err) || fw_encoder_frame_acquire(enc, &f, &err))
        return -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            f->pixels[(size_t)y * (size_t)f->stride / 4 + (size_t)x] = argb;
    if (fw_encoder_frame_submit(enc, f, &err) || fw_encoder_finish(enc, &err))
        return -1;
    fw_encoder_free(&enc);
    return 0;
}

static void test_image_asset_appears_where_its_layer_is(void)
{
    const char *dir = fw_test_tmpdir();
    char path[PATH_MAX], job[2048];
    uint8_t *rgba = NULL;
    int w, h;
    fw_error err;
    rendered r;

    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/images", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/images/placeholder.png", dir);
    FW_REQUIRE(write_png(path, 200, 200, 0xffff0000u) == 0); /* red */
    snprintf(path, sizeof(path), "%s/green.png", dir);
    FW_REQUIRE(write_png(path, 200, 200, 0xff00ff00u) == 0);
    {
        size_t len;
        char *tpl = fw_read_file("tests/work/testdata/image_layer.json", 1 << 20, &len, &err);
        FILE *f;
        FW_REQUIRE(tpl);
        snprintf(path, sizeof(path), "%s/image_layer.json", dir);
        f = fopen(path, "w");
        fwrite(tpl, 1, len, f);
        fclose(f);
        free(tpl);
    }

    /* Without the asset: the placeholder (red) at the layer. */
    render(&r, "{\"template\":{\"src\":\"image_layer.json\"},\"settings\":{\"type\":\"image\",\"frames\":0}}", dir,
           dir, "before.png", NULL);
    FW_REQUIRE(r.rc == FW_OK);
    FW_REQUIRE(fw_media_decode_frame(r.path, 0, &rgba, &w, &h, &err) == FW_OK);
    FW_CHECK(near_colour(pixel(rgba, w, 300, 200), 255, 0, 0, 3));
    FW_CHECK(near_colour(pixel(rgba, w, 20, 20), 255, 255, 255, 3));
    free(rgba);
    done(&r);

    snprintf(job, sizeof(job),
             "{\"template\":{\"src\":\"image_layer.json\"},\"settings\":{\"type\":\"image\",\"frames\":0},"
             "\"assets\":[{\"type\":\"image\",\"layerName\":\"photo\",\"src\":\"green.png\"}]}");
    render(&r, job, dir, dir, "after.png", NULL);
    FW_REQUIRE(r.rc == FW_OK);
    FW_REQUIRE(fw_media_decode_frame(r.path, 0, &rgba, &w, &h, &err) == FW_OK);
    FW_CHECK_MSG(near_colour(pixel(rgba, w, 300, 200), 0, 255, 0, 3), "got %d,%d,%d", pixel(rgba, w, 300, 200)[0],
                 pixel(rgba, w, 300, 200)[1], pixel(rgba, w, 300, 200)[2]);
    /* Outside the layer's box the picture is untouched. */
    FW_CHECK(near_colour(pixel(rgba, w, 20, 20), 255, 255, 255, 3));
    free(rgba);
    done(&r);
    fw_remove_tree(dir);
}

/* A zip bundle: the template, its image under images/, a font under fonts/. */
static int write_bundle(const char *zip_path, const char *dir)
{
    const char *members[][2] = {
        {"card/image_layer.json", "image_layer.json"},
        {"card/images/placeholder.png", "images/placeholder.png"},
        {"card/fonts/DejaVuSerif.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"},
        {"__MACOSX/card/._image_layer.json", "image_layer.json"},
    };
    int zerr = 0;
    zip_t *z = zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z)
        return -1;
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        char from[PATH_MAX];
        zip_source_t *src;
        if (members[i][1][0] == '/')
            snprintf(from, sizeof(from), "%s", members[i][1]);
        else
            snprintf(from, sizeof(from), "%s/%s", dir, members[i][1]);
        src = zip_source_file(z, from, 0, -1);
        if (!src || zip_file_add(z, members[i][0], src, ZIP_FL_ENC_UTF_8) < 0) {
            zip_source_free(src);
            zip_discard(z);
            return -1;
        }
    }
    return zip_close(z) == 0 ? 0 : -1;
}

/* Make a test data file (relative to the runfiles) appear at path. */
static int symlink_test_file(const char *file, const char *path)
{
    char real[PATH_MAX];
    return realpath(file, real) ? symlink(real, path) : -1;
}

static void copy_test_template(const char *dir)
{
    char path[PATH_MAX];
    fw_error err;
    size_t len;
    char *tpl = fw_read_file("tests/work/testdata/image_layer.json", 1 << 20, &len, &err);
    FILE *f;
    if (!tpl)
        return;
    snprintf(path, sizeof(path), "%s/image_layer.json", dir);
    f = fopen(path, "w");
    fwrite(tpl, 1, len, f);
    fclose(f);
    free(tpl);
}

static void test_zip_bundle_renders_with_its_images_and_leaves_no_scratch(void)
{
    const char *dir = fw_test_tmpdir();
    char path[PATH_MAX], out_dir[PATH_MAX];
    uint8_t *rgba = NULL;
    int w, h;
    fw_error err;
    rendered r;

    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/images", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/images/placeholder.png", dir);
    FW_REQUIRE(write_png(path, 200, 200, 0xff0000ffu) == 0); /* blue */
    copy_test_template(dir);
    snprintf(path, sizeof(path), "%s/card.zip", dir);
    FW_REQUIRE(write_bundle(path, dir) == 0);
    snprintf(out_dir, sizeof(out_dir), "%s/out", dir);
    mkdir(out_dir, 0700);

    render(&r, "{\"template\":{\"src\":\"card.zip\"},\"settings\":{\"type\":\"image\",\"frames\":0}}", dir,
           out_dir, "card.png", NULL);
    FW_REQUIRE(r.rc == FW_OK);
    FW_REQUIRE(fw_media_decode_frame(r.path, 0, &rgba, &w, &h, &err) == FW_OK);
    FW_CHECK_INT(w, 600);
    FW_CHECK(near_colour(pixel(rgba, w, 300, 200), 0, 0, 255, 3));
    FW_CHECK(near_colour(pixel(rgba, w, 20, 20), 255, 255, 255, 3));
    /* The bundle was unpacked into a scratch folder that is gone now. */
    FW_CHECK_INT(files_in(out_dir), 1);
    free(rgba);
    done(&r);
    fw_remove_tree(dir);
}

static void test_job_fonts_are_used_and_missing_ones_reported(void)
{
    const char *dir = fw_test_tmpdir();
    char job[2048], path[PATH_MAX];
    uint8_t *with_font = NULL, *without = NULL;
    int w, h, differ = 0;
    fw_error err;
    rendered r;
    char *names;

    FW_REQUIRE(dir);
    /* The hello template asking for DejaVu Serif, which the job may bring along. */
    snprintf(path, sizeof(path), "%s/serif.json", dir);
    FW_REQUIRE(symlink_test_file("tests/work/testdata/serif_title.json", path) == 0);

    /* This machine has only DejaVu Sans (see main): the serif is missing, and
     * the sans face stands in for it. */
    render(&r, "{\"template\":{\"src\":\"serif.json\"},\"settings\":{\"type\":\"image\",\"frames\":60}}", dir,
           dir, "without.png", NULL);
    FW_REQUIRE(r.rc == FW_OK);
    FW_CHECK_INT(json_array_size(r.result.missing_fonts), 1);
    FW_CHECK_STR(json_string_value(json_array_get(r.result.missing_fonts, 0)), "DejaVuSerif");
    FW_REQUIRE(fw_media_decode_frame(r.path, 0, &without, &w, &h, &err) == FW_OK);
    done(&r);

    snprintf(job, sizeof(job),
             "{\"template\":{\"src\":\"serif.json\"},\"fonts\":[\"/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf\"],"
             "\"settings\":{\"type\":\"image\",\"frames\":60}}");
    render(&r, job, dir, dir, "with.png", NULL);
    FW_REQUIRE(r.rc == FW_OK);
    FW_CHECK_INT(json_array_size(r.result.missing_fonts), 0);
    FW_REQUIRE(fw_media_decode_frame(r.path, 0, &with_font, &w, &h, &err) == FW_OK);
    done(&r);
    for (int y = 380; y < 500; y++)
        for (int x = 0; x < w; x++)
            differ += !near_colour(pixel(with_font, w, x, y), pixel(without, w, x, y)[0], pixel(without, w, x, y)[1],
                                   pixel(without, w, x, y)[2], 8);
    FW_CHECK_MSG(differ > 1000, "the serif face changed only %d pixels", differ);

    /* A job font that is not there is reported, and the render goes on. */
    render(&r, "{\"template\":{\"src\":\"serif.json\"},\"fonts\":[\"NoSuchFont.ttf\"],"
               "\"settings\":{\"type\":\"image\",\"frames\":0}}",
           dir, dir, "missing.png", NULL);
    FW_CHECK(r.rc == FW_OK);
    names = json_dumps(r.result.missing_fonts, 0);
    FW_CHECK_CONTAINS(names, "NoSuchFont.ttf");
    free(names);
    done(&r);
    free(with_font);
    free(without);
    fw_remove_tree(dir);
}

/* The machine's fonts, as fontconfig sees them, are one face only: which of
 * a template's fonts are missing does not depend on what this machine has
 * installed. */
static int machine_with_only_dejavu_sans(char *conf, size_t size)
{
    const char *dir = fw_test_tmpdir();
    FILE *f;
    if (!dir)
        return -1;
    snprintf(conf, size, "%s/fonts", dir);
    if (mkdir(conf, 0700) != 0)
        return -1;
    snprintf(conf, size, "%s/fonts/DejaVuSans.ttf", dir);
    if (symlink("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", conf) != 0)
        return -1;
    snprintf(conf, size, "%s/fonts.conf", dir);
    if (!(f = fopen(conf, "w")))
        return -1;
    fprintf(f, "<?xml version=\"1.0\"?>\n<fontconfig>\n  <dir>%s/fonts</dir>\n"
               "  <cachedir>%s/cache</cachedir>\n</fontconfig>\n",
            dir, dir);
    fclose(f);
    return setenv("FONTCONFIG_FILE", conf, 1);
}

int main(void)
{
    char conf[PATH_MAX];

    fw_media_log_init();
    if (machine_with_only_dejavu_sans(conf, sizeof(conf)) != 0) {
        fprintf(stderr, "cannot write a fontconfig file\n");
        return 1;
    }
    if (!realpath(HELLO, hello_path)) {
        fprintf(stderr, "cannot find %s\n", HELLO);
        return 1;
    }
    FW_RUN(test_hello_job_renders_h264_as_the_settings_ask);
    FW_RUN(test_data_asset_colour_shows_where_the_layer_is);
    FW_RUN(test_settings_engine_selects_rlottie_or_cairo);
    FW_RUN(test_text_asset_replaces_the_text_inside_the_layer_box);
    FW_RUN(test_layer_remove_function_takes_the_layer_away);
    FW_RUN(test_unknown_layer_is_refused_with_the_layers_there_are_and_nothing_written);
    FW_RUN(test_unknown_composition_and_codec_are_refused);
    FW_RUN(test_cancelling_stops_the_render_and_leaves_nothing);
    FW_RUN(test_preview_renders_small_and_aep_saves_the_patched_template);
    FW_RUN(test_image_asset_appears_where_its_layer_is);
    FW_RUN(test_zip_bundle_renders_with_its_images_and_leaves_no_scratch);
    FW_RUN(test_job_fonts_are_used_and_missing_ones_reported);
    return fw_test_end();
}
