/*
 * introspect.c - what a template offers to jobs, as JSON for the API.
 *
 * The answer mirrors what Nexrender Cloud returns for an uploaded project
 * (compositions and their layers) and adds what only a Lottie document can
 * say: which layers take text, images or colours, the fonts and whether
 * their glyphs are embedded, the slots (Lottie's essential properties) and
 * the markers.
 */
#include "server/template/template.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "server/template/lottie_doc.h"
#include "server/text/text_lottie.h"

static json_t *hex_color(json_t *rgb)
{
    char hex[8];
    int c[3], i;
    if (json_array_size(rgb) < 3)
        return NULL;
    for (i = 0; i < 3; i++) {
        double v = json_number_value(json_array_get(rgb, (size_t)i));
        if (v > 1.0)
            v /= 255.0; /* a few exporters write 0..255 */
        c[i] = (int)lround(fmin(fmax(v, 0.0), 1.0) * 255.0);
    }
    snprintf(hex, sizeof(hex), "#%02x%02x%02x", c[0], c[1], c[2]);
    return json_string(hex);
}

static void add_color(json_t *colors, json_t *color)
{
    json_t *v;
    size_t i;
    if (!color)
        return;
    json_array_foreach(colors, i, v) if (json_equal(v, color))
    {
        json_decref(color);
        return;
    }
    json_array_append_new(colors, color);
}

static void add_fill_color(json_t *prop, void *ctx) { add_color(ctx, hex_color(fw_lottie_prop_value(prop))); }

/* The room of a text layer (see TextBox in proto/template.proto); NULL when
 * its text cannot be laid out. */
static json_t *text_box(json_t *doc, json_t *layer, fw_fontset *fonts)
{
    json_t *key = json_array_get(json_object_get(json_object_get(json_object_get(layer, "t"), "d"), "k"), 0);
    json_t *s = json_object_get(key, "s"), *sz = json_object_get(s, "sz"), *ps = json_object_get(s, "ps");
    fw_lottie_text_style style;
    fw_text_layout *layout = NULL;
    fw_error err;
    json_t *box;

    if (!fonts || fw_lottie_text_layout(doc, layer, key, fonts, NULL, &style, &layout, &err) != FW_OK)
        return NULL;
    if (json_array_size(sz) >= 2) {
        box = json_pack("{s:f,s:f,s:f,s:f,s:b,s:i}", "x", json_number_value(json_array_get(ps, 0)), "y",
                        json_number_value(json_array_get(ps, 1)), "width", json_number_value(json_array_get(sz, 0)),
                        "height", json_number_value(json_array_get(sz, 1)), "paragraph", 1, "lines",
                        (int)layout->line_count);
    } else {
        double x0 = 0, x1 = 0;
        for (size_t i = 0; i < layout->line_count; i++) {
            const fw_text_line *l = &layout->lines[i];
            x0 = i == 0 || l->x < x0 ? l->x : x0;
            x1 = i == 0 || l->x + l->width > x1 ? l->x + l->width : x1;
        }
        /* Glyphs drawn from embedded shapes have no outlines here: their
         * height is taken as the font size. */
        double y0 = layout->contour_count ? layout->min_y : -style.size * 0.75;
        double y1 = layout->contour_count ? layout->max_y : style.size * 0.25;
        if (layout->line_count > 1 && !layout->contour_count)
            y1 = layout->lines[layout->line_count - 1].baseline + style.size * 0.25;
        box = json_pack("{s:f,s:f,s:f,s:f,s:b,s:i}", "x", x0, "y", y0, "width", x1 - x0, "height", y1 - y0,
                        "paragraph", 0, "lines", (int)layout->line_count);
    }
    fw_text_layout_free(&layout);
    return box;
}

static json_t *replaceable(json_t *doc, json_t *layer, fw_fontset *fonts)
{
    fw_layer_type type = fw_lottie_layer_type(layer);
    json_t *colors = json_array();
    json_t *text = fw_lottie_text_first(layer);
    const char *font = text ? json_string_value(json_object_get(text, fw_lottie_text_key(FW_TEXT_FONT))) : NULL;
    if (text)
        add_color(colors, hex_color(json_object_get(text, fw_lottie_text_key(FW_TEXT_FILL))));
    if (type == FW_LAYER_SHAPE)
        fw_lottie_shape_fills_each(layer, 0, add_fill_color, colors);
    if (type == FW_LAYER_SOLID && fw_lottie_solid_color(layer))
        add_color(colors, json_string(fw_lottie_solid_color(layer)));
    json_t *r = json_pack("{s:b,s:o,s:b,s:o,s:b,s:b,s:b}", "text", type == FW_LAYER_TEXT, "font",
                          font ? json_string(font) : json_null(), "image", type == FW_LAYER_IMAGE, "colors", colors,
                          "transform", type != FW_LAYER_AUDIO, "video",
                          type == FW_LAYER_IMAGE || type == FW_LAYER_PRECOMP || type == FW_LAYER_SOLID, "audio",
                          type == FW_LAYER_AUDIO);
    json_t *box = type == FW_LAYER_TEXT ? text_box(doc, layer, fonts) : NULL;
    if (r && box)
        json_object_set_new(r, "textBox", box);
    else
        json_decref(box);
    return r;
}

static json_t *layer_info(json_t *doc, json_t *layer, fw_fontset *fonts)
{
    const char *name = fw_lottie_layer_name(layer);
    int parent = fw_lottie_layer_parent(layer);
    return json_pack("{s:s,s:i,s:s,s:f,s:f,s:o,s:o}", "name", name ? name : "", "index",
                     fw_lottie_layer_index(layer), "type", fw_lottie_layer_type_name(layer), "inPoint",
                     fw_lottie_layer_in_point(layer), "outPoint", fw_lottie_layer_out_point(layer), "parent",
                     parent >= 0 ? json_integer(parent) : json_null(), "replaceable",
                     replaceable(doc, layer, fonts));
}

/* A precomp plays for as long as the layer that shows it, else as long as
 * its own layers reach. */
static void comp_span(json_t *doc, const fw_lottie_comp *c, double *in, double *out)
{
    json_t *layer;
    size_t i;
    if (c->is_root) {
        *in = fw_lottie_in_point(doc);
        *out = fw_lottie_out_point(doc);
        return;
    }
    if (c->source_layer) {
        double st = fw_lottie_layer_start_time(c->source_layer);
        *in = fmax(0, fw_lottie_layer_in_point(c->source_layer) - st);
        *out = fw_lottie_layer_out_point(c->source_layer) - st;
        if (*out > *in)
            return;
    }
    *in = 0;
    *out = 0;
    json_array_foreach(c->layers, i, layer)
    {
        if (i == 0 || fw_lottie_layer_in_point(layer) < *in)
            *in = fw_lottie_layer_in_point(layer);
        if (fw_lottie_layer_out_point(layer) > *out)
            *out = fw_lottie_layer_out_point(layer);
    }
    if (*in < 0)
        *in = 0;
}

static json_t *compositions(json_t *doc, const fw_lottie_comps *comps, fw_fontset *fonts)
{
    json_t *list = json_array();
    double fps = fw_lottie_frame_rate(doc);
    size_t i, j;
    for (i = 0; i < comps->count; i++) {
        const fw_lottie_comp *c = &comps->items[i];
        json_t *layers = json_array(), *layer;
        double in, out;
        comp_span(doc, c, &in, &out);
        json_array_foreach(c->layers, j, layer) json_array_append_new(layers, layer_info(doc, layer, fonts));
        json_array_append_new(list, json_pack("{s:s,s:f,s:f,s:f,s:f,s:f,s:b,s:o}", "name", c->name, "width",
                                              c->width, "height", c->height, "fps", fps, "duration",
                                              fps > 0 ? (out - in) / fps : 0.0, "frames", out - in, "isRoot",
                                              c->is_root, "layers", layers));
    }
    return list;
}

static json_t *match_json(const char *source, const char *family, const char *style, int exact, int bold,
                          int italic)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:b,s:b}", "source", source, "family", family ? family : "", "style",
                     style ? style : "", "exact", exact, "syntheticBold", bold, "syntheticItalic", italic);
}

/* What a font entry is drawn with when no job or team font brings it: the
 * bundle's fonts, the embedded glyphs, or the machine's face (the family
 * itself or its substitute). */
static json_t *font_match(json_t *entry, int embedded, fw_fontset *fonts)
{
    const char *name = json_string_value(json_object_get(entry, "fName"));
    const char *family = json_string_value(json_object_get(entry, "fFamily"));
    const char *style = json_string_value(json_object_get(entry, "fStyle"));
    const char *file = json_string_value(json_object_get(entry, "fPath"));
    const fw_font *found = fonts ? fw_fontset_find(fonts, name, family, style, file) : NULL;
    fw_system_font sys;

    if (found && found != fw_fontset_default(fonts))
        return match_json("bundle", fw_font_family(found), fw_font_style(found), 1, 0, 0);
    if (embedded)
        return match_json("embedded", family, style, 1, 0, 0);
    if (fw_font_system_lookup(name, family, style, &sys))
        return match_json("machine", sys.family, sys.style, sys.exact, sys.synthetic_bold, sys.synthetic_italic);
    found = fonts ? fw_fontset_default(fonts) : NULL;
    return match_json("none", found ? fw_font_family(found) : NULL, found ? fw_font_style(found) : NULL, 0, 0, 0);
}

static json_t *fonts(json_t *doc, fw_fontset *set)
{
    json_t *list = json_array(), *font, *glyph;
    size_t i, j;
    json_array_foreach(fw_lottie_fonts(doc), i, font)
    {
        const char *name = json_string_value(json_object_get(font, "fName"));
        const char *family = json_string_value(json_object_get(font, "fFamily"));
        const char *style = json_string_value(json_object_get(font, "fStyle"));
        int embedded = 0;
        json_array_foreach(fw_lottie_glyphs(doc), j, glyph)
        {
            const char *gf = json_string_value(json_object_get(glyph, "fFamily"));
            const char *gs = json_string_value(json_object_get(glyph, "style"));
            if (gf && family && strcmp(gf, family) == 0 && (!gs || !style || strcmp(gs, style) == 0)) {
                embedded = 1;
                break;
            }
        }
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b,s:o}", "name", name ? name : "", "family",
                                              family ? family : "", "style", style ? style : "",
                                              "embeddedGlyphs", embedded,
                                              "match", font_match(font, embedded, set)));
    }
    return list;
}

typedef struct slot_probe {
    json_t *prop;
    const char *key;
} slot_probe;

static void remember_slot(json_t *prop, const char *key, void *ctx)
{
    slot_probe *p = ctx;
    if (!p->prop) {
        p->prop = prop;
        p->key = key;
    }
}

/* The kind of value a slot holds, from where it sits in the document. */
static const char *slot_kind(json_t *prop, const char *key, json_t **value)
{
    json_t *v = fw_lottie_prop_value(prop);
    *value = v;
    if (fw_lottie_asset_is_image(prop))
        return "image";
    if (json_is_object(v) && json_is_string(json_object_get(v, "t"))) {
        *value = json_object_get(v, "t");
        return "text";
    }
    if (strcmp(key, "c") == 0 || strcmp(key, "sc") == 0 || strcmp(key, "fc") == 0)
        return "color";
    if (strcmp(key, "p") == 0 || strcmp(key, "a") == 0)
        return "position";
    if (json_is_number(v) || (json_array_size(v) == 1))
        return "scalar";
    return "vector";
}

static json_t *slots(json_t *doc)
{
    json_t *ids = fw_lottie_slot_ids(doc), *id, *list = json_array();
    size_t i;
    json_array_foreach(ids, i, id)
    {
        const char *sid = json_string_value(id);
        slot_probe probe = {0};
        json_t *value = NULL, *table = fw_lottie_slot_value(doc, sid);
        const char *kind;
        fw_lottie_slot_each(doc, sid, remember_slot, &probe);
        if (probe.prop) {
            kind = slot_kind(probe.prop, probe.key, &value);
            if (table && strcmp(kind, "text") != 0 && strcmp(kind, "image") != 0)
                value = fw_lottie_prop_value(table);
        } else {
            kind = "unused";
            value = fw_lottie_prop_value(table);
        }
        if (strcmp(kind, "color") == 0 && json_is_array(value))
            json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "id", sid, "type", kind, "value", hex_color(value)));
        else if (strcmp(kind, "image") == 0)
            json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "id", sid, "type", kind, "value",
                                                  fw_lottie_image_file(probe.prop)));
        else
            json_array_append_new(list, json_pack("{s:s,s:s,s:O}", "id", sid, "type", kind, "value",
                                                  value ? value : json_null()));
    }
    json_decref(ids);
    return list;
}

static json_t *markers(json_t *doc)
{
    json_t *list = json_array(), *m;
    double fps = fw_lottie_frame_rate(doc);
    size_t i;
    json_array_foreach(fw_lottie_markers(doc), i, m)
    {
        const char *name = json_string_value(json_object_get(m, "cm"));
        double tm = json_number_value(json_object_get(m, "tm")), dr = json_number_value(json_object_get(m, "dr"));
        json_array_append_new(list, json_pack("{s:s,s:f,s:f,s:f}", "name", name ? name : "", "time",
                                              fps > 0 ? tm / fps : 0.0, "duration", fps > 0 ? dr / fps : 0.0,
                                              "frame", tm));
    }
    return list;
}

/* The fonts a template's text is laid out with here: its bundle's and the
 * default; NULL (no text boxes) when not even the default can be read. */
static fw_fontset *bundle_fonts(const fw_template *tpl)
{
    fw_fontset *set = NULL;
    fw_error err;
    if (fw_fontset_new(&set, NULL, &err) != FW_OK)
        return NULL;
    for (size_t i = 0; tpl && i < fw_template_font_count(tpl); i++)
        (void)fw_fontset_add_file(set, fw_template_font_path(tpl, i), &err); /* a bad file: as if absent */
    return set;
}

static fw_err introspect(json_t *doc, fw_fontset *set, json_t **out, fw_error *err)
{
    fw_lottie_comps comps;
    fw_err rc;
    *out = NULL;
    if ((rc = fw_lottie_check(doc, err)))
        return rc;
    if ((rc = fw_lottie_comps_list(doc, &comps, err)))
        return rc;
    /* Fonts first: laying out the text boxes adds the machine's faces to
     * the set, and they are not the bundle's. */
    json_t *font_list = fonts(doc, set);
    *out = json_pack("{s:o,s:o,s:o,s:o}", "compositions", compositions(doc, &comps, set), "fonts", font_list,
                     "slots", slots(doc), "markers", markers(doc));
    fw_lottie_comps_clear(&comps);
    if (!*out)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory describing the template.");
    return FW_OK;
}

fw_err fw_lottie_introspect(json_t *doc, json_t **out, fw_error *err)
{
    fw_fontset *set = bundle_fonts(NULL);
    fw_err rc = introspect(doc, set, out, err);
    fw_fontset_free(&set);
    return rc;
}

fw_err fw_template_introspect(const fw_template *tpl, json_t **out, fw_error *err)
{
    fw_fontset *set = bundle_fonts(tpl);
    fw_err rc = introspect(fw_template_document(tpl), set, out, err);
    fw_fontset_free(&set);
    return rc;
}
