/*
 * text_layout.h - lay out a paragraph of text with a real font and return its
 * glyph outlines.
 *
 * A request (text, font, size, alignment, optional box) goes in; glyphs with
 * their positions and the glyph outlines as closed cubic Bézier contours come
 * out, in layer coordinates with y pointing down, placed the way After Effects
 * and lottie-web place text:
 *   - point text: (0, 0) is on the baseline of the first line, at the
 *     alignment point (left end for left, right end for right, middle for
 *     centre);
 *   - box text: (box_x, box_y) is the top-left corner of the box and the first
 *     baseline is `ascent` below it; lines wrap within box_width where the
 *     Unicode line breaking rules (UAX #14) allow a break, and inside a run
 *     that has none, between grapheme clusters, only when it alone is wider.
 * Later lines are line_height further down.
 *
 * Shaping is HarfBuzz (kerning, ligatures, complex scripts), bidirectional
 * text is ordered with FriBidi, line breaks are ICU's, outlines come from
 * FreeType, unhinted and unscaled, so the result does not depend on a pixel
 * size. Nothing here knows about Lottie: another engine can draw these
 * contours directly.
 */
#ifndef FW_TEXT_LAYOUT_H
#define FW_TEXT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "server/text/fonts.h"
#include "server/util/error.h"

typedef enum fw_text_align {
    FW_TEXT_ALIGN_LEFT = 0,
    FW_TEXT_ALIGN_RIGHT,
    FW_TEXT_ALIGN_CENTER,
    /* Justified (box text): every line but a paragraph's last is stretched to
     * the box width at its spaces; the last line is aligned as named. */
    FW_TEXT_JUSTIFY_LAST_LEFT,
    FW_TEXT_JUSTIFY_LAST_RIGHT,
    FW_TEXT_JUSTIFY_LAST_CENTER,
    FW_TEXT_JUSTIFY_ALL, /* the last line is stretched too */
} fw_text_align;

typedef enum fw_text_caps {
    FW_TEXT_CAPS_NONE = 0,
    FW_TEXT_CAPS_ALL,
    FW_TEXT_CAPS_SMALL, /* lower-case letters as capitals at 70 % of the size */
} fw_text_caps;

/* A font without a file: per-character advances only (for example glyph
 * shapes embedded in a document). No shaping, no outlines: the caller draws
 * the glyphs itself at the positions returned. */
typedef struct fw_text_metrics {
    /* Advance of a code point in em (1.0 = the font size). */
    double (*advance)(void *ctx, uint32_t codepoint);
    void *ctx;
    double ascent; /* em; used for box text when the request's ascent is 0 */
} fw_text_metrics;

typedef struct fw_text_request {
    const char *text;               /* UTF-8; "\r", "\n", "\r\n", U+0003 and U+2028 break lines */
    const fw_font *font;            /* the font; or NULL and metrics */
    const fw_text_metrics *metrics; /* used only when font is NULL */
    double size;                    /* font size in px: one em */
    double line_height;             /* px between baselines; <= 0 means 1.2 * size */
    double tracking;                /* 1/1000 em added after every character */
    double baseline_shift;          /* px; positive raises the text */
    fw_text_align align;
    fw_text_caps caps;
    int box; /* non-zero: box text within box_x, box_y, box_width (box_height is not clipped) */
    double box_x, box_y, box_width, box_height;
    double ascent; /* box text: px from the box top to the first baseline; <= 0: the font's ascender */
} fw_text_request;

typedef struct fw_text_point {
    double x, y;
} fw_text_point;

/* One closed contour: start point, then for each cubic segment its two
 * control points and its end point; the last end point equals the start.
 * Straight segments have control points on their end points. */
typedef struct fw_text_contour {
    size_t segment_count;
    fw_text_point *points; /* 1 + 3 * segment_count points */
} fw_text_contour;

typedef struct fw_text_glyph {
    uint32_t glyph_id;    /* in the font; 0 for metrics fonts */
    uint32_t codepoint;   /* first code point of the glyph's cluster (after caps) */
    size_t byte_offset;   /* of that code point in the request's text */
    double x, y;          /* origin on the baseline, layer coordinates */
    double advance;       /* px, tracking included */
    double scale;         /* px per font unit (metrics fonts: px per em) */
    double angle;         /* radians, clockwise: the glyph is turned about its origin (text on a path) */
    int line;
    size_t first_contour; /* the glyph's outline: contours[first_contour ..] */
    size_t contour_count;
} fw_text_glyph;

typedef struct fw_text_line {
    double x;        /* left end of the line */
    double baseline; /* y of the baseline */
    double width;    /* px, after justification */
    size_t first_glyph, glyph_count;
} fw_text_line;

typedef struct fw_text_layout {
    fw_text_glyph *glyphs; /* in visual order, line by line */
    size_t glyph_count;
    fw_text_contour *contours;
    size_t contour_count;
    fw_text_line *lines;
    size_t line_count;
    double width; /* the widest line */
    /* Box text: lines that had to break inside a word (a run with no break
     * opportunity that alone is wider than the box). */
    size_t broken_words;
    /* Bounds of all contour points; all zero when there are none. */
    double min_x, min_y, max_x, max_y;
} fw_text_layout;

/* Lay out a request. FW_ERR_INVALID names the field when the request is
 * unusable (no text, no font, size not positive). Free with
 * fw_text_layout_free(). Takes the font set's lock while it runs. */
fw_err fw_text_layout_new(const fw_text_request *request, fw_text_layout **out, fw_error *err);
void fw_text_layout_free(fw_text_layout **layout);

#endif
