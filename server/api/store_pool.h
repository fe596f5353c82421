/*
 * store_pool.h - store connections shared by the server's handler threads.
 *
 * A fw_store serves one thread at a time; the gRPC handlers run on a pool of
 * threads. The pool opens up to `size` connections lazily and hands one to
 * each caller until it gives it back, blocking while all are in use.
 */
#ifndef FW_API_STORE_POOL_H
#define FW_API_STORE_POOL_H

#include "server/store/store.h"
#include "server/util/error.h"

typedef struct fw_store_pool fw_store_pool;

fw_err fw_store_pool_new(fw_store_pool **out, const char *url, int size, fw_error *err);
void fw_store_pool_free(fw_store_pool **pool);

/* A connection for this thread; give it back with fw_store_pool_put. */
fw_err fw_store_pool_get(fw_store_pool *pool, fw_store **store, fw_error *err);
void fw_store_pool_put(fw_store_pool *pool, fw_store *store);

/* Time every statement of the pool's connections (fw_store_set_timing), those
 * open now and those opened later. Call it before the pool is shared. */
void fw_store_pool_set_timing(fw_store_pool *pool, fw_store_timing_fn fn, void *ctx);

#endif
