/*
 * rpc_client.c - synchronous gRPC calls over the C core (see rpc_client.h).
 *
 * Every call has its own pluck completion queue, so a call's operations are
 * waited for one tag at a time by the thread that owns the call. The status
 * batch (RECV_STATUS_ON_CLIENT) is started as soon as the call is, so a
 * server that ends a stream early is noticed on the next send or read.
 */
#include "client/rpc_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "server/api/rpc_status.h"

struct fw_rpc_client {
    grpc_channel *channel;
    char *token;
    int64_t timeout_ms;
};

/* One call in flight: shared by the unary path, readers and writers. */
typedef struct client_call {
    grpc_completion_queue *cq;
    grpc_call *call;
    const ProtobufCMessageDescriptor *resp_desc;
    grpc_metadata_array initial_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
    int status_started, status_received;
    int tag_status; /* addresses used as tags */
    int tag_op;
} client_call;

struct fw_rpc_reader {
    client_call c;
};

struct fw_rpc_writer {
    client_call c;
};

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
        buf[n] = '\0';
    else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

fw_err fw_rpc_client_new(fw_rpc_client **out, const fw_rpc_client_options *opts, fw_error *err)
{
    fw_rpc_client *c;
    grpc_channel_credentials *creds;
    grpc_arg arg;
    grpc_channel_args args = {0, NULL};

    *out = NULL;
    if (!opts->address || !*opts->address)
        return fw_error_set(err, FW_ERR_INVALID, "address", "a server address such as localhost:50051 is required");
    c = calloc(1, sizeof(*c));
    if (!c)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    c->token = opts->token ? strdup(opts->token) : NULL;
    c->timeout_ms = opts->timeout_ms;
    if (opts->ca_file) {
        char *roots = read_text_file(opts->ca_file);
        if (!roots) {
            free(c->token);
            free(c);
            return fw_error_set(err, FW_ERR_IO, "ca_file", "cannot read %s", opts->ca_file);
        }
        creds = grpc_ssl_credentials_create(roots, NULL, NULL, NULL);
        free(roots);
    } else {
        creds = grpc_insecure_credentials_create();
    }
    if (opts->tls_server_name) {
        arg.type = GRPC_ARG_STRING;
        arg.key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        arg.value.string = (char *)opts->tls_server_name;
        args.num_args = 1;
        args.args = &arg;
    }
    grpc_init();
    c->channel = grpc_channel_create(opts->address, creds, &args);
    grpc_channel_credentials_release(creds);
    *out = c;
    return FW_OK;
}

void fw_rpc_client_free(fw_rpc_client **pc)
{
    fw_rpc_client *c = pc ? *pc : NULL;
    if (!c)
        return;
    *pc = NULL;
    grpc_channel_destroy(c->channel);
    free(c->token);
    free(c);
    grpc_shutdown();
}

/* --- one call ---------------------------------------------------------------- */

static int wait_tag(client_call *cc, void *tag)
{
    grpc_event ev = grpc_completion_queue_pluck(cc->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static fw_err call_start(client_call *cc, fw_rpc_client *client, const char *method,
                         const ProtobufCMessageDescriptor *resp_desc, const fw_rpc_call_options *o, fw_error *err)
{
    int64_t ms = o && o->timeout_ms ? o->timeout_ms : client->timeout_ms;
    gpr_timespec deadline = ms > 0 ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN))
                                   : gpr_inf_future(GPR_CLOCK_REALTIME);
    grpc_op ops[2];

    memset(cc, 0, sizeof(*cc));
    cc->resp_desc = resp_desc;
    grpc_metadata_array_init(&cc->initial_md);
    grpc_metadata_array_init(&cc->trailing_md);
    cc->cq = grpc_completion_queue_create_for_pluck(NULL);
    cc->call = grpc_channel_create_call(client->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cc->cq,
                                        grpc_slice_from_static_string(method), NULL, deadline, NULL);
    if (!cc->call)
        return fw_error_set(err, FW_ERR_INTERNAL, "method", "cannot create a call to %s", method);

    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[0].data.recv_initial_metadata.recv_initial_metadata = &cc->initial_md;
    ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[1].data.recv_status_on_client.trailing_metadata = &cc->trailing_md;
    ops[1].data.recv_status_on_client.status = &cc->status;
    ops[1].data.recv_status_on_client.status_details = &cc->details;
    if (grpc_call_start_batch(cc->call, ops, 2, &cc->tag_status, NULL) != GRPC_CALL_OK)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "cannot start the call to %s", method);
    cc->status_started = 1;

    /* Initial metadata: the bearer token and any extra pairs. */
    {
        const char *token = o && o->token ? o->token : client->token;
        size_t extra = 0, n = 0;
        grpc_metadata *md;
        char *auth = NULL;
        grpc_op op;
        grpc_call_error rc;
        while (o && o->metadata && o->metadata[extra * 2] && o->metadata[extra * 2 + 1])
            extra++;
        md = calloc(extra + 1, sizeof(*md));
        if (!md)
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
        if (token && *token && (auth = malloc(strlen(token) + 8))) {
            sprintf(auth, "Bearer %s", token);
            md[n].key = grpc_slice_from_static_string("authorization");
            md[n++].value = grpc_slice_from_copied_string(auth);
        }
        for (size_t i = 0; i < extra; i++) {
            md[n].key = grpc_slice_from_copied_string(o->metadata[i * 2]);
            md[n++].value = grpc_slice_from_copied_string(o->metadata[i * 2 + 1]);
        }
        memset(&op, 0, sizeof(op));
        op.op = GRPC_OP_SEND_INITIAL_METADATA;
        op.data.send_initial_metadata.count = n;
        op.data.send_initial_metadata.metadata = md;
        rc = grpc_call_start_batch(cc->call, &op, 1, &cc->tag_op, NULL);
        if (rc == GRPC_CALL_OK)
            wait_tag(cc, &cc->tag_op);
        for (size_t i = 0; i < n; i++) {
            grpc_slice_unref(md[i].key);
            grpc_slice_unref(md[i].value);
        }
        free(md);
        free(auth);
        if (rc != GRPC_CALL_OK)
            return fw_error_set(err, FW_ERR_INTERNAL, NULL, "cannot send the metadata of %s", method);
    }
    return FW_OK;
}

/* Wait for the final status and turn it into an fw_err. */
static fw_err call_status(client_call *cc, fw_error *err)
{
    char *text;
    size_t n;
    fw_err code;
    if (!cc->status_received) {
        wait_tag(cc, &cc->tag_status);
        cc->status_received = 1;
    }
    if (cc->status == GRPC_STATUS_OK)
        return FW_OK;
    n = GRPC_SLICE_LENGTH(cc->details);
    text = malloc(n + 1);
    if (!text)
        return fw_error_set(err, fw_rpc_status_to_err(cc->status), NULL, "%s",
                            fw_strerror(fw_rpc_status_to_err(cc->status)));
    memcpy(text, GRPC_SLICE_START_PTR(cc->details), n);
    text[n] = '\0';
    code = fw_rpc_status_to_error(err, cc->status, text);
    free(text);
    /* RESOURCE_EXHAUSTED with retry-after is a quota: try again then. */
    for (size_t i = 0; code == FW_ERR_LIMIT && i < cc->trailing_md.count; i++) {
        const grpc_metadata *m = &cc->trailing_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "retry-after") == 0 && GRPC_SLICE_LENGTH(m->value) < 12) {
            char value[12];
            memcpy(value, GRPC_SLICE_START_PTR(m->value), GRPC_SLICE_LENGTH(m->value));
            value[GRPC_SLICE_LENGTH(m->value)] = '\0';
            code = FW_ERR_QUOTA;
            if (err) {
                err->code = FW_ERR_QUOTA;
                err->retry_after_s = atoi(value) > 0 ? atoi(value) : 1;
            }
        }
    }
    return code;
}

static void call_end(client_call *cc)
{
    if (cc->call) {
        if (cc->status_started && !cc->status_received) {
            grpc_call_cancel(cc->call, NULL);
            wait_tag(cc, &cc->tag_status);
        }
        grpc_call_unref(cc->call);
    }
    if (cc->status_started)
        grpc_slice_unref(cc->details);
    grpc_metadata_array_destroy(&cc->initial_md);
    grpc_metadata_array_destroy(&cc->trailing_md);
    if (cc->cq) {
        grpc_completion_queue_shutdown(cc->cq);
        grpc_completion_queue_pluck(cc->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        grpc_completion_queue_destroy(cc->cq);
    }
    memset(cc, 0, sizeof(*cc));
}

static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(n);
    grpc_byte_buffer *bb;
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

/* Send one message (and optionally close the sending side). Returns 0 when
 * the core accepted it. */
static int send_message(client_call *cc, const ProtobufCMessage *msg, int close)
{
    grpc_op ops[2];
    size_t n = 0;
    grpc_byte_buffer *bb = msg ? pack(msg) : NULL;
    int ok;
    memset(ops, 0, sizeof(ops));
    if (bb) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
    }
    if (close)
        ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ok = grpc_call_start_batch(cc->call, ops, n, &cc->tag_op, NULL) == GRPC_CALL_OK && wait_tag(cc, &cc->tag_op);
    if (bb)
        grpc_byte_buffer_destroy(bb);
    return ok ? 0 : -1;
}

/* Receive one message: 1 with *msg, 0 at the end of the stream, -1 on a
 * message that does not decode. */
static int recv_message(client_call *cc, ProtobufCMessage **msg)
{
    grpc_op op;
    grpc_byte_buffer *bb = NULL;
    grpc_byte_buffer_reader reader;
    grpc_slice all;
    *msg = NULL;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &bb;
    if (grpc_call_start_batch(cc->call, &op, 1, &cc->tag_op, NULL) != GRPC_CALL_OK)
        return 0;
    wait_tag(cc, &cc->tag_op);
    if (!bb)
        return 0;
    if (!grpc_byte_buffer_reader_init(&reader, bb)) {
        grpc_byte_buffer_destroy(bb);
        return -1;
    }
    all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    grpc_byte_buffer_destroy(bb);
    *msg = protobuf_c_message_unpack(cc->resp_desc, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    return *msg ? 1 : -1;
}

static fw_err bad_response(client_call *cc, fw_error *err)
{
    grpc_call_cancel(cc->call, NULL);
    return fw_error_set(err, FW_ERR_INTERNAL, "response", "the server's message is not a valid %s",
                        cc->resp_desc->name);
}

fw_err fw_rpc_client_unary(fw_rpc_client *client, const char *method, const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *resp_desc, const fw_rpc_call_options *copts,
                           ProtobufCMessage **resp, fw_error *err)
{
    client_call cc;
    fw_err code;
    int got = 0;
    *resp = NULL;
    code = call_start(&cc, client, method, resp_desc, copts, err);
    if (code == FW_OK) {
        send_message(&cc, req, 1);
        got = recv_message(&cc, resp);
        code = call_status(&cc, err);
        if (code == FW_OK && got <= 0)
            code = got < 0 ? bad_response(&cc, err)
                           : fw_error_set(err, FW_ERR_INTERNAL, "response", "the server answered no message");
    }
    if (code != FW_OK && *resp) {
        protobuf_c_message_free_unpacked(*resp, NULL);
        *resp = NULL;
    }
    call_end(&cc);
    return code;
}

fw_err fw_rpc_client_read_open(fw_rpc_client *client, const char *method, const ProtobufCMessage *req,
                               const ProtobufCMessageDescriptor *resp_desc, const fw_rpc_call_options *copts,
                               fw_rpc_reader **out, fw_error *err)
{
    fw_rpc_reader *r = calloc(1, sizeof(*r));
    fw_err code;
    *out = NULL;
    if (!r)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    code = call_start(&r->c, client, method, resp_desc, copts, err);
    if (code == FW_OK && send_message(&r->c, req, 1) != 0)
        code = call_status(&r->c, err);
    if (code != FW_OK) {
        fw_rpc_reader_free(&r);
        return code;
    }
    *out = r;
    return FW_OK;
}

fw_err fw_rpc_reader_next(fw_rpc_reader *r, ProtobufCMessage **msg, fw_error *err)
{
    int got = recv_message(&r->c, msg);
    if (got > 0)
        return FW_OK;
    if (got < 0)
        return bad_response(&r->c, err);
    return call_status(&r->c, err);
}

void fw_rpc_reader_cancel(fw_rpc_reader *r)
{
    grpc_call_cancel(r->c.call, NULL);
}

void fw_rpc_reader_free(fw_rpc_reader **pr)
{
    if (!pr || !*pr)
        return;
    call_end(&(*pr)->c);
    free(*pr);
    *pr = NULL;
}

fw_err fw_rpc_client_write_open(fw_rpc_client *client, const char *method,
                                const ProtobufCMessageDescriptor *resp_desc, const fw_rpc_call_options *copts,
                                fw_rpc_writer **out, fw_error *err)
{
    fw_rpc_writer *w = calloc(1, sizeof(*w));
    fw_err code;
    *out = NULL;
    if (!w)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    code = call_start(&w->c, client, method, resp_desc, copts, err);
    if (code != FW_OK) {
        fw_rpc_writer_free(&w);
        return code;
    }
    *out = w;
    return FW_OK;
}

fw_err fw_rpc_writer_send(fw_rpc_writer *w, const ProtobufCMessage *msg, fw_error *err)
{
    if (send_message(&w->c, msg, 0) == 0)
        return FW_OK;
    /* The server ended the call: its status says why. */
    if (call_status(&w->c, err) == FW_OK)
        return fw_error_set(err, FW_ERR_FAILED_PRECONDITION, NULL, "the server ended the call before the upload");
    return err ? err->code : FW_ERR_UNAVAILABLE;
}

fw_err fw_rpc_writer_finish(fw_rpc_writer *w, ProtobufCMessage **resp, fw_error *err)
{
    int got;
    fw_err code;
    *resp = NULL;
    send_message(&w->c, NULL, 1);
    got = recv_message(&w->c, resp);
    code = call_status(&w->c, err);
    if (code == FW_OK && got <= 0)
        code = got < 0 ? bad_response(&w->c, err)
                       : fw_error_set(err, FW_ERR_INTERNAL, "response", "the server answered no message");
    if (code != FW_OK && *resp) {
        protobuf_c_message_free_unpacked(*resp, NULL);
        *resp = NULL;
    }
    return code;
}

void fw_rpc_writer_free(fw_rpc_writer **pw)
{
    if (!pw || !*pw)
        return;
    call_end(&(*pw)->c);
    free(*pw);
    *pw = NULL;
}
