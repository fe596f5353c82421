/*
 * storage.h - blob storage for template bundles, fonts and render outputs.
 *
 * Blobs live outside the database, under keys such as
 * "outputs/01J.../result.mp4", in one of two backends chosen at start-up:
 *
 *   local  a folder on this machine (one-machine installs); its signed URLs
 *          point at our own file server (file_server.h) and carry an
 *          HMAC-SHA256 of method, key and expiry.
 *   s3     an S3-compatible bucket (a render farm), spoken to over libcurl
 *          with AWS Signature Version 4 (sigv4.h); its signed URLs are
 *          S3 presigned URLs.
 *
 * Every write is atomic: a reader sees the old object, the whole new one or
 * nothing, never part of one. Locally a temporary file is renamed over the
 * key; on S3 an object appears when its single PUT or its multipart upload
 * completes, and a failed multipart upload is aborted. Reads into local
 * files are atomic the same way.
 *
 * Keys: 1..1024 bytes, no NUL, no leading '/', no empty, "." or ".."
 * segment, no backslash or control character. Errors name the key.
 *
 * A storage object may be used from several threads at once.
 */
#ifndef FW_STORAGE_STORAGE_H
#define FW_STORAGE_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "server/util/error.h"

#define FW_STORAGE_KEY_MAX 1024

typedef enum fw_storage_kind {
    FW_STORAGE_LOCAL = 0,
    FW_STORAGE_S3,
} fw_storage_kind;

typedef enum fw_storage_method {
    FW_STORAGE_GET = 0,
    FW_STORAGE_PUT,
} fw_storage_method;

typedef struct fw_storage_s3_config {
    const char *endpoint;          /* "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000" */
    const char *region;            /* "us-east-1" when NULL */
    const char *bucket;
    const char *access_key_id;
    const char *secret_access_key;
    const char *key_prefix;        /* put in front of every key ("framewright/"); may be NULL */
    int virtual_hosted;            /* 0 (default): path-style, endpoint/bucket/key; 1: bucket.endpoint/key */
    uint64_t part_size;            /* multipart part size; 0: 16 MiB (at least 5 MiB, S3's minimum) */
    uint64_t multipart_threshold;  /* files larger than this go multipart; 0: the part size */
    long timeout_seconds;          /* per request; 0: 300 */
    const char *acl;               /* sent as x-amz-acl with object uploads ("public-read"); NULL: none */
    /* A bucket a caller named (a job's own upload): its endpoint must pass this URL policy on every
     * connection. NULL for the operator's storage, which may well be on a private address. */
    const struct fw_url_policy *url_policy;
} fw_storage_s3_config;

typedef struct fw_storage_config {
    fw_storage_kind kind;
    const char *local_root;        /* local: the folder holding the blobs (created when missing) */
    const char *public_base_url;   /* local: where the file server is reached, "http://host:8080" */
    const char *signing_secret;    /* local: the HMAC key of signed URLs (at least 16 bytes) */
    fw_storage_s3_config s3;
    /* The clock for signed URLs, in Unix seconds; NULL: time(). Tests set it. */
    long long (*now)(void *arg);
    void *now_arg;
} fw_storage_config;

typedef struct fw_storage fw_storage;

typedef struct fw_storage_stat {
    int exists;
    uint64_t size;
} fw_storage_stat;

/* Check a key; FW_ERR_INVALID with field "key" and the key in the message. */
fw_err fw_storage_key_check(const char *key, fw_error *err);

/* Open a backend from config (copied: the strings need not outlive the
 * call). *out is the caller's, freed with fw_storage_free. */
fw_err fw_storage_open(fw_storage **out, const fw_storage_config *config, fw_error *err);
void fw_storage_free(fw_storage **st);

fw_storage_kind fw_storage_get_kind(const fw_storage *st);

/* Store the local file at path under key, replacing what was there. */
fw_err fw_storage_put_file(fw_storage *st, const char *key, const char *path, fw_error *err);

/* Copy the object under key into the local file at path (FW_ERR_NOT_FOUND
 * when there is none); path is replaced only when the copy is whole. */
fw_err fw_storage_get_file(fw_storage *st, const char *key, const char *path, fw_error *err);

/* Remove the object under key; a missing object is not an error. */
fw_err fw_storage_delete(fw_storage *st, const char *key, fw_error *err);

/* Whether key exists and its size; a missing key is FW_OK with exists 0. */
fw_err fw_storage_stat_key(fw_storage *st, const char *key, fw_storage_stat *out, fw_error *err);

/* Whether the storage answers, for health checks: locally, that a file can
 * be written (and removed) in the root folder; on S3, that a HEAD of the
 * bucket succeeds within timeout_seconds (0: 5). FW_OK or the reason. */
fw_err fw_storage_check(fw_storage *st, long timeout_seconds, fw_error *err);

/* A URL that lets whoever holds it GET (download) or PUT (upload) the
 * object under key for expires_seconds (1..604800). *url is a new string
 * the caller frees. */
fw_err fw_storage_signed_url(fw_storage *st, const char *key, fw_storage_method method, long expires_seconds,
                             char **url, fw_error *err);

/* ---- local backend only: what the file server needs ---- */

/* Check a request made with a local signed URL. path is the URL path as
 * sent ("/files/outputs/a%20b.mp4", percent-encoded), query the part after
 * '?'. On success key_out (FW_STORAGE_KEY_MAX + 1 bytes) gets the key.
 * Errors: FW_ERR_UNAUTHENTICATED when expires or signature is missing or
 * malformed, FW_ERR_PERMISSION when the signature does not match (a
 * tampered URL, or one for another method), FW_ERR_DEADLINE when it has
 * expired, FW_ERR_INVALID for a bad key, FW_ERR_UNSUPPORTED on S3. */
fw_err fw_storage_local_verify(fw_storage *st, const char *method, const char *path, const char *query,
                               char *key_out, fw_error *err);

/* The file holding key, into out. */
fw_err fw_storage_local_path(fw_storage *st, const char *key, char *out, size_t size, fw_error *err);

/* An upload streamed into the local backend: begin, write any number of
 * times, then commit (the object appears under key) or abort (nothing
 * appears). Both end the upload and null *up. */
typedef struct fw_storage_upload fw_storage_upload;
fw_err fw_storage_upload_begin(fw_storage *st, const char *key, fw_storage_upload **up, fw_error *err);
fw_err fw_storage_upload_write(fw_storage_upload *up, const void *data, size_t len, fw_error *err);
fw_err fw_storage_upload_commit(fw_storage_upload **up, fw_error *err);
void fw_storage_upload_abort(fw_storage_upload **up);

#endif
