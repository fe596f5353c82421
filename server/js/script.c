/*
 * script.c - script assets in a sandbox of their own (see script.h).
 *
 * The document crosses into the heap as JSON text (duk_json_decode) and
 * comes back the same way, so what the script leaves is plain data whatever
 * it did; the result is parsed again by jansson and must still be a Lottie
 * document (an object with a layers array) before it replaces the old one.
 */
#include "server/js/script.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/js/sandbox.h"
#include "server/util/log.h"

#define LOG_MAX_LINES 100
#define LOG_MAX_LINE 1000

/* What scripts get besides the document; our code, so not guarded. */
static const char script_prelude[] =
    "(function(g){\n"
    "function nameOf(l){return typeof l==='string'?l:(l&&l.nm);}\n"
    "g.layers=function(name){var c=g.composition,out=[],ls=(c&&c.layers)||[];"
    "for(var i=0;i<ls.length;i++)if(ls[i]&&ls[i].nm===name)out.push(ls[i]);return out;};\n"
    "g.layer=function(name){var ls=g.layers(name);if(!ls.length)throw new Error(\"no layer '\"+name+"
    "\"' in composition '\"+g.job.composition+\"'\");return ls[0];};\n"
    "g.setText=function(l,s){var ls=typeof l==='string'?g.layers(l):[l];if(!ls.length)"
    "throw new Error(\"no layer '\"+nameOf(l)+\"' in composition '\"+g.job.composition+\"'\");"
    "for(var i=0;i<ls.length;i++){var x=ls[i];if(!x||x.ty!==5||!x.t||!x.t.d||!x.t.d.k)"
    "throw new Error(\"layer '\"+nameOf(x)+\"' is not a text layer\");"
    "for(var k=0;k<x.t.d.k.length;k++)if(x.t.d.k[k]&&x.t.d.k[k].s)x.t.d.k[k].s.t=String(s);}};\n"
    "g.console={log:function(){var a=[];for(var i=0;i<arguments.length;i++){var v=arguments[i];"
    "a.push(typeof v==='string'?v:JSON.stringify(v));}__fw_log(a.join(' '));}};\n"
    "})(this);\n";

typedef struct script_run {
    const fw_script_input *in;
    const char *doc_text;
    const char *data_text;
    const char *guarded;
    char *result;        /* malloc'd JSON of the document afterwards */
    char **lines;
    int nlines;
    int dropped;
} script_run;

static duk_ret_t native_log(duk_context *ctx)
{
    script_run *r = fw_js_of(ctx)->user;
    const char *s = duk_safe_to_string(ctx, 0);
    if (r->nlines == LOG_MAX_LINES) {
        r->dropped++;
        return 0;
    }
    char **lines = realloc(r->lines, sizeof(*lines) * (size_t)(r->nlines + 1));
    if (!lines)
        return 0;
    r->lines = lines;
    r->lines[r->nlines] = strndup(s, LOG_MAX_LINE);
    if (r->lines[r->nlines])
        r->nlines++;
    return 0;
}

static duk_ret_t setup_safe(duk_context *ctx, void *udata)
{
    script_run *r = udata;
    const fw_script_input *in = r->in;
    const char *keyword = json_string_value(json_object_get(in->asset, "keyword"));

    duk_push_global_object(ctx);
    duk_push_c_function(ctx, native_log, 1);
    duk_put_prop_string(ctx, -2, "__fw_log");

    duk_push_string(ctx, r->doc_text);
    duk_json_decode(ctx, -1);
    if (!duk_is_object(ctx, -1) || duk_is_array(ctx, -1))
        return duk_error(ctx, DUK_ERR_TYPE_ERROR, "the template is not an object");
    duk_dup(ctx, -1);
    duk_put_prop_string(ctx, -3, "template");
    if (in->comp_asset >= 0) {
        duk_get_prop_string(ctx, -1, "assets");
        duk_get_prop_index(ctx, -1, (duk_uarridx_t)in->comp_asset);
        duk_remove(ctx, -2);
        duk_remove(ctx, -2);
    }
    duk_put_prop_string(ctx, -2, "composition");

    duk_push_object(ctx); /* job */
    duk_push_string(ctx, r->data_text);
    duk_json_decode(ctx, -1);
    duk_dup(ctx, -1);
    duk_put_prop_string(ctx, -3, "data");
    duk_push_string(ctx, in->composition ? in->composition : "");
    duk_put_prop_string(ctx, -3, "composition");
    duk_put_prop_string(ctx, -2, "__fw_params"); /* job.data again, for NX.get */
    duk_put_prop_string(ctx, -2, "job");

    duk_push_object(ctx); /* NX */
    duk_push_string(ctx, "(function(d){return function(k){return Object.prototype.hasOwnProperty.call(d,k)?d[k]:"
                         "undefined;};})");
    duk_push_string(ctx, "prelude");
    duk_compile(ctx, DUK_COMPILE_EVAL);
    duk_call(ctx, 0);
    duk_get_prop_string(ctx, -3, "job");
    duk_get_prop_string(ctx, -1, "__fw_params");
    duk_remove(ctx, -2);
    duk_call(ctx, 1);
    duk_put_prop_string(ctx, -2, "get");
    duk_put_prop_string(ctx, -2, keyword && *keyword ? keyword : "NX");
    duk_get_prop_string(ctx, -1, "job");
    duk_del_prop_string(ctx, -1, "__fw_params");
    duk_pop(ctx);
    duk_pop(ctx);

    duk_push_string(ctx, "prelude");
    duk_compile_string_filename(ctx, 0, script_prelude);
    duk_call(ctx, 0);
    duk_pop(ctx);
    return 0;
}

static duk_ret_t run_safe(duk_context *ctx, void *udata)
{
    script_run *r = udata;

    duk_push_string(ctx, r->in->name ? r->in->name : "script");
    duk_compile_string_filename(ctx, 0, r->guarded);
    duk_call(ctx, 0);
    duk_pop(ctx);
    duk_get_global_string(ctx, "template");
    if (!duk_is_object(ctx, -1) || duk_is_array(ctx, -1) || duk_is_function(ctx, -1))
        return duk_error(ctx, DUK_ERR_TYPE_ERROR, "the script left 'template' something other than a document");
    duk_json_encode(ctx, -1);
    r->result = strdup(duk_get_string(ctx, -1));
    if (!r->result)
        return duk_error(ctx, DUK_ERR_ERROR, "out of memory");
    return 0;
}

/* The line an error at the top of the stack names (0: none) and its text with the line: "Error:
 * boom (line 3)" (Duktape's syntax errors carry the line in their message already). */
static int describe_error(duk_context *ctx, const char *name, char *buf, size_t len)
{
    char msg[500], frame[160];
    int line = 0;
    const char *at;

    duk_dup(ctx, -1);
    snprintf(msg, sizeof(msg), "%s", duk_safe_to_string(ctx, -1)); /* coerces the copy, not the error */
    duk_pop(ctx);
    at = strstr(msg, "(line ");
    if (at) {
        line = atoi(at + 6);
    } else if (duk_is_object(ctx, -1)) {
        /* The innermost frame of the script itself in the traceback ("at f (script:3)"): an error
         * thrown by a helper or by the time check names their line, not the script's. */
        duk_get_prop_string(ctx, -1, "stack");
        const char *stack = duk_is_string(ctx, -1) ? duk_get_string(ctx, -1) : NULL;
        snprintf(frame, sizeof(frame), "(%s:", name);
        const char *f = stack ? strstr(stack, frame) : NULL;
        if (f)
            line = atoi(f + strlen(frame));
        duk_pop(ctx);
    }
    if (line > 0 && !at)
        snprintf(buf, len, "%s (line %d)", msg, line);
    else
        snprintf(buf, len, "%s", msg);
    return line;
}

static char *data_json(const json_t *asset)
{
    const json_t *data = json_object_get(asset, "data"), *params = json_object_get(asset, "parameters"), *p;
    json_t *all = json_is_object(data) ? json_deep_copy(data) : json_object();
    size_t i;
    char *text;

    if (!all)
        return NULL;
    json_array_foreach(params, i, p)
    {
        const char *key = json_string_value(json_object_get(p, "key"));
        json_t *value = json_object_get(p, "value");
        if (key)
            json_object_set(all, key, value ? value : json_null());
    }
    text = json_dumps(all, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(all);
    return text;
}

fw_err fw_script_run(json_t **doc, const fw_script_input *in, const fw_script_limits *limits, fw_error *err)
{
    long cpu_ms = limits && limits->cpu_ms > 0 ? limits->cpu_ms : FW_SCRIPT_CPU_MS;
    size_t memory = limits && limits->memory > 0 ? limits->memory : FW_SCRIPT_MEMORY;
    script_run r = {.in = in};
    char why[600] = "", *guarded = NULL, *doc_text = NULL, *data_text = NULL;
    const char *name = in->name ? in->name : "script";
    fw_js js;
    json_t *out = NULL;
    json_error_t jerr;
    fw_err rc = FW_OK;
    int heap = 0;

    if (!(guarded = fw_js_guard(in->source, FW_SCRIPT_MAX_SOURCE, why, sizeof(why)))) {
        rc = fw_error_set(err, FW_ERR_INVALID, NULL, "the %s cannot run: %s", name, why);
        goto done;
    }
    doc_text = json_dumps(*doc, JSON_COMPACT);
    data_text = data_json(in->asset);
    if (!doc_text || !data_text) {
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
        goto done;
    }
    r.guarded = guarded;
    r.doc_text = doc_text;
    r.data_text = data_text;
    if ((rc = fw_js_open(&js, memory, &r, err)))
        goto done;
    heap = 1;
    if (duk_safe_call(js.ctx, setup_safe, &r, 0, 1) != DUK_EXEC_SUCCESS) {
        describe_error(js.ctx, name, why, sizeof(why));
        rc = js.oom ? fw_error_set(err, FW_ERR_LIMIT, NULL, "the template does not fit in the %s's %zu MiB",
                                   name, memory >> 20)
                    : fw_error_set(err, FW_ERR_INTERNAL, NULL, "the %s could not be set up: %s", name, why);
        goto done;
    }
    duk_pop(js.ctx);
    if (fw_js_lock(&js, why, sizeof(why))) {
        rc = fw_error_set(err, FW_ERR_INTERNAL, NULL, "the %s could not be set up: %s", name, why);
        goto done;
    }

    fw_js_begin(&js, ULONG_MAX, cpu_ms, CLOCK_THREAD_CPUTIME_ID);
    int ok = duk_safe_call(js.ctx, run_safe, &r, 0, 1) == DUK_EXEC_SUCCESS;
    fw_js_end(&js);
    if (!ok || js.timed_out || js.oom) {
        int line = describe_error(js.ctx, name, why, sizeof(why));
        char at[32] = "";
        if (line > 0)
            snprintf(at, sizeof(at), " at line %d", line);
        if (js.timed_out)
            rc = fw_error_set(err, FW_ERR_LIMIT, NULL, "the %s used its %.3g s of CPU time and was stopped%s", name,
                              (double)cpu_ms / 1000, at);
        else if (js.oom)
            rc = fw_error_set(err, FW_ERR_LIMIT, NULL, "the %s used its %zu MiB of memory and was stopped%s", name,
                              memory >> 20, at);
        else
            rc = fw_error_set(err, FW_ERR_INVALID, NULL, "the %s failed: %s", name, why);
        goto done;
    }
    duk_pop(js.ctx);

    out = json_loads(r.result, 0, &jerr);
    if (!out) {
        rc = fw_error_set(err, FW_ERR_INVALID, NULL, "the %s left a document that is not JSON: %s", name, jerr.text);
        goto done;
    }
    if (!json_is_array(json_object_get(out, "layers"))) {
        rc = fw_error_set(err, FW_ERR_INVALID, NULL, "the %s left a document without a layers array", name);
        goto done;
    }
    json_decref(*doc);
    *doc = out;
    out = NULL;
done:
    for (int i = 0; i < r.nlines; i++) {
        fw_log(FW_LOG_INFO, "script", "%s: %s", name, r.lines[i]);
        free(r.lines[i]);
    }
    if (r.dropped)
        fw_log(FW_LOG_INFO, "script", "%s: %d more lines not shown", name, r.dropped);
    free(r.lines);
    if (heap)
        fw_js_close(&js);
    json_decref(out);
    free(r.result);
    free(guarded);
    free(doc_text);
    free(data_text);
    return rc;
}

static duk_ret_t compile_safe(duk_context *ctx, void *udata)
{
    duk_push_string(ctx, "script");
    duk_compile_string_filename(ctx, 0, udata);
    return 0;
}

int fw_script_check(const char *source, char *why, size_t why_len)
{
    char *guarded = fw_js_guard(source, FW_SCRIPT_MAX_SOURCE, why, why_len);
    fw_js js;
    int rc = -1;

    if (!guarded)
        return -1;
    if (fw_js_open(&js, FW_SCRIPT_MEMORY, NULL, NULL) != FW_OK) {
        snprintf(why, why_len, "the JavaScript engine could not start");
        free(guarded);
        return -1;
    }
    if (duk_safe_call(js.ctx, compile_safe, guarded, 0, 1) == DUK_EXEC_SUCCESS)
        rc = 0;
    else
        describe_error(js.ctx, "script", why, why_len);
    fw_js_close(&js);
    free(guarded);
    return rc;
}
