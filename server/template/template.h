/*
 * template.h - a Lottie template: load it, look inside it, pick what to render.
 *
 * A template arrives as a Bodymovin JSON file, a dotLottie (.lottie) or a
 * .zip bundle (one Lottie JSON beside images/ and fonts/). Bundles are
 * unpacked, with every entry checked, into a working folder the caller owns;
 * the loaded document then refers to its images by absolute paths inside
 * that folder. rlottie puts its resource path in front of every image
 * path, so give it "/" (an empty one disables images).
 *
 * Jobs change the document with fw_template_apply_assets() (assets.h) and
 * render the result of fw_template_select_composition().
 */
#ifndef FW_TEMPLATE_TEMPLATE_H
#define FW_TEMPLATE_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "server/util/error.h"

typedef struct fw_template fw_template;

/* What a template may weigh. Checked before anything is written (bundle
 * sizes) or rendered (document sizes). */
typedef struct fw_template_limits {
    uint64_t max_total_bytes;  /* uncompressed bundle, all entries */
    uint64_t max_file_bytes;   /* one uncompressed entry */
    uint32_t max_files;        /* entries in a bundle */
    uint32_t max_ratio;        /* uncompressed / compressed, for entries over 1 MiB */
    uint64_t max_json_bytes;   /* the Lottie JSON itself */
    uint32_t max_width;        /* canvas, pixels */
    uint32_t max_height;
    uint32_t max_frames;       /* op - ip of the root */
    uint32_t max_layers;       /* in the root and every precomp, counted once each */
    uint32_t max_nesting;      /* precomps inside precomps, from the root */
    uint32_t max_json_depth;   /* arrays and objects inside each other */
} fw_template_limits;

/* 512 MiB total, 256 MiB per file, 2000 files, ratio 200, JSON 64 MiB,
 * canvas 8192x8192, 100000 frames, 20000 layers, precomps 24 deep, JSON 256 deep. */
void fw_template_limits_init(fw_template_limits *limits);

/* Load the template at path. The format is found from the content (zip
 * magic), not the extension. workdir must be an existing, writable folder
 * (used for bundles only; may be NULL for a plain .json); on failure nothing
 * that this call created is left in it. limits may be NULL for the defaults.
 * *tpl is set on success; free it with fw_template_free(). */
fw_err fw_template_load(fw_template **tpl, const char *path, const char *workdir,
                        const fw_template_limits *limits, fw_error *err);

/* Same, for a document already in memory; dir resolves relative images
 * (may be NULL). The template takes its own reference to doc. */
fw_err fw_template_from_document(fw_template **tpl, json_t *doc, const char *dir,
                                 const fw_template_limits *limits, fw_error *err);

void fw_template_free(fw_template **tpl);

/* The Lottie document (borrowed; changed in place by asset application). */
json_t *fw_template_document(const fw_template *tpl);
/* Replace the document (the template takes the reference). */
void fw_template_set_document(fw_template *tpl, json_t *doc);
/* The folder relative files of the template resolve against. */
const char *fw_template_dir(const fw_template *tpl);
/* "json", "lottie" (dotLottie) or "zip". */
const char *fw_template_format(const fw_template *tpl);
/* Font files (.ttf/.otf/.ttc) found in the bundle's fonts/ folder (sorted
 * by name), then those the document's font list names by an fPath inside
 * the template's folder; absolute paths. */
size_t fw_template_font_count(const fw_template *tpl);
const char *fw_template_font_path(const fw_template *tpl, size_t i);

/* What can be changed in the template, as a JSON object with camelCase keys:
 * {compositions:[{name,width,height,fps,duration,frames,isRoot,layers:[
 *   {name,index,type,inPoint,outPoint,parent,replaceable:{text,font,image,
 *   colors,transform,video,audio,textBox}}]}],
 *  fonts:[{name,family,style,embeddedGlyphs,match:{source,family,style,exact,
 *   syntheticBold,syntheticItalic}}],
 *  slots:[{id,type,value}], markers:[{name,time,duration,frame}]}.
 * Durations and times are in seconds, in/out points in frames. *out is a new
 * reference. */
fw_err fw_template_introspect(const fw_template *tpl, json_t **out, fw_error *err);
fw_err fw_lottie_introspect(json_t *doc, json_t **out, fw_error *err);

/* A new document (caller owns *out) whose root is the composition called
 * name (NULL or "": the root): a precomp takes its size from the layer that
 * uses it, the root's frame rate, and its duration from that layer's in/out
 * points (or its own layers'); only the assets it uses are kept. An unknown
 * name is FW_ERR_NOT_FOUND listing the compositions there are. */
fw_err fw_template_select_composition(const fw_template *tpl, const char *name, json_t **out,
                                      fw_error *err);
fw_err fw_lottie_select_composition(json_t *doc, const char *name, json_t **out, fw_error *err);

#endif
