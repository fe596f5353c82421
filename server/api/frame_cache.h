/*
 * frame_cache.h - encoded template frames kept in memory, and the gate that
 * bounds how many are drawn at once (GetTemplateFrame, template_frames.c).
 *
 * A dashboard asks for the same poster and preview frames each time a
 * template's page is opened, and drawing one means fetching the bundle,
 * loading the document and laying its text out, so answers are kept: least
 * recently used first out, bounded in bytes. The key says everything the
 * picture depends on (team, template, version, composition, frame, size),
 * and a version's bundle never changes, so nothing is ever stale.
 *
 * Drawing happens on the API's RPC threads; the gate keeps a burst of
 * preview requests from taking all of them (and the machine's cores).
 * The object is shared by those threads; every call takes its lock.
 */
#ifndef FW_API_FRAME_CACHE_H
#define FW_API_FRAME_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "server/util/error.h"

typedef struct fw_frame_cache fw_frame_cache;

/* max_bytes: encoded pictures kept (0: 64 MiB); max_drawing: frames drawn at
 * once (0: 2). */
fw_err fw_frame_cache_new(fw_frame_cache **out, size_t max_bytes, int max_drawing, fw_error *err);

/* Frees every entry; nulls *cache. NULL and *NULL are fine. */
void fw_frame_cache_free(fw_frame_cache **cache);

/* A copy of the picture under key (malloc'd, the caller frees) and its
 * size; NULL when not kept. A hit makes the entry the most recently used. */
unsigned char *fw_frame_cache_get(fw_frame_cache *cache, const char *key, size_t *len, int *width, int *height);

/* Keep a copy of data under key (replacing an entry of that key). A
 * picture larger than a quarter of the cache is not kept. */
void fw_frame_cache_put(fw_frame_cache *cache, const char *key, const unsigned char *data, size_t len, int width,
                        int height);

/* Wait up to wait_ms for a drawing slot: FW_OK (then call
 * fw_frame_cache_end_drawing), or FW_ERR_QUOTA with a retry-after. */
fw_err fw_frame_cache_begin_drawing(fw_frame_cache *cache, int wait_ms, fw_error *err);
void fw_frame_cache_end_drawing(fw_frame_cache *cache);

/* How many answers came from the cache and how many were drawn, since it
 * was made (for tests and logs). */
void fw_frame_cache_counts(fw_frame_cache *cache, uint64_t *hits, uint64_t *misses);

#endif
