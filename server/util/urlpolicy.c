/* urlpolicy.c - see urlpolicy.h. */
#include "server/util/urlpolicy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ENTRIES 256
#define MAX_HOST 256

typedef struct block {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
} block;

struct fw_url_policy {
    block *blocks;
    size_t block_count;
    char **names; /* lower case, no trailing dot; "*.x" matches below x */
    size_t name_count;
    int files;
    int any;
};

/* ---- address ranges -------------------------------------------------------------------------- */

static int prefix_matches(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return 0;
    return rest == 0 || ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

typedef struct range {
    unsigned char addr[16];
    int bits;
    const char *what;
} range;

static const range v4_refused[] = {
    {{0, 0, 0, 0}, 8, "a 'this network' address"},
    {{10, 0, 0, 0}, 8, "a private address"},
    {{100, 64, 0, 0}, 10, "a shared (carrier-grade NAT) address"},
    {{127, 0, 0, 0}, 8, "a loopback address"},
    {{169, 254, 0, 0}, 16, "a link-local address (cloud metadata services answer there)"},
    {{172, 16, 0, 0}, 12, "a private address"},
    {{192, 0, 0, 0}, 24, "an IETF protocol address"},
    {{192, 0, 2, 0}, 24, "a documentation address"},
    {{192, 88, 99, 0}, 24, "a 6to4 relay address"},
    {{192, 168, 0, 0}, 16, "a private address"},
    {{198, 18, 0, 0}, 15, "a benchmarking address"},
    {{198, 51, 100, 0}, 24, "a documentation address"},
    {{203, 0, 113, 0}, 24, "a documentation address"},
    {{224, 0, 0, 0}, 4, "a multicast address"},
    {{240, 0, 0, 0}, 4, "a reserved or broadcast address"},
};

static const range v6_refused[] = {
    {{0}, 128, "the unspecified address"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "a loopback address"},
    {{0xfc}, 7, "a unique-local address"},
    {{0xfe, 0x80}, 10, "a link-local address"},
    {{0xfe, 0xc0}, 10, "a site-local address"},
    {{0xff}, 8, "a multicast address"},
    {{0x01, 0x00}, 64, "a discard address"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "a documentation address"},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "a local NAT64 address"},
};

static const char *refused_v4(const unsigned char *a)
{
    for (size_t i = 0; i < sizeof(v4_refused) / sizeof(v4_refused[0]); i++)
        if (prefix_matches(a, v4_refused[i].addr, v4_refused[i].bits))
            return v4_refused[i].what;
    return NULL;
}

/* The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), or NULL. */
static const unsigned char *embedded_v4(const unsigned char *a)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const unsigned char zero[12] = {0};

    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return a + 12;
    if (memcmp(a, zero, 12) == 0 && (a[12] | a[13] | a[14]) != 0) /* ::a.b.c.d, not :: or ::1 */
        return a + 12;
    if (a[0] == 0x20 && a[1] == 0x02)
        return a + 2;
    return NULL;
}

static int in_blocks(const fw_url_policy *p, int family, const unsigned char *a)
{
    for (size_t i = 0; i < p->block_count; i++)
        if (p->blocks[i].family == family && prefix_matches(a, p->blocks[i].addr, p->blocks[i].bits))
            return 1;
    return 0;
}

static void lower_host(const char *host, char *out, size_t size)
{
    size_t n = 0;
    for (; host[n] && n + 1 < size; n++)
        out[n] = (char)tolower((unsigned char)host[n]);
    out[n] = '\0';
    if (n && out[n - 1] == '.')
        out[n - 1] = '\0';
}

static int name_allowed(const fw_url_policy *p, const char *host)
{
    char h[MAX_HOST];

    if (!host || !*host || !p->name_count)
        return 0;
    lower_host(host, h, sizeof(h));
    for (size_t i = 0; i < p->name_count; i++) {
        const char *n = p->names[i];
        if (n[0] == '*') {
            size_t hl = strlen(h), sl = strlen(n + 1); /* n + 1 is ".suffix" */
            if (hl > sl && strcmp(h + hl - sl, n + 1) == 0)
                return 1;
        } else if (strcmp(h, n) == 0) {
            return 1;
        }
    }
    return 0;
}

int fw_url_policy_allows_address(const fw_url_policy *p, const struct sockaddr *addr, const char *host, char *why,
                                 size_t why_size)
{
    char text[INET6_ADDRSTRLEN] = "?";
    const char *what = NULL;

    if (why_size)
        why[0] = '\0';
    if (p->any || name_allowed(p, host))
        return 1;
    if (addr->sa_family == AF_INET) {
        const unsigned char *a = (const unsigned char *)&((const struct sockaddr_in *)addr)->sin_addr;
        if (in_blocks(p, AF_INET, a))
            return 1;
        what = refused_v4(a);
        inet_ntop(AF_INET, a, text, sizeof(text));
    } else if (addr->sa_family == AF_INET6) {
        const unsigned char *a = (const unsigned char *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
        const unsigned char *v4 = embedded_v4(a);
        if (in_blocks(p, AF_INET6, a) || (v4 && in_blocks(p, AF_INET, v4)))
            return 1;
        inet_ntop(AF_INET6, a, text, sizeof(text));
        for (size_t i = 0; !what && i < sizeof(v6_refused) / sizeof(v6_refused[0]); i++)
            if (prefix_matches(a, v6_refused[i].addr, v6_refused[i].bits))
                what = v6_refused[i].what;
        if (!what && v4 && (what = refused_v4(v4)) != NULL) {
            char inner[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, v4, inner, sizeof(inner));
            snprintf(why, why_size, "%s carries %s, %s", text, inner, what);
            return 0;
        }
    } else {
        snprintf(why, why_size, "address family %d is not an internet address", addr->sa_family);
        return 0;
    }
    if (!what)
        return 1;
    snprintf(why, why_size, "%s is %s", text, what);
    return 0;
}

/* ---- the allow list -------------------------------------------------------------------------- */

static int parse_block(const char *entry, block *b)
{
    char text[INET6_ADDRSTRLEN + 8];
    char *slash, *start = text, *end;
    long bits = -1;

    if (strlen(entry) >= sizeof(text))
        return 0;
    strcpy(text, entry);
    if ((slash = strchr(text, '/')) != NULL) {
        *slash = '\0';
        if (!isdigit((unsigned char)slash[1]))
            return 0;
        bits = strtol(slash + 1, &end, 10);
        if (*end)
            return 0;
    }
    if (*start == '[') {
        size_t n = strlen(start);
        if (n < 2 || start[n - 1] != ']')
            return 0;
        start[n - 1] = '\0';
        start++;
    }
    memset(b, 0, sizeof(*b));
    if (inet_pton(AF_INET, start, b->addr) == 1) {
        b->family = AF_INET;
        if (bits < 0)
            bits = 32;
        if (bits > 32)
            return 0;
    } else if (inet_pton(AF_INET6, start, b->addr) == 1) {
        b->family = AF_INET6;
        if (bits < 0)
            bits = 128;
        if (bits > 128)
            return 0;
    } else {
        return 0;
    }
    b->bits = (int)bits;
    return 1;
}

static int valid_name(const char *name)
{
    const char *p = name;
    if (p[0] == '*' && p[1] == '.')
        p += 2;
    if (!*p || strlen(p) >= MAX_HOST)
        return 0;
    for (; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return 0;
    return 1;
}

void fw_url_policy_free(fw_url_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->name_count; i++)
        free(p->names[i]);
    free(p->names);
    free(p->blocks);
    free(p);
}

fw_err fw_url_policy_new(const char *allow, const char *field, fw_url_policy **out, fw_error *err)
{
    fw_url_policy *p = calloc(1, sizeof(*p));
    const char *s = allow ? allow : "";

    *out = NULL;
    if (!p || !(p->blocks = calloc(MAX_ENTRIES, sizeof(*p->blocks))) ||
        !(p->names = calloc(MAX_ENTRIES, sizeof(*p->names)))) {
        fw_url_policy_free(p);
        return fw_error_set(err, FW_ERR_NOMEM, field, "out of memory reading the URL allow list");
    }
    while (*s) {
        char entry[MAX_HOST + 8];
        size_t len = strcspn(s, ", \t\r\n");
        if (len == 0) {
            s++;
            continue;
        }
        if (len >= sizeof(entry) || p->block_count + p->name_count >= MAX_ENTRIES) {
            fw_url_policy_free(p);
            return fw_error_set(err, FW_ERR_INVALID, field, "the URL allow list has an entry too long or too many "
                                                            "entries (at most %d)", MAX_ENTRIES);
        }
        memcpy(entry, s, len);
        entry[len] = '\0';
        s += len;
        if (strcmp(entry, "*") == 0) {
            p->any = 1;
        } else if (strcasecmp(entry, "file") == 0 || strcasecmp(entry, "file:") == 0 ||
                   strcasecmp(entry, "file://") == 0) {
            p->files = 1;
        } else if (parse_block(entry, &p->blocks[p->block_count])) {
            p->block_count++;
        } else if (!strchr(entry, '/') && !strchr(entry, ':') && !isdigit((unsigned char)entry[strlen(entry) - 1]) &&
                   valid_name(entry)) {
            char lower[MAX_HOST + 8];
            lower_host(entry, lower, sizeof(lower));
            if (!(p->names[p->name_count] = strdup(lower))) {
                fw_url_policy_free(p);
                return fw_error_set(err, FW_ERR_NOMEM, field, "out of memory reading the URL allow list");
            }
            p->name_count++;
        } else {
            fw_url_policy_free(p);
            return fw_error_set(err, FW_ERR_INVALID, field,
                                "'%s' is not a CIDR block (127.0.0.0/8, fd00::/8), a host name, \"file\" or \"*\"",
                                entry);
        }
    }
    *out = p;
    return FW_OK;
}

/* ---- the process's policy -------------------------------------------------------------------- */

static pthread_once_t process_once = PTHREAD_ONCE_INIT;
static fw_url_policy *process_policy;
static fw_url_policy default_policy;
static fw_error process_error;

static void load_once(void)
{
    fw_error_clear(&process_error);
    if (fw_url_policy_new(getenv("FRAMEWRIGHT_URL_ALLOW"), "FRAMEWRIGHT_URL_ALLOW", &process_policy,
                          &process_error) != FW_OK)
        process_policy = NULL;
}

fw_err fw_url_policy_load(fw_error *err)
{
    pthread_once(&process_once, load_once);
    if (process_policy)
        return FW_OK;
    if (err)
        *err = process_error;
    return process_error.code;
}

const fw_url_policy *fw_url_policy_get(void)
{
    pthread_once(&process_once, load_once);
    return process_policy ? process_policy : &default_policy;
}

const fw_url_policy *fw_url_policy_open(void)
{
    static const fw_url_policy open = {.any = 1, .files = 1};
    return &open;
}

int fw_url_policy_allows_files(const fw_url_policy *p) { return p->files; }

/* ---- URLs ------------------------------------------------------------------------------------ */

static fw_err check_address_text(const fw_url_policy *p, const char *url, const char *host, int *was_address,
                                 const char *field, fw_error *err)
{
    struct sockaddr_storage ss;
    char text[MAX_HOST], why[200];

    memset(&ss, 0, sizeof(ss));
    *was_address = 0;
    snprintf(text, sizeof(text), "%s", host);
    if (text[0] == '[') { /* [v6] or [v6%zone] */
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        text[strcspn(text, "]%")] = '\0';
        if (inet_pton(AF_INET6, text + 1, &a6->sin6_addr) != 1)
            return fw_error_set(err, FW_ERR_INVALID, field, "'%s' has an IPv6 address that cannot be read", url);
        a6->sin6_family = AF_INET6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        /* inet_aton reads every old spelling: 2130706433, 0x7f.1, 0177.0.0.1, 127.1 */
        if (!inet_aton(text, &a4->sin_addr))
            return FW_OK;
        a4->sin_family = AF_INET;
    }
    *was_address = 1;
    if (!fw_url_policy_allows_address(p, (struct sockaddr *)&ss, NULL, why, sizeof(why)))
        return fw_error_set(err, FW_ERR_INVALID, field, "%s is refused by the URL policy: %s (FRAMEWRIGHT_URL_ALLOW "
                                                        "opens exceptions)", url, why);
    return FW_OK;
}

static fw_err check_resolved(const fw_url_policy *p, const char *url, const char *host, const char *field,
                             fw_error *err)
{
    struct addrinfo hints, *list = NULL;
    char why[200];
    fw_err rc = FW_OK;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &list) != 0)
        return FW_OK;
    for (struct addrinfo *ai = list; ai && rc == FW_OK; ai = ai->ai_next)
        if (!fw_url_policy_allows_address(p, ai->ai_addr, host, why, sizeof(why)))
            rc = fw_error_set(err, FW_ERR_INVALID, field, "%s is refused by the URL policy: %s resolves to %s "
                                                          "(FRAMEWRIGHT_URL_ALLOW opens exceptions)",
                              url, host, why);
    freeaddrinfo(list);
    return rc;
}

fw_err fw_url_policy_check(const fw_url_policy *p, const char *url, int resolve, const char *field, fw_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int was_address = 0;
    fw_err rc = FW_OK;

    if (!u)
        return fw_error_set(err, FW_ERR_NOMEM, field, "out of memory reading a URL");
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        rc = fw_error_set(err, FW_ERR_INVALID, field, "'%s' is not a URL", url);
        goto done;
    }
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        if (strcasecmp(scheme, "file") == 0 && p->files)
            goto done;
        rc = fw_error_set(err, FW_ERR_INVALID, field, "%s is refused by the URL policy: only http and https URLs "
                                                      "are fetched, not %s:",
                          url, scheme);
        goto done;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, CURLU_URLDECODE) != CURLUE_OK || !*host) {
        rc = fw_error_set(err, FW_ERR_INVALID, field, "'%s' has no host", url);
        goto done;
    }
    if (p->any || name_allowed(p, host))
        goto done;
    if ((rc = check_address_text(p, url, host, &was_address, field, err)) != FW_OK || was_address)
        goto done;
    {
        char lower[MAX_HOST];
        size_t n;
        lower_host(host, lower, sizeof(lower));
        n = strlen(lower);
        /* localhost and its subdomains are the loopback (RFC 6761), whatever a resolver says. */
        if (strcmp(lower, "localhost") == 0 || (n > 10 && strcmp(lower + n - 10, ".localhost") == 0)) {
            int unused;
            if ((rc = check_address_text(p, url, "127.0.0.1", &unused, field, err)) != FW_OK ||
                (rc = check_address_text(p, url, "[::1]", &unused, field, err)) != FW_OK)
                goto done;
        }
    }
    if (resolve)
        rc = check_resolved(p, url, host, field, err);
done:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* ---- libcurl --------------------------------------------------------------------------------- */

/* The host of the URL the handle is on now (redirects change it). */
static void current_host(CURL *curl, char *out, size_t size)
{
    char *url = NULL, *host = NULL;
    CURLU *u;

    out[0] = '\0';
    if (curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url || !(u = curl_url()))
        return;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        snprintf(out, size, "%s", host);
    curl_free(host);
    curl_url_cleanup(u);
}

static curl_socket_t open_socket(void *data, curlsocktype purpose, struct curl_sockaddr *address)
{
    fw_url_guard *g = data;
    struct sockaddr_storage ss;
    char host[MAX_HOST] = "", why[160];

    (void)purpose;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, &address->addr, address->addrlen < sizeof(ss) ? address->addrlen : sizeof(ss));
    if (g->policy->name_count)
        current_host(g->curl, host, sizeof(host));
    if (!fw_url_policy_allows_address(g->policy, (struct sockaddr *)&ss, host[0] ? host : NULL, why, sizeof(why))) {
        snprintf(g->refused, sizeof(g->refused), "refused by the URL policy: %s", why);
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

void fw_url_guard_attach(fw_url_guard *g, const fw_url_policy *policy, void *curl)
{
    g->policy = policy ? policy : fw_url_policy_get();
    g->curl = curl;
    g->refused[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, g);
}

const char *fw_url_guard_refused(const fw_url_guard *g) { return g->refused[0] ? g->refused : NULL; }
