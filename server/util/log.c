/* log.c - see log.h. A single write per line keeps lines from threads whole. */
#include "server/util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096
#define JOB_ID_MAX 64

static atomic_int log_level = FW_LOG_INFO;
static atomic_int log_format = FW_LOG_TEXT;
static _Thread_local char thread_job[JOB_ID_MAX];

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void fw_log_set_level(fw_log_level level) { atomic_store(&log_level, (int)level); }
fw_log_level fw_log_get_level(void) { return (fw_log_level)atomic_load(&log_level); }
void fw_log_set_format(fw_log_format format) { atomic_store(&log_format, (int)format); }
fw_log_format fw_log_get_format(void) { return (fw_log_format)atomic_load(&log_format); }

fw_err fw_log_configure(fw_error *err)
{
    const char *level = getenv("FRAMEWRIGHT_LOG"), *format = getenv("FRAMEWRIGHT_LOG_FORMAT");

    if (level && *level) {
        size_t i;
        for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
            if (strcmp(level, level_names[i]) == 0)
                break;
        if (i == sizeof(level_names) / sizeof(level_names[0]))
            return fw_error_set(err, FW_ERR_INVALID, "FRAMEWRIGHT_LOG",
                                "is '%.32s'; one of error, warn, info or debug", level);
        fw_log_set_level((fw_log_level)i);
    }
    if (format && *format) {
        if (strcmp(format, "text") == 0)
            fw_log_set_format(FW_LOG_TEXT);
        else if (strcmp(format, "json") == 0)
            fw_log_set_format(FW_LOG_JSON);
        else
            return fw_error_set(err, FW_ERR_INVALID, "FRAMEWRIGHT_LOG_FORMAT", "is '%.32s'; text or json", format);
    }
    return FW_OK;
}

void fw_log_set_job(const char *job_id)
{
    snprintf(thread_job, sizeof(thread_job), "%s", job_id ? job_id : "");
}

const char *fw_log_get_job(void) { return thread_job[0] ? thread_job : NULL; }

/* The length of the UTF-8 sequence at s (1 to 4), or 0 when it is not one. */
static size_t utf8_length(const unsigned char *s)
{
    size_t n, i;
    unsigned int cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2, cp = s[0] & 0x1Fu;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        n = 3, cp = s[0] & 0x0Fu;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        n = 4, cp = s[0] & 0x07u;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

size_t fw_log_json_escape(char *out, size_t size, size_t len, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;

    if (size == 0)
        return 0;
    while (*s) {
        char piece[8];
        size_t n = 0, take = 1;

        if (*s == '"' || *s == '\\') {
            piece[0] = '\\', piece[1] = (char)*s, n = 2;
        } else if (*s == '\n') {
            memcpy(piece, "\\n", 2), n = 2;
        } else if (*s == '\t') {
            memcpy(piece, "\\t", 2), n = 2;
        } else if (*s == '\r') {
            memcpy(piece, "\\r", 2), n = 2;
        } else if (*s < 0x20 || *s == 0x7F) {
            n = (size_t)snprintf(piece, sizeof(piece), "\\u%04x", *s);
        } else if ((take = utf8_length(s)) == 0) {
            memcpy(piece, "\xEF\xBF\xBD", 3), n = 3, take = 1;
        } else {
            memcpy(piece, s, take), n = take;
        }
        if (len + n >= size)
            break;
        memcpy(out + len, piece, n);
        len += n;
        s += take;
    }
    out[len] = '\0';
    return len;
}

static size_t append(char *out, size_t size, size_t len, const char *text)
{
    size_t n = strlen(text);
    if (len + n >= size)
        n = len + 1 < size ? size - len - 1 : 0;
    memcpy(out + len, text, n);
    len += n;
    out[len] = '\0';
    return len;
}

void fw_log(fw_log_level level, const char *where, const char *fmt, ...)
{
    char line[LINE_MAX_BYTES], message[LINE_MAX_BYTES - 256], stamp[40];
    const char *job = thread_job[0] ? thread_job : NULL;
    struct timespec now;
    struct tm tm;
    size_t n;
    va_list ap;

    if ((int)level > atomic_load(&log_level))
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000L);
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);

    if (atomic_load(&log_format) == FW_LOG_JSON) {
        char pid[32];
        n = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\"", stamp, level_names[level]);
        if (where) {
            n = append(line, sizeof(line), n, ",\"component\":\"");
            n = fw_log_json_escape(line, sizeof(line) - 64, n, where);
            n = append(line, sizeof(line), n, "\"");
        }
        if (job) {
            n = append(line, sizeof(line), n, ",\"job\":\"");
            n = fw_log_json_escape(line, sizeof(line) - 64, n, job);
            n = append(line, sizeof(line), n, "\"");
        }
        snprintf(pid, sizeof(pid), ",\"pid\":%ld,\"msg\":\"", (long)getpid());
        n = append(line, sizeof(line), n, pid);
        /* Room for the closing quote, brace and newline whatever the message. */
        n = fw_log_json_escape(line, sizeof(line) - 3, n, message);
        n = append(line, sizeof(line), n, "\"}");
    } else {
        n = (size_t)snprintf(line, sizeof(line), "%s %-5s ", stamp, level_names[level]);
        if (where || job) {
            n = append(line, sizeof(line), n, "[");
            if (where)
                n = append(line, sizeof(line), n, where);
            if (where && job)
                n = append(line, sizeof(line), n, " ");
            if (job) {
                n = append(line, sizeof(line), n, "job=");
                n = append(line, sizeof(line), n, job);
            }
            n = append(line, sizeof(line), n, "] ");
        }
        n = append(line, sizeof(line) - 1, n, message);
    }
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, n);
}
