/*
 * sandbox.h - a Duktape heap for code from users: bounded memory, bounded time.
 *
 * Template expressions and job scripts both run JavaScript nobody on the
 * server wrote. A sandbox is one heap whose allocator counts bytes against a
 * cap, whose source is rewritten (fw_js_guard) so every loop condition and
 * function entry calls __fw_tick(), and whose __fw_tick() throws once a run
 * has used its ticks or its time, and keeps throwing until the run has
 * unwound (a try/catch in the code cannot swallow it). Debian's Duktape has
 * no execution timeout of its own; this is it.
 *
 * The heap has no file, network or process access (Duktape has none built
 * in); fw_js_lock() also takes away eval, Function and the Duktape object,
 * which would run code the guard has not seen.
 */
#ifndef FW_JS_SANDBOX_H
#define FW_JS_SANDBOX_H

#include <duktape.h>
#include <stddef.h>
#include <time.h>

#include "server/util/error.h"

typedef struct fw_js {
    duk_context *ctx;
    void *user;               /* the owner's, for its natives (fw_js_of(ctx)->user) */
    size_t mem_cap, mem_used;
    int oom;                  /* an allocation was refused since the last fw_js_begin() */
    /* the run in progress */
    int running;              /* __fw_tick() refuses to run code outside a run */
    int timed_out;
    unsigned long ticks, tick_limit;
    clockid_t clock;
    struct timespec deadline;
} fw_js;

/* A heap of at most mem_cap bytes with __fw_tick() defined; the caller adds its natives and
 * prelude, then calls fw_js_lock(). FW_ERR_NOMEM when the heap cannot be made. */
fw_err fw_js_open(fw_js *js, size_t mem_cap, void *user, fw_error *err);

/* Removes eval, Function (and the constructor route to it) and Duktape, and makes __fw_tick
 * permanent. 0, or -1 with the reason in why. */
int fw_js_lock(fw_js *js, char *why, size_t why_len);

void fw_js_close(fw_js *js);

fw_js *fw_js_of(duk_context *ctx);

/* Starts a run: at most tick_limit ticks and time_ms milliseconds of `clock` (CLOCK_MONOTONIC
 * for wall time, CLOCK_THREAD_CPUTIME_ID for CPU); clears timed_out and oom. */
void fw_js_begin(fw_js *js, unsigned long tick_limit, long time_ms, clockid_t clock);

/* Ends the run: __fw_tick() throws again until the next fw_js_begin(). */
void fw_js_end(fw_js *js);

/* Rewrites source so every loop condition and function entry calls __fw_tick(). Rejects what
 * the rewriting cannot see (regular expression literals, escapes outside strings, `with`,
 * unbalanced brackets, sources over max_len bytes). Line numbers are kept. Returns a malloc'd
 * string, or NULL with the reason in why. */
char *fw_js_guard(const char *src, size_t max_len, char *why, size_t why_len);

#endif
