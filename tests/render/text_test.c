/*
 * text_test.c - text layers drawn by the Cairo engine (server/render/cairo/
 * text.h), checked by their pixels: small Lottie documents with a text layer
 * set in DejaVu Sans (Debian's fonts-dejavu-core) are loaded with the real
 * model, attached, and drawn onto a Cairo image surface translated like a
 * layer. Where glyphs should be is asked of the text layout itself.
 *
 * Also the corpus's text documents (FW_CORPUS_DIR) attach and draw.
 */
#include "server/render/cairo/text.h"

#include <cairo.h>
#include <jansson.h>

#include "server/render/cairo/model.h"
#include "server/text/fonts.h"
#include "server/text/text_layout.h"
#include "tests/fw_test.h"

#define W 480
#define H 240
#define OX 200.0/* where the layer's origin lands on the surface */
#define OY 120.0
#define SIZE 40.0

static fw_fontset *fonts;

typedef struct box {
    double x0, y0, x1, y1;
} box;

/* A one-layer document: text document keyframes and animators as given. */
static char *doc_json(const char *keyframes, const char *animators, const char *grouping)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf),
             "{\"v\":\"5.7.4\",\"fr\":30,\"ip\":0,\"op\":60,\"w\":%d,\"h\":%d,"
             "\"fonts\":{\"list\":[{\"fName\":\"DejaVuSans\",\"fFamily\":\"DejaVu Sans\",\"fStyle\":\"Book\","
             "\"ascent\":75}]},"
             "\"layers\":[{\"ddd\":0,\"ty\":5,\"ind\":1,\"nm\":\"Title\",\"ip\":0,\"op\":60,\"st\":0,\"sr\":1,"
             "\"ks\":{\"o\":{\"a\":0,\"k\":100},\"p\":{\"a\":0,\"k\":[0,0,0]},\"a\":{\"a\":0,\"k\":[0,0,0]},"
             "\"s\":{\"a\":0,\"k\":[100,100,100]},\"r\":{\"a\":0,\"k\":0}},"
             "\"t\":{\"d\":{\"k\":[%s]},\"p\":{},\"m\":{\"g\":%s,\"a\":{\"a\":0,\"k\":[0,0]}},\"a\":[%s]}}]}",
             W, H, keyframes, grouping ? grouping : "1", animators ? animators : "");
    return buf;
}

/* A static text keyframe at time t. */
static char *keyframe(double t, const char *text, int justify, const char *extra)
{
    static char buf[4][1024];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, sizeof(buf[0]),
             "{\"t\":%g,\"s\":{\"t\":\"%s\",\"f\":\"DejaVuSans\",\"s\":%g,\"j\":%d,\"tr\":0,\"lh\":48,\"ls\":0,"
             "\"fc\":[0,0,0]%s%s}}",
             t, text, SIZE, justify, extra ? "," : "", extra ? extra : "");
    return out;
}

static lt_doc *attach(const char *json, json_t *missing)
{
    lt_doc *doc = NULL;
    fw_error err = {0};
    if (lt_doc_load(&doc, json, strlen(json), NULL, &err) != FW_OK) {
        fprintf(stderr, "  load: %s: %s\n", err.field, err.message);
        return NULL;
    }
    if (lt_text_attach(doc, fonts, missing, &err) != FW_OK) {
        fprintf(stderr, "  attach: %s: %s\n", err.field, err.message);
        lt_doc_free(&doc);
        return NULL;
    }
    return doc;
}

static void release(lt_doc **doc)
{
    lt_text_detach(*doc);
    lt_doc_free(doc);
}

static cairo_surface_t *draw(lt_doc *doc, double frame)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_translate(cr, OX, OY);
    lt_text_draw(doc, &doc->root.layers[0], frame, cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    return s;
}

static uint32_t pixel(cairo_surface_t *s, int x, int y)
{
    if (x < 0 || y < 0 || x >= W || y >= H)
        return 0;
    const unsigned char *row = cairo_image_surface_get_data(s) + (size_t)y * (size_t)cairo_image_surface_get_stride(s);
    return ((const uint32_t *)row)[x];
}

/* Pixels at least half covered inside a box of surface coordinates. */
static int ink(cairo_surface_t *s, box b)
{
    int n = 0;
    for (int y = (int)floor(b.y0); y <= (int)ceil(b.y1); y++)
        for (int x = (int)floor(b.x0); x <= (int)ceil(b.x1); x++)
            n += (pixel(s, x, y) >> 24) > 128;
    return n;
}

static box everything(void)
{
    return (box){0, 0, W - 1, H - 1};
}

/* The bounds of all ink. */
static box ink_bounds(cairo_surface_t *s)
{
    box b = {W, H, -1, -1};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            if ((pixel(s, x, y) >> 24) > 128) {
                b.x0 = fmin(b.x0, x);
                b.y0 = fmin(b.y0, y);
                b.x1 = fmax(b.x1, x);
                b.y1 = fmax(b.y1, y);
            }
    return b;
}

/* Where the layout puts glyph i of a point text, on the surface; shrunk by a
 * pixel so antialiased edges of neighbours do not count. */
static box glyph_box(const char *text, fw_text_align align, size_t i)
{
    fw_text_request rq = {.text = text, .font = fw_fontset_default(fonts), .size = SIZE, .line_height = 48,
                          .align = align};
    fw_text_layout *l = NULL;
    box b = {1e9, 1e9, -1e9, -1e9};
    if (fw_text_layout_new(&rq, &l, NULL) != FW_OK || i >= l->glyph_count) {
        fw_text_layout_free(&l);
        return (box){0, 0, 0, 0};
    }
    const fw_text_glyph *g = &l->glyphs[i];
    for (size_t c = g->first_contour; c < g->first_contour + g->contour_count; c++)
        for (size_t p = 0; p < 1 + 3 * l->contours[c].segment_count; p++) {
            b.x0 = fmin(b.x0, l->contours[c].points[p].x);
            b.y0 = fmin(b.y0, l->contours[c].points[p].y);
            b.x1 = fmax(b.x1, l->contours[c].points[p].x);
            b.y1 = fmax(b.y1, l->contours[c].points[p].y);
        }
    fw_text_layout_free(&l);
    return (box){b.x0 + OX + 1, b.y0 + OY + 1, b.x1 + OX - 1, b.y1 + OY - 1};
}

static box moved(box b, double dx, double dy)
{
    return (box){b.x0 + dx, b.y0 + dy, b.x1 + dx, b.y1 + dy};
}

static int area(box b)
{
    return (int)((b.x1 - b.x0 + 1) * (b.y1 - b.y0 + 1));
}

/* ---- layout and alignment ---- */

static void test_left_aligned_text_is_drawn_where_the_layout_puts_it(void)
{
    lt_doc *doc = attach(doc_json(keyframe(0, "HELLO", 0, NULL), NULL, NULL), NULL);
    FW_REQUIRE(doc);
    cairo_surface_t *s = draw(doc, 0);
    box first = glyph_box("HELLO", FW_TEXT_ALIGN_LEFT, 0);
    FW_CHECK(area(first) > 100);
    FW_CHECK_MSG(ink(s, first) > area(first) / 4, "ink %d in the H's box of %d px", ink(s, first), area(first));
    /* Nothing left of the baseline's start, nothing below the baseline (no descenders in HELLO). */
    FW_CHECK_INT(ink(s, (box){0, 0, OX - 2, H - 1}), 0);
    FW_CHECK_INT(ink(s, (box){0, OY + 2, W - 1, H - 1}), 0);
    /* Capitals of a 40 px DejaVu Sans reach about 29 px above the baseline. */
    box b = ink_bounds(s);
    FW_CHECK_NEAR(b.y0, OY - 29, 3);
    cairo_surface_destroy(s);
    release(&doc);
}

static void test_centre_and_right_alignment_move_the_text(void)
{
    lt_doc *centre = attach(doc_json(keyframe(0, "HELLO", 2, NULL), NULL, NULL), NULL);
    lt_doc *right = attach(doc_json(keyframe(0, "HELLO", 1, NULL), NULL, NULL), NULL);
    FW_REQUIRE(centre && right);
    cairo_surface_t *sc = draw(centre, 0), *sr = draw(right, 0);
    box bc = ink_bounds(sc), br = ink_bounds(sr);
    FW_CHECK_NEAR((bc.x0 + bc.x1) / 2, OX, 4);
    FW_CHECK_NEAR(br.x1, OX, 4);
    FW_CHECK_MSG(br.x0 < OX - 80, "right-aligned ink %g..%g, centred %g..%g", br.x0, br.x1, bc.x0, bc.x1);
    FW_CHECK_INT(ink(sr, (box){OX + 2, 0, W - 1, H - 1}), 0);
    cairo_surface_destroy(sc);
    cairo_surface_destroy(sr);
    release(&centre);
    release(&right);
}

/* ---- paint ---- */

static void test_fill_colour_is_the_colour_drawn(void)
{
    char kf[1024];
    snprintf(kf, sizeof(kf), "%s", keyframe(0, "HELLO", 0, NULL));
    /* Replace the black fill with red. */
    char *fc = strstr(kf, "\"fc\":[0,0,0]");
    FW_REQUIRE(fc);
    memcpy(fc, "\"fc\":[1,0,0]", 12);
    lt_doc *doc = attach(doc_json(kf, NULL, NULL), NULL);
    FW_REQUIRE(doc);
    cairo_surface_t *s = draw(doc, 0);
    int solid = 0, red = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint32_t p = pixel(s, x, y);
            if ((p >> 24) == 255) {
                solid++;
                red += p == 0xFFFF0000u;
            }
        }
    FW_CHECK(solid > 200);
    FW_CHECK_INT(red, solid);
    cairo_surface_destroy(s);
    release(&doc);
}

static void test_stroke_adds_a_ring_in_the_stroke_colour(void)
{
    lt_doc *plain = attach(doc_json(keyframe(0, "HELLO", 0, NULL), NULL, NULL), NULL);
    lt_doc *stroked =
        attach(doc_json(keyframe(0, "HELLO", 0, "\"sc\":[0,0,1],\"sw\":6,\"of\":true"), NULL, NULL), NULL);
    FW_REQUIRE(plain && stroked);
    cairo_surface_t *sp = draw(plain, 0), *ss = draw(stroked, 0);
    int ring = 0, blue_ring = 0, plain_ink = ink(sp, everything()), stroked_ink = ink(ss, everything());
    FW_CHECK_MSG(stroked_ink > plain_ink + 300, "%d vs %d", stroked_ink, plain_ink);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint32_t a = pixel(sp, x, y), b = pixel(ss, x, y);
            if ((a >> 24) == 0 && (b >> 24) == 255) {
                ring++;
                blue_ring += b == 0xFF0000FFu;
            }
        }
    FW_CHECK(ring > 300);
    FW_CHECK_INT(blue_ring, ring);
    /* Stroke over fill: the stroke colour also covers the edge inside the glyph. */
    box first = glyph_box("HELLO", FW_TEXT_ALIGN_LEFT, 0);
    FW_CHECK(pixel(ss, (int)first.x0 + 1, (int)(first.y0 + first.y1) / 2) == 0xFF0000FFu);
    cairo_surface_destroy(sp);
    cairo_surface_destroy(ss);
    release(&plain);
    release(&stroked);
}

/* ---- animators ---- */

static void test_opacity_animator_with_range_hides_the_first_half(void)
{
    const char *animator = "{\"nm\":\"Fade\",\"s\":{\"t\":0,\"xe\":{\"a\":0,\"k\":0},\"ne\":{\"a\":0,\"k\":0},"
                           "\"a\":{\"a\":0,\"k\":100},\"b\":1,\"rn\":0,\"sh\":1,\"s\":{\"a\":0,\"k\":0},"
                           "\"e\":{\"a\":0,\"k\":50},\"o\":{\"a\":0,\"k\":0},\"r\":1,\"sm\":{\"a\":0,\"k\":100}},"
                           "\"a\":{\"o\":{\"a\":0,\"k\":0}}}";
    lt_doc *doc = attach(doc_json(keyframe(0, "HHHH", 0, NULL), animator, NULL), NULL);
    FW_REQUIRE(doc);
    cairo_surface_t *s = draw(doc, 0);
    for (size_t i = 0; i < 4; i++) {
        box b = glyph_box("HHHH", FW_TEXT_ALIGN_LEFT, i);
        if (i < 2)
            FW_CHECK_MSG(ink(s, b) == 0, "glyph %zu has %d inked pixels", i, ink(s, b));
        else
            FW_CHECK_MSG(ink(s, b) > area(b) / 4, "glyph %zu has %d inked pixels", i, ink(s, b));
    }
    cairo_surface_destroy(s);
    release(&doc);
}

static void test_position_animator_moves_only_the_selected_glyphs(void)
{
    const char *animator = "{\"s\":{\"t\":0,\"a\":{\"a\":0,\"k\":100},\"b\":1,\"sh\":1,\"s\":{\"a\":0,\"k\":50},"
                           "\"e\":{\"a\":0,\"k\":100},\"o\":{\"a\":0,\"k\":0},\"r\":1},"
                           "\"a\":{\"p\":{\"a\":0,\"k\":[0,60,0]}}}";
    lt_doc *doc = attach(doc_json(keyframe(0, "HHHH", 0, NULL), animator, NULL), NULL);
    FW_REQUIRE(doc);
    cairo_surface_t *s = draw(doc, 0);
    for (size_t i = 0; i < 4; i++) {
        box b = glyph_box("HHHH", FW_TEXT_ALIGN_LEFT, i);
        box down = moved(b, 0, 60);
        if (i < 2) {
            FW_CHECK_MSG(ink(s, b) > area(b) / 4, "glyph %zu stays", i);
            FW_CHECK_INT(ink(s, down), 0);
        } else {
            FW_CHECK_MSG(ink(s, b) == 0, "glyph %zu left its place (%d px)", i, ink(s, b));
            FW_CHECK_MSG(ink(s, down) > area(b) / 4, "glyph %zu is 60 px lower", i);
        }
    }
    cairo_surface_destroy(s);
    release(&doc);
}

static void test_rotation_animator_turns_glyphs_about_their_baseline_centre(void)
{
    const char *animator = "{\"s\":{\"a\":{\"a\":0,\"k\":100},\"b\":1,\"sh\":1,\"s\":{\"a\":0,\"k\":0},"
                           "\"e\":{\"a\":0,\"k\":100},\"o\":{\"a\":0,\"k\":0},\"r\":1},"
                           "\"a\":{\"r\":{\"a\":0,\"k\":180}}}";
    lt_doc *doc = attach(doc_json(keyframe(0, "HELLO", 0, NULL), animator, NULL), NULL);
    FW_REQUIRE(doc);
    cairo_surface_t *s = draw(doc, 0);
    box b = ink_bounds(s);
    /* Upside down under the baseline, each letter in its own place. */
    FW_CHECK_INT(ink(s, (box){0, 0, W - 1, OY - 2}), 0);
    FW_CHECK_NEAR(b.y1, OY + 29, 3);
    box first = glyph_box("HELLO", FW_TEXT_ALIGN_LEFT, 0);
    FW_CHECK(ink(s, moved(first, 0, (OY - first.y0) + (OY - first.y1) - 0)) > area(first) / 4);
    cairo_surface_destroy(s);
    release(&doc);
}

static void test_fill_colour_animator_mixes_toward_its_colour(void)
{
    const char *animator = "{\"s\":{\"a\":{\"a\":0,\"k\":100},\"b\":1,\"sh\":1,\"s\":{\"a\":0,\"k\":0},"
                           "\"e\":{\"a\":0,\"k\":100},\"o\":{\"a\":0,\"k\":0},\"r\":1},"
                           "\"a\":{\"fc\":{\"a\":0,\"k\":[0,1,0,1]}}}";
    lt_doc *doc = attach(doc_json(keyframe(0, "HHHH", 0, NULL), animator, NULL), NULL);
    FW_REQUIRE(doc);
    cairo_surface_t *s = draw(doc, 0);
    int solid = 0, green = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint32_t p = pixel(s, x, y);
            solid += (p >> 24) == 255;
            green += p == 0xFF00FF00u;
        }
    FW_CHECK(solid > 200);
    FW_CHECK_INT(green, solid);
    cairo_surface_destroy(s);
    release(&doc);
}

/* ---- documents ---- */

static void test_keyframed_text_document_changes_the_text_at_its_time(void)
{
    char keys[2048];
    snprintf(keys, sizeof(keys), "%s,", keyframe(0, "I", 0, NULL));
    strncat(keys, keyframe(10, "WWWWWW", 0, NULL), sizeof(keys) - strlen(keys) - 1);
    lt_doc *doc = attach(doc_json(keys, NULL, NULL), NULL);
    FW_REQUIRE(doc);
    cairo_surface_t *before = draw(doc, 9), *after = draw(doc, 10);
    box b0 = ink_bounds(before), b1 = ink_bounds(after);
    FW_CHECK(b0.x1 < OX + 15);
    FW_CHECK(b1.x1 > OX + 150);
    cairo_surface_destroy(before);
    cairo_surface_destroy(after);
    release(&doc);
}

static void test_box_text_wraps_within_its_width(void)
{
    lt_doc *doc =
        attach(doc_json(keyframe(0, "HHH HHH HHH", 0, "\"sz\":[170,200],\"ps\":[0,-100]"), NULL, NULL), NULL);
    FW_REQUIRE(doc);
    cairo_surface_t *s = draw(doc, 0);
    box b = ink_bounds(s);
    FW_CHECK(b.x0 >= OX - 1);
    FW_CHECK_MSG(b.x1 <= OX + 170, "right edge %g", b.x1);
    /* Three lines 48 px apart: about 2 * 48 + a capital's height. */
    FW_CHECK_NEAR(b.y1 - b.y0, 2 * 48 + 29, 4);
    /* The first baseline is the font entry's ascent (75% of the size) below the box top. */
    FW_CHECK_NEAR(b.y0, OY - 100 + 30 - 29, 3);
    cairo_surface_destroy(s);
    release(&doc);
}

static void test_missing_font_is_reported_and_drawn_with_the_default(void)
{
    char kf[1024];
    snprintf(kf, sizeof(kf),
             "{\"t\":0,\"s\":{\"t\":\"Hello\",\"f\":\"NoSuchFont-Bold\",\"s\":40,\"j\":0,\"fc\":[0,0,0]}}");
    json_t *missing = json_array();
    lt_doc *doc = attach(doc_json(kf, NULL, NULL), missing);
    FW_REQUIRE(doc);
    FW_CHECK_INT(json_array_size(missing), 1);
    FW_CHECK_STR(json_string_value(json_array_get(missing, 0)), "NoSuchFont-Bold");
    cairo_surface_t *s = draw(doc, 0);
    FW_CHECK(ink(s, everything()) > 300);
    cairo_surface_destroy(s);
    json_decref(missing);
    release(&doc);
}

static void test_bad_text_document_fails_naming_the_field(void)
{
    char kf[512];
    snprintf(kf, sizeof(kf), "{\"t\":0,\"s\":{\"t\":\"Hello\",\"f\":\"DejaVuSans\",\"s\":-3}}");
    const char *json = doc_json(kf, NULL, NULL);
    lt_doc *doc = NULL;
    fw_error err = {0};
    FW_REQUIRE(lt_doc_load(&doc, json, strlen(json), NULL, &err) == FW_OK);
    FW_CHECK_INT(lt_text_attach(doc, fonts, NULL, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "layers[0].t.d.k[0].s.s");
    FW_CHECK(doc->root.layers[0].text == NULL);
    release(&doc);
}

/* ---- the corpus ---- */

static int draw_all_text(lt_doc *doc, lt_comp *comp, int *layers)
{
    int inked = 0;
    for (int i = 0; i < comp->nlayers; i++) {
        lt_layer *l = &comp->layers[i];
        if (l->type != LT_LAYER_TEXT)
            continue;
        ++*layers;
        cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
        cairo_t *cr = cairo_create(s);
        /* Centre the text's origin and shrink big exports to fit. */
        cairo_translate(cr, W / 2.0, H / 2.0);
        cairo_scale(cr, 0.2, 0.2);
        lt_text_draw(doc, l, 0, cr);
        cairo_destroy(cr);
        cairo_surface_flush(s);
        inked += ink(s, everything()) > 0;
        cairo_surface_destroy(s);
    }
    return inked;
}

static void test_corpus_text_documents_attach_and_draw(void)
{
    static const char *names[] = {"text2.json", "textblock.json", "text_anim.json", "stroke_dash.json",
                                  "expressions__bicycle.json", "extensions__resolver2.json"};
    int found = 0, text_layers = 0;
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        const char *path = fw_test_corpus(names[n]);
        if (!path)
            continue;
        found++;
        FILE *f = fopen(path, "rb");
        FW_REQUIRE(f);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *data = malloc((size_t)len + 1);
        FW_REQUIRE(data && fread(data, 1, (size_t)len, f) == (size_t)len);
        fclose(f);
        data[len] = 0;
        json_t *missing = json_array();
        lt_doc *doc = NULL;
        fw_error err = {0};
        FW_CHECK_MSG(lt_doc_load(&doc, data, (size_t)len, NULL, &err) == FW_OK, "%s: %s", names[n], err.message);
        free(data);
        if (!doc) {
            json_decref(missing);
            continue;
        }
        FW_CHECK_MSG(lt_text_attach(doc, fonts, missing, &err) == FW_OK, "%s: %s: %s", names[n], err.field,
                     err.message);
        int layers = 0, inked = draw_all_text(doc, &doc->root, &layers);
        for (int c = 0; c < doc->ncomps; c++)
            inked += draw_all_text(doc, &doc->comps[c], &layers);
        FW_CHECK_MSG(inked == layers, "%s: %d of %d text layers drew something", names[n], inked, layers);
        text_layers += layers;
        json_decref(missing);
        release(&doc);
    }
    if (!found)
        FW_SKIP("no corpus (FW_CORPUS_DIR)");
    /* text2.json alone has ten, drawn from its embedded glyphs. */
    FW_CHECK(text_layers >= 10);
}

int main(void)
{
    fw_error err = {0};
    if (fw_fontset_new(&fonts, NULL, &err) != FW_OK) {
        fprintf(stderr, "text_test: %s (install fonts-dejavu-core)\n", err.message);
        return 1;
    }
    FW_RUN(test_left_aligned_text_is_drawn_where_the_layout_puts_it);
    FW_RUN(test_centre_and_right_alignment_move_the_text);
    FW_RUN(test_fill_colour_is_the_colour_drawn);
    FW_RUN(test_stroke_adds_a_ring_in_the_stroke_colour);
    FW_RUN(test_opacity_animator_with_range_hides_the_first_half);
    FW_RUN(test_position_animator_moves_only_the_selected_glyphs);
    FW_RUN(test_rotation_animator_turns_glyphs_about_their_baseline_centre);
    FW_RUN(test_fill_colour_animator_mixes_toward_its_colour);
    FW_RUN(test_keyframed_text_document_changes_the_text_at_its_time);
    FW_RUN(test_box_text_wraps_within_its_width);
    FW_RUN(test_missing_font_is_reported_and_drawn_with_the_default);
    FW_RUN(test_bad_text_document_fails_naming_the_field);
    FW_RUN(test_corpus_text_documents_attach_and_draw);
    fw_fontset_free(&fonts);
    return fw_test_end();
}
