/*
 * rendered.h - the render tests' way of running one job: parse the job
 * text, render it with fw_render_job into dir/name, and keep what came
 * back (status, error, result) for the checks.
 */
#ifndef FW_TESTS_WORK_RENDERED_H
#define FW_TESTS_WORK_RENDERED_H

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "server/jobs/job.h"
#include "server/work/render_job.h"

typedef struct rendered {
    fw_err rc;
    fw_error err;
    fw_render_result result;
    char path[PATH_MAX];
} rendered;

/* Render job_text (relative sources resolve in job_dir) into dir/name,
 * scratch folders in dir. progress and cancel may be NULL. */
static inline void render_job_text(rendered *r, const char *job_text, const char *job_dir, const char *dir,
                                   const char *name, fw_progress_fn progress, void *progress_user,
                                   const atomic_int *cancel)
{
    fw_render_request req;
    fw_job_spec *job = NULL;

    memset(r, 0, sizeof(*r));
    snprintf(r->path, sizeof(r->path), "%s/%s", dir, name);
    r->rc = fw_job_parse(&job, job_text, strlen(job_text), &r->err);
    if (r->rc) {
        r->result.missing_fonts = json_array();
        return;
    }
    memset(&req, 0, sizeof(req));
    req.job = job;
    req.job_dir = job_dir;
    req.output_path = r->path;
    req.work_root = dir;
    req.allow_local_files = 1;
    req.progress = progress;
    req.progress_user = progress_user;
    req.cancel = cancel;
    r->rc = fw_render_job(&req, &r->result, &r->err);
    fw_job_spec_free(&job);
}

static inline void done(rendered *r) { fw_render_result_clear(&r->result); }

#endif
