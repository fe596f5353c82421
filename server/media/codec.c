/*
 * codec.c - the codec table. One line per codec so adding one is one line;
 * the encoder reads its settings from here and from nowhere else.
 */
#include "server/media/codec.h"

#include <stdio.h>
#include <string.h>

#define MBPS(n) ((int64_t)(n) * 1000000)

#define H264(rc, rcname, n)                                                                        \
    {"video_h264_" rcname "_" #n "mbps", FW_CODEC_VIDEO, "libx264", "mp4", "mp4", "video/mp4",   \
     "yuv420p", 0, 0, rc, MBPS(n), "aac"}

static const fw_codec codecs[] = {
    H264(FW_RATE_VBR, "vbr", 1),
    H264(FW_RATE_VBR, "vbr", 5),
    H264(FW_RATE_VBR, "vbr", 15),
    H264(FW_RATE_VBR, "vbr", 40),
    H264(FW_RATE_CBR, "cbr", 1),
    H264(FW_RATE_CBR, "cbr", 5),
    H264(FW_RATE_CBR, "cbr", 15),
    H264(FW_RATE_CBR, "cbr", 40),
    {"video_prores_422", FW_CODEC_VIDEO, "prores_ks", "mov", "mov", "video/quicktime", "yuv422p10le", 0, 0,
     FW_RATE_QUALITY, 0, "pcm_s16le"},
    {"video_prores_4444", FW_CODEC_VIDEO, "prores_ks", "mov", "mov", "video/quicktime", "yuva444p10le", 1, 0,
     FW_RATE_QUALITY, 0, "pcm_s16le"},
    {"video_vp9_alpha", FW_CODEC_VIDEO, "libvpx-vp9", "webm", "webm", "video/webm", "yuva420p", 1, 0,
     FW_RATE_QUALITY, 0, "libopus"},
    {"video_hevc", FW_CODEC_VIDEO, "libx265", "mp4", "mp4", "video/mp4", "yuv420p", 0, 0, FW_RATE_QUALITY, 0, "aac"},
    {"video_gif", FW_CODEC_VIDEO, "gif", "gif", "gif", "image/gif", "pal8", 0, 0, FW_RATE_QUALITY, 0},
    /* bgra is native ARGB on little-endian: libwebp converts to YUV itself,
     * with the matrix WebP decoders assume. */
    {"video_webp", FW_CODEC_VIDEO, "libwebp_anim", "webp", "webp", "image/webp", "bgra", 1, 0,
     FW_RATE_QUALITY, 0},
    {"image_png", FW_CODEC_IMAGE, "png", NULL, "png", "image/png", "rgba", 1, 1, FW_RATE_QUALITY, 0},
    {"image_jpeg", FW_CODEC_IMAGE, "mjpeg", NULL, "jpg", "image/jpeg", "yuvj444p", 0, 1, FW_RATE_QUALITY, 0},
};

#define CODEC_COUNT ((int)(sizeof(codecs) / sizeof(codecs[0])))

const fw_codec *fw_codec_list(int *count)
{
    *count = CODEC_COUNT;
    return codecs;
}

static const char *kind_word(fw_codec_kind kind)
{
    return kind == FW_CODEC_IMAGE ? "image" : "video";
}

/* "h264_vbr_15mbps" matches "video_h264_vbr_15mbps": the prefix is optional. */
static int name_matches(const fw_codec *c, const char *name)
{
    const char *bare = strchr(c->name, '_') + 1;
    return strcmp(c->name, name) == 0 || strcmp(bare, name) == 0;
}

static fw_err unknown_codec(const char *name, fw_codec_kind kind, fw_error *err)
{
    char list[600] = "";
    size_t used = 0;
    for (int i = 0; i < CODEC_COUNT; i++) {
        if (kind != FW_CODEC_ANY && codecs[i].kind != kind)
            continue;
        int n = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", codecs[i].name);
        if (n < 0 || (size_t)n >= sizeof(list) - used)
            break;
        used += (size_t)n;
    }
    return fw_error_set(err, FW_ERR_INVALID, "settings.codec", "unknown %scodec \"%s\"; valid codecs are: %s",
                        kind == FW_CODEC_ANY ? "" : (kind == FW_CODEC_IMAGE ? "image " : "video "), name, list);
}

fw_err fw_codec_find(const char *name, fw_codec_kind kind, const fw_codec **out, fw_error *err)
{
    *out = NULL;
    if (!name || !*name)
        name = kind == FW_CODEC_IMAGE ? "image_png" : "video_h264_vbr_15mbps";
    for (int i = 0; i < CODEC_COUNT; i++) {
        if (!name_matches(&codecs[i], name))
            continue;
        if (kind != FW_CODEC_ANY && codecs[i].kind != kind)
            return fw_error_set(err, FW_ERR_INVALID, "settings.codec",
                                "codec \"%s\" writes %s output but settings.type is \"%s\"", name,
                                kind_word(codecs[i].kind), kind_word(kind));
        *out = &codecs[i];
        return FW_OK;
    }
    return unknown_codec(name, kind, err);
}

const char *fw_codec_output_extension(const fw_codec *codec, int64_t frame_count)
{
    if (codec->is_still && frame_count != 1)
        return "zip";
    return codec->extension;
}

const char *fw_codec_output_mime_type(const fw_codec *codec, int64_t frame_count)
{
    if (codec->is_still && frame_count != 1)
        return "application/zip";
    return codec->mime_type;
}
