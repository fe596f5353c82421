/*
 * webhook.h - calling jobs' webhooks: the notifier that empties the store's
 * webhook outbox, and Standard Webhooks signing.
 *
 * The store queues a delivery in the same transaction that ends a job (see
 * "webhook deliveries" in server/store/store.h); the notifier's threads,
 * each with a store connection of its own, claim due deliveries with a
 * lease, make the HTTP call and record the attempt. A failed call (no
 * answer within the timeout, or a status outside 2xx) is retried with
 * exponential backoff and jitter, up to max_retries times; every attempt is
 * kept and readable (fw_store_outbox_list). Because the outbox lives in the
 * store, a restart delivers what was pending: nothing is held in memory.
 *
 * What is sent (method, url, headers and data from the job's "webhook"):
 *   body     by default the job as the API shows it (from the job_json
 *            callback) with "event" and the webhook's "data" added; with
 *            "custom": true only "data" ({} when there is none)
 *   headers  the webhook's own headers, content-type: application/json, and
 *            the Standard Webhooks trio: webhook-id (the delivery id, the
 *            same on retries), webhook-timestamp (Unix seconds) and
 *            webhook-signature ("v1," + base64 HMAC-SHA256 of
 *            "<id>.<timestamp>.<body>", keyed with the base64-decoded part
 *            of the team's "whsec_" secret)
 * An optional resolve callback rewrites the url, header values and data
 * strings at send time (secret placeholders), so resolved secrets are never
 * stored. Header values are never logged.
 */
#ifndef FW_NOTIFY_WEBHOOK_H
#define FW_NOTIFY_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"
#include "server/util/error.h"

/* "v1," + base64 of 32 bytes + NUL, with room. */
#define FW_WEBHOOK_SIGNATURE_SIZE 64

/* The job as the API shows it: a new reference, or NULL when it cannot be
 * built (the delivery's attempt then fails). Called on notifier threads. */
typedef json_t *(*fw_webhook_job_json_fn)(void *ctx, const fw_job_row *job);

/* Rewrite text of team_id's webhook (secret placeholders): *out gets a new
 * string the caller frees, or the error says why not. Called on notifier
 * threads. */
typedef fw_err (*fw_webhook_resolve_fn)(void *ctx, const char *team_id, const char *text, char **out, fw_error *err);

typedef struct fw_notifier_config {
    const char *store_url;            /* the job store (fw_store_open) */
    fw_webhook_job_json_fn job_json;  /* required */
    void *job_json_ctx;
    fw_webhook_resolve_fn resolve;    /* NULL: texts are sent as written */
    void *resolve_ctx;
    int threads;                      /* deliveries made at once */
    long timeout_ms;                  /* per call, connection included */
    fw_webhook_retry retry;           /* max_retries 0: one call only */
    int64_t poll_ms;                  /* how often an idle thread looks for due deliveries */
} fw_notifier_config;

/* Defaults: 2 threads, 10 s timeout, 3 retries after 10 s, 20 s and 40 s
 * (less jitter), polling every second. store_url and job_json are left
 * for the caller. */
void fw_notifier_config_default(fw_notifier_config *config);

typedef struct fw_notifier fw_notifier;

/* Start the delivery threads. The config's strings and contexts must
 * outlive the notifier. Initialises libcurl (curl_global_init), so call it
 * before other threads use libcurl, as at start-up. */
fw_err fw_notifier_start(fw_notifier **out, const fw_notifier_config *config, fw_error *err);

/* Look for due deliveries now rather than at the next poll. */
void fw_notifier_wake(fw_notifier *notifier);

/* Stop: calls in flight are cut short and their deliveries handed back
 * untried, to be made by the next notifier. Waits for the threads, frees
 * everything and sets *notifier to NULL. */
void fw_notifier_stop(fw_notifier **notifier);

/* The webhook-signature value for a message: "v1," + base64 of
 * HMAC-SHA256(key, "<id>.<timestamp>.<body>") where key is the base64 text
 * after "whsec_" in secret, decoded. FW_ERR_INVALID for a malformed secret. */
fw_err fw_webhook_sign(const char *secret, const char *id, int64_t timestamp, const char *body, size_t body_len,
                       char out[FW_WEBHOOK_SIGNATURE_SIZE], fw_error *err);

#endif
