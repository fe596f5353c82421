/*
 * join.c - concatenating clips: probe, then stream copy or re-encode.
 *
 * The stages, in fw_media_join: check the options -> probe every clip ->
 * decide copy or re-encode -> open the temporary output -> one clip at a time
 * through the chosen path -> trailer, faststart, rename. Cleanup runs on
 * every failure and removes the temporary file.
 *
 * Copy keeps each clip's timestamps in its own time base and adds an offset:
 * the end of everything written before (the largest pts + duration of any
 * stream), so the next clip starts where the previous one stopped and no
 * DTS is repeated; a DTS that would still not increase (rounding between
 * time bases, odd inputs) is nudged up by one tick.
 *
 * Re-encoding runs on an output clock: frame n is shown at n / fps and audio
 * sample k at k / 48000. A clip owns the frame slots from where the previous
 * one ended for its duration times fps; each slot shows the newest decoded
 * picture whose time is not after the slot (so frames are dropped or
 * repeated). Its audio is cut or padded with silence to exactly the samples
 * those slots cover, so sound and picture stay together across the cuts.
 */
#include "server/media/join.h"
#include "server/media/input.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/media/codec.h"
#include "server/util/fs.h"
#include "server/util/log.h"

#define PATH_MAX_LEN 4096
#define AUDIO_RATE 48000
#define SILENCE_CHUNK 1024

/* What probing found in one clip. The codec parameters are copies, so no
 * clip stays open while the others are looked at. */
typedef struct clip {
    AVCodecParameters *video, *audio; /* audio NULL when the clip has none */
    AVRational video_time_base, audio_time_base;
    AVRational frame_rate;
    AVRational aspect; /* sample aspect ratio; 1:1 when unknown */
    double duration;   /* seconds of video; 0 when the container does not say */
} clip;

/* An open input: the demuxer and the streams used. */
typedef struct input {
    AVFormatContext *format;
    AVStream *video, *audio;
    int64_t origin; /* earliest start of the used streams, AV_TIME_BASE units */
} input;

/* Re-encoding state, for the whole output. */
typedef struct transcoder {
    AVCodecContext *video_encoder, *audio_encoder;
    AVCodecContext *video_decoder, *audio_decoder; /* of the current clip */
    AVFrame *decoded, *picture, *samples;
    int have_picture;
    struct SwsContext *sws;
    int sws_width, sws_height, sws_format;
    int fit_x, fit_y, fit_width, fit_height; /* where the clip's picture goes */
    SwrContext *swr;
    AVAudioFifo *fifo;
    uint8_t **convert_buffer; /* resampler output, grown when a frame needs more */
    int convert_capacity;
    float *silence[2];
    int64_t slot;           /* next output frame number */
    int64_t samples_queued; /* audio samples put into the FIFO so far */
    int64_t samples_sent;   /* audio samples given to the encoder */
    int64_t clip_first_slot, clip_end_slot; /* end -1 while not known */
    int clip_audio_started;
} transcoder;

typedef struct join {
    const char *const *inputs;
    size_t count;
    const fw_join_options *opts;
    clip *clips;
    int any_audio;
    int width, height;
    AVRational fps;
    char final_path[PATH_MAX_LEN];
    char temp_path[PATH_MAX_LEN];
    AVFormatContext *out;
    AVStream *out_video, *out_audio;
    AVPacket *packet;
    double total_seconds, done_seconds;
    int last_percent;
    int64_t frames_written;
    double seconds_written;
    transcoder *sound;        /* segments: the sound encoded beside the copied video */
    float *sound_buffer;      /* segments: interleaved samples read from opts->sound */
} join;

static fw_err av_failure(fw_error *err, fw_err code, const char *field, const char *what, int averr)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, reason, sizeof(reason));
    return fw_error_set(err, code, field, "%s: %s", what, reason);
}

static fw_err clip_failure(fw_error *err, size_t index, const char *path, const char *what, int averr)
{
    char field[32], reason[AV_ERROR_MAX_STRING_SIZE];
    snprintf(field, sizeof(field), "assets[%zu]", index);
    av_strerror(averr, reason, sizeof(reason));
    return fw_error_set(err, FW_ERR_INVALID, field, "clip %zu (%s) %s: %s", index + 1, path, what, reason);
}

static int cancelled(const join *j)
{
    return j->opts->cancel && atomic_load(j->opts->cancel);
}

static fw_err cancel_error(fw_error *err)
{
    return fw_error_set(err, FW_ERR_CANCELLED, NULL, "the join was cancelled");
}

/* Throttled: the callback hears only whole percentages that went up. */
static void report_progress(join *j, double seconds, int final)
{
    if (!j->opts->progress)
        return;
    int percent = 100;
    if (!final) {
        percent = j->total_seconds > 0 ? (int)(99.0 * seconds / j->total_seconds) : 0;
        percent = percent < 0 ? 0 : percent > 99 ? 99 : percent;
    }
    if (percent <= j->last_percent) /* packets arrive in decoding order: never step back */
        return;
    j->last_percent = percent;
    j->opts->progress(percent, j->opts->progress_user);
}

/* ---- inputs ----------------------------------------------------------- */

static int is_still_container(const AVFormatContext *f)
{
    return strstr(f->iformat->name, "_pipe") || strcmp(f->iformat->name, "image2") == 0;
}

static int64_t stream_start(const AVStream *st)
{
    if (!st || st->start_time == AV_NOPTS_VALUE)
        return INT64_MAX;
    return av_rescale_q(st->start_time, st->time_base, AV_TIME_BASE_Q);
}

static void input_close(input *in)
{
    avformat_close_input(&in->format);
    in->video = in->audio = NULL;
}

static fw_err input_open(input *in, const char *path, size_t index, fw_error *err)
{
    char field[32];
    struct stat st;
    memset(in, 0, sizeof(*in));
    snprintf(field, sizeof(field), "assets[%zu]", index);
    if (!path || !*path)
        return fw_error_set(err, FW_ERR_INVALID, field, "clip %zu has no file", index + 1);
    if (stat(path, &st) != 0)
        return fw_error_set(err, FW_ERR_INVALID, field, "clip %zu (%s) cannot be read: %s", index + 1, path,
                            strerror(errno));
    int rc = fw_media_open_input(&in->format, path, NULL);
    if (rc < 0)
        return clip_failure(err, index, path, "is not a media file FFmpeg can read", rc);
    rc = avformat_find_stream_info(in->format, NULL);
    if (rc < 0)
        return clip_failure(err, index, path, "could not be analysed", rc);
    int v = av_find_best_stream(in->format, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (v < 0 || (in->format->streams[v]->disposition & AV_DISPOSITION_ATTACHED_PIC) ||
        in->format->streams[v]->codecpar->width <= 0)
        return fw_error_set(err, FW_ERR_INVALID, field, "clip %zu (%s) has no video", index + 1, path);
    if (is_still_container(in->format))
        return fw_error_set(err, FW_ERR_INVALID, field, "clip %zu (%s) is a still picture, not a video", index + 1,
                            path);
    in->video = in->format->streams[v];
    int a = av_find_best_stream(in->format, AVMEDIA_TYPE_AUDIO, -1, v, NULL, 0);
    if (a >= 0 && in->format->streams[a]->codecpar->sample_rate > 0)
        in->audio = in->format->streams[a];
    int64_t origin = stream_start(in->video), audio_start = stream_start(in->audio);
    if (audio_start < origin)
        origin = audio_start;
    in->origin = origin == INT64_MAX ? 0 : origin;
    return FW_OK;
}

static void clip_free(clip *c)
{
    avcodec_parameters_free(&c->video);
    avcodec_parameters_free(&c->audio);
}

static double video_duration(const input *in)
{
    const AVStream *v = in->video;
    if (v->duration > 0 && v->duration != AV_NOPTS_VALUE)
        return v->duration * av_q2d(v->time_base);
    if (in->format->duration > 0)
        return in->format->duration / (double)AV_TIME_BASE;
    return 0;
}

static fw_err probe_clip(clip *c, const char *path, size_t index, fw_error *err)
{
    input in;
    fw_err e = input_open(&in, path, index, err);
    if (e == FW_OK) {
        c->video = avcodec_parameters_alloc();
        c->audio = in.audio ? avcodec_parameters_alloc() : NULL;
        if (!c->video || (in.audio && !c->audio) || avcodec_parameters_copy(c->video, in.video->codecpar) < 0 ||
            (in.audio && avcodec_parameters_copy(c->audio, in.audio->codecpar) < 0))
            e = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory probing clip %zu", index + 1);
    }
    if (e == FW_OK) {
        c->video_time_base = in.video->time_base;
        c->audio_time_base = in.audio ? in.audio->time_base : (AVRational){0, 1};
        c->frame_rate = in.video->avg_frame_rate.num > 0 ? in.video->avg_frame_rate : in.video->r_frame_rate;
        c->aspect = av_guess_sample_aspect_ratio(in.format, in.video, NULL);
        if (c->aspect.num <= 0 || c->aspect.den <= 0)
            c->aspect = (AVRational){1, 1};
        c->duration = video_duration(&in);
    }
    input_close(&in);
    return e;
}

/* ---- deciding ---------------------------------------------------------- */

static int same_extradata(const AVCodecParameters *a, const AVCodecParameters *b)
{
    return a->extradata_size == b->extradata_size &&
           (a->extradata_size == 0 || memcmp(a->extradata, b->extradata, (size_t)a->extradata_size) == 0);
}

static const char *say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *say(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return why;
}

/* Why the clips cannot be copied into an MP4 ("" when they can), for the log. */
static const char *copy_obstacle(const join *j, char *why, size_t size)
{
    const clip *first = &j->clips[0];
    const fw_join_options *o = j->opts;
    if (o->force_reencode)
        return say(why, size, "re-encoding was asked for");
    if (first->video->codec_id != AV_CODEC_ID_H264)
        return say(why, size, "clip 1 is %s, not H.264", avcodec_get_name(first->video->codec_id));
    if (first->audio && first->audio->codec_id != AV_CODEC_ID_AAC)
        return say(why, size, "clip 1 has %s sound, not AAC", avcodec_get_name(first->audio->codec_id));
    if (o->width && (o->width != first->video->width || o->height != first->video->height))
        return say(why, size, "the output size differs from the clips'");
    if (o->fps_num && av_cmp_q((AVRational){o->fps_num, o->fps_den}, first->frame_rate) != 0)
        return say(why, size, "the output frame rate differs from the clips'");
    for (size_t i = 1; i < j->count; i++) {
        const clip *c = &j->clips[i];
        const AVCodecParameters *a = first->video, *b = c->video;
        if (b->width != a->width || b->height != a->height || av_cmp_q(c->aspect, first->aspect) != 0)
            return say(why, size, "clip %zu is %dx%d, clip 1 %dx%d", i + 1, b->width, b->height, a->width,
                       a->height);
        if (av_cmp_q(c->frame_rate, first->frame_rate) != 0 ||
            av_cmp_q(c->video_time_base, first->video_time_base) != 0)
            return say(why, size, "clip %zu runs at %d/%d fps, clip 1 at %d/%d", i + 1, c->frame_rate.num,
                       c->frame_rate.den, first->frame_rate.num, first->frame_rate.den);
        if (b->codec_id != a->codec_id || b->profile != a->profile || b->level != a->level ||
            b->format != a->format || !same_extradata(a, b))
            return say(why, size, "clip %zu differs from clip 1 in codec, profile or parameter sets", i + 1);
        if (!c->audio != !first->audio)
            return say(why, size, "some clips have sound and some do not");
        if (c->audio && (c->audio->codec_id != first->audio->codec_id ||
                         c->audio->sample_rate != first->audio->sample_rate ||
                         av_channel_layout_compare(&c->audio->ch_layout, &first->audio->ch_layout) != 0 ||
                         !same_extradata(c->audio, first->audio) ||
                         av_cmp_q(c->audio_time_base, first->audio_time_base) != 0))
            return say(why, size, "clip %zu has sound coded differently from clip 1", i + 1);
    }
    why[0] = '\0';
    return why;
}

/* Used by the copy of a split render's segments too, which encodes its sound. */
static int64_t samples_at(const join *j, int64_t slot);
static fw_err queue_samples(join *j, transcoder *t, void **planes, int count, fw_error *err);
static fw_err drain_audio(join *j, transcoder *t, int flush, fw_error *err);
static fw_err encode(join *j, AVCodecContext *c, AVStream *st, AVFrame *frame, fw_error *err);
static fw_err open_audio_encoder(join *j, transcoder *t, fw_error *err);
static fw_err add_encoded_stream(join *j, AVCodecContext *c, AVStream **out, fw_error *err);

/* ---- output ------------------------------------------------------------ */

static fw_err output_open(join *j, fw_error *err)
{
    const char *path = j->final_path;
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path) + 1 : 0;
    snprintf(j->temp_path, sizeof(j->temp_path), "%.*s.%s.fw-tmp-XXXXXX", dir_len, path, slash ? slash + 1 : path);
    int fd = fw_create_temp_file(j->temp_path);
    if (fd < 0) {
        int e = errno;
        j->temp_path[0] = '\0';
        return fw_error_set(err, FW_ERR_IO, "output", "cannot write next to %s: %s", path, strerror(e));
    }
    close(fd);
    int rc = avformat_alloc_output_context2(&j->out, NULL, "mp4", j->temp_path);
    if (rc < 0 || !j->out)
        return av_failure(err, FW_ERR_INTERNAL, "output", "the MP4 container could not be set up", rc);
    return FW_OK;
}

static fw_err output_start(join *j, fw_error *err)
{
    AVDictionary *mux_opts = NULL;
    int rc = avio_open(&j->out->pb, j->temp_path, AVIO_FLAG_WRITE);
    if (rc < 0)
        return av_failure(err, FW_ERR_IO, "output", "the output could not be opened", rc);
    av_dict_set(&mux_opts, "movflags", "+faststart", 0);
    rc = avformat_write_header(j->out, &mux_opts);
    av_dict_free(&mux_opts);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, "output", "the MP4 header could not be written", rc);
    return FW_OK;
}

static fw_err output_finish(join *j, fw_error *err)
{
    int rc = av_write_trailer(j->out);
    if (rc < 0)
        return av_failure(err, FW_ERR_IO, "output", "the MP4 could not be finished", rc);
    rc = avio_closep(&j->out->pb);
    if (rc < 0)
        return av_failure(err, FW_ERR_IO, "output", "the output could not be closed", rc);
    if (rename(j->temp_path, j->final_path) != 0)
        return fw_error_set(err, FW_ERR_IO, "output", "cannot move the output to %s: %s", j->final_path,
                            strerror(errno));
    j->temp_path[0] = '\0';
    return FW_OK;
}

static void output_discard(join *j)
{
    if (j->out) {
        if (j->out->pb)
            avio_closep(&j->out->pb);
        avformat_free_context(j->out);
        j->out = NULL;
    }
    if (j->temp_path[0]) {
        unlink(j->temp_path);
        j->temp_path[0] = '\0';
    }
}

static fw_err write_packet(join *j, AVPacket *p, AVRational from, AVStream *to, fw_error *err)
{
    av_packet_rescale_ts(p, from, to->time_base);
    p->stream_index = to->index;
    p->pos = -1;
    int rc = av_interleaved_write_frame(j->out, p);
    if (rc < 0)
        return av_failure(err, FW_ERR_IO, "output", "writing a packet failed", rc);
    return FW_OK;
}

/* ---- stream copy ------------------------------------------------------- */

/* Segments: the sound read from opts->sound up to sample position target,
 * never past the whole's end, and encoded as it goes. */
static fw_err queue_sound_to(join *j, transcoder *t, int64_t target, fw_error *err)
{
    int64_t end = samples_at(j, j->opts->sound_frames);
    if (target > end)
        target = end;
    while (t->samples_queued < target) {
        int64_t n = target - t->samples_queued;
        int count = n < SILENCE_CHUNK ? (int)n : SILENCE_CHUNK;
        float *interleaved = j->sound_buffer;
        float *planes[2] = {j->sound_buffer + 2 * SILENCE_CHUNK, j->sound_buffer + 3 * SILENCE_CHUNK};
        fw_err e = j->opts->sound->read(j->opts->sound->user, interleaved, count, err);
        if (e != FW_OK)
            return e;
        for (int i = 0; i < count; i++) {
            planes[0][i] = interleaved[2 * i];
            planes[1][i] = interleaved[2 * i + 1];
        }
        if ((e = queue_samples(j, t, (void **)planes, count, err)) != FW_OK)
            return e;
    }
    return FW_OK;
}

/* Per output stream while copying: times in the input time base, which every
 * clip shares (that was checked). */
typedef struct copy_track {
    AVStream *out;
    AVRational time_base;
    int64_t last_dts; /* INT64_MIN before the first packet */
    int64_t end;      /* largest pts + duration written, offset included */
} copy_track;

static fw_err copy_add_stream(join *j, const AVCodecParameters *par, AVRational time_base, AVStream **out,
                              fw_error *err)
{
    *out = avformat_new_stream(j->out, NULL);
    if (!*out || avcodec_parameters_copy((*out)->codecpar, par) < 0)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for an output stream");
    (*out)->codecpar->codec_tag = 0; /* let the MP4 muxer pick its own tag */
    (*out)->time_base = time_base;
    return FW_OK;
}

/* Shift one packet onto the output timeline; keep DTS strictly increasing. */
static void copy_retime(copy_track *t, AVPacket *p, int64_t shift)
{
    if (p->pts != AV_NOPTS_VALUE)
        p->pts += shift;
    if (p->dts != AV_NOPTS_VALUE)
        p->dts += shift;
    else
        p->dts = p->pts;
    if (p->dts != AV_NOPTS_VALUE) {
        if (t->last_dts != INT64_MIN && p->dts <= t->last_dts)
            p->dts = t->last_dts + 1;
        if (p->pts != AV_NOPTS_VALUE && p->pts < p->dts)
            p->pts = p->dts;
        t->last_dts = p->dts;
    }
    int64_t end = (p->pts != AV_NOPTS_VALUE ? p->pts : p->dts) + (p->duration > 0 ? p->duration : 0);
    if (end > t->end)
        t->end = end;
}

static fw_err copy_clip(join *j, size_t index, copy_track tracks[2], int64_t *offset, fw_error *err)
{
    input in;
    fw_err e = input_open(&in, j->inputs[index], index, err);
    int64_t shift[2] = {0, 0};
    for (int s = 0; s < 2 && e == FW_OK; s++)
        if (tracks[s].out)
            shift[s] = av_rescale_q(*offset, AV_TIME_BASE_Q, tracks[s].time_base) -
                       av_rescale_q(in.origin, AV_TIME_BASE_Q, tracks[s].time_base);
    double clip_start = j->done_seconds;
    while (e == FW_OK) {
        if (cancelled(j)) {
            e = cancel_error(err);
            break;
        }
        AVPacket *p = j->packet;
        int rc = av_read_frame(in.format, p);
        if (rc == AVERROR_EOF)
            break;
        if (rc < 0) {
            e = clip_failure(err, index, j->inputs[index], "could not be read to the end", rc);
            break;
        }
        int s = p->stream_index == in.video->index ? 0 : in.audio && p->stream_index == in.audio->index ? 1 : -1;
        if (s == 1 && j->opts->segments)
            s = -1; /* a segment's own sound is not the whole's */
        /* Packets before a later clip's start (AAC priming) would land on the
         * previous clip's end; the first clip keeps them in its edit list. */
        if (index > 0 && (p->flags & AV_PKT_FLAG_DISCARD))
            s = -1;
        if (s >= 0 && tracks[s].out) {
            copy_retime(&tracks[s], p, shift[s]);
            if (s == 0 && p->pts != AV_NOPTS_VALUE)
                report_progress(j, clip_start + (p->pts - shift[0]) * av_q2d(tracks[0].time_base), 0);
            e = write_packet(j, p, tracks[s].time_base, tracks[s].out, err);
            if (e == FW_OK && s == 0)
                j->frames_written++;
            /* The sound keeps pace with the pictures, so the muxer interleaves both. */
            if (e == FW_OK && s == 0 && j->sound)
                e = queue_sound_to(j, j->sound, samples_at(j, j->frames_written), err);
        }
        av_packet_unref(p);
    }
    input_close(&in);
    if (e != FW_OK)
        return e;
    /* The next clip starts where the longest stream of this one ended. */
    int64_t end = *offset;
    for (int s = 0; s < 2; s++)
        if (tracks[s].out) {
            int64_t stream_end = av_rescale_q_rnd(tracks[s].end, tracks[s].time_base, AV_TIME_BASE_Q, AV_ROUND_UP);
            end = stream_end > end ? stream_end : end;
        }
    *offset = end;
    j->done_seconds += j->clips[index].duration;
    return FW_OK;
}

static fw_err join_by_copy(join *j, fw_error *err)
{
    copy_track tracks[2];
    memset(tracks, 0, sizeof(tracks));
    const clip *first = &j->clips[0];
    fw_err e = copy_add_stream(j, first->video, first->video_time_base, &tracks[0].out, err);
    tracks[0].time_base = first->video_time_base;
    if (e == FW_OK && j->sound) {
        e = open_audio_encoder(j, j->sound, err);
        if (e == FW_OK)
            e = add_encoded_stream(j, j->sound->audio_encoder, &j->out_audio, err);
        /* interleaved samples as read, then the two planes the encoder takes */
        j->sound_buffer = calloc(4 * SILENCE_CHUNK, sizeof(float));
        if (e == FW_OK && !j->sound_buffer)
            e = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for sound");
    } else if (e == FW_OK && first->audio && !j->opts->segments) {
        e = copy_add_stream(j, first->audio, first->audio_time_base, &tracks[1].out, err);
        tracks[1].time_base = first->audio_time_base;
    }
    if (e == FW_OK) {
        j->out_video = tracks[0].out;
        if (!j->sound)
            j->out_audio = tracks[1].out;
        j->out_video->avg_frame_rate = first->frame_rate;
        e = output_start(j, err);
    }
    for (int s = 0; s < 2; s++) {
        tracks[s].last_dts = INT64_MIN;
        tracks[s].end = INT64_MIN;
    }
    int64_t offset = 0;
    for (size_t i = 0; i < j->count && e == FW_OK; i++)
        e = copy_clip(j, i, tracks, &offset, err);
    if (e == FW_OK && j->sound) {
        /* The rest of the sound (the whole's length, whatever the packets
         * said), the partial last AAC frame, then the encoder's own tail. */
        e = queue_sound_to(j, j->sound, samples_at(j, j->opts->sound_frames), err);
        if (e == FW_OK)
            e = drain_audio(j, j->sound, 1, err);
        if (e == FW_OK)
            e = encode(j, j->sound->audio_encoder, j->out_audio, NULL, err);
    }
    if (e == FW_OK)
        j->seconds_written = tracks[0].end * av_q2d(tracks[0].time_base);
    return e;
}

/* ---- re-encoding: set-up ------------------------------------------------ */

/* A rate that suits the picture size, from the codec table. */
static const fw_codec *h264_for(int width, int height)
{
    int64_t pixels = (int64_t)width * height;
    const char *name = pixels <= 640 * 480     ? "video_h264_vbr_1mbps"
                       : pixels <= 1280 * 720  ? "video_h264_vbr_5mbps"
                       : pixels <= 1920 * 1088 ? "video_h264_vbr_15mbps"
                                               : "video_h264_vbr_40mbps";
    const fw_codec *codec = NULL;
    fw_codec_find(name, FW_CODEC_VIDEO, &codec, NULL);
    return codec;
}

static fw_err open_video_encoder(join *j, transcoder *t, fw_error *err)
{
    const fw_codec *codec = h264_for(j->width, j->height);
    const AVCodec *av_codec = codec ? avcodec_find_encoder_by_name(codec->encoder) : NULL;
    if (!av_codec)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "settings.preset", "this FFmpeg has no libx264 encoder");
    AVCodecContext *c = t->video_encoder = avcodec_alloc_context3(av_codec);
    if (!c)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the video encoder");
    c->width = j->width;
    c->height = j->height;
    c->pix_fmt = av_get_pix_fmt(codec->pixel_format);
    c->time_base = av_inv_q(j->fps);
    c->framerate = j->fps;
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->thread_count = j->opts->threads;
    c->colorspace = AVCOL_SPC_BT709;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_BT709;
    c->color_range = AVCOL_RANGE_MPEG;
    c->bit_rate = codec->bit_rate;
    c->rc_max_rate = codec->bit_rate * 3 / 2;
    c->rc_buffer_size = (int)codec->bit_rate;
    c->gop_size = (int)(2 * av_q2d(j->fps) + 0.5);
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *o = NULL;
    av_dict_set(&o, "preset", j->opts->quality == FW_QUALITY_DRAFT ? "veryfast" : "medium", 0);
    int rc = avcodec_open2(c, av_codec, &o);
    av_dict_free(&o);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, NULL, "the H.264 encoder would not start", rc);
    return FW_OK;
}

static fw_err open_audio_encoder(join *j, transcoder *t, fw_error *err)
{
    const AVCodec *av_codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!av_codec)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "settings.preset", "this FFmpeg has no AAC encoder");
    AVCodecContext *c = t->audio_encoder = avcodec_alloc_context3(av_codec);
    if (!c)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the audio encoder");
    c->sample_rate = AUDIO_RATE;
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&c->ch_layout, 2);
    c->bit_rate = j->opts->quality == FW_QUALITY_DRAFT ? 128000 : 192000;
    c->time_base = (AVRational){1, AUDIO_RATE};
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int rc = avcodec_open2(c, av_codec, NULL);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, NULL, "the AAC encoder would not start", rc);
    t->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, c->frame_size * 4);
    t->samples = av_frame_alloc();
    t->silence[0] = calloc(SILENCE_CHUNK, sizeof(float));
    t->silence[1] = calloc(SILENCE_CHUNK, sizeof(float));
    if (!t->fifo || !t->samples || !t->silence[0] || !t->silence[1])
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for audio buffers");
    t->samples->format = AV_SAMPLE_FMT_FLTP;
    t->samples->sample_rate = AUDIO_RATE;
    t->samples->nb_samples = c->frame_size;
    av_channel_layout_default(&t->samples->ch_layout, 2);
    rc = av_frame_get_buffer(t->samples, 0);
    if (rc < 0)
        return av_failure(err, FW_ERR_NOMEM, NULL, "out of memory for audio buffers", rc);
    return FW_OK;
}

static fw_err add_encoded_stream(join *j, AVCodecContext *c, AVStream **out, fw_error *err)
{
    *out = avformat_new_stream(j->out, NULL);
    if (!*out)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for an output stream");
    (*out)->time_base = c->time_base;
    if (c->codec_type == AVMEDIA_TYPE_VIDEO)
        (*out)->avg_frame_rate = (*out)->r_frame_rate = c->framerate;
    int rc = avcodec_parameters_from_context((*out)->codecpar, c);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, NULL, "the stream parameters could not be set", rc);
    return FW_OK;
}

static fw_err transcoder_open(join *j, transcoder *t, fw_error *err)
{
    fw_err e = open_video_encoder(j, t, err);
    if (e == FW_OK && j->any_audio)
        e = open_audio_encoder(j, t, err);
    if (e == FW_OK) {
        t->decoded = av_frame_alloc();
        t->picture = av_frame_alloc();
        if (!t->decoded || !t->picture)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for frames");
        t->picture->format = AV_PIX_FMT_YUV420P;
        t->picture->width = j->width;
        t->picture->height = j->height;
        int rc = av_frame_get_buffer(t->picture, 0);
        if (rc < 0)
            return av_failure(err, FW_ERR_NOMEM, NULL, "out of memory for frames", rc);
        t->picture->colorspace = AVCOL_SPC_BT709;
        t->picture->color_primaries = AVCOL_PRI_BT709;
        t->picture->color_trc = AVCOL_TRC_BT709;
        t->picture->color_range = AVCOL_RANGE_MPEG;
        t->picture->sample_aspect_ratio = (AVRational){1, 1};
    }
    if (e == FW_OK)
        e = add_encoded_stream(j, t->video_encoder, &j->out_video, err);
    if (e == FW_OK && t->audio_encoder)
        e = add_encoded_stream(j, t->audio_encoder, &j->out_audio, err);
    if (e == FW_OK)
        e = output_start(j, err);
    return e;
}

static void transcoder_close_clip(transcoder *t)
{
    avcodec_free_context(&t->video_decoder);
    avcodec_free_context(&t->audio_decoder);
    swr_free(&t->swr);
}

static void transcoder_free(transcoder *t)
{
    transcoder_close_clip(t);
    avcodec_free_context(&t->video_encoder);
    avcodec_free_context(&t->audio_encoder);
    av_frame_free(&t->decoded);
    av_frame_free(&t->picture);
    av_frame_free(&t->samples);
    sws_freeContext(t->sws);
    t->sws = NULL;
    if (t->fifo)
        av_audio_fifo_free(t->fifo);
    t->fifo = NULL;
    if (t->convert_buffer)
        av_freep(&t->convert_buffer[0]);
    av_freep(&t->convert_buffer);
    free(t->silence[0]);
    free(t->silence[1]);
}

/* ---- re-encoding: the output side --------------------------------------- */

/* Send a frame (NULL flushes) and write what comes out. */
static fw_err encode(join *j, AVCodecContext *c, AVStream *st, AVFrame *frame, fw_error *err)
{
    int rc = avcodec_send_frame(c, frame);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, NULL, "the encoder refused a frame", rc);
    for (;;) {
        rc = avcodec_receive_packet(c, j->packet);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return FW_OK;
        if (rc < 0)
            return av_failure(err, FW_ERR_INTERNAL, NULL, "encoding failed", rc);
        fw_err e = write_packet(j, j->packet, c->time_base, st, err);
        av_packet_unref(j->packet);
        if (e != FW_OK)
            return e;
    }
}

/* Audio sample position of output frame slot n. */
static int64_t samples_at(const join *j, int64_t slot)
{
    return av_rescale(slot, (int64_t)AUDIO_RATE * j->fps.den, j->fps.num);
}

/* Encode whole AAC frames from the FIFO; with flush, the partial rest too. */
static fw_err drain_audio(join *j, transcoder *t, int flush, fw_error *err)
{
    int frame_size = t->audio_encoder->frame_size;
    for (;;) {
        int n = av_audio_fifo_size(t->fifo);
        if (n == 0 || (n < frame_size && !flush))
            return FW_OK;
        n = n < frame_size ? n : frame_size;
        int rc = av_frame_make_writable(t->samples);
        if (rc < 0)
            return av_failure(err, FW_ERR_NOMEM, NULL, "out of memory for audio", rc);
        t->samples->nb_samples = n;
        av_audio_fifo_read(t->fifo, (void **)t->samples->data, n);
        t->samples->pts = t->samples_sent;
        t->samples_sent += n;
        fw_err e = encode(j, t->audio_encoder, j->out_audio, t->samples, err);
        if (e != FW_OK)
            return e;
    }
}

static fw_err queue_samples(join *j, transcoder *t, void **planes, int count, fw_error *err)
{
    if (count <= 0)
        return FW_OK;
    if (av_audio_fifo_write(t->fifo, planes, count) < count)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for audio");
    t->samples_queued += count;
    return drain_audio(j, t, 0, err);
}

/* Silence up to sample position target. */
static fw_err queue_silence_to(join *j, transcoder *t, int64_t target, fw_error *err)
{
    while (t->samples_queued < target) {
        int64_t n = target - t->samples_queued;
        fw_err e = queue_samples(j, t, (void **)t->silence, n < SILENCE_CHUNK ? (int)n : SILENCE_CHUNK, err);
        if (e != FW_OK)
            return e;
    }
    return FW_OK;
}

/* Show the current picture in the next slot. */
static fw_err emit_slot(join *j, transcoder *t, fw_error *err)
{
    t->picture->pts = t->slot++;
    fw_err e = encode(j, t->video_encoder, j->out_video, t->picture, err);
    j->frames_written++;
    /* A clip without sound is given silence as its pictures go out, so the
     * muxer always has both streams to interleave. */
    if (e == FW_OK && t->audio_encoder && !t->audio_decoder)
        e = queue_silence_to(j, t, samples_at(j, t->slot), err);
    report_progress(j, t->slot / av_q2d(j->fps), 0);
    return e;
}

static fw_err emit_until(join *j, transcoder *t, int64_t slot, fw_error *err)
{
    if (t->clip_end_slot >= 0 && slot > t->clip_end_slot)
        slot = t->clip_end_slot;
    fw_err e = FW_OK;
    while (e == FW_OK && t->slot < slot)
        e = emit_slot(j, t, err);
    return e;
}

/* ---- re-encoding: the input side ---------------------------------------- */

static fw_err open_decoder(const AVStream *st, int threads, AVCodecContext **out, fw_error *err)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, NULL, "no decoder for %s",
                            avcodec_get_name(st->codecpar->codec_id));
    AVCodecContext *c = *out = avcodec_alloc_context3(codec);
    if (!c)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for a decoder");
    avcodec_parameters_to_context(c, st->codecpar);
    c->pkt_timebase = st->time_base;
    c->thread_count = threads;
    int rc = avcodec_open2(c, codec, NULL);
    if (rc < 0)
        return av_failure(err, FW_ERR_INVALID, NULL, "the decoder would not start", rc);
    return FW_OK;
}

/* Where the clip's picture goes: as large as fits, centred, even-aligned for
 * 4:2:0 chroma, the rest black. */
static void fit_clip(const join *j, transcoder *t, const clip *c)
{
    double shown_width = c->video->width * av_q2d(c->aspect);
    double scale = fmin(j->width / shown_width, j->height / (double)c->video->height);
    int w = (int)lrint(shown_width * scale) & ~1, h = (int)lrint(c->video->height * scale) & ~1;
    t->fit_width = w < 2 ? 2 : w > j->width ? j->width & ~1 : w;
    t->fit_height = h < 2 ? 2 : h > j->height ? j->height & ~1 : h;
    t->fit_x = ((j->width - t->fit_width) / 2) & ~1;
    t->fit_y = ((j->height - t->fit_height) / 2) & ~1;
}

/* Limited-range black over the whole picture; the clip is drawn over it. */
static fw_err paint_black(transcoder *t, fw_error *err)
{
    int rc = av_frame_make_writable(t->picture);
    if (rc < 0)
        return av_failure(err, FW_ERR_NOMEM, NULL, "out of memory for a frame", rc);
    AVFrame *f = t->picture;
    for (int p = 0; p < 3; p++) {
        int rows = p ? (f->height + 1) / 2 : f->height;
        int bytes = p ? (f->width + 1) / 2 : f->width;
        for (int y = 0; y < rows; y++)
            memset(f->data[p] + (size_t)y * f->linesize[p], p ? 128 : 16, (size_t)bytes);
    }
    return FW_OK;
}

static fw_err convert_picture(transcoder *t, const AVFrame *src, fw_error *err)
{
    if (!t->sws || src->width != t->sws_width || src->height != t->sws_height || src->format != t->sws_format) {
        sws_freeContext(t->sws);
        t->sws = sws_getContext(src->width, src->height, src->format, t->fit_width, t->fit_height,
                                AV_PIX_FMT_YUV420P, SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL);
        if (!t->sws)
            return fw_error_set(err, FW_ERR_UNSUPPORTED, NULL, "cannot convert %s pictures",
                                av_get_pix_fmt_name(src->format));
        t->sws_width = src->width;
        t->sws_height = src->height;
        t->sws_format = src->format;
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(src->format);
        if (!(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL))) {
            int full = src->color_range == AVCOL_RANGE_JPEG;
            int matrix = src->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : (int)src->colorspace;
            sws_setColorspaceDetails(t->sws, sws_getCoefficients(matrix), full, sws_getCoefficients(SWS_CS_ITU709),
                                     0, 0, 1 << 16, 1 << 16);
        } else {
            sws_setColorspaceDetails(t->sws, sws_getCoefficients(SWS_CS_DEFAULT), 1,
                                     sws_getCoefficients(SWS_CS_ITU709), 0, 0, 1 << 16, 1 << 16);
        }
    }
    /* The encoder may still hold the previous picture; then this copies. */
    int rc = av_frame_make_writable(t->picture);
    if (rc < 0)
        return av_failure(err, FW_ERR_NOMEM, NULL, "out of memory for a frame", rc);
    AVFrame *f = t->picture;
    uint8_t *dst[4] = {
        f->data[0] + (size_t)t->fit_y * f->linesize[0] + t->fit_x,
        f->data[1] + (size_t)(t->fit_y / 2) * f->linesize[1] + t->fit_x / 2,
        f->data[2] + (size_t)(t->fit_y / 2) * f->linesize[2] + t->fit_x / 2,
        NULL,
    };
    sws_scale(t->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst, f->linesize);
    return FW_OK;
}

static double frame_seconds(const AVFrame *f, const AVStream *st, const input *in)
{
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    if (ts == AV_NOPTS_VALUE)
        return -1;
    return ts * av_q2d(st->time_base) - in->origin / (double)AV_TIME_BASE;
}

static fw_err on_picture(join *j, transcoder *t, const input *in, double *last_end, fw_error *err)
{
    AVFrame *f = t->decoded;
    double at = frame_seconds(f, in->video, in);
    if (at < 0)
        at = t->have_picture ? (t->slot - t->clip_first_slot) / av_q2d(j->fps) : 0;
    double length = f->pkt_duration > 0 ? f->pkt_duration * av_q2d(in->video->time_base) : 0;
    if (at + length > *last_end)
        *last_end = at + length;
    int64_t slot = t->clip_first_slot + llrint(at * av_q2d(j->fps));
    fw_err e = FW_OK;
    if (t->have_picture)
        e = emit_until(j, t, slot, err);
    if (e == FW_OK)
        e = convert_picture(t, f, err);
    if (e == FW_OK && !t->have_picture) {
        t->have_picture = 1;
        e = emit_until(j, t, slot, err); /* a clip starting late shows its first picture early */
    }
    return e;
}

static fw_err open_resampler(transcoder *t, const AVCodecContext *d, fw_error *err)
{
    AVChannelLayout in_layout;
    if (d->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&in_layout, d->ch_layout.nb_channels);
    else if (av_channel_layout_copy(&in_layout, &d->ch_layout) < 0)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the resampler");
    int rc = swr_alloc_set_opts2(&t->swr, &t->audio_encoder->ch_layout, AV_SAMPLE_FMT_FLTP, AUDIO_RATE, &in_layout,
                                 d->sample_fmt, d->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in_layout);
    if (rc >= 0)
        rc = swr_init(t->swr);
    if (rc < 0)
        return av_failure(err, FW_ERR_UNSUPPORTED, NULL, "the sound cannot be resampled", rc);
    return FW_OK;
}

/* Room for count resampled samples per channel. */
static fw_err reserve_convert(transcoder *t, int count, fw_error *err)
{
    if (count <= t->convert_capacity)
        return FW_OK;
    if (t->convert_buffer)
        av_freep(&t->convert_buffer[0]);
    av_freep(&t->convert_buffer);
    t->convert_capacity = 0;
    int rc = av_samples_alloc_array_and_samples(&t->convert_buffer, NULL, 2, count, AV_SAMPLE_FMT_FLTP, 0);
    if (rc < 0)
        return av_failure(err, FW_ERR_NOMEM, NULL, "out of memory for audio", rc);
    t->convert_capacity = count;
    return FW_OK;
}

/* Resample (frame NULL drains the resampler) and queue, cut at the clip's
 * end when it is known. */
static fw_err resample(join *j, transcoder *t, const AVFrame *frame, fw_error *err)
{
    int in_count = frame ? frame->nb_samples : 0;
    int room = swr_get_out_samples(t->swr, in_count);
    fw_err e = reserve_convert(t, room > 0 ? room : 1, err);
    if (e != FW_OK)
        return e;
    int n = swr_convert(t->swr, t->convert_buffer, t->convert_capacity,
                        frame ? (const uint8_t **)frame->extended_data : NULL, in_count);
    if (n < 0)
        return av_failure(err, FW_ERR_INVALID, NULL, "the sound could not be resampled", n);
    if (t->clip_end_slot >= 0) {
        int64_t left = samples_at(j, t->clip_end_slot) - t->samples_queued;
        n = left < n ? (int)(left > 0 ? left : 0) : n;
    }
    return queue_samples(j, t, (void **)t->convert_buffer, n, err);
}

static fw_err on_sound(join *j, transcoder *t, const input *in, fw_error *err)
{
    if (!t->clip_audio_started) {
        /* Sound that starts after the picture: silence until it does. */
        t->clip_audio_started = 1;
        double at = frame_seconds(t->decoded, in->audio, in);
        if (at > 0) {
            int64_t start = samples_at(j, t->clip_first_slot) + llrint(at * AUDIO_RATE);
            if (t->clip_end_slot >= 0 && start > samples_at(j, t->clip_end_slot))
                start = samples_at(j, t->clip_end_slot);
            fw_err e = queue_silence_to(j, t, start, err);
            if (e != FW_OK)
                return e;
        }
    }
    return resample(j, t, t->decoded, err);
}

/* Feed one packet (NULL drains) and handle every frame that comes out. */
static fw_err decode(join *j, transcoder *t, const input *in, AVCodecContext *d, const AVPacket *p,
                     double *last_end, size_t index, fw_error *err)
{
    int rc = avcodec_send_packet(d, p);
    if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF)
        return clip_failure(err, index, j->inputs[index], "could not be decoded", rc);
    for (;;) {
        rc = avcodec_receive_frame(d, t->decoded);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return FW_OK;
        if (rc < 0)
            return clip_failure(err, index, j->inputs[index], "could not be decoded", rc);
        fw_err e = d == t->video_decoder ? on_picture(j, t, in, last_end, err) : on_sound(j, t, in, err);
        av_frame_unref(t->decoded);
        if (e != FW_OK)
            return e;
        if (cancelled(j))
            return cancel_error(err);
    }
}

static fw_err transcode_packets(join *j, transcoder *t, input *in, size_t index, double *last_end, fw_error *err)
{
    fw_err e = FW_OK;
    while (e == FW_OK) {
        if (cancelled(j))
            return cancel_error(err);
        int rc = av_read_frame(in->format, j->packet);
        if (rc == AVERROR_EOF)
            break;
        if (rc < 0)
            return clip_failure(err, index, j->inputs[index], "could not be read to the end", rc);
        if (j->packet->stream_index == in->video->index)
            e = decode(j, t, in, t->video_decoder, j->packet, last_end, index, err);
        else if (t->audio_decoder && j->packet->stream_index == in->audio->index)
            e = decode(j, t, in, t->audio_decoder, j->packet, last_end, index, err);
        av_packet_unref(j->packet);
    }
    if (e == FW_OK)
        e = decode(j, t, in, t->video_decoder, NULL, last_end, index, err);
    if (e == FW_OK && t->audio_decoder)
        e = decode(j, t, in, t->audio_decoder, NULL, last_end, index, err);
    return e;
}

static fw_err transcode_clip(join *j, transcoder *t, size_t index, fw_error *err)
{
    const clip *c = &j->clips[index];
    input in;
    fw_err e = input_open(&in, j->inputs[index], index, err);
    if (e == FW_OK)
        e = open_decoder(in.video, j->opts->threads, &t->video_decoder, err);
    if (e == FW_OK && in.audio && t->audio_encoder) {
        e = open_decoder(in.audio, j->opts->threads, &t->audio_decoder, err);
        if (e == FW_OK)
            e = open_resampler(t, t->audio_decoder, err);
    }
    t->have_picture = 0;
    t->clip_audio_started = 0;
    t->clip_first_slot = t->slot;
    t->clip_end_slot = -1;
    if (c->duration > 0) {
        int64_t slots = llrint(c->duration * av_q2d(j->fps));
        t->clip_end_slot = t->slot + (slots > 0 ? slots : 1);
    }
    fit_clip(j, t, c);
    if (e == FW_OK)
        e = paint_black(t, err);
    double last_end = 0;
    if (e == FW_OK)
        e = transcode_packets(j, t, &in, index, &last_end, err);
    if (e == FW_OK && !t->have_picture)
        e = fw_error_set(err, FW_ERR_INVALID, NULL, "clip %zu (%s) holds no picture that can be decoded", index + 1,
                         j->inputs[index]);
    if (e == FW_OK && t->clip_end_slot < 0) {
        int64_t slots = llrint(last_end * av_q2d(j->fps));
        t->clip_end_slot = t->clip_first_slot + (slots > 0 ? slots : 1);
    }
    /* The last picture holds to the clip's end; the sound is topped up. */
    if (e == FW_OK)
        e = emit_until(j, t, t->clip_end_slot, err);
    if (e == FW_OK && t->swr)
        e = resample(j, t, NULL, err);
    if (e == FW_OK && t->audio_encoder)
        e = queue_silence_to(j, t, samples_at(j, t->slot), err);
    /* Decoding trouble belongs to the clip. */
    if (e != FW_OK && e != FW_ERR_CANCELLED && err && !err->field[0])
        snprintf(err->field, sizeof(err->field), "assets[%zu]", index);
    transcoder_close_clip(t);
    input_close(&in);
    return e;
}

static fw_err join_by_reencode(join *j, fw_error *err)
{
    transcoder t;
    memset(&t, 0, sizeof(t));
    fw_err e = transcoder_open(j, &t, err);
    for (size_t i = 0; i < j->count && e == FW_OK; i++)
        e = transcode_clip(j, &t, i, err);
    if (e == FW_OK)
        e = encode(j, t.video_encoder, j->out_video, NULL, err);
    if (e == FW_OK && t.audio_encoder)
        e = drain_audio(j, &t, 1, err);
    if (e == FW_OK && t.audio_encoder)
        e = encode(j, t.audio_encoder, j->out_audio, NULL, err);
    j->seconds_written = t.slot / av_q2d(j->fps);
    transcoder_free(&t);
    return e;
}

/* ---- the whole join ----------------------------------------------------- */

static fw_err check_options(const fw_join_options *o, size_t count, fw_error *err)
{
    if (!o)
        return fw_error_set(err, FW_ERR_INVALID, "output", "no options were given");
    if (count == 0)
        return fw_error_set(err, FW_ERR_INVALID, "assets", "a join needs at least one clip");
    if (!o->output_path || !*o->output_path)
        return fw_error_set(err, FW_ERR_INVALID, "output", "no output path was given");
    if (strlen(o->output_path) > PATH_MAX_LEN - 64)
        return fw_error_set(err, FW_ERR_INVALID, "output", "the output path is too long");
    if (o->preset && *o->preset && strcmp(o->preset, "mp4") != 0)
        return fw_error_set(err, FW_ERR_INVALID, "settings.preset", "preset \"%s\" is not known; use \"mp4\"",
                            o->preset);
    if (o->width < 0 || o->height < 0 || !o->width != !o->height || o->width > 16384 || o->height > 16384 ||
        (o->width % 2) || (o->height % 2))
        return fw_error_set(err, FW_ERR_INVALID, "width",
                            "the output size %dx%d must be two even numbers up to 16384, or 0x0 for the first clip's",
                            o->width, o->height);
    if (o->fps_num < 0 || (o->fps_num && o->fps_den <= 0) || (o->fps_den > 0 && o->fps_num / o->fps_den > 240))
        return fw_error_set(err, FW_ERR_INVALID, "fps", "frame rate %d/%d is not a positive rate up to 240",
                            o->fps_num, o->fps_den);
    return FW_OK;
}

/* Output size and frame rate: the options', or the first clip's. */
static void choose_format(join *j)
{
    const fw_join_options *o = j->opts;
    const clip *first = &j->clips[0];
    j->width = o->width ? o->width : first->video->width & ~1;
    j->height = o->height ? o->height : first->video->height & ~1;
    j->width = j->width < 2 ? 2 : j->width;
    j->height = j->height < 2 ? 2 : j->height;
    AVRational rate = first->frame_rate;
    if (rate.num <= 0 || rate.den <= 0 || av_q2d(rate) > 240)
        rate = (AVRational){25, 1};
    j->fps = o->fps_num ? (AVRational){o->fps_num, o->fps_den} : rate;
    av_reduce(&j->fps.num, &j->fps.den, j->fps.num, j->fps.den, INT_MAX);
}

static fw_err probe_all(join *j, fw_error *err)
{
    j->clips = calloc(j->count, sizeof(*j->clips));
    if (!j->clips)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for %zu clips", j->count);
    for (size_t i = 0; i < j->count; i++) {
        fw_err e = probe_clip(&j->clips[i], j->inputs[i], i, err);
        if (e != FW_OK)
            return e;
        j->any_audio |= j->clips[i].audio != NULL;
        j->total_seconds += j->clips[i].duration;
    }
    return FW_OK;
}

const char *fw_join_method_name(fw_join_method method)
{
    return method == FW_JOIN_COPY ? "copy" : method == FW_JOIN_REENCODE ? "re-encode" : "none";
}

fw_err fw_media_join(const char *const *inputs, size_t count, const fw_join_options *opts,
                     fw_join_result *result, fw_error *err)
{
    join j;
    transcoder sound;
    char why[160];
    memset(&j, 0, sizeof(j));
    if (result)
        memset(result, 0, sizeof(*result));
    fw_err e = check_options(opts, count, err);
    if (e != FW_OK)
        return e;
    if (!inputs)
        return fw_error_set(err, FW_ERR_INVALID, "assets", "no clips were given");
    j.inputs = inputs;
    j.count = count;
    j.opts = opts;
    j.last_percent = -1;
    snprintf(j.final_path, sizeof(j.final_path), "%s", opts->output_path);

    memset(&sound, 0, sizeof(sound));
    if (opts->segments && opts->sound)
        j.sound = &sound;
    e = probe_all(&j, err);
    fw_join_method method = FW_JOIN_NONE;
    if (e == FW_OK) {
        choose_format(&j);
        method = *copy_obstacle(&j, why, sizeof(why)) ? FW_JOIN_REENCODE : FW_JOIN_COPY;
        if (method == FW_JOIN_REENCODE && opts->segments)
            e = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "segments", "the segments cannot be copied: %s", why);
        else if (method == FW_JOIN_REENCODE)
            fw_log(FW_LOG_INFO, "join", "re-encoding %zu clips: %s", count, why);
    }
    if (e == FW_OK) {
        j.packet = av_packet_alloc();
        if (!j.packet)
            e = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for packets");
    }
    if (e == FW_OK && cancelled(&j))
        e = cancel_error(err);
    if (e == FW_OK)
        e = output_open(&j, err);
    if (e == FW_OK)
        e = method == FW_JOIN_COPY ? join_by_copy(&j, err) : join_by_reencode(&j, err);
    if (e == FW_OK)
        e = output_finish(&j, err);

    if (e == FW_OK) {
        report_progress(&j, j.total_seconds, 1);
        fw_log(FW_LOG_INFO, "join", "joined %zu clips by %s into %s (%lld frames, %.2f s)", count,
               fw_join_method_name(method), j.final_path, (long long)j.frames_written, j.seconds_written);
        if (result) {
            const AVCodecParameters *v = j.out_video->codecpar;
            result->method = method;
            result->width = v->width;
            result->height = v->height;
            result->fps_num = method == FW_JOIN_COPY ? j.clips[0].frame_rate.num : j.fps.num;
            result->fps_den = method == FW_JOIN_COPY ? j.clips[0].frame_rate.den : j.fps.den;
            result->has_audio = j.out_audio != NULL;
            result->frame_count = j.frames_written;
            result->duration = j.seconds_written;
        }
    }
    output_discard(&j);
    transcoder_free(&sound);
    free(j.sound_buffer);
    av_packet_free(&j.packet);
    for (size_t i = 0; j.clips && i < count; i++)
        clip_free(&j.clips[i]);
    free(j.clips);
    return e;
}
