/*
 * log.h - one logging function for the whole server.
 *
 * Lines go to stderr as "LEVEL [where] message". The level is set once at
 * start-up from the configuration. Never call it from a per-frame loop.
 */
#ifndef FW_UTIL_LOG_H
#define FW_UTIL_LOG_H

typedef enum fw_log_level {
    FW_LOG_ERROR = 0,
    FW_LOG_WARN,
    FW_LOG_INFO,
    FW_LOG_DEBUG,
} fw_log_level;

void fw_log_set_level(fw_log_level level);
fw_log_level fw_log_get_level(void);

/* where: a short context such as "template" or "job 01J..."; may be NULL. */
void fw_log(fw_log_level level, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
