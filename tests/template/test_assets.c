/*
 * test_assets.c - job assets change the template as Nexrender's would: JSON
 * values checked directly, and pixels checked by rendering with rlottie.
 */
#include <jansson.h>
#include <rlottie_capi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/render/engine.h"
#include "server/template/assets.h"
#include "server/template/lottie_doc.h"
#include "server/template/template.h"
#include "server/util/fs.h"
#include "tests/fw_test.h"

#define BASIC "tests/template/testdata/basic.json"
#define RED_PNG "tests/template/testdata/red_40x20.png"

static fw_template *load_basic(void)
{
    fw_template *tpl = NULL;
    fw_error err = {0};
    if (fw_template_load(&tpl, BASIC, NULL, NULL, &err) != FW_OK)
        fprintf(stderr, "  load: %s\n", err.message);
    return tpl;
}

/* Apply assets given as JSON text; returns the code, err filled. */
static fw_err apply(fw_template *tpl, const char *assets_json, const char *comp, const char *job_dir, fw_error *err)
{
    fw_asset_options options;
    json_error_t jerr;
    json_t *assets = json_loads(assets_json, 0, &jerr);
    if (!assets) {
        fprintf(stderr, "  bad test JSON: %s\n", jerr.text);
        return FW_ERR_INTERNAL;
    }
    fw_asset_options_init(&options);
    options.work_dir = job_dir;
    options.fetch.base_dir = job_dir;
    fw_err rc = fw_template_apply_assets(tpl, assets, comp, &options, err);
    json_decref(assets);
    return rc;
}

static json_t *layer(fw_template *tpl, size_t i)
{
    return json_array_get(json_object_get(fw_template_document(tpl), "layers"), i);
}

static json_t *precomp_layer(fw_template *tpl, size_t i)
{
    json_t *comp = json_array_get(json_object_get(fw_template_document(tpl), "assets"), 1);
    return json_array_get(json_object_get(comp, "layers"), i);
}

static const char *text_of(json_t *l)
{
    json_t *s = json_object_get(json_array_get(json_object_get(json_object_get(json_object_get(l, "t"), "d"), "k"), 0), "s");
    return json_string_value(json_object_get(s, "t"));
}

static json_t *text_doc(json_t *l)
{
    return json_object_get(json_array_get(json_object_get(json_object_get(json_object_get(l, "t"), "d"), "k"), 0), "s");
}

/* Render frame 20 of the whole document; returns ARGB32 pixels (caller frees). */
static uint32_t *render(fw_template *tpl)
{
    char *text = json_dumps(fw_template_document(tpl), JSON_COMPACT);
    static int key;
    char keybuf[32];
    snprintf(keybuf, sizeof(keybuf), "k%d", ++key);
    Lottie_Animation *anim = lottie_animation_from_data(text, keybuf, "/");
    free(text);
    if (!anim)
        return NULL;
    uint32_t *px = calloc(200 * 100, sizeof(*px));
    lottie_animation_render(anim, 20, px, 200, 100, 200 * 4);
    lottie_animation_destroy(anim);
    return px;
}

/* The same frame drawn by our own engine, which evaluates expressions. */
static uint32_t *render_cairo(fw_template *tpl)
{
    char *text = json_dumps(fw_template_document(tpl), JSON_COMPACT);
    fw_engine *engine = NULL;
    fw_error err = {0};
    uint32_t *px = calloc(200 * 100, sizeof(*px));
    if (!text || !px || fw_engine_load(&engine, "cairo", text, strlen(text), NULL, &err) != FW_OK ||
        fw_engine_render(engine, 20, px, 200, 100, 200 * 4, &err) != FW_OK) {
        fprintf(stderr, "cairo: %s\n", err.message);
        free(px);
        px = NULL;
    }
    fw_engine_free(&engine);
    free(text);
    return px;
}

/* The colour at (x, y), rounded to the nearest of the pure colours used in
 * these tests so that filtering at image edges does not matter. */
static uint32_t rgb_at(const uint32_t *px, int x, int y)
{
    uint32_t p = px[y * 200 + x], out = 0;
    for (int shift = 0; shift < 24; shift += 8) {
        uint32_t c = (p >> shift) & 0xFF;
        out |= (c >= 0xF0 ? 0xFFu : c <= 0x0F ? 0u : c) << shift;
    }
    return out;
}

static void test_text_asset_replaces_text_in_root_only(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    FW_REQUIRE(apply(tpl, "[{\"type\":\"text\",\"layerName\":\"title\",\"value\":\"Bonjour\"}]", "main", NULL, &err) == FW_OK);
    FW_CHECK_STR(text_of(layer(tpl, 0)), "Bonjour");
    FW_CHECK_STR(text_of(precomp_layer(tpl, 0)), "Inner title"); /* same name, other composition */
    FW_REQUIRE(apply(tpl, "[{\"type\":\"text\",\"layerName\":\"title\",\"composition\":\"card\",\"value\":\"Inside\"}]",
                     "main", NULL, &err) == FW_OK);
    FW_CHECK_STR(text_of(precomp_layer(tpl, 0)), "Inside");
    FW_CHECK_STR(text_of(layer(tpl, 0)), "Bonjour");
    fw_template_free(&tpl);
}

static void test_missing_layer_error_names_index_field_and_layers(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    char buf[1024];
    FW_REQUIRE(tpl);
    FW_CHECK_INT(apply(tpl,
                       "[{\"type\":\"text\",\"layerName\":\"title\",\"value\":\"A\"},"
                       " {\"type\":\"text\",\"layerName\":\"title\",\"value\":\"B\"},"
                       " {\"type\":\"text\",\"layerName\":\"titel\",\"value\":\"C\"}]",
                       "main", NULL, &err),
                 FW_ERR_NOT_FOUND);
    FW_CHECK_STR(fw_error_text(&err, buf, sizeof(buf)),
                 "assets[2].layerName: no layer 'titel' in composition 'main'; layers: title, box, logo, card, bg");
    /* all or nothing: the first two assets did not stick */
    FW_CHECK_STR(text_of(layer(tpl, 0)), "Hello");
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"text\",\"layerName\":\"title\",\"composition\":\"nope\",\"value\":\"A\"}]",
                       "main", NULL, &err),
                 FW_ERR_NOT_FOUND);
    FW_CHECK_STR(err.field, "assets[0].composition");
    FW_CHECK_CONTAINS(err.message, "compositions: main, card");
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"text\",\"layerName\":\"box\",\"value\":\"A\"}]", "main", NULL, &err),
                 FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "shape layer, not a text layer");
    fw_template_free(&tpl);
}

static void test_job_assets_are_not_applied_to_a_document(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"job\",\"layerName\":\"logo\",\"template\":{\"id\":\"x\"}}]", "main", NULL, &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[0].type");
    fw_template_free(&tpl);
}

/* ---- script assets ------------------------------------------------------------------------------- */

static void test_script_changes_text_timing_and_colour(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    FW_CHECK_INT(apply(tpl,
                       "[{\"type\":\"script\",\"parameters\":[{\"key\":\"name\",\"value\":\"ada\"}],"
                       "  \"data\":{\"start\":12},"
                       "  \"value\":\"setText('title', 'Hello ' + NX.get('name').toUpperCase());\\n"
                       "var bg = layer('bg'); bg.ip = job.data.start; bg.sc = '#00ff00';\\n"
                       "for (var i = 0; i < composition.layers.length; i++) composition.layers[i].ks.o.k = 50;\\n"
                       "template.op = 45; console.log('changed', job.composition);\"}]",
                       "main", NULL, &err),
                 FW_OK);
    FW_CHECK_MSG(err.code == FW_OK, "%s: %s", err.field, err.message);
    FW_CHECK_STR(text_of(layer(tpl, 0)), "Hello ADA");
    FW_CHECK_NEAR(json_number_value(json_object_get(layer(tpl, 4), "ip")), 12, 1e-9);
    FW_CHECK_STR(json_string_value(json_object_get(layer(tpl, 4), "sc")), "#00ff00");
    FW_CHECK_NEAR(json_number_value(json_object_get(json_object_get(json_object_get(layer(tpl, 2), "ks"), "o"), "k")), 50,
                  1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(fw_template_document(tpl), "op")), 45, 1e-9);
    /* the changed document still loads and renders */
    uint32_t *px = render(tpl);
    FW_CHECK(px != NULL);
    free(px);
    fw_template_free(&tpl);
}

static void test_script_on_a_precomp_with_keyword_and_file(void)
{
    char dir[] = "/tmp/fw-script-XXXXXX", path[256];
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl && mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s.js", dir);
    FILE *f = fopen(path, "w");
    FW_REQUIRE(f);
    fputs("// sets the subtitle\nsetText(layer('subtitle'), P.get('line'));\n", f);
    fclose(f);
    FW_CHECK_INT(apply(tpl,
                       "[{\"type\":\"script\",\"src\":\"s.js\",\"composition\":\"card\",\"keyword\":\"P\","
                       "  \"parameters\":[{\"key\":\"line\",\"value\":\"from a file\"}]}]",
                       "main", dir, &err),
                 FW_OK);
    FW_CHECK_MSG(err.code == FW_OK, "%s: %s", err.field, err.message);
    FW_CHECK_STR(text_of(precomp_layer(tpl, 1)), "from a file");
    FW_CHECK_STR(text_of(layer(tpl, 0)), "Hello"); /* the main composition's title is untouched */
    FW_CHECK(access(path, F_OK) == 0);             /* the job's own file stays */
    unlink(path);
    rmdir(dir);
    fw_template_free(&tpl);
}

/* The README's script example, as written, on the example template with a "badge" layer added. */
static void test_the_readme_script_example_does_what_it_says(void)
{
    size_t len;
    fw_error err = {0};
    char *readme = fw_read_file("README.md", 1 << 20, &len, &err);
    fw_template *tpl = NULL;
    FW_REQUIRE(readme);
    const char *at = strstr(readme, "### Scripts");
    const char *block = at ? strstr(at, "```json\n") : NULL;
    const char *end = block ? strstr(block + 8, "```") : NULL;
    FW_REQUIRE(block && end);
    json_error_t jerr;
    json_t *job = json_loadb(block + 8, (size_t)(end - block - 8), 0, &jerr);
    if (!job)
        fprintf(stderr, "  the README's example is not JSON: %s (line %d)\n", jerr.text, jerr.line);
    FW_REQUIRE(job);
    FW_REQUIRE(fw_template_load(&tpl, "tests/examples/hello/template.json", NULL, NULL, &err) == FW_OK);
    json_t *layers = json_object_get(fw_template_document(tpl), "layers");
    json_t *badge = json_deep_copy(json_array_get(layers, 1));
    json_object_set_new(badge, "nm", json_string("badge"));
    json_array_append_new(layers, badge);
    size_t before = json_array_size(layers);
    char *assets = json_dumps(json_object_get(job, "assets"), JSON_COMPACT);
    FW_CHECK_INT(apply(tpl, assets, "main", NULL, &err), FW_OK);
    FW_CHECK_MSG(err.code == FW_OK, "%s: %s", err.field, err.message);
    layers = json_object_get(fw_template_document(tpl), "layers");
    FW_CHECK_INT(json_array_size(layers), before - 1);
    json_t *l;
    size_t i;
    json_array_foreach(layers, i, l)
    {
        const char *nm = json_string_value(json_object_get(l, "nm"));
        FW_CHECK(strcmp(nm, "badge") != 0);
        if (strcmp(nm, "title") == 0)
            FW_CHECK_STR(text_of(l), "Hello, Lisbon");
        if (strcmp(nm, "bg") == 0)
            FW_CHECK_STR(json_string_value(json_object_get(l, "sc")), "#db1c3d");
        if (strcmp(nm, "logo") == 0)
            FW_CHECK_NEAR(json_number_value(json_object_get(l, "ip")), 15, 1e-9);
    }
    free(assets);
    json_decref(job);
    free(readme);
    fw_template_free(&tpl);
}

/* Each bad script: the code, the field, what the message says, and what it must also say. */
static void test_bad_scripts_fail_with_message_and_line(void)
{
    static const struct {
        const char *value;
        fw_err code;
        const char *has, *also;
    } cases[] = {
        {"var a = 1;\nthrow new Error('no logo given');", FW_ERR_INVALID, "no logo given", "line 2"},
        {"var a = 1;\n\nvar = ;", FW_ERR_INVALID, "SyntaxError", "line 3"},
        {"layer('nobody');", FW_ERR_INVALID, "no layer 'nobody' in composition 'main'", "line 1"},
        {"setText('box', 'x');", FW_ERR_INVALID, "'box' is not a text layer", ""},
        {"var n = 0;\nwhile (true) { n++; }", FW_ERR_LIMIT, "2 s of CPU time", "line 2"},
        {"for (;;) { try { while (1) {} } catch (e) {} }", FW_ERR_LIMIT, "CPU time", ""},
        {"var a = [], s = 'x';\nwhile (true) { s = s + s; a.push(s + a.length); }", FW_ERR_LIMIT, "64 MiB of memory",
         ""},
        {"eval('1 + 1');", FW_ERR_INVALID, "ReferenceError", ""},
        {"(function(){}).constructor('return 1')();", FW_ERR_INVALID, "not available", ""},
        {"template = 5;", FW_ERR_INVALID, "something other than a document", ""},
        {"delete template.layers;", FW_ERR_INVALID, "without a layers array", ""},
        {"var r = /a+/;", FW_ERR_INVALID, "regular expression literals", ""},
    };
    fw_template *tpl = load_basic();
    FW_REQUIRE(tpl);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_error err = {0};
        json_t *assets = json_pack("[{s:s,s:s,s:s},{s:s,s:s}]", "type", "text", "layerName", "title", "value",
                                   "changed", "type", "script", "value", cases[i].value);
        char *text = json_dumps(assets, JSON_COMPACT);
        FW_CHECK_INT(apply(tpl, text, "main", NULL, &err), cases[i].code);
        FW_CHECK_STR(err.field, "assets[1].value");
        FW_CHECK_CONTAINS(err.message, cases[i].has);
        FW_CHECK_CONTAINS(err.message, cases[i].also);
        FW_CHECK_STR(text_of(layer(tpl, 0)), "Hello"); /* all or nothing: the text asset before it is undone */
        free(text);
        json_decref(assets);
    }
    fw_template_free(&tpl);
}

static void test_data_asset_sets_transform_and_colours(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    FW_REQUIRE(apply(tpl,
                     "[{\"type\":\"data\",\"layerName\":\"title\",\"property\":\"Transform.Position\",\"value\":[50,60]},"
                     " {\"type\":\"data\",\"layerName\":\"title\",\"property\":\"opacity\",\"value\":40},"
                     " {\"type\":\"data\",\"layerName\":\"title\",\"property\":\"Scale\",\"value\":[50,75]},"
                     " {\"type\":\"data\",\"layerName\":\"title\",\"property\":\"Rotation\",\"value\":45},"
                     " {\"type\":\"data\",\"layerName\":\"title\",\"property\":\"Anchor Point\",\"value\":[1,2]},"
                     " {\"type\":\"data\",\"layerName\":\"title\",\"property\":\"Fill Color\",\"value\":[255,128,0]},"
                     " {\"type\":\"data\",\"layerName\":\"title\",\"property\":\"Source Text\",\"value\":\"Data\"},"
                     " {\"type\":\"data\",\"layerName\":\"bg\",\"property\":\"Color\",\"value\":\"#336699\"},"
                     " {\"type\":\"data\",\"layerName\":\"box\",\"property\":\"Stroke Color\",\"value\":[0,1,0]},"
                     " {\"type\":\"data\",\"layerName\":\"box\",\"property\":\"Stroke Width\",\"value\":3}]",
                     "main", NULL, &err) == FW_OK);
    json_t *ks = json_object_get(layer(tpl, 0), "ks");
    FW_CHECK_NEAR(json_number_value(json_array_get(json_object_get(json_object_get(ks, "p"), "k"), 1)), 60, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(json_object_get(ks, "o"), "k")), 40, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_array_get(json_object_get(json_object_get(ks, "s"), "k"), 1)), 75, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(json_object_get(ks, "r"), "k")), 45, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_array_get(json_object_get(json_object_get(ks, "a"), "k"), 0)), 1, 1e-9);
    json_t *fc = json_object_get(text_doc(layer(tpl, 0)), "fc");
    FW_CHECK_NEAR(json_number_value(json_array_get(fc, 0)), 1.0, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_array_get(fc, 1)), 128 / 255.0, 1e-9);
    FW_CHECK_STR(text_of(layer(tpl, 0)), "Data");
    FW_CHECK_STR(json_string_value(json_object_get(layer(tpl, 4), "sc")), "#336699");
    json_t *items = json_object_get(json_array_get(json_object_get(layer(tpl, 1), "shapes"), 0), "it");
    json_t *stroke = json_array_get(items, 2);
    FW_CHECK_NEAR(json_number_value(json_array_get(json_object_get(json_object_get(stroke, "c"), "k"), 1)), 1, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(json_object_get(stroke, "w"), "k")), 3, 1e-9);

    FW_CHECK_INT(apply(tpl, "[{\"type\":\"data\",\"layerName\":\"box\",\"property\":\"Wiggle\",\"value\":1}]", "main", NULL, &err),
                 FW_ERR_UNSUPPORTED);
    FW_CHECK_STR(err.field, "assets[0].property");
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"data\",\"layerName\":\"box\",\"property\":\"Color\",\"value\":\"#zz\"}]", "main", NULL, &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[0].value");
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"data\",\"layerName\":\"title\",\"property\":\"Source Text\",\"expression\":\"'x'\"}]",
                       "main", NULL, &err),
                 FW_ERR_UNSUPPORTED);
    FW_CHECK_STR(err.field, "assets[0].expression");
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"data\",\"layerName\":\"box\",\"property\":\"Opacity\",\"expression\":7}]",
                       "main", NULL, &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[0].expression");
    fw_template_free(&tpl);
}

static void test_ae_expressions_become_lottie_expressions(void)
{
    static const char *const cases[][2] = {
        {"wiggle(2, 30)", "$bm_rt = (wiggle(2, 30)\n);"},
        {"var a = value;\na + [10, 0]", "var a = value;\n$bm_rt = (a + [10, 0]\n);"},
        {"var a = 1\nvar b = 2\na + b;\n", "var a = 1\nvar b = 2\n$bm_rt = (a + b\n);"},
        {"value +\n  10", "$bm_rt = (value +\n  10\n);"},
        {"'a;b'.length // a comment; with a semicolon", "$bm_rt = ('a;b'.length // a comment; with a semicolon\n);"},
        {"function f(x) { return x * 2; }\nf(3)", "function f(x) { return x * 2; }\n$bm_rt = (f(3)\n);"},
        {"if (time > 1) { 5 } else { 7 }", "if (time > 1) { 5 } else { 7 }"},
        {"$bm_rt = value * 2;", "$bm_rt = value * 2;"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = fw_lottie_expression_from_ae(cases[i][0]);
        FW_CHECK_MSG(got && strcmp(got, cases[i][1]) == 0, "%s -> %s", cases[i][0], got ? got : "NULL");
        free(got);
    }
}

static void test_data_expression_is_evaluated_by_the_engine(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    /* The box's fill by expression (blue), and its position by one that
     * keeps its own value. */
    FW_REQUIRE(apply(tpl, "[{\"type\":\"data\",\"layerName\":\"box\",\"property\":\"Fill Color\","
                          "\"expression\":\"[0, 0, 1, 1]\"},"
                          " {\"type\":\"data\",\"layerName\":\"box\",\"property\":\"Position\","
                          "\"expression\":\"var p = value;\\np // as it was\"}]",
                     "main", NULL, &err) == FW_OK);
    uint32_t *px = render_cairo(tpl);
    FW_REQUIRE(px);
    FW_CHECK_MSG(rgb_at(px, 150, 50) == 0x0000FF, "box is %06x", rgb_at(px, 150, 50));
    FW_CHECK_INT(rgb_at(px, 100, 90), 0x00FF00); /* the solid is untouched */
    free(px);
    fw_template_free(&tpl);
}

static void test_data_colour_change_shows_in_pixels(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    uint32_t *before = render(tpl);
    FW_REQUIRE(before);
    FW_CHECK_INT(rgb_at(before, 150, 50), 0xFF0000); /* the red box */
    FW_CHECK_INT(rgb_at(before, 100, 90), 0x00FF00); /* the green solid */
    FW_REQUIRE(apply(tpl, "[{\"type\":\"data\",\"layerName\":\"box\",\"property\":\"Color\",\"value\":\"#0000ff\"},"
                          " {\"type\":\"data\",\"layerName\":\"bg\",\"property\":\"Color\",\"value\":[1,1,0]}]",
                     "main", NULL, &err) == FW_OK);
    uint32_t *after = render(tpl);
    FW_REQUIRE(after);
    FW_CHECK_INT(rgb_at(after, 150, 50), 0x0000FF);
    FW_CHECK_INT(rgb_at(after, 100, 90), 0xFFFF00);
    free(before);
    free(after);
    fw_template_free(&tpl);
}

static void test_layer_remove_makes_pixels_vanish(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    FW_REQUIRE(apply(tpl, "[{\"type\":\"function\",\"name\":\"nx:layer-remove\",\"params\":{\"layerName\":\"box\"}}]",
                     "main", NULL, &err) == FW_OK);
    FW_CHECK_INT(json_array_size(json_object_get(fw_template_document(tpl), "layers")), 4);
    uint32_t *px = render(tpl);
    FW_REQUIRE(px);
    FW_CHECK_INT(rgb_at(px, 150, 50), 0x00FF00);
    free(px);
    fw_template_free(&tpl);
}

static void test_image_asset_appears_where_its_layer_is(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    uint32_t *before = render(tpl);
    FW_REQUIRE(before);
    FW_CHECK_INT(rgb_at(before, 20, 70), 0x0000FF); /* the blue logo at (10,60)-(30,80) */
    FW_REQUIRE(apply(tpl, "[{\"type\":\"image\",\"layerName\":\"logo\",\"src\":\"" RED_PNG "\"}]", "main",
                     ".", &err) == FW_OK);
    json_t *asset = json_array_get(json_object_get(fw_template_document(tpl), "assets"), 2);
    FW_CHECK_NEAR(json_number_value(json_object_get(asset, "w")), 20, 1e-9); /* fill: the old box */
    uint32_t *after = render(tpl);
    FW_REQUIRE(after);
    FW_CHECK_INT(rgb_at(after, 20, 70), 0xFF0000);
    FW_CHECK_INT(rgb_at(after, 40, 70), 0x00FF00); /* nothing spills out of the box */
    free(before);
    free(after);
    fw_template_free(&tpl);
}

static void test_image_fit_contain_keeps_aspect_inside_box(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    FW_REQUIRE(apply(tpl, "[{\"type\":\"image\",\"layerName\":\"logo\",\"src\":\"" RED_PNG "\",\"fit\":\"contain\"}]",
                     "main", ".", &err) == FW_OK);
    json_t *asset = json_array_get(json_object_get(fw_template_document(tpl), "assets"), 2);
    FW_CHECK_NEAR(json_number_value(json_object_get(asset, "w")), 20, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(asset, "h")), 10, 1e-9);
    uint32_t *px = render(tpl);
    FW_REQUIRE(px);
    FW_CHECK_INT(rgb_at(px, 20, 70), 0xFF0000); /* centre of the box */
    FW_CHECK_INT(rgb_at(px, 20, 62), 0x00FF00); /* band above the letterboxed image */
    free(px);
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"image\",\"layerName\":\"title\",\"src\":\"" RED_PNG "\"}]", "main", ".", &err),
                 FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "not an image layer");
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"image\",\"layerName\":\"logo\",\"src\":\"" BASIC "\"}]", "main", ".", &err),
                 FW_ERR_UNSUPPORTED);
    FW_CHECK_STR(err.field, "assets[0].src");
    fw_template_free(&tpl);
}

static void test_image_from_data_url_is_embedded(void)
{
    /* a 1x1 PNG */
    static const char *url = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
    char json[512];
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    snprintf(json, sizeof(json), "[{\"type\":\"image\",\"layerName\":\"logo\",\"src\":\"%s\",\"fit\":\"none\"}]", url);
    FW_REQUIRE(apply(tpl, json, "main", NULL, &err) == FW_OK);
    json_t *asset = json_array_get(json_object_get(fw_template_document(tpl), "assets"), 2);
    FW_CHECK_STR(json_string_value(json_object_get(asset, "p")), url);
    FW_CHECK_INT(json_integer_value(json_object_get(asset, "e")), 1);
    FW_CHECK_NEAR(json_number_value(json_object_get(asset, "w")), 1, 1e-9);
    fw_template_free(&tpl);
}

static void test_function_assets_change_state_text_and_timing(void)
{
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl);
    FW_REQUIRE(apply(tpl,
                     "[{\"type\":\"function\",\"name\":\"nx-layer-state-set\",\"layerName\":\"box\",\"params\":{\"state\":\"hidden\"}},"
                     " {\"type\":\"function\",\"name\":\"nx:text-params-set\",\"layerName\":\"title\",\"params\":"
                     "   {\"fontSize\":72,\"fillColor\":[1,0.5,0],\"tracking\":50,\"leading\":80,\"font\":\"Other\",\"justification\":\"center\"}},"
                     " {\"type\":\"function\",\"name\":\"nx-solid-color-set\",\"params\":{\"layerName\":\"bg\",\"color\":\"#102030\"}},"
                     " {\"type\":\"function\",\"name\":\"nx-layer-start-set\",\"params\":{\"layerName\":\"card\",\"value\":1}},"
                     " {\"type\":\"function\",\"name\":\"nx-layer-duration-set\",\"params\":{\"layerName\":\"logo\",\"value\":0.5}},"
                     " {\"type\":\"function\",\"name\":\"nx-comp-duration-set\",\"params\":{\"value\":1.5}}]",
                     "main", NULL, &err) == FW_OK);
    FW_CHECK(json_is_true(json_object_get(layer(tpl, 1), "hd")));
    json_t *d = text_doc(layer(tpl, 0));
    FW_CHECK_NEAR(json_number_value(json_object_get(d, "s")), 72, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(d, "tr")), 50, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(d, "lh")), 80, 1e-9);
    FW_CHECK_STR(json_string_value(json_object_get(d, "f")), "Other");
    FW_CHECK_INT(json_integer_value(json_object_get(d, "j")), 2);
    FW_CHECK_NEAR(json_number_value(json_array_get(json_object_get(d, "fc"), 1)), 0.5, 1e-9);
    FW_CHECK_STR(json_string_value(json_object_get(layer(tpl, 4), "sc")), "#102030");
    FW_CHECK_NEAR(json_number_value(json_object_get(layer(tpl, 3), "ip")), 30, 1e-9); /* 1 s at 30 fps */
    FW_CHECK_NEAR(json_number_value(json_object_get(layer(tpl, 3), "op")), 70, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(layer(tpl, 2), "op")), 15, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_object_get(fw_template_document(tpl), "op")), 45, 1e-9);
    uint32_t *px = render(tpl);
    FW_REQUIRE(px);
    FW_CHECK_INT(rgb_at(px, 150, 50), 0x102030); /* the hidden box shows the solid */
    free(px);
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"function\",\"name\":\"nx-gen-ai\",\"layerName\":\"logo\"}]", "main", NULL, &err),
                 FW_ERR_UNSUPPORTED);
    FW_CHECK_STR(err.field, "assets[0].name");
    fw_template_free(&tpl);
}

static void test_essential_asset_sets_slots(void)
{
    const char *path = fw_test_corpus("extensions__slot0.json");
    fw_template *tpl = NULL;
    fw_error err = {0};
    if (!path)
        FW_SKIP("FW_CORPUS_DIR not set");
    FW_REQUIRE(fw_template_load(&tpl, path, NULL, NULL, &err) == FW_OK);
    FW_REQUIRE(apply(tpl, "[{\"type\":\"essential\",\"value\":{\"bg_color\":\"#ff0000\",\"ball_size\":[100,100]}}]", NULL, NULL,
                     &err) == FW_OK);
    json_t *slot = json_object_get(json_object_get(json_object_get(fw_template_document(tpl), "slots"), "bg_color"), "p");
    FW_CHECK_NEAR(json_number_value(json_array_get(json_object_get(slot, "k"), 1)), 0, 1e-9);
    FW_CHECK_NEAR(json_number_value(json_array_get(json_object_get(slot, "k"), 0)), 1, 1e-9);
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"essential\",\"value\":{\"nope\":1}}]", NULL, NULL, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_STR(err.field, "assets[0].value.nope");
    FW_CHECK_CONTAINS(err.message, "ball_color");
    fw_template_free(&tpl);

    if (!(path = fw_test_corpus("extensions__slot11.json")))
        return;
    FW_REQUIRE(fw_template_load(&tpl, path, NULL, NULL, &err) == FW_OK);
    FW_REQUIRE(apply(tpl, "[{\"type\":\"essential\",\"layerName\":\"text_doc\",\"value\":\"Bye\"}]", NULL, NULL, &err) == FW_OK);
    FW_CHECK_STR(text_of(layer(tpl, 0)), "Bye");
    fw_template_free(&tpl);
}

static void test_static_asset_copies_into_job_folder(void)
{
    const char *dir = fw_test_tmpdir();
    char job[4200], json[8400], path[4300];
    fw_template *tpl = load_basic();
    fw_error err = {0};
    FW_REQUIRE(tpl && dir);
    snprintf(job, sizeof(job), "%s", dir);
    char cwd[4096];
    FW_REQUIRE(getcwd(cwd, sizeof(cwd)));
    snprintf(json, sizeof(json), "[{\"type\":\"static\",\"src\":\"file://%s/%s\",\"name\":\"red.png\"},"
                                 " {\"type\":\"static\",\"src\":\"data:text/plain,hello%%20world\",\"name\":\"note.txt\"}]",
             cwd, RED_PNG);
    FW_REQUIRE(apply(tpl, json, "main", job, &err) == FW_OK);
    snprintf(path, sizeof(path), "%s/red.png", job);
    struct stat st;
    FW_CHECK(stat(path, &st) == 0 && st.st_size == 93);
    snprintf(path, sizeof(path), "%s/note.txt", job);
    FILE *f = fopen(path, "r");
    char buf[64] = "";
    if (f) {
        FW_CHECK(fgets(buf, sizeof(buf), f) != NULL);
        fclose(f);
    }
    FW_CHECK_STR(buf, "hello world");
    FW_CHECK_INT(apply(tpl, "[{\"type\":\"static\",\"src\":\"data:,x\",\"name\":\"../x\"}]", "main", job, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[0].name");
    fw_template_free(&tpl);
}

int main(void)
{
    FW_RUN(test_text_asset_replaces_text_in_root_only);
    FW_RUN(test_missing_layer_error_names_index_field_and_layers);
    FW_RUN(test_job_assets_are_not_applied_to_a_document);
    FW_RUN(test_script_changes_text_timing_and_colour);
    FW_RUN(test_script_on_a_precomp_with_keyword_and_file);
    FW_RUN(test_the_readme_script_example_does_what_it_says);
    FW_RUN(test_bad_scripts_fail_with_message_and_line);
    FW_RUN(test_data_asset_sets_transform_and_colours);
    FW_RUN(test_data_colour_change_shows_in_pixels);
    FW_RUN(test_ae_expressions_become_lottie_expressions);
    FW_RUN(test_data_expression_is_evaluated_by_the_engine);
    FW_RUN(test_layer_remove_makes_pixels_vanish);
    FW_RUN(test_image_asset_appears_where_its_layer_is);
    FW_RUN(test_image_fit_contain_keeps_aspect_inside_box);
    FW_RUN(test_image_from_data_url_is_embedded);
    FW_RUN(test_function_assets_change_state_text_and_timing);
    FW_RUN(test_essential_asset_sets_slots);
    FW_RUN(test_static_asset_copies_into_job_folder);
    return fw_test_end();
}
