/* fs.c - see fs.h. */
#define _XOPEN_SOURCE 700
#include "server/util/fs.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int fw_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

char *fw_read_file(const char *path, size_t max_bytes, size_t *len, fw_error *err)
{
    struct stat st;
    char *data;
    size_t got = 0;
    FILE *f = fopen(path, "rb");

    if (!f) {
        fw_error_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, NULL, "cannot open %s: %s", path,
                     strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        fw_error_set(err, FW_ERR_IO, NULL, "%s is not a readable file", path);
        return NULL;
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        fclose(f);
        fw_error_set(err, FW_ERR_LIMIT, NULL, "%s is larger than %zu bytes", path, max_bytes);
        return NULL;
    }
    data = malloc((size_t)st.st_size + 1);
    if (data)
        got = fread(data, 1, (size_t)st.st_size, f);
    fclose(f);
    if (!data || got != (size_t)st.st_size) {
        free(data);
        fw_error_set(err, FW_ERR_IO, NULL, "cannot read %s", path);
        return NULL;
    }
    data[got] = '\0';
    *len = got;
    return data;
}

int fw_create_temp_file(char *tmpl)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t len = strlen(tmpl);
    struct timespec now;
    uint64_t seed;

    if (len < 6 || strcmp(tmpl + len - 6, "XXXXXX") != 0) {
        errno = EINVAL;
        return -1;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    seed = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^ (uintptr_t)tmpl;
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd;
        for (size_t i = len - 6; i < len; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            tmpl[i] = letters[(seed >> 33) % (sizeof(letters) - 1)];
        }
        fd = open(tmpl, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

fw_err fw_make_temp_dir(const char *root, const char *prefix, char *out, size_t size, fw_error *err)
{
    if (!root || !*root)
        root = getenv("TMPDIR");
    if (!root || !*root)
        root = "/tmp";
    if (snprintf(out, size, "%s/%sXXXXXX", root, prefix) >= (int)size)
        return fw_error_set(err, FW_ERR_INVALID, NULL, "the folder name under %s is too long", root);
    if (!mkdtemp(out)) {
        int e = errno;
        out[0] = '\0';
        return fw_error_set(err, FW_ERR_IO, NULL, "cannot create a folder in %s: %s", root, strerror(e));
    }
    return FW_OK;
}
