/*
 * footage_render_test.c - video assets through the render pipeline: a clip
 * whose pictures say their number by colour is put in a layer, and each
 * output frame is read back where the layer is. The clip follows the
 * layer: rotation, start time, stretch, another frame rate, looping or
 * holding its last picture; precomps and solids take clips too. Clips that
 * cannot play fail the job on the asset's field with nothing written.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/jobs/job.h"
#include "server/media/codec.h"
#include "server/media/footage.h"
#include "server/media/probe.h"
#include "server/util/fs.h"
#include "server/work/render_job.h"
#include "tests/fw_test.h"
#include "tests/media/synthetic.h"
#include "tests/work/rendered.h"

static char dir[PATH_MAX];

static void render(rendered *r, const char *job_text, const char *name)
{
    render_job_text(r, job_text, dir, dir, name, NULL, NULL, NULL);
    if (r->rc)
        fprintf(stderr, "render %s: %s (%s)\n", name, r->err.message, r->err.field);
}

static int write_text(const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int make_clip(const char *name, int width, int height, int fps, int frames)
{
    const fw_codec *h264;
    fw_error err = {0};
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (fw_codec_find("h264_vbr_15mbps", FW_CODEC_VIDEO, &h264, &err) != FW_OK ||
        encode_numbered_as(h264, path, width, height, fps, 1, frames, 1, &err) != FW_OK) {
        fprintf(stderr, "clip %s: %s\n", name, err.message);
        return -1;
    }
    return 0;
}

#define STATIC_KS(px, py, ax, ay) \
    "\"ks\":{\"o\":{\"a\":0,\"k\":100},\"r\":{\"a\":0,\"k\":0},\"p\":{\"a\":0,\"k\":[" #px "," #py ",0]}," \
    "\"a\":{\"a\":0,\"k\":[" #ax "," #ay ",0]},\"s\":{\"a\":0,\"k\":[100,100,100]}}"

#define BACKGROUND(op) \
    "{\"ddd\":0,\"ind\":9,\"ty\":1,\"nm\":\"bg\",\"sc\":\"#e0e0e0\",\"sw\":640,\"sh\":360,\"sr\":1,\"st\":0," \
    "\"ip\":0,\"op\":" #op "," STATIC_KS(0, 0, 0, 0) "}"

/* 640x360 at fps, frames long: layer_json over a light grey background
 * (a colour that says no number). */
static int write_template(const char *name, int fps, int frames, const char *assets_json, const char *layer_json)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "{\"v\":\"5.7.4\",\"fr\":%d,\"ip\":0,\"op\":%d,\"w\":640,\"h\":360,\"nm\":\"main\",\"ddd\":0,"
             "\"assets\":[{\"id\":\"placeholder\",\"w\":320,\"h\":180,\"u\":\"\",\"p\":\"placeholder.png\",\"e\":0}%s],"
             "\"layers\":[%s," BACKGROUND(100000) "]}",
             fps, frames, assets_json, layer_json);
    return write_text(name, text);
}

/* The colour number at (x, y) of every output frame: numbers[frame]; -1 for
 * a colour that says none (the white background). Returns frames read. */
static int read_output(const char *path, double fps, int frames, int x, int y, int *numbers)
{
    fw_footage_options opts = {.width = 640, .height = 360};
    fw_footage *f = NULL;
    fw_error err = {0};
    int n = 0;
    if (fw_footage_open(&f, path, &opts, &err) != FW_OK) {
        fprintf(stderr, "reading %s: %s\n", path, err.message);
        return 0;
    }
    for (; n < frames; n++) {
        fw_footage_picture pic;
        if (fw_footage_picture_at(f, (n + 0.5) / fps, &pic, &err) != FW_OK)
            break;
        uint32_t p = pic.pixels[(size_t)y * pic.stride / 4 + (size_t)x];
        numbers[n] = number_of_colour((int)(p >> 16 & 255), (int)(p >> 8 & 255), (int)(p & 255));
    }
    fw_footage_free(&f);
    return n;
}

/* Count frames whose number differs from want[]; print the first few. */
static int mismatches(const char *what, const int *got, const int *want, int frames)
{
    int wrong = 0;
    for (int i = 0; i < frames; i++)
        if (got[i] != want[i] && wrong++ < 4)
            fprintf(stderr, "  %s: output frame %d shows %d, not %d\n", what, i, got[i], want[i]);
    return wrong;
}

static long long probe_frames(const char *path)
{
    fw_media_info info;
    fw_error err;
    return fw_media_probe(path, &info, &err) == FW_OK ? (long long)info.frame_count : -1;
}

static void test_clip_frame_n_at_output_frame_n_in_a_rotating_image_layer(void)
{
    FW_REQUIRE(make_clip("clip30.mp4", 320, 180, 30, 60) == 0);
    FW_REQUIRE(write_template("rotating.json", 30, 60, "",
                              "{\"ddd\":0,\"ind\":1,\"ty\":2,\"nm\":\"clip\",\"refId\":\"placeholder\",\"sr\":1,"
                              "\"st\":0,\"ip\":0,\"op\":60,\"ks\":{\"o\":{\"a\":0,\"k\":100},"
                              "\"r\":{\"a\":1,\"k\":[{\"t\":0,\"s\":[0],\"i\":{\"x\":[1],\"y\":[1]},"
                              "\"o\":{\"x\":[0],\"y\":[0]}},{\"t\":60,\"s\":[90]}]},"
                              "\"p\":{\"a\":0,\"k\":[320,180,0]},\"a\":{\"a\":0,\"k\":[160,90,0]},"
                              "\"s\":{\"a\":0,\"k\":[100,100,100]}}}") == 0);
    rendered r;
    render(&r,
           "{\"template\":{\"src\":\"rotating.json\"},\"settings\":{\"type\":\"video\",\"codec\":\"h264_vbr_15mbps\"},"
           "\"assets\":[{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"clip30.mp4\"}]}",
           "rotating.mp4");
    FW_REQUIRE(r.rc == FW_OK);
    FW_CHECK_INT(r.result.frames, 60);
    FW_CHECK_INT(probe_frames(r.path), 60);

    int centre[60], side[60], want[60];
    FW_REQUIRE(read_output(r.path, 30, 60, 320, 180, centre) == 60);
    for (int i = 0; i < 60; i++)
        want[i] = i;
    FW_CHECK_INT(mismatches("centre", centre, want, 60), 0);
    /* 150 px right of the centre is inside the layer while it is level, and
     * outside once it has turned 45 degrees (the layer is 180 high). */
    FW_REQUIRE(read_output(r.path, 30, 60, 470, 180, side) == 60);
    FW_CHECK_INT(side[2], 2);
    FW_CHECK_INT(side[30], -1);
    done(&r);
}

static void test_a_25_fps_clip_in_a_60_fps_composition_shows_the_covering_frames(void)
{
    FW_REQUIRE(make_clip("clip25.mp4", 320, 180, 25, 50) == 0);
    FW_REQUIRE(write_template("sixty.json", 60, 120, "",
                              "{\"ddd\":0,\"ind\":1,\"ty\":2,\"nm\":\"clip\",\"refId\":\"placeholder\",\"sr\":1,"
                              "\"st\":0,\"ip\":0,\"op\":120," STATIC_KS(320, 180, 160, 90) "}") == 0);
    rendered r;
    render(&r,
           "{\"template\":{\"src\":\"sixty.json\"},\"settings\":{\"type\":\"video\",\"codec\":\"h264_vbr_15mbps\"},"
           "\"assets\":[{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"clip25.mp4\"}]}",
           "sixty.mp4");
    FW_REQUIRE(r.rc == FW_OK);
    FW_CHECK_INT(probe_frames(r.path), 120);
    int got[120], want[120];
    FW_REQUIRE(read_output(r.path, 60, 120, 320, 180, got) == 120);
    for (int n = 0; n < 120; n++)
        want[n] = n * 25 / 60;
    FW_CHECK_INT(mismatches("60 fps", got, want, 120), 0);
    done(&r);
}

static void test_a_precomp_takes_the_clip_with_its_start_time_and_stretch(void)
{
    /* The precomp starts at frame 15 and plays at half speed (stretch 2). */
    FW_REQUIRE(make_clip("clip30.mp4", 320, 180, 30, 60) == 0);
    FW_REQUIRE(write_template("precomp.json", 30, 60,
                              ",{\"id\":\"slot\",\"w\":320,\"h\":180,\"layers\":[{\"ddd\":0,\"ind\":1,\"ty\":1,"
                              "\"nm\":\"grey\",\"sc\":\"#808080\",\"sw\":320,\"sh\":180,\"sr\":1,\"st\":0,\"ip\":0,"
                              "\"op\":1000," STATIC_KS(0, 0, 0, 0) "}]}",
                              "{\"ddd\":0,\"ind\":1,\"ty\":0,\"nm\":\"slot\",\"refId\":\"slot\",\"w\":320,\"h\":180,"
                              "\"sr\":2,\"st\":15,\"ip\":15,\"op\":60," STATIC_KS(320, 180, 160, 90) "}") == 0);
    rendered r;
    render(&r,
           "{\"template\":{\"src\":\"precomp.json\"},\"settings\":{\"type\":\"video\",\"codec\":\"h264_vbr_15mbps\"},"
           "\"assets\":[{\"type\":\"video\",\"layerName\":\"slot\",\"src\":\"clip30.mp4\"}]}",
           "precomp.mp4");
    FW_REQUIRE(r.rc == FW_OK);
    int got[60], want[60];
    FW_REQUIRE(read_output(r.path, 30, 60, 320, 180, got) == 60);
    for (int n = 0; n < 60; n++)
        want[n] = n < 15 ? -1 : (n - 15) / 2;
    FW_CHECK_INT(mismatches("precomp", got, want, 60), 0);
    done(&r);
}

static void test_a_short_clip_holds_its_last_frame_or_loops(void)
{
    FW_REQUIRE(make_clip("short.mp4", 160, 90, 30, 20) == 0);
    /* A solid as the placeholder: it becomes an image over its box. */
    FW_REQUIRE(write_template("solid.json", 30, 60, "",
                              "{\"ddd\":0,\"ind\":1,\"ty\":1,\"nm\":\"slot\",\"sc\":\"#ff0000\",\"sw\":320,"
                              "\"sh\":180,\"sr\":1,\"st\":0,\"ip\":0,\"op\":60," STATIC_KS(320, 180, 160, 90) "}") == 0);
    rendered held, looped;
    render(&held,
           "{\"template\":{\"src\":\"solid.json\"},\"settings\":{\"type\":\"video\",\"codec\":\"h264_vbr_15mbps\"},"
           "\"assets\":[{\"type\":\"video\",\"layerName\":\"slot\",\"src\":\"short.mp4\"}]}",
           "held.mp4");
    render(&looped,
           "{\"template\":{\"src\":\"solid.json\"},\"settings\":{\"type\":\"video\",\"codec\":\"h264_vbr_15mbps\"},"
           "\"assets\":[{\"type\":\"video\",\"layerName\":\"slot\",\"src\":\"short.mp4\",\"loop\":true}]}",
           "looped.mp4");
    FW_REQUIRE(held.rc == FW_OK && looped.rc == FW_OK);
    int got[60], want[60];
    FW_REQUIRE(read_output(held.path, 30, 60, 320, 180, got) == 60);
    for (int n = 0; n < 60; n++)
        want[n] = n < 20 ? n : 19;
    FW_CHECK_INT(mismatches("held", got, want, 60), 0);
    FW_REQUIRE(read_output(looped.path, 30, 60, 320, 180, got) == 60);
    for (int n = 0; n < 60; n++)
        want[n] = n % 20;
    FW_CHECK_INT(mismatches("looped", got, want, 60), 0);
    /* The corner of the solid's box shows the clip too (fill: stretched over it). */
    FW_REQUIRE(read_output(held.path, 30, 60, 162, 92, got) == 60);
    FW_CHECK_INT(got[5], 5);
    done(&held);
    done(&looped);
}

static int entries(const char *path)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", path);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

static void test_clips_that_cannot_play_fail_on_the_asset_and_leave_nothing(void)
{
    char job[1024], out[PATH_MAX];
    rendered r;

    FW_REQUIRE(write_template("plain.json", 30, 30, "",
                              "{\"ddd\":0,\"ind\":1,\"ty\":2,\"nm\":\"clip\",\"refId\":\"placeholder\",\"sr\":1,"
                              "\"st\":0,\"ip\":0,\"op\":30," STATIC_KS(320, 180, 160, 90) "},"
                              "{\"ddd\":0,\"ind\":2,\"ty\":3,\"nm\":\"handle\",\"sr\":1,\"st\":0,\"ip\":0,"
                              "\"op\":30," STATIC_KS(0, 0, 0, 0) "}") == 0);
    FW_REQUIRE(write_text("notes.mp4", "not a video at all\n") == 0);
    FW_REQUIRE(make_clip("clip30.mp4", 320, 180, 30, 60) == 0);
    {
        const fw_codec *png;
        fw_error err = {0};
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/still.png", dir);
        FW_REQUIRE(fw_codec_find("png", FW_CODEC_IMAGE, &png, &err) == FW_OK);
        FW_REQUIRE(encode_numbered_as(png, path, 64, 64, 30, 1, 1, 1, &err) == FW_OK);
    }
    snprintf(out, sizeof(out), "%s/out", dir);
    mkdir(out, 0700);
    int before = entries(dir);

    static const struct {
        const char *asset, *field, *words;
    } cases[] = {
        {"{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"notes.mp4\"}", "assets[0].src", "not a video"},
        {"{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"missing.mp4\"}", "assets[0].src", ""},
        {"{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"still.png\"}", "assets[0].src",
         "no moving pictures"},
        {"{\"type\":\"video\",\"layerName\":\"handle\",\"src\":\"clip30.mp4\"}", "assets[0].layerName",
         "can show a clip"},
        {"{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"clip30.mp4\",\"fit\":\"squash\"}", "assets[0].fit", ""},
        {"{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"clip30.mp4\",\"loop\":\"yes\"}", "assets[0].loop", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(job, sizeof(job),
                 "{\"template\":{\"src\":\"plain.json\"},\"settings\":{\"type\":\"video\",\"codec\":"
                 "\"h264_vbr_15mbps\"},\"assets\":[%s]}",
                 cases[i].asset);
        render(&r, job, "out/failed.mp4");
        FW_CHECK_MSG(r.rc != FW_OK, "case %zu rendered", i);
        FW_CHECK_MSG(strcmp(r.err.field, cases[i].field) == 0, "case %zu: field '%s', not '%s' (%s)", i, r.err.field,
                     cases[i].field, r.err.message);
        FW_CHECK_MSG(strstr(r.err.message, cases[i].words) != NULL, "case %zu: '%s' lacks '%s'", i, r.err.message,
                     cases[i].words);
        done(&r);
        FW_CHECK_INT(entries(out), 0);
    }
    FW_CHECK_INT(entries(dir), before); /* no scratch folder left */
}

static void test_the_rlottie_engine_refuses_clips_clearly(void)
{
    FW_REQUIRE(make_clip("clip30.mp4", 320, 180, 30, 60) == 0);
    FW_REQUIRE(write_template("engine.json", 30, 30, "",
                              "{\"ddd\":0,\"ind\":1,\"ty\":2,\"nm\":\"clip\",\"refId\":\"placeholder\",\"sr\":1,"
                              "\"st\":0,\"ip\":0,\"op\":30," STATIC_KS(320, 180, 160, 90) "}") == 0);
    rendered r;
    render(&r,
           "{\"template\":{\"src\":\"engine.json\"},\"settings\":{\"type\":\"video\",\"codec\":\"h264_vbr_15mbps\","
           "\"engine\":\"rlottie\"},\"assets\":[{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"clip30.mp4\"}]}",
           "rlottie.mp4");
    FW_CHECK_INT(r.rc, FW_ERR_UNSUPPORTED);
    FW_CHECK_STR(r.err.field, "settings.engine");
    FW_CHECK(access(r.path, F_OK) != 0);
    done(&r);
}

int main(void)
{
    const char *tmp = fw_test_tmpdir();
    if (!tmp)
        return 1;
    snprintf(dir, sizeof(dir), "%s/footage", tmp);
    mkdir(dir, 0700);
    FW_RUN(test_clip_frame_n_at_output_frame_n_in_a_rotating_image_layer);
    FW_RUN(test_a_25_fps_clip_in_a_60_fps_composition_shows_the_covering_frames);
    FW_RUN(test_a_precomp_takes_the_clip_with_its_start_time_and_stretch);
    FW_RUN(test_a_short_clip_holds_its_last_frame_or_loops);
    FW_RUN(test_clips_that_cannot_play_fail_on_the_asset_and_leave_nothing);
    FW_RUN(test_the_rlottie_engine_refuses_clips_clearly);
    return fw_test_end();
}
