/*
 * watch.h - the hub that feeds WatchJob and WatchJobs streams.
 *
 * Jobs change in other processes (workers) and other threads; the hub has
 * one thread and its own store connection that reads what changed since the
 * last look (woken by PostgreSQL's NOTIFY where there is one, every 100 ms
 * otherwise) and sends each change to the streams that watch it. Streams
 * cost memory, not threads: thousands of watchers share the one thread.
 *
 * Each watcher gets a job's states in order and never the same version
 * twice; a WatchJob stream ends (OK) after the job's final state.
 */
#ifndef FW_API_WATCH_H
#define FW_API_WATCH_H

#include "server/api/rpc.h"
#include "server/store/store.h"
#include "server/util/error.h"

typedef struct fw_watch_hub fw_watch_hub;

typedef struct fw_watch_filter {
    const char *job_id;        /* one job (WatchJob), or NULL */
    const char *status;        /* WatchJobs filters; NULL: any */
    const char *template_id;
    const char *batch_id;
} fw_watch_filter;

fw_err fw_watch_hub_new(fw_watch_hub **out, const char *store_url, fw_error *err);

/* Ends every stream still open (UNAVAILABLE) and stops the thread. */
void fw_watch_hub_free(fw_watch_hub **hub);

/* Register a stream the caller owns for the team's jobs matching filter;
 * the hub owns it from now on. For one job, store is used to read and send
 * its current state first (and the stream ends at once if it has ended). */
fw_err fw_watch_add(fw_watch_hub *hub, fw_rpc_stream *stream, const char *team_id, const fw_watch_filter *filter,
                    fw_store *store, fw_error *err);

/* A snapshot of a batch for a WatchBatch stream: a new message in *out
 * (freed by the hub) and *final = 1 when every job of the batch has ended. */
typedef fw_err (*fw_watch_snapshot_fn)(void *ctx, fw_store *store, const char *team_id, const char *batch_id,
                                       ProtobufCMessage **out, int *final, fw_error *err);

/* Register a stream that gets snapshot()'s answer now and again whenever a
 * job of the batch (or a child of one) changes - once per look at the
 * store, however many changed - and ends (OK) after a final snapshot. */
fw_err fw_watch_add_batch(fw_watch_hub *hub, fw_rpc_stream *stream, const char *team_id, const char *batch_id,
                          fw_watch_snapshot_fn snapshot, void *ctx, fw_store *store, fw_error *err);

/* The stream's client went away: the hub finishes and forgets it. */
void fw_watch_gone(fw_watch_hub *hub, fw_rpc_stream *stream);

/* At most limit streams open at once per team (0: no limit); one more is FW_ERR_QUOTA. */
void fw_watch_hub_set_team_limit(fw_watch_hub *hub, size_t limit);

/* Streams open now. */
size_t fw_watch_count(fw_watch_hub *hub);

#endif
