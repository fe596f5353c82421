/*
 * migrate.c - the schema and its numbered migrations.
 *
 * Migration N is the common script below plus the backend's own script N
 * (types and sequences that differ), applied together in one transaction and
 * recorded in schema_migrations. The backend's FW_TX_MIGRATE transaction
 * serialises processes that open the same fresh database at once (SQLite:
 * BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), and each
 * migration is re-checked under that lock, so it is applied exactly once.
 * Migrations are only ever appended; an applied one is never edited.
 *
 * Ids are TEXT (ULIDs), times BIGINT milliseconds, optional ids NULL rather
 * than "" so the partial indexes stay small. jobs.template_id has no foreign
 * key: a template may be deleted once its jobs have ended, and the ended jobs
 * keep the id.
 */
#include "server/store/store_internal.h"

#include <stdio.h>

static const char *const common_migrations[] = {
    /* 1: teams, keys, templates, jobs. */
    "CREATE TABLE teams ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE api_keys ("
    "  id TEXT PRIMARY KEY,"
    "  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
    "  key_hash TEXT NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX api_keys_team ON api_keys(team_id);"
    "CREATE TABLE templates ("
    "  id TEXT PRIMARY KEY,"
    "  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
    "  type TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  display_name TEXT NOT NULL,"
    "  error TEXT,"
    "  details_json TEXT,"
    "  storage_key TEXT NOT NULL DEFAULT '',"
    "  size BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE INDEX templates_team_created ON templates(team_id, created_at, id);"
    "CREATE TABLE jobs ("
    "  id TEXT PRIMARY KEY,"
    "  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
    "  template_id TEXT,"
    "  parent_id TEXT,"
    "  batch_id TEXT,"
    "  kind TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  progress DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  request_json TEXT NOT NULL,"
    "  error TEXT,"
    "  missing_fonts_json TEXT,"
    "  output_key TEXT NOT NULL,"
    "  output_url TEXT,"
    "  stage TEXT NOT NULL DEFAULT '',"
    "  total_assets INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  worker TEXT NOT NULL DEFAULT '',"
    "  lease_until BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  started_at BIGINT NOT NULL DEFAULT 0,"
    "  finished_at BIGINT NOT NULL DEFAULT 0,"
    "  error_at BIGINT NOT NULL DEFAULT 0,"
    "  render_duration DOUBLE PRECISION NOT NULL DEFAULT -1,"
    "  version BIGINT NOT NULL);"
    "CREATE INDEX jobs_team_created ON jobs(team_id, created_at, id);"
    "CREATE INDEX jobs_status_created ON jobs(status, created_at, id);"
    "CREATE INDEX jobs_version ON jobs(version);"
    "CREATE INDEX jobs_lease ON jobs(lease_until) WHERE status = 'render:dorender';"
    "CREATE INDEX jobs_batch ON jobs(batch_id) WHERE batch_id IS NOT NULL;"
    "CREATE INDEX jobs_parent ON jobs(parent_id) WHERE parent_id IS NOT NULL;"
    "CREATE INDEX jobs_template ON jobs(template_id) WHERE template_id IS NOT NULL;",
};

#define COMMON_COUNT ((int)(sizeof(common_migrations) / sizeof(common_migrations[0])))

/* Apply migration n (1-based) unless another process already has. */
static fw_err migrate_one(fw_store *s, int n, fw_error *err)
{
    int64_t current = 0;
    int found = 0;
    fw_err rc = s->ops->begin(s, FW_TX_MIGRATE, err);

    if (rc != FW_OK)
        return rc;
    rc = s->ops->script(s,
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        "  version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
                        err);
    if (rc == FW_OK)
        rc = fw_sql_int(s, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0, &current, &found, err);
    if (rc == FW_OK && current > s->ops->migration_count)
        rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "database",
                          "the database schema is at version %lld, newer than this build knows (%d); "
                          "upgrade Framewright",
                          (long long)current, s->ops->migration_count);
    if (rc == FW_OK && current < n) {
        if (n <= COMMON_COUNT)
            rc = s->ops->script(s, common_migrations[n - 1], err);
        if (rc == FW_OK && s->ops->migrations[n - 1])
            rc = s->ops->script(s, s->ops->migrations[n - 1], err);
        if (rc == FW_OK)
            rc = fw_sql_exec(s, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                             FW_SQL_ARGS(FW_SQL_I(n), FW_SQL_I(fw_store_now())), NULL, err);
        if (rc != FW_OK && err)
            fw_error_prefix_field(err, "migration %d", n);
    }
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_migrate(fw_store *s, fw_error *err)
{
    for (int n = 1; n <= s->ops->migration_count; n++) {
        fw_err rc = migrate_one(s, n, err);
        if (rc != FW_OK)
            return rc;
    }
    return FW_OK;
}
