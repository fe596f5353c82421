/* fetch.c - see fetch.h. */
#include "server/util/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_BYTES (1ULL << 30)
#define DEFAULT_TIMEOUT 120L

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int fw_fetch_is_remote(const char *src)
{
    return strncasecmp(src, "http://", 7) == 0 || strncasecmp(src, "https://", 8) == 0;
}

const char *fw_fetch_basename(const char *src, char *buf, unsigned long size)
{
    const char *end, *start;

    buf[0] = '\0';
    if (strncasecmp(src, "data:", 5) == 0)
        return buf;
    end = src + strcspn(src, "?#");
    start = end;
    while (start > src && start[-1] != '/')
        start--;
    snprintf(buf, size, "%.*s", (int)(end - start), start);
    return buf;
}

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

static fw_err fetch_http(const char *url, FILE *out, const fw_fetch_options *o, uint64_t max, const char *field,
                         fw_error *err)
{
    char curl_error[CURL_ERROR_SIZE] = "";
    sink s = {.file = out, .max = max};
    long status = 0;
    CURLcode rc;
    CURL *curl;

    pthread_once(&curl_once, curl_init_once);
    curl = curl_easy_init();
    if (!curl)
        return fw_error_set(err, FW_ERR_INTERNAL, field, "could not start an HTTP client");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, o && o->timeout_seconds ? o->timeout_seconds : DEFAULT_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "framewright");
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return fw_error_set(err, FW_ERR_LIMIT, field, "%s is larger than %llu bytes", url, (unsigned long long)max);
    if (rc != CURLE_OK)
        return fw_error_set(err, FW_ERR_NETWORK, field, "could not fetch %s: %s", url,
                            curl_error[0] ? curl_error : curl_easy_strerror(rc));
    if (status < 200 || status >= 300)
        return fw_error_set(err, status == 404 ? FW_ERR_NOT_FOUND : FW_ERR_NETWORK, field,
                            "fetching %s answered HTTP %ld", url, status);
    return FW_OK;
}

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
static fw_err fetch_data_url(const char *url, FILE *out, uint64_t max, const char *field, fw_error *err)
{
    const char *comma = strchr(url, ',');
    const char *p;
    uint64_t written = 0;
    int base64;

    if (!comma)
        return fw_error_set(err, FW_ERR_INVALID, field, "a data: URL needs a ',' before its data");
    base64 = comma - url >= 7 && strncasecmp(comma - 7, ";base64", 7) == 0;
    p = comma + 1;
    if (base64) {
        unsigned acc = 0;
        int bits = 0;
        for (; *p && *p != '='; p++) {
            int v = base64_value((unsigned char)*p);
            if (v < 0) {
                if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
                    continue;
                return fw_error_set(err, FW_ERR_INVALID, field, "the data: URL has a character '%c' that is not base64",
                                    *p);
            }
            acc = (acc << 6) | (unsigned)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                if (++written > max)
                    return fw_error_set(err, FW_ERR_LIMIT, field, "the data: URL holds more than %llu bytes",
                                        (unsigned long long)max);
                fputc((int)((acc >> bits) & 0xff), out);
            }
        }
    } else {
        for (; *p; p++) {
            int c = (unsigned char)*p;
            if (c == '%' && hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0) {
                c = hex_value(p[1]) * 16 + hex_value(p[2]);
                p += 2;
            }
            if (++written > max)
                return fw_error_set(err, FW_ERR_LIMIT, field, "the data: URL holds more than %llu bytes",
                                    (unsigned long long)max);
            fputc(c, out);
        }
    }
    return FW_OK;
}

static fw_err copy_local(const char *path, FILE *out, uint64_t max, const char *field, fw_error *err)
{
    char buf[1 << 16];
    uint64_t total = 0;
    size_t n;
    struct stat st;
    FILE *in;

    if (stat(path, &st) != 0)
        return fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, field, "cannot read %s: %s", path,
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fw_error_set(err, FW_ERR_INVALID, field, "%s is not a file", path);
    if ((uint64_t)st.st_size > max)
        return fw_error_set(err, FW_ERR_LIMIT, field, "%s is larger than %llu bytes", path, (unsigned long long)max);
    in = fopen(path, "rb");
    if (!in)
        return fw_error_set(err, FW_ERR_IO, field, "cannot read %s: %s", path, strerror(errno));
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        total += n;
        if (total > max || fwrite(buf, 1, n, out) != n) {
            fclose(in);
            return fw_error_set(err, total > max ? FW_ERR_LIMIT : FW_ERR_IO, field, "copying %s failed", path);
        }
    }
    fclose(in);
    return FW_OK;
}

static void percent_decode(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in && n + 1 < size; in++) {
        if (*in == '%' && hex_value(in[1]) >= 0 && hex_value(in[2]) >= 0) {
            out[n++] = (char)(hex_value(in[1]) * 16 + hex_value(in[2]));
            in += 2;
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

int fw_fetch_local_path(const char *src, const char *base_dir, char *out, unsigned long size)
{
    if (fw_fetch_is_remote(src) || strncasecmp(src, "data:", 5) == 0)
        return 0;
    if (strncasecmp(src, "file://", 7) == 0) {
        const char *p = src + 7;
        if (strncasecmp(p, "localhost/", 10) == 0)
            p += 9;
        if (*p != '/')
            return 0;
        percent_decode(p, out, size);
        return 1;
    }
    if (strstr(src, "://"))
        return 0;
    if (src[0] == '/' || !base_dir)
        snprintf(out, size, "%s", src);
    else
        snprintf(out, size, "%s/%s", base_dir, src);
    return 1;
}

fw_err fw_fetch(const char *src, const char *dest, const fw_fetch_options *o, const char *field, fw_error *err)
{
    uint64_t max = o && o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
    char tmp[PATH_MAX], path[PATH_MAX];
    fw_err rc;
    FILE *out;
    int fd;

    if (!src || !*src)
        return fw_error_set(err, FW_ERR_INVALID, field, "is empty");
    if (snprintf(tmp, sizeof(tmp), "%s.partXXXXXX", dest) >= (int)sizeof(tmp))
        return fw_error_set(err, FW_ERR_INVALID, field, "the destination path is too long");
    fd = mkstemp(tmp);
    if (fd < 0)
        return fw_error_set(err, FW_ERR_IO, field, "cannot create %s: %s", tmp, strerror(errno));
    out = fdopen(fd, "wb");
    if (!out) {
        close(fd);
        unlink(tmp);
        return fw_error_set(err, FW_ERR_IO, field, "cannot write %s", tmp);
    }

    if (fw_fetch_is_remote(src)) {
        rc = fetch_http(src, out, o, max, field, err);
    } else if (strncasecmp(src, "data:", 5) == 0) {
        rc = fetch_data_url(src, out, max, field, err);
    } else if (o && !o->allow_local) {
        rc = fw_error_set(err, FW_ERR_PERMISSION, field, "'%s': only http(s) and data: URLs are accepted here", src);
    } else if (fw_fetch_local_path(src, o ? o->base_dir : NULL, path, sizeof(path))) {
        rc = copy_local(path, out, max, field, err);
    } else if (strncasecmp(src, "file://", 7) == 0) {
        rc = fw_error_set(err, FW_ERR_INVALID, field, "'%s' is not a file:// URL with an absolute path", src);
    } else {
        rc = fw_error_set(err, FW_ERR_UNSUPPORTED, field,
                          "'%s': only paths, file://, http(s):// and data: URLs are supported", src);
    }

    if (fclose(out) != 0 && rc == FW_OK)
        rc = fw_error_set(err, FW_ERR_IO, field, "writing %s failed", dest);
    if (rc == FW_OK && rename(tmp, dest) != 0)
        rc = fw_error_set(err, FW_ERR_IO, field, "cannot move the file to %s: %s", dest, strerror(errno));
    if (rc != FW_OK)
        unlink(tmp);
    return rc;
}
