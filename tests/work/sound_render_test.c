/*
 * sound_render_test.c - sound through the render pipeline, checked in the
 * output file with ffprobe and ffmpeg: a music bed from an offset, the
 * template's own audio layer and an asset replacing it, the sound of a clip
 * following its layer (or muted), gain, a frame range, AAC in MP4 and PCM
 * in QuickTime, none in pictures; and sounds that cannot play fail on the
 * asset's field.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/jobs/job.h"
#include "server/media/codec.h"
#include "server/media/encoder.h"
#include "server/media/soundtrack.h"
#include "server/work/render_job.h"
#include "tests/fw_test.h"
#include "tests/media/synthetic.h"
#include "tests/work/rendered.h"

#define TONE_RMS (0.5 / M_SQRT2)
#define AUDIO_FRAME (1024.0 / 48000)

static char dir[PATH_MAX];

static void render(rendered *r, const char *job_text, const char *name)
{
    render_job_text(r, job_text, dir, dir, name, NULL, NULL, NULL);
    if (r->rc)
        fprintf(stderr, "render %s: %s (%s)\n", name, r->err.message, r->err.field);
}

static void in_dir(char *path, size_t size, const char *name) { snprintf(path, size, "%s/%s", dir, name); }

static int write_text(const char *name, const char *text)
{
    char path[PATH_MAX];
    in_dir(path, sizeof(path), name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

#define KS "\"ks\":{\"o\":{\"a\":0,\"k\":100},\"r\":{\"a\":0,\"k\":0},\"p\":{\"a\":0,\"k\":[0,0,0]}," \
           "\"a\":{\"a\":0,\"k\":[0,0,0]},\"s\":{\"a\":0,\"k\":[100,100,100]}}"

/* 320x180, 30 fps, 3 s: a grey solid, then extra_layers; extra_assets. */
static int write_template(const char *name, const char *extra_assets, const char *extra_layers)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "{\"v\":\"5.7.4\",\"fr\":30,\"ip\":0,\"op\":90,\"w\":320,\"h\":180,\"nm\":\"main\",\"ddd\":0,"
             "\"assets\":[{\"id\":\"placeholder\",\"w\":160,\"h\":90,\"u\":\"\",\"p\":\"placeholder.png\",\"e\":0}%s],"
             "\"layers\":[%s{\"ddd\":0,\"ind\":9,\"ty\":1,\"nm\":\"bg\",\"sc\":\"#808080\",\"sw\":320,\"sh\":180,"
             "\"sr\":1,\"st\":0,\"ip\":0,\"op\":90," KS "}]}",
             extra_assets, extra_layers);
    return write_text(name, text);
}

static fw_err read_mix(void *user, float *samples, int frames, fw_error *err)
{
    return fw_soundtrack_read(user, samples, frames, err);
}

/* A numbered 2 s clip at 30 fps whose sound is a wav file from 0 s. */
static int clip_with_sound(const char *name, const char *wav)
{
    const fw_codec *h264;
    fw_soundtrack *s = NULL;
    fw_error err = {0};
    char path[PATH_MAX], sound_path[PATH_MAX];
    in_dir(path, sizeof(path), name);
    in_dir(sound_path, sizeof(sound_path), wav);
    fw_sound sound = {.path = sound_path, .at = 0, .until = 2};
    fw_err rc = fw_codec_find("h264_vbr_5mbps", FW_CODEC_VIDEO, &h264, &err);
    if (rc == FW_OK)
        rc = fw_soundtrack_open(&s, &sound, 1, 0, &err);
    fw_audio_source audio = {.read = read_mix, .user = s};
    fw_encoder_options opts = {.codec = h264, .width = 160, .height = 90, .fps_num = 30, .fps_den = 1,
                               .output_path = path, .frame_count = 60, .audio = &audio};
    fw_encoder *enc = NULL;
    if (rc == FW_OK)
        rc = fw_encoder_open(&enc, &opts, &err);
    for (int i = 0; rc == FW_OK && i < 60; i++) {
        fw_frame *f;
        if ((rc = fw_encoder_frame_acquire(enc, &f, &err)) == FW_OK) {
            fill_colour_number(f->pixels, (size_t)f->stride, f->width, f->height, i);
            rc = fw_encoder_frame_submit(enc, f, &err);
        }
    }
    if (rc == FW_OK)
        rc = fw_encoder_finish(enc, &err);
    if (rc)
        fprintf(stderr, "clip %s: %s\n", name, err.message);
    fw_encoder_free(&enc);
    fw_soundtrack_free(&s);
    return rc == FW_OK ? 0 : -1;
}

static int make_inputs(void)
{
    static int made;
    char path[PATH_MAX];
    if (made)
        return 1;
    in_dir(path, sizeof(path), "tone440.wav");
    if (write_tone_wav(path, 44100, 2, 4.0, 4.0, 440, 0.5) != 0)
        return 0;
    in_dir(path, sizeof(path), "tone880.wav");
    if (write_tone_wav(path, 48000, 1, 4.0, 4.0, 880, 0.5) != 0)
        return 0;
    if (clip_with_sound("speaking.mp4", "tone440.wav") != 0)
        return 0;
    made = 1;
    return 1;
}

/* Rising zero crossings per second of the left channel over [from, to), by ffmpeg. */
static double file_pitch(const char *path, double from, double to)
{
    char cmd[PATH_MAX + 256];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -v error -ss %.3f -t %.3f -i '%s' -vn -af 'pan=mono|c0=FL' -ar 48000 -f f32le -", from,
             to - from, path);
    FILE *p = popen(cmd, "r");
    float v, last = 0;
    long n = 0, samples = 0;
    if (!p)
        return -1;
    while (fread(&v, sizeof(v), 1, p) == 1) {
        n += samples++ > 0 && last < 0 && v >= 0;
        last = v;
    }
    pclose(p);
    return samples ? n / ((double)samples / 48000) : -1;
}

static void check_sound_length(const char *path, double video_seconds)
{
    char codec[32] = "";
    int rate = 0, channels = 0;
    double duration = -1;
    FW_REQUIRE(probe_audio(path, codec, &rate, &channels, &duration));
    FW_CHECK_INT(rate, 48000);
    FW_CHECK_INT(channels, 2);
    FW_CHECK_MSG(fabs(duration - video_seconds) <= AUDIO_FRAME, "sound %.4f s, video %.4f s", duration,
                 video_seconds);
}

#define H264 "\"settings\":{\"type\":\"video\",\"codec\":\"h264_vbr_5mbps\"}"

static void test_a_music_bed_from_one_second_is_silent_before_and_at_its_level_after(void)
{
    FW_REQUIRE(make_inputs());
    FW_REQUIRE(write_template("plain.json", "", "") == 0);
    rendered r;
    render(&r,
           "{\"template\":{\"src\":\"plain.json\"}," H264 ","
           "\"assets\":[{\"type\":\"audio\",\"src\":\"tone440.wav\",\"offset\":1}]}",
           "bed.mp4");
    FW_REQUIRE(r.rc == FW_OK);
    char codec[32] = "";
    int rate, channels;
    double duration;
    FW_REQUIRE(probe_audio(r.path, codec, &rate, &channels, &duration));
    FW_CHECK_STR(codec, "aac");
    check_sound_length(r.path, 3.0);
    FW_CHECK_MSG(file_rms(r.path, 0.0, 0.95) < 0.005, "before 1 s: %g", file_rms(r.path, 0.0, 0.95));
    FW_CHECK_NEAR(file_rms(r.path, 1.1, 2.9), TONE_RMS, 0.02);
    FW_CHECK_NEAR(file_pitch(r.path, 1.1, 2.9), 440, 5);
    done(&r);

    /* -6 dB and a frame range from 1 s: the sound starts with the range. */
    render(&r,
           "{\"template\":{\"src\":\"plain.json\"},\"settings\":{\"type\":\"video\",\"codec\":\"h264_vbr_5mbps\","
           "\"frames\":[30,74]},\"assets\":[{\"type\":\"audio\",\"src\":\"tone440.wav\",\"start\":1,"
           "\"gain\":-6.0206}]}",
           "range.mp4");
    FW_REQUIRE(r.rc == FW_OK);
    check_sound_length(r.path, 1.5);
    FW_CHECK_NEAR(file_rms(r.path, 0.05, 1.4), TONE_RMS / 2, 0.01);
    done(&r);
}

static void test_the_templates_audio_layer_plays_and_an_asset_replaces_it(void)
{
    FW_REQUIRE(make_inputs());
    FW_REQUIRE(write_template("music.json", ",{\"id\":\"snd\",\"u\":\"\",\"p\":\"tone880.wav\",\"e\":0}",
                              "{\"ddd\":0,\"ind\":1,\"ty\":6,\"nm\":\"music\",\"refId\":\"snd\",\"sr\":1,\"st\":15,"
                              "\"ip\":15,\"op\":90,\"au\":{\"lv\":{\"a\":0,\"k\":[100,100]}}},") == 0);
    rendered own, replaced;
    render(&own, "{\"template\":{\"src\":\"music.json\"}," H264 "}", "own.mp4");
    render(&replaced,
           "{\"template\":{\"src\":\"music.json\"}," H264 ","
           "\"assets\":[{\"type\":\"audio\",\"layerName\":\"music\",\"src\":\"tone440.wav\",\"fadeIn\":0.5}]}",
           "replaced.mp4");
    FW_REQUIRE(own.rc == FW_OK && replaced.rc == FW_OK);
    check_sound_length(own.path, 3.0);
    /* The layer starts at frame 15: half a second of silence. */
    FW_CHECK(file_rms(own.path, 0.0, 0.45) < 0.005);
    FW_CHECK_NEAR(file_pitch(own.path, 0.6, 2.9), 880, 8);
    FW_CHECK_NEAR(file_rms(own.path, 0.6, 2.9), TONE_RMS, 0.02);
    FW_CHECK(file_rms(replaced.path, 0.0, 0.45) < 0.005);
    FW_CHECK_NEAR(file_pitch(replaced.path, 1.1, 2.9), 440, 5);
    /* Faded in over half a second from the layer's start. */
    FW_CHECK(file_rms(replaced.path, 0.5, 0.6) < TONE_RMS / 2);
    FW_CHECK_NEAR(file_rms(replaced.path, 1.1, 2.9), TONE_RMS, 0.02);
    done(&own);
    done(&replaced);
}

static void test_a_clips_sound_follows_its_layer_unless_muted(void)
{
    FW_REQUIRE(make_inputs());
    FW_REQUIRE(write_template("clip.json", "",
                              "{\"ddd\":0,\"ind\":1,\"ty\":2,\"nm\":\"clip\",\"refId\":\"placeholder\",\"sr\":1,"
                              "\"st\":30,\"ip\":30,\"op\":90," KS "},") == 0);
    rendered heard, muted;
    render(&heard,
           "{\"template\":{\"src\":\"clip.json\"}," H264 ","
           "\"assets\":[{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"speaking.mp4\"}]}",
           "heard.mp4");
    render(&muted,
           "{\"template\":{\"src\":\"clip.json\"}," H264 ","
           "\"assets\":[{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"speaking.mp4\",\"muted\":true}]}",
           "muted.mp4");
    FW_REQUIRE(heard.rc == FW_OK && muted.rc == FW_OK);
    check_sound_length(heard.path, 3.0);
    /* The layer (and its clip) starts at 1 s; the 2 s clip ends with the composition. */
    FW_CHECK(file_rms(heard.path, 0.0, 0.95) < 0.005);
    FW_CHECK_NEAR(file_rms(heard.path, 1.1, 2.9), TONE_RMS, 0.03);
    char codec[32] = "";
    int rate, channels;
    double duration;
    FW_CHECK_MSG(!probe_audio(muted.path, codec, &rate, &channels, &duration), "muted has %s sound", codec);
    done(&heard);
    done(&muted);
}

static void test_prores_gets_pcm_and_pictures_get_no_sound(void)
{
    FW_REQUIRE(make_inputs());
    FW_REQUIRE(write_template("plain.json", "", "") == 0);
    rendered mov, png;
    render(&mov,
           "{\"template\":{\"src\":\"plain.json\"},\"settings\":{\"type\":\"video\",\"codec\":\"prores_422\"},"
           "\"assets\":[{\"type\":\"audio\",\"src\":\"tone440.wav\"}]}",
           "sound.mov");
    render(&png,
           "{\"template\":{\"src\":\"plain.json\"},\"settings\":{\"type\":\"image\",\"frames\":10},"
           "\"assets\":[{\"type\":\"audio\",\"src\":\"tone440.wav\"}]}",
           "still.png");
    FW_REQUIRE(mov.rc == FW_OK && png.rc == FW_OK);
    char codec[32] = "";
    int rate, channels;
    double duration;
    FW_REQUIRE(probe_audio(mov.path, codec, &rate, &channels, &duration));
    FW_CHECK_STR(codec, "pcm_s16le");
    check_sound_length(mov.path, 3.0);
    FW_CHECK_NEAR(file_rms(mov.path, 0.1, 2.9), TONE_RMS, 0.01);
    FW_CHECK(!probe_audio(png.path, codec, &rate, &channels, &duration));
    done(&mov);
    done(&png);
}

static void test_sounds_that_cannot_play_fail_on_the_asset(void)
{
    FW_REQUIRE(make_inputs());
    FW_REQUIRE(write_template("music.json", ",{\"id\":\"snd\",\"u\":\"\",\"p\":\"tone880.wav\",\"e\":0}",
                              "{\"ddd\":0,\"ind\":1,\"ty\":6,\"nm\":\"music\",\"refId\":\"snd\",\"sr\":1,\"st\":0,"
                              "\"ip\":0,\"op\":90},") == 0);
    FW_REQUIRE(write_text("lyrics.mp3", "la la la\n") == 0);
    static const struct {
        const char *asset, *field, *words;
    } cases[] = {
        {"{\"type\":\"audio\",\"src\":\"lyrics.mp3\"}", "assets[0].src", "not a sound"},
        {"{\"type\":\"audio\",\"src\":\"missing.wav\"}", "assets[0].src", ""},
        {"{\"type\":\"audio\",\"src\":\"placeholder.png\"}", "assets[0].src", ""},
        {"{\"type\":\"audio\",\"layerName\":\"bg\",\"src\":\"tone440.wav\"}", "assets[0].layerName", "audio layer"},
        {"{\"type\":\"audio\",\"src\":\"tone440.wav\",\"trim\":[2,1]}", "assets[0].trim", ""},
        {"{\"type\":\"audio\",\"src\":\"tone440.wav\",\"trim\":9}", "assets[0].trim", "lasts"},
        {"{\"type\":\"audio\",\"src\":\"tone440.wav\",\"fadeIn\":-1}", "assets[0].fadeIn", ""},
        {"{\"type\":\"audio\",\"src\":\"tone440.wav\",\"gain\":\"loud\"}", "assets[0].gain", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char job[1024];
        rendered r;
        snprintf(job, sizeof(job), "{\"template\":{\"src\":\"music.json\"}," H264 ",\"assets\":[%s]}",
                 cases[i].asset);
        render(&r, job, "failed.mp4");
        FW_CHECK_MSG(r.rc != FW_OK, "case %zu rendered", i);
        FW_CHECK_MSG(strcmp(r.err.field, cases[i].field) == 0, "case %zu: field '%s', not '%s' (%s)", i, r.err.field,
                     cases[i].field, r.err.message);
        FW_CHECK_MSG(strstr(r.err.message, cases[i].words) != NULL, "case %zu: '%s' lacks '%s'", i, r.err.message,
                     cases[i].words);
        FW_CHECK(access(r.path, F_OK) != 0);
        done(&r);
    }
}

int main(void)
{
    const char *tmp = fw_test_tmpdir();
    if (!tmp)
        return 1;
    snprintf(dir, sizeof(dir), "%s/sound", tmp);
    mkdir(dir, 0700);
    FW_RUN(test_a_music_bed_from_one_second_is_silent_before_and_at_its_level_after);
    FW_RUN(test_the_templates_audio_layer_plays_and_an_asset_replaces_it);
    FW_RUN(test_a_clips_sound_follows_its_layer_unless_muted);
    FW_RUN(test_prores_gets_pcm_and_pictures_get_no_sound);
    FW_RUN(test_sounds_that_cannot_play_fail_on_the_asset);
    return fw_test_end();
}
