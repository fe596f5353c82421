/*
 * input.h - open a media file a caller sent, and nothing else.
 *
 * FFmpeg's demuxers may open more than the file they are given: an HLS or
 * DASH playlist names segments (http URLs or file:///etc/passwd), a concat
 * list names other files, an image sequence reads its neighbours. A caller's
 * file is therefore opened with the file protocol only, every further open
 * the demuxer asks for is refused, and the playlist and reference formats
 * (hls, dash, concat, imf, sdp, rtsp) are refused outright.
 */
#ifndef FW_MEDIA_INPUT_H
#define FW_MEDIA_INPUT_H

#include <libavformat/avformat.h>

/* As avformat_open_input(out, path, NULL, NULL): 0 or a negative AVERROR;
 * AVERROR(EPERM) for a refused format, with its name in *refused (when
 * refused is not NULL; "" otherwise). */
int fw_media_open_input(AVFormatContext **out, const char *path, const char **refused);

#endif
