/*
 * webhook_test.c - webhooks from a job's end to a real HTTP endpoint.
 *
 * A small HTTP server on loopback (a thread of this test) plays the
 * receiver: it answers each call from a script (200, 500, or no answer
 * until the caller gives up), keeps what it received, and checks the
 * Standard Webhooks signature with its own HMAC-SHA256. Jobs end through the
 * real store calls and the real notifier delivers them, on SQLite and, when
 * FW_TEST_PG_URL names a server, on PostgreSQL (a fresh database per case).
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/api/service.h"
#include "server/jobs/job.h"
#include "server/notify/webhook.h"
#include "server/store/store.h"
#include "server/util/id.h"
#include "tests/fw_test.h"

/* ---- the harness: a fresh database per case -------------------------------------------------- */

static int g_pg;
static char g_url[2048];
static char g_pg_name[64];

static int pg_admin_command(const char *sql)
{
    PGconn *c = PQconnectdb(getenv("FW_TEST_PG_URL"));
    PGresult *r;
    int ok;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "  cannot connect to FW_TEST_PG_URL: %s", PQerrorMessage(c));
        PQfinish(c);
        return 0;
    }
    r = PQexec(c, sql);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "  %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok;
}

static int fresh_database(void)
{
    const char *dir = fw_test_tmpdir();
    const char *base = getenv("FW_TEST_PG_URL");
    char id[FW_ID_SIZE], sql[128];

    g_pg_name[0] = '\0';
    if (!dir)
        return 0;
    if (!g_pg) {
        snprintf(g_url, sizeof(g_url), "%s/store.db", dir);
        return 1;
    }
    fw_id_new(id);
    snprintf(g_pg_name, sizeof(g_pg_name), "fwtest_%s", id);
    for (char *p = g_pg_name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_pg_name);
    if (!pg_admin_command(sql))
        return 0;
    {
        /* The server URL with its database name replaced. */
        const char *hosts = strstr(base, "://");
        const char *path = hosts ? strchr(hosts + 3, '/') : NULL;
        const char *query = strchr(base, '?');
        int host_len = path ? (int)(path - base) : (query ? (int)(query - base) : (int)strlen(base));
        snprintf(g_url, sizeof(g_url), "%.*s/%s%s", host_len, base, g_pg_name, query ? query : "");
    }
    return 1;
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

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

/* ---- the receiver ---------------------------------------------------------------------------- */

#define HANG (-1)       /* never answer (the connection stays open until the receiver stops) */
#define MAX_REQUESTS 16

typedef struct request {
    char method[16];
    char path[256];
    char headers[4096]; /* the raw header block */
    char *body;
    int64_t at;
    int signature_ok;   /* the Standard Webhooks signature checked out */
} request;

typedef struct receiver {
    int fd, port;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t lock;
    int script[MAX_REQUESTS]; /* answers in order; after the script, last_answer */
    int script_len;
    int last_answer;
    int hung[MAX_REQUESTS]; /* connections left unanswered */
    int hung_count;
    char secret[FW_WEBHOOK_SECRET_SIZE]; /* to check signatures with; "" skips */
    request got[MAX_REQUESTS];
    int count;
} receiver;

/* The value of header name in a raw header block, into out ("" if absent). */
static void header_value(const char *headers, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *line = headers; line && *line; line = strstr(line, "\r\n") ? strstr(line, "\r\n") + 2 : NULL) {
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1, *end = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)(end ? end - v : (long)strlen(v)), v);
            return;
        }
    }
}

/* HMAC-SHA256 written out from its definition (RFC 2104), independent of
 * the code under test. */
static void sha256_parts(const unsigned char *a, size_t a_len, const unsigned char *b, size_t b_len,
                         unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, a, a_len);
    EVP_DigestUpdate(ctx, b, b_len);
    EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
}

static void hmac_sha256(const unsigned char *key, size_t key_len, const unsigned char *msg, size_t len,
                        unsigned char out[32])
{
    unsigned char k[64] = {0}, pad[64], inner[32];

    if (key_len > 64)
        sha256_parts(key, key_len, NULL, 0, k);
    else
        memcpy(k, key, key_len);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    sha256_parts(pad, 64, msg, len, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    sha256_parts(pad, 64, inner, 32, out);
}

/* Does signature_header hold a v1 signature of "<id>.<timestamp>.<body>"? */
static int verify_signature(const char *secret, const char *id, const char *timestamp, const char *body,
                            const char *signature_header)
{
    unsigned char key[64], mac[32];
    char expected[64], *message;
    const char *b64 = secret + 6;
    size_t b64_len = strlen(b64), len;
    int key_len;

    if (strncmp(secret, "whsec_", 6) != 0)
        return 0;
    key_len = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)b64_len);
    key_len -= (b64[b64_len - 1] == '=') + (b64[b64_len - 2] == '=');
    len = strlen(id) + strlen(timestamp) + strlen(body) + 2;
    message = malloc(len + 1);
    snprintf(message, len + 1, "%s.%s.%s", id, timestamp, body);
    hmac_sha256(key, (size_t)key_len, (const unsigned char *)message, len, mac);
    free(message);
    memcpy(expected, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)expected + 3, mac, 32);
    /* The header may list several space-separated signatures. */
    for (const char *p = signature_header; (p = strstr(p, expected)) != NULL; p++)
        if ((p == signature_header || p[-1] == ' ') && (p[strlen(expected)] == '\0' || p[strlen(expected)] == ' '))
            return 1;
    return 0;
}

/* Read one request from c into r; 0 when the connection ends first. */
static int read_request(int c, request *r)
{
    char buf[65536], *end = NULL, length_text[32];
    size_t have = 0, need;

    while (!(end = strstr(buf, "\r\n\r\n"))) {
        ssize_t n;
        if (have + 1 >= sizeof(buf))
            return 0;
        n = read(c, buf + have, sizeof(buf) - have - 1);
        if (n <= 0)
            return 0;
        have += (size_t)n;
        buf[have] = '\0';
    }
    sscanf(buf, "%15s %255s", r->method, r->path);
    {
        const char *first = strstr(buf, "\r\n") + 2;
        snprintf(r->headers, sizeof(r->headers), "%.*s", (int)(end + 2 - first), first);
    }
    header_value(r->headers, "content-length", length_text, sizeof(length_text));
    need = (size_t)(end + 4 - buf) + (size_t)atol(length_text);
    while (have < need && have + 1 < sizeof(buf)) {
        ssize_t n = read(c, buf + have, sizeof(buf) - have - 1);
        if (n <= 0)
            return 0;
        have += (size_t)n;
        buf[have] = '\0';
    }
    r->body = strndup(end + 4, (size_t)atol(length_text));
    r->at = now_ms();
    return 1;
}

static void *receive(void *arg)
{
    receiver *rc = arg;
    while (!atomic_load(&rc->stop)) {
        struct pollfd p = {.fd = rc->fd, .events = POLLIN};
        request r;
        int c, answer;

        if (poll(&p, 1, 20) <= 0)
            continue;
        c = accept(rc->fd, NULL, NULL);
        if (c < 0)
            continue;
        memset(&r, 0, sizeof(r));
        if (!read_request(c, &r)) {
            close(c);
            continue;
        }
        pthread_mutex_lock(&rc->lock);
        if (rc->secret[0]) {
            char id[64], stamp[32], signature[256];
            header_value(r.headers, "webhook-id", id, sizeof(id));
            header_value(r.headers, "webhook-timestamp", stamp, sizeof(stamp));
            header_value(r.headers, "webhook-signature", signature, sizeof(signature));
            r.signature_ok = verify_signature(rc->secret, id, stamp, r.body, signature);
        }
        answer = rc->count < rc->script_len ? rc->script[rc->count] : rc->last_answer;
        if (rc->count < MAX_REQUESTS)
            rc->got[rc->count++] = r;
        else
            free(r.body);
        pthread_mutex_unlock(&rc->lock);
        if (answer == HANG) {
            rc->hung[rc->hung_count++] = c;
            continue;
        } else {
            char out[256];
            const char *text = answer == 200 ? "OK" : "Server Error";
            int n = snprintf(out, sizeof(out),
                             "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", answer, text,
                             strlen(text), text);
            if (write(c, out, (size_t)n) < 0)
                perror("receiver write");
        }
        close(c);
    }
    return NULL;
}

static receiver *receiver_start(int last_answer)
{
    receiver *r = calloc(1, sizeof(*r));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);

    r->last_answer = last_answer;
    pthread_mutex_init(&r->lock, NULL);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(r->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(r->fd, 16) != 0 ||
        getsockname(r->fd, (struct sockaddr *)&addr, &len) != 0) {
        perror("receiver");
        close(r->fd);
        free(r);
        return NULL;
    }
    r->port = ntohs(addr.sin_port);
    pthread_create(&r->thread, NULL, receive, r);
    return r;
}

static void receiver_script(receiver *r, const int *answers, int count)
{
    pthread_mutex_lock(&r->lock);
    memcpy(r->script, answers, (size_t)count * sizeof(int));
    r->script_len = count;
    pthread_mutex_unlock(&r->lock);
}

static int receiver_count(receiver *r)
{
    int n;
    pthread_mutex_lock(&r->lock);
    n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static void receiver_stop(receiver **r)
{
    if (!*r)
        return;
    atomic_store(&(*r)->stop, 1);
    pthread_join((*r)->thread, NULL);
    close((*r)->fd);
    for (int i = 0; i < (*r)->hung_count; i++)
        close((*r)->hung[i]);
    for (int i = 0; i < (*r)->count; i++)
        free((*r)->got[i].body);
    pthread_mutex_destroy(&(*r)->lock);
    free(*r);
    *r = NULL;
}

/* ---- fixtures -------------------------------------------------------------------------------- */

static fw_store *open_store(void)
{
    fw_store *s = NULL;
    fw_error err = {0};
    if (fw_store_open(&s, g_url, &err) != FW_OK)
        fprintf(stderr, "  open %s: %s\n", g_url, err.message);
    return s;
}

static json_t *job_json(void *ctx, const fw_job_row *job)
{
    (void)ctx;
    return fw_service_job_json(job, NULL);
}

/* Replaces "${greeting}" with "hello" for the team "resolving" tests use. */
static fw_err resolve(void *ctx, const char *team_id, const char *text, char **out, fw_error *err)
{
    const char *at = strstr(text, "${greeting}");
    (void)ctx;
    (void)team_id;
    if (strstr(text, "${missing}"))
        return fw_error_set(err, FW_ERR_NOT_FOUND, NULL, "no secret named missing");
    if (!at) {
        *out = strdup(text);
        return FW_OK;
    }
    *out = malloc(strlen(text) + 8);
    sprintf(*out, "%.*shello%s", (int)(at - text), text, at + strlen("${greeting}"));
    return FW_OK;
}

static fw_notifier *start_notifier(long timeout_ms, int max_retries, int64_t backoff_ms, int with_resolver)
{
    fw_notifier_config c;
    fw_notifier *n = NULL;
    fw_error err;

    fw_notifier_config_default(&c);
    c.store_url = g_url;
    c.job_json = job_json;
    c.resolve = with_resolver ? resolve : NULL;
    c.timeout_ms = timeout_ms;
    c.retry.max_retries = max_retries;
    c.retry.backoff_ms = backoff_ms;
    c.poll_ms = 20;
    if (fw_notifier_start(&n, &c, &err) != FW_OK)
        fprintf(stderr, "  notifier: %s\n", err.message);
    return n;
}

/* A queued job of a new team "acme" with this webhook (NULL: none), claimed
 * by worker w1. */
static void running_job(fw_store *s, const char *webhook_json, char id[FW_ID_SIZE], char team[FW_ID_SIZE])
{
    fw_job_row j, claimed;
    fw_error err;

    FW_CHECK_INT(fw_store_team_ensure(s, "acme", team, &err), FW_OK);
    memset(&j, 0, sizeof(j));
    fw_id_new(j.id);
    snprintf(j.team_id, sizeof(j.team_id), "%s", team);
    snprintf(j.kind, sizeof(j.kind), "render");
    snprintf(j.status, sizeof(j.status), FW_STATUS_QUEUED);
    snprintf(j.output_key, sizeof(j.output_key), "outputs/%s.mp4", j.id);
    j.request_json = "{\"template\":{\"id\":\"t\"}}";
    j.webhook_json = (char *)webhook_json;
    j.created_at = now_ms();
    FW_CHECK_INT(fw_store_jobs_insert(s, &j, 1, &err), FW_OK);
    FW_CHECK_INT(fw_store_job_claim(s, "w1", 60000, &claimed, &err), FW_OK);
    FW_CHECK_STR(claimed.id, j.id);
    fw_job_row_clear(&claimed);
    snprintf(id, FW_ID_SIZE, "%s", j.id);
}

static void finish(fw_store *s, const char *id)
{
    fw_error err;
    FW_CHECK_INT(fw_store_job_complete(s, id, "w1", 1.5, 0, NULL, NULL, &err), FW_OK);
}

static char *hook(receiver *r, const char *extra)
{
    char *text = malloc(1024);
    snprintf(text, 1024, "{\"url\":\"http://127.0.0.1:%d/hooks/render\"%s}", r->port, extra);
    return text;
}

/* Waits (up to 15 s) until the job's first delivery is no longer pending or
 * has made at least `attempts` calls; its state into *d (cleared by the caller). */
static int wait_delivery(fw_store *s, const char *job_id, int attempts, fw_webhook_delivery *d)
{
    for (int64_t give_up = now_ms() + 15000; now_ms() < give_up; sleep_ms(20)) {
        fw_webhook_delivery *list = NULL;
        size_t count = 0;
        fw_error err;
        if (fw_store_outbox_list(s, NULL, job_id, &list, &count, &err) != FW_OK) {
            fprintf(stderr, "  list: %s\n", err.message);
            return 0;
        }
        if (count > 0 && (strcmp(list[0].status, FW_DELIVERY_PENDING) != 0 ||
                          (attempts > 0 && (int)list[0].attempt_count >= attempts))) {
            *d = list[0];
            memset(&list[0], 0, sizeof(list[0]));
            fw_webhook_deliveries_free(&list, count);
            return 1;
        }
        fw_webhook_deliveries_free(&list, count);
    }
    return 0;
}

/* ---- the outbox is written with the job's end ------------------------------------------------ */

static size_t outbox_count(fw_store *s, const char *job_id, char event[48])
{
    fw_webhook_delivery *list = NULL;
    size_t count = 0;
    fw_error err;
    FW_CHECK_INT(fw_store_outbox_list(s, NULL, job_id, &list, &count, &err), FW_OK);
    if (event)
        snprintf(event, 48, "%s", count ? list[count - 1].event : "");
    fw_webhook_deliveries_free(&list, count);
    return count;
}

static void the_jobs_end_queues_its_webhook_in_the_same_transaction(void)
{
    fw_store *s = open_store();
    char id[FW_ID_SIZE], plain[FW_ID_SIZE], team[FW_ID_SIZE], event[48];
    fw_webhook_delivery *list = NULL;
    fw_job_row row;
    size_t count = 0;
    fw_error err;
    int requeued = 0, failed = 0;

    FW_REQUIRE(s);
    running_job(s, "{\"url\":\"http://127.0.0.1:1/x\"}", id, team);
    FW_CHECK_INT(fw_store_job_get(s, NULL, id, &row, &err), FW_OK);
    FW_CHECK_STR(row.webhook_json, "{\"url\":\"http://127.0.0.1:1/x\"}");
    fw_job_row_clear(&row);
    FW_CHECK_INT(outbox_count(s, id, NULL), 0); /* nothing while it runs */
    finish(s, id);
    FW_CHECK_INT(fw_store_outbox_list(s, team, id, &list, &count, &err), FW_OK);
    FW_REQUIRE(count == 1);
    FW_CHECK_STR(list[0].event, "job.finished");
    FW_CHECK_STR(list[0].status, FW_DELIVERY_PENDING);
    FW_CHECK_STR(list[0].team_id, team);
    FW_CHECK_INT(list[0].attempts, 0);
    FW_CHECK(list[0].next_attempt_at <= now_ms());
    fw_webhook_deliveries_free(&list, count);
    /* Another team sees nothing of it. */
    FW_CHECK_INT(fw_store_outbox_list(s, "01HZZZZZZZZZZZZZZZZZZZZZZZ", id, &list, &count, &err), FW_OK);
    FW_CHECK_INT(count, 0);
    fw_webhook_deliveries_free(&list, count);

    /* A job without a webhook queues nothing. */
    running_job(s, NULL, plain, team);
    finish(s, plain);
    FW_CHECK_INT(outbox_count(s, plain, NULL), 0);

    /* A failed render, a cancellation and a reaped job each queue their event. */
    running_job(s, "{\"url\":\"http://127.0.0.1:1/x\"}", id, team);
    FW_CHECK_INT(fw_store_job_complete(s, id, "w1", 0.5, 0, NULL, "the template broke", &err), FW_OK);
    FW_CHECK_INT(outbox_count(s, id, event), 1);
    FW_CHECK_STR(event, "job.error");
    running_job(s, "{\"url\":\"http://127.0.0.1:1/x\"}", id, team);
    FW_CHECK_INT(fw_store_job_cancel(s, team, id, &row, &err), FW_OK);
    fw_job_row_clear(&row);
    FW_CHECK_INT(outbox_count(s, id, event), 1);
    FW_CHECK_STR(event, "job.manually_cancelled");
    running_job(s, "{\"url\":\"http://127.0.0.1:1/x\"}", id, team);
    FW_CHECK_INT(fw_store_job_reap(s, now_ms() + 120000, 1, &requeued, &failed, &err), FW_OK);
    FW_CHECK_INT(failed, 1);
    FW_CHECK_INT(outbox_count(s, id, event), 1);
    FW_CHECK_STR(event, "job.error");
    /* A release that requeues queues nothing; one out of attempts does. */
    running_job(s, "{\"url\":\"http://127.0.0.1:1/x\"}", id, team);
    FW_CHECK_INT(fw_store_job_release(s, id, "w1", "shutting down", 5, 0, &err), FW_OK);
    FW_CHECK_INT(outbox_count(s, id, NULL), 0);
    FW_CHECK_INT(fw_store_job_cancel(s, team, id, &row, &err), FW_OK);
    fw_job_row_clear(&row);
    FW_CHECK_INT(outbox_count(s, id, event), 1);
    fw_store_close(&s);
}
BOTH(the_jobs_end_queues_its_webhook_in_the_same_transaction)

static void progress_and_stage_events_are_queued_once_when_asked_for(void)
{
    fw_store *s = open_store();
    char id[FW_ID_SIZE], plain[FW_ID_SIZE], team[FW_ID_SIZE], status[24];
    fw_webhook_delivery *list = NULL;
    size_t count = 0;
    fw_error err;

    FW_REQUIRE(s);
    running_job(s, "{\"url\":\"http://127.0.0.1:1/x\",\"events\":[\"progress\",\"stage\"]}", id, team);
    FW_CHECK_INT(fw_store_job_heartbeat(s, id, "w1", 60000, 10, "download", status, &err), FW_OK);
    FW_CHECK_INT(fw_store_job_heartbeat(s, id, "w1", 60000, 30, "render", status, &err), FW_OK);
    FW_CHECK_INT(fw_store_job_heartbeat(s, id, "w1", 60000, 40, "render", status, &err), FW_OK);
    FW_CHECK_INT(fw_store_job_heartbeat(s, id, "w1", 60000, 80, "render", status, &err), FW_OK); /* 50 and 75 */
    finish(s, id);
    FW_CHECK_INT(fw_store_outbox_list(s, NULL, id, &list, &count, &err), FW_OK);
    FW_REQUIRE(count == 6);
    {
        const char *expected[] = {"job.stage.download", "job.progress.25", "job.stage.render", "job.progress.50",
                                  "job.progress.75", "job.finished"};
        int seen[6] = {0};
        for (size_t i = 0; i < count; i++)
            for (int k = 0; k < 6; k++)
                seen[k] += strcmp(list[i].event, expected[k]) == 0;
        for (int k = 0; k < 6; k++)
            FW_CHECK_MSG(seen[k] == 1, "%s queued %d times", expected[k], seen[k]);
    }
    fw_webhook_deliveries_free(&list, count);

    /* Without "events", heartbeats queue nothing. */
    running_job(s, "{\"url\":\"http://127.0.0.1:1/x\"}", plain, team);
    FW_CHECK_INT(fw_store_job_heartbeat(s, plain, "w1", 60000, 90, "render", status, &err), FW_OK);
    FW_CHECK_INT(outbox_count(s, plain, NULL), 0);
    fw_store_close(&s);
}
BOTH(progress_and_stage_events_are_queued_once_when_asked_for)

/* ---- delivery -------------------------------------------------------------------------------- */

static void a_finished_job_is_delivered_once_signed_with_the_job_and_data(void)
{
    fw_store *s = open_store();
    receiver *r = receiver_start(200);
    fw_notifier *n = NULL;
    fw_webhook_delivery d = {0};
    char id[FW_ID_SIZE], team[FW_ID_SIZE], value[256], *webhook;
    fw_error err;

    FW_REQUIRE(s && r);
    webhook = hook(r, ",\"headers\":{\"X-Token\":\"t-${greeting}\",\"webhook-id\":\"forged\"},"
                      "\"data\":{\"customField\":\"someValue\",\"nested\":{\"n\":[1,\"${greeting}\"]}}");
    running_job(s, webhook, id, team);
    free(webhook);
    FW_CHECK_INT(fw_store_webhook_secret(s, team, r->secret, &err), FW_OK);
    FW_CHECK(strncmp(r->secret, "whsec_", 6) == 0 && strlen(r->secret) == 6 + 44);
    finish(s, id);
    n = start_notifier(5000, 3, 100, 1);
    FW_REQUIRE(n);
    FW_REQUIRE(wait_delivery(s, id, 0, &d));
    sleep_ms(100); /* a second call would have come by now */
    fw_notifier_stop(&n);
    FW_CHECK(n == NULL);

    FW_CHECK_STR(d.status, FW_DELIVERY_DELIVERED);
    FW_CHECK_INT(d.attempt_count, 1);
    FW_CHECK_INT(d.attempt_log[0].http_status, 200);
    FW_CHECK(d.attempt_log[0].error == NULL);
    FW_CHECK(d.delivered_at > 0);
    FW_REQUIRE(receiver_count(r) == 1);
    {
        request *q = &r->got[0];
        json_t *body = json_loads(q->body, 0, NULL);
        FW_CHECK_STR(q->method, "POST");
        FW_CHECK_STR(q->path, "/hooks/render");
        FW_CHECK(q->signature_ok);
        header_value(q->headers, "content-type", value, sizeof(value));
        FW_CHECK_STR(value, "application/json");
        header_value(q->headers, "webhook-id", value, sizeof(value));
        FW_CHECK_STR(value, d.id); /* ours, not the forged one */
        header_value(q->headers, "webhook-timestamp", value, sizeof(value));
        FW_CHECK(llabs(atoll(value) - now_ms() / 1000) < 30);
        header_value(q->headers, "x-token", value, sizeof(value));
        FW_CHECK_STR(value, "t-hello");
        FW_CHECK_STR(json_string_value(json_object_get(body, "id")), id);
        FW_CHECK_STR(json_string_value(json_object_get(body, "status")), "finished");
        FW_CHECK_STR(json_string_value(json_object_get(body, "event")), "job.finished");
        FW_CHECK_NEAR(json_number_value(json_object_get(body, "progress")), 100, 1e-9);
        FW_CHECK_NEAR(json_number_value(json_object_get(json_object_get(body, "stats"), "renderDuration")), 1.5, 1e-9);
        FW_CHECK_STR(json_string_value(json_object_get(json_object_get(body, "data"), "customField")), "someValue");
        FW_CHECK_STR(json_string_value(json_array_get(
                         json_object_get(json_object_get(json_object_get(body, "data"), "nested"), "n"), 1)),
                     "hello");
        json_decref(body);
        /* The receiver's check can fail: a changed body does not verify. */
        header_value(q->headers, "webhook-signature", value, sizeof(value));
        {
            char id_h[64], stamp[32];
            header_value(q->headers, "webhook-id", id_h, sizeof(id_h));
            header_value(q->headers, "webhook-timestamp", stamp, sizeof(stamp));
            FW_CHECK(!verify_signature(r->secret, id_h, stamp, "{\"status\":\"error\"}", value));
        }
    }
    fw_webhook_delivery_clear(&d);
    receiver_stop(&r);
    fw_store_close(&s);
}
BOTH(a_finished_job_is_delivered_once_signed_with_the_job_and_data)

static void a_custom_webhook_sends_only_its_data_with_its_method(void)
{
    fw_store *s = open_store();
    receiver *r = receiver_start(200);
    fw_notifier *n = NULL;
    fw_webhook_delivery d = {0};
    char id[FW_ID_SIZE], team[FW_ID_SIZE], *webhook;
    fw_error err;

    FW_REQUIRE(s && r);
    webhook = hook(r, ",\"method\":\"PUT\",\"custom\":true,\"data\":{\"order\":42,\"ok\":true}");
    running_job(s, webhook, id, team);
    free(webhook);
    FW_CHECK_INT(fw_store_webhook_secret(s, team, r->secret, &err), FW_OK);
    finish(s, id);
    n = start_notifier(5000, 3, 100, 0);
    FW_REQUIRE(n);
    FW_REQUIRE(wait_delivery(s, id, 0, &d));
    fw_notifier_stop(&n);
    FW_CHECK_STR(d.status, FW_DELIVERY_DELIVERED);
    FW_REQUIRE(receiver_count(r) == 1);
    FW_CHECK_STR(r->got[0].method, "PUT");
    FW_CHECK_STR(r->got[0].body, "{\"order\":42,\"ok\":true}");
    FW_CHECK(r->got[0].signature_ok);
    fw_webhook_delivery_clear(&d);
    receiver_stop(&r);
    fw_store_close(&s);
}
BOTH(a_custom_webhook_sends_only_its_data_with_its_method)

static void a_refused_call_is_retried_and_both_attempts_are_kept(void)
{
    static const int answers[] = {500, 200};
    fw_store *s = open_store();
    receiver *r = receiver_start(200);
    fw_notifier *n = NULL;
    fw_webhook_delivery d = {0};
    char id[FW_ID_SIZE], team[FW_ID_SIZE], *webhook;
    fw_error err;

    FW_REQUIRE(s && r);
    receiver_script(r, answers, 2);
    webhook = hook(r, "");
    running_job(s, webhook, id, team);
    free(webhook);
    FW_CHECK_INT(fw_store_webhook_secret(s, team, r->secret, &err), FW_OK);
    FW_CHECK_INT(fw_store_job_complete(s, id, "w1", 0.1, 0, NULL, "no such layer", &err), FW_OK);
    n = start_notifier(5000, 3, 100, 0);
    FW_REQUIRE(n);
    FW_REQUIRE(wait_delivery(s, id, 0, &d));
    fw_notifier_stop(&n);
    FW_CHECK_STR(d.event, "job.error");
    FW_CHECK_STR(d.status, FW_DELIVERY_DELIVERED);
    FW_REQUIRE(d.attempt_count == 2);
    FW_CHECK_INT(d.attempt_log[0].attempt, 1);
    FW_CHECK_INT(d.attempt_log[0].http_status, 500);
    FW_CHECK_CONTAINS(d.attempt_log[0].error, "HTTP 500");
    FW_CHECK_INT(d.attempt_log[1].attempt, 2);
    FW_CHECK_INT(d.attempt_log[1].http_status, 200);
    FW_CHECK(d.attempt_log[1].error == NULL);
    FW_CHECK(d.attempt_log[1].started_at - d.attempt_log[0].started_at >= 75); /* the backoff, less jitter */
    FW_REQUIRE(receiver_count(r) == 2);
    /* Both calls carry the same webhook-id, so the receiver can drop repeats. */
    {
        char a[64], b[64];
        header_value(r->got[0].headers, "webhook-id", a, sizeof(a));
        header_value(r->got[1].headers, "webhook-id", b, sizeof(b));
        FW_CHECK_STR(a, b);
        FW_CHECK(r->got[0].signature_ok && r->got[1].signature_ok);
    }
    fw_webhook_delivery_clear(&d);
    receiver_stop(&r);
    fw_store_close(&s);
}
BOTH(a_refused_call_is_retried_and_both_attempts_are_kept)

static void an_endpoint_that_always_fails_gets_three_retries_with_growing_gaps(void)
{
    fw_store *s = open_store();
    receiver *r = receiver_start(500);
    fw_notifier *n = NULL;
    fw_webhook_delivery d = {0};
    char id[FW_ID_SIZE], team[FW_ID_SIZE], *webhook;

    FW_REQUIRE(s && r);
    webhook = hook(r, "");
    running_job(s, webhook, id, team);
    free(webhook);
    finish(s, id);
    n = start_notifier(5000, 3, 150, 0);
    FW_REQUIRE(n);
    FW_REQUIRE(wait_delivery(s, id, 0, &d));
    sleep_ms(300); /* no fifth call comes */
    fw_notifier_stop(&n);
    FW_CHECK_STR(d.status, FW_DELIVERY_FAILED);
    FW_CHECK_INT(d.attempts, 4);
    FW_REQUIRE(d.attempt_count == 4);
    FW_CHECK_INT(receiver_count(r), 4);
    FW_CHECK_CONTAINS(d.last_error, "HTTP 500");
    {
        int64_t gap[3];
        for (int i = 0; i < 3; i++) {
            gap[i] = d.attempt_log[i + 1].started_at - d.attempt_log[i].started_at;
            FW_CHECK_INT(d.attempt_log[i].http_status, 500);
        }
        /* Nominal waits 150, 300, 600 ms, each less up to a quarter. */
        FW_CHECK_MSG(gap[0] >= 110 && gap[1] > gap[0] && gap[2] > gap[1], "gaps %lld, %lld, %lld ms",
                     (long long)gap[0], (long long)gap[1], (long long)gap[2]);
        FW_CHECK(gap[2] >= 450);
    }
    fw_webhook_delivery_clear(&d);
    receiver_stop(&r);
    fw_store_close(&s);
}
BOTH(an_endpoint_that_always_fails_gets_three_retries_with_growing_gaps)

static void an_endpoint_that_hangs_is_recorded_as_a_timeout(void)
{
    static const int answers[] = {HANG, 200};
    fw_store *s = open_store();
    receiver *r = receiver_start(200);
    fw_notifier *n = NULL;
    fw_webhook_delivery d = {0};
    char id[FW_ID_SIZE], team[FW_ID_SIZE], *webhook;

    FW_REQUIRE(s && r);
    receiver_script(r, answers, 2);
    webhook = hook(r, "");
    running_job(s, webhook, id, team);
    free(webhook);
    finish(s, id);
    n = start_notifier(300, 3, 50, 0);
    FW_REQUIRE(n);
    FW_REQUIRE(wait_delivery(s, id, 0, &d));
    fw_notifier_stop(&n);
    FW_CHECK_STR(d.status, FW_DELIVERY_DELIVERED);
    FW_REQUIRE(d.attempt_count == 2);
    FW_CHECK_INT(d.attempt_log[0].http_status, 0);
    FW_CHECK_CONTAINS(d.attempt_log[0].error, "no answer within 300 ms");
    FW_CHECK(d.attempt_log[0].duration_ms >= 290 && d.attempt_log[0].duration_ms < 1400);
    FW_CHECK_INT(d.attempt_log[1].http_status, 200);
    fw_webhook_delivery_clear(&d);
    receiver_stop(&r);
    fw_store_close(&s);
}
BOTH(an_endpoint_that_hangs_is_recorded_as_a_timeout)

static void a_restart_delivers_what_was_pending(void)
{
    static const int answers[] = {500};
    fw_store *s = open_store();
    receiver *r = receiver_start(200);
    fw_notifier *n = NULL;
    fw_webhook_delivery d = {0};
    char first[FW_ID_SIZE], second[FW_ID_SIZE], team[FW_ID_SIZE], *webhook;

    FW_REQUIRE(s && r);
    receiver_script(r, answers, 1);
    webhook = hook(r, "");
    running_job(s, webhook, first, team);
    finish(s, first);
    /* The first notifier makes one failed call, then the service goes down
     * with the retry a long way off. */
    n = start_notifier(5000, 3, 400, 0);
    FW_REQUIRE(n);
    FW_REQUIRE(wait_delivery(s, first, 1, &d));
    fw_notifier_stop(&n);
    FW_CHECK_STR(d.status, FW_DELIVERY_PENDING);
    fw_webhook_delivery_clear(&d);
    /* While it is down another job ends. */
    running_job(s, webhook, second, team);
    finish(s, second);
    free(webhook);
    fw_store_close(&s);
    FW_CHECK_INT(receiver_count(r), 1);

    /* Everything new: store and notifier. */
    s = open_store();
    FW_REQUIRE(s);
    n = start_notifier(5000, 3, 400, 0);
    FW_REQUIRE(n);
    FW_REQUIRE(wait_delivery(s, first, 0, &d));
    FW_CHECK_STR(d.status, FW_DELIVERY_DELIVERED);
    FW_CHECK_INT(d.attempt_count, 2);
    fw_webhook_delivery_clear(&d);
    FW_REQUIRE(wait_delivery(s, second, 0, &d));
    FW_CHECK_STR(d.status, FW_DELIVERY_DELIVERED);
    FW_CHECK_INT(d.attempt_count, 1);
    fw_webhook_delivery_clear(&d);
    fw_notifier_stop(&n);
    FW_CHECK_INT(receiver_count(r), 3);
    receiver_stop(&r);
    fw_store_close(&s);
}
BOTH(a_restart_delivers_what_was_pending)

static void a_placeholder_that_does_not_resolve_fails_the_attempt_without_a_call(void)
{
    fw_store *s = open_store();
    receiver *r = receiver_start(200);
    fw_notifier *n = NULL;
    fw_webhook_delivery d = {0};
    char id[FW_ID_SIZE], team[FW_ID_SIZE], *webhook;

    FW_REQUIRE(s && r);
    webhook = hook(r, ",\"headers\":{\"Authorization\":\"Bearer ${missing}\"}");
    running_job(s, webhook, id, team);
    free(webhook);
    finish(s, id);
    n = start_notifier(5000, 0, 100, 1);
    FW_REQUIRE(n);
    FW_REQUIRE(wait_delivery(s, id, 0, &d));
    fw_notifier_stop(&n);
    FW_CHECK_STR(d.status, FW_DELIVERY_FAILED);
    FW_REQUIRE(d.attempt_count == 1);
    FW_CHECK_CONTAINS(d.attempt_log[0].error, "webhook.headers.Authorization");
    FW_CHECK_CONTAINS(d.attempt_log[0].error, "no secret named missing");
    FW_CHECK_INT(receiver_count(r), 0);
    fw_webhook_delivery_clear(&d);
    receiver_stop(&r);
    fw_store_close(&s);
}
BOTH(a_placeholder_that_does_not_resolve_fails_the_attempt_without_a_call)

/* ---- signing and secrets --------------------------------------------------------------------- */

static void the_signature_matches_the_standard_webhooks_example(void)
{
    /* The example of the Standard Webhooks specification's reference libraries. */
    char out[FW_WEBHOOK_SIGNATURE_SIZE];
    fw_error err;
    const char *body = "{\"test\": 2432232314}";

    FW_CHECK_INT(fw_webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                 1614265330, body, strlen(body), out, &err),
                 FW_OK);
    FW_CHECK_STR(out, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    FW_CHECK_INT(fw_webhook_sign("sk_nope", "id", 1, "", 0, out, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "secret");
}

static void the_teams_secret_is_made_once(void)
{
    fw_store *s = open_store();
    char team[FW_ID_SIZE], a[FW_WEBHOOK_SECRET_SIZE], b[FW_WEBHOOK_SECRET_SIZE];
    fw_error err;

    FW_REQUIRE(s);
    FW_CHECK_INT(fw_store_team_ensure(s, "acme", team, &err), FW_OK);
    FW_CHECK_INT(fw_store_webhook_secret(s, team, a, &err), FW_OK);
    FW_CHECK_INT(fw_store_webhook_secret(s, team, b, &err), FW_OK);
    FW_CHECK_STR(a, b);
    FW_CHECK_INT(strlen(a), 50);
    FW_CHECK(a[49] == '=');
    FW_CHECK_INT(fw_store_webhook_secret(s, "01HZZZZZZZZZZZZZZZZZZZZZZZ", a, &err), FW_ERR_NOT_FOUND);
    fw_store_close(&s);
}
BOTH(the_teams_secret_is_made_once)

/* ---- the job's webhook as submitted --------------------------------------------------------- */

static void a_webhook_asks_for_progress_and_stage_events_by_name(void)
{
    static const char good[] = "{\"template\":{\"id\":\"t\"},\"webhook\":{\"url\":\"https://x.test/h\","
                               "\"events\":[\"progress\",\"stage\"]}}";
    static const char bad[] = "{\"template\":{\"id\":\"t\"},\"webhook\":{\"url\":\"https://x.test/h\","
                              "\"events\":[\"progress\",\"done\"]}}";
    static const char not_array[] = "{\"template\":{\"id\":\"t\"},\"webhook\":{\"url\":\"https://x.test/h\","
                                    "\"events\":\"progress\"}}";
    fw_job_spec *job = NULL;
    fw_error err;

    FW_CHECK_INT(fw_job_parse(&job, good, strlen(good), &err), FW_OK);
    fw_job_spec_free(&job);
    FW_CHECK_INT(fw_job_parse(&job, bad, strlen(bad), &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "webhook.events[1]");
    FW_CHECK_INT(fw_job_parse(&job, not_array, strlen(not_array), &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "webhook.events");
    FW_CHECK(job == NULL);
}

int main(void)
{
    FW_RUN(the_signature_matches_the_standard_webhooks_example);
    FW_RUN(a_webhook_asks_for_progress_and_stage_events_by_name);
    RUN_BOTH(the_teams_secret_is_made_once);
    RUN_BOTH(the_jobs_end_queues_its_webhook_in_the_same_transaction);
    RUN_BOTH(progress_and_stage_events_are_queued_once_when_asked_for);
    RUN_BOTH(a_finished_job_is_delivered_once_signed_with_the_job_and_data);
    RUN_BOTH(a_custom_webhook_sends_only_its_data_with_its_method);
    RUN_BOTH(a_refused_call_is_retried_and_both_attempts_are_kept);
    RUN_BOTH(an_endpoint_that_always_fails_gets_three_retries_with_growing_gaps);
    RUN_BOTH(an_endpoint_that_hangs_is_recorded_as_a_timeout);
    RUN_BOTH(a_restart_delivers_what_was_pending);
    RUN_BOTH(a_placeholder_that_does_not_resolve_fails_the_attempt_without_a_call);
    return fw_test_end();
}
