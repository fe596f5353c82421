/*
 * pixels.c - unpremultiplying and GIF palettes.
 *
 * The palette is a median cut: the picture's colours, reduced to 5 bits per
 * channel, start as one box; the box with the most pixels that can still be
 * split is cut at its weighted median along its longest side, until there
 * are 256 boxes. Each box's colour is the pixel-weighted mean of its bins.
 * Reducing to 15 bits first keeps the work per frame bounded (32768 bins)
 * whatever the picture size; for motion graphics, flat colours and smooth
 * gradients, that is plenty to be recognisable.
 */
#include "server/media/pixels.h"

#include <stdlib.h>
#include <string.h>

void fw_pixels_unpremultiply_row(const uint32_t *src, uint32_t *dst, int width)
{
    for (int x = 0; x < width; x++) {
        uint32_t p = src[x];
        uint32_t a = p >> 24;
        if (a == 255) {
            dst[x] = p;
        } else if (a == 0) {
            dst[x] = 0;
        } else {
            uint32_t r = (((p >> 16) & 255) * 255 + a / 2) / a;
            uint32_t g = (((p >> 8) & 255) * 255 + a / 2) / a;
            uint32_t b = ((p & 255) * 255 + a / 2) / a;
            r = r > 255 ? 255 : r;
            g = g > 255 ? 255 : g;
            b = b > 255 ? 255 : b;
            dst[x] = a << 24 | r << 16 | g << 8 | b;
        }
    }
}

#define BIN_OF(p) ((uint16_t)((((p) >> 9) & 0x7c00) | (((p) >> 6) & 0x03e0) | (((p) >> 3) & 0x001f)))
#define BIN_CHANNEL(bin, ch) ((int)(((bin) >> (10 - 5 * (ch))) & 31)) /* ch: 0 r, 1 g, 2 b */

typedef struct box {
    int start, count; /* range in q->used */
    uint64_t pixels;
    int axis, span;   /* longest side */
} box;

/* qsort has no context argument; the quantizer runs on one thread per
 * encoder, but several encoders may run at once, hence thread-local. */
static _Thread_local int sort_axis;

static int compare_bins(const void *a, const void *b)
{
    int ca = BIN_CHANNEL(*(const uint16_t *)a, sort_axis);
    int cb = BIN_CHANNEL(*(const uint16_t *)b, sort_axis);
    return ca - cb;
}

static void measure(const fw_quantizer *q, box *bx)
{
    int lo[3] = {31, 31, 31}, hi[3] = {0, 0, 0};
    bx->pixels = 0;
    for (int i = bx->start; i < bx->start + bx->count; i++) {
        uint16_t bin = q->used[i];
        for (int ch = 0; ch < 3; ch++) {
            int v = BIN_CHANNEL(bin, ch);
            lo[ch] = v < lo[ch] ? v : lo[ch];
            hi[ch] = v > hi[ch] ? v : hi[ch];
        }
        bx->pixels += q->histogram[bin];
    }
    bx->axis = 0;
    bx->span = 0;
    for (int ch = 0; ch < 3; ch++) {
        if (hi[ch] - lo[ch] > bx->span) {
            bx->span = hi[ch] - lo[ch];
            bx->axis = ch;
        }
    }
}

/* Cut bx in two at its weighted median; the upper part goes to *upper. */
static void split(fw_quantizer *q, box *bx, box *upper)
{
    sort_axis = bx->axis;
    qsort(q->used + bx->start, (size_t)bx->count, sizeof(q->used[0]), compare_bins);
    uint64_t half = bx->pixels / 2, seen = 0;
    int cut = 1;
    for (int i = 0; i < bx->count - 1; i++) {
        seen += q->histogram[q->used[bx->start + i]];
        cut = i + 1;
        if (seen >= half)
            break;
    }
    upper->start = bx->start + cut;
    upper->count = bx->count - cut;
    bx->count = cut;
    measure(q, bx);
    measure(q, upper);
}

void fw_quantize(fw_quantizer *q, const uint8_t *src, int src_stride, int width, int height, uint8_t *out,
                 int out_stride, uint32_t palette[256])
{
    box boxes[256];
    int box_count = 1;

    memset(q->histogram, 0, sizeof(q->histogram));
    for (int y = 0; y < height; y++) {
        const uint32_t *row = (const uint32_t *)(src + (size_t)y * src_stride);
        for (int x = 0; x < width; x++)
            q->histogram[BIN_OF(row[x])]++;
    }
    q->used_count = 0;
    for (int bin = 0; bin < FW_QUANT_BINS; bin++)
        if (q->histogram[bin])
            q->used[q->used_count++] = (uint16_t)bin;

    boxes[0].start = 0;
    boxes[0].count = q->used_count;
    measure(q, &boxes[0]);
    while (box_count < 256) {
        int best = -1;
        for (int i = 0; i < box_count; i++)
            if (boxes[i].count > 1 && boxes[i].span > 0 && (best < 0 || boxes[i].pixels > boxes[best].pixels))
                best = i;
        if (best < 0)
            break;
        split(q, &boxes[best], &boxes[box_count]);
        box_count++;
    }

    for (int i = 0; i < 256; i++)
        palette[i] = 0xff000000u;
    for (int i = 0; i < box_count; i++) {
        uint64_t sum[3] = {0, 0, 0}, n = 0;
        for (int j = boxes[i].start; j < boxes[i].start + boxes[i].count; j++) {
            uint16_t bin = q->used[j];
            uint32_t c = q->histogram[bin];
            for (int ch = 0; ch < 3; ch++)
                sum[ch] += (uint64_t)c * (uint64_t)(BIN_CHANNEL(bin, ch) * 255 / 31);
            n += c;
            q->lookup[bin] = (uint8_t)i;
        }
        if (n) {
            palette[i] = 0xff000000u | (uint32_t)((sum[0] + n / 2) / n) << 16 |
                         (uint32_t)((sum[1] + n / 2) / n) << 8 | (uint32_t)((sum[2] + n / 2) / n);
        }
    }

    for (int y = 0; y < height; y++) {
        const uint32_t *row = (const uint32_t *)(src + (size_t)y * src_stride);
        uint8_t *dst = out + (size_t)y * out_stride;
        for (int x = 0; x < width; x++)
            dst[x] = q->lookup[BIN_OF(row[x])];
    }
}
