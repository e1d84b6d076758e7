#ifndef CUECAST_CFFMPEG_SHIM_H
#define CUECAST_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>
#include <libavutil/buffer.h>
#include <libavutil/dict.h>
#include <libavutil/opt.h>
#include <libavutil/channel_layout.h>

// Macros that Swift cannot import, as functions.
static inline int cuecast_averror_eof(void) { return AVERROR_EOF; }
static inline int cuecast_averror(int posix) { return AVERROR(posix); }
static inline int64_t cuecast_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int cuecast_av_pkt_flag_key(void) { return AV_PKT_FLAG_KEY; }
static inline int cuecast_av_input_buffer_padding_size(void) { return AV_INPUT_BUFFER_PADDING_SIZE; }

#endif
