/*
 * main.c - the framewright binary.
 *
 *   framewright serve [--grpc ADDR] [--http ADDR] [--data DIR] [--database URL] [--workers N]
 *   framewright worker [--data DIR] [--database URL]
 *   framewright keys create --team NAME [--data DIR] [--database URL]
 *   framewright render JOB.json [-o OUT] [--engine NAME] [--quiet]
 *   framewright inspect TEMPLATE [--json] [--engine NAME]
 *   framewright codecs
 *   framewright version
 *
 * Exit status: 0 on success, 1 when the work failed (the error names the
 * field and what is wrong), 2 for a wrong command line.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/jobs/job.h"
#include "server/media/codec.h"
#include "server/media/media_log.h"
#include "server/render/engine.h"
#include "server/template/template.h"
#include "server/text/fonts.h"
#include "server/util/error.h"
#include "server/util/fetch.h"
#include "server/util/fs.h"
#include "server/util/log.h"
#include "server/work/render_job.h"

#define FRAMEWRIGHT_VERSION "0.1.0"

/* serve.c */
int fw_cmd_serve(int argc, char **argv);
int fw_cmd_worker(int argc, char **argv);
int fw_cmd_keys(int argc, char **argv);

static void usage(FILE *out)
{
    fprintf(out,
            "usage: framewright COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  serve [--grpc ADDR] [--http ADDR] [--data DIR] [--database URL] [--workers N]\n"
            "                        run the service: gRPC API, workers, output URLs (see README)\n"
            "  worker [--data DIR] [--database URL]\n"
            "                        render jobs from a shared store (more machines)\n"
            "  keys create --team NAME\n"
            "                        make an API key for a team; the key is the last line\n"
            "  render JOB.json [-o OUT] [--engine NAME] [--quiet]\n"
            "                        render a job; template.src is a path, file:// or http(s) URL\n"
            "  inspect TEMPLATE [--json] [--engine NAME]\n"
            "                        list a template's compositions, layers, fonts, slots and markers\n"
            "  codecs                list the output codecs\n"
            "  version               print the version\n");
}

static void print_error(const char *what, const fw_error *err)
{
    char text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4];
    fprintf(stderr, "framewright: %s: %s\n", what, fw_error_text(err, text, sizeof(text)));
}

typedef struct progress_state {
    int quiet;
    int terminal;      /* redraw one line; otherwise print a line per stage */
    char stage[16];
    double started;
} progress_state;

static double monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *user, const char *stage, double percent)
{
    progress_state *p = user;
    int new_stage = strcmp(p->stage, stage) != 0;

    if (p->quiet)
        return;
    snprintf(p->stage, sizeof(p->stage), "%s", stage);
    if (p->terminal) {
        fprintf(stderr, "\r%-10s %5.1f%%  %6.1fs", stage, percent, monotonic() - p->started);
        if (percent >= 100)
            fputc('\n', stderr);
    } else if (new_stage || percent >= 100) {
        fprintf(stderr, "%-10s %5.1f%%  %6.1fs\n", stage, percent, monotonic() - p->started);
    }
}

static int has_extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) && dot[1];
}

static int cmd_render(int argc, char **argv)
{
    const char *job_path = NULL, *out = NULL, *engine = NULL;
    char job_dir[PATH_MAX], output[PATH_MAX], base[PATH_MAX];
    progress_state progress = {0};
    fw_render_request req;
    fw_render_result res;
    fw_job_spec *job = NULL;
    const char *ext;
    fw_error err;
    size_t len;
    char *text;
    fw_err rc;

    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc)
            engine = argv[++i];
        else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
            progress.quiet = 1;
        else if (argv[i][0] == '-' || job_path) {
            usage(stderr);
            return 2;
        } else
            job_path = argv[i];
    }
    if (!job_path) {
        usage(stderr);
        return 2;
    }

    fw_error_clear(&err);
    text = fw_read_file(job_path, 64u << 20, &len, &err);
    if (!text) {
        print_error("job", &err);
        return 1;
    }
    rc = fw_job_parse(&job, text, len, &err);
    free(text);
    if (rc) {
        print_error(job_path, &err);
        return 1;
    }
    if (engine)
        snprintf(job->settings.engine, sizeof(job->settings.engine), "%s", engine);
    if ((rc = fw_render_output_extension(job, &ext, &err))) {
        print_error(job_path, &err);
        fw_job_spec_free(&job);
        return 1;
    }
    snprintf(base, sizeof(base), "%s", job_path);
    snprintf(job_dir, sizeof(job_dir), "%s", dirname(base));
    if (!out) {
        char name[PATH_MAX], *dot;
        snprintf(base, sizeof(base), "%s", job_path);
        snprintf(name, sizeof(name), "%s", basename(base));
        if ((dot = strrchr(name, '.')))
            *dot = '\0';
        snprintf(output, sizeof(output), "%s.%s", name, ext);
    } else if (!has_extension(out)) {
        snprintf(output, sizeof(output), "%s.%s", out, ext);
    } else {
        snprintf(output, sizeof(output), "%s", out);
    }

    memset(&req, 0, sizeof(req));
    req.job = job;
    req.job_dir = job_dir;
    req.output_path = output;
    req.allow_local_files = 1;
    req.url_policy = fw_url_policy_open(); /* the command line's user owns the machine */
    req.progress = on_progress;
    req.progress_user = &progress;
    progress.started = monotonic();
    progress.terminal = isatty(STDERR_FILENO);
    rc = fw_render_job(&req, &res, &err);
    if (rc) {
        if (!progress.quiet && progress.terminal)
            fputc('\n', stderr);
        print_error(job_path, &err);
        fw_render_result_clear(&res);
        fw_job_spec_free(&job);
        return 1;
    }
    for (size_t i = 0; i < json_array_size(res.missing_fonts); i++)
        fprintf(stderr, "framewright: warning: font '%s' is missing; rendered with the default font\n",
                json_string_value(json_array_get(res.missing_fonts, i)));
    if (res.frames > 0)
        printf("%s: %d frames, %dx%d at %.3g fps, %s, in %.2f s (%.1f frames/s)\n", output, res.frames, res.width,
               res.height, res.fps, res.codec, res.render_seconds,
               res.render_seconds > 0 ? res.frames / res.render_seconds : 0.0);
    else
        printf("%s: the patched template\n", output);
    fw_render_result_clear(&res);
    fw_job_spec_free(&job);
    return 0;
}

static void print_details(json_t *info)
{
    json_t *comps = json_object_get(info, "compositions");
    json_t *fonts = json_object_get(info, "fonts");
    json_t *slots = json_object_get(info, "slots");
    json_t *markers = json_object_get(info, "markers");
    json_t *comp, *layer, *item;
    size_t i, j;

    json_array_foreach(comps, i, comp) {
        printf("composition '%s'%s: %gx%g, %.3g fps, %.2f s (%g frames)\n",
               json_string_value(json_object_get(comp, "name")),
               json_is_true(json_object_get(comp, "isRoot")) ? " (root)" : "",
               json_number_value(json_object_get(comp, "width")), json_number_value(json_object_get(comp, "height")),
               json_number_value(json_object_get(comp, "fps")), json_number_value(json_object_get(comp, "duration")),
               json_number_value(json_object_get(comp, "frames")));
        json_array_foreach(json_object_get(comp, "layers"), j, layer) {
            json_t *r = json_object_get(layer, "replaceable");
            printf("  %3g %-8s %-32s frames %g-%g%s%s%s%s%s\n", json_number_value(json_object_get(layer, "index")),
                   json_string_value(json_object_get(layer, "type")),
                   json_string_value(json_object_get(layer, "name")) ? json_string_value(json_object_get(layer, "name")) : "",
                   json_number_value(json_object_get(layer, "inPoint")),
                   json_number_value(json_object_get(layer, "outPoint")),
                   json_is_true(json_object_get(r, "text")) ? "  text" : "",
                   json_is_true(json_object_get(r, "image")) ? "  image" : "",
                   json_array_size(json_object_get(r, "colors")) ? "  colours" : "",
                   json_is_true(json_object_get(r, "video")) ? "  video" : "",
                   json_is_true(json_object_get(r, "audio")) ? "  sound" : "");
            json_t *box = json_object_get(r, "textBox");
            if (box)
                printf("        %s %gx%g at (%g, %g), %g line%s\n",
                       json_is_true(json_object_get(box, "paragraph")) ? "box" : "point text",
                       round(json_number_value(json_object_get(box, "width"))),
                       round(json_number_value(json_object_get(box, "height"))),
                       round(json_number_value(json_object_get(box, "x"))),
                       round(json_number_value(json_object_get(box, "y"))),
                       json_number_value(json_object_get(box, "lines")),
                       json_number_value(json_object_get(box, "lines")) == 1 ? "" : "s");
        }
    }
    json_array_foreach(fonts, i, item) {
        json_t *m = json_object_get(item, "match");
        const char *source = json_string_value(json_object_get(m, "source"));
        printf("font '%s' (%s %s)%s", json_string_value(json_object_get(item, "name")),
               json_string_value(json_object_get(item, "family")) ? json_string_value(json_object_get(item, "family")) : "",
               json_string_value(json_object_get(item, "style")) ? json_string_value(json_object_get(item, "style")) : "",
               json_is_true(json_object_get(item, "embeddedGlyphs")) ? ", glyphs embedded" : "");
        if (source && (!strcmp(source, "machine") || !strcmp(source, "none")))
            printf(": %s %s %s%s%s", json_is_true(json_object_get(m, "exact")) ? "this machine's" : "missing; drawn with",
                   json_string_value(json_object_get(m, "family")), json_string_value(json_object_get(m, "style")),
                   json_is_true(json_object_get(m, "syntheticBold")) ? ", bold made" : "",
                   json_is_true(json_object_get(m, "syntheticItalic")) ? ", slanted" : "");
        else if (source && !strcmp(source, "bundle"))
            printf(": the bundle's");
        printf("\n");
    }
    json_array_foreach(slots, i, item)
        printf("slot '%s' (%s)\n", json_string_value(json_object_get(item, "id")),
               json_string_value(json_object_get(item, "type")) ? json_string_value(json_object_get(item, "type")) : "");
    json_array_foreach(markers, i, item)
        printf("marker '%s' at %.3f s for %.3f s\n", json_string_value(json_object_get(item, "name")),
               json_number_value(json_object_get(item, "time")), json_number_value(json_object_get(item, "duration")));
    json_t *engine = json_object_get(info, "engine");
    json_array_foreach(json_object_get(engine, "notDrawn"), i, item)
        printf("not drawn by %s: %s\n", json_string_value(json_object_get(engine, "name")), json_string_value(item));
}

/* What the engine does not draw of the root composition: info["engine"] = {"name", "notDrawn": [...]}. */
static fw_err engine_report(fw_template *tpl, const char *engine_name, json_t *info, fw_error *err)
{
    fw_fontset *fonts = NULL;
    fw_engine *engine = NULL;
    json_t *doc = NULL, *report, *list = json_array();
    const fw_engine_class *cls = fw_engine_find(engine_name);
    fw_err rc;

    if ((rc = fw_fontset_new(&fonts, NULL, err)) || (rc = fw_template_select_composition(tpl, NULL, &doc, err)) ||
        (rc = fw_render_load_engine(&engine, engine_name, doc, fonts, fw_template_dir(tpl), NULL, err)))
        goto done;
    /* One line, "; " between the things not drawn. */
    for (const char *p = fw_engine_unsupported(engine); *p;) {
        const char *end = strstr(p, "; ");
        size_t n = end ? (size_t)(end - p) : strlen(p);
        json_array_append_new(list, json_stringn(p, n));
        p += n + (end ? 2 : 0);
    }
    report = json_object();
    json_object_set_new(report, "name", json_string(cls ? cls->name : engine_name));
    json_object_set(report, "notDrawn", list);
    json_object_set_new(info, "engine", report);
done:
    json_decref(list);
    fw_engine_free(&engine);
    json_decref(doc);
    fw_fontset_free(&fonts);
    return rc;
}

static int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL, *engine = NULL;
    int as_json = 0;
    char workdir[PATH_MAX];
    fw_template *tpl = NULL;
    json_t *info = NULL;
    fw_error err;
    int status = 0;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc)
            engine = argv[++i];
        else if (argv[i][0] == '-' || path) {
            usage(stderr);
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    fw_error_clear(&err);
    if (fw_make_temp_dir(NULL, "fw-inspect-", workdir, sizeof(workdir), &err)) {
        print_error("inspect", &err);
        return 1;
    }
    if (fw_template_load(&tpl, path, workdir, NULL, &err) || fw_template_introspect(tpl, &info, &err) ||
        engine_report(tpl, engine, info, &err)) {
        print_error(path, &err);
        status = 1;
    } else if (as_json) {
        char *text = json_dumps(info, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        puts(text);
        free(text);
    } else {
        print_details(info);
    }
    json_decref(info);
    fw_template_free(&tpl);
    fw_remove_tree(workdir);
    return status;
}

static int cmd_codecs(void)
{
    int count;
    const fw_codec *codecs = fw_codec_list(&count);
    for (int i = 0; i < count; i++)
        printf("%-26s %-5s %-6s %s%s\n", codecs[i].name, codecs[i].kind == FW_CODEC_IMAGE ? "image" : "video",
               codecs[i].extension, codecs[i].mime_type, codecs[i].has_alpha ? "  alpha" : "");
    return 0;
}

int main(int argc, char **argv)
{
    fw_error err;

    fw_error_clear(&err);
    if (fw_log_configure(&err) != FW_OK) {
        print_error("configuration", &err);
        return 2;
    }
    fw_fetch_global_init();
    fw_media_log_init();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "serve") == 0)
        return fw_cmd_serve(argc - 2, argv + 2);
    if (strcmp(argv[1], "worker") == 0)
        return fw_cmd_worker(argc - 2, argv + 2);
    if (strcmp(argv[1], "keys") == 0)
        return fw_cmd_keys(argc - 2, argv + 2);
    if (strcmp(argv[1], "render") == 0)
        return cmd_render(argc - 2, argv + 2);
    if (strcmp(argv[1], "inspect") == 0)
        return cmd_inspect(argc - 2, argv + 2);
    if (strcmp(argv[1], "codecs") == 0)
        return cmd_codecs();
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("framewright %s\n", FRAMEWRIGHT_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "framewright: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
