/* The local storage backend and its file server: objects round-trip, writes
 * are atomic, keys are checked, signed URLs work until they expire and not
 * when altered, and the file server answers a real HTTP client. */
#include <curl/curl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/storage/file_server.h"
#include "server/storage/storage.h"
#include "server/util/fs.h"
#include "tests/fw_test.h"

static long long fake_now = 1700000000;
static long long clock_now(void *arg) { (void)arg; return fake_now; }

static fw_storage *open_local(const char *root, const char *base)
{
    fw_storage_config c = {0};
    fw_storage *st = NULL;
    fw_error err;
    c.kind = FW_STORAGE_LOCAL;
    c.local_root = root;
    c.public_base_url = base;
    c.signing_secret = "0123456789abcdef-test-secret";
    c.now = clock_now;
    if (fw_storage_open(&st, &c, &err) != FW_OK)
        fprintf(stderr, "  open: %s\n", err.message);
    return st;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    size_t len;
    fw_error err;
    return fw_read_file(path, 1 << 26, &len, &err);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_put_get_stat_delete_round_trip(void)
{
    char root[512], src[512], dst[512];
    fw_storage *st;
    fw_storage_stat s;
    fw_error err;
    char *got;
    snprintf(root, sizeof(root), "%s/blobs", fw_test_tmpdir());
    snprintf(src, sizeof(src), "%s/src.txt", fw_test_tmpdir());
    snprintf(dst, sizeof(dst), "%s/dst.txt", fw_test_tmpdir());
    st = open_local(root, "http://127.0.0.1:1");
    FW_REQUIRE(st);
    write_text(src, "hello storage");
    FW_REQUIRE(fw_storage_put_file(st, "outputs/job1/result.txt", src, &err) == FW_OK);
    FW_CHECK(fw_storage_stat_key(st, "outputs/job1/result.txt", &s, &err) == FW_OK);
    FW_CHECK_INT(s.exists, 1);
    FW_CHECK_INT(s.size, 13);
    FW_REQUIRE(fw_storage_get_file(st, "outputs/job1/result.txt", dst, &err) == FW_OK);
    got = slurp(dst);
    FW_CHECK_STR(got, "hello storage");
    free(got);
    /* replacing */
    write_text(src, "v2");
    FW_CHECK(fw_storage_put_file(st, "outputs/job1/result.txt", src, &err) == FW_OK);
    FW_CHECK(fw_storage_stat_key(st, "outputs/job1/result.txt", &s, &err) == FW_OK);
    FW_CHECK_INT(s.size, 2);
    FW_CHECK(fw_storage_delete(st, "outputs/job1/result.txt", &err) == FW_OK);
    FW_CHECK(fw_storage_stat_key(st, "outputs/job1/result.txt", &s, &err) == FW_OK);
    FW_CHECK_INT(s.exists, 0);
    FW_CHECK(fw_storage_delete(st, "outputs/job1/result.txt", &err) == FW_OK); /* missing is fine */
    FW_CHECK(fw_storage_get_file(st, "outputs/job1/result.txt", dst, &err) == FW_ERR_NOT_FOUND);
    FW_CHECK_CONTAINS(err.message, "outputs/job1/result.txt");
    fw_storage_free(&st);
    FW_CHECK(st == NULL);
}

static void test_failed_writes_leave_nothing_behind(void)
{
    char root[512], dst[512], missing[512];
    fw_storage *st;
    fw_storage_stat s;
    fw_storage_upload *up = NULL;
    fw_error err;
    char *got;
    snprintf(root, sizeof(root), "%s/atomic", fw_test_tmpdir());
    snprintf(dst, sizeof(dst), "%s/atomic-dst.txt", fw_test_tmpdir());
    snprintf(missing, sizeof(missing), "%s/no-such-file", fw_test_tmpdir());
    st = open_local(root, "http://127.0.0.1:1");
    FW_REQUIRE(st);
    FW_CHECK(fw_storage_put_file(st, "a/b.txt", missing, &err) == FW_ERR_NOT_FOUND);
    FW_CHECK_CONTAINS(err.message, "a/b.txt");
    FW_CHECK(fw_storage_stat_key(st, "a/b.txt", &s, &err) == FW_OK && !s.exists);

    /* a streamed upload that is abandoned half way: no object, no temp file */
    FW_REQUIRE(fw_storage_upload_begin(st, "up/x.bin", &up, &err) == FW_OK);
    FW_CHECK(fw_storage_upload_write(up, "half", 4, &err) == FW_OK);
    FW_CHECK(fw_storage_stat_key(st, "up/x.bin", &s, &err) == FW_OK && !s.exists);
    fw_storage_upload_abort(&up);
    FW_CHECK(up == NULL);
    FW_CHECK(fw_storage_stat_key(st, "up/x.bin", &s, &err) == FW_OK && !s.exists);
    {
        char dir[600];
        snprintf(dir, sizeof(dir), "%s/up", root);
        FW_CHECK_INT(count_entries(dir), 0);
    }
    /* a get of a missing key leaves the destination as it was */
    write_text(dst, "keep me");
    FW_CHECK(fw_storage_get_file(st, "nothing/here", dst, &err) == FW_ERR_NOT_FOUND);
    got = slurp(dst);
    FW_CHECK_STR(got, "keep me");
    free(got);
    fw_storage_free(&st);
}

static void test_bad_keys_are_refused_by_name(void)
{
    static const char *bad[] = {"", "/abs", "a/../b", "..", "a//b", "a/./b", "a/", "x\\y", "a\nb", ".fw-tmp-1"};
    char long_key[FW_STORAGE_KEY_MAX + 2];
    fw_error err;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FW_CHECK_MSG(fw_storage_key_check(bad[i], &err) == FW_ERR_INVALID, "key %s", bad[i]);
        FW_CHECK_STR(err.field, "key");
    }
    FW_CHECK(fw_storage_key_check("a/../b", &err) == FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "\"a/../b\"");
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    FW_CHECK(fw_storage_key_check(long_key, &err) == FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "longer than 1024");
    FW_CHECK(fw_storage_key_check("outputs/01J/result.mp4", &err) == FW_OK);
    FW_CHECK(fw_storage_key_check("fonts/Noto Sans+Bold..ttf", &err) == FW_OK);
}

/* Splits a local signed URL into path and query for fw_storage_local_verify. */
static void split_url(const char *url, char *path, char *query)
{
    const char *p = strstr(url, "/files/"), *q = strchr(url, '?');
    snprintf(path, 2048, "%.*s", (int)(q - p), p);
    snprintf(query, 2048, "%s", q + 1);
}

static void test_signed_urls_expire_and_refuse_tampering(void)
{
    char root[512], path[2048], query[2048], key[FW_STORAGE_KEY_MAX + 1];
    fw_storage *st;
    char *url = NULL;
    fw_error err;
    snprintf(root, sizeof(root), "%s/signed", fw_test_tmpdir());
    st = open_local(root, "http://files.example:8080/");
    FW_REQUIRE(st);
    fake_now = 1700000000;
    FW_REQUIRE(fw_storage_signed_url(st, "outputs/a b.mp4", FW_STORAGE_GET, 60, &url, &err) == FW_OK);
    FW_CHECK_CONTAINS(url, "http://files.example:8080/files/outputs/a%20b.mp4?expires=1700000060&signature=");
    split_url(url, path, query);
    FW_CHECK(fw_storage_local_verify(st, "GET", path, query, key, &err) == FW_OK);
    FW_CHECK_STR(key, "outputs/a b.mp4");
    /* for GET only */
    FW_CHECK(fw_storage_local_verify(st, "PUT", path, query, key, &err) == FW_ERR_PERMISSION);
    /* a changed expiry or key breaks the signature */
    {
        char altered[2048];
        snprintf(altered, sizeof(altered), "expires=1700009999%s", strchr(query, '&'));
        FW_CHECK(fw_storage_local_verify(st, "GET", path, altered, key, &err) == FW_ERR_PERMISSION);
        FW_CHECK_CONTAINS(err.message, "does not match");
        FW_CHECK(fw_storage_local_verify(st, "GET", "/files/outputs/b.mp4", query, key, &err) == FW_ERR_PERMISSION);
        snprintf(altered, sizeof(altered), "%s", query);
        altered[strlen(altered) - 1] = altered[strlen(altered) - 1] == '0' ? '1' : '0';
        FW_CHECK(fw_storage_local_verify(st, "GET", path, altered, key, &err) == FW_ERR_PERMISSION);
        FW_CHECK(fw_storage_local_verify(st, "GET", path, "expires=1700000060", key, &err) == FW_ERR_UNAUTHENTICATED);
        FW_CHECK(fw_storage_local_verify(st, "GET", "/files/../etc/passwd", query, key, &err) == FW_ERR_INVALID);
    }
    /* the last second is still good, the one after is not */
    fake_now = 1700000060;
    FW_CHECK(fw_storage_local_verify(st, "GET", path, query, key, &err) == FW_OK);
    fake_now = 1700000061;
    FW_CHECK(fw_storage_local_verify(st, "GET", path, query, key, &err) == FW_ERR_DEADLINE);
    FW_CHECK_CONTAINS(err.message, "expired");
    free(url);
    FW_CHECK(fw_storage_signed_url(st, "x", FW_STORAGE_GET, 0, &url, &err) == FW_ERR_INVALID);
    FW_CHECK(fw_storage_signed_url(st, "/x", FW_STORAGE_GET, 10, &url, &err) == FW_ERR_INVALID);
    fw_storage_free(&st);
}

typedef struct body {
    char *data;
    size_t len;
} body;

static size_t collect(char *p, size_t s, size_t n, void *arg)
{
    body *b = arg;
    b->data = realloc(b->data, b->len + s * n + 1);
    memcpy(b->data + b->len, p, s * n);
    b->len += s * n;
    b->data[b->len] = '\0';
    return s * n;
}

/* GET (or PUT from put_path) url; returns the status, body into *out. */
static long http(const char *url, const char *put_path, const char *range, body *out, char *content_type)
{
    CURL *c = curl_easy_init();
    long status = 0;
    FILE *in = NULL;
    struct curl_slist *h = NULL;
    char *type = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (range)
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    if (put_path) {
        struct stat s;
        stat(put_path, &s);
        in = fopen(put_path, "rb");
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READDATA, in);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s.st_size);
        h = curl_slist_append(h, "Expect:");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (content_type) {
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
        snprintf(content_type, 128, "%s", type ? type : "");
    }
    curl_slist_free_all(h);
    if (in)
        fclose(in);
    curl_easy_cleanup(c);
    return status;
}

static void test_file_server_serves_signed_get_and_put(void)
{
    char root[512], src[512], base[64], type[128];
    fw_storage *st, *probe;
    fw_file_server *srv = NULL;
    fw_file_server_options options = {.max_upload_bytes = 1 << 20, .threads = 4};
    fw_storage_stat s;
    fw_error err;
    char *url = NULL;
    body b = {0};

    snprintf(root, sizeof(root), "%s/served", fw_test_tmpdir());
    snprintf(src, sizeof(src), "%s/served-src.json", fw_test_tmpdir());
    fake_now = (long long)time(NULL);
    /* the base URL needs the port, which is known only once listening: open twice */
    probe = open_local(root, "http://127.0.0.1:1");
    FW_REQUIRE(probe);
    FW_REQUIRE(fw_file_server_start(&srv, probe, "127.0.0.1:0", &options, &err) == FW_OK);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", fw_file_server_port(srv));
    st = open_local(root, base);
    FW_REQUIRE(st);

    write_text(src, "{\"frames\": 42}");
    FW_REQUIRE(fw_storage_put_file(st, "outputs/j/meta.json", src, &err) == FW_OK);
    FW_REQUIRE(fw_storage_signed_url(st, "outputs/j/meta.json", FW_STORAGE_GET, 60, &url, &err) == FW_OK);
    FW_CHECK_INT(http(url, NULL, NULL, &b, type), 200);
    FW_CHECK_STR(b.data, "{\"frames\": 42}");
    FW_CHECK_STR(type, "application/json");
    free(b.data), b = (body){0};
    FW_CHECK_INT(http(url, NULL, "2-7", &b, NULL), 206);
    FW_CHECK_STR(b.data, "frames");
    free(b.data), b = (body){0};
    /* tampered: 403 */
    url[strlen(url) - 1] = url[strlen(url) - 1] == 'a' ? 'b' : 'a';
    FW_CHECK_INT(http(url, NULL, NULL, &b, NULL), 403);
    FW_CHECK_CONTAINS(b.data, "does not match");
    free(b.data), b = (body){0};
    free(url);
    /* missing key: 404 */
    FW_REQUIRE(fw_storage_signed_url(st, "outputs/j/none.mp4", FW_STORAGE_GET, 60, &url, &err) == FW_OK);
    FW_CHECK_INT(http(url, NULL, NULL, &b, NULL), 404);
    free(b.data), b = (body){0};
    free(url);
    /* expired: 403 */
    fake_now -= 120;
    FW_REQUIRE(fw_storage_signed_url(st, "outputs/j/meta.json", FW_STORAGE_GET, 60, &url, &err) == FW_OK);
    fake_now += 120;
    FW_CHECK_INT(http(url, NULL, NULL, &b, NULL), 403);
    FW_CHECK_CONTAINS(b.data, "expired");
    free(b.data), b = (body){0};
    free(url);

    /* PUT with a PUT URL stores the body; a GET URL may not PUT */
    write_text(src, "uploaded bytes");
    FW_REQUIRE(fw_storage_signed_url(st, "uploads/u 1.txt", FW_STORAGE_PUT, 60, &url, &err) == FW_OK);
    FW_CHECK_INT(http(url, src, NULL, &b, NULL), 201);
    free(b.data), b = (body){0};
    free(url);
    FW_CHECK(fw_storage_stat_key(st, "uploads/u 1.txt", &s, &err) == FW_OK && s.exists && s.size == 14);
    FW_REQUIRE(fw_storage_signed_url(st, "uploads/u2.txt", FW_STORAGE_GET, 60, &url, &err) == FW_OK);
    FW_CHECK_INT(http(url, src, NULL, &b, NULL), 403);
    free(b.data), b = (body){0};
    free(url);
    FW_CHECK(fw_storage_stat_key(st, "uploads/u2.txt", &s, &err) == FW_OK && !s.exists);
    /* over the size limit: 413 and nothing stored */
    {
        FILE *f = fopen(src, "wb");
        for (int i = 0; i < (1 << 20) + 10; i++)
            fputc('z', f);
        fclose(f);
    }
    FW_REQUIRE(fw_storage_signed_url(st, "uploads/big.bin", FW_STORAGE_PUT, 60, &url, &err) == FW_OK);
    FW_CHECK_INT(http(url, src, NULL, &b, NULL), 413);
    free(b.data), b = (body){0};
    free(url);
    FW_CHECK(fw_storage_stat_key(st, "uploads/big.bin", &s, &err) == FW_OK && !s.exists);

    fw_file_server_stop(&srv);
    FW_CHECK(srv == NULL);
    fw_storage_free(&st);
    fw_storage_free(&probe);
}

static void test_content_types_come_from_the_extension(void)
{
    FW_CHECK_STR(fw_file_server_content_type("a/b.MP4"), "video/mp4");
    FW_CHECK_STR(fw_file_server_content_type("x.png"), "image/png");
    FW_CHECK_STR(fw_file_server_content_type("dir.d/noext"), "application/octet-stream");
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    FW_RUN(test_put_get_stat_delete_round_trip);
    FW_RUN(test_failed_writes_leave_nothing_behind);
    FW_RUN(test_bad_keys_are_refused_by_name);
    FW_RUN(test_signed_urls_expire_and_refuse_tampering);
    FW_RUN(test_file_server_serves_signed_get_and_put);
    FW_RUN(test_content_types_come_from_the_extension);
    curl_global_cleanup();
    return fw_test_end();
}
