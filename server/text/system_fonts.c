/*
 * system_fonts.c - the machine's fonts, found through fontconfig.
 *
 * A template names a font by a PostScript name ("Montserrat-SemiBoldItalic"),
 * a family and a style ("Montserrat", "SemiBold Italic"), or both. The family,
 * the weight and the slant are read from those names and handed to
 * fontconfig, which applies the machine's configured substitutions (Arial to
 * Liberation Sans, Times to Liberation Serif ...) and, when nothing of the
 * family exists, falls back on the generic family given last: serif for a
 * name that says so or belongs to a well-known serif family, monospace for
 * one that says mono or code, sans-serif for the rest, as a browser does with
 * a CSS font list ending in a generic family.
 *
 * When the face found is lighter than the bold asked for, or upright where an
 * italic was asked for, the outlines are thickened or slanted (the way
 * browsers do it: em/32 wider, a slant of 1/4).
 */
#include "server/text/fonts_internal.h"

#include <ctype.h>
#include <fontconfig/fontconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t fc_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t fc_lock = PTHREAD_MUTEX_INITIALIZER;
static int fc_ready;

static void fc_start(void) { fc_ready = FcInit() == FcTrue; }

/* What LeakSanitizer must not count, for the whole program (one list per
 * process, so it lives here). fontconfig holds the parts of its patterns by
 * offset rather than pointer, so what its loaded configuration keeps (once
 * per process) looks like a leak. libx264, rarely (once in some thousand
 * encodes, with frame threads), loses a frame of its own that nothing of
 * ours points to: allocated and dropped inside the library. Only
 * allocations made by these libraries are let pass; a context of ours left
 * open is still reported. Read only by a sanitizer's runtime. */
__attribute__((used, visibility("default"))) const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n"
           "leak:libx264.so\n";
}

/* Lower case without spaces, hyphens or underscores, into dst (size n). */
static void key_of(const char *s, char *dst, size_t n)
{
    size_t w = 0;
    for (; s && *s && w + 1 < n; s++)
        if (*s != ' ' && *s != '-' && *s != '_')
            dst[w++] = (char)tolower((unsigned char)*s);
    dst[w] = '\0';
}

/* OpenType weight (100..900) of style words ("semibolditalic"). */
static int weight_of(const char *key)
{
    static const struct {
        const char *word;
        int weight;
    } words[] = {
        {"hairline", 100},  {"thin", 100},       {"extralight", 200}, {"ultralight", 200},
        {"semilight", 350}, {"light", 300},      {"semibold", 600},   {"demibold", 600},
        {"extrabold", 800}, {"ultrabold", 800},  {"extrablack", 950}, {"ultrablack", 950},
        {"black", 900},     {"heavy", 900},      {"bold", 700},       {"medium", 500},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(key, words[i].word))
            return words[i].weight;
    return 400;
}

/* The generic family a name suggests. */
static const char *generic_of(const char *family_key)
{
    static const char *const serif[] = {"times",  "georgia", "garamond", "baskerville", "bodoni",
                                        "didot",  "caslon",  "palatino", "cambria",     "playfair",
                                        "merriweather", "lora", "slab",  "minion",      "book antiqua"};
    if (strstr(family_key, "mono") || strstr(family_key, "courier") || strstr(family_key, "code") ||
        strstr(family_key, "console"))
        return "monospace";
    if (strstr(family_key, "sans"))
        return "sans-serif";
    if (strstr(family_key, "serif"))
        return "serif";
    for (size_t i = 0; i < sizeof(serif) / sizeof(serif[0]); i++)
        if (strstr(family_key, serif[i]))
            return "serif";
    return "sans-serif";
}

/* Family and style words from what a template gives. */
static void read_names(const char *name, const char *family, const char *style, char *fam, size_t fam_size,
                       char *style_key, size_t style_size)
{
    const char *hyphen = name ? strrchr(name, '-') : NULL;
    char words[FW_FONT_NAME_MAX];

    if (family && *family)
        snprintf(fam, fam_size, "%s", family);
    else if (name && hyphen && hyphen > name)
        snprintf(fam, fam_size, "%.*s", (int)(hyphen - name), name);
    else
        snprintf(fam, fam_size, "%s", name ? name : "");
    if (style && *style)
        snprintf(words, sizeof(words), "%s", style);
    else if (hyphen)
        snprintf(words, sizeof(words), "%s", hyphen + 1);
    else
        words[0] = '\0';
    key_of(words, style_key, style_size);
}

static int family_is(FcPattern *match, const char *want_key)
{
    FcChar8 *value;
    char key[FW_FONT_NAME_MAX];
    for (int i = 0; FcPatternGetString(match, FC_FAMILY, i, &value) == FcResultMatch; i++) {
        key_of((const char *)value, key, sizeof(key));
        if (!strcmp(key, want_key))
            return 1;
    }
    return 0;
}

int fw_font_system_lookup(const char *name, const char *family, const char *style, fw_system_font *out)
{
    char fam_key[FW_FONT_NAME_MAX], style_key[FW_FONT_NAME_MAX];
    FcPattern *pattern, *match = NULL;
    FcChar8 *value;
    FcResult result;
    int weight, italic, found_weight = FC_WEIGHT_REGULAR, found_slant = FC_SLANT_ROMAN;

    memset(out, 0, sizeof(*out));
    read_names(name, family, style, out->asked_family, sizeof(out->asked_family), style_key, sizeof(style_key));
    key_of(out->asked_family, fam_key, sizeof(fam_key));
    weight = weight_of(style_key);
    italic = strstr(style_key, "italic") || strstr(style_key, "oblique");

    pthread_once(&fc_once, fc_start);
    if (!fc_ready)
        return 0;
    /* fontconfig's matching is safe from several threads, its configuration
     * reload is not; one lookup at a time keeps it simple and it is rare. */
    pthread_mutex_lock(&fc_lock);
    if ((pattern = FcPatternCreate()) != NULL) {
        if (out->asked_family[0])
            FcPatternAddString(pattern, FC_FAMILY, (const FcChar8 *)out->asked_family);
        FcPatternAddString(pattern, FC_FAMILY, (const FcChar8 *)generic_of(fam_key));
        FcPatternAddInteger(pattern, FC_WEIGHT, FcWeightFromOpenType(weight));
        FcPatternAddInteger(pattern, FC_SLANT, italic ? FC_SLANT_ITALIC : FC_SLANT_ROMAN);
        FcPatternAddBool(pattern, FC_SCALABLE, FcTrue);
        if (FcConfigSubstitute(NULL, pattern, FcMatchPattern)) {
            FcDefaultSubstitute(pattern);
            match = FcFontMatch(NULL, pattern, &result);
        }
        FcPatternDestroy(pattern);
    }
    if (match && FcPatternGetString(match, FC_FILE, 0, &value) == FcResultMatch) {
        snprintf(out->path, sizeof(out->path), "%s", (const char *)value);
        FcPatternGetInteger(match, FC_INDEX, 0, &out->index);
        FcPatternGetInteger(match, FC_WEIGHT, 0, &found_weight);
        FcPatternGetInteger(match, FC_SLANT, 0, &found_slant);
        if (FcPatternGetString(match, FC_FAMILY, 0, &value) == FcResultMatch)
            snprintf(out->family, sizeof(out->family), "%s", (const char *)value);
        if (FcPatternGetString(match, FC_STYLE, 0, &value) == FcResultMatch)
            snprintf(out->style, sizeof(out->style), "%s", (const char *)value);
        out->exact = fam_key[0] && family_is(match, fam_key);
        /* fontconfig's own synthetic rules (90-synthetic.conf) already mark
         * what they would embolden or slant; else compare what was found. */
        FcBool embolden = FcFalse;
        FcMatrix *matrix = NULL;
        FcPatternGetBool(match, FC_EMBOLDEN, 0, &embolden);
        FcPatternGetMatrix(match, FC_MATRIX, 0, &matrix);
        out->synthetic_bold =
            weight >= 600 && (embolden == FcTrue || FcWeightToOpenType(found_weight) < weight - 150);
        out->synthetic_italic =
            italic && ((matrix && matrix->xy != 0) || found_slant == FC_SLANT_ROMAN);
    }
    if (match)
        FcPatternDestroy(match);
    pthread_mutex_unlock(&fc_lock);
    return out->path[0] != '\0';
}

const fw_font *fw_fontset_match_system(fw_fontset *set, const char *name, const char *family, const char *style,
                                       fw_system_font *out)
{
    fw_font *font = NULL;

    if (!fw_font_system_lookup(name, family, style, out))
        return NULL;
    for (size_t i = 0; i < fw_fontset_size_(set); i++) {
        fw_font *f = fw_fontset_at_(set, i);
        if (!strcmp(f->path, out->path) && f->index == out->index && f->embolden == out->synthetic_bold &&
            f->oblique == out->synthetic_italic)
            return f;
    }
    if (fw_fontset_add_face_(set, out->path, out->index, &font, NULL) != FW_OK)
        return NULL;
    font->system = 1;
    font->embolden = out->synthetic_bold;
    font->oblique = out->synthetic_italic;
    return font;
}
