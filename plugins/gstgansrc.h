/* gansrc: plays a trained GAN generator as a video stream. */
#pragma once

#include <gst/base/gstpushsrc.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_GAN_SRC (gst_gan_src_get_type())
G_DECLARE_FINAL_TYPE(GstGanSrc, gst_gan_src, GST, GAN_SRC, GstPushSrc)

/**
 * GstGanSrcMode:
 * @GST_GAN_SRC_MODE_RANDOM: a new random sample every frame
 * @GST_GAN_SRC_MODE_WALK: a smooth latent walk through random keyframes
 * @GST_GAN_SRC_MODE_LOOP: a seamless loop of loop-frames frames
 * @GST_GAN_SRC_MODE_FIXED: one sample, repeated
 */
typedef enum {
  GST_GAN_SRC_MODE_RANDOM,
  GST_GAN_SRC_MODE_WALK,
  GST_GAN_SRC_MODE_LOOP,
  GST_GAN_SRC_MODE_FIXED,
} GstGanSrcMode;

/**
 * GstGanSrcScaleMethod:
 * @GST_GAN_SRC_SCALE_NEAREST: nearest neighbour (pixel-art look)
 * @GST_GAN_SRC_SCALE_BILINEAR: bilinear
 * @GST_GAN_SRC_SCALE_BICUBIC: bicubic
 */
typedef enum {
  GST_GAN_SRC_SCALE_NEAREST,
  GST_GAN_SRC_SCALE_BILINEAR,
  GST_GAN_SRC_SCALE_BICUBIC,
} GstGanSrcScaleMethod;

G_END_DECLS
