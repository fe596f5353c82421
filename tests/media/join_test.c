/*
 * join_test.c - joining clips end to end: the copy path, the re-encoding
 * path with letterboxing and frame-rate conversion, silence for clips without
 * sound, and the ways a join can fail, none of which may leave a file.
 *
 * The clips are made here: solid colours with our own encoder, sound added
 * with the ffmpeg command. Results are checked with ffprobe and ffmpeg's
 * volumedetect, and by decoding pictures with fw_media_decode_frame.
 */
#include <dirent.h>
#include <stdatomic.h>

#include "server/media/join.h"
#include "server/media/media_log.h"
#include "server/media/probe.h"
#include "tests/fw_test.h"
#include "tests/media/synthetic.h"

typedef struct colour {
    int r, g, b;
} colour;

static const colour RED = {200, 30, 30};
static const colour BLUE = {30, 30, 200};
static const colour GREEN = {30, 200, 30};
static const colour YELLOW = {220, 200, 40};

/* A clip of one solid colour, H.264 in MP4 from fw_encoder. */
static int make_clip(const char *path, int width, int height, int fps, int frames, colour c)
{
    fw_encoder_options o = {0};
    fw_error err;
    fw_encoder *enc = NULL;
    fw_codec_find("video_h264_vbr_1mbps", FW_CODEC_VIDEO, &o.codec, NULL);
    o.width = width;
    o.height = height;
    o.fps_num = fps;
    o.fps_den = 1;
    o.quality = FW_QUALITY_DRAFT;
    o.output_path = path;
    o.threads = 1;
    fw_err e = fw_encoder_open(&enc, &o, &err);
    for (int i = 0; e == FW_OK && i < frames; i++) {
        fw_frame *f;
        e = fw_encoder_frame_acquire(enc, &f, &err);
        if (e == FW_OK) {
            fill_rect(f, 0, 0, width, height, premultiplied(c.r, c.g, c.b, 255));
            e = fw_encoder_frame_submit(enc, f, &err);
        }
    }
    if (e == FW_OK)
        e = fw_encoder_finish(enc, &err);
    fw_encoder_free(&enc);
    if (e != FW_OK)
        fprintf(stderr, "  making %s: %s\n", path, err.message);
    return e == FW_OK;
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "  command failed (%d): %s\n", rc, cmd);
    return rc == 0;
}

/* The video of src with a 440 Hz tone of the same length (mono, 44.1 kHz:
 * the join has to resample it). */
static int add_tone(const char *src, const char *dst, double seconds)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -v error -y -i '%s' -f lavfi -i sine=frequency=440:sample_rate=44100 -t %.3f "
             "-map 0:v -map 1:a -c:v copy -c:a aac '%s'",
             src, seconds, dst);
    return run(cmd);
}

static void path_in(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static int entries_in(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* All streams of a file, as ffprobe sees them. */
static json_t *ffprobe_all(const char *path)
{
    char cmd[4600];
    snprintf(cmd, sizeof(cmd), "ffprobe -v error -count_frames -show_streams -show_format -of json '%s'", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    json_error_t jerr;
    json_t *root = json_loadf(p, 0, &jerr);
    pclose(p);
    return root;
}

static json_t *stream_of_type(json_t *root, const char *type)
{
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(root, "streams"), i, st)
    {
        if (strcmp(json_str(st, "codec_type"), type) == 0)
            return st;
    }
    return NULL;
}

static double json_double(json_t *obj, const char *key)
{
    const char *s = json_str(obj, key);
    return *s ? atof(s) : -1;
}

/* Every video packet's DTS is larger than the one before, none is negative
 * after the first, and there are as many as frames. Returns the packet count. */
static int check_video_dts(const char *path)
{
    char cmd[4600];
    snprintf(cmd, sizeof(cmd), "ffprobe -v error -select_streams v:0 -show_entries packet=dts -of csv=p=0 '%s'",
             path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    long long last = 0, dts;
    int count = 0, ordered = 1;
    while (fscanf(p, "%lld", &dts) == 1) {
        if (count > 0 && dts <= last)
            ordered = 0;
        last = dts;
        count++;
    }
    pclose(p);
    FW_CHECK_MSG(ordered, "the DTS of %s do not increase", path);
    return count;
}

/* volumedetect's max_volume in dB for [start, start + length) of the audio. */
static double max_volume(const char *path, double start, double length)
{
    char cmd[4600];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -hide_banner -nostats -ss %.3f -t %.3f -i '%s' -map 0:a -af volumedetect -f null - 2>&1",
             start, length, path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 1000;
    char line[512];
    double db = 1000;
    while (fgets(line, sizeof(line), p)) {
        const char *at = strstr(line, "max_volume:");
        if (at)
            db = atof(at + strlen("max_volume:"));
    }
    pclose(p);
    return db;
}

static void check_colour_at(const uint8_t *rgba, int width, int x, int y, colour c)
{
    const uint8_t *px = rgba_at(rgba, width, x, y);
    FW_CHECK_MSG(abs(px[0] - c.r) <= 14 && abs(px[1] - c.g) <= 14 && abs(px[2] - c.b) <= 14,
                 "pixel (%d,%d) is %d,%d,%d, expected %d,%d,%d", x, y, px[0], px[1], px[2], c.r, c.g, c.b);
}

static void check_black_at(const uint8_t *rgba, int width, int x, int y)
{
    check_colour_at(rgba, width, x, y, (colour){0, 0, 0});
}

/* Decode frame index of path and check its size; the caller frees. */
static uint8_t *decode(const char *path, int64_t index, int width, int height)
{
    uint8_t *rgba = NULL;
    int w = 0, h = 0;
    fw_error err;
    fw_err e = fw_media_decode_frame(path, index, &rgba, &w, &h, &err);
    FW_CHECK_MSG(e == FW_OK, "frame %lld: %s", (long long)index, err.message);
    if (e == FW_OK && (w != width || h != height)) {
        FW_CHECK_MSG(0, "frame %lld is %dx%d, expected %dx%d", (long long)index, w, h, width, height);
        free(rgba);
        return NULL;
    }
    return rgba;
}

static void check_frame_colour(const char *path, int64_t index, colour c)
{
    uint8_t *rgba = decode(path, index, 320, 240);
    if (!rgba)
        return;
    check_colour_at(rgba, 320, 160, 120, c);
    check_colour_at(rgba, 320, 4, 4, c);
    check_colour_at(rgba, 320, 315, 235, c);
    free(rgba);
}

typedef struct progress_log {
    int calls, last, ordered;
    atomic_int *cancel;
    int cancel_at;
} progress_log;

static void on_progress(int percent, void *user)
{
    progress_log *log = user;
    if (percent <= log->last)
        log->ordered = 0;
    log->last = percent;
    log->calls++;
    if (log->cancel && percent >= log->cancel_at)
        atomic_store(log->cancel, 1);
}

/* ---- (a) stream copy ----------------------------------------------------- */

static void test_compatible_clips_are_stream_copied(void)
{
    const char *dir = fw_test_tmpdir();
    char a[4200], b[4200], out[4200];
    FW_REQUIRE(dir);
    path_in(a, sizeof(a), dir, "red.mp4");
    path_in(b, sizeof(b), dir, "blue.mp4");
    path_in(out, sizeof(out), dir, "joined.mp4");
    FW_REQUIRE(make_clip(a, 320, 240, 25, 50, RED) && make_clip(b, 320, 240, 25, 50, BLUE));

    const char *inputs[] = {a, b};
    progress_log log = {.last = -1, .ordered = 1};
    fw_join_options opts = {.output_path = out, .preset = "mp4", .progress = on_progress, .progress_user = &log};
    fw_join_result result;
    fw_error err;
    fw_err e = fw_media_join(inputs, 2, &opts, &result, &err);
    FW_CHECK_MSG(e == FW_OK, "%s", err.message);
    FW_REQUIRE(e == FW_OK);
    FW_CHECK_INT(result.method, FW_JOIN_COPY);
    FW_CHECK_STR(fw_join_method_name(result.method), "copy");
    FW_CHECK_INT(result.frame_count, 100);
    FW_CHECK_INT(result.width, 320);
    FW_CHECK_INT(result.has_audio, 0);
    FW_CHECK_NEAR(result.duration, 4.0, 0.04);
    FW_CHECK(log.ordered);
    FW_CHECK_INT(log.last, 100);

    json_t *root = ffprobe_all(out);
    json_t *v = stream_of_type(root, "video");
    FW_CHECK(v != NULL);
    FW_CHECK(stream_of_type(root, "audio") == NULL);
    FW_CHECK_STR(json_str(v, "codec_name"), "h264");
    FW_CHECK_INT(json_num(v, "nb_read_frames"), 100);
    FW_CHECK_INT(json_num(v, "width"), 320);
    FW_CHECK_STR(json_str(v, "avg_frame_rate"), "25/1");
    FW_CHECK_NEAR(json_double(json_object_get(root, "format"), "duration"), 4.0, 0.04);
    json_decref(root);
    FW_CHECK_INT(check_video_dts(out), 100);

    fw_media_info info;
    FW_CHECK(fw_media_probe(out, &info, &err) == FW_OK);
    FW_CHECK_INT(info.frame_count, 100);

    check_frame_colour(out, 0, RED);
    check_frame_colour(out, 49, RED);
    check_frame_colour(out, 50, BLUE);
    check_frame_colour(out, 99, BLUE);
    FW_CHECK_INT(entries_in(dir), 3); /* the two clips and the output, nothing temporary */
}

/* Clips with the same sound are copied too, sound included. */
static void test_compatible_clips_with_sound_are_copied_with_sound(void)
{
    const char *dir = fw_test_tmpdir();
    char a[4200], b[4200], as[4200], bs[4200], out[4200];
    FW_REQUIRE(dir);
    path_in(a, sizeof(a), dir, "red.mp4");
    path_in(b, sizeof(b), dir, "blue.mp4");
    path_in(as, sizeof(as), dir, "red-sound.mp4");
    path_in(bs, sizeof(bs), dir, "blue-sound.mp4");
    path_in(out, sizeof(out), dir, "joined.mp4");
    FW_REQUIRE(make_clip(a, 320, 240, 25, 50, RED) && make_clip(b, 320, 240, 25, 50, BLUE));
    FW_REQUIRE(add_tone(a, as, 2.0) && add_tone(b, bs, 2.0));

    const char *inputs[] = {as, bs};
    fw_join_options opts = {.output_path = out};
    fw_join_result result;
    fw_error err;
    fw_err e = fw_media_join(inputs, 2, &opts, &result, &err);
    FW_CHECK_MSG(e == FW_OK, "%s", err.message);
    FW_REQUIRE(e == FW_OK);
    FW_CHECK_INT(result.method, FW_JOIN_COPY);
    FW_CHECK_INT(result.has_audio, 1);

    json_t *root = ffprobe_all(out);
    json_t *v = stream_of_type(root, "video"), *s = stream_of_type(root, "audio");
    FW_CHECK_INT(json_num(v, "nb_read_frames"), 100);
    FW_CHECK(s != NULL);
    FW_CHECK_STR(json_str(s, "codec_name"), "aac");
    FW_CHECK_NEAR(json_double(s, "duration"), 4.0, 0.1);
    json_decref(root);
    FW_CHECK_INT(check_video_dts(out), 100);
    FW_CHECK(max_volume(out, 0.2, 1.5) > -30);
    FW_CHECK(max_volume(out, 2.2, 1.5) > -30);
    check_frame_colour(out, 10, RED);
    check_frame_colour(out, 60, BLUE);
}

/* ---- (b) re-encoding ----------------------------------------------------- */

static void test_clips_of_other_size_and_rate_are_reencoded_and_boxed(void)
{
    const char *dir = fw_test_tmpdir();
    char a[4200], b[4200], c[4200], out[4200];
    FW_REQUIRE(dir);
    path_in(a, sizeof(a), dir, "red.mp4");
    path_in(b, sizeof(b), dir, "wide-green.mp4");
    path_in(c, sizeof(c), dir, "tall-yellow.mp4");
    path_in(out, sizeof(out), dir, "joined.mp4");
    /* 2 s at 25 fps; 2 s of a 4:1 picture at 30 fps; 1 s of a 1:2 picture at 50 fps. */
    FW_REQUIRE(make_clip(a, 320, 240, 25, 50, RED));
    FW_REQUIRE(make_clip(b, 640, 160, 30, 60, GREEN));
    FW_REQUIRE(make_clip(c, 120, 240, 50, 50, YELLOW));

    const char *inputs[] = {a, b, c};
    progress_log log = {.last = -1, .ordered = 1};
    fw_join_options opts = {.output_path = out, .quality = FW_QUALITY_DRAFT, .threads = 2,
                            .progress = on_progress, .progress_user = &log};
    fw_join_result result;
    fw_error err;
    fw_err e = fw_media_join(inputs, 3, &opts, &result, &err);
    FW_CHECK_MSG(e == FW_OK, "%s", err.message);
    FW_REQUIRE(e == FW_OK);
    FW_CHECK_INT(result.method, FW_JOIN_REENCODE);
    FW_CHECK_STR(fw_join_method_name(result.method), "re-encode");
    FW_CHECK_INT(result.width, 320);
    FW_CHECK_INT(result.height, 240);
    FW_CHECK_INT(result.fps_num, 25);
    FW_CHECK_INT(result.fps_den, 1);
    FW_CHECK_INT(result.frame_count, 125);
    FW_CHECK_INT(result.has_audio, 0);
    FW_CHECK(log.ordered);
    FW_CHECK_INT(log.last, 100);

    json_t *root = ffprobe_all(out);
    json_t *v = stream_of_type(root, "video");
    FW_CHECK_STR(json_str(v, "codec_name"), "h264");
    FW_CHECK_STR(json_str(v, "pix_fmt"), "yuv420p");
    FW_CHECK_INT(json_num(v, "width"), 320);
    FW_CHECK_INT(json_num(v, "height"), 240);
    FW_CHECK_STR(json_str(v, "avg_frame_rate"), "25/1");
    FW_CHECK_INT(json_num(v, "nb_read_frames"), 125);
    FW_CHECK(stream_of_type(root, "audio") == NULL);
    FW_CHECK_NEAR(json_double(json_object_get(root, "format"), "duration"), 5.0, 0.04);
    json_decref(root);
    FW_CHECK_INT(check_video_dts(out), 125);

    check_frame_colour(out, 0, RED);
    check_frame_colour(out, 49, RED);

    /* The 4:1 clip is letterboxed: 320x80 in the middle, black above and below. */
    uint8_t *rgba = decode(out, 75, 320, 240);
    if (rgba) {
        check_colour_at(rgba, 320, 160, 120, GREEN);
        check_colour_at(rgba, 320, 4, 90, GREEN);
        check_colour_at(rgba, 320, 315, 150, GREEN);
        check_black_at(rgba, 320, 160, 20);
        check_black_at(rgba, 320, 160, 70);
        check_black_at(rgba, 320, 160, 170);
        check_black_at(rgba, 320, 160, 225);
        free(rgba);
    }
    /* The 1:2 clip is pillarboxed: 120x240 in the middle, black left and right. */
    rgba = decode(out, 112, 320, 240);
    if (rgba) {
        check_colour_at(rgba, 320, 160, 120, YELLOW);
        check_colour_at(rgba, 320, 110, 5, YELLOW);
        check_colour_at(rgba, 320, 210, 235, YELLOW);
        check_black_at(rgba, 320, 20, 120);
        check_black_at(rgba, 320, 90, 120);
        check_black_at(rgba, 320, 230, 120);
        check_black_at(rgba, 320, 300, 120);
        free(rgba);
    }
    FW_CHECK_INT(entries_in(dir), 4);
}

/* The output size and rate can be given; then even matching clips are re-encoded. */
static void test_output_size_and_rate_from_options(void)
{
    const char *dir = fw_test_tmpdir();
    char a[4200], b[4200], out[4200];
    FW_REQUIRE(dir);
    path_in(a, sizeof(a), dir, "red.mp4");
    path_in(b, sizeof(b), dir, "blue.mp4");
    path_in(out, sizeof(out), dir, "joined.mp4");
    FW_REQUIRE(make_clip(a, 320, 240, 25, 25, RED) && make_clip(b, 320, 240, 25, 25, BLUE));

    const char *inputs[] = {a, b};
    fw_join_options opts = {.output_path = out, .quality = FW_QUALITY_DRAFT, .width = 160, .height = 160,
                            .fps_num = 10, .fps_den = 1};
    fw_join_result result;
    fw_error err;
    fw_err e = fw_media_join(inputs, 2, &opts, &result, &err);
    FW_CHECK_MSG(e == FW_OK, "%s", err.message);
    FW_REQUIRE(e == FW_OK);
    FW_CHECK_INT(result.method, FW_JOIN_REENCODE);
    FW_CHECK_INT(result.frame_count, 20);
    json_t *root = ffprobe_all(out);
    json_t *v = stream_of_type(root, "video");
    FW_CHECK_INT(json_num(v, "width"), 160);
    FW_CHECK_INT(json_num(v, "height"), 160);
    FW_CHECK_STR(json_str(v, "avg_frame_rate"), "10/1");
    FW_CHECK_INT(json_num(v, "nb_read_frames"), 20);
    json_decref(root);
    /* 4:3 into a square: 160x120, bars of 20 above and below. */
    uint8_t *rgba = decode(out, 15, 160, 160);
    if (rgba) {
        check_colour_at(rgba, 160, 80, 80, BLUE);
        check_black_at(rgba, 160, 80, 8);
        check_black_at(rgba, 160, 80, 152);
        free(rgba);
    }
}

/* ---- (c) sound and silence ----------------------------------------------- */

static void test_clip_without_sound_gets_silence(void)
{
    const char *dir = fw_test_tmpdir();
    char a[4200], as[4200], b[4200], out[4200];
    FW_REQUIRE(dir);
    path_in(a, sizeof(a), dir, "red.mp4");
    path_in(as, sizeof(as), dir, "red-sound.mp4");
    path_in(b, sizeof(b), dir, "blue.mp4");
    path_in(out, sizeof(out), dir, "joined.mp4");
    FW_REQUIRE(make_clip(a, 320, 240, 25, 50, RED) && make_clip(b, 320, 240, 25, 50, BLUE));
    FW_REQUIRE(add_tone(a, as, 2.0));

    const char *inputs[] = {as, b};
    fw_join_options opts = {.output_path = out, .quality = FW_QUALITY_DRAFT};
    fw_join_result result;
    fw_error err;
    fw_err e = fw_media_join(inputs, 2, &opts, &result, &err);
    FW_CHECK_MSG(e == FW_OK, "%s", err.message);
    FW_REQUIRE(e == FW_OK);
    FW_CHECK_INT(result.method, FW_JOIN_REENCODE);
    FW_CHECK_INT(result.has_audio, 1);
    FW_CHECK_INT(result.frame_count, 100);

    json_t *root = ffprobe_all(out);
    json_t *v = stream_of_type(root, "video"), *s = stream_of_type(root, "audio");
    FW_CHECK_INT(json_num(v, "nb_read_frames"), 100);
    FW_REQUIRE(s != NULL);
    FW_CHECK_STR(json_str(s, "codec_name"), "aac");
    FW_CHECK_STR(json_str(s, "sample_rate"), "48000");
    FW_CHECK_INT(json_num(s, "channels"), 2);
    FW_CHECK_NEAR(json_double(s, "duration"), 4.0, 0.05);
    FW_CHECK_NEAR(json_double(v, "duration"), 4.0, 0.04);
    json_decref(root);

    double loud = max_volume(out, 0.1, 1.8), quiet = max_volume(out, 2.1, 1.8);
    FW_CHECK_MSG(loud > -30 && loud < 1, "the first clip's tone peaks at %g dB", loud);
    FW_CHECK_MSG(quiet < -80, "the second clip should be silent but peaks at %g dB", quiet);
    check_frame_colour(out, 10, RED);
    check_frame_colour(out, 60, BLUE);
}

/* ---- (d) errors and cancelling -------------------------------------------- */

static void test_missing_clip_is_named(void)
{
    const char *dir = fw_test_tmpdir();
    char a[4200], missing[4200], out[4200];
    FW_REQUIRE(dir);
    path_in(a, sizeof(a), dir, "red.mp4");
    path_in(missing, sizeof(missing), dir, "nowhere.mp4");
    path_in(out, sizeof(out), dir, "joined.mp4");
    FW_REQUIRE(make_clip(a, 320, 240, 25, 10, RED));
    const char *inputs[] = {a, missing};
    fw_join_options opts = {.output_path = out};
    fw_join_result result;
    fw_error err;
    FW_CHECK_INT(fw_media_join(inputs, 2, &opts, &result, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[1]");
    FW_CHECK_CONTAINS(err.message, "clip 2");
    FW_CHECK_CONTAINS(err.message, "nowhere.mp4");
    FW_CHECK_INT(result.method, FW_JOIN_NONE);
    FW_CHECK(!file_exists(out));
    FW_CHECK_INT(entries_in(dir), 1);
}

static void test_clip_without_video_is_named(void)
{
    const char *dir = fw_test_tmpdir();
    char a[4200], wav[4200], text[4200], out[4200], cmd[9000];
    FW_REQUIRE(dir);
    path_in(a, sizeof(a), dir, "red.mp4");
    path_in(wav, sizeof(wav), dir, "tone.wav");
    path_in(text, sizeof(text), dir, "notes.txt");
    path_in(out, sizeof(out), dir, "joined.mp4");
    FW_REQUIRE(make_clip(a, 320, 240, 25, 10, RED));
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y -f lavfi -i sine=duration=1 '%s'", wav);
    FW_REQUIRE(run(cmd));
    FILE *f = fopen(text, "w");
    FW_REQUIRE(f);
    fputs("this is not a video\n", f);
    fclose(f);

    fw_join_options opts = {.output_path = out};
    fw_error err;
    const char *with_sound_only[] = {a, a, wav};
    FW_CHECK_INT(fw_media_join(with_sound_only, 3, &opts, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[2]");
    FW_CHECK_CONTAINS(err.message, "clip 3");
    FW_CHECK_CONTAINS(err.message, "no video");

    const char *with_text[] = {text, a};
    FW_CHECK_INT(fw_media_join(with_text, 2, &opts, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[0]");
    FW_CHECK_CONTAINS(err.message, "clip 1");
    FW_CHECK(!file_exists(out));
    FW_CHECK_INT(entries_in(dir), 3);
}

static void test_bad_requests_are_refused(void)
{
    const char *dir = fw_test_tmpdir();
    char a[4200], out[4200];
    FW_REQUIRE(dir);
    path_in(a, sizeof(a), dir, "red.mp4");
    path_in(out, sizeof(out), dir, "joined.mp4");
    FW_REQUIRE(make_clip(a, 320, 240, 25, 10, RED));
    const char *inputs[] = {a};
    fw_error err;

    fw_join_options opts = {.output_path = out};
    FW_CHECK_INT(fw_media_join(inputs, 0, &opts, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets");
    FW_CHECK_CONTAINS(err.message, "at least one clip");

    fw_join_options mov = {.output_path = out, .preset = "mov"};
    FW_CHECK_INT(fw_media_join(inputs, 1, &mov, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "settings.preset");

    fw_join_options no_output = {0};
    FW_CHECK_INT(fw_media_join(inputs, 1, &no_output, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "output");

    fw_join_options odd = {.output_path = out, .width = 321, .height = 240};
    FW_CHECK_INT(fw_media_join(inputs, 1, &odd, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "width");

    char nowhere[4300];
    snprintf(nowhere, sizeof(nowhere), "%s/no-such-folder/joined.mp4", dir);
    fw_join_options lost = {.output_path = nowhere};
    FW_CHECK_INT(fw_media_join(inputs, 1, &lost, NULL, &err), FW_ERR_IO);
    FW_CHECK_STR(err.field, "output");
    FW_CHECK(!file_exists(out));
    FW_CHECK_INT(entries_in(dir), 1);
}

/* Cancelling from the progress callback, as a worker's cancel flag would. */
static void cancel_mid_join(int force_reencode)
{
    const char *dir = fw_test_tmpdir();
    char a[4200], b[4200], out[4200];
    FW_REQUIRE(dir);
    path_in(a, sizeof(a), dir, "red.mp4");
    path_in(b, sizeof(b), dir, "blue.mp4");
    path_in(out, sizeof(out), dir, "joined.mp4");
    FW_REQUIRE(make_clip(a, 320, 240, 25, 50, RED) && make_clip(b, 320, 240, 25, 50, BLUE));

    atomic_int cancel = 0;
    progress_log log = {.last = -1, .ordered = 1, .cancel = &cancel, .cancel_at = 40};
    const char *inputs[] = {a, b};
    fw_join_options opts = {.output_path = out, .quality = FW_QUALITY_DRAFT, .force_reencode = force_reencode,
                            .cancel = &cancel, .progress = on_progress, .progress_user = &log};
    fw_join_result result;
    fw_error err;
    FW_CHECK_INT(fw_media_join(inputs, 2, &opts, &result, &err), FW_ERR_CANCELLED);
    FW_CHECK(atomic_load(&cancel) == 1);
    FW_CHECK(log.last >= 40 && log.last < 100);
    FW_CHECK_INT(result.method, FW_JOIN_NONE);
    FW_CHECK(!file_exists(out));
    FW_CHECK_INT(entries_in(dir), 2); /* the clips only: no temporary file either */
}

static void test_cancel_during_reencode_leaves_nothing(void)
{
    cancel_mid_join(1);
}

static void test_cancel_during_copy_leaves_nothing(void)
{
    cancel_mid_join(0);
}

static void test_cancel_before_start_leaves_nothing(void)
{
    const char *dir = fw_test_tmpdir();
    char a[4200], out[4200];
    FW_REQUIRE(dir);
    path_in(a, sizeof(a), dir, "red.mp4");
    path_in(out, sizeof(out), dir, "joined.mp4");
    FW_REQUIRE(make_clip(a, 320, 240, 25, 10, RED));
    atomic_int cancel = 1;
    const char *inputs[] = {a};
    fw_join_options opts = {.output_path = out, .cancel = &cancel};
    fw_error err;
    FW_CHECK_INT(fw_media_join(inputs, 1, &opts, NULL, &err), FW_ERR_CANCELLED);
    FW_CHECK_INT(entries_in(dir), 1);
}

int main(void)
{
    fw_media_log_init();
    FW_RUN(test_compatible_clips_are_stream_copied);
    FW_RUN(test_compatible_clips_with_sound_are_copied_with_sound);
    FW_RUN(test_clips_of_other_size_and_rate_are_reencoded_and_boxed);
    FW_RUN(test_output_size_and_rate_from_options);
    FW_RUN(test_clip_without_sound_gets_silence);
    FW_RUN(test_missing_clip_is_named);
    FW_RUN(test_clip_without_video_is_named);
    FW_RUN(test_bad_requests_are_refused);
    FW_RUN(test_cancel_during_reencode_leaves_nothing);
    FW_RUN(test_cancel_during_copy_leaves_nothing);
    FW_RUN(test_cancel_before_start_leaves_nothing);
    return fw_test_end();
}
