/*
 * footage_test.c - a clip played into pictures: the picture shown at each
 * time is the right one (read back from numbered clips), in order, at
 * another frame rate, after seeks back and far ahead, looping and held at
 * the end; scaled and opaque; and files that are not clips fail clearly.
 */
#include <math.h>

#include "server/media/codec.h"
#include "server/media/footage.h"
#include "tests/fw_test.h"
#include "tests/media/synthetic.h"

#define CLIP_FRAMES 100 /* 4 s at 25 fps */

static char clip25[4096];   /* 25 fps, H.264, 320x180 */
static char clip_hd[4096];  /* 30 fps, H.264, 1920x1080, 2 s */

static int make_clips(void)
{
    const fw_codec *h264 = NULL;
    fw_error err = {0};
    if (clip25[0])
        return 1;
    if (fw_codec_find("h264_vbr_15mbps", FW_CODEC_VIDEO, &h264, &err) != FW_OK)
        return 0;
    snprintf(clip25, sizeof(clip25), "%s/numbered25.mp4", fw_test_tmpdir());
    snprintf(clip_hd, sizeof(clip_hd), "%s/numbered_hd.mp4", fw_test_tmpdir());
    if (encode_numbered(h264, clip25, 320, 180, 25, 1, CLIP_FRAMES, &err) != FW_OK ||
        encode_numbered(h264, clip_hd, 1920, 1080, 30, 1, 60, &err) != FW_OK) {
        fprintf(stderr, "encoding the clips: %s\n", err.message);
        clip25[0] = '\0';
        return 0;
    }
    return 1;
}

static fw_footage *open_clip(const char *path, int width, int height, int loop)
{
    fw_footage_options opts = {.width = width, .height = height, .loop = loop};
    fw_footage *f = NULL;
    fw_error err = {0};
    if (fw_footage_open(&f, path, &opts, &err) != FW_OK)
        fprintf(stderr, "opening %s: %s\n", path, err.message);
    return f;
}

/* The number of the picture shown at seconds, or -1. */
static int number_at(fw_footage *f, double seconds)
{
    fw_footage_picture pic;
    fw_error err = {0};
    if (fw_footage_picture_at(f, seconds, &pic, &err) != FW_OK) {
        fprintf(stderr, "picture at %.4f: %s\n", seconds, err.message);
        return -1;
    }
    return read_number(pic.pixels, pic.stride, pic.width, pic.height);
}

static void test_each_picture_in_order_at_its_own_rate(void)
{
    FW_REQUIRE(make_clips());
    fw_footage *f = open_clip(clip25, 320, 180, 0);
    FW_REQUIRE(f);
    int wrong = 0;
    for (int n = 0; n < CLIP_FRAMES; n++) {
        int got = number_at(f, n / 25.0);
        if (got != n && wrong++ < 5)
            FW_CHECK_MSG(0, "at %d/25 s: picture %d, not %d", n, got, n);
    }
    FW_CHECK_INT(wrong, 0);
    int64_t decoded, converted, seeks;
    fw_footage_counts(f, &decoded, &converted, &seeks);
    FW_CHECK_INT(seeks, 0);
    FW_CHECK_INT(decoded, CLIP_FRAMES);
    FW_CHECK_NEAR(fw_footage_duration(f), 4.0, 0.05);
    fw_footage_free(&f);
    FW_CHECK(f == NULL);
}

static void test_a_25_fps_clip_in_60_fps_frames_shows_the_covering_picture(void)
{
    FW_REQUIRE(make_clips());
    fw_footage *f = open_clip(clip25, 320, 180, 0);
    FW_REQUIRE(f);
    int wrong = 0;
    /* Output frame n at 60 fps is at n/60 s; picture k covers [k/25, (k+1)/25). */
    for (int n = 0; n < 240; n++) {
        int want = n * 25 / 60;
        int got = number_at(f, n / 60.0);
        if (got != want && wrong++ < 5)
            FW_CHECK_MSG(0, "output frame %d: picture %d, not %d", n, got, want);
    }
    FW_CHECK_INT(wrong, 0);
    fw_footage_free(&f);
}

static void test_seeks_back_and_far_ahead_are_exact(void)
{
    FW_REQUIRE(make_clips());
    fw_footage *f = open_clip(clip25, 320, 180, 0);
    FW_REQUIRE(f);
    const int order[] = {10, 90, 3, 3, 50, 12, 99, 0, 77, 76, 78, 40};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        FW_CHECK_INT(number_at(f, order[i] / 25.0 + 0.001), order[i]);
    int64_t decoded, converted, seeks;
    fw_footage_counts(f, &decoded, &converted, &seeks);
    FW_CHECK(seeks >= 5);
    /* Pictures on the way to a target are decoded, not converted. */
    FW_CHECK_MSG(converted < decoded, "converted %lld of %lld", (long long)converted, (long long)decoded);
    fw_footage_free(&f);
}

static void test_before_the_start_and_past_the_end_hold_the_first_and_last(void)
{
    FW_REQUIRE(make_clips());
    fw_footage *f = open_clip(clip25, 320, 180, 0);
    FW_REQUIRE(f);
    FW_CHECK_INT(number_at(f, -2.0), 0);
    FW_CHECK_INT(number_at(f, NAN), 0);
    FW_CHECK_INT(number_at(f, 3.99), 99);
    FW_CHECK_INT(number_at(f, 4.5), 99);
    FW_CHECK_INT(number_at(f, 60.0), 99);
    FW_CHECK_INT(number_at(f, 1.0), 25);
    fw_footage_free(&f);
}

static void test_a_looping_clip_starts_again(void)
{
    FW_REQUIRE(make_clips());
    fw_footage *f = open_clip(clip25, 320, 180, 1);
    FW_REQUIRE(f);
    int wrong = 0;
    for (int n = 0; n < 3 * CLIP_FRAMES; n += 7) {
        int got = number_at(f, n / 25.0 + 0.001);
        if (got != n % CLIP_FRAMES && wrong++ < 5)
            FW_CHECK_MSG(0, "at %d/25 s: picture %d, not %d", n, got, n % CLIP_FRAMES);
    }
    FW_CHECK_INT(wrong, 0);
    fw_footage_free(&f);
}

static void test_pictures_are_scaled_opaque_and_change_serial_only_when_new(void)
{
    FW_REQUIRE(make_clips());
    fw_footage *f = open_clip(clip_hd, 480, 270, 0);
    FW_REQUIRE(f);
    fw_footage_picture a, b, c;
    fw_error err = {0};
    FW_REQUIRE(fw_footage_picture_at(f, 0.5, &a, &err) == FW_OK);
    FW_CHECK_INT(a.width, 480);
    FW_CHECK_INT(a.height, 270);
    FW_CHECK(a.stride >= 480 * 4);
    FW_CHECK_INT(read_number(a.pixels, a.stride, a.width, a.height), 15);
    int opaque = 1;
    for (int y = 0; y < a.height; y += 7)
        for (int x = 0; x < a.width; x += 5)
            opaque &= a.pixels[(size_t)y * a.stride / 4 + x] >> 24 == 255;
    FW_CHECK(opaque);
    int64_t serial = a.serial;
    FW_REQUIRE(fw_footage_picture_at(f, 0.5 + 0.01, &b, &err) == FW_OK);
    FW_CHECK(b.serial == serial); /* the same picture */
    FW_REQUIRE(fw_footage_picture_at(f, 0.5 + 1.0 / 30, &c, &err) == FW_OK);
    FW_CHECK(c.serial != serial);
    FW_CHECK_INT(read_number(c.pixels, c.stride, c.width, c.height), 16);
    fw_footage_free(&f);
}

static void test_files_that_are_not_clips_fail_clearly(void)
{
    fw_footage_options opts = {.width = 64, .height = 64};
    fw_footage *f = (fw_footage *)1;
    fw_error err = {0};
    char path[4096];

    FW_CHECK_INT(fw_footage_open(&f, "/nonexistent/clip.mp4", &opts, &err), FW_ERR_NOT_FOUND);
    FW_CHECK(f == NULL);
    FW_CHECK_STR(err.field, "src");

    snprintf(path, sizeof(path), "%s/not-a-clip.mp4", fw_test_tmpdir());
    FILE *out = fopen(path, "w");
    FW_REQUIRE(out);
    fputs("this is text, not a video\n", out);
    fclose(out);
    memset(&err, 0, sizeof(err));
    FW_CHECK_INT(fw_footage_open(&f, path, &opts, &err), FW_ERR_INVALID);
    FW_CHECK(f == NULL);

    /* A WAV file: sound, no pictures. */
    snprintf(path, sizeof(path), "%s/tone.wav", fw_test_tmpdir());
    FW_REQUIRE(write_tone_wav(path, 8000, 1, 0.1, 0.1, 440, 0.25) == 0);
    memset(&err, 0, sizeof(err));
    FW_CHECK_INT(fw_footage_open(&f, path, &opts, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "no video stream");

    opts.width = 0;
    FW_REQUIRE(make_clips());
    FW_CHECK_INT(fw_footage_open(&f, clip25, &opts, &err), FW_ERR_INVALID);
    fw_footage_free(&f); /* NULL */
}

int main(void)
{
    FW_RUN(test_each_picture_in_order_at_its_own_rate);
    FW_RUN(test_a_25_fps_clip_in_60_fps_frames_shows_the_covering_picture);
    FW_RUN(test_seeks_back_and_far_ahead_are_exact);
    FW_RUN(test_before_the_start_and_past_the_end_hold_the_first_and_last);
    FW_RUN(test_a_looping_clip_starts_again);
    FW_RUN(test_pictures_are_scaled_opaque_and_change_serial_only_when_new);
    FW_RUN(test_files_that_are_not_clips_fail_clearly);
    return fw_test_end();
}
