/*
 * media_bench.c - what footage and sound cost the render pipeline.
 *
 * Two ratios, measured in one run on the same machine:
 *   footage  a 10 s 1080p30 H.264 clip (made here with the ffmpeg command
 *            from testsrc2) played by a video asset into the full-frame image
 *            layer of a 1920x1080, 30 fps, 300-frame template, rendered end to
 *            end by fw_render_job to H.264 at 15 Mb/s VBR; against the ffmpeg
 *            command transcoding the same clip with the options our encoder
 *            gives x264 for that codec (preset, rate, peak rate, buffer, GOP,
 *            pixel format, colour tags, faststart, no sound). Ratio: ffmpeg's
 *            time / ours; target >= 0.85.
 *   audio    a 1920x1080, 30 fps, 300-frame solid-colour template rendered
 *            silent, and with three audio assets (sine tones made with ffmpeg:
 *            a bed, and two more from later starts, with gain and fades) mixed
 *            into it. Overhead: sound / silent - 1; target <= 5 %.
 * Every measurement is repeated (--runs, default 3) and the median kept; each
 * round runs both sides of a ratio back to back, in alternating order, so the
 * machine's noise falls on both. Below the table: the median of each round's
 * own ratio, and the CPU times, which a shared machine disturbs less. Each
 * output is checked (packets counted: 300 H.264 pictures of 1920x1080, a sound
 * stream exactly where there should be one, and in the first round its
 * pictures and sound are looked at) so a fast wrong render cannot pass. Needs
 * the ffmpeg command on the PATH.
 *
 *   media_bench [--runs N] [--case footage|audio]
 *
 * --case measures one of the two alone (to profile it).
 */
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/jobs/job.h"
#include "server/media/media_log.h"
#include "server/media/probe.h"
#include "server/util/fs.h"
#include "server/work/render_job.h"

#define WIDTH 1920
#define HEIGHT 1080
#define FPS 30
#define FRAMES 300
#define CODEC "video_h264_vbr_15mbps"
/* What server/media/encoder.c gives libx264 for CODEC at full quality:
 * the preset, 15 Mb/s average, 1.5x that at peaks over a one-second
 * buffer, a key frame every two seconds, BT.709 limited-range yuv420p. */
#define X264_PRESET "medium"
#define X264_RATE "15M"
#define X264_MAXRATE "22.5M"
#define X264_BUFSIZE "15M"
#define X264_GOP "60"
#define FOOTAGE_TARGET 0.85
#define AUDIO_TARGET 5.0 /* per cent */

static char scratch[4096];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(const struct rusage *u)
{
    return (double)u->ru_utime.tv_sec + (double)u->ru_utime.tv_usec / 1e6 + (double)u->ru_stime.tv_sec +
           (double)u->ru_stime.tv_usec / 1e6;
}

/* This process's CPU time so far, all its threads. */
static double self_cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return cpu_seconds(&u);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double *s = malloc((size_t)n * sizeof(double));
    double m;
    memcpy(s, v, (size_t)n * sizeof(double));
    qsort(s, (size_t)n, sizeof(double), compare_double);
    m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "media_bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (scratch[0])
        fw_remove_tree(scratch);
    exit(1);
}

static void in_scratch(char *path, size_t size, const char *name)
{
    snprintf(path, size, "%s/%s", scratch, name);
}

static void write_file(const char *name, const char *text)
{
    char path[4096];
    FILE *f;
    in_scratch(path, sizeof(path), name);
    if (!(f = fopen(path, "w")) || fputs(text, f) < 0 || fclose(f) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

/* Run the ffmpeg command with these arguments (NULL-terminated, after
 * "ffmpeg"), quietly; its wall time in seconds, and its CPU time in *cpu
 * (may be NULL). */
static double run_ffmpeg(const char *const *args, double *cpu)
{
    struct rusage usage;
    const char *argv[64] = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"};
    int n = 6, status;
    double t;
    pid_t child;

    while (*args && n < 63)
        argv[n++] = *args++;
    argv[n] = NULL;
    fflush(stdout);
    t = now();
    child = fork();
    if (child == 0) {
        execvp("ffmpeg", (char *const *)argv);
        fprintf(stderr, "media_bench: cannot run ffmpeg: %s\n", strerror(errno));
        _exit(127);
    }
    if (child < 0 || wait4(child, &status, 0, &usage) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("ffmpeg failed (is the ffmpeg command installed?)");
    t = now() - t;
    if (cpu)
        *cpu = cpu_seconds(&usage);
    return t;
}

/* ---- the inputs ---------------------------------------------------------- */

#define KS(x, y)                                                                                                  \
    "\"ks\":{\"o\":{\"a\":0,\"k\":100},\"r\":{\"a\":0,\"k\":0},\"p\":{\"a\":0,\"k\":[" #x "," #y ",0]},"          \
    "\"a\":{\"a\":0,\"k\":[" #x "," #y ",0]},\"s\":{\"a\":0,\"k\":[100,100,100]}}"

#define DOC_HEAD "{\"v\":\"5.7.4\",\"fr\":30,\"ip\":0,\"op\":300,\"w\":1920,\"h\":1080,\"ddd\":0,"

/* The solid's colour, and as the output should show it. */
#define SOLID "#3366cc"
#define SOLID_R 0x33
#define SOLID_G 0x66
#define SOLID_B 0xcc

static void make_inputs(int footage, int audio)
{
    char clip[4096], tone[4096], placeholder[4096];

    /* The picture the template's image asset names; the video asset replaces it. */
    in_scratch(placeholder, sizeof(placeholder), "placeholder.png");
    const char *placeholder_args[] = {"-f", "lavfi", "-i", "color=c=gray:s=16x16", "-frames:v", "1", placeholder, NULL};
    run_ffmpeg(placeholder_args, NULL);
    in_scratch(clip, sizeof(clip), "clip.mp4");
    const char *clip_args[] = {"-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=10", "-c:v", "libx264",
                               "-preset", "veryfast", "-b:v", "15M", "-pix_fmt", "yuv420p", "-colorspace", "bt709",
                               "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv", clip, NULL};
    if (footage)
        run_ffmpeg(clip_args, NULL);
    for (int hz = 440; audio && hz <= 880; hz += 220) {
        char source[128], name[64];
        snprintf(source, sizeof(source), "sine=frequency=%d:sample_rate=48000:duration=10", hz);
        snprintf(name, sizeof(name), "tone%d.wav", hz);
        in_scratch(tone, sizeof(tone), name);
        const char *tone_args[] = {"-f", "lavfi", "-i", source, "-c:a", "pcm_s16le", tone, NULL};
        run_ffmpeg(tone_args, NULL);
    }

    /* One full-frame image layer "clip"; the video asset replaces its picture. */
    write_file("footage.json",
               DOC_HEAD "\"nm\":\"footage\","
               "\"assets\":[{\"id\":\"clip_image\",\"w\":1920,\"h\":1080,\"u\":\"\",\"p\":\"placeholder.png\","
               "\"e\":0}],"
               "\"layers\":[{\"ddd\":0,\"ind\":1,\"ty\":2,\"nm\":\"clip\",\"refId\":\"clip_image\",\"sr\":1,\"st\":0,"
               "\"ip\":0,\"op\":300," KS(960, 540) "}]}");
    write_file("solid.json",
               DOC_HEAD "\"nm\":\"solid\",\"assets\":[],"
               "\"layers\":[{\"ddd\":0,\"ind\":1,\"ty\":1,\"nm\":\"bg\",\"sc\":\"" SOLID "\",\"sw\":1920,\"sh\":1080,"
               "\"sr\":1,\"st\":0,\"ip\":0,\"op\":300," KS(0, 0) "}]}");
}

/* ---- our side ------------------------------------------------------------- */

/* The job text for a template in scratch with these assets (a JSON array). */
static char *job_text(const char *template_name, const char *assets)
{
    size_t size = 8192;
    char *text = malloc(size);
    snprintf(text, size,
             "{\"template\":{\"src\":\"%s/%s\"},\"settings\":{\"type\":\"video\",\"codec\":\"" CODEC "\"},"
             "\"assets\":%s}",
             scratch, template_name, assets);
    return text;
}

/* fw_render_job on the job into scratch/out; its wall time in seconds, and
 * the CPU time of this process meanwhile in *cpu. */
static double run_ours(const char *text, const char *out, double *cpu)
{
    fw_render_request req;
    fw_render_result res;
    fw_job_spec *job = NULL;
    fw_error err;
    char message[1024];
    double t;

    fw_error_clear(&err);
    if (fw_job_parse(&job, text, strlen(text), &err))
        die("job: %s", fw_error_text(&err, message, sizeof(message)));
    memset(&req, 0, sizeof(req));
    req.job = job;
    req.job_dir = scratch;
    req.output_path = out;
    req.work_root = scratch;
    req.allow_local_files = 1;
    *cpu = self_cpu();
    t = now();
    if (fw_render_job(&req, &res, &err))
        die("render: %s", fw_error_text(&err, message, sizeof(message)));
    t = now() - t;
    *cpu = self_cpu() - *cpu;
    if (res.frames != FRAMES || res.width != WIDTH || res.height != HEIGHT)
        die("render: %d frames of %dx%d, not %d of %dx%d", res.frames, res.width, res.height, FRAMES, WIDTH, HEIGHT);
    fw_render_result_clear(&res);
    fw_job_spec_free(&job);
    return t;
}

/* ---- checking the outputs -------------------------------------------------- */

typedef struct output_info {
    int videos, audios;
    int width, height;
    enum AVCodecID video_codec;
    long long video_packets;
    double audio_seconds, audio_rms; /* rms only when asked to decode the sound */
} output_info;

/* Decode one sound packet's samples into the running sum of squares. */
static void add_samples(AVCodecContext *dec, AVPacket *pkt, AVFrame *frame, double *sum, long long *count)
{
    if (avcodec_send_packet(dec, pkt) < 0)
        return;
    while (avcodec_receive_frame(dec, frame) == 0) {
        int channels = dec->ch_layout.nb_channels;
        for (int ch = 0; ch < channels; ch++) {
            for (int i = 0; i < frame->nb_samples; i++) {
                double v;
                if (frame->format == AV_SAMPLE_FMT_FLTP)
                    v = ((const float *)frame->extended_data[ch])[i];
                else if (frame->format == AV_SAMPLE_FMT_S16)
                    v = ((const int16_t *)frame->data[0])[i * channels + ch] / 32768.0;
                else
                    continue;
                *sum += v * v;
                (*count)++;
            }
        }
        av_frame_unref(frame);
    }
}

/* Streams, and every packet of the video read and counted. */
static void inspect(const char *path, int decode_sound, output_info *o)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int video = -1, audio = -1;
    double sum = 0;
    long long samples = 0;

    memset(o, 0, sizeof(*o));
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0)
        die("%s: not a media file", path);
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVCodecParameters *p = fmt->streams[i]->codecpar;
        if (p->codec_type == AVMEDIA_TYPE_VIDEO && video < 0) {
            video = (int)i;
            o->width = p->width;
            o->height = p->height;
            o->video_codec = p->codec_id;
        } else if (p->codec_type == AVMEDIA_TYPE_AUDIO && audio < 0) {
            audio = (int)i;
            if (fmt->streams[i]->duration > 0)
                o->audio_seconds = (double)fmt->streams[i]->duration * av_q2d(fmt->streams[i]->time_base);
        }
        o->videos += p->codec_type == AVMEDIA_TYPE_VIDEO;
        o->audios += p->codec_type == AVMEDIA_TYPE_AUDIO;
    }
    if (decode_sound && audio >= 0) {
        const AVCodec *codec = avcodec_find_decoder(fmt->streams[audio]->codecpar->codec_id);
        if (!codec || !(dec = avcodec_alloc_context3(codec)) ||
            avcodec_parameters_to_context(dec, fmt->streams[audio]->codecpar) < 0 ||
            avcodec_open2(dec, codec, NULL) < 0)
            die("%s: the sound cannot be decoded", path);
    }
    while (av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == video)
            o->video_packets++;
        else if (dec && pkt->stream_index == audio)
            add_samples(dec, pkt, frame, &sum, &samples);
        av_packet_unref(pkt);
    }
    if (dec) {
        add_samples(dec, NULL, frame, &sum, &samples);
        o->audio_rms = samples ? sqrt(sum / (double)samples) : 0;
    }
    avcodec_free_context(&dec);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
}

/* 300 H.264 pictures of 1920x1080, and sound or none as asked. */
static void check_output(const char *what, const char *path, int want_sound, int decode_sound, output_info *o)
{
    inspect(path, decode_sound, o);
    if (o->videos != 1 || o->video_codec != AV_CODEC_ID_H264 || o->width != WIDTH || o->height != HEIGHT ||
        o->video_packets != FRAMES)
        die("%s: %d video stream(s), %s %dx%d, %lld pictures; wanted one H.264 stream of %d pictures of %dx%d", what,
            o->videos, avcodec_get_name(o->video_codec), o->width, o->height, o->video_packets, FRAMES, WIDTH,
            HEIGHT);
    if (want_sound && (o->audios != 1 || fabs(o->audio_seconds - (double)FRAMES / FPS) > 0.1))
        die("%s: %d sound stream(s) of %.3f s; wanted one of %.3f s", what, o->audios, o->audio_seconds,
            (double)FRAMES / FPS);
    if (!want_sound && o->audios != 0)
        die("%s: %d sound stream(s); wanted none", what, o->audios);
}

/* Mean absolute difference of picture `index` of two files, per channel
 * value 0-255. */
static double picture_difference(const char *a, const char *b, int index)
{
    uint8_t *pa = NULL, *pb = NULL;
    int wa = 0, ha = 0, wb = 0, hb = 0;
    fw_error err;
    char message[1024];
    double sum = 0;

    fw_error_clear(&err);
    if (fw_media_decode_frame(a, index, &pa, &wa, &ha, &err) || fw_media_decode_frame(b, index, &pb, &wb, &hb, &err))
        die("decoding picture %d: %s", index, fw_error_text(&err, message, sizeof(message)));
    if (wa != wb || ha != hb)
        die("picture %d: %dx%d against %dx%d", index, wa, ha, wb, hb);
    for (size_t i = 0; i < (size_t)wa * (size_t)ha * 4; i++)
        if (i % 4 != 3)
            sum += abs(pa[i] - pb[i]);
    free(pa);
    free(pb);
    return sum / ((double)wa * ha * 3);
}

/* The largest difference of picture `index` of path from the solid colour. */
static int solid_difference(const char *path, int index)
{
    uint8_t *p = NULL;
    int w, h, worst = 0;
    fw_error err;
    char message[1024];

    fw_error_clear(&err);
    if (fw_media_decode_frame(path, index, &p, &w, &h, &err))
        die("decoding picture %d: %s", index, fw_error_text(&err, message, sizeof(message)));
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        int d = abs(p[i * 4] - SOLID_R) > abs(p[i * 4 + 1] - SOLID_G) ? abs(p[i * 4] - SOLID_R)
                                                                        : abs(p[i * 4 + 1] - SOLID_G);
        if (abs(p[i * 4 + 2] - SOLID_B) > d)
            d = abs(p[i * 4 + 2] - SOLID_B);
        if (d > worst)
            worst = d;
    }
    free(p);
    return worst;
}

/* ---- the report ------------------------------------------------------------ */

static void print_runs(const char *what, const double *v, int n)
{
    printf("  %s:", what);
    for (int i = 0; i < n; i++)
        printf(" %.2f", v[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    int runs = 3, do_footage = 1, do_audio = 1;
    char clip[4096], ours_out[4096], ffmpeg_out[4096];
    char *footage_job, *silent_job, *sound_job, footage_assets[8192];
    const char *tmp = getenv("TMPDIR");
    double *ours, *ffmpeg, *silent, *sound, *cpu[4];
    output_info info;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc && strcmp(argv[i + 1], "footage") == 0) {
            do_audio = 0;
            i++;
        } else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc && strcmp(argv[i + 1], "audio") == 0) {
            do_footage = 0;
            i++;
        } else {
            fprintf(stderr, "usage: media_bench [--runs N] [--case footage|audio]\n");
            return 2;
        }
    }
    if (runs <= 0) {
        fprintf(stderr, "usage: media_bench [--runs N]  (N >= 1)\n");
        return 2;
    }
    fw_media_log_init();
    snprintf(scratch, sizeof(scratch), "%s/fw-media-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "media_bench: cannot make a folder in %s: %s\n", tmp && *tmp ? tmp : "/tmp", strerror(errno));
        return 1;
    }
    make_inputs(do_footage, do_audio);
    in_scratch(clip, sizeof(clip), "clip.mp4");
    in_scratch(ours_out, sizeof(ours_out), "ours.mp4");
    in_scratch(ffmpeg_out, sizeof(ffmpeg_out), "ffmpeg.mp4");

    snprintf(footage_assets, sizeof(footage_assets), "[{\"type\":\"video\",\"layerName\":\"clip\",\"src\":\"%s\"}]",
             clip);
    footage_job = job_text("footage.json", footage_assets);
    silent_job = job_text("solid.json", "[]");
    sound_job = job_text("solid.json",
                         "[{\"type\":\"audio\",\"src\":\"tone440.wav\",\"gain\":-6,\"fadeOut\":1},"
                         "{\"type\":\"audio\",\"src\":\"tone660.wav\",\"start\":2,\"gain\":-9,\"fadeIn\":1},"
                         "{\"type\":\"audio\",\"src\":\"tone880.wav\",\"offset\":4,\"gain\":-12,\"fadeIn\":0.5,"
                         "\"trim\":[0,5]}]");
    const char *ffmpeg_args[] = {"-i", clip, "-an", "-c:v", "libx264", "-preset", X264_PRESET, "-b:v", X264_RATE,
                                 "-maxrate", X264_MAXRATE, "-bufsize", X264_BUFSIZE, "-g", X264_GOP, "-pix_fmt",
                                 "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
                                 "-color_range", "tv", "-movflags", "+faststart", ffmpeg_out, NULL};

    ours = calloc((size_t)runs, sizeof(double));
    ffmpeg = calloc((size_t)runs, sizeof(double));
    silent = calloc((size_t)runs, sizeof(double));
    sound = calloc((size_t)runs, sizeof(double));
    for (int k = 0; k < 4; k++)
        cpu[k] = calloc((size_t)runs, sizeof(double));
    fprintf(stderr, "media_bench: %d round(s) in %s\n", runs, scratch);
    for (int r = 0; r < runs; r++) {
        int first = r == 0;
        /* Alternate which side goes first, so neither always runs on a warmer machine. */
        for (int k = 0; do_footage && k < 2; k++) {
            if ((k == 0) == (r % 2 == 0)) {
                ours[r] = run_ours(footage_job, ours_out, &cpu[0][r]);
                check_output("our footage render", ours_out, 0, 0, &info);
                if (first) {
                    /* The layer must show the clip's own picture, re-encoded: about 1 off on
                     * average, where the picture before it is 6 off. */
                    double d = picture_difference(ours_out, clip, FRAMES / 2);
                    if (d > 3)
                        die("our footage render: picture %d differs from the clip's by %.1f on average", FRAMES / 2,
                            d);
                    fprintf(stderr, "media_bench: our footage render: picture %d is the clip's, within %.2f\n",
                            FRAMES / 2, d);
                }
                unlink(ours_out);
            } else {
                ffmpeg[r] = run_ffmpeg(ffmpeg_args, &cpu[1][r]);
                check_output("ffmpeg's transcode", ffmpeg_out, 0, 0, &info);
                unlink(ffmpeg_out);
            }
        }
        for (int k = 0; do_audio && k < 2; k++) {
            if ((k == 0) == (r % 2 == 0)) {
                silent[r] = run_ours(silent_job, ours_out, &cpu[2][r]);
                check_output("the silent render", ours_out, 0, 0, &info);
                if (first && solid_difference(ours_out, FRAMES / 2) > 3)
                    die("the silent render: picture %d is not the solid's colour", FRAMES / 2);
            } else {
                sound[r] = run_ours(sound_job, ours_out, &cpu[3][r]);
                check_output("the render with sound", ours_out, 1, first, &info);
                /* Three tones at -6, -9 and -12 dB of a 0.125-peak sine: well above silence. */
                if (first && info.audio_rms < 0.02)
                    die("the render with sound: its sound is silent (rms %.4f)", info.audio_rms);
                if (first)
                    fprintf(stderr, "media_bench: the render with sound: %.2f s of sound, rms %.3f\n",
                            info.audio_seconds, info.audio_rms);
            }
            unlink(ours_out);
        }
        if (do_footage)
            fprintf(stderr, "media_bench: round %d: footage ours %.2f s (CPU %.2f s), ffmpeg %.2f s (CPU %.2f s)\n",
                    r + 1, ours[r], cpu[0][r], ffmpeg[r], cpu[1][r]);
        if (do_audio)
            fprintf(stderr, "media_bench: round %d: silent %.2f s (CPU %.2f s), with sound %.2f s (CPU %.2f s)\n",
                    r + 1, silent[r], cpu[2][r], sound[r], cpu[3][r]);
    }

    double o = median(ours, runs), f = median(ffmpeg, runs), s0 = median(silent, runs), s1 = median(sound, runs);
    double ratio = f / o, overhead = (s1 / s0 - 1) * 100;
    printf("%dx%d, %d fps, %d frames, %s; median of %d run(s); %ld cores\n\n", WIDTH, HEIGHT, FPS, FRAMES, CODEC, runs,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("| case | ours s | reference s | ratio | target |\n");
    printf("|---|---:|---:|---:|---:|\n");
    if (do_footage)
        printf("| footage: 10 s 1080p30 H.264 clip in a layer, vs `ffmpeg -c:v libx264 -preset %s` | %.2f | %.2f | "
               "%.2f | >= %.2f |\n",
               X264_PRESET, o, f, ratio, FOOTAGE_TARGET);
    if (do_audio)
        printf("| audio: solid 10 s with 3 sounds, vs silent | %.2f | %.2f | %+.1f %% | <= %.0f %% |\n", s1, s0,
               overhead, AUDIO_TARGET);
    printf("\n");
    if (do_footage)
        printf("footage: ours %.1f fps, ffmpeg %.1f fps; ratio %.2f: target %s\n", FRAMES / o, FRAMES / f, ratio,
               ratio >= FOOTAGE_TARGET ? "met" : "NOT met");
    if (do_audio)
        printf("audio: silent %.1f fps, with sound %.1f fps; overhead %+.1f %%: target %s\n", FRAMES / s0,
               FRAMES / s1, overhead, overhead <= AUDIO_TARGET ? "met" : "NOT met");
    /* Each round's two sides ran back to back: their ratio, round by round,
     * sees the same load even when the load changes between rounds. */
    double *paired = calloc((size_t)runs, sizeof(double));
    printf("\npaired (median of each round's ratio):");
    if (do_footage) {
        for (int r = 0; r < runs; r++)
            paired[r] = ffmpeg[r] / ours[r];
        printf(" footage %.2f;", median(paired, runs));
    }
    if (do_audio) {
        for (int r = 0; r < runs; r++)
            paired[r] = (sound[r] / silent[r] - 1) * 100;
        printf(" audio %+.1f %%", median(paired, runs));
    }
    printf("\n");
    free(paired);
    /* CPU time counts the work more than the wall clock does when others
     * share the machine (though x264's threads still vary with the load). */
    printf("CPU time (user + sys, median):");
    if (do_footage)
        printf(" footage ours %.2f s, ffmpeg %.2f s (ratio %.2f);", median(cpu[0], runs), median(cpu[1], runs),
               median(cpu[1], runs) / median(cpu[0], runs));
    if (do_audio)
        printf(" audio silent %.2f s, with sound %.2f s (%+.1f %%)", median(cpu[2], runs), median(cpu[3], runs),
               (median(cpu[3], runs) / median(cpu[2], runs) - 1) * 100);
    printf("\n\nruns (s):\n");
    if (do_footage) {
        print_runs("footage, ours", ours, runs);
        print_runs("footage, ffmpeg", ffmpeg, runs);
    }
    if (do_audio) {
        print_runs("audio, silent", silent, runs);
        print_runs("audio, with sound", sound, runs);
    }

    fw_remove_tree(scratch);
    free(footage_job);
    free(silent_job);
    free(sound_job);
    free(ours);
    free(ffmpeg);
    free(silent);
    free(sound);
    for (int k = 0; k < 4; k++)
        free(cpu[k]);
    return 0;
}
