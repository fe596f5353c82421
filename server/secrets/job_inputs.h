/*
 * job_inputs.h - what a job takes from its team besides the template: the
 * secrets its placeholders name, the fonts it and its template need, and the
 * team's own bucket its output goes to.
 *
 * Used at submission (which fonts are missing, where the output will be) and
 * by the worker at render time (the fonts fetched, the placeholders filled,
 * the output uploaded). The stored job is never changed: substitution
 * happens on the worker's parsed copy.
 *
 * A font need is an array of candidate names, the first being the one
 * reported when none matches: a job's `fonts` entry is [entry]; a template
 * font is [name, family]. A team font matches a candidate by file name,
 * family or PostScript name, ignoring case; the first matching team font
 * (oldest first) is the one used.
 */
#ifndef FW_SECRETS_JOB_INPUTS_H
#define FW_SECRETS_JOB_INPUTS_H

#include <jansson.h>

#include "server/secrets/secrets.h"
#include "server/storage/storage.h"
#include "server/store/store.h"
#include "server/util/error.h"

/* The needs of job (its JSON) and of its template (details, may be NULL):
 * a new array of arrays of strings. Fonts drawn from embedded glyphs are not
 * needed. */
json_t *fw_job_font_needs(json_t *job, json_t *template_details);

/* For each need, the index of the first font in fonts[0..n) that matches, or -1. */
int fw_job_font_choose(json_t *need, const fw_font_row *fonts, size_t n);

/* The names of the needs (fw_job_font_needs) no font of fonts[0..count)
 * (the team's) matches and the template does not draw by itself (from its
 * bundle, or with a face this machine has of that family, as its details'
 * font match says): a new array, NULL when out of memory. */
json_t *fw_job_missing_fonts_among(json_t *needs, json_t *template_details, const fw_font_row *fonts, size_t count);

/* What a job row keeps of its fonts (store.h, missing_fonts_json): the
 * missing names, and what stands in for those the template's details say
 * this machine substitutes; a new reference. */
json_t *fw_job_font_report(json_t *missing, json_t *template_details);

/* Fetch the team's fonts the job (root of a parsed job; its "fonts" array is
 * rewritten) and its template need into dir, and list their file names in
 * the job's fonts, so the renderer, given dir in font_dirs, uses them. Job
 * fonts no team font matches stay as they are (the renderer reports them).
 * template_version: the version of template_id the job renders (0: the current one). */
fw_err fw_job_fonts_fetch(fw_store *store, fw_storage *storage, const char *team_id, const char *template_id,
                          int template_version, json_t *job, const char *dir, fw_error *err);

/* Fill the placeholders of every asset src (nested jobs' too) in job. */
fw_err fw_job_secrets_apply(fw_store *store, const unsigned char key[FW_SECRETS_KEY_SIZE], const char *team_id,
                            json_t *job, fw_error *err);

/* Where job_id's output lands under the job's upload block: the object key
 * (prefix + id + "." + ext) into *key and the URL reported for it (outputUrl
 * + "/" + key, or the bucket's object URL) into *url; both new strings.
 * Placeholders in endpoint or bucket stay in the URL as written. */
fw_err fw_job_upload_target(json_t *upload, const char *job_id, const char *ext, char **key, char **url,
                            fw_error *err);

/* Put the file at path into the job's own bucket (upload block, secrets
 * filled). Errors carry S3's text with every secret value and both keys
 * replaced by "[redacted]". */
fw_err fw_job_upload(fw_store *store, const unsigned char key[FW_SECRETS_KEY_SIZE], const char *team_id,
                     json_t *upload, const char *job_id, const char *ext, const char *path, fw_error *err);

#endif
