/*
 * codec.h - the output codecs Framewright can write, and how to look one up.
 *
 * The names are Nexrender Cloud's ("video_h264_vbr_15mbps", "image_png") plus
 * a few of our own (VP9 with alpha, GIF, animated WebP, HEVC). A job may name a
 * codec with or without its "video_" / "image_" prefix. Each entry carries
 * everything the encoder needs (FFmpeg encoder and muxer, pixel format, rate
 * control) and everything the rest of the server wants to know about the
 * output (file extension, MIME type, alpha, still or moving), so no other
 * module keeps its own list of codecs.
 *
 * The table is static and read-only; entries are never freed.
 */
#ifndef FW_MEDIA_CODEC_H
#define FW_MEDIA_CODEC_H

#include <stdint.h>

#include "server/util/error.h"

typedef enum fw_codec_kind {
    FW_CODEC_ANY = 0, /* only as a lookup filter */
    FW_CODEC_VIDEO,
    FW_CODEC_IMAGE,
} fw_codec_kind;

typedef enum fw_rate_control {
    FW_RATE_QUALITY = 0, /* constant quality (CRF, qscale, lossless, ...) */
    FW_RATE_VBR,         /* average bit_rate with VBV headroom */
    FW_RATE_CBR,         /* constant bit_rate, HRD-padded */
} fw_rate_control;

typedef struct fw_codec {
    const char *name;         /* canonical, with prefix: "video_h264_vbr_15mbps" */
    fw_codec_kind kind;       /* FW_CODEC_VIDEO or FW_CODEC_IMAGE */
    const char *encoder;      /* FFmpeg encoder name: "libx264", "prores_ks", ... */
    const char *muxer;        /* FFmpeg muxer name; NULL for still images (raw file) */
    const char *extension;    /* without the dot: "mp4", "mov", "png" */
    const char *mime_type;    /* "video/mp4" */
    const char *pixel_format; /* FFmpeg pixel format encoded: "yuv420p" */
    int has_alpha;            /* 1 when transparency survives into the file */
    int is_still;             /* 1 for single-picture formats (PNG, JPEG) */
    fw_rate_control rate_control;
    int64_t bit_rate;         /* bits per second for VBR/CBR; 0 otherwise */
    const char *audio_encoder; /* the sound's FFmpeg encoder ("aac", "pcm_s16le"); NULL: no sound */
} fw_codec;

/* Look up a codec by name, with or without its "video_"/"image_" prefix.
 * name NULL or "" gives the default for kind: video -> video_h264_vbr_15mbps,
 * image -> image_png (FW_CODEC_ANY defaults to video). A codec of the other
 * kind than asked for, or an unknown name, is FW_ERR_INVALID on field
 * "settings.codec" with a message listing the valid names. */
fw_err fw_codec_find(const char *name, fw_codec_kind kind, const fw_codec **out, fw_error *err);

/* All codecs, for listings: *count receives the number of entries. */
const fw_codec *fw_codec_list(int *count);

/* The extension of the file an encode produces: the codec's own, except for
 * still-image codecs given more than one frame (or an unknown count, 0),
 * which produce a zip of numbered pictures. */
const char *fw_codec_output_extension(const fw_codec *codec, int64_t frame_count);

/* The MIME type matching fw_codec_output_extension. */
const char *fw_codec_output_mime_type(const fw_codec *codec, int64_t frame_count);

#endif
