/* bench_server.c - see bench_server.h. */
#include "bench/bench_server.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/template.pb-c.h"
#include "server/util/fs.h"

double fw_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void fw_bench_sort(double *values, size_t n) { qsort(values, n, sizeof(double), compare_double); }

double fw_bench_percentile(const double *sorted, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

/* The server's output goes to a file, read back for the lines wanted: a
 * pipe closed after the key would leave its later lines nowhere to go. */
static int read_banner(fw_bench_server *s, const char *log, int with_api)
{
    char line[1024];
    FILE *out = fopen(log, "r");

    while (out && fgets(line, sizeof(line), out)) {
        char *grpc = strstr(line, "gRPC on "), *api = strstr(line, "REST API (/api/v2) on ");
        if (grpc)
            snprintf(s->grpc, sizeof(s->grpc), "%.*s", (int)strcspn(grpc + 8, ", \n"), grpc + 8);
        if (api) {
            api += strlen("REST API (/api/v2) on ");
            snprintf(s->rest, sizeof(s->rest), "%.*s", (int)strcspn(api, " \n"), api);
        }
        if (strncmp(line, "fw_", 3) == 0 && strchr(line, '\n'))
            snprintf(s->key, sizeof(s->key), "%.*s", (int)strcspn(line, "\n"), line);
    }
    if (out)
        fclose(out);
    return s->grpc[0] && s->key[0] && (!with_api || s->rest[0]);
}

int fw_bench_server_start(fw_bench_server *s, const char *binary, const char *database, int with_api)
{
    char log[4200];
    const char *argv[16];
    fw_error err;
    int n = 0;

    memset(s, 0, sizeof(*s));
    s->pid = -1;
    if (fw_make_temp_dir(NULL, "fw-bench-", s->data, sizeof(s->data), &err))
        return -1;
    snprintf(log, sizeof(log), "%s/serve.log", s->data);
    argv[n++] = "framewright";
    argv[n++] = "serve";
    argv[n++] = "--data";
    argv[n++] = s->data;
    argv[n++] = "--grpc";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--http";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--api";
    argv[n++] = with_api ? "127.0.0.1:0" : "off";
    argv[n++] = "--workers";
    argv[n++] = "0";
    if (database) {
        argv[n++] = "--database";
        argv[n++] = database;
    }
    argv[n] = NULL;
    fflush(NULL); /* the child's freopen would write out what is still buffered */
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
            _exit(127);
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    for (int tries = 0; tries < 1200; tries++) { /* up to a minute */
        if (read_banner(s, log, with_api))
            return 0;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = -1;
            break;
        }
        usleep(50 * 1000);
    }
    fw_bench_server_stop(s);
    return -1;
}

pid_t fw_bench_worker_start(const fw_bench_server *s, const char *binary, int index, int cores)
{
    char log[4200];
    pid_t pid;

    snprintf(log, sizeof(log), "%s/worker-%d.log", s->data, index);
    fflush(NULL);
    if ((pid = fork()) != 0)
        return pid;
    if (cores > 1) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(index % cores, &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    if (!freopen(log, "w", stdout) || dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
        _exit(127);
    execl(binary, "framewright", "worker", "--data", s->data, (char *)NULL);
    _exit(127);
}

int fw_bench_server_stop(fw_bench_server *s)
{
    int status = 0, clean = 1;

    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        clean = waitpid(s->pid, &status, 0) == s->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        s->pid = -1;
    }
    if (s->data[0])
        fw_remove_tree(s->data);
    s->data[0] = '\0';
    return clean ? 0 : -1;
}

fw_err fw_bench_connect(const fw_bench_server *s, int64_t timeout_ms, fw_rpc_client **out, fw_error *err)
{
    fw_rpc_client_options o = {.address = s->grpc, .token = s->key, .timeout_ms = timeout_ms};
    return fw_rpc_client_new(out, &o, err);
}

char *fw_bench_upload_template(fw_rpc_client *c, const char *file, const char *name, fw_error *err)
{
    Framewright__V1__CreateTemplateRequest create = FRAMEWRIGHT__V1__CREATE_TEMPLATE_REQUEST__INIT;
    Framewright__V1__TemplateChunk chunk = FRAMEWRIGHT__V1__TEMPLATE_CHUNK__INIT;
    Framewright__V1__Template *tpl = NULL, *done = NULL;
    fw_rpc_writer *w = NULL;
    char *data, *id = NULL;
    size_t len;

    if (!(data = fw_read_file(file, 64 << 20, &len, err)))
        return NULL;
    create.type = "json";
    create.display_name = (char *)name;
    if (fw_rpc_client_unary(c, "/framewright.v1.TemplateService/CreateTemplate", &create.base,
                            &framewright__v1__template__descriptor, NULL, (ProtobufCMessage **)&tpl, err) == FW_OK &&
        fw_rpc_client_write_open(c, "/framewright.v1.TemplateService/UploadTemplate",
                                 &framewright__v1__template__descriptor, NULL, &w, err) == FW_OK) {
        chunk.id = tpl->id;
        chunk.data.data = (uint8_t *)data;
        chunk.data.len = len;
        if (fw_rpc_writer_send(w, &chunk.base, err) == FW_OK &&
            fw_rpc_writer_finish(w, (ProtobufCMessage **)&done, err) == FW_OK)
            id = strdup(tpl->id);
    }
    if (tpl)
        protobuf_c_message_free_unpacked(&tpl->base, NULL);
    if (done)
        protobuf_c_message_free_unpacked(&done->base, NULL);
    fw_rpc_writer_free(&w);
    free(data);
    return id;
}
