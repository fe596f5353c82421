/* fw_serve.c - see fw_serve.h. */
#include "tests/fw_serve.h"

#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


void fw_test_sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Wait for the lines serve prints once it listens. */
static int read_banner(fw_test_server *s, const char *out_path, int with_api)
{
    for (int tries = 0; tries < 600; tries++) {
        char line[512];
        int want_key = 0;
        FILE *f = fopen(out_path, "r");
        while (f && fgets(line, sizeof(line), f)) {
            char *at = strstr(line, "serving gRPC on "), *api = strstr(line, "REST API (/api/v2) on ");
            line[strcspn(line, "\r\n")] = '\0';
            if (api)
                snprintf(s->api, sizeof(s->api), "%s", api + strlen("REST API (/api/v2) on "));
            if (want_key) {
                snprintf(s->key, sizeof(s->key), "%s", line);
                want_key = 0;
            } else if (at) {
                at += strlen("serving gRPC on ");
                at[strcspn(at, ", ")] = '\0';
                snprintf(s->grpc, sizeof(s->grpc), "%s", at);
            } else if (strstr(line, "a first API key")) {
                want_key = 1;
            }
        }
        if (f)
            fclose(f);
        if (s->grpc[0] && s->key[0] && (!with_api || s->api[0]))
            return 0;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1;
        }
        fw_test_sleep_ms(100);
    }
    return -1;
}

int fw_test_server_start(fw_test_server *s, const char *binary, int workers, int with_api)
{
    const char *base = getenv("TEST_TMPDIR");
    char data[1100], out[1100], log[1100], count[16];

    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "%s/fw-serve-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(data, sizeof(data), "%s/data", s->dir);
    snprintf(out, sizeof(out), "%s/serve.out", s->dir);
    snprintf(log, sizeof(log), "%s/serve.log", s->dir);
    snprintf(count, sizeof(count), "%d", workers);
    if (mkdir(data, 0700) != 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        /* Its own process group, so its workers can be stopped with it. */
        setpgid(0, 0);
        if (!freopen(out, "w", stdout) || !freopen(log, "w", stderr))
            _exit(127);
        /* Every job rendered, none answered by the render cache, unless the test says otherwise. */
        setenv("FRAMEWRIGHT_CACHE_MB", "0", 0);
        execl(binary, binary, "serve", "--data", data, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--api",
              with_api ? "127.0.0.1:0" : "off", "--workers", count, (char *)NULL);
        _exit(127);
    }
    return read_banner(s, out, with_api);
}

void fw_test_server_stop(fw_test_server *s, int grace_ms)
{
    int status;
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    for (int waited = 0; waited < grace_ms; waited += 100) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            kill(-s->pid, SIGKILL); /* a worker left behind, if any */
            s->pid = 0;
            return;
        }
        fw_test_sleep_ms(100);
    }
    kill(-s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
}

void fw_test_server_print_log(const fw_test_server *s)
{
    char log[1100], line[1024];
    FILE *f;
    snprintf(log, sizeof(log), "%s/serve.log", s->dir);
    if (!(f = fopen(log, "r")))
        return;
    fprintf(stderr, "--- server log ---\n");
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fclose(f);
}
