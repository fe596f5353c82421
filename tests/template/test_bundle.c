/*
 * test_bundle.c - loading templates: JSON, dotLottie, zip; hostile zips are
 * refused with the entry named and nothing written; introspection of real
 * After Effects exports; selecting a composition to render.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "server/template/template.h"
#include "server/util/fs.h"
#include "tests/fw_test.h"

#define BASIC "tests/template/testdata/basic.json"
#define LOGO "tests/template/testdata/images/logo.png"

static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    *size = (size_t)n;
    return buf;
}

/* Add name with the bytes of file (or of data when file is NULL). */
static int bundle_add(zip_t *za, const char *name, const char *file, const void *data, size_t size)
{
    void *copy;
    size_t n = size;
    if (file) {
        copy = slurp(file, &n);
    } else {
        copy = malloc(size ? size : 1);
        if (copy)
            memcpy(copy, data, size);
    }
    if (!copy)
        return -1;
    zip_source_t *src = zip_source_buffer(za, copy, n, 1);
    if (!src)
        return -1;
    zip_int64_t idx = zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return -1;
    }
    return (int)idx;
}

static zip_t *bundle_create(const char *path)
{
    int e;
    return zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &e);
}

static int dir_is_empty(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", path);
    return system(cmd) == 0;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_json_template_loads_and_resolves_images(void)
{
    fw_template *tpl = NULL;
    fw_error err = {0};
    FW_REQUIRE(fw_template_load(&tpl, BASIC, NULL, NULL, &err) == FW_OK);
    FW_CHECK_STR(fw_template_format(tpl), "json");
    json_t *image = json_array_get(json_object_get(fw_template_document(tpl), "assets"), 0);
    const char *u = json_string_value(json_object_get(image, "u"));
    FW_CHECK(u && u[0] == '/');
    FW_CHECK_CONTAINS(u, "tests/template/testdata/images/");
    fw_template_free(&tpl);
    FW_CHECK(tpl == NULL);
}

static void test_invalid_json_reports_line_and_column(void)
{
    const char *dir = fw_test_tmpdir();
    char path[4200];
    fw_template *tpl = NULL;
    fw_error err = {0};
    snprintf(path, sizeof(path), "%s/bad.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\n  \"w\": 100,\n  \"h\": oops\n}\n", f);
    fclose(f);
    FW_CHECK_INT(fw_template_load(&tpl, path, NULL, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "line 3");
    FW_CHECK_CONTAINS(err.message, "column");
    FW_CHECK(tpl == NULL);
}

static void test_canvas_and_frame_limits_are_enforced(void)
{
    json_t *doc = json_pack("{s:i,s:i,s:i,s:i,s:i,s:[]}", "w", 20000, "h", 100, "fr", 30, "ip", 0, "op", 10,
                            "layers");
    fw_template *tpl = NULL;
    fw_error err = {0};
    FW_CHECK_INT(fw_template_from_document(&tpl, doc, NULL, NULL, &err), FW_ERR_LIMIT);
    FW_CHECK_STR(err.field, "w");
    json_object_set_new(doc, "w", json_integer(100));
    json_object_set_new(doc, "op", json_integer(200000));
    FW_CHECK_INT(fw_template_from_document(&tpl, doc, NULL, NULL, &err), FW_ERR_LIMIT);
    FW_CHECK_STR(err.field, "op");
    json_object_del(doc, "layers");
    FW_CHECK_INT(fw_template_from_document(&tpl, doc, NULL, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "layers");
    json_decref(doc);
}

/* A doc of precomps p0 .. p(n-1), each holding the next; the root holds p0. */
static json_t *nested_precomps(int n, int loop)
{
    json_t *doc = json_pack("{s:i,s:i,s:i,s:i,s:i,s:[{s:i,s:s}],s:[]}", "w", 100, "h", 100, "fr", 30, "ip", 0, "op",
                            10, "layers", "ty", 0, "refId", "p0", "assets");
    for (int i = 0; i < n; i++) {
        char id[16], next[16];
        json_t *layers = json_array();
        snprintf(id, sizeof(id), "p%d", i);
        snprintf(next, sizeof(next), "p%d", loop && i == n - 1 ? 0 : i + 1);
        if (i + 1 < n || loop)
            json_array_append_new(layers, json_pack("{s:i,s:s}", "ty", 0, "refId", next));
        json_array_append_new(json_object_get(doc, "assets"), json_pack("{s:s,s:o}", "id", id, "layers", layers));
    }
    return doc;
}

static void test_layer_nesting_and_json_depth_limits_are_enforced(void)
{
    fw_template *tpl = NULL;
    fw_error err = {0};
    json_t *doc, *deep, *v;

    doc = nested_precomps(24, 0);
    FW_CHECK_INT(fw_template_from_document(&tpl, doc, NULL, NULL, &err), FW_OK);
    fw_template_free(&tpl);
    json_decref(doc);
    doc = nested_precomps(25, 0);
    FW_CHECK_INT(fw_template_from_document(&tpl, doc, NULL, NULL, &err), FW_ERR_LIMIT);
    FW_CHECK_STR(err.field, "assets");
    FW_CHECK_CONTAINS(err.message, "at most 24");
    json_decref(doc);
    doc = nested_precomps(3, 1); /* p2 holds p0 again */
    FW_CHECK_INT(fw_template_from_document(&tpl, doc, NULL, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "contains itself");
    json_decref(doc);
    /* 20001 layers */
    doc = json_pack("{s:i,s:i,s:i,s:i,s:i,s:[]}", "w", 100, "h", 100, "fr", 30, "ip", 0, "op", 10, "layers");
    for (int i = 0; i < 20001; i++)
        json_array_append_new(json_object_get(doc, "layers"), json_pack("{s:i}", "ty", 3));
    FW_CHECK_INT(fw_template_from_document(&tpl, doc, NULL, NULL, &err), FW_ERR_LIMIT);
    FW_CHECK_STR(err.field, "layers");
    FW_CHECK_CONTAINS(err.message, "20001 layers");
    json_decref(doc);
    /* arrays 300 deep inside a layer */
    doc = json_pack("{s:i,s:i,s:i,s:i,s:i,s:[{s:i}]}", "w", 100, "h", 100, "fr", 30, "ip", 0, "op", 10, "layers",
                    "ty", 3);
    deep = v = json_array();
    for (int i = 0; i < 300; i++) {
        json_t *inner = json_array();
        json_array_append_new(v, inner);
        v = inner;
    }
    json_object_set_new(json_array_get(json_object_get(doc, "layers"), 0), "x", deep);
    FW_CHECK_INT(fw_template_from_document(&tpl, doc, NULL, NULL, &err), FW_ERR_LIMIT);
    FW_CHECK_CONTAINS(err.message, "more than 256 deep");
    json_decref(doc);
}

static void test_zip_bundle_with_macos_folder_loads(void)
{
    const char *dir = fw_test_tmpdir();
    char zpath[4200], work[4200];
    snprintf(zpath, sizeof(zpath), "%s/bundle.dat", dir); /* found by content, not extension */
    snprintf(work, sizeof(work), "%s/work", dir);
    mkdir(work, 0700);
    zip_t *za = bundle_create(zpath);
    FW_REQUIRE(za);
    zip_dir_add(za, "MyTemplate/", ZIP_FL_ENC_UTF_8);
    FW_CHECK(bundle_add(za, "MyTemplate/data.json", BASIC, NULL, 0) >= 0);
    FW_CHECK(bundle_add(za, "MyTemplate/images/logo.png", LOGO, NULL, 0) >= 0);
    FW_CHECK(bundle_add(za, "MyTemplate/fonts/Brand-Bold.ttf", NULL, "not really a font", 17) >= 0);
    FW_CHECK(bundle_add(za, "__MACOSX/MyTemplate/._data.json", NULL, "junk", 4) >= 0);
    FW_REQUIRE(zip_close(za) == 0);

    fw_template *tpl = NULL;
    fw_error err = {0};
    FW_REQUIRE(fw_template_load(&tpl, zpath, work, NULL, &err) == FW_OK);
    FW_CHECK_STR(fw_template_format(tpl), "zip");
    FW_CHECK_CONTAINS(fw_template_dir(tpl), "/work/MyTemplate");
    FW_CHECK_INT(fw_template_font_count(tpl), 1);
    FW_CHECK_CONTAINS(fw_template_font_path(tpl, 0), "fonts/Brand-Bold.ttf");
    json_t *image = json_array_get(json_object_get(fw_template_document(tpl), "assets"), 0);
    char img[4400];
    snprintf(img, sizeof(img), "%s%s", json_string_value(json_object_get(image, "u")),
             json_string_value(json_object_get(image, "p")));
    FW_CHECK(exists(img));
    FW_CHECK_CONTAINS(img, "/work/MyTemplate/images/logo.png");
    char junk[4200];
    snprintf(junk, sizeof(junk), "%s/__MACOSX", work);
    FW_CHECK(!exists(junk));
    fw_template_free(&tpl);
}

static void test_zip_bundle_with_an_empty_fonts_folder_loads(void)
{
    const char *dir = fw_test_tmpdir();
    char zpath[4200], work[4200];
    snprintf(zpath, sizeof(zpath), "%s/bundle.zip", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    mkdir(work, 0700);
    zip_t *za = bundle_create(zpath);
    FW_REQUIRE(za);
    zip_dir_add(za, "fonts/", ZIP_FL_ENC_UTF_8);
    FW_CHECK(bundle_add(za, "data.json", BASIC, NULL, 0) >= 0);
    FW_CHECK(bundle_add(za, "images/logo.png", LOGO, NULL, 0) >= 0);
    FW_REQUIRE(zip_close(za) == 0);

    fw_template *tpl = NULL;
    fw_error err = {0};
    FW_REQUIRE(fw_template_load(&tpl, zpath, work, NULL, &err) == FW_OK);
    FW_CHECK_INT(fw_template_font_count(tpl), 0);
    fw_template_free(&tpl);
}

static void test_dotlottie_loads_from_manifest(void)
{
    const char *dir = fw_test_tmpdir();
    char zpath[4200], work[4200];
    size_t n;
    snprintf(zpath, sizeof(zpath), "%s/anim.lottie", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    mkdir(work, 0700);
    char *json = slurp(BASIC, &n);
    FW_REQUIRE(json);
    /* dotLottie writes image folders from the bundle root. */
    json_t *doc = json_loads(json, 0, NULL);
    free(json);
    json_object_set_new(json_array_get(json_object_get(doc, "assets"), 0), "u", json_string("/images/"));
    char *text = json_dumps(doc, 0);
    json_decref(doc);
    const char *manifest = "{\"version\":\"1\",\"animations\":[{\"id\":\"intro\"}]}";
    zip_t *za = bundle_create(zpath);
    FW_REQUIRE(za);
    FW_CHECK(bundle_add(za, "manifest.json", NULL, manifest, strlen(manifest)) >= 0);
    FW_CHECK(bundle_add(za, "animations/intro.json", NULL, text, strlen(text)) >= 0);
    FW_CHECK(bundle_add(za, "images/logo.png", LOGO, NULL, 0) >= 0);
    FW_REQUIRE(zip_close(za) == 0);
    free(text);

    fw_template *tpl = NULL;
    fw_error err = {0};
    FW_REQUIRE(fw_template_load(&tpl, zpath, work, NULL, &err) == FW_OK);
    FW_CHECK_STR(fw_template_format(tpl), "lottie");
    FW_CHECK_STR(json_string_value(json_object_get(fw_template_document(tpl), "nm")), "main");
    json_t *image = json_array_get(json_object_get(fw_template_document(tpl), "assets"), 0);
    char img[4400];
    snprintf(img, sizeof(img), "%s%s", json_string_value(json_object_get(image, "u")),
             json_string_value(json_object_get(image, "p")));
    FW_CHECK(exists(img));
    fw_template_free(&tpl);
}

/* Build a zip with one hostile entry beside a valid template; it must be
 * refused with code, the entry named, and nothing left anywhere. */
static void expect_refused(const char *entry, int symlink, size_t zeros, fw_err code, const char *why)
{
    const char *dir = fw_test_tmpdir();
    char zpath[4200], work[4200], outside[4200];
    snprintf(zpath, sizeof(zpath), "%s/evil.zip", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    snprintf(outside, sizeof(outside), "%s/evil.txt", dir);
    mkdir(work, 0700);
    zip_t *za = bundle_create(zpath);
    FW_REQUIRE(za);
    FW_CHECK(bundle_add(za, "data.json", BASIC, NULL, 0) >= 0);
    void *payload = calloc(1, zeros ? zeros : 1);
    int idx = bundle_add(za, entry, NULL, zeros ? payload : "/etc/passwd", zeros ? zeros : 11);
    free(payload);
    FW_REQUIRE(idx >= 0);
    if (symlink)
        zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX, (0120777u) << 16);
    FW_REQUIRE(zip_close(za) == 0);

    fw_template *tpl = NULL;
    fw_error err = {0};
    FW_CHECK_INT(fw_template_load(&tpl, zpath, work, NULL, &err), code);
    FW_CHECK(tpl == NULL);
    FW_CHECK_CONTAINS(err.message, entry);
    FW_CHECK_CONTAINS(err.message, why);
    FW_CHECK(!exists(outside));
    FW_CHECK_MSG(dir_is_empty(work), "the working folder is not empty after a refused bundle");
}

static void test_zip_with_path_traversal_is_refused(void)
{
    expect_refused("../evil.txt", 0, 0, FW_ERR_INVALID, "climbs out");
}

static void test_zip_with_absolute_name_is_refused(void)
{
    expect_refused("/tmp/evil.txt", 0, 0, FW_ERR_INVALID, "absolute");
}

static void test_zip_with_symlink_is_refused(void)
{
    expect_refused("images/link.png", 1, 0, FW_ERR_INVALID, "symbolic link");
}

static void test_zip_bomb_ratio_is_refused(void)
{
    expect_refused("images/zeros.png", 0, 16u << 20, FW_ERR_LIMIT, "ratio");
}

static void test_zip_with_too_many_files_is_refused(void)
{
    const char *dir = fw_test_tmpdir();
    char zpath[4200], work[4200], name[64];
    snprintf(zpath, sizeof(zpath), "%s/many.zip", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    mkdir(work, 0700);
    zip_t *za = bundle_create(zpath);
    FW_REQUIRE(za);
    FW_CHECK(bundle_add(za, "data.json", BASIC, NULL, 0) >= 0);
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof(name), "images/f%02d.png", i);
        FW_CHECK(bundle_add(za, name, NULL, "x", 1) >= 0);
    }
    FW_REQUIRE(zip_close(za) == 0);
    fw_template_limits limits;
    fw_template_limits_init(&limits);
    limits.max_files = 10;
    fw_template *tpl = NULL;
    fw_error err = {0};
    FW_CHECK_INT(fw_template_load(&tpl, zpath, work, &limits, &err), FW_ERR_LIMIT);
    FW_CHECK_CONTAINS(err.message, "more than 10 files");
    FW_CHECK_CONTAINS(err.message, "images/f");
    FW_CHECK(dir_is_empty(work));
}

static void test_zip_total_size_limit_is_enforced(void)
{
    const char *dir = fw_test_tmpdir();
    char zpath[4200], work[4200];
    snprintf(zpath, sizeof(zpath), "%s/big.zip", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    mkdir(work, 0700);
    zip_t *za = bundle_create(zpath);
    FW_REQUIRE(za);
    FW_CHECK(bundle_add(za, "data.json", BASIC, NULL, 0) >= 0);
    FW_CHECK(bundle_add(za, "images/a.png", LOGO, NULL, 0) >= 0);
    FW_REQUIRE(zip_close(za) == 0);
    fw_template_limits limits;
    fw_template_limits_init(&limits);
    limits.max_total_bytes = 1000;
    fw_template *tpl = NULL;
    fw_error err = {0};
    FW_CHECK_INT(fw_template_load(&tpl, zpath, work, &limits, &err), FW_ERR_LIMIT);
    FW_CHECK_CONTAINS(err.message, "unpacks to more than 1000 bytes");
    FW_CHECK(dir_is_empty(work));
}

static json_t *find_named(json_t *array, const char *name)
{
    json_t *v;
    size_t i;
    json_array_foreach(array, i, v) if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0) return v;
    return NULL;
}

static void test_introspection_of_own_template(void)
{
    fw_template *tpl = NULL;
    fw_error err = {0};
    json_t *info = NULL;
    FW_REQUIRE(fw_template_load(&tpl, BASIC, NULL, NULL, &err) == FW_OK);
    FW_REQUIRE(fw_template_introspect(tpl, &info, &err) == FW_OK);
    json_t *comps = json_object_get(info, "compositions");
    FW_CHECK_INT(json_array_size(comps), 2);
    json_t *main = find_named(comps, "main");
    json_t *card = find_named(comps, "card"); /* unnamed precomp takes its layer's name */
    FW_REQUIRE(main && card);
    FW_CHECK(json_is_true(json_object_get(main, "isRoot")));
    FW_CHECK_NEAR(json_number_value(json_object_get(main, "duration")), 2.0, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(card, "frames")), 40, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(card, "width")), 200, 1e-9);
    json_t *layers = json_object_get(main, "layers");
    FW_CHECK_INT(json_array_size(layers), 5);
    json_t *title = find_named(layers, "title"), *box = find_named(layers, "box"), *bg = find_named(layers, "bg");
    json_t *logo = find_named(layers, "logo");
    FW_REQUIRE(title && box && bg && logo);
    FW_CHECK_STR(json_string_value(json_object_get(title, "type")), "text");
    FW_CHECK(json_is_true(json_object_get(json_object_get(title, "replaceable"), "text")));
    FW_CHECK_STR(json_string_value(json_object_get(json_object_get(title, "replaceable"), "font")), "DejaVuSans");
    FW_CHECK_STR(json_string_value(json_object_get(box, "type")), "shape");
    FW_CHECK_STR(json_string_value(json_array_get(json_object_get(json_object_get(box, "replaceable"), "colors"), 0)),
                 "#ff0000");
    FW_CHECK_STR(json_string_value(json_array_get(json_object_get(json_object_get(bg, "replaceable"), "colors"), 0)),
                 "#00ff00");
    FW_CHECK(json_is_true(json_object_get(json_object_get(logo, "replaceable"), "image")));
    /* Where a clip may go: image (and solid, precomp) layers, not text or shapes. */
    FW_CHECK(json_is_true(json_object_get(json_object_get(logo, "replaceable"), "video")));
    FW_CHECK(json_is_true(json_object_get(json_object_get(bg, "replaceable"), "video")) ==
             !strcmp(json_string_value(json_object_get(bg, "type")), "solid"));
    FW_CHECK(json_is_false(json_object_get(json_object_get(title, "replaceable"), "video")));
    FW_CHECK(json_is_false(json_object_get(json_object_get(box, "replaceable"), "video")));
    FW_CHECK(json_is_false(json_object_get(json_object_get(logo, "replaceable"), "audio")));
    json_t *marker = json_array_get(json_object_get(info, "markers"), 0);
    FW_CHECK_STR(json_string_value(json_object_get(marker, "name")), "intro");
    FW_CHECK_NEAR(json_number_value(json_object_get(marker, "time")), 0.5, 1e-9);
    json_t *font = json_array_get(json_object_get(info, "fonts"), 0);
    FW_CHECK_STR(json_string_value(json_object_get(font, "family")), "DejaVu Sans");
    FW_CHECK(json_is_false(json_object_get(font, "embeddedGlyphs")));
    json_decref(info);
    fw_template_free(&tpl);
}

static json_t *introspect_corpus(const char *name, fw_template **tpl)
{
    const char *path = fw_test_corpus(name);
    fw_error err = {0};
    json_t *info = NULL;
    if (!path)
        return NULL;
    if (fw_template_load(tpl, path, NULL, NULL, &err) != FW_OK) {
        fprintf(stderr, "  %s: %s\n", name, err.message);
        return NULL;
    }
    if (fw_template_introspect(*tpl, &info, &err) != FW_OK)
        fprintf(stderr, "  %s: %s\n", name, err.message);
    return info;
}

static void test_introspection_of_text2(void)
{
    fw_template *tpl = NULL;
    if (!fw_test_corpus("text2.json"))
        FW_SKIP("FW_CORPUS_DIR not set");
    json_t *info = introspect_corpus("text2.json", &tpl);
    FW_REQUIRE(info);
    json_t *main = json_array_get(json_object_get(info, "compositions"), 0);
    FW_CHECK_STR(json_string_value(json_object_get(main, "name")), "Countdown 2");
    FW_CHECK_INT(json_array_size(json_object_get(info, "compositions")), 1);
    json_t *layers = json_object_get(main, "layers");
    FW_CHECK_INT(json_array_size(layers), 20);
    int texts = 0;
    json_t *l;
    size_t i;
    json_array_foreach(layers, i, l) texts += strcmp(json_string_value(json_object_get(l, "type")), "text") == 0;
    FW_CHECK_INT(texts, 10);
    FW_CHECK_NEAR(json_number_value(json_object_get(main, "duration")), 10.0, 1e-9);
    json_t *font = json_array_get(json_object_get(info, "fonts"), 0);
    FW_CHECK_STR(json_string_value(json_object_get(font, "family")), "Baloo Bhai");
    FW_CHECK(json_is_true(json_object_get(font, "embeddedGlyphs")));
    json_decref(info);
    fw_template_free(&tpl);
}

static void test_introspection_reports_text_rooms_and_font_matches(void)
{
    json_error_t je;
    json_t *doc = json_load_file("tests/work/testdata/text_fit.json", 0, &je), *info = NULL;
    fw_error err = {0};
    FW_REQUIRE(doc);
    FW_REQUIRE(fw_lottie_introspect(doc, &info, &err) == FW_OK);
    json_t *layers = json_object_get(json_array_get(json_object_get(info, "compositions"), 0), "layers");
    json_t *name = json_object_get(json_object_get(json_array_get(layers, 0), "replaceable"), "textBox");
    json_t *title = json_object_get(json_object_get(json_array_get(layers, 1), "replaceable"), "textBox");
    /* The paragraph's box as the template gives it. */
    FW_CHECK(json_is_true(json_object_get(name, "paragraph")));
    FW_CHECK_NEAR(json_number_value(json_object_get(name, "x")), -250, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(name, "y")), -55, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(name, "width")), 500, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(name, "height")), 110, 1e-9);
    /* "Hello" at 60 px in DejaVu Sans, centred on the point: 152 px wide
     * (the advances), its ink from the cap height to the baseline. */
    FW_CHECK(json_is_false(json_object_get(title, "paragraph")));
    FW_CHECK_NEAR(json_number_value(json_object_get(title, "width")), 152.1, 0.5);
    FW_CHECK_NEAR(json_number_value(json_object_get(title, "x")), -76.0, 0.5);
    FW_CHECK_NEAR(json_number_value(json_object_get(title, "y")) + json_number_value(json_object_get(title, "height")),
                  0.85, 1.0);
    FW_CHECK_INT(json_integer_value(json_object_get(title, "lines")), 1);
    FW_CHECK(!json_object_get(json_object_get(json_array_get(layers, 2), "replaceable"), "textBox"));
    json_t *match = json_object_get(json_array_get(json_object_get(info, "fonts"), 0), "match");
    FW_CHECK_STR(json_string_value(json_object_get(match, "source")), "machine");
    FW_CHECK_STR(json_string_value(json_object_get(match, "family")), "DejaVu Sans");
    FW_CHECK(json_is_true(json_object_get(match, "exact")));
    json_decref(info);

    /* A font the machine lacks: its metric-compatible stand-in, said so. */
    json_t *font = json_array_get(json_object_get(json_object_get(doc, "fonts"), "list"), 0);
    json_object_set_new(font, "fName", json_string("Arial-BoldMT"));
    json_object_set_new(font, "fFamily", json_string("Arial"));
    json_object_set_new(font, "fStyle", json_string("Bold"));
    FW_REQUIRE(fw_lottie_introspect(doc, &info, &err) == FW_OK);
    match = json_object_get(json_array_get(json_object_get(info, "fonts"), 0), "match");
    FW_CHECK_STR(json_string_value(json_object_get(match, "source")), "machine");
    FW_CHECK_STR(json_string_value(json_object_get(match, "family")), "Liberation Sans");
    FW_CHECK_STR(json_string_value(json_object_get(match, "style")), "Bold");
    FW_CHECK(json_is_false(json_object_get(match, "exact")));
    FW_CHECK(json_is_false(json_object_get(match, "syntheticBold")));
    json_decref(info);
    json_decref(doc);
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

static void test_fonts_named_by_path_inside_the_template_are_its_own(void)
{
    const char *dir = fw_test_tmpdir();
    char sub[PATH_MAX], path[PATH_MAX], outside[PATH_MAX];
    fw_template *tpl = NULL;
    fw_error err = {0};
    FW_REQUIRE(dir);
    snprintf(sub, sizeof(sub), "%s/t", dir);
    FW_REQUIRE(mkdir(sub, 0700) == 0);
    snprintf(path, sizeof(path), "%s/t/font", dir);
    FW_REQUIRE(mkdir(path, 0700) == 0);
    snprintf(path, sizeof(path), "%s/t/font/Brand.ttf", dir);
    FW_REQUIRE(copy_file("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", path) == 0);
    snprintf(outside, sizeof(outside), "%s/Outside.ttf", dir);
    FW_REQUIRE(copy_file("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", outside) == 0);
    snprintf(path, sizeof(path), "%s/t/template.json", dir);
    FILE *f = fopen(path, "w");
    FW_REQUIRE(f);
    fputs("{\"v\":\"5.7.4\",\"fr\":30,\"ip\":0,\"op\":30,\"w\":100,\"h\":100,\"layers\":[],"
          "\"fonts\":{\"list\":[{\"fName\":\"Brand\",\"fFamily\":\"Brand\",\"fPath\":\"font/Brand.ttf\","
          "\"origin\":3},{\"fName\":\"Out\",\"fFamily\":\"Out\",\"fPath\":\"../Outside.ttf\",\"origin\":3},"
          "{\"fName\":\"Web\",\"fFamily\":\"Web\",\"fPath\":\"https://example.com/w.ttf\",\"origin\":3}]}}",
          f);
    fclose(f);
    FW_REQUIRE(fw_template_load(&tpl, path, NULL, NULL, &err) == FW_OK);
    FW_CHECK_INT(fw_template_font_count(tpl), 1);
    FW_CHECK_CONTAINS(fw_template_font_path(tpl, 0), "/t/font/Brand.ttf");
    fw_template_free(&tpl);
    fw_remove_tree(dir);
}

static void test_introspection_of_slots(void)
{
    fw_template *tpl = NULL;
    if (!fw_test_corpus("extensions__slot11.json"))
        FW_SKIP("FW_CORPUS_DIR not set");
    json_t *info = introspect_corpus("extensions__slot11.json", &tpl);
    FW_REQUIRE(info);
    json_t *slots = json_object_get(info, "slots");
    FW_CHECK_INT(json_array_size(slots), 2);
    json_t *doc = json_array_get(slots, 0);
    FW_CHECK_STR(json_string_value(json_object_get(doc, "id")), "text_doc");
    FW_CHECK_STR(json_string_value(json_object_get(doc, "type")), "text");
    FW_CHECK_STR(json_string_value(json_object_get(doc, "value")), "Hello");
    FW_CHECK_STR(json_string_value(json_object_get(json_array_get(slots, 1), "id")), "text_alignment");
    json_decref(info);
    fw_template_free(&tpl);

    if (!fw_test_corpus("extensions__slot0.json"))
        return;
    info = introspect_corpus("extensions__slot0.json", &tpl);
    FW_REQUIRE(info);
    json_t *s;
    size_t i;
    int found = 0;
    json_array_foreach(json_object_get(info, "slots"), i, s) if (strcmp(json_string_value(json_object_get(s, "id")),
                                                                        "bg_color") == 0)
    {
        found = 1;
        FW_CHECK_STR(json_string_value(json_object_get(s, "type")), "color");
        FW_CHECK_STR(json_string_value(json_object_get(s, "value")), "#ffffff");
    }
    FW_CHECK(found);
    json_decref(info);
    fw_template_free(&tpl);
}

static void test_introspection_of_markers(void)
{
    fw_template *tpl = NULL;
    if (!fw_test_corpus("extensions__marker.json"))
        FW_SKIP("FW_CORPUS_DIR not set");
    json_t *info = introspect_corpus("extensions__marker.json", &tpl);
    FW_REQUIRE(info);
    json_t *markers = json_object_get(info, "markers");
    FW_CHECK_INT(json_array_size(markers), 3);
    FW_CHECK_STR(json_string_value(json_object_get(json_array_get(markers, 1), "name")), "sectionB");
    FW_CHECK_NEAR(json_number_value(json_object_get(json_array_get(markers, 1), "time")), 22.0 / 60, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(json_array_get(markers, 2), "duration")), 0.5, 1e-9);
    json_t *comps = json_object_get(info, "compositions");
    FW_CHECK_INT(json_array_size(comps), 2);
    FW_CHECK_STR(json_string_value(json_object_get(json_array_get(comps, 1), "name")), "_square wheel");
    json_decref(info);
    fw_template_free(&tpl);
}

static void test_introspection_of_precomp_heavy_file(void)
{
    fw_template *tpl = NULL;
    if (!fw_test_corpus("expressions__bicycle.json"))
        FW_SKIP("FW_CORPUS_DIR not set");
    json_t *info = introspect_corpus("expressions__bicycle.json", &tpl);
    FW_REQUIRE(info);
    json_t *comps = json_object_get(info, "compositions"), *c, *d;
    size_t i, j;
    FW_CHECK_INT(json_array_size(comps), 8);
    json_array_foreach(comps, i, c) json_array_foreach(comps, j, d) if (i < j)
        FW_CHECK_MSG(strcmp(json_string_value(json_object_get(c, "name")), json_string_value(json_object_get(d, "name"))),
                     "two compositions are called '%s'", json_string_value(json_object_get(c, "name")));
    json_decref(info);
    fw_template_free(&tpl);
}

static void test_select_precomp_as_root(void)
{
    fw_template *tpl = NULL;
    fw_error err = {0};
    json_t *doc = NULL;
    FW_REQUIRE(fw_template_load(&tpl, BASIC, NULL, NULL, &err) == FW_OK);
    FW_REQUIRE(fw_template_select_composition(tpl, "card", &doc, &err) == FW_OK);
    FW_CHECK_INT(json_integer_value(json_object_get(doc, "w")), 200);
    FW_CHECK_NEAR(json_number_value(json_object_get(doc, "fr")), 30, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(doc, "ip")), 10, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(doc, "op")), 50, 1e-9);
    FW_CHECK_INT(json_array_size(json_object_get(doc, "layers")), 2);
    FW_CHECK_INT(json_array_size(json_object_get(doc, "assets")), 0); /* the logo is not used there */
    FW_CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(doc, "layers"), 1), "nm")),
                 "subtitle");
    json_decref(doc);
    FW_REQUIRE(fw_template_select_composition(tpl, NULL, &doc, &err) == FW_OK);
    FW_CHECK_INT(json_array_size(json_object_get(doc, "layers")), 5);
    json_decref(doc);
    FW_CHECK_INT(fw_template_select_composition(tpl, "crad", &doc, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_CONTAINS(err.message, "compositions: main, card");
    fw_template_free(&tpl);
}

int main(void)
{
    FW_RUN(test_json_template_loads_and_resolves_images);
    FW_RUN(test_invalid_json_reports_line_and_column);
    FW_RUN(test_canvas_and_frame_limits_are_enforced);
    FW_RUN(test_layer_nesting_and_json_depth_limits_are_enforced);
    FW_RUN(test_zip_bundle_with_macos_folder_loads);
    FW_RUN(test_zip_bundle_with_an_empty_fonts_folder_loads);
    FW_RUN(test_dotlottie_loads_from_manifest);
    FW_RUN(test_zip_with_path_traversal_is_refused);
    FW_RUN(test_zip_with_absolute_name_is_refused);
    FW_RUN(test_zip_with_symlink_is_refused);
    FW_RUN(test_zip_bomb_ratio_is_refused);
    FW_RUN(test_zip_with_too_many_files_is_refused);
    FW_RUN(test_zip_total_size_limit_is_enforced);
    FW_RUN(test_introspection_of_own_template);
    FW_RUN(test_introspection_of_text2);
    FW_RUN(test_introspection_reports_text_rooms_and_font_matches);
    FW_RUN(test_fonts_named_by_path_inside_the_template_are_its_own);
    FW_RUN(test_introspection_of_slots);
    FW_RUN(test_introspection_of_markers);
    FW_RUN(test_introspection_of_precomp_heavy_file);
    FW_RUN(test_select_precomp_as_root);
    return fw_test_end();
}
