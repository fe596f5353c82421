/*
 * assets.h - applying a job's assets to a template, as Nexrender does.
 *
 * The input is the job's "assets" array exactly as Nexrender Cloud accepts
 * it (from a job file or the API): text, data, image, essential, static and
 * function assets change the Lottie document or the job folder; video
 * assets put a clip in image, precomp or solid layers (the document marks
 * the image asset as footage, which the render plays frame by frame);
 * audio assets are placed on the soundtrack; script assets run JavaScript
 * on the document (server/js/script.h). Assets
 * target layers by name in the job's composition (or the asset's own
 * "composition"); a name used by several layers changes all of them.
 *
 * Application is all or nothing: the document is changed only when every
 * asset applied; files fetched for a failed job are removed again.
 */
#ifndef FW_TEMPLATE_ASSETS_H
#define FW_TEMPLATE_ASSETS_H

#include <jansson.h>
#include <stdint.h>

#include "server/template/template.h"
#include "server/util/error.h"
#include "server/util/fetch.h"

typedef struct fw_asset_options {
    /* Where downloaded images and static assets are written: the job's
     * working folder, beside the template. Required for those assets. */
    const char *work_dir;
    /* How sources are fetched: fetch.base_dir is where relative "src" paths
     * resolve (the job's own folder), plus size and time limits and whether
     * absolute paths and file:// URLs are accepted. */
    fw_fetch_options fetch;
    /* Video and audio files: the largest download (bytes; fetch.max_bytes
     * is for everything else), the longest clip (seconds) and the largest
     * picture side (pixels). */
    uint64_t max_media_bytes;
    double max_media_seconds;
    int max_video_side;
    /* Script assets: CPU milliseconds and heap bytes per script (0: script.h's). */
    long script_cpu_ms;
    size_t script_memory;
} fw_asset_options;

void fw_asset_options_init(fw_asset_options *options);

/* Apply assets (a JSON array) to tpl's document, targeting composition
 * (NULL or "": the root) unless an asset names its own. Errors name the
 * asset and field ("assets[2].layerName") and, for a layer or composition
 * that does not exist, the names there are. options may be NULL (defaults;
 * then image and static assets with files need work_dir and fail). */
fw_err fw_template_apply_assets(fw_template *tpl, const json_t *assets, const char *composition,
                                const fw_asset_options *options, fw_error *err);

/* The same on a bare document; dir is where relative template files live. */
fw_err fw_lottie_apply_assets(json_t **doc, const json_t *assets, const char *composition,
                              const fw_asset_options *options, fw_error *err);

/* Width and height of a PNG, JPEG, WebP or GIF from its first bytes;
 * FW_ERR_UNSUPPORTED for anything else. */
fw_err fw_image_probe(const unsigned char *data, size_t size, int *width, int *height, const char **format);

#endif
