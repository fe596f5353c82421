/*
 * file_server.c - the HTTP side of local signed URLs, on libmicrohttpd.
 *
 * Each request is checked with fw_storage_local_verify before anything is
 * read or written. GET answers from the file descriptor (microhttpd sends it
 * with sendfile where it can); PUT streams into fw_storage_upload, which
 * renames into place only on commit.
 */
#include "server/storage/file_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/util/log.h"

struct fw_file_server {
    struct MHD_Daemon *daemon;
    fw_storage *st;
    int port;
    uint64_t max_upload;
    void (*on_upload)(void *ctx, const char *key);
    void *on_upload_ctx;
};

/* The state of one PUT across microhttpd's calls. */
typedef struct put_state {
    fw_storage_upload *up;
    uint64_t received;
    int status;            /* set once the request failed */
    char message[256];
    char key[FW_STORAGE_KEY_MAX + 1];
} put_state;

static const struct {
    const char *ext, *type;
} content_types[] = {
    {"mp4", "video/mp4"},   {"m4v", "video/mp4"},       {"mov", "video/quicktime"},
    {"webm", "video/webm"}, {"mkv", "video/x-matroska"}, {"gif", "image/gif"},
    {"png", "image/png"},   {"jpg", "image/jpeg"},       {"jpeg", "image/jpeg"},
    {"webp", "image/webp"}, {"svg", "image/svg+xml"},    {"json", "application/json"},
    {"zip", "application/zip"}, {"txt", "text/plain; charset=utf-8"}, {"html", "text/html; charset=utf-8"},
    {"ttf", "font/ttf"},    {"otf", "font/otf"},         {"woff", "font/woff"},
    {"woff2", "font/woff2"}, {"mp3", "audio/mpeg"},      {"wav", "audio/wav"},
    {"aac", "audio/aac"},   {"m4a", "audio/mp4"},
};

const char *fw_file_server_content_type(const char *key)
{
    const char *slash = strrchr(key, '/'), *dot = strrchr(key, '.');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
            if (strcasecmp(dot + 1, content_types[i].ext) == 0)
                return content_types[i].type;
    return "application/octet-stream";
}

static enum MHD_Result answer_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static unsigned status_of(fw_err code)
{
    switch (code) {
    case FW_ERR_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
    case FW_ERR_INVALID: return MHD_HTTP_BAD_REQUEST;
    case FW_ERR_LIMIT: return MHD_HTTP_CONTENT_TOO_LARGE;
    case FW_ERR_UNAUTHENTICATED:
    case FW_ERR_PERMISSION:
    case FW_ERR_DEADLINE: return MHD_HTTP_FORBIDDEN;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* The raw query of the request, rebuilt from microhttpd's parsed arguments
 * (it keeps only expires and signature, which is all verification reads). */
static void request_query(struct MHD_Connection *c, char *out, size_t size)
{
    const char *expires = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "expires");
    const char *signature = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "signature");
    snprintf(out, size, "expires=%s&signature=%s", expires ? expires : "", signature ? signature : "");
}

/* microhttpd hands the path already percent-decoded; encode it back for
 * fw_storage_local_verify, which takes the path as sent. */
static char *encoded_path(const char *url)
{
    static const char digits[] = "0123456789ABCDEF";
    char *out = malloc(3 * strlen(url) + 1), *p = out;
    if (!out)
        return NULL;
    for (const unsigned char *s = (const unsigned char *)url; *s; s++) {
        if (*s > 0x20 && *s < 0x7f && *s != '%' && *s != '?' && *s != '#') {
            *p++ = (char)*s;
        } else {
            *p++ = '%';
            *p++ = digits[*s >> 4];
            *p++ = digits[*s & 15];
        }
    }
    *p = '\0';
    return out;
}

/* Parse "bytes=a-b", "bytes=a-", "bytes=-n" against size; 0 when unusable. */
static int parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    char *end;
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') || size == 0)
        return 0;
    h += 6;
    if (*h == '-') {
        uint64_t n = strtoull(h + 1, &end, 10);
        if (*end || n == 0)
            return 0;
        *first = n >= size ? 0 : size - n;
        *last = size - 1;
        return 1;
    }
    *first = strtoull(h, &end, 10);
    if (*end != '-')
        return 0;
    if (end[1] == '\0') {
        *last = size - 1;
    } else {
        *last = strtoull(end + 1, &end, 10);
        if (*end)
            return 0;
        if (*last >= size)
            *last = size - 1;
    }
    return *first <= *last && *first < size;
}

static enum MHD_Result serve_get(fw_file_server *srv, struct MHD_Connection *c, const char *key, int head)
{
    char path[4096], range_header[64];
    struct stat s;
    struct MHD_Response *r;
    enum MHD_Result rc;
    uint64_t first = 0, last = 0, length;
    unsigned status = MHD_HTTP_OK;
    int fd;
    fw_error err;

    if (fw_storage_local_path(srv->st, key, path, sizeof(path), &err) != FW_OK)
        return answer_text(c, status_of(err.code), err.message);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &s) != 0 || !S_ISREG(s.st_mode)) {
        if (fd >= 0)
            close(fd);
        return answer_text(c, MHD_HTTP_NOT_FOUND, "No object is stored under that key.");
    }
    length = (uint64_t)s.st_size;
    if (parse_range(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range"), (uint64_t)s.st_size, &first, &last)) {
        status = MHD_HTTP_PARTIAL_CONTENT;
        length = last - first + 1;
        snprintf(range_header, sizeof(range_header), "bytes %llu-%llu/%llu", (unsigned long long)first,
                 (unsigned long long)last, (unsigned long long)s.st_size);
    } else if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range") && s.st_size > 0) {
        close(fd);
        return answer_text(c, MHD_HTTP_RANGE_NOT_SATISFIABLE, "The requested range is not satisfiable.");
    }
    (void)head;
    r = MHD_create_response_from_fd_at_offset64(length, fd, first);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", fw_file_server_content_type(key));
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    /* The URL was signed for whoever holds it: a page on another origin (the
     * dashboard) may read what it plays, as any client with the URL can. */
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    if (status == MHD_HTTP_PARTIAL_CONTENT)
        MHD_add_response_header(r, "Content-Range", range_header);
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result handle(void *arg, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    fw_file_server *srv = arg;
    put_state *put = *con_cls;
    char key[FW_STORAGE_KEY_MAX + 1], query[256];
    fw_error err;
    int is_put = strcmp(method, "PUT") == 0;
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    if (!put) {
        /* First call: only the headers are in. Check before reading a byte. */
        char *path;
        fw_err rc;
        const char *length;
        if (!is_put && !is_get)
            return answer_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Only GET, HEAD and PUT are served.");
        path = encoded_path(url);
        if (!path)
            return MHD_NO;
        request_query(c, query, sizeof(query));
        rc = fw_storage_local_verify(srv->st, is_put ? "PUT" : "GET", path, query, key, &err);
        free(path);
        if (rc != FW_OK) {
            if (is_put) {
                /* Answer now; microhttpd then discards the body. */
                put = calloc(1, sizeof(*put));
                if (!put)
                    return MHD_NO;
                put->status = -1;
                *con_cls = put;
            }
            return answer_text(c, status_of(rc), err.message);
        }
        if (is_get)
            return serve_get(srv, c, key, strcmp(method, "HEAD") == 0);
        put = calloc(1, sizeof(*put));
        if (!put)
            return MHD_NO;
        *con_cls = put;
        memcpy(put->key, key, sizeof(put->key));
        length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull(length, NULL, 10) > srv->max_upload) {
            const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
            snprintf(put->message, sizeof(put->message), "The body is larger than the limit of %llu bytes.",
                     (unsigned long long)srv->max_upload);
            /* A client waiting for 100 Continue is told at once. One already sending its body is
             * answered once the body is in (read and dropped): answering first and closing would
             * reset the connection under the client's feet and it would never see the 413. */
            if (expect && strcasecmp(expect, "100-continue") == 0) {
                put->status = -1;
                return answer_text(c, MHD_HTTP_CONTENT_TOO_LARGE, put->message);
            }
            put->status = MHD_HTTP_CONTENT_TOO_LARGE;
            return MHD_YES;
        }
        if (fw_storage_upload_begin(srv->st, key, &put->up, &err) != FW_OK) {
            put->status = -1;
            return answer_text(c, status_of(err.code), err.message);
        }
        return MHD_YES;
    }
    if (put->status < 0) { /* already answered; swallow the body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!put->status) {
            put->received += *upload_data_size;
            if (put->received > srv->max_upload) {
                put->status = MHD_HTTP_CONTENT_TOO_LARGE;
                snprintf(put->message, sizeof(put->message), "The body is larger than the limit of %llu bytes.",
                         (unsigned long long)srv->max_upload);
                fw_storage_upload_abort(&put->up);
            } else if (fw_storage_upload_write(put->up, upload_data, *upload_data_size, &err) != FW_OK) {
                put->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                snprintf(put->message, sizeof(put->message), "%s", err.message);
                fw_storage_upload_abort(&put->up);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* The whole body is in. */
    if (put->status)
        return answer_text(c, (unsigned)put->status, put->message);
    if (fw_storage_upload_commit(&put->up, &err) != FW_OK)
        return answer_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, err.message);
    put->status = -1;
    if (srv->on_upload)
        srv->on_upload(srv->on_upload_ctx, put->key);
    return answer_text(c, MHD_HTTP_CREATED, "Stored.");
}

/* Called when a request ends, however it ended: an unfinished upload is dropped. */
static void request_done(void *arg, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
    put_state *put = *con_cls;
    (void)arg;
    (void)c;
    (void)why;
    if (!put)
        return;
    fw_storage_upload_abort(&put->up);
    free(put);
    *con_cls = NULL;
}

fw_err fw_file_server_start(fw_file_server **out, fw_storage *st, const char *address,
                            const fw_file_server_options *options, fw_error *err)
{
    char host[256];
    const char *colon = address ? strrchr(address, ':') : NULL;
    struct sockaddr_in sa = {0};
    socklen_t sa_len = sizeof(sa);
    fw_file_server *srv;
    long port;
    char *end;
    int fd, one = 1;
    unsigned threads = options && options->threads ? options->threads : 8;

    *out = NULL;
    if (fw_storage_get_kind(st) != FW_STORAGE_LOCAL)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, "storage.kind",
                            "The file server serves the local storage only; S3 serves its own URLs.");
    if (!colon || (size_t)(colon - address) >= sizeof(host))
        return fw_error_set(err, FW_ERR_INVALID, "address", "The listen address must be IPv4:port, not \"%s\".",
                            address ? address : "");
    snprintf(host, sizeof(host), "%.*s", (int)(colon - address), address);
    port = strtol(colon + 1, &end, 10);
    sa.sin_family = AF_INET;
    if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return fw_error_set(err, FW_ERR_INVALID, "address", "The listen address must be IPv4:port, not \"%s\".",
                            address);
    sa.sin_port = htons((uint16_t)port);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fw_error_set(err, FW_ERR_IO, "address", "Could not make a socket: %s.", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sa_len) != 0) {
        int e = errno;
        close(fd);
        return fw_error_set(err, FW_ERR_UNAVAILABLE, "address", "Could not listen on %s: %s.", address, strerror(e));
    }
    srv = calloc(1, sizeof(*srv));
    if (!srv) {
        close(fd);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    }
    srv->st = st;
    srv->port = ntohs(sa.sin_port);
    srv->max_upload = options && options->max_upload_bytes ? options->max_upload_bytes : 4ull << 30;
    srv->on_upload = options ? options->on_upload : NULL;
    srv->on_upload_ctx = options ? options->on_upload_ctx : NULL;
    srv->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handle, srv,
                                   MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
                                   MHD_OPTION_NOTIFY_COMPLETED, request_done, srv,
                                   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!srv->daemon) {
        close(fd);
        free(srv);
        return fw_error_set(err, FW_ERR_UNAVAILABLE, "address", "Could not start the file server on %s.", address);
    }
    *out = srv;
    return FW_OK;
}

int fw_file_server_port(const fw_file_server *srv) { return srv->port; }

void fw_file_server_stop(fw_file_server **srvp)
{
    fw_file_server *srv = srvp ? *srvp : NULL;
    if (!srv)
        return;
    MHD_stop_daemon(srv->daemon); /* closes the listening socket too */
    free(srv);
    *srvp = NULL;
}
