/*
 * secrets_test.c - sealing team secrets and substituting ${secret.NAME}
 * placeholders, alone and over a real SQLite store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fw_test.h"
#include "server/secrets/secrets.h"
#include "server/store/store.h"

static const unsigned char key[FW_SECRETS_KEY_SIZE] = "0123456789abcdef0123456789abcdef";
static const char team[] = "01TEAMAAAAAAAAAAAAAAAAAAAA";

static void test_sealed_value_opens_to_the_same_text(void)
{
    char *sealed = NULL, *value = NULL, *again = NULL;
    fw_error err;

    FW_REQUIRE(fw_secrets_seal(key, team, "s3cr3t-Value/with+chars", &sealed, &err) == FW_OK);
    FW_CHECK(strncmp(sealed, "v1:", 3) == 0);
    FW_CHECK(strstr(sealed, "s3cr3t") == NULL);
    FW_REQUIRE(fw_secrets_open(key, team, sealed, &value, &err) == FW_OK);
    FW_CHECK_STR(value, "s3cr3t-Value/with+chars");
    /* A fresh nonce each time: the same value never seals to the same text. */
    FW_REQUIRE(fw_secrets_seal(key, team, "s3cr3t-Value/with+chars", &again, &err) == FW_OK);
    FW_CHECK(strcmp(sealed, again) != 0);
    fw_secret_free(&value);
    FW_CHECK(value == NULL);
    free(sealed);
    free(again);
}

static void test_empty_value_round_trips(void)
{
    char *sealed = NULL, *value = NULL;
    fw_error err;
    FW_REQUIRE(fw_secrets_seal(key, team, "", &sealed, &err) == FW_OK);
    FW_REQUIRE(fw_secrets_open(key, team, sealed, &value, &err) == FW_OK);
    FW_CHECK_STR(value, "");
    fw_secret_free(&value);
    free(sealed);
}

static void test_tampered_value_does_not_open(void)
{
    char *sealed = NULL, *value = NULL;
    fw_error err;
    size_t n;

    FW_REQUIRE(fw_secrets_seal(key, team, "hunter2hunter2", &sealed, &err) == FW_OK);
    n = strlen(sealed);
    for (size_t at = 3; at < n; at += 7) {
        char saved = sealed[at];
        sealed[at] = saved == '0' ? '1' : '0';
        FW_CHECK_INT(fw_secrets_open(key, team, sealed, &value, &err), FW_ERR_PERMISSION);
        FW_CHECK(value == NULL);
        FW_CHECK(strstr(err.message, "hunter2") == NULL);
        sealed[at] = saved;
    }
    sealed[n - 2] = '\0'; /* cut short */
    FW_CHECK_INT(fw_secrets_open(key, team, sealed, &value, &err), FW_ERR_PERMISSION);
    FW_CHECK_INT(fw_secrets_open(key, team, "plain text", &value, &err), FW_ERR_PERMISSION);
    FW_CHECK_INT(fw_secrets_open(key, team, "v1:zz", &value, &err), FW_ERR_PERMISSION);
    free(sealed);
}

static void test_other_team_or_key_cannot_open(void)
{
    unsigned char other_key[FW_SECRETS_KEY_SIZE];
    char *sealed = NULL, *value = NULL;
    fw_error err;

    memcpy(other_key, key, sizeof(other_key));
    other_key[31] ^= 1;
    FW_REQUIRE(fw_secrets_seal(key, team, "value", &sealed, &err) == FW_OK);
    FW_CHECK_INT(fw_secrets_open(key, "01OTHERTEAMAAAAAAAAAAAAAAA", sealed, &value, &err), FW_ERR_PERMISSION);
    FW_CHECK_CONTAINS(err.message, "cannot be opened");
    FW_CHECK_INT(fw_secrets_open(other_key, team, sealed, &value, &err), FW_ERR_PERMISSION);
    FW_CHECK(value == NULL);
    free(sealed);
}

static void test_secret_names(void)
{
    char long_name[200];
    FW_CHECK(fw_secret_name_valid("AWS_KEY_ID"));
    FW_CHECK(fw_secret_name_valid("_x1"));
    FW_CHECK(fw_secret_name_valid("a"));
    FW_CHECK(!fw_secret_name_valid(""));
    FW_CHECK(!fw_secret_name_valid("1abc"));
    FW_CHECK(!fw_secret_name_valid("a-b"));
    FW_CHECK(!fw_secret_name_valid("a.b"));
    memset(long_name, 'a', 128);
    long_name[128] = '\0';
    FW_CHECK(fw_secret_name_valid(long_name));
    long_name[128] = 'a';
    long_name[129] = '\0';
    FW_CHECK(!fw_secret_name_valid(long_name));
}

/* A lookup over a fixed table. */
static fw_err table_lookup(void *user, const char *name, char **value, fw_error *err)
{
    (void)user;
    (void)err;
    if (strcmp(name, "AWS_KEY_ID") == 0)
        *value = strdup("AKIAEXAMPLE");
    else if (strcmp(name, "AWS_KEY_SECRET") == 0)
        *value = strdup("wJalrXUtnFEMI/K7MDENG");
    else if (strcmp(name, "BRACES") == 0)
        *value = strdup("${secret.AWS_KEY_ID}");
    else
        return FW_ERR_NOT_FOUND;
    return FW_OK;
}

static void check_substitution(const char *in, const char *expected)
{
    char *out = NULL;
    fw_error err;
    fw_err rc = fw_secrets_substitute(in, table_lookup, NULL, &out, &err);
    FW_CHECK_MSG(rc == FW_OK, "%s: %s", in, err.message);
    if (rc == FW_OK)
        FW_CHECK_STR(out, expected);
    fw_secret_free(&out);
}

static void test_both_spellings_are_substituted(void)
{
    check_substitution("${secret.AWS_KEY_ID}", "AKIAEXAMPLE");
    check_substitution("${secrets.AWS_KEY_ID}", "AKIAEXAMPLE");
    check_substitution("id=${secrets.AWS_KEY_ID}&s=${secret.AWS_KEY_SECRET}!",
                       "id=AKIAEXAMPLE&s=wJalrXUtnFEMI/K7MDENG!");
    check_substitution("no placeholders at all", "no placeholders at all");
    check_substitution("", "");
    check_substitution("${other.X} and $secret.X and ${secretive}", "${other.X} and $secret.X and ${secretive}");
    /* A value is not itself searched for placeholders. */
    check_substitution("<${secret.BRACES}>", "<${secret.AWS_KEY_ID}>");
}

static void test_unknown_or_malformed_placeholder_is_an_error_and_nothing_leaks(void)
{
    const char *bad[] = {"${secret.AWS_KEY_ID}-${secret.NOPE}", "${secret.AWS_KEY_ID}${secrets.bad-name}",
                         "${secret.AWS_KEY_SECRET} ${secret.UNCLOSED", "${secret.}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = (char *)"sentinel";
        fw_error err;
        FW_CHECK_INT(fw_secrets_substitute(bad[i], table_lookup, NULL, &out, &err), FW_ERR_INVALID);
        FW_CHECK(out == NULL);
        FW_CHECK(strstr(err.message, "AKIAEXAMPLE") == NULL);
        FW_CHECK(strstr(err.message, "wJalrXUtnFEMI") == NULL);
    }
    {
        char *out = NULL;
        fw_error err;
        FW_CHECK_INT(fw_secrets_substitute("x ${secret.NOPE} y", table_lookup, NULL, &out, &err), FW_ERR_INVALID);
        FW_CHECK_STR(err.message, "no secret 'NOPE'");
    }
}

static void test_redaction(void)
{
    const char *values[] = {"AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG", "ab", "dact"};
    char buf[128];
    snprintf(buf, sizeof(buf), "S3 PUT failed: InvalidAccessKeyId: AKIAEXAMPLE (AKIAEXAMPLE) with wJalrXUtnFEMI/K7MDENG");
    fw_secrets_redact(buf, sizeof(buf), values, 4);
    FW_CHECK_STR(buf, "S3 PUT failed: InvalidAccessKeyId: [redacted] ([redacted]) with [redacted]");
    /* Near the end of a small buffer the text is cut rather than leaked. */
    char small[16];
    snprintf(small, sizeof(small), "key AKIAEXAMPLE");
    fw_secrets_redact(small, sizeof(small), values, 2);
    FW_CHECK(strstr(small, "AKIA") == NULL);
}

static void test_key_is_made_once_and_read_back(void)
{
    unsigned char a[FW_SECRETS_KEY_SIZE], b[FW_SECRETS_KEY_SIZE];
    const char *dir = fw_test_tmpdir();
    fw_error err;
    char path[512];

    unsetenv("FRAMEWRIGHT_SECRETS_KEY");
    FW_REQUIRE(fw_secrets_key_load(dir, a, &err) == FW_OK);
    FW_REQUIRE(fw_secrets_key_load(dir, b, &err) == FW_OK);
    FW_CHECK(memcmp(a, b, sizeof(a)) == 0);
    snprintf(path, sizeof(path), "%s/secrets.key", dir);
    FW_CHECK(access(path, R_OK) == 0);
    setenv("FRAMEWRIGHT_SECRETS_KEY", "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF", 1);
    FW_REQUIRE(fw_secrets_key_load(dir, b, &err) == FW_OK);
    FW_CHECK_INT(b[0], 0x00);
    FW_CHECK_INT(b[31], 0xff);
    setenv("FRAMEWRIGHT_SECRETS_KEY", "0011", 1);
    FW_CHECK_INT(fw_secrets_key_load(dir, b, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "FRAMEWRIGHT_SECRETS_KEY");
    FW_CHECK(strstr(err.message, "0011") == NULL);
    unsetenv("FRAMEWRIGHT_SECRETS_KEY");
}

static void test_resolve_and_check_over_the_store(void)
{
    char url[600], team_id[FW_ID_SIZE], other[FW_ID_SIZE], *out = NULL, *sealed = NULL;
    fw_store *store = NULL;
    fw_secret_row row, *rows = NULL;
    size_t count = 0;
    fw_error err;

    snprintf(url, sizeof(url), "%s/secrets.db", fw_test_tmpdir());
    FW_REQUIRE(fw_store_open(&store, url, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(store, "acme", team_id, &err) == FW_OK);
    FW_REQUIRE(fw_store_team_ensure(store, "other", other, &err) == FW_OK);

    memset(&row, 0, sizeof(row));
    snprintf(row.id, sizeof(row.id), "01SECRETAAAAAAAAAAAAAAAAAA");
    snprintf(row.team_id, sizeof(row.team_id), "%s", team_id);
    snprintf(row.name, sizeof(row.name), "AWS_KEY");
    FW_REQUIRE(fw_secrets_seal(key, team_id, "the-real-key-value", &sealed, &err) == FW_OK);
    row.ciphertext = sealed;
    FW_REQUIRE(fw_store_secret_insert(store, &row, &err) == FW_OK);
    snprintf(row.id, sizeof(row.id), "01SECRETBBBBBBBBBBBBBBBBBB");
    FW_CHECK_INT(fw_store_secret_insert(store, &row, &err), FW_ERR_ALREADY_EXISTS);
    FW_CHECK_STR(err.field, "name");

    FW_REQUIRE(fw_secrets_resolve(store, key, team_id, "k=${secrets.AWS_KEY}", &out, &err) == FW_OK);
    FW_CHECK_STR(out, "k=the-real-key-value");
    fw_secret_free(&out);
    FW_CHECK(fw_secrets_check(store, team_id, "${secret.AWS_KEY}", "upload.params.accessKeySecret", &err) == FW_OK);

    /* Another team sees no such secret. */
    FW_CHECK_INT(fw_secrets_check(store, other, "${secret.AWS_KEY}", "upload.params.accessKeySecret", &err),
                 FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "upload.params.accessKeySecret");
    FW_CHECK_STR(err.message, "no secret 'AWS_KEY'");
    FW_CHECK_INT(fw_secrets_resolve(store, key, other, "${secret.AWS_KEY}", &out, &err), FW_ERR_INVALID);
    FW_CHECK(out == NULL);

    FW_REQUIRE(fw_store_secret_list(store, team_id, &rows, &count, &err) == FW_OK);
    FW_CHECK_INT(count, 1);
    if (count == 1) {
        FW_CHECK_STR(rows[0].name, "AWS_KEY");
        FW_CHECK(rows[0].ciphertext == NULL);
    }
    fw_secret_rows_free(&rows, count);
    FW_CHECK_INT(fw_store_secret_delete(store, other, "AWS_KEY", &err), FW_ERR_NOT_FOUND);
    FW_CHECK(fw_store_secret_delete(store, team_id, "01SECRETAAAAAAAAAAAAAAAAAA", &err) == FW_OK);
    FW_CHECK_INT(fw_store_secret_delete(store, team_id, "AWS_KEY", &err), FW_ERR_NOT_FOUND);
    free(sealed);
    fw_store_close(&store);
}

int main(void)
{
    FW_RUN(test_sealed_value_opens_to_the_same_text);
    FW_RUN(test_empty_value_round_trips);
    FW_RUN(test_tampered_value_does_not_open);
    FW_RUN(test_other_team_or_key_cannot_open);
    FW_RUN(test_secret_names);
    FW_RUN(test_both_spellings_are_substituted);
    FW_RUN(test_unknown_or_malformed_placeholder_is_an_error_and_nothing_leaks);
    FW_RUN(test_redaction);
    FW_RUN(test_key_is_made_once_and_read_back);
    FW_RUN(test_resolve_and_check_over_the_store);
    return fw_test_end();
}
