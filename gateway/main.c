/*
 * main.c - framewright-gateway: the REST gateway on its own, in front of a
 * gRPC server somewhere else (`framewright serve` starts one of its own).
 *
 *   framewright-gateway --grpc HOST:PORT [--listen ADDR] [--grpc-ca FILE] [--tls-cert FILE --tls-key FILE]
 *                       [--media-origin "ORIGIN ..."]
 *
 * --media-origin: where outputs are played from, for the dashboard's
 * Content-Security-Policy (the file server or bucket origin); https: when not given.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "server/util/log.h"

static int usage(void)
{
    fprintf(stderr, "usage: framewright-gateway --grpc HOST:PORT [--listen ADDR (127.0.0.1:8081)] [--grpc-ca FILE]\n"
                    "                           [--tls-cert FILE --tls-key FILE] [--media-origin \"ORIGIN ...\"]\n");
    return 2;
}

int main(int argc, char **argv)
{
    fw_gateway_options opts;
    fw_gateway *gw = NULL;
    fw_error err;
    sigset_t stop;
    int sig;
    char text[1024];

    fw_error_clear(&err);
    if (fw_log_configure(&err) != FW_OK) {
        fprintf(stderr, "framewright-gateway: %s\n", fw_error_text(&err, text, sizeof(text)));
        return 2;
    }
    memset(&opts, 0, sizeof(opts));
    opts.listen = getenv("FRAMEWRIGHT_API") ? getenv("FRAMEWRIGHT_API") : "127.0.0.1:8081";
    opts.grpc_address = getenv("FRAMEWRIGHT_GRPC");
    for (int i = 1; i < argc; i += 2) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--grpc") == 0 && value)
            opts.grpc_address = value;
        else if (strcmp(argv[i], "--listen") == 0 && value)
            opts.listen = value;
        else if (strcmp(argv[i], "--grpc-ca") == 0 && value)
            opts.grpc_ca_file = value;
        else if (strcmp(argv[i], "--tls-cert") == 0 && value)
            opts.tls_cert_file = value;
        else if (strcmp(argv[i], "--tls-key") == 0 && value)
            opts.tls_key_file = value;
        else if (strcmp(argv[i], "--media-origin") == 0 && value)
            opts.media_sources = value;
        else
            return usage();
    }
    if (!opts.grpc_address)
        return usage();

    /* Block the stop signals before any thread starts, so they wait for sigwait. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    fw_error_clear(&err);
    if (fw_gateway_start(&gw, &opts, &err) != FW_OK) {
        fw_error_text(&err, text, sizeof(text));
        if (fw_log_get_format() == FW_LOG_JSON)
            fw_log(FW_LOG_ERROR, "gateway", "%s", text);
        else
            fprintf(stderr, "framewright-gateway: %s\n", text);
        return 1;
    }
    printf("framewright-gateway: serving /api/v2 on %s://%.*s:%d for gRPC %s\n", opts.tls_cert_file ? "https" : "http",
           (int)(strrchr(opts.listen, ':') - opts.listen), opts.listen, fw_gateway_port(gw), opts.grpc_address);
    fflush(stdout);
    sigwait(&stop, &sig);
    fw_gateway_stop(&gw);
    return 0;
}
