/*
 * image_probe.c - the pixel size of an image from its header.
 *
 * Engines draw an image asset stretched to the asset's declared w x h, so
 * replacing an image needs the new one's real size; reading the header is
 * enough and avoids decoding the whole picture.
 */
#include "server/template/assets.h"

#include <string.h>

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static unsigned le16(const unsigned char *p) { return (unsigned)p[1] << 8 | p[0]; }
static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static int jpeg_size(const unsigned char *d, size_t n, int *w, int *h)
{
    size_t i = 2;
    while (i + 9 < n) {
        if (d[i] != 0xFF) {
            i++;
            continue;
        }
        unsigned marker = d[i + 1];
        if (marker == 0xFF) {
            i++;
            continue;
        }
        if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
            i += 2;
            continue;
        }
        unsigned len = be16(d + i + 2);
        /* Start-of-frame markers carry the size; C4, C8 and CC are not frames. */
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
            *h = (int)be16(d + i + 5);
            *w = (int)be16(d + i + 7);
            return *w > 0 && *h > 0;
        }
        if (len < 2)
            return 0;
        i += 2 + len;
    }
    return 0;
}

fw_err fw_image_probe(const unsigned char *d, size_t n, int *w, int *h, const char **format)
{
    *w = *h = 0;
    if (n >= 24 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(d + 12, "IHDR", 4) == 0) {
        *w = (int)be32(d + 16);
        *h = (int)be32(d + 20);
        *format = "png";
    } else if (n >= 4 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) {
        *format = "jpeg";
        if (!jpeg_size(d, n, w, h))
            return FW_ERR_INVALID;
    } else if (n >= 30 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) {
        *format = "webp";
        if (memcmp(d + 12, "VP8 ", 4) == 0) {
            *w = (int)(le16(d + 26) & 0x3FFF);
            *h = (int)(le16(d + 28) & 0x3FFF);
        } else if (memcmp(d + 12, "VP8L", 4) == 0 && d[20] == 0x2F) {
            unsigned long bits = (unsigned long)d[21] | (unsigned long)d[22] << 8 | (unsigned long)d[23] << 16 |
                                 (unsigned long)d[24] << 24;
            *w = (int)(bits & 0x3FFF) + 1;
            *h = (int)((bits >> 14) & 0x3FFF) + 1;
        } else if (memcmp(d + 12, "VP8X", 4) == 0) {
            *w = (int)((unsigned long)d[24] | (unsigned long)d[25] << 8 | (unsigned long)d[26] << 16) + 1;
            *h = (int)((unsigned long)d[27] | (unsigned long)d[28] << 8 | (unsigned long)d[29] << 16) + 1;
        }
    } else if (n >= 10 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) {
        *format = "gif";
        *w = (int)le16(d + 6);
        *h = (int)le16(d + 8);
    } else {
        return FW_ERR_UNSUPPORTED;
    }
    return *w > 0 && *h > 0 && *w <= 65535 && *h <= 65535 ? FW_OK : FW_ERR_INVALID;
}
