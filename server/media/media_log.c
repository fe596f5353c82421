/*
 * media_log.c - an av_log callback that forwards to fw_log.
 */
#include "server/media/media_log.h"

#include <libavutil/log.h>
#include <stdio.h>
#include <string.h>

#include "server/util/log.h"

static void forward(void *avcl, int level, const char *fmt, va_list ap)
{
    char line[1024];
    fw_log_level ours;
    if (level > av_log_get_level())
        return;
    if (level <= AV_LOG_ERROR)
        ours = FW_LOG_ERROR;
    else if (level <= AV_LOG_WARNING)
        ours = FW_LOG_WARN;
    else
        ours = FW_LOG_DEBUG;
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (!n)
        return;
    const AVClass *cls = avcl ? *(const AVClass **)avcl : NULL;
    fw_log(ours, cls ? cls->item_name(avcl) : "ffmpeg", "%s", line);
}

void fw_media_log_init(void)
{
    av_log_set_level(fw_log_get_level() >= FW_LOG_DEBUG ? AV_LOG_INFO : AV_LOG_WARNING);
    av_log_set_callback(forward);
}
