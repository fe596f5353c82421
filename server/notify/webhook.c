/*
 * webhook.c - the notifier: threads that claim due webhook deliveries from
 * the store, call them with libcurl and record each attempt; and Standard
 * Webhooks signatures (OpenSSL HMAC-SHA256).
 *
 * One delivery is one chain: load the job and its webhook, resolve
 * placeholders, build the body, sign it, call, record. Any step that fails
 * becomes the attempt's error, so a broken webhook is visible in its
 * attempts rather than only in the log - and it is retried like a refused
 * call, since a secret that is missing now may be added before the retry.
 */
#include "server/notify/webhook.h"

#include <curl/curl.h>
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/util/log.h"
#include "server/util/urlpolicy.h"

#define MAX_THREADS 32
#define ANSWER_KEPT 160 /* bytes of a refusing answer kept in the attempt's error */
#define LEASE_SLACK_MS 60000

struct fw_notifier {
    fw_notifier_config config;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_int stopping;
    unsigned wakes; /* bumped by fw_notifier_wake */
    int count;
    pthread_t threads[MAX_THREADS];
};

void fw_notifier_config_default(fw_notifier_config *config)
{
    memset(config, 0, sizeof(*config));
    config->threads = 2;
    config->timeout_ms = 10000;
    config->retry.max_retries = 3;
    config->retry.backoff_ms = 10000;
    config->retry.max_backoff_ms = 3600 * 1000;
    config->poll_ms = 1000;
}

/* ---- signing --------------------------------------------------------------------------------- */

fw_err fw_webhook_sign(const char *secret, const char *id, int64_t timestamp, const char *body, size_t body_len,
                       char out[FW_WEBHOOK_SIGNATURE_SIZE], fw_error *err)
{
    unsigned char key[64], mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    const char *encoded;
    size_t encoded_len, message_len;
    char *message, stamp[24];
    int key_len;

    if (!secret || strncmp(secret, "whsec_", 6) != 0)
        return fw_error_set(err, FW_ERR_INVALID, "secret", "a webhook secret starts with \"whsec_\"");
    encoded = secret + 6;
    encoded_len = strlen(encoded);
    if (encoded_len == 0 || encoded_len % 4 != 0 || encoded_len / 4 * 3 > sizeof(key))
        return fw_error_set(err, FW_ERR_INVALID, "secret", "the part after \"whsec_\" must be base64 of at most %zu "
                            "bytes", sizeof(key));
    key_len = EVP_DecodeBlock(key, (const unsigned char *)encoded, (int)encoded_len);
    if (key_len < 0)
        return fw_error_set(err, FW_ERR_INVALID, "secret", "the part after \"whsec_\" is not base64");
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    key_len -= (encoded[encoded_len - 1] == '=') + (encoded[encoded_len - 2] == '=');

    snprintf(stamp, sizeof(stamp), "%lld", (long long)timestamp);
    message_len = strlen(id) + 1 + strlen(stamp) + 1 + body_len;
    message = malloc(message_len + 1);
    if (!message)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory signing a webhook");
    snprintf(message, message_len + 1, "%s.%s.", id, stamp);
    memcpy(message + message_len - body_len, body, body_len);
    if (!HMAC(EVP_sha256(), key, key_len, (const unsigned char *)message, message_len, mac, &mac_len)) {
        free(message);
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "HMAC-SHA256 failed");
    }
    free(message);
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mac_len);
    return FW_OK;
}

/* ---- what to send ---------------------------------------------------------------------------- */

/* A call ready to make. */
typedef struct webhook_call {
    char *url;
    char method[8];
    struct curl_slist *headers;
    char *body;
} webhook_call;

static void call_clear(webhook_call *c)
{
    free(c->url);
    curl_slist_free_all(c->headers);
    free(c->body);
    memset(c, 0, sizeof(*c));
}

/* text, resolved for the team when the notifier has a resolver: a new
 * string into *out. */
static fw_err resolve_text(const fw_notifier_config *config, const char *team_id, const char *text, const char *field,
                           char **out, fw_error *err)
{
    fw_error inner;

    if (!config->resolve) {
        *out = strdup(text);
        return *out ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    fw_error_clear(&inner);
    if (config->resolve(config->resolve_ctx, team_id, text, out, &inner) != FW_OK)
        return fw_error_set(err, inner.code ? inner.code : FW_ERR_INVALID, field, "%s", inner.message);
    return FW_OK;
}

/* Every string inside value (a copy of the webhook's data) resolved in place. */
static fw_err resolve_data(const fw_notifier_config *config, const char *team_id, json_t *value, fw_error *err)
{
    const char *key;
    json_t *item;
    size_t i;
    fw_err rc = FW_OK;

    if (json_is_string(value)) {
        char *text = NULL;
        if ((rc = resolve_text(config, team_id, json_string_value(value), "webhook.data", &text, err)) == FW_OK) {
            json_string_set(value, text);
            free(text);
        }
        return rc;
    }
    json_object_foreach(value, key, item) {
        if ((rc = resolve_data(config, team_id, item, err)))
            return rc;
    }
    json_array_foreach(value, i, item) {
        if ((rc = resolve_data(config, team_id, item, err)))
            return rc;
    }
    return FW_OK;
}

static int reserved_header(const char *name)
{
    return strcasecmp(name, "content-type") == 0 || strcasecmp(name, "content-length") == 0 ||
           strcasecmp(name, "host") == 0 || strncasecmp(name, "webhook-", 8) == 0;
}

static int header_name_ok(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return 0;
    return 1;
}

static fw_err add_header(webhook_call *c, const char *name, const char *value, fw_error *err)
{
    size_t len = strlen(name) + strlen(value) + 3;
    char *line = malloc(len);
    struct curl_slist *grown;

    if (!line)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory building webhook headers");
    snprintf(line, len, "%s: %s", name, value);
    grown = curl_slist_append(c->headers, line);
    free(line);
    if (!grown)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory building webhook headers");
    c->headers = grown;
    return FW_OK;
}

/* The webhook's own headers, resolved; ours (content-type, webhook-*) are
 * added later and win. */
static fw_err own_headers(const fw_notifier_config *config, const char *team_id, json_t *headers, webhook_call *c,
                          fw_error *err)
{
    const char *name;
    json_t *value;
    fw_err rc;

    json_object_foreach(headers, name, value) {
        char field[FW_ERROR_FIELD_MAX], *text = NULL;
        if (!json_is_string(value) || reserved_header(name))
            continue;
        snprintf(field, sizeof(field), "webhook.headers.%s", name);
        if (!header_name_ok(name))
            return fw_error_set(err, FW_ERR_INVALID, field, "is not a valid header name");
        if ((rc = resolve_text(config, team_id, json_string_value(value), field, &text, err)))
            return rc;
        if (strpbrk(text, "\r\n")) {
            free(text);
            return fw_error_set(err, FW_ERR_INVALID, field, "a header value cannot hold a line break");
        }
        rc = add_header(c, name, text, err);
        free(text);
        if (rc)
            return rc;
    }
    return FW_OK;
}

/* The body: the job (with event and data) or, for custom webhooks, the data alone. */
static fw_err build_body(const fw_notifier_config *config, const fw_job_row *job, const char *event, json_t *hook,
                         webhook_call *c, fw_error *err)
{
    json_t *data = json_object_get(hook, "data"), *body;
    fw_err rc;

    data = json_is_object(data) ? json_deep_copy(data) : json_object();
    if (!data)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory building a webhook body");
    if ((rc = resolve_data(config, job->team_id, data, err))) {
        json_decref(data);
        return rc;
    }
    if (json_is_true(json_object_get(hook, "custom"))) {
        body = data;
    } else {
        body = config->job_json(config->job_json_ctx, job);
        if (!json_is_object(body)) {
            json_decref(body);
            json_decref(data);
            return fw_error_set(err, FW_ERR_INTERNAL, NULL, "the job could not be shown as JSON");
        }
        json_object_set_new(body, "event", json_string(event));
        json_object_set_new(body, "data", data);
    }
    c->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return c->body ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory building a webhook body");
}

/* Everything about the call but the sending: url, method, headers, signed body. */
static fw_err prepare_call(const fw_notifier_config *config, fw_store *store, const fw_webhook_delivery *d,
                           const fw_job_row *job, webhook_call *c, fw_error *err)
{
    char secret[FW_WEBHOOK_SECRET_SIZE], signature[FW_WEBHOOK_SIGNATURE_SIZE], stamp[24];
    json_t *hook = job->webhook_json ? json_loads(job->webhook_json, 0, NULL) : NULL;
    const char *url = json_string_value(json_object_get(hook, "url"));
    const char *method = json_string_value(json_object_get(hook, "method"));
    int64_t timestamp = (int64_t)time(NULL);
    fw_err rc;

    if (!url) {
        json_decref(hook);
        return fw_error_set(err, FW_ERR_INVALID, "webhook.url", "the job has no webhook url");
    }
    snprintf(c->method, sizeof(c->method), "%s", method && *method ? method : "POST");
    snprintf(stamp, sizeof(stamp), "%lld", (long long)timestamp);
    if ((rc = resolve_text(config, job->team_id, url, "webhook.url", &c->url, err)) ||
        (rc = own_headers(config, job->team_id, json_object_get(hook, "headers"), c, err)) ||
        (rc = build_body(config, job, d->event, hook, c, err)) ||
        (rc = fw_store_webhook_secret(store, d->team_id, secret, err)) ||
        (rc = fw_webhook_sign(secret, d->id, timestamp, c->body, strlen(c->body), signature, err)) ||
        (rc = add_header(c, "content-type", "application/json", err)) ||
        (rc = add_header(c, "webhook-id", d->id, err)) || (rc = add_header(c, "webhook-timestamp", stamp, err)) ||
        (rc = add_header(c, "webhook-signature", signature, err)))
        ;
    else if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0)
        rc = fw_error_set(err, FW_ERR_INVALID, "webhook.url", "is not an http(s) URL");
    else {
        fw_error refused;
        fw_error_clear(&refused);
        if (fw_url_policy_check(fw_url_policy_get(), c->url, 0, "webhook.url", &refused) != FW_OK) {
            /* Said without the URL, which may hold a secret by now. */
            const char *why = strstr(refused.message, "refused by the URL policy");
            rc = fw_error_set(err, FW_ERR_INVALID, "webhook.url", "the webhook URL is %s",
                              why ? why : "refused by the URL policy");
        }
    }
    json_decref(hook);
    return rc;
}

/* ---- calling --------------------------------------------------------------------------------- */

typedef struct answer {
    char text[ANSWER_KEPT + 1];
    size_t len;
    atomic_int *stopping;
} answer;

static size_t keep_answer(char *data, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t room = ANSWER_KEPT - a->len, take = size * n < room ? size * n : room;
    memcpy(a->text + a->len, data, take);
    a->len += take;
    a->text[a->len] = '\0';
    return size * n;
}

static int check_stop(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    answer *a = arg;
    (void)dt, (void)dn, (void)ut, (void)un;
    return atomic_load(a->stopping) ? 1 : 0;
}

static int64_t monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Make the call. *status gets the HTTP status (0: none); FW_ERR_CANCELLED
 * when the notifier stopped meanwhile. */
static fw_err send_call(fw_notifier *n, const webhook_call *c, int *status, fw_error *err)
{
    CURL *curl = curl_easy_init();
    char curl_error[CURL_ERROR_SIZE] = "";
    answer a = {.stopping = &n->stopping};
    fw_url_guard guard;
    long code = 0;
    CURLcode res;

    *status = 0;
    if (!curl)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory starting an HTTP call");
    curl_easy_setopt(curl, CURLOPT_URL, c->url);
    fw_url_guard_attach(&guard, NULL, curl); /* http(s) only, no redirects, every address checked */
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, c->method);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(c->body));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "Framewright-Webhooks/1");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, n->config.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_stop);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &a);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    res = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(curl);

    *status = (int)code;
    if (res == CURLE_ABORTED_BY_CALLBACK)
        return fw_error_set(err, FW_ERR_CANCELLED, NULL, "the notifier stopped during the call");
    if (res != CURLE_OK && fw_url_guard_refused(&guard))
        return fw_error_set(err, FW_ERR_INVALID, "webhook.url", "the webhook's address was %s",
                            fw_url_guard_refused(&guard));
    if (res == CURLE_OPERATION_TIMEDOUT)
        return fw_error_set(err, FW_ERR_DEADLINE, NULL, "no answer within %ld ms", n->config.timeout_ms);
    if (res != CURLE_OK)
        return fw_error_set(err, FW_ERR_NETWORK, NULL, "%s", curl_error[0] ? curl_error : curl_easy_strerror(res));
    if (code < 200 || code > 299) {
        for (size_t i = 0; i < a.len; i++)
            if (!isprint((unsigned char)a.text[i]))
                a.text[i] = ' ';
        return fw_error_set(err, FW_ERR_NETWORK, NULL, "the endpoint answered HTTP %ld%s%s", code,
                            a.len ? ": " : "", a.text);
    }
    return FW_OK;
}

/* ---- one delivery ---------------------------------------------------------------------------- */

static void deliver(fw_notifier *n, fw_store *store, const fw_webhook_delivery *d)
{
    fw_webhook_attempt attempt = {0};
    webhook_call call = {0};
    char status[16] = "", text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4];
    fw_job_row job = {0};
    fw_error err, rec;
    int64_t start;
    fw_err rc;

    fw_error_clear(&err);
    attempt.started_at = fw_store_now();
    start = monotonic_ms();
    rc = fw_store_job_get(store, NULL, d->job_id, &job, &err);
    if (rc == FW_OK)
        rc = prepare_call(&n->config, store, d, &job, &call, &err);
    if (rc == FW_OK)
        rc = send_call(n, &call, &attempt.http_status, &err);
    attempt.duration_ms = monotonic_ms() - start;
    call_clear(&call);
    fw_job_row_clear(&job);

    fw_error_clear(&rec);
    if (rc == FW_ERR_CANCELLED) {
        if (fw_store_outbox_release(store, d->id, &rec) != FW_OK)
            fw_log(FW_LOG_WARN, "webhook", "delivery %s: %s", d->id, rec.message);
        return;
    }
    attempt.error = rc == FW_OK ? NULL : (char *)fw_error_text(&err, text, sizeof(text));
    if (fw_store_outbox_record(store, d->id, &attempt, rc == FW_OK, &n->config.retry, status, &rec) != FW_OK) {
        fw_log(FW_LOG_WARN, "webhook", "delivery %s: recording attempt %d: %s", d->id, d->attempts + 1, rec.message);
        return;
    }
    /* The job and event, never the url or headers: they may hold secrets. */
    if (rc != FW_OK)
        fw_log(FW_LOG_WARN, "webhook", "%s: attempt %d failed (%s); delivery %s %s", d->event, d->attempts + 1, text,
               d->id, status);
}

/* ---- the threads ----------------------------------------------------------------------------- */

/* Sleep up to ms, or until woken or stopping. */
static void idle(fw_notifier *n, int64_t ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&n->lock);
    unsigned wakes = n->wakes;
    while (n->wakes == wakes && !atomic_load(&n->stopping))
        if (pthread_cond_timedwait(&n->wake, &n->lock, &until) != 0)
            break;
    pthread_mutex_unlock(&n->lock);
}

static void *run(void *arg)
{
    fw_notifier *n = arg;
    fw_store *store = NULL;
    int64_t lease_ms = n->config.timeout_ms + LEASE_SLACK_MS;
    fw_error err;

    while (!atomic_load(&n->stopping)) {
        fw_webhook_delivery d;
        fw_err rc;

        fw_error_clear(&err);
        if (!store && fw_store_open(&store, n->config.store_url, &err) != FW_OK) {
            fw_log(FW_LOG_WARN, "webhook", "%s", err.message);
            idle(n, n->config.poll_ms);
            continue;
        }
        rc = fw_store_outbox_claim(store, fw_store_now(), lease_ms, &d, &err);
        if (rc == FW_OK) {
            fw_log_set_job(d.job_id);
            deliver(n, store, &d);
            fw_log_set_job(NULL);
            fw_webhook_delivery_clear(&d);
            continue;
        }
        if (rc != FW_ERR_NOT_FOUND) {
            fw_log(FW_LOG_WARN, "webhook", "%s", err.message);
            fw_store_close(&store); /* a fresh connection next time */
        }
        idle(n, n->config.poll_ms);
    }
    fw_store_close(&store);
    return NULL;
}

fw_err fw_notifier_start(fw_notifier **out, const fw_notifier_config *config, fw_error *err)
{
    fw_notifier *n;

    *out = NULL;
    if (!config->store_url || !config->job_json)
        return fw_error_set(err, FW_ERR_INVALID, "config", "a notifier needs a store and a job_json callback");
    if (config->threads < 1 || config->threads > MAX_THREADS)
        return fw_error_set(err, FW_ERR_INVALID, "threads", "must be 1 to %d, not %d", MAX_THREADS,
                            config->threads);
    if (config->timeout_ms <= 0 || config->poll_ms <= 0 || config->retry.max_retries < 0)
        return fw_error_set(err, FW_ERR_INVALID, "config", "timeout_ms and poll_ms must be positive, "
                            "max_retries at least 0");
    n = calloc(1, sizeof(*n));
    if (!n)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory starting the notifier");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(n);
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "libcurl could not be initialised");
    }
    n->config = *config;
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->wake, NULL);
    for (; n->count < config->threads; n->count++)
        if (pthread_create(&n->threads[n->count], NULL, run, n) != 0)
            break;
    if (n->count == 0) {
        fw_notifier_stop(&n);
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "could not start a notifier thread");
    }
    *out = n;
    return FW_OK;
}

void fw_notifier_wake(fw_notifier *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->lock);
    n->wakes++;
    pthread_cond_broadcast(&n->wake);
    pthread_mutex_unlock(&n->lock);
}

void fw_notifier_stop(fw_notifier **notifier)
{
    fw_notifier *n = notifier ? *notifier : NULL;

    if (!n)
        return;
    pthread_mutex_lock(&n->lock);
    atomic_store(&n->stopping, 1);
    pthread_cond_broadcast(&n->wake);
    pthread_mutex_unlock(&n->lock);
    for (int i = 0; i < n->count; i++)
        pthread_join(n->threads[i], NULL);
    pthread_mutex_destroy(&n->lock);
    pthread_cond_destroy(&n->wake);
    curl_global_cleanup();
    free(n);
    *notifier = NULL;
}
