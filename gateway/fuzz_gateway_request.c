/*
 * fuzz_gateway_request.c - libFuzzer on what a client controls before any
 * gRPC call: the request line (method, path, query string) and the body.
 *
 * Input: "METHOD PATH[?QUERY]\n" then the body. Routing must answer 200, 404
 * or 405; a matched route must build its request message or refuse with
 * FW_ERR_INVALID/FW_ERR_LIMIT naming a field - never crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "proto/json/pbjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size), *sp, *q;
    char line[2048], method[16], path[2048], id[FW_GATEWAY_ID_MAX], allow[64];
    const fw_gateway_route *route;
    ProtobufCMessage *msg = NULL;
    char **query = NULL;
    size_t n;
    unsigned status;
    fw_error err;

    if (!nl || (size_t)(nl - (const char *)data) >= sizeof(line))
        return 0;
    n = (size_t)(nl - (const char *)data);
    memcpy(line, data, n);
    line[n] = '\0';
    if (memchr(line, '\0', n) || !(sp = strchr(line, ' ')) || (size_t)(sp - line) >= sizeof(method))
        return 0;
    memcpy(method, line, (size_t)(sp - line));
    method[sp - line] = '\0';
    snprintf(path, sizeof(path), "%s", sp + 1);
    q = strchr(sp + 1, '?');
    if (q)
        path[q - (sp + 1)] = '\0';

    status = fw_gateway_match(method, path, &route, id, allow);
    if (status != 200 && status != 404 && status != 405)
        abort();
    if (status != 200)
        return 0;
    fw_error_clear(&err);
    if (fw_gateway_parse_query(q ? q + 1 : NULL, &query, &err) != FW_OK)
        return 0;
    if (fw_gateway_build_request(route, id, (const char *const *)query, nl + 1, size - n - 1, &msg, &err) == FW_OK) {
        char *text = NULL;
        if (!msg)
            abort();
        if (fw_pbjson_format(msg, 0, &text, &err) == FW_OK)
            free(text);
        fw_pbjson_message_free(&msg);
    } else if (msg || (err.code != FW_ERR_INVALID && err.code != FW_ERR_LIMIT && err.code != FW_ERR_NOMEM)) {
        abort();
    } else {
        char *body = fw_gateway_error_body(&err);
        free(body);
    }
    free(query);
    return 0;
}
