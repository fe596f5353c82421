/*
 * encoder.c - the encoding thread, the frame ring and the FFmpeg plumbing.
 *
 * Life of a frame buffer: free -> acquired (the renderer draws) -> queued ->
 * encoding (this file's thread converts it into an AVFrame and hands it to
 * the codec) -> free again. Slots move between a free stack and a FIFO queue
 * under one mutex; two condition variables wake the producer (a slot is free,
 * or an error happened) and the encoding thread (work queued, or stop).
 *
 * The per-frame path allocates no pixel memory: AVFrame data comes from
 * AVBufferPools sized at open, so a codec that keeps a frame for lookahead or
 * frame threading holds a pool buffer and the next frame takes another; the
 * SwsContext, packet and scratch buffers are made once.
 *
 * Video goes through libavformat to a temporary file. Still pictures are the
 * codec's packet written as is (a PNG or JPEG file); sequences of them are
 * written one file per frame into a temporary folder and gathered into a zip
 * by finish, so memory does not grow with the frame count.
 */
#include "server/media/encoder.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "server/media/pixels.h"
#include "server/util/fs.h"

#define MAX_BUFFERS 16
#define PATH_MAX_LEN 4096

typedef enum slot_state { SLOT_FREE, SLOT_ACQUIRED, SLOT_QUEUED } slot_state;

typedef enum encoder_state { STATE_OPEN, STATE_FINISHED, STATE_ABORTED } encoder_state;

struct fw_encoder {
    fw_encoder_options opts;
    const fw_codec *codec;
    char final_path[PATH_MAX_LEN];
    char temp_path[PATH_MAX_LEN]; /* the file (or, for sequences, the folder) being written */
    int sequence;                 /* still codec writing a zip */
    encoder_state state;

    /* The ring. */
    fw_frame frames[MAX_BUFFERS];
    slot_state slots[MAX_BUFFERS];
    int buffer_count;
    int free_stack[MAX_BUFFERS], free_count;
    int queue[MAX_BUFFERS], queue_head, queue_count;
    int64_t submitted;

    pthread_mutex_t lock;
    pthread_cond_t slot_freed;   /* producer waits on it */
    pthread_cond_t work_queued;  /* encoding thread waits on it */
    pthread_t thread;
    int thread_started;
    int closing, aborting;
    int failed;
    fw_error thread_error;

    /* FFmpeg, touched only by the encoding thread until it is joined. */
    const AVCodec *av_codec;
    AVCodecContext *avctx;
    AVFormatContext *format;
    AVStream *stream;
    AVFrame *frame;
    AVPacket *packet;
    struct SwsContext *sws;
    enum AVPixelFormat pix_fmt;
    AVBufferPool *pools[4];
    int linesizes[4];
    int plane_count;
    uint32_t *scratch;            /* unpremultiplied copy for alpha codecs */
    fw_quantizer *quantizer;      /* GIF only */
    int64_t packets_written;
    FILE *still_file;             /* single still picture */
    char frame_path[PATH_MAX_LEN];

    /* Sound: its own codec and stream, fed after each video frame. */
    AVCodecContext *audio_ctx;
    AVStream *audio_stream;
    AVFrame *audio_frame;
    AVPacket *audio_packet;
    float *audio_samples;         /* one audio frame, interleaved stereo */
    int audio_frame_size;
    int64_t audio_total, audio_done; /* samples */
    fw_audio_source audio_source;    /* the caller's, copied */
};

static fw_err av_failure(fw_error *err, fw_err code, const char *field, const char *what, int averr)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, reason, sizeof(reason));
    return fw_error_set(err, code, field, "%s: %s", what, reason);
}

/* ---- options ---------------------------------------------------------- */

static fw_err check_options(const fw_encoder_options *o, fw_error *err)
{
    if (!o->codec)
        return fw_error_set(err, FW_ERR_INVALID, "settings.codec", "no codec was given");
    if (o->width <= 0 || o->width > 16384)
        return fw_error_set(err, FW_ERR_INVALID, "width", "width is %d; it must be between 1 and 16384", o->width);
    if (o->height <= 0 || o->height > 16384)
        return fw_error_set(err, FW_ERR_INVALID, "height", "height is %d; it must be between 1 and 16384",
                            o->height);
    if (o->fps_num <= 0 || o->fps_den <= 0 || o->fps_num / o->fps_den > 240)
        return fw_error_set(err, FW_ERR_INVALID, "fps", "frame rate %d/%d is not a positive rate up to 240",
                            o->fps_num, o->fps_den);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(av_get_pix_fmt(o->codec->pixel_format));
    if (d && ((o->width & ((1 << d->log2_chroma_w) - 1)) || (o->height & ((1 << d->log2_chroma_h) - 1))))
        return fw_error_set(err, FW_ERR_INVALID, "width", "%s needs an even width and height; %dx%d is not",
                            o->codec->name, o->width, o->height);
    if (!o->output_path || !*o->output_path)
        return fw_error_set(err, FW_ERR_INVALID, "output", "no output path was given");
    if (strlen(o->output_path) > PATH_MAX_LEN - 64)
        return fw_error_set(err, FW_ERR_INVALID, "output", "the output path is too long");
    if (o->audio && (!o->codec->audio_encoder || o->frame_count <= 0))
        return fw_error_set(err, FW_ERR_INVALID, "settings.codec", "%s",
                            o->codec->audio_encoder ? "sound needs the frame count"
                                                    : "this codec's files cannot hold sound");
    if (o->buffer_count < 0 || o->buffer_count > MAX_BUFFERS)
        return fw_error_set(err, FW_ERR_INVALID, "buffer_count", "buffer_count is %d; it must be 0 to %d",
                            o->buffer_count, MAX_BUFFERS);
    return FW_OK;
}

/* ---- the temporary output --------------------------------------------- */

/* A unique name in the output's folder, so the final rename is atomic. */
static fw_err make_temp(fw_encoder *enc, fw_error *err)
{
    const char *path = enc->final_path;
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path) + 1 : 0;
    snprintf(enc->temp_path, sizeof(enc->temp_path), "%.*s.%s.fw-tmp-XXXXXX", dir_len, path,
             slash ? slash + 1 : path);
    if (enc->sequence) {
        if (!mkdtemp(enc->temp_path))
            goto fail;
        return FW_OK;
    }
    int fd = fw_create_temp_file(enc->temp_path);
    if (fd < 0)
        goto fail;
    close(fd);
    return FW_OK;
fail:
    {
        int e = errno;
        enc->temp_path[0] = '\0';
        return fw_error_set(err, FW_ERR_IO, "output", "cannot write next to %s: %s", path, strerror(e));
    }
}

static void remove_temp(fw_encoder *enc)
{
    if (!enc->temp_path[0])
        return;
    if (enc->sequence) {
        for (int64_t i = 0; i < enc->submitted; i++) {
            snprintf(enc->frame_path, sizeof(enc->frame_path), "%s/frame_%05lld.%s", enc->temp_path,
                     (long long)(enc->opts.first_number + i), enc->codec->extension);
            unlink(enc->frame_path);
        }
        rmdir(enc->temp_path);
    } else {
        unlink(enc->temp_path);
    }
    enc->temp_path[0] = '\0';
}

/* ---- codec set-up ----------------------------------------------------- */

int fw_encoder_keyframe_interval(int fps_num, int fps_den)
{
    int n = fps_den > 0 ? 2 * fps_num / fps_den : 0;
    return n > 0 ? n : 1;
}

static void set_x264_options(fw_encoder *enc, AVDictionary **o)
{
    AVCodecContext *c = enc->avctx;
    int64_t rate = enc->codec->bit_rate;
    av_dict_set(o, "preset", enc->opts.quality == FW_QUALITY_DRAFT ? "veryfast" : "medium", 0);
    c->bit_rate = rate;
    if (enc->codec->rate_control == FW_RATE_CBR) {
        /* HRD-conformant CBR: x264 pads with filler so the rate holds even
         * over simple pictures. Half a second of buffer keeps the start-up
         * burst small, so short clips also come out at the rate. */
        c->rc_min_rate = rate;
        c->rc_max_rate = rate;
        c->rc_buffer_size = (int)(rate / 2);
        av_dict_set(o, "x264-params", "nal-hrd=cbr", 0);
    } else {
        /* Average rate with room for peaks: 1.5x max, one second of buffer. */
        c->rc_max_rate = rate * 3 / 2;
        c->rc_buffer_size = (int)rate;
    }
    c->gop_size = fw_encoder_keyframe_interval(enc->opts.fps_num, enc->opts.fps_den);
}

static void set_codec_options(fw_encoder *enc, AVDictionary **o)
{
    AVCodecContext *c = enc->avctx;
    int draft = enc->opts.quality == FW_QUALITY_DRAFT;
    const char *name = enc->codec->encoder;
    if (strcmp(name, "libx264") == 0) {
        set_x264_options(enc, o);
    } else if (strcmp(name, "libx265") == 0) {
        av_dict_set(o, "preset", draft ? "ultrafast" : "medium", 0);
        av_dict_set(o, "crf", draft ? "28" : "22", 0);
        av_dict_set(o, "x265-params", "log-level=error", 0);
        c->codec_tag = MKTAG('h', 'v', 'c', '1'); /* QuickTime and Safari play hvc1, not hev1 */
    } else if (strcmp(name, "prores_ks") == 0) {
        av_dict_set(o, "profile", enc->codec->has_alpha ? "4444" : "standard", 0);
        av_dict_set(o, "vendor", "apl0", 0);
    } else if (strcmp(name, "libvpx-vp9") == 0) {
        c->bit_rate = 0; /* constant quality */
        av_dict_set(o, "crf", draft ? "36" : "28", 0);
        av_dict_set(o, "deadline", draft ? "realtime" : "good", 0);
        av_dict_set(o, "cpu-used", draft ? "8" : "4", 0);
        av_dict_set(o, "row-mt", "1", 0);
    } else if (strcmp(name, "libwebp_anim") == 0) {
        c->global_quality = (draft ? 75 : 90) * FF_QP2LAMBDA;
        c->flags |= AV_CODEC_FLAG_QSCALE;
    } else if (strcmp(name, "mjpeg") == 0) {
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = (draft ? 5 : 2) * FF_QP2LAMBDA;
    } else if (strcmp(name, "png") == 0) {
        c->compression_level = draft ? 1 : 6;
    }
}

/* BT.709 limited range for video YUV, BT.601 full range for JPEG; RGB and
 * palette formats carry no matrix. */
static void set_colour(fw_encoder *enc)
{
    AVCodecContext *c = enc->avctx;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(enc->pix_fmt);
    if (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL))
        return;
    if (strcmp(enc->codec->encoder, "mjpeg") == 0) {
        c->colorspace = AVCOL_SPC_BT470BG;
        c->color_range = AVCOL_RANGE_JPEG;
        return;
    }
    c->colorspace = AVCOL_SPC_BT709;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_BT709;
    c->color_range = AVCOL_RANGE_MPEG;
}

static fw_err open_codec(fw_encoder *enc, fw_error *err)
{
    const fw_encoder_options *o = &enc->opts;
    AVDictionary *codec_opts = NULL;
    int rc;

    enc->av_codec = avcodec_find_encoder_by_name(enc->codec->encoder);
    if (!enc->av_codec)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "settings.codec",
                            "this FFmpeg has no %s encoder, which %s needs", enc->codec->encoder, enc->codec->name);
    enc->pix_fmt = av_get_pix_fmt(enc->codec->pixel_format);
    enc->avctx = avcodec_alloc_context3(enc->av_codec);
    if (!enc->avctx)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the codec");
    AVCodecContext *c = enc->avctx;
    c->width = o->width;
    c->height = o->height;
    c->pix_fmt = enc->pix_fmt;
    c->time_base = (AVRational){o->fps_den, o->fps_num};
    c->framerate = (AVRational){o->fps_num, o->fps_den};
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->thread_count = o->threads;
    set_colour(enc);
    set_codec_options(enc, &codec_opts);
    if (enc->format && (enc->format->oformat->flags & AVFMT_GLOBALHEADER))
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    rc = avcodec_open2(c, enc->av_codec, &codec_opts);
    av_dict_free(&codec_opts);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, "settings.codec", "the encoder would not start", rc);
    return FW_OK;
}

#define AUDIO_RATE 48000

static fw_err open_audio_codec(fw_encoder *enc, fw_error *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(enc->codec->audio_encoder);
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    int rc;

    if (!codec)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "settings.codec", "this FFmpeg has no %s encoder for the sound",
                            enc->codec->audio_encoder);
    if (!(enc->audio_ctx = avcodec_alloc_context3(codec)))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the sound's codec");
    AVCodecContext *c = enc->audio_ctx;
    c->sample_rate = AUDIO_RATE;
    av_channel_layout_copy(&c->ch_layout, &stereo);
    c->time_base = (AVRational){1, AUDIO_RATE};
    /* The first format the encoder takes: fltp for AAC and Opus, s16 for PCM. */
    c->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
    if (strcmp(enc->codec->audio_encoder, "pcm_s16le") != 0)
        c->bit_rate = 192000;
    if (enc->format->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((rc = avcodec_open2(c, codec, NULL)) < 0)
        return av_failure(err, FW_ERR_INTERNAL, "settings.codec", "the sound's encoder would not start", rc);
    enc->audio_frame_size = c->frame_size > 0 ? c->frame_size : 1024;
    enc->audio_frame = av_frame_alloc();
    enc->audio_packet = av_packet_alloc();
    enc->audio_samples = malloc((size_t)enc->audio_frame_size * 2 * sizeof(float));
    if (!enc->audio_frame || !enc->audio_packet || !enc->audio_samples)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the sound");
    /* Exactly the video's length: frames x 48000 / fps, rounded. */
    enc->audio_total = (enc->opts.frame_count * AUDIO_RATE * enc->opts.fps_den + enc->opts.fps_num / 2) /
                       enc->opts.fps_num;
    return FW_OK;
}

static fw_err open_format(fw_encoder *enc, fw_error *err)
{
    int rc = avformat_alloc_output_context2(&enc->format, NULL, enc->codec->muxer, enc->temp_path);
    if (rc < 0 || !enc->format)
        return av_failure(err, FW_ERR_INTERNAL, "settings.codec", "the container could not be set up", rc);
    return FW_OK;
}

static fw_err start_format(fw_encoder *enc, fw_error *err)
{
    AVDictionary *mux_opts = NULL;
    int rc;
    enc->stream = avformat_new_stream(enc->format, NULL);
    if (!enc->stream)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the stream");
    enc->stream->time_base = enc->avctx->time_base;
    enc->stream->avg_frame_rate = enc->avctx->framerate;
    enc->stream->r_frame_rate = enc->avctx->framerate;
    rc = avcodec_parameters_from_context(enc->stream->codecpar, enc->avctx);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, NULL, "the stream parameters could not be set", rc);
    if (enc->audio_ctx) {
        if (!(enc->audio_stream = avformat_new_stream(enc->format, NULL)))
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the sound's stream");
        enc->audio_stream->time_base = enc->audio_ctx->time_base;
        rc = avcodec_parameters_from_context(enc->audio_stream->codecpar, enc->audio_ctx);
        if (rc < 0)
            return av_failure(err, FW_ERR_INTERNAL, NULL, "the sound's stream parameters could not be set", rc);
    }
    if (strcmp(enc->codec->muxer, "mp4") == 0 || strcmp(enc->codec->muxer, "mov") == 0)
        av_dict_set(&mux_opts, "movflags", "+faststart", 0);
    if (strcmp(enc->codec->muxer, "gif") == 0 || strcmp(enc->codec->muxer, "webp") == 0)
        av_dict_set(&mux_opts, "loop", "0", 0); /* loop forever, as animations on the web do */
    rc = avio_open(&enc->format->pb, enc->temp_path, AVIO_FLAG_WRITE);
    if (rc < 0) {
        av_dict_free(&mux_opts);
        return av_failure(err, FW_ERR_IO, "output", "the output could not be opened", rc);
    }
    rc = avformat_write_header(enc->format, &mux_opts);
    av_dict_free(&mux_opts);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, "output", "the container header could not be written", rc);
    return FW_OK;
}

/* Pools of plane buffers: one per plane, sized once. */
static fw_err make_pools(fw_encoder *enc, fw_error *err)
{
    size_t sizes[4];
    ptrdiff_t lines[4];
    int rc = av_image_fill_linesizes(enc->linesizes, enc->pix_fmt, FFALIGN(enc->opts.width, 64));
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, NULL, "bad picture layout", rc);
    for (int i = 0; i < 4; i++)
        lines[i] = enc->linesizes[i];
    rc = av_image_fill_plane_sizes(sizes, enc->pix_fmt, enc->opts.height, lines);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, NULL, "bad picture layout", rc);
    enc->plane_count = 0;
    for (int i = 0; i < 4 && sizes[i]; i++) {
        /* Padding: SIMD code may read a little past the last row. */
        enc->pools[i] = av_buffer_pool_init(sizes[i] + 64, av_buffer_allocz);
        if (!enc->pools[i])
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for frame buffers");
        enc->plane_count++;
    }
    return FW_OK;
}

static fw_err make_converters(fw_encoder *enc, fw_error *err)
{
    const fw_encoder_options *o = &enc->opts;
    if (enc->pix_fmt == AV_PIX_FMT_PAL8) {
        enc->quantizer = calloc(1, sizeof(*enc->quantizer));
        if (!enc->quantizer)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the palette");
        return FW_OK;
    }
    if (enc->codec->has_alpha) {
        enc->scratch = av_malloc((size_t)o->width * (size_t)o->height * 4);
        if (!enc->scratch)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for frame buffers");
    }
    enc->sws = sws_getContext(o->width, o->height, AV_PIX_FMT_RGB32, o->width, o->height, enc->pix_fmt,
                              SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!enc->sws)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "no conversion from ARGB to %s", enc->codec->pixel_format);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(enc->pix_fmt);
    if (!(d->flags & AV_PIX_FMT_FLAG_RGB)) {
        int matrix = enc->avctx->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_ITU601;
        int full = enc->avctx->color_range == AVCOL_RANGE_JPEG;
        const int *coefficients = sws_getCoefficients(matrix);
        sws_setColorspaceDetails(enc->sws, coefficients, 1, coefficients, full, 0, 1 << 16, 1 << 16);
    }
    return FW_OK;
}

static fw_err make_ring(fw_encoder *enc, fw_error *err)
{
    int stride = FFALIGN(enc->opts.width * 4, 64);
    enc->buffer_count = enc->opts.buffer_count ? enc->opts.buffer_count : 3;
    for (int i = 0; i < enc->buffer_count; i++) {
        fw_frame *f = &enc->frames[i];
        f->pixels = av_mallocz((size_t)stride * (size_t)enc->opts.height);
        if (!f->pixels)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for frame buffers");
        f->width = enc->opts.width;
        f->height = enc->opts.height;
        f->stride = stride;
        enc->slots[i] = SLOT_FREE;
        enc->free_stack[enc->free_count++] = i;
    }
    return FW_OK;
}

/* ---- the per-frame path (encoding thread) ----------------------------- */

static fw_err write_packet(fw_encoder *enc, fw_error *err)
{
    AVPacket *p = enc->packet;
    if (enc->format) {
        av_packet_rescale_ts(p, enc->avctx->time_base, enc->stream->time_base);
        p->stream_index = enc->stream->index;
        int rc = av_interleaved_write_frame(enc->format, p);
        if (rc < 0)
            return av_failure(err, FW_ERR_IO, "output", "writing a video packet failed", rc);
    } else {
        FILE *f = enc->still_file;
        if (enc->sequence) {
            snprintf(enc->frame_path, sizeof(enc->frame_path), "%s/frame_%05lld.%s", enc->temp_path,
                     (long long)(enc->opts.first_number + enc->packets_written), enc->codec->extension);
            f = fopen(enc->frame_path, "wb");
        }
        if (!f || fwrite(p->data, 1, (size_t)p->size, f) != (size_t)p->size || (enc->sequence && fclose(f) != 0))
            return fw_error_set(err, FW_ERR_IO, "output", "writing picture %lld failed: %s",
                                (long long)enc->packets_written, strerror(errno));
    }
    enc->packets_written++;
    return FW_OK;
}

/* Send one frame (NULL flushes) and write whatever packets come out. */
static fw_err encode(fw_encoder *enc, AVFrame *frame, fw_error *err)
{
    int rc = avcodec_send_frame(enc->avctx, frame);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, NULL, "the encoder refused a frame", rc);
    for (;;) {
        rc = avcodec_receive_packet(enc->avctx, enc->packet);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return FW_OK;
        if (rc < 0)
            return av_failure(err, FW_ERR_INTERNAL, NULL, "encoding failed", rc);
        fw_err e = write_packet(enc, err);
        av_packet_unref(enc->packet);
        if (e != FW_OK)
            return e;
    }
}

/* Send one audio frame (NULL flushes) and write its packets. */
static fw_err encode_audio(fw_encoder *enc, AVFrame *frame, fw_error *err)
{
    int rc = avcodec_send_frame(enc->audio_ctx, frame);
    if (rc < 0)
        return av_failure(err, FW_ERR_INTERNAL, NULL, "the sound's encoder refused samples", rc);
    for (;;) {
        rc = avcodec_receive_packet(enc->audio_ctx, enc->audio_packet);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return FW_OK;
        if (rc < 0)
            return av_failure(err, FW_ERR_INTERNAL, NULL, "encoding the sound failed", rc);
        av_packet_rescale_ts(enc->audio_packet, enc->audio_ctx->time_base, enc->audio_stream->time_base);
        enc->audio_packet->stream_index = enc->audio_stream->index;
        rc = av_interleaved_write_frame(enc->format, enc->audio_packet);
        av_packet_unref(enc->audio_packet);
        if (rc < 0)
            return av_failure(err, FW_ERR_IO, "output", "writing a sound packet failed", rc);
    }
}

/* Encode the sound up to sample upto (whole audio frames, or the rest at the end). */
static fw_err feed_audio(fw_encoder *enc, int64_t upto, fw_error *err)
{
    if (upto > enc->audio_total)
        upto = enc->audio_total;
    while (enc->audio_done < upto && (upto - enc->audio_done >= enc->audio_frame_size || upto == enc->audio_total)) {
        int n = (int)(enc->audio_total - enc->audio_done < enc->audio_frame_size ? enc->audio_total - enc->audio_done
                                                                                  : enc->audio_frame_size);
        AVFrame *f = enc->audio_frame;
        fw_err e = enc->opts.audio->read(enc->opts.audio->user, enc->audio_samples, n, err);
        if (e != FW_OK)
            return e;
        av_frame_unref(f);
        f->nb_samples = n;
        f->format = enc->audio_ctx->sample_fmt;
        f->sample_rate = AUDIO_RATE;
        av_channel_layout_copy(&f->ch_layout, &enc->audio_ctx->ch_layout);
        if (av_frame_get_buffer(f, 0) < 0)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the sound");
        const float *in = enc->audio_samples;
        if (f->format == AV_SAMPLE_FMT_FLTP) {
            float *l = (float *)f->data[0], *r = (float *)f->data[1];
            for (int i = 0; i < n; i++) {
                l[i] = in[2 * i];
                r[i] = in[2 * i + 1];
            }
        } else if (f->format == AV_SAMPLE_FMT_S16) {
            int16_t *o = (int16_t *)f->data[0];
            for (int i = 0; i < 2 * n; i++) {
                float v = in[i] * 32767.0f;
                o[i] = (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : lrintf(v));
            }
        } else if (f->format == AV_SAMPLE_FMT_FLT) {
            memcpy(f->data[0], in, (size_t)n * 2 * sizeof(float));
        } else {
            return fw_error_set(err, FW_ERR_UNSUPPORTED, "settings.codec", "the sound's encoder wants %s samples",
                                av_get_sample_fmt_name(f->format));
        }
        f->pts = enc->audio_done;
        enc->audio_done += n;
        if ((e = encode_audio(enc, f, err)) != FW_OK)
            return e;
    }
    return FW_OK;
}

static fw_err prepare_frame(fw_encoder *enc, const fw_frame *src, fw_error *err)
{
    AVFrame *f = enc->frame;
    av_frame_unref(f);
    f->format = enc->pix_fmt;
    f->width = enc->opts.width;
    f->height = enc->opts.height;
    for (int i = 0; i < enc->plane_count; i++) {
        f->buf[i] = av_buffer_pool_get(enc->pools[i]);
        if (!f->buf[i])
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for a frame");
        f->data[i] = f->buf[i]->data;
        f->linesize[i] = enc->linesizes[i];
    }
    f->pts = src->index;
    f->quality = enc->avctx->global_quality; /* fixed-quality encoders read it per frame */
    f->colorspace = enc->avctx->colorspace;
    f->color_primaries = enc->avctx->color_primaries;
    f->color_trc = enc->avctx->color_trc;
    f->color_range = enc->avctx->color_range;
    f->sample_aspect_ratio = enc->avctx->sample_aspect_ratio;
    return FW_OK;
}

static void convert(fw_encoder *enc, const fw_frame *src)
{
    AVFrame *f = enc->frame;
    const uint8_t *pixels = (const uint8_t *)src->pixels;
    int stride = src->stride;
    if (enc->quantizer) {
        fw_quantize(enc->quantizer, pixels, stride, src->width, src->height, f->data[0], f->linesize[0],
                    (uint32_t *)f->data[1]);
        return;
    }
    if (enc->scratch) {
        for (int y = 0; y < src->height; y++)
            fw_pixels_unpremultiply_row((const uint32_t *)(pixels + (size_t)y * stride),
                                        enc->scratch + (size_t)y * src->width, src->width);
        pixels = (const uint8_t *)enc->scratch;
        stride = src->width * 4;
    }
    sws_scale(enc->sws, &pixels, &stride, 0, src->height, f->data, f->linesize);
}

static fw_err encode_frame(fw_encoder *enc, const fw_frame *src, fw_error *err)
{
    fw_err e = prepare_frame(enc, src, err);
    if (e != FW_OK)
        return e;
    convert(enc, src);
    e = encode(enc, enc->frame, err);
    av_frame_unref(enc->frame);
    if (e == FW_OK && enc->audio_ctx)
        e = feed_audio(enc, (src->index + 1) * AUDIO_RATE * enc->opts.fps_den / enc->opts.fps_num, err);
    return e;
}

static void *encoding_thread(void *arg)
{
    fw_encoder *enc = arg;
    fw_error local;
    pthread_mutex_lock(&enc->lock);
    for (;;) {
        while (!enc->queue_count && !enc->closing && !enc->aborting)
            pthread_cond_wait(&enc->work_queued, &enc->lock);
        if (enc->aborting || (!enc->queue_count && enc->closing))
            break;
        int slot = enc->queue[enc->queue_head];
        enc->queue_head = (enc->queue_head + 1) % MAX_BUFFERS;
        enc->queue_count--;
        int failed = enc->failed;
        pthread_mutex_unlock(&enc->lock);

        /* After a failure, queued frames are only returned to the ring. */
        fw_err e = failed ? FW_OK : encode_frame(enc, &enc->frames[slot], &local);

        pthread_mutex_lock(&enc->lock);
        if (e != FW_OK && !enc->failed) {
            enc->failed = 1;
            enc->thread_error = local;
        }
        enc->slots[slot] = SLOT_FREE;
        enc->free_stack[enc->free_count++] = slot;
        pthread_cond_broadcast(&enc->slot_freed);
    }
    pthread_mutex_unlock(&enc->lock);
    return NULL;
}

/* ---- public ----------------------------------------------------------- */

static fw_err open_outputs(fw_encoder *enc, fw_error *err)
{
    fw_err e = make_temp(enc, err);
    if (e == FW_OK && enc->codec->muxer)
        e = open_format(enc, err);
    if (e == FW_OK)
        e = open_codec(enc, err);
    if (e == FW_OK && enc->opts.audio && enc->format)
        e = open_audio_codec(enc, err);
    if (e == FW_OK && enc->format)
        e = start_format(enc, err);
    if (e == FW_OK && enc->codec->is_still && !enc->sequence) {
        enc->still_file = fopen(enc->temp_path, "wb");
        if (!enc->still_file)
            e = fw_error_set(err, FW_ERR_IO, "output", "cannot write %s: %s", enc->temp_path, strerror(errno));
    }
    if (e == FW_OK)
        e = make_pools(enc, err);
    if (e == FW_OK)
        e = make_converters(enc, err);
    if (e == FW_OK)
        e = make_ring(enc, err);
    if (e == FW_OK) {
        enc->frame = av_frame_alloc();
        enc->packet = av_packet_alloc();
        if (!enc->frame || !enc->packet)
            e = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the encoder");
    }
    return e;
}

fw_err fw_encoder_open(fw_encoder **out, const fw_encoder_options *opts, fw_error *err)
{
    *out = NULL;
    fw_err e = check_options(opts, err);
    if (e != FW_OK)
        return e;
    fw_encoder *enc = calloc(1, sizeof(*enc));
    if (!enc)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the encoder");
    enc->opts = *opts;
    if (opts->audio) {
        enc->audio_source = *opts->audio;
        enc->opts.audio = &enc->audio_source;
    }
    enc->codec = opts->codec;
    snprintf(enc->final_path, sizeof(enc->final_path), "%s", opts->output_path);
    enc->opts.output_path = enc->final_path;
    enc->sequence = enc->codec->is_still && opts->frame_count != 1;
    pthread_mutex_init(&enc->lock, NULL);
    pthread_cond_init(&enc->slot_freed, NULL);
    pthread_cond_init(&enc->work_queued, NULL);

    e = open_outputs(enc, err);
    if (e == FW_OK) {
        if (pthread_create(&enc->thread, NULL, encoding_thread, enc) != 0)
            e = fw_error_set(err, FW_ERR_INTERNAL, NULL, "the encoding thread could not start");
        else
            enc->thread_started = 1;
    }
    if (e != FW_OK) {
        fw_encoder_free(&enc);
        return e;
    }
    *out = enc;
    return FW_OK;
}

static fw_err not_open(const fw_encoder *enc, fw_error *err)
{
    return fw_error_set(err, FW_ERR_FAILED_PRECONDITION, NULL, "the encoder was already %s",
                        enc->state == STATE_FINISHED ? "finished" : "aborted");
}

fw_err fw_encoder_frame_acquire(fw_encoder *enc, fw_frame **frame, fw_error *err)
{
    *frame = NULL;
    if (enc->state != STATE_OPEN)
        return not_open(enc, err);
    pthread_mutex_lock(&enc->lock);
    while (!enc->failed && !enc->free_count)
        pthread_cond_wait(&enc->slot_freed, &enc->lock);
    if (enc->failed) {
        fw_error copy = enc->thread_error;
        pthread_mutex_unlock(&enc->lock);
        if (err)
            *err = copy;
        return copy.code;
    }
    int slot = enc->free_stack[--enc->free_count];
    enc->slots[slot] = SLOT_ACQUIRED;
    pthread_mutex_unlock(&enc->lock);
    *frame = &enc->frames[slot];
    return FW_OK;
}

fw_err fw_encoder_frame_submit(fw_encoder *enc, fw_frame *frame, fw_error *err)
{
    if (enc->state != STATE_OPEN)
        return not_open(enc, err);
    ptrdiff_t slot = frame - enc->frames;
    pthread_mutex_lock(&enc->lock);
    if (slot < 0 || slot >= enc->buffer_count || enc->slots[slot] != SLOT_ACQUIRED) {
        pthread_mutex_unlock(&enc->lock);
        return fw_error_set(err, FW_ERR_INVALID, "frame", "this frame was not acquired from this encoder");
    }
    if (enc->failed) {
        fw_error copy = enc->thread_error;
        enc->slots[slot] = SLOT_FREE;
        enc->free_stack[enc->free_count++] = (int)slot;
        pthread_mutex_unlock(&enc->lock);
        if (err)
            *err = copy;
        return copy.code;
    }
    if (enc->codec->is_still && !enc->sequence && enc->submitted >= 1) {
        enc->slots[slot] = SLOT_FREE;
        enc->free_stack[enc->free_count++] = (int)slot;
        pthread_mutex_unlock(&enc->lock);
        return fw_error_set(err, FW_ERR_INVALID, "frames", "%s with frame_count 1 takes exactly one frame",
                            enc->codec->name);
    }
    frame->index = enc->submitted++;
    enc->slots[slot] = SLOT_QUEUED;
    enc->queue[(enc->queue_head + enc->queue_count) % MAX_BUFFERS] = (int)slot;
    enc->queue_count++;
    pthread_cond_signal(&enc->work_queued);
    pthread_mutex_unlock(&enc->lock);
    return FW_OK;
}

int64_t fw_encoder_frames_submitted(const fw_encoder *enc)
{
    return enc->submitted;
}

static void stop_thread(fw_encoder *enc, int abort)
{
    if (!enc->thread_started)
        return;
    pthread_mutex_lock(&enc->lock);
    if (abort)
        enc->aborting = 1;
    enc->closing = 1;
    pthread_cond_signal(&enc->work_queued);
    pthread_mutex_unlock(&enc->lock);
    pthread_join(enc->thread, NULL);
    enc->thread_started = 0;
}

/* Gather the sequence folder into a zip at temp_path + ".zip". */
static fw_err write_zip(fw_encoder *enc, const char *zip_path, fw_error *err)
{
    int zerr = 0;
    zip_t *z = zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z)
        return fw_error_set(err, FW_ERR_IO, "output", "cannot create the zip of pictures (libzip error %d)", zerr);
    for (int64_t i = 0; i < enc->submitted; i++) {
        char name[64];
        snprintf(name, sizeof(name), "frame_%05lld.%s", (long long)(enc->opts.first_number + i),
                 enc->codec->extension);
        snprintf(enc->frame_path, sizeof(enc->frame_path), "%s/%s", enc->temp_path, name);
        zip_source_t *src = zip_source_file(z, enc->frame_path, 0, -1);
        zip_int64_t index = src ? zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8) : -1;
        if (index < 0) {
            if (src)
                zip_source_free(src);
            zip_discard(z);
            return fw_error_set(err, FW_ERR_IO, "output", "cannot add %s to the zip: %s", name, zip_strerror(z));
        }
        zip_set_file_compression(z, (zip_uint64_t)index, ZIP_CM_STORE, 0);
    }
    if (zip_close(z) != 0) {
        fw_error_set(err, FW_ERR_IO, "output", "cannot write the zip of pictures: %s", zip_strerror(z));
        zip_discard(z);
        unlink(zip_path);
        return FW_ERR_IO;
    }
    return FW_OK;
}

static fw_err complete_output(fw_encoder *enc, fw_error *err)
{
    fw_err e = encode(enc, NULL, err);
    if (e != FW_OK)
        return e;
    if (enc->audio_ctx) {
        /* Fewer frames than announced still get sound of their own length. */
        if (enc->submitted < enc->opts.frame_count)
            enc->audio_total = (enc->submitted * AUDIO_RATE * enc->opts.fps_den + enc->opts.fps_num / 2) /
                               enc->opts.fps_num;
        if ((e = feed_audio(enc, enc->audio_total, err)) != FW_OK || (e = encode_audio(enc, NULL, err)) != FW_OK)
            return e;
    }
    if (enc->format) {
        int rc = av_write_trailer(enc->format);
        if (rc < 0)
            return av_failure(err, FW_ERR_IO, "output", "the container could not be finished", rc);
        rc = avio_closep(&enc->format->pb);
        if (rc < 0)
            return av_failure(err, FW_ERR_IO, "output", "the output could not be closed", rc);
    }
    if (enc->still_file) {
        int rc = fclose(enc->still_file);
        enc->still_file = NULL;
        if (rc != 0)
            return fw_error_set(err, FW_ERR_IO, "output", "the picture could not be written: %s", strerror(errno));
    }
    if (enc->sequence) {
        char zip_path[PATH_MAX_LEN + 8];
        snprintf(zip_path, sizeof(zip_path), "%s.zip", enc->temp_path);
        e = write_zip(enc, zip_path, err);
        if (e != FW_OK)
            return e;
        if (rename(zip_path, enc->final_path) != 0) {
            int en = errno;
            unlink(zip_path);
            return fw_error_set(err, FW_ERR_IO, "output", "cannot move the zip to %s: %s", enc->final_path,
                                strerror(en));
        }
        remove_temp(enc);
        return FW_OK;
    }
    if (rename(enc->temp_path, enc->final_path) != 0)
        return fw_error_set(err, FW_ERR_IO, "output", "cannot move the output to %s: %s", enc->final_path,
                            strerror(errno));
    enc->temp_path[0] = '\0';
    return FW_OK;
}

static void release_outputs(fw_encoder *enc)
{
    if (enc->format) {
        if (enc->format->pb)
            avio_closep(&enc->format->pb);
        avformat_free_context(enc->format);
        enc->format = NULL;
    }
    if (enc->still_file) {
        fclose(enc->still_file);
        enc->still_file = NULL;
    }
    remove_temp(enc);
}

fw_err fw_encoder_finish(fw_encoder *enc, fw_error *err)
{
    if (enc->state != STATE_OPEN)
        return not_open(enc, err);
    stop_thread(enc, 0);
    fw_err e;
    if (enc->failed) {
        if (err)
            *err = enc->thread_error;
        e = enc->thread_error.code;
    } else if (enc->free_count != enc->buffer_count) {
        e = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "frame",
                         "a frame was acquired but not submitted before finish");
    } else if (enc->submitted == 0) {
        e = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "frames", "no frames were submitted");
    } else {
        e = complete_output(enc, err);
    }
    release_outputs(enc);
    enc->state = e == FW_OK ? STATE_FINISHED : STATE_ABORTED;
    return e;
}

void fw_encoder_abort(fw_encoder *enc)
{
    if (!enc || enc->state != STATE_OPEN)
        return;
    stop_thread(enc, 1);
    release_outputs(enc);
    enc->state = STATE_ABORTED;
}

void fw_encoder_free(fw_encoder **encp)
{
    fw_encoder *enc = encp ? *encp : NULL;
    if (!enc)
        return;
    fw_encoder_abort(enc);
    avcodec_free_context(&enc->avctx);
    avcodec_free_context(&enc->audio_ctx);
    av_frame_free(&enc->audio_frame);
    av_packet_free(&enc->audio_packet);
    free(enc->audio_samples);
    av_frame_free(&enc->frame);
    av_packet_free(&enc->packet);
    sws_freeContext(enc->sws);
    for (int i = 0; i < 4; i++)
        av_buffer_pool_uninit(&enc->pools[i]);
    av_freep(&enc->scratch);
    free(enc->quantizer);
    for (int i = 0; i < MAX_BUFFERS; i++)
        av_freep(&enc->frames[i].pixels);
    pthread_cond_destroy(&enc->slot_freed);
    pthread_cond_destroy(&enc->work_queued);
    pthread_mutex_destroy(&enc->lock);
    free(enc);
    *encp = NULL;
}
