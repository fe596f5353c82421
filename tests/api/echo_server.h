/*
 * echo_server.h - the test service of tests/api: fwtest.Echo served by
 * server/api/rpc.h, shared by the C-client and the Python-client tests.
 */
#ifndef FW_TESTS_ECHO_SERVER_H
#define FW_TESTS_ECHO_SERVER_H

#include <pthread.h>

#include "server/api/rpc.h"

#define ECHO_MAX_HELD 64

typedef struct echo_server {
    fw_rpc_server *rpc;
    int port;
    pthread_mutex_t mu;
    fw_rpc_stream *held[ECHO_MAX_HELD]; /* Hold streams still owned */
    int held_count;
    int gone_count;      /* on_gone calls that found their stream */
    int say_cancelled;   /* Say handlers that saw their client go */
    int send_refused;    /* sends after on_gone that were refused, as they must be */
} echo_server;

/* Start on 127.0.0.1:0 (TLS when cert and key are non-NULL). */
fw_err echo_server_start(echo_server *s, const char *cert, const char *key, fw_error *err);

/* Stop and free; held streams are ended through on_gone. */
void echo_server_stop(echo_server *s);

int echo_server_gone_count(echo_server *s);
int echo_server_held_count(echo_server *s);

#endif
