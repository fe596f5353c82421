/*
 * static_files.h - the dashboard's files, compiled into the gateway
 * (gateway/dashboard/, turned into C by gateway/tools/embed_files at build
 * time), and the headers they are served with.
 *
 * The dashboard is a client of /api/v2 like any other: it reads and writes
 * only through the REST API with the key the user signs in with, so serving
 * it needs no key and shows no data. What the headers hold it to: scripts
 * and styles only from these files (no inline code, no eval), data only
 * from this origin, pictures from here or blob: URLs of what it fetched,
 * video and images of outputs from the output URLs' origins, no framing.
 */
#ifndef FW_GATEWAY_STATIC_FILES_H
#define FW_GATEWAY_STATIC_FILES_H

#include <stddef.h>

typedef struct fw_static_file {
    const char *url;  /* "/", "/app.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} fw_static_file;

/* Every file, ended by an entry whose url is NULL. */
extern const fw_static_file fw_dashboard_files[];

/* The file served at path (no query string), or NULL. "/index.html" is "/". */
const fw_static_file *fw_dashboard_find(const char *path);

/* The Content-Security-Policy of the dashboard's files: media_sources are
 * the CSP sources outputs may be played from ("http://127.0.0.1:8080"; NULL
 * or "": https: only). Only characters a CSP source may hold are kept.
 * Free with free(). */
char *fw_dashboard_csp(const char *media_sources);

#endif
