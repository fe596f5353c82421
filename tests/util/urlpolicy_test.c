/* The outbound URL policy: every refused spelling of an internal address, the allow list, and
 * real connections to HTTP servers on 127.0.0.1 and 127.0.0.2 through libcurl — redirects to
 * refused addresses, a name that resolves to a private address, the probe. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/util/fetch.h"
#include "server/util/fs.h"
#include "server/util/urlpolicy.h"
#include "tests/fw_test.h"

typedef struct listener {
    int fd;
    int port;
    pthread_t thread;
} listener;

static listener first, second; /* 127.0.0.1 and 127.0.0.2 */

/* GET /hello: "hello"; /to/<url>: 302 to <url>; /loop/<n>: 302 to /loop/<n+1>. */
static void *serve(void *arg)
{
    listener *l = arg;
    for (;;) {
        char req[2048], head[1024], path[1024] = "";
        int c = accept(l->fd, NULL, NULL);
        ssize_t n;
        if (c < 0)
            return NULL;
        n = recv(c, req, sizeof(req) - 1, 0);
        req[n > 0 ? n : 0] = '\0';
        sscanf(req, "GET %1023s", path);
        if (strcmp(path, "/hello") == 0)
            snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        else if (strncmp(path, "/to/", 4) == 0)
            snprintf(head, sizeof(head), "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n"
                                         "Connection: close\r\n\r\n", path + 4);
        else if (strncmp(path, "/loop/", 6) == 0)
            snprintf(head, sizeof(head), "HTTP/1.1 302 Found\r\nLocation: /loop/%d\r\nContent-Length: 0\r\n"
                                         "Connection: close\r\n\r\n", atoi(path + 6) + 1);
        else
            snprintf(head, sizeof(head), "HTTP/1.1 404 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        (void)!send(c, head, strlen(head), MSG_NOSIGNAL);
        close(c);
    }
}

static int start(listener *l, const char *address)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    inet_pton(AF_INET, address, &a.sin_addr);
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l->fd, 8) != 0 ||
        getsockname(l->fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    l->port = ntohs(a.sin_port);
    return pthread_create(&l->thread, NULL, serve, l);
}

static void stop(listener *l)
{
    shutdown(l->fd, SHUT_RDWR);
    close(l->fd);
    pthread_join(l->thread, NULL);
}

static fw_url_policy *policy_of(const char *allow)
{
    fw_url_policy *p = NULL;
    fw_error err;
    if (fw_url_policy_new(allow, "allow", &p, &err) != FW_OK)
        fprintf(stderr, "  %s\n", err.message);
    return p;
}

/* ---- what a URL says ------------------------------------------------------------------------- */

static void test_every_spelling_of_an_internal_address_is_refused(void)
{
    static const struct {
        const char *url;
        const char *why; /* a part of the message */
    } refused[] = {
        {"http://127.0.0.1/", "loopback"},
        {"http://2130706433/", "127.0.0.1 is a loopback"},       /* decimal */
        {"http://0177.0.0.1/", "127.0.0.1 is a loopback"},       /* octal */
        {"http://0x7f.1/", "127.0.0.1 is a loopback"},           /* hex, short */
        {"http://127.1:8080/", "127.0.0.1 is a loopback"},       /* short */
        {"http://%31%32%37.0.0.1/", "loopback"},                 /* percent-encoded */
        {"http://10.0.0.5/", "10.0.0.5 is a private"},
        {"http://172.16.3.4/", "private"},
        {"http://192.168.1.1/", "private"},
        {"http://169.254.169.254/latest/meta-data/", "link-local"}, /* cloud metadata */
        {"http://100.64.0.1/", "carrier-grade NAT"},
        {"http://0.0.0.0/", "'this network'"},
        {"http://224.0.0.1/", "multicast"},
        {"http://255.255.255.255/", "broadcast"},
        {"http://[::1]/", "::1 is a loopback"},
        {"http://[::]/", "unspecified"},
        {"http://[::ffff:127.0.0.1]/", "carries 127.0.0.1"},     /* IPv4-mapped */
        {"http://[::ffff:a9fe:a9fe]/", "carries 169.254.169.254"},
        {"http://[fd00::1]/", "unique-local"},
        {"http://[fe80::1%25eth0]/", "link-local"},
        {"http://[ff02::1]/", "multicast"},
        {"http://[64:ff9b::a00:1]/", "carries 10.0.0.1"},        /* NAT64 */
        {"http://[2002:c0a8:101::1]/", "carries 192.168.1.1"},   /* 6to4 */
        {"http://localhost:8080/", "loopback"},
        {"http://api.localhost/", "loopback"},
        {"http://LOCALHOST./", "loopback"},
        {"ftp://example.com/x", "only http and https"},
        {"file:///etc/passwd", "only http and https"},
        {"gopher://example.com/", "only http and https"},
        {"dict://example.com:11211/", "only http and https"},
    };
    fw_url_policy *p = policy_of(NULL);
    fw_error err;

    FW_REQUIRE(p);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        fw_error_clear(&err);
        if (fw_url_policy_check(p, refused[i].url, 0, "assets[0].src", &err) != FW_ERR_INVALID) {
            fprintf(stderr, "  %s was not refused\n", refused[i].url);
            FW_CHECK(0);
            continue;
        }
        FW_CHECK_STR(err.field, "assets[0].src");
        if (!strstr(err.message, refused[i].why)) {
            fprintf(stderr, "  %s: '%s' lacks '%s'\n", refused[i].url, err.message, refused[i].why);
            FW_CHECK(0);
        }
    }
    /* Public addresses and names pass; a name's addresses are known only by resolving it. */
    FW_CHECK(fw_url_policy_check(p, "https://example.com/a.png", 0, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(p, "http://93.184.216.34/a.png", 0, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(p, "http://[2606:2800:220:1::1]/", 0, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(p, "http://[::ffff:8.8.8.8]/", 0, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(p, "http://172.32.0.1/", 0, "src", &err) == FW_OK); /* just past 172.16/12 */
    FW_CHECK(fw_url_policy_check(p, "not a url", 0, "src", &err) == FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "not a URL");
    FW_CHECK(fw_url_policy_check(p, "http://", 0, "src", &err) == FW_ERR_INVALID);
    FW_CHECK(!fw_url_policy_allows_files(p));
    fw_url_policy_free(p);
}

static void test_the_allow_list_opens_blocks_names_and_files(void)
{
    fw_url_policy *p = policy_of("127.0.0.0/8, fd00::/8 minio.internal,*.corp.example file");
    fw_url_policy *any = policy_of("*");
    fw_url_policy *bad;
    fw_error err;

    FW_REQUIRE(p && any);
    FW_CHECK(fw_url_policy_check(p, "http://127.0.0.1:9000/x", 0, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(p, "http://127.9.9.9/x", 0, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(p, "http://[::ffff:127.0.0.1]/x", 0, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(p, "http://[fd00::5]/x", 0, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(p, "http://minio.internal:9000/b/k", 1, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(p, "http://a.b.Corp.Example/x", 1, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(p, "file:///srv/assets/a.png", 0, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_allows_files(p));
    /* What it does not name stays refused. */
    FW_CHECK(fw_url_policy_check(p, "http://10.0.0.1/x", 0, "src", &err) == FW_ERR_INVALID);
    FW_CHECK(fw_url_policy_check(p, "http://[::1]/x", 0, "src", &err) == FW_ERR_INVALID);
    FW_CHECK(fw_url_policy_check(p, "http://[fe80::1]/x", 0, "src", &err) == FW_ERR_INVALID);
    FW_CHECK(fw_url_policy_check(p, "ftp://minio.internal/x", 0, "src", &err) == FW_ERR_INVALID);
    FW_CHECK(fw_url_policy_check(any, "http://169.254.169.254/", 0, "src", &err) == FW_OK);
    FW_CHECK(fw_url_policy_check(any, "file:///etc/passwd", 0, "src", &err) == FW_ERR_INVALID);
    /* Bad entries are named. */
    static const char *const bad_lists[] = {"10.0.0.0/33", "300.1.1.1/8", "http://x", "1.2.3", "a/b", "::1/129",
                                            "10.0.0.0/", "ex ample,-/"};
    for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
        fw_error_clear(&err);
        bad = NULL;
        FW_CHECK(fw_url_policy_new(bad_lists[i], "FRAMEWRIGHT_URL_ALLOW", &bad, &err) == FW_ERR_INVALID);
        FW_CHECK(bad == NULL);
        FW_CHECK_STR(err.field, "FRAMEWRIGHT_URL_ALLOW");
        FW_CHECK_CONTAINS(err.message, "is not a CIDR block");
    }
    fw_url_policy_free(p);
    fw_url_policy_free(any);
}

/* ---- what a connection reaches --------------------------------------------------------------- */

static void test_fetches_are_checked_on_every_connection_and_redirect(void)
{
    fw_url_policy *only_first = policy_of("127.0.0.1/32");
    fw_url_policy *none = policy_of(NULL);
    const char *dir = fw_test_tmpdir();
    char url[512], dest[512];
    struct stat st;
    fw_error err;

    FW_REQUIRE(only_first && none);
    snprintf(dest, sizeof(dest), "%s/out", dir);
    {
        fw_fetch_options o = {.policy = only_first};
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", first.port);
        FW_CHECK(fw_fetch(url, dest, &o, "src", &err) == FW_OK);
        /* A redirect to another loopback address, to cloud metadata, to a private range. */
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/to/http://127.0.0.2:%d/hello", first.port, second.port);
        unlink(dest);
        FW_CHECK(fw_fetch(url, dest, &o, "assets[1].src", &err) == FW_ERR_INVALID);
        FW_CHECK_STR(err.field, "assets[1].src");
        FW_CHECK_CONTAINS(err.message, "refused by the URL policy: 127.0.0.2 is a loopback address");
        FW_CHECK(stat(dest, &st) != 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/to/http://169.254.169.254/latest/", first.port);
        FW_CHECK(fw_fetch(url, dest, &o, "src", &err) == FW_ERR_INVALID);
        FW_CHECK_CONTAINS(err.message, "169.254.169.254 is a link-local address");
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/to/http://[::1]:%d/hello", first.port, first.port);
        FW_CHECK(fw_fetch(url, dest, &o, "src", &err) == FW_ERR_INVALID);
        FW_CHECK_CONTAINS(err.message, "::1 is a loopback address");
        /* Another scheme is not followed; nor are more than five redirects. */
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/to/file:///etc/passwd", first.port);
        FW_CHECK(fw_fetch(url, dest, &o, "src", &err) != FW_OK);
        FW_CHECK(stat(dest, &st) != 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/loop/0", first.port);
        FW_CHECK(fw_fetch(url, dest, &o, "src", &err) == FW_ERR_NETWORK);
        FW_CHECK_CONTAINS(err.message, "redirect");
        /* Allowed all the way: a redirect within the block. */
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/to/http://127.0.0.1:%d/hello", first.port, first.port);
        FW_CHECK(fw_fetch(url, dest, &o, "src", &err) == FW_OK);
    }
    {
        fw_fetch_options o = {.policy = none};
        unlink(dest);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", first.port);
        FW_CHECK(fw_fetch(url, dest, &o, "template.src", &err) == FW_ERR_INVALID);
        FW_CHECK_STR(err.field, "template.src");
        FW_CHECK_CONTAINS(err.message, "127.0.0.1 is a loopback address");
        FW_CHECK(stat(dest, &st) != 0);
    }
    {
        char why[200];
        long status;
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", first.port);
        FW_CHECK_INT(fw_fetch_probe(url, none, 5000, &status, why, sizeof(why)), FW_PROBE_REFUSED);
        FW_CHECK_CONTAINS(why, "loopback");
        FW_CHECK_INT(fw_fetch_probe(url, only_first, 5000, &status, why, sizeof(why)), FW_PROBE_OK);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/to/http://10.1.2.3/", first.port);
        FW_CHECK_INT(fw_fetch_probe(url, only_first, 5000, &status, why, sizeof(why)), FW_PROBE_REFUSED);
        FW_CHECK_CONTAINS(why, "10.1.2.3 is a private address");
    }
    fw_remove_tree(dir);
    fw_url_policy_free(only_first);
    fw_url_policy_free(none);
}

static size_t discard(char *d, size_t s, size_t n, void *u)
{
    (void)d;
    (void)u;
    return s * n;
}

/* A name whose address is private is refused where it is connected to, whatever it resolved to
 * before (curl's --resolve stands in for a DNS answer), unless the name itself is allowed. */
static CURLcode get_by_name(const fw_url_policy *p, const char *name, int port, char *refused, size_t size)
{
    char url[256], pin[256];
    struct curl_slist *resolve;
    fw_url_guard guard;
    CURLcode rc;
    CURL *curl = curl_easy_init();

    snprintf(url, sizeof(url), "http://%s:%d/hello", name, port);
    snprintf(pin, sizeof(pin), "%s:%d:127.0.0.2", name, port);
    resolve = curl_slist_append(NULL, pin);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    fw_url_guard_attach(&guard, p, curl);
    rc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    curl_slist_free_all(resolve);
    snprintf(refused, size, "%s", fw_url_guard_refused(&guard) ? fw_url_guard_refused(&guard) : "");
    return rc;
}

static void test_a_name_resolving_to_a_private_address_is_refused_on_connect(void)
{
    fw_url_policy *none = policy_of(NULL), *named = policy_of("assets.internal");
    char refused[200];

    FW_REQUIRE(none && named);
    FW_CHECK(get_by_name(none, "assets.example", second.port, refused, sizeof(refused)) != CURLE_OK);
    FW_CHECK_CONTAINS(refused, "127.0.0.2 is a loopback address");
    FW_CHECK(get_by_name(named, "assets.internal", second.port, refused, sizeof(refused)) == CURLE_OK);
    FW_CHECK_STR(refused, "");
    FW_CHECK(get_by_name(named, "other.internal", second.port, refused, sizeof(refused)) != CURLE_OK);
    FW_CHECK_CONTAINS(refused, "127.0.0.2");
    fw_url_policy_free(none);
    fw_url_policy_free(named);
}

int main(void)
{
    fw_fetch_global_init();
    if (start(&first, "127.0.0.1") != 0 || start(&second, "127.0.0.2") != 0)
        return 1;
    FW_RUN(test_every_spelling_of_an_internal_address_is_refused);
    FW_RUN(test_the_allow_list_opens_blocks_names_and_files);
    FW_RUN(test_fetches_are_checked_on_every_connection_and_redirect);
    FW_RUN(test_a_name_resolving_to_a_private_address_is_refused_on_connect);
    stop(&first);
    stop(&second);
    return fw_test_end();
}
