/* styletransfer: restyles every video frame with a feed-forward style
 * network (a neuralart bundle or a TorchScript module). */
#pragma once

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_STYLE_TRANSFER (gst_style_transfer_get_type())
G_DECLARE_FINAL_TYPE(GstStyleTransfer, gst_style_transfer, GST, STYLE_TRANSFER,
                     GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(styletransfer);

G_END_DECLS
