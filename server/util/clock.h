/*
 * clock.h - wall-clock time as the API speaks it.
 */
#ifndef FW_UTIL_CLOCK_H
#define FW_UTIL_CLOCK_H

#include <stdint.h>

#define FW_TIME_TEXT_SIZE 32

/* Milliseconds since the Unix epoch. */
int64_t fw_now_ms(void);

/* "2025-05-14T12:00:00.000Z" (RFC 3339, UTC, milliseconds) into buf. */
const char *fw_format_time(int64_t unix_ms, char buf[FW_TIME_TEXT_SIZE]);

#endif
