/* libFuzzer: arbitrary bytes as a script asset's code, run on a small
 * document with a short time limit. The source guard and the sandbox either
 * run it or refuse it with a message; nothing crashes, leaks or runs past
 * its limit, and a document that comes back is still a document. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/js/script.h"
#include "server/util/log.h"

static const char doc_text[] =
    "{\"v\":\"5.7.4\",\"fr\":30,\"ip\":0,\"op\":30,\"w\":64,\"h\":64,\"nm\":\"main\",\"assets\":[],"
    "\"layers\":[{\"ty\":5,\"nm\":\"title\",\"ks\":{},\"t\":{\"d\":{\"k\":[{\"s\":{\"t\":\"Hi\",\"s\":12}}]}}},"
    "{\"ty\":1,\"nm\":\"bg\",\"sc\":\"#000000\",\"sw\":64,\"sh\":64,\"ks\":{}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    char *source = malloc(size + 1);
    json_t *doc = json_loads(doc_text, 0, NULL), *asset = json_pack("{s:s,s:[{s:s,s:i}]}", "type", "script",
                                                                     "parameters", "key", "n", "value", 3);
    fw_script_input in = {.asset = asset, .composition = "main", .comp_asset = -1};
    fw_script_limits limits = {.cpu_ms = 20, .memory = 8u << 20};
    fw_error err;
    char why[300];

    if (!quiet) {
        fw_log_set_level(FW_LOG_ERROR);
        quiet = 1;
    }
    if (!source || !doc || !asset)
        abort();
    memcpy(source, data, size);
    source[size] = '\0';
    in.source = source;
    fw_error_clear(&err);
    if (fw_script_run(&doc, &in, &limits, &err) == FW_OK) {
        if (!json_is_array(json_object_get(doc, "layers")))
            abort();
    } else if (err.code == FW_OK || err.message[0] == '\0') {
        abort();
    }
    if (fw_script_check(source, why, sizeof(why)) != 0 && why[0] == '\0')
        abort();
    json_decref(doc);
    json_decref(asset);
    free(source);
    return 0;
}
