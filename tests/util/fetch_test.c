/* Fetching job files: paths, file://, data: URLs and http(s) from a real
 * HTTP server on loopback; a failed fetch leaves nothing behind. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <limits.h>
#include <unistd.h>

#include "server/util/fetch.h"
#include "server/util/fs.h"
#include "tests/fw_test.h"

#define FW_REQUIRE_MSG_OK(call, e) do { if ((call) != FW_OK) { fprintf(stderr, "  %s\n", (e).message); FW_REQUIRE(0); } } while (0)

static int listener;
static int port;

/* Answers GET /hello.txt with "hello", /big with 1 MiB, /busy 503, anything else 404.
 * Serves connections until the listener is closed. */
static void *serve(void *arg)
{
    static char big[1 << 20];
    (void)arg;
    memset(big, 'x', sizeof(big));
    for (;;) {
        char req[2048], head[256];
        const char *body;
        size_t body_len;
        int status = 200;
        ssize_t n;
        int c = accept(listener, NULL, NULL);
        if (c < 0)
            return NULL;
        n = recv(c, req, sizeof(req) - 1, 0);
        req[n > 0 ? n : 0] = '\0';
        if (strncmp(req, "GET /hello.txt", 14) == 0) {
            body = "hello";
            body_len = 5;
        } else if (strncmp(req, "GET /big ", 9) == 0) {
            body = big;
            body_len = sizeof(big);
        } else if (strncmp(req, "GET /busy ", 10) == 0) {
            status = 503;
            body = "later";
            body_len = 5;
        } else {
            status = 404;
            body = "missing";
            body_len = 7;
        }
        snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                 body_len);
        if (send(c, head, strlen(head), MSG_NOSIGNAL) > 0)
            (void)!send(c, body, body_len, MSG_NOSIGNAL);
        close(c);
    }
}

static char *slurp(const char *path, size_t *len)
{
    fw_error err;
    return fw_read_file(path, 1 << 24, len, &err);
}

static void test_data_urls_decode_base64_and_percent_encoding(void)
{
    const char *dir = fw_test_tmpdir();
    char dest[512];
    fw_error err;
    size_t len;
    char *got;

    snprintf(dest, sizeof(dest), "%s/a", dir);
    FW_REQUIRE(fw_fetch("data:text/plain;base64,SGVsbG8sIHdvcmxkIQ==", dest, NULL, "src", &err) == FW_OK);
    got = slurp(dest, &len);
    FW_CHECK_STR(got, "Hello, world!");
    free(got);
    FW_REQUIRE(fw_fetch("data:,a%20b%2Cc", dest, NULL, "src", &err) == FW_OK);
    got = slurp(dest, &len);
    FW_CHECK_STR(got, "a b,c");
    free(got);
    FW_CHECK(fw_fetch("data:;base64,@@@", dest, NULL, "assets[1].src", &err) == FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[1].src");
    fw_remove_tree(dir);
}

static void test_local_paths_resolve_against_the_base_folder_and_can_be_refused(void)
{
    const char *dir = fw_test_tmpdir();
    char src[512], dest[512], url[600];
    fw_fetch_options o = {.base_dir = dir, .allow_local = 1};
    char local[PATH_MAX];
    fw_error err;
    size_t len;
    char *got;
    FILE *f;

    snprintf(src, sizeof(src), "%s/in.txt", dir);
    f = fopen(src, "w");
    fputs("local", f);
    fclose(f);
    snprintf(dest, sizeof(dest), "%s/out.txt", dir);
    FW_REQUIRE(fw_fetch("in.txt", dest, &o, "src", &err) == FW_OK);
    got = slurp(dest, &len);
    FW_CHECK_STR(got, "local");
    free(got);
    snprintf(url, sizeof(url), "file://%s", src);
    FW_CHECK(fw_fetch(url, dest, &o, "src", &err) == FW_OK);
    FW_CHECK(fw_fetch("missing.txt", dest, &o, "template.src", &err) == FW_ERR_NOT_FOUND);
    FW_CHECK_STR(err.field, "template.src");
    /* Relative paths stay inside the base folder. */
    FW_CHECK(fw_fetch("../in.txt", dest, &o, "src", &err) == FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "climbs out");
    FW_REQUIRE(fw_fetch_local_path("in.txt", &o, local, sizeof(local), "src", &err) == FW_OK);
    FW_CHECK(local[0] == '/' && strstr(local, "/in.txt"));
    /* Without allow_local, only relative paths are local files we read. */
    o.allow_local = 0;
    FW_CHECK(fw_fetch(src, dest, &o, "src", &err) == FW_ERR_PERMISSION);
    FW_CHECK(fw_fetch(url, dest, &o, "src", &err) == FW_ERR_PERMISSION);
    FW_CHECK(fw_fetch("in.txt", dest, &o, "src", &err) == FW_OK);
    FW_CHECK(fw_fetch("ftp://example.invalid/x", dest, NULL, "src", &err) == FW_ERR_UNSUPPORTED);
    fw_remove_tree(dir);
}

static void test_http_fetches_bodies_and_reports_status_and_size_limits(void)
{
    const char *dir = fw_test_tmpdir();
    fw_fetch_options o = {.max_bytes = 1000, .timeout_ms = 10000};
    char url[128], dest[512];
    fw_error err;
    size_t len;
    char *got;

    snprintf(dest, sizeof(dest), "%s/body", dir);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello.txt?v=2", port);
    FW_REQUIRE_MSG_OK(fw_fetch(url, dest, &o, "src", &err), err);
    got = slurp(dest, &len);
    FW_CHECK_STR(got, "hello");
    free(got);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/nothing.png", port);
    FW_CHECK(fw_fetch(url, dest, &o, "assets[0].src", &err) == FW_ERR_NOT_FOUND);
    FW_CHECK_CONTAINS(err.message, "404");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", port);
    FW_CHECK(fw_fetch(url, dest, &o, "assets[0].src", &err) == FW_ERR_LIMIT);
    /* The earlier good file is still whole, and no partial file is left. */
    got = slurp(dest, &len);
    FW_CHECK_STR(got, "hello");
    free(got);
    {
        int n = 0;
        DIR *d = opendir(dir);
        struct dirent *e;
        while ((e = readdir(d)))
            n += e->d_name[0] != '.';
        closedir(d);
        FW_CHECK_INT(n, 1);
    }
    fw_remove_tree(dir);
}

static void test_probe_tells_missing_from_maybe_later(void)
{
    char url[128], why[200];
    long status;
    int closed = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(addr);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", port);
    FW_CHECK_INT(fw_fetch_probe(url, NULL, 5000, &status, why, sizeof(why)), FW_PROBE_OK); /* not the whole MiB */
    FW_CHECK_INT(status, 200);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/nothing.mp4", port);
    FW_CHECK_INT(fw_fetch_probe(url, NULL, 5000, &status, why, sizeof(why)), FW_PROBE_MISSING);
    FW_CHECK_CONTAINS(why, "404");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/busy", port);
    FW_CHECK_INT(fw_fetch_probe(url, NULL, 5000, &status, why, sizeof(why)), FW_PROBE_UNKNOWN);
    FW_CHECK_CONTAINS(why, "503");
    /* a port nobody listens on: bound, never listened to */
    FW_REQUIRE(closed >= 0 && bind(closed, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
               getsockname(closed, (struct sockaddr *)&addr, &alen) == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x.mp4", ntohs(addr.sin_port));
    FW_CHECK_INT(fw_fetch_probe(url, NULL, 5000, &status, why, sizeof(why)), FW_PROBE_MISSING);
    close(closed);
}

static void test_basename_drops_query_and_fragment(void)
{
    char buf[64];
    FW_CHECK_STR(fw_fetch_basename("https://x/y/logo.png?v=2#top", buf, sizeof(buf)), "logo.png");
    FW_CHECK_STR(fw_fetch_basename("data:image/png;base64,AAAA", buf, sizeof(buf)), "");
    FW_CHECK_STR(fw_fetch_basename("fonts/My Font.ttf", buf, sizeof(buf)), "My Font.ttf");
}

int main(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(addr);
    pthread_t server;

    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(listener, 8) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &alen) != 0)
        return 1;
    port = ntohs(addr.sin_port);
    pthread_create(&server, NULL, serve, NULL);

    FW_RUN(test_data_urls_decode_base64_and_percent_encoding);
    FW_RUN(test_local_paths_resolve_against_the_base_folder_and_can_be_refused);
    FW_RUN(test_http_fetches_bodies_and_reports_status_and_size_limits);
    FW_RUN(test_probe_tells_missing_from_maybe_later);
    FW_RUN(test_basename_drops_query_and_fragment);

    shutdown(listener, SHUT_RDWR);
    close(listener);
    pthread_join(server, NULL);
    return fw_test_end();
}
