/*
 * gateway.c - the HTTP half of the REST gateway (see gateway.h): libmicrohttpd
 * with a thread per connection, one shared gRPC channel, and the four kinds
 * of route of routes.h (unary calls, uploads, downloads, event streams).
 *
 * A request is handled in MHD's three steps: the first call matches the route
 * and refuses what cannot be served (unknown path, wrong method, a declared
 * body over the limit); the calls with body data collect JSON, feed the
 * multipart parser, or stream an upload straight into UploadTemplate; the
 * last call makes the gRPC call and queues the answer.
 */
#include "gateway/gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "client/rpc_client.h"
#include "gateway/ops.h"
#include "gateway/routes.h"
#include "gateway/static_files.h"
#include "proto/json/pbjson.h"
#include "proto/template.pb-c.h"
#include "server/util/fs.h"
#include "server/util/log.h"

#define UPLOAD_CHUNK (1u << 20)  /* bytes a gRPC message of an upload carries */
#define MAX_QUERY_PARAMS 32
#define EVENT_WAIT_MS 250        /* how often a waiting event stream checks its client */
#define EVENT_KEEPALIVE_S 15     /* a comment line this often keeps proxies and MHD's timeout quiet */

struct fw_gateway {
    struct MHD_Daemon *daemon;
    fw_rpc_client *rpc;
    int port;
    atomic_int stopping;
    size_t max_json;
    uint64_t max_upload;
    size_t max_font;
    int64_t rpc_timeout_ms;
    char *tls_cert, *tls_key; /* PEM text, kept while the daemon runs */
    char *csp;                /* the dashboard's Content-Security-Policy */
};

/* One request in flight (MHD's con_cls). */
typedef struct request {
    fw_gateway *gw;
    const fw_gateway_route *route; /* NULL for the operators' endpoints (ops) and the dashboard */
    fw_ops_endpoint ops;
    const fw_static_file *page;    /* a file of the dashboard */
    char id[FW_GATEWAY_ID_MAX];
    char *auth; /* the Authorization header as sent */
    char *idem_key; /* the Idempotency-Key header as sent; NULL when none */
    fw_error err; /* set once something failed while the body was read */
    int failed;
    /* FW_BODY_JSON */
    char *body;
    size_t len, cap;
    /* FW_ROUTE_UPLOAD */
    fw_rpc_writer *writer;
    unsigned char *chunk;
    size_t chunk_len;
    uint64_t total;
    /* FW_BODY_MULTIPART */
    struct MHD_PostProcessor *pp;
    json_t *form;
    unsigned char *file;
    size_t file_len, file_cap;
    char *file_name;
    /* A refusal decided on the first call, answered once the body is read:
     * answering earlier makes MHD close the connection under a client still
     * sending its body, which then sees a broken pipe instead of the answer. */
    unsigned refuse_status;
    char refuse_text[320];
    char refuse_allow[64];
} request;

/* ---- the one table ------------------------------------------------------------------------- */

static const struct {
    fw_err code;
    unsigned http;
} http_of[] = {
    {FW_ERR_INVALID, 400},           {FW_ERR_UNAUTHENTICATED, 401},
    {FW_ERR_PERMISSION, 403},        {FW_ERR_NOT_FOUND, 404},
    {FW_ERR_ALREADY_EXISTS, 409},    {FW_ERR_FAILED_PRECONDITION, 409}, /* e.g. delete a template in use */
    {FW_ERR_LIMIT, 413},             {FW_ERR_UNSUPPORTED, 501},
    {FW_ERR_UNAVAILABLE, 503},       {FW_ERR_NETWORK, 503},
    {FW_ERR_DEADLINE, 504},          {FW_ERR_QUOTA, 429},
};

unsigned fw_gateway_http_status(fw_err code)
{
    for (size_t i = 0; i < sizeof(http_of) / sizeof(http_of[0]); i++)
        if (http_of[i].code == code)
            return http_of[i].http;
    return 500;
}

char *fw_gateway_error_body(const fw_error *err)
{
    json_t *body = json_object(), *msg;
    char text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4], *out;
    if (!body)
        return NULL;
    if (err->field[0])
        snprintf(text, sizeof(text), "%s: %s", err->field, err->message);
    else
        snprintf(text, sizeof(text), "%s", err->message[0] ? err->message : fw_strerror(err->code));
    /* Messages quote what the client sent, which need not be UTF-8. */
    if (!(msg = json_string(text)))
        msg = json_string("the request was refused (the reason is not UTF-8 text)");
    json_object_set_new(body, "error", msg);
    if (err->code == FW_ERR_INVALID) {
        json_t *details = json_array(), *d = json_object();
        json_t *f = json_string(err->field), *m = json_string(err->message);
        json_object_set_new(d, "field", f ? f : json_string(""));
        json_object_set_new(d, "message", m ? m : json_string(""));
        json_array_append_new(details, d);
        json_object_set_new(body, "details", details);
    }
    out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return out;
}

/* ---- answers ------------------------------------------------------------------------------- */

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned status, char *text, const char *type,
                                   const char *header, const char *value)
{
    size_t len = text ? strlen(text) : 0;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ok;
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    if (type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (header && value)
        MHD_add_response_header(resp, header, value);
    ok = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result answer_error(struct MHD_Connection *conn, const fw_error *err)
{
    unsigned status = fw_gateway_http_status(err->code);
    char seconds[16];
    if (status == 429) {
        snprintf(seconds, sizeof(seconds), "%d", err->retry_after_s > 0 ? err->retry_after_s : 1);
        return answer_text(conn, status, fw_gateway_error_body(err), "application/json", MHD_HTTP_HEADER_RETRY_AFTER,
                           seconds);
    }
    return answer_text(conn, status, fw_gateway_error_body(err), "application/json",
                       status == 401 ? MHD_HTTP_HEADER_WWW_AUTHENTICATE : NULL, "Bearer");
}

static enum MHD_Result answer_status(struct MHD_Connection *conn, unsigned status, const char *message,
                                     const char *header, const char *value)
{
    json_t *body = json_object(), *m = json_string(message);
    char *text;
    json_object_set_new(body, "error", m ? m : json_string("the request was refused"));
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return answer_text(conn, status, text, "application/json", header, value);
}

/* The response message as the body: the message itself, or for list routes
 * the repeated field as a bare array (Nexrender's lists are arrays) with the
 * next page's token in X-Next-Page-Token. */
static enum MHD_Result answer_message(struct MHD_Connection *conn, const fw_gateway_route *r,
                                      const ProtobufCMessage *m)
{
    char *text = NULL, *token = NULL;
    fw_error err;
    fw_error_clear(&err);
    if (r->ok_status == 204)
        return answer_text(conn, 204, NULL, NULL, NULL, NULL);
    if (r->list_field) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
                                                                                          r->list_field);
        const ProtobufCFieldDescriptor *t = protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
                                                                                          "next_page_token");
        size_t n = f ? *(const size_t *)((const char *)m + f->quantifier_offset) : 0, len = 1, cap = 256;
        ProtobufCMessage *const *items = f ? *(ProtobufCMessage *const *const *)((const char *)m + f->offset) : NULL;
        text = malloc(cap);
        if (!text)
            return MHD_NO;
        text[0] = '[';
        for (size_t i = 0; i < n; i++) {
            char *item = NULL;
            size_t ilen;
            if (fw_pbjson_format(items[i], FW_PBJSON_NULL_WRAPPERS | FW_PBJSON_EMIT_DEFAULTS, &item, &err) != FW_OK) {
                free(text);
                return answer_error(conn, &err);
            }
            ilen = strlen(item);
            if (len + ilen + 3 > cap) {
                char *bigger;
                while (len + ilen + 3 > cap)
                    cap *= 2;
                if (!(bigger = realloc(text, cap))) {
                    free(item);
                    free(text);
                    return MHD_NO;
                }
                text = bigger;
            }
            if (i)
                text[len++] = ',';
            memcpy(text + len, item, ilen);
            len += ilen;
            free(item);
        }
        text[len++] = ']';
        text[len] = '\0';
        if (t && t->type == PROTOBUF_C_TYPE_STRING)
            token = *(char *const *)((const char *)m + t->offset);
        return answer_text(conn, r->ok_status, text, "application/json", token && *token ? "X-Next-Page-Token" : NULL,
                           token);
    }
    if (fw_pbjson_format(m, FW_PBJSON_NULL_WRAPPERS | FW_PBJSON_EMIT_DEFAULTS, &text, &err) != FW_OK)
        return answer_error(conn, &err);
    return answer_text(conn, r->ok_status, text, "application/json", NULL, NULL);
}

/* ---- gRPC calls ---------------------------------------------------------------------------- */

/* Per-call options: the client's Authorization header goes on as is. */
static void call_options(const request *rq, int64_t timeout_ms, const char *md[5], fw_rpc_call_options *o)
{
    int n = 0;
    memset(o, 0, sizeof(*o));
    o->timeout_ms = timeout_ms;
    if (rq->auth) {
        md[n++] = "authorization";
        md[n++] = rq->auth;
    }
    if (rq->idem_key) {
        md[n++] = "idempotency-key";
        md[n++] = rq->idem_key;
    }
    md[n] = NULL;
    if (n)
        o->metadata = md;
}

typedef struct query_list {
    const char *pairs[2 * MAX_QUERY_PARAMS + 1];
    size_t n;
} query_list;

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    query_list *q = cls;
    if (q->n + 2 >= 2 * MAX_QUERY_PARAMS + 1)
        return MHD_NO;
    q->pairs[q->n++] = key;
    q->pairs[q->n++] = value ? value : "";
    q->pairs[q->n] = NULL;
    return MHD_YES;
}

static enum MHD_Result serve_unary(struct MHD_Connection *conn, request *rq, ProtobufCMessage *req)
{
    ProtobufCMessage *resp = NULL;
    fw_rpc_call_options o;
    const char *md[5];
    fw_error err;
    enum MHD_Result ok;
    fw_error_clear(&err);
    call_options(rq, rq->gw->rpc_timeout_ms, md, &o);
    if (fw_rpc_client_unary(rq->gw->rpc, rq->route->rpc, req, rq->route->resp, &o, &resp, &err) != FW_OK)
        return answer_error(conn, &err);
    ok = answer_message(conn, rq->route, resp);
    protobuf_c_message_free_unpacked(resp, NULL);
    return ok;
}

/* ---- pictures: one call, the answer's bytes as the body ------------------------------------ */

static const char *message_string(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return *(char *const *)((const char *)m + f->offset);
}

static int message_bool(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (!f || f->type != PROTOBUF_C_TYPE_BOOL || f->label == PROTOBUF_C_LABEL_REPEATED)
        return 0;
    return *(const protobuf_c_boolean *)((const char *)m + f->offset);
}

static ProtobufCBinaryData *chunk_bytes(ProtobufCMessage *m);

/* A drawn frame: private to the key's team (never in a shared cache), and
 * typed by what the server says it is. */
static enum MHD_Result serve_picture(struct MHD_Connection *conn, request *rq, ProtobufCMessage *req)
{
    ProtobufCMessage *resp = NULL;
    struct MHD_Response *out;
    ProtobufCBinaryData *b;
    fw_rpc_call_options o;
    const char *md[5], *type;
    fw_error err;
    enum MHD_Result ok;
    fw_error_clear(&err);
    call_options(rq, rq->gw->rpc_timeout_ms, md, &o);
    if (fw_rpc_client_unary(rq->gw->rpc, rq->route->rpc, req, rq->route->resp, &o, &resp, &err) != FW_OK)
        return answer_error(conn, &err);
    b = chunk_bytes(resp);
    type = message_string(resp, "content_type");
    out = MHD_create_response_from_buffer(b ? b->len : 0, b ? b->data : NULL, MHD_RESPMEM_MUST_COPY);
    if (!out) {
        protobuf_c_message_free_unpacked(resp, NULL);
        return MHD_NO;
    }
    MHD_add_response_header(out, MHD_HTTP_HEADER_CONTENT_TYPE, type && *type ? type : "application/octet-stream");
    MHD_add_response_header(out, MHD_HTTP_HEADER_CACHE_CONTROL, "private, max-age=300");
    MHD_add_response_header(out, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(out, "X-Framewright-Cache", message_bool(resp, "cached") ? "hit" : "miss");
    protobuf_c_message_free_unpacked(resp, NULL);
    ok = MHD_queue_response(conn, rq->route->ok_status, out);
    MHD_destroy_response(out);
    return ok;
}

/* ---- downloads: a server stream of chunks as the body -------------------------------------- */

typedef struct download {
    fw_rpc_reader *reader;
    ProtobufCMessage *chunk; /* the message being written */
    size_t off;
} download;

/* The chunk's bytes, through its first bytes field. */
static ProtobufCBinaryData *chunk_bytes(ProtobufCMessage *m)
{
    for (unsigned i = 0; m && i < m->descriptor->n_fields; i++)
        if (m->descriptor->fields[i].type == PROTOBUF_C_TYPE_BYTES)
            return (ProtobufCBinaryData *)((char *)m + m->descriptor->fields[i].offset);
    return NULL;
}

static ssize_t download_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    download *d = cls;
    ProtobufCBinaryData *b;
    fw_error err;
    while (!(b = chunk_bytes(d->chunk)) || d->off >= b->len) {
        if (d->chunk)
            protobuf_c_message_free_unpacked(d->chunk, NULL);
        d->chunk = NULL;
        d->off = 0;
        fw_error_clear(&err);
        if (fw_rpc_reader_next(d->reader, &d->chunk, &err) != FW_OK) {
            fw_log(FW_LOG_WARN, "gateway", "download ended early: %s", err.message);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (!d->chunk)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (max > b->len - d->off)
        max = b->len - d->off;
    memcpy(buf, b->data + d->off, max);
    d->off += max;
    return (ssize_t)max;
}

static void download_free(void *cls)
{
    download *d = cls;
    if (d->chunk)
        protobuf_c_message_free_unpacked(d->chunk, NULL);
    fw_rpc_reader_free(&d->reader);
    free(d);
}

/* Open the stream and read its first message here, so a missing template or
 * a bad token is an HTTP status rather than a body cut short. */
static int open_stream(struct MHD_Connection *conn, request *rq, ProtobufCMessage *req, fw_rpc_reader **reader,
                       ProtobufCMessage **first, enum MHD_Result *answered)
{
    fw_rpc_call_options o;
    const char *md[5];
    fw_error err;
    fw_error_clear(&err);
    *first = NULL;
    call_options(rq, -1, md, &o);
    if (fw_rpc_client_read_open(rq->gw->rpc, rq->route->rpc, req, rq->route->resp, &o, reader, &err) != FW_OK ||
        fw_rpc_reader_next(*reader, first, &err) != FW_OK) {
        fw_rpc_reader_free(reader);
        *answered = answer_error(conn, &err);
        return 0;
    }
    return 1;
}

static enum MHD_Result serve_download(struct MHD_Connection *conn, request *rq, ProtobufCMessage *req)
{
    download *d = calloc(1, sizeof(*d));
    struct MHD_Response *resp;
    enum MHD_Result ok;
    if (!d)
        return MHD_NO;
    if (!open_stream(conn, rq, req, &d->reader, &d->chunk, &ok)) {
        download_free(d);
        return ok;
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, download_read, d, download_free);
    if (!resp) {
        download_free(d);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    ok = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* ---- Server-Sent Events: a thread reads the stream, the connection writes it ---------------- */

typedef struct event_stream {
    fw_gateway *gw;
    fw_rpc_reader *reader;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *buf; /* events not yet written */
    size_t len, off, cap;
    int done;  /* the gRPC stream ended */
    int fd;    /* the client's socket, to notice it hang up */
    time_t last_write;
} event_stream;

/* Append under the lock; events that do not fit in memory are dropped with a
 * log line rather than ending the stream. */
static void events_append(event_stream *s, const char *prefix, const char *json)
{
    size_t need = strlen(prefix) + strlen(json) + 3;
    if (s->len + need + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        char *bigger;
        while (s->len + need + 1 > cap)
            cap *= 2;
        if (!(bigger = realloc(s->buf, cap))) {
            fw_log(FW_LOG_WARN, "gateway", "out of memory: an event was dropped");
            return;
        }
        s->buf = bigger;
        s->cap = cap;
    }
    s->len += (size_t)snprintf(s->buf + s->len, s->cap - s->len, "%s%s\n\n", prefix, json);
}

static void events_add_message(event_stream *s, const ProtobufCMessage *m)
{
    char *json = NULL;
    fw_error err;
    fw_error_clear(&err);
    if (fw_pbjson_format(m, FW_PBJSON_NULL_WRAPPERS | FW_PBJSON_EMIT_DEFAULTS, &json, &err) != FW_OK) {
        char *e = fw_gateway_error_body(&err);
        events_append(s, "event: error\ndata: ", e ? e : "{}");
        free(e);
        return;
    }
    events_append(s, "data: ", json);
    free(json);
}

static void *events_pump(void *arg)
{
    event_stream *s = arg;
    for (;;) {
        ProtobufCMessage *m = NULL;
        fw_error err;
        fw_err rc;
        fw_error_clear(&err);
        rc = fw_rpc_reader_next(s->reader, &m, &err);
        pthread_mutex_lock(&s->lock);
        if (rc == FW_OK && m) {
            events_add_message(s, m);
        } else {
            if (rc != FW_OK && rc != FW_ERR_CANCELLED) {
                char *e = fw_gateway_error_body(&err);
                events_append(s, "event: error\ndata: ", e ? e : "{}");
                free(e);
            }
            s->done = 1;
        }
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        if (rc != FW_OK || !m)
            return NULL;
    }
}

static int client_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static ssize_t events_read(void *cls, uint64_t pos, char *out, size_t max)
{
    event_stream *s = cls;
    ssize_t n = 0;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        struct timespec until;
        if (s->off < s->len) {
            size_t k = s->len - s->off < max ? s->len - s->off : max;
            memcpy(out, s->buf + s->off, k);
            s->off += k;
            if (s->off == s->len)
                s->off = s->len = 0;
            n = (ssize_t)k;
            break;
        }
        if (s->done) {
            n = MHD_CONTENT_READER_END_OF_STREAM;
            break;
        }
        if (atomic_load(&s->gw->stopping) || client_gone(s->fd)) {
            n = MHD_CONTENT_READER_END_WITH_ERROR;
            break;
        }
        if (time(NULL) - s->last_write >= EVENT_KEEPALIVE_S && max >= 14) {
            memcpy(out, ": keep-alive\n\n", 14);
            n = 14;
            break;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += EVENT_WAIT_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cond, &s->lock, &until);
    }
    if (n > 0)
        s->last_write = time(NULL);
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* The response is done (sent, or the client left): cancel the gRPC stream so
 * the server stops watching, then wait for the pump to see it. */
static void events_free(void *cls)
{
    event_stream *s = cls;
    if (s->reader)
        fw_rpc_reader_cancel(s->reader);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    fw_rpc_reader_free(&s->reader);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s->buf);
    free(s);
}

static enum MHD_Result serve_events(struct MHD_Connection *conn, request *rq, ProtobufCMessage *req)
{
    event_stream *s = calloc(1, sizeof(*s));
    const union MHD_ConnectionInfo *ci;
    ProtobufCMessage *first = NULL;
    struct MHD_Response *resp;
    enum MHD_Result ok;
    if (!s)
        return MHD_NO;
    s->gw = rq->gw;
    s->fd = -1;
    s->last_write = time(NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (!open_stream(conn, rq, req, &s->reader, &first, &ok)) {
        events_free(s);
        return ok;
    }
    if (first) {
        events_add_message(s, first);
        protobuf_c_message_free_unpacked(first, NULL);
    } else {
        s->done = 1;
    }
    if ((ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD)))
        s->fd = ci->connect_fd;
    if (!s->done) {
        if (pthread_create(&s->thread, NULL, events_pump, s) != 0) {
            events_free(s);
            return MHD_NO;
        }
        s->thread_started = 1;
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, events_read, s, events_free);
    if (!resp) {
        events_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    ok = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* ---- uploads: the body streamed into a client stream --------------------------------------- */

static void upload_fail(request *rq, const fw_error *err)
{
    if (!rq->failed) {
        rq->err = *err;
        rq->failed = 1;
    }
    fw_rpc_writer_free(&rq->writer);
}

static void upload_flush(request *rq)
{
    ProtobufCMessage *m;
    fw_error err;
    fw_error_clear(&err);
    if (rq->failed || rq->chunk_len == 0)
        return;
    if (fw_gateway_build_request(rq->route, rq->id, NULL, NULL, 0, &m, &err) != FW_OK) {
        upload_fail(rq, &err);
        return;
    }
    /* Only the first message names the template; the chunk stays ours. */
    if (rq->total > rq->chunk_len)
        fw_gateway_set_string(m, "id", "", &err);
    {
        ProtobufCBinaryData *b = chunk_bytes(m);
        if (b) {
            b->data = rq->chunk;
            b->len = rq->chunk_len;
        }
        if (fw_rpc_writer_send(rq->writer, m, &err) != FW_OK)
            upload_fail(rq, &err);
        if (b) {
            b->data = NULL;
            b->len = 0;
        }
    }
    fw_pbjson_message_free(&m);
    rq->chunk_len = 0;
}

static void upload_data(request *rq, const char *data, size_t size)
{
    fw_error err;
    fw_error_clear(&err);
    if (rq->failed)
        return;
    if (rq->total + size > rq->gw->max_upload) {
        fw_error_set(&err, FW_ERR_LIMIT, "body", "the template is larger than %llu bytes",
                     (unsigned long long)rq->gw->max_upload);
        upload_fail(rq, &err);
        return;
    }
    if (!rq->writer) {
        fw_rpc_call_options o;
        const char *md[5];
        call_options(rq, rq->gw->rpc_timeout_ms, md, &o);
        if (!rq->chunk && !(rq->chunk = malloc(UPLOAD_CHUNK))) {
            fw_error_set(&err, FW_ERR_NOMEM, NULL, "out of memory");
            upload_fail(rq, &err);
            return;
        }
        if (fw_rpc_client_write_open(rq->gw->rpc, rq->route->rpc, rq->route->resp, &o, &rq->writer, &err) != FW_OK) {
            upload_fail(rq, &err);
            return;
        }
    }
    while (size && !rq->failed) {
        size_t k = UPLOAD_CHUNK - rq->chunk_len < size ? UPLOAD_CHUNK - rq->chunk_len : size;
        memcpy(rq->chunk + rq->chunk_len, data, k);
        rq->chunk_len += k;
        rq->total += k;
        data += k;
        size -= k;
        if (rq->chunk_len == UPLOAD_CHUNK)
            upload_flush(rq);
    }
}

static enum MHD_Result finish_upload(struct MHD_Connection *conn, request *rq)
{
    ProtobufCMessage *resp = NULL;
    fw_error err;
    enum MHD_Result ok;
    fw_error_clear(&err);
    if (!rq->failed && !rq->writer) {
        /* No body: the caller and the template are checked first, so a
         * stranger or a wrong id hears 401 or 404, not how to upload. */
        Framewright__V1__GetTemplateRequest get = FRAMEWRIGHT__V1__GET_TEMPLATE_REQUEST__INIT;
        fw_rpc_call_options o;
        const char *md[5];
        get.id = rq->id;
        call_options(rq, rq->gw->rpc_timeout_ms, md, &o);
        if (fw_rpc_client_unary(rq->gw->rpc, "/framewright.v1.TemplateService/GetTemplate", &get.base,
                                &framewright__v1__template__descriptor, &o, &resp, &err) != FW_OK)
            return answer_error(conn, &err);
        protobuf_c_message_free_unpacked(resp, NULL);
        fw_error_set(&err, FW_ERR_INVALID, "body",
                     "is empty; PUT the template file (a .json, .lottie or .zip) as the request body");
        return answer_error(conn, &err);
    }
    upload_flush(rq);
    if (rq->failed)
        return answer_error(conn, &rq->err);
    if (fw_rpc_writer_finish(rq->writer, &resp, &err) != FW_OK) {
        fw_rpc_writer_free(&rq->writer);
        return answer_error(conn, &err);
    }
    fw_rpc_writer_free(&rq->writer);
    ok = answer_message(conn, rq->route, resp);
    protobuf_c_message_free_unpacked(resp, NULL);
    return ok;
}

/* ---- multipart/form-data: text parts are fields, the file part the bytes --------------------- */

static enum MHD_Result form_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                 const char *content_type, const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size)
{
    request *rq = cls;
    fw_error err;
    fw_error_clear(&err);
    if (rq->failed)
        return MHD_YES;
    if (filename) {
        if (!rq->file_name && !(rq->file_name = strdup(filename)))
            return MHD_NO;
        if (rq->file_len + size > rq->gw->max_font) {
            fw_error_set(&rq->err, FW_ERR_LIMIT, key, "the file is larger than %zu bytes", rq->gw->max_font);
            rq->failed = 1;
            return MHD_YES;
        }
        /* An empty file part still makes a file (the service says it is
         * empty), and no pointer arithmetic is done on a NULL buffer. */
        if (!rq->file || rq->file_len + size > rq->file_cap) {
            size_t cap = rq->file_cap ? rq->file_cap : 64 * 1024;
            unsigned char *bigger;
            while (rq->file_len + size > cap)
                cap *= 2;
            if (!(bigger = realloc(rq->file, cap)))
                return MHD_NO;
            rq->file = bigger;
            rq->file_cap = cap;
        }
        if (size)
            memcpy(rq->file + rq->file_len, data, size);
        rq->file_len += size;
    } else {
        const char *had = json_string_value(json_object_get(rq->form, key));
        size_t hl = had ? strlen(had) : 0;
        char *joined;
        json_t *v;
        if (hl + size > 64 * 1024) {
            fw_error_set(&rq->err, FW_ERR_LIMIT, key, "is longer than 64 KiB");
            rq->failed = 1;
            return MHD_YES;
        }
        if (!(joined = malloc(hl + size + 1)))
            return MHD_NO;
        memcpy(joined, had ? had : "", hl);
        if (size)
            memcpy(joined + hl, data, size);
        joined[hl + size] = '\0';
        if (!(v = json_string(joined))) {
            fw_error_set(&rq->err, FW_ERR_INVALID, key, "is not UTF-8 text");
            rq->failed = 1;
        } else {
            json_object_set_new(rq->form, key, v);
        }
        free(joined);
    }
    return MHD_YES;
}

static enum MHD_Result finish_multipart(struct MHD_Connection *conn, request *rq)
{
    ProtobufCMessage *req = NULL;
    enum MHD_Result ok;
    fw_error err;
    fw_error_clear(&err);
    if (rq->failed)
        return answer_error(conn, &rq->err);
    if (!rq->file) {
        fw_error_set(&err, FW_ERR_INVALID, "font",
                     "is required: a multipart/form-data part named font with the file (filename set)");
        return answer_error(conn, &err);
    }
    /* The file's name is the fileName field unless a text part says otherwise. */
    if (!json_object_get(rq->form, "fileName") && !json_object_get(rq->form, "file_name")) {
        json_t *name = json_string(rq->file_name ? rq->file_name : "");
        if (!name) {
            fw_error_set(&err, FW_ERR_INVALID, "font", "the file name is not UTF-8 text");
            return answer_error(conn, &err);
        }
        json_object_set_new(rq->form, "fileName", name);
    }
    if (fw_pbjson_to_message(rq->route->req, rq->form, 0, &req, &err) != FW_OK)
        return answer_error(conn, &err);
    fw_gateway_set_bytes(req, rq->file, rq->file_len); /* req owns the bytes now */
    rq->file = NULL;
    rq->file_len = rq->file_cap = 0;
    ok = serve_unary(conn, rq, req);
    fw_pbjson_message_free(&req);
    return ok;
}

/* ---- /healthz, /readyz, /metrics (ops.c) ----------------------------------------------------- */

static enum MHD_Result serve_ops(struct MHD_Connection *conn, request *rq)
{
    fw_ops_answer a;
    fw_gateway_ops_answer(rq->gw->rpc, rq->ops, rq->auth, &a);
    if (!a.body)
        return MHD_NO;
    return answer_text(conn, a.status, a.body, a.type, a.header, a.value);
}

/* ---- the dashboard (static_files.h) ---------------------------------------------------------- */

static enum MHD_Result serve_static(struct MHD_Connection *conn, request *rq)
{
    const fw_static_file *f = rq->page;
    struct MHD_Response *resp = MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok;
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->type);
    MHD_add_response_header(resp, "Content-Security-Policy", rq->gw->csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
    /* Files change with the binary: always asked again (cheap, they are small). */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    ok = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* ---- MHD's callbacks ----------------------------------------------------------------------- */

static void request_free(request *rq)
{
    if (!rq)
        return;
    fw_rpc_writer_free(&rq->writer);
    if (rq->pp)
        MHD_destroy_post_processor(rq->pp);
    json_decref(rq->form);
    free(rq->chunk);
    free(rq->body);
    free(rq->file);
    free(rq->file_name);
    free(rq->auth);
    free(rq->idem_key);
    free(rq);
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    request_free(*con_cls);
    *con_cls = NULL;
}

/* The first call: route, limits, and the parts of the request kept for later. */
static enum MHD_Result begin(fw_gateway *gw, struct MHD_Connection *conn, const char *url, const char *method,
                             void **con_cls)
{
    const fw_gateway_route *route = NULL;
    char id[FW_GATEWAY_ID_MAX], allow[64];
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *idem_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long declared = length ? strtoull(length, NULL, 10) : 0, limit;
    fw_ops_endpoint ops = fw_gateway_ops_endpoint(url);
    const fw_static_file *file = ops || strncmp(url, "/api/", 5) == 0 ? NULL : fw_dashboard_find(url);
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    unsigned status = ops || file ? (get ? 200 : 405) : fw_gateway_match(method, url, &route, id, allow);
    request *rq;

    if ((ops || file) && status == 405)
        snprintf(allow, sizeof(allow), "GET, HEAD");
    if (file && status == 200) {
        if (!(rq = calloc(1, sizeof(*rq))))
            return MHD_NO;
        rq->gw = gw;
        rq->page = file;
        *con_cls = rq;
        return MHD_YES;
    }
    if (status == 404 || status == 405) {
        if (!(rq = calloc(1, sizeof(*rq))))
            return MHD_NO;
        rq->gw = gw;
        rq->refuse_status = status;
        if (status == 404)
            snprintf(rq->refuse_text, sizeof(rq->refuse_text), "no route %s %.200s", method, url);
        else {
            snprintf(rq->refuse_text, sizeof(rq->refuse_text), "%s is not allowed here; allowed: %s", method, allow);
            snprintf(rq->refuse_allow, sizeof(rq->refuse_allow), "%s", allow);
        }
        *con_cls = rq;
        return MHD_YES;
    }
    /* gRPC metadata takes printable ASCII only; anything else cannot be a
     * token of ours, and would otherwise fail the call as a 500. */
    for (const char *c = auth; c && *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
            if (!(rq = calloc(1, sizeof(*rq))))
                return MHD_NO;
            rq->gw = gw;
            rq->refuse_status = 401;
            snprintf(rq->refuse_text, sizeof(rq->refuse_text),
                     "the Authorization header is not a bearer token (printable ASCII)");
            *con_cls = rq;
            return MHD_YES;
        }
    }
    for (const char *c = idem_key; c && *c; c++) {
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
            if (!(rq = calloc(1, sizeof(*rq))))
                return MHD_NO;
            rq->gw = gw;
            rq->refuse_status = 400;
            snprintf(rq->refuse_text, sizeof(rq->refuse_text),
                     "idempotency-key: takes printable ASCII without spaces");
            *con_cls = rq;
            return MHD_YES;
        }
    }
    if (ops) {
        if (!(rq = calloc(1, sizeof(*rq))))
            return MHD_NO;
        rq->gw = gw;
        rq->ops = ops;
        if (auth && !(rq->auth = strdup(auth))) {
            free(rq);
            return MHD_NO;
        }
        *con_cls = rq;
        return MHD_YES;
    }
    limit = route->body == FW_BODY_RAW         ? gw->max_upload
            : route->body == FW_BODY_MULTIPART ? gw->max_font + 64 * 1024
                                               : gw->max_json;
    if (declared > limit) {
        char text[128];
        snprintf(text, sizeof(text), "the body is larger than %llu bytes", limit);
        return answer_status(conn, 413, text, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    if (!(rq = calloc(1, sizeof(*rq))))
        return MHD_NO;
    rq->gw = gw;
    rq->route = route;
    memcpy(rq->id, id, sizeof(id));
    if ((auth && !(rq->auth = strdup(auth))) || (idem_key && !(rq->idem_key = strdup(idem_key)))) {
        free(rq->auth);
        free(rq);
        return MHD_NO;
    }
    if (route->body == FW_BODY_MULTIPART) {
        rq->form = json_object();
        rq->pp = MHD_create_post_processor(conn, 64 * 1024, form_part, rq);
        if (!rq->pp) {
            request_free(rq);
            return answer_status(conn, 415, "the body must be multipart/form-data", NULL, NULL);
        }
    }
    *con_cls = rq;
    return MHD_YES;
}

static void body_data(request *rq, const char *data, size_t size)
{
    switch (rq->route->body) {
    case FW_BODY_RAW:
        upload_data(rq, data, size);
        return;
    case FW_BODY_MULTIPART:
        if (!rq->failed && MHD_post_process(rq->pp, data, size) != MHD_YES && !rq->failed) {
            fw_error_set(&rq->err, FW_ERR_INVALID, "body", "is not well-formed multipart/form-data");
            rq->failed = 1;
        }
        return;
    case FW_BODY_JSON:
        if (rq->failed)
            return;
        if (rq->len + size > rq->gw->max_json) {
            fw_error_set(&rq->err, FW_ERR_LIMIT, "body", "is larger than %zu bytes", rq->gw->max_json);
            rq->failed = 1;
            return;
        }
        if (rq->len + size > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 4096;
            char *bigger;
            while (rq->len + size > cap)
                cap *= 2;
            if (!(bigger = realloc(rq->body, cap))) {
                fw_error_set(&rq->err, FW_ERR_NOMEM, NULL, "out of memory");
                rq->failed = 1;
                return;
            }
            rq->body = bigger;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, data, size);
        rq->len += size;
        return;
    case FW_BODY_NONE:
        return; /* a body where none is expected is ignored */
    }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    request *rq = *con_cls;
    ProtobufCMessage *req = NULL;
    query_list q;
    fw_error err;
    enum MHD_Result ok;

    if (!rq)
        return begin(cls, conn, url, method, con_cls);
    if (rq->refuse_status) {
        if (*upload_data_size) { /* read and dropped */
            *upload_data_size = 0;
            return MHD_YES;
        }
        return answer_status(conn, rq->refuse_status, rq->refuse_text,
                             rq->refuse_allow[0] ? MHD_HTTP_HEADER_ALLOW : NULL,
                             rq->refuse_allow[0] ? rq->refuse_allow : NULL);
    }
    if (*upload_data_size) {
        if (!rq->ops && !rq->page) /* the operators' endpoints and the dashboard take no body */
            body_data(rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->page)
        return serve_static(conn, rq);
    if (rq->ops)
        return serve_ops(conn, rq);
    if (rq->route->body == FW_BODY_RAW)
        return finish_upload(conn, rq);
    if (rq->route->body == FW_BODY_MULTIPART)
        return finish_multipart(conn, rq);
    if (rq->failed)
        return answer_error(conn, &rq->err);

    fw_error_clear(&err);
    memset(&q, 0, sizeof(q));
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    if (fw_gateway_build_request(rq->route, rq->id, q.n ? q.pairs : NULL, rq->body, rq->len, &req, &err) != FW_OK)
        return answer_error(conn, &err);
    switch (rq->route->kind) {
    case FW_ROUTE_DOWNLOAD:
        ok = serve_download(conn, rq, req);
        break;
    case FW_ROUTE_EVENTS:
        ok = serve_events(conn, rq, req);
        break;
    case FW_ROUTE_PICTURE:
        ok = serve_picture(conn, rq, req);
        break;
    default:
        ok = serve_unary(conn, rq, req);
        break;
    }
    fw_pbjson_message_free(&req);
    return ok;
}

/* ---- start and stop ------------------------------------------------------------------------ */

static fw_err listen_on(const char *address, int *out_fd, int *out_port, fw_error *err)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    char host[128];
    const char *colon = address ? strrchr(address, ':') : NULL;
    char *end;
    long port;
    int fd, one = 1;

    if (!colon || (size_t)(colon - address) >= sizeof(host))
        return fw_error_set(err, FW_ERR_INVALID, "listen", "'%s' is not HOST:PORT", address ? address : "");
    snprintf(host, sizeof(host), "%.*s", (int)(colon - address), address);
    if (strcmp(host, "localhost") == 0 || !*host)
        snprintf(host, sizeof(host), "%s", *host ? "127.0.0.1" : "0.0.0.0");
    port = strtol(colon + 1, &end, 10);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (!colon[1] || *end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return fw_error_set(err, FW_ERR_INVALID, "listen", "'%s' is not IPv4:PORT", address);
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return fw_error_set(err, FW_ERR_IO, "listen", "cannot make a socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 256) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        int e = errno;
        close(fd);
        return fw_error_set(err, FW_ERR_UNAVAILABLE, "listen", "cannot listen on %s: %s", address, strerror(e));
    }
    *out_fd = fd;
    *out_port = ntohs(sa.sin_port);
    return FW_OK;
}

fw_err fw_gateway_start(fw_gateway **out, const fw_gateway_options *opts, fw_error *err)
{
    fw_gateway *gw;
    fw_rpc_client_options co;
    int fd = -1;
    fw_err rc;

    *out = NULL;
    if (!opts || !opts->grpc_address || !*opts->grpc_address)
        return fw_error_set(err, FW_ERR_INVALID, "grpc", "the gRPC server's HOST:PORT is required");
    if (!(gw = calloc(1, sizeof(*gw))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    gw->max_json = opts->max_json_bytes ? opts->max_json_bytes : FW_PBJSON_MAX_TEXT;
    gw->max_upload = opts->max_upload_bytes ? opts->max_upload_bytes : 512ull << 20;
    gw->max_font = opts->max_font_bytes ? opts->max_font_bytes : 64u << 20;
    gw->rpc_timeout_ms = opts->rpc_timeout_ms ? opts->rpc_timeout_ms : 120000;
    atomic_init(&gw->stopping, 0);
    if (!(gw->csp = fw_dashboard_csp(opts->media_sources))) {
        free(gw);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    if (!opts->tls_cert_file != !opts->tls_key_file) {
        free(gw->csp);
        free(gw);
        return fw_error_set(err, FW_ERR_INVALID, "tls", "HTTPS needs both a certificate and a key");
    }
    if (opts->tls_cert_file) {
        size_t len;
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            free(gw->csp);
            free(gw);
            return fw_error_set(err, FW_ERR_UNSUPPORTED, "tls", "this libmicrohttpd has no TLS");
        }
        if (!(gw->tls_cert = fw_read_file(opts->tls_cert_file, 1 << 20, &len, err)) ||
            !(gw->tls_key = fw_read_file(opts->tls_key_file, 1 << 20, &len, err))) {
            free(gw->tls_cert);
            free(gw->csp);
            free(gw);
            return err ? err->code : FW_ERR_IO;
        }
    }

    memset(&co, 0, sizeof(co));
    co.address = opts->grpc_address;
    co.ca_file = opts->grpc_ca_file;
    if ((rc = fw_rpc_client_new(&gw->rpc, &co, err)) != FW_OK ||
        (rc = listen_on(opts->listen ? opts->listen : "127.0.0.1:8081", &fd, &gw->port, err)) != FW_OK) {
        fw_rpc_client_free(&gw->rpc);
        free(gw->tls_cert);
        free(gw->tls_key);
        free(gw->csp);
        free(gw);
        return rc;
    }
    {
        unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
        unsigned limit = opts->max_connections ? opts->max_connections : 512;
        unsigned idle = opts->idle_timeout_s ? opts->idle_timeout_s : 60u;
        if (gw->tls_cert)
            gw->daemon = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, handle, gw, MHD_OPTION_LISTEN_SOCKET, fd,
                                          MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT, idle,
                                          MHD_OPTION_NOTIFY_COMPLETED, request_done, gw, MHD_OPTION_HTTPS_MEM_CERT,
                                          gw->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, gw->tls_key, MHD_OPTION_END);
        else
            gw->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, gw, MHD_OPTION_LISTEN_SOCKET, fd,
                                          MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT, idle,
                                          MHD_OPTION_NOTIFY_COMPLETED, request_done, gw, MHD_OPTION_END);
    }
    if (!gw->daemon) {
        close(fd);
        fw_rpc_client_free(&gw->rpc);
        free(gw->tls_cert);
        free(gw->tls_key);
        free(gw->csp);
        free(gw);
        return fw_error_set(err, FW_ERR_UNAVAILABLE, "listen", "cannot start the HTTP server on %s",
                            opts->listen ? opts->listen : "127.0.0.1:8081");
    }
    *out = gw;
    return FW_OK;
}

int fw_gateway_port(const fw_gateway *gw)
{
    return gw ? gw->port : 0;
}

void fw_gateway_stop(fw_gateway **pgw)
{
    fw_gateway *gw = pgw ? *pgw : NULL;
    if (!gw)
        return;
    *pgw = NULL;
    atomic_store(&gw->stopping, 1); /* event streams end at their next wait */
    MHD_stop_daemon(gw->daemon);
    fw_rpc_client_free(&gw->rpc);
    free(gw->csp);
    free(gw->tls_cert);
    if (gw->tls_key) {
        memset(gw->tls_key, 0, strlen(gw->tls_key));
        free(gw->tls_key);
    }
    free(gw);
}
