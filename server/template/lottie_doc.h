/*
 * lottie_doc.h - the Lottie (Bodymovin) document model.
 *
 * A template is a jansson tree as After Effects' Bodymovin exporter wrote it.
 * This file is the only place that knows Lottie's short keys ("ty", "nm",
 * "ks", "refId", "t.d.k[0].s.t", ...): everything else in Framewright asks
 * for compositions, layers, text documents, fills and transforms by name.
 *
 * Nothing here owns the document. Pointers returned are borrowed from it and
 * stay valid until the node they point into is changed or freed.
 */
#ifndef FW_TEMPLATE_LOTTIE_DOC_H
#define FW_TEMPLATE_LOTTIE_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "server/util/error.h"

/* Layer kinds, numbered as Lottie numbers them. */
typedef enum fw_layer_type {
    FW_LAYER_PRECOMP = 0,
    FW_LAYER_SOLID = 1,
    FW_LAYER_IMAGE = 2,
    FW_LAYER_NULL = 3,
    FW_LAYER_SHAPE = 4,
    FW_LAYER_TEXT = 5,
    FW_LAYER_AUDIO = 6,
    FW_LAYER_UNKNOWN = -1,
} fw_layer_type;

/* Transform properties of a layer. */
typedef enum fw_transform_prop {
    FW_TR_ANCHOR,
    FW_TR_POSITION,
    FW_TR_SCALE,
    FW_TR_ROTATION,
    FW_TR_OPACITY,
} fw_transform_prop;

/* ---- the document ------------------------------------------------------ */

const char *fw_lottie_name(const json_t *doc);     /* root "nm" or NULL */
double fw_lottie_width(const json_t *doc);
double fw_lottie_height(const json_t *doc);
double fw_lottie_frame_rate(const json_t *doc);
double fw_lottie_in_point(const json_t *doc);      /* frames */
double fw_lottie_out_point(const json_t *doc);     /* frames */
void fw_lottie_set_out_point(json_t *doc, double frames);
json_t *fw_lottie_root_layers(json_t *doc);
json_t *fw_lottie_assets(json_t *doc);             /* NULL when absent */
json_t *fw_lottie_asset_find(json_t *doc, const char *id);
json_t *fw_lottie_fonts(json_t *doc);              /* the font list or NULL */
json_t *fw_lottie_glyphs(json_t *doc);             /* embedded glyphs or NULL */
json_t *fw_lottie_markers(json_t *doc);            /* NULL when absent */
json_t *fw_lottie_slots(json_t *doc);              /* NULL when absent */

/* Check the keys every engine relies on; field names the offending key. */
fw_err fw_lottie_check(const json_t *doc, fw_error *err);

/* ---- compositions ------------------------------------------------------ */

/* The root composition and every precomposition, with the names After
 * Effects would show: the root's "nm"; a precomp's own name, else the name
 * of the first layer that uses it, else its id; made unique by " 2", " 3". */
typedef struct fw_lottie_comp {
    char *name;           /* owned by the list */
    json_t *layers;       /* borrowed */
    json_t *asset;        /* the precomp asset; NULL for the root */
    json_t *source_layer; /* first precomp layer using it; NULL for the root */
    double width, height;
    int is_root;
} fw_lottie_comp;

typedef struct fw_lottie_comps {
    fw_lottie_comp *items;
    size_t count;
} fw_lottie_comps;

fw_err fw_lottie_comps_list(json_t *doc, fw_lottie_comps *out, fw_error *err);
void fw_lottie_comps_clear(fw_lottie_comps *comps);
/* NULL name or "" means the root. */
const fw_lottie_comp *fw_lottie_comps_find(const fw_lottie_comps *comps, const char *name);
/* "a, b, c" into buf (truncated with "..."), for error messages. */
void fw_lottie_comps_names(const fw_lottie_comps *comps, char *buf, size_t size);
/* The names of the layers of one composition, the same way. */
void fw_lottie_layer_names(const json_t *layers, char *buf, size_t size);

/* ---- layers ------------------------------------------------------------ */

const char *fw_lottie_layer_name(const json_t *layer);
fw_layer_type fw_lottie_layer_type(const json_t *layer);
const char *fw_lottie_layer_type_name(const json_t *layer); /* "text", "image", ... */
int fw_lottie_layer_index(const json_t *layer);             /* -1 when absent */
int fw_lottie_layer_parent(const json_t *layer);            /* -1 when none */
double fw_lottie_layer_in_point(const json_t *layer);
double fw_lottie_layer_out_point(const json_t *layer);
double fw_lottie_layer_start_time(const json_t *layer);
void fw_lottie_layer_set_timing(json_t *layer, double in_point, double out_point, double start_time);
const char *fw_lottie_layer_source_id(const json_t *layer); /* precomp/image asset id */
void fw_lottie_layer_set_source_id(json_t *layer, const char *id);
double fw_lottie_layer_width(const json_t *layer);          /* precomp/solid box; 0 if none */
double fw_lottie_layer_height(const json_t *layer);
void fw_lottie_layer_set_hidden(json_t *layer, int hidden);
int fw_lottie_layer_hidden(const json_t *layer);
/* Add a rectangular "add" mask in layer coordinates. */
fw_err fw_lottie_layer_add_rect_mask(json_t *layer, double x0, double y0, double x1, double y1);

/* ---- properties -------------------------------------------------------- */

/* The layer's transform property, created when missing. */
json_t *fw_lottie_transform_prop(json_t *layer, fw_transform_prop which);
/* Make prop a static property holding value (stolen reference). */
void fw_lottie_prop_set_static(json_t *prop, json_t *value);
/* Add dx, dy to every value of a 2D/3D property (static or keyframed). */
void fw_lottie_prop_offset(json_t *prop, double dx, double dy);
/* The static value, or the first keyframe's; borrowed, may be NULL. */
json_t *fw_lottie_prop_value(json_t *prop);

/* ---- text -------------------------------------------------------------- */

/* Call fn on the text document of every keyframe of a text layer; returns
 * how many there were (0: not a text layer). */
typedef void (*fw_lottie_textdoc_fn)(json_t *textdoc, void *ctx);
int fw_lottie_text_each(json_t *layer, fw_lottie_textdoc_fn fn, void *ctx);
json_t *fw_lottie_text_first(json_t *layer);

typedef enum fw_text_field {
    FW_TEXT_STRING,   /* the text */
    FW_TEXT_FONT,     /* font name as in the font list */
    FW_TEXT_SIZE,
    FW_TEXT_FILL,     /* [r,g,b] 0..1 */
    FW_TEXT_STROKE,   /* [r,g,b] 0..1 */
    FW_TEXT_STROKE_WIDTH,
    FW_TEXT_TRACKING,
    FW_TEXT_LEADING,
    FW_TEXT_JUSTIFY,  /* 0 left, 1 right, 2 center, 3.. justify */
} fw_text_field;
const char *fw_lottie_text_key(fw_text_field field);

/* ---- colours ----------------------------------------------------------- */

/* Call fn on every fill colour property ("stroke": stroke colours) of the
 * shapes of a layer, groups included; returns how many. */
typedef void (*fw_lottie_prop_fn)(json_t *prop, void *ctx);
int fw_lottie_shape_fills_each(json_t *layer, int strokes, fw_lottie_prop_fn fn, void *ctx);
/* Stroke width properties of a layer's shapes. */
int fw_lottie_shape_stroke_widths_each(json_t *layer, fw_lottie_prop_fn fn, void *ctx);
const char *fw_lottie_solid_color(const json_t *layer); /* "#rrggbb" or NULL */
void fw_lottie_solid_set_color(json_t *layer, const char *hex);

/* ---- images ------------------------------------------------------------ */

double fw_lottie_image_width(const json_t *asset);
double fw_lottie_image_height(const json_t *asset);
const char *fw_lottie_image_folder(const json_t *asset); /* "u" */
const char *fw_lottie_image_file(const json_t *asset);   /* "p" */
int fw_lottie_image_embedded(const json_t *asset);
int fw_lottie_asset_is_image(const json_t *asset);
int fw_lottie_asset_is_precomp(const json_t *asset);
const char *fw_lottie_asset_id(const json_t *asset);
json_t *fw_lottie_asset_layers(json_t *asset);
/* A new image asset (caller owns it): folder ends with '/' or is "". */
json_t *fw_lottie_image_new(const char *id, double w, double h, const char *folder, const char *file,
                            int embedded);
void fw_lottie_image_set_location(json_t *asset, const char *folder, const char *file);
/* Sizes are written as whole pixels, which every engine accepts. */
void fw_lottie_image_set_size(json_t *asset, double w, double h);

/* Footage: an image asset that shows a video clip. how (stolen) says how
 * it plays ({"loop": bool, "asset": index, ...}); engines that know the
 * mark ask the caller for its pictures instead of reading its file. */
void fw_lottie_image_set_footage(json_t *asset, json_t *how);
json_t *fw_lottie_image_footage(const json_t *asset); /* how, or NULL */
int fw_lottie_footage_loops(const json_t *how);
int fw_lottie_footage_asset_index(const json_t *how); /* the job's asset that put it there */
/* Turn a solid layer into an image layer showing image asset id over the
 * same box. */
void fw_lottie_layer_make_image(json_t *layer, const char *id);
/* A new precomposition asset (caller owns it) of w x h holding one image
 * layer that shows image asset image_id from time 0 for as long as any
 * layer can show it. */
json_t *fw_lottie_footage_comp_new(const char *id, const char *image_id, double w, double h);

/* ---- expressions ---------------------------------------------------------- */

/* An After Effects expression as Lottie stores it: the value of its last
 * statement assigned to $bm_rt, as the Bodymovin exporter writes it (an
 * expression that already sets $bm_rt is kept). A last statement that is
 * not an expression (if, for, var, ...) is left alone, and the property
 * keeps its value. malloc'd, or NULL when out of memory. */
char *fw_lottie_expression_from_ae(const char *source);

/* ---- sound --------------------------------------------------------------- */

/* An asset that holds sound rather than a picture: an audio asset of ours
 * (marked) or a file with a sound's extension (.mp3, .wav, .aac, .m4a,
 * .ogg, .opus, .flac), as audio layers' assets are. */
int fw_lottie_asset_is_sound(const json_t *asset);
/* Mark an audio asset with how it plays (stolen): {"gain": dB, "fadeIn",
 * "fadeOut", "loop", "trimStart", "trimEnd", "asset": index}. */
void fw_lottie_sound_set_how(json_t *asset, json_t *how);
/* A new audio asset (caller owns it). */
json_t *fw_lottie_sound_asset_new(const char *id, const char *folder, const char *file);
/* A new audio layer (caller owns it) showing asset id from frame start to
 * frame end. */
json_t *fw_lottie_audio_layer_new(const char *name, const char *id, double start, double end);

/* A sound the document plays, placed on the output's timeline (seconds
 * from the document's in point). */
typedef struct fw_lottie_sound {
    char path[4096];
    char field[96];   /* "assets[2]" for a job's asset, "layer 'music'" for the template's own */
    double at, until, source_at, speed, gain_db, fade_in, fade_out, trim_start, trim_end;
    int loop, optional;
} fw_lottie_sound;

/* Every sound of the root composition, nested precomps included: audio
 * layers, and the sound of clips in layers (footage not muted). Timing
 * follows each layer's in and out points, start time and stretch through
 * the precomps above it; a time-remapped precomp's sounds are left out
 * (counted in *skipped). *sounds is malloc'd (free()). */
fw_err fw_lottie_sounds(json_t *doc, fw_lottie_sound **sounds, size_t *count, int *skipped, fw_error *err);

/* ---- slots (Lottie's "essential properties") --------------------------- */

/* Call fn on every property that names slot id (its "sid"); returns count.
 * key is the property's key in its parent ("c", "o", "d", ...). */
typedef void (*fw_lottie_slot_fn)(json_t *prop, const char *key, void *ctx);
int fw_lottie_slot_each(json_t *doc, const char *id, fw_lottie_slot_fn fn, void *ctx);
/* Every slot id in the document, in first-seen order (caller frees the
 * array with json_decref). */
json_t *fw_lottie_slot_ids(json_t *doc);
/* The slot's property in the root "slots" table, or NULL. */
json_t *fw_lottie_slot_value(json_t *doc, const char *id);

#endif
