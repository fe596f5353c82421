/*
 * gateway_test.c - the REST gateway as a Nexrender Cloud client sees it.
 *
 * A real `framewright serve` (one worker, fresh data folder, free ports) does
 * the work; the gateway runs in this process in front of its gRPC port, so
 * the sanitizers watch the gateway's code. Every request is plain HTTP with
 * libcurl, shaped like the Nexrender quick start with only the host and the
 * token changed: register a template, PUT the file to uploadInfo.url, submit
 * a job with data assets, poll it to `finished`, fetch outputUrl and probe the
 * MP4. Then the error shapes, Server-Sent Events, keep-alive and 50
 * concurrent requests.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gateway.h"
#include "server/media/probe.h"
#include "tests/fw_http.h"
#include "tests/fw_serve.h"
#include "tests/fw_test.h"

#define SERVER_BIN "server/framewright"
#define HELLO_TEMPLATE "tests/examples/hello/template.json"

static struct {
    fw_test_server srv; /* its gateway is srv.api */
    fw_gateway *gw;
    char base[128]; /* http://127.0.0.1:PORT/api/v2 */
    char template_id[64];
} t;

/* ---- HTTP ---------------------------------------------------------------------------------- */

typedef fw_http_response response;
#define response_clear fw_http_response_clear

/* One request on handle c (NULL: a new one). token NULL sends no
 * Authorization; "" the test server's key. */
static void http_on(CURL *c, const char *method, const char *url, const char *token, const char *type,
                    const void *body, size_t len, response *r)
{
    fw_http_request(c, method, url, token && !*token ? t.srv.key : token, type, body, len, 0, r);
}

static void api(const char *method, const char *path, const char *token, const char *json, response *r)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", t.base, path);
    http_on(NULL, method, url, token, json ? "application/json" : NULL, json, json ? strlen(json) : 0, r);
}

static const char *jstr(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static int json_array_has_string(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

/* A refusal decided from the request line (no route, wrong method) still
 * reads the body first: the client hears the answer, not a broken pipe. */
static void test_a_refused_request_with_a_large_body_gets_its_answer(void)
{
    size_t len = 300 * 1024;
    char *body = malloc(len), url[512];
    response r;

    FW_REQUIRE(body);
    memset(body, 'a', len);
    memcpy(body, "{\"displayName\":\"", 16);
    memcpy(body + len - 2, "\"}", 2);
    snprintf(url, sizeof(url), "%s/templates/%%00", t.base);
    http_on(NULL, "PATCH", url, "", "application/json", body, len, &r);
    FW_CHECK_INT(r.status, 405);
    FW_CHECK(r.json && jstr(r.json, "error"));
    response_clear(&r);
    snprintf(url, sizeof(url), "%s/no/such/route", t.base);
    http_on(NULL, "POST", url, "", "application/json", body, len, &r);
    FW_CHECK_INT(r.status, 404);
    response_clear(&r);
    free(body);
}

/* ---- the quick start ----------------------------------------------------------------------- */

static void test_a_bundle_put_through_the_gateway_is_checked_and_uploaded(void)
{
    response r, put;
    size_t len = 0;
    char *file = read_file(HELLO_TEMPLATE, &len), url[1024];
    char id[64];

    FW_REQUIRE(file);
    api("POST", "/templates", "", "{\"type\": \"json\", \"displayName\": \"through the gateway\"}", &r);
    if (!(r.status == 201 && r.json && jstr(r.json, "id"))) {
        free(file);
        FW_REQUIRE(0);
    }
    snprintf(id, sizeof(id), "%s", jstr(r.json, "id"));
    response_clear(&r);
    snprintf(url, sizeof(url), "%s/templates/%s/upload", t.base, id);
    http_on(NULL, "PUT", url, "", "application/octet-stream", file, len, &put);
    FW_CHECK_INT(put.status, 200);
    FW_CHECK(put.json && jstr(put.json, "status") && strcmp(jstr(put.json, "status"), "uploaded") == 0);
    response_clear(&put);
    /* Not a Lottie document: refused with the reason, and the template says so. */
    api("POST", "/templates", "", "{\"type\": \"json\", \"displayName\": \"not lottie\"}", &r);
    free(file);
    FW_REQUIRE(r.status == 201 && r.json && jstr(r.json, "id"));
    snprintf(id, sizeof(id), "%s", jstr(r.json, "id"));
    response_clear(&r);
    snprintf(url, sizeof(url), "%s/templates/%s/upload", t.base, id);
    http_on(NULL, "PUT", url, "", "application/octet-stream", "{\"hello\": 1}", 12, &put);
    FW_CHECK_INT(put.status, 400);
    FW_CHECK(put.json && jstr(put.json, "error"));
    response_clear(&put);
}

static char job_id[64];

static void test_quickstart_register_upload_render_fetch(void)
{
    response r, put;
    size_t len = 0;
    char *file = read_file(HELLO_TEMPLATE, &len), path[256], url[1024], out[1100];
    const char *s;
    json_t *info;
    fw_media_info probe;
    fw_error err;
    time_t until;

    FW_REQUIRE(file);
    /* Register Your Template (type: Framewright takes json, lottie and zip, not aep) */
    api("POST", "/templates", "", "{\n    \"type\": \"json\",\n    \"displayName\": \"My First Video\"\n  }", &r);
    FW_CHECK_INT(r.status, 201);
    FW_REQUIRE(r.json);
    FW_CHECK_STR(jstr(r.json, "status"), "awaiting_upload");
    FW_CHECK_STR(jstr(r.json, "displayName"), "My First Video");
    info = json_object_get(r.json, "uploadInfo");
    FW_REQUIRE(json_is_object(info));
    FW_CHECK_STR(jstr(info, "method"), "PUT");
    FW_CHECK(json_integer_value(json_object_get(info, "expiresIn")) > 0);
    FW_CHECK(jstr(info, "key") && strlen(jstr(info, "key")) > 0);
    FW_REQUIRE(jstr(r.json, "id") && jstr(info, "url"));
    snprintf(t.template_id, sizeof(t.template_id), "%s", jstr(r.json, "id"));
    snprintf(url, sizeof(url), "%s", jstr(info, "url"));
    response_clear(&r);

    /* Upload the file to the presigned URL, as the quick start does. */
    http_on(NULL, "PUT", url, NULL, "application/octet-stream", file, len, &put);
    FW_CHECK_MSG(put.status >= 200 && put.status < 300, "PUT uploadInfo.url: %ld", put.status);
    response_clear(&put);
    snprintf(path, sizeof(path), "/templates/%s", t.template_id);
    api("GET", path, "", NULL, &r);
    FW_CHECK_INT(r.status, 200);
    /* The PUT to the signed URL is the upload: the template is checked and
     * marked uploaded by it, as the quick start expects. */
    FW_CHECK_INT(r.status, 200);
    FW_REQUIRE(r.json);
    FW_CHECK_STR(jstr(r.json, "status"), "uploaded");
    FW_CHECK(json_array_has_string(json_object_get(r.json, "compositions"), "main"));
    FW_CHECK(json_array_has_string(json_object_get(r.json, "layers"), "title"));
    FW_CHECK(json_array_has_string(json_object_get(r.json, "layers"), "logo"));
    FW_CHECK(json_array_has_string(json_object_get(r.json, "layers"), "bg"));
    FW_CHECK(json_is_null(json_object_get(r.json, "error"))); /* unset wrapper: null */
    response_clear(&r);

    /* The bundle comes back byte for byte, on both spellings. */
    snprintf(path, sizeof(path), "/templates/%s/download", t.template_id);
    api("GET", path, "", NULL, &r);
    FW_CHECK_INT(r.status, 200);
    FW_CHECK(r.body.len == len && memcmp(r.body.data, file, len) == 0);
    response_clear(&r);
    snprintf(path, sizeof(path), "/templates/%s/upload", t.template_id);
    api("GET", path, "", NULL, &r);
    FW_CHECK_INT(r.status, 200);
    FW_CHECK(r.body.len == len && r.body.data && memcmp(r.body.data, file, len) == 0);
    response_clear(&r);
    free(file);

    /* Submit a Render Job (no webhook: nothing may leave this machine). */
    {
        char body[1024];
        snprintf(body, sizeof(body),
                 "{\n  \"template\": {\n    \"id\": \"%s\",\n    \"composition\": \"main\"\n  },\n"
                 "  \"assets\": [\n    {\n      \"type\": \"data\",\n      \"layerName\": \"title\",\n"
                 "      \"property\": \"Source Text\",\n      \"value\": \"Hello World!\"\n    },\n"
                 "    {\n      \"type\": \"data\",\n      \"layerName\": \"logo\",\n"
                 "      \"property\": \"Fill Color\",\n      \"value\": [0.16, 0.68, 0.98]\n    }\n  ],\n"
                 "  \"preview\": false\n}",
                 t.template_id);
        api("POST", "/jobs", "", body, &r);
    }
    FW_CHECK_INT(r.status, 201);
    FW_REQUIRE(r.json && jstr(r.json, "id"));
    snprintf(job_id, sizeof(job_id), "%s", jstr(r.json, "id"));
    FW_CHECK_STR(jstr(r.json, "status"), "queued");
    FW_CHECK_STR(jstr(r.json, "templateId"), t.template_id);
    FW_CHECK(json_object_get(r.json, "outputUrl") != NULL); /* known at creation, or null: present */
    response_clear(&r);

    /* Checking Job Status: poll until it ends. */
    snprintf(path, sizeof(path), "/jobs/%s", job_id);
    until = time(NULL) + 240;
    for (;;) {
        api("GET", path, "", NULL, &r);
        FW_CHECK_INT(r.status, 200);
        s = r.json ? jstr(r.json, "status") : NULL;
        if (!s || strcmp(s, "finished") == 0 || strcmp(s, "error") == 0 || time(NULL) > until)
            break;
        response_clear(&r);
        fw_test_sleep_ms(250);
    }
    FW_CHECK_STR(s, "finished");
    FW_REQUIRE(r.json);
    FW_CHECK_NEAR(json_number_value(json_object_get(r.json, "progress")), 100.0, 0.01);
    FW_CHECK(jstr(json_object_get(r.json, "stats"), "finishedAt") != NULL);
    FW_CHECK(json_number_value(json_object_get(json_object_get(r.json, "stats"), "renderDuration")) > 0);
    FW_REQUIRE(jstr(r.json, "outputUrl"));
    snprintf(url, sizeof(url), "%s", jstr(r.json, "outputUrl"));
    response_clear(&r);

    /* Download the output and probe it. */
    http_on(NULL, "GET", url, NULL, NULL, NULL, 0, &r);
    FW_CHECK_INT(r.status, 200);
    snprintf(out, sizeof(out), "%s/output.mp4", t.srv.dir);
    {
        FILE *f = fopen(out, "wb");
        FW_REQUIRE(f && r.body.data);
        fwrite(r.body.data, 1, r.body.len, f);
        fclose(f);
    }
    response_clear(&r);
    fw_error_clear(&err);
    FW_CHECK_INT(fw_media_probe(out, &probe, &err), FW_OK);
    FW_CHECK_STR(probe.codec, "h264");
    FW_CHECK_INT(probe.width, 1280);
    FW_CHECK_INT(probe.height, 720);
    FW_CHECK_INT(probe.frame_count, 90);
}

static void test_lists_are_arrays_with_paging_filters(void)
{
    response r;
    char path[256];
    const char *token;
    FW_REQUIRE(job_id[0]);
    snprintf(path, sizeof(path), "/jobs?templateId=%s&status=finished&limit=1", t.template_id);
    api("GET", path, "", NULL, &r);
    FW_CHECK_INT(r.status, 200);
    FW_REQUIRE(json_is_array(r.json));
    FW_CHECK_INT(json_array_size(r.json), 1);
    FW_CHECK_STR(jstr(json_array_get(r.json, 0), "status"), "finished");
    response_clear(&r);

    api("GET", "/jobs?status=finished&from_date=2000-01-01T00:00:00Z&to_date=2000-01-02T00:00:00Z", "", NULL, &r);
    FW_CHECK_INT(r.status, 200);
    FW_CHECK(json_is_array(r.json) && json_array_size(r.json) == 0);
    response_clear(&r);

    api("GET", "/jobs?limit=ten", "", NULL, &r);
    FW_CHECK_INT(r.status, 400);
    FW_CHECK_STR(jstr(json_array_get(json_object_get(r.json, "details"), 0), "field"), "limit");
    response_clear(&r);

    api("GET", "/templates?limit=1", "", NULL, &r);
    FW_CHECK_INT(r.status, 200);
    FW_CHECK(json_is_array(r.json) && json_array_size(r.json) == 1);
    token = r.headers.data ? strcasestr(r.headers.data, "X-Next-Page-Token:") : NULL;
    (void)token; /* one template: there may be no next page */
    FW_CHECK_STR(jstr(json_array_get(r.json, 0), "id"), t.template_id);
    response_clear(&r);
}

static void test_error_shapes(void)
{
    response r;
    char body[512], path[256];
    const json_t *d;

    /* A layer that is not there: 400 with details naming the field. */
    snprintf(body, sizeof(body),
             "{\"template\":{\"id\":\"%s\",\"composition\":\"main\"},"
             "\"assets\":[{\"type\":\"data\",\"layerName\":\"titel\",\"property\":\"Source Text\",\"value\":\"x\"}]}",
             t.template_id);
    api("POST", "/jobs", "", body, &r);
    FW_CHECK_INT(r.status, 400);
    FW_REQUIRE(r.json);
    FW_CHECK_CONTAINS(jstr(r.json, "error"), "titel");
    d = json_array_get(json_object_get(r.json, "details"), 0);
    FW_CHECK_STR(jstr(d, "field"), "assets[0].layerName");
    FW_CHECK_CONTAINS(jstr(d, "message"), "title");
    response_clear(&r);

    /* A field of the wrong type, found by the converter before any call. */
    api("POST", "/jobs", "", "{\"assets\":[{\"layerName\":5}]}", &r);
    FW_CHECK_INT(r.status, 400);
    FW_CHECK_STR(jstr(json_array_get(json_object_get(r.json, "details"), 0), "field"), "assets[0].layerName");
    response_clear(&r);

    /* Not JSON: 400 saying where. */
    api("POST", "/jobs", "", "{\"template\": {\"id\": \n", &r);
    FW_CHECK_INT(r.status, 400);
    FW_CHECK_CONTAINS(jstr(r.json, "error"), "line");
    response_clear(&r);

    /* A bad token and no token: 401 {error}. */
    snprintf(path, sizeof(path), "/jobs/%s", job_id);
    api("GET", path, "fw_not-a-key", NULL, &r);
    FW_CHECK_INT(r.status, 401);
    FW_CHECK(r.json && jstr(r.json, "error") && strlen(jstr(r.json, "error")) > 0);
    response_clear(&r);
    api("GET", "/templates", NULL, NULL, &r);
    FW_CHECK_INT(r.status, 401);
    response_clear(&r);

    /* Unknown ids and routes: 404 {error}; a known path, wrong method: 405. */
    api("GET", "/jobs/01NOSUCHJOB0000000000000000", "", NULL, &r);
    FW_CHECK_INT(r.status, 404);
    FW_CHECK(r.json && jstr(r.json, "error"));
    response_clear(&r);
    api("GET", "/templates/01NOSUCHTEMPLATE000000000000", "", NULL, &r);
    FW_CHECK_INT(r.status, 404);
    response_clear(&r);
    api("GET", "/nothing/here", "", NULL, &r);
    FW_CHECK_INT(r.status, 404);
    FW_CHECK_CONTAINS(jstr(r.json, "error"), "/api/v2/nothing/here");
    response_clear(&r);
    api("DELETE", "/jobs", "", NULL, &r);
    FW_CHECK_INT(r.status, 405);
    FW_CHECK(r.headers.data && strcasestr(r.headers.data, "Allow: ") && strstr(r.headers.data, "GET") &&
             strstr(r.headers.data, "POST"));
    response_clear(&r);
}

/* ---- events -------------------------------------------------------------------------------- */

static void submit(const char *extra, char id[64])
{
    response r;
    char body[512];
    snprintf(body, sizeof(body),
             "{\"template\":{\"id\":\"%s\",\"composition\":\"main\"},\"preview\":true%s,"
             "\"assets\":[{\"type\":\"data\",\"layerName\":\"title\",\"property\":\"Source Text\",\"value\":\"SSE\"}]}",
             t.template_id, extra);
    api("POST", "/jobs", "", body, &r);
    FW_CHECK_INT(r.status, 201);
    snprintf(id, 64, "%s", r.json && jstr(r.json, "id") ? jstr(r.json, "id") : "");
    response_clear(&r);
}

static void test_events_stream_in_order_until_finished(void)
{
    response r;
    char id[64], path[256], *line, *save = NULL;
    double last_progress = -1;
    int events = 0, out_of_order = 0, after_end = 0;
    char last_status[64] = "";

    submit("", id);
    FW_REQUIRE(id[0]);
    snprintf(path, sizeof(path), "/jobs/%s/events", id);
    api("GET", path, "", NULL, &r);
    FW_CHECK_INT(r.status, 200);
    FW_CHECK(r.headers.data && strcasestr(r.headers.data, "Content-Type: text/event-stream"));
    FW_REQUIRE(r.body.data);
    for (line = strtok_r(r.body.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *e, *job;
        if (strncmp(line, "data: ", 6) != 0)
            continue;
        e = json_loads(line + 6, 0, NULL);
        job = json_object_get(e, "job");
        FW_CHECK(job != NULL);
        if (job) {
            double p = json_number_value(json_object_get(job, "progress"));
            const char *s = jstr(job, "status");
            FW_CHECK_STR(jstr(job, "id"), id);
            out_of_order += p < last_progress;
            last_progress = p;
            after_end += last_status[0] && strcmp(last_status, "finished") == 0;
            snprintf(last_status, sizeof(last_status), "%s", s ? s : "");
        }
        events++;
        json_decref(e);
    }
    FW_CHECK_MSG(events >= 2, "%d events", events);
    FW_CHECK_INT(out_of_order, 0);
    FW_CHECK_INT(after_end, 0);
    FW_CHECK_STR(last_status, "finished");
    FW_CHECK_NEAR(last_progress, 100.0, 0.01);
    response_clear(&r);

    api("GET", "/jobs/01NOSUCHJOB0000000000000000/events", "", NULL, &r);
    FW_CHECK_INT(r.status, 404);
    response_clear(&r);
}

/* A client that leaves an event stream early: the gateway cancels the
 * watch; the job can still be cancelled through PATCH /jobs/{id}/cancel. */
static void test_events_client_leaves_then_cancel(void)
{
    response r;
    char a[64], b[64], url[512], path[256];
    response got;
    submit("", a);
    submit("", b); /* behind a, on one worker: still queued for a while */
    FW_REQUIRE(b[0]);
    snprintf(url, sizeof(url), "%s/jobs/%s/events", t.base, b);
    /* ends by the timeout, or because b already ended */
    fw_http_request(NULL, "GET", url, t.srv.key, NULL, NULL, 0, 700, &got);
    FW_CHECK(got.body.data && strstr(got.body.data, "data: {"));
    response_clear(&got);

    snprintf(path, sizeof(path), "/jobs/%s/cancel", b);
    api("PATCH", path, "", NULL, &r);
    FW_CHECK_MSG(r.status == 200 || r.status == 409, "cancel: %ld", r.status);
    if (r.status == 200)
        FW_CHECK_STR(jstr(r.json, "status"), "manually_cancelled");
    response_clear(&r);

    snprintf(path, sizeof(path), "{\"ids\":[\"%s\",\"01NOSUCHJOB0000000000000000\"]}", a);
    api("POST", "/jobs/cancel", "", path, &r);
    FW_CHECK_INT(r.status, 200);
    FW_CHECK(json_array_has_string(json_object_get(r.json, "notCancelled"), "01NOSUCHJOB0000000000000000"));
    response_clear(&r);
}

/* ---- connections --------------------------------------------------------------------------- */

static void test_keep_alive_reuses_the_connection(void)
{
    CURL *c = curl_easy_init();
    char url[512];
    long connects = -1, total_new = 0;
    FW_REQUIRE(c);
    snprintf(url, sizeof(url), "%s/jobs/%s", t.base, job_id);
    for (int i = 0; i < 5; i++) {
        response r;
        http_on(c, "GET", url, "", NULL, NULL, 0, &r);
        FW_CHECK_INT(r.status, 200);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
        total_new += connects;
        response_clear(&r);
    }
    FW_CHECK_INT(total_new, 1); /* one connection, five requests */
    curl_easy_cleanup(c);
}

#define CONCURRENT 50

static void *one_client(void *arg)
{
    long *status = arg;
    char url[512];
    response r;
    snprintf(url, sizeof(url), "%s/jobs/%s", t.base, job_id);
    http_on(NULL, "GET", url, "", NULL, NULL, 0, &r);
    *status = r.status == 200 && r.json && strcmp(jstr(r.json, "id") ? jstr(r.json, "id") : "", job_id) == 0
                  ? 200
                  : r.status;
    response_clear(&r);
    return NULL;
}

static void test_fifty_concurrent_requests(void)
{
    pthread_t th[CONCURRENT];
    long status[CONCURRENT];
    int ok = 0;
    for (int i = 0; i < CONCURRENT; i++)
        pthread_create(&th[i], NULL, one_client, &status[i]);
    for (int i = 0; i < CONCURRENT; i++) {
        pthread_join(th[i], NULL);
        ok += status[i] == 200;
    }
    FW_CHECK_INT(ok, CONCURRENT);
}

/* ---- the other services -------------------------------------------------------------------- */

static void test_fonts_secrets_batches_answer_in_shape(void)
{
    response r;
    api("GET", "/fonts", "", NULL, &r);
    FW_CHECK_MSG(r.status == 200 || r.status == 501, "GET /fonts: %ld", r.status);
    if (r.status == 200)
        FW_CHECK(json_is_array(r.json));
    else
        FW_CHECK(r.json && jstr(r.json, "error"));
    response_clear(&r);

    /* A font upload that is not multipart is refused before any call. */
    api("POST", "/fonts", "", "{}", &r);
    FW_CHECK_INT(r.status, 415);
    response_clear(&r);

    api("GET", "/secrets", "", NULL, &r);
    FW_CHECK_MSG(r.status == 200 || r.status == 501, "GET /secrets: %ld", r.status);
    response_clear(&r);

    api("GET", "/batches/01NOSUCHBATCH000000000000000", "", NULL, &r);
    FW_CHECK_MSG(r.status == 404 || r.status == 501, "GET /batches/x: %ld", r.status);
    FW_CHECK(r.json && jstr(r.json, "error"));
    response_clear(&r);
}

/* `framewright serve --api ADDR` runs the same gateway in front of itself. */
static void test_serve_starts_the_gateway_too(void)
{
    response r;
    char url[256];
    FW_REQUIRE(t.srv.api[0]);
    FW_CHECK_CONTAINS(t.srv.api, "/api/v2");
    snprintf(url, sizeof(url), "%s/templates/%s", t.srv.api, t.template_id);
    http_on(NULL, "GET", url, "", NULL, NULL, 0, &r);
    FW_CHECK_INT(r.status, 200);
    FW_CHECK_STR(jstr(r.json, "id"), t.template_id);
    response_clear(&r);
    snprintf(url, sizeof(url), "%s/jobs/%s", t.srv.api, job_id);
    http_on(NULL, "GET", url, "fw_not-a-key", NULL, NULL, 0, &r);
    FW_CHECK_INT(r.status, 401);
    response_clear(&r);
}

/* Rename, then delete: 204 with no body (409 while a job still uses it), then 404. */
static void test_rename_and_delete_template(void)
{
    response r;
    char path[256];
    snprintf(path, sizeof(path), "/templates/%s", t.template_id);
    api("PATCH", path, "", "{\"displayName\": \"Renamed\"}", &r);
    FW_CHECK_INT(r.status, 200);
    FW_CHECK_STR(jstr(r.json, "displayName"), "Renamed");
    FW_CHECK_STR(jstr(r.json, "id"), t.template_id);
    response_clear(&r);
    for (int i = 0; i < 120; i++) {
        api("DELETE", path, "", NULL, &r);
        if (r.status != 409)
            break;
        FW_CHECK(r.json && jstr(r.json, "error"));
        response_clear(&r);
        fw_test_sleep_ms(250);
    }
    FW_CHECK_INT(r.status, 204);
    FW_CHECK_INT((long)r.body.len, 0);
    response_clear(&r);
    api("GET", path, "", NULL, &r);
    FW_CHECK_INT(r.status, 404);
    response_clear(&r);
}

int main(void)
{
    fw_gateway_options opts;
    fw_error err;
    char text[1024];

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fw_test_server_start(&t.srv, SERVER_BIN, 1, 1) != 0) {
        fprintf(stderr, "framewright serve did not start\n");
        fw_test_server_print_log(&t.srv);
        fw_test_server_stop(&t.srv, 30000);
        return 1;
    }
    memset(&opts, 0, sizeof(opts));
    opts.listen = "127.0.0.1:0";
    opts.grpc_address = t.srv.grpc;
    fw_error_clear(&err);
    if (fw_gateway_start(&t.gw, &opts, &err) != FW_OK) {
        fprintf(stderr, "gateway: %s\n", fw_error_text(&err, text, sizeof(text)));
        fw_test_server_stop(&t.srv, 30000);
        return 1;
    }
    snprintf(t.base, sizeof(t.base), "http://127.0.0.1:%d/api/v2", fw_gateway_port(t.gw));

    FW_RUN(test_quickstart_register_upload_render_fetch);
    FW_RUN(test_lists_are_arrays_with_paging_filters);
    FW_RUN(test_a_bundle_put_through_the_gateway_is_checked_and_uploaded);
    FW_RUN(test_error_shapes);
    FW_RUN(test_a_refused_request_with_a_large_body_gets_its_answer);
    FW_RUN(test_events_stream_in_order_until_finished);
    FW_RUN(test_events_client_leaves_then_cancel);
    FW_RUN(test_keep_alive_reuses_the_connection);
    FW_RUN(test_fifty_concurrent_requests);
    FW_RUN(test_fonts_secrets_batches_answer_in_shape);
    FW_RUN(test_serve_starts_the_gateway_too);
    FW_RUN(test_rename_and_delete_template);

    fw_gateway_stop(&t.gw);
    if (fw_test_failed_)
        fw_test_server_print_log(&t.srv);
    fw_test_server_stop(&t.srv, 30000);
    curl_global_cleanup();
    return fw_test_end();
}
