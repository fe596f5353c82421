/*
 * digest_test.c - the render cache's key: everything a render draws from
 * changes the digest, nothing else does; a part's digest ignores what cannot
 * show in its frames and its sound; files are read only inside the
 * resources.
 */
#include <jansson.h>
#include <limits.h>

#include "server/work/digest.h"
#include "tests/fw_test.h"

/* 300 frames: an early text, an image, a late text (from frame 150), a
 * green shape, a sound. */
static const char *const BASE_DOC =
    "{\"v\":\"5.7.0\",\"fr\":30,\"ip\":0,\"op\":300,\"w\":320,\"h\":180,"
    "\"assets\":["
    "{\"id\":\"img\",\"w\":16,\"h\":16,\"u\":\"\",\"p\":\"a.png\",\"e\":0},"
    "{\"id\":\"snd\",\"u\":\"\",\"p\":\"s.wav\",\"e\":0}],"
    "\"layers\":["
    "{\"ind\":1,\"ty\":5,\"nm\":\"early\",\"ip\":0,\"op\":300,\"st\":0,"
    "\"t\":{\"d\":{\"k\":[{\"t\":0,\"s\":{\"t\":\"Hello\",\"f\":\"Sans\",\"s\":24,\"fc\":[1,0,0]}}]}}},"
    "{\"ind\":2,\"ty\":2,\"nm\":\"picture\",\"refId\":\"img\",\"ip\":0,\"op\":300,\"st\":0},"
    "{\"ind\":3,\"ty\":5,\"nm\":\"late\",\"ip\":150,\"op\":300,\"st\":0,"
    "\"t\":{\"d\":{\"k\":[{\"t\":0,\"s\":{\"t\":\"Later\",\"f\":\"Sans\",\"s\":24,\"fc\":[0,0,1]}}]}}},"
    "{\"ind\":4,\"ty\":4,\"nm\":\"shape\",\"ip\":0,\"op\":300,\"st\":0,"
    "\"shapes\":[{\"ty\":\"fl\",\"c\":{\"a\":0,\"k\":[0,1,0,1]},\"o\":{\"a\":0,\"k\":100}}]},"
    "{\"ind\":5,\"ty\":6,\"nm\":\"music\",\"refId\":\"snd\",\"ip\":0,\"op\":300,\"st\":0,"
    "\"au\":{\"lv\":{\"a\":0,\"k\":[100,100]}}}]}";

typedef struct case_dir {
    char path[PATH_MAX];
} case_dir;

static void put(const case_dir *dir, const char *name, const char *bytes)
{
    char path[PATH_MAX * 2];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir->path, name);
    f = fopen(path, "wb");
    if (f) {
        fputs(bytes, f);
        fclose(f);
    }
}

/* A fresh folder with the base document's files. */
static case_dir new_case(void)
{
    case_dir dir;
    snprintf(dir.path, sizeof(dir.path), "%s", fw_test_tmpdir());
    put(&dir, "a.png", "picture bytes");
    put(&dir, "s.wav", "sound bytes");
    put(&dir, "font.ttf", "font bytes");
    return dir;
}

static json_t *base_doc(void) { return json_loads(BASE_DOC, 0, NULL); }

static json_t *layer(json_t *doc, size_t i) { return json_array_get(json_object_get(doc, "layers"), i); }

static json_t *asset(json_t *doc, size_t i) { return json_array_get(json_object_get(doc, "assets"), i); }

static void set_text(json_t *doc, size_t i, const char *text)
{
    json_t *keys = json_object_get(json_object_get(json_object_get(layer(doc, i), "t"), "d"), "k");
    json_object_set_new(json_object_get(json_array_get(keys, 0), "s"), "t", json_string(text));
}

/* The digest, or "" with *rc set when it failed. */
typedef struct digest_call {
    const json_t *doc;
    const case_dir *dir;
    int kind, first, last;
    const char *output, *default_font;
    int with_font;
} digest_call;

static fw_err digest_of(digest_call call, char out[FW_DIGEST_HEX], fw_error *err)
{
    char font[PATH_MAX * 2];
    const char *fonts[] = {font, NULL};
    snprintf(font, sizeof(font), "%s/font.ttf", call.dir->path);
    fw_digest_input in = {.doc = call.doc,
                          .resource_dir = call.dir->path,
                          .font_files = call.with_font ? fonts : NULL,
                          .default_font = call.default_font,
                          .output = call.output ? call.output : "h264 320x180 30/1 crf 23 cairo"};
    return fw_render_digest(&in, call.kind, call.first, call.last, out, err);
}

static fw_err whole(const json_t *doc, const case_dir *dir, char out[FW_DIGEST_HEX], fw_error *err)
{
    return digest_of((digest_call){.doc = doc, .dir = dir, .kind = FW_DIGEST_WHOLE, .last = 299}, out, err);
}

static fw_err part(const json_t *doc, const case_dir *dir, int first, int last, char out[FW_DIGEST_HEX],
                   fw_error *err)
{
    return digest_of((digest_call){.doc = doc, .dir = dir, .kind = FW_DIGEST_PART, .first = first, .last = last},
                     out, err);
}

static int is_hex_digest(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

/* ---- what every digest covers ----------------------------------------------------------- */

static void test_the_same_inputs_give_the_same_digest_of_64_hex_digits(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc(), *again = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX], p[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc && again);
    FW_CHECK_INT(whole(doc, &dir, a, &err), FW_OK);
    FW_CHECK_INT(whole(again, &dir, b, &err), FW_OK);
    FW_CHECK(is_hex_digest(a));
    FW_CHECK_STR(a, b);
    FW_CHECK_INT(part(doc, &dir, 0, 299, p, &err), FW_OK);
    FW_CHECK_MSG(strcmp(a, p) != 0, "a part of every frame is still a part (silent): %s", p);
    json_decref(doc);
    json_decref(again);
}

static void test_the_document_is_not_changed(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char before[8192], out[FW_DIGEST_HEX], *text;
    fw_error err;

    FW_REQUIRE(doc);
    text = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
    snprintf(before, sizeof(before), "%s", text);
    free(text);
    FW_CHECK_INT(part(doc, &dir, 0, 10, out, &err), FW_OK);
    text = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
    FW_CHECK_STR(text, before);
    free(text);
    json_decref(doc);
}

static void test_a_text_or_a_colour_changes_the_digest(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX], c[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    FW_CHECK_INT(whole(doc, &dir, a, &err), FW_OK);
    set_text(doc, 0, "Hallo");
    FW_CHECK_INT(whole(doc, &dir, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    json_t *fill = json_object_get(json_array_get(json_object_get(layer(doc, 3), "shapes"), 0), "c");
    json_object_set_new(fill, "k", json_pack("[f,f,f,f]", 0.0, 0.9999, 0.0, 1.0));
    FW_CHECK_INT(whole(doc, &dir, c, &err), FW_OK);
    FW_CHECK(strcmp(b, c) != 0);
    json_decref(doc);
}

static void test_new_bytes_in_an_image_file_of_the_same_name_change_the_digest(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    FW_CHECK_INT(whole(doc, &dir, a, &err), FW_OK);
    put(&dir, "a.png", "other picture bytes");
    FW_CHECK_INT(whole(doc, &dir, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    json_decref(doc);
}

static void test_the_output_and_the_frame_range_change_the_digest(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX], c[FW_DIGEST_HEX], d[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    FW_CHECK_INT(digest_of((digest_call){.doc = doc, .dir = &dir, .last = 299, .output = "h264 crf 23"}, a, &err),
                 FW_OK);
    FW_CHECK_INT(digest_of((digest_call){.doc = doc, .dir = &dir, .last = 299, .output = "h264 crf 24"}, b, &err),
                 FW_OK);
    FW_CHECK_INT(digest_of((digest_call){.doc = doc, .dir = &dir, .last = 298, .output = "h264 crf 23"}, c, &err),
                 FW_OK);
    FW_CHECK_INT(digest_of((digest_call){.doc = doc, .dir = &dir, .first = 1, .last = 299, .output = "h264 crf 23"},
                           d, &err),
                 FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    FW_CHECK(strcmp(a, c) != 0);
    FW_CHECK(strcmp(a, d) != 0);
    FW_CHECK(strcmp(c, d) != 0);
    json_decref(doc);
}

static void test_a_new_version_of_a_font_file_and_the_default_font_change_the_digest(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char none[FW_DIGEST_HEX], a[FW_DIGEST_HEX], b[FW_DIGEST_HEX], c[FW_DIGEST_HEX], d[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    FW_CHECK_INT(digest_of((digest_call){.doc = doc, .dir = &dir, .last = 299}, none, &err), FW_OK);
    FW_CHECK_INT(digest_of((digest_call){.doc = doc, .dir = &dir, .last = 299, .with_font = 1}, a, &err), FW_OK);
    put(&dir, "font.ttf", "font bytes, version 2");
    FW_CHECK_INT(digest_of((digest_call){.doc = doc, .dir = &dir, .last = 299, .with_font = 1}, b, &err), FW_OK);
    FW_CHECK_INT(
        digest_of((digest_call){.doc = doc, .dir = &dir, .last = 299, .with_font = 1, .default_font = "Serif"}, c,
                  &err),
        FW_OK);
    FW_CHECK_INT(
        digest_of((digest_call){.doc = doc, .dir = &dir, .last = 299, .with_font = 1, .default_font = "Sans"}, d,
                  &err),
        FW_OK);
    FW_CHECK(strcmp(none, a) != 0);
    FW_CHECK(strcmp(a, b) != 0);
    FW_CHECK(strcmp(b, c) != 0);
    FW_CHECK(strcmp(c, d) != 0);
    put(&dir, "font.ttf", "");
    FW_CHECK_INT(digest_of((digest_call){.doc = doc, .dir = &dir, .last = 299, .with_font = 1}, a, &err), FW_OK);
    FW_CHECK_MSG(strcmp(none, a) != 0, "an empty font file is still a font file");
    char font[PATH_MAX * 2];
    snprintf(font, sizeof(font), "%s/font.ttf", dir.path);
    unlink(font);
    FW_CHECK_INT(digest_of((digest_call){.doc = doc, .dir = &dir, .last = 299, .with_font = 1}, a, &err), FW_ERR_IO);
    FW_CHECK_STR(err.field, "fonts");
    FW_CHECK_STR(a, "");
    json_decref(doc);
}

static void test_a_renamed_file_changes_the_digest_but_its_folder_does_not(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX], c[FW_DIGEST_HEX], d[FW_DIGEST_HEX], folder[PATH_MAX + 8];
    fw_error err;

    FW_REQUIRE(doc);
    FW_CHECK_INT(whole(doc, &dir, a, &err), FW_OK);
    /* The name stays in the document: an engine may go by its extension. */
    put(&dir, "b.png", "picture bytes");
    json_object_set_new(asset(doc, 0), "p", json_string("b.png"));
    FW_CHECK_INT(whole(doc, &dir, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    /* The folder is only where the worker put the file. */
    mkdir(strcat(strcpy(folder, dir.path), "/images"), 0700);
    put(&dir, "images/b.png", "picture bytes");
    json_object_set_new(asset(doc, 0), "u", json_string("images/"));
    FW_CHECK_INT(whole(doc, &dir, c, &err), FW_OK);
    FW_CHECK_STR(c, b);
    strcat(folder, "/");
    json_object_set_new(asset(doc, 0), "u", json_string(folder));
    FW_CHECK_INT(whole(doc, &dir, d, &err), FW_OK);
    FW_CHECK_STR(d, b);
    json_decref(doc);
}

static void test_an_embedded_image_needs_no_file(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    json_object_set_new(asset(doc, 0), "p", json_string("data:image/png;base64,iVBORw0KGgo="));
    json_object_set_new(asset(doc, 0), "e", json_integer(1));
    FW_CHECK_INT(whole(doc, &dir, a, &err), FW_OK);
    json_object_set_new(asset(doc, 0), "p", json_string("data:image/png;base64,iVBORw0KGgp="));
    FW_CHECK_INT(whole(doc, &dir, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    json_decref(doc);
}

/* ---- parts -------------------------------------------------------------------------------- */

static void test_a_part_leaves_out_layers_outside_its_frames(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc(), *other = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc && other);
    set_text(other, 2, "Much later");
    FW_CHECK_INT(part(doc, &dir, 0, 119, a, &err), FW_OK);
    FW_CHECK_INT(part(other, &dir, 0, 119, b, &err), FW_OK);
    FW_CHECK_STR(a, b);
    /* Frame 149 is the last before the late layer's in point. */
    FW_CHECK_INT(part(doc, &dir, 100, 149, a, &err), FW_OK);
    FW_CHECK_INT(part(other, &dir, 100, 149, b, &err), FW_OK);
    FW_CHECK_STR(a, b);
    FW_CHECK_INT(part(doc, &dir, 120, 299, a, &err), FW_OK);
    FW_CHECK_INT(part(other, &dir, 120, 299, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    FW_CHECK_INT(part(doc, &dir, 100, 150, a, &err), FW_OK);
    FW_CHECK_INT(part(other, &dir, 100, 150, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    FW_CHECK_INT(whole(doc, &dir, a, &err), FW_OK);
    FW_CHECK_INT(whole(other, &dir, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    json_decref(doc);
    json_decref(other);
}

static void test_a_part_counts_frames_from_the_documents_in_point(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc(), *other = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc && other);
    /* The composition starts at 100: engine frame 60 is composition frame 160. */
    json_object_set_new(doc, "ip", json_integer(100));
    json_object_set_new(other, "ip", json_integer(100));
    set_text(other, 2, "Much later");
    FW_CHECK_INT(part(doc, &dir, 0, 49, a, &err), FW_OK);
    FW_CHECK_INT(part(other, &dir, 0, 49, b, &err), FW_OK);
    FW_CHECK_STR(a, b);
    FW_CHECK_INT(part(doc, &dir, 50, 60, a, &err), FW_OK);
    FW_CHECK_INT(part(other, &dir, 50, 60, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    json_decref(doc);
    json_decref(other);
}

static void test_assets_only_layers_outside_a_part_use_do_not_count(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX], c[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    /* The picture shows from frame 200 on. */
    json_object_set_new(layer(doc, 1), "ip", json_integer(200));
    FW_CHECK_INT(part(doc, &dir, 0, 119, a, &err), FW_OK);
    FW_CHECK_INT(part(doc, &dir, 200, 299, c, &err), FW_OK);
    put(&dir, "a.png", "other picture bytes");
    FW_CHECK_INT(part(doc, &dir, 0, 119, b, &err), FW_OK);
    FW_CHECK_STR(a, b);
    FW_CHECK_INT(part(doc, &dir, 200, 299, b, &err), FW_OK);
    FW_CHECK(strcmp(b, c) != 0);
    json_decref(doc);
}

static void test_a_parent_outside_a_part_counts(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX], c[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    /* The early text hangs from a null that is itself only in from frame 200,
     * and that null from another. */
    json_t *null_layer = json_pack("{s:i,s:i,s:s,s:i,s:i,s:i,s:i,s:{s:{s:i,s:[i,i,i]}}}", "ind", 10, "ty", 3, "nm",
                                   "holder", "ip", 200, "op", 300, "st", 0, "parent", 11, "ks", "p", "a", 0, "k", 10,
                                   20, 0);
    json_t *grand = json_pack("{s:i,s:i,s:s,s:i,s:i,s:i,s:{s:{s:i,s:[i,i,i]}}}", "ind", 11, "ty", 3, "nm", "grand",
                              "ip", 250, "op", 300, "st", 0, "ks", "p", "a", 0, "k", 0, 0, 0);
    json_array_append_new(json_object_get(doc, "layers"), null_layer);
    json_array_append_new(json_object_get(doc, "layers"), grand);
    json_object_set_new(layer(doc, 0), "parent", json_integer(10));
    FW_CHECK_INT(part(doc, &dir, 0, 119, a, &err), FW_OK);
    json_object_set_new(json_object_get(json_object_get(null_layer, "ks"), "p"), "k",
                        json_pack("[i,i,i]", 11, 20, 0));
    FW_CHECK_INT(part(doc, &dir, 0, 119, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    json_object_set_new(json_object_get(json_object_get(grand, "ks"), "p"), "k", json_pack("[i,i,i]", 1, 0, 0));
    FW_CHECK_INT(part(doc, &dir, 0, 119, c, &err), FW_OK);
    FW_CHECK_MSG(strcmp(b, c) != 0, "the parent's parent counts too");
    /* Not a parent any more: the null is out of the part again. */
    json_object_del(layer(doc, 0), "parent");
    FW_CHECK_INT(part(doc, &dir, 0, 119, a, &err), FW_OK);
    json_object_set_new(json_object_get(json_object_get(null_layer, "ks"), "p"), "k",
                        json_pack("[i,i,i]", 12, 20, 0));
    FW_CHECK_INT(part(doc, &dir, 0, 119, b, &err), FW_OK);
    FW_CHECK_STR(a, b);
    json_decref(doc);
}

static void test_a_matte_source_outside_a_part_counts(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    /* The shape (from frame 200) becomes the matte of the picture after it. */
    json_t *shape = layer(doc, 3), *layers = json_object_get(doc, "layers");
    json_object_set_new(shape, "ip", json_integer(200));
    json_object_set_new(shape, "td", json_integer(1));
    json_incref(shape);
    json_array_remove(layers, 3);
    json_array_insert_new(layers, 1, shape);
    json_object_set_new(layer(doc, 2), "tt", json_integer(1));
    FW_CHECK_INT(part(doc, &dir, 0, 119, a, &err), FW_OK);
    json_t *fill = json_object_get(json_array_get(json_object_get(shape, "shapes"), 0), "c");
    json_object_set_new(fill, "k", json_pack("[i,i,i,i]", 1, 1, 1, 1));
    FW_CHECK_INT(part(doc, &dir, 0, 119, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    json_decref(doc);
}

static void test_a_matte_named_by_index_outside_a_part_counts(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    json_object_set_new(layer(doc, 2), "td", json_integer(1)); /* the late text, from frame 150 */
    json_object_set_new(layer(doc, 0), "tp", json_integer(3));
    json_object_set_new(layer(doc, 0), "tt", json_integer(1));
    FW_CHECK_INT(part(doc, &dir, 0, 119, a, &err), FW_OK);
    set_text(doc, 2, "Much later");
    FW_CHECK_INT(part(doc, &dir, 0, 119, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    json_decref(doc);
}

static void test_sound_counts_for_the_whole_but_not_for_a_part(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char whole_a[FW_DIGEST_HEX], whole_b[FW_DIGEST_HEX], whole_c[FW_DIGEST_HEX];
    char part_a[FW_DIGEST_HEX], part_b[FW_DIGEST_HEX], part_c[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    FW_CHECK_INT(whole(doc, &dir, whole_a, &err), FW_OK);
    FW_CHECK_INT(part(doc, &dir, 0, 119, part_a, &err), FW_OK);
    put(&dir, "s.wav", "other sound bytes");
    FW_CHECK_INT(whole(doc, &dir, whole_b, &err), FW_OK);
    FW_CHECK_INT(part(doc, &dir, 0, 119, part_b, &err), FW_OK);
    json_object_set_new(json_object_get(layer(doc, 4), "au"), "lv",
                        json_pack("{s:i,s:[i,i]}", "a", 0, "k", 50, 50));
    FW_CHECK_INT(whole(doc, &dir, whole_c, &err), FW_OK);
    FW_CHECK_INT(part(doc, &dir, 0, 119, part_c, &err), FW_OK);
    FW_CHECK(strcmp(whole_a, whole_b) != 0);
    FW_CHECK(strcmp(whole_b, whole_c) != 0);
    FW_CHECK_STR(part_b, part_a);
    FW_CHECK_STR(part_c, part_a);
    /* A part never reads a sound file it leaves out. */
    char path[PATH_MAX * 2];
    snprintf(path, sizeof(path), "%s/s.wav", dir.path);
    unlink(path);
    FW_CHECK_INT(part(doc, &dir, 0, 119, part_b, &err), FW_OK);
    FW_CHECK_STR(part_b, part_a);
    json_decref(doc);
}

static void test_an_expression_anywhere_keeps_every_layer_in_a_part(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc(), *other = base_doc(), *docs[2] = {doc, other};
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX], c[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc && other);
    set_text(other, 2, "Much later");
    /* In a precomp no layer of the part uses. */
    for (int i = 0; i < 2; i++) {
        json_t *precomp = json_pack("{s:s,s:[{s:i,s:i,s:i,s:i,s:{s:{s:i,s:i,s:s}}}]}", "id", "unused", "layers",
                                    "ind", 1, "ty", 3, "ip", 0, "op", 300, "ks", "o", "a", 0, "k", 100, "x",
                                    "value * 0.5");
        json_array_append_new(json_object_get(docs[i], "assets"), precomp);
    }
    FW_CHECK_INT(part(doc, &dir, 0, 119, a, &err), FW_OK);
    FW_CHECK_INT(part(other, &dir, 0, 119, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    /* Sound included: the document is hashed as it is. */
    put(&dir, "s.wav", "other sound bytes");
    FW_CHECK_INT(part(doc, &dir, 0, 119, c, &err), FW_OK);
    FW_CHECK(strcmp(a, c) != 0);
    json_decref(doc);
    json_decref(other);
}

static void test_a_kept_precomp_counts_whole_with_the_assets_it_uses(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX], b[FW_DIGEST_HEX], c[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    /* The picture moves into a precomp, whose layer is in the part; inside,
     * the picture only shows from frame 250 of the precomp. */
    json_t *precomp = json_pack("{s:s,s:i,s:i,s:[{s:i,s:i,s:s,s:i,s:i,s:i}]}", "id", "comp", "w", 320, "h", 180,
                                "layers", "ind", 1, "ty", 2, "refId", "img", "ip", 250, "op", 300, "st", 0);
    json_array_append_new(json_object_get(doc, "assets"), precomp);
    json_t *picture = layer(doc, 1);
    json_object_set_new(picture, "ty", json_integer(0));
    json_object_set_new(picture, "refId", json_string("comp"));
    json_object_set_new(picture, "w", json_integer(320));
    json_object_set_new(picture, "h", json_integer(180));
    FW_CHECK_INT(part(doc, &dir, 0, 119, a, &err), FW_OK);
    put(&dir, "a.png", "other picture bytes");
    FW_CHECK_INT(part(doc, &dir, 0, 119, b, &err), FW_OK);
    FW_CHECK(strcmp(a, b) != 0);
    /* The precomp layer outside the part: its precomp and picture go. */
    json_object_set_new(picture, "ip", json_integer(200));
    FW_CHECK_INT(part(doc, &dir, 0, 119, a, &err), FW_OK);
    put(&dir, "a.png", "picture bytes");
    FW_CHECK_INT(part(doc, &dir, 0, 119, c, &err), FW_OK);
    FW_CHECK_STR(a, c);
    json_decref(doc);
}

static void test_a_precomp_that_uses_itself_is_digested(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char a[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    json_array_append_new(json_object_get(doc, "assets"),
                          json_pack("{s:s,s:[{s:i,s:i,s:s,s:i,s:i}]}", "id", "loop", "layers", "ind", 1, "ty", 0,
                                    "refId", "loop", "ip", 0, "op", 300));
    json_object_set_new(layer(doc, 1), "ty", json_integer(0));
    json_object_set_new(layer(doc, 1), "refId", json_string("loop"));
    FW_CHECK_INT(part(doc, &dir, 0, 119, a, &err), FW_OK);
    FW_CHECK(is_hex_digest(a));
    json_decref(doc);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_a_missing_file_is_an_io_error_on_assets(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char out[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc);
    json_object_set_new(asset(doc, 0), "p", json_string("missing.png"));
    FW_CHECK_INT(whole(doc, &dir, out, &err), FW_ERR_IO);
    FW_CHECK_STR(err.field, "assets");
    FW_CHECK_CONTAINS(err.message, "missing.png");
    FW_CHECK_STR(out, "");
    FW_CHECK_INT(part(doc, &dir, 0, 10, out, &err), FW_ERR_IO);
    FW_CHECK_STR(err.field, "assets");
    json_decref(doc);
}

static void test_a_path_out_of_the_resources_is_invalid(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc();
    char out[FW_DIGEST_HEX], outside[PATH_MAX + 16];
    const char *paths[][2] = {{"", "../x.png"}, {"../", "x.png"}, {"images/../../", "x.png"},
                              {"", "/etc/hostname"}, {"/etc/", "hostname"}};
    fw_error err;

    FW_REQUIRE(doc);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        json_object_set_new(asset(doc, 0), "u", json_string(paths[i][0]));
        json_object_set_new(asset(doc, 0), "p", json_string(paths[i][1]));
        fw_error_clear(&err);
        FW_CHECK_INT(whole(doc, &dir, out, &err), FW_ERR_INVALID);
        FW_CHECK_STR(err.field, "assets");
    }
    /* A folder named like the resources, but beside them. */
    snprintf(outside, sizeof(outside), "%s-other/", dir.path);
    json_object_set_new(asset(doc, 0), "u", json_string(outside));
    json_object_set_new(asset(doc, 0), "p", json_string("a.png"));
    FW_CHECK_INT(whole(doc, &dir, out, &err), FW_ERR_INVALID);
    /* A name that merely starts with two dots is a name. */
    put(&dir, "..a.png", "picture bytes");
    json_object_set_new(asset(doc, 0), "u", json_string(""));
    json_object_set_new(asset(doc, 0), "p", json_string("..a.png"));
    FW_CHECK_INT(whole(doc, &dir, out, &err), FW_OK);
    json_decref(doc);
}

static void test_bad_arguments_are_invalid(void)
{
    case_dir dir = new_case();
    json_t *doc = base_doc(), *array = json_array();
    char out[FW_DIGEST_HEX];
    fw_error err;

    FW_REQUIRE(doc && array);
    FW_CHECK_INT(digest_of((digest_call){.doc = doc, .dir = &dir, .kind = 2, .last = 1}, out, &err), FW_ERR_INVALID);
    FW_CHECK_INT(part(doc, &dir, 5, 4, out, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "frames");
    FW_CHECK_INT(part(doc, &dir, -1, 4, out, &err), FW_ERR_INVALID);
    FW_CHECK_INT(whole(array, &dir, out, &err), FW_ERR_INVALID);
    FW_CHECK_INT(fw_render_digest(NULL, FW_DIGEST_WHOLE, 0, 0, out, &err), FW_ERR_INVALID);
    json_decref(doc);
    json_decref(array);
}

int main(void)
{
    FW_RUN(test_the_same_inputs_give_the_same_digest_of_64_hex_digits);
    FW_RUN(test_the_document_is_not_changed);
    FW_RUN(test_a_text_or_a_colour_changes_the_digest);
    FW_RUN(test_new_bytes_in_an_image_file_of_the_same_name_change_the_digest);
    FW_RUN(test_the_output_and_the_frame_range_change_the_digest);
    FW_RUN(test_a_new_version_of_a_font_file_and_the_default_font_change_the_digest);
    FW_RUN(test_a_renamed_file_changes_the_digest_but_its_folder_does_not);
    FW_RUN(test_an_embedded_image_needs_no_file);
    FW_RUN(test_a_part_leaves_out_layers_outside_its_frames);
    FW_RUN(test_a_part_counts_frames_from_the_documents_in_point);
    FW_RUN(test_assets_only_layers_outside_a_part_use_do_not_count);
    FW_RUN(test_a_parent_outside_a_part_counts);
    FW_RUN(test_a_matte_source_outside_a_part_counts);
    FW_RUN(test_a_matte_named_by_index_outside_a_part_counts);
    FW_RUN(test_sound_counts_for_the_whole_but_not_for_a_part);
    FW_RUN(test_an_expression_anywhere_keeps_every_layer_in_a_part);
    FW_RUN(test_a_kept_precomp_counts_whole_with_the_assets_it_uses);
    FW_RUN(test_a_precomp_that_uses_itself_is_digested);
    FW_RUN(test_a_missing_file_is_an_io_error_on_assets);
    FW_RUN(test_a_path_out_of_the_resources_is_invalid);
    FW_RUN(test_bad_arguments_are_invalid);
    return fw_test_end();
}
