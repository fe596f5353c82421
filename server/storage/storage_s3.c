/*
 * storage_s3.c - the S3 backend: objects in an S3-compatible bucket, over
 * libcurl, every request signed with SigV4 (sigv4.c).
 *
 * Small files go up in one PUT whose body hash is signed. Files above the
 * multipart threshold go up in parts (CreateMultipartUpload, UploadPart for
 * each part with its own signed hash, CompleteMultipartUpload); on any
 * failure the upload is aborted so no parts are left billed and nothing
 * appears under the key. Downloads stream into a temporary file renamed
 * into place when whole.
 *
 * An S3 error body (<Error><Code>..</Code><Message>..</Message></Error>)
 * ends up in the fw_error with the HTTP status. The secret key is only ever
 * an HMAC key: it is in no URL, header, error or log line.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/storage/sigv4.h"
#include "server/storage/storage_internal.h"
#include "server/util/log.h"
#include "server/util/urlpolicy.h"

#define MIB (1024ull * 1024ull)
#define DEFAULT_PART_SIZE (16 * MIB)
#define MIN_PART_SIZE (5 * MIB)
#define MAX_PARTS 10000
#define ERROR_BODY_MAX (64 * 1024)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- set-up ---- */

static char *dup_or_empty(const char *s, int *failed)
{
    char *c = strdup(s ? s : "");
    if (!c)
        *failed = 1;
    return c;
}

fw_err fw_storage_s3_setup(fw_storage *st, const fw_storage_s3_config *c, fw_error *err)
{
    const char *endpoint = c->endpoint, *authority, *slash;
    size_t scheme_len, authority_len;
    int failed = 0;

    if (!endpoint || (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0))
        return fw_error_set(err, FW_ERR_INVALID, "storage.s3.endpoint",
                            "The S3 endpoint must be an http:// or https:// URL, such as "
                            "https://s3.eu-west-1.amazonaws.com.");
    if (!c->bucket || !*c->bucket || strpbrk(c->bucket, "/?#% "))
        return fw_error_set(err, FW_ERR_INVALID, "storage.s3.bucket", "The S3 bucket must be a plain bucket name.");
    if (!c->access_key_id || !*c->access_key_id || !c->secret_access_key || !*c->secret_access_key)
        return fw_error_set(err, FW_ERR_INVALID, "storage.s3.access_key_id",
                            "S3 needs an access key id and a secret access key.");
    if (c->part_size && c->part_size < MIN_PART_SIZE)
        return fw_error_set(err, FW_ERR_INVALID, "storage.s3.part_size",
                            "The multipart part size must be at least 5 MiB (S3's minimum), not %llu bytes.",
                            (unsigned long long)c->part_size);
    scheme_len = (size_t)(strstr(endpoint, "://") - endpoint) + 3;
    authority = endpoint + scheme_len;
    slash = strchr(authority, '/');
    authority_len = slash ? (size_t)(slash - authority) : strlen(authority);
    if (authority_len == 0 || (slash && slash[1] != '\0') || strpbrk(authority, "?#@"))
        return fw_error_set(err, FW_ERR_INVALID, "storage.s3.endpoint",
                            "The S3 endpoint must be scheme://host[:port] with no path, not \"%s\".", endpoint);

    st->base_url = malloc(strlen(endpoint) + strlen(c->bucket) + 2);
    st->host = malloc(authority_len + strlen(c->bucket) + 2);
    st->path_prefix = malloc(strlen(c->bucket) + 2);
    if (!st->base_url || !st->host || !st->path_prefix)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    if (c->virtual_hosted) {
        sprintf(st->host, "%s.%.*s", c->bucket, (int)authority_len, authority);
        sprintf(st->base_url, "%.*s%s", (int)scheme_len, endpoint, st->host);
        st->path_prefix[0] = '\0';
    } else {
        sprintf(st->host, "%.*s", (int)authority_len, authority);
        sprintf(st->base_url, "%.*s%s", (int)scheme_len, endpoint, st->host);
        sprintf(st->path_prefix, "/%s", c->bucket);
    }
    st->region = dup_or_empty(c->region && *c->region ? c->region : "us-east-1", &failed);
    st->access_key_id = dup_or_empty(c->access_key_id, &failed);
    st->secret_access_key = dup_or_empty(c->secret_access_key, &failed);
    st->key_prefix = dup_or_empty(c->key_prefix, &failed);
    st->url_policy = c->url_policy;
    if (c->acl && *c->acl) {
        if (strpbrk(c->acl, "\r\n"))
            return fw_error_set(err, FW_ERR_INVALID, "storage.s3.acl", "An ACL is one word, such as public-read.");
        st->acl = dup_or_empty(c->acl, &failed);
    }
    if (failed)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    st->part_size = c->part_size ? c->part_size : DEFAULT_PART_SIZE;
    st->multipart_threshold = c->multipart_threshold ? c->multipart_threshold : st->part_size;
    st->timeout_seconds = c->timeout_seconds > 0 ? c->timeout_seconds : 300;
    pthread_once(&curl_once, curl_init_once);
    return FW_OK;
}

void fw_storage_s3_cleanup(fw_storage *st)
{
    free(st->base_url);
    free(st->host);
    free(st->path_prefix);
    free(st->region);
    free(st->access_key_id);
    if (st->secret_access_key) {
        OPENSSL_cleanse(st->secret_access_key, strlen(st->secret_access_key));
        free(st->secret_access_key);
    }
    free(st->key_prefix);
    free(st->acl);
}

/* The encoded request path of key: "/bucket/prefix/key" (path-style). */
static char *object_path(const fw_storage *st, const char *key)
{
    size_t n = strlen(st->path_prefix) + strlen(st->key_prefix) + strlen(key) + 2;
    char *raw = malloc(n), *encoded;
    if (!raw)
        return NULL;
    snprintf(raw, n, "%s/%s%s", st->path_prefix, st->key_prefix, key);
    encoded = fw_sigv4_uri_encode(raw, 1);
    free(raw);
    return encoded;
}

/* ---- one signed request ---- */

typedef struct s3_call {
    const char *method;
    const char *key;
    const char *query;        /* encoded, or NULL */
    /* body: a file region or memory (or none) */
    int body_fd;
    uint64_t body_offset, body_len;
    const char *body;
    size_t body_size;
    const char *payload_hash;
    /* response: a 2xx body into out (when set) or memory */
    fw_storage_upload *out;
    char *response;
    size_t response_len;
    int write_failed;
    long status;
    char etag[256];
    uint64_t content_length;
    int with_acl;             /* an object upload: send the configured x-amz-acl */
    long timeout_seconds;     /* 0: the storage's */
    CURL *curl;
} s3_call;

static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
    s3_call *call = arg;
    size_t n = size * count;
    long status = 0;
    curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &status);
    if (call->out && status >= 200 && status < 300) {
        if (fw_storage_upload_write(call->out, data, n, NULL) != FW_OK) {
            call->write_failed = 1;
            return 0;
        }
        return n;
    }
    if (call->response_len + n <= ERROR_BODY_MAX) {
        char *grown = realloc(call->response, call->response_len + n + 1);
        if (!grown)
            return 0;
        call->response = grown;
        memcpy(call->response + call->response_len, data, n);
        call->response_len += n;
        call->response[call->response_len] = '\0';
    }
    return n;
}

static size_t on_header(char *line, size_t size, size_t count, void *arg)
{
    s3_call *call = arg;
    size_t n = size * count;
    if (n > 5 && strncasecmp(line, "ETag:", 5) == 0) {
        size_t start = 5, end = n;
        while (start < end && (line[start] == ' ' || line[start] == '\t'))
            start++;
        while (end > start && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
            end--;
        if (end - start < sizeof(call->etag)) {
            memcpy(call->etag, line + start, end - start);
            call->etag[end - start] = '\0';
        }
    } else if (n > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
        call->content_length = strtoull(line + 15, NULL, 10);
    }
    return n;
}

static size_t on_read(char *buffer, size_t size, size_t count, void *arg)
{
    s3_call *call = arg;
    size_t want = size * count;
    if (call->body) {
        size_t left = call->body_size - (size_t)call->body_offset;
        size_t n = want < left ? want : left;
        memcpy(buffer, call->body + call->body_offset, n);
        call->body_offset += n;
        return n;
    }
    if (want > call->body_len)
        want = (size_t)call->body_len;
    if (want == 0)
        return 0;
    ssize_t got = pread(call->body_fd, buffer, want, (off_t)call->body_offset);
    if (got <= 0)
        return CURL_READFUNC_ABORT;
    call->body_offset += (uint64_t)got;
    call->body_len -= (uint64_t)got;
    return (size_t)got;
}

/* The text of <tag>...</tag> in xml, into out (empty when absent). */
static void xml_text(const char *xml, const char *tag, char *out, size_t size)
{
    char open[64], close[64];
    const char *start, *end;
    out[0] = '\0';
    if (!xml)
        return;
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    start = strstr(xml, open);
    if (!start)
        return;
    start += strlen(open);
    end = strstr(start, close);
    if (!end)
        return;
    snprintf(out, size, "%.*s", (int)(end - start), start);
}

static fw_err status_error(const s3_call *call, const char *what, fw_error *err)
{
    char code[128], message[400];
    fw_err e = call->status == 404                              ? FW_ERR_NOT_FOUND
               : call->status == 403 || call->status == 401     ? FW_ERR_PERMISSION
               : call->status >= 500 || call->status == 429     ? FW_ERR_UNAVAILABLE
                                                                : FW_ERR_NETWORK;
    xml_text(call->response, "Code", code, sizeof(code));
    xml_text(call->response, "Message", message, sizeof(message));
    if (*message && message[strlen(message) - 1] == '.')
        message[strlen(message) - 1] = '\0'; /* S3's sentence ends in a full stop; so does ours */
    return fw_error_set(err, e, call->key ? "key" : NULL, "S3 %s of %s failed with HTTP %ld%s%s%s%s.", call->method,
                        what, call->status, *code ? ": " : "", code, *message ? ": " : "", message);
}

/* Send call; FW_OK means a 2xx status (the caller looks at the rest). */
static fw_err perform(fw_storage *st, s3_call *call, fw_error *err)
{
    char *path = NULL, *url = NULL, *authorization = NULL, amz_date[17], line[2200], curl_error[CURL_ERROR_SIZE];
    struct curl_slist *headers = NULL;
    fw_sigv4_credentials credentials = {st->access_key_id, st->secret_access_key, st->region, "s3"};
    /* Every x-amz-* header must be signed; the list is kept in name order. */
    int acl = call->with_acl && st->acl;
    fw_sigv4_header signed_headers[4] = {{"host", st->host}, {"x-amz-acl", st->acl ? st->acl : ""},
                                         {"x-amz-content-sha256", call->payload_hash}, {"x-amz-date", amz_date}};
    fw_sigv4_request request;
    const char *what = call->key ? call->key : "the bucket";
    CURLcode rc;
    fw_err result = FW_OK;
    size_t url_size;
    fw_url_guard guard = {0};

    path = call->key ? object_path(st, call->key) : fw_sigv4_uri_encode(*st->path_prefix ? st->path_prefix : "/", 1);
    if (!path)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    url_size = strlen(st->base_url) + strlen(path) + (call->query ? strlen(call->query) : 0) + 2;
    url = malloc(url_size);
    call->curl = curl_easy_init();
    if (!url || !call->curl) {
        result = fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
        goto done;
    }
    snprintf(url, url_size, "%s%s%s%s", st->base_url, path, call->query ? "?" : "", call->query ? call->query : "");

    fw_sigv4_format_date((long long)time(NULL), amz_date);
    if (!acl)
        memmove(&signed_headers[1], &signed_headers[2], 2 * sizeof(signed_headers[0]));
    request = (fw_sigv4_request){call->method, path, call->query, signed_headers, acl ? 4 : 3, call->payload_hash};
    result = fw_sigv4_authorization(&credentials, amz_date, &request, &authorization, err);
    if (result != FW_OK)
        goto done;

    snprintf(line, sizeof(line), "Authorization: %s", authorization);
    headers = curl_slist_append(headers, line);
    snprintf(line, sizeof(line), "Host: %s", st->host);
    headers = curl_slist_append(headers, line);
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", call->payload_hash);
    headers = curl_slist_append(headers, line);
    snprintf(line, sizeof(line), "x-amz-date: %s", amz_date);
    headers = curl_slist_append(headers, line);
    if (acl) {
        snprintf(line, sizeof(line), "x-amz-acl: %s", st->acl);
        headers = curl_slist_append(headers, line);
    }
    headers = curl_slist_append(headers, "Expect:");
    if (call->body)
        headers = curl_slist_append(headers, "Content-Type: application/xml");
    else
        headers = curl_slist_append(headers, "Content-Type:");
    if (!headers) {
        result = fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
        goto done;
    }

    curl_easy_setopt(call->curl, CURLOPT_URL, url);
    curl_easy_setopt(call->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(call->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (st->url_policy)
        fw_url_guard_attach(&guard, st->url_policy, call->curl);
    curl_easy_setopt(call->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(call->curl, CURLOPT_CONNECTTIMEOUT, call->timeout_seconds ? call->timeout_seconds : 15L);
    curl_easy_setopt(call->curl, CURLOPT_TIMEOUT, call->timeout_seconds ? call->timeout_seconds : st->timeout_seconds);
    curl_easy_setopt(call->curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(call->curl, CURLOPT_USERAGENT, "framewright");
    curl_easy_setopt(call->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(call->curl, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(call->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(call->curl, CURLOPT_HEADERDATA, call);
    if (strcmp(call->method, "HEAD") == 0) {
        curl_easy_setopt(call->curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(call->method, "GET") != 0) {
        uint64_t length = call->body ? call->body_size : call->body_len;
        curl_easy_setopt(call->curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(call->curl, CURLOPT_CUSTOMREQUEST, call->method);
        curl_easy_setopt(call->curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(call->curl, CURLOPT_READDATA, call);
        curl_easy_setopt(call->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)length);
    }
    curl_error[0] = '\0';
    rc = curl_easy_perform(call->curl);
    curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &call->status);
    if (rc != CURLE_OK && st->url_policy && fw_url_guard_refused(&guard)) {
        result = fw_error_set(err, FW_ERR_INVALID, "upload.params.endpoint", "The bucket's endpoint was %s.",
                              fw_url_guard_refused(&guard));
    } else if (call->write_failed) {
        result = fw_error_set(err, FW_ERR_IO, "path", "Could not write the download of %s.", what);
    } else if (rc != CURLE_OK) {
        result = fw_error_set(err, FW_ERR_UNAVAILABLE, NULL, "S3 %s of %s failed: %s.", call->method, what,
                              *curl_error ? curl_error : curl_easy_strerror(rc));
    } else if (call->status < 200 || call->status >= 300) {
        result = status_error(call, what, err);
    }
done:
    if (authorization) {
        OPENSSL_cleanse(authorization, strlen(authorization));
        free(authorization);
    }
    curl_slist_free_all(headers);
    if (call->curl)
        curl_easy_cleanup(call->curl);
    call->curl = NULL;
    free(url);
    free(path);
    return result;
}

static void call_done(s3_call *call)
{
    free(call->response);
    call->response = NULL;
}

/* ---- operations ---- */

/* Hex SHA-256 of length bytes of fd from offset. */
static fw_err hash_region(int fd, uint64_t offset, uint64_t length, char out[65], const char *path, fw_error *err)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char buf[1 << 16], digest[32];
    unsigned int digest_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    }
    while (length > 0) {
        size_t want = length < sizeof(buf) ? (size_t)length : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            EVP_MD_CTX_free(ctx);
            return fw_error_set(err, FW_ERR_IO, "path", "Could not read %s: %s.", path,
                                n < 0 ? strerror(errno) : "it got shorter");
        }
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        offset += (uint64_t)n;
        length -= (uint64_t)n;
    }
    EVP_DigestFinal_ex(ctx, digest, &digest_len);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    out[64] = '\0';
    return FW_OK;
}

static fw_err put_single(fw_storage *st, const char *key, int fd, uint64_t size, const char *path, fw_error *err)
{
    char hash[65];
    s3_call call = {.method = "PUT", .key = key, .body_fd = fd, .body_len = size, .payload_hash = hash, .with_acl = 1};
    fw_err rc = hash_region(fd, 0, size, hash, path, err);
    if (rc == FW_OK)
        rc = perform(st, &call, err);
    call_done(&call);
    return rc;
}

static void abort_multipart(fw_storage *st, const char *key, const char *query)
{
    s3_call call = {.method = "DELETE", .key = key, .query = query, .body_fd = -1,
                    .payload_hash = FW_SIGV4_EMPTY_SHA256};
    fw_error ignored;
    if (perform(st, &call, &ignored) != FW_OK)
        fw_log(FW_LOG_WARN, "storage", "Could not abort the multipart upload of %s: %s", key, ignored.message);
    call_done(&call);
}

static fw_err put_multipart(fw_storage *st, const char *key, int fd, uint64_t size, const char *path, fw_error *err)
{
    s3_call create = {.method = "POST", .key = key, .query = "uploads", .body_fd = -1, .with_acl = 1,
                      .payload_hash = FW_SIGV4_EMPTY_SHA256};
    char upload_id[512], *encoded_id = NULL, query[700], hash[65];
    uint64_t parts = (size + st->part_size - 1) / st->part_size;
    char *complete = NULL, *p;
    size_t complete_size;
    fw_err rc;

    if (parts > MAX_PARTS)
        return fw_error_set(err, FW_ERR_LIMIT, "path", "%s needs %llu parts of %llu bytes; S3 allows %d.", path,
                            (unsigned long long)parts, (unsigned long long)st->part_size, MAX_PARTS);
    create.body = "";
    rc = perform(st, &create, err);
    xml_text(create.response, "UploadId", upload_id, sizeof(upload_id));
    call_done(&create);
    if (rc != FW_OK)
        return rc;
    if (!*upload_id)
        return fw_error_set(err, FW_ERR_NETWORK, "key", "S3 started a multipart upload of %s without an UploadId.",
                            key);
    encoded_id = fw_sigv4_uri_encode(upload_id, 0);
    complete_size = 128 + parts * (64 + 256);
    complete = malloc(complete_size);
    if (!encoded_id || !complete) {
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
        goto fail;
    }
    p = complete + sprintf(complete, "<CompleteMultipartUpload>");
    for (uint64_t i = 0; i < parts; i++) {
        uint64_t offset = i * st->part_size;
        uint64_t length = size - offset < st->part_size ? size - offset : st->part_size;
        s3_call part = {.method = "PUT", .key = key, .query = query, .body_fd = fd, .body_offset = offset,
                        .body_len = length, .payload_hash = hash};
        snprintf(query, sizeof(query), "partNumber=%llu&uploadId=%s", (unsigned long long)(i + 1), encoded_id);
        rc = hash_region(fd, offset, length, hash, path, err);
        if (rc == FW_OK)
            rc = perform(st, &part, err);
        if (rc == FW_OK && !*part.etag)
            rc = fw_error_set(err, FW_ERR_NETWORK, "key", "S3 accepted part %llu of %s without an ETag.",
                              (unsigned long long)(i + 1), key);
        if (rc == FW_OK)
            p += sprintf(p, "<Part><PartNumber>%llu</PartNumber><ETag>%s</ETag></Part>", (unsigned long long)(i + 1),
                         part.etag);
        call_done(&part);
        if (rc != FW_OK)
            goto fail;
    }
    strcpy(p, "</CompleteMultipartUpload>");
    {
        s3_call finish = {.method = "POST", .key = key, .query = query, .body_fd = -1, .body = complete,
                          .body_size = strlen(complete), .payload_hash = hash};
        char code[128], message[400];
        snprintf(query, sizeof(query), "uploadId=%s", encoded_id);
        fw_sigv4_sha256_hex(complete, strlen(complete), hash);
        rc = perform(st, &finish, err);
        /* S3 can answer 200 and still fail, with an <Error> body. */
        if (rc == FW_OK && finish.response && strstr(finish.response, "<Error>")) {
            xml_text(finish.response, "Code", code, sizeof(code));
            xml_text(finish.response, "Message", message, sizeof(message));
            rc = fw_error_set(err, FW_ERR_NETWORK, "key", "S3 could not complete the upload of %s: %s: %s.", key,
                              code, message);
        }
        call_done(&finish);
        if (rc != FW_OK)
            goto fail;
    }
    free(complete);
    free(encoded_id);
    return FW_OK;
fail:
    if (encoded_id) {
        snprintf(query, sizeof(query), "uploadId=%s", encoded_id);
        abort_multipart(st, key, query);
    }
    free(complete);
    free(encoded_id);
    return rc;
}

fw_err fw_storage_s3_put_file(fw_storage *st, const char *key, const char *path, fw_error *err)
{
    struct stat s;
    fw_err rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, "path",
                            "Could not open %s to store it as %s: %s.", path, key, strerror(errno));
    if (fstat(fd, &s) != 0 || !S_ISREG(s.st_mode)) {
        close(fd);
        return fw_error_set(err, FW_ERR_INVALID, "path", "%s is not a regular file.", path);
    }
    if ((uint64_t)s.st_size > st->multipart_threshold)
        rc = put_multipart(st, key, fd, (uint64_t)s.st_size, path, err);
    else
        rc = put_single(st, key, fd, (uint64_t)s.st_size, path, err);
    close(fd);
    return rc;
}

fw_err fw_storage_s3_get_file(fw_storage *st, const char *key, const char *path, fw_error *err)
{
    s3_call call = {.method = "GET", .key = key, .body_fd = -1, .payload_hash = FW_SIGV4_EMPTY_SHA256};
    fw_err rc = fw_storage_temp_begin(path, key, &call.out, err);
    if (rc != FW_OK)
        return rc;
    rc = perform(st, &call, err);
    call_done(&call);
    if (rc != FW_OK) {
        fw_storage_upload_abort(&call.out);
        return rc;
    }
    return fw_storage_upload_commit(&call.out, err);
}

fw_err fw_storage_s3_delete(fw_storage *st, const char *key, fw_error *err)
{
    s3_call call = {.method = "DELETE", .key = key, .body_fd = -1, .payload_hash = FW_SIGV4_EMPTY_SHA256};
    fw_err rc = perform(st, &call, err);
    call_done(&call);
    return rc == FW_ERR_NOT_FOUND && call.status == 404 ? FW_OK : rc;
}

fw_err fw_storage_s3_stat(fw_storage *st, const char *key, fw_storage_stat *out, fw_error *err)
{
    s3_call call = {.method = "HEAD", .key = key, .body_fd = -1, .payload_hash = FW_SIGV4_EMPTY_SHA256};
    fw_err rc = perform(st, &call, err);
    call_done(&call);
    if (rc == FW_ERR_NOT_FOUND) {
        fw_error_clear(err);
        return FW_OK;
    }
    if (rc != FW_OK)
        return rc;
    out->exists = 1;
    out->size = call.content_length;
    return FW_OK;
}

fw_err fw_storage_s3_check(fw_storage *st, long timeout_seconds, fw_error *err)
{
    s3_call call = {.method = "HEAD", .body_fd = -1, .payload_hash = FW_SIGV4_EMPTY_SHA256,
                    .timeout_seconds = timeout_seconds};
    fw_err rc = perform(st, &call, err);
    call_done(&call);
    return rc;
}

fw_err fw_storage_s3_signed_url(fw_storage *st, const char *key, fw_storage_method method, long expires_seconds,
                                char **url, fw_error *err)
{
    fw_sigv4_credentials credentials = {st->access_key_id, st->secret_access_key, st->region, "s3"};
    char amz_date[17], *query = NULL, *path = object_path(st, key);
    size_t size;
    fw_err rc;
    if (!path)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    fw_sigv4_format_date(fw_storage_now(st), amz_date);
    rc = fw_sigv4_presign_query(&credentials, amz_date, method == FW_STORAGE_PUT ? "PUT" : "GET", st->host, path,
                                NULL, expires_seconds, &query, err);
    if (rc == FW_OK) {
        size = strlen(st->base_url) + strlen(path) + strlen(query) + 2;
        *url = malloc(size);
        if (*url)
            snprintf(*url, size, "%s%s?%s", st->base_url, path, query);
        else
            rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    }
    free(query);
    free(path);
    return rc;
}
