/*
 * store.c - opening a store, the row helpers, and the small SQL helpers the
 * store's calls share (see store_internal.h for the backend interface).
 */
#include "server/store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int has_prefix(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

fw_err fw_store_open(fw_store **out, const char *url, fw_error *err)
{
    fw_store *s = NULL;
    fw_err rc;

    *out = NULL;
    if (!url || !*url)
        return fw_error_set(err, FW_ERR_INVALID, "database", "no database given: expected a SQLite file path or a "
                                                             "postgres:// URL");
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"))
        rc = fw_postgres_open(&s, url, err);
    else
        rc = fw_sqlite_open(&s, has_prefix(url, "sqlite:") ? url + 7 : url, err);
    if (rc != FW_OK)
        return rc;
    rc = fw_store_migrate(s, err);
    if (rc != FW_OK) {
        fw_store_close(&s);
        return rc;
    }
    *out = s;
    return FW_OK;
}

void fw_store_close(fw_store **store)
{
    if (!store || !*store)
        return;
    (*store)->ops->close(*store);
    *store = NULL;
}

const char *fw_store_kind(const fw_store *store)
{
    return store->ops->kind;
}

void fw_store_set_timing(fw_store *s, fw_store_timing_fn fn, void *ctx)
{
    s->timing = fn;
    s->timing_ctx = ctx;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fw_store_statement_began(fw_store *s)
{
    s->statement_started_ns = s->timing ? monotonic_ns() : 0;
}

void fw_store_statement_ended(fw_store *s)
{
    if (!s->statement_started_ns)
        return;
    if (s->timing)
        s->timing(s->timing_ctx, (double)(monotonic_ns() - s->statement_started_ns) / 1e9);
    s->statement_started_ns = 0;
}

int fw_store_notify_fd(fw_store *s)
{
    return s->ops->notify_fd(s);
}

int fw_store_drain_notify(fw_store *s)
{
    return s->ops->drain_notify(s);
}

void fw_store_reconnect(fw_store *s)
{
    if (s->ops->reconnect)
        s->ops->reconnect(s);
}

int64_t fw_store_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

fw_err fw_store_version(fw_store *s, int64_t *version, fw_error *err)
{
    int64_t v = 0;
    int found = 0;
    fw_err rc = fw_sql_int(s, s->ops->version_sql, NULL, 0, &v, &found, err);
    *version = found ? v : 0;
    return rc;
}

/* ---- rows ------------------------------------------------------------------------------------ */

void fw_template_row_clear(fw_template_row *row)
{
    if (!row)
        return;
    free(row->display_name);
    free(row->error);
    free(row->details_json);
    memset(row, 0, sizeof(*row));
}

void fw_template_rows_free(fw_template_row **rows, size_t count)
{
    if (!rows || !*rows)
        return;
    for (size_t i = 0; i < count; i++)
        fw_template_row_clear(&(*rows)[i]);
    free(*rows);
    *rows = NULL;
}

void fw_job_row_clear(fw_job_row *row)
{
    if (!row)
        return;
    free(row->request_json);
    free(row->error);
    free(row->missing_fonts_json);
    free(row->output_url);
    free(row->webhook_json);
    free(row->workers_json);
    memset(row, 0, sizeof(*row));
}

void fw_job_rows_free(fw_job_row **rows, size_t count)
{
    if (!rows || !*rows)
        return;
    for (size_t i = 0; i < count; i++)
        fw_job_row_clear(&(*rows)[i]);
    free(*rows);
    *rows = NULL;
}

/* ---- SQL helpers ----------------------------------------------------------------------------- */

fw_err fw_sql_exec(fw_store *s, const char *sql, const fw_sql_value *params, int count, int64_t *changed,
                   fw_error *err)
{
    fw_err rc = s->ops->query(s, sql, params, count, err);
    int more;

    /* Step to the end so that every row is written (and RETURNING drained). */
    while (rc == FW_OK && (more = s->ops->row(s, err)) != 0)
        if (more < 0)
            rc = err ? err->code : FW_ERR_INTERNAL;
    if (rc == FW_OK && changed)
        *changed = s->ops->changes(s);
    s->ops->done(s);
    return rc;
}

fw_err fw_sql_int(fw_store *s, const char *sql, const fw_sql_value *params, int count, int64_t *value, int *found,
                  fw_error *err)
{
    fw_err rc = s->ops->query(s, sql, params, count, err);
    int got = 0;

    if (rc == FW_OK) {
        got = s->ops->row(s, err);
        if (got < 0)
            rc = err ? err->code : FW_ERR_INTERNAL;
        else if (got > 0)
            *value = s->ops->col_int(s, 0);
    }
    s->ops->done(s);
    if (rc != FW_OK)
        return rc;
    if (found)
        *found = got > 0;
    else if (got == 0)
        return fw_error_set(err, FW_ERR_NOT_FOUND, NULL, "the query found nothing");
    return FW_OK;
}

void fw_sql_copy(fw_store *s, int col, char *dst, size_t size)
{
    const char *text = s->ops->col_text(s, col);
    snprintf(dst, size, "%s", text ? text : "");
}

char *fw_sql_dup(fw_store *s, int col)
{
    const char *text = s->ops->col_text(s, col);
    return text ? strdup(text) : NULL;
}

fw_err fw_store_check_claim(const char *worker, int64_t lease_ms, fw_error *err)
{
    if (worker && !*worker)
        return fw_error_set(err, FW_ERR_INVALID, "worker", "a claim needs the worker's name");
    if (lease_ms <= 0)
        return fw_error_set(err, FW_ERR_INVALID, "lease_ms", "a lease must last some time, not %lld ms",
                            (long long)lease_ms);
    return FW_OK;
}

fw_err fw_sql_end(fw_store *s, fw_err rc, fw_error *err)
{
    if (rc == FW_OK)
        return s->ops->commit(s, err);
    s->ops->rollback(s);
    return rc;
}

void fw_sql_append(fw_sql_builder *b, const char *text)
{
    size_t n = strlen(text);
    /* Statements are built from our own fragments; overflowing is a bug. */
    if (b->len + n >= sizeof(b->sql))
        abort();
    memcpy(b->sql + b->len, text, n + 1);
    b->len += n;
}

void fw_sql_param(fw_sql_builder *b, fw_sql_value v)
{
    char number[16];
    if (b->count >= (int)(sizeof(b->params) / sizeof(b->params[0])))
        abort();
    b->params[b->count++] = v;
    snprintf(number, sizeof(number), "$%d", b->count);
    fw_sql_append(b, number);
}

fw_err fw_sql_one_row(fw_store *s, const char *sql, const fw_sql_value *params, int count, fw_error *err)
{
    fw_err rc = s->ops->query(s, sql, params, count, err);
    int got;

    if (rc != FW_OK)
        return rc;
    got = s->ops->row(s, err);
    if (got < 0)
        return err ? err->code : FW_ERR_INTERNAL;
    if (got == 0)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "an aggregate query returned no row");
    return FW_OK;
}
