/*
 * log_test.c - the log lines as a reader of them sees them: stderr is sent
 * to a file, lines are logged in both formats, from threads working on
 * different jobs, and read back; every JSON line must parse (jansson) with
 * its fields, whatever bytes the message held.
 */
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/util/log.h"
#include "tests/fw_test.h"

static char path[PATH_MAX];
static int saved_stderr = -1;

/* Send stderr to a fresh file. */
static void capture(void)
{
    FILE *f;
    snprintf(path, sizeof(path), "%s/log.txt", fw_test_tmpdir());
    f = fopen(path, "w");
    fflush(stderr);
    if (saved_stderr < 0)
        saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(f), STDERR_FILENO);
    fclose(f);
}

/* stderr back, and the lines written since capture (a NULL-terminated array; free each and it). */
static char **captured(size_t *count)
{
    char **lines = NULL, *line = NULL;
    size_t cap = 0;
    FILE *f;

    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    *count = 0;
    f = fopen(path, "r");
    while (f && getline(&line, &cap, f) > 0) {
        lines = realloc(lines, (*count + 2) * sizeof(*lines));
        lines[(*count)++] = strdup(line);
        lines[*count] = NULL;
    }
    free(line);
    if (f)
        fclose(f);
    return lines;
}

static void free_lines(char **lines, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(lines[i]);
    free(lines);
}

static json_t *parse(const char *line)
{
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    if (!j)
        fprintf(stderr, "not JSON (%s): %s", e.text, line);
    return j;
}

static void text_format(void)
{
    size_t n;
    char **lines;

    fw_log_set_format(FW_LOG_TEXT);
    capture();
    fw_log(FW_LOG_INFO, "worker", "rendering %d frames", 90);
    fw_log_set_job("01JTEXTJOB");
    fw_log(FW_LOG_WARN, "worker", "slow");
    fw_log(FW_LOG_INFO, NULL, "no component");
    fw_log_set_job(NULL);
    fw_log(FW_LOG_DEBUG, "worker", "not shown at info");
    lines = captured(&n);
    FW_CHECK_INT((int)n, 3);
    if (n == 3) {
        FW_CHECK(strlen(lines[0]) > 25 && lines[0][4] == '-' && lines[0][23] == 'Z');
        FW_CHECK_CONTAINS(lines[0], " info  [worker] rendering 90 frames\n");
        FW_CHECK_CONTAINS(lines[1], " warn  [worker job=01JTEXTJOB] slow\n");
        FW_CHECK_CONTAINS(lines[2], " info  [job=01JTEXTJOB] no component\n");
    }
    free_lines(lines, n);
}

static void json_fields(void)
{
    size_t n;
    char **lines;
    json_t *j;

    fw_log_set_format(FW_LOG_JSON);
    capture();
    fw_log(FW_LOG_ERROR, "serve", "plain");
    fw_log_set_job("01JJSONJOB");
    fw_log(FW_LOG_INFO, "worker", "finished: %d frames", 90);
    fw_log_set_job("");
    lines = captured(&n);
    FW_CHECK_INT((int)n, 2);
    if (n == 2 && (j = parse(lines[0]))) {
        FW_CHECK_STR(json_string_value(json_object_get(j, "level")), "error");
        FW_CHECK_STR(json_string_value(json_object_get(j, "component")), "serve");
        FW_CHECK_STR(json_string_value(json_object_get(j, "msg")), "plain");
        FW_CHECK(json_object_get(j, "job") == NULL);
        FW_CHECK(json_integer_value(json_object_get(j, "pid")) == (json_int_t)getpid());
        FW_CHECK(strlen(json_string_value(json_object_get(j, "time"))) == 24);
        json_decref(j);
    }
    if (n == 2 && (j = parse(lines[1]))) {
        FW_CHECK_STR(json_string_value(json_object_get(j, "job")), "01JJSONJOB");
        FW_CHECK_STR(json_string_value(json_object_get(j, "msg")), "finished: 90 frames");
        FW_CHECK_STR(json_string_value(json_object_get(j, "level")), "info");
        json_decref(j);
    }
    free_lines(lines, n);
}

/* Quotes, backslashes, control bytes, a newline (which must not split the
 * line), bytes that are not UTF-8 and a message far longer than a line. */
static void json_hostile_messages(void)
{
    static const char *const nasty[] = {
        "say \"hi\" \\ back", "tab\there\nnew line\r\x01\x1f\x7f", "bad \xff\xfe utf-8 \xc3( and \xe2\x82 cut",
        "surrogate \xed\xa0\x80 overlong \xc0\xaf", "ok é € 😀",
    };
    char *big = malloc(20000);
    size_t n;
    char **lines;

    memset(big, '"', 19999);
    big[19999] = '\0';
    fw_log_set_format(FW_LOG_JSON);
    capture();
    for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++)
        fw_log(FW_LOG_WARN, "x\"y", "%s", nasty[i]);
    fw_log(FW_LOG_WARN, "big", "%s", big);
    lines = captured(&n);
    FW_CHECK_INT((int)n, 6);
    for (size_t i = 0; i < n; i++) {
        json_t *j = parse(lines[i]);
        FW_CHECK(j != NULL);
        FW_CHECK(lines[i][strlen(lines[i]) - 1] == '\n');
        if (j && i == 0)
            FW_CHECK_STR(json_string_value(json_object_get(j, "msg")), nasty[0]);
        if (j && i == 1)
            FW_CHECK_STR(json_string_value(json_object_get(j, "msg")), "tab\there\nnew line\r\x01\x1f\x7f");
        if (j && i == 2)
            FW_CHECK_STR(json_string_value(json_object_get(j, "msg")),
                         "bad \xef\xbf\xbd\xef\xbf\xbd utf-8 \xef\xbf\xbd( and \xef\xbf\xbd\xef\xbf\xbd cut");
        if (j && i == 4)
            FW_CHECK_STR(json_string_value(json_object_get(j, "msg")), nasty[4]);
        if (j && i == 0)
            FW_CHECK_STR(json_string_value(json_object_get(j, "component")), "x\"y");
        if (j && i == 5)
            FW_CHECK(strlen(json_string_value(json_object_get(j, "msg"))) > 1000);
        json_decref(j);
    }
    free_lines(lines, n);
    free(big);
}

static void *job_thread(void *arg)
{
    const char *id = arg;
    fw_log_set_job(id);
    for (int i = 0; i < 200; i++)
        fw_log(FW_LOG_INFO, "worker", "line %d of %s", i, id);
    return NULL;
}

/* Each thread's lines carry its own job, and no two lines run together. */
static void threads_keep_their_jobs(void)
{
    pthread_t a, b;
    size_t n, wrong = 0, bad = 0;
    char **lines;

    fw_log_set_format(FW_LOG_JSON);
    capture();
    pthread_create(&a, NULL, job_thread, "01JAAAAAAA");
    pthread_create(&b, NULL, job_thread, "01JBBBBBBB");
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    lines = captured(&n);
    FW_CHECK_INT((int)n, 400);
    for (size_t i = 0; i < n; i++) {
        json_t *j = parse(lines[i]);
        const char *job, *msg;
        if (!j) {
            bad++;
            continue;
        }
        job = json_string_value(json_object_get(j, "job"));
        msg = json_string_value(json_object_get(j, "msg"));
        if (!job || !msg || !strstr(msg, job))
            wrong++;
        json_decref(j);
    }
    FW_CHECK_INT((int)bad, 0);
    FW_CHECK_INT((int)wrong, 0);
    FW_CHECK(fw_log_get_job() == NULL);
    free_lines(lines, n);
}

static void configure_from_environment(void)
{
    fw_error err;

    setenv("FRAMEWRIGHT_LOG", "debug", 1);
    setenv("FRAMEWRIGHT_LOG_FORMAT", "json", 1);
    FW_CHECK_INT(fw_log_configure(&err), FW_OK);
    FW_CHECK_INT(fw_log_get_level(), FW_LOG_DEBUG);
    FW_CHECK_INT(fw_log_get_format(), FW_LOG_JSON);
    setenv("FRAMEWRIGHT_LOG_FORMAT", "yaml", 1);
    FW_CHECK_INT(fw_log_configure(&err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "FRAMEWRIGHT_LOG_FORMAT");
    FW_CHECK_CONTAINS(err.message, "text or json");
    setenv("FRAMEWRIGHT_LOG_FORMAT", "text", 1);
    setenv("FRAMEWRIGHT_LOG", "loud", 1);
    FW_CHECK_INT(fw_log_configure(&err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "FRAMEWRIGHT_LOG");
    unsetenv("FRAMEWRIGHT_LOG");
    unsetenv("FRAMEWRIGHT_LOG_FORMAT");
    fw_log_set_level(FW_LOG_INFO);
    fw_log_set_format(FW_LOG_TEXT);
}

int main(void)
{
    FW_RUN(text_format);
    FW_RUN(json_fields);
    FW_RUN(json_hostile_messages);
    FW_RUN(threads_keep_their_jobs);
    FW_RUN(configure_from_environment);
    return fw_test_end();
}
