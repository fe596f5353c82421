/*
 * fw_http.c - see fw_http.h.
 */
#define _GNU_SOURCE
#include "tests/fw_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t collect(char *p, size_t size, size_t n, void *cls)
{
    fw_http_buffer *b = cls;
    char *bigger = realloc(b->data, b->len + size * n + 1);
    if (!bigger)
        return 0;
    b->data = bigger;
    memcpy(b->data + b->len, p, size * n);
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

void fw_http_request(CURL *c, const char *method, const char *url, const char *key, const char *type,
                     const void *body, size_t len, long timeout_ms, fw_http_response *r)
{
    CURL *own = c ? NULL : curl_easy_init();
    struct curl_slist *h = NULL;
    char line[512];

    memset(r, 0, sizeof(*r));
    r->status = -1;
    if (!c)
        c = own;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 120000L);
    if (key) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", key);
        h = curl_slist_append(h, line);
    }
    if (type) {
        snprintf(line, sizeof(line), "Content-Type: %s", type);
        h = curl_slist_append(h, line);
    }
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->body.data)
        r->json = json_loads(r->body.data, 0, NULL);
    curl_slist_free_all(h);
    if (own)
        curl_easy_cleanup(own);
}

void fw_http_response_clear(fw_http_response *r)
{
    free(r->body.data);
    free(r->headers.data);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

const char *fw_http_header(const fw_http_response *r, const char *name, char *out, size_t size)
{
    const char *at = r->headers.data ? strcasestr(r->headers.data, name) : NULL;
    size_t n = 0;

    out[0] = '\0';
    if (!at || size == 0)
        return out;
    at += strlen(name);
    while (*at == ':' || *at == ' ')
        at++;
    while (at[n] && at[n] != '\r' && at[n] != '\n' && n + 1 < size)
        n++;
    memcpy(out, at, n);
    out[n] = '\0';
    return out;
}
