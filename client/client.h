/*
 * client.h - the Framewright client library: typed calls to a Framewright
 * server's TemplateService and JobService over gRPC.
 *
 * A thin, synchronous layer over client/rpc_client.h: each function is one
 * RPC (or, for uploads and watches, one stream) with the framewright.v1
 * messages of proto/template.proto and proto/job.proto. A client holds one
 * channel; it may be shared by threads, a fw_job_watch belongs to one thread.
 *
 * Errors: every call returns an fw_err and fills fw_error with the server's
 * answer mapped back from the gRPC status: code, field ("assets[0].layerName")
 * and message ("no layer 'titel' in composition 'main'; layers: ...").
 *
 * Ownership: every message returned through an out pointer is the caller's,
 * freed with fw_client_message_free(&msg) (or protobuf_c_message_free_unpacked).
 * On failure the out pointer is NULL. Requests and strings passed in stay the
 * caller's.
 */
#ifndef FW_CLIENT_CLIENT_H
#define FW_CLIENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/job.pb-c.h"
#include "proto/template.pb-c.h"
#include "server/util/error.h"

typedef struct fw_client fw_client;
typedef struct fw_job_watch fw_job_watch;

/* The job statuses the server reports (Job.status). */
#define FW_JOB_QUEUED "queued"
#define FW_JOB_PENDING "pending"
#define FW_JOB_RENDERING "render:dorender"
#define FW_JOB_FINISHED "finished"
#define FW_JOB_ERROR "error"
#define FW_JOB_CANCELLED "manually_cancelled"

/* Template uploads are sent in pieces of this size. */
#define FW_CLIENT_CHUNK_SIZE (64 * 1024)

typedef struct fw_client_options {
    const char *address;         /* "host:port"; required */
    const char *key;             /* the API key, sent as "authorization: Bearer KEY" */
    const char *ca_file;         /* PEM roots: TLS; NULL: plaintext */
    const char *tls_server_name; /* the certificate's name, when not the address's host; may be NULL */
    int64_t timeout_ms;          /* deadline of each call; 0: 30 s; < 0: none. Watches have none. */
} fw_client_options;

fw_err fw_client_new(fw_client **out, const fw_client_options *opts, fw_error *err);
void fw_client_free(fw_client **client);

/* Free a message this library returned and set *msg to NULL (NULL is fine). */
#define fw_client_message_free(pmsg) fw_client_message_free_((ProtobufCMessage **)(pmsg))
void fw_client_message_free_(ProtobufCMessage **msg);

/* ---- templates ---------------------------------------------------------------------------- */

/* Create a template and upload the file at path as its bundle (CreateTemplate,
 * then the UploadTemplate stream in FW_CLIENT_CHUNK_SIZE pieces). type is
 * "json", "lottie" or "zip"; NULL guesses it from the file's extension
 * (.lottie, .zip, anything else json). display_name NULL: the file's name.
 * *out is the uploaded Template with its details (compositions, layers). A
 * bundle the server refuses fails with its reason, and the template it
 * created is left in status "error" (GetTemplate shows why). */
fw_err fw_client_upload_template(fw_client *c, const char *path, const char *type, const char *display_name,
                                 Framewright__V1__Template **out, fw_error *err);

/* The same from memory. */
fw_err fw_client_upload_template_data(fw_client *c, const void *data, size_t size, const char *type,
                                      const char *display_name, Framewright__V1__Template **out, fw_error *err);

fw_err fw_client_get_template(fw_client *c, const char *id, Framewright__V1__Template **out, fw_error *err);

/* One page of templates, newest first. page_size 0: the server's default;
 * page_token NULL or "": the first page, else the previous page's
 * next_page_token ("" on the last page). */
fw_err fw_client_list_templates(fw_client *c, int32_t page_size, const char *page_token,
                                Framewright__V1__ListTemplatesResponse **out, fw_error *err);

/* Change a template's display name. out may be NULL. */
fw_err fw_client_rename_template(fw_client *c, const char *id, const char *display_name,
                                 Framewright__V1__Template **out, fw_error *err);

fw_err fw_client_delete_template(fw_client *c, const char *id, fw_error *err);

/* ---- jobs --------------------------------------------------------------------------------- */

/* Submit a job; *out is the new Job (status "queued"). */
fw_err fw_client_submit_job(fw_client *c, const Framewright__V1__JobRequest *req, Framewright__V1__Job **out,
                            fw_error *err);

/* Submit a job written as Nexrender job JSON (the proto3 JSON form of
 * JobRequest) of len bytes. A field the JobRequest does not have is refused
 * with its JSON path, before anything is sent. */
fw_err fw_client_submit_job_json(fw_client *c, const char *json, size_t len, Framewright__V1__Job **out,
                                 fw_error *err);

/* Submit the job file at path. When its template.src names a local file (a
 * path relative to the job file's folder, or file://), that file is uploaded
 * first (fw_client_upload_template) and the job refers to it by id; the
 * server itself only takes http(s) URLs there. *template_id, when not NULL,
 * receives the id of a template uploaded so (malloc'd, or NULL if none).
 * When the server refuses the job, the template uploaded for it is deleted. */
fw_err fw_client_submit_job_file(fw_client *c, const char *path, Framewright__V1__Job **out, char **template_id,
                                 fw_error *err);

fw_err fw_client_get_job(fw_client *c, const char *id, Framewright__V1__Job **out, fw_error *err);

/* ListJobs filters; zero / NULL fields do not filter. */
typedef struct fw_job_filter {
    const char *status;      /* one status, e.g. FW_JOB_FINISHED */
    const char *template_id;
    const char *batch_id;
    int64_t created_after_ms;  /* Unix time in milliseconds */
    int64_t created_before_ms;
    int32_t page_size;       /* 1..1000; 0: the server's default (100) */
    const char *page_token;  /* the previous page's next_page_token */
} fw_job_filter;

/* One page of jobs. filter may be NULL. */
fw_err fw_client_list_jobs(fw_client *c, const fw_job_filter *filter, Framewright__V1__ListJobsResponse **out,
                           fw_error *err);

/* Cancel one job; *out (out may be NULL) is the job as cancelled. A job that
 * has already ended is FW_ERR_FAILED_PRECONDITION on "id". */
fw_err fw_client_cancel_job(fw_client *c, const char *id, Framewright__V1__Job **out, fw_error *err);

/* Cancel several jobs at once (CancelJobs): *out lists the cancelled jobs
 * and the ids that were not (already ended or unknown). */
fw_err fw_client_cancel_jobs(fw_client *c, const char *const *ids, size_t count,
                             Framewright__V1__CancelJobsResponse **out, fw_error *err);

/* ---- watching a job ----------------------------------------------------------------------- */

/* 1 for finished, error and manually_cancelled: statuses a job never leaves. */
int fw_client_status_is_final(const char *status);

/* What a job's final state means as an fw_err: FW_OK for finished;
 * FW_ERR_CANCELLED (field "status") for manually_cancelled;
 * FW_ERR_FAILED_PRECONDITION for error, with the job's error text split into
 * field and message; FW_ERR_UNAVAILABLE (field "status") for a status that is
 * not final. */
fw_err fw_client_job_outcome(const Framewright__V1__Job *job, fw_error *err);

/* Iterator: open a WatchJob stream, then take events until *event is NULL.
 * fw_job_watch_next returns FW_OK with an event; at the end of the stream
 * *event is NULL and the code is the job's outcome (fw_client_job_outcome of
 * the last event's job: FW_OK when it finished), or FW_ERR_UNAVAILABLE when
 * the stream ended before the job did; a failed stream returns the server's
 * error. Each event is the caller's (fw_client_message_free). */
fw_err fw_client_watch_open(fw_client *c, const char *job_id, fw_job_watch **out, fw_error *err);
fw_err fw_job_watch_next(fw_job_watch *w, Framewright__V1__JobEvent **event, fw_error *err);

/* The job of the last event read (NULL before the first); the watch's. */
const Framewright__V1__Job *fw_job_watch_last(const fw_job_watch *w);

/* Close the stream (cancelling it if still open) and set *w to NULL. */
void fw_job_watch_free(fw_job_watch **w);

/* Callback: called once per event, in order; return non-zero to stop
 * watching (the call then returns FW_ERR_CANCELLED on field "watch"). */
typedef int (*fw_job_event_fn)(const Framewright__V1__JobEvent *event, void *ctx);

/* Watch a job until its stream ends, calling fn for each event. Returns what
 * fw_job_watch_next returns at the end: FW_OK when the job finished. *last
 * (last may be NULL) receives the job of the last event, the caller's. */
fw_err fw_client_watch_job(fw_client *c, const char *job_id, fw_job_event_fn fn, void *ctx,
                           Framewright__V1__Job **last, fw_error *err);

#endif
