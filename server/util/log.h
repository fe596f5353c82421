/*
 * log.h - one logging function for the whole server.
 *
 * Lines go to stderr, one write each, in one of two formats:
 *
 *   text (default)  2026-01-02T03:04:05.678Z info  [worker job=01J...] message
 *   json            {"time":"2026-01-02T03:04:05.678Z","level":"info","component":"worker",
 *                    "job":"01J...","pid":123,"msg":"message"}
 *
 * A thread that works on a job says so once (fw_log_set_job); every line it
 * logs until it says otherwise, FFmpeg's included, then carries the job's id.
 * The level and the format are set once at start-up (fw_log_configure).
 * Never call fw_log from a per-frame loop.
 */
#ifndef FW_UTIL_LOG_H
#define FW_UTIL_LOG_H

#include <stddef.h>

#include "server/util/error.h"

typedef enum fw_log_level {
    FW_LOG_ERROR = 0,
    FW_LOG_WARN,
    FW_LOG_INFO,
    FW_LOG_DEBUG,
} fw_log_level;

typedef enum fw_log_format {
    FW_LOG_TEXT = 0,
    FW_LOG_JSON,
} fw_log_format;

void fw_log_set_level(fw_log_level level);
fw_log_level fw_log_get_level(void);
void fw_log_set_format(fw_log_format format);
fw_log_format fw_log_get_format(void);

/* FRAMEWRIGHT_LOG (error, warn, info, debug) and FRAMEWRIGHT_LOG_FORMAT
 * (text, json); an unknown value is an error naming the variable. */
fw_err fw_log_configure(fw_error *err);

/* The job this thread works on from now (NULL or "": none); the id is copied. */
void fw_log_set_job(const char *job_id);
const char *fw_log_get_job(void);

/* where: the component, such as "worker" or "webhook"; may be NULL. */
void fw_log(fw_log_level level, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append text to out as the inside of a JSON string (quotes, backslashes and
 * control characters escaped, bytes that are not UTF-8 replaced by U+FFFD),
 * stopping before out would be full; out stays terminated. The length of out. */
size_t fw_log_json_escape(char *out, size_t size, size_t len, const char *text);

#endif
