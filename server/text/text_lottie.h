/*
 * text_lottie.h - turn the text layers of a Lottie document into shape layers.
 *
 * Engines such as rlottie draw no text layers. Before such an engine renders a
 * document, every text layer (in the root composition and in every precomp)
 * is replaced by a shape layer that draws the same text as glyph outlines,
 * laid out with the real fonts of a fw_fontset. The layer keeps its name,
 * index, parent, transform, timing, masks, mattes and effects, so the rest of
 * the document (expressions by name, parenting, track mattes) is unaffected.
 */
#ifndef FW_TEXT_LOTTIE_H
#define FW_TEXT_LOTTIE_H

#include <jansson.h>
#include <stdint.h>

#include "server/text/fonts.h"
#include "server/text/text_layout.h"
#include "server/util/error.h"

/*
 * Replace every text layer of doc by an equivalent shape layer.
 *
 * Each keyframe of a layer's text document becomes one group of the shape
 * layer; when there are several, hold keyframes on the groups' opacity show
 * the one in effect at each time. A font is looked up in fonts by the name,
 * family, style and file the document gives it. When it is not there but the
 * document embeds glyph shapes (`chars`) for every character of the text,
 * those shapes are used; otherwise the set's default font is, and the font's
 * name is appended to missing_fonts (a JSON array, may be NULL; names already
 * in it are not repeated).
 *
 * Text animators (range selectors, per-character transforms) are not
 * converted: the layer keeps its static look.
 *
 * All or nothing: on error doc is unchanged and err names the layer and field
 * (for example "assets[1].layers[0].t.d.k[0].s.s").
 */
fw_err fw_text_layers_to_shapes(json_t *doc, fw_fontset *fonts, json_t *missing_fonts, fw_error *err);

/* ---- for engines that draw text layers themselves ---- */

/* How a text document keyframe fits its room, when a job's text asset asked
 * (the keyframe's "fw_fit": mode, minSize, maxLines and the template's own
 * text as "sample"): shrunk until it fits, or wrapped at the room's width
 * and shrunk. The room is the box of paragraph text, or the width the
 * sample takes for point text. Laying out a keyframe (both functions here)
 * applies it. */
typedef enum fw_lottie_fit {
    FW_LOTTIE_FIT_NONE = 0,
    FW_LOTTIE_FIT_SHRINK,
    FW_LOTTIE_FIT_WRAP_SHRINK,
} fw_lottie_fit;

/* What one text document keyframe asks for besides its glyphs. */
typedef struct fw_lottie_text_style {
    double time;         /* frame from which the keyframe is in effect */
    double size;         /* font size, px (after fitting) */
    double fill[4];      /* RGBA, 0..1 */
    int has_fill;
    double stroke[4];
    int has_stroke;      /* a stroke colour and a positive width */
    double stroke_width; /* px */
    int stroke_over_fill;
    fw_text_align align;
    /* Non-zero when the glyphs come from the document's embedded shapes
     * (chars) because the font file is missing: the layout then has glyph
     * positions but no outlines, and each glyph is drawn from
     * fw_lottie_glyph_shapes(doc, family, style, codepoint), scaled by
     * size / 100. family and style are borrowed from doc. */
    int embedded;
    const char *family, *style;
} fw_lottie_text_style;

/*
 * Lay out one text document keyframe (an element of the t.d.k of layer, a
 * text layer; layer may be NULL, and then a text path is not followed)
 * exactly as fw_text_layers_to_shapes() does: the same font lookup, embedded
 * glyphs, default font and missing_fonts reporting. On success *out is the
 * layout (free with fw_text_layout_free()) and *style the rest of the
 * keyframe. err's field is relative to the keyframe ("s.s").
 */
fw_err fw_lottie_text_layout(json_t *doc, json_t *layer, json_t *keyframe, fw_fontset *fonts, json_t *missing_fonts,
                             fw_lottie_text_style *style, fw_text_layout **out, fw_error *err);

/* The shape items (chars[].data.shapes) of the glyph a document embeds for a
 * code point of a font family and style (NULL matches any), drawn at font
 * size 100 with the origin on the baseline; NULL when there is none. Borrowed
 * from doc. */
json_t *fw_lottie_glyph_shapes(json_t *doc, const char *family, const char *style, uint32_t codepoint);

#endif
