/*
 * render_bench.c - how fast the render pipeline is, and where the time goes.
 *
 * For each template, in one run on the same machine:
 *   render    the engine alone drawing N frames at the output size;
 *   encode    the encoder alone taking the same N frames, already in memory,
 *             with the same settings (copying each into the encoder's buffer);
 *   e2e       the whole pipeline (fw_render_job): template load, assets,
 *             text, render and encode overlapping, the file moved into place;
 *   preview   the same job with "preview": true.
 * The ratios are what matter on a shared, noisy machine: e2e / encode (the
 * pipeline should keep the encoder busy: target >= 0.9) and preview / e2e
 * speed-up (target >= 4).
 *
 *   render_bench [--width W] [--height H] [--frames N] [--codec NAME] FILE...
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/jobs/job.h"
#include "server/media/codec.h"
#include "server/media/encoder.h"
#include "server/media/media_log.h"
#include "server/render/engine.h"
#include "server/template/template.h"
#include "server/text/fonts.h"
#include "server/util/fs.h"
#include "server/work/render_job.h"

typedef struct row {
    const char *name;
    int frames;
    double render_fps, encode_fps, e2e_fps, preview_fps;
    double e2e_peak_mib;
} row;

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
    qsort(v, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void fail(const char *what, const fw_error *err)
{
    char text[1024];
    fprintf(stderr, "render_bench: %s: %s\n", what, fw_error_text(err, text, sizeof(text)));
    exit(1);
}

/* Render-only and encode-only figures for one template. */
static void measure_parts(const char *path, int width, int height, int frames, const fw_codec *codec, row *r,
                          const char *scratch)
{
    fw_template *tpl = NULL;
    fw_fontset *fonts = NULL;
    fw_engine *engine = NULL;
    fw_engine_info info;
    fw_encoder *enc = NULL;
    fw_encoder_options opts;
    json_t *doc = NULL;
    uint32_t **kept;
    size_t stride = (size_t)width * 4;
    char out[4096];
    fw_error err;
    double t;

    fw_error_clear(&err);
    if (fw_template_load(&tpl, path, scratch, NULL, &err) ||
        fw_template_select_composition(tpl, NULL, &doc, &err) || fw_fontset_new(&fonts, NULL, &err) ||
        fw_render_load_engine(&engine, NULL, doc, fonts, fw_template_dir(tpl), NULL, &err))
        fail(path, &err);
    fw_engine_get_info(engine, &info);

    kept = calloc((size_t)frames, sizeof(*kept));
    for (int i = 0; i < frames; i++)
        kept[i] = malloc(stride * (size_t)height);

    t = now();
    for (int i = 0; i < frames; i++)
        if (fw_engine_render(engine, i, kept[i], width, height, stride, &err))
            fail(path, &err);
    r->render_fps = frames / (now() - t);

    memset(&opts, 0, sizeof(opts));
    opts.codec = codec;
    opts.width = width;
    opts.height = height;
    opts.fps_num = (int)(info.fps * 1000 + 0.5);
    opts.fps_den = 1000;
    opts.quality = FW_QUALITY_FULL;
    snprintf(out, sizeof(out), "%s/encode-only.%s", scratch, codec->extension);
    opts.output_path = out;
    opts.frame_count = frames;
    t = now();
    if (fw_encoder_open(&enc, &opts, &err))
        fail("encoder", &err);
    for (int i = 0; i < frames; i++) {
        fw_frame *f;
        if (fw_encoder_frame_acquire(enc, &f, &err))
            fail("encoder", &err);
        for (int y = 0; y < height; y++)
            memcpy((char *)f->pixels + (size_t)y * (size_t)f->stride, (char *)kept[i] + (size_t)y * stride, stride);
        if (fw_encoder_frame_submit(enc, f, &err))
            fail("encoder", &err);
    }
    if (fw_encoder_finish(enc, &err))
        fail("encoder", &err);
    r->encode_fps = frames / (now() - t);
    fw_encoder_free(&enc);
    unlink(out);

    for (int i = 0; i < frames; i++)
        free(kept[i]);
    free(kept);
    fw_engine_free(&engine);
    fw_fontset_free(&fonts);
    json_decref(doc);
    fw_template_free(&tpl);
}

/* Frames to render from this template: at most `frames`. */
static int frames_of(const char *path, int frames, const char *scratch)
{
    fw_template *tpl = NULL;
    json_t *info = NULL;
    fw_error err;
    int count;

    fw_error_clear(&err);
    if (fw_template_load(&tpl, path, scratch, NULL, &err) || fw_template_introspect(tpl, &info, &err))
        fail(path, &err);
    count = (int)json_number_value(json_object_get(json_array_get(json_object_get(info, "compositions"), 0), "frames"));
    json_decref(info);
    fw_template_free(&tpl);
    return count < frames ? count : frames;
}

/* The whole pipeline on a job for this template, in this process. */
static double measure_job_here(const char *path, int width, int height, int frames, const char *codec, int preview,
                          const char *scratch)
{
    char text[8192], out[4096];
    fw_render_request req;
    fw_render_result res;
    fw_job_spec *job = NULL;
    fw_error err;
    double t, fps;

    snprintf(text, sizeof(text),
             "{\"template\":{\"src\":\"%s\"},\"preview\":%s,\"settings\":{\"codec\":\"%s\",\"frames\":[0,%d]}}", path,
             preview ? "true" : "false", codec, frames - 1);
    fw_error_clear(&err);
    if (fw_job_parse(&job, text, strlen(text), &err))
        fail(path, &err);
    snprintf(out, sizeof(out), "%s/e2e.mp4", scratch);
    memset(&req, 0, sizeof(req));
    req.job = job;
    req.output_path = out;
    req.work_root = scratch;
    req.allow_local_files = 1;
    req.width = width;
    req.height = height;
    t = now();
    if (fw_render_job(&req, &res, &err))
        fail(path, &err);
    fps = res.frames / (now() - t);
    fw_render_result_clear(&res);
    fw_job_spec_free(&job);
    unlink(out);
    return fps;
}

/* The same in a fresh process of this program (run with --one-job), so that
 * its peak memory is the pipeline's own: *peak_mib gets the child's maximum
 * resident size. A fresh exec, not a bare fork: this process has threads. */
static double measure_job(const char *path, int width, int height, int frames, const char *codec, int preview,
                          const char *scratch, double *peak_mib)
{
    char args[5][32];
    struct rusage usage;
    double fps = 0;
    int fds[2], status;
    pid_t child;
    FILE *in;

    if (pipe(fds) != 0)
        return 0;
    snprintf(args[0], sizeof(args[0]), "%d", width);
    snprintf(args[1], sizeof(args[1]), "%d", height);
    snprintf(args[2], sizeof(args[2]), "%d", frames);
    snprintf(args[3], sizeof(args[3]), "%d", preview);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "render_bench", "--one-job", path, args[0], args[1], args[2], codec, args[3], scratch,
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    in = fdopen(fds[0], "r");
    if (child < 0 || !in || fscanf(in, "%lf", &fps) != 1)
        fps = 0;
    if (in)
        fclose(in);
    else
        close(fds[0]);
    if (child > 0 && wait4(child, &status, 0, &usage) == child && peak_mib)
        *peak_mib = usage.ru_maxrss / 1024.0;
    if (fps <= 0) {
        fprintf(stderr, "render_bench: %s: the render failed\n", path);
        exit(1);
    }
    return fps;
}

int main(int argc, char **argv)
{
    int width = 1920, height = 1080, frames = 60, nfiles = 0;
    const char *codec_name = "video_h264_vbr_15mbps";
    const fw_codec *codec;
    char scratch[4096];
    row *rows;
    fw_error err;
    double *col[5];
    double pipeline_peak = 0;

    if (argc == 9 && strcmp(argv[1], "--one-job") == 0) {
        fw_media_log_init();
        printf("%f\n", measure_job_here(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), argv[6],
                                        atoi(argv[7]), argv[8]));
        return 0;
    }
    rows = calloc((size_t)argc, sizeof(*rows));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--width") == 0 && i + 1 < argc)
            width = atoi(argv[++i]);
        else if (strcmp(argv[i], "--height") == 0 && i + 1 < argc)
            height = atoi(argv[++i]);
        else if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc)
            frames = atoi(argv[++i]);
        else if (strcmp(argv[i], "--codec") == 0 && i + 1 < argc)
            codec_name = argv[++i];
        else
            rows[nfiles++].name = argv[i];
    }
    if (nfiles == 0 || width <= 0 || height <= 0 || frames <= 0) {
        fprintf(stderr, "usage: render_bench [--width W] [--height H] [--frames N] [--codec NAME] FILE...\n");
        return 2;
    }
    fw_media_log_init();
    fw_error_clear(&err);
    if (fw_codec_find(codec_name, FW_CODEC_VIDEO, &codec, &err))
        fail("--codec", &err);
    if (fw_make_temp_dir(NULL, "fw-bench-", scratch, sizeof(scratch), &err))
        fail("scratch", &err);

    printf("%dx%d, %s, up to %d frames per template, %ld cores\n\n", width, height, codec->name, frames,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("| template | frames | render fps | encode fps | e2e fps | e2e / encode | preview fps | preview speed-up |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < 5; k++)
        col[k] = calloc((size_t)nfiles, sizeof(double));
    for (int i = 0; i < nfiles; i++) {
        row *r = &rows[i];
        const char *base = strrchr(r->name, '/') ? strrchr(r->name, '/') + 1 : r->name;
        /* Back to back, so that the ratios see the same machine load. */
        r->frames = frames_of(r->name, frames, scratch);
        r->e2e_fps = measure_job(r->name, width, height, r->frames, codec->name, 0, scratch, &r->e2e_peak_mib);
        r->preview_fps = measure_job(r->name, width, height, r->frames, codec->name, 1, scratch, NULL);
        measure_parts(r->name, width, height, r->frames, codec, r, scratch);
        if (r->e2e_peak_mib > pipeline_peak)
            pipeline_peak = r->e2e_peak_mib;
        printf("| %s | %d | %.1f | %.1f | %.1f | %.2f | %.1f | %.1f× |\n", base, r->frames, r->render_fps,
               r->encode_fps, r->e2e_fps, r->e2e_fps / r->encode_fps, r->preview_fps, r->preview_fps / r->e2e_fps);
        fflush(stdout);
        col[0][i] = r->render_fps;
        col[1][i] = r->encode_fps;
        col[2][i] = r->e2e_fps;
        col[3][i] = r->e2e_fps / r->encode_fps;
        col[4][i] = r->preview_fps / r->e2e_fps;
    }
    printf("| **median** | | %.1f | %.1f | %.1f | %.2f | | %.1f× |\n", median(col[0], nfiles), median(col[1], nfiles),
           median(col[2], nfiles), median(col[3], nfiles), median(col[4], nfiles));
    printf("\npeak memory of one end-to-end render (its own process): %.0f MiB at most\n", pipeline_peak);
    fw_remove_tree(scratch);
    for (int k = 0; k < 5; k++)
        free(col[k]);
    free(rows);
    return 0;
}
