/*
 * fuzz_cairo_engine.c - libFuzzer target for the Cairo engine.
 *
 * Each input is taken as a Lottie document: loaded (model, expressions,
 * text with the default font) and, when it loads, drawn at a few frames
 * into a small buffer. Nothing may crash, leak, hang or grow without bound.
 */
#include <stdint.h>
#include <stdlib.h>

#include "server/render/engine.h"
#include "server/text/fonts.h"

static fw_fontset *fonts;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint32_t pixels[48 * 36];
    fw_engine_options opts = {0};
    fw_engine *engine = NULL;
    fw_engine_info info;
    fw_error err;

    if (!fonts && fw_fontset_new(&fonts, NULL, &err) != FW_OK)
        abort();
    opts.fonts = fonts;
    if (fw_engine_load(&engine, "cairo", (const char *)data, size, &opts, &err) != FW_OK)
        return 0;
    fw_engine_get_info(engine, &info);
    int frames[3] = {0, info.frame_count / 3, info.frame_count - 1};
    for (int i = 0; i < 3; i++)
        fw_engine_render(engine, frames[i], pixels, 48, 36, 48 * 4, &err);
    fw_engine_free(&engine);
    return 0;
}
