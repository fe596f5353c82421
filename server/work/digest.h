/*
 * digest.h - what a render's output depends on, as one SHA-256: the key of
 * the render cache (worker.c).
 *
 * Two renders with the same digest draw the same pictures and the same
 * sound. The digest covers:
 *   - FW_RENDER_VERSION, which changes whenever the engines or the encoder
 *     settings change what a render draws;
 *   - the composition as it will be drawn (the document after the job's
 *     assets were applied), as canonical JSON (keys sorted, compact, reals
 *     to 17 significant digits);
 *   - the content (SHA-256) of every file the document refers to (an asset's
 *     "u" + "p" joined as the engines join them, under resource_dir: images,
 *     footage, sound), not its folder ("u" is left out; the file name stays,
 *     as engines look at its extension);
 *   - the content of every font file in font_files (the team's and the
 *     template's; system fonts are the machine's and covered by the
 *     version), and default_font;
 *   - the output: the caller's text describing it (codec, size, rate,
 *     quality, engine: anything that changes the file), and the frame range
 *     (the engine's frames, counted from the document's in point);
 *   - whether it is a whole output or a part.
 *
 * For a chunk of a split render (FW_DIGEST_PART), only what can show in
 * frames first..last counts: top-level layers whose in/out range misses
 * those frames are left out (unless a kept layer names them as its parent,
 * or as its matte: the layer before a layer with "tt", or the layer its
 * "tp" names), and so are the assets only they use; sound (audio layers,
 * sound files) is left out, as parts are silent. A document with
 * expressions (any "x" property) is hashed whole, its sound included: an
 * expression may read any layer at any time. Precomps are hashed whole when
 * their layer is kept, their audio layers and sounds included. A kept
 * layer's parent or matte counts even when it is an audio layer.
 *
 * Only files inside resource_dir are read: a path with a ".." component,
 * or an absolute one not under resource_dir (which must then be absolute
 * too, as the template's folder is), is FW_ERR_INVALID on "assets".
 *
 * Errors: a referenced file that cannot be read is FW_ERR_IO on "assets"
 * (a render would fail on it too), a font file FW_ERR_IO on "fonts"; a
 * document that is not an object, an unknown kind or frames that are not a
 * range (0 <= first <= last) are FW_ERR_INVALID; out of memory is
 * FW_ERR_NOMEM. On success out holds 64 lowercase hex digits; on failure "".
 */
#ifndef FW_WORK_DIGEST_H
#define FW_WORK_DIGEST_H

#include <jansson.h>

#include "server/util/error.h"

/* Bump when a render of the same inputs would come out different. */
#define FW_RENDER_VERSION "framewright-render-1"

#define FW_DIGEST_HEX 65 /* 64 hex digits and the NUL */

enum {
    FW_DIGEST_WHOLE = 0, /* the job's whole output, with its sound */
    FW_DIGEST_PART = 1,  /* a silent part of frames first..last */
};

typedef struct fw_digest_input {
    const json_t *doc;               /* the composition to draw, assets applied */
    const char *resource_dir;        /* where the document's relative asset paths resolve; NULL: "." */
    const char *const *font_files;   /* NULL-terminated; may be NULL */
    const char *default_font;        /* may be NULL */
    const char *output;              /* the caller's description of the output; may be NULL */
} fw_digest_input;

fw_err fw_render_digest(const fw_digest_input *in, int kind, int first, int last, char out[FW_DIGEST_HEX],
                        fw_error *err);

#endif
