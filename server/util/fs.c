/* fs.c - see fs.h. */
#define _XOPEN_SOURCE 700
#include "server/util/fs.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
