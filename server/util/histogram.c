/* histogram.c - see histogram.h. */
#include "server/util/histogram.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct fw_histogram {
    pthread_mutex_t lock;
    size_t bound_count;
    double bounds[FW_HISTOGRAM_BOUNDS_MAX];
    uint64_t buckets[FW_HISTOGRAM_BOUNDS_MAX + 1]; /* not cumulative; the last is the overflow */
    double sum;
};

fw_err fw_histogram_new(fw_histogram **out, const double *bounds, size_t count, fw_error *err)
{
    fw_histogram *h;

    *out = NULL;
    if (count < 1 || count > FW_HISTOGRAM_BOUNDS_MAX)
        return fw_error_set(err, FW_ERR_INVALID, "bounds", "a histogram has 1 to %d bounds, not %zu",
                            FW_HISTOGRAM_BOUNDS_MAX, count);
    for (size_t i = 1; i < count; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return fw_error_set(err, FW_ERR_INVALID, "bounds", "histogram bounds must ascend (%g after %g)",
                                bounds[i], bounds[i - 1]);
    if (!(h = calloc(1, sizeof(*h))))
        return fw_error_set(err, FW_ERR_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&h->lock, NULL);
    h->bound_count = count;
    memcpy(h->bounds, bounds, count * sizeof(*bounds));
    *out = h;
    return FW_OK;
}

void fw_histogram_free(fw_histogram **hp)
{
    fw_histogram *h = hp ? *hp : NULL;
    if (!h)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h);
    *hp = NULL;
}

void fw_histogram_add(fw_histogram *h, double value)
{
    size_t i = 0;
    while (i < h->bound_count && value > h->bounds[i])
        i++;
    pthread_mutex_lock(&h->lock);
    h->buckets[i]++;
    h->sum += value;
    pthread_mutex_unlock(&h->lock);
}

void fw_histogram_add_to(void *h, double value)
{
    fw_histogram_add(h, value);
}

void fw_histogram_read(fw_histogram *h, fw_histogram_snapshot *out)
{
    uint64_t running = 0;

    memset(out, 0, sizeof(*out));
    out->bound_count = h->bound_count;
    memcpy(out->bounds, h->bounds, h->bound_count * sizeof(h->bounds[0]));
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->bound_count; i++) {
        running += h->buckets[i];
        out->counts[i] = running;
    }
    out->count = running + h->buckets[h->bound_count];
    out->sum = h->sum;
    pthread_mutex_unlock(&h->lock);
}
