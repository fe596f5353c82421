/*
 * probe.h - read media files back: what is in them, and their pictures.
 *
 * Used by the tests to check what the encoder wrote, by the join feature to
 * look at the parts it joins, and by image assets to load pictures. Pixels
 * come out as straight (not premultiplied) RGBA, 8 bits per channel, in byte
 * order R,G,B,A, tightly packed (stride = width * 4). Buffers returned here
 * are malloc'd and belong to the caller (free()).
 *
 * VP9 with alpha (WebM "alpha mode") is decoded with libvpx so the alpha
 * plane is kept; FFmpeg's own VP9 decoder would drop it. Animated WebP is
 * not decodable by the FFmpeg this builds against: fw_media_probe and
 * fw_media_decode_frame report FW_ERR_UNSUPPORTED for it.
 */
#ifndef FW_MEDIA_PROBE_H
#define FW_MEDIA_PROBE_H

#include <stdint.h>

#include "server/util/error.h"

typedef struct fw_media_info {
    char codec[32];        /* FFmpeg's codec name: "h264", "prores", "vp9", "png", ... */
    char container[32];    /* FFmpeg's demuxer name, first of its list: "mov", "matroska", ... */
    char pixel_format[32]; /* as decoded: "yuv420p", "yuva444p10le", ... */
    int width, height;
    int fps_num, fps_den;  /* 0/1 for a still picture */
    int64_t frame_count;   /* from the container, or counted packet by packet */
    int64_t bit_rate;      /* video stream bits per second; the file's when the stream has none */
    double duration;       /* seconds; 0 for a still */
    int has_alpha;         /* the decoded pictures carry alpha */
} fw_media_info;

/* Describe the first video stream of a file. A missing file is
 * FW_ERR_NOT_FOUND, one FFmpeg cannot read FW_ERR_INVALID, both on "path". */
fw_err fw_media_probe(const char *path, fw_media_info *info, fw_error *err);

/* The first audio stream of a file: its length (seconds; 0 when the file
 * does not say), sample rate and channels. A file with no sound is
 * FW_ERR_INVALID on "path", like one FFmpeg cannot read. */
fw_err fw_media_probe_sound(const char *path, double *duration, int *rate, int *channels, fw_error *err);

/* Decode picture number index (0-based) to RGBA. *rgba is malloc'd; *width
 * and *height receive its size. An index past the end is FW_ERR_INVALID on
 * "frame". */
fw_err fw_media_decode_frame(const char *path, int64_t index, uint8_t **rgba, int *width, int *height,
                             fw_error *err);

/* Read a picture file (PNG, JPEG, WebP, GIF; the first frame of an animation)
 * into RGBA. Same ownership as fw_media_decode_frame. */
fw_err fw_image_read(const char *path, uint8_t **rgba, int *width, int *height, fw_error *err);

#endif
