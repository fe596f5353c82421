/*
 * rpc.c - gRPC server dispatch over the gRPC C core (see rpc.h).
 *
 * Shape: every asynchronous operation carries an `rpc_op` tag whose done()
 * runs on the poller thread. A call (fw_rpc_call, which is also the
 * fw_rpc_stream) is reference counted: one reference per batch the core has
 * not completed, one while a handler runs, one for a stream's owner. The last
 * reference frees it. Call state is guarded by the call's mutex; the server's
 * mutex guards the work queue and the list of live calls, and is always taken
 * before a call's mutex, never after.
 */
#include "server/api/rpc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "server/api/rpc_status.h"
#include "server/util/log.h"

typedef struct rpc_op rpc_op;
struct rpc_op {
    void (*done)(rpc_op *op, int ok);
    fw_rpc_call *call;
};

typedef struct rpc_handler {
    const fw_rpc_method *method;
    void *registered; /* grpc_server_register_method's handle */
    fw_rpc_unary_fn unary;
    fw_rpc_server_stream_fn server_stream;
    fw_rpc_client_stream_fn client_stream;
    fw_rpc_gone_fn on_gone;
    void *ctx;
} rpc_handler;

typedef struct arena_block {
    struct arena_block *next;
    max_align_t data[];
} arena_block;

typedef struct deferred {
    struct deferred *next;
    void (*fn)(void *);
    void *ptr;
} deferred;

struct fw_rpc_call {
    fw_rpc_server *srv;
    const rpc_handler *handler; /* NULL: a method we do not serve */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array metadata;
    grpc_call_details details; /* only for unserved methods */
    grpc_byte_buffer *payload;

    rpc_op op_request, op_close, op_send, op_recv, op_finish;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    int close_cancelled; /* written by the core for RECV_CLOSE_ON_SERVER */
    int gone;            /* the client went away (or the server cancelled the call) */
    int handler_done, owner_released, gone_fired, shutting;
    int initial_metadata_sent, status_started;

    /* server streams: packed messages waiting, in order */
    grpc_byte_buffer **queue;
    size_t queue_head, queue_len;
    int send_in_flight;
    int finish_requested;
    fw_err finish_code;
    char *finish_text;
    int finish_retry_after;
    grpc_metadata trailing[1]; /* retry-after, for FW_ERR_QUOTA */
    char retry_after[16];

    /* client streams */
    int read_pending, read_ok, read_eof;
    grpc_byte_buffer *read_buf;

    char *peer, *user;
    arena_block *arena;
    deferred *defers;
    fw_rpc_call *live_prev, *live_next, *work_next;
};

struct fw_rpc_server {
    grpc_server *server;
    grpc_completion_queue *cq;
    int port;
    const fw_rpc_method *methods;
    size_t method_count;
    rpc_handler *handlers;
    size_t handler_count;
    int threads;
    size_t queue_max;
    int64_t grace_ms;

    pthread_t poller;
    pthread_t *workers;
    int poller_running, workers_running;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    fw_rpc_call *work_head, *work_tail;
    int workers_stop;
    fw_rpc_call *live;
    size_t live_count;
    size_t requests_pending;
    int started, stopping, shutdown_done;
    rpc_op op_shutdown;
};

static void call_unref(fw_rpc_call *c);
static void request_next(fw_rpc_server *srv, const rpc_handler *h);

/* --- small helpers ------------------------------------------------------- */

static char *dup_slice(grpc_slice s)
{
    size_t n = GRPC_SLICE_LENGTH(s);
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, GRPC_SLICE_START_PTR(s), n);
        p[n] = '\0';
    }
    return p;
}

static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(n);
    grpc_byte_buffer *bb;
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

/* Unpack bb as desc; NULL when it does not decode. */
static ProtobufCMessage *unpack_message(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc)
{
    grpc_byte_buffer_reader reader;
    ProtobufCMessage *msg;
    grpc_slice all;
    if (!grpc_byte_buffer_reader_init(&reader, bb))
        return NULL;
    all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    return msg;
}

static char *status_text(fw_err code, const fw_error *e)
{
    char buf[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 8];
    if (e && e->message[0])
        fw_error_text(e, buf, sizeof(buf));
    else
        snprintf(buf, sizeof(buf), "%s", fw_strerror(code));
    return strdup(buf);
}

/* Why a call is gone, for senders and readers. Called with c->mu held. */
static fw_err gone_error(fw_rpc_call *c, fw_error *err)
{
    if (c->shutting)
        return fw_error_set(err, FW_ERR_UNAVAILABLE, NULL, "the server is shutting down");
    if (fw_rpc_call_deadline_ms(c) <= 0)
        return fw_error_set(err, FW_ERR_DEADLINE, NULL, "the client's deadline has passed");
    return fw_error_set(err, FW_ERR_CANCELLED, NULL, "the client has gone away");
}

/* --- call lifetime ------------------------------------------------------- */

static fw_rpc_call *call_new(fw_rpc_server *srv, const rpc_handler *h)
{
    fw_rpc_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->srv = srv;
    c->handler = h;
    c->refs = 1; /* the core's, for the pending request */
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    grpc_metadata_array_init(&c->metadata);
    grpc_call_details_init(&c->details);
    if (h && h->method->kind == FW_RPC_SERVER_STREAM) {
        c->queue = calloc(srv->queue_max, sizeof(*c->queue));
        if (!c->queue) {
            free(c);
            return NULL;
        }
    }
    return c;
}

static void call_destroy(fw_rpc_call *c)
{
    while (c->defers) {
        deferred *d = c->defers;
        c->defers = d->next;
        d->fn(d->ptr);
        free(d);
    }
    while (c->arena) {
        arena_block *b = c->arena;
        c->arena = b->next;
        free(b);
    }
    for (size_t i = 0; i < c->queue_len; i++)
        grpc_byte_buffer_destroy(c->queue[(c->queue_head + i) % c->srv->queue_max]);
    free(c->queue);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->read_buf)
        grpc_byte_buffer_destroy(c->read_buf);
    grpc_metadata_array_destroy(&c->metadata);
    grpc_call_details_destroy(&c->details);
    if (c->call)
        grpc_call_unref(c->call);
    if (c->peer)
        gpr_free(c->peer);
    free(c->user);
    free(c->finish_text);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void call_ref_locked(fw_rpc_call *c)
{
    c->refs++;
}

static void call_unref(fw_rpc_call *c)
{
    fw_rpc_server *srv = c->srv;
    int last;
    pthread_mutex_lock(&c->mu);
    last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (!last)
        return;
    if (c->call) { /* it was live */
        pthread_mutex_lock(&srv->mu);
        if (c->live_prev)
            c->live_prev->live_next = c->live_next;
        else
            srv->live = c->live_next;
        if (c->live_next)
            c->live_next->live_prev = c->live_prev;
        srv->live_count--;
        pthread_cond_broadcast(&srv->cv);
        pthread_mutex_unlock(&srv->mu);
    }
    call_destroy(c);
}

/* Start a batch holding a reference for it. Called with c->mu held. */
static int start_batch_locked(fw_rpc_call *c, const grpc_op *ops, size_t n, rpc_op *tag)
{
    grpc_call_error rc;
    call_ref_locked(c);
    rc = grpc_call_start_batch(c->call, ops, n, tag, NULL);
    if (rc != GRPC_CALL_OK) {
        c->refs--; /* never the last: the caller holds one */
        fw_log(FW_LOG_ERROR, "rpc", "grpc_call_start_batch failed (%d) on %s", (int)rc, fw_rpc_call_method(c));
        return -1;
    }
    return 0;
}

/* --- sending responses --------------------------------------------------- */

static void finish_done(rpc_op *op, int ok)
{
    (void)ok;
    call_unref(op->call);
}

/* Send initial metadata if not sent yet, an optional message and the status.
 * Called with c->mu held. */
static void send_status_locked(fw_rpc_call *c, grpc_byte_buffer *message, fw_err code, const char *text,
                               int retry_after_s)
{
    grpc_op ops[3];
    size_t n = 0;
    grpc_slice details = grpc_slice_from_copied_string(text ? text : "");
    memset(ops, 0, sizeof(ops));
    if (!c->initial_metadata_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->initial_metadata_sent = 1;
    }
    if (message) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = message;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)fw_rpc_status_from_err(code);
    ops[n].data.send_status_from_server.status_details = text ? &details : NULL;
    if (code == FW_ERR_QUOTA && retry_after_s > 0) {
        /* The seconds to wait, as trailing metadata any gRPC client can read (and the gateway's
         * Retry-After). */
        snprintf(c->retry_after, sizeof(c->retry_after), "%d", retry_after_s);
        c->trailing[0].key = grpc_slice_from_static_string("retry-after");
        c->trailing[0].value = grpc_slice_from_static_string(c->retry_after);
        ops[n].data.send_status_from_server.trailing_metadata = c->trailing;
        ops[n].data.send_status_from_server.trailing_metadata_count = 1;
    }
    n++;
    c->status_started = 1;
    c->op_finish.done = finish_done;
    c->op_finish.call = c;
    start_batch_locked(c, ops, n, &c->op_finish);
    grpc_slice_unref(details);
}

static void send_next_locked(fw_rpc_call *c);

static void send_done(rpc_op *op, int ok)
{
    fw_rpc_call *c = op->call;
    fw_rpc_server *srv = c->srv;
    pthread_mutex_lock(&c->mu);
    grpc_byte_buffer_destroy(c->queue[c->queue_head]);
    c->queue_head = (c->queue_head + 1) % srv->queue_max;
    c->queue_len--;
    c->send_in_flight = 0;
    if (!ok)
        c->gone = 1;
    if (!c->gone)
        send_next_locked(c);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    call_unref(c);
}

/* Start the next send of a stream: a queued message, or the status once
 * the queue is empty and the owner has finished. Called with c->mu held. */
static void send_next_locked(fw_rpc_call *c)
{
    if (c->send_in_flight || c->status_started || c->gone)
        return;
    if (c->queue_len > 0) {
        grpc_op ops[2];
        size_t n = 0;
        memset(ops, 0, sizeof(ops));
        if (!c->initial_metadata_sent) {
            ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
            c->initial_metadata_sent = 1;
        }
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->queue[c->queue_head];
        c->op_send.done = send_done;
        c->op_send.call = c;
        if (start_batch_locked(c, ops, n, &c->op_send) == 0)
            c->send_in_flight = 1;
        return;
    }
    if (c->finish_requested)
        send_status_locked(c, NULL, c->finish_code, c->finish_text, c->finish_retry_after);
}

/* --- the client going away ------------------------------------------------ */

/* Tell a stream's owner, once, that its client is gone. Called without locks;
 * the caller holds a reference. */
static void maybe_fire_gone(fw_rpc_call *c)
{
    int fire = 0;
    pthread_mutex_lock(&c->mu);
    if (c->handler && c->handler->method->kind == FW_RPC_SERVER_STREAM && c->gone && c->handler_done &&
        !c->owner_released && !c->gone_fired) {
        c->gone_fired = 1;
        fire = c->handler->on_gone != NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (fire)
        c->handler->on_gone((fw_rpc_stream *)c, c->handler->ctx);
}

static void close_done(rpc_op *op, int ok)
{
    fw_rpc_call *c = op->call;
    pthread_mutex_lock(&c->mu);
    if (c->close_cancelled || !ok) {
        c->gone = 1;
        /* Drop what was waiting to be sent, keeping the one in flight. */
        while (c->queue_len > (size_t)c->send_in_flight) {
            size_t last = (c->queue_head + c->queue_len - 1) % c->srv->queue_max;
            grpc_byte_buffer_destroy(c->queue[last]);
            c->queue_len--;
        }
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    maybe_fire_gone(c);
    call_unref(c);
}

/* --- workers -------------------------------------------------------------- */

static void respond(fw_rpc_call *c, fw_err code, fw_error *e, ProtobufCMessage *resp)
{
    grpc_byte_buffer *bb = NULL;
    char *text = NULL;
    const ProtobufCMessageDescriptor *out = fw_rpc_method_output(c->handler->method);
    if (code == FW_OK && (!resp || resp->descriptor != out))
        code = fw_error_set(e, FW_ERR_INTERNAL, NULL, "the handler of %s answered %s, not a %s",
                            fw_rpc_call_method(c), resp ? resp->descriptor->name : "nothing", out->name);
    if (code == FW_OK)
        bb = pack_message(resp);
    else
        text = status_text(code, e);
    pthread_mutex_lock(&c->mu);
    send_status_locked(c, bb, code, text, e ? e->retry_after_s : 0);
    pthread_mutex_unlock(&c->mu);
    if (bb)
        grpc_byte_buffer_destroy(bb);
    free(text);
}

static void run_handler(fw_rpc_call *c)
{
    const rpc_handler *h = c->handler;
    const fw_rpc_method *m = h->method;
    ProtobufCMessage *req = NULL, *resp = NULL;
    fw_error e;
    fw_err code = FW_OK;

    fw_error_clear(&e);
    if (m->kind != FW_RPC_CLIENT_STREAM) {
        if (!c->payload)
            code = fw_error_set(&e, FW_ERR_INVALID, "request", "the call carried no request message");
        else if (!(req = unpack_message(c->payload, fw_rpc_method_input(m))))
            code = fw_error_set(&e, FW_ERR_INVALID, "request", "the request is not a valid %s message",
                                fw_rpc_method_input(m)->name);
    }
    if (m->kind == FW_RPC_SERVER_STREAM) {
        int shutting;
        if (code == FW_OK) {
            pthread_mutex_lock(&c->mu);
            call_ref_locked(c); /* the owner's, released by fw_rpc_stream_finish */
            pthread_mutex_unlock(&c->mu);
            code = h->server_stream(c, req, (fw_rpc_stream *)c, &e);
            if (code != FW_OK) {
                pthread_mutex_lock(&c->mu);
                c->owner_released = 1; /* the dispatcher ends it below */
                c->refs--;
                pthread_mutex_unlock(&c->mu);
            }
        }
        pthread_mutex_lock(&c->mu);
        c->handler_done = 1;
        shutting = c->shutting;
        if (code != FW_OK && !c->status_started && !c->finish_requested) {
            c->finish_requested = 1;
            c->finish_code = code;
            c->finish_text = status_text(code, &e);
            c->finish_retry_after = e.retry_after_s;
            send_next_locked(c);
        }
        pthread_mutex_unlock(&c->mu);
        if (shutting)
            grpc_call_cancel_with_status(c->call, GRPC_STATUS_UNAVAILABLE, "the server is shutting down", NULL);
        maybe_fire_gone(c);
    } else {
        if (code == FW_OK)
            code = m->kind == FW_RPC_UNARY ? h->unary(c, req, &resp, &e) : h->client_stream(c, &resp, &e);
        respond(c, code, &e, resp);
    }
    if (req)
        protobuf_c_message_free_unpacked(req, NULL);
}

static void *worker_main(void *arg)
{
    fw_rpc_server *srv = arg;
    for (;;) {
        fw_rpc_call *c;
        pthread_mutex_lock(&srv->mu);
        while (!srv->work_head && !srv->workers_stop)
            pthread_cond_wait(&srv->cv, &srv->mu);
        c = srv->work_head;
        if (!c) {
            pthread_mutex_unlock(&srv->mu);
            return NULL;
        }
        srv->work_head = c->work_next;
        if (!srv->work_head)
            srv->work_tail = NULL;
        pthread_mutex_unlock(&srv->mu);
        run_handler(c);
        call_unref(c); /* the handler's */
    }
}

/* --- new calls ------------------------------------------------------------ */

static void call_started(fw_rpc_call *c)
{
    fw_rpc_server *srv = c->srv;
    grpc_op ops[3];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    c->peer = grpc_call_get_peer(c->call);

    pthread_mutex_lock(&srv->mu);
    c->live_next = srv->live;
    if (srv->live)
        srv->live->live_prev = c;
    srv->live = c;
    srv->live_count++;
    pthread_mutex_unlock(&srv->mu);

    pthread_mutex_lock(&c->mu);
    c->op_close.done = close_done;
    c->op_close.call = c;
    if (!c->handler) {
        /* Not a method we serve: answer UNIMPLEMENTED in the same batch. */
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->initial_metadata_sent = 1;
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n++].data.send_status_from_server.status = GRPC_STATUS_UNIMPLEMENTED;
        c->status_started = 1;
    }
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->close_cancelled;
    if (!c->handler) {
        char text[512];
        grpc_slice details;
        char *method = dup_slice(c->details.method);
        snprintf(text, sizeof(text), "method %s is not implemented by this server", method ? method : "?");
        free(method);
        details = grpc_slice_from_copied_string(text);
        ops[0 + 1].data.send_status_from_server.status_details = &details;
        start_batch_locked(c, ops, n, &c->op_close);
        grpc_slice_unref(details);
        pthread_mutex_unlock(&c->mu);
        call_unref(c); /* the request's */
        return;
    }
    start_batch_locked(c, ops, n, &c->op_close);
    pthread_mutex_unlock(&c->mu);

    /* The request's reference becomes the handler's. */
    pthread_mutex_lock(&srv->mu);
    if (srv->work_tail)
        srv->work_tail->work_next = c;
    else
        srv->work_head = c;
    srv->work_tail = c;
    pthread_cond_signal(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

static void request_done(rpc_op *op, int ok)
{
    fw_rpc_call *c = op->call;
    fw_rpc_server *srv = c->srv;
    int stopping;
    pthread_mutex_lock(&srv->mu);
    srv->requests_pending--;
    stopping = srv->stopping;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    if (!ok || !c->call) {
        call_destroy(c); /* never live: the server is shutting down */
        return;
    }
    if (!stopping)
        request_next(srv, c->handler);
    call_started(c);
}

/* Ask the core for the next call of h's method (h NULL: of any method we do
 * not serve). */
static void request_next(fw_rpc_server *srv, const rpc_handler *h)
{
    fw_rpc_call *c = call_new(srv, h);
    grpc_call_error rc;
    if (!c) {
        fw_log(FW_LOG_ERROR, "rpc", "out of memory: %s stops accepting calls", h ? h->method->path : "unserved");
        return;
    }
    c->op_request.done = request_done;
    c->op_request.call = c;
    pthread_mutex_lock(&srv->mu);
    srv->requests_pending++;
    pthread_mutex_unlock(&srv->mu);
    if (h)
        rc = grpc_server_request_registered_call(srv->server, h->registered, &c->call, &c->deadline, &c->metadata,
                                                 h->method->kind == FW_RPC_CLIENT_STREAM ? NULL : &c->payload,
                                                 srv->cq, srv->cq, &c->op_request);
    else
        rc = grpc_server_request_call(srv->server, &c->call, &c->details, &c->metadata, srv->cq, srv->cq,
                                      &c->op_request);
    if (rc != GRPC_CALL_OK) {
        fw_log(FW_LOG_ERROR, "rpc", "requesting a call failed (%d)", (int)rc);
        pthread_mutex_lock(&srv->mu);
        srv->requests_pending--;
        pthread_mutex_unlock(&srv->mu);
        call_destroy(c);
    }
}

static void *poller_main(void *arg)
{
    fw_rpc_server *srv = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return NULL;
        if (ev.type == GRPC_OP_COMPLETE) {
            rpc_op *op = ev.tag;
            op->done(op, ev.success);
        }
    }
}

static void shutdown_done(rpc_op *op, int ok)
{
    fw_rpc_server *srv = (fw_rpc_server *)op->call;
    (void)ok;
    pthread_mutex_lock(&srv->mu);
    srv->shutdown_done = 1;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

/* --- the server ----------------------------------------------------------- */

static char *read_file(const char *path, fw_error *err, const char *field)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f) {
        fw_error_set(err, FW_ERR_IO, field, "cannot open %s", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
    } else {
        free(buf);
        buf = NULL;
        fw_error_set(err, FW_ERR_IO, field, "cannot read %s", path);
    }
    fclose(f);
    return buf;
}

fw_err fw_rpc_server_new(fw_rpc_server **out, const fw_rpc_server_options *opts, fw_error *err)
{
    fw_rpc_server *srv;
    grpc_server_credentials *creds;
    grpc_arg arg;
    grpc_channel_args args;
    size_t max_bytes = opts->max_message_bytes ? opts->max_message_bytes : 16u << 20;

    *out = NULL;
    if (!opts->listen || !*opts->listen)
        return fw_error_set(err, FW_ERR_INVALID, "listen", "a listen address such as 127.0.0.1:0 is required");
    if (!opts->methods && opts->method_count)
        return fw_error_set(err, FW_ERR_INVALID, "methods", "method_count is set but the table is missing");
    if (!opts->tls_cert_file != !opts->tls_key_file)
        return fw_error_set(err, FW_ERR_INVALID, opts->tls_cert_file ? "tls_key_file" : "tls_cert_file",
                            "TLS needs both a certificate and a key");
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    srv->methods = opts->methods;
    srv->method_count = opts->method_count;
    srv->threads = opts->threads > 0 ? opts->threads : 8;
    srv->queue_max = opts->stream_queue_max ? opts->stream_queue_max : 64;
    srv->grace_ms = opts->shutdown_grace_ms > 0 ? opts->shutdown_grace_ms : 5000;
    srv->handlers = calloc(srv->method_count ? srv->method_count : 1, sizeof(*srv->handlers));
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    srv->op_shutdown.done = shutdown_done;
    srv->op_shutdown.call = (fw_rpc_call *)srv;

    grpc_init();
    arg.type = GRPC_ARG_INTEGER;
    arg.key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    arg.value.integer = max_bytes > 0x7fffffff ? 0x7fffffff : (int)max_bytes;
    args.num_args = 1;
    args.args = &arg;
    srv->server = grpc_server_create(&args, NULL);
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);

    if (opts->tls_cert_file) {
        grpc_ssl_pem_key_cert_pair pair;
        char *cert = read_file(opts->tls_cert_file, err, "tls_cert_file");
        char *key = cert ? read_file(opts->tls_key_file, err, "tls_key_file") : NULL;
        if (!key) {
            free(cert);
            fw_rpc_server_free(&srv);
            return err ? err->code : FW_ERR_IO;
        }
        pair.cert_chain = cert;
        pair.private_key = key;
        creds = grpc_ssl_server_credentials_create(NULL, &pair, 1, 0, NULL);
        free(cert);
        free(key);
    } else {
        creds = grpc_insecure_server_credentials_create();
    }
    srv->port = creds ? grpc_server_add_http2_port(srv->server, opts->listen, creds) : 0;
    if (creds)
        grpc_server_credentials_release(creds);
    if (srv->port <= 0) {
        fw_rpc_server_free(&srv);
        return fw_error_set(err, FW_ERR_UNAVAILABLE, "listen",
                            "cannot listen on %s (address in use, malformed, or a bad certificate/key)",
                            opts->listen);
    }
    *out = srv;
    return FW_OK;
}

static fw_err add_handler(fw_rpc_server *srv, const char *path, fw_rpc_kind kind, rpc_handler *h, fw_error *err)
{
    const fw_rpc_method *m = fw_rpc_method_find(srv->methods, srv->method_count, path ? path : "");
    if (srv->started)
        return fw_error_set(err, FW_ERR_FAILED_PRECONDITION, path, "handlers must be added before the server starts");
    if (!m)
        return fw_error_set(err, FW_ERR_NOT_FOUND, path, "no such method in the server's method table");
    if (m->kind != kind)
        return fw_error_set(err, FW_ERR_INVALID, path, "the method is a %s method",
                            m->kind == FW_RPC_UNARY           ? "unary"
                            : m->kind == FW_RPC_SERVER_STREAM ? "server-streaming"
                            : m->kind == FW_RPC_CLIENT_STREAM ? "client-streaming"
                                                              : "bidirectional-streaming");
    for (size_t i = 0; i < srv->handler_count; i++)
        if (srv->handlers[i].method == m)
            return fw_error_set(err, FW_ERR_ALREADY_EXISTS, path, "a handler is already registered");
    h->method = m;
    srv->handlers[srv->handler_count++] = *h;
    return FW_OK;
}

fw_err fw_rpc_server_on_unary(fw_rpc_server *srv, const char *path, fw_rpc_unary_fn fn, void *ctx, fw_error *err)
{
    rpc_handler h = {.unary = fn, .ctx = ctx};
    return add_handler(srv, path, FW_RPC_UNARY, &h, err);
}

fw_err fw_rpc_server_on_server_stream(fw_rpc_server *srv, const char *path, fw_rpc_server_stream_fn fn,
                                      fw_rpc_gone_fn on_gone, void *ctx, fw_error *err)
{
    rpc_handler h = {.server_stream = fn, .on_gone = on_gone, .ctx = ctx};
    return add_handler(srv, path, FW_RPC_SERVER_STREAM, &h, err);
}

fw_err fw_rpc_server_on_client_stream(fw_rpc_server *srv, const char *path, fw_rpc_client_stream_fn fn, void *ctx,
                                      fw_error *err)
{
    rpc_handler h = {.client_stream = fn, .ctx = ctx};
    return add_handler(srv, path, FW_RPC_CLIENT_STREAM, &h, err);
}

int fw_rpc_server_port(const fw_rpc_server *srv)
{
    return srv->port;
}

fw_err fw_rpc_server_start(fw_rpc_server *srv, fw_error *err)
{
    if (srv->started)
        return fw_error_set(err, FW_ERR_FAILED_PRECONDITION, NULL, "the server is already started");
    for (size_t i = 0; i < srv->handler_count; i++) {
        rpc_handler *h = &srv->handlers[i];
        h->registered = grpc_server_register_method(srv->server, h->method->path, NULL,
                                                    h->method->kind == FW_RPC_CLIENT_STREAM
                                                        ? GRPC_SRM_PAYLOAD_NONE
                                                        : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
                                                    0);
        if (!h->registered)
            return fw_error_set(err, FW_ERR_INTERNAL, h->method->path, "gRPC refused to register the method");
    }
    grpc_server_start(srv->server);
    srv->started = 1;
    srv->workers = calloc((size_t)srv->threads, sizeof(*srv->workers));
    if (!srv->workers || pthread_create(&srv->poller, NULL, poller_main, srv) != 0)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "cannot start the RPC threads");
    srv->poller_running = 1;
    for (int i = 0; i < srv->threads; i++) {
        if (pthread_create(&srv->workers[i], NULL, worker_main, srv) != 0)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "cannot start the RPC worker threads");
        srv->workers_running = i + 1;
    }
    for (size_t i = 0; i < srv->handler_count; i++)
        request_next(srv, &srv->handlers[i]);
    request_next(srv, NULL);
    return FW_OK;
}

/* Wait on srv->cv until *flag (or until deadline when non-NULL). Returns
 * whether the flag is set. Called with srv->mu held. */
static int wait_until(fw_rpc_server *srv, const int *flag, const struct timespec *deadline)
{
    while (!*flag) {
        if (!deadline)
            pthread_cond_wait(&srv->cv, &srv->mu);
        else if (pthread_cond_timedwait(&srv->cv, &srv->mu, deadline) != 0)
            return *flag;
    }
    return 1;
}

void fw_rpc_server_stop(fw_rpc_server *srv)
{
    struct timespec deadline;
    if (!srv)
        return;
    pthread_mutex_lock(&srv->mu);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->mu);
        return;
    }
    srv->stopping = 1;
    pthread_mutex_unlock(&srv->mu);

    grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->op_shutdown);
    if (!srv->started) {
        /* Nobody polls: take the shutdown event here. */
        grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        return;
    }

    /* Open streams end now; their owners hear of it through on_gone. */
    pthread_mutex_lock(&srv->mu);
    for (fw_rpc_call *c = srv->live; c; c = c->live_next) {
        int cancel;
        pthread_mutex_lock(&c->mu);
        c->shutting = 1;
        cancel = c->handler && c->handler->method->kind == FW_RPC_SERVER_STREAM && c->handler_done &&
                 !c->status_started;
        pthread_mutex_unlock(&c->mu);
        if (cancel)
            grpc_call_cancel_with_status(c->call, GRPC_STATUS_UNAVAILABLE, "the server is shutting down", NULL);
    }
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += srv->grace_ms / 1000;
    deadline.tv_nsec += (srv->grace_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    if (!wait_until(srv, &srv->shutdown_done, &deadline)) {
        fw_log(FW_LOG_WARN, "rpc", "%zu calls still running after %lld ms; cancelling them", srv->live_count,
               (long long)srv->grace_ms);
        pthread_mutex_unlock(&srv->mu);
        grpc_server_cancel_all_calls(srv->server);
        pthread_mutex_lock(&srv->mu);
        wait_until(srv, &srv->shutdown_done, NULL);
    }
    /* Stream owners may still hold calls the core is done with. */
    while (srv->live_count > 0 || srv->requests_pending > 0)
        pthread_cond_wait(&srv->cv, &srv->mu);
    srv->workers_stop = 1;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);

    for (int i = 0; i < srv->workers_running; i++)
        pthread_join(srv->workers[i], NULL);
    srv->workers_running = 0;
    grpc_completion_queue_shutdown(srv->cq);
    if (srv->poller_running)
        pthread_join(srv->poller, NULL);
    srv->poller_running = 0;
}

void fw_rpc_server_free(fw_rpc_server **psrv)
{
    fw_rpc_server *srv = psrv ? *psrv : NULL;
    if (!srv)
        return;
    *psrv = NULL;
    if (srv->server) {
        fw_rpc_server_stop(srv);
        if (!srv->started)
            grpc_completion_queue_shutdown(srv->cq);
        else if (srv->poller_running) /* a failed start: poller_main still runs */
            pthread_join(srv->poller, NULL);
        /* Drain what is left (nothing, after a clean stop). */
        while (grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
               GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_server_destroy(srv->server);
        grpc_completion_queue_destroy(srv->cq);
        grpc_shutdown();
    }
    free(srv->workers);
    free(srv->handlers);
    pthread_cond_destroy(&srv->cv);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

/* --- call accessors -------------------------------------------------------- */

const char *fw_rpc_call_method(const fw_rpc_call *call)
{
    return call->handler ? call->handler->method->path : "";
}

void *fw_rpc_call_context(const fw_rpc_call *call)
{
    return call->handler ? call->handler->ctx : NULL;
}

const char *fw_rpc_call_peer(const fw_rpc_call *call)
{
    return call->peer ? call->peer : "";
}

const char *fw_rpc_call_metadata(fw_rpc_call *call, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < call->metadata.count; i++) {
        const grpc_metadata *md = &call->metadata.metadata[i];
        if (GRPC_SLICE_LENGTH(md->key) == klen && memcmp(GRPC_SLICE_START_PTR(md->key), key, klen) == 0) {
            size_t n = GRPC_SLICE_LENGTH(md->value);
            char *v = fw_rpc_alloc(call, n + 1);
            if (v)
                memcpy(v, GRPC_SLICE_START_PTR(md->value), n);
            return v;
        }
    }
    return NULL;
}

const char *fw_rpc_call_bearer_token(fw_rpc_call *call)
{
    const char *v = fw_rpc_call_metadata(call, "authorization");
    if (!v || strncasecmp(v, "Bearer ", 7) != 0)
        return NULL;
    v += 7;
    while (*v == ' ')
        v++;
    return *v ? v : NULL;
}

int64_t fw_rpc_call_deadline_ms(const fw_rpc_call *call)
{
    gpr_timespec now, left;
    if (gpr_time_cmp(call->deadline, gpr_inf_future(call->deadline.clock_type)) == 0 || call->deadline.tv_sec == 0)
        return INT64_MAX;
    now = gpr_now(GPR_CLOCK_MONOTONIC);
    left = gpr_time_sub(gpr_convert_clock_type(call->deadline, GPR_CLOCK_MONOTONIC), now);
    return left.tv_sec * 1000 + left.tv_nsec / 1000000;
}

int fw_rpc_call_cancelled(fw_rpc_call *call)
{
    int gone;
    pthread_mutex_lock(&call->mu);
    gone = call->gone;
    pthread_mutex_unlock(&call->mu);
    return gone;
}

void fw_rpc_call_set_user(fw_rpc_call *call, const char *user)
{
    char *copy = user ? strdup(user) : NULL;
    pthread_mutex_lock(&call->mu);
    free(call->user);
    call->user = copy;
    pthread_mutex_unlock(&call->mu);
}

const char *fw_rpc_call_user(fw_rpc_call *call)
{
    return call->user;
}

void *fw_rpc_alloc(fw_rpc_call *call, size_t size)
{
    arena_block *b = calloc(1, sizeof(*b) + size);
    if (!b)
        return NULL;
    pthread_mutex_lock(&call->mu);
    b->next = call->arena;
    call->arena = b;
    pthread_mutex_unlock(&call->mu);
    return b->data;
}

char *fw_rpc_strdup(fw_rpc_call *call, const char *s)
{
    size_t n = strlen(s);
    char *p = fw_rpc_alloc(call, n + 1);
    if (p)
        memcpy(p, s, n);
    return p;
}

fw_err fw_rpc_defer(fw_rpc_call *call, void (*fn)(void *), void *ptr, fw_error *err)
{
    deferred *d = malloc(sizeof(*d));
    if (!d) {
        fn(ptr);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    d->fn = fn;
    d->ptr = ptr;
    pthread_mutex_lock(&call->mu);
    d->next = call->defers;
    call->defers = d;
    pthread_mutex_unlock(&call->mu);
    return FW_OK;
}

/* --- client streams: reading ----------------------------------------------- */

static void recv_done(rpc_op *op, int ok)
{
    fw_rpc_call *c = op->call;
    pthread_mutex_lock(&c->mu);
    c->read_pending = 0;
    c->read_ok = ok;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    call_unref(c);
}

fw_err fw_rpc_read(fw_rpc_call *c, ProtobufCMessage **msg, fw_error *err)
{
    grpc_op op;
    grpc_byte_buffer *bb;
    *msg = NULL;
    if (!c->handler || c->handler->method->kind != FW_RPC_CLIENT_STREAM)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "fw_rpc_read on %s, not a client-streaming call",
                            fw_rpc_call_method(c));
    pthread_mutex_lock(&c->mu);
    if (c->read_eof) {
        pthread_mutex_unlock(&c->mu);
        return FW_OK;
    }
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->read_buf;
    c->op_recv.done = recv_done;
    c->op_recv.call = c;
    c->read_pending = 1;
    if (start_batch_locked(c, &op, 1, &c->op_recv) != 0) {
        c->read_pending = 0;
        pthread_mutex_unlock(&c->mu);
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "cannot read from the call");
    }
    while (c->read_pending)
        pthread_cond_wait(&c->cv, &c->mu);
    bb = c->read_buf;
    c->read_buf = NULL;
    if (!c->read_ok || (!bb && c->gone)) {
        fw_err code = gone_error(c, err);
        pthread_mutex_unlock(&c->mu);
        if (bb)
            grpc_byte_buffer_destroy(bb);
        return code;
    }
    if (!bb)
        c->read_eof = 1;
    pthread_mutex_unlock(&c->mu);
    if (!bb)
        return FW_OK;
    *msg = unpack_message(bb, fw_rpc_method_input(c->handler->method));
    grpc_byte_buffer_destroy(bb);
    if (!*msg)
        return fw_error_set(err, FW_ERR_INVALID, "request", "a streamed message is not a valid %s",
                            fw_rpc_method_input(c->handler->method)->name);
    return FW_OK;
}

/* --- server streams --------------------------------------------------------- */

fw_rpc_call *fw_rpc_stream_call(fw_rpc_stream *stream)
{
    return (fw_rpc_call *)stream;
}

fw_err fw_rpc_stream_send_wait(fw_rpc_stream *stream, const ProtobufCMessage *msg, int64_t timeout_ms,
                               fw_error *err)
{
    fw_rpc_call *c = (fw_rpc_call *)stream;
    size_t max = c->srv->queue_max;
    grpc_byte_buffer *bb;
    struct timespec deadline;

    if (!msg || msg->descriptor != fw_rpc_method_output(c->handler->method))
        return fw_error_set(err, FW_ERR_INVALID, "message", "%s streams %s messages", fw_rpc_call_method(c),
                            fw_rpc_method_output(c->handler->method)->name);
    if (timeout_ms > 0) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
    }
    bb = pack_message(msg);
    pthread_mutex_lock(&c->mu);
    for (;;) {
        if (c->gone || c->shutting || c->finish_requested || c->owner_released) {
            fw_err code = c->finish_requested || c->owner_released
                              ? fw_error_set(err, FW_ERR_INTERNAL, NULL, "the stream is already finished")
                              : gone_error(c, err);
            pthread_mutex_unlock(&c->mu);
            grpc_byte_buffer_destroy(bb);
            return code;
        }
        if (c->queue_len < max)
            break;
        if (timeout_ms == 0 ||
            (timeout_ms > 0 && pthread_cond_timedwait(&c->cv, &c->mu, &deadline) != 0 && c->queue_len >= max)) {
            pthread_mutex_unlock(&c->mu);
            grpc_byte_buffer_destroy(bb);
            return fw_error_set(err, FW_ERR_LIMIT, NULL, "the client is not keeping up: %zu messages are waiting",
                                max);
        }
        if (timeout_ms < 0)
            pthread_cond_wait(&c->cv, &c->mu);
    }
    c->queue[(c->queue_head + c->queue_len) % max] = bb;
    c->queue_len++;
    send_next_locked(c);
    pthread_mutex_unlock(&c->mu);
    return FW_OK;
}

fw_err fw_rpc_stream_send(fw_rpc_stream *stream, const ProtobufCMessage *msg, fw_error *err)
{
    return fw_rpc_stream_send_wait(stream, msg, 0, err);
}

void fw_rpc_stream_finish(fw_rpc_stream *stream, fw_err code, const fw_error *e)
{
    fw_rpc_call *c = (fw_rpc_call *)stream;
    pthread_mutex_lock(&c->mu);
    if (c->owner_released) {
        pthread_mutex_unlock(&c->mu);
        fw_log(FW_LOG_ERROR, "rpc", "fw_rpc_stream_finish called twice on %s", fw_rpc_call_method(c));
        return;
    }
    c->owner_released = 1;
    if (!c->finish_requested && !c->gone) {
        c->finish_requested = 1;
        c->finish_code = code;
        c->finish_text = code == FW_OK ? NULL : status_text(code, e);
        c->finish_retry_after = e ? e->retry_after_s : 0;
        send_next_locked(c);
    }
    pthread_mutex_unlock(&c->mu);
    call_unref(c);
}
