/*
 * assets.c - a job's assets applied to the Lottie document.
 *
 * Semantics follow Nexrender: assets find layers by exact name in the target
 * composition and change every layer of that name; "data" assets name After
 * Effects properties ("Source Text", "Transform.Position", "Color", ...);
 * "function" assets run the nx-* built-ins with their documented
 * parameters. Everything is applied to a copy that replaces the document
 * only when all assets succeeded.
 */
#include "server/template/assets.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "server/js/script.h"
#include "server/media/probe.h"
#include "server/template/lottie_doc.h"
#include "server/util/fetch.h"
#include "server/util/fs.h"

void fw_asset_options_init(fw_asset_options *options)
{
    options->work_dir = NULL;
    options->fetch.base_dir = NULL;
    options->fetch.timeout_ms = 30000;
    options->fetch.max_bytes = 64ull << 20;
    options->fetch.allow_local = 1;
    options->max_media_bytes = 4ull << 30;
    options->max_media_seconds = 3600;
    options->max_video_side = 4096;
    options->script_cpu_ms = 0;
    options->script_memory = 0;
}

#define MAX_TARGETS 256

typedef struct apply_ctx {
    json_t *doc;
    fw_lottie_comps comps;
    const char *composition;
    const fw_asset_options *options;
    char **files; /* written by this application, removed on failure */
    size_t file_count;
    size_t index;
    unsigned images_added;
    unsigned comps_added;
} apply_ctx;

typedef struct targets {
    json_t *items[MAX_TARGETS];
    size_t count;
    const fw_lottie_comp *comp;
} targets;

/* ---- values ------------------------------------------------------------ */

/* A colour as [r,g,b(,a)] in 0..1 or 0..255, or "#rgb"/"#rrggbb"/"#rrggbbaa". */
static int parse_color(const json_t *v, double rgba[4])
{
    rgba[3] = 1.0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        unsigned c[4] = {0, 0, 0, 255};
        size_t n;
        if (*s == '#')
            s++;
        n = strlen(s);
        for (size_t i = 0; i < n; i++)
            if (!isxdigit((unsigned char)s[i]))
                return 0;
        if (n == 3) {
            for (int i = 0; i < 3; i++) {
                sscanf((char[]){s[i], 0}, "%x", &c[i]);
                c[i] *= 17;
            }
        } else if (n == 6 || n == 8) {
            for (size_t i = 0; i < n / 2; i++)
                sscanf((char[]){s[2 * i], s[2 * i + 1], 0}, "%2x", &c[i]);
        } else {
            return 0;
        }
        for (int i = 0; i < 4; i++)
            rgba[i] = c[i] / 255.0;
        return 1;
    }
    if (json_is_array(v) && (json_array_size(v) == 3 || json_array_size(v) == 4)) {
        double scale = 1.0;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (!json_is_number(json_array_get(v, i)))
                return 0;
            if (json_number_value(json_array_get(v, i)) > 1.0)
                scale = 255.0;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            double x = json_number_value(json_array_get(v, i)) / scale;
            if (!(x >= 0 && x <= 1))
                return 0;
            rgba[i] = x;
        }
        return 1;
    }
    return 0;
}

static json_t *rgb_json(const double c[4]) { return json_pack("[f,f,f]", c[0], c[1], c[2]); }
static json_t *rgba_json(const double c[4]) { return json_pack("[f,f,f,f]", c[0], c[1], c[2], c[3]); }

static void hex_string(const double c[4], char hex[8])
{
    snprintf(hex, 8, "#%02x%02x%02x", (int)lround(c[0] * 255), (int)lround(c[1] * 255), (int)lround(c[2] * 255));
}

static int number_array(const json_t *v, size_t min, size_t max)
{
    size_t i;
    if (!json_is_array(v) || json_array_size(v) < min || json_array_size(v) > max)
        return 0;
    for (i = 0; i < json_array_size(v); i++)
        if (!json_is_number(json_array_get(v, i)))
            return 0;
    return 1;
}

/* ---- finding layers ---------------------------------------------------- */

static fw_err find_comp(apply_ctx *c, const json_t *asset, const json_t *params, const fw_lottie_comp **out,
                        fw_error *err)
{
    const char *field = "composition";
    const char *name = json_string_value(json_object_get(params, "composition"));
    if (name)
        field = "params.composition";
    else if ((name = json_string_value(json_object_get(asset, "composition"))) == NULL) {
        name = c->composition;
        field = NULL;
    }
    if (!(*out = fw_lottie_comps_find(&c->comps, name))) {
        char names[512];
        fw_lottie_comps_names(&c->comps, names, sizeof(names));
        return fw_error_set(err, FW_ERR_NOT_FOUND, field ? field : "composition",
                            "no composition '%s'; compositions: %s", name, names);
    }
    return FW_OK;
}

static fw_err find_targets(apply_ctx *c, const json_t *asset, const json_t *params, targets *t, fw_error *err)
{
    const char *field = "layerName";
    const json_t *name_v = json_object_get(params, "layerName");
    const json_t *index_v = json_object_get(params, "layerIndex");
    json_t *layer;
    size_t i;
    fw_err rc;
    if (name_v || index_v)
        field = name_v ? "params.layerName" : "params.layerIndex";
    else {
        name_v = json_object_get(asset, "layerName");
        index_v = json_object_get(asset, "layerIndex");
        field = name_v || !index_v ? "layerName" : "layerIndex";
    }
    if ((rc = find_comp(c, asset, params, &t->comp, err)))
        return rc;
    const char *name = json_string_value(name_v);
    if (!name && !json_is_integer(index_v))
        return fw_error_set(err, FW_ERR_INVALID, field, "a layer name (string) is required");
    t->count = 0;
    json_array_foreach(t->comp->layers, i, layer)
    {
        const char *ln = fw_lottie_layer_name(layer);
        int match = name ? (ln && strcmp(ln, name) == 0)
                         : fw_lottie_layer_index(layer) == (int)json_integer_value(index_v);
        if (match && t->count < MAX_TARGETS)
            t->items[t->count++] = layer;
    }
    if (!t->count) {
        char names[512];
        fw_lottie_layer_names(t->comp->layers, names, sizeof(names));
        if (name)
            return fw_error_set(err, FW_ERR_NOT_FOUND, field, "no layer '%s' in composition '%s'; layers: %s", name,
                                t->comp->name, names);
        return fw_error_set(err, FW_ERR_NOT_FOUND, field, "no layer with index %lld in composition '%s'; layers: %s",
                            (long long)json_integer_value(index_v), t->comp->name, names);
    }
    return FW_OK;
}

static fw_err wrong_layer(json_t *layer, const char *wanted, const char *field, fw_error *err)
{
    const char *name = fw_lottie_layer_name(layer), *type = fw_lottie_layer_type_name(layer);
    return fw_error_set(err, FW_ERR_INVALID, field, "layer '%s' is %s %s layer, not %s", name ? name : "",
                        type[0] && strchr("aeiou", type[0]) ? "an" : "a", type, wanted);
}

/* ---- text -------------------------------------------------------------- */

typedef struct text_edit {
    fw_text_field field;
    json_t *value; /* borrowed; copied into every keyframe */
} text_edit;

static void set_text_field(json_t *textdoc, void *ctx)
{
    text_edit *e = ctx;
    json_object_set_new(textdoc, fw_lottie_text_key(e->field), json_deep_copy(e->value));
}

static void text_set(json_t *layer, fw_text_field field, json_t *value)
{
    text_edit e = {field, value};
    fw_lottie_text_each(layer, set_text_field, &e);
    json_decref(value);
}

static int justification(const json_t *v)
{
    static const char *const names[] = {"left", "right", "center", "justify-last-left", "justify-last-right",
                                        "justify-last-center", "justify-all"};
    if (json_is_integer(v))
        return json_integer_value(v) >= 0 && json_integer_value(v) <= 6 ? (int)json_integer_value(v) : -1;
    for (int i = 0; i < 7; i++)
        if (json_is_string(v) && strcasecmp(json_string_value(v), names[i]) == 0)
            return i;
    return -1;
}

/* The text parameters of nx-text-params-set (and of data assets whose value
 * is a text document object). */
static fw_err text_params(json_t *layer, const json_t *params, fw_error *err)
{
    static const struct {
        const char *key;
        fw_text_field field;
        int kind; /* 0 string, 1 number, 2 colour, 3 justification */
    } known[] = {
        {"text", FW_TEXT_STRING, 0},         {"font", FW_TEXT_FONT, 0},
        {"fontSize", FW_TEXT_SIZE, 1},       {"fillColor", FW_TEXT_FILL, 2},
        {"strokeColor", FW_TEXT_STROKE, 2},  {"strokeWidth", FW_TEXT_STROKE_WIDTH, 1},
        {"tracking", FW_TEXT_TRACKING, 1},   {"leading", FW_TEXT_LEADING, 1},
        {"justification", FW_TEXT_JUSTIFY, 3},
    };
    const char *key;
    json_t *v;
    if (fw_lottie_layer_type(layer) != FW_LAYER_TEXT)
        return wrong_layer(layer, "a text layer", "layerName", err);
    json_object_foreach((json_t *)params, key, v)
    {
        size_t i;
        double rgba[4];
        for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            if (strcmp(key, known[i].key) == 0)
                break;
        if (i == sizeof(known) / sizeof(known[0]))
            continue; /* layerName, composition and the like */
        char field[64];
        snprintf(field, sizeof(field), "params.%s", key);
        switch (known[i].kind) {
        case 0:
            if (!json_is_string(v))
                return fw_error_set(err, FW_ERR_INVALID, field, "must be a string");
            text_set(layer, known[i].field, json_incref(v));
            break;
        case 1:
            if (!json_is_number(v))
                return fw_error_set(err, FW_ERR_INVALID, field, "must be a number");
            text_set(layer, known[i].field, json_real(json_number_value(v)));
            break;
        case 2:
            if (!parse_color(v, rgba))
                return fw_error_set(err, FW_ERR_INVALID, field,
                                    "must be a colour: [r,g,b] in 0..1 or 0..255, or \"#rrggbb\"");
            text_set(layer, known[i].field, rgb_json(rgba));
            break;
        default: {
            int j = justification(v);
            if (j < 0)
                return fw_error_set(err, FW_ERR_INVALID, field,
                                    "must be left, right, center, justify-last-left, justify-last-right, "
                                    "justify-last-center or justify-all");
            text_set(layer, known[i].field, json_integer(j));
        }
        }
    }
    return FW_OK;
}

/* ---- text fit ---------------------------------------------------------- */

/* A text asset's "fit" object (a gRPC client's textFit); NULL when none. */
static const json_t *text_fit_of(const json_t *asset)
{
    const json_t *fit = json_object_get(asset, "fit");
    if (!json_is_object(fit))
        fit = json_object_get(asset, "textFit");
    return json_is_object(fit) ? fit : NULL;
}

/* Each text document keeps the fit under "fw_fit" with the template's own
 * text ("sample"): for point text the room is the width that text took. A
 * later asset on the same layer keeps the first sample. */
static void set_fit(json_t *textdoc, void *ctx)
{
    const json_t *fit = ctx, *old = json_object_get(textdoc, "fw_fit");
    const char *mode = json_string_value(json_object_get(fit, "mode"));
    json_t *sample = json_object_get(old, "sample");
    if (!sample)
        sample = json_object_get(textdoc, "t");
    if (!mode || strcmp(mode, "none") == 0 || !json_is_string(sample)) {
        json_object_del(textdoc, "fw_fit");
        return;
    }
    json_t *rec = json_pack("{s:s, s:O}", "mode", mode, "sample", sample);
    const json_t *min = json_object_get(fit, "minSize"), *lines = json_object_get(fit, "maxLines");
    if (rec && json_is_number(min))
        json_object_set_new(rec, "minSize", json_real(json_number_value(min)));
    if (rec && json_is_integer(lines))
        json_object_set_new(rec, "maxLines", json_integer(json_integer_value(lines)));
    if (rec)
        json_object_set_new(textdoc, "fw_fit", rec);
}

static fw_err apply_fit(json_t *layer, const json_t *asset, fw_error *err)
{
    const json_t *fit = text_fit_of(asset);
    if (!fit)
        return FW_OK;
    if (fw_lottie_layer_type(layer) != FW_LAYER_TEXT)
        return wrong_layer(layer, "a text layer", "fit", err);
    fw_lottie_text_each(layer, set_fit, (void *)fit);
    return FW_OK;
}

/* ---- data assets ------------------------------------------------------- */

typedef enum prop_kind {
    P_SOURCE_TEXT, P_OPACITY, P_POSITION, P_SCALE, P_ROTATION, P_ANCHOR, P_FILL, P_STROKE, P_STROKE_WIDTH,
    P_FONT, P_FONT_SIZE, P_TRACKING, P_LEADING, P_UNKNOWN
} prop_kind;

/* "Transform.Position", "position", "Source_Text" -> one kind; only the
 * last dotted part counts, case, spaces, '_' and '-' are ignored. */
static prop_kind property_kind(const char *name)
{
    static const struct {
        const char *key;
        prop_kind kind;
    } names[] = {
        {"sourcetext", P_SOURCE_TEXT}, {"text", P_SOURCE_TEXT},      {"opacity", P_OPACITY},
        {"position", P_POSITION},      {"scale", P_SCALE},           {"rotation", P_ROTATION},
        {"zrotation", P_ROTATION},     {"anchorpoint", P_ANCHOR},    {"anchor", P_ANCHOR},
        {"color", P_FILL},             {"fillcolor", P_FILL},        {"fill", P_FILL},
        {"strokecolor", P_STROKE},     {"strokewidth", P_STROKE_WIDTH}, {"font", P_FONT},
        {"fontsize", P_FONT_SIZE},     {"tracking", P_TRACKING},     {"leading", P_LEADING},
    };
    char key[64];
    size_t n = 0;
    const char *dot = strrchr(name, '.');
    const char *p = dot && dot[1] ? dot + 1 : name;
    /* "Fill 1.Color" and "Stroke 1.Color" keep their meaning. */
    if (dot && strncasecmp(p, "color", 5) == 0 && strncasecmp(name, "stroke", 6) == 0 && !strchr(name, '/'))
        return P_STROKE;
    for (; *p && n + 1 < sizeof(key); p++)
        if (isalnum((unsigned char)*p))
            key[n++] = (char)tolower((unsigned char)*p);
    key[n] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(key, names[i].key) == 0)
            return names[i].kind;
    return P_UNKNOWN;
}

typedef struct color_edit {
    double rgba[4];
} color_edit;

static void set_fill_prop(json_t *prop, void *ctx) { fw_lottie_prop_set_static(prop, rgba_json(((color_edit *)ctx)->rgba)); }
static void set_width_prop(json_t *prop, void *ctx) { fw_lottie_prop_set_static(prop, json_real(*(double *)ctx)); }

static fw_err set_layer_color(json_t *layer, const json_t *value, int stroke, fw_error *err)
{
    color_edit e;
    char hex[8];
    if (!parse_color(value, e.rgba))
        return fw_error_set(err, FW_ERR_INVALID, "value", "must be a colour: [r,g,b(,a)] in 0..1 or 0..255, or \"#rrggbb\"");
    switch (fw_lottie_layer_type(layer)) {
    case FW_LAYER_TEXT:
        text_set(layer, stroke ? FW_TEXT_STROKE : FW_TEXT_FILL, rgb_json(e.rgba));
        return FW_OK;
    case FW_LAYER_SHAPE:
        if (!fw_lottie_shape_fills_each(layer, stroke, set_fill_prop, &e))
            return fw_error_set(err, FW_ERR_INVALID, "property", "layer '%s' has no %s to colour",
                                fw_lottie_layer_name(layer), stroke ? "stroke" : "fill");
        return FW_OK;
    case FW_LAYER_SOLID:
        if (stroke)
            break;
        hex_string(e.rgba, hex);
        fw_lottie_solid_set_color(layer, hex);
        return FW_OK;
    default:
        break;
    }
    return wrong_layer(layer, stroke ? "a text or shape layer" : "a text, shape or solid layer", "property", err);
}

static fw_err set_transform(json_t *layer, fw_transform_prop which, const json_t *value, fw_error *err)
{
    json_t *prop = fw_lottie_transform_prop(layer, which);
    if (which == FW_TR_OPACITY || which == FW_TR_ROTATION) {
        if (!json_is_number(value))
            return fw_error_set(err, FW_ERR_INVALID, "value", "must be a number");
        fw_lottie_prop_set_static(prop, json_real(json_number_value(value)));
        return FW_OK;
    }
    if (which == FW_TR_SCALE && json_is_number(value)) {
        double s = json_number_value(value);
        fw_lottie_prop_set_static(prop, json_pack("[f,f,f]", s, s, 100.0));
        return FW_OK;
    }
    if (!number_array(value, 2, 3))
        return fw_error_set(err, FW_ERR_INVALID, "value", "must be an array of 2 or 3 numbers");
    fw_lottie_prop_set_static(prop, json_deep_copy(value));
    return FW_OK;
}

static fw_err apply_data_to(json_t *layer, prop_kind kind, const json_t *value, fw_error *err)
{
    json_t *params;
    fw_err rc;
    switch (kind) {
    case P_SOURCE_TEXT:
        if (json_is_object(value))
            return text_params(layer, value, err);
        if (fw_lottie_layer_type(layer) != FW_LAYER_TEXT)
            return wrong_layer(layer, "a text layer", "layerName", err);
        if (!json_is_string(value) && !json_is_number(value))
            return fw_error_set(err, FW_ERR_INVALID, "value", "must be a string");
        if (json_is_number(value)) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%g", json_number_value(value));
            text_set(layer, FW_TEXT_STRING, json_string(buf));
        } else {
            text_set(layer, FW_TEXT_STRING, json_incref((json_t *)value));
        }
        return FW_OK;
    case P_OPACITY: return set_transform(layer, FW_TR_OPACITY, value, err);
    case P_POSITION: return set_transform(layer, FW_TR_POSITION, value, err);
    case P_SCALE: return set_transform(layer, FW_TR_SCALE, value, err);
    case P_ROTATION: return set_transform(layer, FW_TR_ROTATION, value, err);
    case P_ANCHOR: return set_transform(layer, FW_TR_ANCHOR, value, err);
    case P_FILL: return set_layer_color(layer, value, 0, err);
    case P_STROKE: return set_layer_color(layer, value, 1, err);
    case P_STROKE_WIDTH:
        if (!json_is_number(value))
            return fw_error_set(err, FW_ERR_INVALID, "value", "must be a number");
        if (fw_lottie_layer_type(layer) == FW_LAYER_TEXT) {
            text_set(layer, FW_TEXT_STROKE_WIDTH, json_real(json_number_value(value)));
            return FW_OK;
        } else {
            double w = json_number_value(value);
            if (fw_lottie_shape_stroke_widths_each(layer, set_width_prop, &w))
                return FW_OK;
        }
        return wrong_layer(layer, "a text layer or a shape layer with strokes", "property", err);
    default: {
        static const char *const keys[] = {[P_FONT] = "font", [P_FONT_SIZE] = "fontSize",
                                           [P_TRACKING] = "tracking", [P_LEADING] = "leading"};
        params = json_pack("{s:O}", keys[kind], (json_t *)value);
        rc = text_params(layer, params, err);
        if (rc && strncmp(err ? err->field : "", "params.", 7) == 0 && err)
            snprintf(err->field, sizeof(err->field), "value");
        json_decref(params);
        return rc;
    }
    }
}

/* ctx: the expression in Lottie's form (fw_lottie_expression_from_ae). */
static void set_expression(json_t *prop, void *ctx)
{
    json_object_set_new(prop, "x", json_string(ctx));
}

/* An After Effects expression on the property, evaluated by the engine
 * like the template's own (`value` is the property's value, or the asset's
 * value when it gives one too). */
static fw_err apply_expression_to(json_t *layer, prop_kind kind, const char *expression, fw_error *err)
{
    static const fw_transform_prop transforms[] = {[P_OPACITY] = FW_TR_OPACITY, [P_POSITION] = FW_TR_POSITION,
                                                   [P_SCALE] = FW_TR_SCALE, [P_ROTATION] = FW_TR_ROTATION,
                                                   [P_ANCHOR] = FW_TR_ANCHOR};
    switch (kind) {
    case P_OPACITY:
    case P_POSITION:
    case P_SCALE:
    case P_ROTATION:
    case P_ANCHOR:
        set_expression(fw_lottie_transform_prop(layer, transforms[kind]), (void *)expression);
        return FW_OK;
    case P_FILL:
    case P_STROKE:
        if (fw_lottie_shape_fills_each(layer, kind == P_STROKE, set_expression, (void *)expression))
            return FW_OK;
        return wrong_layer(layer, kind == P_STROKE ? "a shape layer with strokes" : "a shape layer with fills",
                           "property", err);
    case P_STROKE_WIDTH:
        if (fw_lottie_shape_stroke_widths_each(layer, set_expression, (void *)expression))
            return FW_OK;
        return wrong_layer(layer, "a shape layer with strokes", "property", err);
    default:
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "expression",
                            "expressions are evaluated on Opacity, Position, Scale, Rotation, Anchor Point, and on "
                            "shapes' Fill Color, Stroke Color and Stroke Width; for this property give a value");
    }
}

static fw_err apply_data(apply_ctx *c, const json_t *asset, fw_error *err)
{
    targets t;
    const char *property = json_string_value(json_object_get(asset, "property"));
    const json_t *value = json_object_get(asset, "value"), *expression_v = json_object_get(asset, "expression");
    const char *expression = json_string_value(expression_v);
    prop_kind kind;
    fw_err rc;
    if (expression_v && (!expression || !*expression))
        return fw_error_set(err, FW_ERR_INVALID, "expression", "must be the expression's JavaScript (a string)");
    if (expression && strlen(expression) > 64 * 1024)
        return fw_error_set(err, FW_ERR_LIMIT, "expression", "is %zu bytes; expressions may be 64 KiB at most",
                            strlen(expression));
    if (!property)
        return fw_error_set(err, FW_ERR_INVALID, "property", "a property name (string) is required, e.g. \"Source Text\"");
    if ((kind = property_kind(property)) == P_UNKNOWN)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "property",
                            "property '%s' is not supported; supported: Source Text, Opacity, Position, Scale, "
                            "Rotation, Anchor Point, Color, Fill Color, Stroke Color, Stroke Width, Font, "
                            "Font Size, Tracking, Leading",
                            property);
    if (!value && !expression)
        return fw_error_set(err, FW_ERR_INVALID, "value", "a value (or an expression) is required");
    if ((rc = find_targets(c, asset, NULL, &t, err)))
        return rc;
    char *lottie = expression ? fw_lottie_expression_from_ae(expression) : NULL;
    if (expression && !lottie)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    if (text_fit_of(asset) && kind != P_SOURCE_TEXT) {
        free(lottie);
        return fw_error_set(err, FW_ERR_INVALID, "fit", "applies to Source Text only, not to %s", property);
    }
    rc = FW_OK;
    for (size_t i = 0; i < t.count && !rc; i++)
        rc = apply_fit(t.items[i], asset, err);
    for (size_t i = 0; i < t.count && !rc; i++)
        if (value && (rc = apply_data_to(t.items[i], kind, value, err)) == FW_OK && lottie)
            rc = apply_expression_to(t.items[i], kind, lottie, err);
        else if (!value)
            rc = apply_expression_to(t.items[i], kind, lottie, err);
    free(lottie);
    return rc;
}

static fw_err apply_text(apply_ctx *c, const json_t *asset, fw_error *err)
{
    targets t;
    const json_t *value = json_object_get(asset, "value");
    fw_err rc;
    if (!json_is_string(value))
        return fw_error_set(err, FW_ERR_INVALID, "value", "the text (a string) is required");
    if ((rc = find_targets(c, asset, NULL, &t, err)))
        return rc;
    for (size_t i = 0; i < t.count; i++)
        if ((rc = apply_fit(t.items[i], asset, err)) || (rc = apply_data_to(t.items[i], P_SOURCE_TEXT, value, err)))
            return rc;
    return FW_OK;
}

/* ---- images ------------------------------------------------------------ */

static int remember_file(apply_ctx *c, const char *path)
{
    char **files = realloc(c->files, (c->file_count + 1) * sizeof(*files));
    if (!files)
        return -1;
    c->files = files;
    if (!(files[c->file_count] = strdup(path)))
        return -1;
    c->file_count++;
    return 0;
}

/* "https://x/y/logo.png?v=2" -> ".png"; "" when there is no short extension. */
static void url_extension(const char *src, char ext[8])
{
    const char *end = src + strcspn(src, "?#");
    const char *dot = end, *slash;
    ext[0] = '\0';
    while (dot > src && dot[-1] != '.' && dot[-1] != '/')
        dot--;
    slash = dot;
    if (dot <= src || dot[-1] != '.' || end - dot > 5 || end == dot)
        return;
    (void)slash;
    ext[0] = '.';
    size_t n = 1;
    for (const char *p = dot; p < end && n < 7; p++) {
        if (!isalnum((unsigned char)*p)) {
            ext[0] = '\0';
            return;
        }
        ext[n++] = (char)tolower((unsigned char)*p);
    }
    ext[n] = '\0';
}

/* How the new image sits in the old box. */
static fw_err place_image(json_t *layer, json_t *asset, double box_w, double box_h, int iw, int ih, const char *fit,
                          fw_error *err)
{
    double w = box_w, h = box_h, k;
    if (strcmp(fit, "fill") == 0) {
        /* stretched to the box: nothing moves */
    } else if (strcmp(fit, "contain") == 0 || strcmp(fit, "cover") == 0 || strcmp(fit, "none") == 0) {
        if (strcmp(fit, "none") == 0)
            k = 1.0;
        else if (strcmp(fit, "contain") == 0)
            k = fmin(box_w / iw, box_h / ih);
        else
            k = fmax(box_w / iw, box_h / ih);
        w = iw * k;
        h = ih * k;
        /* Keep the image centred on the old box: the image is drawn at
         * (0,0)-(w,h) in layer space, so moving the anchor by the overhang
         * moves the picture by minus that much. */
        double ox = (w - box_w) / 2, oy = (h - box_h) / 2;
        fw_lottie_prop_offset(fw_lottie_transform_prop(layer, FW_TR_ANCHOR), ox, oy);
        if (w > box_w + 1e-6 || h > box_h + 1e-6)
            if (fw_lottie_layer_add_rect_mask(layer, fmax(ox, 0), fmax(oy, 0), fmax(ox, 0) + fmin(w, box_w),
                                              fmax(oy, 0) + fmin(h, box_h)) != FW_OK)
                return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory adding a mask.");
    } else {
        return fw_error_set(err, FW_ERR_INVALID, "fit", "fit '%s' is not one of fill, contain, cover, none", fit);
    }
    fw_lottie_image_set_size(asset, w, h);
    return FW_OK;
}

static fw_err apply_image(apply_ctx *c, const json_t *asset, fw_error *err)
{
    const char *src = json_string_value(json_object_get(asset, "src"));
    const json_t *fit_v = json_object_get(asset, "fit");
    const char *fit = fit_v ? json_string_value(fit_v) : "fill";
    char path[PATH_MAX], folder[PATH_MAX];
    const char *file;
    unsigned char head[65536], *data = NULL;
    size_t size = 0;
    int iw, ih;
    const char *format;
    targets t;
    fw_err rc;

    if (!src || !*src)
        return fw_error_set(err, FW_ERR_INVALID, "src", "the image's src (a path or URL) is required");
    if (!fit)
        return fw_error_set(err, FW_ERR_INVALID, "fit", "must be one of fill, contain, cover, none");
    if ((rc = find_targets(c, asset, NULL, &t, err)))
        return rc;
    for (size_t i = 0; i < t.count; i++)
        if (fw_lottie_layer_type(t.items[i]) != FW_LAYER_IMAGE)
            return wrong_layer(t.items[i], "an image layer", "layerName", err);

    if (fw_fetch_is_data_url(src)) {
        if ((rc = fw_fetch_data_url(src, c->options->fetch.max_bytes, &data, &size, "src", err)))
            return rc;
        rc = fw_image_probe(data, size, &iw, &ih, &format);
        free(data);
        folder[0] = '\0';
        file = src;
    } else {
        if (fw_fetch_is_remote(src)) {
            char ext[8];
            if (!c->options->work_dir)
                return fw_error_set(err, FW_ERR_INVALID, "src", "downloading an image needs a job folder");
            url_extension(src, ext);
            snprintf(path, sizeof(path), "%s/image-%zu%s", c->options->work_dir, c->index, ext);
            if ((rc = fw_fetch(src, path, &c->options->fetch, "src", err)))
                return rc;
            if (remember_file(c, path) != 0)
                return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
        } else if ((rc = fw_fetch_local_path(src, &c->options->fetch, path, sizeof(path), "src", err))) {
            return rc;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, head, sizeof(head)) : -1;
        if (fd >= 0)
            close(fd);
        if (n < 0)
            return fw_error_set(err, FW_ERR_IO, "src", "cannot read the image '%s'", src);
        rc = fw_image_probe(head, (size_t)n, &iw, &ih, &format);
        char *slash = strrchr(path, '/');
        snprintf(folder, sizeof(folder), "%.*s/", (int)(slash - path), path);
        file = slash + 1;
    }
    if (rc)
        return fw_error_set(err, rc, "src", "'%s' is not a PNG, JPEG, WebP or GIF image with a readable size",
                            fw_fetch_is_data_url(src) ? "the data: URL" : src);

    for (size_t i = 0; i < t.count; i++) {
        json_t *layer = t.items[i];
        json_t *old = fw_lottie_asset_find(c->doc, fw_lottie_layer_source_id(layer));
        double box_w = old ? fw_lottie_image_width(old) : 0, box_h = old ? fw_lottie_image_height(old) : 0;
        char id[64];
        if (box_w <= 0 || box_h <= 0) {
            box_w = iw;
            box_h = ih;
        }
        /* A new asset per layer: other layers showing the old image keep it. */
        do
            snprintf(id, sizeof(id), "fw_image_%u", c->images_added++);
        while (fw_lottie_asset_find(c->doc, id));
        json_t *image = fw_lottie_image_new(id, box_w, box_h, folder, file, folder[0] == '\0');
        if (!image)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
        if ((rc = place_image(layer, image, box_w, box_h, iw, ih, fit, err))) {
            json_decref(image);
            return rc;
        }
        if (!fw_lottie_assets(c->doc))
            json_object_set_new(c->doc, "assets", json_array());
        json_array_append_new(fw_lottie_assets(c->doc), image);
        fw_lottie_layer_set_source_id(layer, id);
    }
    return FW_OK;
}

/* A number field in seconds (or dB) that must be >= min; *out keeps its
 * default when the field is absent. "a" or "b" may name the same value. */
static fw_err number_field(const json_t *asset, const char *a, const char *b, double min, double *out,
                           fw_error *err)
{
    const char *key = json_object_get(asset, a) ? a : b;
    const json_t *v = key ? json_object_get(asset, key) : NULL;
    if (!v || json_is_null(v))
        return FW_OK;
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return fw_error_set(err, FW_ERR_INVALID, key, "must be a number");
    if (json_number_value(v) < min)
        return fw_error_set(err, FW_ERR_INVALID, key, "is %g; it must be at least %g", json_number_value(v), min);
    *out = json_number_value(v);
    return FW_OK;
}

/* ---- video ------------------------------------------------------------- */

/* src as a file: downloaded into the job folder (named stem-INDEX.ext) or
 * found where it is; data: URLs are written out. */
static fw_err media_file(apply_ctx *c, const char *src, const char *stem, char *path, size_t size, fw_error *err)
{
    fw_fetch_options fetch = c->options->fetch;
    fw_err rc;

    fetch.max_bytes = c->options->max_media_bytes;
    /* A long clip takes longer than a picture to download. */
    if (fetch.timeout_ms > 0 && fetch.timeout_ms < 600000)
        fetch.timeout_ms = 600000;
    if (fw_fetch_is_remote(src) || fw_fetch_is_data_url(src)) {
        char ext[8];
        if (!c->options->work_dir)
            return fw_error_set(err, FW_ERR_INVALID, "src", "downloading a %s needs a job folder", stem);
        url_extension(fw_fetch_is_data_url(src) ? "" : src, ext);
        snprintf(path, size, "%s/%s-%zu%s", c->options->work_dir, stem, c->index, ext);
        if ((rc = fw_fetch(src, path, &fetch, "src", err)))
            return rc;
        if (remember_file(c, path) != 0)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
        return FW_OK;
    }
    return fw_fetch_local_path(src, &fetch, path, size, "src", err);
}

static fw_err probe_clip(apply_ctx *c, const char *src, const char *path, fw_media_info *info, fw_error *err)
{
    fw_err rc = fw_media_probe(path, info, err);
    if (rc) {
        if (err) {
            char why[sizeof(err->message)];
            snprintf(why, sizeof(why), "%s", err->message);
            fw_error_set(err, rc, "src", "'%s' is not a video FFmpeg can play: %s",
                         fw_fetch_is_data_url(src) ? "the data: URL" : src, why);
        }
        return rc;
    }
    if (info->width <= 0 || info->height <= 0 || info->duration <= 0)
        return fw_error_set(err, FW_ERR_INVALID, "src", "'%s' has no moving pictures (a %s %dx%d)",
                            fw_fetch_is_data_url(src) ? "the data: URL" : src, info->codec, info->width, info->height);
    if (info->width > c->options->max_video_side || info->height > c->options->max_video_side)
        return fw_error_set(err, FW_ERR_LIMIT, "src", "the clip is %dx%d; clips may be at most %d pixels on a side",
                            info->width, info->height, c->options->max_video_side);
    if (info->duration > c->options->max_media_seconds)
        return fw_error_set(err, FW_ERR_LIMIT, "src", "the clip lasts %.0f s; clips may last at most %.0f s",
                            info->duration, c->options->max_media_seconds);
    return FW_OK;
}

/* A new id for an asset: prefix_N, unused in the document. */
static void new_asset_id(apply_ctx *c, const char *prefix, unsigned *counter, char *id, size_t size)
{
    do
        snprintf(id, size, "%s_%u", prefix, (*counter)++);
    while (fw_lottie_asset_find(c->doc, id));
}

static fw_err add_asset(apply_ctx *c, json_t *asset, fw_error *err)
{
    if (!asset)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    if (!fw_lottie_assets(c->doc))
        json_object_set_new(c->doc, "assets", json_array());
    json_array_append_new(fw_lottie_assets(c->doc), asset);
    return FW_OK;
}

/* The clip goes into an image layer (in its image's box), a precomp layer
 * (a composition of the precomp's size showing the clip, so the precomp's
 * timing and time remapping drive it) or a solid (as an image over the
 * solid's box). Each target gets its own image asset. */
static fw_err apply_video(apply_ctx *c, const json_t *asset, fw_error *err)
{
    const char *src = json_string_value(json_object_get(asset, "src"));
    const json_t *fit_v = json_object_get(asset, "fit"), *loop_v = json_object_get(asset, "loop");
    const json_t *muted_v = json_object_get(asset, "muted");
    const char *fit = fit_v ? json_string_value(fit_v) : "fill";
    char path[PATH_MAX];
    fw_media_info info;
    targets t;
    fw_err rc;

    if (!src || !*src)
        return fw_error_set(err, FW_ERR_INVALID, "src", "the clip's src (a path or URL) is required");
    if (!fit)
        return fw_error_set(err, FW_ERR_INVALID, "fit", "must be one of fill, contain, cover, none");
    if (loop_v && !json_is_boolean(loop_v))
        return fw_error_set(err, FW_ERR_INVALID, "loop", "must be true or false");
    if (muted_v && !json_is_boolean(muted_v))
        return fw_error_set(err, FW_ERR_INVALID, "muted", "must be true or false");
    double gain = 0;
    if ((rc = number_field(asset, "gain", "volume", -1e308, &gain, err)))
        return rc;
    if ((rc = find_targets(c, asset, NULL, &t, err)))
        return rc;
    for (size_t i = 0; i < t.count; i++) {
        fw_layer_type type = fw_lottie_layer_type(t.items[i]);
        if (type != FW_LAYER_IMAGE && type != FW_LAYER_PRECOMP && type != FW_LAYER_SOLID)
            return wrong_layer(t.items[i], "an image, precomp or solid layer (which can show a clip)", "layerName",
                               err);
    }
    if ((rc = media_file(c, src, "video", path, sizeof(path), err)) || (rc = probe_clip(c, src, path, &info, err)))
        return rc;

    const char *slash = strrchr(path, '/');
    char folder[PATH_MAX];
    snprintf(folder, sizeof(folder), "%.*s/", slash ? (int)(slash - path) : 0, path);
    for (size_t i = 0; i < t.count; i++) {
        json_t *layer = t.items[i], *image, *how;
        fw_layer_type type = fw_lottie_layer_type(layer);
        double box_w, box_h;
        char id[64];

        if (type == FW_LAYER_IMAGE) {
            json_t *old = fw_lottie_asset_find(c->doc, fw_lottie_layer_source_id(layer));
            box_w = old ? fw_lottie_image_width(old) : 0;
            box_h = old ? fw_lottie_image_height(old) : 0;
        } else {
            box_w = fw_lottie_layer_width(layer);
            box_h = fw_lottie_layer_height(layer);
        }
        if (box_w <= 0 || box_h <= 0) {
            box_w = info.width;
            box_h = info.height;
        }
        new_asset_id(c, "fw_video", &c->images_added, id, sizeof(id));
        if (!(image = fw_lottie_image_new(id, box_w, box_h, folder, slash ? slash + 1 : path, 0)))
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
        how = json_pack("{s:b,s:b,s:i,s:f}", "loop", json_is_true(loop_v), "muted", json_is_true(muted_v), "asset",
                        (int)c->index, "gain", gain);
        fw_lottie_image_set_footage(image, how);
        if (type == FW_LAYER_PRECOMP) {
            char comp_id[64];
            new_asset_id(c, "fw_video_comp", &c->comps_added, comp_id, sizeof(comp_id));
            json_t *comp = fw_lottie_footage_comp_new(comp_id, id, box_w, box_h);
            json_t *inner = comp ? json_array_get(fw_lottie_asset_layers(comp), 0) : NULL;
            if (!inner || (rc = place_image(inner, image, box_w, box_h, info.width, info.height, fit, err)) ||
                (rc = add_asset(c, comp, err))) {
                json_decref(image);
                if (!inner) {
                    json_decref(comp);
                    return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
                }
                return rc;
            }
            fw_lottie_layer_set_source_id(layer, comp_id);
        } else {
            if ((rc = place_image(layer, image, box_w, box_h, info.width, info.height, fit, err))) {
                json_decref(image);
                return rc;
            }
            if (type == FW_LAYER_SOLID)
                fw_lottie_layer_make_image(layer, id);
            else
                fw_lottie_layer_set_source_id(layer, id);
        }
        if ((rc = add_asset(c, image, err)))
            return rc;
    }
    return FW_OK;
}

/* ---- audio ------------------------------------------------------------- */

/* How a sound plays, from the asset's fields, for the document's mark. */
static fw_err sound_how(apply_ctx *c, const json_t *asset, double source_length, json_t **out, fw_error *err)
{
    double gain = 0, fade_in = 0, fade_out = 0, trim_start = 0, trim_end = 0;
    const json_t *trim = json_object_get(asset, "trim"), *loop = json_object_get(asset, "loop");
    fw_err rc;

    *out = NULL;
    if ((rc = number_field(asset, "gain", "volume", -1e308, &gain, err)) ||
        (rc = number_field(asset, "fadeIn", NULL, 0, &fade_in, err)) ||
        (rc = number_field(asset, "fadeOut", NULL, 0, &fade_out, err)))
        return rc;
    if (gain > 24)
        return fw_error_set(err, FW_ERR_INVALID, json_object_get(asset, "gain") ? "gain" : "volume",
                            "is %g dB; at most +24 dB", gain);
    if (loop && !json_is_boolean(loop))
        return fw_error_set(err, FW_ERR_INVALID, "loop", "must be true or false");
    if (json_is_number(trim)) {
        trim_start = json_number_value(trim);
    } else if (json_is_array(trim) && json_array_size(trim) == 2 && json_is_number(json_array_get(trim, 0)) &&
               json_is_number(json_array_get(trim, 1))) {
        trim_start = json_number_value(json_array_get(trim, 0));
        trim_end = json_number_value(json_array_get(trim, 1));
        if (trim_end <= trim_start)
            return fw_error_set(err, FW_ERR_INVALID, "trim", "in [from, to], to must come after from; got [%g, %g]",
                                trim_start, trim_end);
    } else if (trim && !json_is_null(trim)) {
        return fw_error_set(err, FW_ERR_INVALID, "trim", "must be seconds to skip, or [from, to] in seconds");
    }
    if (trim_start < 0)
        return fw_error_set(err, FW_ERR_INVALID, "trim", "cannot start before 0 s");
    if (source_length > 0 && trim_start >= source_length)
        return fw_error_set(err, FW_ERR_INVALID, "trim", "starts at %g s but the sound lasts %.3f s", trim_start,
                            source_length);
    *out = json_pack("{s:f,s:f,s:f,s:b,s:f,s:f,s:i}", "gain", gain, "fadeIn", fade_in, "fadeOut", fade_out, "loop",
                     json_is_true(loop), "trimStart", trim_start, "trimEnd", trim_end, "asset", (int)c->index);
    return *out ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
}

/* An audio asset: with a layerName it replaces the sound of those audio
 * layers (start delays it within the layer); without one it is a bed under
 * the whole composition from `start` on. */
static fw_err apply_audio(apply_ctx *c, const json_t *asset, fw_error *err)
{
    const char *src = json_string_value(json_object_get(asset, "src"));
    const int by_layer = json_object_get(asset, "layerName") || json_object_get(asset, "layerIndex");
    double start = 0, length = 0, fr = fw_lottie_frame_rate(c->doc);
    int rate, channels;
    char path[PATH_MAX], folder[PATH_MAX], id[64];
    const fw_lottie_comp *comp = NULL;
    targets t = {0};
    json_t *how = NULL;
    fw_err rc;

    if (!src || !*src)
        return fw_error_set(err, FW_ERR_INVALID, "src", "the sound's src (a path or URL) is required");
    if ((rc = number_field(asset, "start", "offset", 0, &start, err)))
        return rc;
    if (by_layer) {
        if ((rc = find_targets(c, asset, NULL, &t, err)))
            return rc;
        for (size_t i = 0; i < t.count; i++)
            if (fw_lottie_layer_type(t.items[i]) != FW_LAYER_AUDIO)
                return wrong_layer(t.items[i], "an audio layer (leave layerName out for music under everything)",
                                   "layerName", err);
    } else if ((rc = find_comp(c, asset, NULL, &comp, err))) {
        return rc;
    }
    if ((rc = media_file(c, src, "audio", path, sizeof(path), err)))
        return rc;
    if ((rc = fw_media_probe_sound(path, &length, &rate, &channels, err))) {
        if (err) {
            char why[sizeof(err->message)];
            snprintf(why, sizeof(why), "%s", err->message);
            fw_error_set(err, rc, "src", "'%s' is not a sound FFmpeg can play: %s",
                         fw_fetch_is_data_url(src) ? "the data: URL" : src, why);
        }
        return rc;
    }
    if (length > c->options->max_media_seconds)
        return fw_error_set(err, FW_ERR_LIMIT, "src", "the sound lasts %.0f s; sounds may last at most %.0f s", length,
                            c->options->max_media_seconds);
    if ((rc = sound_how(c, asset, length, &how, err)))
        return rc;

    const char *slash = strrchr(path, '/');
    snprintf(folder, sizeof(folder), "%.*s/", slash ? (int)(slash - path) : 0, path);
    new_asset_id(c, "fw_audio", &c->images_added, id, sizeof(id));
    json_t *sound = fw_lottie_sound_asset_new(id, folder, slash ? slash + 1 : path);
    if (!sound) {
        json_decref(how);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    }
    fw_lottie_sound_set_how(sound, how);
    if ((rc = add_asset(c, sound, err)))
        return rc;
    if (by_layer) {
        for (size_t i = 0; i < t.count; i++) {
            json_t *layer = t.items[i];
            double st = fw_lottie_layer_start_time(layer) + start * fr;
            fw_lottie_layer_set_source_id(layer, id);
            fw_lottie_layer_set_timing(layer, fmax(fw_lottie_layer_in_point(layer), st),
                                       fw_lottie_layer_out_point(layer), st);
        }
        return FW_OK;
    }
    double from = comp->is_root ? fw_lottie_in_point(c->doc) : 0;
    double to = comp->is_root ? fw_lottie_out_point(c->doc) : 1e8;
    json_t *layer = fw_lottie_audio_layer_new(id, id, from + start * fr, to);
    if (!layer || json_array_append_new(comp->layers, layer) != 0)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    return FW_OK;
}

/* ---- essential properties (slots) --------------------------------------- */

typedef struct slot_edit {
    const json_t *value;
    fw_err rc;
    fw_error *err;
    json_t *applied; /* the last property value written, for the slot table */
} slot_edit;

static void set_slot_prop(json_t *prop, const char *key, void *ctx)
{
    slot_edit *e = ctx;
    json_t *k = json_object_get(prop, "k");
    double rgba[4];
    if (e->rc)
        return;
    if (fw_lottie_asset_is_image(prop)) {
        e->rc = fw_error_set(e->err, FW_ERR_UNSUPPORTED, "value", "image slots are not supported yet; use an image asset");
        return;
    }
    if (json_is_array(k) && json_is_object(json_object_get(json_array_get(k, 0), "s")) &&
        json_is_string(json_object_get(json_object_get(json_array_get(k, 0), "s"), "t"))) {
        size_t i;
        json_t *key_frame;
        if (!json_is_string(e->value)) {
            e->rc = fw_error_set(e->err, FW_ERR_INVALID, "value", "a text slot takes a string");
            return;
        }
        json_array_foreach(k, i, key_frame)
            json_object_set_new(json_object_get(key_frame, "s"), "t", json_deep_copy(e->value));
        e->applied = k;
        return;
    }
    if (strcmp(key, "c") == 0 || strcmp(key, "sc") == 0 || strcmp(key, "fc") == 0) {
        if (!parse_color(e->value, rgba)) {
            e->rc = fw_error_set(e->err, FW_ERR_INVALID, "value", "a colour slot takes [r,g,b] or \"#rrggbb\"");
            return;
        }
        fw_lottie_prop_set_static(prop, rgba_json(rgba));
    } else if (json_is_number(e->value) || number_array(e->value, 1, 4)) {
        fw_lottie_prop_set_static(prop, json_deep_copy(e->value));
    } else {
        e->rc = fw_error_set(e->err, FW_ERR_INVALID, "value", "this slot takes a number or an array of numbers");
        return;
    }
    e->applied = json_object_get(prop, "k");
}

static fw_err apply_slot(apply_ctx *c, const char *id, const json_t *value, fw_error *err)
{
    slot_edit e = {value, FW_OK, err, NULL};
    json_t *table = fw_lottie_slot_value(c->doc, id);
    int n = fw_lottie_slot_each(c->doc, id, set_slot_prop, &e);
    if (e.rc)
        return e.rc;
    if (!n && !table) {
        json_t *ids = fw_lottie_slot_ids(c->doc), *v;
        char names[512] = "";
        size_t i;
        json_array_foreach(ids, i, v)
        {
            size_t len = strlen(names);
            snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "", json_string_value(v));
        }
        json_decref(ids);
        return fw_error_set(err, FW_ERR_NOT_FOUND, "value", "no slot '%s' in the template; slots: %s", id,
                            names[0] ? names : "(none)");
    }
    /* Engines that read the slot table see the value there too. */
    if (table) {
        double rgba[4];
        json_t *k = e.applied ? json_deep_copy(e.applied)
                    : parse_color(value, rgba) ? rgba_json(rgba)
                                                : json_deep_copy(value);
        fw_lottie_prop_set_static(table, k);
    }
    return FW_OK;
}

static fw_err apply_essential(apply_ctx *c, const json_t *asset, fw_error *err)
{
    const json_t *value = json_object_get(asset, "value");
    const char *layer = json_string_value(json_object_get(asset, "layerName"));
    const char *key;
    json_t *v;
    fw_err rc;
    if (layer)
        return apply_slot(c, layer, value, err);
    if (!json_is_object(value))
        return fw_error_set(err, FW_ERR_INVALID, "value", "an object mapping slot ids to values is required");
    json_object_foreach((json_t *)value, key, v)
    {
        if ((rc = apply_slot(c, key, v, err))) {
            char field[FW_ERROR_FIELD_MAX];
            snprintf(field, sizeof(field), "value.%s", key);
            if (err)
                snprintf(err->field, sizeof(err->field), "%s", field);
            return rc;
        }
    }
    return FW_OK;
}

/* ---- static files ------------------------------------------------------ */

static fw_err apply_static(apply_ctx *c, const json_t *asset, fw_error *err)
{
    const char *src = json_string_value(json_object_get(asset, "src"));
    const char *name = json_string_value(json_object_get(asset, "name"));
    char base[256], dest[PATH_MAX];
    fw_err rc;
    if (!src || !*src)
        return fw_error_set(err, FW_ERR_INVALID, "src", "the file's src (a path or URL) is required");
    if (!c->options->work_dir)
        return fw_error_set(err, FW_ERR_INVALID, "src", "static assets need a job folder");
    if (!name) {
        if (fw_fetch_is_data_url(src))
            return fw_error_set(err, FW_ERR_INVALID, "name", "a data: URL needs a file name in 'name'");
        name = fw_fetch_basename(src, base, sizeof(base));
    }
    if (!*name || strchr(name, '/') || strchr(name, '\\') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return fw_error_set(err, FW_ERR_INVALID, "name", "'%s' is not a plain file name", name);
    snprintf(dest, sizeof(dest), "%s/%s", c->options->work_dir, name);
    if ((rc = fw_fetch(src, dest, &c->options->fetch, "src", err)))
        return rc;
    return remember_file(c, dest) ? fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.") : FW_OK;
}

/* ---- scripts ------------------------------------------------------------ */

/* The script's source: inline "value", a data: URL, or a file or URL fetched into the job folder
 * (and removed again: it is not an output). */
static fw_err script_source(apply_ctx *c, const json_t *asset, char **out, fw_error *err)
{
    const char *value = json_string_value(json_object_get(asset, "value"));
    const char *src = json_string_value(json_object_get(asset, "src"));
    char path[PATH_MAX];
    size_t len;
    fw_err rc;

    if (value) {
        *out = strdup(value);
        return *out ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    }
    if (!src || !*src)
        return fw_error_set(err, FW_ERR_INVALID, "src", "a script asset needs its code in 'value' or a URL in 'src'");
    if (fw_fetch_is_data_url(src)) {
        unsigned char *data;
        if ((rc = fw_fetch_data_url(src, FW_SCRIPT_MAX_SOURCE, &data, &len, "src", err)))
            return rc;
        *out = realloc(data, len + 1);
        if (!*out) {
            free(data);
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
        }
        (*out)[len] = '\0';
    } else {
        fw_fetch_options fetch = c->options->fetch;
        if (!c->options->work_dir)
            return fw_error_set(err, FW_ERR_INVALID, "src", "script files need a job folder");
        snprintf(path, sizeof(path), "%s/.script-%zu.js", c->options->work_dir, c->index);
        fetch.max_bytes = FW_SCRIPT_MAX_SOURCE;
        if ((rc = fw_fetch(src, path, &fetch, "src", err)))
            return rc;
        *out = fw_read_file(path, FW_SCRIPT_MAX_SOURCE, &len, err);
        unlink(path);
        if (!*out)
            return err ? err->code : FW_ERR_IO;
    }
    if (strlen(*out) != len) {
        free(*out);
        return fw_error_set(err, FW_ERR_INVALID, "src", "the script contains a NUL byte");
    }
    return FW_OK;
}

static fw_err apply_script(apply_ctx *c, const json_t *asset, fw_error *err)
{
    const fw_lottie_comp *comp;
    fw_script_input in = {0};
    fw_script_limits limits = {c->options->script_cpu_ms, c->options->script_memory};
    char *source = NULL;
    const char *field = json_object_get(asset, "value") ? "value" : "src";
    fw_err rc;

    if ((rc = find_comp(c, asset, NULL, &comp, err)) || (rc = script_source(c, asset, &source, err)))
        return rc;
    in.source = source;
    in.asset = asset;
    in.composition = comp->name;
    in.comp_asset = -1;
    if (comp->asset) {
        const json_t *a;
        size_t i;
        json_array_foreach(fw_lottie_assets(c->doc), i, a)
        if (a == comp->asset)
            in.comp_asset = (int)i;
    }
    rc = fw_script_run(&c->doc, &in, &limits, err);
    free(source);
    if (rc == FW_OK) {
        /* The document is new: its compositions are listed again, and the job's must still be there. */
        fw_lottie_comps_clear(&c->comps);
        rc = fw_lottie_comps_list(c->doc, &c->comps, err);
    }
    if (rc) {
        fw_error_prefix_field(err, "%s", field);
        return rc;
    }
    if (!fw_lottie_comps_find(&c->comps, c->composition))
        return fw_error_set(err, FW_ERR_INVALID, field, "the script removed composition '%s'", c->composition);
    return FW_OK;
}

/* ---- functions (nx-*) -------------------------------------------------- */

static const json_t *param(const json_t *asset, const char *key)
{
    const json_t *v = json_object_get(json_object_get(asset, "params"), key);
    return v ? v : json_object_get(asset, key);
}

static fw_err seconds_param(const json_t *asset, double *out, fw_error *err)
{
    const json_t *v = param(asset, "value");
    if (!json_is_number(v) || json_number_value(v) < 0)
        return fw_error_set(err, FW_ERR_INVALID, json_object_get(json_object_get(asset, "params"), "value") ? "params.value" : "value",
                            "a time in seconds (a number, at least 0) is required");
    *out = json_number_value(v);
    return FW_OK;
}

static void remove_layer(json_t *layers, json_t *layer)
{
    size_t i;
    json_t *other;
    int index = fw_lottie_layer_index(layer);
    json_array_foreach(layers, i, other) if (other == layer)
    {
        json_array_remove(layers, i);
        break;
    }
    /* Children of a removed layer lose their parent rather than point at
     * a layer that is no longer there. */
    if (index >= 0)
        json_array_foreach(layers, i, other) if (fw_lottie_layer_parent(other) == index)
            json_object_del(other, "parent");
}

static fw_err apply_function(apply_ctx *c, const json_t *asset, fw_error *err)
{
    static const char *const supported =
        "nx-layer-remove, nx-layer-state-set, nx-text-params-set, nx-solid-color-set, nx-layer-start-set, "
        "nx-layer-duration-set, nx-comp-duration-set";
    const char *name = json_string_value(json_object_get(asset, "name"));
    const json_t *params = json_object_get(asset, "params");
    char fn[64];
    targets t;
    double seconds, fr = fw_lottie_frame_rate(c->doc);
    fw_err rc;
    if (!name)
        return fw_error_set(err, FW_ERR_INVALID, "name", "the function's name is required, e.g. \"nx-layer-remove\"");
    if (params && !json_is_object(params))
        return fw_error_set(err, FW_ERR_INVALID, "params", "must be an object");
    snprintf(fn, sizeof(fn), "%s", name);
    if (strncmp(fn, "nx:", 3) == 0)
        fn[2] = '-';

    if (strcmp(fn, "nx-comp-duration-set") == 0) {
        const fw_lottie_comp *comp;
        json_t *layer;
        size_t i, j;
        if ((rc = seconds_param(asset, &seconds, err)) || (rc = find_comp(c, asset, params, &comp, err)))
            return rc;
        if (comp->is_root) {
            fw_lottie_set_out_point(c->doc, fw_lottie_in_point(c->doc) + seconds * fr);
            return FW_OK;
        }
        /* A precomp lasts as long as the layers showing it let it. */
        for (i = 0; i < c->comps.count; i++)
            json_array_foreach(c->comps.items[i].layers, j, layer)
            {
                const char *ref = fw_lottie_layer_source_id(layer);
                if (ref && fw_lottie_asset_id(comp->asset) && strcmp(ref, fw_lottie_asset_id(comp->asset)) == 0)
                    json_object_set_new(layer, "op", json_real(fw_lottie_layer_start_time(layer) + seconds * fr));
            }
        return FW_OK;
    }
    if (strcmp(fn, "nx-layer-remove") && strcmp(fn, "nx-layer-state-set") && strcmp(fn, "nx-text-params-set") &&
        strcmp(fn, "nx-solid-color-set") && strcmp(fn, "nx-layer-start-set") && strcmp(fn, "nx-layer-duration-set"))
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "name", "function '%s' is not supported; supported: %s", name,
                            supported);
    if ((rc = find_targets(c, asset, params, &t, err)))
        return rc;

    for (size_t i = 0; i < t.count; i++) {
        json_t *layer = t.items[i];
        if (strcmp(fn, "nx-layer-remove") == 0) {
            remove_layer(t.comp->layers, layer);
        } else if (strcmp(fn, "nx-layer-state-set") == 0) {
            const json_t *state = param(asset, "state");
            const json_t *enabled = param(asset, "enabled");
            if (!state)
                state = param(asset, "value");
            const char *s = json_string_value(state);
            int hide;
            if (json_is_boolean(enabled))
                hide = !json_is_true(enabled);
            else if (json_is_boolean(state))
                hide = !json_is_true(state);
            else if (s && (!strcasecmp(s, "hidden") || !strcasecmp(s, "disabled") || !strcasecmp(s, "off") ||
                           !strcasecmp(s, "invisible")))
                hide = 1;
            else if (s && (!strcasecmp(s, "enabled") || !strcasecmp(s, "visible") || !strcasecmp(s, "shown") ||
                           !strcasecmp(s, "on")))
                hide = 0;
            else
                return fw_error_set(err, FW_ERR_INVALID, "params.state",
                                    "state must be \"enabled\" or \"hidden\" (or enabled: true/false)");
            fw_lottie_layer_set_hidden(layer, hide);
        } else if (strcmp(fn, "nx-text-params-set") == 0) {
            json_t *merged = json_object();
            if (json_is_object(params))
                json_object_update(merged, (json_t *)params);
            rc = text_params(layer, merged, err);
            json_decref(merged);
            if (rc)
                return rc;
        } else if (strcmp(fn, "nx-solid-color-set") == 0) {
            const json_t *color = param(asset, "color");
            if (!color)
                color = param(asset, "value");
            if (!color)
                color = param(asset, "fillColor");
            if (fw_lottie_layer_type(layer) != FW_LAYER_SOLID && fw_lottie_layer_type(layer) != FW_LAYER_SHAPE)
                return wrong_layer(layer, "a solid layer", "layerName", err);
            if ((rc = set_layer_color(layer, color, 0, err))) {
                if (err)
                    snprintf(err->field, sizeof(err->field), "params.color");
                return rc;
            }
        } else {
            if ((rc = seconds_param(asset, &seconds, err)))
                return rc;
            double ip = fw_lottie_layer_in_point(layer), op = fw_lottie_layer_out_point(layer);
            double st = fw_lottie_layer_start_time(layer);
            if (strcmp(fn, "nx-layer-start-set") == 0) {
                double shift = seconds * fr - ip;
                fw_lottie_layer_set_timing(layer, ip + shift, op + shift, st + shift);
            } else {
                fw_lottie_layer_set_timing(layer, ip, ip + seconds * fr, st);
            }
        }
    }
    return FW_OK;
}

/* ---- the loop ---------------------------------------------------------- */

static fw_err apply_one(apply_ctx *c, const json_t *asset, fw_error *err)
{
    const char *type = json_string_value(json_object_get(asset, "type"));
    if (!json_is_object(asset))
        return fw_error_set(err, FW_ERR_INVALID, NULL, "each asset must be an object");
    if (!type)
        return fw_error_set(err, FW_ERR_INVALID, "type",
                            "the asset type is required: text, data, image, video, audio, essential, static or function");
    if (strcmp(type, "text") == 0)
        return apply_text(c, asset, err);
    if (strcmp(type, "data") == 0)
        return apply_data(c, asset, err);
    if (strcmp(type, "image") == 0)
        return apply_image(c, asset, err);
    if (strcmp(type, "essential") == 0)
        return apply_essential(c, asset, err);
    if (strcmp(type, "static") == 0)
        return apply_static(c, asset, err);
    if (strcmp(type, "function") == 0)
        return apply_function(c, asset, err);
    if (strcmp(type, "video") == 0)
        return apply_video(c, asset, err);
    if (strcmp(type, "audio") == 0)
        return apply_audio(c, asset, err);
    if (strcmp(type, "script") == 0)
        return apply_script(c, asset, err);
    if (strcmp(type, "job") == 0)
        return fw_error_set(err, FW_ERR_INVALID, "type", "job assets are rendered before their parent, not applied");
    return fw_error_set(err, FW_ERR_INVALID, "type",
                        "unknown asset type '%s'; types: text, data, image, video, audio, essential, static, function",
                        type);
}

fw_err fw_lottie_apply_assets(json_t **doc, const json_t *assets, const char *composition,
                              const fw_asset_options *options, fw_error *err)
{
    fw_asset_options defaults;
    apply_ctx c = {0};
    const json_t *asset;
    size_t i;
    fw_err rc = FW_OK;
    if (!options) {
        fw_asset_options_init(&defaults);
        options = &defaults;
    }
    if (!assets || json_is_null(assets))
        return FW_OK;
    if (!json_is_array(assets))
        return fw_error_set(err, FW_ERR_INVALID, "assets", "must be an array");
    if (!(c.doc = json_deep_copy(*doc)))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory copying the template.");
    c.composition = composition;
    c.options = options;
    if ((rc = fw_lottie_comps_list(c.doc, &c.comps, err)))
        goto done;
    if (!fw_lottie_comps_find(&c.comps, composition)) {
        char names[512];
        fw_lottie_comps_names(&c.comps, names, sizeof(names));
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "template.composition",
                          "no composition '%s'; compositions: %s", composition, names);
        goto done;
    }
    json_array_foreach(assets, i, asset)
    {
        c.index = i;
        if ((rc = apply_one(&c, asset, err))) {
            fw_error_prefix_field(err, "assets[%zu]", i);
            goto done;
        }
        /* Layer removal shifts arrays, not compositions; names stay valid. */
    }
done:
    fw_lottie_comps_clear(&c.comps);
    for (i = 0; i < c.file_count; i++) {
        if (rc)
            unlink(c.files[i]);
        free(c.files[i]);
    }
    free(c.files);
    if (rc) {
        json_decref(c.doc);
        return rc;
    }
    json_decref(*doc);
    *doc = c.doc;
    return FW_OK;
}

fw_err fw_template_apply_assets(fw_template *tpl, const json_t *assets, const char *composition,
                                const fw_asset_options *options, fw_error *err)
{
    json_t *doc = json_incref(fw_template_document(tpl));
    fw_err rc = fw_lottie_apply_assets(&doc, assets, composition, options, err);
    if (rc == FW_OK)
        fw_template_set_document(tpl, doc);
    else
        json_decref(doc);
    return rc;
}
