/*
 * media_log.h - FFmpeg's log lines through fw_log.
 *
 * libav* log to stderr on their own, including per-frame chatter (x264's
 * statistics, swscale notices). Call fw_media_log_init() once at start-up,
 * after the log level is set: warnings and errors then arrive as fw_log lines
 * tagged with the FFmpeg component ("libx264", "mp4"), FFmpeg's informational
 * lines only at FW_LOG_DEBUG, and nothing below that.
 */
#ifndef FW_MEDIA_LOG_H
#define FW_MEDIA_LOG_H

void fw_media_log_init(void);

#endif
