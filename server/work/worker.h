/*
 * worker.h - a render worker: takes queued jobs from the store and renders
 * them, one at a time, until told to stop.
 *
 * A worker is its own process (`framewright worker`, or one of the
 * processes `framewright serve` starts), so a crash inside a render takes
 * down one worker and one attempt, never the server. For each job:
 *
 *   claim (a lease) -> fetch the template from blob storage -> render
 *   (server/work/render_job.c) -> store the output -> complete
 *
 * and all the while a heartbeat thread renews the lease, writes progress and
 * notices a cancellation (the render then stops within a frame and its
 * partial files are removed). A job whose failure is the job's own (a bad
 * asset, a missing layer) ends in error at once; a failure of ours (storage,
 * network, disk) hands the job back for another attempt, up to a limit.
 */
#ifndef FW_WORK_WORKER_H
#define FW_WORK_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "server/storage/storage.h"
#include "server/util/error.h"

typedef struct fw_worker_config {
    const char *store_url;
    fw_storage *storage;           /* where templates are read and outputs written */
    const char *scratch_dir;       /* NULL: $TMPDIR or /tmp */
    const char *name;              /* the lease holder's name; NULL: "host:pid" */
    int64_t lease_ms;              /* 0: 30 s */
    int max_attempts;              /* 0: 3 */
    /* A job or chunk handed back after a failure of ours is not claimed
     * again for this long after its first attempt, doubled after each
     * further one (at most 5 min); 0: at once. */
    int64_t retry_ms;
    int64_t idle_poll_ms;          /* 0: 500 ms between looks at an empty queue */
    const char *default_font;      /* NULL: the text module's */
    const unsigned char *secrets_key; /* 32 bytes opening team secrets; NULL: jobs with secrets fail */
    const atomic_int *stop;        /* non-zero: hand back the job in hand and return */
    double max_clip_seconds;       /* video and audio assets; 0: the render's defaults */
    int max_clip_side;
    uint64_t max_media_bytes;
    int team_renders;             /* a team's jobs rendering at once, farm-wide; 0: no limit */
    /* A long video is rendered in chunks that any worker may take: frames
     * per chunk, rounded up to whole keyframe intervals; 0: about 4 s;
     * < 0: never split. */
    int chunk_frames;
    /* The render cache's bound in bytes (outputs and chunk segments kept by
     * the digest of their inputs, per team); 0: no cache. */
    int64_t cache_bytes;
} fw_worker_config;

/* The chunks of a split render, segments (in storage) and rows, removed:
 * the job is over. The store is tried again while it does not answer, up
 * to a few minutes or *stop. */
struct fw_store;
void fw_worker_drop_chunks(struct fw_store *store, fw_storage *storage, const char *job_id, const atomic_int *stop);

/* Render jobs until *stop. */
fw_err fw_worker_run(const fw_worker_config *config, fw_error *err);

/* Take and render at most one job; *worked says whether there was one. */
fw_err fw_worker_run_once(const fw_worker_config *config, int *worked, fw_error *err);

#endif
