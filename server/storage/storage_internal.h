/*
 * storage_internal.h - what storage.c (the interface and the local backend)
 * and storage_s3.c share. Not part of the API.
 */
#ifndef FW_STORAGE_INTERNAL_H
#define FW_STORAGE_INTERNAL_H

#include "server/storage/storage.h"

struct fw_storage {
    fw_storage_kind kind;
    long long (*now)(void *arg);
    void *now_arg;

    /* local */
    char *root;
    char *public_base_url; /* without a trailing '/' */
    char *signing_secret;

    /* s3 */
    char *base_url;        /* "http://127.0.0.1:9000" or "https://bucket.s3.amazonaws.com", no trailing '/' */
    char *host;            /* the Host header, with the port when the URL names one */
    char *path_prefix;     /* "/bucket" for path-style, "" for virtual-hosted */
    char *region;
    char *access_key_id;
    char *secret_access_key;
    char *key_prefix;      /* "" when none */
    uint64_t part_size;
    uint64_t multipart_threshold;
    long timeout_seconds;
    char *acl;             /* x-amz-acl of object uploads; NULL when none */
    const struct fw_url_policy *url_policy; /* NULL: not checked (the operator's storage) */
};

long long fw_storage_now(const fw_storage *st);

/* A writer to a temporary file beside final (its folder must exist), for
 * downloads; what names the object in errors. Commit or abort it as usual. */
fw_err fw_storage_temp_begin(const char *final, const char *what, fw_storage_upload **up, fw_error *err);
int fw_storage_upload_fd(const fw_storage_upload *up);

fw_err fw_storage_s3_setup(fw_storage *st, const fw_storage_s3_config *config, fw_error *err);
void fw_storage_s3_cleanup(fw_storage *st);
fw_err fw_storage_s3_put_file(fw_storage *st, const char *key, const char *path, fw_error *err);
fw_err fw_storage_s3_get_file(fw_storage *st, const char *key, const char *path, fw_error *err);
fw_err fw_storage_s3_delete(fw_storage *st, const char *key, fw_error *err);
fw_err fw_storage_s3_stat(fw_storage *st, const char *key, fw_storage_stat *out, fw_error *err);
fw_err fw_storage_s3_check(fw_storage *st, long timeout_seconds, fw_error *err);
fw_err fw_storage_s3_signed_url(fw_storage *st, const char *key, fw_storage_method method, long expires_seconds,
                                char **url, fw_error *err);

#endif
