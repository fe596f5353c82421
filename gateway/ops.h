/*
 * ops.h - the gateway's endpoints for operators, beside /api/v2 (ops.c):
 *
 *   GET /healthz  200 {"status":"ok"}: this process answers HTTP
 *   GET /readyz   200 {"status":"ready"} when the gRPC server's
 *                 grpc.health.v1.Health/Check("") says SERVING; else 503
 *                 {"status":"not ready","reason":...}
 *   GET /metrics  framewright.v1.OpsService/GetMetrics written as Prometheus
 *                 text (exposition format 0.0.4)
 *
 * None needs an API key. /metrics passes the request's Authorization on, so
 * when the server has FRAMEWRIGHT_METRICS_TOKEN set, the token is checked
 * there (one place, whether this gateway runs inside `serve` or alone) and a
 * missing or wrong one is a 401 here. The reason /readyz gives is generic on
 * purpose - the endpoint is open - and the server's log says what failed.
 */
#ifndef FW_GATEWAY_OPS_H
#define FW_GATEWAY_OPS_H

#include "client/rpc_client.h"
#include "proto/ops.pb-c.h"

typedef enum fw_ops_endpoint {
    FW_OPS_NONE = 0,
    FW_OPS_HEALTHZ,
    FW_OPS_READYZ,
    FW_OPS_METRICS,
} fw_ops_endpoint;

/* Which endpoint path is (the path alone, no query); FW_OPS_NONE for others. */
fw_ops_endpoint fw_gateway_ops_endpoint(const char *path);

typedef struct fw_ops_answer {
    unsigned status;
    char *body;            /* malloc'd; NULL when out of memory */
    const char *type;      /* Content-Type */
    const char *header;    /* one more header, or NULL */
    const char *value;
} fw_ops_answer;

/* Answer endpoint e (not FW_OPS_NONE) with the server at rpc; authorization
 * is the request's header as sent, or NULL. */
void fw_gateway_ops_answer(fw_rpc_client *rpc, fw_ops_endpoint e, const char *authorization, fw_ops_answer *out);

/* The figures as Prometheus text: # HELP and # TYPE for every metric, then its
 * samples. A new string (free()), NULL when out of memory. */
char *fw_gateway_metrics_text(const Framewright__V1__Metrics *m);

#endif
