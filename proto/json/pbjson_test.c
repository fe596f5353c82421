/*
 * pbjson_test.c - the proto3 JSON mapping of framewright.v1 messages, as the
 * REST gateway and job files see it.
 */
#include "proto/json/pbjson.h"

#include <stdint.h>
#include <string.h>

#include "google/protobuf/struct.pb-c.h"
#include "proto/batch.pb-c.h"
#include "proto/font.pb-c.h"
#include "proto/job.pb-c.h"
#include "proto/template.pb-c.h"
#include "tests/fw_test.h"

/* Parse text as a message of type d; NULL (and err filled) on failure. */
static ProtobufCMessage *parse(const ProtobufCMessageDescriptor *d, const char *text, unsigned flags, fw_error *err)
{
    ProtobufCMessage *m = NULL;
    fw_error_clear(err);
    if (fw_pbjson_parse(d, text, strlen(text), flags, &m, err) != FW_OK)
        return NULL;
    return m;
}

/* The compact JSON text of m; the caller frees it. */
static char *format(const ProtobufCMessage *m, unsigned flags)
{
    char *text = NULL;
    fw_error err;
    if (fw_pbjson_format(m, flags, &text, &err) != FW_OK) {
        fprintf(stderr, "  format failed: %s: %s\n", err.field, err.message);
        return NULL;
    }
    return text;
}

/* Whether two messages pack to the same bytes. */
static int same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
    uint8_t *pa, *pb;
    int same;
    if (na != nb)
        return 0;
    pa = malloc(na + 1);
    pb = malloc(nb + 1);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    same = memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

/* text parses as d, writes back as exactly `text` (it is in canonical form)
 * and the written text parses to the same message. Returns the message. */
static ProtobufCMessage *check_canonical(const ProtobufCMessageDescriptor *d, const char *text, unsigned out_flags)
{
    fw_error err;
    ProtobufCMessage *m = parse(d, text, 0, &err), *again;
    char *out;

    FW_CHECK_MSG(m != NULL, "%s: %s", err.field, err.message);
    if (!m)
        return NULL;
    out = format(m, out_flags);
    FW_CHECK_STR(out, text);
    again = out ? parse(d, out, 0, &err) : NULL;
    FW_CHECK(again != NULL);
    if (again)
        FW_CHECK(same_message(m, again));
    fw_pbjson_message_free(&again);
    free(out);
    return m;
}

/* The field and message of the error text gets. */
static fw_err parse_error(const ProtobufCMessageDescriptor *d, const char *text, fw_error *err)
{
    ProtobufCMessage *m = parse(d, text, 0, err);
    fw_err rc = m ? FW_OK : err->code;
    fw_pbjson_message_free(&m);
    return rc;
}

static void test_job_request_with_every_asset_kind_round_trips(void)
{
    const char *text =
        "{\"template\":{\"id\":\"01JTGM9GCR71JV7EJYDF45QAFD\",\"composition\":\"main\"},"
        "\"preview\":true,\"fonts\":[\"Inter-Bold.ttf\",\"Roboto.ttf\"],\"assets\":["
        "{\"type\":\"text\",\"layerName\":\"title\",\"value\":\"Hello World!\"},"
        "{\"type\":\"data\",\"layerName\":\"logo\",\"property\":\"Opacity\",\"value\":50},"
        "{\"type\":\"data\",\"layerName\":\"box\",\"composition\":\"main2\",\"property\":\"Position\","
        "\"value\":[960,540.5]},"
        "{\"type\":\"data\",\"layerName\":\"title\",\"property\":\"Scale\",\"expression\":\"[100, 100]\"},"
        "{\"type\":\"image\",\"layerName\":\"photo\",\"src\":\"https://example.com/a.png\",\"fit\":\"cover\"},"
        "{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"file:///media/clip.mp4\"},"
        "{\"type\":\"audio\",\"layerName\":\"music\",\"src\":\"https://example.com/a.mp3\",\"extension\":\"mp3\"},"
        "{\"type\":\"static\",\"src\":\"https://example.com/b.jpg\",\"name\":\"b.jpg\"},"
        "{\"type\":\"essential\",\"value\":{\"Title\":\"Hi\",\"Color\":[1,0,0]}},"
        "{\"type\":\"script\",\"src\":\"https://example.com/s.js\"},"
        "{\"type\":\"function\",\"layerName\":\"title\",\"name\":\"nx:text-params-set\","
        "\"params\":{\"fontSize\":48,\"tracking\":null}},"
        "{\"type\":\"job\",\"layerName\":\"intro\",\"template\":{\"src\":\"file:///t/intro.json\"},"
        "\"assets\":[{\"type\":\"text\",\"layerName\":\"name\",\"value\":\"Ada\"},"
        "{\"type\":\"job\",\"layerName\":\"inner\",\"template\":{\"id\":\"T2\"},"
        "\"assets\":[{\"type\":\"text\",\"layerName\":\"x\",\"value\":\"deep\"}]}],"
        "\"preview\":true,\"settings\":{\"type\":\"video\",\"codec\":\"video_prores_4444\"}}],"
        "\"settings\":{\"type\":\"image\",\"frames\":[0,10],\"quality\":\"full\",\"codec\":\"image_png\","
        "\"engine\":\"rlottie\"},"
        "\"upload\":{\"provider\":\"s3\",\"prefix\":\"out/\",\"outputUrl\":\"https://cdn.example.com\","
        "\"params\":{\"endpoint\":\"https://s3.amazonaws.com\",\"region\":\"eu-west-1\",\"bucket\":\"b\","
        "\"acl\":\"private\",\"accessKeyId\":\"AKIA\",\"accessKeySecret\":\"s3cr3t\"}},"
        "\"webhook\":{\"url\":\"https://hooks.example.com/x\",\"method\":\"PUT\","
        "\"headers\":{\"X-Token\":\"abc\",\"Accept\":\"application/json\"},"
        "\"data\":{\"order\":42,\"tags\":[\"a\",\"b\"]},\"custom\":true}}";
    Framewright__V1__JobRequest *r =
        (Framewright__V1__JobRequest *)check_canonical(&framewright__v1__job_request__descriptor, text, 0);
    Framewright__V1__Asset *job, *inner;

    FW_REQUIRE(r != NULL);
    FW_CHECK_STR(r->template_->id, "01JTGM9GCR71JV7EJYDF45QAFD");
    FW_CHECK(r->preview);
    FW_CHECK_INT(r->n_fonts, 2);
    FW_CHECK_STR(r->fonts[1], "Roboto.ttf");
    FW_REQUIRE(r->n_assets == 12);
    FW_CHECK_STR(r->assets[0]->layer_name, "title");
    FW_CHECK_INT(r->assets[0]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
    FW_CHECK_STR(r->assets[0]->value->string_value, "Hello World!");
    FW_CHECK_INT(r->assets[1]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);
    FW_CHECK_NEAR(r->assets[1]->value->number_value, 50, 0);
    FW_REQUIRE(r->assets[2]->value->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
    FW_CHECK_NEAR(r->assets[2]->value->list_value->values[1]->number_value, 540.5, 0);
    FW_CHECK_STR(r->assets[2]->composition, "main2");
    FW_CHECK_STR(r->assets[3]->expression, "[100, 100]");
    FW_CHECK(r->assets[3]->value == NULL);
    FW_CHECK_STR(r->assets[4]->fit, "cover");
    FW_CHECK_STR(r->assets[7]->name, "b.jpg");
    FW_CHECK_INT(r->assets[8]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
    FW_CHECK_STR(r->assets[8]->value->struct_value->fields[0]->key, "Title");
    FW_REQUIRE(r->assets[10]->params != NULL && r->assets[10]->params->n_fields == 2);
    FW_CHECK_INT(r->assets[10]->params->fields[1]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);

    job = r->assets[11];
    FW_CHECK_STR(job->type, "job");
    FW_CHECK_STR(job->template_->src, "file:///t/intro.json");
    FW_CHECK(job->preview);
    FW_CHECK_STR(job->settings->codec, "video_prores_4444");
    FW_REQUIRE(job->n_assets == 2);
    inner = job->assets[1];
    FW_CHECK_STR(inner->template_->id, "T2");
    FW_REQUIRE(inner->n_assets == 1);
    FW_CHECK_STR(inner->assets[0]->value->string_value, "deep");

    FW_CHECK_INT(r->settings->frames->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
    FW_CHECK_INT(r->settings->frames->list_value->n_values, 2);
    FW_CHECK_STR(r->upload->params->access_key_id, "AKIA");
    FW_CHECK_STR(r->upload->output_url, "https://cdn.example.com");
    FW_REQUIRE(r->webhook->n_headers == 2);
    FW_CHECK_STR(r->webhook->headers[0]->key, "X-Token");
    FW_CHECK_STR(r->webhook->headers[0]->value, "abc");
    FW_CHECK_STR(r->webhook->method, "PUT");
    FW_CHECK(r->webhook->custom);
    FW_CHECK_NEAR(r->webhook->data->fields[0]->value->number_value, 42, 0);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_proto_names_are_accepted_and_can_be_written(void)
{
    fw_error err;
    ProtobufCMessage *m = parse(&framewright__v1__upload__descriptor,
                                "{\"output_url\":\"u\",\"params\":{\"access_key_id\":\"k\"}}", 0, &err);
    char *out;

    FW_REQUIRE(m != NULL);
    FW_CHECK_STR(((Framewright__V1__Upload *)m)->params->access_key_id, "k");
    out = format(m, 0);
    FW_CHECK_STR(out, "{\"outputUrl\":\"u\",\"params\":{\"accessKeyId\":\"k\"}}");
    free(out);
    out = format(m, FW_PBJSON_PROTO_NAMES);
    FW_CHECK_STR(out, "{\"output_url\":\"u\",\"params\":{\"access_key_id\":\"k\"}}");
    free(out);
    fw_pbjson_message_free(&m);
    FW_CHECK(m == NULL);
}

static void test_value_carries_every_json_kind(void)
{
    static const char *const values[] = {
        "\"text\"",
        "1.5",
        "-3",
        "0",
        "1e+300",
        "0.1",
        "0.30000000000000004",
        "-0.0",
        "1.7976931348623157e+308",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "[1,\"a\",[true,null],{\"k\":[]}]",
        "{\"a\":{\"b\":[1,2,{\"c\":null}]},\"z\":\"last\",\"m\":-0.25}",
    };
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char text[256];
        ProtobufCMessage *m;
        snprintf(text, sizeof(text), "{\"type\":\"data\",\"value\":%s}", values[i]);
        m = check_canonical(&framewright__v1__asset__descriptor, text, 0);
        FW_REQUIRE(m != NULL);
        FW_CHECK(((Framewright__V1__Asset *)m)->value != NULL);
        fw_pbjson_message_free(&m);
    }
}

static void test_value_kinds_land_in_the_right_members(void)
{
    fw_error err;
    ProtobufCMessage *m = parse(&google__protobuf__value__descriptor,
                                "{\"s\":\"x\",\"n\":2.5,\"b\":true,\"z\":null,\"l\":[1],\"o\":{\"p\":{}}}", 0, &err);
    Google__Protobuf__Struct *s;

    FW_REQUIRE(m != NULL);
    FW_REQUIRE(((Google__Protobuf__Value *)m)->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
    s = ((Google__Protobuf__Value *)m)->struct_value;
    FW_REQUIRE(s->n_fields == 6);
    FW_CHECK_STR(s->fields[0]->value->string_value, "x");
    FW_CHECK_NEAR(s->fields[1]->value->number_value, 2.5, 0);
    FW_CHECK(s->fields[2]->value->bool_value);
    FW_CHECK_INT(s->fields[3]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    FW_CHECK_INT(s->fields[4]->value->list_value->n_values, 1);
    FW_CHECK_STR(s->fields[5]->value->struct_value->fields[0]->key, "p");
    fw_pbjson_message_free(&m);

    /* a Value written from C with NaN has no JSON form */
    {
        Google__Protobuf__Value v = GOOGLE__PROTOBUF__VALUE__INIT;
        json_t *j = NULL;
        v.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        v.number_value = NAN;
        FW_CHECK_INT(fw_pbjson_from_message(&v.base, 0, &j, &err), FW_ERR_INVALID);
        FW_CHECK(j == NULL);
    }
}

static void test_timestamps_are_rfc3339(void)
{
    fw_error err;
    Framewright__V1__JobStats *s;
    ProtobufCMessage *m;
    char *out;

    m = check_canonical(&framewright__v1__job_stats__descriptor,
                        "{\"createdAt\":\"2025-05-14T12:00:00.000Z\",\"updatedAt\":\"2025-05-14T12:00:01.500Z\","
                        "\"startedAt\":\"1969-12-31T23:59:59.000001Z\",\"finishedAt\":\"0001-01-01T00:00:00.000Z\","
                        "\"errorAt\":\"9999-12-31T23:59:59.999999999Z\"}",
                        0);
    FW_REQUIRE(m != NULL);
    s = (Framewright__V1__JobStats *)m;
    FW_CHECK_INT(s->created_at->seconds, 1747224000);
    FW_CHECK_INT(s->created_at->nanos, 0);
    FW_CHECK_INT(s->updated_at->nanos, 500000000);
    FW_CHECK_INT(s->started_at->seconds, -1);
    FW_CHECK_INT(s->started_at->nanos, 1000);
    FW_CHECK_INT(s->finished_at->seconds, -62135596800LL);
    FW_CHECK_INT(s->error_at->seconds, 253402300799LL);
    fw_pbjson_message_free(&m);

    /* offsets, lower-case separators and few or no fraction digits are accepted */
    m = parse(&framewright__v1__job_stats__descriptor,
              "{\"createdAt\":\"2025-05-14T14:00:00+02:00\",\"updatedAt\":\"2025-05-14t07:30:00.1-04:30\","
              "\"startedAt\":\"2024-02-29T00:00:00z\"}",
              0, &err);
    FW_REQUIRE(m != NULL);
    s = (Framewright__V1__JobStats *)m;
    FW_CHECK_INT(s->created_at->seconds, 1747224000);
    FW_CHECK_INT(s->updated_at->seconds, 1747224000);
    FW_CHECK_INT(s->updated_at->nanos, 100000000);
    out = format(m, 0);
    FW_CHECK_STR(out, "{\"createdAt\":\"2025-05-14T12:00:00.000Z\",\"updatedAt\":\"2025-05-14T12:00:00.100Z\","
                      "\"startedAt\":\"2024-02-29T00:00:00.000Z\"}");
    free(out);
    fw_pbjson_message_free(&m);
}

static void test_bad_timestamps_are_refused_with_the_field(void)
{
    static const char *const bad[] = {
        "2025-13-01T00:00:00Z",     "2025-02-29T00:00:00Z",      "2025-05-14 12:00:00Z",
        "2025-05-14T12:00:00",      "2025-05-14T24:00:00Z",      "2025-05-14T12:00:00.Z",
        "2025-05-14T12:00:00.1234567890Z", "0000-12-31T00:00:00Z", "2025-05-14T12:00:00+2:00",
        "yesterday",                "",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128];
        fw_error err;
        snprintf(text, sizeof(text), "{\"stats\":{\"startedAt\":\"%s\"}}", bad[i]);
        FW_CHECK_MSG(parse_error(&framewright__v1__job__descriptor, text, &err) == FW_ERR_INVALID, "%s", bad[i]);
        FW_CHECK_STR(err.field, "stats.startedAt");
        FW_CHECK_CONTAINS(err.message, "RFC 3339");
    }
    {
        fw_error err;
        FW_CHECK_INT(parse_error(&framewright__v1__job__descriptor, "{\"stats\":{\"startedAt\":1700000000}}", &err),
                     FW_ERR_INVALID);
        FW_CHECK_CONTAINS(err.message, "got a number");
    }
}

static void test_wrappers_are_plain_values_or_null(void)
{
    fw_error err;
    Framewright__V1__Job *job;
    ProtobufCMessage *m;
    char *out;

    m = check_canonical(&framewright__v1__job__descriptor,
                        "{\"id\":\"01JTRDF7HCR8QAHYW8GPCP4S9Y\",\"templateId\":\"\",\"status\":\"queued\",\"progress\":"
                        "12.5,\"stats\":{\"createdAt\":\"2025-05-14T12:00:00.000Z\",\"totalAssets\":3,"
                        "\"renderDuration\":0,\"error\":\"boom\"},\"outputUrl\":\"https://o.example.com/x.mp4\"}",
                        0);
    FW_REQUIRE(m != NULL);
    job = (Framewright__V1__Job *)m;
    /* a wrapper holding the default value is still set, unlike a plain field */
    FW_REQUIRE(job->template_id != NULL);
    FW_CHECK_STR(job->template_id->value, "");
    FW_REQUIRE(job->stats->render_duration != NULL);
    FW_CHECK_NEAR(job->stats->render_duration->value, 0, 0);
    FW_CHECK_STR(job->stats->error->value, "boom");
    FW_CHECK_STR(job->output_url->value, "https://o.example.com/x.mp4");
    FW_CHECK_NEAR(job->progress, 12.5, 0);
    fw_pbjson_message_free(&m);

    m = parse(&framewright__v1__job__descriptor, "{\"id\":\"J\",\"outputUrl\":null,\"progress\":100}", 0, &err);
    FW_REQUIRE(m != NULL);
    FW_CHECK(((Framewright__V1__Job *)m)->output_url == NULL);
    out = format(m, 0);
    FW_CHECK_STR(out, "{\"id\":\"J\",\"progress\":100}");
    free(out);
    out = format(m, FW_PBJSON_NULL_WRAPPERS);
    FW_CHECK_STR(out, "{\"id\":\"J\",\"templateId\":null,\"progress\":100,\"outputUrl\":null}");
    free(out);
    out = format(m, FW_PBJSON_EMIT_DEFAULTS);
    FW_CHECK_STR(out, "{\"id\":\"J\",\"status\":\"\",\"progress\":100,\"children\":[],\"missingFonts\":[],"
                      "\"parentId\":\"\",\"batchId\":\"\",\"fontSubstitutes\":[],\"templateVersion\":0}");
    free(out);
    fw_pbjson_message_free(&m);

    /* Int32Value: 0 is kept when set */
    m = check_canonical(&framewright__v1__layer__descriptor, "{\"name\":\"a\",\"parent\":0}", 0);
    FW_REQUIRE(m != NULL);
    FW_REQUIRE(((Framewright__V1__Layer *)m)->parent != NULL);
    FW_CHECK_INT(((Framewright__V1__Layer *)m)->parent->value, 0);
    fw_pbjson_message_free(&m);

    FW_CHECK_INT(parse_error(&framewright__v1__job__descriptor, "{\"outputUrl\":{\"value\":\"x\"}}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "outputUrl");
    FW_CHECK_CONTAINS(err.message, "expected a string");
}

static void test_maps_are_objects_with_converted_keys(void)
{
    fw_error err;
    Framewright__V1__Batch *b;
    ProtobufCMessage *m;

    m = check_canonical(&framewright__v1__batch__descriptor,
                        "{\"id\":\"B\",\"counts\":{\"queued\":3,\"finished\":0,\"error\":-1}}", 0);
    FW_REQUIRE(m != NULL);
    b = (Framewright__V1__Batch *)m;
    FW_REQUIRE(b->n_counts == 3);
    FW_CHECK_STR(b->counts[0]->key, "queued");
    FW_CHECK_INT(b->counts[0]->value, 3);
    FW_CHECK_INT(b->counts[2]->value, -1);
    fw_pbjson_message_free(&m);

    FW_CHECK_INT(parse_error(&framewright__v1__job_request__descriptor,
                             "{\"webhook\":{\"headers\":{\"Accept\":\"a\",\"X\":5}}}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "webhook.headers.X");
    FW_CHECK_CONTAINS(err.message, "expected a string, got a number");

    FW_CHECK_INT(parse_error(&framewright__v1__batch__descriptor, "{\"counts\":{\"queued\":\"many\"}}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "counts.queued");

    FW_CHECK_INT(parse_error(&framewright__v1__job_request__descriptor, "{\"webhook\":{\"headers\":{\"X\":null}}}",
                             &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "webhook.headers.X");

    FW_CHECK_INT(parse_error(&framewright__v1__job_request__descriptor, "{\"webhook\":{\"headers\":[]}}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "webhook.headers");
}

static void test_int64_is_a_string_and_integers_are_checked(void)
{
    fw_error err;
    ProtobufCMessage *m;
    char *out;

    m = check_canonical(&framewright__v1__font__descriptor, "{\"id\":\"F\",\"size\":\"9007199254740993\"}", 0);
    FW_REQUIRE(m != NULL);
    FW_CHECK_INT(((Framewright__V1__Font *)m)->size, 9007199254740993LL);
    fw_pbjson_message_free(&m);

    m = check_canonical(&framewright__v1__font__descriptor, "{\"size\":\"-9223372036854775808\"}", 0);
    FW_REQUIRE(m != NULL);
    FW_CHECK(((Framewright__V1__Font *)m)->size == INT64_MIN);
    fw_pbjson_message_free(&m);

    /* numbers, numeric strings and whole reals are accepted */
    m = parse(&framewright__v1__font__descriptor, "{\"size\":12345678901234}", 0, &err);
    FW_REQUIRE(m != NULL);
    out = format(m, 0);
    FW_CHECK_STR(out, "{\"size\":\"12345678901234\"}");
    free(out);
    fw_pbjson_message_free(&m);
    m = parse(&framewright__v1__font__descriptor, "{\"size\":\"1e3\"}", 0, &err);
    FW_REQUIRE(m != NULL);
    FW_CHECK_INT(((Framewright__V1__Font *)m)->size, 1000);
    fw_pbjson_message_free(&m);
    m = parse(&framewright__v1__list_jobs_request__descriptor, "{\"pageSize\":\"42\"}", 0, &err);
    FW_REQUIRE(m != NULL);
    FW_CHECK_INT(((Framewright__V1__ListJobsRequest *)m)->page_size, 42);
    fw_pbjson_message_free(&m);
    m = parse(&framewright__v1__list_jobs_request__descriptor, "{\"page_size\":42.0}", 0, &err);
    FW_REQUIRE(m != NULL);
    FW_CHECK_INT(((Framewright__V1__ListJobsRequest *)m)->page_size, 42);
    fw_pbjson_message_free(&m);

    FW_CHECK_INT(parse_error(&framewright__v1__list_jobs_request__descriptor, "{\"pageSize\":3000000000}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "pageSize");
    FW_CHECK_CONTAINS(err.message, "3000000000 is out of range for int32");
    FW_CHECK_INT(parse_error(&framewright__v1__list_jobs_request__descriptor, "{\"pageSize\":\"-2147483649\"}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "out of range");
    FW_CHECK_INT(parse_error(&framewright__v1__list_jobs_request__descriptor, "{\"pageSize\":1.5}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "not an integer");
    FW_CHECK_INT(parse_error(&framewright__v1__font__descriptor, "{\"size\":\"9223372036854775808\"}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "size");
    FW_CHECK_CONTAINS(err.message, "out of range for int64");
    FW_CHECK_INT(parse_error(&framewright__v1__font__descriptor, "{\"size\":\"12abc\"}", &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "expected an int64");
    FW_CHECK_INT(parse_error(&framewright__v1__font__descriptor, "{\"size\":\"0x10\"}", &err), FW_ERR_INVALID);
    FW_CHECK_INT(parse_error(&framewright__v1__font__descriptor, "{\"size\":true}", &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "got a boolean");
}

static void test_doubles_take_nan_and_infinity(void)
{
    fw_error err;
    ProtobufCMessage *m;
    Framewright__V1__Composition *c;

    m = check_canonical(&framewright__v1__composition__descriptor,
                        "{\"name\":\"main\",\"width\":1920,\"height\":1080,\"fps\":29.97,\"duration\":\"NaN\","
                        "\"frames\":-5}",
                        0);
    FW_REQUIRE(m != NULL);
    c = (Framewright__V1__Composition *)m;
    FW_CHECK_NEAR(c->fps, 29.97, 0);
    FW_CHECK(isnan(c->duration));
    fw_pbjson_message_free(&m);
    m = check_canonical(&framewright__v1__composition__descriptor, "{\"fps\":\"Infinity\",\"duration\":\"-Infinity\"}",
                        0);
    FW_REQUIRE(m != NULL);
    FW_CHECK(isinf(((Framewright__V1__Composition *)m)->fps));
    fw_pbjson_message_free(&m);
    m = parse(&framewright__v1__composition__descriptor, "{\"fps\":\"25\"}", 0, &err);
    FW_REQUIRE(m != NULL);
    FW_CHECK_NEAR(((Framewright__V1__Composition *)m)->fps, 25, 0);
    fw_pbjson_message_free(&m);
    FW_CHECK_INT(parse_error(&framewright__v1__composition__descriptor, "{\"fps\":\"fast\"}", &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "fps");
    FW_CHECK_INT(parse_error(&framewright__v1__composition__descriptor, "{\"fps\":\"1e999\"}", &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "out of range");
}

static void test_bytes_are_base64(void)
{
    static const uint8_t data[] = {0, 1, 2, 0xfb, 0xff};
    static const char *const spellings[] = {"AAEC+/8=", "AAEC+/8", "AAEC-_8=", "AAEC-_8"};
    Framewright__V1__UploadFontRequest req = FRAMEWRIGHT__V1__UPLOAD_FONT_REQUEST__INIT;
    fw_error err;
    char *out;
    size_t i;

    req.file_name = "a.ttf";
    req.data.data = (uint8_t *)data;
    req.data.len = sizeof(data);
    out = format(&req.base, 0);
    FW_CHECK_STR(out, "{\"fileName\":\"a.ttf\",\"data\":\"AAEC+/8=\"}");
    free(out);
    for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        char text[64];
        ProtobufCMessage *m;
        Framewright__V1__UploadFontRequest *r;
        snprintf(text, sizeof(text), "{\"data\":\"%s\"}", spellings[i]);
        m = parse(&framewright__v1__upload_font_request__descriptor, text, 0, &err);
        FW_REQUIRE(m != NULL);
        r = (Framewright__V1__UploadFontRequest *)m;
        FW_CHECK_INT(r->data.len, sizeof(data));
        FW_CHECK(r->data.len == sizeof(data) && memcmp(r->data.data, data, sizeof(data)) == 0);
        fw_pbjson_message_free(&m);
    }
    FW_CHECK_INT(parse_error(&framewright__v1__upload_font_request__descriptor, "{\"data\":\"AAEC*/8=\"}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "data");
    FW_CHECK_CONTAINS(err.message, "base64");
    FW_CHECK_INT(parse_error(&framewright__v1__upload_font_request__descriptor, "{\"data\":\"A\"}", &err),
                 FW_ERR_INVALID);
}

/* The job from Nexrender Cloud's quick start (POST /jobs). */
static void test_nexrender_quick_start_job_parses(void)
{
    const char *text = "{\n"
                       "    \"template\": {\n"
                       "      \"id\": \"01JTGM9GCR71JV7EJYDF45QAFD\",\n"
                       "      \"composition\": \"main\"\n"
                       "    },\n"
                       "    \"assets\": [\n"
                       "      {\n"
                       "        \"type\": \"text\",\n"
                       "        \"layerName\": \"title\",\n"
                       "        \"value\": \"Hello World!\"\n"
                       "      }\n"
                       "    ]\n"
                       "  }";
    fw_error err;
    ProtobufCMessage *m = parse(&framewright__v1__job_request__descriptor, text, 0, &err);
    Framewright__V1__JobRequest *r = (Framewright__V1__JobRequest *)m;
    char *out;

    FW_REQUIRE(m != NULL);
    FW_CHECK_STR(r->template_->id, "01JTGM9GCR71JV7EJYDF45QAFD");
    FW_CHECK_STR(r->template_->composition, "main");
    FW_CHECK_STR(r->template_->src, "");
    FW_REQUIRE(r->n_assets == 1);
    FW_CHECK_STR(r->assets[0]->type, "text");
    FW_CHECK_STR(r->assets[0]->layer_name, "title");
    FW_CHECK_INT(r->assets[0]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
    FW_CHECK_STR(r->assets[0]->value->string_value, "Hello World!");
    FW_CHECK(!r->preview);
    FW_CHECK(r->settings == NULL);
    out = format(m, 0);
    FW_CHECK_STR(out, "{\"template\":{\"id\":\"01JTGM9GCR71JV7EJYDF45QAFD\",\"composition\":\"main\"},\"assets\":"
                      "[{\"type\":\"text\",\"layerName\":\"title\",\"value\":\"Hello World!\"}]}");
    free(out);
    fw_pbjson_message_free(&m);
}

/* The full request body of Nexrender Cloud's "Create new job" reference. */
static void test_nexrender_create_job_reference_body_parses(void)
{
    const char *text = "{\"template\":{\"id\":\"<string>\",\"src\":\"<string>\",\"composition\":\"<string>\"},"
                       "\"preview\":false,\"fonts\":[],\"assets\":[],"
                       "\"settings\":{\"type\":\"video\",\"frames\":1,\"quality\":\"draft\",\"codec\":\"<string>\"},"
                       "\"upload\":{\"prefix\":\"<string>\",\"outputUrl\":\"<string>\",\"provider\":\"s3\","
                       "\"params\":{\"endpoint\":\"https://s3.amazonaws.com\",\"region\":\"<string>\","
                       "\"bucket\":\"<string>\",\"acl\":\"<string>\",\"accessKeyId\":\"<string>\","
                       "\"accessKeySecret\":\"<string>\"}},"
                       "\"webhook\":{\"url\":\"<string>\",\"method\":\"POST\",\"headers\":{},\"data\":{},"
                       "\"custom\":false}}";
    fw_error err;
    ProtobufCMessage *m = parse(&framewright__v1__job_request__descriptor, text, 0, &err);
    Framewright__V1__JobRequest *r = (Framewright__V1__JobRequest *)m;

    FW_REQUIRE(m != NULL);
    FW_CHECK_STR(r->settings->type, "video");
    FW_CHECK_INT(r->settings->frames->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);
    FW_CHECK_NEAR(r->settings->frames->number_value, 1, 0);
    FW_CHECK_STR(r->upload->provider, "s3");
    FW_CHECK_STR(r->upload->params->endpoint, "https://s3.amazonaws.com");
    FW_CHECK_STR(r->webhook->method, "POST");
    FW_CHECK_INT(r->webhook->n_headers, 0);
    FW_REQUIRE(r->webhook->data != NULL);
    FW_CHECK_INT(r->webhook->data->n_fields, 0);
    FW_CHECK_INT(r->n_assets, 0);
    fw_pbjson_message_free(&m);
}

static void test_unknown_field_names_the_path_and_suggests(void)
{
    const char *text = "{\"assets\":[{\"type\":\"text\"},{\"type\":\"data\"},"
                       "{\"type\":\"text\",\"layerNmae\":\"title\",\"value\":\"x\"}]}";
    fw_error err;
    ProtobufCMessage *m;
    char buf[1024];

    FW_CHECK_INT(parse_error(&framewright__v1__job_request__descriptor, text, &err), FW_ERR_INVALID);
    FW_CHECK_INT(err.code, FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[2].layerNmae");
    FW_CHECK_STR(err.message, "unknown field; did you mean layerName?");
    FW_CHECK_STR(fw_error_text(&err, buf, sizeof(buf)), "assets[2].layerNmae: unknown field; did you mean layerName?");

    /* snake_case misspellings find the camelCase name too */
    FW_CHECK_INT(parse_error(&framewright__v1__upload__descriptor, "{\"params\":{\"acces_key_id\":\"k\"}}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "params.acces_key_id");
    FW_CHECK_CONTAINS(err.message, "did you mean accessKeyId?");

    FW_CHECK_INT(parse_error(&framewright__v1__job_request__descriptor, "{\"colour\":1}", &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "colour");
    FW_CHECK_CONTAINS(err.message, "unknown field (JobRequest has no field of that name)");

    m = parse(&framewright__v1__job_request__descriptor, text, FW_PBJSON_IGNORE_UNKNOWN, &err);
    FW_REQUIRE(m != NULL);
    FW_CHECK_STR(((Framewright__V1__JobRequest *)m)->assets[2]->layer_name, "");
    FW_CHECK_STR(((Framewright__V1__JobRequest *)m)->assets[2]->value->string_value, "x");
    fw_pbjson_message_free(&m);
}

static void test_wrong_types_say_what_was_expected(void)
{
    static const struct {
        const char *text, *field, *message;
    } cases[] = {
        {"{\"preview\":\"yes\"}", "preview", "expected true or false, got a string"},
        {"{\"fonts\":\"Inter.ttf\"}", "fonts", "expected an array, got a string"},
        {"{\"fonts\":[\"a\",7]}", "fonts[1]", "expected a string, got a number"},
        {"{\"fonts\":[null]}", "fonts[0]", "null is not allowed in a list"},
        {"{\"template\":\"T1\"}", "template", "expected an object, got a string"},
        {"{\"assets\":[{\"layerName\":[\"a\"]}]}", "assets[0].layerName", "expected a string, got an array"},
        {"{\"webhook\":{\"data\":[1]}}", "webhook.data", "expected an object, got an array"},
        {"{\"assets\":[{\"params\":7}]}", "assets[0].params", "expected an object, got a number"},
        {"{\"assets\":[{\"layerName\":\"a\",\"layer_name\":\"b\"}]}", "assets[0].layerName", "given twice"},
        {"[]", "", "expected an object, got an array"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_error err;
        FW_CHECK_MSG(parse_error(&framewright__v1__job_request__descriptor, cases[i].text, &err) == FW_ERR_INVALID,
                     "%s", cases[i].text);
        FW_CHECK_STR(err.field, cases[i].field);
        FW_CHECK_CONTAINS(err.message, cases[i].message);
    }
}

static void test_null_means_default(void)
{
    fw_error err;
    ProtobufCMessage *m = parse(&framewright__v1__job_request__descriptor,
                                "{\"template\":null,\"preview\":null,\"fonts\":null,\"assets\":[{\"type\":null,"
                                "\"value\":null}],\"webhook\":{\"headers\":null}}",
                                0, &err);
    Framewright__V1__JobRequest *r = (Framewright__V1__JobRequest *)m;
    char *out;

    FW_REQUIRE(m != NULL);
    FW_CHECK(r->template_ == NULL);
    FW_CHECK_INT(r->n_fonts, 0);
    FW_CHECK_STR(r->assets[0]->type, "");
    /* a Value field keeps null as a value: {"value": null} clears a property */
    FW_REQUIRE(r->assets[0]->value != NULL);
    FW_CHECK_INT(r->assets[0]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    out = format(m, 0);
    FW_CHECK_STR(out, "{\"assets\":[{\"value\":null}],\"webhook\":{}}");
    free(out);
    fw_pbjson_message_free(&m);
}

static void test_too_deep_input_is_refused(void)
{
    char text[8192];
    size_t n = 0;
    int i;
    fw_error err;
    ProtobufCMessage *m;

    /* Value nested arrays: 100 levels */
    n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"value\":");
    for (i = 0; i < 100; i++)
        text[n++] = '[';
    for (i = 0; i < 100; i++)
        text[n++] = ']';
    text[n++] = '}';
    text[n] = '\0';
    FW_CHECK_INT(parse_error(&framewright__v1__asset__descriptor, text, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "nested too deeply");
    FW_CHECK_CONTAINS(err.field, "value[0][0][0]");

    /* nested job assets: 40 levels of {"assets":[ ... ]} */
    n = 0;
    for (i = 0; i < 40; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"assets\":[");
    text[n++] = '{';
    text[n++] = '}';
    for (i = 0; i < 40; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "]}");
    FW_CHECK_INT(parse_error(&framewright__v1__job_request__descriptor, text, &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "nested too deeply");
    FW_CHECK_CONTAINS(err.field, "assets[0].assets[0]");

    /* ten levels are fine */
    n = 0;
    for (i = 0; i < 10; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"assets\":[");
    text[n++] = '{';
    text[n++] = '}';
    for (i = 0; i < 10; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "]}");
    text[n] = '\0';
    m = check_canonical(&framewright__v1__job_request__descriptor, text, 0);
    FW_CHECK(m != NULL);
    fw_pbjson_message_free(&m);
}

static void test_text_that_is_not_json_is_refused(void)
{
    fw_error err;
    FW_CHECK_INT(parse_error(&framewright__v1__job_request__descriptor, "{\"template\":", &err), FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "not valid JSON");
    FW_CHECK_INT(parse_error(&framewright__v1__job_request__descriptor, "{\"preview\":true,\"preview\":false}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_CONTAINS(err.message, "duplicate");
    FW_CHECK_INT(parse_error(&framewright__v1__job_request__descriptor, "{\"fonts\":[\"a\\u0000b\"]}", &err),
                 FW_ERR_INVALID);
    FW_CHECK_INT(parse_error(&framewright__v1__job_request__descriptor, "{\"fonts\":[\"\xff\"]}", &err),
                 FW_ERR_INVALID);
}

static void test_strings_that_are_not_utf8_are_not_written(void)
{
    Framewright__V1__JobTemplate t = FRAMEWRIGHT__V1__JOB_TEMPLATE__INIT;
    json_t *j = NULL;
    fw_error err;

    t.id = "bad\xc3";
    FW_CHECK_INT(fw_pbjson_from_message(&t.base, 0, &j, &err), FW_ERR_INVALID);
    FW_CHECK(j == NULL);
    FW_CHECK_STR(err.field, "id");
    FW_CHECK_CONTAINS(err.message, "UTF-8");
}

static void test_pretty_text_is_indented(void)
{
    fw_error err;
    ProtobufCMessage *m = parse(&framewright__v1__job_request__descriptor,
                                "{\"template\":{\"id\":\"T\"},\"fonts\":[\"a\\\"b\"],\"assets\":[],"
                                "\"webhook\":{\"data\":{\"x\":[]}}}",
                                0, &err);
    char *out;

    FW_REQUIRE(m != NULL);
    out = format(m, FW_PBJSON_PRETTY);
    FW_CHECK_STR(out, "{\n  \"template\": {\n    \"id\": \"T\"\n  },\n  \"fonts\": [\n    \"a\\\"b\"\n  ],\n"
                      "  \"webhook\": {\n    \"data\": {\n      \"x\": []\n    }\n  }\n}");
    free(out);
    fw_pbjson_message_free(&m);
}

static void test_json_values_convert_without_text(void)
{
    json_t *in = json_pack("{s:{s:s}, s:[{s:s, s:i}]}", "template", "id", "T", "assets", "type", "data", "value", 7);
    ProtobufCMessage *m = NULL;
    json_t *out = NULL;
    fw_error err;

    FW_REQUIRE(in != NULL);
    FW_CHECK_INT(fw_pbjson_to_message(&framewright__v1__job_request__descriptor, in, 0, &m, &err), FW_OK);
    FW_REQUIRE(m != NULL);
    FW_CHECK_INT(fw_pbjson_from_message(m, 0, &out, &err), FW_OK);
    FW_CHECK(out != NULL && json_equal(in, out));
    json_decref(in);
    json_decref(out);
    fw_pbjson_message_free(&m);
}

int main(void)
{
    FW_RUN(test_job_request_with_every_asset_kind_round_trips);
    FW_RUN(test_proto_names_are_accepted_and_can_be_written);
    FW_RUN(test_value_carries_every_json_kind);
    FW_RUN(test_value_kinds_land_in_the_right_members);
    FW_RUN(test_timestamps_are_rfc3339);
    FW_RUN(test_bad_timestamps_are_refused_with_the_field);
    FW_RUN(test_wrappers_are_plain_values_or_null);
    FW_RUN(test_maps_are_objects_with_converted_keys);
    FW_RUN(test_int64_is_a_string_and_integers_are_checked);
    FW_RUN(test_doubles_take_nan_and_infinity);
    FW_RUN(test_bytes_are_base64);
    FW_RUN(test_nexrender_quick_start_job_parses);
    FW_RUN(test_nexrender_create_job_reference_body_parses);
    FW_RUN(test_unknown_field_names_the_path_and_suggests);
    FW_RUN(test_wrong_types_say_what_was_expected);
    FW_RUN(test_null_means_default);
    FW_RUN(test_too_deep_input_is_refused);
    FW_RUN(test_text_that_is_not_json_is_refused);
    FW_RUN(test_strings_that_are_not_utf8_are_not_written);
    FW_RUN(test_pretty_text_is_indented);
    FW_RUN(test_json_values_convert_without_text);
    return fw_test_end();
}
