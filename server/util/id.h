/*
 * id.h - object ids: ULIDs, as Nexrender Cloud uses.
 *
 * 26 characters of Crockford base32: 48 bits of milliseconds since the epoch,
 * then 80 random bits from the kernel. Ids made later sort later (to the
 * millisecond), which paging by id relies on.
 */
#ifndef FW_UTIL_ID_H
#define FW_UTIL_ID_H

#include <stdint.h>

#define FW_ULID_LENGTH 26

/* A new id into out (27 bytes at least). */
void fw_id_new(char *out);

/* The same with a given time, for tests. */
void fw_id_new_at(char *out, uint64_t unix_ms);

/* 1 when s looks like an id (26 Crockford base32 characters). */
int fw_id_valid(const char *s);

/* n random bytes from the kernel; 0, or -1 when none could be had. */
int fw_random_bytes(void *buf, unsigned long n);

#endif
