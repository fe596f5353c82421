/*
 * scratch.c - see scratch.h.
 *
 * The one race: a sweep may find a folder between its mkdtemp and its
 * flock. Then the sweep wins and removes it, and the maker, whose flock
 * waited for the sweep's to go, sees that its path is no longer the folder
 * it holds and makes another.
 */
#include "server/work/scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/util/fs.h"

#define MAKE_TRIES 3

/* Whether fd, locked, is still the folder at path. */
static int still_there(int fd, const char *path)
{
    struct stat held, named;
    return fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_dev == named.st_dev &&
           held.st_ino == named.st_ino;
}

fw_err fw_scratch_make(fw_scratch *scratch, const char *root, const char *prefix, fw_error *err)
{
    scratch->fd = -1;
    for (int i = 0; i < MAKE_TRIES; i++) {
        char absolute[PATH_MAX];
        fw_err rc = fw_make_temp_dir(root, prefix, scratch->path, sizeof(scratch->path), err);
        if (rc != FW_OK)
            return rc;
        /* Absolute, as the paths a render writes into its documents (the
         * render cache's digest reads files only under it). */
        if (scratch->path[0] != '/' && realpath(scratch->path, absolute) && strlen(absolute) < sizeof(scratch->path))
            memcpy(scratch->path, absolute, strlen(absolute) + 1);
        scratch->fd = open(scratch->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (scratch->fd < 0) {
            int e = errno;
            rmdir(scratch->path);
            scratch->path[0] = '\0';
            return fw_error_set(err, FW_ERR_IO, NULL, "cannot open the scratch folder: %s", strerror(e));
        }
        if (flock(scratch->fd, LOCK_EX) == 0 && still_there(scratch->fd, scratch->path))
            return FW_OK;
        close(scratch->fd);
        scratch->fd = -1;
    }
    scratch->path[0] = '\0';
    return fw_error_set(err, FW_ERR_IO, NULL, "cannot hold a scratch folder in %s", root ? root : "$TMPDIR");
}

void fw_scratch_remove(fw_scratch *scratch)
{
    if (scratch->path[0])
        fw_remove_tree(scratch->path);
    if (scratch->fd >= 0)
        close(scratch->fd);
    scratch->path[0] = '\0';
    scratch->fd = -1;
}

int fw_scratch_sweep(const char *root, const char *prefix)
{
    size_t prefix_len = strlen(prefix);
    struct dirent *entry;
    int removed = 0;
    DIR *dir;

    if (!root || !*root)
        root = getenv("TMPDIR");
    if (!root || !*root)
        root = "/tmp";
    if (!(dir = opendir(root)))
        return 0;
    while ((entry = readdir(dir)) != NULL) {
        char path[PATH_MAX];
        int fd;

        if (strncmp(entry->d_name, prefix, prefix_len) != 0 ||
            snprintf(path, sizeof(path), "%s/%s", root, entry->d_name) >= (int)sizeof(path))
            continue;
        if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
            continue;
        /* Held: its worker lives. Else it is ours to remove, under the lock. */
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fw_remove_tree(path) == 0)
            removed++;
        close(fd);
    }
    closedir(dir);
    return removed;
}
