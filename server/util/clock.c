/* clock.c - see clock.h. */
#include "server/util/clock.h"

#include <stdio.h>
#include <time.h>

int64_t fw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *fw_format_time(int64_t unix_ms, char buf[FW_TIME_TEXT_SIZE])
{
    time_t seconds = (time_t)(unix_ms / 1000);
    struct tm tm;

    gmtime_r(&seconds, &tm);
    snprintf(buf, FW_TIME_TEXT_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
    return buf;
}
