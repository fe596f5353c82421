/*
 * footage.c - see footage.h.
 *
 * Pictures live in a small pool of buffers, each owned by one party at a
 * time: free, being converted (the thread), queued (in the ring, oldest
 * first), or current (the caller's, until it moves on). A seek is a new
 * generation: the caller drops what is queued, the thread notices the
 * generation change, seeks, and throws away whatever it was converting for
 * the old one. The thread always holds one decoded picture back until it has
 * the next one's timestamp, so that on the way to a seek's target it can
 * skip pictures without converting them: only the last one before the
 * target is shown.
 */
#include "server/media/footage.h"
#include "server/media/input.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/media/media_log.h"

#define RING 4             /* pictures decoded ahead */
#define BUFFERS (RING + 2) /* and the current one, and one being converted */
/* Timestamps within this many seconds are the same time: output frame times
 * come from divisions and are off by rounding, never by this much. */
#define EPS 1e-6
/* Further ahead than this, seeking beats decoding every picture on the way. */
#define SEEK_AHEAD 3.0
/* Source rows converted at a time: a multiple of every chroma subsampling. */
#define BAND 32

enum { BUF_FREE, BUF_CONVERTING, BUF_QUEUED, BUF_CURRENT };

typedef struct picture {
    uint32_t *pixels;
    double time;
    int64_t serial;
    int owner;
} picture;

struct fw_footage {
    /* The decoder: the thread's alone once it runs. */
    AVFormatContext *format;
    AVCodecContext *avctx;
    AVStream *stream;
    AVPacket *packet;
    AVFrame *frame, *held; /* the newest decoded picture, and the one before it */
    int have_held;
    int draining;
    struct SwsContext *sws;
    int64_t start_pts;
    double time_base, frame_step, last_time;

    /* Fixed at open. */
    int width, height;
    size_t stride;
    int loop;
    double duration;

    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    /* Under lock. */
    picture pictures[BUFFERS];
    int ring[RING], ring_head, ring_count;
    int current;         /* index of the caller's picture, or -1 */
    int at_end;          /* the thread has queued the last picture of this generation */
    int stopping;
    int generation;      /* bumped by each seek */
    double seek_target;
    double first_time;   /* the clip's first picture's time */
    fw_err failed;
    fw_error failure;
    int64_t decoded, converted, seeks, serial;
};

static fw_err av_failure(fw_error *err, fw_err code, const char *what, int averr)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, reason, sizeof(reason));
    return fw_error_set(err, code, "src", "%s: %s", what, reason);
}

/* ---- opening --------------------------------------------------------------------------------- */

static fw_err open_decoder(fw_footage *f, const char *path, int threads, fw_error *err)
{
    struct stat st;
    const AVCodec *decoder;
    int rc;

    if (stat(path, &st) != 0)
        return fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, "src", "cannot open the clip: %s",
                            strerror(errno));
    if ((rc = fw_media_open_input(&f->format, path, NULL)) < 0)
        return av_failure(err, FW_ERR_INVALID, "not a media file FFmpeg can read", rc);
    if ((rc = avformat_find_stream_info(f->format, NULL)) < 0)
        return av_failure(err, FW_ERR_INVALID, "the clip could not be analysed", rc);
    rc = av_find_best_stream(f->format, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (rc < 0)
        return fw_error_set(err, FW_ERR_INVALID, "src", "the file has no video stream");
    f->stream = f->format->streams[rc];
    for (unsigned i = 0; i < f->format->nb_streams; i++)
        if ((int)i != rc)
            f->format->streams[i]->discard = AVDISCARD_ALL; /* sound is read elsewhere */
    if (!(decoder = avcodec_find_decoder(f->stream->codecpar->codec_id)))
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "src", "no decoder for %s video",
                            avcodec_get_name(f->stream->codecpar->codec_id));
    f->avctx = avcodec_alloc_context3(decoder);
    f->packet = av_packet_alloc();
    f->frame = av_frame_alloc();
    f->held = av_frame_alloc();
    if (!f->avctx || !f->packet || !f->frame || !f->held)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening the clip");
    if ((rc = avcodec_parameters_to_context(f->avctx, f->stream->codecpar)) < 0)
        return av_failure(err, FW_ERR_INVALID, "the clip's codec parameters", rc);
    f->avctx->pkt_timebase = f->stream->time_base;
    f->avctx->thread_count = threads;
    if ((rc = avcodec_open2(f->avctx, decoder, NULL)) < 0)
        return av_failure(err, FW_ERR_INVALID, "the decoder would not start", rc);

    f->time_base = av_q2d(f->stream->time_base);
    f->start_pts = f->stream->start_time != AV_NOPTS_VALUE ? f->stream->start_time : 0;
    AVRational rate = f->stream->avg_frame_rate.num > 0 ? f->stream->avg_frame_rate : f->stream->r_frame_rate;
    f->frame_step = rate.num > 0 && rate.den > 0 ? av_q2d(av_inv_q(rate)) : 1.0 / 30;
    if (f->stream->duration != AV_NOPTS_VALUE && f->stream->duration > 0)
        f->duration = (double)f->stream->duration * f->time_base;
    else if (f->format->duration != AV_NOPTS_VALUE && f->format->duration > 0)
        f->duration = (double)f->format->duration / AV_TIME_BASE;
    f->last_time = -f->frame_step;
    return FW_OK;
}

/* ---- the decoding thread --------------------------------------------------------------------- */

/* The next decoded picture into f->frame: 1, 0 at the end, or an error. */
static int next_frame(fw_footage *f, fw_error *err, fw_err *e)
{
    *e = FW_OK;
    for (;;) {
        int rc = avcodec_receive_frame(f->avctx, f->frame);
        if (rc == 0)
            return 1;
        if (rc == AVERROR_EOF)
            return 0;
        if (rc != AVERROR(EAGAIN)) {
            *e = av_failure(err, FW_ERR_INVALID, "a picture of the clip could not be decoded", rc);
            return 0;
        }
        if (f->draining)
            return 0;
        rc = av_read_frame(f->format, f->packet);
        if (rc < 0) {
            f->draining = 1;
            avcodec_send_packet(f->avctx, NULL);
            continue;
        }
        if (f->packet->stream_index == f->stream->index) {
            rc = avcodec_send_packet(f->avctx, f->packet);
            /* A damaged packet costs its picture, not the clip. */
            (void)rc;
        }
        av_packet_unref(f->packet);
    }
}

static double frame_time(fw_footage *f, const AVFrame *frame)
{
    int64_t pts = frame->best_effort_timestamp;
    double t = pts == AV_NOPTS_VALUE ? f->last_time + f->frame_step : (double)(pts - f->start_pts) * f->time_base;
    f->last_time = t;
    return t;
}

static void seek(fw_footage *f, double target)
{
    int64_t ts = f->start_pts + (int64_t)floor(target / f->time_base);
    if (av_seek_frame(f->format, f->stream->index, ts, AVSEEK_FLAG_BACKWARD) < 0)
        av_seek_frame(f->format, f->stream->index, f->start_pts, AVSEEK_FLAG_BACKWARD);
    avcodec_flush_buffers(f->avctx);
    av_frame_unref(f->held);
    f->have_held = 0;
    f->draining = 0;
    f->last_time = target - f->frame_step;
}

/* Premultiply a straight-alpha ARGB32 row in place. */
static void premultiply_row(uint32_t *row, int width)
{
    for (int x = 0; x < width; x++) {
        uint32_t p = row[x], a = p >> 24;
        if (a == 255)
            continue;
        uint32_t r = ((p >> 16) & 255) * a + 127, g = ((p >> 8) & 255) * a + 127, b = (p & 255) * a + 127;
        row[x] = a << 24 | ((r + (r >> 8)) >> 8) << 16 | ((g + (g >> 8)) >> 8) << 8 | ((b + (b >> 8)) >> 8);
    }
}

/* Rows `from` to `to` of a converted picture: premultiplied when the clip has
 * alpha, else opaque whatever the converter left in the alpha byte. */
static void finish_rows(fw_footage *f, uint32_t *dst, int from, int to, int alpha)
{
    for (int y = from; y < to; y++) {
        uint32_t *row = (uint32_t *)((uint8_t *)dst + (size_t)y * f->stride);
        if (alpha) {
            premultiply_row(row, f->width);
        } else {
            for (int x = 0; x < f->width; x++)
                row[x] |= 0xff000000u;
        }
    }
}

static int convert(fw_footage *f, const AVFrame *src, uint32_t *dst)
{
    enum AVPixelFormat format = src->format;
    int full = src->color_range == AVCOL_RANGE_JPEG;
    const AVPixFmtDescriptor *desc;

    /* The deprecated full-range formats are the plain ones at full range. */
    switch (format) {
    case AV_PIX_FMT_YUVJ420P: format = AV_PIX_FMT_YUV420P; full = 1; break;
    case AV_PIX_FMT_YUVJ422P: format = AV_PIX_FMT_YUV422P; full = 1; break;
    case AV_PIX_FMT_YUVJ444P: format = AV_PIX_FMT_YUV444P; full = 1; break;
    default: break;
    }
    /* At the clip's own size, 4:2:0 and 4:2:2 go to RGB by libswscale's SIMD
     * converter, which SWS_ACCURATE_RND turns off for its generic path: a
     * fifth of the work (1080p: ~1 ms a picture instead of ~5). It repeats
     * each chroma sample rather than interpolating, so a sharp colour edge is
     * blockier in RGB (0.4 of a level off on average); a 4:2:0 output
     * averages that back, and a full-frame clip comes out as close to its
     * source as before. Scaled pictures keep the accurate path. */
    int flags = SWS_BICUBIC;
    if (src->width != f->width || src->height != f->height)
        flags |= SWS_ACCURATE_RND;
    f->sws = sws_getCachedContext(f->sws, src->width, src->height, format, f->width, f->height, AV_PIX_FMT_RGB32,
                                  flags, NULL, NULL, NULL);
    if (!f->sws)
        return -1;
    desc = av_pix_fmt_desc_get(format);
    if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB)) {
        /* Unlabelled video is BT.709 from HD up and BT.601 below, as players assume. */
        int matrix = src->colorspace != AVCOL_SPC_UNSPECIFIED ? (int)src->colorspace
                     : src->height >= 720                     ? SWS_CS_ITU709
                                                              : SWS_CS_ITU601;
        const int *coefficients = sws_getCoefficients(matrix);
        sws_setColorspaceDetails(f->sws, coefficients, full, coefficients, 1, 0, 1 << 16, 1 << 16);
    }
    uint8_t *planes[4] = {(uint8_t *)dst, NULL, NULL, NULL};
    int strides[4] = {(int)f->stride, 0, 0, 0};
    int alpha = desc && (desc->flags & AV_PIX_FMT_FLAG_ALPHA);
    if (!desc || (desc->flags & (AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL))) {
        if (sws_scale(f->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, planes, strides) <= 0)
            return -1;
        finish_rows(f, dst, 0, f->height, alpha);
        return 0;
    }
    /* In bands of source rows, each band's output rows finished while they
     * are still in the cache: a second pass over a whole 1080p picture would
     * read and write its 8 MB from memory again. */
    int done = 0;
    for (int y = 0; y < src->height; y += BAND) {
        const uint8_t *slice[4] = {NULL, NULL, NULL, NULL};
        int h = src->height - y < BAND ? src->height - y : BAND;
        for (int i = 0; i < 4 && src->data[i]; i++)
            slice[i] = src->data[i] + (ptrdiff_t)(y >> (i == 1 || i == 2 ? desc->log2_chroma_h : 0)) * src->linesize[i];
        int rows = sws_scale(f->sws, slice, src->linesize, y, h, planes, strides);
        if (rows < 0 || done + rows > f->height)
            return -1;
        finish_rows(f, dst, done, done + rows, alpha);
        done += rows;
    }
    return done == f->height ? 0 : -1;
}

/* Convert and queue frame for generation; lock held on entry and exit. */
static void queue_picture(fw_footage *f, const AVFrame *frame, double time, int generation)
{
    int b = -1;
    while (f->ring_count == RING && !f->stopping && f->generation == generation)
        pthread_cond_wait(&f->changed, &f->lock);
    if (f->stopping || f->generation != generation)
        return;
    for (int i = 0; i < BUFFERS && b < 0; i++)
        if (f->pictures[i].owner == BUF_FREE)
            b = i;
    if (b < 0)
        return; /* cannot happen: RING queued, one current, one spare */
    f->pictures[b].owner = BUF_CONVERTING;
    pthread_mutex_unlock(&f->lock);
    int bad = convert(f, frame, f->pictures[b].pixels);
    pthread_mutex_lock(&f->lock);
    if (bad) {
        f->pictures[b].owner = BUF_FREE;
        if (!f->failed)
            f->failed = fw_error_set(&f->failure, FW_ERR_INVALID, "src", "a picture of the clip could not be converted");
        pthread_cond_broadcast(&f->changed);
        return;
    }
    f->converted++;
    if (f->generation != generation) {
        f->pictures[b].owner = BUF_FREE;
        return;
    }
    if (generation == 0 && f->converted == 1)
        f->first_time = time;
    f->pictures[b].time = time;
    f->pictures[b].serial = ++f->serial;
    f->pictures[b].owner = BUF_QUEUED;
    f->ring[(f->ring_head + f->ring_count) % RING] = b;
    f->ring_count++;
    pthread_cond_broadcast(&f->changed);
}

static void *decode_thread(void *arg)
{
    fw_footage *f = arg;
    int generation = 0, skipping = 0;
    double target = 0, held_time = 0;

    pthread_mutex_lock(&f->lock);
    for (;;) {
        fw_error err;
        fw_err e;
        int got;

        if (f->stopping)
            break;
        if (generation != f->generation) {
            generation = f->generation;
            target = f->seek_target;
            pthread_mutex_unlock(&f->lock);
            seek(f, target);
            skipping = 1;
            pthread_mutex_lock(&f->lock);
            continue;
        }
        if (f->at_end || f->failed) {
            pthread_cond_wait(&f->changed, &f->lock);
            continue;
        }
        pthread_mutex_unlock(&f->lock);
        got = next_frame(f, &err, &e);
        pthread_mutex_lock(&f->lock);
        if (generation != f->generation)
            continue; /* decoded for a time nobody wants any more */
        if (e) {
            f->failed = e;
            f->failure = err;
            pthread_cond_broadcast(&f->changed);
            continue;
        }
        if (!got) {
            if (f->have_held)
                queue_picture(f, f->held, held_time, generation);
            av_frame_unref(f->held);
            f->have_held = 0;
            if (generation == f->generation) {
                f->at_end = 1;
                pthread_cond_broadcast(&f->changed);
            }
            continue;
        }
        f->decoded++;
        double time = frame_time(f, f->frame);
        /* The held picture is shown only if the next one comes after the target. */
        if (f->have_held && !(skipping && time <= target + EPS))
            queue_picture(f, f->held, held_time, generation);
        skipping = skipping && time <= target + EPS;
        av_frame_unref(f->held);
        av_frame_move_ref(f->held, f->frame);
        f->have_held = 1;
        held_time = time;
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

/* ---- the caller's side ----------------------------------------------------------------------- */

fw_err fw_footage_open(fw_footage **out, const char *path, const fw_footage_options *opts, fw_error *err)
{
    fw_footage *f;
    fw_err rc;

    *out = NULL;
    if (opts->width <= 0 || opts->height <= 0 || opts->width > 16384 || opts->height > 16384)
        return fw_error_set(err, FW_ERR_INVALID, "src", "pictures of %dx%d cannot be made", opts->width, opts->height);
    if (!(f = calloc(1, sizeof(*f))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening the clip");
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->changed, NULL);
    f->width = opts->width;
    f->height = opts->height;
    f->stride = ((size_t)opts->width * 4 + 63) & ~(size_t)63;
    f->loop = opts->loop;
    f->current = -1;
    if ((rc = open_decoder(f, path, opts->threads, err))) {
        fw_footage_free(&f);
        return rc;
    }
    for (int i = 0; i < BUFFERS; i++)
        if (!(f->pictures[i].pixels = av_malloc(f->stride * (size_t)f->height))) {
            fw_footage_free(&f);
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for %dx%d pictures", opts->width,
                                opts->height);
        }
    if (pthread_create(&f->thread, NULL, decode_thread, f) != 0) {
        fw_footage_free(&f);
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "cannot start the clip's decoding thread");
    }
    f->thread_started = 1;
    *out = f;
    return FW_OK;
}

/* Ask the thread for the picture at time; lock held. */
static void request_seek(fw_footage *f, double time)
{
    for (int i = 0; i < f->ring_count; i++)
        f->pictures[f->ring[(f->ring_head + i) % RING]].owner = BUF_FREE;
    f->ring_count = 0;
    if (f->current >= 0)
        f->pictures[f->current].owner = BUF_FREE;
    f->current = -1;
    f->at_end = 0;
    f->generation++;
    f->seek_target = time;
    f->seeks++;
    pthread_cond_broadcast(&f->changed);
}

static int take_next(fw_footage *f)
{
    int b = f->ring[f->ring_head];
    if (f->current >= 0)
        f->pictures[f->current].owner = BUF_FREE;
    f->pictures[b].owner = BUF_CURRENT;
    f->current = b;
    f->ring_head = (f->ring_head + 1) % RING;
    f->ring_count--;
    pthread_cond_broadcast(&f->changed);
    return b;
}

fw_err fw_footage_picture_at(fw_footage *f, double seconds, fw_footage_picture *pic, fw_error *err)
{
    double t = seconds > 0 ? seconds : 0; /* NaN too */
    int sought = 0;
    fw_err rc = FW_OK;

    if (f->loop && f->duration > 0)
        t = fmod(t, f->duration);
    pthread_mutex_lock(&f->lock);
    for (;;) {
        if (f->failed) {
            rc = f->failed;
            if (err)
                *err = f->failure;
            break;
        }
        if (f->current < 0) {
            if (f->ring_count > 0) {
                take_next(f);
            } else if (f->at_end) {
                rc = fw_error_set(err, FW_ERR_INVALID, "src", "the clip has no picture to show at %.3f s", t);
                break;
            } else {
                pthread_cond_wait(&f->changed, &f->lock);
            }
            continue;
        }
        double now = f->pictures[f->current].time;
        int behind = t + EPS < now && now > f->first_time + EPS;
        if (!sought && (behind || t > now + SEEK_AHEAD)) {
            request_seek(f, t);
            sought = 1;
            continue;
        }
        if (f->ring_count > 0) {
            if (f->pictures[f->ring[f->ring_head]].time > t + EPS)
                break;
            take_next(f);
            continue;
        }
        if (f->at_end)
            break; /* past the last picture: it is held */
        pthread_cond_wait(&f->changed, &f->lock);
    }
    if (rc == FW_OK) {
        const picture *p = &f->pictures[f->current];
        pic->pixels = p->pixels;
        pic->width = f->width;
        pic->height = f->height;
        pic->stride = f->stride;
        pic->time = p->time;
        pic->serial = p->serial;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

double fw_footage_duration(const fw_footage *f)
{
    return f->duration;
}

void fw_footage_counts(const fw_footage *f, int64_t *decoded, int64_t *converted, int64_t *seeks)
{
    pthread_mutex_lock((pthread_mutex_t *)&f->lock);
    *decoded = f->decoded;
    *converted = f->converted;
    *seeks = f->seeks;
    pthread_mutex_unlock((pthread_mutex_t *)&f->lock);
}

void fw_footage_free(fw_footage **fp)
{
    fw_footage *f;

    if (!fp || !*fp)
        return;
    f = *fp;
    if (f->thread_started) {
        pthread_mutex_lock(&f->lock);
        f->stopping = 1;
        pthread_cond_broadcast(&f->changed);
        pthread_mutex_unlock(&f->lock);
        pthread_join(f->thread, NULL);
    }
    for (int i = 0; i < BUFFERS; i++)
        av_free(f->pictures[i].pixels);
    sws_freeContext(f->sws);
    av_frame_free(&f->frame);
    av_frame_free(&f->held);
    av_packet_free(&f->packet);
    avcodec_free_context(&f->avctx);
    avformat_close_input(&f->format);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->changed);
    free(f);
    *fp = NULL;
}
