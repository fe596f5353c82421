/*
 * job.h - a render job as Nexrender-style JSON, checked and with its
 * settings resolved.
 *
 * The job JSON (what `framewright render JOB.json` reads and what the API's
 * JobRequest becomes) is validated for structure here: known fields of the
 * right types, the ten asset kinds with what each needs, settings values.
 * Whether a layer or composition exists is checked later, against the
 * template, by server/template.
 */
#ifndef FW_JOBS_JOB_H
#define FW_JOBS_JOB_H

#include <jansson.h>
#include <stdbool.h>

#include "server/util/error.h"

typedef enum fw_output_type {
    FW_OUTPUT_VIDEO = 0,
    FW_OUTPUT_IMAGE,
    FW_OUTPUT_AEP, /* the patched template itself */
} fw_output_type;

typedef struct fw_render_settings {
    fw_output_type type;
    char codec[64];     /* as given, "" for the type's default */
    int frame_start;    /* -1: from the start */
    int frame_end;      /* inclusive; -1: to the end */
    bool draft;         /* quality "draft" */
    bool preview;       /* fast low-resolution render */
    char engine[32];    /* "" for the default engine */
    int chunks;         /* parts of a split render: 0 the farm's choice, 1 whole, N about N */
} fw_render_settings;

#define FW_JOB_MAX_CHUNKS 1000

typedef struct fw_job_spec {
    json_t *root;              /* the whole job document, owned */
    const char *template_id;   /* borrowed from root; NULL when absent */
    const char *template_src;  /* borrowed from root; NULL when absent */
    const char *composition;   /* borrowed from root; NULL: the root composition */
    json_t *assets;            /* borrowed array, never NULL */
    json_t *fonts;             /* borrowed array of strings, never NULL */
    fw_render_settings settings;
    bool cache;                /* "cache": false renders it even when the render cache has it */
} fw_job_spec;

/* Parse and check job JSON text. On success *out owns everything and is
 * freed with fw_job_spec_free. */
fw_err fw_job_parse(fw_job_spec **out, const char *text, size_t len, fw_error *err);

/* The same from a JSON tree; takes a new reference to root. */
fw_err fw_job_from_json(fw_job_spec **out, json_t *root, fw_error *err);

void fw_job_spec_free(fw_job_spec **job);

/* Checks one asset object (path is used in errors, e.g. "assets[3]"). */
fw_err fw_job_check_asset(const json_t *asset, const char *path, int depth, fw_error *err);

#endif
