/*
 * urlpolicy.h - which addresses the server may reach for its callers.
 *
 * Jobs and webhooks name URLs that the server then fetches or posts to, so a
 * caller could point it at the machine itself, the private network behind it
 * or a cloud's metadata service. By default the server therefore reaches only
 * public addresses, over http and https:
 *
 *   IPv4  0.0.0.0/8 10/8 100.64/10 127/8 169.254/16 172.16/12 192.0.0/24 192.0.2/24
 *         192.88.99/24 192.168/16 198.18/15 198.51.100/24 203.0.113/24 224/4 240/4
 *   IPv6  :: ::1 fc00::/7 fe80::/10 fec0::/10 ff00::/8 100::/64 2001:db8::/32 64:ff9b:1::/48
 *         and the IPv4 address inside ::ffff:0:0/96, ::/96, 64:ff9b::/96 and 2002::/16
 *
 * are refused. The check is made on the address a connection is actually
 * opened to (libcurl's open-socket callback, once per connection and so once
 * per redirect), so a name that resolves to a public address at submission and
 * to a private one at fetch time (DNS rebinding) gains nothing, and every
 * spelling of an address (decimal "2130706433", octal "0177.0.0.1", short
 * "127.1", IPv4-mapped IPv6) ends as the same connected address.
 *
 * FRAMEWRIGHT_URL_ALLOW opens exceptions: a list, separated by commas or
 * spaces, of CIDR blocks ("127.0.0.0/8", "fd00::/8", "10.1.2.3"), host names
 * ("minio.internal", "*.corp.example": any address those names resolve to),
 * "file" (jobs may name file:// URLs and absolute paths of the worker's
 * machine) and "*" (any address). Proxies from the environment are not used
 * for these requests: through a proxy the connected address is the proxy's.
 */
#ifndef FW_UTIL_URLPOLICY_H
#define FW_UTIL_URLPOLICY_H

#include <stddef.h>
#include <sys/socket.h>

#include "server/util/error.h"

typedef struct fw_url_policy fw_url_policy;

/* A policy from an allow list as above (NULL or "": the default). A bad
 * entry is FW_ERR_INVALID naming it, with `field` as the error's field. */
fw_err fw_url_policy_new(const char *allow, const char *field, fw_url_policy **out, fw_error *err);
void fw_url_policy_free(fw_url_policy *policy);

/* The process's policy, from FRAMEWRIGHT_URL_ALLOW. fw_url_policy_load reads
 * it (call it at start-up so a bad setting stops the program); fw_url_policy_get
 * loads it on first use and never fails: a bad setting then means the default. */
fw_err fw_url_policy_load(fw_error *err);
const fw_url_policy *fw_url_policy_get(void);

/* A policy that allows everything: for the command line, whose user is the
 * machine's own. */
const fw_url_policy *fw_url_policy_open(void);

int fw_url_policy_allows_files(const fw_url_policy *policy);

/* Whether the server may connect to addr for a URL whose host is `host`
 * (NULL if not known). When not, why ("10.0.0.7 is a private address"). */
int fw_url_policy_allows_address(const fw_url_policy *policy, const struct sockaddr *addr, const char *host,
                                 char *why, size_t why_size);

/* A URL a caller gave, checked before anything is fetched: an http(s) URL
 * with a host, whose host if it is an address (in any spelling) is allowed.
 * With resolve, a host name is looked up and every address it has must be
 * allowed (a name that cannot be resolved passes: the fetch says so later).
 * FW_ERR_INVALID with field and the reason otherwise. */
fw_err fw_url_policy_check(const fw_url_policy *policy, const char *url, int resolve, const char *field,
                           fw_error *err);

/* Attach the policy to a libcurl handle (a CURL *, kept as void * so this
 * header needs no curl): http(s) only, the environment's proxies ignored,
 * and every connection's address checked. After curl_easy_perform,
 * fw_url_guard_refused says whether a connection was refused and why. */
typedef struct fw_url_guard {
    const fw_url_policy *policy;
    void *curl;
    char refused[200]; /* "" unless a connection was refused */
} fw_url_guard;

void fw_url_guard_attach(fw_url_guard *guard, const fw_url_policy *policy, void *curl);
const char *fw_url_guard_refused(const fw_url_guard *guard); /* NULL when nothing was refused */

#endif
