/*
 * frames_test.c - GetTemplateFrame and GET /api/v2/templates/{id}/frames/{n}:
 * a template's frame drawn by the server as PNG, over real gRPC (the C
 * client) and REST (libcurl against the gateway, run in this process so the
 * sanitizers watch it), in front of a real `framewright serve`.
 *
 * The example template has a navy solid behind everything and an orange
 * rounded square centred at (640, 250) of 1280x720, so the pixels of the
 * PNG say whether the engine drew it: orange where the square is, navy in
 * a corner, at whatever size was asked for.
 */
#include <cairo.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/rpc_client.h"
#include "gateway/gateway.h"
#include "proto/template.pb-c.h"
#include "tests/fw_http.h"
#include "tests/fw_serve.h"
#include "tests/fw_test.h"

#define SERVER_BIN "server/framewright"
#define HELLO_TEMPLATE "tests/examples/hello/template.json"
#define FRAME_RPC "/framewright.v1.TemplateService/GetTemplateFrame"

static struct {
    fw_test_server srv;
    fw_gateway *gw;
    fw_rpc_client *rpc;
    char base[128];
    char template_id[64];
    char other_key[128]; /* a key of another team */
} t;

/* ---- HTTP ---------------------------------------------------------------------------------- */

typedef fw_http_response response;
#define response_clear fw_http_response_clear

/* token NULL: no Authorization; "": the first team's key. len 0: body is text. */
static void http(const char *method, const char *path, const char *token, const void *body, size_t len,
                 response *r)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", strncmp(path, "http", 4) == 0 ? "" : t.base, path);
    fw_http_request(NULL, method, url, token && !*token ? t.srv.key : token, body ? "application/json" : NULL, body,
                    body ? (len ? len : strlen(body)) : 0, 0, r);
}

/* The value of header name in r ("" when absent), into out. */
static const char *header(const response *r, const char *name, char out[128])
{
    return fw_http_header(r, name, out, 128);
}

static const char *error_field(const response *r)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(r->json, "details"), 0), "field"));
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

/* Register a template and PUT body to its upload URL, as REST clients do;
 * the id into id. token as for http(). */
static int upload(const char *token, const char *body, size_t len, char id[64])
{
    response r, put;
    char path[256];
    int ok;
    http("POST", "/templates", token, "{\"type\": \"json\", \"displayName\": \"frames\"}", 0, &r);
    if (r.status != 201 || !json_string_value(json_object_get(r.json, "id"))) {
        response_clear(&r);
        return 0;
    }
    snprintf(id, 64, "%s", json_string_value(json_object_get(r.json, "id")));
    response_clear(&r);
    snprintf(path, sizeof(path), "/templates/%s/upload", id);
    http("PUT", path, token, body, len, &put);
    ok = put.status == 200;
    response_clear(&put);
    return ok;
}

/* ---- pictures ------------------------------------------------------------------------------ */

typedef struct png_reader {
    const unsigned char *data;
    size_t len, off;
} png_reader;

static cairo_status_t png_read(void *closure, unsigned char *out, unsigned int length)
{
    png_reader *r = closure;
    if (r->off + length > r->len)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(out, r->data + r->off, length);
    r->off += length;
    return CAIRO_STATUS_SUCCESS;
}

/* The PNG decoded (NULL when it is not one); free with cairo_surface_destroy. */
static cairo_surface_t *decode_png(const void *data, size_t len)
{
    png_reader r = {data, len, 0};
    cairo_surface_t *s;
    if (len < 8 || memcmp(data, "\x89PNG\r\n\x1a\n", 8) != 0)
        return NULL;
    s = cairo_image_surface_create_from_png_stream(png_read, &r);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return NULL;
    }
    cairo_surface_flush(s);
    return s;
}

/* Whether the pixel at (x, y) is within 12 of rgb in every channel. */
static int pixel_is(cairo_surface_t *s, int x, int y, unsigned rgb)
{
    const unsigned char *row = cairo_image_surface_get_data(s) + (size_t)y * cairo_image_surface_get_stride(s);
    uint32_t p = ((const uint32_t *)row)[x];
    int dr = (int)((p >> 16) & 255) - (int)((rgb >> 16) & 255), dg = (int)((p >> 8) & 255) - (int)((rgb >> 8) & 255),
        db = (int)(p & 255) - (int)(rgb & 255);
    if (abs(dr) > 12 || abs(dg) > 12 || abs(db) > 12) {
        fprintf(stderr, "  pixel (%d, %d) is #%06x, expected #%06x\n", x, y, (unsigned)(p & 0xffffff), rgb);
        return 0;
    }
    return 1;
}

#define NAVY 0x1d2b53u
#define ORANGE 0xff6a00u

/* ---- gRPC ---------------------------------------------------------------------------------- */

static fw_err get_frame(const char *token, const char *id, int frame, int width, int height, int version,
                        Framewright__V1__TemplateFrame **out, fw_error *err)
{
    Framewright__V1__GetTemplateFrameRequest req = FRAMEWRIGHT__V1__GET_TEMPLATE_FRAME_REQUEST__INIT;
    fw_rpc_call_options o = {.timeout_ms = 60000, .token = token};
    req.id = (char *)id;
    req.frame = frame;
    req.width = width;
    req.height = height;
    req.version = version;
    fw_error_clear(err);
    return fw_rpc_client_unary(t.rpc, FRAME_RPC, &req.base, &framewright__v1__template_frame__descriptor, &o,
                               (ProtobufCMessage **)out, err);
}

/* ---- the tests ----------------------------------------------------------------------------- */

static void test_rest_frame_is_a_png_with_the_square_where_the_template_has_it(void)
{
    response r;
    char path[256], h[128];
    cairo_surface_t *png;

    FW_REQUIRE(t.template_id[0]);
    snprintf(path, sizeof(path), "/templates/%s/frames/0?width=640", t.template_id);
    http("GET", path, "", NULL, 0, &r);
    FW_CHECK_INT(r.status, 200);
    FW_CHECK_STR(header(&r, "Content-Type", h), "image/png");
    FW_CHECK_STR(header(&r, "X-Content-Type-Options", h), "nosniff");
    FW_CHECK(strstr(header(&r, "Cache-Control", h), "private") != NULL);
    FW_CHECK_STR(header(&r, "X-Framewright-Cache", h), "miss");
    png = decode_png(r.body.data, r.body.len);
    FW_CHECK(png != NULL);
    if (png) {
        FW_CHECK_INT(cairo_image_surface_get_width(png), 640);
        FW_CHECK_INT(cairo_image_surface_get_height(png), 360);
        FW_CHECK(pixel_is(png, 320, 125, ORANGE)); /* the square's centre, (640, 250) at half size */
        FW_CHECK(pixel_is(png, 290, 100, ORANGE)); /* inside its 80 px at half size */
        FW_CHECK(pixel_is(png, 10, 10, NAVY));
        FW_CHECK(pixel_is(png, 320, 200, NAVY)); /* the title is still transparent at frame 0 */
        cairo_surface_destroy(png);
    }
    response_clear(&r);
}

static void test_the_same_frame_again_comes_from_the_cache_byte_for_byte(void)
{
    response a, b;
    Framewright__V1__TemplateFrame *f = NULL;
    char path[256], h[128];
    fw_error err;

    FW_REQUIRE(t.template_id[0]);
    snprintf(path, sizeof(path), "/templates/%s/frames/30?width=320", t.template_id);
    http("GET", path, "", NULL, 0, &a);
    FW_CHECK_INT(a.status, 200);
    FW_CHECK_STR(header(&a, "X-Framewright-Cache", h), "miss");
    http("GET", path, "", NULL, 0, &b);
    FW_CHECK_INT(b.status, 200);
    FW_CHECK_STR(header(&b, "X-Framewright-Cache", h), "hit");
    FW_CHECK(a.body.len > 0 && a.body.len == b.body.len && memcmp(a.body.data, b.body.data, a.body.len) == 0);
    /* gRPC reaches the same cache: same frame, same size. */
    FW_CHECK_INT(get_frame(t.srv.key, t.template_id, 30, 320, 0, 0, &f, &err), FW_OK);
    if (f) {
        FW_CHECK(f->cached);
        FW_CHECK(f->data.len == a.body.len && memcmp(f->data.data, a.body.data, a.body.len) == 0);
        protobuf_c_message_free_unpacked(&f->base, NULL);
    }
    response_clear(&a);
    response_clear(&b);
}

static void test_grpc_frame_fits_the_box_asked_for(void)
{
    Framewright__V1__TemplateFrame *f = NULL;
    cairo_surface_t *png;
    fw_error err;

    FW_REQUIRE(t.template_id[0]);
    /* 400x400 holds 400x225 of a 16:9 composition. */
    FW_CHECK_INT(get_frame(t.srv.key, t.template_id, 45, 400, 400, 0, &f, &err), FW_OK);
    FW_REQUIRE(f);
    FW_CHECK_INT(f->width, 400);
    FW_CHECK_INT(f->height, 225);
    FW_CHECK_INT(f->frame, 45);
    FW_CHECK_INT(f->version, 1);
    FW_CHECK(!f->cached);
    FW_CHECK_STR(f->content_type, "image/png");
    png = decode_png(f->data.data, f->data.len);
    FW_CHECK(png != NULL);
    if (png) {
        FW_CHECK_INT(cairo_image_surface_get_width(png), 400);
        FW_CHECK_INT(cairo_image_surface_get_height(png), 225);
        FW_CHECK(pixel_is(png, 200, 78, ORANGE)); /* turning, but its centre stays */
        FW_CHECK(pixel_is(png, 5, 220, NAVY));
        cairo_surface_destroy(png);
    }
    protobuf_c_message_free_unpacked(&f->base, NULL);
    /* Without a size: the composition's own. */
    FW_CHECK_INT(get_frame(t.srv.key, t.template_id, 0, 0, 0, 0, &f, &err), FW_OK);
    if (f) {
        FW_CHECK_INT(f->width, 1280);
        FW_CHECK_INT(f->height, 720);
        protobuf_c_message_free_unpacked(&f->base, NULL);
    }
}

static void test_bad_frames_and_sizes_are_refused_naming_the_field(void)
{
    static const struct {
        const char *query;
        long status;
        const char *field;
    } cases[] = {
        {"90", 400, "frame"},           /* frames 0 to 89 */
        {"-1", 400, "frame"},
        {"first", 400, "frame"},
        {"0?width=5000", 400, "width"},
        {"0?width=-3", 400, "width"},
        {"0?height=4096", 400, "height"},
        {"0?width=abc", 400, "width"},
        {"0?format=webp", 400, "format"},
        {"0?composition=nope", 400, "composition"},
        {"0?version=7", 404, NULL},
    };
    char path[256];
    response r;

    FW_REQUIRE(t.template_id[0]);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "/templates/%s/frames/%s", t.template_id, cases[i].query);
        http("GET", path, "", NULL, 0, &r);
        FW_CHECK_MSG(r.status == cases[i].status, "%s: %ld", cases[i].query, r.status);
        FW_CHECK_MSG(r.json && json_string_value(json_object_get(r.json, "error")), "%s: no error", cases[i].query);
        if (cases[i].field)
            FW_CHECK_MSG(error_field(&r) && strcmp(error_field(&r), cases[i].field) == 0, "%s: field %s",
                         cases[i].query, error_field(&r) ? error_field(&r) : "(none)");
        response_clear(&r);
    }
    http("GET", "/templates/01NOSUCHTEMPLATE0000000000/frames/0", "", NULL, 0, &r);
    FW_CHECK_INT(r.status, 404);
    response_clear(&r);
    snprintf(path, sizeof(path), "/templates/%s/frames/0", t.template_id);
    http("GET", path, NULL, NULL, 0, &r);
    FW_CHECK_INT(r.status, 401);
    response_clear(&r);
    http("GET", path, "fw_not_a_key", NULL, 0, &r);
    FW_CHECK_INT(r.status, 401);
    response_clear(&r);
    snprintf(path, sizeof(path), "/templates/%s/frames", t.template_id);
    http("GET", path, "", NULL, 0, &r);
    FW_CHECK_INT(r.status, 404);
    response_clear(&r);
    /* A template without its bundle has nothing to draw. */
    http("POST", "/templates", "", "{\"type\": \"json\", \"displayName\": \"empty\"}", 0, &r);
    FW_REQUIRE(r.status == 201);
    snprintf(path, sizeof(path), "/templates/%s/frames/0", json_string_value(json_object_get(r.json, "id")));
    response_clear(&r);
    http("GET", path, "", NULL, 0, &r);
    FW_CHECK_INT(r.status, 409);
    response_clear(&r);
}

static void test_grpc_errors_carry_the_field(void)
{
    Framewright__V1__TemplateFrame *f = NULL;
    fw_error err;

    FW_REQUIRE(t.template_id[0]);
    FW_CHECK_INT(get_frame(t.srv.key, t.template_id, 500, 0, 0, 0, &f, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "frame");
    FW_CHECK(strstr(err.message, "0 to 89") != NULL);
    FW_CHECK_INT(get_frame(t.srv.key, t.template_id, 0, 9000, 0, 0, &f, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "width");
    FW_CHECK_INT(get_frame("fw_wrong", t.template_id, 0, 0, 0, 0, &f, &err), FW_ERR_UNAUTHENTICATED);
    FW_CHECK(f == NULL);
}

static void test_another_team_finds_no_such_template(void)
{
    Framewright__V1__TemplateFrame *f = NULL;
    char path[256];
    response r;
    fw_error err;

    FW_REQUIRE(t.template_id[0] && t.other_key[0]);
    snprintf(path, sizeof(path), "/templates/%s/frames/0?width=64", t.template_id);
    /* Even once the picture is in the cache. */
    http("GET", path, "", NULL, 0, &r);
    FW_CHECK_INT(r.status, 200);
    response_clear(&r);
    http("GET", path, t.other_key, NULL, 0, &r);
    FW_CHECK_INT(r.status, 404);
    FW_CHECK(r.body.data && !memmem(r.body.data, r.body.len, "PNG", 3));
    response_clear(&r);
    FW_CHECK_INT(get_frame(t.other_key, t.template_id, 0, 64, 0, 0, &f, &err), FW_ERR_NOT_FOUND);
    FW_CHECK(f == NULL);
}

static void test_a_new_version_is_drawn_and_the_old_one_still_can_be(void)
{
    size_t len = 0;
    char *doc = read_file(HELLO_TEMPLATE, &len), *at, path[256];
    Framewright__V1__TemplateFrame *f = NULL;
    cairo_surface_t *png;
    response r;
    fw_error err;

    if (!t.template_id[0])
        free(doc);
    FW_REQUIRE(doc && t.template_id[0]);
    /* The same template with a green background, as version 2. */
    if (!(at = strstr(doc, "#1d2b53")))
        free(doc);
    FW_REQUIRE(at);
    memcpy(at, "#20a040", 7);
    snprintf(path, sizeof(path), "/templates/%s/upload", t.template_id);
    http("PUT", path, "", doc, len, &r);
    free(doc);
    FW_CHECK_INT(r.status, 200);
    response_clear(&r);
    FW_CHECK_INT(get_frame(t.srv.key, t.template_id, 0, 320, 0, 0, &f, &err), FW_OK);
    FW_REQUIRE(f);
    FW_CHECK_INT(f->version, 2);
    FW_CHECK(!f->cached);
    png = decode_png(f->data.data, f->data.len);
    FW_CHECK(png && pixel_is(png, 5, 5, 0x20a040));
    if (png)
        cairo_surface_destroy(png);
    protobuf_c_message_free_unpacked(&f->base, NULL);
    FW_CHECK_INT(get_frame(t.srv.key, t.template_id, 0, 320, 0, 1, &f, &err), FW_OK);
    FW_REQUIRE(f);
    FW_CHECK_INT(f->version, 1);
    png = decode_png(f->data.data, f->data.len);
    FW_CHECK(png && pixel_is(png, 5, 5, NAVY));
    if (png)
        cairo_surface_destroy(png);
    protobuf_c_message_free_unpacked(&f->base, NULL);
}

typedef struct concurrent {
    pthread_t thread;
    int frame;
    long status;
    int is_png;
} concurrent;

static void *fetch_frame(void *arg)
{
    concurrent *c = arg;
    char path[256];
    response r;
    snprintf(path, sizeof(path), "/templates/%s/frames/%d?width=200", t.template_id, c->frame);
    http("GET", path, "", NULL, 0, &r);
    c->status = r.status;
    c->is_png = r.body.len > 8 && memcmp(r.body.data, "\x89PNG", 4) == 0;
    response_clear(&r);
    return NULL;
}

/* More requests at once than frames drawn at once: the rest wait their turn. */
static void test_frames_asked_for_at_once_are_all_drawn(void)
{
    concurrent c[6];
    FW_REQUIRE(t.template_id[0]);
    for (int i = 0; i < 6; i++) {
        c[i].frame = 5 + 13 * i;
        pthread_create(&c[i].thread, NULL, fetch_frame, &c[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(c[i].thread, NULL);
        FW_CHECK_MSG(c[i].status == 200 && c[i].is_png, "frame %d: HTTP %ld", c[i].frame, c[i].status);
    }
}

/* framewright keys create --team other, on the server's data folder. */
static int make_other_key(void)
{
    char cmd[1400], line[256];
    FILE *p;
    snprintf(cmd, sizeof(cmd), "%s keys create --team other --data '%s/data' 2>/dev/null", SERVER_BIN, t.srv.dir);
    if (!(p = popen(cmd, "r")))
        return -1;
    while (fgets(line, sizeof(line), p))
        if (strncmp(line, "fw_", 3) == 0)
            snprintf(t.other_key, sizeof(t.other_key), "%.*s", (int)strcspn(line, "\r\n"), line);
    return pclose(p) == 0 && t.other_key[0] ? 0 : -1;
}

int main(void)
{
    fw_gateway_options opts;
    fw_rpc_client_options co;
    fw_error err;
    char text[1024], *doc;
    size_t len = 0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fw_test_server_start(&t.srv, SERVER_BIN, 0, 0) != 0) {
        fprintf(stderr, "framewright serve did not start\n");
        fw_test_server_print_log(&t.srv);
        fw_test_server_stop(&t.srv, 30000);
        return 1;
    }
    memset(&opts, 0, sizeof(opts));
    opts.listen = "127.0.0.1:0";
    opts.grpc_address = t.srv.grpc;
    memset(&co, 0, sizeof(co));
    co.address = t.srv.grpc;
    fw_error_clear(&err);
    if (fw_gateway_start(&t.gw, &opts, &err) != FW_OK || fw_rpc_client_new(&t.rpc, &co, &err) != FW_OK) {
        fprintf(stderr, "setup: %s\n", fw_error_text(&err, text, sizeof(text)));
        fw_test_server_stop(&t.srv, 30000);
        return 1;
    }
    snprintf(t.base, sizeof(t.base), "http://127.0.0.1:%d/api/v2", fw_gateway_port(t.gw));
    if (make_other_key() != 0)
        fprintf(stderr, "could not make a key for a second team\n");
    doc = read_file(HELLO_TEMPLATE, &len);
    if (!doc || !upload("", doc, len, t.template_id)) {
        fprintf(stderr, "could not upload the example template\n");
        t.template_id[0] = '\0';
    }
    free(doc);

    FW_RUN(test_rest_frame_is_a_png_with_the_square_where_the_template_has_it);
    FW_RUN(test_the_same_frame_again_comes_from_the_cache_byte_for_byte);
    FW_RUN(test_grpc_frame_fits_the_box_asked_for);
    FW_RUN(test_frames_asked_for_at_once_are_all_drawn);
    FW_RUN(test_bad_frames_and_sizes_are_refused_naming_the_field);
    FW_RUN(test_grpc_errors_carry_the_field);
    FW_RUN(test_another_team_finds_no_such_template);
    FW_RUN(test_a_new_version_is_drawn_and_the_old_one_still_can_be);

    fw_rpc_client_free(&t.rpc);
    fw_gateway_stop(&t.gw);
    if (fw_test_failed_)
        fw_test_server_print_log(&t.srv);
    fw_test_server_stop(&t.srv, 30000);
    curl_global_cleanup();
    return fw_test_end();
}
