/*
 * Every Lottie file of the corpus through the whole pipeline: one still at
 * a third of the way in, which must load, render and show something.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/jobs/job.h"
#include "server/media/probe.h"
#include "server/template/template.h"
#include "server/util/fs.h"
#include "server/work/render_job.h"
#include "tests/fw_test.h"

/* Renders one frame (or a composition's first third) of path to out. */
static fw_err render_still(const char *path, const char *composition, int frame, const char *out, const char *dir,
                           fw_error *err)
{
    char text[PATH_MAX + 512];
    fw_render_request req = {0};
    fw_render_result res;
    fw_job_spec *job = NULL;
    fw_err rc;

    snprintf(text, sizeof(text),
             "{\"template\":{\"src\":\"%s\"%s%s%s},\"settings\":{\"type\":\"image\",\"frames\":%d}}", path,
             composition ? ",\"composition\":\"" : "", composition ? composition : "", composition ? "\"" : "",
             frame);
    if ((rc = fw_job_parse(&job, text, strlen(text), err)))
        return rc;
    req.job = job;
    req.output_path = out;
    req.work_root = dir;
    req.allow_local_files = 1;
    rc = fw_render_job(&req, &res, err);
    fw_render_result_clear(&res);
    fw_job_spec_free(&job);
    return rc;
}

static int root_frames(const char *path, const char *dir)
{
    fw_template *tpl = NULL;
    json_t *info = NULL;
    fw_error err;
    int frames = 0;
    if (fw_template_load(&tpl, path, dir, NULL, &err) == FW_OK && fw_template_introspect(tpl, &info, &err) == FW_OK)
        frames = (int)json_number_value(json_object_get(json_array_get(json_object_get(info, "compositions"), 0),
                                                        "frames"));
    json_decref(info);
    fw_template_free(&tpl);
    return frames;
}

/* Files the default engine cannot draw at a third of the way in, and why: their
 * only picture is an image file the corpus does not have. When an engine
 * learns to draw one, this list says so by failing. */
static const struct {
    const char *file;
    const char *why;
} engine_cannot[] = {
    {"extensions__resolver1.json", "its image is meant to come from an asset resolver; the file is not there"},
    {"extensions__slot3.json", "its image comes from a slot with no file"},
};

static const char *known_failure(const char *file)
{
    for (size_t i = 0; i < sizeof(engine_cannot) / sizeof(engine_cannot[0]); i++)
        if (strcmp(engine_cannot[i].file, file) == 0)
            return engine_cannot[i].why;
    return NULL;
}

static void test_every_corpus_file_renders_a_still_with_something_on_it(void)
{
    const char *corpus = getenv("FW_CORPUS_DIR");
    const char *dir = fw_test_tmpdir();
    int files = 0, rendered = 0, known = 0;
    struct dirent *e;
    DIR *d;

    if (!corpus || !*corpus || !(d = opendir(corpus)))
        FW_SKIP("FW_CORPUS_DIR is not set");
    while ((e = readdir(d))) {
        char path[PATH_MAX], out[PATH_MAX];
        uint8_t *rgba = NULL;
        int w, h, painted = 0;
        fw_error err;
        size_t n = strlen(e->d_name);

        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        files++;
        snprintf(path, sizeof(path), "%s/%s", corpus, e->d_name);
        snprintf(out, sizeof(out), "%s/still.png", dir);
        fw_error_clear(&err);
        if (render_still(path, NULL, root_frames(path, dir) / 3, out, dir, &err) != FW_OK) {
            /* Refused, but cleanly: a code and a sentence, and no file. */
            FW_CHECK_MSG(known_failure(e->d_name), "%s: %s: %s", e->d_name, err.field, err.message);
            FW_CHECK(err.code != FW_OK && err.message[0]);
            FW_CHECK(access(out, F_OK) != 0);
            known++;
            continue;
        }
        if (fw_media_decode_frame(out, 0, &rgba, &w, &h, &err) != FW_OK) {
            FW_CHECK_MSG(0, "%s: cannot read the still back: %s", e->d_name, err.message);
            continue;
        }
        for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
            painted += rgba[i * 4 + 3] != 0;
        free(rgba);
        /* Some exports are blank at a third of the way in; those are few. */
        if (!painted) {
            FW_CHECK_MSG(known_failure(e->d_name), "%s: nothing painted at frame %d", e->d_name,
                         root_frames(path, dir) / 3);
            known++;
        } else {
            FW_CHECK_MSG(!known_failure(e->d_name), "%s renders now: take it off the list", e->d_name);
            rendered++;
        }
        unlink(out);
    }
    closedir(d);
    fprintf(stderr, "  %d of %d files show something at a third of the way in; %d are known limits\n",
            rendered, files, known);
    FW_CHECK(files >= 70);
    FW_CHECK_INT(rendered + known, files);
    fw_remove_tree(dir);
}

static void test_a_precomp_renders_by_its_name_at_its_own_size(void)
{
    const char *path = fw_test_corpus("extensions__marker.json");
    const char *dir = fw_test_tmpdir();
    fw_template *tpl = NULL;
    json_t *info = NULL, *comp = NULL, *c;
    char out[PATH_MAX];
    fw_media_info media;
    fw_error err;
    size_t i;

    if (!path)
        FW_SKIP("no corpus");
    FW_REQUIRE(fw_template_load(&tpl, path, dir, NULL, &err) == FW_OK);
    FW_REQUIRE(fw_template_introspect(tpl, &info, &err) == FW_OK);
    json_array_foreach(json_object_get(info, "compositions"), i, c)
        if (!json_is_true(json_object_get(c, "isRoot")))
            comp = c;
    FW_REQUIRE(comp);
    snprintf(out, sizeof(out), "%s/precomp.png", dir);
    FW_REQUIRE(render_still(path, json_string_value(json_object_get(comp, "name")), 0, out, dir, &err) == FW_OK);
    FW_REQUIRE(fw_media_probe(out, &media, &err) == FW_OK);
    FW_CHECK_INT(media.width, (int)json_number_value(json_object_get(comp, "width")));
    FW_CHECK_INT(media.height, (int)json_number_value(json_object_get(comp, "height")));
    json_decref(info);
    fw_template_free(&tpl);
    fw_remove_tree(dir);
}

int main(void)
{
    FW_RUN(test_every_corpus_file_renders_a_still_with_something_on_it);
    FW_RUN(test_a_precomp_renders_by_its_name_at_its_own_size);
    return fw_test_end();
}
