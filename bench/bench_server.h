/*
 * bench_server.h - what the API benchmarks share: a `framewright serve` of
 * their own (no workers, so the machine goes to the API), a template
 * uploaded to it, a clock and percentiles.
 */
#ifndef FW_BENCH_SERVER_H
#define FW_BENCH_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "client/rpc_client.h"
#include "server/util/error.h"

typedef struct fw_bench_server {
    pid_t pid;
    char data[4096];   /* its scratch data folder; serve.log is in it */
    char grpc[128];    /* "127.0.0.1:PORT" */
    char key[128];     /* the first API key */
    char rest[256];    /* "http://127.0.0.1:PORT/api/v2" when started with the gateway, else "" */
} fw_bench_server;

/* Start `binary serve --workers 0` on a fresh data folder; database NULL:
 * SQLite in it; with_api: the REST gateway too. Waits (a minute at most) for
 * the address and key it prints. 0 on success, -1 when it did not start. */
int fw_bench_server_start(fw_bench_server *s, const char *binary, const char *database, int with_api);

/* `binary worker` on the server's store and data folder, its output in
 * DATA/worker-INDEX.log; pinned to core index % cores when cores > 1.
 * The pid, or -1. */
pid_t fw_bench_worker_start(const fw_bench_server *s, const char *binary, int index, int cores);

/* SIGTERM, wait, remove the data folder. 0 when serve exited cleanly. */
int fw_bench_server_stop(fw_bench_server *s);

/* A client of the server, with its key and a deadline per call. */
fw_err fw_bench_connect(const fw_bench_server *s, int64_t timeout_ms, fw_rpc_client **out, fw_error *err);

/* CreateTemplate + UploadTemplate of file as a "json" template named name;
 * the new template's id (caller frees), or NULL with err filled. */
char *fw_bench_upload_template(fw_rpc_client *c, const char *file, const char *name, fw_error *err);

/* Seconds on a monotonic clock. */
double fw_bench_now(void);

/* Sort values in place; then the p-th percentile (0..1) of them. */
void fw_bench_sort(double *values, size_t n);
double fw_bench_percentile(const double *sorted, size_t n, double p);

#endif
