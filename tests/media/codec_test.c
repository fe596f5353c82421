/*
 * codec_test.c - the codec table and the pixel arithmetic the encoder relies on.
 */
#include "server/media/codec.h"
#include "server/media/pixels.h"
#include "tests/fw_test.h"

static void test_codec_found_with_and_without_prefix(void)
{
    const fw_codec *a = NULL, *b = NULL;
    FW_CHECK_INT(fw_codec_find("video_h264_cbr_5mbps", FW_CODEC_VIDEO, &a, NULL), FW_OK);
    FW_CHECK_INT(fw_codec_find("h264_cbr_5mbps", FW_CODEC_VIDEO, &b, NULL), FW_OK);
    FW_REQUIRE(a && b);
    FW_CHECK(a == b);
    FW_CHECK_STR(a->name, "video_h264_cbr_5mbps");
    FW_CHECK_STR(a->encoder, "libx264");
    FW_CHECK_INT(a->rate_control, FW_RATE_CBR);
    FW_CHECK_INT(a->bit_rate, 5000000);
    FW_CHECK_INT(fw_codec_find("png", FW_CODEC_IMAGE, &a, NULL), FW_OK);
    FW_CHECK_STR(a->name, "image_png");
    FW_CHECK_INT(fw_codec_find("prores_4444", FW_CODEC_ANY, &a, NULL), FW_OK);
    FW_CHECK_STR(a->name, "video_prores_4444");
}

static void test_every_nexrender_codec_exists(void)
{
    static const char *names[] = {
        "video_h264_vbr_1mbps", "video_h264_vbr_5mbps", "video_h264_vbr_15mbps", "video_h264_vbr_40mbps",
        "video_h264_cbr_1mbps", "video_h264_cbr_5mbps", "video_h264_cbr_15mbps", "video_h264_cbr_40mbps",
        "video_prores_422",     "video_prores_4444",    "image_jpeg",            "image_png",
        "video_vp9_alpha",      "video_gif",            "video_webp",            "video_hevc",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const fw_codec *c = NULL;
        FW_CHECK_MSG(fw_codec_find(names[i], FW_CODEC_ANY, &c, NULL) == FW_OK, "%s", names[i]);
    }
    int count = 0;
    fw_codec_list(&count);
    FW_CHECK_INT(count, 16);
}

static void test_default_codec_depends_on_type(void)
{
    const fw_codec *c = NULL;
    FW_CHECK_INT(fw_codec_find(NULL, FW_CODEC_VIDEO, &c, NULL), FW_OK);
    FW_CHECK_STR(c ? c->name : NULL, "video_h264_vbr_15mbps");
    FW_CHECK_INT(fw_codec_find("", FW_CODEC_IMAGE, &c, NULL), FW_OK);
    FW_CHECK_STR(c ? c->name : NULL, "image_png");
}

static void test_unknown_codec_names_the_field_and_the_choices(void)
{
    const fw_codec *c = (const fw_codec *)1;
    fw_error err;
    FW_CHECK_INT(fw_codec_find("h263_potato", FW_CODEC_VIDEO, &c, &err), FW_ERR_INVALID);
    FW_CHECK(c == NULL);
    FW_CHECK_STR(err.field, "settings.codec");
    FW_CHECK_CONTAINS(err.message, "h263_potato");
    FW_CHECK_CONTAINS(err.message, "video_h264_vbr_15mbps");
    FW_CHECK_CONTAINS(err.message, "video_prores_4444");
    FW_CHECK_CONTAINS(err.message, "video_hevc");
}

static void test_codec_of_the_other_type_is_invalid(void)
{
    const fw_codec *c = NULL;
    fw_error err;
    FW_CHECK_INT(fw_codec_find("h264_vbr_1mbps", FW_CODEC_IMAGE, &c, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "settings.codec");
    FW_CHECK_CONTAINS(err.message, "image");
    FW_CHECK_INT(fw_codec_find("png", FW_CODEC_VIDEO, &c, &err), FW_ERR_INVALID);
}

static void test_codec_describes_its_output(void)
{
    const fw_codec *c = NULL;
    fw_codec_find("prores_4444", FW_CODEC_VIDEO, &c, NULL);
    FW_REQUIRE(c);
    FW_CHECK_STR(c->extension, "mov");
    FW_CHECK_STR(c->mime_type, "video/quicktime");
    FW_CHECK_INT(c->has_alpha, 1);
    FW_CHECK_INT(c->is_still, 0);
    fw_codec_find("prores_422", FW_CODEC_VIDEO, &c, NULL);
    FW_CHECK_INT(c->has_alpha, 0);
    fw_codec_find("jpeg", FW_CODEC_IMAGE, &c, NULL);
    FW_CHECK_STR(c->extension, "jpg");
    FW_CHECK_STR(c->mime_type, "image/jpeg");
    FW_CHECK_INT(c->is_still, 1);
    FW_CHECK_STR(fw_codec_output_extension(c, 1), "jpg");
    FW_CHECK_STR(fw_codec_output_extension(c, 10), "zip");
    FW_CHECK_STR(fw_codec_output_mime_type(c, 10), "application/zip");
    fw_codec_find("vp9_alpha", FW_CODEC_VIDEO, &c, NULL);
    FW_CHECK_STR(c->extension, "webm");
    FW_CHECK_INT(c->has_alpha, 1);
    fw_codec_find("hevc", FW_CODEC_VIDEO, &c, NULL);
    FW_CHECK_STR(fw_codec_output_extension(c, 10), "mp4");
}

static void test_unpremultiply_rounds_to_nearest(void)
{
    /* (100, 30, 20) at alpha 128 is (199.2, 59.8, 39.8) straight. */
    uint32_t px[4] = {0x80641e14u, 0x00000000u, 0xffabcdefu, 0x01010101u};
    uint32_t out[4];
    fw_pixels_unpremultiply_row(px, out, 4);
    FW_CHECK_INT(out[0] >> 24, 128);
    FW_CHECK_INT((out[0] >> 16) & 255, 199);
    FW_CHECK_INT((out[0] >> 8) & 255, 60);
    FW_CHECK_INT(out[0] & 255, 40);
    FW_CHECK_INT(out[1], 0);
    FW_CHECK_INT(out[2], 0xffabcdefu);
    FW_CHECK_INT(out[3], 0x01ffffffu);
}

static void test_unpremultiply_clears_colour_of_transparent_pixels(void)
{
    uint32_t px[1] = {0x00102030u}; /* invalid premultiplied, must not leak colour */
    fw_pixels_unpremultiply_row(px, px, 1);
    FW_CHECK_INT(px[0], 0);
}

static void test_unpremultiply_caps_overflowing_channels(void)
{
    uint32_t px[1] = {0x40ff8000u}; /* channels above alpha: not valid premultiplied */
    fw_pixels_unpremultiply_row(px, px, 1);
    FW_CHECK_INT((px[0] >> 16) & 255, 255);
    FW_CHECK_INT(px[0] >> 24, 64);
}

static void test_quantizer_keeps_few_colours_exactly_enough(void)
{
    static fw_quantizer q;
    uint32_t src[64];
    uint8_t idx[64];
    uint32_t pal[256];
    for (int i = 0; i < 64; i++)
        src[i] = i < 32 ? 0xffc82840u : 0xff1eb45au;
    fw_quantize(&q, (const uint8_t *)src, 8 * 4, 8, 8, idx, 8, pal);
    uint32_t a = pal[idx[0]], b = pal[idx[63]];
    FW_CHECK(idx[0] != idx[63]);
    FW_CHECK_NEAR((a >> 16) & 255, 0xc8, 8);
    FW_CHECK_NEAR((a >> 8) & 255, 0x28, 8);
    FW_CHECK_NEAR((b >> 8) & 255, 0xb4, 8);
    FW_CHECK_INT(a >> 24, 255);
}

int main(void)
{
    FW_RUN(test_codec_found_with_and_without_prefix);
    FW_RUN(test_every_nexrender_codec_exists);
    FW_RUN(test_default_codec_depends_on_type);
    FW_RUN(test_unknown_codec_names_the_field_and_the_choices);
    FW_RUN(test_codec_of_the_other_type_is_invalid);
    FW_RUN(test_codec_describes_its_output);
    FW_RUN(test_unpremultiply_rounds_to_nearest);
    FW_RUN(test_unpremultiply_clears_colour_of_transparent_pixels);
    FW_RUN(test_unpremultiply_caps_overflowing_channels);
    FW_RUN(test_quantizer_keeps_few_colours_exactly_enough);
    return fw_test_end();
}
