/*
 * figures.c - what operators are shown of the store (see fw_store_figures in
 * store.h): jobs per status, the queue, finished renders' durations and frame
 * rate, webhook deliveries. Every figure is a sum over all teams, read in one
 * transaction so the numbers agree with each other.
 *
 * Cost: each figure is one aggregate query over an index (jobs by status,
 * recently finished jobs, the outbox by status); a scrape every few seconds
 * is fine for stores of millions of jobs, a scrape per request is not.
 */
#include "server/store/store_internal.h"

#include <stdio.h>
#include <string.h>

const char *const fw_store_statuses[6] = {
    FW_STATUS_QUEUED, FW_STATUS_PENDING, FW_STATUS_RENDERING, FW_STATUS_FINISHED, FW_STATUS_ERROR, FW_STATUS_CANCELLED,
};

static fw_err read_statuses(fw_store *s, fw_store_figures *out, fw_error *err)
{
    fw_err rc = s->ops->query(s, "SELECT status, COUNT(*) FROM jobs GROUP BY status", NULL, 0, err);
    int more = 0;

    while (rc == FW_OK && (more = s->ops->row(s, err)) > 0) {
        const char *status = s->ops->col_text(s, 0);
        for (size_t i = 0; status && i < 6; i++)
            if (strcmp(status, fw_store_statuses[i]) == 0)
                out->by_status[i] = s->ops->col_int(s, 1);
    }
    if (rc == FW_OK && more < 0)
        rc = err ? err->code : FW_ERR_INTERNAL;
    s->ops->done(s);
    return rc;
}

/* One row of columns read by the caller; FW_ERR_INTERNAL when there is none. */
static fw_err read_queue(fw_store *s, fw_store_figures *out, fw_error *err)
{
    /* A queued job is not changed while it waits, so its updated_at is when
     * it was queued: submitted, released by a parent, or handed back. */
    fw_err rc = fw_sql_one_row(s, "SELECT COUNT(*), COALESCE(MIN(updated_at), 0) FROM jobs WHERE status = 'queued'", NULL,
                        0, err);
    if (rc == FW_OK) {
        out->queued = s->ops->col_int(s, 0);
        out->oldest_queued_at = s->ops->col_int(s, 1);
    }
    s->ops->done(s);
    return rc;
}

static fw_err read_durations(fw_store *s, const double *bounds, size_t n, fw_store_figures *out, fw_error *err)
{
    fw_sql_builder b;
    fw_err rc;

    memset(&b, 0, sizeof(b));
    fw_sql_append(&b, "SELECT COUNT(*), COALESCE(SUM(render_duration), 0)");
    for (size_t i = 0; i < n; i++) {
        fw_sql_append(&b, ", COALESCE(SUM(CASE WHEN render_duration <= ");
        fw_sql_param(&b, FW_SQL_D(bounds[i]));
        fw_sql_append(&b, " THEN 1 ELSE 0 END), 0)");
    }
    fw_sql_append(&b, " FROM jobs WHERE status = 'finished' AND render_duration >= 0");
    rc = fw_sql_one_row(s, b.sql, b.params, b.count, err);
    if (rc == FW_OK) {
        out->render_count = s->ops->col_int(s, 0);
        out->render_seconds = s->ops->col_double(s, 1);
        for (size_t i = 0; i < n; i++)
            out->render_counts[i] = s->ops->col_int(s, (int)i + 2);
    }
    s->ops->done(s);
    return rc;
}

static fw_err read_recent(fw_store *s, fw_store_figures *out, fw_error *err)
{
    fw_err rc = fw_sql_one_row(s,
                        "SELECT COUNT(*), COALESCE(SUM(rendered_frames), 0), COALESCE(SUM(render_duration), 0) "
                        "FROM (SELECT rendered_frames, render_duration FROM jobs "
                        "      WHERE status = 'finished' AND rendered_frames > 0 AND render_duration > 0 "
                        "      ORDER BY finished_at DESC LIMIT $1) recent",
                        FW_SQL_ARGS(FW_SQL_I(FW_FIGURES_RECENT)), err);
    if (rc == FW_OK) {
        out->recent_renders = (int)s->ops->col_int(s, 0);
        out->recent_frames = s->ops->col_int(s, 1);
        out->recent_seconds = s->ops->col_double(s, 2);
    }
    s->ops->done(s);
    return rc;
}

static fw_err read_webhooks(fw_store *s, fw_store_figures *out, fw_error *err)
{
    fw_err rc = fw_sql_one_row(s,
                        "SELECT COALESCE(SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END), 0), "
                        "       COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) "
                        "FROM webhook_outbox WHERE status IN ('delivered', 'failed')",
                        NULL, 0, err);
    if (rc == FW_OK) {
        out->webhooks_delivered = s->ops->col_int(s, 0);
        out->webhooks_failed = s->ops->col_int(s, 1);
    }
    s->ops->done(s);
    if (rc == FW_OK)
        rc = fw_sql_int(s, "SELECT COUNT(*) FROM webhook_attempts WHERE error IS NOT NULL", NULL, 0,
                        &out->webhook_attempts_failed, NULL, err);
    return rc;
}

fw_err fw_store_figures_read(fw_store *s, const double *bounds, size_t bound_count, fw_store_figures *out,
                             fw_error *err)
{
    fw_err rc;

    memset(out, 0, sizeof(*out));
    if (bound_count > FW_FIGURES_BOUNDS_MAX)
        return fw_error_set(err, FW_ERR_INVALID, "bounds", "%zu histogram bounds; at most %d are kept", bound_count,
                            FW_FIGURES_BOUNDS_MAX);
    for (size_t i = 1; i < bound_count; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return fw_error_set(err, FW_ERR_INVALID, "bounds", "histogram bounds must ascend (%g after %g)",
                                bounds[i], bounds[i - 1]);
    if ((rc = s->ops->begin(s, FW_TX_READ, err)) != FW_OK)
        return rc;
    rc = read_statuses(s, out, err);
    if (rc == FW_OK)
        rc = read_queue(s, out, err);
    if (rc == FW_OK)
        rc = read_durations(s, bounds, bound_count, out, err);
    if (rc == FW_OK)
        rc = read_recent(s, out, err);
    if (rc == FW_OK)
        rc = read_webhooks(s, out, err);
    return fw_sql_end(s, rc, err);
}
