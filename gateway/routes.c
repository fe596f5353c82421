/*
 * routes.c - the /api/v2 routes and how a request becomes a gRPC request
 * message: the untrusted-input half of the gateway (see gateway.h), kept apart
 * from the HTTP server so the fuzzer can drive it without sockets.
 *
 * A route names its gRPC method and message types; nothing here knows a
 * message's fields except by looking them up in its descriptor: the path's
 * {id} goes into the field "id", query parameters into the fields their
 * aliases name, and a JSON body through fw_pbjson_parse.
 */
#include "gateway/routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/batch.pb-c.h"
#include "proto/font.pb-c.h"
#include "proto/job.pb-c.h"
#include "proto/json/pbjson.h"
#include "proto/secret.pb-c.h"
#include "proto/template.pb-c.h"

#define TEMPLATES "/framewright.v1.TemplateService/"
#define JOBS "/framewright.v1.JobService/"
#define BATCHES "/framewright.v1.BatchService/"
#define FONTS "/framewright.v1.FontService/"
#define SECRETS "/framewright.v1.SecretService/"

/* Query parameters: Nexrender's names (OpenAPI and pages) and ours, each to
 * the request field it fills. Parameters not listed are ignored, as Nexrender
 * options we do not have (minimal, sort, tags) should not break a client. */
static const fw_gateway_param page_params[] = {
    {"limit", "page_size"},      {"pageSize", "page_size"},   {"page_size", "page_size"},
    {"cursor", "page_token"},    {"pageToken", "page_token"}, {"page_token", "page_token"},
    {NULL, NULL},
};

static const fw_gateway_param job_list_params[] = {
    {"status", "status"},
    {"states", "status"},
    {"templateId", "template_id"},
    {"template_id", "template_id"},
    {"batchId", "batch_id"},
    {"batch_id", "batch_id"},
    {"limit", "page_size"},
    {"pageSize", "page_size"},
    {"page_size", "page_size"},
    {"cursor", "page_token"},
    {"pageToken", "page_token"},
    {"page_token", "page_token"},
    {"createdAfter", "created_after"},
    {"created_after", "created_after"},
    {"from_date", "created_after"},
    {"createdBefore", "created_before"},
    {"created_before", "created_before"},
    {"to_date", "created_before"},
    {NULL, NULL},
};

static const fw_gateway_param version_params[] = {
    {"version", "version"},
    {NULL, NULL},
};

static const fw_gateway_param frame_params[] = {
    {"width", "width"},   {"height", "height"}, {"composition", "composition"},
    {"version", "version"}, {"format", "format"}, {NULL, NULL},
};

#define D(name) &framewright__v1__##name##__descriptor

/* Literal paths come before {id} ones of the same length ("/jobs/cancel"
 * before "/jobs/{id}"); the first route matching path and method wins. */
static const fw_gateway_route routes[] = {
    /* templates */
    {"POST", "/api/v2/templates", FW_ROUTE_UNARY, TEMPLATES "CreateTemplate", D(create_template_request), D(template),
     FW_BODY_JSON, 201, NULL, NULL},
    {"GET", "/api/v2/templates", FW_ROUTE_UNARY, TEMPLATES "ListTemplates", D(list_templates_request),
     D(list_templates_response), FW_BODY_NONE, 200, "templates", page_params},
    {"GET", "/api/v2/templates/{id}", FW_ROUTE_UNARY, TEMPLATES "GetTemplate", D(get_template_request), D(template),
     FW_BODY_NONE, 200, NULL, NULL},
    {"PATCH", "/api/v2/templates/{id}", FW_ROUTE_UNARY, TEMPLATES "UpdateTemplate", D(update_template_request),
     D(template), FW_BODY_JSON, 200, NULL, NULL},
    {"DELETE", "/api/v2/templates/{id}", FW_ROUTE_UNARY, TEMPLATES "DeleteTemplate", D(delete_template_request),
     D(delete_template_response), FW_BODY_NONE, 204, NULL, NULL},
    {"PUT", "/api/v2/templates/{id}/upload", FW_ROUTE_UPLOAD, TEMPLATES "UploadTemplate", D(template_chunk),
     D(template), FW_BODY_RAW, 200, NULL, NULL},
    {"GET", "/api/v2/templates/{id}/upload", FW_ROUTE_DOWNLOAD, TEMPLATES "DownloadTemplate",
     D(get_template_request), D(template_chunk), FW_BODY_NONE, 200, NULL, NULL},
    {"GET", "/api/v2/templates/{id}/download", FW_ROUTE_DOWNLOAD, TEMPLATES "DownloadTemplate",
     D(get_template_request), D(template_chunk), FW_BODY_NONE, 200, NULL, NULL},
    {"GET", "/api/v2/templates/{id}/versions", FW_ROUTE_UNARY, TEMPLATES "ListTemplateVersions",
     D(list_template_versions_request), D(list_template_versions_response), FW_BODY_NONE, 200, NULL, NULL},
    {"DELETE", "/api/v2/templates/{id}/versions", FW_ROUTE_UNARY, TEMPLATES "DeleteTemplateVersion",
     D(delete_template_version_request), D(delete_template_response), FW_BODY_NONE, 204, NULL, version_params},
    {"GET", "/api/v2/templates/{id}/frames/{n}", FW_ROUTE_PICTURE, TEMPLATES "GetTemplateFrame",
     D(get_template_frame_request), D(template_frame), FW_BODY_NONE, 200, NULL, frame_params, "frame"},

    /* jobs */
    {"POST", "/api/v2/jobs", FW_ROUTE_UNARY, JOBS "CreateJob", D(job_request), D(job), FW_BODY_JSON, 201, NULL,
     NULL},
    {"GET", "/api/v2/jobs", FW_ROUTE_UNARY, JOBS "ListJobs", D(list_jobs_request), D(list_jobs_response),
     FW_BODY_NONE, 200, "jobs", job_list_params},
    {"POST", "/api/v2/jobs/cancel", FW_ROUTE_UNARY, JOBS "CancelJobs", D(cancel_jobs_request),
     D(cancel_jobs_response), FW_BODY_JSON, 200, NULL, NULL},
    {"POST", "/api/v2/jobs/join", FW_ROUTE_UNARY, JOBS "CreateJoinJob", D(join_job_request), D(job), FW_BODY_JSON,
     201, NULL, NULL},
    {"GET", "/api/v2/jobs/{id}", FW_ROUTE_UNARY, JOBS "GetJob", D(get_job_request), D(job), FW_BODY_NONE, 200, NULL,
     NULL},
    {"PATCH", "/api/v2/jobs/{id}/cancel", FW_ROUTE_UNARY, JOBS "CancelJob", D(cancel_job_request), D(job),
     FW_BODY_NONE, 200, NULL, NULL},
    {"GET", "/api/v2/jobs/{id}/events", FW_ROUTE_EVENTS, JOBS "WatchJob", D(watch_job_request), D(job_event),
     FW_BODY_NONE, 200, NULL, NULL},
    {"GET", "/api/v2/jobs/{id}/webhooks", FW_ROUTE_UNARY, JOBS "ListWebhookDeliveries", D(get_job_request),
     D(webhook_deliveries), FW_BODY_NONE, 200, NULL, NULL},
    {"GET", "/api/v2/jobs/{id}/request", FW_ROUTE_UNARY, JOBS "GetJobInput", D(get_job_request), D(job_input),
     FW_BODY_NONE, 200, NULL, NULL},

    /* batches */
    {"POST", "/api/v2/batches", FW_ROUTE_UNARY, BATCHES "CreateBatch", D(batch_request), D(batch_created),
     FW_BODY_JSON, 201, NULL, NULL},
    {"GET", "/api/v2/batches/{id}", FW_ROUTE_UNARY, BATCHES "GetBatch", D(get_batch_request), D(batch),
     FW_BODY_NONE, 200, NULL, NULL},
    {"PATCH", "/api/v2/batches/{id}/cancel", FW_ROUTE_UNARY, BATCHES "CancelBatch", D(get_batch_request),
     D(cancel_batch_response), FW_BODY_NONE, 200, NULL, NULL},
    {"POST", "/api/v2/batches/{id}/cancel", FW_ROUTE_UNARY, BATCHES "CancelBatch", D(get_batch_request),
     D(cancel_batch_response), FW_BODY_NONE, 200, NULL, NULL},
    {"GET", "/api/v2/batches/{id}/events", FW_ROUTE_EVENTS, BATCHES "WatchBatch", D(get_batch_request), D(batch),
     FW_BODY_NONE, 200, NULL, NULL},

    /* fonts */
    {"POST", "/api/v2/fonts", FW_ROUTE_UNARY, FONTS "UploadFont", D(upload_font_request), D(font),
     FW_BODY_MULTIPART, 201, NULL, NULL},
    {"GET", "/api/v2/fonts", FW_ROUTE_UNARY, FONTS "ListFonts", D(list_fonts_request), D(list_fonts_response),
     FW_BODY_NONE, 200, "fonts", NULL},
    {"GET", "/api/v2/fonts/{id}", FW_ROUTE_UNARY, FONTS "GetFont", D(get_font_request), D(font), FW_BODY_NONE, 200,
     NULL, NULL},
    {"DELETE", "/api/v2/fonts/{id}", FW_ROUTE_UNARY, FONTS "DeleteFont", D(get_font_request),
     D(delete_font_response), FW_BODY_NONE, 204, NULL, NULL},

    /* secrets: the OpenAPI creates with PUT, the pages with POST */
    {"GET", "/api/v2/secrets", FW_ROUTE_UNARY, SECRETS "ListSecrets", D(list_secrets_request),
     D(list_secrets_response), FW_BODY_NONE, 200, "secrets", NULL},
    {"PUT", "/api/v2/secrets", FW_ROUTE_UNARY, SECRETS "PutSecret", D(put_secret_request), D(secret), FW_BODY_JSON,
     201, NULL, NULL},
    {"POST", "/api/v2/secrets", FW_ROUTE_UNARY, SECRETS "PutSecret", D(put_secret_request), D(secret), FW_BODY_JSON,
     201, NULL, NULL},
    {"DELETE", "/api/v2/secrets/{id}", FW_ROUTE_UNARY, SECRETS "DeleteSecret", D(delete_secret_request),
     D(delete_secret_response), FW_BODY_NONE, 200, NULL, NULL},
};

/* Compare one path against a pattern segment by segment; "{id}" (and a
 * second placeholder such as "{n}") takes one non-empty segment, the
 * values joined by '/' in id. A single trailing '/' on the path is ignored. */
static int path_matches(const char *pattern, const char *path, char id[FW_GATEWAY_ID_MAX])
{
    const char *p = pattern, *s = path;
    size_t plen = strlen(path), used = 0;
    if (plen > 1 && path[plen - 1] == '/')
        plen--;
    while (*p) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t n = 0;
            while (s + n < path + plen && s[n] != '/')
                n++;
            if (n == 0 || used + n + 1 >= FW_GATEWAY_ID_MAX || !close)
                return 0;
            if (used)
                id[used++] = '/';
            memcpy(id + used, s, n);
            used += n;
            id[used] = '\0';
            s += n;
            p = close + 1;
        } else {
            if (s >= path + plen || *p != *s)
                return 0;
            p++;
            s++;
        }
    }
    return s == path + plen;
}

unsigned fw_gateway_match(const char *method, const char *path, const fw_gateway_route **route,
                          char id[FW_GATEWAY_ID_MAX], char allow[64])
{
    char scratch[FW_GATEWAY_ID_MAX];
    size_t used = 0;
    *route = NULL;
    id[0] = '\0';
    allow[0] = '\0';
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!path_matches(routes[i].pattern, path, scratch))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            *route = &routes[i];
            memcpy(id, scratch, sizeof(scratch));
            return 200;
        }
        if (!strstr(allow, routes[i].method) && used + strlen(routes[i].method) + 3 < 64)
            used += (size_t)snprintf(allow + used, 64 - used, "%s%s", used ? ", " : "", routes[i].method);
    }
    return allow[0] ? 405 : 404;
}

static int is_integer_type(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 1;
    default:
        return 0;
    }
}

fw_err fw_gateway_set_string(ProtobufCMessage *m, const char *name, const char *value, fw_error *err)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    char **slot, *copy;
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return FW_OK;
    if (!(copy = strdup(value)))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    slot = (char **)((char *)m + f->offset);
    if (*slot && *slot != (const char *)f->default_value && *slot != protobuf_c_empty_string)
        free(*slot);
    *slot = copy;
    return FW_OK;
}

fw_err fw_gateway_set_bytes(ProtobufCMessage *m, unsigned char *data, size_t len)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        ProtobufCBinaryData *slot;
        if (f->type != PROTOBUF_C_TYPE_BYTES || f->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        slot = (ProtobufCBinaryData *)((char *)m + f->offset);
        if (slot->data && (!f->default_value || ((const ProtobufCBinaryData *)f->default_value)->data != slot->data))
            free(slot->data);
        slot->data = data;
        slot->len = len;
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
            *(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
        return FW_OK;
    }
    free(data);
    return FW_ERR_INVALID;
}

/* Whether a JSON path names the field of that .proto name, in either
 * spelling: "created_after" or "createdAfter". */
static int same_field(const char *path, const char *proto_name)
{
    for (; *path && *proto_name; path++, proto_name++) {
        if (*proto_name == '_' && proto_name[1] && (unsigned char)*path == (unsigned char)(proto_name[1] - 32)) {
            proto_name++;
            continue;
        }
        if (*path != *proto_name)
            return 0;
    }
    return !*path && !*proto_name;
}

/* The message from the path's id and the query parameters, through pbjson as
 * a JSON object, so types are checked the same way a body's are. A route's
 * second path value (path_field) is read first, as a parameter of that name;
 * a query parameter does not override it. */
static fw_err request_from_query(const fw_gateway_route *r, const char *id, const char *const *query,
                                 ProtobufCMessage **out, fw_error *err)
{
    json_t *obj = json_object();
    const char *given[64][2]; /* request field -> the query name that set it */
    const char *path_pair[3] = {NULL, NULL, NULL};
    char own_id[FW_GATEWAY_ID_MAX];
    size_t n_given = 0;
    fw_err rc = FW_OK;

    if (!obj)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    snprintf(own_id, sizeof(own_id), "%s", id ? id : "");
    if (r->path_field) {
        char *slash = strchr(own_id, '/');
        if (slash) {
            *slash = '\0';
            path_pair[0] = r->path_field;
            path_pair[1] = slash + 1;
        }
    }
    if (*own_id && protobuf_c_message_descriptor_get_field_by_name(r->req, "id")) {
        json_t *s = json_string(own_id);
        if (!s) {
            json_decref(obj);
            return fw_error_set(err, FW_ERR_INVALID, "id", "is not UTF-8 text");
        }
        json_object_set_new(obj, "id", s);
    }
    for (int pass = 0; pass < 2 && rc == FW_OK; pass++) {
        const char *const *list = pass == 0 ? path_pair : query;
        for (size_t i = 0; list && list[i] && list[i + 1] && rc == FW_OK; i += 2) {
            const char *name = list[i], *value = list[i + 1], *field = NULL;
            const ProtobufCFieldDescriptor *f;
            json_t *v;
            if (pass == 0)
                field = name;
            for (const fw_gateway_param *p = r->params; pass == 1 && p && p->name; p++)
                if (strcmp(p->name, name) == 0)
                    field = p->field;
            if (!field || !(f = protobuf_c_message_descriptor_get_field_by_name(r->req, field)))
                continue;
            if (pass == 1 && r->path_field && strcmp(field, r->path_field) == 0)
                continue;
            if (is_integer_type(f->type)) {
                char *end;
                long long n;
                errno = 0;
                n = strtoll(value, &end, 10);
                if (!*value || *end || errno)
                    rc = fw_error_set(err, FW_ERR_INVALID, name, "'%.64s' is not a whole number", value);
                v = json_integer(n);
            } else {
                v = json_string(value);
                if (!v)
                    rc = fw_error_set(err, FW_ERR_INVALID, name, "is not UTF-8 text");
            }
            if (rc == FW_OK && v) {
                json_object_set_new(obj, field, v);
                if (n_given < 64) {
                    given[n_given][0] = f->name;
                    given[n_given++][1] = name;
                }
            } else {
                json_decref(v);
            }
        }
    }
    if (rc == FW_OK && (rc = fw_pbjson_to_message(r->req, obj, 0, out, err)) != FW_OK && err) {
        /* Name the parameter as the client wrote it, not the field it fills. */
        for (size_t i = 0; i < n_given; i++) {
            if (same_field(err->field, given[i][0])) {
                snprintf(err->field, sizeof(err->field), "%s", given[i][1]);
                break;
            }
        }
    }
    json_decref(obj);
    return rc;
}

/* A text asset's "fit" is an object ({"mode": "shrink", ...}); the message
 * has it as text_fit, beside the image fit that is a string. Only assets
 * are looked at: the jobs of a batch, a job's assets and a child job's
 * own; a script's data or a function's params keep their keys. Depth is
 * bounded by what the JSON parser accepts. */
static void text_fit_to_message(json_t *request)
{
    json_t *item, *fit;
    size_t i;
    json_array_foreach(json_object_get(request, "jobs"), i, item) text_fit_to_message(item);
    json_array_foreach(json_object_get(request, "assets"), i, item) {
        fit = json_object_get(item, "fit");
        if (json_is_object(fit) && !json_object_get(item, "textFit")) {
            json_object_set(item, "textFit", fit);
            json_object_del(item, "fit");
        }
        text_fit_to_message(item);
    }
}

/* And an error names it as the client wrote it: "assets[0].fit.mode". */
static void text_fit_field(fw_error *err)
{
    char *at;
    if (!err || !(at = strstr(err->field, "textFit")))
        return;
    memcpy(at, "fit", 3);
    memmove(at + 3, at + 7, strlen(at + 7) + 1);
}

fw_err fw_gateway_build_request(const fw_gateway_route *r, const char *id, const char *const *query,
                                const char *body, size_t len, ProtobufCMessage **out, fw_error *err)
{
    json_error_t je;
    json_t *j;
    fw_err rc;
    *out = NULL;
    if (r->body != FW_BODY_JSON)
        return request_from_query(r, id, query, out, err);
    if (len == 0) {
        body = "{}";
        len = 2;
    }
    if (len > FW_PBJSON_MAX_TEXT)
        return fw_error_set(err, FW_ERR_LIMIT, NULL, "the JSON text is %zu bytes; at most %u are accepted", len,
                            FW_PBJSON_MAX_TEXT);
    if (!(j = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je)))
        return fw_error_set(err, FW_ERR_INVALID, NULL, "not valid JSON: %s (line %d, column %d)", je.text, je.line,
                            je.column);
    text_fit_to_message(j);
    rc = fw_pbjson_to_message(r->req, j, 0, out, err);
    json_decref(j);
    if (rc != FW_OK) {
        text_fit_field(err);
        return rc;
    }
    /* The path names the object, whatever the body says. */
    if (id && *id && (rc = fw_gateway_set_string(*out, "id", id, err)) != FW_OK)
        fw_pbjson_message_free(out);
    return rc;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode src[0..n) into dst (at most n bytes plus NUL). */
static char *decode_into(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (src[i] == '+') {
            *dst++ = ' ';
        } else if (src[i] == '%' && i + 2 < n && (hi = hex_value(src[i + 1])) >= 0 &&
                   (lo = hex_value(src[i + 2])) >= 0) {
            *dst++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *dst++ = src[i];
        }
    }
    *dst++ = '\0';
    return dst;
}

fw_err fw_gateway_parse_query(const char *query, char ***out, fw_error *err)
{
    size_t len = query ? strlen(query) : 0, pairs = 1;
    char **list, *text;
    size_t n = 0;
    *out = NULL;
    for (size_t i = 0; i < len; i++)
        pairs += query[i] == '&';
    /* Pointers (two a pair and the NULL), then the decoded text: never longer
     * than the input plus two NULs a pair. */
    list = malloc((2 * pairs + 1) * sizeof(char *) + len + 2 * pairs + 1);
    if (!list)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    text = (char *)(list + 2 * pairs + 1);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p), *eq = memchr(p, '=', (size_t)(end - p));
        if (end > p) {
            list[n++] = text;
            text = decode_into(text, p, (size_t)((eq ? eq : end) - p));
            list[n++] = text;
            text = eq ? decode_into(text, eq + 1, (size_t)(end - eq - 1)) : decode_into(text, "", 0);
        }
        p = amp ? amp + 1 : end;
    }
    list[n] = NULL;
    *out = list;
    return FW_OK;
}
