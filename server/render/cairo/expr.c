/*
 * expr.c - After Effects expressions on Duktape (see expr.h).
 *
 * The model is described to the prelude (expr_prelude.js) as plain objects
 * whose properties carry registry ids; the prelude builds the interfaces.
 * Each expression is compiled once into a closure over its property's scope
 * and called per frame with (time, value); the JavaScript side reads other
 * properties through __fw_val(), which evaluates them here (with their own
 * expressions, guarded against cycles).
 *
 * Bounds: the heap is a sandbox (server/js/sandbox.h) of LT_EXPR_MEMORY_CAP
 * bytes; every expression's source is guarded, and each evaluation from the
 * top gets LT_EXPR_TICK_LIMIT ticks and LT_EXPR_TIME_LIMIT_MS of wall time.
 */
#include "server/render/cairo/expr.h"

#include <duktape.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/js/sandbox.h"
#include "server/util/log.h"

extern const unsigned char lt_expr_prelude[]; /* expr_prelude.js, embedded at build time */

#define EXPR_MAX_SOURCE (256u << 10)
#define EXPR_MAX_DEPTH 32 /* nested evaluations (an expression reading one reading one ...) */
/* Runaways (time or memory) a document may have before the rest of its expressions are switched
 * off too: what a hostile document can cost is a few time limits, not one per expression. */
#define EXPR_MAX_RUNAWAYS 4

struct lt_expr {
    int id;                 /* registry id of the property */
    int fn;                 /* index of the compiled closure in the stash */
    const lt_layer *layer;
    int busy;               /* being evaluated: a cycle reads the keyframes instead */
    int dead;               /* ran out of time or memory: keyframes from now on */
};

typedef struct expr_entry {
    lt_prop *p;             /* one of p, pp */
    lt_path_prop *pp;
    const lt_layer *layer;
    const char *where;      /* "layer/property" for reports, in the env's name buffer */
} expr_entry;

typedef struct expr_env {
    fw_js js;
    duk_context *ctx;       /* js.ctx */
    lt_doc *doc;
    expr_entry *reg;
    int nreg, reg_cap;
    struct lt_expr **exprs;
    int nexprs, exprs_cap;
    int active;
    /* the evaluation in progress */
    int depth;
    int runaways;
    /* scratch for keyframe values */
    double *scratch;
    int scratch_cap;
    lt_bez bez;
    int bez_cap;
} expr_env;

static expr_env *env_of(duk_context *ctx)
{
    return fw_js_of(ctx)->user;
}

/* ---- values between C and JavaScript --------------------------------------------------------------- */

static int ensure_scratch(expr_env *env, int dims)
{
    if (dims <= env->scratch_cap)
        return 0;
    double *s = realloc(env->scratch, sizeof(double) * (size_t)dims);
    if (!s)
        return -1;
    env->scratch = s;
    env->scratch_cap = dims;
    return 0;
}

static void push_numbers(duk_context *ctx, const double *v, int n)
{
    if (n == 1) {
        duk_push_number(ctx, v[0]);
        return;
    }
    duk_push_array(ctx);
    for (int i = 0; i < n; i++) {
        duk_push_number(ctx, v[i]);
        duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
    }
}

static void push_pts(duk_context *ctx, const lt_pt *pts, int n)
{
    duk_push_array(ctx);
    for (int k = 0; k < n; k++) {
        duk_push_array(ctx);
        duk_push_number(ctx, pts[k].x);
        duk_put_prop_index(ctx, -2, 0);
        duk_push_number(ctx, pts[k].y);
        duk_put_prop_index(ctx, -2, 1);
        duk_put_prop_index(ctx, -2, (duk_uarridx_t)k);
    }
}

/* The keyframed value of a registry entry at a layer-local frame. */
static void push_keys_value(expr_env *env, const expr_entry *e, double frame)
{
    duk_context *ctx = env->ctx;

    if (e->p) {
        int dims = e->p->dims > 0 ? e->p->dims : 1;
        if (ensure_scratch(env, dims) != 0) {
            (void)duk_error(ctx, DUK_ERR_RANGE_ERROR, "out of memory");
            return;
        }
        if (e->p->dims > 0)
            lt_prop_eval_keys(e->p, frame, env->scratch);
        else
            env->scratch[0] = 0;
        push_numbers(ctx, env->scratch, dims);
        return;
    }
    int n = lt_path_prop_eval_bez(e->pp, frame, &env->bez, &env->bez_cap);
    if (n < 0) {
        int want = -n;
        lt_pt *v = realloc(env->bez.v, sizeof(lt_pt) * (size_t)want);
        if (v)
            env->bez.v = v;
        lt_pt *in = v ? realloc(env->bez.i, sizeof(lt_pt) * (size_t)want) : NULL;
        if (in)
            env->bez.i = in;
        lt_pt *out = in ? realloc(env->bez.o, sizeof(lt_pt) * (size_t)want) : NULL;
        if (out)
            env->bez.o = out;
        if (!out) {
            (void)duk_error(ctx, DUK_ERR_RANGE_ERROR, "out of memory");
            return;
        }
        env->bez_cap = want;
        n = lt_path_prop_eval_bez(e->pp, frame, &env->bez, &env->bez_cap);
    }
    if (n < 0)
        n = 0;
    duk_push_object(ctx);
    push_pts(ctx, env->bez.v, n);
    duk_put_prop_string(ctx, -2, "v");
    push_pts(ctx, env->bez.i, n);
    duk_put_prop_string(ctx, -2, "i");
    push_pts(ctx, env->bez.o, n);
    duk_put_prop_string(ctx, -2, "o");
    duk_push_boolean(ctx, env->bez.closed);
    duk_put_prop_string(ctx, -2, "c");
}


typedef struct run_args {
    expr_env *env;
    struct lt_expr *x;
    double frame, comp_frame;
} run_args;

static duk_ret_t run_safe(duk_context *ctx, void *udata)
{
    run_args *a = udata;
    expr_env *env = a->env;

    duk_push_global_stash(ctx);
    duk_get_prop_string(ctx, -1, "fns");
    duk_get_prop_index(ctx, -1, (duk_uarridx_t)a->x->fn);
    duk_push_number(ctx, a->comp_frame / (env->doc->fr > 0 ? env->doc->fr : 30));
    push_keys_value(env, &env->reg[a->x->id], a->frame);
    duk_call(ctx, 2);
    return 1;
}

/* Runs an expression at a layer-local frame: 0 and its normalised result on the stack, or -1 with
 * nothing pushed and the reason in why (NULL: not wanted). */
static int expr_run(expr_env *env, struct lt_expr *x, double frame, char *why, size_t why_len)
{
    duk_context *ctx = env->ctx;
    run_args a = {env, x, frame, frame};
    double saved_frame;
    int rc;

    if (env->runaways >= EXPR_MAX_RUNAWAYS)
        x->dead = 1; /* a document whose expressions keep running out of time gets none run */
    if (x->busy || x->dead || env->depth >= EXPR_MAX_DEPTH || !duk_check_stack(ctx, 16)) {
        if (why)
            snprintf(why, why_len, "%s", x->dead ? "switched off" : "evaluated recursively");
        return -1;
    }
    if (env->depth == 0)
        fw_js_begin(&env->js, LT_EXPR_TICK_LIMIT, LT_EXPR_TIME_LIMIT_MS, CLOCK_MONOTONIC);
    duk_get_global_string(ctx, "__fw_F");
    saved_frame = duk_get_number_default(ctx, -1, 0);
    duk_pop(ctx);
    duk_push_number(ctx, a.comp_frame);
    duk_put_global_string(ctx, "__fw_F");

    x->busy = 1;
    env->depth++;
    rc = duk_safe_call(ctx, run_safe, &a, 0, 1);
    env->depth--;
    x->busy = 0;
    if (env->depth == 0)
        fw_js_end(&env->js);

    duk_push_number(ctx, saved_frame);
    duk_put_global_string(ctx, "__fw_F");

    if (rc == DUK_EXEC_SUCCESS && !env->js.timed_out && !env->js.oom)
        return 0;
    if (env->js.timed_out || env->js.oom) {
        /* A runaway is switched off; the stack above it unwinds with errors too. */
        x->dead = 1;
        env->runaways++;
        if (why)
            snprintf(why, why_len, "%s", env->js.timed_out ? "time limit reached" : "memory limit reached");
    } else if (why) {
        snprintf(why, why_len, "%s", duk_safe_to_string(ctx, -1));
    }
    duk_pop(ctx);
    if (env->depth == 0 && env->js.oom)
        duk_gc(ctx, 0);
    return -1;
}

/* ---- natives the prelude calls ------------------------------------------------------------------- */

static const expr_entry *entry_arg(duk_context *ctx, expr_env *env)
{
    duk_int_t id = duk_require_int(ctx, 0);
    if (id < 0 || id >= env->nreg)
        (void)duk_error(ctx, DUK_ERR_RANGE_ERROR, "no property %d", (int)id);
    return &env->reg[id];
}

/* __fw_val(id, frame, withExpr) */
static duk_ret_t native_val(duk_context *ctx)
{
    expr_env *env = env_of(ctx);
    const expr_entry *e = entry_arg(ctx, env);
    double frame = duk_require_number(ctx, 1);
    int with_expr = duk_to_boolean(ctx, 2);
    struct lt_expr *x = e->p ? e->p->expr : e->pp->expr;

    if (!isfinite(frame))
        frame = 0;
    if (with_expr && x && !x->busy && !x->dead) {
        if (expr_run(env, x, frame, NULL, 0) == 0) {
            if (!duk_is_undefined(ctx, -1))
                return 1;
            duk_pop(ctx);
        } else if (env->js.timed_out || env->js.oom) {
            return duk_error(ctx, DUK_ERR_RANGE_ERROR, "expression limit reached");
        }
    }
    push_keys_value(env, e, frame);
    return 1;
}

/* __fw_key(id, k): [frame, values...], or undefined */
static duk_ret_t native_key(duk_context *ctx)
{
    expr_env *env = env_of(ctx);
    const expr_entry *e = entry_arg(ctx, env);
    duk_int_t k = duk_require_int(ctx, 1);

    if (e->p) {
        if (k < 0 || k >= e->p->nkeys)
            return 0;
        const lt_key *key = &e->p->keys[k];
        duk_push_array(ctx);
        duk_push_number(ctx, key->t);
        duk_put_prop_index(ctx, -2, 0);
        for (int i = 0; i < e->p->dims; i++) {
            duk_push_number(ctx, key->s ? key->s[i] : 0);
            duk_put_prop_index(ctx, -2, (duk_uarridx_t)i + 1);
        }
        return 1;
    }
    if (k < 0 || k >= e->pp->nkeys)
        return 0;
    duk_push_array(ctx);
    duk_push_number(ctx, e->pp->keys[k].t);
    duk_put_prop_index(ctx, -2, 0);
    return 1;
}

/* __fw_ease(x1, y1, x2, y2, t) */
static duk_ret_t native_ease(duk_context *ctx)
{
    double v[5];
    for (int i = 0; i < 5; i++)
        v[i] = duk_to_number(ctx, i);
    duk_push_number(ctx, lt_ease(v[0], v[1], v[2], v[3], v[4]));
    return 1;
}

/* __fw_hash(a, b, c): splitmix64 over the three numbers, as a double in [0, 1). */
static duk_ret_t native_hash(duk_context *ctx)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 3; i++) {
        double d = duk_to_number(ctx, i);
        int64_t n = isfinite(d) ? (int64_t)fmod(floor(d), 9007199254740992.0) : 0;
        h ^= (uint64_t)n + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
        h += 0x9E3779B97F4A7C15ull;
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
        h ^= h >> 31;
    }
    duk_push_number(ctx, (double)(h >> 11) / 9007199254740992.0);
    return 1;
}

/* ---- the hooks ----------------------------------------------------------------------------------- */

static int eval_hook(const lt_doc *doc, const lt_prop *p, double t, double *out)
{
    expr_env *env = doc->expr_env;
    struct lt_expr *x = p->expr;
    duk_context *ctx;
    int ok = 1;

    if (!env || !x || x->busy || x->dead)
        return 0;
    ctx = env->ctx;
    if (expr_run(env, x, t, NULL, 0) != 0)
        return 0;
    if (p->dims > 0)
        lt_prop_eval_keys(p, t, out);
    if (duk_is_number(ctx, -1)) {
        double v = duk_get_number(ctx, -1);
        if (isfinite(v) && p->dims > 0)
            out[0] = v;
        else
            ok = 0;
    } else if (duk_is_array(ctx, -1)) {
        duk_size_t n = duk_get_length(ctx, -1);
        for (int i = 0; i < p->dims && (duk_size_t)i < n; i++) {
            duk_get_prop_index(ctx, -1, (duk_uarridx_t)i);
            double v = duk_get_number_default(ctx, -1, NAN);
            duk_pop(ctx);
            if (isfinite(v))
                out[i] = v;
        }
    } else {
        ok = 0;
    }
    duk_pop(ctx);
    return ok;
}

static int read_pt(duk_context *ctx, duk_idx_t arr, duk_uarridx_t k, lt_pt *pt)
{
    duk_get_prop_index(ctx, arr, k);
    duk_get_prop_index(ctx, -1, 0);
    duk_get_prop_index(ctx, -2, 1);
    pt->x = duk_get_number_default(ctx, -2, NAN);
    pt->y = duk_get_number_default(ctx, -1, NAN);
    duk_pop_3(ctx);
    return isfinite(pt->x) && isfinite(pt->y);
}

static int path_hook(const lt_doc *doc, const lt_path_prop *p, double t, lt_path *out)
{
    expr_env *env = doc->expr_env;
    struct lt_expr *x = p->expr;
    duk_context *ctx;
    duk_idx_t r;
    int ok = 0;

    if (!env || !x || x->busy || x->dead)
        return 0;
    ctx = env->ctx;
    if (expr_run(env, x, t, NULL, 0) != 0)
        return 0;
    r = duk_get_top_index(ctx);
    if (duk_is_object(ctx, r) && duk_check_stack(ctx, 8)) {
        duk_get_prop_string(ctx, r, "__v");
        duk_get_prop_string(ctx, r, "__i");
        duk_get_prop_string(ctx, r, "__o");
        duk_get_prop_string(ctx, r, "__c");
        if (duk_is_array(ctx, r + 1) && duk_is_array(ctx, r + 2) && duk_is_array(ctx, r + 3)) {
            duk_size_t n = duk_get_length(ctx, r + 1);
            int closed = duk_to_boolean(ctx, r + 4);
            lt_pt v0, prev_v, prev_o, v, in, o;
            ok = 1;
            if (duk_get_length(ctx, r + 2) < n || duk_get_length(ctx, r + 3) < n)
                n = 0;
            if (n > 0 && read_pt(ctx, r + 1, 0, &v0) && read_pt(ctx, r + 3, 0, &prev_o)) {
                prev_v = v0;
                lt_path_move_to(out, v0);
                for (duk_size_t k = 1; k <= n; k++) {
                    duk_uarridx_t idx = k < n ? (duk_uarridx_t)k : 0;
                    if (k == n && !closed)
                        break;
                    if (!read_pt(ctx, r + 1, idx, &v) || !read_pt(ctx, r + 2, idx, &in) ||
                        !read_pt(ctx, r + 3, idx, &o))
                        break;
                    lt_pt c1 = {prev_v.x + prev_o.x, prev_v.y + prev_o.y}, c2 = {v.x + in.x, v.y + in.y};
                    lt_path_cubic_to(out, c1, c2, v);
                    prev_v = v;
                    prev_o = o;
                }
                if (closed)
                    lt_path_close(out);
            }
        }
    }
    duk_set_top(ctx, r);
    return ok;
}

/* ---- describing the model to the prelude ----------------------------------------------------------- */

typedef struct build {
    expr_env *env;
    const lt_layer *layer;
    int failed;             /* out of memory while registering */
} build;

static int reg_add(build *b, lt_prop *p, lt_path_prop *pp)
{
    expr_env *env = b->env;
    if (env->nreg == env->reg_cap) {
        int cap = env->reg_cap ? env->reg_cap * 2 : 256;
        expr_entry *r = realloc(env->reg, sizeof(*r) * (size_t)cap);
        if (!r) {
            b->failed = 1;
            return -1;
        }
        env->reg = r;
        env->reg_cap = cap;
    }
    env->reg[env->nreg] = (expr_entry){p, pp, b->layer, NULL};
    return env->nreg++;
}

/* Pushes {id, dims, nkeys} (or {id, nkeys, path: true}) and registers the property. */
static void push_prop(build *b, lt_prop *p, lt_path_prop *pp)
{
    duk_context *ctx = b->env->ctx;
    int id = reg_add(b, p, pp);

    duk_push_object(ctx);
    duk_push_int(ctx, id);
    duk_put_prop_string(ctx, -2, "id");
    duk_push_int(ctx, p ? p->dims : 0);
    duk_put_prop_string(ctx, -2, "dims");
    duk_push_int(ctx, p ? p->nkeys : pp->nkeys);
    duk_put_prop_string(ctx, -2, "nkeys");
    if (pp) {
        duk_push_true(ctx);
        duk_put_prop_string(ctx, -2, "path");
    }
}

static void put_prop(build *b, const char *key, lt_prop *p)
{
    push_prop(b, p, NULL);
    duk_put_prop_string(b->env->ctx, -2, key);
}

static void put_str(duk_context *ctx, const char *key, const char *v)
{
    if (v)
        duk_push_string(ctx, v);
    else
        duk_push_undefined(ctx);
    duk_put_prop_string(ctx, -2, key);
}

static void put_num(duk_context *ctx, const char *key, double v)
{
    duk_push_number(ctx, v);
    duk_put_prop_string(ctx, -2, key);
}

static void push_transform(build *b, lt_transform *t)
{
    duk_context *ctx = b->env->ctx;

    duk_push_object(ctx);
    put_prop(b, "a", &t->a);
    put_prop(b, "s", &t->s);
    put_prop(b, "r", &t->r);
    put_prop(b, "o", &t->o);
    put_prop(b, "sk", &t->sk);
    put_prop(b, "sa", &t->sa);
    put_prop(b, "rx", &t->rx);
    put_prop(b, "ry", &t->ry);
    put_prop(b, "so", &t->so);
    put_prop(b, "eo", &t->eo);
    put_prop(b, "p", &t->p);
    if (t->split) {
        duk_push_true(ctx);
        duk_put_prop_string(ctx, -2, "split");
        put_prop(b, "px", &t->px);
        put_prop(b, "py", &t->py);
    }
}

static const char *shape_code(lt_shape_type t)
{
    switch (t) {
    case LT_SH_GROUP: return "gr";
    case LT_SH_PATH: return "sh";
    case LT_SH_RECT: return "rc";
    case LT_SH_ELLIPSE: return "el";
    case LT_SH_STAR: return "sr";
    case LT_SH_FILL: return "fl";
    case LT_SH_STROKE: return "st";
    case LT_SH_GFILL: return "gf";
    case LT_SH_GSTROKE: return "gs";
    case LT_SH_TRANSFORM: return "tr";
    case LT_SH_TRIM: return "tm";
    case LT_SH_REPEATER: return "rp";
    case LT_SH_ROUND: return "rd";
    case LT_SH_OFFSET: return "op";
    case LT_SH_MERGE: return "mm";
    case LT_SH_PUCKER: return "pb";
    case LT_SH_ZIGZAG: return "zz";
    default: return "??";
    }
}

static void push_shapes(build *b, lt_shape *items, int n, int depth);

static void push_shape(build *b, lt_shape *s, int depth)
{
    duk_context *ctx = b->env->ctx;

    duk_push_object(ctx);
    duk_push_string(ctx, shape_code(s->type));
    duk_put_prop_string(ctx, -2, "ty");
    put_str(ctx, "name", s->name);
    put_str(ctx, "match", s->match);
    /* Every property is described (an expression needs its property's scope); the prelude names
     * those After Effects exposes for the item's kind. */
    put_prop(b, "p", &s->p);
    put_prop(b, "s", &s->s);
    put_prop(b, "r", &s->r);
    put_prop(b, "or", &s->or_);
    put_prop(b, "ir", &s->ir);
    put_prop(b, "os", &s->os);
    put_prop(b, "is", &s->is);
    put_prop(b, "pt", &s->pt);
    put_prop(b, "c", &s->c);
    put_prop(b, "o", &s->o);
    put_prop(b, "w", &s->w);
    put_prop(b, "gs", &s->gs);
    put_prop(b, "ge", &s->ge);
    put_prop(b, "gh", &s->gh);
    put_prop(b, "ga", &s->ga);
    put_prop(b, "g", &s->g);
    put_prop(b, "ts", &s->ts);
    put_prop(b, "te", &s->te);
    put_prop(b, "to", &s->to);
    put_prop(b, "copies", &s->copies);
    put_prop(b, "offset", &s->offset);
    duk_push_array(ctx);
    for (int i = 0; i < s->ndashes; i++) {
        push_prop(b, &s->dashes[i].v, NULL);
        duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
    }
    duk_put_prop_string(ctx, -2, "dashes");
    if (s->type == LT_SH_PATH) {
        push_prop(b, NULL, &s->path);
        duk_put_prop_string(ctx, -2, "path");
    }
    if (s->type == LT_SH_GROUP || s->type == LT_SH_TRANSFORM || s->type == LT_SH_REPEATER || s->tr.present) {
        push_transform(b, &s->tr);
        duk_put_prop_string(ctx, -2, "tr");
    }
    if (s->type == LT_SH_GROUP && depth < 64) {
        push_shapes(b, s->items, s->nitems, depth + 1);
        duk_put_prop_string(ctx, -2, "items");
    }
}

static void push_shapes(build *b, lt_shape *items, int n, int depth)
{
    duk_context *ctx = b->env->ctx;

    duk_push_array(ctx);
    for (int i = 0; i < n; i++) {
        push_shape(b, &items[i], depth);
        duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
    }
}

static void push_layer(build *b, const lt_comp *comp, lt_layer *l)
{
    duk_context *ctx = b->env->ctx;

    b->layer = l;
    duk_push_object(ctx);
    put_str(ctx, "name", l->name ? l->name : "");
    put_num(ctx, "index", l->index);
    put_num(ctx, "st", l->st);
    put_num(ctx, "ip", l->ip);
    put_num(ctx, "op", l->op);
    put_num(ctx, "w", l->type == LT_LAYER_SOLID ? l->sw : l->w);
    put_num(ctx, "h", l->type == LT_LAYER_SOLID ? l->sh : l->h);
    put_num(ctx, "parent", l->parent ? (double)(l->parent - comp->layers) : -1);
    push_transform(b, &l->ks);
    duk_put_prop_string(ctx, -2, "transform");
    push_shapes(b, l->shapes, l->nshapes, 0);
    duk_put_prop_string(ctx, -2, "shapes");
    if (l->has_time_remap)
        put_prop(b, "tm", &l->tm);

    duk_push_array(ctx);
    for (int i = 0; i < l->neffects; i++) {
        const lt_effect *e = &l->effects[i];
        duk_push_object(ctx);
        put_str(ctx, "name", e->name);
        put_str(ctx, "match", e->match);
        duk_push_array(ctx);
        for (int k = 0; k < e->nvalues; k++) {
            lt_effect_value *v = &e->values[k];
            duk_push_object(ctx);
            put_str(ctx, "name", v->name);
            put_str(ctx, "match", v->match);
            put_prop(b, "prop", &v->v);
            duk_put_prop_index(ctx, -2, (duk_uarridx_t)k);
        }
        duk_put_prop_string(ctx, -2, "values");
        duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
    }
    duk_put_prop_string(ctx, -2, "effects");

    duk_push_array(ctx);
    for (int i = 0; i < l->nmasks; i++) {
        lt_mask *m = &l->masks[i];
        duk_push_object(ctx);
        push_prop(b, NULL, &m->path);
        duk_put_prop_string(ctx, -2, "path");
        put_prop(b, "o", &m->o);
        put_prop(b, "x", &m->x);
        duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
    }
    duk_put_prop_string(ctx, -2, "masks");
}

static void push_comp(build *b, const lt_doc *doc, const lt_comp *c)
{
    duk_context *ctx = b->env->ctx;

    duk_push_object(ctx);
    put_str(ctx, "name", c->name ? c->name : c->id ? c->id : "");
    put_num(ctx, "w", c->w);
    put_num(ctx, "h", c->h);
    put_num(ctx, "dur", doc->fr > 0 ? (doc->op - doc->ip) / doc->fr : 0);
    duk_push_array(ctx);
    for (int i = 0; i < c->nlayers; i++) {
        push_layer(b, c, &c->layers[i]);
        duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
    }
    duk_put_prop_string(ctx, -2, "layers");
}

typedef struct describe_args {
    build *b;
    lt_doc *doc;
} describe_args;

/* Describes every composition and hands them to __fw_build(comps, fr). */
static duk_ret_t describe_safe(duk_context *ctx, void *udata)
{
    describe_args *a = udata;

    duk_get_global_string(ctx, "__fw_build");
    duk_push_array(ctx);
    push_comp(a->b, a->doc, &a->doc->root);
    duk_put_prop_index(ctx, -2, 0);
    for (int i = 0; i < a->doc->ncomps; i++) {
        push_comp(a->b, a->doc, &a->doc->comps[i]);
        duk_put_prop_index(ctx, -2, (duk_uarridx_t)i + 1);
    }
    duk_push_number(ctx, a->doc->fr > 0 ? a->doc->fr : 30);
    duk_call(ctx, 2);
    return 0;
}

/* ---- bounding the source --------------------------------------------------------------------------- */

char *lt_expr_guard_source(const char *src, char *why, size_t why_len)
{
    return fw_js_guard(src, EXPR_MAX_SOURCE, why, why_len);
}

/* ---- compiling ------------------------------------------------------------------------------------- */

/* Names an expression reads from its property's scope (__P.__env() in the prelude). */
static const char *const scope_names[] = {
    "thisLayer", "thisComp", "comp", "content", "effect", "mask", "transform", "anchorPoint", "index",
    "inPoint", "outPoint", "startTime", "name", "width", "height", "hasParent", "parent", "numKeys",
    "loopOut", "loopIn", "loopOutDuration", "loopInDuration", "loop_out", "loop_in", "valueAtTime",
    "velocityAtTime", "speedAtTime", "key", "nearestKey", "wiggle", "smooth", "toComp",
    "fromComp", "toWorld", "fromWorld", "fromCompToSurface", "seedRandom", "random", "gaussRandom", "lookAt",
    "posterizeTime",
};

typedef struct compile_args {
    const char *wrapped;
    size_t len;
    int id, fn;
} compile_args;

/* Compiles the wrapper, calls it with the property's interface and keeps the closure it returns. */
static duk_ret_t compile_safe(duk_context *ctx, void *udata)
{
    compile_args *a = udata;

    duk_push_string(ctx, "expression");
    duk_compile_lstring_filename(ctx, DUK_COMPILE_EVAL, a->wrapped, a->len);
    duk_call(ctx, 0);
    duk_get_global_string(ctx, "__fw_props");
    duk_get_prop_index(ctx, -1, (duk_uarridx_t)a->id);
    duk_remove(ctx, -2);
    if (!duk_is_object(ctx, -1))
        return duk_error(ctx, DUK_ERR_ERROR, "the property has no interface");
    duk_call(ctx, 1);
    if (!duk_is_function(ctx, -1))
        return duk_error(ctx, DUK_ERR_ERROR, "the expression did not compile to a function");
    duk_push_global_stash(ctx);
    duk_get_prop_string(ctx, -1, "fns");
    duk_dup(ctx, -3);
    duk_put_prop_index(ctx, -2, (duk_uarridx_t)a->fn);
    duk_pop_3(ctx);
    return 0;
}

static char *wrap_source(const char *guarded)
{
    size_t cap = strlen(guarded) + 4096, n = 0;
    char *s = malloc(cap);

    if (!s)
        return NULL;
    n += (size_t)snprintf(s + n, cap - n, "(function(__P){var __E=__P.__env(),thisProperty=__P");
    for (size_t i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++)
        n += (size_t)snprintf(s + n, cap - n, ",%s=__E.%s", scope_names[i], scope_names[i]);
    n += (size_t)snprintf(s + n, cap - n,
                          ";var time=0,value,velocity;return function(__t,__v){time=__t;value=__v;__P.__begin();%s"
                          "var $bm_rt;\n%s\n;return __fw_norm($bm_rt);};})",
                          strstr(guarded, "velocity") ? "velocity=__P.velocity;" : "", guarded);
    return s;
}

/* "layer/property" for reports. */
static void describe_prop(expr_env *env, int id, char *buf, size_t len)
{
    duk_context *ctx = env->ctx;
    const char *pname = NULL;

    duk_get_global_string(ctx, "__fw_props");
    duk_get_prop_index(ctx, -1, (duk_uarridx_t)id);
    if (duk_is_object(ctx, -1)) {
        duk_get_prop_string(ctx, -1, "name");
        pname = duk_get_string(ctx, -1);
        if (!pname) {
            duk_pop(ctx);
            duk_get_prop_string(ctx, -1, "matchName");
            pname = duk_get_string(ctx, -1);
        }
        snprintf(buf, len, "%s/%s", env->reg[id].layer && env->reg[id].layer->name ? env->reg[id].layer->name : "?",
                 pname ? pname : "property");
        duk_pop(ctx);
    } else {
        snprintf(buf, len, "%s/property", env->reg[id].layer && env->reg[id].layer->name ? env->reg[id].layer->name : "?");
    }
    duk_pop_2(ctx);
}

static void compile_one(expr_env *env, int id)
{
    expr_entry *e = &env->reg[id];
    const char *src = e->p ? e->p->expr_src : e->pp->expr_src;
    char why[200] = "", where[160], what[400];
    char *guarded = NULL, *wrapped = NULL;
    struct lt_expr *x = NULL;

    guarded = lt_expr_guard_source(src, why, sizeof(why));
    if (!guarded)
        goto fail;
    wrapped = wrap_source(guarded);
    if (!wrapped) {
        snprintf(why, sizeof(why), "out of memory");
        goto fail;
    }
    if (env->nexprs == env->exprs_cap) {
        int cap = env->exprs_cap ? env->exprs_cap * 2 : 16;
        struct lt_expr **xs = realloc(env->exprs, sizeof(*xs) * (size_t)cap);
        if (!xs) {
            snprintf(why, sizeof(why), "out of memory");
            goto fail;
        }
        env->exprs = xs;
        env->exprs_cap = cap;
    }
    x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(why, sizeof(why), "out of memory");
        goto fail;
    }
    x->id = id;
    x->fn = env->nexprs;
    x->layer = e->layer;
    compile_args a = {wrapped, strlen(wrapped), id, x->fn};
    env->js.oom = 0;
    if (duk_safe_call(env->ctx, compile_safe, &a, 0, 1) != DUK_EXEC_SUCCESS) {
        snprintf(why, sizeof(why), "%s", env->js.oom ? "memory limit reached" : duk_safe_to_string(env->ctx, -1));
        duk_pop(env->ctx);
        goto fail;
    }
    duk_pop(env->ctx);
    env->exprs[env->nexprs++] = x;
    /* Evaluated once at the composition's frame 0: what throws there is left static. */
    if (expr_run(env, x, 0, why, sizeof(why)) != 0) {
        env->nexprs--;
        duk_push_global_stash(env->ctx);
        duk_get_prop_string(env->ctx, -1, "fns");
        duk_push_undefined(env->ctx);
        duk_put_prop_index(env->ctx, -2, (duk_uarridx_t)x->fn);
        duk_pop_2(env->ctx);
        goto fail;
    }
    duk_pop(env->ctx);
    if (e->p)
        e->p->expr = x;
    else
        e->pp->expr = x;
    env->active++;
    free(guarded);
    free(wrapped);
    return;
fail:
    free(x);
    free(guarded);
    free(wrapped);
    describe_prop(env, id, where, sizeof(where));
    snprintf(what, sizeof(what), "expression at %s: %s", where, why);
    lt_doc_unsupported(env->doc, what);
}

/* ---- the heap -------------------------------------------------------------------------------------- */

static duk_ret_t setup_safe(duk_context *ctx, void *udata)
{
    (void)udata;
    static const duk_function_list_entry natives[] = {
        {"__fw_val", native_val, 3},   {"__fw_key", native_key, 2},
        {"__fw_ease", native_ease, 5}, {"__fw_hash", native_hash, 3}, {NULL, NULL, 0},
    };
    duk_push_global_object(ctx);
    duk_put_function_list(ctx, -1, natives);
    duk_pop(ctx);
    duk_push_string(ctx, "expr_prelude.js");
    duk_compile_string_filename(ctx, 0, (const char *)lt_expr_prelude);
    duk_call(ctx, 0);
    duk_pop(ctx);
    duk_push_global_stash(ctx);
    duk_push_array(ctx);
    duk_put_prop_string(ctx, -2, "fns");
    duk_pop(ctx);
    return 0;
}

static int shapes_have_expr(const lt_shape *s, int n, int depth);

static int transform_has_expr(const lt_transform *t)
{
    const lt_prop *ps[] = {&t->a, &t->p, &t->s, &t->r, &t->o, &t->sk, &t->sa, &t->px, &t->py, &t->rx, &t->ry, &t->so, &t->eo};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        if (ps[i]->expr_src)
            return 1;
    return 0;
}

static int shapes_have_expr(const lt_shape *s, int n, int depth)
{
    for (int k = 0; k < n; k++, s++) {
        const lt_prop *ps[] = {&s->p, &s->s, &s->r, &s->or_, &s->ir, &s->os, &s->is, &s->pt, &s->c, &s->o, &s->w,
                               &s->gs, &s->ge, &s->gh, &s->ga, &s->g, &s->ts, &s->te, &s->to, &s->copies, &s->offset};
        for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
            if (ps[i]->expr_src)
                return 1;
        for (int i = 0; i < s->ndashes; i++)
            if (s->dashes[i].v.expr_src)
                return 1;
        if (s->path.expr_src || transform_has_expr(&s->tr))
            return 1;
        if (depth < 64 && shapes_have_expr(s->items, s->nitems, depth + 1))
            return 1;
    }
    return 0;
}

static int comp_has_expr(const lt_comp *c)
{
    for (int i = 0; i < c->nlayers; i++) {
        const lt_layer *l = &c->layers[i];
        if (transform_has_expr(&l->ks) || l->tm.expr_src || shapes_have_expr(l->shapes, l->nshapes, 0))
            return 1;
        for (int k = 0; k < l->nmasks; k++)
            if (l->masks[k].path.expr_src || l->masks[k].o.expr_src || l->masks[k].x.expr_src)
                return 1;
        for (int k = 0; k < l->neffects; k++)
            for (int v = 0; v < l->effects[k].nvalues; v++)
                if (l->effects[k].values[v].v.expr_src)
                    return 1;
    }
    return 0;
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void set_hooks(void)
{
    lt_expr_eval_hook = eval_hook;
    lt_expr_path_hook = path_hook;
}

fw_err lt_expr_attach(lt_doc *doc, fw_error *err)
{
    expr_env *env;
    int any = comp_has_expr(&doc->root);

    lt_expr_detach(doc);
    for (int i = 0; i < doc->ncomps && !any; i++)
        any = comp_has_expr(&doc->comps[i]);
    if (!any)
        return FW_OK;
    env = calloc(1, sizeof(*env));
    if (!env)
        return fw_error_set(err, FW_ERR_NOMEM, "template.expressions", "out of memory for the expression engine");
    env->doc = doc;
    if (fw_js_open(&env->js, LT_EXPR_MEMORY_CAP, env, NULL) != FW_OK) {
        free(env);
        return fw_error_set(err, FW_ERR_NOMEM, "template.expressions", "the expression engine could not start");
    }
    env->ctx = env->js.ctx;
    doc->expr_env = env;
    if (duk_safe_call(env->ctx, setup_safe, NULL, 0, 1) != DUK_EXEC_SUCCESS) {
        fw_error_set(err, FW_ERR_INTERNAL, "template.expressions", "the expression prelude failed: %s",
                     duk_safe_to_string(env->ctx, -1));
        lt_expr_detach(doc);
        return err ? err->code : FW_ERR_INTERNAL;
    }
    duk_pop(env->ctx);
    char why[200];
    if (fw_js_lock(&env->js, why, sizeof(why))) {
        fw_error_set(err, FW_ERR_INTERNAL, "template.expressions", "the expression engine could not be locked: %s",
                     why);
        lt_expr_detach(doc);
        return err ? err->code : FW_ERR_INTERNAL;
    }

    build b = {env, NULL, 0};
    describe_args da = {&b, doc};
    if (duk_safe_call(env->ctx, describe_safe, &da, 0, 1) != DUK_EXEC_SUCCESS || b.failed) {
        fw_error_set(err, b.failed || env->js.oom ? FW_ERR_NOMEM : FW_ERR_INTERNAL, "template.expressions",
                     "the document could not be described to the expression engine: %s",
                     duk_safe_to_string(env->ctx, -1));
        lt_expr_detach(doc);
        return err ? err->code : FW_ERR_INTERNAL;
    }
    duk_pop(env->ctx);

    for (int id = 0; id < env->nreg; id++) {
        const char *src = env->reg[id].p ? env->reg[id].p->expr_src : env->reg[id].pp->expr_src;
        if (src)
            compile_one(env, id);
    }
    /* Set once for the process: engines load documents on several threads at a time. */
    pthread_once(&hooks_once, set_hooks);
    return FW_OK;
}

void lt_expr_detach(lt_doc *doc)
{
    expr_env *env;

    if (!doc || !doc->expr_env)
        return;
    env = doc->expr_env;
    for (int id = 0; id < env->nreg; id++) {
        if (env->reg[id].p)
            env->reg[id].p->expr = NULL;
        else
            env->reg[id].pp->expr = NULL;
    }
    fw_js_close(&env->js);
    for (int i = 0; i < env->nexprs; i++)
        free(env->exprs[i]);
    free(env->exprs);
    free(env->reg);
    free(env->scratch);
    free(env->bez.v);
    free(env->bez.i);
    free(env->bez.o);
    free(env);
    doc->expr_env = NULL;
}

int lt_expr_count(const lt_doc *doc)
{
    const expr_env *env = doc ? doc->expr_env : NULL;
    return env ? env->active : 0;
}
