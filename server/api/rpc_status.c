/*
 * rpc_status.c - the one table between fw_err and gRPC status codes.
 */
#include "server/api/rpc_status.h"

#include <stdio.h>
#include <string.h>

#include <grpc/status.h>

/* Rows marked `back` are the answer when a status is turned back into an
 * fw_err; the first row for an fw_err is the status sent for it. */
static const struct {
    fw_err code;
    grpc_status_code status;
    int back;
} status_table[] = {
    {FW_OK, GRPC_STATUS_OK, 1},
    {FW_ERR_INVALID, GRPC_STATUS_INVALID_ARGUMENT, 1},
    {FW_ERR_NOT_FOUND, GRPC_STATUS_NOT_FOUND, 1},
    {FW_ERR_UNSUPPORTED, GRPC_STATUS_UNIMPLEMENTED, 1},
    {FW_ERR_LIMIT, GRPC_STATUS_RESOURCE_EXHAUSTED, 1},
    {FW_ERR_ALREADY_EXISTS, GRPC_STATUS_ALREADY_EXISTS, 1},
    {FW_ERR_FAILED_PRECONDITION, GRPC_STATUS_FAILED_PRECONDITION, 1},
    {FW_ERR_UNAUTHENTICATED, GRPC_STATUS_UNAUTHENTICATED, 1},
    {FW_ERR_PERMISSION, GRPC_STATUS_PERMISSION_DENIED, 1},
    {FW_ERR_CANCELLED, GRPC_STATUS_CANCELLED, 1},
    {FW_ERR_DEADLINE, GRPC_STATUS_DEADLINE_EXCEEDED, 1},
    {FW_ERR_UNAVAILABLE, GRPC_STATUS_UNAVAILABLE, 1},
    {FW_ERR_INTERNAL, GRPC_STATUS_INTERNAL, 1},
    {FW_ERR_QUOTA, GRPC_STATUS_RESOURCE_EXHAUSTED, 0}, /* told apart by its retry-after metadata */
    /* Server-side causes a client cannot tell apart. */
    {FW_ERR_IO, GRPC_STATUS_INTERNAL, 0},
    {FW_ERR_NETWORK, GRPC_STATUS_UNAVAILABLE, 0},
    {FW_ERR_NOMEM, GRPC_STATUS_RESOURCE_EXHAUSTED, 0},
    /* Statuses other gRPC peers may send. */
    {FW_ERR_INTERNAL, GRPC_STATUS_UNKNOWN, 1},
    {FW_ERR_FAILED_PRECONDITION, GRPC_STATUS_ABORTED, 1},
    {FW_ERR_INVALID, GRPC_STATUS_OUT_OF_RANGE, 1},
    {FW_ERR_INTERNAL, GRPC_STATUS_DATA_LOSS, 1},
};

#define STATUS_ROWS (sizeof(status_table) / sizeof(status_table[0]))

int fw_rpc_status_from_err(fw_err code)
{
    for (size_t i = 0; i < STATUS_ROWS; i++)
        if (status_table[i].code == code)
            return status_table[i].status;
    return GRPC_STATUS_INTERNAL;
}

fw_err fw_rpc_status_to_err(int status)
{
    for (size_t i = 0; i < STATUS_ROWS; i++)
        if (status_table[i].back && (int)status_table[i].status == status)
            return status_table[i].code;
    return FW_ERR_INTERNAL;
}

/* A field path: letters, digits and _ . [ ] only ("assets[2].layerName"). */
static int looks_like_field(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]", s[i]))
            return 0;
    return 1;
}

fw_err fw_rpc_status_to_error(fw_error *e, int status, const char *text)
{
    fw_err code = fw_rpc_status_to_err(status);
    const char *sep;
    if (!text)
        text = "";
    sep = strstr(text, ": ");
    if (sep && looks_like_field(text, (size_t)(sep - text))) {
        char field[FW_ERROR_FIELD_MAX];
        snprintf(field, sizeof(field), "%.*s", (int)(sep - text), text);
        return fw_error_set(e, code, field, "%s", sep + 2);
    }
    return fw_error_set(e, code, NULL, "%s", *text ? text : fw_strerror(code));
}
