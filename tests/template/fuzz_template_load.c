/*
 * fuzz_template_load.c - libFuzzer target for the template loader.
 *
 * Each input is written once as a .json file and once as a .zip bundle and
 * loaded both ways; a loaded template is also introspected and has its root
 * selected, so the document model sees whatever the parser accepted. The
 * working folder is emptied after each run.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/template/template.h"
#include "server/util/fs.h"

static char base[256];

static void exercise(const char *path, const char *work)
{
    fw_template *tpl = NULL;
    fw_error err;
    fw_template_limits limits;
    fw_template_limits_init(&limits);
    limits.max_total_bytes = 8u << 20; /* keep each run small */
    limits.max_file_bytes = 4u << 20;
    if (fw_template_load(&tpl, path, work, &limits, &err) == FW_OK) {
        json_t *out = NULL;
        if (fw_template_introspect(tpl, &out, &err) == FW_OK)
            json_decref(out);
        if (fw_template_select_composition(tpl, NULL, &out, &err) == FW_OK)
            json_decref(out);
        fw_template_free(&tpl);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char json[300], zip[300], work[300];
    FILE *f;
    if (!base[0]) {
        snprintf(base, sizeof(base), "/tmp/fw-fuzz-template-%d", (int)getpid());
        mkdir(base, 0700);
    }
    snprintf(json, sizeof(json), "%s/t.json", base);
    snprintf(zip, sizeof(zip), "%s/t.zip", base);
    snprintf(work, sizeof(work), "%s/work", base);
    for (int i = 0; i < 2; i++) {
        const char *path = i ? zip : json;
        if (!(f = fopen(path, "wb")))
            return 0;
        /* The zip run always sees zip magic first, so the bytes after it
         * reach libzip and the entry checks. */
        if (i && (size < 2 || data[0] != 'P' || data[1] != 'K'))
            fwrite("PK\x03\x04", 1, 4, f);
        fwrite(data, 1, size, f);
        fclose(f);
        mkdir(work, 0700);
        exercise(path, work);
        fw_remove_tree(work);
    }
    return 0;
}
