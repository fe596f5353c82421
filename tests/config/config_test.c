/* The configuration: defaults, the environment, flags over the environment,
 * and numbers out of range refused with the variable or flag that gave them. */
#include <stdlib.h>
#include <string.h>

#include "server/config.h"
#include "tests/fw_test.h"

static char g_data[4096];

static fw_err load(fw_config *c, fw_error *err, int argc, char **argv)
{
    char *args[8] = {"--data", g_data};
    int n = 2;
    for (int i = 0; i < argc && n < 8; i++)
        args[n++] = argv[i];
    return fw_config_load(c, n, args, err);
}

static void numbers_have_their_defaults(void)
{
    fw_config c;
    fw_error err;

    FW_REQUIRE(load(&c, &err, 0, NULL) == FW_OK);
    FW_CHECK_INT(c.max_attempts, 3);
    FW_CHECK_INT(c.retry_seconds, 5);
    FW_CHECK_INT(c.lease_seconds, 30);
    FW_CHECK_INT(c.chunk_frames, -1);
    FW_CHECK_INT(c.cache_mb, 1024);
}

static void the_environment_sets_them_and_flags_win(void)
{
    fw_config c;
    fw_error err;
    char *flags[] = {"--retry-seconds", "9"};

    setenv("FRAMEWRIGHT_RETRY_SECONDS", "0", 1);
    setenv("FRAMEWRIGHT_MAX_ATTEMPTS", "7", 1);
    setenv("FRAMEWRIGHT_CACHE_MB", "0", 1);
    setenv("FRAMEWRIGHT_CHUNK_FRAMES", "", 1); /* empty: unset */
    FW_REQUIRE(load(&c, &err, 0, NULL) == FW_OK);
    FW_CHECK_INT(c.retry_seconds, 0);
    FW_CHECK_INT(c.max_attempts, 7);
    FW_CHECK_INT(c.cache_mb, 0);
    FW_CHECK_INT(c.chunk_frames, -1);
    setenv("FRAMEWRIGHT_RETRY_SECONDS", "3", 1);
    FW_REQUIRE(load(&c, &err, 2, flags) == FW_OK);
    FW_CHECK_INT(c.retry_seconds, 9);
    unsetenv("FRAMEWRIGHT_RETRY_SECONDS");
    unsetenv("FRAMEWRIGHT_MAX_ATTEMPTS");
    unsetenv("FRAMEWRIGHT_CACHE_MB");
    unsetenv("FRAMEWRIGHT_CHUNK_FRAMES");
}

static void a_number_out_of_range_is_refused_by_its_name(void)
{
    static const struct {
        const char *name, *value, *message;
    } bad[] = {
        {"FRAMEWRIGHT_RETRY_SECONDS", "abc", "'abc' is not a number from 0 to 1000"},
        {"FRAMEWRIGHT_RETRY_SECONDS", "1001", "'1001' is not a number from 0 to 1000"},
        {"FRAMEWRIGHT_RETRY_SECONDS", "-1", "'-1' is not a number from 0 to 1000"},
        {"FRAMEWRIGHT_MAX_ATTEMPTS", "0", "'0' is not a number from 1 to 100"},
        {"FRAMEWRIGHT_MAX_ATTEMPTS", "3x", "'3x' is not a number from 1 to 100"},
        {"FRAMEWRIGHT_CACHE_MB", "99999999999999999999", "'99999999999999999999' is not a number from 0 to 16777216"},
        {"FRAMEWRIGHT_CHUNK_FRAMES", "-5", "'-5' is not a number from 0 to 100000"},
    };
    fw_config c;
    fw_error err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv(bad[i].name, bad[i].value, 1);
        FW_CHECK_INT(load(&c, &err, 0, NULL), FW_ERR_INVALID);
        FW_CHECK_STR(err.field, bad[i].name);
        FW_CHECK_STR(err.message, bad[i].message);
        unsetenv(bad[i].name);
    }
    char *flags[] = {"--retry-seconds", "1001"};
    FW_CHECK_INT(load(&c, &err, 2, flags), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "--retry-seconds");
    FW_CHECK_STR(err.message, "'1001' is not a number from 0 to 1000");
}

int main(void)
{
    const char *dir = fw_test_tmpdir(); /* under the test's own folder */
    if (!dir)
        return 1;
    snprintf(g_data, sizeof(g_data), "%s", dir);
    FW_RUN(numbers_have_their_defaults);
    FW_RUN(the_environment_sets_them_and_flags_win);
    FW_RUN(a_number_out_of_range_is_refused_by_its_name);
    return fw_test_end();
}
