/*
 * render_job.h - one job from template to output file.
 *
 * The render is one chain of named stages, as in render_job.c's
 * fw_render_job(): setup -> download -> prerender -> render -> postrender,
 * and cleanup, which runs whether or not the others succeeded. The output
 * appears at its path only when complete; a failed or cancelled render
 * leaves neither the output nor its scratch folder behind.
 */
#ifndef FW_WORK_RENDER_JOB_H
#define FW_WORK_RENDER_JOB_H

#include <jansson.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>

#include "server/jobs/job.h"
#include "server/util/error.h"
#include "server/util/urlpolicy.h"

/* Called at most a few times a second from the rendering thread. stage is
 * "setup", "download", "prerender", "render", "postrender"; percent is the
 * job's overall progress, 0 to 100. */
typedef void (*fw_progress_fn)(void *user, const char *stage, double percent);

/* What a planner learns once the job's frames are known: enough to split
 * the render, and to compute its digest (digest.h) for the render cache. */
typedef struct fw_render_plan {
    int first_frame, last_frame; /* the job's frame range, inclusive */
    int fps_num, fps_den;        /* its frame rate */
    int splittable;              /* H.264 in MP4: parts can be joined by stream copy */
    const json_t *doc;           /* the composition as it will be drawn */
    const char *resource_dir;    /* the render's scratch folder, where the document's files are */
    const char *const *font_files; /* the fonts it may draw with (NULL-terminated) */
    const char *default_font;
    char output[256];            /* what shapes the output file: codec, size, rate, quality, engine */
} fw_render_plan;

typedef enum fw_render_split {
    FW_RENDER_WHOLE = 0, /* render every frame, as without a planner */
    FW_RENDER_PART,      /* render only *part_first to *part_last: a segment */
    FW_RENDER_NOTHING,   /* stop here: no output (nothing left to draw now) */
} fw_render_split;

/* Called once, after prerender, on the rendering thread. */
typedef fw_err (*fw_render_planner)(void *user, const fw_render_plan *plan, fw_render_split *split, int *part_first,
                                    int *part_last, fw_error *err);

typedef struct fw_render_request {
    const fw_job_spec *job;
    const char *job_dir;          /* relative paths in the job resolve here; NULL: current folder */
    const char *output_path;      /* the output file */
    const char *template_path;    /* a local template file to render instead of fetching template.src */
    const char *work_root;        /* scratch folders are made here; NULL: $TMPDIR or /tmp */
    const char *const *font_dirs; /* NULL-terminated folders to find the job's fonts in; may be NULL */
    const char *default_font;     /* NULL: the text module's default */
    int allow_local_files;        /* template and asset sources may be local paths */
    const fw_url_policy *url_policy; /* which addresses http(s) sources may reach; NULL: the process's */
    int threads;                  /* encoder threads; 0: FFmpeg chooses */
    int width, height;            /* output size; 0: the composition's. The picture keeps its aspect
                                     ratio, centred. A preview scales this down again. */
    fw_progress_fn progress;
    void *progress_user;
    const atomic_int *cancel;     /* non-zero stops the render (FW_ERR_CANCELLED); may be NULL */
    double max_clip_seconds;      /* video and audio assets' limits; 0: fw_asset_options_init's */
    int max_clip_side;
    uint64_t max_media_bytes;

    /* A split render (worker.c):
     * - planner (may be NULL): told the job's frames, it chooses to render
     *   them whole, a part of them, or nothing;
     * - part: only frames part_first..part_last of the job's range. A part
     *   (this or the planner's) has no sound and is encoded exactly as the
     *   whole would be: a segment;
     * - segments: no frame drawn; the rendered parts, in order, joined by
     *   stream copy with the job's sound encoded once over the whole range. */
    fw_render_planner planner;
    void *planner_user;
    int part, part_first, part_last;
    const char *const *segments;
    size_t segment_count;
} fw_render_request;

typedef struct fw_render_result {
    int width, height;            /* of the output */
    double fps;
    int frames;                   /* frames rendered */
    char codec[64];               /* the codec used, canonical name ("" for aep) */
    const char *mime_type;
    json_t *missing_fonts;        /* array of font names rendered with the default font; caller frees */
    /* What drew each missing font: [{font, family, style, syntheticBold,
     * syntheticItalic}]; caller frees (fw_render_result_clear). */
    json_t *font_substitutes;
    double render_seconds;        /* prerender to postrender, wall clock */
    fw_render_split split;        /* what the planner chose (WHOLE without one) */
} fw_render_result;

fw_err fw_render_job(const fw_render_request *request, fw_render_result *result, fw_error *err);

/* The end of prerender on its own: lays the document's text out with fonts
 * (appending fonts it had to replace to missing_fonts, which may be NULL),
 * and loads the result into the named engine. doc is changed in place.
 * Tools that drive an engine themselves (benchmarks) use it too. */
struct fw_fontset;
struct fw_engine;
fw_err fw_render_load_engine(struct fw_engine **out, const char *engine, json_t *doc, struct fw_fontset *fonts,
                             const char *resource_dir, json_t *missing_fonts, fw_error *err);

/* Frees what a result owns. */
void fw_render_result_clear(fw_render_result *result);

/* The file extension (no dot) the job's output will have: "mp4", "mov",
 * "png", "zip", "json" ... Checks the codec on the way. */
fw_err fw_render_output_extension(const fw_job_spec *job, const char **extension, fw_error *err);

#endif
