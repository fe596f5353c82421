/*
 * synthetic.h - what the media tests encode and how they look at the result.
 *
 * The animation: a transparent background; a static opaque green square;
 * a half-transparent red square moving down-right by (4, 2) pixels a frame.
 * Optionally the whole picture is covered by opaque noise over a gradient,
 * so rate control has something to spend bits on.
 *
 * ffprobe is the real command, run through popen with JSON output, so what
 * the tests check is what any other tool would see.
 */
#ifndef FW_TESTS_MEDIA_SYNTHETIC_H
#define FW_TESTS_MEDIA_SYNTHETIC_H

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/media/encoder.h"

/* Straight colours, and the premultiplied ARGB the renderer would draw. */
#define OPAQUE_R 30
#define OPAQUE_G 180
#define OPAQUE_B 90
#define MOVING_R 200
#define MOVING_G 40
#define MOVING_B 60
#define MOVING_A 128

static inline uint32_t premultiplied(int r, int g, int b, int a)
{
    return (uint32_t)a << 24 | (uint32_t)((r * a + 127) / 255) << 16 | (uint32_t)((g * a + 127) / 255) << 8 |
           (uint32_t)((b * a + 127) / 255);
}

/* The moving square's top-left corner in frame i; it is 64x64 (scaled for
 * larger pictures by scale). */
static inline void moving_square_at(int i, int scale, int *x, int *y)
{
    *x = (20 + 4 * i) * scale;
    *y = (60 + 2 * i) * scale;
}

static inline void fill_rect(fw_frame *f, int x0, int y0, int w, int h, uint32_t colour)
{
    for (int y = y0; y < y0 + h && y < f->height; y++) {
        uint32_t *row = (uint32_t *)((uint8_t *)f->pixels + (size_t)y * f->stride);
        for (int x = x0; x < x0 + w && x < f->width; x++)
            row[x] = colour;
    }
}

static inline void draw_frame(fw_frame *f, int i, int noise)
{
    int scale = f->width / 320 > 0 ? f->width / 320 : 1;
    if (noise) {
        uint32_t seed = 2463534242u ^ (uint32_t)(i * 7919);
        for (int y = 0; y < f->height; y++) {
            uint32_t *row = (uint32_t *)((uint8_t *)f->pixels + (size_t)y * f->stride);
            for (int x = 0; x < f->width; x++) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                int base = (x + y + 3 * i) & 127;
                int n = (int)(seed & 63);
                row[x] = 0xff000000u | (uint32_t)(base + n) << 16 | (uint32_t)(64 + n) << 8 | (uint32_t)(base / 2 + n);
            }
        }
    } else {
        fill_rect(f, 0, 0, f->width, f->height, 0);
    }
    fill_rect(f, 240 * scale, 10 * scale, 60 * scale, 40 * scale, premultiplied(OPAQUE_R, OPAQUE_G, OPAQUE_B, 255));
    int x, y;
    moving_square_at(i, scale, &x, &y);
    fill_rect(f, x, y, 64 * scale, 64 * scale, premultiplied(MOVING_R, MOVING_G, MOVING_B, MOVING_A));
}

/* Encode frames of the synthetic animation; returns the first error. */
static inline fw_err encode_synthetic(const fw_encoder_options *opts, int frames, int noise, fw_error *err)
{
    fw_encoder *enc = NULL;
    fw_err e = fw_encoder_open(&enc, opts, err);
    for (int i = 0; e == FW_OK && i < frames; i++) {
        fw_frame *f;
        e = fw_encoder_frame_acquire(enc, &f, err);
        if (e == FW_OK) {
            draw_frame(f, i, noise);
            e = fw_encoder_frame_submit(enc, f, err);
        }
    }
    if (e == FW_OK)
        e = fw_encoder_finish(enc, err);
    fw_encoder_free(&enc);
    return e;
}

/* `ffprobe -show_streams -show_format -count_frames` of the first video
 * stream as JSON, or NULL. The caller json_decref()s it. */
static inline json_t *ffprobe(const char *path)
{
    char cmd[4600];
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -count_frames -select_streams v:0 -show_streams -show_format -of json '%s'", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    json_error_t jerr;
    json_t *root = json_loadf(p, 0, &jerr);
    pclose(p);
    return root;
}

static inline json_t *ffprobe_stream(json_t *root)
{
    return json_array_get(json_object_get(root, "streams"), 0);
}

static inline const char *json_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* Numbers that ffprobe prints as strings ("nb_read_frames": "48"). */
static inline long long json_num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    return json_is_string(v) ? atoll(json_string_value(v)) : -1;
}

static inline const uint8_t *rgba_at(const uint8_t *rgba, int width, int x, int y)
{
    return rgba + ((size_t)y * (size_t)width + (size_t)x) * 4;
}

/* ---- numbered clips: each picture shows its own number --------------------------------------- */

/* Picture n shows n in binary as NUMBER_BITS vertical bands, the lowest bit
 * on the left, white for 1 and black for 0: coarse enough that any codec
 * and any scaling keeps it readable. */
#define NUMBER_BITS 10

static inline void draw_number(uint32_t *pixels, size_t stride, int width, int height, int n)
{
    for (int y = 0; y < height; y++) {
        uint32_t *row = (uint32_t *)((uint8_t *)pixels + (size_t)y * stride);
        for (int x = 0; x < width; x++)
            row[x] = (n >> (x * NUMBER_BITS / width)) & 1 ? 0xffffffffu : 0xff000000u;
    }
}

/* The number shown by premultiplied ARGB32 pixels, read in the middle of
 * each band at row y (the whole picture when region_w is width). Bands
 * start at x0 and are region_w / NUMBER_BITS wide. */
static inline int read_number_at(const uint32_t *pixels, size_t stride, int x0, int region_w, int y)
{
    const uint32_t *row = (const uint32_t *)((const uint8_t *)pixels + (size_t)y * stride);
    int n = 0;
    for (int bit = 0; bit < NUMBER_BITS; bit++) {
        int x = x0 + (int)((bit + 0.5) * region_w / NUMBER_BITS);
        uint32_t p = row[x];
        int luma = (int)(((p >> 16) & 255) + ((p >> 8) & 255) + (p & 255)) / 3;
        if (luma > 128)
            n |= 1 << bit;
    }
    return n;
}

static inline int read_number(const uint32_t *pixels, size_t stride, int width, int height)
{
    return read_number_at(pixels, stride, 0, width, height / 2);
}

/* Picture n in one flat colour that says n: its digits in base 5 as the
 * levels 0, 64, 128, 191, 255 of blue, green and red (n < 125). A colour
 * survives rotation, scaling and any codec where bands would not. */
static inline uint32_t colour_of_number(int n)
{
    static const int level[5] = {0, 64, 128, 191, 255};
    n %= 125;
    return 0xff000000u | (uint32_t)level[n / 25] << 16 | (uint32_t)level[n / 5 % 5] << 8 | (uint32_t)level[n % 5];
}

/* The number an RGB colour says, or -1 when a channel is far from every level. */
static inline int number_of_colour(int r, int g, int b)
{
    int digits[3], channel[3] = {r, g, b};
    for (int i = 0; i < 3; i++) {
        int d = (channel[i] * 4 + 127) / 255;
        if (abs(channel[i] - d * 255 / 4) > 24)
            return -1;
        digits[i] = d;
    }
    return digits[0] * 25 + digits[1] * 5 + digits[2];
}

static inline void fill_colour_number(uint32_t *pixels, size_t stride, int width, int height, int n)
{
    for (int y = 0; y < height; y++) {
        uint32_t *row = (uint32_t *)((uint8_t *)pixels + (size_t)y * stride);
        for (int x = 0; x < width; x++)
            row[x] = colour_of_number(n);
    }
}

/* Encode a numbered clip of frames pictures at fps_num/fps_den: bands
 * (draw_number), or flat colours (colour_of_number) when colour is set. */
static inline fw_err encode_numbered_as(const fw_codec *codec, const char *path, int width, int height, int fps_num,
                                        int fps_den, int frames, int colour, fw_error *err)
{
    fw_encoder_options opts = {.codec = codec, .width = width, .height = height, .fps_num = fps_num,
                               .fps_den = fps_den, .output_path = path, .frame_count = frames};
    fw_encoder *enc = NULL;
    fw_err e = fw_encoder_open(&enc, &opts, err);
    for (int i = 0; e == FW_OK && i < frames; i++) {
        fw_frame *f;
        e = fw_encoder_frame_acquire(enc, &f, err);
        if (e == FW_OK) {
            if (colour)
                fill_colour_number(f->pixels, (size_t)f->stride, f->width, f->height, i);
            else
                draw_number(f->pixels, (size_t)f->stride, f->width, f->height, i);
            e = fw_encoder_frame_submit(enc, f, err);
        }
    }
    if (e == FW_OK)
        e = fw_encoder_finish(enc, err);
    fw_encoder_free(&enc);
    return e;
}

/* A 16-bit PCM WAV file: a sine of freq Hz at amplitude (0..1) for
 * tone_seconds, then silence up to seconds, on every channel. */
static inline int write_tone_wav(const char *path, int rate, int channels, double seconds, double tone_seconds,
                                 double freq, double amplitude)
{
    FILE *out = fopen(path, "wb");
    if (!out)
        return -1;
    uint32_t samples = (uint32_t)(seconds * rate), bytes = samples * (uint32_t)channels * 2;
    uint32_t riff[] = {0x46464952u, 36 + bytes, 0x45564157u, 0x20746d66u, 16};
    uint16_t format[] = {1, (uint16_t)channels};
    uint32_t rates[] = {(uint32_t)rate, (uint32_t)rate * (uint32_t)channels * 2};
    uint16_t align[] = {(uint16_t)(channels * 2), 16};
    uint32_t data[] = {0x61746164u, bytes};
    fwrite(riff, sizeof(riff), 1, out);
    fwrite(format, sizeof(format), 1, out);
    fwrite(rates, sizeof(rates), 1, out);
    fwrite(align, sizeof(align), 1, out);
    fwrite(data, sizeof(data), 1, out);
    for (uint32_t i = 0; i < samples; i++) {
        double t = (double)i / rate;
        int16_t v = t < tone_seconds ? (int16_t)lrint(32767 * amplitude * sin(2 * M_PI * freq * t)) : 0;
        for (int c = 0; c < channels; c++)
            fwrite(&v, sizeof(v), 1, out);
    }
    return fclose(out);
}

static inline fw_err encode_numbered(const fw_codec *codec, const char *path, int width, int height, int fps_num,
                                     int fps_den, int frames, fw_error *err)
{
    return encode_numbered_as(codec, path, width, height, fps_num, fps_den, frames, 0, err);
}

/* ---- sound in files, as ffprobe and ffmpeg see it --------------------------------------------- */

/* `ffprobe` of the first audio stream: codec, rate, channels, duration. */
static inline int probe_audio(const char *path, char *codec, int *rate, int *channels, double *duration)
{
    char cmd[4600];
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams a:0 -show_entries stream=codec_name,sample_rate,channels,duration "
             "-of default=noprint_wrappers=1 '%s'",
             path);
    FILE *p = popen(cmd, "r");
    char line[256];
    int found = 0;
    if (!p)
        return 0;
    while (fgets(line, sizeof(line), p)) {
        found |= sscanf(line, "codec_name=%31s", codec) == 1;
        sscanf(line, "sample_rate=%d", rate);
        sscanf(line, "channels=%d", channels);
        sscanf(line, "duration=%lf", duration);
    }
    pclose(p);
    return found;
}

static inline double probe_video_duration(const char *path)
{
    char cmd[4600];
    double d = -1;
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams v:0 -show_entries stream=duration -of default=nw=1:nk=1 '%s'", path);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (fscanf(p, "%lf", &d) != 1)
            d = -1;
        pclose(p);
    }
    return d;
}

/* The RMS level of the left channel of the file's sound over [from, to) seconds, by ffmpeg. */
static inline double file_rms(const char *path, double from, double to)
{
    char cmd[4600];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -v error -ss %.3f -t %.3f -i '%s' -vn -af 'pan=mono|c0=FL' -ar 48000 -f f32le -", from,
             to - from, path);
    FILE *p = popen(cmd, "r");
    float v;
    double sum = 0;
    long n = 0;
    if (!p)
        return -1;
    while (fread(&v, sizeof(v), 1, p) == 1) {
        sum += (double)v * v;
        n++;
    }
    pclose(p);
    return n ? sqrt(sum / (double)n) : -1;
}

#endif
