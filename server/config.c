/* config.c - see config.h. */
#include "server/secrets/secrets.h"
#include "server/config.h"
#include "server/util/urlpolicy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/util/fs.h"
#include "server/util/id.h"

static void set(char *dst, size_t size, const char *env, const char *fallback)
{
    const char *v = getenv(env);
    snprintf(dst, size, "%s", v && *v ? v : fallback);
}

/* A whole number from the environment, from lo to hi; *out stays as it is
 * when the variable is unset or empty. */
static fw_err env_number(const char *name, long lo, long hi, long *out, fw_error *err)
{
    const char *v = getenv(name);
    char *end;
    long n;

    if (!v || !*v)
        return FW_OK;
    errno = 0;
    n = strtol(v, &end, 10);
    if (*end || errno || n < lo || n > hi)
        return fw_error_set(err, FW_ERR_INVALID, name, "'%s' is not a number from %ld to %ld", v, lo, hi);
    *out = n;
    return FW_OK;
}

static fw_err env_int(const char *name, int lo, int hi, int *out, fw_error *err)
{
    long n = *out;
    fw_err rc = env_number(name, lo, hi, &n, err);
    *out = (int)n;
    return rc;
}

static fw_err make_dir(const char *path, fw_error *err)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return fw_error_set(err, FW_ERR_IO, "--data", "cannot create %s: %s", path, strerror(errno));
    return FW_OK;
}

/* The signing secret: from the environment, else DATA/signing.key, made once. */
static fw_err load_secret(fw_config *c, fw_error *err)
{
    char path[PATH_MAX + 16];
    unsigned char random[32];
    size_t len;
    char *text;
    FILE *f;

    set(c->signing_secret, sizeof(c->signing_secret), "FRAMEWRIGHT_SIGNING_SECRET", "");
    if (c->signing_secret[0])
        return FW_OK;
    snprintf(path, sizeof(path), "%s/signing.key", c->data_dir);
    text = fw_read_file(path, 1024, &len, err);
    if (text) {
        snprintf(c->signing_secret, sizeof(c->signing_secret), "%.*s", (int)strcspn(text, "\r\n"), text);
        free(text);
        return FW_OK;
    }
    if (fw_random_bytes(random, sizeof(random)) != 0)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "no random bytes for the signing key");
    for (size_t i = 0; i < sizeof(random); i++)
        snprintf(c->signing_secret + i * 2, 3, "%02x", random[i]);
    {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
    }
    if (!f) {
        /* Another process made it first: use theirs. */
        if (errno == EEXIST)
            return load_secret(c, err);
        return fw_error_set(err, FW_ERR_IO, "--data", "cannot write %s: %s", path, strerror(errno));
    }
    fprintf(f, "%s\n", c->signing_secret);
    fclose(f);
    return FW_OK;
}

/* Whole or refused: a token cut short would lock the operator out with no
 * word why, and one that is not printable ASCII cannot travel as gRPC
 * metadata. */
static fw_err load_metrics_token(fw_config *c, fw_error *err)
{
    const char *v = getenv("FRAMEWRIGHT_METRICS_TOKEN");
    if (!v || !*v)
        return FW_OK;
    if (strlen(v) >= sizeof(c->metrics_token))
        return fw_error_set(err, FW_ERR_INVALID, "FRAMEWRIGHT_METRICS_TOKEN", "is %zu characters; at most %zu",
                            strlen(v), sizeof(c->metrics_token) - 1);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e)
            return fw_error_set(err, FW_ERR_INVALID, "FRAMEWRIGHT_METRICS_TOKEN",
                                "must be printable ASCII without spaces");
    snprintf(c->metrics_token, sizeof(c->metrics_token), "%s", v);
    return FW_OK;
}

fw_err fw_config_load(fw_config *c, int argc, char **argv, fw_error *err)
{
    fw_err rc;

    memset(c, 0, sizeof(*c));
    set(c->data_dir, sizeof(c->data_dir), "FRAMEWRIGHT_DATA_DIR", "data");
    set(c->database_url, sizeof(c->database_url), "FRAMEWRIGHT_DATABASE_URL", "");
    set(c->grpc_addr, sizeof(c->grpc_addr), "FRAMEWRIGHT_GRPC", "127.0.0.1:50051");
    set(c->http_addr, sizeof(c->http_addr), "FRAMEWRIGHT_HTTP", "127.0.0.1:8080");
    set(c->api_addr, sizeof(c->api_addr), "FRAMEWRIGHT_API", "127.0.0.1:8081");
    c->api_set = getenv("FRAMEWRIGHT_API") != NULL;
    set(c->public_url, sizeof(c->public_url), "FRAMEWRIGHT_PUBLIC_URL", "");
    c->workers = getenv("FRAMEWRIGHT_WORKERS") ? atoi(getenv("FRAMEWRIGHT_WORKERS")) : 2;
    c->lease_seconds = getenv("FRAMEWRIGHT_LEASE_SECONDS") ? atoi(getenv("FRAMEWRIGHT_LEASE_SECONDS")) : 30;
    c->max_attempts = 3;
    c->retry_seconds = 5;
    c->chunk_frames = -1;
    c->cache_mb = 1024;
    if ((rc = env_number("FRAMEWRIGHT_CACHE_MB", 0, 1L << 24, &c->cache_mb, err)) ||
        (rc = env_int("FRAMEWRIGHT_CHUNK_FRAMES", 0, FW_CHUNK_FRAMES_MAX, &c->chunk_frames, err)) ||
        (rc = env_int("FRAMEWRIGHT_MAX_ATTEMPTS", 1, 100, &c->max_attempts, err)) ||
        (rc = env_int("FRAMEWRIGHT_RETRY_SECONDS", 0, 1000, &c->retry_seconds, err)))
        return rc;
    if (getenv("FRAMEWRIGHT_WEBHOOK_RETRY_BASE_MS")) {
        char *end;
        long ms = strtol(getenv("FRAMEWRIGHT_WEBHOOK_RETRY_BASE_MS"), &end, 10);
        if (*end || ms < 1 || ms > 3600 * 1000)
            return fw_error_set(err, FW_ERR_INVALID, "FRAMEWRIGHT_WEBHOOK_RETRY_BASE_MS",
                                "'%s' is not a number of milliseconds from 1 to 3600000",
                                getenv("FRAMEWRIGHT_WEBHOOK_RETRY_BASE_MS"));
        c->webhook_retry_base_ms = ms;
    }
    {
        static const struct {
            const char *name;
            double max;
        } limits[] = {{"FRAMEWRIGHT_MAX_CLIP_SECONDS", 86400}, {"FRAMEWRIGHT_MAX_CLIP_SIDE", 16384},
                      {"FRAMEWRIGHT_MAX_MEDIA_MB", 1 << 20}};
        double values[3] = {0, 0, 0};
        for (int i = 0; i < 3; i++) {
            const char *v = getenv(limits[i].name);
            char *end;
            if (!v || !*v)
                continue;
            values[i] = strtod(v, &end);
            if (*end || !(values[i] >= 1 && values[i] <= limits[i].max))
                return fw_error_set(err, FW_ERR_INVALID, limits[i].name, "'%s' is not a number from 1 to %.0f", v,
                                    limits[i].max);
        }
        c->max_clip_seconds = values[0];
        c->max_clip_side = (int)values[1];
        c->max_media_mb = (long long)values[2];
    }
    if (fw_url_policy_load(err) != FW_OK) /* FRAMEWRIGHT_URL_ALLOW, read once for the process */
        return err ? err->code : FW_ERR_INVALID;
    c->probe_ms = 5000;
    if (getenv("FRAMEWRIGHT_PROBE_MS") && *getenv("FRAMEWRIGHT_PROBE_MS")) {
        char *end;
        long ms = strtol(getenv("FRAMEWRIGHT_PROBE_MS"), &end, 10);
        if (*end || ms < 0 || ms > 60000)
            return fw_error_set(err, FW_ERR_INVALID, "FRAMEWRIGHT_PROBE_MS",
                                "'%s' is not a number of milliseconds from 0 (no probe) to 60000",
                                getenv("FRAMEWRIGHT_PROBE_MS"));
        c->probe_ms = ms;
    }
    {
        static const char *const names[] = {"FRAMEWRIGHT_QUOTA_JOBS_PER_MINUTE", "FRAMEWRIGHT_QUOTA_UNFINISHED_JOBS",
                                            "FRAMEWRIGHT_MAX_STREAMS_PER_TEAM", "FRAMEWRIGHT_QUOTA_RENDERS"};
        int *dst[] = {&c->quota_jobs_per_minute, &c->quota_unfinished_jobs, &c->max_streams_per_team,
                      &c->quota_renders};
        const int defaults[] = {0, 0, 100, 0};
        for (int i = 0; i < 4; i++) {
            const char *v = getenv(names[i]);
            char *end;
            long n;
            *dst[i] = defaults[i];
            if (!v || !*v)
                continue;
            n = strtol(v, &end, 10);
            if (*end || n < 0 || n > 10000000)
                return fw_error_set(err, FW_ERR_INVALID, names[i], "'%s' is not a number from 0 (no quota) to 10000000",
                                    v);
            *dst[i] = (int)n;
        }
    }
    if ((rc = load_metrics_token(c, err)) != FW_OK)
        return rc;
    set(c->s3_endpoint, sizeof(c->s3_endpoint), "FRAMEWRIGHT_S3_ENDPOINT", "");
    set(c->s3_region, sizeof(c->s3_region), "FRAMEWRIGHT_S3_REGION", "us-east-1");
    set(c->s3_bucket, sizeof(c->s3_bucket), "FRAMEWRIGHT_S3_BUCKET", "");
    set(c->s3_key_id, sizeof(c->s3_key_id), "FRAMEWRIGHT_S3_ACCESS_KEY_ID", "");
    set(c->s3_secret, sizeof(c->s3_secret), "FRAMEWRIGHT_S3_SECRET_ACCESS_KEY", "");
    set(c->s3_prefix, sizeof(c->s3_prefix), "FRAMEWRIGHT_S3_PREFIX", "");

    for (int i = 0; i < argc; i++) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        char *dst = NULL;
        size_t size = 0;
        int *number = NULL;
        long most = 1000;

        if (strcmp(flag, "--data") == 0)
            dst = c->data_dir, size = sizeof(c->data_dir);
        else if (strcmp(flag, "--database") == 0)
            dst = c->database_url, size = sizeof(c->database_url);
        else if (strcmp(flag, "--grpc") == 0)
            dst = c->grpc_addr, size = sizeof(c->grpc_addr);
        else if (strcmp(flag, "--http") == 0)
            dst = c->http_addr, size = sizeof(c->http_addr);
        else if (strcmp(flag, "--api") == 0)
            dst = c->api_addr, size = sizeof(c->api_addr), c->api_set = 1;
        else if (strcmp(flag, "--public-url") == 0)
            dst = c->public_url, size = sizeof(c->public_url);
        else if (strcmp(flag, "--tls-cert") == 0)
            dst = c->tls_cert, size = sizeof(c->tls_cert);
        else if (strcmp(flag, "--tls-key") == 0)
            dst = c->tls_key, size = sizeof(c->tls_key);
        else if (strcmp(flag, "--team") == 0)
            dst = c->team, size = sizeof(c->team);
        else if (strcmp(flag, "--workers") == 0)
            number = &c->workers;
        else if (strcmp(flag, "--lease-seconds") == 0)
            number = &c->lease_seconds;
        else if (strcmp(flag, "--retry-seconds") == 0)
            number = &c->retry_seconds;
        else if (strcmp(flag, "--chunk-frames") == 0)
            number = &c->chunk_frames, most = FW_CHUNK_FRAMES_MAX;
        else
            return fw_error_set(err, FW_ERR_INVALID, flag, "is not an option here");
        if (!value)
            return fw_error_set(err, FW_ERR_INVALID, flag, "needs a value");
        if (dst)
            snprintf(dst, size, "%s", value);
        else {
            char *end;
            long n = strtol(value, &end, 10);
            if (*end || n < 0 || n > most)
                return fw_error_set(err, FW_ERR_INVALID, flag, "'%s' is not a number from 0 to %ld", value, most);
            *number = (int)n;
        }
        i++;
    }
    if (c->lease_seconds < 1)
        return fw_error_set(err, FW_ERR_INVALID, "--lease-seconds", "must be at least 1");

    if ((rc = make_dir(c->data_dir, err)))
        return rc;
    {
        char real[PATH_MAX];
        if (realpath(c->data_dir, real))
            snprintf(c->data_dir, sizeof(c->data_dir), "%s", real);
    }
    snprintf(c->scratch_dir, sizeof(c->scratch_dir), "%.*s/scratch", PATH_MAX - 16, c->data_dir);
    snprintf(c->blobs_dir, sizeof(c->blobs_dir), "%.*s/blobs", PATH_MAX - 16, c->data_dir);
    if ((rc = make_dir(c->scratch_dir, err)) || (rc = load_secret(c, err)) ||
        (rc = fw_secrets_key_load(c->data_dir, c->secrets_key, err)))
        return rc;
    if (!c->database_url[0])
        snprintf(c->database_url, sizeof(c->database_url), "%.*s/framewright.db", PATH_MAX - 32, c->data_dir);
    if (!c->public_url[0])
        snprintf(c->public_url, sizeof(c->public_url), "http://%s", c->http_addr);
    if ((c->tls_cert[0] != 0) != (c->tls_key[0] != 0))
        return fw_error_set(err, FW_ERR_INVALID, "--tls-cert", "TLS needs both --tls-cert and --tls-key");

    if (c->s3_bucket[0]) {
        c->storage.kind = FW_STORAGE_S3;
        c->storage.s3.endpoint = c->s3_endpoint[0] ? c->s3_endpoint : NULL;
        c->storage.s3.region = c->s3_region;
        c->storage.s3.bucket = c->s3_bucket;
        c->storage.s3.access_key_id = c->s3_key_id;
        c->storage.s3.secret_access_key = c->s3_secret;
        c->storage.s3.key_prefix = c->s3_prefix[0] ? c->s3_prefix : NULL;
    } else {
        c->storage.kind = FW_STORAGE_LOCAL;
        c->storage.local_root = c->blobs_dir;
    }
    c->storage.public_base_url = c->public_url;
    c->storage.signing_secret = c->signing_secret;
    return FW_OK;
}

fw_err fw_config_resolve_http_port(fw_config *c, fw_error *err)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    char host[200];
    const char *colon = strrchr(c->http_addr, ':');
    int auto_url, fd;

    if (!colon || strcmp(colon, ":0") != 0)
        return FW_OK;
    snprintf(host, sizeof(host), "%.*s", (int)(colon - c->http_addr), c->http_addr);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return fw_error_set(err, FW_ERR_INVALID, "--http", "port 0 needs an IPv4 address, not '%s'", host);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return fw_error_set(err, FW_ERR_IO, "--http", "no free port on %s: %s", host, strerror(errno));
    }
    close(fd);
    auto_url = strcmp(c->public_url, "http://") == 0 || strncmp(c->public_url + 7, c->http_addr, strlen(c->http_addr)) == 0;
    snprintf(c->http_addr, sizeof(c->http_addr), "%s:%d", host, ntohs(addr.sin_port));
    if (auto_url)
        snprintf(c->public_url, sizeof(c->public_url), "http://%s", c->http_addr);
    return FW_OK;
}
