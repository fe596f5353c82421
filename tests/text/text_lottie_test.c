/*
 * text_lottie_test.c - Lottie text layers converted to shape layers and
 * rendered with rlottie, checked by their pixels: the text is painted in its
 * fill colour where the layout says, replaced text changes the picture, a
 * missing font is reported and still drawn, and the corpus's text2.json
 * renders with its embedded glyphs.
 *
 * Set FW_TEXT_TEST_PPM_DIR to keep the rendered frames as PPM pictures.
 */
#include "server/text/text_lottie.h"

#include <jansson.h>
#include <rlottie_capi.h>

#include "server/text/text_layout.h"
#include "tests/fw_test.h"

#define HELLO "tests/text/testdata/hello.json"

static fw_fontset *fonts;

typedef struct frame {
    uint32_t *pixels; /* ARGB, premultiplied */
    size_t width, height;
} frame;

static json_t *load(const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc)
        fprintf(stderr, "  %s: %s\n", path, jerr.text);
    return doc;
}

static void save_ppm(const frame *f, const char *name)
{
    const char *dir = getenv("FW_TEXT_TEST_PPM_DIR");
    char path[4096];
    if (!dir || !*dir)
        return;
    snprintf(path, sizeof(path), "%s/%s.ppm", dir, name);
    FILE *out = fopen(path, "wb");
    if (!out)
        return;
    fprintf(out, "P6 %zu %zu 255\n", f->width, f->height);
    for (size_t i = 0; i < f->width * f->height; i++) {
        uint32_t p = f->pixels[i];
        unsigned char rgb[3] = {(unsigned char)(p >> 16), (unsigned char)(p >> 8), (unsigned char)p};
        fwrite(rgb, 1, 3, out);
    }
    fclose(out);
}

/* Render one frame of doc with rlottie's C API; pixels NULL on failure. */
static frame render(json_t *doc, size_t frame_number, const char *name)
{
    static int renders;
    frame f = {NULL, (size_t)json_integer_value(json_object_get(doc, "w")),
               (size_t)json_integer_value(json_object_get(doc, "h"))};
    char *data = json_dumps(doc, JSON_COMPACT);
    char key[64];
    /* rlottie caches documents by key; every render here is a new document. */
    snprintf(key, sizeof(key), "fw-text-test-%d", ++renders);
    Lottie_Animation *animation = data ? lottie_animation_from_data(data, key, "") : NULL;
    free(data);
    if (!animation)
        return f;
    f.pixels = calloc(f.width * f.height, sizeof(uint32_t));
    if (f.pixels)
        lottie_animation_render(animation, frame_number, f.pixels, f.width, f.height, f.width * 4);
    lottie_animation_destroy(animation);
    if (f.pixels)
        save_ppm(&f, name);
    return f;
}

static int near_color(uint32_t p, int r, int g, int b)
{
    int pa = (int)(p >> 24), pr = (int)(p >> 16 & 255), pg = (int)(p >> 8 & 255), pb = (int)(p & 255);
    return pa > 240 && abs(pr - r) < 12 && abs(pg - g) < 12 && abs(pb - b) < 12;
}

/* Pixels of colour (r, g, b) in the rectangle [x0, x1) x [y0, y1). */
static size_t count_color(const frame *f, int x0, int y0, int x1, int y1, int r, int g, int b)
{
    size_t n = 0;
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < (int)f->height; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < (int)f->width; x++)
            n += near_color(f->pixels[(size_t)y * f->width + (size_t)x], r, g, b);
    return n;
}

static size_t count_painted(const frame *f, int x0, int y0, int x1, int y1)
{
    size_t n = 0;
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < (int)f->height; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < (int)f->width; x++)
            n += (f->pixels[(size_t)y * f->width + (size_t)x] >> 24) > 0;
    return n;
}

static json_t *text_document(json_t *doc, size_t layer, size_t keyframe)
{
    json_t *l = json_array_get(json_object_get(doc, "layers"), layer);
    return json_object_get(json_array_get(json_object_get(json_object_get(json_object_get(l, "t"), "d"), "k"),
                                          keyframe),
                           "s");
}

static fw_err convert(json_t *doc, json_t *missing)
{
    fw_error err = {0};
    fw_err rc = fw_text_layers_to_shapes(doc, fonts, missing, &err);
    if (rc != FW_OK)
        fprintf(stderr, "  conversion failed: %s: %s\n", err.field, err.message);
    return rc;
}

static size_t count_text_layers(json_t *layers)
{
    size_t i, n = 0;
    json_t *l;
    json_array_foreach(layers, i, l) n += json_integer_value(json_object_get(l, "ty")) == 5;
    return n;
}

/* The layout of "Hello" at 60 px, as the template asks for it. */
static void hello_bounds(const char *text, double *x0, double *y0, double *x1, double *y1)
{
    fw_text_request rq = {.text = text, .font = fw_fontset_default(fonts), .size = 60, .line_height = 72};
    fw_text_layout *l = NULL;
    fw_error err = {0};
    *x0 = *y0 = *x1 = *y1 = 0;
    if (fw_text_layout_new(&rq, &l, &err) != FW_OK)
        return;
    /* the layer sits at (40, 120) with no anchor offset */
    *x0 = l->min_x + 40;
    *y0 = l->min_y + 120;
    *x1 = l->max_x + 40;
    *y1 = l->max_y + 120;
    fw_text_layout_free(&l);
}

static void test_template_text_is_painted_in_its_fill_colour(void)
{
    json_t *doc = load(HELLO), *missing = json_array();
    FW_REQUIRE(doc);
    FW_REQUIRE(convert(doc, missing) == FW_OK);
    FW_CHECK_INT(count_text_layers(json_object_get(doc, "layers")), 0);
    FW_CHECK_INT(json_array_size(missing), 0); /* DejaVuSans is the set's default, found by name */
    frame f = render(doc, 0, "hello");
    FW_REQUIRE(f.pixels);
    double x0, y0, x1, y1;
    hello_bounds("Hello", &x0, &y0, &x1, &y1);
    FW_REQUIRE(x1 - x0 > 100 && y1 - y0 > 30);
    size_t box = (size_t)((x1 - x0) * (y1 - y0));
    size_t red = count_color(&f, (int)x0, (int)y0, (int)x1 + 1, (int)y1 + 1, 255, 0, 0);
    FW_CHECK_MSG(red > box / 6, "%zu red pixels of %zu in the text's box", red, box);
    /* nothing outside the text's box */
    size_t total = count_painted(&f, 0, 0, (int)f.width, (int)f.height);
    size_t inside = count_painted(&f, (int)x0 - 1, (int)y0 - 1, (int)x1 + 2, (int)y1 + 2);
    FW_CHECK_INT(total, inside);
    /* the H's left stem is solid red just right of the pen start */
    FW_CHECK(near_color(f.pixels[(size_t)(120 - 20) * f.width + (size_t)(x0 + 3)], 255, 0, 0));
    free(f.pixels);
    json_decref(missing);
    json_decref(doc);
}

static void test_replacing_the_text_changes_pixels_in_the_layer_box(void)
{
    json_t *doc = load(HELLO), *replaced = load(HELLO);
    FW_REQUIRE(doc && replaced);
    json_object_set_new(text_document(replaced, 0, 0), "t", json_string("Wide replaced text"));
    FW_REQUIRE(convert(doc, NULL) == FW_OK && convert(replaced, NULL) == FW_OK);
    frame a = render(doc, 0, "hello-before"), b = render(replaced, 0, "hello-replaced");
    FW_REQUIRE(a.pixels && b.pixels);
    double x0, y0, x1, y1;
    hello_bounds("Hello", &x0, &y0, &x1, &y1);
    size_t changed = 0;
    for (int y = (int)y0; y <= (int)y1; y++)
        for (int x = (int)x0; x <= (int)x1; x++)
            changed += a.pixels[(size_t)y * a.width + (size_t)x] != b.pixels[(size_t)y * b.width + (size_t)x];
    FW_CHECK_MSG(changed > 500, "only %zu pixels changed", changed);
    /* and the longer text reaches past where "Hello" ended */
    size_t beyond = count_color(&b, (int)x1 + 10, (int)y0, (int)b.width, (int)y1 + 1, 255, 0, 0);
    FW_CHECK_MSG(beyond > 500, "%zu red pixels right of the old text", beyond);
    FW_CHECK_INT(count_painted(&a, (int)x1 + 10, 0, (int)a.width, (int)a.height), 0);
    free(a.pixels);
    free(b.pixels);
    json_decref(doc);
    json_decref(replaced);
}

static void test_missing_font_is_reported_and_drawn_with_the_default(void)
{
    json_t *doc = load(HELLO), *missing = json_array();
    FW_REQUIRE(doc);
    json_t *font = json_array_get(json_object_get(json_object_get(doc, "fonts"), "list"), 0);
    json_object_set_new(font, "fName", json_string("NoSuchFont-Bold"));
    json_object_set_new(font, "fFamily", json_string("No Such Font"));
    json_object_set_new(font, "fStyle", json_string("Bold"));
    json_object_set_new(text_document(doc, 0, 0), "f", json_string("NoSuchFont-Bold"));
    json_array_append_new(missing, json_string("NoSuchFont-Bold")); /* already reported: not repeated */
    FW_REQUIRE(convert(doc, missing) == FW_OK);
    FW_CHECK_INT(json_array_size(missing), 1);
    FW_CHECK_STR(json_string_value(json_array_get(missing, 0)), "NoSuchFont-Bold");
    json_array_clear(missing);
    json_t *again = load(HELLO);
    FW_REQUIRE(again);
    json_object_set_new(text_document(again, 0, 0), "f", json_string("Another Missing"));
    FW_REQUIRE(convert(again, missing) == FW_OK);
    FW_CHECK_INT(json_array_size(missing), 1);
    FW_CHECK_STR(json_string_value(json_array_get(missing, 0)), "Another Missing");
    frame f = render(doc, 0, "hello-missing-font");
    FW_REQUIRE(f.pixels);
    double x0, y0, x1, y1;
    hello_bounds("Hello", &x0, &y0, &x1, &y1);
    size_t red = count_color(&f, (int)x0, (int)y0, (int)x1 + 1, (int)y1 + 1, 255, 0, 0);
    FW_CHECK_MSG(red > 1000, "%zu red pixels", red);
    free(f.pixels);
    json_decref(again);
    json_decref(missing);
    json_decref(doc);
}

static void test_stroke_is_drawn_over_or_under_the_fill(void)
{
    json_t *doc = load(HELLO);
    FW_REQUIRE(doc);
    json_t *s = text_document(doc, 0, 0);
    json_object_set_new(s, "sc", json_pack("[i, i, i]", 0, 0, 1));
    json_object_set_new(s, "sw", json_integer(4));
    json_object_set_new(s, "of", json_true());
    FW_REQUIRE(convert(doc, NULL) == FW_OK);
    json_t *items = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(doc, "layers"), 0), "shapes"), 0), "it");
    size_t n = json_array_size(items), stroke = n, fill = n;
    for (size_t i = 0; i < n; i++) {
        const char *ty = json_string_value(json_object_get(json_array_get(items, i), "ty"));
        if (!strcmp(ty, "st"))
            stroke = i;
        if (!strcmp(ty, "fl"))
            fill = i;
    }
    FW_REQUIRE(stroke < n && fill < n);
    FW_CHECK(stroke < fill); /* listed first = painted on top */
    frame f = render(doc, 0, "hello-stroke");
    FW_REQUIRE(f.pixels);
    double x0, y0, x1, y1;
    hello_bounds("Hello", &x0, &y0, &x1, &y1);
    size_t blue = count_color(&f, (int)x0 - 3, (int)y0 - 3, (int)x1 + 3, (int)y1 + 3, 0, 0, 255);
    FW_CHECK_MSG(blue > 800, "%zu blue pixels", blue);
    free(f.pixels);
    json_decref(doc);
}

static void test_animated_text_document_shows_each_keyframe_in_turn(void)
{
    json_t *doc = load(HELLO);
    FW_REQUIRE(doc);
    json_t *keys = json_object_get(json_object_get(json_object_get(json_array_get(json_object_get(doc, "layers"), 0),
                                                                   "t"),
                                                   "d"),
                                   "k");
    json_t *second = json_deep_copy(json_array_get(keys, 0));
    json_object_set_new(json_object_get(second, "s"), "t", json_string("Hello, wide world"));
    json_object_set_new(second, "t", json_integer(15));
    json_array_append_new(keys, second);
    FW_REQUIRE(convert(doc, NULL) == FW_OK);
    json_t *shapes = json_object_get(json_array_get(json_object_get(doc, "layers"), 0), "shapes");
    FW_CHECK_INT(json_array_size(shapes), 2);
    frame early = render(doc, 5, "keyframe-early"), late = render(doc, 20, "keyframe-late");
    FW_REQUIRE(early.pixels && late.pixels);
    double x0, y0, x1, y1;
    hello_bounds("Hello", &x0, &y0, &x1, &y1);
    FW_CHECK_INT(count_painted(&early, (int)x1 + 10, 0, (int)early.width, (int)early.height), 0);
    FW_CHECK(count_color(&late, (int)x1 + 10, (int)y0, (int)late.width, (int)y1 + 1, 255, 0, 0) > 500);
    free(early.pixels);
    free(late.pixels);
    json_decref(doc);
}

static void test_text_layer_in_precomp_keeps_its_layer_properties(void)
{
    json_t *doc = load(HELLO);
    FW_REQUIRE(doc);
    json_t *layers = json_object_get(doc, "layers");
    json_t *text = json_deep_copy(json_array_get(layers, 0));
    json_object_set_new(text, "parent", json_integer(7));
    json_object_set_new(text, "tt", json_integer(1));
    json_object_set_new(text, "hasMask", json_true());
    json_object_set_new(text, "masksProperties", json_pack("[{s:s}]", "mode", "a"));
    json_object_set_new(text, "ef", json_array());
    json_array_append_new(json_object_get(doc, "assets"),
                          json_pack("{s:s, s:[o]}", "id", "comp_0", "layers", json_deep_copy(text)));
    FW_REQUIRE(convert(doc, NULL) == FW_OK);
    json_t *converted = json_array_get(json_object_get(json_array_get(json_object_get(doc, "assets"), 0), "layers"), 0);
    FW_CHECK_INT(json_integer_value(json_object_get(converted, "ty")), 4);
    FW_CHECK(json_object_get(converted, "t") == NULL);
    FW_CHECK_STR(json_string_value(json_object_get(converted, "nm")), "Title");
    FW_CHECK_INT(json_integer_value(json_object_get(converted, "ind")), 1);
    FW_CHECK_INT(json_integer_value(json_object_get(converted, "parent")), 7);
    FW_CHECK_INT(json_integer_value(json_object_get(converted, "tt")), 1);
    FW_CHECK(json_equal(json_object_get(converted, "ks"), json_object_get(text, "ks")));
    FW_CHECK(json_equal(json_object_get(converted, "masksProperties"), json_object_get(text, "masksProperties")));
    FW_CHECK(json_is_array(json_object_get(converted, "ef")));
    FW_CHECK_INT(json_integer_value(json_object_get(converted, "op")), 30);
    json_decref(text);
    json_decref(doc);
}

static void test_bad_text_document_leaves_the_document_unchanged(void)
{
    json_t *doc = load(HELLO);
    FW_REQUIRE(doc);
    json_t *layers = json_object_get(doc, "layers");
    json_array_append_new(layers, json_deep_copy(json_array_get(layers, 0)));
    json_object_del(text_document(doc, 1, 0), "s");
    json_t *before = json_deep_copy(doc);
    fw_error err = {0};
    FW_CHECK_INT(fw_text_layers_to_shapes(doc, fonts, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "layers[1].t.d.k[0].s.s");
    FW_CHECK(json_equal(doc, before));
    json_decref(before);
    json_decref(doc);
}

static void test_corpus_text2_renders_with_its_embedded_glyphs(void)
{
    const char *path = fw_test_corpus("text2.json");
    if (!path)
        FW_SKIP("corpus not available (FW_CORPUS_DIR)");
    json_t *doc = load(path), *missing = json_array();
    FW_REQUIRE(doc);
    FW_REQUIRE(convert(doc, missing) == FW_OK);
    FW_CHECK_INT(count_text_layers(json_object_get(doc, "layers")), 0);
    /* BalooBhai is not installed, but every digit is embedded in chars[] */
    FW_CHECK_INT(json_array_size(missing), 0);
    /* Each digit sits under a clock-wipe track matte that rlottie 0.1 draws
     * as hiding everything (a plain rectangle in place of the text vanishes
     * too), so the mattes are taken off to see the converted text itself. */
    size_t i;
    json_t *layer;
    json_array_foreach(json_object_get(doc, "layers"), i, layer)
    {
        json_object_del(layer, "tt");
        if (json_object_get(layer, "td")) {
            json_object_set_new(layer, "hd", json_true());
            json_object_del(layer, "td");
        }
    }
    /* Layer "1" shows from frame 540: the digit 1 at size 1000 spans about
     * x 282..597, y 188..810 on the 1000 x 1000 canvas. */
    frame f = render(doc, 570, "text2-570");
    FW_REQUIRE(f.pixels);
    size_t teal = count_color(&f, 282, 188, 597, 810, 15, 204, 206);
    FW_CHECK_MSG(teal > 30000, "%zu pixels in the text colour", teal);
    FW_CHECK(near_color(f.pixels[500 * 1000 + 500], 15, 204, 206));
    free(f.pixels);
    json_decref(missing);
    json_decref(doc);
}

static void test_corpus_text_templates_convert_and_load(void)
{
    const char *names[] = {"stroke_dash.json", "extensions__spin.json", "expressions__bicycle.json",
                           "extensions__resolver2.json", "extensions__slot11.json"};
    if (!fw_test_corpus("text2.json"))
        FW_SKIP("corpus not available (FW_CORPUS_DIR)");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *path = fw_test_corpus(names[i]);
        if (!path)
            continue;
        json_t *doc = load(path), *missing = json_array();
        FW_REQUIRE(doc);
        FW_CHECK_MSG(convert(doc, missing) == FW_OK, "%s", names[i]);
        size_t text = count_text_layers(json_object_get(doc, "layers"));
        json_t *asset;
        size_t a;
        json_array_foreach(json_object_get(doc, "assets"), a, asset) text +=
            count_text_layers(json_object_get(asset, "layers"));
        FW_CHECK_MSG(text == 0, "%s still has %zu text layers", names[i], text);
        frame f = render(doc, 0, names[i]);
        FW_CHECK_MSG(f.pixels != NULL, "rlottie rejected converted %s", names[i]);
        free(f.pixels);
        json_decref(missing);
        json_decref(doc);
    }
}

int main(void)
{
    fw_error err = {0};
    if (fw_fontset_new(&fonts, NULL, &err) != FW_OK) {
        fprintf(stderr, "the default font is missing: %s (install fonts-dejavu-core)\n", err.message);
        return 1;
    }
    FW_RUN(test_template_text_is_painted_in_its_fill_colour);
    FW_RUN(test_replacing_the_text_changes_pixels_in_the_layer_box);
    FW_RUN(test_missing_font_is_reported_and_drawn_with_the_default);
    FW_RUN(test_stroke_is_drawn_over_or_under_the_fill);
    FW_RUN(test_animated_text_document_shows_each_keyframe_in_turn);
    FW_RUN(test_text_layer_in_precomp_keeps_its_layer_properties);
    FW_RUN(test_bad_text_document_leaves_the_document_unchanged);
    FW_RUN(test_corpus_text2_renders_with_its_embedded_glyphs);
    FW_RUN(test_corpus_text_templates_convert_and_load);
    fw_fontset_free(&fonts);
    return fw_test_end();
}
