/*
 * sqlite.c - the SQLite backend: one database file shared by the server and
 * worker processes of one machine.
 *
 * WAL mode so readers never wait for the writer; a busy timeout because
 * several processes write; every write transaction is BEGIN IMMEDIATE, which
 * takes the single write lock up front, so a claim's SELECT and UPDATE can
 * never interleave with another process's claim (SQLite's answer to FOR
 * UPDATE). Prepared statements are kept per connection, keyed by their text.
 *
 * The job version sequence is a one-row table, store_version. Holding the
 * write lock, a transaction reads it at BEGIN into `next_version`,
 * fw_next_version() (an application-defined SQL function) hands out the
 * following numbers, one per row changed, and COMMIT writes the last one back.
 */
#include "server/store/store_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 15000
#define STATEMENT_CACHE 64
#define CACHED_SQL_MAX 4096 /* bytes of SQL; longer statements are prepared each time */

typedef struct cached_statement {
    char *sql; /* our text, with $N placeholders */
    sqlite3_stmt *stmt;
} cached_statement;

typedef struct sqlite_store {
    fw_store base;
    sqlite3 *db;
    char path[1024];
    cached_statement cache[STATEMENT_CACHE];
    int cached;
    sqlite3_stmt *active;     /* the statement of the running query */
    int active_owned;         /* finalize rather than reset (cache full) */
    int first_rc;             /* the result of its first step */
    int first_pending;        /* that result not yet handed out by row() */
    int in_write;             /* inside BEGIN IMMEDIATE with the version read */
    int64_t version;          /* the store_version value at BEGIN */
    int64_t next_version;     /* the last one handed out */
} sqlite_store;

static fw_err sqlite_fail(sqlite_store *q, int rc, const char *doing, fw_error *err)
{
    int ext = sqlite3_extended_errcode(q->db);
    const char *msg = sqlite3_errmsg(q->db);
    fw_err code = FW_ERR_INTERNAL;
    const char *field = NULL;

    switch (ext) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        code = FW_ERR_ALREADY_EXISTS;
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        code = FW_ERR_NOT_FOUND;
        field = "team_id";
        msg = "no such team";
        break;
    default:
        if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
            code = FW_ERR_UNAVAILABLE;
        else if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL ||
                 (rc & 0xff) == SQLITE_READONLY)
            code = FW_ERR_IO;
        else if ((rc & 0xff) == SQLITE_NOMEM)
            code = FW_ERR_NOMEM;
    }
    return fw_error_set(err, code, field, "sqlite %s (%s): %s", doing, q->path, msg);
}

/* ---- fw_next_version() ----------------------------------------------------------------------- */

static void next_version_function(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    sqlite_store *q = sqlite3_user_data(ctx);
    (void)argc;
    (void)argv;
    if (!q->in_write) {
        sqlite3_result_error(ctx, "fw_next_version() outside a write transaction", -1);
        return;
    }
    sqlite3_result_int64(ctx, ++q->next_version);
}

/* ---- statements ------------------------------------------------------------------------------ */

/* $N -> ?N: the same numbered parameters in SQLite's spelling. Our SQL has
 * no '$' in string literals. */
static char *sqlite_spelling(const char *sql)
{
    char *copy = strdup(sql);
    if (copy)
        for (char *p = copy; *p; p++)
            if (*p == '$')
                *p = '?';
    return copy;
}

static fw_err prepare(sqlite_store *q, const char *sql, sqlite3_stmt **out, int *owned, fw_error *err)
{
    char *text;
    int rc;

    for (int i = 0; i < q->cached; i++) {
        if (strcmp(q->cache[i].sql, sql) == 0) {
            *out = q->cache[i].stmt;
            *owned = 0;
            return FW_OK;
        }
    }
    text = sqlite_spelling(sql);
    if (!text)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory preparing a statement");
    rc = sqlite3_prepare_v3(q->db, text, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    free(text);
    if (rc != SQLITE_OK)
        return sqlite_fail(q, rc, "prepare", err);
    *owned = 1;
    /* Multi-row inserts come in many sizes; kept, they would fill the cache. */
    if (q->cached < STATEMENT_CACHE && strlen(sql) <= CACHED_SQL_MAX) {
        char *key = strdup(sql);
        if (key) {
            q->cache[q->cached].sql = key;
            q->cache[q->cached].stmt = *out;
            q->cached++;
            *owned = 0;
        }
    }
    return FW_OK;
}

static fw_err sq_query(fw_store *s, const char *sql, const fw_sql_value *params, int count, fw_error *err)
{
    sqlite_store *q = (sqlite_store *)s;
    sqlite3_stmt *stmt;
    int owned, rc = SQLITE_OK;
    fw_err e = prepare(q, sql, &stmt, &owned, err);

    if (e != FW_OK)
        return e;
    fw_store_statement_began(s);
    q->active = stmt;
    q->active_owned = owned;
    for (int i = 0; i < count && rc == SQLITE_OK; i++) {
        const fw_sql_value *v = &params[i];
        if (v->type == FW_SQL_INT)
            rc = sqlite3_bind_int64(stmt, i + 1, v->i);
        else if (v->type == FW_SQL_DOUBLE)
            rc = sqlite3_bind_double(stmt, i + 1, v->d);
        else if (v->text)
            rc = sqlite3_bind_text(stmt, i + 1, v->text, -1, SQLITE_STATIC);
        else
            rc = sqlite3_bind_null(stmt, i + 1);
    }
    if (rc != SQLITE_OK)
        return sqlite_fail(q, rc, "bind", err);
    /* The first step does the work (for an UPDATE ... RETURNING, all of it),
     * so its error is reported here, by the call that caused it. */
    q->first_rc = sqlite3_step(stmt);
    q->first_pending = 1;
    if (q->first_rc != SQLITE_ROW && q->first_rc != SQLITE_DONE)
        return sqlite_fail(q, q->first_rc, "query", err);
    return FW_OK;
}

static int sq_row(fw_store *s, fw_error *err)
{
    sqlite_store *q = (sqlite_store *)s;
    int rc;

    if (q->first_pending) {
        q->first_pending = 0;
        rc = q->first_rc;
    } else {
        rc = sqlite3_step(q->active);
    }
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    sqlite_fail(q, rc, "step", err);
    return -1;
}

static const char *sq_col_text(fw_store *s, int col)
{
    return (const char *)sqlite3_column_text(((sqlite_store *)s)->active, col);
}

static int64_t sq_col_int(fw_store *s, int col)
{
    return sqlite3_column_int64(((sqlite_store *)s)->active, col);
}

static double sq_col_double(fw_store *s, int col)
{
    return sqlite3_column_double(((sqlite_store *)s)->active, col);
}

static int64_t sq_changes(fw_store *s)
{
    return sqlite3_changes64(((sqlite_store *)s)->db);
}

static void sq_done(fw_store *s)
{
    sqlite_store *q = (sqlite_store *)s;
    fw_store_statement_ended(s);
    if (!q->active)
        return;
    if (q->active_owned) {
        sqlite3_finalize(q->active);
    } else {
        sqlite3_reset(q->active);
        sqlite3_clear_bindings(q->active);
    }
    q->active = NULL;
    q->first_pending = 0;
}

static fw_err sq_script(fw_store *s, const char *sql, fw_error *err)
{
    sqlite_store *q = (sqlite_store *)s;
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? FW_OK : sqlite_fail(q, rc, "exec", err);
}

/* ---- transactions ---------------------------------------------------------------------------- */

static fw_err sq_begin(fw_store *s, fw_tx tx, fw_error *err)
{
    sqlite_store *q = (sqlite_store *)s;
    fw_err rc = sq_script(s, tx == FW_TX_READ ? "BEGIN DEFERRED" : "BEGIN IMMEDIATE", err);

    if (rc != FW_OK || tx != FW_TX_WRITE)
        return rc;
    rc = fw_sql_int(s, "SELECT value FROM store_version WHERE id = 1", NULL, 0, &q->version, NULL, err);
    if (rc != FW_OK) {
        sq_script(s, "ROLLBACK", NULL);
        return rc;
    }
    q->next_version = q->version;
    q->in_write = 1;
    return FW_OK;
}

static void sq_rollback(fw_store *s)
{
    sqlite_store *q = (sqlite_store *)s;
    q->in_write = 0;
    sq_done(s);
    if (!sqlite3_get_autocommit(q->db))
        sq_script(s, "ROLLBACK", NULL);
}

static fw_err sq_commit(fw_store *s, fw_error *err)
{
    sqlite_store *q = (sqlite_store *)s;
    fw_err rc = FW_OK;

    if (q->in_write && q->next_version != q->version)
        rc = fw_sql_exec(s, "UPDATE store_version SET value = $1 WHERE id = 1", FW_SQL_ARGS(FW_SQL_I(q->next_version)),
                         NULL, err);
    q->in_write = 0;
    if (rc == FW_OK)
        rc = sq_script(s, "COMMIT", err);
    if (rc != FW_OK)
        sq_rollback(s);
    return rc;
}

/* ---- notification (none: callers poll) ------------------------------------------------------- */

static int sq_notify_fd(fw_store *s)
{
    (void)s;
    return -1;
}

static int sq_drain_notify(fw_store *s)
{
    (void)s;
    return 0;
}

static void sq_close(fw_store *s)
{
    sqlite_store *q = (sqlite_store *)s;
    sq_done(s);
    for (int i = 0; i < q->cached; i++) {
        sqlite3_finalize(q->cache[i].stmt);
        free(q->cache[i].sql);
    }
    sqlite3_close(q->db);
    free(q);
}

static const char *const sqlite_migrations[] = {
    /* 1: the version counter. */
    "CREATE TABLE store_version (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);"
    "INSERT INTO store_version (id, value) VALUES (1, 0);",
    /* 2: nothing of SQLite's own. */
    NULL,
    /* 3: nothing of SQLite's own. */
    NULL,
    /* 4: nothing of SQLite's own. */
    NULL,
    /* 5: nothing of SQLite's own. */
    NULL,
    /* 6: nothing of SQLite's own. */
    NULL,
    /* 7: nothing of SQLite's own. */
    NULL,
    /* 8: nothing of SQLite's own. */
    NULL,    /* 9: nothing of SQLite's own. */
    NULL,
};

static const fw_store_ops sqlite_ops = {
    .kind = "sqlite",
    .claim_lock = "",
    .row_lock = "",
    .version_sql = "SELECT value FROM store_version WHERE id = 1",
    .migrations = sqlite_migrations,
    .migration_count = (int)(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0])),
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .script = sq_script,
    .query = sq_query,
    .row = sq_row,
    .col_text = sq_col_text,
    .col_int = sq_col_int,
    .col_double = sq_col_double,
    .changes = sq_changes,
    .done = sq_done,
    .notify_fd = sq_notify_fd,
    .drain_notify = sq_drain_notify,
    .close = sq_close,
};

/* Switching to WAL needs a moment of exclusive access; a second process
 * opening the same fresh file may find it busy beyond the busy handler. */
static fw_err enable_wal(sqlite_store *q, fw_error *err)
{
    for (int attempt = 0;; attempt++) {
        int rc = sqlite3_exec(q->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return FW_OK;
        if ((rc & 0xff) != SQLITE_BUSY || attempt >= 50)
            return sqlite_fail(q, rc, "enable WAL", err);
        sqlite3_sleep(100);
    }
}

fw_err fw_sqlite_open(fw_store **out, const char *path, fw_error *err)
{
    sqlite_store *q = calloc(1, sizeof(*q));
    fw_err rc;
    int src;

    if (!q)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening the store");
    q->base.ops = &sqlite_ops;
    snprintf(q->path, sizeof(q->path), "%s", path);
    src = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        rc = q->db ? sqlite_fail(q, src, "open", err)
                   : fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening %s", path);
        sq_close(&q->base);
        return rc;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
    rc = enable_wal(q, err);
    if (rc == FW_OK)
        rc = sq_script(&q->base,
                       "PRAGMA foreign_keys = ON;"
                       "PRAGMA synchronous = NORMAL;",
                       err);
    if (rc == FW_OK &&
        sqlite3_create_function_v2(q->db, "fw_next_version", 0, SQLITE_UTF8 | SQLITE_DIRECTONLY, q,
                                   next_version_function, NULL, NULL, NULL) != SQLITE_OK)
        rc = sqlite_fail(q, SQLITE_ERROR, "register fw_next_version", err);
    if (rc != FW_OK) {
        sq_close(&q->base);
        return rc;
    }
    *out = &q->base;
    return FW_OK;
}
