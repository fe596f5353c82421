/*
 * health.h - grpc.health.v1.Health: whether this server can do its work,
 * for load balancers, orchestrators and the gateway's /readyz.
 *
 * A monitor thread probes, once a second, what every call needs: the job
 * store (a cheap query, on a connection of its own so that a pool busy with
 * slow calls does not read as an outage) and the blob storage (a file
 * written in the local folder, or a HEAD of the S3 bucket). SERVING while
 * both answer, NOT_SERVING otherwise. Check answers from the last probe, so
 * it costs nothing however often it is asked, and is at most one interval
 * old; Watch sends the status at once and again whenever a probe changes it.
 *
 * The status is the server's as a whole: "" and the name of every service in
 * the server's method table ("framewright.v1.JobService", ...) are known and
 * share it. Other names are NOT_FOUND for Check and SERVICE_UNKNOWN for
 * Watch (whose stream then stays open, as the protocol asks).
 *
 * No API key: whoever can reach the port may ask. The answer says nothing
 * but the status; why a probe failed goes to the server's log only.
 *
 * Shutdown: fw_health_shutdown makes the status NOT_SERVING for good and
 * tells the watchers, so that balancers drain the server while the RPC
 * server's stop lets the calls in flight finish and ends the streams.
 */
#ifndef FW_API_HEALTH_H
#define FW_API_HEALTH_H

#include <stdint.h>

#include "server/api/rpc.h"
#include "server/storage/storage.h"
#include "server/util/error.h"

typedef struct fw_health fw_health;

typedef struct fw_health_options {
    const char *store_url;        /* the job store */
    fw_storage *storage;          /* the blob storage (the caller's, outlives the monitor) */
    const fw_rpc_method *methods; /* the server's method table: its services are the known names */
    size_t method_count;
    int64_t interval_ms;          /* between probes; 0: 1000 */
} fw_health_options;

/* Probe once (so the first Check is already right) and start the monitor. */
fw_err fw_health_new(fw_health **out, const fw_health_options *opts, fw_error *err);

/* Check and Watch on srv, before fw_rpc_server_start. */
fw_err fw_health_register(fw_rpc_server *srv, fw_health *health, fw_error *err);

/* 1 while the last probe found the store and the storage answering. */
int fw_health_serving(fw_health *health);

/* NOT_SERVING from now on, sent to every watcher. */
void fw_health_shutdown(fw_health *health);

/* Stop the monitor and end the streams still open (UNAVAILABLE); *health
 * becomes NULL. After fw_rpc_server_stop. */
void fw_health_free(fw_health **health);

#endif
