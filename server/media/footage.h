/*
 * footage.h - a video clip played into a layer: its pictures, decoded ahead
 * on a thread of their own.
 *
 * A footage object turns one clip into pictures of one fixed size (the size
 * its layer shows it at), premultiplied ARGB32 in native byte order, as the
 * engines draw:
 *
 *     fw_footage *f = NULL;
 *     fw_footage_options opts = {.width = 1920, .height = 1080};
 *     if (fw_footage_open(&f, "clip.mp4", &opts, &err) != FW_OK) ...
 *     for (each output frame) {
 *         fw_footage_picture pic;
 *         fw_footage_picture_at(f, seconds, &pic, &err);   the picture shown then
 *     }
 *     fw_footage_free(&f);
 *
 * Time is the clip's own, in seconds from its first picture. The picture
 * shown at time t is the last one whose timestamp is not after t, so a 25
 * fps clip in a 60 fps composition shows each picture for two or three
 * frames, and nothing drifts: timestamps are the stream's, not counted.
 * Before the first picture the first is shown; past the last one the last
 * is held, or with loop the clip starts again (time modulo its duration).
 *
 * The decoding thread runs a few pictures ahead of the caller and converts
 * them (libswscale) there too, so that a caller asking for times in order
 * mostly finds its picture ready. A time behind the current picture, or
 * far ahead of it, is a seek: to the key frame before it, then decoding on
 * without converting to the exact picture.
 *
 * One thread calls picture_at; the decoding thread is the object's own.
 */
#ifndef FW_MEDIA_FOOTAGE_H
#define FW_MEDIA_FOOTAGE_H

#include <stddef.h>
#include <stdint.h>

#include "server/util/error.h"

typedef struct fw_footage fw_footage;

typedef struct fw_footage_options {
    int width, height; /* the pictures' size: the clip is scaled to it */
    int loop;          /* past the end, start again */
    int threads;       /* decoder threads; 0 = let FFmpeg choose */
} fw_footage_options;

typedef struct fw_footage_picture {
    const uint32_t *pixels; /* premultiplied ARGB32; valid until the next picture_at or free */
    int width, height;
    size_t stride;          /* bytes per row */
    double time;            /* the picture's timestamp, seconds from the first */
    int64_t serial;         /* changes exactly when the pixels do */
} fw_footage_picture;

/* Open path's first video stream and start decoding. A file that is not
 * there is FW_ERR_NOT_FOUND, one FFmpeg cannot read or without pictures
 * FW_ERR_INVALID, a codec without a decoder FW_ERR_UNSUPPORTED, all on
 * "src". */
fw_err fw_footage_open(fw_footage **out, const char *path, const fw_footage_options *opts, fw_error *err);

/* The picture shown at seconds. Waits for the decoding thread when it is not
 * ready; a file that stops decoding midway is FW_ERR_INVALID on "src". */
fw_err fw_footage_picture_at(fw_footage *f, double seconds, fw_footage_picture *pic, fw_error *err);

/* The clip's length in seconds (from the container; 0 when it says none). */
double fw_footage_duration(const fw_footage *f);

/* Pictures decoded so far, and how many of them were converted (the rest
 * were skipped on the way to a seek's target). */
void fw_footage_counts(const fw_footage *f, int64_t *decoded, int64_t *converted, int64_t *seeks);

/* Stop the thread, free everything, set *f to NULL. NULL is fine. */
void fw_footage_free(fw_footage **f);

#endif
