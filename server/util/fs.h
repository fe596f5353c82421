/*
 * fs.h - the few file-system chores several modules share.
 */
#ifndef FW_UTIL_FS_H
#define FW_UTIL_FS_H

#include <stddef.h>

#include "server/util/error.h"

/* Remove path and everything under it, not following symbolic links.
 * A missing path is fine. Returns 0, or -1 when something stayed. */
int fw_remove_tree(const char *path);

/* Read a whole file (at most max_bytes) into a new NUL-terminated buffer the
 * caller frees; *len gets the size without the NUL. NULL on error. */
char *fw_read_file(const char *path, size_t max_bytes, size_t *len, fw_error *err);

/* Make a fresh folder "<root>/<prefix>XXXXXX" (root NULL: $TMPDIR or /tmp)
 * into out. */
fw_err fw_make_temp_dir(const char *root, const char *prefix, char *out, size_t size, fw_error *err);

/* Like mkstemp, but the file gets the mode a newly created file would get
 * (0666 less the umask) rather than 0600: outputs are meant to be read by
 * others. tmpl ends in "XXXXXX", which is replaced. Returns the open file
 * descriptor, or -1 with errno set. */
int fw_create_temp_file(char *tmpl);

#endif
