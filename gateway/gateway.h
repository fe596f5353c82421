/*
 * gateway.h - Nexrender Cloud's /api/v2 REST-JSON in front of our gRPC services.
 *
 * A client that speaks Nexrender Cloud switches to Framewright by changing the
 * base URL and the token: the gateway takes the same paths, camelCase bodies
 * and status codes, and turns each request into one gRPC call of
 * framewright.v1 (TemplateService, JobService, BatchService, FontService,
 * SecretService). It holds no business logic: bodies become messages and
 * messages become bodies through the generic converter (proto/json/pbjson.h),
 * `Authorization` is passed on as gRPC metadata, and a gRPC status becomes an
 * HTTP status through one table (fw_gateway_http_status).
 *
 * For operators, beside /api/v2 and without an API key: GET /healthz, /readyz
 * and /metrics (Prometheus text), see ops.h. At / the web dashboard, files
 * compiled in (static_files.h) that use /api/v2 with the user's key.
 *
 * Beyond Nexrender: GET /api/v2/jobs/{id}/events and /batches/{id}/events
 * stream WatchJob / WatchBatch as Server-Sent Events, and
 * GET /api/v2/templates/{id}/download streams the bundle;
 * GET /api/v2/templates/{id}/frames/{n} answers a frame drawn by the server
 * as image/png (GetTemplateFrame).
 *
 * Every handler blocks on a gRPC call, and event streams last as long as the
 * job, so each connection has its own thread (up to max_connections); a
 * shared pool would let one long stream stall the connections behind it.
 */
#ifndef FW_GATEWAY_GATEWAY_H
#define FW_GATEWAY_GATEWAY_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "server/util/error.h"

typedef struct fw_gateway fw_gateway;

typedef struct fw_gateway_options {
    const char *listen;          /* "127.0.0.1:8081"; port 0 picks a free one */
    const char *grpc_address;    /* the gRPC server, "127.0.0.1:50051" */
    const char *grpc_ca_file;    /* PEM roots when the gRPC server uses TLS; NULL: plaintext */
    unsigned max_connections;    /* 0: 512 */
    unsigned idle_timeout_s;     /* a connection silent this long is closed; 0: 60 */
    size_t max_json_bytes;       /* a JSON body; 0: 16 MiB */
    uint64_t max_upload_bytes;   /* a template bundle; 0: 512 MiB */
    size_t max_font_bytes;       /* a multipart font upload; 0: 64 MiB */
    int64_t rpc_timeout_ms;      /* unary calls and uploads; 0: 120 s */
    const char *tls_cert_file;   /* PEM certificate (chain) and key: HTTPS instead of HTTP; both or neither */
    const char *tls_key_file;
    const char *media_sources;   /* CSP sources the dashboard plays outputs from ("http://host:8080"); NULL: https: */
} fw_gateway_options;

/* Connect to the gRPC server (lazily: the first request does) and listen. */
fw_err fw_gateway_start(fw_gateway **out, const fw_gateway_options *opts, fw_error *err);

/* The port actually listened on. */
int fw_gateway_port(const fw_gateway *gw);

/* Stop listening, end open streams and connections, free; nulls *gw. */
void fw_gateway_stop(fw_gateway **gw);

/* The one table: an error code (a gRPC status mapped by client/rpc_client.h)
 * as an HTTP status. INVALID 400, UNAUTHENTICATED 401, PERMISSION 403,
 * NOT_FOUND 404, ALREADY_EXISTS and FAILED_PRECONDITION 409, LIMIT 413,
 * UNSUPPORTED 501, UNAVAILABLE 503, DEADLINE 504, anything else 500. */
unsigned fw_gateway_http_status(fw_err code);

/* The JSON error body for err: {"error": "field: message"}, plus
 * "details": [{"field", "message"}] for invalid input. Free with free(). */
char *fw_gateway_error_body(const fw_error *err);

/* ---- request parsing: the untrusted-input half, shared with the fuzzer --------------------- */

typedef struct fw_gateway_route fw_gateway_route;

#define FW_GATEWAY_ID_MAX 128

/* Find the route for method and path (no query string). Answers 200 with
 * *route and the path's {id} in id; 404 for an unknown path; 405 when the
 * path exists with other methods (listed in allow, "GET, PATCH"). */
unsigned fw_gateway_match(const char *method, const char *path, const fw_gateway_route **route,
                          char id[FW_GATEWAY_ID_MAX], char allow[64]);

/* The gRPC request message of a matched route from the path's id, the query
 * parameters (query: "name", "value", ..., NULL; NULL for none) and the JSON
 * body (body routes; len 0 reads as {}). Bad input fails with FW_ERR_INVALID
 * naming the field (a query parameter by its name in the URL). Routes whose
 * body is not JSON (uploads, multipart) get the message without the body.
 * Free *out with fw_pbjson_message_free(). */
fw_err fw_gateway_build_request(const fw_gateway_route *route, const char *id, const char *const *query,
                                const char *body, size_t len, ProtobufCMessage **out, fw_error *err);

/* Split a raw query string ("a=1&b=%20x") into the name/value list
 * fw_gateway_build_request takes, percent-decoding both ('+' is a space).
 * *out is one allocation, freed with free(). */
fw_err fw_gateway_parse_query(const char *query, char ***out, fw_error *err);

#endif
