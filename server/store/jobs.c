/*
 * jobs.c - jobs in the store: submission, reading, and the state changes of
 * the job lifecycle (cancel, claim, heartbeat, complete, release, reap).
 *
 * Every change is one statement or one transaction, conditioned on the state
 * it expects (status, and for a worker's calls that it still holds the lease),
 * so two processes racing for the same job cannot both win: the loser changes
 * no row and is told why. Each changed row takes the next store-wide version.
 */
#include "server/store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define JOB_COLUMNS                                                                                                  \
    "id, team_id, template_id, parent_id, batch_id, kind, status, progress, request_json, error, "                   \
    "missing_fonts_json, output_key, output_url, stage, total_assets, attempts, worker, lease_until, "               \
    "created_at, updated_at, started_at, finished_at, error_at, render_duration, version, webhook_json, "            \
    "rendered_frames, template_version, chunks, workers_json, cached, chunks_cached"

/* Statuses of a job that has not ended, as a SQL list. */
#define UNFINISHED "('queued', 'pending', 'render:dorender')"

static fw_err cancel_children(fw_store *s, const char *parent_id, int depth, fw_error *err);
static fw_err settle_parent(fw_store *s, const char *child_id, int depth, fw_error *err);

static const char reaped_error[] = "the worker stopped answering (its lease ran out)";

static void read_job(fw_store *s, fw_job_row *j)
{
    memset(j, 0, sizeof(*j));
    fw_sql_copy(s, 0, j->id, sizeof(j->id));
    fw_sql_copy(s, 1, j->team_id, sizeof(j->team_id));
    fw_sql_copy(s, 2, j->template_id, sizeof(j->template_id));
    fw_sql_copy(s, 3, j->parent_id, sizeof(j->parent_id));
    fw_sql_copy(s, 4, j->batch_id, sizeof(j->batch_id));
    fw_sql_copy(s, 5, j->kind, sizeof(j->kind));
    fw_sql_copy(s, 6, j->status, sizeof(j->status));
    j->progress = s->ops->col_double(s, 7);
    j->request_json = fw_sql_dup(s, 8);
    j->error = fw_sql_dup(s, 9);
    j->missing_fonts_json = fw_sql_dup(s, 10);
    fw_sql_copy(s, 11, j->output_key, sizeof(j->output_key));
    j->output_url = fw_sql_dup(s, 12);
    fw_sql_copy(s, 13, j->stage, sizeof(j->stage));
    j->total_assets = (int)s->ops->col_int(s, 14);
    j->attempts = (int)s->ops->col_int(s, 15);
    fw_sql_copy(s, 16, j->worker, sizeof(j->worker));
    j->lease_until = s->ops->col_int(s, 17);
    j->created_at = s->ops->col_int(s, 18);
    j->updated_at = s->ops->col_int(s, 19);
    j->started_at = s->ops->col_int(s, 20);
    j->finished_at = s->ops->col_int(s, 21);
    j->error_at = s->ops->col_int(s, 22);
    j->render_duration = s->ops->col_double(s, 23);
    j->version = s->ops->col_int(s, 24);
    j->webhook_json = fw_sql_dup(s, 25);
    j->rendered_frames = (int)s->ops->col_int(s, 26);
    j->template_version = (int)s->ops->col_int(s, 27);
    j->chunks = (int)s->ops->col_int(s, 28);
    j->workers_json = fw_sql_dup(s, 29);
    j->cached = (int)s->ops->col_int(s, 30);
    j->chunks_cached = (int)s->ops->col_int(s, 31);
}

/* Run a query of at most one job row into *out; *found says if there was
 * one (when found is NULL, none is FW_ERR_NOT_FOUND for the job id). */
static fw_err query_job(fw_store *s, const char *sql, const fw_sql_value *params, int count, const char *id,
                        fw_job_row *out, int *found, fw_error *err)
{
    fw_err rc = s->ops->query(s, sql, params, count, err);
    int got = 0;

    if (rc == FW_OK) {
        got = s->ops->row(s, err);
        if (got > 0)
            read_job(s, out);
        else if (got < 0)
            rc = err ? err->code : FW_ERR_INTERNAL;
    }
    s->ops->done(s);
    if (rc != FW_OK)
        return rc;
    if (found)
        *found = got > 0;
    else if (got == 0)
        return fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no job with id %s", id ? id : "(none)");
    return FW_OK;
}

/* Read the running query's rows (at most limit) into a new array, grown as
 * rows come so that a large limit costs nothing when few rows match. */
static fw_err read_jobs(fw_store *s, size_t limit, fw_job_row **rows, size_t *count, fw_error *err)
{
    fw_job_row *list = NULL;
    size_t n = 0, room = 0;
    int got = 0;

    while (n < limit && (got = s->ops->row(s, err)) > 0) {
        if (n == room) {
            size_t bigger = room ? room * 2 : 16;
            fw_job_row *grown = realloc(list, bigger * sizeof(*list));
            if (!grown) {
                fw_job_rows_free(&list, n);
                return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing jobs");
            }
            list = grown;
            room = bigger;
        }
        read_job(s, &list[n++]);
    }
    if (got < 0) {
        fw_job_rows_free(&list, n);
        return err ? err->code : FW_ERR_INTERNAL;
    }
    *rows = list;
    *count = n;
    return FW_OK;
}

/* ---- submission and reading ------------------------------------------------------------------ */

static fw_err check_new_job(const fw_job_row *j, size_t i, fw_error *err)
{
    fw_err rc = FW_OK;
    if (!*j->id)
        rc = fw_error_set(err, FW_ERR_INVALID, "id", "a job needs an id");
    else if (!*j->team_id)
        rc = fw_error_set(err, FW_ERR_INVALID, "team_id", "a job belongs to a team");
    else if (strcmp(j->status, FW_STATUS_QUEUED) != 0 && strcmp(j->status, FW_STATUS_PENDING) != 0)
        rc = fw_error_set(err, FW_ERR_INVALID, "status", "a new job is \"queued\" or \"pending\", not \"%s\"",
                          j->status);
    else if (strcmp(j->kind, "render") != 0 && strcmp(j->kind, "join") != 0)
        rc = fw_error_set(err, FW_ERR_INVALID, "kind", "a job is a \"render\" or a \"join\", not \"%s\"", j->kind);
    else if (!j->request_json)
        rc = fw_error_set(err, FW_ERR_INVALID, "request_json", "a job keeps the request it was made from");
    else if (!*j->output_key)
        rc = fw_error_set(err, FW_ERR_INVALID, "output_key", "a job needs an output key");
    else if (j->created_at <= 0)
        rc = fw_error_set(err, FW_ERR_INVALID, "created_at", "a job needs its creation time");
    if (rc != FW_OK)
        fw_error_prefix_field(err, "rows[%zu]", i);
    return rc;
}

/* Rows per INSERT: 17 parameters each, far inside both databases' limits,
 * and few round trips for a batch of 1000. */
#define INSERT_CHUNK 100
#define INSERT_COLUMNS 17

/* Which of rows[0..n) was not inserted, given the ids the INSERT returned:
 * the first whose id is not among them, or is a repeat of an earlier row. */
static size_t first_not_inserted(const fw_job_row *rows, size_t n, char (*got)[FW_ID_SIZE], size_t got_count)
{
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t k = 0; k < got_count && !found; k++)
            found = strcmp(got[k], rows[i].id) == 0;
        for (size_t e = 0; e < i && found; e++)
            found = strcmp(rows[e].id, rows[i].id) != 0;
        if (!found)
            return i;
    }
    return 0;
}

/* One multi-row INSERT of rows[0..n), n <= INSERT_CHUNK; base is the index
 * of rows[0] in the caller's list, for the error's field. */
static fw_err insert_chunk(fw_store *s, const fw_job_row *rows, size_t n, size_t base, int64_t now, fw_error *err)
{
    static const char head[] =
        "INSERT INTO jobs (id, team_id, template_id, parent_id, batch_id, kind, status, progress, request_json, "
        "output_key, output_url, total_assets, created_at, updated_at, webhook_json, missing_fonts_json, "
        "template_version, version) "
        "VALUES ";
    static const char tail[] = " ON CONFLICT (id) DO NOTHING RETURNING id";
    char sql[sizeof(head) + INSERT_CHUNK * (INSERT_COLUMNS * 6 + 24) + sizeof(tail)];
    fw_sql_value params[INSERT_CHUNK * INSERT_COLUMNS];
    char (*got)[FW_ID_SIZE] = NULL;
    size_t len = 0, got_count = 0;
    int p = 0, more;
    fw_err rc;

    memcpy(sql, head, sizeof(head) - 1);
    len = sizeof(head) - 1;
    for (size_t i = 0; i < n; i++) {
        const fw_job_row *j = &rows[i];
        fw_sql_value row[INSERT_COLUMNS] = {
            FW_SQL_T(j->id), FW_SQL_T(j->team_id), FW_SQL_OPT(j->template_id), FW_SQL_OPT(j->parent_id),
            FW_SQL_OPT(j->batch_id), FW_SQL_T(j->kind), FW_SQL_T(j->status), FW_SQL_D(j->progress),
            FW_SQL_T(j->request_json), FW_SQL_T(j->output_key), FW_SQL_T(j->output_url), FW_SQL_I(j->total_assets),
            FW_SQL_I(j->created_at), FW_SQL_I(now), FW_SQL_T(j->webhook_json), FW_SQL_T(j->missing_fonts_json),
            FW_SQL_I(j->template_version),
        };
        sql[len++] = i ? ',' : ' ';
        sql[len++] = '(';
        for (int c = 0; c < INSERT_COLUMNS; c++) {
            params[p] = row[c];
            len += (size_t)snprintf(sql + len, sizeof(sql) - len, "$%d,", ++p);
        }
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "fw_next_version())");
    }
    memcpy(sql + len, tail, sizeof(tail));

    if (!(got = calloc(n, sizeof(*got))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory storing jobs");
    rc = s->ops->query(s, sql, params, p, err);
    while (rc == FW_OK && (more = s->ops->row(s, err)) != 0) {
        if (more < 0)
            rc = err ? err->code : FW_ERR_INTERNAL;
        else if (got_count < n)
            fw_sql_copy(s, 0, got[got_count++], FW_ID_SIZE);
    }
    s->ops->done(s);
    if (rc == FW_OK && got_count < n) {
        size_t i = first_not_inserted(rows, n, got, got_count);
        rc = fw_error_set(err, FW_ERR_ALREADY_EXISTS, "id", "a job with id %s already exists", rows[i].id);
        fw_error_prefix_field(err, "rows[%zu]", base + i);
    } else if (rc == FW_ERR_NOT_FOUND) {
        /* The team's foreign key: the rows of one call are one team's. */
        fw_error_set(err, rc, "team_id", "no team with id %s", rows[0].team_id);
        fw_error_prefix_field(err, "rows[%zu]", base);
    } else if (rc != FW_OK) {
        fw_error_prefix_field(err, "rows[%zu]", base);
    }
    free(got);
    return rc;
}

fw_err fw_jobs_insert_rows(fw_store *s, const fw_job_row *rows, size_t count, fw_error *err)
{
    int64_t now = fw_store_now();
    fw_err rc = FW_OK;

    for (size_t i = 0; i < count && rc == FW_OK; i++)
        rc = check_new_job(&rows[i], i, err);
    for (size_t i = 0; i < count && rc == FW_OK; i += INSERT_CHUNK)
        rc = insert_chunk(s, rows + i, count - i < INSERT_CHUNK ? count - i : INSERT_CHUNK, i, now, err);
    return rc;
}

fw_err fw_store_jobs_insert_keyed(fw_store *s, const fw_job_row *rows, size_t count, const fw_idempotency *idem,
                                  fw_error *err)
{
    fw_err rc = FW_OK;

    for (size_t i = 0; i < count && rc == FW_OK; i++)
        rc = check_new_job(&rows[i], i, err);
    if (rc != FW_OK || count == 0)
        return rc;
    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    /* The key first: a call that lost the race writes nothing. */
    rc = fw_idempotency_insert(s, rows[0].team_id, idem, err);
    if (rc == FW_OK)
        rc = fw_jobs_insert_rows(s, rows, count, err);
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_jobs_insert(fw_store *s, const fw_job_row *rows, size_t count, fw_error *err)
{
    return fw_store_jobs_insert_keyed(s, rows, count, NULL, err);
}

fw_err fw_jobs_query(fw_store *s, const char *where, const fw_sql_value *params, int count, size_t limit,
                     fw_job_row **rows, size_t *n, fw_error *err)
{
    char sql[1024];
    fw_err rc;

    *rows = NULL;
    *n = 0;
    snprintf(sql, sizeof(sql), "SELECT " JOB_COLUMNS " FROM jobs WHERE %s", where);
    rc = s->ops->query(s, sql, params, count, err);
    if (rc == FW_OK)
        rc = read_jobs(s, limit, rows, n, err);
    s->ops->done(s);
    return rc;
}

fw_err fw_store_job_get(fw_store *s, const char *team_id, const char *id, fw_job_row *out, fw_error *err)
{
    if (team_id)
        return query_job(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1 AND team_id = $2",
                         FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(team_id)), id, out, NULL, err);
    return query_job(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1", FW_SQL_ARGS(FW_SQL_T(id)), id, out, NULL,
                     err);
}

static int compare_ids(const void *a, const void *b) { return strcmp(a, b); }

fw_err fw_store_job_children(fw_store *s, const char *team_id, const char *parent_id, char (**ids)[FW_ID_SIZE],
                             size_t *count, fw_error *err)
{
    char(*out)[FW_ID_SIZE] = NULL;
    size_t n = 0, room = 0;
    fw_err rc;
    int got;

    *ids = NULL;
    *count = 0;
    /* No ORDER BY: with one, a planner may walk the team's jobs in time order
     * instead of using the parent index. ULIDs sort by time anyway. */
    rc = s->ops->query(s, "SELECT id FROM jobs WHERE parent_id = $1 AND team_id = $2",
                       FW_SQL_ARGS(FW_SQL_T(parent_id), FW_SQL_T(team_id)), err);
    while (rc == FW_OK && (got = s->ops->row(s, err)) > 0) {
        if (n == room) {
            char(*grown)[FW_ID_SIZE] = realloc(out, (room ? room * 2 : 8) * sizeof(*out));
            if (!grown) {
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
                break;
            }
            out = grown;
            room = room ? room * 2 : 8;
        }
        fw_sql_copy(s, 0, out[n++], FW_ID_SIZE);
    }
    if (rc == FW_OK && got < 0)
        rc = err ? err->code : FW_ERR_INTERNAL;
    s->ops->done(s);
    if (rc != FW_OK) {
        free(out);
        return rc;
    }
    if (n > 1)
        qsort(out, n, sizeof(*out), compare_ids);
    *ids = out;
    *count = n;
    return FW_OK;
}

static void filter_text(fw_sql_builder *b, const char *column, const char *value)
{
    if (!value)
        return;
    fw_sql_append(b, " AND ");
    fw_sql_append(b, column);
    fw_sql_append(b, " = ");
    fw_sql_param(b, FW_SQL_T(value));
}

fw_err fw_store_job_list(fw_store *s, const fw_job_filter *f, fw_job_row **rows, size_t *count, fw_error *err)
{
    fw_sql_builder b = {0};
    fw_err rc;

    *rows = NULL;
    *count = 0;
    if (!f->team_id)
        return fw_error_set(err, FW_ERR_INVALID, "team_id", "listing jobs needs a team");
    if (f->limit < 1 || f->limit > 1000)
        return fw_error_set(err, FW_ERR_INVALID, "limit", "the page size must be 1 to 1000, not %d", f->limit);
    /* The statement is built from the filters given, so each variant gets a
     * plan that uses its index (a batch, a parent, a template, a status). */
    fw_sql_append(&b, "SELECT " JOB_COLUMNS " FROM jobs WHERE team_id = ");
    fw_sql_param(&b, FW_SQL_T(f->team_id));
    filter_text(&b, "status", f->status);
    filter_text(&b, "template_id", f->template_id);
    filter_text(&b, "batch_id", f->batch_id);
    filter_text(&b, "parent_id", f->parent_id);
    if (f->created_after > 0) {
        fw_sql_append(&b, " AND created_at > ");
        fw_sql_param(&b, FW_SQL_I(f->created_after));
    }
    if (f->created_before > 0) {
        fw_sql_append(&b, " AND created_at < ");
        fw_sql_param(&b, FW_SQL_I(f->created_before));
    }
    if (f->after_id && *f->after_id) {
        fw_sql_append(&b, " AND (created_at, id) < (SELECT created_at, id FROM jobs WHERE team_id = $1 AND id = ");
        fw_sql_param(&b, FW_SQL_T(f->after_id));
        fw_sql_append(&b, ")");
    }
    fw_sql_append(&b, " ORDER BY created_at DESC, id DESC LIMIT ");
    fw_sql_param(&b, FW_SQL_I(f->limit));
    rc = s->ops->query(s, b.sql, b.params, b.count, err);
    if (rc == FW_OK)
        rc = read_jobs(s, (size_t)f->limit, rows, count, err);
    s->ops->done(s);
    return rc;
}

fw_err fw_store_job_changes(fw_store *s, int64_t after_version, int limit, fw_job_row **rows, size_t *count,
                            fw_error *err)
{
    fw_err rc;

    *rows = NULL;
    *count = 0;
    if (limit < 1 || limit > 10000)
        return fw_error_set(err, FW_ERR_INVALID, "limit", "the page size must be 1 to 10000, not %d", limit);
    rc = s->ops->query(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE version > $1 ORDER BY version LIMIT $2",
                       FW_SQL_ARGS(FW_SQL_I(after_version), FW_SQL_I(limit)), err);
    if (rc == FW_OK)
        rc = read_jobs(s, (size_t)limit, rows, count, err);
    s->ops->done(s);
    return rc;
}

/* ---- the server's changes -------------------------------------------------------------------- */

fw_err fw_store_job_cancel(fw_store *s, const char *team_id, const char *id, fw_job_row *out, fw_error *err)
{
    int found = 0;
    fw_err rc;

    memset(out, 0, sizeof(*out));
    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    rc = query_job(s,
                   "UPDATE jobs SET status = 'manually_cancelled', worker = '', lease_until = 0, updated_at = $3, "
                   "version = fw_next_version() "
                   "WHERE id = $1 AND ($2 IS NULL OR team_id = $2) AND status IN " UNFINISHED
                   " RETURNING " JOB_COLUMNS,
                   FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(team_id), FW_SQL_I(fw_store_now())), id, out, &found, err);
    if (rc == FW_OK && found)
        rc = fw_outbox_enqueue_end(s, id, err);
    if (rc == FW_OK && found) /* a parent's children go with it; a child's parent fails */
        rc = cancel_children(s, id, 0, err);
    if (rc == FW_OK && found)
        rc = settle_parent(s, id, 0, err);
    if (rc == FW_OK && !found) {
        rc = query_job(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1 AND ($2 IS NULL OR team_id = $2)",
                       FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(team_id)), id, out, NULL, err);
        if (rc == FW_OK)
            rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "id", "job %s has already ended (%s)", id,
                              out->status);
    }
    /* On FAILED_PRECONDITION *out keeps the job as it is; nothing changed. */
    return fw_sql_end(s, rc, err);
}

/* The UPDATE of a transition inside the caller's transaction; *changed says
 * whether the job was in `from` (and so changed). */
static fw_err transition_tx(fw_store *s, const char *id, const char *from, const char *to, const char *error,
                            int64_t *changed, fw_error *err)
{
    int64_t now = fw_store_now();
    int ended = strcmp(to, FW_STATUS_FINISHED) == 0 || strcmp(to, FW_STATUS_ERROR) == 0 ||
                strcmp(to, FW_STATUS_CANCELLED) == 0;
    fw_err rc = fw_sql_exec(s,
                     "UPDATE jobs SET status = $3, error = COALESCE($4, error), updated_at = $5, "
                     "error_at = CASE WHEN $6 = 1 THEN $5 ELSE error_at END, "
                     "finished_at = CASE WHEN $7 = 1 THEN $5 ELSE finished_at END, "
                     "worker = '', lease_until = 0, version = fw_next_version() "
                     "WHERE id = $1 AND status = $2",
                     FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(from), FW_SQL_T(to), FW_SQL_T(error), FW_SQL_I(now),
                                 FW_SQL_I(strcmp(to, FW_STATUS_ERROR) == 0), FW_SQL_I(ended)),
                     changed, err);
    if (rc == FW_OK && *changed == 1 && ended)
        rc = fw_outbox_enqueue_end(s, id, err);
    return rc;
}

/* ---- parents: nested jobs and joins --------------------------------------------------------- *
 *
 * A parent waits in pending while its children render. Whatever ends a
 * child (complete, cancel, release, reap, transition) settles the parent in
 * the same transaction, so a restart between "the last child finished" and
 * "the parent is queued" cannot happen: every child finished queues the
 * parent; a child that failed or was cancelled fails it, naming the child and
 * where its output was to go, and the other children are cancelled. */

/* Where the child's output goes in the parent's request: the stored request
 * has each job asset's child id in "jobId" (server/api/job_service.c). */
static void child_place(const char *kind, const char *request_json, const char *child_id, char *out, size_t size)
{
    json_t *req = request_json ? json_loads(request_json, 0, NULL) : NULL, *asset;
    size_t i;

    snprintf(out, size, "an asset");
    json_array_foreach(json_object_get(req, "assets"), i, asset) {
        const char *id = json_string_value(json_object_get(asset, "jobId"));
        const char *layer = json_string_value(json_object_get(asset, "layerName"));
        if (!id || strcmp(id, child_id) != 0)
            continue;
        if (strcmp(kind, "join") == 0)
            snprintf(out, size, "clip assets[%zu]", i);
        else
            snprintf(out, size, "layer '%s'", layer ? layer : "");
        break;
    }
    json_decref(req);
}

/* Cancel the unfinished children of parent_id, and theirs. */
static fw_err cancel_children(fw_store *s, const char *parent_id, int depth, fw_error *err)
{
    char (*ids)[FW_ID_SIZE] = NULL;
    size_t n = 0;
    int got;
    fw_err rc;

    if (depth > 8)
        return FW_OK;
    rc = s->ops->query(s,
                       "UPDATE jobs SET status = 'manually_cancelled', worker = '', lease_until = 0, updated_at = $2, "
                       "version = fw_next_version() WHERE parent_id = $1 AND status IN " UNFINISHED " RETURNING id",
                       FW_SQL_ARGS(FW_SQL_T(parent_id), FW_SQL_I(fw_store_now())), err);
    while (rc == FW_OK && (got = s->ops->row(s, err)) != 0) {
        if (got < 0) {
            rc = err ? err->code : FW_ERR_INTERNAL;
            break;
        }
        if ((n & (n - 1)) == 0) { /* grow at 0, 1, 2, 4, ... */
            void *grown = realloc(ids, (n ? n * 2 : 1) * sizeof(*ids));
            if (!grown) {
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory cancelling child jobs");
                break;
            }
            ids = grown;
        }
        fw_sql_copy(s, 0, ids[n++], FW_ID_SIZE);
    }
    s->ops->done(s);
    for (size_t i = 0; i < n && rc == FW_OK; i++)
        if ((rc = fw_outbox_enqueue_end(s, ids[i], err)) == FW_OK)
            rc = cancel_children(s, ids[i], depth + 1, err);
    free(ids);
    return rc;
}

static fw_err settle_parent(fw_store *s, const char *child_id, int depth, fw_error *err)
{
    fw_job_row child, parent;
    int found = 0;
    int64_t unfinished = 0, changed = 0;
    fw_err rc;

    memset(&parent, 0, sizeof(parent));
    rc = query_job(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1", FW_SQL_ARGS(FW_SQL_T(child_id)), child_id,
                   &child, &found, err);
    if (rc != FW_OK || !found || !child.parent_id[0] || depth > 8)
        goto done;
    if (strcmp(child.status, FW_STATUS_FINISHED) == 0) {
        /* Children finishing at the same moment in two transactions would each see the other still
         * running and neither queue the parent: the parent's row lock puts them one after the other,
         * and the second counts the first as finished. */
        char lock_sql[128];
        int64_t one = 0;
        snprintf(lock_sql, sizeof(lock_sql), "SELECT 1 FROM jobs WHERE id = $1 %s", s->ops->row_lock);
        if ((rc = fw_sql_int(s, lock_sql, FW_SQL_ARGS(FW_SQL_T(child.parent_id)), &one, NULL, err)) != FW_OK)
            goto done;
        rc = fw_sql_int(s, "SELECT COUNT(*) FROM jobs WHERE parent_id = $1 AND status <> 'finished'",
                        FW_SQL_ARGS(FW_SQL_T(child.parent_id)), &unfinished, NULL, err);
        if (rc == FW_OK && unfinished == 0)
            rc = transition_tx(s, child.parent_id, FW_STATUS_PENDING, FW_STATUS_QUEUED, NULL, &changed, err);
    } else if (strcmp(child.status, FW_STATUS_ERROR) == 0 || strcmp(child.status, FW_STATUS_CANCELLED) == 0) {
        char place[320], text[2048];
        rc = query_job(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1", FW_SQL_ARGS(FW_SQL_T(child.parent_id)),
                       child.parent_id, &parent, &found, err);
        if (rc != FW_OK || !found || strcmp(parent.status, FW_STATUS_PENDING) != 0)
            goto done;
        child_place(parent.kind, parent.request_json, child.id, place, sizeof(place));
        if (strcmp(child.status, FW_STATUS_CANCELLED) == 0)
            snprintf(text, sizeof(text), "the child job '%s' for %s was cancelled", child.id, place);
        else
            snprintf(text, sizeof(text), "the child job '%s' for %s failed: %s", child.id, place,
                     child.error ? child.error : "no reason given");
        rc = transition_tx(s, parent.id, FW_STATUS_PENDING, FW_STATUS_ERROR, text, &changed, err);
        if (rc == FW_OK && changed == 1)
            rc = cancel_children(s, parent.id, 0, err);
        if (rc == FW_OK && changed == 1)
            rc = settle_parent(s, parent.id, depth + 1, err);
    }
done:
    fw_job_row_clear(&child);
    fw_job_row_clear(&parent);
    return rc;
}

fw_err fw_store_job_transition(fw_store *s, const char *id, const char *from, const char *to, const char *error,
                               fw_error *err)
{
    int64_t changed = 0, jobs = 0;
    int exists = 0;
    fw_err rc = s->ops->begin(s, FW_TX_WRITE, err);

    if (rc != FW_OK)
        return rc;
    rc = transition_tx(s, id, from, to, error, &changed, err);
    if (rc == FW_OK && changed == 1)
        rc = settle_parent(s, id, 0, err);
    if (rc == FW_OK && changed == 0) {
        rc = fw_sql_int(s, "SELECT COUNT(*) FROM jobs WHERE id = $1", FW_SQL_ARGS(FW_SQL_T(id)), &jobs, &exists, err);
        if (rc == FW_OK && jobs == 0)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no job with id %s", id);
        else if (rc == FW_OK)
            rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "status", "job %s is not %s, so it cannot become %s",
                              id, from, to);
    }
    return fw_sql_end(s, rc, err);
}

/* ---- the workers' changes -------------------------------------------------------------------- */

fw_err fw_store_job_claim(fw_store *s, const char *worker, int64_t lease_ms, fw_job_row *out, fw_error *err)
{
    return fw_store_job_claim_limited(s, worker, lease_ms, 0, out, err);
}

fw_err fw_store_job_claim_limited(fw_store *s, const char *worker, int64_t lease_ms, int team_renders,
                                  fw_job_row *out, fw_error *err)
{
    char sql[2048];
    int64_t now = fw_store_now();
    int found = 0;
    fw_err rc;

    memset(out, 0, sizeof(*out));
    if ((rc = fw_store_check_claim(worker ? worker : "", lease_ms, err)) != FW_OK)
        return rc;
    /* Oldest first. The outer status check matters on PostgreSQL: the row
     * found may have been claimed and committed since the statement began.
     * A claim that waited for the transaction queueing the job (a parent
     * whose last child just finished) does not start it before that change:
     * its clock was read before the wait. */
    snprintf(sql, sizeof(sql),
             "UPDATE jobs SET status = 'render:dorender', worker = $1, lease_until = $2, "
             "attempts = attempts + 1, "
             "started_at = CASE WHEN started_at <> 0 THEN started_at WHEN updated_at > $3 THEN updated_at ELSE $3 END, "
             "progress = 0, stage = '', updated_at = CASE WHEN updated_at > $3 THEN updated_at ELSE $3 END, "
             "version = fw_next_version() "
             "WHERE id = (SELECT id FROM jobs q WHERE status = 'queued' AND retry_at <= $3%s "
             "ORDER BY created_at, id LIMIT 1 %s) "
             "AND status = 'queued' RETURNING " JOB_COLUMNS,
             team_renders > 0 ? " AND (SELECT COUNT(*) FROM jobs r WHERE r.team_id = q.team_id AND "
                                "r.status = 'render:dorender') < $4"
                              : "",
             s->ops->claim_lock);
    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    if (team_renders > 0)
        rc = query_job(s, sql,
                       FW_SQL_ARGS(FW_SQL_T(worker), FW_SQL_I(now + lease_ms), FW_SQL_I(now), FW_SQL_I(team_renders)),
                       NULL, out, &found, err);
    else
        rc = query_job(s, sql, FW_SQL_ARGS(FW_SQL_T(worker), FW_SQL_I(now + lease_ms), FW_SQL_I(now)), NULL, out,
                       &found, err);
    if (rc == FW_OK && !found)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, NULL, "no job is queued");
    if (rc != FW_OK)
        fw_job_row_clear(out);
    return fw_sql_end(s, rc, err);
}

/* Why a worker's call changed nothing: the job is gone, or not its own. */
static fw_err not_held(fw_store *s, const char *id, const char *worker, char status[24], fw_error *err)
{
    int got;
    fw_err rc = s->ops->query(s, "SELECT status, worker FROM jobs WHERE id = $1", FW_SQL_ARGS(FW_SQL_T(id)), err);

    if (rc == FW_OK) {
        got = s->ops->row(s, err);
        if (got > 0) {
            char now_status[24], holder[64];
            fw_sql_copy(s, 0, now_status, sizeof(now_status));
            fw_sql_copy(s, 1, holder, sizeof(holder));
            if (status)
                memcpy(status, now_status, sizeof(now_status));
            rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "worker",
                              "worker %s no longer holds job %s: it is %s%s%s", worker, id, now_status,
                              *holder ? " and held by " : "", holder);
        } else if (got == 0) {
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no job with id %s", id);
        } else {
            rc = err ? err->code : FW_ERR_INTERNAL;
        }
    }
    s->ops->done(s);
    return rc;
}

fw_err fw_store_job_heartbeat(fw_store *s, const char *id, const char *worker, int64_t lease_ms, double progress,
                              const char *stage, char status[24], fw_error *err)
{
    int64_t now = fw_store_now(), changed = 0;
    fw_outbox_mark mark;
    fw_err rc = s->ops->begin(s, FW_TX_WRITE, err);

    if (rc != FW_OK)
        return rc;
    rc = fw_outbox_heartbeat_mark(s, id, &mark, err);
    if (rc == FW_OK)
        rc = fw_sql_exec(s,
                     "UPDATE jobs SET lease_until = $3, progress = $4, stage = $5, updated_at = $6, "
                     "version = fw_next_version() "
                     "WHERE id = $1 AND worker = $2 AND status = 'render:dorender'",
                     FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(worker), FW_SQL_I(now + lease_ms),
                                 FW_SQL_D(progress < 0 ? 0 : progress > 100 ? 100 : progress),
                                 FW_SQL_T(stage ? stage : ""), FW_SQL_I(now)),
                     &changed, err);
    if (rc == FW_OK && changed == 1)
        rc = fw_outbox_heartbeat_events(s, id, &mark, progress, stage, err);
    if (rc == FW_OK && changed == 1 && status)
        snprintf(status, 24, "%s", FW_STATUS_RENDERING);
    else if (rc == FW_OK && changed == 0)
        rc = not_held(s, id, worker, status, err);
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_job_complete(fw_store *s, const char *id, const char *worker, double render_duration, int frames,
                             const char *missing_fonts_json, const char *error, fw_error *err)
{
    int64_t now = fw_store_now(), changed = 0;
    fw_err rc = s->ops->begin(s, FW_TX_WRITE, err);

    if (rc != FW_OK)
        return rc;
    if (!error)
        rc = fw_sql_exec(s,
                         "UPDATE jobs SET status = 'finished', progress = 100, finished_at = $3, updated_at = $3, "
                         "render_duration = $4, missing_fonts_json = $5, rendered_frames = $6, worker = '', "
                         "lease_until = 0, version = fw_next_version() "
                         "WHERE id = $1 AND worker = $2 AND status = 'render:dorender'",
                         FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(worker), FW_SQL_I(now), FW_SQL_D(render_duration),
                                     FW_SQL_T(missing_fonts_json), FW_SQL_I(frames > 0 ? frames : 0)),
                         &changed, err);
    else
        rc = fw_sql_exec(s,
                         "UPDATE jobs SET status = 'error', error = $3, error_at = $4, updated_at = $4, "
                         "render_duration = $5, missing_fonts_json = $6, worker = '', lease_until = 0, "
                         "version = fw_next_version() "
                         "WHERE id = $1 AND worker = $2 AND status = 'render:dorender'",
                         FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(worker), FW_SQL_T(error), FW_SQL_I(now),
                                     FW_SQL_D(render_duration), FW_SQL_T(missing_fonts_json)),
                         &changed, err);
    if (rc == FW_OK && changed == 1)
        rc = fw_outbox_enqueue_end(s, id, err);
    if (rc == FW_OK && changed == 1)
        rc = settle_parent(s, id, 0, err);
    if (rc == FW_OK && changed == 0)
        rc = not_held(s, id, worker, NULL, err);
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_job_note_render(fw_store *s, const char *id, const char *worker, int chunks,
                                const char *workers_json, fw_error *err)
{
    json_t *workers = workers_json ? json_loads(workers_json, 0, NULL) : NULL;
    int64_t changed = 0;
    int is_array = json_is_array(workers);
    fw_err rc;

    json_decref(workers);
    if (chunks < 0)
        return fw_error_set(err, FW_ERR_INVALID, "chunks", "a render has 0 chunks or more, not %d", chunks);
    if (workers_json && !is_array)
        return fw_error_set(err, FW_ERR_INVALID, "workers_json", "the workers are a JSON array of names");
    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    rc = fw_sql_exec(s,
                     "UPDATE jobs SET chunks = $3, workers_json = $4, updated_at = $5, version = fw_next_version() "
                     "WHERE id = $1 AND worker = $2 AND status = 'render:dorender'",
                     FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(worker), FW_SQL_I(chunks), FW_SQL_T(workers_json),
                                 FW_SQL_I(fw_store_now())),
                     &changed, err);
    if (rc == FW_OK && changed == 0)
        rc = not_held(s, id, worker, NULL, err);
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_job_note_cache(fw_store *s, const char *id, const char *worker, int cached, int chunks_cached,
                               fw_error *err)
{
    int64_t changed = 0;
    fw_err rc;

    if (cached != 0 && cached != 1)
        return fw_error_set(err, FW_ERR_INVALID, "cached", "an output came from the cache (1) or not (0), not %d",
                            cached);
    if (chunks_cached < 0)
        return fw_error_set(err, FW_ERR_INVALID, "chunks_cached", "a render has 0 cached chunks or more, not %d",
                            chunks_cached);
    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    rc = fw_sql_exec(s,
                     "UPDATE jobs SET cached = $3, chunks_cached = $4, updated_at = $5, version = fw_next_version() "
                     "WHERE id = $1 AND worker = $2 AND status = 'render:dorender'",
                     FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(worker), FW_SQL_I(cached), FW_SQL_I(chunks_cached),
                                 FW_SQL_I(fw_store_now())),
                     &changed, err);
    if (rc == FW_OK && changed == 0)
        rc = not_held(s, id, worker, NULL, err);
    return fw_sql_end(s, rc, err);
}

/* Requeue while attempts remain, else fail: shared by release and reap. */
#define REQUEUE_OR_FAIL                                                                                          \
    "status = CASE WHEN attempts < $2 THEN 'queued' ELSE 'error' END, "                                          \
    "error = CASE WHEN attempts < $2 THEN error ELSE $3 END, "                                                   \
    "error_at = CASE WHEN attempts < $2 THEN error_at ELSE $4 END, "                                             \
    "progress = CASE WHEN attempts < $2 THEN 0 ELSE progress END, "                                              \
    "stage = '', worker = '', lease_until = 0, updated_at = $4, version = fw_next_version() "

fw_err fw_store_job_release(fw_store *s, const char *id, const char *worker, const char *error, int max_attempts,
                            int64_t retry_ms, fw_error *err)
{
    int64_t changed = 0, now = fw_store_now();
    fw_err rc = s->ops->begin(s, FW_TX_WRITE, err);

    if (rc != FW_OK)
        return rc;
    rc = fw_sql_exec(s,
                     "UPDATE jobs SET retry_at = $6, " REQUEUE_OR_FAIL
                     "WHERE id = $1 AND worker = $5 AND status = 'render:dorender'",
                     FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_I(max_attempts),
                                 FW_SQL_T(error ? error : "the worker gave the job back"), FW_SQL_I(now),
                                 FW_SQL_T(worker), FW_SQL_I(retry_ms > 0 ? now + retry_ms : 0)),
                     &changed, err);
    /* Only queues when the job failed rather than went back to the queue. */
    if (rc == FW_OK && changed == 1)
        rc = fw_outbox_enqueue_end(s, id, err);
    if (rc == FW_OK && changed == 1) /* settles a parent only when the job failed */
        rc = settle_parent(s, id, 0, err);
    if (rc == FW_OK && changed == 0)
        rc = not_held(s, id, worker, NULL, err);
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_job_reap(fw_store *s, int64_t now, int max_attempts, int *requeued, int *failed, fw_error *err)
{
    int back = 0, dead = 0, got;
    char (*ended)[FW_ID_SIZE] = NULL; /* the failed jobs, whose webhooks are queued */
    fw_err rc = s->ops->begin(s, FW_TX_WRITE, err);

    if (requeued)
        *requeued = 0;
    if (failed)
        *failed = 0;
    if (rc != FW_OK)
        return rc;
    rc = s->ops->query(s,
                       "UPDATE jobs SET " REQUEUE_OR_FAIL
                       "WHERE status = 'render:dorender' AND lease_until > 0 AND lease_until < $1 "
                       "RETURNING status, id",
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
        if (status && strcmp(status, FW_STATUS_QUEUED) == 0) {
            back++;
            continue;
        }
        if ((dead & (dead - 1)) == 0) { /* grow at 0, 1, 2, 4, ... */
            void *grown = realloc(ended, (size_t)(dead ? dead * 2 : 1) * sizeof(*ended));
            if (!grown) {
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory reaping jobs");
                break;
            }
            ended = grown;
        }
        fw_sql_copy(s, 1, ended[dead++], FW_ID_SIZE);
    }
    s->ops->done(s);
    for (int i = 0; i < dead && rc == FW_OK; i++)
        if ((rc = fw_outbox_enqueue_end(s, ended[i], err)) == FW_OK)
            rc = settle_parent(s, ended[i], 0, err);
    free(ended);
    rc = fw_sql_end(s, rc, err);
    if (rc == FW_OK) {
        if (requeued)
            *requeued = back;
        if (failed)
            *failed = dead;
    }
    return rc;
}

fw_err fw_store_team_load(fw_store *s, const char *team_id, int64_t since, fw_team_load *out, fw_error *err)
{
    fw_err rc;
    int found = 0;

    memset(out, 0, sizeof(*out));
    rc = fw_sql_one_row(s,
                        "SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM jobs WHERE team_id = $1 AND created_at >= $2",
                        FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_I(since)), err);
    if (rc == FW_OK) {
        out->created = s->ops->col_int(s, 0);
        out->oldest_created_at = s->ops->col_int(s, 1);
    }
    s->ops->done(s);
    if (rc == FW_OK)
        rc = fw_sql_int(s,
                        "SELECT COUNT(*) FROM jobs WHERE team_id = $1 AND status IN ('queued', 'pending', "
                        "'render:dorender')",
                        FW_SQL_ARGS(FW_SQL_T(team_id)), &out->unfinished, &found, err);
    return rc;
}
