/*
 * rpc_python_test.c - the C server driven by a real gRPC implementation:
 * Python's grpcio (Debian's python3-grpcio) runs echo_client.py against the
 * echo server. The client holds a stream open at the end and this side stops
 * the server under it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/api/echo_server.h"
#include "tests/fw_test.h"

#define PYTHON "/usr/bin/python3"

static void test_python_grpcio_client_against_the_c_server(void)
{
    echo_server s;
    fw_error e;
    int out[2];
    pid_t pid;
    char port[16], line[512], log[16384] = "";
    FILE *f;
    int status = -1, holding = 0;

    if (access(PYTHON, X_OK) != 0 || system(PYTHON " -c 'import grpc, google.protobuf' 2>/dev/null") != 0)
        FW_SKIP("Debian's python3 with python3-grpcio is not installed");
    FW_REQUIRE(echo_server_start(&s, NULL, NULL, &e) == FW_OK);
    snprintf(port, sizeof(port), "%d", s.port);
    FW_REQUIRE(pipe(out) == 0);
    pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        setenv("PYTHONPATH", "tests/api", 1);
        setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
        execl(PYTHON, PYTHON, "tests/api/echo_client.py", port, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    f = fdopen(out[0], "r");
    while (fgets(line, sizeof(line), f)) {
        strncat(log, line, sizeof(log) - strlen(log) - 1);
        if (strncmp(line, "HOLDING", 7) == 0) {
            holding = 1;
            FW_CHECK_INT(echo_server_held_count(&s), 1);
            fw_rpc_server_stop(s.rpc); /* ends the held stream: the client sees UNAVAILABLE */
        }
    }
    fclose(f);
    waitpid(pid, &status, 0);
    fprintf(stderr, "%s", log);
    FW_CHECK(holding);
    FW_CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "python exited with status %d", status);
    FW_CHECK_CONTAINS(log, "PYTHON CLIENT DONE");
    /* The cancelled stream and the one ended by stop both reached on_gone. */
    FW_CHECK_INT(echo_server_gone_count(&s), 2);
    FW_CHECK_INT(echo_server_held_count(&s), 0);
    echo_server_stop(&s);
}

int main(void)
{
    FW_RUN(test_python_grpcio_client_against_the_c_server);
    return fw_test_end();
}
