/*
 * probe.c - open a media file with libavformat, describe its video stream and
 * decode pictures to RGBA. Simple rather than fast: decoding frame K reads
 * from the start, which is what tests and single-picture assets need.
 */
#include "server/media/probe.h"
#include "server/media/input.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct reader {
    AVFormatContext *format;
    AVCodecContext *avctx;
    AVStream *stream;
    AVPacket *packet;
    AVFrame *frame;
    int draining;
} reader;

static void reader_close(reader *r)
{
    avcodec_free_context(&r->avctx);
    avformat_close_input(&r->format);
    av_packet_free(&r->packet);
    av_frame_free(&r->frame);
}

static fw_err av_failure(fw_error *err, fw_err code, const char *field, const char *what, int averr)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, reason, sizeof(reason));
    return fw_error_set(err, code, field, "%s: %s", what, reason);
}

/* libvpx keeps VP9's alpha plane (stored beside the picture in WebM);
 * FFmpeg's native VP9 decoder ignores it. */
static const AVCodec *choose_decoder(const AVStream *st)
{
    const AVDictionaryEntry *alpha = av_dict_get(st->metadata, "alpha_mode", NULL, 0);
    if (st->codecpar->codec_id == AV_CODEC_ID_VP9 && alpha && strcmp(alpha->value, "1") == 0) {
        const AVCodec *vpx = avcodec_find_decoder_by_name("libvpx-vp9");
        if (vpx)
            return vpx;
    }
    return avcodec_find_decoder(st->codecpar->codec_id);
}

static fw_err reader_open(reader *r, const char *path, fw_error *err)
{
    struct stat st;
    int rc;
    memset(r, 0, sizeof(*r));
    if (stat(path, &st) != 0)
        return fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, "path", "cannot open %s: %s", path,
                            strerror(errno));
    rc = fw_media_open_input(&r->format, path, NULL);
    if (rc < 0)
        return av_failure(err, FW_ERR_INVALID, "path", "not a media file FFmpeg can read", rc);
    rc = avformat_find_stream_info(r->format, NULL);
    if (rc < 0)
        return av_failure(err, FW_ERR_INVALID, "path", "the media file could not be analysed", rc);
    rc = av_find_best_stream(r->format, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (rc < 0)
        return fw_error_set(err, FW_ERR_INVALID, "path", "%s has no pictures", path);
    r->stream = r->format->streams[rc];
    if (r->stream->codecpar->codec_id == AV_CODEC_ID_WEBP && r->stream->codecpar->width == 0)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "path", "animated WebP cannot be decoded by this FFmpeg");
    const AVCodec *decoder = choose_decoder(r->stream);
    if (!decoder)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "path", "no decoder for %s",
                            avcodec_get_name(r->stream->codecpar->codec_id));
    r->avctx = avcodec_alloc_context3(decoder);
    r->packet = av_packet_alloc();
    r->frame = av_frame_alloc();
    if (!r->avctx || !r->packet || !r->frame)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening %s", path);
    avcodec_parameters_to_context(r->avctx, r->stream->codecpar);
    r->avctx->pkt_timebase = r->stream->time_base;
    rc = avcodec_open2(r->avctx, decoder, NULL);
    if (rc < 0)
        return av_failure(err, FW_ERR_INVALID, "path", "the decoder would not start", rc);
    return FW_OK;
}

/* The next decoded picture into r->frame: 1, or 0 at the end. */
static int reader_next(reader *r, fw_error *err, fw_err *e)
{
    *e = FW_OK;
    for (;;) {
        int rc = avcodec_receive_frame(r->avctx, r->frame);
        if (rc == 0)
            return 1;
        if (rc == AVERROR_EOF)
            return 0;
        if (rc != AVERROR(EAGAIN)) {
            *e = av_failure(err, FW_ERR_INVALID, "path", "a picture could not be decoded", rc);
            return 0;
        }
        if (r->draining)
            return 0;
        rc = av_read_frame(r->format, r->packet);
        if (rc < 0) {
            r->draining = 1;
            avcodec_send_packet(r->avctx, NULL);
            continue;
        }
        if (r->packet->stream_index == r->stream->index) {
            rc = avcodec_send_packet(r->avctx, r->packet);
            if (rc < 0 && rc != AVERROR(EAGAIN)) {
                av_packet_unref(r->packet);
                *e = av_failure(err, FW_ERR_INVALID, "path", "a packet could not be decoded", rc);
                return 0;
            }
        }
        av_packet_unref(r->packet);
    }
}

static int is_still_container(const AVFormatContext *f)
{
    return strstr(f->iformat->name, "_pipe") || strcmp(f->iformat->name, "image2") == 0;
}

static int frame_has_transparency(const AVFrame *f)
{
    if (f->format != AV_PIX_FMT_BGRA && f->format != AV_PIX_FMT_RGBA)
        return 1;
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++)
            if (f->data[0][(size_t)y * f->linesize[0] + (size_t)x * 4 + 3] != 255)
                return 1;
    return 0;
}

static int64_t count_packets(reader *r)
{
    int64_t n = 0;
    if (avformat_seek_file(r->format, r->stream->index, INT64_MIN, 0, 0, AVSEEK_FLAG_BACKWARD) < 0)
        return 0;
    while (av_read_frame(r->format, r->packet) >= 0) {
        if (r->packet->stream_index == r->stream->index)
            n++;
        av_packet_unref(r->packet);
    }
    return n;
}

fw_err fw_media_probe(const char *path, fw_media_info *info, fw_error *err)
{
    reader r;
    fw_err e;
    memset(info, 0, sizeof(*info));
    e = reader_open(&r, path, err);
    if (e != FW_OK) {
        reader_close(&r);
        return e;
    }
    const AVCodecParameters *par = r.stream->codecpar;
    snprintf(info->codec, sizeof(info->codec), "%s", avcodec_get_name(par->codec_id));
    snprintf(info->container, sizeof(info->container), "%.*s", (int)strcspn(r.format->iformat->name, ","),
             r.format->iformat->name);
    info->width = par->width;
    info->height = par->height;
    info->bit_rate = par->bit_rate > 0 ? par->bit_rate : r.format->bit_rate;
    int still = is_still_container(r.format);
    AVRational rate = r.stream->avg_frame_rate.num > 0 ? r.stream->avg_frame_rate : r.stream->r_frame_rate;
    info->fps_num = still ? 0 : rate.num;
    info->fps_den = still || rate.den <= 0 ? 1 : rate.den;
    info->duration = still || r.format->duration <= 0 ? 0 : r.format->duration / (double)AV_TIME_BASE;

    if (!reader_next(&r, err, &e)) {
        if (e == FW_OK)
            e = fw_error_set(err, FW_ERR_INVALID, "path", "%s holds no decodable picture", path);
        reader_close(&r);
        return e;
    }
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(r.frame->format);
    snprintf(info->pixel_format, sizeof(info->pixel_format), "%s", d ? d->name : "none");
    /* GIF decodes to BGRA whether or not it uses transparency; ask the picture. */
    info->has_alpha = d && (d->flags & AV_PIX_FMT_FLAG_ALPHA) &&
                      (par->codec_id != AV_CODEC_ID_GIF || frame_has_transparency(r.frame));
    info->frame_count = still ? 1 : r.stream->nb_frames > 0 ? r.stream->nb_frames : count_packets(&r);
    reader_close(&r);
    return FW_OK;
}

static fw_err to_rgba(const AVFrame *f, uint8_t **rgba, fw_error *err)
{
    int full = f->color_range == AVCOL_RANGE_JPEG || f->format == AV_PIX_FMT_YUVJ420P ||
               f->format == AV_PIX_FMT_YUVJ422P || f->format == AV_PIX_FMT_YUVJ444P;
    struct SwsContext *sws = sws_getContext(f->width, f->height, f->format, f->width, f->height, AV_PIX_FMT_RGBA,
                                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!sws)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "path", "cannot convert %s pictures to RGBA",
                            av_get_pix_fmt_name(f->format));
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    if (!(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL))) {
        const int *src = sws_getCoefficients(f->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : f->colorspace);
        sws_setColorspaceDetails(sws, src, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    }
    size_t size = (size_t)f->width * (size_t)f->height * 4;
    *rgba = malloc(size);
    if (!*rgba) {
        sws_freeContext(sws);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for a %dx%d picture", f->width, f->height);
    }
    uint8_t *dst[4] = {*rgba, NULL, NULL, NULL};
    int dst_stride[4] = {f->width * 4, 0, 0, 0};
    sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride);
    sws_freeContext(sws);
    return FW_OK;
}

fw_err fw_media_decode_frame(const char *path, int64_t index, uint8_t **rgba, int *width, int *height,
                             fw_error *err)
{
    reader r;
    fw_err e;
    *rgba = NULL;
    *width = *height = 0;
    if (index < 0)
        return fw_error_set(err, FW_ERR_INVALID, "frame", "frame %lld is negative", (long long)index);
    e = reader_open(&r, path, err);
    for (int64_t i = 0; e == FW_OK; i++) {
        if (!reader_next(&r, err, &e)) {
            if (e == FW_OK)
                e = fw_error_set(err, FW_ERR_INVALID, "frame", "frame %lld is past the end (%lld frames)",
                                 (long long)index, (long long)i);
            break;
        }
        if (i == index) {
            e = to_rgba(r.frame, rgba, err);
            if (e == FW_OK) {
                *width = r.frame->width;
                *height = r.frame->height;
            }
            break;
        }
        av_frame_unref(r.frame);
    }
    reader_close(&r);
    return e;
}

fw_err fw_image_read(const char *path, uint8_t **rgba, int *width, int *height, fw_error *err)
{
    return fw_media_decode_frame(path, 0, rgba, width, height, err);
}

fw_err fw_media_probe_sound(const char *path, double *duration, int *rate, int *channels, fw_error *err)
{
    AVFormatContext *format = NULL;
    struct stat st;
    int rc;

    *duration = 0;
    *rate = *channels = 0;
    if (stat(path, &st) != 0)
        return fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, "path", "cannot open %s: %s", path,
                            strerror(errno));
    if ((rc = fw_media_open_input(&format, path, NULL)) < 0)
        return av_failure(err, FW_ERR_INVALID, "path", "not a media file FFmpeg can read", rc);
    if ((rc = avformat_find_stream_info(format, NULL)) < 0) {
        avformat_close_input(&format);
        return av_failure(err, FW_ERR_INVALID, "path", "the media file could not be analysed", rc);
    }
    rc = av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (rc < 0) {
        avformat_close_input(&format);
        return fw_error_set(err, FW_ERR_INVALID, "path", "the file has no sound (no audio stream)");
    }
    AVStream *s = format->streams[rc];
    if (!avcodec_find_decoder(s->codecpar->codec_id)) {
        rc = fw_error_set(err, FW_ERR_UNSUPPORTED, "path", "no decoder for %s sound",
                          avcodec_get_name(s->codecpar->codec_id));
        avformat_close_input(&format);
        return rc;
    }
    if (s->duration != AV_NOPTS_VALUE && s->duration > 0)
        *duration = (double)s->duration * av_q2d(s->time_base);
    else if (format->duration != AV_NOPTS_VALUE && format->duration > 0)
        *duration = (double)format->duration / AV_TIME_BASE;
    *rate = s->codecpar->sample_rate;
    *channels = s->codecpar->ch_layout.nb_channels;
    avformat_close_input(&format);
    return FW_OK;
}
