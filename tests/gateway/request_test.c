/*
 * request_test.c - REST bodies turned into the API's messages, without a
 * server: a text asset's "fit" object becomes text_fit, and nothing else
 * named "fit" is touched.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"
#include "gateway/static_files.h"
#include "proto/json/pbjson.h"
#include "tests/fw_test.h"

/* The message a POST body builds, written back as JSON; NULL when refused. */
static char *built(const char *path, const char *body, fw_error *err)
{
    const fw_gateway_route *route = NULL;
    char id[FW_GATEWAY_ID_MAX] = "", allow[64] = "";
    ProtobufCMessage *msg = NULL;
    char *text = NULL;
    if (fw_gateway_match("POST", path, &route, id, allow) != 200)
        return NULL;
    if (fw_gateway_build_request(route, id, NULL, body, strlen(body), &msg, err) != FW_OK)
        return NULL;
    if (fw_pbjson_format(msg, 0, &text, err) != FW_OK)
        text = NULL;
    fw_pbjson_message_free(&msg);
    return text;
}

static void test_a_text_fit_object_becomes_text_fit_and_other_fits_stay(void)
{
    fw_error err = {0};
    char *text = built("/api/v2/jobs",
                       "{\"template\":{\"id\":\"t\"},\"assets\":["
                       "{\"type\":\"text\",\"layerName\":\"name\",\"value\":\"x\",\"fit\":{\"mode\":\"shrink\",\"maxLines\":2}},"
                       "{\"type\":\"image\",\"layerName\":\"photo\",\"src\":\"https://example.com/a.png\",\"fit\":\"cover\"},"
                       "{\"type\":\"script\",\"value\":\"1\",\"data\":{\"fit\":{\"mode\":\"kept\"}}},"
                       "{\"type\":\"job\",\"layerName\":\"child\",\"template\":{\"id\":\"c\"},\"assets\":["
                       "{\"type\":\"text\",\"layerName\":\"t\",\"value\":\"y\",\"fit\":{\"mode\":\"wrap-shrink\"}}]}]}",
                       &err);
    FW_CHECK_MSG(text, "%s", err.message);
    FW_REQUIRE(text);
    FW_CHECK_CONTAINS(text, "\"textFit\":{\"mode\":\"shrink\",\"maxLines\":2}");
    FW_CHECK_CONTAINS(text, "\"fit\":\"cover\"");
    FW_CHECK_CONTAINS(text, "\"data\":{\"fit\":{\"mode\":\"kept\"}}");
    FW_CHECK_CONTAINS(text, "\"textFit\":{\"mode\":\"wrap-shrink\"}");
    free(text);

    /* A batch's jobs too; and an error names the field as the client wrote it. */
    text = built("/api/v2/batches", "{\"jobs\":[{\"template\":{\"id\":\"t\"},\"assets\":["
                                  "{\"type\":\"text\",\"layerName\":\"n\",\"value\":\"x\",\"fit\":{\"mode\":\"shrink\"}}]}]}",
                 &err);
    FW_CHECK_MSG(text, "%s", err.message);
    FW_REQUIRE(text);
    FW_CHECK_CONTAINS(text, "\"textFit\":{\"mode\":\"shrink\"}");
    free(text);
    FW_CHECK(built("/api/v2/jobs",
                   "{\"template\":{\"id\":\"t\"},\"assets\":[{\"type\":\"text\",\"value\":\"x\",\"fit\":{\"mode\":3}}]}",
                   &err) == NULL);
    FW_CHECK_STR(err.field, "assets[0].fit.mode");
}

/* GET /templates/{id}/frames/{n}: both path values reach their fields; the
 * frame number in the path wins over a query parameter of that name. */
static void test_a_frame_path_fills_id_and_frame(void)
{
    const char *query[] = {"width", "320", "frame", "9", "composition", "intro", NULL};
    const char *bad[] = {"width", "wide", NULL};
    const fw_gateway_route *route = NULL;
    char id[FW_GATEWAY_ID_MAX] = "", allow[64] = "", *text = NULL;
    ProtobufCMessage *msg = NULL;
    fw_error err = {0};

    FW_CHECK_INT(fw_gateway_match("GET", "/api/v2/templates/01ABC/frames/12", &route, id, allow), 200);
    FW_REQUIRE(route);
    FW_CHECK_STR(id, "01ABC/12");
    FW_CHECK_INT(fw_gateway_build_request(route, id, query, NULL, 0, &msg, &err), FW_OK);
    FW_REQUIRE(msg);
    FW_CHECK_INT(fw_pbjson_format(msg, 0, &text, &err), FW_OK);
    FW_CHECK_STR(text, "{\"id\":\"01ABC\",\"frame\":12,\"composition\":\"intro\",\"width\":320}");
    free(text);
    fw_pbjson_message_free(&msg);

    FW_CHECK_INT(fw_gateway_match("GET", "/api/v2/templates/01ABC/frames/x1", &route, id, allow), 200);
    FW_CHECK_INT(fw_gateway_build_request(route, id, NULL, NULL, 0, &msg, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "frame");
    FW_CHECK_INT(fw_gateway_match("GET", "/api/v2/templates/01ABC/frames/1", &route, id, allow), 200);
    FW_CHECK_INT(fw_gateway_build_request(route, id, bad, NULL, 0, &msg, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "width");
    FW_CHECK(msg == NULL);
    FW_CHECK_INT(fw_gateway_match("GET", "/api/v2/templates/01ABC/frames/", &route, id, allow), 404);
    FW_CHECK_INT(fw_gateway_match("POST", "/api/v2/templates/01ABC/frames/3", &route, id, allow), 405);
}

/* The dashboard's files are in the binary; its policy takes only source
 * characters from the configured output origins. */
static void test_dashboard_files_and_policy(void)
{
    const fw_static_file *index = fw_dashboard_find("/"), *js = fw_dashboard_find("/app.js");
    char *csp;
    FW_REQUIRE(index && js);
    FW_CHECK(fw_dashboard_find("/index.html") == index);
    FW_CHECK(fw_dashboard_find("/api/v2/jobs") == NULL);
    FW_CHECK(fw_dashboard_find("/../BUILD") == NULL);
    FW_CHECK_STR(index->type, "text/html; charset=utf-8");
    FW_CHECK(strstr((const char *)index->data, "<script type=\"module\" src=\"/app.js\">") != NULL);
    FW_CHECK(js->len > 1000 && strstr(js->type, "javascript"));
    csp = fw_dashboard_csp("http://127.0.0.1:8080");
    FW_CHECK(csp && strstr(csp, "media-src http://127.0.0.1:8080;") && strstr(csp, "script-src 'self';") &&
             !strstr(csp, "unsafe"));
    free(csp);
    csp = fw_dashboard_csp("https://cdn.example.com; script-src *\r\nX: y");
    FW_CHECK(csp && strstr(csp, "media-src https://cdn.example.com script-src *X: y;") && !strstr(csp, "\r"));
    free(csp);
    csp = fw_dashboard_csp(NULL);
    FW_CHECK(csp && strstr(csp, "media-src https:;"));
    free(csp);
}

int main(void)
{
    FW_RUN(test_a_text_fit_object_becomes_text_fit_and_other_fits_stay);
    FW_RUN(test_a_frame_path_fills_id_and_frame);
    FW_RUN(test_dashboard_files_and_policy);
    return fw_test_end();
}
