/*
 * histogram.h - a histogram of durations (or any non-negative figure) that
 * many threads add to, read now and then by a metrics call.
 *
 * Fixed bounds chosen at creation, as Prometheus histograms have them: an
 * observation counts in the first bucket whose bound is at least its value,
 * or in the overflow beyond the last. Adding takes a mutex for a few
 * instructions; contention is not a concern at the rate statements run.
 */
#ifndef FW_UTIL_HISTOGRAM_H
#define FW_UTIL_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "server/util/error.h"

#define FW_HISTOGRAM_BOUNDS_MAX 16

typedef struct fw_histogram fw_histogram;

/* A reading: counts[i] observations at most bounds[i], cumulative;
 * count every observation, sum their total. */
typedef struct fw_histogram_snapshot {
    size_t bound_count;
    double bounds[FW_HISTOGRAM_BOUNDS_MAX];
    uint64_t counts[FW_HISTOGRAM_BOUNDS_MAX];
    uint64_t count;
    double sum;
} fw_histogram_snapshot;

/* bounds: 1..FW_HISTOGRAM_BOUNDS_MAX ascending values (copied). *out is the
 * caller's, freed with fw_histogram_free. */
fw_err fw_histogram_new(fw_histogram **out, const double *bounds, size_t count, fw_error *err);
void fw_histogram_free(fw_histogram **h);

void fw_histogram_add(fw_histogram *h, double value);

/* The same, with the signature of a callback taking a context (h). */
void fw_histogram_add_to(void *h, double value);

void fw_histogram_read(fw_histogram *h, fw_histogram_snapshot *out);

#endif
