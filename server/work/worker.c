/*
 * worker.c - see worker.h.
 */
#include "server/work/worker.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/jobs/job.h"
#include "server/media/encoder.h"
#include "server/media/join.h"
#include "server/secrets/job_inputs.h"
#include "server/store/store.h"
#include "server/util/clock.h"
#include "server/util/fetch.h"
#include "server/util/log.h"
#include "server/work/digest.h"
#include "server/work/progress.h"
#include "server/work/render_job.h"
#include "server/work/scratch.h"

/* A job's scratch folders are "<scratch>/fw-job-XXXXXX" (scratch.h). */
#define SCRATCH_PREFIX "fw-job-"

/* What the render thread and the heartbeat thread share about one job. */
typedef struct job_run {
    const fw_worker_config *config;
    const char *worker;
    fw_job_row *row;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int done;                 /* the render is over: the heartbeat thread ends */
    double progress;
    char stage[24];
    atomic_int cancel;        /* stop the render: see why */
    atomic_int store_failed;  /* a call to the store failed during the job */
    enum { RUN_ON = 0, RUN_CANCELLED, RUN_LEASE_LOST, RUN_STOPPING } why;
    /* A split render. The job's holder (split set) renews the job, and the
     * chunk it renders itself (chunk >= 0), and writes the job's progress
     * as the sum of its chunks'. A worker rendering another's chunk (chunk
     * >= 0, split not set) renews that chunk only, and stops when the job
     * is no longer being rendered. */
    int split;
    int others;               /* the run renders a chunk of another's job */
    int chunk;                /* the chunk being rendered, -1 none; changed under lock */
    int frames;               /* split: the job's frames */
} job_run;

static void stop_render(job_run *run, int why)
{
    if (run->why == RUN_ON)
        run->why = why;
    atomic_store(&run->cancel, 1);
}

static int64_t lease_ms(const fw_worker_config *c) { return c->lease_ms > 0 ? c->lease_ms : 30000; }
static int max_attempts(const fw_worker_config *c) { return c->max_attempts > 0 ? c->max_attempts : 3; }

/* How long a job or chunk handed back after a failure of ours waits before
 * it may be claimed again: the first delay after the first attempt,
 * doubled for each attempt after it, at most RETRY_MAX_MS. A bucket or a
 * network away for a minute then costs a few attempts, not all at once. */
#define RETRY_MAX_MS (5 * 60 * 1000)

static int64_t retry_ms(const fw_worker_config *c, int attempts)
{
    int64_t ms = c->retry_ms > 0 ? c->retry_ms : 0;
    for (int i = 1; i < attempts && ms < RETRY_MAX_MS; i++)
        ms *= 2;
    return ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_progress(void *user, const char *stage, double percent)
{
    job_run *run = user;
    pthread_mutex_lock(&run->lock);
    if (run->progress != percent || strcmp(run->stage, stage) != 0) {
        run->progress = percent;
        snprintf(run->stage, sizeof(run->stage), "%s", stage);
        pthread_cond_signal(&run->wake); /* the heartbeat decides whether it is time to write */
    }
    pthread_mutex_unlock(&run->lock);
}

/* A job no longer ours was cancelled (which drops the lease), or reaped and
 * given to another worker. The job's status says which. */
static int why_not_ours(fw_store *store, const char *id)
{
    fw_job_row now;
    fw_error err;
    int why = RUN_LEASE_LOST;
    memset(&now, 0, sizeof(now));
    if (fw_store_job_get(store, NULL, id, &now, &err) == FW_OK && strcmp(now.status, FW_STATUS_CANCELLED) == 0)
        why = RUN_CANCELLED;
    fw_job_row_clear(&now);
    return why;
}

/* split: the job's progress from its chunks' (the join is the last 5 %). */
static double split_progress(fw_store *store, const job_run *run, double fallback)
{
    fw_chunk_row *rows = NULL;
    size_t count = 0;
    double done = 0;
    fw_error err;

    if (run->frames <= 0 || fw_store_chunks_get(store, run->row->id, &rows, &count, &err) != FW_OK)
        return fallback;
    for (size_t i = 0; i < count; i++)
        done += (rows[i].last_frame - rows[i].first_frame + 1) * rows[i].progress / 100.0;
    fw_chunk_rows_free(&rows, count);
    return 5.0 + 90.0 * done / run->frames;
}

/* Renew the lease of the job (chunk < 0) or of one of its chunks and write
 * its progress. A chunk's status says cancelled once its job is no longer
 * being rendered (cancelled, failed, or reaped from its holder), and a
 * chunk that is gone is not held. */
static fw_err renew(fw_store *store, const job_run *run, int chunk, double progress, const char *stage,
                    char status[24], fw_error *err)
{
    int64_t lease = lease_ms(run->config);
    fw_err rc;

    if (chunk < 0)
        return fw_store_job_heartbeat(store, run->row->id, run->worker, lease, progress, stage, status, err);
    rc = fw_store_chunk_heartbeat(store, run->row->id, chunk, run->worker, lease, progress, status, err);
    if (rc == FW_OK && strcmp(status, FW_STATUS_RENDERING) != 0)
        snprintf(status, 24, "%s", FW_STATUS_CANCELLED);
    return rc == FW_ERR_NOT_FOUND ? FW_ERR_FAILED_PRECONDITION : rc;
}

/* One beat: renew what the run holds and write its progress (*written). */
static fw_err beat(fw_store *store, job_run *run, int chunk, double progress, const char *stage, double *written,
                   char status[24], fw_error *err)
{
    fw_err rc;

    *written = progress;
    if (chunk < 0 && run->others)
        return FW_OK; /* another's chunk, being finished: nothing to renew any more */
    if (chunk >= 0) {
        rc = renew(store, run, chunk, progress, stage, status, err);
        /* The holder's own chunk: losing it is found out when it finishes. */
        if (!run->split || rc == FW_ERR_UNAVAILABLE)
            return rc;
    }
    if (run->split)
        *written = progress = split_progress(store, run, run->row->progress);
    return renew(store, run, -1, progress, stage, status, err);
}

/* Writes the progress as progress.h paces it, which also renews the lease, on
 * a connection of its own, and raises the cancel flag when the job was
 * cancelled. A split render's holder looks at its chunks four times a
 * second. */
static void *heartbeat(void *arg)
{
    job_run *run = arg;
    fw_store *store = NULL;
    fw_progress_pace pace;
    char written_stage[24] = "";
    fw_error err;

    fw_log_set_job(run->row->id);
    memset(&pace, 0, sizeof(pace));
    pthread_mutex_lock(&run->lock);
    while (!run->done) {
        char status[24] = "", stage[24];
        double progress = run->progress, written;
        int64_t due = fw_progress_due_in(&pace, progress, strcmp(run->stage, written_stage) != 0, monotonic_ms());
        int chunk = run->chunk;
        fw_err rc;

        if (run->split && due > 250 && monotonic_ms() - pace.written_at >= 250)
            due = 0;
        else if (run->split && due > 250)
            due = 250 - (monotonic_ms() - pace.written_at);
        if (due > 0) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += due / 1000;
            until.tv_nsec += (due % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&run->wake, &run->lock, &until);
            continue;
        }
        memcpy(stage, run->stage, sizeof(stage));
        pthread_mutex_unlock(&run->lock);
        /* A connection that could not be opened (the store restarting) is tried again at the next beat. */
        rc = store ? FW_OK : fw_store_open(&store, run->config->store_url, &err);
        written = progress;
        if (rc == FW_OK)
            rc = beat(store, run, chunk, progress, stage, &written, status, &err);
        pthread_mutex_lock(&run->lock);
        fw_progress_written(&pace, run->split ? progress : written, monotonic_ms());
        memcpy(written_stage, stage, sizeof(written_stage));
        /* A chunk finished while this beat was on its way is no longer held,
         * but not lost either. */
        if (rc == FW_ERR_FAILED_PRECONDITION && chunk >= 0 && chunk != run->chunk && !run->split) {
            continue;
        } else if (rc == FW_ERR_FAILED_PRECONDITION && chunk >= 0 && !run->split) {
            stop_render(run, RUN_LEASE_LOST);
        } else if (rc == FW_ERR_FAILED_PRECONDITION) {
            stop_render(run, why_not_ours(store, run->row->id));
        } else if (rc == FW_OK && strcmp(status, FW_STATUS_CANCELLED) == 0) {
            stop_render(run, RUN_CANCELLED);
        } else if (run->config->stop && atomic_load(run->config->stop)) {
            stop_render(run, RUN_STOPPING);
        } else if (rc != FW_OK) {
            fw_log(FW_LOG_WARN, "worker", "heartbeat: %s", err.message);
            atomic_store(&run->store_failed, 1);
        }
    }
    pthread_mutex_unlock(&run->lock);
    fw_store_close(&store);
    return NULL;
}

/* How a job ends, as the worker writes it to the store. */
typedef struct job_end {
    enum { END_FINISHED, END_FAILED, END_HANDED_BACK } kind;
    double render_seconds;
    int frames;
    const char *fonts;  /* END_FINISHED: the missing fonts report, or NULL */
    const char *error;  /* END_FAILED, END_HANDED_BACK: why */
    int max_attempts;   /* END_HANDED_BACK */
    int64_t retry_ms;   /* END_HANDED_BACK: not claimed again before */
} job_end;

static fw_err write_end(fw_store *store, const char *id, const char *worker, const job_end *end, fw_error *err)
{
    switch (end->kind) {
    case END_FINISHED:
        return fw_store_job_complete(store, id, worker, end->render_seconds, end->frames, end->fonts, NULL, err);
    case END_FAILED:
        return fw_store_job_complete(store, id, worker, -1, 0, NULL, end->error, err);
    default:
        return fw_store_job_release(store, id, worker, end->error, end->max_attempts, end->retry_ms, err);
    }
}

/* The job's end written to the store, tried again while the store does not
 * answer (a database restarting), so that a render done is not thrown away
 * with the lease. The reaper leaves leases alone for a lease's time after it
 * regains the store (serve.c), so a worker that writes within that time
 * wins. A worker told to stop, or a store away for END_WAIT_MS, leaves the
 * job to the reaper. */
#define END_WAIT_MS (5 * 60 * 1000)
#define END_RETRY_MS 250

static fw_err record_end(fw_store *store, const fw_worker_config *config, const char *id, const char *worker,
                         const job_end *end, fw_error *err)
{
    int64_t give_up = monotonic_ms() + END_WAIT_MS;
    int waited = 0;
    fw_err rc;

    while ((rc = write_end(store, id, worker, end, err)) == FW_ERR_UNAVAILABLE && monotonic_ms() < give_up &&
           !(config->stop && atomic_load(config->stop))) {
        struct timespec pause = {0, END_RETRY_MS * 1000000L};
        if (!waited++)
            fw_log(FW_LOG_WARN, "worker", "the store does not answer (%s); waiting for it to write the job's end",
                   err->message);
        nanosleep(&pause, NULL);
    }
    if (waited && rc != FW_ERR_UNAVAILABLE)
        fw_log(FW_LOG_INFO, "worker", "the store answers again");
    return rc;
}

/* Before the output goes up: is the job still ours? The heartbeat may be
 * waiting on a connection that lost its link, and meanwhile the reaper may
 * have given the job to another worker, whose output would be overwritten.
 * Renewed here, on the worker's own connection, and tried again while the
 * store does not answer (as record_end). Stops the render (the cancel flag)
 * when the job is not ours any more or was cancelled. */
static void confirm_lease(fw_store *store, job_run *run, int chunk)
{
    int64_t give_up = monotonic_ms() + END_WAIT_MS;
    char status[24] = "", stage[24];
    double progress;
    int why;
    fw_error err;
    fw_err rc;

    pthread_mutex_lock(&run->lock);
    progress = run->progress;
    memcpy(stage, run->stage, sizeof(stage));
    pthread_mutex_unlock(&run->lock);
    while ((rc = renew(store, run, chunk, progress, stage, status, &err)) == FW_ERR_UNAVAILABLE &&
           monotonic_ms() < give_up && !atomic_load(&run->cancel)) {
        struct timespec pause = {0, END_RETRY_MS * 1000000L};
        atomic_store(&run->store_failed, 1);
        if (run->config->stop && atomic_load(run->config->stop))
            break;
        nanosleep(&pause, NULL);
    }
    why = rc != FW_ERR_FAILED_PRECONDITION ? RUN_ON : chunk >= 0 ? RUN_LEASE_LOST : why_not_ours(store, run->row->id);
    pthread_mutex_lock(&run->lock);
    if (rc == FW_ERR_FAILED_PRECONDITION)
        stop_render(run, why);
    else if (rc == FW_OK && strcmp(status, FW_STATUS_CANCELLED) == 0)
        stop_render(run, RUN_CANCELLED);
    else if (rc != FW_OK)
        stop_render(run, run->config->stop && atomic_load(run->config->stop) ? RUN_STOPPING : RUN_LEASE_LOST);
    pthread_mutex_unlock(&run->lock);
}

/* Failures of the job itself, which another attempt would repeat. */
static int is_job_error(fw_err code)
{
    switch (code) {
    case FW_ERR_INVALID:
    case FW_ERR_NOT_FOUND:
    case FW_ERR_UNSUPPORTED:
    case FW_ERR_LIMIT:
    case FW_ERR_PERMISSION:
    case FW_ERR_FAILED_PRECONDITION:
        return 1;
    default:
        return 0;
    }
}

/* Fetch the job's template from blob storage into dir; its path into path. */
static fw_err fetch_template(fw_store *store, const fw_worker_config *config, const fw_job_row *row, const char *dir,
                             char *path, size_t size, fw_error *err)
{
    fw_template_row tpl;
    fw_err rc;

    memset(&tpl, 0, sizeof(tpl));
    if ((rc = fw_store_template_get(store, row->team_id, row->template_id, &tpl, err))) {
        if (rc == FW_ERR_NOT_FOUND)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, "template.id", "template '%s' no longer exists", row->template_id);
        return rc;
    }
    if (row->template_version > 0 && row->template_version != tpl.version) {
        /* The version the job was created with, not the one current now. */
        fw_template_version_row v;
        if ((rc = fw_store_template_version_get(store, row->team_id, row->template_id, row->template_version, &v,
                                                err))) {
            fw_template_row_clear(&tpl);
            if (rc == FW_ERR_NOT_FOUND)
                rc = fw_error_set(err, FW_ERR_NOT_FOUND, "template.version", "template '%s' no longer has version %d",
                                  row->template_id, row->template_version);
            return rc;
        }
        snprintf(tpl.type, sizeof(tpl.type), "%s", v.type);
        snprintf(tpl.storage_key, sizeof(tpl.storage_key), "%s", v.storage_key);
        free(v.details_json);
    }
    snprintf(path, size, "%s/template.%s", dir, tpl.type);
    rc = fw_storage_get_file(config->storage, tpl.storage_key, path, err);
    fw_template_row_clear(&tpl);
    return rc;
}

/* ---- nested jobs and joins: the children's outputs ------------------------------------------ */

/* Fetch the output of the child job named by asset (its "jobId", put there
 * when the job was created) into dir/<name>-<i><ext>; the file's name
 * relative to dir into file, and the child's output extension into ext. */
static fw_err fetch_child(fw_store *store, const fw_worker_config *config, json_t *asset, size_t i, const char *dir,
                          const char *name, char *file, size_t size, char ext[16], fw_error *err)
{
    const char *id = json_string_value(json_object_get(asset, "jobId"));
    char field[48], path[PATH_MAX];
    fw_job_row child;
    const char *dot;
    fw_err rc;

    snprintf(field, sizeof(field), "assets[%zu]", i);
    if (!id)
        return fw_error_set(err, FW_ERR_INVALID, field, "the job asset has no child job (it was not created "
                                                        "through the API)");
    memset(&child, 0, sizeof(child));
    if ((rc = fw_store_job_get(store, NULL, id, &child, err))) {
        if (rc == FW_ERR_NOT_FOUND)
            rc = fw_error_set(err, FW_ERR_NOT_FOUND, field, "the child job '%s' no longer exists", id);
        return rc;
    }
    if (strcmp(child.status, FW_STATUS_FINISHED) != 0) {
        rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, field, "the child job '%s' is %s, not finished", id,
                          child.status);
        fw_job_row_clear(&child);
        return rc;
    }
    dot = strrchr(child.output_key, '.');
    snprintf(ext, 16, "%s", dot ? dot : "");
    snprintf(file, size, "%s-%zu%s", name, i, ext);
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    rc = fw_storage_get_file(config->storage, child.output_key, path, err);
    if (rc != FW_OK && err)
        fw_error_prefix_field(err, "%s", field);
    fw_job_row_clear(&child);
    return rc;
}

static int is_image_extension(const char *ext)
{
    static const char *const images[] = {".png", ".jpg", ".jpeg", ".webp", ".gif"};
    for (size_t k = 0; k < sizeof(images) / sizeof(images[0]); k++)
        if (strcmp(ext, images[k]) == 0)
            return 1;
    return 0;
}

/* Each "job" asset of a nested job's request becomes an image or video asset
 * of its child's output, a file in dir: the template module places it in the
 * layer like any image or clip. */
static fw_err place_children(fw_store *store, const fw_worker_config *config, json_t *request, const char *dir,
                             fw_error *err)
{
    json_t *assets = json_object_get(request, "assets"), *asset;
    size_t i;
    fw_err rc;

    json_array_foreach(assets, i, asset) {
        const char *type = json_string_value(json_object_get(asset, "type"));
        const char *layer = json_string_value(json_object_get(asset, "layerName"));
        char file[64], ext[16], field[48];
        json_t *image;

        if (!type || strcmp(type, "job") != 0)
            continue;
        if ((rc = fetch_child(store, config, asset, i, dir, "child", file, sizeof(file), ext, err)))
            return rc;
        /* A picture goes in as an image, a video as footage. */
        image = json_pack("{s:s, s:s, s:s}", "type", is_image_extension(ext) ? "image" : "video", "layerName",
                          layer ? layer : "", "src", file);
        if (!image) {
            snprintf(field, sizeof(field), "assets[%zu]", i);
            return fw_error_set(err, FW_ERR_NOMEM, field, "out of memory placing the child's output");
        }
        if (json_object_get(asset, "composition"))
            json_object_set(image, "composition", json_object_get(asset, "composition"));
        json_array_set_new(assets, i, image);
    }
    return FW_OK;
}

static void on_join_progress(int percent, void *user)
{
    on_progress(user, "render", 10.0 + 0.9 * percent);
}

/* A join: the clips fetched (URLs) or taken from storage (children), then
 * stitched into output. */
static fw_err run_join(fw_store *store, const fw_worker_config *config, json_t *request, const char *dir,
                       const char *output, job_run *run, fw_render_result *res, fw_error *err)
{
    json_t *assets = json_object_get(request, "assets"), *asset;
    size_t count = json_array_size(assets), i;
    char **paths = calloc(count ? count : 1, sizeof(*paths));
    fw_join_options opts;
    fw_join_result joined;
    int64_t started = fw_now_ms();
    fw_err rc = FW_OK;

    if (!paths)
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    on_progress(run, "download", 0);
    json_array_foreach(assets, i, asset) {
        const char *type = json_string_value(json_object_get(asset, "type"));
        char file[64], ext[16], path[PATH_MAX];
        if (atomic_load(&run->cancel)) {
            rc = fw_error_set(err, FW_ERR_CANCELLED, NULL, "the job was cancelled");
            break;
        }
        if (type && strcmp(type, "job") == 0) {
            if ((rc = fetch_child(store, config, asset, i, dir, "clip", file, sizeof(file), ext, err)))
                break;
            snprintf(path, sizeof(path), "%s/%s", dir, file);
        } else {
            const char *src = json_string_value(json_object_get(asset, "src"));
            fw_fetch_options fetch = {.base_dir = NULL, .allow_local = 0};
            char field[48];
            snprintf(field, sizeof(field), "assets[%zu].src", i);
            snprintf(path, sizeof(path), "%s/clip-%zu.video", dir, i);
            if (!src || !fw_fetch_is_remote(src)) {
                rc = fw_error_set(err, FW_ERR_INVALID, field, "a clip is fetched from an http(s) URL");
                break;
            }
            if ((rc = fw_fetch(src, path, &fetch, field, err)))
                break;
        }
        if (!(paths[i] = strdup(path))) {
            rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
            break;
        }
        on_progress(run, "download", 10.0 * (double)(i + 1) / (double)count);
    }
    if (rc == FW_OK) {
        memset(&opts, 0, sizeof(opts));
        opts.output_path = output;
        opts.preset = json_string_value(json_object_get(json_object_get(request, "settings"), "preset"));
        opts.cancel = &run->cancel;
        opts.progress = on_join_progress;
        opts.progress_user = run;
        rc = fw_media_join((const char *const *)paths, count, &opts, &joined, err);
        if (rc == FW_OK) {
            res->frames = (int)joined.frame_count;
            res->width = joined.width;
            res->height = joined.height;
            fw_log(FW_LOG_INFO, "worker", "joined %zu clips by %s", count, fw_join_method_name(joined.method));
        }
    }
    res->render_seconds = (double)(fw_now_ms() - started) / 1000.0;
    for (i = 0; i < count; i++)
        free(paths[i]);
    free(paths);
    return rc;
}

/* ---- one render: what a job and its chunks share ------------------------------------------- */

/* Everything a render of the job needs, fetched into its scratch folder. */
typedef struct job_setup {
    char template_path[PATH_MAX];
    char fonts_dir[PATH_MAX + 8];
    const char *font_dirs[2];
    fw_job_spec *job;
    fw_render_request req;
} job_setup;

static fw_err setup_render(fw_store *store, const fw_worker_config *config, const fw_job_row *row, json_t *request,
                           const char *dir, const char *output, job_run *run, job_setup *js, fw_error *err)
{
    fw_err rc;

    if ((rc = place_children(store, config, request, dir, err)) == FW_OK)
        rc = fw_job_from_json(&js->job, request, err);
    if (rc == FW_OK && row->template_id[0])
        rc = fetch_template(store, config, row, dir, js->template_path, sizeof(js->template_path), err);
    /* The team's fonts. */
    snprintf(js->fonts_dir, sizeof(js->fonts_dir), "%s/fonts", dir);
    js->font_dirs[0] = js->fonts_dir;
    if (rc == FW_OK && (rc = fw_job_fonts_fetch(store, config->storage, row->team_id, row->template_id,
                                                row->template_version, js->job->root, js->fonts_dir, err)) == FW_OK)
        js->job->fonts = json_object_get(js->job->root, "fonts");
    if (rc != FW_OK)
        return rc;
    js->req.job = js->job;
    js->req.job_dir = dir;
    js->req.output_path = output;
    js->req.template_path = row->template_id[0] ? js->template_path : NULL;
    js->req.work_root = dir;
    js->req.default_font = config->default_font;
    js->req.max_clip_seconds = config->max_clip_seconds;
    js->req.max_clip_side = config->max_clip_side;
    js->req.max_media_bytes = config->max_media_bytes;
    js->req.font_dirs = js->font_dirs;
    /* A job's sources are URLs, not this machine's files, unless the operator says so. */
    js->req.allow_local_files = fw_url_policy_allows_files(fw_url_policy_get());
    js->req.progress = on_progress;
    js->req.progress_user = run;
    js->req.cancel = &run->cancel;
    return FW_OK;
}

static void run_start(job_run *run, const fw_worker_config *config, const char *worker, fw_job_row *row, int chunk,
                      pthread_t *beat)
{
    memset(run, 0, sizeof(*run));
    run->config = config;
    run->worker = worker;
    run->row = row;
    run->chunk = chunk;
    run->others = chunk >= 0;
    pthread_mutex_init(&run->lock, NULL);
    pthread_cond_init(&run->wake, NULL);
    atomic_init(&run->cancel, 0);
    atomic_init(&run->store_failed, 0);
    pthread_create(beat, NULL, heartbeat, run);
}

static void run_stop(job_run *run, pthread_t beat)
{
    pthread_mutex_lock(&run->lock);
    run->done = 1;
    pthread_cond_signal(&run->wake);
    pthread_mutex_unlock(&run->lock);
    pthread_join(beat, NULL);
}

static void run_free(job_run *run)
{
    pthread_mutex_destroy(&run->lock);
    pthread_cond_destroy(&run->wake);
}

/* rc = call, tried again while the store does not answer, as record_end. */
#define RETRY_STORE(config, rc, call)                                                                                \
    do {                                                                                                             \
        int64_t give_up_ = monotonic_ms() + END_WAIT_MS;                                                             \
        while (((rc) = (call)) == FW_ERR_UNAVAILABLE && monotonic_ms() < give_up_ &&                                 \
               !((config)->stop && atomic_load((config)->stop))) {                                                   \
            struct timespec pause_ = {0, END_RETRY_MS * 1000000L};                                                   \
            nanosleep(&pause_, NULL);                                                                                \
        }                                                                                                            \
    } while (0)

/* ---- split renders ------------------------------------------------------------------------- */

/* Frames per chunk for this job: whole keyframe intervals (so each chunk
 * starts where the whole render has a keyframe), about 4 s unless the
 * worker or the job says otherwise; 0: render it whole. */
static int chunk_frames(const fw_worker_config *config, const fw_job_spec *job, const fw_render_plan *plan)
{
    int total = plan->last_frame - plan->first_frame + 1;
    int gop = fw_encoder_keyframe_interval(plan->fps_num, plan->fps_den);
    int want = config->chunk_frames > 0 ? config->chunk_frames : 2 * gop;
    int size;

    if (!plan->splittable || config->chunk_frames < 0 || job->settings.chunks == 1 || job->settings.preview)
        return 0;
    if (job->settings.chunks > 1)
        want = (total + job->settings.chunks - 1) / job->settings.chunks;
    size = (want + gop - 1) / gop * gop;
    if ((total + size - 1) / size > FW_JOB_MAX_CHUNKS)
        size = ((total + FW_JOB_MAX_CHUNKS - 1) / FW_JOB_MAX_CHUNKS + gop - 1) / gop * gop;
    return size < total ? size : 0;
}

/* The job's holder while the job renders in chunks. */
typedef struct split_job {
    fw_store *store;
    job_run *run;
    const fw_job_spec *job;
    int active;         /* the job renders in chunks */
    int count;          /* how many */
    fw_chunk_row chunk; /* the one this worker renders now, when chunk.job_id[0] */
    /* The render cache, when on for the job: */
    int cache;
    char digest[FW_DIGEST_HEX];   /* of the whole output */
    char cached_key[256];         /* the whole output is in the cache here */
    int frames;                   /* the job's frames */
    int chunks_cached;            /* chunks finished from the cache */
    char (*digests)[FW_DIGEST_HEX]; /* of each chunk, by index (count of them) */
} split_job;

/* ---- the render cache ----------------------------------------------------------------------- */

/* Entries used within two leases are not evicted: a render may be
 * fetching them (a chunk's segment is fetched when the job is joined). */
static int64_t cache_protect_ms(const fw_worker_config *c) { return 2 * lease_ms(c); }

static int cache_on(const fw_worker_config *config, const fw_job_spec *job)
{
    return config->cache_bytes > 0 && job->cache;
}

static void cache_key(const char *team, const char *digest, const char *ext, char *out, size_t size)
{
    snprintf(out, size, "cache/%s/%s.%s", team, digest, ext);
}

static fw_err plan_digest(const fw_render_plan *plan, int kind, int first, int last, char out[FW_DIGEST_HEX],
                          fw_error *err)
{
    fw_digest_input in = {.doc = plan->doc, .resource_dir = plan->resource_dir, .font_files = plan->font_files,
                          .default_font = plan->default_font, .output = plan->output};
    return fw_render_digest(&in, kind, first, last, out, err);
}

/* The file at path kept in the cache as the team's digest (unless it holds
 * that digest already), then the cache brought back under its bound. A
 * failure costs the cache an entry, never the job. */
static void cache_keep(fw_store *store, const fw_worker_config *config, const char *team, const char *digest,
                       const char *kind, const char *ext, const char *path)
{
    fw_cache_entry entry;
    char (*evicted)[256] = NULL;
    size_t count = 0;
    struct stat st;
    int kept = 0;
    fw_error err;

    memset(&entry, 0, sizeof(entry));
    if (fw_store_cache_get(store, team, digest, &entry, &err) == FW_OK || stat(path, &st) != 0)
        return;
    snprintf(entry.team_id, sizeof(entry.team_id), "%s", team);
    snprintf(entry.digest, sizeof(entry.digest), "%s", digest);
    snprintf(entry.kind, sizeof(entry.kind), "%s", kind);
    cache_key(team, digest, ext, entry.storage_key, sizeof(entry.storage_key));
    entry.size = (int64_t)st.st_size;
    if (fw_storage_put_file(config->storage, entry.storage_key, path, &err) != FW_OK ||
        fw_store_cache_put(store, &entry, &kept, &err) != FW_OK) {
        fw_log(FW_LOG_WARN, "worker", "the render cache: %s", err.message);
        return;
    }
    /* Not kept: another render put the same digest first, under the same key, with the same content. */
    if (fw_store_cache_evict(store, config->cache_bytes, cache_protect_ms(config), 100, &evicted, &count, &err) != FW_OK)
        fw_log(FW_LOG_WARN, "worker", "the render cache: %s", err.message);
    for (size_t i = 0; i < count; i++)
        if (fw_storage_delete(config->storage, evicted[i], &err) != FW_OK && err.code != FW_ERR_NOT_FOUND)
            fw_log(FW_LOG_WARN, "worker", "the render cache: %s", err.message);
    free(evicted);
}

/* Each chunk's digest, for the segments it will keep; and with a fresh
 * plan, the chunks whose segments the cache has finished at once. */
static fw_err chunks_from_cache(split_job *sj, const fw_render_plan *plan, int fresh, fw_error *err)
{
    fw_chunk_row *rows = NULL;
    size_t count = 0;
    fw_err rc = fw_store_chunks_get(sj->store, sj->run->row->id, &rows, &count, err);

    if (rc == FW_OK && !(sj->digests = calloc(count ? count : 1, sizeof(*sj->digests))))
        rc = fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory for the chunks' digests");
    for (size_t i = 0; rc == FW_OK && i < count; i++) {
        char *digest;
        fw_cache_entry entry;
        fw_err got;
        if (rows[i].index < 0 || (size_t)rows[i].index >= count)
            continue;
        digest = sj->digests[rows[i].index];
        if ((rc = plan_digest(plan, FW_DIGEST_PART, rows[i].first_frame, rows[i].last_frame, digest, err)))
            break;
        if (!fresh || strcmp(rows[i].status, FW_CHUNK_QUEUED) != 0)
            continue;
        got = fw_store_cache_get(sj->store, sj->run->row->team_id, digest, &entry, err);
        if (got == FW_ERR_NOT_FOUND)
            continue;
        if ((rc = got) != FW_OK)
            break;
        if ((rc = fw_store_chunk_finish_cached(sj->store, rows[i].job_id, rows[i].index, sj->run->worker,
                                               entry.storage_key, err)) == FW_OK)
            sj->chunks_cached++;
    }
    fw_chunk_rows_free(&rows, count);
    if (rc == FW_OK && sj->chunks_cached)
        fw_log(FW_LOG_INFO, "worker", "%d of %d chunks from the render cache", sj->chunks_cached, sj->count);
    return rc;
}

static void chunk_clear(fw_chunk_row *chunk)
{
    free(chunk->error);
    memset(chunk, 0, sizeof(*chunk));
}

static void segment_key(const fw_chunk_row *chunk, int attempt, char *out, size_t size)
{
    snprintf(out, size, "chunks/%s/%d-%d.mp4", chunk->job_id, chunk->index, attempt);
}

/* A queued chunk of the job for its holder, or none (chunk.job_id ""). */
static fw_err take_chunk(split_job *sj, fw_error *err)
{
    fw_err rc;

    chunk_clear(&sj->chunk);
    rc = fw_store_chunk_claim(sj->store, sj->run->worker, lease_ms(sj->run->config), sj->run->row->id, &sj->chunk,
                              err);
    if (rc == FW_ERR_NOT_FOUND) {
        chunk_clear(&sj->chunk);
        return FW_OK;
    }
    if (rc == FW_OK) {
        pthread_mutex_lock(&sj->run->lock);
        sj->run->chunk = sj->chunk.index;
        pthread_mutex_unlock(&sj->run->lock);
        fw_log(FW_LOG_INFO, "worker", "rendering chunk %d: frames %d to %d (attempt %d)", sj->chunk.index + 1,
               sj->chunk.first_frame, sj->chunk.last_frame, sj->chunk.attempts);
    }
    return rc;
}

static void drop_chunk(split_job *sj)
{
    pthread_mutex_lock(&sj->run->lock);
    sj->run->chunk = -1;
    pthread_mutex_unlock(&sj->run->lock);
    chunk_clear(&sj->chunk);
}

/* The planner of the holder's render: a long video is planned in chunks (or
 * carries on with those a previous holder planned), and this render draws
 * one of them. */
static fw_err plan_chunks(void *user, const fw_render_plan *plan, fw_render_split *split, int *first, int *last,
                          fw_error *err)
{
    split_job *sj = user;
    job_run *run = sj->run;
    int total = plan->last_frame - plan->first_frame + 1;
    int size = chunk_frames(run->config, sj->job, plan);
    int count, (*ranges)[2];
    fw_err rc;

    *split = FW_RENDER_WHOLE;
    sj->frames = total;
    if (sj->cache) {
        fw_cache_entry entry;
        if ((rc = plan_digest(plan, FW_DIGEST_WHOLE, plan->first_frame, plan->last_frame, sj->digest, err)))
            return rc;
        rc = fw_store_cache_get(sj->store, run->row->team_id, sj->digest, &entry, err);
        if (rc == FW_OK) {
            snprintf(sj->cached_key, sizeof(sj->cached_key), "%s", entry.storage_key);
            *split = FW_RENDER_NOTHING;
            return FW_OK;
        }
        if (rc != FW_ERR_NOT_FOUND)
            return rc;
    }
    if (size <= 0)
        return FW_OK;
    count = (total + size - 1) / size;
    if (!(ranges = calloc((size_t)count, sizeof(*ranges))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory planning %d chunks", count);
    for (int i = 0; i < count; i++) {
        ranges[i][0] = plan->first_frame + i * size;
        ranges[i][1] = ranges[i][0] + size - 1 < plan->last_frame ? ranges[i][0] + size - 1 : plan->last_frame;
    }
    RETRY_STORE(run->config, rc,
                fw_store_chunks_plan(sj->store, run->row->id, run->worker, (const int(*)[2])ranges, count,
                                     &sj->count, err));
    free(ranges);
    if (rc != FW_OK)
        return rc;
    sj->active = 1;
    pthread_mutex_lock(&run->lock);
    run->split = 1;
    run->frames = total;
    pthread_mutex_unlock(&run->lock);
    if (sj->count == count)
        fw_log(FW_LOG_INFO, "worker", "%d frames in %d chunks of %d", total, count, size);
    else
        fw_log(FW_LOG_INFO, "worker", "carrying on with the %d chunks planned before", sj->count);
    if (sj->cache && (rc = chunks_from_cache(sj, plan, sj->count == count, err)) != FW_OK)
        return rc;
    if ((rc = take_chunk(sj, err)) != FW_OK)
        return rc;
    if (!sj->chunk.job_id[0]) {
        *split = FW_RENDER_NOTHING;
        return FW_OK;
    }
    *split = FW_RENDER_PART;
    *first = sj->chunk.first_frame;
    *last = sj->chunk.last_frame;
    return FW_OK;
}

/* A rendered chunk at path into storage, and finished in the store. Its key
 * names the attempt, so a chunk rendered twice (taken from a worker thought
 * dead) never overwrites the other's. A segment the store does not want
 * (the chunk is not this worker's any more, or the job ended) is deleted. */
static fw_err finish_chunk(fw_store *store, job_run *run, const fw_chunk_row *chunk, const char *path,
                           double seconds, const char *digest, fw_error *err)
{
    const fw_worker_config *config = run->config;
    char key[FW_ID_SIZE + 64];
    fw_error ignored;
    fw_err rc;

    segment_key(chunk, chunk->attempts, key, sizeof(key));
    if ((rc = fw_storage_put_file(config->storage, key, path, err)) != FW_OK)
        return rc;
    /* The heartbeat stops renewing it: once finished it is nobody's, and a
     * beat after the finish would take that for a lost lease. */
    pthread_mutex_lock(&run->lock);
    run->chunk = -1;
    pthread_mutex_unlock(&run->lock);
    RETRY_STORE(config, rc, fw_store_chunk_finish(store, chunk->job_id, chunk->index, run->worker, key, seconds, err));
    if (rc != FW_OK)
        fw_storage_delete(config->storage, key, &ignored);
    else if (digest && *digest)
        cache_keep(store, config, run->row->team_id, digest, FW_CACHE_CHUNK, "mp4", path);
    return rc;
}

/* Every segment the job's chunks may have left in storage (one per
 * attempt), then the chunks. */
static void drop_chunks(fw_store *store, const fw_worker_config *config, const char *job_id)
{
    fw_worker_drop_chunks(store, config->storage, job_id, config->stop);
}

void fw_worker_drop_chunks(fw_store *store, fw_storage *storage, const char *job_id, const atomic_int *stop)
{
    fw_worker_config retry = {.stop = stop};
    const fw_worker_config *config = &retry;
    fw_chunk_row *rows = NULL;
    size_t count = 0;
    char key[FW_ID_SIZE + 64];
    fw_error err;
    fw_err rc;

    RETRY_STORE(config, rc, fw_store_chunks_get(store, job_id, &rows, &count, &err));
    if (rc != FW_OK)
        return;
    for (size_t i = 0; i < count; i++)
        for (int a = 1; a <= rows[i].attempts; a++) {
            segment_key(&rows[i], a, key, sizeof(key));
            if (fw_storage_delete(storage, key, &err) != FW_OK && err.code != FW_ERR_NOT_FOUND)
                fw_log(FW_LOG_WARN, "worker", "chunk segment %s: %s", key, err.message);
        }
    fw_chunk_rows_free(&rows, count);
    RETRY_STORE(config, rc, fw_store_chunks_delete(store, job_id, &err));
    if (rc != FW_OK)
        fw_log(FW_LOG_WARN, "worker", "the job's chunks: %s", err.message);
}

/* The workers that rendered the chunks, as a JSON array. */
static char *workers_json(const fw_chunk_row *rows, size_t count)
{
    json_t *names = json_array();
    char *text;
    for (size_t i = 0; i < count; i++) {
        int seen = !rows[i].worker[0];
        for (size_t j = 0; !seen && j < json_array_size(names); j++)
            seen = strcmp(json_string_value(json_array_get(names, j)), rows[i].worker) == 0;
        if (!seen)
            json_array_append_new(names, json_string(rows[i].worker));
    }
    text = json_dumps(names, JSON_COMPACT);
    json_decref(names);
    return text;
}

/* The chunks' segments from storage, joined into output with the job's sound. */
static fw_err join_chunks(fw_store *store, job_run *run, split_job *sj, job_setup *js, const char *dir,
                          const char *output, const fw_chunk_row *rows, size_t count, fw_render_result *res,
                          fw_error *err)
{
    const fw_worker_config *config = run->config;
    char (*paths)[PATH_MAX] = calloc(count, sizeof(*paths));
    const char **segments = calloc(count, sizeof(*segments));
    fw_render_request req = js->req;
    fw_render_result joined;
    char *workers = NULL;
    int64_t started = monotonic_ms();
    fw_err rc = paths && segments ? FW_OK : fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory joining chunks");

    for (size_t i = 0; rc == FW_OK && i < count; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/chunk-%zu.mp4", dir, i);
        segments[i] = paths[i];
        rc = fw_storage_get_file(config->storage, rows[i].segment_key, paths[i], err);
    }
    if (rc == FW_OK) {
        req.planner = NULL;
        req.segments = segments;
        req.segment_count = count;
        req.output_path = output;
        rc = fw_render_job(&req, &joined, err);
        if (rc == FW_OK) {
            res->frames = joined.frames;
            res->width = joined.width;
            res->height = joined.height;
            res->fps = joined.fps;
            snprintf(res->codec, sizeof(res->codec), "%s", joined.codec);
            res->mime_type = joined.mime_type;
        }
        fw_render_result_clear(&joined);
    }
    for (size_t i = 0; paths && i < count; i++)
        unlink(paths[i]);
    free(paths);
    free(segments);
    if (rc == FW_OK)
        fw_log(FW_LOG_INFO, "worker", "joined %zu chunks in %.2f s", count, (double)(monotonic_ms() - started) / 1000.0);
    if (rc == FW_OK && (workers = workers_json(rows, count))) {
        fw_error noted;
        fw_err note_rc;
        RETRY_STORE(config, note_rc,
                    fw_store_job_note_render(store, run->row->id, run->worker, (int)count, workers, &noted));
        if (note_rc != FW_OK)
            fw_log(FW_LOG_WARN, "worker", "noting how the job was rendered: %s", noted.message);
    }
    free(workers);
    (void)sj;
    return rc;
}

#define SPLIT_WAIT_MS 250

/* The holder once its first render is over: the chunk it drew goes up, it
 * renders queued chunks of the job while there are any, waits for the
 * chunks others render, and joins them all into output. A chunk in error
 * (its attempts used up) fails the job. */
static fw_err render_split(fw_store *store, job_run *run, split_job *sj, job_setup *js, const char *dir,
                           const char *output, fw_render_result *res, fw_error *err)
{
    const fw_worker_config *config = run->config;
    char part[PATH_MAX];
    double seconds = res->render_seconds;
    int have = res->split == FW_RENDER_PART;
    fw_err rc = FW_OK;

    snprintf(part, sizeof(part), "%s/part.mp4", dir);
    if (have && rename(output, part) != 0)
        return fw_error_set(err, FW_ERR_IO, "output", "cannot move the chunk to %s: %s", part, strerror(errno));
    for (;;) {
        fw_chunk_row *rows = NULL;
        size_t count = 0, finished = 0;
        const fw_chunk_row *failed = NULL;

        if (atomic_load(&run->cancel))
            return fw_error_set(err, FW_ERR_CANCELLED, NULL, "the render was stopped");
        if (have) {
            int index = sj->chunk.index;
            rc = finish_chunk(store, run, &sj->chunk, part, seconds,
                              sj->digests && index >= 0 && index < sj->count ? sj->digests[index] : NULL, err);
            unlink(part);
            drop_chunk(sj);
            have = 0;
            if (rc == FW_ERR_FAILED_PRECONDITION)
                rc = FW_OK; /* taken from this worker meanwhile: its new holder renders it */
            if (rc != FW_OK)
                return rc;
        }
        RETRY_STORE(config, rc, fw_store_chunks_get(store, run->row->id, &rows, &count, err));
        if (rc != FW_OK)
            return rc;
        for (size_t i = 0; i < count; i++) {
            finished += strcmp(rows[i].status, FW_CHUNK_FINISHED) == 0;
            if (!failed && strcmp(rows[i].status, FW_CHUNK_ERROR) == 0)
                failed = &rows[i];
        }
        if (failed) {
            rc = fw_error_set(err, FW_ERR_FAILED_PRECONDITION, "settings.chunks", "chunk %d (frames %d to %d): %s",
                              failed->index + 1, failed->first_frame, failed->last_frame,
                              failed->error ? failed->error : "failed");
        } else if (count > 0 && finished == count) {
            pthread_mutex_lock(&run->lock);
            snprintf(run->stage, sizeof(run->stage), "postrender");
            pthread_mutex_unlock(&run->lock);
            rc = join_chunks(store, run, sj, js, dir, output, rows, count, res, err);
        }
        fw_chunk_rows_free(&rows, count);
        if (failed || (count > 0 && finished == count))
            return rc;
        if ((rc = take_chunk(sj, err)) != FW_OK)
            return rc;
        if (sj->chunk.job_id[0]) {
            fw_render_request req = js->req;
            fw_render_result drawn;
            req.planner = NULL;
            req.part = 1;
            req.part_first = sj->chunk.first_frame;
            req.part_last = sj->chunk.last_frame;
            req.output_path = part;
            rc = fw_render_job(&req, &drawn, err);
            seconds = drawn.render_seconds;
            fw_render_result_clear(&drawn);
            if (rc != FW_OK)
                return rc; /* the chunk in hand is released by the caller */
            have = 1;
        } else {
            struct timespec pause = {0, SPLIT_WAIT_MS * 1000000L};
            nanosleep(&pause, NULL); /* the other chunks are being rendered elsewhere */
        }
    }
}

/* ---- a job -------------------------------------------------------------------------------- */

/* Renders the job and writes its end. Returns whether the store failed the
 * worker meanwhile, or took the job away (most likely the same: the store
 * was out of reach for a lease). */
static int process(fw_store *store, const fw_worker_config *config, const char *worker, fw_job_row *row)
{
    char output[PATH_MAX], text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4];
    const char *ext = strrchr(row->output_key, '.');
    fw_render_result res;
    fw_scratch scratch = {.fd = -1};
    const char *dir = scratch.path;
    json_t *request = NULL, *upload;
    int is_join = strcmp(row->kind, "join") == 0;
    int64_t started = monotonic_ms();
    job_setup js;
    split_job sj;
    pthread_t beat;
    job_run run;
    fw_error err;
    fw_err rc;

    memset(&res, 0, sizeof(res));
    memset(&js, 0, sizeof(js));
    memset(&sj, 0, sizeof(sj));
    run_start(&run, config, worker, row, -1, &beat);

    fw_error_clear(&err);
    request = json_loads(row->request_json, 0, NULL);
    if (!json_is_object(request))
        rc = fw_error_set(&err, FW_ERR_INVALID, NULL, "the job's stored request is not a JSON object");
    else
        rc = fw_scratch_make(&scratch, config->scratch_dir, SCRATCH_PREFIX, &err);
    snprintf(output, sizeof(output), "%s/output%s", dir, ext ? ext : "");
    /* The team's secrets, on this copy of the job only. */
    if (rc == FW_OK && config->secrets_key)
        rc = fw_job_secrets_apply(store, config->secrets_key, row->team_id, request, &err);
    if (rc == FW_OK && is_join) {
        rc = run_join(store, config, request, dir, output, &run, &res, &err);
    } else if (rc == FW_OK) {
        rc = setup_render(store, config, row, request, dir, output, &run, &js, &err);
        if (rc == FW_OK && (js.job->settings.type == FW_OUTPUT_VIDEO || cache_on(config, js.job))) {
            sj.store = store;
            sj.run = &run;
            sj.job = js.job;
            sj.cache = cache_on(config, js.job);
            js.req.planner = plan_chunks;
            js.req.planner_user = &sj;
        }
        if (rc == FW_OK)
            rc = fw_render_job(&js.req, &res, &err);
        if (rc == FW_OK && sj.cached_key[0]) {
            /* The same inputs were rendered before: their output, from the cache. */
            rc = fw_storage_get_file(config->storage, sj.cached_key, output, &err);
            res.frames = sj.frames;
            res.render_seconds = (double)(monotonic_ms() - started) / 1000.0;
        } else if (rc == FW_OK && sj.active) {
            rc = render_split(store, &run, &sj, &js, dir, output, &res, &err);
            res.render_seconds = (double)(monotonic_ms() - started) / 1000.0;
        }
    }
    upload = json_object_get(request, "upload");
    if (rc == FW_OK && !atomic_load(&run.cancel))
        confirm_lease(store, &run, -1);
    if (rc == FW_OK && !atomic_load(&run.cancel))
        rc = json_is_object(upload) && config->secrets_key
                 ? fw_job_upload(store, config->secrets_key, row->team_id, upload, row->id, ext ? ext + 1 : "bin",
                                 output, &err)
                 : fw_storage_put_file(config->storage, row->output_key, output, &err);
    else if (rc == FW_OK)
        rc = FW_ERR_CANCELLED; /* rendered, but nobody wants it any more */
    if (rc == FW_OK && sj.cache && sj.digest[0] && !sj.cached_key[0])
        cache_keep(store, config, row->team_id, sj.digest, FW_CACHE_OUTPUT, ext ? ext + 1 : "bin", output);
    if (rc == FW_OK && (sj.cached_key[0] || sj.chunks_cached)) {
        fw_error noted;
        if (fw_store_job_note_cache(store, row->id, worker, sj.cached_key[0] != 0, sj.chunks_cached, &noted) != FW_OK)
            fw_log(FW_LOG_WARN, "worker", "noting the render cache: %s", noted.message);
    }

    run_stop(&run, beat);

    /* A chunk still in hand (the render failed or stopped) goes back. */
    if (sj.chunk.job_id[0]) {
        int counts = run.why != RUN_STOPPING && rc != FW_ERR_CANCELLED;
        int64_t later = counts && !is_job_error(rc) ? retry_ms(config, sj.chunk.attempts) : 0;
        fw_error ignored;
        fw_store_chunk_release(store, row->id, sj.chunk.index, worker, fw_error_text(&err, text, sizeof(text)),
                               max_attempts(config), counts, later, &ignored);
        drop_chunk(&sj);
    }
    if (run.why == RUN_LEASE_LOST) {
        fw_log(FW_LOG_WARN, "worker", "the lease was lost; another worker has the job");
    } else if (run.why == RUN_CANCELLED) {
        fw_log(FW_LOG_INFO, "worker", "cancelled");
    } else if (run.why == RUN_STOPPING) {
        /* Stopping: hand the job back; it does not count as an attempt. */
        job_end end = {.kind = END_HANDED_BACK, .error = "the worker stopped", .max_attempts = INT_MAX};
        record_end(store, config, row->id, worker, &end, &err);
        fw_log(FW_LOG_INFO, "worker", "handed back");
    } else if (rc == FW_OK) {
        job_end end = {.kind = END_FINISHED, .render_seconds = res.render_seconds, .frames = res.frames};
        char *fonts = NULL;
        if (json_array_size(res.font_substitutes)) {
            json_t *report = json_pack("{s:O,s:O}", "missing", res.missing_fonts, "substitutes", res.font_substitutes);
            fonts = report ? json_dumps(report, JSON_COMPACT) : NULL;
            json_decref(report);
        } else if (json_array_size(res.missing_fonts)) {
            fonts = json_dumps(res.missing_fonts, JSON_COMPACT);
        }
        end.fonts = fonts;
        if (record_end(store, config, row->id, worker, &end, &err) != FW_OK)
            fw_log(FW_LOG_WARN, "worker", "%s", err.message);
        else if (sj.cached_key[0])
            fw_log(FW_LOG_INFO, "worker", "finished: %d frames in %.2f s, from the render cache", res.frames,
                   res.render_seconds);
        else if (sj.active)
            fw_log(FW_LOG_INFO, "worker", "finished: %d frames in %.2f s, in %d chunks (%d from the render cache)",
                   res.frames, res.render_seconds, sj.count, sj.chunks_cached);
        else
            fw_log(FW_LOG_INFO, "worker", "finished: %d frames in %.2f s", res.frames, res.render_seconds);
        free(fonts);
    } else {
        job_end end = {.kind = END_FAILED, .error = fw_error_text(&err, text, sizeof(text))};
        if (!is_job_error(rc)) {
            end.kind = END_HANDED_BACK;
            end.max_attempts = max_attempts(config);
            end.retry_ms = row->attempts < end.max_attempts ? retry_ms(config, row->attempts) : 0;
            fw_log(FW_LOG_WARN, "worker", "failed on our side (%s); handing it back%s", text,
                   end.retry_ms ? ", to be tried again later" : "");
        }
        if (record_end(store, config, row->id, worker, &end, &err) != FW_OK)
            fw_log(FW_LOG_WARN, "worker", "%s", err.message);
        else if (end.kind == END_FAILED)
            fw_log(FW_LOG_INFO, "worker", "the job failed: %s", text);
    }
    /* A job that ended (not handed back) needs its chunks no more. */
    if (sj.active && run.why != RUN_STOPPING && run.why != RUN_LEASE_LOST && (rc == FW_OK || is_job_error(rc) ||
                                                                              run.why == RUN_CANCELLED))
        drop_chunks(store, config, row->id);
    fw_render_result_clear(&res);
    fw_job_spec_free(&js.job);
    free(sj.digests);
    json_decref(request);
    fw_scratch_remove(&scratch);
    run_free(&run);
    return atomic_load(&run.store_failed) || run.why == RUN_LEASE_LOST;
}

/* ---- another worker's chunk ---------------------------------------------------------------- */

/* The planner of another's chunk: the part stays as asked; its digest is
 * noted for the cache. */
typedef struct chunk_plan {
    int cache;
    char digest[FW_DIGEST_HEX];
} chunk_plan;

static fw_err plan_chunk(void *user, const fw_render_plan *plan, fw_render_split *split, int *first, int *last,
                         fw_error *err)
{
    chunk_plan *cp = user;
    *split = FW_RENDER_PART;
    return cp->cache ? plan_digest(plan, FW_DIGEST_PART, *first, *last, cp->digest, err) : FW_OK;
}

/* Renders one chunk of a job another worker holds, into storage. Returns as
 * process() does. */
static int process_chunk(fw_store *store, const fw_worker_config *config, const char *worker, fw_chunk_row *chunk)
{
    char output[PATH_MAX], text[FW_ERROR_FIELD_MAX + FW_ERROR_MESSAGE_MAX + 4];
    fw_render_result res;
    fw_scratch scratch = {.fd = -1};
    const char *dir = scratch.path;
    json_t *request = NULL;
    int unwanted = 0;
    chunk_plan cp = {0};
    job_setup js;
    fw_job_row row;
    pthread_t beat;
    job_run run;
    fw_error err;
    fw_err rc;

    memset(&res, 0, sizeof(res));
    memset(&js, 0, sizeof(js));
    memset(&row, 0, sizeof(row));
    fw_error_clear(&err);
    if ((rc = fw_store_job_get(store, NULL, chunk->job_id, &row, &err)) != FW_OK) {
        fw_error ignored;
        fw_store_chunk_release(store, chunk->job_id, chunk->index, worker, "the job could not be read", INT_MAX, 0,
                               0, &ignored);
        fw_job_row_clear(&row);
        return rc == FW_ERR_UNAVAILABLE;
    }
    run_start(&run, config, worker, &row, chunk->index, &beat);
    request = json_loads(row.request_json, 0, NULL);
    if (!json_is_object(request))
        rc = fw_error_set(&err, FW_ERR_INVALID, NULL, "the job's stored request is not a JSON object");
    else
        rc = fw_scratch_make(&scratch, config->scratch_dir, SCRATCH_PREFIX, &err);
    snprintf(output, sizeof(output), "%s/part.mp4", dir);
    if (rc == FW_OK && config->secrets_key)
        rc = fw_job_secrets_apply(store, config->secrets_key, row.team_id, request, &err);
    if (rc == FW_OK)
        rc = setup_render(store, config, &row, request, dir, output, &run, &js, &err);
    if (rc == FW_OK) {
        cp.cache = cache_on(config, js.job);
        js.req.part = 1;
        js.req.part_first = chunk->first_frame;
        js.req.part_last = chunk->last_frame;
        js.req.planner = plan_chunk;
        js.req.planner_user = &cp;
        rc = fw_render_job(&js.req, &res, &err);
    }
    if (rc == FW_OK && !atomic_load(&run.cancel))
        confirm_lease(store, &run, chunk->index);
    if (rc == FW_OK && !atomic_load(&run.cancel)) {
        rc = finish_chunk(store, &run, chunk, output, res.render_seconds, cp.cache ? cp.digest : NULL, &err);
        unwanted = rc == FW_ERR_FAILED_PRECONDITION;
    } else if (rc == FW_OK) {
        rc = FW_ERR_CANCELLED;
    }
    run_stop(&run, beat);

    if (run.why == RUN_LEASE_LOST) {
        fw_log(FW_LOG_WARN, "worker", "chunk %d: the lease was lost; another worker has it", chunk->index + 1);
    } else if (run.why == RUN_CANCELLED) {
        fw_log(FW_LOG_INFO, "worker", "chunk %d: the job is no longer rendering", chunk->index + 1);
    } else if (run.why == RUN_STOPPING) {
        RETRY_STORE(config, rc, fw_store_chunk_release(store, chunk->job_id, chunk->index, worker,
                                                       "the worker stopped", INT_MAX, 0, 0, &err));
        fw_log(FW_LOG_INFO, "worker", "chunk %d handed back", chunk->index + 1);
    } else if (rc == FW_OK) {
        fw_log(FW_LOG_INFO, "worker", "chunk %d finished: frames %d to %d in %.2f s", chunk->index + 1,
               chunk->first_frame, chunk->last_frame, res.render_seconds);
    } else if (unwanted) {
        /* The job is not being rendered now: ended, or between holders (the
         * next one will want the chunk again, so it goes back at once). */
        fw_error ignored;
        fw_log(FW_LOG_WARN, "worker", "chunk %d is not wanted now: %s", chunk->index + 1, err.message);
        fw_store_chunk_release(store, chunk->job_id, chunk->index, worker, "the job was not being rendered", INT_MAX,
                               0, 0, &ignored);
    } else {
        /* The job's own failure ends the chunk (and so the job) at once;
         * ours gives it to another attempt. */
        fw_error_text(&err, text, sizeof(text));
        fw_log(FW_LOG_WARN, "worker", "chunk %d failed: %s", chunk->index + 1, text);
        int limit = is_job_error(rc) ? chunk->attempts : max_attempts(config);
        int64_t later = is_job_error(rc) ? 0 : retry_ms(config, chunk->attempts);
        RETRY_STORE(config, rc,
                    fw_store_chunk_release(store, chunk->job_id, chunk->index, worker, text, limit, 1, later, &err));
    }
    fw_render_result_clear(&res);
    fw_job_spec_free(&js.job);
    json_decref(request);
    fw_scratch_remove(&scratch);
    run_free(&run);
    fw_job_row_clear(&row);
    return atomic_load(&run.store_failed) || run.why == RUN_LEASE_LOST;
}

static void worker_name(const fw_worker_config *config, char *out, size_t size)
{
    char host[128] = "worker";
    if (config->name) {
        snprintf(out, size, "%s", config->name);
        return;
    }
    gethostname(host, sizeof(host) - 1);
    snprintf(out, size, "%s:%d", host, (int)getpid());
}

static fw_err run_once(fw_store *store, const fw_worker_config *config, const char *name, int *worked, fw_error *err)
{
    fw_job_row row;
    fw_err rc;

    *worked = 0;
    /* Chunks of jobs being rendered first: they finish a started job sooner. */
    if (config->chunk_frames >= 0) {
        fw_chunk_row chunk;
        memset(&chunk, 0, sizeof(chunk));
        rc = fw_store_chunk_claim(store, name, lease_ms(config), NULL, &chunk, err);
        if (rc == FW_OK) {
            *worked = 1;
            fw_log_set_job(chunk.job_id);
            fw_log(FW_LOG_INFO, "worker", "rendering chunk %d: frames %d to %d (attempt %d)", chunk.index + 1,
                   chunk.first_frame, chunk.last_frame, chunk.attempts);
            if (process_chunk(store, config, name, &chunk)) {
                fw_log(FW_LOG_INFO, "worker", "reconnecting to the store");
                fw_store_reconnect(store);
            }
            fw_log_set_job(NULL);
            chunk_clear(&chunk);
            return FW_OK;
        }
        chunk_clear(&chunk);
        if (rc != FW_ERR_NOT_FOUND)
            return rc;
    }
    memset(&row, 0, sizeof(row));
    rc = fw_store_job_claim_limited(store, name, lease_ms(config), config->team_renders, &row, err);
    if (rc == FW_ERR_NOT_FOUND)
        return FW_OK;
    if (rc)
        return rc;
    *worked = 1;
    fw_log_set_job(row.id);
    fw_log(FW_LOG_INFO, "worker", "rendering (attempt %d, team %s)", row.attempts, row.team_id);
    if (process(store, config, name, &row)) {
        /* Out of reach for a while: this connection may have lived through it
         * with the server's retransmissions backed off for tens of seconds. */
        fw_log(FW_LOG_INFO, "worker", "reconnecting to the store");
        fw_store_reconnect(store);
    }
    fw_log_set_job(NULL);
    fw_job_row_clear(&row);
    return FW_OK;
}

fw_err fw_worker_run_once(const fw_worker_config *config, int *worked, fw_error *err)
{
    char name[192];
    fw_store *store = NULL;
    fw_err rc;

    worker_name(config, name, sizeof(name));
    if ((rc = fw_store_open(&store, config->store_url, err)))
        return rc;
    rc = run_once(store, config, name, worked, err);
    fw_store_close(&store);
    return rc;
}

/* An idle worker waits for a job to change in another process (PostgreSQL's
 * NOTIFY, so a new job is taken at once) or for idle_ms, whichever comes
 * first; the timeout still finds work where the store has no notifications
 * (SQLite) or one was missed. A notification that arrived during the last
 * call waits inside the store, not on the socket: it is drained first. */
static void wait_for_work(fw_store *store, int64_t idle_ms)
{
    int fd = fw_store_notify_fd(store);
    struct timespec pause = {(time_t)(idle_ms / 1000), (long)(idle_ms % 1000) * 1000000L};
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    if (fd < 0) {
        nanosleep(&pause, NULL);
        return;
    }
    if (fw_store_drain_notify(store) > 0)
        return;
    if (poll(&pfd, 1, (int)idle_ms) > 0)
        fw_store_drain_notify(store);
}

fw_err fw_worker_run(const fw_worker_config *config, fw_error *err)
{
    int64_t idle = config->idle_poll_ms > 0 ? config->idle_poll_ms : 500;
    int swept;
    char name[192];
    fw_store *store = NULL;
    fw_err rc;

    worker_name(config, name, sizeof(name));
    if ((rc = fw_store_open(&store, config->store_url, err)))
        return rc;
    fw_log(FW_LOG_INFO, "worker", "%s takes jobs from the %s store", name, fw_store_kind(store));
    swept = fw_scratch_sweep(config->scratch_dir, SCRATCH_PREFIX);
    if (swept)
        fw_log(FW_LOG_INFO, "worker", "removed %d scratch folder(s) left by workers that died", swept);
    while (!config->stop || !atomic_load(config->stop)) {
        int worked = 0;
        if ((rc = run_once(store, config, name, &worked, err))) {
            /* The store is unreachable (its socket may stay readable): wait, then try again. */
            struct timespec pause = {(time_t)(idle / 1000), (long)(idle % 1000) * 1000000L};
            fw_log(FW_LOG_WARN, "worker", "%s", err->message);
            nanosleep(&pause, NULL);
        } else if (!worked) {
            wait_for_work(store, idle);
        }
    }
    fw_store_close(&store);
    return FW_OK;
}
