/*
 * rate_test.c - the H.264 codecs deliver the bit rate in their names.
 *
 * 720p noise over a moving gradient gives rate control more to spend than
 * any of the rates, so the rate reached is the encoder's doing. CBR is
 * HRD-padded and must be close; VBR is an average over a short clip and
 * gets a wider margin. Four seconds, so the start-up burst that the VBV
 * buffer allows does not dominate the average.
 */
#include "server/media/encoder.h"
#include "server/media/probe.h"
#include "tests/fw_test.h"
#include "tests/media/synthetic.h"

#define FRAMES 96

static void check_rate(const char *codec_name, double tolerance)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_error err;
    FW_REQUIRE(dir);
    snprintf(path, sizeof(path), "%s/%s.mp4", dir, codec_name);
    fw_encoder_options o = {.width = 1280, .height = 720, .fps_num = 24, .fps_den = 1,
                            .quality = FW_QUALITY_DRAFT, .output_path = path};
    FW_REQUIRE(fw_codec_find(codec_name, FW_CODEC_VIDEO, &o.codec, &err) == FW_OK);
    fw_err e = encode_synthetic(&o, FRAMES, 1, &err);
    FW_CHECK_MSG(e == FW_OK, "%s", err.message);
    FW_REQUIRE(e == FW_OK);
    double target = (double)o.codec->bit_rate;

    json_t *root = ffprobe(path);
    json_t *st = ffprobe_stream(root);
    FW_REQUIRE(st);
    FW_CHECK_STR(json_str(st, "codec_name"), "h264");
    FW_CHECK_INT(json_num(st, "width"), 1280);
    FW_CHECK_INT(json_num(st, "height"), 720);
    FW_CHECK_INT(json_num(st, "nb_read_frames"), FRAMES);
    FW_CHECK_STR(json_str(st, "color_space"), "bt709");
    double rate = (double)json_num(st, "bit_rate");
    fprintf(stderr, "  %s: %.0f bit/s for %.0f\n", codec_name, rate, target);
    FW_CHECK_NEAR(rate / target, 1.0, tolerance);
    json_decref(root);

    fw_media_info info;
    FW_REQUIRE(fw_media_probe(path, &info, &err) == FW_OK);
    FW_CHECK_NEAR((double)info.bit_rate / target, 1.0, tolerance);
    FW_CHECK_INT(info.frame_count, FRAMES);
}

static void test_h264_cbr_1mbps(void) { check_rate("video_h264_cbr_1mbps", 0.08); }
static void test_h264_cbr_5mbps(void) { check_rate("video_h264_cbr_5mbps", 0.08); }
static void test_h264_cbr_15mbps(void) { check_rate("video_h264_cbr_15mbps", 0.08); }
static void test_h264_cbr_40mbps(void) { check_rate("video_h264_cbr_40mbps", 0.08); }
static void test_h264_vbr_1mbps(void) { check_rate("video_h264_vbr_1mbps", 0.25); }
static void test_h264_vbr_5mbps(void) { check_rate("video_h264_vbr_5mbps", 0.25); }
static void test_h264_vbr_15mbps(void) { check_rate("video_h264_vbr_15mbps", 0.25); }
static void test_h264_vbr_40mbps(void) { check_rate("video_h264_vbr_40mbps", 0.25); }

int main(void)
{
    FW_RUN(test_h264_cbr_1mbps);
    FW_RUN(test_h264_cbr_5mbps);
    FW_RUN(test_h264_cbr_15mbps);
    FW_RUN(test_h264_cbr_40mbps);
    FW_RUN(test_h264_vbr_1mbps);
    FW_RUN(test_h264_vbr_5mbps);
    FW_RUN(test_h264_vbr_15mbps);
    FW_RUN(test_h264_vbr_40mbps);
    return fw_test_end();
}
