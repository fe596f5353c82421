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

    /* 2: webhooks (an outbox and its attempts), secrets, fonts, batches. */
    "ALTER TABLE teams ADD COLUMN webhook_secret TEXT;"
    "CREATE TABLE webhook_outbox ("
    "  id TEXT PRIMARY KEY,"
    "  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
    "  job_id TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at BIGINT NOT NULL,"
    "  lease_until BIGINT NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  delivered_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX webhook_outbox_job_event ON webhook_outbox(job_id, event);"
    "CREATE INDEX webhook_outbox_due ON webhook_outbox(status, next_attempt_at);"
    "CREATE TABLE webhook_attempts ("
    "  id TEXT PRIMARY KEY,"
    "  outbox_id TEXT NOT NULL REFERENCES webhook_outbox(id) ON DELETE CASCADE,"
    "  attempt INTEGER NOT NULL,"
    "  started_at BIGINT NOT NULL,"
    "  duration_ms BIGINT NOT NULL,"
    "  http_status INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT);"
    "CREATE INDEX webhook_attempts_outbox ON webhook_attempts(outbox_id, attempt);"
    "CREATE TABLE secrets ("
    "  id TEXT PRIMARY KEY,"
    "  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  ciphertext TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX secrets_team_name ON secrets(team_id, name);"
    "CREATE TABLE fonts ("
    "  id TEXT PRIMARY KEY,"
    "  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
    "  file_name TEXT NOT NULL,"
    "  family_name TEXT NOT NULL,"
    "  postscript_name TEXT NOT NULL DEFAULT '',"
    "  style TEXT NOT NULL DEFAULT '',"
    "  storage_key TEXT NOT NULL,"
    "  size BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX fonts_team_file ON fonts(team_id, file_name);"
    "CREATE TABLE batches ("
    "  id TEXT PRIMARY KEY,"
    "  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
    "  total INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  failed INTEGER NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX batches_team_created ON batches(team_id, created_at, id);",

    /* 3: a job's webhook (the request's "webhook" object), so that the
     * transaction ending a job can queue its delivery in webhook_outbox. */
    "ALTER TABLE jobs ADD COLUMN webhook_json TEXT;",

    /* 4: a team's unfinished jobs, counted for its quota at every submission; how many frames a
     * finished render drew (for the frame rate operators see), and an index for the most recently
     * finished renders. */
    ("CREATE INDEX jobs_team_status ON jobs(team_id, status);"
     "ALTER TABLE jobs ADD COLUMN rendered_frames INTEGER NOT NULL DEFAULT 0;"
     "CREATE INDEX jobs_finished ON jobs(finished_at) WHERE status = 'finished';"),

    /* 5: template versions. The templates row keeps the current version's
     * bundle; every uploaded bundle, the current one too, has a row here.
     * A job renders the version it was created with. */
    ("ALTER TABLE templates ADD COLUMN version INTEGER NOT NULL DEFAULT 0;"
     "UPDATE templates SET version = 1 WHERE status = 'uploaded';"
     "CREATE TABLE template_versions ("
     "  template_id TEXT NOT NULL REFERENCES templates(id) ON DELETE CASCADE,"
     "  version INTEGER NOT NULL,"
     "  type TEXT NOT NULL,"
     "  storage_key TEXT NOT NULL,"
     "  details_json TEXT,"
     "  size BIGINT NOT NULL DEFAULT 0,"
     "  created_at BIGINT NOT NULL,"
     "  PRIMARY KEY (template_id, version));"
     "INSERT INTO template_versions (template_id, version, type, storage_key, details_json, size, created_at)"
     "  SELECT id, 1, type, storage_key, details_json, size, updated_at FROM templates WHERE status = 'uploaded';"
     "ALTER TABLE jobs ADD COLUMN template_version INTEGER NOT NULL DEFAULT 0;"
     "UPDATE jobs SET template_version = 1 WHERE template_id IS NOT NULL;"),

    /* 6: idempotency keys: what a create call answered, kept with the rows it
     * wrote (in the same transaction), so that the same call again gets the
     * same answer and writes nothing. */
    ("CREATE TABLE idempotency_keys ("
     "  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
     "  idem_key TEXT NOT NULL,"
     "  method TEXT NOT NULL,"
     "  request_hash TEXT NOT NULL,"
     "  response_json TEXT NOT NULL,"
     "  created_at BIGINT NOT NULL,"
     "  PRIMARY KEY (team_id, idem_key));"
     "CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);"),

    /* 7: chunks of a split render: frame ranges of a job that any worker may
     * claim while the job renders, each leased like a job. Claims look for
     * the queued chunks of one job in order (chunks_queued), the reaper for
     * rendering chunks whose lease ran out (chunks_lease). The job notes how
     * it was rendered: its chunks and the workers that drew them. */
    ("CREATE TABLE chunks ("
     "  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
     "  idx INTEGER NOT NULL,"
     "  first_frame INTEGER NOT NULL,"
     "  last_frame INTEGER NOT NULL,"
     "  status TEXT NOT NULL,"
     "  worker TEXT NOT NULL DEFAULT '',"
     "  lease_until BIGINT NOT NULL DEFAULT 0,"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  progress DOUBLE PRECISION NOT NULL DEFAULT 0,"
     "  segment_key TEXT NOT NULL DEFAULT '',"
     "  render_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,"
     "  error TEXT,"
     "  created_at BIGINT NOT NULL,"
     "  updated_at BIGINT NOT NULL,"
     "  PRIMARY KEY (job_id, idx));"
     "CREATE INDEX chunks_queued ON chunks(job_id, idx) WHERE status = 'queued';"
     "CREATE INDEX chunks_lease ON chunks(lease_until) WHERE status = 'rendering';"
     "ALTER TABLE jobs ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE jobs ADD COLUMN workers_json TEXT;"),

    /* 8: the render cache: outputs and chunk segments kept in storage under
     * the digest of what they were rendered from, per team (a team never
     * finds another's), going with their team. Eviction walks the least
     * recently used first (render_cache_used). A job notes what of it came
     * from the cache. */
    ("CREATE TABLE render_cache ("
     "  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,"
     "  digest TEXT NOT NULL,"
     "  kind TEXT NOT NULL,"
     "  storage_key TEXT NOT NULL,"
     "  size BIGINT NOT NULL,"
     "  created_at BIGINT NOT NULL,"
     "  used_at BIGINT NOT NULL,"
     "  PRIMARY KEY (team_id, digest));"
     "CREATE INDEX render_cache_used ON render_cache(used_at, digest);"
     "ALTER TABLE jobs ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE jobs ADD COLUMN chunks_cached INTEGER NOT NULL DEFAULT 0;"),

    /* 9: a job or chunk handed back after a failure of ours (a bucket or a
     * network away) is not claimed again before retry_at, so that an
     * outage does not burn its attempts in a moment. */
    ("ALTER TABLE jobs ADD COLUMN retry_at BIGINT NOT NULL DEFAULT 0;"
     "ALTER TABLE chunks ADD COLUMN retry_at BIGINT NOT NULL DEFAULT 0;"),
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
