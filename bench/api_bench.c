/*
 * api_bench.c - the gRPC API under load: CreateJob from many clients at once,
 * and how many WatchJob streams one server holds.
 *
 * The bench starts `framewright serve` itself (no workers, so jobs stay
 * queued and the machine's two cores go to the API), uploads a template,
 * then:
 *   create   C client threads, each with its own channel, send CreateJob
 *            back to back; throughput and latency percentiles;
 *   watch    streams are opened in steps over many channels; at each step
 *            the server's resident memory and the latency of a GetJob made
 *            beside them are read - the server holds them if it still
 *            answers.
 *
 *   api_bench --framewright PATH --template FILE [--database URL] [--clients 50]
 *             [--requests 4000] [--streams 10000]
 */
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

#define STREAMS_PER_CHANNEL 100

static fw_bench_server srv;

static void fail(const char *what, const fw_error *err)
{
    fprintf(stderr, "api_bench: %s: %s%s%s\n", what, err->field, err->field[0] ? ": " : "", err->message);
    exit(1);
}

static fw_rpc_client *connect_client(void)
{
    fw_rpc_client *c = NULL;
    fw_error err;
    if (fw_bench_connect(&srv, 30000, &c, &err))
        fail("connect", &err);
    return c;
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* ---- create ---------------------------------------------------------------------------------- */

typedef struct creator {
    pthread_t thread;
    const char *template_id;
    int requests;
    double *latencies;
    char first_job[32];
} creator;

static void *create_jobs(void *arg)
{
    creator *cr = arg;
    fw_rpc_client *c = connect_client();
    Framewright__V1__JobTemplate tpl = FRAMEWRIGHT__V1__JOB_TEMPLATE__INIT;
    Framewright__V1__JobRequest req = FRAMEWRIGHT__V1__JOB_REQUEST__INIT;
    Framewright__V1__Asset asset = FRAMEWRIGHT__V1__ASSET__INIT, *assets[1] = {&asset};
    Google__Protobuf__Value value = GOOGLE__PROTOBUF__VALUE__INIT;
    fw_error err;

    tpl.id = (char *)cr->template_id;
    req.template_ = &tpl;
    asset.type = "text";
    asset.layer_name = "title";
    value.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
    value.string_value = "Benchmark";
    asset.value = &value;
    req.n_assets = 1;
    req.assets = assets;
    for (int i = 0; i < cr->requests; i++) {
        Framewright__V1__Job *job = NULL;
        double t = fw_bench_now();
        if (fw_rpc_client_unary(c, "/framewright.v1.JobService/CreateJob", &req.base, &framewright__v1__job__descriptor,
                                NULL, (ProtobufCMessage **)&job, &err))
            fail("CreateJob", &err);
        cr->latencies[i] = fw_bench_now() - t;
        if (i == 0)
            snprintf(cr->first_job, sizeof(cr->first_job), "%s", job->id);
        protobuf_c_message_free_unpacked(&job->base, NULL);
    }
    fw_rpc_client_free(&c);
    return NULL;
}

/* ---- watch ----------------------------------------------------------------------------------- */

static double get_job_ms(fw_rpc_client *c, const char *id)
{
    Framewright__V1__GetJobRequest req = FRAMEWRIGHT__V1__GET_JOB_REQUEST__INIT;
    Framewright__V1__Job *job = NULL;
    fw_error err;
    double t = fw_bench_now();
    req.id = (char *)id;
    if (fw_rpc_client_unary(c, "/framewright.v1.JobService/GetJob", &req.base, &framewright__v1__job__descriptor, NULL,
                            (ProtobufCMessage **)&job, &err))
        fail("GetJob", &err);
    protobuf_c_message_free_unpacked(&job->base, NULL);
    return (fw_bench_now() - t) * 1000;
}

static void run(const char *binary, const char *template_file, const char *database, const char *label, int clients,
                int requests, int streams)
{
    char *template_id;
    fw_rpc_client **channels, *probe;
    fw_rpc_reader **readers;
    creator *cr;
    double *all, t, elapsed;
    long base_rss;
    pid_t pid;
    fw_error err;
    int per = requests / clients, total = per * clients, opened = 0;

    if (fw_bench_server_start(&srv, binary, database, 0) != 0) {
        fprintf(stderr, "api_bench: the server did not start\n");
        exit(1);
    }
    pid = srv.pid;
    probe = connect_client();
    if (!(template_id = fw_bench_upload_template(probe, template_file, "bench", &err)))
        fail("upload", &err);

    cr = calloc((size_t)clients, sizeof(*cr));
    all = calloc((size_t)total, sizeof(*all));
    t = fw_bench_now();
    for (int i = 0; i < clients; i++) {
        cr[i].template_id = template_id;
        cr[i].requests = per;
        cr[i].latencies = all + (size_t)i * (size_t)per;
        pthread_create(&cr[i].thread, NULL, create_jobs, &cr[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(cr[i].thread, NULL);
    elapsed = fw_bench_now() - t;
    fw_bench_sort(all, (size_t)total);
    printf("| %s | CreateJob | %d clients | %d calls | %.0f calls/s | p50 %.1f ms | p90 %.1f ms | p99 %.1f ms | max %.1f ms |\n",
           label, clients, total, total / elapsed, fw_bench_percentile(all, (size_t)total, 0.5) * 1000,
           fw_bench_percentile(all, (size_t)total, 0.9) * 1000, fw_bench_percentile(all, (size_t)total, 0.99) * 1000,
           all[total - 1] * 1000);
    fflush(stdout);

    /* Watch streams on queued jobs: they stay open. */
    base_rss = rss_kib(pid);
    channels = calloc((size_t)(streams / STREAMS_PER_CHANNEL + 1), sizeof(*channels));
    readers = calloc((size_t)streams, sizeof(*readers));
    for (int step = streams / 4; opened < streams;) {
        int target = opened + step > streams ? streams : opened + step;
        Framewright__V1__WatchJobRequest req = FRAMEWRIGHT__V1__WATCH_JOB_REQUEST__INIT;
        double get_ms;
        for (; opened < target; opened++) {
            ProtobufCMessage *first = NULL;
            int ch = opened / STREAMS_PER_CHANNEL;
            if (!channels[ch])
                channels[ch] = connect_client();
            req.id = cr[opened % clients].first_job;
            if (fw_rpc_client_read_open(channels[ch], "/framewright.v1.JobService/WatchJob", &req.base,
                                        &framewright__v1__job_event__descriptor,
                                        &(fw_rpc_call_options){.timeout_ms = -1}, &readers[opened], &err) ||
                fw_rpc_reader_next(readers[opened], &first, &err) || !first)
                fail("WatchJob", &err);
            protobuf_c_message_free_unpacked(first, NULL);
        }
        get_ms = get_job_ms(probe, cr[0].first_job);
        printf("| %s | WatchJob | %d streams open | server RSS %.0f MiB (+%.1f KiB a stream) | GetJob beside them %.1f ms |\n",
               label, opened, rss_kib(pid) / 1024.0, (double)(rss_kib(pid) - base_rss) / opened, get_ms);
        fflush(stdout);
    }
    for (int i = 0; i < opened; i++) {
        fw_rpc_reader_cancel(readers[i]);
        fw_rpc_reader_free(&readers[i]);
    }
    for (int i = 0; i <= streams / STREAMS_PER_CHANNEL; i++)
        fw_rpc_client_free(&channels[i]);
    fw_rpc_client_free(&probe);
    fw_bench_server_stop(&srv);
    free(readers);
    free(channels);
    free(cr);
    free(all);
    free(template_id);
}

int main(int argc, char **argv)
{
    const char *binary = NULL, *template_file = NULL, *database = NULL;
    int clients = 50, requests = 4000, streams = 10000;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--framewright") == 0)
            binary = argv[i + 1];
        else if (strcmp(argv[i], "--template") == 0)
            template_file = argv[i + 1];
        else if (strcmp(argv[i], "--database") == 0)
            database = argv[i + 1];
        else if (strcmp(argv[i], "--clients") == 0)
            clients = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--requests") == 0)
            requests = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--streams") == 0)
            streams = atoi(argv[i + 1]);
    }
    if (!binary || !template_file || clients <= 0 || requests < clients || streams < 4) {
        fprintf(stderr, "usage: api_bench --framewright PATH --template FILE [--database URL] [--clients 50] "
                        "[--requests 4000] [--streams 10000]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    printf("| store | call | load | | rate / memory | | | | |\n|---|---|---|---|---|---|---|---|---|\n");
    run(binary, template_file, database, database ? "postgres" : "sqlite", clients, requests, streams);
    return 0;
}
