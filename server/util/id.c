/* id.c - see id.h. */
#include "server/util/id.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int fw_random_bytes(void *buf, unsigned long n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += got;
        n -= (unsigned long)got;
    }
    return 0;
}

void fw_id_new_at(char *out, uint64_t unix_ms)
{
    unsigned char random[10];
    uint64_t hi, lo;

    if (fw_random_bytes(random, sizeof(random)) != 0)
        memset(random, 0, sizeof(random)); /* the kernel always has entropy after boot */
    /* 10 characters of time (50 bits, the top 2 zero), then 16 of randomness. */
    for (int i = 9; i >= 0; i--) {
        out[i] = crockford[unix_ms & 31];
        unix_ms >>= 5;
    }
    hi = ((uint64_t)random[0] << 32) | ((uint64_t)random[1] << 24) | ((uint64_t)random[2] << 16) |
         ((uint64_t)random[3] << 8) | random[4];
    lo = ((uint64_t)random[5] << 32) | ((uint64_t)random[6] << 24) | ((uint64_t)random[7] << 16) |
         ((uint64_t)random[8] << 8) | random[9];
    for (int i = 17; i >= 10; i--) {
        out[i] = crockford[hi & 31];
        hi >>= 5;
    }
    for (int i = 25; i >= 18; i--) {
        out[i] = crockford[lo & 31];
        lo >>= 5;
    }
    out[FW_ULID_LENGTH] = '\0';
}

void fw_id_new(char *out)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    fw_id_new_at(out, (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u);
}

int fw_id_valid(const char *s)
{
    size_t i;
    for (i = 0; s[i]; i++)
        if (i >= FW_ULID_LENGTH || !strchr(crockford, s[i]))
            return 0;
    return i == FW_ULID_LENGTH;
}
