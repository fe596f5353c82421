/*
 * The Cairo engine, feature by feature, through the engine interface: small
 * documents of our own, drawn at their own size, checked by the pixels where
 * each feature shows (a matte, mask modes, a trim path, a gradient's
 * highlight, a text animator, an expression, blend modes, time remapping,
 * images given by the caller).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/render/engine.h"
#include "server/text/fonts.h"
#include "server/util/fs.h"
#include "tests/fw_test.h"

#define W 100
#define H 100

static uint32_t pixels[W * H];
static fw_fontset *fonts;

/* A document of size W x H, 24 fps, 48 frames, with these layers (and assets). */
static char *doc(const char *layers, const char *assets)
{
    static char buf[16384];
    snprintf(buf, sizeof(buf),
             "{\"v\":\"5.7.4\",\"fr\":24,\"ip\":0,\"op\":48,\"w\":%d,\"h\":%d,\"assets\":[%s],\"layers\":[%s],"
             "\"fonts\":{\"list\":[{\"fName\":\"DejaVuSans\",\"fFamily\":\"DejaVu Sans\",\"fStyle\":\"Book\"}]}}",
             W, H, assets ? assets : "", layers);
    return buf;
}

static fw_engine *load(const char *json)
{
    fw_engine_options opts = {.fonts = fonts};
    fw_engine *e = NULL;
    fw_error err;
    if (fw_engine_load(&e, "cairo", json, strlen(json), &opts, &err) != FW_OK) {
        fprintf(stderr, "load: %s: %s\n", err.field, err.message);
        return NULL;
    }
    return e;
}

static int draw(fw_engine *e, int frame)
{
    fw_error err;
    if (fw_engine_render(e, frame, pixels, W, H, W * 4, &err) != FW_OK) {
        fprintf(stderr, "render: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* Channels of pixel (x, y): alpha and the premultiplied colour. */
static unsigned A(int x, int y) { return pixels[y * W + x] >> 24; }
static unsigned R(int x, int y) { return (pixels[y * W + x] >> 16) & 255; }
static unsigned G(int x, int y) { return (pixels[y * W + x] >> 8) & 255; }
static unsigned B(int x, int y) { return pixels[y * W + x] & 255; }

/* Layer pieces. */
#define KS "\"ks\":{\"o\":{\"a\":0,\"k\":100},\"p\":{\"a\":0,\"k\":[0,0]},\"a\":{\"a\":0,\"k\":[0,0]}}"
#define RED_SOLID(ind, extra) \
    "{\"ind\":" #ind ",\"ty\":1,\"sc\":\"#ff0000\",\"sw\":100,\"sh\":100,\"ip\":0,\"op\":48,\"st\":0," KS extra "}"
#define SQUARE_PATH(x0, y0, x1, y1)                                                                            \
    "{\"a\":0,\"k\":{\"v\":[[" #x0 "," #y0 "],[" #x1 "," #y0 "],[" #x1 "," #y1 "],[" #x0 "," #y1 "]],"       \
    "\"i\":[[0,0],[0,0],[0,0],[0,0]],\"o\":[[0,0],[0,0],[0,0],[0,0]],\"c\":true}}"
#define ELLIPSE_LAYER(ind, extra)                                                                              \
    "{\"ind\":" #ind ",\"ty\":4,\"ip\":0,\"op\":48,\"st\":0," KS extra ",\"shapes\":[{\"ty\":\"el\",\"p\":"     \
    "{\"a\":0,\"k\":[50,50]},\"s\":{\"a\":0,\"k\":[40,40]}},{\"ty\":\"fl\",\"c\":{\"a\":0,\"k\":[1,1,1,1]},"    \
    "\"o\":{\"a\":0,\"k\":100}}]}"

static void test_alpha_matte_shows_the_layer_only_inside_the_matte(void)
{
    fw_engine *e = load(doc(ELLIPSE_LAYER(1, ",\"td\":1") "," RED_SOLID(2, ",\"tt\":1"), NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(A(50, 50), 255);
    FW_CHECK_INT(R(50, 50), 255);
    FW_CHECK_INT(G(50, 50), 0);
    FW_CHECK_INT(A(5, 5), 0);   /* outside the circle: nothing */
    FW_CHECK_INT(A(90, 50), 0); /* the matte itself is not drawn */
    fw_engine_free(&e);
}

static void test_inverted_luma_matte_cuts_the_white_circle_out(void)
{
    fw_engine *e = load(doc(ELLIPSE_LAYER(1, ",\"td\":1") "," RED_SOLID(2, ",\"tt\":4"), NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(A(50, 50), 0);
    FW_CHECK_INT(A(5, 5), 255);
    FW_CHECK_INT(R(5, 5), 255);
    fw_engine_free(&e);
}

static void test_matte_named_by_tp_below_the_layer(void)
{
    /* The newer form: the matte is found by index ("tp"), wherever it is. */
    fw_engine *e = load(doc(RED_SOLID(1, ",\"tt\":1,\"tp\":7") "," ELLIPSE_LAYER(7, ",\"td\":1"), NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(R(50, 50), 255);
    FW_CHECK_INT(A(5, 5), 0);
    fw_engine_free(&e);
}

static void test_mask_subtract_and_intersect(void)
{
    fw_engine *e;

    /* Subtract the left half. */
    e = load(doc(RED_SOLID(1, ",\"masksProperties\":[{\"mode\":\"s\",\"inv\":false,\"pt\":" SQUARE_PATH(0, 0, 50, 100)
                              ",\"o\":{\"a\":0,\"k\":100},\"x\":{\"a\":0,\"k\":0}}]"),
                 NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(A(25, 50), 0);
    FW_CHECK_INT(A(75, 50), 255);
    fw_engine_free(&e);

    /* Add the left half, intersect with the top half: the top-left quarter stays. */
    e = load(doc(RED_SOLID(1, ",\"masksProperties\":["
                              "{\"mode\":\"a\",\"pt\":" SQUARE_PATH(0, 0, 50, 100) ",\"o\":{\"a\":0,\"k\":100}},"
                              "{\"mode\":\"i\",\"pt\":" SQUARE_PATH(0, 0, 100, 50) ",\"o\":{\"a\":0,\"k\":100}}]"),
                 NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(A(25, 25), 255);
    FW_CHECK_INT(A(75, 25), 0);
    FW_CHECK_INT(A(25, 75), 0);
    FW_CHECK_INT(A(75, 75), 0);
    fw_engine_free(&e);

    /* An inverted add mask at half opacity: outside the square half covered, inside nothing. */
    e = load(doc(RED_SOLID(1, ",\"masksProperties\":[{\"mode\":\"a\",\"inv\":true,\"pt\":" SQUARE_PATH(25, 25, 75, 75)
                              ",\"o\":{\"a\":0,\"k\":50}}]"),
                 NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(A(50, 50), 0);
    FW_CHECK(A(5, 5) >= 126 && A(5, 5) <= 129);
    fw_engine_free(&e);
}

static void test_trim_path_draws_the_first_half_of_a_line(void)
{
    fw_engine *e = load(doc("{\"ind\":1,\"ty\":4,\"ip\":0,\"op\":48,\"st\":0," KS ",\"shapes\":["
                            "{\"ty\":\"sh\",\"ks\":{\"a\":0,\"k\":{\"v\":[[10,50],[90,50]],\"i\":[[0,0],[0,0]],"
                            "\"o\":[[0,0],[0,0]],\"c\":false}}},"
                            "{\"ty\":\"tm\",\"s\":{\"a\":0,\"k\":0},\"e\":{\"a\":0,\"k\":50},\"o\":{\"a\":0,\"k\":0},\"m\":1},"
                            "{\"ty\":\"st\",\"c\":{\"a\":0,\"k\":[0,0,1,1]},\"o\":{\"a\":0,\"k\":100},\"w\":{\"a\":0,\"k\":6},"
                            "\"lc\":1,\"lj\":1}]}",
                            NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(B(20, 50), 255);
    FW_CHECK_INT(B(45, 50), 255);
    FW_CHECK_INT(A(55, 50), 0);
    FW_CHECK_INT(A(85, 50), 0);
    fw_engine_free(&e);
}

/* A radial gradient from white (centre) to black (edge), radius 40 around (50,50). */
static unsigned radial_at(const char *highlight, int x, int y)
{
    char layer[2048];
    snprintf(layer, sizeof(layer),
             "{\"ind\":1,\"ty\":4,\"ip\":0,\"op\":48,\"st\":0," KS ",\"shapes\":["
             "{\"ty\":\"rc\",\"p\":{\"a\":0,\"k\":[50,50]},\"s\":{\"a\":0,\"k\":[100,100]},\"r\":{\"a\":0,\"k\":0}},"
             "{\"ty\":\"gf\",\"t\":2,\"o\":{\"a\":0,\"k\":100},\"s\":{\"a\":0,\"k\":[50,50]},\"e\":{\"a\":0,\"k\":[90,50]},"
             "\"h\":{\"a\":0,\"k\":%s},\"a\":{\"a\":0,\"k\":0},\"g\":{\"p\":2,\"k\":{\"a\":0,\"k\":[0,1,1,1,1,0,0,0]}}}]}",
             highlight);
    fw_engine *e = load(doc(layer, NULL));
    unsigned v = 0;
    if (e && draw(e, 0) == 0)
        v = G(x, y);
    fw_engine_free(&e);
    return v;
}

static void test_gradient_highlight_moves_the_focal_point(void)
{
    /* Without a highlight the gradient is symmetric about its centre; a 60% highlight at angle 0
     * moves the bright focal point 24 px to the right. */
    unsigned left0 = radial_at("0", 34, 50), right0 = radial_at("0", 65, 50);
    unsigned left = radial_at("60", 34, 50), right = radial_at("60", 65, 50);
    FW_CHECK(left0 > 80 && left0 < 200);
    FW_CHECK(abs((int)left0 - (int)right0) <= 2);
    FW_CHECK(right > right0 + 40);
    FW_CHECK(left + 20 < left0);
    FW_CHECK(radial_at("60", 74, 50) > 240); /* the focal point itself is white */
}

static void test_text_animator_hides_the_first_half_of_the_characters(void)
{
    const char *text = "{\"ind\":1,\"ty\":5,\"ip\":0,\"op\":48,\"st\":0,\"ks\":{\"p\":{\"a\":0,\"k\":[5,60]}},"
                       "\"t\":{\"d\":{\"k\":[{\"t\":0,\"s\":{\"t\":\"HHHHHH\",\"f\":\"DejaVuSans\",\"s\":24,\"j\":0,"
                       "\"tr\":0,\"lh\":28,\"fc\":[0,0,0]}}]},%s\"m\":{\"g\":1,\"a\":{\"a\":0,\"k\":[0,0]}},\"p\":{}}}";
    const char *animator = "\"a\":[{\"s\":{\"s\":{\"a\":0,\"k\":0},\"e\":{\"a\":0,\"k\":50},\"o\":{\"a\":0,\"k\":0},"
                           "\"r\":1,\"b\":1,\"sh\":1},\"a\":{\"o\":{\"a\":0,\"k\":0}}}],";
    char layer[2048];
    int left_ink = 0, right_ink = 0, left_plain = 0;

    snprintf(layer, sizeof(layer), text, "");
    fw_engine *e = load(doc(layer, NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    for (int y = 30; y < 65; y++)
        for (int x = 5; x < 45; x++)
            left_plain += A(x, y) > 128;
    fw_engine_free(&e);

    snprintf(layer, sizeof(layer), text, animator);
    e = load(doc(layer, NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    for (int y = 30; y < 65; y++) {
        for (int x = 5; x < 45; x++)
            left_ink += A(x, y) > 128;
        for (int x = 50; x < 95; x++)
            right_ink += A(x, y) > 128;
    }
    fw_engine_free(&e);
    FW_CHECK(left_plain > 100); /* without the animator the first characters are there */
    FW_CHECK_INT(left_ink, 0);
    FW_CHECK(right_ink > 100);
}

static void test_expression_moves_a_layer_with_time(void)
{
    /* x = time * 100: at frame 12 (0.5 s) the square's left edge is at 50. */
    fw_engine *e = load(doc("{\"ind\":1,\"ty\":4,\"ip\":0,\"op\":48,\"st\":0,\"ks\":{\"p\":{\"a\":0,\"k\":[0,0],"
                            "\"x\":\"var $bm_rt; $bm_rt = [time * 100, 40];\"}},\"shapes\":["
                            "{\"ty\":\"rc\",\"p\":{\"a\":0,\"k\":[10,10]},\"s\":{\"a\":0,\"k\":[20,20]},\"r\":{\"a\":0,\"k\":0}},"
                            "{\"ty\":\"fl\",\"c\":{\"a\":0,\"k\":[0,1,0,1]},\"o\":{\"a\":0,\"k\":100}}]}",
                            NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 12) == 0);
    FW_CHECK_INT(A(48, 50), 0);
    FW_CHECK_INT(G(52, 50), 255);
    FW_CHECK_INT(G(68, 50), 255);
    FW_CHECK_INT(A(72, 50), 0);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(G(10, 50), 255);
    FW_CHECK_INT(A(30, 50), 0);
    fw_engine_free(&e);
}

/* Two overlapping squares, 20..60 and 40..80, merged with mode m and filled blue. */
static int merged_at(int mode, int x, int y)
{
    char layer[2048];
    snprintf(layer, sizeof(layer),
             "{\"ind\":1,\"ty\":4,\"ip\":0,\"op\":48,\"st\":0," KS ",\"shapes\":[{\"ty\":\"gr\",\"it\":["
             "{\"ty\":\"rc\",\"d\":1,\"p\":{\"a\":0,\"k\":[40,40]},\"s\":{\"a\":0,\"k\":[40,40]},\"r\":{\"a\":0,\"k\":0}},"
             "{\"ty\":\"rc\",\"d\":1,\"p\":{\"a\":0,\"k\":[60,60]},\"s\":{\"a\":0,\"k\":[40,40]},\"r\":{\"a\":0,\"k\":0}},"
             "{\"ty\":\"mm\",\"mm\":%d},"
             "{\"ty\":\"fl\",\"c\":{\"a\":0,\"k\":[0,0,1,1]},\"o\":{\"a\":0,\"k\":100}},"
             "{\"ty\":\"tr\",\"p\":{\"a\":0,\"k\":[0,0]},\"a\":{\"a\":0,\"k\":[0,0]},\"s\":{\"a\":0,\"k\":[100,100]},"
             "\"r\":{\"a\":0,\"k\":0},\"o\":{\"a\":0,\"k\":100}}]}]}",
             mode);
    fw_engine *e = load(doc(layer, NULL));
    int v = -1;
    if (e && draw(e, 0) == 0)
        v = (int)B(x, y);
    fw_engine_free(&e);
    return v;
}

static void test_merge_paths_modes(void)
{
    /* Points: only in the first (30,30), in both (50,50), only in the second (70,70). */
    FW_CHECK_INT(merged_at(1, 30, 30), 255); /* merge: both shapes */
    FW_CHECK_INT(merged_at(1, 70, 70), 255);
    FW_CHECK_INT(merged_at(2, 50, 50), 255); /* add */
    FW_CHECK_INT(merged_at(2, 70, 70), 255);
    FW_CHECK_INT(merged_at(3, 30, 30), 255); /* subtract: the first without the second */
    FW_CHECK_INT(merged_at(3, 50, 50), 0);
    FW_CHECK_INT(merged_at(3, 70, 70), 0);
    FW_CHECK_INT(merged_at(4, 30, 30), 0); /* intersect: only where both are */
    FW_CHECK_INT(merged_at(4, 50, 50), 255);
    FW_CHECK_INT(merged_at(4, 70, 70), 0);
    FW_CHECK_INT(merged_at(5, 30, 30), 255); /* exclude intersections */
    FW_CHECK_INT(merged_at(5, 50, 50), 0);
    FW_CHECK_INT(merged_at(5, 70, 70), 255);

    /* "Merge" makes one compound path of a square and a reversed square inside it (a ring); the
     * intersect after it then has one shape only, and keeps the ring whole. */
    char layer[2048];
    snprintf(layer, sizeof(layer),
             "{\"ind\":1,\"ty\":4,\"ip\":0,\"op\":48,\"st\":0," KS ",\"shapes\":[{\"ty\":\"gr\",\"it\":["
             "{\"ty\":\"rc\",\"d\":1,\"p\":{\"a\":0,\"k\":[50,50]},\"s\":{\"a\":0,\"k\":[80,80]},\"r\":{\"a\":0,\"k\":0}},"
             "{\"ty\":\"rc\",\"d\":3,\"p\":{\"a\":0,\"k\":[50,50]},\"s\":{\"a\":0,\"k\":[40,40]},\"r\":{\"a\":0,\"k\":0}},"
             "{\"ty\":\"mm\",\"mm\":1},{\"ty\":\"mm\",\"mm\":4},"
             "{\"ty\":\"fl\",\"c\":{\"a\":0,\"k\":[0,0,1,1]},\"o\":{\"a\":0,\"k\":100}},"
             "{\"ty\":\"tr\",\"p\":{\"a\":0,\"k\":[0,0]},\"a\":{\"a\":0,\"k\":[0,0]},\"s\":{\"a\":0,\"k\":[100,100]},"
             "\"r\":{\"a\":0,\"k\":0},\"o\":{\"a\":0,\"k\":100}}]}]}");
    fw_engine *e = load(doc(layer, NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(B(20, 50), 255); /* the ring */
    FW_CHECK_INT(A(50, 50), 0);   /* the hole */
    fw_engine_free(&e);
}

/* A red solid whose "none" mask is a line across its middle, stroked green by the Stroke effect. */
static fw_engine *stroked(int style, double end)
{
    char layer[2048];
    snprintf(layer, sizeof(layer),
             RED_SOLID(1, ",\"masksProperties\":[{\"mode\":\"n\",\"pt\":{\"a\":0,\"k\":{\"v\":[[10,50],[90,50]],"
                          "\"i\":[[0,0],[0,0]],\"o\":[[0,0],[0,0]],\"c\":false}},\"o\":{\"a\":0,\"k\":100}}],"
                          "\"ef\":[{\"ty\":22,\"nm\":\"Stroke\",\"mn\":\"ADBE Stroke\",\"en\":1,\"ef\":["
                          "{\"ty\":10,\"v\":{\"a\":0,\"k\":1}},{\"ty\":7,\"v\":{\"a\":0,\"k\":0}},"
                          "{\"ty\":7,\"v\":{\"a\":0,\"k\":0}},{\"ty\":2,\"v\":{\"a\":0,\"k\":[0,1,0,1]}},"
                          "{\"ty\":0,\"v\":{\"a\":0,\"k\":6}},{\"ty\":0,\"v\":{\"a\":0,\"k\":1}},"
                          "{\"ty\":0,\"v\":{\"a\":0,\"k\":1}},{\"ty\":0,\"v\":{\"a\":0,\"k\":0}},"
                          "{\"ty\":0,\"v\":{\"a\":0,\"k\":%g}},{\"ty\":0,\"v\":{\"a\":0,\"k\":15}},"
                          "{\"ty\":7,\"v\":{\"a\":0,\"k\":%d}}]}]"),
             end, style);
    return load(doc(layer, NULL));
}

static void test_stroke_effect_follows_a_mask_path(void)
{
    fw_engine *e = stroked(1, 100);
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(G(50, 50), 255); /* the brush */
    FW_CHECK_INT(R(50, 50), 0);
    FW_CHECK_INT(R(50, 20), 255); /* the layer under it, not masked by a "none" mask */
    fw_engine_free(&e);

    e = stroked(2, 50); /* on transparent, the first half of the path */
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(G(30, 50), 255);
    FW_CHECK_INT(A(70, 50), 0);
    FW_CHECK_INT(A(50, 20), 0);
    fw_engine_free(&e);

    e = stroked(3, 100); /* reveal the layer under the brush */
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(R(50, 50), 255);
    FW_CHECK_INT(G(50, 50), 0);
    FW_CHECK_INT(A(50, 20), 0);
    fw_engine_free(&e);
}

static void test_blur_spreads_beyond_the_layer_content(void)
{
    /* A 20 px square blurred by 20 (sigma 6): its edge softens on every side, evenly, and the blur
     * is not cut where the square ends. */
    fw_engine *e = load(doc("{\"ind\":1,\"ty\":4,\"ip\":0,\"op\":48,\"st\":0," KS ",\"shapes\":["
                            "{\"ty\":\"rc\",\"p\":{\"a\":0,\"k\":[50,50]},\"s\":{\"a\":0,\"k\":[20,20]},\"r\":{\"a\":0,\"k\":0}},"
                            "{\"ty\":\"fl\",\"c\":{\"a\":0,\"k\":[0,0,0,1]},\"o\":{\"a\":0,\"k\":100}}],"
                            "\"ef\":[{\"ty\":29,\"en\":1,\"ef\":[{\"ty\":0,\"v\":{\"a\":0,\"k\":20}},"
                            "{\"ty\":7,\"v\":{\"a\":0,\"k\":1}},{\"ty\":7,\"v\":{\"a\":0,\"k\":0}}]}]}",
                            NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK(A(50, 50) > 150);
    FW_CHECK(A(66, 50) > 10 && A(66, 50) < 128); /* 6 px outside the square */
    FW_CHECK(abs((int)A(66, 50) - (int)A(33, 50)) <= 3);
    FW_CHECK(abs((int)A(50, 66) - (int)A(50, 33)) <= 3);
    FW_CHECK_INT(A(95, 50), 0);
    fw_engine_free(&e);
}

static void test_multiply_blend_mode(void)
{
    /* A 50% grey square multiplied over red gives dark red; outside it, red. */
    fw_engine *e = load(doc("{\"ind\":1,\"ty\":4,\"bm\":1,\"ip\":0,\"op\":48,\"st\":0," KS ",\"shapes\":["
                            "{\"ty\":\"rc\",\"p\":{\"a\":0,\"k\":[50,50]},\"s\":{\"a\":0,\"k\":[40,40]},\"r\":{\"a\":0,\"k\":0}},"
                            "{\"ty\":\"fl\",\"c\":{\"a\":0,\"k\":[0.5,0.5,0.5,1]},\"o\":{\"a\":0,\"k\":100}}]},"
                            RED_SOLID(2, ""),
                            NULL));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK(R(50, 50) >= 126 && R(50, 50) <= 129);
    FW_CHECK_INT(G(50, 50), 0);
    FW_CHECK_INT(R(10, 10), 255);
    fw_engine_free(&e);
}

static void test_time_remap_holds_a_precomp_frame(void)
{
    /* Inside the precomp a square moves right 2 px per frame; the remap holds it at 0.5 s (frame 12). */
    const char *asset = "{\"id\":\"inner\",\"w\":100,\"h\":100,\"layers\":[{\"ind\":1,\"ty\":4,\"ip\":0,\"op\":48,\"st\":0,"
                        "\"ks\":{\"p\":{\"a\":1,\"k\":[{\"t\":0,\"s\":[0,40],\"i\":{\"x\":1,\"y\":1},\"o\":{\"x\":0,\"y\":0}},"
                        "{\"t\":48,\"s\":[96,40]}]}},\"shapes\":["
                        "{\"ty\":\"rc\",\"p\":{\"a\":0,\"k\":[5,10]},\"s\":{\"a\":0,\"k\":[10,20]},\"r\":{\"a\":0,\"k\":0}},"
                        "{\"ty\":\"fl\",\"c\":{\"a\":0,\"k\":[1,1,0,1]},\"o\":{\"a\":0,\"k\":100}}]}]}";
    fw_engine *e = load(doc("{\"ind\":1,\"ty\":0,\"refId\":\"inner\",\"w\":100,\"h\":100,\"ip\":0,\"op\":48,\"st\":0," KS
                            ",\"tm\":{\"a\":0,\"k\":0.5}}",
                            asset));
    FW_REQUIRE(e);
    for (int f = 0; f < 48; f += 47) {
        FW_REQUIRE(draw(e, f) == 0);
        FW_CHECK_INT(G(29, 50), 255); /* 24..34 is covered at frame 12 */
        FW_CHECK_INT(A(20, 50), 0);
        FW_CHECK_INT(A(38, 50), 0);
    }
    fw_engine_free(&e);
}

static void test_faded_precomp_draws_its_layers_where_they_are(void)
{
    /* A half-transparent precomp whose only layer is a square moved by its parent: the group the
     * precomp is faded in covers the square wherever it has moved. */
    const char *asset = "{\"id\":\"inner\",\"w\":100,\"h\":100,\"layers\":["
                        "{\"ind\":1,\"ty\":3,\"ip\":0,\"op\":48,\"st\":0,\"ks\":{\"p\":{\"a\":0,\"k\":[60,20]}}},"
                        "{\"ind\":2,\"ty\":4,\"parent\":1,\"ip\":0,\"op\":48,\"st\":0,\"ks\":{},\"shapes\":["
                        "{\"ty\":\"rc\",\"p\":{\"a\":0,\"k\":[10,10]},\"s\":{\"a\":0,\"k\":[20,20]},\"r\":{\"a\":0,\"k\":0}},"
                        "{\"ty\":\"fl\",\"c\":{\"a\":0,\"k\":[1,0,0,1]},\"o\":{\"a\":0,\"k\":100}}]}]}";
    fw_engine *e = load(doc("{\"ind\":1,\"ty\":0,\"refId\":\"inner\",\"w\":100,\"h\":100,\"ip\":0,\"op\":48,\"st\":0,"
                            "\"ks\":{\"o\":{\"a\":0,\"k\":50}}}",
                            asset));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK(A(70, 30) >= 126 && A(70, 30) <= 129); /* inside the moved square: half red */
    FW_CHECK(A(61, 21) >= 126 && A(79, 39) >= 126); /* its corners are all there */
    FW_CHECK_INT(A(10, 10), 0);
    FW_CHECK_INT(A(85, 30), 0);
    fw_engine_free(&e);
}

static void test_image_pixels_given_by_the_caller(void)
{
    static uint32_t img[10 * 10];
    fw_error err;
    fw_engine *e = load(doc("{\"ind\":1,\"ty\":2,\"refId\":\"im\",\"ip\":0,\"op\":48,\"st\":0," KS "}",
                            "{\"id\":\"im\",\"w\":50,\"h\":50,\"u\":\"\",\"p\":\"missing.png\",\"e\":0}"));
    FW_REQUIRE(e);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(A(25, 25), 0); /* no file: nothing */
    FW_CHECK_CONTAINS(fw_engine_unsupported(e), "image 'im'");
    for (int i = 0; i < 100; i++)
        img[i] = 0xff0000ffu; /* opaque blue, drawn over the asset's 50 x 50 */
    FW_CHECK_INT(fw_engine_set_image(e, "im", img, 10, 10, 40, &err), FW_OK);
    FW_REQUIRE(draw(e, 0) == 0);
    FW_CHECK_INT(B(25, 25), 255);
    FW_CHECK_INT(A(75, 75), 0);
    for (int i = 0; i < 100; i++)
        img[i] = 0xff00ff00u; /* the next frame's pixels: green */
    FW_CHECK_INT(fw_engine_set_image(e, "im", img, 10, 10, 40, &err), FW_OK);
    FW_REQUIRE(draw(e, 1) == 0);
    FW_CHECK_INT(G(25, 25), 255);
    FW_CHECK_INT(B(25, 25), 0);
    FW_CHECK_INT(fw_engine_set_image(e, "nope", img, 10, 10, 40, &err), FW_ERR_NOT_FOUND);
    fw_engine_free(&e);
}

static void test_kept_static_layers_draw_what_a_fresh_engine_draws(void)
{
    /* ghost.json has a static landscape (kept after the first frame) under moving layers. */
    static uint32_t fresh[W * H];
    const char *path = fw_test_corpus("ghost.json");
    size_t len;
    char *text = path ? fw_read_file(path, 64u << 20, &len, NULL) : NULL;
    fw_engine *kept, *once;
    fw_error err;
    if (!text)
        FW_SKIP("no corpus");
    kept = load(text);
    FW_REQUIRE(kept);
    for (int frame = 0; frame < 150; frame += 37) {
        FW_REQUIRE(draw(kept, frame) == 0);
        once = load(text);
        FW_REQUIRE(once);
        FW_CHECK_INT(fw_engine_render(once, frame, fresh, W, H, W * 4, &err), FW_OK);
        FW_CHECK_MSG(memcmp(fresh, pixels, sizeof(fresh)) == 0, "frame %d differs", frame);
        fw_engine_free(&once);
    }
    fw_engine_free(&kept);
    free(text);
}

static void test_engines_by_name(void)
{
    FW_CHECK(fw_engine_find("rlottie") != NULL);
    FW_CHECK(fw_engine_find("cairo") != NULL);
    FW_CHECK_STR(fw_engine_find(NULL)->name, "cairo");
    FW_CHECK(fw_engine_find("nope") == NULL);
}

static void test_bad_documents_are_refused_with_the_field(void)
{
    fw_engine_options opts = {0};
    fw_engine *e = NULL;
    fw_error err;
    FW_CHECK_INT(fw_engine_load(&e, "cairo", "{\"w\":0}", 7, &opts, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "template.w");
    FW_CHECK_INT(fw_engine_load(&e, "cairo", "[1,2", 4, &opts, &err), FW_ERR_INVALID);
    FW_CHECK(e == NULL);
}

int main(void)
{
    fw_error err;
    if (fw_fontset_new(&fonts, NULL, &err) != FW_OK) {
        fprintf(stderr, "fonts: %s\n", err.message);
        return 1;
    }
    FW_RUN(test_alpha_matte_shows_the_layer_only_inside_the_matte);
    FW_RUN(test_inverted_luma_matte_cuts_the_white_circle_out);
    FW_RUN(test_matte_named_by_tp_below_the_layer);
    FW_RUN(test_mask_subtract_and_intersect);
    FW_RUN(test_trim_path_draws_the_first_half_of_a_line);
    FW_RUN(test_gradient_highlight_moves_the_focal_point);
    FW_RUN(test_text_animator_hides_the_first_half_of_the_characters);
    FW_RUN(test_expression_moves_a_layer_with_time);
    FW_RUN(test_merge_paths_modes);
    FW_RUN(test_stroke_effect_follows_a_mask_path);
    FW_RUN(test_blur_spreads_beyond_the_layer_content);
    FW_RUN(test_multiply_blend_mode);
    FW_RUN(test_time_remap_holds_a_precomp_frame);
    FW_RUN(test_faded_precomp_draws_its_layers_where_they_are);
    FW_RUN(test_image_pixels_given_by_the_caller);
    FW_RUN(test_kept_static_layers_draw_what_a_fresh_engine_draws);
    FW_RUN(test_engines_by_name);
    FW_RUN(test_bad_documents_are_refused_with_the_field);
    fw_fontset_free(&fonts);
    return fw_test_end();
}
