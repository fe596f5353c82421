/*
 * sandbox.c - a Duktape heap for code from users (see sandbox.h).
 */
#include "server/js/sandbox.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/util/log.h"

/* ---- the heap's memory, counted ------------------------------------------------------------------ */

typedef union mem_hdr {
    size_t size;
    max_align_t align;
} mem_hdr;

static void *mem_alloc(void *udata, duk_size_t size)
{
    fw_js *js = udata;
    mem_hdr *h;

    if (size == 0)
        return NULL;
    if (size > js->mem_cap || js->mem_used + size > js->mem_cap) {
        js->oom = 1;
        return NULL;
    }
    h = malloc(sizeof(*h) + size);
    if (!h)
        return NULL;
    h->size = size;
    js->mem_used += size;
    return h + 1;
}

static void mem_free(void *udata, void *ptr)
{
    fw_js *js = udata;
    mem_hdr *h;

    if (!ptr)
        return;
    h = (mem_hdr *)ptr - 1;
    js->mem_used -= h->size;
    free(h);
}

static void *mem_realloc(void *udata, void *ptr, duk_size_t size)
{
    fw_js *js = udata;
    mem_hdr *h, *n;
    size_t old;

    if (!ptr)
        return mem_alloc(udata, size);
    if (size == 0) {
        mem_free(udata, ptr);
        return NULL;
    }
    h = (mem_hdr *)ptr - 1;
    if (size > h->size && (size > js->mem_cap || js->mem_used - h->size + size > js->mem_cap)) {
        js->oom = 1;
        return NULL;
    }
    old = h->size;
    n = realloc(h, sizeof(*n) + size);
    if (!n)
        return NULL;
    n->size = size;
    js->mem_used = js->mem_used - old + size;
    return n + 1;
}

static void fatal_handler(void *udata, const char *msg)
{
    (void)udata;
    /* Only reached on errors outside a protected call, which the callers never make. */
    fw_log(FW_LOG_ERROR, "js", "duktape fatal error: %s", msg ? msg : "?");
    abort();
}

fw_js *fw_js_of(duk_context *ctx)
{
    duk_memory_functions f;
    duk_get_memory_functions(ctx, &f);
    return f.udata;
}

/* ---- the budget ---------------------------------------------------------------------------------- */

static int past_deadline(const fw_js *js)
{
    struct timespec now;
    clock_gettime(js->clock, &now);
    return now.tv_sec > js->deadline.tv_sec ||
           (now.tv_sec == js->deadline.tv_sec && now.tv_nsec >= js->deadline.tv_nsec);
}

static duk_ret_t native_tick(duk_context *ctx)
{
    fw_js *js = fw_js_of(ctx);

    if (!js->running)
        return duk_error(ctx, DUK_ERR_RANGE_ERROR, "code runs only while it is being evaluated");
    js->ticks++;
    if (!js->timed_out && (js->ticks > js->tick_limit || ((js->ticks & 255) == 0 && past_deadline(js))))
        js->timed_out = 1;
    if (js->timed_out)
        return duk_error(ctx, DUK_ERR_RANGE_ERROR, "time limit reached");
    duk_push_true(ctx);
    return 1;
}

void fw_js_begin(fw_js *js, unsigned long tick_limit, long time_ms, clockid_t clock)
{
    js->ticks = 0;
    js->tick_limit = tick_limit;
    js->timed_out = 0;
    js->oom = 0;
    js->clock = clock;
    clock_gettime(clock, &js->deadline);
    js->deadline.tv_nsec += (time_ms % 1000) * 1000000L;
    js->deadline.tv_sec += time_ms / 1000 + js->deadline.tv_nsec / 1000000000L;
    js->deadline.tv_nsec %= 1000000000L;
    js->running = 1;
}

void fw_js_end(fw_js *js)
{
    js->running = 0;
}

/* ---- the heap ------------------------------------------------------------------------------------ */

static duk_ret_t define_tick(duk_context *ctx, void *udata)
{
    (void)udata;
    duk_push_global_object(ctx);
    duk_push_c_function(ctx, native_tick, 0);
    duk_put_prop_string(ctx, -2, "__fw_tick");
    duk_pop(ctx);
    return 0;
}

fw_err fw_js_open(fw_js *js, size_t mem_cap, void *user, fw_error *err)
{
    memset(js, 0, sizeof(*js));
    js->user = user;
    js->mem_cap = mem_cap;
    js->ctx = duk_create_heap(mem_alloc, mem_realloc, mem_free, js, fatal_handler);
    if (!js->ctx)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "the JavaScript engine could not start");
    if (duk_safe_call(js->ctx, define_tick, NULL, 0, 1) != DUK_EXEC_SUCCESS) {
        fw_js_close(js);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "the JavaScript engine could not start");
    }
    duk_pop(js->ctx);
    return FW_OK;
}

void fw_js_close(fw_js *js)
{
    if (js->ctx)
        duk_destroy_heap(js->ctx);
    js->ctx = NULL;
}

/* Takes away what would run code the source guard has not seen, and fixes the budget check. */
static const char lockdown_js[] =
    "(function(g){"
    "var no=function(){throw new Error('not available here');};"
    "Object.defineProperty(Function.prototype,'constructor',{value:no,writable:false,configurable:false});"
    "delete g.eval;delete g.Function;delete g.Duktape;"
    "Object.defineProperty(g,'__fw_tick',{value:g.__fw_tick,writable:false,configurable:false,enumerable:false});"
    "})(this);";

static duk_ret_t lock_safe(duk_context *ctx, void *udata)
{
    (void)udata;
    duk_push_string(ctx, "lockdown");
    duk_compile_string_filename(ctx, 0, lockdown_js);
    duk_call(ctx, 0);
    return 0;
}

int fw_js_lock(fw_js *js, char *why, size_t why_len)
{
    int rc = duk_safe_call(js->ctx, lock_safe, NULL, 0, 1) == DUK_EXEC_SUCCESS ? 0 : -1;
    if (rc)
        snprintf(why, why_len, "%s", duk_safe_to_string(js->ctx, -1));
    duk_pop(js->ctx);
    return rc;
}

/* ---- bounding the source ------------------------------------------------------------------------- */

enum { K_PLAIN, K_WHILE, K_FOR, K_HEADER, K_PARAMS };

typedef struct guard_frame {
    char open;
    int kind;
    size_t open_pos;
    size_t semi[2];
    int nsemi;
} guard_frame;

typedef struct guard_ins {
    size_t pos;
    size_t seq;
    const char *text;
} guard_ins;

static int ins_cmp(const void *a, const void *b)
{
    const guard_ins *x = a, *y = b;
    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static int is_ident_char(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* Keywords after which a slash starts a regular expression, not a division. */
static int word_before_operand(const char *s, size_t n)
{
    static const char *const words[] = {"return", "typeof", "instanceof", "in", "of", "new", "delete",
                                        "void", "throw", "case", "do", "else"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (word_is(s, n, words[i]))
            return 1;
    return 0;
}

static void add_ins(guard_ins *ins, size_t *n, size_t pos, const char *text)
{
    ins[*n] = (guard_ins){pos, *n, text};
    (*n)++;
}

#define GUARD_FAIL(...)                              \
    do {                                             \
        snprintf(why, why_len, __VA_ARGS__);         \
        goto fail;                                   \
    } while (0)

/* The tokenizer only needs what decides where code is: strings, comments, brackets, and slashes.
 * Where it could disagree with Duktape (regex literals, escapes and non-ASCII outside strings, a
 * slash after a block) it rejects the source rather than guess. */
char *fw_js_guard(const char *src, size_t max_len, char *why, size_t why_len)
{
    size_t n = strlen(src), nins = 0, depth = 0, ins_cap = 2 * n + 4;
    guard_frame stack[256];
    guard_ins *ins = NULL;
    char *out = NULL;
    int prev_value = 0;   /* the last token ends an operand: a slash divides */
    int pending = K_PLAIN;/* keyword whose parenthesis comes next */
    int fn_state = 0;     /* 1: after `function`, 2: after its parameters */
    int after_dot = 0;

    if (n > max_len)
        GUARD_FAIL("the source is longer than %zu bytes", max_len);
    ins = malloc(sizeof(*ins) * ins_cap);
    if (!ins)
        GUARD_FAIL("out of memory");
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)src[i];
        int was_pending = pending;

        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
            i++;
            continue;
        }
        if (c >= 0x80)
            GUARD_FAIL("non-ASCII characters outside strings are not supported");
        if (c == '\\' || c == '`')
            GUARD_FAIL("'%c' outside strings is not supported", c);
        if (c == '/' && i + 1 < n && src[i + 1] == '/') {
            for (i += 2; i < n && src[i] != '\n' && src[i] != '\r'; i++)
                if ((unsigned char)src[i] >= 0x80)
                    GUARD_FAIL("non-ASCII characters in // comments are not supported");
            continue;
        }
        if (c == '/' && i + 1 < n && src[i + 1] == '*') {
            const char *end = strstr(src + i + 2, "*/");
            if (!end)
                GUARD_FAIL("unterminated comment");
            i = (size_t)(end - src) + 2;
            continue;
        }
        pending = K_PLAIN;
        if (c == '"' || c == '\'') {
            size_t j = i + 1;
            while (j < n && (unsigned char)src[j] != c) {
                if (src[j] == '\\')
                    j++;
                j++;
            }
            if (j >= n)
                GUARD_FAIL("unterminated string");
            i = j + 1;
            prev_value = 1;
            after_dot = 0;
            if (fn_state == 2)
                fn_state = 0;
            continue;
        }
        if (is_ident_start(c) || (c >= '0' && c <= '9')) {
            size_t j = i;
            while (j < n && (is_ident_char((unsigned char)src[j]) || (!is_ident_start(c) && src[j] == '.')))
                j++;
            const char *w = src + i;
            size_t wn = j - i;
            if (word_is(w, wn, "__fw_tick"))
                GUARD_FAIL("'__fw_tick' is reserved");
            if (!after_dot && word_is(w, wn, "with"))
                GUARD_FAIL("the with statement is not supported");
            prev_value = 1;
            if (!after_dot && is_ident_start(c)) {
                if (word_is(w, wn, "while"))
                    pending = K_WHILE;
                else if (word_is(w, wn, "for"))
                    pending = K_FOR;
                else if (word_is(w, wn, "if") || word_is(w, wn, "switch") || word_is(w, wn, "catch"))
                    pending = K_HEADER;
                else if (word_is(w, wn, "function"))
                    fn_state = 1;
                if (pending != K_PLAIN || word_before_operand(w, wn))
                    prev_value = 0;
            }
            if (fn_state == 2)
                fn_state = 0;
            after_dot = 0;
            i = j;
            continue;
        }
        after_dot = c == '.';
        switch (c) {
        case '(':
            if (depth == sizeof(stack) / sizeof(stack[0]))
                GUARD_FAIL("brackets are nested too deeply");
            stack[depth] = (guard_frame){'(', fn_state == 1 ? K_PARAMS : was_pending, i, {0, 0}, 0};
            depth++;
            if (fn_state == 1)
                fn_state = 0;
            prev_value = 0;
            break;
        case '[':
        case '{':
            if (depth == sizeof(stack) / sizeof(stack[0]))
                GUARD_FAIL("brackets are nested too deeply");
            if (c == '{' && fn_state == 2)
                add_ins(ins, &nins, i + 1, "__fw_tick();");
            fn_state = 0;
            stack[depth++] = (guard_frame){(char)c, K_PLAIN, i, {0, 0}, 0};
            prev_value = 0;
            break;
        case ')':
        case ']':
        case '}': {
            char open = c == ')' ? '(' : c == ']' ? '[' : '{';
            if (depth == 0 || stack[depth - 1].open != open)
                GUARD_FAIL("unbalanced '%c'", c);
            guard_frame *f = &stack[--depth];
            fn_state = 0;
            prev_value = c != '}';
            if (f->kind == K_WHILE) {
                add_ins(ins, &nins, f->open_pos + 1, "__fw_tick()&&(");
                add_ins(ins, &nins, i, ")");
                prev_value = 0;
            } else if (f->kind == K_FOR) {
                if (f->nsemi == 2) {
                    size_t a = f->semi[0] + 1, b = f->semi[1], k = a;
                    while (k < b && (src[k] == ' ' || src[k] == '\t' || src[k] == '\n' || src[k] == '\r'))
                        k++;
                    if (k == b) {
                        add_ins(ins, &nins, a, "__fw_tick()");
                    } else {
                        add_ins(ins, &nins, a, "__fw_tick()&&(");
                        add_ins(ins, &nins, b, ")");
                    }
                } else if (f->nsemi != 0) {
                    GUARD_FAIL("malformed for statement");
                }
                prev_value = 0;
            } else if (f->kind == K_HEADER) {
                prev_value = 0;
            } else if (f->kind == K_PARAMS) {
                fn_state = 2;
            }
            break;
        }
        case ';':
            if (depth > 0 && stack[depth - 1].kind == K_FOR && stack[depth - 1].nsemi < 2)
                stack[depth - 1].semi[stack[depth - 1].nsemi++] = i;
            fn_state = 0;
            prev_value = 0;
            break;
        case '/':
            if (!prev_value)
                GUARD_FAIL("regular expression literals are not supported (use new RegExp())");
            fn_state = 0;
            prev_value = 0;
            break;
        default:
            fn_state = 0;
            prev_value = 0;
            break;
        }
        i++;
    }
    if (depth != 0)
        GUARD_FAIL("unbalanced '%c'", stack[depth - 1].open);

    qsort(ins, nins, sizeof(*ins), ins_cmp);
    size_t extra = 0;
    for (size_t k = 0; k < nins; k++)
        extra += strlen(ins[k].text);
    out = malloc(n + extra + 1);
    if (!out)
        GUARD_FAIL("out of memory");
    size_t o = 0, at = 0;
    for (size_t k = 0; k < nins; k++) {
        memcpy(out + o, src + at, ins[k].pos - at);
        o += ins[k].pos - at;
        at = ins[k].pos;
        size_t tl = strlen(ins[k].text);
        memcpy(out + o, ins[k].text, tl);
        o += tl;
    }
    memcpy(out + o, src + at, n - at);
    out[o + n - at] = '\0';
    free(ins);
    return out;
fail:
    free(ins);
    return NULL;
}
