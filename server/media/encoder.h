/*
 * encoder.h - turn rendered frames into a video file or images, with FFmpeg.
 *
 * Rendering and encoding overlap. The encoder owns a ring of frame buffers
 * and one encoding thread:
 *
 *     fw_encoder *enc = NULL;
 *     fw_encoder_options opts = {.codec = codec, .width = 1920, .height = 1080,
 *                                .fps_num = 30, .fps_den = 1, .output_path = "out.mp4"};
 *     if (fw_encoder_open(&enc, &opts, &err) != FW_OK) ...
 *     for (each frame) {
 *         fw_frame *f;
 *         fw_encoder_frame_acquire(enc, &f, &err);   blocks while every buffer is in flight
 *         draw into f->pixels (premultiplied ARGB32, f->stride bytes per row)
 *         fw_encoder_frame_submit(enc, f, &err);     queued; the thread converts and encodes
 *     }
 *     fw_encoder_finish(enc, &err);                  drain, flush, trailer, rename into place
 *     fw_encoder_free(&enc);
 *
 * Pixels come in as engines draw them: premultiplied ARGB32 in native-endian
 * uint32 (bytes B,G,R,A on little-endian). Codecs without alpha get the
 * picture composited over black, which for premultiplied colour is simply the
 * colour with alpha dropped. Codecs with alpha get it unpremultiplied (rounded;
 * alpha 0 becomes 0,0,0,0). YUV video is BT.709, limited range, and says so in
 * the stream; JPEG is BT.601 full range as JFIF expects.
 *
 * Output is all-or-nothing: the file is written under a temporary name next to
 * output_path and renamed onto it by fw_encoder_finish only when everything
 * succeeded. An error, fw_encoder_abort or fw_encoder_free without finish
 * removes the temporary file.
 *
 * Still-image codecs (image_png, image_jpeg):
 *   - frame_count == 1: one picture file at output_path;
 *   - otherwise (a frame range, or 0 = not known): a zip at output_path holding
 *     one stored (uncompressed; the pictures are compressed already) entry per
 *     frame, named "frame_NNNNN.png" / ".jpg", NNNNN = first_number + the
 *     frame's position, five digits or more. fw_codec_output_extension()
 *     says "zip" in that case.
 *
 * Threads: one producer thread calls acquire/submit/finish; the encoder's own
 * thread does the rest. An error on the encoding thread is reported by the
 * next acquire, submit or finish, and every later call returns it too.
 */
#ifndef FW_MEDIA_ENCODER_H
#define FW_MEDIA_ENCODER_H

#include <stdint.h>

#include "server/media/codec.h"
#include "server/util/error.h"

typedef enum fw_quality {
    FW_QUALITY_FULL = 0, /* slower presets, higher quality settings */
    FW_QUALITY_DRAFT,    /* fast presets for previews */
} fw_quality;

/* Sound for the output: 48 kHz stereo float samples, interleaved, pulled
 * by the encoding thread as the video advances (so read runs there). */
typedef struct fw_audio_source {
    fw_err (*read)(void *user, float *samples, int frames, fw_error *err);
    void *user;
} fw_audio_source;

typedef struct fw_encoder_options {
    const fw_codec *codec;   /* from fw_codec_find(); required */
    int width, height;       /* pixels; 4:2:0 codecs need even sizes */
    int fps_num, fps_den;    /* frame rate as a fraction, e.g. 30000/1001 */
    fw_quality quality;
    const char *output_path; /* the final file; its folder must exist */
    int threads;             /* codec threads; 0 = let FFmpeg choose */
    int buffer_count;        /* frames in flight; 0 = 3 */
    int64_t frame_count;     /* frames that will be submitted; 0 = unknown.
                                Decides single picture vs zip for stills. */
    int64_t first_number;    /* number in the first picture's name in a zip */
    /* Sound (NULL: none). Needs frame_count and a codec with an
     * audio_encoder: AAC 192 kb/s in MP4, 16-bit PCM in QuickTime, Opus in
     * WebM. The sound lasts exactly as long as the frames: frame_count
     * frames' worth of samples, the last audio frame cut short. The struct
     * is copied; its user must live until finish or free. */
    const fw_audio_source *audio;
} fw_encoder_options;

/* A buffer to draw one frame into. Owned by the encoder; valid between
 * acquire and submit. */
typedef struct fw_frame {
    uint32_t *pixels; /* premultiplied ARGB32, native endian */
    int width, height;
    int stride;       /* bytes from one row to the next; a multiple of 64 */
    int64_t index;    /* position in the output, set by submit */
} fw_frame;

typedef struct fw_encoder fw_encoder;

/* Create the encoder, the temporary output file and the encoding thread.
 * Bad options are FW_ERR_INVALID naming the option ("width", "fps",
 * "settings.codec"); an output folder that cannot be written is FW_ERR_IO
 * on "output". On failure *enc stays NULL and nothing is left on disk. */
fw_err fw_encoder_open(fw_encoder **enc, const fw_encoder_options *opts, fw_error *err);

/* A free buffer to draw into, waiting while all are queued for encoding. */
fw_err fw_encoder_frame_acquire(fw_encoder *enc, fw_frame **frame, fw_error *err);

/* Queue an acquired buffer for encoding; it goes back to the ring afterwards.
 * A frame that was not acquired from this encoder is FW_ERR_INVALID. */
fw_err fw_encoder_frame_submit(fw_encoder *enc, fw_frame *frame, fw_error *err);

/* Encode what is queued, flush the codec, write the trailer and move the
 * file to output_path. Finishing with no frames is FW_ERR_FAILED_PRECONDITION.
 * After an error nothing is left at output_path or under a temporary name. */
fw_err fw_encoder_finish(fw_encoder *enc, fw_error *err);

/* Stop, discard queued frames and remove the temporary file. Safe to call
 * at any time, also after finish (then it does nothing). */
void fw_encoder_abort(fw_encoder *enc);

/* Frames from one keyframe to the next in H.264 video at this rate (two
 * seconds' worth). A split render's chunks are whole multiples of it, so
 * each chunk starts where the whole render has a keyframe anyway. */
int fw_encoder_keyframe_interval(int fps_num, int fps_den);

/* Frames submitted so far. */
int64_t fw_encoder_frames_submitted(const fw_encoder *enc);

/* Abort if not finished, free everything and set *enc to NULL. NULL is fine. */
void fw_encoder_free(fw_encoder **enc);

#endif
