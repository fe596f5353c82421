/*
 * encoder_test.c - every codec writes what it promises: checked with our
 * probe and with the real ffprobe, and by decoding pixels back. Then the
 * ways an encode can go wrong, none of which may leave a file behind.
 */
#include <dirent.h>
#include <zip.h>

#include "server/media/encoder.h"
#include "server/media/media_log.h"
#include "server/media/probe.h"
#include "tests/fw_test.h"
#include "tests/media/synthetic.h"

#define FRAMES 48

/* libx265 3.5 keeps a few FrameFilter buffers after x265_encoder_close; the
 * leak is inside the library, so only that library is excused. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libx265.so\n";
}
#define PROBE_FRAME 10

typedef struct codec_case {
    const char *codec;
    const char *ffprobe_codec;   /* codec_name ffprobe reports */
    const char *ffprobe_pix_fmt; /* pix_fmt ffprobe reports */
    const char *decoded_pix_fmt; /* what fw_media_probe decodes to */
    int alpha;                   /* alpha survives */
    int bt709;                   /* colour tags expected */
    int tolerance;               /* per channel, after the round trip */
} codec_case;

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

static fw_encoder_options options_for(const char *codec, const char *path, int width, int height)
{
    fw_encoder_options o = {0};
    fw_codec_find(codec, FW_CODEC_ANY, &o.codec, NULL);
    o.width = width;
    o.height = height;
    o.fps_num = 25;
    o.fps_den = 1;
    o.quality = FW_QUALITY_DRAFT;
    o.output_path = path;
    return o;
}

static void check_pixel(const uint8_t *px, int r, int g, int b, int a, int tolerance, int alpha_tolerance)
{
    FW_CHECK_NEAR(px[0], r, tolerance);
    FW_CHECK_NEAR(px[1], g, tolerance);
    FW_CHECK_NEAR(px[2], b, tolerance);
    FW_CHECK_NEAR(px[3], a, alpha_tolerance);
}

/* Decoded frame PROBE_FRAME of the synthetic animation looks right. */
static void check_pixels(const char *path, int64_t frame, const codec_case *cc)
{
    uint8_t *rgba = NULL;
    int w = 0, h = 0, x, y;
    fw_error err;
    fw_err e = fw_media_decode_frame(path, frame, &rgba, &w, &h, &err);
    FW_CHECK_MSG(e == FW_OK, "%s", err.message);
    FW_REQUIRE(e == FW_OK && w == 320 && h == 240);
    moving_square_at((int)frame, 1, &x, &y);
    const uint8_t *inside = rgba_at(rgba, w, x + 32, y + 32);
    const uint8_t *opaque = rgba_at(rgba, w, 270, 30);
    const uint8_t *outside = rgba_at(rgba, w, 10, 220);
    int t = cc->tolerance;
    if (cc->alpha) {
        /* Unpremultiplied: the straight colour comes back with its alpha. */
        check_pixel(inside, MOVING_R, MOVING_G, MOVING_B, MOVING_A, t, 4);
        check_pixel(outside, 0, 0, 0, 0, 0, 0);
    } else {
        /* Over black. */
        check_pixel(inside, MOVING_R * MOVING_A / 255, MOVING_G * MOVING_A / 255, MOVING_B * MOVING_A / 255, 255, t,
                    0);
        check_pixel(outside, 0, 0, 0, 255, t, 0);
    }
    check_pixel(opaque, OPAQUE_R, OPAQUE_G, OPAQUE_B, 255, t, cc->alpha ? 4 : 0);
    free(rgba);
}

static void check_codec(const codec_case *cc)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    FW_REQUIRE(dir);
    fw_encoder_options o = options_for(cc->codec, path, 320, 240);
    FW_REQUIRE(o.codec);
    snprintf(path, sizeof(path), "%s/out.%s", dir, o.codec->extension);
    fw_err e = encode_synthetic(&o, FRAMES, 0, &err);
    FW_CHECK_MSG(e == FW_OK, "%s: %s", err.field, err.message);
    FW_REQUIRE(e == FW_OK);
    FW_CHECK_INT(entries_in(dir), 1); /* just the output, no temporary left */

    fw_media_info info;
    e = fw_media_probe(path, &info, &err);
    FW_CHECK_MSG(e == FW_OK, "%s", err.message);
    FW_REQUIRE(e == FW_OK);
    FW_CHECK_STR(info.codec, cc->ffprobe_codec);
    FW_CHECK_INT(info.width, 320);
    FW_CHECK_INT(info.height, 240);
    FW_CHECK_INT(info.frame_count, FRAMES);
    FW_CHECK_NEAR((double)info.fps_num / info.fps_den, 25.0, 0.01);
    FW_CHECK_STR(info.pixel_format, cc->decoded_pix_fmt);
    FW_CHECK_INT(info.has_alpha, cc->alpha);
    FW_CHECK_NEAR(info.duration, FRAMES / 25.0, 0.1);

    json_t *root = ffprobe(path);
    json_t *st = ffprobe_stream(root);
    FW_REQUIRE(st);
    FW_CHECK_STR(json_str(st, "codec_name"), cc->ffprobe_codec);
    FW_CHECK_INT(json_num(st, "width"), 320);
    FW_CHECK_INT(json_num(st, "height"), 240);
    FW_CHECK_STR(json_str(st, "pix_fmt"), cc->ffprobe_pix_fmt);
    FW_CHECK_INT(json_num(st, "nb_read_frames"), FRAMES);
    FW_CHECK_STR(json_str(st, "avg_frame_rate"), "25/1");
    if (cc->bt709) {
        FW_CHECK_STR(json_str(st, "color_space"), "bt709");
        FW_CHECK_STR(json_str(st, "color_primaries"), "bt709");
        FW_CHECK_STR(json_str(st, "color_transfer"), "bt709");
        FW_CHECK_STR(json_str(st, "color_range"), "tv");
    }
    json_decref(root);

    check_pixels(path, PROBE_FRAME, cc);
    check_pixels(path, FRAMES - 1, cc);
}

static void test_h264_writes_mp4_with_bt709(void)
{
    codec_case cc = {"h264_vbr_5mbps", "h264", "yuv420p", "yuv420p", 0, 1, 10};
    check_codec(&cc);
}

static void test_h264_mp4_is_faststart(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/fast.mp4", dir);
    fw_encoder_options o = options_for("h264_cbr_1mbps", path, 320, 240);
    FW_REQUIRE(encode_synthetic(&o, 12, 0, &err) == FW_OK);
    /* With faststart the index (moov) comes before the media data (mdat). */
    FILE *f = fopen(path, "rb");
    FW_REQUIRE(f);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    long moov = -1, mdat = -1;
    for (size_t i = 0; i + 4 <= n; i++) {
        if (moov < 0 && memcmp(buf + i, "moov", 4) == 0)
            moov = (long)i;
        if (mdat < 0 && memcmp(buf + i, "mdat", 4) == 0)
            mdat = (long)i;
    }
    FW_CHECK(moov > 0);
    FW_CHECK(mdat < 0 || moov < mdat);
}

static void test_h264_keeps_fractional_frame_rate(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/ntsc.mp4", dir);
    fw_encoder_options o = options_for("h264_vbr_1mbps", path, 320, 240);
    o.fps_num = 30000;
    o.fps_den = 1001;
    FW_REQUIRE(encode_synthetic(&o, 30, 0, &err) == FW_OK);
    json_t *root = ffprobe(path);
    json_t *st = ffprobe_stream(root);
    FW_REQUIRE(st);
    FW_CHECK_STR(json_str(st, "r_frame_rate"), "30000/1001");
    FW_CHECK_STR(json_str(st, "avg_frame_rate"), "30000/1001");
    FW_CHECK_INT(json_num(st, "nb_read_frames"), 30);
    json_decref(root);
    fw_media_info info;
    FW_REQUIRE(fw_media_probe(path, &info, &err) == FW_OK);
    FW_CHECK_INT(info.fps_num, 30000);
    FW_CHECK_INT(info.fps_den, 1001);
}

static void test_prores_422_writes_10bit_422_mov(void)
{
    codec_case cc = {"prores_422", "prores", "yuv422p10le", "yuv422p10le", 0, 1, 4};
    check_codec(&cc);
}

static void test_prores_4444_keeps_alpha(void)
{
    /* Encoded as 10-bit; FFmpeg's ProRes decoder hands 4444 out as 12-bit. */
    codec_case cc = {"video_prores_4444", "prores", "yuva444p12le", "yuva444p12le", 1, 1, 4};
    check_codec(&cc);
}

static void test_vp9_alpha_keeps_alpha_in_webm(void)
{
    /* FFmpeg's VP9 decoder, which ffprobe uses, reports the colour planes
     * only; the alpha is a second stream libvpx decodes. */
    codec_case cc = {"video_vp9_alpha", "vp9", "yuv420p", "yuva420p", 1, 1, 12};
    check_codec(&cc);
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/alpha.webm", dir);
    fw_encoder_options o = options_for("vp9_alpha", path, 320, 240);
    FW_REQUIRE(encode_synthetic(&o, 4, 0, &err) == FW_OK);
    json_t *root = ffprobe(path);
    json_t *tags = json_object_get(ffprobe_stream(root), "tags");
    FW_CHECK_STR(json_str(tags, "alpha_mode"), "1");
    json_decref(root);
}

static void test_hevc_writes_hvc1_mp4(void)
{
    codec_case cc = {"hevc", "hevc", "yuv420p", "yuv420p", 0, 1, 12};
    check_codec(&cc);
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/tag.mp4", dir);
    fw_encoder_options o = options_for("hevc", path, 320, 240);
    FW_REQUIRE(encode_synthetic(&o, 4, 0, &err) == FW_OK);
    json_t *root = ffprobe(path);
    FW_CHECK_STR(json_str(ffprobe_stream(root), "codec_tag_string"), "hvc1");
    json_decref(root);
}

static void test_gif_palette_is_recognisable(void)
{
    codec_case cc = {"gif", "gif", "bgra", "bgra", 0, 0, 10};
    check_codec(&cc);
}

static void test_png_still_is_one_rgba_picture(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/still.png", dir);
    fw_encoder_options o = options_for("png", path, 320, 240);
    o.frame_count = 1;
    FW_REQUIRE(encode_synthetic(&o, 1, 0, &err) == FW_OK);
    FW_CHECK_INT(entries_in(dir), 1);
    json_t *root = ffprobe(path);
    json_t *st = ffprobe_stream(root);
    FW_CHECK_STR(json_str(st, "codec_name"), "png");
    FW_CHECK_STR(json_str(st, "pix_fmt"), "rgba");
    json_decref(root);
    fw_media_info info;
    FW_REQUIRE(fw_media_probe(path, &info, &err) == FW_OK);
    FW_CHECK_INT(info.frame_count, 1);
    FW_CHECK_INT(info.has_alpha, 1);
    FW_CHECK_INT(info.fps_num, 0);

    /* PNG is lossless: the unpremultiplied values come back exactly. */
    uint8_t *rgba;
    int w, h, x, y;
    FW_REQUIRE(fw_image_read(path, &rgba, &w, &h, &err) == FW_OK);
    FW_CHECK_INT(w, 320);
    FW_CHECK_INT(h, 240);
    moving_square_at(0, 1, &x, &y);
    const uint8_t *px = rgba_at(rgba, w, x + 5, y + 5);
    FW_CHECK_INT(px[0], 199); /* premultiplied 100 at alpha 128 */
    FW_CHECK_INT(px[1], 40);
    FW_CHECK_INT(px[2], 60);
    FW_CHECK_INT(px[3], 128);
    px = rgba_at(rgba, w, 5, 230);
    FW_CHECK_INT(px[0] | px[1] | px[2] | px[3], 0);
    free(rgba);
}

static void test_jpeg_still_is_full_range_over_black(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/still.jpg", dir);
    fw_encoder_options o = options_for("image_jpeg", path, 320, 240);
    o.frame_count = 1;
    o.quality = FW_QUALITY_FULL;
    FW_REQUIRE(encode_synthetic(&o, 1, 0, &err) == FW_OK);
    json_t *root = ffprobe(path);
    json_t *st = ffprobe_stream(root);
    FW_CHECK_STR(json_str(st, "codec_name"), "mjpeg");
    FW_CHECK_STR(json_str(st, "pix_fmt"), "yuvj444p");
    json_decref(root);
    uint8_t *rgba;
    int w, h, x, y;
    FW_REQUIRE(fw_image_read(path, &rgba, &w, &h, &err) == FW_OK);
    moving_square_at(0, 1, &x, &y);
    check_pixel(rgba_at(rgba, w, x + 32, y + 32), 100, 20, 30, 255, 6, 0);
    check_pixel(rgba_at(rgba, w, 270, 30), OPAQUE_R, OPAQUE_G, OPAQUE_B, 255, 6, 0);
    check_pixel(rgba_at(rgba, w, 5, 230), 0, 0, 0, 255, 6, 0);
    free(rgba);
}

static void test_still_with_one_frame_takes_only_one(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    fw_encoder *enc = NULL;
    fw_frame *f;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/one.png", dir);
    fw_encoder_options o = options_for("png", path, 32, 32);
    o.frame_count = 1;
    FW_REQUIRE(fw_encoder_open(&enc, &o, &err) == FW_OK);
    FW_REQUIRE(fw_encoder_frame_acquire(enc, &f, &err) == FW_OK);
    FW_CHECK_INT(fw_encoder_frame_submit(enc, f, &err), FW_OK);
    FW_REQUIRE(fw_encoder_frame_acquire(enc, &f, &err) == FW_OK);
    FW_CHECK_INT(fw_encoder_frame_submit(enc, f, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "frames");
    FW_CHECK_INT(fw_encoder_finish(enc, &err), FW_OK);
    fw_encoder_free(&enc);
    FW_CHECK(enc == NULL);
    FW_CHECK_INT(entries_in(dir), 1);
}

static void test_png_sequence_is_a_zip_of_numbered_pictures(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200], extracted[4300];
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/seq.zip", dir);
    fw_encoder_options o = options_for("png", path, 320, 240);
    o.frame_count = 5;
    o.first_number = 100;
    FW_REQUIRE(encode_synthetic(&o, 5, 0, &err) == FW_OK);
    FW_CHECK_INT(entries_in(dir), 1); /* the zip; the folder of pictures is gone */

    int zerr;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    FW_REQUIRE(z);
    FW_CHECK_INT(zip_get_num_entries(z, 0), 5);
    FW_CHECK_STR(zip_get_name(z, 0, 0), "frame_00100.png");
    FW_CHECK_STR(zip_get_name(z, 4, 0), "frame_00104.png");
    zip_stat_t zs;
    FW_REQUIRE(zip_stat(z, "frame_00103.png", 0, &zs) == 0);
    FW_CHECK_INT(zs.comp_method, ZIP_CM_STORE);
    char *data = malloc(zs.size);
    zip_file_t *zf = zip_fopen(z, "frame_00103.png", 0);
    FW_REQUIRE(zf && data);
    FW_CHECK_INT(zip_fread(zf, data, zs.size), (long long)zs.size);
    zip_fclose(zf);
    zip_close(z);
    snprintf(extracted, sizeof(extracted), "%s/frame3.png", dir);
    FILE *f = fopen(extracted, "wb");
    fwrite(data, 1, zs.size, f);
    fclose(f);
    free(data);

    /* Entry 103 is the fourth frame: the square has moved three steps. */
    uint8_t *rgba;
    int w, h, x, y;
    FW_REQUIRE(fw_image_read(extracted, &rgba, &w, &h, &err) == FW_OK);
    moving_square_at(3, 1, &x, &y);
    check_pixel(rgba_at(rgba, w, x + 1, y + 1), 199, 40, 60, 128, 0, 0);
    check_pixel(rgba_at(rgba, w, x - 1, y + 1), 0, 0, 0, 0, 0, 0);
    free(rgba);
}

/* Animated WebP: this FFmpeg cannot decode it, so read the RIFF structure. */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t le24(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static void test_webp_is_animated_with_alpha(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/anim.webp", dir);
    fw_encoder_options o = options_for("webp", path, 320, 240);
    fw_err e = encode_synthetic(&o, FRAMES, 0, &err);
    FW_CHECK_MSG(e == FW_OK, "%s", err.message);
    FW_REQUIRE(e == FW_OK);
    FILE *f = fopen(path, "rb");
    FW_REQUIRE(f);
    static uint8_t buf[4 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    FW_REQUIRE(n > 30);
    FW_CHECK(memcmp(buf, "RIFF", 4) == 0 && memcmp(buf + 8, "WEBP", 4) == 0);
    FW_CHECK_INT(le32(buf + 4) + 8, n);
    FW_REQUIRE(memcmp(buf + 12, "VP8X", 4) == 0);
    uint8_t flags = buf[20];
    FW_CHECK(flags & 0x02); /* animation */
    FW_CHECK(flags & 0x10); /* alpha */
    FW_CHECK_INT(le24(buf + 24) + 1, 320);
    FW_CHECK_INT(le24(buf + 27) + 1, 240);
    int frames = 0, alpha_chunks = 0;
    for (size_t at = 12; at + 8 <= n;) {
        uint32_t size = le32(buf + at + 4);
        if (memcmp(buf + at, "ANMF", 4) == 0) {
            frames++;
            for (size_t in = at + 8 + 16; in + 8 <= at + 8 + size;) {
                uint32_t sub = le32(buf + in + 4);
                if (memcmp(buf + in, "ALPH", 4) == 0 || memcmp(buf + in, "VP8L", 4) == 0)
                    alpha_chunks++;
                in += 8 + sub + (sub & 1);
            }
        }
        at += 8 + size + (size & 1);
    }
    FW_CHECK_INT(frames, FRAMES);
    FW_CHECK(alpha_chunks > 0);
    fw_media_info info;
    FW_CHECK_INT(fw_media_probe(path, &info, &err), FW_ERR_UNSUPPORTED);
}

/* WebP stills (what image assets bring) decode with their alpha. The WebP is
 * made from our PNG by the ffmpeg command, losslessly. */
static void test_image_read_decodes_webp_with_alpha(void)
{
    const char *dir = fw_test_tmpdir();
    char png[4200], webp[4200], cmd[9000];
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(png, sizeof(png), "%s/src.png", dir);
    snprintf(webp, sizeof(webp), "%s/src.webp", dir);
    fw_encoder_options o = options_for("png", png, 320, 240);
    o.frame_count = 1;
    FW_REQUIRE(encode_synthetic(&o, 1, 0, &err) == FW_OK);
    snprintf(cmd, sizeof(cmd), "ffmpeg -v error -y -i '%s' -c:v libwebp -lossless 1 '%s'", png, webp);
    if (system(cmd) != 0)
        FW_SKIP("the ffmpeg command could not make a WebP");
    uint8_t *rgba;
    int w, h, x, y;
    fw_err e = fw_image_read(webp, &rgba, &w, &h, &err);
    FW_CHECK_MSG(e == FW_OK, "%s", err.message);
    FW_REQUIRE(e == FW_OK);
    FW_CHECK_INT(w, 320);
    FW_CHECK_INT(h, 240);
    moving_square_at(0, 1, &x, &y);
    check_pixel(rgba_at(rgba, w, x + 3, y + 3), 199, 40, 60, 128, 0, 0);
    check_pixel(rgba_at(rgba, w, 270, 30), OPAQUE_R, OPAQUE_G, OPAQUE_B, 255, 0, 0);
    FW_CHECK_INT(rgba_at(rgba, w, 5, 230)[3], 0);
    free(rgba);
}

static void test_image_read_reports_missing_and_garbage_files(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    uint8_t *rgba = (uint8_t *)1;
    int w, h;
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/missing.png", dir);
    FW_CHECK_INT(fw_image_read(path, &rgba, &w, &h, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_STR(err.field, "path");
    FW_CHECK(rgba == NULL);
    snprintf(path, sizeof(path), "%s/garbage.png", dir);
    FILE *f = fopen(path, "wb");
    FW_REQUIRE(f);
    fputs("this is not a picture at all, just words in a file", f);
    fclose(f);
    FW_CHECK_INT(fw_image_read(path, &rgba, &w, &h, &err), FW_ERR_INVALID);
    FW_CHECK(rgba == NULL);
}

/* ---- the ring and the thread ----------------------------------------- */

static void test_ring_hands_out_distinct_reused_buffers(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    fw_encoder *enc = NULL;
    fw_frame *f[3], *again;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/ring.mp4", dir);
    fw_encoder_options o = options_for("h264_vbr_1mbps", path, 320, 240);
    o.buffer_count = 3;
    FW_REQUIRE(fw_encoder_open(&enc, &o, &err) == FW_OK);
    for (int i = 0; i < 3; i++) {
        FW_REQUIRE(fw_encoder_frame_acquire(enc, &f[i], &err) == FW_OK);
        FW_CHECK_INT(f[i]->width, 320);
        FW_CHECK_INT(f[i]->stride % 64, 0);
        FW_CHECK(f[i]->stride >= 320 * 4);
    }
    FW_CHECK(f[0] != f[1] && f[1] != f[2] && f[0] != f[2]);
    FW_CHECK(f[0]->pixels != f[1]->pixels);
    for (int i = 0; i < 3; i++) {
        draw_frame(f[i], i, 0);
        FW_CHECK_INT(fw_encoder_frame_submit(enc, f[i], &err), FW_OK);
        FW_CHECK_INT(f[i]->index, i);
    }
    /* The ring had three; the fourth acquire waits for the thread to free one. */
    FW_REQUIRE(fw_encoder_frame_acquire(enc, &again, &err) == FW_OK);
    FW_CHECK(again == f[0] || again == f[1] || again == f[2]);
    draw_frame(again, 3, 0);
    FW_CHECK_INT(fw_encoder_frame_submit(enc, again, &err), FW_OK);
    FW_CHECK_INT(fw_encoder_frames_submitted(enc), 4);
    FW_CHECK_INT(fw_encoder_finish(enc, &err), FW_OK);
    FW_CHECK_INT(fw_encoder_frame_acquire(enc, &again, &err), FW_ERR_FAILED_PRECONDITION);
    fw_encoder_free(&enc);
    fw_media_info info;
    FW_REQUIRE(fw_media_probe(path, &info, &err) == FW_OK);
    FW_CHECK_INT(info.frame_count, 4);
}

static void test_submitting_a_foreign_frame_is_invalid(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    fw_encoder *enc = NULL;
    fw_frame stranger = {0};
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/x.mp4", dir);
    fw_encoder_options o = options_for("h264_vbr_1mbps", path, 64, 64);
    FW_REQUIRE(fw_encoder_open(&enc, &o, &err) == FW_OK);
    FW_CHECK_INT(fw_encoder_frame_submit(enc, &stranger, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "frame");
    fw_encoder_free(&enc);
    FW_CHECK_INT(entries_in(dir), 0);
}

/* ---- failures leave nothing behind -------------------------------------- */

static void test_unknown_codec_is_rejected_before_encoding(void)
{
    const fw_codec *c = NULL;
    fw_error err;
    FW_CHECK_INT(fw_codec_find("video_divx", FW_CODEC_VIDEO, &c, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "settings.codec");
    fw_encoder *enc = NULL;
    fw_encoder_options o = {.width = 64, .height = 64, .fps_num = 25, .fps_den = 1, .output_path = "x.mp4"};
    FW_CHECK_INT(fw_encoder_open(&enc, &o, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "settings.codec");
    FW_CHECK(enc == NULL);
}

static void test_bad_sizes_and_rates_name_the_option(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    fw_encoder *enc = NULL;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/bad.mp4", dir);
    fw_encoder_options o = options_for("h264_vbr_1mbps", path, 0, 64);
    FW_CHECK_INT(fw_encoder_open(&enc, &o, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "width");
    o = options_for("h264_vbr_1mbps", path, 321, 240);
    FW_CHECK_INT(fw_encoder_open(&enc, &o, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "even");
    o = options_for("h264_vbr_1mbps", path, 320, 240);
    o.fps_den = 0;
    FW_CHECK_INT(fw_encoder_open(&enc, &o, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "fps");
    /* Odd sizes are fine where nothing is subsampled. */
    o = options_for("png", path, 33, 17);
    o.frame_count = 1;
    snprintf(path, sizeof(path), "%s/odd.png", dir);
    FW_CHECK_INT(encode_synthetic(&o, 1, 0, &err), FW_OK);
    FW_CHECK(enc == NULL);
}

static void test_unwritable_output_is_an_io_error(void)
{
    fw_error err;
    fw_encoder *enc = NULL;
    fw_encoder_options o = options_for("h264_vbr_1mbps", "/nonexistent-folder/out.mp4", 64, 64);
    FW_CHECK_INT(fw_encoder_open(&enc, &o, &err), FW_ERR_IO);
    FW_CHECK_STR(err.field, "output");
    FW_CHECK_CONTAINS(err.message, "/nonexistent-folder/out.mp4");
    FW_CHECK(enc == NULL);
}

static void test_abort_leaves_no_file(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    fw_encoder *enc = NULL;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/aborted.mov", dir);
    fw_encoder_options o = options_for("prores_4444", path, 320, 240);
    FW_REQUIRE(fw_encoder_open(&enc, &o, &err) == FW_OK);
    FW_CHECK_INT(entries_in(dir), 1); /* the temporary file */
    for (int i = 0; i < 8; i++) {
        fw_frame *f;
        FW_REQUIRE(fw_encoder_frame_acquire(enc, &f, &err) == FW_OK);
        draw_frame(f, i, 0);
        FW_REQUIRE(fw_encoder_frame_submit(enc, f, &err) == FW_OK);
    }
    fw_encoder_abort(enc);
    FW_CHECK_INT(entries_in(dir), 0);
    FW_CHECK_INT(fw_encoder_finish(enc, &err), FW_ERR_FAILED_PRECONDITION);
    fw_encoder_free(&enc);
    FW_CHECK_INT(entries_in(dir), 0);
}

static void test_free_without_finish_leaves_no_file(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    fw_encoder *enc = NULL;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/abandoned.zip", dir);
    fw_encoder_options o = options_for("jpeg", path, 64, 64);
    FW_REQUIRE(fw_encoder_open(&enc, &o, &err) == FW_OK);
    for (int i = 0; i < 5; i++) {
        fw_frame *f;
        FW_REQUIRE(fw_encoder_frame_acquire(enc, &f, &err) == FW_OK);
        draw_frame(f, i, 0);
        FW_REQUIRE(fw_encoder_frame_submit(enc, f, &err) == FW_OK);
    }
    fw_encoder_free(&enc);
    FW_CHECK(enc == NULL);
    FW_CHECK_INT(entries_in(dir), 0);
}

static void test_finish_without_frames_fails_cleanly(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    fw_encoder *enc = NULL;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/empty.mp4", dir);
    fw_encoder_options o = options_for("h264_vbr_1mbps", path, 64, 64);
    FW_REQUIRE(fw_encoder_open(&enc, &o, &err) == FW_OK);
    FW_CHECK_INT(fw_encoder_finish(enc, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "no frames");
    fw_encoder_free(&enc);
    FW_CHECK_INT(entries_in(dir), 0);
}

/* A write failing on the encoding thread surfaces at the next call. */
static void test_error_on_encoding_thread_reaches_the_caller(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200], temp[4400];
    fw_error err;
    fw_encoder *enc = NULL;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/lost.zip", dir);
    fw_encoder_options o = options_for("png", path, 64, 64);
    FW_REQUIRE(fw_encoder_open(&enc, &o, &err) == FW_OK);
    /* Pull the sequence's temporary folder away from under the encoder. */
    DIR *d = opendir(dir);
    struct dirent *e;
    temp[0] = '\0';
    while ((e = readdir(d)))
        if (strstr(e->d_name, "fw-tmp"))
            snprintf(temp, sizeof(temp), "%s/%s", dir, e->d_name);
    closedir(d);
    FW_REQUIRE(temp[0] && rmdir(temp) == 0);
    fw_err rc = FW_OK;
    for (int i = 0; i < 20 && rc == FW_OK; i++) {
        fw_frame *f;
        rc = fw_encoder_frame_acquire(enc, &f, &err);
        if (rc == FW_OK) {
            draw_frame(f, i, 0);
            rc = fw_encoder_frame_submit(enc, f, &err);
        }
    }
    if (rc == FW_OK)
        rc = fw_encoder_finish(enc, &err);
    FW_CHECK_INT(rc, FW_ERR_IO);
    FW_CHECK_STR(err.field, "output");
    FW_CHECK_INT(fw_encoder_finish(enc, &err) != FW_OK, 1);
    fw_encoder_free(&enc);
    FW_CHECK_INT(entries_in(dir), 0);
}

int main(void)
{
    fw_media_log_init();
    FW_RUN(test_h264_writes_mp4_with_bt709);
    FW_RUN(test_h264_mp4_is_faststart);
    FW_RUN(test_h264_keeps_fractional_frame_rate);
    FW_RUN(test_prores_422_writes_10bit_422_mov);
    FW_RUN(test_prores_4444_keeps_alpha);
    FW_RUN(test_vp9_alpha_keeps_alpha_in_webm);
    FW_RUN(test_hevc_writes_hvc1_mp4);
    FW_RUN(test_gif_palette_is_recognisable);
    FW_RUN(test_png_still_is_one_rgba_picture);
    FW_RUN(test_jpeg_still_is_full_range_over_black);
    FW_RUN(test_still_with_one_frame_takes_only_one);
    FW_RUN(test_png_sequence_is_a_zip_of_numbered_pictures);
    FW_RUN(test_webp_is_animated_with_alpha);
    FW_RUN(test_image_read_decodes_webp_with_alpha);
    FW_RUN(test_image_read_reports_missing_and_garbage_files);
    FW_RUN(test_ring_hands_out_distinct_reused_buffers);
    FW_RUN(test_submitting_a_foreign_frame_is_invalid);
    FW_RUN(test_unknown_codec_is_rejected_before_encoding);
    FW_RUN(test_bad_sizes_and_rates_name_the_option);
    FW_RUN(test_unwritable_output_is_an_io_error);
    FW_RUN(test_abort_leaves_no_file);
    FW_RUN(test_free_without_finish_leaves_no_file);
    FW_RUN(test_finish_without_frames_fails_cleanly);
    FW_RUN(test_error_on_encoding_thread_reaches_the_caller);
    return fw_test_end();
}
