/*
 * store_internal.h - what the store's logic needs from a database backend.
 *
 * The store's calls (teams.c, templates.c, jobs.c) are written once, in SQL
 * both databases understand, against this small interface; sqlite.c and
 * postgres.c implement it. Keeping the logic in one place means both backends
 * behave the same by construction, and the tests check that on each.
 *
 * SQL text uses PostgreSQL's $1, $2 ... placeholders (the SQLite backend
 * rewrites them to ?1, ?2 ...) and calls fw_next_version() for the next value
 * of the store-wide job version sequence: a SQL function in PostgreSQL (over
 * a sequence), an application-defined function in SQLite (over a one-row
 * counter table, read at BEGIN IMMEDIATE and written back at COMMIT).
 *
 * One statement is active at a time per store: query() runs it, row() moves
 * through its rows, done() ends it. A statement started with query() must be
 * ended with done() before the next query(), even after an error.
 */
#ifndef FW_STORE_STORE_INTERNAL_H
#define FW_STORE_STORE_INTERNAL_H

#include <stdint.h>

#include "server/store/store.h"

typedef enum fw_sql_type { FW_SQL_TEXT, FW_SQL_INT, FW_SQL_DOUBLE } fw_sql_type;

/* A bound parameter; a FW_SQL_TEXT with text NULL is SQL NULL. */
typedef struct fw_sql_value {
    fw_sql_type type;
    const char *text;
    int64_t i;
    double d;
} fw_sql_value;

#define FW_SQL_T(s) ((fw_sql_value){.type = FW_SQL_TEXT, .text = (s)})
#define FW_SQL_I(v) ((fw_sql_value){.type = FW_SQL_INT, .i = (int64_t)(v)})
#define FW_SQL_D(v) ((fw_sql_value){.type = FW_SQL_DOUBLE, .d = (double)(v)})
/* An optional id: "" is stored as NULL. */
#define FW_SQL_OPT(s) FW_SQL_T((s) && *(s) ? (s) : NULL)

/* How a transaction starts. */
typedef enum fw_tx {
    FW_TX_READ,    /* a consistent snapshot for several reads */
    FW_TX_WRITE,   /* writes; SQLite takes the write lock at once */
    FW_TX_MIGRATE, /* schema changes, serialised across processes */
} fw_tx;

typedef struct fw_store_ops {
    const char *kind;
    /* Inserted after a claim's inner SELECT: "FOR UPDATE SKIP LOCKED" or "". */
    const char *claim_lock;
    /* Ends a SELECT that locks the rows it reads until the transaction ends: "FOR UPDATE", or "" where
     * a write transaction already excludes every other writer (SQLite). */
    const char *row_lock;
    /* A query of one row and column: the highest committed job version. */
    const char *version_sql;
    /* Numbered migrations, applied in order; each one SQL script. */
    const char *const *migrations;
    int migration_count;

    fw_err (*begin)(fw_store *s, fw_tx tx, fw_error *err);
    fw_err (*commit)(fw_store *s, fw_error *err);
    void (*rollback)(fw_store *s);
    /* Statements without parameters, several separated by ';'. */
    fw_err (*script)(fw_store *s, const char *sql, fw_error *err);

    fw_err (*query)(fw_store *s, const char *sql, const fw_sql_value *params, int count, fw_error *err);
    /* 1 with a row to read, 0 after the last, -1 on error (err filled). */
    int (*row)(fw_store *s, fw_error *err);
    const char *(*col_text)(fw_store *s, int col); /* NULL for SQL NULL */
    int64_t (*col_int)(fw_store *s, int col);
    double (*col_double)(fw_store *s, int col);
    int64_t (*changes)(fw_store *s); /* rows changed by the statement */
    void (*done)(fw_store *s);

    int (*notify_fd)(fw_store *s);
    int (*drain_notify)(fw_store *s);
    void (*reconnect)(fw_store *s); /* NULL: nothing to do */
    void (*close)(fw_store *s);
} fw_store_ops;

/* Each backend's store starts with this. */
struct fw_store {
    const fw_store_ops *ops;
    fw_store_timing_fn timing; /* fw_store_set_timing; NULL: not timed */
    void *timing_ctx;
    int64_t statement_started_ns; /* of the active statement; 0: none */
};

/* Backends call these when a statement starts (query) and ends (done), so
 * that a timed store reports how long each took, its rows read included. */
void fw_store_statement_began(fw_store *s);
void fw_store_statement_ended(fw_store *s);

fw_err fw_sqlite_open(fw_store **out, const char *path, fw_error *err);
fw_err fw_postgres_open(fw_store **out, const char *url, fw_error *err);

/* Bring the schema up to date (migrate.c). */
fw_err fw_store_migrate(fw_store *s, fw_error *err);

/* Webhook events, queued inside the caller's transaction (outbox.c). */

/* The job's end, when its status is now final and it has a webhook. */
fw_err fw_outbox_enqueue_end(fw_store *s, const char *job_id, fw_error *err);

/* Progress and stage events: heartbeat_mark reads, before a heartbeat's
 * update, where the job stood and which events its webhook asks for;
 * heartbeat_events then queues job.progress.N for each quarter crossed and
 * job.stage.S for a new stage. */
typedef struct fw_outbox_mark {
    int progress_events, stage_events; /* what the webhook asks for */
    double progress;
    char stage[24];
} fw_outbox_mark;
fw_err fw_outbox_heartbeat_mark(fw_store *s, const char *job_id, fw_outbox_mark *mark, fw_error *err);
fw_err fw_outbox_heartbeat_events(fw_store *s, const char *job_id, const fw_outbox_mark *mark, double progress,
                                  const char *stage, fw_error *err);

/* Jobs (jobs.c) for batches.c: insert rows inside the caller's transaction
 * (checked as fw_store_jobs_insert checks them), and read the jobs matching
 * a WHERE clause (at most limit) into a new array. */
fw_err fw_jobs_insert_rows(fw_store *s, const fw_job_row *rows, size_t count, fw_error *err);
fw_err fw_jobs_query(fw_store *s, const char *where, const fw_sql_value *params, int count, size_t limit,
                     fw_job_row **rows, size_t *n, fw_error *err);

/* ---- helpers over the interface (store.c) ---------------------------------------------------- */

#define FW_SQL_ARGS(...) (fw_sql_value[]){__VA_ARGS__}, (int)(sizeof((fw_sql_value[]){__VA_ARGS__}) / sizeof(fw_sql_value))

/* Run a statement that returns no rows; *changed (may be NULL) gets the
 * number of rows it changed. */
fw_err fw_sql_exec(fw_store *s, const char *sql, const fw_sql_value *params, int count, int64_t *changed,
                   fw_error *err);

/* Run a query of at most one row and one integer column; *found says
 * whether there was a row (may be NULL, then no row is FW_ERR_NOT_FOUND). */
fw_err fw_sql_int(fw_store *s, const char *sql, const fw_sql_value *params, int count, int64_t *value, int *found,
                  fw_error *err);

/* Run an aggregate query and stand on its one row (its columns read with col_*); no row is
 * FW_ERR_INTERNAL. The caller ends the statement with done() either way. */
fw_err fw_sql_one_row(fw_store *s, const char *sql, const fw_sql_value *params, int count, fw_error *err);

/* Copy a text column into a fixed buffer ("" for NULL), or duplicate it
 * (NULL for NULL). */
void fw_sql_copy(fw_store *s, int col, char *dst, size_t size);
char *fw_sql_dup(fw_store *s, int col);

/* End a transaction: commit when rc is FW_OK, else roll back and return rc. */
fw_err fw_sql_end(fw_store *s, fw_err rc, fw_error *err);

/* The arguments every claim takes: who claims (NULL: a claim that names
 * nobody) and for how long. */
fw_err fw_store_check_claim(const char *worker, int64_t lease_ms, fw_error *err);

/* A dynamically built statement: text with numbered parameters. */
typedef struct fw_sql_builder {
    char sql[2048];
    size_t len;
    fw_sql_value params[16];
    int count;
} fw_sql_builder;

void fw_sql_append(fw_sql_builder *b, const char *text);
/* Appends "$N" for a new parameter. */
void fw_sql_param(fw_sql_builder *b, fw_sql_value v);

/* Inside a write transaction: the key's row (idem NULL: nothing). */
fw_err fw_idempotency_insert(fw_store *s, const char *team_id, const fw_idempotency *idem, fw_error *err);

#endif
