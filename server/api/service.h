/*
 * service.h - what the framewright.v1 services share, and their registration.
 *
 * One fw_service holds the server's store connections, blob storage, the
 * watch hub and the configuration the handlers need. fw_service_register
 * puts every implemented method of TemplateService and JobService on an
 * fw_rpc_server. Each handler authenticates the caller's key first and then
 * sees only the caller's team - except OpsService, whose figures belong to
 * no team (ops_service.c). grpc.health.v1.Health is registered apart
 * (health.h).
 */
#ifndef FW_API_SERVICE_H
#define FW_API_SERVICE_H

#include <jansson.h>
#include <stdint.h>

#include "server/api/rpc.h"
#include "server/api/store_pool.h"
#include "server/storage/storage.h"
#include "server/util/error.h"
#include "server/util/histogram.h"

typedef struct fw_watch_hub fw_watch_hub;
typedef struct fw_frame_cache fw_frame_cache;

typedef struct fw_service_config {
    int64_t output_url_ttl_s;     /* how long an output URL stays valid */
    int64_t upload_url_ttl_s;     /* how long a template upload URL stays valid */
    int64_t max_template_bytes;   /* largest template bundle accepted */
    const char *scratch_dir;      /* where uploads are checked before they are stored */
    int64_t max_font_bytes;       /* largest font file accepted; 0: 50 MiB */
    unsigned char secrets_key[32]; /* seals team secrets (server/secrets) */
    long probe_ms;                /* asset URLs are tried at submission for this long each; 0: not */
    int quota_jobs_per_minute;    /* jobs a team may create in any minute; 0: no quota */
    int quota_unfinished_jobs;    /* jobs a team may have queued, pending or rendering; 0: no quota */
    const char *metrics_token;    /* OpsService.GetMetrics needs it as a bearer token; NULL or "": open */
} fw_service_config;

typedef struct fw_service {
    fw_store_pool *stores;
    fw_storage *storage;
    fw_watch_hub *watch;
    fw_histogram *store_latency; /* the statements of `stores`, for GetMetrics; NULL: not measured */
    fw_frame_cache *frames;      /* GetTemplateFrame's pictures (frame_cache.h); NULL: drawn every time */
    fw_service_config config;
} fw_service;

fw_err fw_service_register(fw_rpc_server *server, fw_service *service, fw_error *err);

/* Start measuring the statements of service->stores into a new
 * service->store_latency (the caller frees it with fw_histogram_free after
 * the pool). */
fw_err fw_service_metrics_init(fw_service *service, fw_error *err);

/* ---- shared by the service files ----------------------------------------------------------- */

/* The caller's team from its bearer token, with a store connection the
 * handler gives back with fw_store_pool_put. */
fw_err fw_service_begin(fw_rpc_call *call, fw_service *service, fw_store **store, char team_id[32], fw_error *err);

/* Whether the team may create `count` more jobs now under its quotas: FW_ERR_QUOTA (with the
 * seconds to wait) when not now, FW_ERR_LIMIT when never (more than a quota in one request). */
fw_err fw_service_check_quota(fw_service *svc, fw_store *store, const char *team_id, size_t count, fw_error *err);

/* pageSize within 0..1000 and pageToken empty or one this API gave out. */
fw_err fw_service_check_page(int page_size, const char *page_token, fw_error *err);

/* A job row as the API shows it: a new Framewright__V1__Job (free with
 * protobuf_c_message_free_unpacked). children: ids of its child jobs. */
fw_err fw_service_job_message(const fw_job_row *row, json_t *children, ProtobufCMessage **out, fw_error *err);

/* The same as JSON in the API's form (camelCase), a new reference. */
json_t *fw_service_job_json(const fw_job_row *row, json_t *children);
/* A job row's font report (missing_fonts_json: an array of names, or
 * {"missing": [...], "substitutes": [...]}) as missingFonts and
 * fontSubstitutes of out. */
void fw_service_font_report(const char *missing_fonts_json, json_t *out);

/* A message of type d from API JSON (reference kept by the caller), for
 * building responses; FW_ERR_INTERNAL if our own JSON does not fit. */
fw_err fw_service_message(const ProtobufCMessageDescriptor *d, json_t *json, ProtobufCMessage **out, fw_error *err);

/* An event for watchers: a new Framewright__V1__JobEvent. */
fw_err fw_service_job_event(const fw_job_row *row, ProtobufCMessage **out, fw_error *err);

/* 1 when the status is one a job never leaves. */
int fw_service_status_is_final(const char *status);

/* Check the bundle at path (size bytes) and keep it as row's template's
 * next version (the first stored under row->storage_key; a bad first one
 * sets the row to error with the reason, and FW_ERR_INVALID names the
 * problem; a bad later one leaves the template as it was). Used by
 * UploadTemplate and by HTTP uploads to a template's upload URL. */
fw_err fw_service_template_accept(fw_service *svc, fw_store *store, fw_template_row *row, const char *path,
                                  int64_t size, fw_error *err);

/* A template awaiting its bundle whose bundle is in the bucket (a PUT to
 * the signed URL on S3): checked and kept now; row is read again. Nothing
 * to do for other templates or local storage. */
fw_err fw_service_template_pick_up(fw_service *svc, fw_store *store, fw_template_row *row, fw_error *err);

/* Every ${secret.NAME} a job (its JSON) names in asset sources, upload and
 * webhook must be a secret of the team: FW_ERR_INVALID naming the field
 * otherwise (secret_service.c). */
fw_err fw_service_job_secrets_check(fw_store *store, const char *team_id, json_t *job, fw_error *err);

/* A file came in through a signed upload URL (ctx: the fw_service). A
 * template bundle is checked and the template marked uploaded (or error)
 * as UploadTemplate would; other keys are left alone. */
void fw_service_on_upload(void *ctx, const char *key);

/* The rows one request makes: the job, then its child jobs (nested jobs,
 * a join's clips), depth first, each child after its parent. */
#define FW_PREPARED_TEMPLATES 8

typedef struct fw_prepared {
    fw_job_row *rows;
    size_t count, room;
    /* Read once per call, not once per job of a batch: the team's fonts and
     * the templates its jobs name (the first few). */
    fw_font_row *fonts;
    size_t font_count;
    int fonts_read;
    struct {
        char id[FW_ID_SIZE];
        int asked;       /* the version asked for; 0: the current one */
        int version;     /* the version it is */
        char status[24];
        json_t *details; /* NULL when the template has none */
    } templates[FW_PREPARED_TEMPLATES];
    size_t template_count;
} fw_prepared;

void fw_prepared_clear(fw_prepared *p);

/* Check a JobRequest as CreateJob does - structure, codec, secrets, the
 * template and its layers, each child job the same way - and append its rows
 * to out (the job's first; status pending when it has children). Nothing is
 * appended when it fails; errors name the field ("assets[1].template.id").
 * batch_id (NULL: none) is set on the job and its children. Used by
 * CreateJob and CreateBatch. */
fw_err fw_service_prepare_job(fw_service *svc, fw_store *store, const char *team_id, const ProtobufCMessage *req,
                              const char *batch_id, fw_prepared *out, fw_error *err);

/* The ids of rows[index]'s own children: a new array. */
json_t *fw_prepared_children(const fw_prepared *p, size_t index);

/* A unary answer of type d from API JSON: *resp is the message, freed when
 * the call is done. Takes the reference to json. */
fw_err fw_service_answer(fw_rpc_call *call, const ProtobufCMessageDescriptor *d, json_t *json, ProtobufCMessage **resp,
                         fw_error *err);

/* Free a message once the call is done (for unary responses). */
fw_err fw_service_defer_free(fw_rpc_call *call, ProtobufCMessage *message, fw_error *err);

/* ---- idempotency keys (idempotency.c) ----------------------------------------------------------- */

/* A create call's Idempotency-Key (gRPC metadata "idempotency-key", the
 * REST header of that name): the same key and request again get the first
 * call's answer and write nothing; the same key with another request is
 * INVALID_ARGUMENT. Keys live a day. */
typedef struct fw_service_idem {
    int on;                      /* the call has a key */
    char key[256];
    char method[32];
    char hash[65];
    fw_idempotency row;          /* for the store: points into this struct; response_json owned */
} fw_service_idem;

/* Read the call's key; when it answered before, *replay is that answer (a
 * new reference; the caller answers with it and writes nothing). */
fw_err fw_service_idem_begin(fw_rpc_call *call, fw_store *store, const char *team, const char *method,
                             const ProtobufCMessage *req, fw_service_idem *idem, json_t **replay, fw_error *err);
/* The store's row for the answer about to be given (NULL without a key). */
const fw_idempotency *fw_service_idem_row(fw_service_idem *idem, json_t *answer);
/* After an insert lost the race for the key (rc FW_ERR_ALREADY_EXISTS on
 * "idempotency-key"): the winner's answer into *replay. Other codes pass. */
fw_err fw_service_idem_lost(fw_store *store, const char *team, fw_service_idem *idem, fw_err rc, json_t **replay,
                            fw_error *err);
void fw_service_idem_clear(fw_service_idem *idem);

#endif
