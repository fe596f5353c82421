/*
 * rpc_method.h - what protoc-c does not say about a gRPC method.
 *
 * protoc-c's ProtobufCServiceDescriptor names each method and its message
 * types but has no streaming flags. c_proto_methods (methods.bzl) reads the
 * .proto files at build time and emits one table of fw_rpc_method per set of
 * files; the RPC layer dispatches on it.
 */
#ifndef FW_PROTO_RPC_METHOD_H
#define FW_PROTO_RPC_METHOD_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef enum fw_rpc_kind {
    FW_RPC_UNARY = 0,
    FW_RPC_SERVER_STREAM, /* one request, a stream of responses */
    FW_RPC_CLIENT_STREAM, /* a stream of requests, one response */
    FW_RPC_BIDI_STREAM,
} fw_rpc_kind;

typedef struct fw_rpc_method {
    const char *path; /* "/framewright.v1.JobService/WatchJob" */
    fw_rpc_kind kind;
    const ProtobufCServiceDescriptor *service;
    unsigned method_index; /* into service->methods */
} fw_rpc_method;

/* The method's request and response message descriptors. */
static inline const ProtobufCMessageDescriptor *fw_rpc_method_input(const fw_rpc_method *m)
{
    return m->service->methods[m->method_index].input;
}

static inline const ProtobufCMessageDescriptor *fw_rpc_method_output(const fw_rpc_method *m)
{
    return m->service->methods[m->method_index].output;
}

/* The entry for path in table[0..count), or NULL. */
static inline const fw_rpc_method *fw_rpc_method_find(const fw_rpc_method *table, size_t count, const char *path)
{
    for (size_t i = 0; i < count; i++)
        if (__builtin_strcmp(table[i].path, path) == 0)
            return &table[i];
    return NULL;
}

#endif
