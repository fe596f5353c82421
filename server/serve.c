/*
 * serve.c - the long-running commands: serve, worker, keys.
 *
 * `framewright serve` is everything on one machine: the gRPC services, the
 * HTTP server for output and upload URLs, the watch hub, the reaper that
 * hands back jobs of workers that died, and worker processes it starts and
 * restarts. `framewright worker` is the worker alone, for more machines on
 * the same PostgreSQL store and S3 bucket.
 *
 * Shutdown (SIGINT, SIGTERM): health turns NOT_SERVING (balancers drain us),
 * the gRPC server stops taking calls and lets running ones finish, open watch streams end with UNAVAILABLE, workers get
 * SIGTERM and hand back the jobs they hold, then everything is freed.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gateway.h"
#include "proto/framewright_methods.h"
#include "server/api/auth.h"
#include "server/api/frame_cache.h"
#include "server/api/health.h"
#include "server/api/rpc.h"
#include "server/api/service.h"
#include "server/api/watch.h"
#include "server/config.h"
#include "server/notify/webhook.h"
#include "server/secrets/secrets.h"
#include "server/storage/file_server.h"
#include "server/store/store.h"
#include "server/util/fetch.h"
#include "server/util/log.h"
#include "server/work/worker.h"

#define MAX_WORKERS 64
#define IDEMPOTENCY_KEY_MS (24 * 3600 * 1000LL)

extern char **environ;

/* Where outputs are played from, as CSP sources for the dashboard: the file
 * server's origin, or the bucket's (any bucket name before the endpoint's
 * host when buckets are virtual-hosted). */
static void output_origins(const fw_config *config, char *out, size_t size)
{
    const char *url = config->storage.kind == FW_STORAGE_LOCAL ? config->public_url : config->s3_endpoint;
    const char *host = strstr(url, "://"), *end;
    out[0] = '\0';
    if (!host)
        return;
    host += 3;
    end = strchr(host, '/');
    if (!end)
        end = host + strlen(host);
    if (config->storage.kind != FW_STORAGE_LOCAL && config->storage.s3.virtual_hosted)
        snprintf(out, size, "%.*s%.*s %.*s*.%.*s", (int)(host - url), url, (int)(end - host), host,
                 (int)(host - url), url, (int)(end - host), host);
    else
        snprintf(out, size, "%.*s", (int)(end - url), url);
}

static void print_error(const char *what, const fw_error *err)
{
    char text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4];
    fw_error_text(err, text, sizeof(text));
    if (fw_log_get_format() == FW_LOG_JSON)
        fw_log(FW_LOG_ERROR, "serve", "%s: %s", what, text);
    else
        fprintf(stderr, "framewright: %s: %s\n", what, text);
}

/* Signals are taken by sigwait in the main thread only. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- keys ------------------------------------------------------------------------------------ */

static fw_err create_key(fw_store *store, const char *team, char key[FW_KEY_SIZE], fw_error *err)
{
    char team_id[FW_ID_SIZE];
    fw_err rc;
    if ((rc = fw_store_team_ensure(store, team, team_id, err)))
        return rc;
    return fw_auth_key_create(store, team_id, key, err);
}

/* The secret receivers check webhook signatures with (made on first use). */
static int print_webhook_secret(const fw_config *config)
{
    char team_id[FW_ID_SIZE], secret[FW_WEBHOOK_SECRET_SIZE];
    fw_store *store = NULL;
    fw_error err;

    fw_error_clear(&err);
    if (fw_store_open(&store, config->database_url, &err) ||
        fw_store_team_ensure(store, config->team, team_id, &err) ||
        fw_store_webhook_secret(store, team_id, secret, &err)) {
        print_error("keys", &err);
        fw_store_close(&store);
        return 1;
    }
    fw_store_close(&store);
    printf("%s\n", secret);
    return 0;
}

int fw_cmd_keys(int argc, char **argv)
{
    char key[FW_KEY_SIZE];
    fw_store *store = NULL;
    fw_config config;
    fw_error err;

    if (argc < 1 || (strcmp(argv[0], "create") != 0 && strcmp(argv[0], "webhook-secret") != 0)) {
        fprintf(stderr, "usage: framewright keys create --team NAME [--data DIR] [--database URL]\n"
                        "       framewright keys webhook-secret --team NAME [--data DIR] [--database URL]\n");
        return 2;
    }
    fw_error_clear(&err);
    if (fw_config_load(&config, argc - 1, argv + 1, &err)) {
        print_error("keys", &err);
        return 2;
    }
    if (!config.team[0]) {
        fprintf(stderr, "framewright: keys %s: --team NAME is required\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[0], "webhook-secret") == 0)
        return print_webhook_secret(&config);
    if (fw_store_open(&store, config.database_url, &err) || create_key(store, config.team, key, &err)) {
        print_error("keys", &err);
        fw_store_close(&store);
        return 1;
    }
    fw_store_close(&store);
    printf("a new key for team '%s' (it is shown only now):\n%s\n", config.team, key);
    return 0;
}

/* ---- worker ---------------------------------------------------------------------------------- */

static atomic_int worker_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    atomic_store(&worker_stop, 1);
}

int fw_cmd_worker(int argc, char **argv)
{
    fw_worker_config wc;
    fw_storage *storage = NULL;
    fw_config config;
    struct sigaction sa;
    fw_error err;

    fw_error_clear(&err);
    if (fw_config_load(&config, argc, argv, &err)) {
        print_error("worker", &err);
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    {
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
    }
    if (fw_storage_open(&storage, &config.storage, &err)) {
        print_error("worker", &err);
        return 1;
    }
    memset(&wc, 0, sizeof(wc));
    wc.store_url = config.database_url;
    wc.storage = storage;
    wc.scratch_dir = config.scratch_dir;
    wc.lease_ms = (int64_t)config.lease_seconds * 1000;
    wc.max_attempts = config.max_attempts;
    wc.retry_ms = (int64_t)config.retry_seconds * 1000;
    wc.secrets_key = config.secrets_key;
    wc.max_clip_seconds = config.max_clip_seconds;
    wc.max_clip_side = config.max_clip_side;
    wc.max_media_bytes = (uint64_t)config.max_media_mb << 20;
    wc.team_renders = config.quota_renders;
    wc.chunk_frames = config.chunk_frames < 0 ? 0 : config.chunk_frames == 0 ? -1 : config.chunk_frames;
    wc.cache_bytes = (int64_t)config.cache_mb << 20;
    wc.stop = &worker_stop;
    if (fw_worker_run(&wc, &err)) {
        print_error("worker", &err);
        fw_storage_free(&storage);
        return 1;
    }
    fw_storage_free(&storage);
    return 0;
}

/* ---- serve: worker processes ----------------------------------------------------------------- */

typedef struct supervisor {
    pthread_mutex_t lock;
    pthread_t thread;
    int stopping;
    int count;
    pid_t pids[MAX_WORKERS];
    char **argv;                  /* framewright worker --data ... */
} supervisor;

static pid_t spawn_worker(supervisor *s)
{
    posix_spawnattr_t attr;
    sigset_t none;
    pid_t pid;
    int rc;

    /* This thread blocks SIGTERM for sigwait; the worker must not inherit that. */
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    rc = posix_spawn(&pid, "/proc/self/exe", NULL, &attr, s->argv, environ);
    posix_spawnattr_destroy(&attr);
    return rc == 0 ? pid : -1;
}

/* Restarts workers that die (a crash in a render), a second apart at most. */
static void *supervise(void *arg)
{
    supervisor *s = arg;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        pthread_mutex_lock(&s->lock);
        if (pid < 0) {
            int stopping = s->stopping || errno == ECHILD;
            pthread_mutex_unlock(&s->lock);
            if (stopping && errno == ECHILD)
                return NULL;
            sleep(1);
            continue;
        }
        for (int i = 0; i < s->count; i++) {
            if (s->pids[i] != pid)
                continue;
            if (s->stopping) {
                s->pids[i] = 0;
                break;
            }
            if (WIFSIGNALED(status))
                fw_log(FW_LOG_WARN, "serve", "worker %d died of signal %d; starting another", (int)pid,
                       WTERMSIG(status));
            else
                fw_log(FW_LOG_WARN, "serve", "worker %d exited with %d; starting another", (int)pid,
                       WEXITSTATUS(status));
            pthread_mutex_unlock(&s->lock);
            sleep(1);
            pthread_mutex_lock(&s->lock);
            s->pids[i] = s->stopping ? 0 : spawn_worker(s);
            break;
        }
        pthread_mutex_unlock(&s->lock);
    }
}

/* ---- serve: the reaper ----------------------------------------------------------------------- */

typedef struct reaper {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int stopping;
    const char *store_url;
    int max_attempts;
    int64_t lease_ms;
    fw_storage *storage; /* where the chunks of split renders keep their segments */
} reaper;

/* Leases run out while the store is away (a database restarting) although
 * their workers live: they could not renew them. So the reaper hands back
 * nothing until a lease's time after it last found the store unreachable,
 * or after it started (it cannot know what came before), which gives every
 * live worker time to renew its lease or record its job's end first. */
static void *reap(void *arg)
{
    reaper *r = arg;
    fw_store *store = NULL;
    int64_t quiet_until = fw_store_now() + r->lease_ms, next_expiry = 0, next_sweep = 0;
    fw_error err;

    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        struct timespec until;
        int requeued = 0, failed = 0;
        fw_err rc = FW_OK;
        pthread_mutex_unlock(&r->lock);
        if (!store && (rc = fw_store_open(&store, r->store_url, &err)) != FW_OK)
            fw_log(FW_LOG_WARN, "reaper", "%s", err.message);
        if (store && fw_store_now() >= quiet_until &&
            (rc = fw_store_job_reap(store, fw_store_now(), r->max_attempts, &requeued, &failed, &err)) != FW_OK)
            fw_log(FW_LOG_WARN, "reaper", "%s", err.message);
        if (rc == FW_ERR_UNAVAILABLE)
            quiet_until = fw_store_now() + r->lease_ms;
        if (requeued || failed)
            fw_log(FW_LOG_INFO, "reaper", "jobs of workers that stopped answering: %d queued again, %d failed",
                   requeued, failed);
        /* Chunks are leased like jobs, and held back in the same quiet periods. */
        requeued = failed = 0;
        if (store && rc == FW_OK && fw_store_now() >= quiet_until &&
            (rc = fw_store_chunk_reap(store, fw_store_now(), r->max_attempts, &requeued, &failed, &err)) != FW_OK)
            fw_log(FW_LOG_WARN, "reaper", "%s", err.message);
        if (rc == FW_ERR_UNAVAILABLE)
            quiet_until = fw_store_now() + r->lease_ms;
        if (requeued || failed)
            fw_log(FW_LOG_INFO, "reaper", "chunks of workers that stopped answering: %d queued again, %d failed",
                   requeued, failed);
        /* Chunks of jobs that ended while their holder was gone (cancelled,
         * or failed by the reaper): their segments and rows, every 10 s. */
        if (store && rc == FW_OK && r->storage && fw_store_now() >= next_sweep) {
            char(*ids)[FW_ID_SIZE] = NULL;
            size_t count = 0;
            next_sweep = fw_store_now() + 10 * 1000;
            if (fw_store_chunks_orphaned(store, 20, &ids, &count, &err) != FW_OK)
                fw_log(FW_LOG_WARN, "reaper", "%s", err.message);
            for (size_t i = 0; i < count; i++)
                fw_worker_drop_chunks(store, r->storage, ids[i], NULL);
            if (count)
                fw_log(FW_LOG_INFO, "reaper", "removed the chunks of %zu job(s) that ended without their holder",
                       count);
            free(ids);
        }
        /* Idempotency keys live a day; forgotten once a minute. */
        if (store && rc == FW_OK && fw_store_now() >= next_expiry) {
            next_expiry = fw_store_now() + 60 * 1000;
            if (fw_store_idempotency_expire(store, fw_store_now() - IDEMPOTENCY_KEY_MS, NULL, &err) != FW_OK)
                fw_log(FW_LOG_WARN, "reaper", "%s", err.message);
        }
        pthread_mutex_lock(&r->lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&r->wake, &r->lock, &until);
    }
    pthread_mutex_unlock(&r->lock);
    fw_store_close(&store);
    return NULL;
}

/* ---- serve ----------------------------------------------------------------------------------- */

/* Webhook bodies show the job exactly as the API does. */
static json_t *webhook_job_json(void *ctx, const fw_job_row *row)
{
    (void)ctx;
    return fw_service_job_json(row, NULL);
}

/* Secret placeholders in a webhook's url, headers and data, filled at send
 * time with a store connection of the service's pool. */
static fw_err webhook_resolve(void *ctx, const char *team_id, const char *text, char **out, fw_error *err)
{
    fw_service *service = ctx;
    fw_store *store = NULL;
    fw_err rc;

    if ((rc = fw_store_pool_get(service->stores, &store, err)))
        return rc;
    rc = fw_secrets_resolve(store, service->config.secrets_key, team_id, text, out, err);
    fw_store_pool_put(service->stores, store);
    return rc;
}

int fw_cmd_serve(int argc, char **argv)
{
    fw_notifier *notifier = NULL;
    fw_notifier_config notify;
    fw_rpc_server_options opts;
    fw_rpc_server *rpc = NULL;
    fw_file_server *files = NULL;
    fw_gateway *gateway = NULL;
    fw_health *health = NULL;
    fw_storage *storage = NULL;
    fw_service service;
    fw_config config;
    supervisor sup;
    reaper rp;
    char *worker_argv[20], workers_text[16], lease_text[16], chunk_text[16], retry_text[16];
    char key[FW_KEY_SIZE] = "";
    sigset_t signals;
    int64_t keys = 0;
    fw_error err;
    int status = 1, sig = 0;

    fw_error_clear(&err);
    memset(&service, 0, sizeof(service));
    memset(&sup, 0, sizeof(sup));
    memset(&rp, 0, sizeof(rp));
    if (fw_config_load(&config, argc, argv, &err)) {
        print_error("serve", &err);
        return 2;
    }
    block_signals(&signals);
    fw_fetch_global_init();
    if (fw_config_resolve_http_port(&config, &err)) {
        print_error("--http", &err);
        goto out;
    }

    if (fw_store_pool_new(&service.stores, config.database_url, 16, &err)) {
        print_error("database", &err);
        goto out;
    }
    {
        fw_store *store = NULL;
        if (fw_store_pool_get(service.stores, &store, &err) || fw_store_key_count(store, &keys, &err) ||
            (keys == 0 && create_key(store, "default", key, &err))) {
            fw_store_pool_put(service.stores, store);
            print_error("database", &err);
            goto out;
        }
        fw_store_pool_put(service.stores, store);
    }
    if (fw_storage_open(&storage, &config.storage, &err)) {
        print_error("storage", &err);
        goto out;
    }
    service.storage = storage;
    service.config.output_url_ttl_s = 7 * 24 * 3600;
    service.config.probe_ms = config.probe_ms;
    service.config.quota_jobs_per_minute = config.quota_jobs_per_minute;
    service.config.quota_unfinished_jobs = config.quota_unfinished_jobs;
    service.config.upload_url_ttl_s = 3600;
    service.config.max_template_bytes = 512LL << 20;
    service.config.scratch_dir = config.scratch_dir;
    service.config.metrics_token = config.metrics_token;
    memcpy(service.config.secrets_key, config.secrets_key, sizeof(service.config.secrets_key));
    if (fw_watch_hub_new(&service.watch, config.database_url, &err)) {
        print_error("watch", &err);
        goto out;
    }
    fw_watch_hub_set_team_limit(service.watch, (size_t)config.max_streams_per_team);
    if (fw_frame_cache_new(&service.frames, 0, 0, &err)) {
        print_error("frames", &err);
        goto out;
    }
    if (fw_service_metrics_init(&service, &err)) {
        print_error("metrics", &err);
        goto out;
    }
    {
        fw_health_options hopts = {.store_url = config.database_url,
                                   .storage = storage,
                                   .methods = fw_framewright_methods,
                                   .method_count = fw_framewright_methods_count};
        if (fw_health_new(&health, &hopts, &err)) {
            print_error("health", &err);
            goto out;
        }
    }
    /* On S3 the bucket answers the signed URLs itself: there is nothing to serve. */
    if (fw_storage_get_kind(storage) == FW_STORAGE_LOCAL) {
        fw_file_server_options fopts = {.on_upload = fw_service_on_upload, .on_upload_ctx = &service};
        if (fw_file_server_start(&files, storage, config.http_addr, &fopts, &err)) {
            print_error("--http", &err);
            goto out;
        }
    }

    memset(&opts, 0, sizeof(opts));
    opts.listen = config.grpc_addr;
    opts.tls_cert_file = config.tls_cert[0] ? config.tls_cert : NULL;
    opts.tls_key_file = config.tls_key[0] ? config.tls_key : NULL;
    opts.methods = fw_framewright_methods;
    opts.method_count = fw_framewright_methods_count;
    opts.max_message_bytes = 64u << 20; /* font uploads are one message, up to 50 MiB */
    if (fw_rpc_server_new(&rpc, &opts, &err) || fw_service_register(rpc, &service, &err) ||
        fw_health_register(rpc, health, &err) || fw_rpc_server_start(rpc, &err)) {
        print_error("--grpc", &err);
        goto out;
    }

    fw_notifier_config_default(&notify);
    notify.store_url = config.database_url;
    notify.job_json = webhook_job_json;
    notify.resolve = webhook_resolve;
    notify.resolve_ctx = &service;
    if (config.webhook_retry_base_ms > 0)
        notify.retry.backoff_ms = config.webhook_retry_base_ms;
    if (fw_notifier_start(&notifier, &notify, &err)) {
        print_error("webhooks", &err);
        goto out;
    }

    /* The REST gateway (Nexrender's /api/v2) in front of our own gRPC port.
     * Only a listen address asked for is fatal: the default may be taken. */
    if (config.api_addr[0] && strcmp(config.api_addr, "off") != 0) {
        char target[64], origins[1100];
        fw_gateway_options gopts;
        memset(&gopts, 0, sizeof(gopts));
        snprintf(target, sizeof(target), "127.0.0.1:%d", fw_rpc_server_port(rpc));
        gopts.listen = config.api_addr;
        gopts.grpc_address = target;
        gopts.grpc_ca_file = opts.tls_cert_file;
        gopts.tls_cert_file = opts.tls_cert_file; /* the same certificate: HTTPS */
        gopts.tls_key_file = opts.tls_key_file;
        output_origins(&config, origins, sizeof(origins));
        gopts.media_sources = origins;
        if (fw_gateway_start(&gateway, &gopts, &err)) {
            if (config.api_set) {
                print_error("--api", &err);
                goto out;
            }
            fw_log(FW_LOG_WARN, "serve", "no REST API: %s", err.message);
        }
    }

    rp.store_url = config.database_url;
    rp.max_attempts = config.max_attempts;
    rp.lease_ms = (int64_t)config.lease_seconds * 1000;
    rp.storage = storage;
    pthread_mutex_init(&rp.lock, NULL);
    pthread_cond_init(&rp.wake, NULL);
    pthread_create(&rp.thread, NULL, reap, &rp);

    snprintf(workers_text, sizeof(workers_text), "%d", config.workers);
    snprintf(lease_text, sizeof(lease_text), "%d", config.lease_seconds);
    snprintf(chunk_text, sizeof(chunk_text), "%d", config.chunk_frames);
    snprintf(retry_text, sizeof(retry_text), "%d", config.retry_seconds);
    {
        int n = 0;
        worker_argv[n++] = "framewright";
        worker_argv[n++] = "worker";
        worker_argv[n++] = "--data";
        worker_argv[n++] = config.data_dir;
        worker_argv[n++] = "--database";
        worker_argv[n++] = config.database_url;
        worker_argv[n++] = "--lease-seconds";
        worker_argv[n++] = lease_text;
        worker_argv[n++] = "--retry-seconds";
        worker_argv[n++] = retry_text;
        worker_argv[n++] = "--http";
        worker_argv[n++] = config.http_addr;
        if (config.chunk_frames >= 0) {
            worker_argv[n++] = "--chunk-frames";
            worker_argv[n++] = chunk_text;
        }
        worker_argv[n] = NULL;
    }
    pthread_mutex_init(&sup.lock, NULL);
    sup.argv = worker_argv;
    sup.count = config.workers < MAX_WORKERS ? config.workers : MAX_WORKERS;
    for (int i = 0; i < sup.count; i++)
        sup.pids[i] = spawn_worker(&sup);
    if (sup.count)
        pthread_create(&sup.thread, NULL, supervise, &sup);

    printf("framewright: serving gRPC on %s:%d%s, HTTP on %s, data in %s, %d workers, %s store\n",
           strncmp(config.grpc_addr, "[::]", 4) == 0 ? "[::]" : "127.0.0.1", fw_rpc_server_port(rpc),
           opts.tls_cert_file ? " (TLS)" : "", files ? config.public_url : "none (S3 serves the URLs)",
           config.data_dir, sup.count,
           strncmp(config.database_url, "postgres", 8) == 0 ? "postgres" : "sqlite");
    if (gateway)
        printf("framewright: REST API (/api/v2) on %s://%.*s:%d/api/v2\n", opts.tls_cert_file ? "https" : "http",
               (int)(strrchr(config.api_addr, ':') - config.api_addr), config.api_addr, fw_gateway_port(gateway));
    if (key[0])
        printf("framewright: a first API key for team 'default' (shown only now):\n%s\n", key);
    fflush(stdout);

    sigwait(&signals, &sig);
    fw_log(FW_LOG_INFO, "serve", "stopping (signal %d)", sig);
    status = 0;

    fw_health_shutdown(health);
    fw_gateway_stop(&gateway); /* REST calls in flight end first: they need the gRPC server */
    fw_rpc_server_stop(rpc);
    pthread_mutex_lock(&sup.lock);
    sup.stopping = 1;
    for (int i = 0; i < sup.count; i++)
        if (sup.pids[i] > 0)
            kill(sup.pids[i], SIGTERM);
    pthread_mutex_unlock(&sup.lock);
    if (sup.count)
        pthread_join(sup.thread, NULL);
    pthread_mutex_lock(&rp.lock);
    rp.stopping = 1;
    pthread_cond_signal(&rp.wake);
    pthread_mutex_unlock(&rp.lock);
    pthread_join(rp.thread, NULL);
    pthread_mutex_destroy(&rp.lock);
    pthread_cond_destroy(&rp.wake);
    pthread_mutex_destroy(&sup.lock);
out:
    fw_gateway_stop(&gateway);
    fw_notifier_stop(&notifier); /* last: what is still pending waits in the store for the next start */
    fw_rpc_server_free(&rpc);
    fw_health_free(&health);
    fw_watch_hub_free(&service.watch);
    fw_file_server_stop(&files);
    fw_storage_free(&storage);
    fw_store_pool_free(&service.stores);
    fw_histogram_free(&service.store_latency);
    fw_frame_cache_free(&service.frames);
    return status;
}
