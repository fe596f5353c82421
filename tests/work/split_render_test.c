/*
 * split_render_test.c - a video rendered in parts and joined, against the
 * same video rendered whole: the plan (frame range, rate, whether it can be
 * split), parts that start on the whole's keyframes, the frame count and
 * length, the pictures on both sides of every boundary (each frame matches
 * the whole's frame of the same number, not its neighbour's), and the sound,
 * encoded once over the whole, sample for sample the whole's. And what
 * cannot be split or joined says so.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/jobs/job.h"
#include "server/media/encoder.h"
#include "server/work/render_job.h"
#include "tests/fw_test.h"
#include "tests/media/synthetic.h"

#define W 320
#define H 180
#define FRAMES 300 /* 10 s at 30 fps */

static char dir[PATH_MAX];

static void in_dir(char *path, size_t size, const char *name) { snprintf(path, size, "%s/%s", dir, name); }

/* A grey ground and a white square that crosses the picture every second,
 * one way then back: about 9 pixels a frame, so neighbouring frames differ. */
static int write_template(const char *name)
{
    char path[PATH_MAX], keys[8192];
    size_t n = 0;
    for (int s = 0; s <= FRAMES / 30; s++)
        n += (size_t)snprintf(keys + n, sizeof(keys) - n, "%s{\"t\":%d,\"s\":[%d,90,0],\"i\":{\"x\":1,\"y\":1},"
                              "\"o\":{\"x\":0,\"y\":0}}",
                              s ? "," : "", s * 30, s % 2 ? 290 : 30);
    in_dir(path, sizeof(path), name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\"v\":\"5.7.4\",\"fr\":30,\"ip\":0,\"op\":%d,\"w\":%d,\"h\":%d,\"nm\":\"main\",\"ddd\":0,\"assets\":[],"
            "\"layers\":["
            "{\"ddd\":0,\"ind\":1,\"ty\":1,\"nm\":\"square\",\"sc\":\"#ffffff\",\"sw\":40,\"sh\":40,\"sr\":1,\"st\":0,"
            "\"ip\":0,\"op\":%d,\"ks\":{\"o\":{\"a\":0,\"k\":100},\"r\":{\"a\":0,\"k\":0},"
            "\"p\":{\"a\":1,\"k\":[%s]},\"a\":{\"a\":0,\"k\":[20,20,0]},\"s\":{\"a\":0,\"k\":[100,100,100]}}},"
            "{\"ddd\":0,\"ind\":2,\"ty\":1,\"nm\":\"bg\",\"sc\":\"#406080\",\"sw\":%d,\"sh\":%d,\"sr\":1,\"st\":0,"
            "\"ip\":0,\"op\":%d,\"ks\":{\"o\":{\"a\":0,\"k\":100},\"r\":{\"a\":0,\"k\":0},\"p\":{\"a\":0,\"k\":[0,0,0]},"
            "\"a\":{\"a\":0,\"k\":[0,0,0]},\"s\":{\"a\":0,\"k\":[100,100,100]}}}]}",
            FRAMES, W, H, FRAMES, keys, W, H, FRAMES);
    return fclose(f);
}

static const char job_text[] =
    "{\"template\":{\"src\":\"moving.json\"},\"settings\":{\"type\":\"video\",\"codec\":\"h264_vbr_1mbps\"},"
    "\"assets\":[{\"type\":\"audio\",\"src\":\"tone.wav\"}]}";

/* One call of the pipeline on job_text; the request's split fields from extra. */
static fw_err run(const fw_render_request *extra, const char *name, fw_render_result *res, fw_error *err)
{
    fw_render_request req = *extra;
    fw_job_spec *job = NULL;
    char path[PATH_MAX];
    fw_err rc = fw_job_parse(&job, job_text, strlen(job_text), err);
    memset(res, 0, sizeof(*res));
    if (rc)
        return rc;
    in_dir(path, sizeof(path), name);
    req.job = job;
    req.job_dir = dir;
    req.output_path = path;
    req.work_root = dir;
    req.allow_local_files = 1;
    rc = fw_render_job(&req, res, err);
    fw_job_spec_free(&job);
    return rc;
}

/* Every frame of a video as 8-bit grey, by ffmpeg; *count frames. */
static uint8_t *grey_frames(const char *name, int *count)
{
    char path[PATH_MAX], cmd[PATH_MAX + 128];
    size_t size = (size_t)W * H, cap = size * (FRAMES + 8), got = 0, n;
    uint8_t *buf = malloc(cap);
    in_dir(path, sizeof(path), name);
    snprintf(cmd, sizeof(cmd), "ffmpeg -v error -i '%s' -f rawvideo -pix_fmt gray -", path);
    FILE *p = popen(cmd, "r");
    if (!p || !buf) {
        free(buf);
        if (p)
            pclose(p);
        return NULL;
    }
    while (got < cap && (n = fread(buf + got, 1, cap - got, p)) > 0)
        got += n;
    pclose(p);
    *count = (int)(got / size);
    return buf;
}

/* The sound as 48 kHz stereo float, by ffmpeg; *count samples per channel. */
static float *sound(const char *name, size_t *count)
{
    char path[PATH_MAX], cmd[PATH_MAX + 128];
    size_t cap = 48000 * 2 * 12, got = 0, n;
    float *buf = malloc(cap * sizeof(float));
    in_dir(path, sizeof(path), name);
    snprintf(cmd, sizeof(cmd), "ffmpeg -v error -i '%s' -vn -f f32le -ac 2 -ar 48000 -", path);
    FILE *p = popen(cmd, "r");
    if (!p || !buf) {
        free(buf);
        if (p)
            pclose(p);
        return NULL;
    }
    while (got < cap && (n = fread(buf + got, sizeof(float), cap - got, p)) > 0)
        got += n;
    pclose(p);
    *count = got / 2;
    return buf;
}

static double psnr(const uint8_t *a, const uint8_t *b)
{
    double sum = 0;
    for (size_t i = 0; i < (size_t)W * H; i++) {
        double d = (double)a[i] - b[i];
        sum += d * d;
    }
    return sum == 0 ? 99.0 : 10 * log10(255.0 * 255.0 / (sum / ((double)W * H)));
}

/* The frame numbers ffprobe says are keyframes, as a bit per frame. */
static int keyframes(const char *name, char *is_key)
{
    char path[PATH_MAX], cmd[PATH_MAX + 160], line[64];
    int i = 0;
    in_dir(path, sizeof(path), name);
    snprintf(cmd, sizeof(cmd), "ffprobe -v error -select_streams v -show_entries packet=pts,flags -of csv=p=0 '%s' "
             "| sort -n", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    while (i < FRAMES + 8 && fgets(line, sizeof(line), p))
        is_key[i++] = strchr(line, 'K') != NULL;
    pclose(p);
    return i;
}

/* A planner as a worker's: it notes the plan and asks for nothing, or for
 * the part it was given. */
typedef struct planned {
    fw_render_plan plan;
    int calls;
    fw_render_split answer;
    int first, last;
} planned;

static fw_err plan_it(void *user, const fw_render_plan *plan, fw_render_split *split, int *first, int *last,
                      fw_error *err)
{
    planned *p = user;
    p->plan = *plan;
    p->calls++;
    *split = p->answer;
    *first = p->first;
    *last = p->last;
    return FW_OK;
}

static void test_parts_joined_are_the_whole(void)
{
    char tone[PATH_MAX];
    planned noted = {.answer = FW_RENDER_NOTHING};
    fw_render_request plan = {.planner = plan_it, .planner_user = &noted}, whole = {0};
    fw_render_result res;
    fw_error err = {0};

    in_dir(tone, sizeof(tone), "tone.wav");
    FW_REQUIRE(write_tone_wav(tone, 48000, 2, 12.0, 12.0, 440, 0.5) == 0);
    FW_REQUIRE(write_template("moving.json") == 0);

    /* The plan: the job's range and rate; H.264 in MP4 can be split; nothing asked, no output. */
    FW_REQUIRE(run(&plan, "plan.mp4", &res, &err) == FW_OK);
    FW_CHECK_INT(noted.calls, 1);
    FW_CHECK_INT(res.split, FW_RENDER_NOTHING);
    FW_CHECK_INT(noted.plan.first_frame, 0);
    FW_CHECK_INT(noted.plan.last_frame, FRAMES - 1);
    FW_CHECK_INT(noted.plan.fps_num, 30);
    FW_CHECK_INT(noted.plan.fps_den, 1);
    FW_CHECK_INT(noted.plan.splittable, 1);
    char path[PATH_MAX];
    in_dir(path, sizeof(path), "plan.mp4");
    FW_CHECK_MSG(access(path, F_OK) != 0, "a plan writes no output");
    fw_render_result_clear(&res);

    FW_REQUIRE(run(&whole, "whole.mp4", &res, &err) == FW_OK);
    fw_render_result_clear(&res);

    /* Parts of two keyframe intervals, the last one shorter: the first as
     * the planner's choice (as a worker renders its first chunk), the others
     * asked for. */
    int chunk = 2 * fw_encoder_keyframe_interval(30, 1), parts = 0;
    char names[8][32];
    const char *segments[8];
    for (int first = 0; first < FRAMES; first += chunk, parts++) {
        int last = first + chunk - 1 < FRAMES - 1 ? first + chunk - 1 : FRAMES - 1;
        planned choose = {.answer = FW_RENDER_PART, .first = first, .last = last};
        fw_render_request part = {.part = 1, .part_first = first, .part_last = last};
        if (first == 0)
            part = (fw_render_request){.planner = plan_it, .planner_user = &choose};
        snprintf(names[parts], sizeof(names[parts]), "part%d.mp4", parts);
        FW_REQUIRE(run(&part, names[parts], &res, &err) == FW_OK);
        FW_CHECK_INT(res.frames, last - first + 1);
        FW_CHECK_INT(res.split, FW_RENDER_PART);
        fw_render_result_clear(&res);
        in_dir(path, sizeof(path), names[parts]);
        char codec[32] = "";
        int rate, channels;
        double duration;
        FW_CHECK_MSG(!probe_audio(path, codec, &rate, &channels, &duration), "part %d has no sound of its own",
                     parts);
        segments[parts] = strdup(path);
    }
    FW_CHECK_INT(parts, 3);
    fw_render_request join = {.segments = segments, .segment_count = (size_t)parts};
    fw_err rc = run(&join, "split.mp4", &res, &err);
    if (rc)
        fprintf(stderr, "join: %s (%s)\n", err.message, err.field);
    FW_REQUIRE(rc == FW_OK);
    FW_CHECK_INT(res.frames, FRAMES);
    FW_CHECK_STR(res.codec, "video_h264_vbr_1mbps");
    fw_render_result_clear(&res);

    /* The same length, frames and sound as the whole. */
    in_dir(path, sizeof(path), "split.mp4");
    char split_path[PATH_MAX], whole_path[PATH_MAX];
    snprintf(split_path, sizeof(split_path), "%s", path);
    in_dir(whole_path, sizeof(whole_path), "whole.mp4");
    FW_CHECK_NEAR(probe_video_duration(split_path), probe_video_duration(whole_path), 0.001);
    char codec[32] = "";
    int rate = 0, channels = 0;
    double split_sound = 0, whole_sound = 0;
    FW_REQUIRE(probe_audio(split_path, codec, &rate, &channels, &split_sound));
    FW_CHECK_STR(codec, "aac");
    FW_CHECK_INT(rate, 48000);
    FW_CHECK_INT(channels, 2);
    FW_REQUIRE(probe_audio(whole_path, codec, &rate, &channels, &whole_sound));
    FW_CHECK_NEAR(split_sound, whole_sound, 0.0001);
    FW_CHECK_NEAR(split_sound, FRAMES / 30.0, 0.03);

    /* Keyframes: each part starts on one, where the whole has one too. */
    char split_keys[FRAMES + 8] = {0}, whole_keys[FRAMES + 8] = {0};
    FW_CHECK_INT(keyframes("split.mp4", split_keys), FRAMES);
    FW_CHECK_INT(keyframes("whole.mp4", whole_keys), FRAMES);
    for (int b = 0; b < FRAMES; b += chunk) {
        FW_CHECK_MSG(split_keys[b], "the split video has a keyframe at frame %d", b);
        FW_CHECK_MSG(whole_keys[b], "the whole video has a keyframe at frame %d", b);
    }

    /* Pictures around every boundary: frame n of the split is frame n of the whole. */
    int split_count = 0, whole_count = 0;
    uint8_t *split = grey_frames("split.mp4", &split_count), *all = grey_frames("whole.mp4", &whole_count);
    FW_REQUIRE(split && all);
    FW_CHECK_INT(split_count, FRAMES);
    FW_CHECK_INT(whole_count, FRAMES);
    double worst = 99, best_neighbour = 0;
    for (int b = chunk; b < FRAMES && split_count == FRAMES && whole_count == FRAMES; b += chunk) {
        for (int n = b - 3; n <= b + 2; n++) {
            const uint8_t *s = split + (size_t)n * W * H;
            double same = psnr(s, all + (size_t)n * W * H);
            double before = psnr(s, all + (size_t)(n - 1) * W * H), after = psnr(s, all + (size_t)(n + 1) * W * H);
            worst = same < worst ? same : worst;
            best_neighbour = before > best_neighbour ? before : best_neighbour;
            best_neighbour = after > best_neighbour ? after : best_neighbour;
            FW_CHECK_MSG(same > before + 6 && same > after + 6,
                         "frame %d: %.1f dB against the whole's frame %d, %.1f and %.1f against its neighbours", n,
                         same, n, before, after);
        }
    }
    printf("boundary frames: worst %.1f dB against the whole's same frame, best %.1f dB against a neighbour\n", worst,
           best_neighbour);
    FW_CHECK_MSG(worst >= 35, "the split's frames at the boundaries are %.1f dB from the whole's", worst);
    free(split);
    free(all);

    /* The sound: encoded once over the whole, so sample for sample the whole's. */
    size_t split_n = 0, whole_n = 0;
    float *a = sound("split.mp4", &split_n), *b = sound("whole.mp4", &whole_n);
    FW_REQUIRE(a && b);
    FW_CHECK_INT((int)split_n, (int)whole_n);
    double diff = 0;
    for (size_t i = 0; i < 2 * (split_n < whole_n ? split_n : whole_n); i++)
        diff = fabs(a[i] - b[i]) > diff ? fabs(a[i] - b[i]) : diff;
    FW_CHECK_MSG(diff < 1e-4, "the split's sound differs from the whole's by up to %g", diff);
    free(a);
    free(b);
    for (int i = 0; i < parts; i++)
        free((char *)segments[i]);
}

static void test_what_cannot_be_split_says_so(void)
{
    fw_render_request part = {.part = 1, .part_first = 250, .part_last = FRAMES};
    fw_render_result res;
    fw_error err = {0};
    char path[PATH_MAX];

    /* A part past the job's range. */
    FW_CHECK_INT(run(&part, "past.mp4", &res, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "settings.frames");
    fw_render_result_clear(&res);

    /* Parts that cannot be copied end to end: another size. */
    in_dir(path, sizeof(path), "other.mp4");
    const fw_codec *h264 = NULL;
    FW_REQUIRE(fw_codec_find("h264_vbr_1mbps", FW_CODEC_VIDEO, &h264, &err) == FW_OK);
    FW_REQUIRE(encode_numbered(h264, path, 160, 90, 30, 1, 60, &err) == FW_OK);
    char first[PATH_MAX];
    in_dir(first, sizeof(first), "part0.mp4");
    const char *segments[] = {first, path};
    fw_render_request join = {.segments = segments, .segment_count = 2};
    FW_CHECK_INT(run(&join, "mixed.mp4", &res, &err), FW_ERR_FAILED_PRECONDITION);
    FW_CHECK_STR(err.field, "segments");
    in_dir(path, sizeof(path), "mixed.mp4");
    FW_CHECK_MSG(access(path, F_OK) != 0, "a failed join leaves no output");
    fw_render_result_clear(&res);
}

int main(void)
{
    const char *tmp = fw_test_tmpdir();
    if (!tmp)
        return 1;
    snprintf(dir, sizeof(dir), "%s", tmp);
    FW_RUN(test_parts_joined_are_the_whole);
    FW_RUN(test_what_cannot_be_split_says_so);
    return fw_test_end();
}
