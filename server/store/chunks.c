/*
 * chunks.c - the chunks of a split render: frame ranges of one job that any
 * worker may claim, lease, finish or hand back, and the reaper's sweep.
 *
 * Like jobs.c, every change is one statement or one transaction conditioned
 * on the state it expects (the chunk's holder and status, the job's status),
 * so a worker whose lease ran out, or whose job was cancelled, changes no row
 * and is told why. Chunk changes do not take job versions: the watch feed is
 * about jobs, and a job's progress over its chunks is written by its
 * coordinator through the job's own heartbeat.
 */
#include "server/store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_COLUMNS                                                                                                \
    "job_id, idx, first_frame, last_frame, status, worker, lease_until, attempts, progress, segment_key, "           \
    "render_seconds, error, created_at, updated_at"

/* Chunks planned per INSERT: three parameters each. */
#define PLAN_ROWS 100

static const char reaped_error[] = "the worker stopped answering (its lease ran out)";

void fw_chunk_rows_free(fw_chunk_row **rows, size_t count)
{
    if (!rows || !*rows)
        return;
    for (size_t i = 0; i < count; i++)
        free((*rows)[i].error);
    free(*rows);
    *rows = NULL;
}

static void read_chunk(fw_store *s, fw_chunk_row *c)
{
    memset(c, 0, sizeof(*c));
    fw_sql_copy(s, 0, c->job_id, sizeof(c->job_id));
    c->index = (int)s->ops->col_int(s, 1);
    c->first_frame = (int)s->ops->col_int(s, 2);
    c->last_frame = (int)s->ops->col_int(s, 3);
    fw_sql_copy(s, 4, c->status, sizeof(c->status));
    fw_sql_copy(s, 5, c->worker, sizeof(c->worker));
    c->lease_until = s->ops->col_int(s, 6);
    c->attempts = (int)s->ops->col_int(s, 7);
    c->progress = s->ops->col_double(s, 8);
    fw_sql_copy(s, 9, c->segment_key, sizeof(c->segment_key));
    c->render_seconds = s->ops->col_double(s, 10);
    c->error = fw_sql_dup(s, 11);
    c->created_at = s->ops->col_int(s, 12);
    c->updated_at = s->ops->col_int(s, 13);
}

/* A chunk's status and worker with its job's, for saying why a call on it
 * changed nothing. */
typedef struct chunk_state {
    char status[16], worker[64];
    char job_status[24], job_worker[64];
} chunk_state;

static fw_err chunk_state_get(fw_store *s, const char *job_id, int index, chunk_state *st, fw_error *err)
{
    fw_err rc = s->ops->query(s,
                              "SELECT c.status, c.worker, j.status, j.worker FROM chunks c "
                              "JOIN jobs j ON j.id = c.job_id WHERE c.job_id = $1 AND c.idx = $2",
                              FW_SQL_ARGS(FW_SQL_T(job_id), FW_SQL_I(index)), err);
    int got;

    if (rc == FW_OK) {
        got = s->ops->row(s, err);
        if (got > 0) {
            fw_sql_copy(s, 0, st->status, sizeof(st->status));
            fw_sql_copy(s, 1, st->worker, sizeof(st->worker));
            fw_sql_copy(s, 2, st->job_status, sizeof(st->job_status));
            fw_sql_copy(s, 3, st->job_worker, sizeof(st->job_worker));
        } else if (got == 0) {
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "index", "job %s has no chunk %d", job_id, index);
        } else {
            rc = err ? err->code : FW_ERR_INTERNAL;
        }
    }
    s->ops->done(s);
    return rc;
}

/* Why a worker's call on a chunk changed nothing: the chunk is gone, or not
 * its own. status (may be NULL) gets the job's status when the job exists. */
static fw_err chunk_not_held(fw_store *s, const char *job_id, int index, const char *worker, char status[24],
                             fw_error *err)
{
    chunk_state st;
    fw_err rc = chunk_state_get(s, job_id, index, &st, err);

    if (rc != FW_OK)
        return rc;
    if (status)
        memcpy(status, st.job_status, sizeof(st.job_status));
    return fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "worker",
                        "worker %s does not hold chunk %d of job %s: it is %s%s%s, and the job is %s", worker, index,
                        job_id, st.status, *st.worker ? " and held by " : "", st.worker, st.job_status);
}

static fw_err check_ranges(const int (*ranges)[2], int count, fw_error *err)
{
    if (count < 1 || !ranges)
        return fw_error_set(err, FW_ERR_INVALID, "ranges", "a split render has one chunk or more, not %d", count);
    for (int i = 0; i < count; i++) {
        if (ranges[i][0] > ranges[i][1])
            return fw_error_set(err, FW_ERR_INVALID, "ranges", "chunk %d ends (frame %d) before it starts (frame %d)",
                                i, ranges[i][1], ranges[i][0]);
        if (i > 0 && ranges[i][0] <= ranges[i - 1][1])
            return fw_error_set(err, FW_ERR_INVALID, "ranges",
                                "chunk %d starts at frame %d, inside or before chunk %d (frames %d to %d)", i,
                                ranges[i][0], i - 1, ranges[i - 1][0], ranges[i - 1][1]);
    }
    return FW_OK;
}

/* One multi-row INSERT of chunks first..first+n, n <= PLAN_ROWS. */
static fw_err insert_chunks(fw_store *s, const char *job_id, const int (*ranges)[2], int first, int n, int64_t now,
                            fw_error *err)
{
    static const char head[] = "INSERT INTO chunks (job_id, created_at, updated_at, status, idx, first_frame, "
                               "last_frame) VALUES ";
    char sql[sizeof(head) + PLAN_ROWS * 48];
    fw_sql_value params[2 + PLAN_ROWS * 3];
    size_t len = sizeof(head) - 1;
    int p = 2;

    memcpy(sql, head, len);
    params[0] = FW_SQL_T(job_id);
    params[1] = FW_SQL_I(now);
    for (int i = 0; i < n; i++) {
        params[p] = FW_SQL_I(first + i);
        params[p + 1] = FW_SQL_I(ranges[first + i][0]);
        params[p + 2] = FW_SQL_I(ranges[first + i][1]);
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s($1,$2,$2,'queued',$%d,$%d,$%d)", i ? "," : "",
                                p + 1, p + 2, p + 3);
        p += 3;
    }
    return fw_sql_exec(s, sql, params, p, NULL, err);
}

fw_err fw_store_chunks_plan(fw_store *s, const char *job_id, const char *worker, const int (*ranges)[2], int count,
                            int *planned, fw_error *err)
{
    char lock_sql[128];
    int64_t held = 0, existing = 0, now = fw_store_now();
    int found = 0;
    fw_err rc = check_ranges(ranges, count, err);

    if (planned)
        *planned = 0;
    if (rc != FW_OK)
        return rc;
    if ((rc = s->ops->begin(s, FW_TX_WRITE, err)) != FW_OK)
        return rc;
    /* The job's row lock puts two plans of the same job one after the other,
     * so the second sees the first one's chunks and keeps them. */
    snprintf(lock_sql, sizeof(lock_sql),
             "SELECT 1 FROM jobs WHERE id = $1 AND worker = $2 AND status = 'render:dorender' %s", s->ops->row_lock);
    rc = fw_sql_int(s, lock_sql, FW_SQL_ARGS(FW_SQL_T(job_id), FW_SQL_T(worker)), &held, &found, err);
    if (rc == FW_OK && !found) {
        int64_t jobs = 0;
        rc = fw_sql_int(s, "SELECT COUNT(*) FROM jobs WHERE id = $1", FW_SQL_ARGS(FW_SQL_T(job_id)), &jobs, NULL,
                        err);
        if (rc == FW_OK && jobs == 0)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no job with id %s", job_id);
        else if (rc == FW_OK)
            rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "worker",
                              "worker %s does not hold job %s, so it cannot plan its chunks", worker, job_id);
    }
    if (rc == FW_OK)
        rc = fw_sql_int(s, "SELECT COUNT(*) FROM chunks WHERE job_id = $1", FW_SQL_ARGS(FW_SQL_T(job_id)), &existing,
                        NULL, err);
    for (int i = 0; rc == FW_OK && existing == 0 && i < count; i += PLAN_ROWS)
        rc = insert_chunks(s, job_id, ranges, i, count - i < PLAN_ROWS ? count - i : PLAN_ROWS, now, err);
    rc = fw_sql_end(s, rc, err);
    if (rc == FW_OK && planned)
        *planned = existing ? (int)existing : count;
    return rc;
}

fw_err fw_store_chunk_claim(fw_store *s, const char *worker, int64_t lease_ms, const char *job_id,
                            fw_chunk_row *out, fw_error *err)
{
    char sql[1024];
    int64_t now = fw_store_now();
    int got = 0;
    fw_err rc;

    memset(out, 0, sizeof(*out));
    if ((rc = fw_store_check_claim(worker ? worker : "", lease_ms, err)) != FW_OK)
        return rc;
    /* The job is looked at in subqueries rather than joined, so the lock
     * taken (PostgreSQL: FOR UPDATE SKIP LOCKED) is on the chunk alone: a
     * claim must not wait for, nor pass over, a job row its coordinator is
     * writing. The outer status check matters on PostgreSQL as in a job's
     * claim. */
    snprintf(sql, sizeof(sql),
             "UPDATE chunks SET status = 'rendering', worker = $1, lease_until = $2, attempts = attempts + 1, "
             "progress = 0, updated_at = $3 "
             "WHERE (job_id, idx) = (SELECT job_id, idx FROM chunks c WHERE c.status = 'queued' AND c.retry_at <= $3%s "
             "AND EXISTS (SELECT 1 FROM jobs j WHERE j.id = c.job_id AND j.status = 'render:dorender') "
             "ORDER BY %s c.idx LIMIT 1 %s) "
             "AND status = 'queued' RETURNING " CHUNK_COLUMNS,
             job_id ? " AND c.job_id = $4" : "",
             job_id ? "" : "(SELECT j.created_at FROM jobs j WHERE j.id = c.job_id), c.job_id,", s->ops->claim_lock);
    if ((rc = s->ops->begin(s, FW_TX_WRITE, err)) != FW_OK)
        return rc;
    if (job_id)
        rc = s->ops->query(s, sql,
                           FW_SQL_ARGS(FW_SQL_T(worker), FW_SQL_I(now + lease_ms), FW_SQL_I(now), FW_SQL_T(job_id)),
                           err);
    else
        rc = s->ops->query(s, sql, FW_SQL_ARGS(FW_SQL_T(worker), FW_SQL_I(now + lease_ms), FW_SQL_I(now)), err);
    if (rc == FW_OK && (got = s->ops->row(s, err)) > 0)
        read_chunk(s, out);
    else if (rc == FW_OK && got < 0)
        rc = err ? err->code : FW_ERR_INTERNAL;
    s->ops->done(s);
    if (rc == FW_OK && got == 0)
        rc = job_id ? fw_error_set(err, FW_ERR_NOT_FOUND, NULL, "job %s has no queued chunk to render", job_id)
                    : fw_error_set(err, FW_ERR_NOT_FOUND, NULL, "no chunk is queued");
    if (rc != FW_OK) {
        free(out->error);
        memset(out, 0, sizeof(*out));
    }
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_chunk_heartbeat(fw_store *s, const char *job_id, int index, const char *worker, int64_t lease_ms,
                                double progress, char job_status[24], fw_error *err)
{
    int64_t now = fw_store_now(), changed = 0;
    fw_err rc = s->ops->begin(s, FW_TX_WRITE, err);

    if (rc != FW_OK)
        return rc;
    rc = fw_sql_exec(s,
                     "UPDATE chunks SET lease_until = $4, progress = $5, updated_at = $6 "
                     "WHERE job_id = $1 AND idx = $2 AND worker = $3 AND status = 'rendering'",
                     FW_SQL_ARGS(FW_SQL_T(job_id), FW_SQL_I(index), FW_SQL_T(worker), FW_SQL_I(now + lease_ms),
                                 FW_SQL_D(progress < 0 ? 0 : progress > 100 ? 100 : progress), FW_SQL_I(now)),
                     &changed, err);
    if (rc == FW_OK && changed == 1 && job_status) {
        /* The chunk's row references the job's, so the job is there. */
        int got = 0;
        rc = s->ops->query(s, "SELECT status FROM jobs WHERE id = $1", FW_SQL_ARGS(FW_SQL_T(job_id)), err);
        if (rc == FW_OK && (got = s->ops->row(s, err)) > 0)
            fw_sql_copy(s, 0, job_status, 24);
        else if (rc == FW_OK && got < 0)
            rc = err ? err->code : FW_ERR_INTERNAL;
        else if (rc == FW_OK)
            rc = fw_error_set(err, FW_ERR_INTERNAL, "id", "chunk %d has no job %s", index, job_id);
        s->ops->done(s);
    } else if (rc == FW_OK && changed == 0) {
        rc = chunk_not_held(s, job_id, index, worker, job_status, err);
    }
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_chunk_finish(fw_store *s, const char *job_id, int index, const char *worker,
                             const char *segment_key, double render_seconds, fw_error *err)
{
    int64_t changed = 0;
    fw_err rc;

    if (!segment_key || !*segment_key)
        return fw_error_set(err, FW_ERR_INVALID, "segment_key", "a finished chunk names its segment");
    if ((rc = s->ops->begin(s, FW_TX_WRITE, err)) != FW_OK)
        return rc;
    /* The worker stays named: who rendered each chunk is what the
     * coordinator notes on the job. */
    rc = fw_sql_exec(s,
                     "UPDATE chunks SET status = 'finished', progress = 100, segment_key = $4, render_seconds = $5, "
                     "lease_until = 0, updated_at = $6 "
                     "WHERE job_id = $1 AND idx = $2 AND worker = $3 AND status = 'rendering' "
                     "AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND status = 'render:dorender')",
                     FW_SQL_ARGS(FW_SQL_T(job_id), FW_SQL_I(index), FW_SQL_T(worker), FW_SQL_T(segment_key),
                                 FW_SQL_D(render_seconds), FW_SQL_I(fw_store_now())),
                     &changed, err);
    if (rc == FW_OK && changed == 0) {
        char job_status[24] = "";
        rc = chunk_not_held(s, job_id, index, worker, job_status, err);
        /* Held, but the job stopped rendering: the segment is not wanted. */
        if (rc == FW_ERR_FAILED_PRECONDITION && strcmp(job_status, FW_STATUS_RENDERING) != 0)
            rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "status",
                              "job %s is %s, not rendering, so chunk %d's segment is not wanted", job_id, job_status,
                              index);
    }
    return fw_sql_end(s, rc, err);
}

/* Why a cached finish changed nothing: the chunk is gone, its job is not
 * the holder's, or the chunk is not queued. */
static fw_err chunk_not_cacheable(fw_store *s, const char *job_id, int index, const char *holder, fw_error *err)
{
    chunk_state st;
    fw_err rc = chunk_state_get(s, job_id, index, &st, err);

    if (rc != FW_OK)
        return rc;
    if (strcmp(st.job_worker, holder) != 0 || strcmp(st.job_status, FW_STATUS_RENDERING) != 0)
        return fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "worker",
                            "worker %s does not hold job %s: it is %s%s%s, so it cannot finish its chunk %d", holder,
                            job_id, st.job_status, *st.job_worker ? " and held by " : "", st.job_worker, index);
    return fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "status",
                        "chunk %d of job %s is %s, not queued, so it is not taken from the cache", index, job_id,
                        st.status);
}

fw_err fw_store_chunk_finish_cached(fw_store *s, const char *job_id, int index, const char *holder,
                                    const char *segment_key, fw_error *err)
{
    int64_t changed = 0;
    fw_err rc;

    if (!holder || !*holder)
        return fw_error_set(err, FW_ERR_INVALID, "worker", "a cached finish needs the name of the job's holder");
    if (!segment_key || !*segment_key)
        return fw_error_set(err, FW_ERR_INVALID, "segment_key", "a finished chunk names its segment");
    if ((rc = s->ops->begin(s, FW_TX_WRITE, err)) != FW_OK)
        return rc;
    /* Nobody rendered it, so it names no worker, and it took no attempt. */
    rc = fw_sql_exec(s,
                     "UPDATE chunks SET status = 'finished', worker = '', progress = 100, lease_until = 0, "
                     "segment_key = $4, render_seconds = 0, updated_at = $5 "
                     "WHERE job_id = $1 AND idx = $2 AND status = 'queued' "
                     "AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND worker = $3 AND status = 'render:dorender')",
                     FW_SQL_ARGS(FW_SQL_T(job_id), FW_SQL_I(index), FW_SQL_T(holder), FW_SQL_T(segment_key),
                                 FW_SQL_I(fw_store_now())),
                     &changed, err);
    if (rc == FW_OK && changed == 0)
        rc = chunk_not_cacheable(s, job_id, index, holder, err);
    return fw_sql_end(s, rc, err);
}

/* Requeue while attempts remain, else fail: shared by release and reap.
 * $2 max attempts, $3 the error, $4 now; `counted` the attempts to judge by. */
#define REQUEUE_OR_FAIL(counted)                                                                                     \
    "status = CASE WHEN " counted " < $2 THEN 'queued' ELSE 'error' END, "                                           \
    "error = CASE WHEN " counted " < $2 THEN error ELSE $3 END, "                                                    \
    "progress = CASE WHEN " counted " < $2 THEN 0 ELSE progress END, "                                               \
    "worker = '', lease_until = 0, updated_at = $4 "

fw_err fw_store_chunk_release(fw_store *s, const char *job_id, int index, const char *worker, const char *error,
                              int max_attempts, int counts, int64_t retry_ms, fw_error *err)
{
    int64_t changed = 0, now = fw_store_now();
    fw_err rc = s->ops->begin(s, FW_TX_WRITE, err);

    if (rc != FW_OK)
        return rc;
    /* An attempt that does not count is taken back from the claim's count. */
    rc = fw_sql_exec(s,
                     "UPDATE chunks SET attempts = attempts - $7, retry_at = $8, " REQUEUE_OR_FAIL("attempts - $7")
                     "WHERE job_id = $1 AND idx = $5 AND worker = $6 AND status = 'rendering'",
                     FW_SQL_ARGS(FW_SQL_T(job_id), FW_SQL_I(max_attempts),
                                 FW_SQL_T(error ? error : "the worker gave the chunk back"), FW_SQL_I(now),
                                 FW_SQL_I(index), FW_SQL_T(worker), FW_SQL_I(counts ? 0 : 1),
                                 FW_SQL_I(retry_ms > 0 ? now + retry_ms : 0)),
                     &changed, err);
    if (rc == FW_OK && changed == 0)
        rc = chunk_not_held(s, job_id, index, worker, NULL, err);
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_chunks_get(fw_store *s, const char *job_id, fw_chunk_row **rows, size_t *count, fw_error *err)
{
    fw_chunk_row *list = NULL;
    size_t n = 0, room = 0;
    int got = 0;
    fw_err rc;

    *rows = NULL;
    *count = 0;
    rc = s->ops->query(s, "SELECT " CHUNK_COLUMNS " FROM chunks WHERE job_id = $1 ORDER BY idx",
                       FW_SQL_ARGS(FW_SQL_T(job_id)), err);
    while (rc == FW_OK && (got = s->ops->row(s, err)) > 0) {
        if (n == room) {
            size_t bigger = room ? room * 2 : 16;
            fw_chunk_row *grown = realloc(list, bigger * sizeof(*list));
            if (!grown) {
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory reading the chunks of job %s", job_id);
                break;
            }
            list = grown;
            room = bigger;
        }
        read_chunk(s, &list[n++]);
    }
    if (rc == FW_OK && got < 0)
        rc = err ? err->code : FW_ERR_INTERNAL;
    s->ops->done(s);
    if (rc != FW_OK) {
        fw_chunk_rows_free(&list, n);
        return rc;
    }
    *rows = list;
    *count = n;
    return FW_OK;
}

fw_err fw_store_chunks_orphaned(fw_store *s, int limit, char (**ids)[FW_ID_SIZE], size_t *count, fw_error *err)
{
    char(*out)[FW_ID_SIZE] = NULL;
    size_t n = 0;
    int got = 0;
    fw_err rc;

    *ids = NULL;
    *count = 0;
    if (limit <= 0)
        return FW_OK;
    if (!(out = calloc((size_t)limit, sizeof(*out))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    rc = s->ops->query(s,
                       "SELECT DISTINCT c.job_id FROM chunks c JOIN jobs j ON j.id = c.job_id "
                       "WHERE j.status IN ('finished', 'error', 'manually_cancelled') LIMIT $1",
                       FW_SQL_ARGS(FW_SQL_I(limit)), err);
    while (rc == FW_OK && n < (size_t)limit && (got = s->ops->row(s, err)) > 0)
        fw_sql_copy(s, 0, out[n++], FW_ID_SIZE);
    if (rc == FW_OK && got < 0)
        rc = err ? err->code : FW_ERR_INTERNAL;
    s->ops->done(s);
    if (rc != FW_OK || n == 0) {
        free(out);
        return rc;
    }
    *ids = out;
    *count = n;
    return FW_OK;
}

fw_err fw_store_chunks_delete(fw_store *s, const char *job_id, fw_error *err)
{
    return fw_sql_exec(s, "DELETE FROM chunks WHERE job_id = $1", FW_SQL_ARGS(FW_SQL_T(job_id)), NULL, err);
}

fw_err fw_store_chunk_reap(fw_store *s, int64_t now, int max_attempts, int *requeued, int *failed, fw_error *err)
{
    int back = 0, dead = 0, got;
    fw_err rc;

    if (requeued)
        *requeued = 0;
    if (failed)
        *failed = 0;
    if ((rc = s->ops->begin(s, FW_TX_WRITE, err)) != FW_OK)
        return rc;
    rc = s->ops->query(s,
                       "UPDATE chunks SET " REQUEUE_OR_FAIL("attempts")
                       "WHERE status = 'rendering' AND lease_until > 0 AND lease_until < $1 RETURNING status",
                       FW_SQL_ARGS(FW_SQL_I(now), FW_SQL_I(max_attempts), FW_SQL_T(reaped_error),
                                   FW_SQL_I(fw_store_now())),
                       err);
    while (rc == FW_OK && (got = s->ops->row(s, err)) != 0) {
        const char *status;
        if (got < 0) {
            rc = err ? err->code : FW_ERR_INTERNAL;
            break;
        }
        status = s->ops->col_text(s, 0);
        if (status && strcmp(status, FW_CHUNK_QUEUED) == 0)
            back++;
        else
            dead++;
    }
    s->ops->done(s);
    rc = fw_sql_end(s, rc, err);
    if (rc == FW_OK) {
        if (requeued)
            *requeued = back;
        if (failed)
            *failed = dead;
    }
    return rc;
}
