/*
 * soundtrack_test.c - sounds placed on the output's timeline: silent
 * outside their span and at the right level inside it, gain in dB, fades,
 * trimmed parts played once or looped, faster playback, other sample rates
 * and channel counts; then the encoder writes the mix as AAC (MP4) or PCM
 * (QuickTime) exactly as long as the video, checked with ffprobe.
 */
#include <math.h>

#include "server/media/codec.h"
#include "server/media/encoder.h"
#include "server/media/soundtrack.h"
#include "tests/fw_test.h"
#include "tests/media/synthetic.h"

#define RATE FW_SOUND_RATE

static char tone[4096];       /* 3 s of 440 Hz at 0.5, 44.1 kHz mono */
static char half_tone[4096];  /* 0.5 s of 440 Hz at 0.5, then 0.5 s of silence, 48 kHz stereo */

static int make_files(void)
{
    if (tone[0])
        return 1;
    snprintf(tone, sizeof(tone), "%s/tone.wav", fw_test_tmpdir());
    snprintf(half_tone, sizeof(half_tone), "%s/half.wav", fw_test_tmpdir());
    if (write_tone_wav(tone, 44100, 1, 3.0, 3.0, 440, 0.5) != 0 ||
        write_tone_wav(half_tone, 48000, 2, 1.0, 0.5, 440, 0.5) != 0) {
        tone[0] = '\0';
        return 0;
    }
    return 1;
}

/* The whole mix of sounds over seconds, left channel; caller frees. */
static float *mix(const fw_sound *sounds, size_t count, double seconds)
{
    fw_soundtrack *s = NULL;
    fw_error err = {0};
    int frames = (int)(seconds * RATE);
    float *lr = malloc((size_t)frames * 2 * sizeof(float)), *left = malloc((size_t)frames * sizeof(float));
    if (!lr || !left || fw_soundtrack_open(&s, sounds, count, 0, &err) != FW_OK) {
        fprintf(stderr, "mix: %s\n", err.message);
        free(lr);
        free(left);
        return NULL;
    }
    /* Read in uneven blocks, as an encoder would. */
    for (int done = 0; done < frames;) {
        int n = frames - done < 1000 ? frames - done : 1000;
        if (fw_soundtrack_read(s, lr + (size_t)done * 2, n, &err) != FW_OK) {
            fprintf(stderr, "read: %s\n", err.message);
            break;
        }
        done += n;
    }
    for (int i = 0; i < frames; i++)
        left[i] = lr[2 * i];
    fw_soundtrack_free(&s);
    free(lr);
    return left;
}

static double rms(const float *x, double from, double to)
{
    int a = (int)(from * RATE), b = (int)(to * RATE);
    double sum = 0;
    for (int i = a; i < b; i++)
        sum += (double)x[i] * x[i];
    return b > a ? sqrt(sum / (b - a)) : 0;
}

/* Rising zero crossings per second over [from, to): the pitch. */
static double pitch(const float *x, double from, double to)
{
    int a = (int)(from * RATE), b = (int)(to * RATE), n = 0;
    for (int i = a + 1; i < b; i++)
        n += x[i - 1] < 0 && x[i] >= 0;
    return n / (to - from);
}

#define TONE_RMS (0.5 / M_SQRT2)

static void test_a_sound_is_silent_before_its_start_and_at_its_level_after(void)
{
    FW_REQUIRE(make_files());
    fw_sound s = {.path = tone, .field = "assets[0]", .at = 1.0, .until = 3.5};
    float *x = mix(&s, 1, 4.0);
    FW_REQUIRE(x);
    FW_CHECK_MSG(rms(x, 0, 0.999) < 1e-6, "before: %g", rms(x, 0, 0.999));
    FW_CHECK_NEAR(rms(x, 1.01, 2.99), TONE_RMS, 0.01);
    FW_CHECK_NEAR(pitch(x, 1.1, 2.9), 440, 3);
    /* The source is 3 s long: from 1 + 3 s on it has ended. */
    FW_CHECK_MSG(rms(x, 3.6, 4.0) < 1e-6, "after: %g", rms(x, 3.6, 4.0));
    free(x);
}

static void test_gain_in_db_and_fades(void)
{
    FW_REQUIRE(make_files());
    fw_sound s = {.path = tone, .at = 0, .until = 3.0, .gain_db = -6.0206, .fade_in = 1.0, .fade_out = 0.5};
    float *x = mix(&s, 1, 3.0);
    FW_REQUIRE(x);
    FW_CHECK_NEAR(rms(x, 1.0, 2.5), TONE_RMS / 2, 0.005);
    /* Half way up the fade in: half the level (the envelope is linear). */
    FW_CHECK_NEAR(rms(x, 0.45, 0.55), TONE_RMS / 4, 0.01);
    FW_CHECK(rms(x, 0, 0.05) < TONE_RMS / 20);
    FW_CHECK(rms(x, 2.95, 3.0) < TONE_RMS / 20);
    free(x);
}

static void test_a_trimmed_part_plays_once_or_loops(void)
{
    FW_REQUIRE(make_files());
    fw_sound once = {.path = half_tone, .at = 0, .until = 3.0, .trim_start = 0, .trim_end = 0.5};
    fw_sound looped = once;
    looped.loop = 1;
    float *a = mix(&once, 1, 3.0), *b = mix(&looped, 1, 3.0);
    FW_REQUIRE(a && b);
    FW_CHECK_NEAR(rms(a, 0.05, 0.45), TONE_RMS, 0.01);
    FW_CHECK_MSG(rms(a, 0.55, 3.0) < 1e-6, "after the part: %g", rms(a, 0.55, 3.0));
    /* Looped, the silent half of the file is never heard. */
    for (double t = 0.0; t < 2.9; t += 0.5)
        FW_CHECK_MSG(fabs(rms(b, t + 0.05, t + 0.45) - TONE_RMS) < 0.01, "loop at %.1f: %g", t,
                     rms(b, t + 0.05, t + 0.45));
    /* The whole file looped: tone and silence alternate. */
    fw_sound file = {.path = half_tone, .at = 0, .until = 3.0, .loop = 1};
    float *c = mix(&file, 1, 3.0);
    FW_REQUIRE(c);
    FW_CHECK_NEAR(rms(c, 1.05, 1.45), TONE_RMS, 0.01);
    FW_CHECK(rms(c, 1.55, 1.95) < 1e-3);
    FW_CHECK_NEAR(rms(c, 2.05, 2.45), TONE_RMS, 0.01);
    free(a);
    free(b);
    free(c);
}

static void test_source_time_speed_and_two_sounds_add(void)
{
    FW_REQUIRE(make_files());
    /* From source second 2.5 at output 0: half a second of tone, then its end. */
    fw_sound late = {.path = tone, .at = 0, .until = 2, .source_at = 2.5};
    float *x = mix(&late, 1, 2.0);
    FW_REQUIRE(x);
    FW_CHECK_NEAR(rms(x, 0.05, 0.45), TONE_RMS, 0.01);
    FW_CHECK(rms(x, 0.55, 2.0) < 1e-6);
    free(x);

    fw_sound fast = {.path = tone, .at = 0, .until = 1, .speed = 2};
    x = mix(&fast, 1, 1.0);
    FW_REQUIRE(x);
    FW_CHECK_NEAR(pitch(x, 0.1, 0.9), 880, 5);
    free(x);

    fw_sound both[2] = {{.path = tone, .at = 0, .until = 2}, {.path = half_tone, .at = 0, .until = 2}};
    x = mix(both, 2, 2.0);
    FW_REQUIRE(x);
    /* In phase (both start at 0 s): twice the level while both play. */
    FW_CHECK_NEAR(rms(x, 0.05, 0.45), 2 * TONE_RMS, 0.02);
    FW_CHECK_NEAR(rms(x, 0.6, 1.9), TONE_RMS, 0.01);
    free(x);
}

static void test_files_without_sound_fail_on_their_field_unless_optional(void)
{
    FW_REQUIRE(make_files());
    fw_soundtrack *s = (fw_soundtrack *)1;
    fw_error err = {0};
    fw_sound missing = {.path = "/nonexistent/music.mp3", .field = "assets[2]", .at = 0, .until = 1};
    FW_CHECK_INT(fw_soundtrack_open(&s, &missing, 1, 0, &err), FW_ERR_NOT_FOUND);
    FW_CHECK(s == NULL);
    FW_CHECK_STR(err.field, "assets[2]");

    char clip[4096];
    const fw_codec *h264;
    snprintf(clip, sizeof(clip), "%s/silent.mp4", fw_test_tmpdir());
    FW_REQUIRE(fw_codec_find("h264_vbr_1mbps", FW_CODEC_VIDEO, &h264, &err) == FW_OK);
    FW_REQUIRE(encode_numbered(h264, clip, 64, 64, 30, 1, 10, &err) == FW_OK);
    fw_sound silent = {.path = clip, .field = "assets[1]", .at = 0, .until = 1};
    memset(&err, 0, sizeof(err));
    FW_CHECK_INT(fw_soundtrack_open(&s, &silent, 1, 0, &err), FW_ERR_INVALID);
    FW_CHECK_STR(err.field, "assets[1]");
    FW_CHECK_CONTAINS(err.message, "no sound");
    silent.optional = 1;
    FW_REQUIRE(fw_soundtrack_open(&s, &silent, 1, 0, &err) == FW_OK);
    FW_CHECK_INT((int)fw_soundtrack_count(s), 0);
    fw_soundtrack_free(&s);
}

/* ---- the encoder with sound ------------------------------------------------------------------ */

static fw_err read_mix(void *user, float *samples, int frames, fw_error *err)
{
    return fw_soundtrack_read(user, samples, frames, err);
}

static void encode_with_sound(const char *codec_name, const char *path, int frames, int fps, fw_err *rc)
{
    const fw_codec *codec;
    fw_soundtrack *s = NULL;
    fw_error err = {0};
    fw_sound sound = {.path = tone, .at = 0.5, .until = 10};
    *rc = fw_codec_find(codec_name, FW_CODEC_VIDEO, &codec, &err);
    if (*rc == FW_OK)
        *rc = fw_soundtrack_open(&s, &sound, 1, 0, &err);
    fw_audio_source audio = {.read = read_mix, .user = s};
    fw_encoder_options opts = {.codec = codec, .width = 128, .height = 72, .fps_num = fps, .fps_den = 1,
                               .output_path = path, .frame_count = frames, .audio = &audio};
    fw_encoder *enc = NULL;
    if (*rc == FW_OK)
        *rc = fw_encoder_open(&enc, &opts, &err);
    for (int i = 0; *rc == FW_OK && i < frames; i++) {
        fw_frame *f;
        *rc = fw_encoder_frame_acquire(enc, &f, &err);
        if (*rc == FW_OK) {
            draw_number(f->pixels, (size_t)f->stride, f->width, f->height, i);
            *rc = fw_encoder_frame_submit(enc, f, &err);
        }
    }
    if (*rc == FW_OK)
        *rc = fw_encoder_finish(enc, &err);
    if (*rc)
        fprintf(stderr, "%s: %s\n", codec_name, err.message);
    fw_encoder_free(&enc);
    fw_soundtrack_free(&s);
}

static void test_the_encoder_writes_the_mix_as_long_as_the_video(void)
{
    FW_REQUIRE(make_files());
    static const struct {
        const char *codec, *file, *audio_codec;
        int frames, fps;
    } cases[] = {
        {"h264_vbr_5mbps", "sound.mp4", "aac", 60, 30},
        {"h264_vbr_5mbps", "sound25.mp4", "aac", 37, 25},
        {"prores_422", "sound.mov", "pcm_s16le", 45, 30},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[4096], codec[32] = "";
        int rate = 0, channels = 0;
        double duration = -1;
        fw_err rc;
        snprintf(path, sizeof(path), "%s/%s", fw_test_tmpdir(), cases[i].file);
        encode_with_sound(cases[i].codec, path, cases[i].frames, cases[i].fps, &rc);
        FW_REQUIRE(rc == FW_OK);
        FW_REQUIRE(probe_audio(path, codec, &rate, &channels, &duration));
        FW_CHECK_STR(codec, cases[i].audio_codec);
        FW_CHECK_INT(rate, 48000);
        FW_CHECK_INT(channels, 2);
        double video = (double)cases[i].frames / cases[i].fps;
        FW_CHECK_MSG(fabs(duration - video) <= 1024.0 / 48000, "%s: sound %.4f s, video %.4f s", cases[i].file,
                     duration, video);
        FW_CHECK_NEAR(probe_video_duration(path), video, 0.001);
        /* Silent before 0.5 s, the tone's level after. */
        FW_CHECK_MSG(file_rms(path, 0.0, 0.45) < 0.01, "%s: before %g", cases[i].file, file_rms(path, 0.0, 0.45));
        FW_CHECK_MSG(fabs(file_rms(path, 0.6, 1.1) - TONE_RMS) < 0.03, "%s: after %g", cases[i].file,
                     file_rms(path, 0.6, 1.1));
    }
}

static void test_sound_is_refused_where_the_file_cannot_hold_it(void)
{
    const fw_codec *gif;
    fw_error err = {0};
    fw_audio_source audio = {.read = read_mix, .user = NULL};
    FW_REQUIRE(fw_codec_find("gif", FW_CODEC_VIDEO, &gif, &err) == FW_OK);
    fw_encoder_options opts = {.codec = gif, .width = 64, .height = 64, .fps_num = 10, .fps_den = 1,
                               .output_path = "/tmp/never.gif", .frame_count = 10, .audio = &audio};
    fw_encoder *enc = NULL;
    FW_CHECK_INT(fw_encoder_open(&enc, &opts, &err), FW_ERR_INVALID);
    FW_CHECK(enc == NULL);
    FW_CHECK_CONTAINS(err.message, "cannot hold sound");
}

int main(void)
{
    FW_RUN(test_a_sound_is_silent_before_its_start_and_at_its_level_after);
    FW_RUN(test_gain_in_db_and_fades);
    FW_RUN(test_a_trimmed_part_plays_once_or_loops);
    FW_RUN(test_source_time_speed_and_two_sounds_add);
    FW_RUN(test_files_without_sound_fail_on_their_field_unless_optional);
    FW_RUN(test_the_encoder_writes_the_mix_as_long_as_the_video);
    FW_RUN(test_sound_is_refused_where_the_file_cannot_hold_it);
    return fw_test_end();
}
