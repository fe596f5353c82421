/* log.c - see log.h. A single write per line keeps lines from threads whole. */
#include "server/util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = FW_LOG_INFO;

void fw_log_set_level(fw_log_level level) { atomic_store(&log_level, (int)level); }

fw_log_level fw_log_get_level(void) { return (fw_log_level)atomic_load(&log_level); }

void fw_log(fw_log_level level, const char *where, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char line[2048];
    struct timespec now;
    struct tm tm;
    int n;
    va_list ap;

    if ((int)level > atomic_load(&log_level))
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s%s%s", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000L,
                 names[level], where ? "[" : "", where ? where : "", where ? "] " : "");
    if (n < 0 || n >= (int)sizeof(line))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    n = 0;
    while (line[n])
        n++;
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, (size_t)n);
}
