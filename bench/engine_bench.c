/*
 * engine_bench.c - how fast each render engine draws, next to the encoder.
 *
 * For each Lottie file, in one run on the same machine: every engine draws
 * the same frames (spread over the whole animation) at the output size on
 * one thread, and x264 with preset veryfast encodes the frames one engine
 * drew, at the same size. The ratio engine fps / x264 fps is what matters
 * on a shared, noisy machine: the engine should stay well ahead of the
 * encoder (target: the corpus median >= 2).
 *
 *   engine_bench [--width W] [--height H] [--frames N] [--engine NAME]... FILE...
 *
 * Engines default to every engine there is; the first one's frames feed
 * the encoder.
 */
#include <jansson.h>
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/render/engine.h"
#include "server/template/template.h"
#include "server/text/fonts.h"
#include "server/util/fs.h"
#include "server/work/render_job.h"

#define MAX_ENGINES 4

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Frames per second one engine draws this file at; 0 when it cannot. kept (when not NULL) gets the
 * frames. */
static double engine_fps(const char *path, const char *engine_name, int width, int height, int frames,
                         uint32_t **kept, const char *scratch, char *why, size_t why_len)
{
    fw_template *tpl = NULL;
    fw_fontset *fonts = NULL;
    fw_engine *engine = NULL;
    fw_engine_info info;
    json_t *doc = NULL;
    size_t stride = (size_t)width * 4;
    uint32_t *buf = malloc(stride * (size_t)height);
    fw_error err;
    double t, fps = 0;

    fw_error_clear(&err);
    if (!buf || fw_template_load(&tpl, path, scratch, NULL, &err) ||
        fw_template_select_composition(tpl, NULL, &doc, &err) || fw_fontset_new(&fonts, NULL, &err) ||
        fw_render_load_engine(&engine, engine_name, doc, fonts, fw_template_dir(tpl), NULL, &err)) {
        snprintf(why, why_len, "%s", err.message);
        goto done;
    }
    fw_engine_get_info(engine, &info);
    /* Draw one frame first: loading work some engines defer is not drawing. */
    if (fw_engine_render(engine, 0, buf, width, height, stride, &err)) {
        snprintf(why, why_len, "%s", err.message);
        goto done;
    }
    t = now();
    for (int i = 0; i < frames; i++) {
        int frame = (int)((long)i * info.frame_count / frames);
        uint32_t *dst = kept ? kept[i] : buf;
        if (fw_engine_render(engine, frame, dst, width, height, stride, &err)) {
            snprintf(why, why_len, "%s", err.message);
            goto done;
        }
    }
    fps = frames / (now() - t);
done:
    free(buf);
    fw_engine_free(&engine);
    fw_fontset_free(&fonts);
    json_decref(doc);
    fw_template_free(&tpl);
    return fps;
}

/* x264 veryfast on these frames, as a render job would feed it (BGRA -> yuv420p included). */
static double x264_fps(uint32_t **kept, int frames, int width, int height)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    AVCodecContext *ctx = codec ? avcodec_alloc_context3(codec) : NULL;
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = NULL;
    double t, fps = 0;

    if (!ctx || !frame || !pkt)
        goto done;
    ctx->width = width;
    ctx->height = height;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = (AVRational){1, 30};
    ctx->framerate = (AVRational){30, 1};
    av_opt_set(ctx->priv_data, "preset", "veryfast", 0);
    av_opt_set(ctx->priv_data, "crf", "20", 0);
    if (avcodec_open2(ctx, codec, NULL) < 0)
        goto done;
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = width;
    frame->height = height;
    if (av_frame_get_buffer(frame, 0) < 0)
        goto done;
    sws = sws_getContext(width, height, AV_PIX_FMT_BGRA, width, height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL,
                         NULL);
    if (!sws)
        goto done;
    t = now();
    for (int i = 0; i <= frames; i++) {
        if (i < frames) {
            const uint8_t *src[1] = {(const uint8_t *)kept[i]};
            int src_stride[1] = {width * 4};
            av_frame_make_writable(frame);
            sws_scale(sws, src, src_stride, 0, height, frame->data, frame->linesize);
            frame->pts = i;
        }
        if (avcodec_send_frame(ctx, i < frames ? frame : NULL) < 0)
            goto done;
        while (avcodec_receive_packet(ctx, pkt) == 0)
            av_packet_unref(pkt);
    }
    fps = frames / (now() - t);
done:
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&ctx);
    return fps;
}

int main(int argc, char **argv)
{
    int width = 1920, height = 1080, frames = 30, nfiles = 0, nengines = 0;
    const char *engines[MAX_ENGINES], **files = calloc((size_t)argc, sizeof(char *));
    double *fps[MAX_ENGINES], *ratio[MAX_ENGINES], *enc;
    char scratch[4096], why[512];
    fw_error err;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--width") == 0 && i + 1 < argc)
            width = atoi(argv[++i]);
        else if (strcmp(argv[i], "--height") == 0 && i + 1 < argc)
            height = atoi(argv[++i]);
        else if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc)
            frames = atoi(argv[++i]);
        else if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc && nengines < MAX_ENGINES)
            engines[nengines++] = argv[++i];
        else
            files[nfiles++] = argv[i];
    }
    if (nfiles == 0 || width <= 0 || height <= 0 || frames <= 0 || width % 2 || height % 2) {
        fprintf(stderr, "usage: engine_bench [--width W] [--height H] [--frames N] [--engine NAME]... FILE...\n");
        return 2;
    }
    if (nengines == 0) {
        engines[nengines++] = "cairo";
        engines[nengines++] = "rlottie";
    }
    for (int e = 0; e < nengines; e++) {
        if (!fw_engine_find(engines[e])) {
            fprintf(stderr, "engine_bench: no engine '%s'; engines: %s\n", engines[e], fw_engine_names());
            return 2;
        }
        fps[e] = calloc((size_t)nfiles, sizeof(double));
        ratio[e] = calloc((size_t)nfiles, sizeof(double));
    }
    enc = calloc((size_t)nfiles, sizeof(double));
    av_log_set_level(AV_LOG_ERROR);
    fw_error_clear(&err);
    if (fw_make_temp_dir(NULL, "fw-engine-bench-", scratch, sizeof(scratch), &err)) {
        fprintf(stderr, "engine_bench: %s\n", err.message);
        return 1;
    }
    uint32_t **kept = calloc((size_t)frames, sizeof(*kept));
    for (int i = 0; i < frames; i++)
        kept[i] = malloc((size_t)width * 4 * (size_t)height);

    printf("%dx%d, %d frames per file spread over the animation, engines on one thread; x264 veryfast crf 20\n\n",
           width, height, frames);
    printf("| file |");
    for (int e = 0; e < nengines; e++)
        printf(" %s fps |", engines[e]);
    printf(" x264 fps |");
    for (int e = 0; e < nengines; e++)
        printf(" %s / x264 |", engines[e]);
    printf("\n|---|");
    for (int e = 0; e < 2 * nengines + 1; e++)
        printf("---:|");
    printf("\n");
    int n[MAX_ENGINES] = {0}, nenc = 0;
    for (int i = 0; i < nfiles; i++) {
        const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
        double f[MAX_ENGINES], x;
        for (int e = 0; e < nengines; e++) {
            why[0] = '\0';
            f[e] = engine_fps(files[i], engines[e], width, height, frames, e == 0 ? kept : NULL, scratch, why,
                              sizeof(why));
            if (f[e] <= 0)
                fprintf(stderr, "engine_bench: %s: %s: %s\n", base, engines[e], why);
        }
        x = f[0] > 0 ? x264_fps(kept, frames, width, height) : 0;
        printf("| %s |", base);
        for (int e = 0; e < nengines; e++)
            printf(f[e] > 0 ? " %.1f |" : " — |", f[e]);
        printf(x > 0 ? " %.1f |" : " — |", x);
        for (int e = 0; e < nengines; e++)
            printf(f[e] > 0 && x > 0 ? " %.2f |" : " — |", x > 0 ? f[e] / x : 0);
        printf("\n");
        fflush(stdout);
        for (int e = 0; e < nengines; e++)
            if (f[e] > 0) {
                fps[e][n[e]] = f[e];
                if (x > 0)
                    ratio[e][n[e]] = f[e] / x;
                n[e]++;
            }
        if (x > 0)
            enc[nenc++] = x;
    }
    printf("| **median** |");
    for (int e = 0; e < nengines; e++)
        printf(" %.1f |", median(fps[e], n[e]));
    printf(" %.1f |", median(enc, nenc));
    for (int e = 0; e < nengines; e++)
        printf(" %.2f |", median(ratio[e], n[e]));
    printf("\n");
    for (int i = 0; i < frames; i++)
        free(kept[i]);
    free(kept);
    for (int e = 0; e < nengines; e++) {
        free(fps[e]);
        free(ratio[e]);
    }
    free(enc);
    free(files);
    fw_remove_tree(scratch);
    return 0;
}
