/*
 * model.c - parse a Lottie document into the Cairo engine's model; see model.h.
 *
 * The parser is forgiving the way players are: a missing or malformed value
 * takes its default, an unknown shape or layer kind is skipped and noted.
 * It refuses only what it cannot draw at all (no size, no frame rate) and
 * what would make a hostile document unbounded: nesting deeper than
 * LT_MAX_DEPTH, or more than LT_MAX_ARENA bytes of model.
 */
#include "server/render/cairo/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LT_MAX_DEPTH 64
#define LT_MAX_ARENA ((size_t)512 << 20)
#define LT_MAX_DIMS 4096

/* ---- arena ---------------------------------------------------------------------------------- */

struct lt_arena_block {
    lt_arena_block *next;
    size_t size, used;
    max_align_t data[];
};

void *lt_arena_alloc(lt_arena *a, size_t size)
{
    lt_arena_block *b = a->head;
    void *p;

    if (a->oom || size > LT_MAX_ARENA || a->used_total + size > LT_MAX_ARENA) {
        a->oom = 1;
        return NULL;
    }
    size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (!b || b->size - b->used < size) {
        size_t want = size > 60000 ? size : 64000;
        b = malloc(sizeof(*b) + want);
        if (!b) {
            a->oom = 1;
            return NULL;
        }
        b->size = want;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    p = (char *)b->data + b->used;
    b->used += size;
    a->used_total += size;
    memset(p, 0, size);
    return p;
}

char *lt_arena_strdup(lt_arena *a, const char *s)
{
    size_t n;
    char *d;

    if (!s)
        return NULL;
    n = strlen(s);
    d = lt_arena_alloc(a, n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

void lt_arena_free(lt_arena *a)
{
    while (a->head) {
        lt_arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->used_total = 0;
    a->oom = 0;
}

/* ---- small readers -------------------------------------------------------------------------- */

static double num(const json_t *j, double def)
{
    if (json_is_number(j)) {
        double v = json_number_value(j);
        return isfinite(v) ? v : def;
    }
    if (json_is_boolean(j))
        return json_is_true(j);
    /* Some exporters wrap scalars in one-element arrays. */
    if (json_is_array(j) && json_array_size(j) > 0)
        return num(json_array_get(j, 0), def);
    return def;
}

static double get_num(const json_t *o, const char *key, double def)
{
    return num(json_object_get(o, key), def);
}

static int get_int(const json_t *o, const char *key, int def)
{
    double v = get_num(o, key, def);
    if (v > 1e9 || v < -1e9)
        return def;
    return (int)v;
}

static const char *get_str(lt_doc *doc, const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? lt_arena_strdup(&doc->arena, s) : NULL;
}

void lt_doc_unsupported(lt_doc *doc, const char *what)
{
    size_t len = strlen(doc->unsupported_what);

    doc->unsupported++;
    if (len + 3 < sizeof(doc->unsupported_what) && !strstr(doc->unsupported_what, what))
        snprintf(doc->unsupported_what + len, sizeof(doc->unsupported_what) - len, "%s%s", len ? "; " : "", what);
}

/* ---- properties ----------------------------------------------------------------------------- */

/* Numbers of a static value or keyframe value: a number, or an array of them. */
static void read_values(const json_t *j, double *out, int dims, const double *defaults)
{
    for (int i = 0; i < dims; i++)
        out[i] = defaults ? defaults[i] : 0;
    if (json_is_array(j)) {
        size_t n = json_array_size(j);
        for (int i = 0; i < dims && (size_t)i < n; i++)
            out[i] = num(json_array_get(j, (size_t)i), out[i]);
    } else if (json_is_number(j)) {
        out[0] = num(j, out[0]);
        /* A scalar given for a vector (a uniform scale, say) fills every dimension. */
        for (int i = 1; i < dims && dims <= 3; i++)
            out[i] = out[0];
    }
}

static int is_keyframes(const json_t *k)
{
    const json_t *first = json_array_get(k, 0);
    return json_is_array(k) && json_is_object(first) && json_object_get(first, "t");
}

/* Easing handles: a number, or an array with one per dimension. */
static void read_ease(const json_t *h, const char *key, double *out, double def)
{
    const json_t *v = json_object_get(h, key);
    for (int i = 0; i < LT_EASE_DIMS; i++)
        out[i] = def;
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        for (int i = 0; i < LT_EASE_DIMS; i++)
            out[i] = num(json_array_get(v, (size_t)i < n ? (size_t)i : n ? n - 1 : 0), def);
    } else if (v) {
        for (int i = 0; i < LT_EASE_DIMS; i++)
            out[i] = num(v, def);
    }
}

/* A property that names a slot ("sid") takes the slot's value from the document's "slots" table, as
 * lottie-web does; without such a slot it keeps its own. */
static const json_t *slotted(lt_doc *doc, const json_t *j)
{
    const char *sid = json_string_value(json_object_get(j, "sid"));
    const json_t *slot;

    if (!sid || !doc->json)
        return j;
    slot = json_object_get(json_object_get(json_object_get(doc->json, "slots"), sid), "p");
    return json_is_object(slot) ? slot : j;
}

void lt_prop_parse(lt_doc *doc, const json_t *j, int dims, const double *defaults, lt_prop *out)
{
    const json_t *k;

    j = slotted(doc, j);
    k = json_object_get(j, "k");

    memset(out, 0, sizeof(*out));
    if (dims < 1)
        dims = 1;
    if (dims > LT_MAX_DIMS)
        dims = LT_MAX_DIMS;
    out->dims = dims;
    out->v = lt_arena_alloc(&doc->arena, sizeof(double) * (size_t)dims);
    if (!out->v) {
        out->dims = 0;
        return;
    }
    read_values(NULL, out->v, dims, defaults);
    if (!j)
        return;
    out->expr_src = get_str(doc, j, "x");
    out->sid = get_str(doc, j, "sid");
    if (!json_is_object(j)) {
        /* A bare value where an object was expected. */
        read_values(j, out->v, dims, defaults);
        return;
    }
    if (!is_keyframes(k)) {
        read_values(k, out->v, dims, defaults);
        return;
    }
    size_t n = json_array_size(k);
    out->keys = lt_arena_alloc(&doc->arena, sizeof(lt_key) * n);
    if (!out->keys)
        return;
    const double *prev = defaults;
    for (size_t i = 0; i < n; i++) {
        const json_t *kj = json_array_get(k, i);
        lt_key *key = &out->keys[out->nkeys];
        const json_t *s = json_object_get(kj, "s"), *e = json_object_get(kj, "e");

        key->t = get_num(kj, "t", 0);
        if (out->nkeys > 0 && key->t < out->keys[out->nkeys - 1].t)
            key->t = out->keys[out->nkeys - 1].t; /* keys out of order: keep them monotonic */
        key->hold = get_int(kj, "h", 0) == 1;
        key->s = lt_arena_alloc(&doc->arena, sizeof(double) * (size_t)dims);
        if (!key->s)
            return;
        if (s) {
            read_values(s, key->s, dims, prev);
        } else if (out->nkeys > 0 && out->keys[out->nkeys - 1].e) {
            /* Old exports end with a key holding only "t": it starts where the last segment ended. */
            memcpy(key->s, out->keys[out->nkeys - 1].e, sizeof(double) * (size_t)dims);
        } else {
            read_values(NULL, key->s, dims, prev);
        }
        if (e) {
            key->e = lt_arena_alloc(&doc->arena, sizeof(double) * (size_t)dims);
            if (!key->e)
                return;
            read_values(e, key->e, dims, key->s);
        }
        read_ease(json_object_get(kj, "o"), "x", key->ox, 0);
        read_ease(json_object_get(kj, "o"), "y", key->oy, 0);
        read_ease(json_object_get(kj, "i"), "x", key->ix, 1);
        read_ease(json_object_get(kj, "i"), "y", key->iy, 1);
        const json_t *to = json_object_get(kj, "to"), *ti = json_object_get(kj, "ti");
        if (json_is_array(to) && json_is_array(ti)) {
            read_values(to, key->to, 3, NULL);
            read_values(ti, key->ti, 3, NULL);
            key->spatial = key->to[0] != 0 || key->to[1] != 0 || key->ti[0] != 0 || key->ti[1] != 0;
        }
        prev = key->s;
        out->nkeys++;
    }
    if (out->nkeys > 0)
        memcpy(out->v, out->keys[0].s, sizeof(double) * (size_t)dims);
}

/* ---- Bézier shape values -------------------------------------------------------------------- */

static void read_points(const json_t *a, lt_pt *out, int n)
{
    for (int i = 0; i < n; i++) {
        const json_t *p = json_array_get(a, (size_t)i);
        out[i].x = num(json_array_get(p, 0), 0);
        out[i].y = num(json_array_get(p, 1), 0);
    }
}

static void bez_parse(lt_doc *doc, const json_t *j, lt_bez *out)
{
    const json_t *v = json_object_get(j, "v");

    memset(out, 0, sizeof(*out));
    /* Keyframe values wrap the shape in a one-element array. */
    if (json_is_array(j))
        j = json_array_get(j, 0), v = json_object_get(j, "v");
    if (!json_is_array(v))
        return;
    out->n = (int)json_array_size(v);
    if (out->n > 1000000)
        out->n = 0;
    out->closed = json_is_true(json_object_get(j, "c")) || get_int(j, "c", 0) == 1;
    out->v = lt_arena_alloc(&doc->arena, sizeof(lt_pt) * (size_t)out->n * 3 + 1);
    if (!out->v) {
        out->n = 0;
        return;
    }
    out->i = out->v + out->n;
    out->o = out->i + out->n;
    read_points(v, out->v, out->n);
    read_points(json_object_get(j, "i"), out->i, out->n);
    read_points(json_object_get(j, "o"), out->o, out->n);
}

static void path_prop_parse(lt_doc *doc, const json_t *j, lt_path_prop *out)
{
    const json_t *k;

    j = slotted(doc, j);
    k = json_object_get(j, "k");

    memset(out, 0, sizeof(*out));
    if (!j)
        return;
    out->expr_src = get_str(doc, j, "x");
    if (!is_keyframes(k)) {
        bez_parse(doc, k, &out->v);
        return;
    }
    size_t n = json_array_size(k);
    out->keys = lt_arena_alloc(&doc->arena, sizeof(lt_shape_key) * n);
    if (!out->keys)
        return;
    for (size_t i = 0; i < n; i++) {
        const json_t *kj = json_array_get(k, i);
        lt_shape_key *key = &out->keys[out->nkeys];
        double e4[LT_EASE_DIMS];

        key->t = get_num(kj, "t", 0);
        if (out->nkeys > 0 && key->t < out->keys[out->nkeys - 1].t)
            key->t = out->keys[out->nkeys - 1].t;
        key->hold = get_int(kj, "h", 0) == 1;
        if (json_object_get(kj, "s"))
            bez_parse(doc, json_object_get(kj, "s"), &key->s);
        else if (out->nkeys > 0)
            key->s = out->keys[out->nkeys - 1].e.n ? out->keys[out->nkeys - 1].e : out->keys[out->nkeys - 1].s;
        if (json_object_get(kj, "e"))
            bez_parse(doc, json_object_get(kj, "e"), &key->e);
        read_ease(json_object_get(kj, "o"), "x", e4, 0), key->ox = e4[0];
        read_ease(json_object_get(kj, "o"), "y", e4, 0), key->oy = e4[0];
        read_ease(json_object_get(kj, "i"), "x", e4, 1), key->ix = e4[0];
        read_ease(json_object_get(kj, "i"), "y", e4, 1), key->iy = e4[0];
        out->nkeys++;
    }
    if (out->nkeys > 0)
        out->v = out->keys[0].s;
}

/* ---- transforms ----------------------------------------------------------------------------- */

static const double zero3[3] = {0, 0, 0};
static const double hundred3[3] = {100, 100, 100};
static const double hundred[1] = {100};

static void transform_parse(lt_doc *doc, const json_t *j, lt_transform *tr)
{
    const json_t *p = json_object_get(j, "p");

    memset(tr, 0, sizeof(*tr));
    tr->present = j != NULL;
    lt_prop_parse(doc, json_object_get(j, "a"), 3, zero3, &tr->a);
    if (json_is_true(json_object_get(p, "s"))) {
        tr->split = 1;
        lt_prop_parse(doc, json_object_get(p, "x"), 1, zero3, &tr->px);
        lt_prop_parse(doc, json_object_get(p, "y"), 1, zero3, &tr->py);
        lt_prop_parse(doc, NULL, 3, zero3, &tr->p);
    } else {
        lt_prop_parse(doc, p, 3, zero3, &tr->p);
    }
    lt_prop_parse(doc, json_object_get(j, "s"), 3, hundred3, &tr->s);
    /* "r" is the 2-D rotation; 3-D layers carry rz (and rx, ry, which a flat render ignores). */
    lt_prop_parse(doc, json_object_get(j, json_object_get(j, "rz") ? "rz" : "r"), 1, zero3, &tr->r);
    lt_prop_parse(doc, json_object_get(j, "rx"), 1, zero3, &tr->rx);
    lt_prop_parse(doc, json_object_get(j, "ry"), 1, zero3, &tr->ry);
    lt_prop_parse(doc, json_object_get(j, "o"), 1, hundred, &tr->o);
    lt_prop_parse(doc, json_object_get(j, "sk"), 1, zero3, &tr->sk);
    lt_prop_parse(doc, json_object_get(j, "sa"), 1, zero3, &tr->sa);
    lt_prop_parse(doc, json_object_get(j, "so"), 1, hundred, &tr->so);
    lt_prop_parse(doc, json_object_get(j, "eo"), 1, hundred, &tr->eo);
}

/* ---- shapes --------------------------------------------------------------------------------- */

static const struct {
    const char *ty;
    lt_shape_type type;
} shape_types[] = {
    {"gr", LT_SH_GROUP},   {"sh", LT_SH_PATH},      {"rc", LT_SH_RECT},    {"el", LT_SH_ELLIPSE},
    {"sr", LT_SH_STAR},    {"fl", LT_SH_FILL},      {"st", LT_SH_STROKE},  {"gf", LT_SH_GFILL},
    {"gs", LT_SH_GSTROKE}, {"tr", LT_SH_TRANSFORM}, {"tm", LT_SH_TRIM},    {"rp", LT_SH_REPEATER},
    {"rd", LT_SH_ROUND},   {"op", LT_SH_OFFSET},    {"mm", LT_SH_MERGE},   {"pb", LT_SH_PUCKER},
    {"zz", LT_SH_ZIGZAG},  {"tw", LT_SH_TWIST},
};

static lt_shape_type shape_type(const char *ty)
{
    if (ty)
        for (size_t i = 0; i < sizeof(shape_types) / sizeof(shape_types[0]); i++)
            if (strcmp(shape_types[i].ty, ty) == 0)
                return shape_types[i].type;
    return LT_SH_UNKNOWN;
}

static const double white4[4] = {1, 1, 1, 1};
static const double one[1] = {1};
static const double four[1] = {4};

static void gradient_parse(lt_doc *doc, const json_t *j, lt_shape *s)
{
    const json_t *g = json_object_get(j, "g");
    const json_t *k = json_object_get(json_object_get(g, "k"), "k");
    int dims = 0;

    s->grad_kind = get_int(j, "t", 1);
    s->gstops = get_int(g, "p", 0);
    if (s->gstops < 0 || s->gstops > 1000)
        s->gstops = 0;
    /* Keyframed gradients may grow opacity stops between keys: size for the largest. */
    if (is_keyframes(k)) {
        for (size_t i = 0; i < json_array_size(k); i++) {
            int n = (int)json_array_size(json_object_get(json_array_get(k, i), "s"));
            dims = n > dims ? n : dims;
        }
    } else {
        dims = (int)json_array_size(k);
    }
    if (dims < s->gstops * 4)
        dims = s->gstops * 4;
    lt_prop_parse(doc, json_object_get(g, "k"), dims > 0 ? dims : 1, NULL, &s->g);
    lt_prop_parse(doc, json_object_get(j, "s"), 2, zero3, &s->gs);
    lt_prop_parse(doc, json_object_get(j, "e"), 2, zero3, &s->ge);
    lt_prop_parse(doc, json_object_get(j, "h"), 1, zero3, &s->gh);
    lt_prop_parse(doc, json_object_get(j, "a"), 1, zero3, &s->ga);
}

static void stroke_parse(lt_doc *doc, const json_t *j, lt_shape *s)
{
    const json_t *d = json_object_get(j, "d");

    lt_prop_parse(doc, json_object_get(j, "w"), 1, one, &s->w);
    s->cap = get_int(j, "lc", 2);
    s->join = get_int(j, "lj", 2);
    s->miter = get_num(j, "ml", 4);
    if (json_object_get(j, "ml2"))
        s->miter = num(json_object_get(json_object_get(j, "ml2"), "k"), s->miter);
    if (json_is_array(d) && json_array_size(d) > 0) {
        size_t n = json_array_size(d);
        s->dashes = lt_arena_alloc(&doc->arena, sizeof(lt_dash) * n);
        if (!s->dashes)
            return;
        for (size_t i = 0; i < n; i++) {
            const json_t *dj = json_array_get(d, i);
            const char *kind = json_string_value(json_object_get(dj, "n"));
            s->dashes[i].kind = kind ? kind[0] : 'd';
            lt_prop_parse(doc, json_object_get(dj, "v"), 1, zero3, &s->dashes[i].v);
        }
        s->ndashes = (int)n;
    }
}

static fw_err shapes_parse(lt_doc *doc, const json_t *arr, lt_shape **out, int *count, int depth, fw_error *err);

static fw_err shape_parse(lt_doc *doc, const json_t *j, lt_shape *s, int depth, fw_error *err)
{
    const char *ty = json_string_value(json_object_get(j, "ty"));

    s->type = shape_type(ty);
    s->name = get_str(doc, j, "nm");
    s->match = get_str(doc, j, "mn");
    s->hidden = json_is_true(json_object_get(j, "hd"));
    s->direction = get_int(j, "d", 0);
    s->blend = get_int(j, "bm", 0);
    switch (s->type) {
    case LT_SH_GROUP: {
        const json_t *it = json_object_get(j, "it");
        fw_err rc = shapes_parse(doc, it, &s->items, &s->nitems, depth + 1, err);
        if (rc)
            return rc;
        break;
    }
    case LT_SH_PATH:
        path_prop_parse(doc, json_object_get(j, "ks"), &s->path);
        break;
    case LT_SH_RECT:
        lt_prop_parse(doc, json_object_get(j, "p"), 2, zero3, &s->p);
        lt_prop_parse(doc, json_object_get(j, "s"), 2, zero3, &s->s);
        lt_prop_parse(doc, json_object_get(j, "r"), 1, zero3, &s->r);
        break;
    case LT_SH_ELLIPSE:
        lt_prop_parse(doc, json_object_get(j, "p"), 2, zero3, &s->p);
        lt_prop_parse(doc, json_object_get(j, "s"), 2, zero3, &s->s);
        break;
    case LT_SH_STAR:
        s->star_kind = get_int(j, "sy", 1);
        lt_prop_parse(doc, json_object_get(j, "p"), 2, zero3, &s->p);
        lt_prop_parse(doc, json_object_get(j, "or"), 1, zero3, &s->or_);
        lt_prop_parse(doc, json_object_get(j, "ir"), 1, zero3, &s->ir);
        lt_prop_parse(doc, json_object_get(j, "os"), 1, zero3, &s->os);
        lt_prop_parse(doc, json_object_get(j, "is"), 1, zero3, &s->is);
        lt_prop_parse(doc, json_object_get(j, "r"), 1, zero3, &s->r);
        lt_prop_parse(doc, json_object_get(j, "pt"), 1, four, &s->pt);
        break;
    case LT_SH_FILL:
        lt_prop_parse(doc, json_object_get(j, "c"), 4, white4, &s->c);
        lt_prop_parse(doc, json_object_get(j, "o"), 1, hundred, &s->o);
        s->fill_rule = get_int(j, "r", 1);
        break;
    case LT_SH_STROKE:
        lt_prop_parse(doc, json_object_get(j, "c"), 4, white4, &s->c);
        lt_prop_parse(doc, json_object_get(j, "o"), 1, hundred, &s->o);
        stroke_parse(doc, j, s);
        break;
    case LT_SH_GFILL:
        lt_prop_parse(doc, json_object_get(j, "o"), 1, hundred, &s->o);
        s->fill_rule = get_int(j, "r", 1);
        gradient_parse(doc, j, s);
        break;
    case LT_SH_GSTROKE:
        lt_prop_parse(doc, json_object_get(j, "o"), 1, hundred, &s->o);
        stroke_parse(doc, j, s);
        gradient_parse(doc, j, s);
        break;
    case LT_SH_TRANSFORM:
        transform_parse(doc, j, &s->tr);
        break;
    case LT_SH_TRIM:
        lt_prop_parse(doc, json_object_get(j, "s"), 1, zero3, &s->ts);
        lt_prop_parse(doc, json_object_get(j, "e"), 1, hundred, &s->te);
        lt_prop_parse(doc, json_object_get(j, "o"), 1, zero3, &s->to);
        s->mode = get_int(j, "m", 1);
        break;
    case LT_SH_REPEATER:
        lt_prop_parse(doc, json_object_get(j, "c"), 1, one, &s->copies);
        lt_prop_parse(doc, json_object_get(j, "o"), 1, zero3, &s->offset);
        s->mode = get_int(j, "m", 1);
        transform_parse(doc, json_object_get(j, "tr"), &s->tr);
        break;
    case LT_SH_ROUND:
        lt_prop_parse(doc, json_object_get(j, "r"), 1, zero3, &s->r);
        break;
    case LT_SH_OFFSET:
        lt_prop_parse(doc, json_object_get(j, "a"), 1, zero3, &s->s);
        s->join = get_int(j, "lj", 1);
        lt_prop_parse(doc, json_object_get(j, "ml"), 1, four, &s->r);
        break;
    case LT_SH_MERGE:
        s->mode = get_int(j, "mm", 1);
        break;
    case LT_SH_PUCKER:
        lt_prop_parse(doc, json_object_get(j, "a"), 1, zero3, &s->s);
        break;
    case LT_SH_ZIGZAG:
        lt_prop_parse(doc, json_object_get(j, "s"), 1, zero3, &s->s);
        lt_prop_parse(doc, json_object_get(j, "r"), 1, zero3, &s->r);
        lt_prop_parse(doc, json_object_get(j, "pt"), 1, one, &s->pt);
        break;
    case LT_SH_TWIST:
    case LT_SH_UNKNOWN: {
        char what[64];
        snprintf(what, sizeof(what), "shape '%s'", ty ? ty : "?");
        lt_doc_unsupported(doc, what);
        break;
    }
    }
    return FW_OK;
}

static fw_err shapes_parse(lt_doc *doc, const json_t *arr, lt_shape **out, int *count, int depth, fw_error *err)
{
    size_t n = json_array_size(arr);

    *out = NULL;
    *count = 0;
    if (depth > LT_MAX_DEPTH)
        return fw_error_set(err, FW_ERR_INVALID, "shapes", "shape groups are nested deeper than %d", LT_MAX_DEPTH);
    if (n == 0)
        return FW_OK;
    *out = lt_arena_alloc(&doc->arena, sizeof(lt_shape) * n);
    if (!*out)
        return fw_error_set(err, FW_ERR_INVALID, "template", "the document is too large to draw");
    for (size_t i = 0; i < n; i++) {
        fw_err rc = shape_parse(doc, json_array_get(arr, i), &(*out)[i], depth, err);
        if (rc)
            return rc;
    }
    *count = (int)n;
    return FW_OK;
}

/* ---- masks and effects ---------------------------------------------------------------------- */

static void masks_parse(lt_doc *doc, const json_t *arr, lt_layer *l)
{
    size_t n = json_array_size(arr);

    if (n == 0)
        return;
    l->masks = lt_arena_alloc(&doc->arena, sizeof(lt_mask) * n);
    if (!l->masks)
        return;
    for (size_t i = 0; i < n; i++) {
        const json_t *mj = json_array_get(arr, i);
        lt_mask *m = &l->masks[i];
        const char *mode = json_string_value(json_object_get(mj, "mode"));
        m->mode = mode && *mode ? mode[0] : 'a';
        m->inverted = json_is_true(json_object_get(mj, "inv"));
        path_prop_parse(doc, json_object_get(mj, "pt"), &m->path);
        lt_prop_parse(doc, json_object_get(mj, "o"), 1, hundred, &m->o);
        lt_prop_parse(doc, json_object_get(mj, "x"), 1, zero3, &m->x);
    }
    l->nmasks = (int)n;
}

static void effects_parse(lt_doc *doc, const json_t *arr, lt_effect **out, int *count, int depth)
{
    size_t n = json_array_size(arr);

    *out = NULL;
    *count = 0;
    if (n == 0 || depth > 8)
        return;
    *out = lt_arena_alloc(&doc->arena, sizeof(lt_effect) * n);
    if (!*out)
        return;
    for (size_t i = 0; i < n; i++) {
        const json_t *ej = json_array_get(arr, i);
        const json_t *vals = json_object_get(ej, "ef");
        lt_effect *e = &(*out)[i];
        size_t nv = json_array_size(vals);

        e->type = get_int(ej, "ty", 5);
        e->name = get_str(doc, ej, "nm");
        e->match = get_str(doc, ej, "mn");
        e->enabled = get_int(ej, "en", 1) != 0;
        if (nv)
            e->values = lt_arena_alloc(&doc->arena, sizeof(lt_effect_value) * nv);
        if (!e->values)
            continue;
        for (size_t k = 0; k < nv; k++) {
            const json_t *vj = json_array_get(vals, k);
            lt_effect_value *v = &e->values[k];
            v->type = get_int(vj, "ty", 0);
            v->name = get_str(doc, vj, "nm");
            v->match = get_str(doc, vj, "mn");
            /* Colours have four numbers, points two or three, the rest one. */
            lt_prop_parse(doc, json_object_get(vj, "v"), v->type == 2 ? 4 : v->type == 3 ? 3 : 1, NULL, &v->v);
        }
        e->nvalues = (int)nv;
    }
    *count = (int)n;
}

/* ---- layers and compositions ---------------------------------------------------------------- */

static void solid_color(const char *hex, double out[3])
{
    unsigned r = 0, g = 0, b = 0;
    out[0] = out[1] = out[2] = 0;
    if (hex && hex[0] == '#' && strlen(hex) >= 7 && sscanf(hex + 1, "%2x%2x%2x", &r, &g, &b) == 3) {
        out[0] = r / 255.0;
        out[1] = g / 255.0;
        out[2] = b / 255.0;
    }
}

static fw_err layer_parse(lt_doc *doc, json_t *j, lt_layer *l, int depth, fw_error *err)
{
    l->type = get_int(j, "ty", -1);
    l->name = get_str(doc, j, "nm");
    l->ind = get_int(j, "ind", -1);
    l->parent_ind = json_object_get(j, "parent") ? get_int(j, "parent", -1) : -1;
    l->ip = get_num(j, "ip", 0);
    l->op = get_num(j, "op", 0);
    l->st = get_num(j, "st", 0);
    l->sr = get_num(j, "sr", 1);
    if (l->sr == 0)
        l->sr = 1;
    l->hidden = json_is_true(json_object_get(j, "hd"));
    l->auto_orient = get_int(j, "ao", 0) == 1;
    l->blend = get_int(j, "bm", 0);
    l->matte_mode = get_int(j, "tt", 0);
    l->is_matte = get_int(j, "td", 0) != 0;
    l->matte_parent = json_object_get(j, "tp") ? get_int(j, "tp", -1) : -1;
    transform_parse(doc, json_object_get(j, "ks"), &l->ks);
    masks_parse(doc, json_object_get(j, "masksProperties"), l);
    effects_parse(doc, json_object_get(j, "ef"), &l->effects, &l->neffects, 0);
    switch (l->type) {
    case LT_LAYER_PRECOMP:
        l->ref_id = get_str(doc, j, "refId");
        l->w = get_num(j, "w", 0);
        l->h = get_num(j, "h", 0);
        if (json_object_get(j, "tm")) {
            l->has_time_remap = 1;
            lt_prop_parse(doc, json_object_get(j, "tm"), 1, zero3, &l->tm);
        }
        break;
    case LT_LAYER_SOLID:
        solid_color(json_string_value(json_object_get(j, "sc")), l->solid);
        l->sw = get_num(j, "sw", 0);
        l->sh = get_num(j, "sh", 0);
        break;
    case LT_LAYER_IMAGE:
        l->ref_id = get_str(doc, j, "refId");
        break;
    case LT_LAYER_SHAPE:
        return shapes_parse(doc, json_object_get(j, "shapes"), &l->shapes, &l->nshapes, depth, err);
    case LT_LAYER_TEXT:
        l->text_json = json_object_get(j, "t");
        l->layer_json = (json_t *)j;
        break;
    default:
        break;
    }
    return FW_OK;
}

static fw_err comp_parse(lt_doc *doc, json_t *layers, lt_comp *c, fw_error *err)
{
    size_t n = json_array_size(layers);

    if (n == 0)
        return FW_OK;
    c->layers = lt_arena_alloc(&doc->arena, sizeof(lt_layer) * n);
    if (!c->layers)
        return fw_error_set(err, FW_ERR_INVALID, "template", "the document is too large to draw");
    for (size_t i = 0; i < n; i++) {
        fw_err rc = layer_parse(doc, json_array_get(layers, i), &c->layers[i], 0, err);
        if (rc)
            return rc;
        c->layers[i].index = (int)i + 1;
    }
    c->nlayers = (int)n;
    /* Parents by "ind", mattes by "tp" or the layer above. */
    for (int i = 0; i < c->nlayers; i++) {
        lt_layer *l = &c->layers[i];
        for (int k = 0; k < c->nlayers && l->parent_ind >= 0 && !l->parent; k++)
            if (c->layers[k].ind == l->parent_ind && k != i)
                l->parent = &c->layers[k];
        if (l->matte_mode) {
            if (l->matte_parent >= 0) {
                for (int k = 0; k < c->nlayers; k++)
                    if (c->layers[k].ind == l->matte_parent && k != i)
                        l->matte = &c->layers[k];
            } else if (i > 0) {
                l->matte = &c->layers[i - 1];
            }
        }
    }
    /* A parent chain that loops is cut where it closes. */
    for (int i = 0; i < c->nlayers; i++) {
        lt_layer *slow = &c->layers[i], *fast = slow;
        int steps = 0;
        while (fast && fast->parent && steps++ <= c->nlayers)
            fast = fast->parent;
        if (steps > c->nlayers)
            slow->parent = NULL;
    }
    return FW_OK;
}

/* Audio layers' assets are files of sound, not pictures: ours are marked,
 * the template's own are known by their extension. */
static int is_sound(const json_t *asset)
{
    static const char *const extensions[] = {".mp3", ".wav", ".aac", ".m4a", ".ogg", ".opus", ".flac", ".aif",
                                             ".aiff"};
    const char *p = json_string_value(json_object_get(asset, "p"));
    const char *dot = p ? strrchr(p, '.') : NULL;
    if (json_object_get(asset, "fw_sound") || (p && strncmp(p, "data:audio/", 11) == 0))
        return 1;
    for (size_t i = 0; dot && i < sizeof(extensions) / sizeof(extensions[0]); i++)
        if (strcasecmp(dot, extensions[i]) == 0)
            return 1;
    return 0;
}

static fw_err assets_parse(lt_doc *doc, json_t *assets, fw_error *err)
{
    size_t n = json_array_size(assets);

    if (n == 0)
        return FW_OK;
    doc->comps = lt_arena_alloc(&doc->arena, sizeof(lt_comp) * n);
    doc->images = lt_arena_alloc(&doc->arena, sizeof(lt_image) * n);
    if (!doc->comps || !doc->images)
        return fw_error_set(err, FW_ERR_INVALID, "template", "the document is too large to draw");
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(assets, i);
        json_t *layers = json_object_get(a, "layers");
        if (json_is_array(layers)) {
            lt_comp *c = &doc->comps[doc->ncomps++];
            c->id = get_str(doc, a, "id");
            c->name = get_str(doc, a, "nm");
            c->w = get_num(a, "w", doc->w);
            c->h = get_num(a, "h", doc->h);
            c->fr = get_num(a, "fr", doc->fr);
            fw_err rc = comp_parse(doc, layers, c, err);
            if (rc)
                return rc;
        } else if (json_object_get(a, "p") && !is_sound(a)) {
            lt_image *im = &doc->images[doc->nimages++];
            const char *u = json_string_value(json_object_get(a, "u"));
            const char *p = json_string_value(json_object_get(a, "p"));
            im->id = get_str(doc, a, "id");
            im->w = get_num(a, "w", 0);
            im->h = get_num(a, "h", 0);
            /* A clip put there by a video asset: its pictures come from the caller (footage). */
            im->footage = json_object_get(a, "fw_footage") != NULL;
            if (p && (get_int(a, "e", 0) == 1 || strncmp(p, "data:", 5) == 0 || p[0] == '/' || !u)) {
                im->path = lt_arena_strdup(&doc->arena, p);
            } else if (p) {
                size_t len = strlen(u) + strlen(p) + 2;
                char *full = lt_arena_alloc(&doc->arena, len);
                if (full)
                    snprintf(full, len, "%s%s", u, p);
                im->path = full;
            }
        }
    }
    return FW_OK;
}

static lt_comp *find_comp(lt_doc *doc, const char *id)
{
    for (int i = 0; id && i < doc->ncomps; i++)
        if (doc->comps[i].id && strcmp(doc->comps[i].id, id) == 0)
            return &doc->comps[i];
    return NULL;
}

static lt_image *find_image(lt_doc *doc, const char *id)
{
    for (int i = 0; id && i < doc->nimages; i++)
        if (doc->images[i].id && strcmp(doc->images[i].id, id) == 0)
            return &doc->images[i];
    return NULL;
}

static void resolve_refs(lt_doc *doc, lt_comp *c)
{
    for (int i = 0; i < c->nlayers; i++) {
        lt_layer *l = &c->layers[i];
        if (l->type == LT_LAYER_PRECOMP)
            l->comp = find_comp(doc, l->ref_id);
        else if (l->type == LT_LAYER_IMAGE)
            l->image = find_image(doc, l->ref_id);
    }
}

static void markers_parse(lt_doc *doc, const json_t *arr)
{
    size_t n = json_array_size(arr);
    if (n == 0 || !(doc->markers = lt_arena_alloc(&doc->arena, sizeof(lt_marker) * n)))
        return;
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(arr, i);
        doc->markers[i].name = get_str(doc, m, "cm");
        doc->markers[i].t = get_num(m, "tm", 0);
        doc->markers[i].dur = get_num(m, "dr", 0);
    }
    doc->nmarkers = (int)n;
}

fw_err lt_doc_load(lt_doc **out, const char *json, size_t len, const char *resource_dir, fw_error *err)
{
    json_error_t jerr;
    lt_doc *doc;
    fw_err rc;

    *out = NULL;
    doc = calloc(1, sizeof(*doc));
    if (!doc)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory loading the document");
    doc->json = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!json_is_object(doc->json)) {
        rc = fw_error_set(err, FW_ERR_INVALID, "template", "the document is not a JSON object: %s (line %d)",
                          doc->json ? "not an object" : jerr.text, jerr.line);
        goto fail;
    }
    doc->w = get_num(doc->json, "w", 0);
    doc->h = get_num(doc->json, "h", 0);
    doc->fr = get_num(doc->json, "fr", 0);
    doc->ip = get_num(doc->json, "ip", 0);
    doc->op = get_num(doc->json, "op", 0);
    if (!(doc->w >= 1 && doc->h >= 1 && doc->w <= 16384 && doc->h <= 16384)) {
        rc = fw_error_set(err, FW_ERR_INVALID, "template.w", "the composition size %gx%g is not drawable", doc->w,
                          doc->h);
        goto fail;
    }
    if (!(doc->fr > 0 && doc->fr <= 1000) || !(doc->op > doc->ip) || doc->op - doc->ip > 1e7) {
        rc = fw_error_set(err, FW_ERR_INVALID, "template.fr", "the document has no frame rate or no frames");
        goto fail;
    }
    doc->resource_dir = resource_dir ? lt_arena_strdup(&doc->arena, resource_dir) : NULL;
    doc->root.w = doc->w;
    doc->root.h = doc->h;
    doc->root.fr = doc->fr;
    doc->root.name = get_str(doc, doc->json, "nm");
    if ((rc = assets_parse(doc, json_object_get(doc->json, "assets"), err)))
        goto fail;
    if ((rc = comp_parse(doc, json_object_get(doc->json, "layers"), &doc->root, err)))
        goto fail;
    resolve_refs(doc, &doc->root);
    for (int i = 0; i < doc->ncomps; i++)
        resolve_refs(doc, &doc->comps[i]);
    markers_parse(doc, json_object_get(doc->json, "markers"));
    if (doc->arena.oom) {
        rc = fw_error_set(err, FW_ERR_INVALID, "template", "the document is too large to draw");
        goto fail;
    }
    *out = doc;
    return FW_OK;
fail:
    lt_doc_free(&doc);
    return rc;
}

void lt_doc_free(lt_doc **doc)
{
    if (!doc || !*doc)
        return;
    json_decref((*doc)->json);
    lt_arena_free(&(*doc)->arena);
    free(*doc);
    *doc = NULL;
}
