/* SigV4 against AWS's published examples: the Signature Version 4 test
 * suite (get-vanilla family, credentials AKIDEXAMPLE, service "service") and
 * the S3 examples of the S3 API reference (GET object with Range, GET
 * lifecycle, list objects, and the presigned URL example). */
#include <stdlib.h>
#include <string.h>

#include "server/storage/sigv4.h"
#include "tests/fw_test.h"

static const fw_sigv4_credentials suite = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
                                           "service"};
static const fw_sigv4_credentials s3 = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                        "us-east-1", "s3"};
#define SUITE_DATE "20150830T123600Z"
#define S3_DATE "20130524T000000Z"

static void check_authorization(const fw_sigv4_credentials *c, const char *date, const char *method,
                                const char *path, const char *query, const fw_sigv4_header *headers, size_t count,
                                const char *payload_hash, const char *expected)
{
    fw_sigv4_request r = {method, path, query, headers, count, payload_hash};
    char *got = NULL;
    fw_error err;
    FW_CHECK(fw_sigv4_authorization(c, date, &r, &got, &err) == FW_OK);
    FW_CHECK_STR(got, expected);
    free(got);
}

static void test_get_vanilla_canonical_request_string_to_sign_and_signature(void)
{
    fw_sigv4_header h[] = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", SUITE_DATE}};
    fw_sigv4_request r = {"GET", "/", "", h, 2, FW_SIGV4_EMPTY_SHA256};
    char *signed_headers = NULL, *canonical = fw_sigv4_canonical_request(&r, &signed_headers), *to_sign;
    char signature[65];
    FW_REQUIRE(canonical);
    FW_CHECK_STR(canonical, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    FW_CHECK_STR(signed_headers, "host;x-amz-date");
    to_sign = fw_sigv4_string_to_sign(&suite, SUITE_DATE, canonical);
    FW_CHECK_STR(to_sign, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                          "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    fw_sigv4_signature(&suite, SUITE_DATE, to_sign, signature);
    FW_CHECK_STR(signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    free(canonical);
    free(signed_headers);
    free(to_sign);
}

static void test_suite_vectors_give_aws_authorization_headers(void)
{
    fw_sigv4_header h[] = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", SUITE_DATE}};
    fw_sigv4_header with_header[] = {{"Host", "example.amazonaws.com"}, {"My-Header1", "VALUE1"},
                                     {"X-Amz-Date", SUITE_DATE}};
    fw_sigv4_header trimmed[] = {{"Host", "example.amazonaws.com"}, {"My-Header1", " value1"},
                                 {"My-Header2", "\"a   b   c\""}, {"X-Amz-Date", SUITE_DATE}};
    const char *scope = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";
    char want[512];

    snprintf(want, sizeof(want), "%sSignedHeaders=host;x-amz-date, Signature="
             "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", scope);
    check_authorization(&suite, SUITE_DATE, "GET", "/", NULL, h, 2, FW_SIGV4_EMPTY_SHA256, want);
    /* get-vanilla-query-order-key-case: parameters are sorted */
    snprintf(want, sizeof(want), "%sSignedHeaders=host;x-amz-date, Signature="
             "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", scope);
    check_authorization(&suite, SUITE_DATE, "GET", "/", "Param2=value2&Param1=value1", h, 2, FW_SIGV4_EMPTY_SHA256,
                        want);
    /* post-vanilla */
    snprintf(want, sizeof(want), "%sSignedHeaders=host;x-amz-date, Signature="
             "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b", scope);
    check_authorization(&suite, SUITE_DATE, "POST", "/", NULL, h, 2, FW_SIGV4_EMPTY_SHA256, want);
    /* get-unreserved: unreserved characters stay as they are */
    snprintf(want, sizeof(want), "%sSignedHeaders=host;x-amz-date, Signature="
             "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f", scope);
    check_authorization(&suite, SUITE_DATE, "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                        NULL, h, 2, FW_SIGV4_EMPTY_SHA256, want);
    /* post-header-value-case: names lower-cased, values kept */
    snprintf(want, sizeof(want), "%sSignedHeaders=host;my-header1;x-amz-date, Signature="
             "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d", scope);
    check_authorization(&suite, SUITE_DATE, "POST", "/", NULL, with_header, 3, FW_SIGV4_EMPTY_SHA256, want);
    /* get-header-value-trim: values trimmed, inner spaces collapsed */
    snprintf(want, sizeof(want), "%sSignedHeaders=host;my-header1;my-header2;x-amz-date, Signature="
             "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736", scope);
    check_authorization(&suite, SUITE_DATE, "GET", "/", NULL, trimmed, 4, FW_SIGV4_EMPTY_SHA256, want);
}

static void test_s3_examples_from_the_api_reference(void)
{
    fw_sigv4_header get_object[] = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
                                    {"x-amz-content-sha256", FW_SIGV4_EMPTY_SHA256}, {"x-amz-date", S3_DATE}};
    fw_sigv4_header bucket[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                                {"x-amz-content-sha256", FW_SIGV4_EMPTY_SHA256}, {"x-amz-date", S3_DATE}};
    const char *scope = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ";
    char want[512];

    snprintf(want, sizeof(want), "%sSignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature="
             "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", scope);
    check_authorization(&s3, S3_DATE, "GET", "/test.txt", NULL, get_object, 4, FW_SIGV4_EMPTY_SHA256, want);
    /* a query parameter without a value is signed as "lifecycle=" */
    snprintf(want, sizeof(want), "%sSignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
             "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543", scope);
    check_authorization(&s3, S3_DATE, "GET", "/", "lifecycle", bucket, 3, FW_SIGV4_EMPTY_SHA256, want);
    snprintf(want, sizeof(want), "%sSignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
             "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", scope);
    check_authorization(&s3, S3_DATE, "GET", "/", "max-keys=2&prefix=J", bucket, 3, FW_SIGV4_EMPTY_SHA256, want);
}

static void test_s3_presigned_url_example(void)
{
    char *query = NULL;
    fw_error err;
    FW_REQUIRE(fw_sigv4_presign_query(&s3, S3_DATE, "GET", "examplebucket.s3.amazonaws.com", "/test.txt", NULL, 86400,
                                      &query, &err) == FW_OK);
    FW_CHECK_STR(query, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1"
                        "%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    free(query);
    FW_CHECK(fw_sigv4_presign_query(&s3, S3_DATE, "GET", "h", "/k", NULL, 604801, &query, &err) == FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "expires_seconds");
    FW_CHECK(query == NULL);
}

static void test_uri_encoding_is_s3_style(void)
{
    char *a = fw_sigv4_uri_encode("outputs/a b+c~d$é.mp4", 1), *b = fw_sigv4_uri_encode("a/b=c", 0);
    FW_CHECK_STR(a, "outputs/a%20b%2Bc~d%24%C3%A9.mp4");
    FW_CHECK_STR(b, "a%2Fb%3Dc");
    free(a);
    free(b);
}

static void test_bad_date_is_refused(void)
{
    fw_sigv4_header h[] = {{"Host", "example.amazonaws.com"}};
    fw_sigv4_request r = {"GET", "/", NULL, h, 1, FW_SIGV4_EMPTY_SHA256};
    char *out = NULL;
    fw_error err;
    FW_CHECK(fw_sigv4_authorization(&suite, "2015-08-30", &r, &out, &err) == FW_ERR_INVALID);
    FW_CHECK(out == NULL);
    FW_CHECK_STR(err.field, "x-amz-date");
}

int main(void)
{
    FW_RUN(test_get_vanilla_canonical_request_string_to_sign_and_signature);
    FW_RUN(test_suite_vectors_give_aws_authorization_headers);
    FW_RUN(test_s3_examples_from_the_api_reference);
    FW_RUN(test_s3_presigned_url_example);
    FW_RUN(test_uri_encoding_is_s3_style);
    FW_RUN(test_bad_date_is_refused);
    return fw_test_end();
}
