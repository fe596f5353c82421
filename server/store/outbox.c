/*
 * outbox.c - webhook deliveries in the store: the outbox a job's end writes
 * to, the claims and attempts of the notifier that empties it, and the
 * team's signing secret.
 *
 * A delivery is queued by the transaction that changes the job (jobs.c calls
 * fw_outbox_enqueue_end inside its own transaction), so "the job ended" and
 * "its webhook will be called" commit together or not at all. The unique
 * (job_id, event) index makes each event of a job a single delivery however
 * often the enqueue runs; the delivery's id is what the receiver sees as
 * webhook-id on every retry, so it can drop duplicates.
 *
 * Claims work like job claims: a lease rather than a lock held across the
 * HTTP call, so a notifier that dies mid-call only delays the delivery until
 * the lease runs out.
 */
#include "server/store/store_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/util/id.h"

#define OUTBOX_COLUMNS                                                                                           \
    "id, team_id, job_id, event, status, attempts, next_attempt_at, lease_until, created_at, delivered_at, "     \
    "last_error"

#define FINAL_STATUSES "('finished', 'error', 'manually_cancelled')"

void fw_webhook_delivery_clear(fw_webhook_delivery *d)
{
    if (!d)
        return;
    free(d->last_error);
    for (size_t i = 0; i < d->attempt_count; i++)
        free(d->attempt_log[i].error);
    free(d->attempt_log);
    memset(d, 0, sizeof(*d));
}

void fw_webhook_deliveries_free(fw_webhook_delivery **list, size_t count)
{
    if (!list || !*list)
        return;
    for (size_t i = 0; i < count; i++)
        fw_webhook_delivery_clear(&(*list)[i]);
    free(*list);
    *list = NULL;
}

static void read_delivery(fw_store *s, fw_webhook_delivery *d)
{
    memset(d, 0, sizeof(*d));
    fw_sql_copy(s, 0, d->id, sizeof(d->id));
    fw_sql_copy(s, 1, d->team_id, sizeof(d->team_id));
    fw_sql_copy(s, 2, d->job_id, sizeof(d->job_id));
    fw_sql_copy(s, 3, d->event, sizeof(d->event));
    fw_sql_copy(s, 4, d->status, sizeof(d->status));
    d->attempts = (int)s->ops->col_int(s, 5);
    d->next_attempt_at = s->ops->col_int(s, 6);
    d->lease_until = s->ops->col_int(s, 7);
    d->created_at = s->ops->col_int(s, 8);
    d->delivered_at = s->ops->col_int(s, 9);
    d->last_error = fw_sql_dup(s, 10);
}

/* ---- queueing, inside the job's transaction -------------------------------------------------- */

fw_err fw_outbox_enqueue_end(fw_store *s, const char *job_id, fw_error *err)
{
    char id[FW_ID_SIZE];
    int64_t now = fw_store_now();

    fw_id_new(id);
    /* SQLite needs the WHERE to parse INSERT ... SELECT ... ON CONFLICT. */
    return fw_sql_exec(s,
                       "INSERT INTO webhook_outbox (id, team_id, job_id, event, status, attempts, next_attempt_at, "
                       "created_at) "
                       "SELECT $1, team_id, id, 'job.' || status, 'pending', 0, $2, $2 FROM jobs "
                       "WHERE id = $3 AND webhook_json IS NOT NULL AND status IN " FINAL_STATUSES " "
                       "ON CONFLICT (job_id, event) DO NOTHING",
                       FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_I(now), FW_SQL_T(job_id)), NULL, err);
}

static fw_err enqueue_event(fw_store *s, const char *job_id, const char *event, fw_error *err)
{
    char id[FW_ID_SIZE];
    int64_t now = fw_store_now();

    fw_id_new(id);
    return fw_sql_exec(s,
                       "INSERT INTO webhook_outbox (id, team_id, job_id, event, status, attempts, next_attempt_at, "
                       "created_at) "
                       "SELECT $1, team_id, id, $2, 'pending', 0, $3, $3 FROM jobs "
                       "WHERE id = $4 AND webhook_json IS NOT NULL "
                       "ON CONFLICT (job_id, event) DO NOTHING",
                       FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_T(event), FW_SQL_I(now), FW_SQL_T(job_id)), NULL, err);
}

/* Which optional events the webhook asks for ("events": ["progress", "stage"]). */
static void wanted_events(const char *webhook_json, fw_outbox_mark *mark)
{
    json_t *hook, *events, *item;
    size_t i;

    /* Most webhooks ask for no events: skip the parse for them. */
    if (!webhook_json || !strstr(webhook_json, "\"events\""))
        return;
    hook = json_loads(webhook_json, 0, NULL);
    events = json_object_get(hook, "events");
    json_array_foreach(events, i, item) {
        const char *name = json_string_value(item);
        if (name && strcmp(name, "progress") == 0)
            mark->progress_events = 1;
        else if (name && strcmp(name, "stage") == 0)
            mark->stage_events = 1;
    }
    json_decref(hook);
}

fw_err fw_outbox_heartbeat_mark(fw_store *s, const char *job_id, fw_outbox_mark *mark, fw_error *err)
{
    fw_err rc;
    int got;

    memset(mark, 0, sizeof(*mark));
    rc = s->ops->query(s, "SELECT progress, stage, webhook_json FROM jobs WHERE id = $1",
                       FW_SQL_ARGS(FW_SQL_T(job_id)), err);
    if (rc == FW_OK) {
        got = s->ops->row(s, err);
        if (got > 0) {
            mark->progress = s->ops->col_double(s, 0);
            fw_sql_copy(s, 1, mark->stage, sizeof(mark->stage));
            wanted_events(s->ops->col_text(s, 2), mark);
        } else if (got < 0) {
            rc = err ? err->code : FW_ERR_INTERNAL;
        }
    }
    s->ops->done(s);
    return rc;
}

fw_err fw_outbox_heartbeat_events(fw_store *s, const char *job_id, const fw_outbox_mark *mark, double progress,
                                  const char *stage, fw_error *err)
{
    static const int quarters[] = {25, 50, 75};
    char event[48];
    fw_err rc = FW_OK;

    for (size_t i = 0; mark->progress_events && i < sizeof(quarters) / sizeof(quarters[0]) && rc == FW_OK; i++) {
        if (mark->progress < quarters[i] && progress >= quarters[i]) {
            snprintf(event, sizeof(event), "job.progress.%d", quarters[i]);
            rc = enqueue_event(s, job_id, event, err);
        }
    }
    if (rc == FW_OK && mark->stage_events && stage && *stage && strcmp(stage, mark->stage) != 0) {
        snprintf(event, sizeof(event), "job.stage.%s", stage);
        rc = enqueue_event(s, job_id, event, err);
    }
    return rc;
}

/* ---- the notifier's calls -------------------------------------------------------------------- */

fw_err fw_store_outbox_claim(fw_store *s, int64_t now, int64_t lease_ms, fw_webhook_delivery *out, fw_error *err)
{
    char sql[1024];
    fw_err rc;
    int got = 0;

    memset(out, 0, sizeof(*out));
    if ((rc = fw_store_check_claim(NULL, lease_ms, err)) != FW_OK)
        return rc;
    /* As with job claims, the outer conditions matter on PostgreSQL: the
     * row found may have been claimed and committed since the statement
     * began. */
    snprintf(sql, sizeof(sql),
             "UPDATE webhook_outbox SET lease_until = $2 "
             "WHERE id = (SELECT id FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= $1 "
             "AND lease_until <= $1 ORDER BY next_attempt_at, id LIMIT 1 %s) "
             "AND status = 'pending' AND lease_until <= $1 RETURNING " OUTBOX_COLUMNS,
             s->ops->claim_lock);
    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    rc = s->ops->query(s, sql, FW_SQL_ARGS(FW_SQL_I(now), FW_SQL_I(now + lease_ms)), err);
    if (rc == FW_OK) {
        got = s->ops->row(s, err);
        if (got > 0)
            read_delivery(s, out);
        else if (got < 0)
            rc = err ? err->code : FW_ERR_INTERNAL;
    }
    s->ops->done(s);
    if (rc == FW_OK && got == 0)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, NULL, "no webhook delivery is due");
    if (rc != FW_OK)
        fw_webhook_delivery_clear(out);
    return fw_sql_end(s, rc, err);
}

/* The wait before retry number n (1 for the first): backoff doubling per
 * retry up to the cap, less up to a quarter at random so that deliveries
 * failing together do not retry together. A wait never shrinks below
 * three quarters of its nominal value, so waits still grow. */
static int64_t retry_delay(const fw_webhook_retry *retry, int n)
{
    int64_t delay = retry->backoff_ms > 0 ? retry->backoff_ms : 1000;
    uint32_t random = 0;

    for (int i = 1; i < n && delay < INT64_MAX / 4; i++)
        delay *= 2;
    if (retry->max_backoff_ms > 0 && delay > retry->max_backoff_ms)
        delay = retry->max_backoff_ms;
    fw_random_bytes(&random, sizeof(random));
    return delay - (int64_t)((double)delay / 4 * ((double)random / 4294967296.0));
}

fw_err fw_store_outbox_record(fw_store *s, const char *id, const fw_webhook_attempt *attempt, int ok,
                              const fw_webhook_retry *retry, char status[16], fw_error *err)
{
    char attempt_id[FW_ID_SIZE], current[16] = "";
    const char *next;
    int64_t now = fw_store_now(), attempts = 0, next_at = 0;
    fw_err rc;
    int got;

    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    rc = s->ops->query(s, "SELECT attempts, status FROM webhook_outbox WHERE id = $1", FW_SQL_ARGS(FW_SQL_T(id)),
                       err);
    if (rc == FW_OK) {
        got = s->ops->row(s, err);
        if (got > 0) {
            attempts = s->ops->col_int(s, 0);
            fw_sql_copy(s, 1, current, sizeof(current));
        } else if (got == 0) {
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "id", "no webhook delivery with id %s", id);
        } else {
            rc = err ? err->code : FW_ERR_INTERNAL;
        }
    }
    s->ops->done(s);
    if (rc == FW_OK && strcmp(current, FW_DELIVERY_PENDING) != 0)
        rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "id", "webhook delivery %s is already %s", id, current);
    if (rc != FW_OK)
        return fw_sql_end(s, rc, err);

    attempts++;
    fw_id_new(attempt_id);
    rc = fw_sql_exec(s,
                     "INSERT INTO webhook_attempts (id, outbox_id, attempt, started_at, duration_ms, http_status, "
                     "error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                     FW_SQL_ARGS(FW_SQL_T(attempt_id), FW_SQL_T(id), FW_SQL_I(attempts),
                                 FW_SQL_I(attempt->started_at), FW_SQL_I(attempt->duration_ms),
                                 FW_SQL_I(attempt->http_status), FW_SQL_T(ok ? NULL : attempt->error)),
                     NULL, err);
    if (ok) {
        next = FW_DELIVERY_DELIVERED;
    } else if (retry && attempts <= retry->max_retries) {
        next = FW_DELIVERY_PENDING;
        next_at = now + retry_delay(retry, (int)attempts);
    } else {
        next = FW_DELIVERY_FAILED;
    }
    if (rc == FW_OK)
        rc = fw_sql_exec(s,
                         "UPDATE webhook_outbox SET attempts = $2, status = $3, "
                         "next_attempt_at = CASE WHEN $4 > 0 THEN $4 ELSE next_attempt_at END, lease_until = 0, "
                         "last_error = $5, delivered_at = CASE WHEN $6 = 1 THEN $7 ELSE delivered_at END "
                         "WHERE id = $1",
                         FW_SQL_ARGS(FW_SQL_T(id), FW_SQL_I(attempts), FW_SQL_T(next), FW_SQL_I(next_at),
                                     FW_SQL_T(ok ? NULL : attempt->error), FW_SQL_I(ok != 0), FW_SQL_I(now)),
                         NULL, err);
    rc = fw_sql_end(s, rc, err);
    if (rc == FW_OK && status)
        snprintf(status, 16, "%s", next);
    return rc;
}

fw_err fw_store_outbox_release(fw_store *s, const char *id, fw_error *err)
{
    return fw_sql_exec(s, "UPDATE webhook_outbox SET lease_until = 0 WHERE id = $1 AND status = 'pending'",
                       FW_SQL_ARGS(FW_SQL_T(id)), NULL, err);
}

/* ---- reading --------------------------------------------------------------------------------- */

static fw_err read_deliveries(fw_store *s, fw_webhook_delivery **list, size_t *count, fw_error *err)
{
    fw_webhook_delivery *rows = NULL;
    size_t n = 0, room = 0;
    int got;

    while ((got = s->ops->row(s, err)) > 0) {
        if (n == room) {
            size_t bigger = room ? room * 2 : 8;
            fw_webhook_delivery *grown = realloc(rows, bigger * sizeof(*rows));
            if (!grown) {
                fw_webhook_deliveries_free(&rows, n);
                return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing webhook deliveries");
            }
            rows = grown;
            room = bigger;
        }
        read_delivery(s, &rows[n++]);
    }
    if (got < 0) {
        fw_webhook_deliveries_free(&rows, n);
        return err ? err->code : FW_ERR_INTERNAL;
    }
    *list = rows;
    *count = n;
    return FW_OK;
}

static fw_err add_attempt(fw_webhook_delivery *d, fw_store *s, fw_error *err)
{
    fw_webhook_attempt *grown = realloc(d->attempt_log, (d->attempt_count + 1) * sizeof(*grown));
    fw_webhook_attempt *a;

    if (!grown)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory listing webhook attempts");
    d->attempt_log = grown;
    a = &grown[d->attempt_count++];
    a->attempt = (int)s->ops->col_int(s, 1);
    a->started_at = s->ops->col_int(s, 2);
    a->duration_ms = s->ops->col_int(s, 3);
    a->http_status = (int)s->ops->col_int(s, 4);
    a->error = fw_sql_dup(s, 5);
    return FW_OK;
}

fw_err fw_store_outbox_list(fw_store *s, const char *team_id, const char *job_id, fw_webhook_delivery **list,
                            size_t *count, fw_error *err)
{
    fw_err rc;
    int got;

    *list = NULL;
    *count = 0;
    rc = s->ops->begin(s, FW_TX_READ, err);
    if (rc != FW_OK)
        return rc;
    rc = s->ops->query(s,
                       "SELECT " OUTBOX_COLUMNS " FROM webhook_outbox WHERE job_id = $1 "
                       "AND ($2 IS NULL OR team_id = $2) ORDER BY created_at, id",
                       FW_SQL_ARGS(FW_SQL_T(job_id), FW_SQL_T(team_id)), err);
    if (rc == FW_OK)
        rc = read_deliveries(s, list, count, err);
    s->ops->done(s);
    if (rc == FW_OK && *count > 0)
        rc = s->ops->query(s,
                           "SELECT a.outbox_id, a.attempt, a.started_at, a.duration_ms, a.http_status, a.error "
                           "FROM webhook_attempts a JOIN webhook_outbox o ON o.id = a.outbox_id "
                           "WHERE o.job_id = $1 ORDER BY a.outbox_id, a.attempt",
                           FW_SQL_ARGS(FW_SQL_T(job_id)), err);
    while (rc == FW_OK && *count > 0 && (got = s->ops->row(s, err)) != 0) {
        const char *outbox_id = s->ops->col_text(s, 0);
        if (got < 0) {
            rc = err ? err->code : FW_ERR_INTERNAL;
            break;
        }
        for (size_t i = 0; i < *count && rc == FW_OK; i++)
            if (outbox_id && strcmp((*list)[i].id, outbox_id) == 0)
                rc = add_attempt(&(*list)[i], s, err);
    }
    if (*count > 0)
        s->ops->done(s);
    if (rc != FW_OK) {
        fw_webhook_deliveries_free(list, *count);
        *count = 0;
    }
    return fw_sql_end(s, rc, err);
}

/* ---- the team's secret ----------------------------------------------------------------------- */

static void base64(const unsigned char *in, size_t len, char *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;

    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

fw_err fw_store_webhook_secret(fw_store *s, const char *team_id, char secret[FW_WEBHOOK_SECRET_SIZE], fw_error *err)
{
    unsigned char random[32];
    char fresh[FW_WEBHOOK_SECRET_SIZE];
    fw_err rc;
    int got;

    if (fw_random_bytes(random, sizeof(random)) != 0)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "the system gave no random bytes for a webhook secret");
    memcpy(fresh, "whsec_", 6);
    base64(random, sizeof(random), fresh + 6);
    rc = s->ops->begin(s, FW_TX_WRITE, err);
    if (rc != FW_OK)
        return rc;
    /* Made once: a second caller racing the first reads the first's. */
    rc = fw_sql_exec(s, "UPDATE teams SET webhook_secret = $2 WHERE id = $1 AND webhook_secret IS NULL",
                     FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(fresh)), NULL, err);
    if (rc == FW_OK)
        rc = s->ops->query(s, "SELECT webhook_secret FROM teams WHERE id = $1", FW_SQL_ARGS(FW_SQL_T(team_id)), err);
    if (rc == FW_OK) {
        got = s->ops->row(s, err);
        if (got > 0)
            fw_sql_copy(s, 0, secret, FW_WEBHOOK_SECRET_SIZE);
        else if (got == 0)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "team_id", "no team with id %s", team_id);
        else
            rc = err ? err->code : FW_ERR_INTERNAL;
        s->ops->done(s);
    }
    return fw_sql_end(s, rc, err);
}
