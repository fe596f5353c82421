/* A caller's media file is opened alone: playlists and concat lists that would make FFmpeg open
 * other files (or URLs) are refused, whatever the file is called; plain media opens. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "server/media/input.h"
#include "tests/fw_test.h"

static void put32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};
    fwrite(b, 1, 4, f);
}

static void put16(FILE *f, unsigned v)
{
    unsigned char b[2] = {v & 0xff, (v >> 8) & 0xff};
    fwrite(b, 1, 2, f);
}

/* A second of 8 kHz mono 16-bit silence. */
static void write_wav(const char *path)
{
    FILE *f = fopen(path, "wb");
    fwrite("RIFF", 1, 4, f);
    put32(f, 36 + 16000);
    fwrite("WAVEfmt ", 1, 8, f);
    put32(f, 16);
    put16(f, 1);
    put16(f, 1);
    put32(f, 8000);
    put32(f, 16000);
    put16(f, 2);
    put16(f, 16);
    fwrite("data", 1, 4, f);
    put32(f, 16000);
    for (int i = 0; i < 8000; i++)
        put16(f, 0);
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static void test_plain_media_opens(void)
{
    const char *dir = fw_test_tmpdir();
    char path[512];
    AVFormatContext *s = NULL;
    const char *refused = "?";

    snprintf(path, sizeof(path), "%s/clip-0.audio", dir);
    write_wav(path);
    FW_REQUIRE(fw_media_open_input(&s, path, &refused) == 0);
    FW_CHECK_STR(s->iformat->name, "wav");
    FW_CHECK_STR(refused, "");
    FW_CHECK(avformat_find_stream_info(s, NULL) >= 0);
    FW_CHECK_INT(s->streams[0]->codecpar->sample_rate, 8000);
    avformat_close_input(&s);
}

static void test_playlists_and_lists_are_refused_whatever_their_name(void)
{
    static const struct {
        const char *text;
        const char *format;
    } cases[] = {
        {"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nsecret.wav\n#EXT-X-ENDLIST\n", "hls"},
        {"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://169.254.169.254/latest/meta-data\n"
         "#EXT-X-ENDLIST\n", "hls"},
        {"ffconcat version 1.0\nfile 'secret.wav'\n", "concat"},
        {"<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" "
         "profiles=\"urn:mpeg:dash:profile:isoff-on-demand:2011\"><Period><AdaptationSet><Representation "
         "id=\"a\" bandwidth=\"1\"><BaseURL>secret.wav</BaseURL></Representation></AdaptationSet></Period>"
         "</MPD>\n", "dash"},
    };
    const char *dir = fw_test_tmpdir();
    char secret[512], path[512];

    snprintf(secret, sizeof(secret), "%s/secret.wav", dir);
    write_wav(secret);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static const char *const names[] = {"clip-%zu.video", "clip-%zu.mp4", "list-%zu.m3u8"};
        for (size_t n = 0; n < 3; n++) {
            char name[64];
            AVFormatContext *s = NULL;
            const char *refused = "";
            int rc;
            snprintf(name, sizeof(name), names[n], i);
            snprintf(path, sizeof(path), "%s/%s", dir, name);
            write_text(path, cases[i].text);
            rc = fw_media_open_input(&s, path, &refused);
            if (rc >= 0) {
                fprintf(stderr, "  case %zu as %s opened as %s\n", i, name, s->iformat->name);
                avformat_close_input(&s);
                FW_CHECK(0);
                continue;
            }
            FW_CHECK(s == NULL);
            FW_CHECK_INT(rc, AVERROR(EPERM));
            FW_CHECK_STR(refused, cases[i].format);
        }
    }
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    FW_RUN(test_plain_media_opens);
    FW_RUN(test_playlists_and_lists_are_refused_whatever_their_name);
    return fw_test_end();
}
