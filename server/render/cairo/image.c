/*
 * image.c - image assets into Cairo surfaces; see image.h.
 *
 * Pictures are decoded with FFmpeg's still-image decoders, so any format
 * the render pipeline's FFmpeg reads works here, and converted with
 * libswscale to straight BGRA, then premultiplied for Cairo. Sizes are
 * limited so a hostile file cannot ask for gigabytes.
 */
#include "server/render/cairo/image.h"

#include <cairo.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/util/fetch.h"
#include "server/util/fs.h"

#define LT_IMAGE_MAX_SIDE 16384
#define LT_IMAGE_MAX_FILE ((size_t)256 << 20)

static enum AVCodecID sniff(const unsigned char *d, size_t n)
{
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return AV_CODEC_ID_PNG;
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
        return AV_CODEC_ID_MJPEG;
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return AV_CODEC_ID_WEBP;
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return AV_CODEC_ID_GIF;
    return AV_CODEC_ID_NONE;
}

static cairo_surface_t *frame_to_surface(const AVFrame *f)
{
    cairo_surface_t *s;
    struct SwsContext *sws;
    unsigned char *data;
    int stride;

    if (f->width <= 0 || f->height <= 0 || f->width > LT_IMAGE_MAX_SIDE || f->height > LT_IMAGE_MAX_SIDE)
        return NULL;
    s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, f->width, f->height);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return NULL;
    }
    data = cairo_image_surface_get_data(s);
    stride = cairo_image_surface_get_stride(s);
    /* JPEG's full-range YUV formats are deprecated names for YUV with a full range. */
    enum AVPixelFormat format = f->format;
    int full_range = f->color_range == AVCOL_RANGE_JPEG;
    switch (format) {
    case AV_PIX_FMT_YUVJ420P: format = AV_PIX_FMT_YUV420P, full_range = 1; break;
    case AV_PIX_FMT_YUVJ422P: format = AV_PIX_FMT_YUV422P, full_range = 1; break;
    case AV_PIX_FMT_YUVJ444P: format = AV_PIX_FMT_YUV444P, full_range = 1; break;
    case AV_PIX_FMT_YUVJ440P: format = AV_PIX_FMT_YUV440P, full_range = 1; break;
    default: break;
    }
    sws = sws_getContext(f->width, f->height, format, f->width, f->height, AV_PIX_FMT_BGRA, SWS_BILINEAR, NULL,
                         NULL, NULL);
    if (sws && full_range)
        sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_DEFAULT), 1, sws_getCoefficients(SWS_CS_DEFAULT), 1,
                                 0, 1 << 16, 1 << 16);
    if (!sws) {
        cairo_surface_destroy(s);
        return NULL;
    }
    uint8_t *dst[4] = {data, NULL, NULL, NULL};
    int dst_stride[4] = {stride, 0, 0, 0};
    sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride);
    sws_freeContext(sws);
    /* BGRA in memory is Cairo's ARGB32 on little-endian machines; premultiply. */
    for (int y = 0; y < f->height; y++) {
        unsigned char *p = data + (size_t)y * (size_t)stride;
        for (int x = 0; x < f->width; x++, p += 4) {
            unsigned a = p[3];
            if (a == 255)
                continue;
            p[0] = (unsigned char)((p[0] * a + 127) / 255);
            p[1] = (unsigned char)((p[1] * a + 127) / 255);
            p[2] = (unsigned char)((p[2] * a + 127) / 255);
        }
    }
    cairo_surface_mark_dirty(s);
    return s;
}

void *lt_image_decode(const unsigned char *data, size_t len)
{
    enum AVCodecID id = sniff(data, len);
    const AVCodec *codec = id != AV_CODEC_ID_NONE ? avcodec_find_decoder(id) : NULL;
    AVCodecContext *ctx = NULL;
    AVPacket *pkt = NULL;
    AVFrame *frame = NULL;
    cairo_surface_t *s = NULL;

    if (!codec || len > LT_IMAGE_MAX_FILE || len > INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE)
        return NULL;
    ctx = avcodec_alloc_context3(codec);
    pkt = av_packet_alloc();
    frame = av_frame_alloc();
    if (!ctx || !pkt || !frame || avcodec_open2(ctx, codec, NULL) < 0)
        goto done;
    if (av_new_packet(pkt, (int)len) < 0)
        goto done;
    memcpy(pkt->data, data, len);
    if (avcodec_send_packet(ctx, pkt) < 0)
        goto done;
    avcodec_send_packet(ctx, NULL);
    if (avcodec_receive_frame(ctx, frame) == 0)
        s = frame_to_surface(frame);
done:
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
    return s;
}

void lt_image_load(lt_doc *doc, lt_image *im, const char *resource_dir)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    char what[300];

    if (im->surface || im->external || im->footage || !im->path)
        return;
    if (fw_fetch_is_data_url(im->path)) {
        if (fw_fetch_data_url(im->path, LT_IMAGE_MAX_FILE, &bytes, &len, "assets", NULL) != FW_OK)
            bytes = NULL;
    } else {
        char full[PATH_MAX];
        if (im->path[0] != '/' && resource_dir)
            snprintf(full, sizeof(full), "%s/%s", resource_dir, im->path);
        else
            snprintf(full, sizeof(full), "%s", im->path);
        /* A relative path that climbs out of the resource folder is not read. */
        if (strstr(im->path, "..") == NULL || im->path[0] == '/')
            bytes = (unsigned char *)fw_read_file(full, LT_IMAGE_MAX_FILE, &len, NULL);
    }
    if (bytes)
        im->surface = lt_image_decode(bytes, len);
    free(bytes);
    if (!im->surface) {
        snprintf(what, sizeof(what), "image '%s' could not be read", im->id ? im->id : "?");
        lt_doc_unsupported(doc, what);
    }
}

void lt_image_unload(lt_image *im)
{
    if (im->surface)
        cairo_surface_destroy(im->surface);
    im->surface = NULL;
    im->serial = 0;
}

fw_err lt_image_show_picture(lt_image *im, double seconds, fw_error *err)
{
    const uint32_t *pixels;
    int width, height;
    size_t stride;
    int64_t serial;
    fw_err rc;

    if ((rc = im->picture(im->picture_user, seconds, &pixels, &width, &height, &stride, &serial, err)))
        return rc;
    if (im->surface && serial == im->serial)
        return FW_OK;
    if (im->surface)
        cairo_surface_destroy(im->surface);
    /* Drawn from the footage's own buffer: no copy. */
    im->surface = cairo_image_surface_create_for_data((unsigned char *)pixels, CAIRO_FORMAT_ARGB32, width, height,
                                                      (int)stride);
    if (cairo_surface_status(im->surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(im->surface);
        im->surface = NULL;
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "cannot show a %dx%d picture", width, height);
    }
    im->serial = serial;
    return FW_OK;
}

fw_err lt_image_set_pixels(lt_image *im, const uint32_t *pixels, int width, int height, size_t stride,
                           fw_error *err)
{
    cairo_surface_t *s = im->surface;
    unsigned char *data;
    int dst_stride;

    if (width <= 0 || height <= 0 || width > LT_IMAGE_MAX_SIDE || height > LT_IMAGE_MAX_SIDE ||
        stride < (size_t)width * 4)
        return fw_error_set(err, FW_ERR_INVALID, "image", "bad image buffer %dx%d stride %zu", width, height, stride);
    if (!s || cairo_image_surface_get_width(s) != width || cairo_image_surface_get_height(s) != height) {
        if (s)
            cairo_surface_destroy(s);
        im->surface = s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
        if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
            cairo_surface_destroy(s);
            im->surface = NULL;
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for a %dx%d image", width, height);
        }
    }
    im->external = 1;
    cairo_surface_flush(s);
    data = cairo_image_surface_get_data(s);
    dst_stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < height; y++)
        memcpy(data + (size_t)y * (size_t)dst_stride, (const unsigned char *)pixels + (size_t)y * stride,
               (size_t)width * 4);
    cairo_surface_mark_dirty(s);
    return FW_OK;
}
