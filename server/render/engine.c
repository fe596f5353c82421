/* engine.c - engine lookup and the calls every engine shares; see engine.h. */
#include "server/render/engine.h"

#include <string.h>
#include <strings.h>

static const fw_engine_class *const engines[] = {
    &fw_engine_cairo,
    &fw_engine_rlottie,
};

const fw_engine_class *fw_engine_find(const char *name)
{
    if (!name || !*name)
        return engines[0];
    for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
        if (strcasecmp(engines[i]->name, name) == 0)
            return engines[i];
    return NULL;
}

const char *fw_engine_names(void)
{
    return "cairo, rlottie";
}

fw_err fw_engine_load(fw_engine **out, const char *name, const char *json, size_t len, const fw_engine_options *opts,
                      fw_error *err)
{
    const fw_engine_class *cls = fw_engine_find(name);
    fw_engine_options none = {0};

    *out = NULL;
    if (!cls)
        return fw_error_set(err, FW_ERR_INVALID, "settings.engine", "no engine '%s'; engines: %s", name,
                            fw_engine_names());
    return cls->load(out, json, len, opts ? opts : &none, err);
}

void fw_engine_get_info(const fw_engine *engine, fw_engine_info *info)
{
    engine->cls->info(engine, info);
}

fw_err fw_engine_render(fw_engine *engine, int frame, uint32_t *pixels, int width, int height, size_t stride,
                        fw_error *err)
{
    return engine->cls->render(engine, frame, pixels, width, height, stride, err);
}

fw_err fw_engine_set_image(fw_engine *engine, const char *id, const uint32_t *pixels, int width, int height,
                           size_t stride, fw_error *err)
{
    if (!engine->cls->set_image)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "settings.engine",
                            "the %s engine cannot take image pixels from the caller", engine->cls->name);
    return engine->cls->set_image(engine, id, pixels, width, height, stride, err);
}

fw_err fw_engine_set_footage(fw_engine *engine, const char *id, const fw_engine_footage *footage, fw_error *err)
{
    if (!engine->cls->set_footage)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "settings.engine",
                            "the %s engine does not play video in layers; use the cairo engine", engine->cls->name);
    return engine->cls->set_footage(engine, id, footage, err);
}

const char *fw_engine_unsupported(const fw_engine *engine)
{
    const char *what = engine->cls->unsupported ? engine->cls->unsupported(engine) : NULL;
    return what ? what : "";
}

void fw_engine_free(fw_engine **engine)
{
    if (!engine || !*engine)
        return;
    (*engine)->cls->free(*engine);
    *engine = NULL;
}
