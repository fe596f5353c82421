/*
 * config.h - the server's configuration: one struct, read once at start-up
 * from the command line and the environment, and passed down.
 *
 * Flags win over the environment, which wins over the defaults:
 *   --data DIR           FRAMEWRIGHT_DATA_DIR      ./data
 *   --database URL       FRAMEWRIGHT_DATABASE_URL  sqlite file DATA/framewright.db
 *   --grpc ADDR          FRAMEWRIGHT_GRPC          127.0.0.1:50051
 *   --http ADDR          FRAMEWRIGHT_HTTP          127.0.0.1:8080 (output and upload URLs)
 *   --public-url URL     FRAMEWRIGHT_PUBLIC_URL    http://ADDR of --http
 *   --api ADDR           FRAMEWRIGHT_API           127.0.0.1:8081 (REST /api/v2; "off": none)
 *   --workers N          FRAMEWRIGHT_WORKERS       2
 *   --lease-seconds N    FRAMEWRIGHT_LEASE_SECONDS 30
 *   --chunk-frames N     FRAMEWRIGHT_CHUNK_FRAMES  about 4 s of frames; 0: never split a render
 *   --retry-seconds N    FRAMEWRIGHT_RETRY_SECONDS 5 (a job handed back after a failure of
 *                        ours waits N s, doubling for each attempt; 0: at once)
 *   Render cache bound: FRAMEWRIGHT_CACHE_MB (1024; 0: no cache).
 *   --tls-cert F --tls-key F                        plaintext when absent
 *   S3 storage instead of DATA/blobs: FRAMEWRIGHT_S3_ENDPOINT, _REGION, _BUCKET,
 *   _ACCESS_KEY_ID, _SECRET_ACCESS_KEY, _PREFIX.
 *   URL signing secret: FRAMEWRIGHT_SIGNING_SECRET, else DATA/signing.key
 *   (made on first start).
 *   Metrics: FRAMEWRIGHT_METRICS_TOKEN, when set, is the bearer token that
 *   OpsService.GetMetrics (and so the gateway's /metrics) requires.
 *   Webhook retries: FRAMEWRIGHT_WEBHOOK_RETRY_BASE_MS, the wait before the
 *   first retry (doubling after; 10000 by default). Tests shorten it.
 */
#ifndef FW_SERVER_CONFIG_H
#define FW_SERVER_CONFIG_H

#include <limits.h>

#include "server/storage/storage.h"
#include "server/util/error.h"

#define FW_CHUNK_FRAMES_MAX 100000

typedef struct fw_config {
    char data_dir[PATH_MAX];
    char database_url[PATH_MAX + 16];
    char grpc_addr[256];
    char http_addr[256];
    char api_addr[256];
    int api_set; /* --api or FRAMEWRIGHT_API given: failing to listen is fatal */
    char public_url[512];
    char tls_cert[PATH_MAX];
    char tls_key[PATH_MAX];
    char scratch_dir[PATH_MAX];
    char blobs_dir[PATH_MAX];
    char signing_secret[129];
    unsigned char secrets_key[32]; /* FRAMEWRIGHT_SECRETS_KEY (64 hex), else DATA/secrets.key (made on first start) */
    char team[128];           /* keys create --team */
    int workers;
    int lease_seconds;
    int chunk_frames;  /* frames per chunk of a split render; -1: about 4 s; 0: never split */
    long cache_mb;     /* the render cache's bound; 0: no cache */
    int max_attempts;
    int retry_seconds; /* a job handed back after a failure of ours waits this long (doubling); 0: not */
    long webhook_retry_base_ms; /* 0: the notifier's default */
    /* Video and audio assets (0: the defaults): FRAMEWRIGHT_MAX_CLIP_SECONDS,
     * FRAMEWRIGHT_MAX_CLIP_SIDE (pixels), FRAMEWRIGHT_MAX_MEDIA_MB. */
    double max_clip_seconds;
    int max_clip_side;
    long long max_media_mb;
    /* FRAMEWRIGHT_PROBE_MS: how long submission waits for each asset URL to answer (0: no probe). */
    long probe_ms;
    int quota_jobs_per_minute;  /* per team; 0: none */
    int quota_unfinished_jobs;  /* per team, queued, pending or rendering at once; 0: none */
    int max_streams_per_team;   /* event streams open at once per team on this server; 0: none */
    int quota_renders;          /* a team's jobs rendering at once, on the whole farm; 0: none */
    char metrics_token[256]; /* "": the metrics need no token */
    fw_storage_config storage; /* points into the strings above and the S3 ones below */
    char s3_endpoint[512], s3_region[64], s3_bucket[256], s3_key_id[256], s3_secret[256], s3_prefix[256];
} fw_config;

/* Parse argv (after the command word) and the environment. Unknown flags are
 * FW_ERR_INVALID naming the flag. Creates the data folder and the signing
 * key when needed. */
fw_err fw_config_load(fw_config *config, int argc, char **argv, fw_error *err);

/* When --http asks for port 0, pick a free port now: the public URL of
 * output links must be known before anything is served. */
fw_err fw_config_resolve_http_port(fw_config *config, fw_error *err);

#endif
