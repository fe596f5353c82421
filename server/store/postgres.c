/*
 * postgres.c - the PostgreSQL backend: one queue shared by workers on many
 * machines.
 *
 * Every parameter is bound with its type (PQexecParams), never spliced into
 * the SQL. Claims lock the chosen row with FOR UPDATE SKIP LOCKED inside the
 * UPDATE's subquery, so concurrent claimers pass over each other's rows
 * instead of waiting. Job versions come from a sequence (fw_next_version()
 * wraps nextval); a row trigger sends NOTIFY fw_jobs on every job change, at
 * commit, and each connection LISTENs, so the connection's socket is the
 * store's notify fd.
 *
 * Caveat of a sequence: versions are given out at write time and committed
 * in any order, so a watcher reading "changes after V" may briefly see V+2
 * before V+1 commits. Watchers should re-read from a little before the last
 * version they saw, or treat the changes feed as a hint to re-read jobs.
 *
 * A broken connection is reset before the next call outside a transaction;
 * until it comes back, calls fail with FW_ERR_UNAVAILABLE and libpq's words.
 */
#include "server/store/store_internal.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 65535 /* the protocol's limit */
#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701
/* The advisory lock key that serialises migrations: "fwmigrat" in ASCII. */
#define MIGRATION_LOCK "7455140349567475060"

typedef struct pg_store {
    fw_store base;
    PGconn *conn;
    PGresult *result; /* of the running query */
    int row;          /* the current row of result, -1 before the first */
    int in_tx;        /* between our BEGIN and COMMIT/ROLLBACK */
} pg_store;

/* libpq's messages end with a newline and may hold more lines ("\n\tIs the
 * server running ..."); ours are one line. */
static fw_err pg_fail_text(fw_err code, const char *field, const char *doing, const char *text, fw_error *err)
{
    char buf[FW_ERROR_MESSAGE_MAX];
    size_t n = 0;
    for (const char *c = text && *text ? text : "no message"; *c && n + 1 < sizeof(buf); c++) {
        if (*c == '\n' || *c == '\t' || *c == '\r') {
            if (n > 0 && buf[n - 1] != ' ')
                buf[n++] = ' ';
        } else {
            buf[n++] = *c;
        }
    }
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    return fw_error_set(err, code, field, "postgres %s: %s", doing, buf);
}

static fw_err pg_fail(pg_store *p, const PGresult *res, const char *doing, fw_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *message = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    fw_err code = FW_ERR_INTERNAL;
    const char *field = NULL;

    if (!message)
        message = PQerrorMessage(p->conn);
    if (PQstatus(p->conn) != CONNECTION_OK || !state)
        code = FW_ERR_UNAVAILABLE;
    else if (strcmp(state, "23505") == 0)
        code = FW_ERR_ALREADY_EXISTS;
    else if (strcmp(state, "23503") == 0) {
        code = FW_ERR_NOT_FOUND;
        field = "team_id";
        message = "no such team";
    } else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 || strcmp(state, "40001") == 0 ||
               strcmp(state, "40P01") == 0 || strcmp(state, "53300") == 0)
        code = FW_ERR_UNAVAILABLE; /* connection, shutdown, serialization, deadlock, too many connections */
    return pg_fail_text(code, field, doing, message, err);
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static fw_err pg_command(pg_store *p, const char *sql, fw_error *err)
{
    PGresult *res = PQexec(p->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    fw_err rc = FW_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_fail(p, res, "command", err);
    PQclear(res);
    return rc;
}

/* A fresh connection (or a reset one) listens again. */
static fw_err pg_setup(pg_store *p, fw_error *err)
{
    PQsetNoticeProcessor(p->conn, ignore_notice, NULL);
    return pg_command(p, "LISTEN fw_jobs", err);
}

/* A connection lost inside a transaction is not reset: the rest of the
 * transaction would run without the first part. The call fails; the next
 * one, after the rollback, reconnects. */
static fw_err pg_ready(pg_store *p, fw_error *err)
{
    if (PQstatus(p->conn) == CONNECTION_OK)
        return FW_OK;
    if (!p->in_tx) {
        PQreset(p->conn);
        if (PQstatus(p->conn) == CONNECTION_OK)
            return pg_setup(p, err);
    }
    return pg_fail_text(FW_ERR_UNAVAILABLE, "database", "connection", PQerrorMessage(p->conn), err);
}

/* ---- statements ------------------------------------------------------------------------------ */

static void pg_done(fw_store *s)
{
    pg_store *p = (pg_store *)s;
    fw_store_statement_ended(s);
    PQclear(p->result);
    p->result = NULL;
    p->row = -1;
}

/* Parameters kept on the stack up to this many; more (a multi-row insert) on the heap. */
#define STACK_PARAMS 32

static fw_err pg_query(fw_store *s, const char *sql, const fw_sql_value *params, int count, fw_error *err)
{
    pg_store *p = (pg_store *)s;
    Oid stack_types[STACK_PARAMS], *types = stack_types;
    const char *stack_values[STACK_PARAMS], **values = stack_values;
    char stack_numbers[STACK_PARAMS][32], (*numbers)[32] = stack_numbers;
    void *heap = NULL;
    ExecStatusType st;
    fw_err rc = pg_ready(p, err);

    if (rc != FW_OK)
        return rc;
    if (count > MAX_PARAMS)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "a statement has %d parameters, more than %d", count,
                            MAX_PARAMS);
    if (count > STACK_PARAMS) {
        size_t each = sizeof(*types) + sizeof(*values) + sizeof(*numbers);
        if (!(heap = malloc((size_t)count * each)))
            return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory binding %d parameters", count);
        numbers = heap;
        values = (const char **)(numbers + count);
        types = (Oid *)(values + count);
    }
    for (int i = 0; i < count; i++) {
        const fw_sql_value *v = &params[i];
        if (v->type == FW_SQL_INT) {
            types[i] = OID_INT8;
            snprintf(numbers[i], sizeof(numbers[i]), "%lld", (long long)v->i);
            values[i] = numbers[i];
        } else if (v->type == FW_SQL_DOUBLE) {
            types[i] = OID_FLOAT8;
            snprintf(numbers[i], sizeof(numbers[i]), "%.17g", v->d);
            values[i] = numbers[i];
        } else {
            types[i] = OID_TEXT;
            values[i] = v->text;
        }
    }
    pg_done(s);
    fw_store_statement_began(s);
    p->result = PQexecParams(p->conn, sql, count, types, values, NULL, NULL, 0);
    free(heap);
    st = PQresultStatus(p->result);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return pg_fail(p, p->result, "query", err);
    return FW_OK;
}

static int pg_row(fw_store *s, fw_error *err)
{
    pg_store *p = (pg_store *)s;
    (void)err;
    if (!p->result || p->row + 1 >= PQntuples(p->result))
        return 0;
    p->row++;
    return 1;
}

static const char *pg_col_text(fw_store *s, int col)
{
    pg_store *p = (pg_store *)s;
    if (PQgetisnull(p->result, p->row, col))
        return NULL;
    return PQgetvalue(p->result, p->row, col);
}

static int64_t pg_col_int(fw_store *s, int col)
{
    const char *text = pg_col_text(s, col);
    return text ? strtoll(text, NULL, 10) : 0;
}

static double pg_col_double(fw_store *s, int col)
{
    const char *text = pg_col_text(s, col);
    return text ? strtod(text, NULL) : 0;
}

static int64_t pg_changes(fw_store *s)
{
    pg_store *p = (pg_store *)s;
    const char *n = p->result ? PQcmdTuples(p->result) : "";
    return *n ? strtoll(n, NULL, 10) : 0;
}

static fw_err pg_script(fw_store *s, const char *sql, fw_error *err)
{
    return pg_command((pg_store *)s, sql, err);
}

/* ---- transactions ---------------------------------------------------------------------------- */

static void pg_rollback(fw_store *s);

static fw_err pg_begin(fw_store *s, fw_tx tx, fw_error *err)
{
    pg_store *p = (pg_store *)s;
    fw_err rc = pg_ready(p, err);
    if (rc == FW_OK)
        rc = pg_command(p, "BEGIN", err);
    if (rc != FW_OK)
        return rc;
    p->in_tx = 1;
    if (tx == FW_TX_MIGRATE) {
        rc = pg_command(p, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", err);
        if (rc != FW_OK)
            pg_rollback(s);
    }
    return rc;
}

static void pg_rollback(fw_store *s)
{
    pg_store *p = (pg_store *)s;
    pg_done(s);
    p->in_tx = 0;
    if (PQstatus(p->conn) == CONNECTION_OK && PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        pg_command(p, "ROLLBACK", NULL);
}

static fw_err pg_commit(fw_store *s, fw_error *err)
{
    pg_store *p = (pg_store *)s;
    fw_err rc;
    pg_done(s);
    /* COMMIT of a failed transaction "succeeds" as a ROLLBACK; catch that. */
    if (PQtransactionStatus(p->conn) == PQTRANS_INERROR) {
        pg_rollback(s);
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "postgres commit: the transaction had failed");
    }
    rc = pg_command(p, "COMMIT", err);
    if (rc != FW_OK)
        pg_rollback(s);
    p->in_tx = 0;
    return rc;
}

/* ---- LISTEN / NOTIFY ------------------------------------------------------------------------- */

static int pg_notify_fd(fw_store *s)
{
    return PQsocket(((pg_store *)s)->conn);
}

static int pg_drain_notify(fw_store *s)
{
    pg_store *p = (pg_store *)s;
    PGnotify *n;
    int count = 0;
    PQconsumeInput(p->conn);
    while ((n = PQnotifies(p->conn)) != NULL) {
        PQfreemem(n);
        count++;
    }
    return count;
}

static void pg_reconnect(fw_store *s)
{
    pg_store *p = (pg_store *)s;
    fw_error err;
    if (p->in_tx)
        return;
    pg_done(s);
    PQreset(p->conn);
    if (PQstatus(p->conn) == CONNECTION_OK)
        pg_setup(p, &err);
}

static void pg_close(fw_store *s)
{
    pg_store *p = (pg_store *)s;
    pg_done(s);
    PQfinish(p->conn);
    free(p);
}

static const char *const postgres_migrations[] = {
    /* 1: the version sequence and the change notification. */
    "CREATE SEQUENCE fw_job_version;"
    "CREATE FUNCTION fw_next_version() RETURNS BIGINT LANGUAGE sql VOLATILE"
    "  AS 'SELECT nextval(''fw_job_version'')';"
    "CREATE FUNCTION fw_jobs_notify() RETURNS trigger LANGUAGE plpgsql"
    "  AS 'BEGIN PERFORM pg_notify(''fw_jobs'', ''''); RETURN NULL; END';"
    "CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OR DELETE ON jobs"
    "  FOR EACH ROW EXECUTE FUNCTION fw_jobs_notify();",
    /* 2: nothing of PostgreSQL's own. */
    NULL,
    /* 3: nothing of PostgreSQL's own. */
    NULL,
    /* 4: nothing of PostgreSQL's own. */
    NULL,
    /* 5: nothing of PostgreSQL's own. */
    NULL,
    /* 6: nothing of PostgreSQL's own. */
    NULL,
    /* 7: chunks notify like jobs, so that idle workers waiting on LISTEN wake
     * when chunks are planned or handed back. A row trigger, not a statement
     * one: a claim that found nothing changes no row and wakes nobody. */
    "CREATE TRIGGER chunks_notify AFTER INSERT OR UPDATE OR DELETE ON chunks"
    "  FOR EACH ROW EXECUTE FUNCTION fw_jobs_notify();",
    /* 8: nothing of PostgreSQL's own: the render cache wakes nobody. */
    NULL,    /* 9: nothing of PostgreSQL's own. */
    NULL,
};

static const fw_store_ops postgres_ops = {
    .kind = "postgres",
    .claim_lock = "FOR UPDATE SKIP LOCKED",
    .row_lock = "FOR UPDATE",
    .version_sql = "SELECT COALESCE(MAX(version), 0) FROM jobs",
    .migrations = postgres_migrations,
    .migration_count = (int)(sizeof(postgres_migrations) / sizeof(postgres_migrations[0])),
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .script = pg_script,
    .query = pg_query,
    .row = pg_row,
    .col_text = pg_col_text,
    .col_int = pg_col_int,
    .col_double = pg_col_double,
    .changes = pg_changes,
    .done = pg_done,
    .notify_fd = pg_notify_fd,
    .drain_notify = pg_drain_notify,
    .reconnect = pg_reconnect,
    .close = pg_close,
};

/* A machine that loses its link must notice within seconds, not after the
 * kernel's retransmissions give up (a quarter of an hour), so that its calls
 * fail, the connection is reset and the machine rejoins when the link comes
 * back: a connection attempt gives up after 10 s; data unacknowledged for
 * 15 s breaks the connection; an idle one (a worker waiting on NOTIFY) is
 * probed after 15 s and dropped after three unanswered probes 5 s apart.
 * The URL comes last and so may set any of these itself. */
static const char *const keywords[] = {"connect_timeout", "keepalives",       "keepalives_idle", "keepalives_interval",
                                       "keepalives_count", "tcp_user_timeout", "dbname",          NULL};

fw_err fw_postgres_open(fw_store **out, const char *url, fw_error *err)
{
    pg_store *p = calloc(1, sizeof(*p));
    const char *values[] = {"10", "1", "15", "5", "3", "15000", url, NULL};
    fw_err rc;

    if (!p)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening the store");
    p->base.ops = &postgres_ops;
    p->row = -1;
    p->conn = PQconnectdbParams(keywords, values, 1);
    if (!p->conn) {
        free(p);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory connecting to PostgreSQL");
    }
    if (PQstatus(p->conn) != CONNECTION_OK)
        rc = pg_fail_text(FW_ERR_UNAVAILABLE, "database", "connect", PQerrorMessage(p->conn), err);
    else
        rc = pg_setup(p, err);
    if (rc != FW_OK) {
        pg_close(&p->base);
        return rc;
    }
    *out = &p->base;
    return FW_OK;
}
