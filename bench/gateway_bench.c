/*
 * gateway_bench.c - what the REST gateway costs: POST /api/v2/jobs and
 * GET /api/v2/jobs/{id} through `framewright serve --api` against the same
 * calls (CreateJob, GetJob) made directly over gRPC, from many client threads
 * at once.
 *
 * The bench starts `framewright serve --workers 0` itself (jobs stay queued,
 * the machine's cores go to the API), uploads a template, then runs four
 * phases one after the other, each with C threads sending back to back: a
 * thread has its own gRPC channel, or its own libcurl handle whose keep-alive
 * connection is reused for every request. It prints a markdown table of
 * throughput and latency percentiles, and the gateway's overhead as ratios
 * (REST over gRPC).
 *
 *   gateway_bench --framewright PATH --template FILE [--clients 50] [--requests 4000]
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_server.h"
#include "client/rpc_client.h"
#include "proto/job.pb-c.h"
#include "proto/template.pb-c.h"
#include "server/util/fs.h"

#define JOB_ID_MAX 64

static fw_bench_server srv;
static char auth_header[256];
static const char *template_id;

static void fail(const char *what, const char *why)
{
    fprintf(stderr, "gateway_bench: %s: %s\n", what, why);
    exit(1);
}

static void fail_err(const char *what, const fw_error *err)
{
    char why[600];
    snprintf(why, sizeof(why), "%s%s%s", err->field, err->field[0] ? ": " : "", err->message);
    fail(what, why);
}

static fw_rpc_client *connect_client(void)
{
    fw_rpc_client *c = NULL;
    fw_error err;
    if (fw_bench_connect(&srv, 30000, &c, &err))
        fail_err("connect", &err);
    return c;
}

/* ---- one client thread ----------------------------------------------------------------------- */

typedef enum mode { GRPC_CREATE, REST_CREATE, GRPC_GET, REST_GET, N_MODES } mode;

static const char *const mode_name[N_MODES] = {"CreateJob (gRPC)", "POST /jobs (REST)", "GetJob (gRPC)",
                                               "GET /jobs/{id} (REST)"};

typedef struct client {
    pthread_t thread;
    mode m;
    int requests;
    double *latencies;
    char job_id[JOB_ID_MAX]; /* a job this thread created, for the GET phases */
    char failure[300];
} client;

typedef struct body {
    char *data;
    size_t len, cap;
} body;

static size_t collect(char *ptr, size_t size, size_t n, void *userdata)
{
    body *b = userdata;
    size_t k = size * n;
    if (b->len + k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        char *bigger;
        while (b->len + k + 1 > cap)
            cap *= 2;
        if (!(bigger = realloc(b->data, cap)))
            return 0;
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, k);
    b->len += k;
    b->data[b->len] = '\0';
    return k;
}

/* The job id in a REST answer ({"id":"..."...}), without a JSON parser in the loop. */
static void id_of(const char *json, char out[JOB_ID_MAX])
{
    const char *at = json ? strstr(json, "\"id\":\"") : NULL;
    out[0] = '\0';
    if (at)
        snprintf(out, JOB_ID_MAX, "%.*s", (int)strcspn(at + 6, "\""), at + 6);
}

static void run_rest(client *cl)
{
    CURL *h = curl_easy_init();
    struct curl_slist *headers = NULL;
    char url[512], json[512];
    body b = {0};

    if (!h) {
        snprintf(cl->failure, sizeof(cl->failure), "curl_easy_init");
        return;
    }
    headers = curl_slist_append(headers, auth_header);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    snprintf(json, sizeof(json),
             "{\"template\":{\"id\":\"%s\",\"composition\":\"main\"},"
             "\"assets\":[{\"type\":\"text\",\"layerName\":\"title\",\"value\":\"Benchmark\"}]}",
             template_id);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    if (cl->m == REST_CREATE) {
        snprintf(url, sizeof(url), "%s/jobs", srv.rest);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    } else {
        snprintf(url, sizeof(url), "%s/jobs/%s", srv.rest, cl->job_id);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    for (int i = 0; i < cl->requests; i++) {
        long status = 0;
        double t = fw_bench_now();
        CURLcode rc;
        b.len = 0;
        rc = curl_easy_perform(h);
        cl->latencies[i] = fw_bench_now() - t;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != (cl->m == REST_CREATE ? 201 : 200)) {
            snprintf(cl->failure, sizeof(cl->failure), "%s: %s, HTTP %ld: %.200s", mode_name[cl->m],
                     curl_easy_strerror(rc), status, b.data ? b.data : "");
            break;
        }
        if (i == 0 && cl->m == REST_CREATE)
            id_of(b.data, cl->job_id);
    }
    free(b.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
}

static void run_grpc(client *cl)
{
    fw_rpc_client *c = connect_client();
    Framewright__V1__JobTemplate tpl = FRAMEWRIGHT__V1__JOB_TEMPLATE__INIT;
    Framewright__V1__JobRequest req = FRAMEWRIGHT__V1__JOB_REQUEST__INIT;
    Framewright__V1__GetJobRequest get = FRAMEWRIGHT__V1__GET_JOB_REQUEST__INIT;
    Framewright__V1__Asset asset = FRAMEWRIGHT__V1__ASSET__INIT, *assets[1] = {&asset};
    Google__Protobuf__Value value = GOOGLE__PROTOBUF__VALUE__INIT;
    const ProtobufCMessage *msg = cl->m == GRPC_CREATE ? &req.base : &get.base;
    const char *method = cl->m == GRPC_CREATE ? "/framewright.v1.JobService/CreateJob"
                                              : "/framewright.v1.JobService/GetJob";
    fw_error err;

    tpl.id = (char *)template_id;
    tpl.composition = "main";
    req.template_ = &tpl;
    asset.type = "text";
    asset.layer_name = "title";
    value.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
    value.string_value = "Benchmark";
    asset.value = &value;
    req.n_assets = 1;
    req.assets = assets;
    get.id = cl->job_id;
    for (int i = 0; i < cl->requests; i++) {
        Framewright__V1__Job *job = NULL;
        double t = fw_bench_now();
        if (fw_rpc_client_unary(c, method, msg, &framewright__v1__job__descriptor, NULL, (ProtobufCMessage **)&job,
                                &err)) {
            snprintf(cl->failure, sizeof(cl->failure), "%s: %s: %s", mode_name[cl->m], err.field, err.message);
            break;
        }
        cl->latencies[i] = fw_bench_now() - t;
        if (i == 0 && cl->m == GRPC_CREATE)
            snprintf(cl->job_id, sizeof(cl->job_id), "%s", job->id);
        protobuf_c_message_free_unpacked(&job->base, NULL);
    }
    fw_rpc_client_free(&c);
}

static void *client_main(void *arg)
{
    client *cl = arg;
    if (cl->m == REST_CREATE || cl->m == REST_GET)
        run_rest(cl);
    else
        run_grpc(cl);
    return NULL;
}

/* ---- figures --------------------------------------------------------------------------------- */

typedef struct figures {
    double rps, p50, p90, p99; /* requests a second; latencies in ms */
} figures;

/* One phase: clients threads, requests in all. A create phase leaves each
 * thread's first job id in ids (when given); a GET phase reads them there. */
static figures run_phase(mode m, int clients, int requests, client *ids)
{
    client *cl = calloc((size_t)clients, sizeof(*cl));
    int per = requests / clients;
    double *all = malloc(sizeof(double) * (size_t)per * (size_t)clients), t0, took;
    figures f;
    size_t n = 0;

    if (!cl || !all || per < 1)
        fail("bench", "out of memory or too few requests");
    for (int i = 0; i < clients; i++) {
        cl[i].m = m;
        cl[i].requests = per;
        cl[i].latencies = all + (size_t)i * (size_t)per;
        if (ids && (m == GRPC_GET || m == REST_GET))
            snprintf(cl[i].job_id, sizeof(cl[i].job_id), "%s", ids[i].job_id);
    }
    t0 = fw_bench_now();
    for (int i = 0; i < clients; i++)
        if (pthread_create(&cl[i].thread, NULL, client_main, &cl[i]) != 0)
            fail("bench", "pthread_create failed");
    for (int i = 0; i < clients; i++)
        pthread_join(cl[i].thread, NULL);
    took = fw_bench_now() - t0;
    for (int i = 0; i < clients; i++)
        if (cl[i].failure[0])
            fail("request", cl[i].failure);
    n = (size_t)per * (size_t)clients;
    fw_bench_sort(all, n);
    f.rps = (double)n / took;
    f.p50 = fw_bench_percentile(all, n, 0.50) * 1e3;
    f.p90 = fw_bench_percentile(all, n, 0.90) * 1e3;
    f.p99 = fw_bench_percentile(all, n, 0.99) * 1e3;
    free(all);
    if (ids && (m == GRPC_CREATE || m == REST_CREATE))
        for (int i = 0; i < clients; i++)
            snprintf(ids[i].job_id, sizeof(ids[i].job_id), "%s", cl[i].job_id);
    free(cl);
    return f;
}

int main(int argc, char **argv)
{
    const char *binary = NULL, *template_file = "tests/examples/hello/template.json";
    int clients = 50, requests = 4000, clean;
    client *ids;
    figures f[N_MODES];
    fw_rpc_client *c;
    fw_error err;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--framewright") == 0 && i + 1 < argc)
            binary = argv[++i];
        else if (strcmp(argv[i], "--template") == 0 && i + 1 < argc)
            template_file = argv[++i];
        else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
            clients = atoi(argv[++i]);
        else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
            requests = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: gateway_bench --framewright PATH [--template FILE] [--clients N] [--requests N]\n");
            return 2;
        }
    }
    if (!binary || clients < 1 || clients > 4096 || requests < clients) {
        fprintf(stderr, "gateway_bench: --framewright is required; 1 <= clients <= 4096, requests >= clients\n");
        return 2;
    }
    if (fw_bench_server_start(&srv, binary, NULL, 1) != 0)
        fail("serve", "did not start (or printed no gRPC address, REST API or key)");
    snprintf(auth_header, sizeof(auth_header), "Authorization: Bearer %s", srv.key);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = connect_client();
    if (!(template_id = fw_bench_upload_template(c, template_file, "gateway bench", &err)))
        fail_err("upload", &err);
    fw_rpc_client_free(&c);

    /* Each create phase's first jobs feed its GET phase (one job a thread). */
    ids = calloc((size_t)clients, sizeof(*ids));
    if (!ids)
        fail("bench", "out of memory");
    run_phase(GRPC_CREATE, clients, clients, ids); /* a warm-up, and the ids */
    run_phase(REST_CREATE, clients, clients, NULL);
    for (mode m = 0; m < N_MODES; m++)
        f[m] = run_phase(m, clients, requests, m == GRPC_GET || m == REST_GET ? ids : NULL);

    printf("\n%d clients, %d requests a row, `framewright serve --workers 0` on %s (REST on %s)\n\n", clients,
           requests / clients * clients, srv.grpc, srv.rest);
    printf("| call | requests/s | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|---:|\n");
    for (mode m = 0; m < N_MODES; m++)
        printf("| %s | %.0f | %.2f | %.2f | %.2f |\n", mode_name[m], f[m].rps, f[m].p50, f[m].p90, f[m].p99);
    printf("\n| REST over gRPC | throughput | p50 | p90 | p99 |\n|---|---:|---:|---:|---:|\n");
    for (mode m = GRPC_CREATE; m < N_MODES; m += 2)
        printf("| %s / %s | %.2f | %.2f | %.2f | %.2f |\n", mode_name[m + 1], mode_name[m], f[m + 1].rps / f[m].rps,
               f[m + 1].p50 / f[m].p50, f[m + 1].p90 / f[m].p90, f[m + 1].p99 / f[m].p99);

    clean = fw_bench_server_stop(&srv) == 0;
    curl_global_cleanup();
    free((char *)template_id);
    free(ids);
    return clean ? 0 : 1;
}
