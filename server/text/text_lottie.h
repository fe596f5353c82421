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

#include "server/text/fonts.h"
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

#endif
