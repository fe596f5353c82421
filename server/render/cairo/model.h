/*
 * model.h - the Lottie document as the Cairo engine holds it.
 *
 * A document is parsed once (model.c) into these structures: every
 * animatable value becomes an lt_prop (static value or keyframes, and the
 * source of its expression, if any), every shape item an lt_shape, every
 * layer an lt_layer. Frames are drawn from the model alone (draw.c); the
 * JSON tree is kept only for the parts other modules read themselves (text
 * documents). Everything lives in one arena owned by the lt_doc and goes
 * with it.
 *
 * Times in the model are frames, as Lottie stores them. Keyframe times of a
 * layer's properties are frames of the composition that holds the layer,
 * so a property is evaluated at that composition's frame; a layer's start
 * time ("st") and stretch ("sr") set the time of what is inside it: a
 * precomp layer shows its composition at (frame - st) / sr, unless time
 * remapping says otherwise (as lottie-web plays them).
 */
#ifndef FW_RENDER_CAIRO_MODEL_H
#define FW_RENDER_CAIRO_MODEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "server/render/cairo/path.h"
#include "server/util/error.h"

/* ---- the arena ------------------------------------------------------------------------------ */

typedef struct lt_arena_block lt_arena_block;
typedef struct lt_arena {
    lt_arena_block *head;
    size_t used_total; /* bytes handed out, for the loader's size limit */
    int oom;
} lt_arena;

void *lt_arena_alloc(lt_arena *a, size_t size); /* zeroed; NULL (and a->oom) on failure */
char *lt_arena_strdup(lt_arena *a, const char *s);
void lt_arena_free(lt_arena *a);

/* ---- animated values ------------------------------------------------------------------------ */

#define LT_EASE_DIMS 3 /* per-dimension easing is kept for up to three dimensions */

typedef struct lt_key {
    double t;      /* frame */
    int hold;      /* the value jumps at the next key */
    double *s;     /* dims values at this key */
    double *e;     /* value at the end of the segment (old exports' "e"); NULL: the next key's s */
    double ox[LT_EASE_DIMS], oy[LT_EASE_DIMS]; /* out handle of this key */
    double ix[LT_EASE_DIMS], iy[LT_EASE_DIMS]; /* in handle of the next key, as Lottie stores it here */
    int spatial;   /* position: to/ti tangents describe a curved motion path */
    double to[3], ti[3];
} lt_key;

struct lt_expr; /* owned by the expression module */

typedef struct lt_prop {
    int dims;         /* numbers per value: 1 scalar, 2-3 vector, 4 colour, n gradient */
    int nkeys;        /* 0: static */
    double *v;        /* static value, dims numbers (also the value before/after keys when animated) */
    lt_key *keys;
    const char *expr_src;  /* the expression text ("x"), or NULL */
    struct lt_expr *expr;  /* compiled by expr.c; NULL: evaluate keyframes */
    const char *sid;       /* slot id, or NULL */
} lt_prop;

/* A Bézier shape value as Lottie stores it: vertices and tangents relative to them. */
typedef struct lt_bez {
    int closed;
    int n;
    lt_pt *v, *i, *o;
} lt_bez;

typedef struct lt_shape_key {
    double t;
    int hold;
    lt_bez s;
    lt_bez e;   /* n == 0: the next key's s */
    double ox, oy, ix, iy;
} lt_shape_key;

typedef struct lt_path_prop {
    int nkeys;
    lt_bez v;           /* static value */
    lt_shape_key *keys;
    const char *expr_src;
    struct lt_expr *expr;
} lt_path_prop;

/* ---- transforms ----------------------------------------------------------------------------- */

typedef struct lt_transform {
    lt_prop a, p, s, r, o, sk, sa; /* anchor, position, scale %, rotation °, opacity %, skew, skew axis */
    int split;                     /* position given as separate x and y */
    lt_prop px, py;
    lt_prop rx, ry;                /* 3D rotations (drawn flat: only r/rz counts) */
    lt_prop so, eo;                /* repeater transforms: start and end opacity % */
    int present;
} lt_transform;

/* ---- shapes --------------------------------------------------------------------------------- */

typedef enum lt_shape_type {
    LT_SH_UNKNOWN = 0,
    LT_SH_GROUP,     /* gr */
    LT_SH_PATH,      /* sh */
    LT_SH_RECT,      /* rc */
    LT_SH_ELLIPSE,   /* el */
    LT_SH_STAR,      /* sr */
    LT_SH_FILL,      /* fl */
    LT_SH_STROKE,    /* st */
    LT_SH_GFILL,     /* gf */
    LT_SH_GSTROKE,   /* gs */
    LT_SH_TRANSFORM, /* tr */
    LT_SH_TRIM,      /* tm */
    LT_SH_REPEATER,  /* rp */
    LT_SH_ROUND,     /* rd */
    LT_SH_OFFSET,    /* op */
    LT_SH_MERGE,     /* mm */
    LT_SH_PUCKER,    /* pb */
    LT_SH_ZIGZAG,    /* zz */
    LT_SH_TWIST,     /* tw: read, not drawn */
} lt_shape_type;

typedef struct lt_dash {
    char kind; /* 'd' dash, 'g' gap, 'o' offset */
    lt_prop v;
} lt_dash;

typedef struct lt_shape {
    lt_shape_type type;
    const char *name;  /* "nm" */
    const char *match; /* "mn" */
    int hidden;
    int direction;     /* "d" (0 when absent): 3 reverses the drawing direction */
    int blend;         /* "bm" */

    /* group */
    struct lt_shape *items;
    int nitems;
    lt_transform tr; /* a "tr" item's or a repeater's transform (a group's is its last "tr" item) */

    /* geometry: path; rect p s r; ellipse p s; star p or ir os is r pt sy */
    lt_path_prop path;
    lt_prop p, s, r;
    lt_prop or_, ir, os, is, pt;
    int star_kind; /* 1 star, 2 polygon */

    /* paint: colour, opacity, width, caps (1 butt 2 round 3 square), joins (1 miter 2 round 3 bevel) */
    lt_prop c, o, w;
    int fill_rule; /* 1 non-zero, 2 even-odd */
    int cap, join;
    double miter;
    lt_dash *dashes;
    int ndashes;
    /* gradient: kind 1 linear 2 radial; start, end, highlight length %, highlight angle; colours */
    int grad_kind;
    lt_prop gs, ge, gh, ga;
    lt_prop g;       /* stops: gstops colour stops (offset r g b), then opacity stops (offset a) */
    int gstops;

    /* modifiers: trim s e o m; repeater c o m; round r; offset a(=s) lj ml; merge mode; pucker a; zigzag s r pt */
    lt_prop ts, te, to;
    int mode;         /* trim: 1 simultaneously 2 individually; repeater composite 1 above 2 below; merge mode */
    lt_prop copies, offset;
} lt_shape;

/* ---- masks and effects ---------------------------------------------------------------------- */

typedef struct lt_mask {
    char mode;     /* 'a' add 's' subtract 'i' intersect 'l' lighten 'd' darken 'f' difference 'n' none */
    int inverted;
    lt_path_prop path;
    lt_prop o;     /* opacity % */
    lt_prop x;     /* expansion px */
} lt_mask;

typedef struct lt_effect_value {
    int type;          /* 0 slider, 1 angle, 2 colour, 3 point, 4 checkbox, 6 ignored, 7 dropdown, 10 layer */
    const char *name;
    const char *match;
    lt_prop v;
} lt_effect_value;

typedef struct lt_effect {
    int type;          /* "ty": 20 tint, 21 fill, 22 stroke, 23 tritone, 25 drop shadow, 29 gaussian blur, 5 custom */
    const char *name;
    const char *match;
    int enabled;
    lt_effect_value *values;
    int nvalues;
} lt_effect;

/* ---- layers and compositions ---------------------------------------------------------------- */

typedef enum lt_layer_type {
    LT_LAYER_PRECOMP = 0,
    LT_LAYER_SOLID = 1,
    LT_LAYER_IMAGE = 2,
    LT_LAYER_NULL = 3,
    LT_LAYER_SHAPE = 4,
    LT_LAYER_TEXT = 5,
} lt_layer_type;

struct lt_comp;
struct lt_image;
struct lt_text;

typedef struct lt_layer {
    int type;              /* lt_layer_type; other numbers (audio, camera) are not drawn */
    const char *name;
    int ind;               /* "ind", or -1 */
    int parent_ind;        /* "parent", or -1 */
    struct lt_layer *parent;
    int index;             /* 1-based position in its composition (expressions' index) */
    double ip, op, st, sr; /* in point, out point, start time (frames), stretch */
    int hidden;
    int auto_orient;
    int blend;             /* "bm": 0 normal, 1 multiply, 2 screen, 3 overlay, ... 15 luminosity, 16 add */
    int matte_mode;        /* "tt": 0 none, 1 alpha, 2 alpha inverted, 3 luma, 4 luma inverted */
    int is_matte;          /* "td": this layer is only a matte for another */
    int matte_parent;      /* "tp": ind of the matte layer, or -1 (the layer above is the matte) */
    struct lt_layer *matte;/* resolved matte source, or NULL */
    lt_transform ks;
    lt_mask *masks;
    int nmasks;
    lt_effect *effects;
    int neffects;

    /* precomp */
    const char *ref_id;
    struct lt_comp *comp;
    double w, h;
    int has_time_remap;
    lt_prop tm; /* seconds */

    /* solid */
    double solid[3];       /* "sc" as 0..1 */
    double sw, sh;

    /* image */
    struct lt_image *image;

    /* shapes */
    lt_shape *shapes;
    int nshapes;

    /* text: the layer's JSON ("t") and what text.c prepared from it */
    json_t *text_json;
    json_t *layer_json; /* text layers: the whole layer (its masks carry a text path) */
    struct lt_text *text;

    void *cache;     /* owned by draw.c */
    int static_tree; /* set by draw.c: nothing in or above the layer changes from frame to frame */
} lt_layer;

typedef struct lt_comp {
    const char *id;    /* NULL for the root */
    const char *name;
    double w, h;
    double fr;         /* the asset's own frame rate, or the document's */
    lt_layer *layers;
    int nlayers;
    int visiting;      /* cycle guard while drawing */
} lt_comp;

/* The picture footage shows at seconds of its layer's time (see fw_engine_footage). */
typedef fw_err (*lt_picture_fn)(void *user, double seconds, const uint32_t **pixels, int *width, int *height,
                                size_t *stride, int64_t *serial, fw_error *err);

typedef struct lt_image {
    const char *id;
    double w, h;
    const char *path;  /* file path or data: URI, resolved */
    /* Pixels: decoded at load, or given by the caller frame by frame (premultiplied ARGB32). */
    void *surface;     /* cairo_surface_t *, owned by draw.c/image loading */
    int external;      /* set by lt_doc_set_image(): the caller refreshes the pixels */
    int footage;       /* the asset is a clip: pixels come from picture, never from the file */
    lt_picture_fn picture;
    void *picture_user;
    int64_t serial;    /* of the picture surface wraps */
} lt_image;

typedef struct lt_marker {
    const char *name;
    double t, dur;
} lt_marker;

typedef struct lt_doc {
    lt_arena arena;
    json_t *json;          /* the parsed document, kept for text.c */
    double w, h, fr, ip, op;
    lt_comp root;
    lt_comp *comps;        /* precomposition assets */
    int ncomps;
    lt_image *images;
    int nimages;
    lt_marker *markers;
    int nmarkers;
    const char *resource_dir;
    void *expr_env;        /* owned by expr.c */
    void *text_env;        /* owned by text.c */
    /* Counts of what the document uses that the engine does not draw, for inspect. */
    int unsupported;
    char unsupported_what[256];
} lt_doc;

/* ---- loading -------------------------------------------------------------------------------- */

/* Parse a document. Limits keep a hostile document bounded: nesting depth, counts and the arena's
 * size. FW_ERR_INVALID names the field. */
fw_err lt_doc_load(lt_doc **out, const char *json, size_t len, const char *resource_dir, fw_error *err);
void lt_doc_free(lt_doc **doc);

/* Parse one animatable property ({"a":..,"k":..}) of dims numbers into out (other modules use this
 * for what they read themselves, such as text animators). Missing or malformed: default values. */
void lt_prop_parse(lt_doc *doc, const json_t *j, int dims, const double *defaults, lt_prop *out);

/* Record that something is not drawn; the first few names are kept for inspect. */
void lt_doc_unsupported(lt_doc *doc, const char *what);

/* ---- evaluation (anim.c) -------------------------------------------------------------------- */

/* The value of p at frame t into out (p->dims numbers): the expression's result when it has one and
 * the expression module evaluates it, otherwise the keyframes. */
void lt_prop_eval(const lt_doc *doc, const lt_prop *p, double t, double *out);
/* The keyframes alone (an expression's `value`). */
void lt_prop_eval_keys(const lt_prop *p, double t, double *out);
double lt_prop_scalar(const lt_doc *doc, const lt_prop *p, double t);

/* A shape value at frame t, appended to path as absolute cubic contours. */
void lt_path_prop_eval(const lt_doc *doc, const lt_path_prop *p, double t, lt_path *out);
/* The keyframes alone, as a relative Bézier in scratch, whose arrays hold *cap vertices; returns the
 * vertex count, or minus the count needed when they are too small. */
int lt_path_prop_eval_bez(const lt_path_prop *p, double t, lt_bez *scratch, int *cap);

/* Cubic-bezier easing as After Effects exports it: progress x in 0..1 through handles (ox,oy)-(ix,iy). */
double lt_ease(double ox, double oy, double ix, double iy, double x);

/* Hooks set by the expression module when it is linked in and compiled something. */
typedef int (*lt_expr_eval_fn)(const lt_doc *doc, const lt_prop *p, double t, double *out);
typedef int (*lt_expr_path_fn)(const lt_doc *doc, const lt_path_prop *p, double t, lt_path *out);
extern lt_expr_eval_fn lt_expr_eval_hook;
extern lt_expr_path_fn lt_expr_path_hook;

#endif
