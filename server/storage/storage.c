/*
 * storage.c - the storage interface, key rules, and the local backend.
 *
 * The local backend keeps each object as the file <root>/<key>. Writes go to
 * a temporary file in the same folder (".fw-tmp-XXXXXX", a name no key can
 * take) and are renamed over the key when whole, so a reader never sees half
 * an object and a crash leaves at worst a stray temporary file.
 *
 * Local signed URLs are BASE/files/<key>?expires=<unix>&signature=<hex> with
 * signature = HMAC-SHA256(secret, "<METHOD>\n<key>\n<expires>"); the file
 * server checks them with fw_storage_local_verify.
 */
#include "server/storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/storage/sigv4.h"
#include "server/storage/storage_internal.h"
#include "server/util/fs.h"

#define TEMP_PREFIX ".fw-tmp-"

fw_err fw_storage_key_check(const char *key, fw_error *err)
{
    size_t len, segment = 0;
    if (!key || !*key)
        return fw_error_set(err, FW_ERR_INVALID, "key", "A storage key must not be empty.");
    len = strnlen(key, FW_STORAGE_KEY_MAX + 1);
    if (len > FW_STORAGE_KEY_MAX)
        return fw_error_set(err, FW_ERR_INVALID, "key", "The storage key \"%.64s...\" is longer than %d bytes.", key,
                            FW_STORAGE_KEY_MAX);
    if (key[0] == '/')
        return fw_error_set(err, FW_ERR_INVALID, "key",
                            "The storage key \"%s\" starts with '/'; keys are relative, like \"outputs/a.mp4\".", key);
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == '/' || c == '\0') {
            size_t n = i - segment;
            const char *s = key + segment;
            if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                return fw_error_set(err, FW_ERR_INVALID, "key",
                                    "The storage key \"%s\" has an empty, \".\" or \"..\" segment.", key);
            if (n >= sizeof(TEMP_PREFIX) - 1 && memcmp(s, TEMP_PREFIX, sizeof(TEMP_PREFIX) - 1) == 0)
                return fw_error_set(err, FW_ERR_INVALID, "key",
                                    "The storage key \"%s\" has a segment starting with \"" TEMP_PREFIX
                                    "\", which is kept for temporary files.",
                                    key);
            segment = i + 1;
        } else if (c < 0x20 || c == 0x7f || c == '\\') {
            return fw_error_set(err, FW_ERR_INVALID, "key",
                                "The storage key \"%s\" holds a control character or a backslash.", key);
        }
    }
    return FW_OK;
}

long long fw_storage_now(const fw_storage *st)
{
    return st->now ? st->now(st->now_arg) : (long long)time(NULL);
}

static char *copy_string(const char *s, int *failed)
{
    char *c = strdup(s ? s : "");
    if (!c)
        *failed = 1;
    return c;
}

static char *copy_without_trailing_slash(const char *s, int *failed)
{
    char *c = copy_string(s, failed);
    if (c)
        for (size_t n = strlen(c); n > 0 && c[n - 1] == '/'; n--)
            c[n - 1] = '\0';
    return c;
}

static fw_err mkdirs(char *path, fw_error *err)
{
    /* every parent of path, then path itself */
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                *p = saved;
                return fw_error_set(err, FW_ERR_IO, NULL, "Could not create the folder %s: %s.", path,
                                    strerror(e));
            }
            *p = saved;
            if (!saved)
                return FW_OK;
        }
    }
}

static fw_err local_setup(fw_storage *st, const fw_storage_config *config, fw_error *err)
{
    int failed = 0;
    if (!config->local_root || !*config->local_root)
        return fw_error_set(err, FW_ERR_INVALID, "storage.local_root", "The local storage needs a root folder.");
    if (!config->signing_secret || strlen(config->signing_secret) < 16)
        return fw_error_set(err, FW_ERR_INVALID, "storage.signing_secret",
                            "The local storage needs a signing secret of at least 16 bytes for its signed URLs.");
    if (!config->public_base_url || (strncmp(config->public_base_url, "http://", 7) != 0 &&
                                     strncmp(config->public_base_url, "https://", 8) != 0))
        return fw_error_set(err, FW_ERR_INVALID, "storage.public_base_url",
                            "The local storage needs the http(s) URL its file server is reached at.");
    st->root = copy_without_trailing_slash(config->local_root, &failed);
    st->public_base_url = copy_without_trailing_slash(config->public_base_url, &failed);
    st->signing_secret = copy_string(config->signing_secret, &failed);
    if (failed)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    if (!*st->root)
        return fw_error_set(err, FW_ERR_INVALID, "storage.local_root", "The root folder \"/\" is not allowed.");
    return mkdirs(st->root, err);
}

fw_err fw_storage_open(fw_storage **out, const fw_storage_config *config, fw_error *err)
{
    fw_storage *st;
    fw_err rc;
    *out = NULL;
    st = calloc(1, sizeof(*st));
    if (!st)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    st->kind = config->kind;
    st->now = config->now;
    st->now_arg = config->now_arg;
    if (config->kind == FW_STORAGE_LOCAL)
        rc = local_setup(st, config, err);
    else if (config->kind == FW_STORAGE_S3)
        rc = fw_storage_s3_setup(st, &config->s3, err);
    else
        rc = fw_error_set(err, FW_ERR_INVALID, "storage.kind", "The storage kind must be local or s3.");
    if (rc != FW_OK) {
        fw_storage_free(&st);
        return rc;
    }
    *out = st;
    return FW_OK;
}

void fw_storage_free(fw_storage **stp)
{
    fw_storage *st = stp ? *stp : NULL;
    if (!st)
        return;
    fw_storage_s3_cleanup(st);
    free(st->root);
    free(st->public_base_url);
    if (st->signing_secret) {
        OPENSSL_cleanse(st->signing_secret, strlen(st->signing_secret));
        free(st->signing_secret);
    }
    free(st);
    *stp = NULL;
}

fw_storage_kind fw_storage_get_kind(const fw_storage *st) { return st->kind; }

fw_err fw_storage_local_path(fw_storage *st, const char *key, char *out, size_t size, fw_error *err)
{
    fw_err rc = fw_storage_key_check(key, err);
    if (rc != FW_OK)
        return rc;
    if (st->kind != FW_STORAGE_LOCAL)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, NULL, "Only the local storage has files on this machine.");
    if ((size_t)snprintf(out, size, "%s/%s", st->root, key) >= size)
        return fw_error_set(err, FW_ERR_LIMIT, "key", "The path of the storage key \"%s\" is too long.", key);
    return FW_OK;
}

/* ---- streamed writes: a temporary file renamed into place ---- */

struct fw_storage_upload {
    int fd;
    char *temp;  /* the temporary file */
    char *final; /* where it goes */
    char key[FW_STORAGE_KEY_MAX + 1];
};

/* A temporary file beside final (creating final's folder when make_dirs). */
static fw_err begin_write(const char *final, const char *what, int make_dirs, fw_storage_upload **out,
                          fw_error *err)
{
    fw_storage_upload *up = calloc(1, sizeof(*up));
    char *slash;
    size_t n = strlen(final);
    if (!up || !(up->final = strdup(final)) || !(up->temp = malloc(n + sizeof(TEMP_PREFIX) + 8))) {
        if (up) {
            free(up->final);
            free(up);
        }
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    }
    snprintf(up->key, sizeof(up->key), "%s", what);
    strcpy(up->temp, final);
    slash = strrchr(up->temp, '/');
    if (make_dirs && slash && slash != up->temp) {
        fw_err rc;
        *slash = '\0';
        rc = mkdirs(up->temp, err);
        *slash = '/';
        if (rc != FW_OK) {
            free(up->temp);
            free(up->final);
            free(up);
            return rc;
        }
    }
    strcpy(slash ? slash + 1 : up->temp, TEMP_PREFIX "XXXXXX");
    up->fd = fw_create_temp_file(up->temp);
    if (up->fd < 0) {
        int e = errno;
        fw_error_set(err, FW_ERR_IO, NULL, "Could not create a temporary file for %s: %s.", what, strerror(e));
        free(up->temp);
        free(up->final);
        free(up);
        return err ? err->code : FW_ERR_IO;
    }
    *out = up;
    return FW_OK;
}

fw_err fw_storage_upload_write(fw_storage_upload *up, const void *data, size_t len, fw_error *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(up->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fw_error_set(err, FW_ERR_IO, NULL, "Could not write %s: %s.", up->key, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return FW_OK;
}

void fw_storage_upload_abort(fw_storage_upload **upp)
{
    fw_storage_upload *up = upp ? *upp : NULL;
    if (!up)
        return;
    if (up->fd >= 0)
        close(up->fd);
    unlink(up->temp);
    free(up->temp);
    free(up->final);
    free(up);
    *upp = NULL;
}

fw_err fw_storage_upload_commit(fw_storage_upload **upp, fw_error *err)
{
    fw_storage_upload *up = *upp;
    int e = 0;
    if (fsync(up->fd) != 0)
        e = errno;
    if (close(up->fd) != 0 && !e)
        e = errno;
    up->fd = -1;
    if (!e && rename(up->temp, up->final) != 0)
        e = errno;
    if (e) {
        fw_error_set(err, FW_ERR_IO, NULL, "Could not finish writing %s: %s.", up->key, strerror(e));
        fw_storage_upload_abort(upp);
        return FW_ERR_IO;
    }
    free(up->temp);
    free(up->final);
    free(up);
    *upp = NULL;
    return FW_OK;
}

fw_err fw_storage_temp_begin(const char *final, const char *what, fw_storage_upload **up, fw_error *err)
{
    *up = NULL;
    return begin_write(final, what, 0, up, err);
}

int fw_storage_upload_fd(const fw_storage_upload *up) { return up->fd; }

fw_err fw_storage_upload_begin(fw_storage *st, const char *key, fw_storage_upload **up, fw_error *err)
{
    char path[4096];
    fw_err rc;
    *up = NULL;
    rc = fw_storage_local_path(st, key, path, sizeof(path), err);
    if (rc != FW_OK)
        return rc;
    return begin_write(path, key, 1, up, err);
}

/* Copy the open file in into the writer; the writer is committed or aborted. */
static fw_err copy_into(int in, fw_storage_upload **up, fw_error *err)
{
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        fw_err rc;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fw_error_set(err, FW_ERR_IO, NULL, "Could not read while copying %s: %s.", (*up)->key, strerror(errno));
            fw_storage_upload_abort(up);
            return FW_ERR_IO;
        }
        if (n == 0)
            return fw_storage_upload_commit(up, err);
        rc = fw_storage_upload_write(*up, buf, (size_t)n, err);
        if (rc != FW_OK) {
            fw_storage_upload_abort(up);
            return rc;
        }
    }
}

static fw_err local_put(fw_storage *st, const char *key, const char *path, fw_error *err)
{
    fw_storage_upload *up;
    fw_err rc;
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, "path",
                            "Could not open %s to store it as %s: %s.", path, key, strerror(errno));
    rc = fw_storage_upload_begin(st, key, &up, err);
    if (rc == FW_OK)
        rc = copy_into(in, &up, err);
    close(in);
    return rc;
}

static fw_err local_get(fw_storage *st, const char *key, const char *path, fw_error *err)
{
    char source[4096];
    fw_storage_upload *up;
    int in;
    fw_err rc = fw_storage_local_path(st, key, source, sizeof(source), err);
    if (rc != FW_OK)
        return rc;
    in = open(source, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, "key",
                            "Could not read the stored object %s: %s.", key, strerror(errno));
    rc = begin_write(path, key, 0, &up, err);
    if (rc == FW_OK)
        rc = copy_into(in, &up, err);
    close(in);
    return rc;
}

static fw_err local_delete(fw_storage *st, const char *key, fw_error *err)
{
    char path[4096];
    fw_err rc = fw_storage_local_path(st, key, path, sizeof(path), err);
    if (rc != FW_OK)
        return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return fw_error_set(err, FW_ERR_IO, "key", "Could not delete the stored object %s: %s.", key,
                            strerror(errno));
    return FW_OK;
}

static fw_err local_stat(fw_storage *st, const char *key, fw_storage_stat *out, fw_error *err)
{
    char path[4096];
    struct stat s;
    fw_err rc = fw_storage_local_path(st, key, path, sizeof(path), err);
    if (rc != FW_OK)
        return rc;
    if (stat(path, &s) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return FW_OK;
        return fw_error_set(err, FW_ERR_IO, "key", "Could not look at the stored object %s: %s.", key,
                            strerror(errno));
    }
    if (!S_ISREG(s.st_mode))
        return FW_OK; /* a folder is a key prefix, not an object */
    out->exists = 1;
    out->size = (uint64_t)s.st_size;
    return FW_OK;
}

static const char *method_name(fw_storage_method m) { return m == FW_STORAGE_PUT ? "PUT" : "GET"; }

static void local_signature(const fw_storage *st, const char *method, const char *key, long long expires,
                            char out[65])
{
    char message[FW_STORAGE_KEY_MAX + 64];
    int n = snprintf(message, sizeof(message), "%s\n%s\n%lld", method, key, expires);
    fw_sigv4_hmac_hex(st->signing_secret, strlen(st->signing_secret), message, (size_t)n, out);
}

static fw_err local_signed_url(fw_storage *st, const char *key, fw_storage_method method, long expires_seconds,
                               char **url, fw_error *err)
{
    long long expires = fw_storage_now(st) + expires_seconds;
    char signature[65];
    char *encoded = fw_sigv4_uri_encode(key, 1);
    size_t size;
    if (!encoded)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    local_signature(st, method_name(method), key, expires, signature);
    size = strlen(st->public_base_url) + strlen(encoded) + 160;
    *url = malloc(size);
    if (*url)
        snprintf(*url, size, "%s/files/%s?expires=%lld&signature=%s", st->public_base_url, encoded, expires,
                 signature);
    free(encoded);
    return *url ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s (n bytes) into out (size bytes); -1 when malformed or too long. */
static int percent_decode(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || hi * 16 + lo == 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= size)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return (int)o;
}

/* The value of name in an &-separated query, as a pointer and length into it. */
static const char *query_value(const char *query, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        if (plen > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            *len = plen - n - 1;
            return p + n + 1;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

fw_err fw_storage_local_verify(fw_storage *st, const char *method, const char *path, const char *query,
                               char *key_out, fw_error *err)
{
    const char *expires_text, *signature_text;
    size_t expires_len = 0, signature_len = 0;
    char key[FW_STORAGE_KEY_MAX + 1], expected[65], digits[24];
    long long expires;
    char *end;
    fw_err rc;

    key_out[0] = '\0';
    if (st->kind != FW_STORAGE_LOCAL)
        return fw_error_set(err, FW_ERR_UNSUPPORTED, NULL, "Only the local storage signs its own URLs.");
    if (!path || strncmp(path, "/files/", 7) != 0)
        return fw_error_set(err, FW_ERR_NOT_FOUND, "path", "Signed URLs start with /files/.");
    if (percent_decode(path + 7, strlen(path + 7), key, sizeof(key)) < 0)
        return fw_error_set(err, FW_ERR_INVALID, "key", "The path of the signed URL is not a valid key.");
    rc = fw_storage_key_check(key, err);
    if (rc != FW_OK)
        return rc;
    expires_text = query_value(query, "expires", &expires_len);
    signature_text = query_value(query, "signature", &signature_len);
    if (!expires_text || !signature_text || expires_len == 0 || expires_len >= sizeof(digits) || signature_len != 64)
        return fw_error_set(err, FW_ERR_UNAUTHENTICATED, "signature",
                            "The URL for %s is not signed: it needs expires and signature.", key);
    memcpy(digits, expires_text, expires_len);
    digits[expires_len] = '\0';
    errno = 0;
    expires = strtoll(digits, &end, 10);
    if (*end || errno || digits[0] == '-' || digits[0] == '+')
        return fw_error_set(err, FW_ERR_UNAUTHENTICATED, "expires", "The expiry of the URL for %s is not a number.",
                            key);
    /* The signature covers the text as sent: a re-spelled expires ("0123") fails it. */
    local_signature(st, method, key, expires, expected);
    if (strlen(digits) != (size_t)snprintf(NULL, 0, "%lld", expires) ||
        CRYPTO_memcmp(expected, signature_text, 64) != 0)
        return fw_error_set(err, FW_ERR_PERMISSION, "signature",
                            "The signature of the %s URL for %s does not match: it was altered or made for "
                            "another method or key.",
                            method, key);
    if (fw_storage_now(st) > expires)
        return fw_error_set(err, FW_ERR_DEADLINE, "expires", "The signed URL for %s expired at %lld.", key, expires);
    memcpy(key_out, key, strlen(key) + 1);
    return FW_OK;
}

/* ---- the interface ---- */

/* A bucket that does not answer (refused or dropped connections, 5xx, 429)
 * is asked again after these pauses, doubling, about 16 s in all: a
 * restarting S3 server or a short network fault costs a job some seconds,
 * not an attempt. Each call is whole (a GET writes a temporary file that
 * only a complete download replaces the target with; a PUT sends the whole
 * object again), so asking again is safe. */
static const int s3_retry_ms[] = {250, 500, 1000, 2000, 4000, 8000};

#define S3_RETRYING(rc, call)                                                                                        \
    do {                                                                                                             \
        size_t try_ = 0;                                                                                             \
        while (((rc) = (call)) == FW_ERR_UNAVAILABLE && try_ < sizeof(s3_retry_ms) / sizeof(s3_retry_ms[0])) {     \
            struct timespec pause_ = {s3_retry_ms[try_] / 1000, (s3_retry_ms[try_] % 1000) * 1000000L};              \
            try_++;                                                                                                  \
            nanosleep(&pause_, NULL);                                                                                \
        }                                                                                                            \
    } while (0)

fw_err fw_storage_put_file(fw_storage *st, const char *key, const char *path, fw_error *err)
{
    fw_err rc = fw_storage_key_check(key, err);
    if (rc != FW_OK)
        return rc;
    if (st->kind != FW_STORAGE_S3)
        return local_put(st, key, path, err);
    S3_RETRYING(rc, fw_storage_s3_put_file(st, key, path, err));
    return rc;
}

fw_err fw_storage_get_file(fw_storage *st, const char *key, const char *path, fw_error *err)
{
    fw_err rc = fw_storage_key_check(key, err);
    if (rc != FW_OK)
        return rc;
    if (st->kind != FW_STORAGE_S3)
        return local_get(st, key, path, err);
    S3_RETRYING(rc, fw_storage_s3_get_file(st, key, path, err));
    return rc;
}

fw_err fw_storage_delete(fw_storage *st, const char *key, fw_error *err)
{
    fw_err rc = fw_storage_key_check(key, err);
    if (rc != FW_OK)
        return rc;
    if (st->kind != FW_STORAGE_S3)
        return local_delete(st, key, err);
    S3_RETRYING(rc, fw_storage_s3_delete(st, key, err));
    return rc;
}

fw_err fw_storage_stat_key(fw_storage *st, const char *key, fw_storage_stat *out, fw_error *err)
{
    fw_err rc = fw_storage_key_check(key, err);
    out->exists = 0;
    out->size = 0;
    if (rc != FW_OK)
        return rc;
    return st->kind == FW_STORAGE_S3 ? fw_storage_s3_stat(st, key, out, err) : local_stat(st, key, out, err);
}

/* A temporary file made, written and removed: what every local write needs
 * (the folder exists, is a folder, has room and lets us in). */
static fw_err local_check(fw_storage *st, fw_error *err)
{
    size_t n = strlen(st->root) + sizeof("/" TEMP_PREFIX "health-XXXXXX");
    char *path = malloc(n);
    int fd, e;
    ssize_t wrote;

    if (!path)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory.");
    snprintf(path, n, "%s/" TEMP_PREFIX "health-XXXXXX", st->root);
    if ((fd = mkstemp(path)) < 0) {
        e = errno;
        free(path);
        return fw_error_set(err, FW_ERR_UNAVAILABLE, "storage", "Cannot write in the storage folder %s: %s.",
                            st->root, strerror(e));
    }
    wrote = write(fd, "ok", 2);
    e = errno;
    close(fd);
    unlink(path);
    free(path);
    if (wrote != 2)
        return fw_error_set(err, FW_ERR_UNAVAILABLE, "storage", "Cannot write in the storage folder %s: %s.",
                            st->root, wrote < 0 ? strerror(e) : "short write");
    return FW_OK;
}

fw_err fw_storage_check(fw_storage *st, long timeout_seconds, fw_error *err)
{
    return st->kind == FW_STORAGE_S3 ? fw_storage_s3_check(st, timeout_seconds > 0 ? timeout_seconds : 5, err)
                                     : local_check(st, err);
}

fw_err fw_storage_signed_url(fw_storage *st, const char *key, fw_storage_method method, long expires_seconds,
                             char **url, fw_error *err)
{
    fw_err rc = fw_storage_key_check(key, err);
    *url = NULL;
    if (rc != FW_OK)
        return rc;
    if (method != FW_STORAGE_GET && method != FW_STORAGE_PUT)
        return fw_error_set(err, FW_ERR_INVALID, "method", "A signed URL is for GET or PUT.");
    if (expires_seconds < 1 || expires_seconds > 604800)
        return fw_error_set(err, FW_ERR_INVALID, "expires_seconds",
                            "A signed URL must expire in 1 to 604800 seconds (a week), not %ld.", expires_seconds);
    return st->kind == FW_STORAGE_S3 ? fw_storage_s3_signed_url(st, key, method, expires_seconds, url, err)
                                     : local_signed_url(st, key, method, expires_seconds, url, err);
}
