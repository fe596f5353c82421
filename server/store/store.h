/*
 * store.h - the job store: teams, API keys, templates and jobs.
 *
 * One interface, two backends: SQLite (a file in the data folder, WAL mode,
 * shared by the server and worker processes of one machine) by default, and
 * PostgreSQL when a database URL is given, so that workers on many machines
 * share one queue. Both apply the same schema migrations at open.
 *
 * What lives here is metadata only; template bundles, fonts and outputs live
 * in blob storage (server/storage) under the keys recorded here.
 *
 * Every object belongs to a team; every team-facing call takes the team id
 * and finds nothing of other teams (FW_ERR_NOT_FOUND, never a hint that the
 * object exists). Worker-facing calls (claim, heartbeat, finish, release,
 * reap) act across teams.
 *
 * Jobs change state only through the calls below, each one transaction.
 * Every change of a job bumps its `version` from one store-wide sequence, so
 * watchers can ask "what changed since version V" (fw_store_job_changes).
 *
 * Times are milliseconds since the Unix epoch; 0 means "not set".
 * A fw_store is used by one thread at a time: open one per thread.
 */
#ifndef FW_STORE_STORE_H
#define FW_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "server/util/error.h"

#define FW_ID_SIZE 32 /* ids are ULIDs: 26 characters and a NUL, with room */

/* Job statuses, exactly as Nexrender Cloud names them. */
#define FW_STATUS_QUEUED "queued"
#define FW_STATUS_PENDING "pending"
#define FW_STATUS_RENDERING "render:dorender"
#define FW_STATUS_FINISHED "finished"
#define FW_STATUS_ERROR "error"
#define FW_STATUS_CANCELLED "manually_cancelled"

/* Template statuses. */
#define FW_TEMPLATE_AWAITING_UPLOAD "awaiting_upload"
#define FW_TEMPLATE_PROCESSING "processing"
#define FW_TEMPLATE_UPLOADED "uploaded"
#define FW_TEMPLATE_ERROR "error"

typedef struct fw_store fw_store;

/* url: "postgres://..." or "postgresql://..." for PostgreSQL (libpq
 * connection URI); anything else is a SQLite file path ("sqlite:" prefix
 * optional). Creates the database file if needed and applies migrations. */
fw_err fw_store_open(fw_store **out, const char *url, fw_error *err);
void fw_store_close(fw_store **store);
const char *fw_store_kind(const fw_store *store); /* "sqlite" or "postgres" */

/* Report each SQL statement's duration to fn: from its start until its
 * rows have been read (BEGIN and COMMIT are not statements here). Called on
 * the thread using the store; fn must be safe to call from every store it
 * is set on. NULL stops the reports. */
typedef void (*fw_store_timing_fn)(void *ctx, double seconds);
void fw_store_set_timing(fw_store *s, fw_store_timing_fn fn, void *ctx);

/* ---- teams and API keys ---------------------------------------------------------------------- */

/* The team called name, created when missing; its id into id. */
fw_err fw_store_team_ensure(fw_store *s, const char *name, char id[FW_ID_SIZE], fw_error *err);

/* Record a key: its SHA-256 (hex) and a short prefix shown in listings. */
fw_err fw_store_key_add(fw_store *s, const char *team_id, const char *key_hash, const char *prefix, fw_error *err);

/* The team owning the key with this hash; FW_ERR_NOT_FOUND when none. */
fw_err fw_store_key_team(fw_store *s, const char *key_hash, char team_id[FW_ID_SIZE], fw_error *err);

/* How many keys exist (0 on a fresh data folder). */
fw_err fw_store_key_count(fw_store *s, int64_t *count, fw_error *err);

/* ---- templates ------------------------------------------------------------------------------- */

typedef struct fw_template_row {
    char id[FW_ID_SIZE];
    char team_id[FW_ID_SIZE];
    char type[16];            /* json, lottie, zip (or what the client declared) */
    char status[24];          /* FW_TEMPLATE_* */
    char *display_name;       /* owned, never NULL after a read */
    char *error;              /* owned; NULL when none */
    char *details_json;       /* owned; the introspection (TemplateDetails as JSON); NULL until uploaded */
    char storage_key[256];    /* where the bundle is in blob storage; "" until uploaded */
    int64_t size;             /* bytes of the bundle */
    int64_t created_at, updated_at;
    int version;              /* the current version (its bundle is the one above); 0 until uploaded */
} fw_template_row;

/* One uploaded bundle of a template. */
typedef struct fw_template_version_row {
    char template_id[FW_ID_SIZE];
    int version;
    char type[16];
    char storage_key[256];
    char *details_json;       /* owned; NULL when none */
    int64_t size;
    int64_t created_at;
    int64_t unfinished_jobs;  /* jobs not yet ended that render it (filled by the list) */
} fw_template_version_row;

void fw_template_version_rows_free(fw_template_version_row **rows, size_t count);

/* Frees what a row owns and zeroes it. */
void fw_template_row_clear(fw_template_row *row);

fw_err fw_store_template_insert(fw_store *s, const fw_template_row *row, fw_error *err);
fw_err fw_store_template_get(fw_store *s, const char *team_id, const char *id, fw_template_row *out, fw_error *err);
/* Newest first; after_id (NULL for the first page) is the last id of the
 * previous page. *rows is an array of *count rows, freed with
 * fw_template_rows_free. */
fw_err fw_store_template_list(fw_store *s, const char *team_id, int limit, const char *after_id, fw_template_row **rows,
                              size_t *count, fw_error *err);
void fw_template_rows_free(fw_template_row **rows, size_t count);
/* Writes every mutable field (display_name, status, error, details_json,
 * storage_key, size, type) and sets updated_at. */
fw_err fw_store_template_update(fw_store *s, const fw_template_row *row, fw_error *err);
/* FW_ERR_FAILED_PRECONDITION when jobs that have not ended use it. */
fw_err fw_store_template_delete(fw_store *s, const char *team_id, const char *id, fw_error *err);

/* A new current version of the template from row's type, storage_key,
 * details_json and size, in one transaction: the next number (1 for the
 * first upload) into row->version, status uploaded. The previous versions
 * stay for the jobs that name them. */
fw_err fw_store_template_publish(fw_store *s, fw_template_row *row, fw_error *err);
/* Every version of a team's template, newest first, each with the count of
 * its jobs that have not ended. */
fw_err fw_store_template_versions(fw_store *s, const char *team_id, const char *id, fw_template_version_row **rows,
                                  size_t *count, fw_error *err);
fw_err fw_store_template_version_get(fw_store *s, const char *team_id, const char *id, int version,
                                     fw_template_version_row *out, fw_error *err);
/* Removes a version that is not the current one and no unfinished job
 * renders (FW_ERR_FAILED_PRECONDITION otherwise); its storage key into
 * storage_key, for the caller to delete the bundle. */
fw_err fw_store_template_version_delete(fw_store *s, const char *team_id, const char *id, int version,
                                        char storage_key[256], fw_error *err);

/* ---- jobs ------------------------------------------------------------------------------------ */

typedef struct fw_job_row {
    char id[FW_ID_SIZE];
    char team_id[FW_ID_SIZE];
    char template_id[FW_ID_SIZE]; /* "" when the job names template.src */
    char parent_id[FW_ID_SIZE];   /* "" unless a child of a nested or join job */
    char batch_id[FW_ID_SIZE];    /* "" unless part of a batch */
    char kind[16];                /* "render" or "join" */
    char status[24];              /* FW_STATUS_* */
    double progress;              /* 0..100 */
    char *request_json;           /* owned; the job as submitted (JobRequest / JoinJobRequest as JSON) */
    char *error;                  /* owned; NULL when none */
    char *missing_fonts_json;     /* owned; JSON array of names, or {"missing": [names], "substitutes":
                                     [{font, family, style, ...}]}; NULL when none */
    char output_key[256];         /* where the output goes in blob storage */
    char *output_url;             /* owned; known at creation; NULL when none */
    char stage[24];               /* the pipeline stage while rendering */
    int total_assets;
    int attempts;                 /* claims so far */
    char worker[64];              /* who holds the lease; "" when nobody */
    int64_t lease_until;
    int64_t created_at, updated_at, started_at, finished_at, error_at;
    double render_duration;       /* seconds; < 0 when not rendered */
    int rendered_frames;          /* frames a finished render drew; 0 when unknown */
    int template_version;         /* the template's version it renders; 0 without a template id */
    int64_t version;              /* the store-wide change sequence at its last change */
    char *webhook_json;           /* owned; the request's webhook object as JSON; NULL when none */
    int chunks;                   /* chunks of a split render; 0 when rendered whole */
    char *workers_json;           /* owned; JSON array of the workers that rendered it; NULL when not noted */
    int cached;                   /* 1: the output came from the render cache */
    int chunks_cached;            /* chunks of a split render whose segments came from the cache */
} fw_job_row;

void fw_job_row_clear(fw_job_row *row);
void fw_job_rows_free(fw_job_row **rows, size_t count);

/* Insert jobs in one transaction: all or none. Rows need id, team_id,
 * status (queued or pending), kind, request_json, output_key, created_at;
 * the store sets version and updated_at. */
/* What a team has asked of the farm lately, for its quotas: the jobs it created at or after
 * `since` (ms) and the earliest of their creation times (0 when none), and its jobs not yet ended
 * (queued, pending or rendering). */
typedef struct fw_team_load {
    int64_t created;
    int64_t oldest_created_at;
    int64_t unfinished;
} fw_team_load;

fw_err fw_store_team_load(fw_store *s, const char *team_id, int64_t since, fw_team_load *out, fw_error *err);

fw_err fw_store_jobs_insert(fw_store *s, const fw_job_row *rows, size_t count, fw_error *err);

/* ---- idempotency keys ------------------------------------------------------------------------ */

/* A create call's key and the answer it gave, written with the call's rows.
 * Keys are per team; what the store keeps of one is at most a day old
 * (fw_store_idempotency_expire). */
typedef struct fw_idempotency {
    const char *key;           /* the client's Idempotency-Key, 1 to 255 printable characters */
    const char *method;        /* the call, e.g. "CreateJob" */
    const char *request_hash;  /* hex SHA-256 of the request, as the service canonicalises it */
    const char *response_json; /* the answer, as the API's JSON */
} fw_idempotency;

/* What the team's key answered: method, request_hash and response_json,
 * each new (free them); FW_ERR_NOT_FOUND when the key is unused. */
fw_err fw_store_idempotency_get(fw_store *s, const char *team_id, const char *key, char **method,
                                char **request_hash, char **response_json, fw_error *err);
/* fw_store_jobs_insert, with the key written in the same transaction;
 * FW_ERR_ALREADY_EXISTS on field "idempotency-key" when another call took
 * the key first (and then nothing is written). idem may be NULL. */
fw_err fw_store_jobs_insert_keyed(fw_store *s, const fw_job_row *rows, size_t count, const fw_idempotency *idem,
                                  fw_error *err);
/* Forget keys made before `before` (ms); how many into *removed (may be NULL). */
fw_err fw_store_idempotency_expire(fw_store *s, int64_t before, int64_t *removed, fw_error *err);

/* team_id NULL: any team (workers and the server's own bookkeeping). */
fw_err fw_store_job_get(fw_store *s, const char *team_id, const char *id, fw_job_row *out, fw_error *err);

typedef struct fw_job_filter {
    const char *team_id;       /* required */
    const char *status;        /* NULL: any */
    const char *template_id;   /* NULL: any */
    const char *batch_id;      /* NULL: any */
    const char *parent_id;     /* NULL: any */
    int64_t created_after;     /* 0: no bound */
    int64_t created_before;    /* 0: no bound */
    int limit;                 /* 1..1000 */
    const char *after_id;      /* paging: the last id of the previous page (ids sort newest first) */
} fw_job_filter;

/* Newest first. */
fw_err fw_store_job_list(fw_store *s, const fw_job_filter *filter, fw_job_row **rows, size_t *count, fw_error *err);

/* The ids of a job's own children, oldest first, as a new array of
 * *count FW_ID_SIZE strings (free()); found through the parent index, so
 * it costs nothing for a job without children. */
fw_err fw_store_job_children(fw_store *s, const char *team_id, const char *parent_id, char (**ids)[FW_ID_SIZE],
                             size_t *count, fw_error *err);

/* Cancel a job that has not ended (queued, pending or rendering): status
 * manually_cancelled, lease dropped. *out gets the job after the change.
 * FW_ERR_FAILED_PRECONDITION when it had already ended (out still filled). */
fw_err fw_store_job_cancel(fw_store *s, const char *team_id, const char *id, fw_job_row *out, fw_error *err);

/* Set the status of pending jobs to queued (a parent whose children are
 * done) and similar transitions made by the server: only from `from`.
 *
 * Parents (nested jobs, joins) are settled by the store itself, in the
 * transaction that ends a child (complete, cancel, release, reap,
 * transition): the last child finished queues its pending parent; a child
 * that failed or was cancelled fails it ("the child job 'ID' for layer 'L'
 * failed: ...") and cancels its other children. Cancelling a job cancels its
 * unfinished children. */
fw_err fw_store_job_transition(fw_store *s, const char *id, const char *from, const char *to, const char *error,
                               fw_error *err);

/* Take the oldest queued job: status render:dorender, worker, lease_until =
 * now + lease_ms, attempts + 1, started_at set on the first claim. Exactly
 * one worker gets each job (SQLite: one writer; PostgreSQL: FOR UPDATE SKIP
 * LOCKED). FW_ERR_NOT_FOUND when nothing is queued. */
fw_err fw_store_job_claim(fw_store *s, const char *worker, int64_t lease_ms, fw_job_row *out, fw_error *err);

/* The same, passing over the jobs of teams that have team_renders jobs rendering already (0: no
 * limit), so one team's batch does not hold every worker while others wait. A soft limit: claims
 * made at the same instant may each see room for one more. */
fw_err fw_store_job_claim_limited(fw_store *s, const char *worker, int64_t lease_ms, int team_renders,
                                  fw_job_row *out, fw_error *err);

/* While rendering: extend the lease, record progress and stage. *status gets
 * the job's status now, so a worker sees a cancellation. FW_ERR_FAILED_
 * PRECONDITION when this worker no longer holds the job (lease lost). */
fw_err fw_store_job_heartbeat(fw_store *s, const char *id, const char *worker, int64_t lease_ms, double progress,
                              const char *stage, char status[24], fw_error *err);

/* The render is over: finished (progress 100, finished_at, render_duration,
 * rendered_frames, missing_fonts_json) when error is NULL, else status error
 * with the text (error_at). Only by the worker holding the job;
 * FW_ERR_FAILED_PRECONDITION otherwise (cancelled or reaped meanwhile). */
fw_err fw_store_job_complete(fw_store *s, const char *id, const char *worker, double render_duration, int frames,
                             const char *missing_fonts_json, const char *error, fw_error *err);

/* Hand a job back without finishing it (shutdown, or a failure of ours
 * rather than the job's): queued again while attempts < max_attempts,
 * otherwise error with the text. Queued again, it is not claimed for
 * retry_ms (0: at once). */
fw_err fw_store_job_release(fw_store *s, const char *id, const char *worker, const char *error, int max_attempts,
                            int64_t retry_ms, fw_error *err);

/* Jobs whose lease ran out before now (a worker died): queued again while
 * attempts < max_attempts, otherwise error ("the worker stopped answering").
 * *requeued and *failed count them (either may be NULL). */
fw_err fw_store_job_reap(fw_store *s, int64_t now, int max_attempts, int *requeued, int *failed, fw_error *err);

/* Jobs changed after version, oldest change first, at most limit. */
fw_err fw_store_job_changes(fw_store *s, int64_t after_version, int limit, fw_job_row **rows, size_t *count,
                            fw_error *err);

/* The highest version given out so far. */
fw_err fw_store_version(fw_store *s, int64_t *version, fw_error *err);

/* A file descriptor that becomes readable when jobs change in another
 * process (PostgreSQL LISTEN/NOTIFY), or -1 when the backend has none and
 * callers should poll. After it is readable, call fw_store_drain_notify.
 * Notifications can also arrive while another call is running on the same
 * store and then wait inside the store without the fd being readable, so a
 * watcher drains before each fw_store_job_changes and polls only after a
 * drain that returned 0. Returns how many notifications were waiting (0 for
 * SQLite). */
int fw_store_notify_fd(fw_store *s);
int fw_store_drain_notify(fw_store *s);

/* Drops the store's connection and opens a new one (PostgreSQL; nothing for
 * SQLite), for a caller that saw the store fail: a connection that lived
 * through a network outage may wait long for the server's backed-off
 * retransmissions, a new one does not. The notify fd may change. A
 * connection that cannot be opened now is opened again by the next call. */
void fw_store_reconnect(fw_store *s);

/* ---- chunks of a split render (chunks.c) ----------------------------------------------------- */

/* A long video job is rendered as chunks: frame ranges that any worker may
 * claim, each with a lease like a job's, each encoded to a segment object in
 * storage. The worker holding the job (its coordinator) plans the chunks,
 * renders some itself, and once every chunk is finished joins the segments.
 * Chunks are claimed only while their job is being rendered (status
 * render:dorender); a job queued again (its coordinator died) keeps its
 * chunks, and the next coordinator carries on with them. Rows go with their
 * job (ON DELETE CASCADE). PostgreSQL sends NOTIFY fw_jobs on every chunk
 * change too, so idle workers wake when chunks are planned. */

#define FW_CHUNK_QUEUED "queued"
#define FW_CHUNK_RENDERING "rendering"
#define FW_CHUNK_FINISHED "finished"
#define FW_CHUNK_ERROR "error"

typedef struct fw_chunk_row {
    char job_id[FW_ID_SIZE];
    int index;                /* 0, 1, ... in frame order */
    int first_frame, last_frame; /* composition frame numbers, inclusive */
    char status[16];          /* FW_CHUNK_* */
    char worker[64];          /* who holds the lease, or who rendered a finished chunk; "" when nobody */
    int64_t lease_until;      /* 0 when not rendering */
    int attempts;             /* claims so far */
    double progress;          /* 0..100 of this chunk */
    char segment_key[256];    /* storage key of the finished chunk's segment; "" before */
    double render_seconds;    /* of the finished chunk */
    char *error;              /* owned; NULL when none */
    int64_t created_at, updated_at;
} fw_chunk_row;

void fw_chunk_rows_free(fw_chunk_row **rows, size_t count);

/* Plan the job's chunks, ranges[i] = {first_frame, last_frame} in ascending
 * order without overlaps (else FW_ERR_INVALID), only by the worker holding
 * the job (else FW_ERR_FAILED_PRECONDITION; FW_ERR_NOT_FOUND without the
 * job). A job that has chunks already keeps them (a coordinator that took
 * over): *planned is how many it has, which the caller then reads with
 * fw_store_chunks_get. */
fw_err fw_store_chunks_plan(fw_store *s, const char *job_id, const char *worker, const int (*ranges)[2], int count,
                            int *planned, fw_error *err);

/* Claim a queued chunk for `worker` with a lease: of job_id, or of any job
 * being rendered when job_id is NULL (the oldest job's first). Status
 * rendering, attempts + 1, progress 0. FW_ERR_NOT_FOUND when none. */
fw_err fw_store_chunk_claim(fw_store *s, const char *worker, int64_t lease_ms, const char *job_id,
                            fw_chunk_row *out, fw_error *err);

/* Renew the chunk's lease and write its progress, only by its holder
 * (FW_ERR_FAILED_PRECONDITION otherwise; FW_ERR_NOT_FOUND without the row).
 * job_status gets the job's status, so the chunk's worker stops when the job
 * was cancelled or ended. */
fw_err fw_store_chunk_heartbeat(fw_store *s, const char *job_id, int index, const char *worker, int64_t lease_ms,
                                double progress, char job_status[24], fw_error *err);

/* The chunk's segment is in storage: finished, progress 100, its key and
 * render time kept, and the worker's name (who rendered it). Only by its
 * holder while the job is being rendered (FW_ERR_FAILED_PRECONDITION
 * otherwise: the segment is not wanted; FW_ERR_NOT_FOUND without the row). */
fw_err fw_store_chunk_finish(fw_store *s, const char *job_id, int index, const char *worker,
                             const char *segment_key, double render_seconds, fw_error *err);

/* A queued chunk whose segment the render cache has (segment_key):
 * finished at once, nobody's, no attempt counted. Only by the worker
 * holding the job while it renders (FW_ERR_FAILED_PRECONDITION otherwise). */
fw_err fw_store_chunk_finish_cached(fw_store *s, const char *job_id, int index, const char *holder,
                                    const char *segment_key, fw_error *err);

/* Hand a chunk back unfinished, only by its holder: queued again while
 * attempts < max_attempts, otherwise error with the text (NULL: a text of
 * the store's). counts == 0 (a worker stopping) does not count the attempt:
 * it is taken back from attempts. Queued again, it is not claimed for
 * retry_ms (0: at once). */
fw_err fw_store_chunk_release(fw_store *s, const char *job_id, int index, const char *worker, const char *error,
                              int max_attempts, int counts, int64_t retry_ms, fw_error *err);

/* The job's chunks, in order. */
fw_err fw_store_chunks_get(fw_store *s, const char *job_id, fw_chunk_row **rows, size_t *count, fw_error *err);

/* Up to limit jobs that ended (finished, error, cancelled) and still have
 * chunks: their holder died before it could remove them (a job cancelled
 * or failed by the reaper meanwhile). *ids is the caller's to free. */
fw_err fw_store_chunks_orphaned(fw_store *s, int limit, char (**ids)[FW_ID_SIZE], size_t *count, fw_error *err);

/* Remove the job's chunks (the job was joined, cancelled or failed). */
fw_err fw_store_chunks_delete(fw_store *s, const char *job_id, fw_error *err);

/* Chunks whose lease ran out before now: queued again while attempts <
 * max_attempts, otherwise error ("the worker stopped answering"). *requeued
 * and *failed count them (either may be NULL). */
fw_err fw_store_chunk_reap(fw_store *s, int64_t now, int max_attempts, int *requeued, int *failed, fw_error *err);

/* How the job was rendered, only by the worker holding it, before it
 * completes it: chunks (0 when not split) and the workers as a JSON array
 * of names (else FW_ERR_INVALID). Read back in fw_job_row's chunks and
 * workers_json. A change of the job: it takes a version. */
fw_err fw_store_job_note_render(fw_store *s, const char *id, const char *worker, int chunks,
                                const char *workers_json, fw_error *err);

/* ---- the render cache (cache.c) ----------------------------------------------------------------- */

/* Outputs and chunk segments kept in storage by digest (server/work/digest.h)
 * for a team: a job whose inputs are those of an earlier render is answered
 * with its output, a chunk with its segment. Entries are per team (a team
 * never gets another's output), and the whole is bounded in bytes: the
 * least recently used entries go first. */

#define FW_CACHE_OUTPUT "output" /* a job's whole output */
#define FW_CACHE_CHUNK "chunk"   /* the segment of a chunk */

typedef struct fw_cache_entry {
    char team_id[FW_ID_SIZE];
    char digest[72];
    char kind[16];              /* FW_CACHE_* */
    char storage_key[256];
    int64_t size;               /* bytes */
    int64_t created_at, used_at;
} fw_cache_entry;

/* The team's entry for digest, its used_at set to now; FW_ERR_NOT_FOUND. */
fw_err fw_store_cache_get(fw_store *s, const char *team_id, const char *digest, fw_cache_entry *out, fw_error *err);

/* Keep an entry (team_id, digest, kind, storage_key, size); one already
 * there for the digest stays (*kept = 0: the caller's object is not
 * referenced and may be deleted), else *kept = 1. */
fw_err fw_store_cache_put(fw_store *s, const fw_cache_entry *entry, int *kept, fw_error *err);

/* While the entries' sizes add up to more than max_bytes, remove the least
 * recently used (oldest used_at, then digest), at most limit of them; their
 * storage keys are returned for the caller to delete (*keys its to free).
 * Entries used within protect_ms of now are never removed (a render may be
 * copying them). */
fw_err fw_store_cache_evict(fw_store *s, int64_t max_bytes, int64_t protect_ms, int limit, char (**keys)[256],
                            size_t *count, fw_error *err);

/* Entries and bytes in all (for operators and tests). */
fw_err fw_store_cache_size(fw_store *s, int64_t *entries, int64_t *bytes, fw_error *err);

/* How the job's output was made, noted by its holder before it completes
 * it: cached 1 when the whole output came from the cache; chunks_cached the
 * chunks whose segments did. Read back in fw_job_row's cached and
 * chunks_cached. */
fw_err fw_store_job_note_cache(fw_store *s, const char *id, const char *worker, int cached, int chunks_cached,
                               fw_error *err);

/* ---- batches (batches.c) --------------------------------------------------------------------- */

/* A batch: up to 1000 jobs submitted in one call. Its jobs (and their
 * children) carry its id in batch_id; the batch's own jobs are those without
 * a parent. */
typedef struct fw_batch_row {
    char id[FW_ID_SIZE];
    char team_id[FW_ID_SIZE];
    int total;    /* jobs in the request */
    int created;  /* of them accepted */
    int failed;   /* of them refused */
    int64_t created_at;
} fw_batch_row;

/* The batch row and its accepted jobs (count rows: the jobs and their
 * children) in one transaction: all or none; idem (may be NULL) as in
 * fw_store_jobs_insert_keyed. */
fw_err fw_store_batch_insert(fw_store *s, const fw_batch_row *batch, const fw_job_row *rows, size_t count,
                             const fw_idempotency *idem, fw_error *err);

/* FW_ERR_NOT_FOUND when the team has no such batch. */
fw_err fw_store_batch_get(fw_store *s, const char *team_id, const char *id, fw_batch_row *out, fw_error *err);

/* The batch's own jobs (not their children), oldest first. */
fw_err fw_store_batch_jobs(fw_store *s, const char *team_id, const char *id, fw_job_row **rows, size_t *count,
                           fw_error *err);

/* Cancel every job of the batch that has not ended, their children with
 * them, in one transaction. *cancelled and *not_cancelled count the batch's
 * own jobs: cancelled now, and already ended. */
fw_err fw_store_batch_cancel(fw_store *s, const char *team_id, const char *id, int *cancelled, int *not_cancelled,
                             fw_error *err);

/* ---- secrets and fonts (secrets.c, fonts.c) ---------------------------------------------- */

typedef struct fw_secret_row {
    char id[FW_ID_SIZE];
    char team_id[FW_ID_SIZE];
    char name[136];
    char *ciphertext;         /* owned; the sealed value (server/secrets) */
    int64_t created_at;
} fw_secret_row;

void fw_secret_row_clear(fw_secret_row *row);
void fw_secret_rows_free(fw_secret_row **rows, size_t count);
/* FW_ERR_ALREADY_EXISTS (field "name") when the team has a secret of that name. */
fw_err fw_store_secret_insert(fw_store *s, const fw_secret_row *row, fw_error *err);
/* By name. FW_ERR_NOT_FOUND when none. */
fw_err fw_store_secret_get(fw_store *s, const char *team_id, const char *name, fw_secret_row *out, fw_error *err);
/* Every secret of the team, by name; ciphertext is left NULL. */
fw_err fw_store_secret_list(fw_store *s, const char *team_id, fw_secret_row **rows, size_t *count, fw_error *err);
/* By id or by name; FW_ERR_NOT_FOUND when neither matches. */
fw_err fw_store_secret_delete(fw_store *s, const char *team_id, const char *id_or_name, fw_error *err);

typedef struct fw_font_row {
    char id[FW_ID_SIZE];
    char team_id[FW_ID_SIZE];
    char file_name[256];
    char family_name[256];
    char postscript_name[256];
    char style[256];
    char storage_key[512];
    int64_t size;
    int64_t created_at;
} fw_font_row;

void fw_font_rows_free(fw_font_row **rows, size_t count);
/* FW_ERR_ALREADY_EXISTS (field "fileName") when the team has a font file of that name. */
fw_err fw_store_font_insert(fw_store *s, const fw_font_row *row, fw_error *err);
fw_err fw_store_font_get(fw_store *s, const char *team_id, const char *id, fw_font_row *out, fw_error *err);
/* Every font of the team, oldest first (at most 10000). */
fw_err fw_store_font_list(fw_store *s, const char *team_id, fw_font_row **rows, size_t *count, fw_error *err);
fw_err fw_store_font_delete(fw_store *s, const char *team_id, const char *id, fw_error *err);
/* 1 when name is the font's file name, family or PostScript name, ignoring case. */
int fw_font_row_matches(const fw_font_row *row, const char *name);

/* ---- figures for operators (figures.c) ---------------------------------------------------- */

/* Sums over every team, in one read transaction, for monitoring: nothing in
 * them names a team or a job. */
#define FW_FIGURES_BOUNDS_MAX 12
#define FW_FIGURES_RECENT 100 /* renders the recent frame rate is taken over */

typedef struct fw_store_figures {
    int64_t by_status[6];      /* jobs per status, in fw_store_statuses order */
    int64_t queued;            /* = by_status of queued */
    int64_t oldest_queued_at;  /* when the longest-waiting queued job was queued (ms); 0: none */
    /* Finished renders' durations: render_counts[i] at most bounds[i] seconds (cumulative). */
    int64_t render_counts[FW_FIGURES_BOUNDS_MAX];
    int64_t render_count;
    double render_seconds;
    /* The last FW_FIGURES_RECENT finished renders whose frames are known. */
    int recent_renders;
    int64_t recent_frames;
    double recent_seconds;
    int64_t webhooks_delivered, webhooks_failed, webhook_attempts_failed;
} fw_store_figures;

/* The six job statuses, in the order of fw_store_figures.by_status. */
extern const char *const fw_store_statuses[6];

/* bounds: ascending, at most FW_FIGURES_BOUNDS_MAX. */
fw_err fw_store_figures_read(fw_store *s, const double *bounds, size_t bound_count, fw_store_figures *out,
                             fw_error *err);

/* Milliseconds since the epoch, the clock every store call uses. */
int64_t fw_store_now(void);

/* ---- webhook deliveries (outbox.c) ----------------------------------------------------------- */

/* A job's webhook is queued in an outbox by the same transaction that ends
 * the job (complete, cancel, release, reap, transition), so no restart or
 * crash between "the job ended" and "someone will call" can lose a call.
 * Jobs whose webhook asks for "progress" or "stage" events also queue
 * job.progress.25/50/75 and job.stage.<stage> from heartbeats, each at most
 * once per job. A notifier claims due deliveries with a lease, calls, and
 * records every attempt. */

#define FW_DELIVERY_PENDING "pending"
#define FW_DELIVERY_DELIVERED "delivered"
#define FW_DELIVERY_FAILED "failed"

/* "whsec_" + base64 of 32 bytes + NUL, with room. */
#define FW_WEBHOOK_SECRET_SIZE 64

typedef struct fw_webhook_attempt {
    int attempt;         /* 1 for the first call */
    int64_t started_at;
    int64_t duration_ms;
    int http_status;     /* 0 when there was no answer */
    char *error;         /* owned; NULL when the call succeeded */
} fw_webhook_attempt;

typedef struct fw_webhook_delivery {
    char id[FW_ID_SIZE];     /* also the webhook-id header: the same on every retry */
    char team_id[FW_ID_SIZE];
    char job_id[FW_ID_SIZE];
    char event[48];          /* job.finished, job.error, job.manually_cancelled, job.progress.50, job.stage.render */
    char status[16];         /* FW_DELIVERY_* */
    int attempts;            /* calls made so far */
    int64_t next_attempt_at, lease_until, created_at, delivered_at;
    char *last_error;        /* owned; NULL when none */
    fw_webhook_attempt *attempt_log; /* owned; only filled by fw_store_outbox_list */
    size_t attempt_count;
} fw_webhook_delivery;

/* When a call that failed is tried again. */
typedef struct fw_webhook_retry {
    int max_retries;       /* calls after the first; then the delivery fails */
    int64_t backoff_ms;    /* before the first retry; doubles each time */
    int64_t max_backoff_ms;/* the most any wait grows to (0: no limit) */
} fw_webhook_retry;

void fw_webhook_delivery_clear(fw_webhook_delivery *d);
void fw_webhook_deliveries_free(fw_webhook_delivery **list, size_t count);

/* Take one due delivery (pending, next_attempt_at <= now, no live lease),
 * oldest due first, leasing it until now + lease_ms so that no other
 * notifier calls at the same time (SQLite: one writer; PostgreSQL: FOR
 * UPDATE SKIP LOCKED). FW_ERR_NOT_FOUND when nothing is due. */
fw_err fw_store_outbox_claim(fw_store *s, int64_t now, int64_t lease_ms, fw_webhook_delivery *out, fw_error *err);

/* Record one call of a claimed delivery and what follows from it, in one
 * transaction: delivered when ok; otherwise pending again at now + the
 * backoff (doubling per attempt, minus up to a quarter of random jitter)
 * while retries remain, else failed. *status (may be NULL) gets the new
 * status. FW_ERR_FAILED_PRECONDITION when the delivery is no longer pending. */
fw_err fw_store_outbox_record(fw_store *s, const char *id, const fw_webhook_attempt *attempt, int ok,
                              const fw_webhook_retry *retry, char status[16], fw_error *err);

/* Give a claimed delivery back untried (a notifier stopping mid-call). */
fw_err fw_store_outbox_release(fw_store *s, const char *id, fw_error *err);

/* A job's deliveries, oldest first, each with its attempts. team_id NULL:
 * any team. Free with fw_webhook_deliveries_free. */
fw_err fw_store_outbox_list(fw_store *s, const char *team_id, const char *job_id, fw_webhook_delivery **list,
                            size_t *count, fw_error *err);

/* The team's signing secret ("whsec_" + base64 of 32 random bytes), made
 * on first use. */
fw_err fw_store_webhook_secret(fw_store *s, const char *team_id, char secret[FW_WEBHOOK_SECRET_SIZE], fw_error *err);

#endif
