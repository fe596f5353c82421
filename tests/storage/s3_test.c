/* The S3 backend against a real S3-compatible server that checks AWS
 * Signature Version 4: objects round-trip through single PUTs and multipart
 * uploads, presigned URLs work until they expire, a wrong secret is refused
 * with the server's own words, and a missing key is "not found".
 *
 * The server: the one named by FW_TEST_S3_ENDPOINT (with
 * FW_TEST_S3_ACCESS_KEY_ID, FW_TEST_S3_SECRET_ACCESS_KEY, and optionally
 * FW_TEST_S3_REGION and FW_TEST_S3_BUCKET, an existing bucket to use), or
 * else a private one started through tests/storage/s3/start.sh, which needs
 * Node.js. Without either the tests are skipped, saying why. */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/storage/sigv4.h"
#include "server/storage/storage.h"
#include "server/util/fs.h"
#include "tests/fw_test.h"

#define MIB (1024 * 1024)
#define TEST_SECRET "fw-test-secret-0123456789abcdef"

typedef struct test_server {
    int ready;
    int started_here;          /* ours to stop */
    int made_bucket;           /* ours to remove */
    char why_not[512];         /* when not ready: the reason, for the skips */
    int setup_failed;          /* not ready because something broke, not because Node.js is missing */
    char endpoint[256];
    char host[256];
    char region[64];
    char bucket[64];
    char access_key_id[128];
    char secret_access_key[256];
    char state_dir[1024];
    char script[1024];
} test_server;

static test_server server;

/* ---- the server ---- */

static const char *find_script(void)
{
    static const char relative[] = "tests/storage/s3/start.sh";
    const char *source = getenv("FW_SOURCE_DIR");
    /* Under Bazel the working folder is the runfiles tree, which holds the
     * script as a data dependency; run by hand, the source tree does. */
    if (access(relative, R_OK) == 0) {
        snprintf(server.script, sizeof(server.script), "%s", relative);
        return server.script;
    }
    if (source && *source) {
        snprintf(server.script, sizeof(server.script), "%s/%s", source, relative);
        if (access(server.script, R_OK) == 0)
            return server.script;
    }
    return NULL;
}

/* Run start.sh with args; its stdout (trimmed) into out. Returns its exit status, or -1. */
static int run_script(const char *const *args, char *out, size_t size)
{
    int fds[2], status = 0;
    size_t len = 0;
    pid_t pid;
    out[0] = '\0';
    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        const char *argv[8] = {"bash", server.script};
        for (int i = 0; args[i] && i < 5; i++)
            argv[i + 2] = args[i];
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv("/bin/bash", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], out + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == size - 1)
            break;
    }
    out[len] = '\0';
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int start_private_server(void)
{
    char pid[32];
    const char *tmp = getenv("TEST_TMPDIR");
    int rc;
    if (!find_script()) {
        snprintf(server.why_not, sizeof(server.why_not),
                 "no S3 server: FW_TEST_S3_ENDPOINT is not set and tests/storage/s3/start.sh was not found");
        return 0;
    }
    snprintf(server.access_key_id, sizeof(server.access_key_id), "FWTESTKEY%d", (int)getpid());
    snprintf(server.secret_access_key, sizeof(server.secret_access_key), "%s", TEST_SECRET);
    snprintf(server.state_dir, sizeof(server.state_dir), "%s/fw-s3-server-%d", tmp && *tmp ? tmp : "/tmp",
             (int)getpid());
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("FW_S3_OWNER_PID", pid, 1); /* the server ends itself if this test dies */
    {
        const char *args[] = {"start", "0", server.access_key_id, server.secret_access_key, server.state_dir, NULL};
        rc = run_script(args, server.endpoint, sizeof(server.endpoint));
    }
    if (rc == 3) {
        snprintf(server.why_not, sizeof(server.why_not),
                 "no S3 server: FW_TEST_S3_ENDPOINT is not set and Node.js is not installed to start one");
        return 0;
    }
    if (rc != 0 || strncmp(server.endpoint, "http://", 7) != 0) {
        snprintf(server.why_not, sizeof(server.why_not), "%s start failed (exit status %d); see its message above",
                 server.script, rc);
        server.setup_failed = 1;
        return 0;
    }
    server.started_here = 1;
    snprintf(server.region, sizeof(server.region), "us-east-1");
    return 1;
}

static void stop_private_server(void)
{
    char out[256];
    const char *args[] = {"stop", server.state_dir, NULL};
    if (server.started_here)
        run_script(args, out, sizeof(out));
}

/* ---- signed requests the storage API has no call for (buckets, HEAD) ---- */

typedef struct response {
    char *body;
    size_t len;
    char etag[256];
} response;

static size_t collect_body(char *data, size_t size, size_t count, void *arg)
{
    response *r = arg;
    size_t n = size * count;
    char *grown = realloc(r->body, r->len + n + 1);
    if (!grown)
        return 0;
    r->body = grown;
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t collect_header(char *line, size_t size, size_t count, void *arg)
{
    response *r = arg;
    size_t n = size * count;
    if (n > 5 && strncasecmp(line, "ETag:", 5) == 0) {
        size_t start = 5, end = n;
        while (start < end && line[start] == ' ')
            start++;
        while (end > start && (line[end - 1] == '\r' || line[end - 1] == '\n'))
            end--;
        snprintf(r->etag, sizeof(r->etag), "%.*s", (int)(end - start), line + start);
    }
    return n;
}

/* Fetch url with method (a plain GET, PUT of body, ...) and extra headers; the HTTP status or -1. */
static long http_call(const char *method, const char *url, struct curl_slist *headers, const char *body,
                      size_t body_len, response *r)
{
    CURL *curl = curl_easy_init();
    long status = -1;
    if (!curl)
        return -1;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    else if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    return status;
}

/* A request on path ("/bucket", "/bucket/key") signed with the test's
 * credentials and an empty body; the HTTP status or -1. */
static long signed_call(const char *method, const char *path, response *r)
{
    fw_sigv4_credentials credentials = {server.access_key_id, server.secret_access_key, server.region, "s3"};
    char amz_date[17], line[2300], url[1024];
    fw_sigv4_header headers[3] = {
        {"host", server.host}, {"x-amz-content-sha256", FW_SIGV4_EMPTY_SHA256}, {"x-amz-date", amz_date}};
    fw_sigv4_request request = {method, path, NULL, headers, 3, FW_SIGV4_EMPTY_SHA256};
    struct curl_slist *list = NULL;
    char *authorization = NULL;
    fw_error err;
    long status;

    fw_sigv4_format_date((long long)time(NULL), amz_date);
    if (fw_sigv4_authorization(&credentials, amz_date, &request, &authorization, &err) != FW_OK)
        return -1;
    snprintf(line, sizeof(line), "Authorization: %s", authorization);
    list = curl_slist_append(list, line);
    list = curl_slist_append(list, "x-amz-content-sha256: " FW_SIGV4_EMPTY_SHA256);
    snprintf(line, sizeof(line), "x-amz-date: %s", amz_date);
    list = curl_slist_append(list, line);
    list = curl_slist_append(list, "Content-Type:");
    snprintf(url, sizeof(url), "%s%s", server.endpoint, path);
    status = http_call(method, url, list, strcmp(method, "PUT") == 0 ? "" : NULL, 0, r);
    curl_slist_free_all(list);
    free(authorization);
    return status;
}

static void setup(void)
{
    const char *endpoint = getenv("FW_TEST_S3_ENDPOINT");
    const char *bucket = getenv("FW_TEST_S3_BUCKET");
    const char *authority;
    char path[128];
    response r = {0};
    long status;

    if (endpoint && *endpoint) {
        const char *key = getenv("FW_TEST_S3_ACCESS_KEY_ID"), *secret = getenv("FW_TEST_S3_SECRET_ACCESS_KEY");
        const char *region = getenv("FW_TEST_S3_REGION");
        if (!key || !*key || !secret || !*secret) {
            snprintf(server.why_not, sizeof(server.why_not),
                     "FW_TEST_S3_ENDPOINT is set but FW_TEST_S3_ACCESS_KEY_ID or FW_TEST_S3_SECRET_ACCESS_KEY "
                     "is not");
            server.setup_failed = 1;
            return;
        }
        snprintf(server.endpoint, sizeof(server.endpoint), "%s", endpoint);
        snprintf(server.access_key_id, sizeof(server.access_key_id), "%s", key);
        snprintf(server.secret_access_key, sizeof(server.secret_access_key), "%s", secret);
        snprintf(server.region, sizeof(server.region), "%s", region && *region ? region : "us-east-1");
    } else if (!start_private_server()) {
        return;
    }
    authority = strstr(server.endpoint, "://") + 3;
    snprintf(server.host, sizeof(server.host), "%.*s", (int)strcspn(authority, "/"), authority);

    if (bucket && *bucket) {
        snprintf(server.bucket, sizeof(server.bucket), "%s", bucket);
    } else {
        snprintf(server.bucket, sizeof(server.bucket), "fw-test-%d-%ld", (int)getpid(), (long)time(NULL));
        snprintf(path, sizeof(path), "/%s", server.bucket);
        status = signed_call("PUT", path, &r);
        if (status != 200) {
            snprintf(server.why_not, sizeof(server.why_not), "creating bucket %s at %s answered %ld: %.300s",
                     server.bucket, server.endpoint, status, r.body ? r.body : "");
            server.setup_failed = 1;
            free(r.body);
            return;
        }
        server.made_bucket = 1;
        free(r.body);
    }
    server.ready = 1;
}

static void teardown(void)
{
    char path[128];
    response r = {0};
    if (server.made_bucket) {
        snprintf(path, sizeof(path), "/%s", server.bucket);
        signed_call("DELETE", path, &r); /* fails when a test left an object: then the server's folder goes anyway */
        free(r.body);
    }
    stop_private_server();
}

/* ---- helpers ---- */

static long long clock_now(void *arg) { return *(long long *)arg; }

/* A storage on the test bucket with secret (NULL: the right one), part
 * size part_size (0: the default) and, when now is non-NULL, that clock. */
static fw_storage *open_s3(const char *secret, uint64_t part_size, long long *now, fw_error *err)
{
    fw_storage_config c = {0};
    fw_storage *st = NULL;
    c.kind = FW_STORAGE_S3;
    c.s3.endpoint = server.endpoint;
    c.s3.region = server.region;
    c.s3.bucket = server.bucket;
    c.s3.access_key_id = server.access_key_id;
    c.s3.secret_access_key = secret ? secret : server.secret_access_key;
    c.s3.key_prefix = "framewright-test/";
    c.s3.part_size = part_size;
    c.s3.timeout_seconds = 60;
    if (now) {
        c.now = clock_now;
        c.now_arg = now;
    }
    if (fw_storage_open(&st, &c, err) != FW_OK)
        fprintf(stderr, "  open: %s\n", err->message);
    return st;
}

/* A file of size bytes that differ from any other test's (seeded). */
static int write_pattern(const char *path, size_t size, unsigned seed)
{
    FILE *f = fopen(path, "wb");
    unsigned x = seed * 2654435761u + 1;
    if (!f)
        return 0;
    for (size_t i = 0; i < size; i++) {
        x = x * 1103515245u + 12345u;
        fputc((int)(x >> 16) & 0xff, f);
    }
    return fclose(f) == 0;
}

/* Whether two files hold the same bytes. */
static int same_bytes(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    fw_error err;
    char *da = fw_read_file(a, 64 * MIB, &la, &err), *db = fw_read_file(b, 64 * MIB, &lb, &err);
    int same = da && db && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

static int count_lines_with(const char *path, const char *a, const char *b)
{
    char line[4096];
    int n = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, a) && (!b || strstr(line, b)))
            n++;
    fclose(f);
    return n;
}

#define NEED_SERVER()                                                                                    \
    do {                                                                                                 \
        if (!server.ready)                                                                               \
            FW_SKIP(server.why_not);                                                                     \
    } while (0)

/* ---- tests ---- */

static void test_server_is_reachable_when_configured(void)
{
    if (!server.ready && !server.setup_failed)
        FW_SKIP(server.why_not);
    FW_CHECK_MSG(server.ready, "%s", server.why_not);
}

static void test_put_get_stat_delete_round_trip(void)
{
    const char *key = "outputs/run 1/résumé+final.bin";
    char src[512], dst[512];
    fw_storage_stat s = {0};
    fw_storage *st;
    fw_error err;
    NEED_SERVER();
    snprintf(src, sizeof(src), "%s/src.bin", fw_test_tmpdir());
    snprintf(dst, sizeof(dst), "%s/dst.bin", fw_test_tmpdir());
    FW_REQUIRE(write_pattern(src, 100 * 1000 + 7, 1));
    st = open_s3(NULL, 0, NULL, &err);
    FW_REQUIRE(st);

    FW_CHECK_MSG(fw_storage_put_file(st, key, src, &err) == FW_OK, "%s", err.message);
    FW_CHECK_MSG(fw_storage_stat_key(st, key, &s, &err) == FW_OK, "%s", err.message);
    FW_CHECK_INT(s.exists, 1);
    FW_CHECK_INT(s.size, 100 * 1000 + 7);
    FW_CHECK_MSG(fw_storage_get_file(st, key, dst, &err) == FW_OK, "%s", err.message);
    FW_CHECK(same_bytes(src, dst));

    /* A second PUT replaces the object whole. */
    FW_REQUIRE(write_pattern(src, 5000, 2));
    FW_CHECK_MSG(fw_storage_put_file(st, key, src, &err) == FW_OK, "%s", err.message);
    FW_CHECK_MSG(fw_storage_get_file(st, key, dst, &err) == FW_OK, "%s", err.message);
    FW_CHECK(same_bytes(src, dst));

    FW_CHECK_MSG(fw_storage_delete(st, key, &err) == FW_OK, "%s", err.message);
    s.exists = 1;
    FW_CHECK_MSG(fw_storage_stat_key(st, key, &s, &err) == FW_OK, "%s", err.message);
    FW_CHECK_INT(s.exists, 0);
    /* Deleting what is not there is no error. */
    FW_CHECK_MSG(fw_storage_delete(st, key, &err) == FW_OK, "%s", err.message);
    fw_storage_free(&st);
    FW_CHECK(st == NULL);
}

static void test_empty_file_round_trips(void)
{
    char src[512], dst[512];
    fw_storage_stat s = {0};
    fw_storage *st;
    fw_error err;
    NEED_SERVER();
    snprintf(src, sizeof(src), "%s/empty", fw_test_tmpdir());
    snprintf(dst, sizeof(dst), "%s/empty.out", fw_test_tmpdir());
    FW_REQUIRE(write_pattern(src, 0, 3));
    st = open_s3(NULL, 0, NULL, &err);
    FW_REQUIRE(st);
    FW_CHECK_MSG(fw_storage_put_file(st, "empty/zero.txt", src, &err) == FW_OK, "%s", err.message);
    FW_CHECK_MSG(fw_storage_stat_key(st, "empty/zero.txt", &s, &err) == FW_OK, "%s", err.message);
    FW_CHECK_INT(s.exists, 1);
    FW_CHECK_INT(s.size, 0);
    FW_CHECK_MSG(fw_storage_get_file(st, "empty/zero.txt", dst, &err) == FW_OK, "%s", err.message);
    FW_CHECK(access(dst, F_OK) == 0 && same_bytes(src, dst));
    fw_storage_delete(st, "empty/zero.txt", &err);
    fw_storage_free(&st);
}

static void test_multipart_upload_of_12_mib_reads_back_identical(void)
{
    const char *key = "outputs/big/video.mp4";
    char src[512], dst[512], log[1100];
    fw_storage_stat s = {0};
    fw_storage *st;
    fw_error err;
    NEED_SERVER();
    snprintf(src, sizeof(src), "%s/big.bin", fw_test_tmpdir());
    snprintf(dst, sizeof(dst), "%s/big.out", fw_test_tmpdir());
    FW_REQUIRE(write_pattern(src, 12 * MIB, 4));
    st = open_s3(NULL, 5 * MIB, NULL, &err);
    FW_REQUIRE(st);

    FW_REQUIRE(fw_storage_put_file(st, key, src, &err) == FW_OK);
    FW_CHECK_MSG(fw_storage_stat_key(st, key, &s, &err) == FW_OK, "%s", err.message);
    FW_CHECK_INT(s.exists, 1);
    FW_CHECK_INT(s.size, 12 * MIB);
    FW_CHECK_MSG(fw_storage_get_file(st, key, dst, &err) == FW_OK, "%s", err.message);
    FW_CHECK(same_bytes(src, dst));

    if (server.started_here) {
        /* What went over the wire: one upload started, parts 1..3 (5, 5 and 2
         * MiB), one completion, and no single PUT of the whole file. */
        snprintf(log, sizeof(log), "%s/requests.log", server.state_dir);
        FW_CHECK_INT(count_lines_with(log, "POST /", "video.mp4?uploads"), 1);
        FW_CHECK_INT(count_lines_with(log, "PUT /", "partNumber=1&"), 1);
        FW_CHECK_INT(count_lines_with(log, "PUT /", "partNumber=2&"), 1);
        FW_CHECK_INT(count_lines_with(log, "PUT /", "partNumber=3&"), 1);
        FW_CHECK_INT(count_lines_with(log, "PUT /", "partNumber=4&"), 0);
        FW_CHECK_INT(count_lines_with(log, "POST /", "video.mp4?uploadId="), 1);
        FW_CHECK_INT(count_lines_with(log, "PUT /", "video.mp4 "), 0);
    } else {
        /* AWS and most servers mark a multipart object's ETag with its part count. */
        response r = {0};
        char path[512];
        snprintf(path, sizeof(path), "/%s/framewright-test/%s", server.bucket, key);
        FW_CHECK_INT(signed_call("HEAD", path, &r), 200);
        if (strchr(r.etag, '-'))
            FW_CHECK_CONTAINS(r.etag, "-3\"");
        free(r.body);
    }
    FW_CHECK_MSG(fw_storage_delete(st, key, &err) == FW_OK, "%s", err.message);
    fw_storage_free(&st);
}

static void test_presigned_get_works_until_it_expires(void)
{
    const char *key = "outputs/shared/preview.png";
    char src[512];
    char *url = NULL, *again = NULL, *expected = NULL;
    size_t expected_len = 0;
    response before = {0}, after = {0};
    fw_storage *st;
    fw_error err;
    NEED_SERVER();
    snprintf(src, sizeof(src), "%s/preview.png", fw_test_tmpdir());
    FW_REQUIRE(write_pattern(src, 40000, 5));
    expected = fw_read_file(src, MIB, &expected_len, &err);
    FW_REQUIRE(expected);
    st = open_s3(NULL, 0, NULL, &err);
    FW_REQUIRE(st);
    FW_REQUIRE(fw_storage_put_file(st, key, src, &err) == FW_OK);

    FW_REQUIRE(fw_storage_signed_url(st, key, FW_STORAGE_GET, 3, &url, &err) == FW_OK);
    FW_CHECK_CONTAINS(url, "X-Amz-Signature=");
    FW_CHECK(!strstr(url, server.secret_access_key));
    FW_CHECK_INT(http_call("GET", url, NULL, NULL, 0, &before), 200);
    FW_CHECK_INT(before.len, expected_len);
    FW_CHECK(before.body && before.len == expected_len && memcmp(before.body, expected, expected_len) == 0);

    /* The same URL once its three seconds are over. */
    sleep(5);
    FW_CHECK_INT(http_call("GET", url, NULL, NULL, 0, &after), 403);
    FW_CHECK_CONTAINS(after.body, "AccessDenied");
    FW_CHECK(!after.body || !memmem(after.body, after.len, expected, 64));

    /* A fresh one is good again. */
    free(before.body);
    before = (response){0};
    FW_REQUIRE(fw_storage_signed_url(st, key, FW_STORAGE_GET, 600, &again, &err) == FW_OK);
    FW_CHECK_INT(http_call("GET", again, NULL, NULL, 0, &before), 200);

    fw_storage_delete(st, key, &err);
    fw_storage_free(&st);
    free(url);
    free(again);
    free(expected);
    free(before.body);
    free(after.body);
}

static void test_presigned_url_dated_in_the_past_has_expired(void)
{
    long long an_hour_ago = (long long)time(NULL) - 3600;
    char src[512], *url = NULL;
    response r = {0};
    fw_storage *st, *past;
    fw_error err;
    NEED_SERVER();
    snprintf(src, sizeof(src), "%s/old.txt", fw_test_tmpdir());
    FW_REQUIRE(write_pattern(src, 1000, 6));
    st = open_s3(NULL, 0, NULL, &err);
    past = open_s3(NULL, 0, &an_hour_ago, &err);
    FW_REQUIRE(st && past);
    FW_REQUIRE(fw_storage_put_file(st, "old.txt", src, &err) == FW_OK);
    /* Signed an hour ago for ten minutes: over for fifty. */
    FW_REQUIRE(fw_storage_signed_url(past, "old.txt", FW_STORAGE_GET, 600, &url, &err) == FW_OK);
    FW_CHECK_INT(http_call("GET", url, NULL, NULL, 0, &r), 403);
    FW_CHECK_CONTAINS(r.body, "AccessDenied");
    fw_storage_delete(st, "old.txt", &err);
    fw_storage_free(&st);
    fw_storage_free(&past);
    free(url);
    free(r.body);
}

static void test_presigned_put_uploads_and_a_tampered_one_is_refused(void)
{
    const char *key = "uploads/user/clip.mov";
    static const char body[] = "bytes a browser uploads with a presigned PUT";
    char dst[512], *url = NULL, *tampered = NULL, *got = NULL, *sig;
    size_t len = 0;
    response r = {0}, bad = {0};
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type:");
    fw_storage *st;
    fw_error err;
    NEED_SERVER();
    snprintf(dst, sizeof(dst), "%s/clip.mov", fw_test_tmpdir());
    st = open_s3(NULL, 0, NULL, &err);
    FW_REQUIRE(st);
    FW_REQUIRE(fw_storage_signed_url(st, key, FW_STORAGE_PUT, 300, &url, &err) == FW_OK);

    /* One changed digit of the signature: refused, and nothing stored. */
    tampered = strdup(url);
    FW_REQUIRE(tampered);
    sig = strstr(tampered, "X-Amz-Signature=");
    FW_REQUIRE(sig);
    sig += strlen("X-Amz-Signature=");
    *sig = *sig == '0' ? '1' : '0';
    FW_CHECK_INT(http_call("PUT", tampered, headers, body, sizeof(body) - 1, &bad), 403);
    FW_CHECK_CONTAINS(bad.body, "SignatureDoesNotMatch");
    FW_CHECK_INT(fw_storage_get_file(st, key, dst, &err), FW_ERR_NOT_FOUND);

    FW_CHECK_INT(http_call("PUT", url, headers, body, sizeof(body) - 1, &r), 200);
    FW_CHECK_MSG(fw_storage_get_file(st, key, dst, &err) == FW_OK, "%s", err.message);
    got = fw_read_file(dst, MIB, &len, &err);
    FW_CHECK(got && len == sizeof(body) - 1 && memcmp(got, body, len) == 0);

    fw_storage_delete(st, key, &err);
    fw_storage_free(&st);
    curl_slist_free_all(headers);
    free(url);
    free(tampered);
    free(got);
    free(r.body);
    free(bad.body);
}

static void test_wrong_secret_is_refused_with_the_servers_words(void)
{
    const char *wrong = "not-the-secret-XYZ-0000000000";
    char src[512], dst[512];
    fw_storage_stat s = {0};
    fw_storage *bad, *good;
    fw_error err;
    NEED_SERVER();
    snprintf(src, sizeof(src), "%s/secret.txt", fw_test_tmpdir());
    snprintf(dst, sizeof(dst), "%s/secret.out", fw_test_tmpdir());
    FW_REQUIRE(write_pattern(src, 2000, 7));
    bad = open_s3(wrong, 5 * MIB, NULL, &err);
    good = open_s3(NULL, 0, NULL, &err);
    FW_REQUIRE(bad && good);

    FW_CHECK_INT(fw_storage_put_file(bad, "refused/a.txt", src, &err), FW_ERR_PERMISSION);
    FW_CHECK_CONTAINS(err.message, "HTTP 403");
    FW_CHECK_CONTAINS(err.message, "SignatureDoesNotMatch");
    FW_CHECK_CONTAINS(err.message, "does not match the signature you provided");
    FW_CHECK_CONTAINS(err.message, "refused/a.txt");
    FW_CHECK_STR(err.field, "key");
    FW_CHECK(!strstr(err.message, wrong));
    FW_CHECK(!strstr(err.message, server.secret_access_key));
    /* Nothing was stored. */
    FW_CHECK_MSG(fw_storage_stat_key(good, "refused/a.txt", &s, &err) == FW_OK, "%s", err.message);
    FW_CHECK_INT(s.exists, 0);

    /* Reads, stats and deletes are refused the same way, never taken for "missing". */
    FW_REQUIRE(fw_storage_put_file(good, "refused/b.txt", src, &err) == FW_OK);
    FW_CHECK_INT(fw_storage_get_file(bad, "refused/b.txt", dst, &err), FW_ERR_PERMISSION);
    FW_CHECK_CONTAINS(err.message, "SignatureDoesNotMatch");
    FW_CHECK(!strstr(err.message, wrong));
    FW_CHECK(access(dst, F_OK) != 0);
    FW_CHECK_INT(fw_storage_stat_key(bad, "refused/b.txt", &s, &err), FW_ERR_PERMISSION);
    FW_CHECK_INT(fw_storage_delete(bad, "refused/b.txt", &err), FW_ERR_PERMISSION);
    s.exists = 0;
    FW_CHECK_MSG(fw_storage_stat_key(good, "refused/b.txt", &s, &err) == FW_OK, "%s", err.message);
    FW_CHECK_INT(s.exists, 1);

    fw_storage_delete(good, "refused/b.txt", &err);
    fw_storage_free(&bad);
    fw_storage_free(&good);
}

static void test_wrong_secret_multipart_is_refused_and_leaves_nothing(void)
{
    const char *wrong = "another-wrong-secret-1111111111";
    char src[512];
    fw_storage_stat s = {0};
    fw_storage *bad, *good;
    fw_error err;
    NEED_SERVER();
    snprintf(src, sizeof(src), "%s/big.bin", fw_test_tmpdir());
    FW_REQUIRE(write_pattern(src, 6 * MIB, 8));
    bad = open_s3(wrong, 5 * MIB, NULL, &err);
    good = open_s3(NULL, 0, NULL, &err);
    FW_REQUIRE(bad && good);
    FW_CHECK_INT(fw_storage_put_file(bad, "refused/big.bin", src, &err), FW_ERR_PERMISSION);
    FW_CHECK_CONTAINS(err.message, "SignatureDoesNotMatch");
    FW_CHECK(!strstr(err.message, wrong));
    FW_CHECK_MSG(fw_storage_stat_key(good, "refused/big.bin", &s, &err) == FW_OK, "%s", err.message);
    FW_CHECK_INT(s.exists, 0);
    fw_storage_free(&bad);
    fw_storage_free(&good);
}

static void test_unknown_access_key_is_refused(void)
{
    fw_storage_config c = {0};
    fw_storage *st = NULL;
    fw_storage_stat s = {0};
    fw_error err;
    NEED_SERVER();
    c.kind = FW_STORAGE_S3;
    c.s3.endpoint = server.endpoint;
    c.s3.region = server.region;
    c.s3.bucket = server.bucket;
    c.s3.access_key_id = "FWNOSUCHKEY";
    c.s3.secret_access_key = server.secret_access_key;
    FW_REQUIRE(fw_storage_open(&st, &c, &err) == FW_OK);
    FW_CHECK_INT(fw_storage_stat_key(st, "anything.txt", &s, &err), FW_ERR_PERMISSION);
    FW_CHECK_INT(fw_storage_delete(st, "anything.txt", &err), FW_ERR_PERMISSION);
    FW_CHECK_CONTAINS(err.message, "InvalidAccessKeyId");
    FW_CHECK(!strstr(err.message, server.secret_access_key));
    fw_storage_free(&st);
}

static void test_missing_key_is_not_found_and_writes_nothing(void)
{
    char dst[512];
    fw_storage_stat s = {0};
    fw_storage *st;
    fw_error err;
    NEED_SERVER();
    snprintf(dst, sizeof(dst), "%s/never.bin", fw_test_tmpdir());
    st = open_s3(NULL, 0, NULL, &err);
    FW_REQUIRE(st);
    FW_CHECK_INT(fw_storage_get_file(st, "outputs/no/such/file.mp4", dst, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_CONTAINS(err.message, "outputs/no/such/file.mp4");
    FW_CHECK_CONTAINS(err.message, "HTTP 404");
    FW_CHECK_CONTAINS(err.message, "NoSuchKey");
    FW_CHECK(access(dst, F_OK) != 0);
    s.exists = 1;
    FW_CHECK_INT(fw_storage_stat_key(st, "outputs/no/such/file.mp4", &s, &err), FW_OK);
    FW_CHECK_INT(s.exists, 0);
    fw_storage_free(&st);
}

static void test_missing_bucket_is_not_found(void)
{
    fw_storage_config c = {0};
    fw_storage *st = NULL;
    char dst[512];
    fw_error err;
    NEED_SERVER();
    snprintf(dst, sizeof(dst), "%s/x.bin", fw_test_tmpdir());
    c.kind = FW_STORAGE_S3;
    c.s3.endpoint = server.endpoint;
    c.s3.region = server.region;
    c.s3.bucket = "fw-test-no-such-bucket";
    c.s3.access_key_id = server.access_key_id;
    c.s3.secret_access_key = server.secret_access_key;
    FW_REQUIRE(fw_storage_open(&st, &c, &err) == FW_OK);
    FW_CHECK_INT(fw_storage_get_file(st, "a.txt", dst, &err), FW_ERR_NOT_FOUND);
    FW_CHECK_CONTAINS(err.message, "NoSuchBucket");
    fw_storage_free(&st);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    setup();
    FW_RUN(test_server_is_reachable_when_configured);
    FW_RUN(test_put_get_stat_delete_round_trip);
    FW_RUN(test_empty_file_round_trips);
    FW_RUN(test_multipart_upload_of_12_mib_reads_back_identical);
    FW_RUN(test_presigned_get_works_until_it_expires);
    FW_RUN(test_presigned_url_dated_in_the_past_has_expired);
    FW_RUN(test_presigned_put_uploads_and_a_tampered_one_is_refused);
    FW_RUN(test_wrong_secret_is_refused_with_the_servers_words);
    FW_RUN(test_wrong_secret_multipart_is_refused_and_leaves_nothing);
    FW_RUN(test_unknown_access_key_is_refused);
    FW_RUN(test_missing_key_is_not_found_and_writes_nothing);
    FW_RUN(test_missing_bucket_is_not_found);
    teardown();
    curl_global_cleanup();
    return fw_test_end();
}
