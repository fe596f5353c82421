/*
 * progress.h - when a worker writes a job's progress to the store.
 *
 * Watchers see a job move at least every 250 ms or every 2 %, whichever comes
 * first, and the lease is renewed at least once a second even when nothing
 * moves. Two writes are never closer than 50 ms apart, except for a new stage,
 * which is written at once so that a short job still shows each stage.
 */
#ifndef FW_WORK_PROGRESS_H
#define FW_WORK_PROGRESS_H

#include <stdint.h>

#define FW_PROGRESS_STEP 2.0        /* percent */
#define FW_PROGRESS_INTERVAL_MS 250
#define FW_PROGRESS_GAP_MS 50
#define FW_PROGRESS_RENEW_MS 1000

typedef struct fw_progress_pace {
    int written_any;     /* 0 until the first write */
    double written;      /* the percent last written */
    int64_t written_at;  /* when, in ms of any monotonic clock */
} fw_progress_pace;

/* Milliseconds from now_ms until the next write is due (0: write now), for
 * the latest progress; stage_changed when the stage differs from the one
 * last written. */
int64_t fw_progress_due_in(const fw_progress_pace *pace, double progress, int stage_changed, int64_t now_ms);

/* Record a write of progress at now_ms. */
void fw_progress_written(fw_progress_pace *pace, double progress, int64_t now_ms);

#endif
