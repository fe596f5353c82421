/*
 * fidelity.c - how close our render engines come to lottie-web.
 *
 * For every Lottie file of a corpus, three frames (0, floor(n/3) and
 * floor(2n/3), n = op - ip, numbered from the in point) are drawn by each
 * engine at the composition's size, prepared as a render job prepares them
 * (text layers turned into shapes, then fw_engine_load), and compared by
 * SSIM over white (ssim.h) with the reference PNGs that reference.js made
 * with lottie-web in Chromium. An engine that cannot load or draw a file
 * scores 0 for its frames. A frame whose reference is missing is left out.
 *
 *   fidelity --corpus DIR --refs DIR [--text-cases DIR [--text-refs DIR]]
 *            [--engine NAME ...] [--only NAME] [--diff-dir DIR] [--json FILE]
 *
 * Prints markdown tables: per file (its feature classes and each engine's
 * three scores and speed), per engine (frames >= 0.98, median, mean, fps)
 * and per feature class. --diff-dir writes, for every frame and engine,
 * reference | engine | difference x4 side by side; --json writes every
 * figure. Render speed is the engine alone: fw_engine_render's wall time.
 *
 * Fonts: where a reference's <stem>.fonts.json (reference.js) says Chromium
 * drew a font of the file with another family than the one asked for (the
 * font is not on the machine and the browser fell back on one of its own),
 * the file is rendered a second time with the face Chromium used, so that
 * its score measures layout rather than which stand-in each side chose.
 * Both scores are printed.
 *
 * --text-cases names a folder of our own text cases (bench/fidelity/text),
 * with their references in --text-refs (default REFS/text-cases). They get
 * their own per-file table and their own line in the class tables, and stay
 * out of the corpus's summary and classes.
 */
#include <dirent.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "bench/fidelity/ssim.h"
#include "server/render/engine.h"
#include "server/template/template.h"
#include "server/text/fonts.h"
#include "server/util/error.h"
#include "server/work/render_job.h"

#define MAX_ENGINES 8
#define MAX_FALLBACKS 4
#define FRAMES 3
#define PASS 0.98
/* Differences are small; times four makes a one-pixel edge error visible. */
#define DIFF_GAIN 4

/* Feature classes, found by scanning the document. */
enum {
    F_EXPRESSIONS, F_MATTES, F_MASKS, F_TEXT, F_IMAGES, F_PRECOMPS, F_MERGE, F_TRIM, F_REPEATERS,
    F_GRADIENTS, F_POLYSTARS, F_EFFECTS, F_BLEND, F_TIME_REMAP, F_PLAIN, F_COUNT
};
static const char *const feature_names[F_COUNT] = {
    "expressions", "mattes", "masks", "text", "images", "precomps", "merge", "trim",
    "repeaters", "gradients", "polystars", "effects", "blend", "timeremap", "plain",
};

typedef struct engine_result {
    char error[512];           /* why the engine failed this file; "" when it did not */
    double ssim[FRAMES];       /* -1: not scored (no reference) */
    double seconds[FRAMES];    /* render time; < 0 when not rendered */
} engine_result;

/* A font of the file that Chromium drew with a face of another family. */
typedef struct font_fallback {
    char font[FW_FONT_NAME_MAX];       /* the font list's fName */
    char asked[FW_FONT_NAME_MAX];      /* the family lottie-web asked for */
    char drawn[FW_FONT_NAME_MAX];      /* the family Chromium drew with */
    char postscript[FW_FONT_NAME_MAX]; /* its PostScript name; "" when not told */
    char path[4096];                   /* its file on this machine; "" when fontconfig has none */
    char ours[2 * FW_FONT_NAME_MAX];   /* the face our text layout chose: "DejaVu Sans Book" */
} font_fallback;

typedef struct file_result {
    char name[256];
    int own_case;              /* one of --text-cases, not of the corpus */
    unsigned features;         /* 1 << F_... */
    int frame_count;           /* frames this file has to score (1 to FRAMES) */
    int frames[FRAMES];
    int has_ref[FRAMES];
    char note[512];            /* why the file or a reference could not be used */
    engine_result engines[MAX_ENGINES];
    int fallback_count;        /* fonts the reference drew with another family */
    font_fallback fallbacks[MAX_FALLBACKS];
    int with_reference_fonts;  /* the frames were drawn again with the reference's faces */
    engine_result reference_fonts[MAX_ENGINES];
} file_result;

typedef struct options {
    const char *corpus, *refs, *only, *diff_dir, *json_path;
    const char *text_cases, *text_refs;
    const char *engines[MAX_ENGINES];
    int engine_count;
} options;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of n values (sorts them); 0 for none. */
static double median(double *v, int n)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- feature classes ------------------------------------------------------------------------ */

/* Expressions: a property object with an "x" string, anywhere. */
static int has_expression(const json_t *v)
{
    const char *key;
    json_t *child;
    size_t i;

    if (json_is_object(v)) {
        if (json_is_string(json_object_get(v, "x")))
            return 1;
        json_object_foreach((json_t *)v, key, child)
            if (has_expression(child))
                return 1;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child)
            if (has_expression(child))
                return 1;
    }
    return 0;
}

static unsigned shape_features(const json_t *shapes)
{
    static const struct { const char *ty; int feature; } kinds[] = {
        {"mm", F_MERGE}, {"tm", F_TRIM}, {"rp", F_REPEATERS}, {"gf", F_GRADIENTS}, {"gs", F_GRADIENTS},
        {"sr", F_POLYSTARS},
    };
    unsigned found = 0;
    size_t i;
    json_t *item;

    json_array_foreach(shapes, i, item) {
        const char *ty = json_string_value(json_object_get(item, "ty"));
        for (size_t k = 0; ty && k < sizeof(kinds) / sizeof(kinds[0]); k++)
            if (strcmp(ty, kinds[k].ty) == 0)
                found |= 1u << kinds[k].feature;
        found |= shape_features(json_object_get(item, "it"));
    }
    return found;
}

static unsigned layer_features(const json_t *layers)
{
    unsigned found = 0;
    size_t i;
    json_t *layer;

    json_array_foreach(layers, i, layer) {
        json_t *masks = json_object_get(layer, "masksProperties"), *effects = json_object_get(layer, "ef");
        json_int_t type = json_integer_value(json_object_get(layer, "ty"));
        if (json_object_get(layer, "tt") || json_object_get(layer, "tp"))
            found |= 1u << F_MATTES;
        if (json_array_size(masks) > 0)
            found |= 1u << F_MASKS;
        if (json_array_size(effects) > 0)
            found |= 1u << F_EFFECTS;
        if (json_number_value(json_object_get(layer, "bm")) != 0)
            found |= 1u << F_BLEND;
        if (json_is_object(json_object_get(layer, "tm")))
            found |= 1u << F_TIME_REMAP;
        if (type == 5)
            found |= 1u << F_TEXT;
        else if (type == 2)
            found |= 1u << F_IMAGES;
        else if (type == 0)
            found |= 1u << F_PRECOMPS;
        found |= shape_features(json_object_get(layer, "shapes"));
    }
    return found;
}

static unsigned document_features(const json_t *doc)
{
    unsigned found = layer_features(json_object_get(doc, "layers"));
    size_t i;
    json_t *asset;

    json_array_foreach(json_object_get(doc, "assets"), i, asset)
        found |= layer_features(json_object_get(asset, "layers"));
    if (has_expression(doc))
        found |= 1u << F_EXPRESSIONS;
    return found ? found : 1u << F_PLAIN;
}

static void features_text(unsigned features, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int f = 0; f < F_COUNT; f++)
        if (features & (1u << f))
            used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s%s", used ? " " : "",
                                     feature_names[f]);
}

/* ---- the reference's fonts ------------------------------------------------------------------ */

static const char *string_or(const json_t *v, const char *otherwise)
{
    return json_is_string(v) ? json_string_value(v) : otherwise;
}

/* Whether one of a fontconfig pattern's families is family. */
static int has_family(FcPattern *pattern, const char *family)
{
    FcChar8 *name;
    for (int i = 0; FcPatternGetString(pattern, FC_FAMILY, i, &name) == FcResultMatch; i++)
        if (strcasecmp((const char *)name, family) == 0)
            return 1;
    return 0;
}

/* The file of a face of this machine: the one with this PostScript name,
 * else fontconfig's best match for the family if it is of that family.
 * 0 when there is none. */
static int face_file(const char *family, const char *postscript, char *path, size_t size)
{
    FcPattern *pattern = FcPatternCreate(), *match = NULL;
    FcObjectSet *objects = FcObjectSetBuild(FC_FILE, FC_FAMILY, (char *)NULL);
    FcFontSet *list = NULL;
    FcChar8 *file;
    FcResult result;
    int found = 0;

    if (!pattern || !objects)
        goto done;
    if (*postscript) {
        FcPatternAddString(pattern, FC_POSTSCRIPT_NAME, (const FcChar8 *)postscript);
        list = FcFontList(NULL, pattern, objects);
        if (list && list->nfont > 0 && FcPatternGetString(list->fonts[0], FC_FILE, 0, &file) == FcResultMatch) {
            snprintf(path, size, "%s", (const char *)file);
            found = 1;
            goto done;
        }
        FcPatternDel(pattern, FC_POSTSCRIPT_NAME);
    }
    FcPatternAddString(pattern, FC_FAMILY, (const FcChar8 *)family);
    FcConfigSubstitute(NULL, pattern, FcMatchPattern);
    FcDefaultSubstitute(pattern);
    match = FcFontMatch(NULL, pattern, &result);
    if (match && has_family(match, family) && FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch) {
        snprintf(path, size, "%s", (const char *)file);
        found = 1;
    }
done:
    if (match)
        FcPatternDestroy(match);
    if (list)
        FcFontSetDestroy(list);
    if (objects)
        FcObjectSetDestroy(objects);
    if (pattern)
        FcPatternDestroy(pattern);
    return found;
}

/* The fonts that <stem>.fonts.json (written by reference.js beside the
 * reference PNGs) says Chromium drew with another family than the one asked
 * for, each with the face that drew most of its glyphs. A file without the
 * fonts file (no text, or drawn before fonts were recorded) has none. */
static void read_reference_fonts(const char *refs_dir, file_result *fr)
{
    char stem[256], path[4096];
    const char *name;
    json_t *doc, *entry;

    snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(fr->name) - 5), fr->name);
    snprintf(path, sizeof(path), "%s/%s.fonts.json", refs_dir, stem);
    if (!(doc = json_load_file(path, 0, NULL)))
        return;
    json_object_foreach(json_object_get(doc, "fonts"), name, entry) {
        json_t *face, *most = NULL;
        size_t i;
        if (!json_is_true(json_object_get(entry, "fallback")) || fr->fallback_count == MAX_FALLBACKS)
            continue;
        json_array_foreach(json_object_get(entry, "platformFonts"), i, face)
            if (!most || json_integer_value(json_object_get(face, "glyphCount")) >
                             json_integer_value(json_object_get(most, "glyphCount")))
                most = face;
        if (!most)
            continue;
        font_fallback *fb = &fr->fallbacks[fr->fallback_count++];
        memset(fb, 0, sizeof(*fb));
        snprintf(fb->font, sizeof(fb->font), "%s", name);
        snprintf(fb->asked, sizeof(fb->asked), "%s", string_or(json_object_get(entry, "family"), ""));
        snprintf(fb->drawn, sizeof(fb->drawn), "%s", string_or(json_object_get(most, "familyName"), ""));
        snprintf(fb->postscript, sizeof(fb->postscript), "%s", string_or(json_object_get(most, "postScriptName"), ""));
        if (!face_file(fb->drawn, fb->postscript, fb->path, sizeof(fb->path)))
            fprintf(stderr, "fidelity: %s: the reference drew \"%s\" with %s, which this machine does not have\n",
                    fr->name, fb->font, fb->drawn);
    }
    json_decref(doc);
}

/* What our text layout drew each fallen-back font with (after a render with
 * the shared set, which remembers its stand-ins). */
static void note_our_fonts(const fw_fontset *fonts, file_result *fr)
{
    for (int k = 0; k < fr->fallback_count; k++) {
        font_fallback *fb = &fr->fallbacks[k];
        snprintf(fb->ours, sizeof(fb->ours), "its own face");
        for (size_t i = 0; i < fw_fontset_substitute_count(fonts); i++) {
            const fw_font_substitute *sub = fw_fontset_substitute_at(fonts, i);
            if (strcmp(sub->font, fb->font) == 0)
                snprintf(fb->ours, sizeof(fb->ours), "%s %s%s%s", sub->family, sub->style,
                         sub->synthetic_bold ? ", made bold" : "", sub->synthetic_italic ? ", slanted" : "");
        }
    }
}

static json_t *font_list_entry(json_t *doc, const char *name)
{
    json_t *entry;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(doc, "fonts"), "list"), i, entry)
        if (strcmp(string_or(json_object_get(entry, "fName"), ""), name) == 0)
            return entry;
    return NULL;
}

/* A copy of doc in which each font the reference fell back on names the
 * face Chromium drew it with, and a set holding those faces, as a job's own
 * fonts would be. The text documents keep their font names; only the font
 * list's family and style change (to the face's PostScript name, which names
 * one face even in a collection), and a file path the font list gave is
 * dropped. 0 when no face could be given. */
static int with_reference_fonts(const file_result *fr, json_t *doc, json_t **out, fw_fontset **fonts)
{
    json_t *copy = json_deep_copy(doc);
    fw_fontset *set = NULL;
    int given = 0;
    fw_error err;

    fw_error_clear(&err);
    if (!copy || fw_fontset_new(&set, NULL, &err)) {
        json_decref(copy);
        return 0;
    }
    for (int k = 0; k < fr->fallback_count; k++) {
        const font_fallback *fb = &fr->fallbacks[k];
        json_t *entry = font_list_entry(copy, fb->font);
        const fw_font *face;
        if (!fb->path[0] || !entry)
            continue;
        if (fw_fontset_add_file(set, fb->path, &err)) {
            char text[1024];
            fprintf(stderr, "fidelity: %s: %s\n", fr->name, fw_error_text(&err, text, sizeof(text)));
            fw_error_clear(&err);
            continue;
        }
        if (!(face = fw_fontset_find(set, fb->postscript, fb->drawn, NULL, NULL)))
            continue;
        if (fw_font_postscript_name(face)[0]) {
            json_object_set_new(entry, "fFamily", json_string(fw_font_postscript_name(face)));
            json_object_set_new(entry, "fStyle", json_string(""));
        } else {
            json_object_set_new(entry, "fFamily", json_string(fw_font_family(face)));
            json_object_set_new(entry, "fStyle", json_string(fw_font_style(face)));
        }
        json_object_del(entry, "fPath");
        given++;
    }
    if (!given) {
        json_decref(copy);
        fw_fontset_free(&set);
        return 0;
    }
    *out = copy;
    *fonts = set;
    return 1;
}

/* ---- one file ------------------------------------------------------------------------------- */

/* Reference | engine | amplified difference, all over white, side by side. */
static void write_diff(const options *o, const file_result *fr, int frame, const char *label,
                       const uint32_t *ref, const uint32_t *got, int w, int h, uint32_t *canvas)
{
    char path[4096], stem[256];
    fw_error err;

    for (int y = 0; y < h; y++) {
        uint32_t *row = canvas + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w; x++) {
            uint32_t a = fw_ssim_over_white(ref[(size_t)y * (size_t)w + (size_t)x]);
            uint32_t b = fw_ssim_over_white(got[(size_t)y * (size_t)w + (size_t)x]);
            uint32_t d = 0xff000000u;
            for (int shift = 0; shift <= 16; shift += 8) {
                int delta = abs((int)((a >> shift) & 0xff) - (int)((b >> shift) & 0xff)) * DIFF_GAIN;
                d |= (uint32_t)(delta > 255 ? 255 : delta) << shift;
            }
            row[x] = a;
            row[w + x] = b;
            row[2 * w + x] = d;
        }
    }
    snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(fr->name) - 5), fr->name);
    snprintf(path, sizeof(path), "%s/%s.%d.%s.png", o->diff_dir, stem, frame, label);
    fw_error_clear(&err);
    if (fw_ssim_write_png(path, canvas, w * 3, h, (size_t)w * 3 * 4, &err)) {
        char text[1024];
        fprintf(stderr, "fidelity: %s\n", fw_error_text(&err, text, sizeof(text)));
    }
}

/* Loads the references of a file; a missing or wrong-sized one is noted and
 * its frame left out. */
static void load_references(const char *refs_dir, file_result *fr, int w, int h, uint32_t *refs[FRAMES])
{
    char stem[256], path[4096];

    snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(fr->name) - 5), fr->name);
    for (int i = 0; i < fr->frame_count; i++) {
        int rw, rh;
        fw_error err;
        fw_error_clear(&err);
        snprintf(path, sizeof(path), "%s/%s.%d.png", refs_dir, stem, fr->frames[i]);
        if (fw_ssim_read_png(path, &refs[i], &rw, &rh, &err)) {
            snprintf(fr->note, sizeof(fr->note), "no reference for frame %d (%s)", fr->frames[i], err.message);
            continue;
        }
        if (rw != w || rh != h) {
            snprintf(fr->note, sizeof(fr->note), "reference %s is %dx%d, the composition %dx%d", path, rw, rh, w, h);
            free(refs[i]);
            refs[i] = NULL;
            continue;
        }
        fr->has_ref[i] = 1;
    }
}

/* Renders the file's frames with one engine and scores them; label names
 * the diff images. */
static void run_engine(const options *o, const char *engine, const char *label, json_t *original, fw_fontset *fonts,
                       const char *resource_dir, int w, int h, uint32_t *refs[FRAMES], file_result *fr,
                       engine_result *er)
{
    json_t *doc = json_deep_copy(original);
    fw_engine *e = NULL;
    fw_engine_info info;
    uint32_t *pixels = NULL, *canvas = NULL;
    size_t stride = (size_t)w * 4;
    fw_error err;

    fw_error_clear(&err);
    for (int i = 0; i < FRAMES; i++) {
        er->ssim[i] = fr->has_ref[i] ? 0 : -1;
        er->seconds[i] = -1;
    }
    if (!doc || fw_render_load_engine(&e, engine, doc, fonts, resource_dir, NULL, &err)) {
        fw_error_text(&err, er->error, sizeof(er->error));
        goto done;
    }
    fw_engine_get_info(e, &info);
    pixels = malloc(stride * (size_t)h);
    canvas = o->diff_dir ? malloc(stride * 3 * (size_t)h) : NULL;
    if (!pixels || (o->diff_dir && !canvas)) {
        snprintf(er->error, sizeof(er->error), "out of memory for a %dx%d frame", w, h);
        goto done;
    }
    for (int i = 0; i < fr->frame_count; i++) {
        double t = now();
        if (fw_engine_render(e, fr->frames[i], pixels, w, h, stride, &err)) {
            char text[512];
            snprintf(er->error, sizeof(er->error), "frame %d: %s", fr->frames[i],
                     fw_error_text(&err, text, sizeof(text)));
            continue;
        }
        er->seconds[i] = now() - t;
        if (!fr->has_ref[i])
            continue;
        if (fw_ssim_compare(refs[i], w, h, stride, pixels, w, h, stride, &er->ssim[i], &err)) {
            fw_error_text(&err, er->error, sizeof(er->error));
            continue;
        }
        if (canvas)
            write_diff(o, fr, fr->frames[i], label, refs[i], pixels, w, h, canvas);
    }
done:
    free(pixels);
    free(canvas);
    fw_engine_free(&e);
    json_decref(doc);
}

static void run_file(const options *o, const char *dir, const char *refs_dir, const char *name, fw_fontset *fonts,
                     file_result *fr)
{
    char path[4096];
    fw_template *tpl = NULL;
    json_t *doc = NULL, *root;
    uint32_t *refs[FRAMES] = {0};
    fw_error err;
    double n;
    int w, h;

    snprintf(fr->name, sizeof(fr->name), "%s", name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fw_error_clear(&err);
    if (fw_template_load(&tpl, path, NULL, NULL, &err) || fw_template_select_composition(tpl, NULL, &doc, &err)) {
        fw_error_text(&err, fr->note, sizeof(fr->note));
        goto done;
    }
    root = fw_template_document(tpl);
    fr->features = document_features(root);
    w = (int)json_number_value(json_object_get(root, "w"));
    h = (int)json_number_value(json_object_get(root, "h"));
    n = json_number_value(json_object_get(root, "op")) - json_number_value(json_object_get(root, "ip"));
    /* The frames reference.js draws; the same ones when n < 3. */
    int candidates[FRAMES] = {0, (int)floor(n / 3), (int)floor(2 * n / 3)};
    for (int i = 0; i < FRAMES; i++)
        if (i == 0 || candidates[i] != fr->frames[fr->frame_count - 1])
            fr->frames[fr->frame_count++] = candidates[i];
    if (w < FW_SSIM_WINDOW || h < FW_SSIM_WINDOW || n <= 0) {
        snprintf(fr->note, sizeof(fr->note), "the composition is %dx%d with %g frames", w, h, n);
        goto done;
    }
    load_references(refs_dir, fr, w, h, refs);
    read_reference_fonts(refs_dir, fr);
    for (int e = 0; e < o->engine_count; e++) {
        run_engine(o, o->engines[e], o->engines[e], doc, fonts, fw_template_dir(tpl), w, h, refs, fr, &fr->engines[e]);
        if (fr->engines[e].error[0])
            fprintf(stderr, "fidelity: %s: %s: %s\n", name, o->engines[e], fr->engines[e].error);
    }
    note_our_fonts(fonts, fr);

    json_t *ref_doc = NULL;
    fw_fontset *ref_fonts = NULL;
    if (fr->fallback_count && with_reference_fonts(fr, doc, &ref_doc, &ref_fonts)) {
        fr->with_reference_fonts = 1;
        for (int e = 0; e < o->engine_count; e++) {
            char label[128];
            snprintf(label, sizeof(label), "%s.reference-font", o->engines[e]);
            run_engine(o, o->engines[e], label, ref_doc, ref_fonts, fw_template_dir(tpl), w, h, refs, fr,
                       &fr->reference_fonts[e]);
            if (fr->reference_fonts[e].error[0])
                fprintf(stderr, "fidelity: %s: %s with the reference's fonts: %s\n", name, o->engines[e],
                        fr->reference_fonts[e].error);
        }
        json_decref(ref_doc);
        fw_fontset_free(&ref_fonts);
    }
done:
    if (fr->note[0])
        fprintf(stderr, "fidelity: %s: %s\n", name, fr->note);
    for (int i = 0; i < FRAMES; i++)
        free(refs[i]);
    json_decref(doc);
    fw_template_free(&tpl);
}

/* ---- figures -------------------------------------------------------------------------------- */

typedef struct tally {
    int frames, pass;
    double sum;
    double *values;   /* scores, for the median */
    double *seconds;  /* render times, for the median fps */
    int timed;
} tally;

/* Frames where lottie-web's picture is known not to be the animation, and why. They count in every
 * table but the last, which leaves them out. */
static const struct {
    const char *file;
    int frame; /* -1: every frame */
    const char *why;
} reference_faults[] = {
    {"stroke_dash.json", -1,
     "lottie-web skips the layer's 4-Color Gradient effect, so its white stroke stays white on white"},
    {"extensions__spin.json", 0, "lottie-web stops drawing when an expression names an undefined variable (ct_xcoord)"},
    {"extensions__spin.json", 100, "lottie-web stops drawing when an expression names an undefined variable (ct_xcoord)"},
    {"extensions__slot3.json", -1,
     "its image file is not in the corpus: the reference shows Chromium's broken-image icon"},
    /* Our own text cases (bench/fidelity/text), where lottie-web's SVG text is not what After Effects shows. */
    {"box_3_justify_last_left.json", -1, "lottie-web does not justify paragraphs (j 3 to 6): it sets them flush left"},
    {"box_4_justify_last_right.json", -1, "lottie-web does not justify paragraphs (j 3 to 6): it sets them flush left"},
    {"box_5_justify_last_centre.json", -1, "lottie-web does not justify paragraphs (j 3 to 6): it sets them flush left"},
    {"box_6_justify_all.json", -1, "lottie-web does not justify paragraphs (j 3 to 6): it sets them flush left"},
    {"all_caps.json", -1, "lottie-web ignores a text document's caps (ca): its text stays in mixed case"},
    {"arabic_line.json", -1,
     "lottie-web draws every character as an SVG text element of its own, left to right: Arabic letters stand "
     "unjoined and in reverse order"},
    {"arabic_english_paragraph.json", -1,
     "lottie-web draws every character as an SVG text element of its own, left to right: Arabic letters stand "
     "unjoined and in reverse order"},
    {"devanagari_line.json", -1,
     "lottie-web draws every character (with its marks) as an SVG text element of its own: conjuncts come apart "
     "into half forms with a visible virama"},
};

static const char *reference_fault(const char *file, int frame)
{
    for (size_t i = 0; i < sizeof(reference_faults) / sizeof(reference_faults[0]); i++)
        if (strcmp(reference_faults[i].file, file) == 0 &&
            (reference_faults[i].frame < 0 || reference_faults[i].frame == frame))
            return reference_faults[i].why;
    return NULL;
}

static int skip_faults; /* tally_add leaves out reference faults */

static void tally_add(tally *t, const file_result *fr, const engine_result *er)
{
    for (int i = 0; i < fr->frame_count; i++) {
        if (skip_faults && reference_fault(fr->name, fr->frames[i]))
            continue;
        if (er->seconds[i] >= 0)
            t->seconds[t->timed++] = er->seconds[i];
        if (er->ssim[i] < 0)
            continue;
        t->values[t->frames++] = er->ssim[i];
        t->sum += er->ssim[i];
        t->pass += er->ssim[i] >= PASS;
    }
}

static double median_fps(tally *t)
{
    double s = median(t->seconds, t->timed);
    return s > 0 ? 1 / s : 0;
}

/* The files a line of figures counts: the corpus's or our own cases, those
 * with a feature (F_COUNT: all), scored with our fonts or, where the file was
 * drawn again with them, the reference's. */
typedef struct selection {
    int own_case;
    int feature;
    int reference_fonts;
} selection;

static int in_selection(const file_result *fr, selection sel)
{
    return fr->own_case == sel.own_case && (sel.feature == F_COUNT || (fr->features & (1u << sel.feature)));
}

static const engine_result *scores_of(const file_result *fr, int engine, int reference_fonts)
{
    return reference_fonts && fr->with_reference_fonts ? &fr->reference_fonts[engine] : &fr->engines[engine];
}

/* Engine e over the selected files; the caller frees with tally_free(). */
static tally tally_of(const file_result *files, int count, int e, selection sel)
{
    tally t = {0};
    size_t most = (size_t)count * FRAMES + 1;
    t.values = calloc(most, sizeof(double));
    t.seconds = calloc(most, sizeof(double));
    for (int i = 0; i < count; i++)
        if (in_selection(&files[i], sel))
            tally_add(&t, &files[i], scores_of(&files[i], e, sel.reference_fonts));
    return t;
}

static void tally_free(tally *t)
{
    free(t->values);
    free(t->seconds);
}

/* Files and scored frames of a selection. */
static void selection_size(const file_result *files, int count, selection sel, int *nfiles, int *nframes)
{
    *nfiles = *nframes = 0;
    for (int i = 0; i < count; i++)
        if (in_selection(&files[i], sel)) {
            ++*nfiles;
            for (int k = 0; k < files[i].frame_count; k++)
                *nframes += files[i].has_ref[k] && !(skip_faults && reference_fault(files[i].name, files[i].frames[k]));
        }
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .json files of a folder, sorted (those --only names). */
static char **list_files(const options *o, const char *dir, int *count)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char **names = NULL;
    int n = 0, cap = 0;

    *count = 0;
    if (!d)
        return NULL;
    while ((ent = readdir(d))) {
        size_t len = strlen(ent->d_name);
        if (len < 6 || strcmp(ent->d_name + len - 5, ".json") != 0 || len >= 256)
            continue;
        if (o->only && strcmp(ent->d_name, o->only) != 0 &&
            !(strncmp(ent->d_name, o->only, len - 5) == 0 && strlen(o->only) == len - 5))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, (size_t)cap * sizeof(*names));
        }
        names[n++] = strdup(ent->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, (size_t)n, sizeof(*names), cmp_name);
    *count = n;
    return names;
}

/* "0.9988 1.0000 0.9999": a file's scores, "-" for a frame without a reference. */
static void scores_text(const file_result *fr, const engine_result *er, char *cell, size_t size)
{
    size_t used = 0;
    cell[0] = '\0';
    for (int k = 0; k < fr->frame_count && used < size; k++) {
        if (er->ssim[k] < 0)
            used += (size_t)snprintf(cell + used, size - used, "%s   -  ", k ? " " : "");
        else
            used += (size_t)snprintf(cell + used, size - used, "%s%.4f", k ? " " : "", er->ssim[k]);
    }
}

static void print_file_table(const options *o, const file_result *files, int count, int own_case, const char *title)
{
    char features[256];
    int name_width = 4, feature_width = 8;

    for (int i = 0; i < count; i++) {
        if (files[i].own_case != own_case)
            continue;
        features_text(files[i].features, features, sizeof(features));
        name_width = (int)strlen(files[i].name) > name_width ? (int)strlen(files[i].name) : name_width;
        feature_width = (int)strlen(features) > feature_width ? (int)strlen(features) : feature_width;
    }
    printf("\n## %s\n\n", title);
    printf("| %-*s | %-*s |", name_width, "file", feature_width, "features");
    for (int e = 0; e < o->engine_count; e++)
        printf(" %-20s | %8s |", o->engines[e], "fps");
    printf("\n|%.*s|%.*s|", name_width + 2, "------------------------------------------------------------",
           feature_width + 2, "------------------------------------------------------------------------------");
    for (int e = 0; e < o->engine_count; e++)
        printf("----------------------|----------|");
    printf("\n");
    for (int i = 0; i < count; i++) {
        const file_result *fr = &files[i];
        if (fr->own_case != own_case)
            continue;
        features_text(fr->features, features, sizeof(features));
        printf("| %-*s | %-*s |", name_width, fr->name, feature_width, features);
        for (int e = 0; e < o->engine_count; e++) {
            const engine_result *er = &fr->engines[e];
            char cell[64], fps[32] = "-";
            double times[FRAMES];
            int timed = 0;
            scores_text(fr, er, cell, sizeof(cell));
            for (int k = 0; k < fr->frame_count; k++)
                if (er->seconds[k] > 0)
                    times[timed++] = er->seconds[k];
            if (timed)
                snprintf(fps, sizeof(fps), "%.1f", 1 / median(times, timed));
            printf(" %-20s | %8s |", fr->note[0] && !fr->frame_count ? "(not read)" : cell, fps);
        }
        printf("\n");
    }
}

static json_t *summary_json(const char *engine, tally *t)
{
    return json_pack("{s:s, s:i, s:i, s:f, s:f, s:f, s:f}", "engine", engine, "frames", t->frames, "pass", t->pass,
                     "pass_share", t->frames ? (double)t->pass / t->frames : 0.0, "median",
                     median(t->values, t->frames), "mean", t->frames ? t->sum / t->frames : 0.0, "median_fps",
                     median_fps(t));
}

/* One line of a class table; returns its figures (caller frees), or NULL
 * when the selection has no file. */
static json_t *class_line(const options *o, const file_result *files, int count, const char *label, selection sel)
{
    int nfiles, nframes;
    selection_size(files, count, sel, &nfiles, &nframes);
    if (!nfiles)
        return NULL;
    json_t *row = json_pack("{s:s, s:o}", "class", label, "engines", json_object());
    printf("| %-16s | %5d | %6d |", label, nfiles, nframes);
    for (int e = 0; e < o->engine_count; e++) {
        tally t = tally_of(files, count, e, sel);
        char cell[32];
        snprintf(cell, sizeof(cell), "%d (%.0f%%)", t.pass, t.frames ? 100.0 * t.pass / t.frames : 0.0);
        printf(" %17s | %6.4f |", cell, t.frames ? t.sum / t.frames : 0.0);
        json_object_set_new(json_object_get(row, "engines"), o->engines[e], summary_json(o->engines[e], &t));
        tally_free(&t);
    }
    printf("\n");
    json_object_set_new(row, "files", json_integer(nfiles));
    json_object_set_new(row, "frames", json_integer(nframes));
    return row;
}

/* The corpus's classes, then our own text cases; the corpus's lines are
 * appended to classes and the own cases' line set as own (either may be
 * NULL). */
static void print_classes(const options *o, const file_result *files, int count, json_t *classes, json_t **own,
                          const char *title)
{
    printf("\n## %s\n\n", title);
    printf("| %-16s | %5s | %6s |", "class", "files", "frames");
    for (int e = 0; e < o->engine_count; e++)
        printf(" %-10s >=0.98 | %6s |", o->engines[e], "mean");
    printf("\n|------------------|-------|--------|");
    for (int e = 0; e < o->engine_count; e++)
        printf("-------------------|--------|");
    printf("\n");
    for (int f = 0; f < F_COUNT; f++) {
        json_t *row = class_line(o, files, count, feature_names[f], (selection){0, f, 0});
        if (row && classes)
            json_array_append_new(classes, row);
        else
            json_decref(row);
    }
    json_t *row = class_line(o, files, count, "text (own cases)", (selection){1, F_COUNT, 0});
    if (row && own)
        *own = row;
    else
        json_decref(row);
}

/* The text class and our own cases scored with our fonts and with the faces
 * the reference drew with, all frames and without the reference faults. */
static void print_text_with_reference_fonts(const options *o, const file_result *files, int count, json_t *out)
{
    static const struct {
        const char *label;
        selection sel;
        int skip_faults;
    } lines[] = {
        {"text", {0, F_TEXT, 0}, 0},
        {"text, reference faults out", {0, F_TEXT, 0}, 1},
        {"text (own cases)", {1, F_COUNT, 0}, 0},
        {"text (own cases), faults out", {1, F_COUNT, 0}, 1},
    };
    json_t *rows = json_array();

    printf("\n## Text with the fonts the reference drew\n\n");
    printf("A file whose reference fell back on another font than the one asked for is scored again with the\n"
           "face Chromium drew it with; the other files count as they are.\n\n");
    printf("| %-28s | %6s |", "text", "frames");
    for (int e = 0; e < o->engine_count; e++)
        printf(" %-10s our fonts | %-10s reference's fonts |", o->engines[e], o->engines[e]);
    printf("\n|------------------------------|--------|");
    for (int e = 0; e < o->engine_count; e++)
        printf("----------------------|------------------------------|");
    printf("\n");
    for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
        int nfiles, nframes;
        skip_faults = lines[l].skip_faults;
        selection_size(files, count, lines[l].sel, &nfiles, &nframes);
        if (!nfiles)
            continue;
        json_t *engines = json_object();
        printf("| %-28s | %6d |", lines[l].label, nframes);
        for (int e = 0; e < o->engine_count; e++) {
            selection with = lines[l].sel;
            with.reference_fonts = 1;
            tally ours = tally_of(files, count, e, lines[l].sel), theirs = tally_of(files, count, e, with);
            char a[48], b[48];
            snprintf(a, sizeof(a), "%d (%.0f%%) %.4f", ours.pass, ours.frames ? 100.0 * ours.pass / ours.frames : 0.0,
                     ours.frames ? ours.sum / ours.frames : 0.0);
            snprintf(b, sizeof(b), "%d (%.0f%%) %.4f", theirs.pass,
                     theirs.frames ? 100.0 * theirs.pass / theirs.frames : 0.0,
                     theirs.frames ? theirs.sum / theirs.frames : 0.0);
            printf(" %20s | %28s |", a, b);
            json_object_set_new(engines, o->engines[e],
                                json_pack("{s:o, s:o}", "our_fonts", summary_json(o->engines[e], &ours),
                                          "reference_fonts", summary_json(o->engines[e], &theirs)));
            tally_free(&ours);
            tally_free(&theirs);
        }
        printf("\n");
        json_array_append_new(rows, json_pack("{s:s, s:b, s:i, s:i, s:o}", "set", lines[l].label,
                                              "reference_faults_out", lines[l].skip_faults, "files", nfiles,
                                              "frames", nframes, "engines", engines));
    }
    skip_faults = 0;
    json_object_set_new(out, "text_with_reference_fonts", rows);
}

/* Every font a reference drew with another family: what was asked, what
 * each side drew, and the file's scores with either face. */
static void print_font_fallbacks(const options *o, const file_result *files, int count, json_t *out)
{
    json_t *rows = json_array();
    int any = 0;

    printf("\n## Frames whose only difference is the font\n\n");
    printf("The reference's font is not on this machine: Chromium fell back on one of its own, we on our\n"
           "stand-in. Drawn again with Chromium's face, the score measures layout alone.\n\n");
    printf("| %-26s | %-28s | %-28s | %-36s | %-8s | %-20s | %-22s |\n", "file", "font asked (family)",
           "our font choice", "the reference's font", "engine", "SSIM, our font", "SSIM, reference's font");
    printf("|----------------------------|------------------------------|------------------------------|"
           "--------------------------------------|----------|----------------------|------------------------|\n");
    for (int i = 0; i < count; i++) {
        const file_result *fr = &files[i];
        for (int k = 0; k < fr->fallback_count; k++) {
            const font_fallback *fb = &fr->fallbacks[k];
            char asked[2 * FW_FONT_NAME_MAX + 4], drawn[2 * FW_FONT_NAME_MAX + 4];
            json_t *engines = json_object();
            snprintf(asked, sizeof(asked), "%s (%s)", fb->font, fb->asked);
            snprintf(drawn, sizeof(drawn), "%s%s%s%s", fb->drawn, fb->postscript[0] ? " (" : "", fb->postscript,
                     fb->postscript[0] ? ")" : "");
            for (int e = 0; e < o->engine_count; e++) {
                char ours[64], theirs[64] = "-";
                json_t *a = json_array(), *b = json_array();
                scores_text(fr, &fr->engines[e], ours, sizeof(ours));
                if (fr->with_reference_fonts)
                    scores_text(fr, &fr->reference_fonts[e], theirs, sizeof(theirs));
                printf("| %-26s | %-28s | %-28s | %-36s | %-8s | %-20s | %-22s |\n", fr->name, asked, fb->ours, drawn,
                       o->engines[e], ours, theirs);
                for (int f = 0; f < fr->frame_count; f++) {
                    double x = fr->engines[e].ssim[f], y = fr->reference_fonts[e].ssim[f];
                    json_array_append_new(a, x < 0 ? json_null() : json_real(x));
                    json_array_append_new(b, !fr->with_reference_fonts || y < 0 ? json_null() : json_real(y));
                }
                json_object_set_new(engines, o->engines[e],
                                    json_pack("{s:o, s:o}", "ssim_our_font", a, "ssim_reference_font", b));
            }
            json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:o}", "file", fr->name,
                                                  "font", fb->font, "asked_family", fb->asked, "our_font", fb->ours,
                                                  "reference_family", fb->drawn, "reference_postscript_name",
                                                  fb->postscript, "reference_font_file",
                                                  fb->path[0] ? fb->path : NULL, "engines", engines));
            any = 1;
        }
    }
    if (!any)
        printf("| (none) | | | | | | |\n");
    json_object_set_new(out, "font_fallbacks", rows);
}

static void print_summaries(const options *o, const file_result *files, int count, json_t *out)
{
    json_t *summary = json_array(), *classes = json_array(), *own = NULL;

    printf("\n## Summary: frames with SSIM >= %.2f against lottie-web\n\n", PASS);
    printf("| %-10s | %6s | %6s | %6s | %8s | %8s | %9s |\n", "engine", "frames", ">=0.98", "share", "median",
           "mean", "fps (med)");
    printf("|------------|--------|--------|--------|----------|----------|-----------|\n");
    for (int e = 0; e < o->engine_count; e++) {
        tally t = tally_of(files, count, e, (selection){0, F_COUNT, 0});
        double share = t.frames ? 100.0 * t.pass / t.frames : 0;
        json_t *s = summary_json(o->engines[e], &t);
        printf("| %-10s | %6d | %6d | %5.1f%% | %8.4f | %8.4f | %9.1f |\n", o->engines[e], t.frames, t.pass, share,
               json_real_value(json_object_get(s, "median")), t.frames ? t.sum / t.frames : 0.0, median_fps(&t));
        json_array_append_new(summary, s);
        tally_free(&t);
    }

    print_classes(o, files, count, classes, &own, "Per feature class (a file counts in every class it has)");
    skip_faults = 1;
    print_classes(o, files, count, NULL, NULL,
                  "Per feature class, leaving out the frames where the reference is known to be wrong");
    skip_faults = 0;
    printf("\nReference faults left out above:\n\n");
    for (size_t i = 0; i < sizeof(reference_faults) / sizeof(reference_faults[0]); i++) {
        if (reference_faults[i].frame < 0)
            printf("- %s, every frame: %s\n", reference_faults[i].file, reference_faults[i].why);
        else
            printf("- %s, frame %d: %s\n", reference_faults[i].file, reference_faults[i].frame, reference_faults[i].why);
    }
    print_text_with_reference_fonts(o, files, count, out);
    print_font_fallbacks(o, files, count, out);
    json_object_set_new(out, "summary", summary);
    json_object_set_new(out, "classes", classes);
    if (own)
        json_object_set_new(out, "text_cases_class", own);
}

static json_t *engines_json(const options *o, const file_result *fr, const engine_result *results)
{
    json_t *engines = json_object();
    for (int e = 0; e < o->engine_count; e++) {
        const engine_result *er = &results[e];
        json_t *ssim = json_array(), *seconds = json_array();
        for (int k = 0; k < fr->frame_count; k++) {
            json_array_append_new(ssim, er->ssim[k] < 0 ? json_null() : json_real(er->ssim[k]));
            json_array_append_new(seconds, er->seconds[k] < 0 ? json_null() : json_real(er->seconds[k]));
        }
        json_object_set_new(engines, o->engines[e],
                            json_pack("{s:o, s:o, s:s?}", "ssim", ssim, "render_seconds", seconds, "error",
                                      er->error[0] ? er->error : NULL));
    }
    return engines;
}

static json_t *file_json(const options *o, const file_result *fr)
{
    json_t *features = json_array(), *frames = json_array();
    for (int f = 0; f < F_COUNT; f++)
        if (fr->features & (1u << f))
            json_array_append_new(features, json_string(feature_names[f]));
    for (int k = 0; k < fr->frame_count; k++)
        json_array_append_new(frames, json_integer(fr->frames[k]));
    json_t *file = json_pack("{s:s, s:o, s:o, s:o, s:s?}", "file", fr->name, "features", features, "frames", frames,
                             "engines", engines_json(o, fr, fr->engines), "note", fr->note[0] ? fr->note : NULL);
    if (fr->with_reference_fonts)
        json_object_set_new(file, "engines_with_reference_fonts", engines_json(o, fr, fr->reference_fonts));
    return file;
}

/* ---- main ----------------------------------------------------------------------------------- */

static void usage(const char *message)
{
    if (message)
        fprintf(stderr, "fidelity: %s\n", message);
    fprintf(stderr, "usage: fidelity --corpus DIR --refs DIR [--text-cases DIR [--text-refs DIR]]\n"
                    "                [--engine NAME ...] [--only NAME] [--diff-dir DIR] [--json FILE]\n");
    exit(2);
}

static void parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            usage(NULL);
        if (i + 1 >= argc)
            usage("every option takes a value");
        const char *v = argv[++i];
        if (strcmp(a, "--corpus") == 0)
            o->corpus = v;
        else if (strcmp(a, "--refs") == 0)
            o->refs = v;
        else if (strcmp(a, "--text-cases") == 0)
            o->text_cases = v;
        else if (strcmp(a, "--text-refs") == 0)
            o->text_refs = v;
        else if (strcmp(a, "--only") == 0)
            o->only = v;
        else if (strcmp(a, "--diff-dir") == 0)
            o->diff_dir = v;
        else if (strcmp(a, "--json") == 0)
            o->json_path = v;
        else if (strcmp(a, "--engine") == 0) {
            if (o->engine_count == MAX_ENGINES)
                usage("too many engines");
            o->engines[o->engine_count++] = v;
        } else
            usage("unknown option");
    }
    if (!o->corpus || !o->refs)
        usage("--corpus and --refs are required");
}

/* Keeps the engines that exist; with none named, rlottie and cairo. */
static void choose_engines(options *o)
{
    static const char *const defaults[] = {"rlottie", "cairo"};
    const char *asked[MAX_ENGINES];
    int n = o->engine_count, explicit = n > 0;

    if (!explicit)
        for (n = 0; n < 2; n++)
            asked[n] = defaults[n];
    else
        memcpy(asked, o->engines, sizeof(asked));
    o->engine_count = 0;
    for (int i = 0; i < n; i++) {
        if (!fw_engine_find(asked[i]))
            fprintf(stderr, "fidelity: no engine '%s' in this build (engines: %s); skipped\n", asked[i],
                    fw_engine_names());
        else
            o->engines[o->engine_count++] = asked[i];
    }
}

int main(int argc, char **argv)
{
    options o;
    fw_fontset *fonts = NULL;
    file_result *files;
    char **names, **cases = NULL, text_refs[4096];
    int count, case_count = 0;
    fw_error err;
    json_t *out, *own;

    parse_options(argc, argv, &o);
    choose_engines(&o);
    if (o.engine_count == 0)
        usage("no engine to measure");
    if (o.diff_dir && mkdir(o.diff_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "fidelity: cannot create %s: %s\n", o.diff_dir, strerror(errno));
        return 1;
    }
    if (o.text_cases && !o.text_refs) {
        snprintf(text_refs, sizeof(text_refs), "%s/text-cases", o.refs);
        o.text_refs = text_refs;
    }
    names = list_files(&o, o.corpus, &count);
    if (o.text_cases)
        cases = list_files(&o, o.text_cases, &case_count);
    if (count + case_count == 0) {
        fprintf(stderr, "fidelity: no .json files%s%s in %s%s%s\n", o.only ? " called " : "", o.only ? o.only : "",
                o.corpus, o.text_cases ? " or " : "", o.text_cases ? o.text_cases : "");
        return 1;
    }
    fw_error_clear(&err);
    if (fw_fontset_new(&fonts, NULL, &err)) {
        char text[1024];
        fprintf(stderr, "fidelity: fonts: %s\n", fw_error_text(&err, text, sizeof(text)));
        return 1;
    }
    files = calloc((size_t)(count + case_count), sizeof(*files));
    for (int i = 0; i < count + case_count; i++) {
        int own_case = i >= count;
        const char *name = own_case ? cases[i - count] : names[i];
        files[i].own_case = own_case;
        run_file(&o, own_case ? o.text_cases : o.corpus, own_case ? o.text_refs : o.refs, name, fonts, &files[i]);
        fprintf(stderr, "fidelity: %d/%d %s\n", i + 1, count + case_count, name);
    }

    out = json_pack("{s:s, s:s, s:f, s:o}", "corpus", o.corpus, "refs", o.refs, "pass_threshold", PASS, "files",
                    json_array());
    own = json_array();
    for (int i = 0; i < count + case_count; i++)
        json_array_append_new(files[i].own_case ? own : json_object_get(out, "files"), file_json(&o, &files[i]));
    if (o.text_cases)
        json_object_set_new(out, "text_cases",
                            json_pack("{s:s, s:s, s:o}", "dir", o.text_cases, "refs", o.text_refs, "files", own));
    else
        json_decref(own);
    print_file_table(&o, files, count + case_count, 0, "Per file: SSIM at frames 0, n/3, 2n/3 (render fps, median)");
    if (case_count)
        print_file_table(&o, files, count + case_count, 1,
                         "Our own text cases: SSIM per frame (render fps, median)");
    print_summaries(&o, files, count + case_count, out);
    if (o.json_path && json_dump_file(out, o.json_path, JSON_INDENT(1) | JSON_REAL_PRECISION(6)) != 0)
        fprintf(stderr, "fidelity: cannot write %s\n", o.json_path);

    json_decref(out);
    for (int i = 0; i < count; i++)
        free(names[i]);
    for (int i = 0; i < case_count; i++)
        free(cases[i]);
    free(names);
    free(cases);
    free(files);
    fw_fontset_free(&fonts);
    return 0;
}
