/*
 * fonts_internal.h - what the layout code needs to see of a font; not part
 * of the public API of server/text.
 */
#ifndef FW_TEXT_FONTS_INTERNAL_H
#define FW_TEXT_FONTS_INTERNAL_H

#include <ft2build.h>
#include FT_FREETYPE_H
#include <hb.h>
#include <pthread.h>

#include "server/text/fonts.h"

struct fw_font {
    FT_Face face;
    hb_font_t *hb;   /* scaled to font units: positions come back in units per em */
    fw_fontset *set; /* whose lock guards the face */
    char *path;
    char *family;
    char *style;
    char *postscript_name;
    /* lower-case, without spaces, hyphens or underscores, for lookup */
    char *key_postscript;
    char *key_family_style; /* family + style */
    char *key_family;
    char *key_file; /* file name without folder and extension */
    long index;     /* the face's index in its file */
    int system;     /* found among the machine's fonts */
    int embolden;   /* synthetic bold: the outlines are thickened */
    int oblique;    /* synthetic italic: the outlines are slanted */
};

/* Add one face of a file to the set; *out is the new font, owned by the set. */
fw_err fw_fontset_add_face_(fw_fontset *set, const char *path, long index, fw_font **out, fw_error *err);

/* The set's fonts, for the lookups of system_fonts.c. */
size_t fw_fontset_size_(const fw_fontset *set);
fw_font *fw_fontset_at_(const fw_fontset *set, size_t i);

/* The set's lock: held while a face is used. */
void fw_fontset_lock_(const fw_fontset *set);
void fw_fontset_unlock_(const fw_fontset *set);

#endif
