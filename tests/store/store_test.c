/*
 * store_test.c - the job store's specification, run on both backends.
 *
 * Every case runs on SQLite (a fresh file in a temporary folder) and, when
 * FW_TEST_PG_URL names a PostgreSQL server (a superuser URL), on PostgreSQL
 * in a fresh database created for the case and dropped after it. Without the
 * variable the PostgreSQL half is skipped, saying so.
 */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/store/store.h"
#include "server/util/id.h"
#include "tests/fw_test.h"

/* ---- the harness: a fresh database per case -------------------------------------------------- */

static int g_pg;            /* the running case is on PostgreSQL */
static char g_url[2048];    /* its fresh database */
static char g_dir[4096];    /* a folder of its own */
static char g_pg_name[64];  /* the PostgreSQL database to drop after it */

static PGconn *pg_admin(void)
{
    PGconn *c = PQconnectdb(getenv("FW_TEST_PG_URL"));
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "  cannot connect to FW_TEST_PG_URL: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

static int pg_admin_command(const char *sql)
{
    PGconn *c = pg_admin();
    PGresult *r;
    int ok;
    if (!c)
        return 0;
    r = PQexec(c, sql);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "  %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok;
}

/* The server URL with its database name replaced by name. */
static void pg_url_for(const char *name, char *out, size_t size)
{
    const char *base = getenv("FW_TEST_PG_URL");
    const char *hosts = strstr(base, "://");
    const char *path = hosts ? strchr(hosts + 3, '/') : NULL;
    const char *query = strchr(base, '?');
    int host_len = path ? (int)(path - base) : (query ? (int)(query - base) : (int)strlen(base));
    snprintf(out, size, "%.*s/%s%s", host_len, base, name, query ? query : "");
}

static int fresh_database(void)
{
    const char *dir = fw_test_tmpdir();
    if (!dir)
        return 0;
    snprintf(g_dir, sizeof(g_dir), "%s", dir);
    g_pg_name[0] = '\0';
    if (!g_pg) {
        snprintf(g_url, sizeof(g_url), "%s/store.db", g_dir);
        return 1;
    } else {
        char id[FW_ID_SIZE], sql[128];
        fw_id_new(id);
        snprintf(g_pg_name, sizeof(g_pg_name), "fwtest_%s", id);
        for (char *p = g_pg_name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_pg_name);
        if (!pg_admin_command(sql))
            return 0;
        pg_url_for(g_pg_name, g_url, sizeof(g_url));
        return 1;
    }
}

static void drop_database(void)
{
    char sql[128];
    if (!g_pg_name[0])
        return;
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", g_pg_name);
    pg_admin_command(sql);
    g_pg_name[0] = '\0';
}

static void run_case(void (*fn)(void), int pg)
{
    g_pg = pg;
    if (pg && !getenv("FW_TEST_PG_URL"))
        FW_SKIP("FW_TEST_PG_URL is not set: the PostgreSQL half is skipped (tests/postgres.sh starts a server)");
    FW_REQUIRE(fresh_database());
    fn();
    drop_database();
}

#define BOTH(fn)                                                                                                     \
    static void fn##_on_sqlite(void) { run_case(fn, 0); }                                                           \
    static void fn##_on_postgres(void) { run_case(fn, 1); }
#define RUN_BOTH(fn)                                                                                                 \
    FW_RUN(fn##_on_sqlite);                                                                                          \
    FW_RUN(fn##_on_postgres)

static fw_store *open_store(void)
{
    fw_store *s = NULL;
    fw_error err = {0};
    if (fw_store_open(&s, g_url, &err) != FW_OK)
        fprintf(stderr, "  open %s: %s\n", g_url, err.message);
    return s;
}

/* ---- fixtures -------------------------------------------------------------------------------- */

static char request_json[] = "{\"template\":{\"id\":\"t\"}}";

/* A queued render job of team created at created (its id made at that time). */
static void job_at(fw_job_row *j, const char *team, int64_t created)
{
    memset(j, 0, sizeof(*j));
    fw_id_new_at(j->id, (uint64_t)created);
    snprintf(j->team_id, sizeof(j->team_id), "%s", team);
    snprintf(j->kind, sizeof(j->kind), "render");
    snprintf(j->status, sizeof(j->status), FW_STATUS_QUEUED);
    snprintf(j->output_key, sizeof(j->output_key), "outputs/%s.mp4", j->id);
    j->request_json = request_json;
    j->created_at = created;
}

static fw_err insert_one(fw_store *s, const fw_job_row *j)
{
    fw_error err;
    return fw_store_jobs_insert(s, j, 1, &err);
}

static const char *status_of(fw_store *s, const char *id)
{
    static char status[24];
    fw_job_row row;
    fw_error err;
    if (fw_store_job_get(s, NULL, id, &row, &err) != FW_OK)
        return "(missing)";
    snprintf(status, sizeof(status), "%s", row.status);
    fw_job_row_clear(&row);
    return status;
}

/* A SHA-256 in hex, made of one repeated digit. */
static void key_hash(char out[65], char fill)
{
    memset(out, fill, 64);
    out[64] = '\0';
}

/* ---- migrations ------------------------------------------------------------------------------ */

static int64_t migrations_recorded(void)
{
    int64_t n = -1;
    if (!g_pg) {
        sqlite3 *db;
        sqlite3_stmt *st;
        if (sqlite3_open(g_url, &db) == SQLITE_OK &&
            sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM schema_migrations", -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
        sqlite3_close(db);
    } else {
        PGconn *c = PQconnectdb(g_url);
        PGresult *r = PQexec(c, "SELECT COUNT(*) FROM schema_migrations");
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            n = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(c);
    }
    return n;
}

static void migrations_apply_on_a_fresh_database_and_once_on_reopen(void)
{
    fw_store *s = open_store();
    int64_t version = -1, keys = -1;
    fw_error err;

    FW_REQUIRE(s);
    FW_CHECK_STR(fw_store_kind(s), g_pg ? "postgres" : "sqlite");
    FW_CHECK_INT(fw_store_version(s, &version, &err), FW_OK);
    FW_CHECK_INT(version, 0);
    FW_CHECK_INT(fw_store_key_count(s, &keys, &err), FW_OK);
    FW_CHECK_INT(keys, 0);
    fw_store_close(&s);
    FW_CHECK(s == NULL);
    int64_t applied = migrations_recorded();
    FW_CHECK(applied >= 1);

    s = open_store();
    FW_REQUIRE(s);
    FW_CHECK_INT(migrations_recorded(), applied);
    fw_store_close(&s);
}

/* Several processes opening the same fresh database at once all succeed,
 * and the migrations are recorded once. */
static void migrations_are_safe_when_processes_open_a_fresh_database_together(void)
{
    pid_t kids[4];
    int ok = 0;

    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            fw_store *s = open_store();
            char team[FW_ID_SIZE];
            fw_error err;
            int good = s && fw_store_team_ensure(s, "racers", team, &err) == FW_OK;
            fw_store_close(&s);
            _exit(good ? 0 : 1);
        }
    }
    for (int i = 0; i < 4; i++) {
        int status = 0;
        waitpid(kids[i], &status, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    FW_CHECK_INT(ok, 4);
    fw_store *s = open_store();
    FW_REQUIRE(s);
    int64_t applied = migrations_recorded();
    FW_CHECK(applied >= 1);
    fw_store_close(&s);
    FW_CHECK_INT(migrations_recorded(), applied);
}

static void opening_a_bad_location_fails_with_words(void)
{
    fw_store *s = NULL;
    fw_error err = {0};
    if (!g_pg) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/no/such/folder/store.db", g_dir);
        FW_CHECK_INT(fw_store_open(&s, path, &err), FW_ERR_IO);
        FW_CHECK_CONTAINS(err.message, "no/such/folder");
    } else {
        /* A port nobody listens on (1 is reserved and closed). */
        FW_CHECK_INT(fw_store_open(&s, "postgresql://fw@127.0.0.1:1/nothing?connect_timeout=2", &err),
                     FW_ERR_UNAVAILABLE);
        FW_CHECK_CONTAINS(err.message, "postgres connect");
    }
    FW_CHECK(s == NULL);
    FW_CHECK_INT(fw_store_open(&s, "", &err), FW_ERR_INVALID);
}

/* ---- teams and keys -------------------------------------------------------------------------- */

static void teams_are_ensured_idempotently_and_keys_find_their_team(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], again[FW_ID_SIZE], other[FW_ID_SIZE], found[FW_ID_SIZE];
    char h1[65], h2[65], h3[65];
    int64_t count = -1;
    fw_error err;

    FW_REQUIRE(s);
    FW_CHECK_INT(fw_store_team_ensure(s, "acme", acme, &err), FW_OK);
    FW_CHECK_INT(fw_store_team_ensure(s, "acme", again, &err), FW_OK);
    FW_CHECK_STR(again, acme);
    FW_CHECK(fw_id_valid(acme));
    FW_CHECK_INT(fw_store_team_ensure(s, "other", other, &err), FW_OK);
    FW_CHECK(strcmp(acme, other) != 0);
    FW_CHECK_INT(fw_store_team_ensure(s, "", other, &err), FW_ERR_INVALID);

    key_hash(h1, 'a');
    key_hash(h2, 'b');
    key_hash(h3, 'c');
    FW_CHECK_INT(fw_store_key_add(s, acme, h1, "fw_live_a", &err), FW_OK);
    FW_CHECK_INT(fw_store_key_count(s, &count, &err), FW_OK);
    FW_CHECK_INT(count, 1);
    FW_CHECK_INT(fw_store_key_add(s, other, h2, "fw_live_b", &err), FW_OK);
    FW_CHECK_INT(fw_store_key_count(s, &count, &err), FW_OK);
    FW_CHECK_INT(count, 2);

    FW_CHECK_INT(fw_store_key_team(s, h1, found, &err), FW_OK);
    FW_CHECK_STR(found, acme);
    FW_CHECK_INT(fw_store_key_team(s, h2, found, &err), FW_OK);
    FW_CHECK_STR(found, other);
    FW_CHECK_INT(fw_store_key_team(s, h3, found, &err), FW_ERR_NOT_FOUND);

    FW_CHECK_INT(fw_store_key_add(s, other, h1, "dup", &err), FW_ERR_ALREADY_EXISTS);
    FW_CHECK_STR(err.field, "key_hash");
    FW_CHECK_INT(fw_store_key_add(s, "01NOSUCHTEAM0000000000000", h3, "x", &err), FW_ERR_NOT_FOUND);
    FW_CHECK_STR(err.field, "team_id");
    FW_CHECK_INT(fw_store_key_add(s, acme, "short", "x", &err), FW_ERR_INVALID);
    FW_CHECK_INT(fw_store_key_count(s, &count, &err), FW_OK);
    FW_CHECK_INT(count, 2);
    fw_store_close(&s);
}

/* ---- templates ------------------------------------------------------------------------------- */

static void template_at(fw_template_row *t, const char *team, int64_t created, const char *name)
{
    memset(t, 0, sizeof(*t));
    fw_id_new_at(t->id, (uint64_t)created);
    snprintf(t->team_id, sizeof(t->team_id), "%s", team);
    snprintf(t->type, sizeof(t->type), "lottie");
    snprintf(t->status, sizeof(t->status), FW_TEMPLATE_AWAITING_UPLOAD);
    t->display_name = (char *)name;
    t->created_at = created;
}

static void templates_are_created_read_updated_paged_and_deleted(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], other[FW_ID_SIZE];
    fw_template_row t[5], got, *rows = NULL;
    size_t count = 0;
    int64_t base = 1700000000000;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(s, "other", other, &err) == FW_OK);
    for (int i = 0; i < 5; i++) {
        template_at(&t[i], acme, base + i * 1000, "Promo");
        FW_CHECK_INT(fw_store_template_insert(s, &t[i], &err), FW_OK);
    }
    FW_CHECK_INT(fw_store_template_insert(s, &t[0], &err), FW_ERR_ALREADY_EXISTS);
    FW_CHECK_STR(err.field, "id");

    FW_CHECK_INT(fw_store_template_get(s, acme, t[2].id, &got, &err), FW_OK);
    FW_CHECK_STR(got.id, t[2].id);
    FW_CHECK_STR(got.display_name, "Promo");
    FW_CHECK_STR(got.status, FW_TEMPLATE_AWAITING_UPLOAD);
    FW_CHECK_STR(got.type, "lottie");
    FW_CHECK(got.error == NULL && got.details_json == NULL);
    FW_CHECK_STR(got.storage_key, "");
    FW_CHECK_INT(got.created_at, base + 2000);
    fw_template_row_clear(&got);
    FW_CHECK(got.display_name == NULL);

    /* Another team sees nothing, not even that it exists. */
    FW_CHECK_INT(fw_store_template_get(s, other, t[2].id, &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_template_list(s, other, 10, NULL, &rows, &count, &err), FW_OK);
    FW_CHECK_INT(count, 0);
    fw_template_rows_free(&rows, count);

    /* Update every mutable field. */
    fw_template_row up = t[2];
    snprintf(up.status, sizeof(up.status), FW_TEMPLATE_UPLOADED);
    snprintf(up.storage_key, sizeof(up.storage_key), "templates/%s.zip", up.id);
    snprintf(up.type, sizeof(up.type), "zip");
    up.display_name = "Promo v2";
    up.details_json = "{\"compositions\":[]}";
    up.size = 12345;
    FW_CHECK_INT(fw_store_template_update(s, &up, &err), FW_OK);
    FW_CHECK_INT(fw_store_template_get(s, acme, t[2].id, &got, &err), FW_OK);
    FW_CHECK_STR(got.display_name, "Promo v2");
    FW_CHECK_STR(got.status, FW_TEMPLATE_UPLOADED);
    FW_CHECK_STR(got.type, "zip");
    FW_CHECK_STR(got.details_json, "{\"compositions\":[]}");
    FW_CHECK_INT(got.size, 12345);
    FW_CHECK_CONTAINS(got.storage_key, ".zip");
    FW_CHECK(got.updated_at >= got.created_at);
    fw_template_row_clear(&got);
    snprintf(up.team_id, sizeof(up.team_id), "%s", other);
    FW_CHECK_INT(fw_store_template_update(s, &up, &err), FW_ERR_NOT_FOUND);

    /* Paging: newest first, 2 + 2 + 1, no repeats. */
    const char *expect[5] = {t[4].id, t[3].id, t[2].id, t[1].id, t[0].id};
    char after[FW_ID_SIZE] = "";
    int seen = 0;
    for (int page = 0; page < 4; page++) {
        FW_REQUIRE(fw_store_template_list(s, acme, 2, after[0] ? after : NULL, &rows, &count, &err) == FW_OK);
        for (size_t i = 0; i < count && seen < 5; i++)
            FW_CHECK_STR(rows[i].id, expect[seen++]);
        if (count)
            snprintf(after, sizeof(after), "%s", rows[count - 1].id);
        FW_CHECK_INT(count, page < 2 ? 2 : page == 2 ? 1 : 0);
        fw_template_rows_free(&rows, count);
        FW_CHECK(rows == NULL);
    }
    FW_CHECK_INT(seen, 5);
    FW_CHECK_INT(fw_store_template_list(s, acme, 0, NULL, &rows, &count, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "limit");

    /* Delete: refused while an unfinished job uses it, allowed once it ended. */
    fw_job_row job, after_cancel;
    job_at(&job, acme, base);
    snprintf(job.template_id, sizeof(job.template_id), "%s", t[1].id);
    FW_REQUIRE(insert_one(s, &job) == FW_OK);
    FW_CHECK_INT(fw_store_template_delete(s, acme, t[1].id, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "not ended");
    FW_CHECK_INT(fw_store_template_get(s, acme, t[1].id, &got, &err), FW_OK);
    fw_template_row_clear(&got);
    FW_CHECK_INT(fw_store_job_cancel(s, acme, job.id, &after_cancel, &err), FW_OK);
    fw_job_row_clear(&after_cancel);
    FW_CHECK_INT(fw_store_template_delete(s, other, t[1].id, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_template_delete(s, acme, t[1].id, &err), FW_OK);
    FW_CHECK_INT(fw_store_template_get(s, acme, t[1].id, &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_template_delete(s, acme, t[1].id, &err), FW_ERR_NOT_FOUND);
    fw_store_close(&s);
}

/* ---- template versions ------------------------------------------------------------------- */

static void template_versions_are_numbered_listed_and_held_by_jobs(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], other[FW_ID_SIZE], key[256];
    fw_template_row t, got;
    fw_template_version_row *rows = NULL, v;
    fw_job_row j, gj;
    size_t count = 0;
    int64_t base = 1700000000000;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(s, "other", other, &err) == FW_OK);
    template_at(&t, acme, base, "Promo");
    FW_REQUIRE(fw_store_template_insert(s, &t, &err) == FW_OK);
    FW_CHECK_INT(fw_store_template_versions(s, acme, t.id, &rows, &count, &err), FW_OK);
    FW_CHECK_INT((int)count, 0);
    fw_template_version_rows_free(&rows, count);

    /* Two bundles: 1, then 2, each with its own key and details. */
    snprintf(t.storage_key, sizeof(t.storage_key), "templates/a/1/bundle.json");
    snprintf(t.type, sizeof(t.type), "json");
    t.details_json = "{\"v\":1}";
    t.size = 100;
    FW_CHECK_INT(fw_store_template_publish(s, &t, &err), FW_OK);
    FW_CHECK_INT(t.version, 1);
    snprintf(t.storage_key, sizeof(t.storage_key), "templates/a/2/bundle.zip");
    snprintf(t.type, sizeof(t.type), "zip");
    t.details_json = "{\"v\":2}";
    t.size = 200;
    FW_CHECK_INT(fw_store_template_publish(s, &t, &err), FW_OK);
    FW_CHECK_INT(t.version, 2);
    t.details_json = NULL;
    FW_CHECK_INT(fw_store_template_get(s, acme, t.id, &got, &err), FW_OK);
    FW_CHECK_INT(got.version, 2);
    FW_CHECK_STR(got.status, FW_TEMPLATE_UPLOADED);
    FW_CHECK_STR(got.storage_key, "templates/a/2/bundle.zip");
    FW_CHECK_STR(got.details_json, "{\"v\":2}");
    fw_template_row_clear(&got);
    FW_CHECK_INT(fw_store_template_version_get(s, acme, t.id, 1, &v, &err), FW_OK);
    FW_CHECK_STR(v.storage_key, "templates/a/1/bundle.json");
    FW_CHECK_STR(v.type, "json");
    FW_CHECK_STR(v.details_json, "{\"v\":1}");
    FW_CHECK_INT((int)v.size, 100);
    free(v.details_json);
    FW_CHECK_INT(fw_store_template_version_get(s, other, t.id, 1, &v, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_template_version_get(s, acme, t.id, 3, &v, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_STR(err.field, "version");
    FW_CHECK_INT(fw_store_template_versions(s, other, t.id, &rows, &count, &err), FW_ERR_NOT_FOUND);

    /* A queued job holds version 1: listed, and the version stays. */
    job_at(&j, acme, base + 10);
    snprintf(j.template_id, sizeof(j.template_id), "%s", t.id);
    j.template_version = 1;
    FW_REQUIRE(insert_one(s, &j) == FW_OK);
    FW_CHECK_INT(fw_store_job_get(s, acme, j.id, &gj, &err), FW_OK);
    FW_CHECK_INT(gj.template_version, 1);
    fw_job_row_clear(&gj);
    FW_CHECK_INT(fw_store_template_versions(s, acme, t.id, &rows, &count, &err), FW_OK);
    FW_CHECK_INT((int)count, 2);
    if (count == 2) {
        FW_CHECK_INT(rows[0].version, 2);
        FW_CHECK_INT((int)rows[0].unfinished_jobs, 0);
        FW_CHECK_INT(rows[1].version, 1);
        FW_CHECK_INT((int)rows[1].unfinished_jobs, 1);
    }
    fw_template_version_rows_free(&rows, count);
    FW_CHECK_INT(fw_store_template_version_delete(s, acme, t.id, 2, key, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "current");
    FW_CHECK_STR(key, "");
    FW_CHECK_INT(fw_store_template_version_delete(s, acme, t.id, 1, key, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "not ended");
    FW_CHECK_INT(fw_store_template_version_delete(s, other, t.id, 1, key, &err), FW_ERR_NOT_FOUND);

    /* Once the job ended, version 1 can go, and only it. */
    FW_CHECK_INT(fw_store_job_cancel(s, acme, j.id, &gj, &err), FW_OK);
    fw_job_row_clear(&gj);
    FW_CHECK_INT(fw_store_template_version_delete(s, acme, t.id, 1, key, &err), FW_OK);
    FW_CHECK_STR(key, "templates/a/1/bundle.json");
    FW_CHECK_INT(fw_store_template_version_delete(s, acme, t.id, 1, key, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_template_versions(s, acme, t.id, &rows, &count, &err), FW_OK);
    FW_CHECK_INT((int)count, 1);
    fw_template_version_rows_free(&rows, count);
    /* The next bundle is 3, not a reused 1 or 2. */
    FW_CHECK_INT(fw_store_template_publish(s, &t, &err), FW_OK);
    FW_CHECK_INT(t.version, 3);
    /* Deleting the template takes its versions. */
    FW_CHECK_INT(fw_store_template_delete(s, acme, t.id, &err), FW_OK);
    FW_CHECK_INT(fw_store_template_versions(s, acme, t.id, &rows, &count, &err), FW_ERR_NOT_FOUND);
    fw_store_close(&s);
}

/* ---- idempotency keys -------------------------------------------------------------------- */

static void idempotency_keys_are_written_with_their_rows_once(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], other[FW_ID_SIZE], *method = NULL, *hash = NULL, *answer = NULL;
    fw_job_row a, b, got;
    fw_batch_row batch, seen;
    fw_idempotency idem = {.key = "order-42", .method = "CreateJob", .request_hash = "abc", .response_json = "{}"};
    int64_t removed = 0, base = 1700000000000;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(s, "other", other, &err) == FW_OK);
    FW_CHECK_INT(fw_store_idempotency_get(s, acme, "order-42", &method, &hash, &answer, &err), FW_ERR_NOT_FOUND);
    job_at(&a, acme, base);
    FW_CHECK_INT(fw_store_jobs_insert_keyed(s, &a, 1, &idem, &err), FW_OK);
    FW_CHECK_INT(fw_store_idempotency_get(s, acme, "order-42", &method, &hash, &answer, &err), FW_OK);
    FW_CHECK_STR(method, "CreateJob");
    FW_CHECK_STR(hash, "abc");
    FW_CHECK_STR(answer, "{}");
    free(method);
    free(hash);
    free(answer);
    /* The same key again: refused on the key, and its job is not written. */
    job_at(&b, acme, base + 1);
    FW_CHECK_INT(fw_store_jobs_insert_keyed(s, &b, 1, &idem, &err), FW_ERR_ALREADY_EXISTS);
    FW_CHECK_STR(err.field, "idempotency-key");
    FW_CHECK_INT(fw_store_job_get(s, NULL, b.id, &got, &err), FW_ERR_NOT_FOUND);
    /* Keys are the team's: another team may use the same one; so may a batch of it. */
    job_at(&b, other, base + 2);
    FW_CHECK_INT(fw_store_jobs_insert_keyed(s, &b, 1, &idem, &err), FW_OK);
    memset(&batch, 0, sizeof(batch));
    fw_id_new(batch.id);
    snprintf(batch.team_id, sizeof(batch.team_id), "%s", acme);
    batch.total = batch.created = 1;
    batch.created_at = base;
    job_at(&b, acme, base + 3);
    FW_CHECK_INT(fw_store_batch_insert(s, &batch, &b, 1, &idem, &err), FW_ERR_ALREADY_EXISTS);
    FW_CHECK_INT(fw_store_batch_get(s, acme, batch.id, &seen, &err), FW_ERR_NOT_FOUND);
    idem.key = "batch-7";
    FW_CHECK_INT(fw_store_batch_insert(s, &batch, &b, 1, &idem, &err), FW_OK);
    if (fw_store_job_get(s, acme, b.id, &got, &err) == FW_OK)
        fw_job_row_clear(&got);
    else
        FW_CHECK(!"the batch's job is there");
    /* A day later they are forgotten. */
    FW_CHECK_INT(fw_store_idempotency_expire(s, fw_store_now() + 1, &removed, &err), FW_OK);
    FW_CHECK_INT((int)removed, 3);
    FW_CHECK_INT(fw_store_idempotency_get(s, acme, "order-42", &method, &hash, &answer, &err), FW_ERR_NOT_FOUND);
    fw_store_close(&s);
}

/* ---- jobs: insert, get, list ----------------------------------------------------------------- */

static void jobs_are_inserted_together_or_not_at_all(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row jobs[50], bad[3], got, *rows = NULL;
    fw_job_filter f = {0};
    size_t count = 0;
    int64_t base = 1700000000000, v_before = 0, v_after = 0;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    for (int i = 0; i < 50; i++)
        job_at(&jobs[i], acme, base + i);
    FW_CHECK_INT(fw_store_jobs_insert(s, jobs, 50, &err), FW_OK);
    f.team_id = acme;
    f.limit = 1000;
    FW_CHECK_INT(fw_store_job_list(s, &f, &rows, &count, &err), FW_OK);
    FW_CHECK_INT(count, 50);
    fw_job_rows_free(&rows, count);

    FW_CHECK_INT(fw_store_job_get(s, acme, jobs[7].id, &got, &err), FW_OK);
    FW_CHECK_STR(got.status, FW_STATUS_QUEUED);
    FW_CHECK_STR(got.kind, "render");
    FW_CHECK_STR(got.request_json, request_json);
    FW_CHECK_STR(got.template_id, "");
    FW_CHECK_STR(got.worker, "");
    FW_CHECK(got.error == NULL && got.output_url == NULL && got.missing_fonts_json == NULL);
    FW_CHECK_INT(got.attempts, 0);
    FW_CHECK_INT(got.created_at, base + 7);
    FW_CHECK(got.updated_at > 0);
    FW_CHECK(got.render_duration < 0);
    FW_CHECK(got.version > 0);
    fw_job_row_clear(&got);

    /* The third collides with an existing id: none of the three is kept. */
    FW_REQUIRE(fw_store_version(s, &v_before, &err) == FW_OK);
    job_at(&bad[0], acme, base + 100);
    job_at(&bad[1], acme, base + 101);
    bad[2] = jobs[3];
    FW_CHECK_INT(fw_store_jobs_insert(s, bad, 3, &err), FW_ERR_ALREADY_EXISTS);
    FW_CHECK_STR(err.field, "rows[2].id");
    FW_CHECK_INT(fw_store_job_get(s, NULL, bad[0].id, &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_job_get(s, NULL, bad[1].id, &got, &err), FW_ERR_NOT_FOUND);
    FW_REQUIRE(fw_store_version(s, &v_after, &err) == FW_OK);
    FW_CHECK_INT(v_after, v_before);

    /* Inserts go 100 rows to a statement: a repeat in the third statement,
     * of an earlier row of the same call or of a stored job, names its row,
     * and none of the 250 is kept. */
    {
        enum { MANY = 250 };
        fw_job_row *many = calloc(MANY, sizeof(*many));
        FW_REQUIRE(many);
        for (int i = 0; i < MANY; i++)
            job_at(&many[i], acme, base + 1000 + i);
        many[230] = many[210];
        FW_CHECK_INT(fw_store_jobs_insert(s, many, MANY, &err), FW_ERR_ALREADY_EXISTS);
        FW_CHECK_STR(err.field, "rows[230].id");
        many[230] = jobs[5];
        FW_CHECK_INT(fw_store_jobs_insert(s, many, MANY, &err), FW_ERR_ALREADY_EXISTS);
        FW_CHECK_STR(err.field, "rows[230].id");
        FW_CHECK_INT(fw_store_job_get(s, NULL, many[0].id, &got, &err), FW_ERR_NOT_FOUND);
        FW_CHECK_INT(fw_store_job_get(s, NULL, many[249].id, &got, &err), FW_ERR_NOT_FOUND);
        FW_REQUIRE(fw_store_version(s, &v_after, &err) == FW_OK);
        FW_CHECK_INT(v_after, v_before);
        /* Then all 250, each with its own fields and version. */
        job_at(&many[230], acme, base + 1230);
        many[7].progress = 12.5;
        many[7].total_assets = 3;
        snprintf(many[7].batch_id, sizeof(many[7].batch_id), "01BATCH0000000000000000000");
        FW_CHECK_INT(fw_store_jobs_insert(s, many, MANY, &err), FW_OK);
        FW_CHECK_INT(fw_store_job_get(s, acme, many[7].id, &got, &err), FW_OK);
        FW_CHECK(got.progress == 12.5);
        FW_CHECK_INT(got.total_assets, 3);
        FW_CHECK_STR(got.batch_id, "01BATCH0000000000000000000");
        FW_CHECK_STR(got.template_id, "");
        FW_CHECK(got.version > v_before);
        fw_job_row_clear(&got);
        FW_CHECK_INT(fw_store_job_get(s, acme, many[249].id, &got, &err), FW_OK);
        FW_CHECK_INT(got.created_at, base + 1249);
        fw_job_row_clear(&got);
        FW_REQUIRE(fw_store_version(s, &v_after, &err) == FW_OK);
        FW_CHECK(v_after - v_before >= MANY); /* PostgreSQL's sequence also spent the refused ones */
        free(many);
    }

    /* Bad rows are refused before touching the database, naming the row. */
    job_at(&bad[0], acme, base + 200);
    snprintf(bad[0].status, sizeof(bad[0].status), FW_STATUS_FINISHED);
    FW_CHECK_INT(fw_store_jobs_insert(s, bad, 1, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "rows[0].status");
    job_at(&bad[0], acme, base + 200);
    snprintf(bad[0].team_id, sizeof(bad[0].team_id), "01NOSUCHTEAM0000000000000");
    FW_CHECK_INT(fw_store_jobs_insert(s, bad, 1, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_STR(err.field, "rows[0].team_id");
    fw_store_close(&s);
}

static int list_count(fw_store *s, const fw_job_filter *f)
{
    fw_job_row *rows = NULL;
    size_t count = 0;
    fw_error err;
    if (fw_store_job_list(s, f, &rows, &count, &err) != FW_OK) {
        fprintf(stderr, "  list: %s\n", err.message);
        return -1;
    }
    fw_job_rows_free(&rows, count);
    return (int)count;
}

static void jobs_are_listed_by_every_filter_newest_first_in_pages(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], other[FW_ID_SIZE], tpl[FW_ID_SIZE], batch[FW_ID_SIZE], parent[FW_ID_SIZE];
    fw_job_row jobs[12], got, *rows = NULL;
    size_t count = 0;
    int64_t base = 1700000000000;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(s, "other", other, &err) == FW_OK);
    fw_id_new(tpl);
    fw_id_new(batch);
    /* 0..9 for acme, 10 and 11 for the other team.
     * 0-3: batch; 4-5: template; 6: pending parent; 7-8: its children. */
    for (int i = 0; i < 12; i++)
        job_at(&jobs[i], i < 10 ? acme : other, base + i * 1000);
    snprintf(parent, sizeof(parent), "%s", jobs[6].id);
    for (int i = 0; i < 4; i++)
        snprintf(jobs[i].batch_id, sizeof(jobs[i].batch_id), "%s", batch);
    snprintf(jobs[4].template_id, sizeof(jobs[4].template_id), "%s", tpl);
    snprintf(jobs[5].template_id, sizeof(jobs[5].template_id), "%s", tpl);
    snprintf(jobs[6].status, sizeof(jobs[6].status), FW_STATUS_PENDING);
    snprintf(jobs[6].kind, sizeof(jobs[6].kind), "join");
    snprintf(jobs[7].parent_id, sizeof(jobs[7].parent_id), "%s", parent);
    snprintf(jobs[8].parent_id, sizeof(jobs[8].parent_id), "%s", parent);
    jobs[9].output_url = "https://cdn.example.com/out.mp4";
    FW_REQUIRE(fw_store_jobs_insert(s, jobs, 12, &err) == FW_OK);

    fw_job_filter f = {.team_id = acme, .limit = 100};
    FW_CHECK_INT(list_count(s, &f), 10);
    f.status = FW_STATUS_PENDING;
    FW_CHECK_INT(list_count(s, &f), 1);
    f.status = FW_STATUS_QUEUED;
    FW_CHECK_INT(list_count(s, &f), 9);
    f.status = NULL;
    f.template_id = tpl;
    FW_CHECK_INT(list_count(s, &f), 2);
    f.template_id = NULL;
    f.batch_id = batch;
    FW_CHECK_INT(list_count(s, &f), 4);
    f.status = FW_STATUS_QUEUED; /* filters combine */
    FW_CHECK_INT(list_count(s, &f), 4);
    f.status = NULL;
    f.batch_id = NULL;
    f.parent_id = parent;
    FW_CHECK_INT(list_count(s, &f), 2);
    f.parent_id = NULL;
    f.created_after = base + 2000;
    FW_CHECK_INT(list_count(s, &f), 7); /* 3..9 */
    f.created_before = base + 5000;
    FW_CHECK_INT(list_count(s, &f), 2); /* 3, 4 */
    f.created_after = f.created_before = 0;
    f.team_id = other;
    FW_CHECK_INT(list_count(s, &f), 2);
    f.batch_id = batch; /* another team's batch id finds nothing */
    FW_CHECK_INT(list_count(s, &f), 0);
    f.batch_id = NULL;

    /* Another team's job is not found by id either. */
    FW_CHECK_INT(fw_store_job_get(s, other, jobs[0].id, &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_STR(err.field, "id");
    FW_CHECK_INT(fw_store_job_get(s, acme, jobs[9].id, &got, &err), FW_OK);
    FW_CHECK_STR(got.output_url, "https://cdn.example.com/out.mp4");
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_job_get(s, acme, jobs[7].id, &got, &err), FW_OK);
    FW_CHECK_STR(got.parent_id, parent);
    fw_job_row_clear(&got);

    /* Pages of 3 over acme's 10: newest first, each job once. */
    char after[FW_ID_SIZE] = "";
    int seen = 0, expected_sizes[] = {3, 3, 3, 1, 0};
    f.team_id = acme;
    f.limit = 3;
    for (int page = 0; page < 5; page++) {
        f.after_id = after[0] ? after : NULL;
        FW_REQUIRE(fw_store_job_list(s, &f, &rows, &count, &err) == FW_OK);
        FW_CHECK_INT(count, expected_sizes[page]);
        for (size_t i = 0; i < count; i++, seen++)
            FW_CHECK_STR(rows[i].id, jobs[9 - seen].id);
        if (count)
            snprintf(after, sizeof(after), "%s", rows[count - 1].id);
        fw_job_rows_free(&rows, count);
    }
    FW_CHECK_INT(seen, 10);
    f.limit = 1001;
    FW_CHECK_INT(fw_store_job_list(s, &f, &rows, &count, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "limit");
    fw_store_close(&s);
}

/* ---- jobs: the lifecycle --------------------------------------------------------------------- */

static void jobs_cancel_from_every_unended_state_and_not_after(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], other[FW_ID_SIZE], status[24];
    fw_job_row q, p, r, out, claimed;
    int64_t now = fw_store_now();
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(s, "other", other, &err) == FW_OK);
    job_at(&r, acme, now - 3000);
    job_at(&q, acme, now - 2000);
    job_at(&p, acme, now - 1000);
    snprintf(p.status, sizeof(p.status), FW_STATUS_PENDING);
    FW_REQUIRE(insert_one(s, &r) == FW_OK && insert_one(s, &q) == FW_OK && insert_one(s, &p) == FW_OK);
    FW_REQUIRE(fw_store_job_claim(s, "w1", 60000, &claimed, &err) == FW_OK);
    FW_CHECK_STR(claimed.id, r.id);
    fw_job_row_clear(&claimed);

    /* Another team cannot cancel it and learns nothing. */
    FW_CHECK_INT(fw_store_job_cancel(s, other, q.id, &out, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_STR(err.field, "id");
    FW_CHECK_STR(status_of(s, q.id), FW_STATUS_QUEUED);
    /* Without a team (the server cascading a cancel): any team's job. */
    FW_CHECK_INT(fw_store_job_cancel(s, NULL, "01NOSUCHJOB00000000000000", &out, &err), FW_ERR_NOT_FOUND);

    const fw_job_row *each[3] = {&q, &p, &r};
    for (int i = 0; i < 3; i++) {
        FW_CHECK_INT(fw_store_job_cancel(s, acme, each[i]->id, &out, &err), FW_OK);
        FW_CHECK_STR(out.status, FW_STATUS_CANCELLED);
        FW_CHECK_STR(out.worker, "");
        FW_CHECK_INT(out.lease_until, 0);
        fw_job_row_clear(&out);
    }
    /* The worker rendering it sees the cancellation at its next heartbeat. */
    memset(status, 0, sizeof(status));
    FW_CHECK_INT(fw_store_job_heartbeat(s, r.id, "w1", 60000, 50, "render", status, &err),
                 FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_STR(status, FW_STATUS_CANCELLED);
    FW_CHECK_INT(fw_store_job_complete(s, r.id, "w1", 1.0, 0, NULL, NULL, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_STR(status_of(s, r.id), FW_STATUS_CANCELLED);

    /* Once ended, refused, and *out still shows the job. */
    FW_CHECK_INT(fw_store_job_cancel(s, acme, q.id, &out, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_STR(out.status, FW_STATUS_CANCELLED);
    FW_CHECK_STR(out.id, q.id);
    FW_CHECK_CONTAINS(err.message, "already ended");
    fw_job_row_clear(&out);
    FW_CHECK_INT(fw_store_job_cancel(s, acme, "01NOSUCHJOB00000000000000", &out, &err), FW_ERR_NOT_FOUND);
    fw_store_close(&s);
}

static void claims_take_the_oldest_queued_job_and_find_nothing_when_empty(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row jobs[4], got;
    int64_t now = fw_store_now();
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_CHECK_INT(fw_store_job_claim(s, "w1", 1000, &got, &err), FW_ERR_NOT_FOUND);
    /* Inserted newest first; a pending job is never claimed. */
    job_at(&jobs[0], acme, now - 1000);
    job_at(&jobs[1], acme, now - 3000);
    job_at(&jobs[2], acme, now - 2000);
    job_at(&jobs[3], acme, now - 9000);
    snprintf(jobs[3].status, sizeof(jobs[3].status), FW_STATUS_PENDING);
    FW_REQUIRE(fw_store_jobs_insert(s, jobs, 4, &err) == FW_OK);

    const char *order[3] = {jobs[1].id, jobs[2].id, jobs[0].id};
    for (int i = 0; i < 3; i++) {
        int64_t before = fw_store_now();
        FW_REQUIRE(fw_store_job_claim(s, "worker-7", 30000, &got, &err) == FW_OK);
        FW_CHECK_STR(got.id, order[i]);
        FW_CHECK_STR(got.status, FW_STATUS_RENDERING);
        FW_CHECK_STR(got.worker, "worker-7");
        FW_CHECK_INT(got.attempts, 1);
        FW_CHECK(got.started_at >= before);
        FW_CHECK(got.lease_until >= before + 30000 && got.lease_until <= fw_store_now() + 30000);
        fw_job_row_clear(&got);
    }
    FW_CHECK_INT(fw_store_job_claim(s, "worker-7", 30000, &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_job_claim(s, "", 30000, &got, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "worker");

    /* The server makes the pending parent claimable. */
    FW_CHECK_INT(fw_store_job_transition(s, jobs[3].id, FW_STATUS_PENDING, FW_STATUS_QUEUED, NULL, &err), FW_OK);
    FW_CHECK_INT(fw_store_job_transition(s, jobs[3].id, FW_STATUS_PENDING, FW_STATUS_QUEUED, NULL, &err),
                 FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_INT(fw_store_job_transition(s, "01NOSUCHJOB00000000000000", FW_STATUS_PENDING, FW_STATUS_QUEUED, NULL,
                                         &err),
                 FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_job_claim(s, "worker-7", 30000, &got, &err), FW_OK);
    FW_CHECK_STR(got.id, jobs[3].id);
    fw_job_row_clear(&got);
    fw_store_close(&s);
}

/* A team at its render limit is passed over: the next team's older-or-newer job is claimed, and
 * the team's own comes back once one of its renders ends. Its load counts what it created. */
static void claims_pass_over_teams_at_their_render_limit(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], beta[FW_ID_SIZE];
    fw_job_row jobs[4], got, first;
    int64_t now = fw_store_now();
    fw_team_load load;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(s, "beta", beta, &err) == FW_OK);
    job_at(&jobs[0], acme, now - 4000);
    job_at(&jobs[1], acme, now - 3000);
    job_at(&jobs[2], acme, now - 2000);
    job_at(&jobs[3], beta, now - 1000);
    FW_REQUIRE(fw_store_jobs_insert(s, jobs, 4, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_load(s, acme, now - 3500, &load, &err) == FW_OK);
    FW_CHECK_INT(load.created, 2);
    FW_CHECK_INT(load.oldest_created_at, now - 3000);
    FW_CHECK_INT(load.unfinished, 3);

    FW_REQUIRE(fw_store_job_claim_limited(s, "w1", 30000, 1, &first, &err) == FW_OK);
    FW_CHECK_STR(first.id, jobs[0].id);
    FW_REQUIRE(fw_store_job_claim_limited(s, "w2", 30000, 1, &got, &err) == FW_OK);
    FW_CHECK_STR(got.id, jobs[3].id); /* acme's older jobs wait: acme renders one already */
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_job_claim_limited(s, "w3", 30000, 1, &got, &err), FW_ERR_NOT_FOUND);
    FW_REQUIRE(fw_store_job_complete(s, first.id, "w1", 1.0, 10, NULL, NULL, &err) == FW_OK);
    FW_REQUIRE(fw_store_job_claim_limited(s, "w3", 30000, 1, &got, &err) == FW_OK);
    FW_CHECK_STR(got.id, jobs[1].id);
    fw_job_row_clear(&got);
    /* No limit: the rest at once. */
    FW_REQUIRE(fw_store_job_claim_limited(s, "w4", 30000, 0, &got, &err) == FW_OK);
    FW_CHECK_STR(got.id, jobs[2].id);
    fw_job_row_clear(&got);
    fw_job_row_clear(&first);
    fw_store_close(&s);
}

static void heartbeats_renew_the_lease_and_only_the_holder_finishes(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], status[24];
    fw_job_row a, b, got;
    int64_t now = fw_store_now();
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    job_at(&a, acme, now - 2000);
    job_at(&b, acme, now - 1000);
    FW_REQUIRE(insert_one(s, &a) == FW_OK && insert_one(s, &b) == FW_OK);
    FW_REQUIRE(fw_store_job_claim(s, "w1", 1000, &got, &err) == FW_OK);
    FW_CHECK_STR(got.id, a.id);
    int64_t first_lease = got.lease_until;
    fw_job_row_clear(&got);

    FW_CHECK_INT(fw_store_job_heartbeat(s, a.id, "w1", 60000, 42.5, "render", status, &err), FW_OK);
    FW_CHECK_STR(status, FW_STATUS_RENDERING);
    FW_REQUIRE(fw_store_job_get(s, acme, a.id, &got, &err) == FW_OK);
    FW_CHECK(got.lease_until >= first_lease + 59000);
    FW_CHECK_NEAR(got.progress, 42.5, 1e-9);
    FW_CHECK_STR(got.stage, "render");
    fw_job_row_clear(&got);

    /* Not the holder: refused, nothing changed. */
    FW_CHECK_INT(fw_store_job_heartbeat(s, a.id, "w2", 60000, 99, "x", status, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_STR(status, FW_STATUS_RENDERING);
    FW_CHECK_CONTAINS(err.message, "held by w1");
    FW_CHECK_INT(fw_store_job_complete(s, a.id, "w2", 3.0, 0, NULL, NULL, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_INT(fw_store_job_release(s, a.id, "w2", "bye", 3, 0, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_INT(fw_store_job_heartbeat(s, "01NOSUCHJOB00000000000000", "w1", 1000, 1, "", status, &err),
                 FW_ERR_NOT_FOUND);

    FW_CHECK_INT(fw_store_job_complete(s, a.id, "w1", 3.25, 0, "[\"Inter\"]", NULL, &err), FW_OK);
    FW_REQUIRE(fw_store_job_get(s, acme, a.id, &got, &err) == FW_OK);
    FW_CHECK_STR(got.status, FW_STATUS_FINISHED);
    FW_CHECK_NEAR(got.progress, 100, 1e-9);
    FW_CHECK_NEAR(got.render_duration, 3.25, 1e-9);
    FW_CHECK_STR(got.missing_fonts_json, "[\"Inter\"]");
    FW_CHECK(got.finished_at >= now);
    FW_CHECK_STR(got.worker, "");
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_job_complete(s, a.id, "w1", 3.25, 0, NULL, NULL, &err), FW_ERR_FAILED_PRECONDITION);

    /* A failed render. */
    FW_REQUIRE(fw_store_job_claim(s, "w1", 1000, &got, &err) == FW_OK);
    FW_CHECK_STR(got.id, b.id);
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_job_complete(s, b.id, "w1", 0.5, 0, NULL, "layer \"Title\" not found", &err), FW_OK);
    FW_REQUIRE(fw_store_job_get(s, acme, b.id, &got, &err) == FW_OK);
    FW_CHECK_STR(got.status, FW_STATUS_ERROR);
    FW_CHECK_STR(got.error, "layer \"Title\" not found");
    FW_CHECK(got.error_at >= now);
    fw_job_row_clear(&got);
    fw_store_close(&s);
}

static void releases_requeue_until_the_attempts_run_out(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row a, got;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    job_at(&a, acme, fw_store_now());
    FW_REQUIRE(insert_one(s, &a) == FW_OK);
    FW_REQUIRE(fw_store_job_claim(s, "w1", 1000, &got, &err) == FW_OK);
    int64_t started = got.started_at;
    fw_job_row_clear(&got);
    FW_REQUIRE(fw_store_job_heartbeat(s, a.id, "w1", 1000, 30, "render", NULL, &err) == FW_OK);
    FW_CHECK_INT(fw_store_job_release(s, a.id, "w1", "shutting down", 2, 0, &err), FW_OK);
    FW_REQUIRE(fw_store_job_get(s, acme, a.id, &got, &err) == FW_OK);
    FW_CHECK_STR(got.status, FW_STATUS_QUEUED);
    FW_CHECK_STR(got.worker, "");
    FW_CHECK_NEAR(got.progress, 0, 1e-9);
    FW_CHECK(got.error == NULL);
    fw_job_row_clear(&got);

    FW_REQUIRE(fw_store_job_claim(s, "w2", 1000, &got, &err) == FW_OK);
    FW_CHECK_INT(got.attempts, 2);
    FW_CHECK_INT(got.started_at, started); /* set on the first claim only */
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_job_release(s, a.id, "w1", "not mine", 2, 0, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_INT(fw_store_job_release(s, a.id, "w2", "out of disk", 2, 0, &err), FW_OK);
    FW_REQUIRE(fw_store_job_get(s, acme, a.id, &got, &err) == FW_OK);
    FW_CHECK_STR(got.status, FW_STATUS_ERROR);
    FW_CHECK_STR(got.error, "out of disk");
    FW_CHECK(got.error_at > 0);
    fw_job_row_clear(&got);
    fw_store_close(&s);
}

/* A job handed back for later is passed over until its time: the next job
 * is claimed instead. */
static void a_job_handed_back_for_later_waits_for_its_time(void)
{
    fw_store *s = open_store();
    struct timespec pause = {0, 20 * 1000000L};
    char acme[FW_ID_SIZE];
    fw_job_row a, b, got;
    int64_t now = fw_store_now();
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    job_at(&a, acme, now - 2000);
    FW_REQUIRE(insert_one(s, &a) == FW_OK);
    job_at(&b, acme, now - 1000);
    FW_REQUIRE(insert_one(s, &b) == FW_OK);
    FW_REQUIRE(fw_store_job_claim(s, "w1", 60000, &got, &err) == FW_OK);
    FW_CHECK_STR(got.id, a.id);
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_job_release(s, a.id, "w1", "the bucket did not answer", 3, 60000, &err), FW_OK);
    FW_REQUIRE(fw_store_job_get(s, acme, a.id, &got, &err) == FW_OK);
    FW_CHECK_STR(got.status, FW_STATUS_QUEUED);
    fw_job_row_clear(&got);

    FW_REQUIRE(fw_store_job_claim(s, "w2", 60000, &got, &err) == FW_OK);
    FW_CHECK_STR(got.id, b.id); /* the older one waits */
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_job_claim(s, "w3", 60000, &got, &err), FW_ERR_NOT_FOUND);

    /* A wait that is over: claimed again. */
    FW_CHECK_INT(fw_store_job_release(s, b.id, "w2", "the bucket did not answer", 3, 1, &err), FW_OK);
    nanosleep(&pause, NULL);
    FW_REQUIRE(fw_store_job_claim(s, "w3", 60000, &got, &err) == FW_OK);
    FW_CHECK_STR(got.id, b.id);
    FW_CHECK_INT(got.attempts, 2);
    fw_job_row_clear(&got);
    fw_store_close(&s);
}

static void reaping_requeues_expired_leases_and_fails_after_max_attempts(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row a, b, got;
    int requeued = -1, failed = -1;
    int64_t now = fw_store_now();
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    job_at(&a, acme, now - 2000);
    job_at(&b, acme, now - 1000);
    FW_REQUIRE(insert_one(s, &a) == FW_OK && insert_one(s, &b) == FW_OK);
    FW_REQUIRE(fw_store_job_claim(s, "dies", 1000, &got, &err) == FW_OK); /* a, short lease */
    fw_job_row_clear(&got);
    FW_REQUIRE(fw_store_job_claim(s, "lives", 600000, &got, &err) == FW_OK); /* b, long lease */
    fw_job_row_clear(&got);

    /* Nothing expired yet. */
    FW_CHECK_INT(fw_store_job_reap(s, fw_store_now(), 2, &requeued, &failed, &err), FW_OK);
    FW_CHECK_INT(requeued, 0);
    FW_CHECK_INT(failed, 0);
    /* Ten seconds later a's lease has run out; b's has not. */
    FW_CHECK_INT(fw_store_job_reap(s, fw_store_now() + 10000, 2, &requeued, &failed, &err), FW_OK);
    FW_CHECK_INT(requeued, 1);
    FW_CHECK_INT(failed, 0);
    FW_CHECK_STR(status_of(s, a.id), FW_STATUS_QUEUED);
    FW_CHECK_STR(status_of(s, b.id), FW_STATUS_RENDERING);
    /* The dead worker's late heartbeat is refused. */
    FW_CHECK_INT(fw_store_job_heartbeat(s, a.id, "dies", 1000, 10, "", NULL, &err), FW_ERR_FAILED_PRECONDITION);

    FW_REQUIRE(fw_store_job_claim(s, "dies-again", 1000, &got, &err) == FW_OK);
    FW_CHECK_STR(got.id, a.id);
    FW_CHECK_INT(got.attempts, 2);
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_job_reap(s, fw_store_now() + 10000, 2, NULL, &failed, &err), FW_OK);
    FW_CHECK_INT(failed, 1);
    FW_REQUIRE(fw_store_job_get(s, acme, a.id, &got, &err) == FW_OK);
    FW_CHECK_STR(got.status, FW_STATUS_ERROR);
    FW_CHECK_CONTAINS(got.error, "stopped answering");
    fw_job_row_clear(&got);
    FW_CHECK_STR(status_of(s, b.id), FW_STATUS_RENDERING);
    fw_store_close(&s);
}

/* ---- versions -------------------------------------------------------------------------------- */

static int64_t version_now(fw_store *s)
{
    int64_t v = -1;
    fw_error err;
    if (fw_store_version(s, &v, &err) != FW_OK)
        fprintf(stderr, "  version: %s\n", err.message);
    return v;
}

static int64_t job_version(fw_store *s, const char *id)
{
    fw_job_row row;
    fw_error err;
    int64_t v = -1;
    if (fw_store_job_get(s, NULL, id, &row, &err) == FW_OK) {
        v = row.version;
        fw_job_row_clear(&row);
    }
    return v;
}

static void versions_increase_on_every_change_and_changes_come_in_order(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row jobs[3], got, *rows = NULL;
    size_t count = 0;
    int64_t v, last, start;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    start = version_now(s);
    FW_CHECK_INT(start, 0);
    for (int i = 0; i < 3; i++)
        job_at(&jobs[i], acme, fw_store_now() - 3000 + i);
    FW_REQUIRE(fw_store_jobs_insert(s, jobs, 3, &err) == FW_OK);
    last = version_now(s);
    FW_CHECK_INT(last, 3); /* one version per job */
    FW_CHECK(job_version(s, jobs[0].id) != job_version(s, jobs[1].id));

    /* Each call that changes a job gives it the next version. */
    FW_REQUIRE(fw_store_job_claim(s, "w", 10000, &got, &err) == FW_OK);
    fw_job_row_clear(&got);
    v = version_now(s);
    FW_CHECK(v > last);
    FW_CHECK_INT(job_version(s, jobs[0].id), v);
    last = v;
    FW_REQUIRE(fw_store_job_heartbeat(s, jobs[0].id, "w", 10000, 10, "render", NULL, &err) == FW_OK);
    v = version_now(s);
    FW_CHECK(v > last);
    FW_CHECK_INT(job_version(s, jobs[0].id), v);
    last = v;
    FW_REQUIRE(fw_store_job_complete(s, jobs[0].id, "w", 1, 0, NULL, NULL, &err) == FW_OK);
    v = version_now(s);
    FW_CHECK(v > last);
    last = v;
    FW_REQUIRE(fw_store_job_cancel(s, acme, jobs[2].id, &got, &err) == FW_OK);
    FW_CHECK_INT(got.version, version_now(s));
    fw_job_row_clear(&got);
    v = version_now(s);
    FW_CHECK(v > last);
    last = v;
    /* A refused change changes no version. */
    FW_CHECK_INT(fw_store_job_cancel(s, acme, jobs[2].id, &got, &err), FW_ERR_FAILED_PRECONDITION);
    fw_job_row_clear(&got);
    FW_CHECK_INT(version_now(s), last);

    /* Changes since the start: each job once, at its latest version, in order:
     * jobs[1] (insert), jobs[0] (complete), jobs[2] (cancel). */
    FW_REQUIRE(fw_store_job_changes(s, start, 100, &rows, &count, &err) == FW_OK);
    FW_CHECK_INT(count, 3);
    if (count == 3) {
        FW_CHECK_STR(rows[0].id, jobs[1].id);
        FW_CHECK_STR(rows[1].id, jobs[0].id);
        FW_CHECK_STR(rows[2].id, jobs[2].id);
        FW_CHECK(rows[0].version < rows[1].version && rows[1].version < rows[2].version);
        FW_CHECK_INT(rows[2].version, last);
    }
    int64_t middle = count ? rows[0].version : 0;
    fw_job_rows_free(&rows, count);
    FW_REQUIRE(fw_store_job_changes(s, middle, 1, &rows, &count, &err) == FW_OK);
    FW_CHECK_INT(count, 1);
    if (count)
        FW_CHECK_STR(rows[0].id, jobs[0].id);
    fw_job_rows_free(&rows, count);
    FW_REQUIRE(fw_store_job_changes(s, last, 100, &rows, &count, &err) == FW_OK);
    FW_CHECK_INT(count, 0);
    fw_job_rows_free(&rows, count);

    /* The sequence is the store's, not the connection's. */
    fw_store *other = open_store();
    FW_REQUIRE(other);
    FW_CHECK_INT(version_now(other), last);
    FW_REQUIRE(fw_store_job_transition(other, jobs[1].id, FW_STATUS_QUEUED, FW_STATUS_ERROR, "bad input", &err) ==
               FW_OK);
    FW_CHECK(version_now(s) > last);
    FW_CHECK_STR(status_of(s, jobs[1].id), FW_STATUS_ERROR);
    fw_store_close(&other);
    fw_store_close(&s);
}

/* ---- concurrency ----------------------------------------------------------------------------- */

#define CLAIMERS 4
#define QUEUED 200

static void every_job_is_claimed_exactly_once_by_competing_processes(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], path[4200], line[64];
    static fw_job_row jobs[QUEUED];
    static int claimed_times[QUEUED];
    pid_t kids[CLAIMERS];
    int64_t base = fw_store_now() - 100000;
    int total = 0, clean_exits = 0;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    for (int i = 0; i < QUEUED; i++) {
        job_at(&jobs[i], acme, base + i);
        claimed_times[i] = 0;
    }
    FW_REQUIRE(fw_store_jobs_insert(s, jobs, QUEUED, &err) == FW_OK);
    fw_store_close(&s);

    for (int k = 0; k < CLAIMERS; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            char worker[32];
            fw_job_row got;
            fw_err rc = FW_OK;
            FILE *out;
            snprintf(path, sizeof(path), "%s/claims-%d", g_dir, k);
            snprintf(worker, sizeof(worker), "worker-%d", k);
            out = fopen(path, "w");
            s = open_store();
            if (!out || !s)
                _exit(2);
            while ((rc = fw_store_job_claim(s, worker, 60000, &got, &err)) == FW_OK) {
                fprintf(out, "%s\n", got.id);
                fw_job_row_clear(&got);
            }
            fclose(out);
            /* "Nothing queued" must be true: only the jobs the other claimers
             * are taking at this moment may still show as queued. */
            int left = -1;
            if (rc == FW_ERR_NOT_FOUND) {
                fw_job_filter queued = {.team_id = acme, .status = FW_STATUS_QUEUED, .limit = 1000};
                left = list_count(s, &queued);
                if (left > CLAIMERS - 1)
                    fprintf(stderr, "  %s was told nothing is queued while %d jobs were\n", worker, left);
            }
            fw_store_close(&s);
            _exit(rc != FW_ERR_NOT_FOUND ? 3 : left < 0 || left > CLAIMERS - 1 ? 4 : 0);
        }
    }
    for (int k = 0; k < CLAIMERS; k++) {
        int status = 0;
        waitpid(kids[k], &status, 0);
        clean_exits += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    FW_CHECK_INT(clean_exits, CLAIMERS);

    int workers_with_claims = 0;
    for (int k = 0; k < CLAIMERS; k++) {
        FILE *in;
        int mine = 0;
        snprintf(path, sizeof(path), "%s/claims-%d", g_dir, k);
        in = fopen(path, "r");
        if (!in)
            continue;
        while (fgets(line, sizeof(line), in)) {
            line[strcspn(line, "\n")] = '\0';
            for (int i = 0; i < QUEUED; i++)
                if (strcmp(jobs[i].id, line) == 0)
                    claimed_times[i]++;
            total++;
            mine++;
        }
        fclose(in);
        workers_with_claims += mine > 0;
    }
    FW_CHECK_INT(total, QUEUED);
    int once = 0;
    for (int i = 0; i < QUEUED; i++)
        once += claimed_times[i] == 1;
    FW_CHECK_INT(once, QUEUED);
    fprintf(stderr, "  %d processes claimed %d jobs; %d of them got some\n", CLAIMERS, total, workers_with_claims);

    s = open_store();
    FW_REQUIRE(s);
    fw_job_filter f = {.team_id = acme, .status = FW_STATUS_RENDERING, .limit = 1000};
    FW_CHECK_INT(list_count(s, &f), QUEUED);
    fw_store_close(&s);
}

static void a_change_on_one_connection_wakes_the_other(void)
{
    fw_store *watcher = open_store(), *writer = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job;
    fw_error err;

    FW_REQUIRE(watcher && writer);
    if (!g_pg) {
        FW_CHECK_INT(fw_store_notify_fd(watcher), -1);
        FW_CHECK_INT(fw_store_drain_notify(watcher), 0);
        fw_store_close(&watcher);
        fw_store_close(&writer);
        return;
    }
    FW_REQUIRE(fw_store_team_ensure(writer, "acme", acme, &err) == FW_OK);
    fw_store_drain_notify(watcher);
    struct pollfd p = {.fd = fw_store_notify_fd(watcher), .events = POLLIN};
    FW_REQUIRE(p.fd >= 0);
    FW_CHECK_INT(poll(&p, 1, 200), 0); /* quiet until a job changes */
    job_at(&job, acme, fw_store_now());
    FW_REQUIRE(insert_one(writer, &job) == FW_OK);
    FW_CHECK_INT(poll(&p, 1, 5000), 1);
    FW_CHECK(fw_store_drain_notify(watcher) >= 1);
    FW_CHECK_INT(fw_store_drain_notify(watcher), 0);

    /* A worker's change wakes it too. */
    fw_job_row got;
    FW_REQUIRE(fw_store_job_claim(writer, "w", 1000, &got, &err) == FW_OK);
    fw_job_row_clear(&got);
    p.revents = 0;
    FW_CHECK_INT(poll(&p, 1, 5000), 1);
    FW_CHECK(fw_store_drain_notify(watcher) >= 1);
    fw_store_close(&watcher);
    fw_store_close(&writer);
}

/* ---- chunks of a split render ---------------------------------------------------------------- */

/* Run SQL on the case's database from a connection of the test's own (the
 * store has no call for what the case needs: a schema taken back, a job
 * deleted). 1 when every statement ran. */
static int raw_sql(const char *sql)
{
    int ok = 0;
    if (!g_pg) {
        sqlite3 *db;
        char *msg = NULL;
        if (sqlite3_open(g_url, &db) == SQLITE_OK &&
            sqlite3_exec(db, "PRAGMA foreign_keys = ON;", NULL, NULL, NULL) == SQLITE_OK)
            ok = sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK;
        if (!ok)
            fprintf(stderr, "  %s: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_close(db);
    } else {
        PGconn *c = PQconnectdb(g_url);
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "  %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
    }
    return ok;
}

/* A job of team acme created at `created`, claimed by worker (its
 * coordinator), into *job. */
static int rendering_job(fw_store *s, const char *team, int64_t created, const char *worker, fw_job_row *job)
{
    fw_job_row got;
    fw_error err;
    job_at(job, team, created);
    if (insert_one(s, job) != FW_OK || fw_store_job_claim(s, worker, 60000, &got, &err) != FW_OK)
        return 0;
    int mine = strcmp(got.id, job->id) == 0;
    fw_job_row_clear(&got);
    return mine;
}

/* Chunks of count frames each, count of them, from frame 0. */
static const int (*frame_ranges(int count, int frames))[2]
{
    static int ranges[256][2];
    for (int i = 0; i < count && i < 256; i++) {
        ranges[i][0] = i * frames;
        ranges[i][1] = i * frames + frames - 1;
    }
    return (const int(*)[2])ranges;
}

static fw_chunk_row chunk_of(fw_store *s, const char *job_id, int index)
{
    fw_chunk_row *rows = NULL, out;
    size_t count = 0;
    fw_error err;
    memset(&out, 0, sizeof(out));
    snprintf(out.status, sizeof(out.status), "(missing)");
    if (fw_store_chunks_get(s, job_id, &rows, &count, &err) == FW_OK && (size_t)index < count) {
        out = rows[index];
        rows[index].error = NULL; /* the copy owns it now */
    }
    fw_chunk_rows_free(&rows, count);
    return out;
}

static void chunks_are_planned_only_by_the_jobs_holder_and_only_once(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job, waiting;
    fw_chunk_row *rows = NULL;
    size_t count = 0;
    int planned = -1;
    fw_error err;
    static const int backwards[2][2] = {{10, 19}, {0, 9}}, inside_out[1][2] = {{9, 0}};

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now() - 1000, "coordinator", &job));
    job_at(&waiting, acme, fw_store_now());
    FW_REQUIRE(insert_one(s, &waiting) == FW_OK);
    int64_t before = version_now(s);

    FW_CHECK_INT(fw_store_chunks_plan(s, job.id, "someone-else", frame_ranges(3, 10), 3, &planned, &err),
                 FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "someone-else");
    FW_CHECK_INT(fw_store_chunks_plan(s, waiting.id, "coordinator", frame_ranges(3, 10), 3, &planned, &err),
                 FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_INT(fw_store_chunks_plan(s, "01NOSUCHJOB000000000000000", "coordinator", frame_ranges(3, 10), 3,
                                      &planned, &err),
                 FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_chunks_plan(s, job.id, "coordinator", backwards, 2, &planned, &err), FW_ERR_INVALID);
    FW_CHECK_INT(fw_store_chunks_plan(s, job.id, "coordinator", inside_out, 1, &planned, &err), FW_ERR_INVALID);
    FW_CHECK_INT(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(3, 10), 0, &planned, &err),
                 FW_ERR_INVALID);
    FW_CHECK_INT(fw_store_chunks_get(s, job.id, &rows, &count, &err), FW_OK);
    FW_CHECK_INT(count, 0);
    fw_chunk_rows_free(&rows, count);

    FW_CHECK_INT(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(3, 10), 3, &planned, &err), FW_OK);
    FW_CHECK_INT(planned, 3);
    /* A coordinator that took over plans again and keeps what was planned. */
    FW_CHECK_INT(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(5, 6), 5, &planned, &err), FW_OK);
    FW_CHECK_INT(planned, 3);
    FW_CHECK_INT(fw_store_chunks_get(s, job.id, &rows, &count, &err), FW_OK);
    FW_REQUIRE(count == 3);
    for (int i = 0; i < 3; i++) {
        FW_CHECK_STR(rows[i].job_id, job.id);
        FW_CHECK_INT(rows[i].index, i);
        FW_CHECK_INT(rows[i].first_frame, i * 10);
        FW_CHECK_INT(rows[i].last_frame, i * 10 + 9);
        FW_CHECK_STR(rows[i].status, FW_CHUNK_QUEUED);
        FW_CHECK_STR(rows[i].worker, "");
        FW_CHECK_INT(rows[i].attempts, 0);
        FW_CHECK_INT(rows[i].lease_until, 0);
        FW_CHECK_STR(rows[i].segment_key, "");
        FW_CHECK(rows[i].error == NULL);
        FW_CHECK(rows[i].created_at > 0 && rows[i].updated_at == rows[i].created_at);
    }
    fw_chunk_rows_free(&rows, count);
    FW_CHECK(rows == NULL);
    /* Chunks are not job changes: the watch feed does not see them. */
    FW_CHECK_INT(version_now(s), before);

    /* More chunks than one INSERT holds. */
    fw_job_row big;
    FW_REQUIRE(rendering_job(s, acme, fw_store_now() - 5000, "coordinator", &big)); /* older than the one waiting */
    FW_CHECK_INT(fw_store_chunks_plan(s, big.id, "coordinator", frame_ranges(250, 2), 250, &planned, &err), FW_OK);
    FW_CHECK_INT(planned, 250);
    fw_chunk_row last = chunk_of(s, big.id, 249);
    FW_CHECK_INT(last.first_frame, 498);
    FW_CHECK_INT(last.last_frame, 499);
    free(last.error);
    fw_store_close(&s);
}

static void chunks_are_claimed_in_order_and_only_while_their_job_renders(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row older, newer, requeued;
    fw_chunk_row got;
    int planned = 0;
    int64_t base = fw_store_now() - 100000;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, base, "c1", &older));
    FW_REQUIRE(rendering_job(s, acme, base + 10, "c2", &newer));
    FW_REQUIRE(rendering_job(s, acme, base + 5, "c3", &requeued));
    FW_REQUIRE(fw_store_chunks_plan(s, newer.id, "c2", frame_ranges(2, 10), 2, &planned, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunks_plan(s, older.id, "c1", frame_ranges(2, 10), 2, &planned, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunks_plan(s, requeued.id, "c3", frame_ranges(2, 10), 2, &planned, &err) == FW_OK);
    /* Its coordinator gave the job back: it keeps its chunks, which wait. */
    FW_REQUIRE(fw_store_job_release(s, requeued.id, "c3", NULL, 3, 0, &err) == FW_OK);
    int64_t before = version_now(s);

    /* Of one job, lowest index first. */
    FW_CHECK_INT(fw_store_chunk_claim(s, "w1", 30000, newer.id, &got, &err), FW_OK);
    FW_CHECK_STR(got.job_id, newer.id);
    FW_CHECK_INT(got.index, 0);
    FW_CHECK_STR(got.status, FW_CHUNK_RENDERING);
    FW_CHECK_STR(got.worker, "w1");
    FW_CHECK_INT(got.attempts, 1);
    FW_CHECK(got.lease_until >= fw_store_now() + 25000 && got.lease_until <= fw_store_now() + 30000);
    FW_CHECK_INT(fw_store_chunk_claim(s, "w1", 30000, requeued.id, &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_chunk_claim(s, "w1", 0, NULL, &got, &err), FW_ERR_INVALID);
    FW_CHECK_INT(fw_store_chunk_claim(s, "", 1000, NULL, &got, &err), FW_ERR_INVALID);

    /* Of any job: the oldest job's first. */
    static const char *const expect[][2] = {{"older", "0"}, {"older", "1"}, {"newer", "1"}};
    for (int i = 0; i < 3; i++) {
        FW_CHECK_INT(fw_store_chunk_claim(s, "w2", 30000, NULL, &got, &err), FW_OK);
        FW_CHECK_STR(got.job_id, strcmp(expect[i][0], "older") == 0 ? older.id : newer.id);
        FW_CHECK_INT(got.index, atoi(expect[i][1]));
        FW_CHECK_STR(got.worker, "w2");
    }
    FW_CHECK_INT(fw_store_chunk_claim(s, "w2", 30000, NULL, &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_chunk_claim(s, "w2", 30000, newer.id, &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_STR(chunk_of(s, requeued.id, 0).status, FW_CHUNK_QUEUED);
    FW_CHECK_INT(version_now(s), before);

    /* Its next coordinator carries on with them. */
    fw_job_row again;
    FW_REQUIRE(fw_store_job_claim(s, "c4", 60000, &again, &err) == FW_OK);
    FW_CHECK_STR(again.id, requeued.id);
    fw_job_row_clear(&again);
    FW_CHECK_INT(fw_store_chunks_plan(s, requeued.id, "c4", frame_ranges(4, 5), 4, &planned, &err), FW_OK);
    FW_CHECK_INT(planned, 2);
    FW_CHECK_INT(fw_store_chunk_claim(s, "w3", 30000, NULL, &got, &err), FW_OK);
    FW_CHECK_STR(got.job_id, requeued.id);
    FW_CHECK_INT(got.index, 0);
    fw_store_close(&s);
}

#define CHUNK_CLAIMERS 2
#define CHUNKS_RACED 200

typedef struct chunk_claimer {
    const char *job_id; /* NULL: claims of any job */
    char worker[32];
    int claimed[CHUNKS_RACED];
    int total, last_rc;
} chunk_claimer;

static pthread_barrier_t g_claimers_ready; /* every claimer's store is open */

static void *claim_chunks_until_none(void *arg)
{
    chunk_claimer *c = arg;
    fw_store *s = open_store();
    fw_chunk_row got;
    fw_error err;
    pthread_barrier_wait(&g_claimers_ready);
    if (!s) {
        c->last_rc = -1;
        return NULL;
    }
    while ((c->last_rc = fw_store_chunk_claim(s, c->worker, 60000, c->job_id, &got, &err)) == FW_OK) {
        if (got.index >= 0 && got.index < CHUNKS_RACED)
            c->claimed[got.index]++;
        c->total++;
    }
    if (c->last_rc != FW_ERR_NOT_FOUND)
        fprintf(stderr, "  %s: %s\n", c->worker, err.message);
    fw_store_close(&s);
    return NULL;
}

static void two_claimers_never_get_the_same_chunk(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    static chunk_claimer claimers[CHUNK_CLAIMERS];
    pthread_t threads[CHUNK_CLAIMERS];
    fw_job_row job;
    int planned = 0, once = 0, total = 0;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now(), "coordinator", &job));
    FW_REQUIRE(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(CHUNKS_RACED, 3), CHUNKS_RACED, &planned,
                                    &err) == FW_OK);
    for (int k = 0; k < CHUNK_CLAIMERS; k++) {
        memset(&claimers[k], 0, sizeof(claimers[k]));
        claimers[k].job_id = k == 0 ? job.id : NULL; /* the coordinator's own claims and a helper's */
        snprintf(claimers[k].worker, sizeof(claimers[k].worker), "worker-%d", k);
    }
    pthread_barrier_init(&g_claimers_ready, NULL, CHUNK_CLAIMERS);
    for (int k = 0; k < CHUNK_CLAIMERS; k++)
        FW_REQUIRE(pthread_create(&threads[k], NULL, claim_chunks_until_none, &claimers[k]) == 0);
    for (int k = 0; k < CHUNK_CLAIMERS; k++)
        pthread_join(threads[k], NULL);
    pthread_barrier_destroy(&g_claimers_ready);
    for (int k = 0; k < CHUNK_CLAIMERS; k++) {
        FW_CHECK_INT(claimers[k].last_rc, FW_ERR_NOT_FOUND);
        total += claimers[k].total;
    }
    for (int i = 0; i < CHUNKS_RACED; i++)
        once += claimers[0].claimed[i] + claimers[1].claimed[i] == 1;
    FW_CHECK_INT(total, CHUNKS_RACED);
    FW_CHECK_INT(once, CHUNKS_RACED);
    fprintf(stderr, "  %d threads claimed %d chunks: %d and %d\n", CHUNK_CLAIMERS, total, claimers[0].total,
            claimers[1].total);
    fw_store_close(&s);
}

static void chunk_heartbeats_renew_only_the_holders_lease_and_tell_the_jobs_status(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], job_status[24];
    fw_job_row job, cancelled;
    fw_chunk_row got, now;
    int planned = 0;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now(), "coordinator", &job));
    FW_REQUIRE(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(2, 10), 2, &planned, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunk_claim(s, "w1", 1000, job.id, &got, &err) == FW_OK);
    int64_t before = version_now(s);

    snprintf(job_status, sizeof(job_status), "?");
    FW_CHECK_INT(fw_store_chunk_heartbeat(s, job.id, 0, "w1", 60000, 42.5, job_status, &err), FW_OK);
    FW_CHECK_STR(job_status, FW_STATUS_RENDERING);
    now = chunk_of(s, job.id, 0);
    FW_CHECK_NEAR(now.progress, 42.5, 1e-9);
    FW_CHECK(now.lease_until >= fw_store_now() + 55000);
    FW_CHECK_INT(fw_store_chunk_heartbeat(s, job.id, 0, "w1", 60000, 250, NULL, &err), FW_OK);
    FW_CHECK_NEAR(chunk_of(s, job.id, 0).progress, 100, 1e-9);
    FW_CHECK_INT(version_now(s), before);

    snprintf(job_status, sizeof(job_status), "?");
    FW_CHECK_INT(fw_store_chunk_heartbeat(s, job.id, 0, "w2", 60000, 50, job_status, &err),
                 FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "held by w1");
    FW_CHECK_STR(job_status, FW_STATUS_RENDERING);
    FW_CHECK_INT(fw_store_chunk_heartbeat(s, job.id, 1, "w1", 60000, 50, job_status, &err),
                 FW_ERR_FAILED_PRECONDITION); /* queued: nobody's */
    FW_CHECK_INT(fw_store_chunk_heartbeat(s, job.id, 7, "w1", 60000, 50, job_status, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_chunk_heartbeat(s, "01NOSUCHJOB000000000000000", 0, "w1", 60000, 50, job_status, &err),
                 FW_ERR_NOT_FOUND);

    /* Cancelled: the holder's heartbeat still lands and tells it to stop. */
    FW_REQUIRE(fw_store_job_cancel(s, acme, job.id, &cancelled, &err) == FW_OK);
    fw_job_row_clear(&cancelled);
    FW_CHECK_INT(fw_store_chunk_heartbeat(s, job.id, 0, "w1", 60000, 60, job_status, &err), FW_OK);
    FW_CHECK_STR(job_status, FW_STATUS_CANCELLED);
    FW_CHECK_INT(fw_store_chunk_claim(s, "w2", 1000, job.id, &got, &err), FW_ERR_NOT_FOUND);
    fw_store_close(&s);
}

static void chunks_are_finished_only_by_their_holder_while_the_job_renders(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job;
    fw_chunk_row got, done;
    int planned = 0;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now(), "coordinator", &job));
    FW_REQUIRE(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(2, 10), 2, &planned, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunk_claim(s, "w1", 60000, job.id, &got, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunk_claim(s, "w2", 60000, job.id, &got, &err) == FW_OK);
    int64_t before = version_now(s);

    FW_CHECK_INT(fw_store_chunk_finish(s, job.id, 0, "w2", "segments/0.mp4", 1.5, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_INT(fw_store_chunk_finish(s, job.id, 0, "w1", "", 1.5, &err), FW_ERR_INVALID);
    FW_CHECK_INT(fw_store_chunk_finish(s, job.id, 9, "w1", "segments/9.mp4", 1.5, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_chunk_finish(s, job.id, 0, "w1", "segments/0.mp4", 1.5, &err), FW_OK);
    done = chunk_of(s, job.id, 0);
    FW_CHECK_STR(done.status, FW_CHUNK_FINISHED);
    FW_CHECK_NEAR(done.progress, 100, 1e-9);
    FW_CHECK_STR(done.segment_key, "segments/0.mp4");
    FW_CHECK_NEAR(done.render_seconds, 1.5, 1e-9);
    FW_CHECK_STR(done.worker, "w1"); /* who rendered it */
    FW_CHECK_INT(done.lease_until, 0);
    FW_CHECK_INT(fw_store_chunk_finish(s, job.id, 0, "w1", "segments/0.mp4", 1.5, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_INT(version_now(s), before);

    /* The coordinator gave the job back: the other segment is not wanted. */
    FW_REQUIRE(fw_store_job_release(s, job.id, "coordinator", NULL, 3, 0, &err) == FW_OK);
    FW_CHECK_INT(fw_store_chunk_finish(s, job.id, 1, "w2", "segments/1.mp4", 1.5, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "not wanted");
    FW_CHECK_STR(chunk_of(s, job.id, 1).status, FW_CHUNK_RENDERING);
    FW_CHECK_STR(chunk_of(s, job.id, 1).segment_key, "");
    fw_store_close(&s);
}

static void chunk_releases_requeue_until_the_attempts_run_out(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job;
    fw_chunk_row got, now;
    int planned = 0;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now(), "coordinator", &job));
    FW_REQUIRE(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(1, 10), 1, &planned, &err) == FW_OK);

    FW_REQUIRE(fw_store_chunk_claim(s, "w1", 60000, NULL, &got, &err) == FW_OK);
    FW_CHECK_INT(fw_store_chunk_release(s, job.id, 0, "w2", NULL, 2, 1, 0, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_INT(fw_store_chunk_release(s, job.id, 5, "w1", NULL, 2, 1, 0, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_chunk_release(s, job.id, 0, "w1", "out of memory", 2, 1, 0, &err), FW_OK);
    now = chunk_of(s, job.id, 0);
    FW_CHECK_STR(now.status, FW_CHUNK_QUEUED);
    FW_CHECK_STR(now.worker, "");
    FW_CHECK_INT(now.attempts, 1);
    FW_CHECK_INT(now.lease_until, 0);
    FW_CHECK(now.error == NULL);
    FW_CHECK_INT(fw_store_chunk_release(s, job.id, 0, "w1", NULL, 2, 1, 0, &err), FW_ERR_FAILED_PRECONDITION);

    /* A worker stopping does not count its attempt. */
    FW_REQUIRE(fw_store_chunk_claim(s, "w2", 60000, NULL, &got, &err) == FW_OK);
    FW_CHECK_INT(got.attempts, 2);
    FW_CHECK_INT(fw_store_chunk_release(s, job.id, 0, "w2", NULL, 2, 0, 0, &err), FW_OK);
    now = chunk_of(s, job.id, 0);
    FW_CHECK_STR(now.status, FW_CHUNK_QUEUED);
    FW_CHECK_INT(now.attempts, 1);

    /* The second counted attempt was the last. */
    FW_REQUIRE(fw_store_chunk_claim(s, "w3", 60000, NULL, &got, &err) == FW_OK);
    FW_CHECK_INT(fw_store_chunk_release(s, job.id, 0, "w3", "the frame 4 would not draw", 2, 1, 0, &err), FW_OK);
    now = chunk_of(s, job.id, 0);
    FW_CHECK_STR(now.status, FW_CHUNK_ERROR);
    FW_CHECK_INT(now.attempts, 2);
    FW_CHECK_STR(now.error, "the frame 4 would not draw");
    free(now.error);
    FW_CHECK_INT(fw_store_chunk_claim(s, "w4", 60000, NULL, &got, &err), FW_ERR_NOT_FOUND);
    fw_store_close(&s);
}

/* So is a chunk: the job's next chunk is claimed first. */
static void a_chunk_handed_back_for_later_waits_for_its_time(void)
{
    fw_store *s = open_store();
    struct timespec pause = {0, 20 * 1000000L};
    char acme[FW_ID_SIZE];
    fw_job_row job;
    fw_chunk_row got, now;
    int planned = 0;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now(), "coordinator", &job));
    FW_REQUIRE(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(2, 10), 2, &planned, &err) == FW_OK);

    FW_REQUIRE(fw_store_chunk_claim(s, "w1", 60000, NULL, &got, &err) == FW_OK);
    FW_CHECK_INT(got.index, 0);
    FW_CHECK_INT(fw_store_chunk_release(s, job.id, 0, "w1", "the bucket did not answer", 3, 1, 60000, &err), FW_OK);
    now = chunk_of(s, job.id, 0);
    FW_CHECK_STR(now.status, FW_CHUNK_QUEUED);
    FW_REQUIRE(fw_store_chunk_claim(s, "w2", 60000, NULL, &got, &err) == FW_OK);
    FW_CHECK_INT(got.index, 1);
    FW_CHECK_INT(fw_store_chunk_claim(s, "w3", 60000, job.id, &got, &err), FW_ERR_NOT_FOUND);

    FW_CHECK_INT(fw_store_chunk_release(s, job.id, 1, "w2", "the bucket did not answer", 3, 1, 1, &err), FW_OK);
    nanosleep(&pause, NULL);
    FW_REQUIRE(fw_store_chunk_claim(s, "w3", 60000, NULL, &got, &err) == FW_OK);
    FW_CHECK_INT(got.index, 1);
    FW_CHECK_INT(got.attempts, 2);
    fw_store_close(&s);
}

static void chunk_reaping_requeues_expired_leases_and_fails_after_max_attempts(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job;
    fw_chunk_row got, now;
    int planned = 0, requeued = -1, failed = -1;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now(), "coordinator", &job));
    FW_REQUIRE(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(3, 10), 3, &planned, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunk_claim(s, "w1", 1000, NULL, &got, &err) == FW_OK);     /* 0: runs out */
    FW_REQUIRE(fw_store_chunk_claim(s, "w2", 1000, NULL, &got, &err) == FW_OK);     /* 1: finished */
    FW_REQUIRE(fw_store_chunk_finish(s, job.id, 1, "w2", "segments/1.mp4", 1, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunk_claim(s, "w3", 3600000, NULL, &got, &err) == FW_OK);  /* 2: alive */
    int64_t before = version_now(s);

    FW_CHECK_INT(fw_store_chunk_reap(s, fw_store_now(), 2, &requeued, &failed, &err), FW_OK);
    FW_CHECK_INT(requeued, 0);
    FW_CHECK_INT(failed, 0);
    FW_CHECK_INT(fw_store_chunk_reap(s, fw_store_now() + 5000, 2, &requeued, &failed, &err), FW_OK);
    FW_CHECK_INT(requeued, 1);
    FW_CHECK_INT(failed, 0);
    now = chunk_of(s, job.id, 0);
    FW_CHECK_STR(now.status, FW_CHUNK_QUEUED);
    FW_CHECK_STR(now.worker, "");
    FW_CHECK_INT(now.lease_until, 0);
    FW_CHECK_STR(chunk_of(s, job.id, 1).status, FW_CHUNK_FINISHED);
    FW_CHECK_STR(chunk_of(s, job.id, 2).status, FW_CHUNK_RENDERING);

    FW_REQUIRE(fw_store_chunk_claim(s, "w4", 1000, NULL, &got, &err) == FW_OK);
    FW_CHECK_INT(got.index, 0);
    FW_CHECK_INT(fw_store_chunk_reap(s, fw_store_now() + 5000, 2, NULL, NULL, &err), FW_OK);
    FW_CHECK_INT(fw_store_chunk_reap(s, fw_store_now() + 5000, 2, &requeued, &failed, &err), FW_OK);
    FW_CHECK_INT(requeued + failed, 0); /* the first sweep took it */
    now = chunk_of(s, job.id, 0);
    FW_CHECK_STR(now.status, FW_CHUNK_ERROR);
    FW_CHECK_CONTAINS(now.error, "stopped answering");
    free(now.error);
    FW_CHECK_INT(version_now(s), before);
    /* The reaped worker's late calls change nothing. */
    FW_CHECK_INT(fw_store_chunk_finish(s, job.id, 0, "w4", "segments/0.mp4", 1, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_INT(fw_store_chunk_heartbeat(s, job.id, 0, "w4", 1000, 10, NULL, &err), FW_ERR_FAILED_PRECONDITION);
    fw_store_close(&s);
}

static void chunks_go_when_deleted_and_with_their_job(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], sql[256];
    fw_job_row job, other;
    fw_chunk_row *rows = NULL;
    size_t count = 0;
    int planned = 0;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now() - 10, "c1", &job));
    FW_REQUIRE(rendering_job(s, acme, fw_store_now(), "c2", &other));
    FW_REQUIRE(fw_store_chunks_plan(s, job.id, "c1", frame_ranges(3, 10), 3, &planned, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunks_plan(s, other.id, "c2", frame_ranges(2, 10), 2, &planned, &err) == FW_OK);

    FW_CHECK_INT(fw_store_chunks_delete(s, job.id, &err), FW_OK);
    FW_CHECK_INT(fw_store_chunks_get(s, job.id, &rows, &count, &err), FW_OK);
    FW_CHECK_INT(count, 0);
    fw_chunk_rows_free(&rows, count);
    FW_CHECK_INT(fw_store_chunks_delete(s, job.id, &err), FW_OK); /* nothing left: fine */
    FW_CHECK_INT(fw_store_chunks_get(s, other.id, &rows, &count, &err), FW_OK);
    FW_CHECK_INT(count, 2);
    fw_chunk_rows_free(&rows, count);

    /* The store deletes no job, but should one go its chunks go with it. */
    fw_store_close(&s);
    snprintf(sql, sizeof(sql), "DELETE FROM jobs WHERE id = '%s'", other.id);
    FW_CHECK(raw_sql(sql));
    s = open_store();
    FW_REQUIRE(s);
    FW_CHECK_INT(fw_store_chunks_get(s, other.id, &rows, &count, &err), FW_OK);
    FW_CHECK_INT(count, 0);
    fw_chunk_rows_free(&rows, count);
    fw_store_close(&s);
}

static void how_a_job_was_rendered_is_noted_by_its_holder(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job, got;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now(), "coordinator", &job));
    FW_REQUIRE(fw_store_job_get(s, NULL, job.id, &got, &err) == FW_OK);
    FW_CHECK_INT(got.chunks, 0);
    FW_CHECK(got.workers_json == NULL);
    int64_t version = got.version;
    fw_job_row_clear(&got);

    FW_CHECK_INT(fw_store_job_note_render(s, job.id, "someone-else", 3, "[\"a\"]", &err),
                 FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_INT(fw_store_job_note_render(s, "01NOSUCHJOB000000000000000", "coordinator", 3, "[]", &err),
                 FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_job_note_render(s, job.id, "coordinator", 3, "{\"a\": 1}", &err), FW_ERR_INVALID);
    FW_CHECK_INT(fw_store_job_note_render(s, job.id, "coordinator", -1, "[]", &err), FW_ERR_INVALID);
    FW_CHECK_INT(fw_store_job_note_render(s, job.id, "coordinator", 3, "[\"coordinator\",\"w1\"]", &err), FW_OK);
    FW_REQUIRE(fw_store_job_get(s, acme, job.id, &got, &err) == FW_OK);
    FW_CHECK_INT(got.chunks, 3);
    FW_CHECK_STR(got.workers_json, "[\"coordinator\",\"w1\"]");
    FW_CHECK(got.version > version); /* a change of the job, which watchers see */
    fw_job_row_clear(&got);

    /* It stays after the job completes, and the list reads it too. */
    FW_REQUIRE(fw_store_job_complete(s, job.id, "coordinator", 2.0, 30, NULL, NULL, &err) == FW_OK);
    FW_CHECK_INT(fw_store_job_note_render(s, job.id, "coordinator", 1, "[]", &err), FW_ERR_FAILED_PRECONDITION);
    fw_job_row *rows = NULL;
    size_t count = 0;
    fw_job_filter f = {.team_id = acme, .limit = 10};
    FW_REQUIRE(fw_store_job_list(s, &f, &rows, &count, &err) == FW_OK);
    FW_REQUIRE(count == 1);
    FW_CHECK_INT(rows[0].chunks, 3);
    FW_CHECK_STR(rows[0].workers_json, "[\"coordinator\",\"w1\"]");
    fw_job_rows_free(&rows, count);
    fw_store_close(&s);
}

/* The migrations a fresh database has, and taking the last back. */
#define MIGRATION_LATEST 9
#define TAKE_BACK_9                                                                                               \
    "ALTER TABLE jobs DROP COLUMN retry_at;"                                                                       \
    "ALTER TABLE chunks DROP COLUMN retry_at;"                                                                     \
    "DELETE FROM schema_migrations WHERE version = 9;"

/* A database made by the build before chunks (migrations 1 to 6) takes
 * migration 7 (and those after it) at open and keeps its jobs. It is made
 * here by taking migrations 9, 8 and 7 back from a fresh one. */
static void chunks_come_to_a_database_of_migration_6(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job, got;
    int planned = 0;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    job_at(&job, acme, fw_store_now());
    FW_REQUIRE(insert_one(s, &job) == FW_OK);
    fw_store_close(&s);
    int64_t applied = migrations_recorded();
    FW_CHECK_INT(applied, MIGRATION_LATEST);
    FW_REQUIRE(raw_sql(TAKE_BACK_9 "DROP TABLE render_cache;"
                       "ALTER TABLE jobs DROP COLUMN cached;"
                       "ALTER TABLE jobs DROP COLUMN chunks_cached;"
                       "DELETE FROM schema_migrations WHERE version = 8;"
                       "DROP TABLE chunks;"
                       "ALTER TABLE jobs DROP COLUMN chunks;"
                       "ALTER TABLE jobs DROP COLUMN workers_json;"
                       "DELETE FROM schema_migrations WHERE version = 7;"));
    FW_CHECK_INT(migrations_recorded(), 6);

    s = open_store();
    FW_REQUIRE(s);
    FW_CHECK_INT(migrations_recorded(), MIGRATION_LATEST);
    FW_REQUIRE(fw_store_job_get(s, acme, job.id, &got, &err) == FW_OK);
    FW_CHECK_STR(got.status, FW_STATUS_QUEUED);
    FW_CHECK_INT(got.chunks, 0);
    FW_CHECK(got.workers_json == NULL);
    fw_job_row_clear(&got);
    FW_REQUIRE(fw_store_job_claim(s, "coordinator", 60000, &got, &err) == FW_OK);
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(2, 10), 2, &planned, &err), FW_OK);
    FW_CHECK_INT(planned, 2);
    fw_store_close(&s);
}

/* PostgreSQL: a worker waiting on LISTEN wakes when chunks are planned, and
 * when one is handed back. */
static void planned_chunks_wake_a_listening_worker(void)
{
    fw_store *idle = open_store(), *coordinator = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job;
    fw_chunk_row got;
    int planned = 0;
    fw_error err;

    FW_REQUIRE(idle && coordinator);
    if (!g_pg) {
        FW_CHECK_INT(fw_store_notify_fd(idle), -1);
        fw_store_close(&idle);
        fw_store_close(&coordinator);
        return;
    }
    FW_REQUIRE(fw_store_team_ensure(coordinator, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(coordinator, acme, fw_store_now(), "coordinator", &job));
    struct pollfd p = {.fd = fw_store_notify_fd(idle), .events = POLLIN};
    FW_REQUIRE(p.fd >= 0);
    /* The job's insert and claim notified already; wait for them to land. */
    while (poll(&p, 1, 300) == 1) {
        fw_store_drain_notify(idle);
        p.revents = 0;
    }
    FW_CHECK_INT(fw_store_drain_notify(idle), 0);
    FW_REQUIRE(fw_store_chunks_plan(coordinator, job.id, "coordinator", frame_ranges(2, 10), 2, &planned, &err) ==
               FW_OK);
    FW_CHECK_INT(poll(&p, 1, 5000), 1);
    FW_CHECK(fw_store_drain_notify(idle) >= 1);

    /* A claim that finds nothing wakes nobody. */
    FW_REQUIRE(fw_store_chunk_claim(idle, "w1", 60000, NULL, &got, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunk_claim(idle, "w1", 60000, NULL, &got, &err) == FW_OK);
    while (poll(&p, 1, 300) == 1) {
        fw_store_drain_notify(idle);
        p.revents = 0;
    }
    FW_CHECK_INT(fw_store_chunk_claim(coordinator, "w2", 60000, NULL, &got, &err), FW_ERR_NOT_FOUND);
    p.revents = 0;
    FW_CHECK_INT(poll(&p, 1, 300), 0);

    /* A chunk handed back wakes it; a call of a worker that does not hold
     * it changes nothing and wakes nobody. */
    FW_CHECK_INT(fw_store_chunk_release(coordinator, job.id, 0, "w9", NULL, 3, 0, 0, &err), FW_ERR_FAILED_PRECONDITION);
    p.revents = 0;
    FW_CHECK_INT(poll(&p, 1, 300), 0);
    FW_CHECK_INT(fw_store_chunk_release(coordinator, job.id, 0, "w1", NULL, 3, 0, 0, &err), FW_OK);
    p.revents = 0;
    FW_CHECK_INT(poll(&p, 1, 5000), 1);
    FW_CHECK(fw_store_drain_notify(idle) >= 1);
    fw_store_close(&idle);
    fw_store_close(&coordinator);
}

/* ---- the render cache ------------------------------------------------------------------------ */

static fw_cache_entry cache_entry(const char *team, const char *digest, const char *kind, const char *key,
                                  int64_t size)
{
    fw_cache_entry e;
    memset(&e, 0, sizeof(e));
    snprintf(e.team_id, sizeof(e.team_id), "%s", team);
    snprintf(e.digest, sizeof(e.digest), "%s", digest);
    snprintf(e.kind, sizeof(e.kind), "%s", kind);
    snprintf(e.storage_key, sizeof(e.storage_key), "%s", key);
    e.size = size;
    return e;
}

/* Put an entry the caller expects to be kept; 1 when it was. */
static int cache_keep(fw_store *s, const char *team, const char *digest, const char *key, int64_t size)
{
    fw_cache_entry e = cache_entry(team, digest, FW_CACHE_OUTPUT, key, size);
    fw_error err;
    int kept = -1;
    return fw_store_cache_put(s, &e, &kept, &err) == FW_OK && kept == 1;
}

/* Set when an entry was last used (the store has no call for the past). */
static int cache_used_at(const char *team, const char *digest, int64_t used_at)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE render_cache SET used_at = %lld WHERE team_id = '%s' AND digest = '%s'",
             (long long)used_at, team, digest);
    return raw_sql(sql);
}

static int64_t cache_bytes(fw_store *s)
{
    int64_t entries = -1, bytes = -1;
    fw_error err;
    if (fw_store_cache_size(s, &entries, &bytes, &err) != FW_OK)
        fprintf(stderr, "  cache size: %s\n", err.message);
    return bytes;
}

/* Evict and check the keys removed, in order: expected is a list of keys separated by spaces ("" for
 * none). */
static void check_evicted(fw_store *s, int64_t max_bytes, int64_t protect_ms, int limit, const char *expected)
{
    char(*keys)[256] = NULL, got[1024] = "";
    size_t count = 0, len = 0;
    fw_error err;

    FW_CHECK_INT(fw_store_cache_evict(s, max_bytes, protect_ms, limit, &keys, &count, &err), FW_OK);
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s", i ? " " : "", keys[i]);
    FW_CHECK_STR(got, expected);
    FW_CHECK(count > 0 || keys == NULL);
    free(keys);
}

static void cache_entries_are_found_by_their_team_only_and_the_first_put_stays(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], other[FW_ID_SIZE], sql[128];
    fw_cache_entry e, got;
    int64_t entries = 0, bytes = 0;
    int kept = -1;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(s, "other", other, &err) == FW_OK);
    FW_CHECK_INT(fw_store_cache_get(s, acme, "d1", &got, &err), FW_ERR_NOT_FOUND);
    int64_t before = version_now(s), put_at = fw_store_now();

    e = cache_entry(acme, "d1", FW_CACHE_OUTPUT, "cache/acme-d1.mp4", 1000);
    FW_CHECK_INT(fw_store_cache_put(s, &e, &kept, &err), FW_OK);
    FW_CHECK_INT(kept, 1);
    FW_CHECK_INT(fw_store_cache_get(s, acme, "d1", &got, &err), FW_OK);
    FW_CHECK_STR(got.team_id, acme);
    FW_CHECK_STR(got.digest, "d1");
    FW_CHECK_STR(got.kind, FW_CACHE_OUTPUT);
    FW_CHECK_STR(got.storage_key, "cache/acme-d1.mp4");
    FW_CHECK_INT(got.size, 1000);
    FW_CHECK(got.created_at >= put_at && got.used_at >= got.created_at);
    /* Another team rendering the same thing finds nothing of acme's. */
    FW_CHECK_INT(fw_store_cache_get(s, other, "d1", &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_STR(got.storage_key, "");

    /* A second render of the digest: the first entry stays, the caller's object is not referenced. */
    e = cache_entry(acme, "d1", FW_CACHE_OUTPUT, "cache/acme-d1-again.mp4", 2000);
    FW_CHECK_INT(fw_store_cache_put(s, &e, &kept, &err), FW_OK);
    FW_CHECK_INT(kept, 0);
    FW_CHECK_INT(fw_store_cache_get(s, acme, "d1", &got, &err), FW_OK);
    FW_CHECK_STR(got.storage_key, "cache/acme-d1.mp4");
    FW_CHECK_INT(got.size, 1000);
    /* The same digest is the other team's own entry. */
    e = cache_entry(other, "d1", FW_CACHE_CHUNK, "cache/other-d1.mp4", 500);
    FW_CHECK_INT(fw_store_cache_put(s, &e, &kept, &err), FW_OK);
    FW_CHECK_INT(kept, 1);
    FW_CHECK_INT(fw_store_cache_get(s, other, "d1", &got, &err), FW_OK);
    FW_CHECK_STR(got.kind, FW_CACHE_CHUNK);
    FW_CHECK_STR(got.storage_key, "cache/other-d1.mp4");
    FW_CHECK_INT(fw_store_cache_size(s, &entries, &bytes, &err), FW_OK);
    FW_CHECK_INT(entries, 2);
    FW_CHECK_INT(bytes, 1500);
    /* Entries are not job changes. */
    FW_CHECK_INT(version_now(s), before);

    /* What is not an entry. */
    e = cache_entry(acme, "d2", "thumbnail", "cache/x", 1);
    FW_CHECK_INT(fw_store_cache_put(s, &e, &kept, &err), FW_ERR_INVALID);
    e = cache_entry(acme, "d2", FW_CACHE_OUTPUT, "cache/x", -1);
    FW_CHECK_INT(fw_store_cache_put(s, &e, &kept, &err), FW_ERR_INVALID);
    e = cache_entry(acme, "", FW_CACHE_OUTPUT, "cache/x", 1);
    FW_CHECK_INT(fw_store_cache_put(s, &e, &kept, &err), FW_ERR_INVALID);
    e = cache_entry(acme, "d2", FW_CACHE_OUTPUT, "", 1);
    FW_CHECK_INT(fw_store_cache_put(s, &e, &kept, &err), FW_ERR_INVALID);
    e = cache_entry("01NOSUCHTEAM00000000000000", "d2", FW_CACHE_OUTPUT, "cache/x", 1);
    FW_CHECK_INT(fw_store_cache_put(s, &e, &kept, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(kept, 0);

    /* The store deletes no team, but should one go its entries go with it. */
    snprintf(sql, sizeof(sql), "DELETE FROM teams WHERE id = '%s'", other);
    FW_CHECK(raw_sql(sql));
    FW_CHECK_INT(fw_store_cache_get(s, other, "d1", &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_cache_get(s, acme, "d1", &got, &err), FW_OK);
    FW_CHECK_INT(cache_bytes(s), 1000);
    fw_store_close(&s);
}

static void a_cache_get_marks_the_entry_used_now(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_cache_entry got;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(cache_keep(s, acme, "d1", "cache/d1", 10));
    FW_REQUIRE(cache_used_at(acme, "d1", 1000));
    int64_t asked_at = fw_store_now();
    FW_CHECK_INT(fw_store_cache_get(s, acme, "d1", &got, &err), FW_OK);
    FW_CHECK(got.used_at >= asked_at);
    FW_CHECK(got.created_at <= asked_at);
    /* The next read sees it too: the mark was written, not only returned. */
    fw_cache_entry again;
    FW_CHECK_INT(fw_store_cache_get(s, acme, "d1", &again, &err), FW_OK);
    FW_CHECK(again.used_at >= got.used_at);
    FW_CHECK_INT(again.created_at, got.created_at);
    fw_store_close(&s);
}

static void cache_eviction_removes_the_least_recently_used_beyond_the_bound(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], other[FW_ID_SIZE], (*keys)[256] = NULL;
    fw_cache_entry got;
    size_t count = 9;
    int64_t entries = 0, bytes = 0, now;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(s, "other", other, &err) == FW_OK);
    check_evicted(s, 0, 0, 10, ""); /* nothing to evict */
    FW_REQUIRE(cache_keep(s, acme, "a", "cache/a", 100));
    FW_REQUIRE(cache_keep(s, acme, "b", "cache/b", 100));
    FW_REQUIRE(cache_keep(s, acme, "c", "cache/c", 100));
    FW_REQUIRE(cache_keep(s, acme, "d", "cache/d", 100));
    FW_REQUIRE(cache_keep(s, acme, "e", "cache/e", 100)); /* used now */
    FW_REQUIRE(cache_keep(s, other, "x", "cache/x", 100));
    FW_REQUIRE(cache_used_at(acme, "a", 1000));
    FW_REQUIRE(cache_used_at(acme, "b", 2000));
    FW_REQUIRE(cache_used_at(other, "x", 2500)); /* teams share the bound */
    FW_REQUIRE(cache_used_at(acme, "c", 3000));
    FW_REQUIRE(cache_used_at(acme, "d", 4000));

    /* At or under the bound nothing goes. */
    check_evicted(s, 1000, 0, 10, "");
    check_evicted(s, 600, 0, 10, "");
    FW_CHECK_INT(cache_bytes(s), 600);
    FW_CHECK_INT(fw_store_cache_evict(s, -1, 0, 10, &keys, &count, &err), FW_ERR_INVALID);
    FW_CHECK_INT(fw_store_cache_evict(s, 0, -1, 10, &keys, &count, &err), FW_ERR_INVALID);
    check_evicted(s, 0, 0, 0, ""); /* a limit of none */
    FW_CHECK_INT(cache_bytes(s), 600);

    /* a is used now, so it is the most recent; e and it are protected for a minute. */
    FW_REQUIRE(fw_store_cache_get(s, acme, "a", &got, &err) == FW_OK);
    /* 350 bytes would take b, x and c; the limit stops at two. */
    check_evicted(s, 350, 60000, 2, "cache/b cache/x");
    FW_CHECK_INT(cache_bytes(s), 400);
    FW_CHECK_INT(fw_store_cache_get(s, acme, "b", &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_cache_get(s, other, "x", &got, &err), FW_ERR_NOT_FOUND);
    check_evicted(s, 350, 60000, 10, "cache/c");
    FW_CHECK_INT(cache_bytes(s), 300);
    /* Under a bound of nothing only the unprotected go. */
    check_evicted(s, 0, 60000, 10, "cache/d");
    FW_CHECK_INT(fw_store_cache_size(s, &entries, &bytes, &err), FW_OK);
    FW_CHECK_INT(entries, 2);
    FW_CHECK_INT(bytes, 200);

    /* Unprotected, the rest go in the order they were used. */
    now = fw_store_now();
    FW_REQUIRE(cache_used_at(acme, "e", now - 20));
    FW_REQUIRE(cache_used_at(acme, "a", now - 10));
    check_evicted(s, 0, 0, 10, "cache/e cache/a");
    FW_CHECK_INT(fw_store_cache_size(s, &entries, &bytes, &err), FW_OK);
    FW_CHECK_INT(entries, 0);
    FW_CHECK_INT(bytes, 0);
    fw_store_close(&s);
}

/* Evictions at the same time, each a little at a time until it finds nothing over the bound. */
#define CACHE_RACED 300
#define CACHE_RACED_BOUND 150

static pthread_barrier_t g_evictors_ready; /* every evictor's store is open */

static void *evict_until_under_the_bound(void *arg)
{
    int *removed = arg;
    fw_store *s = open_store();
    char(*keys)[256] = NULL;
    size_t count = 0;
    fw_error err;
    pthread_barrier_wait(&g_evictors_ready);
    if (!s) {
        *removed = -1;
        return NULL;
    }
    do {
        if (fw_store_cache_evict(s, CACHE_RACED_BOUND, 0, 10, &keys, &count, &err) != FW_OK) {
            fprintf(stderr, "  evict: %s\n", err.message);
            *removed = -1;
            break;
        }
        free(keys);
        *removed += (int)count;
    } while (count > 0);
    fw_store_close(&s);
    return NULL;
}

static void evictions_at_the_same_time_remove_only_the_excess_between_them(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], digest[32], key[64];
    pthread_t threads[2];
    int removed[2] = {0, 0};
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    for (int i = 0; i < CACHE_RACED; i++) {
        snprintf(digest, sizeof(digest), "d%03d", i);
        snprintf(key, sizeof(key), "cache/%03d", i);
        FW_REQUIRE(cache_keep(s, acme, digest, key, 1));
    }
    FW_REQUIRE(raw_sql("UPDATE render_cache SET used_at = 1000"));
    pthread_barrier_init(&g_evictors_ready, NULL, 2);
    for (int k = 0; k < 2; k++)
        FW_REQUIRE(pthread_create(&threads[k], NULL, evict_until_under_the_bound, &removed[k]) == 0);
    for (int k = 0; k < 2; k++)
        pthread_join(threads[k], NULL);
    pthread_barrier_destroy(&g_evictors_ready);
    FW_CHECK(removed[0] >= 0 && removed[1] >= 0);
    FW_CHECK_INT(removed[0] + removed[1], CACHE_RACED - CACHE_RACED_BOUND);
    FW_CHECK_INT(cache_bytes(s), CACHE_RACED_BOUND);
    fprintf(stderr, "  2 evictors removed %d entries: %d and %d\n", removed[0] + removed[1], removed[0], removed[1]);
    fw_store_close(&s);
}

static void what_came_from_the_cache_is_noted_by_the_jobs_holder(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job, got;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now(), "coordinator", &job));
    FW_REQUIRE(fw_store_job_get(s, NULL, job.id, &got, &err) == FW_OK);
    FW_CHECK_INT(got.cached, 0);
    FW_CHECK_INT(got.chunks_cached, 0);
    int64_t version = got.version;
    fw_job_row_clear(&got);

    FW_CHECK_INT(fw_store_job_note_cache(s, job.id, "someone-else", 1, 0, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "someone-else");
    FW_CHECK_INT(fw_store_job_note_cache(s, "01NOSUCHJOB000000000000000", "coordinator", 1, 0, &err),
                 FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_job_note_cache(s, job.id, "coordinator", 2, 0, &err), FW_ERR_INVALID);
    FW_CHECK_INT(fw_store_job_note_cache(s, job.id, "coordinator", 0, -1, &err), FW_ERR_INVALID);
    FW_REQUIRE(fw_store_job_get(s, NULL, job.id, &got, &err) == FW_OK);
    FW_CHECK_INT(got.cached, 0);
    FW_CHECK_INT(got.version, version);
    fw_job_row_clear(&got);

    FW_CHECK_INT(fw_store_job_note_cache(s, job.id, "coordinator", 0, 2, &err), FW_OK);
    FW_REQUIRE(fw_store_job_get(s, acme, job.id, &got, &err) == FW_OK);
    FW_CHECK_INT(got.cached, 0);
    FW_CHECK_INT(got.chunks_cached, 2);
    FW_CHECK(got.version > version); /* a change of the job, which watchers see */
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_job_note_cache(s, job.id, "coordinator", 1, 0, &err), FW_OK);

    /* It stays after the job completes, and the list reads it too; nobody notes it then. */
    FW_REQUIRE(fw_store_job_complete(s, job.id, "coordinator", 0.1, 30, NULL, NULL, &err) == FW_OK);
    FW_CHECK_INT(fw_store_job_note_cache(s, job.id, "coordinator", 0, 0, &err), FW_ERR_FAILED_PRECONDITION);
    fw_job_row *rows = NULL;
    size_t count = 0;
    fw_job_filter f = {.team_id = acme, .limit = 10};
    FW_REQUIRE(fw_store_job_list(s, &f, &rows, &count, &err) == FW_OK);
    FW_REQUIRE(count == 1);
    FW_CHECK_INT(rows[0].cached, 1);
    FW_CHECK_INT(rows[0].chunks_cached, 0);
    fw_job_rows_free(&rows, count);
    fw_store_close(&s);
}

static void a_queued_chunk_is_finished_from_the_cache_only_by_the_jobs_holder(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job;
    fw_chunk_row got, done;
    int planned = 0;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(rendering_job(s, acme, fw_store_now(), "coordinator", &job));
    FW_REQUIRE(fw_store_chunks_plan(s, job.id, "coordinator", frame_ranges(3, 10), 3, &planned, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunk_claim(s, "w1", 60000, job.id, &got, &err) == FW_OK && got.index == 0);
    /* Chunk 2 was tried once and handed back: an attempt counted. */
    FW_REQUIRE(fw_store_chunk_claim(s, "w2", 60000, job.id, &got, &err) == FW_OK && got.index == 1);
    FW_REQUIRE(fw_store_chunk_claim(s, "w2", 60000, job.id, &got, &err) == FW_OK && got.index == 2);
    FW_REQUIRE(fw_store_chunk_release(s, job.id, 1, "w2", NULL, 3, 0, 0, &err) == FW_OK);
    FW_REQUIRE(fw_store_chunk_release(s, job.id, 2, "w2", "it failed", 3, 1, 0, &err) == FW_OK);
    FW_REQUIRE(chunk_of(s, job.id, 2).attempts == 1);
    int64_t before = version_now(s);

    /* w1 holds a chunk, not the job. */
    FW_CHECK_INT(fw_store_chunk_finish_cached(s, job.id, 1, "w1", "cache/seg-1.mp4", &err),
                 FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "does not hold job");
    /* A chunk being rendered is left to its worker. */
    FW_CHECK_INT(fw_store_chunk_finish_cached(s, job.id, 0, "coordinator", "cache/seg-0.mp4", &err),
                 FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "not queued");
    FW_CHECK_INT(fw_store_chunk_finish_cached(s, job.id, 9, "coordinator", "cache/seg-9.mp4", &err),
                 FW_ERR_NOT_FOUND);
    FW_CHECK_INT(fw_store_chunk_finish_cached(s, job.id, 1, "coordinator", "", &err), FW_ERR_INVALID);
    done = chunk_of(s, job.id, 0);
    FW_CHECK_STR(done.status, FW_CHUNK_RENDERING);
    FW_CHECK_STR(done.worker, "w1");
    FW_CHECK_STR(done.segment_key, "");
    free(done.error);
    FW_CHECK_STR(chunk_of(s, job.id, 1).status, FW_CHUNK_QUEUED);

    FW_CHECK_INT(fw_store_chunk_finish_cached(s, job.id, 1, "coordinator", "cache/seg-1.mp4", &err), FW_OK);
    FW_CHECK_INT(fw_store_chunk_finish_cached(s, job.id, 2, "coordinator", "cache/seg-2.mp4", &err), FW_OK);
    for (int i = 1; i <= 2; i++) {
        done = chunk_of(s, job.id, i);
        FW_CHECK_STR(done.status, FW_CHUNK_FINISHED);
        FW_CHECK_STR(done.worker, ""); /* nobody rendered it */
        FW_CHECK_NEAR(done.progress, 100, 1e-9);
        FW_CHECK_INT(done.lease_until, 0);
        FW_CHECK_INT(done.attempts, i == 1 ? 0 : 1); /* no attempt counted */
        FW_CHECK_STR(done.segment_key, i == 1 ? "cache/seg-1.mp4" : "cache/seg-2.mp4");
        free(done.error);
    }
    /* Once finished it is not finished again, nor claimed. */
    FW_CHECK_INT(fw_store_chunk_finish_cached(s, job.id, 1, "coordinator", "cache/other.mp4", &err),
                 FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_STR(chunk_of(s, job.id, 1).segment_key, "cache/seg-1.mp4");
    FW_CHECK_INT(fw_store_chunk_claim(s, "w3", 60000, job.id, &got, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_INT(version_now(s), before); /* chunk changes take no job version */

    /* The job given back: its holder is nobody, so no chunk is finished for it. */
    FW_REQUIRE(fw_store_chunk_release(s, job.id, 0, "w1", NULL, 3, 0, 0, &err) == FW_OK);
    FW_REQUIRE(fw_store_job_release(s, job.id, "coordinator", NULL, 3, 0, &err) == FW_OK);
    FW_CHECK_INT(fw_store_chunk_finish_cached(s, job.id, 0, "coordinator", "cache/seg-0.mp4", &err),
                 FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_CONTAINS(err.message, "queued");
    FW_CHECK_STR(chunk_of(s, job.id, 0).status, FW_CHUNK_QUEUED);
    fw_store_close(&s);
}

/* A database of migration 7 (made by taking migrations 9 and 8 back from a
 * fresh one) takes migration 8 at open and keeps its jobs. */
static void the_render_cache_comes_to_a_database_of_migration_7(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job, got;
    fw_cache_entry entry;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    job_at(&job, acme, fw_store_now());
    FW_REQUIRE(insert_one(s, &job) == FW_OK);
    fw_store_close(&s);
    FW_CHECK_INT(migrations_recorded(), MIGRATION_LATEST);
    FW_REQUIRE(raw_sql(TAKE_BACK_9 "DROP TABLE render_cache;"
                       "ALTER TABLE jobs DROP COLUMN cached;"
                       "ALTER TABLE jobs DROP COLUMN chunks_cached;"
                       "DELETE FROM schema_migrations WHERE version = 8;"));
    FW_CHECK_INT(migrations_recorded(), 7);

    s = open_store();
    FW_REQUIRE(s);
    FW_CHECK_INT(migrations_recorded(), MIGRATION_LATEST);
    FW_REQUIRE(fw_store_job_get(s, acme, job.id, &got, &err) == FW_OK);
    FW_CHECK_STR(got.status, FW_STATUS_QUEUED);
    FW_CHECK_INT(got.cached, 0);
    FW_CHECK_INT(got.chunks_cached, 0);
    fw_job_row_clear(&got);
    FW_CHECK(cache_keep(s, acme, "d1", "cache/d1", 10));
    FW_CHECK_INT(fw_store_cache_get(s, acme, "d1", &entry, &err), FW_OK);
    FW_CHECK_STR(entry.storage_key, "cache/d1");
    fw_store_close(&s);
}

/* A database of migration 8 takes migration 9 at open: its queued job is
 * claimed at once, and handed back for later it waits. */
static void retry_times_come_to_a_database_of_migration_8(void)
{
    fw_store *s = open_store();
    char acme[FW_ID_SIZE];
    fw_job_row job, got;
    fw_error err;

    FW_REQUIRE(s);
    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    job_at(&job, acme, fw_store_now());
    FW_REQUIRE(insert_one(s, &job) == FW_OK);
    fw_store_close(&s);
    FW_REQUIRE(raw_sql(TAKE_BACK_9));
    FW_CHECK_INT(migrations_recorded(), 8);

    s = open_store();
    FW_REQUIRE(s);
    FW_CHECK_INT(migrations_recorded(), MIGRATION_LATEST);
    FW_REQUIRE(fw_store_job_claim(s, "w1", 60000, &got, &err) == FW_OK);
    FW_CHECK_STR(got.id, job.id);
    fw_job_row_clear(&got);
    FW_CHECK_INT(fw_store_job_release(s, job.id, "w1", "the bucket did not answer", 3, 60000, &err), FW_OK);
    FW_CHECK_INT(fw_store_job_claim(s, "w2", 60000, &got, &err), FW_ERR_NOT_FOUND);
    fw_store_close(&s);
}

/* ---- figures for operators ----------------------------------------------------------------- */

/* Claim the oldest queued job and end it: finished after seconds with frames,
 * or error when error is given. */
static void render_next(fw_store *s, double seconds, int frames, const char *error)
{
    fw_job_row got;
    fw_error err;
    FW_REQUIRE(fw_store_job_claim(s, "w1", 60000, &got, &err) == FW_OK);
    FW_CHECK_INT(fw_store_job_complete(s, got.id, "w1", seconds, frames, NULL, error, &err), FW_OK);
    fw_job_row_clear(&got);
}

static void count_statement(void *ctx, double seconds)
{
    int *n = ctx;
    if (seconds >= 0)
        (*n)++;
}

static void figures_sum_every_team_and_bucket_finished_renders(void)
{
    static const double bounds[] = {0.5, 5, 10};
    fw_store *s = open_store();
    char acme[FW_ID_SIZE], zeta[FW_ID_SIZE];
    fw_store_figures f;
    fw_job_row jobs[7], got;
    int64_t now = fw_store_now(), before;
    fw_error err = {0};
    int statements = 0;

    FW_REQUIRE(s);
    FW_CHECK_INT(fw_store_figures_read(s, bounds, 3, &f, &err), FW_OK);
    FW_CHECK_INT(f.queued, 0);
    FW_CHECK_INT(f.render_count, 0);
    FW_CHECK_INT(f.recent_renders, 0);
    FW_CHECK_INT(f.oldest_queued_at, 0);

    FW_REQUIRE(fw_store_team_ensure(s, "acme", acme, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(s, "zeta", zeta, &err) == FW_OK);
    before = fw_store_now();
    for (int i = 0; i < 7; i++) {
        job_at(&jobs[i], i % 2 ? zeta : acme, now - 7000 + i * 1000);
        FW_REQUIRE(insert_one(s, &jobs[i]) == FW_OK);
    }
    /* Oldest first: two renders finish (0.4 s, 12 frames; 7 s, 70), one fails,
     * one is cancelled; three stay queued. */
    render_next(s, 0.4, 12, NULL);
    render_next(s, 7.0, 70, NULL);
    render_next(s, 0.1, 0, "no such layer");
    FW_REQUIRE(fw_store_job_cancel(s, acme, jobs[6].id, &got, &err) == FW_OK);
    fw_job_row_clear(&got);
    FW_REQUIRE(fw_store_job_get(s, NULL, jobs[0].id, &got, &err) == FW_OK);
    FW_CHECK_INT(got.rendered_frames, 12);
    fw_job_row_clear(&got);

    fw_store_set_timing(s, count_statement, &statements);
    FW_CHECK_INT(fw_store_figures_read(s, bounds, 3, &f, &err), FW_OK);
    FW_CHECK(statements >= 5); /* one per figure at least */
    fw_store_set_timing(s, NULL, NULL);
    FW_CHECK_STR(fw_store_statuses[0], FW_STATUS_QUEUED);
    FW_CHECK_INT(f.by_status[0], 3);
    FW_CHECK_INT(f.by_status[1], 0);
    FW_CHECK_INT(f.by_status[2], 0);
    FW_CHECK_INT(f.by_status[3], 2);
    FW_CHECK_INT(f.by_status[4], 1);
    FW_CHECK_INT(f.by_status[5], 1);
    FW_CHECK_INT(f.queued, 3);
    FW_CHECK(f.oldest_queued_at >= before && f.oldest_queued_at <= fw_store_now());
    FW_CHECK_INT(f.render_count, 2); /* the failed render is no finished render */
    FW_CHECK_NEAR(f.render_seconds, 7.4, 1e-9);
    FW_CHECK_INT(f.render_counts[0], 1);
    FW_CHECK_INT(f.render_counts[1], 1);
    FW_CHECK_INT(f.render_counts[2], 2);
    FW_CHECK_INT(f.recent_renders, 2);
    FW_CHECK_INT(f.recent_frames, 82);
    FW_CHECK_NEAR(f.recent_seconds, 7.4, 1e-9);
    FW_CHECK_INT(f.webhooks_delivered + f.webhooks_failed + f.webhook_attempts_failed, 0);

    {
        static const double descending[] = {5, 1};
        FW_CHECK_INT(fw_store_figures_read(s, descending, 2, &f, &err), FW_ERR_INVALID);
        FW_CHECK_CONTAINS(err.message, "ascend");
    }
    fw_store_close(&s);
}

BOTH(migrations_apply_on_a_fresh_database_and_once_on_reopen)
BOTH(migrations_are_safe_when_processes_open_a_fresh_database_together)
BOTH(opening_a_bad_location_fails_with_words)
BOTH(teams_are_ensured_idempotently_and_keys_find_their_team)
BOTH(templates_are_created_read_updated_paged_and_deleted)
BOTH(template_versions_are_numbered_listed_and_held_by_jobs)
BOTH(idempotency_keys_are_written_with_their_rows_once)
BOTH(jobs_are_inserted_together_or_not_at_all)
BOTH(jobs_are_listed_by_every_filter_newest_first_in_pages)
BOTH(jobs_cancel_from_every_unended_state_and_not_after)
BOTH(claims_take_the_oldest_queued_job_and_find_nothing_when_empty)
BOTH(claims_pass_over_teams_at_their_render_limit)
BOTH(heartbeats_renew_the_lease_and_only_the_holder_finishes)
BOTH(releases_requeue_until_the_attempts_run_out)
BOTH(a_job_handed_back_for_later_waits_for_its_time)
BOTH(reaping_requeues_expired_leases_and_fails_after_max_attempts)
BOTH(versions_increase_on_every_change_and_changes_come_in_order)
BOTH(every_job_is_claimed_exactly_once_by_competing_processes)
BOTH(a_change_on_one_connection_wakes_the_other)
BOTH(figures_sum_every_team_and_bucket_finished_renders)
BOTH(chunks_are_planned_only_by_the_jobs_holder_and_only_once)
BOTH(chunks_are_claimed_in_order_and_only_while_their_job_renders)
BOTH(two_claimers_never_get_the_same_chunk)
BOTH(chunk_heartbeats_renew_only_the_holders_lease_and_tell_the_jobs_status)
BOTH(chunks_are_finished_only_by_their_holder_while_the_job_renders)
BOTH(chunk_releases_requeue_until_the_attempts_run_out)
BOTH(a_chunk_handed_back_for_later_waits_for_its_time)
BOTH(chunk_reaping_requeues_expired_leases_and_fails_after_max_attempts)
BOTH(chunks_go_when_deleted_and_with_their_job)
BOTH(how_a_job_was_rendered_is_noted_by_its_holder)
BOTH(chunks_come_to_a_database_of_migration_6)
BOTH(planned_chunks_wake_a_listening_worker)
BOTH(cache_entries_are_found_by_their_team_only_and_the_first_put_stays)
BOTH(a_cache_get_marks_the_entry_used_now)
BOTH(cache_eviction_removes_the_least_recently_used_beyond_the_bound)
BOTH(evictions_at_the_same_time_remove_only_the_excess_between_them)
BOTH(what_came_from_the_cache_is_noted_by_the_jobs_holder)
BOTH(a_queued_chunk_is_finished_from_the_cache_only_by_the_jobs_holder)
BOTH(the_render_cache_comes_to_a_database_of_migration_7)
BOTH(retry_times_come_to_a_database_of_migration_8)

int main(void)
{
    RUN_BOTH(migrations_apply_on_a_fresh_database_and_once_on_reopen);
    RUN_BOTH(migrations_are_safe_when_processes_open_a_fresh_database_together);
    RUN_BOTH(opening_a_bad_location_fails_with_words);
    RUN_BOTH(teams_are_ensured_idempotently_and_keys_find_their_team);
    RUN_BOTH(templates_are_created_read_updated_paged_and_deleted);
    RUN_BOTH(template_versions_are_numbered_listed_and_held_by_jobs);
    RUN_BOTH(idempotency_keys_are_written_with_their_rows_once);
    RUN_BOTH(jobs_are_inserted_together_or_not_at_all);
    RUN_BOTH(jobs_are_listed_by_every_filter_newest_first_in_pages);
    RUN_BOTH(jobs_cancel_from_every_unended_state_and_not_after);
    RUN_BOTH(claims_take_the_oldest_queued_job_and_find_nothing_when_empty);
    RUN_BOTH(claims_pass_over_teams_at_their_render_limit);
    RUN_BOTH(heartbeats_renew_the_lease_and_only_the_holder_finishes);
    RUN_BOTH(releases_requeue_until_the_attempts_run_out);
    RUN_BOTH(a_job_handed_back_for_later_waits_for_its_time);
    RUN_BOTH(reaping_requeues_expired_leases_and_fails_after_max_attempts);
    RUN_BOTH(versions_increase_on_every_change_and_changes_come_in_order);
    RUN_BOTH(every_job_is_claimed_exactly_once_by_competing_processes);
    RUN_BOTH(a_change_on_one_connection_wakes_the_other);
    RUN_BOTH(figures_sum_every_team_and_bucket_finished_renders);
    RUN_BOTH(chunks_are_planned_only_by_the_jobs_holder_and_only_once);
    RUN_BOTH(chunks_are_claimed_in_order_and_only_while_their_job_renders);
    RUN_BOTH(two_claimers_never_get_the_same_chunk);
    RUN_BOTH(chunk_heartbeats_renew_only_the_holders_lease_and_tell_the_jobs_status);
    RUN_BOTH(chunks_are_finished_only_by_their_holder_while_the_job_renders);
    RUN_BOTH(chunk_releases_requeue_until_the_attempts_run_out);
    RUN_BOTH(a_chunk_handed_back_for_later_waits_for_its_time);
    RUN_BOTH(chunk_reaping_requeues_expired_leases_and_fails_after_max_attempts);
    RUN_BOTH(chunks_go_when_deleted_and_with_their_job);
    RUN_BOTH(how_a_job_was_rendered_is_noted_by_its_holder);
    RUN_BOTH(chunks_come_to_a_database_of_migration_6);
    RUN_BOTH(planned_chunks_wake_a_listening_worker);
    RUN_BOTH(cache_entries_are_found_by_their_team_only_and_the_first_put_stays);
    RUN_BOTH(a_cache_get_marks_the_entry_used_now);
    RUN_BOTH(cache_eviction_removes_the_least_recently_used_beyond_the_bound);
    RUN_BOTH(evictions_at_the_same_time_remove_only_the_excess_between_them);
    RUN_BOTH(what_came_from_the_cache_is_noted_by_the_jobs_holder);
    RUN_BOTH(a_queued_chunk_is_finished_from_the_cache_only_by_the_jobs_holder);
    RUN_BOTH(the_render_cache_comes_to_a_database_of_migration_7);
    RUN_BOTH(retry_times_come_to_a_database_of_migration_8);
    return fw_test_end();
}
