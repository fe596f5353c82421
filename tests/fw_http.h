/*
 * fw_http.h - one HTTP request with libcurl for the C tests that talk to
 * the REST gateway: status, headers and body kept, the body parsed when it
 * is JSON.
 */
#ifndef FW_TESTS_HTTP_H
#define FW_TESTS_HTTP_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

typedef struct fw_http_buffer {
    char *data; /* NUL-terminated beyond len; NULL when nothing came */
    size_t len;
} fw_http_buffer;

typedef struct fw_http_response {
    long status; /* -1: no answer */
    fw_http_buffer body, headers;
    json_t *json; /* the body parsed, when it is JSON */
} fw_http_response;

/* One request on handle c (NULL: a handle of its own). key NULL sends no
 * Authorization, else "Bearer key"; type NULL sends no Content-Type; body
 * NULL sends none. It gives up after timeout_ms (0: 120 s), keeping what
 * came by then. */
void fw_http_request(CURL *c, const char *method, const char *url, const char *key, const char *type,
                     const void *body, size_t len, long timeout_ms, fw_http_response *r);
void fw_http_response_clear(fw_http_response *r);

/* The value of header name in r ("" when absent), in out. */
const char *fw_http_header(const fw_http_response *r, const char *name, char *out, size_t size);

#endif
