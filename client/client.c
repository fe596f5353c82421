/*
 * client.c - typed TemplateService and JobService calls (see client.h).
 *
 * Each call builds its request on the stack (protobuf-c messages can point at
 * the caller's strings, nothing is copied) and hands it to rpc_client. Only
 * uploads and watches keep state beyond one function.
 */
#include "client/client.h"

#include <errno.h>
#include <grpc/status.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/rpc_client.h"
#include "proto/json/pbjson.h"
#include "server/api/rpc_status.h"

#define DEFAULT_TIMEOUT_MS 30000

#define TEMPLATE_SERVICE "/framewright.v1.TemplateService/"
#define JOB_SERVICE "/framewright.v1.JobService/"

struct fw_client {
    fw_rpc_client *rpc;
};

struct fw_job_watch {
    fw_rpc_reader *reader;
    Framewright__V1__Job *last; /* a copy of the last event's job */
    int ended;
};

fw_err fw_client_new(fw_client **out, const fw_client_options *opts, fw_error *err)
{
    fw_rpc_client_options ro;
    fw_client *c;
    fw_err rc;

    *out = NULL;
    if (!opts)
        return fw_error_set(err, FW_ERR_INVALID, "address", "a server address such as localhost:50051 is required");
    c = calloc(1, sizeof(*c));
    if (!c)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    memset(&ro, 0, sizeof(ro));
    ro.address = opts->address;
    ro.ca_file = opts->ca_file;
    ro.tls_server_name = opts->tls_server_name;
    ro.token = opts->key;
    ro.timeout_ms = opts->timeout_ms == 0 ? DEFAULT_TIMEOUT_MS : opts->timeout_ms < 0 ? 0 : opts->timeout_ms;
    if ((rc = fw_rpc_client_new(&c->rpc, &ro, err))) {
        free(c);
        return rc;
    }
    *out = c;
    return FW_OK;
}

void fw_client_free(fw_client **pc)
{
    if (!pc || !*pc)
        return;
    fw_rpc_client_free(&(*pc)->rpc);
    free(*pc);
    *pc = NULL;
}

void fw_client_message_free_(ProtobufCMessage **msg)
{
    if (msg && *msg) {
        protobuf_c_message_free_unpacked(*msg, NULL);
        *msg = NULL;
    }
}

/* One unary call; resp_out may be NULL when the answer is not wanted. */
static fw_err unary(fw_client *c, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, void *resp_out, fw_error *err)
{
    ProtobufCMessage *resp = NULL;
    fw_err rc = fw_rpc_client_unary(c->rpc, method, req, resp_desc, NULL, &resp, err);
    if (resp_out)
        *(ProtobufCMessage **)resp_out = resp;
    else
        fw_client_message_free(&resp);
    return rc;
}

static fw_err require_id(const char *id, const char *field, fw_error *err)
{
    if (!id || !*id)
        return fw_error_set(err, FW_ERR_INVALID, field, "is required");
    return FW_OK;
}

/* ---- templates ---------------------------------------------------------------------------- */

static const char *file_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static const char *type_from_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && strcmp(dot, ".lottie") == 0)
        return "lottie";
    if (dot && strcmp(dot, ".zip") == 0)
        return "zip";
    return "json";
}

/* The UploadTemplate stream for template id: the first message names it, each
 * carries up to FW_CLIENT_CHUNK_SIZE bytes, read by `more`. */
typedef size_t (*read_fn)(void *ctx, uint8_t *buf, size_t size, int *failed);

static fw_err upload_stream(fw_client *c, const char *id, read_fn more, void *ctx,
                            Framewright__V1__Template **out, fw_error *err)
{
    fw_rpc_writer *w = NULL;
    uint8_t *buf = malloc(FW_CLIENT_CHUNK_SIZE);
    ProtobufCMessage *resp = NULL;
    int first = 1, failed = 0;
    fw_err rc;

    if (!buf)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    rc = fw_rpc_client_write_open(c->rpc, TEMPLATE_SERVICE "UploadTemplate", &framewright__v1__template__descriptor,
                                  NULL, &w, err);
    while (rc == FW_OK) {
        Framewright__V1__TemplateChunk chunk = FRAMEWRIGHT__V1__TEMPLATE_CHUNK__INIT;
        size_t n = more(ctx, buf, FW_CLIENT_CHUNK_SIZE, &failed);
        if (failed) {
            rc = fw_error_set(err, FW_ERR_IO, "path", "cannot read the template: %s", strerror(errno));
            break;
        }
        if (n == 0 && !first)
            break;
        chunk.id = first ? (char *)id : (char *)"";
        chunk.data.data = buf;
        chunk.data.len = n;
        rc = fw_rpc_writer_send(w, &chunk.base, err);
        first = 0;
        if (n == 0)
            break;
    }
    if (rc == FW_OK)
        rc = fw_rpc_writer_finish(w, &resp, err);
    fw_rpc_writer_free(&w);
    free(buf);
    *out = (Framewright__V1__Template *)resp;
    return rc;
}

static fw_err upload(fw_client *c, const char *type, const char *display_name, read_fn more, void *ctx,
                     Framewright__V1__Template **out, fw_error *err)
{
    Framewright__V1__CreateTemplateRequest req = FRAMEWRIGHT__V1__CREATE_TEMPLATE_REQUEST__INIT;
    Framewright__V1__Template *created = NULL;
    fw_err rc;

    *out = NULL;
    req.type = (char *)type;
    req.display_name = (char *)display_name;
    if ((rc = unary(c, TEMPLATE_SERVICE "CreateTemplate", &req.base, &framewright__v1__template__descriptor,
                    &created, err)))
        return rc;
    rc = upload_stream(c, created->id, more, ctx, out, err);
    if (rc != FW_OK && rc != FW_ERR_INVALID && rc != FW_ERR_LIMIT) {
        /* The bundle never reached the server whole: no template awaiting an
         * upload is left behind. (A refused bundle's template stays, in
         * status "error", saying why.) */
        fw_error ignored;
        fw_client_delete_template(c, created->id, &ignored);
    }
    fw_client_message_free(&created);
    return rc;
}

static size_t read_file_piece(void *ctx, uint8_t *buf, size_t size, int *failed)
{
    FILE *f = ctx;
    size_t n = fread(buf, 1, size, f);
    if (n < size && ferror(f))
        *failed = 1;
    return n;
}

fw_err fw_client_upload_template(fw_client *c, const char *path, const char *type, const char *display_name,
                                 Framewright__V1__Template **out, fw_error *err)
{
    FILE *f;
    fw_err rc;

    *out = NULL;
    if (!path || !*path)
        return fw_error_set(err, FW_ERR_INVALID, "path", "a template file is required");
    if (!(f = fopen(path, "rb")))
        return fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, "path", "cannot open %s: %s",
                            path, strerror(errno));
    rc = upload(c, type ? type : type_from_name(file_name(path)),
                display_name && *display_name ? display_name : file_name(path), read_file_piece, f, out, err);
    fclose(f);
    return rc;
}

typedef struct memory_source {
    const uint8_t *data;
    size_t size, at;
} memory_source;

static size_t read_memory_piece(void *ctx, uint8_t *buf, size_t size, int *failed)
{
    memory_source *m = ctx;
    size_t n = m->size - m->at < size ? m->size - m->at : size;
    (void)failed;
    if (n)
        memcpy(buf, m->data + m->at, n);
    m->at += n;
    return n;
}

fw_err fw_client_upload_template_data(fw_client *c, const void *data, size_t size, const char *type,
                                      const char *display_name, Framewright__V1__Template **out, fw_error *err)
{
    memory_source m = {data, size, 0};
    *out = NULL;
    if (!display_name || !*display_name)
        return fw_error_set(err, FW_ERR_INVALID, "displayName", "is required");
    return upload(c, type ? type : "json", display_name, read_memory_piece, &m, out, err);
}

fw_err fw_client_get_template(fw_client *c, const char *id, Framewright__V1__Template **out, fw_error *err)
{
    Framewright__V1__GetTemplateRequest req = FRAMEWRIGHT__V1__GET_TEMPLATE_REQUEST__INIT;
    *out = NULL;
    if (require_id(id, "id", err))
        return err->code;
    req.id = (char *)id;
    return unary(c, TEMPLATE_SERVICE "GetTemplate", &req.base, &framewright__v1__template__descriptor, out, err);
}

fw_err fw_client_list_templates(fw_client *c, int32_t page_size, const char *page_token,
                                Framewright__V1__ListTemplatesResponse **out, fw_error *err)
{
    Framewright__V1__ListTemplatesRequest req = FRAMEWRIGHT__V1__LIST_TEMPLATES_REQUEST__INIT;
    req.page_size = page_size;
    req.page_token = (char *)(page_token ? page_token : "");
    return unary(c, TEMPLATE_SERVICE "ListTemplates", &req.base, &framewright__v1__list_templates_response__descriptor,
                 out, err);
}

fw_err fw_client_rename_template(fw_client *c, const char *id, const char *display_name,
                                 Framewright__V1__Template **out, fw_error *err)
{
    Framewright__V1__UpdateTemplateRequest req = FRAMEWRIGHT__V1__UPDATE_TEMPLATE_REQUEST__INIT;
    if (out)
        *out = NULL;
    if (require_id(id, "id", err))
        return err->code;
    req.id = (char *)id;
    req.display_name = (char *)(display_name ? display_name : "");
    return unary(c, TEMPLATE_SERVICE "UpdateTemplate", &req.base, &framewright__v1__template__descriptor, out, err);
}

fw_err fw_client_delete_template(fw_client *c, const char *id, fw_error *err)
{
    Framewright__V1__DeleteTemplateRequest req = FRAMEWRIGHT__V1__DELETE_TEMPLATE_REQUEST__INIT;
    if (require_id(id, "id", err))
        return err->code;
    req.id = (char *)id;
    return unary(c, TEMPLATE_SERVICE "DeleteTemplate", &req.base,
                 &framewright__v1__delete_template_response__descriptor, NULL, err);
}

/* ---- jobs --------------------------------------------------------------------------------- */

fw_err fw_client_submit_job(fw_client *c, const Framewright__V1__JobRequest *req, Framewright__V1__Job **out,
                            fw_error *err)
{
    *out = NULL;
    return unary(c, JOB_SERVICE "CreateJob", &req->base, &framewright__v1__job__descriptor, out, err);
}

fw_err fw_client_submit_job_json(fw_client *c, const char *json, size_t len, Framewright__V1__Job **out,
                                 fw_error *err)
{
    ProtobufCMessage *req = NULL;
    fw_err rc;
    *out = NULL;
    if ((rc = fw_pbjson_parse(&framewright__v1__job_request__descriptor, json, len, 0, &req, err)))
        return rc;
    rc = fw_client_submit_job(c, (Framewright__V1__JobRequest *)req, out, err);
    fw_pbjson_message_free(&req);
    return rc;
}

static char *read_whole_file(const char *path, size_t *len, fw_error *err)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t cap = 0, n = 0;

    if (!f) {
        fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, "path", "cannot open %s: %s", path,
                     strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t got;
        if (cap - n < 4096) {
            char *grown = cap > FW_PBJSON_MAX_TEXT ? NULL : realloc(text, cap ? cap * 2 : 16384);
            if (!grown) {
                fw_error_set(err, cap > FW_PBJSON_MAX_TEXT ? FW_ERR_LIMIT : FW_ERR_NOMEM, "path",
                             "%s is too large for a job file", path);
                goto fail;
            }
            text = grown;
            cap = cap ? cap * 2 : 16384;
        }
        got = fread(text + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fw_error_set(err, FW_ERR_IO, "path", "cannot read %s", path);
        goto fail;
    }
    fclose(f);
    text[n] = '\0';
    *len = n;
    return text;
fail:
    fclose(f);
    free(text);
    return NULL;
}

/* A template.src the client uploads itself: not a URL of the server's kinds. */
static const char *local_template_path(const char *src)
{
    if (!src || !*src)
        return NULL;
    if (strncmp(src, "file://", 7) == 0)
        return src + 7;
    if (strstr(src, "://") || strncmp(src, "data:", 5) == 0)
        return NULL;
    return src;
}

/* Set a string field of a message made by the unpacker: unset strings point
 * at protobuf-c's shared empty string, which is not to be freed. */
static void replace_string(char **field, const char *value)
{
    if (*field != protobuf_c_empty_string)
        free(*field);
    *field = strdup(value);
}

fw_err fw_client_submit_job_file(fw_client *c, const char *path, Framewright__V1__Job **out, char **template_id,
                                 fw_error *err)
{
    Framewright__V1__JobRequest *req = NULL;
    Framewright__V1__Template *tpl = NULL;
    const char *local;
    size_t len = 0;
    char *text;
    fw_err rc;

    *out = NULL;
    if (template_id)
        *template_id = NULL;
    if (!(text = read_whole_file(path, &len, err)))
        return err->code;
    rc = fw_pbjson_parse(&framewright__v1__job_request__descriptor, text, len, 0, (ProtobufCMessage **)&req, err);
    free(text);
    if (rc)
        return rc;

    local = req->template_ && (!req->template_->id || !*req->template_->id) ? local_template_path(req->template_->src)
                                                                          : NULL;
    if (local) {
        /* Relative to the job file, as Nexrender reads it. */
        const char *slash = strrchr(path, '/');
        char *full = NULL;
        if (local[0] != '/' && slash) {
            size_t dir = (size_t)(slash - path) + 1;
            if ((full = malloc(dir + strlen(local) + 1))) {
                memcpy(full, path, dir);
                strcpy(full + dir, local);
            }
        } else {
            full = strdup(local);
        }
        if (!full)
            rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
        else if ((rc = fw_client_upload_template(c, full, NULL, NULL, &tpl, err))) {
            char text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4];
            fw_error_text(err, text, sizeof(text));
            fw_error_set(err, rc, "template.src", "%s: %s", full, text);
        }
        free(full);
        if (rc == FW_OK) {
            /* The id replaces src; both strings belong to the message now. */
            replace_string(&req->template_->src, "");
            replace_string(&req->template_->id, tpl->id);
            if (!req->template_->src || !req->template_->id)
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
        }
    }
    if (rc == FW_OK)
        rc = fw_client_submit_job(c, req, out, err);
    if (rc != FW_OK && tpl) {
        /* A refused job leaves no template of its own behind. */
        fw_error ignored;
        fw_client_delete_template(c, tpl->id, &ignored);
    }
    if (rc == FW_OK && tpl && template_id)
        *template_id = strdup(tpl->id);
    fw_client_message_free(&tpl);
    fw_client_message_free(&req);
    return rc;
}

fw_err fw_client_get_job(fw_client *c, const char *id, Framewright__V1__Job **out, fw_error *err)
{
    Framewright__V1__GetJobRequest req = FRAMEWRIGHT__V1__GET_JOB_REQUEST__INIT;
    *out = NULL;
    if (require_id(id, "id", err))
        return err->code;
    req.id = (char *)id;
    return unary(c, JOB_SERVICE "GetJob", &req.base, &framewright__v1__job__descriptor, out, err);
}

static void set_timestamp(Google__Protobuf__Timestamp *t, int64_t ms)
{
    google__protobuf__timestamp__init(t);
    t->seconds = ms / 1000;
    t->nanos = (int32_t)(ms % 1000) * 1000000;
    if (t->nanos < 0) {
        t->seconds--;
        t->nanos += 1000000000;
    }
}

fw_err fw_client_list_jobs(fw_client *c, const fw_job_filter *filter, Framewright__V1__ListJobsResponse **out,
                           fw_error *err)
{
    Framewright__V1__ListJobsRequest req = FRAMEWRIGHT__V1__LIST_JOBS_REQUEST__INIT;
    Google__Protobuf__Timestamp after, before;

    *out = NULL;
    if (filter) {
        req.status = (char *)(filter->status ? filter->status : "");
        req.template_id = (char *)(filter->template_id ? filter->template_id : "");
        req.batch_id = (char *)(filter->batch_id ? filter->batch_id : "");
        req.page_size = filter->page_size;
        req.page_token = (char *)(filter->page_token ? filter->page_token : "");
        if (filter->created_after_ms) {
            set_timestamp(&after, filter->created_after_ms);
            req.created_after = &after;
        }
        if (filter->created_before_ms) {
            set_timestamp(&before, filter->created_before_ms);
            req.created_before = &before;
        }
    }
    return unary(c, JOB_SERVICE "ListJobs", &req.base, &framewright__v1__list_jobs_response__descriptor, out, err);
}

fw_err fw_client_cancel_job(fw_client *c, const char *id, Framewright__V1__Job **out, fw_error *err)
{
    Framewright__V1__CancelJobRequest req = FRAMEWRIGHT__V1__CANCEL_JOB_REQUEST__INIT;
    if (out)
        *out = NULL;
    if (require_id(id, "id", err))
        return err->code;
    req.id = (char *)id;
    return unary(c, JOB_SERVICE "CancelJob", &req.base, &framewright__v1__job__descriptor, out, err);
}

fw_err fw_client_cancel_jobs(fw_client *c, const char *const *ids, size_t count,
                             Framewright__V1__CancelJobsResponse **out, fw_error *err)
{
    Framewright__V1__CancelJobsRequest req = FRAMEWRIGHT__V1__CANCEL_JOBS_REQUEST__INIT;
    *out = NULL;
    for (size_t i = 0; i < count; i++)
        if (!ids[i] || !*ids[i])
            return fw_error_set(err, FW_ERR_INVALID, "ids", "id number %zu is empty", i + 1);
    req.n_ids = count;
    req.ids = (char **)ids;
    return unary(c, JOB_SERVICE "CancelJobs", &req.base, &framewright__v1__cancel_jobs_response__descriptor, out,
                 err);
}

/* ---- watching a job ----------------------------------------------------------------------- */

int fw_client_status_is_final(const char *status)
{
    return status && (strcmp(status, FW_JOB_FINISHED) == 0 || strcmp(status, FW_JOB_ERROR) == 0 ||
                      strcmp(status, FW_JOB_CANCELLED) == 0);
}

fw_err fw_client_job_outcome(const Framewright__V1__Job *job, fw_error *err)
{
    const char *status = job && job->status ? job->status : "";
    if (strcmp(status, FW_JOB_FINISHED) == 0)
        return FW_OK;
    if (strcmp(status, FW_JOB_CANCELLED) == 0)
        return fw_error_set(err, FW_ERR_CANCELLED, "status", "job %s was cancelled", job->id);
    if (strcmp(status, FW_JOB_ERROR) == 0) {
        const char *why = job->stats && job->stats->error && job->stats->error->value ? job->stats->error->value : "";
        if (!*why)
            return fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "status", "job %s failed", job->id);
        /* The job's error is "field: message" as the server wrote it. */
        return fw_rpc_status_to_error(err, GRPC_STATUS_FAILED_PRECONDITION, why);
    }
    return fw_error_set(err, FW_ERR_UNAVAILABLE, "status", "the job is still %s", *status ? status : "unknown");
}

fw_err fw_client_watch_open(fw_client *c, const char *job_id, fw_job_watch **out, fw_error *err)
{
    Framewright__V1__WatchJobRequest req = FRAMEWRIGHT__V1__WATCH_JOB_REQUEST__INIT;
    /* A render takes as long as it takes: no deadline on the stream. */
    fw_rpc_call_options copts = {.timeout_ms = -1};
    fw_job_watch *w;
    fw_err rc;

    *out = NULL;
    if (require_id(job_id, "id", err))
        return err->code;
    if (!(w = calloc(1, sizeof(*w))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    req.id = (char *)job_id;
    if ((rc = fw_rpc_client_read_open(c->rpc, JOB_SERVICE "WatchJob", &req.base,
                                      &framewright__v1__job_event__descriptor, &copts, &w->reader, err))) {
        free(w);
        return rc;
    }
    *out = w;
    return FW_OK;
}

/* Keep a copy of the event's job: the caller may free the event. */
static fw_err remember(fw_job_watch *w, const Framewright__V1__JobEvent *ev, fw_error *err)
{
    size_t n;
    uint8_t *buf;
    if (!ev->job)
        return FW_OK;
    n = protobuf_c_message_get_packed_size(&ev->job->base);
    if (!(buf = malloc(n ? n : 1)))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    protobuf_c_message_pack(&ev->job->base, buf);
    fw_client_message_free(&w->last);
    w->last = framewright__v1__job__unpack(NULL, n, buf);
    free(buf);
    return w->last ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
}

fw_err fw_job_watch_next(fw_job_watch *w, Framewright__V1__JobEvent **event, fw_error *err)
{
    ProtobufCMessage *msg = NULL;
    fw_err rc;

    *event = NULL;
    if (w->ended)
        return w->last ? fw_client_job_outcome(w->last, err)
                       : fw_error_set(err, FW_ERR_UNAVAILABLE, "watch", "the stream has ended");
    if ((rc = fw_rpc_reader_next(w->reader, &msg, err))) {
        w->ended = 1;
        return rc;
    }
    if (!msg) {
        w->ended = 1;
        if (!w->last || !fw_client_status_is_final(w->last->status))
            return fw_error_set(err, FW_ERR_UNAVAILABLE, "watch",
                                "the stream ended before the job did (last status: %s)",
                                w->last ? w->last->status : "none");
        return fw_client_job_outcome(w->last, err);
    }
    if ((rc = remember(w, (Framewright__V1__JobEvent *)msg, err))) {
        fw_client_message_free(&msg);
        return rc;
    }
    *event = (Framewright__V1__JobEvent *)msg;
    return FW_OK;
}

const Framewright__V1__Job *fw_job_watch_last(const fw_job_watch *w)
{
    return w ? w->last : NULL;
}

void fw_job_watch_free(fw_job_watch **pw)
{
    fw_job_watch *w = pw ? *pw : NULL;
    if (!w)
        return;
    fw_rpc_reader_free(&w->reader);
    fw_client_message_free(&w->last);
    free(w);
    *pw = NULL;
}

fw_err fw_client_watch_job(fw_client *c, const char *job_id, fw_job_event_fn fn, void *ctx,
                           Framewright__V1__Job **last, fw_error *err)
{
    fw_job_watch *w = NULL;
    fw_err rc;

    if (last)
        *last = NULL;
    if ((rc = fw_client_watch_open(c, job_id, &w, err)))
        return rc;
    for (;;) {
        Framewright__V1__JobEvent *ev = NULL;
        int stop;
        if ((rc = fw_job_watch_next(w, &ev, err)) || !ev)
            break;
        stop = fn ? fn(ev, ctx) : 0;
        fw_client_message_free(&ev);
        if (stop) {
            rc = fw_error_set(err, FW_ERR_CANCELLED, "watch", "the watch was stopped by its caller");
            break;
        }
    }
    if (last) {
        *last = w->last;
        w->last = NULL;
    }
    fw_job_watch_free(&w);
    return rc;
}
