/* input.c - see input.h. */
#include "server/media/input.h"

#include <errno.h>
#include <libavutil/avstring.h>
#include <string.h>

static const char *const refused_formats[] = {"hls", "applehttp", "dash", "concat", "imf", "sdp", "rtsp", "rtp"};

static const char *refused_format(const AVInputFormat *fmt)
{
    for (size_t i = 0; i < sizeof(refused_formats) / sizeof(refused_formats[0]); i++)
        if (av_match_name(refused_formats[i], fmt->name))
            return refused_formats[i];
    return NULL;
}

static int whitelisted(AVDictionary **options)
{
    return av_dict_set(options, "protocol_whitelist", "file", 0);
}

/* The demuxer's opens: the file itself again (some reopen it) and nothing else. */
static int only_the_file(AVFormatContext *s, AVIOContext **pb, const char *url, int flags, AVDictionary **options)
{
    AVDictionary *own = NULL;
    int rc;

    if (!s->url || strcmp(url, s->url) != 0 || (flags & AVIO_FLAG_WRITE))
        return AVERROR(EPERM);
    if (options && *options)
        av_dict_copy(&own, *options, 0);
    if ((rc = whitelisted(&own)) < 0)
        return rc;
    rc = avio_open2(pb, url, flags, &s->interrupt_callback, &own);
    av_dict_free(&own);
    return rc;
}

int fw_media_open_input(AVFormatContext **out, const char *path, const char **refused)
{
    const AVInputFormat *fmt = NULL;
    AVDictionary *options = NULL;
    AVIOContext *pb = NULL;
    AVFormatContext *s;
    int rc;

    *out = NULL;
    if (refused)
        *refused = "";
    /* The format first, from the bytes and the name only. */
    if ((rc = whitelisted(&options)) < 0 || (rc = avio_open2(&pb, path, AVIO_FLAG_READ, NULL, &options)) < 0) {
        av_dict_free(&options);
        return rc;
    }
    av_dict_free(&options);
    rc = av_probe_input_buffer2(pb, &fmt, path, NULL, 0, 0);
    avio_closep(&pb);
    if (rc < 0)
        return rc;
    if (refused_format(fmt)) {
        if (refused)
            *refused = refused_format(fmt);
        return AVERROR(EPERM);
    }
    if (!(s = avformat_alloc_context()))
        return AVERROR(ENOMEM);
    s->io_open = only_the_file;
    if ((rc = whitelisted(&options)) < 0) {
        avformat_free_context(s);
        return rc;
    }
    rc = avformat_open_input(&s, path, fmt, &options); /* frees s on failure */
    av_dict_free(&options);
    if (rc < 0)
        return rc;
    *out = s;
    return 0;
}
