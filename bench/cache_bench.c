/*
 * cache_bench.c - what the render cache saves a batch of personalised
 * variants: 100 jobs of one template that differ only in a title shown in
 * its last 2 s, timed from CreateBatch until the batch is finished, once
 * with the cache off (FRAMEWRIGHT_CACHE_MB=0) and once with it on.
 *
 * The template is the hello example made 640x360 and 20 s long (600
 * frames, rendered in 5 chunks of 4 s), its title shown from frame 540:
 * with the cache, every variant after the first takes the 4 chunks before
 * the title from it and renders the last. Two workers (the default of
 * `serve`), a fresh data folder each run. Target: the cached run in at most
 * half the time of the uncached.
 *
 *   bazel build -c opt //bench:cache_bench //server:framewright
 *   bazel-bin/bench/cache_bench --framewright bazel-bin/server/framewright \
 *       --template tests/examples/hello/template.json [--jobs 100]
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_server.h"
#include "client/rpc_client.h"
#include "proto/batch.pb-c.h"
#include "proto/job.pb-c.h"

#define FRAMES 600
#define TITLE_FROM 540
#define WORKERS 2

static void fail(const char *what, const fw_error *err)
{
    fprintf(stderr, "cache_bench: %s: %s%s%s\n", what, err->field, err->field[0] ? ": " : "", err->message);
    exit(1);
}

/* The hello template at 640x360 for FRAMES frames, its title from TITLE_FROM. */
static void write_template(const char *from, const char *to)
{
    json_error_t jerr;
    json_t *doc = json_load_file(from, 0, &jerr), *layer;
    size_t i;

    if (!doc) {
        fprintf(stderr, "cache_bench: %s: %s\n", from, jerr.text);
        exit(1);
    }
    json_object_set_new(doc, "w", json_integer(640));
    json_object_set_new(doc, "h", json_integer(360));
    json_object_set_new(doc, "op", json_integer(FRAMES));
    json_array_foreach(json_object_get(doc, "layers"), i, layer)
    {
        const char *name = json_string_value(json_object_get(layer, "nm"));
        json_object_set_new(layer, "op", json_integer(FRAMES));
        if (name && strcmp(name, "title") == 0) {
            json_t *p = json_object_get(json_object_get(layer, "ks"), "p");
            json_object_set_new(layer, "ip", json_integer(TITLE_FROM));
            json_object_set_new(p, "k", json_pack("[i,i,i]", 320, 240, 0)); /* within the smaller picture */
        }
    }
    if (json_dump_file(doc, to, JSON_COMPACT) != 0) {
        fprintf(stderr, "cache_bench: cannot write %s\n", to);
        exit(1);
    }
    json_decref(doc);
}

typedef struct result {
    double seconds;
    int finished, cached_chunks;
} result;

static result run(const char *binary, const char *template_file, int jobs, int cache)
{
    Framewright__V1__BatchRequest batch = FRAMEWRIGHT__V1__BATCH_REQUEST__INIT;
    Framewright__V1__JobTemplate tpl = FRAMEWRIGHT__V1__JOB_TEMPLATE__INIT;
    Framewright__V1__RenderSettings settings = FRAMEWRIGHT__V1__RENDER_SETTINGS__INIT;
    Framewright__V1__JobRequest *reqs = calloc((size_t)jobs, sizeof(*reqs));
    Framewright__V1__JobRequest **req_ptrs = calloc((size_t)jobs, sizeof(*req_ptrs));
    Framewright__V1__Asset *assets = calloc((size_t)jobs, sizeof(*assets)), **asset_ptrs;
    Google__Protobuf__Value *values = calloc((size_t)jobs, sizeof(*values));
    char (*texts)[32] = calloc((size_t)jobs, sizeof(*texts));
    Framewright__V1__BatchCreated *created = NULL;
    Framewright__V1__GetBatchRequest get = FRAMEWRIGHT__V1__GET_BATCH_REQUEST__INIT;
    fw_bench_server srv;
    fw_rpc_client *c = NULL;
    pid_t pids[WORKERS];
    result r = {0, 0, 0};
    char *template_id;
    double t0;
    fw_error err;

    asset_ptrs = calloc((size_t)jobs, sizeof(*asset_ptrs));
    if (!reqs || !req_ptrs || !assets || !asset_ptrs || !values || !texts) {
        fprintf(stderr, "cache_bench: out of memory\n");
        exit(1);
    }
    setenv("FRAMEWRIGHT_CACHE_MB", cache ? "4096" : "0", 1);
    if (fw_bench_server_start(&srv, binary, NULL, 0) != 0) {
        fprintf(stderr, "cache_bench: the server did not start\n");
        exit(1);
    }
    if (fw_bench_connect(&srv, 600000, &c, &err))
        fail("connect", &err);
    if (!(template_id = fw_bench_upload_template(c, template_file, "cache bench", &err)))
        fail("upload", &err);
    for (int i = 0; i < WORKERS; i++)
        pids[i] = fw_bench_worker_start(&srv, binary, i, 0);
    sleep(1);

    tpl.id = template_id;
    settings.type = "video";
    settings.codec = "video_h264_vbr_1mbps";
    for (int i = 0; i < jobs; i++) {
        framewright__v1__job_request__init(&reqs[i]);
        framewright__v1__asset__init(&assets[i]);
        google__protobuf__value__init(&values[i]);
        snprintf(texts[i], sizeof(texts[i]), "Dear customer %d", i);
        values[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
        values[i].string_value = texts[i];
        assets[i].type = "text";
        assets[i].layer_name = "title";
        assets[i].value = &values[i];
        asset_ptrs[i] = &assets[i];
        reqs[i].template_ = &tpl;
        reqs[i].settings = &settings;
        reqs[i].n_assets = 1;
        reqs[i].assets = &asset_ptrs[i];
        req_ptrs[i] = &reqs[i];
    }
    batch.n_jobs = (size_t)jobs;
    batch.jobs = req_ptrs;
    t0 = fw_bench_now();
    if (fw_rpc_client_unary(c, "/framewright.v1.BatchService/CreateBatch", &batch.base,
                            &framewright__v1__batch_created__descriptor, NULL, (ProtobufCMessage **)&created, &err))
        fail("CreateBatch", &err);
    get.id = strdup(created->batch_id);
    protobuf_c_message_free_unpacked(&created->base, NULL);
    for (;;) {
        Framewright__V1__Batch *b = NULL;
        int done;
        usleep(250 * 1000);
        if (fw_rpc_client_unary(c, "/framewright.v1.BatchService/GetBatch", &get.base,
                                &framewright__v1__batch__descriptor, NULL, (ProtobufCMessage **)&b, &err))
            fail("GetBatch", &err);
        done = strcmp(b->status, "finished") == 0 || strcmp(b->status, "error") == 0 ||
               strcmp(b->status, "partial") == 0 || strcmp(b->status, "cancelled") == 0;
        if (done) {
            r.seconds = fw_bench_now() - t0;
            for (size_t i = 0; i < b->n_jobs; i++) {
                r.finished += strcmp(b->jobs[i]->status, "finished") == 0;
                if (b->jobs[i]->stats)
                    r.cached_chunks += b->jobs[i]->stats->chunks_cached;
            }
        }
        protobuf_c_message_free_unpacked(&b->base, NULL);
        if (done)
            break;
    }
    for (int i = 0; i < WORKERS; i++)
        kill(pids[i], SIGTERM);
    for (int i = 0; i < WORKERS; i++)
        waitpid(pids[i], NULL, 0);
    fw_rpc_client_free(&c);
    fw_bench_server_stop(&srv);
    free((char *)get.id);
    free(template_id);
    free(reqs);
    free(req_ptrs);
    free(assets);
    free(asset_ptrs);
    free(values);
    free(texts);
    return r;
}

int main(int argc, char **argv)
{
    const char *binary = NULL, *hello = NULL;
    char template_file[64];
    int jobs = 100;
    result off, on;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--framewright") == 0)
            binary = argv[i + 1];
        else if (strcmp(argv[i], "--template") == 0)
            hello = argv[i + 1];
        else if (strcmp(argv[i], "--jobs") == 0)
            jobs = atoi(argv[i + 1]);
    }
    if (!binary || !hello || jobs < 2 || jobs > 1000) {
        fprintf(stderr, "usage: cache_bench --framewright PATH --template tests/examples/hello/template.json "
                        "[--jobs 100 (2 to 1000)]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    snprintf(template_file, sizeof(template_file), "/tmp/fw-cache-bench-%d.json", (int)getpid());
    write_template(hello, template_file);
    off = run(binary, template_file, jobs, 0);
    on = run(binary, template_file, jobs, 1);
    unlink(template_file);
    printf("%d variants of a 20 s 640x360 template (5 chunks of 4 s), differing in a title shown from frame %d; "
           "%d workers\n\n",
           jobs, TITLE_FROM, WORKERS);
    printf("| render cache | jobs finished | chunks from the cache | batch s | per job s |\n|---|---:|---:|---:|---:|\n");
    printf("| off | %d | %d | %.2f | %.3f |\n", off.finished, off.cached_chunks, off.seconds, off.seconds / jobs);
    printf("| on | %d | %d | %.2f | %.3f |\n", on.finished, on.cached_chunks, on.seconds, on.seconds / jobs);
    printf("\ncached / uncached: %.2f (target <= 0.5: %s)\n", on.seconds / off.seconds,
           on.seconds <= 0.5 * off.seconds ? "met" : "NOT met");
    return 0;
}
