/*
 * rpc_status.h - fw_err <-> gRPC status code, in one table.
 *
 * The server answers a failed call with fw_rpc_status_from_err(code) and the
 * message "field: message"; the client turns the status back with
 * fw_rpc_status_to_err and splits the field off again.
 */
#ifndef FW_API_RPC_STATUS_H
#define FW_API_RPC_STATUS_H

#include "server/util/error.h"

/* The gRPC status code (grpc_status_code's value) for an fw_err. */
int fw_rpc_status_from_err(fw_err code);

/* The fw_err for a gRPC status code; codes we never send map to the nearest. */
fw_err fw_rpc_status_to_err(int status);

/* Fill e from a status received by a client: the code mapped back, and a
 * "field: message" text split into field and message when the part before
 * ": " looks like a field path. Returns the code. */
fw_err fw_rpc_status_to_error(fw_error *e, int status, const char *text);

#endif
