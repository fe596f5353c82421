/*
 * rpc_client.h - gRPC calls from C: the client half of server/api/rpc.h.
 *
 * Synchronous and generic over protoc-c messages: a call names its method
 * path ("/framewright.v1.JobService/GetJob") and the response's message
 * descriptor. A client (one channel) may be shared by threads; readers and
 * writers belong to one thread each. A failed call fills fw_error with the
 * server's status mapped back to fw_err (server/api/rpc_status.h) and the
 * server's "field: message" split into field and message.
 *
 * Ownership: requests stay the caller's; every response message returned is
 * the caller's, freed with protobuf_c_message_free_unpacked(msg, NULL).
 */
#ifndef FW_CLIENT_RPC_CLIENT_H
#define FW_CLIENT_RPC_CLIENT_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "server/util/error.h"

typedef struct fw_rpc_client fw_rpc_client;
typedef struct fw_rpc_reader fw_rpc_reader;
typedef struct fw_rpc_writer fw_rpc_writer;

typedef struct fw_rpc_client_options {
    const char *address;         /* "host:port" */
    const char *ca_file;         /* PEM roots: TLS; NULL: plaintext */
    const char *tls_server_name; /* the name the certificate must carry, when not the address's host */
    const char *token;           /* sent as "authorization: Bearer TOKEN"; may be NULL */
    int64_t timeout_ms;          /* default deadline per call; 0: none */
} fw_rpc_client_options;

/* Per-call overrides; pass NULL for the client's defaults. */
typedef struct fw_rpc_call_options {
    int64_t timeout_ms;             /* 0: the client's; < 0: no deadline */
    const char *token;              /* NULL: the client's */
    const char *const *metadata;    /* extra "key", "value", ..., NULL (keys lower-case) */
} fw_rpc_call_options;

fw_err fw_rpc_client_new(fw_rpc_client **out, const fw_rpc_client_options *opts, fw_error *err);
void fw_rpc_client_free(fw_rpc_client **client);

/* One request, one response (*resp of type resp_desc). */
fw_err fw_rpc_client_unary(fw_rpc_client *client, const char *method, const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *resp_desc, const fw_rpc_call_options *copts,
                           ProtobufCMessage **resp, fw_error *err);

/* Server streaming: send req, then read messages with fw_rpc_reader_next. */
fw_err fw_rpc_client_read_open(fw_rpc_client *client, const char *method, const ProtobufCMessage *req,
                               const ProtobufCMessageDescriptor *resp_desc, const fw_rpc_call_options *copts,
                               fw_rpc_reader **out, fw_error *err);

/* The next message in *msg; *msg = NULL with FW_OK when the server ended the
 * stream with OK; an error (the final status) otherwise. */
fw_err fw_rpc_reader_next(fw_rpc_reader *reader, ProtobufCMessage **msg, fw_error *err);

/* Cancel the call; the server sees the client go away. */
void fw_rpc_reader_cancel(fw_rpc_reader *reader);

/* Cancels the call if it is still open. */
void fw_rpc_reader_free(fw_rpc_reader **reader);

/* Client streaming: send messages, then fw_rpc_writer_finish for the response. */
fw_err fw_rpc_client_write_open(fw_rpc_client *client, const char *method,
                                const ProtobufCMessageDescriptor *resp_desc, const fw_rpc_call_options *copts,
                                fw_rpc_writer **out, fw_error *err);
fw_err fw_rpc_writer_send(fw_rpc_writer *writer, const ProtobufCMessage *msg, fw_error *err);
fw_err fw_rpc_writer_finish(fw_rpc_writer *writer, ProtobufCMessage **resp, fw_error *err);
void fw_rpc_writer_free(fw_rpc_writer **writer);

#endif
