/*
 * script.h - a job's script asset, run on the template before the render.
 *
 * The script is JavaScript (ES5, Duktape) in a sandbox of its own
 * (sandbox.h). It sees the Lottie document as plain objects and may change
 * anything in it; what it leaves is serialised back and replaces the
 * document. Globals:
 *
 *   template        the whole Lottie document (w, h, fr, ip, op, layers, assets ...)
 *   composition     the composition the asset targets: the document itself
 *                   for the main one, else its entry in template.assets
 *   job.data        the asset's "data" object with its "parameters"
 *                   ([{key, value}]) added as properties
 *   job.composition the composition's name
 *   NX.get(key)     a parameter's value (undefined when absent); the name
 *                   "NX" is the asset's "keyword" when it has one
 *   layers(name)    the layers of that name in composition (an array)
 *   layer(name)     the first of them; throws when there is none
 *   setText(l, s)   sets a text layer's text at every keyframe (l: a layer or a name)
 *   console.log()   a line in the job's log
 *
 * Limits: FW_SCRIPT_CPU_MS of CPU time and FW_SCRIPT_MEMORY bytes of heap
 * (the document counts), no file, network or process access. A script that
 * throws, runs out of time or memory, or leaves something that is not a
 * document fails with its message and line.
 */
#ifndef FW_JS_SCRIPT_H
#define FW_JS_SCRIPT_H

#include <jansson.h>
#include <stddef.h>

#include "server/util/error.h"

#define FW_SCRIPT_CPU_MS 2000
#define FW_SCRIPT_MEMORY (64u << 20)
#define FW_SCRIPT_MAX_SOURCE (1u << 20)

typedef struct fw_script_limits {
    long cpu_ms;      /* 0: FW_SCRIPT_CPU_MS */
    size_t memory;    /* 0: FW_SCRIPT_MEMORY */
} fw_script_limits;

typedef struct fw_script_input {
    const char *source;
    const char *name;         /* in messages: "script" unless given */
    const json_t *asset;      /* data, parameters, keyword */
    const char *composition;  /* its name, for job.composition and messages */
    int comp_asset;           /* index in doc "assets" of the composition; -1: the main one */
} fw_script_input;

/* Runs the script on *doc; on success *doc is the changed document (a new reference). Errors
 * are FW_ERR_INVALID (the script threw, did not compile, or left no document) and FW_ERR_LIMIT
 * (time or memory), with the line in the message; the field is left to the caller. */
fw_err fw_script_run(json_t **doc, const fw_script_input *in, const fw_script_limits *limits, fw_error *err);

/* Compiles without running: 0, or -1 with the message and line in why. */
int fw_script_check(const char *source, char *why, size_t why_len);

#endif
