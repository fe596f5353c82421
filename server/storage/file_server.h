/*
 * file_server.h - serves the local storage's signed URLs over HTTP.
 *
 * GET  /files/<key>?expires=..&signature=..  streams the object (Range: one
 *      byte range honoured), Content-Type from the key's extension.
 * PUT  the same, with a URL signed for PUT: the body is streamed into the
 *      storage atomically (nothing appears unless the whole body arrived
 *      within the size limit).
 * 403 for a missing, altered or expired signature, 404 for a missing key,
 * 413 for a body over the limit. libmicrohttpd with a thread pool.
 */
#ifndef FW_STORAGE_FILE_SERVER_H
#define FW_STORAGE_FILE_SERVER_H

#include <stdint.h>

#include "server/storage/storage.h"
#include "server/util/error.h"

typedef struct fw_file_server fw_file_server;

typedef struct fw_file_server_options {
    uint64_t max_upload_bytes; /* 0: 4 GiB */
    unsigned threads;          /* 0: 8 */
    /* Called after a PUT has been stored, with the key, on the request's
     * thread (a template upload is checked there). An error is logged; the
     * upload itself stays stored and answered 201, as S3 would. May be NULL. */
    void (*on_upload)(void *ctx, const char *key);
    void *on_upload_ctx;
} fw_file_server_options;

/* Listen on address ("127.0.0.1:0" picks a free port; "0.0.0.0:8080").
 * st must be a local storage and outlive the server. options may be NULL. */
fw_err fw_file_server_start(fw_file_server **out, fw_storage *st, const char *address,
                            const fw_file_server_options *options, fw_error *err);

/* The port actually listened on. */
int fw_file_server_port(const fw_file_server *srv);

/* Stop listening, finish open connections and free; nulls *srv. */
void fw_file_server_stop(fw_file_server **srv);

/* The Content-Type for a key, from its extension ("application/octet-stream"
 * when unknown). */
const char *fw_file_server_content_type(const char *key);

#endif
