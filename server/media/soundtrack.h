/*
 * soundtrack.h - the sound of a render: sounds placed on the output's
 * timeline, mixed into 48 kHz stereo.
 *
 * Each sound is a file's first audio stream played over a span of the
 * output: from output time `at` (where source time `source_at` is heard)
 * until `until`, at `speed` source seconds per output second, with a gain,
 * fades at both ends of the span, and optionally a trimmed part of the
 * source repeated. The soundtrack decodes every sound as the mix needs it
 * (libavformat, libavcodec) and resamples it (libswresample) to 48 kHz
 * stereo float; the mix is the sum, limited to [-1, 1].
 *
 *     fw_soundtrack *s = NULL;
 *     fw_soundtrack_open(&s, sounds, count, 0.0, &err);
 *     fw_soundtrack_read(s, samples, 1024, &err);   the next 1024 stereo samples
 *     fw_soundtrack_free(&s);
 *
 * Reading is sequential from the output time given at open, and it is the
 * encoder's thread that reads: sounds are decoded there, beside the video.
 */
#ifndef FW_MEDIA_SOUNDTRACK_H
#define FW_MEDIA_SOUNDTRACK_H

#include <stddef.h>

#include "server/util/error.h"

#define FW_SOUND_RATE 48000
#define FW_SOUND_CHANNELS 2

typedef struct fw_sound {
    const char *path;
    const char *field;    /* named in errors: "assets[3]", "layer 'music'" */
    double at, until;     /* the output span, seconds; nothing is heard outside it */
    double source_at;     /* source seconds heard at `at` */
    double speed;         /* source seconds per output second; 0 means 1 */
    double gain_db;
    double fade_in, fade_out; /* seconds at the start and the end of the span */
    int loop;             /* at trim_end (or the source's end), go on from trim_start */
    double trim_start, trim_end; /* the source part a loop repeats; trim_end <= 0: to the end */
    int optional;         /* a file without sound is silence, not an error (a clip's sound) */
} fw_sound;

typedef struct fw_soundtrack fw_soundtrack;

/* Open every sound's file (copied: sounds may go after this returns). A
 * file that is not there, not readable by FFmpeg or (unless optional) has
 * no audio stream is an error on the sound's field. start is the output
 * time of the first sample read. */
fw_err fw_soundtrack_open(fw_soundtrack **out, const fw_sound *sounds, size_t count, double start, fw_error *err);

/* The next frames stereo samples, interleaved (left, right), into samples. */
fw_err fw_soundtrack_read(fw_soundtrack *s, float *samples, int frames, fw_error *err);

/* How many sounds are heard at all (optional ones without sound are not). */
size_t fw_soundtrack_count(const fw_soundtrack *s);

void fw_soundtrack_free(fw_soundtrack **s);

#endif
