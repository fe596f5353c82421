/*
 * fw_test.h - the small test harness every C test of Framewright uses.
 *
 * A test file defines `static void test_something(void)` functions and ends
 * with
 *
 *     int main(void) { FW_RUN(test_a); FW_RUN(test_b); return fw_test_end(); }
 *
 * A failed check reports file, line and what was expected, marks the running
 * test failed and lets it go on, so one run shows every broken expectation.
 * The last line is "NAME: N passed, N failed", which tests/run.sh adds up.
 */
#ifndef FW_TEST_H
#define FW_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fw_test_passed_;
static int fw_test_failed_;
static int fw_test_current_failed_;
static int fw_test_skipped_;
static const char *fw_test_current_;

static inline void fw_test_fail_(const char *file, int line, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "  %s:%d: ", file, line);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    fw_test_current_failed_ = 1;
}

#define FW_CHECK(cond)                                                                                   \
    do {                                                                                                 \
        if (!(cond))                                                                                     \
            fw_test_fail_(__FILE__, __LINE__, "check failed: %s%s", #cond, "");                        \
    } while (0)

#define FW_CHECK_MSG(cond, ...)                                                                          \
    do {                                                                                                 \
        if (!(cond)) {                                                                                   \
            char fw_msg_[1024];                                                                          \
            snprintf(fw_msg_, sizeof(fw_msg_), __VA_ARGS__);                                             \
            fw_test_fail_(__FILE__, __LINE__, "check failed: %s: %s", #cond, fw_msg_);                  \
        }                                                                                                \
    } while (0)

#define FW_CHECK_INT(a, b)                                                                               \
    do {                                                                                                 \
        long long fw_a_ = (long long)(a), fw_b_ = (long long)(b);                                        \
        if (fw_a_ != fw_b_) {                                                                            \
            char fw_sa_[64], fw_sb_[64];                                                                 \
            snprintf(fw_sa_, sizeof(fw_sa_), "%lld", fw_a_);                                             \
            snprintf(fw_sb_, sizeof(fw_sb_), "%lld", fw_b_);                                             \
            fw_test_fail_(__FILE__, __LINE__, #a " is %s, expected %s", fw_sa_, fw_sb_);                \
        }                                                                                                \
    } while (0)

#define FW_CHECK_NEAR(a, b, tolerance)                                                                   \
    do {                                                                                                 \
        double fw_a_ = (double)(a), fw_b_ = (double)(b);                                                 \
        if (!(fabs(fw_a_ - fw_b_) <= (tolerance))) {                                                     \
            char fw_sa_[64], fw_sb_[64];                                                                 \
            snprintf(fw_sa_, sizeof(fw_sa_), "%g", fw_a_);                                               \
            snprintf(fw_sb_, sizeof(fw_sb_), "%g (within " #tolerance ")", fw_b_);                     \
            fw_test_fail_(__FILE__, __LINE__, #a " is %s, expected %s", fw_sa_, fw_sb_);                \
        }                                                                                                \
    } while (0)

#define FW_CHECK_STR(a, b)                                                                               \
    do {                                                                                                 \
        const char *fw_a_ = (a), *fw_b_ = (b);                                                           \
        if (!fw_a_ || !fw_b_ || strcmp(fw_a_, fw_b_) != 0)                                               \
            fw_test_fail_(__FILE__, __LINE__, #a " is \"%s\", expected \"%s\"", fw_a_ ? fw_a_ : "(null)", \
                          fw_b_ ? fw_b_ : "(null)");                                                     \
    } while (0)

#define FW_CHECK_CONTAINS(haystack, needle)                                                              \
    do {                                                                                                 \
        const char *fw_h_ = (haystack), *fw_n_ = (needle);                                               \
        if (!fw_h_ || !strstr(fw_h_, fw_n_))                                                             \
            fw_test_fail_(__FILE__, __LINE__, #haystack " is \"%s\", expected it to contain \"%s\"",      \
                          fw_h_ ? fw_h_ : "(null)", fw_n_);                                              \
    } while (0)

/* Stop the running test here (after a failed precondition the rest is noise). */
#define FW_REQUIRE(cond)                                                                                 \
    do {                                                                                                 \
        if (!(cond)) {                                                                                   \
            fw_test_fail_(__FILE__, __LINE__, "required: %s%s", #cond, "");                            \
            return;                                                                                      \
        }                                                                                                \
    } while (0)

/* Skip the running test, saying why (a missing optional input, for instance). */
#define FW_SKIP(why)                                                                                     \
    do {                                                                                                 \
        fprintf(stderr, "  skipped: %s\n", why);                                                         \
        fw_test_current_failed_ = -1;                                                                    \
        return;                                                                                          \
    } while (0)

#define FW_RUN(fn)                                                                                       \
    do {                                                                                                 \
        fw_test_current_ = #fn;                                                                          \
        fw_test_current_failed_ = 0;                                                                     \
        fn();                                                                                            \
        if (fw_test_current_failed_ < 0) {                                                               \
            fw_test_skipped_++;                                                                          \
            fprintf(stderr, "skip %s\n", #fn);                                                           \
        } else if (fw_test_current_failed_) {                                                            \
            fw_test_failed_++;                                                                           \
            fprintf(stderr, "FAIL %s\n", #fn);                                                           \
        } else {                                                                                         \
            fw_test_passed_++;                                                                           \
            fprintf(stderr, "ok   %s\n", #fn);                                                           \
        }                                                                                                \
    } while (0)

static inline int fw_test_end(void)
{
    (void)fw_test_current_;
    fprintf(stderr, "fw-test: %d passed, %d failed, %d skipped\n", fw_test_passed_, fw_test_failed_,
            fw_test_skipped_);
    return fw_test_failed_ ? 1 : 0;
}

/* A file from the Lottie corpus, or NULL when FW_CORPUS_DIR is not set or
 * the file is missing. The result is a static buffer. */
static inline const char *fw_test_corpus(const char *name)
{
    static char path[4096];
    const char *dir = getenv("FW_CORPUS_DIR");
    FILE *f;
    if (!dir || !*dir)
        return NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fclose(f);
    return path;
}

/* A fresh temporary folder for the running test; the result is a static buffer. */
static inline const char *fw_test_tmpdir(void)
{
    static char path[4096];
    const char *base = getenv("TEST_TMPDIR");
    static int counter;
    snprintf(path, sizeof(path), "%s/fwtest-%d-%d", base && *base ? base : "/tmp", (int)getpid(), ++counter);
    if (mkdir(path, 0700) != 0)
        return NULL;
    return path;
}

#endif
