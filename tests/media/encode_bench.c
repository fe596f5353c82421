/*
 * encode_bench.c - how fast the encoder takes frames, render work excluded.
 *
 *     encode_bench [codec] [width] [height] [frames] [draft|full] [output]
 *
 * Draws the synthetic animation (with noise) into each acquired buffer and
 * prints frames per second for the whole acquire/submit/finish cycle, so the
 * overlap of drawing and encoding is part of what is measured. Defaults:
 * video_h264_vbr_15mbps, 1920x1080, 120 frames, draft, a file under /tmp.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/media/encoder.h"
#include "server/media/media_log.h"
#include "tests/media/synthetic.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *codec = argc > 1 ? argv[1] : "video_h264_vbr_15mbps";
    fw_encoder_options o = {
        .width = argc > 2 ? atoi(argv[2]) : 1920,
        .height = argc > 3 ? atoi(argv[3]) : 1080,
        .fps_num = 30,
        .fps_den = 1,
        .quality = argc > 5 && strcmp(argv[5], "full") == 0 ? FW_QUALITY_FULL : FW_QUALITY_DRAFT,
    };
    int frames = argc > 4 ? atoi(argv[4]) : 120;
    char path[4096];
    fw_error err;

    fw_media_log_init();
    if (fw_codec_find(codec, FW_CODEC_ANY, &o.codec, &err) != FW_OK) {
        fprintf(stderr, "%s: %s\n", err.field, err.message);
        return 2;
    }
    snprintf(path, sizeof(path), "%s", argc > 6 ? argv[6] : "/tmp/fw-encode-bench");
    if (argc <= 6)
        snprintf(path + strlen(path), sizeof(path) - strlen(path), ".%s",
                 fw_codec_output_extension(o.codec, frames));
    o.output_path = path;
    o.frame_count = frames;

    double start = now();
    if (encode_synthetic(&o, frames, 1, &err) != FW_OK) {
        fprintf(stderr, "%s: %s\n", err.field, err.message);
        return 1;
    }
    double seconds = now() - start;
    printf("%s %dx%d %d frames: %.2f s, %.1f frames/s -> %s\n", o.codec->name, o.width, o.height, frames, seconds,
           frames / seconds, path);
    return 0;
}
