/*
 * client_test.c - the client library and framewright-client against a real
 * server: `framewright serve` is started on free ports with a fresh data
 * folder and one worker, templates are uploaded, jobs rendered, watched,
 * refused and cancelled, and the rendered MP4 is fetched over HTTP and
 * probed with FFmpeg.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "proto/json/pbjson.h"
#include "server/media/probe.h"
#include "tests/fw_serve.h"
#include "tests/fw_test.h"

#define SERVER_BIN "server/framewright"
#define CLIENT_BIN "client/framewright-client"
#define HELLO_TEMPLATE "tests/examples/hello/template.json"
#define HELLO_JOB "tests/examples/hello/job.json"

/* The one server every test talks to. */
static fw_test_server server;

static fw_client *connect_with(const char *key)
{
    fw_client_options opts = {.address = server.grpc, .key = key, .timeout_ms = 60000};
    fw_client *c = NULL;
    fw_error err;
    if (fw_client_new(&c, &opts, &err))
        fprintf(stderr, "  fw_client_new: %s\n", err.message);
    return c;
}

static int has_string(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The hello job rendered from an uploaded template: job.json without
 * template.src, with template.id. */
static Framewright__V1__JobRequest *hello_request(const char *template_id, const char *layer)
{
    char text[1024];
    ProtobufCMessage *msg = NULL;
    fw_error err;
    snprintf(text, sizeof(text),
             "{\"template\": {\"id\": \"%s\", \"composition\": \"main\"},"
             " \"assets\": ["
             "  {\"type\": \"text\", \"layerName\": \"%s\", \"value\": \"Hello from the client\"},"
             "  {\"type\": \"data\", \"layerName\": \"logo\", \"property\": \"Fill Color\","
             "   \"value\": [0.16, 0.68, 0.98]}"
             " ],"
             " \"settings\": {\"type\": \"video\", \"quality\": \"full\", \"codec\": \"video_h264_vbr_5mbps\"}}",
             template_id, layer);
    if (fw_pbjson_parse(&framewright__v1__job_request__descriptor, text, strlen(text), 0, &msg, &err))
        fprintf(stderr, "  hello_request: %s: %s\n", err.field, err.message);
    return (Framewright__V1__JobRequest *)msg;
}

/* The hello template, uploaded once and shared by the tests. */
static char hello_id[64];

/* ---- templates ----------------------------------------------------------------------------- */

static void test_upload_template_shows_its_compositions_and_layers(void)
{
    Framewright__V1__Template *t = NULL, *again = NULL;
    fw_client *c = connect_with(server.key);
    fw_error err;

    FW_REQUIRE(c);
    FW_CHECK_INT(fw_client_upload_template(c, HELLO_TEMPLATE, NULL, "hello", &t, &err), FW_OK);
    FW_REQUIRE(t);
    snprintf(hello_id, sizeof(hello_id), "%s", t->id);
    FW_CHECK_STR(t->status, "uploaded");
    FW_CHECK_STR(t->type, "json");
    FW_CHECK_STR(t->display_name, "hello");
    FW_CHECK_INT(t->size, file_size(HELLO_TEMPLATE));
    FW_CHECK(has_string(t->compositions, t->n_compositions, "main"));
    FW_CHECK_INT(t->n_layers, 3);
    FW_CHECK(has_string(t->layers, t->n_layers, "title"));
    FW_CHECK(has_string(t->layers, t->n_layers, "logo"));
    FW_CHECK(has_string(t->layers, t->n_layers, "bg"));
    FW_REQUIRE(t->details && t->details->n_compositions == 1);
    FW_CHECK_INT(t->details->compositions[0]->width, 1280);
    FW_CHECK_INT(t->details->compositions[0]->height, 720);
    FW_CHECK_INT(t->details->compositions[0]->frames, 90);

    /* GetTemplate shows the same template. */
    FW_CHECK_INT(fw_client_get_template(c, t->id, &again, &err), FW_OK);
    if (again) {
        FW_CHECK_STR(again->id, t->id);
        FW_CHECK_STR(again->status, "uploaded");
        FW_CHECK_INT(again->n_layers, 3);
    }
    fw_client_message_free(&again);
    fw_client_message_free(&t);
    FW_CHECK(t == NULL);
    fw_client_free(&c);
    FW_CHECK(c == NULL);
}

static void test_upload_larger_than_one_chunk_is_reassembled(void)
{
    /* The hello template padded with spaces to three and a half chunks: the
     * server must see every byte in order to parse it and count its size. */
    fw_client *c = connect_with(server.key);
    Framewright__V1__Template *t = NULL;
    size_t len = 0, padded = FW_CLIENT_CHUNK_SIZE * 3 + FW_CLIENT_CHUNK_SIZE / 2;
    char *text = NULL;
    FILE *f = fopen(HELLO_TEMPLATE, "rb");
    fw_error err;

    FW_REQUIRE(c && f);
    text = malloc(padded);
    FW_REQUIRE(text);
    len = fread(text, 1, padded, f);
    fclose(f);
    FW_REQUIRE(len > 0 && len < padded);
    memset(text + len, ' ', padded - len);
    FW_CHECK_INT(fw_client_upload_template_data(c, text, padded, "json", "padded", &t, &err), FW_OK);
    if (t) {
        FW_CHECK_STR(t->status, "uploaded");
        FW_CHECK_INT(t->size, padded);
        FW_CHECK(has_string(t->layers, t->n_layers, "title"));
        FW_CHECK_INT(fw_client_delete_template(c, t->id, &err), FW_OK);
    }
    fw_client_message_free(&t);
    free(text);
    fw_client_free(&c);
}

static void test_bad_bundle_is_refused_with_the_reason(void)
{
    fw_client *c = connect_with(server.key);
    Framewright__V1__Template *t = NULL;
    static const char not_lottie[] = "{\"hello\": \"this is JSON, not a Lottie document\"}";
    fw_error err;
    FW_REQUIRE(c);
    FW_CHECK_INT(fw_client_upload_template_data(c, not_lottie, sizeof(not_lottie) - 1, "json", "broken", &t, &err),
                 FW_ERR_INVALID);
    FW_CHECK(t == NULL);
    FW_CHECK(err.message[0] != '\0');
    fw_client_free(&c);
}

static void test_rename_list_and_delete_templates(void)
{
    fw_client *c = connect_with(server.key);
    Framewright__V1__Template *t = NULL, *renamed = NULL, *gone = NULL;
    Framewright__V1__ListTemplatesResponse *page = NULL;
    fw_error err;
    int found = 0;

    FW_REQUIRE(c);
    FW_REQUIRE(fw_client_upload_template(c, HELLO_TEMPLATE, NULL, NULL, &t, &err) == FW_OK);
    FW_CHECK_STR(t->display_name, "template.json"); /* the file's name by default */
    FW_CHECK_INT(fw_client_rename_template(c, t->id, "renamed", &renamed, &err), FW_OK);
    if (renamed)
        FW_CHECK_STR(renamed->display_name, "renamed");
    FW_CHECK_INT(fw_client_list_templates(c, 0, NULL, &page, &err), FW_OK);
    for (size_t i = 0; page && i < page->n_templates; i++)
        if (strcmp(page->templates[i]->id, t->id) == 0) {
            found = 1;
            FW_CHECK_STR(page->templates[i]->display_name, "renamed");
        }
    FW_CHECK(found);
    FW_CHECK_INT(fw_client_rename_template(c, t->id, "", NULL, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "displayName");
    FW_CHECK_INT(fw_client_delete_template(c, t->id, &err), FW_OK);
    FW_CHECK_INT(fw_client_get_template(c, t->id, &gone, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_STR(err.field, "id");
    FW_CHECK(gone == NULL);
    fw_client_message_free(&page);
    fw_client_message_free(&renamed);
    fw_client_message_free(&t);
    fw_client_free(&c);
}

/* ---- jobs ---------------------------------------------------------------------------------- */

typedef struct event_log {
    int count;
    int out_of_order;
    double last_progress;
    int last_rank;
    char last_status[32];
    char stages[256];
} event_log;

static int status_rank(const char *s)
{
    if (strcmp(s, FW_JOB_QUEUED) == 0 || strcmp(s, FW_JOB_PENDING) == 0)
        return 0;
    if (strcmp(s, FW_JOB_RENDERING) == 0)
        return 1;
    return 2;
}

static int record_event(const Framewright__V1__JobEvent *ev, void *ctx)
{
    event_log *log = ctx;
    int rank;
    if (!ev->job)
        return 1;
    rank = status_rank(ev->job->status);
    if (ev->job->progress < log->last_progress || rank < log->last_rank || log->last_rank == 2)
        log->out_of_order++;
    log->last_progress = ev->job->progress;
    log->last_rank = rank;
    snprintf(log->last_status, sizeof(log->last_status), "%s", ev->job->status);
    if (ev->stage && *ev->stage && strlen(log->stages) + strlen(ev->stage) + 2 < sizeof(log->stages)) {
        strcat(log->stages, ev->stage);
        strcat(log->stages, " ");
    }
    log->count++;
    return 0;
}

static size_t write_to_file(char *data, size_t size, size_t n, void *f)
{
    return fwrite(data, size, n, f);
}

/* GET url into path; the HTTP status, or -1. */
static long fetch(const char *url, const char *path)
{
    CURL *curl = curl_easy_init();
    FILE *f = fopen(path, "wb");
    long status = -1;
    if (curl && f) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_to_file);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
        if (curl_easy_perform(curl) == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    if (f)
        fclose(f);
    if (curl)
        curl_easy_cleanup(curl);
    return status;
}

static void test_submit_watch_to_finished_and_fetch_the_mp4(void)
{
    fw_client *c = connect_with(server.key);
    Framewright__V1__JobRequest *req = NULL;
    Framewright__V1__Job *job = NULL, *last = NULL, *got = NULL;
    event_log log;
    fw_media_info info;
    char path[1100];
    fw_error err;

    FW_REQUIRE(c && hello_id[0]);
    FW_REQUIRE((req = hello_request(hello_id, "title")) != NULL);
    FW_CHECK_INT(fw_client_submit_job(c, req, &job, &err), FW_OK);
    fw_client_message_free(&req);
    FW_REQUIRE(job);
    FW_CHECK_STR(job->status, FW_JOB_QUEUED);
    FW_CHECK(job->template_id && strcmp(job->template_id->value, hello_id) == 0);

    memset(&log, 0, sizeof(log));
    if (fw_client_watch_job(c, job->id, record_event, &log, &last, &err) != FW_OK)
        FW_CHECK_MSG(0, "watch: %s: %s", err.field, err.message);
    FW_CHECK_MSG(log.count >= 2, "%d events", log.count);
    FW_CHECK_INT(log.out_of_order, 0);
    FW_CHECK_STR(log.last_status, FW_JOB_FINISHED);
    FW_CHECK_NEAR(log.last_progress, 100.0, 0.01);
    FW_CHECK_CONTAINS(log.stages, "render");
    FW_REQUIRE(last);
    FW_CHECK_STR(last->id, job->id);
    FW_REQUIRE(last->output_url && last->output_url->value);

    /* GetJob agrees with the last event. */
    FW_CHECK_INT(fw_client_get_job(c, job->id, &got, &err), FW_OK);
    if (got) {
        FW_CHECK_STR(got->status, FW_JOB_FINISHED);
        FW_CHECK(got->stats && got->stats->finished_at);
    }

    /* The output is an H.264 MP4 of the template's size and length. */
    snprintf(path, sizeof(path), "%s/output.mp4", server.dir);
    FW_CHECK_INT(fetch(last->output_url->value, path), 200);
    FW_CHECK_INT(fw_media_probe(path, &info, &err), FW_OK);
    FW_CHECK_STR(info.codec, "h264");
    FW_CHECK_CONTAINS(info.container, "mov");
    FW_CHECK_INT(info.width, 1280);
    FW_CHECK_INT(info.height, 720);
    FW_CHECK_INT(info.frame_count, 90);

    fw_client_message_free(&got);
    fw_client_message_free(&last);
    fw_client_message_free(&job);
    fw_client_free(&c);
}

static void test_watch_iterator_reports_the_outcome_at_the_end(void)
{
    /* The finished job of the test before: the stream sends its last state
     * and ends, the iterator's last call says it finished. */
    fw_client *c = connect_with(server.key);
    Framewright__V1__ListJobsResponse *page = NULL;
    Framewright__V1__JobEvent *ev = NULL;
    fw_job_filter filter = {.status = FW_JOB_FINISHED, .page_size = 1};
    fw_job_watch *w = NULL;
    fw_error err;
    int events = 0;
    fw_err rc;

    FW_REQUIRE(c);
    FW_REQUIRE(fw_client_list_jobs(c, &filter, &page, &err) == FW_OK && page->n_jobs == 1);
    FW_REQUIRE(fw_client_watch_open(c, page->jobs[0]->id, &w, &err) == FW_OK);
    while ((rc = fw_job_watch_next(w, &ev, &err)) == FW_OK && ev) {
        events++;
        FW_CHECK_STR(ev->job->status, FW_JOB_FINISHED);
        fw_client_message_free(&ev);
    }
    FW_CHECK_INT(rc, FW_OK);
    FW_CHECK_INT(events, 1);
    FW_CHECK(fw_job_watch_last(w) && strcmp(fw_job_watch_last(w)->id, page->jobs[0]->id) == 0);
    fw_job_watch_free(&w);
    FW_CHECK(w == NULL);
    /* An unknown job: the refusal comes with the stream's status, when
     * opening it or at the first read. */
    rc = fw_client_watch_open(c, "no-such-job", &w, &err);
    if (rc == FW_OK)
        rc = fw_job_watch_next(w, &ev, &err);
    FW_CHECK_INT(rc, FW_ERR_NOT_FOUND);
    FW_CHECK(ev == NULL);
    FW_CHECK_STR(err.field, "id");
    fw_job_watch_free(&w);
    fw_client_message_free(&page);
    fw_client_free(&c);
}

static void test_list_jobs_filters_and_pages(void)
{
    fw_client *c = connect_with(server.key);
    Framewright__V1__ListJobsResponse *page = NULL, *next = NULL, *none = NULL;
    Framewright__V1__Job *a = NULL, *b = NULL;
    Framewright__V1__JobRequest *req = hello_request(hello_id, "title");
    fw_job_filter filter;
    fw_error err;

    FW_REQUIRE(c && req);
    /* Two more jobs, cancelled together at once so they cost no render;
     * an unknown id is reported as not cancelled. */
    FW_REQUIRE(fw_client_submit_job(c, req, &a, &err) == FW_OK);
    FW_REQUIRE(fw_client_submit_job(c, req, &b, &err) == FW_OK);
    {
        const char *ids[] = {a->id, b->id, "no-such-job"};
        Framewright__V1__CancelJobsResponse *cancelled = NULL;
        FW_CHECK_INT(fw_client_cancel_jobs(c, ids, 3, &cancelled, &err), FW_OK);
        if (cancelled) {
            FW_CHECK_INT(cancelled->n_cancelled, 2);
            FW_CHECK_INT(cancelled->n_not_cancelled, 1);
            if (cancelled->n_not_cancelled == 1)
                FW_CHECK_STR(cancelled->not_cancelled[0], "no-such-job");
        }
        fw_client_message_free(&cancelled);
    }

    /* Exactly these two are the template's cancelled jobs: one per page. */
    memset(&filter, 0, sizeof(filter));
    filter.template_id = hello_id;
    filter.status = FW_JOB_CANCELLED;
    filter.page_size = 1;
    FW_CHECK_INT(fw_client_list_jobs(c, &filter, &page, &err), FW_OK);
    FW_REQUIRE(page && page->n_jobs == 1);
    FW_REQUIRE(page->next_page_token && *page->next_page_token);
    filter.page_token = page->next_page_token;
    FW_CHECK_INT(fw_client_list_jobs(c, &filter, &next, &err), FW_OK);
    FW_REQUIRE(next && next->n_jobs == 1);
    FW_CHECK(strcmp(page->jobs[0]->id, next->jobs[0]->id) != 0);
    FW_CHECK(strcmp(page->jobs[0]->id, a->id) == 0 || strcmp(page->jobs[0]->id, b->id) == 0);
    FW_CHECK(strcmp(next->jobs[0]->id, a->id) == 0 || strcmp(next->jobs[0]->id, b->id) == 0);
    FW_CHECK_STR(next->jobs[0]->status, FW_JOB_CANCELLED);

    memset(&filter, 0, sizeof(filter));
    filter.status = "no-such-status";
    FW_CHECK_INT(fw_client_list_jobs(c, &filter, &none, &err), FW_OK);
    if (none)
        FW_CHECK_INT(none->n_jobs, 0);
    filter.status = NULL;
    filter.page_size = 5000;
    fw_client_message_free(&none);
    FW_CHECK_INT(fw_client_list_jobs(c, &filter, &none, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "pageSize");

    fw_client_message_free(&none);
    fw_client_message_free(&next);
    fw_client_message_free(&page);
    fw_client_message_free(&a);
    fw_client_message_free(&b);
    fw_client_message_free(&req);
    fw_client_free(&c);
}

static void test_bad_layer_name_is_refused_with_the_field(void)
{
    fw_client *c = connect_with(server.key);
    Framewright__V1__JobRequest *req = hello_request(hello_id, "titel");
    Framewright__V1__Job *job = NULL;
    static const char unknown_field[] =
        "{\"template\": {\"id\": \"x\"}, \"assets\": [{\"type\": \"text\", \"layerNam\": \"t\"}]}";
    fw_error err;

    FW_REQUIRE(c && req);
    FW_CHECK_INT(fw_client_submit_job(c, req, &job, &err), FW_ERR_INVALID);
    FW_CHECK(job == NULL);
    FW_CHECK_STR(err.field, "assets[0].layerName");
    FW_CHECK_CONTAINS(err.message, "no layer 'titel'");
    FW_CHECK_CONTAINS(err.message, "title");

    /* Job JSON with a field JobRequest does not have: refused before sending. */
    FW_CHECK_INT(fw_client_submit_job_json(c, unknown_field, strlen(unknown_field), &job, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.field, "assets[0]");
    FW_CHECK(job == NULL);
    fw_client_message_free(&req);
    fw_client_free(&c);
}

static void test_cancelled_job_ends_its_stream_cancelled(void)
{
    fw_client *c = connect_with(server.key);
    Framewright__V1__JobRequest *req = hello_request(hello_id, "title");
    Framewright__V1__Job *first = NULL, *second = NULL, *cancelled = NULL;
    Framewright__V1__JobEvent *ev = NULL;
    fw_job_watch *w = NULL;
    char last_status[32] = "";
    fw_error err;
    int events = 0;
    fw_err rc;

    FW_REQUIRE(c && req);
    /* One worker: the second job waits behind the first. */
    FW_REQUIRE(fw_client_submit_job(c, req, &first, &err) == FW_OK);
    FW_REQUIRE(fw_client_submit_job(c, req, &second, &err) == FW_OK);
    FW_REQUIRE(fw_client_watch_open(c, second->id, &w, &err) == FW_OK);
    FW_CHECK_INT(fw_client_cancel_job(c, second->id, &cancelled, &err), FW_OK);
    if (cancelled)
        FW_CHECK_STR(cancelled->status, FW_JOB_CANCELLED);
    while ((rc = fw_job_watch_next(w, &ev, &err)) == FW_OK && ev) {
        events++;
        snprintf(last_status, sizeof(last_status), "%s", ev->job->status);
        fw_client_message_free(&ev);
    }
    FW_CHECK_INT(rc, FW_ERR_CANCELLED);
    FW_CHECK_STR(err.field, "status");
    FW_CHECK(events >= 1);
    FW_CHECK_STR(last_status, FW_JOB_CANCELLED);
    fw_job_watch_free(&w);

    /* Cancelling it again: it has already ended. */
    FW_CHECK_INT(fw_client_cancel_job(c, second->id, NULL, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_STR(err.field, "id");

    /* The first, queued or rendering by now: the callback watch ends with
     * the outcome too (or it finished before the cancel reached it). */
    rc = fw_client_cancel_job(c, first->id, NULL, &err);
    FW_CHECK(rc == FW_OK || rc == FW_ERR_FAILED_PRECONDITION);
    rc = fw_client_watch_job(c, first->id, NULL, NULL, NULL, &err);
    FW_CHECK(rc == FW_ERR_CANCELLED || rc == FW_OK);

    fw_client_message_free(&cancelled);
    fw_client_message_free(&first);
    fw_client_message_free(&second);
    fw_client_message_free(&req);
    fw_client_free(&c);
}

static void test_unknown_key_is_unauthenticated(void)
{
    fw_client *c = connect_with("fw_not-a-key-of-this-server");
    Framewright__V1__ListTemplatesResponse *page = NULL;
    Framewright__V1__JobEvent *ev = NULL;
    fw_job_watch *w = NULL;
    fw_error err;
    fw_err rc;
    FW_REQUIRE(c);
    FW_CHECK_INT(fw_client_list_templates(c, 0, NULL, &page, &err), FW_ERR_UNAUTHENTICATED);
    FW_CHECK(page == NULL);
    FW_CHECK(err.message[0] != '\0');
    rc = fw_client_watch_open(c, "anything", &w, &err);
    if (rc == FW_OK)
        rc = fw_job_watch_next(w, &ev, &err);
    FW_CHECK_INT(rc, FW_ERR_UNAUTHENTICATED);
    FW_CHECK(ev == NULL);
    fw_job_watch_free(&w);
    fw_client_free(&c);

    c = connect_with(NULL);
    FW_REQUIRE(c);
    FW_CHECK_INT(fw_client_list_templates(c, 0, NULL, &page, &err), FW_ERR_UNAUTHENTICATED);
    fw_client_free(&c);
}

static void test_client_needs_an_address(void)
{
    fw_client_options opts = {.address = ""};
    fw_client *c = NULL;
    fw_error err;
    FW_CHECK_INT(fw_client_new(&c, &opts, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "address");
    FW_CHECK(c == NULL);
}

/* ---- the command line ---------------------------------------------------------------------- */

/* Run the CLI with the server's address and key in its environment; its
 * stdout into out, its exit status returned. */
static int run_cli(const char *args, char *out, size_t size)
{
    char cmd[2048];
    size_t n = 0;
    FILE *p;
    int status;
    snprintf(cmd, sizeof(cmd), "FRAMEWRIGHT_SERVER=%s FRAMEWRIGHT_KEY=%s %s %s", server.grpc, server.key,
             CLIENT_BIN, args);
    out[0] = '\0';
    if (!(p = popen(cmd, "r")))
        return -1;
    for (;;) {
        char line[1024];
        if (!fgets(line, sizeof(line), p))
            break;
        /* Read everything, keep what fits: a closed pipe would kill the CLI. */
        if (n + strlen(line) + 1 < size) {
            memcpy(out + n, line, strlen(line) + 1);
            n += strlen(line);
        }
    }
    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *last_line(char *text)
{
    size_t n = strlen(text);
    while (n && text[n - 1] == '\n')
        text[--n] = '\0';
    return strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text;
}

static void test_cli_upload_template_prints_the_id_last(void)
{
    char out[65536], args[256];
    Framewright__V1__Template *t = NULL;
    fw_client *c = connect_with(server.key);
    fw_error err;
    const char *id;

    FW_REQUIRE(c);
    FW_CHECK_INT(run_cli("upload-template " HELLO_TEMPLATE " --name from-cli", out, sizeof(out)), 0);
    id = last_line(out);
    FW_CHECK_INT(strlen(id), 26);
    FW_CHECK_INT(fw_client_get_template(c, id, &t, &err), FW_OK);
    if (t) {
        FW_CHECK_STR(t->display_name, "from-cli");
        FW_CHECK_STR(t->status, "uploaded");
    }
    /* template ID shows its layers; --json the message. */
    snprintf(args, sizeof(args), "template %s", id);
    FW_CHECK_INT(run_cli(args, out, sizeof(out)), 0);
    FW_CHECK_CONTAINS(out, "title");
    FW_CHECK_CONTAINS(out, "1280x720");
    FW_CHECK_INT(run_cli("templates --json", out, sizeof(out)), 0);
    FW_CHECK_CONTAINS(out, "\"displayName\": \"from-cli\"");
    fw_client_message_free(&t);
    fw_client_free(&c);
}

static void test_cli_submit_watch_exits_0_with_the_output_url(void)
{
    char out[8192], args[256], *first_newline;
    FW_CHECK_INT(run_cli("submit " HELLO_JOB " --watch 2>/dev/null", out, sizeof(out)), 0);
    /* The job id, then one line per event, then the output URL. */
    FW_CHECK_CONTAINS(out, "queued 0%");
    FW_CHECK_CONTAINS(out, "finished 100% ");
    FW_CHECK_CONTAINS(last_line(out), ".mp4");
    FW_CHECK_CONTAINS(last_line(out), "http://");
    first_newline = strchr(out, '\n');
    FW_REQUIRE(first_newline);
    *first_newline = '\0';
    FW_CHECK_INT(strlen(out), 26);
    snprintf(args, sizeof(args), "get %s", out);
    FW_CHECK_INT(run_cli(args, out, sizeof(out)), 0);
    FW_CHECK_CONTAINS(out, "status:       finished");
}

static void test_cli_errors_and_exit_codes(void)
{
    char out[4096], job[1200], args[1400];
    FILE *f;

    /* The server's refusal, field first, on stderr; exit 1. */
    snprintf(job, sizeof(job), "%s/bad-layer.json", server.dir);
    FW_REQUIRE((f = fopen(job, "w")) != NULL);
    fprintf(f, "{\"template\": {\"id\": \"%s\"}, \"assets\": [{\"type\": \"text\", \"layerName\": \"titel\", "
               "\"value\": \"x\"}]}",
            hello_id);
    fclose(f);
    snprintf(args, sizeof(args), "submit %s 2>&1", job);
    FW_CHECK_INT(run_cli(args, out, sizeof(out)), 1);
    FW_CHECK_CONTAINS(out, "framewright-client: assets[0].layerName: no layer 'titel'");
    FW_CHECK_INT(run_cli("get no-such-job 2>&1", out, sizeof(out)), 1);
    FW_CHECK_CONTAINS(out, "framewright-client: id: no job 'no-such-job'");
    FW_CHECK_INT(run_cli("--key wrong templates 2>&1", out, sizeof(out)), 1);
    /* Usage errors: exit 2. */
    FW_CHECK_INT(run_cli("frobnicate 2>&1", out, sizeof(out)), 2);
    FW_CHECK_CONTAINS(out, "unknown command 'frobnicate'");
    FW_CHECK_INT(run_cli("list --limit many 2>&1", out, sizeof(out)), 2);
    FW_CHECK_INT(run_cli("get 2>&1", out, sizeof(out)), 2);
    FW_CHECK_INT(run_cli("--server '' list 2>&1", out, sizeof(out)), 2);
    FW_CHECK_INT(run_cli("list --status finished", out, sizeof(out)), 0);
    FW_CHECK_CONTAINS(out, "finished");

    /* Watching a cancelled job: its last state, then exit 1. */
    FW_CHECK_INT(run_cli("list --status manually_cancelled --limit 1", out, sizeof(out)), 0);
    FW_REQUIRE(strlen(out) > 26);
    out[26] = '\0';
    snprintf(args, sizeof(args), "watch %s 2>&1", out);
    FW_CHECK_INT(run_cli(args, out, sizeof(out)), 1);
    FW_CHECK_CONTAINS(out, "manually_cancelled");
    FW_CHECK_CONTAINS(out, "framewright-client: status: job ");
    FW_CHECK_CONTAINS(out, " was cancelled");
    FW_CHECK_INT(run_cli("--help", out, sizeof(out)), 0);
    FW_CHECK_CONTAINS(out, "upload-template FILE");
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fw_test_server_start(&server, SERVER_BIN, 1, 0) != 0) {
        fprintf(stderr, "cannot start %s\n", SERVER_BIN);
        fw_test_server_print_log(&server);
        fw_test_server_stop(&server, 15000);
        FW_CHECK(0);
        return 1;
    }
    FW_RUN(test_client_needs_an_address);
    FW_RUN(test_upload_template_shows_its_compositions_and_layers);
    FW_RUN(test_upload_larger_than_one_chunk_is_reassembled);
    FW_RUN(test_bad_bundle_is_refused_with_the_reason);
    FW_RUN(test_rename_list_and_delete_templates);
    FW_RUN(test_submit_watch_to_finished_and_fetch_the_mp4);
    FW_RUN(test_watch_iterator_reports_the_outcome_at_the_end);
    FW_RUN(test_list_jobs_filters_and_pages);
    FW_RUN(test_bad_layer_name_is_refused_with_the_field);
    FW_RUN(test_cancelled_job_ends_its_stream_cancelled);
    FW_RUN(test_unknown_key_is_unauthenticated);
    FW_RUN(test_cli_upload_template_prints_the_id_last);
    FW_RUN(test_cli_submit_watch_exits_0_with_the_output_url);
    FW_RUN(test_cli_errors_and_exit_codes);
    if (fw_test_failed_)
        fw_test_server_print_log(&server);
    fw_test_server_stop(&server, 15000);
    curl_global_cleanup();
    return fw_test_end();
}
