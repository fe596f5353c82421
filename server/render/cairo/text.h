/*
 * text.h - Lottie text layers drawn by the Cairo engine, with text animators.
 *
 * Text is laid out once, when a document is prepared: every keyframe of a
 * layer's text document becomes a layout of real font outlines (or of the
 * glyph shapes the document embeds when the font file is missing), exactly as
 * server/text lays it out for the other engines. Drawing a frame then only
 * picks the keyframe in effect, evaluates the layer's text animators and
 * places each glyph: range selectors give every glyph a coverage between 0
 * and 1, and coverage weighs each animated property (position, anchor, scale,
 * rotation, skew, opacity, fill and stroke colour, stroke width, tracking,
 * fill hue/saturation/brightness) the way After Effects and lottie-web apply
 * them.
 *
 * Not drawn: text on a path (t.p), expression selectors, wiggly selectors,
 * 3D per-character rotation (rx, ry). Such layers draw without them and are
 * counted with lt_doc_unsupported().
 *
 * Thread safety: drawing writes per-layer scratch arrays, so one document is
 * drawn by one thread at a time (each render thread loads its own document).
 */
#ifndef FW_RENDER_CAIRO_TEXT_H
#define FW_RENDER_CAIRO_TEXT_H

#include <cairo.h>
#include <jansson.h>

#include "server/render/cairo/model.h"
#include "server/text/fonts.h"
#include "server/util/error.h"

/*
 * Prepare every text layer of doc (root and precomps) for drawing: lay out
 * each text document keyframe with fonts, read the animators. A font that is
 * not in fonts, and whose glyphs the document does not embed, is replaced by
 * the set's default font and its name appended to missing_fonts (a JSON
 * array; may be NULL). Calling it again re-attaches. All or nothing: on
 * error no layer keeps text data and err names the layer and field
 * ("assets[comp_0].layers[2].t.d.k[0].s.s").
 */
fw_err lt_text_attach(lt_doc *doc, fw_fontset *fonts, json_t *missing_fonts, fw_error *err);

/*
 * Draw a text layer at layer-local frame `frame` into cr, whose matrix
 * already holds the layer's transform. Fill and stroke as the text document
 * says (fill over stroke unless it asks for stroke over fill), each glyph
 * moved by the animators. Does nothing for a layer that was not attached.
 * Allocates nothing.
 */
void lt_text_draw(const lt_doc *doc, const lt_layer *layer, double frame, cairo_t *cr);

/* Free what lt_text_attach() prepared; layer->text becomes NULL. Safe to
 * call more than once and on a document never attached. */
void lt_text_detach(lt_doc *doc);

#endif
