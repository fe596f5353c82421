/*
 * lottie_doc.c - named accessors over the Lottie document tree.
 *
 * The keys follow the Lottie specification (lottiefiles.github.io/lottie-docs)
 * and what After Effects' Bodymovin exporter writes. Readers are forgiving:
 * a missing key yields a neutral value rather than an error, because real
 * exports omit many defaults; fw_lottie_check() holds the few hard rules.
 */
#include "server/template/lottie_doc.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static double number_or(const json_t *obj, const char *key, double fallback)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : fallback;
}

static const char *string_or_null(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* ---- the document ------------------------------------------------------ */

const char *fw_lottie_name(const json_t *doc) { return string_or_null(doc, "nm"); }
double fw_lottie_width(const json_t *doc) { return number_or(doc, "w", 0); }
double fw_lottie_height(const json_t *doc) { return number_or(doc, "h", 0); }
double fw_lottie_frame_rate(const json_t *doc) { return number_or(doc, "fr", 0); }
double fw_lottie_in_point(const json_t *doc) { return number_or(doc, "ip", 0); }
double fw_lottie_out_point(const json_t *doc) { return number_or(doc, "op", 0); }
void fw_lottie_set_out_point(json_t *doc, double frames) { json_object_set_new(doc, "op", json_real(frames)); }

json_t *fw_lottie_root_layers(json_t *doc)
{
    json_t *layers = json_object_get(doc, "layers");
    return json_is_array(layers) ? layers : NULL;
}

json_t *fw_lottie_assets(json_t *doc)
{
    json_t *assets = json_object_get(doc, "assets");
    return json_is_array(assets) ? assets : NULL;
}

json_t *fw_lottie_asset_find(json_t *doc, const char *id)
{
    json_t *assets = fw_lottie_assets(doc), *asset;
    size_t i;
    if (!id)
        return NULL;
    json_array_foreach(assets, i, asset)
    {
        const char *aid = fw_lottie_asset_id(asset);
        if (aid && strcmp(aid, id) == 0)
            return asset;
    }
    return NULL;
}

json_t *fw_lottie_fonts(json_t *doc)
{
    json_t *list = json_object_get(json_object_get(doc, "fonts"), "list");
    return json_is_array(list) ? list : NULL;
}

json_t *fw_lottie_glyphs(json_t *doc)
{
    json_t *chars = json_object_get(doc, "chars");
    return json_is_array(chars) ? chars : NULL;
}

json_t *fw_lottie_markers(json_t *doc)
{
    json_t *m = json_object_get(doc, "markers");
    return json_is_array(m) ? m : NULL;
}

json_t *fw_lottie_slots(json_t *doc)
{
    json_t *s = json_object_get(doc, "slots");
    return json_is_object(s) ? s : NULL;
}

fw_err fw_lottie_check(const json_t *doc, fw_error *err)
{
    static const char *const numbers[] = {"w", "h", "fr", "ip", "op"};
    size_t i;
    if (!json_is_object(doc))
        return fw_error_set(err, FW_ERR_INVALID, NULL, "A Lottie document must be a JSON object.");
    for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        json_t *v = json_object_get(doc, numbers[i]);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return fw_error_set(err, FW_ERR_INVALID, numbers[i],
                                "A Lottie document needs the number '%s'; it is missing or not a number.",
                                numbers[i]);
    }
    if (!json_is_array(json_object_get(doc, "layers")))
        return fw_error_set(err, FW_ERR_INVALID, "layers", "A Lottie document needs a 'layers' array.");
    if (json_object_get(doc, "assets") && !json_is_array(json_object_get(doc, "assets")))
        return fw_error_set(err, FW_ERR_INVALID, "assets", "'assets' must be an array.");
    return FW_OK;
}

/* ---- compositions ------------------------------------------------------ */

static json_t *first_user_of(const fw_lottie_comps *comps, size_t filled, json_t *doc, const char *id)
{
    json_t *layer;
    size_t i, j;
    /* Search the root first, then precomps in document order. */
    json_array_foreach(fw_lottie_root_layers(doc), j, layer)
    {
        const char *ref = fw_lottie_layer_source_id(layer);
        if (fw_lottie_layer_type(layer) == FW_LAYER_PRECOMP && ref && strcmp(ref, id) == 0)
            return layer;
    }
    json_t *assets = fw_lottie_assets(doc), *asset;
    json_array_foreach(assets, i, asset)
    {
        json_t *layers = fw_lottie_asset_layers(asset);
        json_array_foreach(layers, j, layer)
        {
            const char *ref = fw_lottie_layer_source_id(layer);
            if (fw_lottie_layer_type(layer) == FW_LAYER_PRECOMP && ref && strcmp(ref, id) == 0)
                return layer;
        }
    }
    (void)comps;
    (void)filled;
    return NULL;
}

static int name_taken(const fw_lottie_comps *comps, size_t filled, const char *name)
{
    size_t i;
    for (i = 0; i < filled; i++)
        if (strcmp(comps->items[i].name, name) == 0)
            return 1;
    return 0;
}

static char *unique_name(const fw_lottie_comps *comps, size_t filled, const char *base)
{
    size_t size = strlen(base) + 24;
    char *name = malloc(size);
    int n;
    if (!name)
        return NULL;
    snprintf(name, size, "%s", base);
    for (n = 2; name_taken(comps, filled, name); n++)
        snprintf(name, size, "%s %d", base, n);
    return name;
}

fw_err fw_lottie_comps_list(json_t *doc, fw_lottie_comps *out, fw_error *err)
{
    json_t *assets = fw_lottie_assets(doc), *asset;
    size_t i, n = 1;
    out->items = NULL;
    out->count = 0;
    json_array_foreach(assets, i, asset) if (fw_lottie_asset_is_precomp(asset)) n++;
    out->items = calloc(n, sizeof(*out->items));
    if (!out->items)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory listing compositions.");

    fw_lottie_comp *root = &out->items[0];
    const char *root_name = fw_lottie_name(doc);
    root->name = strdup(root_name && *root_name ? root_name : "root");
    root->layers = fw_lottie_root_layers(doc);
    root->width = fw_lottie_width(doc);
    root->height = fw_lottie_height(doc);
    root->is_root = 1;
    out->count = 1;
    if (!root->name)
        goto nomem;

    json_array_foreach(assets, i, asset)
    {
        if (!fw_lottie_asset_is_precomp(asset))
            continue;
        fw_lottie_comp *c = &out->items[out->count];
        const char *id = fw_lottie_asset_id(asset);
        const char *own = string_or_null(asset, "nm");
        c->asset = asset;
        c->layers = fw_lottie_asset_layers(asset);
        c->source_layer = id ? first_user_of(out, out->count, doc, id) : NULL;
        const char *user = c->source_layer ? fw_lottie_layer_name(c->source_layer) : NULL;
        const char *base = own && *own ? own : user && *user ? user : id && *id ? id : "precomp";
        c->name = unique_name(out, out->count, base);
        if (!c->name)
            goto nomem;
        out->count++;
        c->width = c->source_layer ? fw_lottie_layer_width(c->source_layer) : 0;
        c->height = c->source_layer ? fw_lottie_layer_height(c->source_layer) : 0;
        if (c->width <= 0 || c->height <= 0) {
            c->width = number_or(asset, "w", root->width);
            c->height = number_or(asset, "h", root->height);
        }
    }
    return FW_OK;
nomem:
    fw_lottie_comps_clear(out);
    return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory listing compositions.");
}

void fw_lottie_comps_clear(fw_lottie_comps *comps)
{
    size_t i;
    if (!comps)
        return;
    for (i = 0; i < comps->count; i++)
        free(comps->items[i].name);
    free(comps->items);
    comps->items = NULL;
    comps->count = 0;
}

const fw_lottie_comp *fw_lottie_comps_find(const fw_lottie_comps *comps, const char *name)
{
    size_t i;
    if (!name || !*name)
        return comps->count ? &comps->items[0] : NULL;
    for (i = 0; i < comps->count; i++)
        if (strcmp(comps->items[i].name, name) == 0)
            return &comps->items[i];
    return NULL;
}

/* Append item to a ", "-separated list in buf, ending in "..." when full. */
static void list_append(char *buf, size_t size, const char *item)
{
    size_t len = strlen(buf);
    if (len + 4 >= size || strstr(buf, "...") == buf + len - 3)
        return;
    int n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", item);
    if (n < 0 || (size_t)n >= size - len) {
        if (size >= 4)
            memcpy(buf + size - 4, "...", 4);
    }
}

void fw_lottie_comps_names(const fw_lottie_comps *comps, char *buf, size_t size)
{
    size_t i;
    if (!size)
        return;
    buf[0] = '\0';
    for (i = 0; i < comps->count; i++)
        list_append(buf, size, comps->items[i].name);
}

void fw_lottie_layer_names(const json_t *layers, char *buf, size_t size)
{
    json_t *layer;
    size_t i;
    if (!size)
        return;
    buf[0] = '\0';
    json_array_foreach(layers, i, layer)
    {
        const char *name = fw_lottie_layer_name(layer);
        list_append(buf, size, name ? name : "(unnamed)");
    }
    if (!buf[0])
        snprintf(buf, size, "(none)");
}

/* ---- layers ------------------------------------------------------------ */

const char *fw_lottie_layer_name(const json_t *layer) { return string_or_null(layer, "nm"); }

fw_layer_type fw_lottie_layer_type(const json_t *layer)
{
    json_t *ty = json_object_get(layer, "ty");
    if (!json_is_integer(ty))
        return FW_LAYER_UNKNOWN;
    json_int_t t = json_integer_value(ty);
    return t >= 0 && t <= 6 ? (fw_layer_type)t : FW_LAYER_UNKNOWN;
}

const char *fw_lottie_layer_type_name(const json_t *layer)
{
    static const char *const names[] = {
        "precomp", "solid", "image",    "null",   "shape",  "text",       "audio", "video placeholder",
        "image sequence", "video", "image placeholder", "guide", "adjustment", "camera", "light", "data",
    };
    json_t *ty = json_object_get(layer, "ty");
    json_int_t t = json_is_integer(ty) ? json_integer_value(ty) : -1;
    return t >= 0 && t < (json_int_t)(sizeof(names) / sizeof(names[0])) ? names[t] : "unknown";
}

int fw_lottie_layer_index(const json_t *layer)
{
    json_t *v = json_object_get(layer, "ind");
    return json_is_number(v) ? (int)json_number_value(v) : -1;
}

int fw_lottie_layer_parent(const json_t *layer)
{
    json_t *v = json_object_get(layer, "parent");
    return json_is_number(v) ? (int)json_number_value(v) : -1;
}

double fw_lottie_layer_in_point(const json_t *layer) { return number_or(layer, "ip", 0); }
double fw_lottie_layer_out_point(const json_t *layer) { return number_or(layer, "op", 0); }
double fw_lottie_layer_start_time(const json_t *layer) { return number_or(layer, "st", 0); }

void fw_lottie_layer_set_timing(json_t *layer, double in_point, double out_point, double start_time)
{
    json_object_set_new(layer, "ip", json_real(in_point));
    json_object_set_new(layer, "op", json_real(out_point));
    json_object_set_new(layer, "st", json_real(start_time));
}

const char *fw_lottie_layer_source_id(const json_t *layer) { return string_or_null(layer, "refId"); }
void fw_lottie_layer_set_source_id(json_t *layer, const char *id)
{
    json_object_set_new(layer, "refId", json_string(id));
}

double fw_lottie_layer_width(const json_t *layer)
{
    return number_or(layer, fw_lottie_layer_type(layer) == FW_LAYER_SOLID ? "sw" : "w", 0);
}

double fw_lottie_layer_height(const json_t *layer)
{
    return number_or(layer, fw_lottie_layer_type(layer) == FW_LAYER_SOLID ? "sh" : "h", 0);
}

void fw_lottie_layer_set_hidden(json_t *layer, int hidden) { json_object_set_new(layer, "hd", json_boolean(hidden)); }
int fw_lottie_layer_hidden(const json_t *layer) { return json_is_true(json_object_get(layer, "hd")); }

fw_err fw_lottie_layer_add_rect_mask(json_t *layer, double x0, double y0, double x1, double y1)
{
    json_t *masks = json_object_get(layer, "masksProperties");
    json_t *shape = json_pack("{s:[[f,f],[f,f],[f,f],[f,f]],s:[[i,i],[i,i],[i,i],[i,i]],"
                              "s:[[i,i],[i,i],[i,i],[i,i]],s:b}",
                              "v", x0, y0, x1, y0, x1, y1, x0, y1, "i", 0, 0, 0, 0, 0, 0, 0, 0, "o", 0, 0, 0,
                              0, 0, 0, 0, 0, "c", 1);
    json_t *mask = shape ? json_pack("{s:s,s:b,s:s,s:{s:i,s:o},s:{s:i,s:i},s:{s:i,s:i}}", "mode", "a", "inv",
                                     0, "nm", "fit", "pt", "a", 0, "k", shape, "o", "a", 0, "k", 100, "x",
                                     "a", 0, "k", 0)
                         : NULL;
    if (!mask)
        return FW_ERR_NOMEM;
    if (!json_is_array(masks)) {
        masks = json_array();
        json_object_set_new(layer, "masksProperties", masks);
    }
    json_array_append_new(masks, mask);
    json_object_set_new(layer, "hasMask", json_true());
    return FW_OK;
}

/* ---- properties -------------------------------------------------------- */

json_t *fw_lottie_transform_prop(json_t *layer, fw_transform_prop which)
{
    static const char *const keys[] = {"a", "p", "s", "r", "o"};
    json_t *ks = json_object_get(layer, "ks"), *prop;
    if (!json_is_object(ks)) {
        ks = json_object();
        json_object_set_new(layer, "ks", ks);
    }
    prop = json_object_get(ks, keys[which]);
    /* Separated position ("s": true, "x", "y") becomes one static value. */
    if (which == FW_TR_POSITION && json_is_object(prop) && json_is_true(json_object_get(prop, "s"))) {
        json_t *x = fw_lottie_prop_value(json_object_get(prop, "x"));
        json_t *y = fw_lottie_prop_value(json_object_get(prop, "y"));
        double xv = json_is_array(x) ? json_number_value(json_array_get(x, 0)) : json_number_value(x);
        double yv = json_is_array(y) ? json_number_value(json_array_get(y, 0)) : json_number_value(y);
        prop = json_pack("{s:i,s:[f,f]}", "a", 0, "k", xv, yv);
        json_object_set_new(ks, "p", prop);
    }
    if (!json_is_object(prop)) {
        prop = json_object();
        json_object_set_new(ks, keys[which], prop);
    }
    return prop;
}

void fw_lottie_prop_set_static(json_t *prop, json_t *value)
{
    json_object_set_new(prop, "a", json_integer(0));
    json_object_set_new(prop, "k", value);
}

static void offset_array(json_t *arr, double dx, double dy)
{
    if (json_array_size(arr) >= 2 && json_is_number(json_array_get(arr, 0))) {
        json_array_set_new(arr, 0, json_real(json_number_value(json_array_get(arr, 0)) + dx));
        json_array_set_new(arr, 1, json_real(json_number_value(json_array_get(arr, 1)) + dy));
    }
}

void fw_lottie_prop_offset(json_t *prop, double dx, double dy)
{
    json_t *k = json_object_get(prop, "k"), *key;
    size_t i;
    if (json_array_size(k) && json_is_object(json_array_get(k, 0))) {
        json_array_foreach(k, i, key)
        {
            offset_array(json_object_get(key, "s"), dx, dy);
            offset_array(json_object_get(key, "e"), dx, dy);
        }
    } else if (json_is_array(k)) {
        offset_array(k, dx, dy);
    } else if (!k) {
        fw_lottie_prop_set_static(prop, json_pack("[f,f]", dx, dy));
    }
}

json_t *fw_lottie_prop_value(json_t *prop)
{
    json_t *k = json_object_get(prop, "k");
    if (json_is_array(k) && json_is_object(json_array_get(k, 0)))
        return json_object_get(json_array_get(k, 0), "s");
    return k;
}

/* ---- text -------------------------------------------------------------- */

static json_t *text_keyframes(json_t *layer)
{
    json_t *k;
    if (fw_lottie_layer_type(layer) != FW_LAYER_TEXT)
        return NULL;
    k = json_object_get(json_object_get(json_object_get(layer, "t"), "d"), "k");
    return json_is_array(k) ? k : NULL;
}

int fw_lottie_text_each(json_t *layer, fw_lottie_textdoc_fn fn, void *ctx)
{
    json_t *keys = text_keyframes(layer), *key;
    size_t i;
    int n = 0;
    json_array_foreach(keys, i, key)
    {
        json_t *doc = json_object_get(key, "s");
        if (json_is_object(doc)) {
            fn(doc, ctx);
            n++;
        }
    }
    return n;
}

json_t *fw_lottie_text_first(json_t *layer)
{
    json_t *doc = json_object_get(json_array_get(text_keyframes(layer), 0), "s");
    return json_is_object(doc) ? doc : NULL;
}

const char *fw_lottie_text_key(fw_text_field field)
{
    static const char *const keys[] = {"t", "f", "s", "fc", "sc", "sw", "tr", "lh", "j"};
    return keys[field];
}

/* ---- colours ----------------------------------------------------------- */

static int walk_shapes(json_t *shapes, const char *type, const char *key, fw_lottie_prop_fn fn, void *ctx)
{
    json_t *shape;
    size_t i;
    int n = 0;
    json_array_foreach(shapes, i, shape)
    {
        const char *ty = string_or_null(shape, "ty");
        if (!ty)
            continue;
        if (strcmp(ty, "gr") == 0) {
            n += walk_shapes(json_object_get(shape, "it"), type, key, fn, ctx);
        } else if (strcmp(ty, type) == 0) {
            json_t *prop = json_object_get(shape, key);
            if (json_is_object(prop)) {
                fn(prop, ctx);
                n++;
            }
        }
    }
    return n;
}

int fw_lottie_shape_fills_each(json_t *layer, int strokes, fw_lottie_prop_fn fn, void *ctx)
{
    return walk_shapes(json_object_get(layer, "shapes"), strokes ? "st" : "fl", "c", fn, ctx);
}

int fw_lottie_shape_stroke_widths_each(json_t *layer, fw_lottie_prop_fn fn, void *ctx)
{
    return walk_shapes(json_object_get(layer, "shapes"), "st", "w", fn, ctx);
}

const char *fw_lottie_solid_color(const json_t *layer) { return string_or_null(layer, "sc"); }
void fw_lottie_solid_set_color(json_t *layer, const char *hex) { json_object_set_new(layer, "sc", json_string(hex)); }

/* ---- images ------------------------------------------------------------ */

double fw_lottie_image_width(const json_t *asset) { return number_or(asset, "w", 0); }
double fw_lottie_image_height(const json_t *asset) { return number_or(asset, "h", 0); }
const char *fw_lottie_image_folder(const json_t *asset) { return string_or_null(asset, "u"); }
const char *fw_lottie_image_file(const json_t *asset) { return string_or_null(asset, "p"); }

int fw_lottie_image_embedded(const json_t *asset)
{
    const char *p = fw_lottie_image_file(asset);
    json_t *e = json_object_get(asset, "e");
    return (json_is_integer(e) && json_integer_value(e) == 1) || (p && strncmp(p, "data:", 5) == 0);
}

int fw_lottie_asset_is_image(const json_t *asset)
{
    return json_is_string(json_object_get(asset, "p")) && !json_object_get(asset, "layers");
}

int fw_lottie_asset_is_precomp(const json_t *asset) { return json_is_array(json_object_get(asset, "layers")); }
const char *fw_lottie_asset_id(const json_t *asset) { return string_or_null(asset, "id"); }

json_t *fw_lottie_asset_layers(json_t *asset)
{
    json_t *layers = json_object_get(asset, "layers");
    return json_is_array(layers) ? layers : NULL;
}

json_t *fw_lottie_image_new(const char *id, double w, double h, const char *folder, const char *file,
                            int embedded)
{
    /* Integers: rlottie refuses the whole document over a fractional size. */
    return json_pack("{s:s,s:I,s:I,s:s,s:s,s:i}", "id", id, "w", (json_int_t)lround(w), "h", (json_int_t)lround(h),
                     "u", folder, "p", file, "e", embedded ? 1 : 0);
}

void fw_lottie_image_set_size(json_t *asset, double w, double h)
{
    json_object_set_new(asset, "w", json_integer((json_int_t)lround(w)));
    json_object_set_new(asset, "h", json_integer((json_int_t)lround(h)));
}

void fw_lottie_image_set_location(json_t *asset, const char *folder, const char *file)
{
    /* folder and file may point into the asset itself: copy them first. */
    json_t *u = json_string(folder), *p = json_string(file);
    int embedded = strncmp(file, "data:", 5) == 0;
    json_object_set_new(asset, "u", u);
    json_object_set_new(asset, "p", p);
    json_object_set_new(asset, "e", json_integer(embedded));
}

void fw_lottie_image_set_footage(json_t *asset, json_t *how)
{
    json_object_set_new(asset, "fw_footage", how);
}

json_t *fw_lottie_image_footage(const json_t *asset)
{
    json_t *how = json_object_get(asset, "fw_footage");
    return json_is_object(how) ? how : NULL;
}

int fw_lottie_footage_loops(const json_t *how)
{
    return json_is_true(json_object_get(how, "loop"));
}

int fw_lottie_footage_asset_index(const json_t *how)
{
    return (int)json_integer_value(json_object_get(how, "asset"));
}

void fw_lottie_layer_make_image(json_t *layer, const char *id)
{
    json_object_set_new(layer, "ty", json_integer(FW_LAYER_IMAGE));
    json_object_set_new(layer, "refId", json_string(id));
    json_object_del(layer, "sc");
    json_object_del(layer, "sw");
    json_object_del(layer, "sh");
}

json_t *fw_lottie_footage_comp_new(const char *id, const char *image_id, double w, double h)
{
    /* An untransformed layer at the origin; its out point is far beyond any
     * composition a template can hold, so the precomp layer's own timing
     * decides what shows. */
    return json_pack("{s:s,s:I,s:I,s:[{s:i,s:i,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:{s:{s:i,s:i},s:{s:i,s:[i,i,i]},"
                     "s:{s:i,s:[i,i,i]},s:{s:i,s:[i,i,i]},s:{s:i,s:i}}}]}",
                     "id", id, "w", (json_int_t)lround(w), "h", (json_int_t)lround(h), "layers", "ddd", 0, "ind", 1,
                     "nm", "footage", "refId", image_id, "ty", FW_LAYER_IMAGE, "ip", 0, "op", 100000000, "st", 0,
                     "sr", 1, "bm", 0, "ks", "o", "a", 0, "k", 100, "p", "a", 0, "k", 0, 0, 0, "a", "a", 0, "k", 0, 0,
                     0, "s", "a", 0, "k", 100, 100, 100, "r", "a", 0, "k", 0);
}

/* ---- expressions ------------------------------------------------------- */

/* Does a newline after `before` (the last significant character) end a
 * statement, when the next line starts with `after`? Not after an operator
 * or before one that continues the line. */
static int newline_ends_statement(char before, char after)
{
    return before && !strchr("+-*/%=&|^!~?:,.([{<>", before) && !strchr(".+-*/%=&|^?:,)]}", after);
}

char *fw_lottie_expression_from_ae(const char *src)
{
    static const char *const statements[] = {"var ", "let ", "const ", "if ", "if(", "for ", "for(", "while ",
                                             "while(", "do ", "do{", "switch", "function ", "return", "try",
                                             "throw ", "class "};
    size_t n = strlen(src), last = 0, depth = 0;
    char before = 0;

    if (strstr(src, "$bm_rt"))
        return strdup(src);
    /* The last statement ends before trailing blanks and semicolons. */
    size_t end = n;
    while (end > 0 && (isspace((unsigned char)src[end - 1]) || src[end - 1] == ';'))
        end--;
    for (size_t i = 0; i < end; i++) {
        char ch = src[i];
        if (ch == '/' && src[i + 1] == '/') {
            while (i < end && src[i] != '\n')
                i++;
            i--;
            continue;
        }
        if (ch == '/' && src[i + 1] == '*') {
            const char *close = strstr(src + i + 2, "*/");
            i = close ? (size_t)(close - src) + 1 : n;
            continue;
        }
        if (ch == '"' || ch == '\'' || ch == '`') {
            for (i++; i < end && src[i] != ch; i++)
                if (src[i] == '\\')
                    i++;
            before = ch;
            continue;
        }
        if (ch == '(' || ch == '[' || ch == '{')
            depth++;
        else if ((ch == ')' || ch == ']' || ch == '}') && depth > 0)
            depth--;
        if (depth == 0 && (ch == ';' || ch == '}')) {
            last = i + 1;
        } else if (depth == 0 && ch == '\n') {
            size_t j = i + 1;
            while (j < end && isspace((unsigned char)src[j]))
                j++;
            if (j < end && newline_ends_statement(before, src[j]))
                last = i + 1;
        }
        if (!isspace((unsigned char)ch))
            before = ch;
    }
    while (last < end && isspace((unsigned char)src[last]))
        last++;
    int expression = end > last;
    for (size_t k = 0; expression && k < sizeof(statements) / sizeof(statements[0]); k++)
        expression = strncmp(src + last, statements[k], strlen(statements[k])) != 0;
    char *out = malloc(n + 32);
    if (!out)
        return NULL;
    if (!expression)
        snprintf(out, n + 32, "%s", src);
    else
        /* The newline: a line comment at the end must not swallow the ')'. */
        snprintf(out, n + 32, "%.*s$bm_rt = (%.*s\n);", (int)last, src, (int)(end - last), src + last);
    return out;
}

/* ---- sound ------------------------------------------------------------- */

int fw_lottie_asset_is_sound(const json_t *asset)
{
    static const char *const extensions[] = {".mp3", ".wav", ".aac", ".m4a", ".ogg", ".opus", ".flac", ".aif",
                                             ".aiff"};
    const char *p = string_or_null(asset, "p");
    if (json_object_get(asset, "fw_sound"))
        return 1;
    if (!p || strncmp(p, "data:audio/", 11) == 0)
        return p != NULL;
    const char *dot = strrchr(p, '.');
    for (size_t i = 0; dot && i < sizeof(extensions) / sizeof(extensions[0]); i++)
        if (strcasecmp(dot, extensions[i]) == 0)
            return 1;
    return 0;
}

void fw_lottie_sound_set_how(json_t *asset, json_t *how)
{
    json_object_set_new(asset, "fw_sound", how);
}

json_t *fw_lottie_sound_asset_new(const char *id, const char *folder, const char *file)
{
    return json_pack("{s:s,s:s,s:s,s:i}", "id", id, "u", folder, "p", file, "e", 0);
}

json_t *fw_lottie_audio_layer_new(const char *name, const char *id, double start, double end)
{
    return json_pack("{s:i,s:i,s:s,s:s,s:f,s:f,s:f,s:i,s:{s:{s:i,s:[i,i]}}}", "ddd", 0, "ty", FW_LAYER_AUDIO, "nm",
                     name, "refId", id, "ip", start, "op", end, "st", start, "sr", 1, "au", "lv", "a", 0, "k", 100,
                     100);
}

typedef struct sound_walk {
    json_t *doc;
    double fr;
    fw_lottie_sound *items;
    size_t count, room;
    int skipped;
} sound_walk;

/* The composition frame at output second T is a*T + b; the output span
 * [lo, hi) is where the composition shows at all. */
typedef struct time_map {
    double a, b, lo, hi;
} time_map;

static double sound_number(const json_t *how, const char *key, double fallback)
{
    json_t *v = json_object_get(how, key);
    return json_is_number(v) ? json_number_value(v) : fallback;
}

static fw_err add_sound(sound_walk *w, const json_t *layer, const json_t *asset, const time_map *m, int footage,
                        fw_error *err)
{
    const json_t *how = footage ? fw_lottie_image_footage(asset) : json_object_get(asset, "fw_sound");
    double ip = number_or(layer, "ip", 0), op = number_or(layer, "op", 0), st = number_or(layer, "st", 0);
    double sr = number_or(layer, "sr", 1);
    fw_lottie_sound *s;

    if (sr == 0)
        sr = 1;
    double at = fmax(m->lo, (ip - m->b) / m->a), until = fmin(m->hi, (op - m->b) / m->a);
    if (until <= at)
        return FW_OK;
    if (w->count == w->room) {
        size_t room = w->room ? w->room * 2 : 8;
        fw_lottie_sound *grown = realloc(w->items, room * sizeof(*grown));
        if (!grown)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing sounds");
        w->items = grown;
        w->room = room;
    }
    s = &w->items[w->count];
    memset(s, 0, sizeof(*s));
    snprintf(s->path, sizeof(s->path), "%s%s", fw_lottie_image_folder(asset) ? fw_lottie_image_folder(asset) : "",
             fw_lottie_image_file(asset));
    if (how && json_object_get(how, "asset"))
        snprintf(s->field, sizeof(s->field), "assets[%d]", (int)sound_number(how, "asset", 0));
    else
        snprintf(s->field, sizeof(s->field), "layer '%s'", fw_lottie_layer_name(layer) ? fw_lottie_layer_name(layer) : "");
    s->at = at;
    s->until = until;
    s->trim_start = sound_number(how, "trimStart", 0);
    s->trim_end = sound_number(how, "trimEnd", 0);
    s->source_at = (m->a * at + m->b - st) / sr / w->fr + s->trim_start;
    s->speed = m->a / (sr * w->fr);
    s->gain_db = sound_number(how, "gain", 0);
    s->fade_in = sound_number(how, "fadeIn", 0);
    s->fade_out = sound_number(how, "fadeOut", 0);
    s->loop = json_is_true(json_object_get(how, "loop"));
    s->optional = footage;
    /* A trimmed part that does not loop ends with the part. */
    if (!s->loop && s->trim_end > s->trim_start)
        s->until = fmin(s->until, at + (s->trim_end - s->source_at) / s->speed);
    /* The layer's own level (percent, static) in Lottie's audio settings. */
    const json_t *lv = json_object_get(json_object_get(json_object_get(layer, "au"), "lv"), "k");
    if (json_is_array(lv) && json_is_number(json_array_get(lv, 0))) {
        double level = json_number_value(json_array_get(lv, 0));
        if (level <= 0)
            return FW_OK;
        s->gain_db += 20 * log10(level / 100);
    }
    if (s->until > s->at)
        w->count++;
    return FW_OK;
}

static fw_err walk_sounds(sound_walk *w, json_t *layers, const time_map *m, int depth, fw_error *err)
{
    json_t *layer;
    size_t i;
    fw_err rc;

    if (depth > 16)
        return FW_OK;
    json_array_foreach(layers, i, layer) {
        fw_layer_type type = fw_lottie_layer_type(layer);
        json_t *asset = fw_lottie_asset_find(w->doc, fw_lottie_layer_source_id(layer));
        if (fw_lottie_layer_hidden(layer) || !asset)
            continue;
        if (type == FW_LAYER_AUDIO && fw_lottie_image_file(asset)) {
            if ((rc = add_sound(w, layer, asset, m, 0, err)))
                return rc;
        } else if (type == FW_LAYER_IMAGE) {
            const json_t *how = fw_lottie_image_footage(asset);
            if (how && !json_is_true(json_object_get(how, "muted")) && (rc = add_sound(w, layer, asset, m, 1, err)))
                return rc;
        } else if (type == FW_LAYER_PRECOMP && fw_lottie_asset_is_precomp(asset)) {
            if (json_object_get(layer, "tm")) {
                w->skipped++;
                continue;
            }
            double ip = number_or(layer, "ip", 0), op = number_or(layer, "op", 0), st = number_or(layer, "st", 0);
            double sr = number_or(layer, "sr", 1);
            if (sr == 0)
                sr = 1;
            time_map inner = {.a = m->a / sr, .b = (m->b - st) / sr, .lo = fmax(m->lo, (ip - m->b) / m->a),
                              .hi = fmin(m->hi, (op - m->b) / m->a)};
            if (inner.hi > inner.lo && (rc = walk_sounds(w, fw_lottie_asset_layers(asset), &inner, depth + 1, err)))
                return rc;
        }
    }
    return FW_OK;
}

fw_err fw_lottie_sounds(json_t *doc, fw_lottie_sound **sounds, size_t *count, int *skipped, fw_error *err)
{
    sound_walk w = {.doc = doc, .fr = fw_lottie_frame_rate(doc)};
    fw_err rc;

    *sounds = NULL;
    *count = 0;
    if (skipped)
        *skipped = 0;
    if (!(w.fr > 0))
        return FW_OK;
    time_map root = {.a = w.fr, .b = fw_lottie_in_point(doc), .lo = 0,
                     .hi = (fw_lottie_out_point(doc) - fw_lottie_in_point(doc)) / w.fr};
    if ((rc = walk_sounds(&w, fw_lottie_root_layers(doc), &root, 0, err))) {
        free(w.items);
        return rc;
    }
    *sounds = w.items;
    *count = w.count;
    if (skipped)
        *skipped = w.skipped;
    return FW_OK;
}

/* ---- slots ------------------------------------------------------------- */

static int slot_walk(json_t *node, const char *key, const char *id, fw_lottie_slot_fn fn, void *ctx, int depth)
{
    int n = 0;
    if (depth > 256)
        return 0;
    if (json_is_object(node)) {
        const char *k;
        json_t *v;
        const char *sid = string_or_null(node, "sid");
        if (sid && (!id || strcmp(sid, id) == 0)) {
            fn(node, key, ctx);
            n++;
        }
        json_object_foreach(node, k, v)
        {
            if (depth == 0 && strcmp(k, "slots") == 0)
                continue;
            if (json_is_object(v) || json_is_array(v))
                n += slot_walk(v, k, id, fn, ctx, depth + 1);
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) if (json_is_object(v) || json_is_array(v)) n +=
            slot_walk(v, key, id, fn, ctx, depth + 1);
    }
    return n;
}

int fw_lottie_slot_each(json_t *doc, const char *id, fw_lottie_slot_fn fn, void *ctx)
{
    return slot_walk(doc, "", id, fn, ctx, 0);
}

static void collect_id(json_t *prop, const char *key, void *ctx)
{
    json_t *ids = ctx, *v;
    const char *sid = string_or_null(prop, "sid");
    size_t i;
    (void)key;
    json_array_foreach(ids, i, v) if (strcmp(json_string_value(v), sid) == 0) return;
    json_array_append_new(ids, json_string(sid));
}

json_t *fw_lottie_slot_ids(json_t *doc)
{
    json_t *ids = json_array();
    json_t *slots = fw_lottie_slots(doc);
    const char *key;
    json_t *v;
    json_object_foreach(slots, key, v) json_array_append_new(ids, json_string(key));
    fw_lottie_slot_each(doc, NULL, collect_id, ids);
    return ids;
}

json_t *fw_lottie_slot_value(json_t *doc, const char *id)
{
    json_t *slot = json_object_get(fw_lottie_slots(doc), id);
    json_t *p = json_object_get(slot, "p");
    return json_is_object(p) ? p : NULL;
}
