/*
 * join.h - stitch an ordered list of video clips into one MP4, end to end.
 *
 * This is the media half of a join job: the inputs are local files (the job
 * layer downloads or renders them first), the output is one file.
 *
 *     fw_join_options opts = {.output_path = "out.mp4", .preset = "mp4", .cancel = &job->cancel};
 *     fw_join_result result;
 *     if (fw_media_join(paths, n, &opts, &result, &err) != FW_OK) ...
 *
 * Every input is probed first. When all of them agree - H.264 video with the
 * same parameter sets, size, pixel format, frame rate and time base; the
 * same AAC audio, or no audio at all - the packets are copied as they are,
 * clip after clip with continuous timestamps: quick and lossless. Otherwise
 * everything is decoded and re-encoded to one format: the size and frame
 * rate of the first clip (or of the options), each clip scaled to fit and
 * padded with black keeping its aspect ratio, frames dropped or repeated on
 * a constant clock, H.264 yuv420p video and 48 kHz stereo AAC. A clip with no
 * sound gets silence of its exact length when any other clip has sound.
 * Clips are read one at a time, so memory does not grow with their number
 * or length. The MP4 has its index at the front (faststart).
 *
 * Output is all-or-nothing: written under a temporary name in the output's
 * folder and renamed onto output_path only on success; an error or a cancel
 * removes it.
 *
 * Errors: zero inputs is FW_ERR_INVALID on "assets"; an input that is missing,
 * unreadable or has no video is FW_ERR_INVALID on "assets[i]" (i counting
 * from 0, as in the job's assets array) with "clip i+1" in the message; bad
 * options are FW_ERR_INVALID on "output", "settings.preset", "width" or
 * "fps"; an output folder that cannot be written is FW_ERR_IO on "output";
 * a cancel is FW_ERR_CANCELLED.
 *
 * Copying AAC: each clip after the first starts without its encoder priming
 * packet (the one the demuxer marks discardable: it would overlap the end of
 * the clip before), so the first milliseconds of its sound may click. Re-encoding has no such
 * seam.
 */
#ifndef FW_MEDIA_JOIN_H
#define FW_MEDIA_JOIN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "server/media/encoder.h"
#include "server/util/error.h"

/* Called with the percentage done, 0 to 100, only when it changes; 100 comes
 * once the output is in place. Runs on the joining thread. */
typedef void (*fw_join_progress_fn)(int percent, void *user);

typedef struct fw_join_options {
    const char *output_path;   /* the final file; its folder must exist. Required. */
    const char *preset;        /* "mp4" (H.264 + AAC); NULL or "" means "mp4" */
    fw_quality quality;        /* x264 preset when re-encoding: draft is faster */
    int width, height;         /* output size when re-encoding; 0 = the first clip's */
    int fps_num, fps_den;      /* output frame rate when re-encoding; 0 = the first clip's */
    int threads;               /* codec threads; 0 = let FFmpeg choose */
    int force_reencode;        /* 1: re-encode even when the clips could be copied */
    const atomic_int *cancel;  /* polled between packets; non-zero cancels. May be NULL. */
    fw_join_progress_fn progress; /* may be NULL */
    void *progress_user;
    /* The segments of one split render: the clips must be copied (a clip
     * that cannot be is FW_ERR_FAILED_PRECONDITION, never re-encoded), their
     * own sound is left out, and this sound, when not NULL, is encoded once
     * over the whole (AAC as the render's: 48 kHz stereo, 192 kb/s, 128 in
     * draft), exactly sound_frames frames' worth at the clips' frame rate, so
     * nothing is cut or repeated where one segment meets the next. */
    int segments;
    const fw_audio_source *sound;
    int64_t sound_frames;
} fw_join_options;

typedef enum fw_join_method {
    FW_JOIN_NONE = 0, /* nothing was written */
    FW_JOIN_COPY,     /* packets remuxed without decoding */
    FW_JOIN_REENCODE, /* decoded, normalised and encoded again */
} fw_join_method;

typedef struct fw_join_result {
    fw_join_method method;
    int width, height;
    int fps_num, fps_den;
    int has_audio;       /* the output has an audio stream */
    int64_t frame_count; /* video frames written */
    double duration;     /* seconds of video written */
} fw_join_result;

/* Join count clips (local paths, in order) into opts->output_path. result may
 * be NULL; it is filled on success and says FW_JOIN_NONE otherwise. */
fw_err fw_media_join(const char *const *inputs, size_t count, const fw_join_options *opts,
                     fw_join_result *result, fw_error *err);

/* "copy", "re-encode" or "none", for logs. */
const char *fw_join_method_name(fw_join_method method);

#endif
