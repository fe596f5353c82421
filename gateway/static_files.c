/* static_files.c - finding the dashboard's files and its policy; see static_files.h. */
#include "gateway/static_files.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const fw_static_file *fw_dashboard_find(const char *path)
{
    if (strcmp(path, "/index.html") == 0)
        path = "/";
    for (const fw_static_file *f = fw_dashboard_files; f->url; f++)
        if (strcmp(f->url, path) == 0)
            return f;
    return NULL;
}

char *fw_dashboard_csp(const char *media_sources)
{
    static const char fmt[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: %s; "
                              "media-src %s; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
                              "form-action 'none'; frame-ancestors 'none'";
    size_t n = media_sources ? strlen(media_sources) : 0, k = 0;
    char *sources = malloc(n + 8), *out;
    if (!sources)
        return NULL;
    /* A source list is hosts, schemes, ports and wildcards: a ';' or a
     * quote would start another directive. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)media_sources[i];
        if (isalnum(c) || strchr(":/.-*_[] ", c))
            sources[k++] = (char)c;
    }
    sources[k] = '\0';
    if (!k)
        snprintf(sources, n + 8, "https:");
    out = malloc(sizeof(fmt) + 2 * k + 16);
    if (out)
        sprintf(out, fmt, sources, sources);
    free(sources);
    return out;
}
