/*
 * fw_serve.h - a real `framewright serve` for C tests that talk to it over
 * sockets: started on free ports with a fresh data folder in the test's
 * temporary folder, in a process group of its own (so its workers go with
 * it), and stopped with SIGTERM.
 */
#ifndef FW_TESTS_SERVE_H
#define FW_TESTS_SERVE_H

#include <sys/types.h>

typedef struct fw_test_server {
    pid_t pid;
    char dir[1024];  /* data/, serve.out and serve.log are in it */
    char grpc[64];   /* "127.0.0.1:PORT" */
    char key[128];   /* the first API key */
    char api[128];   /* "http://127.0.0.1:PORT/api/v2" when started with the gateway */
} fw_test_server;

/* Start binary (a runfiles path) with `workers` workers and, when with_api,
 * the REST gateway; wait up to a minute for its address and key. 0 or -1. */
int fw_test_server_start(fw_test_server *s, const char *binary, int workers, int with_api);

/* SIGTERM, then up to grace_ms for it to end, then SIGKILL to its group. */
void fw_test_server_stop(fw_test_server *s, int grace_ms);

/* Copy its log (stderr) to the test's stderr, for a failure's story. */
void fw_test_server_print_log(const fw_test_server *s);

void fw_test_sleep_ms(int ms);

#endif
