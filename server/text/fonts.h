/*
 * fonts.h - the set of font files text is laid out with.
 *
 * A fw_fontset holds FreeType faces read from font files (TTF, OTF, TTC) and
 * answers "which face is the font a template names?". Templates name fonts
 * the way After Effects does: a PostScript-like name ("Montserrat-Bold"), a
 * family and a style ("Montserrat", "Bold"), sometimes a file path. Lookup is
 * tolerant of case, spaces, hyphens and underscores, because exports spell
 * the same font several ways.
 *
 * Every set has a default font (DejaVu Sans from Debian's fonts-dejavu-core
 * unless configured otherwise) for text whose font is missing; callers are
 * expected to report such fonts rather than hide the substitution.
 *
 * Thread safety: FreeType faces are not safe to use from two threads at once.
 * The set carries one lock; fw_text_layout() takes it for the whole layout, so
 * one set may be shared by several render threads. Adding fonts must happen
 * before the set is shared.
 */
#ifndef FW_TEXT_FONTS_H
#define FW_TEXT_FONTS_H

#include <stddef.h>

#include "server/util/error.h"

#define FW_DEFAULT_FONT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define FW_FONT_NAME_MAX 256

typedef struct fw_fontset fw_fontset;
typedef struct fw_font fw_font; /* one face; owned by its set */

/* The names a font file gives itself (from its first face). */
typedef struct fw_font_info {
    char family[FW_FONT_NAME_MAX];          /* "DejaVu Sans" */
    char style[FW_FONT_NAME_MAX];           /* "Book", "Bold Italic" */
    char postscript_name[FW_FONT_NAME_MAX]; /* "DejaVuSans"; "" when the file has none */
    int face_count;                         /* faces in the file (a .ttc has several) */
} fw_font_info;

/* Read family, style and PostScript name of a font file without keeping it.
 * FW_ERR_IO when the file cannot be read, FW_ERR_INVALID when it is not a
 * font FreeType understands. */
fw_err fw_font_read_info(const char *path, fw_font_info *out, fw_error *err);

/* A new set whose default font is read from default_font_path
 * (NULL: FW_DEFAULT_FONT_PATH). Fails when the default font cannot be read,
 * since then missing fonts could not be rendered at all. Free with
 * fw_fontset_free(). */
fw_err fw_fontset_new(fw_fontset **out, const char *default_font_path, fw_error *err);
void fw_fontset_free(fw_fontset **set);

/* Add every face of one font file. */
fw_err fw_fontset_add_file(fw_fontset *set, const char *path, fw_error *err);

/* Add every font file (.ttf .otf .ttc .otc, any case) in a folder and its
 * sub-folders. Files that are not fonts are skipped with a warning; an
 * unreadable folder is an error. *added (may be NULL) gets the face count. */
fw_err fw_fontset_add_dir(fw_fontset *set, const char *dir, size_t *added, fw_error *err);

/* The face a template names, or NULL. Any argument may be NULL or "".
 * Tried in order: name against PostScript names; name against family+style;
 * family+style against family+style; name or file against file names (without
 * folder and extension). Added fonts come before the default font, which is
 * returned only when it is the one named. */
const fw_font *fw_fontset_find(const fw_fontset *set, const char *name, const char *family, const char *style,
                               const char *file);

/* What the machine's fonts (fontconfig) give for a font a template names. */
typedef struct fw_system_font {
    char asked_family[FW_FONT_NAME_MAX]; /* the family asked for, as read from the names */
    char family[FW_FONT_NAME_MAX];       /* the face found: "Liberation Sans" */
    char style[FW_FONT_NAME_MAX];        /* "Bold Italic" */
    char path[4096];
    int index;                           /* of the face in its file */
    int exact;                           /* the family asked for; 0: a substitute */
    int synthetic_bold;                  /* thickened: the family has no face that bold */
    int synthetic_italic;                /* slanted: the family has no italic */
} fw_system_font;

/* Find, as a browser would, the machine's face for a font a template names:
 * family, weight and slant come from the names (style words such as
 * "SemiBold Italic", or the part of a PostScript name after its last hyphen);
 * when the family is not installed, fontconfig's own substitutions
 * (metric-compatible families first), then the generic family the name
 * suggests (serif, monospace, else sans-serif). A bold or italic the family
 * lacks is to be made synthetically from the face found. 0 when fontconfig
 * has no fonts at all. Safe from any thread. */
int fw_font_system_lookup(const char *name, const char *family, const char *style, fw_system_font *out);

/* fw_font_system_lookup(), and the face it found, added to the set (once).
 * Like fw_fontset_add_file(), call it before the set is shared between
 * threads. NULL when there is none or it cannot be read. */
const fw_font *fw_fontset_match_system(fw_fontset *set, const char *name, const char *family, const char *style,
                                       fw_system_font *out);

/* A font drawn with a face that is not its own: the machine's stand-in or
 * the default. */
typedef struct fw_font_substitute {
    char font[FW_FONT_NAME_MAX];   /* the name the template or job gave */
    char family[FW_FONT_NAME_MAX]; /* the face that drew it */
    char style[FW_FONT_NAME_MAX];
    int synthetic_bold, synthetic_italic;
} fw_font_substitute;

/* Remember that asked was drawn with used (once per name; the text layout
 * of server/text does it whenever it reports a font missing). Like adding
 * fonts, before the set is shared between threads. */
void fw_fontset_note_substitute(fw_fontset *set, const char *asked, const fw_font *used);
size_t fw_fontset_substitute_count(const fw_fontset *set);
const fw_font_substitute *fw_fontset_substitute_at(const fw_fontset *set, size_t i);

const fw_font *fw_fontset_default(const fw_fontset *set);
size_t fw_fontset_count(const fw_fontset *set); /* faces added, the default not counted */
const fw_font *fw_fontset_at(const fw_fontset *set, size_t i); /* i < fw_fontset_count */

const char *fw_font_family(const fw_font *font);
const char *fw_font_style(const fw_font *font);
const char *fw_font_postscript_name(const fw_font *font);
const char *fw_font_path(const fw_font *font);

#endif
