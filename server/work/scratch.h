/*
 * scratch.h - a job's scratch folder, held by its worker for as long as the
 * worker lives.
 *
 * A worker that dies mid-job (a crash in a render, SIGKILL, the OOM killer)
 * cannot clean up: its folder, with the template, the downloaded assets and
 * a partial output, would stay for good. So each folder is held with an
 * flock(2) while its job runs - the kernel lets go of it when the process
 * ends, however it ends - and a worker that starts removes the folders of
 * its kind that nobody holds.
 */
#ifndef FW_WORK_SCRATCH_H
#define FW_WORK_SCRATCH_H

#include <limits.h>

#include "server/util/error.h"

typedef struct fw_scratch {
    char path[PATH_MAX];
    int fd; /* the open folder, which carries the lock; -1: none */
} fw_scratch;

/* Make and hold a fresh folder "<root>/<prefix>XXXXXX" (root NULL: $TMPDIR
 * or /tmp). */
fw_err fw_scratch_make(fw_scratch *scratch, const char *root, const char *prefix, fw_error *err);

/* Remove the folder and everything in it, and let go of it. Safe on a
 * scratch that was never made. */
void fw_scratch_remove(fw_scratch *scratch);

/* Remove every "<root>/<prefix>*" folder nobody holds: those of workers
 * that died. Returns how many went. */
int fw_scratch_sweep(const char *root, const char *prefix);

#endif
