/*
 * soundtrack.c - see soundtrack.h.
 *
 * One voice per sound. A voice keeps its converted samples (48 kHz stereo
 * float) in a small queue and decodes more when the mix needs them. The
 * source position is counted in converted samples from the last seek, so
 * trimming and looping are exact to the sample whatever the source's rate:
 * after a seek the samples before the wanted time are dropped (or silence
 * is added when the stream starts later than it).
 */
#include "server/media/soundtrack.h"
#include "server/media/input.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct voice {
    fw_sound sound;
    char *path, *field;
    AVFormatContext *format;
    AVCodecContext *avctx;
    AVStream *stream;
    AVPacket *packet;
    AVFrame *frame;
    SwrContext *swr;
    double time_base;
    int64_t start_pts;
    double source_length; /* seconds, from the container; 0 unknown */

    int64_t first, last;  /* output samples [first, last) */
    int64_t fade_in, fade_out;
    float gain;

    float *queue;         /* converted stereo samples not yet mixed */
    size_t queue_len, queue_head, queue_cap;
    int seeked, aligning, draining, ended;
    double target;        /* source seconds of the next sample once aligned */
    double position;      /* source seconds of the next queued sample */
    double stop_at;       /* source seconds where the part ends (trim_end or the end) */
} voice;

struct fw_soundtrack {
    voice *voices;
    size_t count;
    int64_t position;     /* output samples read */
};

static fw_err av_failure(fw_error *err, fw_err code, const char *field, const char *what, int averr)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, reason, sizeof(reason));
    return fw_error_set(err, code, field, "%s: %s", what, reason);
}

static void voice_close(voice *v)
{
    swr_free(&v->swr);
    av_frame_free(&v->frame);
    av_packet_free(&v->packet);
    avcodec_free_context(&v->avctx);
    avformat_close_input(&v->format);
    free(v->queue);
    free(v->path);
    free(v->field);
    memset(v, 0, sizeof(*v));
}

/* 1 opened, 0 the file has no sound (and may not), or an error. */
static fw_err voice_open(voice *v, const fw_sound *s, double start, int *has_sound, fw_error *err)
{
    const char *field = s->field ? s->field : "src";
    const AVCodec *decoder;
    struct stat st;
    int rc;

    *has_sound = 0;
    v->sound = *s;
    v->path = strdup(s->path);
    v->field = strdup(field);
    if (!v->path || !v->field)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening sounds");
    v->sound.path = v->path;
    v->sound.field = v->field;
    if (!(v->sound.speed > 0))
        v->sound.speed = 1;
    if (stat(v->path, &st) != 0)
        return fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, field, "cannot open the sound: %s",
                            strerror(errno));
    if ((rc = fw_media_open_input(&v->format, v->path, NULL)) < 0)
        return av_failure(err, FW_ERR_INVALID, field, "not a media file FFmpeg can read", rc);
    if ((rc = avformat_find_stream_info(v->format, NULL)) < 0)
        return av_failure(err, FW_ERR_INVALID, field, "the sound could not be analysed", rc);
    rc = av_find_best_stream(v->format, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (rc < 0) {
        if (s->optional)
            return FW_OK;
        return fw_error_set(err, FW_ERR_INVALID, field, "the file has no sound (no audio stream)");
    }
    v->stream = v->format->streams[rc];
    for (unsigned i = 0; i < v->format->nb_streams; i++)
        if ((int)i != rc)
            v->format->streams[i]->discard = AVDISCARD_ALL;
    if (!(decoder = avcodec_find_decoder(v->stream->codecpar->codec_id)))
        return fw_error_set(err, FW_ERR_UNSUPPORTED, field, "no decoder for %s sound",
                            avcodec_get_name(v->stream->codecpar->codec_id));
    v->avctx = avcodec_alloc_context3(decoder);
    v->packet = av_packet_alloc();
    v->frame = av_frame_alloc();
    if (!v->avctx || !v->packet || !v->frame)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening sounds");
    avcodec_parameters_to_context(v->avctx, v->stream->codecpar);
    v->avctx->pkt_timebase = v->stream->time_base;
    if ((rc = avcodec_open2(v->avctx, decoder, NULL)) < 0)
        return av_failure(err, FW_ERR_INVALID, field, "the sound's decoder would not start", rc);
    if (v->avctx->sample_rate <= 0)
        return fw_error_set(err, FW_ERR_INVALID, field, "the sound has no sample rate");

    v->time_base = av_q2d(v->stream->time_base);
    v->start_pts = v->stream->start_time != AV_NOPTS_VALUE ? v->stream->start_time : 0;
    if (v->stream->duration != AV_NOPTS_VALUE && v->stream->duration > 0)
        v->source_length = (double)v->stream->duration * v->time_base;
    else if (v->format->duration != AV_NOPTS_VALUE && v->format->duration > 0)
        v->source_length = (double)v->format->duration / AV_TIME_BASE;

    /* Where it is heard, in output samples from the soundtrack's start. */
    double at = v->sound.at, until = v->sound.until;
    v->first = (int64_t)llround((at - start) * FW_SOUND_RATE);
    v->last = (int64_t)llround((until - start) * FW_SOUND_RATE);
    v->fade_in = (int64_t)llround(fmax(v->sound.fade_in, 0) * FW_SOUND_RATE);
    v->fade_out = (int64_t)llround(fmax(v->sound.fade_out, 0) * FW_SOUND_RATE);
    v->gain = (float)pow(10.0, v->sound.gain_db / 20.0);
    v->stop_at = v->sound.trim_end > v->sound.trim_start ? v->sound.trim_end : 0;
    *has_sound = v->last > v->first && v->last > 0;
    return FW_OK;
}

static fw_err make_resampler(voice *v, fw_error *err)
{
    AVChannelLayout in = {0}, stereo = AV_CHANNEL_LAYOUT_STEREO;
    int rate = (int)lround(v->avctx->sample_rate * v->sound.speed);
    int rc;

    swr_free(&v->swr);
    if (v->avctx->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || av_channel_layout_check(&v->avctx->ch_layout) == 0)
        av_channel_layout_default(&in, v->avctx->ch_layout.nb_channels > 0 ? v->avctx->ch_layout.nb_channels : 2);
    else
        av_channel_layout_copy(&in, &v->avctx->ch_layout);
    /* Faster playback is the source declared at a higher rate: resampling
     * it to 48 kHz then plays it in less time (and higher, as tape would). */
    rc = swr_alloc_set_opts2(&v->swr, &stereo, AV_SAMPLE_FMT_FLT, FW_SOUND_RATE, &in, v->avctx->sample_fmt,
                             rate > 0 ? rate : v->avctx->sample_rate, 0, NULL);
    /* Mono goes to both sides at its own level, as players play it (the
     * default would lower it by 3 dB as a centre channel). */
    if (rc >= 0 && in.nb_channels == 1) {
        static const double both[2] = {1.0, 1.0};
        swr_set_matrix(v->swr, both, 1);
    }
    av_channel_layout_uninit(&in);
    if (rc < 0 || (rc = swr_init(v->swr)) < 0)
        return av_failure(err, FW_ERR_INTERNAL, v->field, "the sound could not be resampled", rc);
    return FW_OK;
}

static double wrap_into_part(const voice *v, double t)
{
    double from = v->sound.trim_start > 0 ? v->sound.trim_start : 0;
    double to = v->stop_at > 0 ? v->stop_at : v->source_length;
    if (v->sound.loop && to > from && t >= to)
        t = from + fmod(t - from, to - from);
    return t;
}

static fw_err seek_to(voice *v, double t, fw_error *err)
{
    int64_t ts = v->start_pts + (int64_t)floor(fmax(t, 0) / v->time_base);
    fw_err rc;
    if (av_seek_frame(v->format, v->stream->index, ts, AVSEEK_FLAG_BACKWARD) < 0)
        av_seek_frame(v->format, v->stream->index, v->start_pts, AVSEEK_FLAG_BACKWARD);
    avcodec_flush_buffers(v->avctx);
    if ((rc = make_resampler(v, err)))
        return rc;
    v->draining = 0;
    v->aligning = 1;
    v->target = t;
    v->position = t;
    v->seeked = 1;
    return FW_OK;
}

static int queue_room(voice *v, size_t frames)
{
    if (v->queue_head > 0 && v->queue_head == v->queue_len)
        v->queue_head = v->queue_len = 0;
    if (v->queue_len + frames <= v->queue_cap)
        return 0;
    if (v->queue_head > 0) {
        memmove(v->queue, v->queue + v->queue_head * 2, (v->queue_len - v->queue_head) * 2 * sizeof(float));
        v->queue_len -= v->queue_head;
        v->queue_head = 0;
        if (v->queue_len + frames <= v->queue_cap)
            return 0;
    }
    size_t cap = v->queue_cap ? v->queue_cap : 8192;
    while (cap < v->queue_len + frames)
        cap *= 2;
    float *grown = realloc(v->queue, cap * 2 * sizeof(float));
    if (!grown)
        return -1;
    v->queue = grown;
    v->queue_cap = cap;
    return 0;
}

/* Append n converted samples from data, dropping those before the target
 * after a seek and stopping at the part's end. Returns 1 at the part's end. */
static int append(voice *v, const float *data, int n, double frame_time)
{
    double step = v->sound.speed / FW_SOUND_RATE;
    if (v->aligning) {
        /* The first converted sample is at frame_time. */
        v->aligning = 0;
        if (frame_time < v->target) {
            int64_t drop = (int64_t)llround((v->target - frame_time) / step);
            if (drop >= n) {
                v->aligning = 1; /* still before the target: keep dropping */
                return 0;
            }
            data += drop * 2;
            n -= (int)drop;
        } else if (frame_time > v->target + step) {
            int64_t gap = (int64_t)llround((frame_time - v->target) / step);
            if (gap > FW_SOUND_RATE * 10)
                gap = FW_SOUND_RATE * 10;
            if (queue_room(v, (size_t)gap) == 0) {
                memset(v->queue + v->queue_len * 2, 0, (size_t)gap * 2 * sizeof(float));
                v->queue_len += (size_t)gap;
                v->position += (double)gap * step;
            }
        }
    }
    int end = 0;
    if (v->stop_at > 0) {
        double left = (v->stop_at - v->position) / step;
        if (left < n) {
            n = left > 0 ? (int)left : 0;
            end = 1;
        }
    }
    if (n > 0 && queue_room(v, (size_t)n) == 0) {
        memcpy(v->queue + v->queue_len * 2, data, (size_t)n * 2 * sizeof(float));
        v->queue_len += (size_t)n;
        v->position += n * step;
    }
    return end;
}

/* The end of the part or of the file: go round again, or stop. */
static fw_err part_ended(voice *v, fw_error *err)
{
    if (v->sound.loop) {
        double from = v->sound.trim_start > 0 ? v->sound.trim_start : 0;
        /* A source that gave nothing would loop for ever. */
        if (v->position <= from + 1e-3) {
            v->ended = 1;
            return FW_OK;
        }
        return seek_to(v, from, err);
    }
    v->ended = 1;
    return FW_OK;
}

/* Decode until the queue holds want samples or the sound has ended. */
static fw_err fill(voice *v, size_t want, fw_error *err)
{
    float *out = NULL;
    int out_cap = 0;
    fw_err e = FW_OK;

    while (!v->ended && v->queue_len - v->queue_head < want) {
        int rc = avcodec_receive_frame(v->avctx, v->frame);
        if (rc == AVERROR(EAGAIN) && !v->draining) {
            rc = av_read_frame(v->format, v->packet);
            if (rc < 0) {
                v->draining = 1;
                avcodec_send_packet(v->avctx, NULL);
            } else {
                if (v->packet->stream_index == v->stream->index)
                    avcodec_send_packet(v->avctx, v->packet); /* a bad packet costs its samples only */
                av_packet_unref(v->packet);
            }
            continue;
        }
        if (rc == 0 || rc == AVERROR_EOF || rc == AVERROR(EAGAIN)) {
            int got_frame = rc == 0;
            int in = got_frame ? v->frame->nb_samples : 0;
            int room = swr_get_out_samples(v->swr, in) + 64;
            if (room > out_cap) {
                float *grown = realloc(out, (size_t)room * 2 * sizeof(float));
                if (!grown) {
                    e = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory mixing sounds");
                    break;
                }
                out = grown;
                out_cap = room;
            }
            uint8_t *planes[1] = {(uint8_t *)out};
            double frame_time = v->position;
            if (got_frame && v->aligning) {
                int64_t pts = v->frame->best_effort_timestamp;
                frame_time = pts == AV_NOPTS_VALUE ? v->target : (double)(pts - v->start_pts) * v->time_base;
            }
            int n = swr_convert(v->swr, planes, room, got_frame ? (const uint8_t **)v->frame->extended_data : NULL,
                                in);
            if (got_frame)
                av_frame_unref(v->frame);
            int end = n > 0 ? append(v, out, n, frame_time) : 0;
            if (end || !got_frame) {
                if ((e = part_ended(v, err)))
                    break;
            }
            continue;
        }
        e = av_failure(err, FW_ERR_INVALID, v->field, "the sound could not be decoded", rc);
        break;
    }
    free(out);
    return e;
}

fw_err fw_soundtrack_open(fw_soundtrack **out, const fw_sound *sounds, size_t count, double start, fw_error *err)
{
    fw_soundtrack *s = calloc(1, sizeof(*s));
    fw_err rc = FW_OK;

    *out = NULL;
    if (!s || (count && !(s->voices = calloc(count, sizeof(*s->voices))))) {
        free(s);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening sounds");
    }
    for (size_t i = 0; i < count; i++) {
        voice *v = &s->voices[s->count];
        int heard = 0;
        if ((rc = voice_open(v, &sounds[i], start, &heard, err))) {
            voice_close(v);
            fw_soundtrack_free(&s);
            return rc;
        }
        if (!heard) {
            voice_close(v);
            continue;
        }
        s->count++;
    }
    *out = s;
    return FW_OK;
}

size_t fw_soundtrack_count(const fw_soundtrack *s)
{
    return s ? s->count : 0;
}

static float envelope(const voice *v, int64_t i)
{
    float g = v->gain;
    if (v->fade_in > 0 && i - v->first < v->fade_in)
        g *= (float)(i - v->first) / (float)v->fade_in;
    if (v->fade_out > 0 && v->last - i <= v->fade_out)
        g *= (float)(v->last - i - 1) / (float)v->fade_out;
    return g;
}

fw_err fw_soundtrack_read(fw_soundtrack *s, float *samples, int frames, fw_error *err)
{
    int64_t from = s->position, to = s->position + frames;
    fw_err rc;

    memset(samples, 0, (size_t)frames * 2 * sizeof(float));
    for (size_t k = 0; k < s->count; k++) {
        voice *v = &s->voices[k];
        int64_t a = from > v->first ? from : v->first, b = to < v->last ? to : v->last;
        if (a >= b || v->ended)
            continue;
        if (!v->seeked) {
            /* Heard for the first time: from where the span has got to. */
            double t = v->sound.source_at + (double)(a - v->first) / FW_SOUND_RATE * v->sound.speed;
            if ((rc = seek_to(v, wrap_into_part(v, t), err)))
                return rc;
        }
        if ((rc = fill(v, (size_t)(b - a), err)))
            return rc;
        size_t have = v->queue_len - v->queue_head;
        const float *q = v->queue + v->queue_head * 2;
        for (int64_t i = a; i < b && (size_t)(i - a) < have; i++) {
            float g = envelope(v, i);
            samples[(i - from) * 2] += q[(i - a) * 2] * g;
            samples[(i - from) * 2 + 1] += q[(i - a) * 2 + 1] * g;
        }
        size_t used = (size_t)(b - a) < have ? (size_t)(b - a) : have;
        v->queue_head += used;
    }
    for (int i = 0; i < frames * 2; i++)
        samples[i] = samples[i] > 1.0f ? 1.0f : samples[i] < -1.0f ? -1.0f : samples[i];
    s->position = to;
    return FW_OK;
}

void fw_soundtrack_free(fw_soundtrack **sp)
{
    if (!sp || !*sp)
        return;
    for (size_t i = 0; i < (*sp)->count; i++)
        voice_close(&(*sp)->voices[i]);
    free((*sp)->voices);
    free(*sp);
    *sp = NULL;
}
