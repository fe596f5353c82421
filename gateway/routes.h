/*
 * routes.h - the gateway's route table, inside gateway/ only: what each
 * /api/v2 path calls and how its request message is made (routes.c).
 */
#ifndef FW_GATEWAY_ROUTES_H
#define FW_GATEWAY_ROUTES_H

#include "gateway/gateway.h"

typedef enum fw_route_kind {
    FW_ROUTE_UNARY,    /* one request, one JSON answer */
    FW_ROUTE_UPLOAD,   /* the body is a file, streamed to a client stream */
    FW_ROUTE_DOWNLOAD, /* a server stream of chunks, written as the body */
    FW_ROUTE_EVENTS,   /* a server stream of messages, as Server-Sent Events */
    FW_ROUTE_PICTURE,  /* one request, the answer's bytes as the body, typed by its content_type */
} fw_route_kind;

typedef enum fw_route_body {
    FW_BODY_NONE,      /* the request comes from the path and the query */
    FW_BODY_JSON,      /* the body is the request message as JSON */
    FW_BODY_RAW,       /* the body is bytes (an upload) */
    FW_BODY_MULTIPART, /* multipart/form-data: text parts are fields, the file part the bytes field */
} fw_route_body;

typedef struct fw_gateway_param {
    const char *name;  /* in the URL */
    const char *field; /* the request field, by its .proto name */
} fw_gateway_param;

struct fw_gateway_route {
    const char *method;
    const char *pattern; /* "/api/v2/jobs/{id}/cancel" */
    fw_route_kind kind;
    const char *rpc; /* "/framewright.v1.JobService/CancelJob" */
    const ProtobufCMessageDescriptor *req, *resp;
    fw_route_body body;
    unsigned ok_status;            /* 200, 201 or 204 (no body) */
    const char *list_field;        /* answer this repeated field as a bare array (Nexrender's lists) */
    const fw_gateway_param *params; /* the query parameters taken */
    /* A second placeholder after {id} ("/templates/{id}/frames/{n}"): the
     * field it fills, read like a query parameter of that name. The
     * matched id then holds both values, "ID/N" ('/' is in no segment). */
    const char *path_field;
};

/* Set m's non-repeated string field `name` to a copy of value (nothing when
 * m has no such field). */
fw_err fw_gateway_set_string(ProtobufCMessage *m, const char *name, const char *value, fw_error *err);

/* Hand data (malloc'd, len bytes) to m's first bytes field; freed with m.
 * FW_ERR_INVALID (data freed) when m has none. */
fw_err fw_gateway_set_bytes(ProtobufCMessage *m, unsigned char *data, size_t len);

#endif
