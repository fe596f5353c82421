/* libFuzzer: arbitrary bytes as a job. Parsing either succeeds or fails
 * with a code and a message; it never crashes or leaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "server/jobs/job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fw_job_spec *job = NULL;
    fw_error err;

    fw_error_clear(&err);
    if (fw_job_parse(&job, (const char *)data, size, &err) == FW_OK) {
        if (!job || !job->assets || !job->fonts)
            abort();
        fw_job_spec_free(&job);
    } else if (job || err.code == FW_OK || err.message[0] == '\0') {
        abort();
    }
    return 0;
}
