/*
 * secrets.c - see secrets.h.
 *
 * Values are wiped (OPENSSL_cleanse) before their memory is freed, so a
 * secret lives in memory only while it is being used.
 */
#include "server/secrets/secrets.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/util/fs.h"
#include "server/util/id.h"

#define NONCE_SIZE 12
#define TAG_SIZE 16
#define SEALED_PREFIX "v1:"

/* ---- the key ----------------------------------------------------------------------------------- */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode exactly n bytes of hex (2n digits, then the end of the text). */
static int hex_decode(const char *text, size_t digits, unsigned char *out)
{
    if (strlen(text) != digits || digits % 2)
        return -1;
    for (size_t i = 0; i < digits; i += 2) {
        int hi = hex_value((unsigned char)text[i]), lo = hex_value((unsigned char)text[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

fw_err fw_secrets_key_load(const char *data_dir, unsigned char key[FW_SECRETS_KEY_SIZE], fw_error *err)
{
    const char *env = getenv("FRAMEWRIGHT_SECRETS_KEY");
    char path[PATH_MAX], text[2 * FW_SECRETS_KEY_SIZE + 1];
    fw_error read_err;
    size_t len = 0;
    char *file;
    FILE *f;
    int fd;

    if (env && *env) {
        if (hex_decode(env, 2 * FW_SECRETS_KEY_SIZE, key) != 0)
            return fw_error_set(err, FW_ERR_INVALID, "FRAMEWRIGHT_SECRETS_KEY", "must be 64 hex digits (32 bytes)");
        return FW_OK;
    }
    snprintf(path, sizeof(path), "%s/secrets.key", data_dir ? data_dir : ".");
    file = fw_read_file(path, 1024, &len, &read_err);
    if (file) {
        int bad;
        file[strcspn(file, "\r\n")] = '\0';
        bad = hex_decode(file, 2 * FW_SECRETS_KEY_SIZE, key);
        OPENSSL_cleanse(file, len);
        free(file);
        if (bad)
            return fw_error_set(err, FW_ERR_INVALID, "secrets.key", "%s must hold 64 hex digits (32 bytes)", path);
        return FW_OK;
    }
    if (fw_random_bytes(key, FW_SECRETS_KEY_SIZE) != 0)
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "no random bytes for the secrets key");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        /* Another process made it first: use theirs. */
        if (errno == EEXIST)
            return fw_secrets_key_load(data_dir, key, err);
        return fw_error_set(err, FW_ERR_IO, "--data", "cannot write %s: %s", path, strerror(errno));
    }
    hex_encode(key, FW_SECRETS_KEY_SIZE, text);
    fprintf(f, "%s\n", text);
    OPENSSL_cleanse(text, sizeof(text));
    if (fclose(f) != 0)
        return fw_error_set(err, FW_ERR_IO, "--data", "cannot write %s", path);
    return FW_OK;
}

/* ---- sealing ----------------------------------------------------------------------------------- */

int fw_secret_name_valid(const char *name)
{
    size_t n;
    if (!name || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
        return 0;
    for (n = 1; name[n]; n++)
        if (!(isalnum((unsigned char)name[n]) || name[n] == '_') || n >= FW_SECRET_NAME_MAX)
            return 0;
    return 1;
}

void fw_secret_free(char **value)
{
    if (!*value)
        return;
    OPENSSL_cleanse(*value, strlen(*value));
    free(*value);
    *value = NULL;
}

/* Encrypt (enc 1) or decrypt (enc 0) len bytes with AES-256-GCM; the tag is
 * written (encrypting) or checked (decrypting). 0 on success. */
static int gcm(int enc, const unsigned char *key, const unsigned char *nonce, const char *aad, const unsigned char *in,
               int len, unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok;

    ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_SIZE, NULL) == 1 &&
         EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
         EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
         (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, len) == 1);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_SIZE, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + (len ? n : 0), &n) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_SIZE, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

fw_err fw_secrets_seal(const unsigned char key[FW_SECRETS_KEY_SIZE], const char *team_id, const char *value,
                       char **sealed, fw_error *err)
{
    size_t len = strlen(value), total = NONCE_SIZE + len + TAG_SIZE;
    unsigned char *buf;
    char *text;

    *sealed = NULL;
    if (len > FW_SECRET_VALUE_MAX)
        return fw_error_set(err, FW_ERR_LIMIT, "value", "is longer than %d bytes", FW_SECRET_VALUE_MAX);
    buf = malloc(total);
    text = malloc(strlen(SEALED_PREFIX) + 2 * total + 1);
    if (!buf || !text) {
        free(buf);
        free(text);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory sealing a secret");
    }
    if (fw_random_bytes(buf, NONCE_SIZE) != 0 ||
        gcm(1, key, buf, team_id, (const unsigned char *)value, (int)len, buf + NONCE_SIZE, buf + NONCE_SIZE + len)) {
        OPENSSL_cleanse(buf, total);
        free(buf);
        free(text);
        return fw_error_set(err, FW_ERR_INTERNAL, NULL, "sealing a secret failed");
    }
    strcpy(text, SEALED_PREFIX);
    hex_encode(buf, total, text + strlen(SEALED_PREFIX));
    free(buf);
    *sealed = text;
    return FW_OK;
}

fw_err fw_secrets_open(const unsigned char key[FW_SECRETS_KEY_SIZE], const char *team_id, const char *sealed,
                       char **value, fw_error *err)
{
    size_t prefix = strlen(SEALED_PREFIX), digits, total, len;
    unsigned char *buf;
    char *plain;

    *value = NULL;
    if (!sealed || strncmp(sealed, SEALED_PREFIX, prefix) != 0)
        return fw_error_set(err, FW_ERR_PERMISSION, NULL, "the stored secret cannot be opened (unknown format)");
    digits = strlen(sealed + prefix);
    total = digits / 2;
    if (digits % 2 || total < NONCE_SIZE + TAG_SIZE)
        return fw_error_set(err, FW_ERR_PERMISSION, NULL, "the stored secret cannot be opened (truncated)");
    len = total - NONCE_SIZE - TAG_SIZE;
    buf = malloc(total);
    plain = malloc(len + 1);
    if (!buf || !plain) {
        free(buf);
        free(plain);
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory opening a secret");
    }
    if (hex_decode(sealed + prefix, digits, buf) != 0 ||
        gcm(0, key, buf, team_id, buf + NONCE_SIZE, (int)len, (unsigned char *)plain, buf + NONCE_SIZE + len)) {
        OPENSSL_cleanse(plain, len + 1);
        free(plain);
        free(buf);
        return fw_error_set(err, FW_ERR_PERMISSION, NULL,
                            "the stored secret cannot be opened (altered, another team's, or another key's)");
    }
    free(buf);
    plain[len] = '\0';
    if (strlen(plain) != len) {
        /* A NUL inside a value would cut it short where it is used. */
        OPENSSL_cleanse(plain, len);
        free(plain);
        return fw_error_set(err, FW_ERR_PERMISSION, NULL, "the stored secret cannot be opened (holds a NUL)");
    }
    *value = plain;
    return FW_OK;
}

/* ---- placeholders ------------------------------------------------------------------------------ */

/* The placeholder starting at p ("${secret." or "${secrets."): the length of
 * its opening into *open, or 0 when p starts none. */
static size_t placeholder_open(const char *p)
{
    if (strncmp(p, "${secrets.", 10) == 0)
        return 10;
    if (strncmp(p, "${secret.", 9) == 0)
        return 9;
    return 0;
}

int fw_secrets_has_placeholder(const char *text)
{
    for (const char *p = text ? strstr(text, "${secret") : NULL; p; p = strstr(p + 1, "${secret"))
        if (placeholder_open(p))
            return 1;
    return 0;
}

/* A growing string whose old buffers are wiped as it grows. */
typedef struct buffer {
    char *data;
    size_t len, cap;
} buffer;

static int buffer_add(buffer *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *bigger = malloc(cap);
        if (!bigger)
            return -1;
        if (b->data) {
            memcpy(bigger, b->data, b->len);
            OPENSSL_cleanse(b->data, b->cap);
            free(b->data);
        }
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static void buffer_wipe(buffer *b)
{
    if (b->data) {
        OPENSSL_cleanse(b->data, b->cap);
        free(b->data);
    }
    memset(b, 0, sizeof(*b));
}

fw_err fw_secrets_substitute(const char *text, fw_secret_lookup_fn lookup, void *user, char **out, fw_error *err)
{
    buffer b = {0};
    const char *p = text ? text : "";
    fw_err rc = FW_OK;

    *out = NULL;
    while (rc == FW_OK) {
        const char *at = strstr(p, "${secret");
        size_t open;
        while (at && !(open = placeholder_open(at)))
            at = strstr(at + 1, "${secret");
        if (!at) {
            if (buffer_add(&b, p, strlen(p)))
                rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory substituting secrets");
            break;
        }
        const char *name = at + open, *close = strchr(name, '}');
        char wanted[FW_SECRET_NAME_MAX + 1];
        char *value = NULL;

        if (!close || (size_t)(close - name) > FW_SECRET_NAME_MAX) {
            rc = fw_error_set(err, FW_ERR_INVALID, NULL, "a ${secret.NAME} placeholder has no closing '}'");
            break;
        }
        snprintf(wanted, sizeof(wanted), "%.*s", (int)(close - name), name);
        if (!fw_secret_name_valid(wanted)) {
            rc = fw_error_set(err, FW_ERR_INVALID, NULL,
                              "'%s' is not a secret name (letters, digits and '_', not starting with a digit)",
                              wanted);
            break;
        }
        rc = lookup(user, wanted, &value, err);
        if (rc == FW_ERR_NOT_FOUND)
            rc = fw_error_set(err, FW_ERR_INVALID, NULL, "no secret '%s'", wanted);
        if (rc == FW_OK && (buffer_add(&b, p, (size_t)(at - p)) || buffer_add(&b, value, strlen(value))))
            rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory substituting secrets");
        fw_secret_free(&value);
        p = close + 1;
    }
    if (rc != FW_OK) {
        buffer_wipe(&b);
        return rc;
    }
    *out = b.data;
    return FW_OK;
}

/* ---- with the store ---------------------------------------------------------------------------- */

typedef struct store_lookup {
    fw_store *store;
    const unsigned char *key;
    const char *team_id;
    int open; /* 0: only check that the secret exists */
} store_lookup;

static fw_err lookup_in_store(void *user, const char *name, char **value, fw_error *err)
{
    store_lookup *l = user;
    fw_secret_row row;
    fw_err rc;

    memset(&row, 0, sizeof(row));
    if ((rc = fw_store_secret_get(l->store, l->team_id, name, &row, err)))
        return rc;
    if (l->open)
        rc = fw_secrets_open(l->key, l->team_id, row.ciphertext, value, err);
    else if (!(*value = strdup("")))
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    if (rc == FW_ERR_PERMISSION)
        fw_error_set(err, FW_ERR_PERMISSION, NULL, "secret '%s' cannot be opened with this server's key", name);
    fw_secret_row_clear(&row);
    return rc;
}

fw_err fw_secrets_resolve(fw_store *store, const unsigned char key[FW_SECRETS_KEY_SIZE], const char *team_id,
                          const char *text, char **out, fw_error *err)
{
    store_lookup l = {store, key, team_id, 1};
    if (!fw_secrets_has_placeholder(text)) {
        *out = strdup(text ? text : "");
        return *out ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    }
    return fw_secrets_substitute(text, lookup_in_store, &l, out, err);
}

fw_err fw_secrets_check(fw_store *store, const char *team_id, const char *text, const char *field, fw_error *err)
{
    store_lookup l = {store, NULL, team_id, 0};
    char *out = NULL;
    fw_err rc;

    if (!fw_secrets_has_placeholder(text))
        return FW_OK;
    rc = fw_secrets_substitute(text, lookup_in_store, &l, &out, err);
    free(out);
    if (rc && err)
        snprintf(err->field, sizeof(err->field), "%s", field);
    return rc;
}

void fw_secrets_redact(char *buf, size_t size, const char *const *values, size_t n)
{
    static const char mark[] = "[redacted]";
    size_t len = strlen(buf), in = 0, out = 0;
    char *copy;

    if (size == 0 || !(copy = malloc(size))) {
        if (size)
            buf[0] = '\0'; /* cannot redact: say nothing rather than leak */
        return;
    }
    /* One pass over the original text, so a mark is never searched again. */
    while (in < len) {
        size_t hit = 0;
        for (size_t i = 0; i < n; i++) {
            size_t vlen = values[i] ? strlen(values[i]) : 0;
            if (vlen >= 4 && vlen > hit && strncmp(buf + in, values[i], vlen) == 0)
                hit = vlen;
        }
        if (hit) {
            if (out + sizeof(mark) > size)
                break; /* no room for the mark: cut the text before the secret */
            memcpy(copy + out, mark, sizeof(mark) - 1);
            out += sizeof(mark) - 1;
            in += hit;
        } else {
            if (out + 2 > size)
                break;
            copy[out++] = buf[in++];
        }
    }
    copy[out] = '\0';
    memcpy(buf, copy, out + 1);
    OPENSSL_cleanse(copy, size);
    free(copy);
}
