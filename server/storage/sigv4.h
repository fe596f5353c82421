/*
 * sigv4.h - AWS Signature Version 4, as S3 and S3-compatible servers check it.
 *
 * Pure functions over strings: no network, no clock. The S3 backend builds a
 * request, hands it here for the Authorization header or for the query of a
 * presigned URL, and sends it. Kept apart so the canonicalisation can be
 * checked against AWS's published test vectors.
 *
 * S3 flavour: the path is URI-encoded once (never twice) and not normalised;
 * the caller passes it already encoded (fw_sigv4_uri_encode). Query strings
 * are passed already encoded too ("a=b&c=d"); they are sorted here. Header
 * names are lower-cased and values trimmed with inner runs of spaces
 * collapsed; a header name must not appear twice.
 */
#ifndef FW_STORAGE_SIGV4_H
#define FW_STORAGE_SIGV4_H

#include <stddef.h>

#include "server/util/error.h"

#define FW_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define FW_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct fw_sigv4_header {
    const char *name;
    const char *value;
} fw_sigv4_header;

typedef struct fw_sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3" */
} fw_sigv4_credentials;

typedef struct fw_sigv4_request {
    const char *method;           /* "GET" */
    const char *path;             /* encoded: "/bucket/a%20b.mp4" */
    const char *query;            /* encoded, any order, without '?'; NULL or "" for none */
    const fw_sigv4_header *headers; /* every header to sign, host and x-amz-date among them */
    size_t header_count;
    const char *payload_hash;     /* lower-case hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
} fw_sigv4_request;

/* Hex SHA-256 of data into out (65 bytes with the NUL). */
void fw_sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/* HMAC-SHA256 of data under key, as lower-case hex into out (65 bytes). */
void fw_sigv4_hmac_hex(const void *key, size_t key_len, const void *data, size_t len, char out[65]);

/* URI-encode per SigV4: A-Z a-z 0-9 - . _ ~ stay, everything else becomes
 * %XX (upper-case hex); '/' stays when keep_slash. Returns a new string the
 * caller frees, or NULL when out of memory. */
char *fw_sigv4_uri_encode(const char *s, int keep_slash);

/* The canonical request, as a new string the caller frees (NULL: out of
 * memory). signed_headers, when non-NULL, gets the new "host;x-amz-date"
 * list, also the caller's to free. */
char *fw_sigv4_canonical_request(const fw_sigv4_request *request, char **signed_headers);

/* The string to sign for a canonical request, made at amz_date
 * ("20150830T123600Z"). New string, caller frees. */
char *fw_sigv4_string_to_sign(const fw_sigv4_credentials *credentials, const char *amz_date,
                              const char *canonical_request);

/* The hex signature of string_to_sign (65 bytes with the NUL). */
void fw_sigv4_signature(const fw_sigv4_credentials *credentials, const char *amz_date, const char *string_to_sign,
                        char out[65]);

/* The whole Authorization header value for a request signed at amz_date
 * ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...").
 * New string, caller frees. */
fw_err fw_sigv4_authorization(const fw_sigv4_credentials *credentials, const char *amz_date,
                              const fw_sigv4_request *request, char **out, fw_error *err);

/* The query string of a presigned URL (query-string authentication) for
 * method on path at host, valid expires_seconds (1..604800) from amz_date.
 * Only the host header is signed and the payload is UNSIGNED-PAYLOAD, as a
 * browser or curl fetching the URL sends nothing else we could predict.
 * extra_query (encoded, may be NULL) is signed along. New string, caller
 * frees: "X-Amz-Algorithm=...&X-Amz-Signature=<hex>". */
fw_err fw_sigv4_presign_query(const fw_sigv4_credentials *credentials, const char *amz_date, const char *method,
                              const char *host, const char *path, const char *extra_query, long expires_seconds,
                              char **out, fw_error *err);

/* amz_date (17 bytes with the NUL) for a Unix time, UTC. */
void fw_sigv4_format_date(long long unix_time, char out[17]);

#endif
