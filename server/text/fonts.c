/*
 * fonts.c - font files read with FreeType, and the lookup of the font a
 * template names.
 *
 * Faces are kept open for the life of the set (a template usually uses a
 * handful, and re-opening per render would cost more than the memory). Names
 * are compared through a "key": lower case with spaces, hyphens and
 * underscores removed, so "Open Sans-Bold", "OpenSans-Bold" and "opensans_bold"
 * are the same font.
 */
#include "server/text/fonts_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <hb-ft.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/util/log.h"

struct fw_fontset {
    FT_Library library;
    pthread_mutex_t lock;
    fw_font *default_font;
    fw_font **fonts;
    size_t count;
    size_t capacity;
    fw_font_substitute *substitutes; /* fonts drawn with another face, in the order met */
    size_t substitute_count;
};

/* ---- names ---- */

static char *name_key(const char *a, const char *b)
{
    size_t len = (a ? strlen(a) : 0) + (b ? strlen(b) : 0);
    char *key = malloc(len + 1), *w = key;
    if (!key)
        return NULL;
    for (int part = 0; part < 2; part++) {
        const char *s = part == 0 ? a : b;
        for (; s && *s; s++) {
            if (*s == ' ' || *s == '-' || *s == '_')
                continue;
            *w++ = (char)tolower((unsigned char)*s);
        }
    }
    *w = '\0';
    return key;
}

/* Style words that mean "the plain face": Regular and Book are the same face
 * to a designer who exported "Font-Regular" from a family FreeType calls Book. */
static int is_regular_key(const char *key)
{
    return !*key || !strcmp(key, "regular") || !strcmp(key, "book") || !strcmp(key, "normal") ||
           !strcmp(key, "roman");
}

/* Length of key without a trailing regular-style word ("arialregular" -> 5). */
static size_t key_without_regular(const char *key)
{
    static const char *words[] = {"regular", "book", "normal", "roman"};
    size_t len = strlen(key);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t wl = strlen(words[i]);
        if (len > wl && !strcmp(key + len - wl, words[i]))
            return len - wl;
    }
    return len;
}

static char *file_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *stem = malloc(len + 1);
    if (stem) {
        memcpy(stem, base, len);
        stem[len] = '\0';
    }
    return stem;
}

static void copy_name(char *dst, const char *src)
{
    snprintf(dst, FW_FONT_NAME_MAX, "%s", src ? src : "");
}

/* ---- font info ---- */

static fw_err open_face(FT_Library library, const char *path, long index, FT_Face *face, fw_error *err)
{
    FT_Error fe = FT_New_Face(library, path, index, face);
    if (fe == FT_Err_Cannot_Open_Resource)
        return fw_error_set(err, FW_ERR_IO, "font", "The font file %s cannot be read.", path);
    if (fe)
        return fw_error_set(err, FW_ERR_INVALID, "font",
                            "%s is not a font file FreeType can read (error %d); use TrueType or OpenType.", path,
                            fe);
    return FW_OK;
}

fw_err fw_font_read_info(const char *path, fw_font_info *out, fw_error *err)
{
    FT_Library library;
    FT_Face face;
    memset(out, 0, sizeof(*out));
    if (!path || !*path)
        return fw_error_set(err, FW_ERR_INVALID, "font", "No font file was given.");
    if (FT_Init_FreeType(&library))
        return fw_error_set(err, FW_ERR_INTERNAL, "font", "FreeType could not be initialised.");
    fw_err rc = open_face(library, path, 0, &face, err);
    if (rc == FW_OK) {
        copy_name(out->family, face->family_name);
        copy_name(out->style, face->style_name);
        copy_name(out->postscript_name, FT_Get_Postscript_Name(face));
        out->face_count = (int)face->num_faces;
        FT_Done_Face(face);
    }
    FT_Done_FreeType(library);
    return rc;
}

/* ---- the set ---- */

static void font_free(fw_font **pfont)
{
    fw_font *font = *pfont;
    if (!font)
        return;
    if (font->hb)
        hb_font_destroy(font->hb);
    if (font->face)
        FT_Done_Face(font->face);
    free(font->path);
    free(font->family);
    free(font->style);
    free(font->postscript_name);
    free(font->key_postscript);
    free(font->key_family_style);
    free(font->key_family);
    free(font->key_file);
    free(font);
    *pfont = NULL;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* Make a font of an open face; the face belongs to the font from here on. */
static fw_err font_from_face(fw_fontset *set, FT_Face face, const char *path, fw_font **out, fw_error *err)
{
    fw_font *font = calloc(1, sizeof(*font));
    if (!font) {
        FT_Done_Face(face);
        return fw_error_set(err, FW_ERR_NOMEM, "font", "Out of memory reading %s.", path);
    }
    font->face = face;
    font->set = set;
    font->path = strdup(path);
    font->family = dup_or_empty(face->family_name);
    font->style = dup_or_empty(face->style_name);
    font->postscript_name = dup_or_empty(FT_Get_Postscript_Name(face));
    font->key_postscript = name_key(font->postscript_name, NULL);
    font->key_family_style = name_key(font->family, font->style);
    font->key_family = name_key(font->family, NULL);
    font->key_file = font->path ? file_stem(font->path) : NULL;
    char *file = font->key_file;
    font->key_file = file ? name_key(file, NULL) : NULL;
    free(file);

    hb_face_t *hb_face = hb_ft_face_create_referenced(face);
    font->hb = hb_font_create(hb_face);
    hb_face_destroy(hb_face);
    if (!font->path || !font->family || !font->style || !font->postscript_name || !font->key_postscript ||
        !font->key_family_style || !font->key_family || !font->key_file || !font->hb) {
        font_free(&font);
        return fw_error_set(err, FW_ERR_NOMEM, "font", "Out of memory reading %s.", path);
    }
    /* Shape in font units; the layout scales to the requested size itself, so
     * no hinting or rounding at some pixel size creeps into the positions. */
    hb_font_set_scale(font->hb, (int)face->units_per_EM, (int)face->units_per_EM);
    *out = font;
    return FW_OK;
}

static fw_err append_font(fw_fontset *set, fw_font *font, fw_error *err)
{
    if (set->count == set->capacity) {
        size_t cap = set->capacity ? set->capacity * 2 : 16;
        fw_font **grown = realloc(set->fonts, cap * sizeof(*grown));
        if (!grown)
            return fw_error_set(err, FW_ERR_NOMEM, "font", "Out of memory adding %s.", font->path);
        set->fonts = grown;
        set->capacity = cap;
    }
    set->fonts[set->count++] = font;
    return FW_OK;
}

fw_err fw_fontset_add_face_(fw_fontset *set, const char *path, long index, fw_font **out, fw_error *err)
{
    FT_Face face;
    fw_font *font;
    fw_err rc = open_face(set->library, path, index, &face, err);
    if (rc != FW_OK)
        return rc;
    if (!FT_IS_SCALABLE(face)) {
        FT_Done_Face(face);
        return fw_error_set(err, FW_ERR_INVALID, "font", "%s is a bitmap font.", path);
    }
    if ((rc = font_from_face(set, face, path, &font, err)) != FW_OK)
        return rc;
    font->index = index;
    if ((rc = append_font(set, font, err)) != FW_OK) {
        font_free(&font);
        return rc;
    }
    *out = font;
    return FW_OK;
}

size_t fw_fontset_size_(const fw_fontset *set) { return set->count; }
fw_font *fw_fontset_at_(const fw_fontset *set, size_t i) { return set->fonts[i]; }

/* Every scalable face of a file, appended to the set (or as its default). */
static fw_err load_file(fw_fontset *set, const char *path, int as_default, size_t *added, fw_error *err)
{
    FT_Face face;
    fw_err rc = open_face(set->library, path, 0, &face, err);
    if (rc != FW_OK)
        return rc;
    long faces = face->num_faces;
    for (long i = 0; i < faces; i++) {
        if (i > 0 && (rc = open_face(set->library, path, i, &face, err)) != FW_OK)
            return rc;
        if (!FT_IS_SCALABLE(face)) {
            FT_Done_Face(face);
            if (faces == 1)
                return fw_error_set(err, FW_ERR_INVALID, "font",
                                    "%s is a bitmap font; text needs outline (TrueType or OpenType) fonts.", path);
            continue;
        }
        fw_font *font;
        if ((rc = font_from_face(set, face, path, &font, err)) != FW_OK)
            return rc;
        font->index = i;
        if (as_default) {
            set->default_font = font;
            return FW_OK;
        }
        if ((rc = append_font(set, font, err)) != FW_OK) {
            font_free(&font);
            return rc;
        }
        if (added)
            (*added)++;
    }
    return FW_OK;
}

fw_err fw_fontset_new(fw_fontset **out, const char *default_font_path, fw_error *err)
{
    *out = NULL;
    fw_fontset *set = calloc(1, sizeof(*set));
    if (!set)
        return fw_error_set(err, FW_ERR_NOMEM, "font", "Out of memory creating a font set.");
    if (FT_Init_FreeType(&set->library)) {
        free(set);
        return fw_error_set(err, FW_ERR_INTERNAL, "font", "FreeType could not be initialised.");
    }
    pthread_mutex_init(&set->lock, NULL);
    const char *path = default_font_path && *default_font_path ? default_font_path : FW_DEFAULT_FONT_PATH;
    fw_err rc = load_file(set, path, 1, NULL, err);
    if (rc != FW_OK) {
        if (err) /* the configuration setting, not a template's font */
            snprintf(err->field, sizeof(err->field), "defaultFont");
        fw_fontset_free(&set);
        return rc;
    }
    *out = set;
    return FW_OK;
}

void fw_fontset_free(fw_fontset **pset)
{
    fw_fontset *set = *pset;
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        font_free(&set->fonts[i]);
    free(set->fonts);
    free(set->substitutes);
    font_free(&set->default_font);
    FT_Done_FreeType(set->library);
    pthread_mutex_destroy(&set->lock);
    free(set);
    *pset = NULL;
}

fw_err fw_fontset_add_file(fw_fontset *set, const char *path, fw_error *err)
{
    if (!path || !*path)
        return fw_error_set(err, FW_ERR_INVALID, "font", "No font file was given.");
    return load_file(set, path, 0, NULL, err);
}

static int has_font_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".ttf") || !strcasecmp(dot, ".otf") || !strcasecmp(dot, ".ttc") ||
                   !strcasecmp(dot, ".otc"));
}

static fw_err add_dir(fw_fontset *set, const char *dir, int depth, size_t *added, fw_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return fw_error_set(err, FW_ERR_IO, "fonts", "The font folder %s cannot be read: %s.", dir, strerror(errno));
    /* readdir order is arbitrary; sort so that lookups that match several
     * faces pick the same one on every machine. */
    char **names = NULL;
    size_t count = 0, cap = 0;
    fw_err rc = FW_OK;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 32;
            char **grown = realloc(names, cap * sizeof(*grown));
            if (!grown) {
                rc = fw_error_set(err, FW_ERR_NOMEM, "fonts", "Out of memory listing %s.", dir);
                break;
            }
            names = grown;
        }
        if (!(names[count] = strdup(entry->d_name))) {
            rc = fw_error_set(err, FW_ERR_NOMEM, "fonts", "Out of memory listing %s.", dir);
            break;
        }
        count++;
    }
    closedir(d);
    for (size_t i = 1; i < count; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (size_t i = 0; i < count && rc == FW_OK; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 8) /* deep enough for any font tree; guards against link loops */
                rc = add_dir(set, path, depth + 1, added, err);
        } else if (S_ISREG(st.st_mode) && has_font_extension(names[i])) {
            fw_error skipped = {0};
            if (load_file(set, path, 0, added, &skipped) != FW_OK)
                fw_log(FW_LOG_WARN, "fonts", "skipping %s: %s", path, skipped.message);
        }
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return rc;
}

fw_err fw_fontset_add_dir(fw_fontset *set, const char *dir, size_t *added, fw_error *err)
{
    if (added)
        *added = 0;
    if (!dir || !*dir)
        return fw_error_set(err, FW_ERR_INVALID, "fonts", "No font folder was given.");
    return add_dir(set, dir, 0, added, err);
}

/* ---- lookup ---- */

/* The i-th candidate of a lookup: the added fonts, then the default, which
 * is a font like any other when a template names it. */
static const fw_font *candidate(const fw_fontset *set, size_t i)
{
    return i < set->count ? set->fonts[i] : set->default_font;
}

static const fw_font *find_by(const fw_fontset *set, const char *key, int field)
{
    for (size_t i = 0; i <= set->count; i++) {
        const fw_font *f = candidate(set, i);
        if (f->embolden || f->oblique)
            continue; /* a synthetic face is found only by the machine lookup that made it */
        const char *candidate = field == 0 ? f->key_postscript : field == 1 ? f->key_family_style : f->key_file;
        if (*candidate && !strcmp(candidate, key))
            return f;
    }
    return NULL;
}

/* A regular face of the family whose key is the first len bytes of key. */
static const fw_font *find_regular_family(const fw_fontset *set, const char *key, size_t len)
{
    for (size_t i = 0; i <= set->count; i++) {
        const fw_font *f = candidate(set, i);
        char *style = name_key(f->style, NULL);
        int regular = style && is_regular_key(style);
        free(style);
        if (regular && strlen(f->key_family) == len && !strncmp(f->key_family, key, len))
            return f;
    }
    return NULL;
}

static const fw_font *find_name(const fw_fontset *set, const char *key)
{
    const fw_font *f;
    if ((f = find_by(set, key, 0)) || (f = find_by(set, key, 1)))
        return f;
    return find_regular_family(set, key, key_without_regular(key));
}

const fw_font *fw_fontset_find(const fw_fontset *set, const char *name, const char *family, const char *style,
                               const char *file)
{
    const fw_font *found = NULL;
    char *key;
    if (!set)
        return NULL;
    if (name && *name && (key = name_key(name, NULL))) {
        found = find_name(set, key);
        free(key);
    }
    if (!found && family && *family && (key = name_key(family, style))) {
        found = find_name(set, key);
        free(key);
    }
    if (!found && name && *name && (key = name_key(name, NULL))) {
        found = find_by(set, key, 2);
        free(key);
    }
    if (!found && file && *file) {
        char *stem = file_stem(file);
        if (stem && (key = name_key(stem, NULL))) {
            found = find_by(set, key, 2);
            free(key);
        }
        free(stem);
    }
    return found;
}

const fw_font *fw_fontset_default(const fw_fontset *set)
{
    return set ? set->default_font : NULL;
}

size_t fw_fontset_count(const fw_fontset *set)
{
    return set ? set->count : 0;
}

const fw_font *fw_fontset_at(const fw_fontset *set, size_t i)
{
    return set && i < set->count ? set->fonts[i] : NULL;
}

const char *fw_font_family(const fw_font *font) { return font->family; }
const char *fw_font_style(const fw_font *font) { return font->style; }
const char *fw_font_postscript_name(const fw_font *font) { return font->postscript_name; }
const char *fw_font_path(const fw_font *font) { return font->path; }

void fw_fontset_lock_(const fw_fontset *set)
{
    pthread_mutex_lock(&((fw_fontset *)set)->lock);
}

void fw_fontset_unlock_(const fw_fontset *set)
{
    pthread_mutex_unlock(&((fw_fontset *)set)->lock);
}

/* ---- substitutes ---- */

void fw_fontset_note_substitute(fw_fontset *set, const char *asked, const fw_font *used)
{
    if (!set || !asked || !*asked || !used)
        return;
    for (size_t i = 0; i < set->substitute_count; i++)
        if (!strcmp(set->substitutes[i].font, asked))
            return;
    fw_font_substitute *grown = realloc(set->substitutes, (set->substitute_count + 1) * sizeof(*grown));
    if (!grown)
        return; /* the font is still reported missing; only what stood in is not said */
    set->substitutes = grown;
    fw_font_substitute *sub = &grown[set->substitute_count++];
    memset(sub, 0, sizeof(*sub));
    snprintf(sub->font, sizeof(sub->font), "%s", asked);
    snprintf(sub->family, sizeof(sub->family), "%s", used->family ? used->family : "");
    snprintf(sub->style, sizeof(sub->style), "%s", used->style ? used->style : "");
    sub->synthetic_bold = used->embolden;
    sub->synthetic_italic = used->oblique;
}

size_t fw_fontset_substitute_count(const fw_fontset *set) { return set ? set->substitute_count : 0; }

const fw_font_substitute *fw_fontset_substitute_at(const fw_fontset *set, size_t i)
{
    return set && i < set->substitute_count ? &set->substitutes[i] : NULL;
}
