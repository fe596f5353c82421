/*
 * farm_bench.c - one long video on 1, 2 and 4 worker processes: how much a
 * split render gains from more workers, and what joining the chunks costs.
 *
 * The bench starts `framewright serve --workers 0` (SQLite, a local folder)
 * and N `framewright worker` processes on the same store, each pinned to a
 * core of its own while the machine has them (sched_setaffinity), uploads a
 * template (a 60 s 1920x1080 30 fps composition of its own, or --template),
 * sends one job and times it from CreateJob to `finished` (GetJob every
 * 50 ms). Runs, one after the other on fresh servers:
 *
 *   1 worker, whole (settings.chunks 1)   the baseline
 *   1 worker, split                       what splitting costs on one worker
 *   2 workers, split                      the speed-up (target >= 1.7x of 1 split)
 *   4 workers, split                      only with 4 cores or more
 *
 * The join (segments fetched, copied end to end, the sound encoded) is timed
 * by the worker that joins, in its log ("joined N chunks in S s"); its share
 * of the 1-worker whole time is the join cost (target <= 5 %).
 *
 *   bazel build -c opt //bench:farm_bench //server:framewright
 *   bazel-bin/bench/farm_bench --framewright bazel-bin/server/framewright [--template FILE] [--seconds 60]
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
#include "proto/job.pb-c.h"

#define MAX_WORKERS 8

static void fail(const char *what, const fw_error *err)
{
    fprintf(stderr, "farm_bench: %s: %s%s%s\n", what, err->field, err->field[0] ? ": " : "", err->message);
    exit(1);
}

/* A ground, a square crossing the picture every second and a caption, for
 * seconds at 30 fps, 1920x1080: the kind of picture a template draws. */
static void write_template(const char *path, int seconds)
{
    FILE *f = fopen(path, "w");
    int frames = seconds * 30;
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "{\"v\":\"5.7.4\",\"fr\":30,\"ip\":0,\"op\":%d,\"w\":1920,\"h\":1080,\"nm\":\"main\",\"ddd\":0,"
               "\"assets\":[],\"layers\":[{\"ddd\":0,\"ind\":1,\"ty\":1,\"nm\":\"square\",\"sc\":\"#ffffff\","
               "\"sw\":240,\"sh\":240,\"sr\":1,\"st\":0,\"ip\":0,\"op\":%d,\"ks\":{\"o\":{\"a\":0,\"k\":100},"
               "\"r\":{\"a\":1,\"k\":[{\"t\":0,\"s\":[0],\"i\":{\"x\":[1],\"y\":[1]},\"o\":{\"x\":[0],\"y\":[0]}},"
               "{\"t\":%d,\"s\":[%d]}]},\"p\":{\"a\":1,\"k\":[",
            frames, frames, frames, 360 * seconds / 4);
    for (int s = 0; s <= seconds; s++)
        fprintf(f, "%s{\"t\":%d,\"s\":[%d,540,0],\"i\":{\"x\":1,\"y\":1},\"o\":{\"x\":0,\"y\":0}}", s ? "," : "",
                s * 30, s % 2 ? 1700 : 220);
    fprintf(f, "]},\"a\":{\"a\":0,\"k\":[120,120,0]},\"s\":{\"a\":0,\"k\":[100,100,100]}}},"
               "{\"ddd\":0,\"ind\":2,\"ty\":1,\"nm\":\"ground\",\"sc\":\"#203850\",\"sw\":1920,\"sh\":1080,\"sr\":1,"
               "\"st\":0,\"ip\":0,\"op\":%d,\"ks\":{\"o\":{\"a\":0,\"k\":100},\"r\":{\"a\":0,\"k\":0},"
               "\"p\":{\"a\":0,\"k\":[0,0,0]},\"a\":{\"a\":0,\"k\":[0,0,0]},\"s\":{\"a\":0,\"k\":[100,100,100]}}}]}",
            frames);
    fclose(f);
}

/* Seconds the joining worker logged for the join, or -1. */
static double join_seconds(const char *data, int workers)
{
    for (int i = 0; i < workers; i++) {
        char path[4200], line[1024];
        FILE *f;
        snprintf(path, sizeof(path), "%s/worker-%d.log", data, i);
        if (!(f = fopen(path, "r")))
            continue;
        while (fgets(line, sizeof(line), f)) {
            const char *at = strstr(line, "joined ");
            int n;
            double s;
            if (at && sscanf(at, "joined %d chunks in %lf s", &n, &s) == 2) {
                fclose(f);
                return s;
            }
        }
        fclose(f);
    }
    return -1;
}

typedef struct run_result {
    double wall, join;
    int chunks, frames;
} run_result;

static run_result run(const char *binary, const char *template_file, int workers, int chunks, int cores)
{
    Framewright__V1__JobRequest req = FRAMEWRIGHT__V1__JOB_REQUEST__INIT;
    Framewright__V1__JobTemplate tpl = FRAMEWRIGHT__V1__JOB_TEMPLATE__INIT;
    Framewright__V1__RenderSettings settings = FRAMEWRIGHT__V1__RENDER_SETTINGS__INIT;
    Framewright__V1__GetJobRequest get = FRAMEWRIGHT__V1__GET_JOB_REQUEST__INIT;
    Framewright__V1__Job *job = NULL;
    fw_bench_server srv;
    fw_rpc_client *c = NULL;
    pid_t pids[MAX_WORKERS];
    run_result r = {0, -1, 0, 0};
    char *template_id, *id;
    double t0;
    fw_error err;

    if (fw_bench_server_start(&srv, binary, NULL, 0) != 0) {
        fprintf(stderr, "farm_bench: the server did not start\n");
        exit(1);
    }
    if (fw_bench_connect(&srv, 600000, &c, &err))
        fail("connect", &err);
    if (!(template_id = fw_bench_upload_template(c, template_file, "farm bench", &err)))
        fail("upload", &err);
    for (int i = 0; i < workers; i++)
        pids[i] = fw_bench_worker_start(&srv, binary, i, cores);
    sleep(1); /* the workers open the store */

    tpl.id = template_id;
    settings.type = "video";
    settings.codec = "video_h264_vbr_15mbps";
    settings.chunks = chunks;
    req.template_ = &tpl;
    req.settings = &settings;
    t0 = fw_bench_now();
    if (fw_rpc_client_unary(c, "/framewright.v1.JobService/CreateJob", &req.base, &framewright__v1__job__descriptor,
                            NULL, (ProtobufCMessage **)&job, &err))
        fail("CreateJob", &err);
    id = strdup(job->id);
    for (;;) {
        protobuf_c_message_free_unpacked(&job->base, NULL);
        job = NULL;
        usleep(50 * 1000);
        get.id = id;
        if (fw_rpc_client_unary(c, "/framewright.v1.JobService/GetJob", &get.base, &framewright__v1__job__descriptor,
                                NULL, (ProtobufCMessage **)&job, &err))
            fail("GetJob", &err);
        if (strcmp(job->status, "finished") == 0)
            break;
        if (strcmp(job->status, "error") == 0 || strcmp(job->status, "manually_cancelled") == 0) {
            fprintf(stderr, "farm_bench: the job ended %s: %s\n", job->status,
                    job->stats && job->stats->error ? job->stats->error->value : "");
            exit(1);
        }
    }
    r.wall = fw_bench_now() - t0;
    r.chunks = job->stats ? job->stats->chunks : 0;
    r.join = join_seconds(srv.data, workers);
    protobuf_c_message_free_unpacked(&job->base, NULL);
    for (int i = 0; i < workers; i++)
        kill(pids[i], SIGTERM);
    for (int i = 0; i < workers; i++)
        waitpid(pids[i], NULL, 0);
    fw_rpc_client_free(&c);
    fw_bench_server_stop(&srv);
    free(template_id);
    free(id);
    return r;
}

int main(int argc, char **argv)
{
    const char *binary = NULL, *template_file = NULL;
    char generated[256] = "";
    int seconds = 60, cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    run_result whole, split[3];
    int counts[3] = {1, 2, 4}, runs;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--framewright") == 0)
            binary = argv[i + 1];
        else if (strcmp(argv[i], "--template") == 0)
            template_file = argv[i + 1];
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atoi(argv[i + 1]);
    }
    if (!binary || seconds < 8 || seconds > 600) {
        fprintf(stderr, "usage: farm_bench --framewright PATH [--template FILE] [--seconds 60 (8 to 600)]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!template_file) {
        snprintf(generated, sizeof(generated), "/tmp/fw-farm-bench-%d.json", (int)getpid());
        write_template(generated, seconds);
        template_file = generated;
    }
    runs = cores >= 4 ? 3 : 2;
    whole = run(binary, template_file, 1, 1, cores);
    for (int i = 0; i < runs; i++)
        split[i] = run(binary, template_file, counts[i], 0, cores);

    printf("one %d s 1920x1080 30 fps job, H.264 15 Mb/s; %d cores, workers pinned one per core\n\n", seconds, cores);
    printf("| workers | render | chunks | wall s | speed-up over 1 worker split | join s | join / 1-worker whole |\n"
           "|---:|---|---:|---:|---:|---:|---:|\n");
    printf("| 1 | whole | - | %.2f | - | - | - |\n", whole.wall);
    for (int i = 0; i < runs; i++)
        printf("| %d | split | %d | %.2f | %.2fx | %.2f | %.1f %% |\n", counts[i], split[i].chunks, split[i].wall,
               split[0].wall / split[i].wall, split[i].join, 100.0 * split[i].join / whole.wall);
    {
        /* The model for N workers on N cores: the chunks' render divides, the join does not. */
        double join = split[0].join > 0 ? split[0].join : 0, per = split[0].wall - join;
        printf("\nmodel for N workers on N cores: t(N) = %.2f / N + %.2f s (the join); t(2) = %.2f, t(4) = %.2f, "
               "t(8) = %.2f\n",
               per, join, per / 2 + join, per / 4 + join, per / 8 + join);
        printf("targets: 2 workers over 1 >= 1.7x: %.2fx %s; join <= 5 %% of 1 worker whole: %.1f %% %s\n",
               split[0].wall / split[1].wall, split[0].wall / split[1].wall >= 1.7 ? "(met)" : "(NOT met)",
               100.0 * split[1].join / whole.wall, split[1].join >= 0 && split[1].join <= 0.05 * whole.wall
                                                        ? "(met)" : "(NOT met)");
    }
    if (generated[0])
        unlink(generated);
    return 0;
}
