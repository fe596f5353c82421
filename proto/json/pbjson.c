/*
 * pbjson.c - JSON <-> protobuf-c messages by walking descriptors; see pbjson.h.
 *
 * Both directions are one recursive walk over a message descriptor. A few
 * messages are recognised by their full name and given their special JSON
 * form (the well-known types); a map field is recognised by the shape protoc
 * gives its entry message (a nested "<Field>Entry" with `key` = 1 and
 * `value` = 2), since protobuf-c's descriptors carry no map_entry option.
 *
 * Input builds the message in place, keeping it valid for
 * protobuf_c_message_free_unpacked() at every step (a repeated field's count
 * only grows once an element is complete; a oneof case is set with its
 * member), so any error just frees what was built so far.
 */
#include "proto/json/pbjson.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

/* Where the walk is: flags, nesting depth and the JSON path for errors. */
typedef struct pbjson_ctx {
    unsigned flags;
    int depth;
    fw_error *err;
    size_t path_len;
    char path[FW_ERROR_FIELD_MAX * 2];
} pbjson_ctx;

typedef enum wkt_kind {
    WKT_NONE,
    WKT_VALUE,
    WKT_STRUCT,
    WKT_LIST,
    WKT_TIMESTAMP,
    WKT_WRAPPER,
} wkt_kind;

/* ---- paths and errors ---- */

static size_t path_push(pbjson_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_push(pbjson_ctx *c, const char *fmt, ...)
{
    size_t old = c->path_len;
    size_t room = sizeof(c->path) - old;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(c->path + old, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        c->path[old] = '\0';
    else
        c->path_len = (size_t)n < room ? old + (size_t)n : sizeof(c->path) - 1;
    return old;
}

static size_t path_push_name(pbjson_ctx *c, const char *name)
{
    return path_push(c, "%s%s", c->path_len ? "." : "", name);
}

static void path_pop(pbjson_ctx *c, size_t old)
{
    c->path_len = old;
    c->path[old] = '\0';
}

static fw_err fail(pbjson_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static fw_err fail(pbjson_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fw_error_setv(c->err, FW_ERR_INVALID, c->path, fmt, ap);
    va_end(ap);
    return FW_ERR_INVALID;
}

static fw_err fail_nomem(pbjson_ctx *c)
{
    return fw_error_set(c->err, FW_ERR_NOMEM, c->path, "out of memory");
}

/* Objects and arrays count towards the depth limit; scalars do not. */
static fw_err enter(pbjson_ctx *c)
{
    if (c->depth >= FW_PBJSON_MAX_DEPTH)
        return fail(c, "nested too deeply (more than %d levels of objects and arrays)", FW_PBJSON_MAX_DEPTH);
    c->depth++;
    return FW_OK;
}

static void leave(pbjson_ctx *c)
{
    c->depth--;
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

/* ---- descriptors ---- */

static wkt_kind wkt_of(const ProtobufCMessageDescriptor *d)
{
    static const char *const wrappers[] = {
        "DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value",
        "UInt32Value", "BoolValue",  "StringValue", "BytesValue",
    };
    const char *name = d->name;
    size_t i;

    if (strncmp(name, "google.protobuf.", 16) != 0)
        return WKT_NONE;
    name += 16;
    if (strcmp(name, "Value") == 0)
        return WKT_VALUE;
    if (strcmp(name, "Struct") == 0)
        return WKT_STRUCT;
    if (strcmp(name, "ListValue") == 0)
        return WKT_LIST;
    if (strcmp(name, "Timestamp") == 0)
        return WKT_TIMESTAMP;
    for (i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
        if (strcmp(name, wrappers[i]) == 0 && d->n_fields == 1)
            return WKT_WRAPPER;
    return WKT_NONE;
}

static int is_null_value_enum(const ProtobufCFieldDescriptor *f)
{
    const ProtobufCEnumDescriptor *e = f->descriptor;
    return f->type == PROTOBUF_C_TYPE_ENUM && e && strcmp(e->name, "google.protobuf.NullValue") == 0;
}

/* protoc's JSON name: drop each '_' and upper-case the letter after it. */
static const char *json_name(const char *name, char *buf, size_t size)
{
    size_t n = 0;
    int upper = 0;
    const char *p;

    for (p = name; *p; p++) {
        if (*p == '_') {
            upper = 1;
            continue;
        }
        if (n + 1 >= size)
            return name;
        buf[n++] = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        upper = 0;
    }
    buf[n] = '\0';
    return buf;
}

static const char *output_name(const pbjson_ctx *c, const ProtobufCFieldDescriptor *f, char *buf, size_t size)
{
    return (c->flags & FW_PBJSON_PROTO_NAMES) ? f->name : json_name(f->name, buf, size);
}

/* The entry message of a map field, or NULL when f is not a map. protoc
 * names the entry of field "foo_bar" "FooBarEntry", nested in the parent. */
static const ProtobufCMessageDescriptor *map_entry(const ProtobufCMessageDescriptor *parent,
                                                   const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *e = f->descriptor;
    char expect[256];
    size_t plen, n = 0;
    int upper = 1;
    const char *p;

    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE || !e)
        return NULL;
    if (e->n_fields != 2 || e->fields[0].id != 1 || e->fields[1].id != 2 || strcmp(e->fields[0].name, "key") != 0 ||
        strcmp(e->fields[1].name, "value") != 0)
        return NULL;
    plen = strlen(parent->name);
    if (strncmp(e->name, parent->name, plen) != 0 || e->name[plen] != '.')
        return NULL;
    for (p = f->name; *p; p++) {
        if (*p == '_') {
            upper = 1;
            continue;
        }
        if (n + 7 >= sizeof(expect))
            return NULL;
        expect[n++] = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        upper = 0;
    }
    memcpy(expect + n, "Entry", 6);
    return strcmp(e->short_name, expect) == 0 ? e : NULL;
}

static size_t element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static void *member_of(const ProtobufCMessage *m, unsigned offset)
{
    return (char *)m + offset;
}

static ProtobufCMessage *message_alloc(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = malloc(d->sizeof_message);
    if (m)
        protobuf_c_message_init(d, m);
    return m;
}

/* ---- small text helpers ---- */

/* -?digits(.digits)?([eE][+-]?digits)? : what a numeric string may look like. */
static int is_number_text(const char *s, int *is_integer)
{
    const char *p = s;
    *is_integer = 1;
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        *is_integer = 0;
        p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        *is_integer = 0;
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* Optimal string alignment distance (edits, adjacent swaps count once), for
 * "did you mean". Keys longer than 63 characters get no suggestion. */
static int edit_distance(const char *a, const char *b)
{
    int rows[3][64];
    int *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;
    size_t la = strlen(a), lb = strlen(b), i, j;

    if (la > 63 || lb > 63)
        return 1 << 20;
    for (j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

/* ---- base64 ---- */

static const char base64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int base64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Standard or URL-safe alphabet, with or without '=' padding. Returns 0 and
 * a malloc'd buffer (NULL for empty input), or -1 when s is not base64. */
static int base64_decode(const char *s, size_t len, ProtobufCBinaryData *out)
{
    size_t pad = 0, i, n = 0;
    uint32_t acc = 0;
    int bits = 0;
    uint8_t *buf;

    while (len > 0 && s[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (len % 4 == 1 || (pad && (len + pad) % 4 != 0))
        return -1;
    out->len = 0;
    out->data = NULL;
    if (len == 0)
        return 0;
    buf = malloc(len * 3 / 4 + 1);
    if (!buf)
        return -2;
    for (i = 0; i < len; i++) {
        int v = base64_value(s[i]);
        if (v < 0) {
            free(buf);
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (uint8_t)(acc >> bits);
        }
    }
    out->data = buf;
    out->len = n;
    return 0;
}

static json_t *base64_encode(const ProtobufCBinaryData *b)
{
    size_t n = (b->len + 2) / 3 * 4, i, o = 0;
    char *text = malloc(n + 1);
    json_t *j;

    if (!text)
        return NULL;
    for (i = 0; i + 2 < b->len; i += 3) {
        uint32_t v = (uint32_t)b->data[i] << 16 | (uint32_t)b->data[i + 1] << 8 | b->data[i + 2];
        text[o++] = base64_chars[v >> 18 & 63];
        text[o++] = base64_chars[v >> 12 & 63];
        text[o++] = base64_chars[v >> 6 & 63];
        text[o++] = base64_chars[v & 63];
    }
    if (i < b->len) {
        uint32_t v = (uint32_t)b->data[i] << 16 | (i + 1 < b->len ? (uint32_t)b->data[i + 1] << 8 : 0);
        text[o++] = base64_chars[v >> 18 & 63];
        text[o++] = base64_chars[v >> 12 & 63];
        text[o++] = i + 1 < b->len ? base64_chars[v >> 6 & 63] : '=';
        text[o++] = '=';
    }
    text[o] = '\0';
    j = json_stringn(text, o);
    free(text);
    return j;
}

/* ---- timestamps ---- */

#define TIMESTAMP_MIN_SECONDS INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define TIMESTAMP_MAX_SECONDS INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

static int digits(const char *s, int n)
{
    int v = 0, i;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)" -> seconds and nanos. */
static int timestamp_parse(const char *s, int64_t *seconds, int32_t *nanos)
{
    int year, month, day, hour, minute, second, frac = 0, ndigits = 0, off = 0;
    size_t len = strlen(s);
    const char *p;
    int64_t t;

    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return -1;
    year = digits(s, 4);
    month = digits(s + 5, 2);
    day = digits(s + 8, 2);
    hour = digits(s + 11, 2);
    minute = digits(s + 14, 2);
    second = digits(s + 17, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour < 0 ||
        hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
        return -1;
    p = s + 19;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (++ndigits > 9)
                return -1;
            frac = frac * 10 + (*p - '0');
        }
        if (ndigits == 0)
            return -1;
        for (; ndigits < 9; ndigits++)
            frac *= 10;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        off = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
    } else {
        return -1;
    }
    t = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - off;
    if (t < TIMESTAMP_MIN_SECONDS || t > TIMESTAMP_MAX_SECONDS)
        return -1;
    *seconds = t;
    *nanos = frac;
    return 0;
}

static int timestamp_format(int64_t seconds, int32_t nanos, char *buf, size_t size)
{
    int64_t days, rem, year;
    int month, day;

    if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS || nanos < 0 || nanos > 999999999)
        return -1;
    days = seconds / 86400;
    rem = seconds % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &year, &month, &day);
    if (nanos % 1000000 == 0)
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)year, month, day, (int)(rem / 3600),
                 (int)(rem / 60 % 60), (int)(rem % 60), (int)(nanos / 1000000));
    else if (nanos % 1000 == 0)
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)year, month, day, (int)(rem / 3600),
                 (int)(rem / 60 % 60), (int)(rem % 60), (int)(nanos / 1000));
    else
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", (int)year, month, day, (int)(rem / 3600),
                 (int)(rem / 60 % 60), (int)(rem % 60), (int)nanos);
    return 0;
}

/* =================================================================== */
/* JSON -> message                                                      */
/* =================================================================== */

static fw_err message_from_json(pbjson_ctx *c, const ProtobufCMessageDescriptor *d, const json_t *j,
                                ProtobufCMessage **out);
static fw_err field_from_json(pbjson_ctx *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                              const json_t *v);

static const char *type_name(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return "int32";
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return "uint32";
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return "int64";
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return "uint64";
    case PROTOBUF_C_TYPE_FLOAT: return "float";
    case PROTOBUF_C_TYPE_DOUBLE: return "double";
    case PROTOBUF_C_TYPE_BOOL: return "bool";
    case PROTOBUF_C_TYPE_ENUM: return "enum";
    case PROTOBUF_C_TYPE_STRING: return "string";
    case PROTOBUF_C_TYPE_BYTES: return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE: return "message";
    }
    return "?";
}

/* An integer of type `type` from a JSON number or a numeric string. Signed
 * results come back in *s, unsigned ones in *u. */
static fw_err integer_from_json(pbjson_ctx *c, ProtobufCType type, const json_t *j, int64_t *s, uint64_t *u)
{
    int is_signed = type != PROTOBUF_C_TYPE_UINT32 && type != PROTOBUF_C_TYPE_FIXED32 &&
                    type != PROTOBUF_C_TYPE_UINT64 && type != PROTOBUF_C_TYPE_FIXED64;
    int wide = element_size(type) == 8;
    int64_t smin = wide ? INT64_MIN : INT32_MIN, smax = wide ? INT64_MAX : INT32_MAX;
    uint64_t umax = wide ? UINT64_MAX : UINT32_MAX;
    char shown[48];
    double d;

    if (json_is_integer(j)) {
        json_int_t v = json_integer_value(j);
        snprintf(shown, sizeof(shown), "%" JSON_INTEGER_FORMAT, v);
        if (is_signed ? (v < smin || v > smax) : v < 0 || (uint64_t)v > umax)
            goto out_of_range;
        *s = v;
        *u = (uint64_t)v;
        return FW_OK;
    }
    if (json_is_real(j)) {
        d = json_real_value(j);
        snprintf(shown, sizeof(shown), "%.17g", d);
    } else if (json_is_string(j)) {
        const char *text = json_string_value(j);
        int is_integer;
        if (!is_number_text(text, &is_integer))
            return fail(c, "expected an %s (a number or a numeric string), got \"%.40s\"", type_name(type), text);
        snprintf(shown, sizeof(shown), "%.40s", text);
        errno = 0;
        if (is_integer && is_signed) {
            long long v = strtoll(text, NULL, 10);
            if (errno == ERANGE || v < smin || v > smax)
                goto out_of_range;
            *s = v;
            *u = (uint64_t)v;
            return FW_OK;
        }
        if (is_integer && text[0] != '-') {
            unsigned long long v = strtoull(text, NULL, 10);
            if (errno == ERANGE || v > umax)
                goto out_of_range;
            *s = (int64_t)v;
            *u = v;
            return FW_OK;
        }
        if (is_integer)
            goto out_of_range; /* negative text for an unsigned type */
        d = strtod(text, NULL);
    } else {
        return fail(c, "expected an %s (a number or a numeric string), got %s", type_name(type), json_kind(j));
    }
    if (!isfinite(d))
        goto out_of_range;
    if (d != floor(d))
        return fail(c, "%s is not an integer; %s takes whole numbers", shown, type_name(type));
    if (is_signed) {
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0 || (int64_t)d < smin || (int64_t)d > smax)
            goto out_of_range;
        *s = (int64_t)d;
        *u = (uint64_t)*s;
    } else {
        if (d < 0 || d >= 18446744073709551616.0 || (uint64_t)d > umax)
            goto out_of_range;
        *u = (uint64_t)d;
        *s = (int64_t)*u;
    }
    return FW_OK;

out_of_range:
    if (is_signed)
        return fail(c, "%s is out of range for %s (%" PRId64 " to %" PRId64 ")", shown, type_name(type), smin, smax);
    return fail(c, "%s is out of range for %s (0 to %" PRIu64 ")", shown, type_name(type), umax);
}

static fw_err floating_from_json(pbjson_ctx *c, ProtobufCType type, const json_t *j, double *out)
{
    double d;

    if (json_is_number(j)) {
        d = json_number_value(j);
    } else if (json_is_string(j)) {
        const char *text = json_string_value(j);
        int is_integer;
        if (strcmp(text, "NaN") == 0) {
            *out = NAN;
            return FW_OK;
        }
        if (strcmp(text, "Infinity") == 0 || strcmp(text, "-Infinity") == 0) {
            *out = text[0] == '-' ? -INFINITY : INFINITY;
            return FW_OK;
        }
        if (!is_number_text(text, &is_integer))
            return fail(c, "expected a %s (a number, \"NaN\", \"Infinity\" or \"-Infinity\"), got \"%.40s\"",
                        type_name(type), text);
        errno = 0;
        d = strtod(text, NULL);
        if (errno == ERANGE && isinf(d))
            return fail(c, "%.40s is out of range for %s", text, type_name(type));
    } else {
        return fail(c, "expected a %s (a number, \"NaN\", \"Infinity\" or \"-Infinity\"), got %s", type_name(type),
                    json_kind(j));
    }
    if (type == PROTOBUF_C_TYPE_FLOAT && isfinite(d) && fabs(d) > FLT_MAX)
        return fail(c, "%g is out of range for float", d);
    *out = d;
    return FW_OK;
}

static fw_err enum_from_json(pbjson_ctx *c, const ProtobufCFieldDescriptor *f, const json_t *j, int32_t *out)
{
    const ProtobufCEnumDescriptor *e = f->descriptor;

    if (is_null_value_enum(f) && json_is_null(j)) {
        *out = 0;
        return FW_OK;
    }
    if (json_is_string(j)) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(e, json_string_value(j));
        char names[256] = "";
        size_t used = 0;
        unsigned i;
        if (v) {
            *out = v->value;
            return FW_OK;
        }
        if (c->flags & FW_PBJSON_IGNORE_UNKNOWN) {
            *out = 0;
            return FW_OK;
        }
        for (i = 0; i < e->n_values && used + 1 < sizeof(names); i++) {
            int n = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", e->values[i].name);
            if (n < 0)
                break;
            used += (size_t)n;
        }
        return fail(c, "\"%.40s\" is not a value of %s; expected one of %s", json_string_value(j), e->name, names);
    }
    if (json_is_number(j)) {
        int64_t s;
        uint64_t u;
        fw_err rc = integer_from_json(c, PROTOBUF_C_TYPE_INT32, j, &s, &u);
        if (rc == FW_OK)
            *out = (int32_t)s;
        return rc;
    }
    return fail(c, "expected a %s value name (a string), got %s", e->name, json_kind(j));
}

/* One scalar (not a message) into dst, which has the field's element type. */
static fw_err scalar_from_json(pbjson_ctx *c, const ProtobufCFieldDescriptor *f, const json_t *j, void *dst)
{
    int64_t s;
    uint64_t u;
    double d;
    fw_err rc;

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((rc = integer_from_json(c, f->type, j, &s, &u)) == FW_OK)
            *(int32_t *)dst = (int32_t)s;
        return rc;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((rc = integer_from_json(c, f->type, j, &s, &u)) == FW_OK)
            *(uint32_t *)dst = (uint32_t)u;
        return rc;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if ((rc = integer_from_json(c, f->type, j, &s, &u)) == FW_OK)
            *(int64_t *)dst = s;
        return rc;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if ((rc = integer_from_json(c, f->type, j, &s, &u)) == FW_OK)
            *(uint64_t *)dst = u;
        return rc;
    case PROTOBUF_C_TYPE_FLOAT:
        if ((rc = floating_from_json(c, f->type, j, &d)) == FW_OK)
            *(float *)dst = (float)d;
        return rc;
    case PROTOBUF_C_TYPE_DOUBLE:
        if ((rc = floating_from_json(c, f->type, j, &d)) == FW_OK)
            *(double *)dst = d;
        return rc;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(j))
            return fail(c, "expected true or false, got %s", json_kind(j));
        *(protobuf_c_boolean *)dst = json_is_true(j);
        return FW_OK;
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t v;
        if ((rc = enum_from_json(c, f, j, &v)) == FW_OK)
            *(int32_t *)dst = v;
        return rc;
    }
    case PROTOBUF_C_TYPE_STRING: {
        char *copy;
        if (!json_is_string(j))
            return fail(c, "expected a string, got %s", json_kind(j));
        if (strlen(json_string_value(j)) != json_string_length(j))
            return fail(c, "the string contains a NUL character");
        copy = strdup(json_string_value(j));
        if (!copy)
            return fail_nomem(c);
        *(char **)dst = copy;
        return FW_OK;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        int r;
        if (!json_is_string(j))
            return fail(c, "expected base64 text (a string), got %s", json_kind(j));
        r = base64_decode(json_string_value(j), json_string_length(j), dst);
        if (r == -2)
            return fail_nomem(c);
        if (r < 0)
            return fail(c, "not valid base64 (standard or URL-safe alphabet, padding optional)");
        return FW_OK;
    }
    case PROTOBUF_C_TYPE_MESSAGE: break;
    }
    return fw_error_set(c->err, FW_ERR_INTERNAL, c->path, "unexpected field type %d", (int)f->type);
}

/* A repeated field from a JSON array. */
static fw_err array_from_json(pbjson_ctx *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const json_t *j)
{
    size_t n = json_array_size(j), size = element_size(f->type), i;
    size_t *count = member_of(m, f->quantifier_offset);
    void **array = member_of(m, f->offset);
    fw_err rc;

    if (!json_is_array(j))
        return fail(c, "expected an array, got %s", json_kind(j));
    if ((rc = enter(c)) != FW_OK)
        return rc;
    if (n > 0) {
        *array = calloc(n, size);
        if (!*array) {
            leave(c);
            return fail_nomem(c);
        }
    }
    for (i = 0; i < n; i++) {
        const json_t *v = json_array_get(j, i);
        size_t old = path_push(c, "[%zu]", i);
        void *slot = (char *)*array + i * size;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (json_is_null(v) && wkt_of(f->descriptor) != WKT_VALUE)
                rc = fail(c, "null is not allowed in a list");
            else
                rc = message_from_json(c, f->descriptor, v, slot);
        } else if (json_is_null(v) && !is_null_value_enum(f)) {
            rc = fail(c, "null is not allowed in a list");
        } else {
            rc = scalar_from_json(c, f, v, slot);
        }
        if (rc != FW_OK) {
            leave(c);
            return rc;
        }
        path_pop(c, old);
        (*count)++;
    }
    leave(c);
    return FW_OK;
}

/* The key of a map entry from its JSON object key. */
static fw_err map_key_from_text(pbjson_ctx *c, const ProtobufCFieldDescriptor *kf, const char *key, void *dst)
{
    json_t *text;
    fw_err rc;

    if (kf->type == PROTOBUF_C_TYPE_BOOL) {
        if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
            return fail(c, "a map key of type bool must be \"true\" or \"false\"");
        *(protobuf_c_boolean *)dst = key[0] == 't';
        return FW_OK;
    }
    text = json_string(key);
    if (!text)
        return fail_nomem(c);
    rc = scalar_from_json(c, kf, text, dst);
    json_decref(text);
    return rc;
}

/* A map field from a JSON object: one entry message per key. */
static fw_err map_from_json(pbjson_ctx *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                            const ProtobufCMessageDescriptor *ed, const json_t *j)
{
    size_t n = json_object_size(j);
    size_t *count = member_of(m, f->quantifier_offset);
    ProtobufCMessage ***array = member_of(m, f->offset);
    const char *key;
    json_t *v;
    fw_err rc;

    if (!json_is_object(j))
        return fail(c, "expected an object (a map), got %s", json_kind(j));
    if ((rc = enter(c)) != FW_OK)
        return rc;
    if (n > 0) {
        *array = calloc(n, sizeof(ProtobufCMessage *));
        if (!*array) {
            leave(c);
            return fail_nomem(c);
        }
    }
    json_object_foreach((json_t *)j, key, v)
    {
        size_t old = path_push_name(c, key);
        ProtobufCMessage *entry;
        if (*count >= n)
            break; /* cannot happen: the object is not ours to change */
        if (json_is_null(v) && !(ed->fields[1].type == PROTOBUF_C_TYPE_MESSAGE &&
                                 wkt_of(ed->fields[1].descriptor) == WKT_VALUE)) {
            leave(c);
            return fail(c, "null is not allowed as a map value");
        }
        entry = message_alloc(ed);
        if (!entry) {
            leave(c);
            return fail_nomem(c);
        }
        rc = map_key_from_text(c, &ed->fields[0], key, member_of(entry, ed->fields[0].offset));
        if (rc == FW_OK)
            rc = field_from_json(c, entry, &ed->fields[1], v);
        if (rc != FW_OK) {
            protobuf_c_message_free_unpacked(entry, NULL);
            leave(c);
            return rc;
        }
        (*array)[(*count)++] = entry;
        path_pop(c, old);
    }
    leave(c);
    return FW_OK;
}

/* Set one field of m from the JSON value v (null: leave it at its default). */
static fw_err field_from_json(pbjson_ctx *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                              const json_t *v)
{
    void *member = member_of(m, f->offset);
    fw_err rc;

    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        const ProtobufCMessageDescriptor *ed = map_entry(m->descriptor, f);
        if (json_is_null(v))
            return FW_OK;
        return ed ? map_from_json(c, m, f, ed, v) : array_from_json(c, m, f, v);
    }
    if (json_is_null(v) && !is_null_value_enum(f) &&
        !(f->type == PROTOBUF_C_TYPE_MESSAGE && wkt_of(f->descriptor) == WKT_VALUE))
        return FW_OK;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage **slot = member;
        ProtobufCMessage *sub;
        if ((rc = message_from_json(c, f->descriptor, v, &sub)) != FW_OK)
            return rc;
        if (*slot && *slot != f->default_value)
            protobuf_c_message_free_unpacked(*slot, NULL);
        *slot = sub;
    } else {
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            char *old = *(char **)member;
            if ((rc = scalar_from_json(c, f, v, member)) != FW_OK)
                return rc;
            if (old && old != f->default_value && old != *(char **)member)
                free(old);
        } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
            ProtobufCBinaryData old = *(ProtobufCBinaryData *)member;
            if ((rc = scalar_from_json(c, f, v, member)) != FW_OK)
                return rc;
            if (old.data && (!f->default_value || ((const ProtobufCBinaryData *)f->default_value)->data != old.data))
                free(old.data);
        } else if ((rc = scalar_from_json(c, f, v, member)) != FW_OK) {
            return rc;
        }
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            *(protobuf_c_boolean *)member_of(m, f->quantifier_offset) = 1;
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)member_of(m, f->quantifier_offset) = f->id;
    return FW_OK;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d, const char *key)
{
    char buf[256];
    unsigned i;

    for (i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (strcmp(f->name, key) == 0 || strcmp(json_name(f->name, buf, sizeof(buf)), key) == 0)
            return f;
    }
    return NULL;
}

static fw_err unknown_field(pbjson_ctx *c, const ProtobufCMessageDescriptor *d, const char *key)
{
    const char *best = NULL;
    char buf[256], best_buf[256];
    int best_distance = 1 << 20;
    int limit = (int)strlen(key) / 3 > 2 ? (int)strlen(key) / 3 : 2;
    unsigned i;

    for (i = 0; i < d->n_fields; i++) {
        const char *name = json_name(d->fields[i].name, buf, sizeof(buf));
        int distance = edit_distance(key, name);
        if (distance < best_distance) {
            best_distance = distance;
            snprintf(best_buf, sizeof(best_buf), "%s", name);
            best = best_buf;
        }
    }
    if (best && best_distance <= limit)
        return fail(c, "unknown field; did you mean %s?", best);
    return fail(c, "unknown field (%s has no field of that name)", d->short_name);
}

/* An ordinary message from a JSON object. */
static fw_err fields_from_json(pbjson_ctx *c, ProtobufCMessage *m, const json_t *j)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    unsigned char seen_small[64];
    unsigned char *seen = seen_small;
    const char *key;
    json_t *v;
    fw_err rc = FW_OK;

    if (!json_is_object(j))
        return fail(c, "expected an object, got %s", json_kind(j));
    if ((rc = enter(c)) != FW_OK)
        return rc;
    if (d->n_fields > sizeof(seen_small) && !(seen = calloc(d->n_fields, 1))) {
        leave(c);
        return fail_nomem(c);
    }
    if (seen == seen_small)
        memset(seen, 0, sizeof(seen_small));
    json_object_foreach((json_t *)j, key, v)
    {
        const ProtobufCFieldDescriptor *f = find_field(d, key);
        char buf[256];
        size_t old;

        if (!f) {
            if (c->flags & FW_PBJSON_IGNORE_UNKNOWN)
                continue;
            path_push_name(c, key);
            rc = unknown_field(c, d, key);
            break;
        }
        old = path_push_name(c, json_name(f->name, buf, sizeof(buf)));
        if (seen[f - d->fields]) {
            rc = fail(c, "the field is given twice (as %s and as %s)", f->name, buf);
            break;
        }
        seen[f - d->fields] = 1;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && !json_is_null(v)) {
            uint32_t which = *(uint32_t *)member_of(m, f->quantifier_offset);
            if (which != 0 && which != f->id) {
                const ProtobufCFieldDescriptor *other = protobuf_c_message_descriptor_get_field(d, which);
                rc = fail(c, "only one of a oneof may be set, and %s already is",
                          other ? json_name(other->name, buf, sizeof(buf)) : "another field");
                break;
            }
        }
        if ((rc = field_from_json(c, m, f, v)) != FW_OK)
            break;
        path_pop(c, old);
    }
    if (seen != seen_small)
        free(seen);
    leave(c);
    return rc;
}

static fw_err value_from_json(pbjson_ctx *c, Google__Protobuf__Value *v, const json_t *j)
{
    const ProtobufCMessageDescriptor *d = v->base.descriptor;
    const ProtobufCFieldDescriptor *f;
    ProtobufCMessage *sub;
    fw_err rc;

    switch (json_typeof(j)) {
    case JSON_NULL:
        v->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
        return FW_OK;
    case JSON_TRUE:
    case JSON_FALSE:
        v->bool_value = json_is_true(j);
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
        return FW_OK;
    case JSON_INTEGER:
    case JSON_REAL:
        v->number_value = json_number_value(j);
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        return FW_OK;
    case JSON_STRING:
        if (strlen(json_string_value(j)) != json_string_length(j))
            return fail(c, "the string contains a NUL character");
        if (!(v->string_value = strdup(json_string_value(j))))
            return fail_nomem(c);
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
        return FW_OK;
    case JSON_OBJECT:
    case JSON_ARRAY:
        f = protobuf_c_message_descriptor_get_field_by_name(d, json_is_object(j) ? "struct_value" : "list_value");
        if (!f)
            return fw_error_set(c->err, FW_ERR_INTERNAL, c->path, "%s has no struct_value/list_value", d->name);
        if ((rc = message_from_json(c, f->descriptor, j, &sub)) != FW_OK)
            return rc;
        *(ProtobufCMessage **)member_of(&v->base, f->offset) = sub;
        v->kind_case = (Google__Protobuf__Value__KindCase)f->id;
        return FW_OK;
    }
    return fail(c, "unexpected JSON value");
}

static fw_err message_from_json(pbjson_ctx *c, const ProtobufCMessageDescriptor *d, const json_t *j,
                                ProtobufCMessage **out)
{
    ProtobufCMessage *m = message_alloc(d);
    fw_err rc = FW_OK;

    *out = NULL;
    if (!m)
        return fail_nomem(c);
    switch (wkt_of(d)) {
    case WKT_VALUE:
        rc = value_from_json(c, (Google__Protobuf__Value *)m, j);
        break;
    case WKT_STRUCT:
        if (!json_is_object(j))
            rc = fail(c, "expected an object, got %s", json_kind(j));
        else
            rc = map_from_json(c, m, &d->fields[0], d->fields[0].descriptor, j);
        break;
    case WKT_LIST:
        rc = array_from_json(c, m, &d->fields[0], j);
        break;
    case WKT_TIMESTAMP: {
        Google__Protobuf__Timestamp *t = (Google__Protobuf__Timestamp *)m;
        if (!json_is_string(j))
            rc = fail(c, "expected an RFC 3339 timestamp (a string such as \"2025-05-14T12:00:00.000Z\"), got %s",
                      json_kind(j));
        else if (timestamp_parse(json_string_value(j), &t->seconds, &t->nanos) != 0)
            rc = fail(c, "\"%.40s\" is not an RFC 3339 timestamp between years 0001 and 9999 (such as "
                         "\"2025-05-14T12:00:00.000Z\" or \"2025-05-14T14:00:00+02:00\")",
                      json_string_value(j));
        break;
    }
    case WKT_WRAPPER:
        if (json_is_null(j))
            break; /* only reachable at the top level: an empty wrapper */
        rc = field_from_json(c, m, &d->fields[0], j);
        break;
    case WKT_NONE:
        rc = fields_from_json(c, m, j);
        break;
    }
    if (rc != FW_OK) {
        protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return FW_OK;
}

fw_err fw_pbjson_to_message(const ProtobufCMessageDescriptor *d, const json_t *in, unsigned flags,
                            ProtobufCMessage **out, fw_error *err)
{
    pbjson_ctx c = {.flags = flags, .err = err};

    if (!out)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "no place to put the message");
    *out = NULL;
    if (!d || !in)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "no descriptor or no JSON value");
    return message_from_json(&c, d, in, out);
}

/* =================================================================== */
/* message -> JSON                                                      */
/* =================================================================== */

static fw_err message_to_json(pbjson_ctx *c, const ProtobufCMessage *m, json_t **out);

/* A finite double as JSON. Whole numbers that a double holds exactly are
 * written without a fraction ("progress": 100, not 100.0); -0.0 stays a
 * real so that its sign survives a round trip. */
static json_t *number_to_json(double d)
{
    if (d == floor(d) && fabs(d) <= 9007199254740992.0 && !(d == 0 && signbit(d)))
        return json_integer((json_int_t)d);
    return json_real(d);
}

static json_t *double_to_json(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d < 0 ? "-Infinity" : "Infinity");
    return number_to_json(d);
}

/* A float as the double nearest its shortest decimal form, so 0.1f is
 * written 0.1 rather than 0.100000001490116. */
static json_t *float_to_json(float f)
{
    char buf[32];
    int precision;

    if (!isfinite(f))
        return double_to_json(f);
    for (precision = 6; precision < 9; precision++) {
        snprintf(buf, sizeof(buf), "%.*g", precision, (double)f);
        if (strtof(buf, NULL) == f)
            return number_to_json(strtod(buf, NULL));
    }
    return number_to_json(f);
}

static fw_err scalar_to_json(pbjson_ctx *c, const ProtobufCFieldDescriptor *f, const void *src, json_t **out)
{
    char buf[32];

    *out = NULL;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *out = json_integer(*(const int32_t *)src);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *out = json_integer(*(const uint32_t *)src);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)src);
        *out = json_string(buf);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)src);
        *out = json_string(buf);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *out = float_to_json(*(const float *)src);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *out = double_to_json(*(const double *)src);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *out = json_boolean(*(const protobuf_c_boolean *)src);
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t v = *(const int32_t *)src;
        const ProtobufCEnumValue *ev;
        if (is_null_value_enum(f)) {
            *out = json_null();
            break;
        }
        ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        *out = ev ? json_string(ev->name) : json_integer(v);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)src;
        *out = json_string(s ? s : "");
        if (!*out)
            return fail(c, "the string is not valid UTF-8");
        break;
    }
    case PROTOBUF_C_TYPE_BYTES:
        *out = base64_encode(src);
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        return fw_error_set(c->err, FW_ERR_INTERNAL, c->path, "a message where a scalar was expected");
    }
    return *out ? FW_OK : fail_nomem(c);
}

/* A message-typed value that is absent where JSON needs one (a map value):
 * written as the message's default. */
static fw_err default_message_to_json(pbjson_ctx *c, const ProtobufCMessageDescriptor *d, json_t **out)
{
    ProtobufCMessage *m;
    fw_err rc;

    if (wkt_of(d) == WKT_VALUE) {
        *out = json_null();
        return FW_OK;
    }
    if (!(m = message_alloc(d)))
        return fail_nomem(c);
    rc = message_to_json(c, m, out);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static fw_err element_to_json(pbjson_ctx *c, const ProtobufCFieldDescriptor *f, const void *src, json_t **out)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE)
        return scalar_to_json(c, f, src, out);
    if (!*(ProtobufCMessage *const *)src)
        return default_message_to_json(c, f->descriptor, out);
    return message_to_json(c, *(ProtobufCMessage *const *)src, out);
}

static fw_err array_to_json(pbjson_ctx *c, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                            json_t **out)
{
    size_t n = *(const size_t *)member_of(m, f->quantifier_offset), size = element_size(f->type), i;
    const char *array = *(char *const *)member_of(m, f->offset);
    json_t *a;
    fw_err rc;

    if ((rc = enter(c)) != FW_OK)
        return rc;
    if (!(a = json_array())) {
        leave(c);
        return fail_nomem(c);
    }
    for (i = 0; i < n && array; i++) {
        size_t old = path_push(c, "[%zu]", i);
        json_t *v;
        if ((rc = element_to_json(c, f, array + i * size, &v)) != FW_OK)
            break;
        if (json_array_append_new(a, v) != 0) {
            rc = fail_nomem(c);
            break;
        }
        path_pop(c, old);
    }
    leave(c);
    if (rc != FW_OK) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return FW_OK;
}

static fw_err map_to_json(pbjson_ctx *c, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                          const ProtobufCMessageDescriptor *ed, json_t **out)
{
    size_t n = *(const size_t *)member_of(m, f->quantifier_offset), i;
    ProtobufCMessage *const *entries = *(ProtobufCMessage *const *const *)member_of(m, f->offset);
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    json_t *o;
    fw_err rc;

    if ((rc = enter(c)) != FW_OK)
        return rc;
    if (!(o = json_object())) {
        leave(c);
        return fail_nomem(c);
    }
    for (i = 0; i < n && entries; i++) {
        const ProtobufCMessage *e = entries[i];
        json_t *key = NULL, *v = NULL;
        const char *key_text;
        size_t old;

        if (!e)
            continue;
        if (kf->type == PROTOBUF_C_TYPE_BOOL)
            key = json_string(*(const protobuf_c_boolean *)member_of(e, kf->offset) ? "true" : "false");
        else if (kf->type == PROTOBUF_C_TYPE_INT64 || kf->type == PROTOBUF_C_TYPE_SINT64 ||
                 kf->type == PROTOBUF_C_TYPE_SFIXED64 || kf->type == PROTOBUF_C_TYPE_UINT64 ||
                 kf->type == PROTOBUF_C_TYPE_FIXED64 || kf->type == PROTOBUF_C_TYPE_STRING)
            rc = scalar_to_json(c, kf, member_of(e, kf->offset), &key);
        else {
            char buf[32];
            if (kf->type == PROTOBUF_C_TYPE_UINT32 || kf->type == PROTOBUF_C_TYPE_FIXED32)
                snprintf(buf, sizeof(buf), "%" PRIu32, *(const uint32_t *)member_of(e, kf->offset));
            else
                snprintf(buf, sizeof(buf), "%" PRId32, *(const int32_t *)member_of(e, kf->offset));
            key = json_string(buf);
        }
        if (rc != FW_OK)
            break;
        if (!key) {
            rc = fail_nomem(c);
            break;
        }
        key_text = json_string_value(key);
        old = path_push_name(c, key_text);
        rc = element_to_json(c, vf, member_of(e, vf->offset), &v);
        if (rc == FW_OK && json_object_setn_new(o, key_text, json_string_length(key), v) != 0)
            rc = fail_nomem(c);
        json_decref(key);
        if (rc != FW_OK)
            break;
        path_pop(c, old);
    }
    leave(c);
    if (rc != FW_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return FW_OK;
}

static int is_default(const ProtobufCFieldDescriptor *f, const void *member)
{
    static const unsigned char zeros[16];

    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)member)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)member == NULL;
    default: return memcmp(member, zeros, element_size(f->type)) == 0; /* -0.0 is not the default */
    }
}

/* Whether field f of m is written, by proto3's presence rules. */
static int field_present(const pbjson_ctx *c, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const void *member = member_of(m, f->offset);

    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)member_of(m, f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)member_of(m, f->quantifier_offset) > 0 || (c->flags & FW_PBJSON_EMIT_DEFAULTS);
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(ProtobufCMessage *const *)member != NULL;
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return 1;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (f->type == PROTOBUF_C_TYPE_STRING)
            return *(char *const *)member != NULL;
        return *(const protobuf_c_boolean *)member_of(m, f->quantifier_offset) ||
               (c->flags & FW_PBJSON_EMIT_DEFAULTS);
    }
    return !is_default(f, member) || (c->flags & FW_PBJSON_EMIT_DEFAULTS);
}

static fw_err fields_to_json(pbjson_ctx *c, const ProtobufCMessage *m, json_t **out)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    json_t *o;
    unsigned i;
    fw_err rc = FW_OK;

    if ((rc = enter(c)) != FW_OK)
        return rc;
    if (!(o = json_object())) {
        leave(c);
        return fail_nomem(c);
    }
    for (i = 0; i < d->n_fields && rc == FW_OK; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const ProtobufCMessageDescriptor *ed;
        char buf[256];
        const char *name = output_name(c, f, buf, sizeof(buf));
        json_t *v = NULL;
        size_t old;

        if (!field_present(c, m, f)) {
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
                !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && (c->flags & FW_PBJSON_NULL_WRAPPERS) &&
                wkt_of(f->descriptor) == WKT_WRAPPER && json_object_set_new(o, name, json_null()) != 0)
                rc = fail_nomem(c);
            continue;
        }
        old = path_push_name(c, name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            rc = (ed = map_entry(d, f)) ? map_to_json(c, m, f, ed, &v) : array_to_json(c, m, f, &v);
        else
            rc = element_to_json(c, f, member_of(m, f->offset), &v);
        if (rc == FW_OK && json_object_set_new(o, name, v) != 0)
            rc = fail_nomem(c);
        if (rc == FW_OK)
            path_pop(c, old);
    }
    leave(c);
    if (rc != FW_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return FW_OK;
}

static fw_err value_to_json(pbjson_ctx *c, const Google__Protobuf__Value *v, json_t **out)
{
    switch (v->kind_case) {
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
        if (!isfinite(v->number_value))
            return fail(c, "a google.protobuf.Value number cannot be NaN or infinite in JSON");
        *out = number_to_json(v->number_value);
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
        *out = json_string(v->string_value ? v->string_value : "");
        if (!*out)
            return fail(c, "the string is not valid UTF-8");
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
        *out = json_boolean(v->bool_value);
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
        if (!v->struct_value)
            return default_message_to_json(c, &google__protobuf__struct__descriptor, out);
        return message_to_json(c, &v->struct_value->base, out);
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
        if (!v->list_value)
            return default_message_to_json(c, &google__protobuf__list_value__descriptor, out);
        return message_to_json(c, &v->list_value->base, out);
    default: /* null, or a Value with nothing set */
        *out = json_null();
        break;
    }
    return *out ? FW_OK : fail_nomem(c);
}

static fw_err message_to_json(pbjson_ctx *c, const ProtobufCMessage *m, json_t **out)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char buf[48];

    *out = NULL;
    switch (wkt_of(d)) {
    case WKT_VALUE: return value_to_json(c, (const Google__Protobuf__Value *)m, out);
    case WKT_STRUCT: return map_to_json(c, m, &d->fields[0], d->fields[0].descriptor, out);
    case WKT_LIST: return array_to_json(c, m, &d->fields[0], out);
    case WKT_TIMESTAMP: {
        const Google__Protobuf__Timestamp *t = (const Google__Protobuf__Timestamp *)m;
        if (timestamp_format(t->seconds, t->nanos, buf, sizeof(buf)) != 0)
            return fail(c, "the timestamp (%" PRId64 " s, %" PRId32 " ns) is outside years 0001 to 9999", t->seconds,
                        t->nanos);
        *out = json_string(buf);
        return *out ? FW_OK : fail_nomem(c);
    }
    case WKT_WRAPPER: return element_to_json(c, &d->fields[0], member_of(m, d->fields[0].offset), out);
    case WKT_NONE: break;
    }
    return fields_to_json(c, m, out);
}

fw_err fw_pbjson_from_message(const ProtobufCMessage *m, unsigned flags, json_t **out, fw_error *err)
{
    pbjson_ctx c = {.flags = flags, .err = err};

    if (!out)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "no place to put the JSON value");
    *out = NULL;
    if (!m || !m->descriptor || m->descriptor->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "not a protobuf-c message");
    return message_to_json(&c, m, out);
}

/* =================================================================== */
/* text                                                                 */
/* =================================================================== */

fw_err fw_pbjson_parse(const ProtobufCMessageDescriptor *d, const char *text, size_t len, unsigned flags,
                       ProtobufCMessage **out, fw_error *err)
{
    json_error_t je;
    json_t *j;
    fw_err rc;

    if (!out)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "no place to put the message");
    *out = NULL;
    if (!text)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "no JSON text");
    if (len > FW_PBJSON_MAX_TEXT)
        return fw_error_set(err, FW_ERR_LIMIT, NULL, "the JSON text is %zu bytes; at most %u are accepted", len,
                            FW_PBJSON_MAX_TEXT);
    j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "not valid JSON: %s (line %d, column %d)", je.text, je.line,
                            je.column);
    rc = fw_pbjson_to_message(d, j, flags, out, err);
    json_decref(j);
    return rc;
}

/* A growing text buffer for the writer below. */
typedef struct text_buf {
    char *data;
    size_t len, size;
    int failed;
} text_buf;

static void put(text_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->size) {
        size_t size = b->size ? b->size : 256;
        char *grown;
        while (size < b->len + n + 1)
            size *= 2;
        if (!(grown = realloc(b->data, size))) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->size = size;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void put_str(text_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_quoted(text_buf *b, const char *s, size_t n)
{
    size_t i, run = 0;
    put(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        put(b, s + run, i - run);
        run = i + 1;
        switch (ch) {
        case '"': put_str(b, "\\\""); break;
        case '\\': put_str(b, "\\\\"); break;
        case '\n': put_str(b, "\\n"); break;
        case '\r': put_str(b, "\\r"); break;
        case '\t': put_str(b, "\\t"); break;
        case '\b': put_str(b, "\\b"); break;
        case '\f': put_str(b, "\\f"); break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
            put_str(b, esc);
        }
    }
    put(b, s + run, n - run);
    put(b, "\"", 1);
}

/* The shortest text that reads back as exactly d (jansson would always
 * write 17 digits: 0.1 as 0.10000000000000001). Always has a '.' or an
 * exponent, so it reads back as a real, and -0.0 keeps its sign. */
static void put_real(text_buf *b, double d)
{
    char text[40];
    int precision;

    for (precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof(text), "%.*g", precision, d);
        if (strtod(text, NULL) == d)
            break;
    }
    if (!strpbrk(text, ".eE"))
        strcat(text, ".0");
    put_str(b, text);
}

static void put_newline(text_buf *b, int indent, int level)
{
    if (!indent)
        return;
    put(b, "\n", 1);
    for (level *= indent; level > 0; level--)
        put(b, " ", 1);
}

/* JSON text of j; objects keep their insertion order (field order). */
static void put_json(text_buf *b, const json_t *j, int indent, int level)
{
    char text[32];
    size_t i;

    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *v;
        int first = 1;
        if (json_object_size(j) == 0) {
            put_str(b, "{}");
            return;
        }
        put(b, "{", 1);
        json_object_foreach((json_t *)j, key, v)
        {
            if (!first)
                put(b, ",", 1);
            first = 0;
            put_newline(b, indent, level + 1);
            put_quoted(b, key, strlen(key));
            put_str(b, indent ? ": " : ":");
            put_json(b, v, indent, level + 1);
        }
        put_newline(b, indent, level);
        put(b, "}", 1);
        return;
    }
    case JSON_ARRAY:
        if (json_array_size(j) == 0) {
            put_str(b, "[]");
            return;
        }
        put(b, "[", 1);
        for (i = 0; i < json_array_size(j); i++) {
            if (i)
                put(b, ",", 1);
            put_newline(b, indent, level + 1);
            put_json(b, json_array_get(j, i), indent, level + 1);
        }
        put_newline(b, indent, level);
        put(b, "]", 1);
        return;
    case JSON_STRING: put_quoted(b, json_string_value(j), json_string_length(j)); return;
    case JSON_INTEGER:
        snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        put_str(b, text);
        return;
    case JSON_REAL: put_real(b, json_real_value(j)); return;
    case JSON_TRUE: put_str(b, "true"); return;
    case JSON_FALSE: put_str(b, "false"); return;
    case JSON_NULL: put_str(b, "null"); return;
    }
}

fw_err fw_pbjson_format(const ProtobufCMessage *m, unsigned flags, char **out, fw_error *err)
{
    text_buf b = {0};
    json_t *j;
    fw_err rc;

    if (!out)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "no place to put the text");
    *out = NULL;
    if ((rc = fw_pbjson_from_message(m, flags, &j, err)) != FW_OK)
        return rc;
    put_json(&b, j, (flags & FW_PBJSON_PRETTY) ? 2 : 0, 0);
    json_decref(j);
    if (b.failed || !b.data) {
        free(b.data);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory writing JSON text");
    }
    *out = b.data;
    return FW_OK;
}

void fw_pbjson_message_free(ProtobufCMessage **m)
{
    if (!m || !*m)
        return;
    protobuf_c_message_free_unpacked(*m, NULL);
    *m = NULL;
}
