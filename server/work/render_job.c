/*
 * render_job.c - the render pipeline: a job and its template in, a file out.
 *
 * fw_render_job() reads as the chain of stages it runs. Each stage takes the
 * render's context and fills in what the next one needs; cleanup runs in all
 * cases and removes the scratch folder (with the template bundle and
 * downloaded assets in it). The encoder writes under a temporary name, so
 * the output exists only once postrender succeeded.
 */
#include "server/work/render_job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/media/codec.h"
#include "server/media/encoder.h"
#include "server/media/footage.h"
#include "server/media/join.h"
#include "server/media/soundtrack.h"
#include "server/render/engine.h"
#include "server/template/assets.h"
#include "server/template/lottie_doc.h"
#include "server/template/template.h"
#include "server/text/fonts.h"
#include "server/text/text_lottie.h"
#include "server/util/fetch.h"
#include "server/util/fs.h"
#include "server/util/log.h"

/* Longest side of a preview render, in pixels. */
#define PREVIEW_MAX_SIDE 640

typedef struct render_ctx {
    const fw_render_request *req;
    const fw_job_spec *job;
    fw_render_result *result;
    char workdir[PATH_MAX];
    char template_path[PATH_MAX];
    fw_template *tpl;
    fw_fontset *fonts;
    json_t *doc;           /* the composition to render, assets applied */
    fw_engine *engine;
    fw_engine_info info;
    fw_footage **clips;    /* video assets' clips, played into their layers */
    size_t clip_count;
    fw_soundtrack *soundtrack; /* NULL: a silent output */
    const fw_codec *codec;
    fw_encoder *encoder;
    int width, height;     /* output size */
    int first, last;       /* frames to render, inclusive */
    int part;              /* a part of a split render: no sound */
    double last_progress_at;
    double last_progress;
    struct timespec started;
} render_ctx;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(render_ctx *c, const char *stage, double percent, int force)
{
    double t;
    if (!c->req->progress)
        return;
    t = now_seconds();
    /* The worker paces its writes (progress.h); this only spares it calls. */
    if (!force && t - c->last_progress_at < 0.25 && percent - c->last_progress < 2.0)
        return;
    c->last_progress_at = t;
    c->last_progress = percent;
    c->req->progress(c->req->progress_user, stage, percent);
}

static int cancelled(const render_ctx *c)
{
    return c->req->cancel && atomic_load(c->req->cancel);
}

static fw_err check_cancel(const render_ctx *c, fw_error *err)
{
    if (cancelled(c))
        return fw_error_set(err, FW_ERR_CANCELLED, NULL, "the job was cancelled");
    return FW_OK;
}

fw_err fw_render_output_extension(const fw_job_spec *job, const char **extension, fw_error *err)
{
    const fw_codec *codec;
    int64_t frames;
    fw_err rc;

    if (job->settings.type == FW_OUTPUT_AEP) {
        *extension = "json";
        return FW_OK;
    }
    rc = fw_codec_find(job->settings.codec, job->settings.type == FW_OUTPUT_IMAGE ? FW_CODEC_IMAGE : FW_CODEC_VIDEO,
                       &codec, err);
    if (rc)
        return rc;
    frames = job->settings.frame_start < 0 ? (codec->is_still ? 1 : 0)
                                           : job->settings.frame_end - job->settings.frame_start + 1;
    *extension = fw_codec_output_extension(codec, frames);
    return FW_OK;
}

/* ---- setup: the scratch folder and the fonts ---------------------------------------------- */

static fw_err add_job_fonts(render_ctx *c, fw_error *err)
{
    size_t i;
    json_t *font;

    json_array_foreach(c->job->fonts, i, font) {
        const char *name = json_string_value(font);
        char path[PATH_MAX];
        int found = 0;

        if (c->req->allow_local_files) {
            if (name[0] == '/')
                snprintf(path, sizeof(path), "%s", name);
            else
                snprintf(path, sizeof(path), "%s/%s", c->req->job_dir ? c->req->job_dir : ".", name);
            found = access(path, R_OK) == 0;
        }
        for (size_t d = 0; !found && c->req->font_dirs && c->req->font_dirs[d]; d++) {
            snprintf(path, sizeof(path), "%s/%s", c->req->font_dirs[d], name);
            found = access(path, R_OK) == 0;
        }
        if (!found) {
            /* Reported like a font the template needs and nobody gave. */
            json_array_append_new(c->result->missing_fonts, json_string(name));
            continue;
        }
        if (fw_fontset_add_file(c->fonts, path, err) != FW_OK) {
            fw_error_prefix_field(err, "fonts[%zu]", i);
            return err ? err->code : FW_ERR_INVALID;
        }
    }
    return FW_OK;
}

static fw_err stage_setup(render_ctx *c, fw_error *err)
{
    fw_err rc;

    if ((rc = fw_make_temp_dir(c->req->work_root, "fw-render-", c->workdir, sizeof(c->workdir), err)))
        return rc;
    if ((rc = fw_fontset_new(&c->fonts, c->req->default_font, err)))
        return rc;
    return add_job_fonts(c, err);
}

/* ---- download: the template into the scratch folder ---------------------------------------- */

static fw_err stage_download(render_ctx *c, fw_error *err)
{
    fw_fetch_options fetch = {.base_dir = c->req->job_dir ? c->req->job_dir : ".",
                              .allow_local = c->req->allow_local_files,
                              .policy = c->req->url_policy};
    const char *src = c->job->template_src;

    if (c->req->template_path) {
        snprintf(c->template_path, sizeof(c->template_path), "%s", c->req->template_path);
        return FW_OK;
    }
    if (!src)
        return fw_error_set(err, FW_ERR_INVALID, "template.src",
                            "is required here: template.id names a template of the server");
    /* A local template is read where it is, so that files beside it (images/) resolve. */
    if (!fw_fetch_is_remote(src) && !fw_fetch_is_data_url(src))
        return fw_fetch_local_path(src, &fetch, c->template_path, sizeof(c->template_path), "template.src", err);
    snprintf(c->template_path, sizeof(c->template_path), "%s/template.src", c->workdir);
    return fw_fetch(src, c->template_path, &fetch, "template.src", err);
}

/* ---- prerender: template, assets, composition, text, engine -------------------------------- */

static int even_up(int v) { return (v + 1) & ~1; }

static fw_err choose_output(render_ctx *c, fw_error *err)
{
    const fw_render_settings *s = &c->job->settings;
    fw_codec_kind kind = s->type == FW_OUTPUT_IMAGE ? FW_CODEC_IMAGE : FW_CODEC_VIDEO;
    double scale = 1.0;
    int width = c->info.width, height = c->info.height;
    fw_err rc;

    if ((rc = fw_codec_find(s->codec, kind, &c->codec, err)))
        return rc;
    c->first = 0;
    c->last = c->info.frame_count - 1;
    if (s->frame_start >= 0) {
        if (s->frame_start >= c->info.frame_count)
            return fw_error_set(err, FW_ERR_INVALID, "settings.frames",
                                "frame %d is past the end of the composition (frames 0 to %d)", s->frame_start,
                                c->info.frame_count - 1);
        c->first = s->frame_start;
        c->last = s->frame_end < c->info.frame_count ? s->frame_end : c->info.frame_count - 1;
    } else if (s->type == FW_OUTPUT_IMAGE) {
        c->last = c->first; /* a still of the first frame */
    }

    if (c->req->width > 0 && c->req->height > 0) {
        width = c->req->width;
        height = c->req->height;
    }
    if (s->preview) {
        int side = width > height ? width : height;
        if (side > PREVIEW_MAX_SIDE)
            scale = (double)PREVIEW_MAX_SIDE / side;
    }
    c->width = (int)(width * scale + 0.5);
    c->height = (int)(height * scale + 0.5);
    if (c->width < 2)
        c->width = 2;
    if (c->height < 2)
        c->height = 2;
    /* 4:2:0 and 4:2:2 video wants even sizes; a one-pixel stretch is invisible. */
    if (strstr(c->codec->pixel_format, "420") || strstr(c->codec->pixel_format, "422"))
        c->width = even_up(c->width);
    if (strstr(c->codec->pixel_format, "420"))
        c->height = even_up(c->height);
    return FW_OK;
}

static fw_err clip_picture(void *user, double seconds, const uint32_t **pixels, int *width, int *height,
                           size_t *stride, int64_t *serial, fw_error *err)
{
    fw_footage_picture pic;
    fw_err rc = fw_footage_picture_at(user, seconds, &pic, err);
    if (rc)
        return rc;
    *pixels = pic.pixels;
    *width = pic.width;
    *height = pic.height;
    *stride = pic.stride;
    *serial = pic.serial;
    return FW_OK;
}

/* A decoder for every clip the video assets put in the document, each
 * giving the engine the pictures of its image asset. */
static fw_err open_clips(render_ctx *c, fw_error *err)
{
    json_t *assets = fw_lottie_assets(c->doc), *asset;
    size_t i;

    json_array_foreach(assets, i, asset) {
        const json_t *how = fw_lottie_image_footage(asset);
        fw_footage_options opts = {0};
        char path[PATH_MAX];
        fw_footage **grown;
        fw_err rc;

        if (!how)
            continue;
        if (!(grown = realloc(c->clips, (c->clip_count + 1) * sizeof(*grown))))
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening clips");
        c->clips = grown;
        c->clips[c->clip_count] = NULL;
        snprintf(path, sizeof(path), "%s%s", fw_lottie_image_folder(asset), fw_lottie_image_file(asset));
        opts.width = (int)fw_lottie_image_width(asset);
        opts.height = (int)fw_lottie_image_height(asset);
        opts.loop = fw_lottie_footage_loops(how);
        if ((rc = fw_footage_open(&c->clips[c->clip_count], path, &opts, err))) {
            fw_error_prefix_field(err, "assets[%d]", fw_lottie_footage_asset_index(how));
            return rc;
        }
        fw_engine_footage footage = {.picture = clip_picture, .user = c->clips[c->clip_count++]};
        if ((rc = fw_engine_set_footage(c->engine, fw_lottie_asset_id(asset), &footage, err)))
            return rc;
    }
    return FW_OK;
}

static fw_err stage_prerender(render_ctx *c, fw_error *err)
{
    fw_template_limits limits;
    fw_asset_options assets;
    fw_err rc;

    fw_template_limits_init(&limits);
    if ((rc = fw_template_load(&c->tpl, c->template_path, c->workdir, &limits, err))) {
        if (err && !err->field[0])
            fw_error_prefix_field(err, "template");
        return rc;
    }
    for (size_t i = 0; i < fw_template_font_count(c->tpl); i++)
        if ((rc = fw_fontset_add_file(c->fonts, fw_template_font_path(c->tpl, i), err)))
            return rc;

    fw_asset_options_init(&assets);
    assets.work_dir = c->workdir;
    assets.fetch.base_dir = c->req->job_dir ? c->req->job_dir : ".";
    assets.fetch.allow_local = c->req->allow_local_files;
    assets.fetch.policy = c->req->url_policy;
    if (c->req->max_clip_seconds > 0)
        assets.max_media_seconds = c->req->max_clip_seconds;
    if (c->req->max_clip_side > 0)
        assets.max_video_side = c->req->max_clip_side;
    if (c->req->max_media_bytes > 0)
        assets.max_media_bytes = c->req->max_media_bytes;
    if ((rc = fw_template_apply_assets(c->tpl, c->job->assets, c->job->composition, &assets, err)))
        return rc;
    if ((rc = check_cancel(c, err)))
        return rc;
    if ((rc = fw_template_select_composition(c->tpl, c->job->composition, &c->doc, err))) {
        if (err && !err->field[0])
            fw_error_prefix_field(err, "template.composition");
        return rc;
    }
    if (c->job->settings.type == FW_OUTPUT_AEP)
        return FW_OK;

    if ((rc = fw_render_load_engine(&c->engine, c->job->settings.engine, c->doc, c->fonts, NULL,
                                    c->result->missing_fonts, err)) ||
        (rc = open_clips(c, err)))
        return rc;
    fw_engine_get_info(c->engine, &c->info);
    return choose_output(c, err);
}

static void frame_rate(const render_ctx *c, int *num, int *den);

/* A part of the job's frames: the request's, or the planner's choice. */
static fw_err choose_part(render_ctx *c, fw_error *err)
{
    int first = c->req->part_first, last = c->req->part_last;
    fw_render_split split = c->req->part ? FW_RENDER_PART : FW_RENDER_WHOLE;
    fw_err rc;

    if (c->req->planner && !c->req->segments && c->codec) {
        const fw_render_settings *s = &c->job->settings;
        size_t fonts = fw_fontset_count(c->fonts);
        const char **font_files = calloc(fonts + 1, sizeof(*font_files));
        fw_render_plan plan = {.first_frame = c->first, .last_frame = c->last};

        if (!font_files)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory planning the render");
        for (size_t i = 0; i < fonts; i++)
            font_files[i] = fw_font_path(fw_fontset_at(c->fonts, i));
        frame_rate(c, &plan.fps_num, &plan.fps_den);
        plan.splittable = s->type == FW_OUTPUT_VIDEO && strcmp(c->codec->encoder, "libx264") == 0 &&
                          c->codec->muxer && strcmp(c->codec->muxer, "mp4") == 0;
        plan.doc = c->doc;
        plan.resource_dir = c->req->work_root;
        plan.font_files = font_files;
        plan.default_font = c->req->default_font;
        snprintf(plan.output, sizeof(plan.output), "%s %dx%d %d/%d %s%s type %d engine %s", c->codec->name, c->width,
                 c->height, plan.fps_num, plan.fps_den, s->draft ? "draft" : "full", s->preview ? " preview" : "",
                 (int)s->type, s->engine[0] ? s->engine : "default");
        rc = c->req->planner(c->req->planner_user, &plan, &split, &first, &last, err);
        free(font_files);
        if (rc)
            return rc;
    }
    c->result->split = split;
    if (split != FW_RENDER_PART)
        return FW_OK;
    if (first < c->first || last > c->last || first > last)
        return fw_error_set(err, FW_ERR_INVALID, "settings.frames",
                            "frames %d to %d are not within the job's frames %d to %d", first, last, c->first,
                            c->last);
    c->first = first;
    c->last = last;
    c->part = 1;
    return FW_OK;
}

fw_err fw_render_load_engine(fw_engine **out, const char *engine, json_t *doc, fw_fontset *fonts,
                             const char *resource_dir, json_t *missing_fonts, fw_error *err)
{
    const fw_engine_class *cls = fw_engine_find(engine);
    json_t *missing = missing_fonts ? json_incref(missing_fonts) : json_array();
    fw_engine_options opts = {.resource_dir = resource_dir, .fonts = fonts, .missing_fonts = missing};
    char *text = NULL;
    fw_err rc = FW_OK;

    *out = NULL;
    /* Engines that draw no text get text layers as shapes. */
    if (cls && !cls->draws_text)
        rc = fw_text_layers_to_shapes(doc, fonts, missing, err);
    if (!rc && !(text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(9))))
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory preparing the document");
    if (!rc)
        rc = fw_engine_load(out, engine, text, strlen(text), &opts, err);
    free(text);
    json_decref(missing);
    return rc;
}

/* ---- render: frames into the encoder, render and encode overlapping ------------------------- */

static fw_err write_document(render_ctx *c, fw_error *err)
{
    char tmp[PATH_MAX];
    int fd;
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.partXXXXXX", c->req->output_path);
    fd = fw_create_temp_file(tmp);
    if (fd < 0)
        return fw_error_set(err, FW_ERR_IO, "output", "cannot write %s: %s", c->req->output_path, strerror(errno));
    f = fdopen(fd, "w");
    /* The saved project is the whole patched template, every composition in it. */
    if (!f || json_dumpf(fw_template_document(c->tpl), f, JSON_INDENT(1) | JSON_REAL_PRECISION(9)) != 0 || fclose(f) != 0 ||
        rename(tmp, c->req->output_path) != 0) {
        if (!f)
            close(fd);
        unlink(tmp);
        return fw_error_set(err, FW_ERR_IO, "output", "cannot write %s", c->req->output_path);
    }
    return FW_OK;
}

static fw_err read_soundtrack(void *user, float *samples, int frames, fw_error *err)
{
    return fw_soundtrack_read(user, samples, frames, err);
}

/* The sounds the document plays (audio layers, audio assets, clips' sound),
 * mixed from the first frame rendered on; none for outputs without sound. */
static fw_err open_soundtrack(render_ctx *c, fw_error *err)
{
    fw_lottie_sound *found = NULL;
    fw_sound *sounds = NULL;
    size_t count = 0;
    int skipped = 0;
    fw_err rc;

    if (c->job->settings.type != FW_OUTPUT_VIDEO || !c->codec->audio_encoder || c->part)
        return FW_OK; /* a part's sound is added over the whole when the parts are joined */
    if ((rc = fw_lottie_sounds(c->doc, &found, &count, &skipped, err)))
        return rc;
    if (skipped)
        fw_log(FW_LOG_WARN, "render", "%d time-remapped precomp(s) keep their pictures but not their sound", skipped);
    if (count && !(sounds = calloc(count, sizeof(*sounds))))
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing sounds");
    for (size_t i = 0; !rc && i < count; i++) {
        const fw_lottie_sound *f = &found[i];
        sounds[i] = (fw_sound){.path = f->path, .field = f->field, .at = f->at, .until = f->until,
                               .source_at = f->source_at, .speed = f->speed, .gain_db = f->gain_db,
                               .fade_in = f->fade_in, .fade_out = f->fade_out, .loop = f->loop,
                               .trim_start = f->trim_start, .trim_end = f->trim_end, .optional = f->optional};
    }
    if (!rc && count)
        rc = fw_soundtrack_open(&c->soundtrack, sounds, count, c->first / c->info.fps, err);
    if (!rc && c->soundtrack && fw_soundtrack_count(c->soundtrack) == 0)
        fw_soundtrack_free(&c->soundtrack); /* only clips without sound */
    free(sounds);
    free(found);
    return rc;
}

/* Lottie frame rates are decimals (29.97 is stored as 29.97); keep three places. */
static void frame_rate(const render_ctx *c, int *num, int *den)
{
    *num = (int)(c->info.fps * 1000 + 0.5);
    *den = 1000;
    if (*num % 1000 == 0) {
        *num /= 1000;
        *den = 1;
    }
}

static void join_progress(int percent, void *user)
{
    report(user, "render", 10.0 + 0.85 * percent, 0);
}

/* The parts of a split render joined, with the sound of the whole. */
static fw_err join_parts(render_ctx *c, int fps_num, int fps_den, fw_error *err)
{
    fw_audio_source audio = {.read = read_soundtrack};
    fw_join_options opts;
    fw_join_result joined;
    fw_err rc;

    if (!c->codec->audio_encoder || strcmp(c->codec->encoder, "libx264") != 0)
        return fw_error_set(err, FW_ERR_INVALID, "settings.codec", "%s cannot be rendered in parts", c->codec->name);
    if ((rc = open_soundtrack(c, err)))
        return rc;
    memset(&opts, 0, sizeof(opts));
    opts.output_path = c->req->output_path;
    opts.quality = c->job->settings.draft || c->job->settings.preview ? FW_QUALITY_DRAFT : FW_QUALITY_FULL;
    opts.cancel = c->req->cancel;
    opts.progress = join_progress;
    opts.progress_user = c;
    opts.segments = 1;
    opts.sound_frames = c->last - c->first + 1;
    if (c->soundtrack) {
        audio.user = c->soundtrack;
        opts.sound = &audio;
    }
    if ((rc = fw_media_join(c->req->segments, c->req->segment_count, &opts, &joined, err)))
        return rc;
    if (joined.frame_count != opts.sound_frames || joined.fps_num * fps_den != fps_num * joined.fps_den)
        return fw_error_set(err, FW_ERR_INTERNAL, "segments", "the parts hold %lld frames at %d/%d fps, not %lld at %d/%d",
                            (long long)joined.frame_count, joined.fps_num, joined.fps_den,
                            (long long)opts.sound_frames, fps_num, fps_den);
    c->result->frames = (int)joined.frame_count;
    return FW_OK;
}

static fw_err stage_render(render_ctx *c, fw_error *err)
{
    fw_audio_source audio = {.read = read_soundtrack};
    fw_encoder_options opts;
    int fps_num, fps_den;
    int total;
    fw_err rc;

    if (c->job->settings.type == FW_OUTPUT_AEP)
        return write_document(c, err);

    frame_rate(c, &fps_num, &fps_den);
    if (c->req->segments)
        return join_parts(c, fps_num, fps_den, err);
    total = c->last - c->first + 1;
    memset(&opts, 0, sizeof(opts));
    opts.codec = c->codec;
    opts.width = c->width;
    opts.height = c->height;
    opts.fps_num = fps_num;
    opts.fps_den = fps_den;
    opts.quality = c->job->settings.draft || c->job->settings.preview ? FW_QUALITY_DRAFT : FW_QUALITY_FULL;
    opts.output_path = c->req->output_path;
    opts.threads = c->req->threads;
    opts.frame_count = total;
    opts.first_number = c->first;
    if ((rc = open_soundtrack(c, err)))
        return rc;
    if (c->soundtrack) {
        audio.user = c->soundtrack;
        opts.audio = &audio;
    }
    if ((rc = fw_encoder_open(&c->encoder, &opts, err)))
        return rc;

    for (int frame = c->first; frame <= c->last; frame++) {
        fw_frame *buf;
        if ((rc = check_cancel(c, err)) || (rc = fw_encoder_frame_acquire(c->encoder, &buf, err)))
            return rc;
        if ((rc = fw_engine_render(c->engine, frame, buf->pixels, buf->width, buf->height, (size_t)buf->stride, err)))
            return rc;
        if ((rc = fw_encoder_frame_submit(c->encoder, buf, err)))
            return rc;
        report(c, "render", 10.0 + 85.0 * (frame - c->first + 1) / total, 0);
    }
    c->result->frames = total;
    return FW_OK;
}

/* ---- postrender: the file into place ------------------------------------------------------- */

static fw_err stage_postrender(render_ctx *c, fw_error *err)
{
    fw_render_result *r = c->result;
    fw_err rc;

    if (c->encoder && (rc = fw_encoder_finish(c->encoder, err)))
        return rc;
    if (c->codec) {
        snprintf(r->codec, sizeof(r->codec), "%s", c->codec->name);
        r->mime_type = fw_codec_output_mime_type(c->codec, c->last - c->first + 1);
        r->width = c->width;
        r->height = c->height;
        r->fps = c->info.fps;
    } else {
        r->mime_type = "application/json";
    }
    return FW_OK;
}

/* ---- cleanup: always ----------------------------------------------------------------------- */

static void stage_cleanup(render_ctx *c)
{
    fw_encoder_free(&c->encoder); /* removes a partial output */
    fw_engine_free(&c->engine);
    fw_soundtrack_free(&c->soundtrack);
    for (size_t i = 0; i < c->clip_count; i++)
        fw_footage_free(&c->clips[i]);
    free(c->clips);
    c->clips = NULL;
    json_decref(c->doc);
    c->doc = NULL;
    fw_template_free(&c->tpl);
    for (size_t i = 0; c->result && i < fw_fontset_substitute_count(c->fonts); i++) {
        const fw_font_substitute *sub = fw_fontset_substitute_at(c->fonts, i);
        json_array_append_new(c->result->font_substitutes,
                              json_pack("{s:s,s:s,s:s,s:b,s:b}", "font", sub->font, "family", sub->family, "style",
                                        sub->style, "syntheticBold", sub->synthetic_bold, "syntheticItalic",
                                        sub->synthetic_italic));
    }
    fw_fontset_free(&c->fonts);
    if (c->workdir[0])
        fw_remove_tree(c->workdir);
}

fw_err fw_render_job(const fw_render_request *req, fw_render_result *result, fw_error *err)
{
    render_ctx c;
    fw_err rc;

    memset(result, 0, sizeof(*result));
    result->missing_fonts = json_array();
    result->font_substitutes = json_array();
    memset(&c, 0, sizeof(c));
    c.req = req;
    c.job = req->job;
    c.result = result;
    clock_gettime(CLOCK_MONOTONIC, &c.started);

    report(&c, "setup", 0, 1);
    rc = stage_setup(&c, err);
    if (rc == FW_OK) {
        report(&c, "download", 2, 1);
        rc = stage_download(&c, err);
    }
    if (rc == FW_OK) {
        report(&c, "prerender", 5, 1);
        rc = stage_prerender(&c, err);
    }
    if (rc == FW_OK)
        rc = choose_part(&c, err);
    if (rc == FW_OK && result->split == FW_RENDER_NOTHING) {
        stage_cleanup(&c);
        return FW_OK;
    }
    if (rc == FW_OK) {
        report(&c, "render", 10, 1);
        rc = stage_render(&c, err);
    }
    if (rc == FW_OK) {
        report(&c, "postrender", 95, 1);
        rc = stage_postrender(&c, err);
    }
    stage_cleanup(&c);
    if (rc == FW_OK) {
        struct timespec end;
        clock_gettime(CLOCK_MONOTONIC, &end);
        result->render_seconds =
            (double)(end.tv_sec - c.started.tv_sec) + (double)(end.tv_nsec - c.started.tv_nsec) / 1e9;
        report(&c, "postrender", 100, 1);
    }
    return rc;
}

void fw_render_result_clear(fw_render_result *result)
{
    json_decref(result->missing_fonts);
    result->missing_fonts = NULL;
    json_decref(result->font_substitutes);
    result->font_substitutes = NULL;
}
