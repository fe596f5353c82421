/*
 * rpc.h - gRPC server dispatch over the gRPC C core, generic over protoc-c
 * services.
 *
 * A server is given the method table of its .proto files (see
 * proto/tools/rpc_method.h; //proto:framewright_methods) and one handler per
 * method path it implements. Methods without a handler answer UNIMPLEMENTED,
 * as do paths the server has never heard of.
 *
 * Threads: one poller thread drives the completion queue; handlers run on a
 * pool of worker threads, where blocking is fine. A server-streaming handler
 * does not have to stay on its thread: it may keep the stream after returning
 * and send from any thread later, so thousands of open watch streams cost
 * memory, not threads.
 *
 * Errors: a handler returns an fw_err and fills its fw_error; the client sees
 * fw_rpc_status_from_err(code) (rpc_status.h) and "field: message".
 *
 * Ownership, in one place:
 *  - the request passed to a handler belongs to the dispatcher and is freed
 *    when the handler returns; copy what you keep.
 *  - a unary / client-streaming response (*resp and everything it points to)
 *    must stay valid until the handler returns and is never freed by the
 *    dispatcher: build it in the call's arena (fw_rpc_alloc, fw_rpc_strdup) or
 *    register a cleanup with fw_rpc_defer, which runs after it was packed.
 *  - messages given to fw_rpc_stream_send are packed at once; the caller
 *    keeps them.
 *  - a message returned by fw_rpc_read belongs to the caller:
 *    protobuf_c_message_free_unpacked(msg, NULL).
 *  - the stream: see fw_rpc_server_stream_fn.
 */
#ifndef FW_API_RPC_H
#define FW_API_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/tools/rpc_method.h"
#include "server/util/error.h"

typedef struct fw_rpc_server fw_rpc_server;
typedef struct fw_rpc_call fw_rpc_call;
typedef struct fw_rpc_stream fw_rpc_stream;

typedef struct fw_rpc_server_options {
    const char *listen;                 /* "127.0.0.1:0" picks a free port */
    const char *tls_cert_file;          /* PEM chain; with tls_key_file: TLS, else plaintext */
    const char *tls_key_file;
    const fw_rpc_method *methods;       /* the method table, e.g. fw_framewright_methods */
    size_t method_count;
    int threads;                        /* worker threads; 0: 8 */
    size_t stream_queue_max;            /* messages queued per stream; 0: 64 */
    int64_t shutdown_grace_ms;          /* how long stop waits for calls to end by themselves before
                                           cancelling them; 0: 5000 */
    size_t max_message_bytes;           /* largest request message; 0: 16 MiB */
} fw_rpc_server_options;

/* One request, one response. Runs on a worker thread. Set *resp on FW_OK. */
typedef fw_err (*fw_rpc_unary_fn)(fw_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                  fw_error *err);

/* One request, many responses. Runs on a worker thread.
 * Returning an error: the dispatcher ends the stream with it; the handler
 * must not touch the stream again (even if it sent messages first).
 * Returning FW_OK: the handler's code now owns the stream - it sends with
 * fw_rpc_stream_send from any thread, and must end its ownership exactly once
 * with fw_rpc_stream_finish, also when the client has gone away (the on_gone
 * callback says so). It may finish before returning. */
typedef fw_err (*fw_rpc_server_stream_fn)(fw_rpc_call *call, const ProtobufCMessage *req, fw_rpc_stream *stream,
                                          fw_error *err);

/* The client of an owned stream went away (cancelled, past its deadline,
 * disconnected) or the server is stopping. Called at most once per stream,
 * only after the handler returned FW_OK and only if fw_rpc_stream_finish has
 * not been called yet - but it may race with a finish on another thread, so
 * find the stream in your own table under your own lock; the stream pointer
 * stays valid while the callback runs. Runs on the poller thread (or the
 * thread calling fw_rpc_server_stop): do not block; calling
 * fw_rpc_stream_finish from inside is fine. ctx is the registration's. */
typedef void (*fw_rpc_gone_fn)(fw_rpc_stream *stream, void *ctx);

/* Many requests (read with fw_rpc_read), one response. Worker thread. */
typedef fw_err (*fw_rpc_client_stream_fn)(fw_rpc_call *call, ProtobufCMessage **resp, fw_error *err);

/* Create the server and bind its port (reported by fw_rpc_server_port). */
fw_err fw_rpc_server_new(fw_rpc_server **out, const fw_rpc_server_options *opts, fw_error *err);

/* Register handlers, before fw_rpc_server_start. path must be in the method
 * table with the matching kind. ctx is given back by fw_rpc_call_context. */
fw_err fw_rpc_server_on_unary(fw_rpc_server *srv, const char *path, fw_rpc_unary_fn fn, void *ctx, fw_error *err);
fw_err fw_rpc_server_on_server_stream(fw_rpc_server *srv, const char *path, fw_rpc_server_stream_fn fn,
                                      fw_rpc_gone_fn on_gone, void *ctx, fw_error *err);
fw_err fw_rpc_server_on_client_stream(fw_rpc_server *srv, const char *path, fw_rpc_client_stream_fn fn, void *ctx,
                                      fw_error *err);

int fw_rpc_server_port(const fw_rpc_server *srv);
fw_err fw_rpc_server_start(fw_rpc_server *srv, fw_error *err);

/* Stop accepting calls; let running unary and client-streaming calls finish
 * (cancelled after shutdown_grace_ms); end open server streams with
 * UNAVAILABLE (their owners get on_gone and must fw_rpc_stream_finish);
 * return when every call is gone. Idempotent. */
void fw_rpc_server_stop(fw_rpc_server *srv);

/* Stop if needed, then free everything; *srv becomes NULL. */
void fw_rpc_server_free(fw_rpc_server **srv);

/* --- the call, for handlers ---------------------------------------------- */

const char *fw_rpc_call_method(const fw_rpc_call *call);   /* "/pkg.Service/Method" */
void *fw_rpc_call_context(const fw_rpc_call *call);        /* the registration's ctx */
const char *fw_rpc_call_peer(const fw_rpc_call *call);     /* "ipv4:127.0.0.1:5555" */

/* The first value of request metadata key (lower-case, e.g. "authorization"),
 * NUL-terminated and valid for the call's lifetime; NULL if absent. */
const char *fw_rpc_call_metadata(fw_rpc_call *call, const char *key);

/* The token of "authorization: Bearer TOKEN", or NULL. */
const char *fw_rpc_call_bearer_token(fw_rpc_call *call);

/* Milliseconds until the client's deadline (<= 0: passed); INT64_MAX when the
 * client set none. */
int64_t fw_rpc_call_deadline_ms(const fw_rpc_call *call);

/* Nonzero once the client has gone away (cancel, deadline, disconnect). */
int fw_rpc_call_cancelled(fw_rpc_call *call);

/* The user the handler authenticated (copied), for logs and later handlers. */
void fw_rpc_call_set_user(fw_rpc_call *call, const char *user);
const char *fw_rpc_call_user(fw_rpc_call *call);

/* Zeroed memory / a copy of s, freed with the call. NULL when out of memory. */
void *fw_rpc_alloc(fw_rpc_call *call, size_t size);
char *fw_rpc_strdup(fw_rpc_call *call, const char *s);

/* Run fn(ptr) when the call is done (after its response was packed). */
fw_err fw_rpc_defer(fw_rpc_call *call, void (*fn)(void *), void *ptr, fw_error *err);

/* Client streaming: the next request message in *msg (caller frees it with
 * protobuf_c_message_free_unpacked), or *msg = NULL at the end of the stream.
 * Blocks. Errors: FW_ERR_CANCELLED / FW_ERR_DEADLINE when the client is
 * gone, FW_ERR_INVALID when a message does not decode. */
fw_err fw_rpc_read(fw_rpc_call *call, ProtobufCMessage **msg, fw_error *err);

/* --- server streams ------------------------------------------------------ */

/* The call of a stream (metadata, context, user), valid while owned. */
fw_rpc_call *fw_rpc_stream_call(fw_rpc_stream *stream);

/* Queue msg (packed now; the caller keeps msg); messages go out in order.
 * Never blocks. FW_ERR_LIMIT when stream_queue_max messages are waiting (a
 * slow client); FW_ERR_CANCELLED / FW_ERR_DEADLINE / FW_ERR_UNAVAILABLE once
 * the client is gone or the server stops; FW_ERR_INVALID if msg is not the
 * method's response type. */
fw_err fw_rpc_stream_send(fw_rpc_stream *stream, const ProtobufCMessage *msg, fw_error *err);

/* Like fw_rpc_stream_send, but waits up to timeout_ms (-1: no limit) for room
 * in a full queue. For producers that may block. */
fw_err fw_rpc_stream_send_wait(fw_rpc_stream *stream, const ProtobufCMessage *msg, int64_t timeout_ms,
                               fw_error *err);

/* End the stream after the queued messages: status from code (and e, may be
 * NULL when code is FW_OK). Ends the owner's ownership: the stream must not be
 * used afterwards. Harmless when the client is already gone. */
void fw_rpc_stream_finish(fw_rpc_stream *stream, fw_err code, const fw_error *e);

#endif
