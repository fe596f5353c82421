/* fetch.c - see fetch.h. */
#include "server/util/fetch.h"
#include "server/util/fs.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_BYTES (1ULL << 30)
#define DEFAULT_TIMEOUT_MS 120000L

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void fw_fetch_global_init(void) { pthread_once(&curl_once, curl_init_once); }

static uint64_t max_bytes_of(const fw_fetch_options *o) { return o && o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES; }

int fw_fetch_is_remote(const char *src)
{
    return strncasecmp(src, "http://", 7) == 0 || strncasecmp(src, "https://", 8) == 0;
}

int fw_fetch_is_data_url(const char *src) { return strncasecmp(src, "data:", 5) == 0; }

const char *fw_fetch_basename(const char *src, char *buf, size_t size)
{
    const char *end, *start;

    buf[0] = '\0';
    if (fw_fetch_is_data_url(src))
        return buf;
    end = src + strcspn(src, "?#");
    start = end;
    while (start > src && start[-1] != '/')
        start--;
    snprintf(buf, size, "%.*s", (int)(end - start), start);
    return buf;
}

/* ---- data: URLs ------------------------------------------------------------------------------ */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int base64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* data:[<mediatype>][;base64],<data> */
fw_err fw_fetch_data_url(const char *src, uint64_t max_bytes, unsigned char **data, size_t *size, const char *field,
                         fw_error *err)
{
    const char *comma = strchr(src, ',');
    const char *p;
    unsigned char *out;
    size_t n = 0;
    int base64;

    *data = NULL;
    *size = 0;
    if (!fw_fetch_is_data_url(src) || !comma)
        return fw_error_set(err, FW_ERR_INVALID, field, "a data: URL needs a ',' before its data");
    base64 = comma - src >= 7 && strncasecmp(comma - 7, ";base64", 7) == 0;
    p = comma + 1;
    /* Decoding never makes the data longer than its text. */
    if (strlen(p) / (base64 ? 4 : 3) > (max_bytes ? max_bytes : DEFAULT_MAX_BYTES))
        return fw_error_set(err, FW_ERR_LIMIT, field, "the data: URL holds more than %llu bytes",
                            (unsigned long long)(max_bytes ? max_bytes : DEFAULT_MAX_BYTES));
    out = malloc(strlen(p) + 1);
    if (!out)
        return fw_error_set(err, FW_ERR_NOMEM, field, "out of memory decoding a data: URL");
    if (base64) {
        unsigned acc = 0;
        int bits = 0;
        for (; *p && *p != '='; p++) {
            int v = base64_value((unsigned char)*p);
            if (v < 0) {
                if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
                    continue;
                free(out);
                return fw_error_set(err, FW_ERR_INVALID, field, "the data: URL is not valid base64 (at '%c')", *p);
            }
            acc = (acc << 6) | (unsigned)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out[n++] = (unsigned char)((acc >> bits) & 0xff);
            }
        }
    } else {
        for (; *p; p++) {
            if (*p == '%' && hex_value((unsigned char)p[1]) >= 0 && hex_value((unsigned char)p[2]) >= 0) {
                out[n++] = (unsigned char)(hex_value((unsigned char)p[1]) * 16 + hex_value((unsigned char)p[2]));
                p += 2;
            } else {
                out[n++] = (unsigned char)*p;
            }
        }
    }
    *data = out;
    *size = n;
    return FW_OK;
}

/* ---- local files ----------------------------------------------------------------------------- */

static void percent_decode(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in && n + 1 < size; in++) {
        if (*in == '%' && hex_value((unsigned char)in[1]) >= 0 && hex_value((unsigned char)in[2]) >= 0) {
            out[n++] = (char)(hex_value((unsigned char)in[1]) * 16 + hex_value((unsigned char)in[2]));
            in += 2;
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

static int climbs_out(const char *path)
{
    const char *p = path;
    for (;;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

fw_err fw_fetch_local_path(const char *src, const fw_fetch_options *o, char *out, size_t size, const char *field,
                           fw_error *err)
{
    char path[PATH_MAX];
    struct stat st;

    if (fw_fetch_is_remote(src) || fw_fetch_is_data_url(src))
        return fw_error_set(err, FW_ERR_INVALID, field, "'%s' is not a local file", src);
    if (strncasecmp(src, "file://", 7) == 0 || src[0] == '/') {
        const char *p = src;
        if (!o || !o->allow_local)
            return fw_error_set(err, FW_ERR_PERMISSION, field,
                                "'%s': local files are not accepted here; use an http(s) or data: URL", src);
        if (strncasecmp(p, "file://", 7) == 0) {
            p += 7;
            if (strncasecmp(p, "localhost/", 10) == 0)
                p += 9;
            if (*p != '/')
                return fw_error_set(err, FW_ERR_INVALID, field, "'%s' is not a file:// URL with an absolute path",
                                    src);
        }
        percent_decode(p, path, sizeof(path));
    } else if (strstr(src, "://")) {
        return fw_error_set(err, FW_ERR_UNSUPPORTED, field,
                            "'%s': only paths, file://, http(s):// and data: URLs are supported", src);
    } else {
        if (climbs_out(src))
            return fw_error_set(err, FW_ERR_INVALID, field, "the path '%s' climbs out of the job's folder", src);
        if (!o || !o->base_dir)
            return fw_error_set(err, FW_ERR_INVALID, field, "the relative path '%s' has no folder to be found in", src);
        if (snprintf(path, sizeof(path), "%s/%s", o->base_dir, src) >= (int)sizeof(path))
            return fw_error_set(err, FW_ERR_INVALID, field, "the path '%s' is too long", src);
    }
    if (stat(path, &st) != 0)
        return fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, field, "cannot read '%s': %s", src,
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fw_error_set(err, FW_ERR_INVALID, field, "'%s' is not a file", src);
    if ((uint64_t)st.st_size > max_bytes_of(o))
        return fw_error_set(err, FW_ERR_LIMIT, field, "'%s' is larger than %llu bytes", src,
                            (unsigned long long)max_bytes_of(o));
    if (!realpath(path, out) || strlen(out) >= size) /* realpath writes at most PATH_MAX bytes */
        return fw_error_set(err, FW_ERR_IO, field, "cannot resolve the path of '%s'", src);
    return FW_OK;
}

static fw_err copy_file(const char *path, FILE *out, const char *field, fw_error *err)
{
    char buf[1 << 16];
    size_t n;
    FILE *in = fopen(path, "rb");

    if (!in)
        return fw_error_set(err, FW_ERR_IO, field, "cannot read %s: %s", path, strerror(errno));
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n) {
            fclose(in);
            return fw_error_set(err, FW_ERR_IO, field, "copying %s failed", path);
        }
    fclose(in);
    return FW_OK;
}

/* ---- http(s) --------------------------------------------------------------------------------- */

typedef struct sink {
    FILE *file;
    uint64_t written;
    uint64_t max;
    int too_big;
} sink;

static size_t write_body(char *data, size_t size, size_t n, void *user)
{
    sink *s = user;
    size_t bytes = size * n;

    if (s->written + bytes > s->max) {
        s->too_big = 1;
        return 0;
    }
    if (fwrite(data, 1, bytes, s->file) != bytes)
        return 0;
    s->written += bytes;
    return bytes;
}

/* What every request of ours sets: the URL policy (http(s) only, every connected address
 * checked), up to 5 redirects, the time limits, and a floor on speed so a trickling server
 * cannot hold a worker for the whole time limit. */
static void http_options(CURL *curl, const char *url, fw_url_guard *guard, const fw_url_policy *policy, long timeout,
                         char *curl_error)
{
    curl_easy_setopt(curl, CURLOPT_URL, url);
    fw_url_guard_attach(guard, policy, curl);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout < 15000 ? timeout : 15000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "framewright");
}

static fw_err fetch_http(const char *url, FILE *out, const fw_fetch_options *o, const char *field, fw_error *err)
{
    char curl_error[CURL_ERROR_SIZE] = "";
    sink s = {.file = out, .max = max_bytes_of(o)};
    fw_url_guard guard;
    long timeout = o && o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    long status = 0;
    CURLcode rc;
    CURL *curl;

    fw_fetch_global_init();
    curl = curl_easy_init();
    if (!curl)
        return fw_error_set(err, FW_ERR_INTERNAL, field, "could not start an HTTP client");
    http_options(curl, url, &guard, o ? o->policy : NULL, timeout, curl_error);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s.max);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK && fw_url_guard_refused(&guard))
        return fw_error_set(err, FW_ERR_INVALID, field, "%s was %s", url, fw_url_guard_refused(&guard));
    if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return fw_error_set(err, FW_ERR_LIMIT, field, "%s is larger than %llu bytes", url, (unsigned long long)s.max);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return fw_error_set(err, FW_ERR_DEADLINE, field, "fetching %s took longer than %ld ms", url, timeout);
    if (rc != CURLE_OK)
        return fw_error_set(err, FW_ERR_NETWORK, field, "could not fetch %s: %s", url,
                            curl_error[0] ? curl_error : curl_easy_strerror(rc));
    if (status < 200 || status >= 300)
        return fw_error_set(err, status == 404 ? FW_ERR_NOT_FOUND : FW_ERR_NETWORK, field,
                            "fetching %s answered HTTP %ld", url, status);
    return FW_OK;
}

/* ---- is it there? ---------------------------------------------------------------------------- */

static size_t first_byte(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)size;
    (void)n;
    *(int *)user = 1;
    return 0; /* one chunk is enough: the answer came */
}

fw_fetch_probe_result fw_fetch_probe(const char *url, const fw_url_policy *policy, long timeout_ms, long *status,
                                     char *why, size_t why_len)
{
    char curl_error[CURL_ERROR_SIZE] = "";
    fw_url_guard guard;
    int got_body = 0;
    CURLcode rc;
    CURL *curl;

    *status = 0;
    fw_fetch_global_init();
    if (!(curl = curl_easy_init())) {
        snprintf(why, why_len, "could not start an HTTP client");
        return FW_PROBE_UNKNOWN;
    }
    http_options(curl, url, &guard, policy, timeout_ms > 0 ? timeout_ms : 5000, curl_error);
    /* A GET of the first byte, not a HEAD: presigned URLs are signed for GET only. */
    curl_easy_setopt(curl, CURLOPT_RANGE, "0-0");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, first_byte);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got_body);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK && fw_url_guard_refused(&guard)) {
        snprintf(why, why_len, "%s", fw_url_guard_refused(&guard));
        return FW_PROBE_REFUSED;
    }
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && got_body)) {
        snprintf(why, why_len, "%s", curl_error[0] ? curl_error : curl_easy_strerror(rc));
        switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_TOO_MANY_REDIRECTS:
            return FW_PROBE_MISSING;
        default:
            return FW_PROBE_UNKNOWN; /* a time-out or a dropped connection may pass */
        }
    }
    if (*status >= 200 && *status < 300) /* 200, or 206 for the range */
        return FW_PROBE_OK;
    snprintf(why, why_len, "answered HTTP %ld", *status);
    /* 416: an empty file (the render says what is wrong with it); 408, 429 and 5xx may pass. */
    if (*status >= 400 && *status < 500 && *status != 408 && *status != 416 && *status != 429)
        return FW_PROBE_MISSING;
    return FW_PROBE_UNKNOWN;
}

/* ---- any source into a file ------------------------------------------------------------------ */

fw_err fw_fetch(const char *src, const char *dest, const fw_fetch_options *o, const char *field, fw_error *err)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    fw_err rc;
    FILE *out;
    int fd;

    if (!src || !*src)
        return fw_error_set(err, FW_ERR_INVALID, field, "is empty");
    if (snprintf(tmp, sizeof(tmp), "%s.partXXXXXX", dest) >= (int)sizeof(tmp))
        return fw_error_set(err, FW_ERR_INVALID, field, "the destination path is too long");
    fd = fw_create_temp_file(tmp);
    if (fd < 0)
        return fw_error_set(err, FW_ERR_IO, field, "cannot create %s: %s", tmp, strerror(errno));
    out = fdopen(fd, "wb");
    if (!out) {
        close(fd);
        unlink(tmp);
        return fw_error_set(err, FW_ERR_IO, field, "cannot write %s", tmp);
    }

    if (fw_fetch_is_remote(src)) {
        rc = fetch_http(src, out, o, field, err);
    } else if (fw_fetch_is_data_url(src)) {
        unsigned char *data;
        size_t size;
        rc = fw_fetch_data_url(src, max_bytes_of(o), &data, &size, field, err);
        if (rc == FW_OK && fwrite(data, 1, size, out) != size)
            rc = fw_error_set(err, FW_ERR_IO, field, "cannot write %s", dest);
        free(data);
    } else {
        rc = fw_fetch_local_path(src, o, path, sizeof(path), field, err);
        if (rc == FW_OK)
            rc = copy_file(path, out, field, err);
    }

    if (fclose(out) != 0 && rc == FW_OK)
        rc = fw_error_set(err, FW_ERR_IO, field, "writing %s failed", dest);
    if (rc == FW_OK && rename(tmp, dest) != 0)
        rc = fw_error_set(err, FW_ERR_IO, field, "cannot move the file to %s: %s", dest, strerror(errno));
    if (rc != FW_OK)
        unlink(tmp);
    return rc;
}
