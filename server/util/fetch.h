/*
 * fetch.h - bring a file named by a job into a local file.
 *
 * Jobs name templates, images and static files as a local path (relative to
 * the job's folder), a file:// URL, an http(s) URL (fetched with libcurl) or
 * a data: URL (base64 or percent-encoded). Whatever the form, the result is
 * written to a temporary name beside dest and renamed onto dest only when
 * complete, so a failed fetch leaves nothing behind.
 */
#ifndef FW_UTIL_FETCH_H
#define FW_UTIL_FETCH_H

#include <stdint.h>

#include "server/util/error.h"

typedef struct fw_fetch_options {
    const char *base_dir;  /* relative paths resolve here; NULL: the current folder */
    uint64_t max_bytes;    /* 0: 1 GiB */
    long timeout_seconds;  /* whole transfer; 0: 120 */
    int allow_local;       /* accept local paths and file:// (a server may refuse them) */
} fw_fetch_options;

/* Copy or download src to dest. field names the job field in errors
 * ("template.src", "assets[2].src"). */
fw_err fw_fetch(const char *src, const char *dest, const fw_fetch_options *options, const char *field,
                fw_error *err);

/* When src names a local file (a path, relative to base_dir, or a file://
 * URL), write its path to out and return 1; otherwise return 0. */
int fw_fetch_local_path(const char *src, const char *base_dir, char *out, unsigned long size);

/* 1 when src is an http(s) URL. */
int fw_fetch_is_remote(const char *src);

/* The last path segment of src without query or fragment ("logo.png" for
 * "https://x/y/logo.png?v=2"), into buf; "" for data: URLs. Returns buf. */
const char *fw_fetch_basename(const char *src, char *buf, unsigned long size);

#endif
