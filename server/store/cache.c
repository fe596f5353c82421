/*
 * cache.c - the render cache's entries: what a team rendered, kept in
 * storage under the digest of its inputs, found again by digest, and
 * evicted least recently used first when the whole outgrows its bound.
 *
 * The store keeps the entries; the objects are the caller's. An entry is
 * never replaced (the first render of a digest stays, a later one is told
 * its object is not referenced), and eviction hands back the keys of the
 * entries it removed for the caller to delete. Entries are not job changes:
 * they take no version, and nobody is notified of them.
 */
#include "server/store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_COLUMNS "team_id, digest, kind, storage_key, size, created_at, used_at"

static void read_entry(fw_store *s, fw_cache_entry *e)
{
    memset(e, 0, sizeof(*e));
    fw_sql_copy(s, 0, e->team_id, sizeof(e->team_id));
    fw_sql_copy(s, 1, e->digest, sizeof(e->digest));
    fw_sql_copy(s, 2, e->kind, sizeof(e->kind));
    fw_sql_copy(s, 3, e->storage_key, sizeof(e->storage_key));
    e->size = s->ops->col_int(s, 4);
    e->created_at = s->ops->col_int(s, 5);
    e->used_at = s->ops->col_int(s, 6);
}

static fw_err check_entry(const fw_cache_entry *e, fw_error *err)
{
    if (!*e->team_id)
        return fw_error_set(err, FW_ERR_INVALID, "team_id", "a cache entry belongs to a team");
    if (!*e->digest)
        return fw_error_set(err, FW_ERR_INVALID, "digest", "a cache entry is found by its digest");
    if (strcmp(e->kind, FW_CACHE_OUTPUT) != 0 && strcmp(e->kind, FW_CACHE_CHUNK) != 0)
        return fw_error_set(err, FW_ERR_INVALID, "kind", "a cache entry is an \"%s\" or a \"%s\", not \"%s\"",
                            FW_CACHE_OUTPUT, FW_CACHE_CHUNK, e->kind);
    if (!*e->storage_key)
        return fw_error_set(err, FW_ERR_INVALID, "storage_key", "a cache entry names its object in storage");
    if (e->size < 0)
        return fw_error_set(err, FW_ERR_INVALID, "size", "an object has 0 bytes or more, not %lld",
                            (long long)e->size);
    return FW_OK;
}

fw_err fw_store_cache_get(fw_store *s, const char *team_id, const char *digest, fw_cache_entry *out, fw_error *err)
{
    int got = 0;
    fw_err rc;

    memset(out, 0, sizeof(*out));
    if ((rc = s->ops->begin(s, FW_TX_WRITE, err)) != FW_OK)
        return rc;
    /* Found and touched in one statement, so an eviction either removes the
     * entry before it is found or sees it used now and passes it over. */
    rc = s->ops->query(s,
                       "UPDATE render_cache SET used_at = $3 WHERE team_id = $1 AND digest = $2 "
                       "RETURNING " CACHE_COLUMNS,
                       FW_SQL_ARGS(FW_SQL_T(team_id), FW_SQL_T(digest), FW_SQL_I(fw_store_now())), err);
    if (rc == FW_OK && (got = s->ops->row(s, err)) > 0)
        read_entry(s, out);
    else if (rc == FW_OK && got < 0)
        rc = err ? err->code : FW_ERR_INTERNAL;
    s->ops->done(s);
    if (rc == FW_OK && got == 0)
        rc = fw_error_set(err, FW_ERR_NOT_FOUND, "digest", "the render cache has no entry %s", digest);
    if (rc != FW_OK)
        memset(out, 0, sizeof(*out));
    return fw_sql_end(s, rc, err);
}

fw_err fw_store_cache_put(fw_store *s, const fw_cache_entry *entry, int *kept, fw_error *err)
{
    int64_t now = fw_store_now(), changed = 0;
    fw_err rc = check_entry(entry, err);

    *kept = 0;
    if (rc != FW_OK)
        return rc;
    rc = fw_sql_exec(s,
                     "INSERT INTO render_cache (" CACHE_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $6) "
                     "ON CONFLICT (team_id, digest) DO NOTHING",
                     FW_SQL_ARGS(FW_SQL_T(entry->team_id), FW_SQL_T(entry->digest), FW_SQL_T(entry->kind),
                                 FW_SQL_T(entry->storage_key), FW_SQL_I(entry->size), FW_SQL_I(now)),
                     &changed, err);
    if (rc == FW_OK)
        *kept = changed == 1;
    return rc;
}

fw_err fw_store_cache_size(fw_store *s, int64_t *entries, int64_t *bytes, fw_error *err)
{
    fw_err rc = fw_sql_one_row(s, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM render_cache", NULL, 0, err);

    *entries = rc == FW_OK ? s->ops->col_int(s, 0) : 0;
    *bytes = rc == FW_OK ? s->ops->col_int(s, 1) : 0;
    s->ops->done(s);
    return rc;
}

/* An entry eviction may remove. */
typedef struct candidate {
    char team_id[FW_ID_SIZE];
    char digest[72];
    char storage_key[256];
    int64_t size;
} candidate;

/* The least recently used entries not used since `before`, at most limit,
 * locked until the transaction ends (PostgreSQL), into a new array. */
static fw_err lock_candidates(fw_store *s, int64_t before, int limit, candidate **out, size_t *n, fw_error *err)
{
    char sql[320];
    candidate *list = calloc((size_t)limit, sizeof(*list));
    int got = 0;
    fw_err rc;

    *out = NULL;
    *n = 0;
    if (!list)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory choosing cache entries to evict");
    snprintf(sql, sizeof(sql),
             "SELECT team_id, digest, storage_key, size FROM render_cache WHERE used_at < $1 "
             "ORDER BY used_at, digest, team_id LIMIT $2 %s",
             s->ops->row_lock);
    rc = s->ops->query(s, sql, FW_SQL_ARGS(FW_SQL_I(before), FW_SQL_I(limit)), err);
    while (rc == FW_OK && *n < (size_t)limit && (got = s->ops->row(s, err)) > 0) {
        candidate *c = &list[(*n)++];
        fw_sql_copy(s, 0, c->team_id, sizeof(c->team_id));
        fw_sql_copy(s, 1, c->digest, sizeof(c->digest));
        fw_sql_copy(s, 2, c->storage_key, sizeof(c->storage_key));
        c->size = s->ops->col_int(s, 3);
    }
    if (rc == FW_OK && got < 0)
        rc = err ? err->code : FW_ERR_INTERNAL;
    s->ops->done(s);
    if (rc != FW_OK) {
        free(list);
        *n = 0;
        return rc;
    }
    *out = list;
    return FW_OK;
}

fw_err fw_store_cache_evict(fw_store *s, int64_t max_bytes, int64_t protect_ms, int limit, char (**keys)[256],
                            size_t *count, fw_error *err)
{
    candidate *list = NULL;
    char(*removed)[256] = NULL;
    size_t n = 0, done = 0;
    int64_t entries = 0, total = 0;
    fw_err rc;

    *keys = NULL;
    *count = 0;
    if (max_bytes < 0)
        return fw_error_set(err, FW_ERR_INVALID, "max_bytes", "the cache's bound is 0 bytes or more, not %lld",
                            (long long)max_bytes);
    if (protect_ms < 0)
        return fw_error_set(err, FW_ERR_INVALID, "protect_ms", "entries are protected for 0 ms or more, not %lld",
                            (long long)protect_ms);
    if (limit <= 0)
        return FW_OK;
    if ((rc = s->ops->begin(s, FW_TX_WRITE, err)) != FW_OK)
        return rc;
    rc = fw_store_cache_size(s, &entries, &total, err);
    /* The candidates are locked before the total that decides how many go
     * is read again: a second eviction at the same time waits for the first
     * here, then finds its rows gone and counts without them (PostgreSQL
     * reads each statement anew), so the two do not both remove the excess. */
    if (rc == FW_OK && total > max_bytes)
        rc = lock_candidates(s, fw_store_now() - protect_ms, limit, &list, &n, err);
    if (rc == FW_OK && n > 0)
        rc = fw_store_cache_size(s, &entries, &total, err);
    if (rc == FW_OK && n > 0 && !(removed = calloc(n, sizeof(*removed))))
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory evicting cache entries");
    for (size_t i = 0; rc == FW_OK && i < n && total > max_bytes; i++) {
        int64_t changed = 0;
        rc = fw_sql_exec(s, "DELETE FROM render_cache WHERE team_id = $1 AND digest = $2",
                         FW_SQL_ARGS(FW_SQL_T(list[i].team_id), FW_SQL_T(list[i].digest)), &changed, err);
        if (rc == FW_OK && changed == 1) {
            memcpy(removed[done++], list[i].storage_key, sizeof(removed[0]));
            total -= list[i].size;
        }
    }
    free(list);
    rc = fw_sql_end(s, rc, err);
    if (rc != FW_OK || done == 0) {
        free(removed);
        return rc;
    }
    *keys = removed;
    *count = done;
    return FW_OK;
}
