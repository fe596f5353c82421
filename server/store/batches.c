/*
 * batches.c - batches in the store: the batch row written with its jobs in
 * one transaction, its own jobs read back, and cancelling all of it at once.
 *
 * A batch's jobs carry its id in jobs.batch_id, children of nested and join
 * jobs included, so that one statement finds everything a batch started.
 * The batch's "own" jobs - what its counts are about - are those without a
 * parent.
 */
#include "server/store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fw_err fw_store_batch_insert(fw_store *s, const fw_batch_row *batch, const fw_job_row *rows, size_t count,
                             const fw_idempotency *idem, fw_error *err)
{
    fw_err rc;

    if (!*batch->id || !*batch->team_id)
        return fw_error_set(err, FW_ERR_INVALID, "batch", "a batch needs an id and a team");
    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    rc = fw_idempotency_insert(s, batch->team_id, idem, err);
    if (rc == FW_OK)
        rc = fw_sql_exec(s,
                     "INSERT INTO batches (id, team_id, total, created, failed, created_at) "
                     "VALUES ($1, $2, $3, $4, $5, $6)",
                     FW_SQL_ARGS(FW_SQL_T(batch->id), FW_SQL_T(batch->team_id), FW_SQL_I(batch->total),
                                 FW_SQL_I(batch->created), FW_SQL_I(batch->failed), FW_SQL_I(batch->created_at)),
                     NULL, err);
    if (rc == FW_ERR_ALREADY_EXISTS)
        fw_error_set(err, rc, "batch.id", "a batch with id %s already exists", batch->id);
    else if (rc == FW_ERR_NOT_FOUND)
        fw_error_set(err, rc, "batch.team_id", "no team with id %s", batch->team_id);
    if (rc == FW_OK && count)
        rc = fw_jobs_insert_rows(s, rows, count, err);
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_batch_get(fw_store *s, const char *team_id, const char *id, fw_batch_row *out, fw_error *err)
{
    int got;
    fw_err rc;

    memset(out, 0, sizeof(*out));
    rc = s->ops->query(s,
                       "SELECT id, team_id, total, created, failed, created_at FROM batches "
                       "WHERE id = $1 AND team_id = $2",
                       FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(team_id)), err);
    if (rc == FW_OK) {
        got = s->ops->row(s, err);
        if (got > 0) {
            fw_sql_copy(s, 0, out->id, sizeof(out->id));
            fw_sql_copy(s, 1, out->team_id, sizeof(out->team_id));
            out->total = (int)s->ops->col_int(s, 2);
            out->created = (int)s->ops->col_int(s, 3);
            out->failed = (int)s->ops->col_int(s, 4);
            out->created_at = s->ops->col_int(s, 5);
        } else if (got == 0) {
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no batch with id %s", id);
        } else {
            rc = err ? err->code : FW_ERR_INTERNAL;
        }
    }
    s->ops->done(s);
    return rc;
}

fw_err fw_store_batch_jobs(fw_store *s, const char *team_id, const char *id, fw_job_row **rows, size_t *count,
                           fw_error *err)
{
    return fw_jobs_query(s, "batch_id = $1 AND team_id = $2 AND parent_id IS NULL ORDER BY created_at, id",
                         FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(team_id)), 100000, rows, count, err);
}

fw_err fw_store_batch_cancel(fw_store *s, const char *team_id, const char *id, int *cancelled, int *not_cancelled,
                             fw_error *err)
{
    char (*ended)[FW_ID_SIZE] = NULL; /* every job cancelled, whose webhooks are queued */
    size_t n = 0;
    int own = 0, got;
    int64_t total = 0;
    fw_err rc;

    *cancelled = *not_cancelled = 0;
    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    rc = fw_sql_int(s, "SELECT COUNT(*) FROM batches WHERE id = $1 AND team_id = $2",
                    FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(team_id)), &total, NULL, err);
    if (rc == FW_OK && total == 0)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no batch with id %s", id);
    if (rc == FW_OK)
        rc = fw_sql_int(s, "SELECT COUNT(*) FROM jobs WHERE batch_id = $1 AND team_id = $2 AND parent_id IS NULL",
                        FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(team_id)), &total, NULL, err);
    if (rc == FW_OK)
        rc = s->ops->query(s,
                           "UPDATE jobs SET status = 'manually_cancelled', worker = '', lease_until = 0, "
                           "updated_at = $3, version = fw_next_version() "
                           "WHERE batch_id = $1 AND team_id = $2 "
                           "AND status IN ('queued', 'pending', 'render:dorender') RETURNING id, parent_id",
                           FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(team_id), FW_SQL_I(fw_store_now())), err);
    while (rc == FW_OK && (got = s->ops->row(s, err)) != 0) {
        if (got < 0) {
            rc = err ? err->code : FW_ERR_INTERNAL;
            break;
        }
        if ((n & (n - 1)) == 0) { /* grow at 0, 1, 2, 4, ... */
            void *grown = realloc(ended, (n ? n * 2 : 1) * sizeof(*ended));
            if (!grown) {
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory cancelling a batch");
                break;
            }
            ended = grown;
        }
        fw_sql_copy(s, 0, ended[n++], FW_ID_SIZE);
        own += s->ops->col_text(s, 1) == NULL;
    }
    s->ops->done(s);
    for (size_t i = 0; i < n && rc == FW_OK; i++)
        rc = fw_outbox_enqueue_end(s, ended[i], err);
    free(ended);
    rc = fw_sql_end(s, rc, err);
    if (rc == FW_OK) {
        *cancelled = own;
        *not_cancelled = (int)total - own;
    }
    return rc;
}
