/*
 * fetch.h - bring a file named by a job into a local file or into memory.
 *
 * Jobs name templates, images and static files as a path relative to the
 * job's folder, an absolute path or file:// URL, an http(s) URL (fetched
 * with libcurl) or a data: URL (base64 or percent-encoded). Whatever the
 * form, fw_fetch writes to a temporary name beside dest and renames it onto
 * dest only when complete, so a failed fetch leaves nothing behind.
 *
 * Relative paths may not climb out of base_dir ("../x"). Absolute paths and
 * file:// URLs reach the whole machine, so they are accepted only when the
 * caller allows it (the command line does; a server taking jobs from its
 * users does not).
 *
 * Errors carry the caller's field name ("template.src", "src").
 */
#ifndef FW_UTIL_FETCH_H
#define FW_UTIL_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "server/util/error.h"
#include "server/util/urlpolicy.h"

typedef struct fw_fetch_options {
    const char *base_dir;  /* relative paths resolve here; NULL: relative paths are refused */
    uint64_t max_bytes;    /* 0: 1 GiB */
    long timeout_ms;       /* whole http(s) transfer; 0: 120 s */
    int allow_local;       /* accept absolute paths and file:// URLs */
    const fw_url_policy *policy; /* which addresses http(s) may reach; NULL: the process's (urlpolicy.h) */
} fw_fetch_options;

/* Sets up libcurl. Call once at start-up, before threads start: libcurl's
 * own set-up is not thread-safe. (fw_fetch calls it too, for tools that
 * forget, but then the first fetch must not race another thread's.) */
void fw_fetch_global_init(void);

/* Copy, decode or download src to dest. */
fw_err fw_fetch(const char *src, const char *dest, const fw_fetch_options *options, const char *field,
                fw_error *err);

/* The absolute, resolved path of a local src (relative or, when allowed,
 * absolute or file://) into out, after checking it is a readable regular
 * file within max_bytes. FW_ERR_NOT_FOUND when it does not exist,
 * FW_ERR_PERMISSION when local files are not allowed, FW_ERR_INVALID for a
 * path that climbs out of base_dir or a src that is not local. */
fw_err fw_fetch_local_path(const char *src, const fw_fetch_options *options, char *out, size_t size,
                           const char *field, fw_error *err);

/* Decode a data: URL into a new buffer (*data, freed by the caller). */
fw_err fw_fetch_data_url(const char *src, uint64_t max_bytes, unsigned char **data, size_t *size, const char *field,
                         fw_error *err);

typedef enum fw_fetch_probe_result {
    FW_PROBE_OK,      /* it answered 2xx */
    FW_PROBE_MISSING, /* it will not be fetched: 4xx, no such host, connection refused */
    FW_PROBE_UNKNOWN, /* a time-out, 5xx, 429: a fetch later may work */
    FW_PROBE_REFUSED, /* the URL policy refused an address it connected to (or was redirected to) */
} fw_fetch_probe_result;

/* Whether an http(s) URL is there, by a GET of its first byte (not HEAD, which presigned URLs
 * refuse), within timeout_ms, under policy (NULL: the process's). The HTTP status (0: none) and,
 * unless OK, why. */
fw_fetch_probe_result fw_fetch_probe(const char *url, const fw_url_policy *policy, long timeout_ms, long *status,
                                     char *why, size_t why_len);

int fw_fetch_is_remote(const char *src);   /* http:// or https:// */
int fw_fetch_is_data_url(const char *src); /* data: */

/* The last path segment of src without query or fragment ("logo.png" for
 * "https://x/y/logo.png?v=2"), into buf; "" for data: URLs. Returns buf. */
const char *fw_fetch_basename(const char *src, char *buf, size_t size);

#endif
