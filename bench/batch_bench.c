/*
 * batch_bench.c - how long the service takes to accept a batch: CreateBatch
 * of N jobs (1000, the most one call takes) timed from the call to its
 * answer, which is when every job has been checked and stored in one
 * transaction.
 *
 * The bench starts `framewright serve` itself with no workers (jobs stay
 * queued, and the two cores go to the API), uploads a template, sends one
 * batch to warm the server up, then times --batches batches one after the
 * other and prints a markdown table row per store: SQLite in a fresh data
 * folder always, and PostgreSQL when --database names one (an empty
 * database is best: the jobs stay in it).
 *
 *   batch_bench --framewright PATH --template FILE [--layer title]
 *               [--database URL] [--jobs 1000] [--batches 5]
 *
 * Each job replaces the text of layer --layer with a value of its own, so
 * no two jobs of a batch are alike.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_server.h"
#include "client/rpc_client.h"
#include "proto/batch.pb-c.h"
#include "proto/job.pb-c.h"
#include "proto/template.pb-c.h"
#include "server/util/fs.h"

static void fail(const char *what, const fw_error *err)
{
    fprintf(stderr, "batch_bench: %s: %s%s%s\n", what, err->field, err->field[0] ? ": " : "", err->message);
    exit(1);
}

/* ---- the server ------------------------------------------------------------------------------ */

/* `framewright serve` with no workers on ports the OS picks, its output in
 * DATA/serve.log (stderr too); its gRPC address and first API key are read from there
 * (a file rather than a pipe: nobody has to keep reading it). The pid, or -1. */
/* ---- one batch ------------------------------------------------------------------------------- */

/* The jobs of a batch, built once: every message points into this. */
typedef struct batch_body {
    Framewright__V1__BatchRequest req;
    Framewright__V1__JobRequest *jobs, **job_ptrs;
    Framewright__V1__JobTemplate tpl;
    Framewright__V1__Asset *assets, **asset_ptrs;
    Google__Protobuf__Value *values;
    char (*texts)[32];
} batch_body;

static void batch_body_init(batch_body *b, const char *template_id, const char *layer, int jobs)
{
    size_t n = (size_t)jobs;

    memset(b, 0, sizeof(*b));
    framewright__v1__batch_request__init(&b->req);
    framewright__v1__job_template__init(&b->tpl);
    b->tpl.id = (char *)template_id;
    b->jobs = calloc(n, sizeof(*b->jobs));
    b->job_ptrs = calloc(n, sizeof(*b->job_ptrs));
    b->assets = calloc(n, sizeof(*b->assets));
    b->asset_ptrs = calloc(n, sizeof(*b->asset_ptrs));
    b->values = calloc(n, sizeof(*b->values));
    b->texts = calloc(n, sizeof(*b->texts));
    if (!b->jobs || !b->job_ptrs || !b->assets || !b->asset_ptrs || !b->values || !b->texts) {
        fprintf(stderr, "batch_bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        framewright__v1__job_request__init(&b->jobs[i]);
        framewright__v1__asset__init(&b->assets[i]);
        google__protobuf__value__init(&b->values[i]);
        snprintf(b->texts[i], sizeof(b->texts[i]), "Batch job %zu", i);
        b->values[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
        b->values[i].string_value = b->texts[i];
        b->assets[i].type = "text";
        b->assets[i].layer_name = (char *)layer;
        b->assets[i].value = &b->values[i];
        b->asset_ptrs[i] = &b->assets[i];
        b->jobs[i].template_ = &b->tpl;
        b->jobs[i].n_assets = 1;
        b->jobs[i].assets = &b->asset_ptrs[i];
        b->job_ptrs[i] = &b->jobs[i];
    }
    b->req.n_jobs = n;
    b->req.jobs = b->job_ptrs;
}

static void batch_body_clear(batch_body *b)
{
    free(b->jobs);
    free(b->job_ptrs);
    free(b->assets);
    free(b->asset_ptrs);
    free(b->values);
    free(b->texts);
    memset(b, 0, sizeof(*b));
}

/* Seconds from sending CreateBatch to its answer; every job must be accepted. */
static double create_batch(fw_rpc_client *c, const batch_body *b)
{
    Framewright__V1__BatchCreated *created = NULL;
    fw_error err;
    double t = fw_bench_now(), elapsed;

    if (fw_rpc_client_unary(c, "/framewright.v1.BatchService/CreateBatch", &b->req.base,
                            &framewright__v1__batch_created__descriptor, NULL, (ProtobufCMessage **)&created, &err))
        fail("CreateBatch", &err);
    elapsed = fw_bench_now() - t;
    if (strcmp(created->status, "created") != 0 || created->created != (int32_t)b->req.n_jobs) {
        fprintf(stderr, "batch_bench: CreateBatch answered %s with %d of %zu jobs accepted%s%s\n", created->status,
                created->created, b->req.n_jobs, created->n_errors ? "; first error: " : "",
                created->n_errors ? created->errors[0]->error : "");
        exit(1);
    }
    protobuf_c_message_free_unpacked(&created->base, NULL);
    return elapsed;
}

static void run(const char *binary, const char *template_file, const char *layer, const char *database, int jobs,
                int batches)
{
    fw_bench_server srv;
    fw_rpc_client *c = NULL;
    char *template_id;
    batch_body body;
    double *times = calloc((size_t)batches, sizeof(double));
    fw_error err;

    if (fw_bench_server_start(&srv, binary, database, 0) != 0) {
        fprintf(stderr, "batch_bench: the server did not start\n");
        exit(1);
    }
    if (fw_bench_connect(&srv, 600000, &c, &err))
        fail("connect", &err);
    if (!(template_id = fw_bench_upload_template(c, template_file, "batch bench", &err)))
        fail("upload", &err);
    batch_body_init(&body, template_id, layer, jobs);

    create_batch(c, &body); /* warm-up: caches, the template's first read, the connection */
    for (int i = 0; i < batches; i++)
        times[i] = create_batch(c, &body);
    fw_bench_sort(times, (size_t)batches);
    printf("| %s | %d | %d | %.3f | %.3f | %.3f | %.0f |\n", database ? "postgres" : "sqlite", jobs, batches, times[0],
           batches % 2 ? times[batches / 2] : (times[batches / 2 - 1] + times[batches / 2]) / 2, times[batches - 1],
           jobs / times[batches / 2]);
    fflush(stdout);

    batch_body_clear(&body);
    fw_rpc_client_free(&c);
    fw_bench_server_stop(&srv);
    free(template_id);
    free(times);
}

int main(int argc, char **argv)
{
    const char *binary = NULL, *template_file = NULL, *database = NULL, *layer = "title";
    int jobs = 1000, batches = 5;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--framewright") == 0)
            binary = argv[i + 1];
        else if (strcmp(argv[i], "--template") == 0)
            template_file = argv[i + 1];
        else if (strcmp(argv[i], "--layer") == 0)
            layer = argv[i + 1];
        else if (strcmp(argv[i], "--database") == 0)
            database = argv[i + 1];
        else if (strcmp(argv[i], "--jobs") == 0)
            jobs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--batches") == 0)
            batches = atoi(argv[i + 1]);
    }
    if (!binary || !template_file || jobs < 1 || jobs > 1000 || batches < 1) {
        fprintf(stderr, "usage: batch_bench --framewright PATH --template FILE [--layer title] [--database URL] "
                        "[--jobs 1000 (at most)] [--batches 5]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    printf("| store | jobs per batch | batches | min s | median s | max s | jobs/s (median) |\n"
           "|---|---:|---:|---:|---:|---:|---:|\n");
    fflush(stdout);
    run(binary, template_file, layer, NULL, jobs, batches);
    if (database)
        run(binary, template_file, layer, database, jobs, batches);
    return 0;
}
