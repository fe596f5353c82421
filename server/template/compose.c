/*
 * compose.c - make any composition of a template the thing rendered.
 *
 * Renderers draw the root of a Lottie document. To render a precomposition
 * we build a new document around it: its layers become the root layers, its
 * size is that of the layer showing it (as in After Effects, where a
 * precomp layer is as large as its source), the frame rate is the template's,
 * and it plays for as long as that layer shows it. Only the assets reachable
 * from the new root are carried over, so a renderer does not load images
 * that are never drawn.
 */
#include "server/template/template.h"

#include <math.h>
#include <string.h>

#include "server/template/lottie_doc.h"

/* Mark (in keep, an object used as a set) every asset the layers use. */
static void mark_used(json_t *doc, json_t *layers, json_t *keep, int depth)
{
    json_t *layer;
    size_t i;
    if (depth > 64)
        return; /* precomps that include themselves */
    json_array_foreach(layers, i, layer)
    {
        const char *id = fw_lottie_layer_source_id(layer);
        json_t *asset;
        if (!id || json_object_get(keep, id) || !(asset = fw_lottie_asset_find(doc, id)))
            continue;
        json_object_set_new(keep, id, json_true());
        mark_used(doc, fw_lottie_asset_layers(asset), keep, depth + 1);
    }
}

static json_t *used_assets(json_t *doc, json_t *layers)
{
    json_t *keep = json_object(), *list = json_array(), *asset;
    size_t i;
    mark_used(doc, layers, keep, 0);
    json_array_foreach(fw_lottie_assets(doc), i, asset)
    {
        const char *id = fw_lottie_asset_id(asset);
        if (id && json_object_get(keep, id))
            json_array_append_new(list, json_deep_copy(asset));
    }
    json_decref(keep);
    return list;
}

fw_err fw_lottie_select_composition(json_t *doc, const char *name, json_t **out, fw_error *err)
{
    fw_lottie_comps comps;
    const fw_lottie_comp *c;
    json_t *result;
    fw_err rc;
    *out = NULL;
    if ((rc = fw_lottie_check(doc, err)) || (rc = fw_lottie_comps_list(doc, &comps, err)))
        return rc;
    if (!(c = fw_lottie_comps_find(&comps, name))) {
        char names[512];
        fw_lottie_comps_names(&comps, names, sizeof(names));
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "template.composition",
                          "No composition '%s' in the template; compositions: %s.", name, names);
        fw_lottie_comps_clear(&comps);
        return rc;
    }
    if (c->is_root) {
        fw_lottie_comps_clear(&comps);
        if (!(*out = json_deep_copy(doc)))
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory copying the template.");
        return FW_OK;
    }

    double in = 0, out_point = 0;
    json_t *layer;
    size_t i;
    if (c->source_layer) {
        double st = fw_lottie_layer_start_time(c->source_layer);
        in = fmax(0, fw_lottie_layer_in_point(c->source_layer) - st);
        out_point = fw_lottie_layer_out_point(c->source_layer) - st;
    }
    if (!(out_point > in)) {
        in = 0;
        out_point = 0;
        json_array_foreach(c->layers, i, layer) if (fw_lottie_layer_out_point(layer) > out_point) out_point =
            fw_lottie_layer_out_point(layer);
    }
    if (!(out_point > in))
        out_point = in + 1;

    /* Build the new root: the precomp's layers plus what the renderer needs
     * from the template as a whole (version, fonts, glyphs). */
    result = json_object();
    static const char *const carried[] = {"v", "ddd", "fonts", "chars"};
    for (i = 0; i < sizeof(carried) / sizeof(carried[0]); i++) {
        json_t *v = json_object_get(doc, carried[i]);
        if (v)
            json_object_set_new(result, carried[i], json_deep_copy(v));
    }
    json_object_set_new(result, "nm", json_string(c->name));
    json_object_set_new(result, "w", json_integer((json_int_t)lround(c->width)));
    json_object_set_new(result, "h", json_integer((json_int_t)lround(c->height)));
    json_object_set_new(result, "fr", json_real(fw_lottie_frame_rate(doc)));
    json_object_set_new(result, "ip", json_real(in));
    json_object_set_new(result, "op", json_real(out_point));
    json_object_set_new(result, "assets", used_assets(doc, c->layers));
    json_object_set_new(result, "layers", json_deep_copy(c->layers));
    fw_lottie_comps_clear(&comps);
    if (fw_lottie_check(result, NULL) != FW_OK) {
        json_decref(result);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory building the composition '%s'.", name);
    }
    *out = result;
    return FW_OK;
}

fw_err fw_template_select_composition(const fw_template *tpl, const char *name, json_t **out, fw_error *err)
{
    return fw_lottie_select_composition(fw_template_document(tpl), name, out, err);
}
