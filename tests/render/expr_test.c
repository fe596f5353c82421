/*
 * expr_test.c - After Effects expressions in the Cairo engine (server/render/cairo/expr.h).
 *
 * Small documents written here exercise each part of the expression API by the numbers
 * lt_prop_eval() returns; the corpus files with expressions must attach with every expression
 * compiled except the ThorVG extension ones, which lottie-web cannot run either.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/render/cairo/expr.h"
#include "server/render/cairo/model.h"
#include "server/render/cairo/path.h"
#include "server/util/fs.h"
#include "tests/fw_test.h"

#define DOC(layers) \
    "{\"v\":\"5.7.0\",\"fr\":24,\"ip\":0,\"op\":240,\"w\":200,\"h\":200,\"layers\":[" layers "]}"
/* A shape layer: name, index, transform members, then anything else ("ef", "shapes"). */
#define LAYER(name, ind, ks, rest)                                                                  \
    "{\"ty\":4,\"nm\":\"" name "\",\"ind\":" #ind ",\"ip\":0,\"op\":240,\"st\":0,\"ks\":{" ks "}" rest "}"
#define STATIC(v) "{\"a\":0,\"k\":" v "}"
#define EXPR(v, x) "{\"a\":0,\"k\":" v ",\"x\":\"var $bm_rt;\\n" x "\"}"
/* Rotation 0 at frame 0 to 100 at frame 10, linearly. */
#define RAMP(x)                                                                                     \
    "{\"a\":1,\"k\":[{\"t\":0,\"s\":[0],\"o\":{\"x\":[0],\"y\":[0]},\"i\":{\"x\":[1],\"y\":[1]}},"  \
    "{\"t\":10,\"s\":[100]}],\"x\":\"var $bm_rt;\\n" x "\"}"

static lt_doc *load(const char *json)
{
    lt_doc *doc = NULL;
    fw_error err = {0};

    if (lt_doc_load(&doc, json, strlen(json), NULL, &err) != FW_OK) {
        fprintf(stderr, "load: %s: %s\n", err.field, err.message);
        return NULL;
    }
    if (lt_expr_attach(doc, &err) != FW_OK) {
        fprintf(stderr, "attach: %s: %s\n", err.field, err.message);
        lt_doc_free(&doc);
        return NULL;
    }
    return doc;
}

static void unload(lt_doc **doc)
{
    lt_expr_detach(*doc);
    lt_doc_free(doc);
}

static double eval1(lt_doc *doc, const lt_prop *p, double frame)
{
    double out[8] = {0};
    lt_prop_eval(doc, p, frame, out);
    return out[0];
}

static void test_time_drives_rotation(void)
{
    lt_doc *doc = load(DOC(LAYER("L", 1, "\"r\":" EXPR("0", "$bm_rt = time * 100;"), "")));
    FW_REQUIRE(doc);
    FW_CHECK_INT(lt_expr_count(doc), 1);
    FW_CHECK_NEAR(eval1(doc, &doc->root.layers[0].ks.r, 12), 50, 1e-9);
    FW_CHECK_NEAR(eval1(doc, &doc->root.layers[0].ks.r, 0), 0, 1e-9);
    unload(&doc);
}

static void test_value_plus_offset(void)
{
    lt_doc *doc = load(DOC(LAYER("L", 1, "\"p\":" EXPR("[10,20]", "$bm_rt = $bm_sum(value, [5, 7]);"), "")));
    double out[3] = {0};
    FW_REQUIRE(doc);
    lt_prop_eval(doc, &doc->root.layers[0].ks.p, 3, out);
    FW_CHECK_NEAR(out[0], 15, 1e-9);
    FW_CHECK_NEAR(out[1], 27, 1e-9);
    unload(&doc);
}

static void test_loop_out_kinds(void)
{
    lt_doc *doc = load(DOC(LAYER("A", 1, "\"r\":" RAMP("$bm_rt = loopOut('cycle');"), "") ","
                           LAYER("B", 2, "\"r\":" RAMP("$bm_rt = thisProperty.loopOut('pingpong');"), "") ","
                           LAYER("C", 3, "\"r\":" RAMP("$bm_rt = loopOut('offset');"), "") ","
                           LAYER("D", 4, "\"r\":" RAMP("$bm_rt = loopOut('continue');"), "") ","
                           LAYER("E", 5, "\"r\":" RAMP("$bm_rt = loopIn('cycle') + key(2).value + numKeys;"), "")));
    FW_REQUIRE(doc);
    FW_CHECK_INT(lt_expr_count(doc), 5);
    lt_layer *l = doc->root.layers;
    FW_CHECK_NEAR(eval1(doc, &l[0].ks.r, 5), 50, 1e-6);  /* inside the keys: the keys */
    FW_CHECK_NEAR(eval1(doc, &l[0].ks.r, 12), 20, 1e-6); /* cycle: frame 2 again */
    FW_CHECK_NEAR(eval1(doc, &l[0].ks.r, 27), 70, 1e-6);
    FW_CHECK_NEAR(eval1(doc, &l[1].ks.r, 12), 80, 1e-6); /* pingpong: backwards from 100 */
    FW_CHECK_NEAR(eval1(doc, &l[1].ks.r, 22), 20, 1e-6); /* and forwards again */
    FW_CHECK_NEAR(eval1(doc, &l[2].ks.r, 12), 120, 1e-6); /* offset: a cycle higher */
    FW_CHECK_NEAR(eval1(doc, &l[2].ks.r, 25), 250, 1e-6);
    FW_CHECK_NEAR(eval1(doc, &l[3].ks.r, 12), 120, 1e-3); /* continue: 10 per frame onwards */
    FW_CHECK_NEAR(eval1(doc, &l[4].ks.r, 4), 40 + 100 + 2, 1e-6);
    unload(&doc);
}

static void test_wiggle_is_deterministic_and_bounded(void)
{
    const char *json = DOC(LAYER("L", 1, "\"p\":" EXPR("[100,100]", "$bm_rt = wiggle(3, 30);"), ""));
    lt_doc *a = load(json), *b = load(json);
    double lo = 1e9, hi = -1e9;
    int same = 1;
    FW_REQUIRE(a && b);
    for (int f = 0; f < 240; f++) {
        double va[3], vb[3];
        lt_prop_eval(a, &a->root.layers[0].ks.p, f, va);
        lt_prop_eval(b, &b->root.layers[0].ks.p, f, vb);
        same &= va[0] == vb[0] && va[1] == vb[1];
        for (int i = 0; i < 2; i++) {
            lo = fmin(lo, va[i]);
            hi = fmax(hi, va[i]);
        }
    }
    FW_CHECK(same);
    FW_CHECK(lo >= 70 && hi <= 130);
    FW_CHECK(hi - lo > 20); /* it does move */
    unload(&a);
    unload(&b);
}

static void test_linear_and_ease(void)
{
    lt_doc *doc = load(DOC(LAYER(
        "L", 1,
        "\"a\":" EXPR("[0,0,0]", "$bm_rt = [linear(0.25, 10, 20), ease(time, 0, 1, 0, 100), easeIn(time, 0, 1, 0, 100)];")
        ",\"r\":" EXPR("0", "$bm_rt = linear(time, 0, 1, [0, 0], [100, 50])[1] + clamp(7, 0, 5);"),
        "")));
    double out[3];
    FW_REQUIRE(doc);
    lt_prop_eval(doc, &doc->root.layers[0].ks.a, 12, out);
    FW_CHECK_NEAR(out[0], 12.5, 1e-9);
    FW_CHECK_NEAR(out[1], 50, 0.5); /* ease is symmetric */
    FW_CHECK(out[2] < 45);          /* easeIn lags at the middle */
    lt_prop_eval(doc, &doc->root.layers[0].ks.a, 48, out);
    FW_CHECK_NEAR(out[1], 100, 1e-9); /* clamped past tMax */
    FW_CHECK_NEAR(eval1(doc, &doc->root.layers[0].ks.r, 12), 25 + 5, 1e-9);
    unload(&doc);
}

static void test_other_layer_transform_and_effect(void)
{
    lt_doc *doc = load(DOC(
        LAYER("Ctrl", 1, "\"p\":" STATIC("[30,40]") ",\"r\":" RAMP("$bm_rt = value;"),
              ",\"ef\":[{\"ty\":5,\"nm\":\"Slider Control\",\"mn\":\"ADBE Slider Control\",\"ef\":["
              "{\"ty\":0,\"nm\":\"Slider\",\"mn\":\"ADBE Slider Control-0001\",\"v\":" STATIC("42") "}]}]") ","
        LAYER("User", 2,
              "\"p\":" EXPR("[1,2]", "$bm_rt = $bm_sum(value, thisComp.layer('Ctrl').transform.position);")
              ",\"r\":" EXPR("0", "$bm_rt = $bm_mul(thisComp.layer('Ctrl').effect('Slider Control')('Slider'), 2);")
              ",\"o\":" EXPR("100", "$bm_rt = thisComp.layer(1).transform.rotation + thisComp.layer('Ctrl').effect(1)('ADBE Slider Control-0001').value;"),
              "")));
    double out[3];
    FW_REQUIRE(doc);
    FW_CHECK_INT(lt_expr_count(doc), 4);
    lt_layer *u = &doc->root.layers[1];
    lt_prop_eval(doc, &u->ks.p, 0, out);
    FW_CHECK_NEAR(out[0], 31, 1e-9);
    FW_CHECK_NEAR(out[1], 42, 1e-9);
    FW_CHECK_NEAR(eval1(doc, &u->ks.r, 0), 84, 1e-9);
    FW_CHECK_NEAR(eval1(doc, &u->ks.o, 5), 50 + 42, 1e-6);
    unload(&doc);
}

#define RECT_GROUP(px)                                                                                    \
    ",\"shapes\":[{\"ty\":\"gr\",\"nm\":\"Group 1\",\"mn\":\"ADBE Vector Group\",\"it\":["                   \
    "{\"ty\":\"rc\",\"nm\":\"Rect\",\"mn\":\"ADBE Vector Shape - Rect\",\"s\":" STATIC("[40,20]")           \
    ",\"p\":" px ",\"r\":" STATIC("0") "},"                                                               \
    "{\"ty\":\"sh\",\"nm\":\"A\",\"mn\":\"ADBE Vector Shape - Group\",\"ks\":{\"a\":0,\"k\":{\"c\":false,"  \
    "\"v\":[[0,0],[100,0]],\"i\":[[0,0],[0,0]],\"o\":[[0,0],[0,0]]}}},"                                   \
    "{\"ty\":\"sh\",\"nm\":\"B\",\"ks\":{\"a\":0,\"k\":{\"c\":true,\"v\":[[5,5]],\"i\":[[0,0]],"             \
    "\"o\":[[0,0]]},\"x\":\"var $bm_rt;\\n$bm_rt = content('Group 1').content('A').path;\"}},"            \
    "{\"ty\":\"tr\",\"p\":" STATIC("[0,0]") ",\"a\":" STATIC("[0,0]") ",\"s\":" STATIC("[100,100]")        \
    ",\"r\":" STATIC("0") ",\"o\":" STATIC("100") "}]}]"

static void test_shape_properties_and_paths(void)
{
    lt_doc *doc = load(DOC(LAYER(
        "L", 1,
        "\"r\":" EXPR("0", "$bm_rt = content('Group 1').content('Rect').size[0];")
        ",\"o\":" EXPR("0", "$bm_rt = thisLayer('ADBE Root Vectors Group')(1)('ADBE Vectors Group')(2)('ADBE Vector Shape').pointOnPath(0.25)[0];")
        ",\"a\":" EXPR("[0,0,0]", "var p = content('Group 1').content('A').path; $bm_rt = p.tangentOnPath(0.5).concat([p.points().length]);"),
        RECT_GROUP(EXPR("[1,1]", "$bm_rt = sum(div(thisProperty.propertyGroup(1)(2), 2), value);")))));
    double out[3];
    FW_REQUIRE(doc);
    FW_CHECK_INT(lt_expr_count(doc), 5);
    lt_layer *l = &doc->root.layers[0];
    FW_CHECK_NEAR(eval1(doc, &l->ks.r, 0), 40, 1e-9);
    FW_CHECK_NEAR(eval1(doc, &l->ks.o, 0), 25, 0.5);
    lt_prop_eval(doc, &l->ks.a, 0, out);
    FW_CHECK_NEAR(out[0], 1, 1e-6);
    FW_CHECK_NEAR(out[1], 0, 1e-6);
    FW_CHECK_NEAR(out[2], 2, 1e-9);
    lt_prop_eval(doc, &l->shapes[0].items[0].p, 0, out);
    FW_CHECK_NEAR(out[0], 21, 1e-9);
    FW_CHECK_NEAR(out[1], 11, 1e-9);

    /* B's expression takes A's path: an open line from (0,0) to (100,0). */
    lt_path path;
    lt_path_init(&path);
    lt_path_prop_eval(doc, &l->shapes[0].items[2].path, 0, &path);
    FW_CHECK_INT((int)path.ncontours, 1);
    FW_CHECK_INT((int)path.npts, 4);
    if (path.npts == 4) {
        FW_CHECK_NEAR(path.pts[0].x, 0, 1e-9);
        FW_CHECK_NEAR(path.pts[3].x, 100, 1e-9);
    }
    FW_CHECK(path.ncontours == 1 && !path.contours[0].closed);
    lt_path_release(&path);
    unload(&doc);
}

static void test_failures_fall_back_and_are_reported(void)
{
    lt_doc *doc = load(DOC(LAYER("Syn", 1, "\"r\":" EXPR("7", "$bm_rt = (;"), "") ","
                           LAYER("Undef", 2, "\"r\":" EXPR("8", "$bm_rt = ct_val;"), "")));
    FW_REQUIRE(doc);
    FW_CHECK_INT(lt_expr_count(doc), 0);
    FW_CHECK_NEAR(eval1(doc, &doc->root.layers[0].ks.r, 5), 7, 1e-9);
    FW_CHECK_NEAR(eval1(doc, &doc->root.layers[1].ks.r, 5), 8, 1e-9);
    FW_CHECK_CONTAINS(doc->unsupported_what, "expression at Syn/Rotation");
    FW_CHECK_CONTAINS(doc->unsupported_what, "ct_val");
    unload(&doc);
}

static void test_runaway_loop_is_stopped(void)
{
    lt_doc *doc = load(DOC(LAYER("Loop", 1,
                                 "\"r\":" EXPR("9", "while(true){}")
                                 ",\"o\":" EXPR("50", "var n = 0; for (;;) { try { while (1) { n++; } } catch (e) {} }"),
                                 "")));
    FW_REQUIRE(doc);
    FW_CHECK_INT(lt_expr_count(doc), 0);
    FW_CHECK_NEAR(eval1(doc, &doc->root.layers[0].ks.r, 5), 9, 1e-9);
    FW_CHECK_NEAR(eval1(doc, &doc->root.layers[0].ks.o, 5), 50, 1e-9);
    FW_CHECK_CONTAINS(doc->unsupported_what, "time limit");
    unload(&doc);
}

static void test_a_document_of_runaways_costs_a_few_limits_not_one_each(void)
{
    /* Six layers each with a runaway: after the first four run out of time, the rest are switched
     * off without being run. */
    lt_doc *doc = load(DOC(LAYER("A", 1, "\"r\":" EXPR("1", "while(true){}"), "") ","
                           LAYER("B", 2, "\"r\":" EXPR("2", "while(true){}"), "") ","
                           LAYER("C", 3, "\"r\":" EXPR("3", "while(true){}"), "") ","
                           LAYER("D", 4, "\"r\":" EXPR("4", "while(true){}"), "") ","
                           LAYER("E", 5, "\"r\":" EXPR("5", "while(true){}"), "") ","
                           LAYER("F", 6, "\"r\":" EXPR("6", "$bm_rt = time * 10;"), "")));
    int limits = 0;
    FW_REQUIRE(doc);
    for (const char *p = doc->unsupported_what; (p = strstr(p, "time limit")); p++)
        limits++;
    FW_CHECK_INT(limits, 4);
    FW_CHECK_CONTAINS(doc->unsupported_what, "switched off");
    FW_CHECK_INT(lt_expr_count(doc), 0);
    FW_CHECK_NEAR(eval1(doc, &doc->root.layers[5].ks.r, 5), 6, 1e-9);
    unload(&doc);
}

static void test_unbounded_allocation_stops_at_the_cap(void)
{
    lt_doc *doc = load(DOC(LAYER(
        "Mem", 1, "\"r\":" EXPR("3", "var s = 'x', a = []; while (true) { s = s + s; a.push(s); }"), "")));
    FW_REQUIRE(doc);
    FW_CHECK_INT(lt_expr_count(doc), 0);
    FW_CHECK_NEAR(eval1(doc, &doc->root.layers[0].ks.r, 5), 3, 1e-9);
    FW_CHECK_CONTAINS(doc->unsupported_what, "memory limit");
    unload(&doc);
}

static void test_guard_rejects_what_it_cannot_see(void)
{
    char why[128];
    char *s = lt_expr_guard_source("for (var i = 0; i < 3; i++) { x = function (a) { return a; }; } do {} while (k)", why, sizeof(why));
    FW_REQUIRE(s);
    FW_CHECK_STR(s, "for (var i = 0;__fw_tick()&&( i < 3); i++) { x = function (a) {__fw_tick(); return a; }; } do {} while (__fw_tick()&&(k))");
    free(s);
    FW_CHECK(lt_expr_guard_source("if (a) /x/.test(b)", why, sizeof(why)) == NULL);
    FW_CHECK(lt_expr_guard_source("with (o) { }", why, sizeof(why)) == NULL);
    FW_CHECK(lt_expr_guard_source("wh\\u0069le(1){}", why, sizeof(why)) == NULL);
    FW_CHECK(lt_expr_guard_source("var __fw_tick = 1", why, sizeof(why)) == NULL);
    FW_CHECK(lt_expr_guard_source("}); while(1){} (function(){", why, sizeof(why)) == NULL);
    s = lt_expr_guard_source("var s = 'while(1){}' + \"/\"; x = a / b / c;", why, sizeof(why));
    FW_REQUIRE(s);
    FW_CHECK_STR(s, "var s = 'while(1){}' + \"/\"; x = a / b / c;");
    free(s);
}

static void test_corpus_expressions_compile(void)
{
    static const struct {
        const char *file;
        int expected;
    } files[] = {
        {"16266.json", 3},
        {"expressions__11272.json", 6},
        {"expressions__4128.json", 1},
        {"expressions__67449_arrow_right_original.json", 4},
        {"expressions__bicycle.json", 14},
        {"expressions__driving.json", 2},
        {"expressions__intelia_logo_animation.json", 20},
        {"expressions__jolly_walker.json", 4},
        {"expressions__layereffect.json", 10},
        {"expressions__snail.json", 2},
        {"expressions__world_locations.json", 6},
        {"extensions__spin.json", 0},
    };
    if (!fw_test_corpus("16266.json"))
        FW_SKIP("FW_CORPUS_DIR is not set");
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len = 0;
        char *json = fw_read_file(fw_test_corpus(files[i].file), 64u << 20, &len, NULL);
        lt_doc *doc = NULL;
        fw_error err = {0};
        FW_CHECK_MSG(json != NULL, "%s missing", files[i].file);
        if (!json)
            continue;
        FW_CHECK(lt_doc_load(&doc, json, len, NULL, &err) == FW_OK);
        free(json);
        if (!doc)
            continue;
        FW_CHECK(lt_expr_attach(doc, &err) == FW_OK);
        FW_CHECK_MSG(lt_expr_count(doc) == files[i].expected, "%s: %d expressions, expected %d (%s)", files[i].file,
                     lt_expr_count(doc), files[i].expected, doc->unsupported_what);
        /* Every frame evaluates without a runaway. */
        for (int f = (int)doc->ip; f < (int)doc->op; f += 7)
            for (int k = 0; k < doc->root.nlayers; k++) {
                double out[4];
                lt_prop_eval(doc, &doc->root.layers[k].ks.r, f, out);
            }
        unload(&doc);
    }
}

static void test_corpus_values_match_lottie_web(void)
{
    size_t len = 0;
    const char *path = fw_test_corpus("expressions__driving.json");
    char *json;
    lt_doc *doc = NULL;
    fw_error err = {0};
    if (!path)
        FW_SKIP("FW_CORPUS_DIR is not set");
    json = fw_read_file(path, 64u << 20, &len, NULL);
    FW_REQUIRE(json);
    FW_REQUIRE(lt_doc_load(&doc, json, len, NULL, &err) == FW_OK);
    free(json);
    FW_REQUIRE(lt_expr_attach(doc, &err) == FW_OK);
    /* $bm_mul(time, -500): a wheel turning -500 degrees a second. */
    lt_layer *l = &doc->root.layers[3];
    FW_CHECK_NEAR(eval1(doc, &l->ks.r, doc->fr - l->st), -500, 1e-6);
    unload(&doc);

    /* sum(div(thisProperty.propertyGroup(1)(2), 2), value): half the ellipse's size [3,3] plus [20,0]. */
    path = fw_test_corpus("expressions__intelia_logo_animation.json");
    FW_REQUIRE(path);
    json = fw_read_file(path, 64u << 20, &len, NULL);
    FW_REQUIRE(json);
    FW_REQUIRE(lt_doc_load(&doc, json, len, NULL, &err) == FW_OK);
    free(json);
    FW_REQUIRE(lt_expr_attach(doc, &err) == FW_OK);
    lt_comp *c = NULL;
    for (int i = 0; i < doc->ncomps; i++)
        if (doc->comps[i].id && strcmp(doc->comps[i].id, "comp_27") == 0)
            c = &doc->comps[i];
    FW_REQUIRE(c && c->nlayers > 0 && c->layers[0].nshapes > 0);
    double out[3];
    lt_prop_eval(doc, &c->layers[0].shapes[0].items[0].items[0].p, 0, out);
    FW_CHECK_NEAR(out[0], 21.5, 1e-9);
    FW_CHECK_NEAR(out[1], 1.5, 1e-9);
    unload(&doc);
}

int main(void)
{
    FW_RUN(test_time_drives_rotation);
    FW_RUN(test_value_plus_offset);
    FW_RUN(test_loop_out_kinds);
    FW_RUN(test_wiggle_is_deterministic_and_bounded);
    FW_RUN(test_linear_and_ease);
    FW_RUN(test_other_layer_transform_and_effect);
    FW_RUN(test_shape_properties_and_paths);
    FW_RUN(test_failures_fall_back_and_are_reported);
    FW_RUN(test_runaway_loop_is_stopped);
    FW_RUN(test_a_document_of_runaways_costs_a_few_limits_not_one_each);
    FW_RUN(test_unbounded_allocation_stops_at_the_cap);
    FW_RUN(test_guard_rejects_what_it_cannot_see);
    FW_RUN(test_corpus_expressions_compile);
    FW_RUN(test_corpus_values_match_lottie_web);
    return fw_test_end();
}
