/* The job checker: what a valid job resolves to, and that every mistake is
 * named by its field. */
#include <string.h>

#include "server/jobs/job.h"
#include "tests/fw_test.h"

static fw_err parse(const char *text, fw_job_spec **job, fw_error *err)
{
    fw_error_clear(err);
    return fw_job_parse(job, text, strlen(text), err);
}

/* Expect the job to be refused with this field and a message containing `words`. */
#define CHECK_REFUSED(text, field_, words)                                                                     \
    do {                                                                                                       \
        fw_job_spec *job_ = NULL;                                                                              \
        fw_error err_;                                                                                         \
        FW_CHECK(parse(text, &job_, &err_) != FW_OK);                                                          \
        FW_CHECK(job_ == NULL);                                                                                \
        FW_CHECK_STR(err_.field, field_);                                                                      \
        FW_CHECK_CONTAINS(err_.message, words);                                                                \
    } while (0)

static void test_quickstart_job_resolves_template_assets_and_defaults(void)
{
    fw_job_spec *job = NULL;
    fw_error err;
    FW_REQUIRE(parse("{\"template\":{\"id\":\"01JTGM9GCR71JV7EJYDF45QAFD\",\"composition\":\"main\"},"
                     "\"assets\":[{\"type\":\"text\",\"layerName\":\"title\",\"value\":\"Hello World!\"}]}",
                     &job, &err) == FW_OK);
    FW_CHECK_STR(job->template_id, "01JTGM9GCR71JV7EJYDF45QAFD");
    FW_CHECK(job->template_src == NULL);
    FW_CHECK_STR(job->composition, "main");
    FW_CHECK_INT(json_array_size(job->assets), 1);
    FW_CHECK_INT(json_array_size(job->fonts), 0);
    FW_CHECK_INT(job->settings.type, FW_OUTPUT_VIDEO);
    FW_CHECK_STR(job->settings.codec, "");
    FW_CHECK_INT(job->settings.frame_start, -1);
    FW_CHECK(!job->settings.preview && !job->settings.draft);
    fw_job_spec_free(&job);
    FW_CHECK(job == NULL);
}

static void test_settings_frames_range_quality_codec_and_preview(void)
{
    fw_job_spec *job = NULL;
    fw_error err;
    FW_REQUIRE(parse("{\"template\":{\"src\":\"t.json\"},\"preview\":true,"
                     "\"settings\":{\"type\":\"image\",\"frames\":[10,20],\"quality\":\"draft\",\"codec\":\"png\"}}",
                     &job, &err) == FW_OK);
    FW_CHECK_INT(job->settings.type, FW_OUTPUT_IMAGE);
    FW_CHECK_INT(job->settings.frame_start, 10);
    FW_CHECK_INT(job->settings.frame_end, 20);
    FW_CHECK(job->settings.draft);
    FW_CHECK(job->settings.preview);
    FW_CHECK_STR(job->settings.codec, "png");
    FW_CHECK(job->composition == NULL);
    fw_job_spec_free(&job);

    FW_REQUIRE(parse("{\"template\":{\"src\":\"t.json\"},\"settings\":{\"type\":\"image\",\"frames\":7}}", &job,
                     &err) == FW_OK);
    FW_CHECK_INT(job->settings.frame_start, 7);
    FW_CHECK_INT(job->settings.frame_end, 7);
    FW_CHECK_INT(job->settings.chunks, 0);
    fw_job_spec_free(&job);

    FW_REQUIRE(parse("{\"template\":{\"src\":\"t.json\"},\"settings\":{\"chunks\":12}}", &job, &err) == FW_OK);
    FW_CHECK_INT(job->settings.chunks, 12);
    fw_job_spec_free(&job);
}

static void test_nested_job_assets_are_checked_recursively(void)
{
    fw_job_spec *job = NULL;
    fw_error err;
    FW_CHECK(parse("{\"template\":{\"id\":\"P\",\"composition\":\"main\"},\"assets\":[{\"type\":\"job\","
                   "\"layerName\":\"PrecompLayer\",\"template\":{\"id\":\"C\",\"composition\":\"lower-third\"},"
                   "\"assets\":[{\"type\":\"text\",\"layerName\":\"name\",\"value\":\"Jane Smith\"}]}]}",
                   &job, &err) == FW_OK);
    fw_job_spec_free(&job);
    CHECK_REFUSED("{\"template\":{\"id\":\"P\"},\"assets\":[{\"type\":\"job\",\"layerName\":\"L\","
                  "\"template\":{\"id\":\"C\"},\"assets\":[{\"type\":\"text\",\"layerName\":\"name\"}]}]}",
                  "assets[0].assets[0].value", "required");
}

static void test_every_mistake_names_its_field(void)
{
    CHECK_REFUSED("[1,2]", "", "JSON object");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"", "", "not valid JSON");
    CHECK_REFUSED("{\"assets\":[]}", "template", "required");
    CHECK_REFUSED("{\"template\":{\"composition\":\"main\"}}", "template", "id or a src");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"asets\":[]}", "", "did you mean 'assets'");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"assets\":[{\"type\":\"text\",\"layername\":\"t\",\"value\":\"v\"}]}",
                  "", "did you mean 'layerName'");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"assets\":[{\"type\":\"picture\",\"src\":\"a.png\"}]}",
                  "assets[0].type", "not an asset type");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"assets\":[{\"type\":\"image\",\"layerName\":\"logo\"}]}",
                  "assets[0].src", "required");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"assets\":[{\"type\":\"data\",\"layerName\":\"l\",\"value\":1}]}",
                  "assets[0].property", "required");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"assets\":[{\"type\":\"image\",\"layerName\":\"l\",\"src\":\"a.png\","
                  "\"fit\":\"squash\"}]}",
                  "assets[0].fit", "not one of");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"settings\":{\"type\":\"movie\"}}", "settings.type", "not one of");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"settings\":{\"quality\":\"best\"}}", "settings.quality",
                  "not one of");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"settings\":{\"frames\":[20,10]}}", "settings.frames", "start <= end");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"settings\":{\"frames\":-3}}", "settings.frames", "out of range");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"settings\":{\"fps\":30}}", "", "unknown field 'fps'");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"settings\":{\"chunks\":-1}}", "settings.chunks", "whole number");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"settings\":{\"chunks\":1001}}", "settings.chunks", "to 1000");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"settings\":{\"chunks\":2.5}}", "settings.chunks", "whole number");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"fonts\":[\"a.ttf\",3]}", "fonts[1]", "font file name");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"webhook\":{\"url\":\"ftp://x\"}}", "webhook.url", "http(s)");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"webhook\":{\"url\":\"https://x\",\"method\":\"PATCH\"}}",
                  "webhook.method", "not one of");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"webhook\":{\"url\":\"https://x\",\"headers\":{\"X-A\":1}}}",
                  "webhook.headers.X-A", "string");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"upload\":{\"provider\":\"s3\",\"params\":{\"region\":\"eu\"}}}",
                  "upload.params.bucket", "required");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"preview\":\"yes\"}", "preview", "true or false");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"assets\":[{\"type\":\"script\"}]}", "assets[0].src",
                  "or the code in 'value'");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"assets\":[{\"type\":\"script\",\"value\":\"var a;\\nvar = 1;\"}]}",
                  "assets[0].value", "does not compile: SyntaxError");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"assets\":[{\"type\":\"script\",\"value\":\"var a;\\nvar = 1;\"}]}",
                  "assets[0].value", "line 2");
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"assets\":[{\"type\":\"script\",\"value\":\"x()\","
                  "\"parameters\":[{\"value\":1}]}]}",
                  "assets[0].parameters[0].key", "string");
}

static void test_duplicate_keys_are_refused(void)
{
    CHECK_REFUSED("{\"template\":{\"id\":\"x\"},\"template\":{\"id\":\"y\"}}", "", "not valid JSON");
}

static void test_deep_nesting_is_limited(void)
{
    char text[4096] = "{\"template\":{\"id\":\"x\"},\"assets\":[";
    for (int i = 0; i < 6; i++)
        strcat(text, "{\"type\":\"job\",\"layerName\":\"l\",\"template\":{\"id\":\"c\"},\"assets\":[");
    for (int i = 0; i < 6; i++)
        strcat(text, "]}");
    strcat(text, "]}");
    {
        fw_job_spec *job = NULL;
        fw_error err;
        FW_CHECK(parse(text, &job, &err) == FW_ERR_LIMIT);
        FW_CHECK_CONTAINS(err.message, "nest");
    }
}

int main(void)
{
    FW_RUN(test_quickstart_job_resolves_template_assets_and_defaults);
    FW_RUN(test_settings_frames_range_quality_codec_and_preview);
    FW_RUN(test_nested_job_assets_are_checked_recursively);
    FW_RUN(test_every_mistake_names_its_field);
    FW_RUN(test_duplicate_keys_are_refused);
    FW_RUN(test_deep_nesting_is_limited);
    return fw_test_end();
}
