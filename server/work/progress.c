/* progress.c - see progress.h. */
#include "server/work/progress.h"

static int64_t left(int64_t wait, int64_t since) { return since >= wait ? 0 : wait - since; }

int64_t fw_progress_due_in(const fw_progress_pace *pace, double progress, int stage_changed, int64_t now_ms)
{
    int64_t since;

    if (!pace->written_any || stage_changed)
        return 0;
    since = now_ms - pace->written_at;
    if (progress - pace->written >= FW_PROGRESS_STEP)
        return left(FW_PROGRESS_GAP_MS, since);
    if (progress != pace->written)
        return left(FW_PROGRESS_INTERVAL_MS, since);
    return left(FW_PROGRESS_RENEW_MS, since);
}

void fw_progress_written(fw_progress_pace *pace, double progress, int64_t now_ms)
{
    pace->written_any = 1;
    pace->written = progress;
    pace->written_at = now_ms;
}
