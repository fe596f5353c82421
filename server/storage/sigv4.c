/*
 * sigv4.c - AWS Signature Version 4: canonical request, string to sign,
 * signing key and signature, for headers and for presigned URLs.
 *
 * Strings are built in a small growable buffer; requests are few and short,
 * so clarity wins over avoiding a copy.
 */
#include "server/storage/sigv4.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct text {
    char *s;
    size_t len, cap;
    int failed;
} text;

static void text_add_n(text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        char *grown;
        while (cap < t->len + n + 1)
            cap *= 2;
        grown = realloc(t->s, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_add(text *t, const char *s) { text_add_n(t, s, strlen(s)); }

/* The finished string, or NULL (and nothing leaked) when memory ran out. */
static char *text_take(text *t)
{
    if (t->failed) {
        free(t->s);
        return NULL;
    }
    if (!t->s)
        return strdup("");
    return t->s;
}

static void to_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

void fw_sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(data, len, digest);
    to_hex(digest, sizeof(digest), out);
}

static void hmac(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32])
{
    unsigned int out_len = 32;
    HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len);
}

void fw_sigv4_hmac_hex(const void *key, size_t key_len, const void *data, size_t len, char out[65])
{
    unsigned char digest[32];
    hmac(key, key_len, data, len, digest);
    to_hex(digest, sizeof(digest), out);
}

char *fw_sigv4_uri_encode(const char *s, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *p = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = digits[c >> 4];
            *p++ = digits[c & 15];
        }
    }
    *p = '\0';
    return out;
}

/* "b=2&a=1&c" -> "a=1&b=2&c=": parameters sorted by name then value, each
 * with its '='. Sorting whole "name=value" strings gives that order except
 * when one name is a prefix of another ("a" vs "a-b"): '=' (0x3d) sorts
 * after '-' and '.', so compare names first. */
static int compare_params(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
    size_t n = nx < ny ? nx : ny;
    int c = memcmp(x, y, n);
    if (c)
        return c;
    if (nx != ny)
        return nx < ny ? -1 : 1;
    return strcmp(x + nx, y + ny);
}

static void add_canonical_query(text *t, const char *query)
{
    char *copy, *save = NULL, **params;
    size_t count = 0, i;
    if (!query || !*query)
        return;
    copy = strdup(query);
    params = calloc(strlen(query) + 1, sizeof(*params));
    if (!copy || !params) {
        t->failed = 1;
        free(copy);
        free(params);
        return;
    }
    for (char *p = strtok_r(copy, "&", &save); p; p = strtok_r(NULL, "&", &save))
        params[count++] = p;
    qsort(params, count, sizeof(*params), compare_params);
    for (i = 0; i < count; i++) {
        if (i)
            text_add(t, "&");
        text_add(t, params[i]);
        if (!strchr(params[i], '='))
            text_add(t, "=");
    }
    free(params);
    free(copy);
}

typedef struct canonical_header {
    char *name;  /* lower-case */
    const char *value;
} canonical_header;

static int compare_headers(const void *a, const void *b)
{
    return strcmp(((const canonical_header *)a)->name, ((const canonical_header *)b)->name);
}

/* value trimmed, inner runs of spaces and tabs as one space */
static void add_header_value(text *t, const char *v)
{
    int space = 0, started = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = started;
            continue;
        }
        if (space)
            text_add_n(t, " ", 1);
        space = 0;
        started = 1;
        text_add_n(t, v, 1);
    }
}

char *fw_sigv4_canonical_request(const fw_sigv4_request *r, char **signed_headers)
{
    text t = {0}, names = {0};
    canonical_header *headers = calloc(r->header_count ? r->header_count : 1, sizeof(*headers));
    size_t i;
    if (signed_headers)
        *signed_headers = NULL;
    if (!headers)
        return NULL;
    for (i = 0; i < r->header_count; i++) {
        headers[i].name = strdup(r->headers[i].name);
        headers[i].value = r->headers[i].value;
        if (!headers[i].name) {
            t.failed = 1;
            break;
        }
        for (char *c = headers[i].name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    }
    if (!t.failed)
        qsort(headers, r->header_count, sizeof(*headers), compare_headers);

    text_add(&t, r->method);
    text_add(&t, "\n");
    text_add(&t, r->path && *r->path ? r->path : "/");
    text_add(&t, "\n");
    add_canonical_query(&t, r->query);
    text_add(&t, "\n");
    for (i = 0; i < r->header_count && !t.failed; i++) {
        text_add(&t, headers[i].name);
        text_add(&t, ":");
        add_header_value(&t, headers[i].value);
        text_add(&t, "\n");
        if (i)
            text_add(&names, ";");
        text_add(&names, headers[i].name);
    }
    text_add(&t, "\n");
    text_add(&t, names.s ? names.s : "");
    text_add(&t, "\n");
    text_add(&t, r->payload_hash);

    for (i = 0; i < r->header_count; i++)
        free(headers[i].name);
    free(headers);
    if (t.failed || names.failed) {
        free(t.s);
        free(names.s);
        return NULL;
    }
    if (signed_headers)
        *signed_headers = text_take(&names);
    else
        free(names.s);
    return text_take(&t);
}

static void scope(const fw_sigv4_credentials *c, const char *amz_date, text *t)
{
    text_add_n(t, amz_date, 8);
    text_add(t, "/");
    text_add(t, c->region);
    text_add(t, "/");
    text_add(t, c->service);
    text_add(t, "/aws4_request");
}

char *fw_sigv4_string_to_sign(const fw_sigv4_credentials *c, const char *amz_date, const char *canonical_request)
{
    text t = {0};
    char hash[65];
    fw_sigv4_sha256_hex(canonical_request, strlen(canonical_request), hash);
    text_add(&t, "AWS4-HMAC-SHA256\n");
    text_add(&t, amz_date);
    text_add(&t, "\n");
    scope(c, amz_date, &t);
    text_add(&t, "\n");
    text_add(&t, hash);
    return text_take(&t);
}

void fw_sigv4_signature(const fw_sigv4_credentials *c, const char *amz_date, const char *string_to_sign, char out[65])
{
    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    unsigned char key[32];
    size_t secret_len = strlen(c->secret_access_key);
    char *first = malloc(secret_len + 5);
    if (!first) {
        out[0] = '\0';
        return;
    }
    memcpy(first, "AWS4", 4);
    memcpy(first + 4, c->secret_access_key, secret_len + 1);
    hmac(first, secret_len + 4, amz_date, 8, key);
    OPENSSL_cleanse(first, secret_len + 4);
    free(first);
    hmac(key, 32, c->region, strlen(c->region), key);
    hmac(key, 32, c->service, strlen(c->service), key);
    hmac(key, 32, "aws4_request", 12, key);
    fw_sigv4_hmac_hex(key, 32, string_to_sign, strlen(string_to_sign), out);
    OPENSSL_cleanse(key, sizeof(key));
}

static int valid_date(const char *amz_date)
{
    if (!amz_date || strlen(amz_date) != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z')
        return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)amz_date[i]))
            return 0;
    return 1;
}

fw_err fw_sigv4_authorization(const fw_sigv4_credentials *c, const char *amz_date, const fw_sigv4_request *r,
                              char **out, fw_error *err)
{
    char *signed_headers = NULL, *canonical, *to_sign;
    char signature[65];
    text t = {0};
    *out = NULL;
    if (!valid_date(amz_date))
        return fw_error_set(err, FW_ERR_INVALID, "x-amz-date", "The signing time must look like 20150830T123600Z.");
    canonical = fw_sigv4_canonical_request(r, &signed_headers);
    to_sign = canonical ? fw_sigv4_string_to_sign(c, amz_date, canonical) : NULL;
    if (!to_sign) {
        free(canonical);
        free(signed_headers);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory while signing a request.");
    }
    fw_sigv4_signature(c, amz_date, to_sign, signature);
    text_add(&t, "AWS4-HMAC-SHA256 Credential=");
    text_add(&t, c->access_key_id);
    text_add(&t, "/");
    scope(c, amz_date, &t);
    text_add(&t, ", SignedHeaders=");
    text_add(&t, signed_headers);
    text_add(&t, ", Signature=");
    text_add(&t, signature);
    free(canonical);
    free(to_sign);
    free(signed_headers);
    *out = text_take(&t);
    return *out ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory while signing a request.");
}

fw_err fw_sigv4_presign_query(const fw_sigv4_credentials *c, const char *amz_date, const char *method,
                              const char *host, const char *path, const char *extra_query, long expires_seconds,
                              char **out, fw_error *err)
{
    text q = {0}, credential = {0};
    char *encoded_credential, *canonical = NULL, *to_sign = NULL, number[32], signature[65];
    fw_sigv4_header header = {"host", host};
    fw_sigv4_request r = {method, path, NULL, &header, 1, FW_SIGV4_UNSIGNED_PAYLOAD};

    *out = NULL;
    if (!valid_date(amz_date))
        return fw_error_set(err, FW_ERR_INVALID, "x-amz-date", "The signing time must look like 20150830T123600Z.");
    if (expires_seconds < 1 || expires_seconds > 604800)
        return fw_error_set(err, FW_ERR_INVALID, "expires_seconds",
                            "A presigned URL must expire in 1 to 604800 seconds (a week), not %ld.",
                            expires_seconds);
    text_add(&credential, c->access_key_id);
    text_add(&credential, "/");
    scope(c, amz_date, &credential);
    encoded_credential = credential.failed ? NULL : fw_sigv4_uri_encode(credential.s, 0);
    free(credential.s);

    snprintf(number, sizeof(number), "%ld", expires_seconds);
    text_add(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    text_add(&q, encoded_credential ? encoded_credential : "");
    text_add(&q, "&X-Amz-Date=");
    text_add(&q, amz_date);
    text_add(&q, "&X-Amz-Expires=");
    text_add(&q, number);
    text_add(&q, "&X-Amz-SignedHeaders=host");
    if (extra_query && *extra_query) {
        text_add(&q, "&");
        text_add(&q, extra_query);
    }
    free(encoded_credential);
    if (!q.failed) {
        r.query = q.s;
        canonical = fw_sigv4_canonical_request(&r, NULL);
        to_sign = canonical ? fw_sigv4_string_to_sign(c, amz_date, canonical) : NULL;
    }
    if (!to_sign) {
        free(canonical);
        free(q.s);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory while presigning a URL.");
    }
    fw_sigv4_signature(c, amz_date, to_sign, signature);
    free(canonical);
    free(to_sign);
    text_add(&q, "&X-Amz-Signature=");
    text_add(&q, signature);
    *out = text_take(&q);
    return *out ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "Out of memory while presigning a URL.");
}

void fw_sigv4_format_date(long long unix_time, char out[17])
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
